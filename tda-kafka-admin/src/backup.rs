//! Backup and restore: one versioned YAML or JSON file with the topics
//! (partitions, replication factor, non-default configs), every group's
//! committed offsets, the ACLs, and (version 2) the registry's schemas and
//! Connect's connector configs (see `services_backup`). Its `topics` list
//! has the shape of a topics file, so the backup is valid input for
//! `plan` / `apply`. Version 1 files are still read. The file is written
//! 0600: connector configs can hold secrets.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tda_kafka_config::{redact_quoted, CleanupPolicy, TopicSpec};

use crate::{Admin, AdminError, EnsureOutcome, Result};

/// The backup format version this crate writes (it reads 1 and 2).
pub const BACKUP_VERSION: u32 = 2;

/// The oldest version still read (no schemas, no connectors).
pub const OLDEST_BACKUP_VERSION: u32 = 1;

/// One committed offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OffsetEntry {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Committed offset.
    pub offset: i64,
}

/// The committed offsets of one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupBackup {
    /// Group id.
    pub group: String,
    /// Offsets, sorted.
    pub offsets: Vec<OffsetEntry>,
}

/// A backup file (also accepted: a topics file with only `version` and `topics`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backup {
    /// Format version: [`OLDEST_BACKUP_VERSION`] to [`BACKUP_VERSION`].
    pub version: u32,
    /// When it was taken, ms since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at_ms: Option<i64>,
    /// The cluster it was taken from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<String>,
    /// Topics.
    #[serde(default)]
    pub topics: Vec<TopicSpec>,
    /// Groups and their offsets.
    #[serde(default)]
    pub groups: Vec<GroupBackup>,
    /// The cluster's literal ALLOW ACLs (none without an authorizer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acls: Vec<tda_kafka_config::AclBinding>,
    /// The schema registry's subjects, versions and compatibility levels
    /// (none when it was not backed up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schemas: Option<crate::SchemasBackup>,
    /// Kafka Connect's connector configs (none when not backed up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connectors: Option<Vec<crate::ConnectorBackup>>,
}

/// The status of a group whose offsets were set and read back.
pub(crate) const GROUP_OK: &str = "ok";
/// The start of the status of a group some of whose offsets were clamped.
pub(crate) const GROUP_CLAMPED: &str = "ok (clamped";

/// What [`Admin::restore`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreReport {
    /// Per topic: `created`, `already_exists`, or the error.
    pub topics: Vec<(String, String)>,
    /// Per group: `ok` (offsets set and read back), `ok (clamped ...)`
    /// (offsets outside the partition's log were set to its nearest end,
    /// listed), or what is wrong (nothing of that group was set when its
    /// offsets name a topic or partition that does not exist).
    pub groups: Vec<(String, String)>,
    /// Per ACL of the backup: `created`, `already_exists`, or the error.
    #[serde(default)]
    pub acls: Vec<(String, String)>,
    /// Per subject (and the global level): `created`, `updated` (versions
    /// added or level changed), `already_exists`, with `(new schema ids:
    /// old->new)` when the registry gave new ids, or the error.
    #[serde(default)]
    pub schemas: Vec<(String, String)>,
    /// Per connector: `created`, `updated`, `already_exists`, or the error.
    #[serde(default)]
    pub connectors: Vec<(String, String)>,
}

impl RestoreReport {
    /// Whether every step succeeded.
    pub fn success(&self) -> bool {
        self.topics
            .iter()
            .all(|(_, s)| s == "created" || s == "already_exists")
            && self
                .groups
                .iter()
                .all(|(_, s)| s == GROUP_OK || s.starts_with(GROUP_CLAMPED))
            && self
                .acls
                .iter()
                .all(|(_, s)| s == "created" || s == "already_exists")
            && self
                .schemas
                .iter()
                .chain(&self.connectors)
                .all(|(_, s)| crate::services_backup::is_ok(s))
    }
}

fn file_err(path: &Path, field: impl Into<String>, reason: impl Into<String>) -> AdminError {
    AdminError::File {
        path: path.to_path_buf(),
        field: field.into(),
        reason: reason.into(),
    }
}

/// A parser message with its line, and every quoted value it echoes
/// replaced by its length.
fn describe(line: Option<usize>, message: &str) -> String {
    let redacted = redact_quoted(message);
    match line {
        Some(l) if !redacted.contains("line ") => format!("line {l}: {redacted}"),
        _ => redacted,
    }
}

