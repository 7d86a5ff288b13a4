//! Tests of the access rules through `load_from_text`: services and roles, KMS keys in IAM
//! grants, policy limits, the security lint of queue grants, and the resolved service policies.

use serde_json::{Value, json};

use crate::model::ServicePolicy;
use crate::spec::{Loaded, Severity, SpecError, load_from_text};

/// A valid environment file for the environment `dev`, so the prefix is `p-dev-` when the spec
/// says `project: p`.
const ENVIRONMENT: &str = "region: ap-south-1\naccount_id: \"123456789012\"\n";

/// [`ENVIRONMENT`] with the service `checkout` mapped to a role.
const CHECKOUT_ENVIRONMENT: &str =
    "region: ap-south-1\naccount_id: \"123456789012\"\nservices:\n  checkout: checkout-role\n";

/// Loads the files as environment `dev` and returns every error as
/// `file:line:column: path: message`, warnings left out, failing the test if they load.
fn errors_with(spec: &str, environment: &str) -> Vec<String> {
    match load_from_text("queues.yaml", spec, "dev", environment) {
        Ok(loaded) => panic!(
            "expected errors, but the spec loaded with warnings {:?}",
            loaded.warnings
        ),
        Err(SpecError::Invalid { diagnostics }) => diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.severity == Severity::Error)
            .map(ToString::to_string)
            .collect(),
        Err(other) => panic!("expected diagnostics, got: {other}"),
    }
}

/// Returns the errors of `spec` with [`ENVIRONMENT`].
fn errors(spec: &str) -> Vec<String> {
    errors_with(spec, ENVIRONMENT)
}

/// Loads the files as environment `dev`, failing the test on any error.
fn loaded_with(spec: &str, environment: &str) -> Loaded {
    match load_from_text("queues.yaml", spec, "dev", environment) {
        Ok(loaded) => loaded,
        Err(SpecError::Invalid { diagnostics }) => {
            let lines: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
            panic!("expected the spec to load, got:\n{}", lines.join("\n"))
        }
        Err(other) => panic!("expected the spec to load, got: {other}"),
    }
}

/// Returns the resolved managed policy of `service`, failing the test if there is none.
fn service_policy<'a>(loaded: &'a Loaded, service: &str) -> &'a ServicePolicy {
    loaded
        .desired
        .service_policies
        .iter()
        .find(|policy| policy.service == service)
        .unwrap_or_else(|| panic!("no policy for service \"{service}\""))
}

/// Returns the composed access policy of the queue with spec key `key`.
fn queue_policy(loaded: &Loaded, key: &str) -> Option<Value> {
    loaded
        .desired
        .queues
        .iter()
        .find(|queue| queue.key == key)
        .unwrap_or_else(|| panic!("no resolved queue with key \"{key}\""))
        .attributes
        .policy
        .clone()
}

fn arn(name: &str) -> String {
    format!("arn:aws:sqs:ap-south-1:123456789012:{name}")
}

/// Returns a spec whose queue `orders` has the given grants, written as YAML list items
/// indented for the `grants:` key, after one leading newline that is dropped.
fn spec_with_grants(grants: &str) -> String {
    let grants = grants.strip_prefix('\n').unwrap_or(grants);
    format!("project: p\nqueues:\n  orders:\n    grants:\n{grants}")
}

// Services and roles.

#[test]
fn unknown_producer_gets_suggestion() {
    let spec = "\
project: p
services:
  checkout: {}
queues:
  orders:
    producers: [chekout]
    consumers: [warehouse]
";
    assert_eq!(
        errors_with(spec, CHECKOUT_ENVIRONMENT),
        vec![
            "queues.yaml:6:17: queues.orders.producers[0]: queue \"orders\" names unknown producer \"chekout\"; did you mean \"checkout\"?",
            "queues.yaml:7:17: queues.orders.consumers[0]: queue \"orders\" names unknown consumer \"warehouse\": declare it under services:",
        ]
    );
}

