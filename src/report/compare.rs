//! Release-over-release comparison: patterns new, gone, grown and shrunk between two snapshots.

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use serde::Serialize;

use crate::level::Level;
use crate::store::{Snapshot, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    New,
    Gone,
    Grown,
    Shrunk,
}

impl Change {
    pub const ALL: [Change; 4] = [Change::New, Change::Gone, Change::Grown, Change::Shrunk];

    pub fn name(self) -> &'static str {
        match self {
            Change::New => "new",
            Change::Gone => "gone",
            Change::Grown => "grown",
            Change::Shrunk => "shrunk",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delta {
    pub signature: String,
    pub category: String,
    pub before: i64,
    pub after: i64,
    pub change: Change,
    pub absolute: i64,
    /// `(after - before) / before`; `None` for new patterns.
    pub relative: Option<f64>,
}

/// Compares two snapshots, each (key, occurrences) sorted by key; `name(key)` gives a
/// pattern's signature and category. Unchanged patterns are left out. Sorted by absolute
/// change, largest first, then by signature.
pub fn compare<'n, K: Ord + Copy>(
    before: &[(K, i64)],
    after: &[(K, i64)],
    name: impl Fn(K) -> Option<(&'n str, &'n str)>,
) -> Vec<Delta> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    loop {
        // A merge of the two sorted lists: (key, before, after).
        let (key, b, a) = match (before.get(i), after.get(j)) {
            (Some(&(kb, b)), Some(&(ka, a))) if kb == ka => {
                i += 1;
                j += 1;
                (kb, b, a)
            }
            (Some(&(kb, b)), Some(&(ka, _))) if kb < ka => {
                i += 1;
                (kb, b, 0)
            }
            (Some(&(kb, b)), None) => {
                i += 1;
                (kb, b, 0)
            }
            (_, Some(&(ka, a))) => {
                j += 1;
                (ka, 0, a)
            }
            (None, None) => break,
        };
        if a == b {
            continue;
        }
        let Some((signature, category)) = name(key) else {
            continue;
        };
        let change = match (b, a) {
            (0, _) => Change::New,
            (_, 0) => Change::Gone,
            _ if a > b => Change::Grown,
            _ => Change::Shrunk,
        };
        out.push(Delta {
            signature: signature.to_string(),
            category: category.to_string(),
            before: b,
            after: a,
            change,
            absolute: a - b,
            relative: (b != 0).then(|| (a - b) as f64 / b as f64),
        });
    }
    out.sort_by(|x, y| {
        y.absolute
            .abs()
            .cmp(&x.absolute.abs())
            .then_with(|| x.signature.cmp(&y.signature))
    });
    out
}

/// Compares the snapshots of each pair of commits `(older seq, newer seq)` of a repository's
/// history, at one level (see `compare_snapshots`).
pub fn compare_commits(
    store: &Store,
    repo_id: i64,
    pairs: &[(i64, i64)],
    level: Level,
    config: &str,
) -> Result<Vec<Vec<Delta>>> {
    let commit = |seq| Snapshot::Commit { repo_id, seq };
    let pairs: Vec<(Snapshot, Snapshot)> =
        pairs.iter().map(|&(a, b)| (commit(a), commit(b))).collect();
    compare_snapshots(store, &pairs, level, config)
}

