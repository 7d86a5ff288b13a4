//! End-to-end tests of the sqsform binary against the local AWS emulator (moto on loopback).
//!
//! Each test works in its own environment (`it-<name>-<run id>`), so its queues carry their own prefix
//! and the tests can run in parallel against one emulator.

mod common;

use common::{Workspace, get_attribute, queue_exists, queue_url, set_attribute, sqs_client};

const SMALL_SPEC: &str = "\
project: driversklub
defaults:
  dead_letter:
    max_receive_count: 3
queues:
  orders:
    visibility_timeout: 60s
    tags:
      team: trips
  receipts:
    tags:
      team: payments
";

#[tokio::test]
async fn shipped_spec_applies_and_replans_empty() {
    let workspace = common::shipped_workspace("replan").await;

    let apply = workspace.run(&["apply", "--auto-approve"]);
    apply.expect_code(0);
    assert!(
        apply.stdout.contains(
            "Plan: 16 to create, 0 to update, 0 to replace, 0 to delete, 0 to adopt, 0 unchanged."
        ),
        "{}",
        apply.stdout
    );
    assert!(
        apply.stdout.contains("matches the spec"),
        "{}",
        apply.stdout
    );

    let plan = workspace.run(&["plan", "--detailed-exitcode"]);
    plan.expect_code(0);
    assert!(
        plan.stdout
            .contains("No changes. 16 queue(s), 10 IAM policy(ies), 25 alarm(s), 3 topic(s) and the dashboard match the spec."),
        "{}",
        plan.stdout
    );
}

#[tokio::test]
async fn noop_plan_call_counts() {
    let workspace = common::shipped_workspace("calls").await;
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);

    let plan = workspace.run(&["plan", "--format", "json"]);
    plan.expect_code(0);
    let document = plan.json();
    assert_eq!(document["has_changes"], false);
    let calls = &document["api_calls"];
    let expected = serde_json::json!({
        // Two SQS calls per queue (16 queues), the listing, and the account check.
        "sqs:GetQueueAttributes": 16,
        "sqs:ListQueueTags": 16,
        "sqs:ListQueues": 1,
        "sts:GetCallerIdentity": 1,
        // One ListPolicies page, then the default version and the attachments of 10 policies.
        "iam:ListPolicies": 1,
        "iam:GetPolicyVersion": 10,
        "iam:ListEntitiesForPolicy": 10,
        // One DescribeAlarms page, the tags of 25 alarms, and the dashboard.
        "cloudwatch:DescribeAlarms": 1,
        "cloudwatch:ListTagsForResource": 25,
        "cloudwatch:GetDashboard": 1,
        // One ListTopics page to find removed topics; per topic: attributes, tags and the
        // subscription list; then each of 8 subscriptions.
        "sns:ListTopics": 1,
        "sns:GetTopicAttributes": 3,
        "sns:ListTagsForResource": 3,
        "sns:ListSubscriptionsByTopic": 3,
        "sns:GetSubscriptionAttributes": 8,
    });
    assert_eq!(calls["by_operation"], expected);
    assert_eq!(calls["total"], 100);
}

