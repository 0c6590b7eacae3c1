//! `tda_jobs`: the job lifecycle, keyed by job id.

use std::collections::HashMap;

use apache_avro::AvroSchema;
use serde::{Deserialize, Serialize};

use super::tda_message;

/// The complex a job builds to compute persistent homology.
///
/// Variants:
/// - `VietorisRips`: Vietoris-Rips complex.
/// - `Alpha`: Alpha complex.
/// - `Cech`: Čech complex.
/// - `Witness`: Witness complex (on landmarks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
#[allow(missing_docs)] // AvroSchema forbids docs on unit variants; see the list above
#[avro(namespace = "io.tda.kafka.v1")]
pub enum Algorithm {
    VietorisRips,
    Alpha,
    Cech,
    Witness,
}

/// Scheduling priority of a job.
///
/// Variants:
/// - `Low`: Background work.
/// - `Normal`: The default.
/// - `High`: Ahead of normal work.
/// - `Critical`: Ahead of everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
#[allow(missing_docs)] // AvroSchema forbids docs on unit variants; see the list above
#[avro(namespace = "io.tda.kafka.v1")]
pub enum JobPriority {
    Low,
    Normal,
    High,
    Critical,
}

/// Parameters of the filtration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.tda.kafka.v1")]
pub struct JobParameters {
    /// Highest homology dimension to compute.
    pub max_dimension: i32,
    /// Largest edge length (filtration value) to include; `None` means no limit.
    #[serde(default)]
    pub max_edge_length: Option<f64>,
    /// Number of landmarks (witness complex only).
    #[serde(default)]
    pub landmarks: Option<i32>,
    /// Algorithm-specific extra settings.
    #[serde(default)]
    pub extra: HashMap<String, String>,
}

/// A job was submitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.tda.kafka.v1")]
pub struct JobSubmitted {
    /// The dataset to analyse.
    pub dataset_id: String,
    /// The complex to build.
    pub algorithm: Algorithm,
    /// Filtration parameters.
    pub parameters: JobParameters,
    /// Scheduling priority.
    pub priority: JobPriority,
    /// Who submitted the job.
    pub submitter: String,
}

/// A worker started the job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.tda.kafka.v1")]
pub struct JobStarted {
    /// The worker that runs the job.
    pub worker_id: String,
}

/// Progress report of a running job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.tda.kafka.v1")]
pub struct JobProgress {
    /// Fraction done, `0.0..=1.0`.
    pub fraction: f64,
    /// Human-readable stage, e.g. `building complex`.
    pub stage: String,
}

/// The job finished; the result is on `tda_results`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.tda.kafka.v1")]
pub struct JobCompleted {
    /// Wall-clock duration of the computation in milliseconds.
    pub duration_ms: i64,
    /// Where large outputs were stored, if anywhere.
    #[serde(default)]
    pub result_uri: Option<String>,
}

/// The job failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.tda.kafka.v1")]
pub struct JobFailed {
    /// Machine-readable error kind.
    pub error_kind: String,
    /// Human-readable message.
    pub message: String,
    /// Whether resubmitting may succeed.
    pub retriable: bool,
}

/// The job was cancelled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.tda.kafka.v1")]
pub struct JobCancelled {
    /// Who cancelled it.
    pub cancelled_by: String,
    /// Why.
    pub reason: String,
}

/// A step of the job lifecycle with its data.
#[derive(Debug, Clone, PartialEq)]
pub enum JobLifecycle {
    /// See [`JobSubmitted`].
    Submitted(JobSubmitted),
    /// See [`JobStarted`].
    Started(JobStarted),
    /// See [`JobProgress`].
    Progress(JobProgress),
    /// See [`JobCompleted`].
    Completed(JobCompleted),
    /// See [`JobFailed`].
    Failed(JobFailed),
    /// See [`JobCancelled`].
    Cancelled(JobCancelled),
}

impl JobLifecycle {
    /// The status tag of this step.
    pub fn status(&self) -> JobStatus {
        match self {
            Self::Submitted(_) => JobStatus::Submitted,
            Self::Started(_) => JobStatus::Started,
            Self::Progress(_) => JobStatus::Progress,
            Self::Completed(_) => JobStatus::Completed,
            Self::Failed(_) => JobStatus::Failed,
            Self::Cancelled(_) => JobStatus::Cancelled,
        }
    }
}

