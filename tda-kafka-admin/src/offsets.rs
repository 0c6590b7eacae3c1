//! Earliest/latest offsets and offsets for a timestamp (ListOffsets through
//! librdkafka's `offsets_for_times`, batched per partition leader).

use std::collections::BTreeMap;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use crate::{Admin, AdminError, Result};

/// `(topic, partition)`.
pub type Tp = (String, i32);

impl Admin {
    /// A consumer on the same cluster and security settings; with `group` it
    /// can read and commit that group's offsets without joining it.
    pub(crate) fn helper_consumer(&self, group: Option<&str>) -> Result<BaseConsumer> {
        let mut cfg = self.config.clone();
        cfg.set("enable.auto.commit", "false");
        cfg.set("enable.auto.offset.store", "false");
        cfg.set("allow.auto.create.topics", "false");
        match group {
            Some(g) => cfg.set("group.id", g),
            None => cfg.set("group.id", "tda-kafka-admin-offsets"),
        };
        cfg.create()
            .map_err(AdminError::kafka("create helper consumer"))
    }

    /// Runs a blocking librdkafka call on a helper consumer off the async runtime.
    pub(crate) async fn with_consumer<T, F>(&self, group: Option<&str>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&BaseConsumer) -> Result<T> + Send + 'static,
    {
        let consumer = self.helper_consumer(group)?;
        tokio::task::spawn_blocking(move || f(&consumer))
            .await
            .expect("consumer task panicked")
    }

    /// For each partition, the offset found by `which`: `Offset::Beginning`
    /// (earliest), `Offset::End` (latest) or `Offset::Offset(ts)` (first offset
    /// with a timestamp >= ts; the latest offset when there is none).
    ///
    /// Transient leadership errors (e.g. right after a topic was created) are
    /// retried with a growing interval until the timeout.
    pub async fn list_offsets(&self, tps: &[Tp], which: Offset) -> Result<BTreeMap<Tp, i64>> {
        self.retrying("list offsets", || self.list_offsets_once(tps, which))
            .await
    }

    /// Runs `f` again while it fails with a retriable error (leadership moving,
    /// a topic just created and not yet known everywhere), with a growing
    /// interval, until the client's timeout has passed.
    pub(crate) async fn retrying<T, F, Fut>(&self, what: &str, mut f: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut wait = std::time::Duration::from_millis(50);
        loop {
            match f().await {
                Err(e) if e.is_retriable() && tokio::time::Instant::now() < deadline => {
                    tracing::debug!(error = %e, "{what}: retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(std::time::Duration::from_millis(1000));
                }
                other => return other,
            }
        }
    }

    async fn list_offsets_once(&self, tps: &[Tp], which: Offset) -> Result<BTreeMap<Tp, i64>> {
        if tps.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mut tpl = TopicPartitionList::with_capacity(tps.len());
        for (t, p) in tps {
            tpl.add_partition_offset(t, *p, which)
                .map_err(AdminError::kafka("build partition list"))?;
        }
        let timeout = self.timeout;
        let fallback_latest = matches!(which, Offset::Offset(_));
        let found = self
            .with_consumer(None, move |c| {
                c.offsets_for_times(tpl, timeout)
                    .map_err(AdminError::kafka("list offsets"))
            })
            .await?;
        let mut out = BTreeMap::new();
        let mut missing = Vec::new();
        for e in found.elements() {
            if let Err(err) = e.error() {
                return Err(AdminError::Kafka {
                    operation: "list offsets",
                    source: err,
                });
            }
            match e.offset() {
                Offset::Offset(o) => {
                    out.insert((e.topic().to_owned(), e.partition()), o);
                }
                _ => missing.push((e.topic().to_owned(), e.partition())),
            }
        }
        if !missing.is_empty() {
            if fallback_latest {
                let latest = Box::pin(self.list_offsets(&missing, Offset::End)).await?;
                out.extend(latest);
            } else {
                return Err(AdminError::input(
                    "partitions",
                    format!("no offsets returned for {missing:?}"),
                ));
            }
        }
        Ok(out)
    }

    /// Earliest and latest offsets of each partition.
    pub async fn watermarks(&self, tps: &[Tp]) -> Result<BTreeMap<Tp, (i64, i64)>> {
        let (lo, hi) = tokio::try_join!(
            self.list_offsets(tps, Offset::Beginning),
            self.list_offsets(tps, Offset::End)
        )?;
        Ok(lo
            .into_iter()
            .filter_map(|(k, l)| hi.get(&k).map(|h| (k, (l, *h))))
            .collect())
    }
}
