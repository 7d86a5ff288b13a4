//! The order of the calls that carry out a plan: phases of per-resource steps.

use std::collections::{BTreeMap, BTreeSet};

use crate::cloud::{Attributes, Tags};
use crate::model::MetricAlarm;
use crate::plan::alarms::AlarmChange;
use crate::plan::topics::TopicChange;
use crate::plan::{Action, AttributeChange, Plan, PolicyChange};

/// DeleteAlarms takes at most this many names per call.
const MAX_ALARMS_PER_DELETE: usize = 100;

/// Attributes set after every queue exists, because they may name other queues or principals.
const LATE_ATTRIBUTES: &[&str] = &["RedriveAllowPolicy", "Policy"];

/// One call to make for one resource.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    Create {
        attributes: Attributes,
        tags: Tags,
    },
    SetAttributes {
        attributes: Attributes,
    },
    Tag {
        tags: Tags,
    },
    Untag {
        keys: Vec<String>,
    },
    Delete,
    CreatePolicy {
        name: String,
        path: String,
        document: String,
        tags: Tags,
    },
    DeletePolicyVersion {
        version_id: String,
    },
    CreatePolicyVersion {
        document: String,
    },
    AttachRole {
        role: String,
    },
    DetachRole {
        role: String,
    },
    DetachUser {
        user: String,
    },
    DetachGroup {
        group: String,
    },
    DeletePolicy,
    PutAlarm {
        alarm: Box<MetricAlarm>,
        tags: Tags,
    },
    TagAlarm {
        tags: Tags,
    },
    UntagAlarm {
        keys: Vec<String>,
    },
    DeleteAlarms {
        names: Vec<String>,
    },
    PutDashboard {
        body: String,
    },
    DeleteDashboard,
    CreateTopic {
        name: String,
        attributes: Attributes,
        tags: Tags,
    },
    SetTopicAttribute {
        name: String,
        value: String,
    },
    TagTopic {
        tags: Tags,
    },
    UntagTopic {
        keys: Vec<String>,
    },
    Subscribe {
        queue_arn: String,
        attributes: Attributes,
    },
    SetSubscriptionAttribute {
        subscription_arn: String,
        name: String,
        value: String,
    },
    Unsubscribe {
        subscription_arn: String,
    },
    DeleteTopic,
}

impl Step {
    /// Returns the AWS operation the step calls.
    pub fn operation(&self) -> &'static str {
        match self {
            Step::Create { .. } => "CreateQueue",
            Step::SetAttributes { .. } => "SetQueueAttributes",
            Step::Tag { .. } => "TagQueue",
            Step::Untag { .. } => "UntagQueue",
            Step::Delete => "DeleteQueue",
            Step::CreatePolicy { .. } => "CreatePolicy",
            Step::DeletePolicyVersion { .. } => "DeletePolicyVersion",
            Step::CreatePolicyVersion { .. } => "CreatePolicyVersion",
            Step::AttachRole { .. } => "AttachRolePolicy",
            Step::DetachRole { .. } => "DetachRolePolicy",
            Step::DetachUser { .. } => "DetachUserPolicy",
            Step::DetachGroup { .. } => "DetachGroupPolicy",
            Step::DeletePolicy => "DeletePolicy",
            Step::PutAlarm { .. } => "PutMetricAlarm",
            Step::TagAlarm { .. } => "TagResource",
            Step::UntagAlarm { .. } => "UntagResource",
            Step::DeleteAlarms { .. } => "DeleteAlarms",
            Step::PutDashboard { .. } => "PutDashboard",
            Step::DeleteDashboard => "DeleteDashboards",
            Step::CreateTopic { .. } => "CreateTopic",
            Step::SetTopicAttribute { .. } => "SetTopicAttributes",
            Step::TagTopic { .. } => "TagResource",
            Step::UntagTopic { .. } => "UntagResource",
            Step::Subscribe { .. } => "Subscribe",
            Step::SetSubscriptionAttribute { .. } => "SetSubscriptionAttributes",
            Step::Unsubscribe { .. } => "Unsubscribe",
            Step::DeleteTopic => "DeleteTopic",
        }
    }
}

/// The steps for one resource within a phase, run in order.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceSteps {
    /// Queue or policy name.
    pub resource: String,
    /// Queue URL or policy ARN; `None` for a queue until its create returns the URL.
    pub address: Option<String>,
    pub steps: Vec<Step>,
}

