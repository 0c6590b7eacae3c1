//! Declarative plan / apply / check, with a hand-made change by an independent client.

mod common;

use tda_kafka_admin::PlanAction;
use tda_kafka_config::{CleanupPolicy, TopicSpec};

fn arch(prefix: &str) -> Vec<TopicSpec> {
    let mut a = TopicSpec::new(format!("{prefix}-jobs"), 3).with_retention_days(7);
    a.replication_factor = Some(3);
    a.min_insync_replicas = Some(2);
    let mut b = TopicSpec::new(format!("{prefix}-results"), 2)
        .with_retention_days(30)
        .with_cleanup_policy(CleanupPolicy::Compact);
    b.replication_factor = Some(3);
    b.configs.insert("compression.type".into(), "lz4".into());
    vec![a, b]
}

#[tokio::test]
async fn plan_apply_check_after_a_manual_retention_change() {
    let admin = common::admin().await;
    let prefix = common::unique("plan");
    let mut specs = arch(&prefix);

    // Empty cluster: two creates, and the plan never touches unrelated topics.
    let plan = admin.plan(&specs, false).await.unwrap();
    let creates: Vec<&str> = plan
        .changes()
        .map(|a| match a {
            PlanAction::Create { topic, .. } => topic.as_str(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(creates, [specs[0].name.as_str(), specs[1].name.as_str()]);
    assert!(plan.has_drift());

    let report = admin.apply(&specs, &plan, false, true).await.unwrap();
    assert!(report.success(), "{report:#?}");
    assert_eq!(report.outcomes.len(), 2);
    let again = admin.plan(&specs, false).await.unwrap();
    assert!(!again.has_drift(), "{again:#?}");

    // Someone changes retention by hand with another client.
    let peer = common::peer(&["alter-config", &specs[0].name, "retention.ms", "1000"]);
    assert_eq!(peer, "ok");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let drift = loop {
        let p = admin.plan(&specs, false).await.unwrap();
        if p.has_drift() || std::time::Instant::now() > deadline {
            break p;
        }
    };
    let changes: Vec<&PlanAction> = drift.changes().collect();
    assert_eq!(changes.len(), 1, "{drift:#?}");
    match changes[0] {
        PlanAction::AlterConfigs { topic, changes } => {
            assert_eq!(topic, &specs[0].name);
            assert_eq!(changes.len(), 1);
            assert_eq!(changes[0].key, "retention.ms");
            assert_eq!(changes[0].current.as_deref(), Some("1000"));
            assert_eq!(changes[0].desired.as_deref(), Some("604800000"));
        }
        other => panic!("unexpected {other:?}"),
    }
    let report = admin.apply(&specs, &drift, false, true).await.unwrap();
    assert!(report.success(), "{report:#?}");
    assert!(!admin.plan(&specs, false).await.unwrap().has_drift());
    let peer = common::peer(&["describe", &specs[0].name]);
    assert_eq!(peer["configs"]["retention.ms"], "604800000");

    // Growth is applied; shrinking and RF changes are reported, never attempted.
    specs[1].partitions = 4;
    specs[0].partitions = 2;
    specs[0].replication_factor = Some(2);
    let plan = admin.plan(&specs, false).await.unwrap();
    assert!(plan
        .changes()
        .any(|a| matches!(a, PlanAction::AddPartitions { from: 2, to: 4, .. })));
    let na: Vec<String> = plan
        .not_applicable()
        .map(|a| match a {
            PlanAction::NotApplicable { change, .. } => change.clone(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(na, ["partitions 3 -> 2", "replication factor 3 -> 2"]);
    let report = admin.apply(&specs, &plan, false, true).await.unwrap();
    assert!(report.success(), "{report:#?}");
    assert!(
        report.after.has_drift(),
        "not-applicable differences remain drift"
    );
    assert_eq!(
        admin
            .topic_metadata(&specs[1].name)
            .await
            .unwrap()
            .partitions
            .len(),
        4
    );
    assert_eq!(
        admin
            .topic_metadata(&specs[0].name)
            .await
            .unwrap()
            .partitions
            .len(),
        3
    );

    for s in &specs {
        admin.delete_topic(&s.name, true).await.unwrap();
    }
}

#[tokio::test]
async fn unmanaged_topics_are_listed_and_pruned_only_when_asked() {
    let admin = common::admin().await;
    let extra = common::unique("extra");
    common::create(&admin, &extra, 1).await;
    let plan = admin.plan(&[], false).await.unwrap();
    assert!(plan
        .actions
        .iter()
        .any(|a| matches!(a, PlanAction::Unmanaged { topic } if *topic == extra)));
    assert!(!plan
        .actions
        .iter()
        .any(|a| matches!(a, PlanAction::Delete { .. })));
    let pruning = admin.plan(&[], true).await.unwrap();
    assert!(pruning
        .actions
        .iter()
        .any(|a| matches!(a, PlanAction::Delete { topic } if *topic == extra)));
    assert!(
        !pruning.actions.iter().any(|a| a.topic().starts_with('_')),
        "internal topics are never managed"
    );
    admin.delete_topic(&extra, true).await.unwrap();
}

#[tokio::test]
async fn a_failing_action_is_reported_not_hidden() {
    let admin = common::admin().await;
    let prefix = common::unique("fail");
    let mut good = TopicSpec::new(format!("{prefix}-ok"), 1);
    good.replication_factor = Some(3);
    let mut bad = TopicSpec::new(format!("{prefix}-bad"), 1);
    bad.replication_factor = Some(3);
    bad.configs.insert("retention.bytes".into(), "lots".into());
    let specs = vec![good.clone(), bad.clone()];
    let plan = admin.plan(&specs, false).await.unwrap();
    let report = admin.apply(&specs, &plan, false, true).await.unwrap();
    assert!(!report.success());
    let failed: Vec<_> = report.outcomes.iter().filter(|o| !o.ok).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].action.topic(), bad.name);
    assert!(failed[0]
        .error
        .as_deref()
        .unwrap()
        .contains("retention.bytes=lots"));
    assert!(report
        .outcomes
        .iter()
        .any(|o| o.ok && o.action.topic() == good.name));
    admin.delete_topic(&good.name, true).await.unwrap();
}
