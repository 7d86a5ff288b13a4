//! End-to-end tests of SNS fan-out against the local emulator: delivery to every subscriber,
//! filter policies, and drift of subscriptions.

mod common;

use aws_sdk_sns::types::MessageAttributeValue;
use common::{Workspace, queue_url, sns_client, sqs_client};

const SPEC: &str = "\
project: driversklub
dashboard: false
defaults:
  alarms:
    depth: {enabled: false}
    oldest_message_age: {enabled: false}
queues:
  analytics: {}
  notifications: {}
  provider-sync: {}
  payments.fifo: {fifo: true}
  accounting.fifo: {fifo: true}
topics:
  trips:
    subscribers:
      analytics: {}
      provider-sync: {}
      notifications:
        filter_policy: {eventType: [trip.created]}
  payment-events.fifo:
    content_based_deduplication: true
    subscribers:
      payments.fifo: {}
      accounting.fifo: {}
";

fn topic_arn(workspace: &Workspace, key: &str) -> String {
    format!(
        "arn:aws:sns:us-east-1:123456789012:driversklub-{}-{key}",
        workspace.environment
    )
}

async fn publish(topic: &str, body: &str, event_type: &str, group: Option<&str>) {
    let attribute = MessageAttributeValue::builder()
        .data_type("String")
        .string_value(event_type)
        .build()
        .expect("attribute");
    let mut request = sns_client()
        .await
        .publish()
        .topic_arn(topic)
        .message(body)
        .message_attributes("eventType", attribute);
    if let Some(group) = group {
        // moto 5.2.5 forwards a FIFO topic's message to FIFO queues without a deduplication id,
        // even with content-based deduplication on the topic, and the queue then rejects it.
        // SNS passes its own id on. Publishers send the event id anyway, as here.
        request = request
            .message_group_id(group)
            .message_deduplication_id(format!("{group}-{event_type}"));
    }
    request.send().await.expect("publish");
}

/// Receives every message now in the queue, deleting each, and returns the bodies.
async fn drain(queue: &str) -> Vec<String> {
    let client = sqs_client().await;
    let url = queue_url(&client, queue).await;
    let mut bodies = Vec::new();
    loop {
        let output = client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        let messages = output.messages.unwrap_or_default();
        if messages.is_empty() {
            return bodies;
        }
        for message in messages {
            bodies.push(message.body.unwrap_or_default());
            client
                .delete_message()
                .queue_url(&url)
                .receipt_handle(message.receipt_handle.unwrap_or_default())
                .send()
                .await
                .expect("delete");
        }
    }
}

