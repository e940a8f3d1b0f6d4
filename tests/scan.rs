//! `patmine scan` end to end: dialects, filters, fallback, cache, determinism, recounts, errors.

mod common;

use std::collections::{HashMap, HashSet};

use common::*;
use tree_sitter::StreamingIterator;

fn file_statuses(
    db: &std::path::Path,
) -> HashMap<String, (String, Option<String>, Option<String>)> {
    let conn = duckdb::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT f.path, f.status, f.reason, b.grammar FROM scan_files f LEFT JOIN blobs b USING (blob_row)
             WHERE f.scan_id = (SELECT max(scan_id) FROM scans)",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
    })
    .unwrap()
    .map(|r| r.unwrap())
    .collect()
}

#[test]
fn every_dialect_is_parsed_and_vendored_paths_are_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("p.duckdb");
    let out = json(&patmine_ok(
        &db,
        &[
            "scan",
            fixtures().join("sample").to_str().unwrap(),
            "--json",
        ],
    ));
    assert_eq!(out["summary"]["skipped"]["vendored"], 2, "{out}");
    let statuses = file_statuses(&db);
    for (path, grammar) in [
        ("server.js", "javascript"),
        ("lib/util.cjs", "javascript"),
        ("lib/math.mjs", "javascript"),
        ("web/App.jsx", "javascript"),
        ("services/api.ts", "typescript"),
        ("web/Counter.tsx", "tsx"),
    ] {
        let (status, _, g) = &statuses[path];
        assert_eq!(status, "parsed", "{path}");
        assert_eq!(g.as_deref(), Some(grammar), "{path}");
    }
    assert_eq!(
        statuses["node_modules/left-pad/index.js"].1.as_deref(),
        Some("vendored")
    );
    assert_eq!(statuses["dist/bundle.js"].1.as_deref(), Some("vendored"));
    let first = &out["patterns"][0];
    for key in [
        "abstract",
        "semantic",
        "occurrences",
        "files",
        "category",
        "example",
    ] {
        assert!(!first[key].is_null(), "pattern lacks {key}: {first}");
    }
}

#[test]
fn bad_inputs_are_filtered_or_recovered() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("p.duckdb");
    let out = json(&patmine_ok(
        &db,
        &["scan", fixtures().join("bad").to_str().unwrap(), "--json"],
    ));
    assert_eq!(out["summary"]["failed"], 0);
    let statuses = file_statuses(&db);
    assert_eq!(statuses["binary.js"].1.as_deref(), Some("binary"));
    assert_eq!(statuses["vendor.min.js"].1.as_deref(), Some("minified"));
    assert_eq!(statuses["oneline.js"].1.as_deref(), Some("minified"));
    assert_eq!(statuses["latin1.js"].0, "parsed", "invalid UTF-8 is parsed");
    // Flow in a .js file: the tsx grammar parses it with fewer errors.
    assert_eq!(statuses["flow.js"].2.as_deref(), Some("tsx"));
    assert_eq!(statuses["broken.ts"].0, "parsed");
}

/// A directory the walk cannot read is named on stderr and makes the exit 1; the rest is
/// scanned. (A path too long to open is unreadable even to root, which chmod is not.)
#[test]
fn an_unreadable_directory_is_named_and_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("tree");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("ok.js"), "var a = 1;\n").unwrap();
    // Built one level at a time from inside, so that no single path given to mkdir is too long.
    let name = "d".repeat(250);
    let made = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "cd \"$1\" && for i in $(seq 20); do mkdir {name} && cd {name} || exit 1; done; echo 'let b = 2;' > deep.js"
        ))
        .arg("bash")
        .arg(&root)
        .status()
        .unwrap();
    assert!(made.success());
    let db = tmp.path().join("p.duckdb");
    let out = patmine(&db, &["scan", root.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot read directory"), "{stderr}");
    let doc = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(doc["summary"]["parsed"], 1, "ok.js is still scanned");
}

#[test]
fn size_limit_and_globs() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("p.duckdb");
    let sample = fixtures().join("sample");
    let out = json(&patmine_ok(
        &db,
        &[
            "scan",
            sample.to_str().unwrap(),
            "--json",
            "--max-bytes",
            "300",
        ],
    ));
    assert!(
        out["summary"]["skipped"]["too-large"].as_i64().unwrap() >= 3,
        "{out}"
    );
    let out = json(&patmine_ok(
        &db,
        &[
            "scan",
            sample.to_str().unwrap(),
            "--json",
            "--include",
            "web/**",
            "--exclude",
            "**/*.tsx",
        ],
    ));
    assert_eq!(
        out["summary"]["parsed"].as_i64().unwrap() + out["summary"]["cached"].as_i64().unwrap(),
        1,
        "{out}"
    );
}

