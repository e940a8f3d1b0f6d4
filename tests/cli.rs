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
