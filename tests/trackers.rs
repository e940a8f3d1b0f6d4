//! Trackers and migrations (docs/trackers.md), checked against independent counts: the ast-grep
//! CLI for `pattern:`/`rule:` trackers, tree-sitter's own query cursor for `query:` trackers,
//! the stored node-kind metrics for `var`/`let`/`const`, and the series for attribution.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use patmine::analyze::Analyzer;
use patmine::dialect::{Dialect, Grammar};
use patmine::trackers::{TrackerMatcher, TrackerSet};

/// Every JS/TS file under `fixtures/` (the trackers' own, the sample tree, the history's file
/// versions, the bad inputs), but the binary one.
fn fixture_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if Dialect::from_path(path.to_string_lossy().as_bytes()).is_some()
                && !path.ends_with("binary.js")
            {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&fixtures(), &mut out);
    out.sort();
    out
}

/// The ast-grep CLI's language for a file, and the grammar patmine parses it with first.
fn cli_language(path: &Path) -> (&'static str, Grammar) {
    match path.extension().and_then(|e| e.to_str()) {
        Some("ts") => ("TypeScript", Grammar::TypeScript),
        Some("tsx") => ("Tsx", Grammar::Tsx),
        _ => ("JavaScript", Grammar::JavaScript),
    }
}

/// The ast-grep CLI: (file, 1-based line) of every match of `rule` in `files`, counted.
fn ast_grep_matches(
    rule: &serde_yaml::Value,
    language: &str,
    files: &[&PathBuf],
    dir: &Path,
) -> BTreeMap<(String, usize), usize> {
    let mut config = serde_yaml::Mapping::new();
    config.insert("id".into(), "tracker".into());
    config.insert("language".into(), language.into());
    config.insert("rule".into(), rule.clone());
    let rule_file = dir.join(format!("rule-{language}.yml"));
    std::fs::write(&rule_file, serde_yaml::to_string(&config).unwrap()).unwrap();
    let out = Command::new("ast-grep")
        .arg("scan")
        .arg("--rule")
        .arg(&rule_file)
        .arg("--json=compact")
        .arg("--no-ignore")
        .arg("hidden")
        .arg("--no-ignore")
        .arg("vcs")
        .args(files)
        .output()
        .expect("the ast-grep CLI is installed (scripts/test installs it)");
    assert!(
        out.status.success(),
        "ast-grep: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut matches = BTreeMap::new();
    for m in found.as_array().unwrap() {
        let file = m["file"].as_str().unwrap().to_string();
        let line = m["range"]["start"]["line"].as_u64().unwrap() as usize + 1;
        *matches.entry((file, line)).or_default() += 1;
    }
    matches
}

#[test]
fn pattern_trackers_match_what_the_ast_grep_cli_reports() {
    let yaml: serde_yaml::Value =
        serde_yaml::from_str(patmine::trackers::DEFAULT_TRACKERS_YAML).unwrap();
    let set = TrackerSet::builtin();
    let analyzer = Analyzer::builtin();
    let tmp = tempfile::tempdir().unwrap();
    let files = fixture_files();
    let mut compared = 0;
    let mut matched = 0;
    for def in yaml["trackers"].as_sequence().unwrap() {
        let name = def["name"].as_str().unwrap();
        let rule = match (def.get("pattern"), def.get("rule")) {
            (Some(pattern), _) => {
                let mut m = serde_yaml::Mapping::new();
                m.insert("pattern".into(), pattern.clone());
                serde_yaml::Value::Mapping(m)
            }
            (None, Some(rule)) => rule.clone(),
            (None, None) => continue, // a query tracker
        };
        let TrackerMatcher::Tree(tracker) = &set.trackers[set.tracker(name).unwrap()].matcher
        else {
            panic!("{name} is a tree tracker")
        };
        for language in ["JavaScript", "TypeScript", "Tsx"] {
            let mine: Vec<&PathBuf> = files
                .iter()
                .filter(|f| cli_language(f).0 == language)
                .collect();
            let expected = ast_grep_matches(&rule, language, &mine, tmp.path());
            let mut found: BTreeMap<(String, usize), usize> = BTreeMap::new();
            for file in &mine {
                let bytes = std::fs::read(file).unwrap();
                let dialect = Dialect::from_path(file.to_string_lossy().as_bytes()).unwrap();
                let (grammar, tree) = analyzer.parse_tree(&bytes, dialect).unwrap();
                if grammar != cli_language(file).1 {
                    continue; // parsed with the fallback grammar: the CLI has no such fallback
                }
                for site in tracker.sites(&tree, &bytes, grammar) {
                    *found
                        .entry((file.to_string_lossy().into_owned(), site.line))
                        .or_default() += 1;
                }
            }
            let fallback: Vec<String> = mine
                .iter()
                .filter(|f| {
                    let bytes = std::fs::read(f).unwrap();
                    let dialect = Dialect::from_path(f.to_string_lossy().as_bytes()).unwrap();
                    analyzer.parse_tree(&bytes, dialect).unwrap().0 != cli_language(f).1
                })
                .map(|f| f.to_string_lossy().into_owned())
                .collect();
            let expected: BTreeMap<_, _> = expected
                .into_iter()
                .filter(|((file, _), _)| !fallback.contains(file))
                .collect();
            assert_eq!(found, expected, "tracker {name}, {language}");
            compared += 1;
            matched += found.values().sum::<usize>();
        }
    }
    assert!(compared >= 3 * 15, "{compared} comparisons");
    // The fixtures hold real matches, so equality is not two empty sets.
    assert!(matched > 100, "{matched} matches in all");
}

/// Counts of a query by tree-sitter's own query cursor over a fresh parse.
fn query_count(query_text: &str, grammar: Grammar, source: &[u8]) -> usize {
    use tree_sitter::StreamingIterator;
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&grammar.language()).unwrap();
    let tree = parser.parse(source, None).unwrap();
    let query = tree_sitter::Query::new(&grammar.language(), query_text).unwrap();
    let mut cursor = tree_sitter::QueryCursor::new();
    let mut nodes = std::collections::HashSet::new();
    let mut matches = cursor.matches(&query, tree.root_node(), source);
    while let Some(m) = matches.next() {
        for c in m.captures() {
            nodes.insert(c.node.id());
        }
    }
    nodes.len()
}

