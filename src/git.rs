//! Git plumbing over gix: the first-parent walk, tree diffs and blob reads, yielding plain values
//! (hex ids, paths, bytes). Nothing outside this module touches gix types.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use gix::objs::tree::EntryKind;
use gix::prelude::Find;

use crate::dialect::Dialect;

/// One commit of the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: String,
    pub tree: String,
    pub first_parent: Option<String>,
    pub author: String,
    pub author_time: i64,
    pub committer_time: i64,
    pub subject: String,
}

/// A JS/TS blob at a path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobAt {
    pub id: String,
    pub dialect: Dialect,
}

/// One path that differs between a commit's tree and its parent's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub old: Option<BlobAt>,
    pub new: Option<BlobAt>,
}

/// The first-parent chain from a tip, oldest first, and what cut it short.
#[derive(Debug, Default)]
pub struct Walk {
    pub commits: Vec<CommitInfo>,
    /// Set when the walk stopped at a shallow clone's boundary (the id of the last commit).
    pub shallow_boundary: Option<String>,
    /// Set when a parent commit object is missing (damaged or partial clone).
    pub missing_parent: Option<String>,
}

pub struct Repo {
    repo: gix::Repository,
    sync: gix::ThreadSafeRepository,
}

fn hex_id(id: &gix::oid) -> String {
    id.to_hex().to_string()
}

fn parse_id(hex: &str) -> Result<gix::ObjectId> {
    gix::ObjectId::from_hex(hex.as_bytes()).map_err(|e| anyhow!("bad object id {hex}: {e}"))
}

impl Repo {
    pub fn open(path: &Path) -> Result<Repo> {
        let mut repo =
            gix::open(path).with_context(|| format!("{}: not a git repository", path.display()))?;
        repo.object_cache_size_if_unset(32 * 1024 * 1024);
        let sync = repo.clone().into_sync();
        Ok(Repo { repo, sync })
    }

    /// The repository holding `path`, looking upwards from it as git does (for commands run
    /// from inside a working tree).
    pub fn discover(path: &Path) -> Result<Repo> {
        let mut repo = gix::discover(path)
            .with_context(|| format!("{}: not inside a git repository", path.display()))?;
        repo.object_cache_size_if_unset(32 * 1024 * 1024);
        let sync = repo.clone().into_sync();
        Ok(Repo { repo, sync })
    }

    /// The working tree's top directory, if the repository has one.
    pub fn work_dir(&self) -> Option<&Path> {
        self.repo.workdir()
    }

    /// A stable name for the repository: its common git directory, canonicalized.
    pub fn identity(&self) -> String {
        let dir = self.repo.common_dir();
        dir.canonicalize()
            .unwrap_or_else(|_| dir.to_path_buf())
            .display()
            .to_string()
    }

    /// Resolves a revision (`HEAD`, a tag, a branch, a sha) to a commit id; `None` for an unborn HEAD.
    pub fn resolve(&self, rev: &str) -> Result<Option<String>> {
        if rev == "HEAD" && self.repo.head_id().is_err() {
            return Ok(None);
        }
        let id = self
            .repo
            .rev_parse_single(rev)
            .map_err(|e| anyhow!("cannot resolve revision `{rev}`: {e}"))?;
        let commit = id
            .object()
            .and_then(|o| o.peel_to_commit())
            .map_err(|e| anyhow!("revision `{rev}` does not name a commit: {e}"))?;
        Ok(Some(hex_id(&commit.id)))
    }

    /// The root tree of a commit.
    pub fn commit_tree(&self, commit: &str) -> Result<String> {
        let (id, commit) = self.find_commit(commit)?;
        let tree = commit
            .tree_id()
            .map_err(|e| anyhow!("commit {id}: cannot read its tree: {e}"))?;
        Ok(hex_id(&tree.detach()))
    }

    /// A commit's committer time, in Unix seconds.
    pub fn commit_time(&self, commit: &str) -> Result<i64> {
        let (id, commit) = self.find_commit(commit)?;
        let time = commit
            .time()
            .map_err(|e| anyhow!("commit {id}: cannot read its time: {e}"))?;
        Ok(time.seconds)
    }

    fn find_commit(&self, commit: &str) -> Result<(gix::ObjectId, gix::Commit<'_>)> {
        let id = parse_id(commit)?;
        let found = self
            .repo
            .find_commit(id)
            .map_err(|e| anyhow!("commit {id}: cannot read: {e}"))?;
        Ok((id, found))
    }

