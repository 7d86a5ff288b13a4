//! An in-memory [`Cloud`] for unit tests of the engine and for simulations at scale.
//!
//! It follows the SQS behaviour sqsform depends on: GetQueueAttributes fills in defaults, an
//! empty string removes a policy or KMS key, a KMS key turns SSE-SQS off, and CreateQueue of an
//! existing name succeeds only when the given attributes match.
//!
//! It also follows the IAM behaviour sqsform depends on. Managed policies are keyed by ARN,
//! and their names are unique in the account regardless of path and case. A policy has at most
//! five versions `v1`, `v2`, …, one of them the default, and GetPolicyVersion returns documents
//! URL-encoded. Deleting the default version, or a policy that is attached or has other
//! versions, fails with DeleteConflict. Tests add roles with [`MemoryCloud::seed_role`].
//!
//! It also follows the CloudWatch behaviour sqsform depends on. Alarms are keyed by name, and
//! PutMetricAlarm replaces an alarm's whole definition but applies tags only when it creates
//! the alarm. DescribeAlarms returns pages of 100 alarms, one counted call per page.
//! DeleteAlarms ignores names of alarms that do not exist. PutDashboard checks that the body
//! is a JSON object with a `widgets` array.
//!
//! It also follows the SNS behaviour sqsform depends on. Topics are keyed by ARN, and
//! GetTopicAttributes fills in SNS's defaults. A FIFO topic needs a name ending in `.fifo` and
//! `FifoTopic=true`, and a standard topic cannot have that ending. CreateTopic and Subscribe
//! return the existing ARN for equal attributes and fail for other ones. Subscriptions report
//! `RawMessageDelivery=false` by default, and `FilterPolicyScope=MessageAttributes` when they
//! have a filter policy without a scope. ListSubscriptionsByTopic returns pages of 100, one
//! counted call per page. Publish checks the FIFO rules and records the message, but delivers
//! it nowhere.
//!
//! Failures can be injected per operation. It never replaces the emulator in integration tests.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Mutex;

use super::{
    ApiCalls, Attributes, CallCounter, Cloud, CloudError, LiveAlarm, ManagedPolicy, MetricAlarm,
    PolicyVersion, Tags, TopicSubscription, queue_name_from_url,
};
use crate::model::defaults;

const ENDPOINT: &str = "https://sqs.memory.invalid";
/// The region in the ARNs the fake returns.
const REGION: &str = "us-east-1";
/// The page size of DescribeAlarms (its largest MaxRecords).
const ALARM_PAGE_SIZE: usize = 100;
/// The maximum number of alarm names in one DeleteAlarms request.
const DELETE_ALARMS_BATCH: usize = 100;
/// The maximum number of tags of one CloudWatch alarm.
const MAX_ALARM_TAGS: usize = 50;
/// The maximum length of an alarm or dashboard name.
const MAX_CLOUDWATCH_NAME_LENGTH: usize = 255;
/// The maximum number of widgets of one dashboard.
const MAX_DASHBOARD_WIDGETS: usize = 500;
/// The maximum total evaluation time of an alarm, `period × evaluation periods`: seven days.
const MAX_EVALUATION_SECONDS: i64 = 604_800;
/// The maximum total evaluation time of an alarm whose period is under one hour: one day.
const MAX_SHORT_PERIOD_EVALUATION_SECONDS: i64 = 86_400;
/// The page size of ListSubscriptionsByTopic, which has no parameter to change it.
const SUBSCRIPTION_PAGE_SIZE: usize = 100;
/// The maximum length of a topic name, the `.fifo` suffix included.
const MAX_TOPIC_NAME_LENGTH: usize = 256;
/// The maximum number of tags of one SNS topic.
const MAX_TOPIC_TAGS: usize = 50;
/// The maximum length of an SNS tag key.
const MAX_TAG_KEY_LENGTH: usize = 128;
/// The maximum length of an SNS tag value.
const MAX_TAG_VALUE_LENGTH: usize = 256;
/// The maximum size of a published message with its attributes, in bytes: 256 KiB.
const MAX_MESSAGE_BYTES: usize = 262_144;
/// The maximum length of a MessageGroupId or MessageDeduplicationId.
const MAX_MESSAGE_TOKEN_LENGTH: usize = 128;
/// The maximum number of top-level keys of a filter policy.
const MAX_FILTER_POLICY_KEYS: usize = 5;
/// The topic attributes SetTopicAttributes accepts. CreateTopic also accepts `FifoTopic`.
const SETTABLE_TOPIC_ATTRIBUTES: &[&str] = &[
    "ApplicationFailureFeedbackRoleArn",
    "ApplicationSuccessFeedbackRoleArn",
    "ApplicationSuccessFeedbackSampleRate",
    "ArchivePolicy",
    "ContentBasedDeduplication",
    "DeliveryPolicy",
    "DisplayName",
    "FifoThroughputScope",
    "FirehoseFailureFeedbackRoleArn",
    "FirehoseSuccessFeedbackRoleArn",
    "FirehoseSuccessFeedbackSampleRate",
    "HTTPFailureFeedbackRoleArn",
    "HTTPSuccessFeedbackRoleArn",
    "HTTPSuccessFeedbackSampleRate",
    "KmsMasterKeyId",
    "LambdaFailureFeedbackRoleArn",
    "LambdaSuccessFeedbackRoleArn",
    "LambdaSuccessFeedbackSampleRate",
    "Policy",
    "SQSFailureFeedbackRoleArn",
    "SQSSuccessFeedbackRoleArn",
    "SQSSuccessFeedbackSampleRate",
    "SignatureVersion",
    "TracingConfig",
];
/// The subscription attributes Subscribe and SetSubscriptionAttributes accept.
const SUBSCRIPTION_ATTRIBUTES: &[&str] = &[
    "DeliveryPolicy",
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
    "RedrivePolicy",
    "ReplayPolicy",
    "SubscriptionRoleArn",
];
/// The protocols Subscribe accepts.
const SUBSCRIPTION_PROTOCOLS: &[&str] = &[
    "application",
    "email",
    "email-json",
    "firehose",
    "http",
    "https",
    "lambda",
    "sms",
    "sqs",
];
/// The delivery policy SNS reports as EffectiveDeliveryPolicy for a topic without one.
const DEFAULT_EFFECTIVE_DELIVERY_POLICY: &str = r#"{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3,"numMaxDelayRetries":0,"numNoDelayRetries":0,"numMinDelayRetries":0,"backoffFunction":"linear"},"disableSubscriptionOverrides":false,"defaultRequestPolicy":{"headerContentType":"text/plain; charset=UTF-8"}}}"#;
/// The number of versions IAM keeps of one managed policy.
const MAX_POLICY_VERSIONS: usize = 5;
/// The maximum size of a managed policy document, in characters other than whitespace.
const MAX_POLICY_SIZE: usize = 6_144;
/// The maximum length of an IAM path.
const MAX_PATH_LENGTH: usize = 512;
/// The creation time of the first policy version. Each later version is one second newer, so
/// the oldest version is never ambiguous.
const FIRST_VERSION_EPOCH_SECONDS: i64 = 1_700_000_000;

/// A failure to return from the next call of one operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InjectedFailure {
    QueueDeletedRecently,
    Throttled,
    /// IAM's MalformedPolicyDocument error.
    MalformedPolicy,
    /// The rejection AWS gives a policy that names a principal created moments ago, which IAM
    /// has not propagated yet.
    UnknownPrincipal,
}

#[derive(Clone, Debug)]
struct StoredPolicyVersion {
    document: String,
    created_epoch_seconds: i64,
}

#[derive(Clone, Debug)]
struct StoredPolicy {
    name: String,
    path: String,
    tags: Tags,
    /// Versions by number: `v3` is stored under 3.
    versions: BTreeMap<u32, StoredPolicyVersion>,
    default_version: u32,
    /// IAM never reuses a version number, even after its version is deleted.
    next_version: u32,
    attached_roles: BTreeSet<String>,
    /// Users and groups attached out of band; sqsform attaches only roles.
    attached_users: BTreeSet<String>,
    attached_groups: BTreeSet<String>,
}

/// The IAM part of the fake's state.
#[derive(Debug, Default)]
struct IamState {
    /// Managed policies by ARN.
    policies: BTreeMap<String, StoredPolicy>,
    roles: BTreeSet<String>,
    /// Versions created so far, which sets the creation time of the next one.
    versions_created: i64,
}

#[derive(Clone, Debug)]
struct StoredAlarm {
    definition: MetricAlarm,
    tags: Tags,
}

/// The CloudWatch part of the fake's state.
#[derive(Debug, Default)]
struct CloudWatchState {
    /// Metric alarms by name.
    alarms: BTreeMap<String, StoredAlarm>,
    /// Dashboard bodies by name, as PutDashboard received them.
    dashboards: BTreeMap<String, String>,
}

#[derive(Clone, Debug)]
struct StoredTopic {
    fifo: bool,
    /// Attributes set by CreateTopic or SetTopicAttributes, without `FifoTopic`.
    attributes: Attributes,
    tags: Tags,
}

#[derive(Clone, Debug)]
struct StoredSubscription {
    topic_arn: String,
    protocol: String,
    endpoint: String,
    /// Attributes set by Subscribe or SetSubscriptionAttributes.
    attributes: Attributes,
}

/// A message that Publish accepted, for assertions. The fake delivers it nowhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedMessage {
    pub message_id: String,
    pub topic_arn: String,
    pub message: String,
    pub message_attributes: BTreeMap<String, String>,
    pub group_id: Option<String>,
    pub deduplication_id: Option<String>,
}

/// The SNS part of the fake's state.
#[derive(Debug, Default)]
struct SnsState {
    /// Topics by ARN.
    topics: BTreeMap<String, StoredTopic>,
    /// Subscriptions by ARN. The ARNs of one topic sort in the order they were created.
    subscriptions: BTreeMap<String, StoredSubscription>,
    /// Subscriptions created so far, which sets the id in the next subscription ARN.
    subscriptions_created: u64,
    /// Messages accepted by Publish, in order.
    published: Vec<PublishedMessage>,
}

