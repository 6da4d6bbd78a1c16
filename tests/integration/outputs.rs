//! The written files: RFC 4180 CSV with a fixed column order, Parquet with the documented types,
//! byte-identical across runs and argument orders.

use polars::prelude::*;

use crate::helpers::*;

fn every_fixture() -> Vec<std::path::PathBuf> {
    vec![fixture("site"), fixture("traps"), fixture("mapping-files")]
}

#[test]
fn two_builds_of_the_same_input_are_byte_identical() {
    let first = build(&every_fixture());
    let mut reversed = every_fixture();
    reversed.reverse();
    let second = build(&reversed);
    first.assert_succeeded();
    let files = files_under(first.out.path());
    for dir in ["stix/", "navigator/", "warehouse/mappings/", "warehouse/techniques/"] {
        assert!(
            files.iter().any(|f| f.to_string_lossy().starts_with(dir)),
            "{dir} has exports"
        );
    }
    assert_eq!(files, files_under(second.out.path()));
    for file in &files {
        let file = file.to_string_lossy();
        assert_eq!(first.bytes(&file), second.bytes(&file), "{file} differs between runs");
    }
}

#[test]
fn the_csv_header_is_the_documented_column_order() {
    let built = build(&every_fixture());
    let csv = String::from_utf8(built.bytes("mappings.csv")).unwrap();
    let header = csv.split("\r\n").next().unwrap();
    let documented: Vec<&str> = attackmap::table::COLUMNS.iter().map(|c| c.name).collect();
    assert_eq!(header, documented.join(","));
}

#[test]
fn csv_quotes_fields_with_newlines_and_quotes_and_reads_back_whole() {
    let built = build(&every_fixture());
    let csv = String::from_utf8(built.bytes("mappings.csv")).unwrap();
    assert!(
        csv.contains("reporting, so the score is Partial.\""),
        "a multi-paragraph comment is one quoted field"
    );
    assert!(
        csv.contains("\"\"Detect the use of insecure network services"),
        "quotes inside a field are doubled"
    );
    let reread = CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(built.file("mappings.csv")))
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(reread.height(), built.table().height());
    assert_eq!(reread.width(), attackmap::table::COLUMNS.len());
}

#[test]
fn the_parquet_file_reads_back_with_the_documented_types() {
    let built = build(&every_fixture());
    let table = built.table();
    for (column, documented) in table.columns().iter().zip(attackmap::table::COLUMNS) {
        assert_eq!(column.name().as_str(), documented.name);
        assert_eq!(
            column.dtype(),
            &documented.column_type.polars_dtype(),
            "{}",
            documented.name
        );
    }
    let ids = table.column("mapping_id").unwrap();
    assert_eq!(ids.n_unique().unwrap(), table.height(), "mapping_id is a key");
}

#[test]
fn the_schema_file_documents_every_column_in_order() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/mappings.schema.json")).unwrap(),
    )
    .unwrap();
    let documented: Vec<(&str, &str)> = schema["x-columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["type"].as_str().unwrap()))
        .collect();
    let code: Vec<(&str, &str)> = attackmap::table::COLUMNS
        .iter()
        .map(|c| (c.name, c.column_type.schema_name()))
        .collect();
    assert_eq!(documented, code);
}
