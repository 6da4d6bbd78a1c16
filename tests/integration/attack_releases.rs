//! ATT&CK 15.1 to 18.1, as MITRE's release files and as its STIX 2.1 collection publish them (both
//! in ../shared/attack): each loads as the catalogue of its domain and version, resolves every
//! technique and its revoked or deprecated status, and its objects embedded in attackmap's STIX
//! bundles are valid STIX 2.1.

use std::path::{Path, PathBuf};

use attackmap::sources::attack_stix::AttackCatalog;
use serde_json::{json, Value};

use crate::helpers::*;

const RELEASES: &[&str] = &["15.1", "16.1", "17.1", "18.1"];
const DOMAINS: &[&str] = &["enterprise", "mobile", "ics"];

/// Every ATT&CK bundle of ../shared/attack, with its domain and version; `None` (and a printed
/// reason) without the snapshot.
fn shared_bundles() -> Option<Vec<(PathBuf, &'static str, &'static str)>> {
    let mut bundles = Vec::new();
    for version in RELEASES {
        for domain in DOMAINS {
            bundles.push((
                shared(&format!("attack/{domain}-attack-{version}.json"))?,
                *domain,
                *version,
            ));
        }
    }
    for (domain, version) in [("ics", "16.1"), ("ics", "17.1"), ("ics", "18.1"), ("mobile", "17.1")] {
        bundles.push((
            shared(&format!("attack/stix-2.1/{domain}-attack-{version}.json"))?,
            domain,
            version,
        ));
    }
    Some(bundles)
}

/// The distinct ATT&CK ids of a bundle's attack-patterns, and how many of them are revoked or deprecated.
fn attack_patterns_in(path: &Path) -> (std::collections::BTreeSet<String>, usize) {
    let bundle: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut ids = std::collections::BTreeSet::new();
    let mut retired = std::collections::BTreeSet::new();
    for object in bundle["objects"].as_array().unwrap() {
        if object["type"] != "attack-pattern" {
            continue;
        }
        let Some(id) = object["external_references"]
            .as_array()
            .and_then(|refs| refs.iter().find(|r| r["source_name"] == "mitre-attack"))
            .and_then(|r| r["external_id"].as_str())
        else {
            continue;
        };
        ids.insert(id.to_string());
        if object["revoked"] == true || object["x_mitre_deprecated"] == true {
            retired.insert(id.to_string());
        }
    }
    (ids, retired.len())
}

#[test]
fn every_release_from_15_1_to_18_1_loads_as_the_catalogue_of_its_domain_and_version() {
    let Some(bundles) = shared_bundles() else { return };
    for (path, domain, version) in bundles {
        let catalog = AttackCatalog::load(std::slice::from_ref(&path))
            .unwrap_or_else(|e| panic!("{} does not load: {e}", path.display()));
        let bundle = &catalog.bundles[0];
        assert_eq!(bundle.domain, domain, "{}", path.display());
        assert_eq!(bundle.version.as_deref(), Some(version), "{}", path.display());
        let (expected, retired) = attack_patterns_in(&path);
        let found: std::collections::BTreeSet<String> = bundle.techniques().map(|(id, _)| id.to_string()).collect();
        assert_eq!(
            found,
            expected,
            "{}: every attack-pattern is a technique",
            path.display()
        );
        let not_live = bundle.techniques().filter(|(_, t)| t.retired).count();
        assert!(
            not_live <= retired,
            "{}: a live technique is taken for retired",
            path.display()
        );
        assert!(!bundle.tactics().is_empty(), "{}: the matrix's tactics", path.display());
        let statuses: Vec<&str> = bundle
            .techniques()
            .filter_map(|(id, _)| catalog.status(version, domain, id))
            .map(|s| s.as_str())
            .collect();
        assert!(statuses.contains(&"live"), "{}", path.display());
        if domain == "enterprise" {
            assert_eq!(catalog.status(version, domain, "T1562").unwrap().as_str(), "live");
            let replaced = bundle.techniques().filter(|(_, t)| t.revoked_by.is_some()).count();
            assert!(
                replaced > 50,
                "{}: revoked-by followed for {replaced} techniques",
                path.display()
            );
        }
    }
}

/// The fixture mapping file moved to ATT&CK `version`.
fn acme_at(version: &str, dir: &Path) -> PathBuf {
    let mut file: Value = serde_json::from_slice(
        &std::fs::read(fixture("mapping-files/acme_stack-1.0_attack-16.1-enterprise.json")).unwrap(),
    )
    .unwrap();
    file["metadata"]["attack_version"] = json!(version);
    let path = dir.join(format!("acme_stack-1.0_attack-{version}-enterprise.json"));
    std::fs::write(&path, file.to_string()).unwrap();
    path
}

#[test]
fn attacks_objects_of_every_release_are_stix_2_1_objects_in_our_bundles() {
    let Some(_) = shared_bundles() else { return };
    let dir = tempfile::tempdir().unwrap();
    for version in RELEASES {
        let bundle = shared(&format!("attack/enterprise-attack-{version}.json")).unwrap();
        let built = build(&[acme_at(version, dir.path()), bundle]);
        built.assert_succeeded();
        let name = format!("stix/acme_stack-01.02.2025_attack-{version}-enterprise.json");
        let stix: Value = serde_json::from_slice(&built.bytes(&name)).unwrap();
        let objects = stix["objects"].as_array().unwrap();
        let t1562 = objects
            .iter()
            .find(|o| o["type"] == "attack-pattern" && o["external_references"][0]["external_id"] == "T1562")
            .unwrap_or_else(|| panic!("{version}: ATT&CK's own T1562"));
        assert!(
            t1562["x_mitre_domains"].is_array(),
            "{version}: MITRE's object, not a stand-in"
        );
        for object in objects {
            assert_eq!(object["spec_version"], "2.1", "{version}: {}", object["id"]);
        }
        let validated = std::process::Command::new(env!("CARGO_BIN_EXE_attackmap"))
            .arg("validate")
            .arg(built.file(&name))
            .output()
            .unwrap();
        assert!(
            validated.status.success(),
            "{version}: {}",
            String::from_utf8_lossy(&validated.stdout)
        );
    }
}
