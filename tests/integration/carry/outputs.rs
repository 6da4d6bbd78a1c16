//! The outputs of a derived dataset: the review list (CSV, warehouse, layer), its layers and the
//! coverage layer, its STIX bundle and report.html.

use std::process::Command;

use polars::prelude::{ParquetReader, SerReader};
use serde_json::{json, Value};

use super::*;

#[test]
fn the_review_list_is_a_csv_a_warehouse_table_and_a_layer_per_derived_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let built = build_with(&inputs(dir.path()), &["--carry-to", "18.1"]);
    built.assert_succeeded();
    let review = String::from_utf8(built.bytes("review.csv")).unwrap();
    let lines: Vec<&str> = review.lines().collect();
    assert_eq!(
        lines,
        [
            "framework,framework_version,attack_version,domain,derived_from,technique_id,technique_name,tactics",
            "nist_800_53,01.02.2025,18.1,enterprise,15.1,T1560,Archive Collected Data,collection",
            "nist_800_53,01.02.2025,18.1,enterprise,15.1,T1999,Brand New,impact",
        ]
    );
    let layer: Value = serde_json::from_slice(&built.bytes(&format!("navigator/{DERIVED}_review.json"))).unwrap();
    let techniques: Vec<&str> = layer["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["techniqueID"].as_str().unwrap())
        .collect();
    assert_eq!(techniques, ["T1560", "T1999"]);
    assert!(layer["description"].as_str().unwrap().starts_with("DERIVED"), "{layer}");
    assert!(built.file(&format!("heatmaps/{DERIVED}_review.svg")).exists());
    let warehouse = std::fs::File::open(built.file("warehouse/review/part-0.parquet")).unwrap();
    let warehouse = ParquetReader::new(warehouse).finish().unwrap();
    assert_eq!(warehouse.height(), 2);
}

#[test]
fn every_layer_of_a_derived_dataset_says_so_and_dropped_techniques_are_left_out_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let built = build_with(&inputs(dir.path()), &["--carry-to", "18.1"]);
    built.assert_succeeded();
    let layer: Value = serde_json::from_slice(&built.bytes(&format!("navigator/{DERIVED}.json"))).unwrap();
    assert!(
        layer["name"].as_str().unwrap().ends_with("(derived from 15.1)"),
        "{}",
        layer["name"]
    );
    let description = layer["description"].as_str().unwrap();
    assert!(
        description.starts_with("DERIVED, not an official mapping"),
        "{description}"
    );
    assert!(
        description.contains("T1004 (deprecated in ATT&CK 18.1)"),
        "{description}"
    );
    let techniques: Vec<&str> = layer["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["techniqueID"].as_str().unwrap())
        .collect();
    assert_eq!(
        techniques,
        ["T1001", "T1560", "T1562"],
        "the replacement in, the deprecated one out"
    );

    let coverage: Value =
        serde_json::from_slice(&built.bytes("navigator/coverage_attack-18.1-enterprise.json")).unwrap();
    let description = coverage["description"].as_str().unwrap();
    assert!(
        description.contains("DERIVED datasets") && description.contains("from ATT&CK 15.1"),
        "{description}"
    );
    let legend = coverage["legendItems"].to_string();
    assert!(legend.contains("derived ← 15.1"), "{legend}");
    let validated = Command::new(env!("CARGO_BIN_EXE_attackmap"))
        .arg("validate")
        .arg(built.file("navigator"))
        .arg(built.file("stix"))
        .output()
        .unwrap();
    assert!(
        validated.status.success(),
        "{}",
        String::from_utf8_lossy(&validated.stdout)
    );
}

#[test]
fn a_build_without_carry_to_removes_the_review_list_an_earlier_one_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = inputs(dir.path());
    let out = dir.path().join("out");
    let run = |args: &[&str]| {
        let status = Command::new(env!("CARGO_BIN_EXE_attackmap"))
            .arg("build")
            .arg("--input")
            .args(&inputs)
            .arg("--out")
            .arg(&out)
            .args(args)
            .output()
            .unwrap()
            .status;
        assert!(status.success());
    };
    run(&["--carry-to", "18.1"]);
    assert!(out.join("review.csv").exists());
    assert!(out.join(format!("navigator/{DERIVED}_review.json")).exists());
    run(&[]);
    assert!(!out.join("review.csv").exists(), "no stale review list");
    assert!(!out.join(format!("navigator/{DERIVED}_review.json")).exists());
}

#[test]
fn a_derived_bundle_marks_its_objects_and_carries_a_note_and_no_dropped_relationship() {
    let dir = tempfile::tempdir().unwrap();
    let built = build_with(&inputs(dir.path()), &["--carry-to", "18.1"]);
    built.assert_succeeded();
    let bundle: Value = serde_json::from_slice(&built.bytes(&format!("stix/{DERIVED}.json"))).unwrap();
    let objects = bundle["objects"].as_array().unwrap();
    let extension = objects.iter().find(|o| o["type"] == "extension-definition").unwrap()["id"]
        .as_str()
        .unwrap();
    let relationships: Vec<&Value> = objects.iter().filter(|o| o["type"] == "relationship").collect();
    assert_eq!(
        relationships.len(),
        3,
        "T1001, T1560 (for T1002) and T1562; deprecated T1004 dropped"
    );
    let replaced = relationships
        .iter()
        .map(|r| &r["extensions"][extension])
        .find(|p| p["carry"] == json!(["replaced"]))
        .expect("the replaced row's relationship");
    assert_eq!(replaced["original_attack_object_ids"], json!(["T1002"]));
    assert_eq!(replaced["derived_from"], "15.1");
    assert_eq!(replaced["attack_changes"], json!(["moved_tactic"]));
    let note = objects.iter().find(|o| o["type"] == "note").expect("a note");
    assert!(note["abstract"].as_str().unwrap().contains("not an official mapping"));
    assert_eq!(
        note["object_refs"].as_array().unwrap().len(),
        3 + 3,
        "its capabilities and relationships (cap-c's one mapping was dropped)"
    );
    assert_eq!(
        built.report()["exports"]["stix"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["file"] == format!("{DERIVED}.json"))
            .unwrap()["dropped_rows"],
        1
    );
    let official: Value =
        serde_json::from_slice(&built.bytes("stix/nist_800_53-01.02.2025_attack-15.1-enterprise.json")).unwrap();
    assert!(
        !official.to_string().contains("derived_from"),
        "official objects carry nothing of it"
    );
}

#[test]
fn report_html_says_what_was_derived_replaced_dropped_and_what_to_review() {
    let dir = tempfile::tempdir().unwrap();
    let built = build_with(&inputs(dir.path()), &["--carry-to", "18.1"]);
    built.assert_succeeded();
    let page = String::from_utf8(built.bytes("report.html")).unwrap();
    assert!(
        page.contains("<section id=\"carry\"><h2>Carried to ATT&amp;CK 18.1</h2>"),
        "{page}"
    );
    assert!(page.contains("DERIVED from ATT&amp;CK 15.1, not official"));
    assert!(page.contains("<td>T1002</td><td>T1560</td><td>replaced</td>"), "{page}");
    assert!(page.contains("<td>T1004</td><td>–</td><td>dropped_deprecated</td>"));
    assert!(page.contains("Review list: 2 techniques of ATT&amp;CK 18.1 enterprise new since 15.1"));
    assert!(page.contains("<td>T1999</td><td>Brand New</td><td>impact</td>"));
    assert!(page.contains("other_stack-01.02.2025_attack-18.1-enterprise: the official dataset at the target wins"));
}
