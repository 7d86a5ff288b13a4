//! The desired state: every queue of one environment fully named, defaulted and addressed.
//!
//! Nothing here is optional in the sense of "leave what is there": an attribute the spec leaves
//! out has the AWS default, and an unset policy is `None`, which means "no policy".

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// Tag keys that mark a queue as owned by sqsform.
pub const TAG_MANAGED: &str = "sqsform:managed";
pub const TAG_PROJECT: &str = "sqsform:project";
pub const TAG_ENVIRONMENT: &str = "sqsform:environment";

/// AWS defaults for queue attributes, as GetQueueAttributes reports them on a new queue.
pub mod defaults {
    pub const DELAY_SECONDS: u64 = 0;
    /// 1 MiB: the SQS maximum and default since August 2025 (it was 256 KiB before).
    pub const MAXIMUM_MESSAGE_SIZE: u64 = 1_048_576;
    pub const MESSAGE_RETENTION_PERIOD: u64 = 345_600;
    pub const RECEIVE_MESSAGE_WAIT_TIME_SECONDS: u64 = 0;
    pub const VISIBILITY_TIMEOUT: u64 = 30;
    pub const KMS_DATA_KEY_REUSE_PERIOD_SECONDS: u64 = 300;
    /// Retention sqsform gives a derived dead-letter queue: the SQS maximum of 14 days.
    pub const DEAD_LETTER_RETENTION_PERIOD: u64 = 1_209_600;
}

/// The desired state of one environment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DesiredState {
    pub project: String,
    pub environment: String,
    /// Prefix of every queue name in this environment, such as `driversklub-prod-`.
    pub prefix: String,
    pub region: String,
    pub account_id: String,
    pub connection: Connection,
    /// Queues in spec order, each source followed by its derived dead-letter queue.
    pub queues: Vec<DesiredQueue>,
    /// IAM path that contains the environment's managed policies, such as `/sqsform/driversklub/prod/`.
    pub iam_path: String,
    /// One managed policy per service (and the operators role) that has grants.
    pub service_policies: Vec<ServicePolicy>,
    /// CloudWatch alarms of the queues, each named with the environment prefix.
    pub alarms: Vec<DesiredAlarm>,
    /// The environment's dashboard, unless turned off.
    pub dashboard: Option<DesiredDashboard>,
    /// SNS topics and their queue subscriptions.
    pub topics: Vec<DesiredTopic>,
}

/// An SNS topic that fans messages out to queues.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DesiredTopic {
    /// Name in the spec, such as `trip-events`.
    pub key: String,
    /// Final name with the environment prefix; FIFO topics end in `.fifo`.
    pub name: String,
    pub arn: String,
    pub fifo: bool,
    pub content_based_deduplication: bool,
    pub tags: BTreeMap<String, String>,
    pub subscriptions: Vec<DesiredSubscription>,
}

/// One queue's subscription to a topic.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DesiredSubscription {
    /// Final name of the subscribed queue.
    pub queue: String,
    pub queue_arn: String,
    pub raw_message_delivery: bool,
    pub filter_policy: Option<serde_json::Value>,
    /// `MessageAttributes` or `MessageBody`; `None` when there is no filter policy.
    pub filter_policy_scope: Option<String>,
}

/// A metric alarm as sqsform manages it: what PutMetricAlarm takes, without the alarm state.
///
/// String fields hold CloudWatch's own values, such as `Average` for `statistic` or
/// `GreaterThanThreshold` for `comparison_operator`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricAlarm {
    pub name: String,
    pub description: Option<String>,
    pub namespace: String,
    pub metric_name: String,
    /// Dimension names to values.
    pub dimensions: BTreeMap<String, String>,
    /// A statistic such as `Sum`; CloudWatch requires either this or `extended_statistic`.
    pub statistic: Option<String>,
    /// A percentile or other extended statistic, such as `p99`.
    pub extended_statistic: Option<String>,
    /// The length of one evaluation period: 10, 20, 30 or a multiple of 60 seconds.
    pub period_seconds: i32,
    pub evaluation_periods: i32,
    /// The M of an "M out of N" alarm; `None` means all `evaluation_periods` must breach.
    pub datapoints_to_alarm: Option<i32>,
    pub threshold: f64,
    pub comparison_operator: String,
    /// `breaching`, `notBreaching`, `ignore` or `missing`; CloudWatch treats `None` as
    /// `missing`.
    pub treat_missing_data: Option<String>,
    /// ARNs notified on the transition to `ALARM`.
    pub alarm_actions: Vec<String>,
    /// ARNs notified on the transition to `OK`.
    pub ok_actions: Vec<String>,
    /// ARNs notified on the transition to `INSUFFICIENT_DATA`.
    pub insufficient_data_actions: Vec<String>,
    pub actions_enabled: bool,
    /// A CloudWatch unit such as `Count`.
    pub unit: Option<String>,
}

