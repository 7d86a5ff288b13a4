//! Tests of the spec loader through `load_from_text` and `load`: one test per validation rule,
//! each asserting the exact diagnostics, plus the resolved model of valid specs.

use std::collections::BTreeSet;

use super::*;
use crate::model::{
    DeduplicationScope, DesiredQueue, Encryption, FifoAttributes, QueueRole, RedriveAllowPolicy,
    RedrivePolicy, ThroughputLimit,
};

/// A valid environment file for the environment `dev`, so the queue prefix is `p-dev-` when the
/// spec says `project: p`.
const ENVIRONMENT: &str = "region: ap-south-1\naccount_id: \"123456789012\"\n";

/// A valid spec with one queue, for tests of the environment file.
const ONE_QUEUE: &str = "project: p\nqueues:\n  a: {}\n";

/// Loads `spec` and `environment_text` as environment `dev` and returns every diagnostic as
/// `file:line:column: path: message`, failing the test if the spec loads.
fn errors_with(spec: &str, environment_text: &str) -> Vec<String> {
    match load_from_text("queues.yaml", spec, "dev", environment_text) {
        Ok(loaded) => panic!(
            "expected errors, but the spec loaded with warnings {:?}",
            loaded.warnings
        ),
        Err(SpecError::Invalid { diagnostics }) => {
            diagnostics.iter().map(ToString::to_string).collect()
        }
        Err(other) => panic!("expected diagnostics, got: {other}"),
    }
}

/// Returns the diagnostics of `spec` loaded with the valid [`ENVIRONMENT`].
fn errors(spec: &str) -> Vec<String> {
    errors_with(spec, ENVIRONMENT)
}

/// Loads `spec` and `environment_text` as environment `dev`, failing the test on any error.
fn loaded_with(spec: &str, environment_text: &str) -> Loaded {
    match load_from_text("queues.yaml", spec, "dev", environment_text) {
        Ok(loaded) => loaded,
        Err(SpecError::Invalid { diagnostics }) => {
            let lines: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
            panic!("expected the spec to load, got:\n{}", lines.join("\n"))
        }
        Err(other) => panic!("expected the spec to load, got: {other}"),
    }
}

/// Loads `spec` with the valid [`ENVIRONMENT`], failing the test on any error.
fn loaded(spec: &str) -> Loaded {
    loaded_with(spec, ENVIRONMENT)
}

/// Returns the resolved queue with spec key `key`, failing the test if there is none.
fn queue<'a>(loaded: &'a Loaded, key: &str) -> &'a DesiredQueue {
    loaded
        .desired
        .queues
        .iter()
        .find(|queue| queue.key == key)
        .unwrap_or_else(|| panic!("no resolved queue with key \"{key}\""))
}

fn arn(name: &str) -> String {
    format!("arn:aws:sqs:ap-south-1:123456789012:{name}")
}

// Queue names.

#[test]
fn queue_name_length_counts_prefix() {
    // "p-dev-" is 6 characters, so a 74-character key makes an 80-character name.
    let fits = "a".repeat(74);
    let too_long = "b".repeat(75);

    let passing = loaded(&format!("project: p\nqueues:\n  {fits}: {{}}\n"));
    assert_eq!(passing.desired.queues[0].name, format!("p-dev-{fits}"));
    assert_eq!(passing.desired.queues[0].name.len(), 80);

    let spec = format!("project: p\nqueues:\n  {fits}: {{}}\n  {too_long}: {{}}\n");
    assert_eq!(
        errors(&spec),
        vec![format!(
            "queues.yaml:4:3: queues.{too_long}: queue name \"p-dev-{too_long}\" is 81 characters; SQS allows at most 80, counting the environment prefix and any -dlq or .fifo suffix"
        )]
    );
}

#[test]
fn dead_letter_name_length_counts_suffix() {
    // The queue names are 76 and 77 characters, so their derived dead-letter names are 80 and 81.
    let fits = "a".repeat(70);
    let too_long = "b".repeat(71);

    let passing = loaded(&format!(
        "project: p\nqueues:\n  {fits}:\n    dead_letter: {{max_receive_count: 3}}\n"
    ));
    assert_eq!(passing.desired.queues[1].name, format!("p-dev-{fits}-dlq"));
    assert_eq!(passing.desired.queues[1].name.len(), 80);

    let spec = format!(
        "project: p\nqueues:\n  {fits}:\n    dead_letter: {{max_receive_count: 3}}\n  {too_long}:\n    dead_letter: {{max_receive_count: 3}}\n"
    );
    assert_eq!(
        errors(&spec),
        vec![format!(
            "queues.yaml:5:3: queues.{too_long}: dead-letter queue name \"p-dev-{too_long}-dlq\" is 81 characters; SQS allows at most 80, counting the environment prefix and any -dlq or .fifo suffix"
        )]
    );
}

#[test]
fn fifo_dead_letter_name_length() {
    // "p-dev-" + stem + "-dlq.fifo": 80 characters for a 65-character stem.
    let fits = "a".repeat(65);
    let too_long = "b".repeat(66);

    let passing = loaded(&format!(
        "project: p\nqueues:\n  {fits}.fifo:\n    fifo: true\n    dead_letter: {{max_receive_count: 3}}\n"
    ));
    assert_eq!(
        passing.desired.queues[1].name,
        format!("p-dev-{fits}-dlq.fifo")
    );
    assert_eq!(passing.desired.queues[1].name.len(), 80);

    let spec = format!(
        "project: p\nqueues:\n  {too_long}.fifo:\n    fifo: true\n    dead_letter: {{max_receive_count: 3}}\n"
    );
    assert_eq!(
        errors(&spec),
        vec![format!(
            "queues.yaml:3:3: queues.{too_long}.fifo: dead-letter queue name \"p-dev-{too_long}-dlq.fifo\" is 81 characters; SQS allows at most 80, counting the environment prefix and any -dlq or .fifo suffix"
        )]
    );
}

#[test]
fn queue_name_invalid_characters() {
    // The queue with a dead-letter queue gets one error, not a second one for "trip.events-dlq".
    let spec = "\
project: p
queues:
  trip events: {}
  trip.events:
    dead_letter: {max_receive_count: 3}
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:3:3: queues.trip events: queue name \"p-dev-trip events\" contains invalid characters: SQS allows letters, digits, hyphens and underscores, plus a final \".fifo\" on FIFO queues",
            "queues.yaml:4:3: queues.trip.events: queue name \"p-dev-trip.events\" contains invalid characters: SQS allows letters, digits, hyphens and underscores, plus a final \".fifo\" on FIFO queues",
        ]
    );
}

