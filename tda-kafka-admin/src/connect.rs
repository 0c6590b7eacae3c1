//! An admin client for the Kafka Connect REST API: connectors with their
//! state and tasks, config, create/update/delete, pause/resume/restart,
//! validation and plugins. Connector files (JSON or YAML) are parsed in
//! [`ConnectorFile`].

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::rest::{seg, BasicAuth, Rest, RestService};
use crate::{AdminError, Result};

/// The state of a connector or task, as the worker reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConnectorState {
    /// Running.
    Running,
    /// Paused by `pause`.
    Paused,
    /// Stopped (no tasks).
    Stopped,
    /// Failed: see its trace.
    Failed,
    /// Not yet assigned to a worker.
    Unassigned,
    /// Being restarted.
    Restarting,
    /// A state this client does not know.
    #[serde(other)]
    Unknown,
}

impl fmt::Display for ConnectorState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Running => "RUNNING",
            Self::Paused => "PAUSED",
            Self::Stopped => "STOPPED",
            Self::Failed => "FAILED",
            Self::Unassigned => "UNASSIGNED",
            Self::Restarting => "RESTARTING",
            Self::Unknown => "UNKNOWN",
        })
    }
}

/// The state of the connector itself or of one task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerState {
    /// Task id (absent for the connector itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i32>,
    /// State.
    pub state: ConnectorState,
    /// The worker it runs on.
    #[serde(default)]
    pub worker_id: String,
    /// The stack trace of a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

/// `GET /connectors/NAME/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorStatus {
    /// Connector name.
    pub name: String,
    /// The connector's own state.
    pub connector: WorkerState,
    /// Its tasks.
    #[serde(default)]
    pub tasks: Vec<WorkerState>,
    /// `source` or `sink`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// `GET /connectors/NAME`: name, config and tasks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorInfo {
    /// Connector name.
    pub name: String,
    /// Its config.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// `source` or `sink`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// One connector of `GET /connectors?expand=status&expand=info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorOverview {
    /// Name, config, type.
    pub info: ConnectorInfo,
    /// States.
    pub status: ConnectorStatus,
}

/// An installed plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plugin {
    /// Class name.
    pub class: String,
    /// `source`, `sink`, `transformation`, `converter`, ...
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Plugin version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// The worker's answer to `GET /`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerInfo {
    /// Connect version.
    #[serde(default)]
    pub version: String,
    /// Build commit.
    #[serde(default)]
    pub commit: String,
    /// The Kafka cluster it works with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kafka_cluster_id: Option<String>,
}

/// The worker's verdict on a config (values are never kept: they may be
/// secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Validation {
    /// The plugin class validated against.
    pub class: String,
    /// How many errors the worker found.
    pub error_count: u64,
    /// `(key, errors)` for every key with errors.
    pub errors: Vec<(String, Vec<String>)>,
}

/// A connector file: Connect's create body `{name, config}` or a flat config
/// with a `name` key, as JSON (`.json`) or YAML. Values that are numbers or
/// booleans in YAML are sent as strings, as Connect wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorFile {
    /// The connector name (`name`; may be absent when the command names it).
    pub name: Option<String>,
    /// The config, without `name`.
    pub config: BTreeMap<String, String>,
}

fn file_err(path: &Path, field: impl Into<String>, reason: impl Into<String>) -> AdminError {
    AdminError::File {
        path: path.to_path_buf(),
        field: field.into(),
        reason: reason.into(),
    }
}

