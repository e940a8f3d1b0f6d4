//! The normalizer: pattern roots in, their abstract and semantic signatures out, following
//! docs/signatures.md.
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
pub const NORMALIZER_VERSION: u32 = 5;

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
const OPEN: Spacing = Spacing {
    glue_after: true,
    opener: true,
    ..SPACED
};
const CLOSE: Spacing = Spacing {
    glue_before: true,
    callable: true,
    ..SPACED
};

/// Builds both signature strings token by token.
struct Emitter<'b> {
    abstract_text: &'b mut String,
    semantic_text: &'b mut String,
    prev: Option<Spacing>,
    prev_was_open_brace: bool,
    max_len: usize,
    /// Each text's length after the last whole token that fits in `max_len`: the cap cuts
    /// there, never inside a token.
    abstract_fits: usize,
    semantic_fits: usize,
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
        if self.abstract_text.len() <= self.max_len {
            self.abstract_fits = self.abstract_text.len();
        }
        if self.semantic_text.len() <= self.max_len {
            self.semantic_fits = self.semantic_text.len();
        }
        self.prev = Some(spacing);
        self.prev_was_open_brace = abstract_tok == "{";
    }

    fn finish(self) {
        cap(self.abstract_text, self.max_len, self.abstract_fits);
        cap(self.semantic_text, self.max_len, self.semantic_fits);
    }
}

/// Cuts `text` to at most `max_len` bytes at `fits`, the end of its last whole token within
/// them, and marks the cut with `…`. Only a first token longer than `max_len` is cut inside.
fn cap(text: &mut String, max_len: usize, fits: usize) {
    if text.len() > max_len {
        let mut cut = if fits > 0 { fits } else { max_len };
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
    /// Per kind id: what the normalizer asks of the kind, answered once from its name.
    infos: Vec<KindInfo>,
    /// Per field id: the field's `FIELD_*` bits.
    field_flags: Vec<u8>,
    /// Per kind id: a named node of this kind is one token (or none), so the walk never reads
    /// its descendants (see `opaque_kinds`).
    opaque: Vec<bool>,
    /// The ids of the `name` and `open_tag` fields (0 if the grammar has none).
    name_field: u16,
    open_tag_field: u16,
}

impl Vocabulary {
    pub fn new(language: &Language) -> Vocabulary {
        let kinds: Vec<Box<str>> = (0..language.node_kind_count())
            .map(|id| {
                u16::try_from(id)
                    .ok()
                    .and_then(|id| language.node_kind_for_id(id))
                    .unwrap_or("")
                    .into()
            })
            .collect();
        let infos: Vec<KindInfo> = kinds.iter().map(|k| KindInfo::of(k)).collect();
        let opaque = infos.iter().map(|i| i.class.is_opaque()).collect();
        // Field ids start at 1.
        let field_flags = (0..=language.field_count())
            .map(|id| {
                u16::try_from(id)
                    .ok()
                    .and_then(|id| language.field_name_for_id(id))
                    .map_or(0, field_flags_of)
            })
            .collect();
        let field_id = |name| language.field_id_for_name(name).map_or(0, |f| f.get());
        Vocabulary {
            kinds,
            infos,
            opaque,
            field_flags,
            name_field: field_id("name"),
            open_tag_field: field_id("open_tag"),
        }
    }

    /// Per kind id: whether `tokenize` reads nothing below a named node of the kind, which
    /// becomes one token or none (strings, identifiers, numbers, comments, ...). A flat tree
    /// for `tokenize` need not list their descendants.
    pub fn opaque_kinds(&self) -> &[bool] {
        &self.opaque
    }

    /// The kind's name; ids outside the table are ERROR nodes (tree-sitter gives them
    /// `u16::MAX`), named "ERROR" as `Node::kind` does.
    fn kind_name(&self, kind_id: u16) -> &str {
        self.kinds.get(kind_id as usize).map_or("ERROR", |k| k)
    }

    /// What the normalizer asks of a kind; ids outside the table (ERROR nodes) are plain kinds.
    fn info(&self, kind_id: u16) -> KindInfo {
        self.infos
            .get(kind_id as usize)
            .copied()
            .unwrap_or_default()
    }

    /// The `FIELD_*` bits of a field id (0 for none).
    fn field_flags(&self, field_id: u16) -> u8 {
        self.field_flags
            .get(field_id as usize)
            .copied()
            .unwrap_or(0)
    }
}

/// How `classify` treats a named node of a kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Class {
    #[default]
    Descend,
    Skip,
    /// `identifier`, `shorthand_property_identifier`; `pattern` for
    /// `shorthand_property_identifier_pattern`, always a binding.
    Identifier {
        pattern: bool,
    },
    StatementIdentifier,
    PropertyIdentifier,
    /// Kept as written: `this`, `null`, `import`, predefined types, ...
    OwnText,
    TypeIdentifier,
    String,
    Template,
    Number,
    Regex,
    Boolean,
    JsxElement,
    JsxSelfClosing,
    CollapsedBody,
}

