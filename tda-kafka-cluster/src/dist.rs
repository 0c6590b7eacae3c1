//! The distributions the local provider runs: Apache Kafka and Apicurio
//! Registry, fetched once with the machine's Maven into a user cache
//! directory, and the Java runtime that runs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tda_kafka_config::MetadataMode;

use crate::{ClusterError, Progress, ProgressEvent, Result, Step};

/// The pinned Kafka version as a literal, for `concat!` (the local image tags).
macro_rules! kafka_version {
    () => {
        "4.4.0"
    };
}
pub(crate) use kafka_version;

/// The pinned Kafka version: the newest release served by Maven Central here,
/// KRaft-only, and it runs on Java 17. The local provider's distribution and
/// the local Docker images both use it.
pub const KAFKA_VERSION: &str = kafka_version!();
/// The pinned Apicurio Registry version: the newest line that runs on Java 17
/// (3.3.x needs Java 21).
pub const REGISTRY_VERSION: &str = "3.0.9";
/// Apicurio settings every registry of ours runs with, as (property, value):
/// the Confluent API lists every subject (Apicurio's default,
/// `apicurio.ccompat.max-subjects=1000`, cuts `GET /subjects` off silently).
pub const REGISTRY_SETTINGS: &[(&str, &str)] = &[("apicurio.ccompat.max-subjects", "1000000")];

/// [`REGISTRY_SETTINGS`] as JVM system properties (`-Dkey=value`).
pub fn registry_properties() -> impl Iterator<Item = String> {
    REGISTRY_SETTINGS.iter().map(|(k, v)| format!("-D{k}={v}"))
}

/// [`REGISTRY_SETTINGS`] as the environment variables Quarkus reads for them
/// (upper case, `.` and `-` as `_`).
pub fn registry_env() -> impl Iterator<Item = (String, String)> {
    REGISTRY_SETTINGS.iter().map(|(k, v)| {
        let name = k.to_ascii_uppercase().replace(['.', '-'], "_");
        (name, (*v).to_owned())
    })
}
/// The connect-file (FileStream connectors) version loaded as a plugin by
/// the Connect worker: Maven Central here serves 4.3.1, not 4.4.0.
pub const CONNECT_FILE_VERSION: &str = "4.3.1";
/// The ZooKeeper-mode Kafka version as a literal, for `concat!` (the local
/// ZooKeeper-mode image tag).
macro_rules! zookeeper_kafka_version {
    () => {
        "3.9.1"
    };
}
pub(crate) use zookeeper_kafka_version;

/// The Kafka version of ZooKeeper mode: 3.9 is the last line that runs on
/// ZooKeeper (4.x is KRaft-only).
pub const ZOOKEEPER_KAFKA_VERSION: &str = zookeeper_kafka_version!();
/// The ZooKeeper version of ZooKeeper mode: the one Kafka 3.9 is built against.
pub const ZOOKEEPER_VERSION: &str = "3.8.4";
/// The minimum Java major version (Kafka 4.x brokers need 17).
pub const MIN_JAVA: u32 = 17;

const KAFKA_POM: &str = include_str!("../maven/kafka-dist.pom");
const KAFKA_ZOOKEEPER_POM: &str = include_str!("../maven/kafka-zookeeper-dist.pom");
const REGISTRY_POM: &str = include_str!("../maven/registry-dist.pom");
const CONNECT_PLUGINS_POM: &str = include_str!("../maven/connect-plugins.pom");
const MARKER: &str = ".tda-kafka-complete";

/// The user cache directory: `$XDG_CACHE_HOME/tda-kafka` or `~/.cache/tda-kafka`.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("tda-kafka");
    }
    home_dir().join(".cache").join("tda-kafka")
}

/// Where the class-data sharing archives of the local stack's JVMs live:
/// `<cache root>/cds`, next to the distributions they are built from.
pub fn cds_dir() -> PathBuf {
    cache_root().join("cds")
}

/// The user data directory: `$XDG_DATA_HOME/tda-kafka` or `~/.local/share/tda-kafka`.
pub fn data_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("tda-kafka");
    }
    home_dir().join(".local").join("share").join("tda-kafka")
}

fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"))
}

/// A Java runtime that was checked to be recent enough.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Java {
    /// The `java` executable.
    pub path: PathBuf,
    /// Its major version.
    pub major: u32,
    /// What `java -version` printed (trimmed): it names the exact build, so
    /// class-data archives are keyed on it.
    pub version: String,
}

impl Java {
    /// Finds `java` (in `$JAVA_HOME/bin`, else on the `PATH`) and checks that
    /// `java -version` reports at least [`MIN_JAVA`].
    pub fn detect() -> Result<Self> {
        let path = match std::env::var_os("JAVA_HOME").filter(|h| !h.is_empty()) {
            Some(home) if Path::new(&home).join("bin/java").is_file() => {
                Path::new(&home).join("bin/java")
            }
            _ => which("java").ok_or_else(|| ClusterError::JavaMissing {
                searched: format!(
                    "JAVA_HOME is {}, PATH={}",
                    std::env::var("JAVA_HOME").unwrap_or_else(|_| "unset".into()),
                    std::env::var("PATH").unwrap_or_default()
                ),
            })?,
        };
        let out = Command::new(&path)
            .arg("-version")
            .stdin(Stdio::null())
            .output()
            .map_err(|source| ClusterError::Spawn {
                program: path.display().to_string(),
                source,
            })?;
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        let line = text.lines().next().unwrap_or_default().to_owned();
        let major = parse_java_major(&text).unwrap_or(0);
        if major < MIN_JAVA {
            return Err(ClusterError::JavaTooOld {
                java: path,
                found: major,
                required: MIN_JAVA,
                version_line: line,
            });
        }
        Ok(Self {
            path,
            major,
            version: text.trim().to_owned(),
        })
    }
}

/// Parses the major version from `java -version` output
/// (`openjdk version "17.0.15"`, `java version "1.8.0_392"`).
pub fn parse_java_major(text: &str) -> Option<u32> {
    let start = text.find("version \"")? + "version \"".len();
    let rest = &text[start..];
    let version = &rest[..rest.find('"')?];
    let mut parts = version.split(['.', '-', '+', '_']);
    let first: u32 = parts.next()?.parse().ok()?;
    if first == 1 {
        parts.next()?.parse().ok()
    } else {
        Some(first)
    }
}

/// Finds `program` on the `PATH`.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// The Kafka jars: a classpath directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaDist {
    /// Directory holding all jars (`libs/`).
    pub libs: PathBuf,
    /// Whether it comes from `KAFKA_HOME`.
    pub from_kafka_home: bool,
}

impl KafkaDist {
    /// The `-cp` argument.
    pub fn classpath(&self) -> String {
        format!("{}/*", self.libs.display())
    }

    /// Uses `$KAFKA_HOME/libs` when `KAFKA_HOME` is set, else the cached
    /// Maven copy (fetching it first when missing or when `refetch`).
    pub fn resolve(refetch: bool, progress: &dyn Progress) -> Result<Self> {
        if let Some(home) = std::env::var_os("KAFKA_HOME").filter(|h| !h.is_empty()) {
            let home = PathBuf::from(home);
            let libs = home.join("libs");
            let has_kafka = std::fs::read_dir(&libs)
                .map_err(|e| ClusterError::InvalidKafkaHome {
                    path: home.clone(),
                    reason: format!("cannot read {}: {e}", libs.display()),
                })?
                .filter_map(|e| e.ok())
                .any(|e| e.file_name().to_string_lossy().starts_with("kafka_2.13-"));
            if !has_kafka {
                return Err(ClusterError::InvalidKafkaHome {
                    path: home,
                    reason: "libs/ has no kafka_2.13-*.jar".into(),
                });
            }
            return Ok(Self {
                libs,
                from_kafka_home: true,
            });
        }
        Self::fetched(
            &format!("kafka-{KAFKA_VERSION}"),
            &format!("Apache Kafka {KAFKA_VERSION}"),
            KAFKA_POM,
            refetch,
            progress,
        )
    }

