//! One module per subcommand, plus what they share: loading the spec, connecting to AWS with
//! the account check, reading live state and the exit status.

mod apply;
mod drift;
mod outputs;
mod plan;
mod validate;

use std::io::Write;

pub use apply::apply;
pub use drift::drift;
pub use outputs::outputs;
pub use plan::plan;
pub use validate::validate;

use crate::cloud::aws::AwsCloud;
use crate::cloud::{self, ApiCalls, Cloud, CloudError};
use crate::cloud::{Attributes, Tags};
use crate::model::DesiredState;
use crate::plan::Plan;
use crate::plan::alarms::ObservedAlarm;
use crate::plan::topics::{ObservedSubscription, ObservedTopic};
use crate::render::Style;
use crate::spec::{self, Diagnostic, SpecError, SpecPaths};

/// The result of a command that ran to the end; errors are a separate `Err`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Exit 0.
    Success,
    /// Exit 2: a plan with changes (under --detailed-exitcode) or drift.
    Changes,
}

/// Errors of the commands.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The spec could not be loaded; diagnostics were already printed.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// An AWS call failed.
    #[error(transparent)]
    Cloud(#[from] CloudError),
    /// The credentials belong to another account than the environment names.
    #[error(
        "environment {environment} is for account {expected}, but the credentials are for account {actual}; use credentials or a role of account {expected}"
    )]
    WrongAccount {
        environment: String,
        expected: String,
        actual: String,
    },
    /// apply needs a confirmation that cannot be asked for.
    #[error(
        "apply needs confirmation, but standard input is not a terminal; pass --auto-approve to apply without a prompt"
    )]
    NoTerminal,
    /// The person at the terminal did not confirm.
    #[error("apply cancelled: the answer was not \"yes\"")]
    Cancelled,
    /// apply refused or failed.
    #[error(transparent)]
    Apply(#[from] crate::apply::ApplyError),
    /// After apply, AWS still differs from the spec when the wait ends.
    #[error("apply finished, but after {waited_seconds}s AWS still differs from the spec (SQS can take up to 60 s to show a change, and another process changing these queues has the same effect): {}", .pending.join("; "))]
    NotConverged {
        waited_seconds: u64,
        pending: Vec<String>,
    },
    /// Some spec queues do not exist, so their outputs are unknown.
    #[error("queues missing in AWS: {}; run sqsform apply --env {environment} first", .missing.join(", "))]
    MissingQueues {
        environment: String,
        missing: Vec<String>,
    },
    /// Some spec topics do not exist, so their ARNs cannot be printed as outputs.
    #[error("topics missing in AWS: {}; run sqsform apply --env {environment} first", .missing.join(", "))]
    MissingTopics {
        environment: String,
        missing: Vec<String>,
    },
    /// Two spec queue or topic names map to the same environment variable.
    #[error(
        "{kind} \"{first}\" and \"{second}\" both map to the variable {variable}; rename one of them, or use --format json"
    )]
    OutputCollision {
        kind: &'static str,
        variable: String,
        first: String,
        second: String,
    },
    /// IAM roles named in the environment file do not exist.
    #[error("IAM role(s) {} named in environments/{environment}.yaml do not exist in account {account_id}; create them, or fix the role names under services: or operators_role", .roles.join(", "))]
    MissingRoles {
        environment: String,
        account_id: String,
        roles: Vec<String>,
    },
    /// Writing output failed.
    #[error("failed to write output")]
    Io(#[from] std::io::Error),
}

/// The settings and output streams every command gets from `main`.
pub struct Context<'a> {
    pub paths: SpecPaths,
    pub style: Style,
    /// Print API call counts and other details on stderr.
    pub verbose: bool,
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
}

