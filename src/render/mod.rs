//! Renderers of plans and drift: text for people and JSON for machines.
//!
//! Renderers write to any `io::Write`, so tests capture them. Colour is a parameter: the binary
//! turns it on only for a terminal without `NO_COLOR`.

use std::io::{self, Write};

use serde::Serialize;

use crate::cloud::ApiCalls;
use crate::model::QueueRole;
use crate::plan::{Action, AttributeChange, Plan, QueueChange};

mod alarms;
mod iam;
mod topics;

pub use alarms::{AlarmDrift, DashboardDrift, alarm_drift, dashboard_drift};
pub use iam::{PolicyDrift, policy_drift};
pub use topics::{TopicDrift, topic_drift};

/// Version of the JSON documents below; it changes when a field changes meaning or goes away.
pub const JSON_FORMAT_VERSION: u32 = 1;

/// ANSI styling, empty when colour is off.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub colour: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn green(&self, text: &str) -> String {
        self.paint("32", text)
    }

    fn yellow(&self, text: &str) -> String {
        self.paint("33", text)
    }

    fn red(&self, text: &str) -> String {
        self.paint("31", text)
    }

    fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
}

/// The JSON document of `plan --format json`.
#[derive(Serialize)]
pub struct PlanDocument<'a> {
    pub format_version: u32,
    pub has_changes: bool,
    pub plan: &'a Plan,
    /// Requests made to build the plan, by operation.
    pub api_calls: &'a ApiCalls,
    /// The changes `apply` rejects without a flag, each naming the flag.
    pub needs_flags: &'a [String],
}

/// Writes a plan as JSON.
pub fn plan_json(
    out: &mut dyn Write,
    plan: &Plan,
    api_calls: &ApiCalls,
    needs_flags: &[String],
) -> io::Result<()> {
    let document = PlanDocument {
        format_version: JSON_FORMAT_VERSION,
        has_changes: plan.has_changes(),
        plan,
        api_calls,
        needs_flags,
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

fn marker(action: Action, style: Style) -> String {
    match action {
        Action::Create => style.green("+"),
        Action::Update => style.yellow("~"),
        Action::Replace => style.red("-/+"),
        Action::Delete => style.red("-"),
        Action::Adopt => style.yellow("~"),
        Action::NoOp => " ".to_string(),
    }
}

fn verb(action: Action) -> &'static str {
    match action {
        Action::Create => "create",
        Action::Update => "update",
        Action::Replace => "replace",
        Action::Delete => "delete",
        Action::Adopt => "adopt",
        Action::NoOp => "unchanged",
    }
}

pub(crate) fn display_value(value: Option<&str>) -> &str {
    value.unwrap_or("(none)")
}

/// Writes the changes that `apply` rejects without a flag, after a plan. Writes nothing when
/// there are none.
pub fn needs_flags_text(
    out: &mut dyn Write,
    needs_flags: &[String],
    style: Style,
) -> io::Result<()> {
    if needs_flags.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "{} apply rejects {} change(s) without a flag:",
        style.bold("Needs a flag:"),
        needs_flags.len()
    )?;
    for message in needs_flags {
        writeln!(out, "  {message}")?;
    }
    Ok(())
}

