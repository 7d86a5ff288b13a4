//! Rendering of SNS topic and subscription changes in plans and drift reports.

use std::io::{self, Write};

use serde::Serialize;

use super::{AttributeDrift, Style, display_value};
use crate::plan::topics::TopicChange;
use crate::plan::{Action, Plan};

fn queue_name(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

/// Writes one topic change for people.
pub(super) fn write_topic_change(
    out: &mut dyn Write,
    change: &TopicChange,
    style: Style,
) -> io::Result<()> {
    let (marker, verb) = match change.action {
        Action::Create => (style.green("+"), "create"),
        Action::Update => (style.yellow("~"), "update"),
        Action::Delete => (style.red("-"), "delete"),
        _ => (style.yellow("~"), "subscriptions of"),
    };
    writeln!(out, "  {marker} {verb} topic {}", style.bold(&change.name))?;
    for attribute in &change.attributes {
        writeln!(
            out,
            "      {}: {} → {}",
            attribute.name,
            display_value(attribute.before.as_deref()),
            display_value(attribute.after.as_deref())
        )?;
    }
    for (key, value) in &change.tags.set {
        writeln!(
            out,
            "      tag {key}: {} → {}",
            display_value(value.before.as_deref()),
            value.after
        )?;
    }
    for (key, before) in &change.tags.remove {
        writeln!(out, "      {} tag {key} (was {before})", style.red("-"))?;
    }
    for subscription in change
        .subscriptions
        .iter()
        .filter(|subscription| subscription.action != Action::NoOp)
    {
        let queue = queue_name(&subscription.queue_arn);
        match subscription.action {
            Action::Create => writeln!(out, "      {} subscribe queue {queue}", style.green("+"))?,
            Action::Delete => writeln!(out, "      {} unsubscribe queue {queue}", style.red("-"))?,
            _ => writeln!(
                out,
                "      {} update subscription of queue {queue}",
                style.yellow("~")
            )?,
        }
        for attribute in &subscription.attributes {
            writeln!(
                out,
                "          {}: {} → {}",
                attribute.name,
                display_value(attribute.before.as_deref()),
                display_value(attribute.after.as_deref())
            )?;
        }
    }
    Ok(())
}

/// The difference between one topic, with its subscriptions, and the spec, as `drift` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TopicDrift {
    pub name: String,
    /// `missing`, `changed` or `unexpected`.
    pub kind: &'static str,
    /// Subscriptions by queue name: `missing`, `changed` or `unexpected`, with attributes.
    pub subscriptions: Vec<SubscriptionDrift>,
    pub attributes: Vec<AttributeDrift>,
}

/// The difference between one subscription and the spec.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SubscriptionDrift {
    pub queue: String,
    pub kind: &'static str,
    pub attributes: Vec<AttributeDrift>,
}

/// Returns the topic drift a plan describes.
pub fn topic_drift(plan: &Plan) -> Vec<TopicDrift> {
    plan.topics
        .iter()
        .filter(|change| change.has_changes())
        .map(|change| {
            let subscriptions = change
                .subscriptions
                .iter()
                .filter(|subscription| {
                    matches!(change.action, Action::Update | Action::NoOp)
                        && subscription.action != Action::NoOp
                })
                .map(|subscription| SubscriptionDrift {
                    queue: queue_name(&subscription.queue_arn).to_string(),
                    kind: match subscription.action {
                        Action::Create => "missing",
                        Action::Delete => "unexpected",
                        _ => "changed",
                    },
                    attributes: subscription
                        .attributes
                        .iter()
                        .filter(|_| subscription.action == Action::Update)
                        .map(|attribute| AttributeDrift {
                            name: attribute.name.clone(),
                            expected: attribute.after.clone(),
                            actual: attribute.before.clone(),
                        })
                        .collect(),
                })
                .collect();
            let mut attributes: Vec<AttributeDrift> = if change.action == Action::Update {
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
            if change.action == Action::Update {
                attributes.extend(change.tags.set.iter().map(|(key, value)| AttributeDrift {
                    name: format!("tag {key}"),
                    expected: Some(value.after.clone()),
                    actual: value.before.clone(),
                }));
                attributes.extend(
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
            TopicDrift {
                name: change.name.clone(),
                kind: match change.action {
                    Action::Create => "missing",
                    Action::Delete => "unexpected",
                    _ => "changed",
                },
                subscriptions,
                attributes,
            }
        })
        .collect()
}

/// Writes topic drift for people.
pub(super) fn write_topic_drift(
    out: &mut dyn Write,
    drift: &TopicDrift,
    style: Style,
) -> io::Result<()> {
    let description = match drift.kind {
        "missing" => "missing: in the spec but not in SNS",
        "unexpected" => "unexpected: owned by sqsform but no longer in the spec",
        _ => "changed",
    };
    writeln!(
        out,
        "  {} {}: {description}",
        style.yellow("!"),
        style.bold(&format!("topic {}", drift.name))
    )?;
    for attribute in &drift.attributes {
        writeln!(
            out,
            "      {}: expected {}, actual {}",
            attribute.name,
            display_value(attribute.expected.as_deref()),
            display_value(attribute.actual.as_deref())
        )?;
    }
    for subscription in &drift.subscriptions {
        let description = match subscription.kind {
            "missing" => "missing: in the spec but not in SNS",
            "unexpected" => "unexpected: not in the spec",
            _ => "changed",
        };
        writeln!(
            out,
            "      subscription of queue {}: {description}",
            subscription.queue
        )?;
        for attribute in &subscription.attributes {
            writeln!(
                out,
                "          {}: expected {}, actual {}",
                attribute.name,
                display_value(attribute.expected.as_deref()),
                display_value(attribute.actual.as_deref())
            )?;
        }
    }
    Ok(())
}
