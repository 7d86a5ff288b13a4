//! Tests of the topic rules through `load_from_text`, with exact messages and documents.

use serde_json::json;

use crate::spec::{SpecError, load_from_text};

const ENVIRONMENT: &str = "region: us-east-1\naccount_id: \"123456789012\"\n";

fn messages(spec: &str) -> Vec<String> {
    match load_from_text("queues.yaml", spec, "dev", ENVIRONMENT) {
        Err(SpecError::Invalid { diagnostics }) => {
            diagnostics.iter().map(ToString::to_string).collect()
        }
        Ok(_) => panic!("expected errors"),
        Err(other) => panic!("unexpected error {other}"),
    }
}

#[test]
fn fifo_topic_rejects_standard_queue() {
    let spec = "project: shop\nqueues:\n  orders: {}\n  ledger.fifo: {fifo: true}\ntopics:\n  payments.fifo:\n    subscribers:\n      orders: {}\n      ledger.fifo: {}\n";
    assert_eq!(
        messages(spec),
        vec!["queues.yaml:8:7: topics.payments.fifo.subscribers.orders: FIFO topic \"payments.fifo\" cannot deliver to standard queue \"orders\": a FIFO topic takes only FIFO queues and a standard topic only standard queues".to_string()]
    );
}

#[test]
fn standard_topic_rejects_fifo_queue() {
    let spec = "project: shop\nqueues:\n  ledger.fifo: {fifo: true}\ntopics:\n  trips:\n    subscribers:\n      ledger.fifo: {}\n";
    assert_eq!(
        messages(spec),
        vec!["queues.yaml:7:7: topics.trips.subscribers.ledger.fifo: standard topic \"trips\" cannot deliver to FIFO queue \"ledger.fifo\": a FIFO topic takes only FIFO queues and a standard topic only standard queues".to_string()]
    );
}

#[test]
fn aws_managed_key_cannot_receive_from_topic() {
    let spec = "project: shop\nqueues:\n  orders:\n    encryption: {type: sse-kms, kms_key: alias/aws/sqs}\ntopics:\n  trips:\n    subscribers:\n      orders: {}\n";
    assert_eq!(
        messages(spec),
        vec!["queues.yaml:8:7: topics.trips.subscribers.orders: queue \"orders\" is encrypted with the AWS-managed key alias/aws/sqs, whose key policy cannot let SNS encrypt, so topic \"trips\" could never deliver to it; use encryption: sse-sqs, or a customer-managed key whose policy allows the service principal sns.amazonaws.com kms:GenerateDataKey* and kms:Decrypt".to_string()]
    );
}

#[test]
fn customer_managed_key_may_receive_from_topic() {
    let spec = "project: shop\nqueues:\n  orders:\n    encryption: {type: sse-kms, kms_key: alias/orders}\ntopics:\n  trips:\n    subscribers:\n      orders: {}\n";
    assert!(load_from_text("queues.yaml", spec, "dev", ENVIRONMENT).is_ok());
}

#[test]
fn queue_policy_composes_tls_and_two_topics() {
    let spec = "project: shop\nqueues:\n  analytics: {}\ntopics:\n  trips:\n    subscribers:\n      analytics: {filter_policy: {eventType: [trip.created]}}\n  drivers:\n    subscribers:\n      analytics: {}\n";
    let loaded = load_from_text("queues.yaml", spec, "dev", ENVIRONMENT).expect("valid");
    let queue = "arn:aws:sqs:us-east-1:123456789012:shop-dev-analytics";
    assert_eq!(
        loaded.desired.queues[0].attributes.policy,
        Some(json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sqs:*",
                    "Resource": queue,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
                {
                    "Sid": "AllowTopicshopdevtripsd3e22f60",
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue,
                    "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:shop-dev-trips"}},
                },
                {
                    "Sid": "AllowTopicshopdevdrivers98916dcf",
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue,
                    "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:shop-dev-drivers"}},
                },
            ],
        }))
    );
    let trips = &loaded.desired.topics[0];
    assert_eq!(
        trips.subscriptions[0].filter_policy_scope.as_deref(),
        Some("MessageAttributes")
    );
    assert!(trips.subscriptions[0].raw_message_delivery);
}

