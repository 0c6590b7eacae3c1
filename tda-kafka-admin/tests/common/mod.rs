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
