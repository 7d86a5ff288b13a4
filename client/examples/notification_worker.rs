//! The notification worker: consumes the notifications queue and texts the rider for each
//! `trip.created`, through an SMS gateway that only logs in this example.
//!
//! Usage: `cargo run -p sqsform-client --example notification_worker -- [--stop-after N]` with
//! the outputs of `sqsform outputs --env local --format env` exported. It runs until Ctrl-C,
//! or until N messages have been handled.

mod events;

use std::future::Future;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use events::TripCreated;
use sqsform_client::idempotency::InMemoryStore;
use sqsform_client::{Consumer, Delivery, Envelope, HandlerError};

/// Sends text messages to phones.
trait SmsGateway: Send + Sync + 'static {
    fn send(&self, phone: &str, text: &str) -> impl Future<Output = Result<(), String>> + Send;
}

/// A gateway that logs each SMS instead of sending it.
struct LoggingGateway;

impl SmsGateway for LoggingGateway {
    async fn send(&self, phone: &str, text: &str) -> Result<(), String> {
        tracing::info!(%phone, %text, "SMS sent");
        Ok(())
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    events::init_logging();
    match consume().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("notification_worker: error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn stop_after() -> Result<Option<u64>, String> {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match arguments.as_slice() {
        [] => Ok(None),
        [flag, count] if flag == "--stop-after" => count
            .parse()
            .map(Some)
            .map_err(|_| format!("--stop-after takes a whole number, got \"{count}\"")),
        _ => Err("usage: notification_worker [--stop-after N]".to_string()),
    }
}

/// Texts the rider of a new trip. The queue also carries cancellations and completions,
/// which this worker does not text about, so they succeed without an SMS.
async fn notify(
    gateway: Arc<impl SmsGateway>,
    envelope: Envelope<serde_json::Value>,
    delivery: Delivery,
) -> Result<(), HandlerError> {
    if envelope.event_type != "trip.created" {
        tracing::debug!(event_type = %envelope.event_type, "no SMS for this event type");
        return Ok(());
    }
    let trip = envelope.decode::<TripCreated>()?;
    let text = format!(
        "Your DriversKlub ride {} is booked. Pickup: {}.",
        trip.data.trip_id, trip.data.pickup
    );
    tracing::debug!(receive_count = delivery.receive_count, "texting the rider");
    gateway
        .send(&trip.data.rider_phone, &text)
        .await
        .map_err(HandlerError::new)
}

async fn consume() -> Result<(), String> {
    let stop_after = stop_after()?;
    let queue_url = events::output("NOTIFICATIONS_QUEUE_URL")?;
    let dead_letter_url = events::output("NOTIFICATIONS_DLQ_QUEUE_URL")?;
    let config = events::aws_config().await?;

    let gateway = Arc::new(LoggingGateway);
    let handler = move |envelope: Envelope<serde_json::Value>, delivery: Delivery| {
        notify(Arc::clone(&gateway), envelope, delivery)
    };
    // This process does not text again for an event it completed in the last day, and a
    // crashed handler's claim lapses after one visibility timeout.
    let store = InMemoryStore::new(Duration::from_secs(86_400), Duration::from_secs(30));
    // A worker that stops after N messages polls 2 s at a time, so its shutdown, which waits
    // for the poll in flight, is quick. A long-running worker polls the full 20 s, which costs
    // the fewest requests on an idle queue.
    let wait_time = if stop_after.is_some() {
        Duration::from_secs(2)
    } else {
        Duration::from_secs(20)
    };
    let consumer = Consumer::any_event(aws_sdk_sqs::Client::new(&config), queue_url, handler)
        .dead_letter_queue(dead_letter_url)
        .concurrency(8)
        .visibility_timeout(Duration::from_secs(30))
        .wait_time(wait_time)
        .idempotency(store);
    let stats = consumer.stats();
    let requests = consumer.requests();

    let shutdown = async move {
        let enough = async {
            match stop_after {
                Some(count) => {
                    while stats.snapshot().succeeded + stats.snapshot().duplicates < count {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C received"),
            () = enough => tracing::info!("handled the requested number of messages"),
        }
    };
    let totals = consumer
        .run(shutdown)
        .await
        .map_err(|error| error.to_string())?;
    tracing::info!(?totals, requests = ?requests.snapshot(), "notification worker stopped");
    Ok(())
}
