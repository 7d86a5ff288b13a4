//! Integration tests of the SNS calls of `AwsCloud` against the local AWS emulator (moto).
//!
//! Topic and queue names contain the run id, because moto keeps its state between runs. Each
//! queue that a topic delivers to gets the queue policy SNS needs, which lets `sns.amazonaws.com`
//! send messages when the source is that topic. Tests named `moto_…` pin a moto 5.2.5 behaviour
//! that differs from SNS. Each documents what SNS does instead and fails once moto behaves like
//! SNS. Where the emulator cannot produce SNS's behaviour, a unit test in `src/cloud` covers it.

mod common;

use std::collections::BTreeMap;

use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use sqsform::cloud::aws::AwsCloud;
use sqsform::cloud::{Attributes, Cloud, CloudError, Tags, TopicSubscription};
use sqsform::model::Connection;

async fn connect() -> AwsCloud {
    let connection = Connection {
        endpoint_url: Some(common::endpoint()),
        role_arn: None,
        emulator_credentials: true,
    };
    AwsCloud::connect(common::REGION, &connection)
        .await
        .expect("connect to the emulator")
}

/// Returns a topic or queue name unique to this run.
fn unique_name(label: &str) -> String {
    format!("sqsform-it-{}-{label}", common::current_run_id())
}

fn pairs(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
    entries
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

/// Creates a standard topic without attributes or tags and returns its ARN.
async fn create_standard_topic(cloud: &AwsCloud, label: &str) -> String {
    cloud
        .create_topic(&unique_name(label), &Attributes::new(), &Tags::new())
        .await
        .unwrap_or_else(|error| panic!("create topic {label}: {error:?}"))
}

/// Creates a FIFO topic `<label>.fifo` and returns its ARN.
async fn create_fifo_topic(cloud: &AwsCloud, label: &str) -> String {
    let name = format!("{}.fifo", unique_name(label));
    cloud
        .create_topic(&name, &pairs(&[("FifoTopic", "true")]), &Tags::new())
        .await
        .unwrap_or_else(|error| panic!("create FIFO topic {name}: {error:?}"))
}

/// A queue created for a test, with its URL and ARN.
struct TestQueue {
    url: String,
    arn: String,
}

/// Creates a queue with `attributes` and returns it. A name ending in `.fifo` needs
/// `FifoQueue=true` among the attributes.
async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    attributes: &[(&str, &str)],
) -> TestQueue {
    let mut request = sqs.create_queue().queue_name(name);
    for (key, value) in attributes {
        request = request.attributes(QueueAttributeName::from(*key), *value);
    }
    let url = request
        .send()
        .await
        .unwrap_or_else(|error| panic!("create queue {name}: {error:?}"))
        .queue_url
        .expect("queue URL");
    let arn = common::queue_arn_of(sqs, &url).await;
    TestQueue { url, arn }
}

/// Lets `topic_arn` send to `queue` with the queue policy SNS needs.
async fn allow_topic(sqs: &aws_sdk_sqs::Client, queue: &TestQueue, topic_arn: &str) {
    sqs.set_queue_attributes()
        .queue_url(&queue.url)
        .attributes(
            QueueAttributeName::Policy,
            common::topic_send_policy(&queue.arn, topic_arn),
        )
        .send()
        .await
        .unwrap_or_else(|error| panic!("set the policy of {}: {error:?}", queue.url));
}

/// Creates a queue that `topic_arn` may send to and returns it.
async fn create_subscriber_queue(
    sqs: &aws_sdk_sqs::Client,
    label: &str,
    attributes: &[(&str, &str)],
    topic_arn: &str,
) -> TestQueue {
    let queue = create_queue(sqs, &unique_name(label), attributes).await;
    allow_topic(sqs, &queue, topic_arn).await;
    queue
}

/// Returns the bodies of the messages a queue contains now.
async fn received_bodies(sqs: &aws_sdk_sqs::Client, queue: &TestQueue) -> Vec<String> {
    common::receive_all(sqs, &queue.url)
        .await
        .into_iter()
        .map(|message| message.body.unwrap_or_default())
        .collect()
}

/// Returns one system attribute of a received message, such as `MessageGroupId`.
fn system_attribute(
    message: &aws_sdk_sqs::types::Message,
    name: MessageSystemAttributeName,
) -> Option<&str> {
    message
        .attributes
        .as_ref()
        .and_then(|attributes| attributes.get(&name))
        .map(String::as_str)
}

#[tokio::test]
async fn standard_topic_round_trips_tags() {
    let cloud = connect().await;
    let name = unique_name("standard");
    let created_tags = pairs(&[("sqsform:environment", "it"), ("team", "orders")]);
    let before = cloud.api_calls();

    let arn = cloud
        .create_topic(&name, &pairs(&[("DisplayName", "Orders")]), &created_tags)
        .await
        .unwrap();
    let attributes = cloud.get_topic_attributes(&arn).await.unwrap().unwrap();
    let tags = cloud.list_topic_tags(&arn).await.unwrap();

    assert_eq!(
        arn,
        format!("arn:aws:sns:{}:{}:{name}", common::REGION, common::ACCOUNT)
    );
    assert_eq!(attributes["TopicArn"], arn);
    assert_eq!(attributes["DisplayName"], "Orders");
    assert_eq!(attributes["Owner"], common::ACCOUNT);
    assert!(!attributes.contains_key("FifoTopic"), "{attributes:?}");
    let policy: serde_json::Value = serde_json::from_str(&attributes["Policy"]).unwrap();
    assert_eq!(policy["Statement"][0]["Resource"], arn.as_str());
    assert_eq!(tags, created_tags);
    let calls = cloud.api_calls().since(&before);
    assert_eq!(calls.get("sns:CreateTopic"), 1);
    assert_eq!(calls.get("sns:GetTopicAttributes"), 1);
    assert_eq!(calls.get("sns:ListTagsForResource"), 1);
    assert_eq!(calls.total, 3);
}

