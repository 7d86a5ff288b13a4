//! The diff of the desired service policies against the managed policies under sqsform's
//! IAM path: documents by meaning, attachments as sets of roles.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::Action;
use crate::cloud::{LivePolicy, PolicyVersion, Tags};
use crate::model::{DesiredState, ServicePolicy};

/// IAM keeps at most this many versions of a managed policy.
pub const MAX_POLICY_VERSIONS: usize = 5;

/// The planned change to one managed policy.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PolicyChange {
    pub action: Action,
    /// Service from the spec, or `operators`; absent for a policy that is only live.
    pub service: Option<String>,
    pub name: String,
    pub arn: String,
    /// IAM path of the policy, such as `/sqsform/driversklub/prod/`.
    pub path: String,
    /// Role the spec attaches the policy to.
    pub role: Option<String>,
    /// Live default document, when it differs or the policy is deleted.
    pub before: Option<Value>,
    /// Desired document, when it is created or differs.
    pub after: Option<Value>,
    /// For an update at the version limit: the oldest non-default version, deleted first.
    pub delete_version: Option<String>,
    /// For a delete: every non-default version, deleted before the policy.
    pub delete_versions: Vec<String>,
    pub attach: Vec<String>,
    pub detach: Vec<String>,
    /// Users the policy is attached to; sqsform attaches only roles, so they are detached.
    pub detach_users: Vec<String>,
    /// Groups the policy is attached to, detached for the same reason.
    pub detach_groups: Vec<String>,
    /// Tags a new policy is created with.
    pub tags: Tags,
}

impl PolicyChange {
    /// Checks whether the document changes, which creates a policy version.
    pub fn document_changes(&self) -> bool {
        self.action == Action::Update && self.after.is_some()
    }
}

/// Counts of planned policy actions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PolicySummary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub unchanged: usize,
}

/// Diffs the desired service policies against the live ones.
pub fn diff_policies(desired: &DesiredState, live: &[LivePolicy]) -> Vec<PolicyChange> {
    let live_by_name: BTreeMap<&str, &LivePolicy> = live
        .iter()
        .map(|policy| (policy.name.as_str(), policy))
        .collect();
    let mut changes = Vec::new();

    for desired_policy in &desired.service_policies {
        let change = match live_by_name.get(desired_policy.name.as_str()) {
            None => create(desired, desired_policy),
            Some(existing) => update(desired, desired_policy, existing),
        };
        changes.push(change);
    }

    let desired_names: BTreeSet<&str> = desired
        .service_policies
        .iter()
        .map(|policy| policy.name.as_str())
        .collect();
    for existing in live
        .iter()
        .filter(|policy| !desired_names.contains(policy.name.as_str()))
    {
        changes.push(PolicyChange {
            action: Action::Delete,
            service: None,
            name: existing.name.clone(),
            arn: existing.arn.clone(),
            path: desired.iam_path.clone(),
            role: None,
            before: existing.document.clone(),
            after: None,
            delete_version: None,
            delete_versions: Vec::new(),
            attach: Vec::new(),
            detach: existing.roles.clone(),
            detach_users: existing.users.clone(),
            detach_groups: existing.groups.clone(),
            tags: Tags::new(),
        });
    }
    changes
}

fn create(desired: &DesiredState, desired_policy: &ServicePolicy) -> PolicyChange {
    PolicyChange {
        action: Action::Create,
        service: Some(desired_policy.service.clone()),
        name: desired_policy.name.clone(),
        arn: desired_policy.arn.clone(),
        path: desired.iam_path.clone(),
        role: Some(desired_policy.role.clone()),
        before: None,
        after: Some(desired_policy.document.clone()),
        delete_version: None,
        delete_versions: Vec::new(),
        attach: vec![desired_policy.role.clone()],
        detach: Vec::new(),
        detach_users: Vec::new(),
        detach_groups: Vec::new(),
        tags: desired_policy.tags.clone(),
    }
}

fn update(
    desired: &DesiredState,
    desired_policy: &ServicePolicy,
    existing: &LivePolicy,
) -> PolicyChange {
    let same_document = existing.document.as_ref().is_some_and(|live| {
        crate::policy::equivalent(live, &desired_policy.document).unwrap_or(false)
    });
    let attach: Vec<String> = if existing.roles.contains(&desired_policy.role) {
        Vec::new()
    } else {
        vec![desired_policy.role.clone()]
    };
    let detach: Vec<String> = existing
        .roles
        .iter()
        .filter(|role| **role != desired_policy.role)
        .cloned()
        .collect();
    let unchanged = same_document
        && attach.is_empty()
        && detach.is_empty()
        && existing.users.is_empty()
        && existing.groups.is_empty();

    PolicyChange {
        action: if unchanged {
            Action::NoOp
        } else {
            Action::Update
        },
        service: Some(desired_policy.service.clone()),
        name: desired_policy.name.clone(),
        arn: existing.arn.clone(),
        path: desired.iam_path.clone(),
        role: Some(desired_policy.role.clone()),
        before: (!same_document).then(|| {
            existing
                .document
                .clone()
                .unwrap_or_else(|| Value::String(existing.document_text.clone()))
        }),
        after: (!same_document).then(|| desired_policy.document.clone()),
        delete_version: None,
        delete_versions: Vec::new(),
        attach,
        detach,
        detach_users: existing.users.clone(),
        detach_groups: existing.groups.clone(),
        tags: desired_policy.tags.clone(),
    }
}

