//! Layered loading: built-in defaults < profile < topics file < env file <
//! process environment < explicit overrides, with the source of every
//! effective value recorded.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::envfile::parse_env;
use crate::keys::{all_keys, lookup, suggest, Key};
use crate::report::{Issue, ValidationReport};
use crate::{ClusterConfig, ConfigError, Environment};

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// The built-in default (the seed's development settings).
    Default,
    /// The chosen profile changed the built-in default.
    Profile {
        /// The profile.
        environment: Environment,
    },
    /// A topics file (topic keys only).
    TopicsFile {
        /// The file.
        path: PathBuf,
    },
    /// An env file.
    EnvFile {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
    },
    /// The process environment.
    ProcessEnv,
    /// An explicit override (command-line flag or API call).
    Override,
}

impl Source {
    /// The file and line, for issues.
    pub fn location(&self) -> (Option<PathBuf>, Option<usize>) {
        match self {
            Self::EnvFile { path, line } => (Some(path.clone()), Some(*line)),
            Self::TopicsFile { path } => (Some(path.clone()), None),
            _ => (None, None),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::Profile { environment } => write!(f, "profile {environment}"),
            Self::TopicsFile { path } => write!(f, "{}", path.display()),
            Self::EnvFile { path, line } => write!(f, "{}:{line}", path.display()),
            Self::ProcessEnv => f.write_str("environment variable"),
            Self::Override => f.write_str("command line"),
        }
    }
}

/// The effective value of one setting and its source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    /// The key, e.g. `KAFKA_BROKER_COUNT`.
    pub key: &'static str,
    /// The effective value for display (`***` for secrets; `None` when unset).
    pub value: Option<String>,
    /// Where the value came from.
    pub source: Source,
    /// Whether the key is a secret.
    pub secret: bool,
    /// One line of documentation.
    pub doc: &'static str,
}

/// Where a topic of the architecture was defined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicOrigin {
    /// Topic name.
    pub name: String,
    /// `Default` for the built-in TDA topics, `TopicsFile` for file topics.
    /// Per-attribute overrides of TDA topics are in the `TDA_<TOPIC>_*` settings.
    pub source: Source,
}

/// The source of every setting, in key-table order, and of every topic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Provenance {
    /// One entry per known key.
    pub settings: Vec<Setting>,
    /// One entry per topic of the effective configuration, in its order.
    pub topics: Vec<TopicOrigin>,
}

impl Provenance {
    /// The entry of `key`.
    pub fn get(&self, key: &str) -> Option<&Setting> {
        self.settings.iter().find(|s| s.key == key)
    }

    /// The source of topic `name`, if the configuration has that topic.
    pub fn topic_source(&self, name: &str) -> Option<&Source> {
        self.topics
            .iter()
            .find(|t| t.name == name)
            .map(|t| &t.source)
    }

    /// The source of `key` (`Default` for unknown keys).
    pub fn source(&self, key: &str) -> Source {
        self.get(key)
            .map(|s| s.source.clone())
            .unwrap_or(Source::Default)
    }

    /// Entries in key-table order.
    pub fn iter(&self) -> impl Iterator<Item = &Setting> {
        self.settings.iter()
    }

    fn set_source(&mut self, key: &str, source: Source) {
        if let Some(s) = self.settings.iter_mut().find(|s| s.key == key) {
            s.source = source;
        }
    }
}

/// A loaded configuration: the model, where each value came from, and the
/// warnings found on the way (errors make [`ConfigLoader::load`] fail).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadedConfig {
    /// The effective configuration.
    pub config: ClusterConfig,
    /// Effective value and source of every setting.
    pub provenance: Provenance,
    /// Warnings (and, from [`ConfigLoader::check`], errors).
    pub report: ValidationReport,
}

#[derive(Clone)]
enum EnvInput {
    File(PathBuf),
    Text { label: PathBuf, text: String },
}

#[derive(Debug, Clone)]
struct Assignment {
    key: String,
    value: String,
    source: Source,
}

/// Builds a [`LoadedConfig`] from layers.
///
/// ```
/// use tda_kafka_config::{ConfigLoader, Environment};
/// let loaded = ConfigLoader::new()
///     .environment(Some(Environment::Production))
///     .process_env([("KAFKA_BROKER_COUNT".to_string(), "5".to_string())])
///     .set("KAFKA_NUM_IO_THREADS", "4")
///     // production refuses PLAINTEXT; SSL needs its keystores
///     .set("KAFKA_SECURITY_PROTOCOL", "SSL")
///     .set("KAFKA_SSL_KEYSTORE_LOCATION", "/etc/kafka/secrets/kafka.keystore.jks")
///     .set("KAFKA_SSL_TRUSTSTORE_LOCATION", "/etc/kafka/secrets/kafka.truststore.jks")
///     .set("KAFKA_SSL_KEYSTORE_PASSWORD", "changeit")
///     .load()
///     .unwrap();
/// assert_eq!(loaded.config.broker_count, 5);
/// assert_eq!(loaded.config.num_io_threads, 4);
/// assert_eq!(loaded.config.num_network_threads, 16); // production profile
/// ```
#[derive(Clone, Default)]
pub struct ConfigLoader {
    env_files: Vec<EnvInput>,
    process: Vec<(String, String)>,
    overrides: Vec<(String, String)>,
}