/// Returns the phases of steps that carry out `plan`, empty phases left out.
///
/// Queue creates and updates run in order of redrive depth: a queue whose new redrive policy
/// points at a queue created in the same plan waits for it, and dead-letter queues go before
/// sources of the same depth. Redrive-allow and access policies follow, then IAM policies and
/// attachments, then deletes of sources and IAM policies, then deletes of dead-letter queues.
pub fn schedule(plan: &Plan) -> Vec<Vec<ResourceSteps>> {
    let depths = redrive_depths(plan);
    let mut early: BTreeMap<usize, Vec<ResourceSteps>> = BTreeMap::new();
    let mut late = Vec::new();
    let mut deletes = Vec::new();
    let mut dead_letter_deletes = Vec::new();

    for change in plan.changes() {
        let depth = depths.get(change.name.as_str()).copied().unwrap_or(0);
        let order = depth * 2 + usize::from(!change.dead_letter_target);
        let delete_target = if change.dead_letter_target {
            &mut dead_letter_deletes
        } else {
            &mut deletes
        };
        match change.action {
            Action::Create | Action::Replace => {
                let (early_attributes, late_attributes) = split_late(&change.attributes, true);
                early.entry(order).or_default().push(ResourceSteps {
                    resource: change.name.clone(),
                    address: None,
                    steps: vec![Step::Create {
                        attributes: early_attributes,
                        tags: tags_to_set(change),
                    }],
                });
                if !late_attributes.is_empty() {
                    late.push(ResourceSteps {
                        resource: change.name.clone(),
                        address: None,
                        steps: vec![Step::SetAttributes {
                            attributes: late_attributes,
                        }],
                    });
                }
                if let Some(old) = &change.replaces {
                    delete_target.push(ResourceSteps {
                        resource: old.name.clone(),
                        address: Some(old.url.clone()),
                        steps: vec![Step::Delete],
                    });
                }
            }
            Action::Update | Action::Adopt => {
                let (early_attributes, late_attributes) = split_late(&change.attributes, false);
                let mut steps = Vec::new();
                if !early_attributes.is_empty() {
                    steps.push(Step::SetAttributes {
                        attributes: early_attributes,
                    });
                }
                if !change.tags.set.is_empty() {
                    steps.push(Step::Tag {
                        tags: tags_to_set(change),
                    });
                }
                if !change.tags.remove.is_empty() {
                    steps.push(Step::Untag {
                        keys: change.tags.remove.keys().cloned().collect(),
                    });
                }
                if !steps.is_empty() {
                    early.entry(order).or_default().push(ResourceSteps {
                        resource: change.name.clone(),
                        address: change.url.clone(),
                        steps,
                    });
                }
                if !late_attributes.is_empty() {
                    late.push(ResourceSteps {
                        resource: change.name.clone(),
                        address: change.url.clone(),
                        steps: vec![Step::SetAttributes {
                            attributes: late_attributes,
                        }],
                    });
                }
            }
            Action::Delete => {
                delete_target.push(ResourceSteps {
                    resource: change.name.clone(),
                    address: change.url.clone(),
                    steps: vec![Step::Delete],
                });
            }
            Action::NoOp => {}
        }
    }

    let mut policies = Vec::new();
    for change in plan
        .policies
        .iter()
        .filter(|change| change.action != Action::NoOp)
    {
        let steps = ResourceSteps {
            resource: change.name.clone(),
            address: Some(change.arn.clone()),
            steps: policy_steps(change),
        };
        if change.action == Action::Delete {
            deletes.push(steps);
        } else {
            policies.push(steps);
        }
    }

    // Topics and subscriptions go after the queue policies, so a queue accepts deliveries
    // from its topic before the subscription exists and no published message is dropped.
    // Removals mirror that: unsubscribes run first, before any policy drops the topic.
    let mut topics = Vec::new();
    let mut unsubscribe_phase = Vec::new();
    for change in plan.topics.iter().filter(|change| change.has_changes()) {
        let (steps, unsubscribes) = topic_steps(change);
        if !steps.is_empty() {
            topics.push(ResourceSteps {
                resource: change.name.clone(),
                address: Some(change.arn.clone()),
                steps,
            });
        }
        if !unsubscribes.is_empty() {
            unsubscribe_phase.push(ResourceSteps {
                resource: change.name.clone(),
                address: Some(change.arn.clone()),
                steps: unsubscribes,
            });
        }
    }

    let mut monitoring = Vec::new();
    let mut deleted_alarms = Vec::new();
    for change in plan
        .alarms
        .iter()
        .filter(|change| change.action != Action::NoOp)
    {
        match (change.action, &change.definition) {
            (Action::Delete, _) => deleted_alarms.push(change.name.clone()),
            (action, Some(definition)) => monitoring.push(ResourceSteps {
                resource: change.name.clone(),
                address: change.arn.clone(),
                steps: alarm_steps(action, definition, change),
            }),
            (_, None) => {}
        }
    }
    for names in deleted_alarms.chunks(MAX_ALARMS_PER_DELETE) {
        deletes.push(ResourceSteps {
            resource: format!("{} alarm(s)", names.len()),
            address: None,
            steps: vec![Step::DeleteAlarms {
                names: names.to_vec(),
            }],
        });
    }
    if let Some(change) = &plan.dashboard {
        let resource = change.name.clone();
        match (change.action, &change.after) {
            (Action::Create | Action::Update, Some(body)) => monitoring.push(ResourceSteps {
                resource,
                address: None,
                steps: vec![Step::PutDashboard {
                    body: body.to_string(),
                }],
            }),
            (Action::Delete, _) => deletes.push(ResourceSteps {
                resource,
                address: None,
                steps: vec![Step::DeleteDashboard],
            }),
            _ => {}
        }
    }

    std::iter::once(unsubscribe_phase)
        .chain(early.into_values())
        .chain([
            late,
            topics,
            policies,
            monitoring,
            deletes,
            dead_letter_deletes,
        ])
        .filter(|phase| !phase.is_empty())
        .collect()
}

