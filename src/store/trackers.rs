//! Tracker counts: per blob for tree trackers (`blob_trackers`), and every read that turns
//! per-blob counts into a history's series, its per-file changes and a revision's files.
//!
//! Nothing per commit is stored for trackers: a tracker's value at a commit follows from the
//! commit's changed paths and their blobs' counts, so adding a tracker never rewrites history
//! rows, and a signature tracker needs no per-blob rows at all.

use anyhow::Result;
use duckdb::params;

use super::Store;
use crate::columns::{ColumnType, Columns};
use crate::level::Level;

/// Where one tracker's per-blob counts come from.
#[derive(Debug, Clone)]
pub enum TrackerSource {
    /// `blob_trackers` rows under this tracker key.
    Tree(String),
    /// The sum of these signatures' occurrences in `blob_patterns`, optionally of one root kind.
    Signatures {
        level: Level,
        sigs: Vec<i32>,
        kind: Option<String>,
    },
}

/// What is counted as one series: the per-blob sum of one or more trackers (a migration's side).
pub type Counted = Vec<TrackerSource>;

/// A blob whose stored analysis lacks some tree trackers' counts.
#[derive(Debug, Clone)]
pub struct BlobLacking {
    pub blob_row: i64,
    pub content_key: String,
    /// The grammar its stored analysis used (after fallback).
    pub grammar: String,
    /// Indexes into the keys asked about.
    pub missing: Vec<usize>,
}

/// One series point: the running totals after commit `seq` (only commits that changed them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesPoint {
    pub seq: i64,
    pub occurrences: i64,
    pub files: i64,
}

/// How a commit changed one path's count of one counted series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathChangeCount {
    pub counted: usize,
    pub seq: i64,
    pub path: String,
    pub before: i64,
    pub after: i64,
    /// The commit added (deleted) the path.
    pub added: bool,
    pub deleted: bool,
}

/// A path holding sites of a counted series at a revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathCount {
    pub counted: usize,
    pub path: String,
    pub occurrences: i64,
    /// The last commit at or before the revision that changed the path.
    pub last_seq: i64,
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `counted_blobs(t, blob_row, occurrences)`: per counted series `t`, each blob's sum of its
/// trackers' counts.
fn counted_blobs_cte(counted: &[Counted]) -> String {
    let mut parts = Vec::new();
    for (t, sources) in counted.iter().enumerate() {
        for source in sources {
            parts.push(match source {
                TrackerSource::Tree(key) => format!(
                    "SELECT {t} AS t, blob_row, occurrences FROM blob_trackers WHERE tracker = {}",
                    quote(key)
                ),
                TrackerSource::Signatures { sigs, .. } if sigs.is_empty() => {
                    format!("SELECT {t} AS t, NULL::BIGINT AS blob_row, 0 AS occurrences WHERE false")
                }
                TrackerSource::Signatures { level, sigs, kind } => {
                    let list = sigs
                        .iter()
                        .map(|s| s.to_string())
                        .collect::<Vec<_>>()
                        .join(", ");
                    let kind = kind
                        .as_deref()
                        .map(|k| format!(" AND kind = {}", quote(k)))
                        .unwrap_or_default();
                    format!(
                        "SELECT {t} AS t, blob_row, occurrences FROM blob_patterns WHERE {} IN ({list}){kind}",
                        level.id_column()
                    )
                }
            });
        }
    }
    if parts.is_empty() {
        parts.push("SELECT 0 AS t, NULL::BIGINT AS blob_row, 0 AS occurrences WHERE false".into());
    }
    format!(
        "counted_blobs AS (SELECT t, blob_row, sum(occurrences)::BIGINT AS occurrences FROM ({}) GROUP BY t, blob_row)",
        parts.join(" UNION ALL ")
    )
}

impl Store {
    /// Stores tree trackers' counts of blobs: `(blob_row, tracker key, occurrences)`, zeros
    /// included (a zero says the blob was evaluated). Inside the caller's transaction.
    pub fn write_tracker_counts(&self, rows: &[(i64, &str, u32)]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut columns = Columns::with_rows(
            "blob_trackers",
            &[ColumnType::Int64, ColumnType::Text, ColumnType::Int32],
            rows.len(),
        );
        for &(blob_row, key, occurrences) in rows {
            columns
                .int64(Some(blob_row))?
                .text(Some(key))?
                .int32(occurrences)?
                .end_row()?;
        }
        columns.write(&self.conn)
    }

