//! The normalized table: the one place that names its columns, their types and meanings, and builds
//! the Polars DataFrame from rows in one columnar pass.

mod stored;
mod text_column;

use polars::prelude::*;

use crate::model::{MappingRow, TechniqueStatus};
pub use stored::{project, take_rows, Columns, StoredTable};
pub use text_column::TextColumn;

/// The logical type of a column, as written to Parquet (and as CSV text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// UTF-8 string, nullable.
    String,
    /// List of UTF-8 strings (joined by newlines in CSV).
    StringList,
    /// Calendar date (Parquet `DATE`, CSV `YYYY-MM-DD`), nullable.
    Date,
    Boolean,
    /// Unsigned 32-bit integer.
    UInt32,
    /// Signed 64-bit integer: what every warehouse reads (BigQuery and older Spark have no unsigned types).
    Int64,
}

impl ColumnType {
    pub fn polars_dtype(self) -> DataType {
        match self {
            ColumnType::String => DataType::String,
            ColumnType::StringList => DataType::List(Box::new(DataType::String)),
            ColumnType::Date => DataType::Date,
            ColumnType::Boolean => DataType::Boolean,
            ColumnType::UInt32 => DataType::UInt32,
            ColumnType::Int64 => DataType::Int64,
        }
    }

    /// The type a warehouse gets: unsigned integers widen to `Int64`, the rest is unchanged.
    pub fn portable(self) -> ColumnType {
        match self {
            ColumnType::UInt32 => ColumnType::Int64,
            other => other,
        }
    }

    /// The name used in `schemas/mappings.schema.json` and the README.
    pub fn schema_name(self) -> &'static str {
        match self {
            ColumnType::String => "string",
            ColumnType::StringList => "list<string>",
            ColumnType::Date => "date",
            ColumnType::Boolean => "boolean",
            ColumnType::UInt32 => "uint32",
            ColumnType::Int64 => "int64",
        }
    }
}

/// A column of the table (or of a warehouse table).
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub column_type: ColumnType,
    pub nullable: bool,
    pub description: &'static str,
}

pub const fn column(name: &'static str, column_type: ColumnType, nullable: bool, description: &'static str) -> Column {
    Column {
        name,
        column_type,
        nullable,
        description,
    }
}

use ColumnType::{Boolean, Date as DateType, String as Text, StringList, UInt32};

/// The grain of the table: the columns whose values name one mapping (`mapping_id` is their UUIDv5).
pub const GRAIN_COLUMNS: &[&str] = &[
    "framework",
    "framework_version",
    "attack_version",
    "domain",
    "capability_id",
    "attack_object_id",
    "mapping_type",
    "score_category",
];

