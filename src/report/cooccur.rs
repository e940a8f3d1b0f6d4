//! Co-occurrence: which patterns appear in the same files. Only patterns (and pairs) present in
//! enough files take part (by default 1% of the files, never fewer than 5), a pair where one
//! signature contains the other is left out (it is mostly one site counted at two roots: `X`
//! inside `await X`), and pairs are ranked by PMI weighted by support (files together times
//! the log of the lift), so that a pair gains by being specific and by being common: one seen
//! in two files cannot outrank one seen in two hundred on lift alone.

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
    /// The ranking: `together · ln(lift)`, pointwise mutual information weighted by the files
    /// that show it (negative where the two avoid each other).
    pub score: f64,
    /// `|a ∩ b| / |a ∪ b|` over files.
    pub jaccard: f64,
}

/// The support a pattern and a pair need by default: 1% of the files, and at least 5.
pub fn default_min_support(files: usize) -> usize {
    files.div_ceil(100).max(5)
}

/// Scores every pair of patterns that occur in at least `min_support` files, and together in at
/// least `min_support` files, except pairs `contains(a, b)` says nest (either way round).
/// `files` lists, per file, the pattern indexes it holds (duplicates ignored). Only the
/// `max_patterns` most supported patterns take part.
pub fn pairs(
    files: &[Vec<usize>],
    min_support: usize,
    max_patterns: usize,
    contains: &dyn Fn(usize, usize) -> bool,
) -> Vec<Pair> {
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
        .filter(|&((a, b), both)| both >= min_support && !contains(a, b) && !contains(b, a))
        .map(|((a, b), both)| {
            let (sa, sb) = (taking[&a], taking[&b]);
            let lift = (both as f64 * n) / (sa as f64 * sb as f64);
            Pair {
                a,
                b,
                together: both,
                lift,
                score: both as f64 * lift.ln(),
                jaccard: both as f64 / (sa + sb - both) as f64,
            }
        })
        .collect();
    out.sort_by(|x, y| {
        y.score
            .total_cmp(&x.score)
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
        let pairs = pairs(&files, 2, 100, &|_, _| false);
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
    fn a_pair_seen_in_few_files_does_not_outrank_a_well_supported_one() {
        // 1,000 files. Patterns 0 and 1: only in files 0 and 1 (lift 500). Patterns 2 and 3:
        // each in 200 files, together in 150 (lift 3.75).
        let mut files = vec![Vec::new(); 1000];
        files[0] = vec![0, 1];
        files[1] = vec![0, 1];
        for (i, file) in files.iter_mut().enumerate().take(250).skip(10) {
            if i < 210 {
                file.push(2);
            }
            if i >= 60 {
                file.push(3);
            }
        }
        let scored = pairs(&files, 2, 100, &|_, _| false);
        assert_eq!((scored[0].a, scored[0].b), (2, 3), "{scored:?}");
        let rare = scored.iter().find(|p| p.a == 0).unwrap();
        assert!(
            rare.lift > scored[0].lift,
            "on lift alone the rare pair wins"
        );
        assert!(rare.score < scored[0].score);
        // The default support leaves it out altogether.
        assert_eq!(default_min_support(1000), 10);
        assert!(
            pairs(&files, 10, 100, &|_, _| false)
                .iter()
                .all(|p| p.a != 0)
        );
    }

    #[test]
    fn nested_signatures_are_not_paired_and_small_snapshots_need_five_files() {
        let files = vec![vec![0, 1, 2]; 6];
        // 1 contains 0 (`await X` and `X`): left out either way round.
        let scored = pairs(&files, 2, 100, &|outer, inner| outer == 1 && inner == 0);
        let found: Vec<(usize, usize)> = scored.iter().map(|p| (p.a, p.b)).collect();
        assert_eq!(found, vec![(0, 2), (1, 2)]);
        assert_eq!(default_min_support(6), 5);
        assert_eq!(default_min_support(1001), 11);
    }

    #[test]
    fn support_bounds_the_work() {
        let files = vec![vec![0, 1], vec![0, 1], vec![3]];
        assert!(pairs(&files, 3, 100, &|_, _| false).is_empty());
        assert_eq!(pairs(&files, 2, 100, &|_, _| false).len(), 1);
        assert!(
            pairs(&files, 2, 1, &|_, _| false).is_empty(),
            "only one pattern may take part"
        );
    }
}