#[test]
fn fifo_dead_letter_suffix_before_fifo() {
    let spec = "\
project: p
queues:
  payment-events.fifo:
    fifo: true
    dead_letter: {max_receive_count: 5}
";
    let loaded = loaded(spec);
    assert_eq!(loaded.desired.queues.len(), 2);

    let source = queue(&loaded, "payment-events.fifo");
    let dead_letter = queue(&loaded, "payment-events-dlq.fifo");
    assert_eq!(source.name, "p-dev-payment-events.fifo");
    assert_eq!(dead_letter.name, "p-dev-payment-events-dlq.fifo");
    assert_eq!(dead_letter.arn, arn("p-dev-payment-events-dlq.fifo"));
    assert_eq!(
        dead_letter.role,
        QueueRole::DeadLetter {
            source: "payment-events.fifo".to_string()
        }
    );
    assert!(dead_letter.is_dead_letter_target);
    assert_eq!(dead_letter.attributes.fifo, Some(FifoAttributes::default()));
    assert_eq!(
        source.attributes.redrive_policy,
        Some(RedrivePolicy {
            dead_letter_target_arn: arn("p-dev-payment-events-dlq.fifo"),
            max_receive_count: 5,
        })
    );
    assert_eq!(
        dead_letter.attributes.redrive_allow_policy,
        Some(RedriveAllowPolicy::ByQueue {
            source_queue_arns: BTreeSet::from([arn("p-dev-payment-events.fifo")]),
        })
    );
}

#[test]
fn fifo_suffix_on_standard_queue() {
    let spec = "\
project: p
queues:
  orders.fifo: {}
  refunds.fifo:
    fifo: false
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:3:3: queues.orders.fifo: queue name \"orders.fifo\" ends in \".fifo\" but the queue is standard: set fifo: true or remove the suffix",
            "queues.yaml:4:3: queues.refunds.fifo: queue name \"refunds.fifo\" ends in \".fifo\" but the queue is standard: set fifo: true or remove the suffix",
        ]
    );
}

#[test]
fn fifo_queue_without_suffix() {
    let spec = "\
project: p
queues:
  orders:
    fifo: true
";
    assert_eq!(
        errors(spec),
        vec!["queues.yaml:3:3: queues.orders: FIFO queue name \"orders\" must end in \".fifo\""]
    );
}

#[test]
fn duplicate_queue_name() {
    let spec = "\
project: p
queues:
  orders:
    dead_letter: {max_receive_count: 3}
  orders-dlq: {}
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:5:3: queues.orders-dlq: queue name \"p-dev-orders-dlq\" is used twice, by the dead-letter queue of \"orders\" and by queue \"orders-dlq\""
        ]
    );
}

// Attribute ranges: the first spec of each test sets both edges, and the second sets the values
// just outside them.

#[test]
fn delay_range_edges() {
    let spec = "\
project: p
queues:
  lowest:
    delay: 0
  highest:
    delay: 15m
";
    let passing = loaded(spec);
    assert_eq!(queue(&passing, "lowest").attributes.delay_seconds, 0);
    assert_eq!(queue(&passing, "highest").attributes.delay_seconds, 900);

    let spec = "\
project: p
queues:
  below:
    delay: -1
  above:
    delay: 901s
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:4:12: queues.below.delay: invalid duration -1: must not be negative",
            "queues.yaml:6:12: queues.above.delay: delay must be between 0s and 15m (0 to 900 seconds), got 901 seconds",
        ]
    );
}

#[test]
fn max_message_size_range_edges() {
    let spec = "\
project: p
queues:
  lowest:
    max_message_size: 1024
  highest:
    max_message_size: 1048576
";
    let passing = loaded(spec);
    assert_eq!(
        queue(&passing, "lowest").attributes.maximum_message_size,
        1_024
    );
    assert_eq!(
        queue(&passing, "highest").attributes.maximum_message_size,
        1_048_576
    );

    let spec = "\
project: p
queues:
  below:
    max_message_size: 1023
  above:
    max_message_size: 1048577
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:4:23: queues.below.max_message_size: max_message_size must be between 1024 and 1048576 bytes, got 1023",
            "queues.yaml:6:23: queues.above.max_message_size: max_message_size must be between 1024 and 1048576 bytes, got 1048577",
        ]
    );
}

#[test]
fn retention_range_edges() {
    let spec = "\
project: p
queues:
  lowest:
    retention: 1m
  highest:
    retention: 14d
";
    let passing = loaded(spec);
    assert_eq!(
        queue(&passing, "lowest")
            .attributes
            .message_retention_period,
        60
    );
    assert_eq!(
        queue(&passing, "highest")
            .attributes
            .message_retention_period,
        1_209_600
    );

    let spec = "\
project: p
queues:
  below:
    retention: 59s
  above:
    retention: 1209601
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:4:16: queues.below.retention: retention must be between 1m and 14d (60 to 1209600 seconds), got 59 seconds",
            "queues.yaml:6:16: queues.above.retention: retention must be between 1m and 14d (60 to 1209600 seconds), got 1209601 seconds",
        ]
    );
}

#[test]
fn receive_wait_range_edges() {
    let spec = "\
project: p
queues:
  lowest:
    receive_wait: 0s
  highest:
    receive_wait: 20
";
    let passing = loaded(spec);
    assert_eq!(
        queue(&passing, "lowest")
            .attributes
            .receive_message_wait_time_seconds,
        0
    );
    assert_eq!(
        queue(&passing, "highest")
            .attributes
            .receive_message_wait_time_seconds,
        20
    );

    let spec = "\
project: p
queues:
  below:
    receive_wait: -1
  above:
    receive_wait: 21s
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:4:19: queues.below.receive_wait: invalid duration -1: must not be negative",
            "queues.yaml:6:19: queues.above.receive_wait: receive_wait must be between 0s and 20s (0 to 20 seconds), got 21 seconds",
        ]
    );
}

#[test]
fn visibility_timeout_range_edges() {
    let spec = "\
project: p
queues:
  lowest:
    visibility_timeout: 0
  highest:
    visibility_timeout: 12h
";
    let passing = loaded(spec);
    assert_eq!(queue(&passing, "lowest").attributes.visibility_timeout, 0);
    assert_eq!(
        queue(&passing, "highest").attributes.visibility_timeout,
        43_200
    );

    let spec = "\
project: p
queues:
  below:
    visibility_timeout: -1
  above:
    visibility_timeout: 43201
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:4:25: queues.below.visibility_timeout: invalid duration -1: must not be negative",
            "queues.yaml:6:25: queues.above.visibility_timeout: visibility_timeout must be between 0s and 12h (0 to 43200 seconds), got 43201 seconds",
        ]
    );
}

