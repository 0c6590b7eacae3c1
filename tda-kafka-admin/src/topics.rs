use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::types::RDKafkaErrorCode;
use serde::Serialize;
use tda_kafka_config::TopicSpec;

use crate::{Admin, AdminError, Result};

/// What [`Admin::ensure_topics`] did with one topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EnsureOutcome {
    /// The topic was created.
    Created,
    /// The topic existed and was left as it is.
    AlreadyExists,
}

impl Admin {
    /// Creates every topic that does not exist yet; existing topics are left
    /// untouched. `specs` must have their replication factor filled in (see
    /// `ClusterConfig::effective_topics`). Returns one outcome per topic, or
    /// the first broker error with its topic.
    pub async fn ensure_topics(&self, specs: &[TopicSpec]) -> Result<Vec<(String, EnsureOutcome)>> {
        let configs: Vec<Vec<(String, String)>> = specs
            .iter()
            .map(|s| s.topic_configs().into_iter().collect())
            .collect();
        let new_topics: Vec<NewTopic<'_>> = specs
            .iter()
            .zip(&configs)
            .map(|(s, cfg)| {
                let rf = s.replication_factor.map_or(-1, i32::from);
                let mut t = NewTopic::new(&s.name, s.partitions, TopicReplication::Fixed(rf));
                for (k, v) in cfg {
                    t = t.set(k, v);
                }
                t
            })
            .collect();
        let opts = AdminOptions::new().operation_timeout(Some(self.timeout));
        let results = self
            .inner
            .create_topics(&new_topics, &opts)
            .await
            .map_err(AdminError::kafka("create topics"))?;
        results
            .into_iter()
            .map(|r| match r {
                Ok(name) => Ok((name, EnsureOutcome::Created)),
                Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => {
                    Ok((name, EnsureOutcome::AlreadyExists))
                }
                Err((topic, code)) => Err(AdminError::Topic {
                    operation: "create",
                    topic,
                    code,
                    detail: None,
                }),
            })
            .collect()
    }
}
