//! The JRE base image: a `debootstrap --variant=minbase` rootfs of Debian
//! bookworm (cached as a tarball in the user cache) imported with the
//! engine's import API. The only place that shells out to debootstrap.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use bollard::query_parameters::CreateImageOptionsBuilder;
use bollard::Docker;
use futures::StreamExt;
use sha2::{Digest, Sha256};

use crate::{ClusterError, Progress, ProgressEvent, Result, Step};

use super::context::hex;
use super::{image_content, local, BuildOptions, BuildOutcome, BuiltImage, CONTENT_LABEL};

const BASE_PACKAGES: &str = "openjdk-17-jre-headless,redis-server,curl";
const BASE_SUITE: &str = "bookworm";
/// Bump to invalidate cached base images when the recipe changes.
const BASE_RECIPE: &str = "minbase-v1";

/// The Debian mirror of this machine's apt sources (for debootstrap).
pub fn debian_mirror() -> String {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(rd) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        more.sort();
        files.extend(more);
    }
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        if let Some(m) = mirror_from_sources(&text) {
            return m;
        }
    }
    "http://deb.debian.org/debian".into()
}

/// Finds the main Debian archive URI (not `-security`) in apt sources text,
/// either one-line (`deb URI bookworm main`) or deb822 (`URIs: URI`).
pub fn mirror_from_sources(text: &str) -> Option<String> {
    let is_archive = |u: &str| {
        (u.starts_with("http://") || u.starts_with("https://"))
            && u.trim_end_matches('/').ends_with("/debian")
    };
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let uri = if let Some(rest) = line.strip_prefix("URIs:") {
            rest.split_whitespace().next()
        } else if line.starts_with("deb ") {
            line.split_whitespace()
                .skip(1)
                .find(|w| !w.starts_with('['))
        } else {
            None
        };
        if let Some(u) = uri.filter(|u| is_archive(u)) {
            return Some(u.trim_end_matches('/').to_string());
        }
    }
    None
}

async fn run_logged(program: &str, args: &[&str], artifact: &str, log: &Path) -> Result<()> {
    let log_file = std::fs::File::create(log).map_err(ClusterError::io("cannot create", log))?;
    let log_err = log_file
        .try_clone()
        .map_err(ClusterError::io("cannot open", log))?;
    let status = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_err)
        .status()
        .await
        .map_err(|source| ClusterError::Spawn {
            program: program.into(),
            source,
        })?;
    if status.success() {
        return Ok(());
    }
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let tail: Vec<&str> = text.lines().rev().take(15).collect();
    Err(ClusterError::FetchFailed {
        artifact: artifact.into(),
        command: format!("{program} {}", args.join(" ")),
        status: status.to_string(),
        output_tail: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
    })
}

