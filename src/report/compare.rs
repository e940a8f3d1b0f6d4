//! Release-over-release comparison: patterns new, gone, grown and shrunk between two snapshots.

use serde::Serialize;

use crate::store::Snapshots;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    New,
    Gone,
    Grown,
    Shrunk,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delta {
    pub signature: String,
    pub category: String,
    pub before: i64,
    pub after: i64,
    pub change: Change,
    pub absolute: i64,
    /// `(after - before) / before`; `None` for new patterns.
    pub relative: Option<f64>,
}

/// Compares two snapshots, each (key, occurrences) sorted by key; `name(key)` gives a
/// pattern's signature and category. Unchanged patterns are left out. Sorted by absolute
/// change, largest first, then by signature.
pub fn compare<'n, K: Ord + Copy>(
    before: &[(K, i64)],
    after: &[(K, i64)],
    name: impl Fn(K) -> Option<(&'n str, &'n str)>,
) -> Vec<Delta> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    loop {
        // A merge of the two sorted lists: (key, before, after).
        let (key, b, a) = match (before.get(i), after.get(j)) {
            (Some(&(kb, b)), Some(&(ka, a))) if kb == ka => {
                i += 1;
                j += 1;
                (kb, b, a)
            }
            (Some(&(kb, b)), Some(&(ka, _))) if kb < ka => {
                i += 1;
                (kb, b, 0)
            }
            (Some(&(kb, b)), None) => {
                i += 1;
                (kb, b, 0)
            }
            (_, Some(&(ka, a))) => {
                j += 1;
                (ka, 0, a)
            }
            (None, None) => break,
        };
        if a == b {
            continue;
        }
        let Some((signature, category)) = name(key) else {
            continue;
        };
        let change = match (b, a) {
            (0, _) => Change::New,
            (_, 0) => Change::Gone,
            _ if a > b => Change::Grown,
            _ => Change::Shrunk,
        };
        out.push(Delta {
            signature: signature.to_string(),
            category: category.to_string(),
            before: b,
            after: a,
            change,
            absolute: a - b,
            relative: (b != 0).then(|| (a - b) as f64 / b as f64),
        });
    }
    out.sort_by(|x, y| {
        y.absolute
            .abs()
            .cmp(&x.absolute.abs())
            .then_with(|| x.signature.cmp(&y.signature))
    });
    out
}

/// Compares snapshots `i` and `j` of a set read from the store.
pub fn compare_snapshots(snapshots: &Snapshots, i: usize, j: usize) -> Vec<Delta> {
    compare(snapshots.counts(i), snapshots.counts(j), |sig| {
        snapshots.name(sig)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap<'a>(items: &[(&'a str, i64)]) -> Vec<(&'a str, i64)> {
        let mut out = items.to_vec();
        out.sort();
        out
    }

    #[test]
    fn new_gone_grown_shrunk_by_hand() {
        let before = snap(&[("var", 10), ("then", 4), ("same", 3), ("old", 2)]);
        let after = snap(&[("var", 1), ("then", 6), ("same", 3), ("await", 5)]);
        let d = compare(&before, &after, |k| Some((k, "")));
        let summary: Vec<(&str, Change, i64)> = d
            .iter()
            .map(|x| (x.signature.as_str(), x.change, x.absolute))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("var", Change::Shrunk, -9),
                ("await", Change::New, 5),
                ("old", Change::Gone, -2),
                ("then", Change::Grown, 2)
            ]
        );
        assert_eq!(d[0].relative, Some(-0.9));
        assert_eq!(d[1].relative, None);
        assert_eq!(d[3].relative, Some(0.5));
    }
}
