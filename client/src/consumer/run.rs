//! The consumer's event loop: one task owns the receive, the handlers, the deletes and the
//! heartbeat, so no lock is needed around the messages in hand.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::error::SdkError;
use aws_sdk_sqs::operation::receive_message::ReceiveMessageError;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use serde::de::DeserializeOwned;
use tokio::task::{Id, JoinError, JoinHandle, JoinSet};
use tokio::time::{Instant, sleep_until};
use tracing::Instrument;

use super::sqs::{QueueClient, ReceiveFailure, VisibilityChange, classify};
use super::stats::{ConsumerStats, Counter};
use super::{Consumer, Delivery, Handler, Settings};
use crate::deletes::DeleteBuffer;
use crate::envelope::Envelope;
use crate::fifo::GroupScheduler;
use crate::heartbeat::Heartbeat;
use crate::idempotency::{Claim, IdempotencyStore};

/// A pause after an empty receive when long polling is off, so an empty queue is not
/// polled in a tight loop.
const EMPTY_RECEIVE_PAUSE: Duration = Duration::from_secs(1);

/// The end of a handler task.
#[derive(Debug)]
enum TaskResult {
    Succeeded,
    Failed(String),
    /// The handler panicked, so its idempotency claim is still held.
    Panicked(String),
    /// The idempotency store had completed the event before.
    Duplicate,
    /// Another delivery of the event is being handled.
    InProgress,
}

/// A message received and not yet deleted or released.
struct InHand<T> {
    message: Message,
    receipt_handle: String,
    event_id: String,
    receive_count: u32,
    group: Option<String>,
    /// When the receive was sent, which is no later than when SQS started the visibility.
    received_at: Instant,
    visible_until: Instant,
    /// False once the visibility reached the 12-hour limit and cannot be extended.
    extendable: bool,
    /// The decoded event until its handler starts.
    envelope: Option<Envelope<T>>,
    running: bool,
}

type ReceiveResult = (Instant, Result<Vec<Message>, SdkError<ReceiveMessageError>>);

pub(super) struct Run<T, H, S> {
    queue: QueueClient,
    dead_letter: Option<QueueClient>,
    handler: Arc<H>,
    store: Arc<S>,
    decode: super::Decode<T>,
    settings: Settings,
    stats: ConsumerStats,
    fifo: bool,
    heartbeat: Heartbeat,

    next_key: u64,
    in_hand: HashMap<u64, InHand<T>>,
    scheduler: GroupScheduler<u64>,
    tasks: JoinSet<(u64, TaskResult)>,
    task_keys: HashMap<Id, u64>,
    deletes: DeleteBuffer,
    receive: Option<JoinHandle<ReceiveResult>>,
    receive_not_before: Option<Instant>,
    receive_error_delay: Duration,
    shutting_down: bool,
    /// Messages to make visible at once, kept until no receive is in flight, because that
    /// receive could take them again and raise their receive count for nothing.
    deferred_releases: Vec<VisibilityChange>,
    /// When running handlers are cancelled, set from the shutdown signal until they are.
    shutdown_deadline: Option<Instant>,
}

