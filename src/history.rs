//! `patmine history`: pattern counts at every commit of the first-parent history, from git
//! objects (never a checkout). Each distinct blob is analysed once, ever: the cache is keyed by
//! the git blob id, dialect and configuration fingerprint. Commits are stored as changes against
//! their first parent, with per-commit deltas computed from the blobs' counts (`deltas`), a
//! batch of commits per transaction, so a killed run resumes where its last batch ended.

use std::collections::HashSet;
use std::path::Path;
use std::sync::mpsc::Receiver;
use std::time::Instant;

use anyhow::{Context, Result};
use rayon::prelude::*;

use crate::analyze::Analyzer;
use crate::blobs::{self, BlobOutcome, OutcomeCounts};
use crate::deltas::TreeCounts;
use crate::dialect::Dialect;
use crate::filter::Filter;
use crate::git::{BlobAt, Change, CommitInfo, Repo};
use crate::pipeline::{self, Outbox};
use crate::progress::Progress;
use crate::repair;
use crate::store::{BlobRows, BlobStatus, ChangeRow, CommitRow, Store};
use crate::trackers::{self, TrackerSet};

/// What a history counts (patterns and metrics through the analyzer, the trackers) and which
/// paths and contents it skips.
#[derive(Clone, Copy)]
pub struct Counting<'a> {
    pub analyzer: &'a Analyzer,
    pub trackers: &'a TrackerSet,
    pub filter: &'a Filter,
}

/// Which commits to analyse.
#[derive(Debug, Clone)]
pub struct HistoryOptions {
    pub rev: String,
    /// Unix seconds; commits whose committer time is older are left out.
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Commits per transaction.
    pub batch: usize,
}

#[derive(Debug, Default, Clone)]
pub struct HistorySummary {
    pub repo_id: i64,
    pub window: usize,
    pub already_stored: usize,
    pub analysed: usize,
    pub blobs_parsed: usize,
    /// Blob references (a changed path's old or new content) served without parsing: the blob
    /// was analysed by an earlier run, batch or commit.
    pub blobs_cached: usize,
    pub blobs_skipped: usize,
    pub blobs_missing: usize,
    pub blobs_failed: usize,
    /// Blobs earlier runs could not analyse, tried again at the start of this one.
    pub retried: repair::Retried,
    /// Missing trees and commits: the counts leave their content out.
    pub missing_objects: usize,
    /// Blobs analysed by earlier runs that were read again for trackers they lacked, and how
    /// many of those had to be parsed (the rest could not match).
    pub tracker_blobs_evaluated: usize,
    pub tracker_blobs_parsed: usize,
    pub seconds: f64,
    pub tip: Option<String>,
}

impl HistorySummary {
    /// The one-line summary printed after a run.
    pub fn line(&self, repo: &Path) -> String {
        let trackers = if self.tracker_blobs_evaluated > 0 {
            format!(
                "; trackers evaluated on {} blobs analysed earlier ({} parsed)",
                self.tracker_blobs_evaluated, self.tracker_blobs_parsed
            )
        } else {
            String::new()
        };
        let retried = &self.retried;
        let trackers = if retried.retried > 0 {
            format!(
                "; {} blobs that could not be analysed before retried: {} analysed now, {} still missing, {} still failing{trackers}",
                retried.retried, retried.repaired, retried.still_missing, retried.still_failed
            )
        } else {
            trackers
        };
        format!(
            "history of {}: {} commits in range, {} already stored, {} analysed now; blobs: {} parsed, {} from cache ({:.0}% cache hits), {} skipped, {} missing, {} failed{trackers}; in {:.2}s",
            repo.display(),
            self.window,
            self.already_stored,
            self.analysed,
            self.blobs_parsed,
            self.blobs_cached,
            100.0 * self.cache_hit_rate(),
            self.blobs_skipped,
            self.blobs_missing,
            self.blobs_failed,
            self.seconds
        )
    }

