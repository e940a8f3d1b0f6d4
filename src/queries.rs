//! Root queries: which nodes are pattern roots, per grammar, from the `.scm` files in `queries/`.
//!
//! The defaults are compiled into the binary; `--queries DIR` replaces them with a directory
//! holding the same three file names.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
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

/// The root query of one grammar, with the node-kind metrics appended as captures named
/// `metric.<kind>`, so one pass finds roots and counts kinds.
pub struct RootQuery {
    grammar: Grammar,
    matcher: Matcher,
    /// Capture index -> root kind (the capture's name: `call`, `declaration`, ...).
    pub kinds: Vec<std::sync::Arc<str>>,
    /// Capture index -> index into `METRIC_KINDS` for the appended metric captures.
    pub metric_of_capture: Vec<Option<u8>>,
    /// The query file's own text (what the fingerprint covers).
    pub source_text: String,
}

/// How the roots of a query are found.
enum Matcher {
    /// Every pattern is a plain `(kind) @c`, `"token" @c` or `(parent (kind) @c)`: the walk over
    /// the tree finds the captures, at a fraction of the query cursor's cost.
    Simple(SimpleMatcher),
    /// Any other query: tree-sitter's query cursor.
    Cursor(Query),
}

/// Whether a query text is known to compile.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    /// The built-in queries (tests compile them): a simple one is not compiled at run time,
    /// since tree-sitter's query analysis is costly at start-up (docs/performance.md) and its
    /// result would go unused.
    BuiltIn,
    /// A query file: compiled, so that a bad one is reported with its line and column.
    File,
}

/// The captures of a query made only of single-node patterns (optionally with a parent), indexed
/// by node kind id.
pub struct SimpleMatcher {
    /// Node kind id -> (required parent kind id, capture index) pairs.
    by_kind: Vec<Vec<(Option<u16>, u32)>>,
}

impl SimpleMatcher {
    /// The capture indexes matching a node of `kind_id` whose parent is `parent_kind_id`.
    pub fn captures(
        &self,
        kind_id: u16,
        parent_kind_id: Option<u16>,
    ) -> impl Iterator<Item = u32> + '_ {
        self.by_kind
            .get(kind_id as usize)
            .into_iter()
            .flatten()
            .filter(move |(parent, _)| parent.is_none() || *parent == parent_kind_id)
            .map(|(_, capture)| *capture)
    }

    /// Reads the query text; `None` when any pattern is more than a simple one. Returns the
    /// matcher and the capture names by index, numbered as tree-sitter numbers them: in order of
    /// first appearance.
    pub(crate) fn parse(
        text: &str,
        language: &tree_sitter::Language,
    ) -> Option<(SimpleMatcher, Vec<String>)> {
        let mut names: Vec<String> = Vec::new();
        let mut capture_index = |name: &str| -> u32 {
            let index = names.iter().position(|n| n == name).unwrap_or_else(|| {
                names.push(name.to_string());
                names.len() - 1
            });
            index as u32
        };
        let mut tokens: Vec<String> = Vec::new();
        for line in text.lines() {
            let line = line.split(';').next().unwrap_or("");
            let mut rest = line;
            while let Some(c) = rest.chars().next() {
                if c.is_whitespace() {
                    rest = &rest[c.len_utf8()..];
                } else if c == '(' || c == ')' {
                    tokens.push(c.to_string());
                    rest = &rest[1..];
                } else if c == '"' {
                    let end = rest[1..].find('"')? + 2;
                    tokens.push(rest[..end].to_string());
                    rest = &rest[end..];
                } else {
                    let end = rest
                        .find(|c: char| c.is_whitespace() || c == '(' || c == ')')
                        .unwrap_or(rest.len());
                    tokens.push(rest[..end].to_string());
                    rest = &rest[end..];
                }
            }
        }
        // The node kinds a name matches, when the walk can match them kind id for kind id:
        // `None` for a wildcard (`_`), `ERROR`, a name the grammar lacks, or a supertype such as
        // `expression`. Those match nodes of other kind ids, so only tree-sitter's cursor is right.
        let ids_of = |name: &str, named: bool| -> Option<Vec<u16>> {
            let ids: Vec<u16> = (0..language.node_kind_count() as u16)
                .filter(|&id| {
                    language.node_kind_for_id(id) == Some(name)
                        && language.node_kind_is_named(id) == named
                })
                .collect();
            let exact = |&id: &u16| {
                language.node_kind_is_visible(id) && !language.node_kind_is_supertype(id)
            };
            (!ids.is_empty() && ids.iter().all(exact)).then_some(ids)
        };
        let node = |tokens: &[String]| -> Option<(Vec<u16>, usize)> {
            match tokens {
                [open, name, close, ..]
                    if open == "(" && close == ")" && !name.starts_with(['"', '@', '(']) =>
                {
                    Some((ids_of(name, true)?, 3))
                }
                [quoted, ..] if quoted.starts_with('"') => {
                    Some((ids_of(&quoted[1..quoted.len() - 1], false)?, 1))
                }
                _ => None,
            }
        };
        let mut by_kind: Vec<Vec<(Option<u16>, u32)>> =
            vec![Vec::new(); language.node_kind_count()];
        let mut i = 0;
        while i < tokens.len() {
            let (parents, kinds, used) = if let Some((kinds, used)) = node(&tokens[i..]) {
                (vec![None], kinds, used)
            } else if tokens[i] == "("
                && tokens
                    .get(i + 1)
                    .is_some_and(|t| !t.starts_with(['(', '"', '@']))
            {
                // (parent (kind) @capture)
                let parents: Vec<Option<u16>> = ids_of(&tokens[i + 1], true)?
                    .into_iter()
                    .map(Some)
                    .collect();
                let (kinds, used) = node(&tokens[i + 2..])?;
                let capture_at = i + 2 + used;
                if tokens.get(capture_at + 1).map(String::as_str) != Some(")") {
                    return None;
                }
                let capture = tokens.get(capture_at)?.strip_prefix('@')?;
                let index = capture_index(capture);
                for kind in &kinds {
                    for parent in &parents {
                        by_kind[*kind as usize].push((*parent, index));
                    }
                }
                i = capture_at + 2;
                continue;
            } else {
                return None;
            };
            let capture = tokens.get(i + used)?.strip_prefix('@')?;
            let index = capture_index(capture);
            for kind in &kinds {
                for parent in &parents {
                    by_kind[*kind as usize].push((*parent, index));
                }
            }
            i += used + 1;
        }
        Some((SimpleMatcher { by_kind }, names))
    }
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

