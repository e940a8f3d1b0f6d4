//! The phrasebook: ranked patterns of one snapshot (a scan, or a commit of the history), read
//! from the store, and its printers (terminal table, JSON, Markdown).

use std::fmt::Write as _;
use std::sync::Arc;

use anyhow::Result;

use crate::FastMap;
use crate::analyze::sha256_hex;
pub use crate::level::Level;
pub use crate::store::PatternRow;
use crate::store::{Snapshot, Store};

/// Ranks the patterns of a snapshot: by occurrences, then files, then signature text (see
/// `Store::top_patterns`).
pub fn top_patterns(
    store: &Store,
    snapshot: Snapshot,
    config: &str,
    level: Level,
    limit: usize,
) -> Result<Vec<PatternRow>> {
    store.top_patterns(snapshot, config, level, limit)
}

/// One counted pattern of a file, as a run that analysed the file keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilePattern {
    pub abstract_sig: i32,
    pub semantic_sig: i32,
    pub occurrences: u32,
    /// Index in the run's list of kinds.
    pub kind: u32,
    pub first_line: u32,
}

impl FilePattern {
    fn sig(&self, level: Level) -> i32 {
        match level {
            Level::Abstract => self.abstract_sig,
            Level::Semantic => self.semantic_sig,
        }
    }
}

/// What a run that analysed every file of its snapshot knows, enough to rank the snapshot's
/// patterns without reading them back from the store.
pub struct RunPatterns<'a> {
    /// `(sig, occurrences, files)` of every pattern at the level ranked.
    pub counts: Vec<(i32, i64, i64)>,
    /// Every analysed file: its path and its counted patterns.
    pub files: Vec<(&'a str, &'a [FilePattern])>,
    /// The kinds `FilePattern::kind` indexes.
    pub kinds: &'a [Arc<str>],
    /// Signature texts by number (text -> sig, as the writer keeps them).
    pub signatures: &'a FastMap<Box<str>, i32>,
    /// The categories of a signature text, as stored with it.
    pub categorize: &'a (dyn Fn(&str) -> String + Sync),
}

