//! The acceptance cases of docs/signatures.md. Each test cites the section it checks, by
//! number and anchor, so that a failure points at the rule it breaks.

use patmine::analyze::Analyzer;
use patmine::dialect::Dialect;

fn occurrences(source: &str, dialect: Dialect) -> Vec<(String, String, String)> {
    let analyzer = Analyzer::builtin();
    let (_, occ) = analyzer
        .explain(source.as_bytes(), dialect)
        .expect("parses");
    occ.into_iter()
        .map(|o| (o.kind, o.signature.abstract_text, o.signature.semantic_text))
        .collect()
}

/// The first occurrence of `kind` in `source` (as .js).
fn first(source: &str, kind: &str) -> (String, String) {
    first_in(source, kind, Dialect::Js)
}

fn first_in(source: &str, kind: &str, dialect: Dialect) -> (String, String) {
    let all = occurrences(source, dialect);
    let (_, a, s) = all
        .iter()
        .find(|(k, _, _)| k == kind)
        .unwrap_or_else(|| panic!("no {kind} in {source:?}: {all:?}"))
        .clone();
    (a, s)
}

fn check(source: &str, kind: &str, abstract_sig: &str, semantic_sig: &str) {
    let (a, s) = first(source, kind);
    assert_eq!(a, abstract_sig, "abstract of {source:?}");
    assert_eq!(s, semantic_sig, "semantic of {source:?}");
}

// docs/signatures.md §10 (#semantic-level)
#[test]
fn dom_lookup() {
    check(
        r#"const el = document.getElementById("x")"#,
        "declaration",
        "const IDENTIFIER = IDENTIFIER.getElementById(STRING)",
        "const IDENTIFIER = DOM_OBJECT.getElementById(STRING)",
    );
}

// docs/signatures.md §10 (#semantic-level), §11 (#bindings)
#[test]
fn require_declaration() {
    check(
        "var fs = require('fs');",
        "declaration",
        "var IDENTIFIER = IDENTIFIER(STRING)",
        "var IDENTIFIER = require(STRING)",
    );
}

// docs/signatures.md §10 (#semantic-level)
#[test]
fn console_log() {
    check(
        r#"console.log("hello")"#,
        "call",
        "IDENTIFIER.log(STRING)",
        "CONSOLE_OBJECT.log(STRING)",
    );
}

// docs/signatures.md §10 (#semantic-level), §11 (#bindings)
#[test]
fn use_state_destructuring() {
    check(
        "const [count, setCount] = useState(0)",
        "declaration",
        "const [IDENTIFIER, IDENTIFIER] = IDENTIFIER(NUMBER)",
        "const [IDENTIFIER, IDENTIFIER] = REACT_HOOK(NUMBER)",
    );
}

// docs/signatures.md §6 (#bodies), §10 (#semantic-level)
#[test]
fn express_route_with_callback() {
    let src = "app.get('/', function(req, res){ res.send('hi') })";
    let sig = "IDENTIFIER.get(STRING, function (IDENTIFIER, IDENTIFIER) { … })";
    check(src, "call", sig, sig);
    // The collapsed body's call is counted on its own.
    let calls: Vec<String> = occurrences(src, Dialect::Js)
        .into_iter()
        .map(|(_, a, _)| a)
        .collect();
    assert_eq!(
        calls,
        vec![sig.to_string(), "IDENTIFIER.send(STRING)".to_string()]
    );
}

// docs/signatures.md §9 (#call-chains), §10 (#semantic-level)
#[test]
fn fetch_then_chain() {
    let src = "fetch(url).then(r => r.json())";
    check(
        src,
        "call",
        "IDENTIFIER(IDENTIFIER).then((IDENTIFIER) => IDENTIFIER.json())",
        "FETCH_API(IDENTIFIER).then((IDENTIFIER) => IDENTIFIER.json())",
    );
    // One chain, one pattern: `fetch(url)` is not counted again; the call in the callback is.
    let all: Vec<String> = occurrences(src, Dialect::Js)
        .into_iter()
        .map(|(_, a, _)| a)
        .collect();
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(all[1], "IDENTIFIER.json()");
}