impl<T, H, S> Run<T, H, S>
where
    T: DeserializeOwned + Send + 'static,
    H: Handler<T>,
    S: IdempotencyStore + 'static,
{
    pub(super) fn new(consumer: Consumer<T, H, S>) -> Run<T, H, S> {
        let settings = consumer.settings;
        Run {
            fifo: consumer.queue.url.ends_with(".fifo"),
            heartbeat: Heartbeat::for_visibility(settings.visibility_timeout),
            deletes: DeleteBuffer::new(settings.delete_delay),
            receive_error_delay: settings.first_receive_error_delay,
            queue: consumer.queue,
            dead_letter: consumer.dead_letter,
            handler: consumer.handler,
            store: consumer.store,
            decode: consumer.decode,
            settings,
            stats: consumer.stats,
            next_key: 0,
            in_hand: HashMap::new(),
            scheduler: GroupScheduler::new(),
            tasks: JoinSet::new(),
            task_keys: HashMap::new(),
            receive: None,
            receive_not_before: None,
            shutting_down: false,
            deferred_releases: Vec::new(),
            shutdown_deadline: None,
        }
    }

    pub(super) async fn run(mut self, shutdown: impl Future<Output = ()>) {
        tracing::info!(queue = %self.queue.url, concurrency = self.settings.concurrency, "consumer started");
        tokio::pin!(shutdown);
        loop {
            // A shutdown that is already complete must stop the loop before it starts a
            // receive, so check it without waiting.
            if !self.shutting_down {
                tokio::select! {
                    biased;
                    () = &mut shutdown => self.begin_shutdown(),
                    () = std::future::ready(()) => {}
                }
            }
            if self.receive.is_none() && !self.deferred_releases.is_empty() {
                let releases = std::mem::take(&mut self.deferred_releases);
                change_visibility(&self.queue, releases).await;
            }
            self.start_handlers();
            let shutting_down = self.shutting_down;
            if shutting_down && self.tasks.is_empty() && self.receive.is_none() {
                break;
            }
            self.maybe_receive();

            let delete_at = self.deletes.deadline().map(Instant::from_std);
            let heartbeat_at = self.next_heartbeat();
            tokio::select! {
                () = &mut shutdown, if !shutting_down => self.begin_shutdown(),
                joined = wait_receive(&mut self.receive) => {
                    self.receive = None;
                    self.on_receive(joined).await;
                }
                Some(joined) = self.tasks.join_next_with_id(), if !self.tasks.is_empty() => {
                    self.on_task(joined).await;
                }
                () = sleep_until_some(delete_at) => {
                    if let Some(batch) = self.deletes.poll(std::time::Instant::now()) {
                        delete(&self.queue, batch).await;
                    }
                }
                () = sleep_until_some(heartbeat_at) => self.extend_visibility().await,
                () = sleep_until_some(self.receive_not_before), if self.receive.is_none() => {
                    self.receive_not_before = None;
                }
                () = sleep_until_some(self.shutdown_deadline) => self.cancel_handlers().await,
            }
        }
        if !self.deferred_releases.is_empty() {
            let releases = std::mem::take(&mut self.deferred_releases);
            change_visibility(&self.queue, releases).await;
        }
        if let Some(batch) = self.deletes.drain() {
            delete(&self.queue, batch).await;
        }
        let stats = self.stats.snapshot();
        tracing::info!(
            queue = %self.queue.url,
            received = stats.received,
            succeeded = stats.succeeded,
            retried = stats.retried,
            dead_lettered = stats.dead_lettered,
            duplicates = stats.duplicates,
            released = stats.released,
            "consumer stopped"
        );
    }

    /// Starts a receive when there is room for more messages and no pause is pending.
    fn maybe_receive(&mut self) {
        let room = self.in_hand.len() < self.settings.concurrency;
        let paused = self
            .receive_not_before
            .is_some_and(|not_before| Instant::now() < not_before);
        if self.shutting_down || self.receive.is_some() || !room || paused {
            return;
        }
        self.receive_not_before = None;
        let queue = self.queue.clone();
        let max_messages = self.settings.max_messages;
        let wait = self.settings.wait_time;
        let visibility = self.settings.visibility_timeout;
        self.receive = Some(tokio::spawn(async move {
            let sent_at = Instant::now();
            let result = queue.receive(max_messages, wait, visibility).await;
            (sent_at, result)
        }));
    }

    async fn on_receive(&mut self, joined: Result<ReceiveResult, JoinError>) {
        let (sent_at, result) = match joined {
            Ok(received) => received,
            Err(error) => {
                self.receive_failed(ReceiveFailure::Other, &error.to_string());
                return;
            }
        };
        let messages = match result {
            Ok(messages) => messages,
            Err(error) => {
                let failure = classify(&error);
                self.receive_failed(failure, &crate::errors::describe(&error));
                return;
            }
        };
        self.receive_error_delay = self.settings.first_receive_error_delay;
        // SQS takes the wait in whole seconds, so a wait under 1 s is no long poll at all.
        if messages.is_empty() && self.settings.wait_time.as_secs() == 0 {
            self.receive_not_before = Some(Instant::now() + EMPTY_RECEIVE_PAUSE);
        }
        self.stats.add(Counter::Received, messages.len() as u64);

        let mut releases = Vec::new();
        // FIFO groups whose earlier message in this receive was left for a retry. Their later
        // messages are released unhandled, so the group keeps its order.
        let mut held_groups: HashSet<String> = HashSet::new();
        for message in messages {
            let Some(receipt_handle) = message.receipt_handle.clone() else {
                continue;
            };
            if self.shutting_down {
                releases.push(VisibilityChange {
                    receipt_handle,
                    timeout: Duration::ZERO,
                });
                continue;
            }
            let group = self.fifo.then(|| message_group(&message)).flatten();
            if group
                .as_ref()
                .is_some_and(|group| held_groups.contains(group))
            {
                releases.push(VisibilityChange {
                    receipt_handle,
                    timeout: Duration::ZERO,
                });
                continue;
            }
            let left_for_retry = self.accept(message, receipt_handle, sent_at).await;
            if let (Some(group), true) = (group, left_for_retry) {
                held_groups.insert(group);
            }
        }
        if !releases.is_empty() {
            self.stats.add(Counter::Released, releases.len() as u64);
            change_visibility(&self.queue, releases).await;
        }
    }

    fn receive_failed(&mut self, failure: ReceiveFailure, reason: &str) {
        self.stats.add(Counter::ReceiveErrors, 1);
        let delay = self.receive_error_delay;
        let queue = &self.queue.url;
        let retry_in = delay.as_secs_f64();
        match failure {
            ReceiveFailure::Throttled => {
                tracing::info!(%queue, retry_in, error = reason, "receive throttled, backing off");
            }
            ReceiveFailure::Network => {
                tracing::warn!(%queue, retry_in, error = reason, "receive failed on the network, backing off");
            }
            ReceiveFailure::Credentials => {
                tracing::warn!(%queue, retry_in, error = reason, "receive rejected the credentials, backing off");
            }
            ReceiveFailure::Other => {
                tracing::error!(%queue, retry_in, error = reason, "receive failed, backing off");
            }
        }
        self.receive_not_before = Some(Instant::now() + delay);
        self.receive_error_delay = (delay * 2).min(self.settings.max_receive_error_delay);
    }

    /// Decodes a received message and queues it for a handler, or dead-letters it. Returns
    /// true when an undecodable message is left in the queue for a retry.
    async fn accept(
        &mut self,
        message: Message,
        receipt_handle: String,
        received_at: Instant,
    ) -> bool {
        let system = message.attributes.as_ref();
        let receive_count = system
            .and_then(|attributes| {
                attributes.get(&MessageSystemAttributeName::ApproximateReceiveCount)
            })
            .and_then(|count| count.parse::<u32>().ok())
            .unwrap_or(1);
        let group = message_group(&message);
        let message_id = message.message_id.clone().unwrap_or_default();
        let body = message.body.as_deref().unwrap_or_default();

        let envelope = match (self.decode)(body) {
            Ok(envelope) => envelope,
            Err(error) => {
                return self
                    .undecodable(&message, receipt_handle, receive_count, &error.to_string())
                    .await;
            }
        };

        let key = self.next_key;
        self.next_key += 1;
        let scheduler_group = self.scheduler_group(key, group.as_deref());
        self.scheduler.push(&scheduler_group, key);
        tracing::debug!(%message_id, event_id = %envelope.event_id, receive_count, "message received");
        self.in_hand.insert(
            key,
            InHand {
                event_id: envelope.event_id.clone(),
                envelope: Some(envelope),
                message,
                receipt_handle,
                receive_count,
                group,
                received_at,
                visible_until: received_at + self.settings.visibility_timeout,
                extendable: true,
                running: false,
            },
        );
        false
    }

    /// Sends an undecodable message to the dead-letter queue and deletes it. With no
    /// dead-letter queue, or when the send fails, it leaves the message to the queue's redrive
    /// policy and returns true.
    async fn undecodable(
        &mut self,
        message: &Message,
        receipt_handle: String,
        receive_count: u32,
        reason: &str,
    ) -> bool {
        let message_id = message.message_id.as_deref().unwrap_or_default();
        if let Some(dead_letter) = &self.dead_letter {
            match dead_letter.send_dead_letter(message, reason).await {
                Ok(()) => {
                    tracing::warn!(%message_id, dead_letter_queue = %dead_letter.url, reason, "undecodable message sent to the dead-letter queue");
                    self.stats.add(Counter::DeadLettered, 1);
                    self.push_delete(receipt_handle).await;
                    return false;
                }
                Err(error) => {
                    tracing::error!(%message_id, dead_letter_queue = %dead_letter.url, reason, %error, "sending an undecodable message to the dead-letter queue failed, leaving it to redrive");
                }
            }
        } else {
            tracing::warn!(%message_id, reason, "undecodable message left to the queue's redrive policy");
        }
        self.stats.add(Counter::Retried, 1);
        let change = VisibilityChange {
            receipt_handle,
            timeout: self.settings.backoff.delay(receive_count),
        };
        if let Err(error) = self.queue.change_visibility(&change).await {
            tracing::warn!(%message_id, %error, "changing the visibility of an undecodable message failed");
        }
        true
    }

    /// Returns the scheduler group of a message: its FIFO group, or a group of its own on a
    /// standard queue, so that standard messages run in parallel.
    fn scheduler_group(&self, key: u64, group: Option<&str>) -> String {
        match group {
            Some(group) if self.fifo => group.to_string(),
            _ => format!("message-{key}"),
        }
    }

    /// Starts handlers for the next messages while fewer than `concurrency` run.
    fn start_handlers(&mut self) {
        while self.tasks.len() < self.settings.concurrency {
            let Some((_, key)) = self.scheduler.start_next() else {
                return;
            };
            let Some(entry) = self.in_hand.get_mut(&key) else {
                continue;
            };
            let Some(envelope) = entry.envelope.take() else {
                continue;
            };
            entry.running = true;
            let message_id = entry.message.message_id.clone().unwrap_or_default();
            let span = tracing::info_span!(
                "message",
                message_id = %message_id,
                event_type = %envelope.event_type,
                event_id = %envelope.event_id,
                receive_count = entry.receive_count,
            );
            let delivery = Delivery {
                message_id,
                receive_count: entry.receive_count,
                group: entry.group.clone(),
            };
            let handler = Arc::clone(&self.handler);
            let store = Arc::clone(&self.store);
            let task = handle(handler, store, envelope, delivery).instrument(span);
            let abort = self.tasks.spawn(async move { (key, task.await) });
            self.task_keys.insert(abort.id(), key);
        }
    }

    async fn on_task(&mut self, joined: Result<(Id, (u64, TaskResult)), JoinError>) {
        let (key, result) = match joined {
            Ok((id, (key, result))) => {
                self.task_keys.remove(&id);
                (key, result)
            }
            Err(error) => {
                let Some(key) = self.task_keys.remove(&error.id()) else {
                    return;
                };
                if error.is_cancelled() {
                    return;
                }
                (
                    key,
                    TaskResult::Panicked(format!("handler panicked: {error}")),
                )
            }
        };
        let Some(entry) = self.in_hand.remove(&key) else {
            return;
        };
        let scheduler_group = self.scheduler_group(key, entry.group.as_deref());
        match result {
            TaskResult::Succeeded => {
                self.stats.add(Counter::Succeeded, 1);
                self.scheduler.succeed(&scheduler_group);
                self.push_delete(entry.receipt_handle).await;
            }
            TaskResult::Duplicate => {
                tracing::info!(event_id = %entry.event_id, "duplicate delivery of a completed event deleted");
                self.stats.add(Counter::Duplicates, 1);
                self.scheduler.succeed(&scheduler_group);
                self.push_delete(entry.receipt_handle).await;
            }
            TaskResult::Failed(reason) => {
                self.retry(entry, &scheduler_group, Some(&reason)).await;
            }
            TaskResult::Panicked(reason) => {
                self.store.release(&entry.event_id).await;
                self.retry(entry, &scheduler_group, Some(&reason)).await;
            }
            TaskResult::InProgress => {
                self.retry(entry, &scheduler_group, None).await;
            }
        }
    }

    /// Makes a failed message visible after its backoff delay, with the later messages of
    /// its FIFO group in hand, which must not run before it.
    ///
    /// `failure` is the handler's error, or `None` when the handler did not run because
    /// another delivery of the event is in progress.
    async fn retry(&mut self, entry: InHand<T>, scheduler_group: &str, failure: Option<&str>) {
        let delay = self.settings.backoff.delay(entry.receive_count);
        // Owned, because a borrow of `entry` held across an await would need `T: Sync`.
        let message_id = entry.message.message_id.clone().unwrap_or_default();
        match failure {
            Some(reason) => tracing::warn!(
                %message_id,
                event_id = %entry.event_id,
                receive_count = entry.receive_count,
                retry_in = delay.as_secs(),
                error = reason,
                "handler failed, message will be received again"
            ),
            None => tracing::info!(
                %message_id,
                event_id = %entry.event_id,
                retry_in = delay.as_secs(),
                "another delivery of the event is being handled, this one will be received again"
            ),
        }
        self.stats.add(Counter::Retried, 1);
        let change = VisibilityChange {
            receipt_handle: entry.receipt_handle.clone(),
            timeout: delay,
        };
        if let Err(error) = self.queue.change_visibility(&change).await {
            tracing::warn!(%message_id, %error, "changing the visibility of a failed message failed, it returns after its visibility timeout");
        }

        // The later messages of a FIFO group are made visible at once. SQS still returns none
        // of the group while the failed message is invisible, and then returns it first.
        // Releasing them with the failed message's delay instead also keeps that order on SQS,
        // but moto 5.2.5 then returns the group out of order (test
        // moto_fifo_delayed_release_reorders_group).
        let followers: Vec<VisibilityChange> = self
            .scheduler
            .fail(scheduler_group)
            .into_iter()
            .filter_map(|key| self.in_hand.remove(&key))
            .map(|follower| VisibilityChange {
                receipt_handle: follower.receipt_handle,
                timeout: Duration::ZERO,
            })
            .collect();
        if !followers.is_empty() {
            self.stats.add(Counter::Released, followers.len() as u64);
            change_visibility(&self.queue, followers).await;
        }
    }

    async fn push_delete(&mut self, receipt_handle: String) {
        if let Some(batch) = self.deletes.push(receipt_handle, std::time::Instant::now()) {
            delete(&self.queue, batch).await;
        }
    }

    /// Returns the earliest moment a message in hand needs its visibility extended: halfway
    /// through its current visibility timeout.
    fn next_heartbeat(&self) -> Option<Instant> {
        let margin = self.heartbeat.extension - self.heartbeat.interval;
        self.in_hand
            .values()
            .filter(|entry| entry.extendable)
            .map(|entry| entry.visible_until - margin)
            .min()
    }

    /// Extends the visibility of every message in hand whose heartbeat is due.
    async fn extend_visibility(&mut self) {
        let now = Instant::now();
        let margin = self.heartbeat.extension - self.heartbeat.interval;
        let mut changes = Vec::new();
        for entry in self.in_hand.values_mut() {
            if !entry.extendable || entry.visible_until - margin > now {
                continue;
            }
            match self.heartbeat.next_timeout(now - entry.received_at) {
                Some(timeout) => {
                    entry.visible_until = now + timeout;
                    changes.push(VisibilityChange {
                        receipt_handle: entry.receipt_handle.clone(),
                        timeout,
                    });
                }
                None => {
                    entry.extendable = false;
                    tracing::warn!(event_id = %entry.event_id, "message reached the 12-hour visibility limit and can be delivered again");
                }
            }
        }
        if !changes.is_empty() {
            tracing::debug!(count = changes.len(), "extending visibility");
            change_visibility(&self.queue, changes).await;
        }
    }

    /// Stops receiving and releases every message whose handler has not started.
    fn begin_shutdown(&mut self) {
        tracing::info!(
            queue = %self.queue.url,
            running = self.tasks.len(),
            timeout = self.settings.shutdown_timeout.as_secs_f64(),
            "consumer shutting down"
        );
        self.shutting_down = true;
        self.shutdown_deadline = Some(Instant::now() + self.settings.shutdown_timeout);
        let releases: Vec<VisibilityChange> = self
            .scheduler
            .drain_waiting()
            .into_iter()
            .filter_map(|key| self.in_hand.remove(&key))
            .map(|entry| VisibilityChange {
                receipt_handle: entry.receipt_handle,
                timeout: Duration::ZERO,
            })
            .collect();
        self.stats.add(Counter::Released, releases.len() as u64);
        self.deferred_releases.extend(releases);
    }

    /// Cancels the handlers still running at the shutdown deadline and releases their
    /// messages, so that another consumer can take them at once.
    async fn cancel_handlers(&mut self) {
        self.shutdown_deadline = None;
        self.tasks.abort_all();
        while let Some(joined) = self.tasks.join_next_with_id().await {
            self.on_task(joined).await;
        }
        let cancelled: Vec<InHand<T>> = self
            .in_hand
            .drain()
            .map(|(_, entry)| entry)
            .filter(|entry| entry.running)
            .collect();
        let mut releases = Vec::new();
        for entry in cancelled {
            tracing::warn!(event_id = %entry.event_id, "handler cancelled at the shutdown deadline, message released");
            self.store.release(&entry.event_id).await;
            releases.push(VisibilityChange {
                receipt_handle: entry.receipt_handle,
                timeout: Duration::ZERO,
            });
        }
        self.stats.add(Counter::Released, releases.len() as u64);
        self.deferred_releases.extend(releases);
    }
}

