//! The DuckDB store: the only module that touches the database connection.
//!
//! `schema` holds the whole schema; `cache` the analysed contents (blobs, their patterns and
//! signatures); `scan` and `history` what those commands write; `reads` what reports and queries
//! read. One writer at a time: every batch of work is written in one transaction, so a run that
//! dies leaves the database as it was after its last whole batch.

mod cache;
mod history;
mod reads;
mod repair;
mod scan;
mod schema;
mod trackers;

use std::path::{Path, PathBuf};

use anyhow::Result;
use duckdb::Connection;

pub use cache::{BlobRows, BlobStatus, NewBlob, PatternSigs, SignatureRows};
pub use history::{ChangeRow, CommitRow, RepoRow};
pub use reads::{CommitMeta, CommitRef, FileQuality, PatternRow, PatternTotals, Snapshot, TagRow};
pub use repair::{IncompleteCommits, UnanalysedFile, UnsettledBlob};
pub use scan::{FileRecord, KeptTree, ScanRow, ScanTotals};
pub use schema::SCHEMA_VERSION;
pub use trackers::{
    BlobLacking, Counted, PathChangeCount, PathCount, PatternFlow, SeriesPoint, TrackerSource,
};

/// Why a database could not be opened: callers tell a lock (another run is writing) from the rest.
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

/// An open patmine database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// Rows per row group in a database patmine creates (DuckDB's default is 122,880). A checkpoint
/// compresses one row group per task, so the last one of a run, which nothing else overlaps,
/// uses every core only when a table has several groups (measured in docs/performance.md).
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

/// Whether DuckDB refused a database because another process holds its lock. duckdb-rs keeps
/// only the message of a failed statement, not DuckDB's error type, so this reads the type and
/// the condition from the message's fixed start, as DuckDB's file system writes it.
fn is_lock_conflict(error: &duckdb::Error) -> bool {
    const LOCK_CONFLICT: &str = "IO Error: Could not set lock on file";
    matches!(error, duckdb::Error::DuckDBFailure(_, Some(message)) if message.starts_with(LOCK_CONFLICT))
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
            if is_lock_conflict(&e) {
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

    /// Opens an existing database that this process may not write (a read-only file or
    /// folder): every read works, a write fails naming the database. Nothing is created, so a
    /// database lacking a table this version adds must be opened writable once.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let open_error = |detail: String| StoreError::Open {
            path: path.to_path_buf(),
            detail,
        };
        let literal = path
            .to_str()
            .ok_or_else(|| open_error("the path is not UTF-8".into()))?
            .replace('\'', "''");
        let conn = Connection::open_in_memory().map_err(|e| open_error(e.to_string()))?;
        conn.execute_batch(&format!(
            "ATTACH '{literal}' AS patmine (READ_ONLY); USE patmine; SET threads = 1;"
        ))
        .map_err(|e| open_error(e.to_string().lines().next().unwrap_or_default().to_string()))?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store
            .check_version()
            .map_err(|e| open_error(format!("{e:#}")))??;
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

    /// One more than the largest `column` of `table` (1 in an empty table): the next number
    /// to hand out. Table and column are names from this module, never user input.
    fn next_number<T: duckdb::types::FromSql>(&self, table: &str, column: &str) -> Result<T> {
        Ok(self.conn.query_row(
            &format!("SELECT coalesce(max({column}), 0) + 1 FROM {table}"),
            [],
            |r| r.get(0),
        )?)
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
    /// that DuckDB plans and optimizes, and the optimizer has nothing to improve there. A query
    /// that joins or filters must not run in between: unoptimized, it scans everything.
    pub fn plain_planning(&self) -> Result<()> {
        self.conn.execute_batch("SET enable_optimizer = false")?;
        Ok(())
    }

    /// Starts the transaction a batch of work is written in.
    pub fn begin(&self) -> Result<()> {
        self.conn.execute_batch("BEGIN TRANSACTION")?;
        Ok(())
    }

    pub fn commit(&self) -> Result<()> {
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }

    /// Abandons the open transaction (after an error inside it).
    pub fn rollback(&self) -> Result<()> {
        self.conn.execute_batch("ROLLBACK")?;
        Ok(())
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
