//! Order of work on a FIFO queue: one message per message group at a time, in receive order,
//! with different groups in parallel.
//!
//! When a message fails, the later messages of its group that are already in hand must not run
//! before it. [`GroupScheduler::fail`] hands them back so the consumer releases them together
//! with the failed one, and SQS delivers the group again from the failed message.

use std::collections::{HashMap, HashSet, VecDeque};

/// Messages in hand, queued per message group.
#[derive(Debug)]
pub struct GroupScheduler<M> {
    waiting: HashMap<String, VecDeque<M>>,
    running: HashSet<String>,
    // Groups in the order their first waiting message arrived, for fair turns.
    turns: VecDeque<String>,
}

impl<M> Default for GroupScheduler<M> {
    fn default() -> Self {
        GroupScheduler {
            waiting: HashMap::new(),
            running: HashSet::new(),
            turns: VecDeque::new(),
        }
    }
}

impl<M> GroupScheduler<M> {
    /// Creates a scheduler with nothing in hand.
    pub fn new() -> GroupScheduler<M> {
        GroupScheduler::default()
    }

    /// Adds a received message behind the earlier messages of its group.
    pub fn push(&mut self, group: &str, message: M) {
        let queue = self.waiting.entry(group.to_string()).or_default();
        if queue.is_empty() && !self.turns.iter().any(|queued| queued == group) {
            self.turns.push_back(group.to_string());
        }
        queue.push_back(message);
    }

    /// Returns the next message to start and its group: the oldest waiting message of a group
    /// with no message running. Returns `None` when every waiting group is busy.
    pub fn start_next(&mut self) -> Option<(String, M)> {
        let position = self
            .turns
            .iter()
            .position(|group| !self.running.contains(group))?;
        let group = self.turns.remove(position)?;
        let queue = self.waiting.get_mut(&group)?;
        let message = queue.pop_front()?;
        if queue.is_empty() {
            self.waiting.remove(&group);
        } else {
            self.turns.push_back(group.clone());
        }
        self.running.insert(group.clone());
        Some((group, message))
    }

    /// Marks the running message of `group` as handled, so the group's next message may start.
    pub fn succeed(&mut self, group: &str) {
        self.running.remove(group);
    }

    /// Marks the running message of `group` as failed and returns the group's waiting messages
    /// in receive order. They must be released with the failed one, not handled.
    pub fn fail(&mut self, group: &str) -> Vec<M> {
        self.running.remove(group);
        self.turns.retain(|queued| queued != group);
        self.waiting
            .remove(group)
            .map(Vec::from)
            .unwrap_or_default()
    }

    /// Returns every waiting message that has not started, for release on shutdown.
    pub fn drain_waiting(&mut self) -> Vec<M> {
        self.turns.clear();
        self.waiting.drain().flat_map(|(_, queue)| queue).collect()
    }

    /// Returns the number of messages waiting to start.
    pub fn waiting_len(&self) -> usize {
        self.waiting.values().map(VecDeque::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_message_per_group_at_a_time() {
        let mut scheduler = GroupScheduler::new();
        scheduler.push("trip-1", "a1");
        scheduler.push("trip-1", "a2");

        assert_eq!(scheduler.start_next(), Some(("trip-1".to_string(), "a1")));
        assert_eq!(scheduler.start_next(), None);

        scheduler.succeed("trip-1");
        assert_eq!(scheduler.start_next(), Some(("trip-1".to_string(), "a2")));
        assert_eq!(scheduler.start_next(), None);
    }

    #[test]
    fn groups_run_in_parallel() {
        let mut scheduler = GroupScheduler::new();
        scheduler.push("trip-1", "a1");
        scheduler.push("trip-1", "a2");
        scheduler.push("trip-2", "b1");

        assert_eq!(scheduler.start_next(), Some(("trip-1".to_string(), "a1")));
        assert_eq!(scheduler.start_next(), Some(("trip-2".to_string(), "b1")));
        assert_eq!(scheduler.start_next(), None);
        assert_eq!(scheduler.waiting_len(), 1);
    }

    #[test]
    fn groups_take_turns() {
        let mut scheduler = GroupScheduler::new();
        scheduler.push("trip-1", "a1");
        scheduler.push("trip-1", "a2");
        scheduler.push("trip-2", "b1");
        scheduler.push("trip-2", "b2");

        let mut order = Vec::new();
        while let Some((group, message)) = scheduler.start_next() {
            order.push(message);
            scheduler.succeed(&group);
        }
        assert_eq!(order, vec!["a1", "b1", "a2", "b2"]);
    }

    #[test]
    fn failure_returns_later_messages_of_group() {
        let mut scheduler = GroupScheduler::new();
        scheduler.push("trip-1", "a1");
        scheduler.push("trip-1", "a2");
        scheduler.push("trip-1", "a3");
        scheduler.push("trip-2", "b1");

        assert_eq!(scheduler.start_next(), Some(("trip-1".to_string(), "a1")));
        assert_eq!(scheduler.fail("trip-1"), vec!["a2", "a3"]);
        assert_eq!(scheduler.start_next(), Some(("trip-2".to_string(), "b1")));
        assert_eq!(scheduler.start_next(), None);
        assert_eq!(scheduler.waiting_len(), 0);
    }

    #[test]
    fn group_accepts_messages_after_failure() {
        let mut scheduler = GroupScheduler::new();
        scheduler.push("trip-1", "a1");
        scheduler.start_next();
        assert_eq!(scheduler.fail("trip-1"), Vec::<&str>::new());

        scheduler.push("trip-1", "a1-again");
        assert_eq!(
            scheduler.start_next(),
            Some(("trip-1".to_string(), "a1-again"))
        );
    }

    #[test]
    fn drain_returns_unstarted_messages() {
        let mut scheduler = GroupScheduler::new();
        scheduler.push("trip-1", "a1");
        scheduler.push("trip-1", "a2");
        scheduler.push("trip-2", "b1");
        scheduler.start_next();

        let mut drained = scheduler.drain_waiting();
        drained.sort();
        assert_eq!(drained, vec!["a2", "b1"]);
        assert_eq!(scheduler.start_next(), None);
    }
}
