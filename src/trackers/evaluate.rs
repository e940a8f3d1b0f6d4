//! Counting every tree tracker of a set on one tree in one walk, whatever the number of trackers.
//!
//! The walk visits every visible node once (`tree_walk::visit_visible`). At each node it tries only the
//! ast-grep rules whose potential kinds include the node's kind (ast-grep's own `CombinedScan`
//! does the same), wrapping the node for ast-grep only then, and the query trackers made of
//! single-node patterns (`(kind) @c`, `"token" @c`, `(parent (kind) @c)`), matched by kind id
//! and parent kind id as the root queries' walk does (`queries::SimpleMatcher`). Any other query
//! runs through tree-sitter's query cursor, all of a grammar's compiled into one query. Counts
//! equal each tracker run alone: `find_all` also tests every node once, and a query's captured
//! nodes count once per tracker.

use ast_grep_config::RuleCore;
use ast_grep_core::Matcher;
use ast_grep_core::matcher::MatcherExt;
use tree_sitter::{Query, QueryCursor, StreamingIterator, Tree};

use super::{TreeRule, TreeTracker, ast_grep};
use crate::analyze::MAX_ROOT_DEPTH;
use crate::dialect::Grammar;
use crate::queries::SimpleMatcher;
use crate::tree_walk::{FlatTree, VisitBuffers, visit_visible};

