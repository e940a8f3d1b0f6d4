//! `patmine history` end to end, on repositories built in temporary folders: running sums equal
//! fresh scans, incremental equals from-scratch, crashed runs resume, damaged repositories.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use patmine::level::Level;
use patmine::store::Store;

fn commits(repo: &Path) -> Vec<String> {
    git(repo, &["rev-list", "--first-parent", "--reverse", "HEAD"])
        .lines()
        .map(str::to_string)
        .collect()
}

/// Every row the history wrote, sorted, without internal row numbers: a run's whole result.
fn dump(db: &Path) -> Vec<String> {
    let conn = duckdb::Connection::open(db).unwrap();
    let mut rows = Vec::new();
    for sql in [
        "SELECT concat_ws(' | ', c.commit_id, d.level, s.text, d.d_occurrences, d.d_files)
         FROM commit_pattern_deltas d JOIN commits c USING (repo_id, seq) JOIN signatures s ON s.sig = d.sig",
        "SELECT concat_ws(' | ', c.commit_id, d.d_files, d.d_loc, d.\"var\", d.\"const\", d.\"let\", d.await_expression)
         FROM commit_metric_deltas d JOIN commits c USING (repo_id, seq)",
        "SELECT concat_ws(' | ', commit_id, seq, subject, changed_files, error_files) FROM commits",
        "SELECT concat_ws(' | ', name, commit_id) FROM tags",
    ] {
        let mut stmt = conn.prepare(sql).unwrap();
        rows.extend(stmt.query_map([], |r| r.get::<_, String>(0)).unwrap().map(|r| r.unwrap()));
    }
    rows.sort();
    rows
}

#[test]
fn running_sums_equal_a_fresh_scan_at_every_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    sample_repo(&repo);
    let db = tmp.path().join("h.duckdb");
    // The sample history holds a minified and a binary blob; both are skipped, not failures.
    patmine_ok(&db, &["history", repo.to_str().unwrap(), "--json"]);
    let store = Store::open(&db).unwrap();
    let repo_id = store.repos().unwrap()[0].repo_id;
    drop(store);

    for (seq, commit) in commits(&repo).iter().enumerate() {
        assert_at_equals_archive(&db, &repo, commit, tmp.path());
        for level in Level::BOTH {
            let at = json(&patmine_ok(
                &db,
                &[
                    "at",
                    commit,
                    "--json",
                    "--top",
                    "100000",
                    "--level",
                    level.name(),
                ],
            ));
            // The running sums of per-commit deltas give the same counts.
            let store = Store::open(&db).unwrap();
            let sums = store.running_counts(repo_id, seq as i64, level).unwrap();
            drop(store);
            let from_deltas: usize = sums.values().filter(|(occ, _)| *occ > 0).count();
            assert_eq!(
                from_deltas,
                at["patterns"].as_array().unwrap().len(),
                "{level} pattern count at {seq}"
            );
            for p in at["patterns"].as_array().unwrap() {
                let id = p["id"].as_str().unwrap();
                assert_eq!(
                    sums.get(id).copied(),
                    Some((
                        p["occurrences"].as_i64().unwrap(),
                        p["files"].as_i64().unwrap()
                    )),
                    "{level} {} at {seq}",
                    p["abstract"]
                );
            }
        }
    }
}

#[test]
fn migrations_show_in_the_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    sample_repo(&repo);
    let db = tmp.path().join("h.duckdb");
    patmine_ok(&db, &["history", repo.to_str().unwrap()]);
    let v1 = json(&patmine_ok(&db, &["at", "v1.0", "--json"]));
    let v3 = json(&patmine_ok(&db, &["at", "v3.0", "--json"]));
    assert!(v1["metrics"]["var"].as_i64().unwrap() > 0);
    assert_eq!(v3["metrics"]["var"], 0);
    assert!(v3["metrics"]["await_expression"].as_i64().unwrap() > 0);
    let has = |doc: &serde_json::Value, sig: &str| {
        doc["patterns"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["semantic"] == sig)
    };
    assert!(has(&v1, "var IDENTIFIER = require(STRING)"));
    assert!(!has(&v3, "var IDENTIFIER = require(STRING)"));
}