#[tokio::test]
async fn every_subscriber_receives_once() {
    let workspace = Workspace::new("fanout", SPEC);
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    workspace
        .run(&["plan", "--detailed-exitcode"])
        .expect_code(0);

    publish(
        &topic_arn(&workspace, "trips"),
        r#"{"tripId":"t-1"}"#,
        "trip.created",
        None,
    )
    .await;
    publish(
        &topic_arn(&workspace, "trips"),
        r#"{"tripId":"t-2"}"#,
        "trip.completed",
        None,
    )
    .await;
    publish(
        &topic_arn(&workspace, "payment-events.fifo"),
        r#"{"paymentId":"p-1"}"#,
        "payment.captured",
        Some("t-1"),
    )
    .await;

    // Raw delivery: each queue receives the message as published, once.
    let both = vec![
        r#"{"tripId":"t-1"}"#.to_string(),
        r#"{"tripId":"t-2"}"#.to_string(),
    ];
    assert_eq!(drain(&workspace.queue_name("analytics")).await, both);
    assert_eq!(drain(&workspace.queue_name("provider-sync")).await, both);
    // The filter lets only trip.created through to notifications.
    assert_eq!(
        drain(&workspace.queue_name("notifications")).await,
        vec![r#"{"tripId":"t-1"}"#.to_string()]
    );
    assert_eq!(
        drain(&workspace.queue_name("payments.fifo")).await,
        vec![r#"{"paymentId":"p-1"}"#.to_string()]
    );
    assert_eq!(
        drain(&workspace.queue_name("accounting.fifo")).await,
        vec![r#"{"paymentId":"p-1"}"#.to_string()]
    );
}

#[tokio::test]
async fn outputs_print_topic_arns() {
    let workspace = Workspace::new("topic-outputs", SPEC);
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);

    let outputs = workspace.run(&["outputs", "--format", "env"]);
    outputs.expect_code(0);
    let topic_lines: Vec<&str> = outputs
        .stdout
        .lines()
        .filter(|line| line.contains("_TOPIC_ARN="))
        .collect();
    assert_eq!(
        topic_lines,
        vec![
            format!(
                "PAYMENT_EVENTS_FIFO_TOPIC_ARN={}",
                topic_arn(&workspace, "payment-events.fifo")
            ),
            format!("TRIPS_TOPIC_ARN={}", topic_arn(&workspace, "trips")),
        ]
    );
    // Five queues with a URL and an ARN each, then the two topics.
    assert_eq!(outputs.stdout.lines().count(), 12);

    // JSON keys are spec names, which queues and topics may share, so JSON lists queues only.
    let json = workspace.run(&["outputs"]).json();
    assert_eq!(json.as_object().map(|queues| queues.len()), Some(5));
}

#[tokio::test]
async fn outputs_report_missing_topic() {
    let workspace = Workspace::new("topic-outputs-missing", SPEC);
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    sns_client()
        .await
        .delete_topic()
        .topic_arn(topic_arn(&workspace, "trips"))
        .send()
        .await
        .expect("delete topic");

    let outputs = workspace.run(&["outputs", "--format", "env"]);
    outputs.expect_code(1);
    assert_eq!(
        outputs.stderr,
        format!(
            "error: topics missing in AWS: driversklub-{}-trips; run sqsform apply --env {} first\n",
            workspace.environment, workspace.environment
        )
    );
    assert_eq!(outputs.stdout, "");
}

#[tokio::test]
async fn deleted_subscription_is_drift_until_apply() {
    let workspace = Workspace::new("sub-deleted", SPEC);
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    let client = sns_client().await;
    let subscriptions = client
        .list_subscriptions_by_topic()
        .topic_arn(topic_arn(&workspace, "trips"))
        .send()
        .await
        .expect("list")
        .subscriptions
        .unwrap_or_default();
    let analytics = workspace.queue_name("analytics");
    let target = subscriptions
        .iter()
        .find(|subscription| {
            subscription
                .endpoint()
                .is_some_and(|endpoint| endpoint.ends_with(&format!(":{analytics}")))
        })
        .expect("analytics subscription");
    client
        .unsubscribe()
        .subscription_arn(target.subscription_arn().unwrap_or_default())
        .send()
        .await
        .expect("unsubscribe");

    let drift = workspace.run(&["drift"]);
    drift.expect_code(2);
    assert!(
        drift.stdout.contains(&format!(
            "subscription of queue {analytics}: missing: in the spec but not in SNS"
        )),
        "{}",
        drift.stdout
    );

    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    workspace.run(&["drift"]).expect_code(0);
}

#[tokio::test]
async fn changed_filter_policy_is_drift_until_apply() {
    let workspace = Workspace::new("sub-filter", SPEC);
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    let client = sns_client().await;
    let notifications = workspace.queue_name("notifications");
    let subscriptions = client
        .list_subscriptions_by_topic()
        .topic_arn(topic_arn(&workspace, "trips"))
        .send()
        .await
        .expect("list")
        .subscriptions
        .unwrap_or_default();
    let target = subscriptions
        .iter()
        .find(|subscription| {
            subscription
                .endpoint()
                .is_some_and(|endpoint| endpoint.ends_with(&format!(":{notifications}")))
        })
        .expect("subscription");
    client
        .set_subscription_attributes()
        .subscription_arn(target.subscription_arn().unwrap_or_default())
        .attribute_name("FilterPolicy")
        .attribute_value(r#"{"eventType":["trip.cancelled"]}"#)
        .send()
        .await
        .expect("change filter");

    let drift = workspace.run(&["drift"]);
    drift.expect_code(2);
    assert!(drift.stdout.contains(&format!("subscription of queue {notifications}: changed\n          FilterPolicy: expected {{\"eventType\":[\"trip.created\"]}}, actual {{\"eventType\":[\"trip.cancelled\"]}}\n")), "{}", drift.stdout);

    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    workspace.run(&["drift"]).expect_code(0);
}

#[tokio::test]
async fn undeclared_subscription_needs_allow_delete() {
    let workspace = Workspace::new("sub-extra", SPEC);
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    let stray = sqs_client()
        .await
        .create_queue()
        .queue_name(format!("it-stray-{}", workspace.environment))
        .send()
        .await
        .expect("queue")
        .queue_url
        .unwrap_or_default();
    let stray_arn = format!(
        "arn:aws:sqs:us-east-1:123456789012:{}",
        stray.rsplit('/').next().unwrap_or_default()
    );
    sns_client()
        .await
        .subscribe()
        .topic_arn(topic_arn(&workspace, "trips"))
        .protocol("sqs")
        .endpoint(&stray_arn)
        .send()
        .await
        .expect("subscribe");

    let rejection = format!(
        "unsubscribe {stray_arn} from topic driversklub-{}-trips: the spec does not declare this subscription, and removing it needs --allow-delete",
        workspace.environment
    );
    // The plan already names the change that apply will reject without the flag.
    let plan = workspace.run(&["plan"]);
    plan.expect_code(0);
    assert!(
        plan.stdout.ends_with(&format!(
            "\nNeeds a flag: apply rejects 1 change(s) without a flag:\n  {rejection}\n"
        )),
        "{}",
        plan.stdout
    );
    let json = workspace.run(&["plan", "--format", "json"]).json();
    assert_eq!(json["needs_flags"], serde_json::json!([rejection]));

    let rejected = workspace.run(&["apply", "--auto-approve"]);
    rejected.expect_code(1);
    assert!(rejected.stderr.contains(&rejection), "{}", rejected.stderr);

    workspace
        .run(&["apply", "--auto-approve", "--allow-delete"])
        .expect_code(0);
    workspace.run(&["drift"]).expect_code(0);
}

#[tokio::test]
async fn removed_topic_is_deleted_with_allow_delete() {
    let workspace = Workspace::new("topic-removed", SPEC);
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    let removed = topic_arn(&workspace, "payment-events.fifo");
    let spec = SPEC.replace("  payment-events.fifo:\n    content_based_deduplication: true\n    subscribers:\n      payments.fifo: {}\n      accounting.fifo: {}\n", "");
    workspace.write_spec(&spec);

    let drift = workspace.run(&["drift"]);
    drift.expect_code(2);
    let name = format!("driversklub-{}-payment-events.fifo", workspace.environment);
    assert!(
        drift.stdout.contains(&format!(
            "! topic {name}: unexpected: owned by sqsform but no longer in the spec"
        )),
        "{}",
        drift.stdout
    );
    let plan = workspace.run(&["plan"]);
    assert!(
        plan.stdout.contains(&format!("- delete topic {name}")),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("Topics: 0 to create, 0 to update, 1 to delete; subscriptions: 0 to create, 0 to update, 2 to delete."), "{}", plan.stdout);

    let rejected = workspace.run(&["apply", "--auto-approve"]);
    rejected.expect_code(1);
    assert!(rejected.stderr.contains(&format!("delete topic {name}: it carries this environment's ownership tags but is no longer in the spec, and deleting it needs --allow-delete")), "{}", rejected.stderr);

    workspace
        .run(&["apply", "--auto-approve", "--allow-delete"])
        .expect_code(0);
    let topics = sns_client()
        .await
        .list_topics()
        .send()
        .await
        .expect("list")
        .topics
        .unwrap_or_default();
    assert!(
        !topics
            .iter()
            .any(|topic| topic.topic_arn() == Some(removed.as_str()))
    );
    workspace.run(&["drift"]).expect_code(0);
}
