//! The shapes of the real site that made real nights fail or warn forever, on a hand-written site
//! (`fixtures/upstream/`): a site framework id holding a hyphen (`intel-vpro`), capability ids holding
//! `&` (CSA CCM's `I&S-03`, written `I&amp;S-03` in hrefs), a Mobile dataset whose ATT&CK version and
//! domain have no technique pages at all (KEV), and an ATT&CK bundle the site lacks that no selected
//! dataset is of (ICS). A healthy night of such a site publishes everything and exits 0.

use std::process::Output;

use serde_json::Value;

use crate::helpers::*;
use crate::refresh::{code, explain, Job};
use crate::server::{Fault, TestServer};

const INTEL_VPRO_FILE: &str =
    "data/intel-vpro/attack-16.1/intel-vpro-08.20.2024/enterprise/intel-vpro-08.20.2024_attack-16.1-enterprise.json";
const MOBILE_INDEX: &str = "attack/attack-16.1/domain-mobile/techniques/";

/// The hand-written site, with the sample's Enterprise and Mobile ATT&CK 16.1 bundles at
/// `data/attack/` and no ICS bundle (no dataset of it is ICS).
fn upstream_site() -> TestServer {
    let server = TestServer::serving(&[fixture("upstream")]);
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("raw/data/attack");
    for domain in ["enterprise", "mobile"] {
        let name = format!("{domain}-attack-16.1.json");
        server.replace(
            &format!("data/attack/{name}"),
            std::fs::read(sample.join(&name)).unwrap(),
        );
    }
    server
}

/// `attackmap refresh` of every dataset the site publishes at ATT&CK 16.1, every domain.
fn refresh_every_domain(job: &Job, server: &TestServer) -> Output {
    job.refresh_from(
        server,
        &["--attack-version", "16.1", "--domain", "all", "--timeout", "2"],
    )
}

fn published_datasets(job: &Job) -> Vec<String> {
    job.json("report.json")["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["dataset"].as_str().unwrap().to_string())
        .collect()
}

fn site_dataset<'a>(manifest: &'a Value, name: &str) -> &'a Value {
    manifest["site_datasets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["dataset"] == name)
        .unwrap_or_else(|| panic!("{name} in site_datasets: {}", manifest["site_datasets"]))
}

#[test]
fn a_night_of_the_sites_real_shapes_publishes_every_dataset_and_exits_0() {
    let server = upstream_site();
    let job = Job::new();
    let output = refresh_every_domain(&job, &server);
    assert_eq!(code(&output), 0, "{}", explain(&output));
    assert_eq!(
        published_datasets(&job),
        [
            "csa_ccm-4.1_attack-16.1-enterprise",
            "intel-vpro-08.20.2024_attack-16.1-enterprise",
            "kev-02.13.2025_attack-16.1-enterprise",
            "kev-02.13.2025_attack-16.1-mobile",
        ]
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("WARN"), "nothing for a person to look at: {stderr}");
    let requested: Vec<String> = server.seen().into_iter().map(|s| s.path).collect();
    assert!(
        requested.iter().any(|p| p == INTEL_VPRO_FILE),
        "Intel vPro's mapping file is asked for as the site names it: {requested:?}"
    );
}

