//! `patmine scan`: discover the files of a tree, filter, analyse in parallel (or take the cache),
//! and store counts. Batches are written in transactions, so an interrupted scan keeps what it
//! finished and a re-run parses only what is new.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use anyhow::Result;

use crate::analyze::{Analyzer, FileAnalysis, sha256_hex};
use crate::dialect::Dialect;
use crate::filter::{Filter, SkipReason};
use crate::phrasebook::{self, FilePattern, Level, PatternRow, RunPatterns};
use crate::pipeline::{self, Outbox};
use crate::progress::Progress;
use crate::store::{BlobRows, BlobStatus, FileRecord, NewBlob, ScanTotals, Store, StoreError};
use crate::{FastMap, FastSet};

/// Files stored per transaction: bounds memory and the work an interruption can lose.
const BATCH_FILES: usize = 2_000;

/// Files per transaction once fewer than `BATCH_FILES` are still to come: what is left to store
/// after the last file is analysed is then a few hundred files, not up to a whole batch.
const TAIL_BATCH_FILES: usize = 500;

/// Files a worker claims at a time (see `chunks`), and hands to the writer in one message (a
/// message per file costs a thread wake-up per file). The floor claims files the same way.
pub(crate) const CHUNK_FILES: usize = 64;

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
    /// Files whose counts come from this run's analysis.
    pub parsed: usize,
    /// Of `parsed`, files whose bytes and dialect another file of this run had: the content was
    /// analysed once, for that file.
    pub same_content: usize,
    pub cached: usize,
    pub skipped: BTreeMap<SkipReason, usize>,
    pub failed: usize,
    /// Wall time of `scan` itself (the CLI reports its whole run, from the directory walk on).
    pub seconds: f64,
    /// The ranked patterns asked for, when the run analysed every file itself and could rank
    /// them from memory (see `phrasebook::rank_run`); otherwise they are read from the store.
    pub top: Option<Vec<PatternRow>>,
}

impl ScanSummary {
    /// The one-line summary printed after a scan of `root`.
    pub fn line(&self, root: &Path) -> String {
        let skipped: usize = self.skipped.values().sum();
        let reasons: Vec<String> = (self.skipped.iter())
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        let reasons = if reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", reasons.join(", "))
        };
        let same_content = if self.same_content > 0 {
            format!(
                " ({} with the content of another file, analysed once)",
                self.same_content
            )
        } else {
            String::new()
        };
        format!(
            "scanned {}: {} files, {} parsed{}, {} from cache, {} skipped{}, {} failed in {:.2}s",
            root.display(),
            self.files,
            self.parsed,
            same_content,
            self.cached,
            skipped,
            reasons,
            self.failed,
            self.seconds
        )
    }

    /// The summary as `--json` prints it.
    pub fn to_json(&self) -> serde_json::Value {
        let skipped: serde_json::Map<String, serde_json::Value> = (self.skipped.iter())
            .map(|(r, n)| (r.name().to_string(), serde_json::json!(n)))
            .collect();
        serde_json::json!({
            "scan_id": self.scan_id,
            "files": self.files,
            "parsed": self.parsed,
            "same_content": self.same_content,
            "cached": self.cached,
            "skipped": skipped,
            "failed": self.failed,
            "seconds": self.seconds,
        })
    }
}

/// The outcome of one file, before storage.
enum Outcome {
    Parsed {
        key: String,
        bytes: u64,
        analysis: FileAnalysis,
    },
    /// Another file of this run has the same bytes and dialect, and analyses them.
    SameContent {
        key: String,
    },
    Cached {
        blob_row: i64,
    },
    Skipped(SkipReason),
    Failed {
        message: String,
        /// The content key, when the content was claimed for analysis: files with the same
        /// content fail with it.
        key: Option<String>,
    },
}

