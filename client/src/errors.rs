//! Short texts for AWS SDK errors, for logs and error messages.

use std::error::Error;

use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Describes an SDK error of SQS or SNS in one short line.
///
/// A service error becomes `Code: message`, such as
/// `AWS.SimpleQueueService.NonExistentQueue: The specified queue does not exist.`, because the
/// SDK's own full text also carries the raw HTTP response. Other errors (a timeout, a refused
/// connection, a credential failure) keep the SDK's text with its causes.
pub(crate) fn describe<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + Error + 'static,
    R: std::fmt::Debug,
{
    if let SdkError::ServiceError(service) = error {
        let inner = service.err();
        if let Some(code) = inner.code() {
            return match inner.message() {
                Some(message) => format!("{code}: {message}"),
                None => code.to_string(),
            };
        }
    }
    DisplayErrorContext(error).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sqs::error::ErrorMetadata;
    use aws_sdk_sqs::operation::receive_message::ReceiveMessageError;

    #[test]
    fn service_error_is_code_and_message() {
        let metadata = ErrorMetadata::builder()
            .code("AWS.SimpleQueueService.NonExistentQueue")
            .message("The specified queue does not exist.")
            .build();
        let error: SdkError<ReceiveMessageError, ()> =
            SdkError::service_error(ReceiveMessageError::generic(metadata), ());
        assert_eq!(
            describe(&error),
            "AWS.SimpleQueueService.NonExistentQueue: The specified queue does not exist."
        );
    }

    #[test]
    fn timeout_keeps_sdk_text() {
        let error: SdkError<ReceiveMessageError, ()> =
            SdkError::timeout_error("no response within 15 s");
        assert_eq!(
            describe(&error),
            "request has timed out: no response within 15 s (TimeoutError(TimeoutError { source: \"no response within 15 s\" }))"
        );
    }
}
