//! `tda_results`: computed persistent homology, keyed by job id (compacted).

use apache_avro::AvroSchema;
use serde::{Deserialize, Serialize};

use super::{tda_message, Algorithm};

/// One point of a persistence diagram.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.tda.kafka.v1")]
pub struct PersistencePair {
    /// Homology dimension of the class.
    pub dimension: i32,
    /// Filtration value at which the class is born.
    pub birth: f64,
    /// Filtration value at which it dies; `None` for an essential class that
    /// never dies (death = +infinity, which JSON cannot carry).
    #[serde(default)]
    pub death: Option<f64>,
}

impl PersistencePair {
    /// `death - birth`, infinite for essential classes.
    pub fn persistence(&self) -> f64 {
        self.death.map_or(f64::INFINITY, |d| d - self.birth)
    }
}

/// Where the time went, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.tda.kafka.v1")]
pub struct Timings {
    /// Time between submission and start.
    pub queued_ms: i64,
    /// Time spent computing.
    pub compute_ms: i64,
    /// Submission to result.
    pub total_ms: i64,
}

/// A message on `tda_results` (key: the job id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.tda.kafka.v1")]
pub struct JobResult {
    /// The job (also the record key, so compaction keeps the latest result).
    pub job_id: String,
    /// The analysed dataset.
    pub dataset_id: String,
    /// The complex that was built.
    pub algorithm: Algorithm,
    /// The persistence diagram, all dimensions.
    pub diagram: Vec<PersistencePair>,
    /// Betti numbers; index = dimension.
    pub betti_numbers: Vec<i64>,
    /// Timings of the computation.
    pub timings: Timings,
    /// Where large outputs (full diagrams, representatives) are stored.
    #[serde(default)]
    pub storage_uri: Option<String>,
    /// When the result was computed.
    pub computed_at_ms: i64,
}

tda_message!(JobResult, JobResult, 1);
