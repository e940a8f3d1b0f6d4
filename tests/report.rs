//! `patmine report` and `patmine compare` on the sample repository, and the dashboard in a real
//! headless Chromium (installed by `.ci/run` when missing).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn sample_with_report(tmp: &Path) -> (PathBuf, PathBuf) {
    let repo = tmp.join("repo");
    sample_repo(&repo);
    let db = tmp.join("h.duckdb");
    let out = tmp.join("report");
    patmine_ok(
        &db,
        &[
            "history",
            repo.to_str().unwrap(),
            "--report",
            out.to_str().unwrap(),
        ],
    );
    (db, out)
}

#[test]
fn report_files_are_written_and_self_contained() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, out) = sample_with_report(tmp.path());
    let report = json(&std::fs::read_to_string(out.join("report.json")).unwrap());
    let evolution = &report["evolution"];
    assert_eq!(evolution["commits"], 9);
    assert_eq!(
        evolution["releases"].as_array().unwrap().len(),
        3,
        "v1.0, v2.0, v3.0"
    );
    // var → const: the sample's var declarations all go (9 at v1.0, 0 at the end).
    let var = evolution["metrics"]["var"].as_array().unwrap();
    assert_eq!(var.first().unwrap()[1], 9);
    assert_eq!(var.last().unwrap()[1], 0);
    assert_eq!(report["releases"].as_array().unwrap().len(), 2);
    // Every listed change names the commits that moved it most: the first moved it by the
    // largest step of the pattern's running count, and the steps are ordered by size.
    let moved_by = &evolution["moved_by"];
    let patterns = report["patterns"].as_array().unwrap();
    for card in patterns {
        let sig = card["abstract"].as_str().unwrap();
        let series = card["series"].as_array().unwrap();
        let mut steps: Vec<i64> = vec![series[0][1].as_i64().unwrap()];
        steps.extend(
            series
                .windows(2)
                .map(|w| w[1][1].as_i64().unwrap() - w[0][1].as_i64().unwrap()),
        );
        let largest = steps.iter().map(|d| d.abs()).max().unwrap();
        let moves = moved_by[sig]
            .as_array()
            .unwrap_or_else(|| panic!("no moves for {sig}"));
        assert_eq!(moves[0]["change"].as_i64().unwrap().abs(), largest, "{sig}");
        let sizes: Vec<i64> = moves
            .iter()
            .map(|m| m["change"].as_i64().unwrap().abs())
            .collect();
        assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sig}: {sizes:?}");
        assert!(
            moves.len() <= 5
                && moves
                    .iter()
                    .all(|m| !m["subject"].as_str().unwrap().is_empty())
        );
    }
    for d in evolution["rose"].as_array().unwrap() {
        assert!(moved_by[d["signature"].as_str().unwrap()].is_array(), "{d}");
    }
    // `var IDENTIFIER = IDENTIFIER(STRING)` is gone: it fell from its peak, which `at` at every
    // commit recounts (the highest count, and the first commit that had it).
    let falls = evolution["fell_from_peak"].as_array().unwrap();
    let signature = "var IDENTIFIER = IDENTIFIER(STRING)";
    let var_require = falls
        .iter()
        .find(|f| f["signature"] == signature)
        .unwrap_or_else(|| panic!("{falls:?}"));
    let repo = tmp.path().join("repo");
    let commits = git(&repo, &["rev-list", "--first-parent", "--reverse", "HEAD"]);
    let mut peak: (i64, String) = (0, String::new());
    for commit in commits.lines() {
        let at = json(&patmine_ok(
            &db,
            &["at", commit, "--json", "--top", "10000"],
        ));
        let n = at["patterns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["abstract"] == signature)
            .map_or(0, |p| p["occurrences"].as_i64().unwrap());
        if n > peak.0 {
            peak = (n, commit[..12].to_string());
        }
    }
    assert_eq!(var_require["peak"].as_i64(), Some(peak.0));
    assert_eq!(var_require["peak_commit"].as_str(), Some(peak.1.as_str()));
    assert_eq!(var_require["now"].as_i64(), Some(0));
    for f in falls {
        assert!(f["now"].as_i64() < f["peak"].as_i64(), "{f}");
    }
    // The last year (the sample spans 2023-01 to 2024-04): from the newest commit a year or more
    // before the newest, what `compare` from there says, rises and falls apart.
    let window = &evolution["last_year"];
    let from = window["from"]["id"].as_str().unwrap();
    let compared = json(&patmine_ok(
        &db,
        &["compare", from, "--json", "--top", "10000"],
    ));
    let deltas = compared[0]["by_absolute"].as_array().unwrap();
    let rose: Vec<&serde_json::Value> = deltas
        .iter()
        .filter(|d| d["absolute"].as_i64().unwrap() > 0)
        .take(10)
        .collect();
    let window_rose: Vec<&serde_json::Value> = window["rose"].as_array().unwrap().iter().collect();
    assert_eq!(window_rose, rose);
    assert!(
        window["from"]["time"].as_i64().unwrap()
            <= evolution["last"]["time"].as_i64().unwrap() - 365 * 86400
    );
    // Every top pattern has its running count over the history.
    assert!(patterns.len() > 10);
    for p in patterns {
        assert!(!p["series"].as_array().unwrap().is_empty(), "{p}");
    }
    // The sample's snapshot has 4 files: the default support (1%, at least 5) admits no pair.
    let cooccurrence = &report["cooccurrence"];
    assert_eq!(cooccurrence["files"], 4);
    assert_eq!(cooccurrence["min_support"], 5);
    assert!(cooccurrence["pairs"].as_array().unwrap().is_empty());
    // With --min-support 2: pairs of patterns found together, ranked by files × ln(lift), none
    // where one signature holds the other, and the patterns most related to the top ones.
    let again = tmp.path().join("again");
    patmine_ok(
        &db,
        &[
            "report",
            "--min-support",
            "2",
            "--out",
            again.to_str().unwrap(),
        ],
    );
    let report2 = json(&std::fs::read_to_string(again.join("report.json")).unwrap());
    let cooccurrence = &report2["cooccurrence"];
    let pairs = cooccurrence["pairs"].as_array().unwrap();
    assert!(!pairs.is_empty());
    assert!(!cooccurrence["related"].as_array().unwrap().is_empty());
    let scores: Vec<f64> = pairs.iter().map(|p| p["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    for p in pairs {
        let (a, b) = (p["a"].as_str().unwrap(), p["b"].as_str().unwrap());
        assert!(!a.contains(b) && !b.contains(a), "nested pair {a} / {b}");
        assert!(p["together"].as_i64().unwrap() >= 2);
    }
    for chart in [
        "totals.svg",
        "declarations.svg",
        "functions.svg",
        "control.svg",
        "top-patterns.svg",
        "pattern-1.svg",
    ] {
        let svg = std::fs::read_to_string(out.join("charts").join(chart)).unwrap();
        assert!(svg.contains("<svg") && svg.contains("<polyline"), "{chart}");
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("## Co-occurrence") && md.contains("## Releases"),
        "{md}"
    );
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("<svg"), "charts are inline");
    for forbidden in [
        "src=\"http",
        "href=\"http",
        "src=\"//",
        "href=\"//",
        "<link",
        "<script src",
        "@import",
        "url(",
    ] {
        assert!(
            !html.contains(forbidden),
            "the dashboard must not load {forbidden}"
        );
    }
}

