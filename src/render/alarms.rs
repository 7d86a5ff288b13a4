//! Rendering of CloudWatch alarm and dashboard changes in plans and drift reports.

use std::io::{self, Write};

use serde::Serialize;

use super::{AttributeDrift, Style, display_value};
use crate::plan::alarms::{AlarmChange, DashboardChange};
use crate::plan::{Action, Plan};

/// Writes one alarm change for people.
pub(super) fn write_alarm_change(
    out: &mut dyn Write,
    change: &AlarmChange,
    style: Style,
) -> io::Result<()> {
    let (marker, verb) = match change.action {
        Action::Create => (style.green("+"), "create"),
        Action::Delete => (style.red("-"), "delete"),
        Action::Adopt => (style.yellow("~"), "adopt"),
        _ => (style.yellow("~"), "update"),
    };
    let subject = match (&change.queue, &change.template) {
        (Some(queue), Some(template)) => format!(" ({template} of {queue})"),
        _ => String::new(),
    };
    writeln!(
        out,
        "  {marker} {verb} alarm {}{subject}",
        style.bold(&change.name)
    )?;
    for field in &change.fields {
        if change.action == Action::Create {
            writeln!(
                out,
                "      {} = {}",
                field.name,
                display_value(field.after.as_deref())
            )?;
        } else {
            writeln!(
                out,
                "      {}: {} → {}",
                field.name,
                display_value(field.before.as_deref()),
                display_value(field.after.as_deref())
            )?;
        }
    }
    if change.action != Action::Create {
        for (key, value) in &change.tags.set {
            writeln!(
                out,
                "      {} tag {key}: {} → {}",
                style.yellow("~"),
                display_value(value.before.as_deref()),
                value.after
            )?;
        }
        for (key, before) in &change.tags.remove {
            writeln!(out, "      {} tag {key} (was {before})", style.red("-"))?;
        }
    }
    Ok(())
}

/// Writes the dashboard change for people.
pub(super) fn write_dashboard_change(
    out: &mut dyn Write,
    change: &DashboardChange,
    style: Style,
) -> io::Result<()> {
    let (marker, verb) = match change.action {
        Action::Create => (style.green("+"), "create"),
        Action::Delete => (style.red("-"), "delete"),
        _ => (style.yellow("~"), "update"),
    };
    writeln!(
        out,
        "  {marker} {verb} dashboard {}",
        style.bold(&change.name)
    )?;
    if change.before.is_some() && change.after.is_some() {
        write_body_diff(out, change, style)?;
    } else if let Some(after) = &change.after {
        let widgets = after["widgets"].as_array().map_or(0, Vec::len);
        writeln!(out, "      {widgets} widget(s)")?;
    }
    Ok(())
}

/// Writes a line diff of the live dashboard body against the desired one.
fn write_body_diff(out: &mut dyn Write, change: &DashboardChange, style: Style) -> io::Result<()> {
    if let (Some(before), Some(after)) = (&change.before, &change.after) {
        let before_text = serde_json::to_string_pretty(before).unwrap_or_default() + "\n";
        let after_text = serde_json::to_string_pretty(after).unwrap_or_default() + "\n";
        let diff = similar::TextDiff::from_lines(&before_text, &after_text);
        for hunk in diff.unified_diff().context_radius(2).iter_hunks() {
            writeln!(out, "        {}", hunk.header())?;
            for line in hunk.iter_changes() {
                let text = line.value().trim_end_matches('\n');
                let painted = match line.tag() {
                    similar::ChangeTag::Delete => style.red(&format!("- {text}")),
                    similar::ChangeTag::Insert => style.green(&format!("+ {text}")),
                    similar::ChangeTag::Equal => format!("  {text}"),
                };
                writeln!(out, "        {painted}")?;
            }
        }
    }
    Ok(())
}

