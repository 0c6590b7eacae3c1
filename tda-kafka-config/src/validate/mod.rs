//! Semantic rules over a whole [`ClusterConfig`]. Every rule runs; all
//! problems are reported together.

use std::collections::BTreeMap;

use crate::keys::lookup;
use crate::loader::{Provenance, Source};
use crate::report::{Issue, ValidationReport};
use crate::{ClusterConfig, Environment, TopicSpec};

mod security;
use security::check_security;

/// Longest topic name Kafka accepts.
pub const MAX_TOPIC_NAME_LEN: usize = 249;

/// Why `name` is not a valid Kafka topic name, or `None` when it is.
pub fn topic_name_error(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("topic name is empty".into());
    }
    if name == "." || name == ".." {
        return Some(format!("topic name {name:?} is not allowed"));
    }
    if name.len() > MAX_TOPIC_NAME_LEN {
        return Some(format!(
            "topic name is {} characters long: at most {MAX_TOPIC_NAME_LEN} are allowed",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Some(format!(
            "topic name {name:?} contains {c:?}: only ASCII letters, digits, '.', '_' and '-' are allowed"
        ));
    }
    None
}

/// Kafka treats '.' and '_' as the same in metric names, so topics differing
/// only there collide.
fn collision_key(name: &str) -> String {
    name.replace('.', "_")
}

struct Ctx<'a> {
    provenance: Option<&'a Provenance>,
    report: ValidationReport,
}

impl Ctx<'_> {
    /// Whether `key` was set in a file (so an issue can point at a line).
    fn located(&self, key: &str) -> bool {
        self.provenance
            .is_some_and(|p| p.source(key).location().0.is_some())
    }

    /// An issue about `key`, located where that key was set.
    fn issue(&mut self, mut issue: Issue) {
        if issue.path.is_none() {
            if let (Some(p), Some(k)) = (self.provenance, issue.key.as_deref()) {
                let source = match k.strip_prefix("topic ") {
                    Some(topic) => p.topic_source(topic).cloned().unwrap_or(Source::Default),
                    None => p.source(k),
                };
                let (path, line) = source.location();
                issue = issue.at(path, line);
            }
        }
        self.report.push(issue);
    }
}

/// Checks every rule over `config` (no file locations).
pub fn validate(config: &ClusterConfig) -> ValidationReport {
    validate_with(config, None)
}

/// Checks every rule; with `provenance`, issues point at the file and line
/// that set the offending key.
pub fn validate_with(config: &ClusterConfig, provenance: Option<&Provenance>) -> ValidationReport {
    let mut cx = Ctx {
        provenance,
        report: ValidationReport::default(),
    };
    check_counts(config, &mut cx);
    check_topics(config, &mut cx);
    check_ports(config, &mut cx);
    check_security(config, &mut cx);
    if config.uses_zookeeper() && config.security.generated() {
        cx.issue(
            Issue::error(
                Some("TDA_KAFKA_TLS_DIR"),
                "a generated secured cluster (mutual TLS between controllers, SCRAM users, the KRaft authorizer) needs KRaft, but TDA_METADATA_MODE=zookeeper",
            )
            .with_hint("remove TDA_KAFKA_TLS_DIR, or run KRaft (TDA_METADATA_MODE=kraft, the default)"),
        );
    }
    if config.environment == Environment::Production && config.auto_create_topics_enable {
        cx.issue(
            Issue::error(
                Some("KAFKA_AUTO_CREATE_TOPICS_ENABLE"),
                "auto-create of topics is enabled in production",
            )
            .with_hint("set KAFKA_AUTO_CREATE_TOPICS_ENABLE=false; create topics explicitly"),
        );
    }
    if config.heap_opts.is_some() {
        if let Some(p) = provenance {
            if p.source("KAFKA_HEAP_SIZE") != Source::Default
                && !matches!(p.source("KAFKA_HEAP_SIZE"), Source::Profile { .. })
            {
                cx.issue(Issue::warning(
                    Some("KAFKA_HEAP_SIZE"),
                    "ignored because KAFKA_HEAP_OPTS is set",
                ));
            }
        }
    }
    cx.report
}

