//! The event envelope every message carries, and the trait events implement.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A domain event that services publish, such as `trip.created`.
pub trait Event: Serialize + DeserializeOwned {
    /// The event type name, sent in the envelope and as the `eventType` message attribute so
    /// topic filter policies can match it.
    const EVENT_TYPE: &'static str;

    /// Returns the FIFO message group, such as the trip id, so events of one trip stay in order.
    /// `None` for events sent to standard queues.
    fn message_group(&self) -> Option<String> {
        None
    }
}

/// The JSON body of every message: `{eventType, eventId, timestamp, data}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope<T> {
    pub event_type: String,
    /// Unique per event; the FIFO deduplication id and the idempotency key.
    pub event_id: String,
    /// When the event happened, as RFC 3339 text.
    pub timestamp: String,
    pub data: T,
}

/// Errors of reading a message body.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// The body is not the JSON envelope of the expected event.
    #[error("invalid event envelope: {0}")]
    Invalid(#[from] serde_json::Error),
    /// The envelope names another event type than the handler expects.
    #[error("unexpected event type \"{found}\", expected \"{expected}\"")]
    WrongType {
        expected: &'static str,
        found: String,
    },
}

impl<T: Event> Envelope<T> {
    /// Wraps an event with its id and time.
    pub fn new(event_id: impl Into<String>, timestamp: impl Into<String>, data: T) -> Envelope<T> {
        Envelope {
            event_type: T::EVENT_TYPE.to_string(),
            event_id: event_id.into(),
            timestamp: timestamp.into(),
            data,
        }
    }

    /// Returns the message body.
    pub fn to_body(&self) -> Result<String, EnvelopeError> {
        Ok(serde_json::to_string(self)?)
    }

    /// Reads a message body, checking the event type.
    pub fn from_body(body: &str) -> Result<Envelope<T>, EnvelopeError> {
        let envelope: Envelope<T> = serde_json::from_str(body)?;
        if envelope.event_type != T::EVENT_TYPE {
            return Err(EnvelopeError::WrongType {
                expected: T::EVENT_TYPE,
                found: envelope.event_type,
            });
        }
        Ok(envelope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct TripCreated {
        trip_id: String,
    }

    impl Event for TripCreated {
        const EVENT_TYPE: &'static str = "trip.created";

        fn message_group(&self) -> Option<String> {
            Some(self.trip_id.clone())
        }
    }

    #[test]
    fn body_round_trips() {
        let envelope = Envelope::new(
            "e-1",
            "2026-12-04T10:00:00Z",
            TripCreated {
                trip_id: "t-9".into(),
            },
        );
        let body = envelope.to_body().unwrap();
        assert_eq!(
            body,
            r#"{"eventType":"trip.created","eventId":"e-1","timestamp":"2026-12-04T10:00:00Z","data":{"tripId":"t-9"}}"#
        );
        assert_eq!(Envelope::<TripCreated>::from_body(&body).unwrap(), envelope);
        assert_eq!(envelope.data.message_group().as_deref(), Some("t-9"));
    }

    #[test]
    fn wrong_event_type_is_rejected() {
        let body = r#"{"eventType":"trip.cancelled","eventId":"e-1","timestamp":"t","data":{"tripId":"t-9"}}"#;
        let error = Envelope::<TripCreated>::from_body(body).unwrap_err();
        assert_eq!(
            error.to_string(),
            "unexpected event type \"trip.cancelled\", expected \"trip.created\""
        );
    }

    #[test]
    fn malformed_body_is_rejected() {
        let error = Envelope::<TripCreated>::from_body("not json").unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid event envelope: expected ident at line 1 column 2"
        );
    }
}
