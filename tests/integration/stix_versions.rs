//! STIX objects that version as STIX says: across the bundles of one build, one id is one content;
//! across nights, an object whose content changed gets a later `modified`, and an unchanged one is
//! byte-identical to last night's.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::helpers::*;
use crate::refresh::{code, explain, fixture_site, Job, NIST_FILE};

/// Every object of every bundle in `stix/`, by id: each distinct content seen under it.
fn contents_by_id(stix: &std::path::Path) -> BTreeMap<String, Vec<String>> {
    let mut by_id: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(stix).unwrap().flatten() {
        let bundle: Value = serde_json::from_slice(&std::fs::read(entry.path()).unwrap()).unwrap();
        for object in bundle["objects"].as_array().unwrap() {
            let contents = by_id.entry(object["id"].as_str().unwrap().to_string()).or_default();
            let content = object.to_string();
            if !contents.contains(&content) {
                contents.push(content);
            }
        }
    }
    by_id
}

#[test]
fn across_the_bundles_of_the_site_one_id_is_one_content() {
    let Some(site) = shared("site") else { return };
    let built = build(&[site]);
    let conflicting: Vec<String> = contents_by_id(&built.file("stix"))
        .into_iter()
        .filter(|(_, contents)| contents.len() > 1)
        .map(|(id, _)| id)
        .collect();
    assert!(
        conflicting.is_empty(),
        "{} ids with two contents: {:?}",
        conflicting.len(),
        &conflicting[..conflicting.len().min(5)]
    );
}

fn objects_by_id(job: &Job) -> BTreeMap<String, Value> {
    let bundle: Value = job.json("stix/nist_800_53-rev5_attack-16.1-enterprise.json");
    bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["id"].as_str().unwrap().to_string(), o.clone()))
        .collect()
}

fn refresh_on(job: &Job, server: &crate::server::TestServer, day: &str) {
    let output = job.refresh_from(server, &["--framework", "nist_800_53", "--run-date", day]);
    assert!([0, 4].contains(&code(&output)), "{}", explain(&output));
}

#[test]
fn a_changed_object_gets_a_later_modified_and_the_others_keep_their_bytes() {
    let server = fixture_site();
    let job = Job::new();
    refresh_on(&job, &server, "2026-11-29");
    let monday = objects_by_id(&job);

    let mut file: Value = serde_json::from_slice(&std::fs::read(fixture("served").join(NIST_FILE)).unwrap()).unwrap();
    let changed_capability = file["mapping_objects"][0]["capability_id"]
        .as_str()
        .unwrap()
        .to_string();
    file["mapping_objects"][0]["capability_description"] = "A new description upstream".into();
    server.replace(NIST_FILE, serde_json::to_vec_pretty(&file).unwrap());
    refresh_on(&job, &server, "2026-11-30");
    let tuesday = objects_by_id(&job);

    assert_eq!(monday.keys().collect::<Vec<_>>(), tuesday.keys().collect::<Vec<_>>());
    let changed: Vec<&String> = tuesday.keys().filter(|id| tuesday[*id] != monday[*id]).collect();
    assert_eq!(changed.len(), 1, "only the capability whose text changed: {changed:?}");
    let object = &tuesday[changed[0]];
    assert_eq!(
        object["external_references"][0]["external_id"],
        changed_capability.as_str()
    );
    assert_eq!(object["name"], "A new description upstream");
    assert_eq!(object["modified"], "2026-11-30T00:00:00.000Z");
    assert!(object["modified"].as_str() > monday[changed[0]]["modified"].as_str());

    file["mapping_objects"][0]["capability_description"] = "Changed twice on one day".into();
    server.replace(NIST_FILE, serde_json::to_vec_pretty(&file).unwrap());
    refresh_on(&job, &server, "2026-11-30");
    let evening = objects_by_id(&job);
    assert_eq!(
        evening[changed[0]]["modified"], "2026-11-30T00:00:00.001Z",
        "a second version the same day is still a later one"
    );

    refresh_on(&job, &server, "2026-12-01");
    assert_eq!(objects_by_id(&job), evening, "nothing changed: byte-identical");
}

