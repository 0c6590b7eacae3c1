//! Build contexts (tar archives assembled in memory, hashed into the
//! content label) and the build-API call that skips an image whose label
//! already matches.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use bollard::query_parameters::BuildImageOptionsBuilder;
use bollard::Docker;
use futures::StreamExt;
use sha2::{Digest, Sha256};

use crate::{ClusterError, Progress, ProgressEvent, Result, Step};

use super::{image_content, BuildOptions, BuildOutcome, BuiltImage, CONTENT_LABEL};

/// A build context: a tar archive assembled in memory, plus the hash of its inputs.
pub(super) struct Context {
    builder: tar::Builder<Vec<u8>>,
    hasher: Sha256,
}

impl Context {
    pub(super) fn new() -> Self {
        let mut builder = tar::Builder::new(Vec::new());
        builder.mode(tar::HeaderMode::Deterministic);
        Self {
            builder,
            hasher: Sha256::new(),
        }
    }

    pub(super) fn add_text(&mut self, path: &str, text: &str, mode: u32) {
        self.hasher.update(path.as_bytes());
        self.hasher.update([0]);
        self.hasher.update(text.as_bytes());
        self.hasher.update([0]);
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(mode);
        header.set_mtime(0);
        header.set_cksum();
        self.builder
            .append_data(&mut header, path, text.as_bytes())
            .expect("writing to an in-memory tar cannot fail");
    }

    /// Adds a file; its identity for the hash is its name and size (the
    /// cached artifacts are versioned by name).
    pub(super) fn add_file(&mut self, path: &str, src: &Path) -> Result<()> {
        let meta = std::fs::metadata(src).map_err(ClusterError::io("cannot read", src))?;
        self.hasher
            .update(format!("{path}\0{}\0", meta.len()).as_bytes());
        let mut file = std::fs::File::open(src).map_err(ClusterError::io("cannot open", src))?;
        self.builder
            .append_file(path, &mut file)
            .map_err(ClusterError::io("cannot add to the build context", src))
    }

    /// Adds a file whose name does not version it (the `tda-kafka` binary):
    /// its identity for the hash is a SHA-256 of its bytes, so any rebuild
    /// of it changes the content label.
    pub(super) fn add_file_by_digest(&mut self, path: &str, src: &Path) -> Result<()> {
        let bytes = std::fs::read(src).map_err(ClusterError::io("cannot read", src))?;
        let digest = Sha256::digest(&bytes);
        self.hasher
            .update(format!("{path}\0{}\0", hex(&digest)).as_bytes());
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o755);
        header.set_mtime(0);
        header.set_cksum();
        self.builder
            .append_data(&mut header, path, bytes.as_slice())
            .map_err(ClusterError::io("cannot add to the build context", src))
    }

    /// Adds every file under `src` (recursively, sorted) below `dir`,
    /// skipping the cache's completion markers.
    pub(super) fn add_tree(&mut self, dir: &str, src: &Path) -> Result<()> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(src)
            .map_err(ClusterError::io("cannot list", src))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if name.starts_with(".tda-kafka") {
                continue;
            }
            if p.is_dir() {
                self.add_tree(&format!("{dir}/{name}"), &p)?;
            } else {
                self.add_file(&format!("{dir}/{name}"), &p)?;
            }
        }
        Ok(())
    }

    pub(super) fn add_dir_files(&mut self, dir: &str, src: &Path, ext: &str) -> Result<()> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(src)
            .map_err(ClusterError::io("cannot list", src))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .collect();
        names.sort();
        for p in names {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            self.add_file(&format!("{dir}/{name}"), &p)?;
        }
        Ok(())
    }

    pub(super) fn finish(mut self, parent_content: &str) -> (Vec<u8>, String) {
        self.hasher.update(parent_content.as_bytes());
        let hash = hex(&self.hasher.finalize());
        let bytes = self
            .builder
            .into_inner()
            .expect("finishing an in-memory tar cannot fail");
        (bytes, hash)
    }
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) async fn build_image(
    docker: &Docker,
    image: &str,
    parent_content: &str,
    ctx: Context,
    options: &BuildOptions,
    progress: &dyn Progress,
) -> Result<BuiltImage> {
    let t0 = Instant::now();
    let step = Step::Other {
        name: format!("image {image}"),
    };
    let (context, content) = ctx.finish(parent_content);
    if !options.force && image_content(docker, image).await?.as_deref() == Some(&content) {
        progress.report(ProgressEvent::Skipped {
            step,
            reason: "up to date (same content label)".into(),
        });
        return Ok(BuiltImage {
            image: image.into(),
            outcome: BuildOutcome::Cached,
            content,
            took: t0.elapsed(),
        });
    }
    progress.report(ProgressEvent::Started { step: step.clone() });
    let labels = HashMap::from([(CONTENT_LABEL.to_string(), content.clone())]);
    let opts = BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(image)
        .rm(true)
        .forcerm(true)
        .labels(&labels)
        .build();
    let mut stream = docker.build_image(opts, None, Some(bollard::body_full(context.into())));
    let mut tail: Vec<String> = Vec::new();
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| ClusterError::ImageBuild {
            image: image.into(),
            message: format!("{e}; build output:\n{}", tail.join("")),
        })?;
        if let Some(detail) = info.error_detail {
            return Err(ClusterError::ImageBuild {
                image: image.into(),
                message: detail.message.unwrap_or_default(),
            });
        }
        if let Some(s) = info.stream {
            tail.push(s);
            if tail.len() > 20 {
                tail.remove(0);
            }
        }
    }
    let took = t0.elapsed();
    progress.report(ProgressEvent::Finished {
        step,
        detail: format!("built in {:.1} s", took.as_secs_f64()),
    });
    Ok(BuiltImage {
        image: image.into(),
        outcome: BuildOutcome::Built,
        content,
        took,
    })
}
