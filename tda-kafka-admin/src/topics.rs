use std::collections::BTreeMap;

use rdkafka::admin::{AdminOptions, NewPartitions, NewTopic, TopicReplication};
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

impl EnsureOutcome {
    /// `created` or `already_exists`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::AlreadyExists => "already_exists",
        }
    }
}

impl Admin {
    /// Creates every topic that does not exist yet; existing topics are left
    /// untouched. `specs` must have their replication factor filled in (see
    /// `ClusterConfig::effective_topics`). Returns one outcome per topic, or
    /// the first broker error with its topic, once every topic has a leader
    /// for each partition on every broker (see [`Admin::wait_for_topics`]).
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
        let outcomes = results
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
            .collect::<Result<Vec<_>>>()?;
        // Return only once every topic is usable through any broker.
        let names: Vec<String> = outcomes.iter().map(|(n, _)| n.clone()).collect();
        self.wait_for_topics(&names).await?;
        Ok(outcomes)
    }
}

/// A topic in `topics list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct TopicSummary {
    /// Topic name.
    pub name: String,
    /// Partition count.
    pub partitions: usize,
    /// Replication factor.
    pub replication_factor: i16,
    /// Whether Kafka owns it.
    pub internal: bool,
}

/// `topics describe`: partitions with leader, replicas, ISR, and all configs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct TopicDescription {
    /// Topic name.
    pub name: String,
    /// Whether Kafka owns it.
    pub internal: bool,
    /// Replication factor.
    pub replication_factor: i16,
    /// Partitions, sorted by id.
    pub partitions: Vec<crate::PartitionInfo>,
    /// Every config entry; `is_default == false` marks values set on the topic.
    pub configs: Vec<crate::ConfigValue>,
}

/// A topic to create: name, optional partitions and replication factor
/// (broker defaults when `None`), topic-level configs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct CreateTopic {
    /// Topic name.
    pub name: String,
    /// Partitions; `None` = the broker's `num.partitions`.
    pub partitions: Option<i32>,
    /// Replication factor; `None` = the broker's `default.replication.factor`.
    pub replication_factor: Option<i16>,
    /// Topic-level configs.
    pub configs: BTreeMap<String, String>,
}

/// Splits `k=v,k=v` pairs; a piece without `=` continues the previous value
/// (so `cleanup.policy=compact,delete` stays one pair).
pub fn parse_key_values(text: &str) -> Result<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    for piece in text.split(',') {
        let piece = piece.trim();
        if piece.is_empty() {
            continue;
        }
        match piece.split_once('=') {
            Some((k, v)) => {
                let k = k.trim();
                if k.is_empty() {
                    return Err(AdminError::input(
                        format!("setting {piece:?}"),
                        "the key before '=' is empty",
                    ));
                }
                out.push((k.to_owned(), v.trim().to_owned()));
            }
            None => match out.last_mut() {
                Some((_, v)) => {
                    v.push(',');
                    v.push_str(piece);
                }
                None => {
                    return Err(AdminError::input(
                        format!("setting {piece:?}"),
                        "expected key=value",
                    ))
                }
            },
        }
    }
    Ok(out)
}

impl CreateTopic {
    /// Parses the seed's option syntax: any number of arguments, each a
    /// comma-separated list of `key=value`, where `partitions` and
    /// `replication-factor` (or `replication_factor`) are the topic's shape and
    /// every other key is a topic config. E.g. `"partitions=5,replication-factor=3"`,
    /// `"cleanup.policy=compact"`.
    pub fn parse(name: &str, options: &[String]) -> Result<Self> {
        crate::validate_topic_name(name)?;
        let mut t = CreateTopic {
            name: name.to_owned(),
            ..Default::default()
        };
        for opt in options {
            for (k, v) in parse_key_values(opt)? {
                match k.as_str() {
                    "partitions" => {
                        let n: i32 = v.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                            AdminError::input(
                                format!("partitions={v}"),
                                "expected a whole number >= 1",
                            )
                        })?;
                        t.partitions = Some(n);
                    }
                    "replication-factor" | "replication_factor" | "replication.factor" => {
                        let n: i16 = v.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                            AdminError::input(
                                format!("replication-factor={v}"),
                                "expected a whole number >= 1",
                            )
                        })?;
                        t.replication_factor = Some(n);
                    }
                    _ => {
                        t.configs.insert(k, v);
                    }
                }
            }
        }
        Ok(t)
    }
}

