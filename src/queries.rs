//! Root queries: which nodes are pattern roots, per grammar, from the `.scm` files in `queries/`.
//!
//! The defaults are compiled into the binary; `--queries DIR` replaces them with a directory
//! holding the same three file names.

use std::path::{Path, PathBuf};

use tree_sitter::Query;

use crate::dialect::Grammar;

#[derive(Debug, thiserror::Error)]
pub enum QueryLoadError {
    #[error("cannot read query file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("bad query {file}:{line}:{column}: {kind} error: {message}")]
    Compile {
        file: String,
        line: usize,
        column: usize,
        kind: String,
        message: String,
    },
}

/// The compiled root query of one grammar.
pub struct RootQuery {
    pub query: Query,
    /// Capture index -> root kind (the capture's name: `call`, `declaration`, ...).
    pub kinds: Vec<String>,
    pub source_text: String,
}

/// One root query per grammar, indexed by `Grammar::index`.
pub struct QuerySet {
    by_grammar: Vec<RootQuery>,
}

fn builtin_text(grammar: Grammar) -> &'static str {
    match grammar {
        Grammar::JavaScript => include_str!("../queries/javascript.scm"),
        Grammar::TypeScript => include_str!("../queries/typescript.scm"),
        Grammar::Tsx => include_str!("../queries/tsx.scm"),
    }
}

impl QuerySet {
    pub fn builtin() -> Result<QuerySet, QueryLoadError> {
        Self::build(|g| {
            Ok((
                format!("<built-in>/{}", g.query_file()),
                builtin_text(g).to_string(),
            ))
        })
    }

    pub fn load_dir(dir: &Path) -> Result<QuerySet, QueryLoadError> {
        Self::build(|g| {
            let path = dir.join(g.query_file());
            let text = std::fs::read_to_string(&path).map_err(|source| QueryLoadError::Read {
                path: path.clone(),
                source,
            })?;
            Ok((path.display().to_string(), text))
        })
    }

    fn build(
        mut read: impl FnMut(Grammar) -> Result<(String, String), QueryLoadError>,
    ) -> Result<QuerySet, QueryLoadError> {
        let mut by_grammar = Vec::with_capacity(Grammar::ALL.len());
        for grammar in Grammar::ALL {
            let (file, text) = read(grammar)?;
            let query =
                Query::new(&grammar.language(), &text).map_err(|e| QueryLoadError::Compile {
                    file: file.clone(),
                    line: e.row + 1,
                    column: e.column + 1,
                    kind: format!("{:?}", e.kind).to_lowercase(),
                    message: e.message.clone(),
                })?;
            let kinds = query
                .capture_names()
                .iter()
                .map(|n| n.to_string())
                .collect();
            by_grammar.push(RootQuery {
                query,
                kinds,
                source_text: text,
            });
        }
        Ok(QuerySet { by_grammar })
    }

    pub fn get(&self, grammar: Grammar) -> &RootQuery {
        &self.by_grammar[grammar.index()]
    }

    /// All query texts, for the configuration fingerprint.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.by_grammar.iter().map(|q| q.source_text.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_queries_compile() {
        let set = QuerySet::builtin().unwrap();
        assert!(
            set.get(Grammar::JavaScript)
                .kinds
                .contains(&"call".to_string())
        );
        assert!(set.get(Grammar::Tsx).kinds.contains(&"type".to_string()));
    }

    #[test]
    fn a_bad_query_names_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        for g in Grammar::ALL {
            std::fs::write(dir.path().join(g.query_file()), "(call_expression) @call\n").unwrap();
        }
        std::fs::write(
            dir.path().join("typescript.scm"),
            "(call_expression) @call\n(no_such_node) @x\n",
        )
        .unwrap();
        let err = QuerySet::load_dir(dir.path()).err().unwrap().to_string();
        assert!(err.contains("typescript.scm:2:2"), "{err}");
    }
}
