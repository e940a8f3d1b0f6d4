//! Analysis of one piece of content: parse (with the dialect's fallback grammar), find the
//! pattern roots, normalize them, and count patterns and node kinds.
//!
//! Knows nothing of files, git or storage: bytes and a dialect in, a `FileAnalysis` out.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};
use tree_sitter::{Node, Parser, QueryCursor, StreamingIterator, Tree};

use crate::dialect::{Dialect, Grammar};
use crate::normalize::{self, NORMALIZER_VERSION, NormalizeOptions};
use crate::queries::QuerySet;
use crate::rules::Rulebook;

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

pub type Metrics = [u32; METRIC_KINDS.len()];

/// Pattern roots deeper than this in the tree are not looked for. tree-sitter's query cursor
/// keeps depths in 16 bits and slows to a crawl past 32,768 levels; no real code nests a pattern
/// root this deep, and generated code that does is still parsed and its node kinds counted.
pub const MAX_ROOT_DEPTH: u32 = 10_000;

/// One pattern's counts within one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternCount {
    pub abstract_id: String,
    pub semantic_id: String,
    pub abstract_text: String,
    pub semantic_text: String,
    pub kind: String,
    pub occurrences: u32,
    /// 1-based line of the first occurrence, for example locations.
    pub first_line: u32,
}

/// Everything patmine keeps about one piece of content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileAnalysis {
    pub grammar: Grammar,
    pub error_nodes: u32,
    /// Non-blank lines.
    pub loc: u32,
    pub patterns: Vec<PatternCount>,
    pub metrics: Metrics,
    /// The tree is deeper than `MAX_ROOT_DEPTH`: roots below that depth were not counted.
    pub too_deep: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error("tree-sitter could not set the {0} grammar: {1}")]
    Language(Grammar, String),
    #[error("tree-sitter returned no tree ({0} grammar)")]
    NoTree(Grammar),
}

/// The analysis configuration: queries, rulebook, normalizer options. Shared by all threads.
pub struct Analyzer {
    queries: QuerySet,
    rules: Rulebook,
    options: NormalizeOptions,
    /// A `.js` parse with more ERROR/MISSING nodes than this is retried with the fallback grammar.
    fallback_threshold: u32,
    /// Per grammar: node kind id -> index into `METRIC_KINDS`.
    metric_tables: Vec<Vec<Option<u8>>>,
    fingerprint: String,
}