#[test]
fn max_receive_count_range_edges() {
    let spec = "\
project: p
queues:
  lowest:
    dead_letter:
      max_receive_count: 1
  highest:
    dead_letter:
      max_receive_count: 1000
";
    let passing = loaded(spec);
    let count = |key: &str| {
        queue(&passing, key)
            .attributes
            .redrive_policy
            .as_ref()
            .map(|policy| policy.max_receive_count)
    };
    assert_eq!(count("lowest"), Some(1));
    assert_eq!(count("highest"), Some(1_000));

    let spec = "\
project: p
queues:
  below:
    dead_letter:
      max_receive_count: 0
  above:
    dead_letter:
      max_receive_count: 1001
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:5:26: queues.below.dead_letter.max_receive_count: max_receive_count must be between 1 and 1000, got 0",
            "queues.yaml:8:26: queues.above.dead_letter.max_receive_count: max_receive_count must be between 1 and 1000, got 1001",
        ]
    );
}

#[test]
fn missing_max_receive_count() {
    let spec = "\
project: p
queues:
  a:
    dead_letter:
      retention: 14d
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:5:7: queues.a.dead_letter: missing dead_letter.max_receive_count: how many receives SQS allows before it moves a message to the dead-letter queue (1 to 1000)"
        ]
    );
}

#[test]
fn data_key_reuse_range_edges() {
    let spec = "\
project: p
queues:
  lowest:
    encryption:
      type: sse-kms
      kms_key: alias/orders
      data_key_reuse: 1m
  highest:
    encryption:
      type: sse-kms
      kms_key: alias/orders
      data_key_reuse: 24h
";
    let passing = loaded(spec);
    assert_eq!(
        queue(&passing, "lowest").attributes.encryption,
        Encryption::SseKms {
            key: "alias/orders".to_string(),
            data_key_reuse_seconds: 60,
        }
    );
    assert_eq!(
        queue(&passing, "highest").attributes.encryption,
        Encryption::SseKms {
            key: "alias/orders".to_string(),
            data_key_reuse_seconds: 86_400,
        }
    );

    let spec = "\
project: p
queues:
  below:
    encryption:
      type: sse-kms
      kms_key: alias/orders
      data_key_reuse: 59
  above:
    encryption:
      type: sse-kms
      kms_key: alias/orders
      data_key_reuse: 86401s
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:7:23: queues.below.encryption.data_key_reuse: data_key_reuse must be between 1m and 1d (60 to 86400 seconds), got 59 seconds",
            "queues.yaml:12:23: queues.above.encryption.data_key_reuse: data_key_reuse must be between 1m and 1d (60 to 86400 seconds), got 86401 seconds",
        ]
    );
}

#[test]
fn dead_letter_retention_range() {
    let spec = "\
project: p
queues:
  a:
    dead_letter:
      max_receive_count: 3
      retention: 15d
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:6:18: queues.a.dead_letter.retention: retention must be between 1m and 14d (60 to 1209600 seconds), got 1296000 seconds"
        ]
    );
}

// Durations.

#[test]
fn durations_with_units_and_plain_seconds() {
    let spec = "\
project: p
queues:
  a:
    visibility_timeout: 30s
    delay: 5m
    retention: 4d
    receive_wait: 7
    dead_letter:
      max_receive_count: 3
      retention: 2h
      visibility_timeout: 45
";
    let loaded = loaded(spec);
    let attributes = &queue(&loaded, "a").attributes;
    assert_eq!(attributes.visibility_timeout, 30);
    assert_eq!(attributes.delay_seconds, 300);
    assert_eq!(attributes.message_retention_period, 345_600);
    assert_eq!(attributes.receive_message_wait_time_seconds, 7);

    let dead_letter = &queue(&loaded, "a-dlq").attributes;
    assert_eq!(dead_letter.message_retention_period, 7_200);
    assert_eq!(dead_letter.visibility_timeout, 45);
}

#[test]
fn invalid_duration_string() {
    let spec = "\
project: p
queues:
  weeks:
    visibility_timeout: 5w
  fraction:
    retention: 1.5h
";
    let expected =
        "expected whole seconds or a number followed by s, m, h or d (for example 30s, 5m, 4d)";
    assert_eq!(
        errors(spec),
        vec![
            format!(
                "queues.yaml:4:25: queues.weeks.visibility_timeout: invalid duration \"5w\": {expected}"
            ),
            format!(
                "queues.yaml:6:16: queues.fraction.retention: invalid duration \"1.5h\": {expected}"
            ),
        ]
    );
}

// FIFO settings.

#[test]
fn fifo_settings_on_standard_queue() {
    let spec = "\
project: p
queues:
  orders:
    content_based_deduplication: true
    deduplication_scope: messageGroup
    throughput_limit: perMessageGroupId
    high_throughput: true
";
    let fix = "is standard: remove it, or set fifo: true and end the name in \".fifo\"";
    assert_eq!(
        errors(spec),
        vec![
            format!(
                "queues.yaml:4:34: queues.orders.content_based_deduplication: content_based_deduplication applies only to FIFO queues, and \"orders\" {fix}"
            ),
            format!(
                "queues.yaml:5:26: queues.orders.deduplication_scope: deduplication_scope applies only to FIFO queues, and \"orders\" {fix}"
            ),
            format!(
                "queues.yaml:6:23: queues.orders.throughput_limit: throughput_limit applies only to FIFO queues, and \"orders\" {fix}"
            ),
            format!(
                "queues.yaml:7:22: queues.orders.high_throughput: high_throughput applies only to FIFO queues, and \"orders\" {fix}"
            ),
        ]
    );
}

#[test]
fn high_throughput_with_queue_scope() {
    let spec = "\
project: p
queues:
  orders.fifo:
    fifo: true
    high_throughput: true
    deduplication_scope: queue
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:6:26: queues.orders.fifo.deduplication_scope: high_throughput needs deduplication_scope messageGroup and throughput_limit perMessageGroupId, but deduplication_scope is queue"
        ]
    );
}

#[test]
fn high_throughput_with_per_queue_limit() {
    let spec = "\
project: p
queues:
  orders.fifo:
    fifo: true
    high_throughput: true
    throughput_limit: perQueue
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:6:23: queues.orders.fifo.throughput_limit: high_throughput needs deduplication_scope messageGroup and throughput_limit perMessageGroupId, but throughput_limit is perQueue"
        ]
    );
}

#[test]
fn group_limit_with_queue_scope() {
    let spec = "\
project: p
queues:
  orders.fifo:
    fifo: true
    throughput_limit: perMessageGroupId
    deduplication_scope: queue
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:5:23: queues.orders.fifo.throughput_limit: throughput_limit perMessageGroupId requires deduplication_scope messageGroup"
        ]
    );
}