impl RootQuery {
    fn compile(
        grammar: Grammar,
        file: &str,
        text: String,
        source: Source,
    ) -> Result<RootQuery, QueryLoadError> {
        let language = grammar.language();
        // The metric patterns go after the file's own text, so error positions stay its own.
        let full_text = format!("{text}{}", metric_patterns(&language));
        let (matcher, names) = match SimpleMatcher::parse(&full_text, &language) {
            Some((simple, names)) if source == Source::BuiltIn => (Matcher::Simple(simple), names),
            simple => {
                let query = compile_query(&language, file, &full_text)?;
                let names: Vec<String> = query
                    .capture_names()
                    .iter()
                    .map(|n| n.to_string())
                    .collect();
                match simple {
                    // Numbered as tree-sitter numbers them; were they ever not, the cursor
                    // would still be right.
                    Some((simple, simple_names)) if simple_names == names => {
                        (Matcher::Simple(simple), names)
                    }
                    _ => (Matcher::Cursor(query), names),
                }
            }
        };
        let metric_of_capture = names
            .iter()
            .map(|name| {
                let kind = name.strip_prefix("metric.")?;
                METRIC_KINDS
                    .iter()
                    .position(|k| *k == kind)
                    .map(|i| i as u8)
            })
            .collect();
        Ok(RootQuery {
            grammar,
            matcher,
            kinds: names.iter().map(|n| n.as_str().into()).collect(),
            metric_of_capture,
            source_text: text,
        })
    }

    /// The matcher of a query whose patterns are all simple ones.
    pub fn simple(&self) -> Option<&SimpleMatcher> {
        match &self.matcher {
            Matcher::Simple(simple) => Some(simple),
            Matcher::Cursor(_) => None,
        }
    }

    /// The compiled query, for tree-sitter's query cursor, when the query is not a simple one.
    pub fn cursor_query(&self) -> Option<&Query> {
        match &self.matcher {
            Matcher::Simple(_) => None,
            Matcher::Cursor(query) => Some(query),
        }
    }
}

