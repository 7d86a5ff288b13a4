//! Integration tests of the IAM calls of `AwsCloud` against the local AWS emulator (moto).
//!
//! Each test puts its policies under its own path, `/sqsform-it/<run id>/<test>/`, and gives
//! policies and roles names that contain the run id, because IAM names are unique in the
//! account whatever their path. Tests named `moto_…` pin a moto 5.2.5 behaviour that differs
//! from real IAM. Each documents what IAM does instead and fails once moto, or a correction in
//! scripts/moto_launcher.py, behaves like IAM.

mod common;

use serde_json::json;
use sqsform::cloud::aws::AwsCloud;
use sqsform::cloud::{ApiCalls, Cloud, CloudError, Tags};
use sqsform::model::Connection;
use sqsform::policy;

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

/// Returns the IAM path of one test, unique to this run.
fn test_path(test: &str) -> String {
    format!("/sqsform-it/{}/{test}/", common::current_run_id())
}

/// Returns a policy or role name unique to this run.
fn unique_name(label: &str) -> String {
    format!("sqsform-it-{}-{label}", common::current_run_id())
}

/// Returns an identity policy that allows sending to one queue.
fn send_policy(queue: &str) -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": ["sqs:SendMessage", "sqs:GetQueueAttributes"],
            "Resource": format!("arn:aws:sqs:us-east-1:{}:{queue}", common::ACCOUNT),
        }],
    })
}

/// Creates a policy that allows sending to `queue` and returns its ARN.
async fn create_send_policy(cloud: &AwsCloud, test: &str, label: &str, queue: &str) -> String {
    let document = policy::to_compact(&send_policy(queue));
    cloud
        .create_policy(
            &unique_name(label),
            &test_path(test),
            &document,
            &Tags::new(),
        )
        .await
        .unwrap_or_else(|error| panic!("create policy {label}: {error:?}"))
}

/// Creates an IAM role with `name` out of band, trusted by EC2.
async fn create_role(name: &str) {
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }],
    });
    common::iam_client()
        .await
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap_or_else(|error| panic!("create role {name}: {error:?}"));
}

fn version_ids(versions: &[sqsform::cloud::PolicyVersion]) -> Vec<&str> {
    versions
        .iter()
        .map(|version| version.version_id.as_str())
        .collect()
}

#[tokio::test]
async fn list_policies_filters_by_path_prefix() {
    let cloud = connect().await;
    let matching_arn = create_send_policy(&cloud, "list/matching", "list-matching", "orders").await;
    create_send_policy(&cloud, "list/other", "list-other", "orders").await;

    let listed = cloud
        .list_policies(&test_path("list/matching"))
        .await
        .unwrap();

    assert_eq!(listed.len(), 1, "{listed:?}");
    let policy = &listed[0];
    assert_eq!(
        policy.arn,
        format!(
            "arn:aws:iam::{}:policy{}{}",
            common::ACCOUNT,
            test_path("list/matching"),
            unique_name("list-matching")
        )
    );
    assert_eq!(policy.arn, matching_arn);
    assert_eq!(policy.name, unique_name("list-matching"));
    assert_eq!(policy.path, test_path("list/matching"));
    assert_eq!(policy.default_version_id, "v1");
}

#[tokio::test]
async fn list_policies_prefix_covers_nested_paths() {
    let cloud = connect().await;
    create_send_policy(&cloud, "nested/a", "nested-a", "orders").await;
    create_send_policy(&cloud, "nested/b", "nested-b", "orders").await;

    let listed = cloud.list_policies(&test_path("nested")).await.unwrap();

    let mut names: Vec<&str> = listed.iter().map(|policy| policy.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, [unique_name("nested-a"), unique_name("nested-b")]);
}

#[tokio::test]
async fn default_document_matches_by_meaning() {
    let cloud = connect().await;
    let arn = create_send_policy(&cloud, "document", "document", "orders").await;
    let listed = cloud.list_policies(&test_path("document")).await.unwrap();

    let text = cloud
        .get_policy_document(&arn, &listed[0].default_version_id)
        .await
        .unwrap();

    let live = policy::parse(&text).unwrap();
    assert!(
        policy::equivalent(&send_policy("orders"), &live).unwrap(),
        "{text}"
    );
    assert!(
        !policy::equivalent(&send_policy("payments"), &live).unwrap(),
        "{text}"
    );
}

