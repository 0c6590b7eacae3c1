//! The one table of `kafka.env` keys: name, documentation, expected value,
//! whether it is a secret, and how it is read from and written into a
//! [`ClusterConfig`]. `config show`, validation, did-you-mean suggestions and
//! the env-file renderer all come from this table.

use std::path::PathBuf;

use crate::topic::tda_architecture;
use crate::{
    ClusterConfig, HostnameVerification, SaslMechanism, ScramCredential, SecretString, TopicSpec,
};

mod connection;
mod services;
mod zookeeper;

use connection::{NETWORK_KEYS, SECURITY_KEYS};
use services::SERVICE_KEYS;
use zookeeper::ZOOKEEPER_KEYS;

type Setter = fn(&mut ClusterConfig, &str) -> Result<(), ()>;
type Getter = fn(&ClusterConfig) -> Option<String>;

/// One known `kafka.env` key.
pub struct Key {
    name: &'static str,
    doc: &'static str,
    expected: &'static str,
    secret: bool,
    set: Setter,
    get: Getter,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("name", &self.name)
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

impl Key {
    /// The key as written in `kafka.env`, e.g. `KAFKA_BROKER_COUNT`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// One line of documentation.
    pub fn doc(&self) -> &'static str {
        self.doc
    }

    /// What a valid value looks like, e.g. `a positive integer`.
    pub fn expected(&self) -> &'static str {
        self.expected
    }

    /// Whether the value is a secret that must never be shown.
    pub fn is_secret(&self) -> bool {
        self.secret
    }

    /// The raw value of this setting in `config` (`None` when unset).
    /// Secrets are returned in clear: use [`Key::display_value`] for output.
    pub fn value(&self, config: &ClusterConfig) -> Option<String> {
        (self.get)(config)
    }

    /// The value for humans: secrets are shown as `***`.
    pub fn display_value(&self, config: &ClusterConfig) -> Option<String> {
        self.value(config).map(|v| self.mask(&v))
    }

    /// `value`, or `***` when this key is a secret.
    pub fn mask(&self, value: &str) -> String {
        if self.secret {
            "***".into()
        } else {
            value.into()
        }
    }

    /// Parses `value` and stores it into `config`. On failure `config` is
    /// unchanged and the error says what was expected.
    pub fn apply(&self, config: &mut ClusterConfig, value: &str) -> Result<(), String> {
        (self.set)(config, value).map_err(|()| self.expected.to_string())
    }
}

/// All known keys, in documentation order: general, topics, network,
/// services, metadata mode and ZooKeeper, security.
pub fn all_keys() -> impl Iterator<Item = &'static Key> + Clone {
    GENERAL_KEYS
        .iter()
        .chain(TOPIC_KEYS.iter())
        .chain(NETWORK_KEYS)
        .chain(SERVICE_KEYS)
        .chain(ZOOKEEPER_KEYS)
        .chain(SECURITY_KEYS)
}

/// The key named `name` (exact, case-sensitive as in shell).
pub fn lookup(name: &str) -> Option<&'static Key> {
    all_keys().find(|k| k.name == name)
}

/// The known key closest to `name`, if one is close enough to be a likely typo.
pub fn suggest(name: &str) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase();
    all_keys()
        .map(|k| (levenshtein(&upper, k.name), k.name))
        .filter(|(d, k)| *d <= (k.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Edit distance between two strings (characters).
pub(crate) fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

// ---- value parsers: each returns Err(()) and the table supplies the text ----

fn positive<T: std::str::FromStr + PartialOrd + Default>(v: &str) -> Result<T, ()> {
    let n: T = v.trim().parse().map_err(|_| ())?;
    if n > T::default() {
        Ok(n)
    } else {
        Err(())
    }
}

fn non_negative<T: std::str::FromStr>(v: &str) -> Result<T, ()> {
    v.trim().parse().map_err(|_| ())
}

fn boolean(v: &str) -> Result<bool, ()> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(()),
    }
}

/// A JVM memory size such as `512m`, `2G` or `1073741824`.
pub(crate) fn is_jvm_size(v: &str) -> bool {
    let digits = v.strip_suffix(['k', 'K', 'm', 'M', 'g', 'G']).unwrap_or(v);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && digits != "0"
}

fn jvm_size(v: &str) -> Result<String, ()> {
    let v = v.trim();
    if is_jvm_size(v) {
        Ok(v.to_string())
    } else {
        Err(())
    }
}

/// `None` for an empty value (unset), else the trimmed text.
fn optional(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_string())
}

