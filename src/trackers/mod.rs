//! Trackers: named things to count at every commit, and the migrations between them.
//!
//! A tracker is one of three kinds of matcher. `pattern:`/`rule:` (ast-grep's, through
//! `ast_grep.rs`) and `query:` (a tree-sitter query) run on the tree each blob is parsed into,
//! in the same pass as the patterns, and their counts are cached per blob under the tracker's
//! own key (`TreeTracker::key`). `signature:` and `signature_regex:` select stored signatures,
//! so they are computed from the database alone. The file format is in docs/trackers.md.

pub mod ast_grep;
mod config;
mod evaluate;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use ast_grep_config::{DeserializeEnv, RuleCore, SerializableRule, SerializableRuleCore};

use crate::tree_walk::FlatTree;
use ast_grep_core::Pattern;
use sha2::{Digest, Sha256};
use tree_sitter::{Query, QueryCursor, StreamingIterator, Tree};

pub use config::{DEFAULT_LOCATION, DEFAULT_TRACKERS_YAML, TrackersError};
use config::{MatcherDef, Side, TrackersFile, line_of, line_of_nth};

use crate::analyze::{MAX_ROOT_DEPTH, hex};
use crate::dialect::Grammar;
use crate::level::Level;

/// Bump when the way a tree tracker counts changes: it is part of every tracker key.
const TRACKER_ENGINE_VERSION: u32 = 1;

/// A site's code is cut to this many characters (a match can be a whole function).
const SITE_CODE_CHARS: usize = 120;

/// A compiled set of trackers and migrations.
pub struct TrackerSet {
    pub trackers: Vec<Tracker>,
    pub migrations: Vec<Migration>,
    /// How the tree trackers are counted together (see `evaluate.rs`).
    plan: evaluate::Plan,
    /// Indexes in `trackers` of the tree trackers with distinct keys, first of each in set
    /// order, found once: the history's workers count with them for every blob.
    distinct: Vec<usize>,
}

pub struct Tracker {
    pub name: String,
    pub description: String,
    pub matcher: TrackerMatcher,
}

pub enum TrackerMatcher {
    /// Runs on parsed trees; counts are cached per blob.
    Tree(Box<TreeTracker>),
    /// Selects stored signatures.
    Signature(SignatureTracker),
}

/// A `pattern:`, `rule:` or `query:` tracker, compiled for each grammar it applies to.
pub struct TreeTracker {
    /// Hex SHA-256 (16 bytes) of the matcher's definition, the grammar and ast-grep versions
    /// and the engine version: the cache key of its per-blob counts. The name is left out, so renaming a
    /// tracker costs nothing.
    pub key: String,
    /// The matcher's definition as JSON (what the key hashes, less the versions).
    pub definition: String,
    per_grammar: [Option<TreeRule>; 3],
    /// The same rule split for the set's walk when it is `X` that `has` (`stopBy: end`) a `Y`
    /// (see `enclosing_parts`), per grammar.
    enclosing: [Option<Box<evaluate::Enclosing>>; 3],
    /// The same rule as `(kind, parent kind)` ids when it is `{kind: K, inside: {kind: P}}`
    /// (see `kind_in_parent`), per grammar.
    kind_in_parent: [Option<(u16, u16)>; 3],
    /// A query tracker's query text (compiled together with the set's other queries).
    query_text: Option<String>,
    /// Texts one of which every match needs, when they are known (see `requirement`): a blob
    /// with none of them counts zero without being parsed.
    required_text: Option<Vec<Need>>,
    /// Texts one of which every matched node's own text holds, for a rule made only of
    /// patterns (see `node_requirement`): a node without any is not tried.
    node_text: Option<Vec<String>>,
}

/// Something a blob's bytes must hold for a tracker to match in it.
#[derive(Debug, Clone)]
enum Need {
    Text(String),
    /// A node regex without its `^`/`$` anchors: a match in a node is a match in the file.
    Regex(regex::bytes::Regex),
}

impl Need {
    fn met(&self, source: &[u8]) -> bool {
        match self {
            Need::Text(t) => memchr::memmem::find(source, t.as_bytes()).is_some(),
            Need::Regex(re) => re.is_match(source),
        }
    }

    fn key(&self) -> &str {
        match self {
            Need::Text(t) => t,
            Need::Regex(re) => re.as_str(),
        }
    }
}

enum TreeRule {
    AstGrep(Box<RuleCore>),
    Query(Query),
}

/// A `signature:` or `signature_regex:` tracker.
pub struct SignatureTracker {
    pub level: Level,
    pub kind: Option<String>,
    regex: regex::Regex,
}

impl SignatureTracker {
    pub fn matches(&self, text: &str, kind: &str) -> bool {
        self.kind.as_deref().is_none_or(|k| k == kind) && self.regex.is_match(text)
    }
}

/// A migration: progress is `to / (from + to)`.
pub struct Migration {
    pub name: String,
    pub description: String,
    /// Indexes into `TrackerSet::trackers`; their counts add up.
    pub from: Vec<usize>,
    pub to: Vec<usize>,
}

/// One match of a tree tracker: where it is and its first line of code, for `patmine check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// 1-based.
    pub line: usize,
    /// The line the match starts on, whitespace runs folded: what a new site is compared by.
    pub code: String,
}

impl TrackerSet {
    /// No trackers and no migrations (`history --no-trackers`).
    pub fn empty() -> TrackerSet {
        TrackerSet::new(Vec::new(), Vec::new()).expect("an empty set plans")
    }

    fn new(trackers: Vec<Tracker>, migrations: Vec<Migration>) -> Result<TrackerSet, String> {
        let mut seen = HashSet::new();
        let distinct: Vec<usize> = trackers
            .iter()
            .enumerate()
            .filter_map(|(i, t)| match &t.matcher {
                TrackerMatcher::Tree(tree) if seen.insert(tree.key.as_str()) => Some(i),
                _ => None,
            })
            .collect();
        let plan = evaluate::Plan::new(&tree_trackers_at(&trackers, &distinct))?;
        Ok(TrackerSet {
            trackers,
            migrations,
            plan,
            distinct,
        })
    }

