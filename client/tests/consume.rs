//! Tests of the consumer against the local AWS emulator (moto on loopback).

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sqsform_client::consumer::{ConsumerError, ConsumerStats, StatsSnapshot};
use sqsform_client::idempotency::{IdempotencyStore, InMemoryStore};
use sqsform_client::{Consumer, Delivery, Envelope, Event, Handler, HandlerError, Publisher};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use common::{endpoint, sqs_client, unique};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TripCreated {
    trip_id: String,
    sequence: usize,
}

impl Event for TripCreated {
    const EVENT_TYPE: &'static str = "trip.created";

    fn message_group(&self) -> Option<String> {
        Some(self.trip_id.clone())
    }
}

/// Creates a queue with the given attributes and returns its URL and ARN.
async fn create_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    attributes: &[(QueueAttributeName, String)],
) -> (String, String) {
    let mut request = client.create_queue().queue_name(name);
    if name.ends_with(".fifo") {
        request = request.attributes(QueueAttributeName::FifoQueue, "true");
    }
    for (attribute, value) in attributes {
        request = request.attributes(attribute.clone(), value);
    }
    let url = request
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("URL");
    let arn = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .and_then(|attributes| attributes.get(&QueueAttributeName::QueueArn).cloned())
        .expect("queue ARN");
    (url, arn)
}

/// Creates a queue whose redrive policy moves a message to a new dead-letter queue after
/// `max_receive_count` receives. Returns the queue URL and the dead-letter queue URL.
async fn create_queue_with_dlq(
    client: &aws_sdk_sqs::Client,
    name: &str,
    max_receive_count: u32,
    visibility_timeout: u32,
) -> (String, String) {
    let dlq_name = match name.strip_suffix(".fifo") {
        Some(stem) => format!("{stem}-dlq.fifo"),
        None => format!("{name}-dlq"),
    };
    let (dlq_url, dlq_arn) = create_queue(client, &dlq_name, &[]).await;
    let redrive =
        format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"{max_receive_count}"}}"#);
    let (url, _) = create_queue(
        client,
        name,
        &[
            (QueueAttributeName::RedrivePolicy, redrive),
            (
                QueueAttributeName::VisibilityTimeout,
                visibility_timeout.to_string(),
            ),
        ],
    )
    .await;
    (url, dlq_url)
}