/// Writes a plan for people: one block per change, then a summary line.
pub fn plan_text(out: &mut dyn Write, plan: &Plan, style: Style) -> io::Result<()> {
    writeln!(
        out,
        "Plan for {} / {} (queues named {}*)",
        plan.project, plan.environment, plan.prefix
    )?;
    writeln!(out)?;

    for change in plan.changes() {
        write_change(out, change, style)?;
        writeln!(out)?;
    }

    for change in plan
        .policies
        .iter()
        .filter(|change| change.action != Action::NoOp)
    {
        iam::write_policy_change(out, change, style)?;
        writeln!(out)?;
    }

    for change in plan.topics.iter().filter(|change| change.has_changes()) {
        topics::write_topic_change(out, change, style)?;
        writeln!(out)?;
    }
    for change in plan
        .alarms
        .iter()
        .filter(|change| change.action != Action::NoOp)
    {
        alarms::write_alarm_change(out, change, style)?;
        writeln!(out)?;
    }
    if let Some(change) = plan
        .dashboard
        .as_ref()
        .filter(|change| change.action != Action::NoOp)
    {
        alarms::write_dashboard_change(out, change, style)?;
        writeln!(out)?;
    }
    if !plan.unmanaged_alarms.is_empty() {
        writeln!(
            out,
            "Alarms left alone (prefix matches, but neither in the spec nor tagged as owned): {}",
            plan.unmanaged_alarms.join(", ")
        )?;
        writeln!(out)?;
    }

    if !plan.unmanaged.is_empty() {
        writeln!(
            out,
            "Left alone (prefix matches, but neither in the spec nor tagged as owned): {}",
            plan.unmanaged.join(", ")
        )?;
        writeln!(out)?;
    }

    let summary = plan.summary;
    let policies = plan.policy_summary;
    if !plan.has_changes() {
        let dashboard = if plan.dashboard.is_some() {
            " and the dashboard"
        } else {
            ""
        };
        let topics = if plan.topics.is_empty() {
            String::new()
        } else {
            format!(", {} topic(s)", plan.topics.len())
        };
        return writeln!(
            out,
            "{} {} queue(s), {} IAM policy(ies), {} alarm(s){topics}{dashboard} match the spec.",
            style.bold("No changes."),
            summary.unchanged,
            policies.unchanged,
            plan.alarm_summary.unchanged
        );
    }
    writeln!(
        out,
        "{} {} to create, {} to update, {} to replace, {} to delete, {} to adopt, {} unchanged.",
        style.bold("Plan:"),
        summary.create,
        summary.update,
        summary.replace,
        summary.delete,
        summary.adopt,
        summary.unchanged
    )?;
    if !plan.policies.is_empty() {
        writeln!(
            out,
            "{} {} to create, {} to update, {} to delete, {} unchanged.",
            style.bold("IAM policies:"),
            policies.create,
            policies.update,
            policies.delete,
            policies.unchanged
        )?;
    }
    if !plan.alarms.is_empty() || plan.dashboard.is_some() {
        let alarm_counts = plan.alarm_summary;
        let dashboard = match plan.dashboard.as_ref().map(|change| change.action) {
            Some(Action::Create) => "dashboard to create",
            Some(Action::Update) => "dashboard to update",
            Some(Action::Delete) => "dashboard to delete",
            Some(_) => "dashboard unchanged",
            None => "no dashboard",
        };
        writeln!(
            out,
            "{} {} to create, {} to update, {} to delete, {} to adopt, {} unchanged; {dashboard}. CloudWatch bills every alarm and dashboard monthly.",
            style.bold("Alarms:"),
            alarm_counts.create,
            alarm_counts.update,
            alarm_counts.delete,
            alarm_counts.adopt,
            alarm_counts.unchanged
        )?;
    }
    if !plan.topics.is_empty() {
        let count = |action: Action| {
            plan.topics
                .iter()
                .filter(|topic| topic.action == action)
                .count()
        };
        let subscriptions = |action: Action| {
            plan.topics
                .iter()
                .flat_map(|topic| &topic.subscriptions)
                .filter(|subscription| subscription.action == action)
                .count()
        };
        writeln!(
            out,
            "{} {} to create, {} to update, {} to delete; subscriptions: {} to create, {} to update, {} to delete.",
            style.bold("Topics:"),
            count(Action::Create),
            count(Action::Update),
            count(Action::Delete),
            subscriptions(Action::Create),
            subscriptions(Action::Update),
            subscriptions(Action::Delete)
        )?;
    }
    Ok(())
}

fn describe_role(change: &QueueChange) -> String {
    match &change.role {
        Some(QueueRole::DeadLetter { source }) => format!(" (dead-letter queue of {source})"),
        _ if change.dead_letter_target => " (dead-letter queue)".to_string(),
        _ => String::new(),
    }
}

fn write_change(out: &mut dyn Write, change: &QueueChange, style: Style) -> io::Result<()> {
    writeln!(
        out,
        "  {} {} {}{}",
        marker(change.action, style),
        verb(change.action),
        style.bold(&change.name),
        describe_role(change)
    )?;
    if let Some(old) = &change.replaces {
        writeln!(out, "      replaces {}", old.name)?;
    }
    if let Some(reason) = &change.reason {
        writeln!(out, "      reason: {reason}")?;
    }
    if let Some(messages) = change
        .messages
        .filter(|_| matches!(change.action, Action::Delete | Action::Replace))
    {
        writeln!(
            out,
            "      messages: {} ({} visible, {} in flight, {} delayed)",
            messages.total(),
            messages.visible,
            messages.in_flight,
            messages.delayed
        )?;
    }

    let creating = matches!(change.action, Action::Create | Action::Replace);
    for attribute in &change.attributes {
        write_attribute(out, attribute, creating, style)?;
    }

    for (key, value) in &change.tags.set {
        match &value.before {
            None => writeln!(
                out,
                "      {} tag {key} = {}",
                style.green("+"),
                value.after
            )?,
            Some(before) => writeln!(
                out,
                "      {} tag {key}: {before} → {}",
                style.yellow("~"),
                value.after
            )?,
        }
    }
    for (key, before) in &change.tags.remove {
        writeln!(out, "      {} tag {key} (was {before})", style.red("-"))?;
    }
    for warning in &change.warnings {
        writeln!(out, "      {} {warning}", style.yellow("warning:"))?;
    }
    Ok(())
}

