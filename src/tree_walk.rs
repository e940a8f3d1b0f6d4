//! A parsed tree as a flat, pre-order list of its visible nodes, written by one C pass over
//! tree-sitter's own subtrees (`csrc/tree_walk.c`).
//!
//! tree-sitter's `TreeCursor` rebuilds its child iterator on every step to a sibling and answers
//! each property through another call, which makes a whole-tree walk costly (measured in
//! docs/performance.md). This list holds the same nodes, in the same order, with what the walk
//! reads (kind, named, extra, field, byte range, child count) and a `Node` for everything else. The
//! tests below check it against the cursor, node for node (and, where `flatten` leaves out the
//! subtrees of opaque kinds, against the cursor walk without them).
//!
//! The C pass reads tree-sitter's internals, so it is tied to the pinned tree-sitter version.
//! `flatten_with_cursor` builds the same list through tree-sitter's public API only; the tests
//! compare the two entry for entry, and `PATMINE_TREE_WALK=cursor` makes every analysis use it,
//! so a tree-sitter upgrade can run (slower) before the C is re-derived.

use tree_sitter::{Node, Tree, ffi};

/// One visible node. The layout is that of `PatmineFlatNode` in `csrc/tree_walk.c`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct FlatNode {
    id: *const std::ffi::c_void,
    start_byte: u32,
    end_byte: u32,
    start_row: u32,
    next: u32,
    child_count: u32,
    kind: u16,
    field: u16,
    named: u8,
    extra: u8,
    padding: [u8; 6],
}

/// Every field but the padding: two listings of one tree (the flat walk's and the cursor's, in
/// tests and fuzzing) agree node for node.
impl PartialEq for FlatNode {
    fn eq(&self, other: &FlatNode) -> bool {
        let facts = |n: &FlatNode| {
            (
                n.id,
                n.start_byte,
                n.end_byte,
                n.start_row,
                n.next,
                n.child_count,
                n.kind,
                n.field,
                n.named,
                n.extra,
            )
        };
        facts(self) == facts(other)
    }
}

impl Eq for FlatNode {}

impl std::fmt::Debug for FlatNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlatNode")
            .field("kind", &self.kind)
            .field("named", &(self.named != 0))
            .field("extra", &(self.extra != 0))
            .field("field", &self.field)
            .field("bytes", &(self.start_byte..self.end_byte))
            .field("row", &self.start_row)
            .field("child_count", &self.child_count)
            .field("next", &self.next)
            .finish()
    }
}

// The layout `csrc/tree_walk.c` asserts too: neither side builds if they disagree.
const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(size_of::<FlatNode>() == 40);
    assert!(offset_of!(FlatNode, start_byte) == 8);
    assert!(offset_of!(FlatNode, end_byte) == 12);
    assert!(offset_of!(FlatNode, start_row) == 16);
    assert!(offset_of!(FlatNode, next) == 20);
    assert!(offset_of!(FlatNode, child_count) == 24);
    assert!(offset_of!(FlatNode, kind) == 28);
    assert!(offset_of!(FlatNode, field) == 30);
    assert!(offset_of!(FlatNode, named) == 32);
    assert!(offset_of!(FlatNode, extra) == 33);
};

unsafe extern "C" {
    fn patmine_flatten_tree(
        root: ffi::TSNode,
        out: *mut FlatNode,
        capacity: u32,
        opaque: *const u8,
        opaque_len: u32,
        nodes: *mut ffi::TSNode,
    ) -> i64;
}

#[derive(Debug, thiserror::Error)]
pub enum FlattenError {
    #[error("the tree has more nodes ({0}) than a flat walk indexes")]
    TooLarge(usize),
    #[error("the flat tree walk found more nodes than the tree reports")]
    Miscount,
    #[error("the flat tree walk ran out of memory")]
    OutOfMemory,
    #[error("a query captured a node the flat tree walk did not list")]
    NotListed,
}

