//! Executes a [`Plan`]: dependency order, bounded concurrency and retries.
//!
//! Flow: [`schedule`] turns the plan into phases of per-queue steps, and [`apply`] runs the
//! phases in order, the queues of one phase concurrently. The phases are:
//!
//! 1. dead-letter queues: create, update attributes and tags;
//! 2. other queues: create with their redrive policy, update attributes and tags;
//! 3. redrive-allow and access policies;
//! 4. deletes of queues that are not dead-letter queues;
//! 5. deletes of dead-letter queues.
//!
//! Guarantees: a phase starts only when the previous one succeeded, so a source queue never
//! points at a dead-letter queue that does not exist. Because the plan is computed from live
//! state, an apply that stopped halfway is finished by the next one with no duplicate queue.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::{self, StreamExt};
use serde::Serialize;
use tracing::Instrument;

use crate::cloud::{Attributes, Cloud, CloudError, Tags, error_chain};
use crate::plan::{Action, AttributeChange, Plan, SafetyFlags, blocked_changes};

/// Attributes set after every queue exists, because they may name other queues or principals.
const LATE_ATTRIBUTES: &[&str] = &["RedriveAllowPolicy", "Policy"];

/// Settings of an apply run.
#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// Queues changed at once within a phase.
    pub parallelism: usize,
    /// How long CreateQueue keeps retrying while SQS still reserves a recently deleted name.
    /// SQS documents a wait of 60 seconds, so the default leaves a margin above it.
    pub deleted_recently_timeout: Duration,
    /// First delay between those retries; it doubles up to 16 times this value.
    pub deleted_recently_backoff: Duration,
    /// Set to stop before the next step, for example on Ctrl-C.
    pub stop: Arc<AtomicBool>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallelism: 16,
            deleted_recently_timeout: Duration::from_secs(90),
            deleted_recently_backoff: Duration::from_secs(2),
            stop: Arc::new(AtomicBool::new(false)),
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
    #[error("apply failed for {} queue(s) after {} completed step(s): {}; run apply again once the cause is fixed", .failures.len(), .completed.len(), describe_failures(.failures))]
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
                failure.queue,
                error_chain(&failure.error)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// One failed step.
#[derive(Debug)]
pub struct StepFailure {
    pub queue: String,
    pub operation: &'static str,
    pub error: CloudError,
}

/// One step that AWS accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CompletedStep {
    pub queue: String,
    pub operation: &'static str,
}

/// One call to make for one queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Create { attributes: Attributes, tags: Tags },
    SetAttributes { attributes: Attributes },
    Tag { tags: Tags },
    Untag { keys: Vec<String> },
    Delete,
}

impl Step {
    fn operation(&self) -> &'static str {
        match self {
            Step::Create { .. } => "CreateQueue",
            Step::SetAttributes { .. } => "SetQueueAttributes",
            Step::Tag { .. } => "TagQueue",
            Step::Untag { .. } => "UntagQueue",
            Step::Delete => "DeleteQueue",
        }
    }
}

/// The steps for one queue within a phase, run in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueSteps {
    pub queue: String,
    /// URL of a live queue; `None` until a create in an earlier step or phase returns it.
    pub url: Option<String>,
    pub steps: Vec<Step>,
}

