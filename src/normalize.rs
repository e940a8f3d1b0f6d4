//! The normalizer: pattern roots in, their abstract and semantic signatures out, following
//! `SIGNATURES.md`.
//!
//! One iterative walk over the whole tree (its flat list of nodes from `tree_walk` and a heap
//! stack of frames, never recursion) turns every leaf into a canonical token once. Whatever
//! hides a subtree in a signature (a collapsed body, JSX, a template literal, the elided tail of
//! a long list) gets a marker token that jumps over it. A root's signature is then its own slice
//! of tokens, rendered until the length cap: nested roots share the work instead of walking their
//! subtrees again.

use std::borrow::Cow;

use tree_sitter::{Language, Node};

use crate::rules::Rulebook;
use crate::tree_walk::{FlatNode, FlatTree};

/// Bumped whenever a signature could come out differently for the same code; part of the cache
/// fingerprint, so an old cache is never served for a new normalizer.
pub const NORMALIZER_VERSION: u32 = 3;

const ELLIPSIS: &str = "…";
const COLLAPSED_BODY: &str = "{ … }";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormalizeOptions {
    /// Argument lists, arrays, objects, parameter lists and import lists keep this many
    /// elements; the rest become `…`.
    pub max_elements: usize,
    /// A signature longer than this many bytes is cut (on a character boundary) and ends in `…`.
    pub max_len: usize,
}

impl Default for NormalizeOptions {
    fn default() -> Self {
        NormalizeOptions {
            max_elements: 5,
            max_len: 160,
        }
    }
}

/// The two signatures of one pattern occurrence.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Signature {
    pub abstract_text: String,
    pub semantic_text: String,
}

/// How a token joins its neighbours; the whole of the canonical whitespace rules.
#[derive(Debug, Clone, Copy, Default)]
struct Spacing {
    /// No space before this token.
    glue_before: bool,
    /// No space after this token.
    glue_after: bool,
    /// A `(` or `[` right after this token is a call or an index, glued to it.
    callable: bool,
    /// This token is `(` or `[`: glued to a callable token before it.
    opener: bool,
}

const WORD: Spacing = Spacing {
    glue_before: false,
    glue_after: false,
    callable: true,
    opener: false,
};
const KEYWORD: Spacing = Spacing {
    glue_before: false,
    glue_after: false,
    callable: false,
    opener: false,
};
const SPACED: Spacing = KEYWORD;

/// Builds both signature strings token by token.
struct Emitter<'b> {
    abstract_text: &'b mut String,
    semantic_text: &'b mut String,
    prev: Option<Spacing>,
    prev_was_open_brace: bool,
    max_len: usize,
}

impl Emitter<'_> {
    fn full(&self) -> bool {
        self.abstract_text.len() > self.max_len && self.semantic_text.len() > self.max_len
    }

    fn push(&mut self, abstract_tok: &str, semantic_tok: &str, spacing: Spacing) {
        if abstract_tok.is_empty() {
            return;
        }
        if let Some(prev) = self.prev {
            let glued = prev.glue_after
                || spacing.glue_before
                || (spacing.opener && prev.callable)
                || (self.prev_was_open_brace && abstract_tok == "}");
            if !glued {
                self.abstract_text.push(' ');
                self.semantic_text.push(' ');
            }
        }
        self.abstract_text.push_str(abstract_tok);
        self.semantic_text.push_str(semantic_tok);
        self.prev = Some(spacing);
        self.prev_was_open_brace = abstract_tok == "{";
    }

    fn finish(self) {
        cap(self.abstract_text, self.max_len);
        cap(self.semantic_text, self.max_len);
    }
}

fn cap(text: &mut String, max_len: usize) {
    if text.len() > max_len {
        let mut cut = max_len;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.truncate(text.trim_end().len());
        text.push_str(ELLIPSIS);
    }
}

/// A grammar's node-kind and field names by id, read once. (`Node::kind` and
/// `TreeCursor::field_name` measure and validate a C string on every call.)
pub struct Vocabulary {
    kinds: Vec<Box<str>>,
    fields: Vec<Option<Box<str>>>,
    /// The ids of the `name` and `open_tag` fields (0 if the grammar has none).
    name_field: u16,
    open_tag_field: u16,
}

