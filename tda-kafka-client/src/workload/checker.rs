//! The delivery checker: a history of sends (each with its outcome) and of
//! consumed records, checked the way Kafka's `validate_delivery` and
//! Jepsen's queue checker do.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

/// How one send ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum SendOutcome {
    /// Acknowledged by the brokers at this partition and offset.
    Acknowledged {
        /// Partition.
        partition: i32,
        /// Offset.
        offset: i64,
    },
    /// Definitely not written.
    Failed,
    /// May or may not have been written (timed out, broker gone).
    Unknown,
}

/// One consumed record of the workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ConsumedRecord {
    /// Its sequence number.
    pub seq: u64,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
}

/// Every send and every consumed record of one run.
#[derive(Debug, Clone, Default)]
pub struct History {
    sends: BTreeMap<u64, SendOutcome>,
    consumed: Vec<ConsumedRecord>,
}

impl History {
    /// Records the outcome of the send of `seq`.
    pub fn sent(&mut self, seq: u64, outcome: SendOutcome) {
        self.sends.insert(seq, outcome);
    }

    /// Records a consumed record (in the order the consumer saw it).
    pub fn consumed(&mut self, record: ConsumedRecord) {
        self.consumed.push(record);
    }

    /// Every send and its outcome, by sequence number.
    pub fn sends(&self) -> impl Iterator<Item = (u64, SendOutcome)> + '_ {
        self.sends.iter().map(|(s, o)| (*s, *o))
    }

    /// The consumed records so far.
    pub fn consumed_records(&self) -> &[ConsumedRecord] {
        &self.consumed
    }

    /// Whether every acknowledged send has been consumed.
    pub fn all_acknowledged_consumed(&self) -> bool {
        let seen: BTreeSet<u64> = self.consumed.iter().map(|c| c.seq).collect();
        self.sends
            .iter()
            .filter(|(_, o)| matches!(o, SendOutcome::Acknowledged { .. }))
            .all(|(s, _)| seen.contains(s))
    }

    /// The checks, as one report named `name`.
    pub fn check(&self, name: &str) -> CheckReport {
        let mut report = CheckReport {
            name: name.to_owned(),
            attempted: self.sends.len() as u64,
            ..CheckReport::default()
        };
        let mut copies: HashMap<u64, u64> = HashMap::new();
        for c in &self.consumed {
            *copies.entry(c.seq).or_default() += 1;
        }
        report.consumed = copies.len() as u64;
        report.duplicated = copies.values().map(|n| n - 1).sum();
        for (seq, outcome) in &self.sends {
            let seen = copies.contains_key(seq);
            match outcome {
                SendOutcome::Acknowledged { .. } => {
                    report.acknowledged += 1;
                    if !seen {
                        report.lost += 1;
                    }
                }
                SendOutcome::Failed => {
                    report.failed += 1;
                    if seen {
                        // Reported "not written", yet it was: a wrong classification.
                        report.unexpected += 1;
                    }
                }
                SendOutcome::Unknown => {
                    report.outcome_unknown += 1;
                    if seen {
                        report.recovered += 1;
                    }
                }
            }
        }
        report.unexpected += copies
            .keys()
            .filter(|s| !self.sends.contains_key(s))
            .count() as u64;
        // Order per partition: in offset order, sequence numbers rise (the
        // producer sends them in order; idempotence keeps it across retries).
        let mut by_partition: BTreeMap<i32, BTreeMap<i64, u64>> = BTreeMap::new();
        for c in &self.consumed {
            by_partition
                .entry(c.partition)
                .or_default()
                .insert(c.offset, c.seq);
        }
        for log in by_partition.values() {
            let mut last = None;
            for &seq in log.values() {
                if last.is_some_and(|l| seq < l) {
                    report.reordered += 1;
                }
                last = Some(last.map_or(seq, |l: u64| l.max(seq)));
            }
        }
        // An acknowledged offset must hold that record when consumed.
        let at: HashMap<(i32, i64), u64> = self
            .consumed
            .iter()
            .map(|c| ((c.partition, c.offset), c.seq))
            .collect();
        for (seq, outcome) in &self.sends {
            if let SendOutcome::Acknowledged { partition, offset } = outcome {
                if at.get(&(*partition, *offset)).is_some_and(|s| s != seq) {
                    report.misplaced += 1;
                }
            }
        }
        report
    }
}

