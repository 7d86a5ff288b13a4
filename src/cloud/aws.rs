//! [`Cloud`] over the AWS SDK for Rust.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_cloudwatch::operation::put_dashboard::PutDashboardError;
use aws_sdk_cloudwatch::types::{
    self as cloudwatch_types, AlarmType, ComparisonOperator, Dimension, StandardUnit, Statistic,
};
use aws_sdk_iam::types::{PolicyScopeType, Tag};
use aws_sdk_sqs::config::{
    Credentials, Intercept, Region, RuntimeComponents, SharedCredentialsProvider,
};
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::operation::RequestId;
use aws_sdk_sqs::types::QueueAttributeName;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::ConfigBag;

use super::{
    Attributes, CallCounter, Cloud, CloudError, LiveAlarm, ManagedPolicy, MetricAlarm,
    PolicyVersion, Tags, TopicSubscription, queue_name_from_url,
};
use crate::model::Connection;

/// Attempts per request, the first included, before a throttled or transient failure is final.
const MAX_ATTEMPTS: u32 = 5;
/// Time to open a connection before the attempt fails and is retried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time one attempt may take, so an endpoint that accepts connections but never responds
/// cannot stall a CI job.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);
/// Time one call may take across all its attempts.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest page ListQueues returns.
const LIST_PAGE_SIZE: i32 = 1_000;
/// The page size of the IAM listings (MaxItems). IAM allows up to 1,000.
const IAM_PAGE_SIZE: i32 = 100;
/// The largest page DescribeAlarms returns (MaxRecords).
const ALARM_PAGE_SIZE: i32 = 100;
/// The maximum number of alarm names in one DeleteAlarms request.
const DELETE_ALARMS_BATCH: usize = 100;
/// The description of every policy sqsform creates. IAM cannot change a description later.
const POLICY_DESCRIPTION: &str =
    "Managed by sqsform. Change it in the sqsform spec, because sqsform overwrites other edits.";
/// Error codes AWS uses for throttling, in the JSON and query protocols. CloudWatch's and
/// SNS's query protocol use `Throttling`, and SNS's modelled ThrottledException has the code
/// `Throttled`.
const THROTTLING_CODES: &[&str] = &[
    "RequestThrottled",
    "ThrottlingException",
    "Throttling",
    "Throttled",
    "AWS.SimpleQueueService.RequestThrottled",
];
/// The text of SNS's InvalidParameter error when CreateTopic or Subscribe finds an existing
/// topic or subscription with other attributes or tags, as in "Invalid parameter: Attributes
/// Reason: Topic already exists with different attributes".
const SNS_CONFLICT_TEXT: &str = "already exists with different";
/// The data type of every message attribute sqsform publishes.
const MESSAGE_ATTRIBUTE_TYPE: &str = "String";

/// The AWS SDK clients of one environment and their request counter.
#[derive(Clone, Debug)]
pub struct AwsCloud {
    sqs: aws_sdk_sqs::Client,
    sts: aws_sdk_sts::Client,
    iam: aws_sdk_iam::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
    sns: aws_sdk_sns::Client,
    calls: Arc<CallCounter>,
    /// Endpoint the requests go to, for messages: the override, or the AWS endpoint of the region.
    endpoint: String,
}

/// A failed AWS call in readable form: the error code, message and request id, or what kept
/// the request from reaching AWS. The SDK error is kept for callers that need the details; it
/// is not a `source`, so the cause is printed once.
#[derive(Debug)]
pub struct AwsFailure {
    detail: String,
    sdk_error: super::BoxError,
}

impl AwsFailure {
    /// Returns the SDK error behind this failure.
    pub fn sdk_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self.sdk_error.as_ref()
    }
}

impl std::fmt::Display for AwsFailure {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.detail)
    }
}

impl std::error::Error for AwsFailure {}

/// Counts each request attempt by service and operation, before it is sent.
#[derive(Debug)]
struct CountRequests {
    calls: Arc<CallCounter>,
}

impl Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "sqsform::CountRequests"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        config: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if let Some(metadata) = config.load::<Metadata>() {
            self.calls.record(metadata.service(), metadata.name());
        }
        Ok(())
    }
}

/// Returns the endpoint requests go to: `AWS_ENDPOINT_URL` when set, as in the AWS SDKs,
/// otherwise the environment file's `endpoint_url`.
pub fn effective_endpoint(connection: &Connection) -> Option<String> {
    std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|value| !value.trim().is_empty())
        .or_else(|| connection.endpoint_url.clone())
}

impl AwsCloud {
    /// Builds the clients from the standard credential chain (environment, profiles, web
    /// identity), then assumes `role_arn` when the environment names one.
    ///
    /// Every client uses the endpoint override when there is one. Without it, IAM requests go
    /// to the global IAM endpoint of the region's partition, which the SDK resolves.
    ///
    /// Errors when emulator credentials are requested but the effective endpoint is not on
    /// loopback, so dummy credentials never reach a real AWS endpoint.
    pub async fn connect(region: &str, connection: &Connection) -> Result<AwsCloud, CloudError> {
        let endpoint = effective_endpoint(connection);
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            );
        if let Some(endpoint) = &endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        if connection.emulator_credentials {
            let loopback = endpoint
                .as_deref()
                .is_some_and(crate::spec::is_loopback_url);
            if !loopback {
                return Err(CloudError::Configuration(format!(
                    "emulator_credentials is set but the endpoint {} is not on loopback; unset AWS_ENDPOINT_URL or point it at the local emulator",
                    endpoint.as_deref().unwrap_or("(AWS default)")
                )));
            }
            loader = loader.credentials_provider(Credentials::new(
                "testing",
                "testing",
                None,
                None,
                "sqsform-emulator",
            ));
        }
        let mut config = loader.load().await;

        if let Some(role_arn) = &connection.role_arn {
            let provider = AssumeRoleProvider::builder(role_arn)
                .session_name("sqsform")
                .configure(&config)
                .build()
                .await;
            config = config
                .into_builder()
                .credentials_provider(SharedCredentialsProvider::new(provider))
                .build();
        }

        let endpoint = endpoint.unwrap_or_else(|| format!("the AWS endpoints of {region}"));
        Ok(AwsCloud::from_config(&config, endpoint))
    }

    /// Builds one client per service from `config`, each counting its requests in one shared
    /// counter. `endpoint` is where requests go, for error messages.
    fn from_config(config: &SdkConfig, endpoint: String) -> AwsCloud {
        let calls = Arc::new(CallCounter::default());
        let sqs_config = aws_sdk_sqs::config::Builder::from(config)
            .interceptor(CountRequests {
                calls: calls.clone(),
            })
            .build();
        let sts_config = aws_sdk_sts::config::Builder::from(config)
            .interceptor(CountRequests {
                calls: calls.clone(),
            })
            .build();
        let iam_config = aws_sdk_iam::config::Builder::from(config)
            .interceptor(CountRequests {
                calls: calls.clone(),
            })
            .build();
        let cloudwatch_config = aws_sdk_cloudwatch::config::Builder::from(config)
            .interceptor(CountRequests {
                calls: calls.clone(),
            })
            .build();
        let sns_config = aws_sdk_sns::config::Builder::from(config)
            .interceptor(CountRequests {
                calls: calls.clone(),
            })
            .build();
        AwsCloud {
            sqs: aws_sdk_sqs::Client::from_conf(sqs_config),
            sts: aws_sdk_sts::Client::from_conf(sts_config),
            iam: aws_sdk_iam::Client::from_conf(iam_config),
            cloudwatch: aws_sdk_cloudwatch::Client::from_conf(cloudwatch_config),
            sns: aws_sdk_sns::Client::from_conf(sns_config),
            calls,
            endpoint,
        }
    }

    /// Maps an SDK error to a [`CloudError`] whose source reads as the AWS error code and
    /// message, or as the reason the request did not reach the endpoint.
    fn api_error<E>(
        &self,
        operation: &'static str,
        error: SdkError<E, aws_smithy_runtime_api::http::Response>,
    ) -> CloudError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let throttled = error
            .code()
            .is_some_and(|code| THROTTLING_CODES.contains(&code));
        let detail = match &error {
            SdkError::ServiceError(_) => {
                let code = error.code().unwrap_or("unknown error code");
                let message = error.message().unwrap_or("no message");
                match error.request_id() {
                    Some(request_id) => format!("{code}: {message} (request id {request_id})"),
                    None => format!("{code}: {message}"),
                }
            }
            SdkError::TimeoutError(_) => format!("timed out waiting for {}", self.endpoint),
            SdkError::DispatchFailure(_) => {
                let hint = if crate::spec::is_loopback_url(&self.endpoint) {
                    "; is the local emulator running? Start it with scripts/local-aws start"
                } else {
                    ""
                };
                format!(
                    "could not reach {}: {}{hint}",
                    self.endpoint,
                    super::error_chain(&error)
                )
            }
            _ => DisplayErrorContext(&error).to_string(),
        };
        let source: super::BoxError = Box::new(AwsFailure {
            detail,
            sdk_error: Box::new(error),
        });
        if throttled {
            CloudError::Throttled { operation, source }
        } else {
            CloudError::Api { operation, source }
        }
    }

    /// Returns the SQS client, for tests that write state out of band.
    pub fn sqs_client(&self) -> &aws_sdk_sqs::Client {
        &self.sqs
    }

    /// Returns the SNS client, for tests that write state out of band.
    pub fn sns_client(&self) -> &aws_sdk_sns::Client {
        &self.sns
    }
}

