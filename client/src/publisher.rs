//! Publishing events to a queue: single sends and batches packed by count and bytes.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};

use crate::batch::{OutgoingMessage, Oversized, pack};
use crate::envelope::{Envelope, EnvelopeError, Event};
use crate::requests::RequestCounts;

/// The message attribute that carries the event type, for topic filter policies.
pub const EVENT_TYPE_ATTRIBUTE: &str = "eventType";
/// Attempts for entries that fail inside a batch, the first included.
const BATCH_ATTEMPTS: u32 = 3;

/// Errors of publishing.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The message is larger than the queue accepts; it was not sent.
    #[error(transparent)]
    Oversized(#[from] Oversized),
    /// SQS rejected the request; the message text has its code and message.
    #[error("SendMessage failed for event {event_id}: {message}")]
    Send { event_id: String, message: String },
}

/// The outcome of a batch publish: every event id, sent or not.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    pub sent: Vec<String>,
    /// Events not sent after the retries, by event id, with the reason.
    pub failed: Vec<(String, String)>,
}

/// Publishes events to one queue.
#[derive(Clone, Debug)]
pub struct Publisher {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    fifo: bool,
    max_message_size: usize,
    retry_delay: Duration,
    requests: RequestCounts,
}

impl Publisher {
    /// Publishes to `queue_url`. `max_message_size` is the queue's MaximumMessageSize
    /// (1,048,576 by default on current SQS); FIFO queues are recognized by their `.fifo` name.
    pub fn new(
        client: aws_sdk_sqs::Client,
        queue_url: impl Into<String>,
        max_message_size: usize,
    ) -> Publisher {
        let queue_url = queue_url.into();
        Publisher {
            fifo: queue_url.ends_with(".fifo"),
            client,
            queue_url,
            max_message_size,
            retry_delay: Duration::from_millis(200),
            requests: RequestCounts::default(),
        }
    }

    /// Returns the counts of the requests this publisher sent, by operation.
    pub fn requests(&self) -> &RequestCounts {
        &self.requests
    }

    fn outgoing<T: Event>(envelope: &Envelope<T>) -> Result<OutgoingMessage, PublishError> {
        Ok(OutgoingMessage {
            body: envelope.to_body()?,
            attributes: BTreeMap::from([(
                EVENT_TYPE_ATTRIBUTE.to_string(),
                envelope.event_type.clone(),
            )]),
            event_id: envelope.event_id.clone(),
        })
    }

    fn attribute(value: &str) -> MessageAttributeValue {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .expect("data type is set")
    }

    /// Sends one event. On a FIFO queue the event id is the deduplication id and the event's
    /// message group the group id. Returns the SQS message id.
    pub async fn publish<T: Event>(&self, envelope: &Envelope<T>) -> Result<String, PublishError> {
        let message = Self::outgoing(envelope)?;
        let size = message.size();
        if size > self.max_message_size {
            return Err(Oversized {
                event_id: message.event_id,
                size,
                limit: self.max_message_size,
            }
            .into());
        }
        let mut request = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(&message.body)
            .message_attributes(EVENT_TYPE_ATTRIBUTE, Self::attribute(&envelope.event_type));
        if self.fifo {
            request = request
                .message_deduplication_id(&envelope.event_id)
                .set_message_group_id(envelope.data.message_group());
        }
        self.requests.record("SendMessage");
        let output = request.send().await.map_err(|error| PublishError::Send {
            event_id: envelope.event_id.clone(),
            message: aws_sdk_sqs::error::DisplayErrorContext(&error).to_string(),
        })?;
        Ok(output.message_id.unwrap_or_default())
    }

    /// Sends events in batches of up to 10 entries and the queue's size limit. Entries that
    /// fail inside a batch are retried, and those that still fail are returned by event id,
    /// as are oversized events, which are never sent.
    pub async fn publish_batch<T: Event>(
        &self,
        envelopes: &[Envelope<T>],
    ) -> Result<BatchOutcome, PublishError> {
        let mut groups = BTreeMap::new();
        let mut messages = Vec::new();
        for envelope in envelopes {
            groups.insert(envelope.event_id.clone(), envelope.data.message_group());
            messages.push(Self::outgoing(envelope)?);
        }
        let (batches, oversized) = pack(messages, self.max_message_size);

        let mut outcome = BatchOutcome::default();
        outcome.failed.extend(
            oversized
                .into_iter()
                .map(|error| (error.event_id.clone(), error.to_string())),
        );
        for batch in batches {
            self.send_with_retries(batch, &groups, &mut outcome).await;
        }
        Ok(outcome)
    }

    async fn send_with_retries(
        &self,
        mut pending: Vec<OutgoingMessage>,
        groups: &BTreeMap<String, Option<String>>,
        outcome: &mut BatchOutcome,
    ) {
        let mut reasons: BTreeMap<String, String> = BTreeMap::new();
        for attempt in 1..=BATCH_ATTEMPTS {
            // Entry ids are the position in this request, never taken from the message.
            let entries: Vec<SendMessageBatchRequestEntry> = pending
                .iter()
                .enumerate()
                .map(|(index, message)| {
                    let mut entry = SendMessageBatchRequestEntry::builder()
                        .id(index.to_string())
                        .message_body(&message.body);
                    for (name, value) in &message.attributes {
                        entry = entry.message_attributes(name, Self::attribute(value));
                    }
                    if self.fifo {
                        entry = entry
                            .message_deduplication_id(&message.event_id)
                            .set_message_group_id(groups.get(&message.event_id).cloned().flatten());
                    }
                    entry.build().expect("id and body are set")
                })
                .collect();

            self.requests.record("SendMessageBatch");
            let failed_ids: Vec<(usize, String)> = match self
                .client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
            {
                Ok(output) => {
                    for success in &output.successful {
                        if let Some(message) = success
                            .id
                            .parse::<usize>()
                            .ok()
                            .and_then(|index| pending.get(index))
                        {
                            outcome.sent.push(message.event_id.clone());
                        }
                    }
                    output
                        .failed
                        .iter()
                        .filter_map(|failure| {
                            Some((
                                failure.id.parse::<usize>().ok()?,
                                format!(
                                    "{}: {}",
                                    failure.code,
                                    failure.message.clone().unwrap_or_default()
                                ),
                            ))
                        })
                        .collect()
                }
                Err(error) => {
                    let reason = aws_sdk_sqs::error::DisplayErrorContext(&error).to_string();
                    (0..pending.len())
                        .map(|index| (index, reason.clone()))
                        .collect()
                }
            };
            if failed_ids.is_empty() {
                return;
            }
            let mut retry = Vec::new();
            for (index, reason) in failed_ids {
                if let Some(message) = pending.get(index) {
                    reasons.insert(message.event_id.clone(), reason);
                    retry.push(message.clone());
                }
            }
            pending = retry;
            if attempt < BATCH_ATTEMPTS {
                tokio::time::sleep(self.retry_delay * 2u32.pow(attempt - 1)).await;
            }
        }
        for message in pending {
            let reason = reasons.remove(&message.event_id).unwrap_or_default();
            outcome.failed.push((message.event_id, reason));
        }
    }
}
