//! The blob cache: every analysed content under its key, dialect and configuration, its
//! patterns and the signature texts they use. Scan and history write through `BlobRows`.

use std::collections::HashMap;

use anyhow::{Context, Result};
use duckdb::params;

use super::Store;
use crate::FastMap;
use crate::analyze::{FileAnalysis, METRIC_KINDS};
use crate::columns::{ColumnType, Columns};
use crate::deltas::BlobCounts;
use crate::dialect::Dialect;
use crate::filter::SkipReason;

/// What became of a content: analysed, skipped by a pre-filter, missing from the object
/// database, or failed to analyse. Stored as `parsed`, `skipped:<reason>`, `missing`, `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobStatus {
    Parsed,
    Skipped(SkipReason),
    Missing,
    Failed,
}

impl BlobStatus {
    /// The stored text.
    pub fn stored(self) -> std::borrow::Cow<'static, str> {
        match self {
            BlobStatus::Parsed => "parsed".into(),
            BlobStatus::Skipped(reason) => format!("skipped:{}", reason.name()).into(),
            BlobStatus::Missing => "missing".into(),
            BlobStatus::Failed => "failed".into(),
        }
    }

    /// The status a stored text names; an unknown text is an error (a database of another
    /// version, or damaged).
    pub fn from_stored(text: &str) -> Result<BlobStatus> {
        let status = match text {
            "parsed" => Some(BlobStatus::Parsed),
            "missing" => Some(BlobStatus::Missing),
            "failed" => Some(BlobStatus::Failed),
            other => other
                .strip_prefix("skipped:")
                .and_then(SkipReason::from_name)
                .map(BlobStatus::Skipped),
        };
        status.with_context(|| format!("unknown blob status `{text}` in the database"))
    }
}

/// A new blob to write: its analysis, or why it has none (`status`).
pub struct NewBlob<'a> {
    pub blob_row: i64,
    pub content_key: &'a str,
    pub dialect: Dialect,
    pub bytes: u64,
    pub status: BlobStatus,
    pub analysis: Option<&'a FileAnalysis>,
}

/// A content's counted patterns as signature numbers: (abstract sig, semantic sig, occurrences).
pub type PatternSigs = Box<[(i32, i32, u32)]>;

/// The blob rows of one configuration as a writer hands them out: which content sits in which
/// row, which signatures are stored, and the next free row. Scan and history share it.
pub struct BlobRows {
    rows: FastMap<(String, Dialect), i64>,
    signatures: SignatureRows,
    next_row: i64,
    config: String,
}

/// The signatures stored so far (text -> sig number) and the next free number.
pub struct SignatureRows {
    known: FastMap<Box<str>, i32>,
    next: i32,
}

