//! The boundary to AWS: the only module that sends requests.
//!
//! [`Cloud`] is the set of calls sqsform makes. [`aws::AwsCloud`] implements it with the AWS
//! SDK, and [`memory::MemoryCloud`] with an in-memory fake for unit tests and simulations.
//! Every implementation counts its requests by operation, because the count is how the cost
//! and speed of a plan are judged.
//!
//! The calls cover SQS queues, IAM managed policies, CloudWatch alarms and dashboards, and SNS
//! topics with their subscriptions.

pub mod aws;
pub mod memory;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;

use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;

/// Attributes of a queue, topic or subscription as SQS and SNS send them: names to string
/// values.
pub type Attributes = BTreeMap<String, String>;
/// Tags of a queue, topic or alarm.
pub type Tags = BTreeMap<String, String>;
/// The error type SDK errors are kept as, so their request ids survive.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors from AWS calls.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    /// The queue does not exist: it was deleted, or never created.
    #[error("queue {queue} does not exist")]
    QueueNotFound { queue: String },
    /// CreateQueue was called within 60 seconds of deleting a queue of the same name.
    #[error(
        "queue {queue} was deleted less than 60 seconds ago, and SQS does not yet allow a new queue with its name"
    )]
    QueueDeletedRecently { queue: String },
    /// CreateQueue found an existing queue with the same name and other attribute values.
    #[error("queue {queue} already exists with different attribute values")]
    QueueAlreadyExists { queue: String },
    /// AWS kept throttling the request after the SDK's retries.
    #[error("{operation} was throttled by AWS after retries")]
    Throttled {
        operation: &'static str,
        #[source]
        source: BoxError,
    },
    /// Any other failed call; the SDK error is the source.
    #[error("{operation} failed")]
    Api {
        operation: &'static str,
        #[source]
        source: BoxError,
    },
    /// A stop was requested before the call was sent, so it was not made.
    #[error("not sent, because a stop was requested")]
    Interrupted,
    /// The connection settings cannot be used.
    #[error("{0}")]
    Configuration(String),
    /// An IAM role or policy does not exist.
    #[error("IAM {kind} {name} does not exist")]
    IamNotFound { kind: &'static str, name: String },
    /// IAM rejected a policy document, for example because it names a principal IAM does not
    /// know yet; `message` is IAM's own text.
    #[error("IAM rejected the policy document of {policy}: {message}")]
    MalformedPolicy { policy: String, message: String },
    /// An IAM quota was reached, such as five versions of one policy.
    #[error("IAM limit reached for {policy}: {message}")]
    IamLimitExceeded { policy: String, message: String },
    /// A CloudWatch alarm named by its ARN does not exist: it was deleted, or never created.
    #[error("CloudWatch alarm {alarm} does not exist")]
    AlarmNotFound { alarm: String },
    /// PutDashboard rejected a dashboard's name or body. `messages` are CloudWatch's
    /// validation messages, each prefixed with the JSON path it names when there is one.
    #[error("CloudWatch rejected dashboard {dashboard}: {}", messages.join("; "))]
    InvalidDashboard {
        dashboard: String,
        messages: Vec<String>,
    },
    /// An SNS topic named by its ARN does not exist: it was deleted, or never created.
    #[error("SNS topic {topic} does not exist")]
    TopicNotFound { topic: String },
    /// CreateTopic found a topic with the same name and other attribute values or tags.
    /// `message` is SNS's own text, which states whether attributes or tags differ.
    #[error("SNS topic {topic} already exists with other settings: {message}")]
    TopicAlreadyExists { topic: String, message: String },
    /// An SNS subscription named by its ARN does not exist: it was unsubscribed, deleted with
    /// its topic, or never created.
    #[error("SNS subscription {subscription} does not exist")]
    SubscriptionNotFound { subscription: String },
    /// Subscribe found a subscription of the same topic, protocol and endpoint with other
    /// attribute values.
    #[error(
        "a subscription of {endpoint} to SNS topic {topic} already exists with other attributes"
    )]
    SubscriptionAlreadyExists { topic: String, endpoint: String },
}

