//! Analysis of one piece of content: parse (with the dialect's fallback grammar), find the
//! pattern roots, normalize them, and count patterns and node kinds.
//!
//! Knows nothing of files, git or storage: bytes and a dialect in, a `FileAnalysis` out.

use std::cell::RefCell;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tree_sitter::{ParseOptions, Parser, QueryCursor, StreamingIterator, Tree, TreeCursor};

use crate::dialect::{Dialect, Grammar};
use crate::normalize::{self, NORMALIZER_VERSION, NormalizeOptions, Vocabulary};
use crate::queries::QuerySet;
use crate::rules::Rulebook;
use crate::tree_walk::{self, FlatNode, FlatTree, FlattenError};
use crate::{FastMap, FastSet};

pub use crate::queries::METRIC_KINDS;

pub type Metrics = [u32; METRIC_KINDS.len()];

/// Pattern roots deeper than this in the tree are not looked for. tree-sitter's query cursor
/// keeps depths in 16 bits and slows to a crawl past 32,768 levels; no real code nests a pattern
/// root this deep, and generated code that does is still parsed and its node kinds counted.
pub const MAX_ROOT_DEPTH: u32 = 10_000;

/// A `.js` parse with more ERROR/MISSING nodes than this is retried with the fallback grammar
/// (the seed's figure). A few errors are usually a typo or an unsupported proposal, which the
/// fallback does not fix; Flow or TypeScript syntax gives many.
pub const DEFAULT_FALLBACK_THRESHOLD: u32 = 5;

/// How long one parse of one file may take before it is given up (`--parse-budget`). Real
/// files parse in milliseconds (the largest of vuejs/core's blobs in tens of them); pathological
/// ones (tens of thousands of nested generics) take minutes, growing with the square of the
/// depth, and one such blob would stall a whole history.
pub const DEFAULT_PARSE_BUDGET: Duration = Duration::from_secs(10);

/// Token buffers up to this many tokens (16 MiB) are kept from one file to the next.
const MAX_KEPT_TOKENS: usize = 1 << 18;

/// Flat node lists up to this many nodes (14 MiB) are kept from one file to the next.
const MAX_KEPT_NODES: usize = 1 << 18;

/// One pattern's counts within one file. (The pattern id, the SHA-256 of a signature, is
/// computed where a signature is first stored, not for every file that has it.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternCount {
    /// The abstract signature followed by the semantic one (one allocation for both).
    texts: Box<str>,
    abstract_len: u32,
    /// The root query's capture name.
    pub kind: Arc<str>,
    pub occurrences: u32,
    /// 1-based line of the first occurrence, for example locations.
    pub first_line: u32,
}

impl PatternCount {
    pub fn abstract_text(&self) -> &str {
        &self.texts[..self.abstract_len as usize]
    }

    pub fn semantic_text(&self) -> &str {
        &self.texts[self.abstract_len as usize..]
    }
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
    /// Names the reason as reports name a skip (`parse-timeout`).
    #[error(
        "parse-timeout: the {0} parse took longer than the parse budget of {1:?} (--parse-budget)"
    )]
    Timeout(Grammar, Duration),
    #[error(transparent)]
    Walk(#[from] FlattenError),
}

/// The analysis configuration: queries, rulebook, normalizer options. Shared by all threads.
pub struct Analyzer {
    queries: QuerySet,
    rules: Rulebook,
    options: NormalizeOptions,
    /// A `.js` parse with more ERROR/MISSING nodes than this is retried with the fallback grammar.
    fallback_threshold: u32,
    /// Longest one parse may take; not part of the fingerprint, since a parse over budget is
    /// never stored as analysed.
    parse_budget: Option<Duration>,
    fingerprint: String,
    /// Per grammar: the kinds and fields of call chains.
    chains: Vec<ChainKinds>,
    /// Per grammar: its node-kind and field names.
    vocabularies: Vec<Vocabulary>,
}

