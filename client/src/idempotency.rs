//! Idempotency by event id: a duplicate delivery of a handled event is deleted without calling
//! the handler, and a handler that crashed does not block its event forever.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The outcome of claiming an event with `begin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The caller now owns the event and must call `complete` or `release`.
    Started,
    /// Another delivery is being handled right now; leave this one for a later receive.
    InProgress,
    /// The event was handled already; delete the message without calling the handler.
    Completed,
}

/// A store of handled event ids. `now` is passed in, so expiry is testable.
pub trait IdempotencyStore: Send + Sync {
    /// Claims an event for handling.
    fn begin(&self, event_id: &str, now: Instant) -> impl Future<Output = Claim> + Send;

    /// Records that the event was handled.
    fn complete(&self, event_id: &str, now: Instant) -> impl Future<Output = ()> + Send;

    /// Gives up a claim after a failure, so the next delivery handles the event again.
    fn release(&self, event_id: &str) -> impl Future<Output = ()> + Send;
}

#[derive(Clone, Copy, Debug)]
enum Entry {
    InProgress { until: Instant },
    Completed { until: Instant },
}

/// An in-memory store for one process: completed events are remembered for `completed_ttl`,
/// and an in-progress claim lapses after `in_progress_ttl` so a crashed handler's event can be
/// handled again.
#[derive(Debug)]
pub struct InMemoryStore {
    completed_ttl: Duration,
    in_progress_ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

impl InMemoryStore {
    pub fn new(completed_ttl: Duration, in_progress_ttl: Duration) -> InMemoryStore {
        InMemoryStore {
            completed_ttl,
            in_progress_ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl IdempotencyStore for InMemoryStore {
    async fn begin(&self, event_id: &str, now: Instant) -> Claim {
        let mut entries = self.lock();
        // Expired entries are dropped as they are met, so memory stays bounded by the TTLs.
        entries.retain(|_, entry| match entry {
            Entry::InProgress { until } | Entry::Completed { until } => *until > now,
        });
        match entries.get(event_id) {
            Some(Entry::Completed { .. }) => Claim::Completed,
            Some(Entry::InProgress { .. }) => Claim::InProgress,
            None => {
                entries.insert(
                    event_id.to_string(),
                    Entry::InProgress {
                        until: now + self.in_progress_ttl,
                    },
                );
                Claim::Started
            }
        }
    }

    async fn complete(&self, event_id: &str, now: Instant) {
        self.lock().insert(
            event_id.to_string(),
            Entry::Completed {
                until: now + self.completed_ttl,
            },
        );
    }

    async fn release(&self, event_id: &str) {
        let mut entries = self.lock();
        if matches!(entries.get(event_id), Some(Entry::InProgress { .. })) {
            entries.remove(event_id);
        }
    }
}

/// A store that remembers nothing: every delivery is handled. The consumer uses it unless
/// another store is configured.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoIdempotency;

impl IdempotencyStore for NoIdempotency {
    async fn begin(&self, _event_id: &str, _now: Instant) -> Claim {
        Claim::Started
    }

    async fn complete(&self, _event_id: &str, _now: Instant) {}

    async fn release(&self, _event_id: &str) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> InMemoryStore {
        InMemoryStore::new(Duration::from_secs(3_600), Duration::from_secs(60))
    }

    #[tokio::test]
    async fn duplicate_of_completed_event_is_reported() {
        let store = store();
        let now = Instant::now();
        assert_eq!(store.begin("e-1", now).await, Claim::Started);
        store.complete("e-1", now).await;
        assert_eq!(
            store.begin("e-1", now + Duration::from_secs(5)).await,
            Claim::Completed
        );
    }

    #[tokio::test]
    async fn concurrent_delivery_sees_in_progress() {
        let store = store();
        let now = Instant::now();
        assert_eq!(store.begin("e-1", now).await, Claim::Started);
        assert_eq!(
            store.begin("e-1", now + Duration::from_secs(1)).await,
            Claim::InProgress
        );
    }

    #[tokio::test]
    async fn crashed_claim_lapses() {
        let store = store();
        let now = Instant::now();
        assert_eq!(store.begin("e-1", now).await, Claim::Started);
        assert_eq!(
            store.begin("e-1", now + Duration::from_secs(61)).await,
            Claim::Started
        );
    }

    #[tokio::test]
    async fn released_event_is_handled_again() {
        let store = store();
        let now = Instant::now();
        store.begin("e-1", now).await;
        store.release("e-1").await;
        assert_eq!(store.begin("e-1", now).await, Claim::Started);
    }

    #[tokio::test]
    async fn completed_entry_expires() {
        let store = store();
        let now = Instant::now();
        store.begin("e-1", now).await;
        store.complete("e-1", now).await;
        assert_eq!(
            store.begin("e-1", now + Duration::from_secs(3_601)).await,
            Claim::Started
        );
    }
}
