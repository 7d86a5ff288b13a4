//! CloudWatch alarms and the dashboard: templates with defaults, custom alarms, validation of
//! periods, thresholds and actions, and the deterministic dashboard body.
//!
//! Limits come from the CloudWatch PutMetricAlarm reference. A period is 10, 20, 30 or a
//! multiple of 60 seconds. Period × evaluation periods is at most one day for periods under an
//! hour, and seven days otherwise. Each action list has at most five topics.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::duration::Seconds;
use super::positions::YamlPath;
use super::raw::{RawAlarms, RawCustomAlarm, RawEnvironment, RawSpec, RawThresholdAlarm};
use super::resolve::{Checker, ENVIRONMENT_FILE, ParsedQueue, Settings};
use crate::model::{self, DesiredAlarm, DesiredDashboard, DesiredQueue, MetricAlarm, QueueRole};

/// SQS stops sending metrics for a queue idle for six hours, so a missing datapoint means "no
/// traffic", not "broken".
const DEFAULT_TREAT_MISSING_DATA: &str = "notBreaching";
const DEFAULT_PERIOD: u64 = 60;
const DEFAULT_DEPTH_THRESHOLD: f64 = 1_000.0;
const DEFAULT_DEPTH_PERIODS: i64 = 5;
/// Default age of the oldest message before `oldest_message_age` fires: 15 minutes.
const DEFAULT_AGE_THRESHOLD: u64 = 900;
const DEFAULT_AGE_PERIODS: i64 = 5;
const MAX_ACTIONS: usize = 5;
const MAX_DIMENSIONS: usize = 30;
const MAX_ALARM_NAME_LENGTH: usize = 255;
const STATISTICS: &[&str] = &["SampleCount", "Average", "Sum", "Minimum", "Maximum"];
const COMPARISONS: &[&str] = &[
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
];
const TREAT_MISSING_DATA: &[&str] = &["breaching", "notBreaching", "ignore", "missing"];
const SQS_NAMESPACE: &str = "AWS/SQS";
/// CloudWatch's limit on the widgets of one dashboard.
const MAX_DASHBOARD_WIDGETS: usize = 500;

/// Alarm actions of the environment, validated.
#[derive(Default)]
struct Actions {
    alarm: Vec<String>,
    ok: Vec<String>,
    insufficient_data: Vec<String>,
}

/// Checks an alarm period: 10, 20, 30 or a multiple of 60 seconds.
fn is_valid_period(seconds: u64) -> bool {
    matches!(seconds, 10 | 20 | 30) || (seconds > 0 && seconds.is_multiple_of(60))
}

/// Checks an extended statistic written as a percentile from 0 to 100, such as `p99`,
/// `p99.9` or `tm90`.
// NOTE: CloudWatch also takes range forms such as `tm(10%:90%)`; they are rejected here.
fn is_extended_statistic(text: &str) -> bool {
    let digits = ["p", "tm", "tc", "ts", "wm"]
        .iter()
        .find_map(|prefix| text.strip_prefix(prefix))
        .unwrap_or_default();
    let well_formed = !digits.is_empty()
        && digits
            .chars()
            .all(|character| character.is_ascii_digit() || character == '.');
    well_formed
        && digits
            .parse::<f64>()
            .is_ok_and(|percentile| (0.0..=100.0).contains(&percentile))
}

