//! Executes a [`Plan`]: dependency order, bounded concurrency and retries.
//!
//! Flow: [`schedule`] turns the plan into phases of per-resource steps, and [`apply`] runs the
//! phases in order, the resources of one phase concurrently. The phases are:
//!
//! 1. queues by redrive depth, dead-letter queues first: create, update attributes and tags;
//! 2. redrive-allow and access policies;
//! 3. IAM policies: create, new default versions, attachments;
//! 4. deletes of source queues and of IAM policies;
//! 5. deletes of dead-letter queues.
//!
//! Guarantees: a phase starts only when the previous one succeeded, so a source queue never
//! points at a dead-letter queue that does not exist. Because the plan is computed from live
//! state, an apply that stopped halfway is finished by the next one with no duplicate.
//!
//! Retries: CreateQueue waits out QueueDeletedRecently, and calls that write a policy retry
//! while AWS rejects a principal it does not know yet (IAM is eventually consistent). The SDK
//! retries throttling and transient errors itself, a bounded number of times.

mod rate;
mod schedule;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::{self, StreamExt};
use serde::Serialize;
use tracing::Instrument;

pub use rate::RateLimiter;
pub use schedule::{ResourceSteps, Step, schedule};

use crate::cloud::{Attributes, Cloud, CloudError, Tags, error_chain};
use crate::plan::{Plan, SafetyFlags, blocked_changes};

/// PutMetricAlarm requests per second: CloudWatch's default quota for the account and region.
pub const DEFAULT_ALARM_WRITES_PER_SECOND: f64 = 3.0;

/// Settings of an apply run.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// Resources changed at once within a phase.
    pub parallelism: usize,
    /// How long CreateQueue keeps retrying while SQS still reserves a recently deleted name.
    /// SQS documents a wait of 60 seconds, so the default leaves a margin above it.
    pub deleted_recently_timeout: Duration,
    /// How long a policy write keeps retrying while AWS rejects a principal it does not know
    /// yet. IAM documents no bound on its propagation delay, so this is an estimate.
    pub principal_timeout: Duration,
    /// First delay between retries; it doubles up to 16 times this value.
    pub retry_backoff: Duration,
    /// Set to stop before the next step, for example on Ctrl-C.
    pub stop: Arc<AtomicBool>,
    /// Paces PutMetricAlarm, which CloudWatch limits to 3 requests per second per account and
    /// region by default.
    pub alarm_writes: Arc<RateLimiter>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallelism: 16,
            deleted_recently_timeout: Duration::from_secs(90),
            principal_timeout: Duration::from_secs(60),
            retry_backoff: Duration::from_secs(2),
            stop: Arc::new(AtomicBool::new(false)),
            alarm_writes: Arc::new(RateLimiter::per_second(DEFAULT_ALARM_WRITES_PER_SECOND)),
        }
    }
}

/// Errors from apply.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The plan contains changes that need flags that were not given; nothing was changed.
    #[error("apply refused: {}", .blocked.join("; "))]
    Blocked { blocked: Vec<String> },
    /// Some steps failed; steps of later phases did not run.
    #[error("apply failed for {} resource(s) after {} completed step(s): {}; run apply again once the cause is fixed", .failures.len(), .completed.len(), describe_failures(.failures))]
    Failed {
        failures: Vec<StepFailure>,
        completed: Vec<CompletedStep>,
    },
    /// A stop was requested (Ctrl-C); steps already started finished, no new ones began.
    #[error("apply stopped on request after {} completed step(s); run apply again to finish", .completed.len())]
    Interrupted { completed: Vec<CompletedStep> },
}

