//! The trip service: publishes `trip.created` to the trip-events topic, which fans it out to
//! the notifications queue (filtered by event type) and the other subscribers.
//!
//! Usage: `cargo run -p sqsform-client --example trip_service -- [COUNT]` with the outputs of
//! `sqsform outputs --env local --format env` exported (COUNT trips, 3 by default).

mod events;

use std::process::ExitCode;

use events::TripCreated;
use sqsform_client::{Envelope, Publisher};

/// The trip-events topic keeps the SNS default MaximumMessageSize of 262,144 bytes.
const TOPIC_MAX_MESSAGE_SIZE: usize = 262_144;

#[tokio::main]
async fn main() -> ExitCode {
    events::init_logging();
    match publish_trips().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("trip_service: error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn publish_trips() -> Result<(), String> {
    let count: usize = match std::env::args().nth(1) {
        Some(argument) => argument
            .parse()
            .map_err(|_| format!("COUNT must be a whole number, got \"{argument}\""))?,
        None => 3,
    };
    let topic_arn = events::output("TRIP_EVENTS_TOPIC_ARN")?;
    let config = events::aws_config().await?;
    let publisher = Publisher::topic(
        aws_sdk_sns::Client::new(&config),
        topic_arn,
        TOPIC_MAX_MESSAGE_SIZE,
    );

    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default();
    // The event id derives from the trip id: a retried publish of the same trip is the same
    // event, which consumers with an idempotency store handle once.
    let trips: Vec<Envelope<TripCreated>> = (1..=count)
        .map(|number| {
            let trip_id = format!("trip-{run}-{number}");
            Envelope::now(
                format!("{trip_id}.created"),
                TripCreated {
                    trip_id,
                    rider_phone: format!("+9198000{number:05}"),
                    pickup: "Terminal 3, Indira Gandhi International Airport".to_string(),
                },
            )
        })
        .collect();

    let outcome = publisher
        .publish_batch(&trips)
        .await
        .map_err(|error| error.to_string())?;
    for event_id in &outcome.sent {
        tracing::info!(%event_id, "trip.created published");
    }
    for (event_id, reason) in &outcome.failed {
        tracing::error!(%event_id, %reason, "trip.created not published");
    }
    tracing::info!(
        sent = outcome.sent.len(),
        failed = outcome.failed.len(),
        requests = ?publisher.requests().snapshot(),
        "done"
    );
    if outcome.failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} of {count} events were not published",
            outcome.failed.len()
        ))
    }
}
