//! The phrasebook: ranked patterns of one snapshot (a scan, or a commit of the history), read
//! from the store, and its printers (terminal table, JSON, Markdown).

use std::fmt::Write as _;

use anyhow::Result;
use duckdb::params;
use serde::Serialize;

use crate::store::{Snapshot, Store};

/// Which signature level patterns are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Abstract,
    Semantic,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Abstract => "abstract",
            Level::Semantic => "semantic",
        }
    }

    pub fn id_column(self) -> &'static str {
        match self {
            Level::Abstract => "abstract_sig",
            Level::Semantic => "semantic_sig",
        }
    }
}

/// One ranked pattern.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PatternRow {
    pub rank: usize,
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

/// Ranks the patterns of a snapshot: by occurrences, then files, then signature text. Counts
/// come from the snapshot's stored counts; only the leaders' rows are read again, for their
/// most frequent variant (text, kind) and an example location.
pub fn top_patterns(
    store: &Store,
    snapshot: Snapshot,
    config: &str,
    level: Level,
    limit: usize,
) -> Result<Vec<PatternRow>> {
    let id = level.id_column();
    let counts_sql = snapshot.counts_sql(level.name());
    let occurrences_sql = snapshot.occurrences_sql();
    let sql = format!(
        "WITH counts AS ({counts_sql}),
         -- The leaders by count, ties at the cut included: texts break ties below.
         leaders AS (
            SELECT sig AS pid, occurrences AS occ, files FROM counts
            QUALIFY rank() OVER (ORDER BY occurrences DESC, files DESC) <= $2),
         occ AS (
            SELECT * FROM ({occurrences_sql}) WHERE {id} IN (SELECT pid FROM leaders)),
         example AS (
            SELECT {id} AS pid, min({{'path': path, 'line': first_line}}) AS example
            FROM occ GROUP BY pid),
         variant AS (
            SELECT {id} AS pid, abstract_sig, semantic_sig, kind, sum(occurrences) AS occ
            FROM occ GROUP BY ALL),
         top_variant AS (
            SELECT v.pid,
                   first(a.text ORDER BY v.occ DESC, a.sig_id, s.sig_id, v.kind) AS abstract_text,
                   first(s.text ORDER BY v.occ DESC, a.sig_id, s.sig_id, v.kind) AS semantic_text,
                   first(s.categories ORDER BY v.occ DESC, a.sig_id, s.sig_id, v.kind) AS categories,
                   first(v.kind ORDER BY v.occ DESC, a.sig_id, s.sig_id, v.kind) AS kind
            FROM variant v
            JOIN signatures a ON a.sig = v.abstract_sig
            JOIN signatures s ON s.sig = v.semantic_sig
            GROUP BY v.pid)
         SELECT p.sig_id, tv.abstract_text, tv.semantic_text, tv.categories, tv.kind, l.occ,
                l.files, e.example.path || ':' || e.example.line
         FROM leaders l JOIN top_variant tv USING (pid) JOIN example e USING (pid)
         JOIN signatures p ON p.sig = l.pid AND p.config = $1
         ORDER BY l.occ DESC, l.files DESC, tv.abstract_text, tv.semantic_text
         LIMIT $2"
    );
    let mut stmt = store.conn.prepare(&sql)?;
    let rows = stmt.query_map(params![config, limit as i64], |r| {
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
    })?;
    let mut out: Vec<PatternRow> = rows.collect::<Result<_, _>>()?;
    for (i, row) in out.iter_mut().enumerate() {
        row.rank = i + 1;
    }
    Ok(out)
}

/// A terminal table: rank, occurrences, files, category, signature at the chosen level.
pub fn render_table(rows: &[PatternRow], level: Level) -> String {
    let width = rows
        .iter()
        .map(|r| r.category.len())
        .max()
        .unwrap_or(0)
        .clamp(8, 24);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>5} {:>11} {:>7}  {:<width$}  signature ({})",
        "rank",
        "occurrences",
        "files",
        "category",
        level.name()
    );
    for row in rows {
        let sig = match level {
            Level::Abstract => &row.abstract_text,
            Level::Semantic => &row.semantic_text,
        };
        let category = if row.category.is_empty() {
            "-"
        } else {
            &row.category
        };
        let _ = writeln!(
            out,
            "{:>5} {:>11} {:>7}  {:<width$}  {}",
            row.rank, row.occurrences, row.files, category, sig
        );
    }
    out
}

/// Text made safe for a Markdown table cell.
pub fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn md_code(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    format!("`{}`", md_cell(text))
}

/// The phrasebook as Markdown.
pub fn render_markdown(title: &str, rows: &[PatternRow], level: Level) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", md_cell(title));
    let _ = writeln!(
        out,
        "Patterns ranked by occurrences, grouped at the {} level.\n",
        level.name()
    );
    let _ = writeln!(
        out,
        "| rank | signature | semantic signature | category | occurrences | files | example |"
    );
    let _ = writeln!(out, "|---:|---|---|---|---:|---:|---|");
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            row.rank,
            md_code(&row.abstract_text),
            md_code(&row.semantic_text),
            md_cell(&row.category),
            row.occurrences,
            row.files,
            md_cell(&row.example)
        );
    }
    out
}
