//! An in-memory [`Cloud`] for unit tests of the engine and for simulations at scale.
//!
//! It follows the SQS behaviour sqsform depends on: GetQueueAttributes fills in defaults, an
//! empty string removes a policy or KMS key, a KMS key turns SSE-SQS off, and CreateQueue of an
//! existing name succeeds only when the given attributes match. Failures can be injected per
//! operation. It never replaces the emulator in integration tests.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use super::{ApiCalls, Attributes, CallCounter, Cloud, CloudError, Tags, queue_name_from_url};
use crate::model::defaults;

const ENDPOINT: &str = "https://sqs.memory.invalid";

/// A failure to return from the next call of one operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InjectedFailure {
    QueueDeletedRecently,
    Throttled,
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
    failures: Mutex<BTreeMap<&'static str, VecDeque<InjectedFailure>>>,
    calls: CallCounter,
}

impl MemoryCloud {
    /// Creates an empty account.
    pub fn new(account_id: &str) -> MemoryCloud {
        MemoryCloud {
            account_id: account_id.to_string(),
            queues: Mutex::new(BTreeMap::new()),
            failures: Mutex::new(BTreeMap::new()),
            calls: CallCounter::default(),
        }
    }

    /// Makes the next `times` calls of `operation` (such as `CreateQueue`) fail with `failure`.
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

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, StoredQueue>> {
        self.queues
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts a call and returns the injected failure for it, if any.
    fn begin(&self, operation: &'static str) -> Result<(), InjectedFailure> {
        self.calls.record("sqs", operation);
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match failures.get_mut(operation).and_then(VecDeque::pop_front) {
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
        }
    }

    fn arn_of(&self, name: &str) -> String {
        format!("arn:aws:sqs:us-east-1:{}:{name}", self.account_id)
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

    async fn list_policies(&self, _path_prefix: &str) -> Result<Vec<super::ManagedPolicy>, CloudError> {
        unimplemented!("IAM boundary under construction")
    }

    async fn get_policy_document(&self, _policy_arn: &str, _version_id: &str) -> Result<String, CloudError> {
        unimplemented!("IAM boundary under construction")
    }

    async fn list_policy_roles(&self, _policy_arn: &str) -> Result<Vec<String>, CloudError> {
        unimplemented!("IAM boundary under construction")
    }

    async fn list_policy_versions(&self, _policy_arn: &str) -> Result<Vec<super::PolicyVersion>, CloudError> {
        unimplemented!("IAM boundary under construction")
    }

    async fn role_exists(&self, _role: &str) -> Result<bool, CloudError> {
        unimplemented!("IAM boundary under construction")
    }

    async fn create_policy(&self, _name: &str, _path: &str, _document: &str, _tags: &Tags) -> Result<String, CloudError> {
        unimplemented!("IAM boundary under construction")
    }

    async fn create_policy_version(&self, _policy_arn: &str, _document: &str) -> Result<String, CloudError> {
        unimplemented!("IAM boundary under construction")
    }

    async fn delete_policy_version(&self, _policy_arn: &str, _version_id: &str) -> Result<(), CloudError> {
        unimplemented!("IAM boundary under construction")
    }

    async fn attach_role_policy(&self, _role: &str, _policy_arn: &str) -> Result<(), CloudError> {
        unimplemented!("IAM boundary under construction")
    }

    async fn detach_role_policy(&self, _role: &str, _policy_arn: &str) -> Result<(), CloudError> {
        unimplemented!("IAM boundary under construction")
    }

    async fn delete_policy(&self, _policy_arn: &str) -> Result<(), CloudError> {
        unimplemented!("IAM boundary under construction")
    }

    fn api_calls(&self) -> ApiCalls {
        self.calls.snapshot()
    }
}