impl Class {
    /// `classify` makes a named node of this class one token or none, and does not descend.
    fn is_opaque(self) -> bool {
        !matches!(
            self,
            Class::Descend
                | Class::Template
                | Class::JsxElement
                | Class::JsxSelfClosing
                | Class::CollapsedBody
        )
    }
}

/// The kind id tree-sitter gives ERROR nodes.
const ERROR_KIND: u16 = u16::MAX;

/// The token a leaf's text is, for its spacing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum TokClass {
    #[default]
    Other,
    Semicolon,
    Comma,
    /// `(` or `[`
    Open,
    /// `)` or `]`
    Close,
    CloseBrace,
    /// `.` or `?.`
    Dot,
    /// `...` or `@`
    SpreadOrAt,
    Colon,
    Question,
    Bang,
    /// `++` or `--`
    IncDec,
    /// `-`, `+` or `~`
    Sign,
    Lt,
    Gt,
    Star,
}

impl TokClass {
    fn of(tok: &str) -> TokClass {
        match tok {
            ";" => TokClass::Semicolon,
            "," => TokClass::Comma,
            "(" | "[" => TokClass::Open,
            ")" | "]" => TokClass::Close,
            "}" => TokClass::CloseBrace,
            "." | "?." => TokClass::Dot,
            "..." | "@" => TokClass::SpreadOrAt,
            ":" => TokClass::Colon,
            "?" => TokClass::Question,
            "!" => TokClass::Bang,
            "++" | "--" => TokClass::IncDec,
            "-" | "+" | "~" => TokClass::Sign,
            "<" => TokClass::Lt,
            ">" => TokClass::Gt,
            "*" => TokClass::Star,
            _ => TokClass::Other,
        }
    }

    /// `)`, `]`, `}` or `>`: a token that closes a list.
    fn is_closer(self) -> bool {
        matches!(self, TokClass::Close | TokClass::CloseBrace | TokClass::Gt)
    }
}

// A kind's roles as the parent of the node the walk is at (`KindInfo::parent`).
const PARENT_LIST: u16 = 1;
const PARENT_BINDING: u16 = 1 << 1;
const PARENT_ASSIGNMENT_PATTERN: u16 = 1 << 2;
const PARENT_PAIR_PATTERN: u16 = 1 << 3;
const PARENT_ARROW_FUNCTION: u16 = 1 << 4;
const PARENT_DECLARES_TYPE_NAME: u16 = 1 << 5;
const PARENT_CALL: u16 = 1 << 6;
const PARENT_FOR: u16 = 1 << 7;
const PARENT_TERNARY: u16 = 1 << 8;
const PARENT_NON_NULL: u16 = 1 << 9;
const PARENT_UNARY: u16 = 1 << 10;
const PARENT_TYPE_LIST: u16 = 1 << 11;
const PARENT_GENERATOR: u16 = 1 << 12;
const PARENT_METHOD: u16 = 1 << 13;
const PARENT_IF: u16 = 1 << 14;
const PARENT_NEW: u16 = 1 << 15;

