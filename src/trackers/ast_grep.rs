//! ast-grep's matcher over patmine's own trees.
//!
//! ast-grep-core is generic over a `Language` and a `Doc`; its tree-sitter `StrDoc` keeps the
//! source, the language and the tree in public fields, so a tree patmine has already parsed is
//! wrapped, not parsed again. The `Language` below is what ast-grep-language defines for
//! JavaScript, TypeScript and TSX (`impl_lang!`: no expando character, `$` is a valid identifier
//! character in all three), over the same grammar crates, so a pattern means here what it means
//! to the ast-grep CLI.

use ast_grep_core::matcher::{Pattern, PatternBuilder, PatternError};
use ast_grep_core::tree_sitter::{LanguageExt, StrDoc, TSLanguage};
use ast_grep_core::{AstGrep, Language};

use crate::dialect::Grammar;

/// One of patmine's grammars, as ast-grep sees a language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AstGrepLang(pub Grammar);

impl Language for AstGrepLang {
    fn kind_to_id(&self, kind: &str) -> u16 {
        self.get_ts_language().id_for_node_kind(kind, true)
    }

    fn field_to_id(&self, field: &str) -> Option<u16> {
        self.get_ts_language()
            .field_id_for_name(field)
            .map(|f| f.get())
    }

    fn build_pattern(&self, builder: &PatternBuilder) -> Result<Pattern, PatternError> {
        builder.build(|src| StrDoc::try_new(src, *self))
    }
}

impl LanguageExt for AstGrepLang {
    fn get_ts_language(&self) -> TSLanguage {
        self.0.language()
    }
}

/// A parsed tree, wrapped for ast-grep. The tree is reference-counted by tree-sitter, so the
/// clone is cheap; the source is copied once because `StrDoc` owns a `String`. Bytes that are
/// not UTF-8 (tree-sitter parses bytes) are replaced, which keeps every byte offset only when
/// the input was valid: such blobs are matched on a fresh parse of the replaced text instead.
/// The flag says whether the document wraps `tree` itself (node ids cannot tell: a node's id
/// is an address inside its tree, and the wrapped tree is a copy).
pub fn document(
    tree: &tree_sitter::Tree,
    source: &[u8],
    grammar: Grammar,
) -> (AstGrep<StrDoc<AstGrepLang>>, bool) {
    let lang = AstGrepLang(grammar);
    match std::str::from_utf8(source) {
        Ok(text) => (
            AstGrep::doc(StrDoc {
                src: text.to_owned(),
                lang,
                tree: tree.clone(),
            }),
            true,
        ),
        Err(_) => (AstGrep::new(String::from_utf8_lossy(source), lang), false),
    }
}
