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
        return Ok(Status::Success);
    }

    let safety = SafetyFlags {
        allow_delete: flags.allow_delete,
        allow_data_loss: flags.allow_data_loss,
        adopt: flags.adopt,
    };
    // Refuse before asking, so nobody confirms a plan that cannot run.
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
    let completed = engine::apply(&cloud, &plan, safety, &options).await?;
    writeln!(
        context.stderr,
        "Applied {} change(s); checking that AWS shows them.",
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
                .collect();
            return Err(CommandError::NotConverged {
                waited_seconds: wait.as_secs(),
                pending,
            });
        }
        tracing::debug!("AWS does not show every change yet; reading again");
        tokio::time::sleep(poll).await;
    }
}