    /// The summary as `--json` prints it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "repo_id": self.repo_id,
            "tip": self.tip,
            "commits_in_range": self.window,
            "already_stored": self.already_stored,
            "analysed": self.analysed,
            "blobs_parsed": self.blobs_parsed,
            "blobs_cached": self.blobs_cached,
            "blobs_skipped": self.blobs_skipped,
            "blobs_missing": self.blobs_missing,
            "blobs_failed": self.blobs_failed,
            "cache_hit_rate": self.cache_hit_rate(),
            "blobs_retried": self.retried.retried,
            "blobs_repaired": self.retried.repaired,
            "blobs_still_missing": self.retried.still_missing,
            "blobs_still_failed": self.retried.still_failed,
            "tracker_blobs_evaluated": self.tracker_blobs_evaluated,
            "tracker_blobs_parsed": self.tracker_blobs_parsed,
            "seconds": self.seconds,
        })
    }

    /// Whether something could not be analysed (the exit status says so).
    pub fn incomplete(&self) -> bool {
        self.blobs_missing
            + self.blobs_failed
            + self.missing_objects
            + self.retried.still_missing
            + self.retried.still_failed
            > 0
    }

    /// Of the blob references of the analysed commits' changes, the share served without
    /// parsing (0 when there were none).
    pub fn cache_hit_rate(&self) -> f64 {
        let analysed_now =
            self.blobs_parsed + self.blobs_skipped + self.blobs_missing + self.blobs_failed;
        let total = analysed_now + self.blobs_cached;
        if total == 0 {
            0.0
        } else {
            self.blobs_cached as f64 / total as f64
        }
    }
}

/// The commits of the first-parent chain inside [since, until], oldest first.
fn window(commits: Vec<CommitInfo>, since: Option<i64>, until: Option<i64>) -> Vec<CommitInfo> {
    let start = since.map_or(0, |s| {
        commits
            .iter()
            .position(|c| c.committer_time >= s)
            .unwrap_or(commits.len())
    });
    let end = until.map_or(commits.len(), |u| {
        commits
            .iter()
            .rposition(|c| c.committer_time <= u)
            .map_or(0, |i| i + 1)
    });
    if start >= end {
        return Vec::new();
    }
    commits.into_iter().skip(start).take(end - start).collect()
}