#[test]
fn second_scan_parses_nothing_and_a_new_rulebook_invalidates() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("p.duckdb");
    let sample = fixtures().join("sample");
    let first = json(&patmine_ok(
        &db,
        &["scan", sample.to_str().unwrap(), "--json"],
    ));
    let parsed = first["summary"]["parsed"].as_i64().unwrap();
    assert!(parsed >= 7);
    let second = json(&patmine_ok(
        &db,
        &["scan", sample.to_str().unwrap(), "--json"],
    ));
    assert_eq!(second["summary"]["parsed"], 0);
    assert_eq!(second["summary"]["cached"].as_i64().unwrap(), parsed);
    assert_eq!(pattern_set(&first), pattern_set(&second));

    let rules = tmp.path().join("rules.yaml");
    std::fs::write(
        &rules,
        "extends: default\nrules:\n  identifier:\n    app: EXPRESS_APP\n",
    )
    .unwrap();
    let third = json(&patmine_ok(
        &db,
        &[
            "scan",
            sample.to_str().unwrap(),
            "--json",
            "--rules",
            rules.to_str().unwrap(),
            "--level",
            "semantic",
            "--top",
            "500",
        ],
    ));
    assert_eq!(
        third["summary"]["parsed"].as_i64().unwrap(),
        parsed,
        "a changed rulebook parses again"
    );
    let semantic: Vec<&str> = third["patterns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["semantic"].as_str().unwrap())
        .collect();
    assert!(
        semantic.iter().any(|s| s.starts_with("EXPRESS_APP.get(")),
        "{semantic:?}"
    );
}

/// Copies a directory tree (no symlinks in the fixtures), without recursion.
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    let mut stack = vec![(from.to_path_buf(), to.to_path_buf())];
    while let Some((src, dst)) = stack.pop() {
        std::fs::create_dir_all(&dst).unwrap();
        for entry in std::fs::read_dir(&src).unwrap() {
            let entry = entry.unwrap();
            let target = dst.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                stack.push((entry.path(), target));
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
}

/// A scan's stored counts: (level, pattern id, dialect) -> (occurrences, files).
type Counts = HashMap<(String, String, String), (i64, i64)>;

fn scan_counts(
    db: &std::path::Path,
    scan_id: i64,
) -> HashMap<(String, String, String), (i64, i64)> {
    let conn = duckdb::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT c.level, sha256(s.text), c.dialect, c.occurrences, c.files
             FROM scan_counts c JOIN signatures s ON s.sig = c.sig WHERE c.scan_id = ?",
        )
        .unwrap();
    let rows = stmt
        .query_map([scan_id], |r| {
            Ok(((r.get(0)?, r.get(1)?, r.get(2)?), (r.get(3)?, r.get(4)?)))
        })
        .unwrap();
    let mut counts = HashMap::new();
    for row in rows {
        let (key, value) = row.unwrap();
        assert!(
            counts.insert(key, value).is_none(),
            "one row per pattern and dialect"
        );
    }
    counts
}

/// Equal counts, or a failure listing the first differences (not two whole maps).
fn assert_same_counts(left: &Counts, right: &Counts) {
    let mut keys: Vec<_> = left.keys().chain(right.keys()).collect();
    keys.sort();
    keys.dedup();
    let differences: Vec<String> = keys
        .into_iter()
        .filter(|k| left.get(*k) != right.get(*k))
        .map(|k| format!("{k:?}: {:?} vs {:?}", left.get(k), right.get(k)))
        .collect();
    assert!(
        differences.is_empty(),
        "{} differences, the first: {:#?}",
        differences.len(),
        &differences[..differences.len().min(5)]
    );
}

