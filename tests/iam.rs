//! End-to-end tests of the managed IAM policies and queue access policies that sqsform writes,
//! run through the sqsform binary against the local AWS emulator (moto on loopback).
//!
//! Each test works in its own environment (`it-<name>-<run id>`), so its policies sit under
//! their own IAM path (`/sqsform/driversklub/<environment>/`) and its roles and policy names
//! contain the run id, because IAM names are unique in the account whatever their path.

mod common;

use aws_sdk_iam::types::PolicyScopeType;
use serde_json::{Value, json};
use sqsform::policy;

use common::{Workspace, create_role, get_attribute, iam_client, sqs_client};

const KEY_ARN: &str = "arn:aws:kms:us-east-1:123456789012:key/00000000-1111-2222-3333-444444444444";

/// Two services around two queues: `checkout` produces to both, `fulfilment` consumes from
/// both, `payments` is encrypted with the environment's KMS key, and both queues have a
/// dead-letter queue for the operators role.
const SHOP_SPEC: &str = "\
project: driversklub
services:
  checkout:
    description: takes orders
  fulfilment: {}
defaults:
  dead_letter:
    max_receive_count: 3
queues:
  orders:
    producers: [checkout]
    consumers: [fulfilment]
  payments:
    encryption:
      type: sse-kms
    producers: [checkout]
    consumers: [fulfilment]
";

/// One service, `checkout`, that produces to one queue.
const ONE_SERVICE_SPEC: &str = "\
project: driversklub
services:
  checkout: {}
queues:
  orders:
    producers: [checkout]
";

const PRODUCER_ACTIONS: [&str; 3] = [
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:SendMessage",
];
const CONSUMER_ACTIONS: [&str; 5] = [
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
];

/// Returns the role the environment of `workspace` maps `service` to.
fn role_of(workspace: &Workspace, service: &str) -> String {
    format!("{}-{service}", workspace.environment)
}

/// Returns the name sqsform gives the managed policy of `service`.
fn policy_name(workspace: &Workspace, service: &str) -> String {
    format!("driversklub-{}-{service}", workspace.environment)
}

/// Returns the IAM path that contains the workspace's managed policies.
fn iam_path(workspace: &Workspace) -> String {
    format!("/sqsform/driversklub/{}/", workspace.environment)
}

/// Returns the ARN of a managed policy of the workspace.
fn policy_arn(workspace: &Workspace, service: &str) -> String {
    format!(
        "arn:aws:iam::{}:policy{}{}",
        common::ACCOUNT,
        iam_path(workspace),
        policy_name(workspace, service)
    )
}

/// Returns the ARN of a queue of the workspace by spec key.
fn queue_arn(workspace: &Workspace, key: &str) -> String {
    format!(
        "arn:aws:sqs:{}:{}:{}",
        common::REGION,
        common::ACCOUNT,
        workspace.queue_name(key)
    )
}

/// Creates a workspace whose environment maps each of `services`, and the operators role when
/// `operators` is set, to a role of its own that this function creates in the emulator.
async fn workspace_with_roles(
    name: &str,
    spec: &str,
    services: &[&str],
    operators: bool,
) -> Workspace {
    let environment = format!("it-{name}-{}", common::current_run_id());
    let role = |label: &str| format!("{environment}-{label}");
    let mut extra = String::from("services:\n");
    for service in services {
        extra.push_str(&format!("  {service}: {}\n", role(service)));
    }
    if operators {
        extra.push_str(&format!("operators_role: {}\n", role("operators")));
    }
    let workspace = Workspace::with_environment(name, spec, &extra);
    assert_eq!(workspace.environment, environment);

    let iam = iam_client().await;
    for service in services {
        create_role(&iam, &role_of(&workspace, service)).await;
    }
    if operators {
        create_role(&iam, &role_of(&workspace, "operators")).await;
    }
    workspace
}