#[tokio::test]
async fn equivalent_live_values_plan_no_change() {
    let spec = "\
project: driversklub
queues:
  ledger.fifo:
    fifo: true
    encryption:
      type: sse-kms
      kms_key: alias/it-ledger
    dead_letter:
      max_receive_count: 3
    grants:
      - Sid: AllowProducer
        Effect: Allow
        Principal:
          AWS: '123456789012'
        Action: ['sqs:SendMessage']
";
    let workspace = Workspace::new("equivalent", spec);
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    let client = sqs_client().await;
    let queue = workspace.queue_name("ledger.fifo");
    let dead_letter = workspace.queue_name("ledger-dlq.fifo");

    // The same policy: statements swapped, Action as a string, keys reordered, other spacing,
    // and the account as its root ARN.
    let policy = format!(
        r#"{{ "Statement" : [ {{"Action":"sqs:SendMessage","Effect":"Allow","Resource":"arn:aws:sqs:us-east-1:123456789012:{queue}","Principal":{{"AWS":"arn:aws:iam::123456789012:root"}},"Sid":"AllowProducer"}},
            {{"Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}},"Resource":"arn:aws:sqs:us-east-1:123456789012:{queue}","Action":"sqs:*","Principal":"*","Effect":"Deny","Sid":"DenyInsecureTransport"}} ],
          "Version" : "2012-10-17" }}"#
    );
    set_attribute(&client, &queue, "Policy", &policy).await;
    // maxReceiveCount as a string; moto stores it as a number, so the string case is covered by
    // a unit test of the comparison as well.
    let redrive = format!(
        r#"{{"maxReceiveCount":"3","deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:{dead_letter}"}}"#
    );
    set_attribute(&client, &queue, "RedrivePolicy", &redrive).await;
    set_attribute(&client, &queue, "DelaySeconds", "0").await;
    set_attribute(&client, &queue, "SqsManagedSseEnabled", "false").await;

    assert_eq!(
        get_attribute(&client, &queue, "SqsManagedSseEnabled")
            .await
            .as_deref(),
        Some("false")
    );
    assert_eq!(
        get_attribute(&client, &queue, "KmsMasterKeyId")
            .await
            .as_deref(),
        Some("alias/it-ledger")
    );
    let plan = workspace.run(&["plan", "--detailed-exitcode"]);
    plan.expect_code(0);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
}

#[tokio::test]
async fn drift_names_queue_and_apply_fixes_it() {
    let workspace = Workspace::new("drift", SMALL_SPEC);
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    workspace.run(&["drift"]).expect_code(0);

    let client = sqs_client().await;
    let orders = workspace.queue_name("orders");
    set_attribute(&client, &orders, "VisibilityTimeout", "45").await;

    let drift = workspace.run(&["drift"]);
    drift.expect_code(2);
    assert!(
        drift.stdout.contains(&format!("! {orders}: changed")),
        "{}",
        drift.stdout
    );
    assert!(
        drift
            .stdout
            .contains("VisibilityTimeout: expected 60, actual 45"),
        "{}",
        drift.stdout
    );

    let json = workspace.run(&["drift", "--format", "json"]);
    json.expect_code(2);
    let document = json.json();
    assert_eq!(document["drifted"], true);
    assert_eq!(document["queues"][0]["name"], orders.as_str());
    assert_eq!(
        document["queues"][0]["attributes"][0]["name"],
        "VisibilityTimeout"
    );
    assert_eq!(document["queues"][0]["attributes"][0]["expected"], "60");
    assert_eq!(document["queues"][0]["attributes"][0]["actual"], "45");

    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    assert_eq!(
        get_attribute(&client, &orders, "VisibilityTimeout")
            .await
            .as_deref(),
        Some("60")
    );
    workspace.run(&["drift"]).expect_code(0);
}

