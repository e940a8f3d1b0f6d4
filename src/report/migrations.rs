//! `patmine migrations` as text and Markdown: the table of migrations, and one migration in
//! full (releases, the commits and authors that moved it, the files left).

use std::fmt::Write;

use crate::discovery::Discovered;
use crate::migrations::{MigrationDetail, MigrationSummary, Projection, Stamp};
use crate::phrasebook::md_code;

/// Commits, authors and frontier files shown by the text and Markdown views (JSON has them all).
const SHOWN: usize = 15;

fn percent(p: Option<f64>) -> String {
    p.map_or_else(|| "-".to_string(), |p| format!("{:.1}%", 100.0 * p))
}

fn points(p: Option<f64>) -> String {
    p.map_or_else(|| "-".to_string(), |p| format!("{:+.1}", 100.0 * p))
}

fn stamp(s: &Option<Stamp>) -> String {
    s.as_ref()
        .map_or_else(|| "-".to_string(), |s| s.date.clone())
}

fn short(id: &str) -> &str {
    &id[..id.len().min(10)]
}

pub fn projection_text(p: &Projection) -> String {
    match p {
        Projection::Done => "done".to_string(),
        Projection::Unknown { reason } => format!("unknown ({reason})"),
        Projection::Date {
            date,
            earliest,
            latest,
            ..
        } => match latest {
            Some(latest) => format!("{date} ({earliest} to {latest})"),
            None => format!("{date} (from {earliest}, no later bound)"),
        },
    }
}

/// The table of migrations, one line each.
pub fn render_table(rows: &[MigrationSummary]) -> String {
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(9).max(9);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$}  {:>15}  {:>15}  {:>6}  {:>6}  {:>10}  {:>10}  {:<11}  projection",
        "migration", "from (files)", "to (files)", "done", "Δdone", "50% on", "90% on", "status"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<width$}  {:>15}  {:>15}  {:>6}  {:>6}  {:>10}  {:>10}  {:<11}  {}",
            r.name,
            format!("{} ({})", r.from.occurrences, r.from.files),
            format!("{} ({})", r.to.occurrences, r.to.files),
            percent(r.progress),
            points(r.change.progress),
            stamp(&r.crossed_50),
            stamp(&r.crossed_90),
            r.status.name(),
            projection_text(&r.projection)
        );
    }
    out
}

/// Text safe in Markdown, tables included: HTML is escaped (a file or author name is data, not
/// markup) and pipes cannot end a cell.
pub use crate::phrasebook::md_text;

pub fn render_table_markdown(title: &str, rows: &[MigrationSummary]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", md_text(title));
    let _ = writeln!(
        out,
        "| migration | from (files) | to (files) | done (sites) | done (files) | Δ done | 50% on | 90% on | status | projection |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---|---|---|---|");
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} ({}) | {} ({}) | {} | {} | {} | {} | {} | {} | {} |",
            md_text(&r.description_or_name()),
            r.from.occurrences,
            r.from.files,
            r.to.occurrences,
            r.to.files,
            percent(r.progress),
            percent(r.progress_files),
            points(r.change.progress),
            stamp(&r.crossed_50),
            stamp(&r.crossed_90),
            r.status.name(),
            md_text(&projection_text(&r.projection))
        );
    }
    out
}

impl MigrationSummary {
    fn description_or_name(&self) -> String {
        if self.description.is_empty() {
            self.name.clone()
        } else {
            format!("{} ({})", self.description, self.name)
        }
    }
}

