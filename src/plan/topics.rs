//! The diff of desired SNS topics and subscriptions against live ones.
//!
//! Filter policies compare as JSON values, `RawMessageDelivery` as a boolean and
//! `FilterPolicyScope` with SNS's default (`MessageAttributes`) filled in. A subscription on a
//! managed topic that the spec does not declare is planned for removal.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::{Action, AttributeChange, TagChanges, TagValueChange};
use crate::cloud::{Attributes, Tags};
use crate::model::{DesiredState, DesiredSubscription, DesiredTopic};

/// The protocol of SQS subscriptions.
pub const SQS_PROTOCOL: &str = "sqs";
const DEFAULT_SCOPE: &str = "MessageAttributes";

/// A topic as read from SNS; `attributes` is `None` when the topic does not exist.
#[derive(Clone, Debug, PartialEq)]
pub struct ObservedTopic {
    pub arn: String,
    pub attributes: Option<Attributes>,
    pub tags: Tags,
    pub subscriptions: Vec<ObservedSubscription>,
}

/// A subscription as read from SNS.
#[derive(Clone, Debug, PartialEq)]
pub struct ObservedSubscription {
    pub arn: String,
    pub protocol: String,
    pub endpoint: String,
    pub attributes: Attributes,
}

/// The planned change to one subscription.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SubscriptionChange {
    pub action: Action,
    /// ARN of the subscribed queue.
    pub queue_arn: String,
    /// ARN of the live subscription.
    pub arn: Option<String>,
    /// Attributes that differ, or every attribute for a create.
    pub attributes: Vec<AttributeChange>,
}

/// The planned change to one topic and its subscriptions.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TopicChange {
    pub action: Action,
    pub name: String,
    pub arn: String,
    /// Attributes CreateTopic sends, or those that differ on a live topic.
    pub attributes: Vec<AttributeChange>,
    pub tags: TagChanges,
    pub subscriptions: Vec<SubscriptionChange>,
}

impl TopicChange {
    /// Checks whether the topic or any subscription changes.
    pub fn has_changes(&self) -> bool {
        self.action != Action::NoOp
            || self
                .subscriptions
                .iter()
                .any(|subscription| subscription.action != Action::NoOp)
    }
}

/// Returns the attributes SNS gets for a new topic.
pub fn topic_attributes(topic: &DesiredTopic) -> Attributes {
    let mut attributes = Attributes::new();
    if topic.fifo {
        attributes.insert("FifoTopic".to_string(), "true".to_string());
        attributes.insert(
            "ContentBasedDeduplication".to_string(),
            topic.content_based_deduplication.to_string(),
        );
    }
    attributes
}

/// Returns the attributes a subscription should have, as SNS stores them.
pub fn subscription_attributes(subscription: &DesiredSubscription) -> Attributes {
    let mut attributes = Attributes::from([(
        "RawMessageDelivery".to_string(),
        subscription.raw_message_delivery.to_string(),
    )]);
    if let Some(filter) = &subscription.filter_policy {
        attributes.insert("FilterPolicy".to_string(), filter.to_string());
        attributes.insert(
            "FilterPolicyScope".to_string(),
            subscription
                .filter_policy_scope
                .clone()
                .unwrap_or_else(|| DEFAULT_SCOPE.to_string()),
        );
    }
    attributes
}

/// Returns the subscription attributes whose live value differs in meaning.
fn subscription_changes(desired: &DesiredSubscription, live: &Attributes) -> Vec<AttributeChange> {
    let mut changes = Vec::new();
    let live_raw = live
        .get("RawMessageDelivery")
        .is_some_and(|value| value.eq_ignore_ascii_case("true"));
    if live_raw != desired.raw_message_delivery {
        changes.push(AttributeChange {
            name: "RawMessageDelivery".into(),
            before: Some(live_raw.to_string()),
            after: Some(desired.raw_message_delivery.to_string()),
        });
    }
    let live_filter = live
        .get("FilterPolicy")
        .filter(|text| !text.trim().is_empty());
    let live_filter_value: Option<Value> =
        live_filter.and_then(|text| serde_json::from_str(text).ok());
    if live_filter_value != desired.filter_policy {
        changes.push(AttributeChange {
            name: "FilterPolicy".into(),
            before: live_filter.cloned(),
            after: desired.filter_policy.as_ref().map(Value::to_string),
        });
    }
    if desired.filter_policy.is_some() {
        let live_scope = live
            .get("FilterPolicyScope")
            .cloned()
            .unwrap_or_else(|| DEFAULT_SCOPE.to_string());
        let desired_scope = desired
            .filter_policy_scope
            .clone()
            .unwrap_or_else(|| DEFAULT_SCOPE.to_string());
        if live_scope != desired_scope {
            changes.push(AttributeChange {
                name: "FilterPolicyScope".into(),
                before: Some(live_scope),
                after: Some(desired_scope),
            });
        }
    }
    changes
}

