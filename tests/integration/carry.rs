//! `--carry-to`: a dataset mapped to an older ATT&CK release yields a derived dataset on the target
//! release, each row saying how it was carried; the official dataset at the target wins; the
//! review list names the techniques the official one could not have mapped.

use std::path::{Path, PathBuf};
use std::process::Command;

use polars::prelude::{ParquetReader, SerReader};
use serde_json::{json, Value};

use crate::helpers::*;

/// An Enterprise bundle of ATT&CK `version`: techniques as (id, name, tactic, revoked-by or
/// "deprecated" or "" for live).
fn bundle(version: &str, techniques: &[(&str, &str, &str, &str)]) -> Value {
    let stix_id = |technique: &str| {
        let n: u64 = technique
            .bytes()
            .filter(u8::is_ascii_digit)
            .fold(0, |n, b| n * 10 + u64::from(b - b'0'));
        format!("attack-pattern--00000000-0000-4000-8000-{n:012}")
    };
    let stamp = "2025-01-01T00:00:00.000Z";
    let mut objects = vec![
        json!({"type": "x-mitre-matrix", "spec_version": "2.1", "id": "x-mitre-matrix--00000000-0000-4000-8000-000000000001",
               "created": stamp, "modified": stamp, "name": "Enterprise ATT&CK",
               "external_references": [{"source_name": "mitre-attack", "external_id": "enterprise-attack"}],
               "tactic_refs": []}),
    ];
    for (i, (id, name, tactic, status)) in techniques.iter().enumerate() {
        let mut object = json!({
            "type": "attack-pattern", "id": stix_id(id), "created": stamp, "modified": stamp,
            "name": name,
            "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": tactic}],
            "external_references": [{"source_name": "mitre-attack", "external_id": id}],
            "x_mitre_domains": ["enterprise-attack"],
        });
        match *status {
            "" => {}
            "deprecated" => object["x_mitre_deprecated"] = json!(true),
            by => {
                object["revoked"] = json!(true);
                objects.push(json!({
                    "type": "relationship", "id": format!("relationship--00000000-0000-4000-8000-{i:012}"),
                    "created": stamp, "modified": stamp, "relationship_type": "revoked-by",
                    "source_ref": stix_id(id), "target_ref": stix_id(by),
                }));
            }
        }
        objects.push(object);
    }
    json!({"type": "bundle", "id": format!("bundle--00000000-0000-4000-8000-0000000{}", version.replace('.', "")), "objects": objects})
}

/// ATT&CK 15.1 as the test sees it.
fn release_15_1() -> Value {
    bundle(
        "15.1",
        &[
            ("T1001", "Data Obfuscation", "command-and-control", ""),
            ("T1002", "Data Compressed", "exfiltration", ""),
            ("T1004", "Winlogon Helper DLL", "persistence", ""),
            ("T1562", "Impair Defenses", "defense-evasion", ""),
        ],
    )
}

/// ATT&CK 18.1: T1002 revoked by T1560, T1004 deprecated, T1562 renamed, T1999 new.
fn release_18_1() -> Value {
    bundle(
        "18.1",
        &[
            ("T1001", "Data Obfuscation", "command-and-control", ""),
            ("T1002", "Data Compressed", "exfiltration", "T1560"),
            ("T1560", "Archive Collected Data", "collection", ""),
            ("T1004", "Winlogon Helper DLL", "persistence", "deprecated"),
            ("T1562", "Impair Defences", "defense-evasion", ""),
            ("T1999", "Brand New", "impact", ""),
        ],
    )
}

/// A mapping file of `framework` at ATT&CK `version`, one mitigates row per (capability, technique).
fn mapping_file(framework: &str, version: &str, rows: &[(&str, &str)]) -> Value {
    let mut file: Value = serde_json::from_slice(
        &std::fs::read(fixture("mapping-files/acme_stack-1.0_attack-16.1-enterprise.json")).unwrap(),
    )
    .unwrap();
    file["metadata"]["attack_version"] = json!(version);
    file["metadata"]["mapping_framework"] = json!(framework);
    let template = file["mapping_objects"][0].clone();
    file["mapping_objects"] = rows
        .iter()
        .map(|(capability, technique)| {
            let mut row = template.clone();
            row["capability_id"] = json!(capability);
            row["attack_object_id"] = json!(technique);
            row["comments"] = json!(format!("{capability} mitigates {technique}"));
            row
        })
        .collect();
    file
}