thread_local! {
    static PARSERS: RefCell<Vec<Option<Parser>>> = const { RefCell::new(Vec::new()) };
    /// The token buffer of this thread's last file, kept for the next (see `normalize::recycle`).
    static TOKENS: RefCell<Vec<normalize::Token<'static>>> = const { RefCell::new(Vec::new()) };
    /// The flat node list of this thread's last file, kept for the next.
    static NODES: RefCell<Vec<FlatNode>> = const { RefCell::new(Vec::new()) };
    /// The listed nodes as tree-sitter makes them, when the list is handed on.
    static RAW_NODES: RefCell<Vec<tree_sitter::ffi::TSNode>> = const { RefCell::new(Vec::new()) };
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&sha256(bytes))
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

/// Everything that shapes a blob's counts, hashed: the parser and grammar versions, the
/// normalizer's version and options, the rulebook and the root queries. Part of every cache key,
/// so a change to any of them never serves stale counts.
fn fingerprint(
    parsers: &crate::versions::ParserVersions,
    queries: &QuerySet,
    rules: &Rulebook,
    options: &NormalizeOptions,
    fallback_threshold: u32,
) -> String {
    let mut hasher = Sha256::new();
    hasher.update(format!("normalizer {NORMALIZER_VERSION}\n").as_bytes());
    hasher.update(parsers.fingerprint_line().as_bytes());
    hasher.update(format!("{options:?} fallback>{fallback_threshold}\n").as_bytes());
    hasher.update(rules.canonical_text().as_bytes());
    for text in queries.texts() {
        hasher.update(b"\n--query--\n");
        hasher.update(text.as_bytes());
    }
    hex(&hasher.finalize()[..8])
}

impl Analyzer {
    pub fn new(
        queries: QuerySet,
        rules: Rulebook,
        options: NormalizeOptions,
        fallback_threshold: u32,
    ) -> Analyzer {
        let fingerprint = fingerprint(
            &crate::versions::PARSERS,
            &queries,
            &rules,
            &options,
            fallback_threshold,
        );
        Analyzer {
            queries,
            rules,
            options,
            fallback_threshold,
            parse_budget: Some(DEFAULT_PARSE_BUDGET),
            fingerprint,
            chains: Grammar::ALL
                .iter()
                .map(|g| ChainKinds::new(&g.language()))
                .collect(),
            vocabularies: Grammar::ALL
                .iter()
                .map(|g| Vocabulary::new(&g.language()))
                .collect(),
        }
    }

    /// The default configuration: built-in queries and rulebook.
    pub fn builtin() -> Analyzer {
        let queries = QuerySet::builtin().expect("built-in queries compile (tested)");
        Analyzer::new(
            queries,
            Rulebook::builtin(),
            NormalizeOptions::default(),
            DEFAULT_FALLBACK_THRESHOLD,
        )
    }

    /// Gives up a parse that takes longer than `budget` (`None`: never).
    pub fn with_parse_budget(mut self, budget: Option<Duration>) -> Analyzer {
        self.parse_budget = budget;
        self
    }