#[test]
fn tracker_counts_at_every_commit_equal_recounts_of_its_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    sample_repo(&repo);
    let db = tmp.path().join("h.duckdb");
    patmine_ok(&db, &["history", repo.to_str().unwrap(), "--json"]);
    let yaml: serde_yaml::Value =
        serde_yaml::from_str(patmine::trackers::DEFAULT_TRACKERS_YAML).unwrap();
    let queries: Vec<(String, String)> = yaml["trackers"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|t| {
            Some((
                t["name"].as_str()?.to_string(),
                t.get("query")?.as_str()?.to_string(),
            ))
        })
        .collect();
    assert!(queries.len() >= 4);
    let commits = git(&repo, &["rev-list", "--first-parent", "--reverse", "HEAD"]);
    let mut nonzero = 0;
    for (seq, commit) in commits.lines().enumerate() {
        let at = json(&patmine_ok(&db, &["at", &commit[..12], "--json"]));
        let trackers = &at["trackers"];
        let metrics = &at["metrics"];
        // var -> let/const: the trackers equal the stored node-kind metrics (the sample holds
        // no `const enum`).
        assert_eq!(
            trackers["var"]["occurrences"], metrics["var"],
            "commit {seq}"
        );
        assert_eq!(
            trackers["let-const"]["occurrences"].as_i64().unwrap(),
            metrics["let"].as_i64().unwrap() + metrics["const"].as_i64().unwrap(),
            "commit {seq}"
        );
        // Query trackers: tree-sitter's cursor over the commit's tree, file by file.
        let tree = tmp.path().join(format!("tree-{seq}"));
        export_tree(&repo, commit, &tree);
        let mut files = Vec::new();
        let mut stack = vec![tree.clone()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    files.push(p);
                }
            }
        }
        for (name, query) in &queries {
            let (mut occurrences, mut in_files) = (0, 0);
            for file in &files {
                let Some(dialect) = Dialect::from_path(file.to_string_lossy().as_bytes()) else {
                    continue;
                };
                let bytes = std::fs::read(file).unwrap();
                // What the history skips: minified and binary files (fixtures/bad).
                let name = file.file_name().unwrap().to_string_lossy();
                if name.contains(".min.") || bytes.contains(&0) {
                    continue;
                }
                let n = query_count(query, dialect.grammar(), &bytes);
                occurrences += n;
                in_files += usize::from(n > 0);
            }
            assert_eq!(
                trackers[name]["occurrences"].as_u64().unwrap() as usize,
                occurrences,
                "{name} at commit {seq}"
            );
            assert_eq!(
                trackers[name]["files"].as_u64().unwrap() as usize,
                in_files,
                "{name} files at commit {seq}"
            );
            nonzero += occurrences;
        }
    }
    assert!(nonzero > 50, "{nonzero}");
}

