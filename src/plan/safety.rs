//! Checks of the planned changes that need an explicit flag before `apply` may run them.

use serde::Serialize;

use super::{Action, Plan};

/// The flags that allow dangerous changes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SafetyFlags {
    /// Allows deleting managed queues removed from the spec, and replacing queues.
    pub allow_delete: bool,
    /// Allows deleting or replacing queues that hold messages.
    pub allow_data_loss: bool,
    /// Allows taking over queues that exist without the ownership tags.
    pub adopt: bool,
}

/// Returns one message per change the flags do not allow, each naming the flag it needs.
pub fn blocked_changes(plan: &Plan, flags: SafetyFlags) -> Vec<String> {
    let mut blocked = Vec::new();
    for change in plan.changes() {
        let deleted = match change.action {
            Action::Delete => Some(change.name.as_str()),
            Action::Replace => change.replaces.as_ref().map(|old| old.name.as_str()),
            _ => None,
        };
        if let Some(deleted) = deleted {
            let verb = if change.action == Action::Delete {
                "delete"
            } else {
                "replace"
            };
            if !flags.allow_delete {
                blocked.push(format!(
                    "{verb} {deleted}: deleting a managed queue needs --allow-delete"
                ));
            }
            let messages = change.messages.unwrap_or_default();
            if messages.total() > 0 && !flags.allow_data_loss {
                blocked.push(format!(
                    "{verb} {deleted}: the queue holds {} messages ({} visible, {} in flight, {} delayed) that would be lost; this needs --allow-data-loss",
                    messages.total(),
                    messages.visible,
                    messages.in_flight,
                    messages.delayed
                ));
            }
        }
        if change.action == Action::Adopt && !flags.adopt {
            blocked.push(format!(
                "adopt {}: the queue exists without sqsform's ownership tags; rerun with --adopt to manage it",
                change.name
            ));
        }
    }
    for topic in plan
        .topics
        .iter()
        .filter(|topic| topic.action == Action::Delete)
    {
        if !flags.allow_delete {
            blocked.push(format!(
                "delete topic {}: it carries this environment's ownership tags but is no longer in the spec, and deleting it needs --allow-delete",
                topic.name
            ));
        }
    }
    for topic in plan
        .topics
        .iter()
        .filter(|topic| topic.action != Action::Delete)
    {
        for subscription in topic
            .subscriptions
            .iter()
            .filter(|subscription| subscription.action == Action::Delete)
        {
            if !flags.allow_delete {
                blocked.push(format!(
                    "unsubscribe {} from topic {}: the spec does not declare this subscription, and removing it needs --allow-delete",
                    subscription.queue_arn, topic.name
                ));
            }
        }
    }
    for alarm in plan
        .alarms
        .iter()
        .filter(|alarm| alarm.action == Action::Adopt)
    {
        if !flags.adopt {
            blocked.push(format!(
                "adopt alarm {}: the alarm exists without sqsform's ownership tags; rerun with --adopt to manage it",
                alarm.name
            ));
        }
    }
    for policy in plan
        .policies
        .iter()
        .filter(|policy| policy.action == Action::Delete)
    {
        if !flags.allow_delete {
            blocked.push(format!(
                "delete IAM policy {}: its service left the spec, and deleting a managed policy needs --allow-delete",
                policy.name
            ));
        }
    }
    blocked
}
