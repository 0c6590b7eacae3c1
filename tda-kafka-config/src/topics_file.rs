//! The topics file: a YAML or JSON document that adds or overrides topics.
//!
//! ```yaml
//! version: 1
//! topics:
//!   - name: tda_audit
//!     partitions: 6
//!     replication_factor: 3
//!     retention_ms: 604800000
//!     cleanup_policy: delete
//!     min_insync_replicas: 2
//!     configs:
//!       compression.type: lz4
//! ```
//!
//! The `topics` list has the shape of the topic section of a backup file
//! (a list of [`TopicSpec`]).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::keys::all_keys;
use crate::loader::{Provenance, Source, TopicOrigin};
use crate::report::{Issue, ValidationReport};
use crate::{ClusterConfig, TopicSpec};

/// The only topics-file format version this crate reads and writes.
pub const TOPICS_FILE_VERSION: u32 = 1;

/// A topics file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicsFile {
    /// Format version; must be 1.
    pub version: u32,
    /// Topics to add, or to replace when the name exists.
    #[serde(default)]
    pub topics: Vec<TopicSpec>,
    /// The other sections of a backup file (`tda-kafka backup`), accepted so
    /// that a backup can serve as a topics file; ignored here.
    #[serde(default, skip_serializing)]
    created_at_ms: Option<Ignored>,
    #[serde(default, skip_serializing)]
    bootstrap: Option<Ignored>,
    #[serde(default, skip_serializing)]
    groups: Option<Ignored>,
}

/// A value that is read and dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ignored;

impl<'de> Deserialize<'de> for Ignored {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Ignored)
    }
}

impl TopicsFile {
    /// A version-1 file with `topics`.
    pub fn new(topics: Vec<TopicSpec>) -> Self {
        Self {
            version: TOPICS_FILE_VERSION,
            topics,
            created_at_ms: None,
            bootstrap: None,
            groups: None,
        }
    }

    /// Parses YAML (JSON is valid YAML too). Problems are returned as issues
    /// naming `path`, the line and the field path (e.g. `topics[1].partitions`).
    pub fn from_yaml_str(text: &str, path: &Path) -> Result<Self, Issue> {
        let de = serde_norway::Deserializer::from_str(text);
        let parsed: Result<Self, _> = serde_path_to_error::deserialize(de);
        parsed
            .map_err(|e| {
                let field = e.path().to_string();
                let inner = e.into_inner();
                let line = inner.location().map(|l| l.line());
                field_issue(
                    path,
                    line,
                    &field,
                    crate::redact_quoted(&strip_location(&inner.to_string())),
                )
            })
            .and_then(|f| f.check_version(path))
    }

    /// Parses JSON.
    pub fn from_json_str(text: &str, path: &Path) -> Result<Self, Issue> {
        let mut de = serde_json::Deserializer::from_str(text);
        let parsed: Result<Self, _> = serde_path_to_error::deserialize(&mut de);
        parsed
            .map_err(|e| {
                let field = e.path().to_string();
                let inner = e.into_inner();
                let line = (inner.line() > 0).then(|| inner.line());
                field_issue(
                    path,
                    line,
                    &field,
                    crate::redact_quoted(&strip_location(&inner.to_string())),
                )
            })
            .and_then(|f| f.check_version(path))
    }

    /// Reads `path`: JSON when it ends in `.json`, YAML otherwise.
    pub fn read(path: &Path) -> Result<Self, Issue> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Issue::error(None, format!("cannot read topics file: {e}"))
                .at(Some(path.to_path_buf()), None)
        })?;
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            Self::from_json_str(&text, path)
        } else {
            Self::from_yaml_str(&text, path)
        }
    }

    /// The YAML text of this file.
    pub fn to_yaml_string(&self) -> String {
        serde_norway::to_string(self).expect("a topics file always serializes")
    }

    fn check_version(self, path: &Path) -> Result<Self, Issue> {
        if self.version == TOPICS_FILE_VERSION {
            Ok(self)
        } else {
            Err(Issue::error(
                Some("version"),
                format!(
                    "unsupported version {}: expected {TOPICS_FILE_VERSION}",
                    self.version
                ),
            )
            .at(Some(path.to_path_buf()), None))
        }
    }
}

fn field_issue(path: &Path, line: Option<usize>, field: &str, reason: String) -> Issue {
    let key = (!field.is_empty() && field != ".").then_some(field);
    // serde_norway already prefixes the message with the field path.
    let reason = match reason.split_once(": ") {
        Some((prefix, rest)) if !prefix.is_empty() && field.starts_with(prefix) => rest.to_string(),
        _ => reason,
    };
    Issue::error(key, reason).at(Some(path.to_path_buf()), line)
}

/// serde_norway and serde_json append " at line X column Y"; we carry the line
/// separately.
fn strip_location(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// Reads the topics file and merges it into `config`: topics with a known
/// name are replaced, new ones appended. Records the file as the source of the
/// topic keys it changed.
pub(crate) fn merge_topics_file(
    path: &Path,
    config: &mut ClusterConfig,
    provenance: &mut Provenance,
    report: &mut ValidationReport,
) {
    let file = match TopicsFile::read(path) {
        Ok(f) => f,
        Err(issue) => {
            report.push(issue);
            return;
        }
    };
    let before = config.clone();
    let mut seen: Vec<&str> = Vec::new();
    for (i, t) in file.topics.iter().enumerate() {
        if seen.contains(&t.name.as_str()) {
            report.push(
                Issue::error(
                    Some(&format!("topics[{i}].name")),
                    format!("topic {:?} is listed twice", t.name),
                )
                .at(Some(path.to_path_buf()), None),
            );
            continue;
        }
        seen.push(&t.name);
        match config.topics.iter_mut().find(|c| c.name == t.name) {
            Some(existing) => *existing = t.clone(),
            None => config.topics.push(t.clone()),
        }
        let source = Source::TopicsFile {
            path: path.to_path_buf(),
        };
        match provenance.topics.iter_mut().find(|o| o.name == t.name) {
            Some(o) => o.source = source,
            None => provenance.topics.push(TopicOrigin {
                name: t.name.clone(),
                source,
            }),
        }
    }
    for key in all_keys() {
        if key.value(&before) != key.value(config) {
            if let Some(s) = provenance.settings.iter_mut().find(|s| s.key == key.name()) {
                s.source = Source::TopicsFile {
                    path: path.to_path_buf(),
                };
            }
        }
    }
}
