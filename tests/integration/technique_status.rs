//! ATT&CK-aware rows: with a catalogue, every mapping's technique is live, revoked (and by what),
//! deprecated, of another domain, or unknown; the table, the report and the summary say which, a
//! Navigator layer names what it cannot place instead of dropping it unsaid, and the live techniques
//! a dataset does not mention are its gaps.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::helpers::*;

const ACME: &str = "mapping-files/acme_stack-1.0_attack-16.1-enterprise.json";

fn sample_bundle(domain: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("raw/data/attack/{domain}-attack-16.1.json"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn attack_pattern(id: &str, technique: &str, extra: Value) -> Value {
    let mut object = json!({
        "type": "attack-pattern", "spec_version": "2.1", "id": id,
        "created": "2024-10-31T14:49:00.000Z", "modified": "2024-10-31T14:49:00.000Z",
        "name": format!("Technique {technique}"),
        "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "execution"}],
        "external_references": [{"source_name": "mitre-attack", "external_id": technique}],
        "x_mitre_domains": ["enterprise-attack"]
    });
    object
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    object
}

/// The sample's enterprise bundle with T1053.001 revoked by T1053.002 and T1099 deprecated.
fn enterprise_bundle_with_retired_techniques() -> Value {
    let mut bundle = sample_bundle("enterprise");
    let revoked = "attack-pattern--00000000-0000-4000-8000-000000000001";
    let replacement = "attack-pattern--00000000-0000-4000-8000-000000000002";
    let objects = bundle["objects"].as_array_mut().unwrap();
    objects.push(attack_pattern(revoked, "T1053.001", json!({"revoked": true})));
    objects.push(attack_pattern(replacement, "T1053.002", json!({})));
    objects.push(attack_pattern(
        "attack-pattern--00000000-0000-4000-8000-000000000003",
        "T1099",
        json!({"x_mitre_deprecated": true}),
    ));
    objects.push(json!({
        "type": "relationship", "spec_version": "2.1",
        "id": "relationship--00000000-0000-4000-8000-000000000004",
        "created": "2024-10-31T14:49:00.000Z", "modified": "2024-10-31T14:49:00.000Z",
        "relationship_type": "revoked-by", "source_ref": revoked, "target_ref": replacement
    }));
    bundle
}

/// A mapping file mapping one capability to a live, a revoked, a deprecated, a Mobile and an unknown technique.
fn mapping_file_citing_every_kind_of_technique() -> Value {
    let mut file: Value = serde_json::from_slice(&std::fs::read(fixture(ACME)).unwrap()).unwrap();
    let template = file["mapping_objects"][0].clone();
    let rows: Vec<Value> = ["T1562", "T1053.001", "T1099", "T1521.003", "T9999"]
        .iter()
        .map(|technique| {
            let mut row = template.clone();
            row["attack_object_id"] = json!(technique);
            row["attack_object_name"] = json!(format!("Technique {technique}"));
            row
        })
        .collect();
    file["mapping_objects"] = json!(rows);
    file
}

/// Builds the mapping file with the given bundles among the inputs.
fn build_with_bundles(bundles: &[(&str, Value)]) -> (tempfile::TempDir, Built) {
    let dir = tempfile::tempdir().unwrap();
    let mut inputs: Vec<PathBuf> = Vec::new();
    let file = dir.path().join("acme.json");
    std::fs::write(&file, mapping_file_citing_every_kind_of_technique().to_string()).unwrap();
    inputs.push(file);
    for (name, bundle) in bundles {
        let path = dir.path().join(name);
        std::fs::write(&path, bundle.to_string()).unwrap();
        inputs.push(path);
    }
    let built = build(&inputs);
    (dir, built)
}

#[test]
fn every_technique_is_classified_and_the_report_names_the_ones_that_are_not_live() {
    let (_dir, built) = build_with_bundles(&[
        (
            "enterprise-attack-16.1.json",
            enterprise_bundle_with_retired_techniques(),
        ),
        ("mobile-attack-16.1.json", sample_bundle("mobile")),
    ]);
    built.assert_succeeded();
    let table = built.table();
    let statuses: std::collections::BTreeMap<String, String> = strings(&table, "attack_object_id")
        .into_iter()
        .zip(strings(&table, "technique_status"))
        .filter_map(|(t, s)| Some((t?, s?)))
        .collect();
    assert_eq!(
        statuses,
        [
            ("T1053.001", "revoked"),
            ("T1099", "deprecated"),
            ("T1521.003", "other_domain"),
            ("T1562", "live"),
            ("T9999", "unknown"),
        ]
        .map(|(t, s)| (t.to_string(), s.to_string()))
        .into()
    );
    let dataset = built.dataset("acme_stack-01.02.2025_attack-16.1-enterprise");
    assert_eq!(
        dataset["techniques"],
        json!({
            "live": 1,
            "revoked": [{"technique": "T1053.001", "replaced_by": "T1053.002"}],
            "deprecated": ["T1099"],
            "other_domain": [{"technique": "T1521.003", "domain": "mobile"}],
            "unknown": ["T9999"]
        })
    );
    assert!(
        built.stdout.contains("1 revoked (T1053.001 → T1053.002)")
            && built.stdout.contains("1 of another domain (T1521.003: mobile)"),
        "{}",
        built.stdout
    );
}

#[test]
fn a_layer_names_the_techniques_navigator_cannot_place_instead_of_dropping_them() {
    let (_dir, built) = build_with_bundles(&[
        (
            "enterprise-attack-16.1.json",
            enterprise_bundle_with_retired_techniques(),
        ),
        ("mobile-attack-16.1.json", sample_bundle("mobile")),
    ]);
    let layer: Value =
        serde_json::from_slice(&built.bytes("navigator/acme_stack-01.02.2025_attack-16.1-enterprise.json")).unwrap();
    let placed: Vec<&str> = layer["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["techniqueID"].as_str().unwrap())
        .collect();
    assert_eq!(placed, ["T1562"]);
    let description = layer["description"].as_str().unwrap();
    for expected in [
        "T1053.001 (revoked in ATT&CK 16.1, replaced by T1053.002)",
        "T1099 (deprecated in ATT&CK 16.1)",
        "T1521.003 (a mobile technique)",
        "T9999 (not in ATT&CK 16.1)",
    ] {
        assert!(description.contains(expected), "{expected}: {description}");
    }
    let all = built.report()["exports"]["navigator"].clone();
    let counts = all
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["file"] == "acme_stack-01.02.2025_attack-16.1-enterprise.json")
        .unwrap();
    assert_eq!(counts["left_out"], json!(["T1053.001", "T1099", "T1521.003", "T9999"]));
}

#[test]
fn a_revoked_technique_keeps_attacks_own_object_in_stix() {
    let (_dir, built) = build_with_bundles(&[(
        "enterprise-attack-16.1.json",
        enterprise_bundle_with_retired_techniques(),
    )]);
    let bundle: Value =
        serde_json::from_slice(&built.bytes("stix/acme_stack-01.02.2025_attack-16.1-enterprise.json")).unwrap();
    let revoked = "attack-pattern--00000000-0000-4000-8000-000000000001";
    let objects = bundle["objects"].as_array().unwrap();
    assert!(objects.iter().any(|o| o["id"] == revoked && o["revoked"] == true));
    assert!(objects
        .iter()
        .any(|o| o["type"] == "relationship" && o["target_ref"] == revoked));
}

#[test]
fn without_a_catalogue_the_status_is_null() {
    let built = build(&[fixture(ACME)]);
    let table = built.table();
    assert!(strings(&table, "technique_status").iter().all(Option::is_none));
    assert!(built.report()["datasets"][0].get("techniques").is_none());
}

#[test]
fn the_real_snapshot_has_a_revoked_and_a_mobile_technique_and_both_are_named() {
    let Some(site) = shared("site") else { return };
    let built = build(&[site]);
    let aws = built.dataset("aws-12.12.2024_attack-16.1-enterprise");
    assert!(
        aws["techniques"]["revoked"]
            .as_array()
            .unwrap()
            .contains(&json!({"technique": "T1053.001", "replaced_by": "T1053.002"})),
        "{}",
        aws["techniques"]
    );
    let nist = built.dataset("nist_800_53-rev5_attack-16.1-enterprise");
    assert!(nist["techniques"]["other_domain"]
        .as_array()
        .unwrap()
        .contains(&json!({"technique": "T1521.003", "domain": "mobile"})));
    let layer: Value =
        serde_json::from_slice(&built.bytes("navigator/nist_800_53-rev5_attack-16.1-enterprise.json")).unwrap();
    assert!(layer["description"]
        .as_str()
        .unwrap()
        .contains("T1521.003 (a mobile technique)"));
}

#[test]
fn the_live_techniques_a_dataset_does_not_mention_are_its_gaps() {
    let (_dir, built) = build_with_bundles(&[
        (
            "enterprise-attack-16.1.json",
            enterprise_bundle_with_retired_techniques(),
        ),
        ("mobile-attack-16.1.json", sample_bundle("mobile")),
    ]);
    let gaps = std::fs::read_to_string(built.file("gaps.csv")).unwrap();
    let listed: Vec<&str> = gaps.lines().skip(1).filter_map(|l| l.split(',').nth(4)).collect();
    assert!(listed.contains(&"T1040") && listed.contains(&"T1562.001"), "{listed:?}");
    for mentioned_or_retired in ["T1562", "T1053.001", "T1099", "T1521.003"] {
        assert!(
            !listed.contains(&mentioned_or_retired),
            "{mentioned_or_retired}: {listed:?}"
        );
    }
    assert!(listed.contains(&"T1053.002"), "the replacement is live and not mapped");
    let dataset = built.dataset("acme_stack-01.02.2025_attack-16.1-enterprise");
    assert_eq!(dataset["gaps"], listed.len());
    let line = built
        .stdout
        .lines()
        .find(|l| l.contains("acme_stack-01.02.2025_attack-16.1-enterprise"))
        .unwrap();
    assert!(
        line.ends_with(&format!(" {}", listed.len())),
        "the summary's gaps column: {line}"
    );
}

#[test]
fn nist_rev5_on_attack_16_1_enterprise_has_91_gaps_file_and_directory_discovery_among_them() {
    let Some(site) = shared("site") else { return };
    let built = build(&[site]);
    assert_eq!(built.dataset("nist_800_53-rev5_attack-16.1-enterprise")["gaps"], 91);
    let gaps = std::fs::read_to_string(built.file("gaps.csv")).unwrap();
    assert!(gaps.contains("nist_800_53,rev5,16.1,enterprise,T1083,File and Directory Discovery,discovery"));
    let warehouse = std::fs::File::open(built.file("warehouse/gaps/part-0.parquet")).unwrap();
    use polars::prelude::{ParquetReader, SerReader};
    let table = ParquetReader::new(warehouse).finish().unwrap();
    let nist = strings(&table, "framework")
        .iter()
        .filter(|f| f.as_deref() == Some("nist_800_53"))
        .count();
    assert_eq!(nist, 91);
}