#[derive(Clone, Debug, Default)]
struct StoredQueue {
    attributes: Attributes,
    tags: Tags,
}

/// The fake's state.
#[derive(Debug)]
pub struct MemoryCloud {
    account_id: String,
    queues: Mutex<BTreeMap<String, StoredQueue>>,
    iam: Mutex<IamState>,
    cloudwatch: Mutex<CloudWatchState>,
    sns: Mutex<SnsState>,
    failures: Mutex<BTreeMap<&'static str, VecDeque<InjectedFailure>>>,
    calls: CallCounter,
}

impl MemoryCloud {
    /// Creates an empty account.
    pub fn new(account_id: &str) -> MemoryCloud {
        MemoryCloud {
            account_id: account_id.to_string(),
            queues: Mutex::new(BTreeMap::new()),
            iam: Mutex::new(IamState::default()),
            cloudwatch: Mutex::new(CloudWatchState::default()),
            sns: Mutex::new(SnsState::default()),
            failures: Mutex::new(BTreeMap::new()),
            calls: CallCounter::default(),
        }
    }

    /// Makes the next `times` calls of `operation` (such as `CreateQueue` or
    /// `CreatePolicyVersion`) fail with `failure`. An operation that two services share, such
    /// as `TagResource` of CloudWatch and SNS, can be named with its service, as in
    /// `sns:TagResource`, to fail only that service's calls.
    pub fn inject(&self, operation: &'static str, failure: InjectedFailure, times: usize) {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        failures
            .entry(operation)
            .or_default()
            .extend(std::iter::repeat_n(failure, times));
    }

    /// Returns the URL the fake gives a queue.
    pub fn url_of(&self, name: &str) -> String {
        format!("{ENDPOINT}/{}/{name}", self.account_id)
    }

    /// Returns the stored (non-default) attributes of a queue, for assertions.
    pub fn stored_attributes(&self, name: &str) -> Option<Attributes> {
        self.lock().get(name).map(|queue| queue.attributes.clone())
    }

    /// Sets attributes out of band, without counting a call.
    pub fn write_attributes(&self, name: &str, attributes: &Attributes) {
        if let Some(queue) = self.lock().get_mut(name) {
            apply_attributes(&mut queue.attributes, attributes);
        }
    }

    /// Sets tags out of band, without counting a call.
    pub fn write_tags(&self, name: &str, tags: &Tags) {
        if let Some(queue) = self.lock().get_mut(name) {
            queue.tags.extend(tags.clone());
        }
    }

    /// Adds a queue with messages out of band, without counting a call.
    pub fn seed_queue(&self, name: &str, attributes: &Attributes, tags: &Tags) {
        let mut stored = StoredQueue::default();
        apply_attributes(&mut stored.attributes, attributes);
        stored.tags = tags.clone();
        self.lock().insert(name.to_string(), stored);
    }

    /// Adds an IAM role out of band, without counting a call.
    pub fn seed_role(&self, name: &str) {
        self.lock_iam().roles.insert(name.to_string());
    }

    /// Returns the tags a managed policy was created with, for assertions.
    pub fn stored_policy_tags(&self, policy_arn: &str) -> Option<Tags> {
        self.lock_iam()
            .policies
            .get(policy_arn)
            .map(|policy| policy.tags.clone())
    }

    /// Returns the ARN the fake gives an alarm.
    pub fn alarm_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:cloudwatch:{REGION}:{}:alarm:{name}",
            self.account_id
        )
    }

    /// Adds or replaces an alarm with its tags out of band, without counting a call.
    pub fn seed_alarm(&self, alarm: &MetricAlarm, tags: &Tags) {
        let stored = StoredAlarm {
            definition: alarm.clone(),
            tags: tags.clone(),
        };
        self.lock_cloudwatch()
            .alarms
            .insert(alarm.name.clone(), stored);
    }

    /// Returns the stored definition of an alarm, for assertions.
    pub fn stored_alarm(&self, name: &str) -> Option<MetricAlarm> {
        self.lock_cloudwatch()
            .alarms
            .get(name)
            .map(|alarm| alarm.definition.clone())
    }

    /// Returns the ARN the fake gives a topic.
    pub fn topic_arn(&self, name: &str) -> String {
        format!("arn:aws:sns:{REGION}:{}:{name}", self.account_id)
    }

    /// Returns the messages Publish accepted for a topic, oldest first, for assertions.
    pub fn published_messages(&self, topic_arn: &str) -> Vec<PublishedMessage> {
        self.lock_sns()
            .published
            .iter()
            .filter(|message| message.topic_arn == topic_arn)
            .cloned()
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, StoredQueue>> {
        self.queues
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_iam(&self) -> std::sync::MutexGuard<'_, IamState> {
        self.iam
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_cloudwatch(&self) -> std::sync::MutexGuard<'_, CloudWatchState> {
        self.cloudwatch
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_sns(&self) -> std::sync::MutexGuard<'_, SnsState> {
        self.sns
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Returns the name of the alarm an ARN of this account and region names, if it names one.
    fn alarm_name_of_arn<'a>(&self, alarm_arn: &'a str) -> Option<&'a str> {
        let prefix = self.alarm_arn("");
        alarm_arn
            .strip_prefix(prefix.as_str())
            .filter(|name| !name.is_empty())
    }

    /// Counts an SQS call and returns the injected failure for it, if any.
    fn begin(&self, operation: &'static str) -> Result<(), InjectedFailure> {
        self.begin_call("sqs", operation)
    }

    /// Counts an IAM call, `operation` being `iam:<Operation>`, and returns the injected
    /// failure for it as a [`CloudError`], if any. `name` is the policy or role that an
    /// injected error names.
    fn begin_iam(&self, operation: &'static str, name: &str) -> Result<(), CloudError> {
        let bare_operation = operation.strip_prefix("iam:").unwrap_or(operation);
        self.begin_call("iam", bare_operation)
            .map_err(|failure| Self::fail(operation, failure, name))
    }

    /// Counts a CloudWatch call, `operation` being `cloudwatch:<Operation>`, and returns the
    /// injected failure for it as a [`CloudError`], if any. `name` is the alarm or dashboard
    /// that an injected error names.
    fn begin_cloudwatch(&self, operation: &'static str, name: &str) -> Result<(), CloudError> {
        let bare_operation = operation.strip_prefix("cloudwatch:").unwrap_or(operation);
        self.begin_call("cloudwatch", bare_operation)
            .map_err(|failure| Self::fail(operation, failure, name))
    }

    /// Counts an SNS call, `operation` being `sns:<Operation>`, and returns the injected
    /// failure for it as a [`CloudError`], if any. `name` is the topic or subscription that an
    /// injected error names.
    fn begin_sns(&self, operation: &'static str, name: &str) -> Result<(), CloudError> {
        let bare_operation = operation.strip_prefix("sns:").unwrap_or(operation);
        self.begin_call("sns", bare_operation)
            .map_err(|failure| Self::fail(operation, failure, name))
    }

    /// Returns the attributes GetTopicAttributes reports for a topic: stored values over SNS's
    /// defaults.
    ///
    /// Every subscription in the fake is confirmed, so `SubscriptionsConfirmed` counts all of
    /// the topic's subscriptions, and `SubscriptionsPending` and `SubscriptionsDeleted` are 0.
    fn reported_topic_attributes(
        &self,
        state: &SnsState,
        topic_arn: &str,
        topic: &StoredTopic,
    ) -> Attributes {
        let confirmed = state
            .subscriptions
            .values()
            .filter(|subscription| subscription.topic_arn == topic_arn)
            .count();
        let mut reported = Attributes::from([
            ("Owner".to_string(), self.account_id.clone()),
            (
                "Policy".to_string(),
                default_topic_policy(topic_arn, &self.account_id),
            ),
            ("TopicArn".to_string(), topic_arn.to_string()),
            ("DisplayName".to_string(), String::new()),
            ("SubscriptionsPending".to_string(), "0".to_string()),
            ("SubscriptionsConfirmed".to_string(), confirmed.to_string()),
            ("SubscriptionsDeleted".to_string(), "0".to_string()),
            // NOTE: SNS derives EffectiveDeliveryPolicy from a topic's DeliveryPolicy and its
            // defaults. The fake always reports the defaults, because the merge rules are not
            // documented.
            (
                "EffectiveDeliveryPolicy".to_string(),
                DEFAULT_EFFECTIVE_DELIVERY_POLICY.to_string(),
            ),
        ]);
        if topic.fifo {
            reported.insert("FifoTopic".to_string(), "true".to_string());
            reported.insert("ContentBasedDeduplication".to_string(), "false".to_string());
        }
        reported.extend(topic.attributes.clone());
        reported
    }

    /// Returns the attributes GetSubscriptionAttributes reports for a subscription of an SQS
    /// queue or another endpoint of this account: stored values over SNS's defaults.
    /// `FilterPolicyScope` is reported only with a filter policy, and is `MessageAttributes`
    /// unless set.
    fn reported_subscription_attributes(
        &self,
        subscription_arn: &str,
        subscription: &StoredSubscription,
    ) -> Attributes {
        let mut reported = Attributes::from([
            ("Owner".to_string(), self.account_id.clone()),
            ("RawMessageDelivery".to_string(), "false".to_string()),
            ("TopicArn".to_string(), subscription.topic_arn.clone()),
            ("Endpoint".to_string(), subscription.endpoint.clone()),
            ("Protocol".to_string(), subscription.protocol.clone()),
            ("PendingConfirmation".to_string(), "false".to_string()),
            (
                "ConfirmationWasAuthenticated".to_string(),
                "true".to_string(),
            ),
            ("SubscriptionArn".to_string(), subscription_arn.to_string()),
        ]);
        reported.extend(subscription.attributes.clone());
        if reported.contains_key("FilterPolicy") {
            reported
                .entry("FilterPolicyScope".to_string())
                .or_insert_with(|| "MessageAttributes".to_string());
        } else {
            reported.remove("FilterPolicyScope");
        }
        reported
    }

    /// Handles one DeleteAlarms request, which accepts at most 100 names.
    fn delete_alarm_batch(&self, names: &[String]) -> Result<(), CloudError> {
        const OPERATION: &str = "cloudwatch:DeleteAlarms";
        self.begin_cloudwatch(OPERATION, names.first().map_or("", String::as_str))?;

        if names.len() > DELETE_ALARMS_BATCH {
            return Err(cloudwatch_error(
                OPERATION,
                "ValidationError",
                format!(
                    "{} alarm names given, but DeleteAlarms accepts at most {DELETE_ALARMS_BATCH}",
                    names.len()
                ),
            ));
        }
        let mut state = self.lock_cloudwatch();
        for name in names {
            state.alarms.remove(name);
        }
        Ok(())
    }

    fn begin_call(&self, service: &str, operation: &'static str) -> Result<(), InjectedFailure> {
        self.calls.record(service, operation);
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let qualified = format!("{service}:{operation}");
        let failure = match failures.get_mut(qualified.as_str()) {
            Some(queue) if !queue.is_empty() => queue.pop_front(),
            _ => failures.get_mut(operation).and_then(VecDeque::pop_front),
        };
        match failure {
            Some(failure) => Err(failure),
            None => Ok(()),
        }
    }

    fn fail(operation: &'static str, failure: InjectedFailure, name: &str) -> CloudError {
        match failure {
            InjectedFailure::QueueDeletedRecently => CloudError::QueueDeletedRecently {
                queue: name.to_string(),
            },
            InjectedFailure::Throttled => CloudError::Throttled {
                operation,
                source: "injected throttling".into(),
            },
            InjectedFailure::MalformedPolicy => CloudError::MalformedPolicy {
                policy: name.to_string(),
                message: "injected MalformedPolicyDocument".to_string(),
            },
            InjectedFailure::UnknownPrincipal => CloudError::Api {
                operation,
                source: "InvalidAttributeValue: Invalid value for the parameter Policy. Reason: Invalid principal in policy".into(),
            },
        }
    }

    fn policy_arn(&self, path: &str, name: &str) -> String {
        format!("arn:aws:iam::{}:policy{path}{name}", self.account_id)
    }

    fn arn_of(&self, name: &str) -> String {
        format!("arn:aws:sqs:{REGION}:{}:{name}", self.account_id)
    }

    fn with_queue<T>(
        &self,
        url: &str,
        action: impl FnOnce(&mut StoredQueue) -> T,
    ) -> Result<T, CloudError> {
        let name = queue_name_from_url(url);
        let mut queues = self.lock();
        let queue = queues
            .get_mut(name)
            .ok_or_else(|| CloudError::QueueNotFound {
                queue: name.to_string(),
            })?;
        Ok(action(queue))
    }
}

