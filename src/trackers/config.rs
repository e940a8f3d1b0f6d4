//! The trackers file: what to count and which migrations to follow, read from YAML into typed
//! structs that reject unknown keys. The format is documented in docs/trackers.md.

use std::path::Path;

use ast_grep_config::SerializableRule;
use serde::{Deserialize, Serialize};

/// The trackers and migrations compiled into the binary; documented in docs/trackers.md.
pub const DEFAULT_TRACKERS_YAML: &str = include_str!("../default_trackers.yaml");

/// Where a trackers file is looked for when no `--trackers` flag or `PATMINE_TRACKERS` names one.
pub const DEFAULT_LOCATION: &str = ".patmine/trackers.yaml";

/// A bad trackers file: the file, the line where it is known, and the problem. Every variant
/// is the user's to fix, so the CLI prints it on one line and exits 2.
#[derive(Debug, thiserror::Error)]
pub enum TrackersError {
    #[error("cannot read trackers file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Invalid {
        path: String,
        line: Option<usize>,
        message: String,
    },
}

#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TrackersFile {
    /// `extends: default` adds this file to the built-in set instead of replacing it.
    #[serde(default)]
    pub extends: Option<String>,
    #[serde(default)]
    pub trackers: Vec<TrackerDef>,
    #[serde(default)]
    pub migrations: Vec<MigrationDef>,
}

/// A named tracker: its name, a description, and one matcher. (The matcher's keys are repeated
/// here rather than flattened in: serde cannot reject unknown keys through `flatten`.)
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TrackerDef {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default)]
    pub rule: Option<SerializableRule>,
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub signature: Option<String>,
    #[serde(default)]
    pub signature_regex: Option<String>,
    #[serde(default)]
    pub level: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub languages: Option<Vec<String>>,
}

impl TrackerDef {
    pub fn matcher(&self) -> MatcherDef {
        MatcherDef {
            pattern: self.pattern.clone(),
            rule: self.rule.clone(),
            query: self.query.clone(),
            signature: self.signature.clone(),
            signature_regex: self.signature_regex.clone(),
            level: self.level.clone(),
            kind: self.kind.clone(),
            languages: self.languages.clone(),
        }
    }
}

/// One way of naming what to count. Exactly one of `pattern`, `rule`, `query`, `signature` and
/// `signature_regex` must be present.
#[derive(Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MatcherDef {
    /// ast-grep pattern code with metavariables (`$X`, `$$$ARGS`, `$_`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// An ast-grep rule object (`pattern`, `kind`, `regex`, `inside`, `has`, `not`, `all`,
    /// `any`, ...), with ast-grep's meaning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<SerializableRule>,
    /// A tree-sitter query; every node a capture takes counts once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// A glob over stored signatures: `*` matches any text, everything else is literal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// A regular expression over stored signatures (unanchored, Rust `regex` syntax).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_regex: Option<String>,
    /// Which signature level `signature`/`signature_regex` read: `abstract` (default) or
    /// `semantic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// Only signatures of pattern roots of this kind (a capture name of the root queries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The grammars a `pattern`/`rule`/`query` is compiled for (`javascript`, `typescript`,
    /// `tsx`); all three when absent. Trees parsed with another grammar count zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub languages: Option<Vec<String>>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MigrationDef {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub from: Side,
    pub to: Side,
}

/// A migration's side: a tracker name, several (their counts add up), or a matcher inline.
#[derive(Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum Side {
    Name(String),
    Names(Vec<String>),
    Inline(Box<MatcherDef>),
}

impl TrackersFile {
    pub fn parse(text: &str, origin: &str) -> Result<TrackersFile, TrackersError> {
        crate::yaml_limits::check(text).map_err(|(line, message)| TrackersError::Invalid {
            path: origin.to_string(),
            line,
            message,
        })?;
        serde_yaml::from_str(text).map_err(|e| TrackersError::Invalid {
            path: origin.to_string(),
            line: e.location().map(|l| l.line()),
            message: strip_location(&e.to_string())
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        })
    }
}

/// serde_yaml appends " at line L column C" to its messages; the line is printed before the
/// message instead, as compilers do.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => {
            let rest = &message[i + " at line ".len()..];
            // Keep anything after the location (serde_yaml puts it at the end, or before a
            // nested error's own text).
            let after = rest
                .find(|c: char| !(c.is_ascii_digit() || c == ' ' || c.is_ascii_alphabetic()))
                .map(|j| &rest[j..])
                .unwrap_or("");
            format!("{}{}", &message[..i], after)
        }
        None => message.to_string(),
    }
}

/// The 1-based line of the first line of `text` that holds `needle` after optional
/// indentation and a list dash, for errors found after parsing (an unknown tracker name, a
/// pattern that does not parse).
pub(super) fn line_of(text: &str, needle: &str) -> Option<usize> {
    line_of_nth(text, needle, 0)
}

/// Like `line_of`, for the `nth` (0-based) such line: where a name is defined a second time.
pub(super) fn line_of_nth(text: &str, needle: &str, nth: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let l = l.trim_start().trim_start_matches('-').trim_start();
            // The whole value: `name: a` is not the line of `name: ab`.
            l.strip_prefix(needle).is_some_and(|rest| {
                let rest = rest.trim_start();
                rest.is_empty() || rest.starts_with('#')
            })
        })
        .nth(nth)
        .map(|(i, _)| i + 1)
}

pub(super) fn read(path: &Path) -> Result<String, TrackersError> {
    std::fs::read_to_string(path).map_err(|source| TrackersError::Read {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_errors_with_a_line() {
        let text = "trackers:\n  - name: a\n    query: \"(identifier) @i\"\n    qeury: x\n";
        let err = TrackersFile::parse(text, "t.yaml")
            .err()
            .unwrap()
            .to_string();
        assert!(err.starts_with("t.yaml:"), "{err}");
        assert!(err.contains("qeury"), "{err}");
    }

    #[test]
    fn a_side_is_a_name_a_list_or_a_matcher() {
        let text = "migrations:\n  - name: m\n    from: a\n    to: [b, c]\n  - name: n\n    from: {pattern: \"var $X = $Y\"}\n    to: b\n";
        let file = TrackersFile::parse(text, "t.yaml").unwrap();
        assert!(matches!(file.migrations[0].from, Side::Name(_)));
        assert!(matches!(file.migrations[0].to, Side::Names(ref v) if v.len() == 2));
        assert!(matches!(file.migrations[1].from, Side::Inline(_)));
    }

    #[test]
    fn line_of_finds_list_items() {
        let text = "migrations:\n  - name: m\n    from: zz\n";
        assert_eq!(line_of(text, "from: zz"), Some(3));
        assert_eq!(line_of(text, "name: m"), Some(2));
        let text = "trackers:\n  - name: ab\n  - name: a # the short one\n";
        assert_eq!(line_of(text, "name: a"), Some(3));
    }
}
