//! Every `sql` block of docs/database.md runs unchanged against the main job's database (the
//! sample repository's history, plus a scan of `fixtures/sample`) and returns at least one row,
//! so the cookbook stays true as the schema moves.

mod common;

use common::*;

/// The fenced ```sql blocks of a Markdown text, with the line each starts on.
fn sql_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (number, line) in markdown.lines().enumerate() {
        match &mut open {
            None if line.trim_end() == "```sql" => open = Some((number + 1, String::new())),
            Some(_) if line.trim_end() == "```" => blocks.extend(open.take()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    assert!(open.is_none(), "an unclosed ```sql block");
    blocks
}

#[test]
fn every_query_of_the_database_doc_runs_and_returns_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("sample-repo");
    sample_repo(&repo);
    let db = tmp.path().join("sample.duckdb");
    patmine_ok(&db, &["history", repo.to_str().unwrap()]);
    patmine_ok(&db, &["scan", fixtures().join("sample").to_str().unwrap()]);

    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/database.md")).unwrap();
    let blocks = sql_blocks(&doc);
    assert!(blocks.len() >= 8, "only {} sql blocks", blocks.len());
    // Read-only, as the doc tells users to open it.
    let config = duckdb::Config::default()
        .access_mode(duckdb::AccessMode::ReadOnly)
        .unwrap();
    let conn = duckdb::Connection::open_with_flags(&db, config).unwrap();
    for (line, sql) in blocks {
        let mut stmt = conn
            .prepare(&sql)
            .unwrap_or_else(|e| panic!("docs/database.md:{line}: {e}\n{sql}"));
        let mut rows = stmt
            .query([])
            .unwrap_or_else(|e| panic!("docs/database.md:{line}: {e}\n{sql}"));
        let first = rows
            .next()
            .unwrap_or_else(|e| panic!("docs/database.md:{line}: {e}\n{sql}"));
        assert!(first.is_some(), "docs/database.md:{line}: no rows\n{sql}");
    }
}
