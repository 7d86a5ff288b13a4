//! Validation of the merged spec and its resolution into the desired model.
//!
//! Limits come from the SQS API reference: names of 1 to 80 characters of letters, digits,
//! hyphens and underscores (`.fifo` included in the 80), and the attribute ranges below.

use std::collections::{BTreeMap, BTreeSet};

use serde::de::DeserializeOwned;
use serde_yaml::Value;

use super::access::iam_path;
use super::duration::Seconds;
use super::positions::YamlPath;
use super::raw::{
    EncryptionType, RawDeadLetter, RawEncryption, RawEnvironment, RawQueue, RawSpec, fields_of,
};
use super::source::{MergedQueue, Origin, SourceFile, path_from_ignored, path_from_serde};
use super::{Diagnostic, Severity};
use crate::model::{
    self, Connection, DeduplicationScope, DesiredQueue, DesiredState, Encryption, FifoAttributes,
    QueueAttributes, QueueRole, RedriveAllowPolicy, RedrivePolicy, ThroughputLimit, defaults,
};

pub(super) const SPEC_FILE: usize = 0;
pub(super) const ENVIRONMENT_FILE: usize = 1;

const MAX_QUEUE_NAME_LENGTH: usize = 80;
const DEAD_LETTER_SUFFIX: &str = "-dlq";
const FIFO_SUFFIX: &str = ".fifo";

const DELAY_RANGE: (u64, u64) = (0, 900);
const MESSAGE_SIZE_RANGE: (i64, i64) = (1_024, 1_048_576);
const RETENTION_RANGE: (u64, u64) = (60, 1_209_600);
const RECEIVE_WAIT_RANGE: (u64, u64) = (0, 20);
const VISIBILITY_TIMEOUT_RANGE: (u64, u64) = (0, 43_200);
const MAX_RECEIVE_COUNT_RANGE: (i64, i64) = (1, 1_000);
const DATA_KEY_REUSE_RANGE: (u64, u64) = (60, 86_400);

/// SQS limits on a queue access policy.
pub(super) const MAX_POLICY_BYTES: usize = 8_192;
pub(super) const MAX_POLICY_STATEMENTS: usize = 20;
/// `byQueue` redrive-allow policies list at most this many source queues.
const MAX_REDRIVE_SOURCES: usize = 10;
/// Tag limits from the SQS developer guide.
const MAX_TAG_KEY_LENGTH: usize = 128;
const MAX_TAG_VALUE_LENGTH: usize = 256;
/// The SQS developer guide recommends no more than 50 tags per queue; it states no hard limit.
const RECOMMENDED_MAX_TAGS: usize = 50;

/// Resolves the spec (file 0) and environment overlay (file 1) into the desired state.
pub(super) fn resolve(
    files: &[SourceFile],
    environment: &str,
) -> (Option<DesiredState>, Vec<Diagnostic>) {
    let mut checker = Checker {
        files,
        diagnostics: Vec::new(),
    };

    let spec = checker.parse_top::<RawSpec>(SPEC_FILE);
    let overlay = checker.parse_top::<RawEnvironment>(ENVIRONMENT_FILE);
    let (Some(spec), Some(overlay)) = (spec, overlay) else {
        return (None, checker.diagnostics);
    };

    let (settings, settings_valid) = checker.environment_settings(&spec, &overlay, environment);
    checker.check_overrides(&spec, &overlay);
    checker.check_tags(SPEC_FILE, &YamlPath::keys(["tags"]), &spec.tags);
    checker.check_tags(ENVIRONMENT_FILE, &YamlPath::keys(["tags"]), &overlay.tags);

    let parsed: Vec<ParsedQueue> = spec
        .queues
        .iter()
        .map(|(key, value)| checker.parse_queue(key, value, &spec, &overlay))
        .collect();

    // Queues are checked even when the environment settings are invalid, so one run reports
    // both kinds of error.
    let mut common_tags = spec.tags.clone();
    common_tags.extend(overlay.tags.clone());
    let services: Vec<&str> = spec.services.keys().map(String::as_str).collect();
    checker.check_services(&spec);
    let mut queues = checker.build_queues(&settings, &parsed, &common_tags, &services);
    let topics = checker.topics(&settings, &spec, &mut queues);
    let publishers = super::topics::publishers(&spec, &topics);
    let service_policies =
        checker.service_policies(&settings, &spec, &overlay, &parsed, &queues, &publishers);
    let (alarms, dashboard) =
        checker.alarms_and_dashboard(&settings, &spec, &overlay, &parsed, &queues);
    if !settings_valid {
        return (None, checker.diagnostics);
    }

    let iam_path = iam_path(&settings);
    let desired = DesiredState {
        project: settings.project,
        environment: settings.environment,
        prefix: settings.prefix,
        region: settings.region,
        account_id: settings.account_id,
        connection: settings.connection,
        queues,
        iam_path,
        service_policies,
        alarms,
        dashboard,
        topics,
    };
    (Some(desired), checker.diagnostics)
}

/// Environment-wide settings after validation.
pub(super) struct Settings {
    pub(super) project: String,
    pub(super) environment: String,
    pub(super) prefix: String,
    pub(super) region: String,
    pub(super) account_id: String,
    pub(super) connection: Connection,
    pub(super) kms_key: Option<String>,
}

/// A queue after merging, with its typed settings when they parsed.
pub(super) struct ParsedQueue {
    pub(super) key: String,
    pub(super) merged: MergedQueue,
    pub(super) raw: Option<RawQueue>,
}

pub(super) struct Checker<'a> {
    pub(super) files: &'a [SourceFile],
    pub(super) diagnostics: Vec<Diagnostic>,
}

