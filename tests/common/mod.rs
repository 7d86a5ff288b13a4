//! Shared harness of the integration tests: the emulator endpoint, a spec folder per test, the
//! sqsform binary, and an SDK client for changes made out of band.
#![allow(dead_code)] // Each test binary uses a different part of the harness.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sqs::types::QueueAttributeName;

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// Returns the emulator endpoint from `AWS_ENDPOINT_URL`, failing the test when it is unset or
/// nothing listens there.
pub fn endpoint() -> String {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        !endpoint.is_empty(),
        "AWS_ENDPOINT_URL is not set: integration tests need the local AWS emulator. Run scripts/test, or start it with scripts/local-aws start and export AWS_ENDPOINT_URL=$(scripts/local-aws endpoint)"
    );
    let authority = endpoint
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let address = authority.parse().unwrap_or_else(|_| {
        panic!("AWS_ENDPOINT_URL {endpoint} must be http://<ip>:<port> on loopback")
    });
    assert!(
        TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_ok(),
        "no emulator is listening at {endpoint}; start it with scripts/local-aws start"
    );
    endpoint
}

/// A spec folder for one test, with its own environment so queue names never collide.
pub struct Workspace {
    pub dir: tempfile::TempDir,
    pub environment: String,
}

impl Workspace {
    /// Creates a folder holding `spec` as queues.yaml and an environment `it-<name>-<run id>` that
    /// points at the emulator. The run id keeps reruns against a running emulator apart.
    pub fn new(name: &str, spec: &str) -> Workspace {
        Workspace::with_environment(name, spec, "")
    }

    /// Like [`Workspace::new`], with extra lines appended to the environment file.
    pub fn with_environment(name: &str, spec: &str, extra: &str) -> Workspace {
        let endpoint = endpoint();
        let dir = tempfile::tempdir().expect("temporary folder");
        let environment = format!("it-{name}-{}", run_id());
        std::fs::create_dir(dir.path().join("environments")).expect("environments folder");
        std::fs::write(dir.path().join("queues.yaml"), spec).expect("write spec");
        let environment_text = format!(
            "region: {REGION}\naccount_id: \"{ACCOUNT}\"\nendpoint_url: {endpoint}\nemulator_credentials: true\nkms_key: arn:aws:kms:us-east-1:123456789012:key/00000000-1111-2222-3333-444444444444\n{extra}"
        );
        std::fs::write(
            dir.path()
                .join("environments")
                .join(format!("{environment}.yaml")),
            environment_text,
        )
        .expect("write environment");
        Workspace { dir, environment }
    }

    /// Replaces queues.yaml.
    pub fn write_spec(&self, spec: &str) {
        std::fs::write(self.spec_path(), spec).expect("write spec");
    }

    /// Returns the path of the environment file.
    pub fn environment_path(&self) -> PathBuf {
        self.dir
            .path()
            .join("environments")
            .join(format!("{}.yaml", self.environment))
    }

    pub fn spec_path(&self) -> PathBuf {
        self.dir.path().join("queues.yaml")
    }

    /// Returns the final name of a spec queue.
    pub fn queue_name(&self, key: &str) -> String {
        format!("driversklub-{}-{key}", self.environment)
    }

    /// Runs sqsform with `arguments` and `--env` for this workspace, stdin closed.
    pub fn run(&self, arguments: &[&str]) -> Run {
        self.run_with_env(arguments, &[])
    }

    /// Runs sqsform with extra environment variables.
    pub fn run_with_env(&self, arguments: &[&str], variables: &[(&str, &str)]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sqsform"));
        command
            .arg("--spec")
            .arg(self.spec_path())
            .args(arguments)
            .arg("--env")
            .arg(&self.environment)
            .env("NO_COLOR", "1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::null());
        for (name, value) in variables {
            command.env(name, value);
        }
        Run::from(command.output().expect("run sqsform"))
    }
}

/// Returns six hex digits that differ between test processes.
fn run_id() -> String {
    static RUN_ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    RUN_ID
        .get_or_init(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|elapsed| elapsed.subsec_nanos())
                .unwrap_or_default();
            format!(
                "{:06x}",
                (nanos ^ std::process::id().rotate_left(16)) & 0xff_ffff
            )
        })
        .clone()
}

/// The outcome of one sqsform run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Panics with both streams unless the exit code is `code`.
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "expected exit code {code}, got {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    /// Parses stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("stdout is not JSON ({error}):\n{}", self.stdout))
    }
}

/// Returns an SDK client for the emulator, for changes made out of band.
pub async fn sqs_client() -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint())
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

/// Returns the URL of a queue by name.
pub async fn queue_url(client: &aws_sdk_sqs::Client, name: &str) -> String {
    client
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .unwrap_or_else(|error| panic!("queue {name} not found: {error:?}"))
        .queue_url
        .expect("queue URL")
}

/// Checks whether a queue exists.
pub async fn queue_exists(client: &aws_sdk_sqs::Client, name: &str) -> bool {
    client.get_queue_url().queue_name(name).send().await.is_ok()
}

