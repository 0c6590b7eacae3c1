//! The TDA Kafka web console: a server-rendered replacement for Kafka UI.
//!
//! Pages: cluster overview, topics (list, detail, create, delete, configs,
//! partitions), a message browser (Avro decoded through the registry, JSON
//! pretty-printed, bytes as hex, dead-letter origins as links, produce),
//! consumer groups (lag per partition and in total, a lag-over-time chart
//! from samples the console takes while it runs, offset reset with a
//! preview), schemas (subjects, versions, diff, compatibility, register),
//! Kafka Connect connectors and the TDA views (job lifecycles from
//! `tda_jobs`, results from `tda_results` with a persistence diagram).
//!
//! Everything Kafka goes through `tda-kafka-admin` and `tda-kafka-client`;
//! the registry and Connect are called over their REST APIs. HTML is
//! rendered with `maud`; the stylesheet is compiled in; there is no
//! JavaScript.
//!
//! Security: [`ConsoleOptions::validate`] refuses a non-loopback listen
//! address without [`Auth`]; with `read_only` every POST is answered 403;
//! every change form carries a CSRF token and a POST without it is answered
//! 403; secrets (sensitive configs, SASL passwords) are never rendered.
//!
//! ```no_run
//! use tda_kafka_config::ClientProperties;
//! use tda_kafka_console::{serve, ConsoleOptions};
//!
//! # async fn demo() -> Result<(), tda_kafka_console::ConsoleError> {
//! let mut props = ClientProperties::default();
//! props.set("bootstrap.servers", "127.0.0.1:19092");
//! let options = ConsoleOptions::new(props)
//!     .with_registry("http://127.0.0.1:8081/apis/ccompat/v7")
//!     .with_listen("127.0.0.1:8080".parse().unwrap());
//! serve(options, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```

mod decode;
mod error;
mod lag;
mod layout;
mod options;
mod pages;
mod security;
mod server;
mod svg;

pub use error::{ConsoleError, Result};
pub use options::{Auth, ConsoleOptions, RedisTarget, DEFAULT_PORT};
pub use server::{serve, Console};