fn write_attribute(
    out: &mut dyn Write,
    attribute: &AttributeChange,
    creating: bool,
    style: Style,
) -> io::Result<()> {
    if attribute.is_document() {
        let parse = |text: Option<&String>| text.and_then(|text| crate::policy::parse(text).ok());
        let before = parse(attribute.before.as_ref());
        let after = parse(attribute.after.as_ref());
        return write_document(out, &attribute.name, before.as_ref(), after.as_ref(), style);
    }
    if creating {
        writeln!(
            out,
            "      {} = {}",
            attribute.name,
            display_value(attribute.after.as_deref())
        )
    } else {
        writeln!(
            out,
            "      {}: {} → {}",
            attribute.name,
            display_value(attribute.before.as_deref()),
            display_value(attribute.after.as_deref())
        )
    }
}

/// Writes a policy document change: the whole document when it is set or removed, otherwise a
/// line diff.
pub(crate) fn write_document(
    out: &mut dyn Write,
    name: &str,
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
    style: Style,
) -> io::Result<()> {
    let (heading, diff) = match (before, after) {
        (None, Some(document)) => ("set", signed_lines(document, "+ ")),
        (Some(document), None) => ("removed", signed_lines(document, "- ")),
        (Some(before), Some(after)) => ("changed", crate::policy::line_diff(before, after)),
        (None, None) => return Ok(()),
    };
    writeln!(out, "      {name} {heading}:")?;
    for line in diff.lines() {
        let painted = if line.starts_with("+ ") {
            style.green(line)
        } else if line.starts_with("- ") {
            style.red(line)
        } else {
            line.to_string()
        };
        writeln!(out, "        {painted}")?;
    }
    Ok(())
}

fn signed_lines(document: &serde_json::Value, sign: &str) -> String {
    crate::policy::to_pretty(document)
        .lines()
        .map(|line| format!("{sign}{line}\n"))
        .collect()
}

/// The difference between one queue and the spec, as `drift` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QueueDrift {
    pub name: String,
    /// `missing`, `changed`, `unexpected`, `unowned` or `type-changed`.
    pub kind: &'static str,
    pub attributes: Vec<AttributeDrift>,
    pub tags: Vec<AttributeDrift>,
}

/// One attribute or tag with the value the spec expects and the value AWS has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AttributeDrift {
    pub name: String,
    pub expected: Option<String>,
    pub actual: Option<String>,
}