impl Vocabulary {
    pub fn new(language: &Language) -> Vocabulary {
        let kinds = (0..language.node_kind_count())
            .map(|id| {
                u16::try_from(id)
                    .ok()
                    .and_then(|id| language.node_kind_for_id(id))
                    .unwrap_or("")
                    .into()
            })
            .collect();
        // Field ids start at 1.
        let fields = (0..=language.field_count())
            .map(|id| {
                u16::try_from(id)
                    .ok()
                    .and_then(|id| language.field_name_for_id(id))
                    .map(Into::into)
            })
            .collect();
        let mut vocabulary = Vocabulary {
            kinds,
            fields,
            name_field: 0,
            open_tag_field: 0,
        };
        vocabulary.name_field = vocabulary.field_id("name");
        vocabulary.open_tag_field = vocabulary.field_id("open_tag");
        vocabulary
    }

    /// The kind's name; ids outside the table are ERROR nodes (tree-sitter gives them
    /// `u16::MAX`), named "ERROR" as `Node::kind` does.
    fn kind_name(&self, kind_id: u16) -> &str {
        self.kinds.get(kind_id as usize).map_or("ERROR", |k| k)
    }

    /// The id of a field name, 0 (no field) if the grammar has none of that name.
    pub fn field_id(&self, name: &str) -> u16 {
        self.fields
            .iter()
            .position(|f| f.as_deref() == Some(name))
            .and_then(|id| u16::try_from(id).ok())
            .unwrap_or(0)
    }

    fn field(&self, id: Option<std::num::NonZeroU16>) -> Option<&str> {
        let id = id?.get() as usize;
        self.fields.get(id)?.as_deref()
    }
}

/// State kept for each node on the path from the tree's root to the walk's node. Sibling questions
/// ("is this the last child?") are answered from here: tree-sitter's `next_sibling` searches down
/// from the tree's root, which is quadratic on deeply nested code.
struct Frame<'a> {
    kind_id: u16,
    kind: &'a str,
    /// Index of the child the walk is at, and the number of children.
    index: usize,
    child_count: usize,
    is_list: bool,
    /// Named elements of a list seen so far.
    elements_seen: usize,
    /// The list's elision marker, whose jump is set to its closing token.
    elide_marker: Option<usize>,
    /// The latest closing token (`)`, `]`, `}`, `>`) of this list.
    closer: Option<usize>,
    /// A marker this node opened, whose jump is set past the node's tokens.
    marker: Option<usize>,
    /// Roots starting at this node (indexes into the roots), whose ends are set on leaving.
    roots: std::ops::Range<usize>,
    /// Index of the first flat node after this node's subtree.
    end: usize,
    /// The token of a `,` child, until the next child shows whether it trails (and goes).
    pending_comma: Option<usize>,
}

/// A canonical token, or a marker standing for a hidden subtree.
#[derive(Debug, Clone)]
pub struct Token<'a> {
    start_byte: u32,
    abstract_text: Cow<'a, str>,
    semantic_text: Cow<'a, str>,
    spacing: Spacing,
    /// For markers: the token index where rendering continues after emitting the marker.
    jump: u32,
    marker: bool,
    /// A `;` kept inside a `for (…;…;…)` header, dropped where it ends a root.
    semicolon: bool,
}

/// An empty token buffer that keeps `buffer`'s allocation, for tokens borrowing other sources.
/// Nothing is converted (the buffer is emptied first), and collecting a `vec::IntoIter` into a
/// vector of a type with the same layout reuses its allocation.
pub fn recycle<'b>(mut buffer: Vec<Token<'_>>) -> Vec<Token<'b>> {
    buffer.clear();
    buffer.into_iter().map_while(|_| None).collect()
}

/// A pattern root found during the walk: its node (by index in the flat tree), capture index
/// and token slice.
pub struct Root {
    pub index: u32,
    pub capture: u32,
    /// The node's byte range, kept here so that sorting roots asks tree-sitter nothing.
    pub bytes: (u32, u32),
    /// 1-based line of the node's first byte.
    pub line: u32,
    start: u32,
    end: u32,
}

