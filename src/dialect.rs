//! The dialect table: which file extensions exist, which grammar parses each, and the fallback.
//!
//! One table, read everywhere (difftastic's `TreeSitterConfig` idea): adding a dialect is one
//! entry here and one query file under `queries/`.

use std::fmt;

/// A tree-sitter grammar patmine can parse with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grammar {
    JavaScript,
    TypeScript,
    Tsx,
}

impl Grammar {
    pub const ALL: [Grammar; 3] = [Grammar::JavaScript, Grammar::TypeScript, Grammar::Tsx];

    pub fn name(self) -> &'static str {
        match self {
            Grammar::JavaScript => "javascript",
            Grammar::TypeScript => "typescript",
            Grammar::Tsx => "tsx",
        }
    }

    pub fn language(self) -> tree_sitter::Language {
        match self {
            Grammar::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Grammar::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Grammar::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
        }
    }

    /// File name of this grammar's root query under `queries/`.
    pub fn query_file(self) -> &'static str {
        match self {
            Grammar::JavaScript => "javascript.scm",
            Grammar::TypeScript => "typescript.scm",
            Grammar::Tsx => "tsx.scm",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Grammar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A source dialect, decided by file extension. Kept as a dimension of the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dialect {
    Js,
    Mjs,
    Cjs,
    Jsx,
    Ts,
    Tsx,
}

/// One row of the dialect table.
pub struct DialectSpec {
    pub dialect: Dialect,
    pub extension: &'static str,
    pub grammar: Grammar,
    /// Grammar to try when the primary parse has too many ERROR/MISSING nodes.
    pub fallback: Option<Grammar>,
}

pub const DIALECTS: [DialectSpec; 6] = [
    DialectSpec {
        dialect: Dialect::Js,
        extension: "js",
        grammar: Grammar::JavaScript,
        fallback: Some(Grammar::Tsx),
    },
    DialectSpec {
        dialect: Dialect::Mjs,
        extension: "mjs",
        grammar: Grammar::JavaScript,
        fallback: Some(Grammar::Tsx),
    },
    DialectSpec {
        dialect: Dialect::Cjs,
        extension: "cjs",
        grammar: Grammar::JavaScript,
        fallback: Some(Grammar::Tsx),
    },
    DialectSpec {
        dialect: Dialect::Jsx,
        extension: "jsx",
        grammar: Grammar::JavaScript,
        fallback: None,
    },
    DialectSpec {
        dialect: Dialect::Ts,
        extension: "ts",
        grammar: Grammar::TypeScript,
        fallback: None,
    },
    DialectSpec {
        dialect: Dialect::Tsx,
        extension: "tsx",
        grammar: Grammar::Tsx,
        fallback: None,
    },
];

impl Dialect {
    pub const ALL: [Dialect; 6] = [
        Dialect::Js,
        Dialect::Mjs,
        Dialect::Cjs,
        Dialect::Jsx,
        Dialect::Ts,
        Dialect::Tsx,
    ];

    /// The dialect of a path, from its extension (case-sensitive, like the ecosystem's tools).
    pub fn from_path(path: &[u8]) -> Option<Dialect> {
        let name = match path.iter().rposition(|&b| b == b'/') {
            Some(i) => &path[i + 1..],
            None => path,
        };
        let dot = name.iter().rposition(|&b| b == b'.')?;
        let ext = &name[dot + 1..];
        // `.d.ts` declaration files are types only; they still parse as TypeScript.
        DIALECTS
            .iter()
            .find(|d| d.extension.as_bytes() == ext)
            .map(|d| d.dialect)
    }

    pub fn from_name(name: &str) -> Option<Dialect> {
        DIALECTS
            .iter()
            .find(|d| d.extension == name)
            .map(|d| d.dialect)
    }

    pub fn spec(self) -> &'static DialectSpec {
        &DIALECTS[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.spec().extension
    }

    pub fn grammar(self) -> Grammar {
        self.spec().grammar
    }

    pub fn fallback(self) -> Option<Grammar> {
        self.spec().fallback
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Every source file under `fixtures/` with its dialect and bytes, for tests that run over all
/// of them.
#[cfg(test)]
pub(crate) fn fixture_sources() -> Vec<(Dialect, Vec<u8>)> {
    let mut sources = Vec::new();
    let mut stack = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("fixtures are readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if let Some(dialect) = Dialect::from_path(path.as_os_str().as_encoded_bytes()) {
                sources.push((dialect, std::fs::read(&path).expect("read")));
            }
        }
    }
    sources
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_indexed_by_dialect() {
        for (i, spec) in DIALECTS.iter().enumerate() {
            assert_eq!(spec.dialect as usize, i);
        }
    }

    #[test]
    fn extensions_map_to_dialects() {
        assert_eq!(Dialect::from_path(b"src/a.js"), Some(Dialect::Js));
        assert_eq!(Dialect::from_path(b"a.mjs"), Some(Dialect::Mjs));
        assert_eq!(Dialect::from_path(b"x/y.cjs"), Some(Dialect::Cjs));
        assert_eq!(Dialect::from_path(b"App.jsx"), Some(Dialect::Jsx));
        assert_eq!(Dialect::from_path(b"types.d.ts"), Some(Dialect::Ts));
        assert_eq!(Dialect::from_path(b"App.tsx"), Some(Dialect::Tsx));
        assert_eq!(Dialect::from_path(b"README.md"), None);
        assert_eq!(Dialect::from_path(b"dir.js/file"), None);
        assert_eq!(Dialect::from_path(b"Makefile"), None);
        assert_eq!(Dialect::Js.fallback(), Some(Grammar::Tsx));
        assert_eq!(Dialect::Ts.fallback(), None);
    }
}
