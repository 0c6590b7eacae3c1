//! Progress reporting: the library never prints; it tells a [`Progress`]
//! implementation (the CLI's progress display, a test's recorder) what it is doing.

use std::time::Duration;

/// A step of a lifecycle operation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Checking Java and the distribution cache.
    Prerequisites,
    /// Fetching a distribution (Kafka, the registry) into the user cache.
    Fetch {
        /// What is fetched, e.g. `Apache Kafka 4.4.0`.
        artifact: String,
    },
    /// Checking that every port is free.
    CheckPorts,
    /// Formatting the KRaft storage of the nodes (first start only).
    FormatStorage,
    /// Starting one Kafka node.
    StartNode {
        /// The node id (1-based).
        node_id: u16,
    },
    /// Waiting until the cluster is ready (metadata, quorum, round trip).
    WaitReady,
    /// Creating the TDA topics.
    CreateTopics,
    /// Starting the schema registry.
    StartRegistry,
    /// Stopping one Kafka node.
    StopNode {
        /// The node id (1-based).
        node_id: u16,
    },
    /// Stopping the schema registry.
    StopRegistry,
    /// Deleting data.
    RemoveData,
    /// A provider-specific step (e.g. Docker's image build or network setup).
    Other {
        /// A short name of the step.
        name: String,
    },
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Prerequisites => f.write_str("checking prerequisites"),
            Step::Fetch { artifact } => write!(f, "fetching {artifact}"),
            Step::CheckPorts => f.write_str("checking ports"),
            Step::FormatStorage => f.write_str("formatting storage"),
            Step::StartNode { node_id } => write!(f, "starting kafka node {node_id}"),
            Step::WaitReady => f.write_str("waiting for the cluster to be ready"),
            Step::CreateTopics => f.write_str("creating topics"),
            Step::StartRegistry => f.write_str("starting the schema registry"),
            Step::StopNode { node_id } => write!(f, "stopping kafka node {node_id}"),
            Step::StopRegistry => f.write_str("stopping the schema registry"),
            Step::RemoveData => f.write_str("removing data"),
            Step::Other { name } => f.write_str(name),
        }
    }
}

/// One progress report.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProgressEvent {
    /// A step began.
    Started {
        /// The step.
        step: Step,
    },
    /// A long step is still running (sent about once a second while waiting).
    Waiting {
        /// The step.
        step: Step,
        /// Time since the step began.
        elapsed: Duration,
        /// What is still missing, e.g. `2 of 3 brokers registered`.
        detail: String,
    },
    /// A step finished successfully.
    Finished {
        /// The step.
        step: Step,
        /// A one-line result, e.g. `pid 1234` or `5 created, 0 existed`.
        detail: String,
    },
    /// A step was skipped, with the reason.
    Skipped {
        /// The step.
        step: Step,
        /// Why.
        reason: String,
    },
    /// An informational note (e.g. `removed stale pid file of node 2`).
    Note {
        /// The message.
        message: String,
    },
}

/// Receives progress reports. Implementations must be cheap and must not block.
pub trait Progress: Send + Sync {
    /// Called for every event, in order.
    fn report(&self, event: ProgressEvent);
}

/// A [`Progress`] that discards everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn report(&self, _event: ProgressEvent) {}
}

impl<F: Fn(ProgressEvent) + Send + Sync> Progress for F {
    fn report(&self, event: ProgressEvent) {
        self(event)
    }
}