#[test]
fn a_clean_build_takes_the_datas_dates_and_writes_the_ledger() {
    let built = build(&[fixture("mapping-files")]);
    let ledger: Value = serde_json::from_slice(&built.bytes("stix-ledger.json")).unwrap();
    let bundle: Value =
        serde_json::from_slice(&built.bytes("stix/acme_stack-01.02.2025_attack-16.1-enterprise.json")).unwrap();
    for object in bundle["objects"].as_array().unwrap() {
        let entry = &ledger["objects"][object["id"].as_str().unwrap()];
        assert_eq!(entry["modified"], object["modified"], "{}", object["id"]);
    }
}

#[test]
fn our_custom_properties_live_in_attackmaps_property_extension_as_documented() {
    let built = build(&[fixture("mapping-files")]);
    let bundle: Value =
        serde_json::from_slice(&built.bytes("stix/acme_stack-01.02.2025_attack-16.1-enterprise.json")).unwrap();
    let objects = bundle["objects"].as_array().unwrap();
    let definition = objects
        .iter()
        .find(|o| o["type"] == "extension-definition")
        .expect("one extension-definition per bundle");
    assert_eq!(definition["extension_types"], serde_json::json!(["property-extension"]));
    let id = definition["id"].as_str().unwrap();
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schemas/stix-extension.schema.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let documented: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
    let mut extended = 0;
    for object in objects {
        let custom: Vec<&String> = object
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| k.starts_with("x_"))
            .collect();
        assert!(custom.is_empty(), "{}: {custom:?}", object["id"]);
        if let Some(properties) = object["extensions"][id].as_object() {
            extended += 1;
            assert_eq!(properties["extension_type"], "property-extension");
            for key in properties.keys() {
                assert!(
                    documented.contains(&key),
                    "{key} is documented in the extension's schema"
                );
            }
        }
    }
    assert!(extended > 0);
    let relationship = objects.iter().find(|o| o["type"] == "relationship").unwrap();
    assert!(relationship["extensions"][id]["mapping_ids"].is_array());
}

/// The NIST fixture file as served, less its `mapping_objects` for which `drop` is true.
fn nist_file_without(drop: impl Fn(&Value) -> bool) -> Vec<u8> {
    let mut file: Value = serde_json::from_slice(&std::fs::read(fixture("served").join(NIST_FILE)).unwrap()).unwrap();
    file["mapping_objects"].as_array_mut().unwrap().retain(|m| !drop(m));
    serde_json::to_vec_pretty(&file).unwrap()
}

fn refresh_accepting_removals(job: &Job, server: &crate::server::TestServer, day: &str) {
    let output = job.refresh_from(
        server,
        &[
            "--framework",
            "nist_800_53",
            "--run-date",
            day,
            "--max-removed-share",
            "1",
        ],
    );
    // 3 while the pages still show the mappings the file dropped.
    assert!([0, 3, 4].contains(&code(&output)), "{}", explain(&output));
}

/// Every object of `stix/revoked.json`, by id (none when the file is absent).
fn revoked_bundle(job: &Job) -> BTreeMap<String, Value> {
    let path = job.out().join("stix/revoked.json");
    if !path.exists() {
        return BTreeMap::new();
    }
    let bundle: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["id"].as_str().unwrap().to_string(), o.clone()))
        .collect()
}