#[test]
fn capability_links_with_an_ampersand_are_followed_as_the_page_means_them() {
    let server = upstream_site();
    let job = Job::new();
    let output = refresh_every_domain(&job, &server);
    assert_eq!(code(&output), 0, "{}", explain(&output));
    let manifest = job.json("manifest.json");
    assert_eq!(
        manifest["refused_links"],
        serde_json::json!([]),
        "no link of the site is refused"
    );
    let csa = site_dataset(&manifest, "csa_ccm-4.1_attack-16.1-enterprise");
    assert_eq!(csa["linked_from_technique_pages"], true, "{csa}");
    let table = job.json("report.json");
    let csa_rows = table["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["dataset"] == "csa_ccm-4.1_attack-16.1-enterprise")
        .unwrap();
    assert_eq!(csa_rows["counts"]["mappings"], 2, "I&S-03 and A&A-02: {csa_rows}");
}

#[test]
fn a_dataset_without_technique_pages_is_published_and_said_not_cross_checked() {
    let server = upstream_site();
    let job = Job::new();
    let output = refresh_every_domain(&job, &server);
    assert_eq!(code(&output), 0, "{}", explain(&output));
    let why = "no technique pages at attack/attack-16.1/domain-mobile/techniques/";
    let manifest = job.json("manifest.json");
    let mobile = site_dataset(&manifest, "kev-02.13.2025_attack-16.1-mobile");
    assert_eq!(mobile["state"], "complete");
    assert_eq!(mobile["not_cross_checked"], why);
    let enterprise = site_dataset(&manifest, "kev-02.13.2025_attack-16.1-enterprise");
    assert!(enterprise.get("not_cross_checked").is_none(), "{enterprise}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("could not be cross-checked: {why}")),
        "{stdout}"
    );
    let report = std::fs::read_to_string(job.out().join("report.html")).unwrap();
    assert!(report.contains(&format!("could not be cross-checked, {why}")));
}

#[test]
fn a_technique_index_that_fails_otherwise_than_404_still_fails_the_night() {
    let server = upstream_site();
    server.fail_always(MOBILE_INDEX, Fault::Status(500));
    let job = Job::new();
    let output = refresh_every_domain(&job, &server);
    assert_eq!(code(&output), 1, "{}", explain(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(MOBILE_INDEX) && stderr.contains("HTTP 500"), "{stderr}");
    assert!(!job.out().exists(), "nothing was published");
}

#[test]
fn only_a_missing_bundle_a_selected_dataset_is_of_is_a_warning() {
    let server = upstream_site();
    server.fail_always("data/attack/mobile-attack-16.1.json", Fault::Status(404));
    let job = Job::new();
    let output = refresh_every_domain(&job, &server);
    assert!(matches!(code(&output), 0 | 3), "published: {}", explain(&output));
    let missing: Vec<String> = job.json("manifest.json")["missing_catalogues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["url"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        missing,
        [format!("{}data/attack/mobile-attack-16.1.json", server.base_url)],
        "KEV Mobile needs the Mobile bundle; no dataset is ICS, so the ICS bundle the site lacks is no warning"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("mobile-attack-16.1.json"), "{stderr}");
    assert!(!stderr.contains("ics-attack-16.1.json"), "{stderr}");
}

/// The real site's current releases as served on loopback: `site-next/` (15.1 and 17.1) over the
/// framework pages and the 16.1 snapshot, and a second host serving `../shared/attack/` for the
/// bundles the snapshot does not repeat (`--attack-url`); `None` (and a printed reason) without it.
fn real_site_with_its_other_releases() -> Option<(TestServer, TestServer)> {
    let mut roots = vec![shared("site-next")?];
    roots.extend(shared_site_as_served()?);
    Some((TestServer::serving(&roots), TestServer::serving(&[shared("attack")?])))
}

/// `attackmap refresh` of the real site with `selection`, the bundles it lacks from `attack`.
fn refresh_real(job: &Job, site: &TestServer, attack: &TestServer, selection: &[&str]) -> Output {
    let template = format!("{}{{domain}}-attack-{{version}}.json", attack.base_url);
    let mut args = vec!["--attack-url", template.as_str(), "--concurrency", "8"];
    args.extend_from_slice(selection);
    job.refresh_from(site, &args)
}

#[test]
fn the_real_intel_vpro_and_kev_mobile_at_15_1_are_published_and_exit_0() {
    let Some((site, attack)) = real_site_with_its_other_releases() else {
        return;
    };
    let job = Job::new();
    let output = refresh_real(&job, &site, &attack, &["--attack-version", "15.1", "--domain", "all"]);
    assert_eq!(code(&output), 0, "{}", explain(&output));
    assert_eq!(
        published_datasets(&job),
        [
            "intel-vpro-08.20.2024_attack-15.1-enterprise",
            "kev-02.13.2025_attack-15.1-enterprise",
            "kev-02.13.2025_attack-15.1-mobile",
        ]
    );
    let manifest = job.json("manifest.json");
    let mobile = site_dataset(&manifest, "kev-02.13.2025_attack-15.1-mobile");
    assert_eq!(
        mobile["not_cross_checked"],
        "no technique pages at attack/attack-15.1/domain-mobile/techniques/"
    );
}

#[test]
fn the_real_csa_ccm_at_17_1_is_followed_through_its_ampersands_and_exits_0() {
    let Some((site, attack)) = real_site_with_its_other_releases() else {
        return;
    };
    let job = Job::new();
    let output = refresh_real(&job, &site, &attack, &["--attack-version", "17.1"]);
    assert_eq!(code(&output), 0, "{}", explain(&output));
    let manifest = job.json("manifest.json");
    assert_eq!(manifest["refused_links"], serde_json::json!([]));
    let csa = site_dataset(&manifest, "csa_ccm-4.1_attack-17.1-enterprise");
    assert_eq!(csa["linked_from_technique_pages"], true, "{csa}");
    let report = job.json("report.json");
    assert_eq!(report["datasets"][0]["counts"]["mappings"], 938);
}
