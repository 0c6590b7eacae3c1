//! Isolation of a local node on loopback with iptables: DROP rules on its
//! client and controller ports in both directions, and a DROP of everything
//! its process sends (matched by a cgroup v2 group the process is moved
//! into, so its own connections to the other nodes are cut too). Every rule
//! carries the comment `tda-kafka-fault-node-<client port>`; heal deletes
//! exactly the rules with that comment.

use std::path::PathBuf;
use std::process::Command;

use crate::{ClusterError, Result};

/// The prefix of every rule's comment.
pub const RULE_TAG: &str = "tda-kafka-fault";

/// The ports of the node to isolate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NodePorts {
    /// Client listener.
    pub kafka: u16,
    /// Controller listener.
    pub controller: u16,
}

/// The comment of the rules of the node with client port `kafka`.
pub(crate) fn tag(kafka: u16) -> String {
    format!("{RULE_TAG}-node-{kafka}")
}

fn fault_error(reason: impl Into<String>) -> ClusterError {
    ClusterError::Fault {
        fault: "isolate".into(),
        reason: reason.into(),
    }
}

/// Whether we run as root (from `/proc/self/status`, the effective uid).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().nth(1))
            == Some("0")
    })
}

/// Runs `iptables -w ARGS`, returning its output.
fn iptables(args: &[String]) -> Result<String> {
    if !is_root() {
        return Err(fault_error(
            "network isolation changes the firewall and needs root: run it with sudo (as root)",
        ));
    }
    let out = Command::new("iptables")
        .arg("-w")
        .args(args)
        .output()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                fault_error(
                    "iptables was not found on the PATH; install it (`apt-get install iptables`)",
                )
            } else {
                fault_error(format!("cannot run iptables: {e}"))
            }
        })?;
    if !out.status.success() {
        return Err(fault_error(format!(
            "`iptables -w {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The mount point of the cgroup v2 hierarchy (from `/proc/self/mountinfo`).
fn cgroup2_root() -> Option<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        if post.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        Some(PathBuf::from(pre.split_whitespace().nth(4)?))
    })
}

/// The cgroup (relative to the v2 root) of the node with client port `kafka`.
fn cgroup_name(kafka: u16) -> String {
    format!("{RULE_TAG}-node-{kafka}")
}

/// The local ports of the TCP sockets `pid` holds now (from `/proc/PID/fd`
/// and `/proc/net/tcp{,6}`): its connections opened before it was moved into
/// the cgroup, which the cgroup rule does not match (a socket keeps the
/// cgroup it was created in).
fn socket_ports(pid: u32) -> Vec<u16> {
    let inodes: std::collections::HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy();
            Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    let mut ports: Vec<u16> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .flat_map(|t| {
            t.lines()
                .skip(1)
                .filter_map(|l| {
                    let w: Vec<&str> = l.split_whitespace().collect();
                    let inode = w.get(9)?;
                    if !inodes.contains(*inode) {
                        return None;
                    }
                    let port = w.get(1)?.rsplit_once(':')?.1;
                    u16::from_str_radix(port, 16).ok()
                })
                .collect::<Vec<_>>()
        })
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// The rules for `ports` and the node's other socket ports `own` (as
/// `iptables` arguments after `-I`/`-D`), `cgroup` naming the group of the
/// node's process.
fn rules(ports: NodePorts, own: &[u16], cgroup: &str) -> Vec<Vec<String>> {
    let tag = tag(ports.kafka);
    let mut out = Vec::new();
    let mut all = vec![ports.kafka, ports.controller];
    for &p in own {
        if !all.contains(&p) {
            all.push(p);
        }
    }
    for port in all {
        out.push(format!(
            "INPUT -i lo -p tcp --dport {port} -m comment --comment {tag} -j DROP"
        ));
        out.push(format!(
            "OUTPUT -o lo -p tcp --sport {port} -m comment --comment {tag} -j DROP"
        ));
    }
    out.push(format!(
        "OUTPUT -o lo -m cgroup --path {cgroup} -m comment --comment {tag} -j DROP"
    ));
    out.into_iter()
        .map(|r| r.split(' ').map(String::from).collect())
        .collect()
}

/// Cuts the node with `ports` and process `pid` off loopback; returns the
/// rules added. Isolating an isolated node first heals it (no duplicates).
pub(crate) fn isolate(ports: NodePorts, pid: u32) -> Result<Vec<String>> {
    heal(ports.kafka)?;
    let root = cgroup2_root().ok_or_else(|| {
        fault_error("no cgroup v2 hierarchy is mounted (needed to match the node's own connections); mount one, e.g. `mount -t cgroup2 none /sys/fs/cgroup/unified`")
    })?;
    let name = cgroup_name(ports.kafka);
    let dir = root.join(&name);
    std::fs::create_dir_all(&dir).map_err(ClusterError::io("cannot create cgroup", &dir))?;
    let procs = dir.join("cgroup.procs");
    std::fs::write(&procs, format!("{pid}\n")).map_err(ClusterError::io(
        "cannot move the node's process into",
        &procs,
    ))?;
    for rule in rules(ports, &socket_ports(pid), &name) {
        let mut args = vec!["-I".to_string()];
        args.extend(rule);
        if let Err(e) = iptables(&args) {
            let _ = heal(ports.kafka);
            return Err(e);
        }
    }
    // As `iptables -S` prints them: what heal will remove.
    tagged(ports.kafka)
}

/// The rules tagged for the node with client port `kafka`, as `iptables -S`
/// prints them (INPUT, then OUTPUT).
fn tagged(kafka: u16) -> Result<Vec<String>> {
    let tag = tag(kafka);
    let mut out = Vec::new();
    for chain in ["INPUT", "OUTPUT"] {
        let listing = iptables(&["-S".into(), chain.into()])?;
        out.extend(
            listing
                .lines()
                .filter(|line| {
                    line.starts_with("-A ")
                        && line
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .windows(2)
                            .any(|w| w[0] == "--comment" && w[1].trim_matches('"') == tag)
                })
                .map(String::from),
        );
    }
    Ok(out)
}

/// Deletes every rule tagged for the node with client port `kafka` and
/// returns the group's processes to the root group; returns the rules removed.
pub(crate) fn heal(kafka: u16) -> Result<Vec<String>> {
    let removed = tagged(kafka)?;
    for line in &removed {
        let mut args = vec!["-D".to_string()];
        args.extend(line.split_whitespace().skip(1).map(String::from));
        iptables(&args)?;
    }
    if let Some(root) = cgroup2_root() {
        let dir = root.join(cgroup_name(kafka));
        if dir.exists() {
            let pids = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
            for pid in pids.lines() {
                let _ = std::fs::write(root.join("cgroup.procs"), format!("{pid}\n"));
            }
            std::fs::remove_dir(&dir).map_err(ClusterError::io("cannot remove cgroup", &dir))?;
        }
    }
    Ok(removed)
}

/// Whether any rule is tagged for the node with client port `kafka`; false
/// (without an error) when iptables cannot be run.
pub(crate) fn is_isolated(kafka: u16) -> bool {
    tagged(kafka).is_ok_and(|r| !r.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_cover_both_ports_both_directions_and_the_process() {
        let r = rules(
            NodePorts {
                kafka: 23092,
                controller: 23192,
            },
            &[23092, 40000],
            "g",
        );
        let text: Vec<String> = r.iter().map(|r| r.join(" ")).collect();
        assert_eq!(
            text.len(),
            7,
            "two per port, once per port, and the cgroup rule"
        );
        assert!(text.contains(&"INPUT -i lo -p tcp --dport 40000 -m comment --comment tda-kafka-fault-node-23092 -j DROP".to_string()));
        assert!(text.contains(&"INPUT -i lo -p tcp --dport 23092 -m comment --comment tda-kafka-fault-node-23092 -j DROP".to_string()));
        assert!(text.contains(&"OUTPUT -o lo -p tcp --sport 23192 -m comment --comment tda-kafka-fault-node-23092 -j DROP".to_string()));
        assert!(text.iter().any(|t| t.contains("-m cgroup --path g")));
        assert!(text.iter().all(|t| t.contains(&tag(23092))));
    }

    #[test]
    fn the_socket_ports_of_a_process_are_found() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let own = socket_ports(std::process::id());
        assert!(own.contains(&port));
        assert!(own.contains(&c.local_addr().unwrap().port()));
    }

    #[test]
    fn the_cgroup2_mount_is_found_when_there_is_one() {
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert_eq!(cgroup2_root().is_some(), info.contains(" - cgroup2 "));
    }
}