impl Checker<'_> {
    fn alarm_error(&mut self, queue: &ParsedQueue, path: &[&str], message: impl Into<String>) {
        let mut relative = vec!["alarms"];
        relative.extend_from_slice(path);
        self.queue_error(queue, &relative, message);
    }

    /// Returns the alarm actions of the environment, reporting malformed or foreign ARNs.
    fn alarm_actions(&mut self, settings: &Settings, overlay: &RawEnvironment) -> Actions {
        let Some(raw) = &overlay.alarm_actions else {
            return Actions::default();
        };
        let mut check = |field: &str, arns: &[String]| -> Vec<String> {
            let path = YamlPath::keys(["alarm_actions", field]);
            if arns.len() > MAX_ACTIONS {
                self.error(ENVIRONMENT_FILE, path.clone(), format!("alarm_actions.{field} has {} topics; CloudWatch allows at most {MAX_ACTIONS} per list", arns.len()));
            }
            let mut seen = BTreeSet::new();
            for (index, arn) in arns.iter().enumerate() {
                let path = YamlPath(vec![
                    super::positions::Segment::Key("alarm_actions".into()),
                    super::positions::Segment::Key(field.to_string()),
                    super::positions::Segment::Index(index),
                ]);
                if !seen.insert(arn) {
                    self.error(
                        ENVIRONMENT_FILE,
                        path.clone(),
                        format!("topic \"{arn}\" is listed twice in alarm_actions.{field}"),
                    );
                }
                let parts: Vec<&str> = arn.splitn(6, ':').collect();
                let well_formed = parts.len() == 6
                    && parts[0] == "arn"
                    && parts[2] == "sns"
                    && !parts[5].is_empty();
                if !well_formed {
                    self.error(ENVIRONMENT_FILE, path.clone(), format!("invalid SNS topic ARN \"{arn}\" in alarm_actions.{field}: expected arn:aws:sns:<region>:<account>:<topic>"));
                } else if parts[3] != settings.region || parts[4] != settings.account_id {
                    self.error(ENVIRONMENT_FILE, path.clone(), format!(
                        "topic \"{arn}\" in alarm_actions.{field} is not in this environment's region {} and account {}; CloudWatch notifies topics of its own region and account",
                        settings.region, settings.account_id
                    ));
                }
            }
            arns.to_vec()
        };
        Actions {
            alarm: check("alarm", &raw.alarm),
            ok: check("ok", &raw.ok),
            insufficient_data: check("insufficient_data", &raw.insufficient_data),
        }
    }

    /// Resolves every queue's alarms and the dashboard.
    pub(super) fn alarms_and_dashboard(
        &mut self,
        settings: &Settings,
        spec: &RawSpec,
        overlay: &RawEnvironment,
        parsed: &[ParsedQueue],
        queues: &[DesiredQueue],
    ) -> (Vec<DesiredAlarm>, Option<DesiredDashboard>) {
        let actions = self.alarm_actions(settings, overlay);
        let mut tags = model::ownership_tags(&settings.project, &settings.environment);
        tags.extend(spec.tags.clone());
        tags.extend(overlay.tags.clone());

        let mut alarms: Vec<DesiredAlarm> = Vec::new();
        // The parsed queue each alarm was declared on, for the position of naming errors.
        let mut owners: Vec<&ParsedQueue> = Vec::new();
        for queue in queues {
            let owner_key = match &queue.role {
                QueueRole::Declared => queue.key.as_str(),
                QueueRole::DeadLetter { source } => source.as_str(),
            };
            let Some(owner) = parsed.iter().find(|candidate| candidate.key == owner_key) else {
                continue;
            };
            let settings_of_queue = owner
                .raw
                .as_ref()
                .and_then(|raw| raw.alarms.clone())
                .unwrap_or_default();

            let mut queue_alarms = Vec::new();
            if queue.is_dead_letter_target {
                queue_alarms.extend(dead_letter_alarm(queue, &settings_of_queue));
            }
            if queue.role == QueueRole::Declared {
                queue_alarms.extend(self.depth_alarm(
                    owner,
                    queue,
                    settings_of_queue.depth.as_ref(),
                ));
                queue_alarms.extend(self.age_alarm(
                    owner,
                    queue,
                    settings_of_queue.oldest_message_age.as_ref(),
                ));
                for (name, custom) in &settings_of_queue.custom {
                    queue_alarms.extend(self.custom_alarm(owner, queue, name, custom));
                }
            }
            for (template, mut alarm) in queue_alarms {
                alarm.alarm_actions = actions.alarm.clone();
                alarm.ok_actions = actions.ok.clone();
                alarm.insufficient_data_actions = actions.insufficient_data.clone();
                alarms.push(DesiredAlarm {
                    queue: queue.name.clone(),
                    template,
                    alarm,
                    tags: tags.clone(),
                });
                owners.push(owner);
            }
        }
        self.check_alarm_names(&owners, &alarms);

        let enabled = overlay.dashboard.or(spec.dashboard).unwrap_or(true);
        let dashboard = enabled.then(|| DesiredDashboard {
            name: model::dashboard_name(&settings.prefix),
            body: dashboard_body(&settings.region, queues),
        });
        if let Some(widgets) = dashboard
            .as_ref()
            .and_then(|dashboard| dashboard.body["widgets"].as_array())
            .map(Vec::len)
            && widgets > MAX_DASHBOARD_WIDGETS
        {
            let origin = if overlay.dashboard.is_some() {
                (ENVIRONMENT_FILE, YamlPath::keys(["dashboard"]))
            } else {
                (super::resolve::SPEC_FILE, YamlPath::keys(["queues"]))
            };
            self.error(origin.0, origin.1, format!(
                "the dashboard would have {widgets} widgets; CloudWatch allows at most {MAX_DASHBOARD_WIDGETS} per dashboard, so set dashboard: false for this environment"
            ));
        }
        (alarms, dashboard)
    }

    fn check_alarm_names(&mut self, owners: &[&ParsedQueue], alarms: &[DesiredAlarm]) {
        let mut seen = BTreeSet::new();
        for (desired, owner) in alarms.iter().zip(owners) {
            let name = &desired.alarm.name;
            if name.chars().count() > MAX_ALARM_NAME_LENGTH {
                self.alarm_error(
                    owner,
                    &[],
                    format!(
                        "alarm name \"{name}\" is longer than {MAX_ALARM_NAME_LENGTH} characters"
                    ),
                );
            }
            if !seen.insert(name.clone()) {
                self.alarm_error(owner, &["custom"], format!(
                    "alarm name \"{name}\" is used twice; rename the custom alarm, because template alarms end in -depth, -oldest-message-age and -not-empty"
                ));
            }
        }
    }

    /// Checks period, evaluation periods, datapoints and treat-missing-data shared by every
    /// alarm. Returns the checked values, or `None` after reporting a problem.
    #[allow(clippy::too_many_arguments)] // Each value has its own path in messages.
    fn alarm_timing(
        &mut self,
        queue: &ParsedQueue,
        path: &[&str],
        period: Option<Seconds>,
        evaluation_periods: Option<i64>,
        datapoints_to_alarm: Option<i64>,
        treat_missing_data: Option<&String>,
        default_periods: i64,
    ) -> Option<(i32, i32, Option<i32>, String)> {
        let key =
            |field: &'static str| -> Vec<&str> { path.iter().copied().chain([field]).collect() };

        let mut valid = true;
        let period = period.map_or(DEFAULT_PERIOD, |Seconds(seconds)| seconds);
        if !is_valid_period(period) {
            self.alarm_error(
                queue,
                &key("period"),
                format!("period must be 10s, 20s, 30s or a multiple of 60s, got {period} seconds"),
            );
            valid = false;
        }

        let evaluation_periods = evaluation_periods.unwrap_or(default_periods);
        if evaluation_periods < 1 {
            self.alarm_error(
                queue,
                &key("evaluation_periods"),
                format!("evaluation_periods must be at least 1, got {evaluation_periods}"),
            );
            valid = false;
        }

        let limit: u64 = if period < 3_600 { 86_400 } else { 604_800 };
        let span = period.saturating_mul(evaluation_periods.max(0) as u64);
        if valid && span > limit {
            self.alarm_error(queue, &key("evaluation_periods"), format!(
                "period × evaluation_periods is {} but CloudWatch allows at most {} for a period {} one hour",
                Seconds(span),
                Seconds(limit),
                if period < 3_600 { "under" } else { "of at least" }
            ));
            valid = false;
        }

        if let Some(datapoints) = datapoints_to_alarm
            && !(1..=evaluation_periods).contains(&datapoints)
        {
            self.alarm_error(queue, &key("datapoints_to_alarm"), format!("datapoints_to_alarm must be between 1 and evaluation_periods ({evaluation_periods}), got {datapoints}"));
            valid = false;
        }

        let treat = treat_missing_data
            .cloned()
            .unwrap_or_else(|| DEFAULT_TREAT_MISSING_DATA.to_string());
        if !TREAT_MISSING_DATA.contains(&treat.as_str()) {
            self.alarm_error(
                queue,
                &key("treat_missing_data"),
                format!(
                    "treat_missing_data must be one of {}, got \"{treat}\"",
                    TREAT_MISSING_DATA.join(", ")
                ),
            );
            valid = false;
        }
        valid.then(|| {
            (
                period as i32,
                evaluation_periods as i32,
                datapoints_to_alarm.map(|value| value as i32),
                treat,
            )
        })
    }

    fn depth_alarm(
        &mut self,
        owner: &ParsedQueue,
        queue: &DesiredQueue,
        raw: Option<&RawThresholdAlarm<f64>>,
    ) -> Option<(String, MetricAlarm)> {
        let raw = raw.cloned().unwrap_or_default();
        if raw.enabled == Some(false) {
            return None;
        }
        let threshold = raw.threshold.unwrap_or(DEFAULT_DEPTH_THRESHOLD);
        if !threshold.is_finite() || threshold < 0.0 {
            self.alarm_error(
                owner,
                &["depth", "threshold"],
                format!("depth threshold must be a finite number of messages, at least 0, got {threshold}"),
            );
            return None;
        }
        let (period, evaluation_periods, datapoints, treat) = self.alarm_timing(
            owner,
            &["depth"],
            raw.period,
            raw.evaluation_periods,
            raw.datapoints_to_alarm,
            raw.treat_missing_data.as_ref(),
            DEFAULT_DEPTH_PERIODS,
        )?;
        let description = raw.description.unwrap_or_else(|| {
            format!(
                "{} has more than {threshold} visible messages. Managed by sqsform.",
                queue.name
            )
        });
        Some((
            "depth".to_string(),
            sqs_alarm(
                queue,
                "depth",
                "ApproximateNumberOfMessagesVisible",
                threshold,
                period,
                evaluation_periods,
                datapoints,
                treat,
                description,
            ),
        ))
    }

    fn age_alarm(
        &mut self,
        owner: &ParsedQueue,
        queue: &DesiredQueue,
        raw: Option<&RawThresholdAlarm<Seconds>>,
    ) -> Option<(String, MetricAlarm)> {
        let raw = raw.cloned().unwrap_or_default();
        if raw.enabled == Some(false) {
            return None;
        }
        let Seconds(threshold) = raw.threshold.unwrap_or(Seconds(DEFAULT_AGE_THRESHOLD));
        let (period, evaluation_periods, datapoints, treat) = self.alarm_timing(
            owner,
            &["oldest_message_age"],
            raw.period,
            raw.evaluation_periods,
            raw.datapoints_to_alarm,
            raw.treat_missing_data.as_ref(),
            DEFAULT_AGE_PERIODS,
        )?;
        let description = raw.description.unwrap_or_else(|| {
            format!(
                "The oldest message in {} is older than {}. Managed by sqsform.",
                queue.name,
                Seconds(threshold)
            )
        });
        Some((
            "oldest_message_age".to_string(),
            sqs_alarm(
                queue,
                "oldest-message-age",
                "ApproximateAgeOfOldestMessage",
                threshold as f64,
                period,
                evaluation_periods,
                datapoints,
                treat,
                description,
            ),
        ))
    }

    fn custom_alarm(
        &mut self,
        owner: &ParsedQueue,
        queue: &DesiredQueue,
        name: &str,
        raw: &RawCustomAlarm,
    ) -> Option<(String, MetricAlarm)> {
        let path = ["custom", name];
        let at =
            |field: &'static str| -> Vec<&str> { path.iter().copied().chain([field]).collect() };
        let mut valid = true;
        if name.is_empty()
            || !name.chars().all(|character| {
                character.is_ascii_alphanumeric() || character == '-' || character == '_'
            })
        {
            self.alarm_error(owner, &path, format!("invalid custom alarm name \"{name}\": use letters, digits, hyphens and underscores"));
            valid = false;
        }
        let namespace = raw.namespace.clone().unwrap_or_default();
        let metric_name = raw.metric_name.clone().unwrap_or_default();
        if namespace.is_empty() {
            self.alarm_error(owner, &path, format!("custom alarm \"{name}\" needs a namespace, such as AWS/SQS or the one your service publishes to"));
            valid = false;
        }
        if metric_name.is_empty() {
            self.alarm_error(
                owner,
                &path,
                format!("custom alarm \"{name}\" needs a metric_name"),
            );
            valid = false;
        }
        match (&raw.statistic, &raw.extended_statistic) {
            (Some(_), Some(_)) | (None, None) => {
                self.alarm_error(owner, &path, format!("custom alarm \"{name}\" needs exactly one of statistic (such as Average) and extended_statistic (such as p99)"));
                valid = false;
            }
            (Some(statistic), None) if !STATISTICS.contains(&statistic.as_str()) => {
                self.alarm_error(
                    owner,
                    &at("statistic"),
                    format!(
                        "statistic must be one of {}, got \"{statistic}\"",
                        STATISTICS.join(", ")
                    ),
                );
                valid = false;
            }
            (None, Some(extended)) if !is_extended_statistic(extended) => {
                self.alarm_error(owner, &at("extended_statistic"), format!("invalid extended_statistic \"{extended}\": expected a percentile such as p99 or p99.9"));
                valid = false;
            }
            _ => {}
        }
        let Some(threshold) = raw.threshold else {
            self.alarm_error(
                owner,
                &path,
                format!("custom alarm \"{name}\" needs a threshold"),
            );
            return None;
        };
        if !threshold.is_finite() {
            self.alarm_error(
                owner,
                &at("threshold"),
                format!("threshold must be a finite number, got {threshold}"),
            );
            valid = false;
        }
        let comparison = raw
            .comparison
            .clone()
            .unwrap_or_else(|| "GreaterThanThreshold".to_string());
        if !COMPARISONS.contains(&comparison.as_str()) {
            self.alarm_error(
                owner,
                &at("comparison"),
                format!(
                    "comparison must be one of {}, got \"{comparison}\"",
                    COMPARISONS.join(", ")
                ),
            );
            valid = false;
        }

        let mut dimensions = raw.dimensions.clone();
        if namespace == SQS_NAMESPACE {
            match dimensions.get("QueueName") {
                None => {
                    dimensions.insert("QueueName".to_string(), queue.name.clone());
                }
                Some(given) if *given != queue.name => {
                    self.alarm_error(owner, &["custom", name, "dimensions", "QueueName"], format!(
                        "QueueName dimension \"{given}\" is not the queue's final name \"{}\"; leave QueueName out and sqsform fills it in",
                        queue.name
                    ));
                    valid = false;
                }
                Some(_) => {}
            }
        }
        for (dimension, value) in &dimensions {
            if dimension.is_empty() || value.is_empty() {
                self.alarm_error(owner, &at("dimensions"), format!("dimension \"{dimension}\" of custom alarm \"{name}\" needs a name and a value; CloudWatch takes 1 to 255 and 1 to 1024 characters"));
                valid = false;
            }
        }
        if dimensions.len() > MAX_DIMENSIONS {
            self.alarm_error(owner, &at("dimensions"), format!("custom alarm \"{name}\" has {} dimensions; CloudWatch allows at most {MAX_DIMENSIONS}", dimensions.len()));
            valid = false;
        }

        let timing = self.alarm_timing(
            owner,
            &path,
            raw.period,
            raw.evaluation_periods,
            raw.datapoints_to_alarm,
            raw.treat_missing_data.as_ref(),
            1,
        );
        let (period, evaluation_periods, datapoints, treat) = timing?;
        if !valid {
            return None;
        }
        Some((
            name.to_string(),
            MetricAlarm {
                name: format!("{}-{name}", queue.name),
                description: raw.description.clone(),
                namespace,
                metric_name,
                dimensions,
                statistic: raw.statistic.clone(),
                extended_statistic: raw.extended_statistic.clone(),
                period_seconds: period,
                evaluation_periods,
                datapoints_to_alarm: datapoints,
                threshold,
                comparison_operator: comparison,
                treat_missing_data: Some(treat),
                alarm_actions: Vec::new(),
                ok_actions: Vec::new(),
                insufficient_data_actions: Vec::new(),
                actions_enabled: true,
                unit: None,
            },
        ))
    }
}

