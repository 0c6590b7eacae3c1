//! `logs` of a local member: the tail of its log file, then (following)
//! whatever is appended, polled twice a second.

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt};

use super::LocalProvider;
use crate::{ClusterError, Result, ServiceKind, StackMember};

impl LocalProvider {
    /// The output of `service` (`kafka-1`, `zookeeper-1`, `schema-registry`,
    /// `kafka-connect`, `redis`, `kafka-ui`).
    pub fn logs(
        &self,
        service: &str,
        follow: bool,
        tail: Option<usize>,
    ) -> Result<BoxStream<'static, Result<String>>> {
        let member =
            match service {
                "schema-registry" | "registry" => StackMember::Service(ServiceKind::SchemaRegistry),
                "kafka-connect" | "connect" => StackMember::Service(ServiceKind::Connect),
                "redis" => StackMember::Service(ServiceKind::Redis),
                "kafka-ui" | "console" => StackMember::Service(ServiceKind::Ui),
                other => match (
                    other.strip_prefix("kafka-").and_then(|n| n.parse().ok()),
                    other
                        .strip_prefix("zookeeper-")
                        .and_then(|n| n.parse().ok()),
                ) {
                    (Some(id), _) => StackMember::Node(id),
                    (None, Some(n)) => StackMember::Service(ServiceKind::Zookeeper(n)),
                    (None, None) => return Err(ClusterError::UnknownMember {
                        name: service.into(),
                        known:
                            "kafka-N, zookeeper-N, schema-registry, kafka-connect, redis, kafka-ui"
                                .into(),
                    }),
                },
            };
        let path = self.log_file(member);
        let text = std::fs::read(&path).map_err(ClusterError::io("cannot read", &path))?;
        let text = String::from_utf8_lossy(&text).into_owned();
        let first = match tail {
            Some(n) => crate::dist::tail_lines(&text, n) + "\n",
            None => text.clone(),
        };
        let offset = text.len() as u64;
        let head = stream::once(async move { Ok(first) });
        if !follow {
            return Ok(head.boxed());
        }
        Ok(head
            .chain(stream::unfold((path, offset), follow_file))
            .boxed())
    }
}

async fn follow_file((path, offset): (PathBuf, u64)) -> Option<(Result<String>, (PathBuf, u64))> {
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let read = (|| {
            let mut f = std::fs::File::open(&path)?;
            let len = f.metadata()?.len();
            // A truncated (recreated) log starts over.
            let from = if len < offset { 0 } else { offset };
            f.seek(SeekFrom::Start(from))?;
            let mut buf = Vec::new();
            f.read_to_end(&mut buf)?;
            Ok::<_, std::io::Error>((from + buf.len() as u64, buf))
        })();
        match read {
            Ok((_, buf)) if buf.is_empty() => continue,
            Ok((next, buf)) => {
                return Some((Ok(String::from_utf8_lossy(&buf).into_owned()), (path, next)))
            }
            Err(e) => {
                return Some((
                    Err(ClusterError::io("cannot read", &path)(e)),
                    (path, offset),
                ))
            }
        }
    }
}