// A field's roles (`Vocabulary::field_flags`).
/// A field whose identifier is a name the code binds: `name`, `parameter`, `pattern`, `alias`,
/// `label`.
const FIELD_BINDING: u8 = 1;
const FIELD_NAME: u8 = 1 << 1;
const FIELD_PARAMETER: u8 = 1 << 2;
const FIELD_LEFT: u8 = 1 << 3;
const FIELD_VALUE: u8 = 1 << 4;
const FIELD_KEY: u8 = 1 << 5;
/// The callee of a call (`function`) or of `new` (`constructor`), or the object of a member
/// access (`object`): where a function's name is used as that function.
const FIELD_CALLEE: u8 = 1 << 6;

fn field_flags_of(name: &str) -> u8 {
    let mut flags = 0;
    if matches!(name, "name" | "parameter" | "pattern" | "alias" | "label") {
        flags |= FIELD_BINDING;
    }
    for (field, flag) in [
        ("name", FIELD_NAME),
        ("parameter", FIELD_PARAMETER),
        ("left", FIELD_LEFT),
        ("value", FIELD_VALUE),
        ("key", FIELD_KEY),
        ("function", FIELD_CALLEE),
        ("constructor", FIELD_CALLEE),
        ("object", FIELD_CALLEE),
    ] {
        if name == field {
            flags |= flag;
        }
    }
    flags
}

/// What the normalizer asks of a node kind, answered once per kind id from its name, so the
/// walk compares no strings.
#[derive(Debug, Clone, Copy, Default)]
struct KindInfo {
    /// How a named node of this kind is treated.
    class: Class,
    /// A comment (skipped where it is an extra, named or not).
    comment: bool,
    /// The kind's `PARENT_*` roles.
    parent: u16,
    /// The token an anonymous node of this kind is (its name is its text).
    tok: TokClass,
    /// A TypeScript object type, whose members are separated by `;` whatever separates them
    /// in the code (`;`, `,` or a line break).
    object_type: bool,
}

impl KindInfo {
    fn of(kind: &str) -> KindInfo {
        let class = match kind {
            "comment" | "html_comment" | "hash_bang_line" => Class::Skip,
            // A string's parts and JSX text, met outside a collapsed string or element only where
            // error recovery broke one up (an unterminated `'…`): their text never reaches a
            // signature.
            "'"
            | "\""
            | "`"
            | "string_fragment"
            | "escape_sequence"
            | "html_character_reference"
            | "regex_pattern"
            | "regex_flags"
            | "jsx_text" => Class::Skip,
            "identifier" | "shorthand_property_identifier" => Class::Identifier { pattern: false },
            "shorthand_property_identifier_pattern" => Class::Identifier { pattern: true },
            "statement_identifier" => Class::StatementIdentifier,
            "property_identifier" => Class::PropertyIdentifier,
            "private_property_identifier"
            | "this"
            | "super"
            | "null"
            | "undefined"
            | "import"
            | "meta_property"
            | "predefined_type"
            | "this_type" => Class::OwnText,
            "type_identifier" | "nested_type_identifier" => Class::TypeIdentifier,
            "string" => Class::String,
            "template_string" => Class::Template,
            // A type holds no roots: the whole literal, substitutions included, is one string.
            "template_literal_type" => Class::String,
            "number" => Class::Number,
            "regex" => Class::Regex,
            "true" | "false" => Class::Boolean,
            "jsx_element" => Class::JsxElement,
            "jsx_self_closing_element" => Class::JsxSelfClosing,
            _ if is_collapsed_body(kind) => Class::CollapsedBody,
            _ => Class::Descend,
        };
        let roles: [(bool, u16); 16] = [
            (is_list(kind), PARENT_LIST),
            (
                matches!(
                    kind,
                    "array_pattern"
                        | "formal_parameters"
                        | "rest_pattern"
                        | "import_clause"
                        | "import_specifier"
                        | "namespace_import"
                        | "export_specifier"
                ),
                PARENT_BINDING,
            ),
            (kind == "assignment_pattern", PARENT_ASSIGNMENT_PATTERN),
            (kind == "pair_pattern", PARENT_PAIR_PATTERN),
            (kind == "arrow_function", PARENT_ARROW_FUNCTION),
            (declares_type_name(kind), PARENT_DECLARES_TYPE_NAME),
            (kind == "call_expression", PARENT_CALL),
            (kind == "for_statement", PARENT_FOR),
            (
                matches!(kind, "ternary_expression" | "conditional_type"),
                PARENT_TERNARY,
            ),
            (kind == "non_null_expression", PARENT_NON_NULL),
            (kind == "unary_expression", PARENT_UNARY),
            (
                matches!(kind, "type_arguments" | "type_parameters"),
                PARENT_TYPE_LIST,
            ),
            (
                matches!(
                    kind,
                    "generator_function_declaration" | "generator_function" | "yield_expression"
                ),
                PARENT_GENERATOR,
            ),
            (kind == "method_definition", PARENT_METHOD),
            (kind == "if_statement", PARENT_IF),
            (kind == "new_expression", PARENT_NEW),
        ];
        KindInfo {
            class,
            comment: matches!(kind, "comment" | "html_comment"),
            parent: roles
                .iter()
                .filter(|(has, _)| *has)
                .fold(0, |flags, (_, flag)| flags | flag),
            tok: TokClass::of(kind),
            object_type: kind == "object_type",
        }
    }
}

