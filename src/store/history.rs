//! What `patmine history` writes: repositories, commits, their changed paths, the per-commit
//! deltas of pattern and metric counts, and tags.

use anyhow::Result;
use duckdb::{OptionalExt, params};

use super::Store;
use crate::analyze::METRIC_KINDS;
use crate::columns::{ColumnType, Columns};
use crate::deltas::CommitDeltas;

/// One analysed repository (under one configuration and filter set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRow {
    pub repo_id: i64,
    /// What tells this repository from others (see `git::Repo::identity`).
    pub identity: String,
    /// The name reports show.
    pub name: String,
    /// The configuration fingerprint it was analysed under.
    pub config: String,
    /// The path and content filters' key (`Filter::key`) it was analysed under.
    pub filters: String,
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
            .optional()?;
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

    /// Repositories in the database, oldest row first.
    pub fn repos(&self) -> Result<Vec<RepoRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT repo_id, identity, name, config, filters FROM repos ORDER BY repo_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(RepoRow {
                repo_id: r.get(0)?,
                identity: r.get(1)?,
                name: r.get(2)?,
                config: r.get(3)?,
                filters: r.get(4)?,
            })
        })?;
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
        self.delete_history_from(repo_id, seq)?;
        self.commit()
    }

    /// `truncate_history` inside the caller's transaction.
    pub(super) fn delete_history_from(&self, repo_id: i64, seq: i64) -> Result<()> {
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
        Ok(())
    }

    /// Writes changed paths (inside the caller's transaction).
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

    /// Writes commit rows (inside the caller's transaction).
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
                    .text(Some(level.name()))?
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

    /// Replaces a repository's tags with `tags`: (name, commit id).
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
}
