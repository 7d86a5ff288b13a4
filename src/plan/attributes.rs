//! Semantic comparison of queue attributes, and the attributes a new queue is created with.

use std::collections::BTreeSet;

use serde_json::Value;

use super::AttributeChange;
use crate::cloud::Attributes;
use crate::model::{DesiredQueue, Encryption, QueueAttributes, RedriveAllowPolicy, defaults};
use crate::spec::Seconds;

/// The attribute whose lowering can expire messages already in the queue.
pub const RETENTION: &str = "MessageRetentionPeriod";

/// Returns the attributes CreateQueue gets: every managed attribute with its explicit value.
pub fn create_attributes(queue: &DesiredQueue) -> Attributes {
    let desired = &queue.attributes;
    let mut attributes = Attributes::from([
        (
            "DelaySeconds".to_string(),
            desired.delay_seconds.to_string(),
        ),
        (
            "MaximumMessageSize".to_string(),
            desired.maximum_message_size.to_string(),
        ),
        (
            RETENTION.to_string(),
            desired.message_retention_period.to_string(),
        ),
        (
            "ReceiveMessageWaitTimeSeconds".to_string(),
            desired.receive_message_wait_time_seconds.to_string(),
        ),
        (
            "VisibilityTimeout".to_string(),
            desired.visibility_timeout.to_string(),
        ),
    ]);
    if let Some(fifo) = &desired.fifo {
        attributes.insert("FifoQueue".to_string(), "true".to_string());
        attributes.insert(
            "ContentBasedDeduplication".to_string(),
            fifo.content_based_deduplication.to_string(),
        );
        attributes.insert(
            "DeduplicationScope".to_string(),
            fifo.deduplication_scope.as_str().to_string(),
        );
        attributes.insert(
            "FifoThroughputLimit".to_string(),
            fifo.throughput_limit.as_str().to_string(),
        );
    }
    match &desired.encryption {
        Encryption::None => {
            attributes.insert("SqsManagedSseEnabled".to_string(), "false".to_string());
        }
        Encryption::SseSqs => {
            attributes.insert("SqsManagedSseEnabled".to_string(), "true".to_string());
        }
        Encryption::SseKms {
            key,
            data_key_reuse_seconds,
        } => {
            attributes.insert("KmsMasterKeyId".to_string(), key.clone());
            attributes.insert(
                "KmsDataKeyReusePeriodSeconds".to_string(),
                data_key_reuse_seconds.to_string(),
            );
        }
    }
    if let Some(redrive) = &desired.redrive_policy {
        attributes.insert("RedrivePolicy".to_string(), redrive.to_wire());
    }
    if let Some(allow) = &desired.redrive_allow_policy {
        attributes.insert("RedriveAllowPolicy".to_string(), allow.to_wire());
    }
    if let Some(policy) = &desired.policy {
        attributes.insert("Policy".to_string(), crate::policy::to_compact(policy));
    }
    attributes
}

/// Returns the attributes whose live value differs in meaning from the desired one.
pub fn changes(desired: &QueueAttributes, live: &Attributes) -> Vec<AttributeChange> {
    let mut changes = Vec::new();
    integer(
        &mut changes,
        live,
        "DelaySeconds",
        desired.delay_seconds,
        defaults::DELAY_SECONDS,
    );
    integer(
        &mut changes,
        live,
        "MaximumMessageSize",
        desired.maximum_message_size,
        defaults::MAXIMUM_MESSAGE_SIZE,
    );
    integer(
        &mut changes,
        live,
        RETENTION,
        desired.message_retention_period,
        defaults::MESSAGE_RETENTION_PERIOD,
    );
    integer(
        &mut changes,
        live,
        "ReceiveMessageWaitTimeSeconds",
        desired.receive_message_wait_time_seconds,
        defaults::RECEIVE_MESSAGE_WAIT_TIME_SECONDS,
    );
    integer(
        &mut changes,
        live,
        "VisibilityTimeout",
        desired.visibility_timeout,
        defaults::VISIBILITY_TIMEOUT,
    );

    if let Some(fifo) = &desired.fifo {
        text(
            &mut changes,
            live,
            "ContentBasedDeduplication",
            &fifo.content_based_deduplication.to_string(),
            "false",
        );
        text(
            &mut changes,
            live,
            "DeduplicationScope",
            fifo.deduplication_scope.as_str(),
            "queue",
        );
        text(
            &mut changes,
            live,
            "FifoThroughputLimit",
            fifo.throughput_limit.as_str(),
            "perQueue",
        );
    }

    encryption(&mut changes, live, &desired.encryption);
    redrive_policy(&mut changes, live, desired);
    redrive_allow_policy(&mut changes, live, desired.redrive_allow_policy.as_ref());
    access_policy(&mut changes, live, desired.policy.as_ref());
    changes
}

