//! Counts of SQS requests by operation, to measure requests per message.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Request counts by operation name, shared between clones.
#[derive(Clone, Debug, Default)]
pub struct RequestCounts {
    counts: Arc<Mutex<BTreeMap<&'static str, u64>>>,
}

impl RequestCounts {
    /// Records one request of `operation`, whether it succeeded or not.
    pub fn record(&self, operation: &'static str) {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *counts.entry(operation).or_default() += 1;
    }

    /// Returns the counts so far, by operation name.
    pub fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        self.counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Returns the number of requests of every operation.
    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_counts() {
        let counts = RequestCounts::default();
        let clone = counts.clone();
        counts.record("SendMessageBatch");
        clone.record("SendMessageBatch");
        clone.record("SendMessage");

        assert_eq!(
            counts.snapshot(),
            BTreeMap::from([("SendMessage", 1), ("SendMessageBatch", 2)])
        );
        assert_eq!(counts.total(), 3);
    }
}