/// The status tag of a [`JobLifecycle`] step (an Avro enum on the wire).
///
/// Variants:
/// - `Submitted`: [`JobLifecycle::Submitted`].
/// - `Started`: [`JobLifecycle::Started`].
/// - `Progress`: [`JobLifecycle::Progress`].
/// - `Completed`: [`JobLifecycle::Completed`].
/// - `Failed`: [`JobLifecycle::Failed`].
/// - `Cancelled`: [`JobLifecycle::Cancelled`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
#[allow(missing_docs)] // AvroSchema forbids docs on unit variants; see the list above
#[avro(namespace = "io.tda.kafka.v1")]
pub enum JobStatus {
    Submitted,
    Started,
    Progress,
    Completed,
    Failed,
    Cancelled,
}

/// A message on `tda_jobs` (key: the job id).
///
/// On the wire (JSON and Avro) this is the record `JobEvent` with a `status`
/// tag and one optional field per lifecycle step, exactly one of which is set;
/// a record whose set field does not match its status is rejected when decoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "JobEventRecord", try_from = "JobEventRecord")]
pub struct JobEvent {
    /// The job this event belongs to (also the record key).
    pub job_id: String,
    /// When the step happened.
    pub occurred_at_ms: i64,
    /// The step and its data.
    pub lifecycle: JobLifecycle,
}

impl JobEvent {
    /// An event for `job_id` happening now.
    pub fn now(job_id: impl Into<String>, lifecycle: JobLifecycle) -> Self {
        Self {
            job_id: job_id.into(),
            occurred_at_ms: super::now_ms(),
            lifecycle,
        }
    }
}

/// Wire form of [`JobEvent`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.tda.kafka.v1")]
#[serde(rename = "JobEvent")]
pub(crate) struct JobEventRecord {
    job_id: String,
    occurred_at_ms: i64,
    status: JobStatus,
    #[serde(default)]
    submitted: Option<JobSubmitted>,
    #[serde(default)]
    started: Option<JobStarted>,
    #[serde(default)]
    progress: Option<JobProgress>,
    #[serde(default)]
    completed: Option<JobCompleted>,
    #[serde(default)]
    failed: Option<JobFailed>,
    #[serde(default)]
    cancelled: Option<JobCancelled>,
}

impl From<JobEvent> for JobEventRecord {
    fn from(e: JobEvent) -> Self {
        let mut r = JobEventRecord {
            job_id: e.job_id,
            occurred_at_ms: e.occurred_at_ms,
            status: e.lifecycle.status(),
            submitted: None,
            started: None,
            progress: None,
            completed: None,
            failed: None,
            cancelled: None,
        };
        match e.lifecycle {
            JobLifecycle::Submitted(v) => r.submitted = Some(v),
            JobLifecycle::Started(v) => r.started = Some(v),
            JobLifecycle::Progress(v) => r.progress = Some(v),
            JobLifecycle::Completed(v) => r.completed = Some(v),
            JobLifecycle::Failed(v) => r.failed = Some(v),
            JobLifecycle::Cancelled(v) => r.cancelled = Some(v),
        }
        r
    }
}

impl TryFrom<JobEventRecord> for JobEvent {
    type Error = String;

    fn try_from(r: JobEventRecord) -> Result<Self, String> {
        let missing = || format!("JobEvent with status {:?} lacks its data", r.status);
        let lifecycle = match r.status {
            JobStatus::Submitted => {
                JobLifecycle::Submitted(r.submitted.clone().ok_or_else(missing)?)
            }
            JobStatus::Started => JobLifecycle::Started(r.started.clone().ok_or_else(missing)?),
            JobStatus::Progress => JobLifecycle::Progress(r.progress.clone().ok_or_else(missing)?),
            JobStatus::Completed => {
                JobLifecycle::Completed(r.completed.clone().ok_or_else(missing)?)
            }
            JobStatus::Failed => JobLifecycle::Failed(r.failed.clone().ok_or_else(missing)?),
            JobStatus::Cancelled => {
                JobLifecycle::Cancelled(r.cancelled.clone().ok_or_else(missing)?)
            }
        };
        Ok(JobEvent {
            job_id: r.job_id,
            occurred_at_ms: r.occurred_at_ms,
            lifecycle,
        })
    }
}

tda_message!(JobEvent, JobEventRecord, 1);
