//! Acceptance on the real Mappings Explorer snapshot in ../shared (skipped, with a printed reason, without it).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::helpers::*;

const T1562: &str = "site/attack/attack-16.1/domain-enterprise/techniques/T1562/index.html";

/// One build of the whole snapshot, shared by the tests that look at it.
fn whole_site() -> Option<&'static Built> {
    static BUILT: OnceLock<Option<Built>> = OnceLock::new();
    BUILT.get_or_init(|| shared("site").map(|site| build(&[site]))).as_ref()
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
    assert_eq!(
        built.code, 3,
        "the site's index and other pages without mappings are reported as skipped"
    );
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
fn the_skipped_pages_of_the_site_are_the_ones_without_mapping_tables() {
    let Some(built) = whole_site() else { return };
    let report = built.report();
    for skipped in report["skipped"].as_array().unwrap() {
        assert!(
            skipped["reason"].as_str().unwrap().contains("without mapping tables"),
            "{skipped}"
        );
    }
    assert_eq!(report["inputs"]["by_kind"]["technique_page"], 658);
    assert_eq!(report["inputs"]["by_kind"]["mapping_file"], 11);
}