impl Checker<'_> {
    pub(super) fn report(
        &mut self,
        severity: Severity,
        origin: &Origin,
        at_key: bool,
        message: impl Into<String>,
    ) {
        let file = &self.files[origin.file];
        let position = file.position(&origin.path, at_key);
        let diagnostic = Diagnostic {
            severity,
            file: file.display.clone(),
            path: origin.path.to_string(),
            line: position.map(|position| position.line),
            column: position.map(|position| position.column),
            message: message.into(),
        };
        // A value in `defaults` is checked once for every queue, but is reported once.
        if !self.diagnostics.contains(&diagnostic) {
            self.diagnostics.push(diagnostic);
        }
    }

    pub(super) fn error(&mut self, file: usize, path: YamlPath, message: impl Into<String>) {
        self.report(Severity::Error, &Origin { file, path }, false, message);
    }

    pub(super) fn key_error(&mut self, file: usize, path: YamlPath, message: impl Into<String>) {
        self.report(Severity::Error, &Origin { file, path }, true, message);
    }

    pub(super) fn queue_error(
        &mut self,
        queue: &ParsedQueue,
        relative: &[&str],
        message: impl Into<String>,
    ) {
        let origin = queue
            .merged
            .origin(&YamlPath::keys(relative.iter().copied()));
        self.report(Severity::Error, &origin, false, message);
    }

    pub(super) fn queue_warning(
        &mut self,
        queue: &ParsedQueue,
        relative: &[&str],
        message: impl Into<String>,
    ) {
        let origin = queue
            .merged
            .origin(&YamlPath::keys(relative.iter().copied()));
        self.report(Severity::Warning, &origin, false, message);
    }

    /// Parses a whole file into `T`, reporting syntax errors, type errors and unknown keys.
    fn parse_top<T: DeserializeOwned + Default>(&mut self, file: usize) -> Option<T> {
        let text = &self.files[file].text;
        let value: Value = match serde_yaml::from_str(text) {
            Ok(value) => value,
            Err(error) => {
                let location = error.location();
                let source = &self.files[file];
                self.diagnostics.push(Diagnostic {
                    severity: Severity::Error,
                    file: source.display.clone(),
                    path: YamlPath::default().to_string(),
                    line: location.as_ref().map(|location| location.line()),
                    column: location.as_ref().map(|location| location.column()),
                    message: format!("invalid YAML: {error}"),
                });
                return None;
            }
        };
        if value.is_null() {
            return Some(T::default());
        }
        self.deserialize(value, |unknown| Origin {
            file,
            path: unknown.clone(),
        })
    }

    /// Deserializes `value`, mapping paths inside it to origins for messages.
    fn deserialize<T: DeserializeOwned>(
        &mut self,
        value: Value,
        origin_of: impl Fn(&YamlPath) -> Origin,
    ) -> Option<T> {
        let (result, mut unknown_keys) = try_deserialize::<T>(value.clone());
        let mut type_errors = Vec::new();
        let parsed = match result {
            Ok(parsed) => Some(parsed),
            Err(first_error) => {
                // serde stops at the first error, so each key is tried again on its own to
                // report every wrong value and unknown key of the mapping in one run.
                type_errors.push(first_error);
                if let Value::Mapping(mapping) = &value {
                    unknown_keys.clear();
                    type_errors.clear();
                    for (key, entry) in mapping {
                        let single = Value::Mapping(serde_yaml::Mapping::from_iter([(
                            key.clone(),
                            entry.clone(),
                        )]));
                        let (single_result, single_unknown) = try_deserialize::<T>(single);
                        unknown_keys.extend(single_unknown);
                        type_errors.extend(single_result.err());
                    }
                }
                None
            }
        };

        for path in unknown_keys {
            let key = path.last_key().unwrap_or_default().to_string();
            let parent = path.parent().unwrap_or_default();
            let valid = valid_keys::<T>(&parent);
            self.report(
                Severity::Error,
                &origin_of(&path),
                true,
                unknown_key_message(&key, valid),
            );
        }
        for (path, message) in type_errors {
            self.report(Severity::Error, &origin_of(&path), false, message);
        }
        parsed
    }

    /// Validates the environment-wide settings and returns them with whether they are valid.
    fn environment_settings(
        &mut self,
        spec: &RawSpec,
        overlay: &RawEnvironment,
        environment: &str,
    ) -> (Settings, bool) {
        let mut valid = true;

        let project = match &spec.project {
            None => {
                self.error(
                    SPEC_FILE,
                    YamlPath::default(),
                    "missing project: name the project, for example project: driversklub",
                );
                valid = false;
                String::new()
            }
            Some(project) if !is_name_text(project) || project.is_empty() => {
                self.error(SPEC_FILE, YamlPath::keys(["project"]), format!("invalid project \"{project}\": use letters, digits, hyphens and underscores"));
                valid = false;
                String::new()
            }
            Some(project) => project.clone(),
        };

        if !is_name_text(environment) || environment.is_empty() {
            self.error(ENVIRONMENT_FILE, YamlPath::default(), format!("invalid environment name \"{environment}\": use letters, digits, hyphens and underscores in the file name"));
            valid = false;
        }

        let prefix = match &overlay.name_prefix {
            Some(prefix) if !is_name_text(prefix) => {
                self.error(ENVIRONMENT_FILE, YamlPath::keys(["name_prefix"]), format!("invalid name_prefix \"{prefix}\": use letters, digits, hyphens and underscores"));
                valid = false;
                String::new()
            }
            Some(prefix) => prefix.clone(),
            // The project or environment name is invalid and already reported, so queue names
            // are checked without a prefix.
            None if !valid => String::new(),
            None => format!("{project}-{environment}-"),
        };

        let region = match &overlay.region {
            None => {
                self.error(
                    ENVIRONMENT_FILE,
                    YamlPath::default(),
                    "missing region, for example region: ap-south-1",
                );
                valid = false;
                String::new()
            }
            Some(region) if !is_region(region) => {
                self.error(
                    ENVIRONMENT_FILE,
                    YamlPath::keys(["region"]),
                    format!(
                        "invalid region \"{region}\": expected a region code such as ap-south-1"
                    ),
                );
                valid = false;
                String::new()
            }
            Some(region) => region.clone(),
        };

        let account_id = match &overlay.account_id {
            None => {
                self.error(ENVIRONMENT_FILE, YamlPath::default(), "missing account_id: every environment names the 12-digit AWS account it deploys to, so a plan never runs against the wrong account");
                valid = false;
                String::new()
            }
            Some(account)
                if account.len() != 12 || !account.bytes().all(|byte| byte.is_ascii_digit()) =>
            {
                self.error(ENVIRONMENT_FILE, YamlPath::keys(["account_id"]), format!("invalid account_id \"{account}\": expected 12 digits in quotes, such as \"123456789012\""));
                valid = false;
                String::new()
            }
            Some(account) => account.clone(),
        };

        if let Some(endpoint) = &overlay.endpoint_url
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            self.error(
                ENVIRONMENT_FILE,
                YamlPath::keys(["endpoint_url"]),
                format!("invalid endpoint_url \"{endpoint}\": expected an http:// or https:// URL"),
            );
            valid = false;
        }
        if overlay.emulator_credentials
            && !overlay.endpoint_url.as_deref().is_some_and(is_loopback_url)
        {
            self.error(ENVIRONMENT_FILE, YamlPath::keys(["emulator_credentials"]), "emulator_credentials needs an endpoint_url on loopback (127.0.0.1, localhost or [::1]), so dummy credentials never reach AWS");
            valid = false;
        }
        if let Some(role) = &overlay.role_arn
            && !is_role_arn(role)
        {
            self.error(ENVIRONMENT_FILE, YamlPath::keys(["role_arn"]), format!("invalid role_arn \"{role}\": expected arn:aws:iam::<12-digit account>:role/<name>"));
            valid = false;
        }

        let settings = Settings {
            project,
            environment: environment.to_string(),
            prefix,
            region,
            account_id,
            connection: Connection {
                endpoint_url: overlay.endpoint_url.clone(),
                role_arn: overlay.role_arn.clone(),
                emulator_credentials: overlay.emulator_credentials,
            },
            kms_key: overlay.kms_key.clone(),
        };
        (settings, valid)
    }

    /// Reports environment overrides of queues the spec does not declare.
    fn check_overrides(&mut self, spec: &RawSpec, overlay: &RawEnvironment) {
        let known: Vec<&str> = spec.queues.keys().map(String::as_str).collect();
        for key in overlay.queues.keys() {
            if spec.queues.contains_key(key) {
                continue;
            }
            let message = match suggest(key, &known) {
                Some(suggestion) => {
                    format!("override of unknown queue \"{key}\"; did you mean \"{suggestion}\"?")
                }
                None => {
                    format!("override of unknown queue \"{key}\": the spec declares no such queue")
                }
            };
            self.key_error(
                ENVIRONMENT_FILE,
                YamlPath::keys(["queues", key.as_str()]),
                message,
            );
        }
    }

    /// Merges the layers of one queue and parses the result.
    fn parse_queue(
        &mut self,
        key: &str,
        value: &Value,
        spec: &RawSpec,
        overlay: &RawEnvironment,
    ) -> ParsedQueue {
        let queue_path = YamlPath::keys(["queues", key]);
        let mut merged = MergedQueue::new(Origin {
            file: SPEC_FILE,
            path: queue_path.clone(),
        });
        if let Some(defaults) = &spec.defaults {
            merged.apply_layer(
                defaults,
                Origin {
                    file: SPEC_FILE,
                    path: YamlPath::keys(["defaults"]),
                },
            );
        }
        if let Some(defaults) = &overlay.defaults {
            merged.apply_layer(
                defaults,
                Origin {
                    file: ENVIRONMENT_FILE,
                    path: YamlPath::keys(["defaults"]),
                },
            );
        }
        if !value.is_null() {
            merged.apply_layer(
                value,
                Origin {
                    file: SPEC_FILE,
                    path: queue_path.clone(),
                },
            );
        }
        if let Some(override_value) = overlay.queues.get(key).filter(|value| !value.is_null()) {
            merged.apply_layer(
                override_value,
                Origin {
                    file: ENVIRONMENT_FILE,
                    path: queue_path,
                },
            );
        }

        let raw = self.deserialize::<RawQueue>(merged.value.clone(), |path| merged.origin(path));
        ParsedQueue {
            key: key.to_string(),
            merged,
            raw,
        }
    }

    fn build_queues(
        &mut self,
        settings: &Settings,
        parsed: &[ParsedQueue],
        common_tags: &BTreeMap<String, String>,
        services: &[&str],
    ) -> Vec<DesiredQueue> {
        let mut queues: Vec<DesiredQueue> = Vec::new();
        // Source queue key and dead-letter target key, for the redrive links made at the end.
        let mut redrive_links: Vec<(usize, String, u64)> = Vec::new();
        let mut named_targets: Vec<(usize, String)> = Vec::new();
        let declared: Vec<&str> = parsed.iter().map(|queue| queue.key.as_str()).collect();

        for (position, queue) in parsed.iter().enumerate() {
            let Some(raw) = &queue.raw else { continue };
            let fifo = raw.fifo.unwrap_or(false);
            let name = format!("{}{}", settings.prefix, queue.key);
            self.check_name(queue, &name, fifo, false);

            let arn = model::queue_arn(&settings.region, &settings.account_id, &name);
            let mut attributes = self.queue_attributes(queue, raw, fifo, settings);
            attributes.policy = self.queue_access_policy(queue, raw, &arn);
            self.check_unencrypted(queue, raw);
            let (producers, consumers) = self.queue_services(queue, raw, services);
            let mut tags = common_tags.clone();
            tags.extend(raw.tags.clone());
            for (key, value) in &raw.tags {
                self.check_tag(
                    queue.merged.origin(&YamlPath::keys(["tags", key.as_str()])),
                    key,
                    value,
                );
            }
            tags.extend(model::ownership_tags(
                &settings.project,
                &settings.environment,
            ));
            if tags.len() > RECOMMENDED_MAX_TAGS {
                self.queue_warning(queue, &["tags"], format!(
                    "queue \"{}\" has {} tags, counting the {} sqsform sets; SQS recommends at most {RECOMMENDED_MAX_TAGS} per queue",
                    queue.key,
                    tags.len(),
                    model::ownership_tags(&settings.project, &settings.environment).len()
                ));
            }

            let source_index = queues.len();
            queues.push(DesiredQueue {
                key: queue.key.clone(),
                arn,
                name,
                role: QueueRole::Declared,
                is_dead_letter_target: false,
                producers,
                consumers,
                attributes,
                tags,
            });

            let Some(dead_letter) = &raw.dead_letter else {
                continue;
            };
            if dead_letter.enabled == Some(false) {
                continue;
            }
            let Some(max_receive_count) = self.max_receive_count(queue, dead_letter) else {
                continue;
            };
            match &dead_letter.queue {
                Some(target) => {
                    self.check_named_target(
                        queue,
                        dead_letter,
                        target,
                        &declared,
                        position,
                        parsed,
                    );
                    named_targets.push((source_index, target.clone()));
                    redrive_links.push((source_index, target.clone(), max_receive_count));
                }
                None => {
                    let derived = self.derived_dead_letter(
                        queue,
                        dead_letter,
                        &queues[source_index],
                        settings,
                    );
                    let derived_key = derived.key.clone();
                    queues.push(derived);
                    redrive_links.push((source_index, derived_key, max_receive_count));
                }
            }
        }

        self.link_redrive(parsed, &mut queues, &redrive_links);
        self.check_redrive_cycles(parsed, &named_targets, &queues);
        self.check_duplicate_names(parsed, &queues);
        queues
    }

    fn check_name(&mut self, queue: &ParsedQueue, name: &str, fifo: bool, dead_letter: bool) {
        let what = if dead_letter {
            "dead-letter queue name"
        } else {
            "queue name"
        };
        let origin = Origin {
            file: SPEC_FILE,
            path: YamlPath::keys(["queues", queue.key.as_str()]),
        };
        let length = name.chars().count();
        if length > MAX_QUEUE_NAME_LENGTH {
            self.report(Severity::Error, &origin, true, format!("{what} \"{name}\" is {length} characters; SQS allows at most {MAX_QUEUE_NAME_LENGTH}, counting the environment prefix and any -dlq or .fifo suffix"));
        }
        let stem = name.strip_suffix(FIFO_SUFFIX).unwrap_or(name);
        if stem.is_empty() || !is_name_text(stem) {
            self.report(Severity::Error, &origin, true, format!("{what} \"{name}\" contains invalid characters: SQS allows letters, digits, hyphens and underscores, plus a final \".fifo\" on FIFO queues"));
        }
        if dead_letter {
            return;
        }
        let has_suffix = name.ends_with(FIFO_SUFFIX);
        if fifo && !has_suffix {
            self.report(
                Severity::Error,
                &origin,
                true,
                format!("FIFO queue name \"{}\" must end in \".fifo\"", queue.key),
            );
        }
        if !fifo && has_suffix {
            self.report(Severity::Error, &origin, true, format!("queue name \"{}\" ends in \".fifo\" but the queue is standard: set fifo: true or remove the suffix", queue.key));
        }
    }

    fn queue_attributes(
        &mut self,
        queue: &ParsedQueue,
        raw: &RawQueue,
        fifo: bool,
        settings: &Settings,
    ) -> QueueAttributes {
        let delay = self.duration_in_range(
            queue,
            &["delay"],
            raw.delay,
            DELAY_RANGE,
            defaults::DELAY_SECONDS,
        );
        let retention = self.duration_in_range(
            queue,
            &["retention"],
            raw.retention,
            RETENTION_RANGE,
            defaults::MESSAGE_RETENTION_PERIOD,
        );
        let receive_wait = self.duration_in_range(
            queue,
            &["receive_wait"],
            raw.receive_wait,
            RECEIVE_WAIT_RANGE,
            defaults::RECEIVE_MESSAGE_WAIT_TIME_SECONDS,
        );
        let visibility_timeout = self.duration_in_range(
            queue,
            &["visibility_timeout"],
            raw.visibility_timeout,
            VISIBILITY_TIMEOUT_RANGE,
            defaults::VISIBILITY_TIMEOUT,
        );

        let maximum_message_size = match raw.max_message_size {
            Some(size) if !(MESSAGE_SIZE_RANGE.0..=MESSAGE_SIZE_RANGE.1).contains(&size) => {
                self.queue_error(
                    queue,
                    &["max_message_size"],
                    format!(
                        "max_message_size must be between {} and {} bytes, got {size}",
                        MESSAGE_SIZE_RANGE.0, MESSAGE_SIZE_RANGE.1
                    ),
                );
                defaults::MAXIMUM_MESSAGE_SIZE
            }
            Some(size) => size as u64,
            None => defaults::MAXIMUM_MESSAGE_SIZE,
        };

        let encryption = self.encryption(queue, raw.encryption.as_ref(), settings);
        let fifo_attributes = self.fifo_attributes(queue, raw, fifo);

        QueueAttributes {
            delay_seconds: delay,
            maximum_message_size,
            message_retention_period: retention,
            receive_message_wait_time_seconds: receive_wait,
            visibility_timeout,
            encryption,
            fifo: fifo_attributes,
            redrive_policy: None,
            redrive_allow_policy: None,
            // Composed once the queue's ARN is known.
            policy: None,
        }
    }

    fn duration_in_range(
        &mut self,
        queue: &ParsedQueue,
        path: &[&str],
        value: Option<Seconds>,
        (minimum, maximum): (u64, u64),
        default: u64,
    ) -> u64 {
        let Some(Seconds(seconds)) = value else {
            return default;
        };
        if (minimum..=maximum).contains(&seconds) {
            return seconds;
        }
        let key = path.last().copied().unwrap_or_default();
        self.queue_error(queue, path, format!(
            "{key} must be between {} and {} ({minimum} to {maximum} seconds), got {seconds} seconds",
            Seconds(minimum),
            Seconds(maximum),
        ));
        default
    }

    fn encryption(
        &mut self,
        queue: &ParsedQueue,
        raw: Option<&RawEncryption>,
        settings: &Settings,
    ) -> Encryption {
        let Some(raw) = raw else {
            return Encryption::SseSqs;
        };
        let kind = raw.kind.unwrap_or(if raw.kms_key.is_some() {
            EncryptionType::SseKms
        } else {
            EncryptionType::SseSqs
        });

        if kind != EncryptionType::SseKms {
            if raw.kms_key.is_some() {
                self.queue_error(queue, &["encryption", "kms_key"], format!(
                    "kms_key is set but encryption type is {}: a queue uses one kind of server-side encryption, so set type: sse-kms or remove kms_key",
                    kind.as_str()
                ));
            }
            if raw.data_key_reuse.is_some() {
                self.queue_error(
                    queue,
                    &["encryption", "data_key_reuse"],
                    format!(
                        "data_key_reuse applies only to sse-kms encryption, but the type is {}",
                        kind.as_str()
                    ),
                );
            }
            return match kind {
                EncryptionType::None => Encryption::None,
                _ => Encryption::SseSqs,
            };
        }

        let data_key_reuse_seconds = self.duration_in_range(
            queue,
            &["encryption", "data_key_reuse"],
            raw.data_key_reuse,
            DATA_KEY_REUSE_RANGE,
            defaults::KMS_DATA_KEY_REUSE_PERIOD_SECONDS,
        );
        let key = raw.kms_key.clone().or_else(|| settings.kms_key.clone());
        match key {
            Some(key)
                if key.starts_with("arn:")
                    && key.split(':').nth(3) != Some(settings.region.as_str()) =>
            {
                self.queue_error(queue, &["encryption"], format!(
                    "KMS key \"{key}\" is not in the queue's region {}; SQS uses keys of the queue's own region",
                    settings.region
                ));
                Encryption::SseSqs
            }
            Some(key) if !key.trim().is_empty() => Encryption::SseKms {
                key,
                data_key_reuse_seconds,
            },
            _ => {
                self.queue_error(queue, &["encryption"], "sse-kms needs a key: set encryption.kms_key, or kms_key in the environment file");
                Encryption::SseSqs
            }
        }
    }

    fn fifo_attributes(
        &mut self,
        queue: &ParsedQueue,
        raw: &RawQueue,
        fifo: bool,
    ) -> Option<FifoAttributes> {
        if !fifo {
            let fifo_only = [
                (
                    "content_based_deduplication",
                    raw.content_based_deduplication.is_some(),
                ),
                ("deduplication_scope", raw.deduplication_scope.is_some()),
                ("throughput_limit", raw.throughput_limit.is_some()),
                ("high_throughput", raw.high_throughput.is_some()),
            ];
            for (key, present) in fifo_only {
                if present {
                    self.queue_error(queue, &[key], format!(
                        "{key} applies only to FIFO queues, and \"{}\" is standard: remove it, or set fifo: true and end the name in \".fifo\"",
                        queue.key
                    ));
                }
            }
            return None;
        }

        let high_throughput = raw.high_throughput.unwrap_or(false);
        let default_scope = if high_throughput {
            DeduplicationScope::MessageGroup
        } else {
            DeduplicationScope::Queue
        };
        let default_limit = if high_throughput {
            ThroughputLimit::PerMessageGroupId
        } else {
            ThroughputLimit::PerQueue
        };
        let scope = raw.deduplication_scope.unwrap_or(default_scope);
        let limit = raw.throughput_limit.unwrap_or(default_limit);

        if high_throughput && scope != DeduplicationScope::MessageGroup {
            self.queue_error(queue, &["deduplication_scope"], format!(
                "high_throughput needs deduplication_scope messageGroup and throughput_limit perMessageGroupId, but deduplication_scope is {}",
                scope.as_str()
            ));
        } else if high_throughput && limit != ThroughputLimit::PerMessageGroupId {
            self.queue_error(queue, &["throughput_limit"], format!(
                "high_throughput needs deduplication_scope messageGroup and throughput_limit perMessageGroupId, but throughput_limit is {}",
                limit.as_str()
            ));
        } else if limit == ThroughputLimit::PerMessageGroupId
            && scope != DeduplicationScope::MessageGroup
        {
            self.queue_error(
                queue,
                &["throughput_limit"],
                "throughput_limit perMessageGroupId requires deduplication_scope messageGroup",
            );
        }

        Some(FifoAttributes {
            content_based_deduplication: raw.content_based_deduplication.unwrap_or(false),
            deduplication_scope: scope,
            throughput_limit: limit,
        })
    }

    fn max_receive_count(
        &mut self,
        queue: &ParsedQueue,
        dead_letter: &RawDeadLetter,
    ) -> Option<u64> {
        match dead_letter.max_receive_count {
            None => {
                self.queue_error(queue, &["dead_letter"], "missing dead_letter.max_receive_count: how many receives SQS allows before it moves a message to the dead-letter queue (1 to 1000)");
                None
            }
            Some(count)
                if !(MAX_RECEIVE_COUNT_RANGE.0..=MAX_RECEIVE_COUNT_RANGE.1).contains(&count) =>
            {
                self.queue_error(
                    queue,
                    &["dead_letter", "max_receive_count"],
                    format!(
                        "max_receive_count must be between {} and {}, got {count}",
                        MAX_RECEIVE_COUNT_RANGE.0, MAX_RECEIVE_COUNT_RANGE.1
                    ),
                );
                None
            }
            Some(count) => Some(count as u64),
        }
    }

    fn check_named_target(
        &mut self,
        queue: &ParsedQueue,
        dead_letter: &RawDeadLetter,
        target: &str,
        declared: &[&str],
        position: usize,
        parsed: &[ParsedQueue],
    ) {
        for (key, present) in [
            ("retention", dead_letter.retention.is_some()),
            (
                "visibility_timeout",
                dead_letter.visibility_timeout.is_some(),
            ),
        ] {
            if present {
                self.queue_error(queue, &["dead_letter", key], format!(
                    "dead_letter.{key} applies only to a derived dead-letter queue; set {key} on queue \"{target}\" instead"
                ));
            }
        }
        if target == parsed[position].key {
            self.queue_error(
                queue,
                &["dead_letter", "queue"],
                format!("queue \"{target}\" cannot be its own dead-letter queue"),
            );
            return;
        }
        let Some(target_queue) = parsed.iter().find(|candidate| candidate.key == target) else {
            let message = match suggest(target, declared) {
                Some(suggestion) => format!(
                    "dead_letter.queue names unknown queue \"{target}\"; did you mean \"{suggestion}\"?"
                ),
                None => format!(
                    "dead_letter.queue names unknown queue \"{target}\": it must be a queue declared in this spec"
                ),
            };
            self.queue_error(queue, &["dead_letter", "queue"], message);
            return;
        };
        // A target that failed to parse has its own error and an unknown type.
        let Some(target_raw) = &target_queue.raw else {
            return;
        };
        let source_fifo = queue.raw.as_ref().and_then(|raw| raw.fifo).unwrap_or(false);
        let target_fifo = target_raw.fifo.unwrap_or(false);
        if source_fifo != target_fifo {
            let kind = |fifo: bool| if fifo { "FIFO" } else { "standard" };
            self.queue_error(queue, &["dead_letter", "queue"], format!(
                "dead-letter queue \"{target}\" is {} but \"{}\" is {}: a dead-letter queue must be the same type as its source",
                kind(target_fifo), queue.key, kind(source_fifo)
            ));
        }
    }

    fn derived_dead_letter(
        &mut self,
        queue: &ParsedQueue,
        dead_letter: &RawDeadLetter,
        source: &DesiredQueue,
        settings: &Settings,
    ) -> DesiredQueue {
        let fifo = source.attributes.fifo.is_some();
        let stem = queue.key.strip_suffix(FIFO_SUFFIX).unwrap_or(&queue.key);
        let key = if fifo {
            format!("{stem}{DEAD_LETTER_SUFFIX}{FIFO_SUFFIX}")
        } else {
            format!("{stem}{DEAD_LETTER_SUFFIX}")
        };
        let name = format!("{}{key}", settings.prefix);
        // An invalid source name is reported for the source queue only.
        if is_valid_queue_name(&source.name) {
            self.check_name(queue, &name, fifo, true);
        }

        let retention = self.duration_in_range(
            queue,
            &["dead_letter", "retention"],
            dead_letter.retention,
            RETENTION_RANGE,
            defaults::DEAD_LETTER_RETENTION_PERIOD,
        );
        let visibility_timeout = self.duration_in_range(
            queue,
            &["dead_letter", "visibility_timeout"],
            dead_letter.visibility_timeout,
            VISIBILITY_TIMEOUT_RANGE,
            defaults::VISIBILITY_TIMEOUT,
        );

        let arn = model::queue_arn(&settings.region, &settings.account_id, &name);
        let enforce_tls = queue
            .raw
            .as_ref()
            .and_then(|raw| raw.enforce_tls)
            .unwrap_or(true);
        let policy = crate::policy::generate::queue_policy(&arn, enforce_tls, &[]);

        DesiredQueue {
            key,
            arn,
            name,
            role: QueueRole::DeadLetter {
                source: queue.key.clone(),
            },
            is_dead_letter_target: true,
            producers: BTreeSet::new(),
            consumers: BTreeSet::new(),
            attributes: QueueAttributes {
                delay_seconds: defaults::DELAY_SECONDS,
                maximum_message_size: source.attributes.maximum_message_size,
                message_retention_period: retention,
                receive_message_wait_time_seconds: defaults::RECEIVE_MESSAGE_WAIT_TIME_SECONDS,
                visibility_timeout,
                encryption: source.attributes.encryption.clone(),
                fifo: source.attributes.fifo.clone(),
                redrive_policy: None,
                redrive_allow_policy: None,
                policy,
            },
            tags: source.tags.clone(),
        }
    }

    /// Sets each source's redrive policy and each target's redrive-allow policy, and warns when a
    /// standard queue's dead-letter queue keeps messages for less time than the source.
    fn link_redrive(
        &mut self,
        parsed: &[ParsedQueue],
        queues: &mut [DesiredQueue],
        links: &[(usize, String, u64)],
    ) {
        let mut sources_by_target: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (source_index, target_key, max_receive_count) in links {
            let Some(target_index) = queues.iter().position(|queue| &queue.key == target_key)
            else {
                continue;
            };
            let target_arn = queues[target_index].arn.clone();
            let target_retention = queues[target_index].attributes.message_retention_period;
            let target_is_derived =
                matches!(queues[target_index].role, QueueRole::DeadLetter { .. });
            queues[target_index].is_dead_letter_target = true;

            let source = &mut queues[*source_index];
            source.attributes.redrive_policy = Some(RedrivePolicy {
                dead_letter_target_arn: target_arn,
                max_receive_count: *max_receive_count,
            });
            sources_by_target
                .entry(target_key.clone())
                .or_default()
                .insert(source.arn.clone());

            // A FIFO queue resets a message's enqueue time when SQS moves it to the dead-letter
            // queue. A standard queue keeps the original, so only standard queues need the check.
            let source_retention = source.attributes.message_retention_period;
            if source.attributes.fifo.is_none() && target_retention < source_retention {
                let Some(parsed_source) = parsed.iter().find(|queue| queue.key == source.key)
                else {
                    continue;
                };
                // dead_letter.retention is rejected next to dead_letter.queue, so a named target
                // gets advice about its own retention instead.
                let (path, advice) = if target_is_derived {
                    (
                        ["dead_letter", "retention"],
                        format!("make it at least {}", Seconds(source_retention)),
                    )
                } else {
                    (
                        ["dead_letter", "queue"],
                        format!(
                            "set retention of queue \"{target_key}\" to at least {}",
                            Seconds(source_retention)
                        ),
                    )
                };
                self.queue_warning(parsed_source, &path, format!(
                    "dead-letter queue retention {} is shorter than the source queue's retention {}: a standard queue keeps each message's original enqueue time, so messages can expire in the dead-letter queue before anyone reads them; {advice}",
                    Seconds(target_retention), Seconds(source_retention)
                ));
            }
        }

        for (target_key, sources) in sources_by_target {
            let Some(target) = queues.iter_mut().find(|queue| queue.key == target_key) else {
                continue;
            };
            if sources.len() > MAX_REDRIVE_SOURCES {
                if let Some(parsed_target) = parsed.iter().find(|queue| queue.key == target_key) {
                    self.queue_error(parsed_target, &[], format!(
                        "{} source queues use \"{target_key}\" as their dead-letter queue; a byQueue redrive-allow policy lists at most {MAX_REDRIVE_SOURCES}",
                        sources.len()
                    ));
                }
                continue;
            }
            target.attributes.redrive_allow_policy = Some(RedriveAllowPolicy::ByQueue {
                source_queue_arns: sources,
            });
        }
    }

    /// Rejects `dead_letter.queue` links that lead back to where they started: SQS would move
    /// messages around the cycle, and no queue of it could be created first.
    fn check_redrive_cycles(
        &mut self,
        parsed: &[ParsedQueue],
        named_targets: &[(usize, String)],
        queues: &[DesiredQueue],
    ) {
        let links: BTreeMap<&str, &str> = named_targets
            .iter()
            .map(|(source_index, target)| (queues[*source_index].key.as_str(), target.as_str()))
            .collect();
        let mut reported: BTreeSet<BTreeSet<&str>> = BTreeSet::new();
        for start in links.keys() {
            let mut path = vec![*start];
            let mut current = *start;
            while let Some(next) = links.get(current) {
                if *next == *start && path.len() > 1 {
                    let members: BTreeSet<&str> = path.iter().copied().collect();
                    if reported.insert(members) {
                        path.push(next);
                        let Some(queue) = parsed.iter().find(|candidate| candidate.key == *start)
                        else {
                            break;
                        };
                        self.queue_error(queue, &["dead_letter", "queue"], format!(
                            "dead-letter queues form a cycle: {}; SQS would move failed messages around it and no queue of it could be created first, so give one of them no dead_letter",
                            path.join(" → ")
                        ));
                    }
                    break;
                }
                if path.contains(next) {
                    break;
                }
                path.push(next);
                current = next;
            }
        }
    }

    fn check_duplicate_names(&mut self, parsed: &[ParsedQueue], queues: &[DesiredQueue]) {
        let mut seen: BTreeMap<&str, &DesiredQueue> = BTreeMap::new();
        for queue in queues {
            let Some(first) = seen.insert(queue.name.as_str(), queue) else {
                continue;
            };
            let describe = |queue: &DesiredQueue| match &queue.role {
                QueueRole::Declared => format!("queue \"{}\"", queue.key),
                QueueRole::DeadLetter { source } => {
                    format!("the dead-letter queue of \"{source}\"")
                }
            };
            let owner = match &queue.role {
                QueueRole::Declared => queue.key.as_str(),
                QueueRole::DeadLetter { source } => source.as_str(),
            };
            if let Some(parsed_queue) = parsed.iter().find(|candidate| candidate.key == owner) {
                let origin = Origin {
                    file: SPEC_FILE,
                    path: YamlPath::keys(["queues", parsed_queue.key.as_str()]),
                };
                self.report(
                    Severity::Error,
                    &origin,
                    true,
                    format!(
                        "queue name \"{}\" is used twice, by {} and by {}",
                        queue.name,
                        describe(first),
                        describe(queue)
                    ),
                );
            }
        }
    }

    fn check_tags(&mut self, file: usize, path: &YamlPath, tags: &BTreeMap<String, String>) {
        for (key, value) in tags {
            self.check_tag(
                Origin {
                    file,
                    path: path.key(key.clone()),
                },
                key,
                value,
            );
        }
    }

    fn check_tag(&mut self, origin: Origin, key: &str, value: &str) {
        let key_length = key.chars().count();
        let problem = if key_length == 0 || key_length > MAX_TAG_KEY_LENGTH {
            Some(format!(
                "invalid tag key \"{key}\": SQS tag keys are 1 to {MAX_TAG_KEY_LENGTH} characters"
            ))
        } else if key.to_ascii_lowercase().starts_with("aws:") {
            Some(format!(
                "invalid tag key \"{key}\": the aws: prefix is reserved by AWS"
            ))
        } else if key.starts_with("sqsform:") {
            Some(format!(
                "invalid tag key \"{key}\": the sqsform: prefix is reserved for the ownership tags sqsform sets itself"
            ))
        } else if value.chars().count() > MAX_TAG_VALUE_LENGTH {
            Some(format!(
                "tag \"{key}\" has a value of {} characters; SQS allows at most {MAX_TAG_VALUE_LENGTH}",
                value.chars().count()
            ))
        } else {
            None
        };
        if let Some(message) = problem {
            self.report(Severity::Error, &origin, true, message);
        }
    }
}

