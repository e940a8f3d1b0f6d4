//! Which tags are releases, and in what order: `compare --releases` compares each chosen tag
//! with the one before it.
//!
//! A tag that reads as a version (`1.2.3`, `v1.2`, `v3.0.0-beta.1`, with or without a `v`)
//! is ordered by semver precedence. When some chosen tag is not a version, precedence says
//! nothing about it, so all of them are ordered by their commits' dates instead.

use std::cmp::Ordering;

use crate::store::TagRow;

/// A tag read as a version: `major.minor.patch`, missing parts 0, and the pre-release part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub numbers: [u64; 3],
    /// The dot-separated identifiers after `-`; empty for a release.
    pub pre: Vec<PreIdent>,
}

/// `1.0.0beta2` as (`1.0.0`, `beta2`): a letter right after the third number starts a
/// pre-release. Anything else is returned whole.
fn glued_pre_release(text: &str) -> (&str, Option<&str>) {
    let third = text.match_indices('.').nth(1).map(|(i, _)| i + 1);
    let Some(third) = third else {
        return (text, None);
    };
    let digits = text[third..].bytes().take_while(u8::is_ascii_digit).count();
    let split = third + digits;
    match text[split..].bytes().next() {
        Some(b) if digits > 0 && b.is_ascii_alphabetic() => (&text[..split], Some(&text[split..])),
        _ => (text, None),
    }
}

/// One pre-release identifier: numeric ones compare as numbers and before text ones (semver
/// 2.0.0, rule 11).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PreIdent {
    Number(u64),
    Text(String),
}

impl Version {
    /// Reads `[v]MAJOR[.MINOR[.PATCH]][+BUILD]` or `[v]MAJOR.MINOR.PATCH-PRE[+BUILD]`, and the
    /// older `MAJOR.MINOR.PATCHpre` (`3.0.0beta2`, `1.0.0rc`: express and other early npm
    /// packages tagged so, and npm's loose versions read them) as `-pre`; `None` for anything
    /// else.
    pub fn parse(tag: &str) -> Option<Version> {
        let text = tag.strip_prefix(['v', 'V']).unwrap_or(tag);
        let text = text.split_once('+').map_or(text, |(v, _)| v);
        let (core, pre) = match text.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => glued_pre_release(text),
        };
        let parts: Vec<&str> = core.split('.').collect();
        // A pre-release needs the full MAJOR.MINOR.PATCH: `2024-01-15` is a date, not 2024
        // with a pre-release part.
        if parts.len() > 3 || (pre.is_some() && parts.len() != 3) {
            return None;
        }
        let mut numbers = [0u64; 3];
        for (slot, part) in numbers.iter_mut().zip(&parts) {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            *slot = part.parse().ok()?;
        }
        let pre = match pre {
            None => Vec::new(),
            Some(pre) => pre
                .split('.')
                .map(|ident| {
                    if ident.is_empty() {
                        None
                    } else if ident.bytes().all(|b| b.is_ascii_digit()) {
                        ident.parse().ok().map(PreIdent::Number)
                    } else {
                        Some(PreIdent::Text(ident.to_string()))
                    }
                })
                .collect::<Option<Vec<_>>>()?,
        };
        Some(Version { numbers, pre })
    }

    pub fn is_pre_release(&self) -> bool {
        !self.pre.is_empty()
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.numbers.cmp(&other.numbers).then_with(|| {
            match (self.pre.is_empty(), other.pre.is_empty()) {
                // A release comes after its pre-releases.
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            }
        })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A tag that releases can be chosen from.
pub trait Tag {
    fn name(&self) -> &str;
}

impl Tag for TagRow {
    fn name(&self) -> &str {
        &self.name
    }
}

/// A tag releases are chosen from, on a history's analysed chain or off it, with what it stands
/// for in the caller (`at`) and its place in time for ordering tags that are not versions:
/// committer time, then chain position (`i64::MAX` for either when unknown).
#[derive(Debug, Clone)]
pub struct Release<A> {
    pub name: String,
    pub at: A,
    pub order: (i64, i64),
}

impl<A> Tag for Release<A> {
    fn name(&self) -> &str {
        &self.name
    }
}

/// The tags to compare, in release order: those matching one of `globs` (`*` any text, `?`
/// one character; all when there is none), pre-releases only with `pre`. `order` gives a tag's
/// place in time (commit time, then anything that breaks ties between commits of one second),
/// for ordering tags that are not versions.
pub fn choose<'t, T: Tag, O: Ord>(
    tags: &'t [T],
    globs: &[String],
    pre: bool,
    order: impl Fn(&T) -> O,
) -> Vec<&'t T> {
    let patterns: Vec<regex::Regex> = globs.iter().map(|g| glob_regex(g)).collect();
    let mut chosen: Vec<(&T, Option<Version>)> = tags
        .iter()
        .filter(|t| patterns.is_empty() || patterns.iter().any(|p| p.is_match(t.name())))
        .map(|t| (t, Version::parse(t.name())))
        .filter(|(_, v)| pre || v.as_ref().is_none_or(|v| !v.is_pre_release()))
        .collect();
    if chosen.iter().all(|(_, v)| v.is_some()) {
        chosen.sort_by(|(a, va), (b, vb)| va.cmp(vb).then_with(|| a.name().cmp(b.name())));
    } else {
        chosen
            .sort_by(|(a, _), (b, _)| order(a).cmp(&order(b)).then_with(|| a.name().cmp(b.name())));
    }
    chosen.into_iter().map(|(t, _)| t).collect()
}

