//! Tests of the automatic batcher against the local AWS emulator (moto on loopback).

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sqs::types::QueueAttributeName;
use serde::{Deserialize, Serialize};
use sqsform_client::{Batcher, BatcherError, Envelope, Event, PublishError, Publisher};

/// A linger longer than any test, so only a full batch, `flush`, `close` or a drop sends.
const NEVER: Duration = Duration::from_secs(60);
/// Time for spawned callers to hand their messages to the batcher.
const HAND_OVER: Duration = Duration::from_millis(200);

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

fn event_ids(received: &[(String, Option<String>)]) -> Vec<String> {
    received
        .iter()
        .map(|(body, _)| {
            Envelope::<TripCreated>::from_body(body)
                .expect("envelope")
                .event_id
        })
        .collect()
}

/// Spawns one caller per event id and returns their tasks.
fn spawn_sends(
    batcher: &Batcher,
    ids: std::ops::Range<usize>,
) -> tokio::task::JoinSet<Result<String, BatcherError>> {
    let mut callers = tokio::task::JoinSet::new();
    for id in ids {
        let batcher = batcher.clone();
        callers.spawn(async move { batcher.send(&event(id, "t-1")).await });
    }
    callers
}

/// Waits for every caller and returns the message ids, panicking on any error.
async fn message_ids(
    mut callers: tokio::task::JoinSet<Result<String, BatcherError>>,
) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    while let Some(joined) = callers.join_next().await {
        ids.insert(joined.expect("caller task").expect("send"));
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sends_fill_three_batches() {
    let client = sqs_client();
    let url = create_queue(&client, &unique("batcher-25")).await;
    let publisher = Publisher::new(client.clone(), &url, 1_048_576);
    // 500 ms is ample time for the spawned sends to reach the batcher, so only the last 5 wait
    // for the linger.
    let batcher = Batcher::with_linger(publisher.clone(), Duration::from_millis(500));

    let ids = message_ids(spawn_sends(&batcher, 0..25)).await;

    assert_eq!(ids.len(), 25);
    // Two full batches of 10, and 5 sent after the linger.
    assert_eq!(
        publisher.requests().snapshot(),
        BTreeMap::from([("SendMessageBatch", 3)])
    );
    let mut received = event_ids(&receive_all(&client, &url).await);
    received.sort();
    let mut expected: Vec<String> = (0..25).map(|id| format!("e-{id}")).collect();
    expected.sort();
    assert_eq!(received, expected);
}

#[tokio::test]
async fn single_send_waits_for_linger() {
    let client = sqs_client();
    let url = create_queue(&client, &unique("batcher-linger")).await;
    let publisher = Publisher::new(client.clone(), &url, 1_048_576);
    let linger = Duration::from_millis(300);
    let batcher = Batcher::with_linger(publisher.clone(), linger);
    let start = Instant::now();

    let message_id = batcher.send(&event(1, "t-1")).await.expect("send");

    assert!(
        start.elapsed() >= linger,
        "sent after {:?}",
        start.elapsed()
    );
    assert!(!message_id.is_empty());
    assert_eq!(
        publisher.requests().snapshot(),
        BTreeMap::from([("SendMessageBatch", 1)])
    );
    assert_eq!(
        receive_all(&client, &url).await,
        vec![(
            r#"{"eventType":"trip.created","eventId":"e-1","timestamp":"2026-12-04T10:00:00Z","data":{"tripId":"t-1","note":""}}"#.to_string(),
            Some("trip.created".to_string())
        )]
    );
}

#[tokio::test]
async fn event_types_share_one_batch() {
    let client = sqs_client();
    let url = create_queue(&client, &unique("batcher-types")).await;
    let publisher = Publisher::new(client.clone(), &url, 1_048_576);
    let batcher = Batcher::with_linger(publisher.clone(), Duration::from_millis(300));
    let cancelled = Envelope::new(
        "e-2",
        "2026-12-04T10:05:00Z",
        TripCancelled {
            trip_id: "t-1".into(),
        },
    );

    let created = event(1, "t-1");
    let (created_id, cancelled_id) = tokio::join!(batcher.send(&created), batcher.send(&cancelled));

    assert!(created_id.is_ok(), "{created_id:?}");
    assert!(cancelled_id.is_ok(), "{cancelled_id:?}");
    assert_eq!(
        publisher.requests().snapshot(),
        BTreeMap::from([("SendMessageBatch", 1)])
    );
    let mut received = receive_all(&client, &url).await;
    received.sort();
    assert_eq!(
        received,
        vec![
            (
                r#"{"eventType":"trip.cancelled","eventId":"e-2","timestamp":"2026-12-04T10:05:00Z","data":{"tripId":"t-1"}}"#.to_string(),
                Some("trip.cancelled".to_string())
            ),
            (
                r#"{"eventType":"trip.created","eventId":"e-1","timestamp":"2026-12-04T10:00:00Z","data":{"tripId":"t-1","note":""}}"#.to_string(),
                Some("trip.created".to_string())
            ),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn flush_sends_pending_now() {
    let client = sqs_client();
    let url = create_queue(&client, &unique("batcher-flush")).await;
    let publisher = Publisher::new(client.clone(), &url, 1_048_576);
    let batcher = Batcher::with_linger(publisher.clone(), NEVER);
    let callers = spawn_sends(&batcher, 0..4);
    tokio::time::sleep(HAND_OVER).await;
    assert_eq!(publisher.requests().total(), 0);

    batcher.flush().await;

    assert_eq!(
        publisher.requests().snapshot(),
        BTreeMap::from([("SendMessageBatch", 1)])
    );
    assert_eq!(message_ids(callers).await.len(), 4);
    assert_eq!(receive_all(&client, &url).await.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn close_sends_pending_messages() {
    let client = sqs_client();
    let url = create_queue(&client, &unique("batcher-close")).await;
    let publisher = Publisher::new(client.clone(), &url, 1_048_576);
    let batcher = Batcher::with_linger(publisher.clone(), NEVER);
    let callers = spawn_sends(&batcher, 0..3);
    tokio::time::sleep(HAND_OVER).await;
    let start = Instant::now();

    batcher.close().await;

    assert!(
        start.elapsed() < NEVER / 2,
        "closed after {:?}",
        start.elapsed()
    );
    assert_eq!(message_ids(callers).await.len(), 3);
    assert_eq!(
        publisher.requests().snapshot(),
        BTreeMap::from([("SendMessageBatch", 1)])
    );
    let mut received = event_ids(&receive_all(&client, &url).await);
    received.sort();
    assert_eq!(received, vec!["e-0", "e-1", "e-2"]);
}

#[tokio::test]
async fn send_after_close_is_rejected() {
    let client = sqs_client();
    let url = create_queue(&client, &unique("batcher-closed")).await;
    let publisher = Publisher::new(client.clone(), &url, 1_048_576);
    let batcher = Batcher::new(publisher.clone());
    let other_handle = batcher.clone();

    batcher.close().await;
    let error = other_handle
        .send(&event(7, "t-1"))
        .await
        .expect_err("closed");
    // Both return at once on a closed batcher.
    batcher.close().await;
    other_handle.flush().await;

    assert!(matches!(error, BatcherError::Closed { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "event e-7 was not sent because the batcher is closed; create a new Batcher to send more events"
    );
    assert_eq!(publisher.requests().total(), 0);
    assert!(receive_all(&client, &url).await.is_empty());
}

#[tokio::test]
async fn oversized_event_is_rejected_before_sending() {
    let client = sqs_client();
    let url = create_queue(&client, &unique("batcher-small")).await;
    let publisher = Publisher::new(client.clone(), &url, 1_024);
    let batcher = Batcher::new(publisher.clone());
    let mut large = event(9, "t-1");
    large.data.note = "x".repeat(2_000);

    let error = batcher.send(&large).await.expect_err("too large");

    match &error {
        BatcherError::Publish(PublishError::Oversized(oversized)) => {
            assert_eq!(oversized.event_id, "e-9");
            assert_eq!(oversized.size, 2_140);
            assert_eq!(oversized.limit, 1_024);
        }
        other => panic!("unexpected error {other}"),
    }
    assert_eq!(
        error.to_string(),
        "event e-9 is 2140 bytes, over the message size limit of 1024 bytes"
    );
    assert_eq!(publisher.requests().total(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dropped_batcher_sends_pending() {
    let client = sqs_client();
    let url = create_queue(&client, &unique("batcher-drop")).await;
    let publisher = Publisher::new(client.clone(), &url, 1_048_576);
    let batcher = Batcher::with_linger(publisher.clone(), NEVER);
    // The caller owns the only handle. Aborting it drops the handle while its message waits.
    let caller = tokio::spawn(async move { batcher.send(&event(1, "t-1")).await });
    tokio::time::sleep(HAND_OVER).await;

    caller.abort();

    assert!(caller.await.expect_err("aborted").is_cancelled());
    assert_eq!(event_ids(&receive_all(&client, &url).await), vec!["e-1"]);
    assert_eq!(
        publisher.requests().snapshot(),
        BTreeMap::from([("SendMessageBatch", 1)])
    );
}

#[tokio::test]
async fn fifo_queue_drops_repeated_event() {
    let client = sqs_client();
    let url = create_queue(&client, &unique("batcher-dedup.fifo")).await;
    let publisher = Publisher::new(client.clone(), &url, 1_048_576);
    let batcher = Batcher::new(publisher.clone());

    batcher.send(&event(1, "t-1")).await.expect("first");
    batcher.send(&event(1, "t-1")).await.expect("repeat");

    assert_eq!(
        publisher.requests().snapshot(),
        BTreeMap::from([("SendMessageBatch", 2)])
    );
    assert_eq!(event_ids(&receive_all(&client, &url).await), vec!["e-1"]);
}

/// Relies on moto 5.2.5 rejecting a topic message of more than 262,144 characters as a failed
/// PublishBatch entry, whatever the topic's MaximumMessageSize.
#[tokio::test]
async fn topic_callers_get_own_results() {
    let (sqs, sns) = (sqs_client(), sns_client());
    let (topic_arn, queue_url) = topic_with_queue(&sqs, &sns, "batcher-topic").await;
    let publisher = Publisher::topic(sns.clone(), &topic_arn, 1_048_576);
    let batcher = Batcher::with_linger(publisher.clone(), Duration::from_millis(300));
    let mut large = event(2, "t-1");
    large.data.note = "x".repeat(300_000);

    let small = event(1, "t-1");
    let (small_result, large_result) = tokio::join!(batcher.send(&small), batcher.send(&large));

    assert!(small_result.is_ok(), "{small_result:?}");
    assert_eq!(
        large_result.expect_err("too long for moto").to_string(),
        "PublishBatch failed for event e-2 after 1 attempt: InvalidParameter: An error occurred (InvalidParameter) when calling the Publish operation: Invalid parameter: Message too long"
    );
    // One request with both entries. The failed entry is the sender's fault, so no retry.
    assert_eq!(
        publisher.requests().snapshot(),
        BTreeMap::from([("PublishBatch", 1)])
    );
    assert_eq!(event_ids(&receive_all(&sqs, &queue_url).await), vec!["e-1"]);
}
