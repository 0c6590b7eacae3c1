//! Start-up tuning of the JVMs the local stack runs: a class-data sharing
//! (AppCDS) archive per Java runtime and jar set, and C1-only compilation in
//! the development profile.
//!
//! Archives live in [`dist::cds_dir`] as `<set>-<key>.jsa`, where the key
//! hashes the `java -version` text, the `java` path, the heap mode
//! (compressed oops or not) and the name, size and mtime of every jar of
//! the set (`kafka`: `libs/*`, used by the nodes and the storage tool;
//! `registry`: the Apicurio runner jar and its `lib/`; `connect` and
//! `zookeeper`: the Kafka jars as the Connect worker or a ZooKeeper node of
//! ZooKeeper mode loads them; the Kafka 3.9 jars of ZooKeeper mode are a jar
//! set of their own, so they get their own keys). A changed JVM or jar
//! set is a new key, so a new archive.
//!
//! Building: when a set has no archive, the first JVM of it that a start
//! launches runs with `-XX:ArchiveClassesAtExit=<stem>.jsa.<nonce>.partial`
//! (a dynamic archive, Java 13+), which the JVM writes when it exits, i.e.
//! when the node or the registry is stopped. The next start checks every
//! partial file whose writer is gone with a short
//! `java -Xshare:on -XX:+VerifySharedSpaces -version` run (header, class
//! path, jar mtimes, CRC of every region) and renames it to the archive only
//! if that run succeeds, so a half-written file is never mapped (a truncated
//! archive makes Java 17 abort even with `-Xshare:auto`). An archive is
//! checked the same way once and then recorded in `<archive>.ok` (its size
//! and mtime); a file that changed since is checked again. Whatever fails,
//! the JVMs start without an archive and a [`ProgressEvent::Note`] says why.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};
use tda_kafka_config::{ClusterConfig, Environment};

use crate::dist::{self, Java, KafkaDist, RegistryDist};
use crate::{Progress, ProgressEvent};

/// The environment switch: `TDA_KAFKA_JVM_TUNING=off` (or `0`, `false`,
/// `no`) starts plain JVMs with exactly the configured flags.
pub const TUNING_ENV: &str = "TDA_KAFKA_JVM_TUNING";

/// Heap of the storage-format tool.
pub(crate) const TOOL_HEAP: &str = "-Xmx256m";

/// How the local provider tunes the JVMs it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JvmTuning {
    /// Class-data sharing archives for every JVM, and C1-only compilation
    /// (`-XX:TieredStopAtLevel=1`) in the development profile. Off: plain
    /// JVMs with exactly the configured flags.
    pub enabled: bool,
    /// Where the archives live ([`dist::cds_dir`] unless changed).
    pub archive_dir: PathBuf,
}

impl Default for JvmTuning {
    /// [`JvmTuning::from_env`].
    fn default() -> Self {
        Self::from_env()
    }
}

impl JvmTuning {
    /// On, unless [`TUNING_ENV`] says `off`; archives in [`dist::cds_dir`].
    pub fn from_env() -> Self {
        let off = std::env::var(TUNING_ENV).is_ok_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "off" | "0" | "false" | "no"
            )
        });
        Self {
            enabled: !off,
            archive_dir: dist::cds_dir(),
        }
    }

    /// Plain JVMs: no archive, the configured JIT.
    pub fn off() -> Self {
        Self {
            enabled: false,
            archive_dir: dist::cds_dir(),
        }
    }

    /// Tuning on, archives kept in `dir`.
    pub fn with_archive_dir(dir: impl Into<PathBuf>) -> Self {
        Self {
            enabled: true,
            archive_dir: dir.into(),
        }
    }
}

/// The jars one kind of JVM runs with: one archive each.
#[derive(Debug, Clone)]
pub(crate) struct JarSet {
    /// `kafka` or `registry`: the archive's file name prefix.
    name: &'static str,
    /// The `-cp` value of a JVM of this set (the archive records it).
    classpath: String,
    /// Every jar, sorted.
    jars: Vec<PathBuf>,
}

impl JarSet {
    /// `libs/*` of Kafka: nodes and the storage tool.
    pub(crate) fn kafka(kafka: &KafkaDist) -> Self {
        Self {
            name: "kafka",
            classpath: kafka.classpath(),
            jars: list_jars(&kafka.libs),
        }
    }

    /// The Kafka jars as the Connect worker runs them: its own archive, as
    /// it loads other classes than a node.
    pub(crate) fn connect(kafka: &KafkaDist) -> Self {
        Self {
            name: "connect",
            ..Self::kafka(kafka)
        }
    }

