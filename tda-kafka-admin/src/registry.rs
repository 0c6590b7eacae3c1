//! An admin client for any Confluent-compatible schema registry (the
//! stack's Apicurio at `/apis/ccompat/v7` or its root-path proxy,
//! Confluent's own): subjects, versions, register, compatibility checks and
//! levels, delete.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::rest::{seg, BasicAuth, Rest, RestService};
use crate::{AdminError, Result};

/// A subject's compatibility level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CompatLevel {
    /// New schemas read data written with the previous version.
    Backward,
    /// ... with every earlier version.
    BackwardTransitive,
    /// Data written with new schemas is readable with the previous version.
    Forward,
    /// ... with every earlier version.
    ForwardTransitive,
    /// Backward and forward with the previous version.
    Full,
    /// Backward and forward with every earlier version.
    FullTransitive,
    /// No checks.
    None,
}

impl CompatLevel {
    /// Every level, in the registry's spelling.
    pub const ALL: [Self; 7] = [
        Self::Backward,
        Self::BackwardTransitive,
        Self::Forward,
        Self::ForwardTransitive,
        Self::Full,
        Self::FullTransitive,
        Self::None,
    ];

    /// The registry's spelling, e.g. `BACKWARD_TRANSITIVE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Backward => "BACKWARD",
            Self::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Self::Forward => "FORWARD",
            Self::ForwardTransitive => "FORWARD_TRANSITIVE",
            Self::Full => "FULL",
            Self::FullTransitive => "FULL_TRANSITIVE",
            Self::None => "NONE",
        }
    }
}

impl fmt::Display for CompatLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CompatLevel {
    type Err = AdminError;

    fn from_str(s: &str) -> Result<Self> {
        let up = s.trim().to_ascii_uppercase().replace('-', "_");
        Self::ALL
            .into_iter()
            .find(|l| l.as_str() == up)
            .ok_or_else(|| {
                let all: Vec<&str> = Self::ALL.iter().map(|l| l.as_str()).collect();
                AdminError::input(
                    format!("compatibility level {s:?}"),
                    format!("expected one of {}", all.join(", ")),
                )
            })
    }
}

/// One registered version of a subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaVersion {
    /// The subject.
    pub subject: String,
    /// Version number within the subject (from 1).
    pub version: i32,
    /// Global schema id.
    pub id: i64,
    /// The schema text.
    pub schema: String,
    /// `AVRO` (when absent), `JSON` or `PROTOBUF`.
    #[serde(
        rename = "schemaType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub schema_type: Option<String>,
    /// References to other subjects' schemas, as the registry sent them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Value>,
}

/// A schema to register or check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSchema {
    /// The schema text.
    pub schema: String,
    /// `AVRO` when none, `JSON` or `PROTOBUF`.
    #[serde(
        rename = "schemaType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub schema_type: Option<String>,
    /// References to other subjects' schemas.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Value>,
}

impl NewSchema {
    /// An Avro schema.
    pub fn avro(schema: impl Into<String>) -> Self {
        Self {
            schema: schema.into(),
            schema_type: None,
            references: Vec::new(),
        }
    }

    fn body(&self) -> Value {
        let mut b = json!({ "schema": self.schema });
        if let Some(t) = &self.schema_type {
            if !t.eq_ignore_ascii_case("AVRO") {
                b["schemaType"] = json!(t);
            }
        }
        if !self.references.is_empty() {
            b["references"] = json!(self.references);
        }
        b
    }
}

impl From<&SchemaVersion> for NewSchema {
    fn from(v: &SchemaVersion) -> Self {
        Self {
            schema: v.schema.clone(),
            schema_type: v.schema_type.clone(),
            references: v.references.clone(),
        }
    }
}

/// The verdict of a compatibility check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompatCheck {
    /// Whether the registry would accept the schema.
    pub is_compatible: bool,
    /// Why not (the registry's messages; empty when compatible or when the
    /// registry gives no reasons).
    #[serde(default)]
    pub messages: Vec<String>,
    /// Whether the subject had no version yet (anything is compatible).
    #[serde(default)]
    pub new_subject: bool,
}

