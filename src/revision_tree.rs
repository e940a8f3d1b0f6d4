//! A commit off a history's analysed first-parent chain (a tag on a release branch, a merged
//! branch's commit, a commit newer than the analysed tip), analysed from its tree: every JS/TS
//! blob goes through the blob cache, so only blobs never analysed are parsed, and never through
//! a checkout. The tree is kept as a snapshot (a scan whose files are the tree's paths, named in
//! `revision_trees`), so asking again reads it back. Its counts are those of `patmine scan` on
//! the commit's `git archive` under the history's filters.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context, Result, bail};
use rayon::prelude::*;

use crate::analyze::Analyzer;
use crate::blobs::{self, OutcomeCounts};
use crate::dialect::Dialect;
use crate::filter::Filter;
use crate::git::{BlobAt, Repo};
use crate::history::Counting;
use crate::progress::Progress;
use crate::revision::Resolved;
use crate::store::{BlobRows, FileRecord, RepoRow, Snapshot, Store};
use crate::trackers::{self, TrackerSet};

/// How one tree was analysed.
#[derive(Debug, Clone, Copy)]
pub struct TreeSummary {
    /// The scan holding the tree's files.
    pub scan_id: i64,
    /// JS/TS paths in the tree that the history's path filters keep.
    pub files: usize,
    /// Distinct blobs parsed now (the rest came from the cache).
    pub parsed: usize,
    /// Distinct blobs that were missing or could not be analysed (each said, and counted as
    /// empty).
    pub failed: usize,
}

/// Analyses the tree of `commit` (a full id of `repo`) into a snapshot of the history
/// `repo_row`, through the blob rows `rows` (loaded once for the many trees of a command).
/// `counting` must be what the history was analysed under (its fingerprint and filters); the
/// caller checks, and evaluates trackers the cached blobs lack. A missing tree is an error (the
/// counts would be wrong and would be kept); a missing or unreadable blob is said and counted as
/// empty, as `history` does.
#[allow(clippy::too_many_arguments)]
fn analyse(
    repo: &Repo,
    counting: Counting<'_>,
    store: &mut Store,
    rows: &mut BlobRows,
    repo_row: &RepoRow,
    commit: &str,
    progress: &Progress,
    say: &(dyn Fn(String) + Sync),
) -> Result<TreeSummary> {
    let Counting {
        analyzer,
        trackers: tracker_set,
        filter,
    } = counting;
    let config = analyzer.fingerprint().to_string();
    let tree = repo.commit_tree(commit)?;
    let time = repo.commit_time(commit)?;
    let mut missing_trees = Vec::new();
    let keep_path = |p: &str| filter.check_path(p).is_none();
    let files = repo.diff_trees(None, &tree, &keep_path, &mut |m| missing_trees.push(m))?;
    if let Some(first) = missing_trees.first() {
        bail!("commit {commit}: {first}; its counts would be wrong, so it is not analysed");
    }

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

    store.begin()?;
    // Nothing of a tree is kept unless all of it is: an error rolls the transaction back (and
    // the caller forgets the blob rows handed out in it).
    let stored = store_tree(
        store,
        rows,
        analyzer,
        tracker_set,
        repo_row,
        commit,
        time,
        &needed,
        &outcomes,
        &files,
        &config,
        say,
    );
    let (scan_id, records, counts) = match stored {
        Ok(stored) => stored,
        Err(e) => {
            store.rollback()?;
            return Err(e);
        }
    };
    // A plain commit: a command may analyse a tree per release, and one checkpoint each would
    // rewrite the database file as often.
    store
        .commit()
        .with_context(|| format!("storing the tree of commit {commit}"))?;

    Ok(TreeSummary {
        scan_id,
        files: records,
        parsed: counts.parsed,
        failed: counts.missing + counts.failed,
    })
}

/// The writes of `analyse`, inside its transaction: new blobs, the scan of the tree's files,
/// and its name in `revision_trees`. Returns the scan, its file count and the blob outcomes.
#[allow(clippy::too_many_arguments)]
fn store_tree(
    store: &mut Store,
    rows: &mut BlobRows,
    analyzer: &Analyzer,
    tracker_set: &TrackerSet,
    repo_row: &RepoRow,
    commit: &str,
    time: i64,
    needed: &[BlobAt],
    outcomes: &[blobs::BlobOutcome],
    files: &[crate::git::Change],
    config: &str,
    say: &(dyn Fn(String) + Sync),
) -> Result<(i64, usize, OutcomeCounts)> {
    let mut counts = OutcomeCounts::default();
    blobs::store_new(
        store,
        rows,
        analyzer,
        &trackers::tree_keys(tracker_set),
        needed,
        outcomes,
        &mut counts,
        say,
    )?;
    let parsed_now: HashSet<(&str, Dialect)> =
        needed.iter().map(|b| (b.id.as_str(), b.dialect)).collect();
    let mut records = Vec::with_capacity(files.len());
    for file in files {
        let Some(blob) = &file.new else { continue };
        let blob_row = rows
            .get(&(blobs::content_key(blob), blob.dialect))
            .with_context(|| format!("blob {} has no row after it was stored", blob.id))?;
        let record = FileRecord::Analysed {
            blob_row,
            cached: !parsed_now.contains(&(blob.id.as_str(), blob.dialect)),
        };
        records.push((file.path.clone(), blob.dialect, record));
    }
    let root = format!("{} at {}", repo_row.name, &commit[..commit.len().min(12)]);
    let scan_id = store.start_scan(&root, config)?;
    store.write_scan_files(scan_id, &records)?;
    let totals = store.settle_tree_files(scan_id)?;
    store.close_scan(scan_id, &totals)?;
    store.record_revision_tree(repo_row.repo_id, commit, scan_id, time)?;
    Ok((scan_id, records.len(), counts))
}

