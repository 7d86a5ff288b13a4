//! The automatic batcher: callers send one event at a time, and a background task sends the
//! pending events together in SendMessageBatch or PublishBatch requests.
//!
//! The task sends the pending messages as one batch when 10 are pending, when the next message
//! would take them past the target's size limit, or when the oldest has waited the linger.
//! Each caller gets the result of its own message. The task sends one batch at a time, in the
//! order the messages arrived, so a slow request or the publisher's retries delay the messages
//! queued behind it.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::batch::MAX_BATCH_ENTRIES;
use crate::envelope::{Envelope, Event};
use crate::publisher::{PreparedMessage, PublishError, Publisher};
use crate::requests::RequestCounts;

/// The default linger: the maximum time the oldest pending message waits for others to join
/// its batch.
pub const DEFAULT_LINGER: Duration = Duration::from_millis(20);
/// The number of commands the channel to the task buffers before `send` waits for room.
const COMMAND_CAPACITY: usize = 100;

/// Errors of sending through a [`Batcher`].
#[derive(Debug, thiserror::Error)]
pub enum BatcherError {
    /// The message was invalid or oversized, or failed after the publisher's retries.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// The batcher was closed before the message reached it.
    #[error(
        "event {event_id} was not sent because the batcher is closed; create a new Batcher to send more events"
    )]
    Closed { event_id: String },
    /// The task ended without a result for the message, which happens only when it panicked
    /// or its runtime shut down.
    #[error(
        "the batcher task stopped before it returned the result of event {event_id}, so the event may or may not have been sent"
    )]
    Stopped { event_id: String },
}

/// The channel that carries the result of one message back to its caller.
type Reply = oneshot::Sender<Result<String, PublishError>>;

enum Command {
    Send {
        message: PreparedMessage,
        queued_at: Instant,
        reply: Reply,
    },
    Flush {
        done: oneshot::Sender<()>,
    },
    Close,
}

/// A message waiting in the task for its batch.
struct PendingMessage {
    message: PreparedMessage,
    reply: Reply,
}

/// A handle to a background task that sends messages to one queue or topic in batches.
///
/// Clones share the task. The task sends what is pending and ends after [`Batcher::close`], or
/// when every handle has been dropped.
#[derive(Clone, Debug)]
pub struct Batcher {
    commands: mpsc::Sender<Command>,
    // The task never sends on this channel. It drops the sender when it ends, which wakes
    // `wait_stopped`.
    stopped: watch::Receiver<()>,
    publisher: Publisher,
}

impl Batcher {
    /// Starts a batcher with the [`DEFAULT_LINGER`].
    ///
    /// Panics outside a Tokio runtime, because it spawns the task.
    pub fn new(publisher: Publisher) -> Batcher {
        Batcher::with_linger(publisher, DEFAULT_LINGER)
    }

    /// Starts a batcher in which a partial batch is sent once its oldest message has waited
    /// `linger`.
    ///
    /// Panics outside a Tokio runtime, because it spawns the task.
    pub fn with_linger(publisher: Publisher, linger: Duration) -> Batcher {
        let (commands, receiver) = mpsc::channel(COMMAND_CAPACITY);
        let (stopped_sender, stopped) = watch::channel(());
        tokio::spawn(run(publisher.clone(), receiver, linger, stopped_sender));
        Batcher {
            commands,
            stopped,
            publisher,
        }
    }

    /// Returns the counts of the requests the publisher sent, by operation.
    pub fn requests(&self) -> &RequestCounts {
        self.publisher.requests()
    }

    /// Sends one event in the next batch and waits for its result. Returns the message id.
    ///
    /// An oversized event is rejected here, before it reaches the task. The event is sent even
    /// when the caller stops waiting after this call has handed it to the task.
    pub async fn send<T: Event>(&self, envelope: &Envelope<T>) -> Result<String, BatcherError> {
        let message = PreparedMessage::from_envelope(envelope).map_err(PublishError::from)?;
        self.send_prepared(message).await
    }

