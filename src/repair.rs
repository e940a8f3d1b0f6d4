//! Counts that heal: every `history` run tries again the blobs that earlier runs could not
//! analyse (missing from the object database, or failed). A blob that can be analysed now takes
//! its analysis, and each history that counted it as empty is cut at its first commit holding
//! it, so the walk recounts from there and a repaired repository converges to the counts of a
//! clean run. One transaction: an interrupted repair leaves the blobs to be retried again.

use anyhow::{Context, Result};
use rayon::prelude::*;

use crate::blobs::{self, BlobOutcome, OutcomeCounts};
use crate::git::{BlobAt, SharedRepo};
use crate::history::Counting;
use crate::store::{BlobRows, Store};
use crate::trackers;

/// What a retry did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Retried {
    /// Blobs the repository holds that were retried.
    pub retried: usize,
    /// Of every retried blob, those analysed (or skipped by a filter) now.
    pub repaired: usize,
    /// Blobs the repository holds that are still missing or still fail.
    pub still_missing: usize,
    pub still_failed: usize,
    /// The first commit (walk position) of the repository's history recounted, if any.
    pub recount_from: Option<i64>,
}

/// Retries the blobs stored as missing or failed under the history's configuration with the
/// repository `repo`. Histories of other repositories that held a repaired blob are cut too,
/// and said: their next `history` recounts them.
pub fn retry_unsettled(
    repo: &SharedRepo,
    store: &mut Store,
    repo_id: i64,
    counting: Counting<'_>,
    say: &(dyn Fn(String) + Sync),
) -> Result<Retried> {
    let config = counting.analyzer.fingerprint().to_string();
    let unsettled = store.unsettled_blobs(repo_id, &config)?;
    let mut retried = Retried {
        retried: unsettled.iter().filter(|b| b.held).count(),
        ..Retried::default()
    };
    if unsettled.is_empty() {
        return Ok(retried);
    }
    let outcomes: Vec<BlobOutcome> = unsettled
        .par_iter()
        .map_init(
            || repo.reader(),
            |reader, blob| {
                let at = BlobAt {
                    id: blob.id.clone(),
                    dialect: blob.dialect,
                };
                blobs::analyse(
                    reader,
                    &at,
                    counting.filter,
                    counting.analyzer,
                    counting.trackers,
                )
            },
        )
        .collect();

    let mut repaired_blobs = Vec::new();
    let mut repaired_outcomes = Vec::new();
    for (blob, outcome) in unsettled.iter().zip(outcomes) {
        match outcome {
            BlobOutcome::Parsed { .. } | BlobOutcome::Skipped { .. } => {
                repaired_blobs.push(blob);
                repaired_outcomes.push(outcome);
            }
            // A blob this repository does not hold is another repository's concern.
            _ if !blob.held => {}
            BlobOutcome::Missing => {
                retried.still_missing += 1;
                say(format!(
                    "blob {} is still missing from the object database; the commits holding it count it as empty",
                    blob.id
                ));
            }
            BlobOutcome::Failed(message) => {
                retried.still_failed += 1;
                say(format!(
                    "blob {}: {message}; the commits holding it count it as empty",
                    blob.id
                ));
            }
        }
    }
    retried.repaired = repaired_blobs.len();
    if repaired_blobs.is_empty() {
        return Ok(retried);
    }

    let rows: Vec<i64> = repaired_blobs.iter().map(|b| b.blob_row).collect();
    let needed: Vec<BlobAt> = repaired_blobs
        .iter()
        .map(|b| BlobAt {
            id: b.id.clone(),
            dialect: b.dialect,
        })
        .collect();
    // The rows keep their numbers: histories of other configurations never share them, and
    // the recount below writes the same numbers into the changes it stores again.
    let index = needed
        .iter()
        .zip(&rows)
        .map(|(b, &row)| ((blobs::content_key(b), b.dialect), row))
        .collect();
    store.begin()?;
    let cuts = store.forget_blobs(&rows)?;
    let mut blob_rows = BlobRows::new(store, &config, index)?;
    blobs::store_new(
        store,
        &mut blob_rows,
        counting.analyzer,
        &trackers::tree_keys(counting.trackers),
        &needed,
        &repaired_outcomes,
        &mut OutcomeCounts::default(),
        say,
    )?;
    crate::crash::before_commit();
    store
        .commit()
        .context("committing blobs analysed on a retry")?;
    crate::crash::after_commit();

    for (cut_repo, seq) in cuts {
        if cut_repo == repo_id {
            retried.recount_from = Some(seq);
        } else {
            say(format!(
                "repository #{cut_repo} held a blob analysed only now: its history from commit #{seq} on is dropped; run `patmine history` on it again to recount it"
            ));
        }
    }
    Ok(retried)
}