#[test]
fn incremental_runs_equal_a_run_from_scratch() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    sample_repo(&repo);
    let all = commits(&repo);
    let scratch = tmp.path().join("scratch.duckdb");
    patmine_ok(&scratch, &["history", repo.to_str().unwrap()]);

    let incremental = tmp.path().join("inc.duckdb");
    patmine_ok(
        &incremental,
        &["history", repo.to_str().unwrap(), "--rev", &all[3]],
    );
    let out = json(&patmine_ok(
        &incremental,
        &["history", repo.to_str().unwrap(), "--json"],
    ));
    assert_eq!(out["summary"]["already_stored"], 4);
    assert_eq!(
        out["summary"]["analysed"].as_i64().unwrap(),
        all.len() as i64 - 4
    );
    // Every blob reference of the new commits' changes (each path's old and new content) is
    // either parsed (or skipped, missing, failed) now or served from the cache.
    let n = |k: &str| out["summary"][k].as_f64().unwrap();
    let analysed_now =
        n("blobs_parsed") + n("blobs_skipped") + n("blobs_missing") + n("blobs_failed");
    let references: i64 = duckdb::Connection::open(&incremental)
        .unwrap()
        .query_row(
            "SELECT count(old_blob) + count(new_blob) FROM commit_changes WHERE seq >= 4",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n("blobs_cached") + analysed_now, references as f64);
    assert!(n("blobs_cached") > 0.0, "the later commits reuse blobs");
    let expected = n("blobs_cached") / references as f64;
    assert!((n("cache_hit_rate") - expected).abs() < 1e-9);
    // A run with nothing new parses nothing.
    let again = json(&patmine_ok(
        &incremental,
        &["history", repo.to_str().unwrap(), "--json"],
    ));
    assert_eq!(again["summary"]["analysed"], 0);
    assert_eq!(again["summary"]["blobs_parsed"], 0);
    assert_eq!(dump(&incremental), dump(&scratch));
}

#[test]
fn rewritten_history_is_recomputed_from_the_divergence() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    sample_repo(&repo);
    let db = tmp.path().join("h.duckdb");
    patmine_ok(&db, &["history", repo.to_str().unwrap()]);
    git(&repo, &["reset", "-q", "--hard", "HEAD~2"]);
    std::fs::write(repo.join("extra.js"), "const late = require('late');\n").unwrap();
    git(&repo, &["add", "extra.js"]);
    git(&repo, &["commit", "-q", "-m", "a different ending"]);
    let out = patmine(&db, &["history", repo.to_str().unwrap()]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rewritten"), "{err}");
    let scratch = tmp.path().join("scratch.duckdb");
    patmine_ok(&scratch, &["history", repo.to_str().unwrap()]);
    assert_eq!(dump(&db), dump(&scratch));
}

/// A repository with many small commits: with `--batch 1`, a transaction per commit.
fn long_repo(dir: &Path, commits: usize) {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q", "-b", "main"]);
    let versions = [
        std::fs::read_to_string(fixtures().join("history/files/server.v1.js")).unwrap(),
        std::fs::read_to_string(fixtures().join("history/files/server.v2.js")).unwrap(),
        std::fs::read_to_string(fixtures().join("history/files/util.v1.js")).unwrap(),
        std::fs::read_to_string(fixtures().join("history/files/api.v2.ts")).unwrap(),
    ];
    for i in 0..commits {
        let name = format!("src/m{}.{}", i % 7, if i % 3 == 0 { "ts" } else { "js" });
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(
            dir.join(&name),
            format!("{}\nconst n{i} = {i};\n", versions[i % versions.len()]),
        )
        .unwrap();
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-q", "-m", &format!("step {i}")]);
    }
}

#[test]
fn a_killed_run_resumes_to_identical_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    long_repo(&repo, 80);
    let scratch = tmp.path().join("scratch.duckdb");
    patmine_ok(
        &scratch,
        &["history", repo.to_str().unwrap(), "--batch", "1"],
    );
    let expected = dump(&scratch);

    // 80 commits in batches of one: before and after the first commit, around the middle, and
    // before the last one.
    for point in [
        "before-commit:1",
        "after-commit:1",
        "before-commit:40",
        "after-commit:41",
        "before-commit:80",
    ] {
        let db = tmp
            .path()
            .join(format!("killed-{}.duckdb", point.replace(':', "-")));
        patmine_crashed_at(
            &db,
            &["history", repo.to_str().unwrap(), "--batch", "1"],
            point,
        );
        patmine_ok(&db, &["history", repo.to_str().unwrap(), "--batch", "1"]);
        assert_eq!(dump(&db), expected, "after a crash at {point}");
    }
}

#[test]
fn a_missing_blob_is_reported_and_the_walk_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    sample_repo(&repo);
    // Loose objects: delete the blob of lib/legacy.js.
    let blob = git(&repo, &["rev-parse", "v1.0:lib/legacy.js"]);
    std::fs::remove_file(repo.join(".git/objects").join(&blob[..2]).join(&blob[2..])).unwrap();
    let db = tmp.path().join("h.duckdb");
    let out = patmine(&db, &["history", repo.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1), "a missing object is a failure");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&blob) && err.contains("missing"), "{err}");
    let doc = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(doc["summary"]["blobs_missing"], 1);
    assert_eq!(
        doc["summary"]["analysed"].as_i64().unwrap(),
        commits(&repo).len() as i64
    );
}

