//! `tda-kafka schemas list|show|register|compat|set-compat|delete` against
//! any Confluent-compatible schema registry.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::Value;
use tda_kafka_admin::{CompatCheck, CompatLevel, NewSchema, SchemaVersion, VersionRef};

use crate::cmd::services::{RegistryUrl, RestConfig};
use crate::cmd::topics::confirm;
use crate::exit::CheckFailed;
use crate::output::{print_table, OutputArgs};

/// `tda-kafka schemas ...`.
#[derive(Debug, Args)]
pub struct SchemasArgs {
    #[command(subcommand)]
    cmd: SchemasCommand,
    #[command(flatten)]
    registry: RegistryUrl,
    #[command(flatten)]
    rest: RestConfig,
}

#[derive(Debug, Subcommand)]
enum SchemasCommand {
    /// Subjects with their versions and compatibility levels.
    List {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// One version of a subject (default the latest) with its schema.
    Show {
        /// Subject, e.g. `tda_jobs-value`.
        subject: String,
        /// Version number.
        #[arg(long, short = 'v')]
        version: Option<i32>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Register a schema file under a subject; an incompatible one is refused with the registry's reasons.
    Register {
        /// Subject.
        subject: String,
        #[command(flatten)]
        file: SchemaFile,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Check a schema file against the subject's latest version (exit 3 when incompatible, with the reasons).
    Compat {
        /// Subject.
        subject: String,
        #[command(flatten)]
        file: SchemaFile,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Set a subject's compatibility level (`--global`: the registry's).
    SetCompat {
        /// `SUBJECT LEVEL`, or `LEVEL` with --global. Levels: BACKWARD,
        /// BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL,
        /// FULL_TRANSITIVE, NONE.
        #[arg(required = true, num_args = 1..=2, value_name = "SUBJECT LEVEL")]
        args: Vec<String>,
        /// Set the global level.
        #[arg(long)]
        global: bool,
    },
    /// Delete a subject with every version (asks unless --yes).
    Delete {
        /// Subject.
        subject: String,
        /// Also remove it from the soft-deleted store (versions restart at 1).
        #[arg(long)]
        permanent: bool,
        /// Do not ask.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

/// A schema file and its type.
#[derive(Debug, Args)]
struct SchemaFile {
    /// Schema file: an Avro schema (`.avsc`, JSON), a JSON schema, a `.proto`
    /// file, or the registry's request body `{"schema": "...", "schemaType": ...}`.
    file: PathBuf,
    /// AVRO, JSON or PROTOBUF [default: PROTOBUF for `.proto`, else the body's schemaType, else AVRO].
    #[arg(long = "type", value_name = "TYPE")]
    schema_type: Option<String>,
}

impl SchemaFile {
    fn read(&self) -> anyhow::Result<NewSchema> {
        let text = std::fs::read_to_string(&self.file)
            .with_context(|| format!("cannot read {}", self.file.display()))?;
        let mut schema = parse_schema(&text, &self.file)?;
        if let Some(t) = &self.schema_type {
            let t = t.to_ascii_uppercase();
            if !matches!(t.as_str(), "AVRO" | "JSON" | "PROTOBUF") {
                bail!("--type {t}: expected AVRO, JSON or PROTOBUF");
            }
            schema.schema_type = Some(t);
        }
        Ok(schema)
    }
}

/// A schema file's content: a request body with `schema`, or the schema itself.
fn parse_schema(text: &str, path: &Path) -> anyhow::Result<NewSchema> {
    if path.extension().is_some_and(|e| e == "proto") {
        let mut s = NewSchema::avro(text);
        s.schema_type = Some("PROTOBUF".into());
        return Ok(s);
    }
    let v: Value = serde_json::from_str(text).map_err(|e| {
        anyhow::anyhow!(
            "{}: not JSON ({}); an Avro or JSON schema is a JSON document",
            path.display(),
            tda_kafka_config::redact_quoted(&e.to_string())
        )
    })?;
    if let Some(Value::String(s)) = v.get("schema") {
        let body: NewSchema = serde_json::from_value(v.clone())
            .with_context(|| format!("{}: not a registry request body", path.display()))?;
        debug_assert_eq!(&body.schema, s);
        return Ok(body);
    }
    Ok(NewSchema::avro(v.to_string()))
}

#[derive(Debug, Serialize)]
struct SubjectRow {
    subject: String,
    versions: Vec<i32>,
    compatibility: Option<CompatLevel>,
}

#[derive(Debug, Serialize)]
struct Listing {
    compatibility: Option<CompatLevel>,
    subjects: Vec<SubjectRow>,
}

#[derive(Debug, Serialize)]
struct Shown {
    #[serde(flatten)]
    version: SchemaVersion,
    compatibility: Option<CompatLevel>,
}

fn level(l: Option<CompatLevel>) -> String {
    l.map_or_else(|| "(global)".into(), |l| l.to_string())
}

fn pretty(schema: &str) -> String {
    serde_json::from_str::<Value>(schema)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| schema.to_owned())
}

fn print_check(subject: &str, c: &CompatCheck) {
    if c.new_subject {
        println!("{subject}: compatible (a new subject, no earlier version)");
    } else if c.is_compatible {
        println!("{subject}: compatible with the latest version");
    } else {
        println!("{subject}: NOT compatible with the latest version");
        for m in &c.messages {
            println!("  {m}");
        }
    }
}

fn reasons(c: &CompatCheck) -> String {
    if c.messages.is_empty() {
        "the registry gave no reasons".into()
    } else {
        c.messages.join("; ")
    }
}

/// Runs `schemas`.
pub async fn run(a: SchemasArgs) -> anyhow::Result<()> {
    let cfg = a.rest.config()?;
    let reg = a.registry.client(&cfg, a.rest.timeout())?;
    match a.cmd {
        SchemasCommand::List { output } => {
            let mut subjects = Vec::new();
            for (s, versions) in reg.subjects_with_versions().await? {
                subjects.push(SubjectRow {
                    versions,
                    compatibility: reg.compat_level(Some(&s)).await?,
                    subject: s,
                });
            }
            let listing = Listing {
                compatibility: reg.compat_level(None).await?,
                subjects,
            };
            output.print(&listing, |l| {
                let rows: Vec<Vec<String>> = l
                    .subjects
                    .iter()
                    .map(|s| {
                        vec![
                            s.subject.clone(),
                            s.versions.len().to_string(),
                            s.versions.last().map_or("-".into(), |v| v.to_string()),
                            level(s.compatibility),
                        ]
                    })
                    .collect();
                print_table(&["SUBJECT", "VERSIONS", "LATEST", "COMPATIBILITY"], &rows);
                println!(
                    "{} subject(s); global compatibility {}",
                    l.subjects.len(),
                    level(l.compatibility)
                );
            })
        }
        SchemasCommand::Show {
            subject,
            version,
            output,
        } => {
            let which = version.map_or(VersionRef::Latest, VersionRef::Number);
            let shown = Shown {
                version: reg.version(&subject, which).await?,
                compatibility: reg.compat_level(Some(&subject)).await?,
            };
            output.print(&shown, |s| {
                let v = &s.version;
                println!(
                    "Subject: {}  version {}  id {}  type {}  compatibility {}",
                    v.subject,
                    v.version,
                    v.id,
                    v.schema_type.as_deref().unwrap_or("AVRO"),
                    level(s.compatibility)
                );
                println!("{}", pretty(&v.schema));
            })
        }
        SchemasCommand::Register {
            subject,
            file,
            output,
        } => {
            let schema = file.read()?;
            let check = reg.check_compat(&subject, &schema).await?;
            if !check.is_compatible {
                bail!(
                    "{subject}: {} is not compatible with the latest version, not registered: {}",
                    file.file.display(),
                    reasons(&check)
                );
            }
            let id = reg.register(&subject, &schema).await?;
            let v = reg.version(&subject, VersionRef::Latest).await?;
            #[derive(Serialize)]
            struct Registered<'a> {
                subject: &'a str,
                id: i64,
                version: i32,
            }
            let version = if v.id == id { v.version } else { 0 };
            output.print(
                &Registered {
                    subject: &subject,
                    id,
                    version,
                },
                |r| {
                    println!(
                        "{}: registered, schema id {}, version {}",
                        r.subject, r.id, r.version
                    )
                },
            )
        }
        SchemasCommand::Compat {
            subject,
            file,
            output,
        } => {
            let check = reg.check_compat(&subject, &file.read()?).await?;
            output.print(&check, |c| print_check(&subject, c))?;
            if !check.is_compatible {
                return Err(
                    CheckFailed(format!("{subject}: not compatible: {}", reasons(&check))).into(),
                );
            }
            Ok(())
        }
        SchemasCommand::SetCompat { args, global } => {
            let (subject, lvl) = match (global, args.as_slice()) {
                (true, [l]) => (None, l),
                (false, [s, l]) => (Some(s.as_str()), l),
                (true, _) => bail!("with --global give only the LEVEL"),
                (false, _) => bail!("give SUBJECT and LEVEL (or --global LEVEL)"),
            };
            let l: CompatLevel = lvl.parse()?;
            reg.set_compat_level(subject, l).await?;
            let now = reg.compat_level(subject).await?;
            if now != Some(l) {
                bail!("set {l} but the registry reads back {}", level(now));
            }
            println!("{}: compatibility {l}", subject.unwrap_or("global"));
            Ok(())
        }
        SchemasCommand::Delete {
            subject,
            permanent,
            yes,
        } => {
            if !yes {
                confirm(&format!(
                    "Delete subject {subject} with every version{}?",
                    if permanent { " permanently" } else { "" }
                ))?;
            }
            let versions = reg.delete_subject(&subject, permanent).await?;
            println!(
                "{subject}: deleted{} (versions {versions:?})",
                if permanent { " permanently" } else { "" }
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_files_are_schemas_or_request_bodies() {
        let p = Path::new("s.avsc");
        let s = parse_schema(r#"{"type": "string"}"#, p).unwrap();
        assert_eq!(s.schema, r#"{"type":"string"}"#);
        let b = parse_schema(
            r#"{"schema": "{\"type\":\"int\"}", "schemaType": "JSON"}"#,
            p,
        )
        .unwrap();
        assert_eq!(b.schema_type.as_deref(), Some("JSON"));
        assert!(parse_schema("syntax = \"proto3\";", Path::new("x.proto")).is_ok());
        let e = parse_schema("not json \"SENTINEL\"", p)
            .unwrap_err()
            .to_string();
        assert!(!e.contains("SENTINEL"), "{e}");
    }
}