    /// Fingerprint of everything that shapes a count (see `fingerprint`): part of every cache key.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    pub fn rules(&self) -> &Rulebook {
        &self.rules
    }

    /// Parses `source` as `dialect` and counts its patterns and node kinds.
    pub fn analyze(&self, source: &[u8], dialect: Dialect) -> Result<FileAnalysis, AnalyzeError> {
        self.analyze_and(source, dialect, |_, _| ())
            .map(|(analysis, ())| analysis)
    }

    /// `analyze`, then `also` on the same tree and the grammar that parsed it: how a history
    /// counts its trackers without a second parse.
    pub fn analyze_and<T>(
        &self,
        source: &[u8],
        dialect: Dialect,
        also: impl FnOnce(&Tree, Grammar) -> T,
    ) -> Result<(FileAnalysis, T), AnalyzeError> {
        self.analyze_then(source, dialect, false, |tree, grammar, _| {
            also(tree, grammar)
        })
    }

    /// `analyze_and`, with the analysis's own list of every visible node and its node handed to
    /// `also` (`FlatTree::visit`), so that a walk over them (the trackers') does not list them
    /// again. The analysis then reads the whole list, opaque nodes' insides included.
    pub fn analyze_listed<T>(
        &self,
        source: &[u8],
        dialect: Dialect,
        also: impl FnOnce(&Tree, Grammar, &FlatTree<'_, '_>) -> T,
    ) -> Result<(FileAnalysis, T), AnalyzeError> {
        self.analyze_then(source, dialect, true, |tree, grammar, flat| {
            also(tree, grammar, flat)
        })
    }

    fn analyze_then<T>(
        &self,
        source: &[u8],
        dialect: Dialect,
        with_nodes: bool,
        also: impl FnOnce(&Tree, Grammar, &FlatTree<'_, '_>) -> T,
    ) -> Result<(FileAnalysis, T), AnalyzeError> {
        let (grammar, tree, errors) = self.parse_best(source, dialect)?;
        let mut extra = None;
        let (patterns, metrics, depth) =
            self.patterns(&tree, grammar, source, with_nodes, |flat| {
                extra = Some(also(&tree, grammar, flat));
            })?;
        let extra = extra.expect("the analysis hands its list on once");
        let analysis = FileAnalysis {
            grammar,
            error_nodes: errors,
            loc: count_loc(source),
            patterns,
            metrics,
            too_deep: depth > MAX_ROOT_DEPTH as usize,
        };
        Ok((analysis, extra))
    }

    /// The tree `analyze` would read (fallback included), and its grammar.
    pub fn parse_tree(
        &self,
        source: &[u8],
        dialect: Dialect,
    ) -> Result<(Grammar, Tree), AnalyzeError> {
        let (grammar, tree, _) = self.parse_best(source, dialect)?;
        Ok((grammar, tree))
    }

    /// Parses with the dialect's grammar, and with its fallback when that has more ERROR/MISSING
    /// nodes than the threshold; the parse with fewer wins. Returns the grammar, tree and count.
    fn parse_best(
        &self,
        source: &[u8],
        dialect: Dialect,
    ) -> Result<(Grammar, Tree, u32), AnalyzeError> {
        let primary = dialect.grammar();
        let tree = parse(primary, source, self.parse_budget)?;
        let errors = count_errors(&tree);
        if errors > self.fallback_threshold
            && let Some(fallback) = dialect.fallback()
        {
            let other = parse(fallback, source, self.parse_budget)?;
            let other_errors = count_errors(&other);
            if other_errors < errors {
                return Ok((fallback, other, other_errors));
            }
        }
        Ok((primary, tree, errors))
    }

    /// Calls `found(capture index, line, signature)` for every pattern root of a parsed tree, in
    /// source order. Returns the node-kind metrics and the tree's depth.
    /// One walk over the tree finds the roots (through the simple matcher, or the query cursor
    /// for other queries), counts the node-kind metrics, and normalizes every root.
    fn for_each_root(
        &self,
        tree: &Tree,
        grammar: Grammar,
        source: &[u8],
        found: impl FnMut(u32, u32, &str, &str),
    ) -> Result<(Metrics, usize), AnalyzeError> {
        self.for_each_root_then(tree, grammar, source, false, found, |_| ())
    }

    /// `for_each_root`, then `after` with the flat list it walked; with `with_nodes`, the list
    /// holds every visible node and its node (see `tree_walk::flatten_tree_with_nodes`).
    fn for_each_root_then(
        &self,
        tree: &Tree,
        grammar: Grammar,
        source: &[u8],
        with_nodes: bool,
        found: impl FnMut(u32, u32, &str, &str),
        after: impl FnOnce(&FlatTree<'_, '_>),
    ) -> Result<(Metrics, usize), AnalyzeError> {
        // The walk reads nothing below an opaque node (a string's quotes and fragments, ...),
        // so the flat tree leaves their descendants out; a query cursor may capture anything.
        let opaque = match self.queries.get(grammar).cursor_query() {
            None if !with_nodes => self.vocabularies[grammar.index()].opaque_kinds(),
            _ => &[],
        };
        self.for_each_root_listing(tree, grammar, source, opaque, with_nodes, found, after)
    }

    /// `for_each_root` over a flat tree that leaves out the descendants of named nodes whose
    /// kind is marked in `opaque`.
    #[allow(clippy::too_many_arguments)]
    fn for_each_root_listing(
        &self,
        tree: &Tree,
        grammar: Grammar,
        source: &[u8],
        opaque: &[bool],
        with_nodes: bool,
        mut found: impl FnMut(u32, u32, &str, &str),
        after: impl FnOnce(&FlatTree<'_, '_>),
    ) -> Result<(Metrics, usize), AnalyzeError> {
        let root_query = self.queries.get(grammar);
        let vocabulary = &self.vocabularies[grammar.index()];
        let mut nodes = NODES.with(|cell| std::mem::take(&mut *cell.borrow_mut()));
        let mut raw = RAW_NODES.with(|cell| std::mem::take(&mut *cell.borrow_mut()));
        let flat = if with_nodes {
            tree_walk::flatten_tree_with_nodes(tree, &mut nodes, &mut raw)?
        } else {
            tree_walk::flatten_tree(tree, &mut nodes, opaque)?
        };
        let mut metrics = [0u32; METRIC_KINDS.len()];
        let buffer =
            normalize::recycle(TOKENS.with(|cell| std::mem::take(&mut *cell.borrow_mut())));
        // With the simple matcher, the walk finds the roots and counts the metrics as it goes;
        // otherwise the query cursor does, over the tokenized tree.
        let simple = root_query.simple();
        let (tokens, mut roots, depth) = normalize::tokenize(
            buffer,
            flat,
            source,
            vocabulary,
            &self.rules,
            &self.options,
            |kind_id, parent, depth, roots| {
                let Some(simple) = simple else { return };
                if depth > MAX_ROOT_DEPTH as usize {
                    return;
                }
                for capture in simple.captures(kind_id, parent) {
                    match root_query.metric_of_capture[capture as usize] {
                        Some(metric) => metrics[metric as usize] += 1,
                        None => roots.push(capture),
                    }
                }
            },
        );
        if let Some(query) = root_query.cursor_query() {
            let mut cursor = QueryCursor::new();
            cursor.set_max_start_depth(Some(MAX_ROOT_DEPTH));
            let mut matches = cursor.matches(query, tree.root_node(), source);
            while let Some(m) = matches.next() {
                for capture in m.captures() {
                    match root_query.metric_of_capture[capture.index as usize] {
                        Some(metric) => metrics[metric as usize] += 1,
                        None => roots.push(
                            normalize::root_of(&tokens, flat, capture.node, capture.index)
                                .ok_or(FlattenError::NotListed)?,
                        ),
                    }
                }
            }
        }
        // Outer nodes first, so a chain's outermost call marks the calls inside it.
        roots.sort_unstable_by_key(|r| {
            (r.bytes.0, std::cmp::Reverse(r.bytes.1), r.index, r.capture)
        });
        roots.dedup_by_key(|r| (r.index, r.capture));

        let chains = &self.chains[grammar.index()];
        let mut chain_inner: FastSet<u32> = FastSet::default();
        let (mut a, mut s) = (String::with_capacity(192), String::with_capacity(192));
        for root in &roots {
            if flat.nodes()[root.index as usize].kind_id() == chains.call {
                if chain_inner.contains(&root.index) {
                    continue;
                }
                chains.mark(flat, root.index as usize, &mut chain_inner);
            }
            normalize::render(&tokens, root, self.options.max_len, &mut a, &mut s);
            found(root.capture, root.line, &a, &s);
        }
        // Kept unless one huge file made them huge.
        if tokens.capacity() <= MAX_KEPT_TOKENS {
            TOKENS.with(|cell| *cell.borrow_mut() = normalize::recycle(tokens));
        }
        after(&flat);
        if nodes.capacity() <= MAX_KEPT_NODES {
            NODES.with(|cell| *cell.borrow_mut() = nodes);
        }
        if raw.capacity() <= MAX_KEPT_NODES {
            RAW_NODES.with(|cell| *cell.borrow_mut() = raw);
        }
        Ok((metrics, depth))
    }

    fn patterns(
        &self,
        tree: &Tree,
        grammar: Grammar,
        source: &[u8],
        with_nodes: bool,
        after: impl FnOnce(&FlatTree<'_, '_>),
    ) -> Result<(Vec<PatternCount>, Metrics, usize), AnalyzeError> {
        // Keyed by both texts, then the abstract text's length and the capture (4 bytes each),
        // in one buffer, so a repeated pattern costs a lookup, not an allocation; a new
        // pattern's key becomes its texts, cut before the two numbers, without a copy.
        let mut counts: FastMap<Box<[u8]>, (u32, u32)> = FastMap::default();
        let mut key: Vec<u8> = Vec::with_capacity(384);
        let (metrics, depth) = self.for_each_root_then(
            tree,
            grammar,
            source,
            with_nodes,
            |capture, line, a, s| {
                key.clear();
                key.extend_from_slice(a.as_bytes());
                key.extend_from_slice(s.as_bytes());
                key.extend_from_slice(&(a.len() as u32).to_le_bytes());
                key.extend_from_slice(&capture.to_le_bytes());
                match counts.get_mut(key.as_slice()) {
                    Some(entry) => entry.0 += 1,
                    None => {
                        counts.insert(key.as_slice().into(), (1, line));
                    }
                }
            },
            after,
        )?;
        let kinds = &self.queries.get(grammar).kinds;
        let mut patterns: Vec<PatternCount> = counts
            .into_iter()
            .map(|(key, (occurrences, first_line))| {
                let mut key = key.into_vec();
                let mut numbers = [0u8; 8];
                numbers.copy_from_slice(&key[key.len() - 8..]);
                key.truncate(key.len() - 8);
                let [l0, l1, l2, l3, c0, c1, c2, c3] = numbers;
                let abstract_len = u32::from_le_bytes([l0, l1, l2, l3]);
                let capture = u32::from_le_bytes([c0, c1, c2, c3]) as usize;
                // Two `str`s end to end: valid UTF-8 (checked, not copied).
                let texts = String::from_utf8(key)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
                    .into_boxed_str();
                PatternCount {
                    abstract_len,
                    kind: kinds[capture].clone(),
                    texts,
                    occurrences,
                    first_line,
                }
            })
            .collect();
        patterns.sort_unstable_by(|a, b| {
            (a.abstract_text(), a.semantic_text(), &a.kind).cmp(&(
                b.abstract_text(),
                b.semantic_text(),
                &b.kind,
            ))
        });
        Ok((patterns, metrics, depth))
    }

    /// Every pattern occurrence of `source`, in source order: what `patmine explain` prints.
    pub fn explain(
        &self,
        source: &[u8],
        dialect: Dialect,
    ) -> Result<(Grammar, Vec<Occurrence>), AnalyzeError> {
        let (grammar, tree, _) = self.parse_best(source, dialect)?;
        let kinds = &self.queries.get(grammar).kinds;
        let mut found = Vec::new();
        self.for_each_root(&tree, grammar, source, |capture, line, a, s| {
            found.push(Occurrence {
                kind: kinds[capture as usize].to_string(),
                line,
                signature: normalize::Signature {
                    abstract_text: a.to_string(),
                    semantic_text: s.to_string(),
                },
            })
        })?;
        Ok((grammar, found))
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

/// The node kinds and fields a call chain is made of, in one grammar.
struct ChainKinds {
    call: u16,
    member: u16,
    subscript: u16,
    non_null: u16,
    function_field: u16,
    object_field: u16,
}

impl ChainKinds {
    fn new(language: &tree_sitter::Language) -> ChainKinds {
        let field = |name| language.field_id_for_name(name).map_or(0, |f| f.get());
        ChainKinds {
            call: language.id_for_node_kind("call_expression", true),
            member: language.id_for_node_kind("member_expression", true),
            subscript: language.id_for_node_kind("subscript_expression", true),
            non_null: language.id_for_node_kind("non_null_expression", true),
            function_field: field("function"),
            object_field: field("object"),
        }
    }

    /// Marks the calls on the callee side of the call at `call` (`a.b()` in `a.b().c()`): they
    /// are links of one chain, counted once through the outermost call.
    fn mark(&self, tree: FlatTree<'_, '_>, call: usize, inner: &mut FastSet<u32>) {
        let nodes = tree.nodes();
        let mut current = tree.child_with_field(call, self.function_field);
        while let Some(at) = current {
            let kind = nodes[at].kind_id();
            current = if kind == self.call {
                if !inner.insert(at as u32) {
                    break;
                }
                tree.child_with_field(at, self.function_field)
            } else if kind == self.member || kind == self.subscript {
                tree.child_with_field(at, self.object_field)
            } else if kind == self.non_null {
                tree.children(at).find(|&c| nodes[c].is_named())
            } else {
                None
            };
        }
    }
}

/// Parses `source`, giving up after `budget`.
fn parse(grammar: Grammar, source: &[u8], budget: Option<Duration>) -> Result<Tree, AnalyzeError> {
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
        let Some(budget) = budget else {
            return parser
                .parse(source, None)
                .ok_or(AnalyzeError::NoTree(grammar));
        };
        // Tree-sitter asks every hundred or so parse operations whether to go on: a clock read
        // each time costs nothing next to them.
        let deadline = Instant::now() + budget;
        let mut in_budget = |_: &tree_sitter::ParseState| {
            if Instant::now() < deadline {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(())
            }
        };
        let options = ParseOptions::new().progress_callback(&mut in_budget);
        let len = source.len();
        let mut read = |at: usize, _| if at < len { &source[at..] } else { &[] };
        match parser.parse_with_options(&mut read, None, Some(options)) {
            Some(tree) => Ok(tree),
            None => {
                // A parse given up would otherwise be resumed by the parser's next call.
                parser.reset();
                if Instant::now() >= deadline {
                    Err(AnalyzeError::Timeout(grammar, budget))
                } else {
                    Err(AnalyzeError::NoTree(grammar))
                }
            }
        }
    })
}

