//! The README's main job (the sample repository's history, report included) and the report it
//! committed under `reports/sample/`: a fresh run must write exactly those files, byte for byte.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;

/// Every file under `dir` (recursively) by its `/`-separated path relative to `dir`.
fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_none_or(|e| e != "duckdb" && e != "wal") {
                let rel = path.strip_prefix(dir).unwrap().to_string_lossy();
                out.insert(rel.replace('\\', "/"), std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

#[test]
fn the_committed_sample_report_is_what_the_main_job_writes() {
    // The command the README gives, so that this test and the README cannot drift apart.
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let command = "bash fixtures/history/make-sample-repo.sh target/sample-repo && cargo run --release -- --db target/sample.duckdb history target/sample-repo --report reports/sample";
    assert!(
        readme.contains(command),
        "the README's main job is not `{command}`"
    );

    let tmp = tempfile::tempdir().unwrap();
    // The same directory name: the report names the repository after it.
    let repo = tmp.path().join("sample-repo");
    sample_repo(&repo);
    let out = tmp.path().join("report");
    patmine_ok(
        &tmp.path().join("sample.duckdb"),
        &[
            "history",
            repo.to_str().unwrap(),
            "--report",
            out.to_str().unwrap(),
        ],
    );
    let committed = files_under(&Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/sample"));
    let fresh = files_under(&out);
    assert_eq!(
        committed.keys().collect::<Vec<_>>(),
        fresh.keys().collect::<Vec<_>>(),
        "the same files"
    );
    assert!(committed.contains_key("index.html") && committed.contains_key("report.json"));
    for (name, bytes) in &committed {
        assert!(
            fresh[name] == *bytes,
            "reports/sample/{name} differs from a fresh run of the main job; regenerate it with the README's main job"
        );
    }
}