#[test]
fn unknown_consumer_gets_suggestion() {
    let spec = "\
project: p
services:
  checkout: {}
  fulfilment: {}
queues:
  orders:
    producers: [checkout]
    consumers: [checkout, fulfillment]
";
    let environment = format!("{CHECKOUT_ENVIRONMENT}  fulfilment: fulfilment-role\n");
    assert_eq!(
        errors_with(spec, &environment),
        vec![
            "queues.yaml:8:27: queues.orders.consumers[1]: queue \"orders\" names unknown consumer \"fulfillment\"; did you mean \"fulfilment\"?",
        ]
    );
}

#[test]
fn service_without_role_is_rejected() {
    let spec = "\
project: p
services:
  checkout: {}
queues:
  orders:
    producers: [checkout]
";
    assert_eq!(
        errors_with(spec, ENVIRONMENT),
        vec![
            "environments/dev.yaml:1:1: (document): service \"checkout\" has no IAM role in this environment; add it under services:, for example checkout: p-dev-checkout",
        ]
    );
}

#[test]
fn service_without_queues_warns() {
    let spec = "\
project: p
services:
  checkout: {}
  reporting: {}
queues:
  orders:
    producers: [checkout]
";

    let loaded = loaded_with(spec, CHECKOUT_ENVIRONMENT);

    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        vec![
            "queues.yaml:4:3: services.reporting: service \"reporting\" neither produces to, consumes from nor publishes to anything, so it gets no IAM policy",
        ]
    );
    let services: Vec<&str> = loaded
        .desired
        .service_policies
        .iter()
        .map(|policy| policy.service.as_str())
        .collect();
    assert_eq!(services, ["checkout"]);
}

#[test]
fn role_for_unknown_service() {
    let spec = "\
project: p
services:
  checkout: {}
queues:
  orders:
    producers: [checkout]
";
    let environment =
        format!("{CHECKOUT_ENVIRONMENT}  chekout: other-role\n  billing: billing-role\n");
    assert_eq!(
        errors_with(spec, &environment),
        vec![
            "environments/dev.yaml:5:3: services.chekout: role for unknown service \"chekout\"; did you mean \"checkout\"?",
            "environments/dev.yaml:6:3: services.billing: role for unknown service \"billing\": the spec declares no such service",
        ]
    );
}

#[test]
fn invalid_role_names_are_rejected() {
    let spec = "\
project: p
services:
  checkout: {}
  fulfilment: {}
queues:
  orders:
    producers: [checkout]
    consumers: [fulfilment]
    dead_letter:
      max_receive_count: 3
";
    let too_long = "r".repeat(65);
    let environment = format!(
        "{ENVIRONMENT}services:\n  checkout: checkout role\n  fulfilment: {too_long}\noperators_role: ops/role\n"
    );
    assert_eq!(
        errors_with(spec, &environment),
        vec![
            "environments/dev.yaml:4:13: services.checkout: invalid role name \"checkout role\": IAM role names are 1 to 64 characters of letters, digits and +=,.@_-".to_string(),
            format!(
                "environments/dev.yaml:5:15: services.fulfilment: invalid role name \"{too_long}\": IAM role names are 1 to 64 characters of letters, digits and +=,.@_-"
            ),
            "environments/dev.yaml:6:17: operators_role: invalid role name \"ops/role\": IAM role names are 1 to 64 characters of letters, digits and +=,.@_-".to_string(),
        ]
    );
}

#[test]
fn max_length_role_name_accepted() {
    let spec = "\
project: p
services:
  checkout: {}
queues:
  orders:
    producers: [checkout]
";
    let role = format!("{}+=,.@_-", "r".repeat(57));
    assert_eq!(role.len(), 64);

    let loaded = loaded_with(
        spec,
        &format!("{ENVIRONMENT}services:\n  checkout: {role}\n"),
    );

    assert_eq!(service_policy(&loaded, "checkout").role, role);
}

#[test]
fn operators_service_name_is_reserved() {
    let spec = "\
project: p
services:
  operators: {}
queues:
  orders: {}
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:3:3: services.operators: the service name \"operators\" is reserved for the operators_role policy; pick another name",
        ]
    );
}

// KMS keys in IAM grants.