#[test]
fn high_throughput_fifo_attributes() {
    let spec = "\
project: p
queues:
  fast.fifo:
    fifo: true
    high_throughput: true
    content_based_deduplication: true
  plain.fifo:
    fifo: true
  standard: {}
";
    let loaded = loaded(spec);
    assert_eq!(
        queue(&loaded, "fast.fifo").attributes.fifo,
        Some(FifoAttributes {
            content_based_deduplication: true,
            deduplication_scope: DeduplicationScope::MessageGroup,
            throughput_limit: ThroughputLimit::PerMessageGroupId,
        })
    );
    assert_eq!(
        queue(&loaded, "plain.fifo").attributes.fifo,
        Some(FifoAttributes {
            content_based_deduplication: false,
            deduplication_scope: DeduplicationScope::Queue,
            throughput_limit: ThroughputLimit::PerQueue,
        })
    );
    assert_eq!(queue(&loaded, "standard").attributes.fifo, None);
}

// Dead-letter queues named by `dead_letter.queue`.

#[test]
fn named_dead_letter_queue_links() {
    let spec = "\
project: p
queues:
  orders:
    dead_letter:
      max_receive_count: 4
      queue: failures
  refunds:
    dead_letter:
      max_receive_count: 2
      queue: failures
  failures: {}
";
    let loaded = loaded(spec);
    assert_eq!(loaded.desired.queues.len(), 3);
    assert_eq!(
        queue(&loaded, "orders").attributes.redrive_policy,
        Some(RedrivePolicy {
            dead_letter_target_arn: arn("p-dev-failures"),
            max_receive_count: 4,
        })
    );

    let failures = queue(&loaded, "failures");
    assert_eq!(failures.role, QueueRole::Declared);
    assert!(failures.is_dead_letter_target);
    assert_eq!(
        failures.attributes.redrive_allow_policy,
        Some(RedriveAllowPolicy::ByQueue {
            source_queue_arns: BTreeSet::from([arn("p-dev-orders"), arn("p-dev-refunds")]),
        })
    );
}

#[test]
fn dead_letter_queue_of_other_type() {
    let spec = "\
project: p
queues:
  orders.fifo:
    fifo: true
    dead_letter:
      max_receive_count: 3
      queue: failures
  failures: {}
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:7:14: queues.orders.fifo.dead_letter.queue: dead-letter queue \"failures\" is standard but \"orders.fifo\" is FIFO: a dead-letter queue must be the same type as its source"
        ]
    );
}

#[test]
fn unknown_dead_letter_queue() {
    let spec = "\
project: p
queues:
  orders:
    dead_letter:
      max_receive_count: 3
      queue: failurs
  refunds:
    dead_letter:
      max_receive_count: 3
      queue: somewhere-else
  failures: {}
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:6:14: queues.orders.dead_letter.queue: dead_letter.queue names unknown queue \"failurs\"; did you mean \"failures\"?",
            "queues.yaml:10:14: queues.refunds.dead_letter.queue: dead_letter.queue names unknown queue \"somewhere-else\": it must be a queue declared in this spec",
        ]
    );
}

#[test]
fn queue_as_own_dead_letter() {
    let spec = "\
project: p
queues:
  orders:
    dead_letter:
      max_receive_count: 3
      queue: orders
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:6:14: queues.orders.dead_letter.queue: queue \"orders\" cannot be its own dead-letter queue"
        ]
    );
}

#[test]
fn dead_letter_settings_with_named_queue() {
    let spec = "\
project: p
queues:
  orders:
    dead_letter:
      max_receive_count: 3
      queue: failures
      retention: 14d
      visibility_timeout: 1m
  failures: {}
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:7:18: queues.orders.dead_letter.retention: dead_letter.retention applies only to a derived dead-letter queue; set retention on queue \"failures\" instead",
            "queues.yaml:8:27: queues.orders.dead_letter.visibility_timeout: dead_letter.visibility_timeout applies only to a derived dead-letter queue; set visibility_timeout on queue \"failures\" instead",
        ]
    );
}

#[test]
fn unparsed_named_dead_letter_queue() {
    // The target's own error is the only one: its type is unknown, so no mismatch is reported.
    let spec = "\
project: p
queues:
  orders.fifo:
    fifo: true
    dead_letter:
      max_receive_count: 3
      queue: failures.fifo
  failures.fifo:
    fifo: true
    delay: soon
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:10:12: queues.failures.fifo.delay: invalid duration \"soon\": expected whole seconds or a number followed by s, m, h or d (for example 30s, 5m, 4d)"
        ]
    );
}

// Encryption.

#[test]
fn encryption_choices_resolve() {
    let spec = "\
project: p
queues:
  unset: {}
  open:
    encryption: none
  managed:
    encryption: sse-sqs
  customer:
    encryption:
      type: sse-kms
      kms_key: alias/orders
      data_key_reuse: 10m
  inferred:
    encryption:
      kms_key: alias/inferred
    dead_letter: {max_receive_count: 3}
";
    let loaded = loaded(spec);
    assert_eq!(
        queue(&loaded, "unset").attributes.encryption,
        Encryption::SseSqs
    );
    assert_eq!(
        queue(&loaded, "open").attributes.encryption,
        Encryption::None
    );
    assert_eq!(
        queue(&loaded, "managed").attributes.encryption,
        Encryption::SseSqs
    );
    assert_eq!(
        queue(&loaded, "customer").attributes.encryption,
        Encryption::SseKms {
            key: "alias/orders".to_string(),
            data_key_reuse_seconds: 600,
        }
    );

    // A kms_key without a type means sse-kms, with the SQS default reuse period of 5 minutes,
    // and the derived dead-letter queue is encrypted the same way.
    let inferred = Encryption::SseKms {
        key: "alias/inferred".to_string(),
        data_key_reuse_seconds: 300,
    };
    assert_eq!(queue(&loaded, "inferred").attributes.encryption, inferred);
    assert_eq!(
        queue(&loaded, "inferred-dlq").attributes.encryption,
        inferred
    );
}

#[test]
fn kms_key_with_other_encryption_type() {
    let spec = "\
project: p
queues:
  managed:
    encryption:
      type: sse-sqs
      kms_key: alias/orders
  open:
    encryption:
      type: none
      kms_key: alias/orders
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:6:16: queues.managed.encryption.kms_key: kms_key is set but encryption type is sse-sqs: a queue uses one kind of server-side encryption, so set type: sse-kms or remove kms_key",
            "queues.yaml:10:16: queues.open.encryption.kms_key: kms_key is set but encryption type is none: a queue uses one kind of server-side encryption, so set type: sse-kms or remove kms_key",
        ]
    );
}

#[test]
fn data_key_reuse_without_kms() {
    let spec = "\
project: p
queues:
  managed:
    encryption:
      type: sse-sqs
      data_key_reuse: 10m
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:6:23: queues.managed.encryption.data_key_reuse: data_key_reuse applies only to sse-kms encryption, but the type is sse-sqs"
        ]
    );
}

#[test]
fn kms_encryption_without_key() {
    let spec = "\
project: p
queues:
  payments:
    encryption: sse-kms
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:4:17: queues.payments.encryption: sse-kms needs a key: set encryption.kms_key, or kms_key in the environment file"
        ]
    );
}

