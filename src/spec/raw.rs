//! Serde types that mirror the YAML of `queues.yaml` and `environments/<env>.yaml`.
//!
//! Every field is optional here: defaults and overlays are merged first, and `resolve` turns
//! the merged result into the desired model. Unknown keys are collected, not rejected by serde,
//! so that every one of them is reported at once.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::duration::Seconds;
use crate::model::{DeduplicationScope, ThroughputLimit};

/// The top level of `queues.yaml`.
#[derive(Debug, Default, Deserialize)]
#[serde(
    expecting = "a mapping with project, services, dashboard, topics, tags, defaults and queues"
)]
pub struct RawSpec {
    pub project: Option<String>,
    /// Services that produce to and consume from the queues, by name.
    #[serde(default)]
    pub services: indexmap::IndexMap<String, Option<RawService>>,
    /// Whether each environment gets a CloudWatch dashboard of its queues; on by default.
    pub dashboard: Option<bool>,
    /// SNS topics that fan events out to several queues, by name.
    #[serde(default)]
    pub topics: indexmap::IndexMap<String, RawTopic>,
    /// Tags added to every queue.
    #[serde(default, deserialize_with = "tag_map")]
    pub tags: BTreeMap<String, String>,
    /// Settings every queue starts from; a queue's own settings override them.
    pub defaults: Option<serde_yaml::Value>,
    /// Queues by name, kept as YAML until the overlays are merged.
    #[serde(default)]
    pub queues: indexmap::IndexMap<String, serde_yaml::Value>,
}

/// The top level of `environments/<env>.yaml`.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a mapping of environment settings such as region and account_id")]
pub struct RawEnvironment {
    pub region: Option<String>,
    #[serde(default, deserialize_with = "account_id")]
    pub account_id: Option<String>,
    pub name_prefix: Option<String>,
    pub endpoint_url: Option<String>,
    pub role_arn: Option<String>,
    /// Fixed dummy credentials for the local emulator.
    #[serde(default)]
    pub emulator_credentials: bool,
    /// KMS key for `sse-kms` queues that name no key of their own.
    pub kms_key: Option<String>,
    /// The IAM role each service runs as in this environment, by service name.
    #[serde(default)]
    pub services: indexmap::IndexMap<String, String>,
    /// The IAM role that handles dead-letter queues in this environment.
    pub operators_role: Option<String>,
    /// SNS topics that alarms notify in this environment.
    pub alarm_actions: Option<RawAlarmActions>,
    /// Whether this environment gets a dashboard; overrides the spec.
    pub dashboard: Option<bool>,
    #[serde(default, deserialize_with = "tag_map")]
    pub tags: BTreeMap<String, String>,
    pub defaults: Option<serde_yaml::Value>,
    #[serde(default)]
    pub queues: indexmap::IndexMap<String, serde_yaml::Value>,
}

/// One queue after defaults and the environment overlay are merged.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "a mapping of queue settings")]
pub struct RawQueue {
    pub fifo: Option<bool>,
    pub high_throughput: Option<bool>,
    pub content_based_deduplication: Option<bool>,
    pub deduplication_scope: Option<DeduplicationScope>,
    pub throughput_limit: Option<ThroughputLimit>,
    pub delay: Option<Seconds>,
    #[serde(default, deserialize_with = "whole_number")]
    pub max_message_size: Option<i64>,
    pub retention: Option<Seconds>,
    pub receive_wait: Option<Seconds>,
    pub visibility_timeout: Option<Seconds>,
    pub encryption: Option<RawEncryption>,
    pub dead_letter: Option<RawDeadLetter>,
    /// Services that send to the queue.
    pub producers: Option<Vec<String>>,
    /// Services that receive from the queue.
    pub consumers: Option<Vec<String>>,
    /// Whether the access policy denies requests without TLS; on unless set to false.
    pub enforce_tls: Option<bool>,
    /// Access policy statements added after the TLS statement, in IAM JSON form.
    pub grants: Option<Vec<serde_json::Map<String, serde_json::Value>>>,
    /// CloudWatch alarms of the queue.
    pub alarms: Option<RawAlarms>,
    #[serde(default, deserialize_with = "tag_map")]
    pub tags: BTreeMap<String, String>,
}