pub(super) async fn build_base(
    docker: &Docker,
    options: &BuildOptions,
    progress: &dyn Progress,
) -> Result<BuiltImage> {
    let t0 = Instant::now();
    let mut h = Sha256::new();
    h.update(format!("{BASE_RECIPE}\0{BASE_SUITE}\0{BASE_PACKAGES}").as_bytes());
    let content = hex(&h.finalize());
    let step = Step::Other {
        name: format!("image {}", local::BASE),
    };
    if !options.force && image_content(docker, local::BASE).await?.as_deref() == Some(&content) {
        progress.report(ProgressEvent::Skipped {
            step,
            reason: "up to date (same content label)".into(),
        });
        return Ok(BuiltImage {
            image: local::BASE.into(),
            outcome: BuildOutcome::Cached,
            content,
            took: t0.elapsed(),
        });
    }
    progress.report(ProgressEvent::Started { step: step.clone() });
    let dir = options.cache_dir.join("docker");
    std::fs::create_dir_all(&dir).map_err(ClusterError::io("cannot create", &dir))?;
    let tarball = dir.join(format!("rootfs-{BASE_SUITE}-{}.tar", &content[..12]));
    if !tarball.exists() {
        let artifact = format!("Debian {BASE_SUITE} rootfs with {BASE_PACKAGES}");
        progress.report(ProgressEvent::Started {
            step: Step::Fetch {
                artifact: artifact.clone(),
            },
        });
        let root = dir.join(format!("rootfs-{}.tmp", &content[..12]));
        if root.exists() {
            std::fs::remove_dir_all(&root).map_err(ClusterError::io("cannot remove", &root))?;
        }
        let mirror = options.debian_mirror.clone().unwrap_or_else(debian_mirror);
        let root_s = root.to_string_lossy().into_owned();
        let include = format!("--include={BASE_PACKAGES}");
        run_logged(
            "debootstrap",
            &["--variant=minbase", &include, BASE_SUITE, &root_s, &mirror],
            &artifact,
            &dir.join("debootstrap.log"),
        )
        .await?;
        // Downloaded .debs are not needed in the image.
        let archives = root.join("var/cache/apt/archives");
        if let Ok(rd) = std::fs::read_dir(&archives) {
            for e in rd.flatten() {
                if e.path().extension().is_some_and(|x| x == "deb") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let partial = tarball.with_extension("tar.partial");
        let partial_s = partial.to_string_lossy().into_owned();
        run_logged(
            "tar",
            &["-C", &root_s, "-cf", &partial_s, "."],
            &artifact,
            &dir.join("tar.log"),
        )
        .await?;
        std::fs::rename(&partial, &tarball).map_err(ClusterError::io("cannot rename", &partial))?;
        std::fs::remove_dir_all(&root).map_err(ClusterError::io("cannot remove", &root))?;
        progress.report(ProgressEvent::Finished {
            step: Step::Fetch { artifact },
            detail: tarball.display().to_string(),
        });
    }
    import_rootfs(docker, &tarball, &content).await?;
    let took = t0.elapsed();
    progress.report(ProgressEvent::Finished {
        step,
        detail: format!("imported in {:.1} s", took.as_secs_f64()),
    });
    Ok(BuiltImage {
        image: local::BASE.into(),
        outcome: BuildOutcome::Built,
        content,
        took,
    })
}

/// `tar -C DIR -c . | docker import - NAME`, through the engine API.
async fn import_rootfs(docker: &Docker, tarball: &Path, content: &str) -> Result<()> {
    let (repo, tag) = local::BASE
        .split_once(':')
        .unwrap_or((local::BASE, "latest"));
    let changes = vec![
        format!("LABEL {CONTENT_LABEL}={content}"),
        "ENV LANG=C.UTF-8".to_string(),
        "CMD [\"/bin/bash\"]".to_string(),
    ];
    let opts = CreateImageOptionsBuilder::default()
        .from_src("-")
        .repo(repo)
        .tag(tag)
        .changes(changes)
        .build();
    let file = tokio::fs::File::open(tarball)
        .await
        .map_err(ClusterError::io("cannot open", tarball))?;
    let body = futures::stream::unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt as _;
        let mut buf = vec![0u8; 1 << 20];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(bytes::Bytes::from(buf)), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    let mut stream = docker.create_image(Some(opts), Some(bollard::body_try_stream(body)), None);
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| ClusterError::ImageBuild {
            image: local::BASE.into(),
            message: format!("import of {} failed: {e}", tarball.display()),
        })?;
        if let Some(detail) = info.error_detail {
            return Err(ClusterError::ImageBuild {
                image: local::BASE.into(),
                message: detail.message.unwrap_or_default(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_is_read_from_deb822_and_one_line_sources() {
        let deb822 = "Types: deb\n# http://snapshot.debian.org/archive/debian/x\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n";
        assert_eq!(
            mirror_from_sources(deb822).as_deref(),
            Some("http://deb.debian.org/debian")
        );
        let security = "URIs: http://deb.debian.org/debian-security\n";
        assert_eq!(mirror_from_sources(security), None);
        let one = "deb [arch=amd64] http://mirror.example/debian/ bookworm main\n";
        assert_eq!(
            mirror_from_sources(one).as_deref(),
            Some("http://mirror.example/debian")
        );
    }
}
