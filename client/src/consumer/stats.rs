//! Message counters of a consumer, shared between the loop and its callers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
struct Counters {
    received: AtomicU64,
    succeeded: AtomicU64,
    retried: AtomicU64,
    dead_lettered: AtomicU64,
    duplicates: AtomicU64,
    released: AtomicU64,
    receive_errors: AtomicU64,
}

/// Live message counters of one consumer. Clones share the counts.
#[derive(Clone, Debug, Default)]
pub struct ConsumerStats {
    counters: Arc<Counters>,
}

/// The counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Messages returned by ReceiveMessage, redeliveries included.
    pub received: u64,
    /// Messages whose handler returned success.
    pub succeeded: u64,
    /// Messages made visible again after a handler failure, an undecodable body with no
    /// dead-letter queue configured, or a delivery of an event still in progress elsewhere.
    pub retried: u64,
    /// Undecodable messages this consumer sent to its dead-letter queue. Messages that SQS
    /// moves by redrive after maxReceiveCount receives are not seen by the consumer.
    pub dead_lettered: u64,
    /// Deliveries of events the idempotency store had already completed, deleted unhandled.
    pub duplicates: u64,
    /// Messages handed back unstarted at shutdown or after a failure earlier in their FIFO
    /// group, without counting as a retry of their own.
    pub released: u64,
    /// Failed ReceiveMessage requests.
    pub receive_errors: u64,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Counter {
    Received,
    Succeeded,
    Retried,
    DeadLettered,
    Duplicates,
    Released,
    ReceiveErrors,
}

impl ConsumerStats {
    pub(crate) fn add(&self, counter: Counter, count: u64) {
        let counters = &self.counters;
        let cell = match counter {
            Counter::Received => &counters.received,
            Counter::Succeeded => &counters.succeeded,
            Counter::Retried => &counters.retried,
            Counter::DeadLettered => &counters.dead_lettered,
            Counter::Duplicates => &counters.duplicates,
            Counter::Released => &counters.released,
            Counter::ReceiveErrors => &counters.receive_errors,
        };
        cell.fetch_add(count, Ordering::Relaxed);
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        let counters = &self.counters;
        StatsSnapshot {
            received: counters.received.load(Ordering::Relaxed),
            succeeded: counters.succeeded.load(Ordering::Relaxed),
            retried: counters.retried.load(Ordering::Relaxed),
            dead_lettered: counters.dead_lettered.load(Ordering::Relaxed),
            duplicates: counters.duplicates.load(Ordering::Relaxed),
            released: counters.released.load(Ordering::Relaxed),
            receive_errors: counters.receive_errors.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_counters() {
        let stats = ConsumerStats::default();
        let clone = stats.clone();
        stats.add(Counter::Received, 10);
        clone.add(Counter::Succeeded, 9);
        clone.add(Counter::Retried, 1);

        let snapshot = stats.snapshot();
        assert_eq!(snapshot.received, 10);
        assert_eq!(snapshot.succeeded, 9);
        assert_eq!(snapshot.retried, 1);
        assert_eq!(snapshot.dead_lettered, 0);
    }
}
