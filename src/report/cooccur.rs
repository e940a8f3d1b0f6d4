//! Co-occurrence: which patterns appear in the same files, scored by lift and Jaccard over the
//! patterns with enough support (bounded work: only those take part).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

/// A scored pair of patterns (by index into the caller's pattern list).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pair {
    pub a: usize,
    pub b: usize,
    /// Files holding both.
    pub together: usize,
    /// `P(a and b) / (P(a) · P(b))`: above 1 means they appear together more than chance.
    pub lift: f64,
    /// `|a ∩ b| / |a ∪ b|` over files.
    pub jaccard: f64,
}

/// Scores every pair of patterns that occur in at least `min_support` files, and that occur
/// together in at least `min_support` files. `files` lists, per file, the pattern indexes it
/// holds (duplicates ignored). Only the `max_patterns` most supported patterns take part.
pub fn pairs(files: &[Vec<usize>], min_support: usize, max_patterns: usize) -> Vec<Pair> {
    let total = files.len();
    if total == 0 {
        return Vec::new();
    }
    let mut support: HashMap<usize, usize> = HashMap::new();
    let mut deduped: Vec<Vec<usize>> = Vec::with_capacity(files.len());
    for file in files {
        let mut f = file.clone();
        f.sort_unstable();
        f.dedup();
        for &p in &f {
            *support.entry(p).or_default() += 1;
        }
        deduped.push(f);
    }
    let mut eligible: Vec<(usize, usize)> = support
        .iter()
        .filter(|(_, n)| **n >= min_support)
        .map(|(p, n)| (*p, *n))
        .collect();
    eligible.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    eligible.truncate(max_patterns);
    let taking: HashMap<usize, usize> = eligible.iter().copied().collect();
    let mut together: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for f in &deduped {
        let present: Vec<usize> = f
            .iter()
            .copied()
            .filter(|p| taking.contains_key(p))
            .collect();
        for (i, &a) in present.iter().enumerate() {
            for &b in &present[i + 1..] {
                *together.entry((a, b)).or_default() += 1;
            }
        }
    }
    let n = total as f64;
    let mut out: Vec<Pair> = together
        .into_iter()
        .filter(|(_, both)| *both >= min_support)
        .map(|((a, b), both)| {
            let (sa, sb) = (taking[&a] as f64, taking[&b] as f64);
            Pair {
                a,
                b,
                together: both,
                lift: (both as f64 * n) / (sa * sb),
                jaccard: both as f64 / (sa + sb - both as f64),
            }
        })
        .collect();
    out.sort_by(|x, y| {
        y.lift
            .total_cmp(&x.lift)
            .then(y.together.cmp(&x.together))
            .then(x.a.cmp(&y.a))
            .then(x.b.cmp(&y.b))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lift_and_jaccard_by_hand() {
        // 4 files. Pattern 0 in files 0,1; pattern 1 in files 0,1; pattern 2 in files 0,1,2,3.
        let files = vec![vec![0, 1, 2], vec![0, 1, 2, 2], vec![2], vec![2]];
        let pairs = pairs(&files, 2, 100);
        // (0,1): together 2, lift = 2·4/(2·2) = 2, jaccard = 2/(2+2-2) = 1.
        // (0,2) and (1,2): together 2, lift = 2·4/(2·4) = 1, jaccard = 2/(2+4-2) = 0.5.
        assert_eq!(pairs.len(), 3);
        assert_eq!((pairs[0].a, pairs[0].b, pairs[0].together), (0, 1, 2));
        assert!((pairs[0].lift - 2.0).abs() < 1e-12);
        assert!((pairs[0].jaccard - 1.0).abs() < 1e-12);
        assert!((pairs[1].lift - 1.0).abs() < 1e-12);
        assert!((pairs[1].jaccard - 0.5).abs() < 1e-12);
    }

    #[test]
    fn support_bounds_the_work() {
        let files = vec![vec![0, 1], vec![0, 1], vec![3]];
        assert!(pairs(&files, 3, 100).is_empty());
        assert_eq!(pairs(&files, 2, 100).len(), 1);
        assert!(
            pairs(&files, 2, 1).is_empty(),
            "only one pattern may take part"
        );
    }
}