thread_local! {
    static PARSERS: RefCell<Vec<Option<Parser>>> = const { RefCell::new(Vec::new()) };
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

impl Analyzer {
    pub fn new(
        queries: QuerySet,
        rules: Rulebook,
        options: NormalizeOptions,
        fallback_threshold: u32,
    ) -> Analyzer {
        let metric_tables = Grammar::ALL
            .iter()
            .map(|g| metric_table(&g.language()))
            .collect();
        let mut hasher = Sha256::new();
        hasher.update(format!("normalizer {NORMALIZER_VERSION}\n").as_bytes());
        hasher.update(format!("{options:?} fallback>{fallback_threshold}\n").as_bytes());
        hasher.update(rules.canonical_text().as_bytes());
        for text in queries.texts() {
            hasher.update(b"\n--query--\n");
            hasher.update(text.as_bytes());
        }
        let fingerprint = hex(&hasher.finalize()[..8]);
        Analyzer {
            queries,
            rules,
            options,
            fallback_threshold,
            metric_tables,
            fingerprint,
        }
    }

    /// The default configuration: built-in queries and rulebook.
    pub fn builtin() -> Analyzer {
        let queries = QuerySet::builtin().expect("built-in queries compile (tested)");
        Analyzer::new(queries, Rulebook::builtin(), NormalizeOptions::default(), 0)
    }

    /// Fingerprint of rulebook, queries and normalizer version: part of every cache key.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    pub fn rules(&self) -> &Rulebook {
        &self.rules
    }

    /// Parses `source` as `dialect` and counts its patterns and node kinds.
    pub fn analyze(&self, source: &[u8], dialect: Dialect) -> Result<FileAnalysis, AnalyzeError> {
        let primary = dialect.grammar();
        let tree = parse(primary, source)?;
        let (mut errors, mut metrics, mut depth) = self.walk(&tree, primary);
        let mut chosen = (primary, tree);
        if errors > self.fallback_threshold
            && let Some(fallback) = dialect.fallback()
        {
            let other = parse(fallback, source)?;
            let (other_errors, other_metrics, other_depth) = self.walk(&other, fallback);
            if other_errors < errors {
                chosen = (fallback, other);
                errors = other_errors;
                metrics = other_metrics;
                depth = other_depth;
            }
        }
        let (grammar, tree) = chosen;
        let patterns = self.patterns(&tree, grammar, source);
        Ok(FileAnalysis {
            grammar,
            error_nodes: errors,
            loc: count_loc(source),
            patterns,
            metrics,
            too_deep: depth > MAX_ROOT_DEPTH,
        })
    }

    /// One pre-order pass over the whole tree: ERROR/MISSING nodes, node-kind metrics, depth.
    fn walk(&self, tree: &Tree, grammar: Grammar) -> (u32, Metrics, u32) {
        let table = &self.metric_tables[grammar.index()];
        let mut metrics = [0u32; METRIC_KINDS.len()];
        let mut errors = 0u32;
        let (mut depth, mut max_depth) = (0u32, 0u32);
        let mut cursor = tree.walk();
        loop {
            let node = cursor.node();
            if node.is_error() || node.is_missing() {
                errors += 1;
            }
            if let Some(Some(i)) = table.get(node.kind_id() as usize) {
                metrics[*i as usize] += 1;
            }
            if cursor.goto_first_child() {
                depth += 1;
                max_depth = max_depth.max(depth);
                continue;
            }
            loop {
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    return (errors, metrics, max_depth);
                }
                depth -= 1;
            }
        }
    }

    /// Every pattern root of a parsed tree with its signatures, in source order.
    fn occurrences(&self, tree: &Tree, grammar: Grammar, source: &[u8]) -> Vec<Occurrence> {
        let root_query = self.queries.get(grammar);
        let mut roots: Vec<(Node<'_>, u32)> = Vec::new();
        let mut cursor = QueryCursor::new();
        cursor.set_max_start_depth(Some(MAX_ROOT_DEPTH));
        let mut matches = cursor.matches(&root_query.query, tree.root_node(), source);
        while let Some(m) = matches.next() {
            for capture in m.captures() {
                roots.push((capture.node, capture.index));
            }
        }
        // Outer nodes first, so a chain's outermost call marks the calls inside it.
        roots.sort_by_key(|(n, _)| (n.start_byte(), std::cmp::Reverse(n.end_byte())));
        roots.dedup_by_key(|(n, _)| n.id());

        let mut chain_inner: HashSet<usize> = HashSet::new();
        let mut found = Vec::with_capacity(roots.len());
        for (node, capture) in roots {
            if node.kind() == "call_expression" {
                if chain_inner.contains(&node.id()) {
                    continue;
                }
                mark_chain(node, &mut chain_inner);
            }
            found.push(Occurrence {
                kind: root_query.kinds[capture as usize].clone(),
                line: node.start_position().row as u32 + 1,
                signature: normalize::normalize(node, source, &self.rules, &self.options),
            });
        }
        found
    }

    fn patterns(&self, tree: &Tree, grammar: Grammar, source: &[u8]) -> Vec<PatternCount> {
        let mut counts: HashMap<(String, String, String), (u32, u32)> = HashMap::new();
        for occ in self.occurrences(tree, grammar, source) {
            let key = (
                occ.signature.abstract_text,
                occ.signature.semantic_text,
                occ.kind,
            );
            counts.entry(key).or_insert((0, occ.line)).0 += 1;
        }
        let mut patterns: Vec<PatternCount> = counts
            .into_iter()
            .map(
                |((abstract_text, semantic_text, kind), (occurrences, first_line))| PatternCount {
                    abstract_id: sha256_hex(abstract_text.as_bytes()),
                    semantic_id: sha256_hex(semantic_text.as_bytes()),
                    abstract_text,
                    semantic_text,
                    kind,
                    occurrences,
                    first_line,
                },
            )
            .collect();
        patterns.sort_by(|a, b| {
            (&a.abstract_text, &a.semantic_text, &a.kind).cmp(&(
                &b.abstract_text,
                &b.semantic_text,
                &b.kind,
            ))
        });
        patterns
    }

    /// Every pattern occurrence of `source`, in source order: what `patmine explain` prints.
    pub fn explain(
        &self,
        source: &[u8],
        dialect: Dialect,
    ) -> Result<(Grammar, Vec<Occurrence>), AnalyzeError> {
        let analysis_grammar = self.analyze(source, dialect)?.grammar;
        let tree = parse(analysis_grammar, source)?;
        Ok((
            analysis_grammar,
            self.occurrences(&tree, analysis_grammar, source),
        ))
    }
}