/// Returns the drift a plan describes.
pub fn drift_of(plan: &Plan) -> Vec<QueueDrift> {
    plan.changes()
        .map(|change| {
            let kind = match change.action {
                Action::Create => "missing",
                Action::Update => "changed",
                Action::Delete => "unexpected",
                Action::Adopt => "unowned",
                Action::Replace => "type-changed",
                Action::NoOp => "in-sync",
            };
            let tracks_values = matches!(change.action, Action::Update | Action::Adopt);
            let attributes = if tracks_values {
                change
                    .attributes
                    .iter()
                    .map(|attribute| AttributeDrift {
                        name: attribute.name.clone(),
                        expected: attribute.after.clone(),
                        actual: attribute.before.clone(),
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let mut tags: Vec<AttributeDrift> = Vec::new();
            if tracks_values {
                for (key, value) in &change.tags.set {
                    tags.push(AttributeDrift {
                        name: key.clone(),
                        expected: Some(value.after.clone()),
                        actual: value.before.clone(),
                    });
                }
                for (key, value) in &change.tags.remove {
                    tags.push(AttributeDrift {
                        name: key.clone(),
                        expected: None,
                        actual: Some(value.clone()),
                    });
                }
            }
            QueueDrift {
                name: change.name.clone(),
                kind,
                attributes,
                tags,
            }
        })
        .collect()
}

/// The JSON document of `drift --format json`.
#[derive(Serialize)]
pub struct DriftDocument<'a> {
    pub format_version: u32,
    pub project: &'a str,
    pub environment: &'a str,
    pub drifted: bool,
    pub queues: Vec<QueueDrift>,
    pub policies: Vec<PolicyDrift>,
    pub alarms: Vec<AlarmDrift>,
    pub dashboard: Option<DashboardDrift>,
    pub topics: Vec<TopicDrift>,
    /// Queues that match the spec.
    pub in_sync: usize,
    pub api_calls: &'a ApiCalls,
}

/// Writes drift as JSON.
pub fn drift_json(out: &mut dyn Write, plan: &Plan, api_calls: &ApiCalls) -> io::Result<()> {
    let queues = drift_of(plan);
    let policies = policy_drift(plan);
    let alarms = alarm_drift(plan);
    let dashboard = dashboard_drift(plan);
    let topics = topic_drift(plan);
    let document = DriftDocument {
        project: &plan.project,
        format_version: JSON_FORMAT_VERSION,
        environment: &plan.environment,
        drifted: !queues.is_empty()
            || !policies.is_empty()
            || !alarms.is_empty()
            || dashboard.is_some()
            || !topics.is_empty(),
        queues,
        policies,
        alarms,
        dashboard,
        topics,
        in_sync: plan.summary.unchanged,
        api_calls,
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}

/// Writes drift for people: each drifted queue with expected and actual values.
pub fn drift_text(out: &mut dyn Write, plan: &Plan, style: Style) -> io::Result<()> {
    let queues = drift_of(plan);
    let policies = policy_drift(plan);
    let monitoring = alarm_drift(plan);
    let dashboard = dashboard_drift(plan);
    let topic_changes = topic_drift(plan);

    if queues.is_empty()
        && policies.is_empty()
        && monitoring.is_empty()
        && dashboard.is_none()
        && topic_changes.is_empty()
    {
        let with_dashboard = if plan.dashboard.is_some() {
            " and the dashboard"
        } else {
            ""
        };
        let topics = if plan.topics.is_empty() {
            String::new()
        } else {
            format!(", {} topic(s)", plan.topics.len())
        };
        return writeln!(
            out,
            "No drift: {} queue(s), {} IAM policy(ies), {} alarm(s){topics}{with_dashboard} in {} / {} match the spec.",
            plan.summary.unchanged,
            plan.policy_summary.unchanged,
            plan.alarm_summary.unchanged,
            plan.project,
            plan.environment
        );
    }

    let mut other_counts = String::new();
    if !policies.is_empty() {
        other_counts.push_str(&format!(" and {} IAM policy(ies)", policies.len()));
    }
    if !monitoring.is_empty() {
        other_counts.push_str(&format!(" and {} alarm(s)", monitoring.len()));
    }
    if dashboard.is_some() {
        other_counts.push_str(" and the dashboard");
    }
    if !topic_changes.is_empty() {
        other_counts.push_str(&format!(" and {} topic(s)", topic_changes.len()));
    }

    writeln!(
        out,
        "{} {} queue(s){other_counts} in {} / {} differ from the spec:",
        style.bold("Drift:"),
        queues.len(),
        plan.project,
        plan.environment
    )?;

    for drift in &policies {
        iam::write_policy_drift(out, drift, style)?;
    }
    for drift in &monitoring {
        alarms::write_alarm_drift(out, drift, style)?;
    }
    if let Some(drift) = &dashboard {
        alarms::write_dashboard_drift(out, plan, drift, style)?;
    }
    for drift in &topic_changes {
        topics::write_topic_drift(out, drift, style)?;
    }

    for queue in &queues {
        let description = match queue.kind {
            "missing" => "missing: in the spec but not in AWS",
            "unexpected" => "unexpected: owned by sqsform but no longer in the spec",
            "unowned" => "unowned: exists without sqsform's ownership tags",
            "type-changed" => "type changed: FIFO flag differs from the spec",
            _ => "changed",
        };
        writeln!(
            out,
            "  {} {}: {description}",
            style.yellow("!"),
            style.bold(&queue.name)
        )?;
        for attribute in &queue.attributes {
            let is_document = matches!(
                attribute.name.as_str(),
                "Policy" | "RedrivePolicy" | "RedriveAllowPolicy"
            );
            if is_document {
                // Lines marked "-" are what AWS has, "+" what the spec expects.
                let parse =
                    |text: Option<&String>| text.and_then(|text| crate::policy::parse(text).ok());
                let actual = parse(attribute.actual.as_ref());
                let expected = parse(attribute.expected.as_ref());
                write_document(
                    out,
                    &attribute.name,
                    actual.as_ref(),
                    expected.as_ref(),
                    style,
                )?;
                continue;
            }
            writeln!(
                out,
                "      {}: expected {}, actual {}",
                attribute.name,
                display_value(attribute.expected.as_deref()),
                display_value(attribute.actual.as_deref())
            )?;
        }
        for tag in &queue.tags {
            writeln!(
                out,
                "      tag {}: expected {}, actual {}",
                tag.name,
                display_value(tag.expected.as_deref()),
                display_value(tag.actual.as_deref())
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