/// `Debug` names the inputs and masks secret values.
impl fmt::Debug for ConfigLoader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let masked = |pairs: &[(String, String)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| {
                    let v = lookup(k).map_or_else(|| v.clone(), |key| key.mask(v));
                    (k.clone(), v)
                })
                .collect()
        };
        let files: Vec<&Path> = self
            .env_files
            .iter()
            .map(|i| match i {
                EnvInput::File(p) => p.as_path(),
                EnvInput::Text { label, .. } => label.as_path(),
            })
            .collect();
        f.debug_struct("ConfigLoader")
            .field("env_files", &files)
            .field("process", &masked(&self.process))
            .field("overrides", &masked(&self.overrides))
            .finish()
    }
}

impl ConfigLoader {
    /// A loader with only the built-in defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Explicitly chooses the profile (`None` leaves the choice to the layers).
    pub fn environment(self, environment: Option<Environment>) -> Self {
        match environment {
            Some(e) => self.set("ENVIRONMENT", e.as_str()),
            None => self,
        }
    }

    /// Adds a `kafka.env` file; several files apply in the order added.
    pub fn env_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.env_files.push(EnvInput::File(path.into()));
        self
    }

    /// Adds env-file text that did not come from disk (stdin, tests); `label`
    /// names it in sources and issues.
    pub fn env_text(mut self, label: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        self.env_files.push(EnvInput::Text {
            label: label.into(),
            text: text.into(),
        });
        self
    }

    /// The process environment (e.g. `std::env::vars()`). Only known keys are
    /// read; every other variable is ignored, and so is an empty variable for
    /// a key that needs a value (`KAFKA_BROKER_COUNT=` in the environment
    /// means "not set"; for optional keys such as `KAFKA_HEAP_OPTS` it unsets).
    pub fn process_env<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.process
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())).filter(
                |(k, v)| match lookup(k) {
                    None => false,
                    Some(key) => {
                        !v.trim().is_empty() || key.apply(&mut ClusterConfig::default(), v).is_ok()
                    }
                },
            ));
        self
    }

    /// An explicit override; wins over every other layer.
    pub fn set(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.overrides.push((key.into(), value.into()));
        self
    }

    /// Shorthand for `set("TDA_TOPICS_FILE", path)`.
    pub fn topics_file(self, path: impl AsRef<Path>) -> Self {
        let p = path.as_ref().display().to_string();
        self.set("TDA_TOPICS_FILE", p)
    }

    /// Loads and validates; fails with [`ConfigError::Invalid`] listing every
    /// error when there is one. Warnings are kept in [`LoadedConfig::report`].
    pub fn load(self) -> Result<LoadedConfig, ConfigError> {
        let loaded = self.check();
        if loaded.report.has_errors() {
            Err(ConfigError::Invalid {
                report: loaded.report,
            })
        } else {
            Ok(loaded)
        }
    }

    /// Loads and validates, never failing: problems (errors and warnings) are
    /// in [`LoadedConfig::report`]; invalid values are skipped, so the config
    /// keeps the value of the layer below.
    pub fn check(self) -> LoadedConfig {
        let mut report = ValidationReport::default();
        let mut layers: Vec<Assignment> = Vec::new();

        for input in &self.env_files {
            let (path, text) = match input {
                EnvInput::File(p) => (p, std::fs::read_to_string(p)),
                EnvInput::Text { label, text } => (label, Ok(text.clone())),
            };
            match text {
                Ok(text) => {
                    let parsed = parse_env(&text);
                    for e in parsed.errors {
                        report.push(
                            Issue::error(e.key.as_deref(), e.message)
                                .at(Some(path.clone()), Some(e.line)),
                        );
                    }
                    let mut seen: Vec<(String, usize)> = Vec::new();
                    for e in parsed.entries {
                        let Some(key) = lookup(&e.key) else {
                            let mut issue = Issue::error(Some(&e.key), "unknown key")
                                .at(Some(path.clone()), Some(e.line));
                            if let Some(s) = suggest(&e.key) {
                                issue = issue.with_hint(format!("did you mean {s}?"));
                            }
                            report.push(issue);
                            continue;
                        };
                        if let Some((_, first)) = seen.iter().find(|(k, _)| *k == e.key) {
                            report.push(
                                Issue::warning(
                                    Some(&e.key),
                                    format!("set again; the value from line {first} is replaced"),
                                )
                                .at(Some(path.clone()), Some(e.line)),
                            );
                        } else {
                            seen.push((e.key.clone(), e.line));
                        }
                        layers.push(Assignment {
                            key: key.name().to_string(),
                            value: e.value,
                            source: Source::EnvFile {
                                path: path.clone(),
                                line: e.line,
                            },
                        });
                    }
                }
                Err(err) => report.push(
                    Issue::error(None, format!("cannot read env file: {err}"))
                        .at(Some(path.clone()), None),
                ),
            }
        }
        for (k, v) in &self.process {
            layers.push(Assignment {
                key: k.clone(),
                value: v.clone(),
                source: Source::ProcessEnv,
            });
        }
        for (k, v) in &self.overrides {
            if lookup(k).is_none() {
                let mut issue = Issue::error(Some(k), "unknown key");
                if let Some(s) = suggest(k) {
                    issue = issue.with_hint(format!("did you mean {s}?"));
                }
                report.push(issue);
                continue;
            }
            layers.push(Assignment {
                key: k.clone(),
                value: v.clone(),
                source: Source::Override,
            });
        }

        // The profile: the highest layer that sets a valid ENVIRONMENT.
        let environment = layers
            .iter()
            .rev()
            .filter(|a| a.key == "ENVIRONMENT")
            .find_map(|a| a.value.parse::<Environment>().ok())
            .unwrap_or_default();
        let mut config = ClusterConfig::for_environment(environment);
        let base = ClusterConfig::for_environment(Environment::Development);
        let mut provenance = Provenance {
            settings: all_keys()
                .map(|k| Setting {
                    key: k.name(),
                    value: None,
                    source: if k.value(&config) != k.value(&base) {
                        Source::Profile { environment }
                    } else {
                        Source::Default
                    },
                    secret: k.is_secret(),
                    doc: k.doc(),
                })
                .collect(),
            topics: config
                .topics
                .iter()
                .map(|t| TopicOrigin {
                    name: t.name.clone(),
                    source: Source::Default,
                })
                .collect(),
        };

        // Topics file: its path comes from the highest layer naming one.
        let topics_file = layers
            .iter()
            .rev()
            .find(|a| a.key == "TDA_TOPICS_FILE" && !a.value.trim().is_empty())
            .map(|a| resolve_relative(a.value.trim(), &a.source));
        if let Some(path) = &topics_file {
            crate::topics_file::merge_topics_file(path, &mut config, &mut provenance, &mut report);
        }

        for a in &layers {
            let key: &Key = lookup(&a.key).expect("layers hold known keys only");
            match key.apply(&mut config, &a.value) {
                Ok(()) => provenance.set_source(key.name(), a.source.clone()),
                Err(expected) => {
                    let (path, line) = a.source.location();
                    let origin = match &a.source {
                        Source::ProcessEnv => " (from the environment)",
                        Source::Override => " (from the command line)",
                        _ => "",
                    };
                    report.push(
                        Issue::error(
                            Some(key.name()),
                            format!(
                                "invalid value {:?}{origin}: expected {expected}",
                                key.mask(&a.value)
                            ),
                        )
                        .at(path, line),
                    );
                }
            }
        }
        if let Some(path) = topics_file {
            warn_topic_key_overrides(&provenance, &path, &mut report);
            config.topics_file = Some(path);
        }
        for s in &mut provenance.settings {
            let key = lookup(s.key).expect("provenance holds known keys");
            s.value = key.display_value(&config);
        }
        report.extend(crate::validate::validate_with(&config, Some(&provenance)));
        report.sort_by_location();
        LoadedConfig {
            config,
            provenance,
            report,
        }
    }
}