/// The AWS calls sqsform makes.
pub trait Cloud: Send + Sync {
    /// Returns the account id of the caller (STS GetCallerIdentity).
    fn caller_account(&self) -> impl Future<Output = Result<String, CloudError>> + Send;

    /// Returns the URLs of every queue whose name starts with `prefix`, following pagination.
    fn list_queues(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<String>, CloudError>> + Send;

    /// Returns every attribute of a queue (GetQueueAttributes with `All`).
    fn get_queue_attributes(
        &self,
        url: &str,
    ) -> impl Future<Output = Result<Attributes, CloudError>> + Send;

    /// Returns the tags of a queue.
    fn list_queue_tags(&self, url: &str) -> impl Future<Output = Result<Tags, CloudError>> + Send;

    /// Creates a queue with attributes and tags in one call and returns its URL.
    fn create_queue(
        &self,
        name: &str,
        attributes: &Attributes,
        tags: &Tags,
    ) -> impl Future<Output = Result<String, CloudError>> + Send;

    /// Sets the given attributes; an empty string removes a policy or a KMS key.
    fn set_queue_attributes(
        &self,
        url: &str,
        attributes: &Attributes,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// Adds or overwrites tags.
    fn tag_queue(
        &self,
        url: &str,
        tags: &Tags,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// Removes tags by key.
    fn untag_queue(
        &self,
        url: &str,
        keys: &[String],
    ) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// Deletes a queue and its messages.
    fn delete_queue(&self, url: &str) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// Returns the customer-managed IAM policies under `path_prefix`, following pagination
    /// (ListPolicies with scope `Local`, 100 per page).
    fn list_policies(
        &self,
        path_prefix: &str,
    ) -> impl Future<Output = Result<Vec<ManagedPolicy>, CloudError>> + Send;

    /// Returns the document of one policy version as IAM returns it (URL-encoded on AWS).
    fn get_policy_document(
        &self,
        policy_arn: &str,
        version_id: &str,
    ) -> impl Future<Output = Result<String, CloudError>> + Send;

    /// Returns the roles, users and groups a policy is attached to, from one unfiltered
    /// ListEntitiesForPolicy listing.
    fn list_policy_principals(
        &self,
        policy_arn: &str,
    ) -> impl Future<Output = Result<PolicyPrincipals, CloudError>> + Send;

    /// Returns the names of the roles a policy is attached to.
    fn list_policy_roles(
        &self,
        policy_arn: &str,
    ) -> impl Future<Output = Result<Vec<String>, CloudError>> + Send {
        async move { Ok(self.list_policy_principals(policy_arn).await?.roles) }
    }

    /// Detaches a managed policy from an IAM user.
    fn detach_user_policy(
        &self,
        user: &str,
        policy_arn: &str,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// Detaches a managed policy from an IAM group.
    fn detach_group_policy(
        &self,
        group: &str,
        policy_arn: &str,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// Returns every version of a policy.
    fn list_policy_versions(
        &self,
        policy_arn: &str,
    ) -> impl Future<Output = Result<Vec<PolicyVersion>, CloudError>> + Send;

    /// Checks whether an IAM role exists (GetRole).
    fn role_exists(&self, role: &str) -> impl Future<Output = Result<bool, CloudError>> + Send;

    /// Creates a managed policy with tags and returns its ARN.
    fn create_policy(
        &self,
        name: &str,
        path: &str,
        document: &str,
        tags: &Tags,
    ) -> impl Future<Output = Result<String, CloudError>> + Send;

    /// Creates a policy version, makes it the default and returns its id.
    fn create_policy_version(
        &self,
        policy_arn: &str,
        document: &str,
    ) -> impl Future<Output = Result<String, CloudError>> + Send;

    /// Deletes a non-default policy version.
    fn delete_policy_version(
        &self,
        policy_arn: &str,
        version_id: &str,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// Attaches a managed policy to a role.
    fn attach_role_policy(
        &self,
        role: &str,
        policy_arn: &str,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// Detaches a managed policy from a role.
    fn detach_role_policy(
        &self,
        role: &str,
        policy_arn: &str,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// Deletes a managed policy that has no attachments and no non-default versions.
    fn delete_policy(
        &self,
        policy_arn: &str,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// Returns the metric alarms whose names start with `name_prefix`, every alarm when it is
    /// empty, following pagination (DescribeAlarms with `AlarmTypes=[MetricAlarm]`, 100 per
    /// page). Composite alarms are left out.
    fn describe_alarms(
        &self,
        name_prefix: &str,
    ) -> impl Future<Output = Result<Vec<LiveAlarm>, CloudError>> + Send;

    /// Returns the tags of an alarm (ListTagsForResource).
    ///
    /// Errors with [`CloudError::AlarmNotFound`] when no alarm has this ARN.
    fn list_alarm_tags(
        &self,
        alarm_arn: &str,
    ) -> impl Future<Output = Result<Tags, CloudError>> + Send;

    /// Creates an alarm, or replaces the whole definition of the alarm with the same name
    /// (PutMetricAlarm).
    ///
    /// CloudWatch applies `tags` only when it creates the alarm and ignores them on a
    /// replacement, so an existing alarm's tags change only through [`Cloud::tag_alarm`] and
    /// [`Cloud::untag_alarm`].
    fn put_metric_alarm(
        &self,
        alarm: &MetricAlarm,
        tags: &Tags,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// Adds or overwrites tags of an alarm (TagResource). Sends no request when `tags` is
    /// empty.
    ///
    /// Errors with [`CloudError::AlarmNotFound`] when no alarm has this ARN.
    fn tag_alarm(
        &self,
        alarm_arn: &str,
        tags: &Tags,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// Removes tags of an alarm by key (UntagResource). Sends no request when `keys` is empty.
    ///
    /// Errors with [`CloudError::AlarmNotFound`] when no alarm has this ARN.
    fn untag_alarm(
        &self,
        alarm_arn: &str,
        keys: &[String],
    ) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// Deletes alarms by name with DeleteAlarms, one request per 100 names, in order. Names
    /// of alarms that do not exist are ignored, as CloudWatch ignores them. Sends no request
    /// when `names` is empty.
    ///
    /// Errors on the first failed request, after the earlier ones have deleted their alarms.
    fn delete_alarms(
        &self,
        names: &[String],
    ) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// Returns the body of a dashboard, or `None` when no dashboard has this name
    /// (GetDashboard).
    fn get_dashboard(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<String>, CloudError>> + Send;

    /// Creates a dashboard or replaces its body (PutDashboard).
    ///
    /// Errors with [`CloudError::InvalidDashboard`] and CloudWatch's validation messages when
    /// CloudWatch rejects the body.
    fn put_dashboard(
        &self,
        name: &str,
        body: &str,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// Deletes a dashboard (DeleteDashboards with one name). A dashboard that does not exist
    /// is not an error.
    fn delete_dashboard(&self, name: &str) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// Creates an SNS topic with attributes and tags in one call (CreateTopic) and returns its
    /// ARN.
    ///
    /// A FIFO topic needs a name ending in `.fifo` and the attribute `FifoTopic=true`, and a
    /// standard topic cannot have that ending. CreateTopic of an existing name returns the
    /// existing topic's ARN when the attributes and tags match.
    ///
    /// Errors with [`CloudError::TopicAlreadyExists`] when they differ.
    fn create_topic(
        &self,
        name: &str,
        attributes: &Attributes,
        tags: &Tags,
    ) -> impl Future<Output = Result<String, CloudError>> + Send;

    /// Returns every attribute of a topic (GetTopicAttributes), SNS's defaults included, or
    /// `None` when no topic has this ARN.
    fn get_topic_attributes(
        &self,
        topic_arn: &str,
    ) -> impl Future<Output = Result<Option<Attributes>, CloudError>> + Send;

    /// Returns the tags of a topic (ListTagsForResource).
    ///
    /// Errors with [`CloudError::TopicNotFound`] when no topic has this ARN.
    fn list_topic_tags(
        &self,
        topic_arn: &str,
    ) -> impl Future<Output = Result<Tags, CloudError>> + Send;

    /// Sets one attribute of a topic (SetTopicAttributes). `FifoTopic` cannot change after
    /// creation.
    ///
    /// Errors with [`CloudError::TopicNotFound`] when no topic has this ARN.
    fn set_topic_attribute(
        &self,
        topic_arn: &str,
        name: &str,
        value: &str,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// Adds or overwrites tags of a topic (TagResource). Sends no request when `tags` is
    /// empty.
    ///
    /// Errors with [`CloudError::TopicNotFound`] when no topic has this ARN.
    fn tag_topic(
        &self,
        topic_arn: &str,
        tags: &Tags,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// Removes tags of a topic by key (UntagResource). Sends no request when `keys` is empty.
    ///
    /// Errors with [`CloudError::TopicNotFound`] when no topic has this ARN.
    fn untag_topic(
        &self,
        topic_arn: &str,
        keys: &[String],
    ) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// Returns the ARN of every topic in the account and region, following NextToken with one
    /// request per page of up to 100 topics (ListTopics).
    fn list_topics(&self) -> impl Future<Output = Result<Vec<String>, CloudError>> + Send;

    /// Deletes a topic and its subscriptions (DeleteTopic). SNS treats a topic that does not
    /// exist as deleted, so that is not an error.
    fn delete_topic(&self, topic_arn: &str) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// Returns the subscriptions of a topic, following NextToken with one request per page of
    /// up to 100 subscriptions (ListSubscriptionsByTopic).
    ///
    /// Errors with [`CloudError::TopicNotFound`] when no topic has this ARN.
    fn list_subscriptions_by_topic(
        &self,
        topic_arn: &str,
    ) -> impl Future<Output = Result<Vec<TopicSubscription>, CloudError>> + Send;

    /// Returns every attribute of a subscription (GetSubscriptionAttributes), SNS's defaults
    /// included, such as `RawMessageDelivery=false`.
    ///
    /// Errors with [`CloudError::SubscriptionNotFound`] when no subscription has this ARN.
    fn get_subscription_attributes(
        &self,
        subscription_arn: &str,
    ) -> impl Future<Output = Result<Attributes, CloudError>> + Send;

    /// Subscribes an endpoint to a topic with attributes such as `RawMessageDelivery`,
    /// `FilterPolicy` and `FilterPolicyScope` (Subscribe with `ReturnSubscriptionArn=true`) and
    /// returns the subscription ARN.
    ///
    /// Subscribing the same protocol and endpoint again returns the existing subscription's
    /// ARN when the attributes match. An SQS queue in the topic's account is confirmed at once.
    /// A subscription that needs confirmation, such as one of another account's queue, returns
    /// its ARN as well, but [`Cloud::list_subscriptions_by_topic`] lists it as
    /// `PendingConfirmation` until it is confirmed.
    ///
    /// Errors with [`CloudError::TopicNotFound`] when no topic has this ARN, and with
    /// [`CloudError::SubscriptionAlreadyExists`] when the existing subscription's attributes
    /// differ.
    fn subscribe(
        &self,
        topic_arn: &str,
        protocol: &str,
        endpoint: &str,
        attributes: &Attributes,
    ) -> impl Future<Output = Result<String, CloudError>> + Send;

    /// Sets one attribute of a subscription (SetSubscriptionAttributes).
    ///
    /// SNS documents that a change of the filter policy can take up to 15 minutes to apply to
    /// every published message.
    ///
    /// Errors with [`CloudError::SubscriptionNotFound`] when no subscription has this ARN.
    fn set_subscription_attribute(
        &self,
        subscription_arn: &str,
        name: &str,
        value: &str,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// Deletes a subscription (Unsubscribe).
    ///
    /// Errors with [`CloudError::SubscriptionNotFound`] when SNS reports that no subscription
    /// has this ARN.
    fn unsubscribe(
        &self,
        subscription_arn: &str,
    ) -> impl Future<Output = Result<(), CloudError>> + Send;

    /// Publishes a message to a topic and returns its message id (Publish). Each message
    /// attribute is sent with the `String` data type.
    ///
    /// A FIFO topic needs `group_id`, and `deduplication_id` unless the topic has
    /// `ContentBasedDeduplication=true`. A standard topic rejects `deduplication_id` and passes
    /// `group_id` only to SQS standard queues, where it sets the fair-queue tenant.
    ///
    /// Errors with [`CloudError::TopicNotFound`] when no topic has this ARN.
    fn publish(
        &self,
        topic_arn: &str,
        message: &str,
        message_attributes: &BTreeMap<String, String>,
        group_id: Option<&str>,
        deduplication_id: Option<&str>,
    ) -> impl Future<Output = Result<String, CloudError>> + Send;

    /// Returns the requests sent so far, by operation.
    fn api_calls(&self) -> ApiCalls;
}

pub use crate::model::MetricAlarm;

/// A metric alarm as it exists in CloudWatch: its definition and ARN. The alarm state is not
/// read.
///
/// An alarm that sqsform cannot describe, such as one on a metric math expression, reads with
/// empty strings and zeros for the fields it lacks, so it differs from every definition
/// sqsform writes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LiveAlarm {
    pub arn: String,
    pub alarm: MetricAlarm,
}

/// A subscription of an SNS topic as ListSubscriptionsByTopic returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TopicSubscription {
    /// The subscription ARN, or `PendingConfirmation` while the endpoint owner has not
    /// confirmed the subscription.
    pub arn: String,
    /// The delivery protocol, such as `sqs` or `https`.
    pub protocol: String,
    /// The endpoint messages go to, such as a queue ARN for `sqs`.
    pub endpoint: String,
}

/// The principals a managed policy is attached to, by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PolicyPrincipals {
    pub roles: Vec<String>,
    pub users: Vec<String>,
    pub groups: Vec<String>,
}

/// A customer-managed IAM policy as ListPolicies returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ManagedPolicy {
    pub arn: String,
    pub name: String,
    pub path: String,
    pub default_version_id: String,
}

/// One version of a managed policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicyVersion {
    pub version_id: String,
    pub is_default: bool,
    /// Creation time in seconds since the Unix epoch, for finding the oldest version.
    pub created_epoch_seconds: i64,
}

/// Requests sent, by `service:Operation`, counting every attempt including SDK retries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ApiCalls {
    pub total: u64,
    pub by_operation: BTreeMap<String, u64>,
}

impl ApiCalls {
    /// Returns the count for one operation, such as `sqs:GetQueueAttributes`.
    pub fn get(&self, operation: &str) -> u64 {
        self.by_operation.get(operation).copied().unwrap_or(0)
    }

    /// Returns the calls made since `earlier` was taken.
    pub fn since(&self, earlier: &ApiCalls) -> ApiCalls {
        let by_operation: BTreeMap<String, u64> = self
            .by_operation
            .iter()
            .map(|(operation, count)| (operation.clone(), count - earlier.get(operation)))
            .filter(|(_, count)| *count > 0)
            .collect();
        ApiCalls {
            total: by_operation.values().sum(),
            by_operation,
        }
    }
}

/// Returns an error and its sources as one line, `outer: inner: innermost`.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A thread-safe request counter shared by the clients of one [`Cloud`].
#[derive(Debug, Default)]
pub struct CallCounter {
    counts: Mutex<BTreeMap<String, u64>>,
}

impl CallCounter {
    /// Counts one request to `service` (lowercased) and `operation`.
    pub fn record(&self, service: &str, operation: &str) {
        let key = format!("{}:{operation}", service.to_ascii_lowercase());
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *counts.entry(key).or_insert(0) += 1;
    }

    /// Returns the counts so far.
    pub fn snapshot(&self) -> ApiCalls {
        let counts = self
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        ApiCalls {
            total: counts.values().sum(),
            by_operation: counts.clone(),
        }
    }
}

/// A queue as it exists in AWS.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LiveQueue {
    pub name: String,
    pub url: String,
    pub attributes: Attributes,
    pub tags: Tags,
}

/// Returns the queue name at the end of a queue URL.
pub fn queue_name_from_url(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

/// Reads every queue whose name starts with `prefix`: one listing, then GetQueueAttributes and
/// ListQueueTags per queue, with at most `parallelism` queues in flight. A queue deleted between
/// the listing and the reads is left out.
pub async fn read_queues<C: Cloud>(
    cloud: &C,
    prefix: &str,
    parallelism: usize,
) -> Result<Vec<LiveQueue>, CloudError> {
    let urls = cloud.list_queues(prefix).await?;

    let reads = urls.into_iter().map(|url| async move {
        let name = queue_name_from_url(&url).to_string();
        let (attributes, tags) = futures::join!(
            cloud.get_queue_attributes(&url),
            cloud.list_queue_tags(&url)
        );
        match (attributes, tags) {
            (Err(CloudError::QueueNotFound { .. }), _)
            | (_, Err(CloudError::QueueNotFound { .. })) => {
                tracing::debug!(queue = %name, "queue disappeared after listing");
                Ok(None)
            }
            (Err(error), _) | (_, Err(error)) => Err(error),
            (Ok(attributes), Ok(tags)) => Ok(Some(LiveQueue {
                name,
                url,
                attributes,
                tags,
            })),
        }
    });
    let mut queues: Vec<LiveQueue> = stream::iter(reads)
        .buffer_unordered(parallelism.max(1))
        .try_filter_map(|queue| async move { Ok(queue) })
        .try_collect()
        .await?;

    // ListQueues matches the prefix itself, but a fake or a proxy may not: keep only true matches.
    queues.retain(|queue| queue.name.starts_with(prefix));
    queues.sort_by(|left, right| left.name.cmp(&right.name));
    Ok(queues)
}

/// A managed policy under sqsform's IAM path, with its default document and attachments.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LivePolicy {
    pub name: String,
    pub arn: String,
    pub default_version_id: String,
    /// The default version's document, decoded; `None` when it does not parse.
    pub document: Option<serde_json::Value>,
    /// The document as IAM returned it.
    pub document_text: String,
    /// Roles the policy is attached to.
    pub roles: Vec<String>,
    /// Users and groups the policy is attached to; sqsform attaches to roles only.
    pub users: Vec<String>,
    pub groups: Vec<String>,
}

/// Reads every managed policy under `path`: the listing, then the default version and the
/// attached roles of each policy, at most `parallelism` policies at once.
pub async fn read_policies<C: Cloud>(
    cloud: &C,
    path: &str,
    parallelism: usize,
) -> Result<Vec<LivePolicy>, CloudError> {
    let listed = cloud.list_policies(path).await?;
    let reads = listed.into_iter().map(|policy| async move {
        let (document_text, principals) = futures::join!(
            cloud.get_policy_document(&policy.arn, &policy.default_version_id),
            cloud.list_policy_principals(&policy.arn)
        );
        let document_text = document_text?;
        let mut principals = principals?;
        principals.roles.sort();
        principals.users.sort();
        principals.groups.sort();
        Ok::<LivePolicy, CloudError>(LivePolicy {
            document: crate::policy::parse(&document_text).ok(),
            document_text,
            roles: principals.roles,
            users: principals.users,
            groups: principals.groups,
            name: policy.name,
            arn: policy.arn,
            default_version_id: policy.default_version_id,
        })
    });
    let mut policies: Vec<LivePolicy> = stream::iter(reads)
        .buffer_unordered(parallelism.max(1))
        .try_collect()
        .await?;
    policies.sort_by(|left, right| left.name.cmp(&right.name));
    Ok(policies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_calls_since_subtracts() {
        let counter = CallCounter::default();
        counter.record("SQS", "ListQueues");
        let earlier = counter.snapshot();
        counter.record("SQS", "ListQueues");
        counter.record("sts", "GetCallerIdentity");
        let delta = counter.snapshot().since(&earlier);
        assert_eq!(delta.total, 2);
        assert_eq!(delta.get("sqs:ListQueues"), 1);
        assert_eq!(delta.get("sts:GetCallerIdentity"), 1);
    }

    #[test]
    fn queue_name_is_last_url_segment() {
        assert_eq!(
            queue_name_from_url("http://127.0.0.1:4566/123456789012/driversklub-local-trip-events"),
            "driversklub-local-trip-events"
        );
    }
}