fn tags_to_set(change: &crate::plan::QueueChange) -> Tags {
    change
        .tags
        .set
        .iter()
        .map(|(key, value)| (key.clone(), value.after.clone()))
        .collect()
}

/// Returns the calls of one alarm change. PutMetricAlarm replaces the whole definition but
/// ignores tags on an existing alarm, so tag changes there go through TagResource and
/// UntagResource.
fn alarm_steps(action: Action, definition: &MetricAlarm, change: &AlarmChange) -> Vec<Step> {
    let desired_tags: Tags = change
        .tags
        .set
        .iter()
        .map(|(key, value)| (key.clone(), value.after.clone()))
        .collect();
    if action == Action::Create {
        return vec![Step::PutAlarm {
            alarm: Box::new(definition.clone()),
            tags: desired_tags,
        }];
    }
    let mut steps = Vec::new();
    if !change.fields.is_empty() {
        steps.push(Step::PutAlarm {
            alarm: Box::new(definition.clone()),
            tags: Tags::new(),
        });
    }
    if !desired_tags.is_empty() {
        steps.push(Step::TagAlarm { tags: desired_tags });
    }
    if !change.tags.remove.is_empty() {
        steps.push(Step::UntagAlarm {
            keys: change.tags.remove.keys().cloned().collect(),
        });
    }
    steps
}

/// Returns the calls that create or update a topic and its subscriptions, and separately the
/// unsubscribes and topic deletes, which run before everything else.
fn topic_steps(change: &TopicChange) -> (Vec<Step>, Vec<Step>) {
    let desired_tags: Tags = change
        .tags
        .set
        .iter()
        .map(|(key, value)| (key.clone(), value.after.clone()))
        .collect();
    let mut steps = Vec::new();
    match change.action {
        Action::Create => {
            let attributes = change
                .attributes
                .iter()
                .map(|attribute| (attribute.name.clone(), attribute.wire_value()))
                .collect();
            steps.push(Step::CreateTopic {
                name: change.name.clone(),
                attributes,
                tags: desired_tags,
            });
        }
        Action::Update => {
            for attribute in &change.attributes {
                steps.push(Step::SetTopicAttribute {
                    name: attribute.name.clone(),
                    value: attribute.wire_value(),
                });
            }
            if !desired_tags.is_empty() {
                steps.push(Step::TagTopic { tags: desired_tags });
            }
            if !change.tags.remove.is_empty() {
                steps.push(Step::UntagTopic {
                    keys: change.tags.remove.keys().cloned().collect(),
                });
            }
        }
        _ => {}
    }
    let mut unsubscribes = Vec::new();
    if change.action == Action::Delete {
        for subscription in &change.subscriptions {
            if let Some(arn) = &subscription.arn {
                unsubscribes.push(Step::Unsubscribe {
                    subscription_arn: arn.clone(),
                });
            }
        }
        unsubscribes.push(Step::DeleteTopic);
        return (Vec::new(), unsubscribes);
    }
    for subscription in &change.subscriptions {
        match (subscription.action, &subscription.arn) {
            (Action::Create, _) => steps.push(Step::Subscribe {
                queue_arn: subscription.queue_arn.clone(),
                attributes: subscription
                    .attributes
                    .iter()
                    .map(|attribute| (attribute.name.clone(), attribute.wire_value()))
                    .collect(),
            }),
            (Action::Update, Some(arn)) => {
                for attribute in &subscription.attributes {
                    steps.push(Step::SetSubscriptionAttribute {
                        subscription_arn: arn.clone(),
                        name: attribute.name.clone(),
                        value: attribute.wire_value(),
                    });
                }
            }
            (Action::Delete, Some(arn)) => unsubscribes.push(Step::Unsubscribe {
                subscription_arn: arn.clone(),
            }),
            _ => {}
        }
    }
    (steps, unsubscribes)
}