/// Every file of a directory, by path relative to it.
fn files_under(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut found = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().to_path_buf();
                found.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    found
}

/// A committed report changes only when the counts do: no timings or dates in the files.
#[test]
fn the_same_database_gives_byte_identical_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, first) = sample_with_report(tmp.path());
    let second = tmp.path().join("again");
    patmine_ok(&db, &["report", "--out", second.to_str().unwrap()]);
    let (a, b) = (files_under(&first), files_under(&second));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (path, bytes) in &a {
        assert!(bytes == &b[path], "{} differs", path.display());
    }
}

/// `compare` between two commits of the chain names, for its largest changes, the commit
/// between them that moved each the most; `at` on that commit and its parent recounts the step.
#[test]
fn compare_names_the_commits_behind_its_largest_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, _) = sample_with_report(tmp.path());
    let repo = tmp.path().join("repo");
    let doc = json(&patmine_ok(&db, &["compare", "v1.0", "v3.0", "--json"]));
    let moved_by = doc[0]["moved_by"].as_array().unwrap();
    assert!(!moved_by.is_empty());
    let between = git(&repo, &["rev-list", "--first-parent", "v1.0..v3.0"]);
    let count = |rev: &str, signature: &str| {
        let at = json(&patmine_ok(&db, &["at", rev, "--json", "--top", "10000"]));
        at["patterns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["abstract"] == signature)
            .map_or(0, |p| p["occurrences"].as_i64().unwrap())
    };
    for m in moved_by {
        let signature = m["signature"].as_str().unwrap();
        let commit = m["commit"].as_str().unwrap();
        let full = between
            .lines()
            .find(|c| c.starts_with(commit))
            .unwrap_or_else(|| panic!("{commit} is not between v1.0 and v3.0"));
        let step = count(full, signature) - count(&format!("{full}^"), signature);
        assert_eq!(m["change"].as_i64(), Some(step), "{signature} in {commit}");
        let delta = doc[0]["by_absolute"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["signature"] == signature)
            .unwrap();
        assert_eq!(step.signum(), delta["absolute"].as_i64().unwrap().signum());
    }
    let text = patmine_ok(&db, &["compare", "v1.0", "v3.0"]);
    assert!(
        text.contains("commits that moved the largest changes the most"),
        "{text}"
    );
}

