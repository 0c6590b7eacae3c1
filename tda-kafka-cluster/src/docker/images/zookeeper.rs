//! The ZooKeeper-mode image of the `local` set, [`local::KAFKA_ZOOKEEPER`]:
//! the local provider's ZooKeeper-mode jars (Kafka 3.9.1 with ZooKeeper
//! 3.8.4, `KafkaDist::resolve_for`) on the JRE base, with the same
//! entrypoint as the KRaft image. `zookeeper` runs an ensemble node from the
//! `zoo.cfg` lines it is given, `broker` a ZooKeeper-mode broker (no storage
//! format); both log through log4j 1 (reload4j) to the container's output.

use bollard::Docker;
use tda_kafka_config::MetadataMode;

use super::context::{build_image, Context};
use super::{blocking, local, BuildOptions, BuiltImage, ENTRYPOINT};
use crate::dist::KafkaDist;
use crate::{Progress, Result};

/// Where the image's nodes keep their data (`dataDir`, a named volume).
pub const ZOOKEEPER_DATA_DIR: &str = "/var/lib/zookeeper/data";

/// Builds (or keeps) [`local::KAFKA_ZOOKEEPER`] on the base image. Always
/// part of `images build`, so that after one build the set runs both modes
/// (and `auto` never falls back for a missing image); the content label
/// keeps it cached, the jars are fetched once.
pub(super) async fn build_kafka_zookeeper(
    docker: &Docker,
    base_content: &str,
    options: &BuildOptions,
    progress: &dyn Progress,
) -> Result<BuiltImage> {
    let dist = blocking(|| KafkaDist::resolve_for(MetadataMode::Zookeeper, false, progress))?;
    let mut ctx = Context::new();
    ctx.add_text("Dockerfile", &dockerfile(), 0o644);
    ctx.add_text("bin/tda-kafka-entrypoint", ENTRYPOINT, 0o755);
    ctx.add_text(
        "config/log4j.properties",
        crate::local::LOG4J1_PROPERTIES,
        0o644,
    );
    ctx.add_dir_files("libs", &dist.libs, "jar")?;
    build_image(
        docker,
        local::KAFKA_ZOOKEEPER,
        base_content,
        ctx,
        options,
        progress,
    )
    .await
}

/// No `VOLUME`: the topology mounts a named volume on the data directory of
/// what a container runs (a node's or a broker's), and an image volume
/// would add an anonymous one to the other.
fn dockerfile() -> String {
    format!(
        "FROM {base}\n\
         COPY libs/ /opt/kafka/libs/\n\
         COPY config/ /opt/kafka/config/\n\
         COPY bin/ /opt/kafka/bin/\n\
         ENV PATH=/opt/kafka/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n\
         EXPOSE 2181 2888 3888 9092\n\
         ENTRYPOINT [\"/opt/kafka/bin/tda-kafka-entrypoint\"]\n\
         CMD [\"broker\"]\n",
        base = local::BASE
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_image_runs_the_entrypoint_with_log4j1_and_no_image_volume() {
        let file = dockerfile();
        assert!(
            file.starts_with(&format!("FROM {}\n", local::BASE)),
            "{file}"
        );
        assert!(!file.contains("VOLUME"), "{file}");
        assert!(ENTRYPOINT.contains("zookeeper)"));
        assert!(crate::local::LOG4J1_PROPERTIES.contains("log4j.rootLogger"));
    }
}
