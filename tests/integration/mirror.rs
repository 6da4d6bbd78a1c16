//! `build --input mirror/` of the site mirrored with an ordinary tool: beside each mapping file the
//! site's exports of it in other formats, and the site's own style sheets, scripts and images. They
//! are counted and listed as not inputs, never read, never a warning; the copy of a mapping file the
//! site exports as `…_json.json` does not count its dataset twice.

use std::path::{Path, PathBuf};

use crate::helpers::*;

const DATASET: &str = "nist_800_53-rev5_attack-16.1-enterprise";
const DATA_DIR: &str = "data/nist_800_53/attack-16.1/nist_800_53-rev5/enterprise";

/// A mirror as a mirroring tool leaves it: the served fixtures' mapping file and, beside it, the
/// site's exports of it; the site's assets under `static/`.
fn mirror_of_the_site() -> tempfile::TempDir {
    let mirror = tempfile::tempdir().unwrap();
    let data = mirror.path().join(DATA_DIR);
    std::fs::create_dir_all(&data).unwrap();
    let stem = DATASET;
    let mapping_file = std::fs::read(fixture(&format!("served/{DATA_DIR}/{stem}.json"))).unwrap();
    let write = |relative: &Path, bytes: &[u8]| {
        let path = mirror.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    };
    let beside = |suffix: &str| PathBuf::from(DATA_DIR).join(format!("{stem}{suffix}"));
    write(&beside(".json"), &mapping_file);
    write(&beside("_json.json"), &mapping_file);
    // A spreadsheet is a zip archive: not UTF-8 text.
    write(
        &beside(".xlsx"),
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00\xff\xfe\x00\x00binary",
    );
    write(&beside(".csv"), b"capability_id,attack_object_id\nSC-08,T1562\n");
    write(&beside(".yaml"), b"metadata:\n  mapping_framework: nist_800_53\n");
    write(
        &beside("_stix.json"),
        br#"{"type": "bundle", "id": "bundle--6f5d2a9c-1b3e-4c1a-9f1e-2d3c4b5a6978", "objects": []}"#,
    );
    write(
        &beside("_navigator_layer.json"),
        br#"{"name": "nist_800_53 overview", "versions": {"layer": "4.4"}, "techniques": []}"#,
    );
    // The site's style sheet starts with `[`, as JSON does.
    write(
        Path::new("static/vendor/aos/aos.css"),
        b"[data-aos][data-aos][data-aos-duration=\"50\"]{transition-duration:50ms}\n",
    );
    write(Path::new("static/vendor/aos/aos.js"), b"!function(e,t){}(this);\n");
    write(Path::new("static/img/logo.png"), b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR");
    mirror
}

#[test]
fn a_mirror_with_the_sites_exports_and_assets_builds_without_a_warning() {
    let mirror = mirror_of_the_site();
    let built = build(&[mirror.path().to_path_buf()]);
    built.assert_succeeded();
    let report = built.report();
    assert_eq!(report["inputs"]["skipped"], 0, "{}", report["skipped"]);
    assert_eq!(
        report["inputs"]["not_inputs"],
        serde_json::json!({
            "excel_export": 1, "csv_export": 1, "yaml_export": 1, "json_export": 1,
            "stix_export": 1, "navigator_layer_export": 1, "style_sheet": 1, "script": 1, "image": 1
        })
    );
    let listed: Vec<&str> = report["not_inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["path"].as_str().unwrap())
        .collect();
    assert!(
        listed.contains(&format!("{DATA_DIR}/{DATASET}.xlsx").as_str()),
        "{listed:?}"
    );
    assert!(listed.contains(&"static/vendor/aos/aos.css"), "{listed:?}");
    assert!(
        built.stdout.contains("not inputs, not read: 9 files"),
        "{}",
        built.stdout
    );
    assert!(built.stdout.contains("1 Excel export"), "{}", built.stdout);
}

#[test]
fn the_sites_copy_of_a_mapping_file_does_not_count_its_dataset_twice() {
    let mirror = mirror_of_the_site();
    let built = build(&[mirror.path().to_path_buf()]);
    built.assert_succeeded();
    let alone = build(&[fixture(&format!("served/{DATA_DIR}/{DATASET}.json"))]);
    alone.assert_succeeded();
    assert_eq!(built.dataset(DATASET)["counts"], alone.dataset(DATASET)["counts"]);
    assert_eq!(
        built.dataset(DATASET)["source"]["inputs"],
        1,
        "one mapping file supplies it"
    );
    assert_eq!(built.table().height(), alone.table().height());
}
