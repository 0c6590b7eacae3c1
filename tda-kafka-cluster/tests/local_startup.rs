//! The local provider's JVM start-up tuning on a real 1-broker cluster: the
//! first start builds the class-data archive (written when the node stops),
//! the second maps it, and a corrupt archive still starts (without it, said
//! through a note, and a new one is built).
//!
//! Needs Java 17+ and the cached Kafka distribution. Ports 24592 (client)
//! and 24692 (controller); data in a temporary directory (under
//! `TDA_KAFKA_TEST_DATA_DIR_ROOT` when scripts/test.sh sets it).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tda_kafka_cluster::local::{JvmTuning, LocalProvider};
use tda_kafka_cluster::{
    ClusterProvider, Progress, ProgressEvent, Services, StartOptions, StartReport, StopOptions,
};
use tda_kafka_config::ClusterConfig;
use tokio_util::sync::CancellationToken;

/// Keeps the notes of a start.
#[derive(Default)]
struct Notes(Mutex<Vec<String>>);

impl Progress for Notes {
    fn report(&self, event: ProgressEvent) {
        if let ProgressEvent::Note { message } = event {
            self.0.lock().unwrap().push(message);
        }
    }
}

fn config() -> ClusterConfig {
    let mut c = ClusterConfig {
        heap_opts: Some("-Xmx512m -Xms256m".into()),
        num_network_threads: 2,
        num_io_threads: 2,
        group_initial_rebalance_delay_ms: 0,
        ..ClusterConfig::default()
    }
    .fit_to_brokers(1);
    c.network.kafka_base_port = 24592;
    c.network.controller_base_port = 24692;
    c.network.jmx_base_port = 0;
    c
}

/// Starts the cluster; returns the report, the node's command line and the notes.
async fn start(provider: &LocalProvider) -> (StartReport, String, Vec<String>) {
    let notes = Notes::default();
    let options = StartOptions {
        create_topics: false,
        services: Services::brokers_only(),
        ..StartOptions::default()
    };
    let report = provider
        .start(&config(), &options, &notes, CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("start failed: {e}; notes: {:?}", notes.0.lock().unwrap()));
    let pid = report.status.nodes[0].state.pid().expect("node 1 runs");
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).expect("the node's cmdline");
    let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
    let notes = notes.0.into_inner().unwrap();
    (report, cmdline, notes)
}

async fn stop(provider: &LocalProvider) {
    provider
        .stop(&StopOptions::default(), &tda_kafka_cluster::NoProgress)
        .await
        .expect("stop");
}

fn archives(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "jsa"))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_archive_is_built_then_used_and_a_corrupt_one_still_starts() {
    let tmp = match std::env::var_os("TDA_KAFKA_TEST_DATA_DIR_ROOT") {
        Some(dir) => {
            std::fs::create_dir_all(&dir).unwrap();
            tempfile::tempdir_in(dir).unwrap()
        }
        None => tempfile::tempdir().unwrap(),
    };
    let root = tmp.path().to_path_buf();
    let cds = root.join("cds");
    let provider =
        LocalProvider::new(root.join("cluster")).with_jvm_tuning(JvmTuning::with_archive_dir(&cds));

    // 1. No archive yet: node 1 writes one when it stops; C1 in development.
    let (report, cmdline, notes) = start(&provider).await;
    assert!(report.formatted);
    assert!(cmdline.contains("-XX:ArchiveClassesAtExit="), "{cmdline}");
    assert!(!cmdline.contains("-XX:SharedArchiveFile"), "{cmdline}");
    assert!(cmdline.contains("-XX:TieredStopAtLevel=1"), "{cmdline}");
    assert!(
        notes.iter().any(|n| n.contains("when it stops")),
        "{notes:?}"
    );
    stop(&provider).await;

    // 2. The archive written at exit is checked, promoted and mapped.
    let (report, cmdline, notes) = start(&provider).await;
    assert!(!report.formatted);
    let built = archives(&cds);
    assert_eq!(built.len(), 1, "{built:?}, notes: {notes:?}");
    let flag = format!("-XX:SharedArchiveFile={}", built[0].display());
    assert!(cmdline.contains(&flag), "{cmdline}");
    assert!(!cmdline.contains("-XX:ArchiveClassesAtExit"), "{cmdline}");
    stop(&provider).await;

    // 3. A corrupt archive: the start falls back, says so, and rebuilds.
    let bytes = std::fs::read(&built[0]).unwrap();
    std::fs::remove_file(&built[0]).unwrap();
    std::fs::write(&built[0], &bytes[..bytes.len() / 3]).unwrap();
    let (_, cmdline, notes) = start(&provider).await;
    assert!(!cmdline.contains("-XX:SharedArchiveFile"), "{cmdline}");
    assert!(cmdline.contains("-XX:ArchiveClassesAtExit="), "{cmdline}");
    assert!(
        notes.iter().any(|n| n.contains("unusable")),
        "the fallback is noted: {notes:?}"
    );
    provider
        .stop(
            &StopOptions {
                remove_data: true,
                ..StopOptions::default()
            },
            &tda_kafka_cluster::NoProgress,
        )
        .await
        .expect("cleanup");
}
