//! Tests of the publisher against the local AWS emulator (moto on loopback).

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::time::Duration;

use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sqs::types::QueueAttributeName;
use serde::{Deserialize, Serialize};
use sqsform_client::{Envelope, Event, PublishError, Publisher};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TripCreated {
    trip_id: String,
    note: String,
}

impl Event for TripCreated {
    const EVENT_TYPE: &'static str = "trip.created";

    fn message_group(&self) -> Option<String> {
        Some(self.trip_id.clone())
    }
}

fn endpoint() -> String {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        !endpoint.is_empty(),
        "AWS_ENDPOINT_URL is not set: these tests need the local AWS emulator; run scripts/test, or scripts/local-aws start"
    );
    let address = endpoint
        .trim_start_matches("http://")
        .parse()
        .expect("AWS_ENDPOINT_URL must be http://<ip>:<port>");
    assert!(
        TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_ok(),
        "no emulator is listening at {endpoint}; start it with scripts/local-aws start"
    );
    endpoint
}

fn client() -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or_default();
    match name.strip_suffix(".fifo") {
        Some(stem) => format!("client-{stem}-{nanos:x}.fifo"),
        None => format!("client-{name}-{nanos:x}"),
    }
}

async fn create_queue(client: &aws_sdk_sqs::Client, name: &str) -> String {
    let mut request = client.create_queue().queue_name(name);
    if name.ends_with(".fifo") {
        request = request.attributes(QueueAttributeName::FifoQueue, "true");
    }
    request
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("URL")
}

async fn receive_all(client: &aws_sdk_sqs::Client, url: &str) -> Vec<(String, Option<String>)> {
    let mut received = Vec::new();
    loop {
        let output = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        let messages = output.messages.unwrap_or_default();
        if messages.is_empty() {
            return received;
        }
        for message in messages {
            let event_type = message
                .message_attributes
                .as_ref()
                .and_then(|attributes| attributes.get("eventType"))
                .and_then(|value| value.string_value.clone());
            received.push((message.body.clone().unwrap_or_default(), event_type));
            client
                .delete_message()
                .queue_url(url)
                .receipt_handle(message.receipt_handle.unwrap_or_default())
                .send()
                .await
                .expect("delete");
        }
    }
}

fn event(id: usize, trip: &str) -> Envelope<TripCreated> {
    Envelope::new(
        format!("e-{id}"),
        "2026-12-04T10:00:00Z",
        TripCreated {
            trip_id: trip.into(),
            note: String::new(),
        },
    )
}

#[tokio::test]
async fn single_event_carries_type_attribute() {
    let client = client();
    let url = create_queue(&client, &unique("single")).await;
    let publisher = Publisher::new(client.clone(), &url, 1_048_576);

    publisher.publish(&event(1, "t-1")).await.expect("publish");

    assert_eq!(
        publisher.requests().snapshot(),
        BTreeMap::from([("SendMessage", 1)])
    );
    let received = receive_all(&client, &url).await;
    assert_eq!(
        received,
        vec![(
            r#"{"eventType":"trip.created","eventId":"e-1","timestamp":"2026-12-04T10:00:00Z","data":{"tripId":"t-1","note":""}}"#.to_string(),
            Some("trip.created".to_string())
        )]
    );
}

#[tokio::test]
async fn batch_of_25_arrives_complete() {
    let client = client();
    let url = create_queue(&client, &unique("batch")).await;
    let publisher = Publisher::new(client.clone(), &url, 1_048_576);
    let events: Vec<Envelope<TripCreated>> = (0..25).map(|id| event(id, "t-1")).collect();

    let outcome = publisher.publish_batch(&events).await.expect("publish");

    assert_eq!(outcome.sent.len(), 25);
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    // Batches of 10, 10 and 5: 0.12 requests per event.
    assert_eq!(
        publisher.requests().snapshot(),
        BTreeMap::from([("SendMessageBatch", 3)])
    );
    let mut ids: Vec<String> = receive_all(&client, &url)
        .await
        .into_iter()
        .map(|(body, _)| {
            Envelope::<TripCreated>::from_body(&body)
                .expect("envelope")
                .event_id
        })
        .collect();
    ids.sort();
    let mut expected: Vec<String> = (0..25).map(|id| format!("e-{id}")).collect();
    expected.sort();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn fifo_batch_keeps_order_and_deduplicates() {
    let client = client();
    let url = create_queue(&client, &unique("order.fifo")).await;
    let publisher = Publisher::new(client.clone(), &url, 1_048_576);
    let mut events: Vec<Envelope<TripCreated>> = (0..12).map(|id| event(id, "t-7")).collect();
    // A repeated event id within the deduplication interval is accepted but not delivered again.
    events.push(event(3, "t-7"));

    let outcome = publisher.publish_batch(&events).await.expect("publish");

    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    let ids: Vec<String> = receive_all(&client, &url)
        .await
        .into_iter()
        .map(|(body, _)| {
            Envelope::<TripCreated>::from_body(&body)
                .expect("envelope")
                .event_id
        })
        .collect();
    let expected: Vec<String> = (0..12).map(|id| format!("e-{id}")).collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn oversized_event_is_rejected_before_sending() {
    let client = client();
    let url = create_queue(&client, &unique("small")).await;
    let publisher = Publisher::new(client.clone(), &url, 1_024);
    let mut large = event(9, "t-1");
    large.data.note = "x".repeat(2_000);

    let error = publisher.publish(&large).await.expect_err("too large");
    let outcome = publisher
        .publish_batch(&[event(1, "t-1"), large])
        .await
        .expect("batch");

    match error {
        PublishError::Oversized(oversized) => {
            assert_eq!(oversized.event_id, "e-9");
            assert_eq!(oversized.limit, 1_024);
            assert_eq!(oversized.size, 2_140);
        }
        other => panic!("unexpected error {other}"),
    }
    assert_eq!(outcome.sent, vec!["e-1".to_string()]);
    // The oversized event costs no request: one batch carries the other event.
    assert_eq!(
        publisher.requests().snapshot(),
        BTreeMap::from([("SendMessageBatch", 1)])
    );
    assert_eq!(
        outcome.failed,
        vec![(
            "e-9".to_string(),
            "event e-9 is 2140 bytes, over the message size limit of 1024 bytes".to_string()
        )]
    );
    assert_eq!(receive_all(&client, &url).await.len(), 1);
}
