//! The state of a ZooKeeper ensemble (ZooKeeper mode), read with the
//! four-letter words every node answers: `ruok` (`imok`) and `srvr` (its
//! `Mode:` line: leader, follower, standalone). Used by the local start's
//! readiness wait, the stack's `health` and the console's overview.

use std::time::Duration;

use serde::Serialize;

/// The role a ZooKeeper node reports in `srvr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ZookeeperRole {
    /// Leads the ensemble.
    Leader,
    /// Follows the leader.
    Follower,
    /// A non-voting member.
    Observer,
    /// A single node without an ensemble.
    Standalone,
}

impl ZookeeperRole {
    /// Parses the value of `srvr`'s `Mode:` line.
    pub fn parse(mode: &str) -> Option<Self> {
        match mode.trim() {
            "leader" => Some(Self::Leader),
            "follower" => Some(Self::Follower),
            "observer" => Some(Self::Observer),
            "standalone" => Some(Self::Standalone),
            _ => None,
        }
    }

    /// `leader`, `follower`, `observer` or `standalone`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Leader => "leader",
            Self::Follower => "follower",
            Self::Observer => "observer",
            Self::Standalone => "standalone",
        }
    }
}

impl std::fmt::Display for ZookeeperRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one node answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZookeeperNodeState {
    /// Node id (`myid`).
    pub node: u16,
    /// `host:port` of its client port.
    pub address: String,
    /// Whether it answered `ruok` with `imok`.
    pub imok: bool,
    /// Its role from `srvr`, when it serves.
    pub role: Option<ZookeeperRole>,
    /// What was wrong, when something was.
    pub problem: Option<String>,
}

/// The ensemble as its nodes report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnsembleState {
    /// One entry per node, in node order.
    pub nodes: Vec<ZookeeperNodeState>,
}

impl EnsembleState {
    /// The node that leads, if exactly one does.
    pub fn leader(&self) -> Option<u16> {
        let mut leaders = self
            .nodes
            .iter()
            .filter(|n| n.role == Some(ZookeeperRole::Leader));
        match (leaders.next(), leaders.next()) {
            (Some(l), None) => Some(l.node),
            _ => None,
        }
    }

