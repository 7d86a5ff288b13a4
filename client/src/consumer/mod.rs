//! Consuming events from a queue.
//!
//! A [`Consumer`] long-polls one queue, decodes each body as an [`Envelope`], and runs a
//! [`Handler`] on up to `concurrency` messages at a time:
//!
//! - success deletes the message, batched by [`DeleteBuffer`](crate::deletes::DeleteBuffer);
//! - failure makes it visible again after the [`RetryBackoff`] delay for its receive count,
//!   so the queue's redrive policy moves it to the dead-letter queue after maxReceiveCount
//!   receives;
//! - a body that is not a valid envelope goes to the configured dead-letter queue at once, or
//!   is left to redrive when none is configured;
//! - messages of one FIFO group run one at a time in order, and a failure releases the later
//!   messages of the group with the failed one;
//! - a heartbeat extends the visibility of every message in hand before it lapses;
//! - the shutdown future stops the receives, lets running handlers finish until the shutdown
//!   timeout, flushes the deletes, and releases unstarted messages at once.

mod run;
mod sqs;
mod stats;

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

pub use sqs::DEAD_LETTER_REASON_ATTRIBUTE;
pub use stats::{ConsumerStats, StatsSnapshot};

use crate::backoff::{MAX_VISIBILITY, RetryBackoff};
use crate::envelope::{Envelope, EnvelopeError, Event};
use crate::idempotency::{IdempotencyStore, NoIdempotency};
use crate::requests::RequestCounts;
use sqs::QueueClient;

/// SQS returns at most 10 messages per ReceiveMessage.
pub const MAX_RECEIVE_MESSAGES: i32 = 10;
/// SQS keeps a long poll open for at most 20 seconds.
pub const MAX_WAIT_TIME: Duration = Duration::from_secs(20);

/// Delivery details that the handler receives with the event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub message_id: String,
    /// ApproximateReceiveCount: 1 on the first delivery.
    pub receive_count: u32,
    /// The FIFO message group, absent on standard queues.
    pub group: Option<String>,
}

/// A handler failure. The message is retried after the backoff delay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandlerError {
    message: String,
}

impl HandlerError {
    pub fn new(message: impl Into<String>) -> HandlerError {
        HandlerError {
            message: message.into(),
        }
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.message)
    }
}

impl<E: std::error::Error> From<E> for HandlerError {
    fn from(error: E) -> HandlerError {
        HandlerError::new(error.to_string())
    }
}

/// Handles one event. Closures `Fn(Envelope<T>, Delivery) -> impl Future<Output =
/// Result<(), HandlerError>>` are handlers.
pub trait Handler<T>: Send + Sync + 'static {
    fn handle(
        &self,
        envelope: Envelope<T>,
        delivery: Delivery,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send;
}

impl<T, F, Fut> Handler<T> for F
where
    F: Fn(Envelope<T>, Delivery) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send,
{
    fn handle(
        &self,
        envelope: Envelope<T>,
        delivery: Delivery,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send {
        self(envelope, delivery)
    }
}

/// Errors that stop a consumer before it receives anything.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConsumerError {
    #[error("invalid consumer setting: {0}")]
    InvalidSetting(String),
}

/// Tuning of a consumer. The defaults suit handlers that finish in seconds.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub concurrency: usize,
    pub max_messages: i32,
    pub wait_time: Duration,
    pub visibility_timeout: Duration,
    pub backoff: RetryBackoff,
    pub delete_delay: Duration,
    pub shutdown_timeout: Duration,
    pub first_receive_error_delay: Duration,
    pub max_receive_error_delay: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            concurrency: 8,
            max_messages: MAX_RECEIVE_MESSAGES,
            wait_time: MAX_WAIT_TIME,
            visibility_timeout: Duration::from_secs(30),
            backoff: RetryBackoff::default(),
            delete_delay: Duration::from_millis(100),
            shutdown_timeout: Duration::from_secs(30),
            first_receive_error_delay: Duration::from_secs(1),
            max_receive_error_delay: Duration::from_secs(30),
        }
    }
}

impl Settings {
    fn validate(&self) -> Result<(), ConsumerError> {
        let invalid = |message: String| Err(ConsumerError::InvalidSetting(message));
        if self.concurrency == 0 {
            return invalid("concurrency must be at least 1, got 0".to_string());
        }
        if !(1..=MAX_RECEIVE_MESSAGES).contains(&self.max_messages) {
            return invalid(format!(
                "max_messages must be from 1 to {MAX_RECEIVE_MESSAGES}, got {}",
                self.max_messages
            ));
        }
        if self.wait_time > MAX_WAIT_TIME {
            return invalid(format!(
                "wait_time must be at most 20 s, got {} s",
                self.wait_time.as_secs_f64()
            ));
        }
        if self.visibility_timeout < Duration::from_secs(1)
            || self.visibility_timeout > MAX_VISIBILITY
        {
            return invalid(format!(
                "visibility_timeout must be from 1 s to 43200 s (12 hours), got {} s",
                self.visibility_timeout.as_secs_f64()
            ));
        }
        if self.first_receive_error_delay.is_zero() {
            return invalid(
                "receive_error_delay must pause more than 0 s after a failed receive, or a failing receive repeats at once"
                    .to_string(),
            );
        }
        if self.max_receive_error_delay < self.first_receive_error_delay {
            return invalid(format!(
                "receive_error_delay max ({} s) must be at least its first pause ({} s)",
                self.max_receive_error_delay.as_secs_f64(),
                self.first_receive_error_delay.as_secs_f64()
            ));
        }
        Ok(())
    }
}