#[test]
fn kms_alias_with_producers_is_rejected() {
    let spec = "\
project: p
services:
  checkout: {}
queues:
  orders:
    encryption:
      type: sse-kms
      kms_key: alias/orders
    producers: [checkout]
  ledger:
    encryption:
      type: sse-kms
      kms_key: arn:aws:kms:ap-south-1:123456789012:alias/ledger
    consumers: [checkout]
  archive:
    encryption:
      type: sse-kms
      kms_key: alias/archive
";
    assert_eq!(
        errors_with(spec, CHECKOUT_ENVIRONMENT),
        vec![
            "queues.yaml:8:16: queues.orders.encryption.kms_key: KMS key \"alias/orders\" of queue \"orders\" is not a key ARN or key id; IAM grants for the queue's services must name the key ARN (arn:aws:kms:<region>:<account>:key/<key id>), because IAM does not match aliases in Resource",
            "queues.yaml:13:16: queues.ledger.encryption.kms_key: KMS key \"arn:aws:kms:ap-south-1:123456789012:alias/ledger\" of queue \"ledger\" is not a key ARN or key id; IAM grants for the queue's services must name the key ARN (arn:aws:kms:<region>:<account>:key/<key id>), because IAM does not match aliases in Resource",
        ]
    );
}

#[test]
fn environment_kms_alias_is_rejected() {
    let spec = "\
project: p
services:
  checkout: {}
queues:
  orders:
    encryption: sse-kms
    producers: [checkout]
";
    let environment = format!("{CHECKOUT_ENVIRONMENT}kms_key: alias/shared\n");
    assert_eq!(
        errors_with(spec, &environment),
        vec![
            "environments/dev.yaml:5:10: kms_key: KMS key \"alias/shared\" of queue \"orders\" is not a key ARN or key id; IAM grants for the queue's services must name the key ARN (arn:aws:kms:<region>:<account>:key/<key id>), because IAM does not match aliases in Resource",
        ]
    );
}

#[test]
fn default_kms_alias_points_at_defaults() {
    let spec = "\
project: p
services:
  checkout: {}
defaults:
  encryption:
    type: sse-kms
    kms_key: alias/shared
queues:
  orders:
    producers: [checkout]
";
    assert_eq!(
        errors_with(spec, CHECKOUT_ENVIRONMENT),
        vec![
            "queues.yaml:7:14: defaults.encryption.kms_key: KMS key \"alias/shared\" of queue \"orders\" is not a key ARN or key id; IAM grants for the queue's services must name the key ARN (arn:aws:kms:<region>:<account>:key/<key id>), because IAM does not match aliases in Resource",
        ]
    );
}

#[test]
fn overlay_kms_alias_points_at_overlay() {
    let spec = "\
project: p
services:
  checkout: {}
queues:
  orders:
    encryption: sse-kms
    producers: [checkout]
";
    let environment = format!(
        "{CHECKOUT_ENVIRONMENT}kms_key: arn:aws:kms:ap-south-1:123456789012:key/k1\nqueues:\n  orders:\n    encryption:\n      kms_key: alias/override\n"
    );
    assert_eq!(
        errors_with(spec, &environment),
        vec![
            "environments/dev.yaml:9:16: queues.orders.encryption.kms_key: KMS key \"alias/override\" of queue \"orders\" is not a key ARN or key id; IAM grants for the queue's services must name the key ARN (arn:aws:kms:<region>:<account>:key/<key id>), because IAM does not match aliases in Resource",
        ]
    );
}

#[test]
fn dead_letter_kms_alias_for_operators() {
    // No service uses the queue, but the operators policy covers its dead-letter queue, which
    // has the source's key.
    let spec = "\
project: p
queues:
  payments:
    encryption:
      type: sse-kms
      kms_key: alias/payments
    dead_letter:
      max_receive_count: 3
";
    let environment = format!("{ENVIRONMENT}operators_role: operators-role\n");
    assert_eq!(
        errors_with(spec, &environment),
        vec![
            "queues.yaml:6:16: queues.payments.encryption.kms_key: KMS key \"alias/payments\" of queue \"payments\" is not a key ARN or key id; IAM grants for the queue's services must name the key ARN (arn:aws:kms:<region>:<account>:key/<key id>), because IAM does not match aliases in Resource",
        ]
    );
}

#[test]
fn kms_alias_without_services_is_accepted() {
    let spec = "\
project: p
queues:
  archive:
    encryption:
      type: sse-kms
      kms_key: alias/archive
";

    let loaded = loaded_with(spec, ENVIRONMENT);

    assert!(loaded.desired.service_policies.is_empty());
}

