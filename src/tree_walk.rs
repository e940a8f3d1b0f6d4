//! A parsed tree as a flat, pre-order list of its visible nodes, written by one C pass over
//! tree-sitter's own subtrees (`csrc/tree_walk.c`).
//!
//! tree-sitter's `TreeCursor` rebuilds its child iterator on every step to a sibling and answers
//! each property through another call; on the normalizer's whole-tree walk that was a third of the
//! analysis cost. This list holds the same nodes, in the same order, with what the walk reads
//! (kind, named, extra, field, byte range, child count) and a `Node` for everything else. The
//! tests below check it against the cursor, node for node.

use tree_sitter::{Node, Tree, ffi};

/// One visible node. The layout is that of `PatmineFlatNode` in `csrc/tree_walk.c`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct FlatNode {
    raw: ffi::TSNode,
    end_byte: u32,
    next: u32,
    child_count: u32,
    kind: u16,
    field: u16,
    named: u8,
    extra: u8,
    padding: [u8; 2],
}

// The offsets `csrc/tree_walk.c` asserts too: neither side builds if they disagree.
const _: () = {
    use std::mem::{offset_of, size_of};
    let node = size_of::<ffi::TSNode>();
    assert!(offset_of!(FlatNode, end_byte) == node);
    assert!(offset_of!(FlatNode, next) == node + 4);
    assert!(offset_of!(FlatNode, child_count) == node + 8);
    assert!(offset_of!(FlatNode, kind) == node + 12);
    assert!(offset_of!(FlatNode, field) == node + 14);
    assert!(offset_of!(FlatNode, named) == node + 16);
    assert!(offset_of!(FlatNode, extra) == node + 17);
};

unsafe extern "C" {
    fn patmine_flatten_tree(root: ffi::TSNode, out: *mut FlatNode, capacity: u32) -> i64;
}

#[derive(Debug, thiserror::Error)]
pub enum FlattenError {
    #[error("the tree has more nodes ({0}) than a flat walk indexes")]
    TooLarge(usize),
    #[error("the flat tree walk found more nodes than the tree reports")]
    Miscount,
    #[error("the flat tree walk ran out of memory")]
    OutOfMemory,
}

/// The visible nodes of one tree, root first, in pre-order (the order of a `TreeCursor` walk).
#[derive(Clone, Copy)]
pub struct FlatTree<'tree, 'list> {
    /// Only holds nodes of this tree (see `flatten`).
    _tree: &'tree Tree,
    nodes: &'list [FlatNode],
}

impl<'tree> FlatTree<'tree, '_> {
    pub fn nodes(&self) -> &[FlatNode] {
        self.nodes
    }

    /// The `index`th node as a `Node`, for what the list does not hold.
    pub fn node(&self, index: usize) -> Node<'tree> {
        // SAFETY: every entry was written by `patmine_flatten_tree` from a node of `_tree`,
        // which `'tree` keeps alive.
        unsafe { Node::from_raw(self.nodes[index].raw) }
    }
}

impl FlatNode {
    pub fn kind_id(&self) -> u16 {
        self.kind
    }

    pub fn is_named(&self) -> bool {
        self.named != 0
    }

    pub fn is_extra(&self) -> bool {
        self.extra != 0
    }

    /// The field id of this node in its visible parent, 0 for none (as `TreeCursor::field_id`).
    pub fn field_id(&self) -> u16 {
        self.field
    }

    pub fn start_byte(&self) -> usize {
        self.raw.context[0] as usize
    }

    pub fn end_byte(&self) -> usize {
        self.end_byte as usize
    }

    /// Visible children (as `Node::child_count`).
    pub fn child_count(&self) -> usize {
        self.child_count as usize
    }

    /// Index of the first node after this one's subtree: its descendants are the entries up to it.
    pub fn next(&self) -> usize {
        self.next as usize
    }
}

