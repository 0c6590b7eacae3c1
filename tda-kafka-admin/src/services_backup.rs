//! The registry's schemas and Connect's connector configs in a backup, and
//! their restore: versions registered in order and read back, connectors
//! created or updated and read back, one outcome per item.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::registry::{CompatLevel, NewSchema, RegistryClient, SchemaVersion, VersionRef};
use crate::{AdminError, Backup, ConnectClient, Result};

/// Outcome of an item restored as it was in the backup.
pub(crate) const CREATED: &str = "created";
/// Outcome of an item that was already as in the backup.
pub(crate) const ALREADY: &str = "already_exists";
/// Outcome of an item that existed and was brought to the backup's state.
pub(crate) const UPDATED: &str = "updated";

/// Whether a restore outcome is a success.
pub(crate) fn is_ok(status: &str) -> bool {
    status == CREATED
        || status == ALREADY
        || status == UPDATED
        || status.starts_with("created (")
        || status.starts_with("updated (")
}

/// One version of a subject in a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionBackup {
    /// Version number.
    pub version: i32,
    /// Global id it had (a restore may get a new one).
    pub id: i64,
    /// The schema text.
    pub schema: String,
    /// `AVRO` when absent, `JSON`, `PROTOBUF`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_type: Option<String>,
    /// References to other subjects' schemas.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Value>,
}

/// One subject: every version in order and its own compatibility level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectBackup {
    /// The subject.
    pub subject: String,
    /// Its own level; none when it follows the global one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compatibility: Option<CompatLevel>,
    /// Every version, ascending.
    pub versions: Vec<VersionBackup>,
}

/// The registry's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemasBackup {
    /// The registry it was taken from (without credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// The global compatibility level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compatibility: Option<CompatLevel>,
    /// Every subject, sorted.
    #[serde(default)]
    pub subjects: Vec<SubjectBackup>,
}

/// One connector's config (may hold secrets: the file is written 0600).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorBackup {
    /// Connector name.
    pub name: String,
    /// Its config, without `name`.
    pub config: BTreeMap<String, String>,
}

impl SchemasBackup {
    /// Every subject with every version and the compatibility levels.
    pub async fn take(reg: &RegistryClient) -> Result<Self> {
        let mut subjects = Vec::new();
        for (s, numbers) in reg.subjects_with_versions().await? {
            let mut versions = Vec::new();
            for n in numbers {
                let v = match reg.version(&s, VersionRef::Number(n)).await {
                    Ok(v) => v,
                    // Deleted since it was listed: not part of the registry now.
                    Err(e) if e.is_not_found() => continue,
                    Err(e) => return Err(e),
                };
                versions.push(VersionBackup {
                    version: v.version,
                    id: v.id,
                    schema: v.schema,
                    schema_type: v.schema_type,
                    references: v.references,
                });
            }
            subjects.push(SubjectBackup {
                compatibility: reg.compat_level(Some(&s)).await?,
                subject: s,
                versions,
            });
        }
        Ok(Self {
            registry: Some(reg.url().to_owned()),
            compatibility: reg.compat_level(None).await?,
            subjects,
        })
    }

    /// Restores the global level and every subject; `(item, outcome)` per
    /// subject (and `(global compatibility)` when the backup has a level).
    pub async fn restore(&self, reg: &RegistryClient) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(level) = self.compatibility {
            let status = match restore_level(reg, None, level).await {
                Ok(s) => s.to_owned(),
                Err(e) => e.to_string(),
            };
            out.push(("(global compatibility)".to_owned(), status));
        }
        for s in &self.subjects {
            let status = match restore_subject(reg, s).await {
                Ok(s) | Err(s) => s,
            };
            out.push((s.subject.clone(), status));
        }
        out
    }
}