/// Deserializes `value` into `T`, returning the first error with its path and the paths of
/// the unknown keys met before it.
fn try_deserialize<T: DeserializeOwned>(
    value: Value,
) -> (Result<T, (YamlPath, String)>, Vec<YamlPath>) {
    let mut unknown_keys = Vec::new();
    let mut record_unknown = |path: serde_ignored::Path| {
        unknown_keys.push(path_from_ignored(&path));
    };
    let deserializer = serde_ignored::Deserializer::new(value, &mut record_unknown);
    let result: Result<T, _> = serde_path_to_error::deserialize(deserializer);
    let result = result.map_err(|error| (path_from_serde(error.path()), error.inner().to_string()));
    (result, unknown_keys)
}

/// Returns the keys valid under `parent` in a document of type `T`.
fn valid_keys<T: DeserializeOwned>(parent: &YamlPath) -> &'static [&'static str] {
    use super::positions::Segment::Key;
    use super::raw::{
        RawAlarmActions, RawAlarmSwitch, RawAlarms, RawCustomAlarm, RawThresholdAlarm,
    };

    let keys: Vec<&str> = parent
        .0
        .iter()
        .map(|segment| match segment {
            Key(key) => key.as_str(),
            super::positions::Segment::Index(_) => "[]",
        })
        .collect();
    let type_name = std::any::type_name::<T>();
    if type_name.ends_with("RawSpec") {
        return match keys.as_slice() {
            [] => fields_of::<RawSpec>(),
            _ => &[],
        };
    }
    if type_name.ends_with("RawEnvironment") {
        return match keys.as_slice() {
            [] => fields_of::<RawEnvironment>(),
            ["alarm_actions"] => fields_of::<RawAlarmActions>(),
            _ => &[],
        };
    }
    match keys.as_slice() {
        [] => fields_of::<RawQueue>(),
        ["encryption"] => fields_of::<RawEncryption>(),
        ["dead_letter"] => fields_of::<RawDeadLetter>(),
        ["alarms"] => fields_of::<RawAlarms>(),
        ["alarms", "dead_letter_not_empty"] => fields_of::<RawAlarmSwitch>(),
        ["alarms", "depth" | "oldest_message_age"] => fields_of::<RawThresholdAlarm<f64>>(),
        ["alarms", "custom", _] => fields_of::<RawCustomAlarm>(),
        _ => &[],
    }
}

