//! `sqsform validate`: offline checks of the spec and environment files.

use super::{CommandError, Context, Status, print_diagnostics};
use crate::spec::{self, Diagnostic, Severity, SpecError};

/// Validates one environment, or every environment when `environment` is `None`. Prints one
/// line per valid environment on stdout and every diagnostic once on stderr: an error in
/// queues.yaml shows up in every environment, so it is listed once.
pub fn validate(
    context: &mut Context<'_>,
    environment: Option<&str>,
) -> Result<Status, CommandError> {
    let environments = match environment {
        Some(name) => vec![name.to_string()],
        None => spec::environments(&context.paths)?,
    };
    if environments.is_empty() {
        return Err(SpecError::NoEnvironments {
            path: context.paths.environments_dir.display().to_string(),
        }
        .into());
    }

    let mut collected: Vec<Diagnostic> = Vec::new();
    for name in &environments {
        let diagnostics = match spec::load(&context.paths, name) {
            Ok(loaded) => {
                writeln!(
                    context.stdout,
                    "{name}: valid, {} queue(s) named {}*, {} IAM policy(ies), {} alarm(s), {} topic(s){}",
                    loaded.desired.queues.len(),
                    loaded.desired.prefix,
                    loaded.desired.service_policies.len(),
                    loaded.desired.alarms.len(),
                    loaded.desired.topics.len(),
                    if loaded.desired.dashboard.is_some() {
                        ", a dashboard"
                    } else {
                        ""
                    }
                )?;
                loaded.warnings
            }
            Err(SpecError::Invalid { diagnostics }) => diagnostics,
            Err(other) => return Err(other.into()),
        };
        for diagnostic in diagnostics {
            if !collected.contains(&diagnostic) {
                collected.push(diagnostic);
            }
        }
    }

    print_diagnostics(context.stderr, &collected)?;
    if collected
        .iter()
        .any(|diagnostic| diagnostic.severity == Severity::Error)
    {
        return Err(SpecError::Invalid {
            diagnostics: collected,
        }
        .into());
    }
    Ok(Status::Success)
}
