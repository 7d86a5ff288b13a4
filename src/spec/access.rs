//! Access rules of the spec: services and their roles, queue grants, the security lint, and the
//! least-privilege IAM policies derived from producers and consumers.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::Severity;
use super::positions::{Segment, YamlPath};
use super::raw::{EncryptionType, RawEnvironment, RawQueue, RawSpec};
use super::resolve::{
    Checker, ENVIRONMENT_FILE, MAX_POLICY_BYTES, MAX_POLICY_STATEMENTS, ParsedQueue, SPEC_FILE,
    Settings, suggest,
};
use super::source::Origin;
use crate::model::{self, DesiredQueue, Encryption, QueueRole, ServicePolicy};
use crate::policy::generate::{self, Grants, OperatorGrants};

/// IAM's limit on a managed policy document, white space excluded.
const MAX_IAM_POLICY_CHARACTERS: usize = 6_144;
/// IAM's limit on a managed policy name.
const MAX_IAM_POLICY_NAME_LENGTH: usize = 128;
/// IAM's limit on a role name.
const MAX_ROLE_NAME_LENGTH: usize = 64;
/// Service name reserved for the operators role's policy.
const OPERATORS: &str = "operators";
/// Condition keys that narrow a grant to `Principal: "*"` down to known callers.
const NARROWING_CONDITION_KEYS: &[&str] = &[
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:sourcevpc",
    "aws:sourcevpce",
];

/// Returns the IAM path that contains an environment's policies.
pub(super) fn iam_path(settings: &Settings) -> String {
    format!("/sqsform/{}/{}/", settings.project, settings.environment)
}

/// Checks an IAM role name: 1 to 64 characters of letters, digits and `+=,.@_-`.
fn is_role_name(name: &str) -> bool {
    let length = name.chars().count();
    (1..=MAX_ROLE_NAME_LENGTH).contains(&length)
        && name
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "+=,.@_-".contains(character))
}

/// Returns how a grant is named in messages: its Sid, or its position.
fn grant_label(index: usize, grant: &Map<String, Value>) -> String {
    match grant.get("Sid").and_then(Value::as_str) {
        Some(sid) => format!("grant \"{sid}\""),
        None => format!("grant {}", index + 1),
    }
}

/// Returns the strings of a value that is one string or a list of strings.
fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(text)) => vec![text.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Checks whether a principal element means everyone.
fn is_anyone(principal: Option<&Value>) -> bool {
    match principal {
        Some(Value::String(text)) => text == "*",
        Some(Value::Object(principals)) => strings(principals.get("AWS"))
            .iter()
            .any(|value| value == "*"),
        _ => false,
    }
}

/// Checks whether an action pattern is a wildcard that can match an action that changes
/// something. `sqs:Get*` and `sqs:List*` match only reads.
fn is_writing_wildcard(action: &str) -> bool {
    let lower = action.to_ascii_lowercase();
    let wildcard = lower.contains('*') || lower.contains('?');
    wildcard && !(lower.starts_with("sqs:get") || lower.starts_with("sqs:list"))
}

/// Checks whether a condition block names a key that narrows who can call.
fn has_narrowing_condition(condition: Option<&Value>) -> bool {
    let Some(Value::Object(operators)) = condition else {
        return false;
    };
    // A key whose value is "*" matches every caller, so it narrows nothing.
    operators.values().any(|block| match block {
        Value::Object(keys) => keys.iter().any(|(key, values)| {
            NARROWING_CONDITION_KEYS.contains(&key.to_ascii_lowercase().as_str())
                && !strings(Some(values)).iter().any(|value| value == "*")
        }),
        _ => false,
    })
}

/// Returns the ARN IAM needs for a KMS key written as a key ARN or a bare key id. Aliases are
/// rejected, because IAM matches the key ARN and an alias in `Resource` grants nothing.
fn kms_key_arn(key: &str, settings: &Settings) -> Option<String> {
    if key.starts_with("arn:") {
        let resource = key.splitn(6, ':').nth(5).unwrap_or_default();
        return resource.starts_with("key/").then(|| key.to_string());
    }
    let is_key_id = !key.is_empty()
        && !key.starts_with("alias/")
        && key
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || character == '-');
    is_key_id.then(|| {
        format!(
            "arn:{}:kms:{}:{}:key/{key}",
            model::partition(&settings.region),
            settings.region,
            settings.account_id
        )
    })
}