#[test]
fn environment_kms_key_fills_in() {
    let spec = "\
project: p
queues:
  payments:
    encryption: sse-kms
  refunds:
    encryption:
      type: sse-kms
      kms_key: alias/refunds
";
    let environment = format!("{ENVIRONMENT}kms_key: alias/environment\n");
    let loaded = loaded_with(spec, &environment);
    assert_eq!(
        queue(&loaded, "payments").attributes.encryption,
        Encryption::SseKms {
            key: "alias/environment".to_string(),
            data_key_reuse_seconds: 300,
        }
    );
    assert_eq!(
        queue(&loaded, "refunds").attributes.encryption,
        Encryption::SseKms {
            key: "alias/refunds".to_string(),
            data_key_reuse_seconds: 300,
        }
    );
}

// Unknown keys.

#[test]
fn unknown_top_level_key() {
    let spec = "\
project: p
queus:
  a: {}
";
    assert_eq!(
        errors(spec),
        vec!["queues.yaml:2:1: queus: unknown key \"queus\"; did you mean \"queues\"?"]
    );
}

#[test]
fn unknown_queue_key() {
    let spec = "\
project: p
queues:
  a:
    visiblity_timeout: 30s
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:4:5: queues.a.visiblity_timeout: unknown key \"visiblity_timeout\"; did you mean \"visibility_timeout\"?"
        ]
    );
}

#[test]
fn unknown_dead_letter_key() {
    // The misspelt key leaves max_receive_count unset, and both errors are reported.
    let spec = "\
project: p
queues:
  a:
    dead_letter:
      max_recieve_count: 3
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:5:7: queues.a.dead_letter.max_recieve_count: unknown key \"max_recieve_count\"; did you mean \"max_receive_count\"?",
            "queues.yaml:5:7: queues.a.dead_letter: missing dead_letter.max_receive_count: how many receives SQS allows before it moves a message to the dead-letter queue (1 to 1000)",
        ]
    );
}

#[test]
fn unknown_encryption_key() {
    let spec = "\
project: p
queues:
  a:
    encryption:
      type: sse-kms
      kms_kye: alias/orders
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:5:7: queues.a.encryption: sse-kms needs a key: set encryption.kms_key, or kms_key in the environment file",
            "queues.yaml:6:7: queues.a.encryption.kms_kye: unknown key \"kms_kye\"; did you mean \"kms_key\"?",
        ]
    );
}

#[test]
fn unknown_key_without_near_match() {
    let spec = "\
project: p
queues:
  a:
    colour: blue
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:4:5: queues.a.colour: unknown key \"colour\"; valid keys are fifo, high_throughput, content_based_deduplication, deduplication_scope, throughput_limit, delay, max_message_size, retention, receive_wait, visibility_timeout, encryption, dead_letter, producers, consumers, enforce_tls, grants, alarms, tags"
        ]
    );
}

#[test]
fn unknown_key_in_defaults_reported_once() {
    let spec = "\
project: p
defaults:
  visiblity_timeout: 30s
queues:
  a: {}
  b: {}
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:3:3: defaults.visiblity_timeout: unknown key \"visiblity_timeout\"; did you mean \"visibility_timeout\"?"
        ]
    );
}

#[test]
fn unknown_environment_key() {
    let environment = "region: ap-south-1\naccount_id: \"123456789012\"\nkms_kye: alias/k\n";
    assert_eq!(
        errors_with(ONE_QUEUE, environment),
        vec![
            "environments/dev.yaml:3:1: kms_kye: unknown key \"kms_kye\"; did you mean \"kms_key\"?"
        ]
    );
}

#[test]
fn override_of_unknown_queue() {
    let spec = "\
project: p
queues:
  trip-events: {}
";
    let environment = "\
region: ap-south-1
account_id: \"123456789012\"
queues:
  trip-event:
    delay: 5s
  billing:
    delay: 5s
";
    assert_eq!(
        errors_with(spec, environment),
        vec![
            "environments/dev.yaml:4:3: queues.trip-event: override of unknown queue \"trip-event\"; did you mean \"trip-events\"?",
            "environments/dev.yaml:6:3: queues.billing: override of unknown queue \"billing\": the spec declares no such queue",
        ]
    );
}

// The dead-letter retention warning.

#[test]
fn short_dead_letter_retention_warns() {
    let spec = "\
project: p
queues:
  orders:
    retention: 4d
    dead_letter:
      max_receive_count: 3
      retention: 1d
  payments.fifo:
    fifo: true
    retention: 4d
    dead_letter:
      max_receive_count: 3
      retention: 1d
";
    let loaded = loaded(spec);
    assert_eq!(
        loaded.warnings,
        vec![Diagnostic {
            severity: Severity::Warning,
            file: "queues.yaml".to_string(),
            path: "queues.orders.dead_letter.retention".to_string(),
            line: Some(7),
            column: Some(18),
            message: "dead-letter queue retention 1d is shorter than the source queue's retention 4d: a standard queue keeps each message's original enqueue time, so messages can expire in the dead-letter queue before anyone reads them; make it at least 4d".to_string(),
        }]
    );
    assert_eq!(
        queue(&loaded, "orders-dlq")
            .attributes
            .message_retention_period,
        86_400
    );
}

#[test]
fn short_named_dead_letter_retention_warns() {
    // dead_letter.retention is rejected next to dead_letter.queue, so the advice names the
    // target queue's own retention.
    let spec = "\
project: p
queues:
  orders:
    retention: 4d
    dead_letter:
      max_receive_count: 3
      queue: failures
  failures:
    retention: 1d
";
    let loaded = loaded(spec);
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        vec![
            "queues.yaml:7:14: queues.orders.dead_letter.queue: dead-letter queue retention 1d is shorter than the source queue's retention 4d: a standard queue keeps each message's original enqueue time, so messages can expire in the dead-letter queue before anyone reads them; set retention of queue \"failures\" to at least 4d"
        ]
    );
    assert!(
        loaded
            .warnings
            .iter()
            .all(|warning| warning.severity == Severity::Warning)
    );
}

// The environment file.

#[test]
fn environment_missing_region() {
    let environment = "account_id: \"123456789012\"\n";
    assert_eq!(
        errors_with(ONE_QUEUE, environment),
        vec![
            "environments/dev.yaml:1:1: (document): missing region, for example region: ap-south-1"
        ]
    );
}

#[test]
fn environment_invalid_region() {
    let environment = "region: Mumbai\naccount_id: \"123456789012\"\n";
    assert_eq!(
        errors_with(ONE_QUEUE, environment),
        vec![
            "environments/dev.yaml:1:9: region: invalid region \"Mumbai\": expected a region code such as ap-south-1"
        ]
    );
}

