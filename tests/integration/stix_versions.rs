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