    /// The jars of `mode`: [`KafkaDist::resolve`] for KRaft; for ZooKeeper
    /// mode Kafka [`ZOOKEEPER_KAFKA_VERSION`] with ZooKeeper
    /// [`ZOOKEEPER_VERSION`] on one classpath, cached like the KRaft jars
    /// (a `KAFKA_HOME` is used only when its `libs/` has a ZooKeeper jar).
    pub fn resolve_for(mode: MetadataMode, refetch: bool, progress: &dyn Progress) -> Result<Self> {
        if mode == MetadataMode::Kraft {
            return Self::resolve(refetch, progress);
        }
        if let Some(home) = std::env::var_os("KAFKA_HOME").filter(|h| !h.is_empty()) {
            let home = PathBuf::from(home);
            let libs = home.join("libs");
            let names: Vec<String> = std::fs::read_dir(&libs)
                .map_err(|e| ClusterError::InvalidKafkaHome {
                    path: home.clone(),
                    reason: format!("cannot read {}: {e}", libs.display()),
                })?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            let has = |prefix: &str| names.iter().any(|n| n.starts_with(prefix));
            if !(has("kafka_2.13-3.") && has("zookeeper-3.")) {
                return Err(ClusterError::InvalidKafkaHome {
                    path: home,
                    reason: format!(
                        "ZooKeeper mode needs Kafka 3.x with its ZooKeeper jars (libs/kafka_2.13-3.*.jar and libs/zookeeper-3.*.jar); \
                         unset KAFKA_HOME to use Kafka {ZOOKEEPER_KAFKA_VERSION} fetched from Maven Central"
                    ),
                });
            }
            return Ok(Self {
                libs,
                from_kafka_home: true,
            });
        }
        Self::fetched(
            &format!("kafka-zookeeper-{ZOOKEEPER_KAFKA_VERSION}"),
            &format!("Apache Kafka {ZOOKEEPER_KAFKA_VERSION} with ZooKeeper {ZOOKEEPER_VERSION}"),
            KAFKA_ZOOKEEPER_POM,
            refetch,
            progress,
        )
    }

    /// The cached jars of `pom` in `<cache root>/<name>/libs`, fetched first
    /// when missing or when `refetch`.
    fn fetched(
        name: &str,
        artifact: &str,
        pom: &str,
        refetch: bool,
        progress: &dyn Progress,
    ) -> Result<Self> {
        let dir = cache_root().join(name);
        let libs = dir.join("libs");
        if refetch || !dir.join(MARKER).is_file() {
            let staging = staging_dir(&dir);
            let fetched = fetch(
                artifact,
                &staging,
                pom,
                "dependency:copy-dependencies",
                "libs",
                progress,
            )
            .and_then(|()| install(&staging, &dir));
            discard_on_error(fetched, &staging)?;
        }
        Ok(Self {
            libs,
            from_kafka_home: false,
        })
    }
}

/// The Kafka version a cluster of `mode` runs.
pub fn kafka_version_for(mode: MetadataMode) -> &'static str {
    match mode {
        MetadataMode::Kraft => KAFKA_VERSION,
        MetadataMode::Zookeeper => ZOOKEEPER_KAFKA_VERSION,
    }
}

/// The Apicurio Registry runner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryDist {
    /// The unpacked directory holding the runner jar and `lib/`.
    pub home: PathBuf,
}

impl RegistryDist {
    /// The runnable jar.
    pub fn runner_jar(&self) -> PathBuf {
        self.home.join(format!(
            "apicurio-registry-app-{REGISTRY_VERSION}-runner.jar"
        ))
    }

