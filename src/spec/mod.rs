//! The YAML spec: `queues.yaml` plus one overlay per environment in `environments/`.
//!
//! [`load`] reads both files, merges the overlay, validates everything offline and resolves the
//! result into a [`DesiredState`]. Every error is collected, so one run lists them all, each
//! naming the file, the YAML path and, where known, the line and column. This module is the only
//! one that parses YAML, so replacing serde_yaml with a maintained fork touches nothing else.

mod access;
mod alarms;
mod duration;
mod positions;
mod raw;
mod resolve;
mod source;
#[cfg(test)]
mod tests;
mod topics;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use duration::Seconds;
pub use positions::{Position, YamlPath};
pub(crate) use resolve::is_loopback_url;

use crate::model::DesiredState;
use source::SourceFile;

/// How serious a diagnostic is: errors stop the run, warnings are printed and the run goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in the spec.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The file the offending value was written in.
    pub file: String,
    /// The YAML path inside that file, such as `queues.trip-events.visibility_timeout`.
    pub path: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    /// Writes `file:line:column: path: message`, leaving out the position when it is unknown.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.file)?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(formatter, ":{line}:{column}")?;
        }
        write!(formatter, ": {}: {}", self.path, self.message)
    }
}

/// Errors from loading a spec.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// A spec or environment file could not be read.
    #[error("failed to read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The spec file does not exist or is not a file.
    #[error(
        "spec file {path} not found; pass --spec or run sqsform in the folder that holds queues.yaml"
    )]
    SpecNotFound { path: String },
    /// The environment name cannot name a file in the environments folder.
    #[error(
        "invalid environment name \"{environment}\": use letters, digits, hyphens and underscores"
    )]
    InvalidEnvironmentName { environment: String },
    /// The environments folder contains no environment file.
    #[error(
        "no environment files (*.yaml) in {path}; create one per environment, such as {path}/dev.yaml"
    )]
    NoEnvironments { path: String },
    /// No file exists for the requested environment.
    #[error(
        "environment \"{environment}\" not found: {path} does not exist (environments found: {known})"
    )]
    UnknownEnvironment {
        environment: String,
        path: String,
        known: String,
    },
    /// The spec has one or more errors; `diagnostics` also contains any warnings.
    #[error("the spec has {count} error(s)", count = .diagnostics.iter().filter(|d| d.severity == Severity::Error).count())]
    Invalid { diagnostics: Vec<Diagnostic> },
}

/// Where the spec and its environment files are.
#[derive(Clone, Debug)]
pub struct SpecPaths {
    pub spec: PathBuf,
    pub environments_dir: PathBuf,
}

impl SpecPaths {
    /// Uses `spec` and the `environments/` folder beside it.
    pub fn beside(spec: impl Into<PathBuf>) -> SpecPaths {
        let spec = spec.into();
        let environments_dir = spec
            .parent()
            .map(|parent| parent.join("environments"))
            .unwrap_or_else(|| PathBuf::from("environments"));
        SpecPaths {
            spec,
            environments_dir,
        }
    }

    /// Returns the file of an environment.
    pub fn environment_file(&self, environment: &str) -> PathBuf {
        self.environments_dir.join(format!("{environment}.yaml"))
    }
}

/// A resolved environment and the warnings found on the way.
#[derive(Debug)]
pub struct Loaded {
    pub desired: DesiredState,
    pub warnings: Vec<Diagnostic>,
}

/// Lists the environments that have a file, sorted by name.
pub fn environments(paths: &SpecPaths) -> Result<Vec<String>, SpecError> {
    let entries = std::fs::read_dir(&paths.environments_dir).map_err(|source| SpecError::Read {
        path: paths.environments_dir.display().to_string(),
        source,
    })?;
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let path = entry.path();
            let is_yaml = path
                .extension()
                .is_some_and(|extension| extension == "yaml");
            let stem = path.file_stem()?.to_str()?.to_string();
            is_yaml.then_some(stem)
        })
        .collect();
    names.sort();
    Ok(names)
}

/// Loads, validates and resolves the spec for one environment, with no AWS call.
pub fn load(paths: &SpecPaths, environment: &str) -> Result<Loaded, SpecError> {
    let spec = read(&paths.spec)?;
    let valid_name = !environment.is_empty()
        && environment.chars().all(|character| {
            character.is_ascii_alphanumeric() || character == '-' || character == '_'
        });
    if !valid_name {
        return Err(SpecError::InvalidEnvironmentName {
            environment: environment.to_string(),
        });
    }
    let environment_path = paths.environment_file(environment);
    if !environment_path.is_file() {
        let known = environments(paths).unwrap_or_default();
        return Err(SpecError::UnknownEnvironment {
            environment: environment.to_string(),
            path: environment_path.display().to_string(),
            known: if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            },
        });
    }
    let files = [spec, read(&environment_path)?];
    let (desired, mut diagnostics) = resolve::resolve(&files, environment);
    sort_diagnostics(&mut diagnostics);
    match desired {
        Some(desired) if !diagnostics.iter().any(|d| d.severity == Severity::Error) => Ok(Loaded {
            desired,
            warnings: diagnostics,
        }),
        _ => Err(SpecError::Invalid { diagnostics }),
    }
}

/// Loads a spec from text, for tests and tools that hold the files in memory.
pub fn load_from_text(
    spec_name: &str,
    spec_text: &str,
    environment: &str,
    environment_text: &str,
) -> Result<Loaded, SpecError> {
    let files = [
        SourceFile::new(PathBuf::from(spec_name), spec_text.to_string()),
        SourceFile::new(
            PathBuf::from(format!("environments/{environment}.yaml")),
            environment_text.to_string(),
        ),
    ];
    let (desired, mut diagnostics) = resolve::resolve(&files, environment);
    sort_diagnostics(&mut diagnostics);
    match desired {
        Some(desired) if !diagnostics.iter().any(|d| d.severity == Severity::Error) => Ok(Loaded {
            desired,
            warnings: diagnostics,
        }),
        _ => Err(SpecError::Invalid { diagnostics }),
    }
}

/// Orders diagnostics by file, line and column, so they read top to bottom.
fn sort_diagnostics(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|left, right| {
        (&left.file, left.line.unwrap_or(0), left.column.unwrap_or(0)).cmp(&(
            &right.file,
            right.line.unwrap_or(0),
            right.column.unwrap_or(0),
        ))
    });
}

fn read(path: &Path) -> Result<SourceFile, SpecError> {
    if !path.is_file() {
        return Err(SpecError::SpecNotFound {
            path: path.display().to_string(),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
        path: path.display().to_string(),
        source,
    })?;
    // A byte order mark is legal at the start of a UTF-8 file but not YAML content.
    let text = text
        .strip_prefix('\u{feff}')
        .map(str::to_string)
        .unwrap_or(text);
    Ok(SourceFile::new(path.to_path_buf(), text))
}
