//! Publishing events to a queue or a topic: single sends and batches packed by count and bytes.

use std::time::Duration;

use crate::batch::{OutgoingMessage, Oversized, pack};
use crate::envelope::{Envelope, EnvelopeError, Event};
use crate::requests::RequestCounts;

/// The message attribute that carries the event type, for topic filter policies.
pub const EVENT_TYPE_ATTRIBUTE: &str = "eventType";
/// Attempts for entries that fail inside a batch, the first included.
const BATCH_ATTEMPTS: u32 = 3;
/// The failure reason of a batch entry that the response lists neither as successful nor as
/// failed. moto 5.2.5 drops PublishBatch entries that fail with an error other than
/// InvalidParameter in this way.
const MISSING_RESULT: &str = "the response has no result for this entry";

/// Errors of publishing.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The message is larger than the target accepts; it was not sent.
    #[error(transparent)]
    Oversized(#[from] Oversized),
    /// The target is FIFO and the event has no message group; it was not sent.
    #[error(
        "event {event_id} has no message group, but the FIFO target {target} requires one; return it from Event::message_group"
    )]
    MissingGroup { event_id: String, target: String },
    /// SQS or SNS rejected a single-message request (SendMessage or Publish). `message` has the
    /// error code and message.
    #[error("{operation} failed for event {event_id}: {message}")]
    Send {
        operation: &'static str,
        event_id: String,
        message: String,
    },
    /// An entry of a batch request (SendMessageBatch or PublishBatch) failed on every attempt,
    /// or on the first when the response blamed the sender (an invalid parameter, say), which
    /// a retry cannot fix. `reason` is the error of the last attempt.
    #[error("{operation} failed for event {event_id} after {}: {reason}", attempt_count(*.attempts))]
    BatchEntry {
        operation: &'static str,
        event_id: String,
        attempts: u32,
        reason: String,
    },
}

/// The outcome of a batch publish: every event id, sent or not.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    pub sent: Vec<String>,
    /// Events not sent after the retries, by event id, with the reason.
    pub failed: Vec<(String, String)>,
}

/// A message ready to send, with its FIFO message group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedMessage {
    pub message: OutgoingMessage,
    /// The message group id, sent only to FIFO queues and topics.
    pub group_id: Option<String>,
}

impl PreparedMessage {
    /// Serializes an envelope and sets the `eventType` attribute and the event's message group.
    pub fn from_envelope<T: Event>(
        envelope: &Envelope<T>,
    ) -> Result<PreparedMessage, EnvelopeError> {
        let message = OutgoingMessage {
            body: envelope.to_body()?,
            attributes: [(
                EVENT_TYPE_ATTRIBUTE.to_string(),
                envelope.event_type.clone(),
            )]
            .into(),
            event_id: envelope.event_id.clone(),
        };
        Ok(PreparedMessage {
            message,
            group_id: envelope.data.message_group(),
        })
    }
}

/// The queue or topic a publisher sends to.
#[derive(Clone, Debug)]
enum Target {
    Queue {
        client: aws_sdk_sqs::Client,
        url: String,
    },
    Topic {
        client: aws_sdk_sns::Client,
        arn: String,
    },
}

impl Target {
    /// Returns the queue URL or the topic ARN.
    fn name(&self) -> &str {
        match self {
            Target::Queue { url, .. } => url,
            Target::Topic { arn, .. } => arn,
        }
    }

    fn single_operation(&self) -> &'static str {
        match self {
            Target::Queue { .. } => "SendMessage",
            Target::Topic { .. } => "Publish",
        }
    }

    fn batch_operation(&self) -> &'static str {
        match self {
            Target::Queue { .. } => "SendMessageBatch",
            Target::Topic { .. } => "PublishBatch",
        }
    }
}

/// The entries of one batch response, by entry id: message ids of the successful entries, and
/// `code: message` reasons of the failed ones.
#[derive(Debug, Default)]
struct BatchResponse {
    sent: Vec<(String, String)>,
    /// Entry id, reason, and whether the sender is at fault, so a retry cannot succeed.
    failed: Vec<(String, String, bool)>,
}