/// Parses with one grammar, without the fallback decision: for content whose stored analysis
/// already says which grammar it took.
pub fn parse_as(grammar: Grammar, source: &[u8]) -> Result<Tree, AnalyzeError> {
    parse(grammar, source, Some(DEFAULT_PARSE_BUDGET))
}

/// Parses only: the floor every analysis pays, for benchmarks.
pub fn parse_only(source: &[u8], dialect: Dialect) -> Result<usize, AnalyzeError> {
    let tree = parse(dialect.grammar(), source, None)?;
    Ok(tree.root_node().child_count() as usize)
}

/// ERROR and MISSING nodes; a whole-tree walk only when the parser reported any.
fn count_errors(tree: &Tree) -> u32 {
    if !tree.root_node().has_error() {
        return 0;
    }
    let mut errors = 0;
    walk_tree(tree, |cursor, _| {
        let node = cursor.node();
        if node.is_error() || node.is_missing() {
            errors += 1;
        }
    });
    errors
}

/// Pre-order walk with tree-sitter's cursor (no recursion): `visit(cursor, depth)` at each node.
pub(crate) fn walk_tree(tree: &Tree, mut visit: impl FnMut(&TreeCursor<'_>, u32)) {
    let mut cursor = tree.walk();
    let mut depth = 0u32;
    loop {
        visit(&cursor, depth);
        if cursor.goto_first_child() {
            depth += 1;
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
            depth -= 1;
        }
    }
}

/// Lines with something other than whitespace on them. A line's check stops at its first such
/// byte, and the line ends are found with `memchr`: most bytes are never looked at one by one.
fn count_loc(source: &[u8]) -> u32 {
    let has_text = |line: &[u8]| line.iter().any(|b| !b.is_ascii_whitespace());
    let mut lines = 0u32;
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', source) {
        lines += u32::from(has_text(&source[start..end]));
        start = end + 1;
    }
    lines + u32::from(has_text(&source[start..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_covers_the_parser_and_grammar_versions() {
        let queries = QuerySet::builtin().expect("built-in queries");
        let rules = Rulebook::builtin();
        let options = NormalizeOptions::default();
        let of = |parsers: &crate::versions::ParserVersions| {
            fingerprint(
                parsers,
                &queries,
                &rules,
                &options,
                DEFAULT_FALLBACK_THRESHOLD,
            )
        };
        let built = crate::versions::PARSERS;
        assert_eq!(of(&built), Analyzer::builtin().fingerprint());
        let upgrades = [
            crate::versions::ParserVersions {
                javascript: "99.0.0",
                ..built.clone()
            },
            crate::versions::ParserVersions {
                typescript: "99.0.0",
                ..built.clone()
            },
            crate::versions::ParserVersions {
                tree_sitter: "99.0.0",
                ..built.clone()
            },
            crate::versions::ParserVersions {
                language_abi: built.language_abi + 1,
                ..built.clone()
            },
        ];
        for upgraded in upgrades {
            assert_ne!(of(&upgraded), of(&built), "{upgraded:?}");
        }
    }

    /// Each root's capture, line and signatures; the metrics; the depth.
    type Found = (Vec<(u32, u32, String, String)>, Metrics, usize);

    /// Every root, line and signature, and the metrics and depth, of `source` parsed with
    /// `grammar`, from a flat tree that lists every node or leaves out opaque descendants.
    fn roots_found(
        analyzer: &Analyzer,
        grammar: Grammar,
        source: &[u8],
        leave_out_opaque: bool,
    ) -> Found {
        let tree = parse(grammar, source, None).expect("tree");
        let opaque = if leave_out_opaque {
            analyzer.vocabularies[grammar.index()].opaque_kinds()
        } else {
            &[]
        };
        let mut found = Vec::new();
        // The whole list is the one handed on with its nodes (`analyze_listed`).
        let with_nodes = !leave_out_opaque;
        let (metrics, depth) = analyzer
            .for_each_root_listing(
                &tree,
                grammar,
                source,
                opaque,
                with_nodes,
                |capture, line, a, s| found.push((capture, line, a.to_string(), s.to_string())),
                |flat| assert_eq!(flat.has_nodes(), with_nodes),
            )
            .expect("walk");
        (found, metrics, depth)
    }

    #[test]
    fn leaving_out_the_descendants_of_opaque_nodes_changes_no_signature() {
        let analyzer = Analyzer::builtin();
        let mut sources: Vec<(Grammar, Vec<u8>)> = Vec::new();
        for (dialect, bytes) in crate::dialect::fixture_sources() {
            sources.extend(dialect.fallback().map(|g| (g, bytes.clone())));
            sources.push((dialect.grammar(), bytes));
        }
        // Strings, regexes, comments, JSX text, nested type names, `new.target`, escapes.
        let cases: [(Grammar, &str); 3] = [
            (
                Grammar::JavaScript,
                "f('a\\n', \"b\", /c[d]/g, `e${g('h')}`); /* i */ new.target; <div a=\"b\">c</div>;",
            ),
            (Grammar::TypeScript, "let x: A.B.C<'d'> = y as E.F; // g"),
            (Grammar::Tsx, "const c = <A.B x='y' {...z}>{'w'}</A.B>;"),
        ];
        sources.extend(cases.iter().map(|(g, s)| (*g, s.as_bytes().to_vec())));
        let mut roots = 0;
        for (grammar, source) in &sources {
            let listed = roots_found(&analyzer, *grammar, source, false);
            let left_out = roots_found(&analyzer, *grammar, source, true);
            assert_eq!(
                listed,
                left_out,
                "{grammar:?}: {}",
                String::from_utf8_lossy(source)
            );
            roots += listed.0.len();
        }
        assert!(
            sources.len() > 12 && roots > 500,
            "{} sources, {roots} roots",
            sources.len()
        );
    }

    #[test]
    fn lines_of_code_are_the_lines_with_more_than_whitespace() {
        let cases: [(&[u8], u32); 9] = [
            (b"", 0),
            (b"\n\n\n", 0),
            (b"a", 1),
            (b"a\n", 1),
            (b"a\n\nb", 2),
            (b"  \t\r\n x \r\n\x0c\n", 1),
            (b"a;\r\nb;\r\n", 2),
            (b"\n\n  }", 1),
            (b"\xff\xfe\n \n\x00", 2),
        ];
        for (source, lines) in cases {
            assert_eq!(
                count_loc(source),
                lines,
                "{:?}",
                String::from_utf8_lossy(source)
            );
        }
    }
}