/// Lists the names of the customer managed policies under `path`, sorted.
async fn policy_names(iam: &aws_sdk_iam::Client, path: &str) -> Vec<String> {
    let output = iam
        .list_policies()
        .scope(PolicyScopeType::Local)
        .path_prefix(path)
        .send()
        .await
        .expect("list policies");
    let mut names: Vec<String> = output
        .policies()
        .iter()
        .filter_map(|listed| listed.policy_name().map(str::to_string))
        .collect();
    names.sort();
    names
}

/// Returns the default version's document of a managed policy, parsed as IAM returns it.
async fn default_document(iam: &aws_sdk_iam::Client, arn: &str) -> Value {
    let listed = iam
        .get_policy()
        .policy_arn(arn)
        .send()
        .await
        .unwrap_or_else(|error| panic!("get policy {arn}: {error:?}"));
    let version_id = listed
        .policy()
        .and_then(|found| found.default_version_id())
        .expect("default version id")
        .to_string();
    let version = iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(&version_id)
        .send()
        .await
        .unwrap_or_else(|error| panic!("get version {version_id} of {arn}: {error:?}"));
    let text = version
        .policy_version()
        .and_then(|found| found.document())
        .expect("policy document");
    policy::parse(text).unwrap_or_else(|error| panic!("document of {arn}: {error}\n{text}"))
}

/// Lists the roles a managed policy is attached to, sorted.
async fn attached_roles(iam: &aws_sdk_iam::Client, arn: &str) -> Vec<String> {
    let output = iam
        .list_entities_for_policy()
        .policy_arn(arn)
        .send()
        .await
        .unwrap_or_else(|error| panic!("list entities of {arn}: {error:?}"));
    let mut roles: Vec<String> = output
        .policy_roles()
        .iter()
        .filter_map(|role| role.role_name().map(str::to_string))
        .collect();
    roles.sort();
    roles
}

/// Lists the version ids of a managed policy in the order IAM returns them.
async fn version_ids(iam: &aws_sdk_iam::Client, arn: &str) -> Vec<String> {
    iam.list_policy_versions()
        .policy_arn(arn)
        .send()
        .await
        .unwrap_or_else(|error| panic!("list versions of {arn}: {error:?}"))
        .versions()
        .iter()
        .filter_map(|version| version.version_id().map(str::to_string))
        .collect()
}

/// Checks whether a managed policy exists.
async fn policy_exists(iam: &aws_sdk_iam::Client, arn: &str) -> bool {
    match iam.get_policy().policy_arn(arn).send().await {
        Ok(_) => true,
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|service_error| service_error.is_no_such_entity_exception()) =>
        {
            false
        }
        Err(error) => panic!("get policy {arn}: {error:?}"),
    }
}

/// Returns the IAM operations a plan's JSON document counts, by operation.
fn iam_calls(plan: &Value) -> Vec<(String, u64)> {
    plan["api_calls"]["by_operation"]
        .as_object()
        .expect("api_calls.by_operation")
        .iter()
        .filter(|(operation, _)| operation.starts_with("iam:"))
        .map(|(operation, count)| (operation.clone(), count.as_u64().expect("count")))
        .collect()
}

/// Returns a spec in which `checkout` produces to the queues `q1` to `q<count>`.
fn producer_spec(count: usize) -> String {
    let mut spec = String::from("project: driversklub\nservices:\n  checkout: {}\nqueues:\n");
    for number in 1..=count {
        spec.push_str(&format!("  q{number}:\n    producers: [checkout]\n"));
    }
    spec
}