/// A scan's counts recounted here, path by path, from each file's stored patterns: occurrences
/// summed, and a file counted once per pattern however many rows (variants, kinds) it has of it.
fn recount_per_path(db: &std::path::Path, scan_id: i64) -> Counts {
    let conn = duckdb::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT f.path, f.dialect, sha256(a.text), sha256(s.text), p.occurrences
             FROM scan_files f JOIN blob_patterns p ON p.blob_row = f.blob_row
             JOIN signatures a ON a.sig = p.abstract_sig JOIN signatures s ON s.sig = p.semantic_sig
             WHERE f.scan_id = ?",
        )
        .unwrap();
    let rows = stmt
        .query_map([scan_id], |r| {
            let row: (String, String, String, String, i64) =
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
            Ok(row)
        })
        .unwrap();
    let mut occurrences: Counts = HashMap::new();
    let mut paths: HashMap<(String, String, String), HashSet<String>> = HashMap::new();
    for row in rows {
        let (path, dialect, abstract_id, semantic_id, n) = row.unwrap();
        for (level, id) in [("abstract", abstract_id), ("semantic", semantic_id)] {
            let key = (level.to_string(), id, dialect.clone());
            occurrences.entry(key.clone()).or_default().0 += n;
            paths.entry(key).or_default().insert(path.clone());
        }
    }
    for (key, held_by) in paths {
        occurrences.get_mut(&key).unwrap().1 = held_by.len() as i64;
    }
    occurrences
}

/// `scan_counts` equals a recount path by path, including a content held by two paths (stored
/// once), a re-scan from the cache, and a re-scan after an edit (against a fresh database).
#[test]
fn scan_counts_equal_a_recount_per_path_through_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    copy_tree(&fixtures().join("sample"), &tree);
    std::fs::copy(tree.join("server.js"), tree.join("server-copy.js")).unwrap();
    let tree_arg = tree.to_str().unwrap();
    let db = tmp.path().join("p.duckdb");
    let first = json(&patmine_ok(&db, &["scan", tree_arg, "--json"]));
    assert_eq!(first["summary"]["cached"], 0);
    // The copy's content is analysed once, for one of its two paths.
    assert_eq!(first["summary"]["same_content"], 1);
    let again = json(&patmine_ok(&db, &["scan", tree_arg, "--json"]));
    assert_eq!(again["summary"]["parsed"], 0);
    let written = scan_counts(&db, 1);
    assert!(written.len() > 50, "{}", written.len());
    assert_same_counts(&written, &recount_per_path(&db, 1));
    assert_same_counts(&written, &scan_counts(&db, 2));
    // Both paths of the copied content count.
    let require_files = written
        .iter()
        .filter(|((level, _, dialect), _)| level == "abstract" && dialect == "js")
        .map(|(_, &(_, files))| files)
        .max()
        .unwrap();
    assert!(require_files >= 2, "{require_files}");

    let server = tree.join("server.js");
    let mut text = std::fs::read_to_string(&server).unwrap();
    text.push_str("\nconst extra = require('./lib/util.cjs');\nnew Map();\n");
    std::fs::write(&server, text).unwrap();
    let mixed = json(&patmine_ok(&db, &["scan", tree_arg, "--json"]));
    assert_eq!(mixed["summary"]["parsed"], 1);
    let fresh_db = tmp.path().join("fresh.duckdb");
    let fresh = json(&patmine_ok(&fresh_db, &["scan", tree_arg, "--json"]));
    assert_eq!(fresh["summary"]["cached"], 0);
    assert_same_counts(&scan_counts(&db, 3), &scan_counts(&fresh_db, 1));
    assert_same_counts(&scan_counts(&db, 3), &recount_per_path(&db, 3));
    assert_ne!(scan_counts(&db, 3), written);
}

