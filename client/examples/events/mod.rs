//! The events the DriversKlub examples exchange, and the shared set-up of the examples.

use serde::{Deserialize, Serialize};
use sqsform_client::Event;

/// A rider booked a trip.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TripCreated {
    pub trip_id: String,
    pub rider_phone: String,
    pub pickup: String,
}

impl Event for TripCreated {
    const EVENT_TYPE: &'static str = "trip.created";

    fn message_group(&self) -> Option<String> {
        Some(self.trip_id.clone())
    }
}

/// Reads a variable that `sqsform outputs --env local --format env` prints.
pub fn output(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| {
        format!(
            "{name} is not set; export the outputs first: set -a; eval \"$(sqsform outputs --env local --format env)\"; set +a"
        )
    })
}

/// Loads the AWS configuration from the environment and refuses to run without an
/// endpoint, so that an example never sends requests to real AWS by accident.
pub async fn aws_config() -> Result<aws_config::SdkConfig, String> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    if endpoint.is_empty() {
        return Err(
            "AWS_ENDPOINT_URL is not set; the examples run against the local emulator: source scripts/local-aws-env.sh and run export_local_aws_env \"$(scripts/local-aws endpoint)\""
                .to_string(),
        );
    }
    Ok(aws_config::load_from_env().await)
}

/// Logs to stderr at the level in RUST_LOG, info by default.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