fn config_detail(configs: &BTreeMap<String, String>) -> Option<String> {
    (!configs.is_empty()).then(|| {
        format!(
            "configs sent: {}",
            configs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

impl Admin {
    /// Topics, sorted by name; internal topics only when `include_internal`.
    pub async fn list_topics(&self, include_internal: bool) -> Result<Vec<TopicSummary>> {
        Ok(self
            .topics_metadata()
            .await?
            .into_iter()
            .filter(|t| include_internal || !t.internal)
            .map(|t| TopicSummary {
                replication_factor: t.replication_factor(),
                partitions: t.partitions.len(),
                internal: t.internal,
                name: t.name,
            })
            .collect())
    }

    /// Partitions and configs of `topic`.
    pub async fn describe_topic(&self, topic: &str) -> Result<TopicDescription> {
        let info = self.topic_metadata(topic).await?;
        let mut configs = self.topic_config_entries(&[topic.to_owned()]).await?;
        Ok(TopicDescription {
            replication_factor: info.replication_factor(),
            name: info.name,
            internal: info.internal,
            partitions: info.partitions,
            configs: configs.remove(topic).unwrap_or_default(),
        })
    }

    /// Creates topics in one batch; one result per topic, in order. Returns
    /// once every created topic has a leader for each partition on every
    /// broker (see [`Admin::wait_for_topics`]); a created topic that does not
    /// get there within the timeout is reported as
    /// [`AdminError::NotPropagated`].
    pub async fn create_topics(&self, topics: &[CreateTopic]) -> Result<Vec<Result<String>>> {
        for t in topics {
            crate::validate_topic_name(&t.name)?;
        }
        let configs: Vec<Vec<(String, String)>> = topics
            .iter()
            .map(|t| t.configs.clone().into_iter().collect())
            .collect();
        let new_topics: Vec<NewTopic<'_>> = topics
            .iter()
            .zip(&configs)
            .map(|(t, cfg)| {
                let rf = t.replication_factor.map_or(-1, i32::from);
                let mut nt = NewTopic::new(
                    &t.name,
                    t.partitions.unwrap_or(-1),
                    TopicReplication::Fixed(rf),
                );
                for (k, v) in cfg {
                    nt = nt.set(k, v);
                }
                nt
            })
            .collect();
        let opts = AdminOptions::new().operation_timeout(Some(self.timeout));
        let results = self
            .inner
            .create_topics(&new_topics, &opts)
            .await
            .map_err(AdminError::kafka("create topics"))?;
        let mut results: Vec<Result<String>> = results
            .into_iter()
            .zip(topics)
            .map(|(r, t)| {
                r.map_err(|(topic, code)| AdminError::Topic {
                    operation: "create",
                    detail: match code {
                        RDKafkaErrorCode::InvalidConfig | RDKafkaErrorCode::PolicyViolation => {
                            config_detail(&t.configs)
                        }
                        RDKafkaErrorCode::InvalidReplicationFactor => t
                            .replication_factor
                            .map(|rf| format!("replication factor {rf}")),
                        _ => None,
                    },
                    topic,
                    code,
                })
            })
            .collect();
        // A created topic reaches each broker's metadata asynchronously:
        // return only once every created topic is usable through any broker.
        let created: Vec<String> = results
            .iter()
            .filter_map(|r| r.as_ref().ok().cloned())
            .collect();
        let pending = self.await_topics(&created).await?;
        for r in &mut results {
            let Ok(name) = r else { continue };
            let wheres: Vec<String> = pending
                .iter()
                .filter(|(t, _)| t == name)
                .map(|(_, w)| w.clone())
                .collect();
            if !wheres.is_empty() {
                *r = Err(AdminError::NotPropagated {
                    what: format!("created topic {name}"),
                    timeout_ms: self.timeout.as_millis() as u64,
                    pending: wheres,
                });
            }
        }
        Ok(results)
    }

    /// Creates one topic.
    pub async fn create_topic(&self, topic: &CreateTopic) -> Result<()> {
        self.create_topics(std::slice::from_ref(topic))
            .await?
            .pop()
            .expect("one result per topic")
            .map(|_| ())
    }

    /// Deletes `topic`. Refuses internal topics, and every topic when
    /// `delete_enabled` is false (the profile's `delete.topic.enable`).
    pub async fn delete_topic(&self, topic: &str, delete_enabled: bool) -> Result<()> {
        crate::validate_topic_name(topic)?;
        if crate::is_internal_topic(topic) {
            return Err(AdminError::Refused {
                operation: "delete",
                target: topic.to_owned(),
                reason: "it is an internal Kafka topic".into(),
            });
        }
        if !delete_enabled {
            return Err(AdminError::Refused {
                operation: "delete",
                target: topic.to_owned(),
                reason:
                    "topic deletion is disabled in this profile (KAFKA_DELETE_TOPIC_ENABLE=false)"
                        .into(),
            });
        }
        self.topic_metadata(topic).await?;
        let opts = AdminOptions::new().operation_timeout(Some(self.timeout));
        let mut results = self
            .inner
            .delete_topics(&[topic], &opts)
            .await
            .map_err(AdminError::kafka("delete topics"))?;
        match results.pop() {
            Some(Err((topic, RDKafkaErrorCode::UnknownTopicOrPartition))) => {
                Err(AdminError::TopicNotFound { topic })
            }
            Some(Err((topic, code))) => Err(AdminError::Topic {
                operation: "delete",
                topic,
                code,
                detail: None,
            }),
            _ => self.wait_until_gone(topic).await,
        }
    }

    /// Polls until `topic` has disappeared from the metadata of every broker
    /// (deletion propagates asynchronously), bounded by the timeout;
    /// [`AdminError::NotPropagated`] names the brokers that still list it.
    /// On PLAINTEXT listeners each broker is asked directly; otherwise the
    /// metadata librdkafka fetches is checked.
    async fn wait_until_gone(&self, topic: &str) -> Result<()> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut wait = std::time::Duration::from_millis(20);
        loop {
            let still = self.brokers_knowing(topic).await?;
            if still.is_empty() {
                return Ok(());
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(AdminError::NotPropagated {
                    what: format!("deletion of topic {topic}"),
                    timeout_ms: self.timeout.as_millis() as u64,
                    pending: still
                        .into_iter()
                        .map(|b| format!("{topic} still listed by {b}"))
                        .collect(),
                });
            }
            tokio::time::sleep(wait.min(deadline - now)).await;
            wait = (wait * 2).min(std::time::Duration::from_millis(500));
        }
    }

    /// The brokers whose metadata still lists `topic`.
    async fn brokers_knowing(&self, topic: &str) -> Result<Vec<String>> {
        let names = [topic.to_owned()];
        let mut still = Vec::new();
        for b in self.metadata().await?.brokers {
            let addr = format!("{}:{}", b.host, b.port);
            let wher = format!("broker {} ({addr})", b.id);
            match crate::wire::topics_known_on(&addr, &names, &self.wire).await {
                Ok(known) if known.is_empty() => {}
                Ok(_) => still.push(wher),
                Err(e) => still.push(format!("{wher}: {e}")),
            }
        }
        Ok(still)
    }

    /// Sets (`Some`) or removes (`None`, back to the default) topic configs
    /// with IncrementalAlterConfigs, keeping every other topic-level override.
    /// Returns the overrides after the change (read back until they show it,
    /// within the timeout). The broker's error is surfaced with the keys.
    pub async fn update_topic_configs(
        &self,
        topic: &str,
        changes: &[(String, Option<String>)],
    ) -> Result<BTreeMap<String, String>> {
        self.topic_metadata(topic).await?;
        let rejected = crate::wire::incremental_alter_topic(
            &self.bootstrap_addrs(),
            topic,
            changes,
            &self.wire,
        )
        .await?;
        if let Some((code, message)) = rejected {
            return Err(AdminError::Topic {
                operation: "update",
                topic: topic.to_owned(),
                code: rdkafka::types::RDKafkaRespErr::try_from(i32::from(code))
                    .map(RDKafkaErrorCode::from)
                    .unwrap_or(RDKafkaErrorCode::Unknown),
                detail: Some(format!(
                    "keys: {}{}",
                    changes
                        .iter()
                        .map(|(k, v)| match v {
                            Some(v) => format!("{k}={v}"),
                            None => format!("{k} (reset)"),
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                    message
                        .map(|m| format!("; broker: {m}"))
                        .unwrap_or_default()
                )),
            });
        }
        // Config changes reach each broker's config cache asynchronously, and
        // DescribeConfigs is answered from the cache of whichever broker gets
        // it: ask every broker until all of them show the change.
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut wait = std::time::Duration::from_millis(20);
        loop {
            let mut seen = None;
            let mut pending = Vec::new();
            for b in self.metadata().await?.brokers {
                let addr = format!("{}:{}", b.host, b.port);
                let wher = format!("broker {} ({addr})", b.id);
                match crate::wire::topic_overrides_on(&addr, topic, &self.wire).await {
                    Ok(Some(now)) => {
                        let visible = changes
                            .iter()
                            .all(|(k, v)| now.get(k).map(String::as_str) == v.as_deref());
                        if visible {
                            seen = Some(now);
                        } else {
                            pending.push(wher);
                        }
                    }
                    Ok(None) => pending.push(format!("{wher}: topic unknown")),
                    Err(e) => pending.push(format!("{wher}: {e}")),
                }
            }
            if let (true, Some(now)) = (pending.is_empty(), seen) {
                return Ok(now);
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(AdminError::NotPropagated {
                    what: format!("config change of topic {topic}"),
                    timeout_ms: self.timeout.as_millis() as u64,
                    pending,
                });
            }
            tokio::time::sleep(wait.min(deadline - now)).await;
            wait = (wait * 2).min(std::time::Duration::from_millis(500));
        }
    }

    /// Grows `topic` to `total` partitions.
    pub async fn add_partitions(&self, topic: &str, total: usize) -> Result<()> {
        let info = self.topic_metadata(topic).await?;
        if total <= info.partitions.len() {
            return Err(AdminError::input(
                format!("partition count {total} for {topic}"),
                format!(
                    "the topic has {} partitions; Kafka can only add partitions",
                    info.partitions.len()
                ),
            ));
        }
        self.add_partitions_batch(&[(topic.to_owned(), total)])
            .await?
            .pop()
            .expect("one result")
    }

    pub(crate) async fn add_partitions_batch(
        &self,
        items: &[(String, usize)],
    ) -> Result<Vec<Result<()>>> {
        let parts: Vec<NewPartitions<'_>> = items
            .iter()
            .map(|(t, n)| NewPartitions::new(t, *n))
            .collect();
        let opts = AdminOptions::new().operation_timeout(Some(self.timeout));
        let res = self
            .inner
            .create_partitions(&parts, &opts)
            .await
            .map_err(AdminError::kafka("create partitions"))?;
        Ok(res
            .into_iter()
            .map(|r| {
                r.map(|_| ()).map_err(|(topic, code)| AdminError::Topic {
                    operation: "add partitions",
                    topic,
                    code,
                    detail: None,
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_create_syntax_parses() {
        let t =
            CreateTopic::parse("my_topic", &["partitions=5,replication-factor=3".into()]).unwrap();
        assert_eq!(t.partitions, Some(5));
        assert_eq!(t.replication_factor, Some(3));
        assert!(t.configs.is_empty());
        let c = CreateTopic::parse("compact_topic", &["cleanup.policy=compact".into()]).unwrap();
        assert_eq!(c.configs["cleanup.policy"], "compact");
        assert_eq!(c.partitions, None);
    }

    #[test]
    fn comma_inside_a_value_stays_in_the_value() {
        let kv = parse_key_values("cleanup.policy=compact,delete,retention.ms=5").unwrap();
        assert_eq!(
            kv,
            vec![
                ("cleanup.policy".into(), "compact,delete".into()),
                ("retention.ms".into(), "5".into())
            ]
        );
    }

    #[test]
    fn bad_options_are_rejected_with_the_setting() {
        let e = CreateTopic::parse("t", &["partitions=zero".into()]).unwrap_err();
        assert!(e.to_string().contains("partitions=zero"), "{e}");
        assert!(CreateTopic::parse("t", &["=5".into()]).is_err());
        assert!(CreateTopic::parse("bad name", &[]).is_err());
    }
}
