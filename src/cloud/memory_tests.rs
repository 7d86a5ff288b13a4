//! Unit tests of the in-memory cloud.

use super::*;

const ACCOUNT: &str = "123456789012";
const PATH: &str = "/sqsform/test/";
const DOCUMENT: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:123456789012:orders"}]}"#;

async fn cloud_with_policy() -> (MemoryCloud, String) {
    let cloud = MemoryCloud::new(ACCOUNT);
    let arn = cloud
        .create_policy("orders-producer", PATH, DOCUMENT, &Tags::new())
        .await
        .expect("create policy");
    (cloud, arn)
}

#[tokio::test]
async fn policy_arn_joins_path_and_name() {
    let (_, arn) = cloud_with_policy().await;
    assert_eq!(
        arn,
        "arn:aws:iam::123456789012:policy/sqsform/test/orders-producer"
    );
}

#[tokio::test]
async fn sixth_version_exceeds_limit() {
    let (cloud, arn) = cloud_with_policy().await;
    for expected in ["v2", "v3", "v4", "v5"] {
        let version = cloud.create_policy_version(&arn, DOCUMENT).await;
        assert_eq!(version.expect("version under the limit"), expected);
    }

    let sixth = cloud.create_policy_version(&arn, DOCUMENT).await;

    assert!(
        matches!(sixth, Err(CloudError::IamLimitExceeded { ref policy, .. }) if *policy == arn),
        "{sixth:?}"
    );
    assert_eq!(cloud.list_policy_versions(&arn).await.unwrap().len(), 5);
}

#[tokio::test]
async fn version_ids_are_not_reused() {
    let (cloud, arn) = cloud_with_policy().await;
    cloud.create_policy_version(&arn, DOCUMENT).await.unwrap();

    cloud.delete_policy_version(&arn, "v1").await.unwrap();
    let next = cloud.create_policy_version(&arn, DOCUMENT).await.unwrap();

    assert_eq!(next, "v3");
    let versions = cloud.list_policy_versions(&arn).await.unwrap();
    let ids: Vec<&str> = versions
        .iter()
        .map(|version| version.version_id.as_str())
        .collect();
    assert_eq!(ids, ["v2", "v3"]);
    assert!(versions[1].is_default);
    assert!(versions[0].created_epoch_seconds < versions[1].created_epoch_seconds);
}

#[tokio::test]
async fn default_version_delete_conflicts() {
    let (cloud, arn) = cloud_with_policy().await;

    let result = cloud.delete_policy_version(&arn, "v1").await;

    let Err(CloudError::Api { operation, source }) = result else {
        panic!("expected a DeleteConflict Api error, got {result:?}");
    };
    assert_eq!(operation, "iam:DeletePolicyVersion");
    assert!(source.to_string().starts_with("DeleteConflict"), "{source}");
}

