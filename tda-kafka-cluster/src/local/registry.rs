//! The schema registry of the local stack: Apicurio Registry with its H2
//! database under `registry/db` (schemas survive restarts). Apicurio serves
//! the Confluent API only under `/apis/ccompat/v7`; when the start was given
//! the `tda-kafka` binary ([`crate::StartOptions::registry_proxy`]) the
//! registry runs behind its root-path proxy ([`crate::registry_proxy`]):
//! `tda-kafka registry-proxy` listens on `TDA_SCHEMA_REGISTRY_PORT`, runs
//! Apicurio as its child on `TDA_SCHEMA_REGISTRY_INTERNAL_PORT` and stops
//! with it, so the seed's `http://localhost:8081` answers as one service.

use std::path::Path;

use tda_kafka_config::ClusterConfig;

use super::process;
use super::services::Spawned;
use super::{Launched, LocalProvider, REGISTRY_API};
use crate::dist::{registry_properties, Java, RegistryDist};
use crate::{ClusterError, Result, ServiceAddress, ServiceKind, StackMember};

/// Heap of the registry JVM.
pub(super) const REGISTRY_HEAP: &str = "-Xmx512m";

impl LocalProvider {
    /// The Apicurio command line (after `java`): heap, tuning, the marker,
    /// listener on `port`, the H2 file database.
    fn apicurio_args(
        &self,
        config: &ClusterConfig,
        reg: &RegistryDist,
        tuning: Vec<String>,
        port: u16,
    ) -> Vec<String> {
        let dir = self.registry_dir();
        let mut args = vec![REGISTRY_HEAP.to_string()];
        args.extend(tuning);
        args.extend(registry_properties());
        args.extend([
            self.marker(StackMember::Service(ServiceKind::SchemaRegistry)),
            format!("-Dquarkus.http.port={port}"),
            format!("-Dquarkus.http.host={}", config.network.host),
            format!(
                "-Dapicurio.datasource.url=jdbc:h2:file:{}/db/registry",
                dir.display()
            ),
            "-jar".into(),
            reg.runner_jar().display().to_string(),
        ]);
        args
    }

    /// Launches the registry (behind the proxy when `proxy` names the
    /// `tda-kafka` binary); readiness is waited for by the caller.
    pub(super) fn spawn_registry(
        &self,
        config: &ClusterConfig,
        reg: &RegistryDist,
        java: &Java,
        tuning: Vec<String>,
        proxy: Option<&Path>,
        launched: &mut Vec<Launched>,
    ) -> Result<Spawned> {
        let net = &config.network;
        let member = StackMember::Service(ServiceKind::SchemaRegistry);
        let dir = self.registry_dir();
        std::fs::create_dir_all(dir.join("db")).map_err(ClusterError::io("cannot create", &dir))?;
        let log = self.registry_log();
        let (program, args, base) = match proxy {
            Some(binary) => {
                let mut args = vec![
                    "registry-proxy".to_string(),
                    format!("--listen={}:{}", net.host, net.schema_registry_port),
                    format!(
                        "--upstream={}:{}",
                        net.host, net.schema_registry_internal_port
                    ),
                    "--".into(),
                    java.path.display().to_string(),
                ];
                args.extend(self.apicurio_args(
                    config,
                    reg,
                    tuning,
                    net.schema_registry_internal_port,
                ));
                (binary.to_path_buf(), args, "")
            }
            None => (
                java.path.clone(),
                self.apicurio_args(config, reg, tuning, net.schema_registry_port),
                REGISTRY_API,
            ),
        };
        let pid = process::spawn_detached(&program, &args, &dir, &log)?;
        let launched_now = Launched { member, pid, log };
        launched.push(launched_now.clone());
        process::write_pid(&self.registry_pid(), pid)?;
        Ok(Spawned {
            kind: ServiceKind::SchemaRegistry,
            at: ServiceAddress::new(net.host.clone(), net.schema_registry_port, base),
            launched: launched_now,
        })
    }
}