#[tokio::test]
async fn apply_writes_exact_service_policies() {
    let workspace =
        workspace_with_roles("iam-exact", SHOP_SPEC, &["checkout", "fulfilment"], true).await;
    let iam = iam_client().await;

    workspace.run(&["apply", "--auto-approve"]).expect_code(0);

    let orders = queue_arn(&workspace, "orders");
    let payments = queue_arn(&workspace, "payments");
    assert_eq!(
        policy_names(&iam, &iam_path(&workspace)).await,
        [
            policy_name(&workspace, "checkout"),
            policy_name(&workspace, "fulfilment"),
            policy_name(&workspace, "operators"),
        ]
    );
    assert_eq!(
        default_document(&iam, &policy_arn(&workspace, "checkout")).await,
        json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "SendToQueues",
                    "Effect": "Allow",
                    "Action": PRODUCER_ACTIONS,
                    "Resource": [orders, payments],
                },
                {
                    "Sid": "EncryptForQueues",
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": [KEY_ARN],
                },
            ],
        })
    );
    assert_eq!(
        default_document(&iam, &policy_arn(&workspace, "fulfilment")).await,
        json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ReceiveFromQueues",
                    "Effect": "Allow",
                    "Action": CONSUMER_ACTIONS,
                    "Resource": [orders, payments],
                },
                {
                    "Sid": "DecryptFromQueues",
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt"],
                    "Resource": [KEY_ARN],
                },
            ],
        })
    );
    assert_eq!(
        default_document(&iam, &policy_arn(&workspace, "operators")).await,
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
                    "Resource": [
                        queue_arn(&workspace, "orders-dlq"),
                        queue_arn(&workspace, "payments-dlq"),
                    ],
                },
                {
                    "Sid": "RedriveToSources",
                    "Effect": "Allow",
                    "Action": PRODUCER_ACTIONS,
                    "Resource": [orders, payments],
                },
                {
                    "Sid": "DecryptDeadLetters",
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt"],
                    "Resource": [KEY_ARN],
                },
                {
                    "Sid": "EncryptRedrives",
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": [KEY_ARN],
                },
            ],
        })
    );
    for service in ["checkout", "fulfilment", "operators"] {
        assert_eq!(
            attached_roles(&iam, &policy_arn(&workspace, service)).await,
            [role_of(&workspace, service)],
            "roles of the {service} policy"
        );
    }

    workspace
        .run(&["plan", "--detailed-exitcode"])
        .expect_code(0);
}

#[tokio::test]
async fn six_changes_keep_five_versions() {
    let workspace =
        workspace_with_roles("iam-versions", &producer_spec(1), &["checkout"], false).await;
    let iam = iam_client().await;
    let arn = policy_arn(&workspace, "checkout");
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    assert_eq!(version_ids(&iam, &arn).await, ["v1"]);

    for change in 1..=6 {
        let queues = change + 1;
        workspace.write_spec(&producer_spec(queues));

        let plan = workspace.run(&["plan"]);
        plan.expect_code(0);
        // IAM keeps 5 versions: v1 is the oldest non-default one before the 5th change, and v2
        // before the 6th.
        let oldest = match change {
            5 => Some("v1"),
            6 => Some("v2"),
            _ => None,
        };
        if let Some(oldest) = oldest {
            let line = format!(
                "- delete version {oldest}: IAM keeps at most 5 versions, and it is the oldest non-default one"
            );
            assert!(
                plan.stdout.contains(&line),
                "change {change}:\n{}",
                plan.stdout
            );
        } else {
            assert!(
                !plan.stdout.contains("delete version"),
                "change {change}:\n{}",
                plan.stdout
            );
        }
        assert!(
            plan.stdout.contains("+ create a new default version"),
            "change {change}:\n{}",
            plan.stdout
        );

        workspace.run(&["apply", "--auto-approve"]).expect_code(0);

        let versions = version_ids(&iam, &arn).await;
        assert!(versions.len() <= 5, "change {change}: {versions:?}");
        assert_eq!(
            versions.len(),
            (change + 1).min(5),
            "change {change}: {versions:?}"
        );
        let document = default_document(&iam, &arn).await;
        let resources = document["Statement"][0]["Resource"]
            .as_array()
            .map(Vec::len);
        assert_eq!(resources, Some(queues), "change {change}: {document}");
    }

    assert_eq!(
        version_ids(&iam, &arn).await,
        ["v3", "v4", "v5", "v6", "v7"]
    );
    workspace
        .run(&["plan", "--detailed-exitcode"])
        .expect_code(0);
}

