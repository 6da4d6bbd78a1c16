//! Acceptance on the real Mappings Explorer snapshot in ../shared (skipped, with a printed reason, without it).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::helpers::*;

const T1562: &str = "site/attack/attack-16.1/domain-enterprise/techniques/T1562/index.html";

/// One build of the whole snapshot, shared by the tests that look at it.
fn whole_site() -> Option<&'static Built> {
    static BUILT: OnceLock<Option<Built>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let site = shared("site")?;
            let attack: Vec<_> = ["enterprise", "mobile", "ics"]
                .iter()
                .filter_map(|domain| shared(&format!("attack/{domain}-attack-16.1.json")))
                .collect();
            Some(build_with_attack(&[site], &attack))
        })
        .as_ref()
}

#[test]
fn the_real_t1562_page_gives_54_mappings_from_58_rows() {
    let Some(page) = shared(T1562) else { return };
    let built = build(&[page]);
    built.assert_succeeded();
    let table = built.table();
    let expected: BTreeMap<String, usize> = [
        ("aws", 5),
        ("azure", 5),
        ("cri_profile", 9),
        ("gcp", 4),
        ("kev", 3),
        ("m365", 6),
        ("nist_800_53", 16),
        ("veris", 6),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(rows_per_framework(&table), expected);
    assert_eq!(built.report()["totals"]["source_rows"], 58);
    assert_eq!(table.height(), 54);
    for repeated in ["SC-08", "CM-02", "aws_iot_device_defender", "DEF-APGV-E5"] {
        let rows = rows_of(&table, repeated);
        assert_eq!(rows.len(), 1, "{repeated}");
        assert_eq!(occurrences(&table, rows[0]), 2, "{repeated}");
    }
    let both_comments_kept = [
        (
            "aws_iot_device_defender",
            [
                "plan the appropriate remediation",
                "continuously ingest and evaluate message size",
            ],
        ),
        (
            "DEF-APGV-E5",
            ["Protects against Impair Defense", "detects Impair Defense"],
        ),
    ];
    for (capability, phrases) in both_comments_kept {
        let row = rows_of(&table, capability)[0];
        let comments = string_at(&table, "comments", row).unwrap();
        for phrase in phrases {
            assert!(
                comments.contains(phrase),
                "{capability} keeps the comment with {phrase:?}: {comments}"
            );
        }
    }
    let sc08 = rows_of(&table, "SC-08")[0];
    assert_eq!(string_at(&table, "framework", sc08).as_deref(), Some("nist_800_53"));
    assert_eq!(string_at(&table, "framework_version", sc08).as_deref(), Some("rev5"));
}

#[test]
fn the_whole_site_gives_each_mapping_file_grain_key_exactly_once() {
    let Some(built) = whole_site() else { return };
    built.assert_succeeded();
    let report = built.report();
    let table = built.table();
    assert_eq!(report["totals"]["source_rows"], 13_568);
    assert_eq!(table.height(), 13_436);
    assert_eq!(table.column("mapping_id").unwrap().n_unique().unwrap(), 13_436);
    assert_eq!(report["totals"]["repeats_collapsed"], 132);
    assert_eq!(report["totals"]["exact_duplicates"], 92);
    assert_eq!(report["totals"]["differing_repeats"], 40);
    assert_eq!(report["totals"]["rejected_rows"], 0);

    let mut exact: BTreeMap<String, u64> = BTreeMap::new();
    let mut differing: BTreeMap<String, u64> = BTreeMap::new();
    for dataset in report["datasets"].as_array().unwrap() {
        assert_eq!(
            dataset["source"]["source_kind"], "mapping_file",
            "{}",
            dataset["dataset"]
        );
        let framework = dataset["framework"].as_str().unwrap().to_string();
        *exact.entry(framework.clone()).or_default() += dataset["counts"]["exact_duplicates"].as_u64().unwrap();
        *differing.entry(framework).or_default() += dataset["counts"]["differing_repeats"].as_u64().unwrap();
    }
    exact.retain(|_, n| *n > 0);
    differing.retain(|_, n| *n > 0);
    let named = |pairs: &[(&str, u64)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(exact, named(&[("m365", 32), ("nist_800_53", 50), ("veris", 10)]));
    assert_eq!(differing, named(&[("azure", 2), ("gcp", 2), ("m365", 36)]));
}

#[test]
fn the_technique_pages_have_exactly_the_edges_of_each_mapping_file() {
    let Some(built) = whole_site() else { return };
    let report = built.report();
    let mut checked = 0;
    for dataset in report["datasets"].as_array().unwrap() {
        if dataset["domain"] != "enterprise" {
            continue; // the snapshot's technique pages are Enterprise only
        }
        let checks = dataset["source"]["cross_checks"].as_array().unwrap();
        let pages = checks
            .iter()
            .find(|c| c["source_kind"] == "technique_page")
            .unwrap_or_else(|| panic!("{} has technique pages", dataset["dataset"]));
        assert_eq!(pages["edges_missing_from_selected"], 0, "{}", dataset["dataset"]);
        assert_eq!(pages["edges_missing_from_this"], 0, "{}", dataset["dataset"]);
        for check in checks {
            assert_eq!(
                check["edges_missing_from_selected"], 0,
                "{} {}",
                dataset["dataset"], check["source_kind"]
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 8, "eight Enterprise datasets");
}

#[test]
fn the_only_page_of_the_site_without_mappings_is_the_technique_index() {
    let Some(built) = whole_site() else { return };
    let report = built.report();
    assert_eq!(report["skipped"], serde_json::json!([]));
    let without = report["without_mappings"].as_array().unwrap();
    assert_eq!(without.len(), 1);
    assert!(without[0]["path"].as_str().unwrap().ends_with("techniques/index.html"));
    assert_eq!(report["inputs"]["by_kind"]["technique_page"], 658);
    assert_eq!(report["inputs"]["by_kind"]["mapping_file"], 11);
}

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn score_of(layer: &serde_json::Value, technique: &str) -> serde_json::Value {
    layer["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["techniqueID"] == technique)
        .map(|t| t["score"].clone())
        .unwrap_or_default()
}

#[test]
fn the_nist_bundle_has_one_mitigates_relationship_per_edge_and_attacks_own_attack_patterns() {
    let (Some(file), Some(enterprise), Some(mobile)) = (
        shared("site/data/nist_800_53/attack-16.1/nist_800_53-rev5/enterprise/nist_800_53-rev5_attack-16.1-enterprise.json"),
        shared("attack/enterprise-attack-16.1.json"),
        shared("attack/mobile-attack-16.1.json"),
    ) else {
        return;
    };
    // With the Enterprise bundle alone, one technique stays a stand-in: the file maps SC-12 to the
    // Mobile technique T1521.003, and the build says so.
    let enterprise_only = build_with_attack(std::slice::from_ref(&file), std::slice::from_ref(&enterprise));
    assert_eq!(
        enterprise_only.report()["exports"]["stix"][0]["techniques_not_in_attack"],
        serde_json::json!(["T1521.003"])
    );
    assert!(
        enterprise_only.stderr.contains("T1521.003"),
        "{}",
        enterprise_only.stderr
    );

    let built = build_with_attack(&[file], &[enterprise, mobile]);
    built.assert_succeeded();
    assert_eq!(built.table().height(), 5_360);
    let report = built.report();
    let bundle = &report["exports"]["stix"][0];
    assert_eq!(bundle["relationships"]["mitigates"], 5_264);
    assert_eq!(bundle["relationships"].as_object().unwrap().len(), 1, "mitigates only");
    assert_eq!(bundle["capabilities"], 109);
    assert_eq!(bundle["attack_patterns"], 470);
    assert_eq!(
        bundle["attack_patterns_from_attack"], 470,
        "{}",
        bundle["techniques_not_in_attack"]
    );
    assert_eq!(bundle["non_mappable_rows"], 96);

    let stix = read_json(&built.file("stix/nist_800_53-rev5_attack-16.1-enterprise.json"));
    let objects = stix["objects"].as_array().unwrap();
    let count = |t: &str| objects.iter().filter(|o| o["type"] == t).count();
    assert_eq!(count("course-of-action"), 109);
    assert_eq!(count("attack-pattern"), 470);
    assert_eq!(count("relationship"), 5_264);
    let t1562 = objects
        .iter()
        .find(|o| o["type"] == "attack-pattern" && o["external_references"][0]["external_id"] == "T1562")
        .unwrap();
    assert_eq!(
        t1562["id"], "attack-pattern--3d333250-30e4-4a82-9edc-756c68afc529",
        "ATT&CK's own id"
    );
}

#[test]
fn the_site_layers_score_t1562_as_the_pages_show_it() {
    let Some(built) = whole_site() else { return };
    let layer = |name: &str| read_json(&built.file(&format!("navigator/{name}.json")));
    assert_eq!(score_of(&layer("nist_800_53-rev5_attack-16.1-enterprise"), "T1562"), 16);
    assert_eq!(score_of(&layer("aws-12.12.2024_attack-16.1-enterprise"), "T1562"), 5);
    assert_eq!(score_of(&layer("all-frameworks_attack-16.1-enterprise"), "T1562"), 8);
    let coverage = layer("coverage_attack-16.1-enterprise");
    assert_eq!(
        score_of(&coverage, "T1562"),
        6,
        "CRI, NIST, AWS, Azure, GCP, M365: KEV and VERIS are threat context, not defenses"
    );
    assert!(coverage["name"]
        .as_str()
        .unwrap()
        .starts_with("Coverage by controls and security stacks"));
}

#[test]
fn a_layer_whose_scores_are_all_equal_shows_that_one_score_in_its_legend() {
    let Some(built) = whole_site() else { return };
    let ics = read_json(&built.file("navigator/all-frameworks_attack-16.1-ics.json"));
    let scores: std::collections::BTreeSet<u64> = ics["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["score"].as_u64().unwrap())
        .collect();
    assert_eq!(scores.len(), 1, "one framework maps ICS: every score is 1");
    assert_eq!(
        ics["legendItems"],
        serde_json::json!([{"label": "1 framework", "color": "#ffaf66"}])
    );
    assert_eq!(ics["gradient"]["colors"], serde_json::json!(["#ffaf66", "#ffaf66"]));
    for layer in std::fs::read_dir(built.file("navigator")).unwrap().flatten() {
        let layer = read_json(&layer.path());
        for item in layer["legendItems"].as_array().unwrap() {
            let label = item["label"].as_str().unwrap();
            assert!(label.chars().count() <= 15, "Navigator clips {label:?}");
        }
    }
}

#[test]
fn each_layer_covers_exactly_the_placeable_techniques_its_dataset_maps_and_names_the_rest() {
    let Some(built) = whole_site() else { return };
    let table = built.table();
    let frameworks = strings(&table, "framework");
    let versions = strings(&table, "framework_version");
    let domains = strings(&table, "domain");
    let techniques = strings(&table, "attack_object_id");
    let capabilities = strings(&table, "capability_id");
    let statuses = strings(&table, "technique_status");
    let mut mapped: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    let mut not_placeable: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for i in 0..table.height() {
        if let (Some(technique), Some(_)) = (&techniques[i], &capabilities[i]) {
            let dataset = format!(
                "{}-{}_attack-16.1-{}",
                frameworks[i].as_deref().unwrap(),
                versions[i].as_deref().unwrap(),
                domains[i].as_deref().unwrap()
            );
            let placeable = statuses[i].as_deref().is_none_or(|s| s == "live");
            let into = if placeable { &mut mapped } else { &mut not_placeable };
            into.entry(dataset).or_default().insert(technique.clone());
        }
    }
    assert_eq!(mapped.len(), 11);
    for (dataset, left_out) in &not_placeable {
        let layer = read_json(&built.file(&format!("navigator/{dataset}.json")));
        let description = layer["description"].as_str().unwrap();
        for technique in left_out {
            assert!(
                description.contains(technique.as_str()),
                "{dataset} names {technique}: {description}"
            );
        }
    }
    for (dataset, expected) in mapped {
        let layer = read_json(&built.file(&format!("navigator/{dataset}.json")));
        let in_layer: std::collections::BTreeSet<String> = layer["techniques"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["techniqueID"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(in_layer, expected, "{dataset}");
    }
}

#[test]
fn every_export_of_the_site_validates() {
    let Some(built) = whole_site() else { return };
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_attackmap"))
        .arg("validate")
        .arg(built.file("stix"))
        .arg(built.file("navigator"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
}
