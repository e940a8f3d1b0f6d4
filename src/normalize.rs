//! The normalizer: one pattern root (a tree-sitter node) in, its abstract and semantic signatures
//! out, following `SIGNATURES.md`.
//!
//! The walk is iterative (a `TreeCursor` and a heap stack of frames), never recursive, and stops
//! as soon as both signatures reach the length cap, so a root's cost is bounded by its signature,
//! not by the size or depth of the code under it.

use std::borrow::Cow;

use tree_sitter::{Node, TreeCursor};

use crate::rules::Rulebook;

/// Bumped whenever a signature could come out differently for the same code; part of the cache
/// fingerprint, so an old cache is never served for a new normalizer.
pub const NORMALIZER_VERSION: u32 = 2;

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

    fn push_same(&mut self, tok: &str, spacing: Spacing) {
        self.push(tok, tok, spacing);
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

/// State kept for each node on the path from the root to the cursor. Sibling questions ("is this
/// the last child?") are answered from here: tree-sitter's `next_sibling` searches down from the
/// tree's root, which is quadratic on deeply nested code.
struct Frame<'tree> {
    node: Node<'tree>,
    kind: &'tree str,
    /// Index of the child under the cursor, and the number of children.
    index: usize,
    child_count: usize,
    /// Counts elements when this node is a list whose length is capped.
    elements_seen: usize,
    eliding: bool,
    is_list: bool,
}

/// What to do with the node under the cursor.
enum Visit<'a> {
    /// Emit nothing and do not descend.
    Skip,
    /// Emit these tokens (abstract, semantic) and do not descend.
    Atom(Cow<'a, str>, Cow<'a, str>, Spacing),
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

/// Normalizes one pattern root (see `Normalizer` to normalize many without allocating).
pub fn normalize(
    root: Node<'_>,
    source: &[u8],
    rules: &Rulebook,
    options: &NormalizeOptions,
) -> Signature {
    let mut normalizer = Normalizer::new(root);
    let (a, s) = normalizer.normalize(root, source, rules, options);
    Signature {
        abstract_text: a.to_string(),
        semantic_text: s.to_string(),
    }
}

/// Normalizes the roots of one tree, reusing its cursor, frame stack and output buffers.
pub struct Normalizer<'tree> {
    cursor: TreeCursor<'tree>,
    frames: Vec<Frame<'tree>>,
    abstract_text: String,
    semantic_text: String,
}

impl<'tree> Normalizer<'tree> {
    pub fn new(any_node: Node<'tree>) -> Self {
        Normalizer {
            cursor: any_node.walk(),
            frames: Vec::with_capacity(32),
            abstract_text: String::with_capacity(192),
            semantic_text: String::with_capacity(192),
        }
    }

    /// The abstract and semantic signatures of `root`, valid until the next call.
    pub fn normalize(
        &mut self,
        root: Node<'tree>,
        source: &[u8],
        rules: &Rulebook,
        options: &NormalizeOptions,
    ) -> (&str, &str) {
        self.abstract_text.clear();
        self.semantic_text.clear();
        self.frames.clear();
        self.cursor.reset(root);
        let mut out = Emitter {
            abstract_text: &mut self.abstract_text,
            semantic_text: &mut self.semantic_text,
            prev: None,
            prev_was_open_brace: false,
            max_len: options.max_len,
        };
        let cursor = &mut self.cursor;
        let frames = &mut self.frames;
        'walk: loop {
            let node = cursor.node();
            let parent = frames.last();
            let mut visit = classify(node, cursor.field_name(), parent, source, rules);

            // Element caps on lists: the first `max_elements` named children are kept, then `…`,
            // then only the list's closing token.
            if let Some(frame) = frames.last_mut()
                && frame.is_list
                && !matches!(visit, Visit::Skip)
            {
                if node.is_named() {
                    if frame.elements_seen >= options.max_elements {
                        visit = if frame.eliding {
                            Visit::Skip
                        } else {
                            frame.eliding = true;
                            let (a, s) = same(ELLIPSIS);
                            Visit::Atom(a, s, WORD)
                        };
                    } else {
                        frame.elements_seen += 1;
                    }
                } else if frame.eliding && node.kind() == "," {
                    visit = Visit::Skip;
                }
            }

            match visit {
                Visit::Skip => {}
                Visit::Atom(abstract_tok, semantic_tok, spacing) => {
                    out.push(&abstract_tok, &semantic_tok, spacing)
                }
                Visit::Descend => {
                    if cursor.goto_first_child() {
                        let kind = node.kind();
                        frames.push(Frame {
                            node,
                            kind,
                            index: 0,
                            child_count: node.child_count() as usize,
                            elements_seen: 0,
                            eliding: false,
                            is_list: is_list(kind),
                        });
                        continue 'walk;
                    }
                    emit_leaf(&mut out, node, source, frames);
                }
            }
            if out.full() {
                break;
            }
            // Next sibling, or climb until one exists; stop at the root.
            loop {
                if frames.is_empty() {
                    break 'walk;
                }
                if cursor.goto_next_sibling() {
                    if let Some(frame) = frames.last_mut() {
                        frame.index += 1;
                    }
                    continue 'walk;
                }
                cursor.goto_parent();
                frames.pop();
            }
        }
        out.finish();
        (&self.abstract_text, &self.semantic_text)
    }
}

