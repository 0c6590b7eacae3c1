//! A minimal Kafka protocol client for the calls librdkafka does not expose
//! (the controller id from `Metadata`, `DescribeLogDirs`,
//! `IncrementalAlterConfigs`), and for asking one given broker what its own
//! metadata and config cache show (propagation checks).
//!
//! It speaks PLAINTEXT only: one short-lived TCP connection per call, request
//! versions negotiated with `ApiVersions`, every step bounded by the caller's
//! timeout. For SSL/SASL clusters the callers report the affected fields as
//! unavailable instead of failing the whole operation.

use std::time::Duration;

use bytes::{Buf, BufMut, BytesMut};
use kafka_protocol::messages::api_versions_request::ApiVersionsRequest;
use kafka_protocol::messages::api_versions_response::ApiVersionsResponse;
use kafka_protocol::messages::describe_log_dirs_request::{
    DescribableLogDirTopic, DescribeLogDirsRequest,
};
use kafka_protocol::messages::describe_log_dirs_response::DescribeLogDirsResponse;
use kafka_protocol::messages::metadata_request::MetadataRequest;
use kafka_protocol::messages::metadata_response::MetadataResponse;
use kafka_protocol::messages::{RequestHeader, ResponseHeader, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{AdminError, Result};

/// A connection to one broker.
pub(crate) struct WireConn {
    stream: TcpStream,
    addr: String,
    correlation: i32,
    versions: Vec<(i16, i16, i16)>,
    timeout: Duration,
}

fn wire_err(addr: &str, reason: impl std::fmt::Display) -> AdminError {
    AdminError::Protocol {
        broker: addr.to_owned(),
        reason: reason.to_string(),
    }
}

impl WireConn {
    /// Connects to `addr` (`host:port`) and negotiates API versions.
    pub(crate) async fn connect(addr: &str, timeout: Duration) -> Result<Self> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| wire_err(addr, format!("connect timed out after {timeout:?}")))?
            .map_err(|e| wire_err(addr, e))?;
        let mut conn = Self {
            stream,
            addr: addr.to_owned(),
            correlation: 0,
            versions: Vec::new(),
            timeout,
        };
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("tda-kafka"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let resp: ApiVersionsResponse = conn.send_version(req, 3).await?;
        if resp.error_code != 0 {
            return Err(wire_err(
                addr,
                format!("ApiVersions error code {}", resp.error_code),
            ));
        }
        conn.versions = resp
            .api_keys
            .iter()
            .map(|k| (k.api_key, k.min_version, k.max_version))
            .collect();
        Ok(conn)
    }

    /// The highest version both sides support for request `R`.
    fn version_for<R: Request>(&self) -> Result<i16> {
        let (_, min, max) = self
            .versions
            .iter()
            .find(|(k, _, _)| *k == R::KEY)
            .copied()
            .ok_or_else(|| wire_err(&self.addr, format!("broker lacks API key {}", R::KEY)))?;
        let ours = R::VERSIONS;
        let v = max.min(ours.max);
        if v < min.max(ours.min) {
            return Err(wire_err(
                &self.addr,
                format!("no common version for API key {}", R::KEY),
            ));
        }
        Ok(v)
    }

    /// Sends `req` at the negotiated version.
    pub(crate) async fn send<R: Request>(&mut self, req: R) -> Result<R::Response> {
        let v = self.version_for::<R>()?;
        self.send_version(req, v).await
    }

    async fn send_version<R: Request>(&mut self, req: R, version: i16) -> Result<R::Response> {
        let timeout = self.timeout;
        let addr = self.addr.clone();
        tokio::time::timeout(timeout, self.roundtrip(req, version))
            .await
            .map_err(|_| wire_err(&addr, format!("no answer within {timeout:?}")))?
    }

    async fn roundtrip<R: Request>(&mut self, req: R, version: i16) -> Result<R::Response> {
        self.correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str("tda-kafka-admin")));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, R::header_version(version))
            .map_err(|e| wire_err(&self.addr, e))?;
        req.encode(&mut body, version)
            .map_err(|e| wire_err(&self.addr, e))?;
        let mut frame = BytesMut::with_capacity(body.len() + 4);
        frame.put_i32(body.len() as i32);
        frame.extend_from_slice(&body);
        self.stream
            .write_all(&frame)
            .await
            .map_err(|e| wire_err(&self.addr, e))?;
        let len = self
            .stream
            .read_i32()
            .await
            .map_err(|e| wire_err(&self.addr, e))?;
        if !(0..=256 * 1024 * 1024).contains(&len) {
            return Err(wire_err(&self.addr, format!("bad frame length {len}")));
        }
        let mut buf = vec![0u8; len as usize];
        self.stream
            .read_exact(&mut buf)
            .await
            .map_err(|e| wire_err(&self.addr, e))?;
        let mut bytes = bytes::Bytes::from(buf);
        let rh = ResponseHeader::decode(&mut bytes, R::Response::header_version(version))
            .map_err(|e| wire_err(&self.addr, e))?;
        if rh.correlation_id != self.correlation {
            return Err(wire_err(
                &self.addr,
                format!(
                    "correlation id mismatch: sent {}, got {}",
                    self.correlation, rh.correlation_id
                ),
            ));
        }
        let resp = R::Response::decode(&mut bytes, version).map_err(|e| wire_err(&self.addr, e))?;
        if bytes.has_remaining() {
            tracing::debug!(broker = %self.addr, left = bytes.remaining(), "trailing bytes in response");
        }
        Ok(resp)
    }
}