/// Applies SetQueueAttributes semantics: empty values remove, a KMS key turns SSE-SQS off.
fn apply_attributes(stored: &mut Attributes, changes: &Attributes) {
    for (name, value) in changes {
        let removable = matches!(
            name.as_str(),
            "Policy" | "RedrivePolicy" | "RedriveAllowPolicy" | "KmsMasterKeyId"
        );
        if removable && value.is_empty() {
            stored.remove(name);
            if name == "KmsMasterKeyId" {
                stored.remove("KmsDataKeyReusePeriodSeconds");
            }
        } else {
            stored.insert(name.clone(), value.clone());
        }
    }
    if stored
        .get("KmsMasterKeyId")
        .is_some_and(|key| !key.is_empty())
        && !changes.contains_key("SqsManagedSseEnabled")
    {
        stored.insert("SqsManagedSseEnabled".to_string(), "false".to_string());
    }
}

/// Returns the attributes GetQueueAttributes(All) reports: stored values over defaults.
fn reported_attributes(stored: &Attributes, arn: String) -> Attributes {
    let mut reported = Attributes::from([
        ("ApproximateNumberOfMessages".to_string(), "0".to_string()),
        (
            "ApproximateNumberOfMessagesDelayed".to_string(),
            "0".to_string(),
        ),
        (
            "ApproximateNumberOfMessagesNotVisible".to_string(),
            "0".to_string(),
        ),
        (
            "DelaySeconds".to_string(),
            defaults::DELAY_SECONDS.to_string(),
        ),
        (
            "MaximumMessageSize".to_string(),
            defaults::MAXIMUM_MESSAGE_SIZE.to_string(),
        ),
        (
            "MessageRetentionPeriod".to_string(),
            defaults::MESSAGE_RETENTION_PERIOD.to_string(),
        ),
        (
            "ReceiveMessageWaitTimeSeconds".to_string(),
            defaults::RECEIVE_MESSAGE_WAIT_TIME_SECONDS.to_string(),
        ),
        (
            "VisibilityTimeout".to_string(),
            defaults::VISIBILITY_TIMEOUT.to_string(),
        ),
        ("SqsManagedSseEnabled".to_string(), "true".to_string()),
        ("QueueArn".to_string(), arn),
    ]);
    if stored.get("FifoQueue").is_some_and(|value| value == "true") {
        reported.insert("ContentBasedDeduplication".to_string(), "false".to_string());
        reported.insert("DeduplicationScope".to_string(), "queue".to_string());
        reported.insert("FifoThroughputLimit".to_string(), "perQueue".to_string());
    }
    if stored.contains_key("KmsMasterKeyId") {
        reported.insert(
            "KmsDataKeyReusePeriodSeconds".to_string(),
            defaults::KMS_DATA_KEY_REUSE_PERIOD_SECONDS.to_string(),
        );
    }
    reported.extend(stored.clone());
    reported
}

/// Returns a CloudWatch service error with its error code, which the SDK boundary reports as
/// [`CloudError::Api`].
fn cloudwatch_error(operation: &'static str, code: &str, message: String) -> CloudError {
    CloudError::Api {
        operation,
        source: format!("{code}: {message}").into(),
    }
}

/// Checks an alarm against the parameter rules of CloudWatch's PutMetricAlarm reference. The
/// name has 1 to 255 characters and no ASCII control characters. The alarm has either a
/// statistic or an extended statistic, a period of 10, 20, 30 or a multiple of 60 seconds, and
/// at least one evaluation period. Its total evaluation time is within the limits, its
/// TreatMissingData value is known, and it has at most 50 tags.
///
/// NOTE: the reference names the limits but not the error code of each failed check, so the
/// codes here are a best guess. Callers should match on the variant, not the code.
fn validate_alarm(alarm: &MetricAlarm, tags: &Tags) -> Result<(), CloudError> {
    const OPERATION: &str = "cloudwatch:PutMetricAlarm";
    let invalid = |message: String| cloudwatch_error(OPERATION, "InvalidParameterValue", message);

    validate_alarm_name(OPERATION, &alarm.name)?;
    if alarm.statistic.is_some() == alarm.extended_statistic.is_some() {
        return Err(cloudwatch_error(
            OPERATION,
            "InvalidParameterCombination",
            format!(
                "alarm {} must have either a Statistic or an ExtendedStatistic, but not both",
                alarm.name
            ),
        ));
    }
    let period = alarm.period_seconds;
    if !(matches!(period, 10 | 20 | 30) || (period > 0 && period % 60 == 0)) {
        return Err(invalid(format!(
            "invalid Period {period} of alarm {}: expected 10, 20, 30 or a multiple of 60 seconds",
            alarm.name
        )));
    }
    if alarm.evaluation_periods < 1 {
        return Err(invalid(format!(
            "invalid EvaluationPeriods {} of alarm {}: expected at least 1",
            alarm.evaluation_periods, alarm.name
        )));
    }
    let total_seconds = i64::from(period) * i64::from(alarm.evaluation_periods);
    let max_seconds = if period < 3_600 {
        MAX_SHORT_PERIOD_EVALUATION_SECONDS
    } else {
        MAX_EVALUATION_SECONDS
    };
    if total_seconds > max_seconds {
        return Err(invalid(format!(
            "alarm {} evaluates {total_seconds} seconds (Period × EvaluationPeriods), more than the maximum of {max_seconds} for a period of {period} seconds",
            alarm.name
        )));
    }
    let treat_missing_data = alarm.treat_missing_data.as_deref();
    if treat_missing_data
        .is_some_and(|value| !matches!(value, "breaching" | "notBreaching" | "ignore" | "missing"))
    {
        return Err(invalid(format!(
            "invalid TreatMissingData {treat_missing_data:?} of alarm {}: expected breaching, notBreaching, ignore or missing",
            alarm.name
        )));
    }
    if tags.len() > MAX_ALARM_TAGS {
        return Err(too_many_tags(OPERATION, &alarm.name, tags.len()));
    }
    Ok(())
}

/// Checks an alarm name: 1 to 255 characters, no ASCII control characters.
fn validate_alarm_name(operation: &'static str, name: &str) -> Result<(), CloudError> {
    let length = name.chars().count();
    if length == 0
        || length > MAX_CLOUDWATCH_NAME_LENGTH
        || name.chars().any(|character| character.is_ascii_control())
    {
        return Err(cloudwatch_error(
            operation,
            "ValidationError",
            format!(
                "invalid alarm name {name:?}: expected 1 to {MAX_CLOUDWATCH_NAME_LENGTH} characters without ASCII control characters"
            ),
        ));
    }
    Ok(())
}

fn too_many_tags(operation: &'static str, alarm: &str, count: usize) -> CloudError {
    cloudwatch_error(
        operation,
        "LimitExceededException",
        format!("alarm {alarm} would have {count} tags, more than the maximum of {MAX_ALARM_TAGS}"),
    )
}