#[tokio::test]
async fn fifo_topic_reports_fifo_attributes() {
    let cloud = connect().await;
    let name = format!("{}.fifo", unique_name("fifo-attributes"));
    let attributes = pairs(&[("FifoTopic", "true"), ("ContentBasedDeduplication", "true")]);

    let arn = cloud
        .create_topic(&name, &attributes, &pairs(&[("team", "orders")]))
        .await
        .unwrap();
    let reported = cloud.get_topic_attributes(&arn).await.unwrap().unwrap();

    assert!(arn.ends_with(".fifo"), "{arn}");
    assert_eq!(reported["FifoTopic"], "true");
    assert_eq!(reported["ContentBasedDeduplication"], "true");
    assert_eq!(
        cloud.list_topic_tags(&arn).await.unwrap(),
        pairs(&[("team", "orders")])
    );
}

#[tokio::test]
async fn create_topic_is_idempotent() {
    let cloud = connect().await;
    let name = unique_name("idempotent");
    let attributes = pairs(&[("DisplayName", "Orders")]);
    let tags = pairs(&[("team", "orders")]);

    let first = cloud.create_topic(&name, &attributes, &tags).await.unwrap();
    let second = cloud.create_topic(&name, &attributes, &tags).await.unwrap();

    assert_eq!(first, second);
}

#[tokio::test]
async fn topic_names_follow_fifo_rules() {
    let cloud = connect().await;
    let fifo = pairs(&[("FifoTopic", "true")]);
    let cases = [
        (
            "FIFO topic without .fifo",
            unique_name("no-suffix"),
            fifo.clone(),
        ),
        (
            "standard topic with .fifo",
            format!("{}.fifo", unique_name("standard-suffix")),
            Attributes::new(),
        ),
    ];
    for (case, name, attributes) in cases {
        let result = cloud.create_topic(&name, &attributes, &Tags::new()).await;
        assert!(
            matches!(
                result,
                Err(CloudError::Api {
                    operation: "sns:CreateTopic",
                    ..
                })
            ),
            "{case}: {result:?}"
        );
    }
}

#[tokio::test]
async fn missing_topic_is_none_or_not_found() {
    let cloud = connect().await;
    let arn = format!(
        "arn:aws:sns:{}:{}:{}",
        common::REGION,
        common::ACCOUNT,
        unique_name("never-created")
    );
    let queue = format!(
        "arn:aws:sqs:{}:{}:{}",
        common::REGION,
        common::ACCOUNT,
        unique_name("never-created")
    );

    let attributes = cloud.get_topic_attributes(&arn).await.unwrap();
    let results = [
        (
            "ListTagsForResource",
            cloud.list_topic_tags(&arn).await.map(|_| ()),
        ),
        (
            "SetTopicAttributes",
            cloud
                .set_topic_attribute(&arn, "DisplayName", "Orders")
                .await,
        ),
        (
            "TagResource",
            cloud.tag_topic(&arn, &pairs(&[("team", "orders")])).await,
        ),
        (
            "UntagResource",
            cloud.untag_topic(&arn, &["team".to_string()]).await,
        ),
        (
            "ListSubscriptionsByTopic",
            cloud.list_subscriptions_by_topic(&arn).await.map(|_| ()),
        ),
        (
            "Subscribe",
            cloud
                .subscribe(&arn, "sqs", &queue, &Attributes::new())
                .await
                .map(|_| ()),
        ),
        (
            "Publish",
            cloud
                .publish(&arn, "hello", &BTreeMap::new(), None, None)
                .await
                .map(|_| ()),
        ),
    ];

    assert_eq!(attributes, None);
    for (operation, result) in results {
        assert!(
            matches!(result, Err(CloudError::TopicNotFound { ref topic }) if *topic == arn),
            "{operation}: {result:?}"
        );
    }
}

#[tokio::test]
async fn set_topic_attribute_round_trips() {
    let cloud = connect().await;
    let arn = create_standard_topic(&cloud, "set-attribute").await;

    cloud
        .set_topic_attribute(&arn, "DisplayName", "Order events")
        .await
        .unwrap();

    let attributes = cloud.get_topic_attributes(&arn).await.unwrap().unwrap();
    assert_eq!(attributes["DisplayName"], "Order events");
}

