//! Reads for reports, the phrasebook and SQL users: snapshots (a scan, or a commit of a
//! history), their ranked patterns and files, series over commits, tags.

use std::collections::HashMap;

use anyhow::{Context, Result};
use duckdb::{OptionalExt, params};
use serde::Serialize;

use super::Store;
use super::cache::BlobStatus;
use crate::analyze::{METRIC_KINDS, sha256_hex};
use crate::dialect::Dialect;
use crate::level::Level;

/// One set of files whose patterns can be counted and ranked: a scan, or a repository's tree at
/// an analysed commit. Its queries inline the (integer) ids, which are never user text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Snapshot {
    Scan(i64),
    Commit { repo_id: i64, seq: i64 },
}

impl Snapshot {
    /// `path, blob_row` of the analysed files. At a commit, each path's newest change up to it
    /// names the blob it holds (`blob_row` NULL once deleted, filtered out).
    pub(super) fn files_sql(self) -> String {
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
    fn occurrences_sql(self) -> String {
        format!(
            "SELECT p.abstract_sig, p.semantic_sig, p.kind, f.path, p.occurrences, p.first_line
             FROM ({}) f JOIN blob_patterns p ON p.blob_row = f.blob_row",
            self.files_sql()
        )
    }

    /// `sig, occurrences, files` of every pattern present at `level`, from the counts stored when
    /// the snapshot was made: a scan's `scan_counts`, or the running sums of a history's deltas.
    /// The level is written into the text (an enum's name, never user text) rather than bound:
    /// a constant lets DuckDB drop the other level's branch of the `scan_counts` view.
    fn counts_sql(self, level: Level) -> String {
        let level = level.name();
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
    /// Committer time, Unix seconds.
    pub time: i64,
    pub subject: String,
    pub author: String,
}

/// One analysed commit, as a revision resolves to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitRef {
    /// Its position in the first-parent walk (oldest = 0).
    pub seq: i64,
    pub id: String,
}

/// A tag on an analysed commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRow {
    pub name: String,
    pub seq: i64,
}

/// One file of a snapshot as it was analysed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileQuality {
    pub path: String,
    pub dialect: Dialect,
    pub status: BlobStatus,
    /// The grammar that parsed it, after any fallback (empty unless parsed).
    pub grammar: String,
    pub error_nodes: i64,
}

/// Distinct patterns and their total occurrences at one commit (abstract level).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatternTotals {
    pub seq: i64,
    pub distinct: i64,
    pub occurrences: i64,
}

/// One ranked pattern of a snapshot.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PatternRow {
    pub rank: usize,
    /// SHA-256 of the signature it is grouped by.
    pub id: String,
    #[serde(rename = "abstract")]
    pub abstract_text: String,
    #[serde(rename = "semantic")]
    pub semantic_text: String,
    pub category: String,
    pub kind: String,
    pub occurrences: i64,
    pub files: i64,
    /// `path:line` of one occurrence.
    pub example: String,
}

fn commit_ref(r: &duckdb::Row<'_>) -> duckdb::Result<CommitRef> {
    Ok(CommitRef {
        seq: r.get(0)?,
        id: r.get(1)?,
    })
}

