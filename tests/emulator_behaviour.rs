//! Emulator facts sqsform depends on, checked through the AWS SDK.
//!
//! scripts/moto_launcher.py corrects three moto deviations from SQS before the server starts;
//! the first three tests fail on an uncorrected moto. The others pin moto behaviour that the
//! semantic comparison in `plan` must absorb.

mod common;

use aws_sdk_sqs::types::QueueAttributeName;
use common::{get_attribute, queue_url, set_attribute, sqs_client};

async fn fresh_queue(client: &aws_sdk_sqs::Client, name: &str) -> String {
    let _ = client
        .delete_queue()
        .queue_url(format!("{}/123456789012/{name}", common::endpoint()))
        .send()
        .await;
    client
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("URL")
}

#[tokio::test]
async fn policy_survives_unrelated_attribute_change() {
    let client = sqs_client().await;
    let name = "behaviour-policy-kept";
    fresh_queue(&client, name).await;
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sqs:SendMessage","Resource":"*"}]}"#;
    set_attribute(&client, name, "Policy", policy).await;

    set_attribute(&client, name, "VisibilityTimeout", "45").await;

    let stored_policy = get_attribute(&client, name, "Policy")
        .await
        .expect("policy kept");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stored_policy).unwrap(),
        serde_json::from_str::<serde_json::Value>(policy).unwrap()
    );
    set_attribute(&client, name, "Policy", "").await;
    assert_eq!(get_attribute(&client, name, "Policy").await, None);
}

#[tokio::test]
async fn redrive_allow_policy_round_trips() {
    let client = sqs_client().await;
    let name = "behaviour-redrive-allow";
    fresh_queue(&client, name).await;
    let allow = r#"{"redrivePermission":"byQueue","sourceQueueArns":["arn:aws:sqs:us-east-1:123456789012:behaviour-source"]}"#;

    set_attribute(&client, name, "RedriveAllowPolicy", allow).await;
    let stored = get_attribute(&client, name, "RedriveAllowPolicy")
        .await
        .expect("stored");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stored).unwrap(),
        serde_json::from_str::<serde_json::Value>(allow).unwrap()
    );

    set_attribute(&client, name, "RedriveAllowPolicy", "").await;
    assert_eq!(
        get_attribute(&client, name, "RedriveAllowPolicy").await,
        None
    );
}

#[tokio::test]
async fn kms_key_turns_sse_sqs_off() {
    let client = sqs_client().await;
    let name = "behaviour-kms";
    fresh_queue(&client, name).await;
    assert_eq!(
        get_attribute(&client, name, "SqsManagedSseEnabled")
            .await
            .as_deref(),
        Some("true")
    );

    set_attribute(&client, name, "KmsMasterKeyId", "alias/behaviour").await;

    assert_eq!(
        get_attribute(&client, name, "SqsManagedSseEnabled")
            .await
            .as_deref(),
        Some("false")
    );
    assert_eq!(
        get_attribute(&client, name, "KmsDataKeyReusePeriodSeconds")
            .await
            .as_deref(),
        Some("300")
    );
}

#[tokio::test]
async fn moto_returns_receive_count_as_number() {
    let client = sqs_client().await;
    let target = "behaviour-count-dlq";
    let source = "behaviour-count";
    fresh_queue(&client, target).await;
    fresh_queue(&client, source).await;
    let redrive = format!(
        r#"{{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:{target}","maxReceiveCount":"5"}}"#
    );

    set_attribute(&client, source, "RedrivePolicy", &redrive).await;

    // moto turns the string into a number, so only a unit test can feed the plan the string.
    let stored: serde_json::Value = serde_json::from_str(
        &get_attribute(&client, source, "RedrivePolicy")
            .await
            .expect("stored"),
    )
    .unwrap();
    assert_eq!(stored["maxReceiveCount"], serde_json::json!(5));
}

#[tokio::test]
async fn moto_reserializes_policy_text() {
    let client = sqs_client().await;
    let name = "behaviour-policy-text";
    let url = fresh_queue(&client, name).await;
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*","Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:123456789012:t"}}}]}"#;
    client
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::Policy, policy)
        .send()
        .await
        .expect("set policy");

    // The text comes back with other spacing, so plans must compare policies by meaning.
    let stored = get_attribute(&client, name, "Policy")
        .await
        .expect("policy");
    assert_ne!(stored, policy);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stored).unwrap(),
        serde_json::from_str::<serde_json::Value>(policy).unwrap()
    );
    assert_eq!(queue_url(&client, name).await, url);
}