fn not_found(url: &str) -> CloudError {
    CloudError::QueueNotFound {
        queue: queue_name_from_url(url).to_string(),
    }
}

/// Returns an error for a response that lacks a field the IAM API always sends.
fn missing_field(operation: &'static str, field: &str) -> CloudError {
    CloudError::Api {
        operation,
        source: format!("the response has no {field}").into(),
    }
}

/// Returns the marker of the next page of an IAM listing, or `None` after the last page.
///
/// Errors when IAM reports a truncated listing without a marker, because the listing would
/// otherwise end early without a sign.
fn next_marker(
    operation: &'static str,
    is_truncated: bool,
    marker: Option<String>,
) -> Result<Option<String>, CloudError> {
    match marker {
        _ if !is_truncated => Ok(None),
        Some(marker) if !marker.is_empty() => Ok(Some(marker)),
        _ => Err(missing_field(operation, "Marker for a truncated listing")),
    }
}

/// Returns IAM's message of a service error, for the variants that keep it.
fn iam_message(error: &impl ProvideErrorMetadata) -> String {
    error
        .message()
        .unwrap_or("IAM returned no message")
        .to_string()
}

/// Maps a NoSuchEntity error of AttachRolePolicy or DetachRolePolicy to `policy_missing` when
/// IAM's message names the policy ARN, and otherwise to a missing role.
///
/// NOTE: the modelled error does not say which entity is missing, so this reads the message.
/// For a missing policy, AttachRolePolicy on AWS returns "Policy <ARN> does not exist or is not
/// attachable." and a missing role's message names only the role. moto 5.2.5 also names the
/// ARN when DetachRolePolicy finds the policy not attached, but AWS's text for that case is
/// unchecked.
fn missing_role_or(
    message: &str,
    role: &str,
    policy_arn: &str,
    policy_missing: CloudError,
) -> CloudError {
    if message.contains(policy_arn) {
        policy_missing
    } else {
        CloudError::IamNotFound {
            kind: "role",
            name: role.to_string(),
        }
    }
}

/// Converts a policy of a ListPolicies page.
fn managed_policy(policy: aws_sdk_iam::types::Policy) -> Result<ManagedPolicy, CloudError> {
    const OPERATION: &str = "iam:ListPolicies";
    Ok(ManagedPolicy {
        arn: policy
            .arn
            .ok_or_else(|| missing_field(OPERATION, "Arn of a policy"))?,
        name: policy
            .policy_name
            .ok_or_else(|| missing_field(OPERATION, "PolicyName of a policy"))?,
        path: policy
            .path
            .ok_or_else(|| missing_field(OPERATION, "Path of a policy"))?,
        default_version_id: policy
            .default_version_id
            .ok_or_else(|| missing_field(OPERATION, "DefaultVersionId of a policy"))?,
    })
}

/// Converts a version of a ListPolicyVersions page.
fn policy_version(version: aws_sdk_iam::types::PolicyVersion) -> Result<PolicyVersion, CloudError> {
    const OPERATION: &str = "iam:ListPolicyVersions";
    Ok(PolicyVersion {
        version_id: version
            .version_id
            .ok_or_else(|| missing_field(OPERATION, "VersionId of a version"))?,
        is_default: version.is_default_version,
        created_epoch_seconds: version
            .create_date
            .ok_or_else(|| missing_field(OPERATION, "CreateDate of a version"))?
            .secs(),
    })
}

/// Converts a metric alarm of a DescribeAlarms page. Fields the alarm lacks, as an alarm on a
/// metric math expression does, read as empty strings and zeros.
fn live_alarm(alarm: cloudwatch_types::MetricAlarm) -> Result<LiveAlarm, CloudError> {
    const OPERATION: &str = "cloudwatch:DescribeAlarms";
    let name = alarm
        .alarm_name
        .ok_or_else(|| missing_field(OPERATION, "AlarmName of an alarm"))?;
    let arn = alarm
        .alarm_arn
        .ok_or_else(|| missing_field(OPERATION, "AlarmArn of an alarm"))?;
    let mut dimensions = BTreeMap::new();
    for dimension in alarm.dimensions.unwrap_or_default() {
        let (Some(dimension_name), Some(value)) = (dimension.name, dimension.value) else {
            return Err(missing_field(OPERATION, "Name or Value of a dimension"));
        };
        dimensions.insert(dimension_name, value);
    }

    let definition = MetricAlarm {
        name,
        description: alarm.alarm_description,
        namespace: alarm.namespace.unwrap_or_default(),
        metric_name: alarm.metric_name.unwrap_or_default(),
        dimensions,
        statistic: alarm
            .statistic
            .map(|statistic| statistic.as_str().to_string()),
        extended_statistic: alarm.extended_statistic,
        period_seconds: alarm.period.unwrap_or_default(),
        evaluation_periods: alarm.evaluation_periods.unwrap_or_default(),
        datapoints_to_alarm: alarm.datapoints_to_alarm,
        threshold: alarm.threshold.unwrap_or_default(),
        comparison_operator: alarm
            .comparison_operator
            .map(|operator| operator.as_str().to_string())
            .unwrap_or_default(),
        treat_missing_data: alarm.treat_missing_data,
        alarm_actions: alarm.alarm_actions.unwrap_or_default(),
        ok_actions: alarm.ok_actions.unwrap_or_default(),
        insufficient_data_actions: alarm.insufficient_data_actions.unwrap_or_default(),
        // CloudWatch sends ActionsEnabled for every alarm. An alarm without it runs its actions.
        actions_enabled: alarm.actions_enabled.unwrap_or(true),
        unit: alarm.unit.map(|unit| unit.as_str().to_string()),
    };
    Ok(LiveAlarm {
        arn,
        alarm: definition,
    })
}

/// Returns CloudWatch's dashboard validation messages as `path: message` lines.
fn dashboard_messages(messages: &[cloudwatch_types::DashboardValidationMessage]) -> Vec<String> {
    messages
        .iter()
        .map(|message| {
            let text = message.message().unwrap_or("no message");
            match message.data_path() {
                Some(path) if !path.is_empty() => format!("{path}: {text}"),
                _ => text.to_string(),
            }
        })
        .collect()
}

/// Returns the key-value tags of a CloudWatch request.
fn cloudwatch_tags(tags: &Tags) -> Vec<cloudwatch_types::Tag> {
    tags.iter()
        .map(|(key, value)| {
            cloudwatch_types::Tag::builder()
                .key(key)
                .value(value)
                .build()
        })
        .collect()
}

/// Returns the key-value tags of an SNS request.
fn sns_tags(
    operation: &'static str,
    tags: &Tags,
) -> Result<Vec<aws_sdk_sns::types::Tag>, CloudError> {
    tags.iter()
        .map(|(key, value)| {
            aws_sdk_sns::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|error| CloudError::Api {
                    operation,
                    source: Box::new(error),
                })
        })
        .collect()
}

/// Returns the attributes of an SNS request, or `None` when there are none, so that the
/// request carries no empty `Attributes` parameter.
fn sns_attributes(attributes: &Attributes) -> Option<std::collections::HashMap<String, String>> {
    if attributes.is_empty() {
        None
    } else {
        Some(attributes.clone().into_iter().collect())
    }
}

/// Checks whether an SNS service error is the InvalidParameter error for an existing topic or
/// subscription with other attributes or tags.
///
/// NOTE: SNS models no error for this case, so this reads the message, matching the text that
/// SNS users quote in bug reports. moto 5.2.5 never returns it, so only unit tests run this
/// path.
fn is_sns_conflict(error: &impl ProvideErrorMetadata) -> bool {
    error.code() == Some("InvalidParameter")
        && error
            .message()
            .is_some_and(|message| message.contains(SNS_CONFLICT_TEXT))
}

fn topic_not_found(topic_arn: &str) -> CloudError {
    CloudError::TopicNotFound {
        topic: topic_arn.to_string(),
    }
}

fn subscription_not_found(subscription_arn: &str) -> CloudError {
    CloudError::SubscriptionNotFound {
        subscription: subscription_arn.to_string(),
    }
}