/// The contents (key and dialect) claimed for analysis in this run: the first file with some
/// bytes and dialect analyses them, the others wait for its counts.
type Claims = Mutex<FastSet<(String, Dialect)>>;

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
    claims: &Claims,
) -> Outcome {
    if let Some(reason) = filter.check_path(&candidate.rel) {
        return Outcome::Skipped(reason);
    }
    let bytes = match read_within(&candidate.path, filter) {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(reason)) => return Outcome::Skipped(reason),
        Err(e) => {
            return Outcome::Failed {
                message: format!("cannot read: {e}"),
                key: None,
            };
        }
    };
    if let Some(reason) = filter.check_content(&bytes) {
        return Outcome::Skipped(reason);
    }
    let key = format!("sha256:{}", sha256_hex(&bytes));
    let content = (key, candidate.dialect);
    if let Some(&blob_row) = cache.get(&content) {
        return Outcome::Cached { blob_row };
    }
    let first = claims
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(content.clone());
    let (key, _) = content;
    if !first {
        return Outcome::SameContent { key };
    }
    match analyzer.analyze(&bytes, candidate.dialect) {
        Ok(analysis) => Outcome::Parsed {
            key,
            bytes: bytes.len() as u64,
            analysis,
        },
        Err(e) => Outcome::Failed {
            message: e.to_string(),
            key: Some(key),
        },
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
    // One byte of room past the size, so the read that finds the end needs no growth. Read
    // through `take`: `File::read_to_end` would ask the system for the size and the position
    // again (two more calls per file; 40,000 on 20,000 files).
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).saturating_add(1));
    file.by_ref().take(u64::MAX).read_to_end(&mut bytes)?;
    Ok(Ok(bytes))
}

/// The one-line note for a file nested deeper than the root queries look.
pub fn too_deep_note(what: &str) -> String {
    format!(
        "{what}: nested deeper than {} levels; pattern roots below that depth are not counted",
        crate::analyze::MAX_ROOT_DEPTH
    )
}

/// What one scan analyses, and how.
#[derive(Clone, Copy)]
pub struct ScanJob<'c> {
    /// The directory the candidates were found under, as the scan's row records it.
    pub root: &'c Path,
    /// The files `discover` found (which the caller can run while it opens the store).
    pub candidates: &'c [Candidate],
    pub analyzer: &'c Analyzer,
    pub filter: &'c Filter,
    /// The top patterns wanted in the summary (level, how many), when the run can rank them
    /// from memory.
    pub ranking: Option<(Level, usize)>,
}

/// The database a scan writes to: open, or a new one being opened on another thread. A database
/// that does not exist yet has nothing cached, so the workers need not wait for its opening
/// (DuckDB's start, attaching the file and creating the schema, which takes longer than the
/// directory walk); the writer waits for it instead.
pub enum StoreSource {
    Open(Store),
    New(std::thread::JoinHandle<Result<Store, StoreError>>),
}

impl StoreSource {
    /// The store, once open.
    pub fn into_store(self) -> Result<Store> {
        match self {
            StoreSource::Open(store) => Ok(store),
            StoreSource::New(opening) => Ok(opening
                .join()
                .map_err(|_| anyhow::anyhow!("opening the database panicked"))??),
        }
    }
}