/// Cluster id and controller id from a `Metadata` request without topics.
pub(crate) async fn controller(
    addrs: &[String],
    timeout: Duration,
) -> Result<(Option<String>, i32)> {
    let mut last = None;
    for addr in addrs {
        match controller_from(addr, timeout).await {
            Ok(r) => return Ok(r),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| wire_err("", "no bootstrap servers")))
}

async fn controller_from(addr: &str, timeout: Duration) -> Result<(Option<String>, i32)> {
    let mut conn = WireConn::connect(addr, timeout).await?;
    let req = MetadataRequest::default().with_topics(Some(Vec::new()));
    let resp: MetadataResponse = conn.send(req).await?;
    Ok((resp.cluster_id.map(|s| s.to_string()), resp.controller_id.0))
}

/// Bytes on disk per (topic, partition) on one broker, summed over its log dirs.
pub(crate) async fn log_dir_sizes(
    addr: &str,
    topics: Option<&[(String, Vec<i32>)]>,
    timeout: Duration,
) -> Result<Vec<(String, i32, i64)>> {
    let mut conn = WireConn::connect(addr, timeout).await?;
    let req = DescribeLogDirsRequest::default().with_topics(topics.map(|ts| {
        ts.iter()
            .map(|(t, ps)| {
                DescribableLogDirTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(t.clone())))
                    .with_partitions(ps.clone())
            })
            .collect()
    }));
    let resp: DescribeLogDirsResponse = conn.send(req).await?;
    if resp.error_code != 0 {
        return Err(wire_err(
            addr,
            format!("DescribeLogDirs error code {}", resp.error_code),
        ));
    }
    let mut out = Vec::new();
    for dir in resp.results {
        if dir.error_code != 0 {
            continue;
        }
        for t in dir.topics {
            for p in t.partitions {
                if !p.is_future_key {
                    out.push((t.name.0.to_string(), p.partition_index, p.partition_size));
                }
            }
        }
    }
    Ok(out)
}

/// Whether `props` describe a cluster this module can talk to.
pub(crate) fn plaintext(security_protocol: Option<&str>) -> bool {
    security_protocol.is_none_or(|p| p.eq_ignore_ascii_case("plaintext"))
}

/// IncrementalAlterConfigs on one topic: `Some(v)` sets, `None` deletes the
/// override. Returns the broker's error code and message when it rejects it.
pub(crate) async fn incremental_alter_topic(
    addrs: &[String],
    topic: &str,
    changes: &[(String, Option<String>)],
    timeout: Duration,
) -> Result<Option<(i16, Option<String>)>> {
    use kafka_protocol::messages::incremental_alter_configs_request::{
        AlterConfigsResource, AlterableConfig, IncrementalAlterConfigsRequest,
    };
    let mut last = None;
    for addr in addrs {
        let mut conn = match WireConn::connect(addr, timeout).await {
            Ok(c) => c,
            Err(e) => {
                last = Some(e);
                continue;
            }
        };
        let configs = changes
            .iter()
            .map(|(k, v)| {
                AlterableConfig::default()
                    .with_name(StrBytes::from_string(k.clone()))
                    .with_config_operation(if v.is_some() { 0 } else { 1 })
                    .with_value(v.clone().map(StrBytes::from_string))
            })
            .collect();
        let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
            AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(StrBytes::from_string(topic.to_owned()))
                .with_configs(configs),
        ]);
        let resp = conn.send(req).await?;
        return Ok(resp
            .responses
            .into_iter()
            .find(|r| r.error_code != 0)
            .map(|r| (r.error_code, r.error_message.map(|m| m.to_string()))));
    }
    Err(last.unwrap_or_else(|| wire_err("", "no bootstrap servers")))
}

