//! The DuckDB store: the schema (all of it, here), the blob cache, and scan results.
//!
//! One writer at a time. Every batch of work is written in one transaction, so a run that dies
//! leaves the database as it was after its last whole batch.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use duckdb::{Connection, params};

use crate::FastMap;
use crate::analyze::{FileAnalysis, METRIC_KINDS, sha256_hex};
use crate::columns::{ColumnType, Columns};
use crate::deltas::{BlobCounts, CommitDeltas};
use crate::dialect::Dialect;

/// Schema version: bump on any change below.
pub const SCHEMA_VERSION: i64 = 4;

/// One row: a fact about the database itself (`schema_version`). Created first, on its own, so
/// that the version is checked before anything else is created.
const META_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);";

fn schema_sql() -> String {
    let metric_columns: String = METRIC_KINDS
        .iter()
        .map(|k| format!(", \"{k}\" INTEGER NOT NULL"))
        .collect();
    let metric_delta_columns: String = METRIC_KINDS
        .iter()
        .map(|k| format!(", \"{k}\" BIGINT NOT NULL"))
        .collect();
    format!(
        r#"
{META_TABLE}

-- One row: a distinct content analysed under one configuration (the parse cache). content_key is
-- `sha256:<hex>` of a file's bytes or `git:<hex>` of a git blob id; the same bytes in another
-- dialect or under another rulebook/query/normalizer fingerprint (`config`) is another row.
-- (No key constraints on the high-volume tables: the writer keeps them unique, and DuckDB's
-- index maintenance would cost more than the rest of the write.) Content keys are stored
-- uncompressed: hex digests shrink by less than half under DuckDB's string compression, which
-- costs a run's last checkpoint 9 ms per 20,000 files; the file is 11% larger for it.
CREATE TABLE IF NOT EXISTS blobs (
    blob_row BIGINT NOT NULL,
    content_key VARCHAR NOT NULL USING COMPRESSION uncompressed,
    dialect VARCHAR NOT NULL,
    config VARCHAR NOT NULL,
    status VARCHAR NOT NULL,        -- parsed | skipped:<reason> | missing | failed
    grammar VARCHAR NOT NULL,       -- grammar used after fallback; '' unless parsed
    error_nodes INTEGER NOT NULL,
    loc INTEGER NOT NULL,
    bytes BIGINT NOT NULL{metric_columns}
);

-- One row: one (abstract, semantic) signature pair's occurrences in one blob. The signatures
-- are `signatures.sig` numbers: the high-volume tables hold integers, not 64-character ids.
CREATE TABLE IF NOT EXISTS blob_patterns (
    blob_row BIGINT NOT NULL,
    abstract_sig INTEGER NOT NULL,
    semantic_sig INTEGER NOT NULL,
    kind VARCHAR NOT NULL,
    occurrences INTEGER NOT NULL,
    first_line INTEGER NOT NULL
);

-- One row: a signature text (either level) under one configuration, with its categories. sig
-- is the number the count tables use (unique in the database). The pattern id users see is the
-- SHA-256 of the text (`sha256(text)` in SQL): derived, so not stored, where it would be a third
-- of the strings a scan writes. Texts (and `scan_files.path`) are compressed with ZSTD, not
-- DuckDB's default dictionary and FSST: a run's last checkpoint, which compresses what the run
-- wrote, took 39 ms instead of 57 for the tables of a 20,000-file scan (timed with DuckDB's
-- Python package), and the scan's file is 11% smaller (these strings are all distinct, so a
-- dictionary only costs time).
CREATE TABLE IF NOT EXISTS signatures (
    sig INTEGER NOT NULL,
    config VARCHAR NOT NULL,
    text VARCHAR NOT NULL USING COMPRESSION zstd,
    categories VARCHAR NOT NULL
);

-- One row: one run of `patmine scan`.
CREATE TABLE IF NOT EXISTS scans (
    scan_id BIGINT PRIMARY KEY,
    root VARCHAR NOT NULL,
    config VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    files INTEGER,
    parsed INTEGER,
    cached INTEGER,
    skipped INTEGER,
    failed INTEGER
);

-- One row: one file a scan looked at: parsed, cached, skipped (with reason) or failed.
CREATE TABLE IF NOT EXISTS scan_files (
    scan_id BIGINT NOT NULL,
    path VARCHAR NOT NULL USING COMPRESSION zstd,
    dialect VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    reason VARCHAR,
    blob_row BIGINT
);

-- One row: one pattern's counts in one scan, per level and dialect. A view: the counts follow
-- from the scan's files and their blobs' stored patterns, so they are summed when read (tens of
-- milliseconds for a scan of 20,000 files) rather than written at the end of every scan. Per
-- blob first, then weighted by the paths holding that blob: a file holds a pattern once however
-- many variants (semantic signatures under one abstract one, kinds) it has of it. A filter on
-- `scan_id` reaches `scan_files` before the join.
CREATE VIEW IF NOT EXISTS scan_counts AS
WITH files AS (
    SELECT scan_id, blob_row, any_value(dialect) AS dialect, count(*) AS paths
    FROM scan_files WHERE blob_row IS NOT NULL
    GROUP BY scan_id, blob_row),
per_file AS (
    SELECT f.scan_id, 'abstract' AS level, p.abstract_sig AS sig, f.dialect, f.paths,
        sum(p.occurrences) AS occurrences
    FROM files f JOIN blob_patterns p ON p.blob_row = f.blob_row
    GROUP BY f.scan_id, f.blob_row, f.dialect, f.paths, p.abstract_sig
    UNION ALL
    SELECT f.scan_id, 'semantic' AS level, p.semantic_sig AS sig, f.dialect, f.paths,
        sum(p.occurrences) AS occurrences
    FROM files f JOIN blob_patterns p ON p.blob_row = f.blob_row
    GROUP BY f.scan_id, f.blob_row, f.dialect, f.paths, p.semantic_sig)
SELECT scan_id, level, sig, dialect, sum(occurrences * paths)::BIGINT AS occurrences,
    sum(paths)::BIGINT AS files
FROM per_file
GROUP BY scan_id, level, sig, dialect;

-- One row: one repository analysed under one configuration and path filter set. A changed
-- rulebook, query set or filter is another row, so stale counts are never mixed in.
CREATE TABLE IF NOT EXISTS repos (
    repo_id BIGINT PRIMARY KEY,
    identity VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    config VARCHAR NOT NULL,
    filters VARCHAR NOT NULL
);

-- One row: one analysed commit; seq is its position in the first-parent walk (oldest = 0).
CREATE TABLE IF NOT EXISTS commits (
    repo_id BIGINT NOT NULL,
    seq INTEGER NOT NULL,
    commit_id VARCHAR NOT NULL,
    parent_id VARCHAR,
    author VARCHAR NOT NULL,
    author_time BIGINT NOT NULL,
    committer_time BIGINT NOT NULL,
    subject VARCHAR NOT NULL,
    changed_files INTEGER NOT NULL,
    parsed_blobs INTEGER NOT NULL,
    error_files INTEGER NOT NULL,
    PRIMARY KEY (repo_id, seq)
);

-- One row: one JS/TS path a commit changed against its first parent (the first analysed commit:
-- against the empty tree). old_blob/new_blob are blob rows, NULL where the path is absent.
CREATE TABLE IF NOT EXISTS commit_changes (
    repo_id BIGINT NOT NULL,
    seq INTEGER NOT NULL,
    path VARCHAR NOT NULL,
    old_blob BIGINT,
    new_blob BIGINT
);

-- One row: how one pattern's counts changed in one commit. Running sums over seq give the
-- occurrences and files at any commit.
CREATE TABLE IF NOT EXISTS commit_pattern_deltas (
    repo_id BIGINT NOT NULL,
    seq INTEGER NOT NULL,
    level VARCHAR NOT NULL,
    sig INTEGER NOT NULL,
    d_occurrences BIGINT NOT NULL,
    d_files BIGINT NOT NULL
);

-- One row: how files, lines and node-kind counts changed in one commit (running sums again).
CREATE TABLE IF NOT EXISTS commit_metric_deltas (
    repo_id BIGINT NOT NULL,
    seq INTEGER NOT NULL,
    d_files BIGINT NOT NULL,
    d_loc BIGINT NOT NULL{metric_delta_columns}
);

-- One row: a tag pointing at an analysed repository's commit.
CREATE TABLE IF NOT EXISTS tags (
    repo_id BIGINT NOT NULL,
    name VARCHAR NOT NULL,
    commit_id VARCHAR NOT NULL
);
"#
    )
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path} is locked by another process: {detail}")]
    Locked { path: PathBuf, detail: String },
    #[error("cannot open database {path}: {detail}")]
    Open { path: PathBuf, detail: String },
    #[error(
        "database {path} has schema version {found}, this patmine writes version {expected}; use a new --db file"
    )]
    Schema {
        path: PathBuf,
        found: i64,
        expected: i64,
    },
}

