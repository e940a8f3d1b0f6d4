//! The whole DuckDB schema, with a comment per table saying what a row is, and its creation.

use anyhow::{Context, Result};
use duckdb::{OptionalExt, params};

use super::{Store, StoreError};
use crate::analyze::METRIC_KINDS;

/// Schema version: bump on any change below that a database of the previous version cannot take
/// by creating what it lacks (a new table can be created in an old database; a new column cannot).
pub const SCHEMA_VERSION: i64 = 5;

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
-- uncompressed: hex digests barely shrink under DuckDB's string compression, which would cost
-- every checkpoint time for little space.
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

-- One row: a tree tracker's count in one blob (docs/trackers.md). `tracker` is the tracker's
-- key, a hash of its definition and the grammar versions, not its name: renaming a tracker keeps
-- its counts, changing it evaluates it afresh. A row per evaluated blob, zeros included, so a
-- missing row means "not evaluated yet". Only parsed blobs have rows.
CREATE TABLE IF NOT EXISTS blob_trackers (
    blob_row BIGINT NOT NULL,
    tracker VARCHAR NOT NULL,
    occurrences INTEGER NOT NULL
);

-- One row: a name a tree tracker's key was used under, with its definition (JSON), for SQL
-- users to find a tracker's rows in `blob_trackers` by name.
CREATE TABLE IF NOT EXISTS tracker_names (
    tracker VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    definition VARCHAR NOT NULL
);

-- One row: a signature text (either level) under one configuration, with its categories. sig
-- is the number the count tables use (unique in the database). The pattern id users see is the
-- SHA-256 of the text (`sha256(text)` in SQL): derived, so not stored, where it would be a third
-- of the strings a scan writes. Texts (and `scan_files.path`) are compressed with ZSTD rather
-- than DuckDB's default dictionary and FSST: these strings are all distinct, so a dictionary
-- only costs checkpoint time (measured in docs/performance.md).
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
-- from the scan's files and their blobs' stored patterns, so they are summed when read rather
-- than written at the end of every scan. Per blob first, then weighted by the paths holding that
-- blob: a file holds a pattern once however many variants (semantic signatures under one
-- abstract one, kinds) it has of it. A filter on `scan_id` reaches `scan_files` before the join.
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

-- One row: a commit off a repository's analysed first-parent chain, analysed from its tree
-- when a revision named it (`patmine at`, `compare`): the tree's files are those of the finished
-- scan `scan_id`. Keyed like the history: the repository row fixes configuration and filters.
CREATE TABLE IF NOT EXISTS revision_trees (
    repo_id BIGINT NOT NULL,
    commit_id VARCHAR NOT NULL,
    scan_id BIGINT NOT NULL,
    committer_time BIGINT NOT NULL
);

-- One row: a tag of an analysed repository, on its analysed chain or off it.
CREATE TABLE IF NOT EXISTS tags (
    repo_id BIGINT NOT NULL,
    name VARCHAR NOT NULL,
    commit_id VARCHAR NOT NULL
);
"#
    )
}

impl Store {
    /// Creates the schema where it is missing and checks its version, in one transaction: a new
    /// file gets the whole schema or none of it, and a database of another version is left as
    /// it was.
    pub(super) fn init(&self) -> Result<Result<(), StoreError>> {
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

    /// The stored schema version, if the database has one.
    fn stored_version(&self) -> Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .context("reading the schema version")
    }

    fn version_error(&self, found: Option<&str>) -> StoreError {
        StoreError::Schema {
            path: self.path.clone(),
            found: found.and_then(|v| v.parse().ok()).unwrap_or(-1),
            expected: SCHEMA_VERSION,
        }
    }

    /// Checks a database's schema version without creating anything (a read-only open).
    pub(super) fn check_version(&self) -> Result<Result<(), StoreError>> {
        Ok(match self.stored_version()? {
            Some(v) if v == SCHEMA_VERSION.to_string() => Ok(()),
            found => Err(self.version_error(found.as_deref())),
        })
    }

    fn create_schema(&self) -> Result<Result<(), StoreError>> {
        // The version first: a database of another version gets nothing of this one's schema.
        self.conn
            .execute_batch(META_TABLE)
            .context("creating the schema")?;
        match self.stored_version()? {
            None => {
                self.conn.execute(
                    "INSERT INTO meta VALUES ('schema_version', ?)",
                    params![SCHEMA_VERSION.to_string()],
                )?;
            }
            Some(v) if v == SCHEMA_VERSION.to_string() => {}
            Some(v) => return Ok(Err(self.version_error(Some(&v)))),
        }
        self.conn
            .execute_batch(&schema_sql())
            .context("creating the schema")?;
        Ok(Ok(()))
    }
}