/// Checks a dashboard as PutDashboard does for the parts sqsform can get wrong. The name has 1
/// to 255 letters, digits, `-` and `_`. The body is a JSON object with a `widgets` array of at
/// most 500 widgets. Returns the validation messages, empty when the dashboard is valid.
fn dashboard_problems(name: &str, body: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let name_valid = !name.is_empty()
        && name.len() <= MAX_CLOUDWATCH_NAME_LENGTH
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_'));
    if !name_valid {
        problems.push(format!(
            "DashboardName: {name:?} is invalid: expected 1 to {MAX_CLOUDWATCH_NAME_LENGTH} characters from A-Z, a-z, 0-9, - and _"
        ));
    }

    match serde_json::from_str::<serde_json::Value>(body) {
        Err(error) => problems.push(format!("DashboardBody: invalid JSON: {error}")),
        Ok(serde_json::Value::Object(object)) => match object.get("widgets") {
            Some(serde_json::Value::Array(widgets)) if widgets.len() > MAX_DASHBOARD_WIDGETS => {
                problems.push(format!(
                    "/widgets: {} widgets, more than the maximum of {MAX_DASHBOARD_WIDGETS}",
                    widgets.len()
                ));
            }
            Some(serde_json::Value::Array(_)) => {}
            Some(_) => problems.push("/widgets: should be an array".to_string()),
            None => problems.push("/widgets: should be present, even if empty".to_string()),
        },
        Ok(_) => problems.push("DashboardBody: should be a JSON object".to_string()),
    }
    problems
}

/// Returns an SNS service error with its error code, which the SDK boundary reports as
/// [`CloudError::Api`].
fn sns_error(operation: &'static str, code: &str, message: String) -> CloudError {
    CloudError::Api {
        operation,
        source: format!("{code}: {message}").into(),
    }
}

/// Returns SNS's InvalidParameter error.
fn invalid_parameter(operation: &'static str, message: String) -> CloudError {
    sns_error(operation, "InvalidParameter", message)
}

/// Returns the access policy SNS gives a new topic: every principal of the owner account may
/// manage, subscribe to and publish to the topic.
fn default_topic_policy(topic_arn: &str, account_id: &str) -> String {
    format!(
        r#"{{"Version":"2008-10-17","Id":"__default_policy_ID","Statement":[{{"Sid":"__default_statement_ID","Effect":"Allow","Principal":{{"AWS":"*"}},"Action":["SNS:GetTopicAttributes","SNS:SetTopicAttributes","SNS:AddPermission","SNS:RemovePermission","SNS:DeleteTopic","SNS:Subscribe","SNS:ListSubscriptionsByTopic","SNS:Publish"],"Resource":"{topic_arn}","Condition":{{"StringEquals":{{"AWS:SourceOwner":"{account_id}"}}}}}}]}}"#
    )
}

/// Returns a UUID-shaped id whose last group is `number`, so ids sort in creation order.
fn sequential_id(number: u64) -> String {
    format!("00000000-0000-4000-8000-{number:012x}")
}

/// Checks a topic name: 1 to 256 characters from A-Z, a-z, 0-9, `-` and `_`, and for a FIFO
/// topic the `.fifo` suffix, which counts towards the 256.
fn validate_topic_name(operation: &'static str, name: &str, fifo: bool) -> Result<(), CloudError> {
    let base = if fifo {
        name.strip_suffix(".fifo")
    } else {
        Some(name)
    };
    let valid = base.is_some_and(|base| {
        !base.is_empty()
            && name.len() <= MAX_TOPIC_NAME_LENGTH
            && base
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_'))
    });
    if valid {
        return Ok(());
    }
    let rule = if fifo {
        "a FIFO topic name must end in .fifo"
    } else {
        "a standard topic name cannot contain '.', so it cannot end in .fifo"
    };
    Err(invalid_parameter(
        operation,
        format!(
            "invalid topic name {name:?}: expected 1 to {MAX_TOPIC_NAME_LENGTH} characters from A-Z, a-z, 0-9, - and _, and {rule}"
        ),
    ))
}

/// Checks that `value` is `true` or `false`.
fn require_boolean(operation: &'static str, name: &str, value: &str) -> Result<(), CloudError> {
    if matches!(value, "true" | "false") {
        Ok(())
    } else {
        Err(invalid_parameter(
            operation,
            format!("invalid value {value:?} of {name}: expected true or false"),
        ))
    }
}

/// Checks that `value` is a JSON object.
fn require_json_object(operation: &'static str, name: &str, value: &str) -> Result<(), CloudError> {
    match serde_json::from_str::<serde_json::Value>(value) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        _ => Err(invalid_parameter(
            operation,
            format!("invalid value of {name}: expected a JSON object"),
        )),
    }
}

/// Checks one attribute of CreateTopic or SetTopicAttributes other than `FifoTopic`: its name,
/// its value where SNS allows only some, and that FIFO-only attributes are set on FIFO topics.
fn validate_topic_attribute(
    operation: &'static str,
    name: &str,
    value: &str,
    fifo: bool,
) -> Result<(), CloudError> {
    if !SETTABLE_TOPIC_ATTRIBUTES.contains(&name) {
        return Err(invalid_parameter(
            operation,
            format!("invalid topic attribute name {name:?}"),
        ));
    }
    let fifo_only = matches!(
        name,
        "ContentBasedDeduplication" | "FifoThroughputScope" | "ArchivePolicy"
    );
    if fifo_only && !fifo {
        return Err(invalid_parameter(
            operation,
            format!("{name} applies only to FIFO topics"),
        ));
    }

    let allowed: &[&str] = match name {
        "ContentBasedDeduplication" => &["true", "false"],
        "FifoThroughputScope" => &["Topic", "MessageGroup"],
        "SignatureVersion" => &["1", "2"],
        "TracingConfig" => &["PassThrough", "Active"],
        "Policy" | "DeliveryPolicy" | "ArchivePolicy" => {
            return require_json_object(operation, name, value);
        }
        _ => return Ok(()),
    };
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(invalid_parameter(
            operation,
            format!(
                "invalid value {value:?} of {name}: expected one of {}",
                allowed.join(", ")
            ),
        ))
    }
}

/// Checks tags of a topic: at most 50, keys of 1 to 128 characters that do not start with the
/// reserved `aws:` prefix, values of at most 256 characters.
fn validate_topic_tags(
    operation: &'static str,
    topic: &str,
    tags: &Tags,
) -> Result<(), CloudError> {
    if tags.len() > MAX_TOPIC_TAGS {
        return Err(sns_error(
            operation,
            "TagLimitExceeded",
            format!(
                "topic {topic} would have {} tags, more than the maximum of {MAX_TOPIC_TAGS}",
                tags.len()
            ),
        ));
    }
    for (key, value) in tags {
        let key_length = key.chars().count();
        if key_length == 0 || key_length > MAX_TAG_KEY_LENGTH || key.starts_with("aws:") {
            return Err(invalid_parameter(
                operation,
                format!(
                    "invalid tag key {key:?}: expected 1 to {MAX_TAG_KEY_LENGTH} characters without the reserved prefix aws:"
                ),
            ));
        }
        if value.chars().count() > MAX_TAG_VALUE_LENGTH {
            return Err(invalid_parameter(
                operation,
                format!(
                    "the value of tag {key:?} is longer than the maximum of {MAX_TAG_VALUE_LENGTH} characters"
                ),
            ));
        }
    }
    Ok(())
}

/// Returns the queue name of an SQS queue ARN, `arn:<partition>:sqs:<region>:<account>:<name>`.
fn queue_name_of_arn(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "sqs", region, account, name]
            if !region.is_empty() && !account.is_empty() && !name.is_empty() =>
        {
            Some(name)
        }
        _ => None,
    }
}

/// Checks a filter policy as SNS does for the parts sqsform can get wrong. The policy is a
/// JSON object with 1 to 5 top-level keys. Each value is a non-empty array of conditions, or
/// in the `MessageBody` scope also a nested object, and `$or` contains an array of such objects.
///
/// The fake does not check SNS's limit of 150 value combinations, nor the operators inside a
/// condition.
fn validate_filter_policy(
    operation: &'static str,
    policy: &str,
    scope: &str,
) -> Result<(), CloudError> {
    let invalid =
        |reason: &str| invalid_parameter(operation, format!("invalid FilterPolicy: {reason}"));

    let Ok(serde_json::Value::Object(object)) = serde_json::from_str::<serde_json::Value>(policy)
    else {
        return Err(invalid("expected a JSON object"));
    };
    if object.is_empty() || object.len() > MAX_FILTER_POLICY_KEYS {
        return Err(invalid(&format!(
            "expected 1 to {MAX_FILTER_POLICY_KEYS} keys, found {}",
            object.len()
        )));
    }
    check_filter_rules(&object, scope == "MessageBody").map_err(|reason| invalid(&reason))
}

/// Checks the rules of one level of a filter policy, returning the reason it is invalid.
fn check_filter_rules(
    rules: &serde_json::Map<String, serde_json::Value>,
    nesting_allowed: bool,
) -> Result<(), String> {
    for (key, value) in rules {
        match value {
            serde_json::Value::Array(alternatives) if key == "$or" => {
                for alternative in alternatives {
                    let serde_json::Value::Object(branch) = alternative else {
                        return Err("every element of $or must be an object".to_string());
                    };
                    check_filter_rules(branch, nesting_allowed)?;
                }
            }
            serde_json::Value::Array(conditions) if conditions.is_empty() => {
                return Err(format!("the conditions of {key:?} are an empty array"));
            }
            serde_json::Value::Array(_) => {}
            serde_json::Value::Object(nested) if nesting_allowed => {
                check_filter_rules(nested, nesting_allowed)?;
            }
            serde_json::Value::Object(_) => {
                return Err(format!(
                    "{key:?} is a nested object, which only the MessageBody scope supports"
                ));
            }
            _ => return Err(format!("{key:?} must be an object or an array")),
        }
    }
    Ok(())
}