fn unknown_key_message(key: &str, valid: &[&str]) -> String {
    match suggest(key, valid) {
        Some(suggestion) => format!("unknown key \"{key}\"; did you mean \"{suggestion}\"?"),
        None if valid.is_empty() => format!("unknown key \"{key}\""),
        None => format!("unknown key \"{key}\"; valid keys are {}", valid.join(", ")),
    }
}

/// Returns the candidate nearest to `input` by edit distance, if it is near enough to be a typo.
pub(super) fn suggest<'a>(input: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (input.chars().count() / 3).max(2);
    candidates
        .iter()
        .map(|candidate| (strsim::levenshtein(input, candidate), *candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Checks a final queue name against the SQS length and character limits.
fn is_valid_queue_name(name: &str) -> bool {
    let stem = name.strip_suffix(FIFO_SUFFIX).unwrap_or(name);
    name.chars().count() <= MAX_QUEUE_NAME_LENGTH && !stem.is_empty() && is_name_text(stem)
}

/// Checks for letters, digits, hyphens and underscores only.
fn is_name_text(text: &str) -> bool {
    text.chars()
        .all(|character| character.is_ascii_alphanumeric() || character == '-' || character == '_')
}

fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|byte| byte.is_ascii_digit())
        && parts[5].starts_with("role/")
        && parts[5].len() > "role/".len()
}

/// Checks that a URL's host is on loopback.
pub(crate) fn is_loopback_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|address| address.is_loopback())
}