/// `alarms:` of a queue: the three templates and custom alarms by name.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(expecting = "a mapping with dead_letter_not_empty, depth, oldest_message_age and custom")]
pub struct RawAlarms {
    pub dead_letter_not_empty: Option<RawAlarmSwitch>,
    pub depth: Option<RawThresholdAlarm<f64>>,
    pub oldest_message_age: Option<RawThresholdAlarm<Seconds>>,
    #[serde(default)]
    pub custom: indexmap::IndexMap<String, RawCustomAlarm>,
}

/// A template whose metric is fixed: it can only be turned off or described.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(expecting = "a mapping with enabled and description")]
pub struct RawAlarmSwitch {
    pub enabled: Option<bool>,
    pub description: Option<String>,
}

/// A template with a threshold: a count for `depth`, a duration for `oldest_message_age`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(
    expecting = "a mapping with enabled, threshold, period, evaluation_periods, datapoints_to_alarm, treat_missing_data and description"
)]
pub struct RawThresholdAlarm<T> {
    pub enabled: Option<bool>,
    pub threshold: Option<T>,
    pub period: Option<Seconds>,
    #[serde(default, deserialize_with = "whole_number")]
    pub evaluation_periods: Option<i64>,
    #[serde(default, deserialize_with = "whole_number")]
    pub datapoints_to_alarm: Option<i64>,
    pub treat_missing_data: Option<String>,
    pub description: Option<String>,
}

/// An alarm on any metric.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(expecting = "a mapping that describes a metric alarm")]
pub struct RawCustomAlarm {
    pub namespace: Option<String>,
    pub metric_name: Option<String>,
    #[serde(default)]
    pub dimensions: BTreeMap<String, String>,
    pub statistic: Option<String>,
    pub extended_statistic: Option<String>,
    pub period: Option<Seconds>,
    #[serde(default, deserialize_with = "whole_number")]
    pub evaluation_periods: Option<i64>,
    #[serde(default, deserialize_with = "whole_number")]
    pub datapoints_to_alarm: Option<i64>,
    pub threshold: Option<f64>,
    pub comparison: Option<String>,
    pub treat_missing_data: Option<String>,
    pub description: Option<String>,
}

/// `alarm_actions:` of an environment: SNS topic ARNs per alarm state.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(expecting = "a mapping with alarm, ok and insufficient_data lists of SNS topic ARNs")]
pub struct RawAlarmActions {
    #[serde(default)]
    pub alarm: Vec<String>,
    #[serde(default)]
    pub ok: Vec<String>,
    #[serde(default)]
    pub insufficient_data: Vec<String>,
}

/// One entry under `topics:`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(expecting = "a mapping with publishers, subscribers and content_based_deduplication")]
pub struct RawTopic {
    /// FIFO topics only: deduplicate by a hash of the message body.
    pub content_based_deduplication: Option<bool>,
    /// Services that publish to the topic.
    #[serde(default)]
    pub publishers: Vec<String>,
    /// Queues of the spec that receive every message, by queue name.
    #[serde(default)]
    pub subscribers: indexmap::IndexMap<String, Option<RawSubscription>>,
}

/// The delivery settings of one queue's subscription.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(expecting = "a mapping with raw_message_delivery, filter_policy and filter_policy_scope")]
pub struct RawSubscription {
    /// Deliver the message as published instead of wrapped in SNS's JSON; on by default.
    pub raw_message_delivery: Option<bool>,
    /// An SNS filter policy: only matching messages reach the queue.
    pub filter_policy: Option<serde_json::Value>,
    /// `MessageAttributes` (the default) or `MessageBody`.
    pub filter_policy_scope: Option<String>,
}