#[test]
fn bare_key_id_becomes_key_arn() {
    let spec = "\
project: p
services:
  checkout: {}
queues:
  orders:
    encryption:
      type: sse-kms
      kms_key: 1234abcd-12ab-34cd-56ef-1234567890ab
    producers: [checkout]
";

    let loaded = loaded_with(spec, CHECKOUT_ENVIRONMENT);

    let document = &service_policy(&loaded, "checkout").document;
    assert_eq!(
        document["Statement"][1],
        json!({
            "Sid": "EncryptForQueues",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": ["arn:aws:kms:ap-south-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"],
        })
    );
}

#[test]
fn kms_key_arn_is_kept() {
    let spec = "\
project: p
services:
  checkout: {}
queues:
  orders:
    encryption: sse-kms
    consumers: [checkout]
";
    let key = "arn:aws:kms:ap-south-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let environment = format!("{CHECKOUT_ENVIRONMENT}kms_key: {key}\n");

    let loaded = loaded_with(spec, &environment);

    let document = &service_policy(&loaded, "checkout").document;
    assert_eq!(document["Statement"][1]["Resource"], json!([key]));
}

// IAM policy limits.

/// Returns a spec in which `checkout` produces to `count` queues named `queue-000` onwards.
fn producer_spec(count: usize) -> String {
    let mut spec = String::from("project: p\nservices:\n  checkout: {}\nqueues:\n");
    for number in 0..count {
        spec.push_str(&format!(
            "  queue-{number:03}:\n    producers: [checkout]\n"
        ));
    }
    spec
}

#[test]
fn iam_policy_over_limit_is_rejected() {
    // Each queue ARN adds 54 characters ("arn:aws:sqs:ap-south-1:123456789012:p-dev-queue-000"
    // with quotes and a comma) to 163 for the rest, so 110 queues fit in 6,144 characters and
    // 111 do not.
    let fits = loaded_with(&producer_spec(110), CHECKOUT_ENVIRONMENT);
    let size =
        crate::policy::generate::iam_policy_size(&service_policy(&fits, "checkout").document);
    assert_eq!(size, 6_103);

    assert_eq!(
        errors_with(&producer_spec(111), CHECKOUT_ENVIRONMENT),
        vec![
            "queues.yaml:3:3: services.checkout: the IAM policy of service \"checkout\" would be 6157 characters without white space; IAM allows at most 6144 for a managed policy, so give the service fewer queues or split it into two services",
        ]
    );
}

// The security lint of queue grants.

#[test]
fn anyone_without_condition_is_rejected() {
    let spec = spec_with_grants(
        "
      - Sid: Public
        Effect: Allow
        Principal: '*'
        Action: sqs:SendMessage
      - Effect: Allow
        Principal:
          AWS: ['111122223333', '*']
        Action: sqs:SendMessage
        Condition:
          Bool:
            aws:SecureTransport: 'true'
",
    );
    assert_eq!(
        errors(&spec),
        vec![
            "queues.yaml:7:20: queues.orders.grants[0].Principal: grant \"Public\" allows any principal (\"*\") with no condition that narrows it, so anyone who learns the queue URL could use the queue; name the principals, or add a condition on aws:SourceArn, aws:SourceAccount or aws:PrincipalOrgID",
            "queues.yaml:11:11: queues.orders.grants[1].Principal: grant 2 allows any principal (\"*\") with no condition that narrows it, so anyone who learns the queue URL could use the queue; name the principals, or add a condition on aws:SourceArn, aws:SourceAccount or aws:PrincipalOrgID",
        ]
    );
}

#[test]
fn narrowing_conditions_allow_anyone() {
    for (operator, key, value) in [
        (
            "ArnEquals",
            "aws:SourceArn",
            "arn:aws:sns:ap-south-1:123456789012:trips",
        ),
        ("StringEquals", "aws:SourceAccount", "123456789012"),
        ("StringEquals", "aws:PrincipalOrgID", "o-abcdef1234"),
        ("StringEquals", "AWS:SOURCEACCOUNT", "123456789012"),
    ] {
        let spec = spec_with_grants(&format!(
            "
      - Effect: Allow
        Principal: '*'
        Action: sqs:SendMessage
        Condition:
          {operator}:
            {key}: '{value}'
"
        ));

        let loaded = loaded_with(&spec, ENVIRONMENT);

        let policy = queue_policy(&loaded, "orders").expect("orders has a policy");
        assert_eq!(
            policy["Statement"][1]["Condition"][operator][key],
            json!(value),
            "condition on {key}"
        );
    }
}