/// One migration in full, as text.
pub fn render_detail(d: &MigrationDetail, at: &Stamp) -> String {
    let s = &d.summary;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} at {} ({})",
        s.name,
        s.description,
        short(&at.commit),
        at.date
    );
    let _ = writeln!(
        out,
        "from: {} sites in {} files; to: {} sites in {} files; {} done by sites, {} by files",
        s.from.occurrences,
        s.from.files,
        s.to.occurrences,
        s.to.files,
        percent(s.progress),
        percent(s.progress_files)
    );
    let _ = writeln!(
        out,
        "since the first analysed commit: from {:+}, to {:+}, progress {} points",
        s.change.from,
        s.change.to,
        points(s.change.progress)
    );
    let _ = writeln!(
        out,
        "50% on {}, 90% on {}; status: {}; projected completion: {}",
        stamp(&s.crossed_50),
        stamp(&s.crossed_90),
        s.status.name(),
        projection_text(&s.projection)
    );
    if !d.releases.is_empty() {
        let shown = &d.releases[d.releases.len().saturating_sub(SHOWN)..];
        let _ = writeln!(
            out,
            "\nreleases ({} newest of {}; all with --json):",
            shown.len(),
            d.releases.len()
        );
        let width = shown.iter().map(|r| r.tag.len()).max().unwrap_or(3);
        for r in shown {
            let _ = writeln!(
                out,
                "  {:<width$}  {}  from {:>6}  to {:>6}  {:>6}",
                r.tag,
                r.point.date,
                r.point.from.occurrences,
                r.point.to.occurrences,
                percent(r.point.progress)
            );
        }
    }
    let _ = writeln!(
        out,
        "\ncommits that moved it most ({} of {}): converted, removed, written new, backslid, retired",
        d.commits.len().min(SHOWN),
        d.commits.len()
    );
    for c in d.commits.iter().take(SHOWN) {
        let e = &c.effect;
        let _ = writeln!(
            out,
            "  {} {}  {:>5} {:>5} {:>5} {:>5} {:>5}  {}: {}",
            short(&c.commit),
            c.date,
            e.converted,
            e.removed,
            e.written_new,
            e.backslid,
            e.retired,
            c.author,
            c.subject
        );
    }
    let _ = writeln!(
        out,
        "\nauthors ({} of {}): commits, converted, removed, written new, backslid, retired",
        d.authors.len().min(SHOWN),
        d.authors.len()
    );
    for a in d.authors.iter().take(SHOWN) {
        let e = &a.effect;
        let _ = writeln!(
            out,
            "  {:>5} {:>5} {:>5} {:>5} {:>5} {:>5}  {}",
            a.commits, e.converted, e.removed, e.written_new, e.backslid, e.retired, a.author
        );
    }
    let left: i64 = d.frontier.iter().map(|f| f.occurrences).sum();
    let _ = writeln!(
        out,
        "\nleft: {} `from` sites in {} files ({} shown), with the last commit to touch each",
        left,
        d.frontier.len(),
        d.frontier.len().min(SHOWN)
    );
    for f in d.frontier.iter().take(SHOWN) {
        let _ = writeln!(
            out,
            "  {:>5}  {}  (last {} {} by {})",
            f.occurrences,
            f.path,
            short(&f.last_commit.commit),
            f.last_commit.date,
            f.last_author
        );
    }
    out
}

/// One migration in full, as Markdown.
pub fn render_detail_markdown(d: &MigrationDetail, at: &Stamp) -> String {
    let s = &d.summary;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# {} at {} ({})\n",
        md_text(&s.description_or_name()),
        short(&at.commit),
        at.date
    );
    let _ = writeln!(
        out,
        "- from: {} sites in {} files; to: {} sites in {} files\n- done: {} by sites, {} by files ({} points since the first analysed commit)\n- 50% on {}, 90% on {}\n- status: {}\n- projected completion: {}\n",
        s.from.occurrences,
        s.from.files,
        s.to.occurrences,
        s.to.files,
        percent(s.progress),
        percent(s.progress_files),
        points(s.change.progress),
        stamp(&s.crossed_50),
        stamp(&s.crossed_90),
        s.status.name(),
        md_text(&projection_text(&s.projection))
    );
    if !d.releases.is_empty() {
        let shown = &d.releases[d.releases.len().saturating_sub(SHOWN)..];
        let _ = writeln!(
            out,
            "## Releases ({} newest of {})\n\n| tag | date | from | to | done |\n|---|---|---:|---:|---:|",
            shown.len(),
            d.releases.len()
        );
        for r in shown {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                md_text(&r.tag),
                r.point.date,
                r.point.from.occurrences,
                r.point.to.occurrences,
                percent(r.point.progress)
            );
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "## Commits that moved it most\n\n| commit | date | author | converted | removed | written new | backslid | retired | subject |\n|---|---|---|---:|---:|---:|---:|---:|---|"
    );
    for c in d.commits.iter().take(SHOWN) {
        let e = &c.effect;
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} |",
            short(&c.commit),
            c.date,
            md_text(&c.author),
            e.converted,
            e.removed,
            e.written_new,
            e.backslid,
            e.retired,
            md_text(&c.subject)
        );
    }
    let _ = writeln!(
        out,
        "\n## Authors\n\n| author | commits | converted | removed | written new | backslid | retired |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    for a in d.authors.iter().take(SHOWN) {
        let e = &a.effect;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            md_text(&a.author),
            a.commits,
            e.converted,
            e.removed,
            e.written_new,
            e.backslid,
            e.retired
        );
    }
    let _ = writeln!(
        out,
        "\n## What is left ({} files)\n\n| file | sites | last commit | date | author |\n|---|---:|---|---|---|",
        d.frontier.len()
    );
    for f in d.frontier.iter().take(SHOWN) {
        let _ = writeln!(
            out,
            "| {} | {} | `{}` | {} | {} |",
            md_text(&f.path),
            f.occurrences,
            short(&f.last_commit.commit),
            f.last_commit.date,
            md_text(&f.last_author)
        );
    }
    out
}