/// What a walk calls at each visible node: the node, its kind, its parent's kind, its depth.
type NodeVisit<'v> = dyn for<'t> FnMut(tree_sitter::Node<'t>, u16, Option<u16>, usize) + 'v;

thread_local! {
    /// The walk's lists, kept from one tree to the next on each worker thread.
    static WALK_BUFFERS: std::cell::RefCell<VisitBuffers> =
        std::cell::RefCell::new(VisitBuffers::default());
}

/// A rule `X` that `has` (`stopBy: end`) a `Y`, as its two parts. ast-grep decides it by
/// searching every `X` node's whole subtree for a `Y`, which is quadratic in nesting (the React
/// hook rule, on a test file of nested callbacks); the walk decides every node at once: each
/// `Y` marks the open `X` nodes above it, and an `X` counts when it closes marked.
pub(super) struct Enclosing {
    pub outer: RuleCore,
    pub inner: RuleCore,
}

/// An `Enclosing` tracker in a grammar's plan: its position and the kinds each part may match
/// (`None`: any).
struct EnclosingPlan {
    position: u32,
    outer_kinds: Option<Vec<bool>>,
    inner_kinds: Option<Vec<bool>>,
}

/// The walk's state for one `Enclosing` tracker: the open `X` nodes, outermost first, with
/// their depth and whether a `Y` was found below them.
#[derive(Default)]
struct OpenOuter(Vec<(usize, bool)>);

impl OpenOuter {
    /// Closes the `X` nodes at `depth` or deeper (a node at `depth` is not below them), and
    /// returns how many of them count.
    fn close_to(&mut self, depth: usize) -> u32 {
        let mut counted = 0;
        while let Some(&(d, found)) = self.0.last() {
            if d < depth {
                break;
            }
            counted += u32::from(found);
            self.0.pop();
        }
        counted
    }

    /// A `Y` below every open `X`: marks them, innermost first. An `X` already marked has every
    /// `X` around it marked too (they were open when it was), so the marking stops there.
    fn mark(&mut self) {
        for (_, found) in self.0.iter_mut().rev() {
            if *found {
                break;
            }
            *found = true;
        }
    }
}

fn kinds_of(rule: &RuleCore, count: usize) -> Option<Vec<bool>> {
    rule.potential_kinds().map(|kinds| {
        let mut mask = vec![false; count];
        for kind in kinds.iter() {
            if let Some(slot) = mask.get_mut(kind) {
                *slot = true;
            }
        }
        mask
    })
}

/// Per grammar: which tracker may match a node of each kind, and the combined query.
pub(super) struct Plan {
    grammars: Vec<GrammarPlan>,
}

#[derive(Default)]
struct GrammarPlan {
    /// Node kind id -> positions (in the set's distinct tree trackers) of ast-grep rules that
    /// may match it.
    by_kind: Vec<Vec<u32>>,
    /// ast-grep rules with no kind restriction: tried on every node.
    any_kind: Vec<u32>,
    /// Query trackers the walk matches itself, with their positions.
    simple: Vec<(u32, SimpleMatcher)>,
    /// Rules the walk decides as `Enclosing` parts.
    enclosing: Vec<EnclosingPlan>,
    /// Rules the walk decides by kind and parent kind: position, kind, parent kind.
    kind_in_parent: Vec<(u32, u16, u16)>,
    /// Every other query tracker of this grammar in one query, and each pattern's tracker.
    query: Option<(Query, Vec<u32>)>,
}

impl Plan {
    pub(super) fn new(trackers: &[&TreeTracker]) -> Result<Plan, String> {
        let mut grammars = Vec::new();
        for grammar in Grammar::ALL {
            let language = grammar.language();
            let mut plan = GrammarPlan {
                by_kind: vec![Vec::new(); language.node_kind_count()],
                ..GrammarPlan::default()
            };
            let mut text = String::new();
            let mut owners = Vec::new();
            for (position, tracker) in trackers.iter().enumerate() {
                let position = position as u32;
                match tracker.rule(grammar) {
                    None => {}
                    Some(TreeRule::AstGrep(_)) if tracker.kind_in_parent(grammar).is_some() => {
                        let (kind, parent) =
                            tracker.kind_in_parent(grammar).expect("checked above");
                        plan.kind_in_parent.push((position, kind, parent));
                    }
                    Some(TreeRule::AstGrep(_)) if tracker.enclosing(grammar).is_some() => {
                        let parts = tracker.enclosing(grammar).expect("checked above");
                        let count = language.node_kind_count();
                        plan.enclosing.push(EnclosingPlan {
                            position,
                            outer_kinds: kinds_of(&parts.outer, count),
                            inner_kinds: kinds_of(&parts.inner, count),
                        });
                    }
                    Some(TreeRule::AstGrep(rule)) => match rule.potential_kinds() {
                        Some(kinds) => {
                            for kind in kinds.iter() {
                                if let Some(slot) = plan.by_kind.get_mut(kind) {
                                    slot.push(position);
                                }
                            }
                        }
                        None => plan.any_kind.push(position),
                    },
                    Some(TreeRule::Query(query)) => {
                        let source = tracker.query_text.as_deref().unwrap_or_default();
                        match SimpleMatcher::parse(source, &language) {
                            Some((simple, _)) => plan.simple.push((position, simple)),
                            None => {
                                owners.extend(std::iter::repeat_n(position, query.pattern_count()));
                                text.push_str(source);
                                text.push('\n');
                            }
                        }
                    }
                }
            }
            if !owners.is_empty() {
                let query = Query::new(&language, &text).map_err(|e| {
                    format!("the query trackers do not compile together for {grammar}: {e}")
                })?;
                if query.pattern_count() != owners.len() {
                    return Err(format!(
                        "the query trackers compile to {} patterns together for {grammar}, {} apart",
                        query.pattern_count(),
                        owners.len()
                    ));
                }
                plan.query = Some((query, owners));
            }
            grammars.push(plan);
        }
        Ok(Plan { grammars })
    }

    /// Counts of the trackers marked in `selected` (the others count zero), by position.
    /// `listed` is the analysis's list of `tree`'s nodes, when it has one to hand on.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn count(
        &self,
        trackers: &[&TreeTracker],
        selected: &[bool],
        tree: &Tree,
        listed: Option<&FlatTree<'_, '_>>,
        source: &[u8],
        grammar: Grammar,
    ) -> Vec<u32> {
        let mut counts = vec![0u32; trackers.len()];
        let active: Vec<bool> = trackers
            .iter()
            .zip(selected)
            .map(|(t, &s)| s && t.applies_to(grammar) && t.may_match(source))
            .collect();
        let plan = &self.grammars[grammar.index()];
        let is_active = |i: &u32| active[*i as usize];
        let enclosing: Vec<&EnclosingPlan> = plan
            .enclosing
            .iter()
            .filter(|e| is_active(&e.position))
            .collect();
        let kind_in_parent: Vec<(u32, u16, u16)> = plan
            .kind_in_parent
            .iter()
            .copied()
            .filter(|(i, _, _)| is_active(i))
            .collect();
        let rules = plan.any_kind.iter().any(is_active)
            || plan.by_kind.iter().flatten().any(is_active)
            || !enclosing.is_empty()
            || !kind_in_parent.is_empty();
        let simple: Vec<&(u32, SimpleMatcher)> =
            plan.simple.iter().filter(|(i, _)| is_active(i)).collect();
        // The ast-grep document only when a rule may match: it copies the source.
        let (doc, own_tree) = match rules.then(|| ast_grep::document(tree, source, grammar)) {
            Some((doc, own_tree)) => (Some(doc), own_tree),
            None => (None, true),
        };
        let mut open: Vec<OpenOuter> = enclosing.iter().map(|_| OpenOuter::default()).collect();
        let own_text = own_tree.then_some(source);
        let mut count_rules = |node: tree_sitter::Node,
                               kind: u16,
                               parent: Option<u16>,
                               depth: usize,
                               counts: &mut [u32]| {
            let Some(doc) = &doc else { return };
            for &(i, k, p) in &kind_in_parent {
                if kind == k && parent == Some(p) {
                    counts[i as usize] += 1;
                }
            }
            let may = |kinds: &Option<Vec<bool>>| {
                kinds
                    .as_ref()
                    .is_none_or(|k| k.get(kind as usize).copied().unwrap_or(false))
            };
            for (e, state) in enclosing.iter().zip(open.iter_mut()) {
                let i = e.position as usize;
                counts[i] += state.close_to(depth);
                let (inner, outer) = (may(&e.inner_kinds), may(&e.outer_kinds));
                if !inner && !outer {
                    continue;
                }
                let parts = trackers[i]
                    .enclosing(grammar)
                    .expect("planned as enclosing");
                let wrapped = doc.adopt(node);
                // A `Y` matters only below an open `X` not yet marked (the innermost is
                // unmarked whenever any is).
                let unmarked = state.0.last().is_some_and(|&(_, found)| !found);
                if inner && unmarked && parts.inner.match_node(wrapped.clone()).is_some() {
                    state.mark();
                }
                if outer && parts.outer.match_node(wrapped).is_some() {
                    state.0.push((depth, false));
                }
            }
            let candidates = plan.by_kind.get(kind as usize).into_iter().flatten();
            let mut wrapped = None;
            for &i in candidates.chain(&plan.any_kind) {
                let i = i as usize;
                if !active[i] {
                    continue;
                }
                let Some(TreeRule::AstGrep(rule)) = trackers[i].rule(grammar) else {
                    continue;
                };
                // A rule of patterns needs one of their fixed strings inside the node: looking
                // for it is cheaper than matching. (Only over our own text, which the node's
                // offsets point into.)
                if let Some(text) = own_text.and_then(|t| t.get(node.start_byte()..node.end_byte()))
                    && !trackers[i].node_may_match(text)
                {
                    continue;
                }
                let candidate = wrapped.get_or_insert_with(|| doc.adopt(node));
                if rule.match_node(candidate.clone()).is_some() {
                    counts[i] += 1;
                }
            }
        };
        // Like the root queries' walk, single-node queries count nodes down to MAX_ROOT_DEPTH.
        let count_simple = |kind: u16, parent: Option<u16>, depth: usize, counts: &mut [u32]| {
            if depth > MAX_ROOT_DEPTH as usize {
                return;
            }
            for (i, matcher) in &simple {
                if matcher.captures(kind, parent).next().is_some() {
                    counts[*i as usize] += 1;
                }
            }
        };
        // Our tree's visible nodes: from the analysis's list when it holds them with their
        // nodes, else listed here.
        let listed = listed.filter(|flat| flat.has_nodes());
        let visit_ours = |buffers: &mut VisitBuffers, visit: &mut NodeVisit<'_>| match listed {
            Some(flat) => flat.visit(buffers, visit),
            None => visit_visible(tree.root_node(), buffers, visit),
        };
        WALK_BUFFERS.with_borrow_mut(|buffers| match &doc {
            // The document wraps (a copy of) our own tree, whose nodes are ours: one walk serves
            // both.
            Some(_) if own_tree => visit_ours(buffers, &mut |node, kind, parent, depth| {
                count_simple(kind, parent, depth, &mut counts);
                count_rules(node, kind, parent, depth, &mut counts);
            }),
            // Bytes that are not UTF-8: ast-grep matches a parse of the replaced text, and the
            // queries still count our tree.
            Some(d) => {
                visit_visible(
                    d.root().get_inner_node(),
                    buffers,
                    |node, kind, parent, depth| count_rules(node, kind, parent, depth, &mut counts),
                );
                if !simple.is_empty() {
                    visit_ours(buffers, &mut |_, kind, parent, depth| {
                        count_simple(kind, parent, depth, &mut counts)
                    });
                }
            }
            None if !simple.is_empty() => visit_ours(buffers, &mut |_, kind, parent, depth| {
                count_simple(kind, parent, depth, &mut counts)
            }),
            None => {}
        });
        // The `X` nodes still open at the end of the walk close now.
        for (e, state) in enclosing.iter().zip(open.iter_mut()) {
            counts[e.position as usize] += state.close_to(0);
        }
        if let Some((query, owners)) = &plan.query
            && owners.iter().any(|&i| active[i as usize])
        {
            let mut cursor = QueryCursor::new();
            cursor.set_max_start_depth(Some(MAX_ROOT_DEPTH));
            let mut captured: Vec<(u32, usize)> = Vec::new();
            let mut matches = cursor.matches(query, tree.root_node(), source);
            while let Some(m) = matches.next() {
                let owner = owners[m.pattern_index];
                if active[owner as usize] {
                    captured.extend(m.captures().iter().map(|c| (owner, c.node.id())));
                }
            }
            captured.sort_unstable();
            captured.dedup();
            for (owner, _) in captured {
                counts[owner as usize] += 1;
            }
        }
        counts
    }
}
