//! Visibility extensions for a message whose handler is still running.
//!
//! SQS rejects a visibility timeout that would end more than 12 hours after the receive, and it
//! does not shorten the request itself, so each extension is cut to the time left.

use std::time::Duration;

use crate::backoff::MAX_VISIBILITY;

/// When to extend a message's visibility and by how much.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    /// The visibility timeout each extension sets, counted from the extension.
    pub extension: Duration,
    /// The time between extensions. It is shorter than `extension`, so the message stays hidden.
    pub interval: Duration,
}

impl Heartbeat {
    /// Extends by the queue's visibility timeout every half of it.
    pub fn for_visibility(visibility: Duration) -> Heartbeat {
        Heartbeat {
            extension: visibility,
            interval: visibility / 2,
        }
    }

    /// Returns the visibility timeout to set `elapsed` after the receive, or `None` when the
    /// 12-hour limit leaves no time to extend.
    ///
    /// NOTE: moto 5.2.5 counts the limit from the send instead of the receive, so there the
    /// last extension before 12 hours can be rejected (test moto_counts_visibility_limit_from_send).
    pub fn next_timeout(&self, elapsed: Duration) -> Option<Duration> {
        let left = MAX_VISIBILITY.checked_sub(elapsed)?;
        let timeout = self.extension.min(left);
        // ChangeMessageVisibility takes whole seconds, so round down to stay inside the limit.
        let seconds = timeout.as_secs();
        if seconds == 0 {
            return None;
        }
        Some(Duration::from_secs(seconds))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_is_half_the_visibility() {
        let heartbeat = Heartbeat::for_visibility(Duration::from_secs(30));
        assert_eq!(heartbeat.interval, Duration::from_secs(15));
        assert_eq!(heartbeat.extension, Duration::from_secs(30));
    }

    #[test]
    fn early_extension_is_full() {
        let heartbeat = Heartbeat::for_visibility(Duration::from_secs(30));
        assert_eq!(
            heartbeat.next_timeout(Duration::from_secs(15)),
            Some(Duration::from_secs(30))
        );
    }

    #[test]
    fn extension_is_cut_at_twelve_hours() {
        let heartbeat = Heartbeat::for_visibility(Duration::from_secs(30));
        let elapsed = MAX_VISIBILITY - Duration::from_millis(12_500);
        assert_eq!(
            heartbeat.next_timeout(elapsed),
            Some(Duration::from_secs(12))
        );
    }

    #[test]
    fn no_extension_past_the_limit() {
        let heartbeat = Heartbeat::for_visibility(Duration::from_secs(30));
        assert_eq!(
            heartbeat.next_timeout(MAX_VISIBILITY - Duration::from_millis(400)),
            None
        );
        assert_eq!(heartbeat.next_timeout(MAX_VISIBILITY), None);
        assert_eq!(
            heartbeat.next_timeout(MAX_VISIBILITY + Duration::from_secs(1)),
            None
        );
    }
}
