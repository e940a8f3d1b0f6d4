//! Migrations nobody named: pairs of signatures where one falls while the other rises in the same
//! file of the same commit, grouped by what changed between them.
//!
//! Only modified files count (a file added or deleted, and so a rename, explains a rise or a fall
//! by itself). In each modified file of each commit, every signature that fell is paired with
//! every one that rose, for the smaller of the two moves. Pairs are then grouped by their
//! **edit**: the two texts with what they share at the start and the end cut away, on word
//! boundaries (`var IDENTIFIER = IDENTIFIER(STRING)` → `const IDENTIFIER = IDENTIFIER(STRING)`
//! is the edit `var` → `const`, shared by every declaration that changed its keyword). An edit is
//! kept when it moved mostly one way: edits that go back and forth (an argument added here and
//! removed there) are ordinary editing, not a migration.

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use serde::Serialize;

use crate::store::{CommitMeta, PatternFlow, Store};

/// Files where more signatures than this fell (or rose) in one commit are left out: a rewrite
/// pairs everything with everything.
const MAX_CHANGED_PER_FILE: i64 = 40;
/// A pair must move at least this many sites in all to be read.
const MIN_PAIR_MOVED: i64 = 1;
/// An edit is kept when it moved at least this many sites (in one commit or many: a codemod is
/// one), and at least `MIN_ONE_WAY` of its moves went its way.
const MIN_MOVED: i64 = 5;
const MIN_ONE_WAY: f64 = 0.75;
/// Signatures and commits listed per edit.
const LISTED: usize = 5;

/// What changed between the signatures of a discovered migration.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Edit {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MovedCommit {
    pub commit: String,
    pub date: String,
    pub author: String,
    pub subject: String,
    /// Sites that moved from a `from` signature to a `to` signature in this commit.
    pub moved: i64,
}

/// One discovered migration: an edit, the signature pairs that made it, and the commits that
/// moved them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Discovered {
    pub edit: Edit,
    /// The signatures that fell, most moved first (at most 5).
    pub from: Vec<String>,
    /// The signatures that rose.
    pub to: Vec<String>,
    /// Sites moved this way, and the other way (`to` → `from`).
    pub moved: i64,
    pub moved_back: i64,
    pub pairs: usize,
    pub commit_count: usize,
    /// The commits that moved most.
    pub commits: Vec<MovedCommit>,
}

/// Cuts the common start and end of two signature texts, on word boundaries.
pub fn edit_between(a: &str, b: &str) -> Edit {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let (ac, bc): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut prefix = ac.iter().zip(&bc).take_while(|(x, y)| x == y).count();
    // Back to a word boundary: never cut inside a word of either text.
    while prefix > 0
        && word(ac[prefix - 1])
        && (ac.get(prefix).is_some_and(|&c| word(c)) || bc.get(prefix).is_some_and(|&c| word(c)))
    {
        prefix -= 1;
    }
    let max_suffix = ac.len().min(bc.len()) - prefix;
    let mut suffix = ac
        .iter()
        .rev()
        .zip(bc.iter().rev())
        .take(max_suffix)
        .take_while(|(x, y)| x == y)
        .count();
    while suffix > 0
        && word(ac[ac.len() - suffix])
        && (ac.len() > suffix && word(ac[ac.len() - suffix - 1])
            || bc.len() > suffix && word(bc[bc.len() - suffix - 1]))
    {
        suffix -= 1;
    }
    let cut = |c: &[char]| -> String {
        c[prefix..c.len() - suffix]
            .iter()
            .collect::<String>()
            .trim()
            .to_string()
    };
    Edit {
        from: cut(&ac),
        to: cut(&bc),
    }
}