#[tokio::test]
async fn deleting_queue_with_messages_needs_both_flags() {
    let workspace = Workspace::new("delete", SMALL_SPEC);
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    let client = sqs_client().await;
    let receipts = workspace.queue_name("receipts");
    let receipts_url = queue_url(&client, &receipts).await;
    client
        .send_message()
        .queue_url(&receipts_url)
        .message_body("receipt 1")
        .send()
        .await
        .expect("send");
    client
        .send_message()
        .queue_url(&receipts_url)
        .message_body("receipt 2")
        .send()
        .await
        .expect("send");

    workspace.write_spec(&SMALL_SPEC.replace("  receipts:\n    tags:\n      team: payments\n", ""));

    let plan = workspace.run(&["plan"]);
    plan.expect_code(0);
    assert!(
        plan.stdout.contains(&format!("- delete {receipts}")),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("messages: 2 (2 visible, 0 in flight, 0 delayed)"),
        "{}",
        plan.stdout
    );

    let no_flags = workspace.run(&["apply", "--auto-approve"]);
    no_flags.expect_code(1);
    assert!(
        no_flags.stderr.contains(&format!(
            "delete {receipts}: deleting a managed queue needs --allow-delete"
        )),
        "{}",
        no_flags.stderr
    );
    assert!(
        no_flags.stderr.contains("this needs --allow-data-loss"),
        "{}",
        no_flags.stderr
    );

    let delete_only = workspace.run(&["apply", "--auto-approve", "--allow-delete"]);
    delete_only.expect_code(1);
    assert!(
        !delete_only.stderr.contains("--allow-delete"),
        "{}",
        delete_only.stderr
    );
    assert!(delete_only.stderr.contains(&format!(
        "delete {receipts}: the queue holds 2 messages (2 visible, 0 in flight, 0 delayed) that would be lost; this needs --allow-data-loss"
    )), "{}", delete_only.stderr);
    assert!(queue_exists(&client, &receipts).await);

    workspace
        .run(&[
            "apply",
            "--auto-approve",
            "--allow-delete",
            "--allow-data-loss",
        ])
        .expect_code(0);
    assert!(!queue_exists(&client, &receipts).await);
    assert!(!queue_exists(&client, &workspace.queue_name("receipts-dlq")).await);
    assert!(queue_exists(&client, &workspace.queue_name("orders")).await);
}

#[tokio::test]
async fn untagged_prefixed_queue_survives_allow_delete() {
    let workspace = Workspace::new("stray", SMALL_SPEC);
    let client = sqs_client().await;
    let stray = workspace.queue_name("legacy-jobs");
    client
        .create_queue()
        .queue_name(&stray)
        .send()
        .await
        .expect("create stray queue");

    let apply = workspace.run(&[
        "apply",
        "--auto-approve",
        "--allow-delete",
        "--allow-data-loss",
    ]);
    apply.expect_code(0);
    assert!(
        apply.stdout.contains(&format!(
            "Left alone (prefix matches, but neither in the spec nor tagged as owned): {stray}"
        )),
        "{}",
        apply.stdout
    );
    assert!(queue_exists(&client, &stray).await);

    let plan = workspace.run(&["plan", "--format", "json"]);
    assert_eq!(plan.json()["plan"]["unmanaged"], serde_json::json!([stray]));
}

#[tokio::test]
async fn queue_without_ownership_tags_needs_adopt() {
    let workspace = Workspace::new("adopt", SMALL_SPEC);
    let client = sqs_client().await;
    let orders = workspace.queue_name("orders");
    client
        .create_queue()
        .queue_name(&orders)
        .send()
        .await
        .expect("create unowned queue");

    let plan = workspace.run(&["plan"]);
    assert!(
        plan.stdout.contains(&format!("~ adopt {orders}")),
        "{}",
        plan.stdout
    );

    let rejected = workspace.run(&["apply", "--auto-approve"]);
    rejected.expect_code(1);
    assert!(rejected.stderr.contains(&format!("adopt {orders}: the queue exists without sqsform's ownership tags; rerun with --adopt to manage it")), "{}", rejected.stderr);
    assert!(!queue_exists(&client, &workspace.queue_name("receipts")).await);

    workspace
        .run(&["apply", "--auto-approve", "--adopt"])
        .expect_code(0);
    let tags = client
        .list_queue_tags()
        .queue_url(queue_url(&client, &orders).await)
        .send()
        .await
        .expect("tags")
        .tags
        .unwrap_or_default();
    assert_eq!(
        tags.get("sqsform:managed").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        tags.get("sqsform:environment"),
        Some(&workspace.environment)
    );
    assert_eq!(
        get_attribute(&client, &orders, "VisibilityTimeout")
            .await
            .as_deref(),
        Some("60")
    );
}

