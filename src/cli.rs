//! Command-line definitions (clap derive only; the commands live in `commands`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Declarative provisioning for Amazon SQS: plan, apply and drift from queues.yaml.
#[derive(Debug, Parser)]
#[command(name = "sqsform", version, about)]
pub struct Cli {
    /// Path of the spec; environment files are read from the environments/ folder beside it.
    #[arg(
        long,
        global = true,
        default_value = "queues.yaml",
        env = "SQSFORM_SPEC"
    )]
    pub spec: PathBuf,

    /// More output on stderr: -v for changes made and API call counts, -vv for debug logs.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Never colour the output (NO_COLOR in the environment does the same).
    #[arg(long, global = true)]
    pub no_color: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the spec and environment files offline; makes no AWS call.
    Validate {
        /// Environment to check; all environments when left out.
        #[arg(long)]
        env: Option<String>,
    },
    /// Show what apply would change. Exit code 0 on success, 1 on error; with
    /// --detailed-exitcode, 0 means no changes and 2 means changes.
    Plan {
        #[command(flatten)]
        target: Target,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Exit 2 when the plan has changes and 0 when it has none.
        #[arg(long)]
        detailed_exitcode: bool,
    },
    /// Change AWS to match the spec, after showing the plan.
    Apply {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        flags: ApplyFlags,
    },
    /// Compare AWS with the spec. Exit code 0 in sync, 2 drifted, 1 error.
    Drift {
        #[command(flatten)]
        target: Target,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Print the URL and ARN of every queue, by its name in the spec.
    Outputs {
        #[command(flatten)]
        target: Target,
        #[arg(long, value_enum, default_value_t = OutputFormat::Json)]
        format: OutputFormat,
    },
}

/// The environment a command works on and how hard it may query AWS.
#[derive(Debug, Args, Clone)]
pub struct Target {
    /// Environment name: a file environments/<name>.yaml.
    #[arg(long)]
    pub env: String,
    /// Queues read or changed at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
}

/// Flags of `apply`.
#[derive(Debug, Args, Clone, Default)]
pub struct ApplyFlags {
    /// Apply without asking for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// Allow deleting managed queues that were removed from the spec, and replacing queues.
    #[arg(long)]
    pub allow_delete: bool,
    /// Allow deleting or replacing queues that hold messages.
    #[arg(long)]
    pub allow_data_loss: bool,
    /// Take over queues that have a spec name but no sqsform ownership tags.
    #[arg(long)]
    pub adopt: bool,
    /// Seconds to wait for AWS to show every change after applying.
    #[arg(long, default_value_t = 120)]
    pub wait: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Json,
    /// Shell-style NAME=value lines, such as TRIP_EVENTS_QUEUE_URL=...
    Env,
}
