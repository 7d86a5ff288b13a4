//! Helpers shared by the emulator tests: AWS clients on the loopback emulator, queues,
//! topics and test events.

// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

use std::net::TcpStream;
use std::time::Duration;

use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sqs::types::QueueAttributeName;
use serde::{Deserialize, Serialize};
use sqsform_client::{Envelope, Event};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TripCreated {
    pub trip_id: String,
    pub note: String,
}

impl Event for TripCreated {
    const EVENT_TYPE: &'static str = "trip.created";

    fn message_group(&self) -> Option<String> {
        Some(self.trip_id.clone())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TripCancelled {
    pub trip_id: String,
}

impl Event for TripCancelled {
    const EVENT_TYPE: &'static str = "trip.cancelled";
}

pub fn endpoint() -> String {
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

pub fn sqs_client() -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

pub fn sns_client() -> aws_sdk_sns::Client {
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

pub fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or_default();
    match name.strip_suffix(".fifo") {
        Some(stem) => format!("client-{stem}-{nanos:x}.fifo"),
        None => format!("client-{name}-{nanos:x}"),
    }
}

pub async fn create_queue(client: &aws_sdk_sqs::Client, name: &str) -> String {
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

pub async fn create_topic(client: &aws_sdk_sns::Client, name: &str) -> String {
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
pub async fn subscribe(
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
pub async fn topic_with_queue(
    sqs: &aws_sdk_sqs::Client,
    sns: &aws_sdk_sns::Client,
    name: &str,
) -> (String, String) {
    let topic_arn = create_topic(sns, &unique(name)).await;
    let queue_url = create_queue(sqs, &unique(name)).await;
    subscribe(sqs, sns, &topic_arn, &queue_url, None).await;
    (topic_arn, queue_url)
}

pub async fn receive_all(client: &aws_sdk_sqs::Client, url: &str) -> Vec<(String, Option<String>)> {
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

pub fn event(id: usize, trip: &str) -> Envelope<TripCreated> {
    Envelope::new(
        format!("e-{id}"),
        "2026-12-04T10:00:00Z",
        TripCreated {
            trip_id: trip.into(),
            note: String::new(),
        },
    )
}

pub fn event_ids(received: &[(String, Option<String>)]) -> Vec<String> {
    received
        .iter()
        .map(|(body, _)| {
            Envelope::<TripCreated>::from_body(body)
                .expect("envelope")
                .event_id
        })
        .collect()
}
