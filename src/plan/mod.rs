//! The diff of desired against live state, as a [`Plan`] of queue changes.
//!
//! Comparison is semantic: numbers as numbers with AWS defaults for absent attributes, policies
//! by meaning, redrive policies as typed values, encryption as one choice, tags as maps. The
//! plan is plain data; renderers turn it into text or JSON, and `apply` executes it.

pub mod alarms;
mod attributes;
pub mod iam;
mod safety;
pub mod topics;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::cloud::{Attributes, LiveQueue, Tags};
use crate::model::{self, DesiredQueue, DesiredState, QueueRole};

pub use attributes::{RETENTION, create_attributes};
pub use iam::{PolicyChange, PolicySummary};
pub use safety::{SafetyFlags, blocked_changes};

/// The action planned for one queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    /// Create a new queue and delete the old one, because a setting cannot change in place.
    Replace,
    Delete,
    /// Take over a queue that exists with a spec name but without the ownership tags.
    Adopt,
    NoOp,
}

/// One attribute's live and desired value, as SQS sends them. `None` means absent; applying a
/// change to `None` sends an empty string, which removes a policy or a KMS key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AttributeChange {
    pub name: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl AttributeChange {
    /// Returns the value to send in CreateQueue or SetQueueAttributes.
    pub fn wire_value(&self) -> String {
        self.after.clone().unwrap_or_default()
    }

    /// Checks whether the value is a JSON document (a policy), shown as a line diff.
    pub fn is_document(&self) -> bool {
        matches!(
            self.name.as_str(),
            "Policy" | "RedrivePolicy" | "RedriveAllowPolicy"
        )
    }
}

/// Tags to add or overwrite, and tags to remove.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TagChanges {
    /// New values by key, with the live value when the key exists.
    pub set: BTreeMap<String, TagValueChange>,
    /// Keys to remove, with their live values.
    pub remove: BTreeMap<String, String>,
}

/// A tag's live and desired value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TagValueChange {
    pub before: Option<String>,
    pub after: String,
}

impl TagChanges {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }
}

/// Messages in a queue, from its approximate counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MessageCounts {
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
}

impl MessageCounts {
    /// Reads the three approximate counts; absent or unreadable counts are 0.
    pub fn from_attributes(attributes: &Attributes) -> MessageCounts {
        let count = |name: &str| {
            attributes
                .get(name)
                .and_then(|value| value.parse().ok())
                .unwrap_or(0)
        };
        MessageCounts {
            visible: count("ApproximateNumberOfMessages"),
            in_flight: count("ApproximateNumberOfMessagesNotVisible"),
            delayed: count("ApproximateNumberOfMessagesDelayed"),
        }
    }

    pub fn total(&self) -> u64 {
        self.visible + self.in_flight + self.delayed
    }
}

/// The planned change to one queue.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueChange {
    pub action: Action,
    /// Final queue name; for a replace, the name of the new queue.
    pub name: String,
    /// Name in the spec, absent for a queue that is only live.
    pub key: Option<String>,
    /// Whether the queue is declared or a derived dead-letter queue; absent for deletes.
    pub role: Option<QueueRole>,
    /// Whether other queues use this one as their dead-letter queue.
    pub dead_letter_target: bool,
    /// URL of the live queue, absent for a create.
    pub url: Option<String>,
    /// For a replace: the live queue that is deleted.
    pub replaces: Option<ReplacedQueue>,
    /// The reason for a replace, adopt or delete.
    pub reason: Option<String>,
    /// Attributes to send: all of them for a create or replace, only differing ones otherwise.
    pub attributes: Vec<AttributeChange>,
    pub tags: TagChanges,
    /// Messages in the queue that a delete or replace would destroy.
    pub messages: Option<MessageCounts>,
    pub warnings: Vec<String>,
}

/// The live queue a replace deletes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReplacedQueue {
    pub name: String,
    pub url: String,
}

/// Counts of planned actions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub adopt: usize,
    pub unchanged: usize,
}

/// A plan for one environment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    pub project: String,
    pub environment: String,
    pub prefix: String,
    /// Every desired queue in spec order, then the queues to delete.
    pub queues: Vec<QueueChange>,
    /// Queues with the prefix that sqsform neither declares nor owns, so it never touches them.
    pub unmanaged: Vec<String>,
    pub summary: Summary,
    /// Every desired managed IAM policy, then the ones to delete.
    pub policies: Vec<PolicyChange>,
    pub policy_summary: PolicySummary,
    /// Every desired alarm, then the ones to delete.
    pub alarms: Vec<alarms::AlarmChange>,
    pub alarm_summary: alarms::AlarmSummary,
    /// Alarms with the prefix that sqsform neither declares nor owns.
    pub unmanaged_alarms: Vec<String>,
    pub dashboard: Option<alarms::DashboardChange>,
    /// Every desired SNS topic with its subscriptions.
    pub topics: Vec<topics::TopicChange>,
}