/// Consumes events of type `T` from one queue: one event type with [`Consumer::new`], or
/// several with [`Consumer::any_event`].
pub struct Consumer<T, H, S = NoIdempotency> {
    queue: QueueClient,
    dead_letter: Option<QueueClient>,
    handler: Arc<H>,
    store: Arc<S>,
    decode: Decode<T>,
    settings: Settings,
    stats: ConsumerStats,
    event: PhantomData<fn() -> T>,
}

/// Turns a message body into an envelope, or fails with the reason it is undecodable.
type Decode<T> = fn(&str) -> Result<Envelope<T>, EnvelopeError>;

impl<T, H> Consumer<T, H, NoIdempotency>
where
    T: Event + Send + 'static,
    H: Handler<T>,
{
    /// Consumes events of type `T` from `queue_url` with `handler`. A message whose
    /// `eventType` is not `T::EVENT_TYPE` is undecodable. FIFO queues are recognized by their
    /// `.fifo` name.
    pub fn new(
        client: aws_sdk_sqs::Client,
        queue_url: impl Into<String>,
        handler: H,
    ) -> Consumer<T, H, NoIdempotency> {
        Consumer::with_decoder(client, queue_url, handler, Envelope::<T>::from_body)
    }
}

impl<T, H> Consumer<T, H, NoIdempotency>
where
    T: DeserializeOwned + Send + 'static,
    H: Handler<T>,
{
    /// Consumes events of every type from `queue_url`: any envelope whose data decodes as `T`
    /// reaches the handler, which dispatches on `envelope.event_type`. Use it with
    /// `T = serde_json::Value` and [`Envelope::decode`] for a queue that carries several
    /// event types.
    pub fn any_event(
        client: aws_sdk_sqs::Client,
        queue_url: impl Into<String>,
        handler: H,
    ) -> Consumer<T, H, NoIdempotency> {
        Consumer::with_decoder(client, queue_url, handler, Envelope::<T>::parse)
    }

    fn with_decoder(
        client: aws_sdk_sqs::Client,
        queue_url: impl Into<String>,
        handler: H,
        decode: Decode<T>,
    ) -> Consumer<T, H, NoIdempotency> {
        Consumer {
            queue: QueueClient {
                client,
                url: queue_url.into(),
                requests: RequestCounts::default(),
            },
            dead_letter: None,
            handler: Arc::new(handler),
            store: Arc::new(NoIdempotency),
            decode,
            settings: Settings::default(),
            stats: ConsumerStats::default(),
            event: PhantomData,
        }
    }
}

