//! SNS fan-out: topics, their queue subscriptions and publishers, and the queue policy
//! statements that let each topic deliver.

use std::collections::BTreeMap;

use super::Severity;
use super::positions::YamlPath;
use super::raw::RawSpec;
use super::resolve::{
    Checker, MAX_POLICY_BYTES, MAX_POLICY_STATEMENTS, SPEC_FILE, Settings, suggest,
};
use super::source::Origin;
use crate::model::{self, DesiredQueue, DesiredSubscription, DesiredTopic, Encryption, QueueRole};
use crate::policy::generate;

const FIFO_SUFFIX: &str = ".fifo";
/// SNS topic names: 1 to 256 characters, `.fifo` included.
const MAX_TOPIC_NAME_LENGTH: usize = 256;
const FILTER_POLICY_SCOPES: &[&str] = &["MessageAttributes", "MessageBody"];

/// Checks whether a KMS key is the AWS-managed key for SQS, by alias name or alias ARN.
fn is_aws_managed_sqs_key(key: &str) -> bool {
    key == "alias/aws/sqs" || key.ends_with(":alias/aws/sqs")
}

impl Checker<'_> {
    /// Resolves the topics and adds each subscription's statement to the queue's policy.
    pub(super) fn topics(
        &mut self,
        settings: &Settings,
        spec: &RawSpec,
        queues: &mut [DesiredQueue],
    ) -> Vec<DesiredTopic> {
        let declared: Vec<String> = queues
            .iter()
            .filter(|queue| queue.role == QueueRole::Declared)
            .map(|queue| queue.key.clone())
            .collect();
        let declared_keys: Vec<&str> = declared.iter().map(String::as_str).collect();
        let services: Vec<&str> = spec.services.keys().map(String::as_str).collect();
        let mut tags = model::ownership_tags(&settings.project, &settings.environment);
        tags.extend(spec.tags.clone());

        let mut topics = Vec::new();
        for (key, raw) in &spec.topics {
            let topic_path = YamlPath::keys(["topics", key.as_str()]);
            let fifo = key.ends_with(FIFO_SUFFIX);
            let name = format!("{}{key}", settings.prefix);
            let stem = key.strip_suffix(FIFO_SUFFIX).unwrap_or(key);
            let valid_name = !stem.is_empty()
                && stem.chars().all(|character| {
                    character.is_ascii_alphanumeric() || character == '-' || character == '_'
                })
                && name.chars().count() <= MAX_TOPIC_NAME_LENGTH;
            if !valid_name {
                self.key_error(SPEC_FILE, topic_path.clone(), format!(
                    "invalid topic name \"{name}\": SNS allows 1 to {MAX_TOPIC_NAME_LENGTH} letters, digits, hyphens and underscores, plus a final \".fifo\" on FIFO topics"
                ));
                continue;
            }
            if raw.content_based_deduplication.is_some() && !fifo {
                self.error(SPEC_FILE, topic_path.key("content_based_deduplication"), format!(
                    "content_based_deduplication applies only to FIFO topics, and \"{key}\" is standard: remove it, or end the name in \".fifo\""
                ));
            }
            for (index, publisher) in raw.publishers.iter().enumerate() {
                if !services.contains(&publisher.as_str()) {
                    let path = YamlPath(vec![
                        super::positions::Segment::Key("topics".into()),
                        super::positions::Segment::Key(key.clone()),
                        super::positions::Segment::Key("publishers".into()),
                        super::positions::Segment::Index(index),
                    ]);
                    let message = match suggest(publisher, &services) {
                        Some(suggestion) => format!(
                            "topic \"{key}\" names unknown publisher \"{publisher}\"; did you mean \"{suggestion}\"?"
                        ),
                        None => format!(
                            "topic \"{key}\" names unknown publisher \"{publisher}\": declare it under services:"
                        ),
                    };
                    self.error(SPEC_FILE, path, message);
                }
            }

            let arn = model::topic_arn(&settings.region, &settings.account_id, &name);
            let mut subscriptions = Vec::new();
            for (queue_key, subscription) in &raw.subscribers {
                let path = topic_path.key("subscribers").key(queue_key.clone());
                let Some(queue) = queues
                    .iter_mut()
                    .find(|queue| queue.role == QueueRole::Declared && queue.key == *queue_key)
                else {
                    let message = match suggest(queue_key, &declared_keys) {
                        Some(suggestion) => format!(
                            "topic \"{key}\" subscribes unknown queue \"{queue_key}\"; did you mean \"{suggestion}\"?"
                        ),
                        None => format!(
                            "topic \"{key}\" subscribes unknown queue \"{queue_key}\": it must be a queue declared in this spec"
                        ),
                    };
                    self.key_error(SPEC_FILE, path, message);
                    continue;
                };
                let queue_fifo = queue.attributes.fifo.is_some();
                if queue_fifo != fifo {
                    let kind = |is_fifo: bool| if is_fifo { "FIFO" } else { "standard" };
                    self.key_error(SPEC_FILE, path.clone(), format!(
                        "{} topic \"{key}\" cannot deliver to {} queue \"{queue_key}\": a FIFO topic takes only FIFO queues and a standard topic only standard queues",
                        kind(fifo), kind(queue_fifo)
                    ));
                    continue;
                }
                if let Encryption::SseKms { key: kms_key, .. } = &queue.attributes.encryption
                    && is_aws_managed_sqs_key(kms_key)
                {
                    self.key_error(SPEC_FILE, path.clone(), format!(
                        "queue \"{queue_key}\" is encrypted with the AWS-managed key alias/aws/sqs, whose key policy cannot let SNS encrypt, so topic \"{key}\" could never deliver to it; use encryption: sse-sqs, or a customer-managed key whose policy allows the service principal sns.amazonaws.com kms:GenerateDataKey* and kms:Decrypt"
                    ));
                    continue;
                }

                let subscription = subscription.clone().unwrap_or_default();
                let scope = match (
                    &subscription.filter_policy,
                    &subscription.filter_policy_scope,
                ) {
                    (None, Some(_)) => {
                        self.error(
                            SPEC_FILE,
                            path.key("filter_policy_scope"),
                            "filter_policy_scope needs a filter_policy",
                        );
                        None
                    }
                    (None, None) => None,
                    (Some(_), scope) => {
                        let scope = scope
                            .clone()
                            .unwrap_or_else(|| FILTER_POLICY_SCOPES[0].to_string());
                        if !FILTER_POLICY_SCOPES.contains(&scope.as_str()) {
                            self.error(SPEC_FILE, path.key("filter_policy_scope"), format!("filter_policy_scope must be MessageAttributes or MessageBody, got \"{scope}\""));
                        }
                        Some(scope)
                    }
                };
                if let Some(filter) = &subscription.filter_policy
                    && !is_valid_filter_policy(filter)
                {
                    self.error(SPEC_FILE, path.key("filter_policy"), "filter_policy must be a non-empty mapping of attribute names to lists of accepted values, such as {eventType: [trip.created]}");
                }

                append_topic_statement(queue, &arn, &name);
                subscriptions.push(DesiredSubscription {
                    queue: queue.name.clone(),
                    queue_arn: queue.arn.clone(),
                    raw_message_delivery: subscription.raw_message_delivery.unwrap_or(true),
                    filter_policy: subscription.filter_policy.clone(),
                    filter_policy_scope: scope,
                });
            }

            if raw.subscribers.is_empty() {
                let origin = Origin {
                    file: SPEC_FILE,
                    path: topic_path.clone(),
                };
                self.report(Severity::Warning, &origin, true, format!(
                    "topic \"{key}\" has no subscribers, so SNS drops every message published to it; add a queue under subscribers:, or remove the topic"
                ));
            }

            topics.push(DesiredTopic {
                key: key.clone(),
                name,
                arn,
                fifo,
                content_based_deduplication: raw.content_based_deduplication.unwrap_or(false),
                tags: tags.clone(),
                subscriptions,
            });
        }
        let subscribed: Vec<&str> = topics
            .iter()
            .flat_map(|topic| {
                topic
                    .subscriptions
                    .iter()
                    .map(|subscription| subscription.queue.as_str())
            })
            .collect();
        self.check_composed_policies(queues, &subscribed);
        topics
    }

    /// Checks SQS's policy limits again for the queues that gained topic statements.
    fn check_composed_policies(&mut self, queues: &[DesiredQueue], subscribed: &[&str]) {
        for queue in queues
            .iter()
            .filter(|queue| subscribed.contains(&queue.name.as_str()))
        {
            let Some(policy) = &queue.attributes.policy else {
                continue;
            };
            let bytes = crate::policy::to_compact(policy).len();
            let statements = policy["Statement"].as_array().map_or(0, Vec::len);
            if bytes > MAX_POLICY_BYTES || statements > MAX_POLICY_STATEMENTS {
                self.key_error(SPEC_FILE, YamlPath::keys(["queues", queue.key.as_str()]), format!(
                    "the access policy of \"{}\" with its topic statements would be {bytes} bytes and {statements} statements; SQS allows at most {MAX_POLICY_BYTES} bytes and {MAX_POLICY_STATEMENTS} statements",
                    queue.key
                ));
            }
        }
    }
}

