//! Writes a table as one Parquet file: zstd, full statistics, and the Arrow types every reader knows;
//! whole ([`write`]) or a chunk of rows at a time ([`Appender`]).
//!
//! Polars writes its strings as Arrow `string_view` and its lists as `large_list<string_view>` in the
//! Arrow schema it keeps in the file (`ARROW:schema`), and pandas, older pyarrow and Spark's Arrow
//! path cannot read those. The schema written here is Polars' oldest compatibility level instead:
//! `large_string` and `large_list<large_string>`. The Parquet columns themselves are the same
//! (UTF-8 byte arrays, lists): only the reader's Arrow type changes, and nothing is lost.
//!
//! The bytes are those of Polars' `ParquetWriter` (its encoder, page sizes, dictionaries and
//! statistics, per row group); only the row groups are chosen here. A frame written whole is split
//! as Polars splits it: `height / 512²` row groups of equal size (at least one), the last taking
//! the rest, so up to 524,287 rows are one row group. An [`Appender`] does not know the height
//! until the end, so it writes row groups of [`ROW_GROUP_ROWS`] rows as they fill, the last one
//! shorter: the same file for a table of at most 262,144 rows (or a multiple of it), other row
//! groups above that.

use std::path::{Path, PathBuf};

use polars::prelude::*;
use polars_parquet::write::{
    array_to_columns, compress, get_dtype_encoding, row_group_iter, schema_to_metadata_key, CompressedPage,
    CompressionOptions, DynIter, DynStreamingIterator, Encoding, FallibleStreamingIterator, FileWriter, KeyValue,
    ParquetType, RowGroupIterColumns, StatisticsOptions, Version, WriteOptions,
};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::fs::StagedFile;

/// The key under which Parquet files carry their Arrow schema.
const ARROW_SCHEMA_KEY: &str = "ARROW:schema";

/// The rows of a row group an [`Appender`] writes (the last may be shorter): Polars' default size.
pub const ROW_GROUP_ROWS: usize = 512 * 512;

pub fn write(frame: &DataFrame, path: &Path) -> Result<()> {
    write_with_metadata(frame, path, &[])
}

/// Like [`write`], with key-value pairs in the file's footer. The frame is written as one chunk
/// split as Polars splits it, so the row groups (and so the bytes) do not depend on how the frame
/// was assembled.
pub fn write_with_metadata(frame: &DataFrame, path: &Path, metadata: &[(&str, &str)]) -> Result<()> {
    let mut whole = frame.clone();
    whole.rechunk_mut();
    write_by_row_group(path, frame.schema(), metadata, frame.height(), |start, rows| {
        Ok(whole.slice(start as i64, rows))
    })
}

/// Writes the file [`write_with_metadata`] writes for a frame of `height` rows, asking `rows(start,
/// count)` for each row group's rows in turn: the same bytes, and no more than a row group held.
pub fn write_by_row_group(
    path: &Path,
    schema: &SchemaRef,
    metadata: &[(&str, &str)],
    height: usize,
    mut rows: impl FnMut(usize, usize) -> Result<DataFrame>,
) -> Result<()> {
    let mut appender = Appender::with_metadata(path, schema, metadata)?;
    let mut start = 0;
    for count in row_group_sizes_as_polars(height) {
        let mut row_group = rows(start, count)?;
        if row_group.height() != count || row_group.schema() != schema {
            return Err(appender.failed(format!(
                "a row group of {count} rows and the file's columns was asked, {} rows of {:?} came",
                row_group.height(),
                row_group.get_column_names()
            )));
        }
        row_group.rechunk_mut();
        appender.write_row_group(&row_group, Encoded::Streamed)?;
        start += count;
    }
    appender.finish()
}

/// Polars' `ParquetWriter::finish` on a frame of one chunk: `height / 512²` row groups (at least
/// one), each `height / count` rows but the last, which takes the rest.
fn row_group_sizes_as_polars(height: usize) -> Vec<usize> {
    let count = (height / ROW_GROUP_ROWS).max(1);
    let rows = height / count;
    let mut sizes = vec![rows; count - 1];
    sizes.push(height - rows * (count - 1));
    sizes
}