/// `top_patterns` for a run that analysed every file of its snapshot, from what it kept in
/// memory: the same rows in the same order, ties broken the same way, without a query. (A test
/// holds the two to each other.)
pub fn rank_run(run: RunPatterns<'_>, level: Level, limit: usize) -> Vec<PatternRow> {
    // The leaders: rank (occurrences, files) <= limit, ties at the cut included.
    let mut counts = run.counts;
    counts.sort_unstable_by_key(|c| std::cmp::Reverse((c.1, c.2)));
    let cut = match limit.checked_sub(1).map(|last| counts.get(last)) {
        None => 0,
        Some(None) => counts.len(),
        Some(Some(last)) => counts
            .iter()
            .take_while(|c| (c.1, c.2) >= (last.1, last.2))
            .count(),
    };
    let leaders = &counts[..cut];
    let leader_of: FastMap<i32, usize> =
        leaders.iter().enumerate().map(|(i, c)| (c.0, i)).collect();

    // Per leader: occurrences by variant (abstract sig, semantic sig, kind), and the first
    // (path, line) in order.
    let mut variants: Vec<FastMap<(i32, i32, u32), i64>> = vec![FastMap::default(); cut];
    let mut examples: Vec<Option<(&str, u32)>> = vec![None; cut];
    for &(path, patterns) in &run.files {
        for p in patterns {
            let Some(&leader) = leader_of.get(&p.sig(level)) else {
                continue;
            };
            *variants[leader]
                .entry((p.abstract_sig, p.semantic_sig, p.kind))
                .or_default() += i64::from(p.occurrences);
            let example = &mut examples[leader];
            if example.is_none_or(|e| (path, p.first_line) < e) {
                *example = Some((path, p.first_line));
            }
        }
    }

    // The texts of the leaders and of their most frequent variants.
    let mut top_variants: Vec<Vec<(i32, i32, u32)>> = Vec::with_capacity(cut);
    let mut wanted: FastMap<i32, &str> = FastMap::default();
    for (leader, by_variant) in leaders.iter().zip(&variants) {
        let most = by_variant.values().copied().max().unwrap_or(0);
        let tied: Vec<(i32, i32, u32)> = by_variant
            .iter()
            .filter(|&(_, &occ)| occ == most)
            .map(|(&v, _)| v)
            .collect();
        wanted.insert(leader.0, "");
        for &(a, s, _) in &tied {
            wanted.insert(a, "");
            wanted.insert(s, "");
        }
        top_variants.push(tied);
    }
    let mut missing = wanted.len();
    for (text, sig) in run.signatures {
        if missing == 0 {
            break;
        }
        if let Some(slot) = wanted.get_mut(sig) {
            *slot = text;
            missing -= 1;
        }
    }

    let mut rows: Vec<PatternRow> = Vec::with_capacity(cut);
    for ((&(pid, occurrences, files), tied), example) in
        leaders.iter().zip(top_variants).zip(examples)
    {
        // Ties between variants: by the ids of their texts, then by kind, as the query does.
        let best = tied
            .into_iter()
            .map(|(a, s, kind)| {
                let (a, s) = (wanted[&a], wanted[&s]);
                let kind: &str = run.kinds.get(kind as usize).map_or("", |k| k);
                (
                    (sha256_hex(a.as_bytes()), sha256_hex(s.as_bytes()), kind),
                    a,
                    s,
                )
            })
            .min_by(|x, y| x.0.cmp(&y.0));
        let (Some(((_, _, kind), abstract_text, semantic_text)), Some((path, line))) =
            (best, example)
        else {
            continue;
        };
        rows.push(PatternRow {
            rank: 0,
            id: sha256_hex(wanted[&pid].as_bytes()),
            abstract_text: abstract_text.to_string(),
            semantic_text: semantic_text.to_string(),
            category: (run.categorize)(semantic_text),
            kind: kind.to_string(),
            occurrences,
            files,
            example: format!("{path}:{line}"),
        });
    }
    rows.sort_by(|a, b| {
        (b.occurrences, b.files)
            .cmp(&(a.occurrences, a.files))
            .then_with(|| a.abstract_text.cmp(&b.abstract_text))
            .then_with(|| a.semantic_text.cmp(&b.semantic_text))
    });
    rows.truncate(limit);
    for (i, row) in rows.iter_mut().enumerate() {
        row.rank = i + 1;
    }
    rows
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
fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Text (not code) in Markdown: HTML in it shows as text, not as markup a viewer renders (a
/// file, repository or tag may be named `<img src=x onerror=…>`), and it stays in its table
/// cell and line.
pub fn md_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// Text as a Markdown code span in a table cell: fenced with one backtick more than its longest
/// run of them (padded when it starts or ends with one), so any code shows as written.
pub fn md_code(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{}{pad}{fence}", md_cell(text))
}

/// The phrasebook as Markdown.
pub fn render_markdown(title: &str, rows: &[PatternRow], level: Level) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", md_text(title));
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
            md_text(&row.category),
            row.occurrences,
            row.files,
            md_text(&row.example)
        );
    }
    out
}

/// Writes `phrasebook.json` and `phrasebook.md` into `dir`.
pub fn write_files(
    dir: &std::path::Path,
    title: &str,
    summary: serde_json::Value,
    rows: &[PatternRow],
    level: Level,
) -> Result<()> {
    use anyhow::Context as _;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let doc =
        serde_json::json!({ "title": title, "summary": summary, "level": level, "patterns": rows });
    let json = serde_json::to_string_pretty(&doc)?;
    crate::output::replace_file(&dir.join("phrasebook.json"), json.as_bytes())?;
    let markdown = render_markdown(title, rows, level);
    crate::output::replace_file(&dir.join("phrasebook.md"), markdown.as_bytes())?;
    Ok(())
}