// The SQS helpers below take the queue instead of `&self`: a `&Run` held across an await
// would make the run future need `T: Sync`.

/// Deletes handled messages and logs the ones SQS did not delete.
async fn delete(queue: &QueueClient, batch: Vec<String>) {
    let failed = queue.delete(batch).await;
    for (_, reason) in failed {
        tracing::warn!(queue = %queue.url, error = %reason, "deleting a handled message failed, it will be delivered again");
    }
}

/// Changes visibility timeouts in batches and logs the changes that failed.
async fn change_visibility(queue: &QueueClient, changes: Vec<VisibilityChange>) {
    let failed = queue.change_visibility_batch(&changes).await;
    for (change, reason) in failed {
        tracing::warn!(
            queue = %queue.url,
            timeout = change.timeout.as_secs(),
            error = %reason,
            "changing the visibility of a message failed"
        );
    }
}

/// Returns the FIFO message group of a received message, absent on standard queues.
fn message_group(message: &Message) -> Option<String> {
    message
        .attributes
        .as_ref()
        .and_then(|attributes| attributes.get(&MessageSystemAttributeName::MessageGroupId))
        .cloned()
}

/// Runs the handler for one event, consulting the idempotency store around it.
async fn handle<T, H, S>(
    handler: Arc<H>,
    store: Arc<S>,
    envelope: Envelope<T>,
    delivery: Delivery,
) -> TaskResult
where
    H: Handler<T>,
    S: IdempotencyStore,
{
    let event_id = envelope.event_id.clone();
    match store.begin(&event_id, std::time::Instant::now()).await {
        Claim::Completed => return TaskResult::Duplicate,
        Claim::InProgress => return TaskResult::InProgress,
        Claim::Started => {}
    }
    match handler.handle(envelope, delivery).await {
        Ok(()) => {
            store.complete(&event_id, std::time::Instant::now()).await;
            tracing::debug!("handled");
            TaskResult::Succeeded
        }
        Err(error) => {
            store.release(&event_id).await;
            TaskResult::Failed(error.to_string())
        }
    }
}

async fn wait_receive(
    receive: &mut Option<JoinHandle<ReceiveResult>>,
) -> Result<ReceiveResult, JoinError> {
    match receive {
        Some(handle) => handle.await,
        None => std::future::pending().await,
    }
}

async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