/// The loose object file of `blob`.
fn loose_object(repo: &Path, blob: &str) -> std::path::PathBuf {
    repo.join(".git/objects").join(&blob[..2]).join(&blob[2..])
}

/// The sample repository with two blobs damaged: one deleted (missing), one with bytes flipped
/// (a loose object is zlib data: it fails). Returns (missing id, corrupt id, the original files).
fn damage_sample(repo: &Path) -> (String, String, Vec<(std::path::PathBuf, Vec<u8>)>) {
    let missing = git(repo, &["rev-parse", "v1.0:lib/legacy.js"]);
    let corrupt = git(repo, &["rev-parse", "HEAD:services/api.ts"]);
    let saved: Vec<(std::path::PathBuf, Vec<u8>)> = [&missing, &corrupt]
        .iter()
        .map(|b| {
            let path = loose_object(repo, b);
            (path.clone(), std::fs::read(&path).unwrap())
        })
        .collect();
    std::fs::remove_file(&saved[0].0).unwrap();
    let mut flipped = saved[1].1.clone();
    let middle = flipped.len() / 2;
    for byte in &mut flipped[middle..middle + 8] {
        *byte ^= 0xff;
    }
    std::fs::set_permissions(&saved[1].0, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(&saved[1].0, &flipped).unwrap();
    (missing, corrupt, saved)
}

/// Every commit's patterns in `db` equal those in `clean`.
fn assert_same_at_every_commit(db: &Path, clean: &Path, repo: &Path) {
    let name = repo.to_str().unwrap();
    for rev in commits(repo) {
        assert_eq!(
            pattern_set(&json(&patmine_ok(
                db,
                &["at", &rev, "--repo", name, "--json"]
            ))),
            pattern_set(&json(&patmine_ok(clean, &["at", &rev, "--json"]))),
            "at {rev}"
        );
    }
}

#[test]
fn a_repaired_repository_converges_to_the_counts_of_a_clean_run() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    sample_repo(&repo);
    let clean = tmp.path().join("clean.duckdb");
    patmine_ok(&clean, &["history", repo.to_str().unwrap()]);
    let (missing, corrupt, saved) = damage_sample(&repo);

    let db = tmp.path().join("h.duckdb");
    let first = patmine(&db, &["history", repo.to_str().unwrap(), "--json"]);
    assert_eq!(first.status.code(), Some(1));
    let doc = json(&String::from_utf8_lossy(&first.stdout));
    assert_eq!(doc["summary"]["blobs_missing"], 1);
    assert_eq!(doc["summary"]["blobs_failed"], 1);
    // Until the repository is repaired, every run says so and exits 1, and so do `at` and the
    // report.
    let again = patmine(&db, &["history", repo.to_str().unwrap(), "--json"]);
    assert_eq!(again.status.code(), Some(1));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains(&missing) && err.contains("still missing"),
        "{err}"
    );
    assert!(err.contains(&corrupt), "{err}");
    let doc = json(&String::from_utf8_lossy(&again.stdout));
    assert_eq!(doc["summary"]["blobs_retried"], 2);
    assert_eq!(doc["summary"]["blobs_repaired"], 0);
    let at = patmine(&db, &["at", "--json"]);
    assert_eq!(at.status.code(), Some(1));
    let err = String::from_utf8_lossy(&at.stderr);
    assert!(
        err.contains("services/api.ts") && err.contains("incomplete"),
        "{err}"
    );
    let at = json(&String::from_utf8_lossy(&at.stdout));
    assert_eq!(at["unanalysed_files"][0]["path"], "services/api.ts");
    assert_eq!(at["unanalysed_files"][0]["status"], "failed");
    let reports = tmp.path().join("report");
    patmine_ok(&db, &["report", "--out", reports.to_str().unwrap()]);
    let report = json(&std::fs::read_to_string(reports.join("report.json")).unwrap());
    assert_eq!(report["incomplete"]["blobs"], 2);
    assert!(report["incomplete"]["commits"].as_i64().unwrap() > 0);
    let md = std::fs::read_to_string(reports.join("report.md")).unwrap();
    assert!(md.contains("Counts are incomplete"), "{md}");

    // Repair (`git fsck` is clean again). A run killed inside the repair (before its commit),
    // then one killed right after it (the history cut, not yet recounted): each next run goes on
    // from what was committed.
    std::fs::write(&saved[1].0, &saved[1].1).unwrap();
    std::fs::write(&saved[0].0, &saved[0].1).unwrap();
    git(&repo, &["fsck", "--no-dangling"]);
    patmine_crashed_at(&db, &["history", repo.to_str().unwrap()], "before-commit:1");
    patmine_crashed_at(&db, &["history", repo.to_str().unwrap()], "after-commit:1");
    let healed = json(&patmine_ok(
        &db,
        &["history", repo.to_str().unwrap(), "--json"],
    ));
    assert!(
        healed["summary"]["analysed"].as_i64().unwrap() > 0,
        "{healed}"
    );
    assert_eq!(dump(&db), dump(&clean), "row for row");
    assert_same_at_every_commit(&db, &clean, &repo);
    let reports = tmp.path().join("healed");
    patmine_ok(&db, &["report", "--out", reports.to_str().unwrap()]);
    let report = json(&std::fs::read_to_string(reports.join("report.json")).unwrap());
    assert!(report["incomplete"].is_null(), "{}", report["incomplete"]);
}

