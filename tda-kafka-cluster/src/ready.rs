//! Readiness: all brokers registered (which needs an elected controller, so
//! the KRaft quorum is formed) and a produce/consume round trip through an
//! internal health topic. Shared by every provider.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Message, Offset, TopicPartitionList};
use tda_kafka_admin::Admin;
use tda_kafka_config::ClusterConfig;

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

/// Creates the health topic if needed, produces a unique token with
/// `acks=all` and reads it back.
pub async fn round_trip(config: &ClusterConfig) -> Result<(), String> {
    let base = tda_kafka_admin::lower(&config.client_properties());
    let rf = i32::from(config.broker_count.min(3));
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

/// Asks `GET <base>/subjects` of a Confluent-compatible registry at
/// `host:port` (`path_prefix` e.g. `/apis/ccompat/v7`); `Ok` on HTTP 200.
pub async fn probe_registry(host: &str, port: u16, path_prefix: &str) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let io = async {
        let mut s = tokio::net::TcpStream::connect((host, port)).await?;
        let req = format!(
            "GET {path_prefix}/subjects HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await?;
        Ok::<_, std::io::Error>(buf)
    };
    let buf = tokio::time::timeout(Duration::from_secs(5), io)
        .await
        .map_err(|_| "no answer within 5 s".to_string())?
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&buf);
    let status = text.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) == Some("200") {
        Ok(())
    } else {
        Err(format!("answered {status:?}"))
    }
}