#[tokio::test]
async fn extra_action_is_drift_until_apply() {
    let workspace = workspace_with_roles("iam-drift", ONE_SERVICE_SPEC, &["checkout"], false).await;
    let iam = iam_client().await;
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    workspace.run(&["drift"]).expect_code(0);
    let arn = policy_arn(&workspace, "checkout");
    let name = policy_name(&workspace, "checkout");
    let orders = queue_arn(&workspace, "orders");

    let mut widened = default_document(&iam, &arn).await;
    widened["Statement"][0]["Action"]
        .as_array_mut()
        .expect("Action list")
        .push(json!("sqs:DeleteQueue"));
    iam.create_policy_version()
        .policy_arn(&arn)
        .policy_document(policy::to_compact(&widened))
        .set_as_default(true)
        .send()
        .await
        .expect("create policy version out of band");

    let drift = workspace.run(&["drift"]);
    drift.expect_code(2);
    assert!(
        drift
            .stdout
            .contains(&format!("! IAM policy {name} (service checkout): changed")),
        "{}",
        drift.stdout
    );
    assert!(
        drift.stdout.contains(&format!(
            "grants Allow sqs:DeleteQueue on {orders}, which the spec does not"
        )),
        "{}",
        drift.stdout
    );

    let json = workspace.run(&["drift", "--format", "json"]);
    json.expect_code(2);
    let document = json.json();
    assert_eq!(document["drifted"], true);
    assert_eq!(document["queues"], json!([]));
    assert_eq!(
        document["policies"],
        json!([{
            "name": name,
            "service": "checkout",
            "kind": "changed",
            "permissions": [{
                "name": "permission",
                "expected": null,
                "actual": format!("Allow sqs:DeleteQueue on {orders}"),
            }],
            "roles": [],
        }])
    );

    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    let restored = default_document(&iam, &arn).await;
    assert_eq!(
        restored["Statement"][0]["Action"],
        json!(PRODUCER_ACTIONS),
        "{restored}"
    );
    workspace.run(&["drift"]).expect_code(0);
}

#[tokio::test]
async fn foreign_policy_is_left_alone() {
    let workspace =
        workspace_with_roles("iam-foreign", ONE_SERVICE_SPEC, &["checkout"], false).await;
    let iam = iam_client().await;
    // A policy whose name has the environment's prefix, at a path outside sqsform's, attached
    // to a role the environment file does not name.
    let foreign_name = policy_name(&workspace, "legacy");
    let foreign_role = role_of(&workspace, "legacy");
    create_role(&iam, &foreign_role).await;
    let document = json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*"}],
    });
    let foreign_arn = iam
        .create_policy()
        .policy_name(&foreign_name)
        .path(format!("/legacy/{}/", workspace.environment))
        .policy_document(document.to_string())
        .send()
        .await
        .expect("create foreign policy")
        .policy()
        .and_then(|created| created.arn())
        .expect("policy ARN")
        .to_string();
    iam.attach_role_policy()
        .role_name(&foreign_role)
        .policy_arn(&foreign_arn)
        .send()
        .await
        .expect("attach foreign policy");

    let apply = workspace.run(&["apply", "--auto-approve", "--allow-delete"]);
    apply.expect_code(0);
    assert!(!apply.stdout.contains(&foreign_name), "{}", apply.stdout);

    assert!(policy_exists(&iam, &foreign_arn).await);
    assert_eq!(attached_roles(&iam, &foreign_arn).await, [foreign_role]);
    let plan = workspace.run(&["plan", "--format", "json"]);
    plan.expect_code(0);
    let document = plan.json();
    assert_eq!(document["has_changes"], false);
    let planned: Vec<&str> = document["plan"]["policies"]
        .as_array()
        .expect("policies")
        .iter()
        .filter_map(|change| change["name"].as_str())
        .collect();
    assert_eq!(planned, [policy_name(&workspace, "checkout")]);
}

#[tokio::test]
async fn missing_role_fails_plan() {
    // The environment maps the service to a role that no one created.
    let environment = format!("it-iam-norole-{}", common::current_run_id());
    let role = format!("{environment}-absent");
    let workspace = Workspace::with_environment(
        "iam-norole",
        ONE_SERVICE_SPEC,
        &format!("services:\n  checkout: {role}\n"),
    );

    let plan = workspace.run(&["plan"]);

    plan.expect_code(1);
    let expected = format!(
        "error: IAM role(s) {role} named in environments/{environment}.yaml do not exist in account 123456789012; create them, or fix the role names under services: or operators_role"
    );
    assert!(plan.stderr.contains(&expected), "{}", plan.stderr);
    assert_eq!(plan.stdout, "");
}