#[test]
fn environment_missing_account_id() {
    let environment = "region: ap-south-1\n";
    assert_eq!(
        errors_with(ONE_QUEUE, environment),
        vec![
            "environments/dev.yaml:1:1: (document): missing account_id: every environment names the 12-digit AWS account it deploys to, so a plan never runs against the wrong account"
        ]
    );
}

#[test]
fn environment_account_id_not_twelve_digits() {
    for account in ["12345678901", "1234567890123", "12345678901a"] {
        let environment = format!("region: ap-south-1\naccount_id: \"{account}\"\n");
        assert_eq!(
            errors_with(ONE_QUEUE, &environment),
            vec![format!(
                "environments/dev.yaml:2:13: account_id: invalid account_id \"{account}\": expected 12 digits in quotes, such as \"123456789012\""
            )]
        );
    }
}

#[test]
fn environment_endpoint_without_scheme() {
    let environment = format!("{ENVIRONMENT}endpoint_url: 127.0.0.1:4566\n");
    assert_eq!(
        errors_with(ONE_QUEUE, &environment),
        vec![
            "environments/dev.yaml:3:15: endpoint_url: invalid endpoint_url \"127.0.0.1:4566\": expected an http:// or https:// URL"
        ]
    );
}

#[test]
fn emulator_credentials_need_loopback() {
    let message = "emulator_credentials needs an endpoint_url on loopback (127.0.0.1, localhost or [::1]), so dummy credentials never reach AWS";
    for endpoint in [
        "https://sqs.ap-south-1.amazonaws.com",
        "http://10.0.0.5:4566",
    ] {
        let environment =
            format!("{ENVIRONMENT}endpoint_url: {endpoint}\nemulator_credentials: true\n");
        assert_eq!(
            errors_with(ONE_QUEUE, &environment),
            vec![format!(
                "environments/dev.yaml:4:23: emulator_credentials: {message}"
            )]
        );
    }

    let environment = format!("{ENVIRONMENT}emulator_credentials: true\n");
    assert_eq!(
        errors_with(ONE_QUEUE, &environment),
        vec![format!(
            "environments/dev.yaml:3:23: emulator_credentials: {message}"
        )]
    );

    for endpoint in [
        "http://127.0.0.1:4566",
        "http://localhost:4566",
        "http://[::1]:4566",
    ] {
        let environment =
            format!("{ENVIRONMENT}endpoint_url: \"{endpoint}\"\nemulator_credentials: true\n");
        let loaded = loaded_with(ONE_QUEUE, &environment);
        assert_eq!(
            loaded.desired.connection.endpoint_url.as_deref(),
            Some(endpoint)
        );
        assert!(loaded.desired.connection.emulator_credentials);
    }
}

#[test]
fn environment_invalid_role_arn() {
    let environment = format!("{ENVIRONMENT}role_arn: arn:aws:iam::12345:role/deployer\n");
    assert_eq!(
        errors_with(ONE_QUEUE, &environment),
        vec![
            "environments/dev.yaml:3:11: role_arn: invalid role_arn \"arn:aws:iam::12345:role/deployer\": expected arn:aws:iam::<12-digit account>:role/<name>"
        ]
    );

    let environment = format!("{ENVIRONMENT}role_arn: arn:aws:iam::123456789012:role/deployer\n");
    let loaded = loaded_with(ONE_QUEUE, &environment);
    assert_eq!(
        loaded.desired.connection.role_arn.as_deref(),
        Some("arn:aws:iam::123456789012:role/deployer")
    );
}

#[test]
fn environment_and_queue_errors_together() {
    let spec = "\
project: p
queues:
  a:
    delay: 901
    colour: blue
";
    let environment = "account_id: \"12345\"\n";
    let errors = errors_with(spec, environment);
    assert_eq!(
        errors,
        vec![
            "environments/dev.yaml:1:1: (document): missing region, for example region: ap-south-1",
            "environments/dev.yaml:1:13: account_id: invalid account_id \"12345\": expected 12 digits in quotes, such as \"123456789012\"",
            "queues.yaml:4:12: queues.a.delay: delay must be between 0s and 15m (0 to 900 seconds), got 901 seconds",
            "queues.yaml:5:5: queues.a.colour: unknown key \"colour\"; valid keys are fifo, high_throughput, content_based_deduplication, deduplication_scope, throughput_limit, delay, max_message_size, retention, receive_wait, visibility_timeout, encryption, dead_letter, producers, consumers, enforce_tls, grants, alarms, tags",
        ]
    );
}

// Tags.

#[test]
fn reserved_and_oversized_tags() {
    let fits = "v".repeat(256);
    let too_long = "w".repeat(257);
    let spec = format!(
        "\
project: p
tags:
  aws:team: trips
queues:
  a:
    tags:
      sqsform:owner: me
      fits: {fits}
      long: {too_long}
"
    );
    let environment = format!("{ENVIRONMENT}tags:\n  aws:cloudformation:stack: s\n");
    assert_eq!(
        errors_with(&spec, &environment),
        vec![
            "environments/dev.yaml:4:3: tags.aws:cloudformation:stack: invalid tag key \"aws:cloudformation:stack\": the aws: prefix is reserved by AWS".to_string(),
            "queues.yaml:3:3: tags.aws:team: invalid tag key \"aws:team\": the aws: prefix is reserved by AWS".to_string(),
            "queues.yaml:7:7: queues.a.tags.sqsform:owner: invalid tag key \"sqsform:owner\": the sqsform: prefix is reserved for the ownership tags sqsform sets itself".to_string(),
            "queues.yaml:9:7: queues.a.tags.long: tag \"long\" has a value of 257 characters; SQS allows at most 256".to_string(),
        ]
    );
}

#[test]
fn tags_merge_into_every_queue() {
    let spec = "\
project: p
tags:
  product: rides
  team: platform
queues:
  a:
    tags:
      team: trips
    dead_letter: {max_receive_count: 3}
";
    let environment = format!("{ENVIRONMENT}tags:\n  environment: dev\n");
    let loaded = loaded_with(spec, &environment);
    for key in ["a", "a-dlq"] {
        let tags = &queue(&loaded, key).tags;
        let pairs: Vec<(&str, &str)> = tags
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("environment", "dev"),
                ("product", "rides"),
                ("sqsform:environment", "dev"),
                ("sqsform:managed", "true"),
                ("sqsform:project", "p"),
                ("team", "trips"),
            ],
            "tags of {key}"
        );
    }
}

// Overlay precedence.