/// Returns the `dead_letter_not_empty` alarm of a dead-letter queue: any visible message in one
/// minute fires it. Only `enabled` and `description` can change.
fn dead_letter_alarm(queue: &DesiredQueue, settings: &RawAlarms) -> Option<(String, MetricAlarm)> {
    let switch = settings.dead_letter_not_empty.clone().unwrap_or_default();
    if switch.enabled == Some(false) {
        return None;
    }
    let description = switch.description.unwrap_or_else(|| {
        format!(
            "{} holds messages that failed processing. Managed by sqsform.",
            queue.name
        )
    });
    Some((
        "dead_letter_not_empty".to_string(),
        sqs_alarm(
            queue,
            "not-empty",
            "ApproximateNumberOfMessagesVisible",
            0.0,
            60,
            1,
            None,
            DEFAULT_TREAT_MISSING_DATA.to_string(),
            description,
        ),
    ))
}

#[allow(clippy::too_many_arguments)] // One alarm definition; every argument is a field.
fn sqs_alarm(
    queue: &DesiredQueue,
    suffix: &str,
    metric_name: &str,
    threshold: f64,
    period: i32,
    evaluation_periods: i32,
    datapoints_to_alarm: Option<i32>,
    treat_missing_data: String,
    description: String,
) -> MetricAlarm {
    MetricAlarm {
        name: format!("{}-{suffix}", queue.name),
        description: Some(description),
        namespace: SQS_NAMESPACE.to_string(),
        metric_name: metric_name.to_string(),
        dimensions: BTreeMap::from([("QueueName".to_string(), queue.name.clone())]),
        statistic: Some("Maximum".to_string()),
        extended_statistic: None,
        period_seconds: period,
        evaluation_periods,
        datapoints_to_alarm,
        threshold,
        comparison_operator: "GreaterThanThreshold".to_string(),
        treat_missing_data: Some(treat_missing_data),
        alarm_actions: Vec::new(),
        ok_actions: Vec::new(),
        insufficient_data_actions: Vec::new(),
        actions_enabled: true,
        unit: None,
    }
}

