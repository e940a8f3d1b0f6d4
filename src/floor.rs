//! Parse-only baselines for benchmarks: the same files (or unique git blobs) that `scan` (or
//! `history`) would analyse, read, filtered and parsed with tree-sitter, and nothing else.
//! The distance between these and the real commands is what normalizing and storing cost.

use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use rayon::prelude::*;
use serde::Serialize;

use crate::analyze::parse_only;
use crate::filter::Filter;
use crate::git::{BlobAt, Repo};

#[derive(Debug, Default, Serialize)]
pub struct FloorResult {
    pub files: usize,
    pub parsed: usize,
    pub bytes: u64,
    pub seconds: f64,
}

/// Reads, filters and parses every file `scan` would analyse under `root`.
pub fn files(root: &Path, filter: &Filter) -> Result<FloorResult> {
    let started = Instant::now();
    let candidates = crate::scan::discover(root, &mut |line| eprintln!("patmine: {line}"));
    let (parsed, bytes) = candidates
        .par_iter()
        .filter(|c| filter.check_path(&c.rel).is_none())
        .filter_map(|c| std::fs::read(&c.path).ok().map(|b| (b, c.dialect)))
        .filter(|(b, _)| {
            filter.check_size(b.len() as u64).is_none() && filter.check_content(b).is_none()
        })
        .map(|(b, d)| (usize::from(parse_only(&b, d).is_ok()), b.len() as u64))
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    Ok(FloorResult {
        files: candidates.len(),
        parsed,
        bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Walks the first-parent history from `rev` and parses each unique JS/TS blob once.
pub fn history(repo_path: &Path, rev: &str, filter: &Filter) -> Result<FloorResult> {
    let started = Instant::now();
    let repo = Repo::open(repo_path)?;
    let Some(tip) = repo.resolve(rev)? else {
        return Ok(FloorResult::default());
    };
    let walk = repo.first_parent_walk(&tip)?;
    let keep_path = |p: &str| filter.check_path(p).is_none();
    let mut unique: HashSet<BlobAt> = HashSet::new();
    let mut previous: Option<&str> = None;
    for commit in &walk.commits {
        for change in repo.diff_trees(previous, &commit.tree, &keep_path, &mut |_| {})? {
            if let Some(new) = change.new {
                unique.insert(new);
            }
        }
        previous = Some(&commit.tree);
    }
    let blobs: Vec<BlobAt> = unique.into_iter().collect();
    let shared = repo.shared();
    let (parsed, bytes) = blobs
        .par_iter()
        .map_init(
            || shared.reader(),
            |reader, blob| {
                let Ok(Some(data)) = reader.read(&blob.id) else {
                    return (0, 0);
                };
                if filter.check_size(data.len() as u64).is_some()
                    || filter.check_content(data).is_some()
                {
                    return (0, 0);
                }
                (
                    usize::from(parse_only(data, blob.dialect).is_ok()),
                    data.len() as u64,
                )
            },
        )
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    Ok(FloorResult {
        files: blobs.len(),
        parsed,
        bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}