    /// Counts of every distinct tree tracker on one parsed tree (in `distinct_tree_trackers`
    /// order): what the history's workers add to a blob's analysis.
    pub fn count_all(&self, tree: &Tree, source: &[u8], grammar: Grammar) -> Vec<u32> {
        self.count_selected(&vec![true; self.distinct.len()], tree, source, grammar)
    }

    /// `count_all` over the analysis's own list of the tree's nodes (`Analyzer::analyze_listed`),
    /// which saves listing them again.
    pub fn count_all_listed(
        &self,
        tree: &Tree,
        listed: &FlatTree<'_, '_>,
        source: &[u8],
        grammar: Grammar,
    ) -> Vec<u32> {
        self.plan.count(
            &self.distinct_tree_trackers(),
            &vec![true; self.distinct.len()],
            tree,
            Some(listed),
            source,
            grammar,
        )
    }

    /// Whether the set has a tree tracker: the analysis then hands its node list on.
    pub fn has_tree_trackers(&self) -> bool {
        !self.distinct.is_empty()
    }

    /// Counts of the distinct tree trackers marked in `selected` (`distinct_tree_trackers`
    /// order); the others count zero.
    pub fn count_selected(
        &self,
        selected: &[bool],
        tree: &Tree,
        source: &[u8],
        grammar: Grammar,
    ) -> Vec<u32> {
        self.plan.count(
            &self.distinct_tree_trackers(),
            selected,
            tree,
            None,
            source,
            grammar,
        )
    }

    /// The tree trackers with distinct keys, first of each in set order: two names with one
    /// definition share their per-blob counts, which are evaluated and stored once.
    pub fn distinct_tree_trackers(&self) -> Vec<&TreeTracker> {
        tree_trackers_at(&self.trackers, &self.distinct)
    }

    /// The built-in set.
    pub fn builtin() -> TrackerSet {
        Self::from_yaml(DEFAULT_TRACKERS_YAML, "<built-in trackers>")
            .expect("the built-in trackers compile (tested)")
    }

    /// The set a run uses: `path` when given, else the file at `DEFAULT_LOCATION` under `dir`
    /// when there is one, else the built-in set.
    pub fn load(path: Option<&Path>, dir: &Path) -> Result<TrackerSet, TrackersError> {
        let default: PathBuf = dir.join(DEFAULT_LOCATION);
        match path {
            Some(path) => Self::from_yaml(&config::read(path)?, &path.display().to_string()),
            None if default.is_file() => {
                Self::from_yaml(&config::read(&default)?, &default.display().to_string())
            }
            None => Ok(Self::builtin()),
        }
    }

    pub fn from_yaml(text: &str, origin: &str) -> Result<TrackerSet, TrackersError> {
        let file = TrackersFile::parse(text, origin)?;
        let invalid = |needle: &str, message: String| TrackersError::Invalid {
            path: origin.to_string(),
            line: line_of(text, needle),
            message: one_line(&message),
        };
        let (mut trackers, mut migrations) = match file.extends.as_deref() {
            None => (Vec::new(), Vec::new()),
            Some("default") => {
                let builtin = TrackerSet::builtin();
                (builtin.trackers, builtin.migrations)
            }
            Some(other) => {
                return Err(invalid(
                    &format!("extends: {other}"),
                    format!("`extends` must be `default`, not `{other}`"),
                ));
            }
        };
        for def in &file.trackers {
            let at = format!("name: {}", def.name);
            check_name(&def.name).map_err(|m| invalid(&at, m))?;
            let matcher = compile(&def.matcher())
                .map_err(|m| invalid(&at, format!("tracker `{}`: {m}", def.name)))?;
            let tracker = Tracker {
                name: def.name.clone(),
                description: def.description.clone().unwrap_or_default(),
                matcher,
            };
            // A tracker of the same name replaces the built-in one.
            match trackers.iter().position(|t: &Tracker| t.name == def.name) {
                Some(i) => trackers[i] = tracker,
                None => trackers.push(tracker),
            }
        }
        let names: HashSet<&str> = file.trackers.iter().map(|t| t.name.as_str()).collect();
        if names.len() != file.trackers.len() {
            let mut seen = HashSet::new();
            let dup = file
                .trackers
                .iter()
                .find(|t| !seen.insert(t.name.as_str()))
                .map(|t| t.name.clone())
                .unwrap_or_default();
            return Err(TrackersError::Invalid {
                path: origin.to_string(),
                line: line_of_nth(text, &format!("name: {dup}"), 1),
                message: format!("tracker `{dup}` is defined twice"),
            });
        }
        let mut migration_names = HashSet::new();
        for def in &file.migrations {
            let at = format!("name: {}", def.name);
            if !migration_names.insert(def.name.as_str()) {
                // A name shared with a tracker comes first in the file, so count from the end.
                let all: Vec<usize> = (0..).map_while(|n| line_of_nth(text, &at, n)).collect();
                return Err(TrackersError::Invalid {
                    path: origin.to_string(),
                    line: all.last().copied(),
                    message: format!("migration `{}` is defined twice", def.name),
                });
            }
            check_name(&def.name).map_err(|m| invalid(&at, m))?;
            let mut side = |side: &Side, which: &str| -> Result<Vec<usize>, TrackersError> {
                match side {
                    Side::Name(name) => Ok(vec![find(&trackers, name).ok_or_else(|| {
                        invalid(
                            &format!("{which}: {name}"),
                            format!(
                                "migration `{}`: `{which}` names unknown tracker `{name}`",
                                def.name
                            ),
                        )
                    })?]),
                    Side::Names(names) if names.is_empty() => Err(invalid(
                        &at,
                        format!("migration `{}`: `{which}` names no tracker", def.name),
                    )),
                    Side::Names(names) => names
                        .iter()
                        .map(|name| {
                            find(&trackers, name).ok_or_else(|| {
                                invalid(
                                    &at,
                                    format!(
                                        "migration `{}`: `{which}` names unknown tracker `{name}`",
                                        def.name
                                    ),
                                )
                            })
                        })
                        .collect(),
                    Side::Inline(matcher) => {
                        let matcher = compile(matcher).map_err(|m| {
                            invalid(&at, format!("migration `{}`, `{which}`: {m}", def.name))
                        })?;
                        let name = format!("{}.{which}", def.name);
                        if names.contains(name.as_str()) {
                            return Err(invalid(
                                &format!("name: {name}"),
                                format!(
                                    "tracker `{name}` has the name of migration `{}`'s inline `{which}`; rename it",
                                    def.name
                                ),
                            ));
                        }
                        let tracker = Tracker {
                            name,
                            description: format!("`{which}` of migration `{}`", def.name),
                            matcher,
                        };
                        // A built-in migration's inline side is replaced in place, so the
                        // indexes other migrations hold stay right.
                        match find(&trackers, &tracker.name) {
                            Some(i) => {
                                trackers[i] = tracker;
                                Ok(vec![i])
                            }
                            None => {
                                trackers.push(tracker);
                                Ok(vec![trackers.len() - 1])
                            }
                        }
                    }
                }
            };
            let from = side(&def.from, "from")?;
            let to = side(&def.to, "to")?;
            if from.iter().any(|f| to.contains(f)) {
                return Err(invalid(
                    &at,
                    format!("migration `{}`: a tracker is on both sides", def.name),
                ));
            }
            let migration = Migration {
                name: def.name.clone(),
                description: def.description.clone().unwrap_or_default(),
                from,
                to,
            };
            match migrations
                .iter()
                .position(|m: &Migration| m.name == def.name)
            {
                Some(i) => migrations[i] = migration,
                None => migrations.push(migration),
            }
        }
        TrackerSet::new(trackers, migrations).map_err(|m| invalid("trackers:", m))
    }