// docs/signatures.md §11 (#bindings)
#[test]
fn named_import() {
    let sig = "import { IDENTIFIER } from STRING";
    check(
        r#"import { readFile } from "node:fs/promises";"#,
        "import",
        sig,
        sig,
    );
}

// docs/signatures.md §10 (#semantic-level), §11 (#bindings)
#[test]
fn module_exports() {
    check(
        "module.exports = router",
        "assignment",
        "IDENTIFIER.exports = IDENTIFIER",
        "module.exports = IDENTIFIER",
    );
}

// docs/signatures.md §5 (#typescript-types), §10 (#semantic-level)
#[test]
fn typescript_generic_annotation() {
    let (a, s) = first_in(
        "const x: Map<string, User> = new Map()",
        "declaration",
        Dialect::Ts,
    );
    assert_eq!(a, "const IDENTIFIER: TYPE<string, TYPE> = new IDENTIFIER()");
    assert_eq!(s, "const IDENTIFIER: TYPE<string, TYPE> = new Map()");
}

// docs/signatures.md §2 (#canonical-text)
#[test]
fn formatting_comments_quotes_semicolons_and_trailing_commas_do_not_matter() {
    let variants = [
        "const  x=foo( 'a' , [1,2] , {a:1} );",
        "const x = foo(\"a\", [1, 2], { a: 1 })",
        "const x = /* c */ foo(\n  `a`,\n  [1, 2,],\n  { a: 1, },\n) // trailing",
    ];
    let expected = first(variants[0], "declaration");
    assert_eq!(
        expected.0,
        "const IDENTIFIER = IDENTIFIER(STRING, [NUMBER, NUMBER], { a: NUMBER })"
    );
    for v in &variants[1..] {
        assert_eq!(first(v, "declaration"), expected, "{v}");
    }
}

// docs/signatures.md §3 (#placeholders), §4 (#kept-names), §7 (#size-limits)
#[test]
fn placeholders_for_literals() {
    let (a, _) = first(
        "let v = [true, false, 1.5e3, /ab+c/g, `t${x}`, null, undefined, this]",
        "declaration",
    );
    assert_eq!(
        a,
        "let IDENTIFIER = [BOOLEAN, BOOLEAN, NUMBER, REGEX, STRING, …]"
    );
    let (a, _) = first("let v = { k: null, [key]: undefined }", "declaration");
    assert_eq!(a, "let IDENTIFIER = { k: null, [IDENTIFIER]: undefined }");
}

// docs/signatures.md §4 (#kept-names)
#[test]
fn property_names_and_shorthand() {
    let (a, _) = first("const o = { name, value: v, ...rest }", "declaration");
    assert_eq!(
        a,
        "const IDENTIFIER = { IDENTIFIER, value: IDENTIFIER, ...IDENTIFIER }"
    );
    let (a, _) = first("Foo.prototype.bar = function () { return 1 }", "assignment");
    assert_eq!(a, "IDENTIFIER.prototype.bar = function () { … }");
}

// docs/signatures.md §3 (#placeholders): found by the `analyze` fuzz target.
#[test]
fn a_string_broken_open_leaves_no_quote_or_text_in_a_signature() {
    let src = "const h = crypto.createHash('md5').update(x).digest('secret\nlet y = null";
    for dialect in [Dialect::Js, Dialect::Ts, Dialect::Tsx] {
        for (kind, a, _) in occurrences(src, dialect) {
            assert!(!a.contains(['\'', '"', '`']), "{kind}: {a}");
            assert!(!a.contains("secret"), "{kind}: {a}");
        }
    }
}

