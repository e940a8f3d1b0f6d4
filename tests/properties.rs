//! Property tests: generated inputs (random bytes, token soups, mutated fixtures, deep nesting,
//! random rulebooks and trackers files) in every dialect. The invariants are those of
//! docs/limits.md: no panic, the same output for the same input, no quote, comment or string
//! text in an abstract signature, a function's body never in its signature, and the flat walk
//! equal to tree-sitter's cursor. A failure prints the smallest input proptest found.

use std::path::{Path, PathBuf};

use patmine::analyze::{Analyzer, FileAnalysis};
use patmine::dialect::{Dialect, Grammar};
use patmine::tree_walk;
use proptest::prelude::*;

/// Text no signature may hold: it is only ever inside strings and comments below.
const STRING_MARK: &str = "qz-str";
const COMMENT_MARK: &str = "qzcom";

/// Tokens of JavaScript, TypeScript and JSX, strings and comments carrying the marks.
const TOKENS: &[&str] = &[
    "function",
    "f",
    "g",
    "x",
    "y",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    "=>",
    "const",
    "let",
    "var",
    "=",
    "==",
    "1",
    "0x1f",
    "1n",
    ";",
    ",",
    ".",
    "?.",
    "?",
    ":",
    "...",
    "'qz-str'",
    "\"qz-str\"",
    "`qz-str`",
    "`a${",
    "}qz-str`",
    "/* qzcom */",
    "// qzcom\n",
    "/qz+/g",
    "<",
    ">",
    "</",
    "/>",
    "<div>",
    "</div>",
    "class",
    "extends",
    "new",
    "return",
    "if",
    "else",
    "for",
    "of",
    "while",
    "await",
    "async",
    "yield",
    "*",
    "import",
    "export",
    "default",
    "from",
    "require",
    "string",
    "number",
    "interface",
    "type",
    "enum",
    "|",
    "&",
    "as",
    "satisfies",
    "#p",
    "@d",
    "this",
    "super",
    "null",
    "undefined",
    "true",
    "try",
    "catch",
    "throw",
    "switch",
    "case",
    "\n",
    " ",
    "then",
    "console",
    "log",
    "module",
    "exports",
    "keyof",
    "typeof",
    "readonly",
    "!",
    "+",
    // Strings broken open: error recovery leaves their quotes and text as loose tokens.
    "'",
    "\"",
    "`",
    "'qz-str",
    "\"qz-str",
    "\\n",
];

fn analyzer() -> &'static Analyzer {
    static ANALYZER: std::sync::OnceLock<Analyzer> = std::sync::OnceLock::new();
    ANALYZER.get_or_init(Analyzer::builtin)
}

/// What an analysis gives, as comparable values.
fn summary(analysis: &FileAnalysis) -> Vec<String> {
    let mut out = vec![format!(
        "{} {} {} {:?} {}",
        analysis.grammar.name(),
        analysis.error_nodes,
        analysis.loc,
        analysis.metrics,
        analysis.too_deep
    )];
    out.extend(analysis.patterns.iter().map(|p| {
        format!(
            "{} | {} | {} | {} | {}",
            p.kind,
            p.abstract_text(),
            p.semantic_text(),
            p.occurrences,
            p.first_line
        )
    }));
    out
}

/// Analyses `source` twice: no panic, and the same result both times.
fn analyse_deterministically(source: &[u8], dialect: Dialect) -> Option<FileAnalysis> {
    let first = analyzer().analyze(source, dialect);
    let second = analyzer().analyze(source, dialect);
    match (first, second) {
        (Ok(a), Ok(b)) => {
            assert_eq!(summary(&a), summary(&b), "the same input gave two analyses");
            Some(a)
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string());
            None
        }
        (a, b) => panic!("one analysis failed, the other did not: {a:?} / {b:?}"),
    }
}

/// The flat walk (C) lists the same nodes, with the same fields, as tree-sitter's cursor.
fn assert_flat_walk_is_cursor_walk(source: &[u8], grammar: Grammar) {
    let tree = patmine::analyze::parse_as(grammar, source).expect("a tree");
    let flat_nodes = &mut Vec::new();
    let cursor_nodes = &mut Vec::new();
    let flat = tree_walk::flatten(&tree, flat_nodes, &[]).expect("flat walk");
    let cursor = tree_walk::flatten_with_cursor(&tree, cursor_nodes, &[]).expect("cursor walk");
    assert_eq!(flat.nodes(), cursor.nodes());
}

fn fixture_sources() -> Vec<(Dialect, Vec<u8>)> {
    let mut sources = Vec::new();
    let mut stack: Vec<PathBuf> = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if let Some(dialect) = Dialect::from_path(path.as_os_str().as_encoded_bytes()) {
                sources.push((dialect, std::fs::read(&path).unwrap()));
            }
        }
    }
    sources.sort();
    sources
}

fn dialect() -> impl Strategy<Value = Dialect> {
    proptest::sample::select(Dialect::ALL.to_vec())
}

fn token_soup() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(TOKENS), 0..160).prop_map(|tokens| {
        let mut out = String::new();
        for t in tokens {
            out.push_str(t);
            out.push(' ');
        }
        out
    })
}