/// Analyses the history of the repository at `path` into `store`.
pub fn run(
    path: &Path,
    counting: Counting<'_>,
    store: &mut Store,
    options: &HistoryOptions,
    progress: &Progress,
    report: &mut (dyn FnMut(String) + Send),
) -> Result<HistorySummary> {
    let Counting {
        analyzer,
        trackers: tracker_set,
        filter,
    } = counting;
    let started = Instant::now();
    let repo = Repo::open(path)?;
    let config = analyzer.fingerprint().to_string();
    let identity = repo.identity();
    let name = path
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| identity.clone());
    let repo_id = store.repo_id(&identity, &name, &config, &filter.key())?;
    let named: Vec<(&str, &str, &str)> = tracker_set
        .tree_trackers()
        .map(|(i, t)| {
            (
                t.key.as_str(),
                tracker_set.trackers[i].name.as_str(),
                t.definition.as_str(),
            )
        })
        .collect();
    store.record_tracker_names(&named)?;
    let mut summary = HistorySummary {
        repo_id,
        ..HistorySummary::default()
    };
    let report = std::sync::Mutex::new(report);
    let say = |line: String| {
        let mut report = report.lock().unwrap_or_else(|e| e.into_inner());
        progress.suspend(|| (*report)(line));
    };

    let Some(tip) = repo.resolve(&options.rev)? else {
        say(format!(
            "{}: the repository has no commits yet (HEAD is unborn); nothing to analyse",
            path.display()
        ));
        summary.seconds = started.elapsed().as_secs_f64();
        return Ok(summary);
    };
    summary.tip = Some(tip.clone());
    let walk = repo.first_parent_walk(&tip)?;
    if let Some(boundary) = &walk.shallow_boundary {
        say(format!(
            "shallow clone: history stops at commit {boundary}, the oldest commit present"
        ));
    }
    if let Some(missing) = &walk.missing_parent {
        summary.missing_objects += 1;
        say(format!(
            "commit {missing} is missing (damaged or partial clone): history stops at its child"
        ));
    }
    let commits = window(walk.commits, options.since, options.until);
    summary.window = commits.len();

    let shared = repo.shared();
    // Blobs earlier runs could not analyse are tried again: a repaired one cuts the stored
    // history at its first commit holding it, and the walk below recounts from there.
    let retried = repair::retry_unsettled(&shared, store, repo_id, counting, &say)?;
    summary.retried = retried;
    if let Some(seq) = retried.recount_from {
        say(format!(
            "{} blobs that could not be analysed before were analysed now: commits from #{seq} on are counted again",
            retried.repaired
        ));
    }

    // Keep what is stored while it is a prefix of this walk; recompute from where it differs.
    let stored = store.stored_commits(repo_id)?;
    let mut keep = stored
        .iter()
        .zip(&commits)
        .take_while(|(s, c)| **s == c.id)
        .count();
    if keep < stored.len() {
        if keep == 0 {
            if !stored.is_empty() {
                say(format!(
                    "the analysed range changed (stored history starts at {}, this walk at {}): recomputing",
                    short(&stored[0]),
                    commits.first().map_or("nothing", |c| short(&c.id))
                ));
            }
        } else {
            say(format!(
                "history was rewritten: stored commit {} is no longer on the first-parent chain; recomputing from commit {}",
                short(&stored[keep]),
                short(&commits[keep - 1].id)
            ));
        }
        store.truncate_history(repo_id, keep as i64)?;
    }
    // A stored prefix longer than the new window (an earlier --until) was cut above.
    keep = keep.min(commits.len());
    summary.already_stored = keep;

    // Blobs analysed by earlier runs, and (below) by earlier batches of this one: never again.
    let stored_rows = store.load_cache(&config, "git:")?;
    let mut analysed_keys: HashSet<(String, Dialect)> = stored_rows.keys().cloned().collect();
    let keep_path = |p: &str| filter.check_path(p).is_none();
    let bar = progress.bar((commits.len() - keep) as u64, "commits");
    // Its length grows as the diff thread finds blobs never analysed.
    let blob_bar = progress.bar(0, "blobs parsed");
    let tags = repo.tags()?;

    // Three stages, each a batch ahead of the next: this thread diffs trees and picks the blobs
    // never analysed; a parsing stage parses them on the workers; a writer thread stores the batch.
    let write = |batches: Receiver<Batch>| -> Result<WriterCounts> {
        let rows = BlobRows::new(store, &config, stored_rows)?;
        let mut writer = HistoryWriter {
            store,
            rows,
            repo_id,
            analyzer,
            tracker_keys: trackers::tree_keys(tracker_set),
            say: &say,
            counts: WriterCounts::default(),
            tree: TreeCounts::default(),
            last_batch_len: 0,
        };
        for batch in batches {
            writer.write(&commits, batch)?;
            bar.inc(writer.last_batch_len as u64);
        }
        Ok(writer.counts)
    };
    let diff_and_parse = |to_writer: &Outbox<Batch>| -> Result<usize> {
        let parse = |diffs: Receiver<Diffed>| -> Result<()> {
            for diffed in diffs {
                blob_bar.inc_length(diffed.needed.len() as u64);
                let outcomes: Vec<BlobOutcome> = diffed
                    .needed
                    .par_iter()
                    .map_init(
                        || shared.reader(),
                        |reader, blob| {
                            let outcome =
                                blobs::analyse(reader, blob, filter, analyzer, tracker_set);
                            blob_bar.inc(1);
                            outcome
                        },
                    )
                    .collect();
                let batch = Batch {
                    seq: diffed.seq,
                    end: diffed.end,
                    changes: diffed.changes,
                    cached: diffed.cached,
                    needed: diffed.needed,
                    outcomes,
                };
                if !to_writer.send(batch) {
                    break; // The writer stopped; its error is what the run returns.
                }
            }
            Ok(())
        };
        let diff = |to_parser: &Outbox<Diffed>| -> Result<usize> {
            let mut missing_objects = 0;
            let mut seq = keep;
            while seq < commits.len() {
                let end = (seq + options.batch.max(1)).min(commits.len());
                // Changes of each commit against its first parent (the window's first: the
                // empty tree).
                let mut changes: Vec<Vec<Change>> = Vec::with_capacity(end - seq);
                for i in seq..end {
                    let commit = &commits[i];
                    let parent_tree = (i > 0).then(|| commits[i - 1].tree.as_str());
                    let mut missing = |m: String| {
                        missing_objects += 1;
                        say(format!("commit {}: {m}", short(&commit.id)))
                    };
                    changes.push(repo.diff_trees(
                        parent_tree,
                        &commit.tree,
                        &keep_path,
                        &mut missing,
                    )?);
                }
                let mut needed: Vec<BlobAt> = Vec::new();
                let mut referenced = 0;
                let mut seen: HashSet<(&str, Dialect)> = HashSet::new();
                for blob in changes
                    .iter()
                    .flatten()
                    .flat_map(|c| c.old.iter().chain(c.new.iter()))
                {
                    referenced += 1;
                    if seen.insert((blob.id.as_str(), blob.dialect))
                        && analysed_keys.insert((blobs::content_key(blob), blob.dialect))
                    {
                        needed.push(blob.clone());
                    }
                }
                let diffed = Diffed {
                    seq,
                    end,
                    changes,
                    cached: referenced - needed.len(),
                    needed,
                };
                if !to_parser.send(diffed) {
                    break; // A later stage stopped; its error is what the run returns.
                }
                seq = end;
            }
            Ok(missing_objects)
        };
        let ((), missing_objects) = pipeline::run("parsing", 1, parse, diff)?;
        Ok(missing_objects)
    };
    let (written, missing_objects) = pipeline::run("database writer", 1, write, diff_and_parse)?;
    summary.missing_objects += missing_objects;
    summary.analysed = written.analysed;
    summary.blobs_parsed = written.outcomes.parsed;
    summary.blobs_cached = written.cached;
    summary.blobs_skipped = written.outcomes.skipped;
    summary.blobs_missing = written.outcomes.missing;
    summary.blobs_failed = written.outcomes.failed;
    bar.finish_and_clear();
    blob_bar.finish_and_clear();

    // Blobs analysed before a tracker existed (or changed) are read again for it alone.
    let (evaluated, parsed) =
        evaluate_missing_trackers(&shared, store, repo_id, None, tracker_set, progress, &say)?;
    summary.tracker_blobs_evaluated = evaluated;
    summary.tracker_blobs_parsed = parsed;

    // Every tag, on the analysed chain or off it: a release branch's tags are revisions too.
    let mut tag_rows: Vec<(String, String)> = tags
        .into_iter()
        .flat_map(|(commit, names)| names.into_iter().map(move |n| (n, commit.clone())))
        .collect();
    tag_rows.sort();
    store.replace_tags(repo_id, &tag_rows)?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