    /// Records the names and definitions of tree trackers' keys (once per key and name), in
    /// its own transaction.
    pub fn record_tracker_names(&self, trackers: &[(&str, &str, &str)]) -> Result<()> {
        self.begin()?;
        for &(key, name, definition) in trackers {
            self.conn.execute(
                "INSERT INTO tracker_names SELECT ?, ?, ?
                 WHERE NOT EXISTS (SELECT 1 FROM tracker_names WHERE tracker = ? AND name = ?)",
                params![key, name, definition, key, name],
            )?;
        }
        self.commit()
    }

    /// The parsed blobs of a repository's analysed history that lack a count for some of
    /// `keys`, each with the positions in `keys` it lacks.
    pub fn blobs_lacking_trackers(
        &self,
        repo_id: i64,
        keys: &[String],
    ) -> Result<Vec<BlobLacking>> {
        self.blobs_lacking_trackers_in(repo_id, None, keys)
    }

    /// `blobs_lacking_trackers`, over the blobs of some revision trees' scans only when
    /// `scans` is given.
    pub fn blobs_lacking_trackers_in(
        &self,
        repo_id: i64,
        scans: Option<&[i64]>,
        keys: &[String],
    ) -> Result<Vec<BlobLacking>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let distinct: std::collections::BTreeSet<&String> = keys.iter().collect();
        let key_list = distinct
            .iter()
            .map(|k| quote(k))
            .collect::<Vec<_>>()
            .join(", ");
        let trees = match scans {
            Some(scans) => format!(
                "r.repo_id = $repo AND r.scan_id IN ({})",
                scans
                    .iter()
                    .map(|s| s.to_string())
                    .chain(["NULL".to_string()])
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => "r.repo_id = $repo".to_string(),
        };
        let chain = if scans.is_some() {
            ""
        } else {
            "SELECT new_blob AS blob_row FROM commit_changes WHERE repo_id = $repo UNION ALL"
        };
        let sql = format!(
            "WITH repo_blobs AS (
                SELECT DISTINCT b.blob_row, b.content_key, b.grammar
                FROM ({chain}
                      SELECT f.blob_row FROM revision_trees r JOIN scan_files f USING (scan_id)
                      WHERE {trees}) c
                JOIN blobs b ON b.blob_row = c.blob_row
                WHERE b.status = 'parsed'),
             wanted AS (SELECT unnest([{key_list}]) AS tracker),
             lacking AS (
                SELECT r.blob_row, r.content_key, r.grammar, w.tracker
                FROM repo_blobs r CROSS JOIN wanted w
                WHERE NOT EXISTS (SELECT 1 FROM blob_trackers t
                                  WHERE t.blob_row = r.blob_row AND t.tracker = w.tracker))
             SELECT blob_row, any_value(content_key), any_value(grammar), list(tracker ORDER BY tracker)
             FROM lacking GROUP BY blob_row ORDER BY blob_row"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(duckdb::named_params! { "repo": repo_id }, |r| {
            let trackers: Vec<String> = list_of_strings(r.get_ref(3)?);
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                trackers,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (blob_row, content_key, grammar, trackers) = row?;
            // Every position of a key: one given twice lacks the same blobs twice.
            let missing = keys
                .iter()
                .enumerate()
                .filter(|(_, k)| trackers.contains(k))
                .map(|(i, _)| i)
                .collect();
            out.push(BlobLacking {
                blob_row,
                content_key,
                grammar,
                missing,
            });
        }
        Ok(out)
    }

    /// How many of a repository's parsed blobs lack each key (0 for a key evaluated on all).
    pub fn tracker_gaps(&self, repo_id: i64, keys: &[String]) -> Result<Vec<usize>> {
        let lacking = self.blobs_lacking_trackers(repo_id, keys)?;
        let mut gaps = vec![0; keys.len()];
        for blob in lacking {
            for k in blob.missing {
                gaps[k] += 1;
            }
        }
        Ok(gaps)
    }

    /// Each counted series' running totals at every commit that changed them, oldest first.
    pub fn counted_series(
        &self,
        repo_id: i64,
        counted: &[Counted],
    ) -> Result<Vec<Vec<SeriesPoint>>> {
        let sql = format!(
            "WITH {},
             changes AS (SELECT seq, old_blob, new_blob FROM commit_changes WHERE repo_id = ?),
             per_series AS (
                SELECT t.t, c.seq,
                    sum(coalesce(n.occurrences, 0) - coalesce(o.occurrences, 0)) AS d_occurrences,
                    sum((coalesce(n.occurrences, 0) > 0)::INTEGER - (coalesce(o.occurrences, 0) > 0)::INTEGER) AS d_files
                FROM changes c
                CROSS JOIN (SELECT DISTINCT t FROM range({}) r(t)) t
                LEFT JOIN counted_blobs n ON n.t = t.t AND n.blob_row = c.new_blob
                LEFT JOIN counted_blobs o ON o.t = t.t AND o.blob_row = c.old_blob
                WHERE n.occurrences IS NOT NULL OR o.occurrences IS NOT NULL
                GROUP BY t.t, c.seq)
             SELECT t, seq,
                sum(d_occurrences) OVER (PARTITION BY t ORDER BY seq)::BIGINT,
                sum(d_files) OVER (PARTITION BY t ORDER BY seq)::BIGINT
             FROM per_series WHERE d_occurrences <> 0 OR d_files <> 0 ORDER BY t, seq",
            counted_blobs_cte(counted),
            counted.len()
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params![repo_id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                SeriesPoint {
                    seq: r.get(1)?,
                    occurrences: r.get(2)?,
                    files: r.get(3)?,
                },
            ))
        })?;
        let mut out = vec![Vec::new(); counted.len()];
        for row in rows {
            let (t, point) = row?;
            out[t as usize].push(point);
        }
        Ok(out)
    }

    /// Each counted series' occurrences and files (those with at least one) in a scan's files:
    /// the tree of a revision off the chain.
    pub fn counted_in_scan(&self, scan_id: i64, counted: &[Counted]) -> Result<Vec<(i64, i64)>> {
        let sql = format!(
            "WITH {}
             SELECT b.t, sum(b.occurrences)::BIGINT, count(*) FILTER (WHERE b.occurrences > 0)
             FROM scan_files f JOIN counted_blobs b ON b.blob_row = f.blob_row
             WHERE f.scan_id = ? GROUP BY b.t",
            counted_blobs_cte(counted)
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params![scan_id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let mut out = vec![(0, 0); counted.len()];
        for row in rows {
            let (t, occurrences, files) = row?;
            out[t as usize] = (occurrences, files);
        }
        Ok(out)
    }

    /// Every (commit, path) whose count of a counted series changed, with the count before and
    /// after, oldest commit first.
    pub fn counted_path_changes(
        &self,
        repo_id: i64,
        counted: &[Counted],
    ) -> Result<Vec<PathChangeCount>> {
        let sql = format!(
            "WITH {},
             changes AS (SELECT seq, path, old_blob, new_blob FROM commit_changes WHERE repo_id = ?)
             SELECT t.t, c.seq, c.path, coalesce(o.occurrences, 0), coalesce(n.occurrences, 0),
                c.old_blob IS NULL, c.new_blob IS NULL
             FROM changes c
             CROSS JOIN (SELECT DISTINCT t FROM range({}) r(t)) t
             LEFT JOIN counted_blobs n ON n.t = t.t AND n.blob_row = c.new_blob
             LEFT JOIN counted_blobs o ON o.t = t.t AND o.blob_row = c.old_blob
             WHERE coalesce(o.occurrences, 0) <> coalesce(n.occurrences, 0)
             ORDER BY c.seq, c.path, t.t",
            counted_blobs_cte(counted),
            counted.len()
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params![repo_id], |r| {
            Ok(PathChangeCount {
                counted: r.get::<_, i64>(0)? as usize,
                seq: r.get(1)?,
                path: r.get(2)?,
                before: r.get(3)?,
                after: r.get(4)?,
                added: r.get(5)?,
                deleted: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The paths holding sites of each counted series at commit `seq`, with the last commit that
    /// changed each path, most sites first.
    pub fn counted_paths_at(
        &self,
        repo_id: i64,
        seq: i64,
        counted: &[Counted],
    ) -> Result<Vec<PathCount>> {
        let sql = format!(
            "WITH {},
             current AS (
                SELECT path, new_blob, seq AS last_seq FROM commit_changes
                WHERE repo_id = ? AND seq <= ?
                QUALIFY row_number() OVER (PARTITION BY path ORDER BY seq DESC) = 1)
             SELECT b.t, c.path, b.occurrences, c.last_seq
             FROM current c JOIN counted_blobs b ON b.blob_row = c.new_blob
             WHERE b.occurrences > 0
             ORDER BY b.t, b.occurrences DESC, c.path",
            counted_blobs_cte(counted)
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params![repo_id, seq], |r| {
            Ok(PathCount {
                counted: r.get::<_, i64>(0)? as usize,
                path: r.get(1)?,
                occurrences: r.get(2)?,
                last_seq: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every stored signature of a configuration at one level's use: `(sig, text)`.
    pub fn signature_texts(&self, config: &str) -> Result<Vec<(i32, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT sig, text FROM signatures WHERE config = ?")?;
        let rows = stmt.query_map(params![config], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn list_of_strings(value: duckdb::types::ValueRef<'_>) -> Vec<String> {
    match value.to_owned() {
        duckdb::types::Value::List(items) => items
            .into_iter()
            .filter_map(|v| match v {
                duckdb::types::Value::Text(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Signatures moving between each other inside modified files: `from_sig` fell and `to_sig` rose
/// in the same file of the same commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternFlow {
    pub from_sig: i32,
    pub to_sig: i32,
    /// Sum over (commit, file) of the smaller of the fall and the rise.
    pub moved: i64,
    /// (commit seq, moved in it), most first: every commit, so that the commits of several
    /// pairs can be counted together.
    pub commits: Vec<(i64, i64)>,
}

impl Store {
    /// Every pair of abstract signatures of which one fell and the other rose in the same
    /// modified file of one commit (`0 < seq <= at`; added and deleted files, and so renames,
    /// are left out: they explain a fall or a rise by themselves). Files where more than
    /// `max_changed` signatures fell or rose are left out too: a rewrite pairs everything with
    /// everything. Only pairs that moved at least `min_moved` sites in all are returned.
    pub fn pattern_flows(
        &self,
        repo_id: i64,
        at: i64,
        max_changed: i64,
        min_moved: i64,
    ) -> Result<Vec<PatternFlow>> {
        let sql = format!(
            "WITH mods AS (
                SELECT seq, path, old_blob, new_blob FROM commit_changes
                WHERE repo_id = $repo AND seq > 0 AND seq <= $at
                  AND old_blob IS NOT NULL AND new_blob IS NOT NULL AND old_blob <> new_blob),
             before AS (
                SELECT m.seq, m.path, p.abstract_sig AS sig, sum(p.occurrences) AS n
                FROM mods m JOIN blob_patterns p ON p.blob_row = m.old_blob GROUP BY ALL),
             after AS (
                SELECT m.seq, m.path, p.abstract_sig AS sig, sum(p.occurrences) AS n
                FROM mods m JOIN blob_patterns p ON p.blob_row = m.new_blob GROUP BY ALL),
             deltas AS (
                SELECT coalesce(b.seq, a.seq) AS seq, coalesce(b.path, a.path) AS path,
                       coalesce(b.sig, a.sig) AS sig, coalesce(a.n, 0) - coalesce(b.n, 0) AS delta
                FROM before b FULL OUTER JOIN after a
                  ON a.seq = b.seq AND a.path = b.path AND a.sig = b.sig
                WHERE coalesce(a.n, 0) <> coalesce(b.n, 0)),
             sizes AS (
                SELECT seq, path FROM deltas GROUP BY seq, path
                HAVING count(*) FILTER (WHERE delta < 0) <= {max_changed}
                   AND count(*) FILTER (WHERE delta > 0) <= {max_changed}),
             kept AS (SELECT d.* FROM deltas d SEMI JOIN sizes s ON s.seq = d.seq AND s.path = d.path),
             per_commit AS (
                SELECT f.sig AS from_sig, r.sig AS to_sig, f.seq, sum(least(-f.delta, r.delta)) AS moved
                FROM kept f JOIN kept r ON r.seq = f.seq AND r.path = f.path AND r.delta > 0
                WHERE f.delta < 0
                GROUP BY ALL)
             SELECT from_sig, to_sig, sum(moved)::BIGINT AS moved,
                    list(seq ORDER BY moved DESC, seq),
                    list(moved ORDER BY moved DESC, seq)
             FROM per_commit GROUP BY from_sig, to_sig
             HAVING sum(moved) >= {min_moved}
             ORDER BY moved DESC, from_sig, to_sig"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(duckdb::named_params! { "repo": repo_id, "at": at }, |r| {
            let seqs = list_of_i64(r.get_ref(3)?);
            let moved = list_of_i64(r.get_ref(4)?);
            Ok(PatternFlow {
                from_sig: r.get(0)?,
                to_sig: r.get(1)?,
                moved: r.get(2)?,
                commits: seqs.into_iter().zip(moved).collect(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn list_of_i64(value: duckdb::types::ValueRef<'_>) -> Vec<i64> {
    use duckdb::types::Value;
    match value.to_owned() {
        Value::List(items) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::BigInt(n) => Some(n),
                Value::Int(n) => Some(n as i64),
                Value::HugeInt(n) => i64::try_from(n).ok(),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}