fn text<'a>(node: Node<'_>, source: &'a [u8]) -> &'a str {
    std::str::from_utf8(&source[node.byte_range()]).unwrap_or("\u{FFFD}")
}

type Tok<'a> = Cow<'a, str>;

fn identifier<'a>(node: Node<'_>, source: &[u8], rules: &'a Rulebook) -> (Tok<'a>, Tok<'a>) {
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

fn classify<'a>(
    node: Node<'_>,
    field: Option<&str>,
    parent: Option<&Frame>,
    source: &'a [u8],
    rules: &'a Rulebook,
) -> Visit<'a> {
    let kind = node.kind();
    let parent_kind = parent.map_or("", |f| f.kind);
    if node.is_extra() && (kind == "comment" || kind == "html_comment") {
        return Visit::Skip;
    }
    if !node.is_named() {
        return Visit::Descend;
    }
    match kind {
        "comment" | "html_comment" | "hash_bang_line" => Visit::Skip,
        "identifier"
        | "shorthand_property_identifier"
        | "shorthand_property_identifier_pattern" => {
            let (a, s) = if is_binding(kind, field, parent_kind) {
                same("IDENTIFIER")
            } else {
                identifier(node, source, rules)
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
            let name = text(node, source);
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
            let t = text(node, source);
            Visit::Atom(Cow::Borrowed(t), Cow::Borrowed(t), WORD)
        }
        "type_identifier" | "nested_type_identifier" => {
            let declared = field == Some("name") && declares_type_name(parent_kind);
            let (a, s) = same(if declared { "IDENTIFIER" } else { "TYPE" });
            Visit::Atom(a, s, WORD)
        }
        "string" | "template_string" => {
            let spacing = if kind == "template_string" && parent_kind == "call_expression" {
                // A tagged template: html`…`.
                Spacing {
                    glue_before: true,
                    ..WORD
                }
            } else {
                WORD
            };
            let (a, s) = same("STRING");
            Visit::Atom(a, s, spacing)
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
            let (a, s) = jsx(node, source, rules);
            Visit::Atom(a.into(), s.into(), WORD)
        }
        _ if is_collapsed_body(kind) => {
            let empty = {
                let mut c = node.walk();
                !node.named_children(&mut c).any(|n| !n.is_extra())
            };
            let (a, s) = same(if empty { "{}" } else { COLLAPSED_BODY });
            Visit::Atom(a, s, SPACED)
        }
        _ => Visit::Descend,
    }
}

/// JSX collapses to its tag: `<div>…</div>`, `<IDENTIFIER />`, `<>…</>`. Lowercase tags are the
/// platform's elements and stay; component names are identifiers the code chose.
fn jsx(node: Node<'_>, source: &[u8], rules: &Rulebook) -> (String, String) {
    let self_closing = node.kind() == "jsx_self_closing_element";
    let name_node = if self_closing {
        node.child_by_field_name("name")
    } else {
        node.child_by_field_name("open_tag")
            .and_then(|t| t.child_by_field_name("name"))
    };
    let (a, s) = match name_node {
        None => same(""),
        Some(n) if n.kind() == "identifier" => {
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

/// An anonymous token or a named leaf that `classify` left to its text.
fn emit_leaf(out: &mut Emitter, node: Node<'_>, source: &[u8], frames: &[Frame<'_>]) {
    // An anonymous token's kind is its text; a zero-width one (MISSING, automatic `;`) has none.
    let tok = if node.is_named() || node.start_byte() == node.end_byte() {
        text(node, source)
    } else {
        node.kind()
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
    let next_sibling = parent.and_then(|f| f.node.child(f.index as u32 + 1));
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
        "," => {
            let trailing = match next_sibling {
                None => true,
                Some(next) => matches!(next.kind(), ")" | "]" | "}" | ">"),
            };
            if trailing {
                return;
            }
            Spacing {
                glue_before: true,
                ..SPACED
            }
        }
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
    out.push_same(tok, spacing);
}
