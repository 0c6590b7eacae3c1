//! The local provider: N KRaft nodes as JVM processes on this machine, plus
//! the Apicurio schema registry, all under one data directory:
//!
//! ```text
//! <data dir>/
//!   cluster.json          the cluster id, broker count and ports (written at start)
//!   log4j2.properties     logging of every JVM of this cluster
//!   node-<id>/            server.properties, data/ (KRaft storage), kafka.log, kafka.pid
//!   registry/             registry.log, registry.pid, db/ (the registry's H2 database)
//! ```

mod process;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde::{Deserialize, Serialize};
use tda_kafka_config::ClusterConfig;
use tokio_util::sync::CancellationToken;

use crate::dist::{self, Java, KafkaDist, RegistryDist};
use crate::ready::{probe, probe_registry};
use crate::{
    ClusterError, ClusterProvider, ClusterState, ClusterStatus, Endpoints, NodeStatus,
    ProcessState, Progress, ProgressEvent, Result, ServiceEndpoint, ServiceStatus, StartOptions,
    StartReport, Step, StopMode, StopOptions, StopOutcome, StopReport,
};
use process::PidCheck;

const STATE_FILE: &str = "cluster.json";
const LOG4J_FILE: &str = "log4j2.properties";
/// The Confluent-compatible API of Apicurio Registry.
pub const REGISTRY_API: &str = "/apis/ccompat/v7";
/// Heap of the registry JVM.
const REGISTRY_HEAP: &str = "-Xmx512m";

const LOG4J2: &str = "\
# Written by tda-kafka for every JVM of this cluster; output goes to the node's log file.
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRefs = out
rootLogger.appenderRef.out.ref = OUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
";

/// What `start` records about the cluster in the data directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stored {
    cluster_id: String,
    kafka_version: String,
    broker_count: u16,
    host: String,
    kafka_base_port: u16,
    controller_base_port: u16,
    jmx_base_port: u16,
    registry_port: Option<u16>,
}

impl Stored {
    fn new(config: &ClusterConfig, cluster_id: String, registry_port: Option<u16>) -> Self {
        let n = &config.network;
        Self {
            cluster_id,
            kafka_version: dist::KAFKA_VERSION.into(),
            broker_count: config.broker_count,
            host: n.host.clone(),
            kafka_base_port: n.kafka_base_port,
            controller_base_port: n.controller_base_port,
            jmx_base_port: n.jmx_base_port,
            registry_port,
        }
    }

    /// The parts that must not change while data exists (the KRaft quorum
    /// and the advertised addresses are stored in the logs).
    fn topology(&self) -> (u16, &str, u16, u16) {
        (
            self.broker_count,
            &self.host,
            self.kafka_base_port,
            self.controller_base_port,
        )
    }

    fn kafka_port(&self, id: u16) -> u16 {
        self.kafka_base_port + id - 1
    }

    fn controller_port(&self, id: u16) -> u16 {
        self.controller_base_port + id - 1
    }

    fn bootstrap(&self) -> String {
        (1..=self.broker_count)
            .map(|id| format!("{}:{}", self.host, self.kafka_port(id)))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Runs the cluster as local JVM processes under one data directory.
#[derive(Debug, Clone)]
pub struct LocalProvider {
    data_dir: PathBuf,
}

/// A process this `start` call launched (stopped again if the start fails).
#[derive(Debug, Clone)]
struct Launched {
    name: String,
    pid: u32,
    log: PathBuf,
}

impl LocalProvider {
    /// A provider keeping everything under `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
        }
    }

    /// `$XDG_DATA_HOME/tda-kafka/clusters/default` (or `~/.local/share/...`).
    pub fn default_data_dir() -> PathBuf {
        dist::data_root().join("clusters").join("default")
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    fn node_dir(&self, id: u16) -> PathBuf {
        self.data_dir.join(format!("node-{id}"))
    }

    fn node_props(&self, id: u16) -> PathBuf {
        self.node_dir(id).join("server.properties")
    }

    fn node_pid(&self, id: u16) -> PathBuf {
        self.node_dir(id).join("kafka.pid")
    }

    /// The log file of node `id`.
    pub fn node_log(&self, id: u16) -> PathBuf {
        self.node_dir(id).join("kafka.log")
    }

    fn registry_dir(&self) -> PathBuf {
        self.data_dir.join("registry")
    }

    fn registry_pid(&self) -> PathBuf {
        self.registry_dir().join("registry.pid")
    }

    /// The log file of the schema registry.
    pub fn registry_log(&self) -> PathBuf {
        self.registry_dir().join("registry.log")
    }

    /// A string only the JVMs of this node have on their command line.
    fn node_marker(&self, id: u16) -> String {
        self.node_props(id).display().to_string()
    }

    fn registry_marker(&self) -> String {
        format!("-Dtda.kafka.registry={}", self.registry_dir().display())
    }

    fn state_path(&self) -> PathBuf {
        self.data_dir.join(STATE_FILE)
    }

    fn load_state(&self) -> Result<Option<Stored>> {
        let path = self.state_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| ClusterError::State {
                    path,
                    reason: format!("{e}; remove the data directory or start with --clean"),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ClusterError::Io {
                action: "cannot read",
                path,
                source: e,
            }),
        }
    }

