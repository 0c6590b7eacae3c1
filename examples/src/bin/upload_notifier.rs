//! Announces uploaded files on `tda_uploads` (started, then completed with
//! size and checksum).
//!
//! ```text
//! cargo run -p tda-kafka-examples --bin upload-notifier -- --dataset ds-1 points.csv
//! ```

use std::path::Path;
use std::time::Duration;

use tda_kafka_client::model::{now_ms, UploadEvent, UploadStatus};
use tda_kafka_client::{TdaProducer, Uploads};
use tda_kafka_examples::{exit_on_error, Args};

/// FNV-1a 64-bit checksum (a dependency-free example; use SHA-256 in production).
fn fnv1a64(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("fnv1a64:{h:016x}")
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => "text/csv",
        Some("json") => "application/json",
        Some("npy") => "application/x-npy",
        Some("txt") => "text/plain",
        _ => "application/octet-stream",
    }
}

#[tokio::main]
async fn main() {
    exit_on_error(run().await);
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse()?;
    if args.positional.is_empty() {
        return Err("usage: upload-notifier [--dataset ID] FILE...".into());
    }
    let dataset = args
        .options
        .get("dataset")
        .cloned()
        .unwrap_or_else(|| "dataset-1".into());
    let producer = TdaProducer::new(&args.settings("upload-notifier")?)?;
    let topic = args.topic::<Uploads>();
    for (i, file) in args.positional.iter().enumerate() {
        let path = std::fs::canonicalize(file)?;
        let upload_id = format!("upload-{}-{i}", now_ms());
        let mut event = UploadEvent {
            upload_id: upload_id.clone(),
            dataset_id: dataset.clone(),
            file_name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            size_bytes: 0,
            content_type: content_type(&path).into(),
            checksum: String::new(),
            storage_uri: format!("file://{}", path.display()),
            status: UploadStatus::Started,
            occurred_at_ms: now_ms(),
        };
        producer.send(&topic, &upload_id, &event).await?;
        let bytes = std::fs::read(&path)?;
        event.size_bytes = bytes.len() as i64;
        event.checksum = fnv1a64(&bytes);
        event.status = UploadStatus::Completed;
        event.occurred_at_ms = now_ms();
        let at = producer.send(&topic, &upload_id, &event).await?;
        println!(
            "{upload_id}: {} ({} bytes, {}) -> partition {} offset {}",
            event.file_name, event.size_bytes, event.checksum, at.partition, at.offset
        );
    }
    producer.close(Duration::from_secs(10)).await?;
    Ok(())
}