#[test]
fn publisher_gets_publish_permission() {
    let spec = "project: shop\nservices:\n  trips-api: {}\nqueues:\n  analytics: {}\ntopics:\n  trips:\n    publishers: [trips-api]\n    subscribers:\n      analytics: {}\n";
    let environment = format!("{ENVIRONMENT}services:\n  trips-api: trips-api-role\n");
    let loaded = load_from_text("queues.yaml", spec, "dev", &environment).expect("valid");
    assert_eq!(
        loaded.desired.service_policies[0].document,
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "PublishToTopics",
                "Effect": "Allow",
                "Action": ["sns:Publish"],
                "Resource": ["arn:aws:sns:us-east-1:123456789012:shop-dev-trips"],
            }],
        })
    );
}

#[test]
fn unknown_subscriber_and_publisher() {
    let spec = "project: shop\nservices:\n  trips-api: {}\nqueues:\n  analytics: {}\ntopics:\n  trips:\n    publishers: [trip-api]\n    subscribers:\n      analytic: {}\n";
    assert_eq!(
        messages(spec),
        vec![
            "queues.yaml:3:3: services.trips-api: service \"trips-api\" neither produces to, consumes from nor publishes to anything, so it gets no IAM policy".to_string(),
            "queues.yaml:8:18: topics.trips.publishers[0]: topic \"trips\" names unknown publisher \"trip-api\"; did you mean \"trips-api\"?".to_string(),
            "queues.yaml:10:7: topics.trips.subscribers.analytic: topic \"trips\" subscribes unknown queue \"analytic\"; did you mean \"analytics\"?".to_string(),
        ]
    );
}

#[test]
fn scalar_or_empty_filter_policy_is_rejected() {
    for filter in ["{eventType: trip.created}", "{}", "{eventType: []}"] {
        let spec = format!(
            "project: shop\nqueues:\n  analytics: {{}}\ntopics:\n  trips:\n    subscribers:\n      analytics: {{filter_policy: {filter}}}\n"
        );
        assert_eq!(
            messages(&spec),
            vec!["queues.yaml:7:34: topics.trips.subscribers.analytics.filter_policy: filter_policy must be a non-empty mapping of attribute names to lists of accepted values, such as {eventType: [trip.created]}".to_string()],
            "{filter}"
        );
    }
}

#[test]
fn names_differing_in_hyphens_get_distinct_sids() {
    let spec = "project: shop\nqueues:\n  analytics: {}\ntopics:\n  trip-events:\n    subscribers: {analytics: {}}\n  tripevents:\n    subscribers: {analytics: {}}\n";
    let loaded = load_from_text("queues.yaml", spec, "dev", ENVIRONMENT).expect("valid");
    let policy = loaded.desired.queues[0]
        .attributes
        .policy
        .clone()
        .expect("policy");
    let sids: Vec<&str> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|statement| statement["Sid"].as_str())
        .collect();
    assert_eq!(sids.len(), 3);
    assert_ne!(sids[1], sids[2]);
}

#[test]
fn topic_without_subscribers_warns() {
    let spec = "project: shop\nservices:\n  checkout: {}\nqueues:\n  orders: {}\ntopics:\n  trips:\n    publishers: [checkout]\n";
    let environment = format!("{ENVIRONMENT}services:\n  checkout: shop-dev-checkout\n");
    let loaded = load_from_text("queues.yaml", spec, "dev", &environment).expect("valid");
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        vec![
            "queues.yaml:7:3: topics.trips: topic \"trips\" has no subscribers, so SNS drops every message published to it; add a queue under subscribers:, or remove the topic"
        ]
    );
    assert_eq!(loaded.desired.topics[0].subscriptions.len(), 0);
}
