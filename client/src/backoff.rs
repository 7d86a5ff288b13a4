//! The delay before a failed message is received again, set through ChangeMessageVisibility.

use std::time::Duration;

/// SQS's longest visibility timeout: 12 hours.
pub const MAX_VISIBILITY: Duration = Duration::from_secs(43_200);

/// Delays by receive: the first failure waits `delays[0]`, the second `delays[1]`, and later
/// failures the last delay. After `maxReceiveCount` receives SQS moves the message to the
/// dead-letter queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryBackoff {
    delays: Vec<Duration>,
}

impl Default for RetryBackoff {
    /// Waits 1 s, 2 s, then 4 s.
    fn default() -> Self {
        RetryBackoff {
            delays: vec![
                Duration::from_secs(1),
                Duration::from_secs(2),
                Duration::from_secs(4),
            ],
        }
    }
}

impl RetryBackoff {
    /// Uses the given delays; an empty list means retry at once.
    pub fn new(delays: Vec<Duration>) -> RetryBackoff {
        RetryBackoff { delays }
    }

    /// Returns the visibility timeout for a message received `receive_count` times (the
    /// `ApproximateReceiveCount` attribute, 1 on the first receive), capped at 12 hours.
    pub fn delay(&self, receive_count: u32) -> Duration {
        let index = receive_count.saturating_sub(1) as usize;
        let delay = self
            .delays
            .get(index)
            .or(self.delays.last())
            .copied()
            .unwrap_or(Duration::ZERO);
        delay.min(MAX_VISIBILITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_doubles_then_holds() {
        let backoff = RetryBackoff::default();
        let delays: Vec<u64> = (1..=5)
            .map(|count| backoff.delay(count).as_secs())
            .collect();
        assert_eq!(delays, vec![1, 2, 4, 4, 4]);
    }

    #[test]
    fn delay_is_capped_at_twelve_hours() {
        let backoff = RetryBackoff::new(vec![Duration::from_secs(100_000)]);
        assert_eq!(backoff.delay(1), MAX_VISIBILITY);
    }

    #[test]
    fn empty_list_retries_at_once() {
        assert_eq!(RetryBackoff::new(Vec::new()).delay(3), Duration::ZERO);
    }
}
