//! Tests of the publisher against the local AWS emulator (moto on loopback).

mod common;

use std::collections::BTreeMap;

use common::{
    TripCancelled, TripCreated, create_queue, endpoint, event, receive_all, sqs_client, unique,
};
use sqsform_client::{Envelope, PublishError, Publisher};

#[tokio::test]
async fn single_event_carries_type_attribute() {
    let client = sqs_client();
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
    let client = sqs_client();
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
    let client = sqs_client();
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
    let client = sqs_client();
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

#[tokio::test]
async fn fifo_event_without_group_is_rejected() {
    let client = sqs_client();
    let url = create_queue(&client, &unique("groupless.fifo")).await;
    let publisher = Publisher::new(client.clone(), &url, 1_048_576);
    let cancelled = Envelope::new(
        "e-3",
        "2026-12-04T10:00:00Z",
        TripCancelled {
            trip_id: "t-3".into(),
        },
    );

    let error = publisher.publish(&cancelled).await.expect_err("no group");
    let outcome = publisher
        .publish_batch(std::slice::from_ref(&cancelled))
        .await
        .expect("batch");

    let expected = format!(
        "event e-3 has no message group, but the FIFO target {url} requires one; return it from Event::message_group"
    );
    assert_eq!(error.to_string(), expected);
    assert_eq!(outcome.failed, vec![("e-3".to_string(), expected)]);
    assert_eq!(publisher.requests().total(), 0);
}

#[tokio::test]
async fn failed_batch_request_is_not_retried() {
    let client = sqs_client();
    let url = format!("{}/123456789012/{}", endpoint(), unique("missing"));
    let publisher = Publisher::new(client, &url, 1_048_576);

    let outcome = publisher
        .publish_batch(&[event(1, "t-1"), event(2, "t-1")])
        .await
        .expect("batch");

    // The SDK retries a failed request where a retry can help, so the publisher does not
    // repeat it.
    assert_eq!(
        publisher.requests().snapshot(),
        BTreeMap::from([("SendMessageBatch", 1)])
    );
    let reason = "SendMessageBatch failed for event e-1 after 1 attempt: AWS.SimpleQueueService.NonExistentQueue: The specified queue does not exist.";
    assert_eq!(outcome.failed[0], ("e-1".to_string(), reason.to_string()));
    assert_eq!(outcome.failed.len(), 2);
    assert!(outcome.sent.is_empty());
}