fn describe_failures(failures: &[StepFailure]) -> String {
    failures
        .iter()
        .map(|failure| {
            format!(
                "{} {}: {}",
                failure.operation,
                failure.resource,
                error_chain(&failure.error)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// One failed step.
#[derive(Debug)]
pub struct StepFailure {
    pub resource: String,
    pub operation: &'static str,
    pub error: CloudError,
}

/// One step that AWS accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CompletedStep {
    pub resource: String,
    pub operation: &'static str,
}

/// Applies `plan` after checking that `flags` allow every change in it.
pub async fn apply<C: Cloud>(
    cloud: &C,
    plan: &Plan,
    flags: SafetyFlags,
    options: &ApplyOptions,
) -> Result<Vec<CompletedStep>, ApplyError> {
    let blocked = blocked_changes(plan, flags);
    if !blocked.is_empty() {
        return Err(ApplyError::Blocked { blocked });
    }

    let urls: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());
    let completed: Mutex<Vec<CompletedStep>> = Mutex::new(Vec::new());

    for (number, phase) in schedule(plan).into_iter().enumerate() {
        if options.stop.load(Ordering::SeqCst) {
            break;
        }
        tracing::debug!(
            phase = number + 1,
            resources = phase.len(),
            "starting apply phase"
        );
        let results: Vec<Result<(), StepFailure>> = stream::iter(phase)
            .map(|steps| run_steps(cloud, steps, options, &urls, &completed))
            .buffer_unordered(options.parallelism.max(1))
            .collect()
            .await;
        let failures: Vec<StepFailure> = results.into_iter().filter_map(Result::err).collect();
        if !failures.is_empty() {
            let completed = lock_into_inner(completed);
            return Err(ApplyError::Failed {
                failures,
                completed,
            });
        }
    }

    let completed = lock_into_inner(completed);
    if options.stop.load(Ordering::SeqCst) {
        return Err(ApplyError::Interrupted { completed });
    }
    Ok(completed)
}

async fn run_steps<C: Cloud>(
    cloud: &C,
    resource_steps: ResourceSteps,
    options: &ApplyOptions,
    urls: &Mutex<BTreeMap<String, String>>,
    completed: &Mutex<Vec<CompletedStep>>,
) -> Result<(), StepFailure> {
    let ResourceSteps {
        resource,
        address,
        steps,
    } = resource_steps;
    let mut address = address.or_else(|| lock(urls).get(&resource).cloned());

    for step in steps {
        if options.stop.load(Ordering::SeqCst) {
            // The phase loop reports the interruption; later steps simply do not start.
            return Ok(());
        }
        let operation = step.operation();
        let span = tracing::info_span!("apply", resource = %resource, action = operation);
        let result = run_step(cloud, &resource, &step, address.as_deref(), options)
            .instrument(span)
            .await;

        match result {
            Ok(Some(created_url)) => {
                lock(urls).insert(resource.clone(), created_url.clone());
                address = Some(created_url);
                lock(completed).push(CompletedStep {
                    resource: resource.clone(),
                    operation,
                });
            }
            Ok(None) => lock(completed).push(CompletedStep {
                resource: resource.clone(),
                operation,
            }),
            // Not a failure: the phase loop reports the interruption.
            Err(CloudError::Interrupted) => return Ok(()),
            Err(error) => {
                tracing::warn!(resource = %resource, operation, error = %error_chain(&error), "apply step failed");
                return Err(StepFailure {
                    resource,
                    operation,
                    error,
                });
            }
        }
    }
    Ok(())
}

/// Runs one step. Returns the URL of a queue it created.
async fn run_step<C: Cloud>(
    cloud: &C,
    resource: &str,
    step: &Step,
    address: Option<&str>,
    options: &ApplyOptions,
) -> Result<Option<String>, CloudError> {
    if let Step::Create { attributes, tags } = step {
        let url = create_queue(cloud, resource, attributes, tags, options).await?;
        tracing::info!("created queue");
        return Ok(Some(url));
    }
    if let Step::CreatePolicy {
        name,
        path,
        document,
        tags,
    } = step
    {
        with_principal_retry(options, resource, || {
            cloud.create_policy(name, path, document, tags)
        })
        .await?;
        tracing::info!("created policy");
        return Ok(None);
    }

    match step {
        Step::PutAlarm { alarm, tags } => {
            options.alarm_writes.acquire().await;
            // The wait for a slot can be long, so a stop requested meanwhile skips the write.
            if options.stop.load(Ordering::SeqCst) {
                return Err(CloudError::Interrupted);
            }
            cloud.put_metric_alarm(alarm, tags).await?;
            tracing::info!("wrote alarm");
            return Ok(None);
        }
        Step::DeleteAlarms { names } => {
            cloud.delete_alarms(names).await?;
            tracing::info!(alarms = names.len(), "deleted alarms");
            return Ok(None);
        }
        Step::PutDashboard { body } => {
            cloud.put_dashboard(resource, body).await?;
            tracing::info!("wrote dashboard");
            return Ok(None);
        }
        Step::DeleteDashboard => {
            cloud.delete_dashboard(resource).await?;
            tracing::info!("deleted dashboard");
            return Ok(None);
        }
        Step::CreateTopic {
            name,
            attributes,
            tags,
        } => {
            cloud.create_topic(name, attributes, tags).await?;
            tracing::info!("created topic");
            return Ok(None);
        }
        _ => {}
    }

    let Some(address) = address else {
        return Err(CloudError::QueueNotFound {
            queue: resource.to_string(),
        });
    };
    match step {
        Step::SetAttributes { attributes } => {
            with_principal_retry(options, resource, || {
                cloud.set_queue_attributes(address, attributes)
            })
            .await?;
        }
        Step::Tag { tags } => cloud.tag_queue(address, tags).await?,
        Step::Untag { keys } => cloud.untag_queue(address, keys).await?,
        Step::Delete => match cloud.delete_queue(address).await {
            // Already gone: the state the plan asked for.
            Ok(()) | Err(CloudError::QueueNotFound { .. }) => {}
            Err(error) => return Err(error),
        },
        Step::DeletePolicyVersion { version_id } => {
            cloud.delete_policy_version(address, version_id).await?
        }
        Step::CreatePolicyVersion { document } => {
            with_principal_retry(options, resource, || {
                cloud.create_policy_version(address, document)
            })
            .await?;
        }
        Step::AttachRole { role } => cloud.attach_role_policy(role, address).await?,
        Step::DetachRole { role } => cloud.detach_role_policy(role, address).await?,
        Step::DetachUser { user } => cloud.detach_user_policy(user, address).await?,
        Step::DetachGroup { group } => cloud.detach_group_policy(group, address).await?,
        Step::DeletePolicy => cloud.delete_policy(address).await?,
        Step::TagAlarm { tags } => cloud.tag_alarm(address, tags).await?,
        Step::SetTopicAttribute { name, value } => {
            cloud.set_topic_attribute(address, name, value).await?
        }
        Step::TagTopic { tags } => cloud.tag_topic(address, tags).await?,
        Step::UntagTopic { keys } => cloud.untag_topic(address, keys).await?,
        Step::Subscribe {
            queue_arn,
            attributes,
        } => {
            cloud
                .subscribe(
                    address,
                    crate::plan::topics::SQS_PROTOCOL,
                    queue_arn,
                    attributes,
                )
                .await?;
        }
        Step::SetSubscriptionAttribute {
            subscription_arn,
            name,
            value,
        } => {
            cloud
                .set_subscription_attribute(subscription_arn, name, value)
                .await?;
        }
        Step::Unsubscribe { subscription_arn } => cloud.unsubscribe(subscription_arn).await?,
        Step::DeleteTopic => cloud.delete_topic(address).await?,
        Step::UntagAlarm { keys } => cloud.untag_alarm(address, keys).await?,
        Step::Create { .. }
        | Step::CreatePolicy { .. }
        | Step::PutAlarm { .. }
        | Step::DeleteAlarms { .. }
        | Step::PutDashboard { .. }
        | Step::DeleteDashboard
        | Step::CreateTopic { .. } => unreachable!("handled above"),
    }
    tracing::info!("done");
    Ok(None)
}

/// Creates a queue, waiting out QueueDeletedRecently with doubling delays until the timeout.
async fn create_queue<C: Cloud>(
    cloud: &C,
    name: &str,
    attributes: &Attributes,
    tags: &Tags,
    options: &ApplyOptions,
) -> Result<String, CloudError> {
    let started = tokio::time::Instant::now();
    let mut delay = options.retry_backoff;
    loop {
        let error = match with_principal_retry(options, name, || {
            cloud.create_queue(name, attributes, tags)
        })
        .await
        {
            Err(CloudError::QueueDeletedRecently { queue }) => {
                CloudError::QueueDeletedRecently { queue }
            }
            other => return other,
        };
        let waited = started.elapsed();
        if waited >= options.deleted_recently_timeout {
            return Err(error);
        }
        let delay_now = delay.min(options.deleted_recently_timeout - waited);
        tracing::info!(queue = %name, retry_in_ms = delay_now.as_millis() as u64, "SQS still reserves the name of a recently deleted queue; retrying");
        tokio::time::sleep(delay_now).await;
        delay = (delay * 2).min(options.retry_backoff * 16);
    }
}

/// Checks whether AWS rejected a policy because it names a principal it does not know, which
/// happens for a role or user created moments ago.
fn is_unknown_principal(error: &CloudError) -> bool {
    let text = error_chain(error).to_ascii_lowercase();
    text.contains("invalid principal")
        || (text.contains("principal") && text.contains("does not exist"))
}

/// Runs `call`, repeating it with doubling delays while AWS rejects an unknown principal, until
/// `options.principal_timeout`.
async fn with_principal_retry<T, F, Fut>(
    options: &ApplyOptions,
    resource: &str,
    mut call: F,
) -> Result<T, CloudError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, CloudError>>,
{
    let started = tokio::time::Instant::now();
    let mut delay = options.retry_backoff;
    loop {
        match call().await {
            Err(error)
                if is_unknown_principal(&error)
                    && started.elapsed() < options.principal_timeout =>
            {
                let delay_now = delay.min(options.principal_timeout - started.elapsed());
                tracing::debug!(resource, error = %error_chain(&error), retry_in_ms = delay_now.as_millis() as u64, "AWS does not know a principal of the policy yet; retrying");
                tokio::time::sleep(delay_now).await;
                delay = (delay * 2).min(options.retry_backoff * 16);
            }
            other => return other,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn lock_into_inner<T>(mutex: Mutex<T>) -> T {
    mutex
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests;
