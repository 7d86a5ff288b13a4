//! Tests of publishing to SNS topics against the local AWS emulator (moto on loopback).
//!
//! Each topic delivers to an SQS queue through a subscription with RawMessageDelivery, so the
//! queue receives the envelope itself with its message attributes. Real SQS also needs a queue
//! policy that lets the topic send. moto 5.2.5 delivers without one.

mod common;

use std::collections::BTreeMap;

use common::{
    TripCancelled, TripCreated, create_queue, create_topic, event, event_ids, receive_all,
    sns_client, sqs_client, subscribe, topic_with_queue, unique,
};
use sqsform_client::{Envelope, PublishError, Publisher};

#[tokio::test]
async fn single_event_reaches_subscribed_queue() {
    let (sqs, sns) = (sqs_client(), sns_client());
    let (topic_arn, queue_url) = topic_with_queue(&sqs, &sns, "topic-single").await;
    let publisher = Publisher::topic(sns.clone(), &topic_arn, 262_144);

    let message_id = publisher.publish(&event(1, "t-1")).await.expect("publish");

    assert!(!message_id.is_empty());
    assert_eq!(
        publisher.requests().snapshot(),
        BTreeMap::from([("Publish", 1)])
    );
    assert_eq!(
        receive_all(&sqs, &queue_url).await,
        vec![(
            r#"{"eventType":"trip.created","eventId":"e-1","timestamp":"2026-12-04T10:00:00Z","data":{"tripId":"t-1","note":""}}"#.to_string(),
            Some("trip.created".to_string())
        )]
    );
}

#[tokio::test]
async fn batch_of_25_uses_three_requests() {
    let (sqs, sns) = (sqs_client(), sns_client());
    let (topic_arn, queue_url) = topic_with_queue(&sqs, &sns, "topic-batch").await;
    let publisher = Publisher::topic(sns.clone(), &topic_arn, 262_144);
    let events: Vec<Envelope<TripCreated>> = (0..25).map(|id| event(id, "t-1")).collect();

    let outcome = publisher.publish_batch(&events).await.expect("publish");

    let expected: Vec<String> = (0..25).map(|id| format!("e-{id}")).collect();
    assert_eq!(outcome.sent, expected);
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    // Batches of 10, 10 and 5.
    assert_eq!(
        publisher.requests().snapshot(),
        BTreeMap::from([("PublishBatch", 3)])
    );
    let received = receive_all(&sqs, &queue_url).await;
    let event_types: Vec<Option<String>> = received.iter().map(|(_, kind)| kind.clone()).collect();
    assert_eq!(event_types, vec![Some("trip.created".to_string()); 25]);
    let mut ids = event_ids(&received);
    ids.sort();
    let mut expected_sorted = expected;
    expected_sorted.sort();
    assert_eq!(ids, expected_sorted);
}