/// One entry under `services:`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(expecting = "a mapping with an optional description")]
pub struct RawService {
    pub description: Option<String>,
}

/// `encryption:`; the shorthand `encryption: sse-sqs` is rewritten to `{type: sse-sqs}` before
/// merging.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "none, sse-sqs, sse-kms or a mapping with type, kms_key and data_key_reuse")]
pub struct RawEncryption {
    #[serde(rename = "type")]
    pub kind: Option<EncryptionType>,
    pub kms_key: Option<String>,
    pub data_key_reuse: Option<Seconds>,
}

/// The three encryption choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum EncryptionType {
    #[serde(rename = "none")]
    None,
    #[serde(rename = "sse-sqs")]
    SseSqs,
    #[serde(rename = "sse-kms")]
    SseKms,
}

impl EncryptionType {
    /// Returns the spelling used in the spec.
    pub fn as_str(self) -> &'static str {
        match self {
            EncryptionType::None => "none",
            EncryptionType::SseSqs => "sse-sqs",
            EncryptionType::SseKms => "sse-kms",
        }
    }
}

/// `dead_letter:`; the shorthand `dead_letter: false` is rewritten to `{enabled: false}`.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "false or a mapping with max_receive_count")]
pub struct RawDeadLetter {
    pub enabled: Option<bool>,
    #[serde(default, deserialize_with = "whole_number")]
    pub max_receive_count: Option<i64>,
    /// Another queue of the spec to use instead of a derived `<name>-dlq`.
    pub queue: Option<String>,
    /// Retention of the derived dead-letter queue.
    pub retention: Option<Seconds>,
    /// Visibility timeout of the derived dead-letter queue.
    pub visibility_timeout: Option<Seconds>,
}

/// Reads an account id written as text or, unquoted, as a number. YAML drops leading zeros
/// from numbers, so a number is padded back to 12 digits.
fn account_id<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(
        untagged,
        expecting = "expected a 12-digit account id such as \"123456789012\""
    )]
    enum AccountId {
        Text(String),
        Number(u64),
    }

    Ok(
        Option::<AccountId>::deserialize(deserializer)?.map(|account| match account {
            AccountId::Text(text) => text,
            AccountId::Number(number) => format!("{number:012}"),
        }),
    )
}

/// Reads an optional whole number, with a message that names what is expected.
fn whole_number<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(
        untagged,
        expecting = "expected a whole number, written without quotes or units"
    )]
    enum Number {
        Value(i64),
    }

    Ok(Option::<Number>::deserialize(deserializer)?.map(|Number::Value(value)| value))
}

/// Reads tags whose values may be written unquoted: numbers and booleans become their text,
/// as SQS stores every tag value as a string.
fn tag_map<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(
        untagged,
        expecting = "expected a tag value: text, a number or true or false"
    )]
    enum TagValue {
        Text(String),
        Integer(i64),
        Float(f64),
        Flag(bool),
    }

    let tags = BTreeMap::<String, TagValue>::deserialize(deserializer)?;
    Ok(tags
        .into_iter()
        .map(|(key, value)| {
            let text = match value {
                TagValue::Text(text) => text,
                TagValue::Integer(number) => number.to_string(),
                TagValue::Float(number) => number.to_string(),
                TagValue::Flag(flag) => flag.to_string(),
            };
            (key, text)
        })
        .collect())
}

/// Returns the keys serde accepts for a struct, for "did you mean" hints.
pub fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    serde_aux::serde_introspection::serde_introspect::<T>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn introspects_queue_fields() {
        let fields = fields_of::<RawQueue>();
        assert_eq!(fields.len(), 18);
        assert!(fields.contains(&"visibility_timeout"));
        assert!(fields.contains(&"dead_letter"));
    }

    #[test]
    fn introspects_renamed_field() {
        assert_eq!(
            fields_of::<RawEncryption>(),
            &["type", "kms_key", "data_key_reuse"]
        );
    }
}