#[test]
fn attribution_adds_up_to_each_migrations_change() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    sample_repo(&repo);
    let db = tmp.path().join("h.duckdb");
    patmine_ok(&db, &["history", repo.to_str().unwrap()]);
    let table = json(&patmine_ok(&db, &["migrations", "--json"]));
    let mut moved = 0;
    for m in table["migrations"].as_array().unwrap() {
        let name = m["name"].as_str().unwrap();
        let detail = json(&patmine_ok(&db, &["migrations", name, "--json"]));
        let d = &detail["migration"];
        let sum = |field: &str| -> i64 {
            d["commits"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c[field].as_i64().unwrap())
                .sum()
        };
        let d_from = sum("backslid") - sum("converted") - sum("removed");
        let d_to = sum("converted") + sum("written_new") - sum("retired");
        assert_eq!(d_from, d["change"]["from"].as_i64().unwrap(), "{name}");
        assert_eq!(d_to, d["change"]["to"].as_i64().unwrap(), "{name}");
        // Authors are the same effects, grouped.
        let by_author: i64 = d["authors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["converted"].as_i64().unwrap())
            .sum();
        assert_eq!(by_author, sum("converted"), "{name}");
        // The frontier holds every `from` site left.
        let left: i64 = d["frontier"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["occurrences"].as_i64().unwrap())
            .sum();
        assert_eq!(left, d["from"]["occurrences"].as_i64().unwrap(), "{name}");
        moved += sum("converted");
    }
    assert!(moved > 5, "the sample history converts sites: {moved}");
    // The sample's var -> const work, as a person reading its commits would put it.
    let var = json(&patmine_ok(
        &db,
        &["migrations", "var-to-let-const", "--json"],
    ));
    let var = &var["migration"];
    assert_eq!(var["status"], "done");
    assert_eq!(var["progress"], 1.0);
    let mut converting: Vec<(&str, i64)> = var["commits"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["converted"].as_i64().unwrap() > 0)
        .map(|c| {
            (
                c["subject"].as_str().unwrap(),
                c["converted"].as_i64().unwrap(),
            )
        })
        .collect();
    converting.sort();
    // The move of api.js to api.ts (a rename with edits) converts its `var`: the deleted and
    // the added file are one file of that commit, not a removal and a rewrite.
    assert_eq!(
        converting,
        [
            ("Move the API client to TypeScript with await", 1),
            ("server: const and async/await", 4),
            ("util: var to const and let; add tests", 3)
        ],
        "{var}"
    );
}

#[test]
fn the_table_and_json_follow_the_documented_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    sample_repo(&repo);
    let db = tmp.path().join("h.duckdb");
    patmine_ok(&db, &["history", repo.to_str().unwrap()]);
    let doc = json(&patmine_ok(&db, &["migrations", "--json", "--at", "v2.0"]));
    let first = &doc["migrations"][0];
    for key in [
        "name",
        "from",
        "to",
        "progress",
        "progress_files",
        "change",
        "crossed_50",
        "crossed_90",
        "projection",
        "status",
    ] {
        assert!(first.get(key).is_some(), "{key} missing: {first}");
    }
    assert!(first["from"]["occurrences"].is_i64() && first["from"]["files"].is_i64());
    let text = patmine_ok(&db, &["migrations"]);
    assert!(text.contains("var-to-let-const"), "{text}");
    let md = patmine_ok(&db, &["migrations", "then-to-await", "--markdown"]);
    assert!(md.starts_with("# "), "{md}");
    assert!(md.contains("## What is left"), "{md}");
}