/// The visible nodes of one tree, root first, in pre-order (the order of a `TreeCursor` walk).
#[derive(Clone, Copy)]
pub struct FlatTree<'tree, 'list> {
    /// Only holds nodes of this tree (see `flatten`).
    _tree: &'tree Tree,
    nodes: &'list [FlatNode],
    /// Each listed node as tree-sitter makes it, when asked for (`flatten_tree_with_nodes`);
    /// empty otherwise.
    raw: &'list [ffi::TSNode],
}

impl<'tree> FlatTree<'tree, '_> {
    pub fn nodes(&self) -> &[FlatNode] {
        self.nodes
    }

    /// Whether every node of the tree is listed with its node (`flatten_tree_with_nodes`), as
    /// `visit` needs.
    pub fn has_nodes(&self) -> bool {
        !self.raw.is_empty() && self.raw.len() == self.nodes.len()
    }

    /// Visits the listed nodes in order, as `visit_visible` does. Only for a list made with its
    /// nodes (`has_nodes`); visits nothing otherwise.
    pub fn visit(
        &self,
        buffers: &mut VisitBuffers,
        visit: impl FnMut(Node<'tree>, u16, Option<u16>, usize),
    ) {
        if self.has_nodes() {
            // SAFETY: the nodes were made from subtrees of `_tree`, which outlives 'tree.
            unsafe { visit_listed(self.nodes, self.raw, &mut buffers.parents, visit) }
        }
    }

    /// The indexes of the visible children of the node at `index`, in order (none for a node
    /// whose descendants `flatten` left out).
    pub fn children(&self, index: usize) -> impl Iterator<Item = usize> + '_ {
        let end = self.nodes[index].next();
        let mut at = index + 1;
        std::iter::from_fn(move || {
            (at < end).then(|| {
                let child = at;
                at = self.nodes[child].next();
                child
            })
        })
    }

    /// The first visible child of the node at `index` with this field.
    pub fn child_with_field(&self, index: usize, field: u16) -> Option<usize> {
        if field == 0 {
            return None;
        }
        self.children(index)
            .find(|&c| self.nodes[c].field_id() == field)
    }

    /// The index of `node`, a node of this tree, or `None` if it is not a visible node.
    /// Entries are in order of their start byte (pre-order), so this is a binary search.
    pub fn index_of(&self, node: Node<'_>) -> Option<usize> {
        let (start, id) = (node.start_byte(), node.id());
        let first = self.nodes.partition_point(|n| n.start_byte() < start);
        self.nodes[first..]
            .iter()
            .take_while(|n| n.start_byte() == start)
            .position(|n| n.id() == id)
            .map(|i| first + i)
    }
}

impl FlatNode {
    /// The node's identity, as `Node::id` gives it.
    pub fn id(&self) -> usize {
        self.id as usize
    }

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
        self.start_byte as usize
    }

    pub fn end_byte(&self) -> usize {
        self.end_byte as usize
    }

    /// 0-based row of the node's first byte.
    pub fn start_row(&self) -> usize {
        self.start_row as usize
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
/// to the next. The descendants of a named node whose kind id is marked `true` in `opaque` are
/// left out (the node itself is listed, with its child count, and `next` right after it): a
/// string's quotes and fragments are many of a JavaScript tree's visible nodes, and the
/// normalizer never reads them. An empty `opaque` lists every node.
pub fn flatten<'tree, 'list>(
    tree: &'tree Tree,
    nodes: &'list mut Vec<FlatNode>,
    opaque: &[bool],
) -> Result<FlatTree<'tree, 'list>, FlattenError> {
    flatten_into(tree, nodes, None, opaque)
}

/// `flatten`, and each listed node as tree-sitter makes it into `raw` when given.
fn flatten_into<'tree, 'list>(
    tree: &'tree Tree,
    nodes: &'list mut Vec<FlatNode>,
    mut raw: Option<&'list mut Vec<ffi::TSNode>>,
    opaque: &[bool],
) -> Result<FlatTree<'tree, 'list>, FlattenError> {
    // Kind ids are 16-bit: the C side reads `opaque` only below the smaller of both lengths.
    let opaque_len = u32::try_from(opaque.len()).unwrap_or(u32::MAX);
    let root = tree.root_node();
    let count = root.descendant_count();
    let capacity = u32::try_from(count).map_err(|_| FlattenError::TooLarge(count))?;
    nodes.clear();
    nodes.reserve(count);
    let raw_out = match raw.as_deref_mut() {
        Some(raw) => {
            raw.clear();
            raw.reserve(count);
            raw.as_mut_ptr()
        }
        None => std::ptr::null_mut(),
    };
    // SAFETY: `nodes` (and `raw`, when given) has room for `capacity` entries; the C side writes
    // at most that many, each entry whole, and returns how many it wrote. `root` belongs to
    // `tree`, alive for the call. `opaque` is read, as bytes (a `bool` is one byte, 0 or 1), at
    // indexes below its length.
    let written = unsafe {
        patmine_flatten_tree(
            root.into_raw(),
            nodes.as_mut_ptr(),
            capacity,
            opaque.as_ptr().cast(),
            opaque_len,
            raw_out,
        )
    };
    match written {
        -1 => Err(FlattenError::Miscount),
        n if n < 0 => Err(FlattenError::OutOfMemory),
        n => {
            // SAFETY: the first `n` (≤ capacity) entries of both were initialized by the C side.
            unsafe { nodes.set_len(n as usize) };
            let raw: &'list [ffi::TSNode] = match raw {
                Some(raw) => {
                    unsafe { raw.set_len(n as usize) };
                    raw
                }
                None => &[],
            };
            Ok(FlatTree {
                _tree: tree,
                nodes,
                raw,
            })
        }
    }
}

