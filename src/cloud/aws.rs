//! [`Cloud`] over the AWS SDK for Rust.

use std::sync::Arc;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_sdk_sqs::config::{
    Credentials, Intercept, Region, RuntimeComponents, SharedCredentialsProvider,
};
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::QueueAttributeName;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::ConfigBag;

use super::{Attributes, CallCounter, Cloud, CloudError, Tags, queue_name_from_url};
use crate::model::Connection;

/// Attempts per request, the first included, before a throttled or transient failure is final.
const MAX_ATTEMPTS: u32 = 5;
/// The largest page ListQueues returns.
const LIST_PAGE_SIZE: i32 = 1_000;
/// Error codes AWS uses for throttling, in the JSON and query protocols.
const THROTTLING_CODES: &[&str] = &[
    "RequestThrottled",
    "ThrottlingException",
    "Throttling",
    "AWS.SimpleQueueService.RequestThrottled",
];

/// The AWS SDK clients of one environment and their request counter.
#[derive(Clone, Debug)]
pub struct AwsCloud {
    sqs: aws_sdk_sqs::Client,
    sts: aws_sdk_sts::Client,
    calls: Arc<CallCounter>,
}

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
    /// Errors when emulator credentials are requested but the effective endpoint is not on
    /// loopback, so dummy credentials never reach a real AWS endpoint.
    pub async fn connect(region: &str, connection: &Connection) -> Result<AwsCloud, CloudError> {
        let endpoint = effective_endpoint(connection);
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
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

        let calls = Arc::new(CallCounter::default());
        let sqs_config = aws_sdk_sqs::config::Builder::from(&config)
            .interceptor(CountRequests {
                calls: calls.clone(),
            })
            .build();
        let sts_config = aws_sdk_sts::config::Builder::from(&config)
            .interceptor(CountRequests {
                calls: calls.clone(),
            })
            .build();
        Ok(AwsCloud {
            sqs: aws_sdk_sqs::Client::from_conf(sqs_config),
            sts: aws_sdk_sts::Client::from_conf(sts_config),
            calls,
        })
    }

    /// Returns the SQS client, for tests that write state out of band.
    pub fn sqs_client(&self) -> &aws_sdk_sqs::Client {
        &self.sqs
    }
}

/// Maps an SDK error to a [`CloudError`], keeping the SDK error as the source.
fn api_error<E>(
    operation: &'static str,
    error: SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let throttled = error
        .code()
        .is_some_and(|code| THROTTLING_CODES.contains(&code));
    let source: super::BoxError = Box::new(error);
    if throttled {
        CloudError::Throttled { operation, source }
    } else {
        CloudError::Api { operation, source }
    }
}

fn not_found(url: &str) -> CloudError {
    CloudError::QueueNotFound {
        queue: queue_name_from_url(url).to_string(),
    }
}

impl Cloud for AwsCloud {
    async fn caller_account(&self) -> Result<String, CloudError> {
        let output = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|error| api_error("sts:GetCallerIdentity", error))?;
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
                .map_err(|error| api_error("sqs:ListQueues", error))?;
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
            Err(error) => Err(api_error("sqs:GetQueueAttributes", error)),
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
            Err(error) => Err(api_error("sqs:ListQueueTags", error)),
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
                Err(api_error("sqs:CreateQueue", error))
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
            Err(error) => Err(api_error("sqs:SetQueueAttributes", error)),
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
            Err(error) => Err(api_error("sqs:TagQueue", error)),
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
            Err(error) => Err(api_error("sqs:UntagQueue", error)),
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
            Err(error) => Err(api_error("sqs:DeleteQueue", error)),
        }
    }

    async fn list_policies(&self, _path_prefix: &str) -> Result<Vec<super::ManagedPolicy>, CloudError> {
        unimplemented!("IAM boundary under construction")
    }

    async fn get_policy_document(&self, _policy_arn: &str, _version_id: &str) -> Result<String, CloudError> {
        unimplemented!("IAM boundary under construction")
    }

    async fn list_policy_roles(&self, _policy_arn: &str) -> Result<Vec<String>, CloudError> {
        unimplemented!("IAM boundary under construction")
    }

    async fn list_policy_versions(&self, _policy_arn: &str) -> Result<Vec<super::PolicyVersion>, CloudError> {
        unimplemented!("IAM boundary under construction")
    }

    async fn role_exists(&self, _role: &str) -> Result<bool, CloudError> {
        unimplemented!("IAM boundary under construction")
    }

    async fn create_policy(&self, _name: &str, _path: &str, _document: &str, _tags: &Tags) -> Result<String, CloudError> {
        unimplemented!("IAM boundary under construction")
    }

    async fn create_policy_version(&self, _policy_arn: &str, _document: &str) -> Result<String, CloudError> {
        unimplemented!("IAM boundary under construction")
    }

    async fn delete_policy_version(&self, _policy_arn: &str, _version_id: &str) -> Result<(), CloudError> {
        unimplemented!("IAM boundary under construction")
    }

    async fn attach_role_policy(&self, _role: &str, _policy_arn: &str) -> Result<(), CloudError> {
        unimplemented!("IAM boundary under construction")
    }

    async fn detach_role_policy(&self, _role: &str, _policy_arn: &str) -> Result<(), CloudError> {
        unimplemented!("IAM boundary under construction")
    }

    async fn delete_policy(&self, _policy_arn: &str) -> Result<(), CloudError> {
        unimplemented!("IAM boundary under construction")
    }

    fn api_calls(&self) -> super::ApiCalls {
        self.calls.snapshot()
    }
}