#[test]
fn deny_to_anyone_is_accepted() {
    let spec = spec_with_grants(
        "
      - Sid: DenyOutsiders
        Effect: Deny
        Principal: '*'
        Action: sqs:*
",
    );

    let loaded = loaded_with(&spec, ENVIRONMENT);

    let policy = queue_policy(&loaded, "orders").expect("orders has a policy");
    assert_eq!(policy["Statement"][1]["Sid"], "DenyOutsiders");
}

#[test]
fn broad_actions_are_rejected() {
    let spec = spec_with_grants(
        "
      - Sid: AllSqs
        Effect: Allow
        Principal: {AWS: '111122223333'}
        Action: sqs:*
      - Sid: Everything
        Effect: Allow
        Principal: {AWS: '111122223333'}
        Action: ['sqs:SendMessage', '*']
      - Sid: UpperCase
        Effect: Allow
        Principal: {AWS: '111122223333'}
        Action: SQS:*
",
    );
    assert_eq!(
        errors(&spec),
        vec![
            "queues.yaml:8:17: queues.orders.grants[0].Action: grant \"AllSqs\" allows \"sqs:*\", which includes DeleteQueue, PurgeQueue and SetQueueAttributes; list only the actions the principal needs, such as sqs:SendMessage",
            "queues.yaml:12:17: queues.orders.grants[1].Action: grant \"Everything\" allows \"*\", which includes DeleteQueue, PurgeQueue and SetQueueAttributes; list only the actions the principal needs, such as sqs:SendMessage",
            "queues.yaml:16:17: queues.orders.grants[2].Action: grant \"UpperCase\" allows \"SQS:*\", which includes DeleteQueue, PurgeQueue and SetQueueAttributes; list only the actions the principal needs, such as sqs:SendMessage",
        ]
    );
}

#[test]
fn narrow_actions_are_accepted() {
    let spec = spec_with_grants(
        "
      - Effect: Allow
        Principal: {AWS: '111122223333'}
        Action: ['sqs:SendMessage', 'sqs:Get*']
",
    );

    let loaded = loaded_with(&spec, ENVIRONMENT);

    let policy = queue_policy(&loaded, "orders").expect("orders has a policy");
    assert_eq!(
        policy["Statement"][1]["Action"],
        json!(["sqs:SendMessage", "sqs:Get*"])
    );
}

#[test]
fn unencrypted_default_is_rejected() {
    let spec = "\
project: p
defaults:
  encryption: none
queues:
  orders: {}
  audit:
    encryption: none
";
    assert_eq!(
        errors(spec),
        vec![
            "queues.yaml:3:15: defaults.encryption.type: queue \"orders\" would be unencrypted because defaults set encryption: none; an unencrypted queue must say encryption: none itself so the choice is deliberate, or use encryption: sse-sqs, which costs nothing extra",
        ]
    );
}

#[test]
fn unencrypted_queue_itself_is_accepted() {
    let spec = "\
project: p
queues:
  audit:
    encryption: none
";

    let loaded = loaded_with(spec, ENVIRONMENT);

    assert_eq!(
        loaded.desired.queues[0].attributes.encryption,
        crate::model::Encryption::None
    );
}

// Grant structure and the composed queue policy.

#[test]
fn grant_missing_elements_is_rejected() {
    let spec = spec_with_grants(
        "
      - Sid: Empty
        Resource: '*'
      - Effect: allow
        Principal: {AWS: '111122223333'}
        Action: sqs:SendMessage
",
    );
    assert_eq!(
        errors(&spec),
        vec![
            "queues.yaml:5:9: queues.orders.grants[0]: grant \"Empty\" needs Effect: Allow or Effect: Deny",
            "queues.yaml:5:9: queues.orders.grants[0]: grant \"Empty\" has no Principal: a queue policy statement must name whom it applies to, for example Principal: {AWS: \"111122223333\"}",
            "queues.yaml:5:9: queues.orders.grants[0]: grant \"Empty\" has no Action: list the SQS actions it allows or denies",
            "queues.yaml:7:9: queues.orders.grants[1]: grant 2 needs Effect: Allow or Effect: Deny",
        ]
    );
}

