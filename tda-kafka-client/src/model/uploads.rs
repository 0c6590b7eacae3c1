//! `tda_uploads`: file upload events, keyed by upload id.

use apache_avro::AvroSchema;
use serde::{Deserialize, Serialize};

use super::tda_message;

/// State of an upload.
///
/// Variants:
/// - `Started`: Bytes are arriving.
/// - `Completed`: Stored and checksummed.
/// - `Validated`: Checked and usable as a dataset.
/// - `Failed`: The upload failed or was rejected.
/// - `Deleted`: The stored file was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, AvroSchema)]
#[allow(missing_docs)] // AvroSchema forbids docs on unit variants; see the list above
#[avro(namespace = "io.tda.kafka.v1")]
pub enum UploadStatus {
    Started,
    Completed,
    Validated,
    Failed,
    Deleted,
}

/// A message on `tda_uploads` (key: the upload id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "io.tda.kafka.v1")]
pub struct UploadEvent {
    /// The upload (also the record key).
    pub upload_id: String,
    /// The dataset the file belongs to.
    pub dataset_id: String,
    /// Original file name.
    pub file_name: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// MIME type, e.g. `text/csv`.
    pub content_type: String,
    /// Checksum with its algorithm, e.g. `sha256:ab12…`.
    pub checksum: String,
    /// Where the file is stored.
    pub storage_uri: String,
    /// State of the upload.
    pub status: UploadStatus,
    /// When the state was reached.
    pub occurred_at_ms: i64,
}

tda_message!(UploadEvent, UploadEvent, 1);