/// Checks one attribute of Subscribe or SetSubscriptionAttributes. `scope` is the filter
/// policy scope the subscription will have, which decides whether a filter policy may nest.
fn validate_subscription_attribute(
    operation: &'static str,
    protocol: &str,
    name: &str,
    value: &str,
    scope: &str,
) -> Result<(), CloudError> {
    match name {
        "RawMessageDelivery" => {
            require_boolean(operation, name, value)?;
            if !matches!(protocol, "sqs" | "http" | "https" | "firehose") {
                return Err(invalid_parameter(
                    operation,
                    format!("RawMessageDelivery does not apply to the {protocol} protocol"),
                ));
            }
            Ok(())
        }
        "FilterPolicyScope" => {
            if matches!(value, "MessageAttributes" | "MessageBody") {
                Ok(())
            } else {
                Err(invalid_parameter(
                    operation,
                    format!(
                        "invalid value {value:?} of FilterPolicyScope: expected MessageAttributes or MessageBody"
                    ),
                ))
            }
        }
        "FilterPolicy" => validate_filter_policy(operation, value, scope),
        "DeliveryPolicy" | "RedrivePolicy" | "ReplayPolicy" => {
            require_json_object(operation, name, value)
        }
        "SubscriptionRoleArn" => Ok(()),
        _ => Err(invalid_parameter(
            operation,
            format!(
                "invalid subscription attribute name {name:?}: expected one of {}",
                SUBSCRIPTION_ATTRIBUTES.join(", ")
            ),
        )),
    }
}

/// Checks a MessageGroupId or MessageDeduplicationId: 1 to 128 characters from the ASCII
/// letters, digits and punctuation.
fn validate_message_token(
    operation: &'static str,
    name: &str,
    token: &str,
) -> Result<(), CloudError> {
    let valid = !token.is_empty()
        && token.len() <= MAX_MESSAGE_TOKEN_LENGTH
        && token
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte.is_ascii_punctuation());
    if valid {
        Ok(())
    } else {
        Err(invalid_parameter(
            operation,
            format!(
                "invalid {name} {token:?}: expected 1 to {MAX_MESSAGE_TOKEN_LENGTH} ASCII letters, digits or punctuation characters"
            ),
        ))
    }
}

fn topic_not_found(topic_arn: &str) -> CloudError {
    CloudError::TopicNotFound {
        topic: topic_arn.to_string(),
    }
}

fn subscription_not_found(subscription_arn: &str) -> CloudError {
    CloudError::SubscriptionNotFound {
        subscription: subscription_arn.to_string(),
    }
}

/// Checks the protocol and endpoint of a new subscription. A FIFO topic delivers only to SQS
/// queues, and a standard topic cannot deliver to a FIFO queue.
fn validate_subscription_endpoint(
    operation: &'static str,
    fifo_topic: bool,
    protocol: &str,
    endpoint: &str,
) -> Result<(), CloudError> {
    if !SUBSCRIPTION_PROTOCOLS.contains(&protocol) {
        return Err(invalid_parameter(
            operation,
            format!(
                "unsupported protocol {protocol:?}: expected one of {}",
                SUBSCRIPTION_PROTOCOLS.join(", ")
            ),
        ));
    }
    if fifo_topic && protocol != "sqs" {
        return Err(invalid_parameter(
            operation,
            format!("a FIFO topic delivers only to SQS queues, not with the {protocol} protocol"),
        ));
    }
    if protocol != "sqs" {
        return Ok(());
    }

    let Some(queue) = queue_name_of_arn(endpoint) else {
        return Err(invalid_parameter(
            operation,
            format!("invalid SQS endpoint {endpoint:?}: expected a queue ARN"),
        ));
    };
    if !fifo_topic && queue.ends_with(".fifo") {
        return Err(invalid_parameter(
            operation,
            format!("the FIFO queue {queue} cannot subscribe to a standard topic"),
        ));
    }
    Ok(())
}

/// Checks a message and its `String` attributes: a non-empty message, non-empty attribute
/// values, and at most 256 KiB in all, counting the message and each attribute's name, data
/// type and value.
fn validate_message(
    operation: &'static str,
    message: &str,
    message_attributes: &BTreeMap<String, String>,
) -> Result<(), CloudError> {
    if message.is_empty() {
        return Err(invalid_parameter(
            operation,
            "the message is empty".to_string(),
        ));
    }
    if let Some((name, _)) = message_attributes
        .iter()
        .find(|(_, value)| value.is_empty())
    {
        return Err(invalid_parameter(
            operation,
            format!("the message attribute {name:?} has an empty value"),
        ));
    }
    let size = message.len()
        + message_attributes
            .iter()
            .map(|(name, value)| name.len() + "String".len() + value.len())
            .sum::<usize>();
    if size > MAX_MESSAGE_BYTES {
        return Err(invalid_parameter(
            operation,
            format!(
                "the message is {size} bytes with its attributes, more than the maximum of {MAX_MESSAGE_BYTES}"
            ),
        ));
    }
    Ok(())
}

impl IamState {
    fn policy(&self, policy_arn: &str) -> Result<&StoredPolicy, CloudError> {
        self.policies
            .get(policy_arn)
            .ok_or_else(|| policy_not_found(policy_arn))
    }

    fn policy_mut(&mut self, policy_arn: &str) -> Result<&mut StoredPolicy, CloudError> {
        self.policies
            .get_mut(policy_arn)
            .ok_or_else(|| policy_not_found(policy_arn))
    }

    fn require_role(&self, role: &str) -> Result<(), CloudError> {
        if self.roles.contains(role) {
            Ok(())
        } else {
            Err(CloudError::IamNotFound {
                kind: "role",
                name: role.to_string(),
            })
        }
    }

    /// Returns a new version of `document`, one second newer than the previous version.
    fn new_version(&mut self, document: &str) -> StoredPolicyVersion {
        let created_epoch_seconds = FIRST_VERSION_EPOCH_SECONDS + self.versions_created;
        self.versions_created += 1;
        StoredPolicyVersion {
            document: document.to_string(),
            created_epoch_seconds,
        }
    }
}

fn policy_not_found(policy_arn: &str) -> CloudError {
    CloudError::IamNotFound {
        kind: "policy",
        name: policy_arn.to_string(),
    }
}

/// Returns IAM's DeleteConflict error, which the SDK boundary reports as [`CloudError::Api`].
fn delete_conflict(operation: &'static str, message: String) -> CloudError {
    CloudError::Api {
        operation,
        source: format!("DeleteConflict: {message}").into(),
    }
}

/// Returns IAM's ValidationError for an invalid request parameter.
fn validation_error(operation: &'static str, message: String) -> CloudError {
    CloudError::Api {
        operation,
        source: format!("ValidationError: {message}").into(),
    }
}

/// Checks an IAM path: `/` alone, or ASCII characters from `!` through DEL (0x21 to 0x7F) that
/// start and end with `/`, at most 512 characters.
fn validate_path(operation: &'static str, path: &str) -> Result<(), CloudError> {
    let printable = path.bytes().all(|byte| (0x21..=0x7F).contains(&byte));
    let valid = path == "/"
        || (path.len() >= 2
            && path.len() <= MAX_PATH_LENGTH
            && path.starts_with('/')
            && path.ends_with('/')
            && printable);
    if valid {
        Ok(())
    } else {
        Err(validation_error(
            operation,
            format!(
                "invalid path {path:?}: expected / or ASCII characters from ! through DEL that start and end with /, at most {MAX_PATH_LENGTH} characters"
            ),
        ))
    }
}

/// Checks a managed policy document as IAM does for the parts sqsform can get wrong: JSON
/// object with a `Statement`, no `Principal` or `NotPrincipal` (identity policies have none),
/// and at most 6,144 characters other than whitespace.
fn validate_document(policy: &str, document: &str) -> Result<(), CloudError> {
    let malformed = |message: &str| CloudError::MalformedPolicy {
        policy: policy.to_string(),
        message: message.to_string(),
    };

    let size = document
        .chars()
        .filter(|character| !character.is_whitespace())
        .count();
    if size > MAX_POLICY_SIZE {
        return Err(CloudError::IamLimitExceeded {
            policy: policy.to_string(),
            message: format!("Cannot exceed quota for PolicySize: {MAX_POLICY_SIZE}"),
        });
    }

    let Ok(serde_json::Value::Object(object)) = serde_json::from_str(document) else {
        return Err(malformed("Syntax errors in policy."));
    };
    let statements = match object.get("Statement") {
        Some(serde_json::Value::Array(statements)) => statements.iter().collect::<Vec<_>>(),
        Some(statement @ serde_json::Value::Object(_)) => vec![statement],
        _ => return Err(malformed("Syntax errors in policy.")),
    };
    let names_principal = statements.iter().any(|statement| {
        statement.get("Principal").is_some() || statement.get("NotPrincipal").is_some()
    });
    if names_principal {
        return Err(malformed("Policy document should not specify a principal."));
    }
    Ok(())
}

/// Percent-encodes every byte outside the URL-safe set, as IAM encodes the documents it
/// returns.
fn url_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

fn version_id(number: u32) -> String {
    format!("v{number}")
}

/// Returns the number of a version id such as `v3`.
fn version_number(version_id: &str) -> Option<u32> {
    version_id.strip_prefix('v')?.parse().ok()
}

impl Cloud for MemoryCloud {
    async fn caller_account(&self) -> Result<String, CloudError> {
        self.calls.record("sts", "GetCallerIdentity");
        Ok(self.account_id.clone())
    }

    async fn list_queues(&self, prefix: &str) -> Result<Vec<String>, CloudError> {
        if let Err(failure) = self.begin("ListQueues") {
            return Err(Self::fail("sqs:ListQueues", failure, prefix));
        }
        let names: Vec<String> = self
            .lock()
            .keys()
            .filter(|name| name.starts_with(prefix))
            .cloned()
            .collect();
        Ok(names.iter().map(|name| self.url_of(name)).collect())
    }

