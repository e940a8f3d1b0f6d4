//! Per-commit deltas: how one commit's changed paths move the pattern counts (both levels, in
//! occurrences and in files), the node-kind metrics, lines and files. Running sums of the deltas
//! give the counts at any commit.
//!
//! Computed from each blob's counts, held in memory for the blobs the current tree holds (and
//! loaded again from the store when an older blob comes back), so a delta costs a few map
//! updates per changed path instead of a join over the stored rows.

use std::collections::HashMap;

use anyhow::{Result, bail};

use crate::analyze::{FileAnalysis, METRIC_KINDS, Metrics};
use crate::level::Level;

/// What one blob adds to a tree's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlobCounts {
    /// Parsed (a file that counts); skipped, missing and failed blobs count for nothing.
    pub parsed: bool,
    pub has_errors: bool,
    pub loc: u32,
    pub metrics: Metrics,
    /// Distinct abstract signatures (`signatures.sig`) with their occurrences in the blob.
    pub abstract_sigs: Vec<(i32, u32)>,
    /// Distinct semantic signatures with their occurrences.
    pub semantic_sigs: Vec<(i32, u32)>,
}

impl BlobCounts {
    /// The counts of a parsed blob, from its patterns as signature numbers (abstract sig,
    /// semantic sig, occurrences), as `BlobRows::write` returns them.
    pub fn from_analysis(analysis: &FileAnalysis, sigs: &[(i32, i32, u32)]) -> BlobCounts {
        let mut abstract_sigs: HashMap<i32, u32> = HashMap::new();
        let mut semantic_sigs: HashMap<i32, u32> = HashMap::new();
        for &(abstract_sig, semantic_sig, occurrences) in sigs {
            *abstract_sigs.entry(abstract_sig).or_default() += occurrences;
            *semantic_sigs.entry(semantic_sig).or_default() += occurrences;
        }
        BlobCounts {
            parsed: true,
            has_errors: analysis.error_nodes > 0,
            loc: analysis.loc,
            metrics: analysis.metrics,
            abstract_sigs: sorted(abstract_sigs),
            semantic_sigs: sorted(semantic_sigs),
        }
    }
}

fn sorted(map: HashMap<i32, u32>) -> Vec<(i32, u32)> {
    let mut out: Vec<(i32, u32)> = map.into_iter().collect();
    out.sort_unstable();
    out
}

/// How one commit moved the counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitDeltas {
    pub seq: i64,
    /// (level, sig, occurrences delta, files delta), only where something changed.
    pub patterns: Vec<(Level, i32, i64, i64)>,
    pub d_files: i64,
    pub d_loc: i64,
    pub d_metrics: [i64; METRIC_KINDS.len()],
    /// Changed paths whose new blob has parse errors.
    pub error_files: usize,
}

/// The counts of the blobs the current tree holds, with how many paths hold each.
#[derive(Debug, Default)]
pub struct TreeCounts {
    counts: HashMap<i64, BlobCounts>,
    /// Paths holding each blob row since this run began (negative for blobs that an earlier run
    /// saw enter the tree).
    holders: HashMap<i64, i64>,
}