/// Reads for reports and queries.
impl Store {
    /// Finds an analysed commit by tag name, full id or unique id prefix.
    pub fn find_commit(&self, repo_id: i64, rev: &str) -> Result<Option<CommitRef>> {
        let by_tag = self
            .conn
            .query_row(
                "SELECT c.seq, c.commit_id FROM tags t JOIN commits c ON c.repo_id = t.repo_id AND c.commit_id = t.commit_id
                 WHERE t.repo_id = ? AND t.name = ?",
                params![repo_id, rev],
                commit_ref,
            )
            .optional()?;
        if by_tag.is_some() {
            return Ok(by_tag);
        }
        if rev.len() < 4 || !rev.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let mut stmt = self.conn.prepare(
            "SELECT seq, commit_id FROM commits WHERE repo_id = ? AND starts_with(commit_id, ?)",
        )?;
        let found: Vec<CommitRef> = stmt
            .query_map(params![repo_id, rev.to_ascii_lowercase()], commit_ref)?
            .collect::<Result<_, _>>()?;
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.into_iter().next()),
            n => anyhow::bail!("revision `{rev}` is ambiguous: {n} analysed commits start with it"),
        }
    }

    /// The newest analysed commit of a repository.
    pub fn last_commit(&self, repo_id: i64) -> Result<Option<CommitRef>> {
        Ok(self
            .conn
            .query_row(
                "SELECT seq, commit_id FROM commits WHERE repo_id = ? ORDER BY seq DESC LIMIT 1",
                params![repo_id],
                commit_ref,
            )
            .optional()?)
    }

    /// Node-kind metrics, lines and files at commit `seq`, from the running sums of deltas.
    pub fn metrics_at(&self, repo_id: i64, seq: i64) -> Result<Vec<(String, i64)>> {
        self.summed_metrics(
            ["d_files", "d_loc"],
            "",
            "commit_metric_deltas WHERE repo_id = ? AND seq <= ?",
            params![repo_id, seq],
        )
    }

    /// Files, lines and node-kind metrics of a snapshot, named as `metrics_at` names them: at a
    /// commit of the chain from the running sums, in a scan (a revision's tree) from its files'
    /// blobs, counted as the deltas count them (files only when parsed).
    pub fn snapshot_metrics(&self, snapshot: Snapshot) -> Result<Vec<(String, i64)>> {
        if let Snapshot::Commit { repo_id, seq } = snapshot {
            return self.metrics_at(repo_id, seq);
        }
        let from = format!(
            "({}) f JOIN blobs b ON b.blob_row = f.blob_row",
            snapshot.files_sql()
        );
        self.summed_metrics(["(b.status = 'parsed')::INTEGER", "b.loc"], "b.", &from, [])
    }

    /// The sums of a files column, a lines column and the node-kind columns (named with
    /// `prefix`) over the rows of `from` (a table or join and its condition): `files`, `loc`
    /// and each node kind, in `METRIC_KINDS` order.
    fn summed_metrics(
        &self,
        [files, loc]: [&str; 2],
        prefix: &str,
        from: &str,
        params: impl duckdb::Params,
    ) -> Result<Vec<(String, i64)>> {
        let mut columns = vec![files.to_string(), loc.to_string()];
        columns.extend(METRIC_KINDS.iter().map(|k| format!("{prefix}\"{k}\"")));
        let select: Vec<String> = columns
            .iter()
            .map(|c| format!("coalesce(sum({c}), 0)::BIGINT"))
            .collect();
        let sql = format!("SELECT {} FROM {from}", select.join(", "));
        let values: Vec<i64> = self.conn.query_row(&sql, params, |r| {
            (0..columns.len())
                .map(|i| r.get::<_, i64>(i))
                .collect::<Result<Vec<_>, _>>()
        })?;
        let mut names = vec!["files".to_string(), "loc".to_string()];
        names.extend(METRIC_KINDS.iter().map(|k| k.to_string()));
        Ok(names.into_iter().zip(values).collect())
    }

    /// `(sig, occurrences)` of every pattern present in a snapshot at `level`, sorted by sig
    /// (for one snapshot; `walk_snapshots` serves many commits of a chain in one pass).
    pub fn snapshot_counts(&self, snapshot: Snapshot, level: Level) -> Result<Vec<(i32, i64)>> {
        let sql = format!(
            "SELECT sig, occurrences FROM ({}) WHERE occurrences <> 0 ORDER BY sig",
            snapshot.counts_sql(level)
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i32>(0)?, r.get::<_, i64>(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Pattern counts at commit `seq` from the running sums of deltas: pattern id (SHA-256) ->
    /// (occurrences, files).
    pub fn running_counts(
        &self,
        repo_id: i64,
        seq: i64,
        level: Level,
    ) -> Result<HashMap<String, (i64, i64)>> {
        let mut stmt = self.conn.prepare(
            "SELECT s.text, sum(d.d_occurrences)::BIGINT, sum(d.d_files)::BIGINT
             FROM commit_pattern_deltas d JOIN signatures s ON s.sig = d.sig
             WHERE d.repo_id = ? AND d.seq <= ? AND d.level = ? GROUP BY s.text
             HAVING sum(d.d_occurrences) <> 0 OR sum(d.d_files) <> 0",
        )?;
        let rows = stmt.query_map(params![repo_id, seq, level.name()], |r| {
            let text: String = r.get(0)?;
            Ok((sha256_hex(text.as_bytes()), (r.get(1)?, r.get(2)?)))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every analysed commit of a repository, oldest first.
    pub fn commits(&self, repo_id: i64) -> Result<Vec<CommitMeta>> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, commit_id, committer_time, subject, author FROM commits WHERE repo_id = ? ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![repo_id], |r| {
            Ok(CommitMeta {
                seq: r.get(0)?,
                id: r.get(1)?,
                time: r.get(2)?,
                subject: r.get(3)?,
                author: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every tag of a repository, on its analysed chain or off it: `(name, commit id)` by name.
    pub fn all_tags(&self, repo_id: i64) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, commit_id FROM tags WHERE repo_id = ? ORDER BY name")?;
        let rows = stmt.query_map(params![repo_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Tags on analysed commits, oldest commit first.
    pub fn tags(&self, repo_id: i64) -> Result<Vec<TagRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT t.name, c.seq FROM tags t JOIN commits c ON c.repo_id = t.repo_id AND c.commit_id = t.commit_id
             WHERE t.repo_id = ? ORDER BY c.seq, t.name",
        )?;
        let rows = stmt.query_map(params![repo_id], |r| {
            Ok(TagRow {
                name: r.get(0)?,
                seq: r.get(1)?,
            })
        })?;
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
    pub fn pattern_totals(&self, repo_id: i64) -> Result<Vec<PatternTotals>> {
        let mut stmt = self.conn.prepare(
            "WITH d AS (
                SELECT seq, sig, d_occurrences,
                       sum(d_occurrences) OVER (PARTITION BY sig ORDER BY seq) AS cum
                FROM commit_pattern_deltas WHERE repo_id = $1 AND level = $2),
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
        let rows = stmt.query_map(params![repo_id, Level::Abstract.name()], |r| {
            Ok(PatternTotals {
                seq: r.get(0)?,
                distinct: r.get(1)?,
                occurrences: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Running occurrences of some patterns, by signature text: text -> [(seq, occurrences)] at
    /// the commits where they changed.
    /// Runs `sql`, whose rows are (text, walk position, value), and groups them by text in
    /// their order.
    fn rows_by_text(
        &self,
        sql: &str,
        params: impl duckdb::Params,
    ) -> Result<HashMap<String, Vec<(i64, i64)>>> {
        let mut out: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map(params, |r| {
            Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?))
        })?;
        for row in rows {
            let (text, seq, value) = row?;
            out.entry(text).or_default().push((seq, value));
        }
        Ok(out)
    }

    /// The patterns of a history that fell the most from their peak to its newest commit:
    /// `(text, peak, walk position of the first peak, now)`, largest fall first, at most
    /// `limit`.
    pub fn falls_from_peak(
        &self,
        repo_id: i64,
        level: Level,
        limit: usize,
    ) -> Result<Vec<(String, i64, i64, i64)>> {
        let mut stmt = self.conn.prepare(
            "WITH running AS (
                SELECT sig, seq,
                       sum(d_occurrences) OVER (PARTITION BY sig ORDER BY seq) AS value
                FROM commit_pattern_deltas WHERE repo_id = ? AND level = ?),
             peaks AS (
                SELECT sig, max(value) AS peak, arg_max(value, seq) AS now,
                       min(seq) FILTER (WHERE value = peak_value) AS peak_seq
                FROM (SELECT *, max(value) OVER (PARTITION BY sig) AS peak_value FROM running)
                GROUP BY sig)
             SELECT s.text, p.peak, p.peak_seq, p.now
             FROM peaks p JOIN signatures s ON s.sig = p.sig
             WHERE p.now < p.peak
             ORDER BY p.peak - p.now DESC, s.text
             LIMIT ?",
        )?;
        let rows = stmt.query_map(params![repo_id, level.name(), limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// For each signature text, the commits of a history that moved its occurrences the most:
    /// the `per_text` largest changes either way, and the largest rise and the largest fall
    /// when those are not among them. `text -> [(walk position, change)]`, largest first.
    pub fn commits_moving(
        &self,
        repo_id: i64,
        level: Level,
        texts: &[&str],
        per_text: usize,
    ) -> Result<HashMap<String, Vec<(i64, i64)>>> {
        self.commits_moving_within(repo_id, level, texts, per_text, (i64::MIN, i64::MAX))
    }

    /// `commits_moving` over the commits whose walk positions are in `after < seq <= upto`
    /// (`within`: `(after, upto)`), as between two revisions.
    pub fn commits_moving_within(
        &self,
        repo_id: i64,
        level: Level,
        texts: &[&str],
        per_text: usize,
        (after, upto): (i64, i64),
    ) -> Result<HashMap<String, Vec<(i64, i64)>>> {
        if texts.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT s.text, d.seq, d.d_occurrences
             FROM commit_pattern_deltas d JOIN signatures s ON s.sig = d.sig
             WHERE d.repo_id = ? AND d.level = ? AND d.d_occurrences <> 0 AND s.text IN ({})
               AND d.seq > ? AND d.seq <= ?
             QUALIFY row_number() OVER (PARTITION BY s.text ORDER BY abs(d.d_occurrences) DESC, d.seq) <= ?
                OR row_number() OVER (PARTITION BY s.text, d.d_occurrences > 0
                                      ORDER BY abs(d.d_occurrences) DESC, d.seq) = 1
             ORDER BY s.text, abs(d.d_occurrences) DESC, d.seq",
            sql_texts(texts)
        );
        self.rows_by_text(
            &sql,
            params![repo_id, level.name(), after, upto, per_text as i64],
        )
    }

    pub fn pattern_series(
        &self,
        repo_id: i64,
        level: Level,
        texts: &[&str],
    ) -> Result<HashMap<String, Vec<(i64, i64)>>> {
        if texts.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT s.text, d.seq, (sum(d.d_occurrences) OVER (PARTITION BY d.sig ORDER BY d.seq))::BIGINT
             FROM commit_pattern_deltas d JOIN signatures s ON s.sig = d.sig
             WHERE d.repo_id = ? AND d.level = ? AND s.text IN ({})
             ORDER BY s.text, d.seq",
            sql_texts(texts)
        );
        self.rows_by_text(&sql, params![repo_id, level.name()])
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
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?;
        let mut files = Vec::new();
        for row in rows {
            let (path, dialect, status, grammar, error_nodes) = row?;
            files.push(FileQuality {
                dialect: Dialect::from_name(&dialect)
                    .with_context(|| format!("{path}: unknown dialect `{dialect}`"))?,
                status: BlobStatus::from_stored(&status).with_context(|| path.clone())?,
                path,
                grammar,
                error_nodes,
            });
        }
        Ok(files)
    }

    /// The newest analysed commit at or before a Unix time.
    pub fn commit_at_time(&self, repo_id: i64, time: i64) -> Result<Option<CommitRef>> {
        Ok(self
            .conn
            .query_row(
                "SELECT seq, commit_id FROM commits WHERE repo_id = ? AND committer_time <= ? ORDER BY seq DESC LIMIT 1",
                params![repo_id, time],
                commit_ref,
            )
            .optional()?)
    }

    /// Walks the running sums of one level's deltas and calls `at(seq, counts)` at each commit
    /// of `seqs`, oldest first, with the (sig, occurrences) of the patterns present there,
    /// sorted by sig. One pass over the deltas serves any number of commits.
    pub fn walk_snapshots(
        &self,
        repo_id: i64,
        seqs: &[i64],
        level: Level,
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
        let deltas = stmt.query_map(params![repo_id, level.name(), last], |r| {
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

    /// Ranks the patterns of a snapshot: by occurrences, then files, then signature text. Counts
    /// come from the snapshot's stored counts; only the leaders' rows are read again, for their
    /// most frequent variant (text, kind) and an example location.
    pub fn top_patterns(
        &self,
        snapshot: Snapshot,
        config: &str,
        level: Level,
        limit: usize,
    ) -> Result<Vec<PatternRow>> {
        let id = level.id_column();
        let counts_sql = snapshot.counts_sql(level);
        let occurrences_sql = snapshot.occurrences_sql();
        let sql = format!(
            "WITH counts AS ({counts_sql}),
             -- The leaders by count, ties at the cut included: texts break ties below.
             leaders AS (
                SELECT sig AS pid, occurrences AS occ, files FROM counts
                QUALIFY rank() OVER (ORDER BY occurrences DESC, files DESC) <= $limit),
             occ AS (
                SELECT * FROM ({occurrences_sql}) WHERE {id} IN (SELECT pid FROM leaders)),
             example AS (
                SELECT {id} AS pid, min({{'path': path, 'line': first_line}}) AS example
                FROM occ GROUP BY pid),
             variant AS (
                SELECT {id} AS pid, abstract_sig, semantic_sig, kind, sum(occurrences) AS occ
                FROM occ GROUP BY ALL),
             -- Ties between variants go by the ids (SHA-256) of their texts, then by kind: the
             -- ids are computed here, for the leaders' variants only.
             named AS (
                SELECT v.pid, v.occ, v.kind, a.text AS abstract_text, s.text AS semantic_text,
                       s.categories, sha256(a.text) AS abstract_id, sha256(s.text) AS semantic_id
                FROM variant v
                JOIN signatures a ON a.sig = v.abstract_sig
                JOIN signatures s ON s.sig = v.semantic_sig),
             top_variant AS (
                SELECT pid,
                       first(abstract_text ORDER BY occ DESC, abstract_id, semantic_id, kind) AS abstract_text,
                       first(semantic_text ORDER BY occ DESC, abstract_id, semantic_id, kind) AS semantic_text,
                       first(categories ORDER BY occ DESC, abstract_id, semantic_id, kind) AS categories,
                       first(kind ORDER BY occ DESC, abstract_id, semantic_id, kind) AS kind
                FROM named
                GROUP BY pid)
             SELECT sha256(p.text), tv.abstract_text, tv.semantic_text, tv.categories, tv.kind, l.occ,
                    l.files, e.example.path || ':' || e.example.line
             FROM leaders l JOIN top_variant tv USING (pid) JOIN example e USING (pid)
             JOIN signatures p ON p.sig = l.pid AND p.config = $config
             ORDER BY l.occ DESC, l.files DESC, tv.abstract_text, tv.semantic_text
             LIMIT $limit"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(
            duckdb::named_params! { "config": config, "limit": limit_param(limit) },
            |r| {
                Ok(PatternRow {
                    rank: 0,
                    id: r.get(0)?,
                    abstract_text: r.get(1)?,
                    semantic_text: r.get(2)?,
                    category: r.get(3)?,
                    kind: r.get(4)?,
                    occurrences: r.get(5)?,
                    files: r.get(6)?,
                    example: r.get(7)?,
                })
            },
        )?;
        let mut out: Vec<PatternRow> = rows.collect::<Result<_, _>>()?;
        for (i, row) in out.iter_mut().enumerate() {
            row.rank = i + 1;
        }
        Ok(out)
    }
}

/// A row limit as DuckDB takes it: a count past `i64::MAX` is no limit at all.
fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// `texts` as a SQL list of string literals: a quote is doubled, nothing else is special.
fn sql_texts(texts: &[&str]) -> String {
    let literals: Vec<String> = texts
        .iter()
        .map(|t| format!("'{}'", t.replace('\'', "''")))
        .collect();
    literals.join(", ")
}
