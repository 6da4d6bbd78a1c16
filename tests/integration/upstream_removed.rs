//! What upstream removed disappears from out/: a raw file the night's crawl no longer reaches is
//! retired from the build (kept in `raw/.retired/`), and its rows are reported as removed; a night
//! that would remove too much refuses to publish.

use crate::helpers::*;
use crate::refresh::{code, explain, fixture_site, Job};

const BOTH: &str = "nist_800_53,acme_stack";
const ACME: &str = "mapping-files/acme_stack-1.0_attack-16.1-enterprise.json";
const ACME_SITE_PATH: &str =
    "data/acme_stack/attack-16.1/acme_stack-1.0/enterprise/acme_stack-1.0_attack-16.1-enterprise.json";

/// A job whose published out/ holds the fixture site's NIST dataset and an ACME dataset that an
/// earlier night fetched (a raw file with its sidecar) and the site has since dropped.
fn a_job_with_a_dataset_the_site_no_longer_lists() -> Job {
    let job = Job::new();
    assert_eq!(code(&job.refresh(&fixture_site())), 0);
    let raw_file = job.dir.path().join("raw").join(ACME_SITE_PATH);
    std::fs::create_dir_all(raw_file.parent().unwrap()).unwrap();
    std::fs::copy(fixture(ACME), &raw_file).unwrap();
    let sidecar = serde_json::json!({
        "url": format!("https://example.org/{ACME_SITE_PATH}"),
        "etag": "\"old\"", "last_modified": null, "sha256": "", "fetched_at": "2026-11-01T00:00:00.000Z"
    });
    let sidecar_path = raw_file.with_file_name(format!(
        ".{}.fetch.json",
        raw_file.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(sidecar_path, sidecar.to_string()).unwrap();
    let offline = job.command(&["--offline", "--framework", BOTH]).output().unwrap();
    assert_eq!(code(&offline), 0, "{}", explain(&offline));
    let csv = std::fs::read_to_string(job.out().join("mappings.csv")).unwrap();
    assert!(csv.contains("acme_stack"), "the published out/ holds the dataset");
    job
}

/// Tonight's refresh of the NIST dataset from the fixture site, with `extra` flags.
fn refresh_nist(job: &Job, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["--framework", "nist_800_53"];
    args.extend_from_slice(extra);
    job.refresh_from(&fixture_site(), &args)
}

#[test]
fn a_dataset_the_site_no_longer_lists_leaves_out_and_is_reported_removed() {
    let job = a_job_with_a_dataset_the_site_no_longer_lists();
    let output = refresh_nist(&job, &["--max-removed-share", "1"]);
    assert_eq!(code(&output), 0, "{}", explain(&output));
    let changes = job.json("changes.json");
    assert_eq!(changes["removed"], 5, "ACME's 5 mappings: {changes}");
    let csv = std::fs::read_to_string(job.out().join("mappings.csv")).unwrap();
    assert!(!csv.contains("acme_stack"), "no row of it is left");
    assert_eq!(
        job.json("manifest.json")["retired"],
        serde_json::json!([ACME_SITE_PATH])
    );
    assert!(job.dir.path().join("raw/.retired").join(ACME_SITE_PATH).exists());

    let offline = job
        .command(&["--offline", "--framework", "acme_stack"])
        .output()
        .unwrap();
    assert_eq!(
        code(&offline),
        2,
        "retired: no longer in the build\n{}",
        explain(&offline)
    );
}

#[test]
fn a_night_that_would_remove_more_than_the_allowed_share_publishes_nothing() {
    let job = a_job_with_a_dataset_the_site_no_longer_lists();
    let before = job.snapshot();
    let output = refresh_nist(&job, &["--max-removed-share", "0.1"]);
    assert_eq!(code(&output), 1, "ACME's 5 of 25 mappings: {}", explain(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--max-removed-share"), "{stderr}");
    assert_eq!(job.snapshot(), before, "the previous out/ is intact");
}

#[test]
fn an_offline_refresh_builds_from_all_of_raw() {
    let job = a_job_with_a_dataset_the_site_no_longer_lists();
    let output = job.command(&["--offline", "--framework", BOTH]).output().unwrap();
    assert_eq!(code(&output), 4, "{}", explain(&output));
    assert!(job.dir.path().join("raw").join(ACME_SITE_PATH).exists());
}
