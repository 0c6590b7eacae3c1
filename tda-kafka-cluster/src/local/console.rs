//! The web console as a service of the local stack: the `tda-kafka ui`
//! process on `TDA_KAFKA_UI_PORT`, pointed at the stack's brokers, registry
//! and Connect, ready when `GET /` answers 200.

use tda_kafka_config::ClusterConfig;

use super::process;
use super::services::Spawned;
use super::{Launched, LocalProvider, REGISTRY_API};
use crate::{ClusterError, ConsoleLaunch, Result, ServiceAddress, ServiceKind, StackMember};

impl LocalProvider {
    /// The console's command line: `ui` with the stack's addresses, the
    /// marker that identifies this stack's console, then `launch.args`.
    fn console_args(
        &self,
        config: &ClusterConfig,
        launch: &ConsoleLaunch,
        registry: bool,
    ) -> Vec<String> {
        let net = &config.network;
        let mut args = vec![
            "ui".to_string(),
            format!("--listen={}:{}", net.host, net.ui_port),
            format!("--bootstrap={}", config.bootstrap_servers()),
            format!("--connect=http://{}:{}", net.host, net.connect_port),
            self.marker(StackMember::Service(ServiceKind::Ui)),
        ];
        args.push(if registry {
            format!(
                "--registry=http://{}:{}{REGISTRY_API}",
                net.host, net.schema_registry_port
            )
        } else {
            "--no-registry".into()
        });
        args.extend(launch.args.iter().cloned());
        args
    }

    /// Starts the console process; the caller waits for it with the other
    /// services (`services::wait_all`: `GET /` answers 200).
    pub(super) fn spawn_console(
        &self,
        config: &ClusterConfig,
        launch: &ConsoleLaunch,
        registry: bool,
        launched: &mut Vec<Launched>,
    ) -> Result<Spawned> {
        let member = StackMember::Service(ServiceKind::Ui);
        let dir = self.console_dir();
        std::fs::create_dir_all(&dir).map_err(ClusterError::io("cannot create", &dir))?;
        let log = self.log_file(member);
        let args = self.console_args(config, launch, registry);
        let pid = process::spawn_detached(&launch.program, &args, &dir, &log)?;
        let this = Launched { member, pid, log };
        launched.push(this.clone());
        process::write_pid(&self.pid_file(member), pid)?;
        Ok(Spawned {
            kind: ServiceKind::Ui,
            at: ServiceAddress::new(config.network.host.clone(), config.network.ui_port, ""),
            launched: this,
        })
    }
}
