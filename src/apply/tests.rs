use std::time::Duration;

use super::*;
use crate::cloud::memory::{InjectedFailure, MemoryCloud};
use crate::cloud::read_queues;
use crate::model::DesiredState;
use crate::plan::Action;
use crate::plan::diff;
use crate::spec::load_from_text;

const SPEC: &str = "\
project: shop
defaults:
  dead_letter:
    max_receive_count: 3
queues:
  orders: {}
  invoices.fifo:
    fifo: true
";

const ENVIRONMENT: &str = "region: us-east-1\naccount_id: \"123456789012\"\n";

fn desired(spec: &str) -> DesiredState {
    load_from_text("queues.yaml", spec, "test", ENVIRONMENT)
        .expect("valid spec")
        .desired
}

async fn plan_against(cloud: &MemoryCloud, desired: &DesiredState) -> Plan {
    let live = read_queues(cloud, &desired.prefix, 4).await.expect("read");
    diff(desired, &live)
}

fn phase_queues(phases: &[Vec<ResourceSteps>]) -> Vec<Vec<String>> {
    phases
        .iter()
        .map(|phase| {
            let mut names: Vec<String> = phase.iter().map(|steps| steps.resource.clone()).collect();
            names.sort();
            names
        })
        .collect()
}

#[tokio::test]
async fn schedule_creates_dead_letter_queues_first() {
    let cloud = MemoryCloud::new("123456789012");
    let plan = plan_against(&cloud, &desired(SPEC)).await;

    let phases = schedule(&plan);

    assert_eq!(
        phase_queues(&phases),
        vec![
            vec![
                "shop-test-invoices-dlq.fifo".to_string(),
                "shop-test-orders-dlq".to_string()
            ],
            vec![
                "shop-test-invoices.fifo".to_string(),
                "shop-test-orders".to_string()
            ],
            vec![
                "shop-test-invoices-dlq.fifo".to_string(),
                "shop-test-orders-dlq".to_string()
            ],
        ]
    );
    let late = &phases[2][0].steps;
    assert_eq!(late.len(), 1);
    assert!(
        matches!(&late[0], Step::SetAttributes { attributes } if attributes.keys().collect::<Vec<_>>() == vec!["RedriveAllowPolicy"])
    );
}

#[tokio::test]
async fn schedule_deletes_sources_before_dead_letter_queues() {
    let cloud = MemoryCloud::new("123456789012");
    let full = desired(SPEC);
    apply(
        &cloud,
        &plan_against(&cloud, &full).await,
        SafetyFlags::default(),
        &ApplyOptions::default(),
    )
    .await
    .expect("apply");

    let emptied = desired("project: shop\nqueues: {}\n");
    let plan = plan_against(&cloud, &emptied).await;
    let phases = schedule(&plan);

    assert_eq!(
        phase_queues(&phases),
        vec![
            vec![
                "shop-test-invoices.fifo".to_string(),
                "shop-test-orders".to_string()
            ],
            vec![
                "shop-test-invoices-dlq.fifo".to_string(),
                "shop-test-orders-dlq".to_string()
            ],
        ]
    );
}

#[tokio::test]
async fn apply_then_plan_is_empty() {
    let cloud = MemoryCloud::new("123456789012");
    let desired_state = desired(SPEC);
    let plan = plan_against(&cloud, &desired_state).await;

    let completed = apply(
        &cloud,
        &plan,
        SafetyFlags::default(),
        &ApplyOptions::default(),
    )
    .await
    .expect("apply");

    assert_eq!(completed.len(), 6);
    let calls = cloud.api_calls();
    assert_eq!(calls.get("sqs:CreateQueue"), 4);
    assert_eq!(calls.get("sqs:SetQueueAttributes"), 2);
    assert!(!plan_against(&cloud, &desired_state).await.has_changes());
}

#[tokio::test(start_paused = true)]
async fn create_waits_out_deleted_recently() {
    let cloud = MemoryCloud::new("123456789012");
    let desired_state = desired("project: shop\nqueues:\n  orders: {}\n");
    let plan = plan_against(&cloud, &desired_state).await;
    cloud.inject("CreateQueue", InjectedFailure::QueueDeletedRecently, 3);
    let started = tokio::time::Instant::now();

    apply(
        &cloud,
        &plan,
        SafetyFlags::default(),
        &ApplyOptions::default(),
    )
    .await
    .expect("apply");

    assert_eq!(started.elapsed(), Duration::from_secs(2 + 4 + 8));
    assert_eq!(cloud.api_calls().get("sqs:CreateQueue"), 4);
    assert!(cloud.stored_attributes("shop-test-orders").is_some());
}