/// Returns `count` grant list items, each allowing one account to send.
fn send_grants(count: usize) -> String {
    (0..count)
        .map(|number| {
            format!(
                "      - Sid: Partner{number}\n        Effect: Allow\n        Principal: {{AWS: '1111222233{number:02}'}}\n        Action: sqs:SendMessage\n"
            )
        })
        .collect()
}

#[test]
fn queue_policy_statement_limit() {
    let at_limit = loaded_with(&spec_with_grants(&send_grants(19)), ENVIRONMENT);
    let statements = queue_policy(&at_limit, "orders").expect("policy")["Statement"]
        .as_array()
        .map(Vec::len);
    assert_eq!(statements, Some(20));

    let without_tls = format!(
        "project: p\nqueues:\n  orders:\n    enforce_tls: false\n    grants:\n{}",
        send_grants(20)
    );
    let loaded = loaded_with(&without_tls, ENVIRONMENT);
    let statements = queue_policy(&loaded, "orders").expect("policy")["Statement"]
        .as_array()
        .map(Vec::len);
    assert_eq!(statements, Some(20));

    assert_eq!(
        errors(&spec_with_grants(&send_grants(20))),
        vec![
            "queues.yaml:5:7: queues.orders.grants: the access policy of \"orders\" would have 21 statements; SQS allows at most 20, so merge grants",
        ]
    );
}

#[test]
fn queue_without_grants_or_tls_has_no_policy() {
    let loaded = loaded_with(
        "project: p\nqueues:\n  orders:\n    enforce_tls: false\n",
        ENVIRONMENT,
    );

    assert_eq!(queue_policy(&loaded, "orders"), None);
}

// Resolved service policies.

#[test]
fn resolved_service_policies_match() {
    let spec = "\
project: p
services:
  checkout:
    description: takes orders
  fulfilment: {}
queues:
  orders:
    producers: [checkout]
    consumers: [fulfilment]
    dead_letter:
      max_receive_count: 3
  payments:
    encryption: sse-kms
    producers: [checkout]
";
    let key = "arn:aws:kms:ap-south-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let environment = format!(
        "{CHECKOUT_ENVIRONMENT}  fulfilment: fulfilment-role\noperators_role: operators-role\nkms_key: {key}\n"
    );

    let loaded = loaded_with(spec, &environment);

    assert_eq!(loaded.desired.iam_path, "/sqsform/p/dev/");
    let checkout = service_policy(&loaded, "checkout");
    assert_eq!(checkout.name, "p-dev-checkout");
    assert_eq!(
        checkout.arn,
        "arn:aws:iam::123456789012:policy/sqsform/p/dev/p-dev-checkout"
    );
    assert_eq!(checkout.role, "checkout-role");
    assert_eq!(checkout.description.as_deref(), Some("takes orders"));
    assert_eq!(
        checkout.tags,
        [
            ("sqsform:environment", "dev"),
            ("sqsform:managed", "true"),
            ("sqsform:project", "p"),
            ("sqsform:service", "checkout"),
        ]
        .map(|(tag, value)| (tag.to_string(), value.to_string()))
        .into()
    );
    assert_eq!(
        checkout.document,
        json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "SendToQueues",
                    "Effect": "Allow",
                    "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
                    "Resource": [arn("p-dev-orders"), arn("p-dev-payments")],
                },
                {
                    "Sid": "EncryptForQueues",
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": [key],
                },
            ],
        })
    );

    let fulfilment = service_policy(&loaded, "fulfilment");
    assert_eq!(fulfilment.role, "fulfilment-role");
    assert_eq!(fulfilment.description, None);
    assert_eq!(
        fulfilment.document,
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "ReceiveFromQueues",
                "Effect": "Allow",
                "Action": [
                    "sqs:ChangeMessageVisibility",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "sqs:GetQueueUrl",
                    "sqs:ReceiveMessage",
                ],
                "Resource": [arn("p-dev-orders")],
            }],
        })
    );

    let operators = service_policy(&loaded, "operators");
    assert_eq!(operators.name, "p-dev-operators");
    assert_eq!(operators.role, "operators-role");
    assert_eq!(
        operators.document,
        json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "HandleDeadLetters",
                    "Effect": "Allow",
                    "Action": [
                        "sqs:CancelMessageMoveTask",
                        "sqs:ChangeMessageVisibility",
                        "sqs:DeleteMessage",
                        "sqs:GetQueueAttributes",
                        "sqs:GetQueueUrl",
                        "sqs:ListDeadLetterSourceQueues",
                        "sqs:ListMessageMoveTasks",
                        "sqs:PurgeQueue",
                        "sqs:ReceiveMessage",
                        "sqs:StartMessageMoveTask",
                    ],
                    "Resource": [arn("p-dev-orders-dlq")],
                },
                {
                    "Sid": "RedriveToSources",
                    "Effect": "Allow",
                    "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
                    "Resource": [arn("p-dev-orders")],
                },
            ],
        })
    );
    assert_eq!(loaded.desired.service_policies.len(), 3);
}

