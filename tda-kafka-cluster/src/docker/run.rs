//! Output and one-off containers: `logs` of a service, the tail of a
//! container's output for errors, and `run_in_network` (like
//! `docker-compose run --rm`).

use std::time::Duration;

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptions, LogsOptions, RemoveContainerOptions};
use futures::{Stream, StreamExt};

use super::{docker_err, DockerProvider};
use crate::{ClusterError, Result};

impl DockerProvider {
    /// The last `lines` lines of a container's output.
    pub async fn log_tail(&self, container: &str, lines: usize) -> String {
        let opts = LogsOptions {
            stdout: true,
            stderr: true,
            tail: lines.to_string(),
            ..Default::default()
        };
        let mut out = String::new();
        let mut stream = self.docker.logs(container, Some(opts));
        while let Some(Ok(chunk)) = stream.next().await {
            out.push_str(&chunk.to_string());
        }
        out
    }

    /// The output of a service's container (`tda-kafka logs SERVICE [-f]`).
    /// `service` is a service key (`kafka-1`) or a container name (`tda_kafka_1`).
    pub fn logs(
        &self,
        service: &str,
        follow: bool,
        tail: Option<usize>,
    ) -> Result<impl Stream<Item = Result<String>> + '_> {
        let t = self.topology();
        let s = t
            .services
            .iter()
            .find(|s| s.key == service || s.container_name == service)
            .ok_or_else(|| ClusterError::UnknownMember {
                name: service.into(),
                known: t
                    .services
                    .iter()
                    .map(|s| s.key.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        let name = s.container_name.clone();
        let opts = LogsOptions {
            follow,
            stdout: true,
            stderr: true,
            tail: tail.map_or_else(|| "all".into(), |n| n.to_string()),
            ..Default::default()
        };
        Ok(self.docker.logs(&name, Some(opts)).map(move |r| {
            r.map(|chunk| chunk.to_string())
                .map_err(|e| docker_err(format!("logs of {name}"), e))
        }))
    }

    /// Runs a one-off container of `image` with `cmd` on the stack network
    /// (like `docker-compose run --rm`), waits up to `timeout` for it to exit
    /// and returns its exit code and output. The container is removed.
    /// Example: a console consumer reading through `kafka-1:9092`.
    pub async fn run_in_network(
        &self,
        image: &str,
        cmd: &[&str],
        timeout: Duration,
    ) -> Result<(i64, String)> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let name = format!("{}_run_{nanos}", self.options.name);
        let body = ContainerCreateBody {
            image: Some(image.into()),
            cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
            labels: Some(self.stack_labels()),
            env: Some(vec!["TOOL_HEAP_OPTS=-Xmx256m".into()]),
            host_config: Some(HostConfig {
                network_mode: Some(self.options.network_name()),
                ..Default::default()
            }),
            ..Default::default()
        };
        self.docker
            .create_container(
                Some(CreateContainerOptions {
                    name: Some(name.clone()),
                    ..Default::default()
                }),
                body,
            )
            .await
            .map_err(|e| docker_err(format!("create container {name}"), e))?;
        let run = async {
            self.docker
                .start_container(&name, None)
                .await
                .map_err(|e| docker_err(format!("start container {name}"), e))?;
            let mut wait = self.docker.wait_container(&name, None);
            let code = match wait.next().await {
                Some(Ok(r)) => r.status_code,
                Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => code,
                Some(Err(e)) => return Err(docker_err(format!("wait for {name}"), e)),
                None => -1,
            };
            Ok(code)
        };
        let result = tokio::time::timeout(timeout, run).await;
        let output = self.log_tail(&name, 10_000).await;
        let _ = self
            .docker
            .remove_container(
                &name,
                Some(RemoveContainerOptions {
                    force: true,
                    v: true,
                    ..Default::default()
                }),
            )
            .await;
        match result {
            Ok(code) => Ok((code?, output)),
            Err(_) => Err(ClusterError::NotReady {
                waited: timeout,
                last_problem: format!("one-off container {name} did not exit; output:\n{output}"),
            }),
        }
    }
}