fn short(id: &str) -> &str {
    &id[..id.len().min(10)]
}

/// A changed path with its old and new blob rows (None where the path is absent).
type PathChange<'p> = (&'p str, Option<i64>, Option<i64>);

/// One batch of commits, diffed, with the blobs it needs analysed, on its way to the parsers.
struct Diffed {
    seq: usize,
    end: usize,
    changes: Vec<Vec<Change>>,
    /// References to blobs (old or new content of a changed path) that need no parse.
    cached: usize,
    needed: Vec<BlobAt>,
}

/// One batch of commits, diffed and with its new blobs analysed, on its way to the writer.
struct Batch {
    seq: usize,
    end: usize,
    changes: Vec<Vec<Change>>,
    /// References to blobs (old or new content of a changed path) that need no parse.
    cached: usize,
    needed: Vec<BlobAt>,
    outcomes: Vec<BlobOutcome>,
}

#[derive(Debug, Default)]
struct WriterCounts {
    analysed: usize,
    cached: usize,
    outcomes: OutcomeCounts,
}

/// Stores batches: assigns blob rows, writes blobs, changes, commits and deltas, one
/// transaction per batch.
struct HistoryWriter<'a> {
    store: &'a mut Store,
    rows: BlobRows,
    repo_id: i64,
    analyzer: &'a Analyzer,
    /// The tree trackers' keys, in `TrackerSet::tree_trackers` order.
    tracker_keys: Vec<String>,
    say: &'a (dyn Fn(String) + Sync),
    counts: WriterCounts,
    /// The counts of the blobs in the tree, for deltas.
    tree: TreeCounts,
    last_batch_len: usize,
}

