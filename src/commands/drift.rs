//! `sqsform drift`: report how AWS differs from the spec, changing nothing.

use super::{CommandError, Context, Status, build_plan, connect, load_spec, print_api_calls};
use crate::cli::{Format, Target};
use crate::cloud::Cloud;
use crate::render;

/// Checks one environment for drift: [`Status::Changes`] (exit 2) when anything differs.
pub async fn drift(
    context: &mut Context<'_>,
    target: &Target,
    format: Format,
) -> Result<Status, CommandError> {
    let desired = load_spec(context, &target.env)?;
    let cloud = connect(&desired).await?;
    let plan = build_plan(&cloud, &desired, usize::from(target.parallelism)).await?;
    let calls = cloud.api_calls();

    match format {
        Format::Text => render::drift_text(context.stdout, &plan, context.style)?,
        Format::Json => render::drift_json(context.stdout, &plan, &calls)?,
    }
    if context.verbose {
        print_api_calls(context.stderr, &calls)?;
    }

    if plan.has_changes() {
        Ok(Status::Changes)
    } else {
        Ok(Status::Success)
    }
}