    async fn get_queue_attributes(&self, url: &str) -> Result<Attributes, CloudError> {
        if let Err(failure) = self.begin("GetQueueAttributes") {
            return Err(Self::fail("sqs:GetQueueAttributes", failure, url));
        }
        let arn = self.arn_of(queue_name_from_url(url));
        self.with_queue(url, |queue| reported_attributes(&queue.attributes, arn))
    }

    async fn list_queue_tags(&self, url: &str) -> Result<Tags, CloudError> {
        if let Err(failure) = self.begin("ListQueueTags") {
            return Err(Self::fail("sqs:ListQueueTags", failure, url));
        }
        self.with_queue(url, |queue| queue.tags.clone())
    }

    async fn create_queue(
        &self,
        name: &str,
        attributes: &Attributes,
        tags: &Tags,
    ) -> Result<String, CloudError> {
        if let Err(failure) = self.begin("CreateQueue") {
            return Err(Self::fail("sqs:CreateQueue", failure, name));
        }
        let arn = self.arn_of(name);
        let mut queues = self.lock();
        if let Some(existing) = queues.get(name) {
            let reported = reported_attributes(&existing.attributes, arn);
            let matches = attributes
                .iter()
                .all(|(key, value)| reported.get(key) == Some(value));
            if !matches {
                return Err(CloudError::QueueAlreadyExists {
                    queue: name.to_string(),
                });
            }
            return Ok(self.url_of(name));
        }
        let mut stored = StoredQueue::default();
        apply_attributes(&mut stored.attributes, attributes);
        stored.tags = tags.clone();
        queues.insert(name.to_string(), stored);
        Ok(self.url_of(name))
    }

    async fn set_queue_attributes(
        &self,
        url: &str,
        attributes: &Attributes,
    ) -> Result<(), CloudError> {
        if let Err(failure) = self.begin("SetQueueAttributes") {
            return Err(Self::fail("sqs:SetQueueAttributes", failure, url));
        }
        self.with_queue(url, |queue| {
            apply_attributes(&mut queue.attributes, attributes)
        })
    }

    async fn tag_queue(&self, url: &str, tags: &Tags) -> Result<(), CloudError> {
        if let Err(failure) = self.begin("TagQueue") {
            return Err(Self::fail("sqs:TagQueue", failure, url));
        }
        self.with_queue(url, |queue| queue.tags.extend(tags.clone()))
    }

    async fn untag_queue(&self, url: &str, keys: &[String]) -> Result<(), CloudError> {
        if let Err(failure) = self.begin("UntagQueue") {
            return Err(Self::fail("sqs:UntagQueue", failure, url));
        }
        self.with_queue(url, |queue| queue.tags.retain(|key, _| !keys.contains(key)))
    }

    async fn delete_queue(&self, url: &str) -> Result<(), CloudError> {
        if let Err(failure) = self.begin("DeleteQueue") {
            return Err(Self::fail("sqs:DeleteQueue", failure, url));
        }
        let name = queue_name_from_url(url);
        match self.lock().remove(name) {
            Some(_) => Ok(()),
            None => Err(CloudError::QueueNotFound {
                queue: name.to_string(),
            }),
        }
    }

    async fn list_policies(&self, path_prefix: &str) -> Result<Vec<ManagedPolicy>, CloudError> {
        self.begin_iam("iam:ListPolicies", path_prefix)?;

        let state = self.lock_iam();
        let policies = state
            .policies
            .iter()
            .filter(|(_, policy)| policy.path.starts_with(path_prefix))
            .map(|(arn, policy)| ManagedPolicy {
                arn: arn.clone(),
                name: policy.name.clone(),
                path: policy.path.clone(),
                default_version_id: version_id(policy.default_version),
            })
            .collect();
        Ok(policies)
    }

    async fn get_policy_document(
        &self,
        policy_arn: &str,
        version_id: &str,
    ) -> Result<String, CloudError> {
        self.begin_iam("iam:GetPolicyVersion", policy_arn)?;

        let state = self.lock_iam();
        let policy = state.policy(policy_arn)?;
        let version = version_number(version_id)
            .and_then(|number| policy.versions.get(&number))
            .ok_or_else(|| CloudError::IamNotFound {
                kind: "policy version",
                name: format!("{version_id} of {policy_arn}"),
            })?;
        Ok(url_encode(&version.document))
    }

    async fn list_policy_principals(
        &self,
        policy_arn: &str,
    ) -> Result<super::PolicyPrincipals, CloudError> {
        self.begin_iam("iam:ListEntitiesForPolicy", policy_arn)?;

        let state = self.lock_iam();
        let policy = state.policy(policy_arn)?;
        Ok(super::PolicyPrincipals {
            roles: policy.attached_roles.iter().cloned().collect(),
            users: policy.attached_users.iter().cloned().collect(),
            groups: policy.attached_groups.iter().cloned().collect(),
        })
    }

    async fn detach_user_policy(&self, user: &str, policy_arn: &str) -> Result<(), CloudError> {
        self.begin_iam("iam:DetachUserPolicy", policy_arn)?;

        let mut state = self.lock_iam();
        let policy = state.policy_mut(policy_arn)?;
        if !policy.attached_users.remove(user) {
            return Err(CloudError::IamNotFound {
                kind: "policy attachment",
                name: format!("{policy_arn} on user {user}"),
            });
        }
        Ok(())
    }

    async fn detach_group_policy(&self, group: &str, policy_arn: &str) -> Result<(), CloudError> {
        self.begin_iam("iam:DetachGroupPolicy", policy_arn)?;

        let mut state = self.lock_iam();
        let policy = state.policy_mut(policy_arn)?;
        if !policy.attached_groups.remove(group) {
            return Err(CloudError::IamNotFound {
                kind: "policy attachment",
                name: format!("{policy_arn} on group {group}"),
            });
        }
        Ok(())
    }

    async fn list_policy_versions(
        &self,
        policy_arn: &str,
    ) -> Result<Vec<PolicyVersion>, CloudError> {
        self.begin_iam("iam:ListPolicyVersions", policy_arn)?;

        let state = self.lock_iam();
        let policy = state.policy(policy_arn)?;
        let versions = policy
            .versions
            .iter()
            .map(|(number, version)| PolicyVersion {
                version_id: version_id(*number),
                is_default: *number == policy.default_version,
                created_epoch_seconds: version.created_epoch_seconds,
            })
            .collect();
        Ok(versions)
    }

    async fn role_exists(&self, role: &str) -> Result<bool, CloudError> {
        self.begin_iam("iam:GetRole", role)?;
        Ok(self.lock_iam().roles.contains(role))
    }

    async fn create_policy(
        &self,
        name: &str,
        path: &str,
        document: &str,
        tags: &Tags,
    ) -> Result<String, CloudError> {
        const OPERATION: &str = "iam:CreatePolicy";
        self.begin_iam(OPERATION, name)?;

        validate_path(OPERATION, path)?;
        validate_document(name, document)?;
        let arn = self.policy_arn(path, name);
        let mut state = self.lock_iam();
        // IAM names are unique in the account, whatever the path, and not case-sensitive.
        let name_in_use = state
            .policies
            .values()
            .any(|policy| policy.name.eq_ignore_ascii_case(name));
        if name_in_use {
            return Err(CloudError::Api {
                operation: OPERATION,
                source: format!(
                    "EntityAlreadyExists: a policy called {name} already exists, and IAM policy names are unique regardless of path and case"
                )
                .into(),
            });
        }

        let first_version = state.new_version(document);
        let policy = StoredPolicy {
            name: name.to_string(),
            path: path.to_string(),
            tags: tags.clone(),
            versions: BTreeMap::from([(1, first_version)]),
            default_version: 1,
            next_version: 2,
            attached_roles: BTreeSet::new(),
            attached_users: BTreeSet::new(),
            attached_groups: BTreeSet::new(),
        };
        state.policies.insert(arn.clone(), policy);
        Ok(arn)
    }

    async fn create_policy_version(
        &self,
        policy_arn: &str,
        document: &str,
    ) -> Result<String, CloudError> {
        self.begin_iam("iam:CreatePolicyVersion", policy_arn)?;

        let mut state = self.lock_iam();
        let version_count = state.policy(policy_arn)?.versions.len();
        validate_document(policy_arn, document)?;
        if version_count >= MAX_POLICY_VERSIONS {
            return Err(CloudError::IamLimitExceeded {
                policy: policy_arn.to_string(),
                message: format!(
                    "A managed policy can have up to {MAX_POLICY_VERSIONS} versions. Before you create a new version, you must delete an existing version."
                ),
            });
        }

        let version = state.new_version(document);
        let policy = state.policy_mut(policy_arn)?;
        let number = policy.next_version;
        policy.next_version += 1;
        policy.versions.insert(number, version);
        policy.default_version = number;
        Ok(version_id(number))
    }

    async fn delete_policy_version(
        &self,
        policy_arn: &str,
        version_id: &str,
    ) -> Result<(), CloudError> {
        const OPERATION: &str = "iam:DeletePolicyVersion";
        self.begin_iam(OPERATION, policy_arn)?;

        let mut state = self.lock_iam();
        let policy = state.policy_mut(policy_arn)?;
        let number = version_number(version_id)
            .filter(|number| policy.versions.contains_key(number))
            .ok_or_else(|| CloudError::IamNotFound {
                kind: "policy version",
                name: format!("{version_id} of {policy_arn}"),
            })?;
        if number == policy.default_version {
            return Err(delete_conflict(
                OPERATION,
                format!(
                    "cannot delete {version_id} of {policy_arn}, because it is the default version"
                ),
            ));
        }

        policy.versions.remove(&number);
        Ok(())
    }

    async fn attach_role_policy(&self, role: &str, policy_arn: &str) -> Result<(), CloudError> {
        self.begin_iam("iam:AttachRolePolicy", policy_arn)?;

        let mut state = self.lock_iam();
        state.require_role(role)?;
        // Attaching a policy that is already attached succeeds and changes nothing, as in IAM.
        state
            .policy_mut(policy_arn)?
            .attached_roles
            .insert(role.to_string());
        Ok(())
    }