#[tokio::test]
async fn filter_policy_matches_event_type() {
    let (sqs, sns) = (sqs_client(), sns_client());
    let topic_arn = create_topic(&sns, &unique("topic-filter")).await;
    let queue_url = create_queue(&sqs, &unique("topic-filter")).await;
    subscribe(
        &sqs,
        &sns,
        &topic_arn,
        &queue_url,
        Some(r#"{"eventType": ["trip.cancelled"]}"#),
    )
    .await;
    let publisher = Publisher::topic(sns.clone(), &topic_arn, 262_144);
    let cancelled = Envelope::new(
        "e-2",
        "2026-12-04T10:05:00Z",
        TripCancelled {
            trip_id: "t-1".into(),
        },
    );

    publisher.publish(&event(1, "t-1")).await.expect("created");
    publisher.publish(&cancelled).await.expect("cancelled");

    assert_eq!(
        publisher.requests().snapshot(),
        BTreeMap::from([("Publish", 2)])
    );
    assert_eq!(
        receive_all(&sqs, &queue_url).await,
        vec![(
            r#"{"eventType":"trip.cancelled","eventId":"e-2","timestamp":"2026-12-04T10:05:00Z","data":{"tripId":"t-1"}}"#.to_string(),
            Some("trip.cancelled".to_string())
        )]
    );
}

#[tokio::test]
async fn fifo_topic_keeps_order_and_deduplicates() {
    let (sqs, sns) = (sqs_client(), sns_client());
    let (topic_arn, queue_url) = topic_with_queue(&sqs, &sns, "topic-order.fifo").await;
    let publisher = Publisher::topic(sns.clone(), &topic_arn, 262_144);
    let mut events: Vec<Envelope<TripCreated>> = (0..12).map(|id| event(id, "t-7")).collect();
    // A repeated event id within the deduplication interval is accepted but not delivered
    // again. moto 5.2.5 leaves the deduplication to the FIFO queue, which receives the same
    // deduplication id.
    events.push(event(3, "t-7"));

    let outcome = publisher.publish_batch(&events).await.expect("publish");

    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    assert_eq!(outcome.sent.len(), 13);
    // Batches of 10 and 3.
    assert_eq!(
        publisher.requests().snapshot(),
        BTreeMap::from([("PublishBatch", 2)])
    );
    let expected: Vec<String> = (0..12).map(|id| format!("e-{id}")).collect();
    assert_eq!(event_ids(&receive_all(&sqs, &queue_url).await), expected);
}

#[tokio::test]
async fn oversized_event_is_rejected_before_publishing() {
    let sns = sns_client();
    let topic_arn = create_topic(&sns, &unique("topic-small")).await;
    let publisher = Publisher::topic(sns.clone(), &topic_arn, 1_024);
    let mut large = event(9, "t-1");
    large.data.note = "x".repeat(2_000);

    let error = publisher.publish(&large).await.expect_err("too large");
    let outcome = publisher.publish_batch(&[large]).await.expect("batch");

    match error {
        PublishError::Oversized(oversized) => {
            assert_eq!(oversized.event_id, "e-9");
            assert_eq!(oversized.size, 2_140);
            assert_eq!(oversized.limit, 1_024);
        }
        other => panic!("unexpected error {other}"),
    }
    assert!(outcome.sent.is_empty());
    assert_eq!(
        outcome.failed,
        vec![(
            "e-9".to_string(),
            "event e-9 is 2140 bytes, over the message size limit of 1024 bytes".to_string()
        )]
    );
    assert_eq!(publisher.requests().total(), 0);
}

/// moto 5.2.5 stores the topic's MaximumMessageSize but keeps rejecting messages of more than
/// 262,144 characters, while SNS accepts up to the attribute's value (at most 1,048,576
/// bytes). moto reports the rejection as a failed PublishBatch entry, so this also runs the
/// retry of one failed entry next to a successful one.
#[tokio::test]
async fn moto_ignores_topic_maximum_message_size() {
    let (sqs, sns) = (sqs_client(), sns_client());
    let topic_arn = sns
        .create_topic()
        .name(unique("topic-large"))
        .attributes("MaximumMessageSize", "1048576")
        .send()
        .await
        .expect("create topic")
        .topic_arn
        .expect("ARN");
    let queue_url = create_queue(&sqs, &unique("topic-large")).await;
    subscribe(&sqs, &sns, &topic_arn, &queue_url, None).await;
    let publisher = Publisher::topic(sns.clone(), &topic_arn, 1_048_576);
    let mut large = event(2, "t-1");
    large.data.note = "x".repeat(300_000);

    let outcome = publisher
        .publish_batch(&[event(1, "t-1"), large])
        .await
        .expect("batch");

    assert_eq!(outcome.sent, vec!["e-1".to_string()]);
    assert_eq!(
        outcome.failed,
        vec![(
            "e-2".to_string(),
            "PublishBatch failed for event e-2 after 1 attempt: InvalidParameter: An error occurred (InvalidParameter) when calling the Publish operation: Invalid parameter: Message too long".to_string()
        )]
    );
    // One request sends both entries. The failed entry is the sender's fault, so no retry.
    assert_eq!(
        publisher.requests().snapshot(),
        BTreeMap::from([("PublishBatch", 1)])
    );
    assert_eq!(event_ids(&receive_all(&sqs, &queue_url).await), vec!["e-1"]);
}

/// SNS accepts a FIFO topic message whose MessageDeduplicationId repeats within 5 minutes but
/// does not deliver it again, to standard queue subscriptions too (Amazon SNS API reference,
/// Publish). moto 5.2.5 delivers the repeat, and only a FIFO queue drops it.
#[tokio::test]
async fn moto_fifo_topic_does_not_deduplicate() {
    let (sqs, sns) = (sqs_client(), sns_client());
    let topic_arn = create_topic(&sns, &unique("topic-dedup.fifo")).await;
    let queue_url = create_queue(&sqs, &unique("topic-dedup")).await;
    subscribe(&sqs, &sns, &topic_arn, &queue_url, None).await;
    let publisher = Publisher::topic(sns.clone(), &topic_arn, 262_144);

    publisher.publish(&event(1, "t-1")).await.expect("first");
    publisher.publish(&event(1, "t-1")).await.expect("repeat");

    assert_eq!(
        publisher.requests().snapshot(),
        BTreeMap::from([("Publish", 2)])
    );
    assert_eq!(
        event_ids(&receive_all(&sqs, &queue_url).await),
        vec!["e-1", "e-1"]
    );
}