    /// Sends one prepared message like [`Batcher::send`], for callers that mix event types or
    /// serialize events themselves.
    pub async fn send_prepared(&self, message: PreparedMessage) -> Result<String, BatcherError> {
        self.publisher.check(&message)?;
        let event_id = message.message.event_id.clone();

        let (reply, result) = oneshot::channel();
        let command = Command::Send {
            message,
            queued_at: Instant::now(),
            reply,
        };
        if self.commands.send(command).await.is_err() {
            return Err(BatcherError::Closed { event_id });
        }
        match result.await {
            Ok(result) => Ok(result?),
            Err(_) => Err(BatcherError::Stopped { event_id }),
        }
    }

    /// Sends every pending message now, and returns once each message handed to the batcher
    /// before this call has its result. On a closed batcher, waits until the task has ended.
    pub async fn flush(&self) {
        let (done, finished) = oneshot::channel();
        if self.commands.send(Command::Flush { done }).await.is_err() {
            self.wait_stopped().await;
            return;
        }
        // An error means the task stopped, and the callers of the pending messages got
        // `BatcherError::Stopped`.
        let _ = finished.await;
    }

    /// Stops accepting messages, sends the pending ones and waits until the task has ended.
    /// Later sends on any handle return [`BatcherError::Closed`]. Closing twice is harmless.
    pub async fn close(&self) {
        // An error means the task is already closing or has ended.
        let _ = self.commands.send(Command::Close).await;
        self.wait_stopped().await;
    }

    async fn wait_stopped(&self) {
        let mut stopped = self.stopped.clone();
        while stopped.changed().await.is_ok() {}
    }
}

/// Runs the task: collects messages and sends each batch when it is due. Returns when the
/// channel is closed and empty, after sending what is pending.
async fn run(
    publisher: Publisher,
    mut commands: mpsc::Receiver<Command>,
    linger: Duration,
    _stopped: watch::Sender<()>,
) {
    let mut pending = PendingBatch::new(linger, publisher.max_message_size());
    loop {
        let command = match pending.deadline() {
            // Messages already in the channel come first: they queued while the previous
            // batch was being sent, so their linger may have passed, and they fill this batch
            // instead of going out one per request.
            Some(deadline) => tokio::select! {
                biased;
                command = commands.recv() => command,
                () = tokio::time::sleep_until(deadline) => {
                    send_pending(&publisher, pending.take()).await;
                    continue;
                }
            },
            None => commands.recv().await,
        };

        match command {
            Some(Command::Send {
                message,
                queued_at,
                reply,
            }) => {
                let size = message.message.size();
                let entry = PendingMessage { message, reply };
                if let Some(batch) = pending.push(entry, size, queued_at) {
                    send_pending(&publisher, batch).await;
                }
            }
            Some(Command::Flush { done }) => {
                send_pending(&publisher, pending.take()).await;
                let _ = done.send(());
            }
            // `recv` still returns the commands already buffered, then `None`.
            Some(Command::Close) => commands.close(),
            None => {
                send_pending(&publisher, pending.take()).await;
                return;
            }
        }
    }
}

/// Sends one batch and hands each caller its result.
async fn send_pending(publisher: &Publisher, batch: Vec<PendingMessage>) {
    if batch.is_empty() {
        return;
    }
    let (messages, replies): (Vec<PreparedMessage>, Vec<Reply>) = batch
        .into_iter()
        .map(|pending| (pending.message, pending.reply))
        .unzip();
    let results = publisher.publish_prepared(messages).await;
    for (reply, result) in replies.into_iter().zip(results) {
        if let Err(Err(error)) = reply.send(result) {
            tracing::warn!(%error, "a batched message failed after its caller stopped waiting");
        }
    }
}

/// Entries waiting to be sent together, and the rules that decide when to send them.
#[derive(Debug)]
struct PendingBatch<T> {
    linger: Duration,
    max_bytes: usize,
    entries: Vec<T>,
    bytes: usize,
    oldest: Option<Instant>,
}