/// Compares each pair of snapshots `(older, newer)`, at one level: commits of a history's chain,
/// whose counts one pass over the stored deltas serves (each kept only until the pairs that need
/// it are compared), and trees off it, read whole.
pub fn compare_snapshots(
    store: &Store,
    pairs: &[(Snapshot, Snapshot)],
    level: Level,
    config: &str,
) -> Result<Vec<Vec<Delta>>> {
    let names = store.signature_names(config)?;
    let name = |sig: i32| {
        names
            .get(&sig)
            .map(|(text, categories)| (text.as_str(), categories.as_str()))
    };
    let mut pending: HashMap<Snapshot, usize> = HashMap::new();
    for &(a, b) in pairs {
        *pending.entry(a).or_default() += 1;
        *pending.entry(b).or_default() += 1;
    }
    let mut held: HashMap<Snapshot, Vec<(i32, i64)>> = HashMap::new();
    let mut walks: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for &snapshot in pending.keys() {
        match snapshot {
            Snapshot::Commit { repo_id, seq } => walks.entry(repo_id).or_default().push(seq),
            Snapshot::Scan(_) => {
                held.insert(snapshot, store.snapshot_counts(snapshot, level)?);
            }
        }
    }
    let mut out: Vec<Option<Vec<Delta>>> = vec![None; pairs.len()];
    let mut settle = |held: &mut HashMap<Snapshot, Vec<(i32, i64)>>| {
        for (k, &(a, b)) in pairs.iter().enumerate() {
            if out[k].is_some() {
                continue;
            }
            let (Some(before), Some(after)) = (held.get(&a), held.get(&b)) else {
                continue;
            };
            out[k] = Some(compare(before, after, name));
            for s in [a, b] {
                let left = pending.entry(s).or_default();
                *left = left.saturating_sub(1);
                if *left == 0 {
                    held.remove(&s);
                }
            }
        }
    };
    settle(&mut held);
    for (repo_id, seqs) in walks {
        store.walk_snapshots(repo_id, &seqs, level, |seq, counts| {
            held.insert(Snapshot::Commit { repo_id, seq }, counts.to_vec());
            settle(&mut held);
        })?;
    }
    Ok(out.into_iter().map(Option::unwrap_or_default).collect())
}

/// The first `n` patterns that rose and that fell, from deltas in `compare`'s order (largest
/// change first), each list largest first.
pub fn rose_and_fell(deltas: &[Delta], n: usize) -> (Vec<&Delta>, Vec<&Delta>) {
    let pick = |keep: fn(i64) -> bool| deltas.iter().filter(|d| keep(d.absolute)).take(n).collect();
    (pick(|a| a > 0), pick(|a| a < 0))
}

/// The deltas between two labelled snapshots of one repository, ready to print.
pub struct Comparison {
    pub repo: String,
    pub from: String,
    pub to: String,
    /// By absolute change, largest first (as `compare` sorts them).
    pub deltas: Vec<Delta>,
    /// For the largest changes between two commits of the analysed chain: the commit between
    /// them that moved each the most in the direction of its change.
    pub moved_by: Vec<(String, crate::report::CommitMove)>,
}

/// For the `top` largest of `deltas` between the chain commits at walk positions `from < to`:
/// the commit in `(from, to]` that moved each the most in the direction of its change.
/// `commits` are the history's commits by walk position.
pub fn attribute(
    store: &crate::store::Store,
    repo_id: i64,
    level: Level,
    (from, to): (i64, i64),
    deltas: &[Delta],
    top: usize,
    commits: &std::collections::HashMap<i64, &crate::store::CommitMeta>,
) -> anyhow::Result<Vec<(String, crate::report::CommitMove)>> {
    let texts: Vec<&str> = deltas
        .iter()
        .take(top)
        .map(|d| d.signature.as_str())
        .collect();
    let moves = store.commits_moving_within(repo_id, level, &texts, 1, (from, to))?;
    Ok(deltas
        .iter()
        .take(top)
        .filter_map(|d| {
            let (seq, change) = *moves
                .get(&d.signature)?
                .iter()
                .find(|(_, change)| change.signum() == d.absolute.signum())?;
            let commit = commits.get(&seq)?;
            Some((
                d.signature.clone(),
                crate::report::CommitMove::of(commit, change),
            ))
        })
        .collect())
}

impl Comparison {
    /// `repo: from -> to: N new, N gone, N grown, N shrunk`.
    pub fn header(&self) -> String {
        let counts: Vec<String> = Change::ALL
            .iter()
            .map(|&c| {
                let n = self.deltas.iter().filter(|d| d.change == c).count();
                format!("{n} {}", c.name())
            })
            .collect();
        format!(
            "{}: {} -> {}: {}",
            self.repo,
            self.from,
            self.to,
            counts.join(", ")
        )
    }

    /// The deltas with a relative change (not new), largest first, then by signature.
    fn by_relative(&self) -> Vec<&Delta> {
        let mut rows: Vec<&Delta> = self
            .deltas
            .iter()
            .filter(|d| d.relative.is_some())
            .collect();
        rows.sort_by(|x, y| {
            y.relative
                .unwrap_or(0.0)
                .abs()
                .total_cmp(&x.relative.unwrap_or(0.0).abs())
                .then(x.signature.cmp(&y.signature))
        });
        rows
    }

