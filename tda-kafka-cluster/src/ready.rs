//! Readiness: all brokers registered (which needs an elected controller, so
//! the KRaft quorum is formed) and a produce/consume round trip through an
//! internal health topic; in ZooKeeper mode first the ensemble (every node
//! `imok`, one leader, the others following). Shared by every provider.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Message, Offset, TopicPartitionList};
use tda_kafka_admin::zookeeper::{self, EnsembleState};
use tda_kafka_admin::Admin;
use tda_kafka_config::ClusterConfig;

use crate::poll::{Attempt, Wait};
use crate::{ClusterError, ProgressEvent, ServiceAddress, ServiceKind, Step};

/// The topic used for the readiness round trip.
pub const HEALTH_TOPIC: &str = "_tda_kafka_health";

/// One readiness probe: `Ok(())` when ready, otherwise what is still missing.
pub async fn probe(config: &ClusterConfig) -> Result<(), String> {
    let expected = usize::from(config.broker_count);
    // Cheap first: every client listener accepts TCP connections. Without
    // this a librdkafka metadata request would wait its whole timeout while
    // the JVMs are still starting.
    let mut listening = 0;
    for id in config.node_ids() {
        let addr = (config.network.host.as_str(), config.network.kafka_port(id));
        let connect = tokio::net::TcpStream::connect(addr);
        if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(500), connect).await {
            listening += 1;
        }
    }
    if listening < expected {
        return Err(format!("{listening} of {expected} brokers listening"));
    }
    let props = config.client_properties();
    let admin = Admin::connect(&props, Duration::from_secs(5))
        .await
        .map_err(|e| format!("no broker answers yet ({e})"))?;
    let md = admin
        .metadata()
        .await
        .map_err(|e| format!("metadata: {e}"))?;
    if md.brokers.len() < expected {
        return Err(format!(
            "{} of {expected} brokers registered",
            md.brokers.len()
        ));
    }
    round_trip(config).await
}

/// Waits through `wait` until [`probe`] passes, reporting the
/// [`Step::WaitReady`] step; `alive` fails the wait at once when a process
/// it watches died (checked before and after every probe).
pub(crate) async fn wait_for_brokers(
    config: &ClusterConfig,
    wait: &Wait<'_>,
    alive: impl Fn() -> crate::Result<()>,
) -> crate::Result<()> {
    wait.progress.report(ProgressEvent::Started {
        step: Step::WaitReady,
    });
    let brokers = Wait {
        step: Step::WaitReady,
        ..*wait
    };
    brokers
        .until(
            || async {
                if let Err(e) = alive() {
                    return Attempt::Failed(e);
                }
                match probe(config).await {
                    Ok(()) => Attempt::Ready(()),
                    // A process that died while we probed is the real news.
                    Err(problem) => match alive() {
                        Err(e) => Attempt::Failed(e),
                        Ok(()) => Attempt::Pending(problem),
                    },
                }
            },
            |waited, last_problem| ClusterError::NotReady {
                waited,
                last_problem,
            },
        )
        .await?;
    wait.progress.report(ProgressEvent::Finished {
        step: Step::WaitReady,
        detail: format!(
            "{} brokers registered, round trip ok, after {:.1} s",
            config.broker_count,
            wait.started.elapsed().as_secs_f64()
        ),
    });
    Ok(())
}

/// Creates the health topic if needed, produces a unique token with
/// `acks=all` and reads it back.
pub async fn round_trip(config: &ClusterConfig) -> Result<(), String> {
    let base = tda_kafka_admin::lower(&config.client_properties());
    let rf = i32::from(config.replication_for(config.broker_count).factor);
    let admin: AdminClient<DefaultClientContext> =
        base.create().map_err(|e| format!("admin client: {e}"))?;
    let topic = NewTopic::new(HEALTH_TOPIC, 1, TopicReplication::Fixed(rf))
        .set("min.insync.replicas", "1")
        .set("retention.ms", "3600000");
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let created = admin
        .create_topics([&topic], &opts)
        .await
        .map_err(|e| format!("create {HEALTH_TOPIC}: {e}"))?;
    for r in created {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((_, code)) => return Err(format!("create {HEALTH_TOPIC}: {code:?}")),
        }
    }

    let token = format!(
        "ready-{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    );
    let mut pcfg = base.clone();
    pcfg.set("acks", "all")
        .set("message.timeout.ms", "10000")
        .set("enable.idempotence", "false");
    let producer: FutureProducer = pcfg.create().map_err(|e| format!("producer: {e}"))?;
    let delivery = producer
        .send(
            FutureRecord::to(HEALTH_TOPIC).key("ready").payload(&token),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| format!("produce to {HEALTH_TOPIC}: {e}"))?;
    let (partition, offset) = (delivery.partition, delivery.offset);

    let mut ccfg = base;
    ccfg.set("group.id", "tda-kafka-readiness")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false");
    let token_for_consumer = token.clone();
    tokio::task::spawn_blocking(move || -> Result<(), String> {
        let consumer: BaseConsumer = ccfg.create().map_err(|e| format!("consumer: {e}"))?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(HEALTH_TOPIC, partition, Offset::Offset(offset))
            .map_err(|e| format!("assign: {e}"))?;
        consumer.assign(&tpl).map_err(|e| format!("assign: {e}"))?;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            match consumer.poll(Duration::from_millis(500)) {
                Some(Ok(m)) if m.offset() == offset => {
                    return if m.payload() == Some(token_for_consumer.as_bytes()) {
                        Ok(())
                    } else {
                        Err("read back a different message than the one produced".into())
                    };
                }
                Some(Ok(_)) | None => {}
                Some(Err(e)) => return Err(format!("consume from {HEALTH_TOPIC}: {e}")),
            }
        }
        Err(format!(
            "the message produced to {HEALTH_TOPIC} at offset {offset} was not read back within 10 s"
        ))
    })
    .await
    .map_err(|e| format!("consumer task: {e}"))?
}