fn host(v: &str) -> Result<String, ()> {
    let v = v.trim();
    if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c == ',' || c == '/') {
        Err(())
    } else {
        Ok(v.to_string())
    }
}

fn mechanisms(v: &str) -> Result<Vec<SaslMechanism>, ()> {
    v.split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| m.parse().map_err(|_| ()))
        .collect()
}

fn secret(v: &str) -> Option<SecretString> {
    (!v.is_empty()).then(|| SecretString::new(v))
}

fn topic_mut<'a>(c: &'a mut ClusterConfig, name: &str) -> &'a mut TopicSpec {
    let idx = match c.topics.iter().position(|t| t.name == name) {
        Some(i) => i,
        None => {
            let spec = tda_architecture()
                .into_iter()
                .find(|t| t.name == name)
                .unwrap_or_else(|| TopicSpec::new(name, 1));
            c.topics.push(spec);
            c.topics.len() - 1
        }
    };
    &mut c.topics[idx]
}

fn retention(v: &str) -> Result<Option<i64>, ()> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let n: i64 = v.parse().map_err(|_| ())?;
    if n >= -1 {
        Ok(Some(n))
    } else {
        Err(())
    }
}

macro_rules! topic_keys {
    ($($upper:literal => $topic:literal),* $(,)?) => {
        [$(
            Key {
                name: concat!("TDA_", $upper, "_PARTITIONS"),
                doc: concat!("Partitions of the ", $topic, " topic."),
                expected: "a positive integer",
                secret: false,
                set: |c, v| { topic_mut(c, $topic).partitions = positive(v)?; Ok(()) },
                get: |c| c.topic($topic).map(|t| t.partitions.to_string()),
            },
            Key {
                name: concat!("TDA_", $upper, "_RETENTION_MS"),
                doc: concat!("retention.ms of the ", $topic, " topic (-1: forever; empty: broker default)."),
                expected: "an integer of milliseconds >= -1, or empty",
                secret: false,
                set: |c, v| { topic_mut(c, $topic).retention_ms = retention(v)?; Ok(()) },
                get: |c| c.topic($topic).and_then(|t| t.retention_ms).map(|ms| ms.to_string()),
            },
            Key {
                name: concat!("TDA_", $upper, "_CLEANUP_POLICY"),
                doc: concat!("cleanup.policy of the ", $topic, " topic."),
                expected: "delete, compact or compact,delete",
                secret: false,
                set: |c, v| { topic_mut(c, $topic).cleanup_policy = v.parse().map_err(|_| ())?; Ok(()) },
                get: |c| c.topic($topic).map(|t| t.cleanup_policy.to_string()),
            },
        )*]
    };
}

static TOPIC_KEYS: [Key; 15] = topic_keys!(
    "JOBS" => "tda_jobs",
    "RESULTS" => "tda_results",
    "EVENTS" => "tda_events",
    "UPLOADS" => "tda_uploads",
    "ERRORS" => "tda_errors",
);