impl Backup {
    /// Parses a backup or topics file (YAML, or JSON when the name ends in
    /// `.json`); errors name the file, the field and the reason.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| AdminError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses `text` as if read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        // Errors name the file, the field and the line, never the file's
        // content: a backup can hold secrets, and serde quotes the values it
        // rejects (a whole file that is not a mapping is one such value).
        let parsed: Self = if is_json {
            let mut de = serde_json::Deserializer::from_str(text);
            serde_path_to_error::deserialize(&mut de).map_err(|e| {
                let field = e.path().to_string();
                let inner = e.into_inner();
                let line = (inner.line() > 0).then(|| inner.line());
                file_err(path, field, describe(line, &inner.to_string()))
            })?
        } else {
            let de = serde_norway::Deserializer::from_str(text);
            serde_path_to_error::deserialize(de).map_err(|e| {
                let field = e.path().to_string();
                let inner = e.into_inner();
                let line = inner.location().map(|l| l.line());
                file_err(path, field, describe(line, &inner.to_string()))
            })?
        };
        if !(OLDEST_BACKUP_VERSION..=BACKUP_VERSION).contains(&parsed.version) {
            return Err(file_err(
                path,
                "version",
                format!(
                    "unsupported version {}: expected {OLDEST_BACKUP_VERSION} to {BACKUP_VERSION}",
                    parsed.version
                ),
            ));
        }
        for (i, t) in parsed.topics.iter().enumerate() {
            if let Err(e) = crate::validate_topic_name(&t.name) {
                return Err(file_err(path, format!("topics[{i}].name"), e.to_string()));
            }
            if t.partitions < 1 {
                return Err(file_err(
                    path,
                    format!("topics[{i}].partitions"),
                    "must be >= 1",
                ));
            }
        }
        Ok(parsed)
    }

    /// The file text: JSON when `path` ends in `.json`, YAML otherwise.
    pub fn to_text(&self, path: &Path) -> String {
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            serde_json::to_string_pretty(self).expect("a backup always serializes")
        } else {
            serde_norway::to_string(self).expect("a backup always serializes")
        }
    }

    /// Writes the file (see [`Backup::to_text`]), readable by its owner
    /// only (0600, also when it existed): connector configs can hold secrets.
    pub fn write(&self, path: &Path) -> Result<()> {
        use std::io::Write;
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let io = |source| AdminError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io)?;
        f.write_all(self.to_text(path).as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)
    }
}

/// Builds the spec of an existing topic from its shape and configs.
pub(crate) fn spec_from_cluster(
    info: &crate::TopicInfo,
    entries: &[crate::ConfigValue],
) -> TopicSpec {
    let mut spec = TopicSpec::new(info.name.clone(), info.partitions.len() as i32);
    spec.replication_factor = Some(info.replication_factor());
    if let Some(p) = entries
        .iter()
        .find(|e| e.name == "cleanup.policy")
        .and_then(|e| e.value.as_deref())
        .and_then(|v| v.parse::<CleanupPolicy>().ok())
    {
        spec.cleanup_policy = p;
    }
    for e in entries.iter().filter(|e| !e.is_default) {
        let Some(v) = e.value.clone() else { continue };
        match e.name.as_str() {
            "cleanup.policy" => {}
            "retention.ms" => spec.retention_ms = v.parse().ok(),
            "min.insync.replicas" => spec.min_insync_replicas = v.parse().ok(),
            _ => {
                spec.configs.insert(e.name.clone(), v);
            }
        }
    }
    spec
}