/// One pattern root found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    pub kind: String,
    /// 1-based line.
    pub line: u32,
    pub signature: normalize::Signature,
}

/// Marks the calls on the callee side of `call` (`a.b()` in `a.b().c()`): they are links of
/// one chain, counted once through the outermost call.
fn mark_chain(call: Node<'_>, inner: &mut HashSet<usize>) {
    let mut current = call.child_by_field_name("function");
    while let Some(node) = current {
        current = match node.kind() {
            "call_expression" => {
                if !inner.insert(node.id()) {
                    break;
                }
                node.child_by_field_name("function")
            }
            "member_expression" | "subscript_expression" => node.child_by_field_name("object"),
            "non_null_expression" => node.named_child(0),
            _ => None,
        };
    }
}

fn parse(grammar: Grammar, source: &[u8]) -> Result<Tree, AnalyzeError> {
    PARSERS.with(|cell| {
        let mut parsers = cell.borrow_mut();
        if parsers.is_empty() {
            parsers.resize_with(Grammar::ALL.len(), || None);
        }
        let slot = &mut parsers[grammar.index()];
        if slot.is_none() {
            let mut parser = Parser::new();
            parser
                .set_language(&grammar.language())
                .map_err(|e| AnalyzeError::Language(grammar, e.to_string()))?;
            *slot = Some(parser);
        }
        let parser = slot.as_mut().expect("set above");
        parser
            .parse(source, None)
            .ok_or(AnalyzeError::NoTree(grammar))
    })
}

/// Parses only: the floor every analysis pays, for benchmarks.
pub fn parse_only(source: &[u8], dialect: Dialect) -> Result<usize, AnalyzeError> {
    let tree = parse(dialect.grammar(), source)?;
    Ok(tree.root_node().child_count() as usize)
}

fn metric_table(language: &tree_sitter::Language) -> Vec<Option<u8>> {
    let count = language.node_kind_count();
    let mut table = vec![None; count];
    for id in 0..count as u16 {
        let Some(name) = language.node_kind_for_id(id) else {
            continue;
        };
        let named = language.node_kind_is_named(id);
        let keyword = matches!(name, "var" | "let" | "const");
        if keyword == named {
            continue;
        }
        if let Some(i) = METRIC_KINDS.iter().position(|k| *k == name) {
            table[id as usize] = Some(i as u8);
        }
    }
    table
}

fn count_loc(source: &[u8]) -> u32 {
    source
        .split(|&b| b == b'\n')
        .filter(|line| line.iter().any(|b| !b.is_ascii_whitespace()))
        .count() as u32
}
