//! Turning what a user types for a revision (`HEAD`, `main`, `HEAD~10`, `v1.2.0^{}`, a short
//! id, a tag, a date) into a commit of a history: one of its analysed first-parent chain, or one
//! off it (a tag on a release branch, a merged branch's commit), whose tree `revision_tree`
//! analyses.
//!
//! The repository the history was read from (its git directory is the history's identity)
//! resolves what git resolves; the database answers tags and id prefixes of analysed commits,
//! and tags of trees analysed before, when the repository is gone; a date picks the last analysed
//! commit at or before it.

use std::path::Path;

use anyhow::Result;

use crate::git::Repo;
use crate::store::{CommitRef, RepoRow, Store};

/// The commit a revision resolved to, and how to show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Its position on the analysed chain; `None` off it.
    pub seq: Option<i64>,
    pub id: String,
    /// The revision as typed, with the short id when it was not one already.
    pub label: String,
}

/// Why a revision names no analysed commit. The CLI prints it on one line.
#[derive(Debug, thiserror::Error)]
pub enum RevisionError {
    #[error(
        "revision `{rev}` is commit {short}, which is off the analysed first-parent chain of {repo} (run `patmine history` again if it is newer than the analysed tip)"
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

/// Resolves `rev` to a commit of the analysed chain of `repo`; a commit off it is an error
/// (for the answers only the chain holds: a migration's releases and commits).
pub fn resolve_on_chain(store: &Store, repo: &RepoRow, rev: &str) -> Result<(i64, Resolved)> {
    let found = resolve(store, repo, rev)?;
    match found.seq {
        Some(seq) => Ok((seq, found)),
        None => Err(RevisionError::NotAnalysed {
            rev: rev.to_string(),
            short: found.id[..found.id.len().min(10)].to_string(),
            repo: repo.name.clone(),
        }
        .into()),
    }
}

/// Resolves `rev` to a commit of `repo`: on its analysed chain, or off it.
pub fn resolve(store: &Store, repo: &RepoRow, rev: &str) -> Result<Resolved> {
    let with_label = |seq: Option<i64>, id: String| {
        let short = &id[..id.len().min(10)];
        let label = if id.starts_with(&rev.to_ascii_lowercase()) || rev == short {
            rev.to_string()
        } else {
            format!("{rev} ({short})")
        };
        Resolved { seq, id, label }
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
                let seq = store.find_commit(repo.repo_id, &id)?.map(|c| c.seq);
                return Ok(with_label(seq, id));
            }
            Ok(None) => "the repository has no commits".to_string(),
            Err(e) => format!("{e:#}"),
        },
        Err(e) => format!("{e:#}"),
    };
    if let Some(CommitRef { seq, id }) = store.find_commit(repo.repo_id, rev)? {
        return Ok(with_label(Some(seq), id));
    }
    // A tag off the chain whose tree was analysed before answers without the repository.
    if let Some((_, id)) = store
        .all_tags(repo.repo_id)?
        .into_iter()
        .find(|(name, _)| name == rev)
        && store.revision_tree(repo.repo_id, &id)?.is_some()
    {
        return Ok(with_label(None, id));
    }
    match crate::git::parse_date(rev) {
        Ok(time) => match store.commit_at_time(repo.repo_id, time)? {
            Some(CommitRef { seq, id }) => Ok(with_label(Some(seq), id)),
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