    /// The cached copy, fetched and unpacked first when missing or when `refetch`.
    pub fn resolve(refetch: bool, progress: &dyn Progress) -> Result<Self> {
        let dir = cache_root().join(format!("apicurio-registry-{REGISTRY_VERSION}"));
        let artifact = format!("Apicurio Registry {REGISTRY_VERSION}");
        if refetch || !dir.join(MARKER).is_file() {
            let staging = staging_dir(&dir);
            let fetched = fetch(
                &artifact,
                &staging,
                REGISTRY_POM,
                "dependency:copy",
                "download",
                progress,
            )
            .and_then(|()| unpack_registry(&staging, &artifact))
            .and_then(|()| {
                let jar = Self {
                    home: staging.clone(),
                }
                .runner_jar();
                if jar.is_file() {
                    Ok(())
                } else {
                    Err(ClusterError::FetchFailed {
                        artifact: artifact.clone(),
                        command: "tar -xzf".into(),
                        status: "no runner jar in the tarball".into(),
                        output_tail: format!("{} is missing", jar.display()),
                    })
                }
            })
            .and_then(|()| install(&staging, &dir));
            discard_on_error(fetched, &staging)?;
        }
        let dist = Self { home: dir };
        let jar = dist.runner_jar();
        if !jar.is_file() {
            return Err(ClusterError::FetchFailed {
                artifact,
                command: "unpack".into(),
                status: "no runner jar".into(),
                output_tail: format!(
                    "{} is missing; fetching again replaces the cached copy",
                    jar.display()
                ),
            });
        }
        Ok(dist)
    }
}

/// The Kafka Connect plugins of the stack (one directory per plugin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectPlugins {
    /// The directory holding one directory per plugin (`connect-file/`).
    pub dir: PathBuf,
}

impl ConnectPlugins {
    /// The cached copy, fetched first when missing or when `refetch`.
    pub fn resolve(refetch: bool, progress: &dyn Progress) -> Result<Self> {
        let dir = cache_root().join(format!("connect-file-{CONNECT_FILE_VERSION}"));
        let artifact = format!("Kafka Connect FileStream connectors {CONNECT_FILE_VERSION}");
        if refetch || !dir.join(MARKER).is_file() {
            let staging = staging_dir(&dir);
            let fetched = fetch(
                &artifact,
                &staging,
                CONNECT_PLUGINS_POM,
                "dependency:copy",
                "connect-file",
                progress,
            )
            .and_then(|()| install(&staging, &dir));
            discard_on_error(fetched, &staging)?;
        }
        Ok(Self { dir })
    }

    /// The plugin directories (`<dir>/connect-file`, ...), sorted.
    pub fn plugins(&self) -> Result<Vec<PathBuf>> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map_err(ClusterError::io("cannot read", &self.dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        found.sort();
        Ok(found)
    }
}

fn unpack_registry(dir: &Path, artifact: &str) -> Result<()> {
    let download = dir.join("download");
    let tarball = std::fs::read_dir(&download)
        .map_err(ClusterError::io("cannot read", &download))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .ok_or_else(|| ClusterError::FetchFailed {
            artifact: artifact.into(),
            command: "mvn dependency:copy".into(),
            status: "no tarball".into(),
            output_tail: format!("no .tar.gz in {}", download.display()),
        })?;
    let out = Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| ClusterError::Spawn {
            program: "tar".into(),
            source,
        })?;
    if !out.status.success() {
        return Err(ClusterError::FetchFailed {
            artifact: artifact.into(),
            command: format!("tar -xzf {}", tarball.display()),
            status: out.status.to_string(),
            output_tail: tail_lines(&String::from_utf8_lossy(&out.stderr), 20),
        });
    }
    std::fs::remove_dir_all(&download).map_err(ClusterError::io("cannot remove", &download))?;
    Ok(())
}

/// A private directory next to `dir` to fetch into, so that a failed or
/// concurrent fetch never leaves a half-filled cache behind.
fn staging_dir(dir: &Path) -> PathBuf {
    let name = dir.file_name().unwrap_or_default().to_string_lossy();
    dir.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

fn discard_on_error(result: Result<()>, staging: &Path) -> Result<()> {
    if result.is_err() && staging.exists() {
        // Best effort: the error that matters is the fetch's.
        let _ = std::fs::remove_dir_all(staging);
    }
    result
}

/// Marks `staging` complete and moves it to `dir` (replacing an old copy).
fn install(staging: &Path, dir: &Path) -> Result<()> {
    write_marker(staging)?;
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(ClusterError::io("cannot replace", dir))?;
    }
    std::fs::rename(staging, dir).map_err(ClusterError::io("cannot move the fetched files to", dir))
}