    /// The Kafka 3.9 jars as the ZooKeeper nodes run them (ZooKeeper mode):
    /// their own archive, as they load other classes than a broker.
    pub(crate) fn zookeeper(kafka: &KafkaDist) -> Self {
        Self {
            name: "zookeeper",
            ..Self::kafka(kafka)
        }
    }

    /// The registry's runner jar and the `lib/` its manifest names.
    pub(crate) fn registry(registry: &RegistryDist) -> Self {
        let runner = registry.runner_jar();
        let mut jars = list_jars(&registry.home.join("lib"));
        jars.push(runner.clone());
        Self {
            name: "registry",
            classpath: runner.display().to_string(),
            jars,
        }
    }
}

/// The `*.jar` files directly in `dir`, sorted (none if it cannot be read:
/// the key then changes when it can, and the JVM checks the jars anyway).
fn list_jars(dir: &Path) -> Vec<PathBuf> {
    let mut jars: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "jar"))
                .collect()
        })
        .unwrap_or_default();
    jars.sort();
    jars
}

/// Size and mtime (ns since the epoch) of `path`, if it exists.
fn size_and_mtime(path: &Path) -> Option<(u64, u128)> {
    let meta = std::fs::metadata(path).ok()?;
    let mtime = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    Some((meta.len(), mtime.as_nanos()))
}

/// The archive key of `jars` run by `java` with compressed oops or not:
/// 32 hex digits of a SHA-256 over the version text, the `java` path, the
/// heap mode and every jar's file name, size and mtime in name order.
pub(crate) fn archive_key(java: &Java, compressed_oops: bool, jars: &[PathBuf]) -> String {
    let mut named: Vec<(String, Option<(u64, u128)>)> = jars
        .iter()
        .map(|j| {
            let name = j.file_name().unwrap_or_default().to_string_lossy();
            (name.into_owned(), size_and_mtime(j))
        })
        .collect();
    named.sort();
    let mut h = Sha256::new();
    h.update(java.version.as_bytes());
    h.update([0]);
    h.update(java.path.as_os_str().as_encoded_bytes());
    h.update([0, u8::from(compressed_oops)]);
    for (name, stat) in named {
        let stat = stat.map_or_else(|| "missing".to_string(), |(s, m)| format!("{s}:{m}"));
        h.update(format!("{name}\0{stat}\0").as_bytes());
    }
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `-Xmx` flag in `flags` (the last one), if any.
fn max_heap_flag(flags: &str) -> Option<&str> {
    flags.split_whitespace().rfind(|f| f.starts_with("-Xmx"))
}

/// Whether a JVM with these flags uses compressed oops (heaps below 32 GiB,
/// unless turned off): archives of one mode cannot be used in the other.
pub(crate) fn compressed_oops(flags: &str) -> bool {
    if flags
        .split_whitespace()
        .any(|f| f == "-XX:-UseCompressedOops")
    {
        return false;
    }
    let Some(value) = max_heap_flag(flags).map(|f| f["-Xmx".len()..].to_ascii_lowercase()) else {
        return true;
    };
    let (digits, unit) = value.split_at(
        value
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(value.len()),
    );
    let Ok(n) = digits.parse::<u64>() else {
        return true;
    };
    let bytes = match unit {
        "" => n,
        "k" => n << 10,
        "m" => n << 20,
        "g" => n << 30,
        "t" => n << 40,
        _ => return true,
    };
    bytes < 32 << 30
}

/// Whether configured JVM flags already decide class-data sharing (then
/// the nodes get no archive flags of ours).
pub(crate) fn sets_sharing(flags: &str) -> bool {
    [
        "-Xshare:",
        "SharedArchiveFile",
        "ArchiveClassesAtExit",
        "AOTCache",
    ]
    .iter()
    .any(|f| flags.contains(f))
}

/// Whether configured JVM flags already choose the JIT tiers (then the
/// development profile does not add C1-only).
pub(crate) fn sets_jit(flags: &str) -> bool {
    flags.contains("TieredStopAtLevel") || flags.contains("TieredCompilation")
}

/// What the JVMs of one jar set do about class-data sharing in one start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sharing {
    /// No archive: tuning off, or none usable and none to build now.
    None,
    /// Map this checked archive.
    Use(PathBuf),
    /// No archive yet: the first JVM of the set writes one to this partial
    /// file when it exits.
    Build(PathBuf),
}

/// What an archive check found wrong.
type Why = String;

