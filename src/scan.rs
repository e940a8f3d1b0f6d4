//! `patmine scan`: discover the files of a tree, filter, analyse in parallel (or take the cache),
//! and store counts. Batches are written in transactions, so an interrupted scan keeps what it
//! finished and a re-run parses only what is new.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::Result;
use rayon::prelude::*;

use crate::FastMap;
use crate::analyze::{Analyzer, FileAnalysis, sha256_hex};
use crate::dialect::Dialect;
use crate::filter::{Filter, SkipReason};
use crate::progress::Progress;
use crate::store::{BlobRows, FileRecord, NewBlob, ScanCounts, ScanTotals, Store};

/// Files stored per transaction: bounds memory and the work an interruption can lose.
const BATCH_FILES: usize = 2_000;

/// Files a worker examines before handing their outcomes to the writer in one message (a
/// message per file costs a thread wake-up per file).
const CHUNK_FILES: usize = 64;

/// Chunks in flight between the workers and the writer; workers wait when it is full.
const CHANNEL_CHUNKS: usize = 64;

/// A file found under the scanned root.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub path: PathBuf,
    /// `/`-separated, relative to the root.
    pub rel: String,
    pub dialect: Dialect,
}

#[derive(Debug, Default, Clone)]
pub struct ScanSummary {
    pub scan_id: i64,
    pub files: usize,
    pub parsed: usize,
    pub cached: usize,
    pub skipped: BTreeMap<SkipReason, usize>,
    pub failed: usize,
    /// Wall time of `scan` itself (the CLI reports its whole run, from the directory walk on).
    pub seconds: f64,
}

/// The outcome of one file, before storage.
enum Outcome {
    Parsed {
        key: String,
        bytes: u64,
        analysis: FileAnalysis,
    },
    Cached {
        blob_row: i64,
    },
    Skipped(SkipReason),
    Failed(String),
}

/// Walks `root` without following symlinks or entering version-control directories. Vendored
/// directories are walked too, so that each of their files is recorded as skipped with its reason.
/// Unreadable directories are reported through `report` and skipped.
pub fn discover(root: &Path, report: &mut dyn FnMut(String)) -> Vec<Candidate> {
    let mut found = Vec::new();
    let mut stack: Vec<(PathBuf, String)> = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel_dir)) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                report(format!("{}: cannot read directory: {e}", dir.display()));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    report(format!(
                        "{}: cannot read directory entry: {e}",
                        dir.display()
                    ));
                    continue;
                }
            };
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let rel = if rel_dir.is_empty() {
                name.to_string()
            } else {
                format!("{rel_dir}/{name}")
            };
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            if file_type.is_dir() {
                if matches!(name.as_ref(), ".git" | ".hg" | ".svn") {
                    continue;
                }
                stack.push((entry.path(), rel));
            } else if file_type.is_file()
                && let Some(dialect) = Dialect::from_path(rel.as_bytes())
            {
                found.push(Candidate {
                    path: entry.path(),
                    rel,
                    dialect,
                });
            }
        }
    }
    found.sort_by(|a, b| a.rel.cmp(&b.rel));
    found
}

fn examine(
    candidate: &Candidate,
    filter: &Filter,
    analyzer: &Analyzer,
    cache: &FastMap<(String, Dialect), i64>,
) -> Outcome {
    if let Some(reason) = filter.check_path(&candidate.rel) {
        return Outcome::Skipped(reason);
    }
    let bytes = match read_within(&candidate.path, filter) {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(reason)) => return Outcome::Skipped(reason),
        Err(e) => return Outcome::Failed(format!("cannot read: {e}")),
    };
    if let Some(reason) = filter.check_content(&bytes) {
        return Outcome::Skipped(reason);
    }
    let key = format!("sha256:{}", sha256_hex(&bytes));
    if let Some(&blob_row) = cache.get(&(key.clone(), candidate.dialect)) {
        return Outcome::Cached { blob_row };
    }
    match analyzer.analyze(&bytes, candidate.dialect) {
        Ok(analysis) => Outcome::Parsed {
            key,
            bytes: bytes.len() as u64,
            analysis,
        },
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// Reads a file unless the size filter skips it: one open, the size from that handle (a file
/// too large is never read), then the bytes.
fn read_within(path: &Path, filter: &Filter) -> std::io::Result<Result<Vec<u8>, SkipReason>> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    if let Some(reason) = filter.check_size(size) {
        return Ok(Err(reason));
    }
    // One byte of room past the size, so the read that finds the end needs no growth.
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).saturating_add(1));
    file.read_to_end(&mut bytes)?;
    Ok(Ok(bytes))
}

/// The one-line note for a file nested deeper than the root queries look.
pub fn too_deep_note(what: &str) -> String {
    format!(
        "{what}: nested deeper than {} levels; pattern roots below that depth are not counted",
        crate::analyze::MAX_ROOT_DEPTH
    )
}

