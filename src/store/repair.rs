//! Blobs that could not be analysed (missing from the object database, or failed): which they
//! are, which counts hold them, and forgetting those counts when a blob can be analysed at last.

use anyhow::{Context, Result};
use duckdb::params;

use super::{BlobStatus, Snapshot, Store};
use crate::dialect::Dialect;

/// A git blob stored as missing or failed.
#[derive(Debug, Clone)]
pub struct UnsettledBlob {
    pub blob_row: i64,
    /// The git blob id.
    pub id: String,
    pub dialect: Dialect,
    pub status: BlobStatus,
    /// Whether the repository asked about holds it in its history or a kept tree: only then is
    /// a blob still missing from it that repository's concern.
    pub held: bool,
}

/// A file of a snapshot whose blob could not be analysed: it counts as empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnanalysedFile {
    pub path: String,
    pub blob: String,
    pub status: BlobStatus,
}

/// The commits of a history whose trees hold a blob that could not be analysed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncompleteCommits {
    /// How many commits.
    pub commits: usize,
    /// The first of them (walk position).
    pub first_seq: Option<i64>,
    /// Distinct blobs involved.
    pub blobs: usize,
}

/// `blob_rows` as a SQL list (integers only, so nothing to escape).
fn sql_list(blob_rows: &[i64]) -> String {
    let items: Vec<String> = blob_rows.iter().map(i64::to_string).collect();
    items.join(", ")
}

impl Store {
    /// The git blobs of `config` stored as missing or failed, each with whether the history or
    /// kept trees of `repo_id` hold it.
    pub fn unsettled_blobs(&self, repo_id: i64, config: &str) -> Result<Vec<UnsettledBlob>> {
        let mut stmt = self.conn.prepare(
            // Every `history` run asks, and almost always finds none: the unsettled rows come
            // first, and only they are looked up in the repository's changes and trees.
            "WITH unsettled AS (
                SELECT blob_row, content_key, dialect, status FROM blobs
                WHERE config = ? AND starts_with(content_key, 'git:')
                  AND status IN ('missing', 'failed')),
             held AS (
                SELECT old_blob AS blob_row FROM commit_changes
                WHERE repo_id = ? AND old_blob IN (SELECT blob_row FROM unsettled)
                UNION SELECT new_blob FROM commit_changes
                WHERE repo_id = ? AND new_blob IN (SELECT blob_row FROM unsettled)
                UNION SELECT f.blob_row FROM revision_trees r JOIN scan_files f USING (scan_id)
                WHERE r.repo_id = ? AND f.blob_row IN (SELECT blob_row FROM unsettled))
             SELECT u.blob_row, substr(u.content_key, 5), u.dialect, u.status,
                    u.blob_row IN (SELECT blob_row FROM held)
             FROM unsettled u
             ORDER BY u.blob_row",
        )?;
        let rows = stmt.query_map(params![config, repo_id, repo_id, repo_id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, bool>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (blob_row, id, dialect, status, held) = row?;
            out.push(UnsettledBlob {
                blob_row,
                dialect: Dialect::from_name(&dialect)
                    .with_context(|| format!("blob row {blob_row}: unknown dialect `{dialect}`"))?,
                status: BlobStatus::from_stored(&status)?,
                id,
                held,
            });
        }
        Ok(out)
    }

    /// Inside the caller's transaction, forgets blob rows about to be written again, and every
    /// count made with them: each history from its first commit holding one, each kept tree
    /// holding one (analysed again when asked for). Returns `(repo_id, seq)` of each history cut.
    pub fn forget_blobs(&self, blob_rows: &[i64]) -> Result<Vec<(i64, i64)>> {
        if blob_rows.is_empty() {
            return Ok(Vec::new());
        }
        let list = sql_list(blob_rows);
        let mut stmt = self.conn.prepare(&format!(
            "SELECT repo_id, min(seq) FROM commit_changes
             WHERE old_blob IN ({list}) OR new_blob IN ({list})
             GROUP BY repo_id ORDER BY repo_id"
        ))?;
        let cuts: Vec<(i64, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for &(repo_id, seq) in &cuts {
            self.delete_history_from(repo_id, seq)?;
        }
        let trees = format!(
            "SELECT scan_id FROM revision_trees WHERE scan_id IN
                (SELECT scan_id FROM scan_files WHERE blob_row IN ({list}))"
        );
        self.conn.execute_batch(&format!(
            "CREATE OR REPLACE TEMP TABLE forgotten_trees AS {trees};
             DELETE FROM scan_files WHERE scan_id IN (SELECT scan_id FROM forgotten_trees);
             DELETE FROM scans WHERE scan_id IN (SELECT scan_id FROM forgotten_trees);
             DELETE FROM revision_trees WHERE scan_id IN (SELECT scan_id FROM forgotten_trees);
             DROP TABLE forgotten_trees;
             DELETE FROM blob_patterns WHERE blob_row IN ({list});
             DELETE FROM blob_trackers WHERE blob_row IN ({list});
             DELETE FROM blobs WHERE blob_row IN ({list});"
        ))?;
        Ok(cuts)
    }

    /// The files of `snapshot` whose blob could not be analysed, by path.
    pub fn unanalysed_files(&self, snapshot: Snapshot) -> Result<Vec<UnanalysedFile>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT f.path, substr(b.content_key, 5), b.status
             FROM ({}) f JOIN blobs b ON b.blob_row = f.blob_row
             WHERE b.status IN ('missing', 'failed')
             ORDER BY f.path",
            snapshot.files_sql()
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (path, blob, status) = row?;
            out.push(UnanalysedFile {
                path,
                blob,
                status: BlobStatus::from_stored(&status)?,
            });
        }
        Ok(out)
    }

    /// The commits of `repo_id`'s history whose trees hold a blob that could not be analysed:
    /// a blob is held from the commit that brings it to a path until the next change of that
    /// path.
    pub fn incomplete_commits(&self, repo_id: i64) -> Result<IncompleteCommits> {
        let mut stmt = self.conn.prepare(
            "WITH spans AS (
                SELECT seq, new_blob,
                       lead(seq) OVER (PARTITION BY path ORDER BY seq) AS until
                FROM commit_changes WHERE repo_id = ?)
             SELECT s.seq, coalesce(s.until, (SELECT max(seq) + 1 FROM commits WHERE repo_id = ?)),
                    s.new_blob
             FROM spans s JOIN blobs b ON b.blob_row = s.new_blob
             WHERE b.status IN ('missing', 'failed')
             ORDER BY s.seq",
        )?;
        let spans: Vec<(i64, i64, i64)> = stmt
            .query_map(params![repo_id, repo_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        let mut blobs: Vec<i64> = spans.iter().map(|s| s.2).collect();
        blobs.sort_unstable();
        blobs.dedup();
        // The union of the spans, sorted by start.
        let mut commits = 0;
        let mut covered_to = i64::MIN;
        for &(start, end, _) in &spans {
            let start = start.max(covered_to);
            if end > start {
                commits += (end - start) as usize;
                covered_to = end;
            }
        }
        Ok(IncompleteCommits {
            commits,
            first_seq: spans.first().map(|s| s.0),
            blobs: blobs.len(),
        })
    }
}
