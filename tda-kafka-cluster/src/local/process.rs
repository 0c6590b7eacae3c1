//! Process plumbing of the local provider: PID files, liveness, signals,
//! spawning detached JVMs, ports and log tails.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;

use crate::{ClusterError, Result};

/// What a PID file says about its process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PidCheck {
    /// No PID file.
    None,
    /// The process runs and is ours.
    Alive(u32),
    /// The PID file names a process that is gone or is not ours.
    Stale(u32),
}

/// Reads a PID file.
pub(crate) fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether `pid` is a live (not zombie) process. Reaps it first if it is
/// our own exited child.
pub(crate) fn alive(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    // Reap our own child if it exited (ECHILD for other processes is fine).
    let _ = waitpid(Pid::from_raw(raw), Some(WaitPidFlag::WNOHANG));
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next());
            if state == Some('Z') {
                // It exited after the first waitpid: reap it now.
                let _ = waitpid(Pid::from_raw(raw), Some(WaitPidFlag::WNOHANG));
            }
            !matches!(state, Some('Z') | Some('X') | None)
        }
        Err(_) => false,
    }
}

/// The command line of `pid`, arguments separated by spaces.
pub(crate) fn cmdline(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        String::from_utf8_lossy(&raw)
            .split('\0')
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// Checks the PID file `path`; a live process counts as ours only when its
/// command line contains `marker` (a path unique to this cluster).
pub(crate) fn check_pid_file(path: &Path, marker: &str) -> PidCheck {
    match read_pid(path) {
        None if path.exists() => PidCheck::Stale(0),
        None => PidCheck::None,
        Some(pid) if alive(pid) && cmdline(pid).is_some_and(|c| c.contains(marker)) => {
            PidCheck::Alive(pid)
        }
        Some(pid) => PidCheck::Stale(pid),
    }
}

/// Sends `signal` to `pid`; a process that is already gone is not an error.
pub(crate) fn send(pid: u32, signal: Signal) -> std::result::Result<(), String> {
    let raw = i32::try_from(pid).map_err(|_| format!("invalid pid {pid}"))?;
    match kill(Pid::from_raw(raw), signal) {
        Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

/// Sends `signal` to the process group `pid` leads (every member is
/// spawned as its own group leader, see [`spawn_detached`]): a SIGKILL then
/// also ends the processes a member started (the registry behind its proxy).
pub(crate) fn send_group(pid: u32, signal: Signal) -> std::result::Result<(), String> {
    let raw = i32::try_from(pid).map_err(|_| format!("invalid pid {pid}"))?;
    match nix::sys::signal::killpg(Pid::from_raw(raw), signal) {
        Ok(()) => Ok(()),
        // Not a group leader (or gone): the process itself.
        Err(nix::errno::Errno::ESRCH) => send(pid, signal),
        Err(e) => Err(e.to_string()),
    }
}

/// Polls until `pid` has exited or `bound` expired; returns whether it exited.
pub(crate) async fn wait_exit(pid: u32, bound: Duration) -> bool {
    let deadline = Instant::now() + bound;
    loop {
        if !alive(pid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until a process that is no longer alive has released its files
/// and sockets: a multithreaded process (a JVM) whose main thread exited
/// first is a zombie while its other threads still hold the ports.
pub(crate) async fn wait_released(pid: u32, bound: Duration) {
    let deadline = Instant::now() + bound;
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    });
    let threads = || {
        std::fs::read_dir(format!("/proc/{pid}/task"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    // Only an exiting process is waited for; a reused pid belongs to another.
    while zombie && threads() > 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Spawns `program args` detached from the caller: own process group (so the
/// terminal's Ctrl-C does not reach it), stdin from /dev/null, stdout and
/// stderr appended to `log_file` (never the caller's pipes). Returns the pid.
pub(crate) fn spawn_detached(
    program: &Path,
    args: &[String],
    cwd: &Path,
    log_file: &Path,
) -> Result<u32> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_file)
        .map_err(ClusterError::io("cannot open log file", log_file))?;
    let log_err = log
        .try_clone()
        .map_err(ClusterError::io("cannot open log file", log_file))?;
    let child = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_err))
        .process_group(0)
        .spawn()
        .map_err(|source| ClusterError::Spawn {
            program: program.display().to_string(),
            source,
        })?;
    // The child is reaped by `alive` (while we live) or by init (after we exit).
    Ok(child.id())
}

/// The last `n` lines of a log file (reads at most the last 64 KiB).
pub(crate) fn log_tail(path: &Path, n: usize) -> String {
    let Ok(mut f) = std::fs::File::open(path) else {
        return format!("(no log at {})", path.display());
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(64 * 1024);
    if f.seek(SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    crate::dist::tail_lines(&String::from_utf8_lossy(&buf), n)
}

/// Whether `host:port` can be bound (nobody listens on it).
pub(crate) fn port_free(host: &str, port: u16) -> bool {
    TcpListener::bind((host, port)).is_ok()
}

/// Whether something accepts connections on `host:port`.
pub(crate) fn port_open(host: &str, port: u16) -> bool {
    let Ok(mut addrs) = (host, port).to_socket_addrs() else {
        return false;
    };
    addrs.any(|a| TcpStream::connect_timeout(&a, Duration::from_millis(300)).is_ok())
}

/// Writes `pid` to `path`.
pub(crate) fn write_pid(path: &Path, pid: u32) -> Result<()> {
    std::fs::write(path, format!("{pid}\n")).map_err(ClusterError::io("cannot write", path))
}

/// Removes a file that may not exist.
pub(crate) fn remove_file(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ClusterError::Io {
            action: "cannot remove",
            path: PathBuf::from(path),
            source: e,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_process_is_alive_and_a_bogus_pid_is_not() {
        assert!(alive(std::process::id()));
        assert!(!alive(u32::MAX));
        assert!(cmdline(std::process::id()).is_some());
    }

    #[test]
    fn pid_files_are_classified() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.pid");
        assert_eq!(check_pid_file(&path, "anything"), PidCheck::None);
        write_pid(&path, std::process::id()).unwrap();
        // Alive but without the marker in its command line: not ours.
        assert_eq!(
            check_pid_file(&path, "no-such-marker-in-cmdline"),
            PidCheck::Stale(std::process::id())
        );
        let me = cmdline(std::process::id()).unwrap();
        let marker = me.split(' ').next().unwrap();
        assert_eq!(
            check_pid_file(&path, marker),
            PidCheck::Alive(std::process::id())
        );
        std::fs::write(&path, "garbage").unwrap();
        assert_eq!(check_pid_file(&path, "x"), PidCheck::Stale(0));
    }

    #[test]
    fn ports_are_probed() {
        let l = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(!port_free("127.0.0.1", port));
        assert!(port_open("127.0.0.1", port));
        drop(l);
        assert!(port_free("127.0.0.1", port));
    }

    #[tokio::test]
    async fn detached_children_log_to_files_and_are_signalled() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("child.log");
        let pid = spawn_detached(
            Path::new("/bin/sh"),
            &["-c".into(), "echo hello; exec sleep 30".into()],
            dir.path(),
            &log,
        )
        .unwrap();
        assert!(alive(pid));
        // The shell writes before it execs sleep; wait for that (bounded).
        let deadline = Instant::now() + Duration::from_secs(10);
        while log_tail(&log, 5) != "hello" && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        send(pid, Signal::SIGTERM).unwrap();
        assert!(wait_exit(pid, Duration::from_secs(10)).await);
        assert!(!alive(pid));
        assert_eq!(log_tail(&log, 5), "hello");
    }
}
