//! `sqsform apply`: plan, confirm, apply in dependency order, then wait until AWS matches.

use std::io::{BufRead, IsTerminal};
use std::time::Duration;

use super::{CommandError, Context, Status, build_plan, connect, load_spec, print_api_calls};
use crate::apply::{self as engine, ApplyOptions};
use crate::cli::{ApplyFlags, Target};
use crate::cloud::Cloud;
use crate::model::DesiredState;
use crate::plan::{SafetyFlags, blocked_changes};
use crate::render;

/// Queues listed by name when AWS does not show every change; the rest are counted.
const MAX_LISTED_PENDING: usize = 10;

/// Delay between the reads that check that AWS shows every applied change.
const CONVERGENCE_POLL: Duration = Duration::from_secs(2);

/// Applies one environment.
pub async fn apply(
    context: &mut Context<'_>,
    target: &Target,
    flags: &ApplyFlags,
) -> Result<Status, CommandError> {
    let desired = load_spec(context, &target.env)?;
    let cloud = connect(&desired).await?;
    let parallelism = usize::from(target.parallelism);
    let plan = build_plan(&cloud, &desired, parallelism).await?;

    render::plan_text(context.stdout, &plan, context.style)?;
    if !plan.has_changes() {
        if context.verbose {
            print_api_calls(context.stderr, &cloud.api_calls())?;
        }
        return Ok(Status::Success);
    }

    let safety = SafetyFlags {
        allow_delete: flags.allow_delete,
        allow_data_loss: flags.allow_data_loss,
        adopt: flags.adopt,
    };
    // Reject blocked changes before the prompt, so no one confirms a plan that cannot run.
    let blocked = blocked_changes(&plan, safety);
    if !blocked.is_empty() {
        return Err(engine::ApplyError::Blocked { blocked }.into());
    }
    if !flags.auto_approve {
        confirm(context, &desired)?;
    }

    let options = ApplyOptions {
        parallelism,
        ..ApplyOptions::default()
    };
    let interrupt = tokio::spawn(stop_on_interrupt(options.stop.clone()));
    let result = engine::apply(&cloud, &plan, safety, &options).await;
    interrupt.abort();
    let completed = result?;
    writeln!(
        context.stderr,
        "Made {} API change(s); checking that AWS shows them.",
        completed.len()
    )?;

    converge(
        &cloud,
        &desired,
        parallelism,
        Duration::from_secs(flags.wait),
        CONVERGENCE_POLL,
    )
    .await?;
    writeln!(
        context.stdout,
        "Apply complete: {} / {} matches the spec.",
        desired.project, desired.environment
    )?;
    if context.verbose {
        print_api_calls(context.stderr, &cloud.api_calls())?;
    }
    Ok(Status::Success)
}

/// Asks a running apply to stop after the steps in progress on the first Ctrl-C, and ends the
/// process on the second.
async fn stop_on_interrupt(stop: std::sync::Arc<std::sync::atomic::AtomicBool>) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    eprintln!(
        "Interrupted: finishing the AWS calls in progress; press Ctrl-C again to quit at once."
    );
    if tokio::signal::ctrl_c().await.is_ok() {
        std::process::exit(130);
    }
}

/// Describes the IAM policies, alarms and dashboard that still differ, one entry each.
fn pending_monitoring_and_policies(plan: &crate::plan::Plan) -> Vec<String> {
    use crate::plan::Action;

    let mut pending: Vec<String> = plan
        .policies
        .iter()
        .filter(|change| change.action != Action::NoOp)
        .map(|change| format!("IAM policy {} ({:?})", change.name, change.action))
        .collect();
    pending.extend(
        plan.alarms
            .iter()
            .filter(|change| change.action != Action::NoOp)
            .map(|change| {
                let fields: Vec<&str> = change
                    .fields
                    .iter()
                    .map(|field| field.name.as_str())
                    .collect();
                if fields.is_empty() {
                    format!("alarm {} ({:?})", change.name, change.action)
                } else {
                    format!("alarm {}: {}", change.name, fields.join(", "))
                }
            }),
    );
    if let Some(change) = plan
        .dashboard
        .as_ref()
        .filter(|change| change.action != Action::NoOp)
    {
        pending.push(format!("dashboard {} ({:?})", change.name, change.action));
    }
    pending
}

/// Keeps the first `limit` entries and sums up the rest in one entry.
fn truncate_list(mut entries: Vec<String>, limit: usize) -> Vec<String> {
    if entries.len() > limit {
        let rest = entries.len() - limit;
        entries.truncate(limit);
        entries.push(format!("and {rest} more queue(s)"));
    }
    entries
}

