//! End-to-end tests of CloudWatch alarms and the dashboard against the local emulator.

mod common;

use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, MetricAlarm, Statistic};
use common::{Workspace, cloudwatch_client};

const SPEC: &str = "\
project: driversklub
queues:
  orders:
    dead_letter: {max_receive_count: 3}
    alarms:
      depth: {threshold: 250, evaluation_periods: 3}
      custom:
        latency:
          namespace: Shop/Orders
          metric_name: ProcessingTime
          extended_statistic: p99
          threshold: 2000
        empty-receives:
          namespace: AWS/SQS
          metric_name: NumberOfEmptyReceives
          statistic: Sum
          period: 5m
          threshold: 100
";

fn actions() -> String {
    "alarm_actions:\n  alarm: [arn:aws:sns:us-east-1:123456789012:it-oncall]\n  ok: [arn:aws:sns:us-east-1:123456789012:it-oncall]\n".to_string()
}

async fn alarms_with_prefix(prefix: &str) -> Vec<MetricAlarm> {
    let output = cloudwatch_client()
        .await
        .describe_alarms()
        .alarm_name_prefix(prefix)
        .send()
        .await
        .expect("describe alarms");
    let mut alarms = output.metric_alarms.unwrap_or_default();
    alarms.sort_by(|left, right| left.alarm_name.cmp(&right.alarm_name));
    alarms
}

fn find<'a>(alarms: &'a [MetricAlarm], name: &str) -> &'a MetricAlarm {
    alarms
        .iter()
        .find(|alarm| alarm.alarm_name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("alarm {name} not found"))
}