/// The step of waiting for the ZooKeeper ensemble.
fn ensemble_step() -> Step {
    Step::Other {
        name: "waiting for the ZooKeeper ensemble".into(),
    }
}

/// Waits through `wait` until the configuration's ensemble (its nodes at
/// [`ClusterConfig::zookeeper_addresses`]) is formed: every node answers
/// `imok` and `srvr` shows one leader and the others following; `alive`
/// fails the wait at once when a process it watches died.
pub(crate) async fn wait_for_ensemble(
    config: &ClusterConfig,
    wait: &Wait<'_>,
    alive: impl Fn() -> crate::Result<()>,
) -> crate::Result<EnsembleState> {
    wait.progress.report(ProgressEvent::Started {
        step: ensemble_step(),
    });
    let nodes: Vec<(u16, String)> = (1..).zip(config.zookeeper_addresses()).collect();
    let state = Wait {
        step: ensemble_step(),
        ..*wait
    }
    .until(
        || async {
            if let Err(e) = alive() {
                return Attempt::Failed(e);
            }
            let state = zookeeper::ensemble_state(&nodes).await;
            if state.is_healthy() {
                Attempt::Ready(state)
            } else {
                Attempt::Pending(state.problems().join("; "))
            }
        },
        |waited, last_problem| ClusterError::ServiceNotReady {
            service: "zookeeper".into(),
            url: config.zookeeper_connect(),
            waited,
            last_problem,
        },
    )
    .await?;
    wait.progress.report(ProgressEvent::Finished {
        step: ensemble_step(),
        detail: format!(
            "every node answers imok, {}, after {:.1} s",
            state.summary(),
            wait.started.elapsed().as_secs_f64()
        ),
    });
    Ok(state)
}

/// The real check of a service: the registry answers `GET <base>/subjects`,
/// Connect `GET /health` (the worker finished start-up: internal topics read,
/// group joined; workers before Kafka 3.9 have no such endpoint and answer
/// 404) and `GET /connectors`, the UI `GET /`, ksqlDB `GET /info` with 200;
/// Redis answers `PING` with `PONG` (or, with a password and none given,
/// `NOAUTH`: see [`tda_kafka_admin::redis::ping`]); ZooKeeper `ruok` with `imok`.
/// `Ok` carries what was seen, `Err` what is wrong.
pub async fn probe_service(kind: ServiceKind, at: &ServiceAddress) -> Result<String, String> {
    match kind {
        ServiceKind::Redis => tda_kafka_admin::redis::ping(&at.host, at.port, None).await,
        ServiceKind::Zookeeper(_) => zookeeper::ruok(&format!("{}:{}", at.host, at.port))
            .await
            .map(|()| "answered imok".into()),
        ServiceKind::SchemaRegistry => http_ok(at, "/subjects").await,
        ServiceKind::Connect => {
            let health = match http_ok(at, "/health").await {
                Ok(seen) => seen,
                Err(e) if e.contains(" 404 ") => "no /health (worker before Kafka 3.9)".into(),
                Err(e) => return Err(e),
            };
            let connectors = http_ok(at, "/connectors").await?;
            Ok(format!("{health}, {connectors}"))
        }
        ServiceKind::Ksqldb => http_ok(at, "/info").await,
        ServiceKind::Ui => http_ok(at, "/").await,
    }
}

/// `GET <base><path>` answered 200.
async fn http_ok(at: &ServiceAddress, path: &str) -> Result<String, String> {
    let path = format!("{}{path}", at.base_path);
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {}:{}\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
        at.host, at.port
    );
    let answer = exchange(&at.host, at.port, req.as_bytes()).await?;
    let text = String::from_utf8_lossy(&answer);
    let status = text.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) == Some("200") {
        Ok(format!("GET {path}: 200"))
    } else {
        Err(format!("GET {path} answered {status:?}"))
    }
}

/// Sends `request` to `host:port` and reads until the peer closes (or 4 KiB
/// for line protocols), bounded by 5 s.
async fn exchange(host: &str, port: u16, request: &[u8]) -> Result<Vec<u8>, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let io = async {
        let mut s = tokio::net::TcpStream::connect((host, port)).await?;
        s.write_all(request).await?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = s.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            // Line protocols (Redis) keep the connection open.
            if !buf.starts_with(b"HTTP/") && buf.contains(&b'\n') {
                break;
            }
        }
        Ok::<_, std::io::Error>(buf)
    };
    tokio::time::timeout(Duration::from_secs(5), io)
        .await
        .map_err(|_| "no answer within 5 s".to_string())?
        .map_err(|e| format!("{host}:{port}: {e}"))
}