/// Which walk lists a tree's nodes: the C pass, or tree-sitter's cursor when the environment
/// says `PATMINE_TREE_WALK=cursor`.
pub fn flatten_tree<'tree, 'list>(
    tree: &'tree Tree,
    nodes: &'list mut Vec<FlatNode>,
    opaque: &[bool],
) -> Result<FlatTree<'tree, 'list>, FlattenError> {
    if cursor_forced() {
        flatten_with_cursor(tree, nodes, opaque)
    } else {
        flatten(tree, nodes, opaque)
    }
}

/// `flatten_tree` of every node (none left out), each with its node in `raw`, for walks that
/// hand nodes on (the trackers'). With `PATMINE_TREE_WALK=cursor` the list has no nodes, and
/// `FlatTree::visit` visits nothing: callers walk with `visit_visible` then.
pub fn flatten_tree_with_nodes<'tree, 'list>(
    tree: &'tree Tree,
    nodes: &'list mut Vec<FlatNode>,
    raw: &'list mut Vec<ffi::TSNode>,
) -> Result<FlatTree<'tree, 'list>, FlattenError> {
    if cursor_forced() {
        flatten_with_cursor(tree, nodes, &[])
    } else {
        flatten_into(tree, nodes, Some(raw), &[])
    }
}

/// Whether the environment says `PATMINE_TREE_WALK=cursor`: every walk then goes through
/// tree-sitter's public cursor.
fn cursor_forced() -> bool {
    static CURSOR: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *CURSOR
        .get_or_init(|| std::env::var_os("PATMINE_TREE_WALK").is_some_and(|walk| walk == "cursor"))
}

/// Buffers `visit_visible` keeps from one call to the next.
#[derive(Default)]
pub struct VisitBuffers {
    list: Vec<FlatNode>,
    nodes: Vec<ffi::TSNode>,
    parents: Vec<(usize, u16)>,
}