/// Which version of a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionRef {
    /// The newest.
    Latest,
    /// A version number.
    Number(i32),
}

impl fmt::Display for VersionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Latest => f.write_str("latest"),
            Self::Number(n) => write!(f, "{n}"),
        }
    }
}

/// An admin client of a Confluent-compatible schema registry.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    rest: Rest,
}

impl RegistryClient {
    /// A client for the registry at `url` (e.g.
    /// `http://127.0.0.1:8081/apis/ccompat/v7`). `user:password@` in the URL,
    /// or `auth`, are sent as basic auth and never shown; every call is
    /// bounded by `timeout`.
    pub fn new(url: &str, auth: Option<BasicAuth>, timeout: Duration) -> Result<Self> {
        Ok(Self {
            rest: Rest::new(RestService::Registry, url, auth, timeout)?,
        })
    }

    /// The base URL (without credentials).
    pub fn url(&self) -> &str {
        &self.rest.base
    }

    /// Every subject, sorted.
    pub async fn subjects(&self) -> Result<Vec<String>> {
        let mut s: Vec<String> = self.rest.typed(Method::GET, "/subjects", None).await?;
        s.sort();
        Ok(s)
    }

    /// Every subject with its version numbers, sorted; a subject deleted
    /// between the listing and the read of its versions is left out (it is
    /// gone), as is one left without versions.
    pub async fn subjects_with_versions(&self) -> Result<Vec<(String, Vec<i32>)>> {
        let mut out = Vec::new();
        for s in self.subjects().await? {
            match self.versions(&s).await {
                Ok(v) if v.is_empty() => {}
                Ok(v) => out.push((s, v)),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// A subject's version numbers, ascending.
    pub async fn versions(&self, subject: &str) -> Result<Vec<i32>> {
        let path = format!("/subjects/{}/versions", seg(subject));
        let mut v: Vec<i32> = self.rest.typed(Method::GET, &path, None).await?;
        v.sort_unstable();
        Ok(v)
    }

    /// One version of a subject.
    pub async fn version(&self, subject: &str, version: VersionRef) -> Result<SchemaVersion> {
        let path = format!("/subjects/{}/versions/{version}", seg(subject));
        let mut v: SchemaVersion = self.rest.typed(Method::GET, &path, None).await?;
        if v.subject.is_empty() {
            v.subject = subject.to_owned();
        }
        Ok(v)
    }

    /// The schema with global id `id`, as the registry sends it
    /// (`schema`, `schemaType`, `references`).
    pub async fn schema_by_id(&self, id: i64) -> Result<Value> {
        self.rest.get(&format!("/schemas/ids/{id}")).await
    }

    /// Registers `schema` under `subject` (the registry refuses one that is
    /// incompatible, with its message); returns the global id. Registering
    /// a schema the subject already has returns its id and adds no version.
    pub async fn register(&self, subject: &str, schema: &NewSchema) -> Result<i64> {
        let path = format!("/subjects/{}/versions", seg(subject));
        let v = self
            .rest
            .call(Method::POST, &path, Some(&schema.body()))
            .await?;
        Ok(v.get("id").and_then(Value::as_i64).unwrap_or_default())
    }

    /// Whether `schema` is compatible with the subject's latest version
    /// under its compatibility level, with the registry's reasons. A subject
    /// without versions accepts anything.
    pub async fn check_compat(&self, subject: &str, schema: &NewSchema) -> Result<CompatCheck> {
        match self.versions(subject).await {
            Ok(v) if !v.is_empty() => {}
            Ok(_) => return Ok(new_subject()),
            Err(e) if e.is_not_found() => return Ok(new_subject()),
            Err(e) => return Err(e),
        }
        let path = format!(
            "/compatibility/subjects/{}/versions/latest?verbose=true",
            seg(subject)
        );
        let v = self
            .rest
            .call(Method::POST, &path, Some(&schema.body()))
            .await?;
        let is_compatible = v.get("is_compatible").and_then(Value::as_bool);
        let messages = v
            .get("messages")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Ok(CompatCheck {
            is_compatible: is_compatible.unwrap_or(false),
            messages,
            new_subject: false,
        })
    }

    /// The compatibility level of `subject`, or the global one for `None`.
    /// `Ok(None)` when a subject has no level of its own.
    pub async fn compat_level(&self, subject: Option<&str>) -> Result<Option<CompatLevel>> {
        let path = match subject {
            Some(s) => format!("/config/{}", seg(s)),
            None => "/config".to_owned(),
        };
        let v = match self.rest.get(&path).await {
            Ok(v) => v,
            Err(e) if subject.is_some() && e.is_not_found() => return Ok(None),
            Err(e) => return Err(e),
        };
        let level = v
            .get("compatibilityLevel")
            .or_else(|| v.get("compatibility"))
            .and_then(Value::as_str);
        match level {
            Some(l) => l.parse().map(Some),
            None => Ok(None),
        }
    }

    /// Sets the compatibility level of `subject`, or the global one for `None`.
    pub async fn set_compat_level(&self, subject: Option<&str>, level: CompatLevel) -> Result<()> {
        let path = match subject {
            Some(s) => format!("/config/{}", seg(s)),
            None => "/config".to_owned(),
        };
        self.rest
            .call(
                Method::PUT,
                &path,
                Some(&json!({ "compatibility": level.as_str() })),
            )
            .await?;
        Ok(())
    }

    /// Removes a subject's own compatibility level (it follows the global
    /// one again).
    pub async fn clear_compat_level(&self, subject: &str) -> Result<()> {
        let path = format!("/config/{}", seg(subject));
        match self.rest.call(Method::DELETE, &path, None).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Deletes a subject (every version); with `permanent` also from the
    /// registry's soft-deleted store (a soft delete first, as Confluent
    /// requires). Returns the versions deleted.
    pub async fn delete_subject(&self, subject: &str, permanent: bool) -> Result<Vec<i32>> {
        let path = format!("/subjects/{}", seg(subject));
        let (soft, existed) = match self.rest.call(Method::DELETE, &path, None).await {
            Ok(v) => (serde_json::from_value(v).unwrap_or_default(), true),
            // Already soft-deleted: the permanent delete still applies.
            Err(e) if permanent && e.is_not_found() => (Vec::new(), false),
            Err(e) => return Err(e),
        };
        if !permanent {
            return Ok(soft);
        }
        let hard_path = format!("{path}?permanent=true");
        // Apicurio under concurrent writes can answer 404 to the permanent
        // delete of a subject it has just soft-deleted (the subject is still
        // there); a few short retries see it through.
        let mut attempts = if existed {
            PERMANENT_DELETE_ATTEMPTS
        } else {
            1
        };
        let hard: Vec<i32> = loop {
            attempts -= 1;
            match self.rest.call(Method::DELETE, &hard_path, None).await {
                Ok(v) => break serde_json::from_value(v).unwrap_or_default(),
                Err(e) if e.is_not_found() && attempts > 0 => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e),
            }
        };
        Ok(if hard.is_empty() { soft } else { hard })
    }
}

/// How often a permanent delete is tried after a successful soft delete.
const PERMANENT_DELETE_ATTEMPTS: u32 = 5;

fn new_subject() -> CompatCheck {
    CompatCheck {
        is_compatible: true,
        messages: Vec::new(),
        new_subject: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_in_any_case_and_say_what_is_allowed() {
        assert_eq!(
            "backward-transitive".parse::<CompatLevel>().unwrap(),
            CompatLevel::BackwardTransitive
        );
        let e = "sideways".parse::<CompatLevel>().unwrap_err().to_string();
        assert!(e.contains("FULL_TRANSITIVE"), "{e}");
    }

    #[test]
    fn avro_is_the_default_type() {
        assert_eq!(NewSchema::avro("{}").body(), json!({"schema": "{}"}));
        let mut j = NewSchema::avro("{}");
        j.schema_type = Some("JSON".into());
        assert_eq!(j.body()["schemaType"], "JSON");
    }
}