/// Writes a Parquet file a chunk of rows at a time: what is appended is kept until it fills a row
/// group of [`ROW_GROUP_ROWS`] rows, which is then written; [`Appender::finish`] writes the rest and
/// the footer. The file is staged: it appears at its path at `finish`, and an appender dropped
/// before leaves the path as it was.
pub struct Appender {
    path: PathBuf,
    writer: FileWriter<StagedFile>,
    schema: SchemaRef,
    /// Per column, the Parquet encodings Polars chooses for its type.
    encodings: Vec<Vec<Encoding>>,
    columns: Vec<ParquetType>,
    footer: Vec<KeyValue>,
    /// Rows appended and not yet written, fewer than [`ROW_GROUP_ROWS`] (slices of the chunks).
    pending: Vec<DataFrame>,
    pending_rows: usize,
}

impl Appender {
    /// Starts the file at `path` for frames of `schema`.
    pub fn new(path: &Path, schema: &SchemaRef) -> Result<Appender> {
        Appender::with_metadata(path, schema, &[])
    }

    /// Like [`Appender::new`], with key-value pairs in the file's footer (after the Arrow schema).
    pub fn with_metadata(path: &Path, schema: &SchemaRef, metadata: &[(&str, &str)]) -> Result<Appender> {
        let file = StagedFile::create(path)?;
        let arrow_schema = schema.to_arrow(CompatLevel::newest());
        let encodings = arrow_schema
            .iter_values()
            .map(|field| get_dtype_encoding(&field.dtype))
            .collect();
        let mut footer = vec![KeyValue {
            key: ARROW_SCHEMA_KEY.to_string(),
            value: Some(portable_arrow_schema(schema)),
        }];
        footer.extend(metadata.iter().map(|(key, value)| KeyValue {
            key: key.to_string(),
            value: Some(value.to_string()),
        }));
        let options = WriteOptions {
            statistics: StatisticsOptions::full(),
            compression: CompressionOptions::Zstd(None),
            version: Version::V1,
            data_page_size: None,
        };
        let writer = FileWriter::try_new(file, arrow_schema, options).map_err(|e| failed(path, e))?;
        let columns = writer.parquet_schema().fields().to_vec();
        Ok(Appender {
            path: path.to_path_buf(),
            writer,
            schema: schema.clone(),
            encodings,
            columns,
            footer,
            pending: Vec::new(),
            pending_rows: 0,
        })
    }

    /// Adds the rows of `chunk`, whose columns must be the file's (names, types, order), writing
    /// each row group they fill.
    pub fn append(&mut self, chunk: &DataFrame) -> Result<()> {
        if chunk.schema() != &self.schema {
            return Err(self.failed(format!(
                "a chunk's columns {:?} are not the file's {:?}",
                chunk.get_column_names(),
                self.schema.iter_names().collect::<Vec<_>>()
            )));
        }
        let mut rest = chunk.clone();
        while self.pending_rows + rest.height() >= ROW_GROUP_ROWS {
            let (filling, after) = rest.split_at((ROW_GROUP_ROWS - self.pending_rows) as i64);
            self.pending.push(filling);
            self.write_pending(Encoded::Streamed)?;
            rest = after;
        }
        if rest.height() > 0 {
            self.pending_rows += rest.height();
            self.pending.push(rest);
        }
        Ok(())
    }

    /// Writes the rows still pending as the last row group, then the footer, and puts the file at
    /// its path.
    pub fn finish(mut self) -> Result<()> {
        self.write_pending(Encoded::OnEveryCore)?;
        let footer = std::mem::take(&mut self.footer);
        self.writer.end(Some(footer)).map_err(|e| self.failed(e))?;
        self.writer.into_inner().put_in_place()
    }

    /// Writes the pending rows as one row group (nothing when none are pending).
    fn write_pending(&mut self, encoded: Encoded) -> Result<()> {
        let mut pieces = std::mem::take(&mut self.pending).into_iter();
        self.pending_rows = 0;
        let Some(mut row_group) = pieces.next() else {
            return Ok(());
        };
        for piece in pieces {
            row_group.vstack_mut_owned(piece).map_err(|e| self.failed(e))?;
        }
        row_group.rechunk_mut();
        self.write_row_group(&row_group, encoded)
    }