/// A scan that parses every file ranks its patterns from what it kept in memory; one that finds
/// its files in the cache ranks them with a query over the store. Both must print the same
/// patterns in the same order, ties (at the cut, between variants of a pattern) included.
#[test]
fn patterns_ranked_from_memory_equal_those_ranked_by_the_store() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    copy_tree(&fixtures().join("sample"), &tree);
    // The same content at a path that sorts first: examples come from either.
    std::fs::create_dir_all(tree.join("a")).unwrap();
    std::fs::copy(tree.join("server.js"), tree.join("a/server.js")).unwrap();
    // One pattern in two variants, once each: a tie the ids of their texts break.
    std::fs::write(
        tree.join("ties.js"),
        "document.querySelector('a');\nitem.querySelector('b');\n",
    )
    .unwrap();
    let tree_arg = tree.to_str().unwrap();
    for level in ["abstract", "semantic"] {
        for top in ["1", "3", "1000"] {
            let db = tmp.path().join(format!("{level}-{top}.duckdb"));
            let args = ["scan", tree_arg, "--json", "--level", level, "--top", top];
            let fresh = json(&patmine_ok(&db, &args));
            let cached = json(&patmine_ok(&db, &args));
            assert_eq!(fresh["summary"]["cached"], 0);
            assert_eq!(cached["summary"]["parsed"], 0);
            let patterns = fresh["patterns"].as_array().unwrap();
            assert!(!patterns.is_empty());
            assert_eq!(
                fresh["patterns"], cached["patterns"],
                "--level {level} --top {top}"
            );
            if top == "1000" {
                let counts: Vec<(i64, i64)> = (patterns.iter())
                    .map(|p| {
                        (
                            p["occurrences"].as_i64().unwrap(),
                            p["files"].as_i64().unwrap(),
                        )
                    })
                    .collect();
                assert!(counts.windows(2).any(|w| w[0] == w[1]), "no tie to break");
            }
        }
    }
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = fixtures().join("sample");
    let one = patmine_ok(
        &tmp.path().join("a.duckdb"),
        &[
            "scan",
            sample.to_str().unwrap(),
            "--json",
            "--top",
            "1000",
            "--jobs",
            "1",
        ],
    );
    let two = patmine_ok(
        &tmp.path().join("b.duckdb"),
        &[
            "scan",
            sample.to_str().unwrap(),
            "--json",
            "--top",
            "1000",
            "--jobs",
            "2",
        ],
    );
    let (one, two) = (json(&one), json(&two));
    assert_eq!(one["patterns"], two["patterns"]);
}

/// Counts nodes matching a plain tree-sitter query in every parsed file of `fixtures/sample`.
fn recount(query_text: &str) -> i64 {
    let mut total = 0;
    for (path, language) in [
        ("server.js", tree_sitter_javascript::LANGUAGE.into()),
        ("lib/util.cjs", tree_sitter_javascript::LANGUAGE.into()),
        ("lib/math.mjs", tree_sitter_javascript::LANGUAGE.into()),
        ("web/App.jsx", tree_sitter_javascript::LANGUAGE.into()),
        ("test/api.test.js", tree_sitter_javascript::LANGUAGE.into()),
        (
            "services/api.ts",
            tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
        ),
        (
            "web/Counter.tsx",
            tree_sitter_typescript::LANGUAGE_TSX.into(),
        ),
    ] {
        let language: tree_sitter::Language = language;
        let source = std::fs::read(fixtures().join("sample").join(path)).unwrap();
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&language).unwrap();
        let tree = parser.parse(&source, None).unwrap();
        let query = tree_sitter::Query::new(&language, query_text).unwrap();
        let mut cursor = tree_sitter::QueryCursor::new();
        let mut matches = cursor.matches(&query, tree.root_node(), source.as_slice());
        while matches.next().is_some() {
            total += 1;
        }
    }
    total
}

#[test]
fn counts_equal_an_independent_recount() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("p.duckdb");
    let out = json(&patmine_ok(
        &db,
        &[
            "scan",
            fixtures().join("sample").to_str().unwrap(),
            "--json",
            "--top",
            "100000",
        ],
    ));
    let sum_where = |prefix: &str| -> i64 {
        out["patterns"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["abstract"].as_str().unwrap().starts_with(prefix))
            .map(|p| p["occurrences"].as_i64().unwrap())
            .sum()
    };
    assert_eq!(sum_where("import "), recount("(import_statement) @i"));
    assert_eq!(sum_where("class "), recount("(class_declaration) @c"));
    let by_kind = |kind: &str| -> i64 {
        out["patterns"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["kind"] == kind)
            .map(|p| p["occurrences"].as_i64().unwrap())
            .sum()
    };
    assert_eq!(by_kind("await"), recount("(await_expression) @a"));
    assert_eq!(
        by_kind("declaration"),
        recount("[(lexical_declaration) (variable_declaration)] @d")
    );
}

#[test]
fn deeply_nested_code_does_not_overflow_the_stack() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("src");
    std::fs::create_dir(&dir).unwrap();
    let depth = 100_000;
    // One level a line, so the minified-file filter lets them through.
    let calls = format!(
        "const x = {}1{};\n",
        "f(\n".repeat(depth),
        ")\n".repeat(depth)
    );
    std::fs::write(dir.join("calls.js"), calls).unwrap();
    let arrays = format!("let a = {}0{};\n", "[\n".repeat(depth), "]\n".repeat(depth));
    std::fs::write(dir.join("arrays.ts"), arrays).unwrap();
    let blocks = format!(
        "{}x();{}\n",
        "if (a) {\n".repeat(depth / 10),
        "}\n".repeat(depth / 10)
    );
    std::fs::write(dir.join("blocks.js"), blocks).unwrap();
    let db = tmp.path().join("p.duckdb");
    let out = patmine(
        &db,
        &[
            "scan",
            dir.to_str().unwrap(),
            "--json",
            "--max-bytes",
            "10000000",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(doc["summary"]["parsed"], 3, "{doc}");
    // The files deeper than the root queries look are named on stderr.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("calls.js") && err.contains("nested deeper"),
        "{err}"
    );
    // A raised size limit comes with what it may cost in memory.
    assert!(
        err.contains("--max-bytes 10000000") && err.contains("1.0 GiB"),
        "{err}"
    );
}

