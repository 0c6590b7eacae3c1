//! The machine check before a local start: the JVMs' heaps (plus their
//! off-heap overhead) must fit in the memory the machine has available, and
//! a production cluster needs a core per broker. Refused before anything is
//! launched, saying what is needed, what there is and what to change.

use tda_kafka_config::{ClusterConfig, Environment};

use super::process::PidCheck;
use super::LocalProvider;
use crate::{ClusterError, Progress, ProgressEvent, Result, StackMember, StartOptions};

/// What a JVM needs beyond its heap: metaspace, code cache, thread stacks,
/// direct buffers of the network layer.
pub(crate) const JVM_OVERHEAD: u64 = 256 * MIB;

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

/// What the machine has (read from `/proc/meminfo` and the CPU affinity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Machine {
    /// `MemAvailable` in bytes.
    pub mem_available: u64,
    /// `MemTotal` in bytes (the JVM's default heap is a quarter of it).
    pub mem_total: u64,
    /// CPUs this process may run on.
    pub cpus: usize,
}

impl Machine {
    /// The readings of this machine; `None` when `/proc/meminfo` cannot be read.
    pub(crate) fn read() -> Option<Self> {
        let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
        let field = |name: &str| -> Option<u64> {
            meminfo.lines().find_map(|l| {
                let rest = l.strip_prefix(name)?.strip_prefix(':')?;
                let kib: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
                Some(kib * 1024)
            })
        };
        Some(Self {
            mem_available: field("MemAvailable")?,
            mem_total: field("MemTotal")?,
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        })
    }
}

/// The maximum heap `-Xmx` in `flags` gives, in bytes (`None` without one).
pub(crate) fn max_heap(flags: &str) -> Option<u64> {
    flags
        .split_whitespace()
        .filter_map(|f| f.strip_prefix("-Xmx"))
        .filter_map(parse_size)
        .next_back()
}

/// A JVM size (`512m`, `2G`, `1048576`, `64k`).
fn parse_size(s: &str) -> Option<u64> {
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.split_at(i),
        None => (s, ""),
    };
    let n: u64 = digits.parse().ok()?;
    let mult = match unit.to_ascii_lowercase().as_str() {
        "" => 1,
        "k" => 1024,
        "m" => MIB,
        "g" => GIB,
        "t" => 1024 * GIB,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// What starting `nodes` JVMs with `config` needs, and whether `machine` has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Need {
    /// Heap of one node in bytes.
    pub heap: u64,
    /// Memory all nodes need (heaps plus overhead).
    pub memory: u64,
    /// CPUs needed.
    pub cpus: usize,
    /// What is short (empty when it fits).
    pub problems: Vec<String>,
}

/// The arithmetic of the check, on injected readings.
pub(crate) fn assess(config: &ClusterConfig, nodes: usize, machine: &Machine) -> Need {
    let flags = config.heap_flags();
    // Without -Xmx the JVM takes a quarter of the physical memory.
    let heap = max_heap(&flags).unwrap_or(machine.mem_total / 4);
    let count = nodes as u64;
    let memory = count.saturating_mul(heap.saturating_add(JVM_OVERHEAD));
    let cpus = match config.environment {
        // A production broker runs its network and IO thread pools on a core of its own.
        Environment::Production => nodes,
        _ => 1,
    };
    let mut problems = Vec::new();
    if memory > machine.mem_available {
        problems.push(format!(
            "memory: {nodes} Kafka JVMs with a {} heap each (`{flags}`) plus {} off-heap each need {}, but this machine has {} available (MemAvailable in /proc/meminfo)",
            human(heap),
            human(JVM_OVERHEAD),
            human(memory),
            human(machine.mem_available)
        ));
    }
    if cpus > machine.cpus {
        problems.push(format!(
            "CPU: {nodes} production brokers need {cpus} CPUs (one each), but this machine has {}",
            machine.cpus
        ));
    }
    Need {
        heap,
        memory,
        cpus,
        problems,
    }
}

/// The largest heap per node that fits `nodes` nodes in `available` bytes.
fn fitting_heap(nodes: usize, available: u64) -> u64 {
    let per_node = available / (nodes.max(1) as u64);
    per_node.saturating_sub(JVM_OVERHEAD) / MIB * MIB
}

/// Refuses to start `nodes` JVMs that do not fit this machine (production
/// and staging); in development a shortfall is a note (heaps are committed
/// lazily there, a laptop may still cope).
pub(crate) fn check(config: &ClusterConfig, nodes: usize, progress: &dyn Progress) -> Result<()> {
    if nodes == 0 {
        return Ok(());
    }
    let Some(machine) = Machine::read() else {
        progress.report(ProgressEvent::Note {
            message: "cannot read /proc/meminfo: memory was not checked".into(),
        });
        return Ok(());
    };
    check_on(config, nodes, &machine, progress)
}

impl LocalProvider {
    /// [`check`] for the nodes this start would launch: every node with
    /// `clean`, else those not running.
    pub(super) fn check_resources(
        &self,
        config: &ClusterConfig,
        options: &StartOptions,
        progress: &dyn Progress,
    ) -> Result<()> {
        let nodes = config
            .node_ids()
            .filter(|&id| {
                options.clean || !matches!(self.check(StackMember::Node(id)), PidCheck::Alive(_))
            })
            .count();
        check(config, nodes, progress)
    }
}