impl TreeCounts {
    /// The blob rows among `rows` whose counts are not held.
    pub fn missing(&self, rows: impl IntoIterator<Item = i64>) -> Vec<i64> {
        let mut out: Vec<i64> = rows
            .into_iter()
            .filter(|row| !self.counts.contains_key(row))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    pub fn insert(&mut self, row: i64, counts: BlobCounts) {
        self.counts.insert(row, counts);
    }

    /// The deltas of one commit, from its changes as (old blob row, new blob row) per path.
    /// Every blob named must be held (`missing` says which to load first).
    pub fn commit_deltas(
        &mut self,
        seq: i64,
        changes: &[(Option<i64>, Option<i64>)],
    ) -> Result<CommitDeltas> {
        let mut by_sig: HashMap<(Level, i32), (i64, i64)> = HashMap::new();
        let mut deltas = CommitDeltas {
            seq,
            patterns: Vec::new(),
            d_files: 0,
            d_loc: 0,
            d_metrics: [0; METRIC_KINDS.len()],
            error_files: 0,
        };
        for &(old, new) in changes {
            for (row, sign) in [(old, -1i64), (new, 1i64)] {
                let Some(row) = row else { continue };
                let Some(blob) = self.counts.get(&row) else {
                    bail!("blob row {row} has no counts loaded");
                };
                if sign > 0 && blob.has_errors {
                    deltas.error_files += 1;
                }
                if blob.parsed {
                    deltas.d_files += sign;
                }
                deltas.d_loc += sign * i64::from(blob.loc);
                for (d, m) in deltas.d_metrics.iter_mut().zip(&blob.metrics) {
                    *d += sign * i64::from(*m);
                }
                for (level, sigs) in [
                    (Level::Abstract, &blob.abstract_sigs),
                    (Level::Semantic, &blob.semantic_sigs),
                ] {
                    for &(sig, occurrences) in sigs {
                        let entry = by_sig.entry((level, sig)).or_default();
                        entry.0 += sign * i64::from(occurrences);
                        entry.1 += sign;
                    }
                }
                *self.holders.entry(row).or_default() += sign;
            }
        }
        deltas.patterns = by_sig
            .into_iter()
            .filter(|(_, (occurrences, files))| *occurrences != 0 || *files != 0)
            .map(|((level, sig), (occurrences, files))| (level, sig, occurrences, files))
            .collect();
        deltas.patterns.sort_unstable();
        Ok(deltas)
    }

    /// Forgets the counts of blobs that no path holds any more (they are loaded again if they
    /// come back), so memory follows the size of the tree, not the length of the history.
    pub fn evict_unheld(&mut self) {
        let holders = &self.holders;
        self.counts
            .retain(|row, _| holders.get(row).is_some_and(|&n| n > 0));
        self.holders.retain(|_, n| *n > 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(sigs: &[(i32, u32)], loc: u32) -> BlobCounts {
        BlobCounts {
            parsed: true,
            has_errors: false,
            loc,
            metrics: [0; METRIC_KINDS.len()],
            abstract_sigs: sigs.to_vec(),
            semantic_sigs: sigs.to_vec(),
        }
    }

    #[test]
    fn an_edit_moves_occurrences_and_a_file_only_where_a_pattern_appears_or_goes() {
        let mut tree = TreeCounts::default();
        tree.insert(1, blob(&[(10, 2), (11, 1)], 5));
        tree.insert(2, blob(&[(10, 3), (12, 1)], 7));
        let add = tree.commit_deltas(0, &[(None, Some(1))]).unwrap();
        assert_eq!(add.d_files, 1);
        assert_eq!(add.d_loc, 5);
        assert!(add.patterns.contains(&(Level::Abstract, 10, 2, 1)));
        let edit = tree.commit_deltas(1, &[(Some(1), Some(2))]).unwrap();
        assert_eq!(edit.d_files, 0);
        assert_eq!(edit.d_loc, 2);
        // Sig 10 is in both versions: one more occurrence, no new file.
        assert!(edit.patterns.contains(&(Level::Semantic, 10, 1, 0)));
        assert!(edit.patterns.contains(&(Level::Abstract, 11, -1, -1)));
        assert!(edit.patterns.contains(&(Level::Abstract, 12, 1, 1)));
        assert_eq!(edit.patterns.len(), 6);
    }

    #[test]
    fn unheld_blobs_are_evicted_and_a_missing_blob_is_an_error() {
        let mut tree = TreeCounts::default();
        tree.insert(1, blob(&[(10, 1)], 1));
        tree.insert(2, blob(&[(10, 1)], 1));
        tree.commit_deltas(0, &[(None, Some(1)), (None, Some(2))])
            .unwrap();
        tree.commit_deltas(1, &[(Some(1), None)]).unwrap();
        tree.evict_unheld();
        assert_eq!(tree.missing([1, 2]), vec![1]);
        let error = tree.commit_deltas(2, &[(None, Some(1))]).unwrap_err();
        assert!(error.to_string().contains("blob row 1"));
    }
}