#[tokio::test]
async fn tag_and_untag_topic() {
    let cloud = connect().await;
    let arn = cloud
        .create_topic(
            &unique_name("tags"),
            &Attributes::new(),
            &pairs(&[("team", "orders")]),
        )
        .await
        .unwrap();

    cloud
        .tag_topic(&arn, &pairs(&[("team", "payments"), ("tier", "gold")]))
        .await
        .unwrap();
    cloud
        .untag_topic(&arn, &["tier".to_string()])
        .await
        .unwrap();

    assert_eq!(
        cloud.list_topic_tags(&arn).await.unwrap(),
        pairs(&[("team", "payments")])
    );
}

#[tokio::test]
async fn raw_delivery_filters_by_attribute() {
    let cloud = connect().await;
    let sqs = common::sqs_client().await;
    let topic = create_standard_topic(&cloud, "raw-filter").await;
    let queue = create_subscriber_queue(&sqs, "raw-filter-queue", &[], &topic).await;
    let filter_policy = r#"{"eventType":["order_placed"]}"#;
    let before = cloud.api_calls();

    let subscription = cloud
        .subscribe(
            &topic,
            "sqs",
            &queue.arn,
            &pairs(&[
                ("RawMessageDelivery", "true"),
                ("FilterPolicy", filter_policy),
            ]),
        )
        .await
        .unwrap();
    let placed = r#"{"order":42,"state":"placed"}"#;
    cloud
        .publish(
            &topic,
            placed,
            &pairs(&[("eventType", "order_placed")]),
            None,
            None,
        )
        .await
        .unwrap();
    cloud
        .publish(
            &topic,
            r#"{"order":42,"state":"cancelled"}"#,
            &pairs(&[("eventType", "order_cancelled")]),
            None,
            None,
        )
        .await
        .unwrap();
    let attributes = cloud
        .get_subscription_attributes(&subscription)
        .await
        .unwrap();

    let messages = common::receive_all(&sqs, &queue.url).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0].body.as_deref(), Some(placed));
    let event_type = messages[0]
        .message_attributes
        .as_ref()
        .and_then(|attributes| attributes.get("eventType"))
        .and_then(|value| value.string_value.as_deref());
    assert_eq!(event_type, Some("order_placed"));
    assert!(
        subscription.starts_with(&format!("{topic}:")),
        "{subscription}"
    );
    assert_eq!(attributes["RawMessageDelivery"], "true");
    assert_eq!(attributes["FilterPolicy"], filter_policy);
    assert_eq!(attributes["FilterPolicyScope"], "MessageAttributes");
    assert_eq!(attributes["Protocol"], "sqs");
    assert_eq!(attributes["Endpoint"], queue.arn);
    assert_eq!(attributes["TopicArn"], topic);
    assert_eq!(attributes["PendingConfirmation"], "false");
    let calls = cloud.api_calls().since(&before);
    assert_eq!(calls.get("sns:Subscribe"), 1);
    assert_eq!(calls.get("sns:Publish"), 2);
    assert_eq!(calls.get("sns:GetSubscriptionAttributes"), 1);
    assert_eq!(calls.total, 4);
}

#[tokio::test]
async fn envelope_wraps_message_without_raw_delivery() {
    let cloud = connect().await;
    let sqs = common::sqs_client().await;
    let topic = create_standard_topic(&cloud, "envelope").await;
    let queue = create_subscriber_queue(&sqs, "envelope-queue", &[], &topic).await;
    let subscription = cloud
        .subscribe(&topic, "sqs", &queue.arn, &Attributes::new())
        .await
        .unwrap();

    let message_id = cloud
        .publish(
            &topic,
            "order 42 placed",
            &pairs(&[("eventType", "order_placed")]),
            None,
            None,
        )
        .await
        .unwrap();

    let attributes = cloud
        .get_subscription_attributes(&subscription)
        .await
        .unwrap();
    assert_eq!(attributes["RawMessageDelivery"], "false");
    assert!(!attributes.contains_key("FilterPolicy"), "{attributes:?}");
    assert!(
        !attributes.contains_key("FilterPolicyScope"),
        "{attributes:?}"
    );
    let bodies = received_bodies(&sqs, &queue).await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let envelope: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(envelope["Type"], "Notification");
    assert_eq!(envelope["Message"], "order 42 placed");
    assert_eq!(envelope["MessageId"], message_id.as_str());
    assert_eq!(envelope["TopicArn"], topic.as_str());
    assert_eq!(
        envelope["MessageAttributes"]["eventType"]["Value"],
        "order_placed"
    );
    assert_eq!(envelope["MessageAttributes"]["eventType"]["Type"], "String");
}