#[test]
fn a_blob_one_repository_lacks_is_analysed_from_another_that_has_it() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    sample_repo(&repo);
    let twin = tmp.path().join("twin");
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            "--no-local",
            repo.to_str().unwrap(),
            twin.to_str().unwrap(),
        ],
    );
    let clean = tmp.path().join("clean.duckdb");
    patmine_ok(&clean, &["history", repo.to_str().unwrap()]);
    damage_sample(&repo);
    let db = tmp.path().join("h.duckdb");
    assert_eq!(
        patmine(&db, &["history", repo.to_str().unwrap()])
            .status
            .code(),
        Some(1)
    );
    // The healthy twin analyses the blobs the damaged repository could not: its counts are a
    // clean run's, and the damaged history is cut to be recounted.
    let twin_run = patmine(&db, &["history", twin.to_str().unwrap()]);
    assert!(twin_run.status.success());
    let err = String::from_utf8_lossy(&twin_run.stderr);
    assert!(err.contains("run `patmine history` on it again"), "{err}");
    assert_same_at_every_commit(&db, &clean, &twin);
    // Counts are by content: the damaged repository's recount uses the blobs analysed from the
    // twin, so it too has a clean run's counts (its damaged objects are never read again).
    patmine_ok(&db, &["history", repo.to_str().unwrap()]);
    assert_same_at_every_commit(&db, &clean, &repo);
}

#[test]
fn a_blob_over_the_parse_budget_is_named_and_analysed_by_a_run_with_a_larger_one() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    sample_repo(&repo);
    // f<T<T<...>>>(): parse time grows with the square of the nesting.
    let depth = 3_000;
    let slow = format!(
        "let x = f{}{}();\n",
        "<T\n".repeat(depth),
        ">\n".repeat(depth)
    );
    std::fs::write(repo.join("slow.ts"), slow).unwrap();
    git(&repo, &["add", "slow.ts"]);
    git(&repo, &["commit", "-q", "-m", "slow"]);
    let blob = git(&repo, &["rev-parse", "HEAD:slow.ts"]);
    let db = tmp.path().join("h.duckdb");
    let repo_arg = repo.to_str().unwrap();
    let out = patmine(
        &db,
        &["history", repo_arg, "--json", "--parse-budget", "0.2"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&blob) && err.contains("parse-timeout"),
        "{err}"
    );
    let doc = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(doc["summary"]["blobs_failed"], 1);
    let out = json(&patmine_ok(
        &db,
        &["history", repo_arg, "--json", "--parse-budget", "120"],
    ));
    assert_eq!(out["summary"]["blobs_repaired"], 1, "{out}");
    let clean = tmp.path().join("clean.duckdb");
    patmine_ok(&clean, &["history", repo_arg, "--parse-budget", "120"]);
    assert_eq!(dump(&db), dump(&clean));
}

