//! `patmine check`: the ratchet. Counts each migration's `from` sites in a working tree (or a
//! revision) and in a baseline revision, straight from files and git objects (no database), and
//! lists the sites that are new where a migration's total grew.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use rayon::prelude::*;

use crate::analyze::Analyzer;
use crate::dialect::Dialect;
use crate::filter::Filter;
use crate::git::Repo;
use crate::trackers::{Site, TrackerMatcher, TrackerSet};

/// Where files come from.
pub enum Side<'a> {
    /// A directory on disk (a working tree), walked as `scan` walks it.
    Dir(&'a Path),
    /// A commit's tree, read from git objects.
    Commit { repo: &'a Repo, commit: String },
}

/// A file's contents and its path relative to the side's root.
struct SourceFile {
    rel: String,
    dialect: Dialect,
    bytes: Vec<u8>,
}

/// One migration's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationCheck {
    pub name: String,
    pub baseline: usize,
    pub current: usize,
    /// Sites in the current side with no counterpart in the baseline's same file (compared by
    /// their code, so moved lines are not new), in path and line order.
    pub new_sites: Vec<(String, Site)>,
}

impl MigrationCheck {
    pub fn grew(&self) -> bool {
        self.current > self.baseline
    }
}

/// Reads every JS/TS file of a side that the filter keeps; unreadable files are reported and
/// left out.
fn files(
    side: &Side<'_>,
    filter: &Filter,
    report: &mut dyn FnMut(String),
) -> Result<Vec<SourceFile>> {
    let mut out = Vec::new();
    match side {
        Side::Dir(root) => {
            for candidate in crate::scan::discover(root, report) {
                if filter.check_path(&candidate.rel).is_some() {
                    continue;
                }
                match std::fs::read(&candidate.path) {
                    Ok(bytes) => {
                        if filter.check_size(bytes.len() as u64).is_some()
                            || filter.check_content(&bytes).is_some()
                        {
                            continue;
                        }
                        out.push(SourceFile {
                            rel: candidate.rel,
                            dialect: candidate.dialect,
                            bytes,
                        });
                    }
                    Err(e) => report(format!("{}: cannot read: {e}", candidate.path.display())),
                }
            }
        }
        Side::Commit { repo, commit } => {
            let tree = repo.commit_tree(commit)?;
            let keep = |p: &str| filter.check_path(p).is_none();
            let mut missing = |m: String| report(format!("commit {commit}: {m}"));
            let changes = repo.diff_trees(None, &tree, &keep, &mut missing)?;
            let mut reader = repo.shared().reader();
            for change in changes {
                let Some(blob) = change.new else { continue };
                match reader.read(&blob.id)? {
                    Some(bytes) => {
                        if filter.check_size(bytes.len() as u64).is_some()
                            || filter.check_content(bytes).is_some()
                        {
                            continue;
                        }
                        out.push(SourceFile {
                            rel: change.path,
                            dialect: blob.dialect,
                            bytes: bytes.to_vec(),
                        });
                    }
                    None => report(format!(
                        "blob {} ({}) is missing from the object database; left out",
                        blob.id, change.path
                    )),
                }
            }
        }
    }
    Ok(out)
}

/// The sites of each of `trackers` (indexes into `set.trackers`) in every file of a side:
/// tracker -> path -> sites.
fn sites(
    set: &TrackerSet,
    trackers: &[usize],
    analyzer: &Analyzer,
    files: &[SourceFile],
    report: &(dyn Fn(String) + Sync),
) -> Vec<HashMap<String, Vec<Site>>> {
    let per_file: Vec<Vec<Vec<Site>>> = files
        .par_iter()
        .map(|file| {
            let parsed = match analyzer.parse_tree(&file.bytes, file.dialect) {
                Ok(parsed) => parsed,
                Err(e) => {
                    report(format!("{}: {e}; left out", file.rel));
                    return vec![Vec::new(); trackers.len()];
                }
            };
            let (grammar, tree) = parsed;
            let mut occurrences = None;
            trackers
                .iter()
                .map(|&t| match &set.trackers[t].matcher {
                    TrackerMatcher::Tree(tracker) => {
                        if tracker.may_match(&file.bytes) {
                            tracker.sites(&tree, &file.bytes, grammar)
                        } else {
                            Vec::new()
                        }
                    }
                    TrackerMatcher::Signature(tracker) => {
                        let found = occurrences.get_or_insert_with(|| {
                            analyzer
                                .explain(&file.bytes, file.dialect)
                                .map(|(_, o)| o)
                                .unwrap_or_default()
                        });
                        found
                            .iter()
                            .filter(|o| {
                                let text = match tracker.level {
                                    crate::level::Level::Abstract => &o.signature.abstract_text,
                                    crate::level::Level::Semantic => &o.signature.semantic_text,
                                };
                                tracker.matches(text, &o.kind)
                            })
                            .map(|o| Site {
                                line: o.line as usize,
                                code: line_text(&file.bytes, o.line as usize),
                            })
                            .collect()
                    }
                })
                .collect()
        })
        .collect();
    let mut out = vec![HashMap::new(); trackers.len()];
    for (file, found) in files.iter().zip(per_file) {
        for (t, sites) in found.into_iter().enumerate() {
            if !sites.is_empty() {
                out[t].insert(file.rel.clone(), sites);
            }
        }
    }
    out
}

