//! The crawl finds datasets through the site's framework pages as well as its technique pages: a
//! dataset only its framework page advertises is published, and one it advertises but cannot be
//! fetched fails the run by name.

use std::path::Path;

use crate::helpers::*;
use crate::refresh::{code, explain, Job};
use crate::server::TestServer;

const REV4: &str = "nist_800_53-rev4_attack-16.1-enterprise";
const REV5: &str = "nist_800_53-rev5_attack-16.1-enterprise";

/// The fixture site, with `framework-only/` laid over it: a framework page advertising NIST rev4, its
/// landing page and mapping file, which no technique page links to.
fn site_with_a_dataset_only_its_framework_page_advertises() -> TestServer {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("raw");
    TestServer::serving(&[fixture("framework-only"), fixture("served"), fixture("site"), sample])
}

fn site_dataset<'a>(manifest: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    manifest["site_datasets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["dataset"] == name)
        .unwrap_or_else(|| panic!("{name} in the manifest's site_datasets: {}", manifest["site_datasets"]))
}

#[test]
fn a_dataset_only_its_framework_page_advertises_is_published() {
    let server = site_with_a_dataset_only_its_framework_page_advertises();
    let job = Job::new();
    let output = job.refresh(&server);
    assert_eq!(code(&output), 0, "{}", explain(&output));

    let manifest = job.json("manifest.json");
    let rev4 = site_dataset(&manifest, REV4);
    assert_eq!(rev4["advertised_by"], "external/nist/");
    assert_eq!(rev4["linked_from_technique_pages"], false);
    assert_eq!(rev4["state"], "complete");
    let rev5 = site_dataset(&manifest, REV5);
    assert_eq!(rev5["linked_from_technique_pages"], true);
    assert_eq!(rev5["state"], "complete");

    let report = job.json("report.json");
    let published: Vec<&str> = report["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["dataset"].as_str().unwrap())
        .collect();
    assert_eq!(published, [REV4, REV5], "both datasets are in the outputs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("site: 2 datasets advertised for the selection, 2 found; 2 fetched completely"),
        "{stdout}"
    );
    assert!(stdout.contains("advertised only by external/nist/"), "{stdout}");
    let report = std::fs::read_to_string(job.out().join("report.html")).unwrap();
    assert!(
        report.contains(manifest["run_id"].as_str().unwrap()),
        "refresh's report names its run"
    );
    assert!(report.contains("Datasets the site advertises"));
    assert!(report.contains(&format!("<tr><td>{REV4}</td><td>external/nist/</td><td>no</td>")));
}

#[test]
fn a_dataset_advertised_whose_pages_answer_404_fails_the_run_naming_it() {
    let server = fixture_site_with_served_framework_page_of("framework-only");
    let job = Job::new();
    let output = job.refresh(&server);
    assert_eq!(code(&output), 1, "{}", explain(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("so dataset {REV4} (advertised by external/nist/) is missing")),
        "{stderr}"
    );
    assert!(
        stderr.contains("external/nist/attack-16.1/domain-enterprise/nist-rev4/: HTTP 404"),
        "{stderr}"
    );
    assert!(!job.out().exists(), "nothing was published");
}

#[test]
fn all_attack_versions_mirror_every_dataset_the_framework_page_advertises() {
    let server = crate::refresh::fixture_site();
    let job = Job::new();
    let output = job.refresh_from(
        &server,
        &[
            "--framework",
            "nist_800_53",
            "--attack-version",
            "all",
            "--timeout",
            "1",
        ],
    );
    // The fixture's framework page also advertises NIST rev5 for ATT&CK 14.1, which it does not serve.
    assert_eq!(code(&output), 1, "{}", explain(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("nist_800_53-rev5_attack-14.1-enterprise (advertised by external/nist/)"),
        "{stderr}"
    );
    let asked: Vec<String> = server.seen().into_iter().map(|s| s.path).collect();
    assert!(
        asked
            .iter()
            .any(|p| p == "attack/attack-14.1/domain-enterprise/techniques/"),
        "the 14.1 technique index was asked for: {asked:?}"
    );
}

#[test]
fn a_selection_never_asks_for_what_its_framework_page_advertises_for_other_versions() {
    let server = crate::refresh::fixture_site();
    let job = Job::new();
    let output = job.refresh(&server);
    assert_eq!(code(&output), 0, "{}", explain(&output));
    let asked: Vec<String> = server.seen().into_iter().map(|s| s.path).collect();
    assert!(asked.iter().any(|p| p == "external/nist/"), "{asked:?}");
    assert!(!asked.iter().any(|p| p.contains("14.1")), "{asked:?}");
}

/// The fixture site whose `external/nist/` is the one of `overlay`, without the overlay's other files.
fn fixture_site_with_served_framework_page_of(overlay: &str) -> TestServer {
    let server = crate::refresh::fixture_site();
    let page = std::fs::read(fixture(overlay).join("external/nist/index.html")).unwrap();
    server.replace("external/nist/", page);
    server
}

#[test]
fn a_build_of_raw_reads_the_framework_pages_as_pages_without_mappings() {
    let server = site_with_a_dataset_only_its_framework_page_advertises();
    let job = Job::new();
    assert_eq!(code(&job.refresh(&server)), 0);
    let built = build(&[job.dir.path().join("raw")]);
    assert_eq!(built.code, 0, "{}", built.stderr);
    let report = built.report();
    let without: Vec<&str> = report["without_mappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    assert!(without.contains(&"external/nist/index.html"), "{without:?}");
    assert!(without.contains(&"external/index.html"), "{without:?}");
    let datasets: Vec<&str> = report["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["dataset"].as_str().unwrap())
        .collect();
    assert!(datasets.contains(&REV4) && datasets.contains(&REV5), "{datasets:?}");
}

#[test]
fn a_dataset_technique_pages_link_to_but_no_framework_page_advertises_is_fetched_with_a_warning() {
    let server = crate::refresh::fixture_site();
    let page = std::fs::read_to_string(fixture("served").join("external/nist/index.html")).unwrap();
    let only_14_1 = page.replace("(&#39;rev5&#39;, &#39;16.1&#39;, &#39;Enterprise&#39;), ", "");
    assert_ne!(only_14_1, page);
    server.replace("external/nist/", only_14_1.into_bytes());
    let job = Job::new();
    // 16.1 named: with `latest`, the framework page's 14.1 would be the newest, and only 14.1's
    // technique pages would be read.
    let only_16_1_enterprise = ["--attack-version", "16.1", "--domain", "enterprise"];
    let output = job.refresh_from(
        &server,
        &[&["--framework", "nist_800_53"], &only_16_1_enterprise[..]].concat(),
    );
    assert_eq!(code(&output), 3, "{}", explain(&output));
    assert_eq!(
        site_dataset(&job.json("manifest.json"), REV5)["advertised_by"],
        serde_json::Value::Null
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("linked from technique pages but advertised by no framework page"),
        "{stdout}"
    );
}