pub struct Store {
    pub(crate) conn: Connection,
    path: PathBuf,
}

/// A file's outcome in a scan, as stored.
pub enum FileRecord<'a> {
    /// Parsed now (the analysis is new) or found in the cache (`analysis` is None).
    Analysed {
        blob_row: i64,
        cached: bool,
    },
    Skipped(&'a str),
    Failed(&'a str),
}

/// A new blob to write: its analysis, or why it has none (`status`).
pub struct NewBlob<'a> {
    pub blob_row: i64,
    pub content_key: &'a str,
    pub dialect: Dialect,
    pub bytes: u64,
    pub status: &'a str,
    pub analysis: Option<&'a FileAnalysis>,
}

/// Rows per row group in a database patmine creates (DuckDB's default is 122,880). A checkpoint
/// compresses one row group per task, so the last one of a run, which nothing else overlaps,
/// uses every core only when a table has several groups; and a checkpoint rewrites a table's
/// last, unfilled group. On 20,000 npm files: the scan's final commit 102 -> 77 ms, the scan
/// 1.57x -> 1.55x the floor (11 alternating runs).
const ROW_GROUP_ROWS: u32 = 16_384;

/// DuckDB writes three 4 KiB header blocks when it creates a database, before anything else.
const DUCKDB_HEADER_BYTES: u64 = 3 * 4096;

/// A file an interrupted creation left behind: shorter than DuckDB's headers, and empty, all
/// zeros, or starting with DuckDB's own header (its magic `DUCK` at byte 8). Nothing can have been
/// committed to it. Any other file is not patmine's to remove.
fn is_incomplete_database(path: &Path) -> bool {
    // The size first: a large file that DuckDB rejects is never read here.
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() < DUCKDB_HEADER_BYTES) {
        return false;
    }
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    (bytes.len() as u64) < DUCKDB_HEADER_BYTES
        && (bytes.iter().all(|&b| b == 0) || bytes.get(8..12) == Some(b"DUCK".as_slice()))
}

