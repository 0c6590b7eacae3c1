//! What a local `start` will do, decided before anything is touched: the
//! clean wipe, the stored topology check, which members must start (stale
//! PID files removed) and that every port they need is free.

use super::process::{self, PidCheck};
use super::state::Stored;
use super::LocalProvider;
use crate::{
    ClusterError, Progress, ProgressEvent, Result, ServiceKind, StackMember, StartOptions, Step,
    StopOptions,
};
use tda_kafka_config::ClusterConfig;

/// What to start, decided before anything is touched.
pub(super) struct Plan {
    pub(super) stored: Option<Stored>,
    pub(super) to_start: Vec<u16>,
    /// The ZooKeeper nodes to start (ZooKeeper mode).
    pub(super) zookeeper_to_start: Vec<u16>,
    pub(super) start_registry: bool,
    pub(super) registry_running: bool,
    pub(super) start_console: bool,
    pub(super) console_running: bool,
    pub(super) start_connect: bool,
    pub(super) connect_running: bool,
    pub(super) start_redis: bool,
    pub(super) redis_running: bool,
}

impl Plan {
    /// Whether nothing at all is started.
    pub(super) fn nothing_to_start(&self) -> bool {
        self.to_start.is_empty()
            && self.zookeeper_to_start.is_empty()
            && !self.start_registry
            && !self.start_console
            && !self.start_connect
            && !self.start_redis
    }
}

impl LocalProvider {
    /// Wipes the stack with `clean`, checks the stored topology, and finds
    /// which processes must be started (removing stale PID files).
    pub(super) async fn plan(
        &self,
        config: &ClusterConfig,
        options: &StartOptions,
        progress: &dyn Progress,
    ) -> Result<Plan> {
        std::fs::create_dir_all(&self.data_dir)
            .map_err(ClusterError::io("cannot create", &self.data_dir))?;
        let mut stored = self.load_state()?;
        if options.clean {
            self.stop_all(stored.as_ref(), &StopOptions::default(), progress)
                .await?;
            progress.report(ProgressEvent::Started {
                step: Step::RemoveData,
            });
            let removed = self.wipe(stored.as_ref())?;
            progress.report(ProgressEvent::Finished {
                step: Step::RemoveData,
                detail: format!("{} entries removed", removed.len()),
            });
            std::fs::create_dir_all(&self.data_dir)
                .map_err(ClusterError::io("cannot create", &self.data_dir))?;
            stored = None;
        }
        if let Some(s) = &stored {
            let wanted = Stored::new(config, s.cluster_id.clone(), None);
            if s.topology() != wanted.topology() {
                return Err(ClusterError::TopologyChanged {
                    reason: format!(
                        "{} holds {}, but {} were requested; \
                         recreating it deletes its data, or use another data directory",
                        self.data_dir.display(),
                        s.describe(),
                        wanted.describe(),
                    ),
                });
            }
        }
        let mut to_start = Vec::new();
        for id in config.node_ids() {
            if self.take_stale(StackMember::Node(id), progress).await? {
                to_start.push(id);
            }
        }
        let mut zookeeper_to_start = Vec::new();
        if config.uses_zookeeper() {
            for n in config.zookeeper.node_ids() {
                let member = StackMember::Service(ServiceKind::Zookeeper(n));
                if self.take_stale(member, progress).await? {
                    zookeeper_to_start.push(n);
                }
            }
        }
        let registry = StackMember::Service(ServiceKind::SchemaRegistry);
        let registry_running = !self.take_stale(registry, progress).await?;
        let console_running = !self
            .take_stale(StackMember::Service(ServiceKind::Ui), progress)
            .await?;
        let connect_running = !self
            .take_stale(StackMember::Service(ServiceKind::Connect), progress)
            .await?;
        let redis_running = !self
            .take_stale(StackMember::Service(ServiceKind::Redis), progress)
            .await?;
        Ok(Plan {
            start_connect: options.services.connect && !connect_running,
            connect_running,
            start_redis: options.services.redis && !redis_running,
            redis_running,
            stored,
            start_registry: options.services.schema_registry && !registry_running,
            registry_running,
            start_console: options.services.ui && options.console.is_some() && !console_running,
            console_running,
            to_start,
            zookeeper_to_start,
        })
    }

    /// Whether `member` must be started: true when it does not run (a stale
    /// PID file is removed and noted, once its process released its ports).
    pub(super) async fn take_stale(
        &self,
        member: StackMember,
        progress: &dyn Progress,
    ) -> Result<bool> {
        match self.check(member) {
            PidCheck::Alive(_) => Ok(false),
            PidCheck::Stale(pid) => {
                process::wait_released(pid, std::time::Duration::from_secs(15)).await;
                process::remove_file(&self.pid_file(member))?;
                progress.report(ProgressEvent::Note {
                    message: format!(
                        "removed the stale pid file of {member} (pid {pid} is not running)"
                    ),
                });
                Ok(true)
            }
            PidCheck::None => Ok(true),
        }
    }

    /// Every port the plan needs must be free before anything starts.
    pub(super) fn check_ports(
        config: &ClusterConfig,
        plan: &Plan,
        proxied: bool,
        progress: &dyn Progress,
    ) -> Result<()> {
        progress.report(ProgressEvent::Started {
            step: Step::CheckPorts,
        });
        let net = &config.network;
        let mut needed: Vec<(u16, String)> = Vec::new();
        needed.extend(super::zookeeper::ports_needed(
            config,
            &plan.zookeeper_to_start,
        ));
        for &id in &plan.to_start {
            needed.push((net.kafka_port(id), format!("node {id} client listener")));
            if !config.uses_zookeeper() {
                needed.push((
                    net.controller_port(id),
                    format!("node {id} controller listener"),
                ));
            }
            if let Some(p) = net.jmx_port(id) {
                needed.push((p, format!("node {id} JMX")));
            }
        }
        if plan.start_registry {
            needed.push((net.schema_registry_port, "schema registry".into()));
            if proxied {
                needed.push((
                    net.schema_registry_internal_port,
                    "schema registry (behind its root-path proxy)".into(),
                ));
            }
        }
        if plan.start_connect {
            needed.push((net.connect_port, "Kafka Connect REST API".into()));
        }
        if plan.start_redis {
            needed.push((net.redis_port, "Redis".into()));
        }
        if plan.start_console {
            needed.push((net.ui_port, "web console".into()));
        }
        for (port, purpose) in &needed {
            if !process::port_free(&net.host, *port) {
                return Err(ClusterError::PortInUse {
                    host: net.host.clone(),
                    port: *port,
                    purpose: purpose.clone(),
                });
            }
        }
        progress.report(ProgressEvent::Finished {
            step: Step::CheckPorts,
            detail: format!("{} ports free", needed.len()),
        });
        Ok(())
    }
}