#[tokio::test]
async fn fifo_topic_delivers_to_fifo_queue() {
    let cloud = connect().await;
    let sqs = common::sqs_client().await;
    let topic = create_fifo_topic(&cloud, "fifo-delivery").await;
    let queue_name = format!("{}.fifo", unique_name("fifo-delivery-queue"));
    let queue = create_queue(&sqs, &queue_name, &[("FifoQueue", "true")]).await;
    allow_topic(&sqs, &queue, &topic).await;
    cloud
        .subscribe(
            &topic,
            "sqs",
            &queue.arn,
            &pairs(&[("RawMessageDelivery", "true")]),
        )
        .await
        .unwrap();

    let none = BTreeMap::new();
    // The fourth message repeats the first deduplication id within five minutes, so it is
    // accepted but not delivered.
    for (body, deduplication_id) in [
        ("order 42 placed", "event-1"),
        ("order 42 paid", "event-2"),
        ("order 42 shipped", "event-3"),
        ("order 42 placed again", "event-1"),
    ] {
        cloud
            .publish(
                &topic,
                body,
                &none,
                Some("order-42"),
                Some(deduplication_id),
            )
            .await
            .unwrap();
    }

    let messages = common::receive_all(&sqs, &queue.url).await;
    let bodies: Vec<&str> = messages
        .iter()
        .map(|message| message.body.as_deref().unwrap_or_default())
        .collect();
    assert_eq!(
        bodies,
        ["order 42 placed", "order 42 paid", "order 42 shipped"]
    );
    for (message, deduplication_id) in messages.iter().zip(["event-1", "event-2", "event-3"]) {
        assert_eq!(
            system_attribute(message, MessageSystemAttributeName::MessageGroupId),
            Some("order-42")
        );
        assert_eq!(
            system_attribute(message, MessageSystemAttributeName::MessageDeduplicationId),
            Some(deduplication_id)
        );
    }
}

#[tokio::test]
async fn publish_follows_fifo_rules() {
    let cloud = connect().await;
    let fifo = create_fifo_topic(&cloud, "fifo-rules").await;
    let standard = create_standard_topic(&cloud, "fifo-rules-standard").await;
    let none = BTreeMap::new();

    let without_group = cloud.publish(&fifo, "m", &none, None, Some("d-1")).await;
    let without_deduplication = cloud.publish(&fifo, "m", &none, Some("g-1"), None).await;
    let deduplication_on_standard = cloud
        .publish(&standard, "m", &none, None, Some("d-1"))
        .await;
    let group_on_standard = cloud
        .publish(&standard, "m", &none, Some("g-1"), None)
        .await;

    for (case, result) in [
        ("FIFO without group id", &without_group),
        ("FIFO without deduplication id", &without_deduplication),
        (
            "deduplication id on a standard topic",
            &deduplication_on_standard,
        ),
    ] {
        assert!(
            matches!(
                result,
                Err(CloudError::Api {
                    operation: "sns:Publish",
                    ..
                })
            ),
            "{case}: {result:?}"
        );
    }
    assert!(group_on_standard.is_ok(), "{group_on_standard:?}");
}