/// What the walk's caller says about each node: the root captures it gets.
pub type RootCaptures = Vec<u32>;

/// What to do with the node the walk is at.
enum Visit<'a> {
    /// Emit nothing and do not descend.
    Skip,
    /// Emit these tokens (abstract, semantic) and do not descend.
    Atom(Cow<'a, str>, Cow<'a, str>, Spacing),
    /// Emit this marker in place of the subtree, and still tokenize the subtree for the roots
    /// inside it.
    Marker(Cow<'a, str>, Cow<'a, str>, Spacing),
    /// Descend into the children (or emit the leaf's own text if it has none).
    Descend,
}

fn is_list(kind: &str) -> bool {
    matches!(
        kind,
        "arguments"
            | "array"
            | "object"
            | "object_pattern"
            | "array_pattern"
            | "formal_parameters"
            | "named_imports"
            | "export_clause"
            | "type_arguments"
            | "type_parameters"
            | "object_type"
            | "tuple_type"
    )
}

fn is_collapsed_body(kind: &str) -> bool {
    matches!(
        kind,
        "statement_block" | "class_body" | "switch_body" | "interface_body" | "enum_body"
    )
}

/// A declaration whose `name` field holds a `type_identifier` that the code chose.
fn declares_type_name(kind: &str) -> bool {
    matches!(
        kind,
        "class_declaration"
            | "abstract_class_declaration"
            | "class"
            | "interface_declaration"
            | "type_alias_declaration"
            | "enum_declaration"
    )
}

/// Walks the whole tree once: every leaf becomes a token (appended to `tokens`, which the caller
/// passes empty, so that one allocation serves file after file), and `roots_of(node, kind id,
/// parent kind id, depth, &mut captures)` fills in the root captures of each node. Also returns
/// the depth of the deepest node the walk entered (the root is at 0; subtrees that become one
/// token, such as strings, are not entered).
pub fn tokenize<'a>(
    mut tokens: Vec<Token<'a>>,
    tree: FlatTree<'_, '_>,
    source: &'a [u8],
    vocabulary: &'a Vocabulary,
    rules: &'a Rulebook,
    options: &NormalizeOptions,
    mut roots_of: impl FnMut(u16, Option<u16>, usize, &mut RootCaptures),
) -> (Vec<Token<'a>>, Vec<Root>, usize) {
    let mut deepest = 0;
    tokens.clear();
    tokens.reserve(source.len() / 8);
    let mut roots: Vec<Root> = Vec::new();
    let mut captures: RootCaptures = Vec::new();
    let mut frames: Vec<Frame<'a>> = Vec::with_capacity(64);
    let nodes = tree.nodes();
    if nodes.is_empty() {
        return (tokens, roots, deepest);
    }
    let mut at = 0;
    'walk: loop {
        let flat = &nodes[at];
        let kind_id = flat.kind_id();
        let kind = vocabulary.kind_name(kind_id);
        if let Some(frame) = frames.last_mut()
            && let Some(comma) = frame.pending_comma.take()
            && is_closer(kind)
            && !flat.is_named()
        {
            // A trailing comma: `[a, b,]` is `[a, b]`.
            tokens.truncate(comma);
        }
        let parent = frames.last();
        // The field is read only for the few kinds whose signature depends on it.
        let field = || vocabulary.field(std::num::NonZeroU16::new(flat.field_id()));
        let visit = classify(tree, at, kind, field, parent, source, vocabulary, rules);

        // Element caps on lists: past `max_elements` named children, a marker emits `…` and
        // jumps to the list's closing token.
        if let Some(frame) = frames.last_mut()
            && frame.is_list
            && flat.is_named()
            && !matches!(visit, Visit::Skip)
        {
            frame.elements_seen += 1;
            if frame.elements_seen == options.max_elements + 1 {
                frame.elide_marker = Some(tokens.len());
                tokens.push(marker(flat, ELLIPSIS.into(), ELLIPSIS.into(), WORD));
            }
        }

        captures.clear();
        roots_of(
            kind_id,
            frames.last().map(|f| f.kind_id),
            frames.len(),
            &mut captures,
        );
        let first_root = roots.len();
        let start = tokens.len() as u32;
        for &capture in &captures {
            roots.push(Root {
                index: at as u32,
                capture,
                bytes: (flat.start_byte() as u32, flat.end_byte() as u32),
                line: flat.start_row() as u32 + 1,
                start,
                end: start,
            });
        }
        let descend = matches!(visit, Visit::Descend | Visit::Marker(..));
        let leaf = matches!(visit, Visit::Descend);
        let mut opened_marker = None;
        match visit {
            Visit::Skip => {}
            Visit::Atom(a, s, spacing) => tokens.push(token(flat, a, s, spacing)),
            Visit::Marker(a, s, spacing) => {
                opened_marker = Some(tokens.len());
                tokens.push(marker(flat, a, s, spacing));
            }
            Visit::Descend => {}
        }
        // Visible descendants are visible children to the walk (hidden nodes are transparent).
        if descend && flat.next() > at + 1 {
            frames.push(Frame {
                kind_id,
                kind,
                index: 0,
                child_count: flat.child_count(),
                is_list: is_list(kind),
                elements_seen: 0,
                elide_marker: None,
                closer: None,
                marker: opened_marker,
                roots: first_root..roots.len(),
                pending_comma: None,
                end: flat.next(),
            });
            deepest = deepest.max(frames.len());
            at += 1;
            continue 'walk;
        }
        if leaf {
            leaf_token(&mut tokens, &mut frames, flat, kind, source);
        }
        let end = tokens.len() as u32;
        for root in &mut roots[first_root..] {
            root.end = end;
        }
        if let Some(m) = opened_marker {
            tokens[m].jump = end;
        }
        // Next sibling, or climb (closing frames) until one exists.
        let next = flat.next();
        loop {
            match frames.last_mut() {
                None => break 'walk,
                Some(frame) if next < frame.end => {
                    frame.index += 1;
                    at = next;
                    continue 'walk;
                }
                Some(_) => {}
            }
            let frame = frames.pop().expect("a frame per entered node");
            if let Some(comma) = frame.pending_comma {
                // The node's last child was a `,`: a trailing comma.
                tokens.truncate(comma);
            }
            let end = tokens.len() as u32;
            for root in &mut roots[frame.roots.clone()] {
                root.end = end;
            }
            if let Some(m) = frame.marker {
                tokens[m].jump = end;
            }
            if let Some(m) = frame.elide_marker {
                tokens[m].jump = frame.closer.map_or(end, |c| c as u32);
            }
        }
    }
    (tokens, roots, deepest)
}