impl<T, H, S> Consumer<T, H, S>
where
    T: DeserializeOwned + Send + 'static,
    H: Handler<T>,
    S: IdempotencyStore + 'static,
{
    /// Checks each event id in `store` before handling, so that a delivery of an event
    /// already completed is deleted without calling the handler.
    pub fn idempotency<S2: IdempotencyStore + 'static>(self, store: S2) -> Consumer<T, H, S2> {
        Consumer {
            queue: self.queue,
            dead_letter: self.dead_letter,
            handler: self.handler,
            store: Arc::new(store),
            decode: self.decode,
            settings: self.settings,
            stats: self.stats,
            event: PhantomData,
        }
    }

    /// Sends messages whose body is not a valid envelope to `queue_url`, with the reason in
    /// the `deadLetterReason` attribute, and deletes them from the source queue. Without it,
    /// such messages are left for the queue's redrive policy.
    pub fn dead_letter_queue(mut self, queue_url: impl Into<String>) -> Self {
        self.dead_letter = Some(QueueClient {
            client: self.queue.client.clone(),
            url: queue_url.into(),
            requests: self.queue.requests.clone(),
        });
        self
    }

    /// Sets how many handlers run at once (default 8).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.settings.concurrency = concurrency;
        self
    }

    /// Sets the messages asked for per receive, 1 to 10 (default 10).
    pub fn max_messages(mut self, max_messages: i32) -> Self {
        self.settings.max_messages = max_messages;
        self
    }

    /// Sets the long-poll wait of each receive, at most 20 s (default 20 s). A shutdown
    /// waits for the receive in flight, so this bounds how long a shutdown takes to begin.
    pub fn wait_time(mut self, wait_time: Duration) -> Self {
        self.settings.wait_time = wait_time;
        self
    }

    /// Sets the visibility timeout asked for on each receive and each heartbeat extension,
    /// in whole seconds from 1 s to 12 hours (default 30 s).
    pub fn visibility_timeout(mut self, visibility_timeout: Duration) -> Self {
        self.settings.visibility_timeout = visibility_timeout;
        self
    }

    /// Sets the delays before a failed message is received again (default 1 s, 2 s, 4 s).
    pub fn retry_backoff(mut self, backoff: RetryBackoff) -> Self {
        self.settings.backoff = backoff;
        self
    }

    /// Sets how long a partial batch of deletes waits for more (default 100 ms).
    pub fn delete_delay(mut self, delay: Duration) -> Self {
        self.settings.delete_delay = delay;
        self
    }

    /// Sets how long running handlers may take to finish after the shutdown signal (default
    /// 30 s). Handlers still running then are cancelled and their messages released.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.settings.shutdown_timeout = timeout;
        self
    }

    /// Sets the first and the longest pause after a failed receive (default 1 s and 30 s).
    /// The pause doubles on each failure in a row.
    pub fn receive_error_delay(mut self, first: Duration, max: Duration) -> Self {
        self.settings.first_receive_error_delay = first;
        self.settings.max_receive_error_delay = max;
        self
    }

    /// Returns the live message counters.
    pub fn stats(&self) -> ConsumerStats {
        self.stats.clone()
    }

    /// Returns the counts of the requests sent to SQS, by operation.
    pub fn requests(&self) -> RequestCounts {
        self.queue.requests.clone()
    }

    /// Consumes until `shutdown` completes, then shuts down gracefully and returns the final
    /// counters.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()>,
    ) -> Result<StatsSnapshot, ConsumerError> {
        self.settings.validate()?;
        if self.settings.shutdown_timeout.is_zero() {
            tracing::debug!("shutdown timeout is zero: running handlers are cancelled at once");
        }
        let stats = self.stats.clone();
        run::Run::new(self).run(shutdown).await;
        Ok(stats.snapshot())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_settings_are_valid() {
        assert_eq!(Settings::default().validate(), Ok(()));
    }

    #[test]
    fn invalid_settings_are_rejected() {
        let cases = [
            (
                Settings {
                    concurrency: 0,
                    ..Settings::default()
                },
                "invalid consumer setting: concurrency must be at least 1, got 0",
            ),
            (
                Settings {
                    max_messages: 11,
                    ..Settings::default()
                },
                "invalid consumer setting: max_messages must be from 1 to 10, got 11",
            ),
            (
                Settings {
                    wait_time: Duration::from_secs(21),
                    ..Settings::default()
                },
                "invalid consumer setting: wait_time must be at most 20 s, got 21 s",
            ),
            (
                Settings {
                    visibility_timeout: Duration::from_millis(500),
                    ..Settings::default()
                },
                "invalid consumer setting: visibility_timeout must be from 1 s to 43200 s (12 hours), got 0.5 s",
            ),
            (
                Settings {
                    first_receive_error_delay: Duration::ZERO,
                    max_receive_error_delay: Duration::ZERO,
                    ..Settings::default()
                },
                "invalid consumer setting: receive_error_delay must pause more than 0 s after a failed receive, or a failing receive repeats at once",
            ),
            (
                Settings {
                    first_receive_error_delay: Duration::from_secs(5),
                    max_receive_error_delay: Duration::from_secs(1),
                    ..Settings::default()
                },
                "invalid consumer setting: receive_error_delay max (1 s) must be at least its first pause (5 s)",
            ),
        ];
        for (settings, expected) in cases {
            let error = settings.validate().unwrap_err();
            assert_eq!(error.to_string(), expected);
        }
    }

    /// A `Send` event type that is not `Sync` still gives a `Send` run future, so the
    /// consumer can be spawned. This is checked when compiling, and the future is never polled.
    #[test]
    fn run_future_is_send_without_sync_events() {
        fn assert_send<F: Future + Send>(_: &F) {}

        #[derive(serde::Deserialize)]
        struct Tally {
            _count: std::cell::Cell<u32>,
        }

        let config = aws_sdk_sqs::Config::builder()
            .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
            .region(aws_sdk_sqs::config::Region::new("us-east-1"))
            .build();
        let handler = |_: Envelope<Tally>, _: Delivery| async { Ok(()) };
        let consumer = Consumer::any_event(
            aws_sdk_sqs::Client::from_conf(config),
            "http://127.0.0.1:9/000000000000/unused",
            handler,
        );
        let future = consumer.run(std::future::pending::<()>());
        assert_send(&future);
    }

    #[test]
    fn handler_error_from_std_error() {
        let error: HandlerError = "x".parse::<u32>().unwrap_err().into();
        assert_eq!(error.to_string(), "invalid digit found in string");
    }
}