impl Admin {
    /// Every non-internal topic and every group's committed offsets.
    pub async fn backup(&self) -> Result<Backup> {
        let topics: Vec<crate::TopicInfo> = self
            .topics_metadata()
            .await?
            .into_iter()
            .filter(|t| !t.internal)
            .collect();
        let names: Vec<String> = topics.iter().map(|t| t.name.clone()).collect();
        let configs = self.topic_config_entries(&names).await?;
        let specs = topics
            .iter()
            .map(|t| spec_from_cluster(t, configs.get(&t.name).map_or(&[][..], |v| v)))
            .collect();
        let mut groups = Vec::new();
        for g in self.list_groups().await? {
            if g.protocol_type != "consumer" && !g.protocol_type.is_empty() {
                continue;
            }
            let offsets = self.committed_offsets(&g.group, &[]).await?;
            if offsets.is_empty() {
                continue;
            }
            groups.push(GroupBackup {
                group: g.group,
                offsets: offsets
                    .into_iter()
                    .map(|((topic, partition), offset)| OffsetEntry {
                        topic,
                        partition,
                        offset,
                    })
                    .collect(),
            });
        }
        // A cluster without an authorizer has no ACLs to keep.
        let acls = match self.describe_acls().await {
            Ok(acls) => acls,
            Err(AdminError::Refused { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok(Backup {
            acls,
            version: BACKUP_VERSION,
            created_at_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .map(|d| d.as_millis() as i64),
            bootstrap: Some(self.bootstrap.clone()),
            topics: specs,
            groups,
            schemas: None,
            connectors: None,
        })
    }

    /// Recreates missing topics (existing ones are left alone) and sets every
    /// group's offsets. Reports each step; never stops at the first failure.
    ///
    /// A group's offsets are validated first: every topic and partition must
    /// exist (otherwise nothing of that group is set), and an offset outside
    /// the partition's `[earliest, latest]` is clamped to it (a topic that
    /// was recreated empty starts its consumers at 0 instead of skipping the
    /// first new messages) and listed. After setting them, the offsets are
    /// read back and compared.
    pub async fn restore(&self, backup: &Backup) -> Result<RestoreReport> {
        let mut report = RestoreReport {
            topics: Vec::new(),
            groups: Vec::new(),
            acls: Vec::new(),
            schemas: Vec::new(),
            connectors: Vec::new(),
        };
        if !backup.topics.is_empty() {
            let creates: Vec<crate::CreateTopic> = backup
                .topics
                .iter()
                .map(|s| crate::CreateTopic {
                    name: s.name.clone(),
                    partitions: Some(s.partitions),
                    replication_factor: s.replication_factor,
                    configs: s.topic_configs(),
                })
                .collect();
            for (spec, r) in backup
                .topics
                .iter()
                .zip(self.create_topics(&creates).await?)
            {
                let status = match r {
                    Ok(_) => EnsureOutcome::Created.as_str().to_owned(),
                    Err(AdminError::Topic {
                        code: rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists,
                        ..
                    }) => EnsureOutcome::AlreadyExists.as_str().to_owned(),
                    Err(e) => e.to_string(),
                };
                report.topics.push((spec.name.clone(), status));
            }
            // Created topics are visible everywhere once `create_topics`
            // returns; a topic that already existed may itself be new.
            let existing: Vec<String> = report
                .topics
                .iter()
                .filter(|(_, s)| s == EnsureOutcome::AlreadyExists.as_str())
                .map(|(t, _)| t.clone())
                .collect();
            for (topic, wher) in self.await_topics(&existing).await? {
                if let Some((_, status)) = report.topics.iter_mut().find(|(t, _)| *t == topic) {
                    *status = format!("already_exists, but not ready on {wher}");
                }
            }
        }
        for g in &backup.groups {
            let status = self.restore_group(g).await;
            report.groups.push((g.group.clone(), status));
        }
        if !backup.acls.is_empty() {
            self.restore_acls(&backup.acls, &mut report).await;
        }
        Ok(report)
    }

    /// Creates the ACLs of a backup that the cluster lacks (never deletes).
    async fn restore_acls(
        &self,
        acls: &[tda_kafka_config::AclBinding],
        report: &mut RestoreReport,
    ) {
        let all_failed = |report: &mut RestoreReport, e: AdminError| {
            let e = e.to_string();
            report
                .acls
                .extend(acls.iter().map(|b| (b.to_string(), e.clone())));
        };
        let plan = match self.plan_acls(acls).await {
            Ok(p) => p,
            Err(e) => return all_failed(report, e),
        };
        let outcomes = match self
            .apply_acls(
                &crate::AclPlan {
                    unmanaged: Vec::new(),
                    ..plan.clone()
                },
                false,
            )
            .await
        {
            Ok(o) => o,
            Err(e) => return all_failed(report, e),
        };
        for b in &plan.unchanged {
            report.acls.push((b.to_string(), "already_exists".into()));
        }
        for o in outcomes {
            let status = o.error.unwrap_or_else(|| "created".into());
            report.acls.push((o.binding.to_string(), status));
        }
    }

    /// Waits until every topic in `names` has a leader for every partition
    /// in the metadata of every broker, bounded by the client's timeout;
    /// [`AdminError::NotPropagated`] names what is still missing where.
    ///
    /// A new topic reaches each broker's metadata cache asynchronously, so a
    /// call answered by another broker right after a create may not see it.
    /// On PLAINTEXT listeners each broker is asked directly (raw protocol
    /// client); on SSL/SASL the metadata librdkafka fetches is checked,
    /// which comes from one broker per poll.
    pub async fn wait_for_topics(&self, names: &[String]) -> Result<()> {
        let pending = self.await_topics(names).await?;
        if pending.is_empty() {
            return Ok(());
        }
        Err(AdminError::NotPropagated {
            what: "topics".into(),
            timeout_ms: self.timeout.as_millis() as u64,
            pending: pending
                .into_iter()
                .map(|(topic, wher)| format!("{topic} on {wher}"))
                .collect(),
        })
    }

    /// Polls until every topic in `names` is ready on every broker or the
    /// timeout passes; returns `(topic, where)` for what is still missing.
    pub(crate) async fn await_topics(&self, names: &[String]) -> Result<Vec<(String, String)>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut wait = std::time::Duration::from_millis(20);
        loop {
            let pending = self.topics_not_ready(names).await?;
            let now = tokio::time::Instant::now();
            if pending.is_empty() || now >= deadline {
                return Ok(pending);
            }
            tokio::time::sleep(wait.min(deadline - now)).await;
            wait = (wait * 2).min(std::time::Duration::from_millis(500));
        }
    }

    /// One poll of [`Self::await_topics`]: `(topic, where)` for every topic
    /// not yet ready somewhere.
    async fn topics_not_ready(&self, names: &[String]) -> Result<Vec<(String, String)>> {
        let mut pending = Vec::new();
        for b in self.metadata().await?.brokers {
            let addr = format!("{}:{}", b.host, b.port);
            let wher = format!("broker {} ({addr})", b.id);
            match crate::wire::topics_not_ready_on(&addr, names, &self.wire).await {
                Ok(missing) => pending.extend(missing.into_iter().map(|t| (t, wher.clone()))),
                Err(e) => pending.extend(names.iter().map(|t| (t.clone(), format!("{wher}: {e}")))),
            }
        }
        Ok(pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_backup_names_file_and_field() {
        let p = Path::new("/tmp/b.yaml");
        let e = Backup::parse(
            "version: 1\ntopics:\n  - name: x\n    partitions: many\n    cleanup_policy: delete\n",
            p,
        )
        .unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains("/tmp/b.yaml") && s.contains("topics[0].partitions"),
            "{s}"
        );
        let e = Backup::parse("version: 7\n", p).unwrap_err();
        assert!(e.to_string().contains("version"), "{e}");
        assert!(Backup::parse("version: 1\n", p).unwrap().schemas.is_none());
        let e = Backup::parse(
            "version: 1\ntopics:\n  - name: 'a b'\n    partitions: 1\n    cleanup_policy: delete\n",
            p,
        )
        .unwrap_err();
        assert!(e.to_string().contains("topics[0].name"), "{e}");
    }

    #[test]
    fn errors_never_echo_the_file_content() {
        const SENTINEL: &str = "SENTINEL-pa55w0rd-9f3";
        let cases = [
            (
                "b.yaml",
                format!("{SENTINEL} and more text that is not YAML mapping"),
            ),
            (
                "b.yaml",
                format!("version: 1\ntopics:\n  - name: x\n    partitions: \"{SENTINEL}\"\n"),
            ),
            (
                "b.yaml",
                format!("version: 1\ngroups:\n  - group: g\n    offsets: {SENTINEL}\n"),
            ),
            ("b.json", format!("\"{SENTINEL}\"")),
            ("b.json", format!("{{\"version\": \"{SENTINEL}\"}}")),
            ("b.yaml", format!("- {SENTINEL}\n- x\n")),
        ];
        for (name, text) in cases {
            let e = Backup::parse(&text, Path::new(name))
                .unwrap_err()
                .to_string();
            assert!(!e.contains(SENTINEL), "{name}: {e}");
            assert!(e.contains(name), "names the file: {e}");
        }
        let e = Backup::parse(
            &format!("version: 1\ntopics:\n  - name: x\n    partitions: \"{SENTINEL}\"\n"),
            Path::new("b.yaml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("topics[0].partitions") && e.contains("line 4"),
            "{e}"
        );
    }

    #[test]
    fn a_topics_file_is_a_valid_backup_and_round_trips() {
        let p = Path::new("t.yaml");
        let b = Backup::parse("version: 1\ntopics:\n  - name: tda_jobs\n    partitions: 3\n    cleanup_policy: delete\n    retention_ms: 604800000\n", p).unwrap();
        assert_eq!(b.topics[0].retention_ms, Some(604_800_000));
        let again = Backup::parse(&b.to_text(p), p).unwrap();
        assert_eq!(again, b);
        let j = Path::new("t.json");
        assert_eq!(Backup::parse(&b.to_text(j), j).unwrap(), b);
    }
}
