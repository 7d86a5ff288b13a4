//! The sqsform binary: parses the command line, runs one command and sets the exit code.
//!
//! Exit codes: 0 success or no changes, 1 error or refusal, 2 changes present (plan with
//! --detailed-exitcode, drift). Results go to stdout; diagnostics, progress and logs to stderr.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use sqsform::cli::{Cli, Command};
use sqsform::commands::{self, CommandError, Context, Status};
use sqsform::render::Style;
use sqsform::spec::{SpecError, SpecPaths};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // Exit code 2 means "changes present", so usage errors exit 1 like every other error.
            let _ = error.print();
            let code = if error.use_stderr() { 1 } else { 0 };
            return ExitCode::from(code);
        }
    };
    init_logging(
        cli.verbose,
        colour_allowed(cli.no_color) && std::io::stderr().is_terminal(),
    );

    let colour = colour_allowed(cli.no_color) && std::io::stdout().is_terminal();
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    let mut context = Context {
        paths: SpecPaths::beside(&cli.spec),
        style: Style { colour },
        verbose: cli.verbose > 0,
        stdout: &mut stdout,
        stderr: &mut stderr,
    };

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: failed to start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(run(&mut context, cli.command));
    match result {
        Ok(Status::Success) => ExitCode::SUCCESS,
        Ok(Status::Changes) => ExitCode::from(2),
        // A reader that stops early, as in `sqsform outputs | head`, is not an error.
        Err(CommandError::Io(error)) if error.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(error) => {
            report(error);
            ExitCode::from(1)
        }
    }
}

async fn run(context: &mut Context<'_>, command: Command) -> Result<Status, CommandError> {
    match command {
        Command::Validate { env } => commands::validate(context, env.as_deref()),
        Command::Plan {
            target,
            format,
            detailed_exitcode,
        } => commands::plan(context, &target, format, detailed_exitcode).await,
        Command::Apply { target, flags } => commands::apply(context, &target, &flags).await,
        Command::Drift { target, format } => commands::drift(context, &target, format).await,
        Command::Outputs { target, format } => commands::outputs(context, &target, format).await,
    }
}

/// Checks the colour switches: `--no-color`, a non-empty `NO_COLOR` (no-color.org) and
/// `TERM=dumb` turn colour off.
fn colour_allowed(no_color_flag: bool) -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    let dumb_terminal = std::env::var_os("TERM").is_some_and(|value| value == "dumb");
    !no_color_flag && !no_color && !dumb_terminal
}

/// Prints an error and its causes once, on stderr.
fn report(error: CommandError) {
    if let CommandError::Spec(SpecError::Invalid { diagnostics }) = &error {
        // The diagnostics are already printed; finish with the count.
        let errors = diagnostics
            .iter()
            .filter(|d| d.severity == sqsform::spec::Severity::Error)
            .count();
        eprintln!("error: the spec has {errors} error(s); nothing was sent to AWS");
        return;
    }
    eprintln!("error: {:#}", anyhow::Error::new(error));
}

fn init_logging(verbose: u8, colour: bool) {
    let default = match verbose {
        0 => "warn",
        1 => "sqsform=info,warn",
        _ => "sqsform=debug,info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SQSFORM_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(colour)
        .init();
}
