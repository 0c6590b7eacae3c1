//! `start` of the local stack: prerequisites, port checks, node files and
//! storage, the JVMs, one bounded readiness wait, topics, the registry.

use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::Instant;

use tda_kafka_config::{ClusterConfig, SecretString};
use tokio_util::sync::CancellationToken;

use super::jvm::{self, StartFlags};
use super::plan::Plan;
use super::process;
use super::services::start_step;
use super::state::Stored;
use super::{Launched, LocalProvider, LOG4J_FILE};
use crate::dist::{self, ConnectPlugins, Java, KafkaDist, RegistryDist};
use crate::poll::Wait;
use crate::tls::CertificateAuthority;
use crate::{
    ClusterError, LogLocation, Progress, ProgressEvent, Result, ServiceKind, StackMember,
    StartOptions, StartReport, Step,
};

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

/// Writes `text` to `path` readable by its owner only (it may hold passwords).
pub(super) fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let _ = std::fs::remove_file(path);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(ClusterError::io("cannot write", path))
}

/// One argument of a java `@argfile`, in double quotes.
fn argfile_quote(arg: &str) -> String {
    format!("\"{}\"", arg.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Fails with the log tail of the first launched process that died.
pub(super) fn check_launched(launched: &[Launched]) -> Result<()> {
    match launched.iter().find(|l| !process::alive(l.pid)) {
        Some(l) => Err(ClusterError::ProcessDied {
            what: l.member.to_string(),
            exit: format!("pid {} is gone", l.pid),
            log: LogLocation::File(l.log.clone()),
            log_tail: process::log_tail(&l.log, 30),
        }),
        None => Ok(()),
    }
}

impl LocalProvider {
    fn node_args(
        &self,
        config: &ClusterConfig,
        kafka: &KafkaDist,
        id: u16,
        tuning: Vec<String>,
    ) -> Vec<String> {
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
        args.extend(tuning);
        args.push("-Djava.awt.headless=true".into());
        args.push(format!(
            "-Dlog4j2.configurationFile={}",
            self.data_dir.join(LOG4J_FILE).display()
        ));
        if config.uses_zookeeper() {
            args.push(self.log4j1_flag());
        }
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
        args.push(self.marker(StackMember::Node(id)));
        args
    }

    /// Formats the storage of `ids` in parallel (one StorageTool JVM each).
    fn format_storage(
        &self,
        java: &Java,
        kafka: &KafkaDist,
        cluster_id: &str,
        ids: &[u16],
        tuning: &[String],
        scram: &[SecretString],
    ) -> Result<()> {
        let mut children = Vec::new();
        let mut argfiles = Vec::new();
        for &id in ids {
            // The tool and its arguments go through a java @argfile (0600,
            // removed after the format): `--add-scram` carries passwords,
            // which must not show in the process list.
            let mut tool: Vec<String> = [
                "kafka.tools.StorageTool",
                "format",
                "--ignore-formatted",
                "-t",
                cluster_id,
                "-c",
            ]
            .map(String::from)
            .to_vec();
            tool.push(self.node_props(id).display().to_string());
            let mut text: String = tool.iter().map(|a| argfile_quote(a) + "\n").collect();
            for s in scram {
                text.push_str("--add-scram\n");
                text.push_str(&argfile_quote(s.expose()));
                text.push('\n');
            }
            let argfile = self.node_dir(id).join("format.args");
            write_private(&argfile, &text)?;
            argfiles.push(argfile.clone());
            let child = std::process::Command::new(&java.path)
                .arg(jvm::TOOL_HEAP)
                .args(tuning)
                .args(["-cp", &kafka.classpath()])
                .arg(format!(
                    "-Dlog4j2.configurationFile={}",
                    self.data_dir.join(LOG4J_FILE).display()
                ))
                .arg(format!("@{}", argfile.display()))
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
            let out = child.wait_with_output();
            let _ = std::fs::remove_file(self.node_dir(id).join("format.args"));
            let out = out.map_err(ClusterError::io("cannot wait for", &java.path))?;
            if !out.status.success() && first_error.is_none() {
                let text = String::from_utf8_lossy(&out.stdout).into_owned()
                    + &String::from_utf8_lossy(&out.stderr);
                first_error = Some(ClusterError::ProcessDied {
                    what: format!("storage format of node {id}"),
                    exit: out.status.to_string(),
                    log: LogLocation::File(self.node_props(id)),
                    log_tail: dist::tail_lines(&text, 20),
                });
            }
        }
        for f in argfiles {
            let _ = std::fs::remove_file(f);
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Java and the distributions (fetched once into the user cache).
    fn prerequisites(
        config: &ClusterConfig,
        options: &StartOptions,
        progress: &dyn Progress,
    ) -> Result<(Java, KafkaDist, Option<RegistryDist>)> {
        progress.report(ProgressEvent::Started {
            step: Step::Prerequisites,
        });
        let java = Java::detect()?;
        let kafka = KafkaDist::resolve_for(config.metadata, options.refetch, progress)?;
        let registry = if options.services.schema_registry {
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
                dist::kafka_version_for(config.metadata),
                kafka.libs.display()
            ),
        });
        Ok((java, kafka, registry))
    }

    /// Writes the node files and formats the storage of new nodes; returns
    /// whether anything was formatted.
    #[allow(clippy::too_many_arguments)]
    fn prepare_nodes(
        &self,
        config: &ClusterConfig,
        plan: &Plan,
        proxied: bool,
        java: &Java,
        kafka: &KafkaDist,
        flags: &StartFlags,
        progress: &dyn Progress,
    ) -> Result<bool> {
        let cluster_id = plan
            .stored
            .as_ref()
            .map(|s| s.cluster_id.clone())
            .unwrap_or_else(crate::cluster_id::random);
        let log4j = self.data_dir.join(LOG4J_FILE);
        std::fs::write(&log4j, LOG4J2).map_err(ClusterError::io("cannot write", &log4j))?;
        let mut to_format = Vec::new();
        let ca = match &config.security.tls_dir {
            Some(dir) if !plan.to_start.is_empty() => {
                Some(CertificateAuthority::ensure(Path::new(dir))?)
            }
            _ => None,
        };
        for &id in &plan.to_start {
            let data = self.node_dir(id).join("data");
            std::fs::create_dir_all(&data).map_err(ClusterError::io("cannot create", &data))?;
            let mut props = config.broker_properties(id, &data.display().to_string());
            if let Some(ca) = &ca {
                props.set_node_tls(&ca.node(config, id)?);
            }
            write_private(&self.node_props(id), &props.to_properties_string())?;
            // A ZooKeeper-mode broker writes its own meta.properties.
            if !config.uses_zookeeper() && !data.join("meta.properties").exists() {
                to_format.push(id);
            }
        }
        let registry_port =
            (config_has_registry(plan)).then_some(config.network.schema_registry_port);
        let mut stored = Stored::new(config, cluster_id.clone(), registry_port);
        stored.console_port =
            (plan.start_console || plan.console_running).then_some(config.network.ui_port);
        stored.connect_port =
            (plan.start_connect || plan.connect_running).then_some(config.network.connect_port);
        stored.redis_port =
            (plan.start_redis || plan.redis_running).then_some(config.network.redis_port);
        stored.registry_root = match (plan.start_registry, &plan.stored) {
            (true, _) => proxied,
            (false, Some(old)) => old.registry_root,
            (false, None) => false,
        };
        self.save_state(&stored)?;
        if to_format.is_empty() {
            return Ok(false);
        }
        progress.report(ProgressEvent::Started {
            step: Step::FormatStorage,
        });
        self.format_storage(
            java,
            kafka,
            &cluster_id,
            &to_format,
            &flags.storage_tool(),
            &crate::tls::add_scram_args(config),
        )?;
        progress.report(ProgressEvent::Finished {
            step: Step::FormatStorage,
            detail: format!("cluster id {cluster_id}, nodes {to_format:?}"),
        });
        Ok(true)
    }

    pub(super) async fn start_inner(
        &self,
        config: &ClusterConfig,
        options: &StartOptions,
        progress: &dyn Progress,
        cancel: &CancellationToken,
        launched: &mut Vec<Launched>,
    ) -> Result<StartReport> {
        let t0 = Instant::now();
        let deadline = t0 + options.ready_timeout;
        self.check_resources(config, options, progress)?;
        let (java, kafka, registry_dist) = Self::prerequisites(config, options, progress)?;
        if cancel.is_cancelled() {
            return Err(ClusterError::interrupted());
        }
        let plan = self.plan(config, options, progress).await?;
        let already_running = plan.nothing_to_start();
        let proxied = options.registry_proxy.is_some();
        // Connect runs on the Kafka 4.4 jars in both modes (ZooKeeper mode's
        // 3.9 set has no connect-runtime); a 4.4 worker talks to 3.9 brokers.
        let connect_jars = match plan.start_connect {
            true if config.uses_zookeeper() => Some(KafkaDist::resolve(options.refetch, progress)?),
            true => Some(kafka.clone()),
            false => None,
        };
        let connect_plugins = if plan.start_connect {
            Some(ConnectPlugins::resolve(options.refetch, progress)?)
        } else {
            None
        };
        if plan.to_start.is_empty() {
            progress.report(ProgressEvent::Note {
                message: format!(
                    "the cluster in {} is already running; no node was started",
                    self.data_dir.display()
                ),
            });
        }
        Self::check_ports(config, &plan, proxied, progress)?;
        let kafka_jvm = (!plan.to_start.is_empty()).then_some(&kafka);
        let registry_jvm = registry_dist
            .as_ref()
            .filter(|_| plan.start_registry)
            .map(|r| (r, super::registry::REGISTRY_HEAP));
        let mut flags =
            StartFlags::prepare(&self.jvm, config, &java, kafka_jvm, registry_jvm, progress);
        let formatted =
            self.prepare_nodes(config, &plan, proxied, &java, &kafka, &flags, progress)?;
        if cancel.is_cancelled() {
            return Err(ClusterError::interrupted());
        }
        let wait = Wait {
            step: Step::WaitReady,
            started: t0,
            deadline,
            progress,
            cancel,
        };
        // ZooKeeper mode: the ensemble is formed before any broker starts.
        if config.uses_zookeeper() {
            self.start_zookeeper(
                config,
                &plan.zookeeper_to_start,
                &java,
                &kafka,
                progress,
                launched,
                &wait,
            )
            .await?;
        }
        for &id in &plan.to_start {
            let member = StackMember::Node(id);
            progress.report(ProgressEvent::Started {
                step: Step::StartNode { node_id: id },
            });
            let log = self.node_log(id);
            let pid = process::spawn_detached(
                &java.path,
                &self.node_args(config, &kafka, id, flags.node()),
                &self.node_dir(id),
                &log,
            )?;
            launched.push(Launched { member, pid, log });
            process::write_pid(&self.node_pid(id), pid)?;
            progress.report(ProgressEvent::Finished {
                step: Step::StartNode { node_id: id },
                detail: format!(
                    "pid {pid}, {}:{}",
                    config.network.host,
                    config.network.kafka_port(id)
                ),
            });
        }
        // The registry and Redis need no broker: they start alongside.
        let mut spawned = Vec::new();
        let mut started_services: Vec<ServiceKind> = plan
            .zookeeper_to_start
            .iter()
            .map(|&n| ServiceKind::Zookeeper(n))
            .collect();
        if let (true, Some(reg)) = (plan.start_registry, &registry_dist) {
            progress.report(ProgressEvent::Started {
                step: Step::StartRegistry,
            });
            let proxy = options.registry_proxy.as_deref();
            spawned.push(self.spawn_registry(
                config,
                reg,
                &java,
                flags.registry(),
                proxy,
                launched,
            )?);
        } else if !options.services.schema_registry {
            progress.report(ProgressEvent::Skipped {
                step: Step::StartRegistry,
                reason: "not requested".into(),
            });
        }
        if plan.start_redis {
            progress.report(ProgressEvent::Started {
                step: start_step(ServiceKind::Redis),
            });
            spawned.push(self.spawn_redis(config, launched)?);
        }
        crate::ready::wait_for_brokers(config, &wait, || check_launched(launched)).await?;
        let ready_after = t0.elapsed();
        // Connect needs every broker (its internal topics have the profile's
        // replication factor, and it fails on fewer brokers); its JVM start
        // overlaps the creation of the topics.
        if let (Some(jars), Some(plugins)) = (&connect_jars, &connect_plugins) {
            progress.report(ProgressEvent::Started {
                step: start_step(ServiceKind::Connect),
            });
            spawned.push(self.spawn_connect(config, &java, jars, plugins, progress, launched)?);
        }
        let topics =
            crate::topics::ensure_requested(options.create_topics, config, progress).await?;
        // The console needs the brokers only: it starts beside Connect.
        if let (true, Some(launch)) = (plan.start_console, &options.console) {
            progress.report(ProgressEvent::Started {
                step: start_step(ServiceKind::Ui),
            });
            let registry = plan.registry_running || plan.start_registry;
            spawned.push(self.spawn_console(config, launch, registry, launched)?);
        }
        super::services::wait_all(config, &spawned, &wait).await?;
        started_services.extend(spawned.iter().map(|s| s.kind));
        let status = self.status_now()?;
        Ok(StartReport {
            provider: crate::ProviderKind::Local,
            already_running,
            started_nodes: plan.to_start.clone(),
            started_services,
            skipped_services: not_provided(options),
            formatted,
            ready_after,
            topics,
            status,
        })
    }
}

fn config_has_registry(plan: &Plan) -> bool {
    plan.start_registry || plan.registry_running
}

/// Requested services this provider does not run (yet).
fn not_provided(options: &StartOptions) -> Vec<(ServiceKind, String)> {
    let s = options.services;
    let mut out: Vec<(ServiceKind, String)> = Vec::new();
    if s.ksqldb {
        out.push((
            ServiceKind::Ksqldb,
            "the local provider does not run it (no ksqlDB outside Confluent's images)".into(),
        ));
    }
    if s.ui && options.console.is_none() {
        out.push((ServiceKind::Ui, "no console program was given".into()));
    }
    out
}
