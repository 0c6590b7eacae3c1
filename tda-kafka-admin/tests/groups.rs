//! Consumer groups: the lag scenario, reset dry-run / execute, active-group refusal, delete.

mod common;

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use tda_kafka_admin::{AdminError, ResetSpec};

/// Consumes exactly `m` messages of each partition as `group` and commits them.
fn consume_m_per_partition(topic: &str, group: &str, partitions: i32, m: i64) {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", common::bootstrap())
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    c.assign(&tpl).unwrap();
    let mut seen = vec![0i64; partitions as usize];
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while seen.iter().any(|s| *s < m) {
        assert!(
            std::time::Instant::now() < deadline,
            "consumed only {seen:?}"
        );
        if let Some(Ok(msg)) = c.poll(Duration::from_millis(200)) {
            let p = msg.partition() as usize;
            if seen[p] < m {
                seen[p] += 1;
                let mut done = TopicPartitionList::new();
                done.add_partition_offset(topic, msg.partition(), Offset::Offset(msg.offset() + 1))
                    .unwrap();
                c.commit(&done, CommitMode::Sync).unwrap();
            }
        }
    }
}

#[tokio::test]
async fn lag_is_exactly_n_minus_m_and_reset_moves_offsets_only_with_execute() {
    let admin = common::admin().await;
    let topic = common::unique("lag");
    let group = common::unique("lag-group");
    let (n, m) = (10usize, 4i64);
    common::create(&admin, &topic, 3).await;
    for p in 0..3 {
        common::produce_n(&admin, &topic, p, n).await;
    }
    let t2 = topic.clone();
    let g2 = group.clone();
    tokio::task::spawn_blocking(move || consume_m_per_partition(&t2, &g2, 3, m))
        .await
        .unwrap();

    let d = admin.describe_group(&group).await.unwrap();
    assert_eq!(d.partitions.len(), 3, "{d:#?}");
    for p in &d.partitions {
        assert_eq!(p.topic, topic);
        assert_eq!(p.committed, Some(m));
        assert_eq!(p.log_end, n as i64);
        assert_eq!(p.lag, Some(n as i64 - m));
    }
    assert_eq!(d.total_lag, 3 * (n as i64 - m));
    assert!(admin
        .list_groups()
        .await
        .unwrap()
        .iter()
        .any(|g| g.group == group));

    // An independent client reads the same committed and log-end offsets,
    // so the same lag.
    let peer = common::peer(&["committed", &group, &topic]);
    let marks = common::peer(&["watermarks", &topic]);
    for p in &d.partitions {
        let key = p.partition.to_string();
        let committed = peer[&key].as_i64().unwrap();
        let high = marks[&key][1].as_i64().unwrap();
        assert_eq!(committed, m);
        assert_eq!(high, p.log_end);
        assert_eq!(Some(high - committed), p.lag);
    }

    // Dry run: computed, nothing changed.
    let dry = admin
        .reset_offsets(&group, &[], ResetSpec::Earliest, false)
        .await
        .unwrap();
    assert!(!dry.executed);
    assert!(dry
        .partitions
        .iter()
        .all(|r| r.current == Some(m) && r.target == 0));
    let peer = common::peer(&["committed", &group, &topic]);
    assert_eq!(peer["0"], serde_json::json!(m));

    // Execute: moved, as the independent client confirms.
    admin
        .reset_offsets(&group, &[], ResetSpec::Earliest, true)
        .await
        .unwrap();
    let peer = common::peer(&["committed", &group, &topic]);
    for p in 0..3 {
        assert_eq!(peer[p.to_string()], serde_json::json!(0));
    }
    admin
        .reset_offsets(
            &group,
            std::slice::from_ref(&topic),
            ResetSpec::ShiftBy(3),
            true,
        )
        .await
        .unwrap();
    let d = admin.describe_group(&group).await.unwrap();
    assert!(
        d.partitions.iter().all(|p| p.committed == Some(3)),
        "{d:#?}"
    );
    let r = admin
        .reset_offsets(&group, &[], ResetSpec::Offset(1000), true)
        .await
        .unwrap();
    assert!(
        r.partitions.iter().all(|p| p.target == n as i64),
        "clamped to log end"
    );
    let r = admin
        .reset_offsets(&group, &[], ResetSpec::Timestamp(0), true)
        .await
        .unwrap();
    assert!(r.partitions.iter().all(|p| p.target == 0));
    let r = admin
        .reset_offsets(&group, &[], ResetSpec::Latest, true)
        .await
        .unwrap();
    assert!(r.partitions.iter().all(|p| p.target == n as i64));
    assert_eq!(admin.describe_group(&group).await.unwrap().total_lag, 0);

    admin.delete_group(&group).await.unwrap();
    let e = admin.describe_group(&group).await.unwrap_err();
    assert!(matches!(e, AdminError::GroupNotFound { .. }), "{e}");
    admin.delete_topic(&topic, true).await.unwrap();
}

#[tokio::test]
async fn reset_is_refused_while_the_group_has_members() {
    let admin = common::admin().await;
    let topic = common::unique("active");
    let group = common::unique("active-group");
    common::create(&admin, &topic, 1).await;
    common::produce_n(&admin, &topic, 0, 2).await;
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", common::bootstrap())
        .set("group.id", &group)
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    c.subscribe(&[&topic]).unwrap();
    // Poll until the consumer has joined and received its assignment.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let _ = c.poll(Duration::from_millis(100));
        if c.assignment().map(|a| a.count()).unwrap_or(0) > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "consumer never joined"
        );
    }
    let d = admin.describe_group(&group).await.unwrap();
    assert_eq!(d.members.len(), 1, "{d:#?}");
    assert_eq!(d.members[0].assignment[0].topic, topic);
    assert_eq!(d.members[0].assignment[0].partitions, vec![0]);
    let e = admin
        .reset_offsets(
            &group,
            std::slice::from_ref(&topic),
            ResetSpec::Earliest,
            true,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, AdminError::GroupActive { members: 1, .. }),
        "{e}"
    );
    let e = admin.delete_group(&group).await.unwrap_err();
    assert!(matches!(e, AdminError::GroupActive { .. }), "{e}");
    c.unsubscribe();
    drop(c);
    // The member leaves on close; then the (empty) group can be deleted.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while let Err(e) = admin.delete_group(&group).await {
        assert!(std::time::Instant::now() < deadline, "{e}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let unknown = common::unique("nogroup");
    let e = admin.describe_group(&unknown).await.unwrap_err();
    assert!(e.is_not_found(), "{e}");
    admin.delete_topic(&topic, true).await.unwrap();
}