fn write_marker(dir: &Path) -> Result<()> {
    let marker = dir.join(MARKER);
    std::fs::write(&marker, "fetched by tda-kafka\n")
        .map_err(ClusterError::io("cannot write", &marker))
}

/// Runs `mvn <goal>` on `pom` with the output going to `dir/<subdir>`.
fn fetch(
    artifact: &str,
    dir: &Path,
    pom: &str,
    goal: &str,
    subdir: &str,
    progress: &dyn Progress,
) -> Result<()> {
    let step = Step::Fetch {
        artifact: artifact.into(),
    };
    progress.report(ProgressEvent::Started { step: step.clone() });
    let mvn = which("mvn").ok_or_else(|| ClusterError::MavenMissing {
        artifact: artifact.into(),
    })?;
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(ClusterError::io("cannot clear", dir))?;
    }
    std::fs::create_dir_all(dir).map_err(ClusterError::io("cannot create", dir))?;
    let pom_path = dir.join("pom.xml");
    std::fs::write(&pom_path, pom).map_err(ClusterError::io("cannot write", &pom_path))?;
    let out_dir = dir.join(subdir);
    let mut cmd = Command::new(&mvn);
    cmd.arg("-B")
        .arg("-f")
        .arg(&pom_path)
        .arg(goal)
        .arg(format!("-DoutputDirectory={}", out_dir.display()))
        .arg("-Dstyle.color=never")
        .current_dir(dir)
        .stdin(Stdio::null());
    let command = format!(
        "mvn -B -f {} {goal} -DoutputDirectory={}",
        pom_path.display(),
        out_dir.display()
    );
    let started = std::time::Instant::now();
    let out = cmd.output().map_err(|source| ClusterError::Spawn {
        program: mvn.display().to_string(),
        source,
    })?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        return Err(ClusterError::FetchFailed {
            artifact: artifact.into(),
            command,
            status: out.status.to_string(),
            output_tail: tail_lines(&strip_ansi(&text), 25),
        });
    }
    progress.report(ProgressEvent::Finished {
        step,
        detail: format!(
            "into {} in {:.1} s",
            dir.display(),
            started.elapsed().as_secs_f64()
        ),
    });
    Ok(())
}

/// The last `n` non-empty lines of `text`.
pub(crate) fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_versions_parse() {
        assert_eq!(
            parse_java_major("openjdk version \"17.0.15\" 2025-04-15\nOpenJDK Runtime"),
            Some(17)
        );
        assert_eq!(parse_java_major("java version \"1.8.0_392\""), Some(8));
        assert_eq!(
            parse_java_major("openjdk version \"21\" 2023-09-19"),
            Some(21)
        );
        assert_eq!(parse_java_major("openjdk version \"22-ea\""), Some(22));
        assert_eq!(parse_java_major("no version here"), None);
    }

    #[test]
    fn tails_and_ansi() {
        assert_eq!(tail_lines("a\n\nb\nc\n", 2), "b\nc");
        assert_eq!(strip_ansi("\u{1b}[1;31mERROR\u{1b}[m x"), "ERROR x");
    }

    #[test]
    fn poms_pin_the_versions() {
        assert!(KAFKA_POM.contains("<artifactId>kafka_2.13</artifactId>"));
        assert!(KAFKA_POM.contains(&format!("<version>{KAFKA_VERSION}</version>")));
        assert!(KAFKA_POM.contains("log4j-slf4j-impl"));
        assert!(REGISTRY_POM.contains(&format!("<version>{REGISTRY_VERSION}</version>")));
        for pinned in [ZOOKEEPER_KAFKA_VERSION, ZOOKEEPER_VERSION] {
            assert!(KAFKA_ZOOKEEPER_POM.contains(&format!("<version>{pinned}</version>")));
        }
        for jar in [
            "metrics-core",
            "snappy-java",
            "slf4j-reload4j",
            "<artifactId>zookeeper</artifactId>",
        ] {
            assert!(KAFKA_ZOOKEEPER_POM.contains(jar), "{jar}");
        }
    }
}