/// A tag glob as an anchored regex: `*` is any text, `?` one character, the rest literal.
fn glob_regex(glob: &str) -> regex::Regex {
    let mut re = String::from("^");
    for c in glob.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).expect("an escaped glob is a valid regex")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(name: &str, seq: i64) -> TagRow {
        TagRow {
            name: name.to_string(),
            seq,
        }
    }

    fn names(tags: &[&TagRow]) -> Vec<String> {
        tags.iter().map(|t| t.name.clone()).collect()
    }

    #[test]
    fn versions_order_by_semver_precedence_with_or_without_v() {
        let order = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0rc2",
            "v1.0.0",
            "1.0.1",
            "v1.2",
            "1.10.0",
            "v2.0.0+build.5",
        ];
        let parsed: Vec<Version> = order.iter().map(|t| Version::parse(t).unwrap()).collect();
        for pair in parsed.windows(2) {
            assert!(pair[0] < pair[1], "{pair:?}");
        }
        for not_a_version in [
            "release",
            "1.2.3.4",
            "v",
            "1..2",
            "1.0.0-",
            "x1.0",
            "2024-01-15",
            "1.0beta",
            "1.0.0.beta",
        ] {
            assert!(Version::parse(not_a_version).is_none(), "{not_a_version}");
        }
    }

    #[test]
    fn choosing_filters_by_glob_and_leaves_pre_releases_out() {
        let tags = [
            tag("v3.0.0-beta.1", 1),
            tag("4.0.0", 0),
            tag("v3.1.0", 3),
            tag("v3.0.0", 2),
            tag("3.0.1", 4),
        ];
        let glob = |g: &str| vec![g.to_string()];
        let all = choose(&tags, &[], false, |t| t.seq);
        assert_eq!(names(&all), ["v3.0.0", "3.0.1", "v3.1.0", "4.0.0"]);
        let with_pre = choose(&tags, &glob("*3.*"), true, |t| t.seq);
        assert_eq!(
            names(&with_pre),
            ["v3.0.0-beta.1", "v3.0.0", "3.0.1", "v3.1.0"]
        );
        assert_eq!(
            names(&choose(&tags, &glob("v3.?.0"), false, |t| t.seq)),
            ["v3.0.0", "v3.1.0"]
        );
        let either = [String::from("4.*"), String::from("3.*")];
        assert_eq!(
            names(&choose(&tags, &either, false, |t| t.seq)),
            ["3.0.1", "4.0.0"]
        );
    }

    #[test]
    fn tags_that_are_not_versions_order_all_by_date() {
        let tags = [tag("nightly", 5), tag("v2.0.0", 9), tag("v1.0.0", 1)];
        let chosen = choose(&tags, &[], false, |t| t.seq * 10);
        assert_eq!(names(&chosen), ["v1.0.0", "nightly", "v2.0.0"]);
    }
}