/// Returns the phases of steps that carry out `plan`, empty phases left out.
///
/// Creates and updates run in order of redrive depth: a queue whose new redrive policy points
/// at a queue created in the same plan waits for it, and dead-letter queues go before sources
/// of the same depth. Redrive-allow and access policies follow, then deletes of sources, then
/// deletes of dead-letter queues.
pub fn schedule(plan: &Plan) -> Vec<Vec<QueueSteps>> {
    let depths = redrive_depths(plan);
    let mut early: BTreeMap<usize, Vec<QueueSteps>> = BTreeMap::new();
    let mut late = Vec::new();
    let mut deletes = Vec::new();
    let mut dead_letter_deletes = Vec::new();

    for change in plan.changes() {
        let depth = depths.get(change.name.as_str()).copied().unwrap_or(0);
        let order = depth * 2 + usize::from(!change.dead_letter_target);
        match change.action {
            Action::Create | Action::Replace => {
                let (early_attributes, late_attributes) = split_late(&change.attributes, true);
                let tags = change
                    .tags
                    .set
                    .iter()
                    .map(|(key, value)| (key.clone(), value.after.clone()))
                    .collect();
                early.entry(order).or_default().push(QueueSteps {
                    queue: change.name.clone(),
                    url: None,
                    steps: vec![Step::Create {
                        attributes: early_attributes,
                        tags,
                    }],
                });
                if !late_attributes.is_empty() {
                    late.push(QueueSteps {
                        queue: change.name.clone(),
                        url: None,
                        steps: vec![Step::SetAttributes {
                            attributes: late_attributes,
                        }],
                    });
                }
                if let Some(old) = &change.replaces {
                    let target = if change.dead_letter_target {
                        &mut dead_letter_deletes
                    } else {
                        &mut deletes
                    };
                    target.push(QueueSteps {
                        queue: old.name.clone(),
                        url: Some(old.url.clone()),
                        steps: vec![Step::Delete],
                    });
                }
            }
            Action::Update | Action::Adopt => {
                let (early_attributes, late_attributes) = split_late(&change.attributes, false);
                let mut steps = Vec::new();
                if !early_attributes.is_empty() {
                    steps.push(Step::SetAttributes {
                        attributes: early_attributes,
                    });
                }
                if !change.tags.set.is_empty() {
                    let tags = change
                        .tags
                        .set
                        .iter()
                        .map(|(key, value)| (key.clone(), value.after.clone()))
                        .collect();
                    steps.push(Step::Tag { tags });
                }
                if !change.tags.remove.is_empty() {
                    steps.push(Step::Untag {
                        keys: change.tags.remove.keys().cloned().collect(),
                    });
                }
                if !steps.is_empty() {
                    early.entry(order).or_default().push(QueueSteps {
                        queue: change.name.clone(),
                        url: change.url.clone(),
                        steps,
                    });
                }
                if !late_attributes.is_empty() {
                    late.push(QueueSteps {
                        queue: change.name.clone(),
                        url: change.url.clone(),
                        steps: vec![Step::SetAttributes {
                            attributes: late_attributes,
                        }],
                    });
                }
            }
            Action::Delete => {
                let target = if change.dead_letter_target {
                    &mut dead_letter_deletes
                } else {
                    &mut deletes
                };
                target.push(QueueSteps {
                    queue: change.name.clone(),
                    url: change.url.clone(),
                    steps: vec![Step::Delete],
                });
            }
            Action::NoOp => {}
        }
    }

    early
        .into_values()
        .chain([late, deletes, dead_letter_deletes])
        .filter(|phase| !phase.is_empty())
        .collect()
}

/// Returns, for each queue whose planned RedrivePolicy names a queue that the plan creates,
/// how many such links lead from it; the spec rejects cycles, and a cycle stops the count.
fn redrive_depths(plan: &Plan) -> BTreeMap<&str, usize> {
    let created: std::collections::BTreeSet<&str> = plan
        .changes()
        .filter(|change| matches!(change.action, Action::Create | Action::Replace))
        .map(|change| change.name.as_str())
        .collect();
    let targets: BTreeMap<&str, String> = plan
        .changes()
        .filter_map(|change| {
            let redrive = change
                .attributes
                .iter()
                .find(|attribute| attribute.name == "RedrivePolicy")?;
            let document: serde_json::Value =
                serde_json::from_str(redrive.after.as_deref()?).ok()?;
            let arn = document.get("deadLetterTargetArn")?.as_str()?;
            let target = arn.rsplit(':').next()?.to_string();
            Some((change.name.as_str(), target))
        })
        .collect();

    let mut depths = BTreeMap::new();
    for name in targets.keys() {
        let mut depth = 0;
        let mut current = *name;
        while let Some(target) = targets
            .get(current)
            .filter(|target| created.contains(target.as_str()))
        {
            depth += 1;
            if depth > targets.len() {
                break;
            }
            current = target.as_str();
        }
        depths.insert(*name, depth);
    }
    depths
}