impl HistoryWriter<'_> {
    fn write(&mut self, commits: &[CommitInfo], batch: Batch) -> Result<()> {
        let store = &*self.store;
        store.begin()?;
        // Each needed blob is new: the diff thread asks for a blob once per run.
        let stored = blobs::store_new(
            store,
            &mut self.rows,
            self.analyzer,
            &self.tracker_keys,
            &batch.needed,
            &batch.outcomes,
            &mut self.counts.outcomes,
            self.say,
        )?;
        let mut parsed_here: HashSet<i64> = stored
            .iter()
            .filter(|b| b.status == BlobStatus::Parsed)
            .map(|b| b.blob_row)
            .collect();
        // The counts of this batch's new blobs, then of older blobs its commits bring back.
        for blob in stored {
            self.tree.insert(blob.blob_row, blob.counts);
        }
        let rows = &self.rows;
        let row_of = |b: &Option<BlobAt>| {
            b.as_ref()
                .and_then(|b| rows.get(&(blobs::content_key(b), b.dialect)))
        };
        let per_commit: Vec<Vec<PathChange<'_>>> = batch
            .changes
            .iter()
            .map(|changes| {
                changes
                    .iter()
                    .map(|c| (c.path.as_str(), row_of(&c.old), row_of(&c.new)))
                    .collect()
            })
            .collect();
        let missing = self.tree.missing(
            per_commit
                .iter()
                .flatten()
                .flat_map(|&(_, old, new)| old.into_iter().chain(new)),
        );
        for (row, counts) in store.load_blob_counts(&missing)? {
            self.tree.insert(row, counts);
        }

        let mut change_rows = Vec::new();
        let mut commit_rows = Vec::new();
        let mut deltas = Vec::with_capacity(per_commit.len());
        for (offset, changes) in per_commit.iter().enumerate() {
            let at = (batch.seq + offset) as i64;
            let mut parsed_blobs = 0;
            for &(path, old_blob, new_blob) in changes {
                if let Some(row) = new_blob
                    && parsed_here.remove(&row)
                {
                    parsed_blobs += 1;
                }
                change_rows.push(ChangeRow {
                    seq: at,
                    path,
                    old_blob,
                    new_blob,
                });
            }
            let pairs: Vec<(Option<i64>, Option<i64>)> =
                changes.iter().map(|&(_, old, new)| (old, new)).collect();
            let commit_deltas = self.tree.commit_deltas(at, &pairs)?;
            commit_rows.push(CommitRow {
                seq: at,
                info: &commits[batch.seq + offset],
                changed_files: changes.len(),
                parsed_blobs,
                error_files: commit_deltas.error_files,
            });
            if !changes.is_empty() {
                deltas.push(commit_deltas);
            }
        }
        store.write_changes(self.repo_id, &change_rows)?;
        store.write_commits(self.repo_id, &commit_rows)?;
        store.write_deltas(self.repo_id, &deltas)?;
        crate::crash::before_commit();
        // The run's last batch commits as a checkpoint: its rows reach the database file once.
        let committed = if batch.end == commits.len() {
            store.commit_with_checkpoint()
        } else {
            store.commit()
        };
        committed.with_context(|| format!("committing commits {}..{}", batch.seq, batch.end))?;
        crate::crash::after_commit();
        self.tree.evict_unheld();
        self.counts.cached += batch.cached;
        self.counts.analysed += batch.end - batch.seq;
        self.last_batch_len = batch.end - batch.seq;
        Ok(())
    }
}

