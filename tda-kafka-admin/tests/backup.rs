//! Backup -> delete topic and reset group -> restore gives the same describe and offsets.

mod common;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use tda_kafka_admin::{Backup, ConsumeOptions, CreateTopic, ResetSpec, StartAt};

fn shape(d: &tda_kafka_admin::TopicDescription) -> (usize, i16, Vec<(String, String)>) {
    (
        d.partitions.len(),
        d.replication_factor,
        d.configs
            .iter()
            .filter(|c| !c.is_default)
            .map(|c| (c.name.clone(), c.value.clone().unwrap_or_default()))
            .collect(),
    )
}

#[tokio::test]
async fn backup_delete_reset_restore_round_trip() {
    let admin = common::admin().await;
    let topic = common::unique("bak");
    let group = common::unique("bak-group");
    let t = CreateTopic::parse(
        &topic,
        &[
            "partitions=3,replication-factor=3,cleanup.policy=compact,delete".into(),
            "retention.ms=86400000,max.message.bytes=200000".into(),
        ],
    )
    .unwrap();
    admin.create_topic(&t).await.unwrap();
    admin
        .wait_for_topics(std::slice::from_ref(&topic))
        .await
        .unwrap();
    for p in 0..3 {
        common::produce_n(&admin, &topic, p, 5).await;
    }
    // Commit 1, 2, 3 on partitions 0, 1, 2.
    let offsets = [(0, 1i64), (1, 2), (2, 3)]
        .into_iter()
        .map(|(p, o)| ((topic.clone(), p), o))
        .collect();
    admin.set_offsets(&group, &offsets).await.unwrap();
    let before = admin.describe_topic(&topic).await.unwrap();
    let committed_before = admin
        .committed_offsets(&group, std::slice::from_ref(&topic))
        .await
        .unwrap();
    assert_eq!(committed_before, offsets);

    let full = admin.backup().await.unwrap();
    // Keep only this test's topic and group (the cluster is shared).
    let mine = Backup {
        topics: full
            .topics
            .into_iter()
            .filter(|t| t.name == topic)
            .collect(),
        groups: full
            .groups
            .into_iter()
            .filter(|g| g.group == group)
            .collect(),
        ..full
    };
    assert_eq!(mine.topics.len(), 1);
    assert_eq!(mine.groups.len(), 1);
    let spec = &mine.topics[0];
    assert_eq!(spec.retention_ms, Some(86_400_000));
    assert_eq!(spec.configs["max.message.bytes"], "200000");
    for ext in ["yaml", "json"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(format!("backup.{ext}"));
        mine.write(&path).unwrap();
        assert_eq!(Backup::read(&path).unwrap(), mine);
    }
    // The backup is a valid architecture: no drift right now.
    let plan = admin.plan(&mine.topics, false).await.unwrap();
    assert!(!plan.has_drift(), "{plan:#?}");

    admin.delete_topic(&topic, true).await.unwrap();
    admin
        .reset_offsets(&group, &[], ResetSpec::Offset(0), true)
        .await
        .ok();
    let report = admin.restore(&mine).await.unwrap();
    assert!(report.success(), "{report:#?}");
    assert_eq!(report.topics, vec![(topic.clone(), "created".to_owned())]);

    let after = admin.describe_topic(&topic).await.unwrap();
    assert_eq!(shape(&after), shape(&before));
    // The topic came back empty, so the offsets (1, 2, 3) lie beyond its
    // log end: clamped to 0 and listed, never set past the end.
    assert_eq!(
        report.groups,
        vec![(
            group.clone(),
            format!("ok (clamped to the log: {topic}-0 1->0, {topic}-1 2->0, {topic}-2 3->0)")
        )]
    );
    let zeros: std::collections::BTreeMap<_, _> = committed_before
        .keys()
        .map(|tp| (tp.clone(), 0i64))
        .collect();
    assert_eq!(
        admin
            .committed_offsets(&group, std::slice::from_ref(&topic))
            .await
            .unwrap(),
        zeros
    );
    // With the messages back, restoring again sets (and reads back) the
    // exact offsets, and leaves the existing topic alone.
    for p in 0..3 {
        common::produce_n(&admin, &topic, p, 5).await;
    }
    let again = admin.restore(&mine).await.unwrap();
    assert!(again.success(), "{again:#?}");
    assert_eq!(
        again.topics,
        vec![(topic.clone(), "already_exists".to_owned())]
    );
    assert_eq!(again.groups, vec![(group.clone(), "ok".to_owned())]);
    assert_eq!(
        admin
            .committed_offsets(&group, std::slice::from_ref(&topic))
            .await
            .unwrap(),
        committed_before
    );
    admin.delete_group(&group).await.unwrap();
    admin.delete_topic(&topic, true).await.unwrap();
}