/// Returns the ARNs whose version lists the plan needs: policies whose document changes, and
/// policies to delete.
pub fn policies_needing_versions(changes: &[PolicyChange]) -> Vec<String> {
    changes
        .iter()
        .filter(|change| change.document_changes() || change.action == Action::Delete)
        .map(|change| change.arn.clone())
        .collect()
}

/// Fills in the version steps: at the version limit an update first deletes the oldest
/// non-default version, and a delete removes every non-default version first.
pub fn add_version_steps(
    changes: &mut [PolicyChange],
    versions: &BTreeMap<String, Vec<PolicyVersion>>,
) {
    for change in changes.iter_mut() {
        let Some(listed) = versions.get(&change.arn) else {
            continue;
        };
        let mut non_default: Vec<&PolicyVersion> = listed
            .iter()
            .filter(|version| !version.is_default)
            .collect();
        // Creation times have whole seconds, so the version number breaks ties: IAM numbers
        // versions v1, v2, ... in creation order.
        non_default.sort_by_key(|version| {
            let number: u64 = version
                .version_id
                .trim_start_matches('v')
                .parse()
                .unwrap_or(u64::MAX);
            (version.created_epoch_seconds, number)
        });
        if change.document_changes() && listed.len() >= MAX_POLICY_VERSIONS {
            change.delete_version = non_default
                .first()
                .map(|version| version.version_id.clone());
        }
        if change.action == Action::Delete {
            change.delete_versions = non_default
                .iter()
                .map(|version| version.version_id.clone())
                .collect();
        }
    }
}

/// Returns the roles the plan attaches policies to, whose existence must be checked.
pub fn roles_to_attach(changes: &[PolicyChange]) -> BTreeSet<String> {
    changes
        .iter()
        .flat_map(|change| change.attach.iter().cloned())
        .collect()
}

/// Counts policy actions.
pub fn summarize(changes: &[PolicyChange]) -> PolicySummary {
    let mut summary = PolicySummary::default();
    for change in changes {
        match change.action {
            Action::Create => summary.create += 1,
            Action::Update => summary.update += 1,
            Action::Delete => summary.delete += 1,
            _ => summary.unchanged += 1,
        }
    }
    summary
}

/// One permission of a policy: effect, action and resource, for naming drift precisely.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Permission {
    pub effect: String,
    pub action: String,
    pub resource: String,
}

/// Returns the permissions of `before` that `after` lacks and those `after` adds, comparing
/// action names without case as IAM does.
pub fn permission_changes(before: &Value, after: &Value) -> (Vec<Permission>, Vec<Permission>) {
    let before_set = permissions(before);
    let after_set = permissions(after);
    let key = |permission: &Permission| {
        (
            permission.effect.clone(),
            permission.action.to_ascii_lowercase(),
            permission.resource.clone(),
        )
    };
    let after_keys: BTreeSet<_> = after_set.iter().map(key).collect();
    let before_keys: BTreeSet<_> = before_set.iter().map(key).collect();
    let removed = before_set
        .iter()
        .filter(|permission| !after_keys.contains(&key(permission)))
        .cloned()
        .collect();
    let added = after_set
        .iter()
        .filter(|permission| !before_keys.contains(&key(permission)))
        .cloned()
        .collect();
    (removed, added)
}

