//! Choosing the provider once: from an explicit request, or automatically
//! (a Docker engine with the image set's images for a start; containers of
//! the stack for an existing stack), with a typed reason.

use std::path::PathBuf;

use serde::Serialize;
use tda_kafka_config::ClusterConfig;

use crate::docker::{self, DockerProvider, ImageSet, StackOptions};
use crate::local::LocalProvider;
use crate::{Provider, ProviderKind, Result};

/// What the caller asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Selection {
    /// JVM processes on this machine.
    Local,
    /// Containers on the local Docker engine.
    Docker,
    /// Docker when it can run the stack (or runs it already), else local.
    #[default]
    Auto,
}

/// What the provider is selected for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Starting a stack: `auto` picks Docker when an engine has the images.
    Start,
    /// Operating an existing stack (stop, status, health): `auto` picks
    /// Docker when containers of the stack exist.
    Existing,
}

/// Which stack: the local data directory and the Docker stack placement.
#[derive(Debug, Clone, Default)]
pub struct StackTarget {
    /// The local provider's data directory; `None` = the default one. An
    /// explicit directory makes `auto` pick the local provider.
    pub data_dir: Option<PathBuf>,
    /// The Docker stack: name, image set, heap.
    pub stack: StackOptions,
}

/// Why a provider was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum SelectionReason {
    /// It was asked for by name.
    Requested,
    /// `auto` with an explicit local data directory.
    DataDirGiven,
    /// `auto`, and no Docker engine answers.
    NoEngine {
        /// What the engine client said.
        message: String,
    },
    /// `auto`, and the engine lacks an image of the set.
    ImageMissing {
        /// The engine's version.
        engine: String,
        /// The missing image.
        image: String,
        /// Its image set.
        image_set: ImageSet,
    },
    /// `auto`, and the engine has every image of the set.
    EngineWithImages {
        /// The engine's version.
        engine: String,
        /// The image set.
        image_set: ImageSet,
    },
    /// `auto` start in a metadata mode the image set does not run (ZooKeeper
    /// mode with the KRaft-only `apache` set).
    MetadataModeUnsupported {
        /// The image set.
        image_set: ImageSet,
    },
    /// `auto` for an existing stack whose containers exist.
    ContainersExist {
        /// The stack name.
        stack: String,
    },
    /// `auto` for an existing stack whose containers exist but do not run,
    /// while the local stack in the default data directory runs.
    LocalRunsDockerStopped {
        /// The stack name.
        stack: String,
    },
    /// `auto` for an existing stack that has no containers.
    NoContainers {
        /// The stack name.
        stack: String,
    },
}

impl std::fmt::Display for SelectionReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Requested => f.write_str("requested"),
            Self::DataDirGiven => f.write_str("auto: a local data directory was given"),
            Self::NoEngine { message } => write!(f, "auto: no Docker engine ({message})"),
            Self::ImageMissing {
                engine,
                image,
                image_set,
            } => write!(
                f,
                "auto: Docker engine {engine} runs, but image {image} of set `{image_set}` is missing"
            ),
            Self::EngineWithImages { engine, image_set } => {
                write!(f, "auto: Docker engine {engine} with the `{image_set}` images")
            }
            Self::MetadataModeUnsupported { image_set } => write!(
                f,
                "auto: ZooKeeper mode, which the `{image_set}` image set does not run"
            ),
            Self::ContainersExist { stack } => {
                write!(f, "auto: containers of stack `{stack}` exist")
            }
            Self::LocalRunsDockerStopped { stack } => write!(
                f,
                "auto: the local stack runs; the containers of stack `{stack}` do not"
            ),
            Self::NoContainers { stack } => {
                write!(f, "auto: no containers of stack `{stack}`")
            }
        }
    }
}

/// A chosen provider and why.
#[derive(Debug, Clone)]
pub struct Selected {
    /// The provider.
    pub provider: Provider,
    /// Why it was chosen.
    pub reason: SelectionReason,
}

impl Selected {
    /// Which provider was chosen.
    pub fn kind(&self) -> ProviderKind {
        crate::ClusterProvider::kind(&self.provider)
    }
}

fn local(target: &StackTarget, reason: SelectionReason) -> Selected {
    let dir = target
        .data_dir
        .clone()
        .unwrap_or_else(LocalProvider::default_data_dir);
    Selected {
        provider: Provider::Local(LocalProvider::new(dir)),
        reason,
    }
}

async fn docker(
    config: &ClusterConfig,
    target: &StackTarget,
    reason: SelectionReason,
) -> Result<Selected> {
    let p = DockerProvider::connect(config.clone(), target.stack.clone()).await?;
    Ok(Selected {
        provider: Provider::Docker(Box::new(p)),
        reason,
    })
}

