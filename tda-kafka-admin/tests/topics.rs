//! Topic CRUD against the real cluster, cross-checked with python confluent_kafka.

mod common;

use tda_kafka_admin::{AdminError, CreateTopic};

#[tokio::test]
async fn create_describe_update_grow_delete() {
    let admin = common::admin().await;
    let name = common::unique("crud");
    let t = CreateTopic::parse(
        &name,
        &[
            "partitions=2,replication-factor=3".into(),
            "cleanup.policy=compact".into(),
        ],
    )
    .unwrap();
    admin.create_topic(&t).await.unwrap();
    admin
        .wait_for_topics(std::slice::from_ref(&name))
        .await
        .unwrap();

    let listed = admin.list_topics(false).await.unwrap();
    assert!(listed.iter().any(|t| t.name == name && t.partitions == 2));
    assert!(listed.iter().all(|t| !t.internal));
    let all = admin.list_topics(true).await.unwrap();
    assert!(all
        .iter()
        .any(|t| t.name == "__consumer_offsets" && t.internal));

    admin
        .update_topic_configs(&name, &[("retention.ms".into(), Some("1209600000".into()))])
        .await
        .unwrap();
    let d = admin.describe_topic(&name).await.unwrap();
    assert_eq!(d.replication_factor, 3);
    assert_eq!(d.partitions.len(), 2);
    let set: Vec<(&str, &str)> = d
        .configs
        .iter()
        .filter(|c| !c.is_default)
        .map(|c| (c.name.as_str(), c.value.as_deref().unwrap()))
        .collect();
    assert!(set.contains(&("cleanup.policy", "compact")), "{set:?}");
    assert!(set.contains(&("retention.ms", "1209600000")), "{set:?}");
    assert!(d
        .configs
        .iter()
        .any(|c| c.name == "segment.bytes" && c.is_default));

    // An independent client sees the same partitions, leaders, replicas, ISR and configs.
    let peer = common::peer(&["describe", &name]);
    for p in &d.partitions {
        let q = &peer["partitions"][p.partition.to_string()];
        assert_eq!(q["leader"], serde_json::json!(p.leader.unwrap()));
        assert_eq!(q["replicas"], serde_json::json!(p.replicas));
        assert_eq!(q["isr"], serde_json::json!(p.isr));
    }
    assert_eq!(peer["configs"]["retention.ms"], "1209600000");
    assert_eq!(peer["configs"]["cleanup.policy"], "compact");

    // Update keeps other overrides; `None` resets a key.
    admin
        .update_topic_configs(&name, &[("retention.ms".into(), None)])
        .await
        .unwrap();
    let after = admin
        .topic_overrides(std::slice::from_ref(&name))
        .await
        .unwrap();
    assert_eq!(
        after[&name].get("cleanup.policy").map(String::as_str),
        Some("compact")
    );
    assert!(!after[&name].contains_key("retention.ms"));

    admin.add_partitions(&name, 4).await.unwrap();
    admin
        .wait_for_topics(std::slice::from_ref(&name))
        .await
        .unwrap();
    assert_eq!(
        admin.topic_metadata(&name).await.unwrap().partitions.len(),
        4
    );
    let shrink = admin.add_partitions(&name, 3).await.unwrap_err();
    assert!(shrink.is_invalid_input(), "{shrink}");

    let refused = admin.delete_topic(&name, false).await.unwrap_err();
    assert!(matches!(refused, AdminError::Refused { .. }), "{refused}");
    admin.delete_topic(&name, true).await.unwrap();
    let gone = admin.describe_topic(&name).await.unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
    // Once delete returns, no broker lists the topic any more (kcat, an
    // independent client, bootstrapped to each broker in turn; it lists all
    // topics, since asking for one by name may auto-create it).
    for broker in common::bootstrap().split(',') {
        let out = std::process::Command::new("kcat")
            .args(["-L", "-J", "-b", broker, "-m", "10"])
            .output()
            .expect("kcat");
        let j: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        let listed = j["topics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["topic"] == name.as_str() && t.get("error").is_none());
        assert!(!listed, "{broker} still lists {name}: {j}");
    }
}

#[tokio::test]
async fn bad_input_is_reported_with_its_subject() {
    let admin = common::admin().await;
    let e = admin.describe_topic("no/such topic").await.unwrap_err();
    assert!(matches!(e, AdminError::InvalidTopicName { .. }), "{e}");
    let missing = common::unique("missing");
    let e = admin.describe_topic(&missing).await.unwrap_err();
    assert!(e.to_string().contains(&missing) && e.is_not_found(), "{e}");
    let e = admin
        .delete_topic("__consumer_offsets", true)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("internal"), "{e}");

    // Broker rejects the value: the error names the key.
    let name = common::unique("badcfg");
    let t = CreateTopic::parse(&name, &["retention.ms=soon".into()]).unwrap();
    let e = admin.create_topic(&t).await.unwrap_err();
    assert!(e.is_invalid_input(), "{e}");
    assert!(e.to_string().contains("retention.ms=soon"), "{e}");
    // Unknown config key.
    let t = CreateTopic::parse(&name, &["no.such.key=1".into()]).unwrap();
    let e = admin.create_topic(&t).await.unwrap_err();
    assert!(e.to_string().contains("no.such.key"), "{e}");

    common::create(&admin, &name, 1).await;
    let e = admin
        .update_topic_configs(&name, &[("retention.ms".into(), Some("-5x".into()))])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("retention.ms=-5x"), "{e}");
    admin.delete_topic(&name, true).await.unwrap();
}

#[tokio::test]
async fn metrics_agree_with_an_independent_client() {
    let admin = common::admin().await;
    let name = common::unique("metrics");
    common::create(&admin, &name, 3).await;
    common::produce_n(&admin, &name, 0, 5).await;
    common::produce_n(&admin, &name, 2, 7).await;
    let m = admin.metrics(Some(&name)).await.unwrap();
    let t = &m.topics[0];
    assert_eq!(t.messages, 12);
    let peer = common::peer(&["watermarks", &name]);
    for p in &t.partitions {
        let w = &peer[p.partition.to_string()];
        assert_eq!(
            serde_json::json!([p.earliest, p.latest]),
            *w,
            "partition {}",
            p.partition
        );
        assert!(!p.under_replicated && !p.offline);
        assert_eq!(p.replicas.len(), 3);
    }
    assert!(m.size_note.is_none(), "{:?}", m.size_note);
    let sizes: Vec<i64> = t.partitions.iter().map(|p| p.size_bytes.unwrap()).collect();
    assert!(sizes[0] > 0 && sizes[2] > 0 && sizes[1] == 0, "{sizes:?}");
    admin.delete_topic(&name, true).await.unwrap();
}
