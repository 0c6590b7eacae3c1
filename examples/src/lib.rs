//! Shared code of the tda-kafka-client examples.
//!
//! Every example connects to the cluster of `tda-kafka start` by default
//! (brokers on 127.0.0.1:19092-19094, registry on 127.0.0.1:8081) and takes
//! `--bootstrap HOST:PORT,...`, `--registry URL`, `--json` (no registry) and
//! `--topic-prefix P` (prepended to every topic name), or the environment
//! variables `TDA_KAFKA_BOOTSTRAP` and `TDA_KAFKA_REGISTRY_URL`.

pub mod persistence;

use std::collections::HashMap;

use tda_kafka_client::{ClientError, ClientSettings, TdaTopic, Topic};

/// Default brokers of `tda-kafka start`.
pub const DEFAULT_BOOTSTRAP: &str = "127.0.0.1:19092,127.0.0.1:19093,127.0.0.1:19094";
/// Default registry of `tda-kafka start` (Apicurio's Confluent-compatible API).
pub const DEFAULT_REGISTRY: &str = "http://127.0.0.1:8081/apis/ccompat/v7";

/// Parsed command line of an example.
#[derive(Debug, Clone)]
pub struct Args {
    /// Broker list.
    pub bootstrap: String,
    /// Registry URL; `None` with `--json`.
    pub registry: Option<String>,
    /// Prefix of every topic name.
    pub topic_prefix: String,
    /// Other `--key value` options.
    pub options: HashMap<String, String>,
    /// Arguments that are not options.
    pub positional: Vec<String>,
}

impl Args {
    /// Parses `std::env::args()`.
    pub fn parse() -> Result<Self, String> {
        Self::parse_from(std::env::args().skip(1))
    }

    /// Parses `args` (without the program name).
    pub fn parse_from(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut out = Args {
            bootstrap: std::env::var("TDA_KAFKA_BOOTSTRAP")
                .unwrap_or_else(|_| DEFAULT_BOOTSTRAP.into()),
            registry: Some(
                std::env::var("TDA_KAFKA_REGISTRY_URL").unwrap_or_else(|_| DEFAULT_REGISTRY.into()),
            ),
            topic_prefix: String::new(),
            options: HashMap::new(),
            positional: Vec::new(),
        };
        let mut it = args.into_iter();
        while let Some(a) = it.next() {
            let Some(name) = a.strip_prefix("--") else {
                out.positional.push(a);
                continue;
            };
            if name == "json" {
                out.registry = None;
                continue;
            }
            let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
            match name {
                "bootstrap" => out.bootstrap = value,
                "registry" => out.registry = Some(value),
                "topic-prefix" => out.topic_prefix = value,
                _ => {
                    out.options.insert(name.to_owned(), value);
                }
            }
        }
        Ok(out)
    }

    /// Option `--name`, parsed, or `default`.
    pub fn get<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.options.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("--{name}: cannot parse {v:?}")),
        }
    }

    /// Client settings for `service`.
    pub fn settings(&self, service: &str) -> Result<ClientSettings, ClientError> {
        let s = ClientSettings::new(&self.bootstrap).with_service_name(service);
        match &self.registry {
            Some(url) => s.with_avro(url),
            None => Ok(s),
        }
    }

    /// Topic `T` with the prefix applied.
    pub fn topic<T: TdaTopic>(&self) -> Topic<T> {
        Topic::named(format!("{}{}", self.topic_prefix, T::NAME))
    }
}

/// Runs `main` and exits non-zero with its error.
pub fn exit_on_error(result: Result<(), Box<dyn std::error::Error>>) {
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_take_connection_options_and_the_rest() {
        let a = Args::parse_from(
            [
                "--bootstrap",
                "h:1",
                "--json",
                "--jobs",
                "3",
                "--topic-prefix",
                "t-",
                "file.csv",
            ]
            .map(String::from),
        )
        .unwrap();
        assert_eq!(a.bootstrap, "h:1");
        assert_eq!(a.registry, None);
        assert_eq!(a.get("jobs", 1u32).unwrap(), 3);
        assert_eq!(a.topic::<tda_kafka_client::Jobs>().name(), "t-tda_jobs");
        assert_eq!(a.positional, vec!["file.csv"]);
        assert!(Args::parse_from(["--registry".to_string()]).is_err());
    }
}