#[test]
fn a_bad_trackers_file_is_one_line_with_file_and_line_and_leaves_no_database() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    sample_repo(&repo);
    let cases = [
        (
            "trackers:\n  - name: a\n    pattren: \"f($X)\"\n",
            "3",
            "pattren",
        ),
        (
            "trackers:\n  - name: a\n    pattern: \"var $X = \"\n",
            "2",
            "does not parse",
        ),
        (
            "trackers:\n  - name: a\n    query: \"(call_expression\"\n",
            "2",
            "query",
        ),
        (
            "extends: default\nmigrations:\n  - name: m\n    from: var\n    to: nothing-like-it\n",
            "5",
            "unknown tracker `nothing-like-it`",
        ),
        ("trackers: [\n", "2", ""),
    ];
    for (i, (text, line, what)) in cases.iter().enumerate() {
        let file = tmp.path().join(format!("bad-{i}.yaml"));
        std::fs::write(&file, text).unwrap();
        let db = tmp.path().join(format!("never-{i}.duckdb"));
        let out = patmine(
            &db,
            &[
                "history",
                repo.to_str().unwrap(),
                "--trackers",
                file.to_str().unwrap(),
            ],
        );
        let shown = file.display().to_string();
        one_line_error(&out, &[&format!("{shown}:"), what]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("{shown}:{line}: ")),
            "line {line} expected: {err}"
        );
        assert!(
            !db.exists(),
            "a bad trackers file must leave no database ({text:?})"
        );
    }
}

#[test]
fn a_tracker_added_later_is_evaluated_on_old_blobs_only_and_equals_a_fresh_run() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    sample_repo(&repo);
    let db = tmp.path().join("h.duckdb");
    let repo_arg = repo.to_str().unwrap();
    patmine_ok(&db, &["history", repo_arg]);
    let extra = tmp.path().join("trackers.yaml");
    std::fs::write(
        &extra,
        "extends: default\ntrackers:\n  - name: console-call\n    pattern: console.$METHOD($$$ARGS)\n  - name: get-route\n    signature: \"IDENTIFIER.get(STRING, *\"\n",
    )
    .unwrap();
    let extra_arg = extra.to_str().unwrap();
    // Before the history is run with it, `at` says the tracker is not evaluated and leaves it out.
    let out = patmine(&db, &["at", "--json", "--trackers", extra_arg]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("console-call"));
    assert!(
        json(&String::from_utf8_lossy(&out.stdout))["trackers"]
            .get("console-call")
            .is_none()
    );

    let summary = json(&patmine_ok(
        &db,
        &["history", repo_arg, "--trackers", extra_arg, "--json"],
    ));
    let evaluated = summary["summary"]["tracker_blobs_evaluated"]
        .as_u64()
        .unwrap();
    let parsed = summary["summary"]["tracker_blobs_parsed"].as_u64().unwrap();
    assert!(evaluated > 0 && parsed <= evaluated, "{summary}");
    assert_eq!(
        summary["summary"]["blobs_parsed"], 0,
        "no blob is analysed again"
    );
    // Blobs without `console.` are not parsed.
    assert!(parsed < evaluated, "{summary}");

    let fresh = tmp.path().join("fresh.duckdb");
    patmine_ok(&fresh, &["history", repo_arg, "--trackers", extra_arg]);
    let commits = git(&repo, &["rev-list", "--first-parent", "HEAD"]);
    for commit in commits.lines() {
        let a = json(&patmine_ok(
            &db,
            &["at", commit, "--json", "--trackers", extra_arg],
        ));
        let b = json(&patmine_ok(
            &fresh,
            &["at", commit, "--json", "--trackers", extra_arg],
        ));
        assert_eq!(a["trackers"], b["trackers"], "{commit}");
    }
    let head = json(&patmine_ok(&db, &["at", "--json", "--trackers", extra_arg]));
    assert!(
        head["trackers"]["console-call"]["occurrences"]
            .as_i64()
            .unwrap()
            > 0,
        "{head}"
    );
    assert!(
        head["trackers"]["get-route"]["occurrences"]
            .as_i64()
            .unwrap()
            > 0,
        "{head}"
    );
}