#[test]
fn compare_counts_by_hand() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, _) = sample_with_report(tmp.path());
    let doc = json(&patmine_ok(
        &db,
        &["compare", "v1.0", "v3.0", "--json", "--top", "1000"],
    ));
    let rows = doc[0]["by_absolute"].as_array().unwrap();
    let find = |sig: &str| {
        rows.iter()
            .find(|r| r["signature"] == sig)
            .unwrap_or_else(|| panic!("{sig}"))
    };
    // v1.0: `var express = require(…)`, `var util = require(…)` (server.js) and
    // `var old = require(…)` (lib/legacy.js); all gone by v3.0.
    let var_require = find("var IDENTIFIER = IDENTIFIER(STRING)");
    assert_eq!(
        (
            var_require["before"].as_i64(),
            var_require["after"].as_i64()
        ),
        (Some(3), Some(0))
    );
    assert_eq!(var_require["change"], "gone");
    // v3.0 awaits `r.json()` in server.js and twice in services/api.ts... as `await IDENTIFIER.json()`.
    let awaits = find("await IDENTIFIER.json()");
    assert_eq!(awaits["change"], "new");
    // Dates work as snapshots too: the last commit before 2023-02-01 is v1.0's.
    let by_date = json(&patmine_ok(
        &db,
        &["compare", "2023-02-01", "v3.0", "--json", "--top", "1000"],
    ));
    assert_eq!(by_date[0]["by_absolute"], doc[0]["by_absolute"]);
    let releases = json(&patmine_ok(&db, &["compare", "--releases", "--json"]));
    assert_eq!(releases.as_array().unwrap().len(), 2);
    assert_eq!(releases[0]["from"], "v1.0");
    assert_eq!(releases[1]["to"], "v3.0");
    // One line a release by default; a glob chooses the tags.
    let lines = patmine_ok(&db, &["compare", "--releases"]);
    let lines: Vec<&str> = lines.lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].contains("v1.0 -> v2.0: ") && lines[0].contains(" new, "),
        "{lines:?}"
    );
    let chosen = json(&patmine_ok(
        &db,
        &["compare", "--releases", "--tags", "v?.0", "--json"],
    ));
    assert_eq!(chosen, releases);
    let out = patmine(&db, &["compare", "--releases", "--tags", "v3*"]);
    one_line_error(&out, &["1 of 3 tags", "--releases needs two"]);
}

#[test]
fn a_scan_gets_a_report_without_evolution() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("s.duckdb");
    let out = tmp.path().join("r");
    patmine_ok(
        &db,
        &[
            "scan",
            fixtures().join("sample").to_str().unwrap(),
            "--report",
            out.to_str().unwrap(),
        ],
    );
    let report = json(&std::fs::read_to_string(out.join("report.json")).unwrap());
    assert!(report["evolution"].is_null());
    assert_eq!(
        report["quality"]["skipped"][0],
        serde_json::json!(["vendored", 2])
    );
    assert!(report["patterns"].as_array().unwrap().len() > 10);

    // A scan that never finished (killed, or its writer failed) has no counts: the report
    // describes the newest finished scan instead of an empty one.
    patmine::store::Store::open(&db)
        .unwrap()
        .start_scan("/interrupted", "config")
        .unwrap();
    let again = tmp.path().join("again");
    patmine_ok(&db, &["report", "--out", again.to_str().unwrap()]);
    let again = json(&std::fs::read_to_string(again.join("report.json")).unwrap());
    assert_eq!(again["patterns"], report["patterns"]);
}