/// Of `topics`, those that `addr`'s own metadata does not show yet with a
/// leader for every partition (a new topic reaches each broker's metadata
/// cache asynchronously). Never auto-creates.
pub(crate) async fn topics_not_ready_on(
    addr: &str,
    topics: &[String],
    timeout: Duration,
) -> Result<Vec<String>> {
    use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
    let mut conn = WireConn::connect(addr, timeout).await?;
    let req = MetadataRequest::default()
        .with_allow_auto_topic_creation(false)
        .with_topics(Some(
            topics
                .iter()
                .map(|t| {
                    MetadataRequestTopic::default()
                        .with_name(Some(TopicName(StrBytes::from_string(t.clone()))))
                })
                .collect(),
        ));
    let resp: MetadataResponse = conn.send(req).await?;
    Ok(topics
        .iter()
        .filter(|name| {
            !resp.topics.iter().any(|t| {
                t.name
                    .as_ref()
                    .is_some_and(|n| n.0.as_str() == name.as_str())
                    && t.error_code == 0
                    && !t.partitions.is_empty()
                    && t.partitions
                        .iter()
                        .all(|p| p.error_code == 0 && p.leader_id.0 >= 0)
            })
        })
        .cloned()
        .collect())
}

/// The topics of `topics` that `addr`'s metadata still knows (any answer but
/// UNKNOWN_TOPIC_OR_PARTITION), e.g. while a deletion propagates.
pub(crate) async fn topics_known_on(
    addr: &str,
    topics: &[String],
    timeout: Duration,
) -> Result<Vec<String>> {
    use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
    const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    let mut conn = WireConn::connect(addr, timeout).await?;
    let req = MetadataRequest::default()
        .with_allow_auto_topic_creation(false)
        .with_topics(Some(
            topics
                .iter()
                .map(|t| {
                    MetadataRequestTopic::default()
                        .with_name(Some(TopicName(StrBytes::from_string(t.clone()))))
                })
                .collect(),
        ));
    let resp: MetadataResponse = conn.send(req).await?;
    Ok(topics
        .iter()
        .filter(|name| {
            resp.topics.iter().any(|t| {
                t.name
                    .as_ref()
                    .is_some_and(|n| n.0.as_str() == name.as_str())
                    && t.error_code != UNKNOWN_TOPIC_OR_PARTITION
            })
        })
        .cloned()
        .collect())
}

/// The configs set on `topic` itself (source `DYNAMIC_TOPIC_CONFIG`), as
/// `addr`'s own config cache reports them; `None` when that broker does not
/// know the topic yet.
pub(crate) async fn topic_overrides_on(
    addr: &str,
    topic: &str,
    timeout: Duration,
) -> Result<Option<std::collections::BTreeMap<String, String>>> {
    use kafka_protocol::messages::describe_configs_request::{
        DescribeConfigsRequest, DescribeConfigsResource,
    };
    let mut conn = WireConn::connect(addr, timeout).await?;
    let req =
        DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(StrBytes::from_string(topic.to_owned()))
            .with_configuration_keys(None)]);
    let resp = conn.send(req).await?;
    let Some(res) = resp.results.into_iter().next() else {
        return Err(wire_err(addr, "DescribeConfigs returned no result"));
    };
    match res.error_code {
        0 => {}
        // UNKNOWN_TOPIC_OR_PARTITION: not in this broker's cache yet.
        3 => return Ok(None),
        code => {
            return Err(wire_err(
                addr,
                format!(
                    "DescribeConfigs of {topic}: error code {code}{}",
                    res.error_message
                        .map(|m| format!(" ({m})"))
                        .unwrap_or_default()
                ),
            ))
        }
    }
    Ok(Some(
        res.configs
            .into_iter()
            .filter(|c| c.config_source == 1)
            .filter_map(|c| Some((c.name.to_string(), c.value?.to_string())))
            .collect(),
    ))
}