/// A `TDA_<TOPIC>_*` key set in a layer above the topics file replaces what the
/// file says about that topic: legal, but worth a warning.
fn warn_topic_key_overrides(provenance: &Provenance, file: &Path, report: &mut ValidationReport) {
    for s in &provenance.settings {
        let Some(topic) = topic_of_key(s.key) else {
            continue;
        };
        let from_file = matches!(
            provenance.topic_source(&topic),
            Some(Source::TopicsFile { .. })
        );
        let above = matches!(
            s.source,
            Source::EnvFile { .. } | Source::ProcessEnv | Source::Override
        );
        if from_file && above {
            let (path, line) = s.source.location();
            report.push(
                Issue::warning(
                    Some(s.key),
                    format!(
                        "overrides what the topics file {} says about {topic}",
                        file.display()
                    ),
                )
                .at(path, line),
            );
        }
    }
}

/// `TDA_JOBS_PARTITIONS` -> `tda_jobs`.
pub(crate) fn topic_of_key(key: &str) -> Option<String> {
    let rest = key.strip_prefix("TDA_")?;
    let upper = ["_PARTITIONS", "_RETENTION_MS", "_CLEANUP_POLICY"]
        .iter()
        .find_map(|suffix| rest.strip_suffix(suffix))?;
    let topic = format!("tda_{}", upper.to_ascii_lowercase());
    crate::TDA_TOPICS.contains(&topic.as_str()).then_some(topic)
}

/// A relative topics-file path named in an env file is relative to that file.
fn resolve_relative(value: &str, source: &Source) -> PathBuf {
    let p = PathBuf::from(value);
    match source {
        Source::EnvFile { path, .. } if p.is_relative() => match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.join(p),
            _ => p,
        },
        _ => p,
    }
}