#[test]
fn check_fails_on_new_from_sites_and_names_each_one() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::copy(
        fixtures().join("trackers/modern-client.mjs"),
        repo.join("src/client.mjs"),
    )
    .unwrap();
    std::fs::copy(fixtures().join("trackers/api.ts"), repo.join("src/api.ts")).unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "client"]);
    let db = tmp.path().join("unused.duckdb");
    let repo_arg = repo.to_str().unwrap();

    let clean = patmine(&db, &["check", repo_arg]);
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );

    // Moving a `var` within its file is not a new site; adding one is.
    let api = std::fs::read_to_string(repo.join("src/api.ts")).unwrap();
    std::fs::write(
        repo.join("src/api.ts"),
        format!("{api}\nvar late = require('late');\n"),
    )
    .unwrap();
    let lines = api.lines().count() + 2;
    let out = patmine(&db, &["check", repo_arg]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("var-to-let-const: `from` sites 1 -> 2 (+1)"),
        "{text}"
    );
    assert!(
        text.contains(&format!("src/api.ts:{lines}: var late = require('late');")),
        "{text}"
    );
    assert!(text.contains("commonjs-to-esm"), "{text}");
    assert_eq!(text.matches("src/api.ts:").count(), 2, "{text}");

    // One migration only; and a revision instead of the working tree.
    let only = patmine(&db, &["check", repo_arg, "--migration", "then-to-await"]);
    assert_eq!(only.status.code(), Some(0));
    git(&repo, &["commit", "-q", "-am", "late require"]);
    let rev = patmine(
        &db,
        &["check", repo_arg, "--baseline", "HEAD~1", "--rev", "HEAD"],
    );
    assert_eq!(rev.status.code(), Some(1));
    assert!(!db.exists(), "check reads no database");
}

#[test]
fn discovery_finds_an_unnamed_migration_and_leaves_renames_and_deletions_out() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    let legacy = std::fs::read_to_string(fixtures().join("trackers/legacy-client.js")).unwrap();
    std::fs::write(repo.join("src/client.js"), &legacy).unwrap();
    std::fs::copy(
        fixtures().join("trackers/server.cjs"),
        repo.join("src/server.cjs"),
    )
    .unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "import the client"]);
    std::fs::write(repo.join("src/client.js"), legacy.replace("var ", "const ")).unwrap();
    git(&repo, &["commit", "-q", "-am", "client: var to const"]);
    git(&repo, &["mv", "src/server.cjs", "src/app.cjs"]);
    git(&repo, &["commit", "-q", "-m", "rename the server"]);
    git(&repo, &["rm", "-q", "src/app.cjs"]);
    git(&repo, &["commit", "-q", "-m", "drop the server"]);
    let db = tmp.path().join("d.duckdb");
    patmine_ok(&db, &["history", repo.to_str().unwrap()]);
    let doc = json(&patmine_ok(
        &db,
        &["migrations", "--discover", "--json", "--top", "100"],
    ));
    let found = doc["discovered"].as_array().unwrap();
    let var_const = found
        .iter()
        .find(|d| d["edit"]["from"] == "var" && d["edit"]["to"] == "const")
        .unwrap_or_else(|| panic!("var -> const not found: {doc}"));
    // Every `var` declaration of the file became `const` (a `for (var …)` header is counted in
    // two roots, the loop's and the declaration's).
    let declarations = legacy.matches("var ").count() as i64;
    assert!(
        var_const["moved"].as_i64().unwrap() >= declarations,
        "{var_const}"
    );
    assert_eq!(var_const["moved_back"], 0);
    assert_eq!(var_const["commits"][0]["subject"], "client: var to const");
    assert!(
        var_const["from"][0].as_str().unwrap().starts_with("var "),
        "{var_const}"
    );
    for d in found {
        for c in d["commits"].as_array().unwrap() {
            assert_eq!(
                c["subject"], "client: var to const",
                "only the edit commit moves: {d}"
            );
        }
    }
}
