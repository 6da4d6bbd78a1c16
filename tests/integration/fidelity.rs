//! The table keeps what the mapping files publish: a comment's line breaks, and every score value
//! of a conflict, not just the one that wins.

use serde_json::{json, Value};

use crate::helpers::*;

const ACME: &str = "mapping-files/acme_stack-1.0_attack-16.1-enterprise.json";

#[test]
fn a_comment_from_a_mapping_file_keeps_its_line_breaks_and_only_its_ends_are_trimmed() {
    let comment = "License Requirements:\n  - Microsoft Defender for Office 365 Plan 1\n  - Microsoft 365 E5";
    let mut file: Value = serde_json::from_slice(&std::fs::read(fixture(ACME)).unwrap()).unwrap();
    file["mapping_objects"][0]["comments"] = json!(format!("\n   {comment}  \n"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acme.json");
    std::fs::write(&path, file.to_string()).unwrap();
    let table = build(&[path]).table();
    let comments = strings(&table, "comments");
    let row = rows_of(&table, "cap-a")[0];
    assert!(
        comments[row].as_deref().unwrap().starts_with(comment),
        "{:?}",
        comments[row]
    );
}

#[test]
fn a_score_conflict_keeps_every_value_and_the_report_names_the_mapping() {
    let built = build(&[fixture(ACME)]);
    let table = built.table();
    let row = rows_of(&table, "cap-b")
        .into_iter()
        .find(|&r| string_at(&table, "score_category", r).as_deref() == Some("protect"))
        .unwrap();
    let values = table
        .column("score_values")
        .unwrap()
        .list()
        .unwrap()
        .get_as_series(row)
        .unwrap();
    let values: Vec<&str> = values.str().unwrap().iter().flatten().collect();
    assert_eq!(values, ["minimal", "significant"], "every value, in source order");
    assert_eq!(string_at(&table, "score_value", row).as_deref(), Some("significant"));
    let counts = &built.report()["datasets"][0]["counts"];
    assert_eq!(
        counts["score_conflict_ids"],
        json!([string_at(&table, "mapping_id", row).unwrap()])
    );
    let csv = std::fs::read_to_string(built.file("mappings.csv")).unwrap();
    assert!(
        csv.contains("\"minimal\nsignificant\""),
        "joined by a line break in CSV"
    );
}

#[test]
fn a_mapping_file_that_names_attack_bundle_types_in_its_text_is_still_read_as_a_mapping_file() {
    // ATT&CK bundles are told from mapping files by their markers' type names: a mapping file may
    // name them too, and it is then read whole in the first pass rather than peeked at.
    let plain = build(&[fixture(ACME)]);
    let mut file: Value = serde_json::from_slice(&std::fs::read(fixture(ACME)).unwrap()).unwrap();
    file["metadata"]["organization"] = json!("readers of the x-mitre-matrix and the x-mitre-collection");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acme.json");
    std::fs::write(&path, file.to_string()).unwrap();
    let marked = build(&[path]);
    marked.assert_succeeded();
    assert_eq!(marked.report()["totals"], plain.report()["totals"]);
    assert_eq!(marked.report()["inputs"], plain.report()["inputs"]);
    assert_eq!(marked.table().height(), plain.table().height());
    assert_eq!(
        strings(&marked.table(), "capability_id"),
        strings(&plain.table(), "capability_id")
    );
}