/// An alarm sqsform keeps for one queue.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DesiredAlarm {
    /// Final name of the queue the alarm watches.
    pub queue: String,
    /// `dead_letter_not_empty`, `depth`, `oldest_message_age`, or the custom alarm's name.
    pub template: String,
    pub alarm: MetricAlarm,
    pub tags: BTreeMap<String, String>,
}

/// The environment's CloudWatch dashboard.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DesiredDashboard {
    pub name: String,
    pub body: serde_json::Value,
}

/// A managed IAM policy that sqsform keeps attached to one role.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServicePolicy {
    /// Service name from the spec, or `operators` for the operators role.
    pub service: String,
    /// Description of the service, from the spec.
    pub description: Option<String>,
    /// Name of the IAM role the policy is attached to.
    pub role: String,
    /// Policy name, such as `driversklub-prod-trip-service`.
    pub name: String,
    pub arn: String,
    pub document: serde_json::Value,
    pub tags: BTreeMap<String, String>,
}

impl DesiredState {
    /// Returns the queue with this final name.
    pub fn queue(&self, name: &str) -> Option<&DesiredQueue> {
        self.queues.iter().find(|queue| queue.name == name)
    }

    /// Returns the three ownership tags every queue of this environment carries.
    pub fn ownership_tags(&self) -> BTreeMap<String, String> {
        ownership_tags(&self.project, &self.environment)
    }
}

/// Returns the ownership tags for a project and environment.
pub fn ownership_tags(project: &str, environment: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (TAG_MANAGED.to_string(), "true".to_string()),
        (TAG_PROJECT.to_string(), project.to_string()),
        (TAG_ENVIRONMENT.to_string(), environment.to_string()),
    ])
}

/// How to reach AWS for one environment.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Connection {
    /// Endpoint from the environment file; `AWS_ENDPOINT_URL` overrides it.
    pub endpoint_url: Option<String>,
    /// Role to assume on top of the standard credential chain.
    pub role_arn: Option<String>,
    /// Use fixed dummy credentials, allowed only with a loopback endpoint (the local emulator).
    pub emulator_credentials: bool,
}

/// Whether a queue is declared in the spec or derived as another queue's dead-letter queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum QueueRole {
    /// A queue declared under `queues:`.
    Declared,
    /// A dead-letter queue derived from `dead_letter` of the named source queue.
    DeadLetter { source: String },
}

/// One queue as it should exist.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DesiredQueue {
    /// Name in the spec (`trip-events`) or, for a derived dead-letter queue, `trip-events-dlq`.
    pub key: String,
    /// Final name with the environment prefix, such as `driversklub-prod-trip-events`.
    pub name: String,
    pub arn: String,
    pub role: QueueRole,
    /// Whether other queues use this one as their dead-letter queue.
    pub is_dead_letter_target: bool,
    /// Services that send to the queue.
    pub producers: BTreeSet<String>,
    /// Services that receive from the queue.
    pub consumers: BTreeSet<String>,
    pub attributes: QueueAttributes,
    pub tags: BTreeMap<String, String>,
}

/// Every managed attribute of a queue, with defaults filled in.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueAttributes {
    pub delay_seconds: u64,
    pub maximum_message_size: u64,
    pub message_retention_period: u64,
    pub receive_message_wait_time_seconds: u64,
    pub visibility_timeout: u64,
    pub encryption: Encryption,
    /// FIFO settings; `None` for a standard queue.
    pub fifo: Option<FifoAttributes>,
    pub redrive_policy: Option<RedrivePolicy>,
    pub redrive_allow_policy: Option<RedriveAllowPolicy>,
    /// The access policy document; `None` means the queue has no policy.
    pub policy: Option<serde_json::Value>,
}

/// Server-side encryption of a queue: exactly one choice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Encryption {
    None,
    SseSqs,
    SseKms {
        key: String,
        data_key_reuse_seconds: u64,
    },
}

/// Settings that exist only on FIFO queues.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FifoAttributes {
    pub content_based_deduplication: bool,
    pub deduplication_scope: DeduplicationScope,
    pub throughput_limit: ThroughputLimit,
}

impl Default for FifoAttributes {
    fn default() -> Self {
        FifoAttributes {
            content_based_deduplication: false,
            deduplication_scope: DeduplicationScope::Queue,
            throughput_limit: ThroughputLimit::PerQueue,
        }
    }
}

