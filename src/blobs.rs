//! Git blobs through the analyzer into the blob cache: what became of each blob (parsed,
//! skipped, missing, failed) and its rows in the store. `history` runs it for the blobs its
//! commits change; `revision_tree` for the blobs of a tree off the analysed chain.

use anyhow::Result;

use crate::analyze::{Analyzer, FileAnalysis};
use crate::deltas::BlobCounts;
use crate::filter::{Filter, SkipReason};
use crate::git::{BlobAt, BlobReader};
use crate::store::{BlobRows, BlobStatus, NewBlob, Store};
use crate::trackers::TrackerSet;

/// What became of one blob read from git.
pub enum BlobOutcome {
    Parsed {
        bytes: u64,
        analysis: FileAnalysis,
        /// Counts of the tree trackers, in `TrackerSet::distinct_tree_trackers` order.
        trackers: Vec<u32>,
    },
    Skipped {
        bytes: u64,
        reason: SkipReason,
    },
    Missing,
    Failed(String),
}

/// How many blobs had each outcome.
#[derive(Debug, Default, Clone, Copy)]
pub struct OutcomeCounts {
    pub parsed: usize,
    pub skipped: usize,
    pub missing: usize,
    pub failed: usize,
}

/// A blob just stored: its row, what became of it, and what it adds to a tree's counts.
pub struct StoredBlob {
    pub blob_row: i64,
    pub status: BlobStatus,
    pub counts: BlobCounts,
}

/// Reads, filters and analyses one blob, counting the tree trackers in the same parse.
pub fn analyse(
    reader: &mut BlobReader,
    blob: &BlobAt,
    filter: &Filter,
    analyzer: &Analyzer,
    tracker_set: &TrackerSet,
) -> BlobOutcome {
    match reader.size(&blob.id) {
        Ok(None) => return BlobOutcome::Missing,
        Ok(Some(size)) => {
            if let Some(reason) = filter.check_size(size) {
                return BlobOutcome::Skipped {
                    bytes: size,
                    reason,
                };
            }
        }
        Err(e) => return BlobOutcome::Failed(format!("{e:#}")),
    }
    let bytes = match reader.read(&blob.id) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return BlobOutcome::Missing,
        Err(e) => return BlobOutcome::Failed(format!("{e:#}")),
    };
    if let Some(reason) = filter.check_content(bytes) {
        return BlobOutcome::Skipped {
            bytes: bytes.len() as u64,
            reason,
        };
    }
    // With trackers, their walk reads the analysis's own list of the tree's nodes.
    let counted = if tracker_set.has_tree_trackers() {
        analyzer.analyze_listed(bytes, blob.dialect, |tree, grammar, listed| {
            tracker_set.count_all_listed(tree, listed, bytes, grammar)
        })
    } else {
        analyzer.analyze_and(bytes, blob.dialect, |_, _| Vec::new())
    };
    match counted {
        Ok((analysis, trackers)) => BlobOutcome::Parsed {
            bytes: bytes.len() as u64,
            analysis,
            trackers,
        },
        Err(e) => BlobOutcome::Failed(e.to_string()),
    }
}

/// The cache key of a git blob.
pub fn content_key(blob: &BlobAt) -> String {
    format!("git:{}", blob.id)
}

/// Stores blobs never analysed before with their outcomes (`needed[i]` had `outcomes[i]`), inside
/// the caller's transaction: a row each, their patterns and their tree trackers' counts
/// (`tracker_keys` in `TrackerSet::distinct_tree_trackers` order). Counts the outcomes and says
/// which blobs could not be analysed. Returns the stored blobs in the order of `needed`.
#[allow(clippy::too_many_arguments)]
pub fn store_new(
    store: &Store,
    rows: &mut BlobRows,
    analyzer: &Analyzer,
    tracker_keys: &[String],
    needed: &[BlobAt],
    outcomes: &[BlobOutcome],
    counts: &mut OutcomeCounts,
    say: &(dyn Fn(String) + Sync),
) -> Result<Vec<StoredBlob>> {
    let keys: Vec<String> = needed.iter().map(content_key).collect();
    let mut new_blobs: Vec<NewBlob<'_>> = Vec::with_capacity(needed.len());
    for ((blob, key), outcome) in needed.iter().zip(&keys).zip(outcomes) {
        let (blob_row, _) = rows.assign(key.clone(), blob.dialect);
        let (status, bytes, analysis) = match outcome {
            BlobOutcome::Parsed {
                bytes, analysis, ..
            } => {
                counts.parsed += 1;
                if analysis.too_deep {
                    say(crate::scan::too_deep_note(&format!("blob {}", blob.id)));
                }
                (BlobStatus::Parsed, *bytes, Some(analysis))
            }
            BlobOutcome::Skipped { bytes, reason } => {
                counts.skipped += 1;
                (BlobStatus::Skipped(*reason), *bytes, None)
            }
            BlobOutcome::Missing => {
                counts.missing += 1;
                say(format!(
                    "blob {} is missing from the object database; counted as empty",
                    blob.id
                ));
                (BlobStatus::Missing, 0, None)
            }
            BlobOutcome::Failed(message) => {
                counts.failed += 1;
                say(format!("blob {}: {message}", blob.id));
                (BlobStatus::Failed, 0, None)
            }
        };
        new_blobs.push(NewBlob {
            blob_row,
            content_key: key,
            dialect: blob.dialect,
            bytes,
            status,
            analysis,
        });
    }
    let rules = analyzer.rules();
    let sigs_of_blobs = rows.write(store, &new_blobs, &|t| rules.categorize(t))?;
    let tracker_rows: Vec<(i64, &str, u32)> = new_blobs
        .iter()
        .zip(outcomes)
        .filter_map(|(blob, outcome)| match outcome {
            BlobOutcome::Parsed { trackers, .. } => Some((blob.blob_row, trackers)),
            _ => None,
        })
        .flat_map(|(row, counts)| {
            tracker_keys
                .iter()
                .zip(counts)
                .map(move |(key, &n)| (row, key.as_str(), n))
        })
        .collect();
    store.write_tracker_counts(&tracker_rows)?;
    Ok(new_blobs
        .iter()
        .zip(&sigs_of_blobs)
        .map(|(blob, sigs)| StoredBlob {
            blob_row: blob.blob_row,
            status: blob.status,
            counts: match blob.analysis {
                Some(analysis) => BlobCounts::from_analysis(analysis, sigs),
                None => BlobCounts::default(),
            },
        })
        .collect())
}