/// Blobs per transaction when trackers are evaluated on blobs analysed earlier.
const TRACKER_BATCH: usize = 1024;

/// Evaluates tree trackers on the parsed blobs of the repository's stored history that lack
/// their counts (a tracker added or changed since those blobs were analysed). Only the trackers
/// a blob lacks run; a blob is parsed only when one of them can match its bytes, with the
/// grammar its stored analysis used; the normalizer never runs. Returns the blobs evaluated and
/// the blobs parsed.
#[allow(clippy::too_many_arguments)]
pub(crate) fn evaluate_missing_trackers(
    repo: &crate::git::SharedRepo,
    store: &mut Store,
    repo_id: i64,
    scans: Option<&[i64]>,
    tracker_set: &TrackerSet,
    progress: &Progress,
    say: &(dyn Fn(String) + Sync),
) -> Result<(usize, usize)> {
    let tree_trackers = tracker_set.distinct_tree_trackers();
    let keys = trackers::tree_keys(tracker_set);
    let lacking = store.blobs_lacking_trackers_in(repo_id, scans, &keys)?;
    if lacking.is_empty() {
        return Ok((0, 0));
    }
    let bar = progress.bar(lacking.len() as u64, "blobs read for trackers");
    let parsed = std::sync::atomic::AtomicUsize::new(0);
    for chunk in lacking.chunks(TRACKER_BATCH) {
        let counted: Vec<Vec<(i64, &str, u32)>> = chunk
            .par_iter()
            .map_init(
                || repo.reader(),
                |reader, blob| {
                    bar.inc(1);
                    let id = blob.content_key.strip_prefix("git:").unwrap_or(&blob.content_key);
                    let Some(grammar) = crate::dialect::Grammar::ALL
                        .into_iter()
                        .find(|g| g.name() == blob.grammar)
                    else {
                        say(format!(
                            "blob {id}: stored grammar `{}` is unknown; its trackers are not counted",
                            blob.grammar
                        ));
                        return Vec::new();
                    };
                    let bytes = match reader.read(id) {
                        Ok(Some(bytes)) => bytes,
                        Ok(None) => {
                            say(format!("blob {id} is missing from the object database; its trackers are not counted"));
                            return Vec::new();
                        }
                        Err(e) => {
                            say(format!("blob {id}: {e:#}; its trackers are not counted"));
                            return Vec::new();
                        }
                    };
                    let mut selected = vec![false; tree_trackers.len()];
                    let mut may_match = false;
                    for &k in &blob.missing {
                        selected[k] = true;
                        let tracker = tree_trackers[k];
                        may_match |= tracker.applies_to(grammar) && tracker.may_match(bytes);
                    }
                    // Only a blob that one of its missing trackers can match is parsed.
                    let counts = if may_match {
                        match crate::analyze::parse_as(grammar, bytes) {
                            Ok(tree) => {
                                parsed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                tracker_set.count_selected(&selected, &tree, bytes, grammar)
                            }
                            Err(e) => {
                                say(format!("blob {id}: {e}; its trackers are not counted"));
                                return Vec::new();
                            }
                        }
                    } else {
                        vec![0; tree_trackers.len()]
                    };
                    let rows: Vec<(i64, &str, u32)> = blob
                        .missing
                        .iter()
                        .map(|&k| (blob.blob_row, keys[k].as_str(), counts[k]))
                        .collect();
                    rows
                },
            )
            .collect();
        let rows: Vec<(i64, &str, u32)> = counted.into_iter().flatten().collect();
        store.begin()?;
        store.write_tracker_counts(&rows)?;
        store.commit().context("committing tracker counts")?;
    }
    bar.finish_and_clear();
    Ok((lacking.len(), parsed.into_inner()))
}
