//! A minimal Kafka protocol client for the calls librdkafka does not expose
//! (the controller id from `Metadata`, `DescribeLogDirs`,
//! `IncrementalAlterConfigs`), and for asking one given broker what its own
//! metadata and config cache show (propagation checks).
//!
//! One short-lived connection per call (TLS and SASL as the client's
//! security settings say, see [`secure`]), request versions negotiated with
//! `ApiVersions`, every step bounded by the caller's timeout.

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

pub(crate) mod acl;
pub(crate) mod secure;

pub(crate) use secure::WireOptions;
use secure::{Io, Mechanism, Scram};

/// A connection to one broker.
pub(crate) struct WireConn {
    stream: Box<dyn Io>,
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
    /// Connects to `addr` (`host:port`), negotiates API versions and
    /// authenticates as the options say.
    pub(crate) async fn connect(addr: &str, opts: &WireOptions) -> Result<Self> {
        let timeout = opts.timeout;
        let tcp = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| wire_err(addr, format!("connect timed out after {timeout:?}")))?
            .map_err(|e| wire_err(addr, e))?;
        let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let stream = tokio::time::timeout(timeout, opts.wrap(tcp, host))
            .await
            .map_err(|_| wire_err(addr, format!("TLS handshake timed out after {timeout:?}")))?
            .map_err(|e| AdminError::TlsHandshake {
                broker: addr.to_owned(),
                reason: e.to_string(),
            })?;
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
        if let Some(sasl) = &opts.sasl {
            conn.authenticate(sasl).await?;
        }
        Ok(conn)
    }

    /// SaslHandshake v1, then the mechanism's SaslAuthenticate round trips.
    async fn authenticate(&mut self, sasl: &secure::Sasl) -> Result<()> {
        use kafka_protocol::messages::sasl_authenticate_request::SaslAuthenticateRequest;
        use kafka_protocol::messages::sasl_handshake_request::SaslHandshakeRequest;
        let broker = self.addr.clone();
        let refused = |reason: String| AdminError::Authentication {
            broker: broker.clone(),
            user: sasl.username.clone(),
            mechanism: sasl.mechanism.name(),
            reason,
        };
        let hs = self
            .send_version(
                SaslHandshakeRequest::default()
                    .with_mechanism(StrBytes::from_static_str(sasl.mechanism.name())),
                1,
            )
            .await?;
        if hs.error_code != 0 {
            let offered: Vec<String> = hs.mechanisms.iter().map(|m| m.to_string()).collect();
            return Err(refused(format!(
                "the broker does not accept {} (it offers {})",
                sasl.mechanism.name(),
                offered.join(", ")
            )));
        }
        let step = |bytes: Vec<u8>| {
            SaslAuthenticateRequest::default().with_auth_bytes(bytes::Bytes::from(bytes))
        };
        let answer = |code: i16, msg: Option<StrBytes>| -> Result<()> {
            if code == 0 {
                Ok(())
            } else {
                Err(refused(
                    msg.map(|m| m.to_string())
                        .unwrap_or_else(|| format!("error code {code}")),
                ))
            }
        };
        match sasl.mechanism {
            Mechanism::Plain => {
                let msg = format!("\0{}\0{}", sasl.username, sasl.password.expose());
                let r = self.send(step(msg.into_bytes())).await?;
                answer(r.error_code, r.error_message)
            }
            m => {
                let mut scram =
                    Scram::new(m, &sasl.username, &sasl.password, Scram::random_nonce());
                let r = self.send(step(scram.client_first().into_bytes())).await?;
                answer(r.error_code, r.error_message)?;
                let first = String::from_utf8_lossy(&r.auth_bytes).into_owned();
                let fin = scram.client_final(&first).map_err(&refused)?;
                let r = self.send(step(fin.into_bytes())).await?;
                answer(r.error_code, r.error_message)?;
                scram
                    .verify_server_final(&String::from_utf8_lossy(&r.auth_bytes))
                    .map_err(&refused)
            }
        }
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

/// Connects (TLS, SASL) to the first bootstrap address that answers: a
/// refused certificate or login fails at once ([`AdminError::TlsHandshake`],
/// [`AdminError::Authentication`]); unreachable brokers are left to the
/// caller's own connection attempts.
pub(crate) async fn check_login(bootstrap: &str, opts: &WireOptions) -> Result<()> {
    for addr in bootstrap
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        match WireConn::connect(addr, opts).await {
            Ok(_) => return Ok(()),
            Err(e @ (AdminError::Authentication { .. } | AdminError::TlsHandshake { .. })) => {
                return Err(e)
            }
            Err(_) => continue,
        }
    }
    Ok(())
}

/// Cluster id and controller id from a `Metadata` request without topics.
pub(crate) async fn controller(
    addrs: &[String],
    opts: &WireOptions,
) -> Result<(Option<String>, i32)> {
    let mut last = None;
    for addr in addrs {
        match controller_from(addr, opts).await {
            Ok(r) => return Ok(r),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| wire_err("", "no bootstrap servers")))
}

async fn controller_from(addr: &str, opts: &WireOptions) -> Result<(Option<String>, i32)> {
    let mut conn = WireConn::connect(addr, opts).await?;
    let req = MetadataRequest::default().with_topics(Some(Vec::new()));
    let resp: MetadataResponse = conn.send(req).await?;
    Ok((resp.cluster_id.map(|s| s.to_string()), resp.controller_id.0))
}

/// Bytes on disk per (topic, partition) on one broker, summed over its log dirs.
pub(crate) async fn log_dir_sizes(
    addr: &str,
    topics: Option<&[(String, Vec<i32>)]>,
    opts: &WireOptions,
) -> Result<Vec<(String, i32, i64)>> {
    let mut conn = WireConn::connect(addr, opts).await?;
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

/// IncrementalAlterConfigs on one topic: `Some(v)` sets, `None` deletes the
/// override. Returns the broker's error code and message when it rejects it.
pub(crate) async fn incremental_alter_topic(
    addrs: &[String],
    topic: &str,
    changes: &[(String, Option<String>)],
    opts: &WireOptions,
) -> Result<Option<(i16, Option<String>)>> {
    use kafka_protocol::messages::incremental_alter_configs_request::{
        AlterConfigsResource, AlterableConfig, IncrementalAlterConfigsRequest,
    };
    let mut last = None;
    for addr in addrs {
        let mut conn = match WireConn::connect(addr, opts).await {
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

/// `addr`'s metadata for exactly `topics` (never auto-creating them).
async fn topic_metadata(
    addr: &str,
    topics: &[String],
    opts: &WireOptions,
) -> Result<MetadataResponse> {
    use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
    let mut conn = WireConn::connect(addr, opts).await?;
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
    conn.send(req).await
}

/// Of `topics`, those that `addr`'s own metadata does not show yet with a
/// leader for every partition (a new topic reaches each broker's metadata
/// cache asynchronously). Never auto-creates.
pub(crate) async fn topics_not_ready_on(
    addr: &str,
    topics: &[String],
    opts: &WireOptions,
) -> Result<Vec<String>> {
    let resp = topic_metadata(addr, topics, opts).await?;
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
    opts: &WireOptions,
) -> Result<Vec<String>> {
    const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    let resp = topic_metadata(addr, topics, opts).await?;
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
    opts: &WireOptions,
) -> Result<Option<std::collections::BTreeMap<String, String>>> {
    use kafka_protocol::messages::describe_configs_request::{
        DescribeConfigsRequest, DescribeConfigsResource,
    };
    let mut conn = WireConn::connect(addr, opts).await?;
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