fn check_counts(c: &ClusterConfig, cx: &mut Ctx<'_>) {
    if c.broker_count < 1 {
        cx.issue(Issue::error(
            Some("KAFKA_BROKER_COUNT"),
            "at least one broker is needed",
        ));
    }
    for (key, v) in [
        ("KAFKA_DEFAULT_PARTITIONS", c.default_partitions),
        ("KAFKA_NUM_PARTITIONS", c.num_partitions),
    ] {
        if v < 1 {
            cx.issue(Issue::error(
                Some(key),
                format!("partitions must be at least 1, not {v}"),
            ));
        }
    }
    let rf = c.default_replication_factor;
    if rf < 1 {
        cx.issue(Issue::error(
            Some("KAFKA_DEFAULT_REPLICATION_FACTOR"),
            format!("replication factor must be at least 1, not {rf}"),
        ));
    } else if i32::from(rf) > i32::from(c.broker_count) {
        let n = c.broker_count;
        // Point at the key the user set: the factor, else the broker count.
        let issue = if cx.located("KAFKA_DEFAULT_REPLICATION_FACTOR")
            || !cx.located("KAFKA_BROKER_COUNT")
        {
            Issue::error(
                Some("KAFKA_DEFAULT_REPLICATION_FACTOR"),
                format!("replication factor {rf} is above the broker count {n}"),
            )
            .with_hint(format!("use at most {n} or raise KAFKA_BROKER_COUNT"))
        } else {
            Issue::error(
                Some("KAFKA_BROKER_COUNT"),
                format!("broker count {n} is below the replication factor {rf}"),
            )
            .with_hint(format!(
                "use at least {rf} brokers or set KAFKA_DEFAULT_REPLICATION_FACTOR (and KAFKA_MIN_INSYNC_REPLICAS) to at most {n}"
            ))
        };
        cx.issue(issue);
    }
    let isr = c.min_insync_replicas;
    if isr < 1 {
        cx.issue(Issue::error(
            Some("KAFKA_MIN_INSYNC_REPLICAS"),
            format!("min.insync.replicas must be at least 1, not {isr}"),
        ));
    } else if isr > rf && rf >= 1 {
        let key = if cx.located("KAFKA_MIN_INSYNC_REPLICAS")
            || !cx.located("KAFKA_DEFAULT_REPLICATION_FACTOR")
        {
            "KAFKA_MIN_INSYNC_REPLICAS"
        } else {
            "KAFKA_DEFAULT_REPLICATION_FACTOR"
        };
        cx.issue(
            Issue::error(
                Some(key),
                format!("min.insync.replicas {isr} is above the replication factor {rf}"),
            )
            .with_hint("producers with acks=all could never write"),
        );
    } else if isr == rf && rf > 1 && c.environment == Environment::Production {
        cx.issue(Issue::warning(
            Some("KAFKA_MIN_INSYNC_REPLICAS"),
            format!(
                "min.insync.replicas equals the replication factor {rf}: one broker down blocks acks=all writes"
            ),
        ));
    }
    for (key, v) in [
        ("KAFKA_NUM_NETWORK_THREADS", c.num_network_threads),
        ("KAFKA_NUM_IO_THREADS", c.num_io_threads),
    ] {
        if v < 1 {
            cx.issue(Issue::error(Some(key), "at least one thread is needed"));
        }
    }
    if !crate::keys::is_jvm_size(&c.heap_size) {
        cx.issue(Issue::error(
            Some("KAFKA_HEAP_SIZE"),
            format!(
                "invalid value {:?}: expected a JVM memory size like 512m or 2G",
                c.heap_size
            ),
        ));
    }
}

/// The key of a TDA topic attribute (`TDA_JOBS_PARTITIONS`), if the topic is one.
fn topic_key(topic: &str, suffix: &str) -> Option<String> {
    let k = format!(
        "TDA_{}_{suffix}",
        topic.strip_prefix("tda_")?.to_ascii_uppercase()
    );
    lookup(&k).map(|_| k)
}

fn topic_issue_key(t: &TopicSpec, suffix: &str) -> String {
    topic_key(&t.name, suffix).unwrap_or_else(|| format!("topic {}", t.name))
}

fn check_topics(c: &ClusterConfig, cx: &mut Ctx<'_>) {
    let mut by_collision: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &c.topics {
        *seen.entry(t.name.as_str()).or_default() += 1;
        let key = format!("topic {}", t.name);
        match topic_name_error(&t.name) {
            Some(msg) => cx.issue(Issue::error(Some(&key), msg)),
            None => {
                if t.name.contains('.') && t.name.contains('_') {
                    cx.issue(Issue::warning(
                        Some(&key),
                        "topic name mixes '.' and '_'; Kafka metrics treat them alike and such names may collide",
                    ));
                }
                if t.name.starts_with("__") {
                    cx.issue(Issue::warning(
                        Some(&key),
                        "names starting with '__' are reserved for Kafka's internal topics",
                    ));
                }
                by_collision
                    .entry(collision_key(&t.name))
                    .or_default()
                    .push(&t.name);
            }
        }
        for a in &t.access {
            if let Some(why) = a.error() {
                cx.issue(Issue::error(Some(&key), format!("access: {why}")));
            }
        }
        if t.partitions < 1 {
            cx.issue(Issue::error(
                Some(&topic_issue_key(t, "PARTITIONS")),
                format!(
                    "topic {}: partitions must be at least 1, not {}",
                    t.name, t.partitions
                ),
            ));
        }
        let eff = c.effective_topic(t);
        let rf = eff
            .replication_factor
            .unwrap_or(c.default_replication_factor);
        let isr = eff.min_insync_replicas.unwrap_or(c.min_insync_replicas);
        if t.replication_factor.is_some() {
            if rf < 1 {
                cx.issue(Issue::error(
                    Some(&key),
                    format!("replication factor must be at least 1, not {rf}"),
                ));
            } else if i32::from(rf) > i32::from(c.broker_count) {
                cx.issue(Issue::error(
                    Some(&key),
                    format!(
                        "replication factor {rf} is above the broker count {}",
                        c.broker_count
                    ),
                ));
            }
        }
        if t.replication_factor.is_some() || t.min_insync_replicas.is_some() {
            if isr < 1 {
                cx.issue(Issue::error(
                    Some(&key),
                    format!("min.insync.replicas must be at least 1, not {isr}"),
                ));
            } else if isr > rf && rf >= 1 {
                cx.issue(Issue::error(
                    Some(&key),
                    format!("min.insync.replicas {isr} is above the replication factor {rf}"),
                ));
            }
        }
        if let Some(ms) = t.retention_ms {
            if ms < -1 {
                cx.issue(Issue::error(
                    Some(&topic_issue_key(t, "RETENTION_MS")),
                    format!(
                        "topic {}: retention.ms must be -1 or more, not {ms}",
                        t.name
                    ),
                ));
            }
        }
        for typed in ["retention.ms", "cleanup.policy", "min.insync.replicas"] {
            if t.configs.contains_key(typed) {
                cx.issue(Issue::error(
                    Some(&key),
                    format!("configs sets {typed}, which has its own field; set the field instead"),
                ));
            }
        }
    }
    for (name, n) in seen {
        if n > 1 {
            cx.issue(Issue::error(
                Some(&format!("topic {name}")),
                format!("topic {name:?} is defined {n} times"),
            ));
        }
    }
    for names in by_collision.values() {
        let mut distinct = names.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() > 1 {
            cx.issue(Issue::error(
                Some(&format!("topic {}", distinct[0])),
                format!(
                    "topic names {} collide: Kafka treats '.' and '_' alike",
                    distinct.join(" and ")
                ),
            ));
        }
    }
}

