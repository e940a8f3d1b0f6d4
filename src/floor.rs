//! Parse-only baselines for benchmarks: the same files (or unique git blobs) that `scan` (or
//! `history`) would analyse, read, filtered and parsed with tree-sitter, and nothing else.
//! The distance between these and the real commands is what normalizing and storing cost.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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
    // Handed out as the scan hands out its files: in chunks, so that the workers end together.
    let (parsed, bytes) = (AtomicUsize::new(0), AtomicU64::new(0));
    crate::chunks::for_each_chunk(candidates.len(), crate::scan::CHUNK_FILES, |range| {
        let (mut chunk_parsed, mut chunk_bytes) = (0, 0);
        for candidate in &candidates[range] {
            if filter.check_path(&candidate.rel).is_some() {
                continue;
            }
            let Ok(data) = std::fs::read(&candidate.path) else {
                continue;
            };
            if filter.check_size(data.len() as u64).is_some()
                || filter.check_content(&data).is_some()
            {
                continue;
            }
            chunk_parsed += usize::from(parse_only(&data, candidate.dialect).is_ok());
            chunk_bytes += data.len() as u64;
        }
        parsed.fetch_add(chunk_parsed, Ordering::Relaxed);
        bytes.fetch_add(chunk_bytes, Ordering::Relaxed);
        true
    });
    let (parsed, bytes) = (parsed.into_inner(), bytes.into_inner());
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