    /// The tree trackers, in set order, with their indexes in `trackers`.
    pub fn tree_trackers(&self) -> impl Iterator<Item = (usize, &TreeTracker)> {
        self.trackers
            .iter()
            .enumerate()
            .filter_map(|(i, t)| match &t.matcher {
                TrackerMatcher::Tree(tree) => Some((i, &**tree)),
                TrackerMatcher::Signature(_) => None,
            })
    }

    pub fn tracker(&self, name: &str) -> Option<usize> {
        find(&self.trackers, name)
    }

    pub fn migration(&self, name: &str) -> Option<&Migration> {
        self.migrations.iter().find(|m| m.name == name)
    }
}

/// Errors are one line: tree-sitter and ast-grep messages can span several.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The tree trackers at `indexes` of `trackers`.
fn tree_trackers_at<'t>(trackers: &'t [Tracker], indexes: &[usize]) -> Vec<&'t TreeTracker> {
    indexes
        .iter()
        .filter_map(|&i| match &trackers[i].matcher {
            TrackerMatcher::Tree(tree) => Some(&**tree),
            TrackerMatcher::Signature(_) => None,
        })
        .collect()
}

fn find(trackers: &[Tracker], name: &str) -> Option<usize> {
    trackers.iter().position(|t| t.name == name)
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "name `{name}`: use letters, digits, `-`, `_` and `.` only"
        ))
    }
}

