//! The SQS requests of the consumer, each counted by operation.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::operation::receive_message::ReceiveMessageError;
use aws_sdk_sqs::types::{
    BatchResultErrorEntry, ChangeMessageVisibilityBatchRequestEntry,
    DeleteMessageBatchRequestEntry, Message, MessageAttributeValue, MessageSystemAttributeName,
};

use crate::deletes::MAX_BATCH_ENTRIES;
use crate::requests::RequestCounts;

/// The message attribute that carries the reason an undecodable message was dead-lettered.
pub const DEAD_LETTER_REASON_ATTRIBUTE: &str = "deadLetterReason";
/// SQS accepts at most 10 message attributes on one message.
const MAX_MESSAGE_ATTRIBUTES: usize = 10;
/// The maximum length of a dead-letter reason, in characters. Longer reasons are cut, so the
/// copy stays well inside the message size limit.
const MAX_REASON_CHARS: usize = 1_000;

/// The kind of a failed ReceiveMessage, which sets its log level. Throttling and the in-flight
/// limit are expected under load, but a network failure or a credential error needs an operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceiveFailure {
    Throttled,
    Network,
    Credentials,
    Other,
}

/// Classifies a ReceiveMessage error by its AWS error code or transport failure.
pub fn classify(error: &SdkError<ReceiveMessageError>) -> ReceiveFailure {
    match error {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            ReceiveFailure::Network
        }
        _ => match error.code() {
            Some(
                "ThrottlingException"
                | "RequestThrottled"
                | "AWS.SimpleQueueService.RequestThrottled"
                | "OverLimit"
                | "KmsThrottled",
            ) => ReceiveFailure::Throttled,
            Some(
                "ExpiredToken"
                | "ExpiredTokenException"
                | "InvalidClientTokenId"
                | "UnrecognizedClientException"
                | "InvalidSecurity"
                | "SignatureDoesNotMatch"
                | "AccessDenied"
                | "AccessDeniedException",
            ) => ReceiveFailure::Credentials,
            _ => ReceiveFailure::Other,
        },
    }
}

/// One queue and the client that talks to it.
#[derive(Clone, Debug)]
pub struct QueueClient {
    pub client: aws_sdk_sqs::Client,
    pub url: String,
    pub requests: RequestCounts,
}

/// A receipt handle with the visibility timeout to set on it, in whole seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VisibilityChange {
    pub receipt_handle: String,
    pub timeout: Duration,
}

impl QueueClient {
    /// Receives up to `max_messages` messages with their receive count, group id and
    /// message attributes, holding them invisible for `visibility`.
    pub async fn receive(
        &self,
        max_messages: i32,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<Message>, SdkError<ReceiveMessageError>> {
        self.requests.record("ReceiveMessage");
        let output = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max_messages)
            .wait_time_seconds(seconds(wait))
            .visibility_timeout(seconds(visibility))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .message_attribute_names("All")
            .send()
            .await?;
        Ok(output.messages.unwrap_or_default())
    }

