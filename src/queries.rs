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

/// Node kinds counted in every file, named exactly as tree-sitter names them (`var`, `let` and
/// `const` are the keyword tokens of declarations).
pub const METRIC_KINDS: [&str; 19] = [
    "var",
    "let",
    "const",
    "function_declaration",
    "function_expression",
    "arrow_function",
    "method_definition",
    "class_declaration",
    "if_statement",
    "switch_statement",
    "ternary_expression",
    "for_statement",
    "for_in_statement",
    "while_statement",
    "do_statement",
    "try_statement",
    "throw_statement",
    "await_expression",
    "comment",
];

/// The compiled root query of one grammar, with the node-kind metrics appended as captures
/// named `metric.<kind>`, so one pass of the query cursor finds roots and counts kinds.
pub struct RootQuery {
    pub query: Query,
    /// Capture index -> root kind (the capture's name: `call`, `declaration`, ...).
    pub kinds: Vec<String>,
    /// Capture index -> index into `METRIC_KINDS` for the appended metric captures.
    pub metric_of_capture: Vec<Option<u8>>,
    /// The query file's own text (what the fingerprint covers).
    pub source_text: String,
}

/// Query patterns capturing every node of the metric kinds this grammar has.
fn metric_patterns(language: &tree_sitter::Language) -> String {
    let mut text = String::from("\n");
    for kind in METRIC_KINDS {
        let anonymous = matches!(kind, "var" | "let" | "const");
        if language.id_for_node_kind(kind, !anonymous) == 0 {
            continue;
        }
        if anonymous {
            text.push_str(&format!("\"{kind}\" @metric.{kind}\n"));
        } else {
            text.push_str(&format!("({kind}) @metric.{kind}\n"));
        }
    }
    text
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
            let language = grammar.language();
            // The metric patterns go after the file's own text, so error positions stay its own.
            let full_text = format!("{text}{}", metric_patterns(&language));
            let query = Query::new(&language, &full_text).map_err(|e| QueryLoadError::Compile {
                file: file.clone(),
                line: e.row + 1,
                column: e.column + 1,
                kind: format!("{:?}", e.kind).to_lowercase(),
                message: e.message.clone(),
            })?;
            let kinds: Vec<String> = query.capture_names().iter().map(|n| n.to_string()).collect();
            let metric_of_capture = kinds
                .iter()
                .map(|name| {
                    let kind = name.strip_prefix("metric.")?;
                    METRIC_KINDS.iter().position(|k| *k == kind).map(|i| i as u8)
                })
                .collect();
            by_grammar.push(RootQuery {
                query,
                kinds,
                metric_of_capture,
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