// docs/signatures.md §2 (#canonical-text), §4 (#kept-names), §8 (#jsx-and-templates): defects
// found on vuejs/core, express and npm code, each a rule now.
#[test]
fn one_idiom_one_valid_signature() {
    // `new Foo` is `new Foo()`.
    let (a, _) = first("const a = new Foo", "declaration");
    assert_eq!(a, "const IDENTIFIER = new IDENTIFIER()");
    assert_eq!(first("new a.b.C", "new").0, "new IDENTIFIER.b.C()");
    assert_eq!(first("new Foo(1)", "new").0, "new IDENTIFIER(NUMBER)");
    // The `;` before `else` stays; a statement-ending one goes.
    assert_eq!(
        first("if (a) return; else b();", "control").0,
        "if (IDENTIFIER) return; else IDENTIFIER()"
    );
    assert_eq!(
        first("if (a) x();", "control").0,
        "if (IDENTIFIER) IDENTIFIER()"
    );
    // A quoted key that could be a name is that name.
    assert_eq!(
        first(
            "const o = { 'acceptRanges': true, 'content-type': x, \"b\": 1 }",
            "declaration"
        )
        .0,
        "const IDENTIFIER = { acceptRanges: BOOLEAN, STRING: IDENTIFIER, b: NUMBER }"
    );
    // A tagged template is spaced from its tag.
    assert_eq!(first("html`<p>${x}</p>`", "call").0, "IDENTIFIER STRING");
    for dialect in [Dialect::Js, Dialect::Ts, Dialect::Tsx] {
        // `default` is kept in every dialect.
        let (a, _) = first_in("export { default as X } from './y'", "export", dialect);
        assert_eq!(
            a, "export { default as IDENTIFIER } from STRING",
            "{dialect:?}"
        );
    }
    // A type parameter list that opens an arrow function follows no name.
    let (a, _) = first_in("const g = <T,>(x: T) => x", "declaration", Dialect::Tsx);
    assert_eq!(
        a,
        "const IDENTIFIER = <TYPE>(IDENTIFIER: TYPE) => IDENTIFIER"
    );
    let (a, _) = first_in("const g = <T>(x: T) => f<T>(x)", "declaration", Dialect::Ts);
    assert_eq!(
        a,
        "const IDENTIFIER = <TYPE>(IDENTIFIER: TYPE) => IDENTIFIER<TYPE>(IDENTIFIER)"
    );
}

// docs/signatures.md §5 (#typescript-types)
#[test]
fn typescript_types() {
    let (a, _) = first_in(
        "function f(a: string, b?: number): Promise<void> { return x }",
        "function",
        Dialect::Ts,
    );
    assert_eq!(
        a,
        "function IDENTIFIER(IDENTIFIER: string, IDENTIFIER?: number): TYPE<void> { … }"
    );
    let (a, _) = first_in(
        "interface Props { a: string; b: number }",
        "type",
        Dialect::Ts,
    );
    assert_eq!(a, "interface IDENTIFIER { … }");
    let (a, _) = first_in("type Id = string | number;", "type", Dialect::Ts);
    assert_eq!(a, "type IDENTIFIER = string | number");
    let (a, _) = first_in("const xs: string[] = []", "declaration", Dialect::Ts);
    assert_eq!(a, "const IDENTIFIER: string[] = []");
    // An object type's members are separated by `;`, however the code separates them.
    for source in [
        "type O = { a: string; b: number };",
        "type O = { a: string, b: number, };",
        "type O = {\n  a: string\n  b: number\n};",
        "type O = { // x\n  a: string; // y\n  b: number; };",
    ] {
        let (a, _) = first_in(source, "type", Dialect::Ts);
        assert_eq!(a, "type IDENTIFIER = { a: string; b: number }", "{source}");
    }
    let (a, _) = first_in(
        "type O = { a: { b: string, c(): void } }",
        "type",
        Dialect::Tsx,
    );
    assert_eq!(a, "type IDENTIFIER = { a: { b: string; c(): void } }");
    // §8 (#jsx-and-templates): a template literal type is one STRING, as a template literal is.
    for (source, expected) in [
        ("type X = `data-${string}`;", "type IDENTIFIER = STRING"),
        (
            "type Y = `a${number}b${Lowercase<K>}`;",
            "type IDENTIFIER = STRING",
        ),
    ] {
        let (a, s) = first_in(source, "type", Dialect::Ts);
        assert_eq!(a, expected, "{source}");
        assert_eq!(s, expected, "{source}");
    }
}