/// Returns the dashboard body: for every declared queue one row of four widgets (messages
/// visible and in flight, age of the oldest message, sent, received and deleted per period, and
/// the dead-letter queue's depth).
fn dashboard_body(region: &str, queues: &[DesiredQueue]) -> Value {
    let dead_letter_of = |queue: &DesiredQueue| -> Option<String> {
        let redrive = queue.attributes.redrive_policy.as_ref()?;
        queues
            .iter()
            .find(|candidate| candidate.arn == redrive.dead_letter_target_arn)
            .map(|target| target.name.clone())
    };
    let widget = |x: u32, y: u32, title: String, stat: &str, metrics: Vec<Value>| {
        json!({
            "type": "metric",
            "x": x,
            "y": y,
            "width": 6,
            "height": 6,
            "properties": {
                "title": title,
                "region": region,
                "stat": stat,
                "period": 60,
                "view": "timeSeries",
                "metrics": metrics,
            },
        })
    };
    let metric = |name: &str, queue: &str| json!([SQS_NAMESPACE, name, "QueueName", queue]);

    let mut widgets = Vec::new();
    for (row, queue) in queues
        .iter()
        .filter(|queue| queue.role == QueueRole::Declared)
        .enumerate()
    {
        let y = row as u32 * 6;
        let name = queue.name.as_str();
        widgets.push(widget(
            0,
            y,
            format!("{}: messages", queue.key),
            "Maximum",
            vec![
                metric("ApproximateNumberOfMessagesVisible", name),
                metric("ApproximateNumberOfMessagesNotVisible", name),
            ],
        ));
        widgets.push(widget(
            6,
            y,
            format!("{}: age of oldest message", queue.key),
            "Maximum",
            vec![metric("ApproximateAgeOfOldestMessage", name)],
        ));
        widgets.push(widget(
            12,
            y,
            format!("{}: sent, received, deleted", queue.key),
            "Sum",
            vec![
                metric("NumberOfMessagesSent", name),
                metric("NumberOfMessagesReceived", name),
                metric("NumberOfMessagesDeleted", name),
            ],
        ));
        if let Some(dead_letter) = dead_letter_of(queue) {
            widgets.push(widget(
                18,
                y,
                format!("{}: dead-letter queue", queue.key),
                "Maximum",
                vec![metric("ApproximateNumberOfMessagesVisible", &dead_letter)],
            ));
        }
    }
    json!({ "widgets": widgets })
}

#[cfg(test)]
#[path = "alarms_tests.rs"]
mod tests;