    /// How many nodes follow.
    pub fn followers(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| n.role == Some(ZookeeperRole::Follower))
            .count()
    }

    /// Every problem, one line each; none when every node answers `imok`
    /// and one leads while all others follow (or the one node of a
    /// single-node ensemble is standalone).
    pub fn problems(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .nodes
            .iter()
            .filter_map(|n| {
                n.problem
                    .as_ref()
                    .map(|p| format!("ZooKeeper {} at {}: {p}", n.node, n.address))
            })
            .collect();
        let serving = self.nodes.iter().filter(|n| n.role.is_some()).count();
        if out.is_empty() && serving == self.nodes.len() {
            let single =
                self.nodes.len() == 1 && self.nodes[0].role == Some(ZookeeperRole::Standalone);
            let formed = self.leader().is_some() && self.followers() + 1 == self.nodes.len();
            if !single && !formed {
                out.push(format!(
                    "the ZooKeeper ensemble has not formed: {}",
                    self.summary()
                ));
            }
        }
        out
    }

    /// Whether the ensemble is formed and every node is fine.
    pub fn is_healthy(&self) -> bool {
        !self.nodes.is_empty() && self.problems().is_empty()
    }

    /// `1 leader, 2 followers` style, or each node's answer when not formed.
    pub fn summary(&self) -> String {
        match self.leader() {
            Some(l) if self.followers() + 1 == self.nodes.len() => format!(
                "node {l} leads, {} follow{}",
                self.followers(),
                if self.followers() == 1 { "s" } else { "" }
            ),
            _ => self
                .nodes
                .iter()
                .map(|n| match (&n.role, &n.problem) {
                    (Some(r), _) => format!("node {}: {r}", n.node),
                    (None, Some(p)) => format!("node {}: {p}", n.node),
                    (None, None) => format!("node {}: no role", n.node),
                })
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// Asks every node in `nodes` (`(id, "host:port")`) `ruok` and `srvr`, all at once.
pub async fn ensemble_state(nodes: &[(u16, String)]) -> EnsembleState {
    let states = futures::future::join_all(nodes.iter().map(|(id, at)| node_state(*id, at))).await;
    EnsembleState { nodes: states }
}

async fn node_state(node: u16, at: &str) -> ZookeeperNodeState {
    let mut state = ZookeeperNodeState {
        node,
        address: at.to_string(),
        imok: false,
        role: None,
        problem: None,
    };
    match ruok(at).await {
        Ok(()) => state.imok = true,
        Err(e) => {
            state.problem = Some(e);
            return state;
        }
    }
    match four_letter(at, "srvr").await {
        Ok(text) => match srvr_mode(&text) {
            Some(role) => state.role = Some(role),
            None => state.problem = Some(format!("srvr: {}", first_line(&text))),
        },
        Err(e) => state.problem = Some(format!("srvr: {e}")),
    }
    state
}

/// Asks the node at `at` (`host:port`) `ruok`: `Ok` when it answers `imok`
/// (it runs without error; it may not serve yet), else what is wrong. The
/// one `ruok` check of every ZooKeeper probe.
pub async fn ruok(at: &str) -> Result<(), String> {
    let answer = four_letter(at, "ruok").await?;
    if answer.starts_with("imok") {
        Ok(())
    } else {
        Err(format!(
            "answered {:?} to ruok instead of imok",
            answer.trim()
        ))
    }
}

/// The role in a `srvr` answer (`Mode: follower`); `None` when the node
/// does not serve (`This ZooKeeper instance is not currently serving requests`).
pub fn srvr_mode(text: &str) -> Option<ZookeeperRole> {
    text.lines()
        .find_map(|l| l.strip_prefix("Mode:"))
        .and_then(ZookeeperRole::parse)
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    if line.is_empty() {
        "no answer".into()
    } else {
        line.into()
    }
}

/// Sends a four-letter word to `at` (`host:port`) and reads the answer to
/// its end (the node closes the connection), bounded by 5 s.
async fn four_letter(at: &str, word: &str) -> Result<String, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let io = async {
        let mut s = tokio::net::TcpStream::connect(at).await?;
        s.write_all(word.as_bytes()).await?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await?;
        Ok::<_, std::io::Error>(buf)
    };
    let answer = tokio::time::timeout(Duration::from_secs(5), io)
        .await
        .map_err(|_| format!("{at}: no answer to {word} within 5 s"))?
        .map_err(|e| format!("{at}: {e}"))?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: u16, role: Option<ZookeeperRole>) -> ZookeeperNodeState {
        ZookeeperNodeState {
            node: id,
            address: format!("127.0.0.1:{}", 2180 + id),
            imok: role.is_some(),
            role,
            problem: None,
        }
    }

    #[test]
    fn srvr_modes_parse() {
        let text = "Zookeeper version: 3.8.4-9316c2a7a97e1666d8f4593f34dd6fc36ecc436c, built on 2024-02-12 22:16 UTC\n\
                    Latency min/avg/max: 0/0.0/0\nReceived: 3\nSent: 2\nConnections: 1\nOutstanding: 0\n\
                    Zxid: 0x100000000\nMode: follower\nNode count: 5\n";
        assert_eq!(srvr_mode(text), Some(ZookeeperRole::Follower));
        assert_eq!(
            srvr_mode("This ZooKeeper instance is not currently serving requests\n"),
            None
        );
    }

    #[test]
    fn one_leader_and_the_rest_following_is_formed() {
        use ZookeeperRole::*;
        let formed = EnsembleState {
            nodes: vec![
                node(1, Some(Follower)),
                node(2, Some(Leader)),
                node(3, Some(Follower)),
            ],
        };
        assert!(formed.is_healthy(), "{:?}", formed.problems());
        assert_eq!((formed.leader(), formed.followers()), (Some(2), 2));
        assert_eq!(formed.summary(), "node 2 leads, 2 follow");
        let electing = EnsembleState {
            nodes: vec![
                node(1, Some(Follower)),
                node(2, Some(Follower)),
                node(3, Some(Follower)),
            ],
        };
        assert!(electing.problems()[0].contains("has not formed"));
        let mut down = formed.clone();
        down.nodes[2] = ZookeeperNodeState {
            problem: Some("connection refused".into()),
            ..node(3, None)
        };
        assert_eq!(
            down.problems(),
            ["ZooKeeper 3 at 127.0.0.1:2183: connection refused"]
        );
        let single = EnsembleState {
            nodes: vec![node(1, Some(Standalone))],
        };
        assert!(single.is_healthy());
        assert!(!EnsembleState { nodes: vec![] }.is_healthy());
    }
}