// docs/signatures.md §6 (#bodies)
#[test]
fn bodies_collapse_and_nested_roots_count() {
    let src = "class App extends React.Component { render() { const a = 1; return a } }";
    let all = occurrences(src, Dialect::Jsx);
    let sigs: Vec<&str> = all.iter().map(|(_, a, _)| a.as_str()).collect();
    assert_eq!(
        sigs,
        vec![
            "class IDENTIFIER extends IDENTIFIER.Component { … }",
            "render() { … }",
            "const IDENTIFIER = NUMBER"
        ]
    );
    assert_eq!(all[0].2, "class IDENTIFIER extends React.Component { … }");
    let (a, _) = first("if (a > 1) { x() } else { y() }", "control");
    assert_eq!(a, "if (IDENTIFIER > NUMBER) { … } else { … }");
    let (a, _) = first("for (let i = 0; i < n; i++) {}", "control");
    assert_eq!(
        a,
        "for (let IDENTIFIER = NUMBER; IDENTIFIER < IDENTIFIER; IDENTIFIER++) {}"
    );
    let (a, _) = first("try { a() } catch (e) { b() }", "control");
    assert_eq!(a, "try { … } catch (IDENTIFIER) { … }");
}

// docs/signatures.md §6 (#bodies)
#[test]
fn expression_bodied_arrow_keeps_its_expression() {
    let (a, _) = first("const add = (a, b) => a + b", "declaration");
    assert_eq!(
        a,
        "const IDENTIFIER = (IDENTIFIER, IDENTIFIER) => IDENTIFIER + IDENTIFIER"
    );
    let (a, _) = first("const f = async x => { await x }", "declaration");
    assert_eq!(a, "const IDENTIFIER = async (IDENTIFIER) => { … }");
}

