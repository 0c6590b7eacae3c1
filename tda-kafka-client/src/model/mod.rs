//! The message model of the five TDA topics.
//!
//! Every value type is plain serde data that also derives an Avro schema
//! (`apache_avro::AvroSchema`), so the JSON and the Avro form come from one
//! Rust definition. Schemas are versioned by [`TdaMessage::SCHEMA_VERSION`]
//! (sent in the `tda-schema-version` header) and live in the Avro namespace
//! [`AVRO_NAMESPACE`].
//!
//! # Evolution rules
//!
//! Producers and consumers of different versions must keep working, in both
//! directions (Schema Registry `FULL` compatibility):
//!
//! 1. New fields are `Option<T>` with Avro default `null` (the derive gives
//!    every `Option` field `"default": null`) and `#[serde(default)]` so JSON
//!    readers accept their absence.
//! 2. Fields are never removed or renamed; a field that is no longer used stays
//!    optional and is left `None`.
//! 3. Enum symbols are only appended, never removed or reordered.
//! 4. A change that breaks these rules is a new topic and a new major
//!    [`TdaMessage::SCHEMA_VERSION`].
//!
//! Timestamps are milliseconds since the Unix epoch (`*_ms: i64`).

mod errors;
mod events;
mod jobs;
mod results;
mod uploads;

use std::sync::OnceLock;

use apache_avro::Schema;
use serde::{de::DeserializeOwned, Serialize};

pub use errors::{error_kind, ErrorOrigin, ErrorRecord};
pub use events::{EventSeverity, SystemEvent};
pub use jobs::{
    Algorithm, JobCancelled, JobCompleted, JobEvent, JobFailed, JobLifecycle, JobParameters,
    JobPriority, JobProgress, JobStarted, JobStatus, JobSubmitted,
};
pub use results::{JobResult, PersistencePair, Timings};
pub use uploads::{UploadEvent, UploadStatus};

/// Avro namespace of every TDA record (major version 1).
pub const AVRO_NAMESPACE: &str = "io.tda.kafka.v1";

/// A value that can travel on a TDA topic.
pub trait TdaMessage: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The schema version of this message type (the `tda-schema-version` header).
    const SCHEMA_VERSION: u32;

    /// The Avro schema of this message type, built once per process.
    fn avro_schema() -> &'static Schema;
}

/// Builds a schema once and keeps it for the life of the process.
pub(crate) fn cached_schema(
    cell: &'static OnceLock<Schema>,
    build: fn() -> Schema,
) -> &'static Schema {
    cell.get_or_init(build)
}

macro_rules! tda_message {
    ($ty:ty, $schema_ty:ty, $version:expr) => {
        impl $crate::model::TdaMessage for $ty {
            const SCHEMA_VERSION: u32 = $version;
            fn avro_schema() -> &'static ::apache_avro::Schema {
                static CELL: ::std::sync::OnceLock<::apache_avro::Schema> =
                    ::std::sync::OnceLock::new();
                $crate::model::cached_schema(
                    &CELL,
                    <$schema_ty as ::apache_avro::AvroSchema>::get_schema,
                )
            }
        }
    };
}
pub(crate) use tda_message;

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// One sample of every message type, for tests, examples and benchmarks.
pub mod samples {
    use std::collections::HashMap;

    use super::*;

    /// A `submitted` job event.
    pub fn job_submitted(job_id: &str) -> JobEvent {
        JobEvent {
            job_id: job_id.into(),
            occurred_at_ms: 1_700_000_000_000,
            lifecycle: JobLifecycle::Submitted(JobSubmitted {
                dataset_id: "ds-42".into(),
                algorithm: Algorithm::VietorisRips,
                parameters: JobParameters {
                    max_dimension: 2,
                    max_edge_length: Some(1.5),
                    landmarks: None,
                    extra: HashMap::from([("metric".into(), "euclidean".into())]),
                },
                priority: JobPriority::High,
                submitter: "alice".into(),
            }),
        }
    }

    /// Every lifecycle step of one job.
    pub fn job_lifecycle(job_id: &str) -> Vec<JobEvent> {
        let at = |lifecycle| JobEvent {
            job_id: job_id.into(),
            occurred_at_ms: 1_700_000_000_001,
            lifecycle,
        };
        vec![
            job_submitted(job_id),
            at(JobLifecycle::Started(JobStarted {
                worker_id: "worker-1".into(),
            })),
            at(JobLifecycle::Progress(JobProgress {
                fraction: 0.5,
                stage: "building complex".into(),
            })),
            at(JobLifecycle::Completed(JobCompleted {
                duration_ms: 1234,
                result_uri: Some("s3://tda/results/j".into()),
            })),
            at(JobLifecycle::Failed(JobFailed {
                error_kind: "oom".into(),
                message: "out of memory".into(),
                retriable: true,
            })),
            at(JobLifecycle::Cancelled(JobCancelled {
                cancelled_by: "bob".into(),
                reason: "superseded".into(),
            })),
        ]
    }

