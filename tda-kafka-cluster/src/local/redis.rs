//! Redis as a service of the local stack: Debian's `redis-server` on
//! `TDA_REDIS_PORT` with its configuration in a 0600 file (the password,
//! when `TDA_REDIS_PASSWORD` sets one, is never on a command line or in a
//! log); no persistence in development, an append-only file otherwise.

use std::path::PathBuf;

use tda_kafka_config::{ClusterConfig, Environment};

use super::process;
use super::services::Spawned;
use super::start::write_private;
use super::{Launched, LocalProvider};
use crate::{dist, ClusterError, Result, ServiceAddress, ServiceKind, StackMember};

impl LocalProvider {
    pub(super) fn redis_dir(&self) -> PathBuf {
        self.data_dir.join("redis")
    }

    /// The server's configuration file (its path marks the server's process).
    pub(super) fn redis_conf(&self) -> PathBuf {
        self.redis_dir().join("redis.conf")
    }

    /// `redis.conf` for `config`. It holds the password in clear: written
    /// readable by its owner only.
    pub(super) fn redis_config_text(&self, config: &ClusterConfig) -> String {
        let net = &config.network;
        let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
        let data = self.redis_dir().join("data");
        let mut lines = vec![
            "# Written by tda-kafka; the server's output goes to redis.log.".to_string(),
            format!("bind {}", net.host),
            format!("port {}", net.redis_port),
            "protected-mode yes".into(),
            "daemonize no".into(),
            "logfile \"\"".into(),
            // Keep our command line (it names this file): the PID check needs it.
            "set-proc-title no".into(),
            format!("dir {}", quote(&data.display().to_string())),
        ];
        if config.environment == Environment::Development {
            lines.extend(["save \"\"".into(), "appendonly no".into()]);
        } else {
            lines.extend([
                "save \"\"".into(),
                "appendonly yes".into(),
                "appendfsync everysec".into(),
            ]);
        }
        if let Some(pw) = &config.services.redis_password {
            lines.push(format!("requirepass {}", quote(pw.expose())));
        }
        lines.join("\n") + "\n"
    }

    /// Writes the configuration and launches `redis-server`; readiness is
    /// waited for by the caller.
    pub(super) fn spawn_redis(
        &self,
        config: &ClusterConfig,
        launched: &mut Vec<Launched>,
    ) -> Result<Spawned> {
        let program = dist::which("redis-server").ok_or_else(|| ClusterError::ProgramMissing {
            program: "redis-server".into(),
            service: ServiceKind::Redis.key(),
            install: "apt-get install redis-server".into(),
        })?;
        let member = StackMember::Service(ServiceKind::Redis);
        let dir = self.redis_dir();
        let data = dir.join("data");
        std::fs::create_dir_all(&data).map_err(ClusterError::io("cannot create", &data))?;
        write_private(&self.redis_conf(), &self.redis_config_text(config))?;
        let log = self.log_file(member);
        let pid = process::spawn_detached(&program, &[self.marker(member)], &dir, &log)?;
        let this = Launched { member, pid, log };
        launched.push(this.clone());
        process::write_pid(&self.pid_file(member), pid)?;
        Ok(Spawned {
            kind: ServiceKind::Redis,
            at: ServiceAddress::new(config.network.host.clone(), config.network.redis_port, ""),
            launched: this,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_keeps_nothing_production_appends_and_a_password_is_set() {
        let dir = tempfile::tempdir().unwrap();
        let p = LocalProvider::new(dir.path());
        let dev = p.redis_config_text(&ClusterConfig::default());
        assert!(
            dev.contains("appendonly no") && dev.contains("save \"\""),
            "{dev}"
        );
        assert!(!dev.contains("requirepass"), "{dev}");
        let mut prod = ClusterConfig::for_environment(Environment::Production);
        prod.services.redis_password = Some(tda_kafka_config::SecretString::new("p\"w"));
        let text = p.redis_config_text(&prod);
        assert!(text.contains("appendonly yes"), "{text}");
        assert!(text.contains("requirepass \"p\\\"w\""), "{text}");
        assert!(text.contains("port 6379") && text.contains("set-proc-title no"));
    }
}
