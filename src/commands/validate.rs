//! `sqsform validate`: offline checks of the spec and environment files.

use super::{CommandError, Context, Status, print_diagnostics};
use crate::spec::{self, SpecError};

/// Validates one environment, or every environment when `environment` is `None`. Prints one
/// line per valid environment on stdout and every diagnostic on stderr.
pub fn validate(
    context: &mut Context<'_>,
    environment: Option<&str>,
) -> Result<Status, CommandError> {
    let environments = match environment {
        Some(name) => vec![name.to_string()],
        None => spec::environments(&context.paths)?,
    };
    if environments.is_empty() {
        writeln!(
            context.stderr,
            "error: no environment files in {}",
            context.paths.environments_dir.display()
        )?;
        return Err(SpecError::Invalid {
            diagnostics: Vec::new(),
        }
        .into());
    }

    let mut failed = None;
    for name in &environments {
        match spec::load(&context.paths, name) {
            Ok(loaded) => {
                print_diagnostics(context.stderr, &loaded.warnings)?;
                writeln!(
                    context.stdout,
                    "{name}: valid, {} queue(s) named {}*",
                    loaded.desired.queues.len(),
                    loaded.desired.prefix
                )?;
            }
            Err(SpecError::Invalid { diagnostics }) => {
                print_diagnostics(context.stderr, &diagnostics)?;
                failed = Some(SpecError::Invalid { diagnostics });
            }
            Err(other) => return Err(other.into()),
        }
    }
    match failed {
        Some(error) => Err(error.into()),
        None => Ok(Status::Success),
    }
}