/// Returns the warnings a set of changes deserves: lowering retention can expire messages.
pub fn warnings(changes: &[AttributeChange]) -> Vec<String> {
    let mut warnings = Vec::new();
    for change in changes.iter().filter(|change| change.name == RETENTION) {
        let before = change
            .before
            .as_deref()
            .and_then(|value| value.parse::<u64>().ok())
            .unwrap_or(defaults::MESSAGE_RETENTION_PERIOD);
        let after = change
            .after
            .as_deref()
            .and_then(|value| value.parse::<u64>().ok())
            .unwrap_or(defaults::MESSAGE_RETENTION_PERIOD);
        if after < before {
            warnings.push(format!(
                "lowering MessageRetentionPeriod from {} to {} lets SQS delete messages already in the queue that are older than {}",
                Seconds(before),
                Seconds(after),
                Seconds(after)
            ));
        }
    }
    warnings
}

fn push(
    changes: &mut Vec<AttributeChange>,
    name: &str,
    before: Option<&String>,
    after: Option<String>,
) {
    changes.push(AttributeChange {
        name: name.to_string(),
        before: before.cloned(),
        after,
    });
}

fn integer(
    changes: &mut Vec<AttributeChange>,
    live: &Attributes,
    name: &str,
    desired: u64,
    default: u64,
) {
    let current = live.get(name);
    let current_value = match current {
        None => Some(default),
        Some(text) => text.trim().parse::<u64>().ok(),
    };
    if current_value != Some(desired) {
        push(changes, name, current, Some(desired.to_string()));
    }
}

fn text(
    changes: &mut Vec<AttributeChange>,
    live: &Attributes,
    name: &str,
    desired: &str,
    default: &str,
) {
    let current = live.get(name);
    if current.map(String::as_str).unwrap_or(default) != desired {
        push(changes, name, current, Some(desired.to_string()));
    }
}

/// Returns the encryption of a live queue. A KMS key wins over `SqsManagedSseEnabled`, which
/// SQS may report either way on a KMS-encrypted queue.
fn live_encryption(live: &Attributes) -> Encryption {
    match live.get("KmsMasterKeyId").filter(|key| !key.is_empty()) {
        Some(key) => Encryption::SseKms {
            key: key.clone(),
            data_key_reuse_seconds: live
                .get("KmsDataKeyReusePeriodSeconds")
                .and_then(|value| value.parse().ok())
                .unwrap_or(defaults::KMS_DATA_KEY_REUSE_PERIOD_SECONDS),
        },
        None if live
            .get("SqsManagedSseEnabled")
            .is_some_and(|value| value == "true") =>
        {
            Encryption::SseSqs
        }
        None => Encryption::None,
    }
}

fn encryption(changes: &mut Vec<AttributeChange>, live: &Attributes, desired: &Encryption) {
    let current = live_encryption(live);
    if &current == desired {
        return;
    }
    let live_key = live.get("KmsMasterKeyId").filter(|key| !key.is_empty());
    let live_sse = live.get("SqsManagedSseEnabled");
    match (desired, &current) {
        (
            Encryption::SseKms {
                key,
                data_key_reuse_seconds,
            },
            current,
        ) => {
            let same_key = matches!(current, Encryption::SseKms { key: live, .. } if live == key);
            if !same_key {
                push(changes, "KmsMasterKeyId", live_key, Some(key.clone()));
            }
            let live_reuse = match current {
                Encryption::SseKms {
                    data_key_reuse_seconds,
                    ..
                } => Some(*data_key_reuse_seconds),
                _ => None,
            };
            if live_reuse != Some(*data_key_reuse_seconds) {
                push(
                    changes,
                    "KmsDataKeyReusePeriodSeconds",
                    live.get("KmsDataKeyReusePeriodSeconds"),
                    Some(data_key_reuse_seconds.to_string()),
                );
            }
        }
        (Encryption::SseSqs, _) => {
            if live_key.is_some() {
                push(changes, "KmsMasterKeyId", live_key, None);
            }
            push(
                changes,
                "SqsManagedSseEnabled",
                live_sse,
                Some("true".to_string()),
            );
        }
        (Encryption::None, _) => {
            if live_key.is_some() {
                push(changes, "KmsMasterKeyId", live_key, None);
            }
            if live_sse.is_some_and(|value| value == "true") {
                push(
                    changes,
                    "SqsManagedSseEnabled",
                    live_sse,
                    Some("false".to_string()),
                );
            }
        }
    }
}

