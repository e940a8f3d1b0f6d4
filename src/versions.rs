//! The versions that shape a count: patmine's own, the normalizer's, and the parser and grammar
//! crates' (as Cargo.lock pins them, read by build.rs). The cache fingerprint and `--version`
//! both come from here, so they cannot disagree.

use crate::normalize::NORMALIZER_VERSION;

/// The crate versions a parse depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParserVersions {
    pub tree_sitter: &'static str,
    pub javascript: &'static str,
    pub typescript: &'static str,
    /// The ABI version of the tree-sitter library (what the grammars are generated against).
    pub language_abi: usize,
}

/// The versions this binary was built with.
pub const PARSERS: ParserVersions = ParserVersions {
    tree_sitter: env!("PATMINE_TREE_SITTER_VERSION"),
    javascript: env!("PATMINE_TREE_SITTER_JAVASCRIPT_VERSION"),
    typescript: env!("PATMINE_TREE_SITTER_TYPESCRIPT_VERSION"),
    language_abi: tree_sitter::LANGUAGE_VERSION,
};

impl ParserVersions {
    /// One line for the cache fingerprint: the versions, and each grammar's shape as the loaded
    /// grammar reports it (ABI, node kinds, fields, parse states), which moves with almost any
    /// change to a grammar even in a build whose lock file said otherwise.
    pub fn fingerprint_line(&self) -> String {
        let mut line = format!(
            "tree-sitter {} abi {} javascript {} typescript {}",
            self.tree_sitter, self.language_abi, self.javascript, self.typescript
        );
        for grammar in crate::dialect::Grammar::ALL {
            let language = grammar.language();
            line.push_str(&format!(
                " {grammar}:{}/{}/{}/{}",
                language.abi_version(),
                language.node_kind_count(),
                language.field_count(),
                language.parse_state_count()
            ));
        }
        line.push('\n');
        line
    }
}

/// `patmine --version`: patmine's version, then what its counts depend on.
pub fn long_version() -> String {
    format!(
        "{}\nnormalizer {NORMALIZER_VERSION}\ntree-sitter {} (language ABI {})\ntree-sitter-javascript {}\ntree-sitter-typescript {}",
        env!("CARGO_PKG_VERSION"),
        PARSERS.tree_sitter,
        PARSERS.language_abi,
        PARSERS.javascript,
        PARSERS.typescript,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_versions_are_the_locked_ones() {
        // An independent read of Cargo.lock: the `name`/`version` lines of each package.
        let lock = include_str!("../Cargo.lock");
        let locked = |name: &str| {
            let mut lines = lock.lines();
            while let Some(line) = lines.next() {
                if line == format!("name = \"{name}\"") {
                    return lines.next().map(|v| v.to_string());
                }
            }
            None
        };
        assert_eq!(
            locked("tree-sitter"),
            Some(format!("version = \"{}\"", PARSERS.tree_sitter))
        );
        assert_eq!(
            locked("tree-sitter-javascript"),
            Some(format!("version = \"{}\"", PARSERS.javascript))
        );
        assert_eq!(
            locked("tree-sitter-typescript"),
            Some(format!("version = \"{}\"", PARSERS.typescript))
        );
        let version = long_version();
        assert!(version.contains(PARSERS.javascript) && version.contains(PARSERS.typescript));
    }
}
