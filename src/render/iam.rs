//! Rendering of managed IAM policy changes in plans and drift reports.

use std::io::{self, Write};

use serde::Serialize;

use super::{AttributeDrift, Style, write_document};
use crate::plan::iam::{Permission, permission_changes};
use crate::plan::{Action, Plan, PolicyChange};

fn describe_owner(change: &PolicyChange) -> String {
    match (&change.service, &change.role) {
        (Some(service), Some(role)) => format!(" (service {service}, role {role})"),
        _ => String::new(),
    }
}

/// Writes one policy change for people.
pub(super) fn write_policy_change(
    out: &mut dyn Write,
    change: &PolicyChange,
    style: Style,
) -> io::Result<()> {
    let (marker, verb) = match change.action {
        Action::Create => (style.green("+"), "create"),
        Action::Delete => (style.red("-"), "delete"),
        _ => (style.yellow("~"), "update"),
    };
    writeln!(
        out,
        "  {marker} {verb} IAM policy {}{}",
        style.bold(&change.name),
        describe_owner(change)
    )?;

    for role in &change.detach {
        writeln!(out, "      {} detach from role {role}", style.red("-"))?;
    }
    for user in &change.detach_users {
        writeln!(out, "      {} detach from user {user}", style.red("-"))?;
    }
    for group in &change.detach_groups {
        writeln!(out, "      {} detach from group {group}", style.red("-"))?;
    }
    if let Some(version_id) = &change.delete_version {
        writeln!(
            out,
            "      {} delete version {version_id}: IAM keeps at most 5 versions, and it is the oldest non-default one",
            style.red("-")
        )?;
    }
    for version_id in &change.delete_versions {
        writeln!(out, "      {} delete version {version_id}", style.red("-"))?;
    }
    if change.document_changes() {
        writeln!(
            out,
            "      {} create a new default version",
            style.green("+")
        )?;
    }
    if change.action != Action::Delete {
        write_document(
            out,
            "Document",
            change.before.as_ref(),
            change.after.as_ref(),
            style,
        )?;
    }
    for role in &change.attach {
        writeln!(out, "      {} attach to role {role}", style.green("+"))?;
    }
    Ok(())
}

/// The difference between one managed policy and the spec, as `drift` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicyDrift {
    pub name: String,
    pub service: Option<String>,
    /// `missing`, `changed` or `unexpected`.
    pub kind: &'static str,
    /// Permissions the live document grants that the spec does not (`actual` set), and the
    /// reverse (`expected` set).
    pub permissions: Vec<AttributeDrift>,
    /// Roles, users and groups (`name` tells which) attached but not in the spec
    /// (`actual` set), and roles the spec names that are not attached (`expected` set).
    pub roles: Vec<AttributeDrift>,
}

fn describe(permission: &Permission) -> String {
    format!(
        "{} {} on {}",
        permission.effect, permission.action, permission.resource
    )
}

/// Returns the policy drift a plan describes.
pub fn policy_drift(plan: &Plan) -> Vec<PolicyDrift> {
    plan.policies
        .iter()
        .filter(|change| change.action != Action::NoOp)
        .map(|change| {
            let kind = match change.action {
                Action::Create => "missing",
                Action::Delete => "unexpected",
                _ => "changed",
            };
            let mut permissions = Vec::new();
            if let (Action::Update, Some(before), Some(after)) =
                (change.action, &change.before, &change.after)
            {
                let (extra, missing) = permission_changes(before, after);
                permissions.extend(extra.iter().map(|permission| AttributeDrift {
                    name: "permission".into(),
                    expected: None,
                    actual: Some(describe(permission)),
                }));
                permissions.extend(missing.iter().map(|permission| AttributeDrift {
                    name: "permission".into(),
                    expected: Some(describe(permission)),
                    actual: None,
                }));
            }
            let mut roles: Vec<AttributeDrift> = change
                .detach
                .iter()
                .map(|role| AttributeDrift {
                    name: "role".into(),
                    expected: None,
                    actual: Some(role.clone()),
                })
                .collect();
            roles.extend(change.detach_users.iter().map(|user| AttributeDrift {
                name: "user".into(),
                expected: None,
                actual: Some(user.clone()),
            }));
            roles.extend(change.detach_groups.iter().map(|group| AttributeDrift {
                name: "group".into(),
                expected: None,
                actual: Some(group.clone()),
            }));
            if change.action == Action::Update {
                roles.extend(change.attach.iter().map(|role| AttributeDrift {
                    name: "role".into(),
                    expected: Some(role.clone()),
                    actual: None,
                }));
            }
            PolicyDrift {
                name: change.name.clone(),
                service: change.service.clone(),
                kind,
                permissions,
                roles,
            }
        })
        .collect()
}

/// Writes policy drift for people.
pub(super) fn write_policy_drift(
    out: &mut dyn Write,
    drift: &PolicyDrift,
    style: Style,
) -> io::Result<()> {
    let owner = drift
        .service
        .as_ref()
        .map(|service| format!(" (service {service})"))
        .unwrap_or_default();
    let description = match drift.kind {
        "missing" => "missing: in the spec but not in AWS",
        "unexpected" => "unexpected: under sqsform's IAM path but no longer in the spec",
        _ => "changed",
    };
    writeln!(
        out,
        "  {} IAM policy {}{owner}: {description}",
        style.yellow("!"),
        style.bold(&drift.name)
    )?;
    for permission in &drift.permissions {
        match (&permission.expected, &permission.actual) {
            (None, Some(actual)) => {
                writeln!(out, "      grants {actual}, which the spec does not")?
            }
            (Some(expected), _) => writeln!(out, "      lacks {expected}, which the spec grants")?,
            _ => {}
        }
    }
    for role in &drift.roles {
        match (&role.expected, &role.actual) {
            (None, Some(actual)) => writeln!(
                out,
                "      attached to {} {actual}, which the spec does not name",
                role.name
            )?,
            (Some(expected), _) => writeln!(out, "      not attached to role {expected}")?,
            _ => {}
        }
    }
    Ok(())
}
