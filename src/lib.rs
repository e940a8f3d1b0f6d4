//! patmine: mines the idioms of JavaScript and TypeScript code and tracks how they change
//! across a project's git history.
//!
//! Pipeline stages, one module each, none of which knows the CLI:
//! `dialect` (which grammar) → `filter` (what to skip) → `analyze` (parse, roots via `queries`,
//! signatures via `normalize` and `rules`) → `store` (DuckDB) → `phrasebook` (ranked output).
//! `scan` drives the stages over a directory; `history` over git history, through `git`, with
//! per-commit `deltas`.

/// The hash maps on the hot path: pattern texts, signature and content hashes, node ids. foldhash
/// hashes these short keys several times faster than the standard SipHash, and is seeded per
/// process, as SipHash is.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
pub type FastSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;

pub mod analyze;
pub mod blobs;
pub mod check;
mod chunks;
mod columns;
mod crash;
pub mod deltas;
pub mod dialect;
pub mod discovery;
pub mod filter;
pub mod floor;
pub mod git;
pub mod history;
pub mod level;
pub mod migrations;
pub mod normalize;
pub mod output;
pub mod phrasebook;
mod pipeline;
pub mod progress;
pub mod queries;
pub mod releases;
pub mod report;
pub mod revision;
pub mod revision_tree;
pub mod rules;
pub mod scan;
pub mod store;
pub mod trackers;
pub mod tree_walk;
pub mod versions;
pub mod yaml_limits;
