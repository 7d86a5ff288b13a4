//! The diff of desired CloudWatch alarms and dashboard against live ones.
//!
//! Alarms compare field by field with CloudWatch's defaults filled in: dimensions as a map,
//! action lists as sets (an empty list equals an absent one), an absent `DatapointsToAlarm` as
//! the evaluation periods, an absent `TreatMissingData` as `missing`. State fields are never
//! read. Dashboards compare their bodies as JSON values.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::{Action, AttributeChange, TagChanges, TagValueChange, is_owned};
use crate::cloud::Tags;
use crate::model::{DesiredAlarm, DesiredState, MetricAlarm};

/// An alarm as read from CloudWatch, with its tags.
#[derive(Clone, Debug, PartialEq)]
pub struct ObservedAlarm {
    pub arn: String,
    pub alarm: MetricAlarm,
    pub tags: Tags,
}

/// The planned change to one alarm.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlarmChange {
    pub action: Action,
    pub name: String,
    /// Final name of the queue the alarm watches; absent for an alarm that is only live.
    pub queue: Option<String>,
    /// Template or custom alarm name; absent for an alarm that is only live.
    pub template: Option<String>,
    /// ARN of the live alarm.
    pub arn: Option<String>,
    /// The full definition PutMetricAlarm sends, for a create, update or adopt.
    pub definition: Option<MetricAlarm>,
    /// Fields that differ, with live and desired values; every field for a create.
    pub fields: Vec<AttributeChange>,
    pub tags: TagChanges,
}

/// Counts of planned alarm actions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AlarmSummary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub adopt: usize,
    pub unchanged: usize,
}

/// The planned change to the dashboard.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DashboardChange {
    pub action: Action,
    pub name: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Returns the fields of an alarm as name and text, with CloudWatch's defaults filled in, so
/// two definitions with equal fields mean the same alarm.
fn fields(alarm: &MetricAlarm) -> BTreeMap<&'static str, String> {
    let sorted = |list: &[String]| {
        let set: BTreeSet<&String> = list.iter().collect();
        set.into_iter().cloned().collect::<Vec<_>>().join(", ")
    };
    let dimensions = alarm
        .dimensions
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(", ");
    BTreeMap::from([
        (
            "AlarmDescription",
            alarm.description.clone().unwrap_or_default(),
        ),
        ("Namespace", alarm.namespace.clone()),
        ("MetricName", alarm.metric_name.clone()),
        ("Dimensions", dimensions),
        ("Statistic", alarm.statistic.clone().unwrap_or_default()),
        (
            "ExtendedStatistic",
            alarm.extended_statistic.clone().unwrap_or_default(),
        ),
        ("Period", alarm.period_seconds.to_string()),
        ("EvaluationPeriods", alarm.evaluation_periods.to_string()),
        (
            "DatapointsToAlarm",
            alarm
                .datapoints_to_alarm
                .unwrap_or(alarm.evaluation_periods)
                .to_string(),
        ),
        ("Threshold", alarm.threshold.to_string()),
        ("ComparisonOperator", alarm.comparison_operator.clone()),
        (
            "TreatMissingData",
            alarm
                .treat_missing_data
                .clone()
                .unwrap_or_else(|| "missing".to_string()),
        ),
        ("AlarmActions", sorted(&alarm.alarm_actions)),
        ("OKActions", sorted(&alarm.ok_actions)),
        (
            "InsufficientDataActions",
            sorted(&alarm.insufficient_data_actions),
        ),
        ("ActionsEnabled", alarm.actions_enabled.to_string()),
        ("Unit", alarm.unit.clone().unwrap_or_default()),
    ])
}

/// Returns the fields whose values differ between a live and a desired alarm.
pub fn field_changes(live: Option<&MetricAlarm>, desired: &MetricAlarm) -> Vec<AttributeChange> {
    let desired_fields = fields(desired);
    let live_fields = live.map(fields).unwrap_or_default();
    desired_fields
        .into_iter()
        .filter(|(name, value)| live_fields.get(name) != Some(value))
        .filter(|(_, value)| live.is_some() || !value.is_empty())
        .map(|(name, value)| AttributeChange {
            name: name.to_string(),
            before: live_fields
                .get(name)
                .filter(|text| !text.is_empty())
                .cloned(),
            after: (!value.is_empty()).then_some(value),
        })
        .collect()
}

fn tag_changes(desired: &Tags, live: &Tags) -> TagChanges {
    TagChanges {
        set: desired
            .iter()
            .filter(|(key, value)| live.get(*key) != Some(*value))
            .map(|(key, value)| {
                (
                    key.clone(),
                    TagValueChange {
                        before: live.get(key).cloned(),
                        after: value.clone(),
                    },
                )
            })
            .collect(),
        remove: live
            .iter()
            .filter(|(key, _)| !desired.contains_key(*key))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect(),
    }
}

