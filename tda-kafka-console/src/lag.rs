//! Lag history: the console samples every group's total lag while it runs
//! (and on every group page view), keeping the last N samples per group.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use crate::server::AppState;

/// One sample: when, and the group's total lag then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sample {
    /// ms since the epoch.
    pub(crate) at_ms: i64,
    /// Total lag of the group.
    pub(crate) lag: i64,
}

/// The samples of every group seen.
#[derive(Debug)]
pub(crate) struct LagHistory {
    keep: usize,
    groups: Mutex<HashMap<String, VecDeque<Sample>>>,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

impl LagHistory {
    pub(crate) fn new(keep: usize) -> Self {
        Self {
            keep: keep.max(2),
            groups: Mutex::default(),
        }
    }

    /// Adds a sample for `group`.
    pub(crate) fn record(&self, group: &str, lag: i64) {
        let Ok(mut g) = self.groups.lock() else {
            return;
        };
        let q = g.entry(group.to_owned()).or_default();
        q.push_back(Sample {
            at_ms: now_ms(),
            lag,
        });
        while q.len() > self.keep {
            q.pop_front();
        }
    }

    /// The samples of `group`, oldest first.
    pub(crate) fn samples(&self, group: &str) -> Vec<Sample> {
        self.groups
            .lock()
            .ok()
            .and_then(|g| g.get(group).map(|q| q.iter().copied().collect()))
            .unwrap_or_default()
    }
}

/// Samples every group's lag each `lag_sample_interval` until `stop` turns true.
pub(crate) async fn sample_loop(state: Arc<AppState>, mut stop: watch::Receiver<bool>) {
    loop {
        sample_once(&state).await;
        tokio::select! {
            _ = tokio::time::sleep(state.opts.lag_sample_interval) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

async fn sample_once(state: &AppState) {
    let Ok(admin) = state.admin().await else {
        return;
    };
    let Ok(groups) = admin.list_groups().await else {
        return;
    };
    for g in groups {
        match admin.describe_group(&g.group).await {
            Ok(d) => state.lag.record(&g.group, d.total_lag),
            Err(e) => tracing::debug!(group = %g.group, error = %e, "lag sample failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_keeps_the_newest_samples() {
        let h = LagHistory::new(3);
        for lag in 0..5 {
            h.record("g", lag);
        }
        let s: Vec<i64> = h.samples("g").iter().map(|s| s.lag).collect();
        assert_eq!(s, vec![2, 3, 4]);
        assert!(h.samples("other").is_empty());
    }
}
