//! `sqsform plan`: read live state and show the changes apply would make.

use super::{CommandError, Context, Status, build_plan, connect, load_spec, print_api_calls};
use crate::cli::{Format, Target};
use crate::cloud::Cloud;
use crate::plan::{SafetyFlags, blocked_changes};
use crate::render;

/// Plans one environment. Returns [`Status::Changes`] only under `detailed_exitcode`.
pub async fn plan(
    context: &mut Context<'_>,
    target: &Target,
    format: Format,
    detailed_exitcode: bool,
) -> Result<Status, CommandError> {
    let desired = load_spec(context, &target.env)?;
    let cloud = connect(&desired).await?;
    let plan = build_plan(&cloud, &desired, usize::from(target.parallelism)).await?;
    let calls = cloud.api_calls();

    // The flags `apply` takes are not options of `plan`, so the plan names the changes that
    // need one, and a reviewer learns before the merge that the apply would be rejected.
    let needs_flags = blocked_changes(&plan, SafetyFlags::default());
    match format {
        Format::Text => {
            render::plan_text(context.stdout, &plan, context.style)?;
            render::needs_flags_text(context.stdout, &needs_flags, context.style)?;
        }
        Format::Json => render::plan_json(context.stdout, &plan, &calls, &needs_flags)?,
    }
    if context.verbose {
        print_api_calls(context.stderr, &calls)?;
    }

    if detailed_exitcode && plan.has_changes() {
        Ok(Status::Changes)
    } else {
        Ok(Status::Success)
    }
}