/// Diffs the desired alarms against the live alarms with the environment's prefix. Alarms that
/// carry neither a desired name nor the ownership tags are left alone and returned by name.
pub fn diff_alarms(
    desired: &DesiredState,
    live: &[ObservedAlarm],
) -> (Vec<AlarmChange>, Vec<String>) {
    let live_by_name: BTreeMap<&str, &ObservedAlarm> = live
        .iter()
        .map(|observed| (observed.alarm.name.as_str(), observed))
        .collect();
    let mut changes = Vec::new();
    for desired_alarm in &desired.alarms {
        changes.push(diff_one(
            desired,
            desired_alarm,
            live_by_name.get(desired_alarm.alarm.name.as_str()).copied(),
        ));
    }

    let desired_names: BTreeSet<&str> = desired
        .alarms
        .iter()
        .map(|desired_alarm| desired_alarm.alarm.name.as_str())
        .collect();
    let mut unmanaged = Vec::new();
    for observed in live
        .iter()
        .filter(|observed| !desired_names.contains(observed.alarm.name.as_str()))
    {
        if is_owned(&observed.tags, &desired.project, &desired.environment) {
            changes.push(AlarmChange {
                action: Action::Delete,
                name: observed.alarm.name.clone(),
                queue: None,
                template: None,
                arn: Some(observed.arn.clone()),
                definition: None,
                fields: Vec::new(),
                tags: TagChanges::default(),
            });
        } else {
            unmanaged.push(observed.alarm.name.clone());
        }
    }
    (changes, unmanaged)
}

fn diff_one(
    desired: &DesiredState,
    desired_alarm: &DesiredAlarm,
    live: Option<&ObservedAlarm>,
) -> AlarmChange {
    let fields = field_changes(live.map(|observed| &observed.alarm), &desired_alarm.alarm);
    let tags = tag_changes(
        &desired_alarm.tags,
        &live
            .map(|observed| observed.tags.clone())
            .unwrap_or_default(),
    );
    let action = match live {
        None => Action::Create,
        Some(observed) if !is_owned(&observed.tags, &desired.project, &desired.environment) => {
            Action::Adopt
        }
        Some(_) if fields.is_empty() && tags.is_empty() => Action::NoOp,
        Some(_) => Action::Update,
    };
    AlarmChange {
        action,
        name: desired_alarm.alarm.name.clone(),
        queue: Some(desired_alarm.queue.clone()),
        template: Some(desired_alarm.template.clone()),
        arn: live.map(|observed| observed.arn.clone()),
        definition: Some(desired_alarm.alarm.clone()),
        fields,
        tags,
    }
}

/// Counts alarm actions.
pub fn summarize(changes: &[AlarmChange]) -> AlarmSummary {
    let mut summary = AlarmSummary::default();
    for change in changes {
        match change.action {
            Action::Create => summary.create += 1,
            Action::Update => summary.update += 1,
            Action::Delete => summary.delete += 1,
            Action::Adopt => summary.adopt += 1,
            _ => summary.unchanged += 1,
        }
    }
    summary
}