/// Checks `archive` with a short JVM run that must map it (`-Xshare:on`)
/// and verify the CRC of every region; the class path and jar mtimes are
/// checked by the JVM too.
fn verify(java: &Java, set: &JarSet, heap: &str, archive: &Path) -> Result<(), Why> {
    let out = Command::new(&java.path)
        .arg(heap)
        .args([
            "-Xshare:on",
            "-XX:+VerifySharedSpaces",
            "-XX:ErrorFile=/dev/null",
        ])
        .arg(format!("-XX:SharedArchiveFile={}", archive.display()))
        .args(["-cp", &set.classpath, "-version"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", java.path.display()))?;
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    if out.status.success() && text.contains("sharing") {
        Ok(())
    } else {
        let first = text
            .lines()
            .find(|l| !l.trim().is_empty() && !l.starts_with('#'));
        Err(format!(
            "java -Xshare:on -version with it: {}{}",
            out.status,
            first.map(|l| format!(", {l}")).unwrap_or_default()
        ))
    }
}

fn stamp_path(archive: &Path) -> PathBuf {
    let mut name = archive.as_os_str().to_os_string();
    name.push(".ok");
    PathBuf::from(name)
}

fn stamp_text(archive: &Path) -> Option<String> {
    size_and_mtime(archive).map(|(s, m)| format!("{s} {m}\n"))
}

/// Whether `archive` was checked and has not changed since.
fn stamp_matches(archive: &Path) -> bool {
    match (
        stamp_text(archive),
        std::fs::read_to_string(stamp_path(archive)),
    ) {
        (Some(now), Ok(then)) => now == then,
        _ => false,
    }
}

fn write_stamp(archive: &Path) {
    if let Some(text) = stamp_text(archive) {
        // Best effort: without the stamp the next start checks again.
        let _ = std::fs::write(stamp_path(archive), text);
    }
}

fn remove_archive(archive: &Path) {
    let _ = std::fs::remove_file(archive);
    let _ = std::fs::remove_file(stamp_path(archive));
}

/// Partial archives of `stem` in `dir`, sorted.
fn partials(dir: &Path, stem: &str) -> Vec<PathBuf> {
    let prefix = format!("{stem}.jsa.");
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.starts_with(&prefix) && n.ends_with(".partial")
                })
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// A running process whose command line contains `needle` (the JVM that
/// will write a partial archive at exit).
fn running_writer(needle: &str) -> Option<u32> {
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|e| e.ok())
        .find_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let raw = std::fs::read(e.path().join("cmdline")).ok()?;
            String::from_utf8_lossy(&raw)
                .contains(needle)
                .then_some(pid)
        })
}

/// Decides the sharing of one jar set for a start: the checked archive, an
/// unfinished one promoted, or a build; every fallback is noted.
pub(crate) fn prepare(
    tuning: &JvmTuning,
    java: &Java,
    set: &JarSet,
    heap: &str,
    progress: &dyn Progress,
) -> Sharing {
    if !tuning.enabled {
        return Sharing::None;
    }
    let note = |message: String| progress.report(ProgressEvent::Note { message });
    let dir = &tuning.archive_dir;
    if let Err(e) = std::fs::create_dir_all(dir) {
        note(format!(
            "no class-data archive for the {} JVMs: cannot create {}: {e}",
            set.name,
            dir.display()
        ));
        return Sharing::None;
    }
    let stem = format!(
        "{}-{}",
        set.name,
        archive_key(java, compressed_oops(heap), &set.jars)
    );
    let archive = dir.join(format!("{stem}.jsa"));
    let mut usable = false;
    if archive.exists() {
        if stamp_matches(&archive) {
            usable = true;
        } else {
            match verify(java, set, heap, &archive) {
                Ok(()) => {
                    write_stamp(&archive);
                    usable = true;
                }
                Err(why) => {
                    remove_archive(&archive);
                    note(format!(
                        "the class-data archive {} is unusable ({why}): removed; the {} JVMs start without one and a new one is built",
                        archive.display(),
                        set.name
                    ));
                }
            }
        }
    }
    for partial in partials(dir, &stem) {
        if running_writer(&partial.display().to_string()).is_some() {
            continue;
        }
        if usable {
            let _ = std::fs::remove_file(&partial);
            continue;
        }
        match verify(java, set, heap, &partial) {
            Ok(()) => match std::fs::rename(&partial, &archive) {
                Ok(()) => {
                    write_stamp(&archive);
                    usable = true;
                    note(format!(
                        "class-data archive {} built; the {} JVMs use it from now on",
                        archive.display(),
                        set.name
                    ));
                }
                Err(e) => note(format!(
                    "cannot rename {} to {}: {e}",
                    partial.display(),
                    archive.display()
                )),
            },
            Err(why) => {
                let _ = std::fs::remove_file(&partial);
                note(format!(
                    "discarded the unfinished class-data archive {} ({why})",
                    partial.display()
                ));
            }
        }
    }
    if usable {
        return Sharing::Use(archive);
    }
    let building = format!("{}.jsa.", dir.join(&stem).display());
    if let Some(pid) = running_writer(&format!("-XX:ArchiveClassesAtExit={building}")) {
        note(format!(
            "the {} JVMs start without a class-data archive: pid {pid} writes one when it exits",
            set.name
        ));
        return Sharing::None;
    }
    let nonce = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    Sharing::Build(PathBuf::from(format!(
        "{building}{}-{nonce}.partial",
        std::process::id()
    )))
}

