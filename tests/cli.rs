//! The conventions of the command line itself: `--version` names what counts depend on, and the
//! shell completions and man page come from the same definitions as the parser.

mod common;

use common::*;

#[test]
fn the_version_names_the_parser_and_grammar_versions() {
    let tmp = tempfile::tempdir().unwrap();
    let out = patmine_ok(&tmp.path().join("unused.duckdb"), &["--version"]);
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).unwrap();
    let locked = |name: &str| {
        let at = lock
            .find(&format!("name = \"{name}\"\nversion = \""))
            .unwrap();
        let rest = &lock[at..];
        rest.split('"').nth(3).unwrap().to_string()
    };
    for name in [
        "tree-sitter",
        "tree-sitter-javascript",
        "tree-sitter-typescript",
    ] {
        let line = format!("{name} {}", locked(name));
        assert!(out.contains(&line), "`{line}` is not in: {out}");
    }
    assert!(
        out.starts_with(&format!("patmine {}", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
    assert!(
        !tmp.path().join("unused.duckdb").exists(),
        "--version opens no database"
    );
}

#[test]
fn completions_and_the_man_page_cover_every_command() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("unused.duckdb");
    let commands = ["scan", "history", "at", "report", "compare", "explain"];
    // Each shell names a subcommand and a long flag its own way.
    let shells = [
        ("bash", "patmine__subcmd__history", "--since"),
        ("zsh", "(history)", "--since"),
        ("fish", "-a \"history\"", "-l since"),
    ];
    for (shell, history, since) in shells {
        let script = patmine_ok(&db, &["completions", shell]);
        assert!(script.contains(history), "{shell}: no history command");
        assert!(script.contains(since), "{shell}: no --since");
    }
    let page = patmine_ok(&db, &["man"]);
    assert!(page.contains(".TH patmine"), "{page}");
    for command in commands {
        // clap_mangen lists each subcommand as `patmine\-NAME(1)`.
        let entry = format!("patmine\\-{command}(1)");
        assert!(page.contains(&entry), "man: no `{entry}` in {page}");
    }
    let out = patmine(&db, &["completions", "no-such-shell"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!db.exists(), "neither opens a database");
}

/// Numbers out of a flag's range are refused with the flag's name and exit 2, before anything
/// runs; so is a date window that ends before it starts.
#[test]
fn out_of_range_flags_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("p.duckdb");
    for (args, flag) in [
        (vec!["at", "--top", "9223372036854775808"], "--top"),
        (vec!["compare", "--releases", "--top", "0"], "--top"),
        (vec!["report", "--threshold", "150"], "--threshold"),
        (vec!["report", "--threshold", "NaN"], "--threshold"),
        (vec!["scan", ".", "--max-len", "99999999999"], "--max-len"),
        (vec!["scan", ".", "--jobs", "0"], "--jobs"),
        (vec!["scan", ".", "--parse-budget", "0"], "--parse-budget"),
        (
            vec!["history", ".", "--parse-budget", "inf"],
            "--parse-budget",
        ),
    ] {
        let out = patmine(&db, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
    }
    assert!(!db.exists(), "nothing ran");
    let repo = tmp.path().join("repo");
    sample_repo(&repo);
    let out = patmine(
        &db,
        &[
            "history",
            repo.to_str().unwrap(),
            "--since",
            "2024-01-01",
            "--until",
            "2023-01-01",
        ],
    );
    one_line_error(&out, &["--until 2023-01-01 is before --since 2024-01-01"]);
}

/// The commands that answer from a database refuse a path that holds none, and leave none
/// behind (a mistyped `--db`).
#[test]
fn reading_commands_never_create_a_database() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("typo.duckdb");
    for args in [
        vec!["at"],
        vec!["compare", "--releases"],
        vec!["migrations"],
        vec!["report", "--out", tmp.path().join("r").to_str().unwrap()],
    ] {
        let out = patmine(&db, &args);
        one_line_error(&out, &["typo.duckdb", "no database there"]);
        assert!(!db.exists(), "{args:?} made a database");
    }
}

/// A database whose file is read-only (0444) is read as it is: every reading command answers,
/// and the file is left byte for byte as it was.
#[test]
fn a_read_only_database_is_read_and_left_as_it_was() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    sample_repo(&repo);
    let db = tmp.path().join("h.duckdb");
    patmine_ok(&db, &["history", repo.to_str().unwrap()]);
    let writable_at = patmine_ok(&db, &["at", "--json"]);
    let before = std::fs::read(&db).unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    // The same answer as from a writable open.
    assert_eq!(patmine_ok(&db, &["at", "--json"]), writable_at);
    for args in [
        vec!["at", "v1.0"],
        vec!["compare", "v1.0", "HEAD"],
        vec!["migrations"],
        vec!["report", "--out", tmp.path().join("r").to_str().unwrap()],
    ] {
        patmine_ok(&db, &args);
    }
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the database was written"
    );
    assert!(!tmp.path().join("h.duckdb.wal").exists());
}

/// A rulebook or trackers file nested far deeper than any real one is refused at once, naming
/// the file and line (the YAML parser took 42 s on 100,000 levels).
#[test]
fn deeply_nested_yaml_is_refused_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let deep = tmp.path().join("deep.yaml");
    let nested = |open: &str, close: &str| {
        format!(
            "{}{{kind: a}}{}",
            open.repeat(100_000),
            close.repeat(100_000)
        )
    };
    std::fs::write(
        &deep,
        format!("extends: default\nrules:\n  x: {}\n", nested("[", "]")),
    )
    .unwrap();
    let js = tmp.path().join("a.js");
    std::fs::write(&js, "var a = 1;\n").unwrap();
    let db = tmp.path().join("p.duckdb");
    let out = patmine(
        &db,
        &[
            "explain",
            js.to_str().unwrap(),
            "--rules",
            deep.to_str().unwrap(),
        ],
    );
    one_line_error(
        &out,
        &["deep.yaml", "line 3", "nested deeper than 64 levels"],
    );
    let trackers = tmp.path().join("trackers.yaml");
    std::fs::write(
        &trackers,
        format!(
            "trackers:\n  - name: x\n    rule: {}\n",
            nested("{not: ", "}")
        ),
    )
    .unwrap();
    let out = patmine(
        &db,
        &["migrations", "--trackers", trackers.to_str().unwrap()],
    );
    one_line_error(&out, &["trackers.yaml:3", "nested deeper than 64 levels"]);
}