    async fn detach_role_policy(&self, role: &str, policy_arn: &str) -> Result<(), CloudError> {
        self.begin_iam("iam:DetachRolePolicy", policy_arn)?;

        let mut state = self.lock_iam();
        state.require_role(role)?;
        let policy = state.policy_mut(policy_arn)?;
        if !policy.attached_roles.remove(role) {
            return Err(CloudError::IamNotFound {
                kind: "policy attachment",
                name: format!("{policy_arn} on role {role}"),
            });
        }
        Ok(())
    }

    async fn delete_policy(&self, policy_arn: &str) -> Result<(), CloudError> {
        const OPERATION: &str = "iam:DeletePolicy";
        self.begin_iam(OPERATION, policy_arn)?;

        let mut state = self.lock_iam();
        let policy = state.policy(policy_arn)?;
        if !policy.attached_roles.is_empty()
            || !policy.attached_users.is_empty()
            || !policy.attached_groups.is_empty()
        {
            let roles: Vec<&str> = policy
                .attached_roles
                .iter()
                .chain(&policy.attached_users)
                .chain(&policy.attached_groups)
                .map(String::as_str)
                .collect();
            return Err(delete_conflict(
                OPERATION,
                format!(
                    "cannot delete {policy_arn}, because it is attached to the roles {}. Detach it first.",
                    roles.join(", ")
                ),
            ));
        }
        let other_versions: Vec<String> = policy
            .versions
            .keys()
            .filter(|number| **number != policy.default_version)
            .map(|number| version_id(*number))
            .collect();
        if !other_versions.is_empty() {
            return Err(delete_conflict(
                OPERATION,
                format!(
                    "cannot delete {policy_arn}, because it has the non-default versions {}. Delete them first. The default version is deleted with the policy.",
                    other_versions.join(", ")
                ),
            ));
        }

        state.policies.remove(policy_arn);
        Ok(())
    }

    async fn describe_alarms(&self, name_prefix: &str) -> Result<Vec<LiveAlarm>, CloudError> {
        let matching: Vec<LiveAlarm> = self
            .lock_cloudwatch()
            .alarms
            .values()
            .filter(|alarm| alarm.definition.name.starts_with(name_prefix))
            .map(|alarm| LiveAlarm {
                arn: self.alarm_arn(&alarm.definition.name),
                alarm: alarm.definition.clone(),
            })
            .collect();

        // One request per page, and one for an empty result.
        let pages = matching.len().div_ceil(ALARM_PAGE_SIZE).max(1);
        for _ in 0..pages {
            self.begin_cloudwatch("cloudwatch:DescribeAlarms", name_prefix)?;
        }
        Ok(matching)
    }

    async fn list_alarm_tags(&self, alarm_arn: &str) -> Result<Tags, CloudError> {
        self.begin_cloudwatch("cloudwatch:ListTagsForResource", alarm_arn)?;

        let state = self.lock_cloudwatch();
        self.alarm_name_of_arn(alarm_arn)
            .and_then(|name| state.alarms.get(name))
            .map(|alarm| alarm.tags.clone())
            .ok_or_else(|| CloudError::AlarmNotFound {
                alarm: alarm_arn.to_string(),
            })
    }

    async fn put_metric_alarm(&self, alarm: &MetricAlarm, tags: &Tags) -> Result<(), CloudError> {
        self.begin_cloudwatch("cloudwatch:PutMetricAlarm", &alarm.name)?;

        validate_alarm(alarm, tags)?;
        let mut state = self.lock_cloudwatch();
        match state.alarms.get_mut(&alarm.name) {
            // CloudWatch ignores the tags of a PutMetricAlarm that updates an alarm.
            Some(existing) => existing.definition = alarm.clone(),
            None => {
                let stored = StoredAlarm {
                    definition: alarm.clone(),
                    tags: tags.clone(),
                };
                state.alarms.insert(alarm.name.clone(), stored);
            }
        }
        Ok(())
    }

    async fn tag_alarm(&self, alarm_arn: &str, tags: &Tags) -> Result<(), CloudError> {
        const OPERATION: &str = "cloudwatch:TagResource";
        if tags.is_empty() {
            return Ok(());
        }
        self.begin_cloudwatch(OPERATION, alarm_arn)?;

        let mut state = self.lock_cloudwatch();
        let not_found = || CloudError::AlarmNotFound {
            alarm: alarm_arn.to_string(),
        };
        let name = self.alarm_name_of_arn(alarm_arn).ok_or_else(not_found)?;
        let alarm = state.alarms.get_mut(name).ok_or_else(not_found)?;
        let mut merged = alarm.tags.clone();
        merged.extend(tags.clone());
        if merged.len() > MAX_ALARM_TAGS {
            return Err(too_many_tags(OPERATION, name, merged.len()));
        }
        alarm.tags = merged;
        Ok(())
    }

    async fn untag_alarm(&self, alarm_arn: &str, keys: &[String]) -> Result<(), CloudError> {
        if keys.is_empty() {
            return Ok(());
        }
        self.begin_cloudwatch("cloudwatch:UntagResource", alarm_arn)?;

        let mut state = self.lock_cloudwatch();
        let not_found = || CloudError::AlarmNotFound {
            alarm: alarm_arn.to_string(),
        };
        let name = self.alarm_name_of_arn(alarm_arn).ok_or_else(not_found)?;
        let alarm = state.alarms.get_mut(name).ok_or_else(not_found)?;
        alarm.tags.retain(|key, _| !keys.contains(key));
        Ok(())
    }

    async fn delete_alarms(&self, names: &[String]) -> Result<(), CloudError> {
        for batch in names.chunks(DELETE_ALARMS_BATCH) {
            self.delete_alarm_batch(batch)?;
        }
        Ok(())
    }

    async fn get_dashboard(&self, name: &str) -> Result<Option<String>, CloudError> {
        self.begin_cloudwatch("cloudwatch:GetDashboard", name)?;
        Ok(self.lock_cloudwatch().dashboards.get(name).cloned())
    }

    async fn put_dashboard(&self, name: &str, body: &str) -> Result<(), CloudError> {
        self.begin_cloudwatch("cloudwatch:PutDashboard", name)?;

        let problems = dashboard_problems(name, body);
        if !problems.is_empty() {
            return Err(CloudError::InvalidDashboard {
                dashboard: name.to_string(),
                messages: problems,
            });
        }
        self.lock_cloudwatch()
            .dashboards
            .insert(name.to_string(), body.to_string());
        Ok(())
    }

    async fn delete_dashboard(&self, name: &str) -> Result<(), CloudError> {
        self.begin_cloudwatch("cloudwatch:DeleteDashboards", name)?;
        self.lock_cloudwatch().dashboards.remove(name);
        Ok(())
    }

