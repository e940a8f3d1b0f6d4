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

use ast_grep_core::Matcher;
use ast_grep_core::matcher::MatcherExt;
use tree_sitter::{Query, QueryCursor, StreamingIterator, Tree};

use super::{TreeRule, TreeTracker, ast_grep};
use crate::analyze::MAX_ROOT_DEPTH;
use crate::dialect::Grammar;
use crate::queries::SimpleMatcher;
use crate::tree_walk::{VisitBuffers, visit_visible};

thread_local! {
    /// The walk's lists, kept from one tree to the next on each worker thread.
    static WALK_BUFFERS: std::cell::RefCell<VisitBuffers> =
        std::cell::RefCell::new(VisitBuffers::default());
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
    pub(super) fn count(
        &self,
        trackers: &[&TreeTracker],
        selected: &[bool],
        tree: &Tree,
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
        let rules =
            plan.any_kind.iter().any(is_active) || plan.by_kind.iter().flatten().any(is_active);
        let simple: Vec<&(u32, SimpleMatcher)> =
            plan.simple.iter().filter(|(i, _)| is_active(i)).collect();
        // The ast-grep document only when a rule may match: it copies the source.
        let (doc, own_tree) = match rules.then(|| ast_grep::document(tree, source, grammar)) {
            Some((doc, own_tree)) => (Some(doc), own_tree),
            None => (None, true),
        };
        let count_rules = |node: tree_sitter::Node, kind: u16, counts: &mut [u32]| {
            let Some(doc) = &doc else { return };
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
        WALK_BUFFERS.with_borrow_mut(|buffers| match &doc {
            // The document wraps (a copy of) our own tree: one walk serves both.
            Some(d) if own_tree => {
                visit_visible(
                    d.root().get_inner_node(),
                    buffers,
                    |node, kind, parent, depth| {
                        count_simple(kind, parent, depth, &mut counts);
                        count_rules(node, kind, &mut counts);
                    },
                );
            }
            // Bytes that are not UTF-8: ast-grep matches a parse of the replaced text, and the
            // queries still count our tree.
            Some(d) => {
                visit_visible(d.root().get_inner_node(), buffers, |node, kind, _, _| {
                    count_rules(node, kind, &mut counts)
                });
                if !simple.is_empty() {
                    visit_visible(tree.root_node(), buffers, |_, kind, parent, depth| {
                        count_simple(kind, parent, depth, &mut counts)
                    });
                }
            }
            None if !simple.is_empty() => {
                visit_visible(tree.root_node(), buffers, |_, kind, parent, depth| {
                    count_simple(kind, parent, depth, &mut counts)
                });
            }
            None => {}
        });
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
