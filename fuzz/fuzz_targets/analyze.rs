//! The whole analysis of one file (parse, fallback, roots, normalizer, metrics) on any bytes, in
//! the dialect the first byte picks. Invariants: no panic, the same result twice, no quote in an
//! abstract signature (strings and templates are `STRING`).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use patmine::analyze::Analyzer;
use patmine::dialect::Dialect;

fn analyzer() -> &'static Analyzer {
    static ANALYZER: OnceLock<Analyzer> = OnceLock::new();
    ANALYZER.get_or_init(Analyzer::builtin)
}

fn texts(source: &[u8], dialect: Dialect) -> Option<Vec<(String, String, u32, u32)>> {
    let analysis = analyzer().analyze(source, dialect).ok()?;
    Some(
        analysis
            .patterns
            .iter()
            .map(|p| {
                (
                    p.abstract_text().to_string(),
                    p.semantic_text().to_string(),
                    p.occurrences,
                    p.first_line,
                )
            })
            .collect(),
    )
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, source)) = data.split_first() else {
        return;
    };
    let dialect = Dialect::ALL[pick as usize % Dialect::ALL.len()];
    let first = texts(source, dialect);
    assert_eq!(first, texts(source, dialect), "two analyses differ");
    for (abstract_text, ..) in first.iter().flatten() {
        assert!(
            !abstract_text.contains(['\'', '"', '`']),
            "a quote in the abstract signature {abstract_text:?}"
        );
    }
});