#[tokio::test]
async fn missing_version_is_not_found() {
    let (cloud, arn) = cloud_with_policy().await;

    let result = cloud.delete_policy_version(&arn, "v7").await;

    assert!(
        matches!(
            result,
            Err(CloudError::IamNotFound {
                kind: "policy version",
                ..
            })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn attached_policy_delete_conflicts() {
    let (cloud, arn) = cloud_with_policy().await;
    cloud.seed_role("orders-service");
    cloud
        .attach_role_policy("orders-service", &arn)
        .await
        .unwrap();

    let result = cloud.delete_policy(&arn).await;

    let Err(CloudError::Api { operation, source }) = result else {
        panic!("expected a DeleteConflict Api error, got {result:?}");
    };
    assert_eq!(operation, "iam:DeletePolicy");
    assert!(source.to_string().contains("orders-service"), "{source}");
    assert_eq!(cloud.list_policies(PATH).await.unwrap().len(), 1);
}

#[tokio::test]
async fn policy_with_other_versions_delete_conflicts() {
    let (cloud, arn) = cloud_with_policy().await;
    cloud.create_policy_version(&arn, DOCUMENT).await.unwrap();

    let result = cloud.delete_policy(&arn).await;

    let Err(CloudError::Api { source, .. }) = result else {
        panic!("expected a DeleteConflict Api error, got {result:?}");
    };
    assert!(source.to_string().contains("v1"), "{source}");
}

#[tokio::test]
async fn detached_policy_deletes_after_versions() {
    let (cloud, arn) = cloud_with_policy().await;
    cloud.seed_role("orders-service");
    cloud
        .attach_role_policy("orders-service", &arn)
        .await
        .unwrap();
    cloud.create_policy_version(&arn, DOCUMENT).await.unwrap();

    cloud
        .detach_role_policy("orders-service", &arn)
        .await
        .unwrap();
    cloud.delete_policy_version(&arn, "v1").await.unwrap();
    cloud.delete_policy(&arn).await.unwrap();

    assert_eq!(cloud.list_policies(PATH).await.unwrap(), []);
}

#[tokio::test]
async fn attach_to_missing_role_is_not_found() {
    let (cloud, arn) = cloud_with_policy().await;

    let result = cloud.attach_role_policy("no-such-role", &arn).await;

    let Err(CloudError::IamNotFound { kind, name }) = result else {
        panic!("expected IamNotFound, got {result:?}");
    };
    assert_eq!(kind, "role");
    assert_eq!(name, "no-such-role");
    assert_eq!(
        cloud.list_policy_roles(&arn).await.unwrap(),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn attach_missing_policy_is_not_found() {
    let cloud = MemoryCloud::new(ACCOUNT);
    cloud.seed_role("orders-service");

    let result = cloud
        .attach_role_policy("orders-service", "arn:aws:iam::123456789012:policy/missing")
        .await;

    assert!(
        matches!(result, Err(CloudError::IamNotFound { kind: "policy", .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn attach_twice_lists_role_once() {
    let (cloud, arn) = cloud_with_policy().await;
    cloud.seed_role("orders-service");

    cloud
        .attach_role_policy("orders-service", &arn)
        .await
        .unwrap();
    cloud
        .attach_role_policy("orders-service", &arn)
        .await
        .unwrap();

    assert_eq!(
        cloud.list_policy_roles(&arn).await.unwrap(),
        ["orders-service"]
    );
}

#[tokio::test]
async fn detach_unattached_policy_is_not_found() {
    let (cloud, arn) = cloud_with_policy().await;
    cloud.seed_role("orders-service");

    let result = cloud.detach_role_policy("orders-service", &arn).await;

    assert!(
        matches!(
            result,
            Err(CloudError::IamNotFound {
                kind: "policy attachment",
                ..
            })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn role_exists_after_seeding() {
    let cloud = MemoryCloud::new(ACCOUNT);
    cloud.seed_role("orders-service");

    assert!(cloud.role_exists("orders-service").await.unwrap());
    assert!(!cloud.role_exists("payments-service").await.unwrap());
}

#[tokio::test]
async fn list_policies_filters_by_path_prefix() {
    let (cloud, arn) = cloud_with_policy().await;
    cloud
        .create_policy("other", "/elsewhere/", DOCUMENT, &Tags::new())
        .await
        .unwrap();

    let listed = cloud.list_policies("/sqsform/").await.unwrap();

    assert_eq!(
        listed,
        [ManagedPolicy {
            arn,
            name: "orders-producer".to_string(),
            path: PATH.to_string(),
            default_version_id: "v1".to_string(),
        }]
    );
}

#[tokio::test]
async fn document_is_url_encoded() {
    let (cloud, arn) = cloud_with_policy().await;

    let returned = cloud.get_policy_document(&arn, "v1").await.unwrap();

    assert!(returned.starts_with("%7B%22Version%22%3A"), "{returned}");
    let parsed = crate::policy::parse(&returned).unwrap();
    let original: serde_json::Value = serde_json::from_str(DOCUMENT).unwrap();
    assert_eq!(parsed, original);
}

#[tokio::test]
async fn duplicate_policy_name_is_rejected() {
    let (cloud, _) = cloud_with_policy().await;

    let result = cloud
        .create_policy("Orders-Producer", "/elsewhere/", DOCUMENT, &Tags::new())
        .await;

    let Err(CloudError::Api { source, .. }) = result else {
        panic!("expected an EntityAlreadyExists Api error, got {result:?}");
    };
    assert!(
        source.to_string().starts_with("EntityAlreadyExists"),
        "{source}"
    );
}

#[tokio::test]
async fn invalid_path_is_rejected() {
    let cloud = MemoryCloud::new(ACCOUNT);
    for path in ["sqsform", "/sqsform", "sqsform/", "/with space/"] {
        let result = cloud
            .create_policy("orders-producer", path, DOCUMENT, &Tags::new())
            .await;
        assert!(
            matches!(result, Err(CloudError::Api { .. })),
            "{path}: {result:?}"
        );
    }
}

#[tokio::test]
async fn document_with_principal_is_malformed() {
    let cloud = MemoryCloud::new(ACCOUNT);
    let document = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}}"#;

    let result = cloud
        .create_policy("orders-producer", PATH, document, &Tags::new())
        .await;

    assert!(
        matches!(result, Err(CloudError::MalformedPolicy { ref policy, .. }) if policy == "orders-producer"),
        "{result:?}"
    );
}

#[tokio::test]
async fn document_without_statement_is_malformed() {
    let (cloud, arn) = cloud_with_policy().await;

    let result = cloud
        .create_policy_version(&arn, r#"{"Version":"2012-10-17"}"#)
        .await;

    assert!(
        matches!(result, Err(CloudError::MalformedPolicy { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn oversized_document_exceeds_limit() {
    let cloud = MemoryCloud::new(ACCOUNT);
    let resources: Vec<String> = (0..200)
        .map(|index| format!("\"arn:aws:sqs:us-east-1:123456789012:queue-{index}\""))
        .collect();
    let document = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"sqs:SendMessage","Resource":[{}]}}]}}"#,
        resources.join(",")
    );

    let result = cloud
        .create_policy("orders-producer", PATH, &document, &Tags::new())
        .await;

    assert!(
        matches!(result, Err(CloudError::IamLimitExceeded { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn injected_malformed_policy_fails_once() {
    let (cloud, arn) = cloud_with_policy().await;
    cloud.inject("CreatePolicyVersion", InjectedFailure::MalformedPolicy, 1);

    let first = cloud.create_policy_version(&arn, DOCUMENT).await;
    let second = cloud.create_policy_version(&arn, DOCUMENT).await;

    assert!(
        matches!(first, Err(CloudError::MalformedPolicy { ref policy, .. }) if *policy == arn),
        "{first:?}"
    );
    assert_eq!(second.unwrap(), "v2");
}

#[tokio::test]
async fn injected_throttling_names_iam_operation() {
    let cloud = MemoryCloud::new(ACCOUNT);
    cloud.inject("ListPolicies", InjectedFailure::Throttled, 1);

    let result = cloud.list_policies("/").await;

    assert!(
        matches!(
            result,
            Err(CloudError::Throttled {
                operation: "iam:ListPolicies",
                ..
            })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn iam_calls_are_counted_by_operation() {
    let (cloud, arn) = cloud_with_policy().await;
    let before = cloud.api_calls();

    cloud.list_policies(PATH).await.unwrap();
    cloud.get_policy_document(&arn, "v1").await.unwrap();
    cloud.list_policy_roles(&arn).await.unwrap();

    let calls = cloud.api_calls().since(&before);
    assert_eq!(calls.total, 3);
    assert_eq!(calls.get("iam:ListPolicies"), 1);
    assert_eq!(calls.get("iam:GetPolicyVersion"), 1);
    assert_eq!(calls.get("iam:ListEntitiesForPolicy"), 1);
    assert_eq!(before.get("iam:CreatePolicy"), 1);
}

/// Returns an alarm on the age of the oldest message of a queue called `name`.
fn age_alarm(name: &str) -> MetricAlarm {
    MetricAlarm {
        name: name.to_string(),
        description: Some("Oldest message is older than five minutes".to_string()),
        namespace: "AWS/SQS".to_string(),
        metric_name: "ApproximateAgeOfOldestMessage".to_string(),
        dimensions: BTreeMap::from([("QueueName".to_string(), name.to_string())]),
        statistic: Some("Maximum".to_string()),
        extended_statistic: None,
        period_seconds: 60,
        evaluation_periods: 5,
        datapoints_to_alarm: Some(3),
        threshold: 300.0,
        comparison_operator: "GreaterThanThreshold".to_string(),
        treat_missing_data: Some("notBreaching".to_string()),
        alarm_actions: vec!["arn:aws:sns:us-east-1:123456789012:oncall".to_string()],
        ok_actions: vec!["arn:aws:sns:us-east-1:123456789012:oncall".to_string()],
        insufficient_data_actions: Vec::new(),
        actions_enabled: true,
        unit: Some("Seconds".to_string()),
    }
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

#[tokio::test]
async fn describe_alarms_pages_by_100() {
    let cloud = MemoryCloud::new(ACCOUNT);
    for index in 0..250 {
        cloud.seed_alarm(&age_alarm(&format!("orders-{index:03}")), &Tags::new());
    }
    cloud.seed_alarm(&age_alarm("payments-age"), &Tags::new());

    let alarms = cloud.describe_alarms("orders-").await.unwrap();

    assert_eq!(alarms.len(), 250);
    assert_eq!(cloud.api_calls().get("cloudwatch:DescribeAlarms"), 3);
    assert!(
        alarms
            .iter()
            .all(|live| live.alarm.name.starts_with("orders-"))
    );
}

#[tokio::test]
async fn describe_alarms_counts_empty_page() {
    let cloud = MemoryCloud::new(ACCOUNT);

    let alarms = cloud.describe_alarms("orders-").await.unwrap();

    assert_eq!(alarms, []);
    assert_eq!(cloud.api_calls().get("cloudwatch:DescribeAlarms"), 1);
}

#[tokio::test]
async fn describe_alarms_returns_arn() {
    let cloud = MemoryCloud::new(ACCOUNT);
    cloud
        .put_metric_alarm(&age_alarm("orders-age"), &Tags::new())
        .await
        .unwrap();

    let alarms = cloud.describe_alarms("").await.unwrap();

    assert_eq!(
        alarms,
        [LiveAlarm {
            arn: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:orders-age".to_string(),
            alarm: age_alarm("orders-age"),
        }]
    );
}

#[tokio::test]
async fn put_metric_alarm_replaces_definition() {
    let cloud = MemoryCloud::new(ACCOUNT);
    cloud
        .put_metric_alarm(&age_alarm("orders-age"), &Tags::new())
        .await
        .unwrap();
    let replacement = MetricAlarm {
        description: None,
        dimensions: BTreeMap::new(),
        statistic: None,
        extended_statistic: Some("p99".to_string()),
        datapoints_to_alarm: None,
        treat_missing_data: None,
        alarm_actions: Vec::new(),
        ok_actions: Vec::new(),
        unit: None,
        ..age_alarm("orders-age")
    };

    cloud
        .put_metric_alarm(&replacement, &Tags::new())
        .await
        .unwrap();

    assert_eq!(cloud.stored_alarm("orders-age"), Some(replacement));
}

#[tokio::test]
async fn tags_apply_on_create_only() {
    let cloud = MemoryCloud::new(ACCOUNT);
    let alarm = age_alarm("orders-age");
    let arn = cloud.alarm_arn("orders-age");
    cloud
        .put_metric_alarm(&alarm, &tags(&[("team", "orders")]))
        .await
        .unwrap();

    cloud
        .put_metric_alarm(&alarm, &tags(&[("team", "payments"), ("tier", "gold")]))
        .await
        .unwrap();

    assert_eq!(
        cloud.list_alarm_tags(&arn).await.unwrap(),
        tags(&[("team", "orders")])
    );
}

#[tokio::test]
async fn tag_and_untag_alarm() {
    let cloud = MemoryCloud::new(ACCOUNT);
    let arn = cloud.alarm_arn("orders-age");
    cloud
        .put_metric_alarm(&age_alarm("orders-age"), &tags(&[("team", "orders")]))
        .await
        .unwrap();

    cloud
        .tag_alarm(&arn, &tags(&[("team", "payments"), ("tier", "gold")]))
        .await
        .unwrap();
    cloud
        .untag_alarm(&arn, &["tier".to_string()])
        .await
        .unwrap();

    assert_eq!(
        cloud.list_alarm_tags(&arn).await.unwrap(),
        tags(&[("team", "payments")])
    );
}

#[tokio::test]
async fn empty_tag_changes_send_nothing() {
    let cloud = MemoryCloud::new(ACCOUNT);
    let arn = cloud.alarm_arn("orders-age");

    cloud.tag_alarm(&arn, &Tags::new()).await.unwrap();
    cloud.untag_alarm(&arn, &[]).await.unwrap();

    assert_eq!(cloud.api_calls().total, 0);
}

#[tokio::test]
async fn missing_alarm_tags_are_not_found() {
    let cloud = MemoryCloud::new(ACCOUNT);
    let arn = cloud.alarm_arn("orders-age");

    let listed = cloud.list_alarm_tags(&arn).await;
    let tagged = cloud.tag_alarm(&arn, &tags(&[("team", "orders")])).await;
    let untagged = cloud.untag_alarm(&arn, &["team".to_string()]).await;

    for result in [listed.map(|_| ()), tagged, untagged] {
        assert!(
            matches!(result, Err(CloudError::AlarmNotFound { ref alarm }) if *alarm == arn),
            "{result:?}"
        );
    }
}

#[tokio::test]
async fn alarm_tag_limit_is_50() {
    let cloud = MemoryCloud::new(ACCOUNT);
    let arn = cloud.alarm_arn("orders-age");
    let fifty: Tags = (0..50)
        .map(|index| (format!("key-{index}"), "value".to_string()))
        .collect();
    cloud
        .put_metric_alarm(&age_alarm("orders-age"), &fifty)
        .await
        .unwrap();

    let result = cloud.tag_alarm(&arn, &tags(&[("one-more", "value")])).await;

    assert!(matches!(result, Err(CloudError::Api { .. })), "{result:?}");
    assert_eq!(cloud.list_alarm_tags(&arn).await.unwrap(), fifty);
}

#[tokio::test]
async fn delete_alarms_ignores_missing_names() {
    let cloud = MemoryCloud::new(ACCOUNT);
    cloud.seed_alarm(&age_alarm("orders-age"), &Tags::new());
    cloud.seed_alarm(&age_alarm("payments-age"), &Tags::new());

    cloud
        .delete_alarms(&["orders-age".to_string(), "never-created".to_string()])
        .await
        .unwrap();

    assert_eq!(cloud.stored_alarm("orders-age"), None);
    assert!(cloud.stored_alarm("payments-age").is_some());
}

#[tokio::test]
async fn delete_alarms_sends_batches_of_100() {
    let cloud = MemoryCloud::new(ACCOUNT);
    let names: Vec<String> = (0..250).map(|index| format!("orders-{index:03}")).collect();
    for name in &names {
        cloud.seed_alarm(&age_alarm(name), &Tags::new());
    }

    cloud.delete_alarms(&names).await.unwrap();

    assert_eq!(cloud.api_calls().get("cloudwatch:DeleteAlarms"), 3);
    assert_eq!(cloud.describe_alarms("").await.unwrap(), []);
}

#[test]
fn delete_request_over_100_names_fails() {
    let cloud = MemoryCloud::new(ACCOUNT);
    let names: Vec<String> = (0..101).map(|index| format!("orders-{index:03}")).collect();
    for name in &names {
        cloud.seed_alarm(&age_alarm(name), &Tags::new());
    }

    let result = cloud.delete_alarm_batch(&names);

    assert!(matches!(result, Err(CloudError::Api { .. })), "{result:?}");
    assert!(cloud.stored_alarm("orders-000").is_some());
}

#[tokio::test]
async fn invalid_alarms_are_rejected() {
    let cloud = MemoryCloud::new(ACCOUNT);
    let cases = [
        (
            "statistic and extended statistic",
            MetricAlarm {
                extended_statistic: Some("p99".to_string()),
                ..age_alarm("orders-age")
            },
        ),
        (
            "no statistic",
            MetricAlarm {
                statistic: None,
                ..age_alarm("orders-age")
            },
        ),
        (
            "period of 45 seconds",
            MetricAlarm {
                period_seconds: 45,
                ..age_alarm("orders-age")
            },
        ),
        (
            "no evaluation periods",
            MetricAlarm {
                evaluation_periods: 0,
                ..age_alarm("orders-age")
            },
        ),
        (
            "over one day at a period under one hour",
            MetricAlarm {
                period_seconds: 60,
                evaluation_periods: 1_441,
                ..age_alarm("orders-age")
            },
        ),
        (
            "unknown TreatMissingData",
            MetricAlarm {
                treat_missing_data: Some("zero".to_string()),
                ..age_alarm("orders-age")
            },
        ),
        ("empty name", age_alarm("")),
    ];
    for (case, alarm) in cases {
        let result = cloud.put_metric_alarm(&alarm, &Tags::new()).await;
        assert!(
            matches!(result, Err(CloudError::Api { .. })),
            "{case}: {result:?}"
        );
    }
    assert_eq!(cloud.describe_alarms("").await.unwrap(), []);
}

#[tokio::test]
async fn week_long_evaluation_at_hourly_period_is_valid() {
    let cloud = MemoryCloud::new(ACCOUNT);
    let alarm = MetricAlarm {
        period_seconds: 3_600,
        evaluation_periods: 168,
        ..age_alarm("orders-age")
    };

    let result = cloud.put_metric_alarm(&alarm, &Tags::new()).await;

    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn injected_throttling_names_cloudwatch_operation() {
    let cloud = MemoryCloud::new(ACCOUNT);
    for index in 0..150 {
        cloud.seed_alarm(&age_alarm(&format!("orders-{index:03}")), &Tags::new());
    }
    cloud.inject("DescribeAlarms", InjectedFailure::Throttled, 1);

    let first = cloud.describe_alarms("orders-").await;
    let second = cloud.describe_alarms("orders-").await;

    assert!(
        matches!(
            first,
            Err(CloudError::Throttled {
                operation: "cloudwatch:DescribeAlarms",
                ..
            })
        ),
        "{first:?}"
    );
    assert_eq!(second.unwrap().len(), 150);
}

#[tokio::test]
async fn dashboard_round_trip() {
    let cloud = MemoryCloud::new(ACCOUNT);
    let body = r#"{"widgets":[{"type":"text","x":0,"y":0,"width":6,"height":3,"properties":{"markdown":"Managed by sqsform"}}]}"#;

    let before = cloud.get_dashboard("sqsform-prod").await.unwrap();
    cloud.put_dashboard("sqsform-prod", body).await.unwrap();
    let stored = cloud.get_dashboard("sqsform-prod").await.unwrap();
    cloud.delete_dashboard("sqsform-prod").await.unwrap();
    let after = cloud.get_dashboard("sqsform-prod").await.unwrap();

    assert_eq!(before, None);
    assert_eq!(stored.as_deref(), Some(body));
    assert_eq!(after, None);
}

#[tokio::test]
async fn deleting_missing_dashboard_succeeds() {
    let cloud = MemoryCloud::new(ACCOUNT);

    let result = cloud.delete_dashboard("sqsform-prod").await;

    assert!(result.is_ok(), "{result:?}");
    assert_eq!(cloud.api_calls().get("cloudwatch:DeleteDashboards"), 1);
}

#[tokio::test]
async fn invalid_dashboards_are_rejected() {
    let cloud = MemoryCloud::new(ACCOUNT);
    let cases = [
        ("sqsform-prod", "not json"),
        ("sqsform-prod", "[]"),
        ("sqsform-prod", "{}"),
        ("sqsform-prod", r#"{"widgets":{}}"#),
        ("sqsform prod", r#"{"widgets":[]}"#),
    ];
    for (name, body) in cases {
        let result = cloud.put_dashboard(name, body).await;
        let Err(CloudError::InvalidDashboard {
            dashboard,
            messages,
        }) = result
        else {
            panic!("{name} {body}: expected InvalidDashboard, got {result:?}");
        };
        assert_eq!(dashboard, name);
        assert_eq!(messages.len(), 1, "{name} {body}: {messages:?}");
    }
    assert_eq!(cloud.get_dashboard("sqsform-prod").await.unwrap(), None);
}

#[tokio::test]
async fn created_policy_keeps_tags() {
    let cloud = MemoryCloud::new(ACCOUNT);
    let tags = Tags::from([("sqsform:managed".to_string(), "true".to_string())]);

    let arn = cloud
        .create_policy("orders-producer", PATH, DOCUMENT, &tags)
        .await
        .unwrap();

    assert_eq!(cloud.stored_policy_tags(&arn), Some(tags));
}

const QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:orders";
const FIFO_QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:orders.fifo";

fn attributes(pairs: &[(&str, &str)]) -> Attributes {
    pairs
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

/// Returns a fake with a standard topic `orders-events` and its ARN.
async fn cloud_with_topic() -> (MemoryCloud, String) {
    let cloud = MemoryCloud::new(ACCOUNT);
    let arn = cloud
        .create_topic("orders-events", &Attributes::new(), &Tags::new())
        .await
        .unwrap();
    (cloud, arn)
}

/// Returns a fake with a FIFO topic `orders-events.fifo` and its ARN.
async fn cloud_with_fifo_topic() -> (MemoryCloud, String) {
    let cloud = MemoryCloud::new(ACCOUNT);
    let arn = cloud
        .create_topic(
            "orders-events.fifo",
            &attributes(&[("FifoTopic", "true")]),
            &Tags::new(),
        )
        .await
        .unwrap();
    (cloud, arn)
}

fn is_invalid_parameter(result: &Result<impl std::fmt::Debug, CloudError>) -> bool {
    matches!(result, Err(CloudError::Api { source, .. }) if source.to_string().starts_with("InvalidParameter"))
}

#[tokio::test]
async fn standard_topic_reports_defaults() {
    let (cloud, arn) = cloud_with_topic().await;

    let reported = cloud.get_topic_attributes(&arn).await.unwrap().unwrap();

    assert_eq!(arn, "arn:aws:sns:us-east-1:123456789012:orders-events");
    assert_eq!(reported["TopicArn"], arn);
    assert_eq!(reported["Owner"], ACCOUNT);
    assert_eq!(reported["DisplayName"], "");
    assert_eq!(reported["SubscriptionsConfirmed"], "0");
    assert_eq!(reported["SubscriptionsPending"], "0");
    assert_eq!(reported["SubscriptionsDeleted"], "0");
    assert!(!reported.contains_key("FifoTopic"), "{reported:?}");
    assert!(!reported.contains_key("DeliveryPolicy"), "{reported:?}");
    let policy: serde_json::Value = serde_json::from_str(&reported["Policy"]).unwrap();
    assert_eq!(policy["Statement"][0]["Resource"], arn.as_str());
    let delivery: serde_json::Value =
        serde_json::from_str(&reported["EffectiveDeliveryPolicy"]).unwrap();
    assert_eq!(
        delivery["http"]["defaultHealthyRetryPolicy"]["numRetries"],
        3
    );
}

#[tokio::test]
async fn fifo_topic_reports_fifo_defaults() {
    let (cloud, arn) = cloud_with_fifo_topic().await;

    let reported = cloud.get_topic_attributes(&arn).await.unwrap().unwrap();

    assert_eq!(reported["FifoTopic"], "true");
    assert_eq!(reported["ContentBasedDeduplication"], "false");
}

#[tokio::test]
async fn topic_names_follow_fifo_rules() {
    let cloud = MemoryCloud::new(ACCOUNT);
    let fifo = attributes(&[("FifoTopic", "true")]);
    let standard = attributes(&[("FifoTopic", "false")]);
    let long_name = "a".repeat(257);
    let cases = [
        ("FIFO topic without .fifo", "orders", &fifo),
        (
            "standard topic with .fifo",
            "orders.fifo",
            &Attributes::new(),
        ),
        (
            "explicit standard topic with .fifo",
            "orders.fifo",
            &standard,
        ),
        ("name with a dot", "orders.events", &Attributes::new()),
        ("empty name", "", &Attributes::new()),
        ("only the suffix", ".fifo", &fifo),
        ("257 characters", long_name.as_str(), &Attributes::new()),
    ];
    for (case, name, attributes) in cases {
        let result = cloud.create_topic(name, attributes, &Tags::new()).await;
        assert!(is_invalid_parameter(&result), "{case}: {result:?}");
    }
    let result = cloud.create_topic("orders.fifo", &fifo, &Tags::new()).await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn create_topic_is_idempotent_for_equal_settings() {
    let cloud = MemoryCloud::new(ACCOUNT);
    let settings = attributes(&[("DisplayName", "Orders")]);
    let team = tags(&[("team", "orders")]);

    let first = cloud.create_topic("orders-events", &settings, &team).await;
    let second = cloud.create_topic("orders-events", &settings, &team).await;
    let without_settings = cloud
        .create_topic("orders-events", &Attributes::new(), &Tags::new())
        .await;

    assert_eq!(first.as_ref().unwrap(), second.as_ref().unwrap());
    assert_eq!(first.as_ref().unwrap(), without_settings.as_ref().unwrap());
    assert_eq!(cloud.api_calls().get("sns:CreateTopic"), 3);
}

#[tokio::test]
async fn create_topic_with_other_settings_fails() {
    let cloud = MemoryCloud::new(ACCOUNT);
    cloud
        .create_topic(
            "orders-events",
            &attributes(&[("DisplayName", "Orders")]),
            &tags(&[("team", "orders")]),
        )
        .await
        .unwrap();

    let other_attributes = cloud
        .create_topic(
            "orders-events",
            &attributes(&[("DisplayName", "Payments")]),
            &Tags::new(),
        )
        .await;
    let other_tags = cloud
        .create_topic(
            "orders-events",
            &Attributes::new(),
            &tags(&[("team", "payments")]),
        )
        .await;
    let fifo_flag = cloud
        .create_topic(
            "orders-events",
            &attributes(&[("FifoTopic", "true")]),
            &Tags::new(),
        )
        .await;

    assert!(
        matches!(&other_attributes, Err(CloudError::TopicAlreadyExists { topic, message }) if topic == "orders-events" && message.contains("attributes")),
        "{other_attributes:?}"
    );
    assert!(
        matches!(&other_tags, Err(CloudError::TopicAlreadyExists { message, .. }) if message.contains("tags")),
        "{other_tags:?}"
    );
    // A FIFO flag on a standard name fails the name check before the topic is compared.
    assert!(is_invalid_parameter(&fifo_flag), "{fifo_flag:?}");
}

#[tokio::test]
async fn missing_topic_is_none_or_not_found() {
    let cloud = MemoryCloud::new(ACCOUNT);
    let arn = cloud.topic_arn("orders-events");

    let attributes_read = cloud.get_topic_attributes(&arn).await.unwrap();
    let results = [
        cloud.list_topic_tags(&arn).await.map(|_| ()),
        cloud
            .set_topic_attribute(&arn, "DisplayName", "Orders")
            .await,
        cloud.tag_topic(&arn, &tags(&[("team", "orders")])).await,
        cloud.untag_topic(&arn, &["team".to_string()]).await,
        cloud.list_subscriptions_by_topic(&arn).await.map(|_| ()),
        cloud
            .subscribe(&arn, "sqs", QUEUE_ARN, &Attributes::new())
            .await
            .map(|_| ()),
        cloud
            .publish(&arn, "hello", &BTreeMap::new(), None, None)
            .await
            .map(|_| ()),
    ];

    assert_eq!(attributes_read, None);
    for result in results {
        assert!(
            matches!(result, Err(CloudError::TopicNotFound { ref topic }) if *topic == arn),
            "{result:?}"
        );
    }
}

#[tokio::test]
async fn set_topic_attribute_overrides_default() {
    let (cloud, arn) = cloud_with_topic().await;

    cloud
        .set_topic_attribute(&arn, "DisplayName", "Orders")
        .await
        .unwrap();
    cloud
        .set_topic_attribute(&arn, "SignatureVersion", "2")
        .await
        .unwrap();

    let reported = cloud.get_topic_attributes(&arn).await.unwrap().unwrap();
    assert_eq!(reported["DisplayName"], "Orders");
    assert_eq!(reported["SignatureVersion"], "2");
}

#[tokio::test]
async fn invalid_topic_attributes_are_rejected() {
    let (cloud, arn) = cloud_with_topic().await;
    let cases = [
        ("FifoTopic", "true"),
        ("ContentBasedDeduplication", "true"),
        ("FifoThroughputScope", "MessageGroup"),
        ("SignatureVersion", "3"),
        ("TracingConfig", "Sometimes"),
        ("Policy", "not json"),
        ("DeliveryPolicy", "[]"),
        ("Colour", "blue"),
    ];
    for (name, value) in cases {
        let result = cloud.set_topic_attribute(&arn, name, value).await;
        assert!(is_invalid_parameter(&result), "{name}={value}: {result:?}");
    }
    let reported = cloud.get_topic_attributes(&arn).await.unwrap().unwrap();
    assert!(!reported.contains_key("Colour"), "{reported:?}");
}

#[tokio::test]
async fn fifo_topic_accepts_content_based_deduplication() {
    let (cloud, arn) = cloud_with_fifo_topic().await;

    cloud
        .set_topic_attribute(&arn, "ContentBasedDeduplication", "true")
        .await
        .unwrap();

    let reported = cloud.get_topic_attributes(&arn).await.unwrap().unwrap();
    assert_eq!(reported["ContentBasedDeduplication"], "true");
}

#[tokio::test]
async fn tag_and_untag_topic() {
    let cloud = MemoryCloud::new(ACCOUNT);
    let arn = cloud
        .create_topic(
            "orders-events",
            &Attributes::new(),
            &tags(&[("team", "orders")]),
        )
        .await
        .unwrap();

    cloud
        .tag_topic(&arn, &tags(&[("team", "payments"), ("tier", "gold")]))
        .await
        .unwrap();
    cloud
        .untag_topic(&arn, &["tier".to_string()])
        .await
        .unwrap();

    assert_eq!(
        cloud.list_topic_tags(&arn).await.unwrap(),
        tags(&[("team", "payments")])
    );
}

#[tokio::test]
async fn empty_topic_tag_changes_send_nothing() {
    let (cloud, arn) = cloud_with_topic().await;
    let before = cloud.api_calls();

    cloud.tag_topic(&arn, &Tags::new()).await.unwrap();
    cloud.untag_topic(&arn, &[]).await.unwrap();

    assert_eq!(cloud.api_calls().since(&before).total, 0);
}

#[tokio::test]
async fn topic_tag_limit_is_50() {
    let cloud = MemoryCloud::new(ACCOUNT);
    let fifty: Tags = (0..50)
        .map(|index| (format!("key-{index}"), "value".to_string()))
        .collect();
    let arn = cloud
        .create_topic("orders-events", &Attributes::new(), &fifty)
        .await
        .unwrap();

    let result = cloud.tag_topic(&arn, &tags(&[("one-more", "value")])).await;

    assert!(matches!(result, Err(CloudError::Api { .. })), "{result:?}");
    assert_eq!(cloud.list_topic_tags(&arn).await.unwrap(), fifty);
}

#[tokio::test]
async fn reserved_tag_prefix_is_rejected() {
    let cloud = MemoryCloud::new(ACCOUNT);

    let result = cloud
        .create_topic(
            "orders-events",
            &Attributes::new(),
            &tags(&[("aws:team", "orders")]),
        )
        .await;

    assert!(is_invalid_parameter(&result), "{result:?}");
}

#[tokio::test]
async fn delete_topic_removes_subscriptions() {
    let (cloud, arn) = cloud_with_topic().await;
    let subscription = cloud
        .subscribe(&arn, "sqs", QUEUE_ARN, &Attributes::new())
        .await
        .unwrap();

    cloud.delete_topic(&arn).await.unwrap();

    assert_eq!(cloud.get_topic_attributes(&arn).await.unwrap(), None);
    let result = cloud.get_subscription_attributes(&subscription).await;
    assert!(
        matches!(result, Err(CloudError::SubscriptionNotFound { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn deleting_missing_topic_succeeds() {
    let cloud = MemoryCloud::new(ACCOUNT);

    let result = cloud.delete_topic(&cloud.topic_arn("orders-events")).await;

    assert!(result.is_ok(), "{result:?}");
    assert_eq!(cloud.api_calls().get("sns:DeleteTopic"), 1);
}

#[tokio::test]
async fn subscription_reports_defaults() {
    let (cloud, arn) = cloud_with_topic().await;

    let subscription = cloud
        .subscribe(&arn, "sqs", QUEUE_ARN, &Attributes::new())
        .await
        .unwrap();
    let reported = cloud
        .get_subscription_attributes(&subscription)
        .await
        .unwrap();

    assert!(
        subscription.starts_with(&format!("{arn}:")),
        "{subscription}"
    );
    assert_eq!(reported["RawMessageDelivery"], "false");
    assert_eq!(reported["PendingConfirmation"], "false");
    assert_eq!(reported["Protocol"], "sqs");
    assert_eq!(reported["Endpoint"], QUEUE_ARN);
    assert_eq!(reported["TopicArn"], arn);
    assert_eq!(reported["SubscriptionArn"], subscription);
    assert_eq!(reported["Owner"], ACCOUNT);
    assert!(!reported.contains_key("FilterPolicy"), "{reported:?}");
    assert!(!reported.contains_key("FilterPolicyScope"), "{reported:?}");
    let topic = cloud.get_topic_attributes(&arn).await.unwrap().unwrap();
    assert_eq!(topic["SubscriptionsConfirmed"], "1");
}

#[tokio::test]
async fn filter_policy_scope_defaults_to_message_attributes() {
    let (cloud, arn) = cloud_with_topic().await;
    let policy = r#"{"eventType":["order_placed"]}"#;

    let subscription = cloud
        .subscribe(
            &arn,
            "sqs",
            QUEUE_ARN,
            &attributes(&[("RawMessageDelivery", "true"), ("FilterPolicy", policy)]),
        )
        .await
        .unwrap();
    let reported = cloud
        .get_subscription_attributes(&subscription)
        .await
        .unwrap();

    assert_eq!(reported["RawMessageDelivery"], "true");
    assert_eq!(reported["FilterPolicy"], policy);
    assert_eq!(reported["FilterPolicyScope"], "MessageAttributes");
}

#[tokio::test]
async fn subscribe_again_returns_same_arn() {
    let (cloud, arn) = cloud_with_topic().await;
    let raw = attributes(&[("RawMessageDelivery", "true")]);
    let first = cloud.subscribe(&arn, "sqs", QUEUE_ARN, &raw).await.unwrap();

    let same = cloud.subscribe(&arn, "sqs", QUEUE_ARN, &raw).await.unwrap();
    let without_attributes = cloud
        .subscribe(&arn, "sqs", QUEUE_ARN, &Attributes::new())
        .await
        .unwrap();
    let other = cloud
        .subscribe(
            &arn,
            "sqs",
            QUEUE_ARN,
            &attributes(&[("RawMessageDelivery", "false")]),
        )
        .await;

    assert_eq!(same, first);
    assert_eq!(without_attributes, first);
    assert!(
        matches!(&other, Err(CloudError::SubscriptionAlreadyExists { topic, endpoint }) if *topic == arn && endpoint == QUEUE_ARN),
        "{other:?}"
    );
    assert_eq!(
        cloud.list_subscriptions_by_topic(&arn).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn subscription_endpoints_follow_fifo_rules() {
    let (cloud, standard) = cloud_with_topic().await;
    let fifo = cloud
        .create_topic(
            "orders-events.fifo",
            &attributes(&[("FifoTopic", "true")]),
            &Tags::new(),
        )
        .await
        .unwrap();
    let none = Attributes::new();

    let fifo_queue_on_standard = cloud
        .subscribe(&standard, "sqs", FIFO_QUEUE_ARN, &none)
        .await;
    let https_on_fifo = cloud
        .subscribe(&fifo, "https", "https://example.com/hook", &none)
        .await;
    let not_an_arn = cloud.subscribe(&standard, "sqs", "orders", &none).await;
    let unknown_protocol = cloud
        .subscribe(&standard, "carrier-pigeon", "loft", &none)
        .await;
    let fifo_queue_on_fifo = cloud.subscribe(&fifo, "sqs", FIFO_QUEUE_ARN, &none).await;
    let standard_queue_on_fifo = cloud.subscribe(&fifo, "sqs", QUEUE_ARN, &none).await;

    for (case, result) in [
        ("FIFO queue on a standard topic", &fifo_queue_on_standard),
        ("https on a FIFO topic", &https_on_fifo),
        ("endpoint that is not an ARN", &not_an_arn),
        ("unknown protocol", &unknown_protocol),
    ] {
        assert!(is_invalid_parameter(result), "{case}: {result:?}");
    }
    assert!(fifo_queue_on_fifo.is_ok(), "{fifo_queue_on_fifo:?}");
    assert!(standard_queue_on_fifo.is_ok(), "{standard_queue_on_fifo:?}");
}

#[tokio::test]
async fn invalid_subscription_attributes_are_rejected() {
    let (cloud, arn) = cloud_with_topic().await;
    let six_keys = r#"{"a":["1"],"b":["1"],"c":["1"],"d":["1"],"e":["1"],"f":["1"]}"#;
    let cases = [
        ("unknown attribute", attributes(&[("Colour", "blue")])),
        (
            "RawMessageDelivery yes",
            attributes(&[("RawMessageDelivery", "yes")]),
        ),
        (
            "FilterPolicy not JSON",
            attributes(&[("FilterPolicy", "eventType")]),
        ),
        (
            "FilterPolicy array",
            attributes(&[("FilterPolicy", r#"["a"]"#)]),
        ),
        (
            "empty condition array",
            attributes(&[("FilterPolicy", r#"{"eventType":[]}"#)]),
        ),
        (
            "string condition",
            attributes(&[("FilterPolicy", r#"{"eventType":"order_placed"}"#)]),
        ),
        ("six keys", attributes(&[("FilterPolicy", six_keys)])),
        (
            "nesting in MessageAttributes scope",
            attributes(&[("FilterPolicy", r#"{"order":{"state":["placed"]}}"#)]),
        ),
        (
            "unknown scope",
            attributes(&[("FilterPolicyScope", "Headers")]),
        ),
        (
            "RedrivePolicy not JSON",
            attributes(&[("RedrivePolicy", "dlq")]),
        ),
    ];
    for (case, attributes) in cases {
        let result = cloud.subscribe(&arn, "sqs", QUEUE_ARN, &attributes).await;
        assert!(is_invalid_parameter(&result), "{case}: {result:?}");
    }
    let email_raw = cloud
        .subscribe(
            &arn,
            "email",
            "orders@example.com",
            &attributes(&[("RawMessageDelivery", "true")]),
        )
        .await;
    assert!(is_invalid_parameter(&email_raw), "{email_raw:?}");
    assert_eq!(cloud.list_subscriptions_by_topic(&arn).await.unwrap(), []);
}

#[tokio::test]
async fn message_body_scope_allows_nesting() {
    let (cloud, arn) = cloud_with_topic().await;
    let policy =
        r#"{"order":{"state":["placed"]},"$or":[{"region":["eu"]},{"priority":["high"]}]}"#;

    let result = cloud
        .subscribe(
            &arn,
            "sqs",
            QUEUE_ARN,
            &attributes(&[
                ("FilterPolicyScope", "MessageBody"),
                ("FilterPolicy", policy),
            ]),
        )
        .await;

    let reported = cloud
        .get_subscription_attributes(&result.unwrap())
        .await
        .unwrap();
    assert_eq!(reported["FilterPolicyScope"], "MessageBody");
    assert_eq!(reported["FilterPolicy"], policy);
}

#[tokio::test]
async fn filter_policy_changes_and_clears() {
    let (cloud, arn) = cloud_with_topic().await;
    let subscription = cloud
        .subscribe(
            &arn,
            "sqs",
            QUEUE_ARN,
            &attributes(&[("FilterPolicy", r#"{"eventType":["order_placed"]}"#)]),
        )
        .await
        .unwrap();
    let changed = r#"{"eventType":["order_cancelled"]}"#;

    cloud
        .set_subscription_attribute(&subscription, "FilterPolicy", changed)
        .await
        .unwrap();
    let after_change = cloud
        .get_subscription_attributes(&subscription)
        .await
        .unwrap();
    cloud
        .set_subscription_attribute(&subscription, "FilterPolicy", "{}")
        .await
        .unwrap();
    let after_clear = cloud
        .get_subscription_attributes(&subscription)
        .await
        .unwrap();

    assert_eq!(after_change["FilterPolicy"], changed);
    assert!(!after_clear.contains_key("FilterPolicy"), "{after_clear:?}");
    assert!(
        !after_clear.contains_key("FilterPolicyScope"),
        "{after_clear:?}"
    );
}

#[tokio::test]
async fn scope_change_revalidates_filter_policy() {
    let (cloud, arn) = cloud_with_topic().await;
    let nested = r#"{"order":{"state":["placed"]}}"#;
    let subscription = cloud
        .subscribe(
            &arn,
            "sqs",
            QUEUE_ARN,
            &attributes(&[
                ("FilterPolicyScope", "MessageBody"),
                ("FilterPolicy", nested),
            ]),
        )
        .await
        .unwrap();

    let result = cloud
        .set_subscription_attribute(&subscription, "FilterPolicyScope", "MessageAttributes")
        .await;

    assert!(is_invalid_parameter(&result), "{result:?}");
    let reported = cloud
        .get_subscription_attributes(&subscription)
        .await
        .unwrap();
    assert_eq!(reported["FilterPolicyScope"], "MessageBody");
}

#[tokio::test]
async fn missing_subscription_is_not_found() {
    let (cloud, arn) = cloud_with_topic().await;
    let subscription = format!("{arn}:{}", sequential_id(99));

    let read = cloud.get_subscription_attributes(&subscription).await;
    let set = cloud
        .set_subscription_attribute(&subscription, "RawMessageDelivery", "true")
        .await;

    for result in [read.map(|_| ()), set] {
        assert!(
            matches!(result, Err(CloudError::SubscriptionNotFound { ref subscription }) if subscription.ends_with("00000063")),
            "{result:?}"
        );
    }
}

#[tokio::test]
async fn unsubscribe_removes_subscription() {
    let (cloud, arn) = cloud_with_topic().await;
    let subscription = cloud
        .subscribe(&arn, "sqs", QUEUE_ARN, &Attributes::new())
        .await
        .unwrap();

    cloud.unsubscribe(&subscription).await.unwrap();
    let again = cloud.unsubscribe(&subscription).await;

    assert_eq!(cloud.list_subscriptions_by_topic(&arn).await.unwrap(), []);
    assert!(again.is_ok(), "{again:?}");
}

#[tokio::test]
async fn list_subscriptions_pages_by_100() {
    let (cloud, arn) = cloud_with_topic().await;
    for index in 0..250 {
        let endpoint = format!("arn:aws:sqs:us-east-1:123456789012:orders-{index:03}");
        cloud
            .subscribe(&arn, "sqs", &endpoint, &Attributes::new())
            .await
            .unwrap();
    }
    let before = cloud.api_calls();

    let subscriptions = cloud.list_subscriptions_by_topic(&arn).await.unwrap();

    assert_eq!(subscriptions.len(), 250);
    assert_eq!(
        cloud
            .api_calls()
            .since(&before)
            .get("sns:ListSubscriptionsByTopic"),
        3
    );
    assert_eq!(
        subscriptions[0].endpoint,
        "arn:aws:sqs:us-east-1:123456789012:orders-000"
    );
    assert_eq!(
        subscriptions[249].endpoint,
        "arn:aws:sqs:us-east-1:123456789012:orders-249"
    );
    assert!(
        subscriptions
            .iter()
            .all(|subscription| subscription.protocol == "sqs")
    );
}

#[tokio::test]
async fn list_subscriptions_counts_empty_page() {
    let (cloud, arn) = cloud_with_topic().await;

    let subscriptions = cloud.list_subscriptions_by_topic(&arn).await.unwrap();

    assert_eq!(subscriptions, []);
    assert_eq!(cloud.api_calls().get("sns:ListSubscriptionsByTopic"), 1);
}

#[tokio::test]
async fn list_subscriptions_keeps_topics_apart() {
    let (cloud, orders) = cloud_with_topic().await;
    let payments = cloud
        .create_topic("payments-events", &Attributes::new(), &Tags::new())
        .await
        .unwrap();
    let subscription = cloud
        .subscribe(&orders, "sqs", QUEUE_ARN, &Attributes::new())
        .await
        .unwrap();

    let listed = cloud.list_subscriptions_by_topic(&orders).await.unwrap();

    assert_eq!(
        listed,
        [TopicSubscription {
            arn: subscription,
            protocol: "sqs".to_string(),
            endpoint: QUEUE_ARN.to_string(),
        }]
    );
    assert_eq!(
        cloud.list_subscriptions_by_topic(&payments).await.unwrap(),
        []
    );
}

#[tokio::test]
async fn publish_records_message() {
    let (cloud, arn) = cloud_with_topic().await;
    let message_attributes =
        BTreeMap::from([("eventType".to_string(), "order_placed".to_string())]);

    let message_id = cloud
        .publish(
            &arn,
            "order 42 placed",
            &message_attributes,
            Some("tenant-7"),
            None,
        )
        .await
        .unwrap();

    assert_eq!(
        cloud.published_messages(&arn),
        [PublishedMessage {
            message_id,
            topic_arn: arn.clone(),
            message: "order 42 placed".to_string(),
            message_attributes,
            group_id: Some("tenant-7".to_string()),
            deduplication_id: None,
        }]
    );
}

#[tokio::test]
async fn publish_follows_fifo_rules() {
    let (cloud, fifo) = cloud_with_fifo_topic().await;
    let standard = cloud
        .create_topic("orders-events", &Attributes::new(), &Tags::new())
        .await
        .unwrap();
    let none = BTreeMap::new();

    let without_group = cloud.publish(&fifo, "m", &none, None, Some("d-1")).await;
    let without_deduplication = cloud.publish(&fifo, "m", &none, Some("g-1"), None).await;
    let deduplication_on_standard = cloud
        .publish(&standard, "m", &none, None, Some("d-1"))
        .await;
    let invalid_group = cloud
        .publish(&fifo, "m", &none, Some("group 1"), Some("d-1"))
        .await;
    let complete = cloud
        .publish(&fifo, "m", &none, Some("g-1"), Some("d-1"))
        .await;

    for (case, result) in [
        ("FIFO without group id", &without_group),
        ("FIFO without deduplication id", &without_deduplication),
        (
            "deduplication id on a standard topic",
            &deduplication_on_standard,
        ),
        ("group id with a space", &invalid_group),
    ] {
        assert!(is_invalid_parameter(result), "{case}: {result:?}");
    }
    assert!(complete.is_ok(), "{complete:?}");
    assert_eq!(cloud.published_messages(&fifo).len(), 1);
}

#[tokio::test]
async fn content_based_deduplication_needs_no_id() {
    let (cloud, arn) = cloud_with_fifo_topic().await;
    cloud
        .set_topic_attribute(&arn, "ContentBasedDeduplication", "true")
        .await
        .unwrap();

    let result = cloud
        .publish(&arn, "m", &BTreeMap::new(), Some("g-1"), None)
        .await;

    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn invalid_messages_are_rejected() {
    let (cloud, arn) = cloud_with_topic().await;
    let empty_value = BTreeMap::from([("eventType".to_string(), String::new())]);
    let too_large = "x".repeat(MAX_MESSAGE_BYTES);
    let padding = BTreeMap::from([("a".to_string(), "b".to_string())]);

    let empty = cloud.publish(&arn, "", &BTreeMap::new(), None, None).await;
    let empty_attribute = cloud.publish(&arn, "m", &empty_value, None, None).await;
    let oversized = cloud.publish(&arn, &too_large, &padding, None, None).await;
    let at_limit = cloud
        .publish(&arn, &too_large, &BTreeMap::new(), None, None)
        .await;

    for (case, result) in [
        ("empty message", &empty),
        ("empty attribute value", &empty_attribute),
        ("over 256 KiB with attributes", &oversized),
    ] {
        assert!(is_invalid_parameter(result), "{case}: {result:?}");
    }
    assert!(at_limit.is_ok(), "{at_limit:?}");
}

#[tokio::test]
async fn injected_throttling_names_sns_operation() {
    let (cloud, arn) = cloud_with_topic().await;
    cloud.inject("Publish", InjectedFailure::Throttled, 1);

    let first = cloud.publish(&arn, "m", &BTreeMap::new(), None, None).await;
    let second = cloud.publish(&arn, "m", &BTreeMap::new(), None, None).await;

    assert!(
        matches!(
            first,
            Err(CloudError::Throttled {
                operation: "sns:Publish",
                ..
            })
        ),
        "{first:?}"
    );
    assert!(second.is_ok(), "{second:?}");
    assert_eq!(cloud.published_messages(&arn).len(), 1);
}

#[tokio::test]
async fn qualified_injection_fails_one_service() {
    let (cloud, topic_arn) = cloud_with_topic().await;
    let alarm_arn = cloud.alarm_arn("orders-age");
    cloud
        .put_metric_alarm(&age_alarm("orders-age"), &Tags::new())
        .await
        .unwrap();
    cloud.inject("sns:TagResource", InjectedFailure::Throttled, 1);

    let alarm = cloud
        .tag_alarm(&alarm_arn, &tags(&[("team", "orders")]))
        .await;
    let topic = cloud
        .tag_topic(&topic_arn, &tags(&[("team", "orders")]))
        .await;

    assert!(alarm.is_ok(), "{alarm:?}");
    assert!(
        matches!(
            topic,
            Err(CloudError::Throttled {
                operation: "sns:TagResource",
                ..
            })
        ),
        "{topic:?}"
    );
}

#[tokio::test]
async fn sns_calls_are_counted_by_operation() {
    let (cloud, arn) = cloud_with_topic().await;
    let before = cloud.api_calls();

    let subscription = cloud
        .subscribe(&arn, "sqs", QUEUE_ARN, &Attributes::new())
        .await
        .unwrap();
    cloud.get_topic_attributes(&arn).await.unwrap();
    cloud.list_topic_tags(&arn).await.unwrap();
    cloud
        .get_subscription_attributes(&subscription)
        .await
        .unwrap();
    cloud.unsubscribe(&subscription).await.unwrap();
    cloud.delete_topic(&arn).await.unwrap();

    let calls = cloud.api_calls().since(&before);
    assert_eq!(calls.total, 6);
    for operation in [
        "sns:Subscribe",
        "sns:GetTopicAttributes",
        "sns:ListTagsForResource",
        "sns:GetSubscriptionAttributes",
        "sns:Unsubscribe",
        "sns:DeleteTopic",
    ] {
        assert_eq!(calls.get(operation), 1, "{operation}");
    }
    assert_eq!(before.get("sns:CreateTopic"), 1);
}