impl Checker<'_> {
    fn queue_error_at(&mut self, queue: &ParsedQueue, path: &YamlPath, message: impl Into<String>) {
        let origin = queue.merged.origin(path);
        self.report(Severity::Error, &origin, false, message);
    }

    /// Checks the names under `services:` in the spec.
    pub(super) fn check_services(&mut self, spec: &RawSpec) {
        for name in spec.services.keys() {
            let path = YamlPath::keys(["services", name.as_str()]);
            if name == OPERATORS {
                self.key_error(SPEC_FILE, path, "the service name \"operators\" is reserved for the operators_role policy; pick another name");
            } else if name.is_empty()
                || !name.chars().all(|character| {
                    character.is_ascii_alphanumeric() || character == '-' || character == '_'
                })
            {
                self.key_error(SPEC_FILE, path, format!("invalid service name \"{name}\": use letters, digits, hyphens and underscores"));
            }
        }
    }

    /// Returns a queue's producers and consumers, reporting names the spec does not declare.
    pub(super) fn queue_services(
        &mut self,
        queue: &ParsedQueue,
        raw: &RawQueue,
        services: &[&str],
    ) -> (BTreeSet<String>, BTreeSet<String>) {
        let mut resolved = [BTreeSet::new(), BTreeSet::new()];
        for (slot, (field, names)) in [("producers", &raw.producers), ("consumers", &raw.consumers)]
            .into_iter()
            .enumerate()
        {
            for (index, name) in names.iter().flatten().enumerate() {
                if services.contains(&name.as_str()) {
                    resolved[slot].insert(name.clone());
                    continue;
                }
                let role = &field[..field.len() - 1];
                let message = match suggest(name, services) {
                    Some(suggestion) => format!(
                        "queue \"{}\" names unknown {role} \"{name}\"; did you mean \"{suggestion}\"?",
                        queue.key
                    ),
                    None => format!(
                        "queue \"{}\" names unknown {role} \"{name}\": declare it under services:",
                        queue.key
                    ),
                };
                let path = YamlPath(vec![Segment::Key(field.to_string()), Segment::Index(index)]);
                self.queue_error_at(queue, &path, message);
            }
        }
        let [producers, consumers] = resolved;
        (producers, consumers)
    }

    /// Rejects an unencrypted queue unless the queue itself sets `encryption: none`, so the
    /// choice is deliberate and visible where the queue is declared.
    pub(super) fn check_unencrypted(&mut self, queue: &ParsedQueue, raw: &RawQueue) {
        let unencrypted = raw
            .encryption
            .as_ref()
            .and_then(|encryption| encryption.kind)
            == Some(EncryptionType::None);
        if !unencrypted {
            return;
        }
        let origin = queue.merged.origin(&YamlPath::keys(["encryption", "type"]));
        let on_queue = matches!(origin.path.0.as_slice(), [Segment::Key(section), Segment::Key(key), ..] if section == "queues" && key == &queue.key);
        if !on_queue {
            self.report(Severity::Error, &origin, false, format!(
                "queue \"{}\" would be unencrypted because defaults set encryption: none; an unencrypted queue must say encryption: none itself so the choice is deliberate, or use encryption: sse-sqs, which costs nothing extra",
                queue.key
            ));
        }
    }

    /// Validates a queue's grants, runs the security lint on them, and returns the composed
    /// access policy: the TLS statement (unless `enforce_tls: false`) and the grants.
    pub(super) fn queue_access_policy(
        &mut self,
        queue: &ParsedQueue,
        raw: &RawQueue,
        arn: &str,
    ) -> Option<Value> {
        let grants = raw.grants.clone().unwrap_or_default();
        let mut valid = true;
        for (index, grant) in grants.iter().enumerate() {
            let path = YamlPath(vec![Segment::Key("grants".into()), Segment::Index(index)]);
            let label = grant_label(index, grant);
            valid &= self.check_grant(queue, &path, &label, grant);
        }

        let policy = generate::queue_policy(arn, raw.enforce_tls.unwrap_or(true), &grants)?;
        if !valid {
            return None;
        }
        if let Err(error) = crate::policy::canonical(&policy) {
            self.queue_error(queue, &["grants"], format!("invalid grants: {error}"));
            return None;
        }
        let bytes = crate::policy::to_compact(&policy).len();
        if bytes > MAX_POLICY_BYTES {
            self.queue_error(queue, &["grants"], format!(
                "the access policy of \"{}\" would be {bytes} bytes; SQS allows at most {MAX_POLICY_BYTES}, so remove or merge grants",
                queue.key
            ));
        }
        let statements = policy["Statement"].as_array().map_or(0, Vec::len);
        if statements > MAX_POLICY_STATEMENTS {
            self.queue_error(queue, &["grants"], format!(
                "the access policy of \"{}\" would have {statements} statements; SQS allows at most {MAX_POLICY_STATEMENTS}, so merge grants",
                queue.key
            ));
        }
        Some(policy)
    }

    /// Checks one grant's required elements and lints it. Returns whether it is well formed.
    fn check_grant(
        &mut self,
        queue: &ParsedQueue,
        path: &YamlPath,
        label: &str,
        grant: &Map<String, Value>,
    ) -> bool {
        let effect = grant.get("Effect").and_then(Value::as_str);
        let mut valid = true;
        if !matches!(effect, Some("Allow" | "Deny")) {
            self.queue_error_at(
                queue,
                path,
                format!("{label} needs Effect: Allow or Effect: Deny"),
            );
            valid = false;
        }
        if !grant.contains_key("Principal") && !grant.contains_key("NotPrincipal") {
            self.queue_error_at(queue, path, format!(
                "{label} has no Principal: a queue policy statement must name whom it applies to, for example Principal: {{AWS: \"111122223333\"}}"
            ));
            valid = false;
        }
        if !grant.contains_key("Action") && !grant.contains_key("NotAction") {
            self.queue_error_at(
                queue,
                path,
                format!("{label} has no Action: list the SQS actions it allows or denies"),
            );
            valid = false;
        }
        if effect != Some("Allow") {
            return valid;
        }

        if is_anyone(grant.get("Principal")) && !has_narrowing_condition(grant.get("Condition")) {
            self.queue_error_at(queue, &path.key("Principal"), format!(
                "{label} allows any principal (\"*\") with no condition that narrows it, so anyone who learns the queue URL could use the queue; name the principals, or add a condition on aws:SourceArn, aws:SourceAccount or aws:PrincipalOrgID"
            ));
        }
        let broad = strings(grant.get("Action"))
            .into_iter()
            .find(|action| action == "*" || action.eq_ignore_ascii_case("sqs:*"));
        if let Some(action) = broad {
            self.queue_error_at(queue, &path.key("Action"), format!(
                "{label} allows \"{action}\", which includes DeleteQueue, PurgeQueue and SetQueueAttributes; list only the actions the principal needs, such as sqs:SendMessage"
            ));
        } else if let Some(action) = strings(grant.get("Action"))
            .into_iter()
            .find(|action| is_writing_wildcard(action))
        {
            self.queue_error_at(queue, &path.key("Action"), format!(
                "{label} allows the wildcard action \"{action}\", which can match more than intended; list the exact actions, such as sqs:SendMessage"
            ));
        }
        if grant.contains_key("NotPrincipal") {
            self.queue_error_at(queue, &path.key("NotPrincipal"), format!(
                "{label} allows NotPrincipal, which grants every principal except the ones named; name the principals under Principal instead"
            ));
        }
        if grant.contains_key("NotAction") {
            self.queue_error_at(queue, &path.key("NotAction"), format!(
                "{label} allows NotAction, which grants every action except the ones named, DeleteQueue and PurgeQueue among them; list the actions under Action instead"
            ));
        }
        valid
    }

    /// Builds the managed IAM policy of every service that produces or consumes, and of the
    /// operators role, checking each role mapping, KMS key and policy size.
    pub(super) fn service_policies(
        &mut self,
        settings: &Settings,
        spec: &RawSpec,
        overlay: &RawEnvironment,
        parsed: &[ParsedQueue],
        queues: &[DesiredQueue],
        publishers: &std::collections::BTreeMap<String, Vec<String>>,
    ) -> Vec<ServicePolicy> {
        let declared: Vec<&str> = spec.services.keys().map(String::as_str).collect();
        for (service, role) in &overlay.services {
            let path = YamlPath::keys(["services", service.as_str()]);
            if !declared.contains(&service.as_str()) {
                let message = match suggest(service, &declared) {
                    Some(suggestion) => format!(
                        "role for unknown service \"{service}\"; did you mean \"{suggestion}\"?"
                    ),
                    None => format!(
                        "role for unknown service \"{service}\": the spec declares no such service"
                    ),
                };
                self.key_error(ENVIRONMENT_FILE, path, message);
            } else if !is_role_name(role) {
                self.error(ENVIRONMENT_FILE, path, format!("invalid role name \"{role}\": IAM role names are 1 to {MAX_ROLE_NAME_LENGTH} characters of letters, digits and +=,.@_-"));
            }
        }
        if let Some(role) = overlay
            .operators_role
            .as_deref()
            .filter(|role| !is_role_name(role))
        {
            self.error(ENVIRONMENT_FILE, YamlPath::keys(["operators_role"]), format!("invalid role name \"{role}\": IAM role names are 1 to {MAX_ROLE_NAME_LENGTH} characters of letters, digits and +=,.@_-"));
        }

        let mut reported_keys = BTreeSet::new();
        let mut policies = Vec::new();
        for service in &declared {
            let mut grants = Grants::default();
            grants
                .publish_topics
                .extend(publishers.get(*service).cloned().unwrap_or_default());
            for queue in queues {
                let produces = queue.producers.contains(*service);
                let consumes = queue.consumers.contains(*service);
                if produces {
                    grants.produce_queues.insert(queue.arn.clone());
                }
                if consumes {
                    grants.consume_queues.insert(queue.arn.clone());
                }
                if (produces || consumes)
                    && let Some(key) = self.iam_key(queue, parsed, settings, &mut reported_keys)
                {
                    if produces {
                        grants.produce_keys.insert(key.clone());
                    }
                    if consumes {
                        grants.consume_keys.insert(key);
                    }
                }
            }
            let Some(document) = generate::service_policy(&grants) else {
                self.report(Severity::Warning, &Origin { file: SPEC_FILE, path: YamlPath::keys(["services", service]) }, true,
                    format!("service \"{service}\" neither produces to, consumes from nor publishes to anything, so it gets no IAM policy"));
                continue;
            };
            let Some(role) = overlay.services.get(*service) else {
                self.error(ENVIRONMENT_FILE, YamlPath::default(), format!(
                    "service \"{service}\" has no IAM role in this environment; add it under services:, for example {service}: {}{service}",
                    settings.prefix
                ));
                continue;
            };
            if let Some(mut policy) = self.managed_policy(settings, service, role, document) {
                policy.description = spec
                    .services
                    .get(*service)
                    .cloned()
                    .flatten()
                    .and_then(|entry| entry.description);
                policies.push(policy);
            }
        }

        if let Some(role) = &overlay.operators_role {
            let grants = self.operator_grants(queues, parsed, settings, &mut reported_keys);
            if let Some(document) = generate::operators_policy(&grants)
                && let Some(policy) = self.managed_policy(settings, OPERATORS, role, document)
            {
                policies.push(policy);
            }
        }
        policies
    }

    fn operator_grants(
        &mut self,
        queues: &[DesiredQueue],
        parsed: &[ParsedQueue],
        settings: &Settings,
        reported_keys: &mut BTreeSet<String>,
    ) -> OperatorGrants {
        let mut grants = OperatorGrants::default();
        for queue in queues.iter().filter(|queue| queue.is_dead_letter_target) {
            grants.dead_letter_queues.insert(queue.arn.clone());
            if let Some(key) = self.iam_key(queue, parsed, settings, reported_keys) {
                grants.dead_letter_keys.insert(key);
            }
        }
        for queue in queues {
            let Some(redrive) = &queue.attributes.redrive_policy else {
                continue;
            };
            if !grants
                .dead_letter_queues
                .contains(&redrive.dead_letter_target_arn)
            {
                continue;
            }
            grants.source_queues.insert(queue.arn.clone());
            if let Some(key) = self.iam_key(queue, parsed, settings, reported_keys) {
                grants.source_keys.insert(key);
            }
        }
        grants
    }

    /// Returns the KMS key ARN of an SSE-KMS queue for IAM grants, reporting an alias once, at
    /// the place the key is written.
    fn iam_key(
        &mut self,
        queue: &DesiredQueue,
        parsed: &[ParsedQueue],
        settings: &Settings,
        reported: &mut BTreeSet<String>,
    ) -> Option<String> {
        let Encryption::SseKms { key, .. } = &queue.attributes.encryption else {
            return None;
        };
        if let Some(arn) = kms_key_arn(key, settings) {
            return Some(arn);
        }
        if reported.insert(key.clone()) {
            let owner = match &queue.role {
                QueueRole::DeadLetter { source } => source.clone(),
                QueueRole::Declared => queue.key.clone(),
            };
            // A derived dead-letter queue takes its key from its source. A key that no layer
            // of the queue sets comes from the environment's kms_key.
            let written_for_queue = parsed.iter().find(|candidate| {
                candidate.key == owner
                    && candidate
                        .raw
                        .as_ref()
                        .and_then(|raw| raw.encryption.as_ref())
                        .is_some_and(|encryption| encryption.kms_key.is_some())
            });
            let origin = match written_for_queue {
                Some(written) => written
                    .merged
                    .origin(&YamlPath::keys(["encryption", "kms_key"])),
                None => Origin {
                    file: ENVIRONMENT_FILE,
                    path: YamlPath::keys(["kms_key"]),
                },
            };
            self.report(Severity::Error, &origin, false, format!(
                "KMS key \"{key}\" of queue \"{owner}\" is not a key ARN or key id; IAM grants for the queue's services must name the key ARN (arn:aws:kms:<region>:<account>:key/<key id>), because IAM does not match aliases in Resource"
            ));
        }
        None
    }

    fn managed_policy(
        &mut self,
        settings: &Settings,
        service: &str,
        role: &str,
        document: Value,
    ) -> Option<ServicePolicy> {
        let size = generate::iam_policy_size(&document);
        let path = if service == OPERATORS {
            YamlPath::keys(["operators_role"])
        } else {
            YamlPath::keys(["services", service])
        };
        let file = if service == OPERATORS {
            ENVIRONMENT_FILE
        } else {
            SPEC_FILE
        };
        if size > MAX_IAM_POLICY_CHARACTERS {
            // NOTE: one operators policy covers every dead-letter queue, so an environment with
            // more than about 49 of them cannot have an operators role until the policy splits.
            let advice = if service == OPERATORS {
                "the operators policy names every dead-letter queue and its source, so leave operators_role out of this environment or give it fewer dead-letter queues"
            } else {
                "so give the service fewer queues or split it into two services"
            };
            self.key_error(file, path.clone(), format!(
                "the IAM policy of service \"{service}\" would be {size} characters without white space; IAM allows at most {MAX_IAM_POLICY_CHARACTERS} for a managed policy, {advice}"
            ));
            return None;
        }
        let name = format!("{}{service}", settings.prefix);
        if name.chars().count() > MAX_IAM_POLICY_NAME_LENGTH {
            self.key_error(file, path, format!("IAM policy name \"{name}\" is longer than {MAX_IAM_POLICY_NAME_LENGTH} characters; shorten the service name or the environment prefix"));
            return None;
        }
        let iam_path = iam_path(settings);
        let mut tags = model::ownership_tags(&settings.project, &settings.environment);
        tags.insert("sqsform:service".to_string(), service.to_string());
        Some(ServicePolicy {
            service: service.to_string(),
            description: None,
            role: role.to_string(),
            arn: model::policy_arn(&settings.region, &settings.account_id, &iam_path, &name),
            name,
            document,
            tags,
        })
    }
}

#[cfg(test)]
#[path = "access_tests.rs"]
mod tests;