#[tokio::test]
async fn produce_and_consume_with_key_headers_offsets_and_groups() {
    let admin = common::admin().await;
    let topic = common::unique("msg");
    common::create(&admin, &topic, 2).await;
    let req = tda_kafka_admin::ProduceRequest {
        topic: topic.clone(),
        key: Some(b"job-1".to_vec()),
        headers: vec![("source".into(), "test".into())],
        value: b"{\"n\":1}".to_vec(),
        count: 4,
        partition: Some(1),
    };
    let sent = admin.produce(&req).await.unwrap();
    assert_eq!(
        sent.iter()
            .map(|d| (d.partition, d.offset))
            .collect::<Vec<_>>(),
        [(1, 0), (1, 1), (1, 2), (1, 3)]
    );
    let read = |start, max, group: Option<String>| {
        let admin = &admin;
        let topic = topic.clone();
        async move {
            let got = Arc::new(Mutex::new(Vec::new()));
            let g2 = Arc::clone(&got);
            let opts = ConsumeOptions {
                topic,
                start,
                max,
                group,
                follow: false,
            };
            let n = admin
                .consume(&opts, Arc::new(AtomicBool::new(false)), move |m| {
                    g2.lock().unwrap().push(m.clone());
                    Ok(())
                })
                .await
                .unwrap();
            let v = got.lock().unwrap().clone();
            assert_eq!(n, v.len());
            v
        }
    };
    let all = read(StartAt::Beginning, None, None).await;
    assert_eq!(all.len(), 4);
    assert_eq!(all[0].key.as_deref(), Some("job-1"));
    assert_eq!(
        all[0].headers,
        vec![("source".to_owned(), "test".to_owned())]
    );
    assert_eq!(all[0].value.as_deref(), Some("{\"n\":1}"));
    assert!(all[0].timestamp.is_some());
    let from2 = read(StartAt::Offset(2), None, None).await;
    assert_eq!(from2.iter().map(|m| m.offset).collect::<Vec<_>>(), [2, 3]);
    let ts = all[3].timestamp.unwrap();
    let by_time = read(StartAt::Timestamp(ts), None, None).await;
    assert_eq!(by_time.first().map(|m| m.offset), Some(3));
    assert!(read(StartAt::End, None, None).await.is_empty());
    let two = read(StartAt::Beginning, Some(2), None).await;
    assert_eq!(two.len(), 2);

    let group = common::unique("msg-group");
    let first = read(StartAt::Beginning, Some(3), Some(group.clone())).await;
    assert_eq!(first.len(), 3);
    let d = admin.describe_group(&group).await.unwrap();
    let p1 = d.partitions.iter().find(|p| p.partition == 1).unwrap();
    assert_eq!((p1.committed, p1.lag), (Some(3), Some(1)));
    let rest = read(StartAt::Beginning, None, Some(group.clone())).await;
    assert_eq!(rest.iter().map(|m| m.offset).collect::<Vec<_>>(), [3]);
    admin.delete_group(&group).await.unwrap();

    // A message that cannot be handed on is not committed, nor anything after it.
    let failing = common::unique("msg-fail-group");
    let opts = ConsumeOptions {
        topic: topic.clone(),
        start: StartAt::Beginning,
        max: None,
        group: Some(failing.clone()),
        follow: false,
    };
    let mut handed = 0;
    let e = admin
        .consume(&opts, Arc::new(AtomicBool::new(false)), move |_m| {
            handed += 1;
            if handed == 3 {
                Err(std::io::Error::new(
                    std::io::ErrorKind::BrokenPipe,
                    "reader gone",
                ))
            } else {
                Ok(())
            }
        })
        .await
        .unwrap_err();
    assert!(e.is_output_closed(), "{e}");
    match &e {
        tda_kafka_admin::AdminError::Output {
            offset, committed, ..
        } => assert_eq!((*offset, *committed), (2, 2), "{e}"),
        other => panic!("{other:?}"),
    }
    let d = admin.describe_group(&failing).await.unwrap();
    let p1 = d.partitions.iter().find(|p| p.partition == 1).unwrap();
    assert_eq!(p1.committed, Some(2), "exactly the two handed-on messages");
    admin.delete_group(&failing).await.unwrap();
    admin.delete_topic(&topic, true).await.unwrap();
}