/// Visits every visible node under `top` (itself first) in pre-order, as a `TreeCursor` walk
/// does, with its kind id, its parent's kind id and its depth (`top` is at 0). The C pass lists
/// them with their nodes, which is several times faster than stepping a cursor; with
/// `PATMINE_TREE_WALK=cursor`, or a tree too large to list, the cursor walks.
pub fn visit_visible<'t>(
    top: Node<'t>,
    buffers: &mut VisitBuffers,
    visit: impl FnMut(Node<'t>, u16, Option<u16>, usize),
) {
    let count = top.descendant_count();
    let listed = match u32::try_from(count) {
        Ok(capacity) if !cursor_forced() => {
            let VisitBuffers { list, nodes, .. } = &mut *buffers;
            list.clear();
            nodes.clear();
            list.reserve(count);
            nodes.reserve(count);
            // SAFETY: both buffers have room for `capacity` entries; the C side writes at most
            // that many into each, whole, and returns how many. `top` and its tree are alive
            // for the call; no kind is opaque (a length of 0).
            let written = unsafe {
                patmine_flatten_tree(
                    top.into_raw(),
                    list.as_mut_ptr(),
                    capacity,
                    std::ptr::null(),
                    0,
                    nodes.as_mut_ptr(),
                )
            };
            (written >= 0).then(|| {
                // SAFETY: the first `written` (≤ capacity) entries of both were initialized.
                unsafe {
                    list.set_len(written as usize);
                    nodes.set_len(written as usize);
                }
            })
        }
        _ => None,
    };
    if listed.is_none() {
        return visit_with_cursor(top, visit);
    }
    let VisitBuffers {
        list,
        nodes,
        parents,
    } = buffers;
    // SAFETY: the C pass made every node of `nodes` from a subtree of `top`'s tree.
    unsafe { visit_listed(list, nodes, parents, visit) }
}

/// Visits `list` in order with each entry's node from `raw`, its kind, its parent's kind and its
/// depth, keeping the open ancestors in `parents`.
///
/// # Safety
/// `raw[i]` must be the node of `list[i]`, made from a subtree of a tree that outlives 't.
unsafe fn visit_listed<'t>(
    list: &[FlatNode],
    raw: &[ffi::TSNode],
    parents: &mut Vec<(usize, u16)>,
    mut visit: impl FnMut(Node<'t>, u16, Option<u16>, usize),
) {
    parents.clear();
    for (index, (entry, &raw)) in list.iter().zip(raw).enumerate() {
        while parents.last().is_some_and(|&(end, _)| end <= index) {
            parents.pop();
        }
        // SAFETY: the caller's promise.
        let node = unsafe { Node::from_raw(raw) };
        visit(
            node,
            entry.kind,
            parents.last().map(|&(_, kind)| kind),
            parents.len(),
        );
        if entry.next() > index + 1 {
            parents.push((entry.next(), entry.kind));
        }
    }
}

/// `visit_visible` through tree-sitter's cursor.
fn visit_with_cursor<'t>(top: Node<'t>, mut visit: impl FnMut(Node<'t>, u16, Option<u16>, usize)) {
    let mut cursor = top.walk();
    let mut parents: Vec<u16> = Vec::new();
    loop {
        let node = cursor.node();
        let kind = node.kind_id();
        visit(node, kind, parents.last().copied(), parents.len());
        // Pre-order: down, else along, else up and along.
        if cursor.goto_first_child() {
            parents.push(kind);
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                break;
            }
            parents.pop();
        }
        if parents.is_empty() && cursor.node() == top {
            break;
        }
    }
}

