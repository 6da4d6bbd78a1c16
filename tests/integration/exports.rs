//! STIX bundles and Navigator layers: what they hold, that they are deterministic, and that
//! `attackmap validate` accepts them and rejects broken ones.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::helpers::*;

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

fn objects_of_type<'a>(bundle: &'a Value, object_type: &str) -> Vec<&'a Value> {
    bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == object_type)
        .collect()
}

fn technique<'a>(layer: &'a Value, technique_id: &str) -> &'a Value {
    layer["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["techniqueID"] == technique_id)
        .unwrap_or_else(|| panic!("{technique_id} is in the layer"))
}

/// Runs `attackmap validate <paths>`; returns the exit code and stdout.
fn validate(paths: &[PathBuf]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_attackmap"))
        .arg("validate")
        .args(paths)
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn every_dataset_gets_a_bundle_and_a_layer_that_validate() {
    let built = build(&[fixture("site"), fixture("mapping-files")]);
    built.assert_succeeded();
    for dataset in [
        "nist_800_53-rev5_attack-16.1-enterprise",
        "acme_stack-01.02.2025_attack-16.1-enterprise",
    ] {
        assert!(built.file(&format!("stix/{dataset}.json")).exists(), "{dataset} bundle");
        assert!(
            built.file(&format!("navigator/{dataset}.json")).exists(),
            "{dataset} layer"
        );
    }
    assert!(built
        .file("navigator/all-frameworks_attack-16.1-enterprise.json")
        .exists());
    let (code, stdout) = validate(&[built.file("stix"), built.file("navigator")]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains(" 0 invalid"), "{stdout}");
}

#[test]
fn a_layer_scores_distinct_capabilities_and_covers_exactly_the_mapped_techniques() {
    let built = build(&[fixture("site/attack")]);
    let nist = read_json(&built.file("navigator/nist_800_53-rev5_attack-16.1-enterprise.json"));
    assert_eq!(technique(&nist, "T1562")["score"], 16, "SC-08 and CM-02 counted once");
    assert!(technique(&nist, "T1562").get("tactic").is_none(), "no tactic key");
    let aws = read_json(&built.file("navigator/aws-12.12.2024_attack-16.1-enterprise.json"));
    assert_eq!(technique(&aws, "T1562")["score"], 5);
    assert_eq!(nist["versions"]["layer"], "4.5");
    assert_eq!(nist["versions"]["attack"], "16");
    let gradient = &nist["gradient"];
    assert!(
        gradient["maxValue"].as_f64() > gradient["minValue"].as_f64(),
        "max > min even with one technique"
    );
    let all = read_json(&built.file("navigator/all-frameworks_attack-16.1-enterprise.json"));
    assert_eq!(technique(&all, "T1562")["score"], 5, "five frameworks on the seed page");
}

#[test]
fn a_security_stack_score_layer_keeps_the_highest_score_colored_by_its_category() {
    let built = build(&[fixture("site/external/aws")]);
    let scores = read_json(&built.file("navigator/aws-12.12.2024_attack-16.1-enterprise_scores.json"));
    let t1498 = technique(&scores, "T1498");
    assert_eq!(t1498["score"], 2, "partial");
    assert_eq!(t1498["color"], "#66b1ff", "protect");
    let t1562 = technique(&scores, "T1562");
    assert_eq!(t1562["score"], 1, "minimal");
    assert_eq!(t1562["color"], "#8ec843", "detect wins a tie with respond");
}

#[test]
fn the_bundle_follows_the_profile() {
    let built = build(&[fixture("mapping-files"), fixture("site")]);
    let nist = read_json(&built.file("stix/nist_800_53-rev5_attack-16.1-enterprise.json"));
    assert_eq!(
        nist.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["id", "objects", "type"]
    );
    let controls = objects_of_type(&nist, "course-of-action");
    let sc08 = controls
        .iter()
        .find(|c| c["external_references"][0]["external_id"] == "SC-08")
        .expect("SC-08");
    assert_eq!(sc08["external_references"][0]["source_name"], "nist_800_53 rev5");
    assert_eq!(sc08["name"], "Transmission Confidentiality and Integrity");
    let relationships = objects_of_type(&nist, "relationship");
    assert!(relationships.iter().all(|r| r["relationship_type"] == "mitigates"));
    let edges: std::collections::BTreeSet<(String, String)> = relationships
        .iter()
        .map(|r| {
            (
                r["source_ref"].as_str().unwrap().to_string(),
                r["target_ref"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(edges.len(), relationships.len(), "one relationship per edge");

    let acme = read_json(&built.file("stix/acme_stack-01.02.2025_attack-16.1-enterprise.json"));
    let relationships = objects_of_type(&acme, "relationship");
    let mitigates = relationships
        .iter()
        .find(|r| r["description"] == "first\n\nsecond")
        .expect("the comments of cap-a's rows become its relationship's description");
    assert_eq!(mitigates["relationship_type"], "mitigates");
    assert_eq!(
        mitigates["external_references"].as_array().unwrap().len(),
        2,
        "references united"
    );
    assert_eq!(
        mitigates["created"], "2025-01-02T00:00:00.000Z",
        "dates from the mapping file"
    );
    assert_eq!(mitigates["modified"], "2025-03-04T00:00:00.000Z");
    let cap_c = objects_of_type(&acme, "course-of-action")
        .into_iter()
        .find(|c| c["external_references"][0]["external_id"] == "cap-c")
        .expect("a non-mappable capability is still an object");
    assert!(
        relationships.iter().all(|r| r["source_ref"] != cap_c["id"]),
        "but has no relationship"
    );
}

#[test]
fn changing_one_mapping_changes_only_its_objects() {
    let original = fixture("mapping-files/acme_stack-1.0_attack-16.1-enterprise.json");
    let mut document = read_json(&original);
    document["mapping_objects"][7]["comments"] = "a new comment".into();
    let changed_dir = tempfile::tempdir().unwrap();
    let changed = changed_dir.path().join("acme.json");
    std::fs::write(&changed, serde_json::to_vec(&document).unwrap()).unwrap();

    let before = build(&[original]);
    let after = build(&[changed]);
    let file = "stix/acme_stack-01.02.2025_attack-16.1-enterprise.json";
    let objects = |built: &Built| -> Vec<Value> { read_json(&built.file(file))["objects"].as_array().unwrap().clone() };
    let (before, after) = (objects(&before), objects(&after));
    assert_eq!(before.len(), after.len());
    let changed: Vec<&Value> = after.iter().filter(|o| !before.contains(o)).collect();
    assert_eq!(
        changed.len(),
        1,
        "only the relationship of the changed mapping differs: {changed:#?}"
    );
    assert_eq!(changed[0]["description"], "a new comment");
    let ids = |objects: &[Value]| objects.iter().map(|o| o["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&before), ids(&after), "ids are stable");
}

fn broken_copy(original: &Path, breaks: impl FnOnce(&mut Value)) -> (tempfile::TempDir, PathBuf) {
    let mut document = read_json(original);
    breaks(&mut document);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(original.file_name().unwrap());
    std::fs::write(&path, serde_json::to_vec_pretty(&document).unwrap()).unwrap();
    (dir, path)
}

#[test]
fn validate_rejects_hand_broken_layers_and_bundles() {
    let built = build(&[fixture("site/attack")]);
    let layer = built.file("navigator/nist_800_53-rev5_attack-16.1-enterprise.json");
    let bundle = built.file("stix/nist_800_53-rev5_attack-16.1-enterprise.json");
    type Break = Box<dyn FnOnce(&mut Value)>;
    let cases: Vec<(&str, &Path, Break, &str)> = vec![
        (
            "string score",
            &layer,
            Box::new(|l| l["techniques"][0]["score"] = "16".into()),
            "/techniques/0/score",
        ),
        (
            "gradient max == min",
            &layer,
            Box::new(|l| l["gradient"]["maxValue"] = l["gradient"]["minValue"].clone()),
            "maxValue",
        ),
        (
            "empty tactic",
            &layer,
            Box::new(|l| l["techniques"][0]["tactic"] = "".into()),
            "/techniques/0/tactic",
        ),
        (
            "missing name",
            &layer,
            Box::new(|l| {
                l.as_object_mut().unwrap().remove("name");
            }),
            "name",
        ),
        (
            "dangling ref",
            &bundle,
            Box::new(|b| {
                let objects = b["objects"].as_array_mut().unwrap();
                let index = objects.iter().position(|o| o["type"] == "relationship").unwrap();
                objects[index]["target_ref"] = "attack-pattern--00000000-0000-4000-8000-000000000000".into();
            }),
            "resolves to no object",
        ),
        (
            "capability without a name",
            &bundle,
            Box::new(|b| {
                let objects = b["objects"].as_array_mut().unwrap();
                let index = objects.iter().position(|o| o["type"] == "course-of-action").unwrap();
                objects[index].as_object_mut().unwrap().remove("name");
            }),
            "name",
        ),
    ];
    for (case, original, breaks, expected) in cases {
        let (_dir, broken) = broken_copy(original, breaks);
        let (code, stdout) = validate(&[broken]);
        assert_eq!(code, 1, "{case} is invalid: {stdout}");
        assert!(
            stdout.contains(expected),
            "{case}: the problem names {expected:?}: {stdout}"
        );
    }
}