/// Compiles one matcher definition. The message says what is wrong, without the file.
fn compile(def: &MatcherDef) -> Result<TrackerMatcher, String> {
    let given = [
        def.pattern.is_some(),
        def.rule.is_some(),
        def.query.is_some(),
        def.signature.is_some(),
        def.signature_regex.is_some(),
    ]
    .iter()
    .filter(|&&b| b)
    .count();
    if given != 1 {
        return Err(
            "give exactly one of `pattern`, `rule`, `query`, `signature`, `signature_regex`"
                .to_string(),
        );
    }
    if def.signature.is_some() || def.signature_regex.is_some() {
        if def.languages.is_some() {
            return Err("`languages` applies to `pattern`, `rule` and `query` only".to_string());
        }
        let level = match def.level.as_deref() {
            None | Some("abstract") => Level::Abstract,
            Some("semantic") => Level::Semantic,
            Some(other) => {
                return Err(format!(
                    "`level` must be `abstract` or `semantic`, not `{other}`"
                ));
            }
        };
        let source = match (&def.signature, &def.signature_regex) {
            (Some(glob), _) => glob_to_regex(glob),
            (None, Some(re)) => re.clone(),
            (None, None) => unreachable!("one of them is present (checked above)"),
        };
        let regex =
            regex::Regex::new(&source).map_err(|e| format!("bad regular expression: {e}"))?;
        return Ok(TrackerMatcher::Signature(SignatureTracker {
            level,
            kind: def.kind.clone(),
            regex,
        }));
    }
    if def.level.is_some() || def.kind.is_some() {
        return Err(
            "`level` and `kind` apply to `signature` and `signature_regex` only (an ast-grep `rule` has its own `kind`)"
                .to_string(),
        );
    }
    let grammars: Vec<Grammar> = match &def.languages {
        None => Grammar::ALL.to_vec(),
        Some(names) if names.is_empty() => return Err("`languages` is empty".to_string()),
        Some(names) => names
            .iter()
            .map(|n| {
                Grammar::ALL
                    .into_iter()
                    .find(|g| g.name() == n)
                    .ok_or_else(|| {
                        format!("unknown language `{n}` (use javascript, typescript or tsx)")
                    })
            })
            .collect::<Result<_, _>>()?,
    };
    let mut per_grammar: [Option<TreeRule>; 3] = [None, None, None];
    let mut enclosing: [Option<Box<evaluate::Enclosing>>; 3] = [None, None, None];
    let mut kind_in_parent_ids: [Option<(u16, u16)>; 3] = [None, None, None];
    let query_text = def.query.clone();
    // The texts a match needs, in every grammar the tracker applies to.
    let mut required_text: Option<Vec<Need>> = None;
    let mut node_text: Option<Vec<String>> = None;
    let mut first_grammar = true;
    for grammar in grammars {
        let rule = if let Some(query) = &def.query {
            let query = Query::new(&grammar.language(), query).map_err(|e| {
                format!(
                    "query does not compile for {grammar}: {}",
                    one_line(&e.to_string())
                )
            })?;
            if query.capture_names().is_empty() {
                return Err("query has no capture: add `@name` to what it counts".to_string());
            }
            TreeRule::Query(query)
        } else {
            let rule = match (&def.pattern, &def.rule) {
                (Some(pattern), _) => {
                    Pattern::try_new(pattern, ast_grep::AstGrepLang(grammar))
                        .map_err(|e| format!("pattern does not parse as {grammar}: {e}"))?;
                    serde_json::from_value::<SerializableRule>(
                        serde_json::json!({ "pattern": pattern }),
                    )
                    .map_err(|e| e.to_string())?
                }
                (None, Some(rule)) => rule.clone(),
                (None, None) => unreachable!("one of them is present (checked above)"),
            };
            check_patterns(&rule, grammar)?;
            let value = serde_json::to_value(&rule).map_err(|e| e.to_string())?;
            let needed = requirement(&value, grammar);
            // Kept only if every grammar's rule has one, as `required_text`.
            let node_needed = node_requirement(&value, grammar);
            node_text = match (first_grammar, node_text, node_needed) {
                (true, _, needed) => needed,
                (false, Some(mut a), Some(b)) => {
                    a.extend(b);
                    a.sort();
                    a.dedup();
                    Some(a)
                }
                _ => None,
            };
            // Kept only if every grammar's rule has one (the same, as patterns' fixed strings do
            // not depend on the grammar in practice; a union would also be correct).
            required_text = match (first_grammar, required_text, needed) {
                (true, _, needed) => needed,
                (false, Some(mut a), Some(b)) => {
                    a.extend(b);
                    a.sort_by(|x, y| x.key().cmp(y.key()));
                    a.dedup_by(|x, y| x.key() == y.key());
                    Some(a)
                }
                _ => None,
            };
            first_grammar = false;
            let compile = |rule: SerializableRule| {
                let core = SerializableRuleCore {
                    rule,
                    constraints: None,
                    utils: None,
                    transform: None,
                };
                core.get_matcher(DeserializeEnv::new(ast_grep::AstGrepLang(grammar)))
                    .map_err(|e| format!("rule does not compile for {grammar}: {e}"))
            };
            if let Some((kind, parent)) = kind_in_parent(&value) {
                let language = grammar.language();
                let id =
                    |name: &str| Some(language.id_for_node_kind(name, true)).filter(|&i| i != 0);
                kind_in_parent_ids[grammar.index()] = id(kind).zip(id(parent));
            }
            if let Some((outer, inner)) = enclosing_parts(&value) {
                let part = |v: serde_json::Value| {
                    serde_json::from_value::<SerializableRule>(v).map_err(|e| e.to_string())
                };
                enclosing[grammar.index()] = Some(Box::new(evaluate::Enclosing {
                    outer: compile(part(outer)?)?,
                    inner: compile(part(inner)?)?,
                }));
            }
            TreeRule::AstGrep(Box::new(compile(rule)?))
        };
        per_grammar[grammar.index()] = Some(rule);
    }
    let definition = serde_json::to_string(def).expect("a matcher serializes");
    let key = {
        let mut hasher = Sha256::new();
        hasher.update(format!("trackers {TRACKER_ENGINE_VERSION}\n").as_bytes());
        hasher.update(crate::versions::PARSERS.fingerprint_line().as_bytes());
        // ast-grep's matcher decides what a `pattern`/`rule` matches (a query's key leaves
        // its versions out, so an ast-grep upgrade does not re-count queries).
        if def.query.is_none() {
            hasher.update(
                concat!(
                    "\nast-grep-core ",
                    env!("PATMINE_AST_GREP_CORE_VERSION"),
                    " ast-grep-config ",
                    env!("PATMINE_AST_GREP_CONFIG_VERSION"),
                    "\n"
                )
                .as_bytes(),
            );
        }
        hasher.update(definition.as_bytes());
        hex(&hasher.finalize()[..16])
    };
    Ok(TrackerMatcher::Tree(Box::new(TreeTracker {
        key,
        definition,
        per_grammar,
        enclosing,
        kind_in_parent: kind_in_parent_ids,
        query_text,
        required_text,
        node_text,
    })))
}

/// A rule `{kind: K, inside: {kind: P}}` (the parent, `stopBy: neighbor`, no field) as `(K, P)`:
/// the walk knows every node's parent kind, where ast-grep asks tree-sitter for each candidate's
/// parent, which descends from the root.
fn kind_in_parent(rule: &serde_json::Value) -> Option<(&str, &str)> {
    let rule = rule.as_object()?;
    let inside = rule.get("inside")?.as_object()?;
    let plain_parent = inside.iter().all(|(key, v)| match key.as_str() {
        "kind" => v.is_string(),
        "stopBy" => v == "neighbor",
        "field" => v.is_null(),
        _ => false,
    });
    if rule.len() != 2 || !plain_parent {
        return None;
    }
    Some((rule.get("kind")?.as_str()?, inside.get("kind")?.as_str()?))
}

/// A rule `{X..., has: {Y..., stopBy: end}}` as its two parts `X` and `Y`: it matches a node
/// that `X` matches and that has a descendant `Y` matches, which one walk can decide for every
/// node at once instead of ast-grep searching each candidate's whole subtree. Only for rules
/// made of keys whose matches depend on the node alone or its surroundings (no `pattern`, whose
/// meta-variables bind across parts, and no `matches`).
fn enclosing_parts(rule: &serde_json::Value) -> Option<(serde_json::Value, serde_json::Value)> {
    fn plain(value: &serde_json::Value) -> bool {
        match value {
            serde_json::Value::Object(map) => map
                .iter()
                .all(|(key, v)| !matches!(key.as_str(), "pattern" | "matches") && plain(v)),
            serde_json::Value::Array(items) => items.iter().all(plain),
            _ => true,
        }
    }
    let mut outer = rule.as_object()?.clone();
    let mut inner = outer.remove("has")?.as_object()?.clone();
    // ast-grep writes an absent field as `null`.
    let field = inner.remove("field").unwrap_or(serde_json::Value::Null);
    if inner.remove("stopBy")? != serde_json::json!("end") || !field.is_null() {
        return None;
    }
    // The outer part must still say something of the node itself.
    if outer.is_empty() || !plain(rule) {
        return None;
    }
    Some((outer.into(), inner.into()))
}