#[test]
fn an_object_gone_for_a_night_is_revoked_and_when_it_comes_back_its_version_is_later_still() {
    let server = fixture_site();
    let job = Job::new();
    refresh_accepting_removals(&job, &server, "2026-11-29");
    let monday = objects_by_id(&job);
    let is_ac02 = |o: &Value| {
        o["type"] == "relationship"
            && o["source_ref"]
                .as_str()
                .is_some_and(|s| s.starts_with("course-of-action"))
            && monday
                .values()
                .any(|c| c["id"] == o["source_ref"] && c["external_references"][0]["external_id"] == "AC-02")
    };
    let (relationship_id, relationship) = monday
        .iter()
        .find(|(_, o)| is_ac02(o))
        .map(|(i, o)| (i.clone(), o.clone()))
        .unwrap();
    assert!(revoked_bundle(&job).is_empty(), "nothing revoked on a first night");

    server.replace(NIST_FILE, nist_file_without(|m| m["capability_id"] == "AC-02"));
    refresh_accepting_removals(&job, &server, "2026-11-30");
    assert!(!objects_by_id(&job).contains_key(&relationship_id));
    let revoked = revoked_bundle(&job);
    let gone = &revoked[&relationship_id];
    assert_eq!(gone["revoked"], true, "its disappearance is a revoked version: {gone}");
    assert_eq!(gone["modified"], "2026-11-30T00:00:00.000Z");
    assert_eq!(
        gone["source_ref"], relationship["source_ref"],
        "the rest of the object as last published"
    );
    assert_eq!(
        revoked[relationship["source_ref"].as_str().unwrap()]["revoked"],
        true,
        "the control AC-02 is gone too"
    );
    let ledger: Value = job.json("stix-ledger.json");
    assert_eq!(ledger["objects"][&relationship_id]["revoked"], true);
    let validated = std::process::Command::new(env!("CARGO_BIN_EXE_attackmap"))
        .arg("validate")
        .arg(job.out().join("stix/revoked.json"))
        .output()
        .unwrap();
    assert_eq!(code(&validated), 0, "{}", explain(&validated));

    refresh_accepting_removals(&job, &server, "2026-12-01");
    assert_eq!(
        revoked_bundle(&job),
        revoked,
        "a night without change keeps the revoked versions byte for byte"
    );

    server.replace(NIST_FILE, std::fs::read(fixture("served").join(NIST_FILE)).unwrap());
    refresh_accepting_removals(&job, &server, "2026-12-02");
    let back = &objects_by_id(&job)[&relationship_id];
    assert_eq!(
        back["modified"], "2026-12-02T00:00:00.000Z",
        "later than every version published: {back}"
    );
    assert!(back.get("revoked").is_none());
    assert!(
        !revoked_bundle(&job).contains_key(&relationship_id),
        "no longer listed as revoked"
    );
}

#[test]
fn a_ledger_that_does_not_read_fails_the_run_naming_it_and_out_stays_as_it_was() {
    let server = fixture_site();
    let job = Job::new();
    refresh_on(&job, &server, "2026-11-29");
    std::fs::write(
        job.out().join("stix-ledger.json"),
        b"{\"objects\": {\"relationship--1\": ",
    )
    .unwrap();
    let before = job.snapshot();
    let output = job.refresh_from(&server, &["--framework", "nist_800_53", "--run-date", "2026-11-30"]);
    assert_eq!(code(&output), 1, "{}", explain(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("stix-ledger.json") && stderr.contains("delete it"),
        "{stderr}"
    );
    assert_eq!(job.snapshot(), before);

    let built = build(&[fixture("mapping-files")]);
    std::fs::write(built.file("stix-ledger.json"), b"not json").unwrap();
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_attackmap"))
        .args(["build", "--input"])
        .arg(fixture("mapping-files"))
        .arg("--out")
        .arg(built.out.path())
        .output()
        .unwrap();
    assert_eq!(code(&again), 1, "{}", explain(&again));
    assert!(String::from_utf8_lossy(&again.stderr).contains("stix-ledger.json"));
}

#[test]
fn publish_taxii_tells_the_collection_that_an_object_is_gone() {
    let server = fixture_site();
    let job = Job::new();
    let collection = crate::taxii_collection::TaxiiCollection::start();
    refresh_accepting_removals(&job, &server, "2026-11-29");
    assert!(!collection.publish(&job).is_empty());

    server.replace(NIST_FILE, nist_file_without(|m| m["capability_id"] == "AC-02"));
    refresh_accepting_removals(&job, &server, "2026-11-30");
    let posted = collection.publish(&job);
    let revoked: Vec<&Value> = posted.iter().filter(|o| o["revoked"] == true).collect();
    assert!(!revoked.is_empty(), "the revoked versions are posted: {posted:?}");
    for object in &revoked {
        assert_eq!(object["modified"], "2026-11-30T00:00:00.000Z");
        assert_eq!(revoked_bundle(&job)[object["id"].as_str().unwrap()], **object);
    }
    assert!(
        posted.iter().all(|o| o["revoked"] == true),
        "nothing else changed, nothing else is posted: {posted:?}"
    );
}
