//! Helpers shared by the integration tests: run the binary, build git repositories from
//! `fixtures/`, read JSON output.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub fn patmine(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_patmine"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("PATMINE_DB")
        .output()
        .expect("patmine runs")
}

/// Runs patmine in `dir` with `args` as given (no `--db` added), `$PATMINE_DB` and
/// `$XDG_DATA_HOME` unset, and `$HOME` set to `home` when given; expects success and returns
/// stdout.
pub fn patmine_in(dir: &Path, home: Option<&Path>, args: &[&str]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_patmine"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("PATMINE_DB")
        .env_remove("XDG_DATA_HOME");
    if let Some(home) = home {
        command.env("HOME", home);
    }
    let out = command.output().expect("patmine runs");
    assert!(
        out.status.success(),
        "patmine {args:?} in {} failed ({}):\n{}",
        dir.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// Runs patmine with the crash switch set (`PATMINE_CRASH_AT`, see src/crash.rs): the process
/// kills itself with SIGKILL at `point` (`before-commit:N` or `after-commit:N`). Panics unless
/// it was killed there, so a test cannot pass because the crash never came.
pub fn patmine_crashed_at(db: &Path, args: &[&str], point: &str) {
    use std::os::unix::process::ExitStatusExt;
    let out = Command::new(env!("CARGO_BIN_EXE_patmine"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("PATMINE_DB")
        .env("PATMINE_CRASH_AT", point)
        .output()
        .expect("patmine starts");
    assert_eq!(
        out.status.signal(),
        Some(9),
        "patmine was to be killed at {point}: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The error of a run that must fail with status 2 and one line on stderr naming every one of
/// `parts`; returns that line.
pub fn one_line_error(out: &Output, parts: &[&str]) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    for part in parts {
        assert!(err.contains(part), "{part:?} is not in: {err}");
    }
    err
}

/// Runs patmine and expects success; returns stdout.
pub fn patmine_ok(db: &Path, args: &[&str]) -> String {
    let out = patmine(db, args);
    assert!(
        out.status.success(),
        "patmine {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("bad JSON ({e}): {text}"))
}

/// (abstract, semantic, occurrences, files) of every pattern in a JSON result, sorted.
pub fn pattern_set(doc: &serde_json::Value) -> Vec<(String, String, i64, i64)> {
    let mut out: Vec<(String, String, i64, i64)> = doc["patterns"]
        .as_array()
        .expect("patterns array")
        .iter()
        .map(|p| {
            (
                p["abstract"].as_str().unwrap().to_string(),
                p["semantic"].as_str().unwrap().to_string(),
                p["occurrences"].as_i64().unwrap(),
                p["files"].as_i64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "T")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "T")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Builds the sample repository of `fixtures/history` into `dir`.
pub fn sample_repo(dir: &Path) {
    let out = Command::new("bash")
        .arg(fixtures().join("history/make-sample-repo.sh"))
        .arg(dir)
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "make-sample-repo.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes the tree of `commit` into `dest` (no checkout of the repository itself).
pub fn export_tree(repo: &Path, commit: &str, dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    let archive = Command::new("git")
        .current_dir(repo)
        .args(["archive", "--format=tar", commit])
        .output()
        .unwrap();
    assert!(archive.status.success());
    let mut tar = Command::new("tar")
        .args(["-x", "-C"])
        .arg(dest)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    tar.stdin
        .take()
        .unwrap()
        .write_all(&archive.stdout)
        .unwrap();
    assert!(tar.wait().unwrap().success());
}
