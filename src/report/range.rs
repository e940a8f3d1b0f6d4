//! What `history` prints after a run: the range it analysed, the patterns that rose and fell
//! most over it, and the migrations' progress, rather than one snapshot's phrasebook.

use std::fmt::Write as _;

use anyhow::Result;

use super::compare::{compare_commits, rose_and_fell};
use super::migrations::render_table;
use crate::level::Level;
use crate::migrations::{History, date};
use crate::store::Store;
use crate::trackers::TrackerSet;

/// The range's answers as text, with `top` patterns each way. A migration table that cannot be
/// read (a tracker some blobs lack) is replaced by the reason, so the rest still prints.
pub fn render(
    store: &Store,
    repo_id: i64,
    config: &str,
    trackers: &TrackerSet,
    level: Level,
    top: usize,
) -> Result<String> {
    let history = History::load(store, repo_id, config)?;
    let (Some(first), Some(last)) = (history.commits.first(), history.commits.last()) else {
        return Ok("no analysed commits\n".to_string());
    };
    let last_seq = history.commits.len() as i64 - 1;
    let short = |id: &str| id[..id.len().min(10)].to_string();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "range: {} commits, {} ({}) to {} ({})",
        history.commits.len(),
        short(&first.id),
        date(first.time),
        short(&last.id),
        date(last.time)
    );
    let deltas = compare_commits(store, repo_id, &[(0, last_seq)], level, config)?
        .pop()
        .unwrap_or_default();
    let (rose, fell) = rose_and_fell(&deltas, top);
    for (title, rows) in [("rose most", rose), ("fell most", fell)] {
        let _ = writeln!(
            out,
            "\npatterns that {title} from the first commit to the last ({} level):",
            level.name()
        );
        if rows.is_empty() {
            let _ = writeln!(out, "  none");
        }
        for d in rows {
            let _ = writeln!(
                out,
                "{:>+9} {:>9} -> {:<9} {}",
                d.absolute, d.before, d.after, d.signature
            );
        }
    }
    if !trackers.migrations.is_empty() {
        let _ = writeln!(out, "\nmigrations at the last commit:");
        match history.summaries(trackers, last_seq) {
            Ok(rows) => out.push_str(&render_table(&rows)),
            Err(e) => {
                let _ = writeln!(out, "  not shown: {e:#}");
            }
        }
    }
    Ok(out)
}
