//! Integration tests of the CloudWatch calls of `AwsCloud` against the local AWS emulator
//! (moto).
//!
//! Alarm and dashboard names contain the run id, because moto keeps its state between runs.
//! Tests named `moto_…` pin a moto 5.2.5 behaviour that differs from CloudWatch. Each
//! documents what CloudWatch does instead and fails once moto behaves like CloudWatch. Where
//! the emulator cannot produce CloudWatch's behaviour, a unit test in `src/cloud` covers it.

mod common;

use std::collections::BTreeMap;

use sqsform::cloud::aws::AwsCloud;
use sqsform::cloud::{Cloud, CloudError, LiveAlarm, MetricAlarm, Tags};
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

/// Returns an alarm or dashboard name unique to this run.
fn unique_name(label: &str) -> String {
    format!("sqsform-it-{}-{label}", common::current_run_id())
}

/// Returns the ARN of an SNS topic that is never created.
fn topic_arn(topic: &str) -> String {
    format!("arn:aws:sns:{}:{}:{topic}", common::REGION, common::ACCOUNT)
}

/// Returns the ARN CloudWatch gives an alarm of the emulator's account and region.
fn alarm_arn(name: &str) -> String {
    format!(
        "arn:aws:cloudwatch:{}:{}:alarm:{name}",
        common::REGION,
        common::ACCOUNT
    )
}