    fn save_state(&self, stored: &Stored) -> Result<()> {
        let path = self.state_path();
        let text = serde_json::to_string_pretty(stored).map_err(|e| ClusterError::State {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text + "\n").map_err(ClusterError::io("cannot write", &tmp))?;
        std::fs::rename(&tmp, &path).map_err(ClusterError::io("cannot write", &path))
    }

    fn node_check(&self, id: u16) -> PidCheck {
        process::check_pid_file(&self.node_pid(id), &self.node_marker(id))
    }

    fn registry_check(&self) -> PidCheck {
        process::check_pid_file(&self.registry_pid(), &self.registry_marker())
    }

    /// The node ids that have a directory (so may have a process), at least `1..=n`.
    fn known_nodes(&self, stored: Option<&Stored>) -> Vec<u16> {
        let mut ids: Vec<u16> = std::fs::read_dir(&self.data_dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_prefix("node-")?
                    .parse::<u16>()
                    .ok()
            })
            .collect();
        if let Some(s) = stored {
            ids.extend(1..=s.broker_count);
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Removes everything this provider created in the data directory (and
    /// nothing else, in case the directory was chosen carelessly).
    fn wipe(&self, stored: Option<&Stored>) -> Result<Vec<String>> {
        let mut removed = Vec::new();
        let mut paths: Vec<PathBuf> = self
            .known_nodes(stored)
            .into_iter()
            .map(|id| self.node_dir(id))
            .collect();
        paths.push(self.registry_dir());
        paths.push(self.data_dir.join(LOG4J_FILE));
        paths.push(self.state_path());
        for p in paths {
            let result = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else if p.exists() {
                std::fs::remove_file(&p)
            } else {
                continue;
            };
            result.map_err(ClusterError::io("cannot remove", &p))?;
            removed.push(p.display().to_string());
        }
        // Remove the data dir itself when nothing else is left in it.
        let _ = std::fs::remove_dir(&self.data_dir);
        Ok(removed)
    }

    fn node_args(&self, config: &ClusterConfig, kafka: &KafkaDist, id: u16) -> Vec<String> {
        let mut args: Vec<String> = config
            .heap_flags()
            .split_whitespace()
            .map(String::from)
            .collect();
        args.extend(
            config
                .jvm_performance_opts
                .split_whitespace()
                .map(String::from),
        );
        args.push("-Djava.awt.headless=true".into());
        args.push(format!(
            "-Dlog4j2.configurationFile={}",
            self.data_dir.join(LOG4J_FILE).display()
        ));
        args.push(format!("-Dkafka.logs.dir={}", self.node_dir(id).display()));
        if let Some(port) = config.network.jmx_port(id) {
            args.extend([
                "-Dcom.sun.management.jmxremote".to_string(),
                "-Dcom.sun.management.jmxremote.authenticate=false".into(),
                "-Dcom.sun.management.jmxremote.ssl=false".into(),
                format!("-Dcom.sun.management.jmxremote.port={port}"),
                format!("-Dcom.sun.management.jmxremote.rmi.port={port}"),
                format!(
                    "-Dcom.sun.management.jmxremote.host={}",
                    config.network.host
                ),
                format!("-Djava.rmi.server.hostname={}", config.network.host),
            ]);
        }
        args.push("-cp".into());
        args.push(kafka.classpath());
        args.push("kafka.Kafka".into());
        args.push(self.node_marker(id));
        args
    }

    /// Formats the storage of `ids` in parallel (one StorageTool JVM each).
    fn format_storage(
        &self,
        java: &Java,
        kafka: &KafkaDist,
        cluster_id: &str,
        ids: &[u16],
    ) -> Result<()> {
        let mut children = Vec::new();
        for &id in ids {
            let child = std::process::Command::new(&java.path)
                .args(["-Xmx256m", "-cp", &kafka.classpath()])
                .arg(format!(
                    "-Dlog4j2.configurationFile={}",
                    self.data_dir.join(LOG4J_FILE).display()
                ))
                .args([
                    "kafka.tools.StorageTool",
                    "format",
                    "--ignore-formatted",
                    "-t",
                ])
                .arg(cluster_id)
                .arg("-c")
                .arg(self.node_props(id))
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .process_group(0)
                .spawn()
                .map_err(|source| ClusterError::Spawn {
                    program: java.path.display().to_string(),
                    source,
                })?;
            children.push((id, child));
        }
        let mut first_error = None;
        for (id, child) in children {
            let out = child
                .wait_with_output()
                .map_err(ClusterError::io("cannot wait for", &java.path))?;
            if !out.status.success() && first_error.is_none() {
                let text = String::from_utf8_lossy(&out.stdout).into_owned()
                    + &String::from_utf8_lossy(&out.stderr);
                first_error = Some(ClusterError::ProcessDied {
                    name: format!("storage format of node {id}"),
                    exit: out.status.to_string(),
                    log_file: self.node_props(id),
                    log_tail: dist::tail_lines(&text, 20),
                });
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Stops `launched` (used when a start fails or is interrupted).
    async fn abort(&self, launched: &[Launched]) -> String {
        let mut names = Vec::new();
        for l in launched {
            let _ = process::send(l.pid, Signal::SIGTERM);
        }
        for l in launched {
            if !process::wait_exit(l.pid, Duration::from_secs(30)).await {
                let _ = process::send(l.pid, Signal::SIGKILL);
                process::wait_exit(l.pid, Duration::from_secs(10)).await;
            }
            names.push(l.name.clone());
        }
        if names.is_empty() {
            "nothing had been started".into()
        } else {
            format!("stopped {}", names.join(", "))
        }
    }

    /// Fails with the log tail of the first launched process that died.
    fn check_launched(launched: &[Launched]) -> Result<()> {
        match launched.iter().find(|l| !process::alive(l.pid)) {
            Some(l) => Err(ClusterError::ProcessDied {
                name: l.name.clone(),
                exit: format!("pid {} is gone", l.pid),
                log_file: l.log.clone(),
                log_tail: process::log_tail(&l.log, 30),
            }),
            None => Ok(()),
        }
    }

    async fn wait_kafka_ready(
        config: &ClusterConfig,
        launched: &[Launched],
        timeout: Duration,
        progress: &dyn Progress,
        cancel: &CancellationToken,
    ) -> Result<()> {
        let started = Instant::now();
        let step = Step::WaitReady;
        progress.report(ProgressEvent::Started { step: step.clone() });
        loop {
            Self::check_launched(launched)?;
            let attempt = tokio::select! {
                r = probe(config) => r,
                () = cancel.cancelled() => return Err(interrupted()),
            };
            let last = match attempt {
                Ok(()) => {
                    progress.report(ProgressEvent::Finished {
                        step,
                        detail: format!(
                            "{} brokers registered, round trip ok, after {:.1} s",
                            config.broker_count,
                            started.elapsed().as_secs_f64()
                        ),
                    });
                    return Ok(());
                }
                Err(problem) => problem,
            };
            // A node that died while we probed is the real news.
            Self::check_launched(launched)?;
            if started.elapsed() >= timeout {
                return Err(ClusterError::NotReady {
                    waited: started.elapsed(),
                    last_problem: last,
                });
            }
            progress.report(ProgressEvent::Waiting {
                step: step.clone(),
                elapsed: started.elapsed(),
                detail: last.clone(),
            });
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
                () = cancel.cancelled() => return Err(interrupted()),
            }
        }
    }

    async fn wait_registry_ready(
        host: &str,
        port: u16,
        launched: &Launched,
        timeout: Duration,
        progress: &dyn Progress,
        cancel: &CancellationToken,
    ) -> Result<()> {
        let started = Instant::now();
        let url = format!("http://{host}:{port}{REGISTRY_API}/subjects");
        loop {
            Self::check_launched(std::slice::from_ref(launched))?;
            let last = match probe_registry(host, port, REGISTRY_API).await {
                Ok(()) => return Ok(()),
                Err(p) => p,
            };
            if started.elapsed() >= timeout {
                return Err(ClusterError::RegistryNotReady {
                    url,
                    waited: started.elapsed(),
                    last_problem: last,
                });
            }
            progress.report(ProgressEvent::Waiting {
                step: Step::StartRegistry,
                elapsed: started.elapsed(),
                detail: format!("GET {url}: {last}"),
            });
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
                () = cancel.cancelled() => return Err(interrupted()),
            }
        }
    }

    /// Stops one managed process: SIGTERM and wait (graceful) or SIGKILL.
    async fn stop_one(
        name: &str,
        pid: u32,
        mode: StopMode,
        bound: Duration,
    ) -> Result<StopOutcome> {
        let started = Instant::now();
        let fail = |reason: String| ClusterError::StopFailed {
            name: name.to_owned(),
            pid,
            reason,
        };
        if mode == StopMode::Graceful {
            process::send(pid, Signal::SIGTERM).map_err(fail)?;
            if process::wait_exit(pid, bound).await {
                return Ok(StopOutcome::Stopped {
                    after: started.elapsed(),
                });
            }
        }
        process::send(pid, Signal::SIGKILL).map_err(fail)?;
        if process::wait_exit(pid, Duration::from_secs(15)).await {
            Ok(StopOutcome::Killed {
                after_timeout: mode == StopMode::Graceful,
            })
        } else {
            Err(fail("still alive 15 s after SIGKILL".into()))
        }
    }

    fn endpoints(&self, stored: &Stored, registry_running: bool) -> Endpoints {
        let mut services = Vec::new();
        if stored.jmx_base_port != 0 {
            for id in 1..=stored.broker_count {
                services.push(ServiceEndpoint {
                    name: format!("JMX node {id}"),
                    address: format!("{}:{}", stored.host, stored.jmx_base_port + id - 1),
                    description: "JVM and Kafka metrics (JMX, no auth)".into(),
                });
            }
        }
        let schema_registry_url = stored
            .registry_port
            .filter(|_| registry_running)
            .map(|p| format!("http://{}:{p}{REGISTRY_API}", stored.host));
        if let Some(url) = &schema_registry_url {
            services.insert(
                0,
                ServiceEndpoint {
                    name: "Schema Registry".into(),
                    address: url.clone(),
                    description: "Confluent-compatible REST API (Apicurio Registry)".into(),
                },
            );
        }
        Endpoints {
            bootstrap_servers: stored.bootstrap(),
            internal_bootstrap_servers: None,
            schema_registry_url,
            services,
        }
    }

    fn status_now(&self) -> Result<ClusterStatus> {
        let data_location = self.data_dir.display().to_string();
        let Some(stored) = self.load_state()? else {
            return Ok(ClusterStatus {
                provider: "local",
                state: ClusterState::NotCreated,
                data_location,
                nodes: Vec::new(),
                registry: None,
                endpoints: Endpoints::default(),
            });
        };
        let nodes: Vec<NodeStatus> = (1..=stored.broker_count)
            .map(|id| {
                let port = stored.kafka_port(id);
                let state = match self.node_check(id) {
                    PidCheck::Alive(pid) if process::port_open(&stored.host, port) => {
                        ProcessState::Running { pid }
                    }
                    PidCheck::Alive(pid) => ProcessState::NotListening { pid },
                    PidCheck::Stale(pid) => ProcessState::StalePid { pid },
                    PidCheck::None => ProcessState::Stopped,
                };
                NodeStatus {
                    node_id: id,
                    state,
                    address: format!("{}:{port}", stored.host),
                    controller_address: format!("{}:{}", stored.host, stored.controller_port(id)),
                    log: self.node_log(id).display().to_string(),
                }
            })
            .collect();
        let running = nodes
            .iter()
            .filter(|n| matches!(n.state, ProcessState::Running { .. }))
            .count();
        let alive = nodes.iter().filter(|n| n.state.is_alive()).count();
        let state = if running == nodes.len() && running > 0 {
            ClusterState::Running
        } else if alive == 0 {
            ClusterState::Stopped
        } else {
            ClusterState::Partial
        };
        let registry_check = self.registry_check();
        let registry = match (stored.registry_port, registry_check) {
            (None, PidCheck::None) => None,
            (port, check) => {
                let port = port.unwrap_or_default();
                let state = match check {
                    PidCheck::Alive(pid) if process::port_open(&stored.host, port) => {
                        ProcessState::Running { pid }
                    }
                    PidCheck::Alive(pid) => ProcessState::NotListening { pid },
                    PidCheck::Stale(pid) => ProcessState::StalePid { pid },
                    PidCheck::None => ProcessState::Stopped,
                };
                Some(ServiceStatus {
                    name: "schema-registry".into(),
                    state,
                    url: format!("http://{}:{port}{REGISTRY_API}", stored.host),
                    log: self.registry_log().display().to_string(),
                })
            }
        };
        let registry_running = registry
            .as_ref()
            .is_some_and(|r| matches!(r.state, ProcessState::Running { .. }));
        Ok(ClusterStatus {
            provider: "local",
            state,
            data_location,
            endpoints: self.endpoints(&stored, registry_running),
            nodes,
            registry,
        })
    }

    #[allow(clippy::too_many_lines)]
    async fn start_inner(
        &self,
        config: &ClusterConfig,
        options: &StartOptions,
        progress: &dyn Progress,
        cancel: &CancellationToken,
        launched: &mut Vec<Launched>,
    ) -> Result<StartReport> {
        let t0 = Instant::now();
        progress.report(ProgressEvent::Started {
            step: Step::Prerequisites,
        });
        let java = Java::detect()?;
        let kafka = KafkaDist::resolve(options.refetch, progress)?;
        let registry_dist = if options.registry {
            Some(RegistryDist::resolve(options.refetch, progress)?)
        } else {
            None
        };
        progress.report(ProgressEvent::Finished {
            step: Step::Prerequisites,
            detail: format!(
                "java {} at {}, kafka {} jars in {}",
                java.major,
                java.path.display(),
                dist::KAFKA_VERSION,
                kafka.libs.display()
            ),
        });
        if cancel.is_cancelled() {
            return Err(interrupted());
        }

        std::fs::create_dir_all(&self.data_dir)
            .map_err(ClusterError::io("cannot create", &self.data_dir))?;
        let mut stored = self.load_state()?;
        if options.clean {
            let stop = StopOptions::default();
            self.stop_all(stored.as_ref(), &stop, progress).await?;
            progress.report(ProgressEvent::Started {
                step: Step::RemoveData,
            });
            let removed = self.wipe(stored.as_ref())?;
            progress.report(ProgressEvent::Finished {
                step: Step::RemoveData,
                detail: format!("{} entries removed (--clean)", removed.len()),
            });
            std::fs::create_dir_all(&self.data_dir)
                .map_err(ClusterError::io("cannot create", &self.data_dir))?;
            stored = None;
        }
        let host = config.network.host.clone();
        let registry_port = config.network.schema_registry_port;
        if let Some(s) = &stored {
            let wanted = Stored::new(config, s.cluster_id.clone(), None);
            if s.topology() != wanted.topology() {
                return Err(ClusterError::Conflict {
                    reason: format!(
                        "{} holds a {}-broker cluster on {} (controllers from port {}), but {} brokers on {} (controllers from port {}) were requested; \
                         start with --clean to recreate it (deletes its data) or use another --data-dir",
                        self.data_dir.display(),
                        s.broker_count,
                        s.bootstrap(),
                        s.controller_base_port,
                        wanted.broker_count,
                        wanted.bootstrap(),
                        wanted.controller_base_port
                    ),
                });
            }
        }

        // Which processes run already; stale PID files are removed.
        let mut to_start = Vec::new();
        for id in config.node_ids() {
            match self.node_check(id) {
                PidCheck::Alive(_) => {}
                PidCheck::Stale(pid) => {
                    process::remove_file(&self.node_pid(id))?;
                    progress.report(ProgressEvent::Note {
                        message: format!(
                            "removed the stale pid file of node {id} (pid {pid} is not running)"
                        ),
                    });
                    to_start.push(id);
                }
                PidCheck::None => to_start.push(id),
            }
        }
        let registry_running = match self.registry_check() {
            PidCheck::Alive(_) => true,
            PidCheck::Stale(pid) => {
                process::remove_file(&self.registry_pid())?;
                progress.report(ProgressEvent::Note {
                    message: format!(
                        "removed the stale pid file of the schema registry (pid {pid} is not running)"
                    ),
                });
                false
            }
            PidCheck::None => false,
        };
        let start_registry = options.registry && !registry_running;
        let already_running = to_start.is_empty();
        if already_running {
            progress.report(ProgressEvent::Note {
                message: format!(
                    "the cluster in {} is already running; no node was started",
                    self.data_dir.display()
                ),
            });
        }

        // Every port must be free before anything starts.
        progress.report(ProgressEvent::Started {
            step: Step::CheckPorts,
        });
        let mut needed: Vec<(u16, String)> = Vec::new();
        for &id in &to_start {
            needed.push((
                config.network.kafka_port(id),
                format!("node {id} client listener"),
            ));
            needed.push((
                config.network.controller_port(id),
                format!("node {id} controller listener"),
            ));
            if let Some(p) = config.network.jmx_port(id) {
                needed.push((p, format!("node {id} JMX")));
            }
        }
        if start_registry {
            needed.push((registry_port, "schema registry".into()));
        }
        for (port, purpose) in &needed {
            if !process::port_free(&host, *port) {
                return Err(ClusterError::PortInUse {
                    host: host.clone(),
                    port: *port,
                    purpose: purpose.clone(),
                });
            }
        }
        progress.report(ProgressEvent::Finished {
            step: Step::CheckPorts,
            detail: format!("{} ports free", needed.len()),
        });

        // Files, then storage (first start only).
        let cluster_id = stored
            .as_ref()
            .map(|s| s.cluster_id.clone())
            .unwrap_or_else(crate::cluster_id::random);
        let log4j = self.data_dir.join(LOG4J_FILE);
        std::fs::write(&log4j, LOG4J2).map_err(ClusterError::io("cannot write", &log4j))?;
        let mut to_format = Vec::new();
        for &id in &to_start {
            let dir = self.node_dir(id);
            let data = dir.join("data");
            std::fs::create_dir_all(&data).map_err(ClusterError::io("cannot create", &data))?;
            let props = config.broker_properties(id, &data.display().to_string());
            let path = self.node_props(id);
            std::fs::write(&path, props.to_properties_string())
                .map_err(ClusterError::io("cannot write", &path))?;
            if !data.join("meta.properties").exists() {
                to_format.push(id);
            }
        }
        let registry_port_stored = if options.registry || registry_running {
            Some(registry_port)
        } else {
            None
        };
        self.save_state(&Stored::new(
            config,
            cluster_id.clone(),
            registry_port_stored,
        ))?;
        let formatted = !to_format.is_empty();
        if formatted {
            progress.report(ProgressEvent::Started {
                step: Step::FormatStorage,
            });
            self.format_storage(&java, &kafka, &cluster_id, &to_format)?;
            progress.report(ProgressEvent::Finished {
                step: Step::FormatStorage,
                detail: format!("cluster id {cluster_id}, nodes {to_format:?}"),
            });
        }
        if cancel.is_cancelled() {
            return Err(interrupted());
        }

        // Launch the nodes.
        for &id in &to_start {
            progress.report(ProgressEvent::Started {
                step: Step::StartNode { node_id: id },
            });
            let log = self.node_log(id);
            let pid = process::spawn_detached(
                &java.path,
                &self.node_args(config, &kafka, id),
                &self.node_dir(id),
                &log,
            )?;
            launched.push(Launched {
                name: format!("kafka node {id}"),
                pid,
                log,
            });
            process::write_pid(&self.node_pid(id), pid)?;
            progress.report(ProgressEvent::Finished {
                step: Step::StartNode { node_id: id },
                detail: format!("pid {pid}, {}:{}", host, config.network.kafka_port(id)),
            });
        }

        Self::wait_kafka_ready(config, launched, options.ready_timeout, progress, cancel).await?;
        let ready_after = t0.elapsed();

        let topics = if options.create_topics {
            crate::topics::ensure_architecture(config, progress).await?
        } else {
            progress.report(ProgressEvent::Skipped {
                step: Step::CreateTopics,
                reason: "--no-topics".into(),
            });
            Vec::new()
        };

        if let (true, Some(reg)) = (start_registry, &registry_dist) {
            progress.report(ProgressEvent::Started {
                step: Step::StartRegistry,
            });
            let dir = self.registry_dir();
            std::fs::create_dir_all(dir.join("db"))
                .map_err(ClusterError::io("cannot create", &dir))?;
            let log = self.registry_log();
            let args = vec![
                REGISTRY_HEAP.to_string(),
                self.registry_marker(),
                format!("-Dquarkus.http.port={registry_port}"),
                format!("-Dquarkus.http.host={host}"),
                format!(
                    "-Dapicurio.datasource.url=jdbc:h2:file:{}/db/registry",
                    dir.display()
                ),
                "-jar".into(),
                reg.runner_jar().display().to_string(),
            ];
            let pid = process::spawn_detached(&java.path, &args, &dir, &log)?;
            let entry = Launched {
                name: "schema registry".into(),
                pid,
                log,
            };
            launched.push(entry.clone());
            process::write_pid(&self.registry_pid(), pid)?;
            Self::wait_registry_ready(
                &host,
                registry_port,
                &entry,
                options.ready_timeout,
                progress,
                cancel,
            )
            .await?;
            progress.report(ProgressEvent::Finished {
                step: Step::StartRegistry,
                detail: format!("pid {pid}, http://{host}:{registry_port}{REGISTRY_API}"),
            });
        } else if !options.registry {
            progress.report(ProgressEvent::Skipped {
                step: Step::StartRegistry,
                reason: "--no-registry".into(),
            });
        }

        let status = self.status_now()?;
        Ok(StartReport {
            already_running,
            started_nodes: to_start,
            formatted,
            ready_after,
            topics,
            registry_started: start_registry,
            endpoints: status.endpoints.clone(),
            status,
        })
    }

    async fn stop_all(
        &self,
        stored: Option<&Stored>,
        options: &StopOptions,
        progress: &dyn Progress,
    ) -> Result<Vec<(String, StopOutcome)>> {
        let mut targets: Vec<(String, Step, PathBuf, PidCheck)> = Vec::new();
        targets.push((
            "schema registry".into(),
            Step::StopRegistry,
            self.registry_pid(),
            self.registry_check(),
        ));
        for id in self.known_nodes(stored) {
            targets.push((
                format!("kafka node {id}"),
                Step::StopNode { node_id: id },
                self.node_pid(id),
                self.node_check(id),
            ));
        }
        // Signal every node first so they shut down together (a KRaft node
        // waits for the quorum during controlled shutdown), then wait.
        let mut waits = Vec::new();
        let mut outcomes = Vec::new();
        for (name, step, pid_file, check) in targets {
            match check {
                PidCheck::Alive(pid) => {
                    progress.report(ProgressEvent::Started { step: step.clone() });
                    let mode = options.mode;
                    let bound = options.graceful_timeout;
                    let n = name.clone();
                    waits.push((
                        name,
                        step,
                        pid_file,
                        tokio::spawn(async move { Self::stop_one(&n, pid, mode, bound).await }),
                    ));
                }
                PidCheck::Stale(pid) => {
                    process::remove_file(&pid_file)?;
                    outcomes.push((name, StopOutcome::StalePidRemoved { pid }));
                }
                PidCheck::None => outcomes.push((name, StopOutcome::NotRunning)),
            }
        }
        let mut first_error = None;
        for (name, step, pid_file, handle) in waits {
            match handle.await {
                Ok(Ok(outcome)) => {
                    process::remove_file(&pid_file)?;
                    progress.report(ProgressEvent::Finished {
                        step,
                        detail: describe_stop(&outcome),
                    });
                    outcomes.push((name, outcome));
                }
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(join) => {
                    first_error.get_or_insert(ClusterError::StopFailed {
                        name,
                        pid: 0,
                        reason: join.to_string(),
                    });
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(outcomes),
        }
    }
}

fn describe_stop(outcome: &StopOutcome) -> String {
    match outcome {
        StopOutcome::Stopped { after } => format!("stopped in {:.1} s", after.as_secs_f64()),
        StopOutcome::Killed {
            after_timeout: true,
        } => "killed (did not stop within the graceful bound)".into(),
        StopOutcome::Killed {
            after_timeout: false,
        } => "killed (--force)".into(),
        StopOutcome::NotRunning => "not running".into(),
        StopOutcome::StalePidRemoved { pid } => format!("stale pid file ({pid}) removed"),
    }
}

fn interrupted() -> ClusterError {
    ClusterError::Interrupted {
        cleanup: String::new(),
    }
}

impl ClusterProvider for LocalProvider {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn start(
        &self,
        config: &ClusterConfig,
        options: &StartOptions,
        progress: &dyn Progress,
        cancel: CancellationToken,
    ) -> Result<StartReport> {
        let mut launched = Vec::new();
        let result = self
            .start_inner(config, options, progress, &cancel, &mut launched)
            .await;
        match result {
            Ok(report) => Ok(report),
            Err(ClusterError::Interrupted { .. }) => {
                let cleanup = self.abort(&launched).await;
                self.forget_pid_files(&launched);
                Err(ClusterError::Interrupted { cleanup })
            }
            Err(e) => {
                // Leave nothing half-started behind, but keep the error.
                // Topic or registry failures leave the ready brokers running.
                let kafka_ready = matches!(
                    e,
                    ClusterError::Admin { .. } | ClusterError::RegistryNotReady { .. }
                ) || matches!(&e, ClusterError::ProcessDied { name, .. } if name == "schema registry");
                if !kafka_ready {
                    self.abort(&launched).await;
                    self.forget_pid_files(&launched);
                }
                Err(e)
            }
        }
    }

    async fn stop(&self, options: &StopOptions, progress: &dyn Progress) -> Result<StopReport> {
        let stored = self.load_state().ok().flatten();
        let processes = self.stop_all(stored.as_ref(), options, progress).await?;
        let mut notes = Vec::new();
        if options.remove_containers {
            notes.push(
                "--remove-containers has no effect for the local provider (there are no containers)"
                    .into(),
            );
        }
        let removed = if options.remove_data {
            progress.report(ProgressEvent::Started {
                step: Step::RemoveData,
            });
            let removed = self.wipe(stored.as_ref())?;
            progress.report(ProgressEvent::Finished {
                step: Step::RemoveData,
                detail: format!(
                    "{} entries under {}",
                    removed.len(),
                    self.data_dir.display()
                ),
            });
            removed
        } else {
            Vec::new()
        };
        Ok(StopReport {
            processes,
            removed,
            notes,
        })
    }

    async fn status(&self) -> Result<ClusterStatus> {
        self.status_now()
    }
}

impl LocalProvider {
    /// Removes the PID files of processes an aborted start launched.
    fn forget_pid_files(&self, launched: &[Launched]) {
        for l in launched {
            let pid_file = if l.name == "schema registry" {
                self.registry_pid()
            } else {
                let id = l
                    .name
                    .rsplit(' ')
                    .next()
                    .and_then(|s| s.parse::<u16>().ok())
                    .unwrap_or(0);
                self.node_pid(id)
            };
            if process::read_pid(&pid_file) == Some(l.pid) {
                let _ = process::remove_file(&pid_file);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topology_changes_are_detected() {
        let c = ClusterConfig::default();
        let a = Stored::new(&c, "x".into(), Some(8081));
        let mut c1 = c.clone();
        c1.broker_count = 1;
        assert_ne!(a.topology(), Stored::new(&c1, "x".into(), None).topology());
        assert_eq!(a.topology(), Stored::new(&c, "y".into(), None).topology());
        assert_eq!(a.bootstrap(), c.bootstrap_servers());
    }

    #[tokio::test]
    async fn status_of_an_empty_dir_is_not_created_and_stop_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let p = LocalProvider::new(dir.path().join("c"));
        let s = p.status().await.unwrap();
        assert_eq!(s.state, ClusterState::NotCreated);
        let r = p
            .stop(&StopOptions::default(), &crate::NoProgress)
            .await
            .unwrap();
        assert_eq!(
            r.processes,
            vec![("schema registry".to_string(), StopOutcome::NotRunning)]
        );
    }

    #[tokio::test]
    async fn a_stale_pid_file_is_reported_and_cleaned_by_stop() {
        let dir = tempfile::tempdir().unwrap();
        let p = LocalProvider::new(dir.path());
        let c = ClusterConfig {
            broker_count: 1,
            ..ClusterConfig::default()
        };
        p.save_state(&Stored::new(&c, crate::cluster_id::random(), None))
            .unwrap();
        std::fs::create_dir_all(p.node_dir(1)).unwrap();
        // Our own pid: alive, but not a kafka node of this cluster.
        process::write_pid(&p.node_pid(1), std::process::id()).unwrap();
        let s = p.status().await.unwrap();
        assert_eq!(s.state, ClusterState::Stopped);
        assert_eq!(
            s.nodes[0].state,
            ProcessState::StalePid {
                pid: std::process::id()
            }
        );
        let r = p
            .stop(&StopOptions::default(), &crate::NoProgress)
            .await
            .unwrap();
        assert!(r.processes.contains(&(
            "kafka node 1".to_string(),
            StopOutcome::StalePidRemoved {
                pid: std::process::id()
            }
        )));
        assert!(!p.node_pid(1).exists());
    }
}