/// Publishes events to one queue or one topic.
#[derive(Clone, Debug)]
pub struct Publisher {
    target: Target,
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
        let url = queue_url.into();
        Publisher::with_target(Target::Queue { client, url }, max_message_size)
    }

    /// Publishes to the SNS topic `topic_arn`. `max_message_size` is the topic's
    /// MaximumMessageSize, from 1,024 to 1,048,576 bytes and 262,144 by default (Amazon SNS API
    /// reference, SetTopicAttributes). It limits one message and the sum of a batch, bodies and
    /// attributes included. FIFO topics are recognized by their `.fifo` name.
    pub fn topic(
        client: aws_sdk_sns::Client,
        topic_arn: impl Into<String>,
        max_message_size: usize,
    ) -> Publisher {
        let arn = topic_arn.into();
        Publisher::with_target(Target::Topic { client, arn }, max_message_size)
    }

    fn with_target(target: Target, max_message_size: usize) -> Publisher {
        Publisher {
            fifo: target.name().ends_with(".fifo"),
            target,
            max_message_size,
            retry_delay: Duration::from_millis(200),
            requests: RequestCounts::default(),
        }
    }

    /// Returns the counts of the requests this publisher sent, by operation.
    pub fn requests(&self) -> &RequestCounts {
        &self.requests
    }

    /// Returns the size limit of one message and of a whole batch, in bytes.
    pub fn max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// Checks what the target would reject for certain before any request: a message over
    /// the size limit, or a message with no group on a FIFO target.
    pub fn check(&self, prepared: &PreparedMessage) -> Result<(), PublishError> {
        if self.fifo && prepared.group_id.is_none() {
            return Err(PublishError::MissingGroup {
                event_id: prepared.message.event_id.clone(),
                target: self.target.name().to_string(),
            });
        }
        self.check_size(&prepared.message)?;
        Ok(())
    }

    /// Checks that `message` fits the target's size limit.
    pub fn check_size(&self, message: &OutgoingMessage) -> Result<(), Oversized> {
        let size = message.size();
        if size > self.max_message_size {
            return Err(Oversized {
                event_id: message.event_id.clone(),
                size,
                limit: self.max_message_size,
            });
        }
        Ok(())
    }

    /// Sends one event with SendMessage or Publish. On a FIFO target the event id is the
    /// deduplication id and the event's message group the group id. Returns the message id.
    pub async fn publish<T: Event>(&self, envelope: &Envelope<T>) -> Result<String, PublishError> {
        let prepared = PreparedMessage::from_envelope(envelope)?;
        self.check(&prepared)?;

        let operation = self.target.single_operation();
        self.requests.record(operation);
        self.request_single(&prepared)
            .await
            .map_err(|message| PublishError::Send {
                operation,
                event_id: prepared.message.event_id.clone(),
                message,
            })
    }

    /// Sends events in batches of up to 10 entries and the target's size limit. Entries that
    /// fail inside a batch are retried, and those that still fail are returned by event id,
    /// as are oversized events, which are never sent.
    pub async fn publish_batch<T: Event>(
        &self,
        envelopes: &[Envelope<T>],
    ) -> Result<BatchOutcome, PublishError> {
        let messages = envelopes
            .iter()
            .map(PreparedMessage::from_envelope)
            .collect::<Result<Vec<_>, _>>()?;
        let event_ids: Vec<String> = messages
            .iter()
            .map(|prepared| prepared.message.event_id.clone())
            .collect();

        let mut outcome = BatchOutcome::default();
        let results = self.publish_prepared(messages).await;
        for (event_id, result) in event_ids.into_iter().zip(results) {
            match result {
                Ok(_) => outcome.sent.push(event_id),
                Err(error) => outcome.failed.push((event_id, error.to_string())),
            }
        }
        Ok(outcome)
    }

    /// Sends prepared messages like [`Publisher::publish_batch`]. Returns one result per
    /// message, in input order: the message id, or why the message was not sent.
    pub async fn publish_prepared(
        &self,
        messages: Vec<PreparedMessage>,
    ) -> Vec<Result<String, PublishError>> {
        let mut results: Vec<Option<Result<String, PublishError>>> =
            messages.iter().map(|_| None).collect();
        let mut accepted: Vec<(usize, PreparedMessage)> = Vec::new();
        for (position, prepared) in messages.into_iter().enumerate() {
            match self.check(&prepared) {
                Ok(()) => accepted.push((position, prepared)),
                Err(error) => results[position] = Some(Err(error)),
            }
        }

        // `pack` keeps the input order and no message left is oversized, so its batches are
        // consecutive runs of `accepted`.
        let outgoing = accepted
            .iter()
            .map(|(_, prepared)| prepared.message.clone())
            .collect();
        let (batches, _) = pack(outgoing, self.max_message_size);
        let mut remaining = accepted.into_iter();
        for batch in batches {
            let (positions, prepared): (Vec<usize>, Vec<PreparedMessage>) =
                remaining.by_ref().take(batch.len()).unzip();
            let batch_results = self.send_batch(&prepared).await;
            for (position, result) in positions.into_iter().zip(batch_results) {
                results[position] = Some(result);
            }
        }

        results
            .into_iter()
            .map(|result| result.expect("every message is oversized or in a batch"))
            .collect()
    }

    /// Sends one batch of at most 10 messages and retries the entries that fail. Returns one
    /// result per message, in order.
    async fn send_batch(&self, batch: &[PreparedMessage]) -> Vec<Result<String, PublishError>> {
        let operation = self.target.batch_operation();
        let mut results: Vec<Result<String, String>> = vec![Err(String::new()); batch.len()];
        let mut attempts = vec![0; batch.len()];
        // Positions in `batch` of the messages not sent yet.
        let mut pending: Vec<usize> = (0..batch.len()).collect();

        for attempt in 1..=BATCH_ATTEMPTS {
            let entries: Vec<&PreparedMessage> =
                pending.iter().map(|&position| &batch[position]).collect();
            self.requests.record(operation);
            let response = self.request_batch(&entries).await;
            let final_failures = final_failure_indexes(entries.len(), &response);

            let mut retry = Vec::new();
            let entry_results = entry_results(entries.len(), response);
            for (index, (position, result)) in pending.into_iter().zip(entry_results).enumerate() {
                attempts[position] = attempt;
                if result.is_err() && !final_failures.contains(&index) {
                    retry.push(position);
                }
                results[position] = result;
            }
            pending = retry;
            if pending.is_empty() {
                break;
            }
            if attempt < BATCH_ATTEMPTS {
                let delay = self.retry_delay * 2u32.pow(attempt - 1);
                tracing::warn!(
                    operation,
                    destination = self.target.name(),
                    attempt,
                    failed = pending.len(),
                    reason = results[pending[0]].as_ref().err(),
                    ?delay,
                    "retrying the failed entries of a batch"
                );
                tokio::time::sleep(delay).await;
            }
        }

        results
            .into_iter()
            .zip(batch)
            .zip(attempts)
            .map(|((result, prepared), attempts)| {
                result.map_err(|reason| PublishError::BatchEntry {
                    operation,
                    event_id: prepared.message.event_id.clone(),
                    attempts,
                    reason,
                })
            })
            .collect()
    }

    /// Sends one message with SendMessage or Publish. Returns the message id, or the error
    /// text of the request.
    async fn request_single(&self, prepared: &PreparedMessage) -> Result<String, String> {
        let message = &prepared.message;
        let (deduplication_id, group_id) = self.fifo_ids(prepared);
        match &self.target {
            Target::Queue { client, url } => {
                let mut request = client
                    .send_message()
                    .queue_url(url)
                    .message_body(&message.body)
                    .set_message_deduplication_id(deduplication_id)
                    .set_message_group_id(group_id);
                for (name, value) in &message.attributes {
                    request = request.message_attributes(name, queue_attribute(value));
                }
                let output = request
                    .send()
                    .await
                    .map_err(|error| crate::errors::describe(&error))?;
                Ok(output.message_id.unwrap_or_default())
            }
            Target::Topic { client, arn } => {
                let mut request = client
                    .publish()
                    .topic_arn(arn)
                    .message(&message.body)
                    .set_message_deduplication_id(deduplication_id)
                    .set_message_group_id(group_id);
                for (name, value) in &message.attributes {
                    request = request.message_attributes(name, topic_attribute(value));
                }
                let output = request
                    .send()
                    .await
                    .map_err(|error| crate::errors::describe(&error))?;
                Ok(output.message_id.unwrap_or_default())
            }
        }
    }

    /// Sends one SendMessageBatch or PublishBatch request. Entry ids are the positions in
    /// `entries`, never taken from a message. Returns the error text when the whole request
    /// failed.
    async fn request_batch(&self, entries: &[&PreparedMessage]) -> Result<BatchResponse, String> {
        match &self.target {
            Target::Queue { client, url } => {
                let mut request = client.send_message_batch().queue_url(url);
                for (index, prepared) in entries.iter().enumerate() {
                    let (deduplication_id, group_id) = self.fifo_ids(prepared);
                    let mut entry = aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                        .id(index.to_string())
                        .message_body(&prepared.message.body)
                        .set_message_deduplication_id(deduplication_id)
                        .set_message_group_id(group_id);
                    for (name, value) in &prepared.message.attributes {
                        entry = entry.message_attributes(name, queue_attribute(value));
                    }
                    request = request.entries(entry.build().expect("id and body are set"));
                }
                let output = request
                    .send()
                    .await
                    .map_err(|error| crate::errors::describe(&error))?;
                Ok(BatchResponse {
                    sent: output
                        .successful
                        .into_iter()
                        .map(|success| (success.id, success.message_id))
                        .collect(),
                    failed: output
                        .failed
                        .into_iter()
                        .map(|failure| {
                            (
                                failure.id,
                                failure_reason(&failure.code, failure.message),
                                failure.sender_fault,
                            )
                        })
                        .collect(),
                })
            }
            Target::Topic { client, arn } => {
                let mut request = client.publish_batch().topic_arn(arn);
                for (index, prepared) in entries.iter().enumerate() {
                    let (deduplication_id, group_id) = self.fifo_ids(prepared);
                    let mut entry = aws_sdk_sns::types::PublishBatchRequestEntry::builder()
                        .id(index.to_string())
                        .message(&prepared.message.body)
                        .set_message_deduplication_id(deduplication_id)
                        .set_message_group_id(group_id);
                    for (name, value) in &prepared.message.attributes {
                        entry = entry.message_attributes(name, topic_attribute(value));
                    }
                    request = request.publish_batch_request_entries(
                        entry.build().expect("id and message are set"),
                    );
                }
                let output = request
                    .send()
                    .await
                    .map_err(|error| crate::errors::describe(&error))?;
                Ok(BatchResponse {
                    sent: output
                        .successful
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|success| {
                            Some((success.id?, success.message_id.unwrap_or_default()))
                        })
                        .collect(),
                    failed: output
                        .failed
                        .unwrap_or_default()
                        .into_iter()
                        .map(|failure| {
                            (
                                failure.id,
                                failure_reason(&failure.code, failure.message),
                                failure.sender_fault,
                            )
                        })
                        .collect(),
                })
            }
        }
    }

    /// Returns the deduplication id and message group id of a message: the event id and the
    /// event's group on a FIFO target, and neither on a standard one.
    fn fifo_ids(&self, prepared: &PreparedMessage) -> (Option<String>, Option<String>) {
        if self.fifo {
            (
                Some(prepared.message.event_id.clone()),
                prepared.group_id.clone(),
            )
        } else {
            (None, None)
        }
    }
}