/// Returns an alarm on the queue depth of `queue`, with no description, actions or unit.
fn depth_alarm(name: &str, queue: &str) -> MetricAlarm {
    MetricAlarm {
        name: name.to_string(),
        description: None,
        namespace: "AWS/SQS".to_string(),
        metric_name: "ApproximateNumberOfMessagesVisible".to_string(),
        dimensions: BTreeMap::from([("QueueName".to_string(), queue.to_string())]),
        statistic: Some("Maximum".to_string()),
        extended_statistic: None,
        period_seconds: 60,
        evaluation_periods: 5,
        datapoints_to_alarm: None,
        threshold: 1000.0,
        comparison_operator: "GreaterThanOrEqualToThreshold".to_string(),
        treat_missing_data: None,
        alarm_actions: Vec::new(),
        ok_actions: Vec::new(),
        insufficient_data_actions: Vec::new(),
        actions_enabled: true,
        unit: None,
    }
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

/// Puts `alarm` with `tags` and returns it as DescribeAlarms returns it.
async fn put_and_describe(cloud: &AwsCloud, alarm: &MetricAlarm, tags: &Tags) -> LiveAlarm {
    cloud
        .put_metric_alarm(alarm, tags)
        .await
        .unwrap_or_else(|error| panic!("put alarm {}: {error:?}", alarm.name));
    let mut described = cloud.describe_alarms(&alarm.name).await.unwrap();
    described.retain(|live| live.alarm.name == alarm.name);
    assert_eq!(described.len(), 1, "{described:?}");
    described.remove(0)
}

#[tokio::test]
async fn alarm_round_trips_every_field() {
    let cloud = connect().await;
    let name = unique_name("every-field");
    // The topics do not exist: moto 5.2.5 neither checks that an action's target exists nor
    // that an action is an ARN.
    let alarm = MetricAlarm {
        name: name.clone(),
        description: Some("Oldest message of orders is older than five minutes".to_string()),
        namespace: "AWS/SQS".to_string(),
        metric_name: "ApproximateAgeOfOldestMessage".to_string(),
        dimensions: BTreeMap::from([
            ("QueueName".to_string(), "orders".to_string()),
            ("Environment".to_string(), "prod".to_string()),
        ]),
        statistic: Some("Maximum".to_string()),
        extended_statistic: None,
        period_seconds: 300,
        evaluation_periods: 3,
        datapoints_to_alarm: Some(2),
        threshold: 299.5,
        comparison_operator: "GreaterThanThreshold".to_string(),
        treat_missing_data: Some("notBreaching".to_string()),
        alarm_actions: vec![topic_arn("oncall"), topic_arn("orders-team")],
        ok_actions: vec![topic_arn("oncall-resolved")],
        insufficient_data_actions: vec![topic_arn("orders-no-data")],
        actions_enabled: false,
        unit: Some("Seconds".to_string()),
    };

    let live = put_and_describe(&cloud, &alarm, &Tags::new()).await;

    assert_eq!(live.arn, alarm_arn(&name));
    let described = &live.alarm;
    assert_eq!(described.name, alarm.name);
    assert_eq!(described.description, alarm.description);
    assert_eq!(described.namespace, alarm.namespace);
    assert_eq!(described.metric_name, alarm.metric_name);
    assert_eq!(described.dimensions, alarm.dimensions);
    assert_eq!(described.statistic, alarm.statistic);
    assert_eq!(described.extended_statistic, alarm.extended_statistic);
    assert_eq!(described.period_seconds, alarm.period_seconds);
    assert_eq!(described.evaluation_periods, alarm.evaluation_periods);
    assert_eq!(described.datapoints_to_alarm, alarm.datapoints_to_alarm);
    assert_eq!(described.threshold, alarm.threshold);
    assert_eq!(described.comparison_operator, alarm.comparison_operator);
    assert_eq!(described.treat_missing_data, alarm.treat_missing_data);
    assert_eq!(described.alarm_actions, alarm.alarm_actions);
    assert_eq!(described.ok_actions, alarm.ok_actions);
    assert_eq!(
        described.insufficient_data_actions,
        alarm.insufficient_data_actions
    );
    assert_eq!(described.actions_enabled, alarm.actions_enabled);
    assert_eq!(described.unit, alarm.unit);
    assert_eq!(*described, alarm);
}

#[tokio::test]
async fn alarm_without_dimensions_round_trips() {
    let cloud = connect().await;
    let alarm = MetricAlarm {
        dimensions: BTreeMap::new(),
        namespace: "Sqsform/Test".to_string(),
        metric_name: "FailedDeliveries".to_string(),
        statistic: Some("Sum".to_string()),
        ..depth_alarm(&unique_name("no-dimensions"), "orders")
    };

    let live = put_and_describe(&cloud, &alarm, &Tags::new()).await;

    assert_eq!(live.alarm.dimensions, BTreeMap::new());
    assert_eq!(live.alarm, alarm);
}

#[tokio::test]
async fn extended_statistic_round_trips() {
    let cloud = connect().await;
    let alarm = MetricAlarm {
        statistic: None,
        extended_statistic: Some("p99".to_string()),
        ..depth_alarm(&unique_name("p99"), "orders")
    };

    let live = put_and_describe(&cloud, &alarm, &Tags::new()).await;

    assert_eq!(live.alarm.statistic, None);
    assert_eq!(live.alarm.extended_statistic.as_deref(), Some("p99"));
    assert_eq!(live.alarm, alarm);
}

#[tokio::test]
async fn put_replaces_whole_definition() {
    let cloud = connect().await;
    let name = unique_name("replace");
    let first = MetricAlarm {
        description: Some("first definition".to_string()),
        alarm_actions: vec![topic_arn("oncall")],
        ok_actions: vec![topic_arn("oncall")],
        treat_missing_data: Some("breaching".to_string()),
        ..depth_alarm(&name, "orders")
    };
    cloud.put_metric_alarm(&first, &Tags::new()).await.unwrap();
    let second = MetricAlarm {
        dimensions: BTreeMap::from([("QueueName".to_string(), "payments".to_string())]),
        threshold: 50.0,
        ..depth_alarm(&name, "payments")
    };

    let live = put_and_describe(&cloud, &second, &Tags::new()).await;

    assert_eq!(live.alarm.description, None);
    assert_eq!(live.alarm.alarm_actions, Vec::<String>::new());
    assert_eq!(live.alarm.treat_missing_data, None);
    assert_eq!(live.alarm, second);
}

#[tokio::test]
async fn describe_alarms_filters_by_prefix() {
    let cloud = connect().await;
    let prefix = unique_name("prefix-match-");
    for label in ["a", "b"] {
        let alarm = depth_alarm(&format!("{prefix}{label}"), "orders");
        cloud.put_metric_alarm(&alarm, &Tags::new()).await.unwrap();
    }
    let other = depth_alarm(&unique_name("prefix-other"), "orders");
    cloud.put_metric_alarm(&other, &Tags::new()).await.unwrap();

    let described = cloud.describe_alarms(&prefix).await.unwrap();

    let mut names: Vec<String> = described.into_iter().map(|live| live.alarm.name).collect();
    names.sort();
    assert_eq!(names, [format!("{prefix}a"), format!("{prefix}b")]);
}

/// CloudWatch returns at most 100 alarms per DescribeAlarms page, so 120 alarms take two
/// calls. moto 5.2.5 ignores MaxRecords and returns every alarm in one page without a
/// NextToken, so the emulator never exercises the paging. The unit test
/// `describe_alarms_follows_next_token` in src/cloud/aws.rs covers it with two canned pages.
#[tokio::test]
async fn moto_describe_alarms_returns_one_page() {
    let cloud = connect().await;
    let prefix = unique_name("paging-");
    for index in 0..120 {
        let alarm = depth_alarm(&format!("{prefix}{index:03}"), "orders");
        cloud.put_metric_alarm(&alarm, &Tags::new()).await.unwrap();
    }
    let before = cloud.api_calls();

    let described = cloud.describe_alarms(&prefix).await.unwrap();

    let calls = cloud.api_calls().since(&before);
    assert_eq!(described.len(), 120);
    assert_eq!(calls.get("cloudwatch:DescribeAlarms"), 1);
    assert_eq!(calls.total, 1);
}

#[tokio::test]
async fn tags_apply_on_create() {
    let cloud = connect().await;
    let name = unique_name("tags-on-create");
    let created_tags = tags(&[("sqsform:environment", "prod"), ("team", "orders")]);
    cloud
        .put_metric_alarm(&depth_alarm(&name, "orders"), &created_tags)
        .await
        .unwrap();

    let listed = cloud.list_alarm_tags(&alarm_arn(&name)).await.unwrap();

    assert_eq!(listed, created_tags);
}

#[tokio::test]
async fn tag_and_untag_alarm() {
    let cloud = connect().await;
    let name = unique_name("tag-untag");
    let arn = alarm_arn(&name);
    cloud
        .put_metric_alarm(&depth_alarm(&name, "orders"), &tags(&[("team", "orders")]))
        .await
        .unwrap();

    cloud
        .tag_alarm(&arn, &tags(&[("team", "payments"), ("tier", "gold")]))
        .await
        .unwrap();
    let tagged = cloud.list_alarm_tags(&arn).await.unwrap();
    cloud
        .untag_alarm(&arn, &["tier".to_string()])
        .await
        .unwrap();
    let untagged = cloud.list_alarm_tags(&arn).await.unwrap();

    assert_eq!(tagged, tags(&[("team", "payments"), ("tier", "gold")]));
    assert_eq!(untagged, tags(&[("team", "payments")]));
}

#[tokio::test]
async fn put_without_tags_keeps_tags() {
    let cloud = connect().await;
    let name = unique_name("keep-tags");
    let created_tags = tags(&[("team", "orders")]);
    cloud
        .put_metric_alarm(&depth_alarm(&name, "orders"), &created_tags)
        .await
        .unwrap();
    let changed = MetricAlarm {
        threshold: 10.0,
        ..depth_alarm(&name, "orders")
    };

    cloud
        .put_metric_alarm(&changed, &Tags::new())
        .await
        .unwrap();

    let listed = cloud.list_alarm_tags(&alarm_arn(&name)).await.unwrap();
    assert_eq!(listed, created_tags);
}

/// CloudWatch ignores the tags of a PutMetricAlarm that updates an existing alarm, as the
/// PutMetricAlarm reference states, and only TagResource and UntagResource change them. moto 5.2.5
/// adds the given tags to the alarm's tags, overwriting values of the same key. The unit test
/// `tags_apply_on_create_only` in src/cloud/memory.rs covers CloudWatch's behaviour.
#[tokio::test]
async fn moto_put_metric_alarm_merges_tags_on_update() {
    let cloud = connect().await;
    let name = unique_name("tags-on-update");
    let alarm = depth_alarm(&name, "orders");
    cloud
        .put_metric_alarm(&alarm, &tags(&[("team", "orders"), ("owner", "alice")]))
        .await
        .unwrap();

    cloud
        .put_metric_alarm(&alarm, &tags(&[("team", "payments"), ("tier", "gold")]))
        .await
        .unwrap();

    let listed = cloud.list_alarm_tags(&alarm_arn(&name)).await.unwrap();
    assert_eq!(
        listed,
        tags(&[("owner", "alice"), ("team", "payments"), ("tier", "gold")])
    );
}

#[tokio::test]
async fn tag_missing_alarm_is_not_found() {
    let cloud = connect().await;
    let arn = alarm_arn(&unique_name("never-created-tag"));

    let result = cloud.tag_alarm(&arn, &tags(&[("team", "orders")])).await;

    assert!(
        matches!(result, Err(CloudError::AlarmNotFound { ref alarm }) if *alarm == arn),
        "{result:?}"
    );
}

/// CloudWatch returns ResourceNotFoundException from ListTagsForResource on an ARN of no
/// alarm, which `AwsCloud` maps to `AlarmNotFound` (unit test
/// `missing_alarm_tags_are_not_found` in src/cloud/aws.rs). moto 5.2.5 returns an empty tag
/// list.
#[tokio::test]
async fn moto_lists_no_tags_for_missing_alarm() {
    let cloud = connect().await;
    let arn = alarm_arn(&unique_name("never-created-list"));

    let listed = cloud.list_alarm_tags(&arn).await;

    assert_eq!(listed.unwrap(), Tags::new());
}

/// moto 5.2.5 keeps an alarm's tags when DeleteAlarms deletes it, so an alarm created again
/// with the same name and no tags reports the old tags. CloudWatch deletes the tags with the
/// alarm.
#[tokio::test]
async fn moto_recreated_alarm_keeps_old_tags() {
    let cloud = connect().await;
    let name = unique_name("recreated");
    let alarm = depth_alarm(&name, "orders");
    cloud
        .put_metric_alarm(&alarm, &tags(&[("team", "orders")]))
        .await
        .unwrap();
    cloud
        .delete_alarms(std::slice::from_ref(&name))
        .await
        .unwrap();

    cloud.put_metric_alarm(&alarm, &Tags::new()).await.unwrap();

    let listed = cloud.list_alarm_tags(&alarm_arn(&name)).await.unwrap();
    assert_eq!(listed, tags(&[("team", "orders")]));
}

/// CloudWatch's UntagResource reference returns ResourceNotFoundException when the resource
/// does not exist. moto 5.2.5 also returns it for an existing alarm that has never had tags,
/// so `AwsCloud` reports `AlarmNotFound` for an alarm that exists.
#[tokio::test]
async fn moto_untag_never_tagged_alarm_is_not_found() {
    let cloud = connect().await;
    let name = unique_name("never-tagged");
    let arn = alarm_arn(&name);
    cloud
        .put_metric_alarm(&depth_alarm(&name, "orders"), &Tags::new())
        .await
        .unwrap();

    let result = cloud.untag_alarm(&arn, &["team".to_string()]).await;

    assert!(
        matches!(result, Err(CloudError::AlarmNotFound { ref alarm }) if *alarm == arn),
        "{result:?}"
    );
}

#[tokio::test]
async fn untag_last_tag_leaves_none() {
    let cloud = connect().await;
    let name = unique_name("untag-last");
    let arn = alarm_arn(&name);
    cloud
        .put_metric_alarm(&depth_alarm(&name, "orders"), &tags(&[("team", "orders")]))
        .await
        .unwrap();

    cloud
        .untag_alarm(&arn, &["team".to_string()])
        .await
        .unwrap();
    let second = cloud.untag_alarm(&arn, &["team".to_string()]).await;

    assert!(second.is_ok(), "{second:?}");
    assert_eq!(cloud.list_alarm_tags(&arn).await.unwrap(), Tags::new());
}

#[tokio::test]
async fn delete_alarms_ignores_missing_names() {
    let cloud = connect().await;
    let deleted = unique_name("delete-me");
    let kept = unique_name("delete-keep");
    for name in [&deleted, &kept] {
        cloud
            .put_metric_alarm(&depth_alarm(name, "orders"), &Tags::new())
            .await
            .unwrap();
    }

    cloud
        .delete_alarms(&[deleted.clone(), unique_name("delete-never-created")])
        .await
        .unwrap();

    let remaining: Vec<String> = cloud
        .describe_alarms(&unique_name("delete-"))
        .await
        .unwrap()
        .into_iter()
        .map(|live| live.alarm.name)
        .collect();
    assert_eq!(remaining, [kept]);
}

#[tokio::test]
async fn delete_alarms_sends_batches_of_100() {
    let cloud = connect().await;
    let prefix = unique_name("batch-delete-");
    let names: Vec<String> = (0..150)
        .map(|index| format!("{prefix}{index:03}"))
        .collect();
    for name in &names {
        cloud
            .put_metric_alarm(&depth_alarm(name, "orders"), &Tags::new())
            .await
            .unwrap();
    }
    let before = cloud.api_calls();

    cloud.delete_alarms(&names).await.unwrap();

    let calls = cloud.api_calls().since(&before);
    assert_eq!(calls.get("cloudwatch:DeleteAlarms"), 2);
    assert_eq!(cloud.describe_alarms(&prefix).await.unwrap(), []);
}

/// The PutMetricAlarm reference requires either Statistic or ExtendedStatistic, but not both,
/// and a Period of 10, 20, 30 or a multiple of 60 seconds. moto 5.2.5 stores such alarms as
/// given. `MemoryCloud` rejects them, as CloudWatch's reference describes.
#[tokio::test]
async fn moto_accepts_invalid_alarm_parameters() {
    let cloud = connect().await;
    let alarm = MetricAlarm {
        statistic: Some("Maximum".to_string()),
        extended_statistic: Some("p99".to_string()),
        period_seconds: 45,
        ..depth_alarm(&unique_name("invalid-parameters"), "orders")
    };

    let live = put_and_describe(&cloud, &alarm, &Tags::new()).await;

    assert_eq!(live.alarm, alarm);
}

#[tokio::test]
async fn dashboard_round_trips() {
    let cloud = connect().await;
    let name = unique_name("dashboard");
    let body = r#"{"widgets":[{"type":"text","x":0,"y":0,"width":24,"height":2,"properties":{"markdown":"Managed by sqsform"}}]}"#;

    cloud.put_dashboard(&name, body).await.unwrap();
    let stored = cloud.get_dashboard(&name).await.unwrap();
    cloud.delete_dashboard(&name).await.unwrap();
    let deleted = cloud.get_dashboard(&name).await.unwrap();

    assert_eq!(stored.as_deref(), Some(body));
    assert_eq!(deleted, None);
    let calls = cloud.api_calls();
    assert_eq!(calls.get("cloudwatch:PutDashboard"), 1);
    assert_eq!(calls.get("cloudwatch:GetDashboard"), 2);
    assert_eq!(calls.get("cloudwatch:DeleteDashboards"), 1);
}

#[tokio::test]
async fn put_dashboard_replaces_body() {
    let cloud = connect().await;
    let name = unique_name("dashboard-replace");
    let replacement = r#"{"widgets":[]}"#;
    cloud
        .put_dashboard(&name, r#"{"widgets":[{"type":"text","x":0,"y":0,"width":6,"height":2,"properties":{"markdown":"old"}}]}"#)
        .await
        .unwrap();

    cloud.put_dashboard(&name, replacement).await.unwrap();

    let stored = cloud.get_dashboard(&name).await.unwrap();
    assert_eq!(stored.as_deref(), Some(replacement));
}

#[tokio::test]
async fn missing_dashboard_is_none() {
    let cloud = connect().await;

    let body = cloud
        .get_dashboard(&unique_name("dashboard-never-created"))
        .await
        .unwrap();

    assert_eq!(body, None);
}

#[tokio::test]
async fn deleting_missing_dashboard_succeeds() {
    let cloud = connect().await;

    let result = cloud
        .delete_dashboard(&unique_name("dashboard-never-deleted"))
        .await;

    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn invalid_json_dashboard_is_rejected() {
    let cloud = connect().await;
    let name = unique_name("dashboard-invalid-json");

    let result = cloud.put_dashboard(&name, "{not json").await;

    let Err(CloudError::InvalidDashboard {
        dashboard,
        messages,
    }) = result
    else {
        panic!("expected InvalidDashboard, got {result:?}");
    };
    assert_eq!(dashboard, name);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(cloud.get_dashboard(&name).await.unwrap(), None);
}

/// CloudWatch's dashboard body reference requires a `widgets` array, which may be empty.
/// moto 5.2.5 only checks that the body is JSON, so it stores `{}`. `MemoryCloud` rejects it.
#[tokio::test]
async fn moto_accepts_dashboard_without_widgets() {
    let cloud = connect().await;
    let name = unique_name("dashboard-no-widgets");

    cloud.put_dashboard(&name, "{}").await.unwrap();

    assert_eq!(
        cloud.get_dashboard(&name).await.unwrap().as_deref(),
        Some("{}")
    );
}

/// The PutDashboard reference allows only A-Z, a-z, 0-9, `-` and `_` in a dashboard name.
/// moto 5.2.5 stores a dashboard under any name. `MemoryCloud` rejects such names.
#[tokio::test]
async fn moto_accepts_invalid_dashboard_name() {
    let cloud = connect().await;
    let name = format!("{} with spaces", unique_name("dashboard"));

    cloud
        .put_dashboard(&name, r#"{"widgets":[]}"#)
        .await
        .unwrap();

    assert!(cloud.get_dashboard(&name).await.unwrap().is_some());
}