/// Chooses the provider for `target` once. `config` describes the stack
/// (its ports: a Docker provider for an existing stack adopts what runs).
pub async fn select(
    selection: Selection,
    target: &StackTarget,
    config: &ClusterConfig,
    purpose: Purpose,
) -> Result<Selected> {
    match selection {
        Selection::Local => Ok(local(target, SelectionReason::Requested)),
        Selection::Docker => docker(config, target, SelectionReason::Requested).await,
        Selection::Auto if target.data_dir.is_some() => {
            Ok(local(target, SelectionReason::DataDirGiven))
        }
        Selection::Auto
            if purpose == Purpose::Start && !target.stack.image_set.runs(config.metadata) =>
        {
            let image_set = target.stack.image_set;
            Ok(local(
                target,
                SelectionReason::MetadataModeUnsupported { image_set },
            ))
        }
        Selection::Auto => {
            let engine = match docker::connect().await {
                Ok(engine) => engine,
                Err(e) => {
                    let message = match e {
                        crate::ClusterError::DockerUnavailable { message } => message,
                        other => other.to_string(),
                    };
                    return Ok(local(target, SelectionReason::NoEngine { message }));
                }
            };
            match purpose {
                Purpose::Start => {
                    let version = engine
                        .version()
                        .await
                        .ok()
                        .and_then(|v| v.version)
                        .unwrap_or_default();
                    let set = target.stack.image_set;
                    match docker::first_missing_image(&engine, config, &target.stack).await? {
                        Some(image) => Ok(local(
                            target,
                            SelectionReason::ImageMissing {
                                engine: version,
                                image,
                                image_set: set,
                            },
                        )),
                        None => {
                            let reason = SelectionReason::EngineWithImages {
                                engine: version,
                                image_set: set,
                            };
                            docker(config, target, reason).await
                        }
                    }
                }
                Purpose::Existing => {
                    let stack = target.stack.name.clone();
                    let p = DockerProvider::connect(config.clone(), target.stack.clone()).await?;
                    if p.has_containers().await? {
                        // Stopped containers lose to a local stack that runs.
                        let docker_runs = crate::ClusterProvider::status(&p).await?.is_running();
                        let local_stack = local(
                            target,
                            SelectionReason::LocalRunsDockerStopped {
                                stack: stack.clone(),
                            },
                        );
                        if !docker_runs
                            && crate::ClusterProvider::status(&local_stack.provider)
                                .await
                                .is_ok_and(|s| s.is_running())
                        {
                            return Ok(local_stack);
                        }
                        Ok(Selected {
                            provider: Provider::Docker(Box::new(p)),
                            reason: SelectionReason::ContainersExist { stack },
                        })
                    } else {
                        Ok(local(target, SelectionReason::NoContainers { stack }))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tda_kafka_config::MetadataMode;

    fn zookeeper_mode() -> ClusterConfig {
        ClusterConfig {
            metadata: MetadataMode::Zookeeper,
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn auto_starts_zookeeper_mode_locally_when_the_image_set_runs_kraft_only() {
        let mut target = StackTarget::default();
        target.stack.image_set = ImageSet::Apache;
        let chosen = select(Selection::Auto, &target, &zookeeper_mode(), Purpose::Start)
            .await
            .unwrap();
        assert_eq!(chosen.kind(), ProviderKind::Local);
        assert_eq!(
            chosen.reason,
            SelectionReason::MetadataModeUnsupported {
                image_set: ImageSet::Apache
            }
        );
    }

    #[tokio::test]
    async fn auto_asks_the_engine_for_zookeeper_mode_with_the_local_image_set() {
        // The `local` set runs ZooKeeper mode: the choice is the engine's
        // (no engine, a missing image or Docker), never the mode's. A stack
        // name of its own, so nothing of another stack is looked at.
        let mut target = StackTarget::default();
        target.stack.name = "tda-select-unit".into();
        assert_eq!(target.stack.image_set, ImageSet::Local);
        let config = zookeeper_mode();
        let chosen = select(Selection::Auto, &target, &config, Purpose::Start)
            .await
            .unwrap();
        let topology = docker::topology::build(&config, &target.stack);
        assert!(topology.service("zookeeper-1").is_some());
        match &chosen.reason {
            SelectionReason::NoEngine { .. } => assert_eq!(chosen.kind(), ProviderKind::Local),
            SelectionReason::EngineWithImages { .. } => {
                assert_eq!(chosen.kind(), ProviderKind::Docker)
            }
            // A missing image of the ZooKeeper-mode stack (the engine lacks it).
            SelectionReason::ImageMissing { image, .. } => assert!(
                topology.services.iter().any(|s| &s.image == image),
                "{image}"
            ),
            other => panic!("unexpected reason {other:?}"),
        }
    }
}