#[tokio::test(start_paused = true)]
async fn create_gives_up_after_timeout() {
    let cloud = MemoryCloud::new("123456789012");
    let desired_state = desired("project: shop\nqueues:\n  orders: {}\n");
    let plan = plan_against(&cloud, &desired_state).await;
    cloud.inject("CreateQueue", InjectedFailure::QueueDeletedRecently, 1_000);
    let started = tokio::time::Instant::now();

    let error = apply(
        &cloud,
        &plan,
        SafetyFlags::default(),
        &ApplyOptions::default(),
    )
    .await
    .expect_err("must fail");

    assert_eq!(started.elapsed(), Duration::from_secs(90));
    match error {
        ApplyError::Failed {
            failures,
            completed,
        } => {
            assert_eq!(failures.len(), 1);
            assert_eq!(failures[0].resource, "shop-test-orders");
            assert!(matches!(
                failures[0].error,
                CloudError::QueueDeletedRecently { .. }
            ));
            assert!(completed.is_empty());
        }
        other => panic!("unexpected error {other}"),
    }
}

#[tokio::test]
async fn interrupted_apply_finishes_on_next_run() {
    let cloud = MemoryCloud::new("123456789012");
    let desired_state = desired(SPEC);
    // The first SetQueueAttributes is in the last phase: the redrive-allow policy of one DLQ.
    cloud.inject("SetQueueAttributes", InjectedFailure::Throttled, 1);

    let first = apply(
        &cloud,
        &plan_against(&cloud, &desired_state).await,
        SafetyFlags::default(),
        &ApplyOptions::default(),
    )
    .await;
    assert!(matches!(&first, Err(ApplyError::Failed { failures, .. }) if failures.len() == 1));

    let resumed = plan_against(&cloud, &desired_state).await;
    let pending: Vec<(&str, Action)> = resumed
        .changes()
        .map(|change| (change.name.as_str(), change.action))
        .collect();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].1, Action::Update);
    assert_eq!(
        resumed
            .changes()
            .next()
            .map(|change| change.attributes[0].name.as_str()),
        Some("RedriveAllowPolicy")
    );

    apply(
        &cloud,
        &resumed,
        SafetyFlags::default(),
        &ApplyOptions::default(),
    )
    .await
    .expect("second apply");
    assert!(!plan_against(&cloud, &desired_state).await.has_changes());
    let live = read_queues(&cloud, "shop-test-", 4).await.expect("read");
    assert_eq!(live.len(), 4);
    assert_eq!(cloud.api_calls().get("sqs:CreateQueue"), 4);
}

#[tokio::test]
async fn failed_phase_stops_later_phases() {
    let cloud = MemoryCloud::new("123456789012");
    let desired_state = desired(SPEC);
    cloud.inject("CreateQueue", InjectedFailure::Throttled, 1);

    let result = apply(
        &cloud,
        &plan_against(&cloud, &desired_state).await,
        SafetyFlags::default(),
        &ApplyOptions::default(),
    )
    .await;

    assert!(matches!(result, Err(ApplyError::Failed { .. })));
    // Only the two dead-letter creates ran; no source queue points at a missing DLQ.
    assert_eq!(cloud.api_calls().get("sqs:CreateQueue"), 2);
    let live = read_queues(&cloud, "shop-test-", 4).await.expect("read");
    assert_eq!(live.len(), 1);
    assert!(live[0].name.contains("-dlq"));

    apply(
        &cloud,
        &plan_against(&cloud, &desired_state).await,
        SafetyFlags::default(),
        &ApplyOptions::default(),
    )
    .await
    .expect("retry");
    assert!(!plan_against(&cloud, &desired_state).await.has_changes());
}

#[tokio::test]
async fn blocked_delete_makes_no_call() {
    let cloud = MemoryCloud::new("123456789012");
    let desired_state = desired(SPEC);
    apply(
        &cloud,
        &plan_against(&cloud, &desired_state).await,
        SafetyFlags::default(),
        &ApplyOptions::default(),
    )
    .await
    .expect("apply");
    let before = cloud.api_calls();
    let plan = plan_against(&cloud, &desired("project: shop\nqueues:\n  invoices.fifo:\n    fifo: true\n    dead_letter: {max_receive_count: 3}\n")).await;
    let reads = cloud.api_calls();

    let error = apply(
        &cloud,
        &plan,
        SafetyFlags::default(),
        &ApplyOptions::default(),
    )
    .await
    .expect_err("refused");

    assert_eq!(
        error.to_string(),
        "apply refused: delete shop-test-orders: deleting a managed queue needs --allow-delete; delete shop-test-orders-dlq: deleting a managed queue needs --allow-delete"
    );
    assert_eq!(cloud.api_calls(), reads);
    assert!(reads.total > before.total);
}