async fn restore_level(
    reg: &RegistryClient,
    subject: Option<&str>,
    level: CompatLevel,
) -> Result<&'static str> {
    if reg.compat_level(subject).await? == Some(level) {
        return Ok(ALREADY);
    }
    reg.set_compat_level(subject, level).await?;
    match reg.compat_level(subject).await? {
        Some(l) if l == level => Ok(UPDATED),
        other => Err(AdminError::input(
            format!("compatibility of {}", subject.unwrap_or("the registry")),
            format!(
                "set to {level} but read back {}",
                other.map_or("none".into(), |l| l.to_string())
            ),
        )),
    }
}

/// Whether two schema texts are the same schema (JSON compared as values).
fn same_schema(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<Value>(a),
        serde_json::from_str::<Value>(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => a.trim() == b.trim(),
    }
}

async fn existing_versions(reg: &RegistryClient, subject: &str) -> Result<Vec<SchemaVersion>> {
    let numbers = match reg.versions(subject).await {
        Ok(n) => n,
        Err(e) if e.is_not_found() => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for n in numbers {
        out.push(reg.version(subject, VersionRef::Number(n)).await?);
    }
    Ok(out)
}

/// Registers the subject's missing versions in order (with its level set to
/// NONE meanwhile, so that a level tightened later does not refuse earlier
/// versions), then sets its level and reads everything back.
async fn restore_subject(
    reg: &RegistryClient,
    s: &SubjectBackup,
) -> std::result::Result<String, String> {
    let e = |e: AdminError| e.to_string();
    let before = existing_versions(reg, &s.subject).await.map_err(e)?;
    let missing: Vec<&VersionBackup> = s
        .versions
        .iter()
        .filter(|v| !before.iter().any(|b| same_schema(&b.schema, &v.schema)))
        .collect();
    let mut ids = Vec::new();
    // The subject's own level before, and whether it is NONE for now (only
    // once the subject exists: a registry may refuse a level for a subject
    // it does not have, and a first version needs no check).
    let own = match before.is_empty() {
        true => None,
        false => reg.compat_level(Some(&s.subject)).await.map_err(e)?,
    };
    let mut relaxed = false;
    for (i, v) in missing.iter().enumerate() {
        if !relaxed && (i > 0 || !before.is_empty()) {
            reg.set_compat_level(Some(&s.subject), CompatLevel::None)
                .await
                .map_err(e)?;
            relaxed = true;
        }
        let schema = NewSchema {
            schema: v.schema.clone(),
            schema_type: v.schema_type.clone(),
            references: v.references.clone(),
        };
        match reg.register(&s.subject, &schema).await {
            Ok(id) if id != v.id => ids.push(format!("{}->{id}", v.id)),
            Ok(_) => {}
            Err(err) => return Err(format!("version {} not registered: {err}", v.version)),
        }
    }
    // Back to the level it should have: the backup's (below), else what it
    // had, else none of its own.
    if relaxed && s.compatibility.is_none() {
        match own {
            Some(l) => reg.set_compat_level(Some(&s.subject), l).await,
            None => reg.clear_compat_level(&s.subject).await,
        }
        .map_err(e)?;
    }
    if let Some(l) = s.compatibility {
        restore_level(reg, Some(&s.subject), l).await.map_err(e)?;
    }
    let after = existing_versions(reg, &s.subject).await.map_err(e)?;
    let mut wrong = Vec::new();
    for v in &s.versions {
        match after.iter().find(|a| same_schema(&a.schema, &v.schema)) {
            None => wrong.push(format!("version {} missing", v.version)),
            Some(a) if a.version != v.version => wrong.push(format!(
                "version {} came back as version {}",
                v.version, a.version
            )),
            Some(_) => {}
        }
    }
    if !wrong.is_empty() {
        return Err(format!("read back differs: {}", wrong.join("; ")));
    }
    let status = if missing.is_empty() {
        ALREADY
    } else if before.is_empty() {
        CREATED
    } else {
        UPDATED
    };
    if ids.is_empty() {
        Ok(status.to_owned())
    } else {
        Ok(format!("{status} (new schema ids: {})", ids.join(", ")))
    }
}

/// `message` with every config value of `config` (3+ characters) replaced
/// by its length, and every quoted value too: a worker's errors can echo
/// secrets.
fn redact_values(message: &str, config: &BTreeMap<String, String>) -> String {
    let mut values: Vec<&String> = config.values().filter(|v| v.len() >= 3).collect();
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    let mut m = message.to_owned();
    for v in values {
        m = m.replace(v.as_str(), &format!("<{} characters>", v.chars().count()));
    }
    tda_kafka_config::redact_quoted(&m)
}

impl ConnectorBackup {
    /// Every connector's config.
    pub async fn take_all(c: &ConnectClient) -> Result<Vec<Self>> {
        let mut out = Vec::new();
        for name in c.list().await? {
            let mut config = c.config(&name).await?;
            config.remove("name");
            out.push(Self { name, config });
        }
        Ok(out)
    }

    /// Creates the connector or updates its config, then reads it back: the
    /// outcome line of [`crate::RestoreReport::connectors`] (errors never
    /// echo config values).
    pub async fn restore(&self, c: &ConnectClient) -> String {
        let r: std::result::Result<&str, String> = async {
            let err = |e: AdminError| e.to_string();
            let before = match c.config(&self.name).await {
                Ok(mut b) => {
                    b.remove("name");
                    Some(b)
                }
                Err(e) if e.is_not_found() => None,
                Err(e) => return Err(err(e)),
            };
            if before.as_ref() == Some(&self.config) {
                return Ok(ALREADY);
            }
            c.put_config(&self.name, &self.config).await.map_err(err)?;
            let mut after = c.config(&self.name).await.map_err(err)?;
            after.remove("name");
            let differ: Vec<&String> = self
                .config
                .iter()
                .filter(|(k, v)| after.get(*k) != Some(*v))
                .map(|(k, _)| k)
                .collect();
            if !differ.is_empty() {
                return Err(format!("set but read back differs in {differ:?}"));
            }
            Ok(if before.is_some() { UPDATED } else { CREATED })
        }
        .await;
        match r {
            Ok(s) => s.to_owned(),
            Err(e) => redact_values(&e, &self.config),
        }
    }
}

impl Backup {
    /// Adds the registry's subjects, versions and levels.
    pub async fn add_schemas(&mut self, reg: &RegistryClient) -> Result<()> {
        self.schemas = Some(SchemasBackup::take(reg).await?);
        Ok(())
    }

    /// Restores the backup's schemas through `registry` and its connectors
    /// through `connect` (after [`crate::Admin::restore`]: connectors need
    /// their topics), adding one outcome per item to `report`. A part whose
    /// client is `None` is left out.
    pub async fn restore_services(
        &self,
        registry: Option<&RegistryClient>,
        connect: Option<&ConnectClient>,
        report: &mut crate::RestoreReport,
    ) {
        if let (Some(s), Some(reg)) = (&self.schemas, registry) {
            report.schemas = s.restore(reg).await;
        }
        if let (Some(cs), Some(c)) = (&self.connectors, connect) {
            for x in cs {
                let status = x.restore(c).await;
                report.connectors.push((x.name.clone(), status));
            }
        }
    }

    /// Adds every connector's config.
    pub async fn add_connectors(&mut self, c: &ConnectClient) -> Result<()> {
        self.connectors = Some(ConnectorBackup::take_all(c).await?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_errors_lose_the_config_values() {
        let config = BTreeMap::from([
            (
                "connection.password".to_owned(),
                "hunter2-s3cret".to_owned(),
            ),
            ("tasks.max".to_owned(), "1".to_owned()),
        ]);
        let m = redact_values(
            "Invalid value hunter2-s3cret for connection.password; also \"quoted\"",
            &config,
        );
        assert!(!m.contains("hunter2") && !m.contains("quoted"), "{m}");
        assert!(m.contains("connection.password"), "{m}");
    }

    #[test]
    fn schemas_compare_as_json() {
        assert!(same_schema(r#"{"type": "string"}"#, r#"{"type":"string"}"#));
        assert!(!same_schema(r#"{"type":"string"}"#, r#"{"type":"int"}"#));
        assert!(is_ok("created (new schema ids: 1->4)") && !is_ok("version 2 missing"));
    }
}
