//! Generation of the policy documents sqsform writes: least-privilege IAM policies for the
//! services that produce and consume, and the access policy of each queue.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

/// Actions a producer needs on the queues it sends to.
pub const PRODUCER_ACTIONS: &[&str] = &[
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:SendMessage",
];
/// Actions a consumer needs on the queues it receives from.
pub const CONSUMER_ACTIONS: &[&str] = &[
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
];
/// KMS actions for sending to an SSE-KMS queue: SQS requests a data key from KMS, and Decrypt
/// verifies a data key it reuses.
pub const PRODUCER_KMS_ACTIONS: &[&str] = &["kms:Decrypt", "kms:GenerateDataKey"];
/// KMS actions for receiving from an SSE-KMS queue.
pub const CONSUMER_KMS_ACTIONS: &[&str] = &["kms:Decrypt"];
/// Actions the operators role needs on dead-letter queues: read, delete, purge and move
/// messages back with a message move task.
pub const OPERATOR_DEAD_LETTER_ACTIONS: &[&str] = &[
    "sqs:CancelMessageMoveTask",
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ListDeadLetterSourceQueues",
    "sqs:ListMessageMoveTasks",
    "sqs:PurgeQueue",
    "sqs:ReceiveMessage",
    "sqs:StartMessageMoveTask",
];
/// Actions the operators role needs on source queues to send dead-lettered messages back.
pub const OPERATOR_SOURCE_ACTIONS: &[&str] = &[
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:SendMessage",
];

/// Actions a publisher needs on the topics it publishes to.
pub const PUBLISHER_ACTIONS: &[&str] = &["sns:Publish"];

/// Returns the queue policy statement that lets one SNS topic send to the queue, and nothing
/// else send through SNS: the condition pins the topic's ARN.
pub fn topic_statement(queue_arn: &str, topic_arn: &str, topic_name: &str) -> Value {
    // A Sid takes letters and digits only, so names that differ only in hyphens would collide.
    // A hash of the whole ARN (FNV-1a) keeps them apart.
    let letters: String = topic_name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let hash = topic_arn
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    json!({
        "Sid": format!("AllowTopic{letters}{:08x}", hash as u32),
        "Effect": "Allow",
        "Principal": { "Service": "sns.amazonaws.com" },
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": { "ArnEquals": { "aws:SourceArn": topic_arn } },
    })
}

/// Sid of the statement that denies requests without TLS.
pub const TLS_STATEMENT_SID: &str = "DenyInsecureTransport";

/// The access of one IAM principal: queue and KMS key ARNs by kind of access.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grants {
    pub produce_queues: BTreeSet<String>,
    pub consume_queues: BTreeSet<String>,
    pub produce_keys: BTreeSet<String>,
    pub consume_keys: BTreeSet<String>,
    /// SNS topics the principal publishes to.
    pub publish_topics: BTreeSet<String>,
}

impl Grants {
    pub fn is_empty(&self) -> bool {
        self.produce_queues.is_empty()
            && self.consume_queues.is_empty()
            && self.publish_topics.is_empty()
    }
}

/// The access of the operators role: dead-letter queues, their sources and their keys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OperatorGrants {
    pub dead_letter_queues: BTreeSet<String>,
    pub source_queues: BTreeSet<String>,
    pub dead_letter_keys: BTreeSet<String>,
    pub source_keys: BTreeSet<String>,
}

fn allow(sid: &str, actions: &[&str], resources: &BTreeSet<String>) -> Value {
    json!({
        "Sid": sid,
        "Effect": "Allow",
        "Action": actions,
        "Resource": resources.iter().collect::<Vec<_>>(),
    })
}

