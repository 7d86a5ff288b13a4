//! Tests of the alarm rules through `load_from_text`, each with its exact message.

use crate::spec::{SpecError, load_from_text};

const ENVIRONMENT: &str = "region: us-east-1\naccount_id: \"123456789012\"\n";

fn errors_with(spec: &str, environment: &str) -> Vec<String> {
    match load_from_text("queues.yaml", spec, "dev", environment) {
        Err(SpecError::Invalid { diagnostics }) => {
            diagnostics.iter().map(ToString::to_string).collect()
        }
        Ok(loaded) => panic!(
            "expected errors, but the spec loaded with warnings {:?}",
            loaded.warnings
        ),
        Err(other) => panic!("unexpected error {other}"),
    }
}

fn errors(spec: &str) -> Vec<String> {
    errors_with(spec, ENVIRONMENT)
}

fn queue_with_alarms(alarms: &str) -> String {
    format!("project: shop\nqueues:\n  orders:\n    alarms:\n{alarms}")
}

#[test]
fn invalid_period_is_rejected() {
    assert_eq!(
        errors(&queue_with_alarms("      depth: {period: 45}\n")),
        vec!["queues.yaml:5:23: queues.orders.alarms.depth.period: period must be 10s, 20s, 30s or a multiple of 60s, got 45 seconds".to_string()]
    );
}

#[test]
fn high_resolution_periods_are_accepted() {
    for period in ["10s", "20s", "30s", "2m", "1h"] {
        let spec = queue_with_alarms(&format!(
            "      depth: {{period: {period}, evaluation_periods: 2}}\n"
        ));
        assert!(
            load_from_text("queues.yaml", &spec, "dev", ENVIRONMENT).is_ok(),
            "{period}"
        );
    }
}

#[test]
fn evaluation_span_over_one_day_is_rejected() {
    assert_eq!(
        errors(&queue_with_alarms("      depth: {period: 30m, evaluation_periods: 49}\n")),
        vec!["queues.yaml:5:48: queues.orders.alarms.depth.evaluation_periods: period × evaluation_periods is 1470m but CloudWatch allows at most 1d for a period under one hour".to_string()]
    );
}

#[test]
fn hourly_span_may_reach_seven_days() {
    let spec = queue_with_alarms("      depth: {period: 1h, evaluation_periods: 168}\n");
    assert!(load_from_text("queues.yaml", &spec, "dev", ENVIRONMENT).is_ok());
    assert_eq!(
        errors(&queue_with_alarms("      depth: {period: 1h, evaluation_periods: 169}\n")),
        vec!["queues.yaml:5:47: queues.orders.alarms.depth.evaluation_periods: period × evaluation_periods is 169h but CloudWatch allows at most 7d for a period of at least one hour".to_string()]
    );
}

#[test]
fn datapoints_above_evaluation_periods() {
    assert_eq!(
        errors(&queue_with_alarms("      oldest_message_age: {evaluation_periods: 3, datapoints_to_alarm: 4}\n")),
        vec!["queues.yaml:5:72: queues.orders.alarms.oldest_message_age.datapoints_to_alarm: datapoints_to_alarm must be between 1 and evaluation_periods (3), got 4".to_string()]
    );
}

#[test]
fn unknown_treat_missing_data() {
    assert_eq!(
        errors(&queue_with_alarms("      depth: {treat_missing_data: zero}\n")),
        vec!["queues.yaml:5:35: queues.orders.alarms.depth.treat_missing_data: treat_missing_data must be one of breaching, notBreaching, ignore, missing, got \"zero\"".to_string()]
    );
}

#[test]
fn wrong_queue_name_dimension() {
    let alarms = "      custom:\n        sent:\n          namespace: AWS/SQS\n          metric_name: NumberOfMessagesSent\n          statistic: Sum\n          threshold: 1\n          dimensions: {QueueName: orders}\n";
    assert_eq!(
        errors(&queue_with_alarms(alarms)),
        vec!["queues.yaml:11:35: queues.orders.alarms.custom.sent.dimensions.QueueName: QueueName dimension \"orders\" is not the queue's final name \"shop-dev-orders\"; leave QueueName out and sqsform fills it in".to_string()]
    );
}

#[test]
fn final_queue_name_dimension_is_accepted() {
    let alarms = "      custom:\n        sent:\n          namespace: AWS/SQS\n          metric_name: NumberOfMessagesSent\n          statistic: Sum\n          threshold: 1\n          dimensions: {QueueName: shop-dev-orders}\n";
    let loaded = load_from_text(
        "queues.yaml",
        &queue_with_alarms(alarms),
        "dev",
        ENVIRONMENT,
    )
    .expect("valid");
    let sent = loaded
        .desired
        .alarms
        .iter()
        .find(|alarm| alarm.template == "sent")
        .expect("custom alarm");
    assert_eq!(
        sent.alarm.dimensions.get("QueueName").map(String::as_str),
        Some("shop-dev-orders")
    );
}

#[test]
fn custom_alarm_needs_one_statistic() {
    let alarms = "      custom:\n        latency:\n          namespace: Shop\n          metric_name: Latency\n          statistic: Average\n          extended_statistic: p99\n          threshold: 1\n";
    assert_eq!(
        errors(&queue_with_alarms(alarms)),
        vec!["queues.yaml:7:11: queues.orders.alarms.custom.latency: custom alarm \"latency\" needs exactly one of statistic (such as Average) and extended_statistic (such as p99)".to_string()]
    );
}