/// `DeduplicationScope` of a FIFO queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum DeduplicationScope {
    #[serde(rename = "messageGroup")]
    MessageGroup,
    #[serde(rename = "queue")]
    Queue,
}

impl DeduplicationScope {
    /// Returns the value SQS uses on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            DeduplicationScope::MessageGroup => "messageGroup",
            DeduplicationScope::Queue => "queue",
        }
    }
}

/// `FifoThroughputLimit` of a FIFO queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum ThroughputLimit {
    #[serde(rename = "perQueue")]
    PerQueue,
    #[serde(rename = "perMessageGroupId")]
    PerMessageGroupId,
}

impl ThroughputLimit {
    /// Returns the value SQS uses on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ThroughputLimit::PerQueue => "perQueue",
            ThroughputLimit::PerMessageGroupId => "perMessageGroupId",
        }
    }
}

/// The `RedrivePolicy` of a source queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RedrivePolicy {
    pub dead_letter_target_arn: String,
    pub max_receive_count: u64,
}

impl RedrivePolicy {
    /// Returns the JSON text SQS expects, with `maxReceiveCount` as a number.
    pub fn to_wire(&self) -> String {
        serde_json::json!({
            "deadLetterTargetArn": self.dead_letter_target_arn,
            "maxReceiveCount": self.max_receive_count,
        })
        .to_string()
    }
}

/// The `RedriveAllowPolicy` of a dead-letter queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "redrive_permission", rename_all = "camelCase")]
pub enum RedriveAllowPolicy {
    AllowAll,
    DenyAll,
    ByQueue { source_queue_arns: BTreeSet<String> },
}

impl RedriveAllowPolicy {
    /// Returns the JSON text SQS expects.
    pub fn to_wire(&self) -> String {
        match self {
            RedriveAllowPolicy::AllowAll => r#"{"redrivePermission":"allowAll"}"#.to_string(),
            RedriveAllowPolicy::DenyAll => r#"{"redrivePermission":"denyAll"}"#.to_string(),
            RedriveAllowPolicy::ByQueue { source_queue_arns } => serde_json::json!({
                "redrivePermission": "byQueue",
                "sourceQueueArns": source_queue_arns,
            })
            .to_string(),
        }
    }
}

/// Returns the ARN partition of a region: `aws-cn` in China, `aws-us-gov` in GovCloud.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Returns the name of an environment's dashboard, such as `driversklub-prod-queues`.
pub fn dashboard_name(prefix: &str) -> String {
    format!("{prefix}queues")
}

/// Returns the ARN of a customer-managed IAM policy; `path` starts and ends with `/`.
pub fn policy_arn(region: &str, account_id: &str, path: &str, name: &str) -> String {
    format!(
        "arn:{}:iam::{account_id}:policy{path}{name}",
        partition(region)
    )
}

/// Returns the ARN of an IAM role.
pub fn role_arn(region: &str, account_id: &str, role: &str) -> String {
    format!("arn:{}:iam::{account_id}:role/{role}", partition(region))
}

/// Returns the ARN of an SNS topic.
pub fn topic_arn(region: &str, account_id: &str, name: &str) -> String {
    format!("arn:{}:sns:{region}:{account_id}:{name}", partition(region))
}

/// Returns the ARN of a queue.
pub fn queue_arn(region: &str, account_id: &str, name: &str) -> String {
    format!("arn:{}:sqs:{region}:{account_id}:{name}", partition(region))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_arn_uses_region_partition() {
        assert_eq!(
            queue_arn("ap-south-1", "123456789012", "driversklub-prod-trip-events"),
            "arn:aws:sqs:ap-south-1:123456789012:driversklub-prod-trip-events"
        );
        assert_eq!(
            queue_arn("cn-north-1", "123456789012", "q"),
            "arn:aws-cn:sqs:cn-north-1:123456789012:q"
        );
    }

    #[test]
    fn redrive_policy_wire_has_numeric_count() {
        let policy = RedrivePolicy {
            dead_letter_target_arn: "arn:aws:sqs:us-east-1:123456789012:a-dlq".into(),
            max_receive_count: 3,
        };
        assert_eq!(
            policy.to_wire(),
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:a-dlq","maxReceiveCount":3}"#
        );
    }

    #[test]
    fn redrive_allow_policy_wire_by_queue() {
        let policy = RedriveAllowPolicy::ByQueue {
            source_queue_arns: BTreeSet::from(["arn:aws:sqs:us-east-1:123456789012:a".to_string()]),
        };
        assert_eq!(
            policy.to_wire(),
            r#"{"redrivePermission":"byQueue","sourceQueueArns":["arn:aws:sqs:us-east-1:123456789012:a"]}"#
        );
    }
}