#[tokio::test]
async fn standard_topic_rejects_fifo_queue() {
    let cloud = connect().await;
    let sqs = common::sqs_client().await;
    let topic = create_standard_topic(&cloud, "fifo-queue-on-standard").await;
    let queue_name = format!("{}.fifo", unique_name("fifo-queue-on-standard"));
    let queue = create_queue(&sqs, &queue_name, &[("FifoQueue", "true")]).await;

    let result = cloud
        .subscribe(&topic, "sqs", &queue.arn, &Attributes::new())
        .await;

    assert!(
        matches!(
            result,
            Err(CloudError::Api {
                operation: "sns:Subscribe",
                ..
            })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn message_body_scope_filters_body() {
    let cloud = connect().await;
    let sqs = common::sqs_client().await;
    let topic = create_standard_topic(&cloud, "body-filter").await;
    let queue = create_subscriber_queue(&sqs, "body-filter-queue", &[], &topic).await;
    let filter_policy = r#"{"eventType":["order_placed"]}"#;
    let subscription = cloud
        .subscribe(
            &topic,
            "sqs",
            &queue.arn,
            &pairs(&[
                ("RawMessageDelivery", "true"),
                ("FilterPolicyScope", "MessageBody"),
                ("FilterPolicy", filter_policy),
            ]),
        )
        .await
        .unwrap();

    let placed = r#"{"eventType":"order_placed","order":42}"#;
    let cancelled = r#"{"eventType":"order_cancelled","order":42}"#;
    // The message attribute names the other event, so only a body filter delivers `placed`.
    for (body, attribute) in [(placed, "order_cancelled"), (cancelled, "order_placed")] {
        cloud
            .publish(
                &topic,
                body,
                &pairs(&[("eventType", attribute)]),
                None,
                None,
            )
            .await
            .unwrap();
    }

    let attributes = cloud
        .get_subscription_attributes(&subscription)
        .await
        .unwrap();
    assert_eq!(attributes["FilterPolicyScope"], "MessageBody");
    assert_eq!(received_bodies(&sqs, &queue).await, [placed]);
}

#[tokio::test]
async fn changed_filter_policy_applies() {
    let cloud = connect().await;
    let sqs = common::sqs_client().await;
    let topic = create_standard_topic(&cloud, "filter-change").await;
    let queue = create_subscriber_queue(&sqs, "filter-change-queue", &[], &topic).await;
    let subscription = cloud
        .subscribe(
            &topic,
            "sqs",
            &queue.arn,
            &pairs(&[
                ("RawMessageDelivery", "true"),
                ("FilterPolicy", r#"{"eventType":["order_placed"]}"#),
            ]),
        )
        .await
        .unwrap();
    let changed = r#"{"eventType":["order_cancelled"]}"#;
    let before = cloud.api_calls();

    cloud
        .set_subscription_attribute(&subscription, "FilterPolicy", changed)
        .await
        .unwrap();
    for event in ["order_placed", "order_cancelled"] {
        cloud
            .publish(&topic, event, &pairs(&[("eventType", event)]), None, None)
            .await
            .unwrap();
    }

    let attributes = cloud
        .get_subscription_attributes(&subscription)
        .await
        .unwrap();
    assert_eq!(attributes["FilterPolicy"], changed);
    assert_eq!(received_bodies(&sqs, &queue).await, ["order_cancelled"]);
    let calls = cloud.api_calls().since(&before);
    assert_eq!(calls.get("sns:SetSubscriptionAttributes"), 1);
}

#[tokio::test]
async fn raw_delivery_can_be_switched_off() {
    let cloud = connect().await;
    let sqs = common::sqs_client().await;
    let topic = create_standard_topic(&cloud, "raw-off").await;
    let queue = create_subscriber_queue(&sqs, "raw-off-queue", &[], &topic).await;
    let subscription = cloud
        .subscribe(
            &topic,
            "sqs",
            &queue.arn,
            &pairs(&[("RawMessageDelivery", "true")]),
        )
        .await
        .unwrap();

    cloud
        .set_subscription_attribute(&subscription, "RawMessageDelivery", "false")
        .await
        .unwrap();
    cloud
        .publish(&topic, "order 42 placed", &BTreeMap::new(), None, None)
        .await
        .unwrap();

    let bodies = received_bodies(&sqs, &queue).await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let envelope: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(envelope["Message"], "order 42 placed");
}

#[tokio::test]
async fn list_subscriptions_by_topic_lists_each() {
    let cloud = connect().await;
    let sqs = common::sqs_client().await;
    let topic = create_standard_topic(&cloud, "listing").await;
    let other_topic = create_standard_topic(&cloud, "listing-other").await;
    let mut expected = Vec::new();
    for label in ["listing-a", "listing-b"] {
        let queue = create_subscriber_queue(&sqs, label, &[], &topic).await;
        let arn = cloud
            .subscribe(&topic, "sqs", &queue.arn, &Attributes::new())
            .await
            .unwrap();
        expected.push(TopicSubscription {
            arn,
            protocol: "sqs".to_string(),
            endpoint: queue.arn,
        });
    }
    let before = cloud.api_calls();

    let mut listed = cloud.list_subscriptions_by_topic(&topic).await.unwrap();
    let other = cloud
        .list_subscriptions_by_topic(&other_topic)
        .await
        .unwrap();

    listed.sort_by(|left, right| left.endpoint.cmp(&right.endpoint));
    assert_eq!(listed, expected);
    assert_eq!(other, []);
    assert_eq!(
        cloud
            .api_calls()
            .since(&before)
            .get("sns:ListSubscriptionsByTopic"),
        2
    );
}

/// SNS returns up to 100 subscriptions per page, so 150 take two calls. The queues are never
/// created, because moto 5.2.5 subscribes a queue ARN without checking that the queue exists.
#[tokio::test]
async fn list_subscriptions_follows_pages() {
    let cloud = connect().await;
    let topic = create_standard_topic(&cloud, "paging").await;
    let prefix = unique_name("paging-queue-");
    for index in 0..150 {
        let endpoint = format!(
            "arn:aws:sqs:{}:{}:{prefix}{index:03}",
            common::REGION,
            common::ACCOUNT
        );
        cloud
            .subscribe(&topic, "sqs", &endpoint, &Attributes::new())
            .await
            .unwrap();
    }
    let before = cloud.api_calls();

    let listed = cloud.list_subscriptions_by_topic(&topic).await.unwrap();

    assert_eq!(listed.len(), 150);
    let mut endpoints: Vec<&str> = listed
        .iter()
        .map(|subscription| subscription.endpoint.as_str())
        .collect();
    endpoints.sort();
    endpoints.dedup();
    assert_eq!(endpoints.len(), 150);
    let calls = cloud.api_calls().since(&before);
    assert_eq!(calls.get("sns:ListSubscriptionsByTopic"), 2);
    assert_eq!(calls.total, 2);
}

#[tokio::test]
async fn subscribe_again_returns_same_arn() {
    let cloud = connect().await;
    let sqs = common::sqs_client().await;
    let topic = create_standard_topic(&cloud, "resubscribe").await;
    let queue = create_subscriber_queue(&sqs, "resubscribe-queue", &[], &topic).await;
    let raw = pairs(&[("RawMessageDelivery", "true")]);

    let first = cloud
        .subscribe(&topic, "sqs", &queue.arn, &raw)
        .await
        .unwrap();
    let second = cloud
        .subscribe(&topic, "sqs", &queue.arn, &raw)
        .await
        .unwrap();

    assert_eq!(first, second);
    assert_eq!(
        cloud
            .list_subscriptions_by_topic(&topic)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn unsubscribe_stops_delivery() {
    let cloud = connect().await;
    let sqs = common::sqs_client().await;
    let topic = create_standard_topic(&cloud, "unsubscribe").await;
    let queue = create_subscriber_queue(&sqs, "unsubscribe-queue", &[], &topic).await;
    let subscription = cloud
        .subscribe(&topic, "sqs", &queue.arn, &Attributes::new())
        .await
        .unwrap();

    cloud.unsubscribe(&subscription).await.unwrap();
    cloud
        .publish(&topic, "order 42 placed", &BTreeMap::new(), None, None)
        .await
        .unwrap();

    let read = cloud.get_subscription_attributes(&subscription).await;
    let set = cloud
        .set_subscription_attribute(&subscription, "RawMessageDelivery", "true")
        .await;
    for result in [read.map(|_| ()), set] {
        assert!(
            matches!(result, Err(CloudError::SubscriptionNotFound { ref subscription }) if subscription.starts_with(&topic)),
            "{result:?}"
        );
    }
    assert_eq!(cloud.list_subscriptions_by_topic(&topic).await.unwrap(), []);
    assert_eq!(received_bodies(&sqs, &queue).await, Vec::<String>::new());
}

#[tokio::test]
async fn delete_topic_removes_subscriptions() {
    let cloud = connect().await;
    let sqs = common::sqs_client().await;
    let topic = create_standard_topic(&cloud, "delete").await;
    let queue = create_subscriber_queue(&sqs, "delete-queue", &[], &topic).await;
    let subscription = cloud
        .subscribe(&topic, "sqs", &queue.arn, &Attributes::new())
        .await
        .unwrap();
    let before = cloud.api_calls();

    cloud.delete_topic(&topic).await.unwrap();
    let deleted_again = cloud.delete_topic(&topic).await;

    assert!(deleted_again.is_ok(), "{deleted_again:?}");
    assert_eq!(cloud.get_topic_attributes(&topic).await.unwrap(), None);
    let result = cloud.get_subscription_attributes(&subscription).await;
    assert!(
        matches!(result, Err(CloudError::SubscriptionNotFound { .. })),
        "{result:?}"
    );
    assert_eq!(cloud.api_calls().since(&before).get("sns:DeleteTopic"), 2);
}

/// Counts the requests of a topic's whole life, one per call, so the cost of each step of a
/// plan is known.
#[tokio::test]
async fn lifecycle_costs_one_call_per_step() {
    let cloud = connect().await;
    let sqs = common::sqs_client().await;
    let name = unique_name("lifecycle");
    let topic_arn = format!("arn:aws:sns:{}:{}:{name}", common::REGION, common::ACCOUNT);
    let queue = create_subscriber_queue(&sqs, "lifecycle-queue", &[], &topic_arn).await;
    let before = cloud.api_calls();

    let topic = cloud
        .create_topic(&name, &Attributes::new(), &pairs(&[("team", "orders")]))
        .await
        .unwrap();
    cloud.get_topic_attributes(&topic).await.unwrap();
    cloud.list_topic_tags(&topic).await.unwrap();
    cloud
        .set_topic_attribute(&topic, "DisplayName", "Orders")
        .await
        .unwrap();
    cloud
        .tag_topic(&topic, &pairs(&[("tier", "gold")]))
        .await
        .unwrap();
    cloud
        .untag_topic(&topic, &["tier".to_string()])
        .await
        .unwrap();
    let subscription = cloud
        .subscribe(
            &topic,
            "sqs",
            &queue.arn,
            &pairs(&[("RawMessageDelivery", "true")]),
        )
        .await
        .unwrap();
    cloud.list_subscriptions_by_topic(&topic).await.unwrap();
    cloud
        .get_subscription_attributes(&subscription)
        .await
        .unwrap();
    cloud
        .set_subscription_attribute(
            &subscription,
            "FilterPolicy",
            r#"{"eventType":["order_placed"]}"#,
        )
        .await
        .unwrap();
    cloud
        .publish(
            &topic,
            "order 42 placed",
            &pairs(&[("eventType", "order_placed")]),
            None,
            None,
        )
        .await
        .unwrap();
    cloud.unsubscribe(&subscription).await.unwrap();
    cloud.delete_topic(&topic).await.unwrap();

    let calls = cloud.api_calls().since(&before);
    let operations = [
        "sns:CreateTopic",
        "sns:GetTopicAttributes",
        "sns:ListTagsForResource",
        "sns:SetTopicAttributes",
        "sns:TagResource",
        "sns:UntagResource",
        "sns:Subscribe",
        "sns:ListSubscriptionsByTopic",
        "sns:GetSubscriptionAttributes",
        "sns:SetSubscriptionAttributes",
        "sns:Publish",
        "sns:Unsubscribe",
        "sns:DeleteTopic",
    ];
    for operation in operations {
        assert_eq!(calls.get(operation), 1, "{operation}: {calls:?}");
    }
    assert_eq!(calls.total, 13, "{calls:?}");
    assert_eq!(received_bodies(&sqs, &queue).await, ["order 42 placed"]);
}

/// SNS delivers to a queue only when the queue policy allows `sns.amazonaws.com` to send from
/// the topic. Without such a policy, SNS counts a failed delivery and the message never
/// arrives. moto 5.2.5 delivers to every subscribed queue whatever its policy.
#[tokio::test]
async fn moto_delivers_without_queue_policy() {
    let cloud = connect().await;
    let sqs = common::sqs_client().await;
    let topic = create_standard_topic(&cloud, "no-policy").await;
    let queue = create_queue(&sqs, &unique_name("no-policy-queue"), &[]).await;
    cloud
        .subscribe(
            &topic,
            "sqs",
            &queue.arn,
            &pairs(&[("RawMessageDelivery", "true")]),
        )
        .await
        .unwrap();

    cloud
        .publish(&topic, "order 42 placed", &BTreeMap::new(), None, None)
        .await
        .unwrap();

    assert_eq!(received_bodies(&sqs, &queue).await, ["order 42 placed"]);
}

/// SNS cannot deliver to a queue encrypted with the AWS managed key `alias/aws/sqs`, because
/// that key's policy does not let SNS use it, and a customer managed key must allow SNS
/// `kms:GenerateDataKey` and `kms:Decrypt`. moto 5.2.5 delivers to an encrypted queue without
/// consulting KMS.
#[tokio::test]
async fn moto_delivers_to_queue_with_aws_managed_key() {
    let cloud = connect().await;
    let sqs = common::sqs_client().await;
    let topic = create_standard_topic(&cloud, "kms").await;
    let queue = create_subscriber_queue(
        &sqs,
        "kms-queue",
        &[("KmsMasterKeyId", "alias/aws/sqs")],
        &topic,
    )
    .await;
    cloud
        .subscribe(
            &topic,
            "sqs",
            &queue.arn,
            &pairs(&[("RawMessageDelivery", "true")]),
        )
        .await
        .unwrap();

    cloud
        .publish(&topic, "order 42 placed", &BTreeMap::new(), None, None)
        .await
        .unwrap();

    assert_eq!(
        common::get_attribute(&sqs, &unique_name("kms-queue"), "KmsMasterKeyId")
            .await
            .as_deref(),
        Some("alias/aws/sqs")
    );
    assert_eq!(received_bodies(&sqs, &queue).await, ["order 42 placed"]);
}

/// SNS rejects CreateTopic of an existing name with other attributes or tags, with
/// InvalidParameter "Topic already exists with different attributes" (or "tags"), which
/// `AwsCloud` reports as `TopicAlreadyExists`. moto 5.2.5 returns the existing topic's ARN and
/// keeps its old attributes and tags, so the unit test `topic_conflict_is_already_exists` in
/// src/cloud/aws.rs covers the error.
#[tokio::test]
async fn moto_create_topic_ignores_other_settings() {
    let cloud = connect().await;
    let name = unique_name("recreate");
    let first = cloud
        .create_topic(
            &name,
            &pairs(&[("DisplayName", "Orders")]),
            &pairs(&[("team", "orders")]),
        )
        .await
        .unwrap();

    let second = cloud
        .create_topic(
            &name,
            &pairs(&[("DisplayName", "Payments")]),
            &pairs(&[("team", "payments")]),
        )
        .await;

    assert_eq!(second.as_deref().ok(), Some(first.as_str()), "{second:?}");
    let attributes = cloud.get_topic_attributes(&first).await.unwrap().unwrap();
    assert_eq!(attributes["DisplayName"], "Orders");
    assert_eq!(
        cloud.list_topic_tags(&first).await.unwrap(),
        pairs(&[("team", "orders")])
    );
}

/// SNS rejects Subscribe of a subscribed endpoint with other attributes, with InvalidParameter
/// "Subscription already exists with different attributes", which `AwsCloud` reports as
/// `SubscriptionAlreadyExists`. moto 5.2.5 returns the existing subscription's ARN and
/// overwrites its attributes.
#[tokio::test]
async fn moto_subscribe_overwrites_attributes() {
    let cloud = connect().await;
    let sqs = common::sqs_client().await;
    let topic = create_standard_topic(&cloud, "overwrite").await;
    let queue = create_subscriber_queue(&sqs, "overwrite-queue", &[], &topic).await;
    let first = cloud
        .subscribe(
            &topic,
            "sqs",
            &queue.arn,
            &pairs(&[("RawMessageDelivery", "true")]),
        )
        .await
        .unwrap();

    let second = cloud
        .subscribe(
            &topic,
            "sqs",
            &queue.arn,
            &pairs(&[("RawMessageDelivery", "false")]),
        )
        .await;

    assert_eq!(second.as_deref().ok(), Some(first.as_str()), "{second:?}");
    let attributes = cloud.get_subscription_attributes(&first).await.unwrap();
    assert_eq!(attributes["RawMessageDelivery"], "false");
}

/// SNS reports DeliveryPolicy only once it is set, and reports EffectiveDeliveryPolicy in the
/// format of a topic delivery policy, with the HTTP retry policy under an `http` key. moto
/// 5.2.5 reports an empty DeliveryPolicy and puts the retry policy at the top level.
#[tokio::test]
async fn moto_reports_other_delivery_policies() {
    let cloud = connect().await;
    let arn = create_standard_topic(&cloud, "delivery-policy").await;

    let attributes = cloud.get_topic_attributes(&arn).await.unwrap().unwrap();

    assert_eq!(
        attributes.get("DeliveryPolicy").map(String::as_str),
        Some("")
    );
    let effective: serde_json::Value =
        serde_json::from_str(&attributes["EffectiveDeliveryPolicy"]).unwrap();
    assert!(effective.get("http").is_none(), "{effective}");
    assert!(
        effective.get("defaultHealthyRetryPolicy").is_some(),
        "{effective}"
    );
}

/// SNS reports SignatureVersion and TracingConfig once they are set, and rejects an unknown
/// attribute name with InvalidParameter. moto 5.2.5 accepts all three but reports none of
/// them, so a plan that sets them would never converge on moto.
#[tokio::test]
async fn moto_drops_some_topic_attributes() {
    let cloud = connect().await;
    let arn = create_standard_topic(&cloud, "dropped-attributes").await;

    let results = [
        cloud
            .set_topic_attribute(&arn, "SignatureVersion", "2")
            .await,
        cloud
            .set_topic_attribute(&arn, "TracingConfig", "Active")
            .await,
        cloud.set_topic_attribute(&arn, "Colour", "blue").await,
    ];

    for result in &results {
        assert!(result.is_ok(), "{result:?}");
    }
    let attributes = cloud.get_topic_attributes(&arn).await.unwrap().unwrap();
    for name in ["SignatureVersion", "TracingConfig", "Colour"] {
        assert!(!attributes.contains_key(name), "{name}: {attributes:?}");
    }
}

/// SNS counts a confirmed subscription in SubscriptionsConfirmed, and confirms a subscription
/// of a queue in the topic's account at once. The SNS reference does not say how soon the
/// count changes. moto 5.2.5 never changes the counts from 0.
#[tokio::test]
async fn moto_never_counts_subscriptions() {
    let cloud = connect().await;
    let sqs = common::sqs_client().await;
    let topic = create_standard_topic(&cloud, "counts").await;
    let queue = create_subscriber_queue(&sqs, "counts-queue", &[], &topic).await;
    let subscription = cloud
        .subscribe(&topic, "sqs", &queue.arn, &Attributes::new())
        .await
        .unwrap();

    let attributes = cloud.get_topic_attributes(&topic).await.unwrap().unwrap();

    let subscription_attributes = cloud
        .get_subscription_attributes(&subscription)
        .await
        .unwrap();
    assert_eq!(subscription_attributes["PendingConfirmation"], "false");
    assert_eq!(attributes["SubscriptionsConfirmed"], "0");
    assert_eq!(attributes["SubscriptionsPending"], "0");
}

/// SNS documents that a FIFO topic does not pass the message group id to SQS standard queues,
/// and a FIFO topic drops a message whose deduplication id it has seen in the last five
/// minutes. moto 5.2.5 passes the group and deduplication ids to a standard queue and
/// delivers the duplicate there. It drops the duplicate only on a FIFO queue, as
/// `fifo_topic_delivers_to_fifo_queue` shows, because the queue deduplicates.
#[tokio::test]
async fn moto_fifo_topic_passes_ids_to_standard_queue() {
    let cloud = connect().await;
    let sqs = common::sqs_client().await;
    let topic = create_fifo_topic(&cloud, "fifo-to-standard").await;
    let queue = create_subscriber_queue(&sqs, "fifo-to-standard-queue", &[], &topic).await;
    cloud
        .subscribe(
            &topic,
            "sqs",
            &queue.arn,
            &pairs(&[("RawMessageDelivery", "true")]),
        )
        .await
        .unwrap();

    let none = BTreeMap::new();
    for body in ["first", "duplicate"] {
        cloud
            .publish(&topic, body, &none, Some("order-42"), Some("event-1"))
            .await
            .unwrap();
    }

    let messages = common::receive_all(&sqs, &queue.url).await;
    let mut bodies: Vec<&str> = messages
        .iter()
        .map(|message| message.body.as_deref().unwrap_or_default())
        .collect();
    bodies.sort();
    assert_eq!(bodies, ["duplicate", "first"]);
    for message in &messages {
        assert_eq!(
            system_attribute(message, MessageSystemAttributeName::MessageGroupId),
            Some("order-42")
        );
        assert_eq!(
            system_attribute(message, MessageSystemAttributeName::MessageDeduplicationId),
            Some("event-1")
        );
    }
}

/// SNS signs notifications with SignatureVersion 1 (SHA1withRSA) unless the topic sets
/// SignatureVersion 2, and names the subscription in the envelope's UnsubscribeURL. moto 5.2.5
/// always reports SignatureVersion 2 and names a fixed subscription id.
#[tokio::test]
async fn moto_envelope_signature_and_unsubscribe_url() {
    let cloud = connect().await;
    let sqs = common::sqs_client().await;
    let topic = create_standard_topic(&cloud, "envelope-fields").await;
    let queue = create_subscriber_queue(&sqs, "envelope-fields-queue", &[], &topic).await;
    let subscription = cloud
        .subscribe(&topic, "sqs", &queue.arn, &Attributes::new())
        .await
        .unwrap();

    cloud
        .publish(&topic, "order 42 placed", &BTreeMap::new(), None, None)
        .await
        .unwrap();

    let bodies = received_bodies(&sqs, &queue).await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let envelope: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(envelope["SignatureVersion"], "2");
    let unsubscribe_url = envelope["UnsubscribeURL"].as_str().unwrap_or_default();
    assert!(
        !unsubscribe_url.ends_with(&subscription),
        "{unsubscribe_url} names {subscription}"
    );
}