#[tokio::test]
async fn messages_block_delete_without_data_loss_flag() {
    let cloud = MemoryCloud::new("123456789012");
    let tags = crate::model::ownership_tags("shop", "test");
    let attributes = crate::cloud::Attributes::from([
        ("ApproximateNumberOfMessages".to_string(), "7".to_string()),
        (
            "ApproximateNumberOfMessagesNotVisible".to_string(),
            "2".to_string(),
        ),
        (
            "ApproximateNumberOfMessagesDelayed".to_string(),
            "1".to_string(),
        ),
    ]);
    cloud.seed_queue("shop-test-old", &attributes, &tags);
    let plan = plan_against(&cloud, &desired("project: shop\nqueues: {}\n")).await;
    let flags = SafetyFlags {
        allow_delete: true,
        ..SafetyFlags::default()
    };

    let error = apply(&cloud, &plan, flags, &ApplyOptions::default())
        .await
        .expect_err("refused");

    assert_eq!(
        error.to_string(),
        "apply refused: delete shop-test-old: the queue holds 10 messages (7 visible, 2 in flight, 1 delayed) that would be lost; this needs --allow-data-loss"
    );
    let allowed = SafetyFlags {
        allow_delete: true,
        allow_data_loss: true,
        adopt: false,
    };
    apply(&cloud, &plan, allowed, &ApplyOptions::default())
        .await
        .expect("apply");
    assert!(cloud.stored_attributes("shop-test-old").is_none());
}

const CHAIN_SPEC: &str = "\
project: shop
queues:
  orders:
    dead_letter: {queue: retries, max_receive_count: 3}
  retries:
    dead_letter: {queue: parked, max_receive_count: 5}
  parked: {}
";

#[tokio::test]
async fn schedule_orders_dead_letter_chain() {
    let cloud = MemoryCloud::new("123456789012");
    let plan = plan_against(&cloud, &desired(CHAIN_SPEC)).await;

    let phases = phase_queues(&schedule(&plan));

    assert_eq!(
        phases,
        vec![
            vec!["shop-test-parked".to_string()],
            vec!["shop-test-retries".to_string()],
            vec!["shop-test-orders".to_string()],
            vec![
                "shop-test-parked".to_string(),
                "shop-test-retries".to_string()
            ],
        ]
    );
    apply(
        &cloud,
        &plan,
        SafetyFlags::default(),
        &ApplyOptions::default(),
    )
    .await
    .expect("apply");
    assert!(
        !plan_against(&cloud, &desired(CHAIN_SPEC))
            .await
            .has_changes()
    );
}

#[tokio::test]
async fn stop_request_prevents_new_steps() {
    let cloud = MemoryCloud::new("123456789012");
    let plan = plan_against(&cloud, &desired(SPEC)).await;
    let options = ApplyOptions::default();
    options
        .stop
        .store(true, std::sync::atomic::Ordering::SeqCst);

    let error = apply(&cloud, &plan, SafetyFlags::default(), &options)
        .await
        .expect_err("stopped");

    assert_eq!(
        error.to_string(),
        "apply stopped on request after 0 completed step(s); run apply again to finish"
    );
    assert_eq!(cloud.api_calls().get("sqs:CreateQueue"), 0);
}

#[tokio::test]
async fn failure_message_names_cause() {
    let cloud = MemoryCloud::new("123456789012");
    let plan = plan_against(&cloud, &desired("project: shop\nqueues:\n  orders: {}\n")).await;
    cloud.inject("CreateQueue", InjectedFailure::Throttled, 1);

    let error = apply(
        &cloud,
        &plan,
        SafetyFlags::default(),
        &ApplyOptions::default(),
    )
    .await
    .expect_err("fails");

    assert_eq!(
        error.to_string(),
        "apply failed for 1 resource(s) after 0 completed step(s): CreateQueue shop-test-orders: sqs:CreateQueue was throttled by AWS after retries: injected throttling; run apply again once the cause is fixed"
    );
}

const GRANT_SPEC: &str = "\
project: shop
queues:
  orders:
    grants:
      - Sid: NewRoleSends
        Effect: Allow
        Principal: {AWS: 'arn:aws:iam::123456789012:role/just-created'}
        Action: sqs:SendMessage
";