/// Loads the spec for `environment`, printing warnings on stderr.
pub(crate) fn load_spec(
    context: &mut Context<'_>,
    environment: &str,
) -> Result<DesiredState, CommandError> {
    match spec::load(&context.paths, environment) {
        Ok(loaded) => {
            print_diagnostics(context.stderr, &loaded.warnings)?;
            Ok(loaded.desired)
        }
        Err(SpecError::Invalid { diagnostics }) => {
            print_diagnostics(context.stderr, &diagnostics)?;
            Err(SpecError::Invalid { diagnostics }.into())
        }
        Err(other) => Err(other.into()),
    }
}

/// Prints diagnostics, one per line, on stderr.
pub(crate) fn print_diagnostics(
    stderr: &mut dyn Write,
    diagnostics: &[Diagnostic],
) -> std::io::Result<()> {
    for diagnostic in diagnostics {
        let label = match diagnostic.severity {
            spec::Severity::Error => "error",
            spec::Severity::Warning => "warning",
        };
        writeln!(stderr, "{label}: {diagnostic}")?;
    }
    Ok(())
}

/// Connects to AWS for the environment and checks that the credentials are for its account.
pub(crate) async fn connect(desired: &DesiredState) -> Result<AwsCloud, CommandError> {
    let cloud = AwsCloud::connect(&desired.region, &desired.connection).await?;
    check_account(&cloud, desired).await?;
    Ok(cloud)
}

/// Fails when the caller's account is not the environment's.
pub async fn check_account<C: Cloud>(
    cloud: &C,
    desired: &DesiredState,
) -> Result<(), CommandError> {
    let actual = cloud.caller_account().await?;
    if actual != desired.account_id {
        return Err(CommandError::WrongAccount {
            environment: desired.environment.clone(),
            expected: desired.account_id.clone(),
            actual,
        });
    }
    Ok(())
}

/// Reads the live queues and managed policies of the environment and diffs them against the
/// spec.
///
/// Calls: one ListQueues page per 1,000 queues and two calls per queue; one ListPolicies page
/// per 100 policies and two calls per policy. Only a plan with IAM changes adds calls: the
/// versions of each policy whose document changes or that is deleted, and GetRole for each
/// role a policy is newly attached to.
///
/// Errors with [`CommandError::MissingRoles`] when a role to attach does not exist.
pub async fn build_plan<C: Cloud>(
    cloud: &C,
    desired: &DesiredState,
    parallelism: usize,
) -> Result<Plan, CommandError> {
    let dashboard_name = crate::model::dashboard_name(&desired.prefix);
    let (queues, policies, alarms, dashboard, topics) = futures::join!(
        cloud::read_queues(cloud, &desired.prefix, parallelism),
        cloud::read_policies(cloud, &desired.iam_path, parallelism),
        read_alarms(cloud, &desired.prefix, parallelism),
        cloud.get_dashboard(&dashboard_name),
        read_topics(cloud, desired)
    );
    let mut plan = crate::plan::diff(desired, &queues?);
    let mut policy_changes = crate::plan::iam::diff_policies(desired, &policies?);

    let mut versions = std::collections::BTreeMap::new();
    for arn in crate::plan::iam::policies_needing_versions(&policy_changes) {
        let listed = cloud.list_policy_versions(&arn).await?;
        versions.insert(arn, listed);
    }
    crate::plan::iam::add_version_steps(&mut policy_changes, &versions);

    let mut missing = Vec::new();
    for role in crate::plan::iam::roles_to_attach(&policy_changes) {
        if !cloud.role_exists(&role).await? {
            missing.push(role);
        }
    }
    if !missing.is_empty() {
        return Err(CommandError::MissingRoles {
            environment: desired.environment.clone(),
            account_id: desired.account_id.clone(),
            roles: missing,
        });
    }

    plan.set_policies(policy_changes);
    let (alarm_changes, unmanaged_alarms) = crate::plan::alarms::diff_alarms(desired, &alarms?);
    let dashboard_change =
        crate::plan::alarms::diff_dashboard(desired, &dashboard_name, dashboard?.as_deref());
    plan.set_monitoring(alarm_changes, unmanaged_alarms, dashboard_change);
    plan.topics = crate::plan::topics::diff_topics(desired, &topics?);
    Ok(plan)
}