/// The inputs of a carry: NIST at 15.1, other_stack at both 15.1 and 18.1, the two releases.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let files = [
        (
            "acme.json",
            mapping_file(
                "nist_800_53",
                "15.1",
                &[
                    ("cap-a", "T1001"),
                    ("cap-b", "T1002"),
                    ("cap-c", "T1004"),
                    ("cap-d", "T1562"),
                ],
            ),
        ),
        (
            "other-15.json",
            mapping_file("other_stack", "15.1", &[("o-1", "T1001")]),
        ),
        (
            "other-18.json",
            mapping_file("other_stack", "18.1", &[("o-1", "T1999")]),
        ),
        ("enterprise-attack-15.1.json", release_15_1()),
        ("enterprise-attack-18.1.json", release_18_1()),
    ];
    files
        .into_iter()
        .map(|(name, content)| {
            let path = dir.join(name);
            std::fs::write(&path, content.to_string()).unwrap();
            path
        })
        .collect()
}

/// Runs `attackmap build` on `inputs` with more arguments.
fn build_with(inputs: &[PathBuf], args: &[&str]) -> Built {
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_attackmap"))
        .arg("build")
        .arg("--input")
        .args(inputs)
        .arg("--out")
        .arg(out.path())
        .args(args)
        .output()
        .unwrap();
    Built {
        out,
        code: output.status.code().unwrap(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

const DERIVED: &str = "nist_800_53-01.02.2025_attack-18.1-enterprise";

/// The table's rows of one dataset, as (capability, technique, carry, original technique, changes).
fn derived_rows(table: &polars::prelude::DataFrame, attack_version: &str) -> Vec<[Option<String>; 5]> {
    let column = |name: &str| strings(table, name);
    let (framework, version, capability, technique, carry, original) = (
        column("framework"),
        column("attack_version"),
        column("capability_id"),
        column("attack_object_id"),
        column("carry"),
        column("original_attack_object_id"),
    );
    let changes = table.column("attack_changes").unwrap().list().unwrap().clone();
    (0..table.height())
        .filter(|&i| framework[i].as_deref() == Some("nist_800_53") && version[i].as_deref() == Some(attack_version))
        .map(|i| {
            let changed = changes
                .get_as_series(i)
                .map(|s| s.str().unwrap().iter().flatten().collect::<Vec<_>>().join(";"));
            [
                capability[i].clone(),
                technique[i].clone(),
                carry[i].clone(),
                original[i].clone(),
                changed,
            ]
        })
        .collect()
}

fn some(values: [&str; 5]) -> [Option<String>; 5] {
    values.map(|v| Some(v.to_string()))
}

#[test]
fn carry_to_derives_a_dataset_on_the_target_release_row_by_row() {
    let dir = tempfile::tempdir().unwrap();
    let built = build_with(&inputs(dir.path()), &["--carry-to", "latest"]);
    built.assert_succeeded();
    let table = built.table();
    assert_eq!(
        derived_rows(&table, "18.1"),
        [
            some(["cap-a", "T1001", "unchanged", "T1001", ""]),
            some(["cap-b", "T1560", "replaced", "T1002", "moved_tactic"]),
            some(["cap-c", "T1004", "dropped_deprecated", "T1004", ""]),
            some(["cap-d", "T1562", "unchanged", "T1562", "renamed"]),
        ]
    );
    let official = derived_rows(&table, "15.1");
    assert_eq!(official.len(), 4, "the official dataset stays");
    assert!(
        official
            .iter()
            .all(|r| r[2].is_none() && r[3].is_none() && r[4].is_none()),
        "official rows carry nothing: {official:?}"
    );
    let csv = String::from_utf8(built.bytes("mappings.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.ends_with("carry,derived_from,original_attack_object_id,attack_changes"),
        "{header}"
    );
    assert!(csv.contains(",replaced,15.1,T1002,moved_tactic"), "{csv}");

    let report = built.report();
    let carry = &report["carry"];
    assert_eq!(carry["target"], "18.1", "latest: the newest bundle among the inputs");
    assert_eq!(carry["derived"].as_array().unwrap().len(), 1, "{carry}");
    let derived = &carry["derived"][0];
    assert_eq!(derived["dataset"], DERIVED);
    assert_eq!(derived["derived_from"], "15.1");
    assert_eq!(
        derived["source_dataset"],
        "nist_800_53-01.02.2025_attack-15.1-enterprise"
    );
    assert_eq!(
        derived["rows"],
        json!({"unchanged": 2, "replaced": 1, "dropped_deprecated": 1, "dropped_revoked": 0, "dropped_unknown": 0})
    );
    assert_eq!(derived["review"], 2, "T1560 and T1999 are new in 18.1");
    assert_eq!(derived["replaced_or_dropped"].as_array().unwrap().len(), 2);
    assert_eq!(
        carry["official_at_target"],
        json!([{"dataset": "other_stack-01.02.2025_attack-18.1-enterprise", "older_versions": ["15.1"]}]),
        "the official dataset at the target wins"
    );
    assert!(
        built
            .stdout
            .contains("carried to ATT&CK 18.1: 1 derived, 4 rows, 1 dropped, 1 official won"),
        "{}",
        built.stdout
    );
    assert!(
        built.stdout.contains("DERIVED: carried from ATT&CK 15.1"),
        "{}",
        built.stdout
    );
    let dataset = built.dataset(DERIVED);
    assert_eq!(dataset["derived_from"], "15.1");
    assert_eq!(dataset["counts"]["mappings"], 4);
}

#[test]
fn without_carry_to_the_table_has_the_carry_columns_empty_and_the_report_no_carry() {
    let dir = tempfile::tempdir().unwrap();
    let built = build_with(&inputs(dir.path()), &[]);
    built.assert_succeeded();
    let table = built.table();
    assert!(strings(&table, "carry").iter().all(Option::is_none));
    assert!(built.report().get("carry").is_none());
    assert!(derived_rows(&table, "18.1").is_empty(), "nothing derived");
}

#[test]
fn a_dataset_whose_release_has_no_bundle_is_not_carried_and_the_run_warns() {
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = inputs(dir.path());
    inputs.retain(|p| !p.ends_with("enterprise-attack-15.1.json"));
    let built = build_with(&inputs, &["--carry-to", "18.1"]);
    assert_eq!(built.code, 3, "{}", built.stderr);
    assert!(
        built
            .stderr
            .contains("nist_800_53-01.02.2025_attack-15.1-enterprise not carried: no ATT&CK 15.1 enterprise bundle"),
        "{}",
        built.stderr
    );
}

#[test]
fn a_carry_to_that_is_no_version_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let built = build_with(&inputs(dir.path()), &["--carry-to", "../18.1"]);
    assert_eq!(built.code, 2, "{}", built.stderr);
    assert!(built.stderr.contains("expected an ATT&CK version"), "{}", built.stderr);
}

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

/// The table's rows of one dataset as text, without the columns a mapping file cannot hold the
/// same (`source` and `source_kind`: where a row was read from; `occurrences`: the file has each
/// mapping once), sorted.
fn rows_of_dataset(table: &polars::prelude::DataFrame, dataset: (&str, &str)) -> Vec<String> {
    let skipped = ["source", "source_kind", "occurrences"];
    let columns: Vec<&polars::prelude::Column> = table
        .columns()
        .iter()
        .filter(|c| !skipped.contains(&c.name().as_str()))
        .collect();
    let framework = strings(table, "framework");
    let version = strings(table, "attack_version");
    let mut rows: Vec<String> = (0..table.height())
        .filter(|&i| framework[i].as_deref() == Some(dataset.0) && version[i].as_deref() == Some(dataset.1))
        .map(|i| {
            columns
                .iter()
                .map(|c| format!("{}={}", c.name(), c.get(i).unwrap()))
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn a_derived_dataset_is_written_as_a_unified_schema_mapping_file_that_builds_back_into_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = inputs(dir.path());
    let built = build_with(&inputs, &["--carry-to", "18.1"]);
    built.assert_succeeded();
    let file = built.file(&format!("derived/{DERIVED}.json"));
    let document: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(
        document["metadata"]["mapping_version"],
        "derived from ATT&CK 15.1 by attackmap"
    );
    assert!(document["metadata"]["author"]
        .as_str()
        .unwrap()
        .contains("not an official mapping"));
    assert_eq!(
        document["mapping_objects"][1]["author"],
        "attackmap carry: replaced from T1002; moved_tactic"
    );
    if let Some(schema) = shared("specs/mapex-unified-data-schema.json") {
        let schema: Value = serde_json::from_slice(&std::fs::read(schema).unwrap()).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&document)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "the official schema: {errors:?}");
    }
    let official: Vec<PathBuf> = inputs.iter().filter(|p| !p.ends_with("acme.json")).cloned().collect();
    let mut again = official.clone();
    again.push(file);
    let reread = build_with(&again, &[]);
    reread.assert_succeeded();
    let carried = rows_of_dataset(&built.table(), ("nist_800_53", "18.1"));
    assert_eq!(carried.len(), 4);
    assert_eq!(
        rows_of_dataset(&reread.table(), ("nist_800_53", "18.1")),
        carried,
        "the same rows, carry included"
    );
}

#[test]
fn refresh_carries_forward_with_carry_to_from_attackmap_toml() {
    let job = crate::refresh::Job::new();
    let raw = job.dir.path().join("raw");
    std::fs::create_dir_all(&raw).unwrap();
    inputs(&raw);
    std::fs::write(
        job.dir.path().join("attackmap.toml"),
        "carry_to = \"latest\"\nattack_versions = [\"15.1\"]\nframeworks = [\"nist_800_53\"]\n",
    )
    .unwrap();
    let output = job.command(&["--offline"]).output().unwrap();
    assert_eq!(crate::refresh::code(&output), 0, "{}", crate::refresh::explain(&output));
    let report = job.json("report.json");
    assert_eq!(report["carry"]["target"], "18.1");
    assert_eq!(report["carry"]["derived"][0]["dataset"], DERIVED);
    assert!(job.out().join("review.csv").exists());
    assert!(job.out().join(format!("derived/{DERIVED}.json")).exists());

    std::fs::write(
        job.dir.path().join("attackmap.toml"),
        "attack_versions = [\"15.1\"]\nframeworks = [\"nist_800_53\"]\n",
    )
    .unwrap();
    let output = job.command(&["--offline"]).output().unwrap();
    assert_eq!(
        crate::refresh::code(&output),
        0,
        "dropping the derived half of the table is no removal of official mappings: {}",
        crate::refresh::explain(&output)
    );
    assert!(!job.out().join("review.csv").exists());
    assert!(!job.out().join(format!("derived/{DERIVED}.json")).exists());

    std::fs::write(job.dir.path().join("attackmap.toml"), "carry_to = \"eighteen\"\n").unwrap();
    let output = job.command(&["--offline"]).output().unwrap();
    assert_eq!(crate::refresh::code(&output), 2, "{}", crate::refresh::explain(&output));
}

/// The (capability, technique, mapping type) edges of the table's rows of one dataset.
fn edges(
    table: &polars::prelude::DataFrame,
    framework_version: &str,
    attack_version: &str,
) -> std::collections::BTreeSet<(String, String, String)> {
    let column = |name: &str| strings(table, name);
    let (versions, attack, capability, technique, mapping_type, carry) = (
        column("framework_version"),
        column("attack_version"),
        column("capability_id"),
        column("attack_object_id"),
        column("mapping_type"),
        column("carry"),
    );
    (0..table.height())
        .filter(|&i| versions[i].as_deref() == Some(framework_version) && attack[i].as_deref() == Some(attack_version))
        .filter(|&i| !matches!(carry[i].as_deref(), Some(c) if c.starts_with("dropped")))
        .filter_map(|i| Some((capability[i].clone()?, technique[i].clone()?, mapping_type[i].clone()?)))
        .collect()
}

#[test]
fn kev_02_13_2025_carried_from_15_1_to_16_1_is_what_its_next_official_file_keeps() {
    let (Some(old), Some(new)) = (
        shared("site-next/data/kev/attack-15.1/kev-02.13.2025/enterprise/kev-02.13.2025_attack-15.1-enterprise.json"),
        shared("site/data/kev/attack-16.1/kev-07.28.2025/enterprise/kev-07.28.2025_attack-16.1-enterprise.json"),
    ) else {
        return;
    };
    let bundles: Vec<PathBuf> = ["15.1", "16.1"]
        .iter()
        .filter_map(|v| shared(&format!("attack/enterprise-attack-{v}.json")))
        .collect();
    let mut inputs = vec![old, new];
    inputs.extend(bundles);
    let built = build_with(&inputs, &["--carry-to", "16.1"]);
    built.assert_succeeded();
    let table = built.table();
    let carried = edges(&table, "02.13.2025", "16.1");
    let next = edges(&table, "07.28.2025", "16.1");
    let kept = carried.intersection(&next).count();
    assert_eq!(
        (kept, carried.len()),
        (805, 806),
        "precision 0.9988: CVE-2024-21762's T1574 became a primary impact"
    );
    let derived = built.dataset("kev-02.13.2025_attack-16.1-enterprise");
    assert_eq!(derived["derived_from"], "15.1");
    assert_eq!(
        built.report()["carry"]["derived"][0]["review"],
        19,
        "the techniques new in ATT&CK 16.1"
    );
}