/// The discovered migrations of a history up to commit `at`, most moved first.
pub fn discover(
    store: &Store,
    repo_id: i64,
    config: &str,
    commits: &[CommitMeta],
    at: i64,
) -> Result<Vec<Discovered>> {
    let flows = store.pattern_flows(repo_id, at, MAX_CHANGED_PER_FILE, MIN_PAIR_MOVED)?;
    let texts = store.signature_names(config)?;
    let text = |sig: i32| texts.get(&sig).map_or("", |(t, _)| t.as_str());
    let by_pair: HashMap<(i32, i32), &PatternFlow> =
        flows.iter().map(|f| ((f.from_sig, f.to_sig), f)).collect();

    #[derive(Default)]
    struct Group<'a> {
        moved: i64,
        back: i64,
        pairs: Vec<&'a PatternFlow>,
        commits: BTreeMap<i64, i64>,
    }
    let mut groups: HashMap<Edit, Group<'_>> = HashMap::new();
    for flow in &flows {
        let (from_text, to_text) = (text(flow.from_sig), text(flow.to_sig));
        let edit = edit_between(from_text, to_text);
        // Two signatures that share nothing are two different statements, not one edited; an
        // edit of elision marks only is the normalizer's cap (`…`), not the code.
        let unrelated = edit.from == from_text.trim() && edit.to == to_text.trim();
        let only_marks = |t: &str| t.chars().all(|c| matches!(c, '…' | ',' | ' '));
        if edit.from == edit.to || unrelated || (only_marks(&edit.from) && only_marks(&edit.to)) {
            continue;
        }
        let back = by_pair
            .get(&(flow.to_sig, flow.from_sig))
            .map_or(0, |f| f.moved);
        if flow.moved <= back {
            continue; // counted, if at all, the other way round
        }
        let group = groups.entry(edit).or_default();
        group.moved += flow.moved;
        group.back += back;
        group.pairs.push(flow);
        for &(seq, moved) in &flow.commits {
            *group.commits.entry(seq).or_default() += moved;
        }
    }
    let mut found: Vec<Discovered> = groups
        .into_iter()
        .filter(|(_, g)| {
            g.moved >= MIN_MOVED && g.moved as f64 >= MIN_ONE_WAY * (g.moved + g.back) as f64
        })
        .map(|(edit, g)| {
            let mut pairs = g.pairs.clone();
            pairs.sort_by_key(|p| std::cmp::Reverse(p.moved));
            let listed = |pick: fn(&PatternFlow) -> i32| {
                let mut out: Vec<String> = Vec::new();
                for p in &pairs {
                    let t = text(pick(p)).to_string();
                    if !out.contains(&t) {
                        out.push(t);
                    }
                    if out.len() == LISTED {
                        break;
                    }
                }
                out
            };
            let mut moved_commits: Vec<(i64, i64)> = g.commits.into_iter().collect();
            moved_commits.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            Discovered {
                from: listed(|p| p.from_sig),
                to: listed(|p| p.to_sig),
                moved: g.moved,
                moved_back: g.back,
                pairs: pairs.len(),
                commit_count: moved_commits.len(),
                commits: moved_commits
                    .into_iter()
                    .take(LISTED)
                    .filter_map(|(seq, moved)| {
                        let c = commits.get(seq as usize)?;
                        Some(MovedCommit {
                            commit: c.id.clone(),
                            date: crate::migrations::date(c.time),
                            author: c.author.clone(),
                            subject: c.subject.clone(),
                            moved,
                        })
                    })
                    .collect(),
                edit,
            }
        })
        .collect();
    found.sort_by(|a, b| {
        (b.moved - b.moved_back)
            .cmp(&(a.moved - a.moved_back))
            .then_with(|| a.edit.cmp(&b.edit))
    });
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_is_what_two_signatures_do_not_share_on_word_boundaries() {
        let e = edit_between(
            "var IDENTIFIER = IDENTIFIER(STRING)",
            "const IDENTIFIER = IDENTIFIER(STRING)",
        );
        assert_eq!((e.from.as_str(), e.to.as_str()), ("var", "const"));
        let e = edit_between("const enum IDENTIFIER { … }", "enum IDENTIFIER { … }");
        assert_eq!((e.from.as_str(), e.to.as_str()), ("const", ""));
        // Not inside a word: `IDENTIFIERS` is not `IDENTIFIER` plus `S`.
        let e = edit_between(
            "IDENTIFIER.then(IDENTIFIER)",
            "IDENTIFIER.catch(IDENTIFIER)",
        );
        assert_eq!((e.from.as_str(), e.to.as_str()), ("then", "catch"));
        let e = edit_between(
            "IDENTIFIER(IDENTIFIER)",
            "IDENTIFIER(IDENTIFIER, IDENTIFIER)",
        );
        assert_eq!((e.from.as_str(), e.to.as_str()), ("", ", IDENTIFIER"));
    }
}