/// The text of 1-based `line`.
fn line_text(bytes: &[u8], line: usize) -> String {
    let mut start = 0;
    for _ in 1..line {
        match memchr::memchr(b'\n', &bytes[start..]) {
            Some(i) => start += i + 1,
            None => return String::new(),
        }
    }
    crate::trackers::line_of_code(bytes, start)
}

/// A side's sites of some trackers, by path.
fn gather<'a>(
    side: &'a [HashMap<String, Vec<Site>>],
    trackers: &[usize],
    index: &dyn Fn(usize) -> usize,
) -> HashMap<&'a str, Vec<&'a Site>> {
    let mut per_path: HashMap<&str, Vec<&Site>> = HashMap::new();
    for &t in trackers {
        for (path, sites) in &side[index(t)] {
            per_path.entry(path).or_default().extend(sites);
        }
    }
    per_path
}

/// Checks the migrations named in `migrations` (all when empty) of `set`: `current` against
/// `baseline`.
pub fn check(
    set: &TrackerSet,
    migrations: &[String],
    analyzer: &Analyzer,
    filter: &Filter,
    baseline: &Side<'_>,
    current: &Side<'_>,
    report: &(dyn Fn(String) + Sync),
) -> Result<Vec<MigrationCheck>> {
    let chosen: Vec<usize> = if migrations.is_empty() {
        (0..set.migrations.len()).collect()
    } else {
        migrations
            .iter()
            .map(|name| {
                set.migrations
                    .iter()
                    .position(|m| &m.name == name)
                    .with_context(|| format!("--migration {name}: no migration of that name"))
            })
            .collect::<Result<_>>()?
    };
    let mut trackers: Vec<usize> = chosen
        .iter()
        .flat_map(|&m| set.migrations[m].from.iter().copied())
        .collect();
    trackers.sort_unstable();
    trackers.dedup();
    let mut say = |line: String| report(line);
    let baseline_files = files(baseline, filter, &mut say)?;
    let current_files = files(current, filter, &mut say)?;
    let before = sites(set, &trackers, analyzer, &baseline_files, report);
    let after = sites(set, &trackers, analyzer, &current_files, report);
    let index = |t: usize| {
        trackers
            .iter()
            .position(|&x| x == t)
            .expect("collected above")
    };
    let mut out = Vec::new();
    for &m in &chosen {
        let migration = &set.migrations[m];
        let (old, new) = (
            gather(&before, &migration.from, &index),
            gather(&after, &migration.from, &index),
        );
        let count = |side: &HashMap<&str, Vec<&Site>>| side.values().map(Vec::len).sum::<usize>();
        let mut new_sites = Vec::new();
        for (path, sites) in &new {
            // A site is new when the baseline's file has fewer sites with the same code.
            let mut left: HashMap<&str, usize> = HashMap::new();
            for s in old.get(path).into_iter().flatten() {
                *left.entry(s.code.as_str()).or_default() += 1;
            }
            let mut sites: Vec<&Site> = sites.clone();
            sites.sort_by_key(|s| s.line);
            for s in sites {
                match left.get_mut(s.code.as_str()) {
                    Some(n) if *n > 0 => *n -= 1,
                    _ => new_sites.push((path.to_string(), s.clone())),
                }
            }
        }
        new_sites.sort_by(|a, b| (&a.0, a.1.line).cmp(&(&b.0, b.1.line)));
        out.push(MigrationCheck {
            name: migration.name.clone(),
            baseline: count(&old),
            current: count(&new),
            new_sites,
        });
    }
    Ok(out)
}

/// A side given on the command line, resolved.
pub fn resolve_commit(repo: &Repo, rev: &str) -> Result<String> {
    repo.resolve(rev)?
        .with_context(|| format!("revision `{rev}`: the repository has no commits yet"))
}
