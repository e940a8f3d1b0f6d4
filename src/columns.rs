//! Columnar appends: a table write gathers its rows column by column and hands them to DuckDB's
//! appender as one Arrow record batch. DuckDB then copies whole columns (integers with one
//! `memcpy` per 2,048 rows) instead of taking one FFI call per value and a few allocations per
//! row, which is what `Appender::append_row` costs.

use std::sync::Arc;

use anyhow::{Result, bail};
use duckdb::Connection;
use duckdb::arrow::array::{ArrayRef, Int32Builder, Int64Builder, StringBuilder};
use duckdb::arrow::record_batch::RecordBatch;

/// The Arrow type of one column, matching the table's SQL type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// `BIGINT`
    Int64,
    /// `INTEGER`
    Int32,
    /// `VARCHAR`
    Text,
}

enum Builder {
    Int64(Int64Builder),
    Int32(Int32Builder),
    Text(StringBuilder),
}

/// Rows for one table, filled a value at a time in the table's column order.
pub struct Columns {
    table: &'static str,
    builders: Vec<Builder>,
    /// The column the next value goes to.
    next: usize,
    rows: usize,
}

/// The bytes a text value is expected to take, for `Columns::with_rows`.
const TEXT_BYTES_PER_ROW: usize = 24;

impl Columns {
    pub fn new(table: &'static str, types: &[ColumnType]) -> Columns {
        Columns::with_rows(table, types, 0)
    }

    /// Columns with room for `rows` rows, when the caller knows how many are coming: the
    /// buffers then grow by copying only for long texts.
    pub fn with_rows(table: &'static str, types: &[ColumnType], rows: usize) -> Columns {
        let builders = types
            .iter()
            .map(|t| match t {
                ColumnType::Int64 => Builder::Int64(Int64Builder::with_capacity(rows)),
                ColumnType::Int32 => Builder::Int32(Int32Builder::with_capacity(rows)),
                ColumnType::Text => Builder::Text(StringBuilder::with_capacity(
                    rows,
                    rows * TEXT_BYTES_PER_ROW,
                )),
            })
            .collect();
        Columns {
            table,
            builders,
            next: 0,
            rows: 0,
        }
    }

    fn column(&mut self, wanted: ColumnType) -> Result<&mut Builder> {
        let (table, index) = (self.table, self.next);
        let Some(builder) = self.builders.get_mut(index) else {
            bail!("{table}: a row has more than {index} values");
        };
        let found = match builder {
            Builder::Int64(_) => ColumnType::Int64,
            Builder::Int32(_) => ColumnType::Int32,
            Builder::Text(_) => ColumnType::Text,
        };
        if found != wanted {
            bail!("{table}: column {index} holds {found:?}, not {wanted:?}");
        }
        self.next += 1;
        Ok(builder)
    }

    pub fn int64(&mut self, value: Option<i64>) -> Result<&mut Self> {
        if let Builder::Int64(b) = self.column(ColumnType::Int64)? {
            b.append_option(value);
        }
        Ok(self)
    }

    /// An `INTEGER` value; counts beyond its range are an error, not a wrapped number.
    pub fn int32(
        &mut self,
        value: impl TryInto<i32> + Copy + std::fmt::Display,
    ) -> Result<&mut Self> {
        let Ok(v) = value.try_into() else {
            bail!("{}: {value} does not fit an INTEGER column", self.table);
        };
        if let Builder::Int32(b) = self.column(ColumnType::Int32)? {
            b.append_value(v);
        }
        Ok(self)
    }

    pub fn text(&mut self, value: Option<&str>) -> Result<&mut Self> {
        if let Builder::Text(b) = self.column(ColumnType::Text)? {
            b.append_option(value);
        }
        Ok(self)
    }

    /// Closes a row; every column must have had its value.
    pub fn end_row(&mut self) -> Result<()> {
        if self.next != self.builders.len() {
            bail!(
                "{}: a row has {} values, the table {} columns",
                self.table,
                self.next,
                self.builders.len()
            );
        }
        self.next = 0;
        self.rows += 1;
        Ok(())
    }

    /// Appends the rows gathered so far to the table (DuckDB takes them in chunks of 2,048), and
    /// starts over. Call inside the caller's transaction.
    pub fn write(&mut self, conn: &Connection) -> Result<()> {
        if self.next != 0 {
            bail!("{}: the last row is incomplete", self.table);
        }
        if self.rows == 0 {
            return Ok(());
        }
        let arrays = self.builders.iter_mut().enumerate().map(|(i, b)| {
            let array: ArrayRef = match b {
                Builder::Int64(b) => Arc::new(b.finish()),
                Builder::Int32(b) => Arc::new(b.finish()),
                Builder::Text(b) => Arc::new(b.finish()),
            };
            (format!("c{i}"), array)
        });
        let batch = RecordBatch::try_from_iter(arrays)?;
        self.rows = 0;
        let mut app = conn.appender(self.table)?;
        app.append_record_batch(batch)?;
        app.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ColumnType::{Int32, Int64, Text};

    #[test]
    fn rows_arrive_in_the_table_with_their_nulls() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (a BIGINT, b INTEGER, c VARCHAR)")
            .unwrap();
        // Room for fewer rows than come: the buffers grow past it.
        let mut rows = Columns::with_rows("t", &[Int64, Int32, Text], 1_000);
        for i in 0..5_000i64 {
            let text = (i % 3 != 0).then(|| format!("row {i}"));
            rows.int64((i % 2 == 0).then_some(i))
                .unwrap()
                .int32(i as u32)
                .unwrap()
                .text(text.as_deref())
                .unwrap()
                .end_row()
                .unwrap();
        }
        rows.write(&conn).unwrap();
        let (count, sum_a, nulls_a, sum_b, nulls_c, last): (i64, i64, i64, i64, i64, String) = conn
            .query_row(
                "SELECT count(*), sum(a)::BIGINT, count(*) - count(a), sum(b)::BIGINT,
                        count(*) - count(c), max_by(c, b) FROM t",
                [],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .unwrap();
        assert_eq!(count, 5_000);
        assert_eq!(sum_a, (0..5_000).step_by(2).sum::<i64>());
        assert_eq!(nulls_a, 2_500);
        assert_eq!(sum_b, (0..5_000).sum::<i64>());
        assert_eq!(nulls_c, 1_667);
        assert_eq!(last, "row 4999");
        // Written rows are gone: a second write adds nothing.
        rows.write(&conn).unwrap();
        let count: i64 = conn
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 5_000);
    }

    fn message<T>(result: Result<T>) -> String {
        match result {
            Err(e) => e.to_string(),
            Ok(_) => panic!("expected an error"),
        }
    }

    #[test]
    fn a_row_that_does_not_fit_the_columns_is_an_error() {
        let mut rows = Columns::new("t", &[Int64, Int32]);
        let wrong_type = message(rows.text(Some("x")));
        assert_eq!(wrong_type, "t: column 0 holds Int64, not Text");
        rows.int64(Some(1)).unwrap();
        let too_big = message(rows.int32(u32::MAX));
        assert_eq!(too_big, "t: 4294967295 does not fit an INTEGER column");
        let short = message(rows.end_row());
        assert_eq!(short, "t: a row has 1 values, the table 2 columns");
        rows.int32(7).unwrap();
        let long = message(rows.int64(Some(2)));
        assert_eq!(long, "t: a row has more than 2 values");
        let conn = Connection::open_in_memory().unwrap();
        let incomplete = message(rows.write(&conn));
        assert_eq!(incomplete, "t: the last row is incomplete");
    }
}