/// An edit of a source: replace `len` bytes at `at` (both as fractions of the length) with
/// `insert`.
#[derive(Debug, Clone)]
struct Edit {
    at: f64,
    len: usize,
    insert: Vec<u8>,
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let insert = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..8),
        proptest::sample::select(TOKENS).prop_map(|t| t.as_bytes().to_vec()),
    ];
    proptest::collection::vec(
        (0.0..1.0f64, 0usize..40, insert).prop_map(|(at, len, insert)| Edit { at, len, insert }),
        1..12,
    )
}

fn apply(source: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out = source.to_vec();
    for edit in edits {
        let at = ((out.len() as f64) * edit.at) as usize;
        let end = (at + edit.len).min(out.len());
        out.splice(at..end, edit.insert.iter().copied());
    }
    out
}

/// Inputs the fuzz targets found failing (`fuzz/regressions/<target>-N`, the first byte picks
/// the dialect as in the target), each fixed: they pass the target's checks now.
#[test]
fn fuzz_findings_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut found = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let Some((&pick, source)) = data.split_first() else {
            continue;
        };
        found += 1;
        let dialect = Dialect::ALL[pick as usize % Dialect::ALL.len()];
        let analysis = analyse_deterministically(source, dialect).expect("analysed");
        for p in &analysis.patterns {
            let text = p.abstract_text();
            assert!(
                !text.contains(['\'', '"', '`']),
                "{}: {text:?}",
                path.display()
            );
        }
        assert_flat_walk_is_cursor_walk(source, dialect.grammar());
    }
    assert!(found > 0, "no findings under {}", dir.display());
}

proptest! {
    // Failures are printed (with the smallest input found), not written into the source tree.
    #![proptest_config(ProptestConfig {
        cases: 192,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_bytes_never_panic_and_analyse_the_same_twice(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        dialect in dialect(),
    ) {
        analyse_deterministically(&bytes, dialect);
        assert_flat_walk_is_cursor_walk(&bytes, dialect.grammar());
    }

    #[test]
    fn abstract_signatures_hold_no_quote_string_or_comment_text(
        soup in token_soup(),
        dialect in dialect(),
    ) {
        if let Some(analysis) = analyse_deterministically(soup.as_bytes(), dialect) {
            for p in &analysis.patterns {
                let text = p.abstract_text();
                // Error recovery may read a broken string's text as code (`. `qzstr` )` gives
                // the property `.qzstr`): only a clean parse promises strings stay strings.
                prop_assert!(
                    analysis.error_nodes > 0
                        || !text.contains(STRING_MARK) && !text.contains(COMMENT_MARK),
                    "string or comment text in {text:?} from {soup:?}"
                );
                prop_assert!(
                    !text.contains(['\'', '"', '`']),
                    "a quote in {text:?} from {soup:?}"
                );
            }
        }
        assert_flat_walk_is_cursor_walk(soup.as_bytes(), dialect.grammar());
    }

    #[test]
    fn a_function_body_never_shows_in_its_signature(soup in token_soup(), dialect in dialect()) {
        let source = format!("function outer(a) {{ {soup} }}\n");
        if let Some(analysis) = analyse_deterministically(source.as_bytes(), dialect) {
            // Parsed without errors, the function is a root whose body is collapsed (`{}` when
            // it holds no statement).
            if analysis.error_nodes == 0 {
                let texts: Vec<&str> = analysis.patterns.iter().map(|p| p.abstract_text()).collect();
                prop_assert!(
                    texts.contains(&"function IDENTIFIER(IDENTIFIER) { … }")
                        || texts.contains(&"function IDENTIFIER(IDENTIFIER) {}"),
                    "{texts:?} from {source:?}"
                );
            }
        }
    }

    #[test]
    fn mutated_fixtures_never_panic_and_walk_as_the_cursor(
        index in any::<proptest::sample::Index>(),
        edits in edits(),
    ) {
        let sources = fixture_sources();
        let (dialect, source) = &sources[index.index(sources.len())];
        let mutated = apply(source, &edits);
        analyse_deterministically(&mutated, *dialect);
        assert_flat_walk_is_cursor_walk(&mutated, dialect.grammar());
    }

    #[test]
    fn deep_nesting_never_overflows(
        depth in 1usize..4_000,
        pair in proptest::sample::select(vec![
            ("f(", ")"), ("[", "]"), ("{a:", "}"), ("(", ")"), ("!", ""), ("a.b(", ")"),
            ("<T>", ""), ("() => ", ""), ("`${", "}`"), ("{", "}"), ("<div>", "</div>"),
        ]),
        dialect in dialect(),
    ) {
        let (open, close) = pair;
        let source = format!("x = {}1{};\n", format!("{open}\n").repeat(depth), format!("{close}\n").repeat(depth));
        analyse_deterministically(source.as_bytes(), dialect);
    }

    #[test]
    fn random_rulebooks_and_trackers_files_are_errors_not_panics(
        text in prop_oneof![
            ".{0,400}",
            proptest::collection::vec(proptest::sample::select(vec![
                "rules:", "trackers:", "extends: default", "- ", "name: x", "category: c",
                "match:", "pattern: 'x'", "kind: call_expression", "inside:", "has:", "any:",
                "all:", "not:", "stopBy: end", "regex: '('", "from:", "to:", "migrations:",
                "\n", "  ", "[", "]", "{", "}", ": ", "&a", "*a", "!!str", "~", "'", "\"",
            ]), 0..60).prop_map(|parts| parts.concat()),
        ],
    ) {
        let _ = patmine::rules::Rulebook::from_yaml(&text, "generated");
        let _ = patmine::trackers::TrackerSet::from_yaml(&text, "generated");
    }
}
