//! Packing messages into SendMessageBatch requests.
//!
//! SQS takes at most 10 entries per batch, and limits one message and a whole batch to the
//! queue's MaximumMessageSize (1 MiB by default on current SQS). The size of a message is its
//! body plus, for each message attribute, its name, data type and value.

use std::collections::BTreeMap;

/// SQS's limit on entries per SendMessageBatch.
pub const MAX_BATCH_ENTRIES: usize = 10;

/// A message ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub body: String,
    /// String message attributes, such as `eventType`.
    pub attributes: BTreeMap<String, String>,
    /// The event id, which names the message in errors and is the FIFO deduplication id.
    pub event_id: String,
}

impl OutgoingMessage {
    /// Returns the size SQS counts against its limits, in bytes.
    pub fn size(&self) -> usize {
        let attributes: usize = self
            .attributes
            .iter()
            .map(|(name, value)| name.len() + "String".len() + value.len())
            .sum();
        self.body.len() + attributes
    }
}

/// A message larger than the queue or topic accepts, rejected before sending.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("event {event_id} is {size} bytes, over the message size limit of {limit} bytes")]
pub struct Oversized {
    pub event_id: String,
    pub size: usize,
    pub limit: usize,
}

/// Splits messages, in order, into batches of at most 10 entries and `max_bytes` each.
/// Messages larger than `max_bytes` on their own are returned separately.
pub fn pack(
    messages: Vec<OutgoingMessage>,
    max_bytes: usize,
) -> (Vec<Vec<OutgoingMessage>>, Vec<Oversized>) {
    let mut batches: Vec<Vec<OutgoingMessage>> = Vec::new();
    let mut oversized = Vec::new();
    let mut current: Vec<OutgoingMessage> = Vec::new();
    let mut current_bytes = 0;

    for message in messages {
        let size = message.size();
        if size > max_bytes {
            oversized.push(Oversized {
                event_id: message.event_id.clone(),
                size,
                limit: max_bytes,
            });
            continue;
        }
        let full = current.len() == MAX_BATCH_ENTRIES || current_bytes + size > max_bytes;
        if full && !current.is_empty() {
            batches.push(std::mem::take(&mut current));
            current_bytes = 0;
        }
        current_bytes += size;
        current.push(message);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    (batches, oversized)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: usize, body_bytes: usize) -> OutgoingMessage {
        OutgoingMessage {
            body: "x".repeat(body_bytes),
            attributes: BTreeMap::from([("eventType".to_string(), "trip.created".to_string())]),
            event_id: format!("e-{id}"),
        }
    }

    #[test]
    fn size_counts_attributes() {
        // 100 body bytes + "eventType" (9) + "String" (6) + "trip.created" (12).
        assert_eq!(message(0, 100).size(), 127);
    }

    #[test]
    fn packs_by_count() {
        let messages: Vec<OutgoingMessage> = (0..25).map(|id| message(id, 10)).collect();
        let (batches, oversized) = pack(messages, 1_048_576);
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![10, 10, 5]);
        assert!(oversized.is_empty());
        assert_eq!(batches[2][4].event_id, "e-24");
    }

    #[test]
    fn packs_by_bytes() {
        // Each message is 300,027 bytes, so three fit in 1 MiB and the fourth starts a batch.
        let messages: Vec<OutgoingMessage> = (0..7).map(|id| message(id, 300_000)).collect();
        let (batches, _) = pack(messages, 1_048_576);
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![3, 3, 1]);
    }

    #[test]
    fn oversized_message_is_rejected_with_size() {
        let (batches, oversized) = pack(vec![message(1, 10), message(2, 2_000)], 1_024);
        assert_eq!(batches.len(), 1);
        assert_eq!(
            oversized,
            vec![Oversized {
                event_id: "e-2".into(),
                size: 2_027,
                limit: 1_024
            }]
        );
        assert_eq!(
            oversized[0].to_string(),
            "event e-2 is 2027 bytes, over the message size limit of 1024 bytes"
        );
    }
}