    /// Writes `frame`, of one chunk, as one row group, encoded as Polars' `ParquetWriter` encodes it.
    fn write_row_group(&mut self, frame: &DataFrame, encoded: Encoded) -> Result<()> {
        let options = self.writer.options();
        for batch in frame.iter_chunks(CompatLevel::newest(), false) {
            let rows = batch.len() as u64;
            if rows == 0 {
                continue;
            }
            let columns = match encoded {
                Encoded::Streamed => {
                    row_group_iter(batch, self.encodings.clone().into(), self.columns.clone(), options)
                }
                Encoded::OnEveryCore => {
                    encoded_on_every_core(batch.into_arrays(), &self.encodings, &self.columns, options)
                        .map_err(|e| self.failed(e))?
                }
            };
            self.writer.write(rows, columns).map_err(|e| self.failed(e))?;
        }
        Ok(())
    }

    fn failed(&self, reason: impl std::fmt::Display) -> Error {
        failed(&self.path, reason)
    }
}

/// How a row group's columns are encoded: the same pages either way.
#[derive(Clone, Copy)]
enum Encoded {
    /// One column after the other as the file takes them, on the appender's thread: while datasets
    /// are still being made, and the worker pool is busy with them (a 100x build was 1-6 % slower
    /// with every row group encoded on the pool, and held 20 MB more).
    Streamed,
    /// A column per core ([`encoded_on_every_core`]): the last row group, at the end of a build.
    OnEveryCore,
}

/// Each of `arrays` encoded and compressed into its pages, the columns side by side on the worker
/// pool: the pages Polars' `row_group_iter` makes, in its order, where it makes them one column
/// after the other as they are written (the 11 mapping files' table is one row group, 20-30 ms at
/// the end of a build on one core).
fn encoded_on_every_core(
    arrays: Vec<ArrayRef>,
    encodings: &[Vec<Encoding>],
    fields: &[ParquetType],
    options: WriteOptions,
) -> PolarsResult<RowGroupIterColumns<'static, PolarsError>> {
    let columns: Vec<Vec<Vec<CompressedPage>>> = arrays
        .into_par_iter()
        .zip(fields.par_iter().zip(encodings))
        .map(|(array, (field, encoding))| {
            array_to_columns(array, field.clone(), options, encoding)?
                .into_iter()
                .map(|pages| {
                    pages
                        .map(|page| Ok(compress(page?, Vec::new(), options.compression)?))
                        .collect::<PolarsResult<Vec<CompressedPage>>>()
                })
                .collect()
        })
        .collect::<PolarsResult<_>>()?;
    let leaves = columns.into_iter().flatten().map(|pages| {
        Ok(DynStreamingIterator::new(Made {
            pages: pages.into_iter(),
            current: None,
        }))
    });
    Ok(DynIter::new(leaves))
}

/// The pages of a column already made, given to the file writer one at a time.
struct Made {
    pages: std::vec::IntoIter<CompressedPage>,
    current: Option<CompressedPage>,
}

impl FallibleStreamingIterator for Made {
    type Item = CompressedPage;
    type Error = PolarsError;

    fn advance(&mut self) -> PolarsResult<()> {
        self.current = self.pages.next();
        Ok(())
    }

    fn get(&self) -> Option<&CompressedPage> {
        self.current.as_ref()
    }
}