/// Checks the shape SNS requires of a filter policy: a non-empty mapping whose values are
/// non-empty lists of accepted values, or nested mappings of the same shape (which SNS takes
/// for the MessageBody scope).
fn is_valid_filter_policy(filter: &serde_json::Value) -> bool {
    let Some(keys) = filter.as_object() else {
        return false;
    };
    !keys.is_empty()
        && keys.values().all(|value| match value {
            serde_json::Value::Array(accepted) => !accepted.is_empty(),
            nested @ serde_json::Value::Object(_) => is_valid_filter_policy(nested),
            _ => false,
        })
}

/// Adds the statement that lets a topic send to the queue, creating the policy if needed.
fn append_topic_statement(queue: &mut DesiredQueue, topic_arn: &str, topic_name: &str) {
    let statement = generate::topic_statement(&queue.arn, topic_arn, topic_name);
    match &mut queue.attributes.policy {
        Some(policy) => {
            if let Some(statements) = policy["Statement"].as_array_mut() {
                statements.push(statement);
            }
        }
        None => {
            queue.attributes.policy =
                Some(serde_json::json!({ "Version": "2012-10-17", "Statement": [statement] }));
        }
    }
}

/// Returns the topic ARNs each service publishes to.
pub(super) fn publishers(spec: &RawSpec, topics: &[DesiredTopic]) -> BTreeMap<String, Vec<String>> {
    let mut by_service: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for topic in topics {
        let Some(raw) = spec.topics.get(&topic.key) else {
            continue;
        };
        for publisher in &raw.publishers {
            by_service
                .entry(publisher.clone())
                .or_default()
                .push(topic.arn.clone());
        }
    }
    by_service
}

#[cfg(test)]
#[path = "topics_tests.rs"]
mod tests;