#[test]
fn overlay_precedence_and_null_reset() {
    let spec = "\
project: p
defaults:
  delay: 1
  retention: 1h
  receive_wait: 1
  visibility_timeout: 1
queues:
  a:
    receive_wait: 3
    visibility_timeout: 3
";
    let environment = format!(
        "\
{ENVIRONMENT}defaults:
  retention: 2h
  receive_wait: 2
  visibility_timeout: 2
queues:
  a:
    visibility_timeout: 4
    delay: null
"
    );
    let loaded = loaded_with(spec, &environment);
    let attributes = &queue(&loaded, "a").attributes;

    // The environment's defaults beat the spec's defaults.
    assert_eq!(attributes.message_retention_period, 7_200);
    // The spec's queue beats the environment's defaults.
    assert_eq!(attributes.receive_message_wait_time_seconds, 3);
    // The environment's queue beats the spec's queue.
    assert_eq!(attributes.visibility_timeout, 4);
    // null drops the spec default of 1 second, leaving the SQS default of 0.
    assert_eq!(attributes.delay_seconds, 0);
}

#[test]
fn environment_value_error_names_environment_file() {
    let spec = "\
project: p
queues:
  a:
    visibility_timeout: 30s
  b: {}
";
    let environment = format!(
        "\
{ENVIRONMENT}defaults:
  delay: 16m
queues:
  a:
    visibility_timeout: 13h
"
    );
    assert_eq!(
        errors_with(spec, &environment),
        vec![
            "environments/dev.yaml:4:10: defaults.delay: delay must be between 0s and 15m (0 to 900 seconds), got 960 seconds",
            "environments/dev.yaml:7:25: queues.a.visibility_timeout: visibility_timeout must be between 0s and 12h (0 to 43200 seconds), got 46800 seconds",
        ]
    );
}

// The shipped spec.

fn shipped_paths() -> SpecPaths {
    SpecPaths::beside(concat!(env!("CARGO_MANIFEST_DIR"), "/queues.yaml"))
}

const SHIPPED_QUEUES: [&str; 8] = [
    "trip-events",
    "driver-events",
    "payment-events.fifo",
    "provider-webhooks",
    "notifications",
    "analytics-events",
    "rapido-sync",
    "accounting.fifo",
];

#[test]
fn shipped_spec_loads_for_every_environment() {
    let paths = shipped_paths();
    assert_eq!(
        environments(&paths).unwrap(),
        vec!["dev", "local", "prod", "staging"]
    );

    for environment in ["local", "dev", "staging", "prod"] {
        let loaded = match load(&paths, environment) {
            Ok(loaded) => loaded,
            Err(SpecError::Invalid { diagnostics }) => {
                let lines: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
                panic!("{environment}: {}", lines.join("\n"))
            }
            Err(other) => panic!("{environment}: {other}"),
        };
        assert_eq!(loaded.warnings, Vec::new(), "{environment}");
        assert_eq!(
            loaded.desired.prefix,
            format!("driversklub-{environment}-"),
            "{environment}"
        );
        assert_eq!(
            loaded.desired.queues.len(),
            2 * SHIPPED_QUEUES.len(),
            "{environment}"
        );

        for key in SHIPPED_QUEUES {
            let source = queue(&loaded, key);
            let dead_letter_key = match key.strip_suffix(".fifo") {
                Some(stem) => format!("{stem}-dlq.fifo"),
                None => format!("{key}-dlq"),
            };
            let dead_letter = queue(&loaded, &dead_letter_key);
            assert_eq!(
                source.attributes.redrive_policy,
                Some(RedrivePolicy {
                    dead_letter_target_arn: dead_letter.arn.clone(),
                    max_receive_count: 3,
                }),
                "{environment} {key}"
            );
            assert_eq!(
                dead_letter.attributes.message_retention_period, 1_209_600,
                "{environment} {key}"
            );
            for checked in [source, dead_letter] {
                assert_eq!(
                    checked.tags.get("sqsform:managed").map(String::as_str),
                    Some("true")
                );
                assert_eq!(
                    checked.tags.get("sqsform:project").map(String::as_str),
                    Some("driversklub")
                );
                assert_eq!(
                    checked.tags.get("sqsform:environment").map(String::as_str),
                    Some(environment)
                );
            }
        }
    }
}

#[test]
fn shipped_prod_values() {
    let loaded = load(&shipped_paths(), "prod").unwrap();
    let desired = &loaded.desired;
    assert_eq!(desired.prefix, "driversklub-prod-");
    assert_eq!(desired.region, "ap-south-1");
    assert_eq!(desired.account_id, "333333333333");

    let webhooks = desired.queue("driversklub-prod-provider-webhooks").unwrap();
    assert_eq!(webhooks.attributes.visibility_timeout, 900);

    let payments = desired
        .queue("driversklub-prod-payment-events.fifo")
        .unwrap();
    assert_eq!(
        payments.attributes.fifo,
        Some(FifoAttributes {
            content_based_deduplication: true,
            deduplication_scope: DeduplicationScope::MessageGroup,
            throughput_limit: ThroughputLimit::PerMessageGroupId,
        })
    );
    assert_eq!(
        payments.attributes.encryption,
        Encryption::SseKms {
            key: "arn:aws:kms:ap-south-1:333333333333:key/9f4b2d6e-1a3c-4e5f-8b7a-6c5d4e3f2a1b"
                .to_string(),
            data_key_reuse_seconds: 300,
        }
    );
    assert_eq!(payments.attributes.message_retention_period, 1_209_600);
    assert!(
        desired
            .queue("driversklub-prod-payment-events-dlq.fifo")
            .is_some()
    );
}

#[test]
fn settings_of_wrong_type() {
    let spec = "\
project: p
queues:
  a: 5
  b:
    encryption: 5
  c:
    dead_letter: 5
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:3:6: queues.a: invalid type: integer `5`, expected a mapping of queue settings",
            "queues.yaml:5:17: queues.b.encryption: invalid type: integer `5`, expected none, sse-sqs, sse-kms or a mapping with type, kms_key and data_key_reuse",
            "queues.yaml:7:18: queues.c.dead_letter: invalid type: integer `5`, expected false or a mapping with max_receive_count",
        ]
    );

    assert_eq!(
        errors("- a\n"),
        vec![
            "queues.yaml:1:1: (document): invalid type: sequence, expected a mapping with project, services, dashboard, topics, tags, defaults and queues"
        ]
    );
    assert_eq!(
        errors_with(ONE_QUEUE, "- a\n"),
        vec![
            "environments/dev.yaml:1:1: (document): invalid type: sequence, expected a mapping of environment settings such as region and account_id"
        ]
    );
}

#[test]
fn missing_and_invalid_project() {
    assert_eq!(
        errors("queues:\n  a: {}\n"),
        vec![
            "queues.yaml:1:1: (document): missing project: name the project, for example project: driversklub"
        ]
    );
    // The queue name is checked without the invalid prefix, so it adds no error of its own.
    assert_eq!(
        errors("project: driver club\nqueues:\n  a: {}\n"),
        vec![
            "queues.yaml:1:10: project: invalid project \"driver club\": use letters, digits, hyphens and underscores"
        ]
    );
}