    /// Deletes handled messages, 10 per request. Returns the receipt handles that SQS did not
    /// delete with the reason.
    pub async fn delete(&self, receipt_handles: Vec<String>) -> Vec<(String, String)> {
        let mut failed = Vec::new();
        for chunk in receipt_handles.chunks(MAX_BATCH_ENTRIES) {
            let entries: Vec<DeleteMessageBatchRequestEntry> = chunk
                .iter()
                .enumerate()
                .map(|(index, handle)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(index.to_string())
                        .receipt_handle(handle)
                        .build()
                        .expect("id and receipt handle are set")
                })
                .collect();
            self.requests.record("DeleteMessageBatch");
            let result = self
                .client
                .delete_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await;
            let result = result
                .map(|output| output.failed)
                .map_err(|error| crate::errors::describe(&error));
            failed.extend(failed_entries(chunk, result));
        }
        failed
    }

    /// Sets the visibility timeout of one message.
    pub async fn change_visibility(&self, change: &VisibilityChange) -> Result<(), String> {
        self.requests.record("ChangeMessageVisibility");
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(&change.receipt_handle)
            .visibility_timeout(seconds(change.timeout))
            .send()
            .await
            .map(|_| ())
            .map_err(|error| crate::errors::describe(&error))
    }

    /// Sets the visibility timeouts of several messages, 10 per request. Returns the changes
    /// that failed with the reason.
    pub async fn change_visibility_batch(
        &self,
        changes: &[VisibilityChange],
    ) -> Vec<(VisibilityChange, String)> {
        let mut failed = Vec::new();
        for chunk in changes.chunks(MAX_BATCH_ENTRIES) {
            let entries: Vec<ChangeMessageVisibilityBatchRequestEntry> = chunk
                .iter()
                .enumerate()
                .map(|(index, change)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(index.to_string())
                        .receipt_handle(&change.receipt_handle)
                        .visibility_timeout(seconds(change.timeout))
                        .build()
                        .expect("id and receipt handle are set")
                })
                .collect();
            self.requests.record("ChangeMessageVisibilityBatch");
            let result = self
                .client
                .change_message_visibility_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await;
            let result = result
                .map(|output| output.failed)
                .map_err(|error| crate::errors::describe(&error));
            failed.extend(failed_entries(chunk, result));
        }
        failed
    }

    /// Sends a copy of `message` to this queue (a dead-letter queue) with `reason` as the
    /// `deadLetterReason` attribute. On a FIFO dead-letter queue the copy keeps its group
    /// and is deduplicated by the original message id.
    pub async fn send_dead_letter(&self, message: &Message, reason: &str) -> Result<(), String> {
        let mut attributes: HashMap<String, MessageAttributeValue> =
            message.message_attributes.clone().unwrap_or_default();
        attributes.remove(DEAD_LETTER_REASON_ATTRIBUTE);
        if attributes.len() >= MAX_MESSAGE_ATTRIBUTES {
            return Err(format!(
                "the message already has {} attributes, and SQS accepts at most {MAX_MESSAGE_ATTRIBUTES}",
                attributes.len()
            ));
        }
        let reason: String = reason.chars().take(MAX_REASON_CHARS).collect();
        attributes.insert(
            DEAD_LETTER_REASON_ATTRIBUTE.to_string(),
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(reason)
                .build()
                .expect("data type is set"),
        );

        let mut request = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(message.body.clone().unwrap_or_default())
            .set_message_attributes(Some(attributes));
        if self.url.ends_with(".fifo") {
            let group = message
                .attributes
                .as_ref()
                .and_then(|attributes| attributes.get(&MessageSystemAttributeName::MessageGroupId))
                .cloned()
                .unwrap_or_else(|| "dead-letter".to_string());
            request = request
                .message_group_id(group)
                .message_deduplication_id(message.message_id.clone().unwrap_or_default());
        }
        self.requests.record("SendMessage");
        request
            .send()
            .await
            .map(|_| ())
            .map_err(|error| crate::errors::describe(&error))
    }
}

/// Pairs the failed entries of one batch request with their items in `chunk`, whose
/// positions are the entry ids. A request that failed as a whole fails every item.
fn failed_entries<T: Clone>(
    chunk: &[T],
    result: Result<Vec<BatchResultErrorEntry>, String>,
) -> Vec<(T, String)> {
    match result {
        Ok(entries) => entries
            .into_iter()
            .filter_map(|entry| {
                let item = entry
                    .id
                    .parse::<usize>()
                    .ok()
                    .and_then(|index| chunk.get(index))?;
                let reason = format!("{}: {}", entry.code, entry.message.unwrap_or_default());
                Some((item.clone(), reason))
            })
            .collect(),
        Err(reason) => chunk
            .iter()
            .map(|item| (item.clone(), reason.clone()))
            .collect(),
    }
}

/// Converts a duration to the whole seconds SQS takes, saturating at `i32::MAX`.
fn seconds(duration: Duration) -> i32 {
    i32::try_from(duration.as_secs()).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_entry(id: &str, code: &str) -> BatchResultErrorEntry {
        BatchResultErrorEntry::builder()
            .id(id)
            .sender_fault(true)
            .code(code)
            .message("bad handle")
            .build()
            .expect("id, sender fault and code are set")
    }

    #[test]
    fn failed_entries_match_positions() {
        let chunk = ["handle-0", "handle-1", "handle-2"];
        let failed = failed_entries(
            &chunk,
            Ok(vec![
                error_entry("2", "ReceiptHandleIsInvalid"),
                error_entry("9", "Unknown"),
            ]),
        );
        assert_eq!(
            failed,
            vec![("handle-2", "ReceiptHandleIsInvalid: bad handle".to_string())]
        );
    }

    #[test]
    fn failed_request_fails_every_entry() {
        let failed = failed_entries(&["a", "b"], Err("timed out".to_string()));
        assert_eq!(
            failed,
            vec![
                ("a", "timed out".to_string()),
                ("b", "timed out".to_string())
            ]
        );
    }
}