#[tokio::test]
async fn removed_service_policy_needs_allow_delete() {
    let workspace =
        workspace_with_roles("iam-remove", SHOP_SPEC, &["checkout", "fulfilment"], false).await;
    let iam = iam_client().await;
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    let arn = policy_arn(&workspace, "fulfilment");
    let name = policy_name(&workspace, "fulfilment");
    let role = role_of(&workspace, "fulfilment");

    // A second document version, so the delete must remove a non-default version first.
    workspace.write_spec(&SHOP_SPEC.replace(
        "  payments:\n    encryption:\n      type: sse-kms\n    producers: [checkout]\n    consumers: [fulfilment]\n",
        "  payments:\n    encryption:\n      type: sse-kms\n    producers: [checkout]\n",
    ));
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    assert_eq!(version_ids(&iam, &arn).await, ["v1", "v2"]);

    let without_service = SHOP_SPEC
        .replace("  fulfilment: {}\n", "")
        .replace("    consumers: [fulfilment]\n", "");
    workspace.write_spec(&without_service);
    let environment_path = workspace.environment_path();
    let environment_text = std::fs::read_to_string(&environment_path).expect("read environment");
    std::fs::write(
        &environment_path,
        environment_text.replace(&format!("  fulfilment: {role}\n"), ""),
    )
    .expect("write environment");

    let plan = workspace.run(&["plan"]);
    plan.expect_code(0);
    assert!(
        plan.stdout
            .contains(&format!("- delete IAM policy {name}\n")),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains(&format!("- detach from role {role}\n")),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("- delete version v1\n"),
        "{}",
        plan.stdout
    );

    let rejected = workspace.run(&["apply", "--auto-approve"]);
    rejected.expect_code(1);
    assert!(
        rejected.stderr.contains(&format!(
            "delete IAM policy {name}: its service left the spec, and deleting a managed policy needs --allow-delete"
        )),
        "{}",
        rejected.stderr
    );
    assert!(policy_exists(&iam, &arn).await);
    assert_eq!(
        attached_roles(&iam, &arn).await,
        std::slice::from_ref(&role)
    );

    workspace
        .run(&["apply", "--auto-approve", "--allow-delete"])
        .expect_code(0);
    assert!(!policy_exists(&iam, &arn).await);
    let attached = iam
        .list_attached_role_policies()
        .role_name(&role)
        .send()
        .await
        .expect("list attached role policies");
    assert_eq!(attached.attached_policies().len(), 0);
    assert_eq!(
        policy_names(&iam, &iam_path(&workspace)).await,
        [policy_name(&workspace, "checkout")]
    );
    workspace
        .run(&["plan", "--detailed-exitcode"])
        .expect_code(0);
}

#[tokio::test]
async fn extra_attached_role_is_detached() {
    let workspace =
        workspace_with_roles("iam-detach", ONE_SERVICE_SPEC, &["checkout"], false).await;
    let iam = iam_client().await;
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    let arn = policy_arn(&workspace, "checkout");
    let intruder = role_of(&workspace, "intruder");
    create_role(&iam, &intruder).await;
    iam.attach_role_policy()
        .role_name(&intruder)
        .policy_arn(&arn)
        .send()
        .await
        .expect("attach out of band");

    let drift = workspace.run(&["drift"]);
    drift.expect_code(2);
    assert!(
        drift.stdout.contains(&format!(
            "attached to role {intruder}, which the spec does not name"
        )),
        "{}",
        drift.stdout
    );
    let plan = workspace.run(&["plan"]);
    assert!(
        plan.stdout
            .contains(&format!("- detach from role {intruder}\n")),
        "{}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains("create a new default version"),
        "{}",
        plan.stdout
    );

    workspace.run(&["apply", "--auto-approve"]).expect_code(0);

    assert_eq!(
        attached_roles(&iam, &arn).await,
        [role_of(&workspace, "checkout")]
    );
    assert_eq!(version_ids(&iam, &arn).await, ["v1"]);
    workspace.run(&["drift"]).expect_code(0);
}