static GENERAL_KEYS: &[Key] = &[
    Key {
        name: "ENVIRONMENT",
        doc: "Profile: development, staging or production. Chooses the defaults.",
        expected: "development, staging or production",
        secret: false,
        set: |c, v| {
            c.environment = v.parse().map_err(|_| ())?;
            Ok(())
        },
        get: |c| Some(c.environment.to_string()),
    },
    Key {
        name: "RECOVERY_MODE",
        doc: "Start on existing data and report what was recovered (seed: RECOVERY_MODE=true).",
        expected: "true or false",
        secret: false,
        set: |c, v| {
            c.recovery_mode = boolean(v)?;
            Ok(())
        },
        get: |c| Some(c.recovery_mode.to_string()),
    },
    Key {
        name: "KAFKA_BROKER_COUNT",
        doc: "Number of KRaft nodes (broker and controller).",
        expected: "a positive integer",
        secret: false,
        set: |c, v| {
            c.broker_count = positive(v)?;
            Ok(())
        },
        get: |c| Some(c.broker_count.to_string()),
    },
    Key {
        name: "KAFKA_DEFAULT_PARTITIONS",
        doc: "Partitions of topics our tools create without an explicit count.",
        expected: "a positive integer",
        secret: false,
        set: |c, v| {
            c.default_partitions = positive(v)?;
            Ok(())
        },
        get: |c| Some(c.default_partitions.to_string()),
    },
    Key {
        name: "KAFKA_NUM_PARTITIONS",
        doc: "The broker's num.partitions (auto-created topics).",
        expected: "a positive integer",
        secret: false,
        set: |c, v| {
            c.num_partitions = positive(v)?;
            Ok(())
        },
        get: |c| Some(c.num_partitions.to_string()),
    },
    Key {
        name: "KAFKA_DEFAULT_REPLICATION_FACTOR",
        doc: "Replication factor of topics without their own.",
        expected: "a positive integer",
        secret: false,
        set: |c, v| {
            c.default_replication_factor = positive(v)?;
            Ok(())
        },
        get: |c| Some(c.default_replication_factor.to_string()),
    },
    Key {
        name: "KAFKA_MIN_INSYNC_REPLICAS",
        doc: "min.insync.replicas of the brokers and of topics without their own.",
        expected: "a positive integer",
        secret: false,
        set: |c, v| {
            c.min_insync_replicas = positive(v)?;
            Ok(())
        },
        get: |c| Some(c.min_insync_replicas.to_string()),
    },
    Key {
        name: "KAFKA_HEAP_SIZE",
        doc: "JVM heap per node; sets -Xmx and -Xms unless KAFKA_HEAP_OPTS is set.",
        expected: "a JVM memory size like 512m or 2G",
        secret: false,
        set: |c, v| {
            c.heap_size = jvm_size(v)?;
            Ok(())
        },
        get: |c| Some(c.heap_size.clone()),
    },
    Key {
        name: "KAFKA_HEAP_OPTS",
        doc: "JVM heap flags, e.g. \"-Xmx32g -Xms32g\"; replaces KAFKA_HEAP_SIZE. Empty: unset.",
        expected: "JVM flags such as \"-Xmx32g -Xms32g\"",
        secret: false,
        set: |c, v| {
            c.heap_opts = optional(v);
            Ok(())
        },
        get: |c| c.heap_opts.clone(),
    },
    Key {
        name: "KAFKA_JVM_PERFORMANCE_OPTS",
        doc: "JVM GC and performance flags.",
        expected: "JVM flags such as \"-XX:+UseG1GC\"",
        secret: false,
        set: |c, v| {
            c.jvm_performance_opts = v.trim().to_string();
            Ok(())
        },
        get: |c| Some(c.jvm_performance_opts.clone()),
    },
    Key {
        name: "KAFKA_NUM_NETWORK_THREADS",
        doc: "The broker's num.network.threads.",
        expected: "a positive integer",
        secret: false,
        set: |c, v| {
            c.num_network_threads = positive(v)?;
            Ok(())
        },
        get: |c| Some(c.num_network_threads.to_string()),
    },
    Key {
        name: "KAFKA_NUM_IO_THREADS",
        doc: "The broker's num.io.threads.",
        expected: "a positive integer",
        secret: false,
        set: |c, v| {
            c.num_io_threads = positive(v)?;
            Ok(())
        },
        get: |c| Some(c.num_io_threads.to_string()),
    },
    Key {
        name: "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS",
        doc: "The broker's group.initial.rebalance.delay.ms.",
        expected: "a non-negative integer of milliseconds",
        secret: false,
        set: |c, v| {
            c.group_initial_rebalance_delay_ms = non_negative(v)?;
            Ok(())
        },
        get: |c| Some(c.group_initial_rebalance_delay_ms.to_string()),
    },
    Key {
        name: "KAFKA_AUTO_CREATE_TOPICS_ENABLE",
        doc: "The broker's auto.create.topics.enable (must be false in production).",
        expected: "true or false",
        secret: false,
        set: |c, v| {
            c.auto_create_topics_enable = boolean(v)?;
            Ok(())
        },
        get: |c| Some(c.auto_create_topics_enable.to_string()),
    },
    Key {
        name: "KAFKA_DELETE_TOPIC_ENABLE",
        doc: "The broker's delete.topic.enable.",
        expected: "true or false",
        secret: false,
        set: |c, v| {
            c.delete_topic_enable = boolean(v)?;
            Ok(())
        },
        get: |c| Some(c.delete_topic_enable.to_string()),
    },
    Key {
        name: "TDA_TOPICS_FILE",
        doc: "YAML or JSON file (`version: 1`, `topics:` list) that adds or overrides topics.",
        expected: "a file path",
        secret: false,
        set: |c, v| {
            c.topics_file = optional(v).map(PathBuf::from);
            Ok(())
        },
        get: |c| c.topics_file.as_ref().map(|p| p.display().to_string()),
    },
];