/// Splits attribute changes into those sent early and those sent in the policy phase. On a
/// create, the access policy goes into CreateQueue, and only the redrive-allow policy, which
/// names source queues that may not exist yet, waits.
fn split_late(changes: &[AttributeChange], creating: bool) -> (Attributes, Attributes) {
    let mut early = Attributes::new();
    let mut late = Attributes::new();
    for change in changes {
        let is_late = if creating {
            change.name == "RedriveAllowPolicy"
        } else {
            LATE_ATTRIBUTES.contains(&change.name.as_str())
        };
        let target = if is_late { &mut late } else { &mut early };
        target.insert(change.name.clone(), change.wire_value());
    }
    (early, late)
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
            queues = phase.len(),
            "starting apply phase"
        );
        let results: Vec<Result<(), StepFailure>> = stream::iter(phase)
            .map(|queue_steps| run_queue_steps(cloud, queue_steps, options, &urls, &completed))
            .buffer_unordered(options.parallelism.max(1))
            .collect()
            .await;
        let failures: Vec<StepFailure> = results.into_iter().filter_map(Result::err).collect();
        if !failures.is_empty() {
            let completed = completed
                .into_inner()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            return Err(ApplyError::Failed {
                failures,
                completed,
            });
        }
    }
    let completed = completed
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if options.stop.load(Ordering::SeqCst) {
        return Err(ApplyError::Interrupted { completed });
    }
    Ok(completed)
}

async fn run_queue_steps<C: Cloud>(
    cloud: &C,
    queue_steps: QueueSteps,
    options: &ApplyOptions,
    urls: &Mutex<BTreeMap<String, String>>,
    completed: &Mutex<Vec<CompletedStep>>,
) -> Result<(), StepFailure> {
    let QueueSteps { queue, url, steps } = queue_steps;
    let mut url = url.or_else(|| lock(urls).get(&queue).cloned());

    for step in steps {
        if options.stop.load(Ordering::SeqCst) {
            // Interrupted runs report through the phase loop; later steps simply do not start.
            return Ok(());
        }
        let operation = step.operation();
        let span = tracing::info_span!("apply", resource = %queue, action = operation);
        let result = async {
            match &step {
                Step::Create { attributes, tags } => {
                    let created =
                        create_with_retry(cloud, &queue, attributes, tags, options).await?;
                    lock(urls).insert(queue.clone(), created.clone());
                    url = Some(created);
                    tracing::info!("created queue");
                    Ok(())
                }
                other => {
                    let Some(url) = url.as_deref() else {
                        return Err(CloudError::QueueNotFound {
                            queue: queue.clone(),
                        });
                    };
                    match other {
                        Step::SetAttributes { attributes } => {
                            cloud.set_queue_attributes(url, attributes).await?
                        }
                        Step::Tag { tags } => cloud.tag_queue(url, tags).await?,
                        Step::Untag { keys } => cloud.untag_queue(url, keys).await?,
                        Step::Delete => match cloud.delete_queue(url).await {
                            // Already gone: the state the plan asked for.
                            Ok(()) | Err(CloudError::QueueNotFound { .. }) => {}
                            Err(error) => return Err(error),
                        },
                        Step::Create { .. } => unreachable!("handled above"),
                    }
                    tracing::info!("done");
                    Ok(())
                }
            }
        }
        .instrument(span)
        .await;

        match result {
            Ok(()) => lock(completed).push(CompletedStep {
                queue: queue.clone(),
                operation,
            }),
            Err(error) => {
                tracing::warn!(queue = %queue, operation, error = %error_chain(&error), "apply step failed");
                return Err(StepFailure {
                    queue,
                    operation,
                    error,
                });
            }
        }
    }
    Ok(())
}

/// Creates a queue, waiting out QueueDeletedRecently with doubling delays until the timeout.
async fn create_with_retry<C: Cloud>(
    cloud: &C,
    name: &str,
    attributes: &Attributes,
    tags: &Tags,
    options: &ApplyOptions,
) -> Result<String, CloudError> {
    let started = tokio::time::Instant::now();
    let mut delay = options.deleted_recently_backoff;
    loop {
        match cloud.create_queue(name, attributes, tags).await {
            Err(CloudError::QueueDeletedRecently { queue }) => {
                let waited = started.elapsed();
                if waited >= options.deleted_recently_timeout {
                    return Err(CloudError::QueueDeletedRecently { queue });
                }
                let delay_now = delay.min(options.deleted_recently_timeout - waited);
                tracing::info!(queue = %name, retry_in_ms = delay_now.as_millis() as u64, "SQS still reserves the name of a recently deleted queue; retrying");
                tokio::time::sleep(delay_now).await;
                delay = (delay * 2).min(options.deleted_recently_backoff * 16);
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

#[cfg(test)]
mod tests;