/// The list `flatten` makes, built with tree-sitter's public `TreeCursor` only (no recursion).
pub fn flatten_with_cursor<'tree, 'list>(
    tree: &'tree Tree,
    nodes: &'list mut Vec<FlatNode>,
    opaque: &[bool],
) -> Result<FlatTree<'tree, 'list>, FlattenError> {
    let too_large = || FlattenError::TooLarge(tree.root_node().descendant_count());
    let small = |n: usize| u32::try_from(n).map_err(|_| too_large());
    nodes.clear();
    nodes.reserve(tree.root_node().descendant_count());
    let mut cursor = tree.walk();
    // The listed nodes whose descendants are being listed: their `next` is set on the way up.
    let mut open: Vec<usize> = Vec::new();
    loop {
        let node = cursor.node();
        let index = nodes.len();
        nodes.push(FlatNode {
            id: node.id() as *const std::ffi::c_void,
            start_byte: small(node.start_byte())?,
            end_byte: small(node.end_byte())?,
            start_row: small(node.start_position().row)?,
            next: small(index + 1)?,
            child_count: node.child_count(),
            kind: node.kind_id(),
            field: cursor.field_id().map_or(0, |f| f.get()),
            named: u8::from(node.is_named()),
            extra: u8::from(node.is_extra()),
            padding: [0; 6],
        });
        let opaque_node = node.is_named() && opaque.get(node.kind_id() as usize) == Some(&true);
        if !opaque_node && cursor.goto_first_child() {
            open.push(index);
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return Ok(FlatTree {
                    _tree: tree,
                    nodes,
                    raw: &[],
                });
            }
            let parent = open.pop().ok_or(FlattenError::Miscount)?;
            nodes[parent].next = small(nodes.len())?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::Grammar;

    /// What a walk sees of a node: depth, id, kind, named, extra, field, start, end, start row,
    /// child count.
    type Seen = (
        usize,
        usize,
        u16,
        bool,
        bool,
        u16,
        usize,
        usize,
        usize,
        usize,
    );

    fn cursor_walk(tree: &Tree) -> Vec<Seen> {
        let mut out = Vec::new();
        crate::analyze::walk_tree(tree, |cursor, depth| {
            let node = cursor.node();
            out.push((
                depth as usize,
                node.id(),
                node.kind_id(),
                node.is_named(),
                node.is_extra(),
                cursor.field_id().map_or(0, |f| f.get()),
                node.start_byte(),
                node.end_byte(),
                node.start_position().row,
                node.child_count() as usize,
            ));
        });
        out
    }

    /// The cursor walk without the descendants of named nodes of the `opaque` kinds.
    fn cursor_walk_leaving_out(tree: &Tree, opaque: &[bool]) -> Vec<Seen> {
        let mut out = Vec::new();
        let mut opaque_depth: Option<usize> = None;
        for seen in cursor_walk(tree) {
            let (depth, kind, named) = (seen.0, seen.2, seen.3);
            if opaque_depth.is_some_and(|d| depth > d) {
                continue;
            }
            opaque_depth = (named && opaque.get(kind as usize) == Some(&true)).then_some(depth);
            out.push(seen);
        }
        out
    }

    fn flat_walk(tree: &Tree) -> Vec<Seen> {
        flat_walk_leaving_out(tree, &[])
    }

    fn flat_walk_leaving_out(tree: &Tree, opaque: &[bool]) -> Vec<Seen> {
        let mut buffer = Vec::new();
        let flat = flatten(tree, &mut buffer, opaque).expect("flattens");
        // The cursor-built list is the same list, entry for entry.
        let mut by_cursor = Vec::new();
        let listed = flatten_with_cursor(tree, &mut by_cursor, opaque).expect("flattens");
        assert_eq!(listed.nodes().len(), flat.nodes().len(), "entries");
        for (i, (c, r)) in flat.nodes().iter().zip(listed.nodes()).enumerate() {
            assert_eq!(c, r, "entry {i}");
        }
        let mut open: Vec<usize> = Vec::new();
        let mut out = Vec::new();
        for (i, n) in flat.nodes().iter().enumerate() {
            while open.last().is_some_and(|&end| end <= i) {
                open.pop();
            }
            out.push((
                open.len(),
                n.id(),
                n.kind_id(),
                n.is_named(),
                n.is_extra(),
                n.field_id(),
                n.start_byte(),
                n.end_byte(),
                n.start_row(),
                n.child_count(),
            ));
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
        assert_same_structure(&tree);
        assert_same_visit(tree.root_node());
        if let Some(first) = tree.root_node().child(0) {
            assert_same_visit(first);
        }
        // Leaving out what the normalizer never reads leaves out exactly that.
        let vocabulary = crate::normalize::Vocabulary::new(&grammar.language());
        let opaque = vocabulary.opaque_kinds();
        let (cursor, flat) = (
            cursor_walk_leaving_out(&tree, opaque),
            flat_walk_leaving_out(&tree, opaque),
        );
        assert_eq!(cursor.len(), flat.len(), "{grammar:?}: node count, opaque");
        for (i, (c, f)) in cursor.iter().zip(&flat).enumerate() {
            assert_eq!(c, f, "{grammar:?}: node {i} differs, opaque");
        }
    }

    /// `visit_visible` gives the nodes (as `TreeCursor::node` makes them, context included),
    /// kinds, parent kinds and depths of the cursor walk under `top`.
    fn assert_same_visit(top: Node<'_>) {
        let seen = |node: Node<'_>, kind: u16, parent: Option<u16>, depth: usize| {
            let raw = node.into_raw();
            (
                raw.context,
                raw.id as usize,
                raw.tree as usize,
                kind,
                parent,
                depth,
            )
        };
        let mut by_cursor = Vec::new();
        visit_with_cursor(top, |n, k, p, d| by_cursor.push(seen(n, k, p, d)));
        let mut listed = Vec::new();
        let mut buffers = VisitBuffers::default();
        visit_visible(top, &mut buffers, |n, k, p, d| {
            listed.push(seen(n, k, p, d))
        });
        assert_eq!(by_cursor.len(), listed.len(), "visited nodes");
        for (i, (c, l)) in by_cursor.iter().zip(&listed).enumerate() {
            assert_eq!(c, l, "visited node {i}");
        }
        // The buffers are reused: a second visit sees the same.
        let mut again = Vec::new();
        visit_visible(top, &mut buffers, |n, k, p, d| again.push(seen(n, k, p, d)));
        assert_eq!(again, listed);
    }

    /// `children`, `child_with_field` and `index_of` answer as tree-sitter's `Node` does.
    fn assert_same_structure(tree: &Tree) {
        let mut buffer = Vec::new();
        let flat = flatten(tree, &mut buffer, &[]).expect("flattens");
        let nodes = flat.nodes();
        let language = tree.language();
        let mut index = 0;
        crate::analyze::walk_tree(tree, |cursor, _| {
            let node = cursor.node();
            assert_eq!(flat.index_of(node), Some(index), "index of node {index}");
            let mut c = node.walk();
            let children: Vec<usize> = node.children(&mut c).map(|n| n.id()).collect();
            let listed: Vec<usize> = flat.children(index).map(|i| nodes[i].id()).collect();
            assert_eq!(children, listed, "children of node {index}");
            for field in 1..=language.field_count() as u16 {
                let name = language.field_name_for_id(field).expect("field name");
                assert_eq!(
                    node.child_by_field_name(name).map(|n| n.id()),
                    flat.child_with_field(index, field).map(|i| nodes[i].id()),
                    "field {name} of node {index}"
                );
            }
            assert_eq!(
                flat.child_with_field(index, 0),
                None,
                "no child has field 0"
            );
            index += 1;
        });
        let elsewhere = parse(Grammar::JavaScript, "x;");
        assert_eq!(
            flat.index_of(elsewhere.root_node()),
            None,
            "another tree's node"
        );
    }

    #[test]
    fn the_flat_walk_is_the_cursor_walk_on_every_fixture() {
        let sources = crate::dialect::fixture_sources();
        for (dialect, bytes) in &sources {
            let source = String::from_utf8_lossy(bytes);
            // Both grammars of the dialect: the fallback's trees of .js files are full of
            // ERROR nodes, which the walk must handle too.
            assert_same_walk(dialect.grammar(), &source);
            if let Some(fallback) = dialect.fallback() {
                assert_same_walk(fallback, &source);
            }
        }
        assert!(
            sources.len() >= 10,
            "only {} fixture files walked",
            sources.len()
        );
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
        let flat = flatten(&tree, &mut buffer, &[]).expect("flattens");
        let nodes = flat.nodes();
        assert_eq!(nodes.len(), tree.root_node().descendant_count());
        assert_eq!(nodes[0].next(), nodes.len());
        assert_eq!(nodes[1].next(), nodes.len(), "the statement holds the rest");
        let mut by_cursor = Vec::new();
        let listed = flatten_with_cursor(&tree, &mut by_cursor, &[]).expect("flattens");
        assert_eq!(listed.nodes().len(), nodes.len());
        assert_eq!(listed.nodes()[1].next(), nodes.len());
    }
}