/// Every `pattern` string in a rule (at any depth) must parse without errors in `grammar`: the
/// ast-grep CLI would match such a pattern's ERROR node literally, which is never what was meant.
fn check_patterns(rule: &SerializableRule, grammar: Grammar) -> Result<(), String> {
    fn walk(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v) {
                        ("pattern", serde_json::Value::String(p)) => out.push(p.clone()),
                        _ => walk(v, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let value = serde_json::to_value(rule).map_err(|e| e.to_string())?;
    let mut patterns = Vec::new();
    walk(&value, &mut patterns);
    for p in patterns {
        let parsed = Pattern::try_new(&p, ast_grep::AstGrepLang(grammar))
            .map_err(|e| format!("pattern `{p}` does not parse as {grammar}: {e}"))?;
        if parsed.has_error() {
            return Err(format!(
                "pattern `{p}` does not parse as {grammar} (tree-sitter finds a syntax error in it)"
            ));
        }
    }
    Ok(())
}

/// Most literals a regex's requirement may list before it is not worth checking.
const MAX_REQUIRED_TEXTS: usize = 16;

/// Texts one of which any match of an ast-grep rule (as JSON) must contain, when that can be
/// told: a pattern's fixed string; the literals a regex starts with; for `all` (and the keys of
/// one rule object, which all must hold) the best of its parts; for `any`, every alternative's,
/// when each has one. `has`, `inside`, `precedes` and `follows` name nodes that must exist in
/// the same file, so theirs count too; `not` tells nothing.
fn requirement(rule: &serde_json::Value, grammar: Grammar) -> Option<Vec<Need>> {
    use serde_json::Value;
    let best = |options: Vec<Vec<Need>>| {
        // A regex says more than its literals; else the alternatives whose shortest text is
        // longest: the most selective.
        options.into_iter().max_by_key(|alts| {
            let regexes = alts.iter().all(|n| matches!(n, Need::Regex(_)));
            let shortest = alts.iter().map(|n| n.key().len()).min().unwrap_or(0);
            (regexes, shortest)
        })
    };
    let Value::Object(map) = rule else {
        return None;
    };
    let mut found: Vec<Vec<Need>> = Vec::new();
    for (key, value) in map {
        let part = match (key.as_str(), value) {
            ("pattern", Value::String(p)) => Pattern::try_new(p, ast_grep::AstGrepLang(grammar))
                .ok()
                .map(|p| p.fixed_string().into_owned())
                .filter(|s| !s.is_empty())
                .map(|s| vec![Need::Text(s)]),
            ("regex", Value::String(re)) => unanchored(re)
                .map(|r| vec![Need::Regex(r)])
                .or_else(|| Some(regex_literals(re)?.into_iter().map(Need::Text).collect())),
            ("all", Value::Array(items)) => best(
                items
                    .iter()
                    .filter_map(|i| requirement(i, grammar))
                    .collect(),
            ),
            ("any", Value::Array(items)) => {
                // Every alternative must need something, or the `any` needs nothing.
                let each: Option<Vec<Vec<Need>>> =
                    items.iter().map(|i| requirement(i, grammar)).collect();
                each.map(|e| e.into_iter().flatten().collect::<Vec<Need>>())
                    .filter(|alts| !alts.is_empty() && alts.len() <= MAX_REQUIRED_TEXTS)
            }
            ("has" | "inside" | "precedes" | "follows", relation) => requirement(relation, grammar),
            _ => None,
        };
        found.extend(part);
    }
    best(found)
}

/// For a rule made only of `pattern`s (one, or `any` of them at any depth): the texts one of
/// which a matched node's own text holds. A pattern matches a node whose leaves spell the
/// pattern's fixed leaves, so its fixed string lies inside the node.
fn node_requirement(rule: &serde_json::Value, grammar: Grammar) -> Option<Vec<String>> {
    use serde_json::Value;
    let Value::Object(map) = rule else {
        return None;
    };
    if map.len() != 1 {
        return None;
    }
    match map.iter().next()? {
        (key, Value::String(p)) if key == "pattern" => {
            let fixed = Pattern::try_new(p, ast_grep::AstGrepLang(grammar))
                .ok()?
                .fixed_string()
                .into_owned();
            (!fixed.is_empty()).then(|| vec![fixed])
        }
        (key, Value::Array(items)) if key == "any" => {
            let each: Option<Vec<Vec<String>>> =
                items.iter().map(|i| node_requirement(i, grammar)).collect();
            let all: Vec<String> = each?.into_iter().flatten().collect();
            (!all.is_empty() && all.len() <= MAX_REQUIRED_TEXTS).then_some(all)
        }
        _ => None,
    }
}

/// `re` with its assertions (`^`, `$`, `\b`, `\B`, ...) taken out. Assertions only narrow
/// a match, and they read context a node does not share with the file; without them, a match
/// in a node's text is a match in the file's.
fn unanchored(re: &str) -> Option<regex::bytes::Regex> {
    use regex_syntax::hir::{Capture, Hir, HirKind, Repetition};
    fn strip(hir: &Hir) -> Hir {
        match hir.kind() {
            HirKind::Look(_) => Hir::empty(),
            HirKind::Repetition(r) => Hir::repetition(Repetition {
                sub: Box::new(strip(&r.sub)),
                ..r.clone()
            }),
            HirKind::Capture(c) => Hir::capture(Capture {
                sub: Box::new(strip(&c.sub)),
                ..c.clone()
            }),
            HirKind::Concat(parts) => Hir::concat(parts.iter().map(strip).collect()),
            HirKind::Alternation(parts) => Hir::alternation(parts.iter().map(strip).collect()),
            HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) => hir.clone(),
        }
    }
    let hir = strip(&regex_syntax::parse(re).ok()?);
    regex::bytes::Regex::new(&hir.to_string()).ok()
}

/// The literals one of which every match of `re` contains (its possible prefixes), if few.
fn regex_literals(re: &str) -> Option<Vec<String>> {
    use regex_syntax::hir::literal::Extractor;
    let hir = regex_syntax::parse(re).ok()?;
    let seq = Extractor::new().extract(&hir);
    let literals = seq.literals()?;
    if literals.is_empty() || literals.len() > MAX_REQUIRED_TEXTS {
        return None;
    }
    literals
        .iter()
        .map(|l| {
            let text = String::from_utf8(l.as_bytes().to_vec()).ok()?;
            (!text.is_empty()).then_some(text)
        })
        .collect()
}

/// `*` matches any text; everything else is literal; the whole signature must match.
fn glob_to_regex(glob: &str) -> String {
    let parts: Vec<String> = glob.split('*').map(regex::escape).collect();
    format!("^{}$", parts.join(".*"))
}

impl TreeTracker {
    /// Whether a blob can match at all (false only when a required text is absent).
    pub fn may_match(&self, source: &[u8]) -> bool {
        match &self.required_text {
            None => true,
            Some(needs) => needs.iter().any(|n| n.met(source)),
        }
    }

    /// Whether a node whose text is `text` may match: false when the rule is made of patterns
    /// and the text holds none of their fixed strings.
    pub(super) fn node_may_match(&self, text: &[u8]) -> bool {
        match &self.node_text {
            None => true,
            Some(texts) => texts
                .iter()
                .any(|t| memchr::memmem::find(text, t.as_bytes()).is_some()),
        }
    }

    pub fn applies_to(&self, grammar: Grammar) -> bool {
        self.per_grammar[grammar.index()].is_some()
    }

    fn rule(&self, grammar: Grammar) -> Option<&TreeRule> {
        self.per_grammar[grammar.index()].as_ref()
    }

    fn enclosing(&self, grammar: Grammar) -> Option<&evaluate::Enclosing> {
        self.enclosing[grammar.index()].as_deref()
    }

    fn kind_in_parent(&self, grammar: Grammar) -> Option<(u16, u16)> {
        self.kind_in_parent[grammar.index()]
    }

    /// Sites in a parsed tree, in source order.
    pub fn sites(&self, tree: &Tree, source: &[u8], grammar: Grammar) -> Vec<Site> {
        let mut sites = Vec::new();
        self.for_each_match(tree, source, grammar, |line, start, text| {
            sites.push(Site {
                line,
                code: line_of_code(text, start),
            })
        });
        sites
    }

    /// How many sites a parsed tree holds.
    pub fn count(&self, tree: &Tree, source: &[u8], grammar: Grammar) -> u32 {
        if !self.may_match(source) {
            return 0;
        }
        let mut n = 0u32;
        self.for_each_match(tree, source, grammar, |_, _, _| n += 1);
        n
    }

    /// Calls `found(line, start, text)` for each match: its 1-based line, and its start as an
    /// offset into `text`, which is `source` or, for ast-grep on bytes that are not UTF-8, the
    /// replaced text it matched.
    fn for_each_match(
        &self,
        tree: &Tree,
        source: &[u8],
        grammar: Grammar,
        mut found: impl FnMut(usize, usize, &[u8]),
    ) {
        match &self.per_grammar[grammar.index()] {
            None => {}
            Some(TreeRule::Query(query)) => {
                let mut cursor = QueryCursor::new();
                cursor.set_max_start_depth(Some(MAX_ROOT_DEPTH));
                let mut seen: HashSet<usize> = HashSet::new();
                let mut matches = cursor.matches(query, tree.root_node(), source);
                let mut nodes = Vec::new();
                while let Some(m) = matches.next() {
                    for capture in m.captures() {
                        if seen.insert(capture.node.id()) {
                            nodes.push(capture.node);
                        }
                    }
                }
                nodes.sort_by_key(|n| (n.start_byte(), std::cmp::Reverse(n.end_byte())));
                for node in nodes {
                    found(node.start_position().row + 1, node.start_byte(), source);
                }
            }
            Some(TreeRule::AstGrep(rule)) => {
                let (doc, _) = ast_grep::document(tree, source, grammar);
                let text = doc.source().as_bytes();
                for m in doc.root().find_all(&**rule) {
                    found(m.start_pos().line() + 1, m.range().start, text);
                }
            }
        }
    }
}

/// The line holding byte `at`, whitespace runs folded to one space, cut to `SITE_CODE_CHARS`.
pub fn line_of_code(source: &[u8], at: usize) -> String {
    let at = at.min(source.len());
    let start = memchr::memrchr(b'\n', &source[..at]).map_or(0, |i| i + 1);
    let end = memchr::memchr(b'\n', &source[at..]).map_or(source.len(), |i| at + i);
    let line = String::from_utf8_lossy(&source[start..end]);
    let mut code = line.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some((cut, _)) = code.char_indices().nth(SITE_CODE_CHARS) {
        code.truncate(cut);
        code.push('…');
    }
    code
}

/// The keys of a set's distinct tree trackers, indexed like `set.distinct_tree_trackers()`.
pub fn tree_keys(set: &TrackerSet) -> Vec<String> {
    set.distinct_tree_trackers()
        .iter()
        .map(|t| t.key.clone())
        .collect()
}

/// The signature numbers a signature tracker selects, from every stored signature of a
/// configuration as `(sig, text)`. (Its `kind`, a property of each occurrence, is applied where
/// the occurrences are read.)
pub fn select_signatures(tracker: &SignatureTracker, signatures: &[(i32, String)]) -> Vec<i32> {
    let mut sigs: Vec<i32> = signatures
        .iter()
        .filter(|(_, text)| tracker.regex.is_match(text))
        .map(|(sig, _)| *sig)
        .collect();
    sigs.sort_unstable();
    sigs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(source: &str, grammar: Grammar) -> Tree {
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&grammar.language()).unwrap();
        parser.parse(source, None).unwrap()
    }

    fn count(set: &TrackerSet, name: &str, source: &str, grammar: Grammar) -> u32 {
        let tree = parse(source, grammar);
        match &set.trackers[set.tracker(name).unwrap()].matcher {
            TrackerMatcher::Tree(t) => t.count(&tree, source.as_bytes(), grammar),
            TrackerMatcher::Signature(_) => panic!("{name} is a signature tracker"),
        }
    }

    #[test]
    fn the_builtin_set_compiles_and_every_migration_names_two_sides() {
        let set = TrackerSet::builtin();
        assert!(set.migrations.len() >= 12);
        for m in &set.migrations {
            assert!(!m.from.is_empty() && !m.to.is_empty(), "{}", m.name);
        }
    }

    #[test]
    fn builtin_trackers_count_what_they_describe() {
        let set = TrackerSet::builtin();
        let js = Grammar::JavaScript;
        assert_eq!(
            count(
                &set,
                "var",
                "var a = 1; for (var k in o) {} let b; const c = 2;",
                js
            ),
            2
        );
        assert_eq!(
            count(
                &set,
                "let-const",
                "var a = 1; for (const k of o) {} let b; const c = 2;",
                js
            ),
            3
        );
        assert_eq!(
            count(&set, "then-call", "p.then(f).then(g).catch(h)", js),
            2
        );
        assert_eq!(
            count(
                &set,
                "indexof-test",
                "if (a.indexOf(b) !== -1) {} if (s.indexOf('x') >= 0) {} a.indexOf(c)",
                js
            ),
            2
        );
        assert_eq!(
            count(
                &set,
                "string-concatenation",
                "x = 'a' + b + 'c'; y = 1 + 2; z = n + 'px';",
                js
            ),
            2
        );
        assert_eq!(
            count(
                &set,
                "template-literal",
                "x = `a${b}`; y = `plain`; css`a${b}`",
                js
            ),
            1
        );
        assert_eq!(
            count(
                &set,
                "object-assign-copy",
                "Object.assign({}, a, b); Object.assign(t, a)",
                js
            ),
            1
        );
        assert_eq!(
            count(
                &set,
                "react-class-component",
                "class A extends React.Component {}\nclass B extends PureComponent {}\nclass C extends D {}",
                js
            ),
            2
        );
        assert_eq!(
            count(
                &set,
                "react-hook-function",
                "function A() { const [s] = useState(0); return s }\nconst B = () => { useEffect(() => {}) }\nfunction C() { return user() }",
                js
            ),
            2
        );
        assert_eq!(
            count(
                &set,
                "enzyme-import",
                "import { shallow } from 'enzyme';\nconst e = require(\"enzyme\");\nimport x from 'enzyme-adapter';",
                js
            ),
            2
        );
        assert_eq!(
            count(
                &set,
                "commonjs",
                "const a = require('a'); module.exports = a; exports.b = 1;",
                js
            ),
            3
        );
    }

    #[test]
    fn a_required_text_skips_blobs_that_cannot_match() {
        let set = TrackerSet::builtin();
        let TrackerMatcher::Tree(t) = &set.trackers[set.tracker("then-call").unwrap()].matcher
        else {
            panic!()
        };
        assert!(t.may_match(b"p.then(f)"));
        assert!(!t.may_match(b"p.catch(f)"));
        let needs = |name: &str| match &set.trackers[set.tracker(name).unwrap()].matcher {
            TrackerMatcher::Tree(t) => t.required_text.clone(),
            TrackerMatcher::Signature(_) => panic!(),
        };
        // Regexes on nodes, unanchored, filter whole files.
        let hooks = needs("react-hook-function").expect("a hook call's regex");
        assert!(hooks.iter().any(|n| n.met(b"const [a] = useState(0)")));
        assert!(
            !hooks
                .iter()
                .any(|n| n.met(b"'use strict'; app.use(router)"))
        );
        let classes = needs("react-class-component").expect("the heritage regex");
        assert!(
            classes
                .iter()
                .any(|n| n.met(b"class A extends React.Component {}"))
        );
        // Kind-only rules need nothing.
        assert!(needs("object-spread").is_none());
    }

    #[test]
    fn regexes_filter_files_without_their_assertions() {
        let filter = |re: &str| unanchored(re).unwrap();
        assert!(filter("^use[A-Z]$").is_match(b"x = useState(0)"));
        assert!(!filter("^use[A-Z]$").is_match(b"x = user"));
        assert!(filter(r"^extends\s+Component\b").is_match(b"class A extends Component<P> {}"));
        assert!(filter("[^a]x").is_match(b"bx"));
        assert!(filter("a|^b").is_match(b"xb"));
        assert!(filter(r"(?m)a$\nb").is_match(b"a\nb"));
        assert!(filter(r"\Bfoo").is_match(b" foo"));
    }

    #[test]
    fn bad_files_name_the_line_and_the_problem() {
        let cases = [
            (
                "trackers:\n  - name: a\n    pattern: \"var $X = \"\n",
                2,
                "does not parse",
            ),
            (
                "trackers:\n  - name: a\n    query: \"(no_such_kind) @x\"\n",
                2,
                "does not compile",
            ),
            (
                "migrations:\n  - name: m\n    from: nope\n    to: nope2\n",
                3,
                "unknown tracker `nope`",
            ),
            (
                "trackers:\n  - name: a\n    pattern: \"f()\"\n    signature: \"X\"\n",
                2,
                "exactly one",
            ),
            ("extends: other\n", 1, "`extends` must be `default`"),
            (
                "trackers:\n  - name: a\n    pattern: \"f()\"\nmigrations:\n  - name: m\n    from: a\n    to: {pattern: \"g()\"}\n  - name: m\n    from: a\n    to: {pattern: \"h()\"}\n",
                8,
                "migration `m` is defined twice",
            ),
            (
                "trackers:\n  - name: a\n    pattern: \"f()\"\n  - name: m.to\n    pattern: \"k()\"\nmigrations:\n  - name: m\n    from: a\n    to: {pattern: \"g()\"}\n",
                4,
                "inline `to`",
            ),
        ];
        for (text, line, needle) in cases {
            let err = TrackerSet::from_yaml(text, "t.yaml")
                .err()
                .expect(text)
                .to_string();
            assert!(
                err.starts_with(&format!("t.yaml:{line}: ")),
                "{text:?}: {err}"
            );
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }

    #[test]
    fn extends_default_adds_and_replaces_by_name() {
        let text = "extends: default\ntrackers:\n  - name: var\n    pattern: \"var $X = $Y\"\n  - name: mine\n    signature: \"require(*)\"\nmigrations:\n  - name: inline\n    from: {pattern: \"foo($X)\"}\n    to: mine\n";
        let set = TrackerSet::from_yaml(text, "t.yaml").unwrap();
        let builtin = TrackerSet::builtin();
        assert_eq!(set.migrations.len(), builtin.migrations.len() + 1);
        assert!(set.tracker("mine").is_some());
        assert!(set.tracker("inline.from").is_some());
        assert_eq!(
            count(&set, "var", "var a = 1; var b;", Grammar::JavaScript),
            1
        );
    }

    /// The one-walk counter history uses gives each tracker's own count, on every fixture file
    /// in its dialect's grammar, with a tracker of every kind the plan treats apart.
    #[test]
    fn counting_all_at_once_equals_counting_each_alone() {
        // Besides the built-in set: queries the walk matches itself and through the cursor, an
        // any-kind rule, and rules of the `X has (stopBy: end) Y` shape that the walk decides
        // for every node at once (functions around calls nest deeply in the fixtures).
        let text = "extends: default\ntrackers:\n  - name: idents\n    query: \"(identifier) @i\"\n  - name: args-in-calls\n    query: \"(call_expression arguments: (arguments (identifier) @a))\"\n  - name: any-node-call\n    rule: {regex: \"^fetch\\\\(\"}\n  - name: fn-around-call\n    rule: {any: [{kind: arrow_function}, {kind: function_expression}, {kind: function_declaration}], has: {kind: call_expression, stopBy: end}}\n  - name: any-around-string\n    rule: {not: {kind: program}, has: {kind: string, stopBy: end, not: {inside: {kind: import_statement}}}}\n  - name: arrow-in-call-args\n    rule: {kind: identifier, inside: {kind: arguments}}\n";
        let set = TrackerSet::from_yaml(text, "t.yaml").unwrap();
        let mut files = Vec::new();
        let mut stack = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures"
        ))];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Some(dialect) =
                    crate::dialect::Dialect::from_path(path.to_string_lossy().as_bytes())
                {
                    files.push((path, dialect.grammar()));
                }
            }
        }
        assert!(files.len() > 20, "{} fixture files", files.len());
        let analyzer = crate::analyze::Analyzer::builtin();
        let (mut matched, mut compared) = (0, 0);
        for (path, grammar) in files {
            let source = std::fs::read(&path).unwrap();
            let mut parser = tree_sitter::Parser::new();
            parser.set_language(&grammar.language()).unwrap();
            let tree = parser.parse(&source, None).unwrap();
            let all = set.count_all(&tree, &source, grammar);
            // Over the analysis's own list of the nodes, as a history counts them.
            let dialect = crate::dialect::Dialect::from_path(path.to_string_lossy().as_bytes())
                .expect("a JS/TS path");
            let (_, listed) = analyzer
                .analyze_listed(&source, dialect, |tree, grammar, flat| {
                    (grammar, set.count_all_listed(tree, flat, &source, grammar))
                })
                .expect("analyses");
            if listed.0 == grammar {
                assert_eq!(listed.1, all, "{}: listed by the analysis", path.display());
                compared += 1;
            }
            for (tracker, counted) in set.distinct_tree_trackers().iter().zip(&all) {
                let alone = tracker.count(&tree, &source, grammar);
                assert_eq!(
                    *counted,
                    alone,
                    "{}: {}",
                    path.display(),
                    tracker.definition
                );
                matched += alone;
            }
        }
        assert!(matched > 100, "{matched} matches in all");
        assert!(
            compared > 20,
            "{compared} files counted over the analysis's list"
        );
        // Those rules, and the built-in hook rule, take the walk's way.
        for name in ["function-callback", "arrow-callback", "arrow-in-call-args"] {
            let TrackerMatcher::Tree(tracker) = &set.trackers[set.tracker(name).unwrap()].matcher
            else {
                panic!("{name} is a tree tracker")
            };
            assert!(tracker.kind_in_parent(Grammar::Tsx).is_some(), "{name}");
        }
        for name in ["then-call", "jquery-call", "fetch-call", "indexof-test"] {
            let TrackerMatcher::Tree(tracker) = &set.trackers[set.tracker(name).unwrap()].matcher
            else {
                panic!("{name} is a tree tracker")
            };
            assert!(tracker.node_text.is_some(), "{name}: made of patterns");
        }
        for name in ["fn-around-call", "any-around-string", "react-hook-function"] {
            let TrackerMatcher::Tree(tracker) = &set.trackers[set.tracker(name).unwrap()].matcher
            else {
                panic!("{name} is a tree tracker")
            };
            assert!(tracker.enclosing(Grammar::Tsx).is_some(), "{name}");
        }
    }

    #[test]
    fn one_definition_under_two_names_is_counted_once() {
        let text = "extends: default\ntrackers:\n  - name: var-again\n    pattern: \"var $X = $Y\"\n  - name: var-once-more\n    pattern: \"var $X = $Y\"\n";
        let set = TrackerSet::from_yaml(text, "t.yaml").unwrap();
        let tree_names = set.tree_trackers().count();
        let distinct = set.distinct_tree_trackers().len();
        assert_eq!(distinct, tree_names - 1);
        assert_eq!(tree_keys(&set).len(), distinct);
        let source = "var a = 1; var b = 2;";
        let tree = parse(source, Grammar::JavaScript);
        let counts = set.count_all(&tree, source.as_bytes(), Grammar::JavaScript);
        assert_eq!(counts.len(), distinct);
    }

    #[test]
    fn signature_globs_are_literal_but_for_stars() {
        assert!(
            regex::Regex::new(&glob_to_regex("require(*)"))
                .unwrap()
                .is_match("require(STRING)")
        );
        assert!(
            !regex::Regex::new(&glob_to_regex("require(*)"))
                .unwrap()
                .is_match("X.require(STRING)")
        );
        assert!(
            regex::Regex::new(&glob_to_regex("{...*}"))
                .unwrap()
                .is_match("{...X, Y}")
        );
    }
}