impl Plan {
    /// Checks whether applying the plan would change anything.
    pub fn has_changes(&self) -> bool {
        self.queues.iter().any(|queue| queue.action != Action::NoOp)
            || self
                .policies
                .iter()
                .any(|policy| policy.action != Action::NoOp)
            || self.alarms.iter().any(|alarm| alarm.action != Action::NoOp)
            || self.topics.iter().any(topics::TopicChange::has_changes)
            || self
                .dashboard
                .as_ref()
                .is_some_and(|dashboard| dashboard.action != Action::NoOp)
    }

    /// Sets the alarm and dashboard changes and their counts.
    pub fn set_monitoring(
        &mut self,
        alarms: Vec<alarms::AlarmChange>,
        unmanaged: Vec<String>,
        dashboard: Option<alarms::DashboardChange>,
    ) {
        self.alarm_summary = alarms::summarize(&alarms);
        self.alarms = alarms;
        self.unmanaged_alarms = unmanaged;
        self.dashboard = dashboard;
    }

    /// Sets the policy changes and their counts.
    pub fn set_policies(&mut self, policies: Vec<PolicyChange>) {
        self.policy_summary = iam::summarize(&policies);
        self.policies = policies;
    }

    /// Returns the entries that change something.
    pub fn changes(&self) -> impl Iterator<Item = &QueueChange> {
        self.queues
            .iter()
            .filter(|queue| queue.action != Action::NoOp)
    }
}

/// Checks whether a live queue carries this environment's ownership tags.
pub fn is_owned(tags: &Tags, project: &str, environment: &str) -> bool {
    model::ownership_tags(project, environment)
        .iter()
        .all(|(key, value)| tags.get(key) == Some(value))
}

/// Diffs the desired state against the live queues that carry its prefix.
pub fn diff(desired: &DesiredState, live: &[LiveQueue]) -> Plan {
    let live_by_name: BTreeMap<&str, &LiveQueue> = live
        .iter()
        .map(|queue| (queue.name.as_str(), queue))
        .collect();
    let desired_names: BTreeSet<&str> = desired
        .queues
        .iter()
        .map(|queue| queue.name.as_str())
        .collect();
    let mut claimed: BTreeSet<&str> = BTreeSet::new();
    let mut queues = Vec::new();

    for desired_queue in &desired.queues {
        if let Some(existing) = live_by_name.get(desired_queue.name.as_str()) {
            claimed.insert(existing.name.as_str());
            queues.push(diff_existing(desired, desired_queue, existing));
            continue;
        }
        // A queue whose FIFO flag changed has the other name (with or without ".fifo").
        let counterpart = other_type_name(&desired_queue.name);
        let replaced = live_by_name
            .get(counterpart.as_str())
            .filter(|old| !desired_names.contains(old.name.as_str()))
            .filter(|old| is_owned(&old.tags, &desired.project, &desired.environment));
        match replaced {
            Some(old) => {
                claimed.insert(old.name.as_str());
                queues.push(replace(desired_queue, old));
            }
            None => queues.push(create(desired_queue)),
        }
    }

    // ARNs that live redrive policies point at: deleting those queues waits for their sources.
    let redrive_targets: BTreeSet<String> = live
        .iter()
        .filter_map(|queue| queue.attributes.get("RedrivePolicy"))
        .filter_map(|text| serde_json::from_str::<serde_json::Value>(text).ok())
        .filter_map(|document| {
            document
                .get("deadLetterTargetArn")?
                .as_str()
                .map(str::to_string)
        })
        .collect();

    let mut unmanaged = Vec::new();
    for existing in live {
        if claimed.contains(existing.name.as_str()) {
            continue;
        }
        if is_owned(&existing.tags, &desired.project, &desired.environment) {
            let is_target = existing
                .attributes
                .get("QueueArn")
                .is_some_and(|arn| redrive_targets.contains(arn));
            queues.push(delete(existing, is_target));
        } else {
            unmanaged.push(existing.name.clone());
        }
    }

    let summary = summarize(&queues);
    Plan {
        project: desired.project.clone(),
        environment: desired.environment.clone(),
        prefix: desired.prefix.clone(),
        queues,
        unmanaged,
        summary,
        policies: Vec::new(),
        policy_summary: PolicySummary::default(),
        alarms: Vec::new(),
        alarm_summary: alarms::AlarmSummary::default(),
        unmanaged_alarms: Vec::new(),
        dashboard: None,
        topics: Vec::new(),
    }
}

fn other_type_name(name: &str) -> String {
    match name.strip_suffix(".fifo") {
        Some(stem) => stem.to_string(),
        None => format!("{name}.fifo"),
    }
}

