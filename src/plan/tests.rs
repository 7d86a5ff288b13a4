use super::*;
use crate::cloud::{Attributes, LiveQueue};
use crate::spec::load_from_text;

const ENVIRONMENT: &str = "region: us-east-1\naccount_id: \"123456789012\"\n";

fn desired(spec: &str) -> DesiredState {
    load_from_text("queues.yaml", spec, "test", ENVIRONMENT)
        .expect("valid spec")
        .desired
}

fn live(name: &str, tags: &[(&str, &str)], attributes: &[(&str, &str)]) -> LiveQueue {
    let mut all_attributes: Attributes = attributes
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect();
    all_attributes.insert(
        "QueueArn".into(),
        format!("arn:aws:sqs:us-east-1:123456789012:{name}"),
    );
    LiveQueue {
        name: name.to_string(),
        url: format!("https://sqs.us-east-1.amazonaws.com/123456789012/{name}"),
        attributes: all_attributes,
        tags: tags
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect(),
    }
}

const OWNED: &[(&str, &str)] = &[
    ("sqsform:managed", "true"),
    ("sqsform:project", "shop"),
    ("sqsform:environment", "test"),
];

#[test]
fn spec_queue_without_tags_is_adopted() {
    let desired_state = desired("project: shop\nqueues:\n  orders: {}\n");
    let plan = diff(
        &desired_state,
        &[live(
            "shop-test-orders",
            &[],
            &[("SqsManagedSseEnabled", "true")],
        )],
    );

    let change = &plan.queues[0];
    assert_eq!(change.action, Action::Adopt);
    assert_eq!(
        change.reason.as_deref(),
        Some("the queue exists with a spec name but without sqsform's ownership tags")
    );
    assert_eq!(
        change.tags.set.keys().collect::<Vec<_>>(),
        vec!["sqsform:environment", "sqsform:managed", "sqsform:project"]
    );
    assert_eq!(plan.summary.adopt, 1);
}

#[test]
fn owned_queue_outside_spec_is_deleted() {
    let desired_state = desired("project: shop\nqueues: {}\n");
    let plan = diff(
        &desired_state,
        &[live(
            "shop-test-old",
            OWNED,
            &[("ApproximateNumberOfMessages", "4")],
        )],
    );

    assert_eq!(plan.queues.len(), 1);
    assert_eq!(plan.queues[0].action, Action::Delete);
    assert_eq!(
        plan.queues[0].messages,
        Some(MessageCounts {
            visible: 4,
            in_flight: 0,
            delayed: 0
        })
    );
    assert!(plan.unmanaged.is_empty());
}

#[test]
fn untagged_and_foreign_queues_are_unmanaged() {
    let desired_state = desired("project: shop\nqueues: {}\n");
    let foreign = [
        ("sqsform:managed", "true"),
        ("sqsform:project", "shop"),
        ("sqsform:environment", "staging"),
    ];
    let plan = diff(
        &desired_state,
        &[
            live("shop-test-stray", &[], &[]),
            live("shop-test-other", &foreign, &[]),
        ],
    );

    assert!(plan.queues.is_empty());
    assert_eq!(
        plan.unmanaged,
        vec!["shop-test-stray".to_string(), "shop-test-other".to_string()]
    );
    assert!(!plan.has_changes());
}

#[test]
fn fifo_change_pairs_old_queue_as_replace() {
    let desired_state = desired("project: shop\nqueues:\n  orders.fifo:\n    fifo: true\n");
    let plan = diff(
        &desired_state,
        &[live(
            "shop-test-orders",
            OWNED,
            &[("ApproximateNumberOfMessagesDelayed", "2")],
        )],
    );

    assert_eq!(plan.queues.len(), 1);
    let change = &plan.queues[0];
    assert_eq!(change.action, Action::Replace);
    assert_eq!(change.name, "shop-test-orders.fifo");
    assert_eq!(
        change.replaces.as_ref().map(|old| old.name.as_str()),
        Some("shop-test-orders")
    );
    assert_eq!(change.messages.map(|messages| messages.total()), Some(2));
    assert_eq!(
        plan.summary,
        Summary {
            replace: 1,
            ..Summary::default()
        }
    );
}

#[test]
fn deleted_dead_letter_target_is_marked() {
    let desired_state = desired("project: shop\nqueues: {}\n");
    let redrive = r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:shop-test-a-dlq","maxReceiveCount":3}"#;
    let plan = diff(
        &desired_state,
        &[
            live("shop-test-a", OWNED, &[("RedrivePolicy", redrive)]),
            live("shop-test-a-dlq", OWNED, &[]),
        ],
    );

    let targets: Vec<(&str, bool)> = plan
        .queues
        .iter()
        .map(|change| (change.name.as_str(), change.dead_letter_target))
        .collect();
    assert_eq!(
        targets,
        vec![("shop-test-a", false), ("shop-test-a-dlq", true)]
    );
}

#[test]
fn lowered_retention_warns_with_counts() {
    let desired_state = desired("project: shop\nqueues:\n  orders:\n    retention: 1d\n");
    let mut tags: Vec<(&str, &str)> = OWNED.to_vec();
    tags.push(("sqsform:managed", "true"));
    let existing = live(
        "shop-test-orders",
        &tags,
        &[
            ("MessageRetentionPeriod", "345600"),
            ("ApproximateNumberOfMessages", "9"),
            ("SqsManagedSseEnabled", "true"),
        ],
    );

    let plan = diff(&desired_state, &[existing]);

    let change = &plan.queues[0];
    assert_eq!(change.action, Action::Update);
    assert_eq!(change.warnings, vec!["lowering MessageRetentionPeriod from 4d to 1d lets SQS delete messages already in the queue that are older than 1d".to_string()]);
    assert_eq!(change.messages.map(|messages| messages.visible), Some(9));
}
