//! ATT&CK comes with the inputs: `build` finds ATT&CK bundles among them by content (the site
//! publishes its own at `data/attack/`), `--attack-stix` overrides one, and `refresh` fetches them,
//! from the site or from the `--attack-url` a user names.

use std::path::{Path, PathBuf};

use crate::helpers::*;
use crate::refresh::{code, explain, Job};
use crate::server::TestServer;

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("raw")
}

const BUNDLE: &str = "data/attack/enterprise-attack-16.1.json";

#[test]
fn a_bundle_among_the_inputs_is_the_catalogue_of_its_domain_and_version() {
    let built = build(&[sample()]);
    built.assert_succeeded();
    let report = built.report();
    assert_eq!(report["inputs"]["attack_bundles"], 3, "enterprise, mobile and ics");
    assert_eq!(report["skipped"], serde_json::json!([]));
    let used: Vec<&str> = report["exports"]["attack_bundles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap())
        .collect();
    assert!(used.iter().any(|u| u.ends_with(BUNDLE)), "{used:?}");
    assert!(!built.stderr.contains("stand-ins"), "{}", built.stderr);
    let stix: serde_json::Value =
        serde_json::from_slice(&built.bytes("stix/nist_800_53-rev5_attack-16.1-enterprise.json")).unwrap();
    let sample_bundle: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sample().join(BUNDLE)).unwrap()).unwrap();
    let t1562 = sample_bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["external_references"][0]["external_id"] == "T1562")
        .unwrap();
    assert!(
        stix["objects"].as_array().unwrap().iter().any(|o| o == t1562),
        "the bundle's own attack-pattern, byte for byte"
    );
}

#[test]
fn attack_stix_overrides_a_bundle_found_among_the_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let explicit = dir.path().join("enterprise-attack-16.1.json");
    std::fs::copy(sample().join(BUNDLE), &explicit).unwrap();
    let built = build_with_attack(&[sample()], std::slice::from_ref(&explicit));
    built.assert_succeeded();
    let used = built.report()["exports"]["attack_bundles"].clone();
    assert_eq!(
        used[0],
        explicit.display().to_string(),
        "the explicit bundle first: {used}"
    );
    assert!(
        used.as_array()
            .unwrap()
            .iter()
            .all(|u| !u.as_str().unwrap().ends_with(BUNDLE)),
        "the found enterprise bundle is overridden: {used}"
    );
}

#[test]
fn a_bundle_the_site_lacks_comes_from_the_attack_url_named() {
    let site = TestServer::serving(&[fixture("served"), fixture("site")]);
    let mirror = TestServer::serving(&[sample().join("data/attack")]);
    let job = Job::new();
    let template = format!("{}{{domain}}-attack-{{version}}.json", mirror.base_url);
    let output = job.refresh_from(&site, &["--framework", "nist_800_53", "--attack-url", &template]);
    assert_eq!(code(&output), 0, "{}", explain(&output));
    let manifest = job.json("manifest.json");
    assert!(manifest["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["url"] == format!("{}enterprise-attack-16.1.json", mirror.base_url)));
    assert_eq!(manifest["export_warnings"], serde_json::json!([]));
    assert_eq!(manifest["missing_catalogues"], serde_json::json!([]));
}

#[test]
fn a_bundle_nobody_serves_is_a_warning_not_a_failed_night() {
    let site = TestServer::serving(&[fixture("served"), fixture("site")]);
    let job = Job::new();
    let output = job.refresh_from(&site, &["--framework", "nist_800_53"]);
    assert_eq!(code(&output), 0, "{}", explain(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no ATT&CK bundle") && stderr.contains("stand-ins"),
        "{stderr}"
    );
    let manifest = job.json("manifest.json");
    assert_eq!(manifest["missing_catalogues"].as_array().unwrap().len(), 1);
    assert_eq!(manifest["export_warnings"].as_array().unwrap().len(), 1);
}
