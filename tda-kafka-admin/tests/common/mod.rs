//! Shared helpers of the admin integration tests.
#![allow(dead_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tda_kafka_admin::Admin;
use tda_kafka_config::ClientProperties;

/// The test cluster's bootstrap servers; panics (never skips) when unset.
pub fn bootstrap() -> String {
    std::env::var("TDA_KAFKA_TEST_BOOTSTRAP").unwrap_or_else(|_| {
        panic!(
            "TDA_KAFKA_TEST_BOOTSTRAP is not set: run the tests through scripts/test.sh, \
             which starts a 3-broker test cluster and exports it"
        )
    })
}

/// Client properties for the test cluster.
pub fn props() -> ClientProperties {
    let mut p = ClientProperties::default();
    p.set("bootstrap.servers", bootstrap());
    p
}

/// A connected admin client.
pub async fn admin() -> Admin {
    Admin::connect(&props(), Duration::from_secs(15))
        .await
        .expect("connect to the test cluster")
}

/// A name unique to this test run.
pub fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("it-{prefix}-{}-{nanos}", std::process::id())
}

/// Runs the independent python confluent_kafka cross-check (`tests/peer.py`).
pub fn peer(args: &[&str]) -> serde_json::Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peer.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(bootstrap())
        .args(args)
        .output()
        .expect("run python3 tests/peer.py (needs python3-confluent-kafka)");
    assert!(
        out.status.success(),
        "peer.py {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).unwrap_or(serde_json::Value::String(text.trim().into()))
}

/// Creates a topic; `create_topic` returns once every partition has a
/// leader on every broker.
pub async fn create(admin: &Admin, name: &str, partitions: i32) {
    let t = tda_kafka_admin::CreateTopic {
        name: name.into(),
        partitions: Some(partitions),
        replication_factor: Some(3),
        configs: Default::default(),
    };
    admin.create_topic(&t).await.expect("create topic");
}

/// Sends `n` messages to `partition`.
pub async fn produce_n(admin: &Admin, topic: &str, partition: i32, n: usize) {
    let req = tda_kafka_admin::ProduceRequest {
        topic: topic.into(),
        key: Some(b"k".to_vec()),
        headers: vec![],
        value: b"v".to_vec(),
        count: n,
        partition: Some(partition),
    };
    let d = admin.produce(&req).await.expect("produce");
    assert_eq!(d.len(), n);
}