fn dimensions(alarm: &MetricAlarm) -> Vec<(String, String)> {
    alarm
        .dimensions()
        .iter()
        .map(|dimension| {
            (
                dimension.name().unwrap_or_default().to_string(),
                dimension.value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn apply_creates_alarms_and_dashboard() {
    let workspace = Workspace::with_environment("alarms", SPEC, &actions());
    let orders = workspace.queue_name("orders");
    let dead_letter = workspace.queue_name("orders-dlq");

    let plan = workspace.run(&["plan"]);
    plan.expect_code(0);
    assert!(
        plan.stdout.contains("Alarms: 5 to create, 0 to update, 0 to delete, 0 to adopt, 0 unchanged; dashboard to create. CloudWatch bills every alarm and dashboard monthly."),
        "{}",
        plan.stdout
    );
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);

    let alarms = alarms_with_prefix(&format!("driversklub-{}-", workspace.environment)).await;
    let names: Vec<&str> = alarms
        .iter()
        .filter_map(|alarm| alarm.alarm_name.as_deref())
        .collect();
    assert_eq!(
        names,
        vec![
            format!("{orders}-depth"),
            format!("{dead_letter}-not-empty"),
            format!("{orders}-empty-receives"),
            format!("{orders}-latency"),
            format!("{orders}-oldest-message-age"),
        ]
    );

    let depth = find(&alarms, &format!("{orders}-depth"));
    assert_eq!(depth.namespace.as_deref(), Some("AWS/SQS"));
    assert_eq!(
        depth.metric_name.as_deref(),
        Some("ApproximateNumberOfMessagesVisible")
    );
    assert_eq!(
        dimensions(depth),
        vec![("QueueName".to_string(), orders.clone())]
    );
    assert_eq!(depth.statistic, Some(Statistic::Maximum));
    assert_eq!(depth.threshold, Some(250.0));
    assert_eq!(depth.evaluation_periods, Some(3));
    assert_eq!(depth.period, Some(60));
    assert_eq!(
        depth.comparison_operator,
        Some(ComparisonOperator::GreaterThanThreshold)
    );
    assert_eq!(depth.treat_missing_data.as_deref(), Some("notBreaching"));
    assert_eq!(
        depth.alarm_actions(),
        ["arn:aws:sns:us-east-1:123456789012:it-oncall".to_string()]
    );
    assert_eq!(
        depth.ok_actions(),
        ["arn:aws:sns:us-east-1:123456789012:it-oncall".to_string()]
    );

    let not_empty = find(&alarms, &format!("{dead_letter}-not-empty"));
    assert_eq!(
        not_empty.metric_name.as_deref(),
        Some("ApproximateNumberOfMessagesVisible")
    );
    assert_eq!(
        dimensions(not_empty),
        vec![("QueueName".to_string(), dead_letter.clone())]
    );
    assert_eq!(not_empty.threshold, Some(0.0));
    assert_eq!(not_empty.evaluation_periods, Some(1));

    let age = find(&alarms, &format!("{orders}-oldest-message-age"));
    assert_eq!(
        age.metric_name.as_deref(),
        Some("ApproximateAgeOfOldestMessage")
    );
    assert_eq!(age.threshold, Some(900.0));

    let latency = find(&alarms, &format!("{orders}-latency"));
    assert_eq!(latency.extended_statistic.as_deref(), Some("p99"));
    assert_eq!(latency.statistic, None);
    assert!(dimensions(latency).is_empty());

    let empty_receives = find(&alarms, &format!("{orders}-empty-receives"));
    assert_eq!(
        dimensions(empty_receives),
        vec![("QueueName".to_string(), orders.clone())]
    );
    assert_eq!(empty_receives.period, Some(300));

    let dashboard = cloudwatch_client()
        .await
        .get_dashboard()
        .dashboard_name(format!("driversklub-{}-queues", workspace.environment))
        .send()
        .await
        .expect("dashboard");
    let body: serde_json::Value =
        serde_json::from_str(dashboard.dashboard_body().unwrap_or_default()).expect("JSON body");
    assert_eq!(body["widgets"].as_array().map(Vec::len), Some(4));
    assert_eq!(
        body["widgets"][3]["properties"]["metrics"][0],
        serde_json::json!([
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "QueueName",
            dead_letter
        ])
    );

    let replan = workspace.run(&["plan", "--detailed-exitcode"]);
    replan.expect_code(0);
    assert!(
        replan
            .stdout
            .contains("5 alarm(s) and the dashboard match the spec."),
        "{}",
        replan.stdout
    );
}

#[tokio::test]
async fn deleted_alarm_is_drift_until_apply() {
    let workspace = Workspace::new("alarm-deleted", SPEC);
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    let depth = format!("{}-depth", workspace.queue_name("orders"));
    cloudwatch_client()
        .await
        .delete_alarms()
        .alarm_names(&depth)
        .send()
        .await
        .expect("delete alarm");

    let drift = workspace.run(&["drift"]);
    drift.expect_code(2);
    assert!(
        drift.stdout.contains(&format!(
            "! alarm {depth}: missing: in the spec but not in CloudWatch"
        )),
        "{}",
        drift.stdout
    );
    let json = workspace.run(&["drift", "--format", "json"]).json();
    assert_eq!(json["alarms"][0]["name"], depth.as_str());
    assert_eq!(json["alarms"][0]["kind"], "missing");

    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    workspace.run(&["drift"]).expect_code(0);
}

#[tokio::test]
async fn changed_threshold_is_drift_until_apply() {
    let workspace = Workspace::new("alarm-threshold", SPEC);
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    let orders = workspace.queue_name("orders");
    let depth = format!("{orders}-depth");
    cloudwatch_client()
        .await
        .put_metric_alarm()
        .alarm_name(&depth)
        .namespace("AWS/SQS")
        .metric_name("ApproximateNumberOfMessagesVisible")
        .dimensions(
            Dimension::builder()
                .name("QueueName")
                .value(&orders)
                .build(),
        )
        .statistic(Statistic::Maximum)
        .period(60)
        .evaluation_periods(3)
        .threshold(5.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("notBreaching")
        .alarm_description(format!(
            "{orders} has more than 250 visible messages. Managed by sqsform."
        ))
        .send()
        .await
        .expect("change threshold");

    let drift = workspace.run(&["drift"]);
    drift.expect_code(2);
    assert!(
        drift.stdout.contains(&format!(
            "! alarm {depth}: changed\n      Threshold: expected 250, actual 5\n"
        )),
        "{}",
        drift.stdout
    );

    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    let alarms = alarms_with_prefix(&depth).await;
    assert_eq!(find(&alarms, &depth).threshold, Some(250.0));
    workspace.run(&["drift"]).expect_code(0);
}

#[tokio::test]
async fn changed_dashboard_is_drift() {
    let workspace = Workspace::new("dashboard-drift", SPEC);
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    let name = format!("driversklub-{}-queues", workspace.environment);
    cloudwatch_client()
        .await
        .put_dashboard()
        .dashboard_name(&name)
        .dashboard_body(r#"{"widgets":[]}"#)
        .send()
        .await
        .expect("put dashboard");

    let drift = workspace.run(&["drift"]);
    drift.expect_code(2);
    assert!(
        drift
            .stdout
            .contains(&format!("! dashboard {name}: changed")),
        "{}",
        drift.stdout
    );
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    workspace.run(&["drift"]).expect_code(0);
}

#[tokio::test]
async fn unowned_alarm_with_prefix_is_left_alone() {
    let workspace = Workspace::new("alarm-stray", SPEC);
    let stray = format!("driversklub-{}-hand-made", workspace.environment);
    cloudwatch_client()
        .await
        .put_metric_alarm()
        .alarm_name(&stray)
        .namespace("AWS/SQS")
        .metric_name("NumberOfMessagesSent")
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::LessThanThreshold)
        .send()
        .await
        .expect("create stray alarm");

    let apply = workspace.run(&["apply", "--auto-approve", "--allow-delete"]);
    apply.expect_code(0);
    assert!(apply.stdout.contains(&format!("Alarms left alone (prefix matches, but neither in the spec nor tagged as owned): {stray}")), "{}", apply.stdout);
    assert_eq!(alarms_with_prefix(&stray).await.len(), 1);
}