/// Scans a job's candidates into the store, which it returns. Per-file problems go to `report`
/// as one line each and the scan goes on; only storage errors stop it. Files are analysed in
/// parallel and streamed in small chunks, as they finish, to a writer thread that owns the
/// store and commits every `BATCH_FILES` outcomes: no worker waits for a batch's slowest file.
pub fn scan(
    job: ScanJob<'_>,
    source: StoreSource,
    progress: &Progress,
    report: &mut (dyn FnMut(String) + Send),
) -> Result<(ScanSummary, Store)> {
    let ScanJob {
        root,
        candidates,
        analyzer,
        filter,
        ranking,
    } = job;
    let started = Instant::now();
    let config = analyzer.fingerprint().to_string();
    // Workers look up content stored by earlier runs here; the writer dedupes this run's own.
    let stored = match &source {
        StoreSource::Open(store) => store.load_cache(&config, "sha256:")?,
        StoreSource::New(_) => FastMap::default(),
    };
    let claims = Claims::default();
    let bar = progress.bar(candidates.len() as u64, "files");
    // The workers need only the cache index: the writer gets the store and records the scan
    // while they start.
    let write = |receiver: std::sync::mpsc::Receiver<Vec<(usize, Outcome)>>| -> Result<_> {
        let mut store = source.into_store()?;
        let scan_id = store.start_scan(&root.display().to_string(), &config)?;
        let rows = BlobRows::new(&store, &config, stored.clone())?;
        // From here to `query_threads` below, the store only appends and commits.
        store.plain_planning()?;
        let mut writer = BatchWriter {
            store: &mut store,
            rows,
            analyzer,
            progress,
            report,
            summary: ScanSummary {
                scan_id,
                ..ScanSummary::default()
            },
            counts: ScanCounts::default(),
            kept: Kept::default(),
            waiting: FastMap::default(),
            failed_contents: FastMap::default(),
        };
        let mut batch: Vec<(&Candidate, Outcome)> = Vec::with_capacity(BATCH_FILES);
        let mut to_come = candidates.len();
        for outcomes in receiver {
            to_come = to_come.saturating_sub(outcomes.len());
            batch.extend(
                outcomes
                    .into_iter()
                    .map(|(index, outcome)| (&candidates[index], outcome)),
            );
            let limit = if to_come < BATCH_FILES {
                TAIL_BATCH_FILES
            } else {
                BATCH_FILES
            };
            if batch.len() >= limit {
                writer.write(&batch)?;
                batch.clear();
            }
        }
        writer.write(&batch)?;
        writer.finish_waiting()?;
        writer.kept.signatures = writer.rows.into_signatures();
        let (summary, counts, kept) = (writer.summary, writer.counts, writer.kept);
        Ok((summary, counts, kept, store))
    };
    // Each worker claims `CHUNK_FILES` files at a time, in order, and hands their outcomes to
    // the writer in one message; the workers end within a chunk of each other.
    let analyse = |outbox: &Outbox<Vec<(usize, Outcome)>>| -> Result<()> {
        crate::chunks::for_each_chunk(candidates.len(), CHUNK_FILES, |range| {
            if outbox.consumer_stopped() {
                return false;
            }
            let chunk: Vec<(usize, Outcome)> = range
                .map(|index| {
                    let outcome = examine(&candidates[index], filter, analyzer, &stored, &claims);
                    (index, outcome)
                })
                .collect();
            bar.inc(chunk.len() as u64);
            outbox.send(chunk)
        });
        Ok(())
    };
    let ((mut summary, counts, kept, store), ()) =
        pipeline::run("database writer", CHANNEL_CHUNKS, write, analyse)?;
    bar.finish_and_clear();
    store.query_threads()?;
    let scan_id = summary.scan_id;
    summary.files = candidates.len();
    let totals = ScanTotals {
        files: summary.files,
        parsed: summary.parsed,
        cached: summary.cached,
        skipped: summary.skipped.values().sum(),
        failed: summary.failed,
    };
    // The writer saw the patterns of every parsed file; those of cached files are in the store.
    // With none cached, the run ranks its patterns from memory while the store commits.
    let every_file_parsed = summary.cached == 0;
    let rules = analyzer.rules();
    let categorize = |text: &str| rules.categorize(text);
    summary.top = std::thread::scope(|scope| -> Result<Option<Vec<PatternRow>>> {
        // The ranking thread also frees what the run kept, off the commit's path.
        let ranking = ranking.filter(|_| every_file_parsed).map(|(level, limit)| {
            let (counts, categorize) = (&counts, &categorize);
            scope.spawn(move || {
                let run = kept.run_patterns(counts, level, categorize);
                phrasebook::rank_run(run, level, limit)
            })
        });
        store.finish_scan(scan_id, &totals)?;
        ranking
            .map(|ranked| {
                ranked
                    .join()
                    .map_err(|_| anyhow::anyhow!("ranking the patterns panicked"))
            })
            .transpose()
    })?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok((summary, store))
}

