//! The two levels a signature is written at: **abstract** (identifiers as placeholders) and
//! **semantic** (identifiers mapped through the rulebook). See docs/signatures.md.

use serde::Serialize;

/// Which signature level patterns are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Abstract,
    Semantic,
}

impl Level {
    pub const BOTH: [Level; 2] = [Level::Abstract, Level::Semantic];

    /// The name users type and the database stores.
    pub fn name(self) -> &'static str {
        match self {
            Level::Abstract => "abstract",
            Level::Semantic => "semantic",
        }
    }

    /// The `blob_patterns` column holding a pattern's signature at this level.
    pub fn id_column(self) -> &'static str {
        match self {
            Level::Abstract => "abstract_sig",
            Level::Semantic => "semantic_sig",
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