    /// The `top` rows by absolute and by relative change, as JSON.
    pub fn to_json(&self, top: usize) -> serde_json::Value {
        serde_json::json!({
            "from": self.from,
            "to": self.to,
            "by_absolute": self.deltas.iter().take(top).collect::<Vec<_>>(),
            "by_relative": self.by_relative().into_iter().take(top).collect::<Vec<_>>(),
            "moved_by": self.moved_by.iter().map(|(signature, m)| serde_json::json!({
                "signature": signature,
                "commit": m.commit,
                "time": m.time,
                "author": m.author,
                "subject": m.subject,
                "change": m.change,
            })).collect::<Vec<_>>(),
        })
    }

    /// The header and two tables (by absolute, by relative change) of `top` rows each, for a
    /// terminal or as Markdown.
    pub fn render(&self, top: usize, markdown: bool) -> String {
        use std::fmt::Write as _;
        let mut text = String::new();
        let heading = if markdown { "## " } else { "" };
        let header = if markdown {
            crate::phrasebook::md_text(&self.header())
        } else {
            self.header()
        };
        let _ = write!(text, "{heading}{header}\n\n");
        let tables = [
            (
                "by absolute change",
                self.deltas.iter().take(top).collect::<Vec<_>>(),
            ),
            (
                "by relative change",
                self.by_relative().into_iter().take(top).collect(),
            ),
        ];
        for (title, rows) in tables {
            if markdown {
                let _ = write!(
                    text,
                    "### {title}\n\n| change | before | after | delta | relative | signature |\n|---|---:|---:|---:|---:|---|\n"
                );
            } else {
                let _ = writeln!(
                    text,
                    "{title}:\n{:<7} {:>8} {:>8} {:>8} {:>9}  signature",
                    "change", "before", "after", "delta", "relative"
                );
            }
            for d in rows {
                let relative = d
                    .relative
                    .map(|r| format!("{:+.0}%", r * 100.0))
                    .unwrap_or_else(|| "new".into());
                let change = d.change.name();
                if markdown {
                    let _ = writeln!(
                        text,
                        "| {change} | {} | {} | {:+} | {relative} | {} |",
                        d.before,
                        d.after,
                        d.absolute,
                        crate::phrasebook::md_code(&d.signature)
                    );
                } else {
                    let _ = writeln!(
                        text,
                        "{change:<7} {:>8} {:>8} {:>+8} {relative:>9}  {}",
                        d.before, d.after, d.absolute, d.signature
                    );
                }
            }
            text.push('\n');
        }
        if !self.moved_by.is_empty() {
            let title = "commits that moved the largest changes the most";
            if markdown {
                let _ = write!(text, "### {title}\n\n");
            } else {
                let _ = writeln!(text, "{title}:");
            }
            for (signature, m) in &self.moved_by {
                if markdown {
                    let _ = writeln!(
                        text,
                        "- {}: {}",
                        crate::phrasebook::md_code(signature),
                        crate::phrasebook::md_text(&m.line())
                    );
                } else {
                    let _ = writeln!(text, "  {signature}\n      {}", m.line());
                }
            }
            text.push('\n');
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap<'a>(items: &[(&'a str, i64)]) -> Vec<(&'a str, i64)> {
        let mut out = items.to_vec();
        out.sort();
        out
    }

    #[test]
    fn new_gone_grown_shrunk_by_hand() {
        let before = snap(&[("var", 10), ("then", 4), ("same", 3), ("old", 2)]);
        let after = snap(&[("var", 1), ("then", 6), ("same", 3), ("await", 5)]);
        let d = compare(&before, &after, |k| Some((k, "")));
        let summary: Vec<(&str, Change, i64)> = d
            .iter()
            .map(|x| (x.signature.as_str(), x.change, x.absolute))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("var", Change::Shrunk, -9),
                ("await", Change::New, 5),
                ("old", Change::Gone, -2),
                ("then", Change::Grown, 2)
            ]
        );
        assert_eq!(d[0].relative, Some(-0.9));
        assert_eq!(d[1].relative, None);
        assert_eq!(d[3].relative, Some(0.5));
    }
}