fn queue_attribute(value: &str) -> aws_sdk_sqs::types::MessageAttributeValue {
    aws_sdk_sqs::types::MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .expect("data type is set")
}

fn topic_attribute(value: &str) -> aws_sdk_sns::types::MessageAttributeValue {
    aws_sdk_sns::types::MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .expect("data type is set")
}

fn attempt_count(attempts: u32) -> String {
    if attempts == 1 {
        "1 attempt".to_string()
    } else {
        format!("{attempts} attempts")
    }
}

/// Returns the positions of the `count` entries whose failure a retry here cannot fix. These
/// are the entries the response marks as the sender's fault (an invalid parameter, say). When
/// the request failed as a whole, they are all entries, because the SDK has already retried
/// the request where a retry could help (throttling, server errors, timeouts).
fn final_failure_indexes(
    count: usize,
    response: &Result<BatchResponse, String>,
) -> std::collections::HashSet<usize> {
    match response {
        Ok(response) => response
            .failed
            .iter()
            .filter(|(_, _, sender_fault)| *sender_fault)
            .filter_map(|(id, _, _)| id.parse::<usize>().ok())
            .collect(),
        Err(_) => (0..count).collect(),
    }
}

fn failure_reason(code: &str, message: Option<String>) -> String {
    format!("{code}: {}", message.unwrap_or_default())
}