fn permissions(document: &Value) -> BTreeSet<Permission> {
    let Ok(form) = crate::policy::display_form(document) else {
        return BTreeSet::new();
    };
    let mut result = BTreeSet::new();
    for statement in form["Statement"].as_array().into_iter().flatten() {
        let effect = statement["Effect"].as_str().unwrap_or_default().to_string();
        let actions = statement["Action"].as_array().cloned().unwrap_or_default();
        let resources = statement["Resource"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for action in actions.iter().filter_map(Value::as_str) {
            for resource in resources.iter().filter_map(Value::as_str) {
                result.insert(Permission {
                    effect: effect.clone(),
                    action: action.to_string(),
                    resource: resource.to_string(),
                });
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live(name: &str, document: Value, roles: &[&str]) -> LivePolicy {
        LivePolicy {
            name: name.to_string(),
            arn: format!("arn:aws:iam::123456789012:policy/sqsform/shop/test/{name}"),
            default_version_id: "v1".to_string(),
            document_text: document.to_string(),
            document: Some(document),
            roles: roles.iter().map(|role| role.to_string()).collect(),
            users: Vec::new(),
            groups: Vec::new(),
        }
    }

    fn desired() -> DesiredState {
        let spec = "project: shop\nservices:\n  orders-api: {}\nqueues:\n  orders:\n    producers: [orders-api]\n";
        let environment = "region: us-east-1\naccount_id: \"123456789012\"\nservices:\n  orders-api: orders-api-role\n";
        crate::spec::load_from_text("queues.yaml", spec, "test", environment)
            .expect("spec")
            .desired
    }

    #[test]
    fn missing_policy_is_created_and_attached() {
        let changes = diff_policies(&desired(), &[]);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].action, Action::Create);
        assert_eq!(changes[0].attach, vec!["orders-api-role".to_string()]);
        assert_eq!(
            changes[0].arn,
            "arn:aws:iam::123456789012:policy/sqsform/shop/test/shop-test-orders-api"
        );
    }

    #[test]
    fn equal_document_with_reordered_actions_is_unchanged() {
        let desired = desired();
        let mut document = desired.service_policies[0].document.clone();
        document["Statement"][0]["Action"] = json!([
            "sqs:SendMessage",
            "sqs:GetQueueUrl",
            "sqs:GetQueueAttributes"
        ]);
        let changes = diff_policies(
            &desired,
            &[live("shop-test-orders-api", document, &["orders-api-role"])],
        );
        assert_eq!(changes[0].action, Action::NoOp);
        assert!(policies_needing_versions(&changes).is_empty());
    }

    #[test]
    fn extra_role_is_detached_and_extra_action_named() {
        let desired = desired();
        let mut document = desired.service_policies[0].document.clone();
        document["Statement"][0]["Action"]
            .as_array_mut()
            .unwrap()
            .push(json!("sqs:DeleteQueue"));
        let changes = diff_policies(
            &desired,
            &[live(
                "shop-test-orders-api",
                document,
                &["orders-api-role", "intruder"],
            )],
        );

        assert_eq!(changes[0].action, Action::Update);
        assert_eq!(changes[0].detach, vec!["intruder".to_string()]);
        assert!(changes[0].attach.is_empty());
        let (removed, added) = permission_changes(
            changes[0].before.as_ref().unwrap(),
            changes[0].after.as_ref().unwrap(),
        );
        assert_eq!(
            removed,
            vec![Permission {
                effect: "Allow".into(),
                action: "sqs:DeleteQueue".into(),
                resource: "arn:aws:sqs:us-east-1:123456789012:shop-test-orders".into(),
            }]
        );
        assert!(added.is_empty());
    }

    #[test]
    fn version_limit_deletes_oldest_non_default() {
        let desired = desired();
        let mut changes = diff_policies(
            &desired,
            &[live(
                "shop-test-orders-api",
                json!({"Version": "2012-10-17", "Statement": []}),
                &["orders-api-role"],
            )],
        );
        let versions: Vec<PolicyVersion> = (1..=5)
            .map(|number| PolicyVersion {
                version_id: format!("v{number}"),
                is_default: number == 3,
                created_epoch_seconds: 100 - number,
            })
            .collect();

        let arn = changes[0].arn.clone();
        add_version_steps(&mut changes, &BTreeMap::from([(arn, versions)]));

        assert_eq!(changes[0].delete_version.as_deref(), Some("v5"));
    }

    #[test]
    fn removed_service_policy_is_deleted_with_versions() {
        let mut desired = desired();
        desired.service_policies.clear();
        let mut changes = diff_policies(
            &desired,
            &[live(
                "shop-test-old",
                json!({"Version": "2012-10-17", "Statement": []}),
                &["old-role"],
            )],
        );
        let versions = vec![
            PolicyVersion {
                version_id: "v1".into(),
                is_default: false,
                created_epoch_seconds: 1,
            },
            PolicyVersion {
                version_id: "v2".into(),
                is_default: true,
                created_epoch_seconds: 2,
            },
        ];

        let arn = changes[0].arn.clone();
        add_version_steps(&mut changes, &BTreeMap::from([(arn, versions)]));

        assert_eq!(changes[0].action, Action::Delete);
        assert_eq!(changes[0].detach, vec!["old-role".to_string()]);
        assert_eq!(changes[0].delete_versions, vec!["v1".to_string()]);
    }

    #[test]
    fn url_encoded_live_document_is_equal() {
        let desired = desired();
        let text = desired.service_policies[0].document.to_string();
        let encoded: String = text
            .bytes()
            .map(|byte| {
                if byte.is_ascii_alphanumeric() {
                    (byte as char).to_string()
                } else {
                    format!("%{byte:02X}")
                }
            })
            .collect();
        let document = crate::policy::parse(&encoded).expect("decodes");
        let changes = diff_policies(
            &desired,
            &[live("shop-test-orders-api", document, &["orders-api-role"])],
        );
        assert_eq!(changes[0].action, Action::NoOp);
    }
}