/// A TypeScript file whose parse time grows with the square of its nesting (`f<T<T<...>>>()`).
fn nested_generics(depth: usize) -> String {
    format!(
        "let x = f{}{}();\n",
        "<T\n".repeat(depth),
        ">\n".repeat(depth)
    )
}

#[test]
fn a_parse_over_budget_is_named_and_left_out_and_the_rest_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("src");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("slow.ts"), nested_generics(3_000)).unwrap();
    std::fs::write(dir.join("ok.ts"), "const a: number = 1;\n").unwrap();
    let db = tmp.path().join("p.duckdb");
    let out = patmine(
        &db,
        &[
            "scan",
            dir.to_str().unwrap(),
            "--json",
            "--parse-budget",
            "0.2",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "a file was not analysed");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("slow.ts") && err.contains("parse-timeout"),
        "{err}"
    );
    let doc = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(doc["summary"]["parsed"], 1, "{doc}");
    assert_eq!(doc["summary"]["failed"], 1, "{doc}");
    // Not cached: a larger budget analyses it.
    let out = patmine_ok(
        &db,
        &[
            "scan",
            dir.to_str().unwrap(),
            "--json",
            "--parse-budget",
            "120",
        ],
    );
    let doc = json(&out);
    assert_eq!(doc["summary"]["parsed"], 1, "{doc}");
    assert_eq!(doc["summary"]["failed"], 0, "{doc}");
}

#[test]
fn bad_rulebooks_and_queries_are_one_line_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("p.duckdb");
    let sample = fixtures().join("sample");
    let rules = tmp.path().join("bad.yaml");
    std::fs::write(&rules, "rules:\n  identifiers:\n    a: B\n").unwrap();
    let out = patmine(
        &db,
        &[
            "scan",
            sample.to_str().unwrap(),
            "--rules",
            rules.to_str().unwrap(),
        ],
    );
    one_line_error(&out, &["bad.yaml", "identifiers"]);

    let queries = tmp.path().join("q");
    std::fs::create_dir(&queries).unwrap();
    for name in ["javascript.scm", "typescript.scm", "tsx.scm"] {
        std::fs::write(queries.join(name), "(call_expression) @call\n").unwrap();
    }
    std::fs::write(
        queries.join("tsx.scm"),
        "(call_expression) @call\n(call_expression @x\n",
    )
    .unwrap();
    let out = patmine(
        &db,
        &[
            "scan",
            sample.to_str().unwrap(),
            "--queries",
            queries.to_str().unwrap(),
        ],
    );
    one_line_error(&out, &["tsx.scm:2:"]);
}

#[test]
fn a_database_held_by_another_process_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("held.duckdb");
    let holder = duckdb::Connection::open(&db).unwrap();
    holder.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
    // DuckDB locks per process; a second process cannot open the file for writing.
    let out = patmine(&db, &["scan", fixtures().join("sample").to_str().unwrap()]);
    one_line_error(&out, &["held.duckdb", "locked"]);
    drop(holder);
}

/// A run killed while DuckDB creates the file leaves it empty or with part of DuckDB's header:
/// the next run starts it again. A small file of someone else's is never removed.
#[test]
fn a_database_file_left_incomplete_is_created_again() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = fixtures().join("sample");
    let sample = sample.to_str().unwrap();
    let complete = tmp.path().join("complete.duckdb");
    patmine_ok(&complete, &["scan", sample]);
    let header = std::fs::read(&complete).unwrap();
    for (name, bytes) in [
        ("empty", Vec::new()),
        ("zeros", vec![0u8; 4096]),
        ("partial-header", header[..5000].to_vec()),
    ] {
        let db = tmp.path().join(format!("{name}.duckdb"));
        std::fs::write(&db, &bytes).unwrap();
        let doc = json(&patmine_ok(&db, &["scan", sample, "--json"]));
        assert_eq!(doc["summary"]["parsed"], 7, "{name}");
    }
    let foreign = tmp.path().join("notes.duckdb");
    std::fs::write(&foreign, "my notes, not a database\n").unwrap();
    let out = patmine(&foreign, &["scan", sample]);
    one_line_error(&out, &["notes.duckdb"]);
    assert_eq!(
        std::fs::read_to_string(&foreign).unwrap(),
        "my notes, not a database\n"
    );
}