/// Every column, in output order.
pub const COLUMNS: &[Column] = &[
    column("mapping_id", Text, false, "UUIDv5 of the grain key (framework, framework_version, attack_version, domain, capability_id, attack_object_id, mapping_type, score_category): the primary key"),
    column("framework", Text, false, "Canonical framework id of the mapping files (nist_800_53, cri_profile, aws, azure, gcp, m365, kev, veris …)"),
    column("framework_version", Text, false, "Framework version; dates written MM.DD.YYYY as on the site (rev5, v2.1, 12.12.2024)"),
    column("attack_version", Text, false, "ATT&CK version (16.1)"),
    column("domain", Text, false, "ATT&CK domain: enterprise, mobile or ics"),
    column("capability_id", Text, true, "Id of the control, capability or vulnerability; null on non-mappable techniques"),
    column("capability_description", Text, true, "Its name or description"),
    column("capability_group", Text, true, "Key of its capability group (mapping files only)"),
    column("capability_group_name", Text, true, "Display name of the capability group"),
    column("mapping_type", Text, true, "Canonical mapping type key: mitigates, technique_scores, related_to, primary_impact, secondary_impact, exploitation_technique, non_mappable …"),
    column("mapping_type_label", Text, true, "The mapping type as the source wrote or displayed it"),
    column("attack_object_id", Text, true, "ATT&CK technique id (T1562, T1562.001); null on non-mappable capabilities"),
    column("attack_object_name", Text, true, "ATT&CK technique name"),
    column("score_category", Text, true, "Security stacks: protect, detect or respond"),
    column("score_value", Text, true, "Security stacks: minimal, partial or significant (the highest of repeats)"),
    column("related_score", Text, true, "For a sub-technique, the parent technique its score relates to"),
    column("non_mappable", Boolean, false, "True when the row maps nothing: no capability, no technique, or marked non-mappable"),
    column("status", Text, true, "complete, in_progress or non_mappable (mapping files only)"),
    column("comments", Text, true, "Distinct non-empty comments of the collapsed source rows, in source order, separated by a blank line"),
    column("references", StringList, false, "Union of the source rows' reference URLs, in source order (newline-separated in CSV)"),
    column("creation_date", DateType, true, "Creation date of the mapping file"),
    column("last_update", DateType, true, "Last update of the mapping file"),
    column("source_kind", Text, false, "Kind of source that supplied the row: mapping_file, all_data_page, landing_page, technique_page, capability_page"),
    column("source", Text, false, "The first file the row came from, relative to the input it was found under (for raw/, its site path): the same on any machine and wherever raw/ lives"),
    column("occurrences", UInt32, false, "How many source rows collapsed into this one"),
    column("score_values", StringList, false, "Security stacks: every distinct score value of the collapsed source rows, in source order; more than one is a score conflict (score_value holds the highest)"),
    column("technique_status", Text, true, "What the run's ATT&CK catalogue says of the technique: live, revoked, deprecated, other_domain (a technique of another domain of the version) or unknown; null without a catalogue for the dataset's ATT&CK version and domain, or without a technique"),
    column("carry", Text, true, "On a derived dataset (--carry-to), how the row was carried from its official dataset's ATT&CK release: unchanged (live in both), replaced (revoked; the row names the live technique its revoked-by chain ends at), dropped_deprecated, dropped_revoked (revoked with no live replacement) or dropped_unknown (in no technique of the target release); dropped rows are in no layer. Null on official rows"),
    column("derived_from", Text, true, "On a derived dataset, the ATT&CK version of the official dataset it was carried from; null on official rows"),
    column("original_attack_object_id", Text, true, "On a derived dataset, the technique the official row names (attack_object_id may name its replacement); null on official rows"),
    column("attack_changes", StringList, true, "On a derived dataset, ATT&CK's own changes to the row's technique between the two releases: moved_tactic, became_sub_technique, renamed (empty when none); null on official rows"),
];

/// A `list<string>` column from one slice of strings per row (typed even when every list is empty).
pub fn string_lists<'a, S: AsRef<str> + 'a>(name: &str, lists: impl Iterator<Item = &'a [S]>) -> PolarsResult<Series> {
    let rows = lists.size_hint().0;
    let mut builder = ListStringChunkedBuilder::new(name.into(), rows, rows);
    for list in lists {
        builder.append_values_iter(list.iter().map(AsRef::as_ref));
    }
    Ok(builder.finish().into_series())
}

/// The `attack_changes` column: null on official rows, the list (maybe empty) on derived ones.
fn attack_changes(rows: &[MappingRow]) -> PolarsResult<Series> {
    let mut builder = ListStringChunkedBuilder::new("attack_changes".into(), rows.len(), rows.len());
    for row in rows {
        match &row.carry {
            Some(carry) => builder.append_values_iter(carry.attack_changes.iter().map(|c| c.as_str())),
            None => builder.append_null(),
        }
    }
    Ok(builder.finish().into_series())
}

/// The schema of a frame of `columns`, from their definitions: no frame is built (polars builds an
/// empty column of some types from 8 MiB of zeroes it allocates and fills on first use).
pub fn schema_of(columns: &[Column]) -> SchemaRef {
    let fields = columns
        .iter()
        .map(|column| Field::new(column.name.into(), column.column_type.polars_dtype()));
    SchemaRef::new(fields.collect())
}