#[tokio::test]
async fn noop_plan_iam_call_counts() {
    let workspace =
        workspace_with_roles("iam-calls", SHOP_SPEC, &["checkout", "fulfilment"], true).await;
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);

    let plan = workspace.run(&["plan", "--format", "json"]);

    plan.expect_code(0);
    let document = plan.json();
    assert_eq!(document["has_changes"], false);
    // One ListPolicies page, then the default version and the attachments of 3 policies.
    assert_eq!(
        iam_calls(&document),
        [
            ("iam:GetPolicyVersion".to_string(), 3),
            ("iam:ListEntitiesForPolicy".to_string(), 3),
            ("iam:ListPolicies".to_string(), 1),
        ]
    );
}

#[tokio::test]
async fn queue_policy_has_tls_deny_and_grant() {
    let spec = "\
project: driversklub
queues:
  orders:
    grants:
      - Sid: PartnerSends
        Effect: Allow
        Principal:
          AWS: '111122223333'
        Action: sqs:SendMessage
  audit:
    enforce_tls: false
";
    let workspace = Workspace::new("iam-queue-policy", spec);
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    let client = sqs_client().await;
    let orders = queue_arn(&workspace, "orders");

    let text = get_attribute(&client, &workspace.queue_name("orders"), "Policy")
        .await
        .expect("orders has a Policy");

    let live = policy::parse(&text).expect("Policy is JSON");
    let expected = json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sqs:*",
                "Resource": orders,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "PartnerSends",
                "Effect": "Allow",
                "Principal": {"AWS": "111122223333"},
                "Action": "sqs:SendMessage",
                "Resource": orders,
            },
        ],
    });
    assert_eq!(policy::equivalent(&expected, &live), Ok(true), "{text}");
    assert_eq!(
        get_attribute(&client, &workspace.queue_name("audit"), "Policy").await,
        None
    );
    workspace
        .run(&["plan", "--detailed-exitcode"])
        .expect_code(0);
}

#[tokio::test]
async fn attached_user_and_group_are_detached() {
    let workspace = workspace_with_roles("iam-users", ONE_SERVICE_SPEC, &["checkout"], false).await;
    let iam = iam_client().await;
    workspace.run(&["apply", "--auto-approve"]).expect_code(0);
    let arn = policy_arn(&workspace, "checkout");
    let user = role_of(&workspace, "bob");
    let group = role_of(&workspace, "ops");
    iam.create_user()
        .user_name(&user)
        .send()
        .await
        .expect("create user");
    iam.create_group()
        .group_name(&group)
        .send()
        .await
        .expect("create group");
    iam.attach_user_policy()
        .user_name(&user)
        .policy_arn(&arn)
        .send()
        .await
        .expect("attach to user");
    iam.attach_group_policy()
        .group_name(&group)
        .policy_arn(&arn)
        .send()
        .await
        .expect("attach to group");

    let drift = workspace.run(&["drift"]);
    drift.expect_code(2);
    assert!(
        drift.stdout.contains(&format!(
            "attached to user {user}, which the spec does not name"
        )),
        "{}",
        drift.stdout
    );
    assert!(
        drift.stdout.contains(&format!(
            "attached to group {group}, which the spec does not name"
        )),
        "{}",
        drift.stdout
    );
    let plan = workspace.run(&["plan"]);
    assert!(
        plan.stdout
            .contains(&format!("- detach from user {user}\n")),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains(&format!("- detach from group {group}\n")),
        "{}",
        plan.stdout
    );

    workspace.run(&["apply", "--auto-approve"]).expect_code(0);

    let entities = iam
        .list_entities_for_policy()
        .policy_arn(&arn)
        .send()
        .await
        .expect("entities");
    assert!(entities.policy_users.unwrap_or_default().is_empty());
    assert!(entities.policy_groups.unwrap_or_default().is_empty());
    workspace.run(&["drift"]).expect_code(0);
}