#[test]
fn environment_name_prefix_replaces_default() {
    let environment = format!("{ENVIRONMENT}name_prefix: rides_\n");
    let loaded = loaded_with(ONE_QUEUE, &environment);
    assert_eq!(loaded.desired.prefix, "rides_");
    assert_eq!(loaded.desired.queues[0].name, "rides_a");
    assert_eq!(loaded.desired.queues[0].arn, arn("rides_a"));

    let environment = format!("{ENVIRONMENT}name_prefix: rides.\n");
    assert_eq!(
        errors_with(ONE_QUEUE, &environment),
        vec![
            "environments/dev.yaml:3:14: name_prefix: invalid name_prefix \"rides.\": use letters, digits, hyphens and underscores"
        ]
    );
}

#[test]
fn invalid_yaml_syntax() {
    assert_eq!(
        errors("project: [p\n"),
        vec![
            "queues.yaml:2:1: (document): invalid YAML: did not find expected ',' or ']' at line 2 column 1, while parsing a flow sequence at line 1 column 10"
        ]
    );
    assert_eq!(
        errors("project: p\nqueues:\n  a: {}\n  a: {}\n"),
        vec![
            "queues.yaml:3:3: (document): invalid YAML: queues: duplicate entry with key \"a\" at line 3 column 3"
        ]
    );
}

#[test]
fn dead_letter_false_drops_default() {
    let spec = "\
project: p
defaults:
  dead_letter:
    max_receive_count: 3
queues:
  kept: {}
  dropped:
    dead_letter: false
";
    let loaded = loaded(spec);
    let keys: Vec<&str> = loaded
        .desired
        .queues
        .iter()
        .map(|queue| queue.key.as_str())
        .collect();
    assert_eq!(keys, vec!["kept", "kept-dlq", "dropped"]);
    assert_eq!(queue(&loaded, "dropped").attributes.redrive_policy, None);
}

#[test]
fn unquoted_account_id_is_accepted() {
    let loaded = load_from_text(
        "queues.yaml",
        "project: shop\nqueues:\n  orders: {}\n",
        "test",
        "region: us-east-1\naccount_id: 123456789012\n",
    )
    .expect("valid");
    assert_eq!(loaded.desired.account_id, "123456789012");
}

#[test]
fn queue_encryption_type_replaces_default_key() {
    let spec = "project: shop\ndefaults:\n  encryption: {type: sse-kms, kms_key: alias/shop}\nqueues:\n  orders:\n    encryption: sse-sqs\n  invoices: {}\n";
    let loaded = load_from_text(
        "queues.yaml",
        spec,
        "test",
        "region: us-east-1\naccount_id: \"123456789012\"\n",
    )
    .expect("valid");
    assert_eq!(
        loaded.desired.queues[0].attributes.encryption,
        crate::model::Encryption::SseSqs
    );
    assert_eq!(
        loaded.desired.queues[1].attributes.encryption,
        crate::model::Encryption::SseKms {
            key: "alias/shop".into(),
            data_key_reuse_seconds: 300
        }
    );
}

#[test]
fn dead_letter_cycles_are_rejected() {
    let spec = "\
project: shop
queues:
  a:
    dead_letter: {queue: b, max_receive_count: 3}
  b:
    dead_letter: {queue: a, max_receive_count: 3}
  c:
    dead_letter: {queue: d, max_receive_count: 3}
  d:
    dead_letter: {queue: e, max_receive_count: 3}
  e:
    dead_letter: {queue: c, max_receive_count: 3}
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:4:26: queues.a.dead_letter.queue: dead-letter queues form a cycle: a → b → a; SQS would move failed messages around it and no queue of it could be created first, so give one of them no dead_letter".to_string(),
            "queues.yaml:8:26: queues.c.dead_letter.queue: dead-letter queues form a cycle: c → d → e → c; SQS would move failed messages around it and no queue of it could be created first, so give one of them no dead_letter".to_string(),
        ]
    );
}

#[test]
fn dead_letter_chain_is_accepted() {
    let spec = "project: shop\nqueues:\n  a:\n    dead_letter: {queue: b, max_receive_count: 3}\n  b:\n    dead_letter: {queue: c, max_receive_count: 3}\n  c: {}\n";
    let loaded = load_from_text(
        "queues.yaml",
        spec,
        "dev",
        "region: us-east-1\naccount_id: \"123456789012\"\n",
    )
    .expect("a chain is valid");
    assert_eq!(loaded.warnings, Vec::new());
}

#[test]
fn every_type_error_in_queue_is_listed() {
    let spec = "\
project: shop
queues:
  a:
    delay: yes
    fifo: 'true'
    max_message_size: 2KB
    colour: blue
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:4:12: queues.a.delay: invalid duration \"yes\": expected whole seconds or a number followed by s, m, h or d (for example 30s, 5m, 4d)".to_string(),
            "queues.yaml:5:11: queues.a.fifo: invalid type: string \"true\", expected a boolean".to_string(),
            "queues.yaml:6:23: queues.a.max_message_size: expected a whole number, written without quotes or units".to_string(),
            "queues.yaml:7:5: queues.a.colour: unknown key \"colour\"; valid keys are fifo, high_throughput, content_based_deduplication, deduplication_scope, throughput_limit, delay, max_message_size, retention, receive_wait, visibility_timeout, encryption, dead_letter, producers, consumers, enforce_tls, grants, alarms, tags".to_string(),
        ]
    );
}

#[test]
fn unquoted_tag_values_become_text() {
    let spec = "project: shop\ntags: {cost_center: 4711, pci: true}\nqueues:\n  a: {}\n";
    let loaded = load_from_text(
        "queues.yaml",
        spec,
        "dev",
        "region: us-east-1\naccount_id: \"123456789012\"\n",
    )
    .expect("valid");
    assert_eq!(
        loaded.desired.queues[0]
            .tags
            .get("cost_center")
            .map(String::as_str),
        Some("4711")
    );
    assert_eq!(
        loaded.desired.queues[0].tags.get("pci").map(String::as_str),
        Some("true")
    );
}

#[test]
fn many_tags_warn() {
    let tags: String = (0..48)
        .map(|index| format!("      t{index}: v\n"))
        .collect();
    let spec = format!("project: shop\nqueues:\n  a:\n    tags:\n{tags}");
    let loaded = load_from_text(
        "queues.yaml",
        &spec,
        "dev",
        "region: us-east-1\naccount_id: \"123456789012\"\n",
    )
    .expect("valid");
    let messages: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        vec!["queues.yaml:5:7: queues.a.tags: queue \"a\" has 51 tags, counting the 3 sqsform sets; SQS recommends at most 50 per queue".to_string()]
    );
}