/// Returns the visible and the in-flight message counts of a queue.
async fn queue_depth(client: &aws_sdk_sqs::Client, url: &str) -> (u64, u64) {
    let attributes = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .unwrap_or_default();
    let count = |name: &QueueAttributeName| {
        attributes
            .get(name)
            .and_then(|value| value.parse::<u64>().ok())
            .unwrap_or_default()
    };
    (
        count(&QueueAttributeName::ApproximateNumberOfMessages),
        count(&QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    )
}

/// Receives and deletes every visible message, returning bodies and message attributes.
async fn drain(client: &aws_sdk_sqs::Client, url: &str) -> Vec<(String, BTreeMap<String, String>)> {
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
            let attributes = message
                .message_attributes
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|(name, value)| (name, value.string_value.unwrap_or_default()))
                .collect();
            received.push((message.body.clone().unwrap_or_default(), attributes));
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

fn event(id: usize, trip: &str, sequence: usize) -> Envelope<TripCreated> {
    Envelope::new(
        format!("e-{id}"),
        "2026-12-04T10:00:00Z",
        TripCreated {
            trip_id: trip.into(),
            sequence,
        },
    )
}

async fn publish_all(client: &aws_sdk_sqs::Client, url: &str, events: &[Envelope<TripCreated>]) {
    let publisher = Publisher::new(client.clone(), url, 1_048_576);
    let outcome = publisher.publish_batch(events).await.expect("publish");
    assert!(outcome.failed.is_empty(), "{:?}", outcome.failed);
    assert_eq!(outcome.sent.len(), events.len());
}

/// Waits until `done` holds for the counters, or panics after `timeout`.
async fn wait_for(stats: &ConsumerStats, timeout: Duration, done: impl Fn(&StatsSnapshot) -> bool) {
    let start = Instant::now();
    loop {
        let snapshot = stats.snapshot();
        if done(&snapshot) {
            return;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} with counters {snapshot:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A consumer running in a task until [`Running::stop`].
struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<StatsSnapshot, ConsumerError>>,
}

impl Running {
    /// Spawns `consumer.run` with a shutdown signal that `stop` sends.
    fn start<T, H, S>(consumer: Consumer<T, H, S>) -> Running
    where
        T: DeserializeOwned + Send + 'static,
        H: Handler<T>,
        S: IdempotencyStore + 'static,
    {
        let (stop, receiver) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = receiver.await;
        };
        Running {
            stop,
            task: tokio::spawn(consumer.run(shutdown)),
        }
    }

    /// Signals the shutdown and returns the consumer's final counters.
    async fn stop(self) -> StatsSnapshot {
        self.stop.send(()).expect("consumer running");
        self.task.await.expect("join").expect("run")
    }
}

type Calls = Arc<Mutex<HashMap<String, Vec<u32>>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_events_each_handled_once() {
    let client = sqs_client();
    let (url, _) = create_queue_with_dlq(&client, &unique("thousand"), 5, 30).await;
    let events: Vec<Envelope<TripCreated>> = (0..1_000)
        .map(|id| event(id, &format!("t-{id}"), 0))
        .collect();
    publish_all(&client, &url, &events).await;

    let attempts: Calls = Arc::default();
    let successes: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let handler = {
        let attempts = Arc::clone(&attempts);
        let successes = Arc::clone(&successes);
        move |envelope: Envelope<TripCreated>, delivery: Delivery| {
            let attempts = Arc::clone(&attempts);
            let successes = Arc::clone(&successes);
            async move {
                let id: usize = envelope.event_id[2..].parse().expect("numeric id");
                let attempt = {
                    let mut attempts = attempts.lock().unwrap();
                    let calls = attempts.entry(envelope.event_id.clone()).or_default();
                    calls.push(delivery.receive_count);
                    calls.len()
                };
                if id.is_multiple_of(10) && attempt == 1 {
                    return Err(HandlerError::new(
                        "first attempt of every tenth event fails",
                    ));
                }
                *successes
                    .lock()
                    .unwrap()
                    .entry(envelope.event_id)
                    .or_default() += 1;
                Ok(())
            }
        }
    };
    let consumer = Consumer::new(client.clone(), &url, handler)
        .concurrency(8)
        .wait_time(Duration::from_secs(1));
    let stats = consumer.stats();
    let running = Running::start(consumer);

    wait_for(&stats, Duration::from_secs(180), |counters| {
        counters.succeeded >= 1_000
    })
    .await;
    let final_stats = running.stop().await;

    let successes = successes.lock().unwrap().clone();
    assert_eq!(successes.len(), 1_000);
    let handled_twice: Vec<&String> = successes
        .iter()
        .filter(|(_, count)| **count != 1)
        .map(|(id, _)| id)
        .collect();
    assert!(
        handled_twice.is_empty(),
        "handled more than once: {handled_twice:?}"
    );
    let attempts = attempts.lock().unwrap().clone();
    assert_eq!(attempts["e-0"], vec![1, 2]);
    assert_eq!(attempts["e-990"], vec![1, 2]);
    assert_eq!(attempts["e-1"], vec![1]);
    let retried_events = attempts.values().filter(|calls| calls.len() == 2).count();
    assert_eq!(retried_events, 100);
    assert_eq!(final_stats.succeeded, 1_000);
    assert_eq!(final_stats.retried, 100);
    assert_eq!(final_stats.received, 1_100);
    assert_eq!(final_stats.duplicates, 0);
    assert_eq!(queue_depth(&client, &url).await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_event_reaches_dlq_after_three_receives() {
    let client = sqs_client();
    let (url, dlq_url) = create_queue_with_dlq(&client, &unique("poison"), 3, 30).await;
    publish_all(&client, &url, &[event(7, "t-7", 0)]).await;

    let calls: Arc<Mutex<Vec<(u32, Instant)>>> = Arc::default();
    let handler = {
        let calls = Arc::clone(&calls);
        move |_: Envelope<TripCreated>, delivery: Delivery| {
            let calls = Arc::clone(&calls);
            async move {
                calls
                    .lock()
                    .unwrap()
                    .push((delivery.receive_count, Instant::now()));
                Err::<(), _>(HandlerError::new("payment provider rejected the trip"))
            }
        }
    };
    let consumer = Consumer::new(client.clone(), &url, handler).wait_time(Duration::from_secs(1));
    let requests = consumer.requests();
    let running = Running::start(consumer);

    // SQS moves the message on the receive after the third, when its count reaches 3.
    let start = Instant::now();
    while queue_depth(&client, &dlq_url).await.0 == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the message never reached the DLQ"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let final_stats = running.stop().await;

    let calls = calls.lock().unwrap().clone();
    let counts: Vec<u32> = calls.iter().map(|(count, _)| *count).collect();
    assert_eq!(counts, vec![1, 2, 3]);
    // The backoff is 1 s after the first failure and 2 s after the second.
    let first_gap = calls[1].1 - calls[0].1;
    let second_gap = calls[2].1 - calls[1].1;
    assert!(
        first_gap >= Duration::from_secs(1),
        "first gap {first_gap:?}"
    );
    assert!(
        second_gap >= Duration::from_secs(2),
        "second gap {second_gap:?}"
    );
    assert_eq!(final_stats.retried, 3);
    assert_eq!(final_stats.succeeded, 0);
    assert_eq!(requests.snapshot()["ChangeMessageVisibility"], 3);
    let dead = drain(&client, &dlq_url).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(
        dead[0].0,
        r#"{"eventType":"trip.created","eventId":"e-7","timestamp":"2026-12-04T10:00:00Z","data":{"tripId":"t-7","sequence":0}}"#
    );
    assert_eq!(queue_depth(&client, &url).await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_groups_keep_publish_order() {
    let client = sqs_client();
    let (url, _) = create_queue(&client, &unique("groups.fifo"), &[]).await;
    // The publish order mixes the groups by a fixed pseudo-random pick, so one receive of
    // 10 often carries several messages of one group, and each group keeps its own order.
    let mut events = Vec::new();
    let mut next_sequence = [0usize; 20];
    let mut state: u64 = 12_345;
    while events.len() < 200 {
        state = (state * 1_103_515_245 + 12_345) % (1 << 31);
        let mut trip = (state >> 16) as usize % 20;
        while next_sequence[trip] == 10 {
            trip = (trip + 1) % 20;
        }
        let sequence = next_sequence[trip];
        next_sequence[trip] += 1;
        events.push(event(events.len(), &format!("t-{trip}"), sequence));
    }
    publish_all(&client, &url, &events).await;

    let seen: Arc<Mutex<HashMap<String, Vec<usize>>>> = Arc::default();
    let running_per_group: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let running_now = Arc::new(AtomicUsize::new(0));
    let max_running = Arc::new(AtomicUsize::new(0));
    let overlaps = Arc::new(AtomicUsize::new(0));
    let handler = {
        let seen = Arc::clone(&seen);
        let running_per_group = Arc::clone(&running_per_group);
        let running_now = Arc::clone(&running_now);
        let max_running = Arc::clone(&max_running);
        let overlaps = Arc::clone(&overlaps);
        move |envelope: Envelope<TripCreated>, delivery: Delivery| {
            let seen = Arc::clone(&seen);
            let running_per_group = Arc::clone(&running_per_group);
            let running_now = Arc::clone(&running_now);
            let max_running = Arc::clone(&max_running);
            let overlaps = Arc::clone(&overlaps);
            async move {
                let group = delivery.group.expect("FIFO group");
                assert_eq!(group, envelope.data.trip_id);
                {
                    let mut running = running_per_group.lock().unwrap();
                    let count = running.entry(group.clone()).or_default();
                    *count += 1;
                    if *count > 1 {
                        overlaps.fetch_add(1, Ordering::SeqCst);
                    }
                }
                let now = running_now.fetch_add(1, Ordering::SeqCst) + 1;
                max_running.fetch_max(now, Ordering::SeqCst);

                let pause = 5 + (envelope.data.sequence * 7 + group.len()) % 11;
                tokio::time::sleep(Duration::from_millis(pause as u64)).await;
                seen.lock()
                    .unwrap()
                    .entry(group.clone())
                    .or_default()
                    .push(envelope.data.sequence);

                running_now.fetch_sub(1, Ordering::SeqCst);
                *running_per_group.lock().unwrap().get_mut(&group).unwrap() -= 1;
                Ok(())
            }
        }
    };
    let consumer = Consumer::new(client.clone(), &url, handler)
        .concurrency(8)
        .wait_time(Duration::from_secs(1));
    let stats = consumer.stats();
    let running = Running::start(consumer);

    wait_for(&stats, Duration::from_secs(120), |counters| {
        counters.succeeded >= 200
    })
    .await;
    running.stop().await;

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 20);
    for trip in 0..20 {
        assert_eq!(
            seen[&format!("t-{trip}")],
            (0..10).collect::<Vec<usize>>(),
            "group t-{trip} out of order"
        );
    }
    assert_eq!(overlaps.load(Ordering::SeqCst), 0);
    let max_running = max_running.load(Ordering::SeqCst);
    assert!(max_running > 1, "groups never ran in parallel");
    assert!(max_running <= 8, "{max_running} handlers ran at once");
    assert_eq!(queue_depth(&client, &url).await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_halfway_loses_nothing() {
    let client = sqs_client();
    // A long visibility timeout: a message left invisible at shutdown would miss the drain.
    let (url, _) = create_queue(
        &client,
        &unique("halfway"),
        &[(QueueAttributeName::VisibilityTimeout, "300".to_string())],
    )
    .await;
    let events: Vec<Envelope<TripCreated>> = (0..300)
        .map(|id| event(id, &format!("t-{id}"), 0))
        .collect();
    publish_all(&client, &url, &events).await;

    let handled: Arc<Mutex<Vec<String>>> = Arc::default();
    let handler = {
        let handled = Arc::clone(&handled);
        move |envelope: Envelope<TripCreated>, _: Delivery| {
            let handled = Arc::clone(&handled);
            async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                handled.lock().unwrap().push(envelope.event_id);
                Ok(())
            }
        }
    };
    let consumer = Consumer::new(client.clone(), &url, handler)
        .concurrency(4)
        .visibility_timeout(Duration::from_secs(300))
        .wait_time(Duration::from_secs(1));
    let stats = consumer.stats();
    let running = Running::start(consumer);

    wait_for(&stats, Duration::from_secs(60), |counters| {
        counters.succeeded >= 150
    })
    .await;
    let final_stats = running.stop().await;

    let handled: BTreeSet<String> = handled.lock().unwrap().iter().cloned().collect();
    let remaining: BTreeSet<String> = drain(&client, &url)
        .await
        .into_iter()
        .map(|(body, _)| {
            Envelope::<TripCreated>::from_body(&body)
                .expect("envelope")
                .event_id
        })
        .collect();
    let published: BTreeSet<String> = events.iter().map(|event| event.event_id.clone()).collect();
    assert!(handled.len() < 300, "the consumer finished before the stop");
    assert_eq!(final_stats.succeeded as usize, handled.len());
    assert_eq!(
        handled.intersection(&remaining).count(),
        0,
        "handled messages were not deleted"
    );
    assert_eq!(handled.len() + remaining.len(), 300);
    assert_eq!(
        handled
            .union(&remaining)
            .cloned()
            .collect::<BTreeSet<String>>(),
        published
    );
    // A receive of 10 with 4 handlers leaves messages waiting, or a receive in flight.
    assert!(final_stats.released > 0, "{final_stats:?}");
    assert_eq!(
        final_stats.received,
        final_stats.succeeded + final_stats.released
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_handler_keeps_its_message() {
    let client = sqs_client();
    let (url, _) = create_queue(
        &client,
        &unique("heartbeat"),
        &[(QueueAttributeName::VisibilityTimeout, "2".to_string())],
    )
    .await;
    publish_all(&client, &url, &[event(1, "t-1", 0)]).await;

    let calls = Arc::new(AtomicUsize::new(0));
    let make_consumer = || {
        let calls = Arc::clone(&calls);
        let handler = move |_: Envelope<TripCreated>, _: Delivery| {
            let calls = Arc::clone(&calls);
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(())
            }
        };
        Consumer::new(client.clone(), &url, handler)
            .visibility_timeout(Duration::from_secs(2))
            .wait_time(Duration::from_secs(1))
    };
    let first = make_consumer();
    let second = make_consumer();
    let (first_stats, second_stats) = (first.stats(), second.stats());
    let requests = [first.requests(), second.requests()];
    let first = Running::start(first);
    let second = Running::start(second);

    let start = Instant::now();
    while first_stats.snapshot().succeeded + second_stats.snapshot().succeeded == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the handler never finished"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Both workers keep polling for two more visibility timeouts.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let first = first.stop().await;
    let second = second.stop().await;

    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(first.received + second.received, 1);
    assert_eq!(first.succeeded + second.succeeded, 1);
    // A heartbeat each second extends the 2-second visibility while the handler runs 5 s.
    let extensions: u64 = requests
        .iter()
        .map(|counts| {
            counts
                .snapshot()
                .get("ChangeMessageVisibilityBatch")
                .copied()
                .unwrap_or_default()
        })
        .sum();
    assert!((4..=5).contains(&extensions), "{extensions} heartbeats");
    assert_eq!(queue_depth(&client, &url).await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_batches_cost_three_tenths_request() {
    let client = sqs_client();
    let (url, _) = create_queue(&client, &unique("requests"), &[]).await;
    let events: Vec<Envelope<TripCreated>> = (0..500)
        .map(|id| event(id, &format!("t-{id}"), 0))
        .collect();
    let publisher = Publisher::new(client.clone(), &url, 1_048_576);
    let outcome = publisher.publish_batch(&events).await.expect("publish");
    assert_eq!(outcome.sent.len(), 500);

    let handler = |_: Envelope<TripCreated>, _: Delivery| async { Ok(()) };
    let consumer = Consumer::new(client.clone(), &url, handler)
        .concurrency(10)
        .wait_time(Duration::from_secs(1));
    let stats = consumer.stats();
    let requests = consumer.requests();
    let running = Running::start(consumer);
    wait_for(&stats, Duration::from_secs(120), |counters| {
        counters.succeeded >= 500
    })
    .await;
    running.stop().await;

    let published = publisher.requests().snapshot();
    let consumed = requests.snapshot();
    let total = publisher.requests().total() + requests.total();
    let per_message = total as f64 / 500.0;
    eprintln!(
        "500 messages: publish {published:?}, consume {consumed:?}, {total} requests, {per_message:.3} per message"
    );
    assert_eq!(published, BTreeMap::from([("SendMessageBatch", 50)]));
    assert_eq!(consumed["DeleteMessageBatch"], 50);
    // 50 full receives, and one more after the last message, or two when a receive
    // returned fewer than 10.
    let receives = consumed["ReceiveMessage"];
    assert!((50..=53).contains(&receives), "{receives} receives");
    assert_eq!(consumed.len(), 2, "{consumed:?}");
    assert!(per_message <= 0.31, "{per_message} requests per message");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_body_goes_to_dlq() {
    let client = sqs_client();
    let (url, _) = create_queue(&client, &unique("garbled"), &[]).await;
    let (dlq_url, _) = create_queue(&client, &unique("garbled-dlq"), &[]).await;
    client
        .send_message()
        .queue_url(&url)
        .message_body("not json")
        .send()
        .await
        .expect("send");

    let calls = Arc::new(AtomicUsize::new(0));
    let handler = {
        let calls = Arc::clone(&calls);
        move |_: Envelope<TripCreated>, _: Delivery| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        }
    };
    let consumer = Consumer::new(client.clone(), &url, handler)
        .dead_letter_queue(&dlq_url)
        .wait_time(Duration::from_secs(1));
    let stats = consumer.stats();
    let requests = consumer.requests();
    let running = Running::start(consumer);
    wait_for(&stats, Duration::from_secs(20), |counters| {
        counters.dead_lettered >= 1
    })
    .await;
    let final_stats = running.stop().await;

    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert_eq!(final_stats.dead_lettered, 1);
    assert_eq!(final_stats.retried, 0);
    assert_eq!(requests.snapshot()["SendMessage"], 1);
    assert_eq!(requests.snapshot()["DeleteMessageBatch"], 1);
    let dead = drain(&client, &dlq_url).await;
    assert_eq!(
        dead,
        vec![(
            "not json".to_string(),
            BTreeMap::from([(
                "deadLetterReason".to_string(),
                "invalid event envelope: expected ident at line 1 column 2".to_string()
            )])
        )]
    );
    assert_eq!(queue_depth(&client, &url).await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_body_left_to_redrive() {
    let client = sqs_client();
    let (url, dlq_url) = create_queue_with_dlq(&client, &unique("garbled-redrive"), 2, 30).await;
    client
        .send_message()
        .queue_url(&url)
        .message_body("{\"eventType\":\"trip.created\"}")
        .send()
        .await
        .expect("send");

    let handler = |_: Envelope<TripCreated>, _: Delivery| async { Ok(()) };
    let consumer = Consumer::new(client.clone(), &url, handler).wait_time(Duration::from_secs(1));
    let stats = consumer.stats();
    let running = Running::start(consumer);
    let start = Instant::now();
    while queue_depth(&client, &dlq_url).await.0 == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the message never reached the DLQ"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let final_stats = running.stop().await;

    assert_eq!(stats.snapshot(), final_stats);
    assert_eq!(final_stats.retried, 2);
    assert_eq!(final_stats.dead_lettered, 0);
    let dead = drain(&client, &dlq_url).await;
    assert_eq!(
        dead,
        vec![(
            "{\"eventType\":\"trip.created\"}".to_string(),
            BTreeMap::new()
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completed_event_duplicate_is_deleted() {
    let client = sqs_client();
    let (url, _) = create_queue(&client, &unique("duplicate"), &[]).await;
    // The same event sent twice, as a producer retry after a lost response would.
    let body = event(5, "t-5", 0).to_body().expect("body");
    for _ in 0..2 {
        client
            .send_message()
            .queue_url(&url)
            .message_body(&body)
            .send()
            .await
            .expect("send");
    }

    let calls = Arc::new(AtomicUsize::new(0));
    let handler = {
        let calls = Arc::clone(&calls);
        move |_: Envelope<TripCreated>, _: Delivery| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        }
    };
    let consumer = Consumer::new(client.clone(), &url, handler)
        .concurrency(1)
        .wait_time(Duration::from_secs(1))
        .idempotency(InMemoryStore::new(
            Duration::from_secs(3_600),
            Duration::from_secs(60),
        ));
    let stats = consumer.stats();
    let running = Running::start(consumer);
    wait_for(&stats, Duration::from_secs(20), |counters| {
        counters.succeeded + counters.duplicates >= 2
    })
    .await;
    let final_stats = running.stop().await;

    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(final_stats.succeeded, 1);
    assert_eq!(final_stats.duplicates, 1);
    assert_eq!(queue_depth(&client, &url).await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panicking_handler_is_retried() {
    let client = sqs_client();
    let (url, _) = create_queue(&client, &unique("panic"), &[]).await;
    publish_all(&client, &url, &[event(4, "t-4", 0)]).await;

    let calls: Arc<Mutex<Vec<u32>>> = Arc::default();
    let handler = {
        let calls = Arc::clone(&calls);
        move |_: Envelope<TripCreated>, delivery: Delivery| {
            calls.lock().unwrap().push(delivery.receive_count);
            async move {
                if delivery.receive_count == 1 {
                    panic!("driver record missing");
                }
                Ok(())
            }
        }
    };
    // The store's claim from the panicked attempt must be released, or the retry would be
    // deferred as in progress until the 60-second claim expires.
    let consumer = Consumer::new(client.clone(), &url, handler)
        .wait_time(Duration::from_secs(1))
        .idempotency(InMemoryStore::new(
            Duration::from_secs(3_600),
            Duration::from_secs(60),
        ));
    let stats = consumer.stats();
    let running = Running::start(consumer);
    wait_for(&stats, Duration::from_secs(20), |counters| {
        counters.succeeded >= 1
    })
    .await;
    let final_stats = running.stop().await;

    assert_eq!(*calls.lock().unwrap(), vec![1, 2]);
    assert_eq!(final_stats.retried, 1);
    assert_eq!(final_stats.succeeded, 1);
    assert_eq!(queue_depth(&client, &url).await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_past_deadline_is_released() {
    let client = sqs_client();
    let (url, _) = create_queue(
        &client,
        &unique("deadline"),
        &[(QueueAttributeName::VisibilityTimeout, "300".to_string())],
    )
    .await;
    publish_all(&client, &url, &[event(3, "t-3", 0)]).await;

    let handler = |_: Envelope<TripCreated>, _: Delivery| async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok(())
    };
    let consumer = Consumer::new(client.clone(), &url, handler)
        .visibility_timeout(Duration::from_secs(300))
        .wait_time(Duration::from_secs(1))
        .shutdown_timeout(Duration::from_secs(1));
    let stats = consumer.stats();
    let running = Running::start(consumer);
    wait_for(&stats, Duration::from_secs(20), |counters| {
        counters.received >= 1
    })
    .await;
    let final_stats = running.stop().await;

    assert_eq!(final_stats.released, 1);
    assert_eq!(final_stats.succeeded, 0);
    // The release waits for the receive in flight, which would otherwise take the message
    // again and raise its receive count.
    assert_eq!(final_stats.received, 1);
    // Released with visibility 0, so it is visible now and not after 300 s.
    assert_eq!(queue_depth(&client, &url).await, (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receive_errors_back_off() {
    let endpoint = endpoint();
    let url = format!("{endpoint}/123456789012/{}", unique("missing"));
    let handler = |_: Envelope<TripCreated>, _: Delivery| async { Ok(()) };
    let consumer = Consumer::new(sqs_client(), &url, handler).wait_time(Duration::from_secs(1));
    let stats = consumer.stats();
    let requests = consumer.requests();
    let running = Running::start(consumer);
    // Receives fail at about 0 s, 1 s and 3 s, then the pause is 4 s.
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let final_stats = running.stop().await;

    let receives = requests.snapshot()["ReceiveMessage"];
    assert!((2..=3).contains(&receives), "{receives} receives in 3.5 s");
    assert_eq!(final_stats.receive_errors, receives);
    assert_eq!(stats.snapshot().received, 0);
}

/// moto 5.2.5 counts the 12-hour visibility limit from when the message was sent, but SQS counts
/// it from the receive: SQS accepts 43,199 s right after a receive, whatever the message's age.
/// The heartbeat cuts its extensions by the time since the receive, as SQS does, so on moto an
/// extension in the last seconds before 12 hours could be rejected.
#[tokio::test]
async fn moto_counts_visibility_limit_from_send() {
    let client = sqs_client();
    let (url, _) = create_queue(&client, &unique("limit"), &[]).await;
    client
        .send_message()
        .queue_url(&url)
        .message_body("aged")
        .send()
        .await
        .expect("send");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let message = client
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .expect("receive")
        .messages
        .unwrap_or_default()
        .pop()
        .expect("one message");

    let error = client
        .change_message_visibility()
        .queue_url(&url)
        .receipt_handle(message.receipt_handle.unwrap_or_default())
        .visibility_timeout(43_199)
        .send()
        .await
        .expect_err("moto rejects the extension");

    let text = aws_sdk_sqs::error::DisplayErrorContext(&error).to_string();
    assert!(
        text.contains(
            "Total VisibilityTimeout for the message is beyond the limit [43200 seconds]"
        ),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_failure_keeps_group_order() {
    let client = sqs_client();
    let (url, _) = create_queue(&client, &unique("fifo-retry.fifo"), &[]).await;
    let mut events = Vec::new();
    for sequence in 0..5 {
        events.push(event(events.len(), "t-1", sequence));
    }
    for sequence in 0..3 {
        events.push(event(events.len(), "t-2", sequence));
    }
    publish_all(&client, &url, &events).await;

    let handled: Arc<Mutex<Vec<(String, usize, u32)>>> = Arc::default();
    let handler = {
        let handled = Arc::clone(&handled);
        move |envelope: Envelope<TripCreated>, delivery: Delivery| {
            let handled = Arc::clone(&handled);
            async move {
                let trip = envelope.data.trip_id.clone();
                let sequence = envelope.data.sequence;
                handled
                    .lock()
                    .unwrap()
                    .push((trip.clone(), sequence, delivery.receive_count));
                if trip == "t-1" && sequence == 1 && delivery.receive_count == 1 {
                    return Err(HandlerError::new("driver not found yet"));
                }
                Ok(())
            }
        }
    };
    let consumer = Consumer::new(client.clone(), &url, handler)
        .concurrency(4)
        .wait_time(Duration::from_secs(1));
    let stats = consumer.stats();
    let running = Running::start(consumer);
    wait_for(&stats, Duration::from_secs(30), |counters| {
        counters.succeeded >= 8
    })
    .await;
    let final_stats = running.stop().await;

    let handled = handled.lock().unwrap().clone();
    let first_group: Vec<(usize, u32)> = handled
        .iter()
        .filter(|(trip, _, _)| trip == "t-1")
        .map(|(_, sequence, count)| (*sequence, *count))
        .collect();
    // Message 1 fails, the later ones of its group are released unhandled, and the group
    // resumes with message 1.
    assert_eq!(
        first_group,
        vec![(0, 1), (1, 1), (1, 2), (2, 2), (3, 2), (4, 2)]
    );
    let second_group: Vec<usize> = handled
        .iter()
        .filter(|(trip, _, _)| trip == "t-2")
        .map(|(_, sequence, _)| *sequence)
        .collect();
    assert_eq!(second_group, vec![0, 1, 2]);
    assert_eq!(final_stats.retried, 1);
    assert_eq!(final_stats.released, 3);
    assert_eq!(queue_depth(&client, &url).await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_undecodable_holds_its_group() {
    let client = sqs_client();
    let (url, dlq_url) = create_queue_with_dlq(&client, &unique("fifo-garbled.fifo"), 2, 30).await;
    let bodies = [
        event(0, "t-1", 0).to_body().expect("body"),
        "not json".to_string(),
        event(2, "t-1", 2).to_body().expect("body"),
    ];
    for (index, body) in bodies.iter().enumerate() {
        client
            .send_message()
            .queue_url(&url)
            .message_body(body)
            .message_group_id("t-1")
            .message_deduplication_id(format!("m-{index}"))
            .send()
            .await
            .expect("send");
    }

    let handled: Arc<Mutex<Vec<(usize, u32)>>> = Arc::default();
    let handler = {
        let handled = Arc::clone(&handled);
        move |envelope: Envelope<TripCreated>, delivery: Delivery| {
            handled
                .lock()
                .unwrap()
                .push((envelope.data.sequence, delivery.receive_count));
            async { Ok(()) }
        }
    };
    let consumer = Consumer::new(client.clone(), &url, handler).wait_time(Duration::from_secs(1));
    let running = Running::start(consumer);
    let start = Instant::now();
    while queue_depth(&client, &dlq_url).await.0 < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "redrive never moved both messages"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let final_stats = running.stop().await;

    // Message 2 is never handled before the undecodable message ahead of it. SQS returns the
    // two together on each receive, so message 2 counts the same receives and redrive moves
    // both to the dead-letter queue, in group order.
    assert_eq!(*handled.lock().unwrap(), vec![(0, 1)]);
    assert_eq!(final_stats.retried, 2);
    assert_eq!(final_stats.released, 2);
    let dead: Vec<String> = drain(&client, &dlq_url)
        .await
        .into_iter()
        .map(|(body, _)| body)
        .collect();
    assert_eq!(dead, vec![bodies[1].clone(), bodies[2].clone()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_event_type_goes_to_dlq() {
    let client = sqs_client();
    let (url, _) = create_queue(&client, &unique("wrong-type"), &[]).await;
    let (dlq_url, _) = create_queue(&client, &unique("wrong-type-dlq"), &[]).await;
    // The data does not decode as TripCreated either: the type is checked first.
    let body =
        r#"{"eventType":"trip.cancelled","eventId":"e-1","timestamp":"t","data":{"tripId":"t-1"}}"#;
    client
        .send_message()
        .queue_url(&url)
        .message_body(body)
        .send()
        .await
        .expect("send");

    let calls = Arc::new(AtomicUsize::new(0));
    let handler = {
        let calls = Arc::clone(&calls);
        move |_: Envelope<TripCreated>, _: Delivery| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        }
    };
    let consumer = Consumer::new(client.clone(), &url, handler)
        .dead_letter_queue(&dlq_url)
        .wait_time(Duration::from_secs(1));
    let stats = consumer.stats();
    let running = Running::start(consumer);
    wait_for(&stats, Duration::from_secs(20), |counters| {
        counters.dead_lettered >= 1
    })
    .await;
    running.stop().await;

    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let dead = drain(&client, &dlq_url).await;
    assert_eq!(
        dead,
        vec![(
            body.to_string(),
            BTreeMap::from([(
                "deadLetterReason".to_string(),
                "unexpected event type \"trip.cancelled\", expected \"trip.created\"".to_string()
            )])
        )]
    );
}

#[tokio::test]
async fn completed_shutdown_sends_nothing() {
    let client = sqs_client();
    let (url, _) = create_queue(&client, &unique("stopped"), &[]).await;
    let handler = |_: Envelope<TripCreated>, _: Delivery| async { Ok(()) };
    let consumer = Consumer::new(client.clone(), &url, handler);
    let requests = consumer.requests();

    let final_stats = consumer
        .run(std::future::ready(()))
        .await
        .expect("valid settings");

    assert_eq!(requests.total(), 0);
    assert_eq!(final_stats, StatsSnapshot::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subsecond_wait_does_not_spin() {
    let client = sqs_client();
    let (url, _) = create_queue(&client, &unique("short-wait"), &[]).await;
    let handler = |_: Envelope<TripCreated>, _: Delivery| async { Ok(()) };
    let consumer =
        Consumer::new(client.clone(), &url, handler).wait_time(Duration::from_millis(500));
    let requests = consumer.requests();
    let running = Running::start(consumer);
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    running.stop().await;

    // SQS takes whole seconds, so 500 ms is no long poll: receives are 1 s apart.
    let receives = requests.snapshot()["ReceiveMessage"];
    assert!((3..=4).contains(&receives), "{receives} receives in 3.5 s");
}

/// moto 5.2.5 keeps a FIFO message in its "pending" set until a receive finds it visible
/// again, and skips a group while any of its messages is pending. Messages released together
/// with a delay therefore come back last first: here m3, and m1 and m2 only after m3 is
/// deleted. SQS returns m1 first. The consumer releases the later messages of a failed group
/// with visibility 0 instead, which keeps the order on both.
#[tokio::test]
async fn moto_fifo_delayed_release_reorders_group() {
    let client = sqs_client();
    let (url, _) = create_queue(&client, &unique("moto-order.fifo"), &[]).await;
    for index in 0..4 {
        client
            .send_message()
            .queue_url(&url)
            .message_body(format!("m{index}"))
            .message_group_id("g")
            .message_deduplication_id(format!("m{index}"))
            .send()
            .await
            .expect("send");
    }
    let messages = client
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("receive")
        .messages
        .unwrap_or_default();
    assert_eq!(messages.len(), 4);
    client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(messages[0].receipt_handle.clone().unwrap_or_default())
        .send()
        .await
        .expect("delete");
    for message in &messages[1..] {
        client
            .change_message_visibility()
            .queue_url(&url)
            .receipt_handle(message.receipt_handle.clone().unwrap_or_default())
            .visibility_timeout(1)
            .send()
            .await
            .expect("release");
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    let bodies: Vec<String> = client
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("receive")
        .messages
        .unwrap_or_default()
        .into_iter()
        .map(|message| message.body.unwrap_or_default())
        .collect();
    assert_eq!(bodies, vec!["m3".to_string()]);
}