/// State kept for each node on the path from the tree's root to the walk's node. Sibling questions
/// ("is this the last child?") are answered from here: tree-sitter's `next_sibling` searches down
/// from the tree's root, which is quadratic on deeply nested code.
struct Frame {
    kind_id: u16,
    /// The kind's `PARENT_*` roles.
    roles: u16,
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
    /// A TypeScript object type (`KindInfo::object_type`), read on every child.
    object_type: bool,
    /// In an object type: a member was printed, so the next one needs a `;` before it.
    needs_separator: bool,
    /// A `new` expression without arguments so far: `new Foo` prints as `new Foo()`, the same
    /// call, when the frame closes (at the node's last byte, `end_byte - 1`).
    missing_arguments: Option<u32>,
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
/// passes empty, so that one allocation serves file after file), and `roots_of(kind id, parent
/// kind id, depth, &mut captures)` fills in the root captures of each node. Also returns
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
    let mut frames: Vec<Frame> = Vec::with_capacity(64);
    let nodes = tree.nodes();
    if nodes.is_empty() {
        return (tokens, roots, deepest);
    }
    let mut at = 0;
    'walk: loop {
        let flat = &nodes[at];
        let kind_id = flat.kind_id();
        let info = vocabulary.info(kind_id);
        if let Some(frame) = frames.last_mut()
            && let Some(comma) = frame.pending_comma.take()
            && info.tok.is_closer()
            && !flat.is_named()
        {
            // A trailing comma: `[a, b,]` is `[a, b]`.
            tokens.truncate(comma);
        }
        let parent_roles = frames.last().map_or(0, |f| f.roles);
        // Object type members: one `;` before each member but the first, whatever separated
        // them in the code (leaf_token prints no `,` or `;` of an object type).
        if let Some(frame) = frames.last_mut()
            && frame.object_type
            && flat.is_named()
            && !info.comment
        {
            if frame.needs_separator {
                tokens.push(token(
                    flat,
                    Cow::Borrowed(";"),
                    Cow::Borrowed(";"),
                    Spacing {
                        glue_before: true,
                        ..SPACED
                    },
                ));
            }
            frame.needs_separator = true;
        }
        if parent_roles & PARENT_NEW != 0
            && vocabulary.kind_name(kind_id) == "arguments"
            && let Some(frame) = frames.last_mut()
        {
            frame.missing_arguments = None;
        }
        let visit = classify(tree, at, info, parent_roles, source, vocabulary, rules);

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
                roles: info.parent,
                index: 0,
                child_count: flat.child_count(),
                is_list: info.parent & PARENT_LIST != 0,
                elements_seen: 0,
                elide_marker: None,
                closer: None,
                marker: opened_marker,
                roots: first_root..roots.len(),
                pending_comma: None,
                object_type: info.object_type,
                needs_separator: false,
                missing_arguments: (info.parent & PARENT_NEW != 0)
                    .then(|| flat.end_byte().saturating_sub(1) as u32),
                end: flat.next(),
            });
            deepest = deepest.max(frames.len());
            at += 1;
            continue 'walk;
        }
        if leaf {
            leaf_token(&mut tokens, &mut frames, flat, vocabulary, source);
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
            if let Some(at_byte) = frame.missing_arguments {
                for (text, spacing) in [("(", OPEN), (")", CLOSE)] {
                    tokens.push(Token {
                        start_byte: at_byte,
                        abstract_text: Cow::Borrowed(text),
                        semantic_text: Cow::Borrowed(text),
                        spacing,
                        jump: 0,
                        marker: false,
                        semicolon: false,
                    });
                }
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
        abstract_fits: 0,
        semantic_fits: 0,
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

/// The name inside a quoted string (`'acceptRanges'`) when it is an identifier name.
fn quoted_name(quoted: &str) -> Option<&str> {
    let inner = quoted
        .strip_prefix(['\'', '"'])?
        .strip_suffix(['\'', '"'])?;
    let mut chars = inner.chars();
    let first = chars.next()?;
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    (word(first) && !first.is_ascii_digit() && chars.all(word)).then_some(inner)
}

fn text<'a>(node: &FlatNode, source: &'a [u8]) -> &'a str {
    text_in(node.start_byte()..node.end_byte(), source)
}