    /// A result with finite and essential pairs.
    pub fn job_result(job_id: &str) -> JobResult {
        JobResult {
            job_id: job_id.into(),
            dataset_id: "ds-42".into(),
            algorithm: Algorithm::Alpha,
            diagram: vec![
                PersistencePair {
                    dimension: 0,
                    birth: 0.0,
                    death: Some(0.25),
                },
                PersistencePair {
                    dimension: 0,
                    birth: 0.0,
                    death: None,
                },
                PersistencePair {
                    dimension: 1,
                    birth: 0.5,
                    death: Some(0.75),
                },
            ],
            betti_numbers: vec![1, 1],
            timings: Timings {
                queued_ms: 5,
                compute_ms: 20,
                total_ms: 25,
            },
            storage_uri: None,
            computed_at_ms: 1_700_000_000_002,
        }
    }

    /// A system event.
    pub fn system_event(id: &str) -> SystemEvent {
        SystemEvent {
            event_id: id.into(),
            event_type: "worker.started".into(),
            source: "worker-1".into(),
            severity: EventSeverity::Info,
            message: "worker ready".into(),
            attributes: HashMap::from([("version".into(), "1.0".into())]),
            occurred_at_ms: 1_700_000_000_003,
        }
    }

    /// An upload event.
    pub fn upload(upload_id: &str) -> UploadEvent {
        UploadEvent {
            upload_id: upload_id.into(),
            dataset_id: "ds-42".into(),
            file_name: "points.csv".into(),
            size_bytes: 1024,
            content_type: "text/csv".into(),
            checksum: "sha256:00ff".into(),
            storage_uri: "s3://tda/uploads/points.csv".into(),
            status: UploadStatus::Completed,
            occurred_at_ms: 1_700_000_000_004,
        }
    }

    /// An error record with origin and payload.
    pub fn error_record() -> ErrorRecord {
        ErrorRecord {
            source_service: "worker".into(),
            error_kind: error_kind::UNDECODABLE.into(),
            message: "bad bytes".into(),
            origin: Some(ErrorOrigin {
                topic: "tda_jobs".into(),
                partition: 1,
                offset: 7,
            }),
            original_payload: Some(vec![0xde, 0xad, 0, 1]),
            occurred_at_ms: 1_700_000_000_005,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::samples::*;
    use super::*;
    use apache_avro::reader::datum::GenericDatumReader;
    use apache_avro::writer::datum::GenericDatumWriter;

    fn round_trip<M: TdaMessage + PartialEq + std::fmt::Debug>(m: &M) {
        let json = serde_json::to_vec(m).unwrap();
        assert_eq!(&serde_json::from_slice::<M>(&json).unwrap(), m);
        let schema = M::avro_schema();
        let bytes = GenericDatumWriter::builder(schema)
            .build()
            .unwrap()
            .write_ser_to_vec(m)
            .unwrap();
        let value = GenericDatumReader::builder(schema)
            .reader_schema(schema)
            .build()
            .unwrap()
            .read_value(&mut &bytes[..])
            .unwrap();
        assert_eq!(&apache_avro::from_value::<M>(&value).unwrap(), m);
    }

    #[test]
    fn every_message_round_trips_in_json_and_avro() {
        for e in job_lifecycle("j1") {
            round_trip(&e);
        }
        round_trip(&job_result("j1"));
        round_trip(&system_event("e1"));
        round_trip(&upload("u1"));
        round_trip(&error_record());
    }

    #[test]
    fn schemas_are_named_records_with_null_defaults() {
        let s = serde_json::to_value(JobEvent::avro_schema()).unwrap();
        assert_eq!(s["name"], "JobEvent");
        assert_eq!(s["namespace"], AVRO_NAMESPACE);
        let fields = s["fields"].as_array().unwrap();
        let submitted = fields.iter().find(|f| f["name"] == "submitted").unwrap();
        assert_eq!(submitted["default"], serde_json::Value::Null);
        assert!(submitted.get("default").is_some());
        let r = serde_json::to_value(ErrorRecord::avro_schema()).unwrap();
        let payload = r["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "original_payload")
            .unwrap();
        assert_eq!(payload["type"], serde_json::json!(["null", "bytes"]));
    }

    #[test]
    fn a_job_event_whose_data_does_not_match_its_status_is_rejected() {
        let mut v = serde_json::to_value(job_submitted("j")).unwrap();
        v["status"] = "Started".into();
        assert!(serde_json::from_value::<JobEvent>(v).is_err());
    }
}