fn entry(action: Action, desired_queue: &DesiredQueue) -> QueueChange {
    QueueChange {
        action,
        name: desired_queue.name.clone(),
        key: Some(desired_queue.key.clone()),
        role: Some(desired_queue.role.clone()),
        dead_letter_target: desired_queue.is_dead_letter_target,
        url: None,
        replaces: None,
        reason: None,
        attributes: Vec::new(),
        tags: TagChanges::default(),
        messages: None,
        warnings: Vec::new(),
    }
}

fn all_tags(desired_queue: &DesiredQueue) -> TagChanges {
    TagChanges {
        set: desired_queue
            .tags
            .iter()
            .map(|(key, value)| {
                (
                    key.clone(),
                    TagValueChange {
                        before: None,
                        after: value.clone(),
                    },
                )
            })
            .collect(),
        remove: BTreeMap::new(),
    }
}

fn create(desired_queue: &DesiredQueue) -> QueueChange {
    let mut change = entry(Action::Create, desired_queue);
    change.attributes = create_attributes(desired_queue)
        .into_iter()
        .map(|(name, value)| AttributeChange {
            name,
            before: None,
            after: Some(value),
        })
        .collect();
    change.tags = all_tags(desired_queue);
    change
}

fn replace(desired_queue: &DesiredQueue, old: &LiveQueue) -> QueueChange {
    let mut change = create(desired_queue);
    let fifo_now = desired_queue.attributes.fifo.is_some();
    change.action = Action::Replace;
    change.replaces = Some(ReplacedQueue {
        name: old.name.clone(),
        url: old.url.clone(),
    });
    change.messages = Some(MessageCounts::from_attributes(&old.attributes));
    change.reason = Some(format!(
        "FifoQueue changes from {} to {}: SQS cannot change a queue's type, so {} is created and {} is deleted",
        !fifo_now, fifo_now, desired_queue.name, old.name
    ));
    change
}

fn delete(existing: &LiveQueue, dead_letter_target: bool) -> QueueChange {
    QueueChange {
        action: Action::Delete,
        name: existing.name.clone(),
        key: None,
        role: None,
        dead_letter_target,
        url: Some(existing.url.clone()),
        replaces: None,
        reason: Some(
            "the queue carries this environment's ownership tags but is no longer in the spec"
                .to_string(),
        ),
        attributes: Vec::new(),
        tags: TagChanges::default(),
        messages: Some(MessageCounts::from_attributes(&existing.attributes)),
        warnings: Vec::new(),
    }
}

fn diff_existing(
    desired: &DesiredState,
    desired_queue: &DesiredQueue,
    existing: &LiveQueue,
) -> QueueChange {
    let owned = is_owned(&existing.tags, &desired.project, &desired.environment);
    let attribute_changes = attributes::changes(&desired_queue.attributes, &existing.attributes);
    let tag_changes = diff_tags(&desired_queue.tags, &existing.tags);

    let action = if !owned {
        Action::Adopt
    } else if attribute_changes.is_empty() && tag_changes.is_empty() {
        Action::NoOp
    } else {
        Action::Update
    };

    let mut change = entry(action, desired_queue);
    change.url = Some(existing.url.clone());
    if action == Action::Adopt {
        change.reason = Some(
            "the queue exists with a spec name but without sqsform's ownership tags".to_string(),
        );
    }
    change.warnings = attributes::warnings(&attribute_changes);
    if !change.warnings.is_empty() {
        change.messages = Some(MessageCounts::from_attributes(&existing.attributes));
    }
    change.attributes = attribute_changes;
    change.tags = tag_changes;
    change
}

/// Diffs tags as maps: the spec is authoritative, so live tags it does not name are removed.
fn diff_tags(desired_queue: &Tags, live: &Tags) -> TagChanges {
    let set = desired_queue
        .iter()
        .filter(|(key, value)| live.get(*key) != Some(*value))
        .map(|(key, value)| {
            (
                key.clone(),
                TagValueChange {
                    before: live.get(key).cloned(),
                    after: value.clone(),
                },
            )
        })
        .collect();
    let remove = live
        .iter()
        .filter(|(key, _)| !desired_queue.contains_key(*key))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    TagChanges { set, remove }
}

fn summarize(queues: &[QueueChange]) -> Summary {
    let mut summary = Summary::default();
    for queue in queues {
        match queue.action {
            Action::Create => summary.create += 1,
            Action::Update => summary.update += 1,
            Action::Replace => summary.replace += 1,
            Action::Delete => summary.delete += 1,
            Action::Adopt => summary.adopt += 1,
            Action::NoOp => summary.unchanged += 1,
        }
    }
    summary
}

#[cfg(test)]
mod tests;