/// Where a resolved revision's counts are read: its commit on the chain, or its tree, analysed
/// on first need. The analyzer, filter and trackers are made only then (most revisions are on
/// the chain); the analyzer and filter must be those the history was analysed under, and the
/// trackers are evaluated on the blobs a tree adds, so that no blob of the history lacks them.
pub struct Locator<'a> {
    repo_row: &'a RepoRow,
    build: &'a dyn Fn() -> Result<(Analyzer, Filter, TrackerSet)>,
    ready: Option<Prepared>,
    /// The scans of the trees analysed so far.
    analysed: Vec<i64>,
}

/// What analysing trees takes, made once per command.
struct Prepared {
    repo: Repo,
    analyzer: Analyzer,
    filter: Filter,
    trackers: TrackerSet,
    rows: BlobRows,
}

impl<'a> Locator<'a> {
    /// `build` makes the analyzer, filter and trackers from the command's flags.
    pub fn new(
        repo_row: &'a RepoRow,
        build: &'a dyn Fn() -> Result<(Analyzer, Filter, TrackerSet)>,
    ) -> Locator<'a> {
        Locator {
            repo_row,
            build,
            ready: None,
            analysed: Vec::new(),
        }
    }

    /// The snapshot of `found`, and how its tree was analysed when that happened now.
    pub fn snapshot(
        &mut self,
        store: &mut Store,
        found: &Resolved,
        progress: &Progress,
        say: &(dyn Fn(String) + Sync),
    ) -> Result<(Snapshot, Option<TreeSummary>)> {
        let repo_id = self.repo_row.repo_id;
        if let Some(seq) = found.seq {
            return Ok((Snapshot::Commit { repo_id, seq }, None));
        }
        if let Some(scan_id) = store.revision_tree(repo_id, &found.id)? {
            return Ok((Snapshot::Scan(scan_id), None));
        }
        let off_chain = || {
            format!(
                "{} is off the analysed chain of {}",
                found.label, self.repo_row.name
            )
        };
        if self.ready.is_none() {
            self.ready = Some(self.prepare(store).with_context(off_chain)?);
        }
        let ready = self.ready.as_mut().expect("prepared above");
        let counting = Counting {
            analyzer: &ready.analyzer,
            trackers: &ready.trackers,
            filter: &ready.filter,
        };
        let summary = analyse(
            &ready.repo,
            counting,
            store,
            &mut ready.rows,
            self.repo_row,
            &found.id,
            progress,
            say,
        );
        let summary = match summary {
            Ok(summary) => summary,
            Err(e) => {
                // The blob rows may have been handed out in a transaction rolled back: the next
                // tree starts from what the database holds.
                self.ready = None;
                return Err(e.context(off_chain()));
            }
        };
        self.analysed.push(summary.scan_id);
        Ok((Snapshot::Scan(summary.scan_id), Some(summary)))
    }

    /// After the last tree: evaluates the trackers that the trees' blobs taken from the cache
    /// lack (added since those blobs were analysed), so that no answer goes without them. Only
    /// those blobs: the history's own gaps are `history`'s to fill.
    pub fn finish(
        self,
        store: &mut Store,
        progress: &Progress,
        say: &(dyn Fn(String) + Sync),
    ) -> Result<()> {
        if let Some(ready) = self.ready
            && !self.analysed.is_empty()
        {
            crate::history::evaluate_missing_trackers(
                &ready.repo.shared(),
                store,
                self.repo_row.repo_id,
                Some(&self.analysed),
                &ready.trackers,
                progress,
                say,
            )?;
        }
        Ok(())
    }

    /// What analysing trees takes. Its errors say why no tree can be analysed; `snapshot`
    /// names the revision.
    fn prepare(&self, store: &Store) -> Result<Prepared> {
        let row = self.repo_row;
        let repo = Repo::open(Path::new(&row.identity))
            .context("its tree is read from the repository, which cannot be opened")?;
        let (analyzer, filter, trackers) = (self.build)()?;
        if analyzer.fingerprint() != row.config {
            bail!(
                "its tree is analysed as the history was, so pass the --rules, --queries, --max-elements, --max-len and --fallback-threshold the history was run with"
            );
        }
        if filter.key() != row.filters {
            bail!(
                "its tree is analysed as the history was, so pass the --max-bytes, --include, --exclude and --keep-vendored the history was run with"
            );
        }
        let config = analyzer.fingerprint();
        let rows = BlobRows::new(store, config, store.load_cache(config, "git:")?)?;
        Ok(Prepared {
            repo,
            analyzer,
            filter,
            trackers,
            rows,
        })
    }
}