/// Reads a live RedrivePolicy; `maxReceiveCount` may be a number or a numeric string.
fn parse_redrive(text: &str) -> Option<(String, u64)> {
    let document: Value = serde_json::from_str(text).ok()?;
    let arn = document.get("deadLetterTargetArn")?.as_str()?.to_string();
    let count = match document.get("maxReceiveCount")? {
        Value::Number(number) => number.as_u64()?,
        Value::String(text) => text.trim().parse().ok()?,
        _ => return None,
    };
    Some((arn, count))
}

fn redrive_policy(
    changes: &mut Vec<AttributeChange>,
    live: &Attributes,
    desired: &QueueAttributes,
) {
    let current = live
        .get("RedrivePolicy")
        .filter(|text| !text.trim().is_empty());
    let current_value = current.map(|text| parse_redrive(text));
    let desired_value = desired.redrive_policy.as_ref().map(|policy| {
        (
            policy.dead_letter_target_arn.clone(),
            policy.max_receive_count,
        )
    });
    let same = match (&current_value, &desired_value) {
        (None, None) => true,
        (Some(Some(current)), Some(desired)) => current == desired,
        _ => false,
    };
    if !same {
        push(
            changes,
            "RedrivePolicy",
            current,
            desired
                .redrive_policy
                .as_ref()
                .map(|policy| policy.to_wire()),
        );
    }
}

/// Reads a live RedriveAllowPolicy into a typed value.
fn parse_redrive_allow(text: &str) -> Option<RedriveAllowPolicy> {
    let document: Value = serde_json::from_str(text).ok()?;
    match document.get("redrivePermission")?.as_str()? {
        "allowAll" => Some(RedriveAllowPolicy::AllowAll),
        "denyAll" => Some(RedriveAllowPolicy::DenyAll),
        "byQueue" => {
            let arns: BTreeSet<String> = match document.get("sourceQueueArns") {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(|item| item.as_str().map(str::to_string))
                    .collect(),
                Some(Value::String(single)) => BTreeSet::from([single.clone()]),
                _ => BTreeSet::new(),
            };
            Some(RedriveAllowPolicy::ByQueue {
                source_queue_arns: arns,
            })
        }
        _ => None,
    }
}

fn redrive_allow_policy(
    changes: &mut Vec<AttributeChange>,
    live: &Attributes,
    desired: Option<&RedriveAllowPolicy>,
) {
    let current = live
        .get("RedriveAllowPolicy")
        .filter(|text| !text.trim().is_empty());
    // SQS treats an absent RedriveAllowPolicy as allowAll.
    let current_value = match current {
        None => Some(RedriveAllowPolicy::AllowAll),
        Some(text) => parse_redrive_allow(text),
    };
    let desired_value = desired.cloned().unwrap_or(RedriveAllowPolicy::AllowAll);
    if current_value.as_ref() != Some(&desired_value) {
        push(
            changes,
            "RedriveAllowPolicy",
            current,
            desired.map(RedriveAllowPolicy::to_wire),
        );
    }
}