/// Sets one attribute out of band.
pub async fn set_attribute(client: &aws_sdk_sqs::Client, name: &str, attribute: &str, value: &str) {
    let url = queue_url(client, name).await;
    client
        .set_queue_attributes()
        .queue_url(url)
        .attributes(QueueAttributeName::from(attribute), value)
        .send()
        .await
        .unwrap_or_else(|error| panic!("set {attribute} on {name}: {error:?}"));
}

/// Returns one attribute of a queue as the emulator reports it.
pub async fn get_attribute(
    client: &aws_sdk_sqs::Client,
    name: &str,
    attribute: &str,
) -> Option<String> {
    let url = queue_url(client, name).await;
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .expect("get attributes")
        .attributes
        .unwrap_or_default()
        .get(&QueueAttributeName::from(attribute))
        .cloned()
}

/// Returns the shipped spec's text.
pub fn shipped_spec() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("queues.yaml"))
        .expect("read queues.yaml")
}

/// Returns the run id of this test process, for names that must differ from earlier runs
/// against the same emulator.
pub fn current_run_id() -> String {
    run_id()
}

/// Returns an IAM client for the emulator, for roles created in test set-up.
pub async fn iam_client() -> aws_sdk_iam::Client {
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
        .region(aws_sdk_iam::config::Region::new(REGION))
        .endpoint_url(endpoint())
        .credentials_provider(aws_sdk_iam::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .build();
    aws_sdk_iam::Client::from_conf(config)
}

/// The services of the shipped spec, which an environment maps to IAM roles.
pub const SHIPPED_SERVICES: &[&str] = &[
    "trip-service",
    "driver-service",
    "payment-service",
    "notification-service",
    "analytics-service",
    "provider-sync",
    "webhook-worker",
    "assignment-service",
    "accounting-service",
];

/// Creates a workspace for the shipped spec whose environment maps every service, and an
/// operators role, to roles it creates in the emulator.
pub async fn shipped_workspace(name: &str) -> Workspace {
    let run = current_run_id();
    let role_of = |service: &str| format!("it-{name}-{run}-{service}");
    let mut mapping = String::from("services:\n");
    for service in SHIPPED_SERVICES {
        mapping.push_str(&format!("  {service}: {}\n", role_of(service)));
    }
    mapping.push_str(&format!("operators_role: {}\n", role_of("operators")));
    let workspace = Workspace::with_environment(name, &shipped_spec(), &mapping);

    let iam = iam_client().await;
    for role in SHIPPED_SERVICES
        .iter()
        .copied()
        .chain(["operators"])
        .map(role_of)
    {
        create_role(&iam, &role).await;
    }
    workspace
}

/// Creates an IAM role in the emulator.
pub async fn create_role(iam: &aws_sdk_iam::Client, role: &str) {
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    iam.create_role()
        .role_name(role)
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap_or_else(|error| panic!("create role {role}: {error:?}"));
}

/// Returns a CloudWatch client for the emulator, for alarms changed out of band.
pub async fn cloudwatch_client() -> aws_sdk_cloudwatch::Client {
    let config = aws_sdk_cloudwatch::Config::builder()
        .behavior_version(aws_sdk_cloudwatch::config::BehaviorVersion::latest())
        .region(aws_sdk_cloudwatch::config::Region::new(REGION))
        .endpoint_url(endpoint())
        .credentials_provider(aws_sdk_cloudwatch::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .build();
    aws_sdk_cloudwatch::Client::from_conf(config)
}

/// Returns an SNS client for the emulator, for topics changed out of band.
pub async fn sns_client() -> aws_sdk_sns::Client {
    let config = aws_sdk_sns::Config::builder()
        .behavior_version(aws_sdk_sns::config::BehaviorVersion::latest())
        .region(aws_sdk_sns::config::Region::new(REGION))
        .endpoint_url(endpoint())
        .credentials_provider(aws_sdk_sns::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .build();
    aws_sdk_sns::Client::from_conf(config)
}

/// Returns the ARN of a queue by URL.
pub async fn queue_arn_of(client: &aws_sdk_sqs::Client, url: &str) -> String {
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap_or_else(|error| panic!("get the ARN of {url}: {error:?}"))
        .attributes
        .unwrap_or_default()
        .remove(&QueueAttributeName::QueueArn)
        .unwrap_or_else(|| panic!("no QueueArn for {url}"))
}

/// Returns a queue policy that lets the SNS topic `topic_arn` send messages to `queue_arn`,
/// as SNS needs before it delivers to a queue.
pub fn topic_send_policy(queue_arn: &str, topic_arn: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AllowTopicToSend",
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
        }],
    })
    .to_string()
}

/// Receives the messages a queue contains now, with every message and system attribute, in
/// batches of up to 10 until a receive that waits one second finds none. Deletes nothing, so
/// the messages become visible again after the visibility timeout.
pub async fn receive_all(
    client: &aws_sdk_sqs::Client,
    url: &str,
) -> Vec<aws_sdk_sqs::types::Message> {
    let mut received = Vec::new();
    loop {
        let batch = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_attribute_names("All")
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap_or_else(|error| panic!("receive from {url}: {error:?}"))
            .messages
            .unwrap_or_default();
        if batch.is_empty() {
            return received;
        }
        received.extend(batch);
    }
}
