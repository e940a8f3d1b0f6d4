//! Turning what a user types for a revision (`HEAD`, `main`, `HEAD~10`, `v1.2.0^{}`, a short
//! id, a tag, a date) into a commit of an analysed history.
//!
//! The repository the history was read from (its git directory is the history's identity)
//! resolves what git resolves; the database answers tags and id prefixes of analysed commits
//! when the repository is gone; a date picks the last analysed commit at or before it.

use std::path::Path;

use anyhow::Result;

use crate::git::Repo;
use crate::store::{CommitRef, RepoRow, Store};

/// An analysed commit a revision resolved to, and how to show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub seq: i64,
    pub id: String,
    /// The revision as typed, with the short id when it was not one already.
    pub label: String,
}

/// Why a revision names no analysed commit. The CLI prints it on one line.
#[derive(Debug, thiserror::Error)]
pub enum RevisionError {
    #[error(
        "revision `{rev}` is commit {short}, which is not an analysed commit of {repo}: it is newer than the analysed tip (run `patmine history` again) or off the first-parent chain"
    )]
    NotAnalysed {
        rev: String,
        short: String,
        repo: String,
    },
    #[error("revision `{rev}`: no analysed commit of {repo} is at or before that date")]
    BeforeHistory { rev: String, repo: String },
    #[error(
        "revision `{rev}` names no commit of {repo}, no analysed tag or commit, and no date ({reason})"
    )]
    Unknown {
        rev: String,
        repo: String,
        reason: String,
    },
}

/// Resolves `rev` to an analysed commit of `repo`.
pub fn resolve(store: &Store, repo: &RepoRow, rev: &str) -> Result<Resolved> {
    let with_label = |found: CommitRef| {
        let short = &found.id[..found.id.len().min(10)];
        let label = if found.id.starts_with(&rev.to_ascii_lowercase()) || rev == short {
            rev.to_string()
        } else {
            format!("{rev} ({short})")
        };
        Resolved {
            seq: found.seq,
            id: found.id,
            label,
        }
    };
    // Git first, as git itself prefers a ref to a short id (a branch named `cafe`). The
    // repository may be gone or moved since the history was read; then the database's tags and
    // id prefixes, and dates, still answer.
    // The working tree the command runs in, when it belongs to this repository: a linked
    // worktree has a HEAD of its own, which the common git directory does not know.
    let here = Repo::discover(Path::new("."))
        .ok()
        .filter(|r| r.identity() == repo.identity);
    let git_reason = match here.map_or_else(|| Repo::open(Path::new(&repo.identity)), Ok) {
        Ok(git) => match git.resolve(rev) {
            Ok(Some(id)) => {
                return match store.find_commit(repo.repo_id, &id)? {
                    Some(found) => Ok(with_label(found)),
                    None => Err(RevisionError::NotAnalysed {
                        rev: rev.to_string(),
                        short: id[..id.len().min(10)].to_string(),
                        repo: repo.name.clone(),
                    }
                    .into()),
                };
            }
            Ok(None) => "the repository has no commits".to_string(),
            Err(e) => format!("{e:#}"),
        },
        Err(e) => format!("{e:#}"),
    };
    if let Some(found) = store.find_commit(repo.repo_id, rev)? {
        return Ok(with_label(found));
    }
    match crate::git::parse_date(rev) {
        Ok(time) => match store.commit_at_time(repo.repo_id, time)? {
            Some(found) => Ok(with_label(found)),
            None => Err(RevisionError::BeforeHistory {
                rev: rev.to_string(),
                repo: repo.name.clone(),
            }
            .into()),
        },
        Err(_) => Err(RevisionError::Unknown {
            rev: rev.to_string(),
            repo: repo.name.clone(),
            reason: git_reason,
        }
        .into()),
    }
}