/// Reads each desired topic by its ARN: attributes, tags, subscriptions and the attributes of
/// each subscription. Topics are read one after another; an environment has few.
async fn read_topics<C: Cloud>(
    cloud: &C,
    desired: &DesiredState,
) -> Result<Vec<ObservedTopic>, CloudError> {
    let mut observed = Vec::new();
    for topic in &desired.topics {
        let Some(attributes) = cloud.get_topic_attributes(&topic.arn).await? else {
            observed.push(ObservedTopic {
                arn: topic.arn.clone(),
                attributes: None,
                tags: Tags::new(),
                subscriptions: Vec::new(),
            });
            continue;
        };
        let tags = cloud.list_topic_tags(&topic.arn).await?;
        let mut subscriptions = Vec::new();
        for listed in cloud.list_subscriptions_by_topic(&topic.arn).await? {
            let attributes = cloud.get_subscription_attributes(&listed.arn).await?;
            subscriptions.push(ObservedSubscription {
                arn: listed.arn,
                protocol: listed.protocol,
                endpoint: listed.endpoint,
                attributes,
            });
        }
        observed.push(ObservedTopic {
            arn: topic.arn.clone(),
            attributes: Some(attributes),
            tags,
            subscriptions,
        });
    }

    // Topics with the prefix that the spec no longer declares: read their tags, and the
    // subscriptions of the owned ones, so the plan can remove them.
    let desired_arns: Vec<&str> = desired
        .topics
        .iter()
        .map(|topic| topic.arn.as_str())
        .collect();
    for arn in cloud.list_topics().await? {
        let name = arn.rsplit(':').next().unwrap_or_default();
        if !name.starts_with(&desired.prefix) || desired_arns.contains(&arn.as_str()) {
            continue;
        }
        let tags = cloud.list_topic_tags(&arn).await?;
        if !crate::plan::is_owned(&tags, &desired.project, &desired.environment) {
            continue;
        }
        let mut subscriptions = Vec::new();
        for listed in cloud.list_subscriptions_by_topic(&arn).await? {
            subscriptions.push(ObservedSubscription {
                arn: listed.arn,
                protocol: listed.protocol,
                endpoint: listed.endpoint,
                attributes: Attributes::new(),
            });
        }
        observed.push(ObservedTopic {
            arn,
            attributes: Some(Attributes::new()),
            tags,
            subscriptions,
        });
    }
    Ok(observed)
}

/// Reads the alarms whose names start with `prefix`, in pages of 100, and the tags of each.
async fn read_alarms<C: Cloud>(
    cloud: &C,
    prefix: &str,
    parallelism: usize,
) -> Result<Vec<ObservedAlarm>, CloudError> {
    use futures::stream::{self, StreamExt, TryStreamExt};

    let live = cloud.describe_alarms(prefix).await?;
    let reads = live.into_iter().map(|live| async move {
        let tags = cloud.list_alarm_tags(&live.arn).await?;
        Ok::<ObservedAlarm, CloudError>(ObservedAlarm {
            arn: live.arn,
            alarm: live.alarm,
            tags,
        })
    });
    let mut observed: Vec<ObservedAlarm> = stream::iter(reads)
        .buffer_unordered(parallelism.max(1))
        .try_collect()
        .await?;
    observed.sort_by(|left, right| left.alarm.name.cmp(&right.alarm.name));
    Ok(observed)
}
/// Writes the API call counts on stderr as one line.
pub(crate) fn print_api_calls(stderr: &mut dyn Write, calls: &ApiCalls) -> std::io::Result<()> {
    let parts: Vec<String> = calls
        .by_operation
        .iter()
        .map(|(operation, count)| format!("{operation} {count}"))
        .collect();
    writeln!(stderr, "API calls: {} ({})", calls.total, parts.join(", "))
}