fn access_policy(changes: &mut Vec<AttributeChange>, live: &Attributes, desired: Option<&Value>) {
    let current = live.get("Policy").filter(|text| !text.trim().is_empty());
    let same = match (current, desired) {
        (None, None) => true,
        (Some(text), Some(desired)) => crate::policy::parse(text)
            .and_then(|live_document| crate::policy::equivalent(&live_document, desired))
            .unwrap_or(false),
        _ => false,
    };
    if !same {
        push(
            changes,
            "Policy",
            current,
            desired.map(crate::policy::to_compact),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FifoAttributes, RedrivePolicy};

    fn standard() -> QueueAttributes {
        QueueAttributes {
            delay_seconds: 0,
            maximum_message_size: 1_048_576,
            message_retention_period: 345_600,
            receive_message_wait_time_seconds: 20,
            visibility_timeout: 30,
            encryption: Encryption::SseSqs,
            fifo: None,
            redrive_policy: Some(RedrivePolicy {
                dead_letter_target_arn: "arn:aws:sqs:us-east-1:123456789012:q-dlq".into(),
                max_receive_count: 3,
            }),
            redrive_allow_policy: None,
            policy: None,
        }
    }

    fn live(pairs: &[(&str, &str)]) -> Attributes {
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    fn matching_live() -> Attributes {
        live(&[
            ("DelaySeconds", "0"),
            ("MaximumMessageSize", "1048576"),
            ("MessageRetentionPeriod", "345600"),
            ("ReceiveMessageWaitTimeSeconds", "20"),
            ("VisibilityTimeout", "30"),
            ("SqsManagedSseEnabled", "true"),
            (
                "RedrivePolicy",
                r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:q-dlq","maxReceiveCount":3}"#,
            ),
        ])
    }

    #[test]
    fn matching_queue_has_no_changes() {
        assert_eq!(changes(&standard(), &matching_live()), vec![]);
    }

    #[test]
    fn redrive_count_as_string_is_equal() {
        let mut attributes = matching_live();
        attributes.insert(
            "RedrivePolicy".into(),
            r#"{"maxReceiveCount":"3", "deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:q-dlq"}"#.into(),
        );
        assert_eq!(changes(&standard(), &attributes), vec![]);
    }

    #[test]
    fn absent_delay_equals_default() {
        let mut attributes = matching_live();
        attributes.remove("DelaySeconds");
        assert_eq!(changes(&standard(), &attributes), vec![]);
    }

    #[test]
    fn kms_queue_reporting_sse_false_is_equal() {
        let mut desired = standard();
        desired.encryption = Encryption::SseKms {
            key: "alias/k".into(),
            data_key_reuse_seconds: 300,
        };
        let mut attributes = matching_live();
        attributes.insert("SqsManagedSseEnabled".into(), "false".into());
        attributes.insert("KmsMasterKeyId".into(), "alias/k".into());
        attributes.insert("KmsDataKeyReusePeriodSeconds".into(), "300".into());
        assert_eq!(changes(&desired, &attributes), vec![]);
    }

    #[test]
    fn visibility_change_is_one_attribute() {
        let mut attributes = matching_live();
        attributes.insert("VisibilityTimeout".into(), "45".into());
        assert_eq!(
            changes(&standard(), &attributes),
            vec![AttributeChange {
                name: "VisibilityTimeout".into(),
                before: Some("45".into()),
                after: Some("30".into())
            }]
        );
    }

    #[test]
    fn sse_kms_to_sse_sqs_removes_key() {
        let mut attributes = matching_live();
        attributes.insert("SqsManagedSseEnabled".into(), "false".into());
        attributes.insert("KmsMasterKeyId".into(), "alias/k".into());
        assert_eq!(
            changes(&standard(), &attributes),
            vec![
                AttributeChange {
                    name: "KmsMasterKeyId".into(),
                    before: Some("alias/k".into()),
                    after: None
                },
                AttributeChange {
                    name: "SqsManagedSseEnabled".into(),
                    before: Some("false".into()),
                    after: Some("true".into())
                },
            ]
        );
    }

    #[test]
    fn live_policy_absent_in_spec_is_removed() {
        let mut attributes = matching_live();
        attributes.insert(
            "Policy".into(),
            r#"{"Version":"2012-10-17","Statement":[]}"#.into(),
        );
        assert_eq!(
            changes(&standard(), &attributes),
            vec![AttributeChange {
                name: "Policy".into(),
                before: Some(r#"{"Version":"2012-10-17","Statement":[]}"#.into()),
                after: None
            }]
        );
    }

    #[test]
    fn fifo_defaults_match_absent_values() {
        let mut desired = standard();
        desired.fifo = Some(FifoAttributes::default());
        assert_eq!(changes(&desired, &matching_live()), vec![]);
    }

    #[test]
    fn lowering_retention_warns() {
        let change = AttributeChange {
            name: RETENTION.into(),
            before: Some("1209600".into()),
            after: Some("345600".into()),
        };
        assert_eq!(
            warnings(&[change]),
            vec!["lowering MessageRetentionPeriod from 14d to 4d lets SQS delete messages already in the queue that are older than 4d".to_string()]
        );
    }
}
