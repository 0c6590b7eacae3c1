//! Admin operations for the TDA Kafka cluster.
//!
//! [`Admin`] wraps an rdkafka admin client built from
//! [`tda_kafka_config::ClientProperties`]. Every call is bounded by a timeout
//! and reports which cluster it could not reach.
//!
//! # How each call reaches Kafka
//!
//! - rdkafka's `AdminClient` (all security settings honoured): create/delete
//!   topics, create partitions, describe configs, delete groups.
//! - Other librdkafka facilities (security honoured): metadata, consumer
//!   groups with members and assignments (`Client::fetch_group_list`, the
//!   assignment decoded from the consumer protocol), committed offsets of any
//!   group (a consumer with `group.id=G` that never subscribes, calling
//!   `committed_offsets`; offset resets use the same consumer's `commit`,
//!   which the broker accepts only while the group has no members), earliest
//!   and latest offsets and offsets for a timestamp (`offsets_for_times`,
//!   batched per leader).
//! - A small raw protocol client ([`kafka-protocol`](https://docs.rs/kafka-protocol)
//!   0.18 over a tokio `TcpStream`, versions negotiated with `ApiVersions`):
//!   `DescribeLogDirs` (size on disk), `IncrementalAlterConfigs` (topic config
//!   changes), the controller id / cluster id from `Metadata`, and the
//!   per-broker propagation checks below. It supports
//!   **PLAINTEXT only**; on SSL/SASL clusters the size
//!   and controller fields are reported as unavailable, with the reason, and
//!   everything else works.
//!
//! Topic config updates use IncrementalAlterConfigs over the raw protocol
//! client (PLAINTEXT only; refused with a clear error otherwise): rdkafka
//! 0.39 has no binding for it, and its AlterConfigs call was observed to
//! report success without applying anything on Kafka 4.4. The broker's
//! error message is surfaced together with the keys.
//!
//! Creates and config changes reach each broker's metadata and config cache
//! asynchronously, and librdkafka sends metadata and DescribeConfigs requests
//! to any one broker. So [`Admin::create_topics`], [`Admin::create_topic`],
//! [`Admin::ensure_topics`], [`Admin::update_topic_configs`] and
//! [`Admin::apply`] return only once every broker shows the change (asked
//! one by one with `Metadata` / `DescribeConfigs` over the raw protocol
//! client), bounded by the client's timeout; otherwise they report
//! [`AdminError::NotPropagated`]. A following call answered by any broker
//! then sees the change. On SSL/SASL listeners topic readiness is checked in
//! the metadata librdkafka fetches (one broker per poll).
//!
//! # The REST services
//!
//! [`RegistryClient`] (any Confluent-compatible schema registry) and
//! [`ConnectClient`] (the Kafka Connect REST API) are the one client of each
//! service, used by the CLI, backup/restore and the web console. Every call
//! is bounded by the client's timeout; errors are [`AdminError::Service`]
//! with the service's own message, the URL and a hint; basic-auth
//! credentials (from the URL's `user:password@` or [`BasicAuth`]) are sent
//! but never shown.
//!
//! Invariants: this crate never spawns processes or shells out to Kafka's
//! Java tools; it speaks the Kafka protocol only. Nothing is applied
//! silently: batch operations return one outcome per item.

mod acls;
mod backup;
mod browse;
mod client;
mod connect;
mod error;
mod groups;
mod health;
mod messages;
mod meta;
mod metrics;
mod offsets;
mod plan;
pub mod redis;
mod registry;
mod rest;
mod restore;
mod services_backup;
mod topics;
mod wire;
pub mod zookeeper;

pub use acls::{declared_acls, AclOutcome, AclPlan};
pub use backup::{
    Backup, GroupBackup, OffsetEntry, RestoreReport, BACKUP_VERSION, OLDEST_BACKUP_VERSION,
};
pub use browse::{BrowseFrom, BrowsePage, BrowseRequest, RawRecord};
pub use client::{lower, Admin, BrokerInfo, ClusterMetadata};
pub use connect::{
    ConnectClient, ConnectorFile, ConnectorInfo, ConnectorOverview, ConnectorState,
    ConnectorStatus, Plugin, Validation, WorkerInfo, WorkerState,
};
pub use error::AdminError;
pub use groups::{
    decode_assignment, GroupDescription, GroupSummary, MemberInfo, PartitionLag, ResetReport,
    ResetRow, ResetSpec, TopicPartitions,
};
pub use health::{HealthReport, PartitionProblem};
pub use messages::{ConsumeOptions, ConsumedMessage, Delivered, ProduceRequest, StartAt};
pub use meta::{is_internal_topic, validate_topic_name, ConfigValue, PartitionInfo, TopicInfo};
pub use metrics::{MetricsReport, PartitionMetrics, TopicMetrics};
pub use offsets::Tp;
pub use plan::{validate_specs, ActionOutcome, ApplyReport, ConfigChange, Plan, PlanAction};
pub use registry::{
    CompatCheck, CompatLevel, NewSchema, RegistryClient, SchemaVersion, VersionRef,
};
pub use rest::{BasicAuth, RestService};
pub use services_backup::{ConnectorBackup, SchemasBackup, SubjectBackup, VersionBackup};
pub use topics::{parse_key_values, CreateTopic, EnsureOutcome, TopicDescription, TopicSummary};

/// Result type of this crate.
pub type Result<T, E = AdminError> = std::result::Result<T, E>;