impl Store {
    /// Opens (or creates) the database. A file left incomplete by a run killed while DuckDB was
    /// creating it holds nothing, and is created again; DuckDB itself rejects it.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        match Store::open_file(path) {
            Err(StoreError::Open { .. }) if is_incomplete_database(path) => {
                std::fs::remove_file(path).map_err(|e| StoreError::Open {
                    path: path.to_path_buf(),
                    detail: format!("cannot remove the incomplete database file: {e}"),
                })?;
                Store::open_file(path)
            }
            opened => opened,
        }
    }

    fn open_file(path: &Path) -> Result<Store, StoreError> {
        let conn = Store::attach(path).map_err(|e| {
            let detail = e.to_string().lines().next().unwrap_or_default().to_string();
            if detail.contains("lock") {
                StoreError::Locked {
                    path: path.to_path_buf(),
                    detail,
                }
            } else {
                StoreError::Open {
                    path: path.to_path_buf(),
                    detail,
                }
            }
        })?;
        // DuckDB's default is most of the machine's memory; patmine's working set is small and
        // DuckDB spills to disk past this.
        conn.execute_batch(
            "SET memory_limit = '512MB'; SET preserve_insertion_order = false; SET threads = 1;",
        )
        .map_err(|e| StoreError::Open {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.init().map_err(|e| StoreError::Open {
            path: path.to_path_buf(),
            detail: format!("{e:#}"),
        })??;
        Ok(store)
    }

    /// The database file, attached to an in-memory DuckDB as the default database, so that one
    /// it creates gets row groups of `ROW_GROUP_ROWS` (a file keeps the size it was created with).
    fn attach(path: &Path) -> duckdb::Result<Connection> {
        // The path goes into SQL, as text: a quote is doubled, nothing else is special.
        let text = path
            .to_str()
            .ok_or_else(|| duckdb::Error::InvalidPath(path.to_path_buf()))?;
        let literal = text.replace('\'', "''");
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(&format!(
            "ATTACH '{literal}' AS patmine (ROW_GROUP_SIZE {ROW_GROUP_ROWS}); USE patmine;"
        ))?;
        Ok(conn)
    }

    /// Creates the schema where it is missing and checks its version, in one transaction: a new
    /// file gets the whole schema or none of it, and a database of another version is left as
    /// it was.
    fn init(&self) -> Result<Result<(), StoreError>> {
        self.begin()?;
        let checked = self.create_schema();
        if matches!(checked, Ok(Ok(()))) {
            self.commit()?;
        } else {
            // The error that matters is the one above.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        checked
    }

    fn create_schema(&self) -> Result<Result<(), StoreError>> {
        // The version first: a database of another version gets nothing of this one's schema.
        self.conn
            .execute_batch(META_TABLE)
            .context("creating the schema")?;
        let found: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .ok();
        match found {
            None => {
                self.conn.execute(
                    "INSERT INTO meta VALUES ('schema_version', ?)",
                    params![SCHEMA_VERSION.to_string()],
                )?;
            }
            Some(v) if v == SCHEMA_VERSION.to_string() => {}
            Some(v) => {
                return Ok(Err(StoreError::Schema {
                    path: self.path.clone(),
                    found: v.parse().unwrap_or(-1),
                    expected: SCHEMA_VERSION,
                }));
            }
        }
        self.conn
            .execute_batch(&schema_sql())
            .context("creating the schema")?;
        Ok(Ok(()))
    }

    /// The cache index for one configuration: (content key, dialect) -> blob row.
    pub fn load_cache(
        &self,
        config: &str,
        key_prefix: &str,
    ) -> Result<FastMap<(String, Dialect), i64>> {
        let mut stmt = self
            .conn
            .prepare("SELECT content_key, dialect, blob_row FROM blobs WHERE config = ? AND starts_with(content_key, ?)")?;
        let rows = stmt.query_map(params![config, key_prefix], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let mut map = FastMap::default();
        for row in rows {
            let (key, dialect, blob_row) = row?;
            if let Some(d) = Dialect::from_name(&dialect) {
                map.insert((key, d), blob_row);
            }
        }
        Ok(map)
    }

    /// One more than the largest `column` of `table` (1 in an empty table): the next number
    /// to hand out. Table and column are names from this module, never user input.
    fn next_number<T: duckdb::types::FromSql>(&self, table: &str, column: &str) -> Result<T> {
        Ok(self.conn.query_row(
            &format!("SELECT coalesce(max({column}), 0) + 1 FROM {table}"),
            [],
            |r| r.get(0),
        )?)
    }

    pub fn next_blob_row(&self) -> Result<i64> {
        self.next_number("blobs", "blob_row")
    }

    /// The signatures already stored for `config`: text -> sig number.
    pub fn load_signatures(&self, config: &str) -> Result<FastMap<Box<str>, i32>> {
        let mut stmt = self
            .conn
            .prepare("SELECT text, sig FROM signatures WHERE config = ?")?;
        let rows = stmt.query_map(params![config], |r| {
            Ok((r.get::<_, String>(0)?.into_boxed_str(), r.get::<_, i32>(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn next_sig(&self) -> Result<i32> {
        self.next_number("signatures", "sig")
    }

    /// DuckDB runs on one thread while patmine's workers fill the machine with parsing. Once
    /// writing is done, the queries that close a run or read a report get as many threads as
    /// rayon's pool has (`--jobs` where the command takes it, otherwise every core), and the
    /// optimizer if `plain_planning` turned it off.
    pub fn query_threads(&self) -> Result<()> {
        self.conn.execute_batch(&format!(
            "SET threads = {}; SET enable_optimizer = true;",
            rayon::current_num_threads()
        ))?;
        Ok(())
    }

    /// Plans statements without DuckDB's optimizer until `query_threads`. For a writer whose
    /// statements are appends and commits only: each appender flush is an `INSERT … SELECT`
    /// that DuckDB parses, plans and optimizes, and the optimizer, which has nothing to improve
    /// there, was a third of the planning (13 ms of the writer's CPU in a profile of a scan of
    /// 20,000 files). A query that joins or filters must not run in between: unoptimized, it
    /// scans everything.
    pub fn plain_planning(&self) -> Result<()> {
        self.conn.execute_batch("SET enable_optimizer = false")?;
        Ok(())
    }

    pub fn begin(&self) -> Result<()> {
        self.conn.execute_batch("BEGIN TRANSACTION")?;
        Ok(())
    }

    pub fn commit(&self) -> Result<()> {
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }

    /// Writes new blobs, their patterns, and any signatures not stored yet. Call inside a
    /// transaction; `signatures` is updated. Returns each blob's patterns as signature numbers,
    /// in the order of `blobs` (none for a blob without analysis).
    pub fn write_blobs(
        &self,
        blobs: &[NewBlob<'_>],
        config: &str,
        signatures: &mut SignatureRows,
        categorize: &dyn Fn(&str) -> String,
    ) -> Result<Vec<PatternSigs>> {
        use ColumnType::{Int32, Int64, Text};
        let mut blob_types = vec![Int64, Text, Text, Text, Text, Text, Int32, Int32, Int64];
        blob_types.extend([Int32; METRIC_KINDS.len()]);
        let mut blob_rows = Columns::with_rows("blobs", &blob_types, blobs.len());
        let patterns: usize = (blobs.iter())
            .filter_map(|b| b.analysis.map(|a| a.patterns.len()))
            .sum();
        let mut pattern_rows = Columns::with_rows(
            "blob_patterns",
            &[Int64, Int32, Int32, Text, Int32, Int32],
            patterns,
        );
        let mut signature_rows = Columns::new("signatures", &[Int32, Text, Text, Text]);
        let mut sigs_of_blobs = Vec::with_capacity(blobs.len());
        let mut blob_sigs = Vec::new();
        for blob in blobs {
            let (grammar, error_nodes, loc) = match blob.analysis {
                Some(a) => (a.grammar.name(), a.error_nodes, a.loc),
                None => ("", 0, 0),
            };
            blob_rows
                .int64(Some(blob.blob_row))?
                .text(Some(blob.content_key))?
                .text(Some(blob.dialect.name()))?
                .text(Some(config))?
                .text(Some(blob.status))?
                .text(Some(grammar))?
                .int32(error_nodes)?
                .int32(loc)?
                .int64(Some(i64::try_from(blob.bytes)?))?;
            let metrics = blob.analysis.map(|a| a.metrics).unwrap_or_default();
            for metric in metrics {
                blob_rows.int32(metric)?;
            }
            blob_rows.end_row()?;
            let Some(a) = blob.analysis else {
                sigs_of_blobs.push(PatternSigs::default());
                continue;
            };
            blob_sigs.clear();
            for p in &a.patterns {
                let mut sigs = [0i32; 2];
                for (sig, text) in sigs.iter_mut().zip([p.abstract_text(), p.semantic_text()]) {
                    *sig = match signatures.known.get(text) {
                        Some(&sig) => sig,
                        None => {
                            let new = signatures.next;
                            signatures.next = new.checked_add(1).context(
                                "more than 2^31 signatures: the signature numbers ran out",
                            )?;
                            signatures.known.insert(text.into(), new);
                            signature_rows
                                .int32(new)?
                                .text(Some(config))?
                                .text(Some(text))?
                                .text(Some(&categorize(text)))?
                                .end_row()?;
                            new
                        }
                    };
                }
                pattern_rows
                    .int64(Some(blob.blob_row))?
                    .int32(sigs[0])?
                    .int32(sigs[1])?
                    .text(Some(&p.kind))?
                    .int32(p.occurrences)?
                    .int32(p.first_line)?
                    .end_row()?;
                blob_sigs.push((sigs[0], sigs[1], p.occurrences));
            }
            sigs_of_blobs.push(blob_sigs.as_slice().into());
        }
        for rows in [&mut blob_rows, &mut pattern_rows, &mut signature_rows] {
            rows.write(&self.conn)?;
        }
        Ok(sigs_of_blobs)
    }

    pub fn start_scan(&self, root: &str, config: &str) -> Result<i64> {
        let id: i64 = self.next_number("scans", "scan_id")?;
        self.conn.execute(
            "INSERT INTO scans (scan_id, root, config, started_at) VALUES (?, ?, ?, now())",
            params![id, root, config],
        )?;
        Ok(id)
    }

    pub fn write_scan_files(
        &self,
        scan_id: i64,
        files: &[(String, Dialect, FileRecord<'_>)],
    ) -> Result<()> {
        use ColumnType::{Int64, Text};
        let mut rows = Columns::with_rows(
            "scan_files",
            &[Int64, Text, Text, Text, Text, Int64],
            files.len(),
        );
        for (path, dialect, record) in files {
            let (status, reason, blob_row): (&str, Option<&str>, Option<i64>) = match record {
                FileRecord::Analysed { blob_row, cached } => (
                    if *cached { "cached" } else { "parsed" },
                    None,
                    Some(*blob_row),
                ),
                FileRecord::Skipped(reason) => ("skipped", Some(reason), None),
                FileRecord::Failed(reason) => ("failed", Some(reason), None),
            };
            rows.int64(Some(scan_id))?
                .text(Some(path))?
                .text(Some(dialect.name()))?
                .text(Some(status))?
                .text(reason)?
                .int64(blob_row)?
                .end_row()?;
        }
        rows.write(&self.conn)
    }

    /// Closes a scan: its totals, in the transaction that checkpoints the run (only a finished
    /// scan has counts to rank; `scan_counts` sums them from the scan's files when read).
    pub fn finish_scan(&self, scan_id: i64, totals: &ScanTotals) -> Result<()> {
        self.begin()?;
        self.conn.execute(
            "UPDATE scans SET finished_at = now(), files = ?, parsed = ?, cached = ?, skipped = ?,
                failed = ? WHERE scan_id = ?",
            params![
                totals.files as i64,
                totals.parsed as i64,
                totals.cached as i64,
                totals.skipped as i64,
                totals.failed as i64,
                scan_id
            ],
        )?;
        self.commit_with_checkpoint()
    }

    /// Commits the last transaction of a run as a checkpoint: DuckDB then writes the changes to
    /// the database file once, instead of to its log first and to the file again when the
    /// connection closes. (A commit checkpoints when the log would pass `checkpoint_threshold`,
    /// and a large one skips the log; the threshold is restored afterwards.)
    pub fn commit_with_checkpoint(&self) -> Result<()> {
        self.conn.execute_batch("SET checkpoint_threshold = '0b'")?;
        let committed = self.commit();
        let restored = self.conn.execute_batch("RESET checkpoint_threshold");
        committed?;
        Ok(restored?)
    }
}

/// How many files a scan looked at, by outcome.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScanTotals {
    pub files: usize,
    pub parsed: usize,
    pub cached: usize,
    pub skipped: usize,
    pub failed: usize,
}

/// A content's counted patterns as signature numbers: (abstract sig, semantic sig, occurrences).
pub type PatternSigs = Box<[(i32, i32, u32)]>;

/// The blob rows of one configuration as a writer hands them out: which content sits in which
/// row, which signatures are stored, and the next free row. Scan and history share it.
pub struct BlobRows {
    rows: FastMap<(String, Dialect), i64>,
    signatures: SignatureRows,
    next_row: i64,
    config: String,
}

/// The signatures stored so far (text -> sig number) and the next free number.
pub struct SignatureRows {
    known: FastMap<Box<str>, i32>,
    next: i32,
}

impl BlobRows {
    /// Starts from `rows`, the cache index the caller already loaded (`Store::load_cache`).
    pub fn new(
        store: &Store,
        config: &str,
        rows: FastMap<(String, Dialect), i64>,
    ) -> Result<BlobRows> {
        Ok(BlobRows {
            rows,
            signatures: SignatureRows {
                known: store.load_signatures(config)?,
                next: store.next_sig()?,
            },
            next_row: store.next_blob_row()?,
            config: config.to_string(),
        })
    }

    /// The signatures stored so far: text -> number.
    pub fn into_signatures(self) -> FastMap<Box<str>, i32> {
        self.signatures.known
    }

    /// The row of content already assigned (by an earlier run, or earlier in this one).
    pub fn get(&self, key: &(String, Dialect)) -> Option<i64> {
        self.rows.get(key).copied()
    }

    /// The row for this content: `(row, true)` when it is new and must be written.
    pub fn assign(&mut self, key: String, dialect: Dialect) -> (i64, bool) {
        if let Some(&row) = self.rows.get(&(key.clone(), dialect)) {
            return (row, false);
        }
        let row = self.next_row;
        self.next_row += 1;
        self.rows.insert((key, dialect), row);
        (row, true)
    }

    /// Writes new blobs and the signatures not stored yet (inside the caller's transaction).
    /// Returns each blob's patterns as signature numbers, in the order of `blobs`.
    pub fn write(
        &mut self,
        store: &Store,
        blobs: &[NewBlob<'_>],
        categorize: &dyn Fn(&str) -> String,
    ) -> Result<Vec<PatternSigs>> {
        store.write_blobs(blobs, &self.config, &mut self.signatures, categorize)
    }
}

/// A commit row to store.
pub struct CommitRow<'a> {
    pub seq: i64,
    pub info: &'a crate::git::CommitInfo,
    pub changed_files: usize,
    pub parsed_blobs: usize,
    pub error_files: usize,
}

/// A changed path to store.
pub struct ChangeRow<'a> {
    pub seq: i64,
    pub path: &'a str,
    pub old_blob: Option<i64>,
    pub new_blob: Option<i64>,
}

/// History: repositories, commits, changes, and the per-commit deltas computed from them.
impl Store {
    /// The repository row for (identity, configuration, filters), created when new.
    pub fn repo_id(&self, identity: &str, name: &str, config: &str, filters: &str) -> Result<i64> {
        let found: Option<i64> = self
            .conn
            .query_row(
                "SELECT repo_id FROM repos WHERE identity = ? AND config = ? AND filters = ?",
                params![identity, config, filters],
                |r| r.get(0),
            )
            .ok();
        if let Some(id) = found {
            return Ok(id);
        }
        let id: i64 = self.next_number("repos", "repo_id")?;
        self.conn.execute(
            "INSERT INTO repos VALUES (?, ?, ?, ?, ?)",
            params![id, identity, name, config, filters],
        )?;
        Ok(id)
    }

    /// Repositories in the database: (repo_id, identity, name, config).
    pub fn repos(&self) -> Result<Vec<(i64, String, String, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT repo_id, identity, name, config FROM repos ORDER BY repo_id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Commit ids already analysed for a repository, in walk order.
    pub fn stored_commits(&self, repo_id: i64) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT commit_id FROM commits WHERE repo_id = ? ORDER BY seq")?;
        let rows = stmt.query_map(params![repo_id], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Forgets everything from position `seq` on (a rewritten history, a changed window).
    pub fn truncate_history(&self, repo_id: i64, seq: i64) -> Result<()> {
        self.begin()?;
        for table in [
            "commits",
            "commit_changes",
            "commit_pattern_deltas",
            "commit_metric_deltas",
        ] {
            self.conn.execute(
                &format!("DELETE FROM {table} WHERE repo_id = ? AND seq >= ?"),
                params![repo_id, seq],
            )?;
        }
        self.commit()
    }

    pub fn write_changes(&self, repo_id: i64, rows: &[ChangeRow<'_>]) -> Result<()> {
        use ColumnType::{Int32, Int64, Text};
        let mut columns = Columns::new("commit_changes", &[Int64, Int32, Text, Int64, Int64]);
        for row in rows {
            columns
                .int64(Some(repo_id))?
                .int32(row.seq)?
                .text(Some(row.path))?
                .int64(row.old_blob)?
                .int64(row.new_blob)?
                .end_row()?;
        }
        columns.write(&self.conn)
    }

    pub fn write_commits(&self, repo_id: i64, rows: &[CommitRow<'_>]) -> Result<()> {
        let mut app = self.conn.appender("commits")?;
        for row in rows {
            let c = row.info;
            app.append_row(params![
                repo_id,
                row.seq,
                c.id,
                c.first_parent,
                c.author,
                c.author_time,
                c.committer_time,
                c.subject,
                row.changed_files as i64,
                row.parsed_blobs as i64,
                row.error_files as i64
            ])?;
        }
        app.flush()?;
        Ok(())
    }

    /// Writes per-commit pattern and metric deltas.
    pub fn write_deltas(&self, repo_id: i64, commits: &[CommitDeltas]) -> Result<()> {
        use ColumnType::{Int32, Int64, Text};
        let mut patterns = Columns::new(
            "commit_pattern_deltas",
            &[Int64, Int32, Text, Int32, Int64, Int64],
        );
        let mut metric_types = vec![Int64, Int32, Int64, Int64];
        metric_types.extend([Int64; METRIC_KINDS.len()]);
        let mut metrics = Columns::new("commit_metric_deltas", &metric_types);
        for commit in commits {
            for &(level, sig, d_occurrences, d_files) in &commit.patterns {
                patterns
                    .int64(Some(repo_id))?
                    .int32(commit.seq)?
                    .text(Some(level))?
                    .int32(sig)?
                    .int64(Some(d_occurrences))?
                    .int64(Some(d_files))?
                    .end_row()?;
            }
            metrics
                .int64(Some(repo_id))?
                .int32(commit.seq)?
                .int64(Some(commit.d_files))?
                .int64(Some(commit.d_loc))?;
            for d in commit.d_metrics {
                metrics.int64(Some(d))?;
            }
            metrics.end_row()?;
        }
        patterns.write(&self.conn)?;
        metrics.write(&self.conn)
    }

    /// The counts of stored blobs (for deltas of commits that bring an old blob back).
    pub fn load_blob_counts(&self, rows: &[i64]) -> Result<HashMap<i64, BlobCounts>> {
        let mut out: HashMap<i64, BlobCounts> = HashMap::new();
        for chunk in rows.chunks(1000) {
            let list = chunk
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            let metric_columns: String =
                METRIC_KINDS.iter().map(|k| format!(", \"{k}\"")).collect();
            let mut stmt = self.conn.prepare(&format!(
                "SELECT blob_row, status = 'parsed', error_nodes > 0, loc{metric_columns}
                 FROM blobs WHERE blob_row IN ({list})"
            ))?;
            let blobs = stmt.query_map([], |r| {
                let mut metrics = [0u32; METRIC_KINDS.len()];
                for (i, m) in metrics.iter_mut().enumerate() {
                    *m = r.get(4 + i)?;
                }
                Ok((
                    r.get::<_, i64>(0)?,
                    BlobCounts {
                        parsed: r.get(1)?,
                        has_errors: r.get(2)?,
                        loc: r.get(3)?,
                        metrics,
                        ..BlobCounts::default()
                    },
                ))
            })?;
            for blob in blobs {
                let (row, counts) = blob?;
                out.insert(row, counts);
            }
            for (column, semantic) in [("abstract_sig", false), ("semantic_sig", true)] {
                let mut stmt = self.conn.prepare(&format!(
                    "SELECT blob_row, {column}, sum(occurrences)::INTEGER FROM blob_patterns
                     WHERE blob_row IN ({list}) GROUP BY ALL ORDER BY ALL"
                ))?;
                let sigs = stmt.query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i32>(1)?,
                        r.get::<_, u32>(2)?,
                    ))
                })?;
                for sig in sigs {
                    let (row, sig, occurrences) = sig?;
                    if let Some(counts) = out.get_mut(&row) {
                        let sigs = if semantic {
                            &mut counts.semantic_sigs
                        } else {
                            &mut counts.abstract_sigs
                        };
                        sigs.push((sig, occurrences));
                    }
                }
            }
        }
        Ok(out)
    }

    pub fn replace_tags(&self, repo_id: i64, tags: &[(String, String)]) -> Result<()> {
        self.begin()?;
        self.conn
            .execute("DELETE FROM tags WHERE repo_id = ?", params![repo_id])?;
        let mut app = self.conn.appender("tags")?;
        for (name, commit) in tags {
            app.append_row(params![repo_id, name, commit])?;
        }
        app.flush()?;
        drop(app);
        self.commit()
    }

    /// Finds an analysed commit by tag name, full id or unique id prefix: its seq.
    pub fn find_commit(&self, repo_id: i64, rev: &str) -> Result<Option<(i64, String)>> {
        let by_tag: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT c.seq, c.commit_id FROM tags t JOIN commits c ON c.repo_id = t.repo_id AND c.commit_id = t.commit_id
                 WHERE t.repo_id = ? AND t.name = ?",
                params![repo_id, rev],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .ok();
        if by_tag.is_some() {
            return Ok(by_tag);
        }
        if rev.len() < 4 || !rev.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let mut stmt = self.conn.prepare(
            "SELECT seq, commit_id FROM commits WHERE repo_id = ? AND starts_with(commit_id, ?)",
        )?;
        let found: Vec<(i64, String)> = stmt
            .query_map(params![repo_id, rev.to_ascii_lowercase()], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<Result<_, _>>()?;
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.into_iter().next()),
            n => anyhow::bail!("revision `{rev}` is ambiguous: {n} analysed commits start with it"),
        }
    }

    /// The newest analysed commit of a repository: (seq, id).
    pub fn last_commit(&self, repo_id: i64) -> Result<Option<(i64, String)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT seq, commit_id FROM commits WHERE repo_id = ? ORDER BY seq DESC LIMIT 1",
                params![repo_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .ok())
    }

    /// Node-kind metrics, lines and files at commit `seq`, from the running sums of deltas.
    pub fn metrics_at(&self, repo_id: i64, seq: i64) -> Result<Vec<(String, i64)>> {
        let mut columns = vec!["d_files".to_string(), "d_loc".to_string()];
        columns.extend(METRIC_KINDS.iter().map(|k| format!("\"{k}\"")));
        let select: Vec<String> = columns
            .iter()
            .map(|c| format!("coalesce(sum({c}), 0)::BIGINT"))
            .collect();
        let sql = format!(
            "SELECT {} FROM commit_metric_deltas WHERE repo_id = ? AND seq <= ?",
            select.join(", ")
        );
        let values: Vec<i64> = self.conn.query_row(&sql, params![repo_id, seq], |r| {
            (0..columns.len())
                .map(|i| r.get::<_, i64>(i))
                .collect::<Result<Vec<_>, _>>()
        })?;
        let mut names = vec!["files".to_string(), "loc".to_string()];
        names.extend(METRIC_KINDS.iter().map(|k| k.to_string()));
        Ok(names.into_iter().zip(values).collect())
    }

    /// Pattern counts at commit `seq` from the running sums of deltas: pattern id (SHA-256) ->
    /// (occurrences, files).
    pub fn running_counts(
        &self,
        repo_id: i64,
        seq: i64,
        level: &str,
    ) -> Result<HashMap<String, (i64, i64)>> {
        let mut stmt = self.conn.prepare(
            "SELECT s.text, sum(d.d_occurrences)::BIGINT, sum(d.d_files)::BIGINT
             FROM commit_pattern_deltas d JOIN signatures s ON s.sig = d.sig
             WHERE d.repo_id = ? AND d.seq <= ? AND d.level = ? GROUP BY s.text
             HAVING sum(d.d_occurrences) <> 0 OR sum(d.d_files) <> 0",
        )?;
        let rows = stmt.query_map(params![repo_id, seq, level], |r| {
            let text: String = r.get(0)?;
            Ok((sha256_hex(text.as_bytes()), (r.get(1)?, r.get(2)?)))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// One set of files whose patterns can be counted and ranked: a scan, or a repository's tree at
/// an analysed commit. Its queries inline the (integer) ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Snapshot {
    Scan(i64),
    Commit { repo_id: i64, seq: i64 },
}

impl Snapshot {
    /// `path, blob_row` of the analysed files. At a commit, each path's newest change up to it
    /// names the blob it holds (`blob_row` NULL once deleted, filtered out).
    pub fn files_sql(self) -> String {
        match self {
            Snapshot::Scan(scan_id) => format!(
                "SELECT path, blob_row FROM scan_files WHERE scan_id = {scan_id} AND blob_row IS NOT NULL"
            ),
            Snapshot::Commit { repo_id, seq } => format!(
                "SELECT path, blob_row FROM (
                    SELECT path, new_blob AS blob_row FROM commit_changes WHERE repo_id = {repo_id} AND seq <= {seq}
                    QUALIFY row_number() OVER (PARTITION BY path ORDER BY seq DESC) = 1)
                 WHERE blob_row IS NOT NULL"
            ),
        }
    }

    /// Every pattern row of every file: `abstract_sig, semantic_sig, kind, path, occurrences,
    /// first_line`.
    pub fn occurrences_sql(self) -> String {
        format!(
            "SELECT p.abstract_sig, p.semantic_sig, p.kind, f.path, p.occurrences, p.first_line
             FROM ({}) f JOIN blob_patterns p ON p.blob_row = f.blob_row",
            self.files_sql()
        )
    }

    /// `sig, occurrences, files` of every pattern present at `level` (`abstract` or `semantic`),
    /// from the counts stored when the snapshot was made: a scan's `scan_counts`, or the running
    /// sums of a history's deltas.
    pub fn counts_sql(self, level: &str) -> String {
        match self {
            Snapshot::Scan(scan_id) => format!(
                "SELECT sig, sum(occurrences)::BIGINT AS occurrences, sum(files)::BIGINT AS files
                 FROM scan_counts WHERE scan_id = {scan_id} AND level = '{level}' GROUP BY sig"
            ),
            Snapshot::Commit { repo_id, seq } => format!(
                "SELECT sig, sum(d_occurrences)::BIGINT AS occurrences, sum(d_files)::BIGINT AS files
                 FROM commit_pattern_deltas WHERE repo_id = {repo_id} AND seq <= {seq} AND level = '{level}'
                 GROUP BY sig HAVING sum(d_files) > 0"
            ),
        }
    }
}

/// One analysed commit, for reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CommitMeta {
    pub seq: i64,
    pub id: String,
    pub time: i64,
    pub subject: String,
}

/// One file of a snapshot as parsed: (path, dialect, blob status, grammar, error nodes).
pub type FileQuality = (String, String, String, String, i64);

/// Reads for reports.
impl Store {
    pub fn commits(&self, repo_id: i64) -> Result<Vec<CommitMeta>> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, commit_id, committer_time, subject FROM commits WHERE repo_id = ? ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![repo_id], |r| {
            Ok(CommitMeta {
                seq: r.get(0)?,
                id: r.get(1)?,
                time: r.get(2)?,
                subject: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Tags on analysed commits: (name, seq), oldest commit first.
    pub fn tags(&self, repo_id: i64) -> Result<Vec<(String, i64)>> {
        let mut stmt = self.conn.prepare(
            "SELECT t.name, c.seq FROM tags t JOIN commits c ON c.repo_id = t.repo_id AND c.commit_id = t.commit_id
             WHERE t.repo_id = ? ORDER BY c.seq, t.name",
        )?;
        let rows = stmt.query_map(params![repo_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Running sums of files, lines and node-kind metrics at every analysed commit, in the
    /// order `files, loc, METRIC_KINDS…`.
    pub fn metric_series(&self, repo_id: i64) -> Result<Vec<(i64, Vec<i64>)>> {
        let mut columns = vec!["d_files".to_string(), "d_loc".to_string()];
        columns.extend(METRIC_KINDS.iter().map(|k| format!("\"{k}\"")));
        let select: Vec<String> = columns
            .iter()
            .map(|c| format!("(sum(coalesce(sum(d.{c}), 0)) OVER (ORDER BY c.seq))::BIGINT"))
            .collect();
        let sql = format!(
            "SELECT c.seq, {} FROM commits c LEFT JOIN commit_metric_deltas d ON d.repo_id = c.repo_id AND d.seq = c.seq
             WHERE c.repo_id = ? GROUP BY c.seq ORDER BY c.seq",
            select.join(", ")
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params![repo_id], |r| {
            let values = (1..=columns.len())
                .map(|i| r.get::<_, i64>(i))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((r.get::<_, i64>(0)?, values))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Distinct patterns and total occurrences (abstract level) at every analysed commit.
    pub fn pattern_totals(&self, repo_id: i64) -> Result<Vec<(i64, i64, i64)>> {
        let mut stmt = self.conn.prepare(
            "WITH d AS (
                SELECT seq, sig, d_occurrences,
                       sum(d_occurrences) OVER (PARTITION BY sig ORDER BY seq) AS cum
                FROM commit_pattern_deltas WHERE repo_id = $1 AND level = 'abstract'),
             t AS (
                SELECT seq, d_occurrences,
                       (CASE WHEN cum > 0 THEN 1 ELSE 0 END)
                     - (CASE WHEN coalesce(lag(cum) OVER (PARTITION BY sig ORDER BY seq), 0) > 0 THEN 1 ELSE 0 END) AS present
                FROM d),
             per_commit AS (SELECT seq, sum(present) AS dp, sum(d_occurrences) AS docc FROM t GROUP BY seq)
             SELECT c.seq,
                    (sum(coalesce(p.dp, 0)) OVER (ORDER BY c.seq))::BIGINT,
                    (sum(coalesce(p.docc, 0)) OVER (ORDER BY c.seq))::BIGINT
             FROM commits c LEFT JOIN per_commit p ON p.seq = c.seq
             WHERE c.repo_id = $1 ORDER BY c.seq",
        )?;
        let rows = stmt.query_map(params![repo_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Running occurrences of some patterns, by signature text: text -> [(seq, occurrences)] at
    /// the commits where they changed.
    pub fn pattern_series(
        &self,
        repo_id: i64,
        level: &str,
        texts: &[&str],
    ) -> Result<HashMap<String, Vec<(i64, i64)>>> {
        let mut out: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
        if texts.is_empty() {
            return Ok(out);
        }
        // SQL string literals: a quote is doubled, nothing else is special.
        let list: Vec<String> = texts
            .iter()
            .map(|t| format!("'{}'", t.replace('\'', "''")))
            .collect();
        let sql = format!(
            "SELECT s.text, d.seq, (sum(d.d_occurrences) OVER (PARTITION BY d.sig ORDER BY d.seq))::BIGINT
             FROM commit_pattern_deltas d JOIN signatures s ON s.sig = d.sig
             WHERE d.repo_id = ? AND d.level = ? AND s.text IN ({})
             ORDER BY s.text, d.seq",
            list.join(", ")
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params![repo_id, level], |r| {
            Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?))
        })?;
        for row in rows {
            let (sig, seq, value) = row?;
            out.entry(sig).or_default().push((seq, value));
        }
        Ok(out)
    }

    /// (path, abstract signature) for every pattern of every file of a snapshot.
    pub fn file_patterns(&self, snapshot: Snapshot) -> Result<Vec<(String, String)>> {
        let sql = format!(
            "SELECT DISTINCT f.path, s.text FROM ({}) f JOIN blob_patterns p ON p.blob_row = f.blob_row
             JOIN signatures s ON s.sig = p.abstract_sig ORDER BY 1, 2",
            snapshot.files_sql()
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Per file of a snapshot: its path, dialect, blob status, grammar and error nodes.
    pub fn file_quality(&self, snapshot: Snapshot) -> Result<Vec<FileQuality>> {
        let sql = format!(
            "SELECT f.path, b.dialect, b.status, b.grammar, b.error_nodes::BIGINT
             FROM ({}) f JOIN blobs b ON b.blob_row = f.blob_row ORDER BY f.path",
            snapshot.files_sql()
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Skipped files of a scan by reason.
    pub fn scan_skips(&self, scan_id: i64) -> Result<Vec<(String, i64)>> {
        let mut stmt = self.conn.prepare(
            "SELECT reason, count(*) FROM scan_files WHERE scan_id = ? AND status = 'skipped' GROUP BY reason ORDER BY reason",
        )?;
        let rows = stmt.query_map(params![scan_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One scan: (scan_id, root, config).
    /// One finished scan: (scan_id, root, config). An interrupted scan has no counts.
    pub fn scan(&self, scan_id: i64) -> Result<Option<(i64, String, String)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT scan_id, root, config FROM scans WHERE scan_id = ? AND finished_at IS NOT NULL",
                params![scan_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .ok())
    }

    /// The newest finished scan: (scan_id, root, config).
    pub fn last_scan(&self) -> Result<Option<(i64, String, String)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT scan_id, root, config FROM scans WHERE finished_at IS NOT NULL
                 ORDER BY scan_id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .ok())
    }

    /// The analysed commit at or before a Unix time: (seq, id).
    pub fn commit_at_time(&self, repo_id: i64, time: i64) -> Result<Option<(i64, String)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT seq, commit_id FROM commits WHERE repo_id = ? AND committer_time <= ? ORDER BY seq DESC LIMIT 1",
                params![repo_id, time],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .ok())
    }
}

/// Snapshot counts, for comparisons.
impl Store {
    /// Walks the running sums of one level's deltas and calls `at(seq, counts)` at each commit
    /// of `seqs`, oldest first, with the (sig, occurrences) of the patterns present there,
    /// sorted by sig. One pass over the deltas serves any number of commits.
    pub fn walk_snapshots(
        &self,
        repo_id: i64,
        seqs: &[i64],
        level: &str,
        mut at: impl FnMut(i64, &[(i32, i64)]),
    ) -> Result<()> {
        let mut wanted: Vec<i64> = seqs.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let Some(&last) = wanted.last() else {
            return Ok(());
        };
        let mut stmt = self.conn.prepare(
            "SELECT seq, sig, d_occurrences FROM commit_pattern_deltas
             WHERE repo_id = ? AND level = ? AND seq <= ? ORDER BY seq",
        )?;
        let deltas = stmt.query_map(params![repo_id, level, last], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i32>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let mut running: HashMap<i32, i64> = HashMap::new();
        let mut take = |seq: i64, running: &HashMap<i32, i64>| {
            let mut counts: Vec<(i32, i64)> = running
                .iter()
                .filter(|(_, occurrences)| **occurrences != 0)
                .map(|(sig, occurrences)| (*sig, *occurrences))
                .collect();
            counts.sort_unstable();
            at(seq, &counts);
        };
        let mut next = wanted.iter().peekable();
        for delta in deltas {
            let (seq, sig, d_occurrences) = delta?;
            while let Some(&&w) = next.peek()
                && w < seq
            {
                take(w, &running);
                next.next();
            }
            *running.entry(sig).or_default() += d_occurrences;
        }
        for &w in next {
            take(w, &running);
        }
        Ok(())
    }

    /// Every signature of a configuration: sig -> (text, categories).
    pub fn signature_names(&self, config: &str) -> Result<HashMap<i32, (String, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT sig, text, categories FROM signatures WHERE config = ?")?;
        let names = stmt.query_map(params![config], |r| {
            Ok((
                r.get::<_, i32>(0)?,
                (r.get::<_, String>(1)?, r.get::<_, String>(2)?),
            ))
        })?;
        Ok(names.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn optimizer_on(store: &Store) -> bool {
        store
            .conn
            .query_row("SELECT current_setting('enable_optimizer')", [], |r| {
                r.get(0)
            })
            .expect("setting")
    }

    #[test]
    fn plain_planning_lasts_until_query_threads() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("t.duckdb")).expect("store");
        assert!(optimizer_on(&store), "on when opened");
        store.plain_planning().expect("plain");
        assert!(!optimizer_on(&store));
        store.query_threads().expect("queries");
        assert!(optimizer_on(&store), "back on for the queries");
    }
}