#[tokio::test]
async fn tag_change_plans_only_tag_calls() {
    let workspace = Workspace::new("tags", SMALL_SPEC);
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    let client = sqs_client().await;
    let orders = workspace.queue_name("orders");
    let url = queue_url(&client, &orders).await;
    client
        .tag_queue()
        .queue_url(&url)
        .tags("team", "rides")
        .tags("cost-centre", "42")
        .send()
        .await
        .expect("tag");

    let plan = workspace.run(&["plan", "--format", "json"]);
    let document = plan.json();
    let queues = document["plan"]["queues"].as_array().expect("queues");
    let changed: Vec<&serde_json::Value> = queues
        .iter()
        .filter(|queue| queue["action"] != "no-op")
        .collect();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0]["name"], orders.as_str());
    assert_eq!(changed[0]["action"], "update");
    assert_eq!(changed[0]["attributes"], serde_json::json!([]));
    assert_eq!(
        changed[0]["tags"]["set"],
        serde_json::json!({"team": {"before": "rides", "after": "trips"}})
    );
    assert_eq!(
        changed[0]["tags"]["remove"],
        serde_json::json!({"cost-centre": "42"})
    );

    let apply = workspace.run(&["apply", "--auto-approve", "-v"]);
    apply.expect_code(0);
    assert!(apply.stderr.contains("sqs:TagQueue 1"), "{}", apply.stderr);
    assert!(
        apply.stderr.contains("sqs:UntagQueue 1"),
        "{}",
        apply.stderr
    );
    assert!(
        !apply.stderr.contains("sqs:SetQueueAttributes"),
        "{}",
        apply.stderr
    );
}

#[tokio::test]
async fn live_policy_missing_from_spec_is_removed() {
    // Without the TLS statement the spec declares no access policy for the queue.
    let spec = SMALL_SPEC.replace(
        "    visibility_timeout: 60s\n",
        "    visibility_timeout: 60s\n    enforce_tls: false\n",
    );
    let workspace = Workspace::new("policy-removal", &spec);
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    let client = sqs_client().await;
    let orders = workspace.queue_name("orders");
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sqs:SendMessage","Resource":"*"}]}"#;
    set_attribute(&client, &orders, "Policy", policy).await;

    let plan = workspace.run(&["plan", "--detailed-exitcode"]);
    plan.expect_code(2);
    assert!(
        plan.stdout.contains(&format!("~ update {orders}")),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("Policy removed:"), "{}", plan.stdout);

    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    assert_eq!(get_attribute(&client, &orders, "Policy").await, None);
}

#[tokio::test]
async fn fifo_flag_change_plans_replace() {
    let workspace = Workspace::new("replace", SMALL_SPEC);
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    let client = sqs_client().await;

    workspace.write_spec(&SMALL_SPEC.replace("  orders:\n", "  orders.fifo:\n    fifo: true\n"));
    let plan = workspace.run(&["plan"]);
    let old = workspace.queue_name("orders");
    let new = workspace.queue_name("orders.fifo");
    assert!(
        plan.stdout.contains(&format!("-/+ replace {new}")),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(&format!("replaces {old}")),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains(&format!(
        "reason: FifoQueue changes from false to true: SQS cannot change a queue's type, so {new} is created and {old} is deleted"
    )), "{}", plan.stdout);

    let rejected = workspace.run(&["apply", "--auto-approve"]);
    rejected.expect_code(1);
    assert!(
        rejected.stderr.contains(&format!(
            "replace {old}: deleting a managed queue needs --allow-delete"
        )),
        "{}",
        rejected.stderr
    );

    workspace
        .run(&["apply", "--auto-approve", "--allow-delete"])
        .expect_code(0);
    assert!(queue_exists(&client, &new).await);
    assert!(!queue_exists(&client, &old).await);
    assert_eq!(
        get_attribute(&client, &new, "FifoQueue").await.as_deref(),
        Some("true")
    );
}

#[tokio::test]
async fn other_account_is_refused() {
    let workspace = Workspace::new("account", SMALL_SPEC);
    let environment_file = workspace.environment_path();
    let text = std::fs::read_to_string(&environment_file)
        .expect("read")
        .replace("123456789012", "999999999999");
    std::fs::write(&environment_file, text).expect("write");

    let plan = workspace.run(&["plan"]);
    plan.expect_code(1);
    let expected = format!(
        "error: environment {} is for account 999999999999, but the credentials are for account 123456789012; use credentials or a role of account 999999999999",
        workspace.environment
    );
    assert!(plan.stderr.contains(&expected), "{}", plan.stderr);
}

