//! `sqsform outputs`: queue URLs and ARNs for services to read.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{CommandError, Context, Status, connect, load_spec};
use crate::cli::{OutputFormat, Target};
use crate::cloud::{Cloud, queue_name_from_url};

/// The name, URL and ARN of one queue.
#[derive(Debug, Serialize)]
struct QueueOutput {
    name: String,
    url: String,
    arn: String,
}

/// Prints every queue's URL and ARN by its spec name. Fails when a queue does not exist yet.
pub async fn outputs(
    context: &mut Context<'_>,
    target: &Target,
    format: OutputFormat,
) -> Result<Status, CommandError> {
    let desired = load_spec(context, &target.env)?;
    let cloud = connect(&desired).await?;
    let urls: BTreeMap<String, String> = cloud
        .list_queues(&desired.prefix)
        .await?
        .into_iter()
        .map(|url| (queue_name_from_url(&url).to_string(), url))
        .collect();

    let mut found = BTreeMap::new();
    let mut missing = Vec::new();
    for queue in &desired.queues {
        match urls.get(&queue.name) {
            Some(url) => {
                found.insert(
                    queue.key.clone(),
                    QueueOutput {
                        name: queue.name.clone(),
                        url: url.clone(),
                        arn: queue.arn.clone(),
                    },
                );
            }
            None => missing.push(queue.name.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(CommandError::MissingQueues {
            environment: desired.environment.clone(),
            missing,
        });
    }

    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *context.stdout, &found)
                .map_err(std::io::Error::other)?;
            writeln!(context.stdout)?;
        }
        OutputFormat::Env => {
            let mut names: BTreeMap<String, &str> = BTreeMap::new();
            for key in found.keys() {
                let variable = env_variable_stem(key);
                if let Some(other) = names.insert(variable.clone(), key) {
                    return Err(CommandError::OutputCollision {
                        kind: "queues",
                        variable: format!("{variable}_QUEUE_URL"),
                        first: other.to_string(),
                        second: key.clone(),
                    });
                }
            }
            let topics = topic_arns(&cloud, &desired).await?;
            for (variable, key) in &names {
                let output = &found[*key];
                writeln!(context.stdout, "{variable}_QUEUE_URL={}", output.url)?;
                writeln!(context.stdout, "{variable}_QUEUE_ARN={}", output.arn)?;
            }
            for (variable, arn) in &topics {
                writeln!(context.stdout, "{variable}_TOPIC_ARN={arn}")?;
            }
        }
    }
    Ok(Status::Success)
}

/// Returns each spec topic's ARN by its variable stem, after checking with one ListTopics
/// listing that every topic exists.
// NOTE: the JSON format lists queues only, because its keys are spec names, which a queue
// and a topic may share (trip-events is both in the DriversKlub spec).
async fn topic_arns(
    cloud: &impl Cloud,
    desired: &crate::model::DesiredState,
) -> Result<BTreeMap<String, String>, CommandError> {
    if desired.topics.is_empty() {
        return Ok(BTreeMap::new());
    }
    let live: std::collections::BTreeSet<String> = cloud.list_topics().await?.into_iter().collect();
    let missing: Vec<String> = desired
        .topics
        .iter()
        .filter(|topic| !live.contains(&topic.arn))
        .map(|topic| topic.name.clone())
        .collect();
    if !missing.is_empty() {
        return Err(CommandError::MissingTopics {
            environment: desired.environment.clone(),
            missing,
        });
    }

    let mut arns: BTreeMap<String, String> = BTreeMap::new();
    let mut keys: BTreeMap<String, &str> = BTreeMap::new();
    for topic in &desired.topics {
        let variable = env_variable_stem(&topic.key);
        if let Some(other) = keys.insert(variable.clone(), &topic.key) {
            return Err(CommandError::OutputCollision {
                kind: "topics",
                variable: format!("{variable}_TOPIC_ARN"),
                first: other.to_string(),
                second: topic.key.clone(),
            });
        }
        arns.insert(variable, topic.arn.clone());
    }
    Ok(arns)
}

/// Turns a spec name into an environment variable stem: `payment-events.fifo` becomes
/// `PAYMENT_EVENTS_FIFO`, and a leading digit gets an underscore before it, because shell
/// variable names cannot start with one.
pub fn env_variable_stem(key: &str) -> String {
    let stem: String = key
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() {
                character.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if stem.starts_with(|character: char| character.is_ascii_digit()) {
        format!("_{stem}")
    } else {
        stem
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_stem_replaces_separators() {
        assert_eq!(
            env_variable_stem("payment-events-dlq.fifo"),
            "PAYMENT_EVENTS_DLQ_FIFO"
        );
        assert_eq!(env_variable_stem("trip-events"), "TRIP_EVENTS");
        assert_eq!(env_variable_stem("9lives"), "_9LIVES");
    }
}