/// The blob cache: contents analysed under a configuration, their patterns and signatures.
impl Store {
    /// The cache index for one configuration: (content key, dialect) -> blob row.
    pub fn load_cache(
        &self,
        config: &str,
        key_prefix: &str,
    ) -> Result<FastMap<(String, Dialect), i64>> {
        let mut stmt = self
            .conn
            .prepare("SELECT content_key, dialect, blob_row FROM blobs WHERE config = ? AND starts_with(content_key, ?)")?;
        let rows = stmt.query_map(params![config, key_prefix], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let mut map = FastMap::default();
        for row in rows {
            let (key, dialect, blob_row) = row?;
            let dialect = Dialect::from_name(&dialect)
                .with_context(|| format!("blob row {blob_row}: unknown dialect `{dialect}`"))?;
            map.insert((key, dialect), blob_row);
        }
        Ok(map)
    }

    /// The first blob row no stored content holds.
    pub fn next_blob_row(&self) -> Result<i64> {
        self.next_number("blobs", "blob_row")
    }

    /// The signatures already stored for `config`: text -> sig number.
    pub fn load_signatures(&self, config: &str) -> Result<FastMap<Box<str>, i32>> {
        let mut stmt = self
            .conn
            .prepare("SELECT text, sig FROM signatures WHERE config = ?")?;
        let rows = stmt.query_map(params![config], |r| {
            Ok((r.get::<_, String>(0)?.into_boxed_str(), r.get::<_, i32>(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The first signature number no stored signature holds.
    pub fn next_sig(&self) -> Result<i32> {
        self.next_number("signatures", "sig")
    }

    /// Writes new blobs, their patterns, and any signatures not stored yet. Call inside a
    /// transaction; `signatures` is updated. Returns each blob's patterns as signature numbers,
    /// in the order of `blobs` (none for a blob without analysis).
    pub fn write_blobs(
        &self,
        blobs: &[NewBlob<'_>],
        config: &str,
        signatures: &mut SignatureRows,
        categorize: &dyn Fn(&str) -> String,
    ) -> Result<Vec<PatternSigs>> {
        use ColumnType::{Int32, Int64, Text};
        let mut blob_types = vec![Int64, Text, Text, Text, Text, Text, Int32, Int32, Int64];
        blob_types.extend([Int32; METRIC_KINDS.len()]);
        let mut blob_rows = Columns::with_rows("blobs", &blob_types, blobs.len());
        let patterns: usize = (blobs.iter())
            .filter_map(|b| b.analysis.map(|a| a.patterns.len()))
            .sum();
        let mut pattern_rows = Columns::with_rows(
            "blob_patterns",
            &[Int64, Int32, Int32, Text, Int32, Int32],
            patterns,
        );
        let mut signature_rows = Columns::new("signatures", &[Int32, Text, Text, Text]);
        let mut sigs_of_blobs = Vec::with_capacity(blobs.len());
        let mut blob_sigs = Vec::new();
        for blob in blobs {
            let (grammar, error_nodes, loc) = match blob.analysis {
                Some(a) => (a.grammar.name(), a.error_nodes, a.loc),
                None => ("", 0, 0),
            };
            blob_rows
                .int64(Some(blob.blob_row))?
                .text(Some(blob.content_key))?
                .text(Some(blob.dialect.name()))?
                .text(Some(config))?
                .text(Some(&blob.status.stored()))?
                .text(Some(grammar))?
                .int32(error_nodes)?
                .int32(loc)?
                .int64(Some(i64::try_from(blob.bytes)?))?;
            let metrics = blob.analysis.map(|a| a.metrics).unwrap_or_default();
            for metric in metrics {
                blob_rows.int32(metric)?;
            }
            blob_rows.end_row()?;
            let Some(a) = blob.analysis else {
                sigs_of_blobs.push(PatternSigs::default());
                continue;
            };
            blob_sigs.clear();
            for p in &a.patterns {
                let mut sigs = [0i32; 2];
                for (sig, text) in sigs.iter_mut().zip([p.abstract_text(), p.semantic_text()]) {
                    *sig = match signatures.known.get(text) {
                        Some(&sig) => sig,
                        None => {
                            let new = signatures.next;
                            signatures.next = new.checked_add(1).context(
                                "more than 2^31 signatures: the signature numbers ran out",
                            )?;
                            signatures.known.insert(text.into(), new);
                            signature_rows
                                .int32(new)?
                                .text(Some(config))?
                                .text(Some(text))?
                                .text(Some(&categorize(text)))?
                                .end_row()?;
                            new
                        }
                    };
                }
                pattern_rows
                    .int64(Some(blob.blob_row))?
                    .int32(sigs[0])?
                    .int32(sigs[1])?
                    .text(Some(&p.kind))?
                    .int32(p.occurrences)?
                    .int32(p.first_line)?
                    .end_row()?;
                blob_sigs.push((sigs[0], sigs[1], p.occurrences));
            }
            sigs_of_blobs.push(blob_sigs.as_slice().into());
        }
        for rows in [&mut blob_rows, &mut pattern_rows, &mut signature_rows] {
            rows.write(&self.conn)?;
        }
        Ok(sigs_of_blobs)
    }

    /// The counts of stored blobs (for deltas of commits that bring an old blob back).
    pub fn load_blob_counts(&self, rows: &[i64]) -> Result<HashMap<i64, BlobCounts>> {
        let mut out: HashMap<i64, BlobCounts> = HashMap::new();
        for chunk in rows.chunks(1000) {
            let list = chunk
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            let metric_columns: String =
                METRIC_KINDS.iter().map(|k| format!(", \"{k}\"")).collect();
            let mut stmt = self.conn.prepare(&format!(
                "SELECT blob_row, status = 'parsed', error_nodes > 0, loc{metric_columns}
                 FROM blobs WHERE blob_row IN ({list})"
            ))?;
            let blobs = stmt.query_map([], |r| {
                let mut metrics = [0u32; METRIC_KINDS.len()];
                for (i, m) in metrics.iter_mut().enumerate() {
                    *m = r.get(4 + i)?;
                }
                Ok((
                    r.get::<_, i64>(0)?,
                    BlobCounts {
                        parsed: r.get(1)?,
                        has_errors: r.get(2)?,
                        loc: r.get(3)?,
                        metrics,
                        ..BlobCounts::default()
                    },
                ))
            })?;
            for blob in blobs {
                let (row, counts) = blob?;
                out.insert(row, counts);
            }
            for (column, semantic) in [("abstract_sig", false), ("semantic_sig", true)] {
                let mut stmt = self.conn.prepare(&format!(
                    "SELECT blob_row, {column}, sum(occurrences)::INTEGER FROM blob_patterns
                     WHERE blob_row IN ({list}) GROUP BY ALL ORDER BY ALL"
                ))?;
                let sigs = stmt.query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i32>(1)?,
                        r.get::<_, u32>(2)?,
                    ))
                })?;
                for sig in sigs {
                    let (row, sig, occurrences) = sig?;
                    if let Some(counts) = out.get_mut(&row) {
                        let sigs = if semantic {
                            &mut counts.semantic_sigs
                        } else {
                            &mut counts.abstract_sigs
                        };
                        sigs.push((sig, occurrences));
                    }
                }
            }
        }
        Ok(out)
    }
}

impl BlobRows {
    /// Starts from `rows`, the cache index the caller already loaded (`Store::load_cache`).
    pub fn new(
        store: &Store,
        config: &str,
        rows: FastMap<(String, Dialect), i64>,
    ) -> Result<BlobRows> {
        Ok(BlobRows {
            rows,
            signatures: SignatureRows {
                known: store.load_signatures(config)?,
                next: store.next_sig()?,
            },
            next_row: store.next_blob_row()?,
            config: config.to_string(),
        })
    }

    /// The signatures stored so far: text -> number.
    pub fn into_signatures(self) -> FastMap<Box<str>, i32> {
        self.signatures.known
    }

    /// The row of content already assigned (by an earlier run, or earlier in this one).
    pub fn get(&self, key: &(String, Dialect)) -> Option<i64> {
        self.rows.get(key).copied()
    }

    /// The row for this content: `(row, true)` when it is new and must be written.
    pub fn assign(&mut self, key: String, dialect: Dialect) -> (i64, bool) {
        if let Some(&row) = self.rows.get(&(key.clone(), dialect)) {
            return (row, false);
        }
        let row = self.next_row;
        self.next_row += 1;
        self.rows.insert((key, dialect), row);
        (row, true)
    }

    /// Writes new blobs and the signatures not stored yet (inside the caller's transaction).
    /// Returns each blob's patterns as signature numbers, in the order of `blobs`.
    pub fn write(
        &mut self,
        store: &Store,
        blobs: &[NewBlob<'_>],
        categorize: &dyn Fn(&str) -> String,
    ) -> Result<Vec<PatternSigs>> {
        store.write_blobs(blobs, &self.config, &mut self.signatures, categorize)
    }
}