/// A scan's pattern counts, summed file by file as the writer stores them, to rank the run's
/// patterns without a query: per level (abstract, semantic) and signature number, the
/// occurrences and the files holding the pattern. A file holds a pattern once however many
/// variants (semantic signatures under one abstract one, kinds) it has of it, as in the store's
/// `scan_counts`.
#[derive(Debug, Default, PartialEq)]
struct ScanCounts {
    by_level: [FastMap<i32, (i64, i64)>; 2],
}

impl ScanCounts {
    /// Adds one file: its patterns as (abstract sig, semantic sig, occurrences), in any order.
    fn add_file(&mut self, patterns: &mut [(i32, i32, u32)]) {
        for (level, counts) in self.by_level.iter_mut().enumerate() {
            let sig = |p: &(i32, i32, u32)| if level == 0 { p.0 } else { p.1 };
            patterns.sort_unstable_by_key(sig);
            for run in patterns.chunk_by(|a, b| sig(a) == sig(b)) {
                let occurrences: i64 = run.iter().map(|p| i64::from(p.2)).sum();
                let entry = counts.entry(sig(&run[0])).or_default();
                entry.0 += occurrences;
                entry.1 += 1;
            }
        }
    }

    /// `(sig, occurrences, files)` of every pattern at `level`.
    fn totals(&self, level: Level) -> Vec<(i32, i64, i64)> {
        let counts = match level {
            Level::Abstract => &self.by_level[0],
            Level::Semantic => &self.by_level[1],
        };
        counts.iter().map(|(&sig, &(o, f))| (sig, o, f)).collect()
    }
}

/// Stores analysed batches: assigns blob rows (the same content twice in this run is stored
/// once), writes blobs, signatures and file records, one transaction per batch, and sums the
/// pattern counts of the parsed files as it goes.
struct BatchWriter<'a, 'c> {
    store: &'a mut Store,
    rows: BlobRows,
    analyzer: &'a Analyzer,
    progress: &'a Progress,
    report: &'a mut (dyn FnMut(String) + Send),
    /// The run's summary so far; its `scan_id` is the scan's row, which file records name.
    summary: ScanSummary,
    counts: ScanCounts,
    /// What the run keeps of its parsed files, for the files with the same content that come
    /// later and for ranking.
    kept: Kept<'c>,
    /// Files whose content's first file has not reached the writer yet.
    waiting: FastMap<(String, Dialect), Vec<&'c Candidate>>,
    /// Contents whose analysis failed in this run, with the message.
    failed_contents: FastMap<(String, Dialect), String>,
}