fn chromium() -> Option<PathBuf> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// Headless Chromium with networking off; returns the DOM after scripts ran, and the URLs of
/// every request the page made (from Chromium's net log).
fn dump_dom(url: &str, work: &Path) -> (String, Vec<String>) {
    let Some(chromium) = chromium() else {
        panic!(
            "Chromium is needed for the dashboard test (.ci/run installs the Debian package `chromium`)"
        );
    };
    let netlog = work.join("netlog.json");
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=3000",
            "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate",
            "--no-default-browser-check",
            "--disable-domain-reliability",
        ])
        .arg(format!(
            "--user-data-dir={}",
            work.join("profile").display()
        ))
        .arg(format!("--log-net-log={}", netlog.display()))
        .arg("--dump-dom")
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Requests the page made; the browser's own (update checks and the like) carry the
    // initiator "not an origin".
    let log = std::fs::read_to_string(&netlog).expect("chromium wrote its net log");
    let log: serde_json::Value = serde_json::from_str(&log).expect("the net log is JSON");
    let urls: Vec<String> = log["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let params = &e["params"];
            let initiator = params["initiator"].as_str()?;
            (initiator != "not an origin").then(|| params["url"].as_str().unwrap_or("").to_string())
        })
        .collect();
    (String::from_utf8_lossy(&out.stdout).into_owned(), urls)
}

#[test]
fn the_dashboard_renders_filters_and_stays_offline_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, out) = sample_with_report(tmp.path());
    let page = format!("file://{}", out.join("index.html").display());

    let (dom, urls) = dump_dom(&page, tmp.path());
    assert!(dom.contains("<svg"), "charts render");
    let cards = dom.matches("<article class=\"card\"").count();
    assert!(cards >= 20, "{cards} cards");
    assert!(
        dom.contains(&format!("data-shown=\"{cards}\"")),
        "no filter: every card shown"
    );
    assert!(urls.is_empty(), "requests left the page: {urls:?}");
    // The check itself sees a page that does make a request (to a closed port on loopback).
    let probe = tmp.path().join("probe.html");
    std::fs::write(&probe, "<img src=\"http://127.0.0.1:9/x.png\">").unwrap();
    let (_, probe_urls) = dump_dom(&format!("file://{}", probe.display()), tmp.path());
    assert!(
        probe_urls
            .iter()
            .any(|u| u.starts_with("http://127.0.0.1:9/")),
        "{probe_urls:?}"
    );

    // The search box (prefilled from the address, as typing would) hides non-matching cards.
    let (dom, _) = dump_dom(&format!("{page}#q=await"), tmp.path());
    let shown: Vec<&str> = dom
        .split("<article class=\"card\"")
        .skip(1)
        .filter(|c| !c[..c.find('>').unwrap()].contains("hidden"))
        .collect();
    assert!(
        !shown.is_empty() && shown.len() < cards,
        "{} of {cards} shown",
        shown.len()
    );
    for card in shown {
        assert!(
            card.to_lowercase().contains("await"),
            "a shown card does not match: {}",
            &card[..200.min(card.len())]
        );
    }
}

/// Names that hold HTML (a tag, here) show as text in every Markdown output: GitHub and most
/// viewers would render it.
#[test]
fn markdown_outputs_escape_html_in_names() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, _) = sample_with_report(tmp.path());
    let repo = tmp.path().join("repo");
    let evil = "<img-src=x-onerror=alert(1)>";
    git(&repo, &["tag", evil, "HEAD~1"]);
    // Tags are read again on every run.
    patmine_ok(&db, &["history", repo.to_str().unwrap()]);
    let out = tmp.path().join("again");
    patmine_ok(&db, &["report", "--out", out.to_str().unwrap()]);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    let releases = patmine_ok(&db, &["compare", "--releases", "--markdown"]);
    let tables = patmine_ok(&db, &["compare", evil, "HEAD", "--markdown"]);
    for (what, text) in [
        ("report.md", &report),
        ("--releases", &releases),
        ("tables", &tables),
    ] {
        assert!(
            text.contains("&lt;img-src=x-onerror=alert(1)&gt;"),
            "{what}: {text}"
        );
        assert!(!text.contains("<img"), "{what}: {text}");
    }
}
