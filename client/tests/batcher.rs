//! Tests of the automatic batcher against the local AWS emulator (moto on loopback).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::{
    TripCancelled, create_queue, event, event_ids, receive_all, sns_client, sqs_client,
    topic_with_queue, unique,
};
use sqsform_client::{Batcher, BatcherError, Envelope, PublishError, Publisher};

/// A linger longer than any test, so only a full batch, `flush`, `close` or a drop sends.
const NEVER: Duration = Duration::from_secs(60);
/// Time for spawned callers to hand their messages to the batcher.
const HAND_OVER: Duration = Duration::from_millis(200);

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

/// With the default 20 ms linger, 200 callers at once must still fill batches: messages that
/// queue while a batch is being sent join the next batch instead of going out one by one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_sends_stay_batched() {
    let client = sqs_client();
    let url = create_queue(&client, &unique("batcher-200")).await;
    let publisher = Publisher::new(client.clone(), &url, 1_048_576);
    let batcher = Batcher::new(publisher.clone());

    let ids = message_ids(spawn_sends(&batcher, 0..200)).await;

    assert_eq!(ids.len(), 200);
    let requests = publisher.requests().snapshot()["SendMessageBatch"];
    // 20 at full batches. A few partial batches are allowed where callers arrive slower
    // than the linger.
    assert!(
        (20..=25).contains(&requests),
        "{requests} requests for 200 sends"
    );
    assert_eq!(event_ids(&receive_all(&client, &url).await).len(), 200);
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
