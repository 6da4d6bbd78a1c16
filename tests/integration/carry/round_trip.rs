//! A derived dataset as a unified-schema mapping file read back into the same rows; carrying in the
//! nightly refresh; and the KEV pair of the real data, carried and compared with its next official file.

use std::path::PathBuf;

use serde_json::Value;

use super::*;

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