fn token<'a>(node: &FlatNode, a: Cow<'a, str>, s: Cow<'a, str>, spacing: Spacing) -> Token<'a> {
    Token {
        start_byte: node.start_byte() as u32,
        abstract_text: a,
        semantic_text: s,
        spacing,
        jump: 0,
        marker: false,
        semicolon: false,
    }
}

fn marker<'a>(node: &FlatNode, a: Cow<'a, str>, s: Cow<'a, str>, spacing: Spacing) -> Token<'a> {
    Token {
        marker: true,
        ..token(node, a, s, spacing)
    }
}

/// The root of a node found outside the walk (by a query cursor), or `None` if the flat tree
/// does not list it. Its token slice runs from the first token at or after its start that is
/// not a marker opening there, to the first token at its end.
pub fn root_of(
    tokens: &[Token<'_>],
    tree: FlatTree<'_, '_>,
    node: Node<'_>,
    capture: u32,
) -> Option<Root> {
    let index = tree.index_of(node)?;
    let (from, to) = (node.start_byte() as u32, node.end_byte() as u32);
    let mut start = tokens.partition_point(|t| t.start_byte < from);
    while tokens
        .get(start)
        .is_some_and(|t| t.marker && t.start_byte == from)
    {
        start += 1;
    }
    let end = tokens.partition_point(|t| t.start_byte < to).max(start);
    Some(Root {
        index: index as u32,
        capture,
        bytes: (from, to),
        line: tree.nodes()[index].start_row() as u32 + 1,
        start: start as u32,
        end: end as u32,
    })
}

/// Renders a root's signatures from its token slice into the two buffers.
pub fn render(
    tokens: &[Token<'_>],
    root: &Root,
    max_len: usize,
    abstract_text: &mut String,
    semantic_text: &mut String,
) {
    abstract_text.clear();
    semantic_text.clear();
    let mut out = Emitter {
        abstract_text,
        semantic_text,
        prev: None,
        prev_was_open_brace: false,
        max_len,
    };
    let end = (root.end as usize).min(tokens.len());
    let mut i = root.start as usize;
    while i < end {
        let t = &tokens[i];
        if t.marker {
            out.push(&t.abstract_text, &t.semantic_text, t.spacing);
            i = (t.jump as usize).max(i + 1);
        } else {
            // The `;` ending a root inside a `for` header goes, like any statement end.
            if !(t.semicolon && i + 1 == end) {
                out.push(&t.abstract_text, &t.semantic_text, t.spacing);
            }
            i += 1;
        }
        if out.full() {
            break;
        }
    }
    out.finish();
}

fn text<'a>(node: &FlatNode, source: &'a [u8]) -> &'a str {
    text_in(node.start_byte()..node.end_byte(), source)
}