fn tag_changes(desired: &Tags, live: &Tags) -> TagChanges {
    TagChanges {
        set: desired
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
            .collect(),
        remove: live
            .iter()
            .filter(|(key, _)| !desired.contains_key(*key))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect(),
    }
}

/// Diffs every desired topic against what SNS has under its ARN.
pub fn diff_topics(desired: &DesiredState, observed: &[ObservedTopic]) -> Vec<TopicChange> {
    let by_arn: BTreeMap<&str, &ObservedTopic> = observed
        .iter()
        .map(|topic| (topic.arn.as_str(), topic))
        .collect();
    let mut changes: Vec<TopicChange> = desired
        .topics
        .iter()
        .map(|topic| {
            match by_arn
                .get(topic.arn.as_str())
                .filter(|live| live.attributes.is_some())
            {
                None => create(topic),
                Some(live) => update(topic, live),
            }
        })
        .collect();

    // Observed topics the spec does not declare are owned ones it removed: delete them.
    let desired_arns: Vec<&str> = desired
        .topics
        .iter()
        .map(|topic| topic.arn.as_str())
        .collect();
    for removed in observed
        .iter()
        .filter(|topic| topic.attributes.is_some() && !desired_arns.contains(&topic.arn.as_str()))
    {
        changes.push(TopicChange {
            action: Action::Delete,
            name: removed
                .arn
                .rsplit(':')
                .next()
                .unwrap_or_default()
                .to_string(),
            arn: removed.arn.clone(),
            attributes: Vec::new(),
            tags: TagChanges::default(),
            subscriptions: removed
                .subscriptions
                .iter()
                .map(|subscription| SubscriptionChange {
                    action: Action::Delete,
                    queue_arn: subscription.endpoint.clone(),
                    arn: Some(subscription.arn.clone()),
                    attributes: Vec::new(),
                })
                .collect(),
        });
    }
    changes
}