/// A new database that cannot be created stops the scan, whose workers started without it, with
/// one line naming it.
#[test]
fn a_new_database_that_cannot_be_created_is_one_line_error() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("no-such-dir").join("p.duckdb");
    let out = patmine(&db, &["scan", fixtures().join("sample").to_str().unwrap()]);
    one_line_error(&out, &["cannot open database", "no-such-dir"]);
}

/// A database of another schema version is refused with one line naming it, and left as it was:
/// no table of this version is added to it.
#[test]
fn a_database_of_another_schema_version_is_refused_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("old.duckdb");
    {
        let conn = duckdb::Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
             INSERT INTO meta VALUES ('schema_version', '1');",
        )
        .unwrap();
    }
    let out = patmine(&db, &["scan", fixtures().join("sample").to_str().unwrap()]);
    one_line_error(&out, &["old.duckdb", "schema version 1"]);
    let conn = duckdb::Connection::open(&db).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT table_name FROM information_schema.tables ORDER BY 1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(tables, ["meta"]);
}

#[test]
fn report_dir_gets_a_phrasebook() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("p.duckdb");
    let reports = tmp.path().join("out");
    patmine_ok(
        &db,
        &[
            "scan",
            fixtures().join("sample").to_str().unwrap(),
            "--report-dir",
            reports.to_str().unwrap(),
        ],
    );
    let md = std::fs::read_to_string(reports.join("phrasebook.md")).unwrap();
    assert!(md.contains("| rank | signature |"), "{md}");
    let doc = json(&std::fs::read_to_string(reports.join("phrasebook.json")).unwrap());
    assert_eq!(doc["patterns"][0]["rank"], 1);
}

/// A scan killed at any batch, then run again, ends with the counts of a fresh scan: batches
/// committed before the kill come back from the cache, the rest is analysed, nothing twice.
/// Every content is held by two files, so files waiting for their content's first file are in
/// flight when the kill comes.
#[test]
fn a_killed_scan_resumes_to_the_counts_of_a_fresh_one() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    let versions: Vec<String> = ["server.v1.js", "server.v2.js", "util.v1.js", "api.v2.ts"]
        .iter()
        .map(|f| std::fs::read_to_string(fixtures().join("history/files").join(f)).unwrap())
        .collect();
    let (files, distinct) = (6000, 3000);
    for i in 0..files {
        let dir = tree.join(format!("d{}", i % 40));
        std::fs::create_dir_all(&dir).unwrap();
        let n = i % distinct;
        let ext = if n % 3 == 0 { "ts" } else { "js" };
        std::fs::write(
            dir.join(format!("f{i}.{ext}")),
            format!("{}\nconst n{n} = {n};\n", versions[n % versions.len()]),
        )
        .unwrap();
    }
    let tree_arg = tree.to_str().unwrap();
    let fresh = tmp.path().join("fresh.duckdb");
    let summary = json(&patmine_ok(&fresh, &["scan", tree_arg, "--json"]))["summary"].clone();
    assert_eq!(summary["same_content"], files - distinct, "{summary}");
    let expected = scan_counts(&fresh, last_scan(&fresh));

    // 6,000 files are written in several transactions (2,000 at a time, then the tail in 500s).
    for point in [
        "before-commit:1",
        "after-commit:1",
        "before-commit:2",
        "after-commit:3",
    ] {
        let db = tmp
            .path()
            .join(format!("killed-{}.duckdb", point.replace(':', "-")));
        patmine_crashed_at(&db, &["-q", "scan", tree_arg], point);
        let resumed = json(&patmine_ok(&db, &["scan", tree_arg, "--json"]))["summary"].clone();
        assert_eq!(resumed["failed"], 0, "{resumed}");
        assert_same_counts(&scan_counts(&db, last_scan(&db)), &expected);
    }
}

fn last_scan(db: &std::path::Path) -> i64 {
    let conn = duckdb::Connection::open(db).unwrap();
    conn.query_row("SELECT max(scan_id) FROM scans", [], |r| r.get(0))
        .unwrap()
}