fn compile_query(
    language: &tree_sitter::Language,
    file: &str,
    full_text: &str,
) -> Result<Query, QueryLoadError> {
    Query::new(language, full_text).map_err(|e| QueryLoadError::Compile {
        file: file.to_string(),
        line: e.row + 1,
        column: e.column + 1,
        kind: format!("{:?}", e.kind).to_lowercase(),
        // One line: for a syntax error tree-sitter adds a caret under the line it quotes.
        message: e
            .message
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string(),
    })
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
        Self::build(Source::BuiltIn, |g| {
            Ok((
                format!("<built-in>/{}", g.query_file()),
                builtin_text(g).to_string(),
            ))
        })
    }

    pub fn load_dir(dir: &Path) -> Result<QuerySet, QueryLoadError> {
        Self::build(Source::File, |g| {
            let path = dir.join(g.query_file());
            let text = std::fs::read_to_string(&path).map_err(|source| QueryLoadError::Read {
                path: path.clone(),
                source,
            })?;
            Ok((path.display().to_string(), text))
        })
    }

    /// Reads the three query texts in order, then builds them in parallel (compiling a query
    /// file is slow; the built-in queries are not compiled). The first file that fails, in
    /// grammar order, is the error.
    fn build(
        source: Source,
        mut read: impl FnMut(Grammar) -> Result<(String, String), QueryLoadError>,
    ) -> Result<QuerySet, QueryLoadError> {
        let mut texts = Vec::with_capacity(Grammar::ALL.len());
        for grammar in Grammar::ALL {
            texts.push((grammar, read(grammar)?));
        }
        let compiled: Vec<Result<RootQuery, QueryLoadError>> = texts
            .into_par_iter()
            .map(|(grammar, (file, text))| RootQuery::compile(grammar, &file, text, source))
            .collect();
        let by_grammar = compiled.into_iter().collect::<Result<_, _>>()?;
        Ok(QuerySet { by_grammar })
    }

    /// The same queries, always run through tree-sitter's query cursor (to test the simple path
    /// against it).
    pub fn without_simple_matchers(mut self) -> Result<QuerySet, QueryLoadError> {
        for q in &mut self.by_grammar {
            let language = q.grammar.language();
            let full_text = format!("{}{}", q.source_text, metric_patterns(&language));
            q.matcher = Matcher::Cursor(compile_query(&language, "<cursor>", &full_text)?);
        }
        Ok(self)
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
    fn builtin_queries_take_the_simple_path_and_others_do_not() {
        let set = QuerySet::builtin().unwrap();
        for g in Grammar::ALL {
            assert!(set.get(g).simple().is_some(), "{g}");
        }
        let language = Grammar::JavaScript.language();
        let text = "(call_expression function: (identifier) @f) @call\n";
        assert!(SimpleMatcher::parse(text, &language).is_none());
        let text = "((identifier) @i (#eq? @i \"x\"))\n";
        assert!(SimpleMatcher::parse(text, &language).is_none());
    }

    #[test]
    fn builtin_queries_compile_and_number_their_captures_as_tree_sitter_does() {
        // At run time the built-in queries are not compiled: this is the check that they would.
        let set = QuerySet::builtin().unwrap();
        assert!(set.get(Grammar::JavaScript).kinds.contains(&"call".into()));
        assert!(set.get(Grammar::Tsx).kinds.contains(&"type".into()));
        let compiled = QuerySet::builtin()
            .unwrap()
            .without_simple_matchers()
            .unwrap();
        for g in Grammar::ALL {
            let query = compiled.get(g).cursor_query().expect("compiled");
            let names: Vec<&str> = query.capture_names().to_vec();
            let simple: Vec<&str> = set.get(g).kinds.iter().map(|k| &**k).collect();
            assert_eq!(simple, names, "{g}");
            assert_eq!(
                set.get(g).metric_of_capture,
                compiled.get(g).metric_of_capture
            );
        }
    }

    #[test]
    fn query_files_are_compiled_and_simple_ones_still_take_the_simple_path() {
        let dir = tempfile::tempdir().unwrap();
        for g in Grammar::ALL {
            std::fs::write(dir.path().join(g.query_file()), builtin_text(g)).unwrap();
        }
        let set = QuerySet::load_dir(dir.path()).unwrap();
        let builtin = QuerySet::builtin().unwrap();
        for g in Grammar::ALL {
            assert!(set.get(g).simple().is_some(), "{g}");
            assert_eq!(set.get(g).kinds, builtin.get(g).kinds, "{g}");
        }
        std::fs::write(
            dir.path().join("javascript.scm"),
            "(call_expression function: (identifier) @f) @call\n",
        )
        .unwrap();
        let set = QuerySet::load_dir(dir.path()).unwrap();
        let query = set.get(Grammar::JavaScript);
        assert!(query.simple().is_none() && query.cursor_query().is_some());
        assert_eq!(&*query.kinds[0], "f");
    }

    #[test]
    fn wildcards_errors_and_supertypes_go_through_the_query_cursor() {
        use crate::analyze::Analyzer;
        use crate::dialect::Dialect;
        use crate::normalize::NormalizeOptions;
        use crate::rules::Rulebook;
        // Each query alone: one whose only pattern the walk cannot match kind id for kind id
        // must find, through the cursor, the roots the cursor finds (the walk found none).
        let source = b"const a = f(1) + g;\nlet = = 2;\nh();\n";
        for (text, kind) in [
            ("(_) @any\n", "any"),
            ("(ERROR) @error\n", "error"),
            ("(expression) @expression\n", "expression"),
            ("(program (_) @top)\n", "top"),
        ] {
            assert!(
                SimpleMatcher::parse(text, &Grammar::JavaScript.language()).is_none(),
                "{text}"
            );
            let dir = tempfile::tempdir().unwrap();
            for g in Grammar::ALL {
                std::fs::write(dir.path().join(g.query_file()), text).unwrap();
            }
            let set = QuerySet::load_dir(dir.path()).unwrap();
            assert!(
                set.get(Grammar::JavaScript).cursor_query().is_some(),
                "{text}"
            );
            let analyzer = Analyzer::new(set, Rulebook::builtin(), NormalizeOptions::default(), 5);
            let found = analyzer.analyze(source, Dialect::Js).unwrap();
            assert!(
                found.patterns.iter().any(|p| &*p.kind == kind),
                "{text}: no `{kind}` root in {:?}",
                found.patterns
            );
        }
        // A concrete kind still takes the walk.
        let text = "(program (expression_statement) @statement)\n";
        assert!(SimpleMatcher::parse(text, &Grammar::JavaScript.language()).is_some());
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
