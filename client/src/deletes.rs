//! Pending deletes of handled messages, sent as DeleteMessageBatch requests.
//!
//! A consumer pushes the receipt handle of each handled message. The buffer hands back a full
//! batch of 10 at once, and a partial batch once its oldest entry has waited `max_wait`, so
//! one request carries up to 10 deletes and no delete waits longer than `max_wait`.

use std::time::{Duration, Instant};

/// The maximum number of entries in one DeleteMessageBatch request.
pub const MAX_BATCH_ENTRIES: usize = 10;

/// Receipt handles waiting to be deleted, oldest first.
#[derive(Debug)]
pub struct DeleteBuffer {
    max_wait: Duration,
    pending: Vec<String>,
    oldest: Option<Instant>,
}

impl DeleteBuffer {
    /// Creates an empty buffer that flushes a partial batch after `max_wait`.
    pub fn new(max_wait: Duration) -> DeleteBuffer {
        DeleteBuffer {
            max_wait,
            pending: Vec::new(),
            oldest: None,
        }
    }

    /// Adds a receipt handle. Returns a full batch when this handle fills one.
    pub fn push(&mut self, receipt_handle: String, now: Instant) -> Option<Vec<String>> {
        if self.pending.is_empty() {
            self.oldest = Some(now);
        }
        self.pending.push(receipt_handle);
        if self.pending.len() >= MAX_BATCH_ENTRIES {
            return Some(self.take());
        }
        None
    }

    /// Returns the pending handles when the oldest has waited `max_wait` or longer.
    pub fn poll(&mut self, now: Instant) -> Option<Vec<String>> {
        let due = self.deadline()?;
        if now >= due { Some(self.take()) } else { None }
    }

    /// Returns the time at which the pending handles are due, or `None` when none are pending.
    pub fn deadline(&self) -> Option<Instant> {
        self.oldest.map(|oldest| oldest + self.max_wait)
    }

    /// Returns every pending handle, for the flush on shutdown.
    pub fn drain(&mut self) -> Option<Vec<String>> {
        if self.pending.is_empty() {
            return None;
        }
        Some(self.take())
    }

    /// Returns the number of pending handles.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Returns true when no handle is pending.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    fn take(&mut self) -> Vec<String> {
        self.oldest = None;
        std::mem::take(&mut self.pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handles(count: usize) -> Vec<String> {
        (0..count).map(|index| format!("handle-{index}")).collect()
    }

    #[test]
    fn tenth_push_returns_full_batch() {
        let start = Instant::now();
        let mut buffer = DeleteBuffer::new(Duration::from_millis(200));
        for handle in handles(9) {
            assert_eq!(buffer.push(handle, start), None);
        }
        let batch = buffer.push("handle-9".to_string(), start);
        assert_eq!(batch, Some(handles(10)));
        assert!(buffer.is_empty());
        assert_eq!(buffer.deadline(), None);
    }

    #[test]
    fn partial_batch_waits_for_deadline() {
        let start = Instant::now();
        let mut buffer = DeleteBuffer::new(Duration::from_millis(200));
        buffer.push("first".to_string(), start);
        buffer.push("second".to_string(), start + Duration::from_millis(150));

        assert_eq!(buffer.deadline(), Some(start + Duration::from_millis(200)));
        assert_eq!(buffer.poll(start + Duration::from_millis(199)), None);
        assert_eq!(buffer.len(), 2);

        let batch = buffer.poll(start + Duration::from_millis(200));
        assert_eq!(batch, Some(vec!["first".to_string(), "second".to_string()]));
        assert_eq!(buffer.poll(start + Duration::from_secs(5)), None);
    }

    #[test]
    fn deadline_restarts_after_flush() {
        let start = Instant::now();
        let mut buffer = DeleteBuffer::new(Duration::from_millis(200));
        for handle in handles(10) {
            buffer.push(handle, start);
        }
        let later = start + Duration::from_secs(1);
        buffer.push("late".to_string(), later);
        assert_eq!(buffer.deadline(), Some(later + Duration::from_millis(200)));
    }

    #[test]
    fn drain_returns_pending_once() {
        let start = Instant::now();
        let mut buffer = DeleteBuffer::new(Duration::from_secs(1));
        assert_eq!(buffer.drain(), None);
        buffer.push("only".to_string(), start);
        assert_eq!(buffer.drain(), Some(vec!["only".to_string()]));
        assert_eq!(buffer.drain(), None);
    }
}
