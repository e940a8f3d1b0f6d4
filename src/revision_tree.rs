//! A commit off a history's analysed first-parent chain (a tag on a release branch, a merged
//! branch's commit, a commit newer than the analysed tip), analysed from its tree: every JS/TS
//! blob goes through the blob cache, so only blobs never analysed are parsed, and never through
//! a checkout. The tree is kept as a snapshot (a scan whose files are the tree's paths, named in
//! `revision_trees`), so asking again reads it back. Its counts are those of `patmine scan` on
//! the commit's `git archive` under the history's filters.

use std::collections::HashSet;

use anyhow::{Context, Result, bail};
use rayon::prelude::*;

use crate::blobs::{self, OutcomeCounts};
use crate::dialect::Dialect;
use crate::git::{BlobAt, Repo};
use crate::history::Counting;
use crate::progress::Progress;
use crate::store::{BlobRows, FileRecord, RepoRow, ScanTotals, Store};
use crate::trackers;

/// How one tree was analysed.
#[derive(Debug, Clone, Copy, Default)]
pub struct TreeSummary {
    /// The scan holding the tree's files.
    pub scan_id: i64,
    /// JS/TS paths in the tree that the history's path filters keep.
    pub files: usize,
    /// Distinct blobs parsed now (the rest came from the cache).
    pub parsed: usize,
    /// Whether the tree had been analysed before (nothing was read).
    pub stored_before: bool,
}

/// The tree of `commit` (a full id of `repo`) as a snapshot of the history `repo_row`: read
/// back when it was analysed before, analysed now otherwise. `counting` must be what the history
/// was analysed under (its fingerprint and filters); the caller checks. A missing tree is an
/// error (the counts would be wrong and would be kept); a missing or unreadable blob is said and
/// counted as empty, as `history` does.
pub fn analyse(
    repo: &Repo,
    counting: Counting<'_>,
    store: &mut Store,
    repo_row: &RepoRow,
    commit: &str,
    progress: &Progress,
    say: &(dyn Fn(String) + Sync),
) -> Result<TreeSummary> {
    if let Some(scan_id) = store.revision_tree(repo_row.repo_id, commit)? {
        return Ok(TreeSummary {
            scan_id,
            stored_before: true,
            ..TreeSummary::default()
        });
    }
    let Counting {
        analyzer,
        trackers: tracker_set,
        filter,
    } = counting;
    let config = analyzer.fingerprint().to_string();
    let tree = repo.commit_tree(commit)?;
    let mut missing_trees = Vec::new();
    let keep_path = |p: &str| filter.check_path(p).is_none();
    let files = repo.diff_trees(None, &tree, &keep_path, &mut |m| missing_trees.push(m))?;
    if let Some(first) = missing_trees.first() {
        bail!("commit {commit}: {first}; its counts would be wrong, so it is not analysed");
    }

    let mut rows = BlobRows::new(store, &config, store.load_cache(&config, "git:")?)?;
    let mut seen: HashSet<(&str, Dialect)> = HashSet::new();
    let needed: Vec<BlobAt> = files
        .iter()
        .filter_map(|f| f.new.as_ref())
        .filter(|b| {
            seen.insert((b.id.as_str(), b.dialect))
                && rows.get(&(blobs::content_key(b), b.dialect)).is_none()
        })
        .cloned()
        .collect();
    let shared = repo.shared();
    let bar = progress.bar(needed.len() as u64, "blobs parsed");
    let outcomes: Vec<blobs::BlobOutcome> = needed
        .par_iter()
        .map_init(
            || shared.reader(),
            |reader, blob| {
                let outcome = blobs::analyse(reader, blob, filter, analyzer, tracker_set);
                bar.inc(1);
                outcome
            },
        )
        .collect();
    bar.finish_and_clear();

    let mut counts = OutcomeCounts::default();
    let root = format!("{} at {}", repo_row.name, &commit[..commit.len().min(12)]);
    store.begin()?;
    blobs::store_new(
        store,
        &mut rows,
        analyzer,
        &trackers::tree_keys(tracker_set),
        &needed,
        &outcomes,
        &mut counts,
        say,
    )?;
    let parsed_now: HashSet<&str> = needed.iter().map(|b| b.id.as_str()).collect();
    let mut records = Vec::with_capacity(files.len());
    let mut cached = 0;
    for file in &files {
        let Some(blob) = &file.new else { continue };
        let blob_row = rows
            .get(&(blobs::content_key(blob), blob.dialect))
            .with_context(|| format!("blob {} has no row after it was stored", blob.id))?;
        let from_cache = !parsed_now.contains(blob.id.as_str());
        cached += usize::from(from_cache);
        let record = FileRecord::Analysed {
            blob_row,
            cached: from_cache,
        };
        records.push((file.path.clone(), blob.dialect, record));
    }
    let scan_id = store.start_scan(&root, &config)?;
    store.write_scan_files(scan_id, &records)?;
    let totals = ScanTotals {
        files: records.len(),
        parsed: counts.parsed,
        cached,
        skipped: counts.skipped,
        failed: counts.missing + counts.failed,
    };
    store.close_scan(scan_id, &totals)?;
    store.record_revision_tree(repo_row.repo_id, commit, scan_id)?;
    store
        .commit_with_checkpoint()
        .with_context(|| format!("storing the tree of commit {commit}"))?;

    // Blobs from the cache may lack trackers added since they were analysed.
    crate::history::evaluate_missing_trackers(
        &shared,
        store,
        repo_row.repo_id,
        tracker_set,
        progress,
        say,
    )?;
    Ok(TreeSummary {
        scan_id,
        files: records.len(),
        parsed: counts.parsed,
        stored_before: false,
    })
}
