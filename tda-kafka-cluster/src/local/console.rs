//! The web console as a service of the local stack: the `tda-kafka ui`
//! process on `TDA_KAFKA_UI_PORT`, pointed at the stack's brokers, registry
//! and Connect, ready when `GET /` answers 200.

use tda_kafka_config::ClusterConfig;

use super::process;
use super::start::check_launched;
use super::{Launched, LocalProvider, REGISTRY_API};
use crate::poll::{Attempt, Wait};
use crate::ready::probe_service;
use crate::{
    ClusterError, ConsoleLaunch, ProgressEvent, Result, ServiceAddress, ServiceKind, StackMember,
    Step,
};

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

    /// Starts the console and waits until it answers.
    pub(super) async fn start_console(
        &self,
        config: &ClusterConfig,
        launch: &ConsoleLaunch,
        registry: bool,
        launched: &mut Vec<Launched>,
        wait: &Wait<'_>,
    ) -> Result<()> {
        let member = StackMember::Service(ServiceKind::Ui);
        let step = Step::Other {
            name: "starting the web console".into(),
        };
        wait.progress
            .report(ProgressEvent::Started { step: step.clone() });
        let dir = self.console_dir();
        std::fs::create_dir_all(&dir).map_err(ClusterError::io("cannot create", &dir))?;
        let log = self.log_file(member);
        let args = self.console_args(config, launch, registry);
        let pid = process::spawn_detached(&launch.program, &args, &dir, &log)?;
        launched.push(Launched {
            member,
            pid,
            log: log.clone(),
        });
        process::write_pid(&self.pid_file(member), pid)?;
        let at = ServiceAddress::new(config.network.host.clone(), config.network.ui_port, "");
        let this: Vec<Launched> = launched.last().cloned().into_iter().collect();
        Wait {
            step: step.clone(),
            ..*wait
        }
        .until(
            || async {
                if let Err(e) = check_launched(&this) {
                    return Attempt::Failed(e);
                }
                match probe_service(ServiceKind::Ui, &at).await {
                    Ok(_) => Attempt::Ready(()),
                    Err(p) => Attempt::Pending(p),
                }
            },
            |waited, last_problem| ClusterError::NotReady {
                waited,
                last_problem: format!(
                    "the web console at {}: {last_problem}",
                    at.url(ServiceKind::Ui)
                ),
            },
        )
        .await?;
        wait.progress.report(ProgressEvent::Finished {
            step,
            detail: format!("pid {pid}, {}", at.url(ServiceKind::Ui)),
        });
        Ok(())
    }
}
