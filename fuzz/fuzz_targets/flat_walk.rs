//! The flat walk (csrc/tree_walk.c, reading tree-sitter's internal subtrees) against
//! tree-sitter's public cursor, node for node, on any bytes in the grammar the first byte picks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use patmine::dialect::Grammar;
use patmine::tree_walk;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, source)) = data.split_first() else {
        return;
    };
    let grammar = Grammar::ALL[pick as usize % Grammar::ALL.len()];
    let Ok(tree) = patmine::analyze::parse_as(grammar, source) else {
        return;
    };
    let (mut flat, mut cursor) = (Vec::new(), Vec::new());
    let flat = tree_walk::flatten(&tree, &mut flat, &[]).expect("flat walk");
    let cursor = tree_walk::flatten_with_cursor(&tree, &mut cursor, &[]).expect("cursor walk");
    assert_eq!(flat.nodes(), cursor.nodes());
});