/// The difference between one alarm and the spec, as `drift` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AlarmDrift {
    pub name: String,
    /// `missing`, `changed`, `unowned` or `unexpected`.
    pub kind: &'static str,
    pub fields: Vec<AttributeDrift>,
}

/// The difference between the dashboard and the spec, as `drift` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DashboardDrift {
    pub name: String,
    /// `missing`, `changed` or `unexpected`.
    pub kind: &'static str,
}

/// Returns the dashboard drift a plan describes.
pub fn dashboard_drift(plan: &Plan) -> Option<DashboardDrift> {
    let change = plan
        .dashboard
        .as_ref()
        .filter(|change| change.action != Action::NoOp)?;
    let kind = match change.action {
        Action::Create => "missing",
        Action::Delete => "unexpected",
        _ => "changed",
    };
    Some(DashboardDrift {
        name: change.name.clone(),
        kind,
    })
}

/// Writes dashboard drift for people, with a line diff of the body when it changed.
pub(super) fn write_dashboard_drift(
    out: &mut dyn Write,
    plan: &Plan,
    drift: &DashboardDrift,
    style: Style,
) -> io::Result<()> {
    let description = match drift.kind {
        "missing" => "missing: in the spec but not in CloudWatch",
        "unexpected" => "unexpected: the environment turned the dashboard off",
        _ => "changed (lines marked - are in CloudWatch, + in the spec)",
    };
    writeln!(
        out,
        "  {} {}: {description}",
        style.yellow("!"),
        style.bold(&format!("dashboard {}", drift.name))
    )?;
    if let Some(change) = plan
        .dashboard
        .as_ref()
        .filter(|change| change.before.is_some() && change.after.is_some())
    {
        write_body_diff(out, change, style)?;
    }
    Ok(())
}

/// Returns the alarm drift a plan describes.
pub fn alarm_drift(plan: &Plan) -> Vec<AlarmDrift> {
    let drift: Vec<AlarmDrift> = plan
        .alarms
        .iter()
        .filter(|change| change.action != Action::NoOp)
        .map(|change| {
            let kind = match change.action {
                Action::Create => "missing",
                Action::Delete => "unexpected",
                Action::Adopt => "unowned",
                _ => "changed",
            };
            let mut fields: Vec<AttributeDrift> = Vec::new();
            if matches!(change.action, Action::Update | Action::Adopt) {
                fields.extend(change.fields.iter().map(|field| AttributeDrift {
                    name: field.name.clone(),
                    expected: field.after.clone(),
                    actual: field.before.clone(),
                }));
                fields.extend(change.tags.set.iter().map(|(key, value)| AttributeDrift {
                    name: format!("tag {key}"),
                    expected: Some(value.after.clone()),
                    actual: value.before.clone(),
                }));
                fields.extend(
                    change
                        .tags
                        .remove
                        .iter()
                        .map(|(key, value)| AttributeDrift {
                            name: format!("tag {key}"),
                            expected: None,
                            actual: Some(value.clone()),
                        }),
                );
            }
            AlarmDrift {
                name: change.name.clone(),
                kind,
                fields,
            }
        })
        .collect();
    drift
}

/// Writes alarm drift for people.
pub(super) fn write_alarm_drift(
    out: &mut dyn Write,
    drift: &AlarmDrift,
    style: Style,
) -> io::Result<()> {
    let description = match drift.kind {
        "missing" => "missing: in the spec but not in CloudWatch",
        "unexpected" => "unexpected: owned by sqsform but no longer in the spec",
        "unowned" => "unowned: exists without sqsform's ownership tags",
        _ => "changed",
    };
    let subject = format!("alarm {}", drift.name);
    writeln!(
        out,
        "  {} {}: {description}",
        style.yellow("!"),
        style.bold(&subject)
    )?;
    for field in &drift.fields {
        writeln!(
            out,
            "      {}: expected {}, actual {}",
            field.name,
            display_value(field.expected.as_deref()),
            display_value(field.actual.as_deref())
        )?;
    }
    Ok(())
}
