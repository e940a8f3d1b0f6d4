//! What `patmine scan` writes and reads back: a row per scan and per file it looked at.

use anyhow::{Context, Result};
use duckdb::{OptionalExt, params};

use super::Store;
use crate::columns::{ColumnType, Columns};
use crate::dialect::Dialect;
use crate::filter::SkipReason;

/// A file's outcome in a scan, as stored.
pub enum FileRecord<'a> {
    /// Parsed in this run, or found in the cache.
    Analysed {
        blob_row: i64,
        cached: bool,
    },
    Skipped(SkipReason),
    /// Could not be read or analysed, with the reason.
    Failed(&'a str),
}

/// The kept tree of a revision off a history's chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeptTree {
    pub scan_id: i64,
    /// Unix seconds.
    pub committer_time: i64,
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

/// One finished scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRow {
    pub scan_id: i64,
    /// The scanned directory, as given.
    pub root: String,
    /// The configuration fingerprint the scan ran under.
    pub config: String,
}

/// Scans: their rows, their files and their closing.
impl Store {
    /// Records a scan that starts now: its number.
    pub fn start_scan(&self, root: &str, config: &str) -> Result<i64> {
        let id: i64 = self.next_number("scans", "scan_id")?;
        self.conn.execute(
            "INSERT INTO scans (scan_id, root, config, started_at) VALUES (?, ?, ?, now())",
            params![id, root, config],
        )?;
        Ok(id)
    }

    /// Records what the scan made of each file (inside the caller's transaction).
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
                FileRecord::Skipped(reason) => ("skipped", Some(reason.name()), None),
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
        self.close_scan(scan_id, totals)?;
        self.commit_with_checkpoint()
    }

    /// Records a scan's totals and end (inside the caller's transaction).
    pub fn close_scan(&self, scan_id: i64, totals: &ScanTotals) -> Result<()> {
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
        Ok(())
    }

    /// Gives the files of a revision's tree (written as analysed, each with its blob) the
    /// outcome of their blob, skipped or failed ones included, and returns the scan's totals
    /// (inside the caller's transaction). The blob row stays: such a file counts nothing.
    pub fn settle_tree_files(&self, scan_id: i64) -> Result<ScanTotals> {
        self.conn.execute(
            "UPDATE scan_files f SET
                status = CASE WHEN b.status LIKE 'skipped:%' THEN 'skipped' ELSE 'failed' END,
                reason = CASE WHEN b.status LIKE 'skipped:%' THEN substr(b.status, 9) ELSE b.status END
             FROM blobs b WHERE f.scan_id = ? AND b.blob_row = f.blob_row AND b.status <> 'parsed'",
            params![scan_id],
        )?;
        let mut stmt = self
            .conn
            .prepare("SELECT status, count(*) FROM scan_files WHERE scan_id = ? GROUP BY status")?;
        let rows = stmt.query_map(params![scan_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as usize))
        })?;
        let mut totals = ScanTotals::default();
        for row in rows {
            let (status, files) = row?;
            totals.files += files;
            match status.as_str() {
                "parsed" => totals.parsed += files,
                "cached" => totals.cached += files,
                "skipped" => totals.skipped += files,
                _ => totals.failed += files,
            }
        }
        Ok(totals)
    }

    /// Skipped files of a scan by reason.
    pub fn scan_skips(&self, scan_id: i64) -> Result<Vec<(SkipReason, i64)>> {
        let mut stmt = self.conn.prepare(
            "SELECT reason, count(*) FROM scan_files WHERE scan_id = ? AND status = 'skipped' GROUP BY reason ORDER BY reason",
        )?;
        let rows = stmt.query_map(params![scan_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        let mut skips = Vec::new();
        for row in rows {
            let (reason, files) = row?;
            let reason = SkipReason::from_name(&reason)
                .with_context(|| format!("scan {scan_id}: unknown skip reason `{reason}`"))?;
            skips.push((reason, files));
        }
        Ok(skips)
    }

    /// One finished scan (an interrupted scan has no counts).
    pub fn scan(&self, scan_id: i64) -> Result<Option<ScanRow>> {
        Ok(self
            .conn
            .query_row(
                "SELECT scan_id, root, config FROM scans WHERE scan_id = ? AND finished_at IS NOT NULL",
                params![scan_id],
                scan_row,
            )
            .optional()?)
    }

    /// The newest finished scan of a directory (not a revision's tree).
    pub fn last_scan(&self) -> Result<Option<ScanRow>> {
        Ok(self
            .conn
            .query_row(
                "SELECT scan_id, root, config FROM scans WHERE finished_at IS NOT NULL
                   AND scan_id NOT IN (SELECT scan_id FROM revision_trees)
                 ORDER BY scan_id DESC LIMIT 1",
                [],
                scan_row,
            )
            .optional()?)
    }

    /// The scan holding the tree of `commit`, analysed earlier as a revision off the chain.
    pub fn revision_tree(&self, repo_id: i64, commit: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT scan_id FROM revision_trees WHERE repo_id = ? AND commit_id = ?",
                params![repo_id, commit],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Names the scan holding the tree of `commit`, committed at `time` (Unix seconds), inside
    /// the caller's transaction.
    pub fn record_revision_tree(
        &self,
        repo_id: i64,
        commit: &str,
        scan_id: i64,
        time: i64,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO revision_trees VALUES (?, ?, ?, ?)",
            params![repo_id, commit, scan_id, time],
        )?;
        Ok(())
    }

    /// Tags off the analysed chain of a repository, by name, each with its kept tree
    /// `(scan_id, committer time)` when `at` or `compare` analysed it.
    pub fn off_chain_tags(&self, repo_id: i64) -> Result<Vec<(String, Option<KeptTree>)>> {
        let mut stmt = self.conn.prepare(
            "SELECT t.name, r.scan_id, r.committer_time FROM tags t
             LEFT JOIN revision_trees r ON r.repo_id = t.repo_id AND r.commit_id = t.commit_id
             WHERE t.repo_id = ? AND t.commit_id NOT IN (SELECT commit_id FROM commits WHERE repo_id = ?)
             ORDER BY t.name",
        )?;
        let rows = stmt.query_map(params![repo_id, repo_id], |r| {
            let scan: Option<i64> = r.get(1)?;
            let time: Option<i64> = r.get(2)?;
            let kept = scan.zip(time).map(|(scan_id, committer_time)| KeptTree {
                scan_id,
                committer_time,
            });
            Ok((r.get::<_, String>(0)?, kept))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn scan_row(r: &duckdb::Row<'_>) -> duckdb::Result<ScanRow> {
    Ok(ScanRow {
        scan_id: r.get(0)?,
        root: r.get(1)?,
        config: r.get(2)?,
    })
}