fn failed(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::WriteOutput {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// The frame's Arrow schema at Polars' oldest compatibility level (`large_string`, `large_list`),
/// encoded as Parquet files carry it.
fn portable_arrow_schema(schema: &Schema) -> String {
    let schema = schema.to_arrow(CompatLevel::oldest());
    schema_to_metadata_key(&schema).value.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::to_dataframe;
    use crate::test_support::{cut, varied_rows};

    /// The bytes `write_with_metadata` gave before appenders: the whole frame, one chunk, through
    /// Polars' `ParquetWriter`.
    fn written_whole_by_polars(frame: &DataFrame, metadata: &[(&str, &str)]) -> Vec<u8> {
        let mut pairs = vec![(ARROW_SCHEMA_KEY.to_string(), portable_arrow_schema(frame.schema()))];
        pairs.extend(metadata.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let mut frame = frame.clone();
        frame.rechunk_mut();
        let mut bytes = Vec::new();
        ParquetWriter::new(&mut bytes)
            .with_compression(ParquetCompression::Zstd(None))
            .with_statistics(StatisticsOptions::full())
            .with_key_value_metadata(Some(KeyValueMetadata::from_static(pairs)))
            .finish(&mut frame)
            .unwrap();
        bytes
    }

    /// The file an appender writes of `chunks`, in order.
    fn appended(chunks: &[DataFrame], schema: &SchemaRef, metadata: &[(&str, &str)]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mappings.parquet");
        let mut appender = Appender::with_metadata(&path, schema, metadata).unwrap();
        for chunk in chunks {
            appender.append(chunk).unwrap();
        }
        appender.finish().unwrap();
        std::fs::read(&path).unwrap()
    }

    fn written_whole(frame: &DataFrame) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mappings.parquet");
        write(frame, &path).unwrap();
        std::fs::read(&path).unwrap()
    }

    fn row_group_sizes(bytes: &[u8]) -> Vec<usize> {
        let metadata = polars_parquet::read::read_metadata(&mut std::io::Cursor::new(bytes)).unwrap();
        metadata.row_groups.iter().map(|group| group.num_rows()).collect()
    }

    fn read_back(bytes: &[u8]) -> DataFrame {
        ParquetReader::new(std::io::Cursor::new(bytes)).finish().unwrap()
    }

    /// A frame of `rows` rows that is quick to build at hundreds of thousands: a text of each row's
    /// own (plain-encoded, pages of a megabyte), a repeated one (a dictionary), a count, a list
    /// and nulls.
    fn numbered(rows: usize) -> DataFrame {
        let ids: Vec<String> = (0..rows).map(|n| format!("row-{n:08}")).collect();
        let kinds: Vec<Option<&str>> = (0..rows)
            .map(|n| (n % 5 != 0).then(|| ["a", "b", "c"][n % 3]))
            .collect();
        let counts: Vec<u32> = (0..rows).map(|n| (n % 1_000) as u32).collect();
        let tags = crate::table::string_lists("tags", (0..rows).map(|n| &["x", "y"][..n % 3])).unwrap();
        DataFrame::new(
            rows,
            vec![
                Series::new("id".into(), ids).into(),
                Series::new("kind".into(), kinds).into(),
                Series::new("count".into(), counts).into(),
                tags.into(),
            ],
        )
        .unwrap()
    }

    #[test]
    fn the_table_appended_a_dataset_at_a_time_is_the_table_written_whole() {
        let rows = varied_rows(5_000);
        let whole = to_dataframe(&rows).unwrap();
        let datasets = rows.chunk_by(|a, b| a.framework == b.framework);
        let chunks: Vec<DataFrame> = datasets.map(|rows| to_dataframe(rows).unwrap()).collect();
        assert_eq!(chunks.len(), 3);
        let polars = written_whole_by_polars(&whole, &[]);
        assert_eq!(appended(&chunks, whole.schema(), &[]), polars);
        assert_eq!(written_whole(&whole), polars);
        assert_eq!(read_back(&polars), whole);
        let metadata = [("attackmap.table", "mappings"), ("attackmap.schema_version", "7")];
        assert_eq!(
            appended(&cut(&whole, &[0, 1, 2_000]), whole.schema(), &metadata),
            written_whole_by_polars(&whole, &metadata)
        );
    }

    #[test]
    fn a_table_without_rows_is_the_file_polars_writes() {
        let empty = to_dataframe(&[]).unwrap();
        let polars = written_whole_by_polars(&empty, &[]);
        assert_eq!(appended(&[], empty.schema(), &[]), polars);
        assert_eq!(appended(std::slice::from_ref(&empty), empty.schema(), &[]), polars);
        assert_eq!(read_back(&polars).schema(), empty.schema());
    }

    #[test]
    fn up_to_one_row_group_of_rows_the_bytes_do_not_depend_on_the_chunks() {
        let whole = numbered(ROW_GROUP_ROWS);
        let polars = written_whole_by_polars(&whole, &[]);
        assert_eq!(row_group_sizes(&polars), [ROW_GROUP_ROWS]);
        assert_eq!(
            appended(&cut(&whole, &[100_000, 0, 62_144]), whole.schema(), &[]),
            polars
        );
        let shorter = whole.slice(0, ROW_GROUP_ROWS - 1);
        assert_eq!(
            appended(&cut(&shorter, &[1, 200_000]), shorter.schema(), &[]),
            written_whole_by_polars(&shorter, &[])
        );
    }

    #[test]
    fn above_one_row_group_an_appender_fills_row_groups_and_a_whole_write_splits_as_polars() {
        let rows = 2 * ROW_GROUP_ROWS + 75_712;
        let whole = numbered(rows);
        // Polars, knowing the height, makes two equal row groups.
        let polars = written_whole_by_polars(&whole, &[]);
        assert_eq!(row_group_sizes(&polars), [300_000, 300_000]);
        assert_eq!(written_whole(&whole), polars);
        // An appender fills row groups of 512² rows as the chunks come, the last one shorter;
        // whatever the chunks, the file is the same, and it reads back as the table.
        let appended_bytes = appended(&cut(&whole, &[10, 400_000, 0, 100_000]), whole.schema(), &[]);
        assert_eq!(
            row_group_sizes(&appended_bytes),
            [ROW_GROUP_ROWS, ROW_GROUP_ROWS, 75_712]
        );
        assert_eq!(
            appended(&cut(&whole, &[ROW_GROUP_ROWS]), whole.schema(), &[]),
            appended_bytes
        );
        assert_eq!(read_back(&appended_bytes), whole);
    }

    #[test]
    fn a_file_written_a_row_group_at_a_time_splits_as_polars_and_reads_back_as_the_table() {
        let rows = 2 * ROW_GROUP_ROWS + 75_712;
        let whole = numbered(rows);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feed.parquet");
        let mut asked = Vec::new();
        write_by_row_group(&path, whole.schema(), &[], rows, |start, count| {
            asked.push((start, count));
            // Gathered afresh, as a change feed's rows are.
            let positions = IdxCa::from_vec("rows".into(), (start as IdxSize..(start + count) as IdxSize).collect());
            Ok(whole.take(&positions).unwrap())
        })
        .unwrap();
        assert_eq!(asked, [(0, 300_000), (300_000, 300_000)]);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(row_group_sizes(&bytes), row_group_sizes(&written_whole(&whole)));
        assert_eq!(read_back(&bytes), whole);

        let short = write_by_row_group(&path, whole.schema(), &[], 10, |_, _| Ok(whole.head(Some(9))));
        let message = short.unwrap_err().to_string();
        assert!(
            message.contains("feed.parquet") && message.contains("10 rows"),
            "{message}"
        );
    }

    #[test]
    fn an_appender_is_written_from_whichever_thread_holds_it() {
        let whole = numbered(1_000);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mappings.parquet");
        let mut appender = Appender::new(&path, whole.schema()).unwrap();
        std::thread::scope(|scope| scope.spawn(|| appender.append(&whole)).join().unwrap()).unwrap();
        std::thread::spawn(move || appender.finish()).join().unwrap().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), written_whole_by_polars(&whole, &[]));
    }

    #[test]
    fn an_unfinished_file_is_never_left_and_the_previous_one_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mappings.parquet");
        std::fs::write(&path, "the previous run's").unwrap();
        let table = to_dataframe(&varied_rows(10)).unwrap();

        let mut given_up = Appender::new(&path, table.schema()).unwrap();
        given_up.append(&table).unwrap();
        drop(given_up);

        let mut refused = Appender::new(&path, table.schema()).unwrap();
        let error = refused.append(&numbered(3)).unwrap_err().to_string();
        assert!(
            error.contains("mappings.parquet") && error.contains("columns"),
            "{error}"
        );
        drop(refused);

        assert_eq!(std::fs::read_to_string(&path).unwrap(), "the previous run's");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }
}