fn text_in(range: std::ops::Range<usize>, source: &[u8]) -> &str {
    std::str::from_utf8(&source[range]).unwrap_or("\u{FFFD}")
}

type Tok<'a> = Cow<'a, str>;

fn identifier<'a>(node: &FlatNode, source: &[u8], rules: &'a Rulebook) -> (Tok<'a>, Tok<'a>) {
    let name = text(node, source);
    let semantic = rules.identifier(name).unwrap_or("IDENTIFIER");
    (Cow::Borrowed("IDENTIFIER"), Cow::Borrowed(semantic))
}

fn same(tok: &'static str) -> (Tok<'static>, Tok<'static>) {
    (Cow::Borrowed(tok), Cow::Borrowed(tok))
}

/// An identifier that introduces a name (`const fs = …`, a parameter, an import binding) is the
/// code's own choice even when it spells a well-known name, so the rulebook does not apply.
fn is_binding(kind: &str, field: Option<&str>, parent_kind: &str) -> bool {
    kind == "shorthand_property_identifier_pattern"
        || matches!(
            field,
            Some("name" | "parameter" | "pattern" | "alias" | "label")
        )
        || matches!(
            parent_kind,
            "array_pattern"
                | "formal_parameters"
                | "rest_pattern"
                | "import_clause"
                | "import_specifier"
                | "namespace_import"
                | "export_specifier"
        )
        || (parent_kind == "assignment_pattern" && field == Some("left"))
        || (parent_kind == "pair_pattern" && field == Some("value"))
}