/// Matches a batch response to its `count` entries, whose ids are their positions. Returns
/// the message id or the failure reason of each entry. An entry that the response does not
/// list fails with [`MISSING_RESULT`], and a failed request fails every entry with its error.
fn entry_results(
    count: usize,
    response: Result<BatchResponse, String>,
) -> Vec<Result<String, String>> {
    let response = match response {
        Ok(response) => response,
        Err(reason) => return vec![Err(reason); count],
    };
    let mut results = vec![Err(MISSING_RESULT.to_string()); count];
    let sent = response
        .sent
        .into_iter()
        .map(|(id, message_id)| (id, Ok(message_id)));
    let failed = response
        .failed
        .into_iter()
        .map(|(id, reason, _)| (id, Err(reason)));
    for (id, result) in sent.chain(failed) {
        if let Some(slot) = id
            .parse::<usize>()
            .ok()
            .and_then(|index| results.get_mut(index))
        {
            *slot = result;
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(sent: &[(&str, &str)], failed: &[(&str, &str)]) -> BatchResponse {
        let pairs = |list: &[(&str, &str)]| {
            list.iter()
                .map(|(id, value)| (id.to_string(), value.to_string()))
                .collect()
        };
        BatchResponse {
            sent: pairs(sent),
            failed: pairs(failed)
                .into_iter()
                .map(|(id, reason)| (id, reason, false))
                .collect(),
        }
    }

    #[test]
    fn entry_results_follow_entry_ids() {
        let results = entry_results(
            3,
            Ok(response(
                &[("2", "m-2"), ("0", "m-0")],
                &[("1", "Throttled: slow down")],
            )),
        );
        assert_eq!(
            results,
            vec![
                Ok("m-0".to_string()),
                Err("Throttled: slow down".to_string()),
                Ok("m-2".to_string())
            ]
        );
    }

    #[test]
    fn unlisted_entry_fails() {
        let results = entry_results(2, Ok(response(&[("0", "m-0")], &[])));
        assert_eq!(results[0], Ok("m-0".to_string()));
        assert_eq!(
            results[1],
            Err("the response has no result for this entry".to_string())
        );
    }

    #[test]
    fn unknown_entry_id_is_ignored() {
        let results = entry_results(
            1,
            Ok(response(&[("0", "m-0"), ("7", "m-7"), ("x", "m-x")], &[])),
        );
        assert_eq!(results, vec![Ok("m-0".to_string())]);
    }

    #[test]
    fn failed_request_fails_every_entry() {
        let results = entry_results(2, Err("dispatch failure".to_string()));
        assert_eq!(
            results,
            vec![
                Err("dispatch failure".to_string()),
                Err("dispatch failure".to_string())
            ]
        );
    }

    #[test]
    fn final_failures_are_not_retried() {
        let response = BatchResponse {
            sent: vec![("0".to_string(), "m-0".to_string())],
            failed: vec![
                (
                    "1".to_string(),
                    "InvalidParameterValue: bad".to_string(),
                    true,
                ),
                ("2".to_string(), "InternalError: retry".to_string(), false),
            ],
        };
        let faults = final_failure_indexes(3, &Ok(response));
        assert_eq!(faults, std::collections::HashSet::from([1]));
        let failed_request = final_failure_indexes(2, &Err("timed out".to_string()));
        assert_eq!(failed_request, std::collections::HashSet::from([0, 1]));
    }

    #[test]
    fn single_attempt_error_is_singular() {
        let error = PublishError::BatchEntry {
            operation: "SendMessageBatch",
            event_id: "e-5".into(),
            attempts: 1,
            reason: "InvalidParameterValue: bad".into(),
        };
        assert_eq!(
            error.to_string(),
            "SendMessageBatch failed for event e-5 after 1 attempt: InvalidParameterValue: bad"
        );
    }

    #[test]
    fn batch_entry_error_names_operation_and_attempts() {
        let error = PublishError::BatchEntry {
            operation: "PublishBatch",
            event_id: "e-4".into(),
            attempts: 3,
            reason: "InternalError: try again".into(),
        };
        assert_eq!(
            error.to_string(),
            "PublishBatch failed for event e-4 after 3 attempts: InternalError: try again"
        );
    }
}