/// Lists the visible nodes of `tree` in `nodes`, a buffer whose capacity is kept from one call
/// to the next.
pub fn flatten<'tree, 'list>(
    tree: &'tree Tree,
    nodes: &'list mut Vec<FlatNode>,
) -> Result<FlatTree<'tree, 'list>, FlattenError> {
    let root = tree.root_node();
    let count = root.descendant_count();
    let capacity = u32::try_from(count).map_err(|_| FlattenError::TooLarge(count))?;
    nodes.clear();
    nodes.reserve(count);
    // SAFETY: `nodes` has room for `capacity` entries; the C side writes at most that many, each
    // entry whole, and returns how many it wrote. `root` belongs to `tree`, alive for the call.
    let written = unsafe { patmine_flatten_tree(root.into_raw(), nodes.as_mut_ptr(), capacity) };
    match written {
        -1 => Err(FlattenError::Miscount),
        n if n < 0 => Err(FlattenError::OutOfMemory),
        n => {
            // SAFETY: the first `n` (≤ capacity) entries were initialized by the C side.
            unsafe { nodes.set_len(n as usize) };
            Ok(FlatTree { _tree: tree, nodes })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::Grammar;

    /// What a walk sees of a node: depth, kind, named, extra, field, start, end, child count.
    type Seen = (usize, u16, bool, bool, u16, usize, usize, usize);

    fn cursor_walk(tree: &Tree) -> Vec<Seen> {
        let mut out = Vec::new();
        crate::analyze::walk_tree(tree, |cursor, depth| {
            let node = cursor.node();
            out.push((
                depth as usize,
                node.kind_id(),
                node.is_named(),
                node.is_extra(),
                cursor.field_id().map_or(0, |f| f.get()),
                node.start_byte(),
                node.end_byte(),
                node.child_count() as usize,
            ));
        });
        out
    }

    fn flat_walk(tree: &Tree) -> Vec<Seen> {
        let mut buffer = Vec::new();
        let flat = flatten(tree, &mut buffer).expect("flattens");
        let mut open: Vec<usize> = Vec::new();
        let mut out = Vec::new();
        for (i, n) in flat.nodes().iter().enumerate() {
            while open.last().is_some_and(|&end| end <= i) {
                open.pop();
            }
            out.push((
                open.len(),
                n.kind_id(),
                n.is_named(),
                n.is_extra(),
                n.field_id(),
                n.start_byte(),
                n.end_byte(),
                n.child_count(),
            ));
            let node = flat.node(i);
            assert_eq!(
                (
                    node.kind_id(),
                    node.start_byte(),
                    node.end_byte(),
                    node.is_named()
                ),
                (n.kind_id(), n.start_byte(), n.end_byte(), n.is_named()),
                "the entry's node is the node it describes"
            );
            open.push(n.next());
        }
        out
    }

    fn parse(grammar: Grammar, source: &str) -> Tree {
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&grammar.language()).expect("grammar");
        parser.parse(source, None).expect("tree")
    }

    fn assert_same_walk(grammar: Grammar, source: &str) {
        let tree = parse(grammar, source);
        let (cursor, flat) = (cursor_walk(&tree), flat_walk(&tree));
        assert_eq!(cursor.len(), flat.len(), "{grammar:?}: node count");
        for (i, (c, f)) in cursor.iter().zip(&flat).enumerate() {
            assert_eq!(c, f, "{grammar:?}: node {i} differs");
        }
    }

    #[test]
    fn the_flat_walk_is_the_cursor_walk_on_every_fixture() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut stack = vec![root];
        let mut files = 0;
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("fixtures are readable") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let Some(dialect) =
                    crate::dialect::Dialect::from_path(path.to_string_lossy().as_bytes())
                else {
                    continue;
                };
                let source =
                    String::from_utf8_lossy(&std::fs::read(&path).expect("read")).into_owned();
                // Both grammars of the dialect: the fallback's trees of .js files are full of
                // ERROR nodes, which the walk must handle too.
                assert_same_walk(dialect.grammar(), &source);
                if let Some(fallback) = dialect.fallback() {
                    assert_same_walk(fallback, &source);
                }
                files += 1;
            }
        }
        assert!(files >= 10, "only {files} fixture files walked");
    }

    #[test]
    fn the_flat_walk_is_the_cursor_walk_on_aliases_fields_extras_and_errors() {
        // Aliased nodes (shorthand properties, `property_identifier`), hidden nodes with fields
        // (`_call_signature`, `_property_name`), extras (comments between anything), JSX, and
        // broken code with ERROR and MISSING nodes.
        let cases = [
            (
                Grammar::JavaScript,
                "const {a, b: [c], ...d} = e; /* x */ f(a)/*y*/.g?.(h, ...i);",
            ),
            (
                Grammar::JavaScript,
                "class A extends B { static #x = 1; get y() { return this.#x } }",
            ),
            (
                Grammar::JavaScript,
                "const x = <div a={1} {...b}>t{c}<br/></div>; export default x;",
            ),
            (
                Grammar::JavaScript,
                "function ( { if (a b) } ] ) ;; let = ;",
            ),
            (
                Grammar::TypeScript,
                "interface I<T> extends J { a?: T; (x: number): string }",
            ),
            (
                Grammar::TypeScript,
                "function f<T extends keyof U>(this: V, a?: T): asserts a is T {}",
            ),
            (
                Grammar::TypeScript,
                "enum E { A = 1, B } type T = A | B & C; abstract class K { abstract m(): void }",
            ),
            (
                Grammar::Tsx,
                "const C = <T,>(p: P<T>) => <div>{p.x as any}</div>;",
            ),
            (Grammar::Tsx, "let a: = ; <div"),
        ];
        for (grammar, source) in cases {
            assert_same_walk(grammar, source);
        }
    }

    #[test]
    fn a_deeply_nested_tree_flattens_without_recursion() {
        let depth = 20_000;
        let source = format!("x = {}1{};", "[".repeat(depth), "]".repeat(depth));
        let tree = parse(Grammar::JavaScript, &source);
        let mut buffer = Vec::new();
        let flat = flatten(&tree, &mut buffer).expect("flattens");
        let nodes = flat.nodes();
        assert_eq!(nodes.len(), tree.root_node().descendant_count());
        assert_eq!(nodes[0].next(), nodes.len());
        assert_eq!(nodes[1].next(), nodes.len(), "the statement holds the rest");
    }
}