/// The tuning flags of the JVMs of one start.
#[derive(Debug, Clone)]
pub(crate) struct StartFlags {
    c1: bool,
    kafka: Sharing,
    /// Whether the nodes' heap mode is the storage tool's (then it shares
    /// the nodes' archive).
    tool_shares: bool,
    registry: Sharing,
}

impl StartFlags {
    /// Decides archives for the Kafka jars when nodes start (`kafka`) and
    /// the registry's when it starts.
    pub(crate) fn prepare(
        tuning: &JvmTuning,
        config: &ClusterConfig,
        java: &Java,
        kafka: Option<&KafkaDist>,
        registry: Option<(&RegistryDist, &str)>,
        progress: &dyn Progress,
    ) -> Self {
        let heap = config.heap_flags();
        let node_heap = max_heap_flag(&heap).unwrap_or("-Xmx1g");
        let own = &config.jvm_performance_opts;
        let kafka_sharing = match kafka {
            Some(k) if !sets_sharing(own) => {
                prepare(tuning, java, &JarSet::kafka(k), node_heap, progress)
            }
            _ => Sharing::None,
        };
        let registry = registry.map_or(Sharing::None, |(r, heap)| {
            prepare(tuning, java, &JarSet::registry(r), heap, progress)
        });
        if let Sharing::Build(p) = &kafka_sharing {
            progress.report(ProgressEvent::Note {
                message: format!(
                    "no class-data archive for the Kafka jars yet: the first node started writes {} when it stops; later starts use it",
                    p.display()
                ),
            });
        }
        Self {
            c1: tuning.enabled && config.environment == Environment::Development && !sets_jit(own),
            kafka: kafka_sharing,
            tool_shares: compressed_oops(&heap) == compressed_oops(TOOL_HEAP),
            registry,
        }
    }

    fn jit(&self) -> Vec<String> {
        if self.c1 {
            vec!["-XX:TieredStopAtLevel=1".into()]
        } else {
            Vec::new()
        }
    }

    /// Flags of a Kafka node (the first node of a start that builds the
    /// archive gets the build flag).
    pub(crate) fn node(&mut self) -> Vec<String> {
        let mut flags = take_sharing(&mut self.kafka);
        flags.extend(self.jit());
        flags
    }

    /// Flags of the storage-format tool: it maps the nodes' archive, never
    /// builds one (it loads a fraction of a node's classes).
    pub(crate) fn storage_tool(&self) -> Vec<String> {
        let mut flags = match &self.kafka {
            Sharing::Use(p) if self.tool_shares => use_flags(p),
            _ => Vec::new(),
        };
        flags.extend(self.jit());
        flags
    }

    /// Flags of the registry JVM.
    pub(crate) fn registry(&mut self) -> Vec<String> {
        let mut flags = take_sharing(&mut self.registry);
        flags.extend(self.jit());
        flags
    }
}

/// The tuning flags of a service JVM that starts on its own (the Connect
/// worker): its jar set's archive (mapped, or written when it exits) and,
/// in development, C1 only; like the nodes, flags of the user's own decide.
pub(crate) fn service_flags(
    tuning: &JvmTuning,
    config: &ClusterConfig,
    java: &Java,
    set: &JarSet,
    heap: &str,
    progress: &dyn Progress,
) -> Vec<String> {
    let own = &config.jvm_performance_opts;
    let mut flags = if sets_sharing(own) {
        Vec::new()
    } else {
        take_sharing(&mut prepare(tuning, java, set, heap, progress))
    };
    if tuning.enabled && config.environment == Environment::Development && !sets_jit(own) {
        flags.push("-XX:TieredStopAtLevel=1".into());
    }
    flags
}

fn use_flags(archive: &Path) -> Vec<String> {
    vec![
        "-Xshare:auto".into(),
        format!("-XX:SharedArchiveFile={}", archive.display()),
    ]
}

/// The sharing flags of the next JVM of a set; a build is handed out once.
fn take_sharing(sharing: &mut Sharing) -> Vec<String> {
    match sharing {
        Sharing::Use(p) => use_flags(p),
        Sharing::Build(p) => {
            let flags = vec![
                format!("-XX:ArchiveClassesAtExit={}", p.display()),
                // The dump lists every class it skips as a warning.
                "-Xlog:cds=error".into(),
            ];
            *sharing = Sharing::None;
            flags
        }
        Sharing::None => Vec::new(),
    }
}

#[cfg(test)]
#[path = "jvm_tests.rs"]
mod tests;