impl ConnectorFile {
    /// Reads and parses `path` (errors name the file and key, never values).
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| AdminError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses `text` as if read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let v: Value = if json {
            serde_json::from_str(text)
                .map_err(|e| file_err(path, "-", tda_kafka_config::redact_quoted(&e.to_string())))?
        } else {
            serde_norway::from_str(text)
                .map_err(|e| file_err(path, "-", tda_kafka_config::redact_quoted(&e.to_string())))?
        };
        let Value::Object(mut top) = v else {
            return Err(file_err(
                path,
                "-",
                "expected a mapping: {name, config: {...}} or a flat config with connector.class",
            ));
        };
        let mut name = match top.remove("name") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err(file_err(path, "name", "must be a string")),
        };
        let (prefix, map) = match top.remove("config") {
            Some(Value::Object(c)) if top.is_empty() => ("config.", c),
            Some(_) if !top.is_empty() => {
                let extra: Vec<&String> = top.keys().collect();
                return Err(file_err(
                    path,
                    "-",
                    format!(
                        "a file with `config` may have only `name` besides it; found {extra:?}"
                    ),
                ));
            }
            Some(_) => return Err(file_err(path, "config", "must be a mapping")),
            None => ("", top),
        };
        let mut config = BTreeMap::new();
        for (k, v) in map {
            let s = match v {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(file_err(
                        path,
                        format!("{prefix}{k}"),
                        "must be a string, number or boolean",
                    ))
                }
            };
            if k == "name" {
                match &name {
                    Some(n) if *n != s => {
                        return Err(file_err(
                            path,
                            format!("{prefix}name"),
                            "differs from `name`",
                        ))
                    }
                    Some(_) => {}
                    None => name = Some(s),
                }
                continue;
            }
            config.insert(k, s);
        }
        if !config.contains_key("connector.class") {
            return Err(file_err(
                path,
                format!("{prefix}connector.class"),
                "missing: every connector config names its plugin class",
            ));
        }
        Ok(Self { name, config })
    }
}

/// An admin client of a Kafka Connect worker's REST API.
#[derive(Debug, Clone)]
pub struct ConnectClient {
    rest: Rest,
}

impl ConnectClient {
    /// A client for the worker at `url` (e.g. `http://127.0.0.1:8083`).
    /// `user:password@` in the URL, or `auth`, are sent as basic auth and
    /// never shown; every call is bounded by `timeout`.
    pub fn new(url: &str, auth: Option<BasicAuth>, timeout: Duration) -> Result<Self> {
        Ok(Self {
            rest: Rest::new(RestService::Connect, url, auth, timeout)?,
        })
    }

    /// The base URL (without credentials).
    pub fn url(&self) -> &str {
        &self.rest.base
    }

    /// Version and cluster of the worker.
    pub async fn worker(&self) -> Result<WorkerInfo> {
        self.rest.typed(Method::GET, "/", None).await
    }

    /// Connector names, sorted.
    pub async fn list(&self) -> Result<Vec<String>> {
        let mut v: Vec<String> = self.rest.typed(Method::GET, "/connectors", None).await?;
        v.sort();
        Ok(v)
    }

    /// Every connector with its info and status, by name.
    pub async fn list_expanded(&self) -> Result<BTreeMap<String, ConnectorOverview>> {
        self.rest
            .typed(Method::GET, "/connectors?expand=status&expand=info", None)
            .await
    }

    /// The status of one connector and its tasks.
    pub async fn status(&self, name: &str) -> Result<ConnectorStatus> {
        let path = format!("/connectors/{}/status", seg(name));
        self.rest.typed(Method::GET, &path, None).await
    }

    /// A connector's config (with `name`, as the worker keeps it).
    pub async fn config(&self, name: &str) -> Result<BTreeMap<String, String>> {
        let path = format!("/connectors/{}/config", seg(name));
        self.rest.typed(Method::GET, &path, None).await
    }

    /// Creates a connector (refused with 409 when it exists).
    pub async fn create(
        &self,
        name: &str,
        config: &BTreeMap<String, String>,
    ) -> Result<ConnectorInfo> {
        let body = json!({ "name": name, "config": config });
        self.rest
            .typed(Method::POST, "/connectors", Some(&body))
            .await
    }

    /// Creates the connector or replaces its config.
    pub async fn put_config(
        &self,
        name: &str,
        config: &BTreeMap<String, String>,
    ) -> Result<ConnectorInfo> {
        let path = format!("/connectors/{}/config", seg(name));
        let mut c = config.clone();
        c.insert("name".into(), name.to_owned());
        self.rest.typed(Method::PUT, &path, Some(&json!(c))).await
    }

    /// Deletes a connector.
    pub async fn delete(&self, name: &str) -> Result<()> {
        let path = format!("/connectors/{}", seg(name));
        self.rest.call(Method::DELETE, &path, None).await.map(drop)
    }