/// Scans `candidates`, found under `root` by `discover` (which the caller can run while it opens
/// the store), into `store`. Per-file problems go to `report` as one line each and the scan goes
/// on; only storage errors stop it. Files are analysed in parallel and streamed in small chunks,
/// as they finish, to a writer thread that owns the store and commits every `BATCH_FILES`
/// outcomes: no worker waits for a batch's slowest file.
pub fn scan(
    root: &Path,
    candidates: &[Candidate],
    analyzer: &Analyzer,
    filter: &Filter,
    store: &mut Store,
    progress: &Progress,
    report: &mut (dyn FnMut(String) + Send),
) -> Result<ScanSummary> {
    let started = Instant::now();
    let config = analyzer.fingerprint().to_string();
    // Workers look up content stored by earlier runs here; the writer dedupes this run's own.
    let stored = store.load_cache(&config, "sha256:")?;
    let scan_id = store.start_scan(&root.display().to_string(), &config)?;
    let bar = progress.bar(candidates.len() as u64, "files");
    let (sender, receiver) = std::sync::mpsc::sync_channel::<(usize, Vec<Outcome>)>(CHANNEL_CHUNKS);
    let writer_stopped = AtomicBool::new(false);

    let (mut summary, counts) = std::thread::scope(|scope| -> Result<(ScanSummary, ScanCounts)> {
        let writer = scope.spawn(|| {
            let rows = BlobRows::new(store, &config, stored.clone())?;
            let mut writer = BatchWriter {
                store,
                rows,
                scan_id,
                analyzer,
                progress,
                report,
                summary: ScanSummary::default(),
                counts: ScanCounts::default(),
            };
            let mut batch: Vec<(&Candidate, Outcome)> = Vec::with_capacity(BATCH_FILES);
            for (start, outcomes) in receiver {
                batch.extend(candidates[start..].iter().zip(outcomes));
                if batch.len() >= BATCH_FILES {
                    writer.write(&batch)?;
                    batch.clear();
                }
            }
            writer.write(&batch)?;
            Ok::<_, anyhow::Error>((writer.summary, writer.counts))
        });
        candidates
            .par_chunks(CHUNK_FILES)
            .enumerate()
            .for_each_with(sender, |sender, (index, chunk)| {
                if writer_stopped.load(Ordering::Relaxed) {
                    return;
                }
                let outcomes: Vec<Outcome> = chunk
                    .iter()
                    .map(|candidate| examine(candidate, filter, analyzer, &stored))
                    .collect();
                bar.inc(chunk.len() as u64);
                if sender.send((index * CHUNK_FILES, outcomes)).is_err() {
                    // The writer stopped; its error is returned below.
                    writer_stopped.store(true, Ordering::Relaxed);
                }
            });
        writer
            .join()
            .map_err(|_| anyhow::anyhow!("the database writer thread panicked"))?
    })?;
    bar.finish_and_clear();
    store.query_threads()?;
    summary.scan_id = scan_id;
    summary.files = candidates.len();
    let totals = ScanTotals {
        files: summary.files,
        parsed: summary.parsed,
        cached: summary.cached,
        skipped: summary.skipped.values().sum(),
        failed: summary.failed,
    };
    // The writer saw the patterns of every parsed file; those of cached files are in the store.
    store.finish_scan(scan_id, &totals, (summary.cached == 0).then_some(&counts))?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Stores analysed batches: assigns blob rows (the same content twice in this run is stored
/// once), writes blobs, signatures and file records, one transaction per batch, and sums the
/// pattern counts of the parsed files as it goes.
struct BatchWriter<'a> {
    store: &'a mut Store,
    rows: BlobRows,
    scan_id: i64,
    analyzer: &'a Analyzer,
    progress: &'a Progress,
    report: &'a mut (dyn FnMut(String) + Send),
    summary: ScanSummary,
    counts: ScanCounts,
}

impl BatchWriter<'_> {
    fn write(&mut self, batch: &[(&Candidate, Outcome)]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut new_blobs: Vec<NewBlob<'_>> = Vec::new();
        let mut records: Vec<(String, Dialect, FileRecord<'_>)> = Vec::with_capacity(batch.len());
        for (candidate, outcome) in batch {
            let record = match outcome {
                Outcome::Parsed {
                    key,
                    bytes,
                    analysis,
                } => {
                    self.summary.parsed += 1;
                    if analysis.too_deep {
                        let note = too_deep_note(&candidate.path.display().to_string());
                        self.progress.suspend(|| (self.report)(note));
                    }
                    let (blob_row, new) = self.rows.assign(key.clone(), candidate.dialect);
                    if new {
                        new_blobs.push(NewBlob {
                            blob_row,
                            content_key: key,
                            dialect: candidate.dialect,
                            bytes: *bytes,
                            status: "parsed",
                            analysis: Some(analysis),
                        });
                    }
                    FileRecord::Analysed {
                        blob_row,
                        cached: false,
                    }
                }
                Outcome::Cached { blob_row } => {
                    self.summary.cached += 1;
                    FileRecord::Analysed {
                        blob_row: *blob_row,
                        cached: true,
                    }
                }
                Outcome::Skipped(reason) => {
                    *self.summary.skipped.entry(*reason).or_default() += 1;
                    FileRecord::Skipped(reason.name())
                }
                Outcome::Failed(message) => {
                    self.summary.failed += 1;
                    let line = format!("{}: {message}", candidate.path.display());
                    self.progress.suspend(|| (self.report)(line));
                    FileRecord::Failed(message)
                }
            };
            records.push((candidate.rel.clone(), candidate.dialect, record));
        }
        let rules = self.analyzer.rules();
        let store = &*self.store;
        store.begin()?;
        self.rows
            .write(store, &new_blobs, &|t| rules.categorize(t))?;
        store.write_scan_files(self.scan_id, &records)?;
        store.commit()?;
        let mut sigs = Vec::new();
        for (candidate, outcome) in batch {
            if let Outcome::Parsed { analysis, .. } = outcome {
                sigs.clear();
                for p in &analysis.patterns {
                    let (Some(a), Some(s)) = (
                        self.rows.sig(&p.abstract_hash),
                        self.rows.sig(&p.semantic_hash),
                    ) else {
                        anyhow::bail!("{}: a signature was not stored", candidate.path.display());
                    };
                    sigs.push((a, s, p.occurrences));
                }
                self.counts.add_file(candidate.dialect, &mut sigs);
            }
        }
        Ok(())
    }
}