fn create(topic: &DesiredTopic) -> TopicChange {
    TopicChange {
        action: Action::Create,
        name: topic.name.clone(),
        arn: topic.arn.clone(),
        attributes: topic_attributes(topic)
            .into_iter()
            .map(|(name, value)| AttributeChange {
                name,
                before: None,
                after: Some(value),
            })
            .collect(),
        tags: tag_changes(&topic.tags, &Tags::new()),
        subscriptions: topic
            .subscriptions
            .iter()
            .map(|subscription| SubscriptionChange {
                action: Action::Create,
                queue_arn: subscription.queue_arn.clone(),
                arn: None,
                attributes: subscription_attributes(subscription)
                    .into_iter()
                    .map(|(name, value)| AttributeChange {
                        name,
                        before: None,
                        after: Some(value),
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn update(topic: &DesiredTopic, live: &ObservedTopic) -> TopicChange {
    let live_attributes = live.attributes.clone().unwrap_or_default();
    let mut attributes = Vec::new();
    if topic.fifo {
        let live_dedup = live_attributes
            .get("ContentBasedDeduplication")
            .is_some_and(|value| value == "true");
        if live_dedup != topic.content_based_deduplication {
            attributes.push(AttributeChange {
                name: "ContentBasedDeduplication".into(),
                before: Some(live_dedup.to_string()),
                after: Some(topic.content_based_deduplication.to_string()),
            });
        }
    }
    let tags = tag_changes(&topic.tags, &live.tags);

    let mut subscriptions = Vec::new();
    let mut matched = Vec::new();
    for desired_subscription in &topic.subscriptions {
        let existing = live.subscriptions.iter().find(|candidate| {
            candidate.protocol == SQS_PROTOCOL
                && candidate.endpoint == desired_subscription.queue_arn
        });
        match existing {
            None => subscriptions.push(SubscriptionChange {
                action: Action::Create,
                queue_arn: desired_subscription.queue_arn.clone(),
                arn: None,
                attributes: subscription_attributes(desired_subscription)
                    .into_iter()
                    .map(|(name, value)| AttributeChange {
                        name,
                        before: None,
                        after: Some(value),
                    })
                    .collect(),
            }),
            Some(existing) => {
                matched.push(existing.arn.as_str());
                let changes = subscription_changes(desired_subscription, &existing.attributes);
                subscriptions.push(SubscriptionChange {
                    action: if changes.is_empty() {
                        Action::NoOp
                    } else {
                        Action::Update
                    },
                    queue_arn: desired_subscription.queue_arn.clone(),
                    arn: Some(existing.arn.clone()),
                    attributes: changes,
                });
            }
        }
    }
    for extra in live
        .subscriptions
        .iter()
        .filter(|candidate| !matched.contains(&candidate.arn.as_str()))
    {
        subscriptions.push(SubscriptionChange {
            action: Action::Delete,
            queue_arn: extra.endpoint.clone(),
            arn: Some(extra.arn.clone()),
            attributes: Vec::new(),
        });
    }

    TopicChange {
        action: if attributes.is_empty() && tags.is_empty() {
            Action::NoOp
        } else {
            Action::Update
        },
        name: topic.name.clone(),
        arn: topic.arn.clone(),
        attributes,
        tags,
        subscriptions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired() -> DesiredState {
        let spec = "project: shop\nqueues:\n  analytics: {}\n  notifications: {}\ntopics:\n  trips:\n    subscribers:\n      analytics: {}\n      notifications: {filter_policy: {eventType: [trip.created]}}\n";
        crate::spec::load_from_text(
            "queues.yaml",
            spec,
            "test",
            "region: us-east-1\naccount_id: \"123456789012\"\n",
        )
        .expect("spec")
        .desired
    }

    fn observed(desired: &DesiredState) -> ObservedTopic {
        let topic = &desired.topics[0];
        ObservedTopic {
            arn: topic.arn.clone(),
            attributes: Some(Attributes::from([(
                "TopicArn".to_string(),
                topic.arn.clone(),
            )])),
            tags: topic.tags.clone(),
            subscriptions: topic
                .subscriptions
                .iter()
                .enumerate()
                .map(|(index, subscription)| {
                    let mut attributes = subscription_attributes(subscription);
                    if let Some(filter) = attributes.get_mut("FilterPolicy") {
                        // SNS may return the policy with other spacing.
                        *filter = serde_json::to_string_pretty(
                            &serde_json::from_str::<Value>(filter).unwrap(),
                        )
                        .unwrap();
                    }
                    ObservedSubscription {
                        arn: format!("{}:sub-{index}", topic.arn),
                        protocol: "sqs".into(),
                        endpoint: subscription.queue_arn.clone(),
                        attributes,
                    }
                })
                .collect(),
        }
    }

    #[test]
    fn missing_topic_creates_everything() {
        let desired = desired();
        let changes = diff_topics(&desired, &[]);
        assert_eq!(changes[0].action, Action::Create);
        assert_eq!(changes[0].subscriptions.len(), 2);
        assert_eq!(
            changes[0].subscriptions[1].attributes,
            vec![
                AttributeChange {
                    name: "FilterPolicy".into(),
                    before: None,
                    after: Some(r#"{"eventType":["trip.created"]}"#.into())
                },
                AttributeChange {
                    name: "FilterPolicyScope".into(),
                    before: None,
                    after: Some("MessageAttributes".into())
                },
                AttributeChange {
                    name: "RawMessageDelivery".into(),
                    before: None,
                    after: Some("true".into())
                },
            ]
        );
    }

    #[test]
    fn equal_live_state_is_unchanged() {
        let desired = desired();
        let changes = diff_topics(&desired, &[observed(&desired)]);
        assert!(!changes[0].has_changes(), "{changes:#?}");
    }

    #[test]
    fn changed_filter_and_extra_subscription() {
        let desired = desired();
        let mut live = observed(&desired);
        live.subscriptions[1].attributes.insert(
            "FilterPolicy".into(),
            r#"{"eventType":["trip.cancelled"]}"#.into(),
        );
        live.subscriptions.push(ObservedSubscription {
            arn: "arn:aws:sns:us-east-1:123456789012:shop-test-trips:stray".into(),
            protocol: "sqs".into(),
            endpoint: "arn:aws:sqs:us-east-1:123456789012:elsewhere".into(),
            attributes: Attributes::new(),
        });

        let changes = diff_topics(&desired, &[live]);

        let actions: Vec<Action> = changes[0]
            .subscriptions
            .iter()
            .map(|subscription| subscription.action)
            .collect();
        assert_eq!(actions, vec![Action::NoOp, Action::Update, Action::Delete]);
        assert_eq!(
            changes[0].subscriptions[1].attributes[0].name,
            "FilterPolicy"
        );
    }
}
