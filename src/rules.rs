//! The semantic rulebook: identifier roles and pattern categories, read from YAML.
//!
//! The shape is the seed's (`rules: {identifier: {...}, method: {...}}`,
//! `metadata: {categories: {name: {patterns: [...]}}}`), read into typed structs that reject
//! unknown keys, so a typo in a rulebook is an error that names the key, not a silent no-op.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::FastMap;

/// The rulebook compiled into the binary; documented in docs/rulebook.md.
pub const DEFAULT_RULES_YAML: &str = include_str!("default_rules.yaml");

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("cannot read rulebook {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("bad rulebook {path}: {message}")]
    Parse { path: String, message: String },
    #[error("bad rulebook {path}: `extends` must be `default`, not `{value}`")]
    Extends { path: String, value: String },
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct RulebookFile {
    /// `extends: default` merges this file over the built-in rulebook instead of replacing it.
    #[serde(default)]
    extends: Option<String>,
    #[serde(default)]
    rules: Rules,
    #[serde(default)]
    metadata: Metadata,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Identifier text -> role (`document: DOM_OBJECT`), or itself to keep it (`require: require`).
    /// (Hash maps: the normalizer looks up every identifier and property name. They serialize
    /// sorted, so the configuration fingerprint does not depend on their order.)
    #[serde(default, serialize_with = "sorted")]
    pub identifier: FastMap<String, String>,
    /// Identifier text -> role where the identifier is called, constructed or accessed
    /// (`test(…)`, `test.each(…)`, `useState(…)`), and only there: `if (test)` stays
    /// `IDENTIFIER`. Looked up before `identifier` in those positions.
    #[serde(default, serialize_with = "sorted")]
    pub callee: FastMap<String, String>,
    /// Property name -> replacement at the semantic level (`.on` -> `.EVENT_SUBSCRIBE`).
    #[serde(default, serialize_with = "sorted")]
    pub method: FastMap<String, String>,
}

fn sorted<S: serde::Serializer>(map: &FastMap<String, String>, out: S) -> Result<S::Ok, S::Error> {
    map.iter().collect::<BTreeMap<_, _>>().serialize(out)
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub categories: BTreeMap<String, Category>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Category {
    #[serde(default)]
    pub description: Option<String>,
    /// Tokens matched, on word boundaries, against a pattern's semantic signature.
    pub patterns: Vec<String>,
}

/// A loaded rulebook, ready for lookups.
#[derive(Debug, Clone)]
pub struct Rulebook {
    pub rules: Rules,
    pub metadata: Metadata,
    /// The category patterns compiled into one automaton, on first use.
    matcher: std::sync::OnceLock<CategoryMatcher>,
}

impl PartialEq for Rulebook {
    fn eq(&self, other: &Self) -> bool {
        self.rules == other.rules && self.metadata == other.metadata
    }
}

/// Every category pattern in one Aho-Corasick automaton: one pass over a signature finds them all.
#[derive(Debug, Clone)]
struct CategoryMatcher {
    automaton: aho_corasick::AhoCorasick,
    /// Per pattern: its category's index in `names`.
    category_of: Vec<usize>,
    names: Vec<String>,
}

impl CategoryMatcher {
    fn new(metadata: &Metadata) -> CategoryMatcher {
        let mut patterns = Vec::new();
        let mut category_of = Vec::new();
        let mut names = Vec::new();
        for (i, (name, category)) in metadata.categories.iter().enumerate() {
            names.push(name.clone());
            for p in category.patterns.iter().filter(|p| !p.is_empty()) {
                patterns.push(p.clone());
                category_of.push(i);
            }
        }
        let automaton =
            aho_corasick::AhoCorasick::new(&patterns).expect("plain string patterns always build");
        CategoryMatcher {
            automaton,
            category_of,
            names,
        }
    }
}

impl Rulebook {
    pub fn builtin() -> Rulebook {
        Self::from_yaml(DEFAULT_RULES_YAML, "<built-in rulebook>")
            .expect("the built-in rulebook is valid (tested)")
    }

    pub fn load(path: &Path) -> Result<Rulebook, RulesError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::from_yaml(&text, &shown)
    }

    pub fn from_yaml(text: &str, origin: &str) -> Result<Rulebook, RulesError> {
        crate::yaml_limits::check(text).map_err(|(line, why)| RulesError::Parse {
            path: origin.to_string(),
            message: match line {
                Some(line) => format!("line {line}: {why}"),
                None => why,
            },
        })?;
        let file: RulebookFile = serde_yaml::from_str(text).map_err(|e| RulesError::Parse {
            path: origin.to_string(),
            message: e.to_string(),
        })?;
        let mut book = match file.extends.as_deref() {
            None => Rulebook {
                rules: Rules::default(),
                metadata: Metadata::default(),
                matcher: std::sync::OnceLock::new(),
            },
            Some("default") => Rulebook::builtin(),
            Some(other) => {
                return Err(RulesError::Extends {
                    path: origin.to_string(),
                    value: other.to_string(),
                });
            }
        };
        book.rules.identifier.extend(file.rules.identifier);
        book.rules.callee.extend(file.rules.callee);
        book.rules.method.extend(file.rules.method);
        book.metadata.categories.extend(file.metadata.categories);
        if file.metadata.name.is_some() {
            book.metadata.name = file.metadata.name;
        }
        if file.metadata.description.is_some() {
            book.metadata.description = file.metadata.description;
        }
        Ok(book)
    }

    pub fn identifier(&self, name: &str) -> Option<&str> {
        self.rules.identifier.get(name).map(String::as_str)
    }

    /// The role of an identifier that is called, constructed or accessed.
    pub fn callee(&self, name: &str) -> Option<&str> {
        self.rules
            .callee
            .get(name)
            .or_else(|| self.rules.identifier.get(name))
            .map(String::as_str)
    }

    pub fn method(&self, name: &str) -> Option<&str> {
        self.rules.method.get(name).map(String::as_str)
    }

    /// Stable text of the whole rulebook, for the configuration fingerprint.
    pub fn canonical_text(&self) -> String {
        let file = RulebookFile {
            extends: None,
            rules: self.rules.clone(),
            metadata: self.metadata.clone(),
        };
        serde_json::to_string(&file).expect("a rulebook serializes")
    }

    /// The categories whose patterns occur in `semantic_signature`, sorted, comma-separated.
    pub fn categorize(&self, semantic_signature: &str) -> String {
        let matcher = self
            .matcher
            .get_or_init(|| CategoryMatcher::new(&self.metadata));
        let mut found = vec![false; matcher.names.len()];
        let h = semantic_signature.as_bytes();
        for m in matcher.automaton.find_overlapping_iter(semantic_signature) {
            let pattern = &h[m.start()..m.end()];
            let start_ok =
                !is_word_byte(pattern[0]) || m.start() == 0 || !is_word_byte(h[m.start() - 1]);
            let end_ok = !is_word_byte(pattern[pattern.len() - 1])
                || m.end() == h.len()
                || !is_word_byte(h[m.end()]);
            if start_ok && end_ok {
                found[matcher.category_of[m.pattern().as_usize()]] = true;
            }
        }
        let names: Vec<&str> = matcher
            .names
            .iter()
            .zip(&found)
            .filter(|(_, f)| **f)
            .map(|(n, _)| n.as_str())
            .collect();
        names.join(",")
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rulebook_loads_and_maps_the_documented_names() {
        let book = Rulebook::builtin();
        assert_eq!(book.identifier("document"), Some("DOM_OBJECT"));
        assert_eq!(book.identifier("console"), Some("CONSOLE_OBJECT"));
        // Functions only where they are called or accessed.
        assert_eq!(book.callee("useState"), Some("REACT_HOOK"));
        assert_eq!(book.callee("fetch"), Some("FETCH_API"));
        assert_eq!(book.identifier("test"), None);
        assert_eq!(book.callee("test"), Some("TEST_CASE"));
        // And objects in both.
        assert_eq!(book.callee("console"), Some("CONSOLE_OBJECT"));
        assert_eq!(book.identifier("require"), Some("require"));
        assert_eq!(book.identifier("module"), Some("module"));
        assert_eq!(book.identifier("Map"), Some("Map"));
        assert_eq!(book.identifier("myVariable"), None);
    }

    #[test]
    fn unknown_keys_are_rejected_with_the_key_named() {
        let err = Rulebook::from_yaml("rules:\n  identifer:\n    a: B\n", "bad.yaml").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("bad.yaml"), "{text}");
        assert!(text.contains("identifer"), "{text}");
        let err = Rulebook::from_yaml("rulez: {}\n", "top.yaml").unwrap_err();
        assert!(err.to_string().contains("rulez"), "{err}");
    }

    #[test]
    fn a_file_replaces_or_extends_the_builtin() {
        let own =
            Rulebook::from_yaml("rules:\n  identifier:\n    $: JQUERY\n", "own.yaml").unwrap();
        assert_eq!(own.identifier("$"), Some("JQUERY"));
        assert_eq!(own.identifier("document"), None);
        let ext = Rulebook::from_yaml(
            "extends: default\nrules:\n  identifier:\n    $: JQUERY\n",
            "x",
        )
        .unwrap();
        assert_eq!(ext.identifier("$"), Some("JQUERY"));
        assert_eq!(ext.identifier("document"), Some("DOM_OBJECT"));
        assert!(Rulebook::from_yaml("extends: other\n", "x").is_err());
    }

    #[test]
    fn categories_match_whole_tokens() {
        let book = Rulebook::builtin();
        assert_eq!(
            book.categorize("const IDENTIFIER = DOM_OBJECT.getElementById(STRING)"),
            "dom"
        );
        assert_eq!(
            book.categorize("var IDENTIFIER = require(STRING)"),
            "modules"
        );
        assert_eq!(book.categorize("IDENTIFIER.important(STRING)"), "");
        assert!(
            book.categorize("FETCH_API(IDENTIFIER).then((IDENTIFIER) => IDENTIFIER.json())")
                .contains("async")
        );
        assert_eq!(book.categorize("IDENTIFIER.then(IDENTIFIER)"), "async");
        assert_eq!(book.categorize("requireX(STRING)"), "");
        assert_eq!(
            book.categorize("IDENTIFIER(() => CONSOLE_OBJECT.log(STRING), TIMER)"),
            "logging,timers"
        );
    }

    #[test]
    fn canonical_text_changes_with_the_rules() {
        let a = Rulebook::builtin();
        let mut b = a.clone();
        b.rules.identifier.insert("x".into(), "Y".into());
        assert_ne!(a.canonical_text(), b.canonical_text());
    }
}
