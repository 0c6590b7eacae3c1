//! `tda-kafka config show|validate`, and [`ConfigArgs`], the configuration
//! flags every cluster command flattens.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde::Serialize;
use tda_kafka_config::{
    ConfigLoader, Environment, Issue, LoadedConfig, Setting, TopicSpec, ValidationReport,
};

use crate::output::{print_table, OutputArgs};

/// The env file read when `--env-file` is not given and it exists in the
/// current directory (the seed's "edit kafka.env").
pub const DEFAULT_ENV_FILE: &str = "kafka.env";

/// Configuration flags shared by `config`, `start`, `topics` and friends.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// Profile: development, staging or production (wins over ENVIRONMENT).
    #[arg(long, value_name = "ENV")]
    pub environment: Option<Environment>,
    /// kafka.env file to read [default: ./kafka.env when it exists].
    #[arg(long, value_name = "PATH")]
    pub env_file: Option<PathBuf>,
    /// YAML or JSON file that adds or overrides topics (wins over TDA_TOPICS_FILE).
    #[arg(long, value_name = "PATH")]
    pub topics_file: Option<PathBuf>,
}

impl ConfigArgs {
    /// The env file to read: `--env-file`, else `./kafka.env` if it exists.
    pub fn env_file_path(&self) -> Option<PathBuf> {
        match &self.env_file {
            Some(p) => Some(p.clone()),
            None => Path::new(DEFAULT_ENV_FILE)
                .is_file()
                .then(|| PathBuf::from(DEFAULT_ENV_FILE)),
        }
    }

    /// A loader with every layer these flags and the process environment give;
    /// callers may add overrides (e.g. `--brokers`) with `.set(..)`.
    pub fn loader(&self) -> ConfigLoader {
        // vars_os: a non-UTF-8 variable elsewhere in the environment must not
        // abort (std::env::vars panics on one); such values are skipped.
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        let mut loader = ConfigLoader::new().process_env(vars);
        if let Some(p) = self.env_file_path() {
            loader = loader.env_file(p);
        }
        if let Some(p) = &self.topics_file {
            loader = loader.topics_file(p);
        }
        loader.environment(self.environment)
    }

    /// Loads the configuration; warnings go to stderr, errors fail with the
    /// full list (file:line: KEY: problem).
    pub fn load(&self) -> anyhow::Result<LoadedConfig> {
        load_with(self.loader())
    }
}

/// Loads through `loader`, printing warnings to stderr.
pub fn load_with(loader: ConfigLoader) -> anyhow::Result<LoadedConfig> {
    // The error lists every problem, one per line.
    let loaded = loader.load()?;
    for w in loaded.report.warnings() {
        eprintln!("warning: {w}");
    }
    Ok(loaded)
}

/// `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every setting, its effective value and where it came from.
    Show {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Check the configuration and print every problem; exit 1 on errors.
    Validate {
        #[command(flatten)]
        config: ConfigArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Print a documented kafka.env with every key set to its effective value
    /// (secrets and unset keys commented out), e.g. `> kafka.env`.
    Template {
        #[command(flatten)]
        config: ConfigArgs,
    },
}

#[derive(Serialize)]
struct ShowDoc<'a> {
    environment: Environment,
    settings: &'a [Setting],
    topics: Vec<TopicRow>,
    issues: &'a [Issue],
}

#[derive(Serialize)]
struct TopicRow {
    #[serde(flatten)]
    spec: TopicSpec,
    source: String,
}

#[derive(Serialize)]
struct ValidateDoc<'a> {
    valid: bool,
    errors: usize,
    warnings: usize,
    issues: &'a [Issue],
}

/// Runs a `config` subcommand.
pub async fn run(cmd: ConfigCommand) -> anyhow::Result<()> {
    match cmd {
        ConfigCommand::Show { config, output } => show(&config, &output),
        ConfigCommand::Validate { config, output } => validate(&config, &output),
        ConfigCommand::Template { config } => template(&config),
    }
}

/// Prints the template of what was loaded. A template is a starting point to
/// edit, so what it still lacks (production's security settings, say) goes to
/// stderr and does not fail; `config validate` is the check.
fn template(args: &ConfigArgs) -> anyhow::Result<()> {
    let loaded = args.loader().check();
    print!("{}", loaded.config.to_env_template());
    if loaded.report.has_errors() {
        eprintln!("note: this template does not validate until you fix:");
        for e in loaded.report.errors() {
            eprintln!("  {e}");
        }
    }
    Ok(())
}

fn show(args: &ConfigArgs, output: &OutputArgs) -> anyhow::Result<()> {
    let loaded = args.loader().check();
    let topics: Vec<TopicRow> = loaded
        .config
        .effective_topics()
        .into_iter()
        .map(|spec| TopicRow {
            source: loaded
                .provenance
                .topic_source(&spec.name)
                .map_or_else(|| "default".into(), ToString::to_string),
            spec,
        })
        .collect();
    let doc = ShowDoc {
        environment: loaded.config.environment,
        settings: &loaded.provenance.settings,
        topics,
        issues: &loaded.report.issues,
    };
    output.print(&doc, |d| {
        let rows: Vec<Vec<String>> = d
            .settings
            .iter()
            .map(|s| {
                vec![
                    s.key.to_string(),
                    s.value.clone().unwrap_or_else(|| "-".into()),
                    s.source.to_string(),
                ]
            })
            .collect();
        print_table(&["KEY", "VALUE", "SOURCE"], &rows);
        println!();
        let rows: Vec<Vec<String>> = d
            .topics
            .iter()
            .map(|t| {
                let s = &t.spec;
                vec![
                    s.name.clone(),
                    s.partitions.to_string(),
                    opt(s.replication_factor),
                    opt(s.min_insync_replicas),
                    opt(s.retention_ms),
                    s.cleanup_policy.to_string(),
                    t.source.clone(),
                ]
            })
            .collect();
        print_table(
            &[
                "TOPIC",
                "PARTITIONS",
                "REPLICATION",
                "MIN_ISR",
                "RETENTION_MS",
                "CLEANUP",
                "SOURCE",
            ],
            &rows,
        );
    })?;
    for issue in &loaded.report.issues {
        eprintln!("{}: {issue}", issue.severity);
    }
    fail_on_errors(&loaded.report)
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

fn validate(args: &ConfigArgs, output: &OutputArgs) -> anyhow::Result<()> {
    let loaded = args.loader().check();
    let report = &loaded.report;
    let doc = ValidateDoc {
        valid: !report.has_errors(),
        errors: report.error_count(),
        warnings: report.warnings().count(),
        issues: &report.issues,
    };
    output.print(&doc, |d| {
        for issue in d.issues {
            println!("{}: {issue}", issue.severity);
        }
        let c = &loaded.config;
        if d.valid {
            println!(
                "configuration is valid: {} profile, {} broker(s), {} topic(s), {} warning(s)",
                c.environment,
                c.broker_count,
                c.topics.len(),
                d.warnings
            );
        } else {
            println!("{} error(s), {} warning(s)", d.errors, d.warnings);
        }
    })?;
    fail_on_errors(report)
}

fn fail_on_errors(report: &ValidationReport) -> anyhow::Result<()> {
    if report.has_errors() {
        anyhow::bail!("the configuration has {} error(s)", report.error_count());
    }
    Ok(())
}