fn text_in(range: std::ops::Range<usize>, source: &[u8]) -> &str {
    std::str::from_utf8(&source[range]).unwrap_or("\u{FFFD}")
}

type Tok<'a> = Cow<'a, str>;

/// An identifier's two tokens: `IDENTIFIER`, and at the semantic level its role where the
/// rulebook gives one for the position (`called`: a callee, or a member access's object).
fn identifier<'a>(
    node: &FlatNode,
    source: &[u8],
    rules: &'a Rulebook,
    called: bool,
) -> (Tok<'a>, Tok<'a>) {
    let name = text(node, source);
    let role = if called {
        rules.callee(name)
    } else {
        rules.identifier(name)
    };
    let semantic = role.unwrap_or("IDENTIFIER");
    (Cow::Borrowed("IDENTIFIER"), Cow::Borrowed(semantic))
}

fn same(tok: &'static str) -> (Tok<'static>, Tok<'static>) {
    (Cow::Borrowed(tok), Cow::Borrowed(tok))
}

/// An identifier that introduces a name (`const fs = …`, a parameter, an import binding) is the
/// code's own choice even when it spells a well-known name, so the rulebook does not apply.
fn is_binding(pattern: bool, field: u8, parent: u16) -> bool {
    pattern
        || field & FIELD_BINDING != 0
        || parent & PARENT_BINDING != 0
        || (parent & PARENT_ASSIGNMENT_PATTERN != 0 && field & FIELD_LEFT != 0)
        || (parent & PARENT_PAIR_PATTERN != 0 && field & FIELD_VALUE != 0)
}