/// Diffs the desired dashboard against the live body under the same name, or plans the
/// deletion of a live dashboard that the environment turned off.
pub fn diff_dashboard(
    desired: &DesiredState,
    name: &str,
    live_body: Option<&str>,
) -> Option<DashboardChange> {
    let live = live_body.map(|text| {
        serde_json::from_str::<Value>(text).unwrap_or_else(|_| Value::String(text.to_string()))
    });
    match (&desired.dashboard, live) {
        (Some(desired_alarm), None) => Some(DashboardChange {
            action: Action::Create,
            name: desired_alarm.name.clone(),
            before: None,
            after: Some(desired_alarm.body.clone()),
        }),
        (Some(desired_alarm), Some(live)) if live == desired_alarm.body => Some(DashboardChange {
            action: Action::NoOp,
            name: desired_alarm.name.clone(),
            before: None,
            after: None,
        }),
        (Some(desired_alarm), Some(live)) => Some(DashboardChange {
            action: Action::Update,
            name: desired_alarm.name.clone(),
            before: Some(live),
            after: Some(desired_alarm.body.clone()),
        }),
        (None, Some(live)) => Some(DashboardChange {
            action: Action::Delete,
            name: name.to_string(),
            before: Some(live),
            after: None,
        }),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired(spec: &str) -> DesiredState {
        crate::spec::load_from_text(
            "queues.yaml",
            spec,
            "test",
            "region: us-east-1\naccount_id: \"123456789012\"\n",
        )
        .expect("spec")
        .desired
    }

    fn observed(alarm: &MetricAlarm, desired: &DesiredState) -> ObservedAlarm {
        ObservedAlarm {
            arn: format!(
                "arn:aws:cloudwatch:us-east-1:123456789012:alarm:{}",
                alarm.name
            ),
            alarm: alarm.clone(),
            tags: crate::model::ownership_tags(&desired.project, &desired.environment),
        }
    }

    const SPEC: &str = "\
project: shop
queues:
  orders:
    dead_letter: {max_receive_count: 3}
    alarms:
      depth: {threshold: 500}
      custom:
        latency:
          namespace: Shop/Orders
          metric_name: ProcessingTime
          extended_statistic: p99
          threshold: 2000
";

    #[test]
    fn templates_and_custom_alarms_are_created() {
        let desired = desired(SPEC);
        let (changes, unmanaged) = diff_alarms(&desired, &[]);
        let names: Vec<&str> = changes.iter().map(|change| change.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "shop-test-orders-depth",
                "shop-test-orders-oldest-message-age",
                "shop-test-orders-latency",
                "shop-test-orders-dlq-not-empty",
            ]
        );
        assert!(changes.iter().all(|change| change.action == Action::Create));
        assert!(unmanaged.is_empty());
    }

    #[test]
    fn equal_live_alarms_are_unchanged() {
        let desired = desired(SPEC);
        let live: Vec<ObservedAlarm> = desired
            .alarms
            .iter()
            .map(|desired_alarm| {
                let mut alarm = desired_alarm.alarm.clone();
                // CloudWatch reports these defaults explicitly; they mean the same.
                alarm.datapoints_to_alarm = Some(alarm.evaluation_periods);
                observed(&alarm, &desired)
            })
            .collect();
        let (changes, _) = diff_alarms(&desired, &live);
        assert!(
            changes.iter().all(|change| change.action == Action::NoOp),
            "{changes:#?}"
        );
    }

    #[test]
    fn threshold_change_names_field() {
        let desired = desired(SPEC);
        let mut live: Vec<ObservedAlarm> = desired
            .alarms
            .iter()
            .map(|desired_alarm| observed(&desired_alarm.alarm, &desired))
            .collect();
        live[0].alarm.threshold = 900.0;
        let (changes, _) = diff_alarms(&desired, &live);
        assert_eq!(changes[0].action, Action::Update);
        assert_eq!(
            changes[0].fields,
            vec![AttributeChange {
                name: "Threshold".into(),
                before: Some("900".into()),
                after: Some("500".into())
            }]
        );
    }

    #[test]
    fn custom_alarm_without_dimensions_matches() {
        let desired = desired(SPEC);
        let custom = desired
            .alarms
            .iter()
            .find(|desired_alarm| desired_alarm.template == "latency")
            .expect("custom");
        assert!(custom.alarm.dimensions.is_empty());
        let mut live = custom.alarm.clone();
        live.treat_missing_data = Some("notBreaching".into());
        assert_eq!(field_changes(Some(&live), &custom.alarm), vec![]);
    }

    #[test]
    fn owned_alarm_outside_spec_is_deleted() {
        let desired = desired("project: shop\nqueues: {}\n");
        let alarm = MetricAlarm {
            name: "shop-test-gone-depth".into(),
            ..desired_alarm_template()
        };
        let stray = MetricAlarm {
            name: "shop-test-stray".into(),
            ..desired_alarm_template()
        };
        let mut unowned = observed(&stray, &desired);
        unowned.tags.clear();
        let (changes, unmanaged) = diff_alarms(&desired, &[observed(&alarm, &desired), unowned]);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].action, Action::Delete);
        assert_eq!(unmanaged, vec!["shop-test-stray".to_string()]);
    }

    fn desired_alarm_template() -> MetricAlarm {
        desired(SPEC).alarms[0].alarm.clone()
    }

    #[test]
    fn dashboard_compares_json_values() {
        let desired = desired(SPEC);
        let body = desired.dashboard.as_ref().expect("dashboard").body.clone();
        let respaced = serde_json::to_string_pretty(&body).unwrap();
        let unchanged =
            diff_dashboard(&desired, "shop-test-queues", Some(&respaced)).expect("change");
        assert_eq!(unchanged.action, Action::NoOp);
        let missing = diff_dashboard(&desired, "shop-test-queues", None).expect("change");
        assert_eq!(missing.action, Action::Create);
    }
}