/// A frame whose columns are named and typed by their definitions: `values[i]` becomes `columns[i]`.
pub fn frame_of(columns: &[Column], values: Vec<Series>) -> PolarsResult<DataFrame> {
    assert_eq!(columns.len(), values.len(), "one series per column");
    let height = values.first().map_or(0, |series| series.len());
    let typed = columns
        .iter()
        .zip(values)
        .map(|(column, series)| {
            let mut series = series.cast(&column.column_type.polars_dtype())?;
            series.rename(column.name.into());
            Ok(series.into())
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new(height, typed)
}

/// Builds the table from deduplicated rows, column by column.
pub fn to_dataframe(rows: &[MappingRow]) -> PolarsResult<DataFrame> {
    let text = |name: &str, get: &dyn Fn(&MappingRow) -> Option<&str>| -> polars::prelude::Column {
        TextColumn::of_shared(name, rows.iter().map(get))
    };
    // Made a date column as it is, not cast from integers: polars casts a column of nulls (a dataset
    // without dates) through 8 MiB of zeroes it allocates and fills on first use.
    let date = |name: &str, get: &dyn Fn(&MappingRow) -> Option<i32>| -> PolarsResult<polars::prelude::Column> {
        let days: Int32Chunked = rows.iter().map(get).collect();
        Ok(days.with_name(name.into()).into_date().into_series().into())
    };
    let references = string_lists("references", rows.iter().map(|r| r.references.as_slice()))?;
    // A row's one comment is its shared text; only several are joined into a text of the row's own.
    let joined_comments: Vec<Option<std::borrow::Cow<str>>> = rows
        .iter()
        .map(|r| match r.comments.as_slice() {
            [] => None,
            [comment] => Some(std::borrow::Cow::Borrowed(&**comment)),
            several => Some(std::borrow::Cow::Owned(several.join("\n\n"))),
        })
        .collect();

    let columns = vec![
        Series::new(
            "mapping_id".into(),
            rows.iter().map(|r| r.mapping_id()).collect::<Vec<_>>(),
        )
        .into(),
        text("framework", &|r| Some(&r.framework)),
        text("framework_version", &|r| Some(&r.framework_version)),
        text("attack_version", &|r| Some(&r.attack_version)),
        text("domain", &|r| Some(&r.domain)),
        text("capability_id", &|r| r.capability_id.as_deref()),
        text("capability_description", &|r| r.capability_description.as_deref()),
        text("capability_group", &|r| r.capability_group.as_deref()),
        text("capability_group_name", &|r| r.capability_group_name.as_deref()),
        text("mapping_type", &|r| r.mapping_type.as_deref()),
        text("mapping_type_label", &|r| r.mapping_type_label.as_deref()),
        text("attack_object_id", &|r| r.attack_object_id.as_deref()),
        text("attack_object_name", &|r| r.attack_object_name.as_deref()),
        text("score_category", &|r| r.score_category.as_deref()),
        text("score_value", &|r| r.score_value.as_deref()),
        text("related_score", &|r| r.related_score.as_deref()),
        Series::new(
            "non_mappable".into(),
            rows.iter().map(MappingRow::is_non_mappable).collect::<Vec<_>>(),
        )
        .into(),
        text("status", &|r| r.status.as_deref()),
        TextColumn::of_shared("comments", joined_comments.iter().map(Option::as_deref)),
        references.into(),
        date("creation_date", &|r| r.creation_date.map(|d| d.days_since_epoch()))?,
        date("last_update", &|r| r.last_update.map(|d| d.days_since_epoch()))?,
        text("source_kind", &|r| r.source_kind.map(|k| k.as_str())),
        text("source", &|r| Some(&r.source)),
        Series::new(
            "occurrences".into(),
            rows.iter().map(|r| r.occurrences).collect::<Vec<_>>(),
        )
        .into(),
        string_lists("score_values", rows.iter().map(|r| r.score_values.as_slice()))?.into(),
        text("technique_status", &|r| {
            r.technique_status.as_ref().map(TechniqueStatus::as_str)
        }),
        text("carry", &|r| r.carry.as_ref().map(|c| c.kind.as_str())),
        text("derived_from", &|r| r.carry.as_ref().map(|c| c.derived_from.as_str())),
        text("original_attack_object_id", &|r| {
            r.carry.as_ref().and_then(|c| c.original_technique.as_deref())
        }),
        attack_changes(rows)?.into(),
    ];
    debug_assert_eq!(columns.len(), COLUMNS.len());
    DataFrame::new(rows.len(), columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dataframe_has_the_documented_columns_and_types() {
        let row = MappingRow {
            framework: "nist_800_53".into(),
            capability_id: Some("SC-08".into()),
            attack_object_id: Some("T1562".into()),
            references: vec!["https://example.org".into()],
            occurrences: 2,
            ..MappingRow::default()
        };
        let frame = to_dataframe(&[
            row.clone(),
            MappingRow {
                references: vec![],
                ..row
            },
        ])
        .unwrap();
        let names: Vec<&str> = frame.get_column_names().iter().map(|n| n.as_str()).collect();
        let documented: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
        assert_eq!(names, documented);
        assert_eq!(frame.schema(), &schema_of(COLUMNS));
        assert_eq!(to_dataframe(&[]).unwrap().schema(), &schema_of(COLUMNS));
        for (column, documented) in frame.columns().iter().zip(COLUMNS) {
            assert_eq!(
                column.dtype(),
                &documented.column_type.polars_dtype(),
                "{}",
                documented.name
            );
        }
    }
}