#[tokio::test]
async fn new_version_becomes_default_document() {
    let cloud = connect().await;
    let arn = create_send_policy(&cloud, "new-version", "new-version", "orders").await;

    let version = cloud
        .create_policy_version(&arn, &policy::to_compact(&send_policy("payments")))
        .await
        .unwrap();

    assert_eq!(version, "v2");
    let listed = cloud
        .list_policies(&test_path("new-version"))
        .await
        .unwrap();
    assert_eq!(listed[0].default_version_id, "v2");
    let text = cloud.get_policy_document(&arn, "v2").await.unwrap();
    let live = policy::parse(&text).unwrap();
    assert!(policy::equivalent(&send_policy("payments"), &live).unwrap());
}

#[tokio::test]
async fn missing_policy_version_is_not_found() {
    let cloud = connect().await;
    let arn = create_send_policy(&cloud, "missing-version", "missing-version", "orders").await;

    let result = cloud.get_policy_document(&arn, "v9").await;

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
async fn attached_role_is_listed_until_detached() {
    let cloud = connect().await;
    let arn = create_send_policy(&cloud, "attach", "attach", "orders").await;
    let role = unique_name("attach-role");
    create_role(&role).await;

    cloud.attach_role_policy(&role, &arn).await.unwrap();
    let attached = cloud.list_policy_roles(&arn).await.unwrap();
    cloud.detach_role_policy(&role, &arn).await.unwrap();
    let detached = cloud.list_policy_roles(&arn).await.unwrap();

    assert_eq!(attached, [role]);
    assert_eq!(detached, Vec::<String>::new());
}

#[tokio::test]
async fn attach_to_missing_role_is_not_found() {
    let cloud = connect().await;
    let arn = create_send_policy(&cloud, "missing-role", "missing-role", "orders").await;
    let role = unique_name("no-such-role");

    let result = cloud.attach_role_policy(&role, &arn).await;

    let Err(CloudError::IamNotFound { kind, name }) = result else {
        panic!("expected IamNotFound, got {result:?}");
    };
    assert_eq!(kind, "role");
    assert_eq!(name, role);
}

#[tokio::test]
async fn attach_missing_policy_is_not_found() {
    let cloud = connect().await;
    let role = unique_name("missing-policy-role");
    create_role(&role).await;
    let arn = format!(
        "arn:aws:iam::{}:policy{}{}",
        common::ACCOUNT,
        test_path("missing-policy"),
        unique_name("never-created")
    );

    let result = cloud.attach_role_policy(&role, &arn).await;

    let Err(CloudError::IamNotFound { kind, name }) = result else {
        panic!("expected IamNotFound, got {result:?}");
    };
    assert_eq!(kind, "policy");
    assert_eq!(name, arn);
}

#[tokio::test]
async fn detach_unattached_policy_is_not_found() {
    let cloud = connect().await;
    let arn = create_send_policy(&cloud, "unattached", "unattached", "orders").await;
    let role = unique_name("unattached-role");
    create_role(&role).await;

    let result = cloud.detach_role_policy(&role, &arn).await;

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
async fn sixth_version_exceeds_limit() {
    let cloud = connect().await;
    let arn = create_send_policy(&cloud, "limit", "limit", "orders").await;
    for expected in ["v2", "v3", "v4", "v5"] {
        let document = policy::to_compact(&send_policy(&format!("orders-{expected}")));
        let version = cloud.create_policy_version(&arn, &document).await.unwrap();
        assert_eq!(version, expected);
    }

    let sixth = cloud
        .create_policy_version(&arn, &policy::to_compact(&send_policy("orders-v6")))
        .await;

    let Err(CloudError::IamLimitExceeded { policy, message }) = sixth else {
        panic!("expected IamLimitExceeded, got {sixth:?}");
    };
    assert_eq!(policy, arn);
    assert!(message.contains('5'), "{message}");
    let versions = cloud.list_policy_versions(&arn).await.unwrap();
    assert_eq!(version_ids(&versions), ["v1", "v2", "v3", "v4", "v5"]);
    let defaults: Vec<&str> = versions
        .iter()
        .filter(|version| version.is_default)
        .map(|version| version.version_id.as_str())
        .collect();
    assert_eq!(defaults, ["v5"]);
}

#[tokio::test]
async fn non_default_version_deletes() {
    let cloud = connect().await;
    let arn = create_send_policy(&cloud, "delete-version", "delete-version", "orders").await;
    cloud
        .create_policy_version(&arn, &policy::to_compact(&send_policy("payments")))
        .await
        .unwrap();

    cloud.delete_policy_version(&arn, "v1").await.unwrap();

    let versions = cloud.list_policy_versions(&arn).await.unwrap();
    assert_eq!(version_ids(&versions), ["v2"]);
    assert!(versions[0].is_default);
    assert!(versions[0].created_epoch_seconds > 1_600_000_000);
}

#[tokio::test]
async fn default_version_delete_fails() {
    let cloud = connect().await;
    let arn = create_send_policy(&cloud, "delete-default", "delete-default", "orders").await;

    let result = cloud.delete_policy_version(&arn, "v1").await;

    let Err(CloudError::Api { operation, source }) = result else {
        panic!("expected an Api error for DeleteConflict, got {result:?}");
    };
    assert_eq!(operation, "iam:DeletePolicyVersion");
    assert!(
        format!("{source:?}").contains("DeleteConflict"),
        "{source:?}"
    );
}

#[tokio::test]
async fn detached_policy_deletes() {
    let cloud = connect().await;
    let arn = create_send_policy(&cloud, "delete", "delete", "orders").await;
    let role = unique_name("delete-role");
    create_role(&role).await;
    cloud.attach_role_policy(&role, &arn).await.unwrap();
    cloud
        .create_policy_version(&arn, &policy::to_compact(&send_policy("payments")))
        .await
        .unwrap();

    // The order real IAM requires: detach, delete the non-default versions, then the policy.
    cloud.detach_role_policy(&role, &arn).await.unwrap();
    cloud.delete_policy_version(&arn, "v1").await.unwrap();
    cloud.delete_policy(&arn).await.unwrap();

    assert_eq!(cloud.list_policies(&test_path("delete")).await.unwrap(), []);
    let result = cloud.list_policy_versions(&arn).await;
    assert!(
        matches!(result, Err(CloudError::IamNotFound { kind: "policy", .. })),
        "{result:?}"
    );
}

/// Asserts that `result` is IAM's DeleteConflict for DeletePolicy.
fn assert_delete_conflict(result: Result<(), CloudError>) {
    let Err(CloudError::Api { operation, source }) = result else {
        panic!("expected an Api error for DeleteConflict, got {result:?}");
    };
    assert_eq!(operation, "iam:DeletePolicy");
    assert!(
        format!("{source:?}").contains("DeleteConflict"),
        "{source:?}"
    );
}

/// IAM rejects DeletePolicy while the policy is attached to a role. moto 5.2.5 deletes it, and
/// the correction in scripts/moto_launcher.py restores the conflict.
#[tokio::test]
async fn attached_policy_delete_conflicts() {
    let cloud = connect().await;
    let arn = create_send_policy(&cloud, "attached", "attached", "orders").await;
    let role = unique_name("attached-role");
    create_role(&role).await;
    cloud.attach_role_policy(&role, &arn).await.unwrap();

    let result = cloud.delete_policy(&arn).await;

    assert_delete_conflict(result);
    assert_eq!(cloud.list_policy_roles(&arn).await.unwrap(), [role]);
    assert_eq!(
        cloud
            .list_policies(&test_path("attached"))
            .await
            .unwrap()
            .len(),
        1
    );
}

/// IAM rejects DeletePolicy while the policy has versions other than the default. moto 5.2.5
/// deletes it, and the correction in scripts/moto_launcher.py restores the conflict.
#[tokio::test]
async fn policy_with_versions_delete_conflicts() {
    let cloud = connect().await;
    let arn = create_send_policy(&cloud, "versions", "versions", "orders").await;
    cloud
        .create_policy_version(&arn, &policy::to_compact(&send_policy("payments")))
        .await
        .unwrap();

    let result = cloud.delete_policy(&arn).await;

    assert_delete_conflict(result);
    let versions = cloud.list_policy_versions(&arn).await.unwrap();
    assert_eq!(version_ids(&versions), ["v1", "v2"]);
}

#[tokio::test]
async fn role_exists_reports_presence() {
    let cloud = connect().await;
    let role = unique_name("exists-role");
    create_role(&role).await;

    assert!(cloud.role_exists(&role).await.unwrap());
    assert!(
        !cloud
            .role_exists(&unique_name("absent-role"))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn malformed_document_keeps_iam_message() {
    let cloud = connect().await;
    let name = unique_name("malformed");

    let result = cloud
        .create_policy(
            &name,
            &test_path("malformed"),
            r#"{"Version":"2012-10-17"}"#,
            &Tags::new(),
        )
        .await;

    let Err(CloudError::MalformedPolicy { policy, message }) = result else {
        panic!("expected MalformedPolicy, got {result:?}");
    };
    assert_eq!(policy, name);
    // moto 5.2.5's text for a document without a Statement.
    assert_eq!(message, "Syntax errors in policy.");
}

#[tokio::test]
async fn read_sequence_counts_iam_calls() {
    let setup = connect().await;
    let arn = create_send_policy(&setup, "calls", "calls", "orders").await;
    let cloud = connect().await;

    let listed = cloud.list_policies(&test_path("calls")).await.unwrap();
    cloud
        .get_policy_document(&arn, &listed[0].default_version_id)
        .await
        .unwrap();
    cloud.list_policy_roles(&arn).await.unwrap();

    let expected = ApiCalls {
        total: 3,
        by_operation: [
            ("iam:GetPolicyVersion".to_string(), 1),
            ("iam:ListEntitiesForPolicy".to_string(), 1),
            ("iam:ListPolicies".to_string(), 1),
        ]
        .into(),
    };
    assert_eq!(cloud.api_calls(), expected);
}

// The deviations of moto 5.2.5 from real IAM that sqsform can run into follow.

/// Real IAM returns the document of GetPolicyVersion URL-encoded (RFC 3986), such as
/// `%7B%0A%20%20%22Version%22...`. moto 5.2.5 returns the text it was given, unencoded, so the
/// emulator never exercises the decoding in `policy::parse` (the fake in `cloud::memory` does).
#[tokio::test]
async fn moto_returns_document_unencoded() {
    let cloud = connect().await;
    let document = r#"{
  "Version": "2012-10-17",
  "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]
}"#;
    let arn = cloud
        .create_policy(
            &unique_name("moto-encoding"),
            &test_path("moto-encoding"),
            document,
            &Tags::new(),
        )
        .await
        .unwrap();

    let text = cloud.get_policy_document(&arn, "v1").await.unwrap();

    assert_eq!(text, document);
}

/// Real IAM policy names are unique in the account regardless of path and case, so the second
/// CreatePolicy fails with EntityAlreadyExists. moto 5.2.5 keys policies by ARN and creates
/// both.
#[tokio::test]
async fn moto_allows_same_name_at_other_path() {
    let cloud = connect().await;
    let name = unique_name("moto-duplicate");
    let document = policy::to_compact(&send_policy("orders"));
    cloud
        .create_policy(
            &name,
            &test_path("moto-duplicate/a"),
            &document,
            &Tags::new(),
        )
        .await
        .unwrap();

    let other_path = cloud
        .create_policy(
            &name,
            &test_path("moto-duplicate/b"),
            &document,
            &Tags::new(),
        )
        .await;
    let other_case = cloud
        .create_policy(
            &name.to_uppercase(),
            &test_path("moto-duplicate/a"),
            &document,
            &Tags::new(),
        )
        .await;

    assert!(other_path.is_ok(), "{other_path:?}");
    assert!(other_case.is_ok(), "{other_case:?}");
}

/// Real IAM returns NoSuchEntity from ListEntitiesForPolicy for a missing policy. moto 5.2.5
/// returns an empty listing, so a deleted policy looks like one without attachments.
#[tokio::test]
async fn moto_lists_no_roles_for_missing_policy() {
    let cloud = connect().await;
    let arn = format!(
        "arn:aws:iam::{}:policy{}{}",
        common::ACCOUNT,
        test_path("moto-missing"),
        unique_name("never-created")
    );

    let roles = cloud.list_policy_roles(&arn).await;

    assert_eq!(roles.unwrap(), Vec::<String>::new());
}

/// Real IAM rejects an identity policy that names a `Principal` with MalformedPolicyDocument.
/// moto 5.2.5 accepts it, so only the fake and real IAM catch that mistake.
#[tokio::test]
async fn moto_accepts_principal_in_identity_policy() {
    let cloud = connect().await;
    let document = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "sqs:SendMessage",
            "Resource": "*",
        }],
    });

    let result = cloud
        .create_policy(
            &unique_name("moto-principal"),
            &test_path("moto-principal"),
            &policy::to_compact(&document),
            &Tags::new(),
        )
        .await;

    assert!(result.is_ok(), "{result:?}");
}

/// Real IAM rejects a path that does not start and end with `/` with a ValidationError.
/// moto 5.2.5 accepts it and builds an ARN without the separator.
#[tokio::test]
async fn moto_accepts_path_without_slashes() {
    let cloud = connect().await;
    let name = unique_name("moto-path");
    let path = format!("sqsform-it-{}", common::current_run_id());

    let arn = cloud
        .create_policy(
            &name,
            &path,
            &policy::to_compact(&send_policy("orders")),
            &Tags::new(),
        )
        .await
        .unwrap();

    assert_eq!(
        arn,
        format!("arn:aws:iam::{}:policy{path}{name}", common::ACCOUNT)
    );
}
