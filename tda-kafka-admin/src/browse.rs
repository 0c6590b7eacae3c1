//! `Admin::browse`: a bounded page of raw records (bytes, not lossy text) for
//! message browsers such as the web console. Partitions are assigned
//! directly (no group, nothing committed) and reading stops at the log end
//! that was current when the call started.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message as _};
use rdkafka::{Offset, TopicPartitionList};

use crate::{Admin, AdminError, Result, Tp};

/// Where a page of records starts, per partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrowseFrom {
    /// The earliest offset.
    Beginning,
    /// The last `limit` records of each partition.
    End,
    /// This offset (clamped to the partition's range).
    Offset(i64),
    /// The first offset with a timestamp >= this (ms since the epoch).
    Timestamp(i64),
}

/// What to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowseRequest {
    /// Topic.
    pub topic: String,
    /// Only these partitions (all when empty).
    pub partitions: Vec<i32>,
    /// Start position.
    pub from: BrowseFrom,
    /// At most this many records are returned (with [`BrowseFrom::End`]: the
    /// newest `limit` by timestamp across the browsed partitions).
    pub limit: usize,
    /// At most this many records are read (a filter may drop some); at least `limit`.
    pub scan_limit: usize,
}

/// A record as stored: key, headers and value as bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Timestamp, ms since the epoch.
    pub timestamp: Option<i64>,
    /// Key bytes.
    pub key: Option<Vec<u8>>,
    /// Headers (a header without value has `None`).
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Value bytes (`None` for a tombstone).
    pub value: Option<Vec<u8>>,
}

/// The result of [`Admin::browse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowsePage {
    /// Records in (partition, offset) order, at most `limit`.
    pub records: Vec<RawRecord>,
    /// Records read, including the ones the filter dropped.
    pub scanned: usize,
    /// Earliest and log-end offset of each browsed partition when the call started.
    pub watermarks: BTreeMap<i32, (i64, i64)>,
}

impl Admin {
    /// Reads a bounded page of records of `req.topic`, handing each to
    /// `keep` (a filter; return `true` to keep the record). Stops when
    /// `limit` records were kept, `scan_limit` were read, every partition
    /// reached the log end it had when the call started, or the client's
    /// timeout passed.
    pub async fn browse<F>(&self, req: &BrowseRequest, keep: F) -> Result<BrowsePage>
    where
        F: FnMut(&RawRecord) -> bool + Send + 'static,
    {
        let info = self.topic_metadata(&req.topic).await?;
        let all: Vec<i32> = info.partitions.iter().map(|p| p.partition).collect();
        let parts: Vec<i32> = if req.partitions.is_empty() {
            all
        } else {
            for p in &req.partitions {
                if !all.contains(p) {
                    return Err(AdminError::input(
                        format!("partition {p}"),
                        format!("topic {} has partitions {all:?}", req.topic),
                    ));
                }
            }
            req.partitions.clone()
        };
        let tps: Vec<Tp> = parts.iter().map(|p| (req.topic.clone(), *p)).collect();
        let marks = self.watermarks(&tps).await?;
        let by_time = match req.from {
            BrowseFrom::Timestamp(ts) => Some(self.list_offsets(&tps, Offset::Offset(ts)).await?),
            _ => None,
        };
        let limit = req.limit.max(1);
        let mut starts = BTreeMap::new();
        for (tp, (lo, hi)) in &marks {
            let start = match req.from {
                BrowseFrom::Beginning => *lo,
                BrowseFrom::End => (*hi - limit as i64).max(*lo),
                BrowseFrom::Offset(o) => o.clamp(*lo, *hi),
                BrowseFrom::Timestamp(_) => by_time
                    .as_ref()
                    .and_then(|m| m.get(tp).copied())
                    .unwrap_or(*hi)
                    .clamp(*lo, *hi),
            };
            starts.insert(tp.1, (start, *hi));
        }
        let watermarks = marks.iter().map(|(tp, w)| (tp.1, *w)).collect();
        let consumer = self.helper_consumer(None)?;
        let topic = req.topic.clone();
        // From the end every partition contributes its last `limit` records;
        // the newest `limit` of them are kept.
        let from_end = req.from == BrowseFrom::End;
        let read_limit = if from_end {
            limit * parts.len().max(1)
        } else {
            limit
        };
        let scan_limit = req.scan_limit.max(read_limit);
        let timeout = self.timeout;
        let (mut records, scanned) = tokio::task::spawn_blocking(move || {
            read_page(
                &consumer, &topic, &starts, read_limit, scan_limit, timeout, keep,
            )
        })
        .await
        .map_err(|e| AdminError::input("browse", format!("reader task failed: {e}")))??;
        if from_end && records.len() > limit {
            records.sort_by_key(|r| (r.timestamp.unwrap_or(i64::MIN), r.partition, r.offset));
            records.drain(..records.len() - limit);
            records.sort_by_key(|r| (r.partition, r.offset));
        }
        Ok(BrowsePage {
            records,
            scanned,
            watermarks,
        })
    }
}

fn read_page<F>(
    consumer: &BaseConsumer,
    topic: &str,
    starts: &BTreeMap<i32, (i64, i64)>,
    limit: usize,
    scan_limit: usize,
    timeout: Duration,
    mut keep: F,
) -> Result<(Vec<RawRecord>, usize)>
where
    F: FnMut(&RawRecord) -> bool,
{
    let mut open: BTreeSet<i32> = starts
        .iter()
        .filter(|(_, (s, hi))| s < hi)
        .map(|(p, _)| *p)
        .collect();
    if open.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let mut tpl = TopicPartitionList::new();
    for p in &open {
        let (start, _) = starts[p];
        tpl.add_partition_offset(topic, *p, Offset::Offset(start))
            .map_err(AdminError::kafka("assign"))?;
    }
    consumer.assign(&tpl).map_err(AdminError::kafka("assign"))?;
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    let mut scanned = 0;
    while !open.is_empty() && out.len() < limit && scanned < scan_limit {
        if Instant::now() > deadline {
            break;
        }
        let m = match consumer.poll(Duration::from_millis(200)) {
            None => continue,
            Some(Err(e)) => {
                return Err(AdminError::Kafka {
                    operation: "browse",
                    source: e,
                })
            }
            Some(Ok(m)) => m,
        };
        let p = m.partition();
        let Some((_, hi)) = starts.get(&p) else {
            continue;
        };
        if m.offset() >= *hi {
            open.remove(&p);
            continue;
        }
        if m.offset() + 1 >= *hi {
            open.remove(&p);
        }
        scanned += 1;
        let rec = RawRecord {
            partition: p,
            offset: m.offset(),
            timestamp: m.timestamp().to_millis(),
            key: m.key().map(<[u8]>::to_vec),
            headers: m
                .headers()
                .map(|hs| {
                    hs.iter()
                        .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                        .collect()
                })
                .unwrap_or_default(),
            value: m.payload().map(<[u8]>::to_vec),
        };
        if keep(&rec) {
            out.push(rec);
        }
    }
    out.sort_by_key(|r| (r.partition, r.offset));
    Ok((out, scanned))
}