    /// Walks first parents from `tip` back to the root, a shallow boundary, or a missing commit.
    pub fn first_parent_walk(&self, tip: &str) -> Result<Walk> {
        let shallow = self
            .repo
            .shallow_commits()
            .context("reading the shallow file")?;
        let mut walk = Walk::default();
        let mut buf = Vec::new();
        let mut next = Some(parse_id(tip)?);
        while let Some(id) = next.take() {
            let data = match self.repo.objects.try_find(&id, &mut buf) {
                Ok(Some(data)) => data,
                Ok(None) => {
                    if walk.commits.is_empty() {
                        return Err(anyhow!("commit {id} is missing from the object database"));
                    }
                    walk.missing_parent = Some(hex_id(&id));
                    break;
                }
                Err(e) => return Err(anyhow!("commit {id}: cannot read: {e}")),
            };
            let commit = gix::objs::CommitRef::from_bytes(data.data, data.object_hash)
                .map_err(|e| anyhow!("commit {id}: cannot decode: {e}"))?;
            let author = commit.author().ok();
            let committer_time = commit.committer().map(|c| c.seconds()).unwrap_or(0);
            let first_parent = commit.parents().next();
            walk.commits.push(CommitInfo {
                id: hex_id(&id),
                tree: hex_id(&commit.tree()),
                first_parent: first_parent.map(|p| hex_id(&p)),
                author: author
                    .map(|a| format!("{} <{}>", a.name, a.email))
                    .unwrap_or_default(),
                author_time: author.map(|a| a.seconds()).unwrap_or(0),
                committer_time,
                subject: commit.message().summary().to_string(),
            });
            let at_boundary = shallow
                .as_ref()
                .is_some_and(|s| s.binary_search(&id).is_ok());
            if at_boundary {
                walk.shallow_boundary = Some(hex_id(&id));
                break;
            }
            next = first_parent;
        }
        walk.commits.reverse();
        Ok(walk)
    }

    /// Tags pointing (after peeling) at commits: commit id -> tag names.
    pub fn tags(&self) -> Result<HashMap<String, Vec<String>>> {
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        let refs = self.repo.references().context("listing references")?;
        for reference in refs.tags().context("listing tags")? {
            let Ok(mut reference) = reference else {
                continue;
            };
            let name = reference.name().shorten().to_string();
            let Ok(commit) = reference.peel_to_commit() else {
                continue;
            };
            out.entry(hex_id(&commit.id)).or_default().push(name);
        }
        for names in out.values_mut() {
            names.sort();
        }
        Ok(out)
    }

    /// The JS/TS paths that differ between two trees (`old` None: the empty tree). Symlinks and
    /// submodules (gitlinks) are not content and are left out. `keep_path` filters paths.
    /// Missing trees are reported through `missing` and treated as empty.
    pub fn diff_trees(
        &self,
        old: Option<&str>,
        new: &str,
        keep_path: &dyn Fn(&str) -> bool,
        missing: &mut dyn FnMut(String),
    ) -> Result<Vec<Change>> {
        let mut changes = Vec::new();
        let mut stack: Vec<(String, Option<gix::ObjectId>, Option<gix::ObjectId>)> = vec![(
            String::new(),
            old.map(parse_id).transpose()?,
            Some(parse_id(new)?),
        )];
        while let Some((prefix, old_tree, new_tree)) = stack.pop() {
            if old_tree == new_tree {
                continue;
            }
            let old_entries = self.tree_entries(old_tree, &prefix, missing)?;
            let new_entries = self.tree_entries(new_tree, &prefix, missing)?;
            let mut merged: HashMap<&[u8], (Option<&Entry>, Option<&Entry>)> = HashMap::new();
            for e in &old_entries {
                merged.entry(&e.name).or_default().0 = Some(e);
            }
            for e in &new_entries {
                merged.entry(&e.name).or_default().1 = Some(e);
            }
            let mut names: Vec<&[u8]> = merged.keys().copied().collect();
            names.sort();
            for name in names {
                let (o, n) = merged[name];
                if let (Some(o), Some(n)) = (o, n)
                    && o.id == n.id
                    && o.kind == n.kind
                {
                    continue;
                }
                let path = if prefix.is_empty() {
                    String::from_utf8_lossy(name).into_owned()
                } else {
                    format!("{prefix}/{}", String::from_utf8_lossy(name))
                };
                let tree_of =
                    |e: Option<&Entry>| e.filter(|e| e.kind == EntryKind::Tree).map(|e| e.id);
                let (old_sub, new_sub) = (tree_of(o), tree_of(n));
                if old_sub.is_some() || new_sub.is_some() {
                    stack.push((path.clone(), old_sub, new_sub));
                }
                let Some(dialect) = Dialect::from_path(name) else {
                    continue;
                };
                let blob_of = |e: Option<&Entry>| {
                    e.filter(|e| matches!(e.kind, EntryKind::Blob | EntryKind::BlobExecutable))
                        .map(|e| BlobAt {
                            id: hex_id(&e.id),
                            dialect,
                        })
                };
                let (old_blob, new_blob) = (blob_of(o), blob_of(n));
                if old_blob != new_blob && keep_path(&path) {
                    changes.push(Change {
                        path,
                        old: old_blob,
                        new: new_blob,
                    });
                }
            }
        }
        changes.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(changes)
    }