/// The result of one run's checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// The scenario.
    pub name: String,
    /// Sends attempted.
    pub attempted: u64,
    /// Sends the brokers acknowledged.
    pub acknowledged: u64,
    /// Distinct sequence numbers consumed.
    pub consumed: u64,
    /// Acknowledged but never consumed.
    pub lost: u64,
    /// Extra copies consumed (a record seen twice counts once).
    pub duplicated: u64,
    /// Sends whose outcome is unknown (they may or may not appear).
    pub outcome_unknown: u64,
    /// Of those, how many were consumed.
    pub recovered: u64,
    /// Sends reported as definitely failed.
    pub failed: u64,
    /// Records consumed that were never sent, or were reported failed.
    pub unexpected: u64,
    /// Records consumed after a higher sequence number of the same partition.
    pub reordered: u64,
    /// Acknowledged offsets that hold another record.
    pub misplaced: u64,
}

impl CheckReport {
    /// Nothing acknowledged lost, nothing duplicated, order kept, nothing
    /// unexpected: what an idempotent producer on the durable profile promises.
    pub fn is_clean(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.reordered == 0
            && self.unexpected == 0
            && self.misplaced == 0
    }
}

impl std::fmt::Display for CheckReport {
    /// The one line RELIABILITY.md's numbers are taken from.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "FAULT-RESULT name={} acknowledged={} consumed={} lost={} duplicated={} outcome_unknown={} reordered={} recovered={} failed={} unexpected={} misplaced={}",
            self.name,
            self.acknowledged,
            self.consumed,
            self.lost,
            self.duplicated,
            self.outcome_unknown,
            self.reordered,
            self.recovered,
            self.failed,
            self.unexpected,
            self.misplaced
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(p: i32, o: i64) -> SendOutcome {
        SendOutcome::Acknowledged {
            partition: p,
            offset: o,
        }
    }

    fn rec(seq: u64, partition: i32, offset: i64) -> ConsumedRecord {
        ConsumedRecord {
            seq,
            partition,
            offset,
        }
    }

    #[test]
    fn a_clean_history_is_clean() {
        let mut h = History::default();
        for s in 0..4 {
            h.sent(s, ack((s % 2) as i32, (s / 2) as i64));
            h.consumed(rec(s, (s % 2) as i32, (s / 2) as i64));
        }
        let r = h.check("clean");
        assert!(r.is_clean(), "{r}");
        assert_eq!((r.acknowledged, r.consumed, r.lost), (4, 4, 0));
        assert!(h.all_acknowledged_consumed());
        assert_eq!(
            r.to_string(),
            "FAULT-RESULT name=clean acknowledged=4 consumed=4 lost=0 duplicated=0 outcome_unknown=0 reordered=0 recovered=0 failed=0 unexpected=0 misplaced=0"
        );
    }

    #[test]
    fn loss_duplicates_reordering_and_unknowns_are_counted() {
        let mut h = History::default();
        h.sent(0, ack(0, 0));
        h.sent(1, ack(0, 1));
        h.sent(2, ack(0, 2)); // never consumed: lost
        h.sent(3, SendOutcome::Unknown); // consumed: recovered
        h.sent(4, SendOutcome::Unknown); // not consumed: fine
        h.sent(5, SendOutcome::Failed); // consumed: unexpected
        h.consumed(rec(1, 0, 0)); // seq 1 before seq 0 in offset order
        h.consumed(rec(0, 0, 1));
        h.consumed(rec(0, 0, 1)); // redelivered: a duplicate
        h.consumed(rec(3, 0, 3));
        h.consumed(rec(5, 0, 4));
        h.consumed(rec(99, 0, 5)); // never sent
        let r = h.check("mixed");
        assert_eq!(r.acknowledged, 3);
        assert_eq!(r.lost, 1);
        assert_eq!(r.duplicated, 1);
        assert_eq!(r.outcome_unknown, 2);
        assert_eq!(r.recovered, 1);
        assert_eq!(r.failed, 1);
        assert_eq!(r.unexpected, 2);
        assert_eq!(r.reordered, 1);
        // seq 0 acknowledged at offset 0, which holds seq 1.
        assert_eq!(r.misplaced, 2);
        assert!(!r.is_clean());
        assert!(!h.all_acknowledged_consumed());
    }
}