/// What to do with the node at `at`, of kind `info`, whose parent has the roles `parent`.
fn classify<'a>(
    tree: FlatTree<'_, '_>,
    at: usize,
    info: KindInfo,
    parent: u16,
    source: &'a [u8],
    vocabulary: &Vocabulary,
    rules: &'a Rulebook,
) -> Visit<'a> {
    let flat = &tree.nodes()[at];
    if flat.is_extra() && info.comment {
        return Visit::Skip;
    }
    if !flat.is_named() {
        return Visit::Descend;
    }
    match info.class {
        Class::Descend => Visit::Descend,
        Class::Skip => Visit::Skip,
        Class::Identifier { pattern } => {
            let field = vocabulary.field_flags(flat.field_id());
            // The TypeScript grammar reads `default` in `export { default as X }` as an
            // identifier; the JavaScript one as the keyword it is.
            if text(flat, source) == "default" {
                return Visit::Atom(Cow::Borrowed("default"), Cow::Borrowed("default"), WORD);
            }
            let (a, s) = if is_binding(pattern, field, parent) {
                same("IDENTIFIER")
            } else {
                identifier(flat, source, rules, field & FIELD_CALLEE != 0)
            };
            if field & FIELD_PARAMETER != 0 && parent & PARENT_ARROW_FUNCTION != 0 {
                // `x => …` is printed as `(x) => …`, the way a formatter does.
                Visit::Atom(format!("({a})").into(), format!("({s})").into(), WORD)
            } else {
                Visit::Atom(a, s, WORD)
            }
        }
        Class::StatementIdentifier => {
            let (a, s) = same("IDENTIFIER");
            Visit::Atom(a, s, WORD)
        }
        Class::PropertyIdentifier => {
            let name = text(flat, source);
            let semantic = rules.method(name).unwrap_or(name);
            Visit::Atom(Cow::Borrowed(name), Cow::Borrowed(semantic), WORD)
        }
        Class::OwnText => {
            let t = text(flat, source);
            Visit::Atom(Cow::Borrowed(t), Cow::Borrowed(t), WORD)
        }
        Class::TypeIdentifier => {
            let declared = parent & PARENT_DECLARES_TYPE_NAME != 0
                && vocabulary.field_flags(flat.field_id()) & FIELD_NAME != 0;
            let (a, s) = same(if declared { "IDENTIFIER" } else { "TYPE" });
            Visit::Atom(a, s, WORD)
        }
        Class::String => {
            // A quoted key that could be written unquoted is that key: `{ 'a': 1 }` is
            // `{ a: 1 }` to the language, so it prints as a property name does.
            if vocabulary.field_flags(flat.field_id()) & FIELD_KEY != 0
                && let Some(name) = quoted_name(text(flat, source))
            {
                let semantic = rules.method(name).unwrap_or(name);
                return Visit::Atom(Cow::Borrowed(name), Cow::Borrowed(semantic), WORD);
            }
            let (a, s) = same("STRING");
            Visit::Atom(a, s, WORD)
        }
        Class::Template => {
            // A tagged template (html`…`) is spaced from its tag: glued, the two placeholders
            // would read as one word. Substitutions may hold roots of their own.
            let (a, s) = same("STRING");
            Visit::Marker(a, s, WORD)
        }
        Class::Number | Class::Regex | Class::Boolean => {
            let placeholder = match info.class {
                Class::Number => "NUMBER",
                Class::Regex => "REGEX",
                _ => "BOOLEAN",
            };
            let (a, s) = same(placeholder);
            Visit::Atom(a, s, WORD)
        }
        Class::JsxElement | Class::JsxSelfClosing => {
            let self_closing = info.class == Class::JsxSelfClosing;
            let (a, s) = jsx(tree, at, self_closing, source, vocabulary, rules);
            Visit::Marker(a.into(), s.into(), WORD)
        }
        Class::CollapsedBody => {
            // Empty unless it has a named child that is not a comment.
            let nodes = tree.nodes();
            let empty = !tree
                .children(at)
                .any(|c| nodes[c].is_named() && !nodes[c].is_extra());
            let (a, s) = same(if empty { "{}" } else { COLLAPSED_BODY });
            Visit::Marker(a, s, SPACED)
        }
    }
}