#[test]
fn grant_not_principal_rejected() {
    let spec = "\
project: shop
queues:
  orders:
    grants:
      - {Sid: Everyone, Effect: Allow, NotPrincipal: {AWS: '111122223333'}, Action: sqs:SendMessage}
      - {Sid: Everything, Effect: Allow, Principal: {AWS: '111122223333'}, NotAction: sqs:DeleteQueue}
      - {Sid: Purges, Effect: Allow, Principal: {AWS: '111122223333'}, Action: 'sqs:Purge*'}
";
    let messages: Vec<String> = match crate::spec::load_from_text(
        "queues.yaml",
        spec,
        "dev",
        "region: us-east-1\naccount_id: \"123456789012\"\n",
    ) {
        Err(crate::spec::SpecError::Invalid { diagnostics }) => diagnostics
            .iter()
            .map(|diagnostic| diagnostic.message.clone())
            .collect(),
        other => panic!("expected errors, got {other:?}"),
    };
    assert_eq!(
        messages,
        vec![
            "grant \"Everyone\" allows NotPrincipal, which grants every principal except the ones named; name the principals under Principal instead".to_string(),
            "grant \"Everything\" allows NotAction, which grants every action except the ones named, DeleteQueue and PurgeQueue among them; list the actions under Action instead".to_string(),
            "grant \"Purges\" allows the wildcard action \"sqs:Purge*\", which can match more than intended; list the exact actions, such as sqs:SendMessage".to_string(),
        ]
    );
}

#[test]
fn wildcard_condition_value_does_not_narrow() {
    let spec = "\
project: shop
queues:
  orders:
    grants:
      - Sid: AnyAccount
        Effect: Allow
        Principal: '*'
        Action: sqs:SendMessage
        Condition: {StringLike: {aws:SourceAccount: '*'}}
";
    let messages: Vec<String> = match crate::spec::load_from_text(
        "queues.yaml",
        spec,
        "dev",
        "region: us-east-1\naccount_id: \"123456789012\"\n",
    ) {
        Err(crate::spec::SpecError::Invalid { diagnostics }) => diagnostics
            .iter()
            .map(|diagnostic| diagnostic.message.clone())
            .collect(),
        other => panic!("expected errors, got {other:?}"),
    };
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].starts_with("grant \"AnyAccount\" allows any principal"),
        "{}",
        messages[0]
    );
}

#[test]
fn kms_key_of_other_region_is_rejected() {
    let spec = "project: p\nqueues:\n  orders:\n    encryption: {type: sse-kms, kms_key: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'}\n";
    let messages: Vec<String> = match crate::spec::load_from_text(
        "queues.yaml",
        spec,
        "dev",
        "region: us-east-1\naccount_id: \"123456789012\"\n",
    ) {
        Err(crate::spec::SpecError::Invalid { diagnostics }) => diagnostics
            .iter()
            .map(|diagnostic| diagnostic.message.clone())
            .collect(),
        other => panic!("expected errors, got {other:?}"),
    };
    assert_eq!(
        messages,
        vec!["KMS key \"arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\" is not in the queue's region us-east-1; SQS uses keys of the queue's own region".to_string()]
    );
}