#[test]
fn shallow_empty_and_jsless_repositories() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    sample_repo(&repo);
    let shallow = tmp.path().join("shallow");
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            "--depth",
            "3",
            &format!("file://{}", repo.display()),
            shallow.to_str().unwrap(),
        ],
    );
    let db = tmp.path().join("h.duckdb");
    let out = patmine(&db, &["history", shallow.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("shallow"));
    assert_eq!(
        json(&String::from_utf8_lossy(&out.stdout))["summary"]["analysed"],
        3
    );

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    git(&empty, &["init", "-q"]);
    let out = patmine(&db, &["history", empty.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no commits"));

    let plain = tmp.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    git(&plain, &["init", "-q"]);
    std::fs::write(plain.join("README.md"), "# no code\n").unwrap();
    git(&plain, &["add", "."]);
    git(&plain, &["commit", "-q", "-m", "docs"]);
    let out = json(&patmine_ok(
        &db,
        &["history", plain.to_str().unwrap(), "--json"],
    ));
    assert_eq!(out["summary"]["analysed"], 1);
    assert_eq!(out["patterns"].as_array().unwrap().len(), 0);
}

#[test]
fn two_repositories_in_one_database_stay_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    sample_repo(&a);
    let b = tmp.path().join("b");
    long_repo(&b, 5);
    let db = tmp.path().join("h.duckdb");
    patmine_ok(&db, &["history", a.to_str().unwrap()]);
    patmine_ok(&db, &["history", b.to_str().unwrap()]);
    let out = patmine(&db, &["at"]);
    assert!(!out.status.success(), "ambiguous without --repo");
    let at_a = json(&patmine_ok(
        &db,
        &["at", "--repo", a.to_str().unwrap(), "--json"],
    ));
    let at_b = json(&patmine_ok(
        &db,
        &["at", "--repo", b.to_str().unwrap(), "--json"],
    ));
    assert_ne!(pattern_set(&at_a), pattern_set(&at_b));
    let solo = tmp.path().join("solo.duckdb");
    patmine_ok(&solo, &["history", a.to_str().unwrap()]);
    assert_eq!(
        pattern_set(&at_a),
        pattern_set(&json(&patmine_ok(&solo, &["at", "--json"])))
    );
}

#[test]
fn bare_repositories_linked_worktrees_and_date_windows() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    sample_repo(&repo);
    let bare = tmp.path().join("bare.git");
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            "--bare",
            repo.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    let analysed = |db: &str, args: &[&str]| -> i64 {
        let db = tmp.path().join(db);
        let mut all = vec!["history"];
        all.extend_from_slice(args);
        all.push("--json");
        json(&patmine_ok(&db, &all))["summary"]["analysed"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(analysed("bare.duckdb", &[bare.to_str().unwrap()]), 9);
    // A linked worktree checked out at v2.0: the first-parent chain up to the merge.
    let worktree = tmp.path().join("wt");
    git(
        &repo,
        &["worktree", "add", "-q", worktree.to_str().unwrap(), "v2.0"],
    );
    assert_eq!(analysed("wt.duckdb", &[worktree.to_str().unwrap()]), 5);
    // Committer dates 2023-06-15, 2023-07-01, 2023-09-01 and 2023-11-01 fall in the window.
    assert_eq!(
        analysed(
            "window.duckdb",
            &[
                bare.to_str().unwrap(),
                "--since",
                "2023-06-10",
                "--until",
                "2024-01-01"
            ]
        ),
        4
    );
    assert_eq!(
        analysed(
            "relative.duckdb",
            &[bare.to_str().unwrap(), "--since", "1 day ago"]
        ),
        0
    );
}

/// `at`, `compare` and `migrations --at` take any revision git resolves, when it names an
/// analysed commit; anything else is one line naming it, with exit 2.
#[test]
fn any_revision_the_repository_resolves_names_its_analysed_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    sample_repo(&repo);
    let db = tmp.path().join("h.duckdb");
    patmine_ok(&db, &["history", repo.to_str().unwrap()]);
    let commit_of = |rev: &str| git(&repo, &["rev-parse", &format!("{rev}^{{commit}}")]);
    let head = commit_of("HEAD");
    for rev in [
        "HEAD",
        "HEAD~3",
        "HEAD^{}",
        "main",
        "main~1^1",
        "v2.0",
        "v2.0^{}",
        "v2.0^{commit}",
        &head[..7],
    ] {
        let at = json(&patmine_ok(&db, &["at", rev, "--json", "--top", "1"]));
        assert_eq!(at["commit"], commit_of(rev).trim(), "at {rev}");
    }
    // A date picks the last analysed commit at or before it.
    let at = json(&patmine_ok(
        &db,
        &["at", "2023-06-20", "--json", "--top", "1"],
    ));
    assert_eq!(at["commit"], commit_of("v2.0^1").trim());
    patmine_ok(&db, &["compare", "HEAD~2", "HEAD"]);
    patmine_ok(&db, &["migrations", "--at", "HEAD~1"]);

    // A migration's story is the chain's: the merged branch's commit is off it.
    let feature = commit_of("feature");
    let out = patmine(&db, &["migrations", "--at", "feature"]);
    one_line_error(
        &out,
        &["`feature`", &feature.trim()[..10], "first-parent chain"],
    );
    let out = patmine(&db, &["compare", "no-such-rev", "HEAD"]);
    one_line_error(&out, &["`no-such-rev`", "names no commit"]);
}

/// The patterns of `at REV --json` equal those of a fresh scan of REV's `git archive`, and so do
/// its file, `var` and `const` metrics.
fn assert_at_equals_archive(db: &Path, repo: &Path, rev: &str, work: &Path) {
    let tree = work.join(format!("tree-{}", rev.replace(['/', '~', '^'], "_")));
    export_tree(repo, rev, &tree);
    let scan_db = work.join(format!("scan-{}.duckdb", rev.replace(['/', '~', '^'], "_")));
    let scanned = json(&patmine_ok(
        &scan_db,
        &["scan", tree.to_str().unwrap(), "--json", "--top", "100000"],
    ));
    let at = json(&patmine_ok(db, &["at", rev, "--json", "--top", "100000"]));
    assert_eq!(pattern_set(&at), pattern_set(&scanned), "patterns at {rev}");
    let metrics = &at["metrics"];
    let conn = duckdb::Connection::open(&scan_db).unwrap();
    let (files, var, konst): (i64, i64, i64) = conn
        .query_row(
            "SELECT count(*), coalesce(sum(b.\"var\"), 0)::BIGINT, coalesce(sum(b.\"const\"), 0)::BIGINT
             FROM scan_files f JOIN blobs b USING (blob_row) WHERE b.status = 'parsed'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (
            metrics["files"].as_i64().unwrap(),
            metrics["var"].as_i64().unwrap(),
            metrics["const"].as_i64().unwrap()
        ),
        (files, var, konst),
        "metrics at {rev}"
    );
}

/// A revision off the analysed first-parent chain (a merged branch's commit, tags on a release
/// branch, a branch newer than the analysed tip) is analysed from its tree, once, and counts as
/// `scan` counts its `git archive`; `compare` and `compare --releases` take it.
#[test]
fn revisions_off_the_chain_are_analysed_from_their_trees() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    sample_repo(&repo);
    // A release branch from v2.0: a fix (a changed blob) and a new file (a blob no commit of
    // the chain holds), each tagged; and an empty commit whose tree is HEAD~1's.
    git(&repo, &["checkout", "-q", "-b", "release-2", "v2.0"]);
    std::fs::write(
        repo.join("lib/helpers.js"),
        "var path = require('path');\nvar fs = require('fs');\nmodule.exports = function join(a, b) { return path.join(a, b); };\n",
    )
    .unwrap();
    git(&repo, &["commit", "-qam", "helpers: join"]);
    git(&repo, &["tag", "v2.1"]);
    std::fs::write(
        repo.join("lib/retry.ts"),
        "export async function retry(f: () => Promise<void>) {\n  for (let i = 0; i < 3; i++) {\n    try { await f(); return; } catch (e) { console.warn(e); }\n  }\n}\n",
    )
    .unwrap();
    git(&repo, &["add", "lib/retry.ts"]);
    git(&repo, &["commit", "-qm", "retry"]);
    git(&repo, &["tag", "v2.1.1"]);
    git(&repo, &["checkout", "-q", "-b", "empty", "main~1"]);
    git(&repo, &["commit", "-q", "--allow-empty", "-m", "nothing"]);
    git(&repo, &["checkout", "-q", "main"]);

    let db = tmp.path().join("h.duckdb");
    patmine_ok(&db, &["history", repo.to_str().unwrap()]);
    // The report reads no repository: the release tags off the chain wait for their trees.
    let releases_in_report = |name: &str| {
        let out = tmp.path().join(name);
        patmine_ok(&db, &["report", "--out", out.to_str().unwrap()]);
        let report = json(&std::fs::read_to_string(out.join("report.json")).unwrap());
        let steps: Vec<String> = report["releases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{} -> {}",
                    r["from"].as_str().unwrap(),
                    r["to"].as_str().unwrap()
                )
            })
            .collect();
        let html = std::fs::read_to_string(out.join("index.html")).unwrap();
        let left_out = report["releases_left_out"].as_u64().unwrap();
        assert_eq!(html.contains("off the analysed chain"), left_out > 0);
        (steps, left_out)
    };
    assert_eq!(
        releases_in_report("report-before"),
        (
            vec!["v1.0 -> v2.0".to_string(), "v2.0 -> v3.0".to_string()],
            2
        )
    );

    // Release trees that cannot be analysed (here: other flags than the history's) are left
    // out with one line, and the rest compared.
    let out = patmine(&db, &["compare", "--releases", "--max-len", "100"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("2 releases off the analysed chain left out (v2.1, v2.1.1)")
            && stderr.contains("--max-len")
            && stderr.lines().count() == 1,
        "{stderr}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.split(':').nth(1).unwrap().trim())
            .collect::<Vec<_>>(),
        ["v1.0 -> v2.0", "v2.0 -> v3.0"]
    );

    // Its tree is analysed as the history was, or not at all.
    let out = patmine(&db, &["at", "v2.1.1", "--max-len", "100"]);
    one_line_error(&out, &["v2.1.1 (", "off the analysed chain", "--max-len"]);

    // A tree analysed for a text answer gets its trackers too: no answer of the history lacks them.
    patmine_ok(&db, &["at", "release-2~1"]);
    let migrations = patmine(&db, &["migrations"]);
    assert!(migrations.status.success());
    let stderr = String::from_utf8_lossy(&migrations.stderr);
    assert!(!stderr.contains("not been evaluated"), "{stderr}");

    for rev in ["feature", "v2.1", "v2.1.1", "release-2~1", "main~4^2"] {
        assert_at_equals_archive(&db, &repo, rev, tmp.path());
    }
    // Asked again, the kept tree answers: nothing is analysed.
    let again = patmine(&db, &["at", "v2.1.1"]);
    assert!(again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(!stderr.contains("analysed its tree"), "{stderr}");
    let trees: i64 = duckdb::Connection::open(&db)
        .unwrap()
        .query_row("SELECT count(*) FROM revision_trees", [], |r| r.get(0))
        .unwrap();
    assert_eq!(trees, 3, "feature, v2.1 and v2.1.1 (release-2~1 is v2.1)");
    // Each tree's files, by outcome, as a scan records them.
    let conn = duckdb::Connection::open(&db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT any_value(s.files), any_value(s.parsed + s.cached + s.skipped + s.failed),
                count(f.path)
             FROM scans s JOIN revision_trees USING (scan_id) JOIN scan_files f USING (scan_id)
             GROUP BY scan_id",
        )
        .unwrap();
    let totals: Vec<(i64, i64, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(totals.len(), 3);
    for (files, by_outcome, rows) in totals {
        assert!(files > 0 && files == by_outcome && files == rows);
    }
    drop(stmt);
    drop(conn);

    // A tree equal to a chain commit's has its patterns and its trackers' counts.
    let chain = json(&patmine_ok(
        &db,
        &["at", "main~1", "--json", "--top", "100000"],
    ));
    let off = json(&patmine_ok(
        &db,
        &["at", "empty", "--json", "--top", "100000"],
    ));
    assert_eq!(off["seq"], serde_json::Value::Null);
    assert_eq!(pattern_set(&off), pattern_set(&chain));
    assert!(!chain["trackers"].as_object().unwrap().is_empty());
    assert_eq!(off["trackers"], chain["trackers"]);
    let same = patmine_ok(&db, &["compare", "main~1", "empty"]);
    assert!(
        same.lines()
            .next()
            .unwrap()
            .ends_with(": 0 new, 0 gone, 0 grown, 0 shrunk"),
        "{same}"
    );

    // Release over release, the release branch's tags in their version order.
    let releases = patmine_ok(&db, &["compare", "--releases"]);
    let pairs: Vec<&str> = releases
        .lines()
        .map(|l| l.split(':').nth(1).unwrap().trim())
        .collect();
    assert_eq!(
        pairs,
        [
            "v1.0 -> v2.0",
            "v2.0 -> v2.1",
            "v2.1 -> v2.1.1",
            "v2.1.1 -> v3.0"
        ]
    );
    // A chain commit against a tree: the deltas are the difference of the two `at`s.
    let occurrences = |rev: &str| -> std::collections::BTreeMap<String, i64> {
        let at = json(&patmine_ok(&db, &["at", rev, "--json", "--top", "100000"]));
        at["patterns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let sig = p["abstract"].as_str().unwrap().to_string();
                (sig, p["occurrences"].as_i64().unwrap())
            })
            .collect()
    };
    let (before, after) = (occurrences("v2.0"), occurrences("v2.1.1"));
    let mut expected: Vec<(String, i64, i64)> = before
        .keys()
        .chain(after.keys())
        .map(|sig| {
            let (b, a) = (before.get(sig), after.get(sig));
            (
                sig.clone(),
                b.copied().unwrap_or(0),
                a.copied().unwrap_or(0),
            )
        })
        .filter(|(_, b, a)| b != a)
        .collect();
    expected.sort();
    expected.dedup();
    let compared = json(&patmine_ok(
        &db,
        &["compare", "v2.0", "v2.1.1", "--json", "--top", "100000"],
    ));
    let mut deltas: Vec<(String, i64, i64)> = compared[0]["by_absolute"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let sig = d["signature"].as_str().unwrap().to_string();
            (
                sig,
                d["before"].as_i64().unwrap(),
                d["after"].as_i64().unwrap(),
            )
        })
        .collect();
    deltas.sort();
    assert!(!expected.is_empty());
    assert_eq!(deltas, expected);

    let (steps, left_out) = releases_in_report("report-after");
    assert_eq!(
        (steps, left_out),
        (
            [
                "v1.0 -> v2.0",
                "v2.0 -> v2.1",
                "v2.1 -> v2.1.1",
                "v2.1.1 -> v3.0"
            ]
            .map(String::from)
            .to_vec(),
            0
        )
    );

    // A tree's analysis evaluates trackers on the tree's blobs only, not on the history's.
    let bare = tmp.path().join("no-trackers.duckdb");
    patmine_ok(&bare, &["history", repo.to_str().unwrap(), "--no-trackers"]);
    patmine_ok(&bare, &["at", "feature"]);
    let (outside, inside): (i64, i64) = duckdb::Connection::open(&bare)
        .unwrap()
        .query_row(
            "SELECT count(*) FILTER (WHERE blob_row NOT IN (SELECT blob_row FROM scan_files f JOIN revision_trees USING (scan_id))),
                    count(*)
             FROM blob_trackers",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(outside, 0);
    assert!(inside > 0);

    // A blob of an off-chain tree that is missing is said, counted as empty, and exits 1.
    git(&repo, &["checkout", "-q", "-b", "broken", "main~1"]);
    std::fs::write(repo.join("lib/lost.js"), "var lost = require('lost');\n").unwrap();
    git(&repo, &["add", "lib/lost.js"]);
    git(&repo, &["commit", "-qm", "lost"]);
    git(&repo, &["checkout", "-q", "main"]);
    let lost = git(&repo, &["rev-parse", "broken:lib/lost.js"]);
    std::fs::remove_file(repo.join(".git/objects").join(&lost[..2]).join(&lost[2..])).unwrap();
    let out = patmine(&db, &["at", "broken"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("blob {lost} is missing")),
        "{stderr}"
    );

    // With the repository gone, kept trees still answer by tag.
    std::fs::rename(&repo, tmp.path().join("moved")).unwrap();
    let at = json(&patmine_ok(&db, &["at", "v2.1", "--json", "--top", "1"]));
    assert_eq!(at["seq"], serde_json::Value::Null);
}

/// Without `--db` or `$PATMINE_DB`, the database is the per-user one, outside the working tree,
/// and `history` says where it is.
#[test]
fn the_default_database_lives_in_the_user_data_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    sample_repo(&repo);
    let home = tmp.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let run = |args: &[&str]| patmine_in(&repo, Some(&home), args);
    let said = run(&["-q", "history", "."]);
    let expected = home.join(".local/share/patmine/patmine.duckdb");
    assert!(expected.is_file(), "no database at {}", expected.display());
    assert!(
        said.contains(&format!("database {}", expected.display())),
        "{said}"
    );
    assert!(
        git(&repo, &["status", "--porcelain", "--ignored"])
            .trim()
            .is_empty(),
        "the working tree was left as it was"
    );
    run(&["at", "HEAD", "--json"]);
    // With a second repository in the shared database, the one the command runs in is meant.
    let other = tmp.path().join("other");
    sample_repo(&other);
    git(&other, &["commit", "-q", "--allow-empty", "-m", "one more"]);
    let said = run(&["-q", "history", other.to_str().unwrap()]);
    assert!(said.contains(" at --repo "), "{said}");
    let out = run(&["at", "--json"]);
    let at = json(&out);
    assert_eq!(at["commit"], git(&repo, &["rev-parse", "HEAD"]).trim());
}

