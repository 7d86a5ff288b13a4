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

impl<T: DeserializeOwned> Envelope<T> {
    /// Parses a message body of any event type whose data decodes as `T`.
    pub fn parse(body: &str) -> Result<Envelope<T>, EnvelopeError> {
        Ok(serde_json::from_str(body)?)
    }
}

impl Envelope<serde_json::Value> {
    /// Decodes the data of an envelope parsed with untyped data as the event `E`, after
    /// checking that the event type is `E`'s.
    pub fn decode<E: Event>(self) -> Result<Envelope<E>, EnvelopeError> {
        if self.event_type != E::EVENT_TYPE {
            return Err(EnvelopeError::WrongType {
                expected: E::EVENT_TYPE,
                found: self.event_type,
            });
        }
        Ok(Envelope {
            data: serde_json::from_value(self.data)?,
            event_type: self.event_type,
            event_id: self.event_id,
            timestamp: self.timestamp,
        })
    }
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

    /// Creates an envelope stamped with the current time in RFC 3339 UTC, such as
    /// `2026-12-04T10:00:00.125Z`.
    pub fn now(event_id: impl Into<String>, data: T) -> Envelope<T> {
        let now = aws_sdk_sqs::primitives::DateTime::from(std::time::SystemTime::now());
        let timestamp = now
            .fmt(aws_sdk_sqs::primitives::DateTimeFormat::DateTime)
            .unwrap_or_else(|_| now.secs().to_string());
        Envelope::new(event_id, timestamp, data)
    }

    /// Returns the message body.
    pub fn to_body(&self) -> Result<String, EnvelopeError> {
        Ok(serde_json::to_string(self)?)
    }

    /// Reads a message body, checking the event type before it decodes the data, so that an
    /// event of another type fails as [`EnvelopeError::WrongType`] whatever its data.
    pub fn from_body(body: &str) -> Result<Envelope<T>, EnvelopeError> {
        Envelope::<serde_json::Value>::parse(body)?.decode()
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
    fn now_stamps_rfc3339_utc() {
        let envelope = Envelope::now(
            "e-1",
            TripCreated {
                trip_id: "t-9".into(),
            },
        );
        let stamp = &envelope.timestamp;
        assert!(stamp.starts_with("20"), "{stamp}");
        assert_eq!(&stamp[10..11], "T");
        assert!(stamp.ends_with('Z'), "{stamp}");
        let parsed = aws_sdk_sqs::primitives::DateTime::from_str(
            stamp,
            aws_sdk_sqs::primitives::DateTimeFormat::DateTime,
        )
        .expect("RFC 3339");
        let now = aws_sdk_sqs::primitives::DateTime::from(std::time::SystemTime::now());
        assert!(now.secs() - parsed.secs() < 60);
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
    fn untyped_envelope_decodes_by_type() {
        let body = r#"{"eventType":"trip.created","eventId":"e-1","timestamp":"t","data":{"tripId":"t-9"}}"#;
        let untyped = Envelope::<serde_json::Value>::parse(body).unwrap();
        assert_eq!(untyped.event_type, "trip.created");

        let typed = untyped.clone().decode::<TripCreated>().unwrap();
        assert_eq!(typed.data.trip_id, "t-9");
        assert_eq!(typed.event_id, "e-1");

        let mut other = untyped;
        other.event_type = "trip.cancelled".into();
        let error = other.decode::<TripCreated>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unexpected event type \"trip.cancelled\", expected \"trip.created\""
        );
    }

    #[test]
    fn wrong_type_is_reported_before_data() {
        let body = r#"{"eventType":"driver.assigned","eventId":"d-1","timestamp":"t","data":"plain string"}"#;
        let error = Envelope::<TripCreated>::from_body(body).unwrap_err();
        assert_eq!(
            error.to_string(),
            "unexpected event type \"driver.assigned\", expected \"trip.created\""
        );
    }

    #[test]
    fn missing_data_field_is_named() {
        let body = r#"{"eventType":"trip.created","eventId":"e-1","timestamp":"t","data":{}}"#;
        let error = Envelope::<TripCreated>::from_body(body).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid event envelope: missing field `tripId`"
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
