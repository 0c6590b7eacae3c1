//! Restoring one group's offsets from a backup: validate against the
//! cluster, clamp to the log, set, read back.

use std::collections::{BTreeMap, BTreeSet};

use crate::backup::{GroupBackup, GROUP_CLAMPED, GROUP_OK};
use crate::{Admin, Result, Tp};

/// The offsets to set for a group, or why none may be.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Checked {
    /// What to commit.
    pub(crate) offsets: BTreeMap<Tp, i64>,
    /// `(tp, from, to)` for every offset moved into the log's range.
    pub(crate) clamped: Vec<(Tp, i64, i64)>,
}

/// Validates `group`'s offsets against the partitions that exist
/// (`partitions`: topic → partition count) and their watermarks.
pub(crate) fn check_offsets(
    group: &GroupBackup,
    partitions: &BTreeMap<String, i32>,
    marks: &BTreeMap<Tp, (i64, i64)>,
) -> std::result::Result<Checked, String> {
    let mut problems = Vec::new();
    let mut offsets = BTreeMap::new();
    let mut clamped = Vec::new();
    for (i, o) in group.offsets.iter().enumerate() {
        let at = format!("offsets[{i}] {}-{}", o.topic, o.partition);
        match partitions.get(&o.topic) {
            None => {
                problems.push(format!("{at}: topic {} does not exist", o.topic));
                continue;
            }
            Some(n) if o.partition < 0 || o.partition >= *n => {
                problems.push(format!(
                    "{at}: partition {} does not exist (the topic has {n})",
                    o.partition
                ));
                continue;
            }
            Some(_) => {}
        }
        if o.offset < 0 {
            problems.push(format!("{at}: offset {} is negative", o.offset));
            continue;
        }
        let tp = (o.topic.clone(), o.partition);
        let Some(&(lo, hi)) = marks.get(&tp) else {
            problems.push(format!("{at}: its earliest/latest offsets are unavailable"));
            continue;
        };
        let to = o.offset.clamp(lo, hi);
        if to != o.offset {
            clamped.push((tp.clone(), o.offset, to));
        }
        if offsets.insert(tp, to).is_some() {
            problems.push(format!("{at}: listed twice"));
        }
    }
    if problems.is_empty() {
        Ok(Checked { offsets, clamped })
    } else {
        Err(format!("not restored: {}", problems.join("; ")))
    }
}

impl Admin {
    /// Restores one group: the status line of [`crate::RestoreReport::groups`].
    pub(crate) async fn restore_group(&self, g: &GroupBackup) -> String {
        match self.try_restore_group(g).await {
            Ok(s) | Err(s) => s,
        }
    }

    async fn try_restore_group(&self, g: &GroupBackup) -> std::result::Result<String, String> {
        let err = |e: crate::AdminError| e.to_string();
        let topics: BTreeSet<String> = g.offsets.iter().map(|o| o.topic.clone()).collect();
        let partitions: BTreeMap<String, i32> = self
            .topics_metadata()
            .await
            .map_err(err)?
            .into_iter()
            .filter(|t| topics.contains(&t.name))
            .map(|t| (t.name, t.partitions.len() as i32))
            .collect();
        let tps: Vec<Tp> = g
            .offsets
            .iter()
            .filter(|o| {
                partitions
                    .get(&o.topic)
                    .is_some_and(|n| o.partition >= 0 && o.partition < *n)
            })
            .map(|o| (o.topic.clone(), o.partition))
            .collect();
        let marks = if tps.is_empty() {
            BTreeMap::new()
        } else {
            self.watermarks(&tps).await.map_err(err)?
        };
        let checked = check_offsets(g, &partitions, &marks)?;
        self.set_offsets(&g.group, &checked.offsets)
            .await
            .map_err(err)?;
        let wanted: Vec<String> = topics.into_iter().collect();
        let after = self.read_back(&g.group, &wanted).await.map_err(err)?;
        let wrong: Vec<String> = checked
            .offsets
            .iter()
            .filter(|(tp, o)| after.get(*tp) != Some(*o))
            .map(|((t, p), o)| {
                format!(
                    "{t}-{p}: read back {:?}, expected {o}",
                    after.get(&(t.clone(), *p))
                )
            })
            .collect();
        if !wrong.is_empty() {
            return Err(format!("set but not read back: {}", wrong.join("; ")));
        }
        if checked.clamped.is_empty() {
            return Ok(GROUP_OK.to_owned());
        }
        let list: Vec<String> = checked
            .clamped
            .iter()
            .map(|((t, p), from, to)| format!("{t}-{p} {from}->{to}"))
            .collect();
        Ok(format!("{GROUP_CLAMPED} to the log: {})", list.join(", ")))
    }

    async fn read_back(&self, group: &str, topics: &[String]) -> Result<BTreeMap<Tp, i64>> {
        self.committed_offsets(group, topics).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::OffsetEntry;

    fn group(offsets: &[(&str, i32, i64)]) -> GroupBackup {
        GroupBackup {
            group: "g".into(),
            offsets: offsets
                .iter()
                .map(|(t, p, o)| OffsetEntry {
                    topic: (*t).into(),
                    partition: *p,
                    offset: *o,
                })
                .collect(),
        }
    }

    #[test]
    fn offsets_are_validated_and_clamped() {
        let parts = BTreeMap::from([("t".to_owned(), 2)]);
        let marks = BTreeMap::from([
            (("t".to_owned(), 0), (0, 10)),
            (("t".to_owned(), 1), (5, 7)),
        ]);
        let ok = check_offsets(&group(&[("t", 0, 4), ("t", 1, 9)]), &parts, &marks).unwrap();
        assert_eq!(ok.offsets[&("t".to_owned(), 0)], 4);
        assert_eq!(ok.offsets[&("t".to_owned(), 1)], 7);
        assert_eq!(ok.clamped, vec![(("t".to_owned(), 1), 9, 7)]);
        let e = check_offsets(
            &group(&[("t", 0, 4), ("t", 7, 1), ("nope", 0, 1)]),
            &parts,
            &marks,
        )
        .unwrap_err();
        assert!(e.contains("partition 7 does not exist"), "{e}");
        assert!(e.contains("topic nope does not exist"), "{e}");
    }
}