    async fn create_topic(
        &self,
        name: &str,
        attributes: &Attributes,
        tags: &Tags,
    ) -> Result<String, CloudError> {
        const OPERATION: &str = "sns:CreateTopic";
        self.begin_sns(OPERATION, name)?;

        let fifo = match attributes.get("FifoTopic").map(String::as_str) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(invalid_parameter(
                    OPERATION,
                    format!("invalid value {other:?} of FifoTopic: expected true or false"),
                ));
            }
        };
        validate_topic_name(OPERATION, name, fifo)?;
        let mut stored_attributes = attributes.clone();
        stored_attributes.remove("FifoTopic");
        for (attribute, value) in &stored_attributes {
            validate_topic_attribute(OPERATION, attribute, value, fifo)?;
        }
        validate_topic_tags(OPERATION, name, tags)?;

        let arn = self.topic_arn(name);
        let mut state = self.lock_sns();
        if let Some(existing) = state.topics.get(&arn) {
            let reported = self.reported_topic_attributes(&state, &arn, existing);
            let same_attributes = attributes.iter().all(|(key, value)| {
                let current = match reported.get(key) {
                    Some(current) => current.as_str(),
                    None if key == "FifoTopic" => "false",
                    None => return false,
                };
                current == value
            });
            if !same_attributes {
                return Err(CloudError::TopicAlreadyExists {
                    topic: name.to_string(),
                    message: "Invalid parameter: Attributes Reason: Topic already exists with different attributes".to_string(),
                });
            }
            // NOTE: this assumes SNS compares only a non-empty tag set, and the whole set. The
            // SNS reference does not state the rule.
            if !tags.is_empty() && *tags != existing.tags {
                return Err(CloudError::TopicAlreadyExists {
                    topic: name.to_string(),
                    message:
                        "Invalid parameter: Tags Reason: Topic already exists with different tags"
                            .to_string(),
                });
            }
            return Ok(arn);
        }

        let topic = StoredTopic {
            fifo,
            attributes: stored_attributes,
            tags: tags.clone(),
        };
        state.topics.insert(arn.clone(), topic);
        Ok(arn)
    }

    async fn get_topic_attributes(
        &self,
        topic_arn: &str,
    ) -> Result<Option<Attributes>, CloudError> {
        self.begin_sns("sns:GetTopicAttributes", topic_arn)?;

        let state = self.lock_sns();
        Ok(state
            .topics
            .get(topic_arn)
            .map(|topic| self.reported_topic_attributes(&state, topic_arn, topic)))
    }

    async fn list_topic_tags(&self, topic_arn: &str) -> Result<Tags, CloudError> {
        self.begin_sns("sns:ListTagsForResource", topic_arn)?;

        self.lock_sns()
            .topics
            .get(topic_arn)
            .map(|topic| topic.tags.clone())
            .ok_or_else(|| topic_not_found(topic_arn))
    }

    async fn set_topic_attribute(
        &self,
        topic_arn: &str,
        name: &str,
        value: &str,
    ) -> Result<(), CloudError> {
        const OPERATION: &str = "sns:SetTopicAttributes";
        self.begin_sns(OPERATION, topic_arn)?;

        let mut state = self.lock_sns();
        let topic = state
            .topics
            .get_mut(topic_arn)
            .ok_or_else(|| topic_not_found(topic_arn))?;
        if name == "FifoTopic" {
            return Err(invalid_parameter(
                OPERATION,
                "FifoTopic cannot change after the topic is created".to_string(),
            ));
        }
        validate_topic_attribute(OPERATION, name, value, topic.fifo)?;

        topic.attributes.insert(name.to_string(), value.to_string());
        Ok(())
    }

    async fn tag_topic(&self, topic_arn: &str, tags: &Tags) -> Result<(), CloudError> {
        const OPERATION: &str = "sns:TagResource";
        if tags.is_empty() {
            return Ok(());
        }
        self.begin_sns(OPERATION, topic_arn)?;

        let mut state = self.lock_sns();
        let topic = state
            .topics
            .get_mut(topic_arn)
            .ok_or_else(|| topic_not_found(topic_arn))?;
        let mut merged = topic.tags.clone();
        merged.extend(tags.clone());
        validate_topic_tags(OPERATION, topic_arn, &merged)?;

        topic.tags = merged;
        Ok(())
    }

    async fn untag_topic(&self, topic_arn: &str, keys: &[String]) -> Result<(), CloudError> {
        if keys.is_empty() {
            return Ok(());
        }
        self.begin_sns("sns:UntagResource", topic_arn)?;

        let mut state = self.lock_sns();
        let topic = state
            .topics
            .get_mut(topic_arn)
            .ok_or_else(|| topic_not_found(topic_arn))?;
        topic.tags.retain(|key, _| !keys.contains(key));
        Ok(())
    }

    async fn list_topics(&self) -> Result<Vec<String>, CloudError> {
        let arns: Vec<String> = self.lock_sns().topics.keys().cloned().collect();
        // One request per page of 100, as SNS pages ListTopics.
        for _ in 0..arns.len().div_ceil(100).max(1) {
            self.begin_sns("sns:ListTopics", "")?;
        }
        Ok(arns)
    }

    async fn delete_topic(&self, topic_arn: &str) -> Result<(), CloudError> {
        self.begin_sns("sns:DeleteTopic", topic_arn)?;

        // Deleting a topic that does not exist succeeds, as in SNS.
        let mut state = self.lock_sns();
        state.topics.remove(topic_arn);
        state
            .subscriptions
            .retain(|_, subscription| subscription.topic_arn != topic_arn);
        Ok(())
    }

    async fn list_subscriptions_by_topic(
        &self,
        topic_arn: &str,
    ) -> Result<Vec<TopicSubscription>, CloudError> {
        const OPERATION: &str = "sns:ListSubscriptionsByTopic";
        let listed: Option<Vec<TopicSubscription>> = {
            let state = self.lock_sns();
            state.topics.contains_key(topic_arn).then(|| {
                state
                    .subscriptions
                    .iter()
                    .filter(|(_, subscription)| subscription.topic_arn == topic_arn)
                    .map(|(arn, subscription)| TopicSubscription {
                        arn: arn.clone(),
                        protocol: subscription.protocol.clone(),
                        endpoint: subscription.endpoint.clone(),
                    })
                    .collect()
            })
        };

        let Some(subscriptions) = listed else {
            self.begin_sns(OPERATION, topic_arn)?;
            return Err(topic_not_found(topic_arn));
        };
        // One request per page, and one for a topic without subscriptions.
        let pages = subscriptions.len().div_ceil(SUBSCRIPTION_PAGE_SIZE).max(1);
        for _ in 0..pages {
            self.begin_sns(OPERATION, topic_arn)?;
        }
        Ok(subscriptions)
    }

    async fn get_subscription_attributes(
        &self,
        subscription_arn: &str,
    ) -> Result<Attributes, CloudError> {
        self.begin_sns("sns:GetSubscriptionAttributes", subscription_arn)?;

        self.lock_sns()
            .subscriptions
            .get(subscription_arn)
            .map(|subscription| {
                self.reported_subscription_attributes(subscription_arn, subscription)
            })
            .ok_or_else(|| subscription_not_found(subscription_arn))
    }

    async fn subscribe(
        &self,
        topic_arn: &str,
        protocol: &str,
        endpoint: &str,
        attributes: &Attributes,
    ) -> Result<String, CloudError> {
        const OPERATION: &str = "sns:Subscribe";
        self.begin_sns(OPERATION, topic_arn)?;

        let mut state = self.lock_sns();
        let topic = state
            .topics
            .get(topic_arn)
            .ok_or_else(|| topic_not_found(topic_arn))?;
        validate_subscription_endpoint(OPERATION, topic.fifo, protocol, endpoint)?;
        let scope = attributes
            .get("FilterPolicyScope")
            .map_or("MessageAttributes", String::as_str);
        for (name, value) in attributes {
            validate_subscription_attribute(OPERATION, protocol, name, value, scope)?;
        }

        let existing = state.subscriptions.iter().find(|(_, subscription)| {
            subscription.topic_arn == topic_arn
                && subscription.protocol == protocol
                && subscription.endpoint == endpoint
        });
        if let Some((arn, subscription)) = existing {
            let reported = self.reported_subscription_attributes(arn, subscription);
            let same_attributes = attributes
                .iter()
                .all(|(key, value)| reported.get(key) == Some(value));
            if !same_attributes {
                return Err(CloudError::SubscriptionAlreadyExists {
                    topic: topic_arn.to_string(),
                    endpoint: endpoint.to_string(),
                });
            }
            return Ok(arn.clone());
        }

        state.subscriptions_created += 1;
        let arn = format!("{topic_arn}:{}", sequential_id(state.subscriptions_created));
        let subscription = StoredSubscription {
            topic_arn: topic_arn.to_string(),
            protocol: protocol.to_string(),
            endpoint: endpoint.to_string(),
            attributes: attributes.clone(),
        };
        state.subscriptions.insert(arn.clone(), subscription);
        Ok(arn)
    }

    async fn set_subscription_attribute(
        &self,
        subscription_arn: &str,
        name: &str,
        value: &str,
    ) -> Result<(), CloudError> {
        const OPERATION: &str = "sns:SetSubscriptionAttributes";
        self.begin_sns(OPERATION, subscription_arn)?;

        let mut state = self.lock_sns();
        let subscription = state
            .subscriptions
            .get_mut(subscription_arn)
            .ok_or_else(|| subscription_not_found(subscription_arn))?;
        let attributes = &mut subscription.attributes;
        // NOTE: SNS users clear a filter policy by setting it to `{}`. The fake also clears it
        // for an empty string, as moto 5.2.5 does, but whether SNS accepts that is unchecked.
        if name == "FilterPolicy" && matches!(value.trim(), "" | "{}") {
            attributes.remove("FilterPolicy");
            return Ok(());
        }
        let scope = match name {
            "FilterPolicyScope" => value,
            _ => attributes
                .get("FilterPolicyScope")
                .map_or("MessageAttributes", String::as_str),
        };
        validate_subscription_attribute(OPERATION, &subscription.protocol, name, value, scope)?;
        // A new scope must also suit the existing filter policy, which SNS validates again.
        if name == "FilterPolicyScope"
            && let Some(policy) = attributes.get("FilterPolicy")
        {
            validate_filter_policy(OPERATION, policy, value)?;
        }

        attributes.insert(name.to_string(), value.to_string());
        Ok(())
    }

    async fn unsubscribe(&self, subscription_arn: &str) -> Result<(), CloudError> {
        self.begin_sns("sns:Unsubscribe", subscription_arn)?;

        // The fake treats a subscription that does not exist as removed, as moto 5.2.5 does.
        // The SNS reference lists NotFound among Unsubscribe's errors without saying when.
        self.lock_sns().subscriptions.remove(subscription_arn);
        Ok(())
    }

    async fn publish(
        &self,
        topic_arn: &str,
        message: &str,
        message_attributes: &BTreeMap<String, String>,
        group_id: Option<&str>,
        deduplication_id: Option<&str>,
    ) -> Result<String, CloudError> {
        const OPERATION: &str = "sns:Publish";
        self.begin_sns(OPERATION, topic_arn)?;

        let mut state = self.lock_sns();
        let topic = state
            .topics
            .get(topic_arn)
            .ok_or_else(|| topic_not_found(topic_arn))?;
        validate_message(OPERATION, message, message_attributes)?;
        if let Some(group_id) = group_id {
            validate_message_token(OPERATION, "MessageGroupId", group_id)?;
        }
        if let Some(deduplication_id) = deduplication_id {
            validate_message_token(OPERATION, "MessageDeduplicationId", deduplication_id)?;
        }
        if topic.fifo {
            if group_id.is_none() {
                return Err(invalid_parameter(
                    OPERATION,
                    format!("MessageGroupId is required for the FIFO topic {topic_arn}"),
                ));
            }
            let content_based = topic
                .attributes
                .get("ContentBasedDeduplication")
                .is_some_and(|value| value == "true");
            if deduplication_id.is_none() && !content_based {
                return Err(invalid_parameter(
                    OPERATION,
                    format!(
                        "the FIFO topic {topic_arn} needs a MessageDeduplicationId, because ContentBasedDeduplication is off"
                    ),
                ));
            }
        } else if deduplication_id.is_some() {
            return Err(invalid_parameter(
                OPERATION,
                format!(
                    "MessageDeduplicationId applies only to FIFO topics, and {topic_arn} is a standard topic"
                ),
            ));
        }

        let message_id = sequential_id(state.published.len() as u64 + 1);
        state.published.push(PublishedMessage {
            message_id: message_id.clone(),
            topic_arn: topic_arn.to_string(),
            message: message.to_string(),
            message_attributes: message_attributes.clone(),
            group_id: group_id.map(str::to_string),
            deduplication_id: deduplication_id.map(str::to_string),
        });
        Ok(message_id)
    }

    fn api_calls(&self) -> ApiCalls {
        self.calls.snapshot()
    }
}

#[cfg(test)]
#[path = "memory_tests.rs"]
mod tests;