fn check_ports(c: &ClusterConfig, cx: &mut Ctx<'_>) {
    let n = u32::from(c.broker_count.max(1));
    let net = &c.network;
    let mut ranges: Vec<(&'static str, String, u32, u32)> = Vec::new();
    let mut range = |key: &'static str, what: String, base: u16, count: u32| {
        ranges.push((key, what, u32::from(base), u32::from(base) + count - 1));
    };
    range(
        "TDA_KAFKA_PORT_BASE",
        "broker ports".into(),
        net.kafka_base_port,
        n,
    );
    if c.uses_zookeeper() {
        let zk = &c.zookeeper;
        let m = u32::from(zk.nodes.max(1));
        for (key, what, base) in [
            (
                "TDA_ZOOKEEPER_PORT_BASE",
                "ZooKeeper client ports",
                zk.client_port_base,
            ),
            (
                "TDA_ZOOKEEPER_QUORUM_PORT_BASE",
                "ZooKeeper quorum ports",
                zk.quorum_port_base,
            ),
            (
                "TDA_ZOOKEEPER_ELECTION_PORT_BASE",
                "ZooKeeper election ports",
                zk.election_port_base,
            ),
        ] {
            range(key, what.into(), base, m);
        }
    } else {
        range(
            "TDA_KAFKA_CONTROLLER_PORT_BASE",
            "controller ports".into(),
            net.controller_base_port,
            n,
        );
    }
    if net.jmx_base_port != 0 {
        range(
            "TDA_KAFKA_JMX_PORT_BASE",
            "JMX ports".into(),
            net.jmx_base_port,
            n,
        );
    }
    for (key, what, port) in [
        (
            "TDA_SCHEMA_REGISTRY_PORT",
            "Schema Registry port",
            net.schema_registry_port,
        ),
        (
            "TDA_SCHEMA_REGISTRY_INTERNAL_PORT",
            "Schema Registry internal port",
            net.schema_registry_internal_port,
        ),
        ("TDA_CONNECT_PORT", "Kafka Connect port", net.connect_port),
        ("TDA_KAFKA_UI_PORT", "Kafka UI port", net.ui_port),
        ("TDA_KSQLDB_PORT", "ksqlDB port", net.ksqldb_port),
        ("TDA_REDIS_PORT", "Redis port", net.redis_port),
    ] {
        range(key, what.into(), port, 1);
    }
    for (key, what, lo, hi) in &ranges {
        if *lo == 0 || *hi > u32::from(u16::MAX) {
            cx.issue(Issue::error(
                Some(key),
                format!("{what} {lo}..={hi} do not fit in 1..=65535"),
            ));
        }
    }
    for (i, a) in ranges.iter().enumerate() {
        for b in &ranges[i + 1..] {
            if a.2 <= b.3 && b.2 <= a.3 {
                // Name the key the user set first, so the issue points at its line.
                let (a, b) = if cx.located(a.0) && !cx.located(b.0) {
                    (b, a)
                } else {
                    (a, b)
                };
                let show = |r: &(&str, String, u32, u32)| {
                    if r.2 == r.3 {
                        format!("{} {}", r.1, r.2)
                    } else {
                        format!("{} {}-{}", r.1, r.2, r.3)
                    }
                };
                cx.issue(
                    Issue::error(Some(b.0), format!("{} and {} overlap", show(b), show(a)))
                        .with_hint(format!("change {} or {}", b.0, a.0)),
                );
            }
        }
    }
}