// docs/signatures.md §7 (#size-limits)
#[test]
fn long_lists_and_long_signatures_are_bounded() {
    let (a, _) = first("f(1, 2, 3, 4, 5, 6, 7, 8)", "call");
    assert_eq!(a, "IDENTIFIER(NUMBER, NUMBER, NUMBER, NUMBER, NUMBER, …)");
    let long = format!(
        "const x = {}",
        (0..200)
            .map(|i| format!("a{i}"))
            .collect::<Vec<_>>()
            .join(" + ")
    );
    let (a, _) = first(&long, "declaration");
    assert!(a.len() <= 160 + "…".len(), "{}", a.len());
    assert!(a.ends_with('…'));
    // The cut falls between tokens, never inside one (`{ offset: NU…` before).
    assert!(a.ends_with("IDENTIFIER…") || a.ends_with("+…"), "{a}");
    let keys = format!(
        "const o = {{ {} }}",
        (0..4)
            .map(|i| format!("someRatherLongPropertyName{i}: 123456789"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let (a, _) = first(&keys, "declaration");
    assert!(a.len() <= 160 + "…".len(), "{a}");
    let full = format!(
        "const IDENTIFIER = {{ {} }}",
        (0..4)
            .map(|i| format!("someRatherLongPropertyName{i}: NUMBER"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let before_cut = a.trim_end_matches('…').trim_end();
    assert!(full.starts_with(before_cut), "{a}");
    assert!(
        full[before_cut.len()..].starts_with([' ', ',', ':']),
        "cut inside a token: {a}"
    );
}

// docs/signatures.md §10 (#semantic-level); docs/rulebook.md (#rules-callee)
#[test]
fn roles_apply_where_a_name_is_used_as_that_thing() {
    // A function's role where it is called or accessed.
    assert_eq!(
        first("test('adds', () => {})", "call").1,
        "TEST_CASE(STRING, () => {})"
    );
    assert_eq!(
        first("test.each([1])('x', (n) => {})", "call").1,
        "TEST_CASE.each([NUMBER])(STRING, (IDENTIFIER) => {})"
    );
    assert_eq!(
        first("setTimeout(f, 10)", "call").1,
        "TIMER(IDENTIFIER, NUMBER)"
    );
    // Not where the name is a plain value.
    assert_eq!(
        first("if (test) { run(test) }", "control").1,
        "if (IDENTIFIER) { … }"
    );
    assert_eq!(first("run(test)", "call").1, "IDENTIFIER(IDENTIFIER)");
    assert_eq!(
        first("promisify(setTimeout)", "call").1,
        "IDENTIFIER(IDENTIFIER)"
    );
    assert_eq!(
        first("const later = before + 1", "declaration").1,
        "const IDENTIFIER = IDENTIFIER + NUMBER"
    );
    // Objects keep their role as values too.
    assert_eq!(first("f(document)", "call").1, "IDENTIFIER(DOM_OBJECT)");
    // A method named like a React API is not React.
    let rules = patmine::rules::Rulebook::builtin();
    let (_, s) = first("nodeOps.createElement('div')", "call");
    assert_eq!(s, "IDENTIFIER.createElement(STRING)");
    assert_eq!(rules.categorize(&s), "");
    assert_eq!(rules.categorize("React.createElement(STRING)"), "react");
}

// docs/signatures.md §11 (#bindings)
#[test]
fn bindings_are_identifiers_even_when_well_known() {
    let (_, s) = first("const path = require('path')", "declaration");
    assert_eq!(s, "const IDENTIFIER = require(STRING)");
    let (_, s) = first("path.join(__dirname, 'x')", "call");
    assert_eq!(s, "NODE_PATH.join(NODE_MODULE_PATH, STRING)");
}

// docs/signatures.md §12 (#dialects)
#[test]
fn same_idiom_same_signature_across_dialects() {
    for dialect in [
        Dialect::Js,
        Dialect::Mjs,
        Dialect::Cjs,
        Dialect::Jsx,
        Dialect::Ts,
        Dialect::Tsx,
    ] {
        assert_eq!(
            first_in("const x = 1", "declaration", dialect).0,
            "const IDENTIFIER = NUMBER",
            "{dialect}"
        );
        assert_eq!(
            first_in("class A extends B {}", "class", dialect).0,
            "class IDENTIFIER extends IDENTIFIER {}",
            "{dialect}"
        );
    }
}

// docs/signatures.md §8 (#jsx-and-templates)
#[test]
fn jsx_collapses_to_its_tags() {
    let (a, _) = first(
        "const el = <div className=\"x\"><Child a={1} /></div>",
        "declaration",
    );
    assert_eq!(a, "const IDENTIFIER = <div>…</div>");
    let (a, _) = first("const el = <Child a={1} />", "declaration");
    assert_eq!(a, "const IDENTIFIER = <IDENTIFIER />");
}

// docs/signatures.md §2 (#canonical-text)
#[test]
fn misc_operators_format_like_a_formatter() {
    let (a, _) = first("x = !a && -b || typeof c === 'string'", "assignment");
    assert_eq!(
        a,
        "IDENTIFIER = !IDENTIFIER && -IDENTIFIER || typeof IDENTIFIER === STRING"
    );
    let (a, _) = first("const v = a ? b : c", "declaration");
    assert_eq!(a, "const IDENTIFIER = IDENTIFIER ? IDENTIFIER : IDENTIFIER");
    let (a, _) = first("const v = a?.b?.[0]", "declaration");
    assert_eq!(a, "const IDENTIFIER = IDENTIFIER?.b?.[NUMBER]");
    let (a, _) = first("export default function () {}", "export");
    assert_eq!(a, "export default function () {}");
    let (a, _) = first("import * as path from 'path'", "import");
    assert_eq!(a, "import * as IDENTIFIER from STRING");
    let (a, _) = first("function* gen() { yield 1 }", "function");
    assert_eq!(a, "function* IDENTIFIER() { … }");
}

// docs/signatures.md §1 (#roots)
#[test]
fn the_simple_root_matcher_finds_what_the_query_cursor_finds() {
    use patmine::normalize::NormalizeOptions;
    use patmine::queries::QuerySet;
    use patmine::rules::Rulebook;
    let fast = Analyzer::builtin();
    let queries = QuerySet::builtin()
        .unwrap()
        .without_simple_matchers()
        .unwrap();
    let slow = Analyzer::new(queries, Rulebook::builtin(), NormalizeOptions::default(), 5);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut checked = 0;
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if let Some(dialect) = Dialect::from_path(path.to_string_lossy().as_bytes()) {
                let source = std::fs::read(&path).unwrap();
                let a = fast.analyze(&source, dialect).unwrap();
                let b = slow.analyze(&source, dialect).unwrap();
                assert_eq!(a, b, "{}", path.display());
                checked += 1;
            }
        }
    }
    assert!(checked >= 20, "{checked}");
}