impl<T> PendingBatch<T> {
    fn new(linger: Duration, max_bytes: usize) -> PendingBatch<T> {
        PendingBatch {
            linger,
            max_bytes,
            entries: Vec::new(),
            bytes: 0,
            oldest: None,
        }
    }

    /// Adds an entry of `size` bytes, queued at `queued_at`. Returns the entries to send now:
    /// the earlier entries when this one would take the batch past `max_bytes`, or every entry
    /// when this one is the 10th. The two never coincide: after the byte limit sends the
    /// earlier entries, only this one is pending (checked by the `debug_assert` below).
    fn push(&mut self, entry: T, size: usize, queued_at: Instant) -> Option<Vec<T>> {
        let mut ready = None;
        if !self.entries.is_empty() && self.bytes + size > self.max_bytes {
            ready = Some(self.take());
        }
        if self.entries.is_empty() {
            self.oldest = Some(queued_at);
        }
        self.entries.push(entry);
        self.bytes += size;
        if self.entries.len() >= MAX_BATCH_ENTRIES {
            debug_assert!(ready.is_none());
            return Some(self.take());
        }
        ready
    }

    /// Returns the time at which the pending entries are due, or `None` when none are pending.
    fn deadline(&self) -> Option<Instant> {
        self.oldest.map(|oldest| oldest + self.linger)
    }

    /// Removes and returns every pending entry.
    fn take(&mut self) -> Vec<T> {
        self.bytes = 0;
        self.oldest = None;
        std::mem::take(&mut self.entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINGER: Duration = Duration::from_millis(20);

    #[test]
    fn tenth_entry_returns_full_batch() {
        let start = Instant::now();
        let mut batch = PendingBatch::new(LINGER, 1_000);
        for index in 0..9 {
            assert_eq!(batch.push(index, 10, start), None);
        }

        assert_eq!(batch.push(9, 10, start), Some((0..10).collect()));
        assert_eq!(batch.deadline(), None);
        assert_eq!(batch.take(), Vec::<i32>::new());
    }

    #[test]
    fn byte_limit_sends_earlier_entries() {
        let start = Instant::now();
        let later = start + Duration::from_millis(5);
        let mut batch = PendingBatch::new(LINGER, 1_000);
        assert_eq!(batch.push("a", 400, start), None);
        assert_eq!(batch.push("b", 600, start), None);

        // 1,000 bytes are pending, so one more byte passes the limit.
        assert_eq!(batch.push("c", 1, later), Some(vec!["a", "b"]));
        assert_eq!(batch.deadline(), Some(later + LINGER));
        assert_eq!(batch.take(), vec!["c"]);
    }

    #[test]
    fn deadline_follows_oldest_entry() {
        let start = Instant::now();
        let mut batch = PendingBatch::new(LINGER, 1_000);
        assert_eq!(batch.deadline(), None);

        batch.push(1, 10, start);
        batch.push(2, 10, start + Duration::from_millis(15));
        assert_eq!(batch.deadline(), Some(start + LINGER));

        assert_eq!(batch.take(), vec![1, 2]);
        let restart = start + Duration::from_millis(40);
        batch.push(3, 10, restart);
        assert_eq!(batch.deadline(), Some(restart + LINGER));
    }

    #[test]
    fn bytes_restart_after_take() {
        let start = Instant::now();
        let mut batch = PendingBatch::new(LINGER, 1_000);
        batch.push(1, 900, start);
        batch.take();

        assert_eq!(batch.push(2, 900, start), None);
        assert_eq!(batch.take(), vec![2]);
    }

    #[test]
    fn closed_error_names_event() {
        let error = BatcherError::Closed {
            event_id: "e-7".into(),
        };
        assert_eq!(
            error.to_string(),
            "event e-7 was not sent because the batcher is closed; create a new Batcher to send more events"
        );
    }
}
