//! `Admin::health` against the real 3-broker test cluster.

mod common;

#[tokio::test]
async fn healthy_cluster_reports_three_brokers_and_a_controller() {
    let admin = common::admin().await;
    let report = admin.health().await.expect("health");
    assert_eq!(report.brokers.len(), 3, "{report:#?}");
    let ids: Vec<i32> = report.brokers.iter().map(|b| b.id).collect();
    let controller = report.controller.expect("controller on PLAINTEXT");
    assert!(ids.contains(&controller), "{report:#?}");
    assert!(report.cluster_id.is_some());
    assert!(report.healthy(), "{:?}", report.problems());
    assert!(report.clone().expecting(3).healthy());
    assert!(!report.clone().expecting(4).healthy());
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["brokers"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn unreachable_cluster_fails_within_the_timeout_naming_the_address() {
    let mut p = tda_kafka_config::ClientProperties::default();
    p.set("bootstrap.servers", "127.0.0.1:1");
    let started = std::time::Instant::now();
    let err = match tda_kafka_admin::Admin::connect(&p, std::time::Duration::from_secs(2)).await {
        Ok(_) => panic!("connected to a closed port"),
        Err(e) => e,
    };
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
    assert!(err.is_retriable());
}
