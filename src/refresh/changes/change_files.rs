//! `changes.json` and `changes.csv`: the changes of a run, as the files publish them.

use std::path::Path;

use polars::prelude::*;

use crate::changes::Changes;
use crate::error::Result;
use crate::sinks::csv::CsvOptions;
use crate::sinks::write_json;

/// The columns that name a mapping in the change files, besides its id.
use crate::table::GRAIN_COLUMNS as KEY_COLUMNS;

/// Writes `changes.json` and `changes.csv` (one line per change; changed columns `;`-separated).
pub fn write(changes: &Changes, json_path: &Path, csv_path: &Path, csv: CsvOptions) -> Result<()> {
    write_json(json_path, changes)?;
    let mut columns: Vec<Column> = vec![
        Series::new(
            "change".into(),
            changes.changes.iter().map(|c| c.change.as_str()).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            "mapping_id".into(),
            changes
                .changes
                .iter()
                .map(|c| c.mapping_id.as_str())
                .collect::<Vec<_>>(),
        )
        .into(),
    ];
    for key in KEY_COLUMNS {
        let values: Vec<Option<&str>> = changes.changes.iter().map(|c| c.key.get(key)).collect();
        columns.push(Series::new((*key).into(), values).into());
    }
    columns.push(
        Series::new(
            "changed_columns".into(),
            changes.changes.iter().map(|c| c.columns.join(";")).collect::<Vec<_>>(),
        )
        .into(),
    );
    columns.push(
        Series::new(
            "move".into(),
            changes
                .changes
                .iter()
                .map(|c| c.moved.map_or("", |m| m.as_str()))
                .collect::<Vec<_>>(),
        )
        .into(),
    );
    let frame = DataFrame::new(changes.changes.len(), columns)?;
    crate::sinks::csv::write(&frame, csv_path, csv)
}
