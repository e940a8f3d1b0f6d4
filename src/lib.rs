//! patmine: mines the idioms of JavaScript and TypeScript code and tracks how they change
//! across a project's git history.
//!
//! Pipeline stages, one module each, none of which knows the CLI:
//! `dialect` (which grammar) → `filter` (what to skip) → `analyze` (parse, roots via `queries`,
//! signatures via `normalize` and `rules`) → `store` (DuckDB) → `phrasebook` (ranked output).
//! `scan` drives the stages over a directory; `history` over git history, through `git`, with
//! per-commit `deltas`.
//!
//! Without the `cli` feature (on by default) only the analysis core builds: dialects, filters,
//! parsing, the normalizer, rulebooks and trackers, with no git, database or allocator of its
//! own. The fuzz targets (`fuzz/`) build that way.

/// The hash maps on the hot path: pattern texts, signature and content hashes, node ids. foldhash
/// hashes these short keys several times faster than the standard SipHash, and is seeded per
/// process, as SipHash is.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
pub type FastSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;

pub mod analyze;
#[cfg(feature = "cli")]
pub mod blobs;
#[cfg(feature = "cli")]
pub mod check;
#[cfg(feature = "cli")]
mod chunks;
#[cfg(feature = "cli")]
mod columns;
#[cfg(feature = "cli")]
mod crash;
#[cfg(feature = "cli")]
pub mod deltas;
pub mod dialect;
#[cfg(feature = "cli")]
pub mod discovery;
pub mod filter;
#[cfg(feature = "cli")]
pub mod floor;
#[cfg(feature = "cli")]
pub mod git;
#[cfg(feature = "cli")]
pub mod history;
pub mod level;
#[cfg(feature = "cli")]
pub mod migrations;
pub mod normalize;
#[cfg(feature = "cli")]
pub mod output;
#[cfg(feature = "cli")]
pub mod phrasebook;
#[cfg(feature = "cli")]
mod pipeline;
#[cfg(feature = "cli")]
pub mod progress;
pub mod queries;
#[cfg(feature = "cli")]
pub mod releases;
#[cfg(feature = "cli")]
pub mod repair;
#[cfg(feature = "cli")]
pub mod report;
#[cfg(feature = "cli")]
pub mod revision;
#[cfg(feature = "cli")]
pub mod revision_tree;
pub mod rules;
#[cfg(feature = "cli")]
pub mod scan;
#[cfg(feature = "cli")]
pub mod store;
pub mod trackers;
pub mod tree_walk;
pub mod versions;
pub mod yaml_limits;
