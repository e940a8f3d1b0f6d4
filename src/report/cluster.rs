//! Clusters of near-identical signatures: rapidfuzz similarity between the most frequent
//! patterns, edges above a threshold, connected components (petgraph) as clusters.

use petgraph::graph::UnGraph;
use petgraph::unionfind::UnionFind;
use rapidfuzz::fuzz;
use serde::Serialize;

/// A signature and how often it occurs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Weighted {
    pub signature: String,
    pub count: i64,
}

/// One cluster: the most frequent member is canonical, the others are its variations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    pub canonical: Weighted,
    pub variations: Vec<Weighted>,
    /// Occurrences of all members together.
    pub total: i64,
}

/// Groups `pool` (any order) into clusters of signatures whose `fuzz::ratio` similarity is at
/// least `threshold` (0..=100) to some other member. Clusters come out by total, largest first.
///
/// Pairs whose lengths alone rule out the threshold are never compared: `ratio` is at most
/// `2·min(len) / (len_a + len_b)`, so with the pool sorted by length each signature is compared
/// only with a window of similar lengths.
pub fn cluster(pool: &[Weighted], threshold: f64) -> Vec<Cluster> {
    let cutoff = (threshold / 100.0).clamp(0.0, 1.0);
    let mut order: Vec<usize> = (0..pool.len()).collect();
    order.sort_by_key(|&i| pool[i].signature.chars().count());
    let lengths: Vec<usize> = order
        .iter()
        .map(|&i| pool[i].signature.chars().count())
        .collect();
    let mut graph: UnGraph<usize, f64> = UnGraph::with_capacity(pool.len(), pool.len());
    let nodes: Vec<_> = (0..pool.len()).map(|i| graph.add_node(i)).collect();
    for a in 0..order.len() {
        let scorer = fuzz::RatioBatchComparator::new(pool[order[a]].signature.chars());
        let args = fuzz::Args::default().score_cutoff(cutoff);
        for b in a + 1..order.len() {
            let (la, lb) = (lengths[a] as f64, lengths[b] as f64);
            if la + lb > 0.0 && 2.0 * la / (la + lb) < cutoff {
                break; // Longer ones only get further away.
            }
            if let Some(score) =
                scorer.similarity_with_args(pool[order[b]].signature.chars(), &args)
            {
                graph.add_edge(nodes[order[a]], nodes[order[b]], score);
            }
        }
    }
    let mut sets = UnionFind::<usize>::new(pool.len());
    for edge in graph.edge_indices() {
        let (a, b) = graph.edge_endpoints(edge).expect("edge exists");
        sets.union(graph[a], graph[b]);
    }
    let mut members: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for i in 0..pool.len() {
        members.entry(sets.find(i)).or_default().push(i);
    }
    let mut clusters: Vec<Cluster> = members
        .into_values()
        .map(|mut idx| {
            idx.sort_by(|&a, &b| {
                pool[b]
                    .count
                    .cmp(&pool[a].count)
                    .then_with(|| pool[a].signature.cmp(&pool[b].signature))
            });
            let total = idx.iter().map(|&i| pool[i].count).sum();
            Cluster {
                canonical: pool[idx[0]].clone(),
                variations: idx[1..].iter().map(|&i| pool[i].clone()).collect(),
                total,
            }
        })
        .collect();
    clusters.sort_by(|a, b| {
        b.total
            .cmp(&a.total)
            .then_with(|| a.canonical.signature.cmp(&b.canonical.signature))
    });
    clusters
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(signature: &str, count: i64) -> Weighted {
        Weighted {
            signature: signature.to_string(),
            count,
        }
    }

    #[test]
    fn near_identical_signatures_cluster_and_the_most_frequent_is_canonical() {
        let pool = vec![
            w("const IDENTIFIER = require(STRING)", 10),
            w("var IDENTIFIER = require(STRING)", 30),
            w("let IDENTIFIER = require(STRING)", 5),
            w("IDENTIFIER.log(STRING)", 7),
            w("class IDENTIFIER extends IDENTIFIER { … }", 2),
        ];
        let clusters = cluster(&pool, 85.0);
        assert_eq!(clusters.len(), 3);
        assert_eq!(
            clusters[0].canonical,
            w("var IDENTIFIER = require(STRING)", 30)
        );
        assert_eq!(
            clusters[0].variations,
            vec![
                w("const IDENTIFIER = require(STRING)", 10),
                w("let IDENTIFIER = require(STRING)", 5)
            ]
        );
        assert_eq!(clusters[0].total, 45);
        assert_eq!(clusters[1].canonical.signature, "IDENTIFIER.log(STRING)");
        assert!(clusters[1].variations.is_empty());
    }

    #[test]
    fn the_threshold_is_a_percentage() {
        // ratio("abcd", "abce") = 75.
        let pool = vec![w("abcd", 2), w("abce", 1)];
        assert_eq!(cluster(&pool, 75.0).len(), 1);
        assert_eq!(cluster(&pool, 76.0).len(), 2);
    }

    #[test]
    fn chains_of_similar_signatures_form_one_component() {
        // a~b and b~c but not a~c: one connected component.
        let pool = vec![w("aaaaaaaaaa", 3), w("aaaaaaaaab", 2), w("aaaaaaaabb", 1)];
        let clusters = cluster(&pool, 90.0);
        assert_eq!(clusters.len(), 1, "{clusters:?}");
        assert_eq!(clusters[0].total, 6);
    }
}