#[allow(clippy::too_many_arguments)]
fn classify<'a, 'f>(
    tree: FlatTree<'_, '_>,
    at: usize,
    kind: &'a str,
    field: impl Fn() -> Option<&'f str>,
    parent: Option<&Frame>,
    source: &'a [u8],
    vocabulary: &Vocabulary,
    rules: &'a Rulebook,
) -> Visit<'a> {
    let flat = &tree.nodes()[at];
    let parent_kind = parent.map_or("", |f| f.kind);
    if flat.is_extra() && (kind == "comment" || kind == "html_comment") {
        return Visit::Skip;
    }
    if !flat.is_named() {
        return Visit::Descend;
    }
    match kind {
        "comment" | "html_comment" | "hash_bang_line" => Visit::Skip,
        "identifier"
        | "shorthand_property_identifier"
        | "shorthand_property_identifier_pattern" => {
            let field = field();
            let (a, s) = if is_binding(kind, field, parent_kind) {
                same("IDENTIFIER")
            } else {
                identifier(flat, source, rules)
            };
            if field == Some("parameter") && parent_kind == "arrow_function" {
                // `x => …` is printed as `(x) => …`, the way a formatter does.
                Visit::Atom(format!("({a})").into(), format!("({s})").into(), WORD)
            } else {
                Visit::Atom(a, s, WORD)
            }
        }
        "statement_identifier" => {
            let (a, s) = same("IDENTIFIER");
            Visit::Atom(a, s, WORD)
        }
        "property_identifier" => {
            let name = text(flat, source);
            let semantic = rules.method(name).unwrap_or(name);
            Visit::Atom(Cow::Borrowed(name), Cow::Borrowed(semantic), WORD)
        }
        "private_property_identifier"
        | "this"
        | "super"
        | "null"
        | "undefined"
        | "import"
        | "meta_property"
        | "predefined_type"
        | "this_type" => {
            let t = text(flat, source);
            Visit::Atom(Cow::Borrowed(t), Cow::Borrowed(t), WORD)
        }
        "type_identifier" | "nested_type_identifier" => {
            let declared = declares_type_name(parent_kind) && field() == Some("name");
            let (a, s) = same(if declared { "IDENTIFIER" } else { "TYPE" });
            Visit::Atom(a, s, WORD)
        }
        "string" => {
            let (a, s) = same("STRING");
            Visit::Atom(a, s, WORD)
        }
        "template_string" => {
            let spacing = if parent_kind == "call_expression" {
                // A tagged template: html`…`.
                Spacing {
                    glue_before: true,
                    ..WORD
                }
            } else {
                WORD
            };
            // Substitutions may hold roots of their own.
            let (a, s) = same("STRING");
            Visit::Marker(a, s, spacing)
        }
        "number" | "true" | "false" | "regex" => {
            let placeholder = match kind {
                "number" => "NUMBER",
                "regex" => "REGEX",
                _ => "BOOLEAN",
            };
            let (a, s) = same(placeholder);
            Visit::Atom(a, s, WORD)
        }
        "jsx_element" | "jsx_self_closing_element" => {
            let (a, s) = jsx(tree, at, kind, source, vocabulary, rules);
            Visit::Marker(a.into(), s.into(), WORD)
        }
        _ if is_collapsed_body(kind) => {
            // Empty unless it has a named child that is not a comment.
            let nodes = tree.nodes();
            let empty = !tree
                .children(at)
                .any(|c| nodes[c].is_named() && !nodes[c].is_extra());
            let (a, s) = same(if empty { "{}" } else { COLLAPSED_BODY });
            Visit::Marker(a, s, SPACED)
        }
        _ => Visit::Descend,
    }
}

/// JSX collapses to its tag: `<div>…</div>`, `<IDENTIFIER />`, `<>…</>`. Lowercase tags are the
/// platform's elements and stay; component names are identifiers the code chose.
fn jsx(
    tree: FlatTree<'_, '_>,
    at: usize,
    kind: &str,
    source: &[u8],
    vocabulary: &Vocabulary,
    rules: &Rulebook,
) -> (String, String) {
    let self_closing = kind == "jsx_self_closing_element";
    let name_field = vocabulary.name_field;
    let name_node = if self_closing {
        tree.child_with_field(at, name_field)
    } else {
        tree.child_with_field(at, vocabulary.open_tag_field)
            .and_then(|t| tree.child_with_field(t, name_field))
    };
    let nodes = tree.nodes();
    let (a, s) = match name_node.map(|n| &nodes[n]) {
        None => same(""),
        Some(n) if vocabulary.kind_name(n.kind_id()) == "identifier" => {
            let name = text(n, source);
            if name.starts_with(|c: char| c.is_ascii_lowercase()) {
                (Cow::Borrowed(name), Cow::Borrowed(name))
            } else {
                identifier(n, source, rules)
            }
        }
        Some(_) => same("IDENTIFIER"),
    };
    if self_closing {
        (format!("<{a} />"), format!("<{s} />"))
    } else {
        (format!("<{a}>…</{a}>"), format!("<{s}>…</{s}>"))
    }
}

