//! Readiness from the host: every broker in the metadata, a produce/consume
//! round trip with `acks=all`, and the schema registry answering HTTP.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use tda_kafka_admin::Admin;
use tda_kafka_config::{ClusterConfig, TopicSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::{ClusterError, Progress, ProgressEvent, Result, Step};

/// Topic used for the round trip (internal to tda-kafka).
pub(crate) const READINESS_TOPIC: &str = "_tda_kafka_readiness";

async fn pause(cancel: &CancellationToken) -> Result<()> {
    tokio::select! {
        _ = cancel.cancelled() => Err(ClusterError::Interrupted { cleanup: String::new() }),
        _ = tokio::time::sleep(Duration::from_millis(500)) => Ok(()),
    }
}

/// One readiness attempt; `Err(problem)` describes what is missing.
async fn check_once(config: &ClusterConfig) -> std::result::Result<String, String> {
    let props = config.client_properties();
    let admin = Admin::connect(&props, Duration::from_secs(5))
        .await
        .map_err(|e| format!("admin connect: {e}"))?;
    let meta = admin
        .metadata()
        .await
        .map_err(|e| format!("metadata: {e}"))?;
    let want = usize::from(config.broker_count);
    if meta.brokers.len() < want {
        return Err(format!(
            "{} of {want} brokers registered",
            meta.brokers.len()
        ));
    }
    let rf = config.broker_count.min(3) as i16;
    let mut spec = TopicSpec::new(READINESS_TOPIC, 1);
    spec.replication_factor = Some(rf);
    spec.min_insync_replicas = Some(1);
    admin
        .ensure_topics(&[spec])
        .await
        .map_err(|e| format!("readiness topic: {e}"))?;

    let mut cfg = tda_kafka_admin::lower(&config.producer_properties());
    cfg.set("acks", "all").set("message.timeout.ms", "10000");
    let producer: FutureProducer = cfg.create().map_err(|e| format!("producer: {e}"))?;
    let nonce = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
        .to_string();
    let delivery = producer
        .send(
            FutureRecord::<str, str>::to(READINESS_TOPIC)
                .key("ready")
                .payload(&nonce)
                .partition(0),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| format!("produce: {e}"))?;
    let delivered = (delivery.partition, delivery.offset);

    let mut ccfg = tda_kafka_admin::lower(&config.consumer_properties("tda-kafka-readiness"));
    ccfg.set("enable.auto.commit", "false");
    let consumer: BaseConsumer = ccfg.create().map_err(|e| format!("consumer: {e}"))?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(READINESS_TOPIC, delivered.0, Offset::Offset(delivered.1))
        .map_err(|e| format!("assign: {e}"))?;
    consumer.assign(&tpl).map_err(|e| format!("assign: {e}"))?;
    let until = Instant::now() + Duration::from_secs(15);
    let payload = tokio::task::spawn_blocking(move || {
        while Instant::now() < until {
            match consumer.poll(Duration::from_millis(500)) {
                Some(Ok(m)) => {
                    return Ok(m.payload().map(|p| String::from_utf8_lossy(p).into_owned()))
                }
                Some(Err(e)) => return Err(format!("consume: {e}")),
                None => {}
            }
        }
        Err("consume: the produced record did not come back within 15 s".to_string())
    })
    .await
    .map_err(|e| format!("consume task: {e}"))??;
    if payload.as_deref() != Some(nonce.as_str()) {
        return Err(format!(
            "consume: read {payload:?}, expected the record just produced"
        ));
    }
    Ok(format!(
        "{} brokers in metadata, round trip through {READINESS_TOPIC} ok",
        meta.brokers.len()
    ))
}

/// Waits until [`check_once`] succeeds or the deadline passes.
pub(crate) async fn wait_ready(
    config: &ClusterConfig,
    deadline: Instant,
    started: Instant,
    progress: &dyn Progress,
    cancel: &CancellationToken,
) -> Result<String> {
    loop {
        match check_once(config).await {
            Ok(detail) => return Ok(detail),
            Err(problem) => {
                if Instant::now() >= deadline {
                    return Err(ClusterError::NotReady {
                        waited: started.elapsed(),
                        last_problem: problem,
                    });
                }
                progress.report(ProgressEvent::Waiting {
                    step: Step::WaitReady,
                    elapsed: started.elapsed(),
                    detail: problem,
                });
                pause(cancel).await?;
            }
        }
    }
}

/// GET `url` + `/subjects`; `Ok` on HTTP 200.
pub(crate) async fn http_get_ok(url: &str) -> std::result::Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// is supported"))?;
    let (hostport, path) = rest.split_once('/').unwrap_or((rest, ""));
    let path = format!("/{path}/subjects").replace("//", "/");
    let mut stream = tokio::time::timeout(
        Duration::from_secs(3),
        tokio::net::TcpStream::connect(hostport),
    )
    .await
    .map_err(|_| format!("connect {hostport}: timeout"))?
    .map_err(|e| format!("connect {hostport}: {e}"))?;
    let req =
        format!("GET {path} HTTP/1.0\r\nHost: {hostport}\r\nAccept: application/json\r\n\r\n");
    stream
        .write_all(req.as_bytes())
        .await
        .map_err(|e| format!("send: {e}"))?;
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf))
        .await
        .map_err(|_| "read: timeout".to_string())?
        .map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&buf);
    let status = text.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) == Some("200") {
        Ok(())
    } else {
        Err(format!("GET {path}: {status}"))
    }
}

/// Waits until the registry answers `GET <url>/subjects` with 200.
pub(crate) async fn wait_registry(
    url: &str,
    deadline: Instant,
    started: Instant,
    cancel: &CancellationToken,
) -> Result<()> {
    loop {
        match http_get_ok(url).await {
            Ok(()) => return Ok(()),
            Err(problem) if Instant::now() >= deadline => {
                return Err(ClusterError::RegistryNotReady {
                    url: url.into(),
                    waited: started.elapsed(),
                    last_problem: problem,
                })
            }
            Err(_) => pause(cancel).await?,
        }
    }
}