fn edit_text(d: &Discovered) -> String {
    let side = |t: &str| {
        if t.is_empty() {
            "(nothing)".to_string()
        } else {
            format!("`{t}`")
        }
    };
    format!("{} → {}", side(&d.edit.from), side(&d.edit.to))
}

/// Discovered migrations as text: each edit with an example pair and its largest commits.
pub fn render_discovered(found: &[Discovered]) -> String {
    let mut out = String::from(
        "migrations found: edits between signatures that moved mostly one way in modified files\n",
    );
    if found.is_empty() {
        out.push_str("  none\n");
    }
    for (i, d) in found.iter().enumerate() {
        let _ = writeln!(
            out,
            "\n{:>2}. {}  moved {} (back {}) in {} commits, {} signature pairs",
            i + 1,
            edit_text(d),
            d.moved,
            d.moved_back,
            d.commit_count,
            d.pairs
        );
        if let (Some(from), Some(to)) = (d.from.first(), d.to.first()) {
            let _ = writeln!(out, "    e.g. {from}\n      -> {to}");
        }
        for c in &d.commits {
            let _ = writeln!(
                out,
                "    {} {} {:>5}  {}: {}",
                short(&c.commit),
                c.date,
                c.moved,
                c.author,
                c.subject
            );
        }
    }
    out
}

pub fn render_discovered_markdown(title: &str, found: &[Discovered]) -> String {
    let mut out = String::new();
    if !title.is_empty() {
        let _ = writeln!(out, "# {}\n", md_text(title));
    }
    let _ = writeln!(
        out,
        "| edit | moved | back | commits | example (from → to) | largest commit |\n|---|---:|---:|---:|---|---|"
    );
    for d in found {
        let example = match (d.from.first(), d.to.first()) {
            (Some(f), Some(t)) => format!("{} → {}", md_code(f), md_code(t)),
            _ => String::new(),
        };
        let largest = d
            .commits
            .first()
            .map(|c| {
                format!(
                    "`{}` {} {} ({})",
                    short(&c.commit),
                    c.date,
                    md_text(&c.subject),
                    c.moved
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            md_text(&edit_text(d)),
            d.moved,
            d.moved_back,
            d.commit_count,
            example,
            largest
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_text_escapes_html_and_pipes() {
        assert_eq!(
            md_text("<img src=x onerror=alert(1)> | a & b"),
            "&lt;img src=x onerror=alert(1)&gt; \\| a &amp; b"
        );
    }

    #[test]
    fn code_spans_show_code_as_written() {
        assert_eq!(md_code("a < b && c"), "`a < b && c`");
        assert_eq!(md_code("`${X}`"), "`` `${X}` ``");
        assert_eq!(md_code("x || y"), "`x \\|\\| y`");
    }
}