/// `history`'s text answers over the range it analysed, not with one snapshot's phrasebook.
#[test]
fn history_prints_what_changed_over_its_range() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    sample_repo(&repo);
    let db = tmp.path().join("h.duckdb");
    let out = patmine_ok(&db, &["-q", "history", repo.to_str().unwrap()]);
    let first = git(&repo, &["rev-list", "--max-parents=0", "HEAD"]);
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let range = format!(
        "range: 9 commits, {} (2023-01-10) to {} (2024-04-01)",
        &first.trim()[..10],
        &head.trim()[..10]
    );
    assert!(out.contains(&range), "{out}");
    let fell = out
        .split("patterns that fell most")
        .nth(1)
        .expect("a fell-most list");
    // v1.0's three `var x = require(...)` are gone by the last commit.
    assert!(
        fell.lines()
            .nth(1)
            .unwrap()
            .contains("-3         3 -> 0         var IDENTIFIER = IDENTIFIER(STRING)"),
        "{fell}"
    );
    assert!(out.contains("\nvar-to-let-const "), "{out}");
    assert!(
        out.contains(&format!("patmine --db {} at", db.display())),
        "{out}"
    );
}

/// In a linked worktree, `HEAD` is that worktree's own.
#[test]
fn head_in_a_linked_worktree_is_its_own() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    sample_repo(&repo);
    let db = tmp.path().join("h.duckdb");
    patmine_ok(&db, &["history", repo.to_str().unwrap()]);
    let linked = tmp.path().join("linked");
    git(
        &repo,
        &[
            "worktree",
            "add",
            "-q",
            "--detach",
            linked.to_str().unwrap(),
            "v2.0",
        ],
    );
    let at = json(&patmine_in(
        &linked,
        None,
        &[
            "--db",
            db.to_str().unwrap(),
            "at",
            "HEAD",
            "--json",
            "--top",
            "1",
        ],
    ));
    assert_eq!(
        at["commit"],
        git(&repo, &["rev-parse", "v2.0^{commit}"]).trim()
    );
}