impl Cloud for AwsCloud {
    async fn caller_account(&self) -> Result<String, CloudError> {
        let output = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|error| self.api_error("sts:GetCallerIdentity", error))?;
        output.account.ok_or_else(|| {
            CloudError::Configuration("STS GetCallerIdentity returned no account".to_string())
        })
    }

    async fn list_queues(&self, prefix: &str) -> Result<Vec<String>, CloudError> {
        let mut urls = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let output = self
                .sqs
                .list_queues()
                .queue_name_prefix(prefix)
                .max_results(LIST_PAGE_SIZE)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| self.api_error("sqs:ListQueues", error))?;
            urls.extend(output.queue_urls.unwrap_or_default());
            match output.next_token {
                Some(token) if !token.is_empty() => next_token = Some(token),
                _ => return Ok(urls),
            }
        }
    }

    async fn get_queue_attributes(&self, url: &str) -> Result<Attributes, CloudError> {
        let result = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await;
        match result {
            Ok(output) => Ok(output
                .attributes
                .unwrap_or_default()
                .into_iter()
                .map(|(name, value)| (name.as_str().to_string(), value))
                .collect()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_queue_does_not_exist()) =>
            {
                Err(not_found(url))
            }
            Err(error) => Err(self.api_error("sqs:GetQueueAttributes", error)),
        }
    }

    async fn list_queue_tags(&self, url: &str) -> Result<Tags, CloudError> {
        let result = self.sqs.list_queue_tags().queue_url(url).send().await;
        match result {
            Ok(output) => Ok(output.tags.unwrap_or_default().into_iter().collect()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_queue_does_not_exist()) =>
            {
                Err(not_found(url))
            }
            Err(error) => Err(self.api_error("sqs:ListQueueTags", error)),
        }
    }

    async fn create_queue(
        &self,
        name: &str,
        attributes: &Attributes,
        tags: &Tags,
    ) -> Result<String, CloudError> {
        let mut request = self.sqs.create_queue().queue_name(name);
        for (key, value) in attributes {
            request = request.attributes(QueueAttributeName::from(key.as_str()), value);
        }
        for (key, value) in tags {
            request = request.tags(key, value);
        }
        match request.send().await {
            Ok(output) => output.queue_url.ok_or_else(|| {
                CloudError::Configuration(format!("CreateQueue returned no URL for {name}"))
            }),
            Err(error) => {
                let service_error = error.as_service_error();
                if service_error.is_some_and(|e| e.is_queue_deleted_recently()) {
                    return Err(CloudError::QueueDeletedRecently {
                        queue: name.to_string(),
                    });
                }
                if service_error.is_some_and(|e| e.is_queue_name_exists()) {
                    return Err(CloudError::QueueAlreadyExists {
                        queue: name.to_string(),
                    });
                }
                Err(self.api_error("sqs:CreateQueue", error))
            }
        }
    }

    async fn set_queue_attributes(
        &self,
        url: &str,
        attributes: &Attributes,
    ) -> Result<(), CloudError> {
        let mut request = self.sqs.set_queue_attributes().queue_url(url);
        for (key, value) in attributes {
            request = request.attributes(QueueAttributeName::from(key.as_str()), value);
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_queue_does_not_exist()) =>
            {
                Err(not_found(url))
            }
            Err(error) => Err(self.api_error("sqs:SetQueueAttributes", error)),
        }
    }

    async fn tag_queue(&self, url: &str, tags: &Tags) -> Result<(), CloudError> {
        let mut request = self.sqs.tag_queue().queue_url(url);
        for (key, value) in tags {
            request = request.tags(key, value);
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_queue_does_not_exist()) =>
            {
                Err(not_found(url))
            }
            Err(error) => Err(self.api_error("sqs:TagQueue", error)),
        }
    }

    async fn untag_queue(&self, url: &str, keys: &[String]) -> Result<(), CloudError> {
        let request = self
            .sqs
            .untag_queue()
            .queue_url(url)
            .set_tag_keys(Some(keys.to_vec()));
        match request.send().await {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_queue_does_not_exist()) =>
            {
                Err(not_found(url))
            }
            Err(error) => Err(self.api_error("sqs:UntagQueue", error)),
        }
    }

    async fn delete_queue(&self, url: &str) -> Result<(), CloudError> {
        match self.sqs.delete_queue().queue_url(url).send().await {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_queue_does_not_exist()) =>
            {
                Err(not_found(url))
            }
            Err(error) => Err(self.api_error("sqs:DeleteQueue", error)),
        }
    }

    async fn list_policies(&self, path_prefix: &str) -> Result<Vec<ManagedPolicy>, CloudError> {
        let mut policies = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let output = self
                .iam
                .list_policies()
                .scope(PolicyScopeType::Local)
                .path_prefix(path_prefix)
                .max_items(IAM_PAGE_SIZE)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|error| self.api_error("iam:ListPolicies", error))?;
            for policy in output.policies.unwrap_or_default() {
                policies.push(managed_policy(policy)?);
            }
            marker = next_marker("iam:ListPolicies", output.is_truncated, output.marker)?;
            if marker.is_none() {
                return Ok(policies);
            }
        }
    }

    async fn get_policy_document(
        &self,
        policy_arn: &str,
        version_id: &str,
    ) -> Result<String, CloudError> {
        let result = self
            .iam
            .get_policy_version()
            .policy_arn(policy_arn)
            .version_id(version_id)
            .send()
            .await;
        match result {
            Ok(output) => output
                .policy_version
                .and_then(|version| version.document)
                .ok_or_else(|| missing_field("iam:GetPolicyVersion", "PolicyVersion.Document")),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_no_such_entity_exception()) =>
            {
                Err(CloudError::IamNotFound {
                    kind: "policy version",
                    name: format!("{version_id} of {policy_arn}"),
                })
            }
            Err(error) => Err(self.api_error("iam:GetPolicyVersion", error)),
        }
    }

    async fn list_policy_principals(
        &self,
        policy_arn: &str,
    ) -> Result<super::PolicyPrincipals, CloudError> {
        let mut principals = super::PolicyPrincipals::default();
        let mut marker: Option<String> = None;
        loop {
            let result = self
                .iam
                .list_entities_for_policy()
                .policy_arn(policy_arn)
                .max_items(IAM_PAGE_SIZE)
                .set_marker(marker.take())
                .send()
                .await;
            let output = match result {
                Ok(output) => output,
                Err(error)
                    if error
                        .as_service_error()
                        .is_some_and(|e| e.is_no_such_entity_exception()) =>
                {
                    return Err(CloudError::IamNotFound {
                        kind: "policy",
                        name: policy_arn.to_string(),
                    });
                }
                Err(error) => return Err(self.api_error("iam:ListEntitiesForPolicy", error)),
            };
            for role in output.policy_roles.unwrap_or_default() {
                let name = role.role_name.ok_or_else(|| {
                    missing_field("iam:ListEntitiesForPolicy", "RoleName of a role")
                })?;
                principals.roles.push(name);
            }
            for user in output.policy_users.unwrap_or_default() {
                principals.users.extend(user.user_name);
            }
            for group in output.policy_groups.unwrap_or_default() {
                principals.groups.extend(group.group_name);
            }
            marker = next_marker(
                "iam:ListEntitiesForPolicy",
                output.is_truncated,
                output.marker,
            )?;
            if marker.is_none() {
                return Ok(principals);
            }
        }
    }

    async fn detach_user_policy(&self, user: &str, policy_arn: &str) -> Result<(), CloudError> {
        match self
            .iam
            .detach_user_policy()
            .user_name(user)
            .policy_arn(policy_arn)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_no_such_entity_exception()) =>
            {
                Err(CloudError::IamNotFound {
                    kind: "policy attachment",
                    name: format!("{policy_arn} on user {user}"),
                })
            }
            Err(error) => Err(self.api_error("iam:DetachUserPolicy", error)),
        }
    }

    async fn detach_group_policy(&self, group: &str, policy_arn: &str) -> Result<(), CloudError> {
        match self
            .iam
            .detach_group_policy()
            .group_name(group)
            .policy_arn(policy_arn)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_no_such_entity_exception()) =>
            {
                Err(CloudError::IamNotFound {
                    kind: "policy attachment",
                    name: format!("{policy_arn} on group {group}"),
                })
            }
            Err(error) => Err(self.api_error("iam:DetachGroupPolicy", error)),
        }
    }

    async fn list_policy_versions(
        &self,
        policy_arn: &str,
    ) -> Result<Vec<PolicyVersion>, CloudError> {
        let mut versions = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let result = self
                .iam
                .list_policy_versions()
                .policy_arn(policy_arn)
                .max_items(IAM_PAGE_SIZE)
                .set_marker(marker.take())
                .send()
                .await;
            let output = match result {
                Ok(output) => output,
                Err(error)
                    if error
                        .as_service_error()
                        .is_some_and(|e| e.is_no_such_entity_exception()) =>
                {
                    return Err(CloudError::IamNotFound {
                        kind: "policy",
                        name: policy_arn.to_string(),
                    });
                }
                Err(error) => return Err(self.api_error("iam:ListPolicyVersions", error)),
            };
            for version in output.versions.unwrap_or_default() {
                versions.push(policy_version(version)?);
            }
            marker = next_marker("iam:ListPolicyVersions", output.is_truncated, output.marker)?;
            if marker.is_none() {
                return Ok(versions);
            }
        }
    }

    async fn role_exists(&self, role: &str) -> Result<bool, CloudError> {
        match self.iam.get_role().role_name(role).send().await {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_no_such_entity_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(self.api_error("iam:GetRole", error)),
        }
    }

    async fn create_policy(
        &self,
        name: &str,
        path: &str,
        document: &str,
        tags: &Tags,
    ) -> Result<String, CloudError> {
        let mut request = self
            .iam
            .create_policy()
            .policy_name(name)
            .path(path)
            .policy_document(document)
            .description(POLICY_DESCRIPTION);
        for (key, value) in tags {
            let tag = Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|error| CloudError::Api {
                    operation: "iam:CreatePolicy",
                    source: Box::new(error),
                })?;
            request = request.tags(tag);
        }

        match request.send().await {
            Ok(output) => output
                .policy
                .and_then(|policy| policy.arn)
                .ok_or_else(|| missing_field("iam:CreatePolicy", "Policy.Arn")),
            Err(error) => {
                if let Some(service_error) = error.as_service_error() {
                    if service_error.is_malformed_policy_document_exception() {
                        return Err(CloudError::MalformedPolicy {
                            policy: name.to_string(),
                            message: iam_message(service_error),
                        });
                    }
                    if service_error.is_limit_exceeded_exception() {
                        return Err(CloudError::IamLimitExceeded {
                            policy: name.to_string(),
                            message: iam_message(service_error),
                        });
                    }
                }
                Err(self.api_error("iam:CreatePolicy", error))
            }
        }
    }

    async fn create_policy_version(
        &self,
        policy_arn: &str,
        document: &str,
    ) -> Result<String, CloudError> {
        let result = self
            .iam
            .create_policy_version()
            .policy_arn(policy_arn)
            .policy_document(document)
            .set_as_default(true)
            .send()
            .await;
        match result {
            Ok(output) => output
                .policy_version
                .and_then(|version| version.version_id)
                .ok_or_else(|| missing_field("iam:CreatePolicyVersion", "PolicyVersion.VersionId")),
            Err(error) => {
                if let Some(service_error) = error.as_service_error() {
                    if service_error.is_no_such_entity_exception() {
                        return Err(CloudError::IamNotFound {
                            kind: "policy",
                            name: policy_arn.to_string(),
                        });
                    }
                    if service_error.is_malformed_policy_document_exception() {
                        return Err(CloudError::MalformedPolicy {
                            policy: policy_arn.to_string(),
                            message: iam_message(service_error),
                        });
                    }
                    if service_error.is_limit_exceeded_exception() {
                        return Err(CloudError::IamLimitExceeded {
                            policy: policy_arn.to_string(),
                            message: iam_message(service_error),
                        });
                    }
                }
                Err(self.api_error("iam:CreatePolicyVersion", error))
            }
        }
    }

    async fn delete_policy_version(
        &self,
        policy_arn: &str,
        version_id: &str,
    ) -> Result<(), CloudError> {
        let result = self
            .iam
            .delete_policy_version()
            .policy_arn(policy_arn)
            .version_id(version_id)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => {
                if let Some(service_error) = error.as_service_error() {
                    if service_error.is_no_such_entity_exception() {
                        return Err(CloudError::IamNotFound {
                            kind: "policy version",
                            name: format!("{version_id} of {policy_arn}"),
                        });
                    }
                    if service_error.is_limit_exceeded_exception() {
                        return Err(CloudError::IamLimitExceeded {
                            policy: policy_arn.to_string(),
                            message: iam_message(service_error),
                        });
                    }
                }
                // DeleteConflict, for the default version, stays an Api error.
                Err(self.api_error("iam:DeletePolicyVersion", error))
            }
        }
    }

    async fn attach_role_policy(&self, role: &str, policy_arn: &str) -> Result<(), CloudError> {
        let result = self
            .iam
            .attach_role_policy()
            .role_name(role)
            .policy_arn(policy_arn)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => {
                if let Some(service_error) = error.as_service_error() {
                    if service_error.is_no_such_entity_exception() {
                        let policy_missing = CloudError::IamNotFound {
                            kind: "policy",
                            name: policy_arn.to_string(),
                        };
                        let message = iam_message(service_error);
                        return Err(missing_role_or(&message, role, policy_arn, policy_missing));
                    }
                    if service_error.is_limit_exceeded_exception() {
                        return Err(CloudError::IamLimitExceeded {
                            policy: policy_arn.to_string(),
                            message: iam_message(service_error),
                        });
                    }
                }
                Err(self.api_error("iam:AttachRolePolicy", error))
            }
        }
    }

    async fn detach_role_policy(&self, role: &str, policy_arn: &str) -> Result<(), CloudError> {
        let result = self
            .iam
            .detach_role_policy()
            .role_name(role)
            .policy_arn(policy_arn)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => {
                if let Some(service_error) = error.as_service_error() {
                    // IAM returns NoSuchEntity also when the policy exists but is not
                    // attached to the role.
                    if service_error.is_no_such_entity_exception() {
                        let attachment_missing = CloudError::IamNotFound {
                            kind: "policy attachment",
                            name: format!("{policy_arn} on role {role}"),
                        };
                        let message = iam_message(service_error);
                        return Err(missing_role_or(
                            &message,
                            role,
                            policy_arn,
                            attachment_missing,
                        ));
                    }
                    if service_error.is_limit_exceeded_exception() {
                        return Err(CloudError::IamLimitExceeded {
                            policy: policy_arn.to_string(),
                            message: iam_message(service_error),
                        });
                    }
                }
                Err(self.api_error("iam:DetachRolePolicy", error))
            }
        }
    }

    async fn delete_policy(&self, policy_arn: &str) -> Result<(), CloudError> {
        match self.iam.delete_policy().policy_arn(policy_arn).send().await {
            Ok(_) => Ok(()),
            Err(error) => {
                if let Some(service_error) = error.as_service_error() {
                    if service_error.is_no_such_entity_exception() {
                        return Err(CloudError::IamNotFound {
                            kind: "policy",
                            name: policy_arn.to_string(),
                        });
                    }
                    if service_error.is_limit_exceeded_exception() {
                        return Err(CloudError::IamLimitExceeded {
                            policy: policy_arn.to_string(),
                            message: iam_message(service_error),
                        });
                    }
                }
                // DeleteConflict, for attachments or non-default versions, stays an Api error.
                Err(self.api_error("iam:DeletePolicy", error))
            }
        }
    }

    async fn describe_alarms(&self, name_prefix: &str) -> Result<Vec<LiveAlarm>, CloudError> {
        // AlarmNamePrefix must be at least one character long, so an empty prefix is sent as
        // no prefix, which matches every alarm.
        let prefix = Some(name_prefix.to_string()).filter(|prefix| !prefix.is_empty());
        // moto 5.2.5 ignores MaxRecords and returns every alarm in one page, so only unit tests
        // run the NextToken path.
        let mut alarms = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let output = self
                .cloudwatch
                .describe_alarms()
                .set_alarm_name_prefix(prefix.clone())
                .alarm_types(AlarmType::MetricAlarm)
                .max_records(ALARM_PAGE_SIZE)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| self.api_error("cloudwatch:DescribeAlarms", error))?;
            for alarm in output.metric_alarms.unwrap_or_default() {
                alarms.push(live_alarm(alarm)?);
            }
            match output.next_token {
                Some(token) if !token.is_empty() => next_token = Some(token),
                _ => return Ok(alarms),
            }
        }
    }

    async fn list_alarm_tags(&self, alarm_arn: &str) -> Result<Tags, CloudError> {
        let result = self
            .cloudwatch
            .list_tags_for_resource()
            .resource_arn(alarm_arn)
            .send()
            .await;
        // For an ARN of no alarm, CloudWatch returns ResourceNotFoundException but moto 5.2.5
        // returns an empty list. moto also keeps a deleted alarm's tags, and returns them for
        // an alarm created again with the same name.
        match result {
            Ok(output) => {
                let mut tags = Tags::new();
                for tag in output.tags.unwrap_or_default() {
                    let (Some(key), Some(value)) = (tag.key, tag.value) else {
                        return Err(missing_field(
                            "cloudwatch:ListTagsForResource",
                            "Key or Value of a tag",
                        ));
                    };
                    tags.insert(key, value);
                }
                Ok(tags)
            }
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Err(CloudError::AlarmNotFound {
                    alarm: alarm_arn.to_string(),
                })
            }
            Err(error) => Err(self.api_error("cloudwatch:ListTagsForResource", error)),
        }
    }

    async fn put_metric_alarm(&self, alarm: &MetricAlarm, tags: &Tags) -> Result<(), CloudError> {
        let mut request = self
            .cloudwatch
            .put_metric_alarm()
            .alarm_name(&alarm.name)
            .set_alarm_description(alarm.description.clone())
            .namespace(&alarm.namespace)
            .metric_name(&alarm.metric_name)
            .set_statistic(alarm.statistic.as_deref().map(Statistic::from))
            .set_extended_statistic(alarm.extended_statistic.clone())
            .period(alarm.period_seconds)
            .evaluation_periods(alarm.evaluation_periods)
            .set_datapoints_to_alarm(alarm.datapoints_to_alarm)
            .threshold(alarm.threshold)
            .comparison_operator(ComparisonOperator::from(alarm.comparison_operator.as_str()))
            .set_treat_missing_data(alarm.treat_missing_data.clone())
            .actions_enabled(alarm.actions_enabled)
            .set_unit(alarm.unit.as_deref().map(StandardUnit::from));
        // PutMetricAlarm replaces the whole definition, so an omitted list clears it. Empty
        // lists are omitted rather than sent as empty query parameters.
        for (name, value) in &alarm.dimensions {
            request = request.dimensions(Dimension::builder().name(name).value(value).build());
        }
        for action in &alarm.alarm_actions {
            request = request.alarm_actions(action);
        }
        for action in &alarm.ok_actions {
            request = request.ok_actions(action);
        }
        for action in &alarm.insufficient_data_actions {
            request = request.insufficient_data_actions(action);
        }
        // CloudWatch ignores these tags when the alarm exists, but moto 5.2.5 adds them to the
        // alarm's tags.
        for tag in cloudwatch_tags(tags) {
            request = request.tags(tag);
        }

        request
            .send()
            .await
            .map(|_| ())
            .map_err(|error| self.api_error("cloudwatch:PutMetricAlarm", error))
    }

    async fn tag_alarm(&self, alarm_arn: &str, tags: &Tags) -> Result<(), CloudError> {
        if tags.is_empty() {
            return Ok(());
        }
        let result = self
            .cloudwatch
            .tag_resource()
            .resource_arn(alarm_arn)
            .set_tags(Some(cloudwatch_tags(tags)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Err(CloudError::AlarmNotFound {
                    alarm: alarm_arn.to_string(),
                })
            }
            Err(error) => Err(self.api_error("cloudwatch:TagResource", error)),
        }
    }

    async fn untag_alarm(&self, alarm_arn: &str, keys: &[String]) -> Result<(), CloudError> {
        if keys.is_empty() {
            return Ok(());
        }
        let result = self
            .cloudwatch
            .untag_resource()
            .resource_arn(alarm_arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await;
        // moto 5.2.5 also returns ResourceNotFoundException for an alarm that exists but has
        // never had tags.
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Err(CloudError::AlarmNotFound {
                    alarm: alarm_arn.to_string(),
                })
            }
            Err(error) => Err(self.api_error("cloudwatch:UntagResource", error)),
        }
    }

    async fn delete_alarms(&self, names: &[String]) -> Result<(), CloudError> {
        for batch in names.chunks(DELETE_ALARMS_BATCH) {
            let result = self
                .cloudwatch
                .delete_alarms()
                .set_alarm_names(Some(batch.to_vec()))
                .send()
                .await;
            match result {
                Ok(_) => {}
                // CloudWatch's DeleteAlarms reference states that the alarms with correct
                // names are deleted even when other names are wrong, so a missing alarm does not
                // fail the batch.
                // NOTE: the reference does not state whether CloudWatch then returns
                // ResourceNotFound or success. moto 5.2.5 returns success.
                Err(error)
                    if error
                        .as_service_error()
                        .is_some_and(|e| e.is_resource_not_found()) =>
                {
                    tracing::debug!(
                        alarms = batch.len(),
                        "DeleteAlarms named alarms that do not exist"
                    );
                }
                Err(error) => return Err(self.api_error("cloudwatch:DeleteAlarms", error)),
            }
        }
        Ok(())
    }

    async fn get_dashboard(&self, name: &str) -> Result<Option<String>, CloudError> {
        let result = self
            .cloudwatch
            .get_dashboard()
            .dashboard_name(name)
            .send()
            .await;
        match result {
            Ok(output) => output
                .dashboard_body
                .map(Some)
                .ok_or_else(|| missing_field("cloudwatch:GetDashboard", "DashboardBody")),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_dashboard_not_found_error()) =>
            {
                Ok(None)
            }
            Err(error) => Err(self.api_error("cloudwatch:GetDashboard", error)),
        }
    }

    async fn put_dashboard(&self, name: &str, body: &str) -> Result<(), CloudError> {
        let result = self
            .cloudwatch
            .put_dashboard()
            .dashboard_name(name)
            .dashboard_body(body)
            .send()
            .await;
        match result {
            Ok(output) => {
                // Messages on success are warnings: the dashboard was saved, but some widgets
                // may not render.
                for message in dashboard_messages(output.dashboard_validation_messages()) {
                    tracing::warn!(
                        dashboard = name,
                        %message,
                        "CloudWatch saved the dashboard with a warning"
                    );
                }
                Ok(())
            }
            // moto 5.2.5 rejects only a body that is not JSON, and sends no validation
            // messages, so its error message is used in their place.
            Err(error) => {
                let Some(PutDashboardError::DashboardInvalidInputError(invalid)) =
                    error.as_service_error()
                else {
                    return Err(self.api_error("cloudwatch:PutDashboard", error));
                };
                let mut messages = dashboard_messages(invalid.dashboard_validation_messages());
                if messages.is_empty() {
                    messages.push(invalid.message().unwrap_or("no message").to_string());
                }
                Err(CloudError::InvalidDashboard {
                    dashboard: name.to_string(),
                    messages,
                })
            }
        }
    }

    async fn delete_dashboard(&self, name: &str) -> Result<(), CloudError> {
        let result = self
            .cloudwatch
            .delete_dashboards()
            .dashboard_names(name)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_dashboard_not_found_error()) =>
            {
                Ok(())
            }
            Err(error) => Err(self.api_error("cloudwatch:DeleteDashboards", error)),
        }
    }

    async fn create_topic(
        &self,
        name: &str,
        attributes: &Attributes,
        tags: &Tags,
    ) -> Result<String, CloudError> {
        const OPERATION: &str = "sns:CreateTopic";
        let request = self
            .sns
            .create_topic()
            .name(name)
            .set_attributes(sns_attributes(attributes))
            .set_tags(Some(sns_tags(OPERATION, tags)?).filter(|tags| !tags.is_empty()));

        match request.send().await {
            Ok(output) => output
                .topic_arn
                .ok_or_else(|| missing_field(OPERATION, "TopicArn")),
            Err(error) => match error.as_service_error() {
                Some(service_error) if is_sns_conflict(service_error) => {
                    Err(CloudError::TopicAlreadyExists {
                        topic: name.to_string(),
                        message: service_error.message().unwrap_or("no message").to_string(),
                    })
                }
                _ => Err(self.api_error(OPERATION, error)),
            },
        }
    }

    async fn get_topic_attributes(
        &self,
        topic_arn: &str,
    ) -> Result<Option<Attributes>, CloudError> {
        let result = self
            .sns
            .get_topic_attributes()
            .topic_arn(topic_arn)
            .send()
            .await;
        match result {
            Ok(output) => Ok(Some(
                output.attributes.unwrap_or_default().into_iter().collect(),
            )),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(error) => Err(self.api_error("sns:GetTopicAttributes", error)),
        }
    }

    async fn list_topic_tags(&self, topic_arn: &str) -> Result<Tags, CloudError> {
        let result = self
            .sns
            .list_tags_for_resource()
            .resource_arn(topic_arn)
            .send()
            .await;
        match result {
            Ok(output) => Ok(output
                .tags
                .unwrap_or_default()
                .into_iter()
                .map(|tag| (tag.key, tag.value))
                .collect()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Err(topic_not_found(topic_arn))
            }
            Err(error) => Err(self.api_error("sns:ListTagsForResource", error)),
        }
    }

    async fn set_topic_attribute(
        &self,
        topic_arn: &str,
        name: &str,
        value: &str,
    ) -> Result<(), CloudError> {
        let result = self
            .sns
            .set_topic_attributes()
            .topic_arn(topic_arn)
            .attribute_name(name)
            .attribute_value(value)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_not_found_exception()) =>
            {
                Err(topic_not_found(topic_arn))
            }
            Err(error) => Err(self.api_error("sns:SetTopicAttributes", error)),
        }
    }

    async fn tag_topic(&self, topic_arn: &str, tags: &Tags) -> Result<(), CloudError> {
        const OPERATION: &str = "sns:TagResource";
        if tags.is_empty() {
            return Ok(());
        }
        let result = self
            .sns
            .tag_resource()
            .resource_arn(topic_arn)
            .set_tags(Some(sns_tags(OPERATION, tags)?))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Err(topic_not_found(topic_arn))
            }
            Err(error) => Err(self.api_error(OPERATION, error)),
        }
    }

    async fn untag_topic(&self, topic_arn: &str, keys: &[String]) -> Result<(), CloudError> {
        if keys.is_empty() {
            return Ok(());
        }
        let result = self
            .sns
            .untag_resource()
            .resource_arn(topic_arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Err(topic_not_found(topic_arn))
            }
            Err(error) => Err(self.api_error("sns:UntagResource", error)),
        }
    }

    async fn list_topics(&self) -> Result<Vec<String>, CloudError> {
        let mut arns = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let output = self
                .sns
                .list_topics()
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| self.api_error("sns:ListTopics", error))?;
            arns.extend(
                output
                    .topics
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|topic| topic.topic_arn),
            );
            match output.next_token {
                Some(token) if !token.is_empty() => next_token = Some(token),
                _ => return Ok(arns),
            }
        }
    }

    async fn delete_topic(&self, topic_arn: &str) -> Result<(), CloudError> {
        let result = self.sns.delete_topic().topic_arn(topic_arn).send().await;
        // SNS documents DeleteTopic as idempotent, so NotFound is not expected, but a missing
        // topic is the state the caller requested.
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_not_found_exception()) =>
            {
                tracing::debug!(topic = topic_arn, "DeleteTopic found no topic");
                Ok(())
            }
            Err(error) => Err(self.api_error("sns:DeleteTopic", error)),
        }
    }

    async fn list_subscriptions_by_topic(
        &self,
        topic_arn: &str,
    ) -> Result<Vec<TopicSubscription>, CloudError> {
        const OPERATION: &str = "sns:ListSubscriptionsByTopic";
        let mut subscriptions = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let result = self
                .sns
                .list_subscriptions_by_topic()
                .topic_arn(topic_arn)
                .set_next_token(next_token.take())
                .send()
                .await;
            let output = match result {
                Ok(output) => output,
                Err(error)
                    if error
                        .as_service_error()
                        .is_some_and(|e| e.is_not_found_exception()) =>
                {
                    return Err(topic_not_found(topic_arn));
                }
                Err(error) => return Err(self.api_error(OPERATION, error)),
            };
            for subscription in output.subscriptions.unwrap_or_default() {
                subscriptions.push(TopicSubscription {
                    arn: subscription.subscription_arn.ok_or_else(|| {
                        missing_field(OPERATION, "SubscriptionArn of a subscription")
                    })?,
                    protocol: subscription
                        .protocol
                        .ok_or_else(|| missing_field(OPERATION, "Protocol of a subscription"))?,
                    endpoint: subscription
                        .endpoint
                        .ok_or_else(|| missing_field(OPERATION, "Endpoint of a subscription"))?,
                });
            }
            match output.next_token {
                Some(token) if !token.is_empty() => next_token = Some(token),
                _ => return Ok(subscriptions),
            }
        }
    }

    async fn get_subscription_attributes(
        &self,
        subscription_arn: &str,
    ) -> Result<Attributes, CloudError> {
        let result = self
            .sns
            .get_subscription_attributes()
            .subscription_arn(subscription_arn)
            .send()
            .await;
        match result {
            Ok(output) => Ok(output.attributes.unwrap_or_default().into_iter().collect()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_not_found_exception()) =>
            {
                Err(subscription_not_found(subscription_arn))
            }
            Err(error) => Err(self.api_error("sns:GetSubscriptionAttributes", error)),
        }
    }

    async fn subscribe(
        &self,
        topic_arn: &str,
        protocol: &str,
        endpoint: &str,
        attributes: &Attributes,
    ) -> Result<String, CloudError> {
        const OPERATION: &str = "sns:Subscribe";
        let result = self
            .sns
            .subscribe()
            .topic_arn(topic_arn)
            .protocol(protocol)
            .endpoint(endpoint)
            .set_attributes(sns_attributes(attributes))
            .return_subscription_arn(true)
            .send()
            .await;
        match result {
            Ok(output) => output
                .subscription_arn
                .ok_or_else(|| missing_field(OPERATION, "SubscriptionArn")),
            Err(error) => match error.as_service_error() {
                Some(service_error) if service_error.is_not_found_exception() => {
                    Err(topic_not_found(topic_arn))
                }
                Some(service_error) if is_sns_conflict(service_error) => {
                    Err(CloudError::SubscriptionAlreadyExists {
                        topic: topic_arn.to_string(),
                        endpoint: endpoint.to_string(),
                    })
                }
                _ => Err(self.api_error(OPERATION, error)),
            },
        }
    }

    async fn set_subscription_attribute(
        &self,
        subscription_arn: &str,
        name: &str,
        value: &str,
    ) -> Result<(), CloudError> {
        let result = self
            .sns
            .set_subscription_attributes()
            .subscription_arn(subscription_arn)
            .attribute_name(name)
            .attribute_value(value)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_not_found_exception()) =>
            {
                Err(subscription_not_found(subscription_arn))
            }
            Err(error) => Err(self.api_error("sns:SetSubscriptionAttributes", error)),
        }
    }

    async fn unsubscribe(&self, subscription_arn: &str) -> Result<(), CloudError> {
        let result = self
            .sns
            .unsubscribe()
            .subscription_arn(subscription_arn)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_not_found_exception()) =>
            {
                Err(subscription_not_found(subscription_arn))
            }
            Err(error) => Err(self.api_error("sns:Unsubscribe", error)),
        }
    }

    async fn publish(
        &self,
        topic_arn: &str,
        message: &str,
        message_attributes: &BTreeMap<String, String>,
        group_id: Option<&str>,
        deduplication_id: Option<&str>,
    ) -> Result<String, CloudError> {
        const OPERATION: &str = "sns:Publish";
        let mut request = self
            .sns
            .publish()
            .topic_arn(topic_arn)
            .message(message)
            .set_message_group_id(group_id.map(str::to_string))
            .set_message_deduplication_id(deduplication_id.map(str::to_string));
        for (name, value) in message_attributes {
            let attribute = aws_sdk_sns::types::MessageAttributeValue::builder()
                .data_type(MESSAGE_ATTRIBUTE_TYPE)
                .string_value(value)
                .build()
                .map_err(|error| CloudError::Api {
                    operation: OPERATION,
                    source: Box::new(error),
                })?;
            request = request.message_attributes(name, attribute);
        }

        match request.send().await {
            Ok(output) => output
                .message_id
                .ok_or_else(|| missing_field(OPERATION, "MessageId")),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_not_found_exception()) =>
            {
                Err(topic_not_found(topic_arn))
            }
            Err(error) => Err(self.api_error(OPERATION, error)),
        }
    }

    fn api_calls(&self) -> super::ApiCalls {
        self.calls.snapshot()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use aws_sdk_iam::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
    use aws_smithy_runtime_api::client::http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    /// An HTTP client that records each request body and returns canned responses in order,
    /// so tests can produce CloudWatch responses the emulator never returns. Nothing
    /// leaves the process.
    #[derive(Clone, Debug, Default)]
    struct ReplayHttp {
        responses: Arc<Mutex<VecDeque<(u16, String)>>>,
        requests: Arc<Mutex<Vec<String>>>,
    }

    impl ReplayHttp {
        fn new(responses: &[(u16, &str)]) -> ReplayHttp {
            let responses = responses
                .iter()
                .map(|(status, body)| (*status, body.to_string()))
                .collect();
            ReplayHttp {
                responses: Arc::new(Mutex::new(responses)),
                requests: Arc::default(),
            }
        }

        /// Returns the form-encoded bodies of the requests sent so far.
        fn requests(&self) -> Vec<String> {
            self.requests.lock().unwrap().clone()
        }
    }

    impl HttpConnector for ReplayHttp {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            let body = request.body().bytes().unwrap_or_default();
            self.requests
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(body).into_owned());
            let (status, body) = self
                .responses
                .lock()
                .unwrap()
                .pop_front()
                .expect("a canned response for every request");
            let status = StatusCode::try_from(status).expect("valid status code");
            HttpConnectorFuture::ready(Ok(HttpResponse::new(status, SdkBody::from(body))))
        }
    }

    impl HttpClient for ReplayHttp {
        fn http_connector(
            &self,
            _settings: &HttpConnectorSettings,
            _components: &RuntimeComponents,
        ) -> SharedHttpConnector {
            SharedHttpConnector::new(self.clone())
        }
    }

    /// Returns an `AwsCloud` whose requests go to `http`, without retries.
    fn replay_cloud(http: &ReplayHttp) -> AwsCloud {
        let config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "testing", "testing", None, None, "tests",
            )))
            .endpoint_url("http://127.0.0.1:9")
            .retry_config(RetryConfig::disabled())
            .http_client(http.clone())
            .build();
        AwsCloud::from_config(&config, "http://127.0.0.1:9".to_string())
    }

    /// Returns a DescribeAlarms response with one alarm per name and an optional NextToken.
    fn describe_page(names: &[&str], next_token: Option<&str>) -> String {
        let members: String = names
            .iter()
            .map(|name| {
                format!(
                    "<member><AlarmName>{name}</AlarmName><AlarmArn>arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}</AlarmArn>\
                     <Namespace>AWS/SQS</Namespace><MetricName>ApproximateAgeOfOldestMessage</MetricName>\
                     <Statistic>Maximum</Statistic><Period>60</Period><EvaluationPeriods>5</EvaluationPeriods>\
                     <Threshold>300.0</Threshold><ComparisonOperator>GreaterThanThreshold</ComparisonOperator>\
                     <Dimensions><member><Name>QueueName</Name><Value>{name}</Value></member></Dimensions></member>"
                )
            })
            .collect();
        let token = next_token
            .map(|token| format!("<NextToken>{token}</NextToken>"))
            .unwrap_or_default();
        format!(
            "<DescribeAlarmsResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">\
             <DescribeAlarmsResult><MetricAlarms>{members}</MetricAlarms>{token}</DescribeAlarmsResult>\
             <ResponseMetadata><RequestId>request-1</RequestId></ResponseMetadata></DescribeAlarmsResponse>"
        )
    }

    /// Returns a query-protocol error response.
    fn error_response(code: &str, message: &str, extra: &str) -> String {
        format!(
            "<ErrorResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">\
             <Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>{extra}</Error>\
             <RequestId>request-2</RequestId></ErrorResponse>"
        )
    }

    const EMPTY_RESPONSE: &str = "<Response><ResponseMetadata><RequestId>request-3</RequestId></ResponseMetadata></Response>";

    #[tokio::test]
    async fn describe_alarms_follows_next_token() {
        let http = ReplayHttp::new(&[
            (
                200,
                &describe_page(&["orders-a", "orders-b"], Some("page-2")),
            ),
            (200, &describe_page(&["orders-c"], None)),
        ]);
        let cloud = replay_cloud(&http);

        let alarms = cloud.describe_alarms("orders-").await.unwrap();

        let names: Vec<&str> = alarms.iter().map(|live| live.alarm.name.as_str()).collect();
        assert_eq!(names, ["orders-a", "orders-b", "orders-c"]);
        assert_eq!(cloud.api_calls().get("cloudwatch:DescribeAlarms"), 2);
        let requests = http.requests();
        for request in &requests {
            assert!(request.contains("AlarmNamePrefix=orders-"), "{request}");
            assert!(request.contains("MaxRecords=100"), "{request}");
            assert!(
                request.contains("AlarmTypes.member.1=MetricAlarm"),
                "{request}"
            );
        }
        assert!(!requests[0].contains("NextToken"), "{}", requests[0]);
        assert!(requests[1].contains("NextToken=page-2"), "{}", requests[1]);
    }

    #[tokio::test]
    async fn describe_alarms_converts_fields() {
        let http = ReplayHttp::new(&[(200, &describe_page(&["orders-age"], None))]);
        let cloud = replay_cloud(&http);

        let alarms = cloud.describe_alarms("orders-").await.unwrap();

        let expected = LiveAlarm {
            arn: "arn:aws:cloudwatch:us-east-1:123456789012:alarm:orders-age".to_string(),
            alarm: MetricAlarm {
                name: "orders-age".to_string(),
                description: None,
                namespace: "AWS/SQS".to_string(),
                metric_name: "ApproximateAgeOfOldestMessage".to_string(),
                dimensions: BTreeMap::from([("QueueName".to_string(), "orders-age".to_string())]),
                statistic: Some("Maximum".to_string()),
                extended_statistic: None,
                period_seconds: 60,
                evaluation_periods: 5,
                datapoints_to_alarm: None,
                threshold: 300.0,
                comparison_operator: "GreaterThanThreshold".to_string(),
                treat_missing_data: None,
                alarm_actions: Vec::new(),
                ok_actions: Vec::new(),
                insufficient_data_actions: Vec::new(),
                actions_enabled: true,
                unit: None,
            },
        };
        assert_eq!(alarms, [expected]);
    }

    #[tokio::test]
    async fn empty_prefix_is_not_sent() {
        let http = ReplayHttp::new(&[(200, &describe_page(&[], None))]);
        let cloud = replay_cloud(&http);

        cloud.describe_alarms("").await.unwrap();

        let requests = http.requests();
        assert!(!requests[0].contains("AlarmNamePrefix"), "{}", requests[0]);
    }

    #[tokio::test]
    async fn cloudwatch_throttling_is_classified() {
        let http = ReplayHttp::new(&[(400, &error_response("Throttling", "Rate exceeded", ""))]);
        let cloud = replay_cloud(&http);

        let result = cloud.describe_alarms("orders-").await;

        assert!(
            matches!(
                result,
                Err(CloudError::Throttled {
                    operation: "cloudwatch:DescribeAlarms",
                    ..
                })
            ),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn delete_alarms_sends_batches_of_100() {
        let http = ReplayHttp::new(&[(200, EMPTY_RESPONSE); 3]);
        let cloud = replay_cloud(&http);
        let names: Vec<String> = (0..250).map(|index| format!("orders-{index:03}")).collect();

        cloud.delete_alarms(&names).await.unwrap();

        assert_eq!(cloud.api_calls().get("cloudwatch:DeleteAlarms"), 3);
        let requests = http.requests();
        let counts: Vec<usize> = requests
            .iter()
            .map(|request| request.matches("AlarmNames.member.").count())
            .collect();
        assert_eq!(counts, [100, 100, 50]);
        assert!(
            requests[2].contains("AlarmNames.member.50=orders-249"),
            "{}",
            requests[2]
        );
    }

    #[tokio::test]
    async fn delete_alarms_without_names_sends_nothing() {
        let http = ReplayHttp::new(&[]);
        let cloud = replay_cloud(&http);

        cloud.delete_alarms(&[]).await.unwrap();

        assert_eq!(cloud.api_calls().total, 0);
    }

    #[tokio::test]
    async fn delete_alarms_ignores_resource_not_found() {
        let http = ReplayHttp::new(&[(
            404,
            &error_response("ResourceNotFound", "1 alarm not found", ""),
        )]);
        let cloud = replay_cloud(&http);

        let result = cloud.delete_alarms(&["orders-gone".to_string()]).await;

        assert!(result.is_ok(), "{result:?}");
    }

    #[tokio::test]
    async fn missing_dashboard_is_none() {
        let http = ReplayHttp::new(&[(
            404,
            &error_response("ResourceNotFound", "Dashboard does not exist", ""),
        )]);
        let cloud = replay_cloud(&http);

        let body = cloud.get_dashboard("orders").await.unwrap();

        assert_eq!(body, None);
    }

    #[tokio::test]
    async fn dashboard_validation_messages_reach_error() {
        let messages = "<dashboardValidationMessages>\
            <member><DataPath>/widgets/0/type</DataPath><Message>Should be equal to one of the allowed values</Message></member>\
            <member><Message>The dashboard body is invalid</Message></member>\
            </dashboardValidationMessages>";
        let http = ReplayHttp::new(&[(
            400,
            &error_response(
                "InvalidParameterInput",
                "The input for the dashboard is invalid",
                messages,
            ),
        )]);
        let cloud = replay_cloud(&http);

        let result = cloud
            .put_dashboard("orders", r#"{"widgets":[{"type":"nonsense"}]}"#)
            .await;

        let Err(CloudError::InvalidDashboard {
            dashboard,
            messages,
        }) = result
        else {
            panic!("expected InvalidDashboard, got {result:?}");
        };
        assert_eq!(dashboard, "orders");
        assert_eq!(
            messages,
            [
                "/widgets/0/type: Should be equal to one of the allowed values",
                "The dashboard body is invalid",
            ]
        );
    }

    #[tokio::test]
    async fn missing_alarm_tags_are_not_found() {
        let http = ReplayHttp::new(&[(
            404,
            &error_response("ResourceNotFoundException", "Unknown", ""),
        )]);
        let cloud = replay_cloud(&http);
        let arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:orders-gone";

        let result = cloud.list_alarm_tags(arn).await;

        assert!(
            matches!(result, Err(CloudError::AlarmNotFound { ref alarm }) if alarm == arn),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn iam_resolves_global_endpoint_per_partition() {
        let resolver = DefaultResolver::new();
        let cases = [
            ("us-east-1", "https://iam.amazonaws.com"),
            ("eu-west-1", "https://iam.amazonaws.com"),
            ("ap-south-1", "https://iam.amazonaws.com"),
            ("cn-north-1", "https://iam.cn-north-1.amazonaws.com.cn"),
        ];
        for (region, expected) in cases {
            let params = Params::builder()
                .region(region)
                .use_fips(false)
                .use_dual_stack(false)
                .build()
                .unwrap();
            let endpoint = resolver.resolve_endpoint(&params).await.unwrap();
            assert_eq!(endpoint.url(), expected, "{region}");
        }
    }

    #[test]
    fn next_marker_ends_untruncated_listing() {
        let marker = next_marker("iam:ListPolicies", false, Some("page-2".to_string()));
        assert_eq!(marker.unwrap(), None);
    }

    #[test]
    fn next_marker_follows_truncated_listing() {
        let marker = next_marker("iam:ListPolicies", true, Some("page-2".to_string()));
        assert_eq!(marker.unwrap().as_deref(), Some("page-2"));
    }

    #[test]
    fn truncated_listing_without_marker_fails() {
        for marker in [None, Some(String::new())] {
            let result = next_marker("iam:ListPolicies", true, marker);
            assert!(
                matches!(
                    result,
                    Err(CloudError::Api {
                        operation: "iam:ListPolicies",
                        ..
                    })
                ),
                "{result:?}"
            );
        }
    }

    #[test]
    fn missing_entity_is_policy_when_message_names_arn() {
        let arn = "arn:aws:iam::123456789012:policy/sqsform/orders-producer";
        let policy_missing = CloudError::IamNotFound {
            kind: "policy",
            name: arn.to_string(),
        };

        let error = missing_role_or(
            &format!("Policy {arn} does not exist or is not attachable."),
            "orders-service",
            arn,
            policy_missing,
        );

        assert!(
            matches!(error, CloudError::IamNotFound { kind: "policy", ref name } if name == arn),
            "{error:?}"
        );
    }

    #[test]
    fn missing_entity_is_role_otherwise() {
        let arn = "arn:aws:iam::123456789012:policy/sqsform/orders-producer";
        let policy_missing = CloudError::IamNotFound {
            kind: "policy",
            name: arn.to_string(),
        };

        let error = missing_role_or(
            "The role with name orders-service cannot be found.",
            "orders-service",
            arn,
            policy_missing,
        );

        assert!(
            matches!(error, CloudError::IamNotFound { kind: "role", ref name } if name == "orders-service"),
            "{error:?}"
        );
    }

    /// Returns an SNS ListSubscriptionsByTopic response with one SQS subscription per queue
    /// name and an optional NextToken.
    fn subscriptions_page(queues: &[&str], next_token: Option<&str>) -> String {
        let topic = "arn:aws:sns:us-east-1:123456789012:orders-events";
        let members: String = queues
            .iter()
            .map(|queue| {
                format!(
                    "<member><TopicArn>{topic}</TopicArn><Protocol>sqs</Protocol>\
                     <SubscriptionArn>{topic}:{queue}</SubscriptionArn><Owner>123456789012</Owner>\
                     <Endpoint>arn:aws:sqs:us-east-1:123456789012:{queue}</Endpoint></member>"
                )
            })
            .collect();
        let token = next_token
            .map(|token| format!("<NextToken>{token}</NextToken>"))
            .unwrap_or_default();
        format!(
            "<ListSubscriptionsByTopicResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">\
             <ListSubscriptionsByTopicResult><Subscriptions>{members}</Subscriptions>{token}</ListSubscriptionsByTopicResult>\
             <ResponseMetadata><RequestId>request-4</RequestId></ResponseMetadata></ListSubscriptionsByTopicResponse>"
        )
    }

    const TOPIC_ARN: &str = "arn:aws:sns:us-east-1:123456789012:orders-events";

    #[tokio::test]
    async fn list_subscriptions_follows_next_token() {
        let http = ReplayHttp::new(&[
            (
                200,
                &subscriptions_page(&["orders-a", "orders-b"], Some("page-2")),
            ),
            (200, &subscriptions_page(&["orders-c"], None)),
        ]);
        let cloud = replay_cloud(&http);

        let subscriptions = cloud.list_subscriptions_by_topic(TOPIC_ARN).await.unwrap();

        let endpoints: Vec<&str> = subscriptions
            .iter()
            .map(|subscription| subscription.endpoint.as_str())
            .collect();
        assert_eq!(
            endpoints,
            [
                "arn:aws:sqs:us-east-1:123456789012:orders-a",
                "arn:aws:sqs:us-east-1:123456789012:orders-b",
                "arn:aws:sqs:us-east-1:123456789012:orders-c",
            ]
        );
        assert_eq!(subscriptions[0].arn, format!("{TOPIC_ARN}:orders-a"));
        assert_eq!(subscriptions[0].protocol, "sqs");
        assert_eq!(cloud.api_calls().get("sns:ListSubscriptionsByTopic"), 2);
        let requests = http.requests();
        assert!(!requests[0].contains("NextToken"), "{}", requests[0]);
        assert!(requests[1].contains("NextToken=page-2"), "{}", requests[1]);
    }

    #[tokio::test]
    async fn topic_conflict_is_already_exists() {
        let message =
            "Invalid parameter: Attributes Reason: Topic already exists with different attributes";
        let http = ReplayHttp::new(&[(400, &error_response("InvalidParameter", message, ""))]);
        let cloud = replay_cloud(&http);

        let result = cloud
            .create_topic("orders-events", &Attributes::new(), &Tags::new())
            .await;

        assert!(
            matches!(&result, Err(CloudError::TopicAlreadyExists { topic, message: text }) if topic == "orders-events" && text == message),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn other_invalid_parameter_stays_api_error() {
        let http = ReplayHttp::new(&[(
            400,
            &error_response("InvalidParameter", "Invalid parameter: Topic Name", ""),
        )]);
        let cloud = replay_cloud(&http);

        let result = cloud
            .create_topic("orders.events", &Attributes::new(), &Tags::new())
            .await;

        assert!(
            matches!(
                result,
                Err(CloudError::Api {
                    operation: "sns:CreateTopic",
                    ..
                })
            ),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn subscription_conflict_is_already_exists() {
        let message = "Invalid parameter: Attributes Reason: Subscription already exists with different attributes";
        let http = ReplayHttp::new(&[(400, &error_response("InvalidParameter", message, ""))]);
        let cloud = replay_cloud(&http);
        let queue = "arn:aws:sqs:us-east-1:123456789012:orders";

        let result = cloud
            .subscribe(TOPIC_ARN, "sqs", queue, &Attributes::new())
            .await;

        assert!(
            matches!(&result, Err(CloudError::SubscriptionAlreadyExists { topic, endpoint }) if topic == TOPIC_ARN && endpoint == queue),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn missing_topic_attributes_are_none() {
        let http =
            ReplayHttp::new(&[(404, &error_response("NotFound", "Topic does not exist", ""))]);
        let cloud = replay_cloud(&http);

        let attributes = cloud.get_topic_attributes(TOPIC_ARN).await.unwrap();

        assert_eq!(attributes, None);
    }

    #[tokio::test]
    async fn sns_throttling_is_classified() {
        for code in ["Throttling", "Throttled"] {
            let http = ReplayHttp::new(&[(400, &error_response(code, "Rate exceeded", ""))]);
            let cloud = replay_cloud(&http);

            let result = cloud
                .publish(TOPIC_ARN, "m", &BTreeMap::new(), None, None)
                .await;

            assert!(
                matches!(
                    result,
                    Err(CloudError::Throttled {
                        operation: "sns:Publish",
                        ..
                    })
                ),
                "{code}: {result:?}"
            );
        }
    }

    #[tokio::test]
    async fn publish_sends_string_attributes_and_fifo_ids() {
        let response = "<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">\
            <PublishResult><MessageId>message-1</MessageId><SequenceNumber>1</SequenceNumber></PublishResult>\
            <ResponseMetadata><RequestId>request-5</RequestId></ResponseMetadata></PublishResponse>";
        let http = ReplayHttp::new(&[(200, response)]);
        let cloud = replay_cloud(&http);
        let attributes = BTreeMap::from([("eventType".to_string(), "order_placed".to_string())]);

        let message_id = cloud
            .publish(
                "arn:aws:sns:us-east-1:123456789012:orders-events.fifo",
                "order 42 placed",
                &attributes,
                Some("order-42"),
                Some("event-1"),
            )
            .await
            .unwrap();

        assert_eq!(message_id, "message-1");
        let request = &http.requests()[0];
        for expected in [
            "Action=Publish",
            "MessageAttributes.entry.1.Name=eventType",
            "MessageAttributes.entry.1.Value.DataType=String",
            "MessageAttributes.entry.1.Value.StringValue=order_placed",
            "MessageGroupId=order-42",
            "MessageDeduplicationId=event-1",
        ] {
            assert!(
                request.contains(expected),
                "{expected} missing from {request}"
            );
        }
    }

    #[tokio::test]
    async fn subscribe_asks_for_subscription_arn() {
        let response = "<SubscribeResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">\
            <SubscribeResult><SubscriptionArn>arn:aws:sns:us-east-1:123456789012:orders-events:1</SubscriptionArn></SubscribeResult>\
            <ResponseMetadata><RequestId>request-6</RequestId></ResponseMetadata></SubscribeResponse>";
        let http = ReplayHttp::new(&[(200, response)]);
        let cloud = replay_cloud(&http);
        let attributes = Attributes::from([("RawMessageDelivery".to_string(), "true".to_string())]);

        let arn = cloud
            .subscribe(
                TOPIC_ARN,
                "sqs",
                "arn:aws:sqs:us-east-1:123456789012:orders",
                &attributes,
            )
            .await
            .unwrap();

        assert_eq!(arn, "arn:aws:sns:us-east-1:123456789012:orders-events:1");
        let request = &http.requests()[0];
        assert!(request.contains("ReturnSubscriptionArn=true"), "{request}");
        assert!(
            request.contains("Attributes.entry.1.key=RawMessageDelivery"),
            "{request}"
        );
        assert!(
            request.contains("Attributes.entry.1.value=true"),
            "{request}"
        );
    }

    #[tokio::test]
    async fn empty_topic_settings_are_omitted() {
        let response = "<CreateTopicResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">\
            <CreateTopicResult><TopicArn>arn:aws:sns:us-east-1:123456789012:orders-events</TopicArn></CreateTopicResult>\
            <ResponseMetadata><RequestId>request-7</RequestId></ResponseMetadata></CreateTopicResponse>";
        let http = ReplayHttp::new(&[(200, response)]);
        let cloud = replay_cloud(&http);

        let arn = cloud
            .create_topic("orders-events", &Attributes::new(), &Tags::new())
            .await
            .unwrap();

        assert_eq!(arn, TOPIC_ARN);
        let request = &http.requests()[0];
        assert!(request.contains("Name=orders-events"), "{request}");
        assert!(!request.contains("Attributes"), "{request}");
        assert!(!request.contains("Tags"), "{request}");
    }

    #[tokio::test]
    async fn empty_topic_tag_changes_send_nothing() {
        let http = ReplayHttp::new(&[]);
        let cloud = replay_cloud(&http);

        cloud.tag_topic(TOPIC_ARN, &Tags::new()).await.unwrap();
        cloud.untag_topic(TOPIC_ARN, &[]).await.unwrap();

        assert_eq!(cloud.api_calls().total, 0);
    }
}