#[tokio::test]
async fn apply_without_terminal_needs_auto_approve() {
    let workspace = Workspace::new("prompt", SMALL_SPEC);
    let apply = workspace.run(&["apply"]);
    apply.expect_code(1);
    assert!(apply.stderr.contains("error: apply needs confirmation, but standard input is not a terminal; pass --auto-approve to apply without a prompt"), "{}", apply.stderr);
    let client = sqs_client().await;
    assert!(!queue_exists(&client, &workspace.queue_name("orders")).await);
}

#[tokio::test]
async fn endpoint_variable_overrides_environment_file() {
    // The file names a port where nothing listens; AWS_ENDPOINT_URL must win, as in the AWS SDKs.
    let spec = SMALL_SPEC;
    let workspace = Workspace::new("endpoint", spec);
    let environment_file = workspace.environment_path();
    let endpoint = common::endpoint();
    let text = std::fs::read_to_string(&environment_file)
        .expect("read")
        .replace(&endpoint, "http://127.0.0.1:9");
    std::fs::write(&environment_file, text).expect("write");

    let with_variable = workspace.run_with_env(&["plan"], &[("AWS_ENDPOINT_URL", &endpoint)]);
    with_variable.expect_code(0);
    assert!(
        with_variable.stdout.contains("Plan: 4 to create"),
        "{}",
        with_variable.stdout
    );
}

#[tokio::test]
async fn invalid_spec_makes_no_aws_call() {
    let workspace = Workspace::new(
        "invalid",
        &SMALL_SPEC.replace("visibility_timeout: 60s", "visibility_timeout: 13h"),
    );
    let plan = workspace.run(&["plan"]);
    plan.expect_code(1);
    assert!(plan.stderr.contains("queues.yaml:7:25: queues.orders.visibility_timeout: visibility_timeout must be between 0s and 12h (0 to 43200 seconds), got 46800 seconds"), "{}", plan.stderr);
    assert!(
        plan.stderr
            .contains("error: the spec has 1 error(s); nothing was sent to AWS"),
        "{}",
        plan.stderr
    );
}

#[tokio::test]
async fn outputs_list_urls_and_arns() {
    let workspace = Workspace::new("outputs", SMALL_SPEC);
    let missing = workspace.run(&["outputs"]);
    missing.expect_code(1);
    assert!(
        missing.stderr.contains("queues missing in AWS"),
        "{}",
        missing.stderr
    );

    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    let outputs = workspace.run(&["outputs", "--format", "env"]);
    outputs.expect_code(0);
    let endpoint = common::endpoint();
    let orders = workspace.queue_name("orders");
    assert!(
        outputs.stdout.contains(&format!(
            "ORDERS_QUEUE_URL={endpoint}/123456789012/{orders}\n"
        )),
        "{}",
        outputs.stdout
    );
    assert!(
        outputs.stdout.contains(&format!(
            "ORDERS_QUEUE_ARN=arn:aws:sqs:us-east-1:123456789012:{orders}\n"
        )),
        "{}",
        outputs.stdout
    );
    assert_eq!(outputs.stdout.lines().count(), 8);

    let json = workspace.run(&["outputs"]).json();
    assert_eq!(
        json["orders-dlq"]["name"],
        workspace.queue_name("orders-dlq").as_str()
    );
}

#[tokio::test]
async fn role_arn_is_assumed_through_sts() {
    let workspace = Workspace::with_environment(
        "role",
        SMALL_SPEC,
        "role_arn: arn:aws:iam::123456789012:role/sqsform-deployer\n",
    );

    let plan = workspace.run(&["plan", "--format", "json"]);

    plan.expect_code(0);
    let document = plan.json();
    assert_eq!(document["plan"]["summary"]["create"], 4);
    assert_eq!(
        document["api_calls"]["by_operation"]["sts:GetCallerIdentity"],
        1
    );
}
