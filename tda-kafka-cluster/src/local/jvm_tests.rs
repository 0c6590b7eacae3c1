//! Unit tests of the archive key, checks and fallbacks (`jvm.rs`). The
//! checks run the machine's `java` (`-version` runs, well under a second).

use std::sync::Mutex;

use super::*;

/// Collects the notes a `prepare` sends.
#[derive(Default)]
struct Notes(Mutex<Vec<String>>);

impl Progress for Notes {
    fn report(&self, event: ProgressEvent) {
        if let ProgressEvent::Note { message } = event {
            self.0.lock().unwrap().push(message);
        }
    }
}

impl Notes {
    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

fn java() -> Java {
    Java::detect().expect("these tests need the machine's java (17+)")
}

/// A jar set of one empty directory: the JVM's own classes only, so an
/// archive of it is built by a `-version` run.
fn tiny_set(dir: &Path) -> JarSet {
    JarSet {
        name: "test",
        classpath: dir.display().to_string(),
        jars: Vec::new(),
    }
}

fn build_tiny(java: &Java, set: &JarSet, partial: &Path) {
    let status = Command::new(&java.path)
        .arg(format!("-XX:ArchiveClassesAtExit={}", partial.display()))
        .args(["-Xlog:cds=error", "-cp", &set.classpath, "-version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success() && partial.is_file(), "{status}");
}

#[test]
fn the_key_changes_with_the_jar_set_and_the_jvm() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.jar");
    let b = dir.path().join("b.jar");
    std::fs::write(&a, "one").unwrap();
    std::fs::write(&b, "two").unwrap();
    let java = Java {
        path: "/usr/bin/java".into(),
        major: 17,
        version: "openjdk version \"17.0.15\"".into(),
    };
    let both = archive_key(&java, true, &[a.clone(), b.clone()]);
    assert_eq!(both.len(), 32);
    // Order does not matter; content of the set does.
    assert_eq!(archive_key(&java, true, &[b.clone(), a.clone()]), both);
    assert_ne!(archive_key(&java, true, std::slice::from_ref(&a)), both);
    std::fs::write(&b, "two, longer").unwrap();
    let changed = archive_key(&java, true, &[a.clone(), b.clone()]);
    assert_ne!(changed, both, "a jar of another size is a new key");
    let newer = Java {
        version: "openjdk version \"17.0.16\"".into(),
        ..java.clone()
    };
    assert_ne!(archive_key(&newer, true, &[a.clone(), b.clone()]), changed);
    let moved = Java {
        path: "/opt/jdk/bin/java".into(),
        ..java.clone()
    };
    assert_ne!(archive_key(&moved, true, &[a.clone(), b.clone()]), changed);
    assert_ne!(archive_key(&java, false, &[a, b]), changed);
}

#[test]
fn heap_flags_decide_compressed_oops() {
    assert!(compressed_oops("-Xmx512m -Xms256m"));
    assert!(compressed_oops("-Xmx2G -Xms2G"));
    assert!(compressed_oops(""));
    assert!(!compressed_oops("-Xmx32G -Xms32G"));
    assert!(!compressed_oops("-Xmx1g -Xmx40g"), "the last -Xmx counts");
    assert!(!compressed_oops("-Xmx1g -XX:-UseCompressedOops"));
    assert_eq!(max_heap_flag("-Xms1g -Xmx2g"), Some("-Xmx2g"));
}

#[test]
fn configured_flags_win_over_the_tuning() {
    assert!(sets_sharing("-XX:+UseG1GC -Xshare:off"));
    assert!(sets_sharing("-XX:SharedArchiveFile=/x.jsa"));
    assert!(!sets_sharing("-XX:+UseG1GC -XX:MaxGCPauseMillis=20"));
    assert!(sets_jit("-XX:TieredStopAtLevel=4"));
    assert!(sets_jit("-XX:-TieredCompilation"));
    assert!(!sets_jit("-XX:+UseG1GC"));
    let dir = tempfile::tempdir().unwrap();
    let config = ClusterConfig {
        jvm_performance_opts: "-XX:+UseG1GC -Xshare:off -XX:TieredStopAtLevel=4".into(),
        ..ClusterConfig::default()
    };
    let kafka = KafkaDist {
        libs: dir.path().to_path_buf(),
        from_kafka_home: true,
    };
    let java = Java {
        path: "/nonexistent/java".into(),
        major: 17,
        version: String::new(),
    };
    let tuning = JvmTuning::with_archive_dir(dir.path().join("cds"));
    let mut flags = StartFlags::prepare(
        &tuning,
        &config,
        &java,
        Some(&kafka),
        None,
        &crate::NoProgress,
    );
    assert!(flags.node().is_empty(), "the configured flags decide");
    assert!(!tuning.archive_dir.exists());
}

#[test]
fn production_keeps_c2() {
    let dir = tempfile::tempdir().unwrap();
    let java = Java {
        path: "/nonexistent/java".into(),
        major: 17,
        version: String::new(),
    };
    let tuning = JvmTuning {
        enabled: true,
        archive_dir: dir.path().join("cds"),
    };
    for (env, c1) in [
        (Environment::Development, true),
        (Environment::Staging, false),
        (Environment::Production, false),
    ] {
        let config = ClusterConfig::for_environment(env);
        let mut flags =
            StartFlags::prepare(&tuning, &config, &java, None, None, &crate::NoProgress);
        assert_eq!(
            flags
                .node()
                .contains(&"-XX:TieredStopAtLevel=1".to_string()),
            c1,
            "{env}"
        );
    }
}

#[test]
fn tuning_off_uses_no_archive_and_keeps_the_jit() {
    let dir = tempfile::tempdir().unwrap();
    let notes = Notes::default();
    let tuning = JvmTuning {
        enabled: false,
        archive_dir: dir.path().join("cds"),
    };
    let set = tiny_set(dir.path());
    let java = Java {
        path: "/nonexistent/java".into(),
        major: 17,
        version: String::new(),
    };
    assert_eq!(
        prepare(&tuning, &java, &set, "-Xmx256m", &notes),
        Sharing::None
    );
    assert!(!tuning.archive_dir.exists(), "nothing is created when off");
    let mut flags = StartFlags {
        c1: false,
        kafka: Sharing::None,
        tool_shares: true,
        registry: Sharing::None,
    };
    assert!(flags.node().is_empty() && flags.registry().is_empty());
}

#[test]
fn no_archive_means_one_build_then_the_built_archive_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let java = java();
    let set = tiny_set(dir.path());
    let tuning = JvmTuning::with_archive_dir(dir.path().join("cds"));
    let notes = Notes::default();
    let Sharing::Build(partial) = prepare(&tuning, &java, &set, "-Xmx256m", &notes) else {
        panic!("expected a build");
    };
    assert!(partial.starts_with(&tuning.archive_dir));
    assert!(partial.to_string_lossy().ends_with(".partial"));
    // Only the first JVM of the set builds; C1 comes with development.
    let mut flags = StartFlags {
        c1: true,
        kafka: Sharing::Build(partial.clone()),
        tool_shares: true,
        registry: Sharing::None,
    };
    assert!(flags.storage_tool() == vec!["-XX:TieredStopAtLevel=1".to_string()]);
    let first = flags.node();
    assert!(first.contains(&format!("-XX:ArchiveClassesAtExit={}", partial.display())));
    assert!(first.contains(&"-XX:TieredStopAtLevel=1".to_string()));
    assert_eq!(flags.node(), vec!["-XX:TieredStopAtLevel=1".to_string()]);

    // The JVM wrote it at exit: the next start checks and promotes it.
    build_tiny(&java, &set, &partial);
    let Sharing::Use(archive) = prepare(&tuning, &java, &set, "-Xmx256m", &notes) else {
        panic!("expected the built archive, notes: {:?}", notes.all());
    };
    assert!(!partial.exists() && archive.is_file());
    assert!(stamp_matches(&archive));
    assert!(
        notes.all().iter().any(|n| n.contains("built")),
        "{:?}",
        notes.all()
    );
    // Unchanged: used again without a check (the stamp matches).
    assert_eq!(
        prepare(&tuning, &java, &set, "-Xmx256m", &notes),
        Sharing::Use(archive.clone())
    );
    let mut flags = StartFlags {
        c1: false,
        kafka: Sharing::Use(archive.clone()),
        tool_shares: true,
        registry: Sharing::None,
    };
    let expected = vec![
        "-Xshare:auto".to_string(),
        format!("-XX:SharedArchiveFile={}", archive.display()),
    ];
    assert_eq!(flags.node(), expected);
    assert_eq!(flags.node(), expected, "every node maps it");
    assert_eq!(flags.storage_tool(), expected);
}

#[test]
fn a_corrupt_archive_falls_back_with_a_note_and_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let java = java();
    let set = tiny_set(dir.path());
    let tuning = JvmTuning::with_archive_dir(dir.path().join("cds"));
    let notes = Notes::default();
    let Sharing::Build(partial) = prepare(&tuning, &java, &set, "-Xmx256m", &notes) else {
        panic!("expected a build");
    };
    build_tiny(&java, &set, &partial);
    let Sharing::Use(archive) = prepare(&tuning, &java, &set, "-Xmx256m", &notes) else {
        panic!("expected the archive");
    };
    // Truncated: Java 17 would abort on it even with -Xshare:auto.
    let bytes = std::fs::read(&archive).unwrap();
    std::fs::remove_file(&archive).unwrap();
    std::fs::write(&archive, &bytes[..bytes.len() / 2]).unwrap();
    let after = prepare(&tuning, &java, &set, "-Xmx256m", &notes);
    assert!(matches!(after, Sharing::Build(_)), "{after:?}");
    assert!(!archive.exists() && !stamp_path(&archive).exists());
    let notes = notes.all();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("unusable") && n.contains(&archive.display().to_string())),
        "{notes:?}"
    );
}

#[test]
fn an_unfinished_partial_is_discarded_never_used() {
    let dir = tempfile::tempdir().unwrap();
    let java = java();
    let set = tiny_set(dir.path());
    let tuning = JvmTuning::with_archive_dir(dir.path().join("cds"));
    let notes = Notes::default();
    let Sharing::Build(partial) = prepare(&tuning, &java, &set, "-Xmx256m", &notes) else {
        panic!("expected a build");
    };
    // A writer killed halfway: a file that is not a whole archive.
    std::fs::write(&partial, vec![0x5a; 64 * 1024]).unwrap();
    let next = prepare(&tuning, &java, &set, "-Xmx256m", &notes);
    assert!(
        matches!(&next, Sharing::Build(p) if p != &partial),
        "{next:?}"
    );
    assert!(!partial.exists());
    assert!(
        notes.all().iter().any(|n| n.contains("discarded")),
        "{:?}",
        notes.all()
    );
}