/// Returns the IAM calls of one policy change, in the order IAM requires.
fn policy_steps(change: &PolicyChange) -> Vec<Step> {
    let document = change
        .after
        .as_ref()
        .map(crate::policy::to_compact)
        .unwrap_or_default();
    let mut steps = Vec::new();
    match change.action {
        Action::Create => {
            steps.push(Step::CreatePolicy {
                name: change.name.clone(),
                path: change.path.clone(),
                document,
                tags: change.tags.clone(),
            });
        }
        Action::Update if change.after.is_some() => {
            if let Some(version_id) = &change.delete_version {
                steps.push(Step::DeletePolicyVersion {
                    version_id: version_id.clone(),
                });
            }
            steps.push(Step::CreatePolicyVersion { document });
        }
        Action::Delete => {
            steps.extend(
                change
                    .detach
                    .iter()
                    .map(|role| Step::DetachRole { role: role.clone() }),
            );
            steps.extend(detach_users_and_groups(change));
            steps.extend(change.delete_versions.iter().map(|version_id| {
                Step::DeletePolicyVersion {
                    version_id: version_id.clone(),
                }
            }));
            steps.push(Step::DeletePolicy);
            return steps;
        }
        _ => {}
    }
    steps.extend(
        change
            .attach
            .iter()
            .map(|role| Step::AttachRole { role: role.clone() }),
    );
    steps.extend(
        change
            .detach
            .iter()
            .map(|role| Step::DetachRole { role: role.clone() }),
    );
    steps.extend(detach_users_and_groups(change));
    steps
}

/// Returns the calls that detach a policy from the users and groups it was attached to.
fn detach_users_and_groups(change: &PolicyChange) -> impl Iterator<Item = Step> + '_ {
    let users = change
        .detach_users
        .iter()
        .map(|user| Step::DetachUser { user: user.clone() });
    let groups = change.detach_groups.iter().map(|group| Step::DetachGroup {
        group: group.clone(),
    });
    users.chain(groups)
}

/// Returns, for each queue whose planned RedrivePolicy names a queue that the plan creates,
/// how many such links lead from it. The spec rejects cycles, and a cycle stops the count.
fn redrive_depths(plan: &Plan) -> BTreeMap<&str, usize> {
    let created: BTreeSet<&str> = plan
        .changes()
        .filter(|change| matches!(change.action, Action::Create | Action::Replace))
        .map(|change| change.name.as_str())
        .collect();
    let targets: BTreeMap<&str, String> = plan
        .changes()
        .filter_map(|change| {
            let redrive = change
                .attributes
                .iter()
                .find(|attribute| attribute.name == "RedrivePolicy")?;
            let document: serde_json::Value =
                serde_json::from_str(redrive.after.as_deref()?).ok()?;
            let arn = document.get("deadLetterTargetArn")?.as_str()?;
            let target = arn.rsplit(':').next()?.to_string();
            Some((change.name.as_str(), target))
        })
        .collect();

    let mut depths = BTreeMap::new();
    for name in targets.keys() {
        let mut depth = 0;
        let mut current = *name;
        while let Some(target) = targets
            .get(current)
            .filter(|target| created.contains(target.as_str()))
        {
            depth += 1;
            if depth > targets.len() {
                break;
            }
            current = target.as_str();
        }
        depths.insert(*name, depth);
    }
    depths
}

/// Splits attribute changes into those sent early and those sent in the policy phase. On a
/// create, the access policy goes into CreateQueue, and only the redrive-allow policy, which
/// names source queues that may not exist yet, waits.
fn split_late(changes: &[AttributeChange], creating: bool) -> (Attributes, Attributes) {
    let mut early = Attributes::new();
    let mut late = Attributes::new();
    for change in changes {
        let is_late = if creating {
            change.name == "RedriveAllowPolicy"
        } else {
            LATE_ATTRIBUTES.contains(&change.name.as_str())
        };
        let target = if is_late { &mut late } else { &mut early };
        target.insert(change.name.clone(), change.wire_value());
    }
    (early, late)
}