/// JSX collapses to its tag: `<div>…</div>`, `<IDENTIFIER />`, `<>…</>`. Lowercase tags are the
/// platform's elements and stay; component names are identifiers the code chose.
fn jsx(
    tree: FlatTree<'_, '_>,
    at: usize,
    self_closing: bool,
    source: &[u8],
    vocabulary: &Vocabulary,
    rules: &Rulebook,
) -> (String, String) {
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
                // `<Foo />` renders, which is using the component as what it is.
                identifier(n, source, rules, true)
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
    frames: &mut [Frame],
    node: &FlatNode,
    vocabulary: &'a Vocabulary,
    source: &'a [u8],
) {
    // An anonymous token's kind is its text; a zero-width one (MISSING, automatic `;`) has none.
    let anonymous = !(node.is_named() || node.start_byte() == node.end_byte());
    let tok: &'a str = if anonymous {
        vocabulary.kind_name(node.kind_id())
    } else {
        text_in(node.start_byte()..node.end_byte(), source)
    };
    if tok.is_empty() {
        // Zero-width tokens: MISSING nodes and automatic semicolons.
        return;
    }
    // An ERROR leaf is text the parser could not place (a stray quote, the rest of a broken
    // line): the code's own words, which no signature holds.
    if !anonymous && node.kind_id() == ERROR_KIND {
        return;
    }
    // A quote outside a string: one that error recovery broke open.
    if anonymous && matches!(tok, "'" | "\"" | "`") {
        return;
    }
    let class = if anonymous {
        vocabulary.info(node.kind_id()).tok
    } else {
        TokClass::of(tok)
    };
    // A member separator of an object type, as written: the walk prints one `;` before each
    // member but the first instead, so none trails.
    if matches!(class, TokClass::Comma | TokClass::Semicolon)
        && frames.last().is_some_and(|f| f.object_type)
    {
        return;
    }
    let parent = frames.last();
    let roles = parent.map_or(0, |f| f.roles);
    let grandparent_roles = frames.len().checked_sub(2).map_or(0, |i| frames[i].roles);
    let is_last = parent.is_none_or(|f| f.index + 1 >= f.child_count);
    let is_first = parent.is_none_or(|f| f.index == 0);
    let spacing = match class {
        TokClass::Semicolon => {
            // A statement-ending `;` goes; the ones inside a `for (…;…;…)` header stay, and so
            // does the one before an `else` (`if (a) return; else b()`, which is invalid
            // without it).
            let before_else = grandparent_roles & PARENT_IF != 0
                && frames
                    .len()
                    .checked_sub(2)
                    .is_some_and(|i| frames[i].index + 1 < frames[i].child_count);
            if is_last
                && roles & PARENT_FOR == 0
                && grandparent_roles & PARENT_FOR == 0
                && !before_else
            {
                return;
            }
            Spacing {
                glue_before: true,
                ..SPACED
            }
        }
        // Kept for now; dropped if the next child closes the list (or there is none).
        TokClass::Comma => Spacing {
            glue_before: true,
            ..SPACED
        },
        TokClass::Open => OPEN,
        TokClass::Close => CLOSE,
        TokClass::Dot => Spacing {
            glue_before: true,
            glue_after: true,
            callable: false,
            opener: false,
        },
        TokClass::SpreadOrAt => Spacing {
            glue_after: true,
            ..SPACED
        },
        TokClass::Colon | TokClass::Question if roles & PARENT_TERNARY != 0 => SPACED,
        TokClass::Colon => Spacing {
            glue_before: true,
            ..SPACED
        },
        TokClass::Question => Spacing {
            glue_before: true,
            glue_after: true,
            ..SPACED
        },
        TokClass::Bang if roles & PARENT_NON_NULL != 0 => Spacing {
            glue_before: true,
            callable: true,
            ..SPACED
        },
        TokClass::IncDec => {
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
        TokClass::Bang | TokClass::Sign if roles & PARENT_UNARY != 0 => Spacing {
            glue_after: true,
            ..SPACED
        },
        // Glued to the name it follows (`f<T>`, `Map<K, V>`); a list that opens its parent (the
        // arrow function `<T>(x: T) => x`, the assertion `<T>x`) follows no name.
        TokClass::Lt if roles & PARENT_TYPE_LIST != 0 => Spacing {
            glue_before: frames
                .len()
                .checked_sub(2)
                .is_some_and(|i| frames[i].index > 0),
            glue_after: true,
            ..SPACED
        },
        TokClass::Gt if roles & PARENT_TYPE_LIST != 0 => Spacing {
            glue_before: true,
            callable: true,
            ..SPACED
        },
        TokClass::Star if roles & PARENT_GENERATOR != 0 => Spacing {
            glue_before: true,
            ..SPACED
        },
        TokClass::Star if roles & PARENT_METHOD != 0 => Spacing {
            glue_after: true,
            ..SPACED
        },
        _ if node.is_named() => WORD,
        _ if tok.starts_with(|c: char| c.is_ascii_alphabetic()) => KEYWORD,
        _ => SPACED,
    };
    let index = tokens.len();
    tokens.push(Token {
        semicolon: class == TokClass::Semicolon,
        ..token(node, Cow::Borrowed(tok), Cow::Borrowed(tok), spacing)
    });
    if let Some(frame) = frames.last_mut() {
        if class == TokClass::Comma {
            frame.pending_comma = Some(index);
        } else if frame.is_list && class.is_closer() {
            frame.closer = Some(index);
        }
    }
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
