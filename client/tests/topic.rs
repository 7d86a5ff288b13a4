//! Tests of publishing to SNS topics against the local AWS emulator (moto on loopback).
//!
//! Each topic delivers to an SQS queue through a subscription with RawMessageDelivery, so the
//! queue receives the envelope itself with its message attributes. Real SQS also needs a queue
//! policy that lets the topic send. moto 5.2.5 delivers without one.

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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TripCancelled {
    trip_id: String,
}

impl Event for TripCancelled {
    const EVENT_TYPE: &'static str = "trip.cancelled";
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

fn sqs_client() -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

fn sns_client() -> aws_sdk_sns::Client {
    let config = aws_sdk_sns::Config::builder()
        .behavior_version(aws_sdk_sns::config::BehaviorVersion::latest())
        .region(aws_sdk_sns::config::Region::new("us-east-1"))
        .endpoint_url(endpoint())
        .credentials_provider(aws_sdk_sns::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .build();
    aws_sdk_sns::Client::from_conf(config)
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

async fn create_topic(client: &aws_sdk_sns::Client, name: &str) -> String {
    let mut request = client.create_topic().name(name);
    if name.ends_with(".fifo") {
        request = request.attributes("FifoTopic", "true");
    }
    request
        .send()
        .await
        .expect("create topic")
        .topic_arn
        .expect("ARN")
}

/// Subscribes the queue to the topic with raw delivery and an optional filter policy.
async fn subscribe(
    sqs: &aws_sdk_sqs::Client,
    sns: &aws_sdk_sns::Client,
    topic_arn: &str,
    queue_url: &str,
    filter_policy: Option<&str>,
) {
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .and_then(|attributes| attributes.get(&QueueAttributeName::QueueArn).cloned())
        .expect("queue ARN");
    let mut request = sns
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .attributes("RawMessageDelivery", "true");
    if let Some(policy) = filter_policy {
        request = request.attributes("FilterPolicy", policy);
    }
    request.send().await.expect("subscribe");
}

/// Creates a topic and a queue of the same kind (standard or FIFO) and subscribes the queue.
/// Returns the topic ARN and the queue URL.
async fn topic_with_queue(
    sqs: &aws_sdk_sqs::Client,
    sns: &aws_sdk_sns::Client,
    name: &str,
) -> (String, String) {
    let topic_arn = create_topic(sns, &unique(name)).await;
    let queue_url = create_queue(sqs, &unique(name)).await;
    subscribe(sqs, sns, &topic_arn, &queue_url, None).await;
    (topic_arn, queue_url)
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

fn event_ids(received: Vec<(String, Option<String>)>) -> Vec<String> {
    received
        .into_iter()
        .map(|(body, _)| {
            Envelope::<TripCreated>::from_body(&body)
                .expect("envelope")
                .event_id
        })
        .collect()
}

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
    let mut ids = event_ids(received);
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
    assert_eq!(event_ids(receive_all(&sqs, &queue_url).await), expected);
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
    assert_eq!(event_ids(receive_all(&sqs, &queue_url).await), vec!["e-1"]);
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
        event_ids(receive_all(&sqs, &queue_url).await),
        vec!["e-1", "e-1"]
    );
}
