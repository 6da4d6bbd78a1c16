//! `--carry-to`: a dataset mapped to an older ATT&CK release yields a derived dataset on the target
//! release, each row saying how it was carried; the official dataset at the target wins; the
//! review list names the techniques the official one could not have mapped. The outputs of a
//! derived dataset are in [`outputs`]; its unified-schema mapping file, refresh and real data in
//! [`round_trip`].

mod outputs;
mod round_trip;

use std::path::{Path, PathBuf};
use std::process::Command;

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