fn confirm(context: &mut Context<'_>, desired: &DesiredState) -> Result<(), CommandError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(CommandError::NoTerminal);
    }
    write!(
        context.stderr,
        "Apply these changes to {} / {}? Only \"yes\" applies them: ",
        desired.project, desired.environment
    )?;
    context.stderr.flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(CommandError::Cancelled)
    }
}

/// Re-reads live state until the plan is empty or `wait` runs out, because SQS takes up to
/// 60 seconds to show most attribute changes (15 minutes for MessageRetentionPeriod).
///
/// Errors with every queue and attribute that still differs when the wait ends.
pub async fn converge<C: Cloud>(
    cloud: &C,
    desired: &DesiredState,
    parallelism: usize,
    wait: Duration,
    poll: Duration,
) -> Result<(), CommandError> {
    let started = tokio::time::Instant::now();
    loop {
        let plan = build_plan(cloud, desired, parallelism).await?;
        if !plan.has_changes() {
            return Ok(());
        }
        if started.elapsed() >= wait {
            let pending = plan
                .changes()
                .map(|change| {
                    let mut names: Vec<String> = change
                        .attributes
                        .iter()
                        .map(|attribute| attribute.name.clone())
                        .collect();
                    names.extend(
                        change
                            .tags
                            .set
                            .keys()
                            .chain(change.tags.remove.keys())
                            .map(|key| format!("tag {key}")),
                    );
                    if names.is_empty() {
                        format!("{} ({:?})", change.name, change.action)
                    } else {
                        format!("{}: {}", change.name, names.join(", "))
                    }
                })
                .chain(pending_monitoring_and_policies(&plan))
                .collect();
            return Err(CommandError::NotConverged {
                waited_seconds: wait.as_secs(),
                pending: truncate_list(pending, MAX_LISTED_PENDING),
            });
        }
        tracing::debug!("AWS does not show every change yet; reading again");
        tokio::time::sleep(poll).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::Attributes;
    use crate::cloud::memory::MemoryCloud;

    #[tokio::test(start_paused = true)]
    async fn converge_names_attributes_that_never_settle() {
        let desired = crate::spec::load_from_text(
            "queues.yaml",
            "project: shop\ndashboard: false\ndefaults:\n  alarms: {depth: {enabled: false}, oldest_message_age: {enabled: false}}\nqueues:\n  orders:\n    visibility_timeout: 60s\n    enforce_tls: false\n",
            "test",
            "region: us-east-1\naccount_id: \"123456789012\"\n",
        )
        .expect("spec")
        .desired;
        let cloud = MemoryCloud::new("123456789012");
        let stale = Attributes::from([("VisibilityTimeout".to_string(), "30".to_string())]);
        cloud.seed_queue("shop-test-orders", &stale, &desired.queues[0].tags);
        let started = tokio::time::Instant::now();

        let error = converge(
            &cloud,
            &desired,
            4,
            Duration::from_secs(10),
            Duration::from_secs(2),
        )
        .await
        .expect_err("never converges");

        assert_eq!(
            error.to_string(),
            "apply finished, but after 10s AWS still differs from the spec (SQS can take up to 60 s to show a change, and another process changing these queues has the same effect): shop-test-orders: VisibilityTimeout"
        );
        assert_eq!(started.elapsed(), Duration::from_secs(10));
        assert_eq!(cloud.api_calls().get("sqs:ListQueues"), 6);
    }

    #[tokio::test(start_paused = true)]
    async fn converge_returns_once_plan_is_empty() {
        let desired = crate::spec::load_from_text(
            "queues.yaml",
            "project: shop\ndashboard: false\ndefaults:\n  alarms: {depth: {enabled: false}, oldest_message_age: {enabled: false}}\nqueues:\n  orders: {}\n",
            "test",
            "region: us-east-1\naccount_id: \"123456789012\"\n",
        )
        .expect("spec")
        .desired;
        let cloud = MemoryCloud::new("123456789012");
        let attributes = crate::plan::create_attributes(&desired.queues[0]);
        cloud.seed_queue("shop-test-orders", &attributes, &desired.queues[0].tags);

        converge(
            &cloud,
            &desired,
            4,
            Duration::from_secs(10),
            Duration::from_secs(2),
        )
        .await
        .expect("converged");

        assert_eq!(cloud.api_calls().get("sqs:ListQueues"), 1);
    }
}