#[tokio::test(start_paused = true)]
async fn unknown_principal_is_retried() {
    let cloud = MemoryCloud::new("123456789012");
    let plan = plan_against(&cloud, &desired(GRANT_SPEC)).await;
    cloud.inject("CreateQueue", InjectedFailure::UnknownPrincipal, 2);
    let started = tokio::time::Instant::now();

    apply(
        &cloud,
        &plan,
        SafetyFlags::default(),
        &ApplyOptions::default(),
    )
    .await
    .expect("apply");

    assert_eq!(started.elapsed(), Duration::from_secs(2 + 4));
    assert_eq!(cloud.api_calls().get("sqs:CreateQueue"), 3);
    assert!(
        !plan_against(&cloud, &desired(GRANT_SPEC))
            .await
            .has_changes()
    );
}

#[tokio::test(start_paused = true)]
async fn unknown_principal_retry_is_bounded() {
    let cloud = MemoryCloud::new("123456789012");
    let plan = plan_against(&cloud, &desired(GRANT_SPEC)).await;
    cloud.inject("CreateQueue", InjectedFailure::UnknownPrincipal, 1_000);
    let started = tokio::time::Instant::now();

    let error = apply(
        &cloud,
        &plan,
        SafetyFlags::default(),
        &ApplyOptions::default(),
    )
    .await
    .expect_err("gives up");

    assert_eq!(started.elapsed(), Duration::from_secs(60));
    assert!(
        error.to_string().contains("Invalid principal in policy"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn other_policy_errors_are_not_retried() {
    let cloud = MemoryCloud::new("123456789012");
    let plan = plan_against(&cloud, &desired(GRANT_SPEC)).await;
    cloud.inject("CreateQueue", InjectedFailure::MalformedPolicy, 1);
    let started = tokio::time::Instant::now();

    apply(
        &cloud,
        &plan,
        SafetyFlags::default(),
        &ApplyOptions::default(),
    )
    .await
    .expect_err("fails");

    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(cloud.api_calls().get("sqs:CreateQueue"), 1);
}

#[tokio::test(start_paused = true)]
async fn alarm_writes_are_paced() {
    let queues: String = (0..150)
        .map(|index| format!("  q{index}: {{}}\n"))
        .collect();
    let spec = format!("project: shop\ndashboard: false\nqueues:\n{queues}");
    let cloud = MemoryCloud::new("123456789012");
    let desired_state = desired(&spec);
    assert_eq!(desired_state.alarms.len(), 300);
    let mut plan = plan_against(&cloud, &desired_state).await;
    let (alarms, unmanaged) = crate::plan::alarms::diff_alarms(&desired_state, &[]);
    plan.set_monitoring(alarms, unmanaged, None);
    let started = tokio::time::Instant::now();

    apply(
        &cloud,
        &plan,
        SafetyFlags::default(),
        &ApplyOptions::default(),
    )
    .await
    .expect("apply");

    // Three writes per second: the last of 300 starts 299 intervals after the first.
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs_f64(299.0 / 3.0) - Duration::from_millis(5),
        "{elapsed:?}"
    );
    assert!(
        elapsed <= Duration::from_secs_f64(299.0 / 3.0) + Duration::from_millis(5),
        "{elapsed:?}"
    );
    assert_eq!(cloud.api_calls().get("cloudwatch:PutMetricAlarm"), 300);
}

#[tokio::test(start_paused = true)]
async fn stop_skips_alarm_writes_waiting_for_slot() {
    let queues: String = (0..20).map(|index| format!("  q{index}: {{}}\n")).collect();
    let spec = format!("project: shop\ndashboard: false\nqueues:\n{queues}");
    let cloud = MemoryCloud::new("123456789012");
    let desired_state = desired(&spec);
    let mut plan = plan_against(&cloud, &desired_state).await;
    let (alarms, unmanaged) = crate::plan::alarms::diff_alarms(&desired_state, &[]);
    plan.set_monitoring(alarms, unmanaged, None);
    let options = ApplyOptions::default();
    let stop = options.stop.clone();
    let interrupt = async {
        // Queues take no time on the fake; after 2 s about six alarm writes have started.
        tokio::time::sleep(Duration::from_millis(1_900)).await;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    };

    let (result, ()) = tokio::join!(
        apply(&cloud, &plan, SafetyFlags::default(), &options),
        interrupt
    );

    assert!(
        matches!(result, Err(ApplyError::Interrupted { .. })),
        "{result:?}"
    );
    assert_eq!(cloud.api_calls().get("cloudwatch:PutMetricAlarm"), 6);
}