/// The token of an anonymous leaf or a named leaf that `classify` left to its text.
fn leaf_token<'a>(
    tokens: &mut Vec<Token<'a>>,
    frames: &mut [Frame<'a>],
    node: &FlatNode,
    kind: &'a str,
    source: &'a [u8],
) {
    // An anonymous token's kind is its text; a zero-width one (MISSING, automatic `;`) has none.
    let tok: &'a str = if node.is_named() || node.start_byte() == node.end_byte() {
        text_in(node.start_byte()..node.end_byte(), source)
    } else {
        kind
    };
    if tok.is_empty() {
        // Zero-width tokens: MISSING nodes and automatic semicolons.
        return;
    }
    let parent = frames.last();
    let parent_kind = parent.map_or("", |f| f.kind);
    let grandparent_kind = frames.len().checked_sub(2).map_or("", |i| frames[i].kind);
    let is_last = parent.is_none_or(|f| f.index + 1 >= f.child_count);
    let is_first = parent.is_none_or(|f| f.index == 0);
    let spacing = match tok {
        ";" => {
            // A statement-ending `;` goes; the ones inside a `for (…;…;…)` header stay.
            if is_last && parent_kind != "for_statement" && grandparent_kind != "for_statement" {
                return;
            }
            Spacing {
                glue_before: true,
                ..SPACED
            }
        }
        // Kept for now; dropped if the next child closes the list (or there is none).
        "," => Spacing {
            glue_before: true,
            ..SPACED
        },
        "(" | "[" => Spacing {
            glue_after: true,
            opener: true,
            ..SPACED
        },
        ")" | "]" => Spacing {
            glue_before: true,
            callable: true,
            ..SPACED
        },
        "." | "?." => Spacing {
            glue_before: true,
            glue_after: true,
            callable: false,
            opener: false,
        },
        "..." | "@" => Spacing {
            glue_after: true,
            ..SPACED
        },
        ":" | "?" if matches!(parent_kind, "ternary_expression" | "conditional_type") => SPACED,
        ":" => Spacing {
            glue_before: true,
            ..SPACED
        },
        "?" => Spacing {
            glue_before: true,
            glue_after: true,
            ..SPACED
        },
        "!" if parent_kind == "non_null_expression" => Spacing {
            glue_before: true,
            callable: true,
            ..SPACED
        },
        "++" | "--" => {
            if is_first {
                Spacing {
                    glue_after: true,
                    ..SPACED
                }
            } else {
                Spacing {
                    glue_before: true,
                    callable: true,
                    ..SPACED
                }
            }
        }
        "!" | "-" | "+" | "~" if parent_kind == "unary_expression" => Spacing {
            glue_after: true,
            ..SPACED
        },
        "<" if matches!(parent_kind, "type_arguments" | "type_parameters") => Spacing {
            glue_before: true,
            glue_after: true,
            ..SPACED
        },
        ">" if matches!(parent_kind, "type_arguments" | "type_parameters") => Spacing {
            glue_before: true,
            callable: true,
            ..SPACED
        },
        "*" if matches!(
            parent_kind,
            "generator_function_declaration" | "generator_function" | "yield_expression"
        ) =>
        {
            Spacing {
                glue_before: true,
                ..SPACED
            }
        }
        "*" if parent_kind == "method_definition" => Spacing {
            glue_after: true,
            ..SPACED
        },
        _ if node.is_named() => WORD,
        _ if tok.starts_with(|c: char| c.is_ascii_alphabetic()) => KEYWORD,
        _ => SPACED,
    };
    let index = tokens.len();
    tokens.push(Token {
        semicolon: tok == ";",
        ..token(node, Cow::Borrowed(tok), Cow::Borrowed(tok), spacing)
    });
    if let Some(frame) = frames.last_mut() {
        if tok == "," {
            frame.pending_comma = Some(index);
        } else if frame.is_list && is_closer(tok) {
            frame.closer = Some(index);
        }
    }
}

fn is_closer(tok: &str) -> bool {
    matches!(tok, ")" | "]" | "}" | ">")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Guards the point of `recycle`: if a toolchain stops collecting in place, this fails (the
    /// code stays correct, it only allocates again).
    #[test]
    fn recycling_keeps_the_allocation() {
        let source = String::from("x");
        let mut buffer: Vec<Token<'_>> = Vec::with_capacity(1000);
        buffer.push(Token {
            start_byte: 0,
            abstract_text: Cow::Borrowed(&source),
            semantic_text: Cow::Borrowed(&source),
            spacing: WORD,
            jump: 0,
            marker: false,
            semicolon: false,
        });
        let address = buffer.as_ptr() as usize;
        let recycled: Vec<Token<'static>> = recycle(buffer);
        assert!(recycled.is_empty());
        assert!(recycled.capacity() >= 1000);
        assert_eq!(recycled.as_ptr() as usize, address);
    }
}