impl<'c> BatchWriter<'_, 'c> {
    fn write(&mut self, batch: &[(&'c Candidate, Outcome)]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut new_blobs: Vec<NewBlob<'_>> = Vec::new();
        let mut records: Vec<(String, Dialect, FileRecord<'_>)> = Vec::with_capacity(batch.len());
        // Files with the content of another file of this run: their blob row, counted below.
        let mut same_content: Vec<(&Candidate, i64)> = Vec::new();
        // Files with the content of a file whose analysis failed, with its message.
        let mut failed_with: Vec<(&Candidate, String)> = Vec::new();
        // Parsed files with their blob row, counted below.
        let mut parsed: Vec<(&Candidate, i64)> = Vec::new();
        for &(candidate, ref outcome) in batch {
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
                    parsed.push((candidate, blob_row));
                    if new {
                        new_blobs.push(NewBlob {
                            blob_row,
                            content_key: key,
                            dialect: candidate.dialect,
                            bytes: *bytes,
                            status: BlobStatus::Parsed,
                            analysis: Some(analysis),
                        });
                    }
                    let content = (key.clone(), candidate.dialect);
                    for waiting in self.waiting.remove(&content).unwrap_or_default() {
                        self.summary.parsed += 1;
                        self.summary.same_content += 1;
                        same_content.push((waiting, blob_row));
                        records.push((
                            waiting.rel.clone(),
                            waiting.dialect,
                            FileRecord::Analysed {
                                blob_row,
                                cached: false,
                            },
                        ));
                    }
                    FileRecord::Analysed {
                        blob_row,
                        cached: false,
                    }
                }
                Outcome::SameContent { key } => {
                    let content = (key.clone(), candidate.dialect);
                    if let Some(blob_row) = self.rows.get(&content) {
                        self.summary.parsed += 1;
                        self.summary.same_content += 1;
                        same_content.push((candidate, blob_row));
                        FileRecord::Analysed {
                            blob_row,
                            cached: false,
                        }
                    } else if let Some(message) = self.failed_contents.get(&content) {
                        failed_with.push((candidate, message.clone()));
                        continue;
                    } else {
                        // Recorded when its content's first file arrives.
                        self.waiting.entry(content).or_default().push(candidate);
                        continue;
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
                    FileRecord::Skipped(*reason)
                }
                Outcome::Failed { message, key } => {
                    self.report_failure(candidate, message);
                    if let Some(key) = key {
                        let content = (key.clone(), candidate.dialect);
                        for waiting in self.waiting.remove(&content).unwrap_or_default() {
                            failed_with.push((waiting, message.clone()));
                        }
                        self.failed_contents.insert(content, message.clone());
                    }
                    FileRecord::Failed(message)
                }
            };
            records.push((candidate.rel.clone(), candidate.dialect, record));
        }
        for (candidate, message) in &failed_with {
            self.report_failure(candidate, message);
            records.push((
                candidate.rel.clone(),
                candidate.dialect,
                FileRecord::Failed(message),
            ));
        }
        let rules = self.analyzer.rules();
        let store = &*self.store;
        store.begin()?;
        let sigs_of_blobs = self
            .rows
            .write(store, &new_blobs, &|t| rules.categorize(t))?;
        store.write_scan_files(self.summary.scan_id, &records)?;
        crate::crash::before_commit();
        store.commit()?;
        crate::crash::after_commit();
        for (blob, sigs) in new_blobs.iter().zip(sigs_of_blobs) {
            if let Some(analysis) = blob.analysis {
                self.kept.keep_blob(blob.blob_row, analysis, &sigs);
            }
        }
        let mut sigs = Vec::new();
        for (candidate, blob_row) in parsed.into_iter().chain(same_content) {
            let Some(stored) = self.kept.patterns_of_row.get(&blob_row) else {
                anyhow::bail!("{}: its patterns were not stored", candidate.path.display());
            };
            sigs.clear();
            sigs.extend(
                stored
                    .iter()
                    .map(|p| (p.abstract_sig, p.semantic_sig, p.occurrences)),
            );
            self.counts.add_file(&mut sigs);
            self.kept.files.push((candidate, blob_row));
        }
        Ok(())
    }

    /// Counts a failed file and reports it in one line.
    fn report_failure(&mut self, candidate: &Candidate, message: &str) {
        self.summary.failed += 1;
        let line = format!("{}: {message}", candidate.path.display());
        self.progress.suspend(|| (self.report)(line));
    }

    /// Records the files still waiting for their content's first file, which never came (it
    /// cannot, unless a worker stopped early): failed, so that no file goes unrecorded.
    fn finish_waiting(&mut self) -> Result<()> {
        let waiting: Vec<&Candidate> = self.waiting.drain().flat_map(|(_, files)| files).collect();
        if waiting.is_empty() {
            return Ok(());
        }
        let message = "no file with its content was analysed".to_string();
        let mut records = Vec::with_capacity(waiting.len());
        for candidate in waiting {
            self.report_failure(candidate, &message);
            records.push((
                candidate.rel.clone(),
                candidate.dialect,
                FileRecord::Failed(&message),
            ));
        }
        let store = &*self.store;
        store.begin()?;
        store.write_scan_files(self.summary.scan_id, &records)?;
        store.commit()
    }
}

/// What a scan keeps of the files it parsed: each content's counted patterns (for the files with
/// the same content that come later, and for ranking), the files, and the signature texts.
#[derive(Default)]
struct Kept<'c> {
    /// The counted patterns of each blob row parsed in this run.
    patterns_of_row: FastMap<i64, Box<[FilePattern]>>,
    /// The kinds `FilePattern::kind` indexes.
    kinds: Vec<Arc<str>>,
    /// Every file whose counts come from this run, with its blob row.
    files: Vec<(&'c Candidate, i64)>,
    /// Signature texts -> numbers, once the writer is done.
    signatures: FastMap<Box<str>, i32>,
}

impl Kept<'_> {
    /// Keeps a new blob's patterns: `sigs` are their signature numbers, in the analysis' order.
    fn keep_blob(&mut self, blob_row: i64, analysis: &FileAnalysis, sigs: &[(i32, i32, u32)]) {
        let patterns = analysis
            .patterns
            .iter()
            .zip(sigs)
            .map(
                |(pattern, &(abstract_sig, semantic_sig, occurrences))| FilePattern {
                    abstract_sig,
                    semantic_sig,
                    occurrences,
                    kind: self.kind_index(&pattern.kind),
                    first_line: pattern.first_line,
                },
            )
            .collect();
        self.patterns_of_row.insert(blob_row, patterns);
    }

    /// The index of a kind: the analyzer's kinds are shared, so this is a pointer comparison
    /// among the few dozen capture names of the root queries.
    fn kind_index(&mut self, kind: &Arc<str>) -> u32 {
        let found = (self.kinds.iter())
            .position(|k| Arc::ptr_eq(k, kind))
            .or_else(|| self.kinds.iter().position(|k| k == kind));
        let index = found.unwrap_or_else(|| {
            self.kinds.push(kind.clone());
            self.kinds.len() - 1
        });
        // Out of range only past 2^32 kinds; ranking reads an unknown index as no kind.
        u32::try_from(index).unwrap_or(u32::MAX)
    }

    /// The run's patterns at `level`, ready to rank.
    fn run_patterns<'k>(
        &'k self,
        counts: &ScanCounts,
        level: Level,
        categorize: &'k (dyn Fn(&str) -> String + Sync),
    ) -> RunPatterns<'k> {
        RunPatterns {
            counts: counts.totals(level),
            files: (self.files.iter())
                .filter_map(|(candidate, row)| {
                    let patterns = self.patterns_of_row.get(row)?;
                    Some((candidate.rel.as_str(), &patterns[..]))
                })
                .collect(),
            kinds: &self.kinds,
            signatures: &self.signatures,
            categorize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &[u8] = b"const fs = require('fs');\nfs.readFileSync('x', 'utf8');\n";
    const KEY: &str = "sha256:content";

    fn files() -> Vec<Candidate> {
        ["a/one.js", "b/two.js", "c/three.js"]
            .iter()
            .map(|rel| Candidate {
                path: PathBuf::from(rel),
                rel: rel.to_string(),
                dialect: Dialect::from_path(rel.as_bytes()).expect("a .js path"),
            })
            .collect()
    }

    fn parsed(analyzer: &Analyzer) -> Outcome {
        Outcome::Parsed {
            key: KEY.to_string(),
            bytes: SOURCE.len() as u64,
            analysis: analyzer.analyze(SOURCE, Dialect::Js).expect("analyses"),
        }
    }

    fn same() -> Outcome {
        Outcome::SameContent {
            key: KEY.to_string(),
        }
    }

    /// What the writer made of `batches` (file index, outcome): the summary, the summed counts,
    /// each file's (status, blob row) and the report lines.
    type Written = (
        ScanSummary,
        ScanCounts,
        Vec<(String, String, Option<i64>)>,
        Vec<String>,
    );

    /// Batches of (file index, outcome), made with the analyzer of the run.
    type Batches = Vec<Vec<(usize, Outcome)>>;

    fn write(batches: impl FnOnce(&Analyzer) -> Batches) -> Written {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("t.duckdb");
        let analyzer = Analyzer::builtin();
        let files = files();
        let mut lines = Vec::new();
        let (summary, counts) = {
            let mut store = Store::open(&db).expect("store");
            let config = analyzer.fingerprint();
            let scan_id = store.start_scan("t", config).expect("scan row");
            let rows = BlobRows::new(&store, config, FastMap::default()).expect("rows");
            let progress = Progress::new(true);
            let mut report = |line: String| lines.push(line);
            let mut writer = BatchWriter {
                store: &mut store,
                rows,
                analyzer: &analyzer,
                progress: &progress,
                report: &mut report,
                summary: ScanSummary {
                    scan_id,
                    ..ScanSummary::default()
                },
                counts: ScanCounts::default(),
                kept: Kept::default(),
                waiting: FastMap::default(),
                failed_contents: FastMap::default(),
            };
            for batch in batches(&analyzer) {
                let batch: Vec<(&Candidate, Outcome)> =
                    batch.into_iter().map(|(i, o)| (&files[i], o)).collect();
                writer.write(&batch).expect("batch written");
            }
            writer.finish_waiting().expect("waiting files written");
            (writer.summary, writer.counts)
        };
        let conn = duckdb::Connection::open(&db).expect("reopened");
        let mut stmt = conn
            .prepare("SELECT path, status, blob_row FROM scan_files ORDER BY path")
            .expect("query");
        let records = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("rows")
            .map(|r| r.expect("row"))
            .collect();
        (summary, counts, records, lines)
    }

    #[test]
    fn a_content_analysed_once_counts_for_every_file_holding_it_in_any_arrival_order() {
        // Before: every file analysed its own copy. The counts must be the same.
        let (_, analysed_twice, _, _) = write(|a| vec![vec![(0, parsed(a)), (1, parsed(a))]]);
        let orders: [fn(&Analyzer) -> Batches; 3] = [
            |a| vec![vec![(0, parsed(a)), (1, same())]],
            |a| vec![vec![(1, same()), (0, parsed(a))]],
            |a| vec![vec![(1, same())], vec![(0, parsed(a))]],
        ];
        for (i, order) in orders.into_iter().enumerate() {
            let (summary, counts, records, lines) = write(order);
            assert_eq!(counts, analysed_twice, "order {i}: counts");
            assert_eq!(
                (summary.parsed, summary.same_content, summary.failed),
                (2, 1, 0),
                "order {i}: summary"
            );
            assert_eq!(records.len(), 2, "order {i}: every file recorded once");
            assert!(
                records
                    .iter()
                    .all(|r| r.1 == "parsed" && r.2 == records[0].2),
                "order {i}: both files hold one blob row: {records:?}"
            );
            assert!(lines.is_empty(), "order {i}: {lines:?}");
        }
    }

    #[test]
    fn files_sharing_a_failed_content_fail_with_it_and_none_goes_unrecorded() {
        let failed = || Outcome::Failed {
            message: "boom".to_string(),
            key: Some(KEY.to_string()),
        };
        let (summary, _, records, lines) =
            write(|_| vec![vec![(1, same())], vec![(0, failed())], vec![(2, same())]]);
        assert_eq!((summary.parsed, summary.failed), (0, 3));
        assert_eq!(records.len(), 3);
        assert!(
            records.iter().all(|r| r.1 == "failed" && r.2.is_none()),
            "{records:?}"
        );
        assert_eq!(lines.len(), 3, "one line per file: {lines:?}");
        assert!(lines.iter().all(|l| l.ends_with(": boom")), "{lines:?}");

        // A content whose first file never reaches the writer: its other files still get a
        // record and a line.
        let (summary, _, records, lines) = write(|_| vec![vec![(1, same())]]);
        assert_eq!((summary.failed, records.len(), lines.len()), (1, 1, 1));
        assert!(lines[0].starts_with("b/two.js: "), "{lines:?}");
    }
}
