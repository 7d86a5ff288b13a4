use super::*;
use crate::cloud::{Attributes, LiveQueue};
use crate::spec::load_from_text;

const SPEC: &str = "\
project: shop
queues:
  orders:
    visibility_timeout: 60s
    enforce_tls: false
    grants:
      - Effect: Allow
        Principal: {AWS: '111122223333'}
        Action: sqs:SendMessage
        Resource: '*'
    tags:
      team: trips
";

fn sample_plan() -> Plan {
    let desired = load_from_text(
        "queues.yaml",
        SPEC,
        "test",
        "region: us-east-1\naccount_id: \"123456789012\"\n",
    )
    .expect("spec")
    .desired;
    let attributes: Attributes = [
        ("VisibilityTimeout", "30"),
        ("SqsManagedSseEnabled", "true"),
        ("Policy", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sqs:ReceiveMessage","Resource":"*"}]}"#),
    ]
    .iter()
    .map(|(key, value)| (key.to_string(), value.to_string()))
    .collect();
    let owned = crate::model::ownership_tags("shop", "test");
    let mut orders_tags = owned.clone();
    orders_tags.insert("team".into(), "rides".into());
    orders_tags.insert("legacy".into(), "yes".into());
    let old_attributes: Attributes = [
        ("ApproximateNumberOfMessages", "3"),
        ("ApproximateNumberOfMessagesNotVisible", "1"),
    ]
    .iter()
    .map(|(key, value)| (key.to_string(), value.to_string()))
    .collect();
    let live = vec![
        LiveQueue {
            name: "shop-test-orders".into(),
            url: "https://sqs/orders".into(),
            attributes,
            tags: orders_tags,
        },
        LiveQueue {
            name: "shop-test-old".into(),
            url: "https://sqs/old".into(),
            attributes: old_attributes,
            tags: owned,
        },
    ];
    crate::plan::diff(&desired, &live)
}

#[test]
fn plan_text_shows_changes_and_summary() {
    let mut output = Vec::new();
    plan_text(&mut output, &sample_plan(), Style { colour: false }).expect("render");

    let expected = "\
Plan for shop / test (queues named shop-test-*)

  ~ update shop-test-orders
      VisibilityTimeout: 30 → 60
      Policy changed:
        @@ -2,7 +2,7 @@
            \"Statement\": [
              {
                \"Action\": [
        -         \"sqs:ReceiveMessage\"
        +         \"sqs:SendMessage\"
                ],
                \"Effect\": \"Allow\",
                \"Principal\": {
      ~ tag team: rides → trips
      - tag legacy (was yes)

  - delete shop-test-old
      reason: the queue carries this environment's ownership tags but is no longer in the spec
      messages: 4 (3 visible, 1 in flight, 0 delayed)

Plan: 0 to create, 1 to update, 0 to replace, 1 to delete, 0 to adopt, 0 unchanged.
";
    assert_eq!(String::from_utf8(output).expect("utf-8"), expected);
}

#[test]
fn drift_text_names_expected_and_actual() {
    let mut output = Vec::new();
    drift_text(&mut output, &sample_plan(), Style { colour: false }).expect("render");
    let text = String::from_utf8(output).expect("utf-8");

    assert!(
        text.starts_with("Drift: 2 queue(s) in shop / test differ from the spec:\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "  ! shop-test-orders: changed\n      VisibilityTimeout: expected 60, actual 30\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("      tag legacy: expected (none), actual yes\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "  ! shop-test-old: unexpected: owned by sqsform but no longer in the spec\n"
        ),
        "{text}"
    );
}

#[test]
fn plan_json_carries_api_calls() {
    let mut calls = ApiCalls::default();
    calls.by_operation.insert("sqs:ListQueues".into(), 1);
    calls.total = 1;
    let mut output = Vec::new();
    let needs_flags =
        vec!["delete shop-test-old: deleting a managed queue needs --allow-delete".to_string()];
    plan_json(&mut output, &sample_plan(), &calls, &needs_flags).expect("render");
    let document: serde_json::Value = serde_json::from_slice(&output).expect("json");

    assert_eq!(document["format_version"], 1);
    assert_eq!(document["has_changes"], true);
    assert_eq!(document["api_calls"]["by_operation"]["sqs:ListQueues"], 1);
    assert_eq!(document["plan"]["summary"]["delete"], 1);
    assert_eq!(
        document["needs_flags"],
        serde_json::json!(["delete shop-test-old: deleting a managed queue needs --allow-delete"])
    );
    assert_eq!(
        document["plan"]["queues"][0]["attributes"][0],
        serde_json::json!({"name": "VisibilityTimeout", "before": "30", "after": "60"})
    );
}

#[test]
fn needs_flags_lists_each_change() {
    let mut output = Vec::new();
    let needs_flags = vec![
        "delete shop-test-old: deleting a managed queue needs --allow-delete".to_string(),
        "adopt shop-test-legacy: the queue exists without sqsform's ownership tags; rerun with --adopt to manage it".to_string(),
    ];
    needs_flags_text(&mut output, &needs_flags, Style { colour: false }).expect("render");

    assert_eq!(
        String::from_utf8(output).expect("utf-8"),
        "\nNeeds a flag: apply rejects 2 change(s) without a flag:\n  delete shop-test-old: deleting a managed queue needs --allow-delete\n  adopt shop-test-legacy: the queue exists without sqsform's ownership tags; rerun with --adopt to manage it\n"
    );
}

#[test]
fn needs_flags_writes_nothing_when_empty() {
    let mut output = Vec::new();
    needs_flags_text(&mut output, &[], Style { colour: false }).expect("render");
    assert!(output.is_empty());
}
