//! The images that carry the `tda-kafka` binary (Debian bookworm like the
//! build machine; its shared libraries, libssl3 among them, come with the
//! base's curl): the schema registry behind the root-path proxy and the web
//! console. Their content labels cover a digest of the binary.

use bollard::Docker;

use super::context::{build_image, Context};
use super::{image_content, local, BuildOptions, BuildOutcome, BuiltImage, APICURIO_VERSION};
use crate::{ClusterError, Progress, ProgressEvent, Result, Step};

/// The binary's path inside both images.
pub const BINARY: &str = "/usr/local/bin/tda-kafka";
/// Apicurio's own port inside the registry container (behind the proxy on 8081).
pub const APICURIO_INTERNAL_PORT: u16 = 8085;
/// Apicurio's H2 database inside the registry container (a named volume).
pub const REGISTRY_DATA_DIR: &str = "/var/lib/apicurio";

/// Builds (or keeps) [`local::SCHEMA_REGISTRY`] on the Apicurio image and
/// [`local::CONSOLE`] on the base image.
pub(super) async fn build_binary_images(
    docker: &Docker,
    apicurio_content: &str,
    base_content: &str,
    options: &BuildOptions,
    progress: &dyn Progress,
) -> Result<Vec<BuiltImage>> {
    let recipes = [
        (
            local::SCHEMA_REGISTRY,
            registry_dockerfile(),
            apicurio_content,
        ),
        (local::CONSOLE, console_dockerfile(), base_content),
    ];
    let Some(binary) = &options.tda_kafka_binary else {
        let mut kept = Vec::new();
        for (image, _, _) in recipes {
            kept.push(keep_existing(docker, image, progress).await?);
        }
        return Ok(kept);
    };
    if !binary.is_file() {
        return Err(ClusterError::ImageBuild {
            image: local::CONSOLE.into(),
            message: format!("the tda-kafka binary {} is not a file", binary.display()),
        });
    }
    let mut built = Vec::new();
    for (image, dockerfile, parent) in recipes {
        let mut ctx = Context::new();
        ctx.add_text("Dockerfile", &dockerfile, 0o644);
        ctx.add_file_by_digest("bin/tda-kafka", binary)?;
        built.push(build_image(docker, image, parent, ctx, options, progress).await?);
    }
    Ok(built)
}

/// Without a binary to build from, an existing image is kept as it is.
async fn keep_existing(
    docker: &Docker,
    image: &str,
    progress: &dyn Progress,
) -> Result<BuiltImage> {
    let content = image_content(docker, image)
        .await?
        .ok_or_else(|| ClusterError::ImageBuild {
            image: image.into(),
            message:
                "it carries the tda-kafka binary, and none was given: build the image set \
                      with the tda-kafka tool (it copies itself) or set TDA_KAFKA_BIN to the binary"
                    .into(),
        })?;
    progress.report(ProgressEvent::Skipped {
        step: Step::Other {
            name: format!("image {image}"),
        },
        reason: "kept (no tda-kafka binary given to rebuild it from)".into(),
    });
    Ok(BuiltImage {
        image: image.into(),
        outcome: BuildOutcome::Cached,
        content,
        took: std::time::Duration::ZERO,
    })
}

/// The proxy on 8081 runs Apicurio (on [`APICURIO_INTERNAL_PORT`], loopback
/// only) as its child, hands SIGTERM on to it and ends with it.
fn registry_dockerfile() -> String {
    format!(
        "FROM {apicurio}\n\
         COPY bin/tda-kafka {BINARY}\n\
         ENV QUARKUS_HTTP_HOST=127.0.0.1 QUARKUS_HTTP_PORT={APICURIO_INTERNAL_PORT} \
         APICURIO_DATASOURCE_URL=jdbc:h2:file:{REGISTRY_DATA_DIR}/db/registry\n\
         EXPOSE 8081\n\
         ENTRYPOINT [\"{BINARY}\", \"registry-proxy\", \"--listen=0.0.0.0:8081\", \
         \"--upstream=127.0.0.1:{APICURIO_INTERNAL_PORT}\", \"--\", \"java\", \"-jar\", \
         \"/opt/apicurio/apicurio-registry-app-{APICURIO_VERSION}-runner.jar\"]\n",
        apicurio = local::REGISTRY
    )
}

/// The console; its flags (addresses, listen, published address) come from
/// the topology. It stops on SIGINT (Ctrl-C), so that is its stop signal.
fn console_dockerfile() -> String {
    format!(
        "FROM {base}\n\
         COPY bin/tda-kafka {BINARY}\n\
         EXPOSE 8080\n\
         STOPSIGNAL SIGINT\n\
         ENTRYPOINT [\"{BINARY}\", \"ui\"]\n",
        base = local::BASE
    )
}