fn document(statements: Vec<Value>) -> Value {
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// Returns the IAM policy of a producing and consuming service, or `None` when it has no
/// grants. Every resource is a full ARN.
pub fn service_policy(grants: &Grants) -> Option<Value> {
    if grants.is_empty() {
        return None;
    }
    let mut statements = Vec::new();
    if !grants.produce_queues.is_empty() {
        statements.push(allow(
            "SendToQueues",
            PRODUCER_ACTIONS,
            &grants.produce_queues,
        ));
    }
    if !grants.consume_queues.is_empty() {
        statements.push(allow(
            "ReceiveFromQueues",
            CONSUMER_ACTIONS,
            &grants.consume_queues,
        ));
    }
    if !grants.produce_keys.is_empty() {
        statements.push(allow(
            "EncryptForQueues",
            PRODUCER_KMS_ACTIONS,
            &grants.produce_keys,
        ));
    }
    if !grants.consume_keys.is_empty() {
        statements.push(allow(
            "DecryptFromQueues",
            CONSUMER_KMS_ACTIONS,
            &grants.consume_keys,
        ));
    }
    if !grants.publish_topics.is_empty() {
        statements.push(allow(
            "PublishToTopics",
            PUBLISHER_ACTIONS,
            &grants.publish_topics,
        ));
    }
    Some(document(statements))
}

/// Returns the IAM policy of the operators role, or `None` when there is no dead-letter queue.
pub fn operators_policy(grants: &OperatorGrants) -> Option<Value> {
    if grants.dead_letter_queues.is_empty() {
        return None;
    }
    let mut statements = vec![allow(
        "HandleDeadLetters",
        OPERATOR_DEAD_LETTER_ACTIONS,
        &grants.dead_letter_queues,
    )];
    if !grants.source_queues.is_empty() {
        statements.push(allow(
            "RedriveToSources",
            OPERATOR_SOURCE_ACTIONS,
            &grants.source_queues,
        ));
    }
    if !grants.dead_letter_keys.is_empty() {
        statements.push(allow(
            "DecryptDeadLetters",
            CONSUMER_KMS_ACTIONS,
            &grants.dead_letter_keys,
        ));
    }
    if !grants.source_keys.is_empty() {
        statements.push(allow(
            "EncryptRedrives",
            PRODUCER_KMS_ACTIONS,
            &grants.source_keys,
        ));
    }
    Some(document(statements))
}

/// Returns the statement that denies every request to `queue_arn` made without TLS.
pub fn tls_statement(queue_arn: &str) -> Value {
    json!({
        "Sid": TLS_STATEMENT_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sqs:*",
        "Resource": queue_arn,
        "Condition": { "Bool": { "aws:SecureTransport": "false" } },
    })
}

/// Returns a queue's access policy: the TLS statement when `enforce_tls`, then the declared
/// grants with `Resource` set to the queue where they leave it out. `None` when both are empty.
pub fn queue_policy(
    queue_arn: &str,
    enforce_tls: bool,
    grants: &[Map<String, Value>],
) -> Option<Value> {
    let mut statements = Vec::new();
    if enforce_tls {
        statements.push(tls_statement(queue_arn));
    }
    for grant in grants {
        let mut statement = grant.clone();
        if !statement.contains_key("Resource") && !statement.contains_key("NotResource") {
            statement.insert("Resource".to_string(), Value::from(queue_arn));
        }
        statements.push(Value::Object(statement));
    }
    (!statements.is_empty()).then(|| document(statements))
}

/// Returns the size IAM counts against its 6,144-character limit for managed policies: the
/// characters of the compact JSON, white space excluded.
pub fn iam_policy_size(document: &Value) -> usize {
    document
        .to_string()
        .chars()
        .filter(|character| !character.is_whitespace())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|item| item.to_string()).collect()
    }

    #[test]
    fn producer_and_consumer_policy() {
        let grants = Grants {
            produce_queues: set(&["arn:aws:sqs:ap-south-1:123456789012:p-trip-events"]),
            consume_queues: set(&["arn:aws:sqs:ap-south-1:123456789012:p-payment-events.fifo"]),
            produce_keys: BTreeSet::new(),
            consume_keys: set(&["arn:aws:kms:ap-south-1:123456789012:key/k1"]),
            publish_topics: BTreeSet::new(),
        };

        let expected = json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "SendToQueues",
                    "Effect": "Allow",
                    "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
                    "Resource": ["arn:aws:sqs:ap-south-1:123456789012:p-trip-events"],
                },
                {
                    "Sid": "ReceiveFromQueues",
                    "Effect": "Allow",
                    "Action": [
                        "sqs:ChangeMessageVisibility",
                        "sqs:DeleteMessage",
                        "sqs:GetQueueAttributes",
                        "sqs:GetQueueUrl",
                        "sqs:ReceiveMessage",
                    ],
                    "Resource": ["arn:aws:sqs:ap-south-1:123456789012:p-payment-events.fifo"],
                },
                {
                    "Sid": "DecryptFromQueues",
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt"],
                    "Resource": ["arn:aws:kms:ap-south-1:123456789012:key/k1"],
                },
            ],
        });
        assert_eq!(service_policy(&grants), Some(expected));
    }

    #[test]
    fn service_without_queues_has_no_policy() {
        assert_eq!(service_policy(&Grants::default()), None);
    }

    #[test]
    fn queue_policy_puts_tls_first_and_fills_resource() {
        let grant: Map<String, Value> = serde_json::from_value(json!({
            "Sid": "Partner",
            "Effect": "Allow",
            "Principal": {"AWS": "444455556666"},
            "Action": "sqs:SendMessage",
        }))
        .unwrap();

        let policy = queue_policy("arn:aws:sqs:us-east-1:123456789012:q", true, &[grant]).unwrap();

        assert_eq!(
            policy,
            json!({
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "sqs:*",
                        "Resource": "arn:aws:sqs:us-east-1:123456789012:q",
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                    {
                        "Sid": "Partner",
                        "Effect": "Allow",
                        "Principal": {"AWS": "444455556666"},
                        "Action": "sqs:SendMessage",
                        "Resource": "arn:aws:sqs:us-east-1:123456789012:q",
                    },
                ],
            })
        );
    }

    #[test]
    fn queue_without_tls_or_grants_has_no_policy() {
        assert_eq!(
            queue_policy("arn:aws:sqs:us-east-1:123456789012:q", false, &[]),
            None
        );
    }

    #[test]
    fn iam_size_ignores_whitespace() {
        let document = json!({"Sid": "a b"});
        assert_eq!(document.to_string(), r#"{"Sid":"a b"}"#);
        assert_eq!(iam_policy_size(&document), 12);
    }
}