    /// Pauses a connector and its tasks.
    pub async fn pause(&self, name: &str) -> Result<()> {
        let path = format!("/connectors/{}/pause", seg(name));
        self.rest.call(Method::PUT, &path, None).await.map(drop)
    }

    /// Resumes a paused connector.
    pub async fn resume(&self, name: &str) -> Result<()> {
        let path = format!("/connectors/{}/resume", seg(name));
        self.rest.call(Method::PUT, &path, None).await.map(drop)
    }

    /// Restarts the connector, with `include_tasks` its tasks too, with
    /// `only_failed` only the failed ones.
    pub async fn restart(&self, name: &str, include_tasks: bool, only_failed: bool) -> Result<()> {
        let path = format!(
            "/connectors/{}/restart?includeTasks={include_tasks}&onlyFailed={only_failed}",
            seg(name)
        );
        self.rest.call(Method::POST, &path, None).await.map(drop)
    }

    /// Asks the worker to validate `config` against its `connector.class`.
    pub async fn validate(&self, config: &BTreeMap<String, String>) -> Result<Validation> {
        let class = config
            .get("connector.class")
            .cloned()
            .ok_or_else(|| AdminError::input("connector config", "connector.class is missing"))?;
        let path = format!("/connector-plugins/{}/config/validate", seg(&class));
        let v = self
            .rest
            .call(Method::PUT, &path, Some(&json!(config)))
            .await?;
        let mut errors = Vec::new();
        for c in v["configs"].as_array().into_iter().flatten() {
            let errs: Vec<String> = c["value"]["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e.as_str().map(str::to_owned))
                .collect();
            if !errs.is_empty() {
                let key = c["value"]["name"].as_str().unwrap_or("?").to_owned();
                errors.push((key, errs));
            }
        }
        Ok(Validation {
            class: v["name"].as_str().unwrap_or(&class).to_owned(),
            error_count: v["error_count"].as_u64().unwrap_or(errors.len() as u64),
            errors,
        })
    }

    /// The worker's connector plugins (with `all`, transforms, converters
    /// and predicates too).
    pub async fn plugins(&self, all: bool) -> Result<Vec<Plugin>> {
        let path = if all {
            "/connector-plugins?connectorsOnly=false"
        } else {
            "/connector-plugins"
        };
        self.rest.typed(Method::GET, path, None).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_file_shapes_parse_and_yaml_scalars_become_strings() {
        let y = Path::new("c.yaml");
        let a = ConnectorFile::parse(
            "name: src\nconfig:\n  connector.class: FileStreamSource\n  tasks.max: 1\n  file: /tmp/x\n",
            y,
        )
        .unwrap();
        assert_eq!(a.name.as_deref(), Some("src"));
        assert_eq!(a.config["tasks.max"], "1");
        let j = Path::new("c.json");
        let b = ConnectorFile::parse(
            r#"{"name":"src","connector.class":"FileStreamSource","tasks.max":"1","file":"/tmp/x"}"#,
            j,
        )
        .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn bad_files_name_the_key_and_never_the_value() {
        let y = Path::new("c.yaml");
        let e = ConnectorFile::parse("config:\n  file: /tmp/x\n", y)
            .unwrap_err()
            .to_string();
        assert!(e.contains("config.connector.class"), "{e}");
        let e = ConnectorFile::parse("\"SENTINEL-s3cret\"", Path::new("c.json"))
            .unwrap_err()
            .to_string();
        assert!(!e.contains("SENTINEL"), "{e}");
        let e = ConnectorFile::parse("connector.class: X\npassword: [SENTINEL-s3cret]\n", y)
            .unwrap_err()
            .to_string();
        assert!(e.contains("password") && !e.contains("SENTINEL"), "{e}");
    }

    #[test]
    fn unknown_states_do_not_fail_decoding() {
        let s: WorkerState =
            serde_json::from_value(json!({"state": "SLEEPING", "worker_id": "w"})).unwrap();
        assert_eq!(s.state, ConnectorState::Unknown);
    }
}