    fn tree_entries(
        &self,
        tree: Option<gix::ObjectId>,
        prefix: &str,
        missing: &mut dyn FnMut(String),
    ) -> Result<Vec<Entry>> {
        let Some(id) = tree else {
            return Ok(Vec::new());
        };
        let mut buf = Vec::new();
        let data = match self.repo.objects.try_find(&id, &mut buf) {
            Ok(Some(data)) => data,
            Ok(None) => {
                let at = if prefix.is_empty() {
                    "the root".to_string()
                } else {
                    format!("`{prefix}`")
                };
                missing(format!(
                    "tree {id} at {at} is missing; its files are left out"
                ));
                return Ok(Vec::new());
            }
            Err(e) => return Err(anyhow!("tree {id}: cannot read: {e}")),
        };
        let mut entries = Vec::new();
        for entry in gix::objs::TreeRefIter::from_bytes(data.data, data.object_hash) {
            let entry = entry.map_err(|e| anyhow!("tree {id}: cannot decode: {e}"))?;
            entries.push(Entry {
                name: entry.filename.to_vec(),
                id: entry.oid.to_owned(),
                kind: entry.mode.kind(),
            });
        }
        Ok(entries)
    }
}

struct Entry {
    name: Vec<u8>,
    id: gix::ObjectId,
    kind: EntryKind,
}

/// Reads blobs; one per thread.
pub struct BlobReader {
    repo: gix::Repository,
    buf: Vec<u8>,
}

impl BlobReader {
    /// The blob's bytes; `Ok(None)` when the object is missing.
    pub fn read(&mut self, id: &str) -> Result<Option<&[u8]>> {
        let oid = parse_id(id)?;
        match self.repo.objects.try_find(&oid, &mut self.buf) {
            Ok(Some(data)) => Ok(Some(data.data)),
            Ok(None) => Ok(None),
            Err(e) => Err(anyhow!("blob {id}: cannot read: {e}")),
        }
    }

    /// The blob's size from its header, without inflating it; `Ok(None)` when missing.
    pub fn size(&self, id: &str) -> Result<Option<u64>> {
        let oid = parse_id(id)?;
        match self.repo.try_find_header(oid) {
            Ok(Some(header)) => Ok(Some(header.size())),
            Ok(None) => Ok(None),
            Err(e) => Err(anyhow!("blob {id}: cannot read header: {e}")),
        }
    }
}

/// A `Sync` handle on the repository, for handing out per-thread blob readers.
pub struct SharedRepo {
    sync: gix::ThreadSafeRepository,
}

impl SharedRepo {
    pub fn reader(&self) -> BlobReader {
        let mut repo = self.sync.to_thread_local();
        repo.object_cache_size_if_unset(4 * 1024 * 1024);
        BlobReader {
            repo,
            buf: Vec::new(),
        }
    }
}

impl Repo {
    pub fn shared(&self) -> SharedRepo {
        SharedRepo {
            sync: self.sync.clone(),
        }
    }
}

/// Parses a date the way git does: ISO dates and times, RFC 2822, Unix seconds, and relative
/// forms such as `2 years ago`. Returns Unix seconds.
pub fn parse_date(text: &str) -> Result<i64> {
    let time = gix::date::parse(text, Some(gix::date::Zoned::now()))
        .map_err(|e| anyhow!("cannot read date `{text}`: {e}"))?;
    Ok(time.seconds)
}