/// [`check`] on given readings.
pub(crate) fn check_on(
    config: &ClusterConfig,
    nodes: usize,
    machine: &Machine,
    progress: &dyn Progress,
) -> Result<()> {
    let need = assess(config, nodes, machine);
    if need.problems.is_empty() {
        return Ok(());
    }
    let fit = fitting_heap(nodes, machine.mem_available);
    let hint = format!(
        "set KAFKA_HEAP_OPTS=\"-Xmx{m}m -Xms{m}m\" (or KAFKA_HEAP_SIZE={m}m) in the env file, start fewer brokers (KAFKA_BROKER_COUNT / --brokers), or use a larger machine",
        m = (fit / MIB).max(256)
    );
    if config.environment == Environment::Development {
        progress.report(ProgressEvent::Note {
            message: format!("{}; {hint}", need.problems.join("; ")),
        });
        return Ok(());
    }
    Err(ClusterError::InsufficientResources {
        environment: config.environment.to_string(),
        problems: need.problems,
        hint,
    })
}

/// Bytes as MiB or GiB.
fn human(bytes: u64) -> String {
    if bytes >= GIB {
        format!("{:.1} GiB", bytes as f64 / GIB as f64)
    } else {
        format!("{} MiB", bytes / MIB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(gib: u64, cpus: usize) -> Machine {
        Machine {
            mem_available: gib * GIB,
            mem_total: (gib + 1) * GIB,
            cpus,
        }
    }

    #[test]
    fn sizes_and_heap_flags_are_parsed() {
        assert_eq!(parse_size("512m"), Some(512 * MIB));
        assert_eq!(parse_size("2G"), Some(2 * GIB));
        assert_eq!(parse_size("64k"), Some(64 * 1024));
        assert_eq!(parse_size("1048576"), Some(MIB));
        assert_eq!(parse_size("12x"), None);
        assert_eq!(max_heap("-Xms256m -Xmx512m"), Some(512 * MIB));
        assert_eq!(
            max_heap("-Xmx1g -Xmx2g"),
            Some(2 * GIB),
            "the last one wins"
        );
        assert_eq!(max_heap("-Xms1g"), None);
    }

    #[test]
    fn the_seed_production_profile_does_not_fit_23_gib_and_2_cpus() {
        let config = ClusterConfig::for_environment(Environment::Production);
        let need = assess(&config, 3, &machine(23, 2));
        assert_eq!(need.heap, 32 * GIB);
        assert_eq!(need.memory, 3 * (32 * GIB + JVM_OVERHEAD));
        assert_eq!(need.cpus, 3);
        assert_eq!(need.problems.len(), 2, "{:?}", need.problems);
        assert!(
            need.problems[0].contains("96.8 GiB"),
            "{}",
            need.problems[0]
        );
        assert!(
            need.problems[0].contains("23.0 GiB"),
            "{}",
            need.problems[0]
        );
        let err = check_on(&config, 3, &machine(23, 2), &crate::NoProgress).unwrap_err();
        let text = err.to_string();
        // 23 GiB / 3 - 256 MiB = 7594 MiB per node.
        assert!(
            text.contains("KAFKA_HEAP_OPTS=\"-Xmx7594m -Xms7594m\""),
            "{text}"
        );
        assert!(text.contains("production"), "{text}");
    }

    #[test]
    fn a_fitting_cluster_passes_and_development_only_notes() {
        let mut config = ClusterConfig::for_environment(Environment::Production);
        config.heap_opts = Some("-Xmx4g -Xms4g".into());
        assert!(assess(&config, 3, &machine(23, 4)).problems.is_empty());
        check_on(&config, 3, &machine(23, 4), &crate::NoProgress).unwrap();
        // Exactly at the limit fits; one byte less does not.
        let exact = Machine {
            mem_available: 3 * (4 * GIB + JVM_OVERHEAD),
            mem_total: 64 * GIB,
            cpus: 4,
        };
        assert!(assess(&config, 3, &exact).problems.is_empty());
        let short = Machine {
            mem_available: exact.mem_available - 1,
            ..exact
        };
        assert_eq!(assess(&config, 3, &short).problems.len(), 1);
        let dev = ClusterConfig::default();
        assert!(!assess(&dev, 3, &machine(1, 1)).problems.is_empty());
        check_on(&dev, 3, &machine(1, 1), &crate::NoProgress).unwrap();
        assert_eq!(assess(&dev, 3, &machine(1, 1)).cpus, 1);
    }

    #[test]
    fn without_xmx_a_quarter_of_the_memory_counts_and_no_nodes_need_nothing() {
        let mut config = ClusterConfig::for_environment(Environment::Staging);
        config.heap_opts = Some("-Xms1g".into());
        let m = machine(15, 8);
        assert_eq!(assess(&config, 1, &m).heap, 4 * GIB);
        check(&config, 0, &crate::NoProgress).unwrap();
    }
}
