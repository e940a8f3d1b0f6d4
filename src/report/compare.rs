//! Release-over-release comparison: patterns new, gone, grown and shrunk between two snapshots.

use std::collections::BTreeMap;

use serde::Serialize;

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

/// Compares two snapshots (signature -> (occurrences, category)); unchanged patterns are left
/// out. Sorted by absolute change, largest first, then by signature.
pub fn compare(
    before: &BTreeMap<String, (i64, String)>,
    after: &BTreeMap<String, (i64, String)>,
) -> Vec<Delta> {
    let mut out = Vec::new();
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for key in keys {
        let (b, cat_b) = before
            .get(key)
            .map(|(n, c)| (*n, c.as_str()))
            .unwrap_or((0, ""));
        let (a, cat_a) = after
            .get(key)
            .map(|(n, c)| (*n, c.as_str()))
            .unwrap_or((0, ""));
        if a == b {
            continue;
        }
        let change = match (b, a) {
            (0, _) => Change::New,
            (_, 0) => Change::Gone,
            _ if a > b => Change::Grown,
            _ => Change::Shrunk,
        };
        out.push(Delta {
            signature: key.clone(),
            category: if cat_a.is_empty() { cat_b } else { cat_a }.to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(items: &[(&str, i64)]) -> BTreeMap<String, (i64, String)> {
        items
            .iter()
            .map(|(s, n)| (s.to_string(), (*n, String::new())))
            .collect()
    }

    #[test]
    fn new_gone_grown_shrunk_by_hand() {
        let before = snap(&[("var", 10), ("then", 4), ("same", 3), ("old", 2)]);
        let after = snap(&[("var", 1), ("then", 6), ("same", 3), ("await", 5)]);
        let d = compare(&before, &after);
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