#[test]
fn custom_alarm_needs_metric_and_threshold() {
    let alarms = "      custom:\n        latency:\n          statistic: Average\n";
    assert_eq!(
        errors(&queue_with_alarms(alarms)),
        vec![
            "queues.yaml:7:11: queues.orders.alarms.custom.latency: custom alarm \"latency\" needs a namespace, such as AWS/SQS or the one your service publishes to".to_string(),
            "queues.yaml:7:11: queues.orders.alarms.custom.latency: custom alarm \"latency\" needs a metric_name".to_string(),
            "queues.yaml:7:11: queues.orders.alarms.custom.latency: custom alarm \"latency\" needs a threshold".to_string(),
        ]
    );
}

#[test]
fn duplicate_alarm_name_is_rejected() {
    let alarms = "      custom:\n        depth:\n          namespace: Shop\n          metric_name: Backlog\n          statistic: Maximum\n          threshold: 1\n";
    assert_eq!(
        errors(&queue_with_alarms(alarms)),
        vec!["queues.yaml:6:9: queues.orders.alarms.custom: alarm name \"shop-dev-orders-depth\" is used twice; rename the custom alarm, because template alarms end in -depth, -oldest-message-age and -not-empty".to_string()]
    );
}

#[test]
fn foreign_topic_is_rejected() {
    let environment = format!(
        "{ENVIRONMENT}alarm_actions:\n  alarm: [arn:aws:sns:eu-west-1:123456789012:oncall]\n  ok: [not-an-arn]\n"
    );
    assert_eq!(
        errors_with("project: shop\nqueues:\n  orders: {}\n", &environment),
        vec![
            "environments/dev.yaml:4:11: alarm_actions.alarm[0]: topic \"arn:aws:sns:eu-west-1:123456789012:oncall\" in alarm_actions.alarm is not in this environment's region us-east-1 and account 123456789012; CloudWatch notifies topics of its own region and account".to_string(),
            "environments/dev.yaml:5:8: alarm_actions.ok[0]: invalid SNS topic ARN \"not-an-arn\" in alarm_actions.ok: expected arn:aws:sns:<region>:<account>:<topic>".to_string(),
        ]
    );
}

#[test]
fn more_than_five_actions_is_rejected() {
    let topics: Vec<String> = (0..6)
        .map(|index| format!("arn:aws:sns:us-east-1:123456789012:t{index}"))
        .collect();
    let environment = format!(
        "{ENVIRONMENT}alarm_actions:\n  alarm: [{}]\n",
        topics.join(", ")
    );
    assert_eq!(
        errors_with("project: shop\nqueues:\n  orders: {}\n", &environment),
        vec!["environments/dev.yaml:4:10: alarm_actions.alarm: alarm_actions.alarm has 6 topics; CloudWatch allows at most 5 per list".to_string()]
    );
}

#[test]
fn templates_default_to_not_breaching() {
    let loaded = load_from_text(
        "queues.yaml",
        "project: shop\nqueues:\n  orders:\n    dead_letter: {max_receive_count: 3}\n",
        "dev",
        ENVIRONMENT,
    )
    .expect("valid");
    let templates: Vec<(&str, f64, Option<&str>)> = loaded
        .desired
        .alarms
        .iter()
        .map(|alarm| {
            (
                alarm.template.as_str(),
                alarm.alarm.threshold,
                alarm.alarm.treat_missing_data.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        templates,
        vec![
            ("depth", 1000.0, Some("notBreaching")),
            ("oldest_message_age", 900.0, Some("notBreaching")),
            ("dead_letter_not_empty", 0.0, Some("notBreaching")),
        ]
    );
}

#[test]
fn dashboard_can_be_turned_off() {
    let loaded = load_from_text(
        "queues.yaml",
        "project: shop\nqueues:\n  orders: {}\n",
        "dev",
        &format!("{ENVIRONMENT}dashboard: false\n"),
    )
    .expect("valid");
    assert_eq!(loaded.desired.dashboard, None);
}

#[test]
fn duplicate_topic_is_rejected() {
    let environment = format!(
        "{ENVIRONMENT}alarm_actions:\n  alarm: [arn:aws:sns:us-east-1:123456789012:oncall, arn:aws:sns:us-east-1:123456789012:oncall]\n"
    );
    assert_eq!(
        errors_with("project: shop\nqueues:\n  orders: {}\n", &environment),
        vec!["environments/dev.yaml:4:54: alarm_actions.alarm[1]: topic \"arn:aws:sns:us-east-1:123456789012:oncall\" is listed twice in alarm_actions.alarm".to_string()]
    );
}

#[test]
fn infinite_threshold_and_bad_percentile_are_rejected() {
    let alarms = "      depth: {threshold: .inf}\n      custom:\n        latency:\n          namespace: Shop\n          metric_name: Latency\n          extended_statistic: p101\n          threshold: 1\n";
    let messages: Vec<String> = errors(&queue_with_alarms(alarms))
        .into_iter()
        .map(|line| line.splitn(3, ": ").nth(2).unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        messages,
        vec![
            "depth threshold must be a finite number of messages, at least 0, got inf".to_string(),
            "invalid extended_statistic \"p101\": expected a percentile such as p99 or p99.9"
                .to_string(),
        ]
    );
}

#[test]
fn dashboard_over_widget_limit_is_rejected() {
    let queues: String = (0..126)
        .map(|index| format!("  q{index}: {{dead_letter: {{max_receive_count: 3}}}}\n"))
        .collect();
    let spec = format!("project: shop\nqueues:\n{queues}");
    assert_eq!(
        errors(&spec),
        vec!["queues.yaml:3:3: queues: the dashboard would have 504 widgets; CloudWatch allows at most 500 per dashboard, so set dashboard: false for this environment".to_string()]
    );
}
