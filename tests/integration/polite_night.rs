//! A polite night: when a dataset's mapping file, framework page and ATT&CK bundle are unchanged, its
//! technique pages are re-fetched on a rotation (`--recheck-days`, by the run date), the others used
//! from raw/; a changed dataset gets every page the same night.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::helpers::*;
use crate::refresh::{code, data_outputs, explain, Job, NIST_FILE, T1562};
use crate::server::TestServer;

const INDEX: &str = "attack/attack-16.1/domain-enterprise/techniques/";
const FRAMEWORK_PAGE: &str = "external/nist/";
const BUNDLE: &str = "data/attack/enterprise-attack-16.1.json";
/// Techniques no framework maps, beside the fixtures' T1562: 28 technique pages in all.
const UNMAPPED: std::ops::Range<u32> = 1001..1028;

/// The fixture site with a technique index of 28 pages: T1562 and 27 pages without mapping tables.
struct Site {
    server: TestServer,
    technique_pages: BTreeSet<String>,
    _pages: tempfile::TempDir,
}

fn a_site_of_28_technique_pages() -> Site {
    let pages = tempfile::tempdir().unwrap();
    let mut technique_pages = BTreeSet::from([T1562.to_string()]);
    let mut rows = String::new();
    for number in UNMAPPED {
        let path = format!("{INDEX}T{number}/");
        write(
            pages.path(),
            &format!("{path}index.html"),
            &technique_page_without_mappings(number),
        );
        technique_pages.insert(path);
    }
    for path in &technique_pages {
        rows.push_str(&format!("<tr><td><a href=\"{LIVE}{path}\">a technique</a></td></tr>\n"));
    }
    write(
        pages.path(),
        &format!("{INDEX}index.html"),
        &page("ATT&amp;CK Techniques", &rows),
    );
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("raw");
    let roots = [pages.path().to_path_buf(), fixture("served"), fixture("site"), sample];
    Site {
        server: TestServer::serving(&roots),
        technique_pages,
        _pages: pages,
    }
}

const LIVE: &str = "https://center-for-threat-informed-defense.github.io/mappings-explorer/";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title} - Mappings Explorer</title>\n\
         <meta property=\"og:site_name\" content=\"Mappings Explorer | The Center for Threat-Informed Defense\" />\n</head>\n<body>\n\
         <div class=\"breadcrumbs\"><ol><li><a href=\"{LIVE}\">Home</a></li><li>ATT&amp;CK Techniques</li></ol></div>\n\
         <h1>{title}</h1>\n<table>\n{body}</table>\n</body>\n</html>\n"
    )
}

fn technique_page_without_mappings(number: u32) -> String {
    page(&format!("T{number} A technique no framework maps"), "")
}

fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// One night of the NIST dataset at `run_date`, with the default rotation (a week) unless `extra`
/// names `--recheck-days`.
fn night(job: &Job, site: &Site, run_date: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "--base-url",
        &site.server.base_url,
        "--rate-limit",
        "1000",
        "--retries",
        "2",
        "--backoff",
        "0.05",
        "--framework",
        "nist_800_53",
        "--run-date",
        run_date,
    ];
    args.extend_from_slice(extra);
    job.command(&args)
        .env_remove("ATTACKMAP_RECHECK_DAYS")
        .output()
        .unwrap()
}

/// The paths the server was asked for since it last forgot, each with how many times.
fn asked(site: &Site) -> BTreeMap<String, usize> {
    let mut asked = BTreeMap::new();
    for seen in site.server.seen() {
        *asked.entry(seen.path).or_default() += 1;
    }
    site.server.forget_seen();
    asked
}

fn technique_pages_asked(site: &Site, asked: &BTreeMap<String, usize>) -> BTreeSet<String> {
    asked
        .keys()
        .filter(|path| site.technique_pages.contains(*path))
        .cloned()
        .collect()
}

/// The data outputs (see [`data_outputs`]) that differ between two snapshots of out/, but for the
/// change feed's partition of each run date.
fn differing_outputs(before: &BTreeMap<PathBuf, Vec<u8>>, after: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<PathBuf> {
    let (before, after) = (data_outputs(before), data_outputs(after));
    let paths: BTreeSet<&PathBuf> = before.keys().chain(after.keys()).collect();
    paths
        .into_iter()
        .filter(|path| !path.to_string_lossy().contains("run_date="))
        .filter(|path| before.get(*path) != after.get(*path))
        .cloned()
        .collect()
}

/// A first night: everything fetched, published with changes.
fn a_first_night(job: &Job, site: &Site) {
    let output = night(job, site, "2025-03-01", &[]);
    assert_eq!(code(&output), 0, "{}", explain(&output));
    let first = asked(site);
    assert_eq!(
        technique_pages_asked(site, &first),
        site.technique_pages,
        "no stored copy: every page"
    );
}

#[test]
fn an_unchanged_night_asks_for_its_datasets_sources_and_a_seventh_of_the_technique_pages() {
    let site = a_site_of_28_technique_pages();
    let job = Job::new();
    a_first_night(&job, &site);
    let before = job.snapshot();
    let inputs_before = job.json("manifest.json")["inputs"].as_array().unwrap().len();

    let output = night(&job, &site, "2025-03-02", &[]);
    assert_eq!(code(&output), 4, "nothing changed\n{}", explain(&output));
    assert_eq!(
        differing_outputs(&before, &job.snapshot()),
        Vec::<PathBuf>::new(),
        "byte-identical outputs"
    );
    let asked = asked(&site);
    let pages = technique_pages_asked(&site, &asked);
    let everything_else: BTreeSet<&str> = asked
        .keys()
        .map(String::as_str)
        .filter(|path| !site.technique_pages.contains(*path))
        .collect();
    assert_eq!(
        everything_else,
        BTreeSet::from([
            "external/",
            FRAMEWORK_PAGE,
            BUNDLE,
            "data/attack/mobile-attack-16.1.json",
            "data/attack/ics-attack-16.1.json",
            INDEX,
            "external/nist/attack-16.1/domain-enterprise/nist-rev5/",
            "external/nist/attack-16.1/domain-enterprise/nist-rev5/all-data.html",
            NIST_FILE,
        ]),
        "the frameworks page, NIST's page, the 3 bundles, the index, the landing and all-data pages, the mapping file"
    );
    assert!(asked.values().all(|&times| times == 1), "each once: {asked:?}");
    assert!(
        !pages.is_empty() && pages.len() <= 8,
        "about a seventh of the 28 technique pages: {pages:?}"
    );

    let manifest = job.json("manifest.json");
    let cost = &manifest["night_cost"];
    assert_eq!(cost["requests"], 9 + pages.len(), "{cost}");
    assert_eq!(cost["recheck_days"], 7);
    assert_eq!(cost["technique_pages"], 28);
    assert_eq!(cost["technique_pages_from_raw"], 28 - pages.len());
    assert_eq!(
        cost["unchanged_datasets"],
        serde_json::json!(["nist_800_53-rev5_attack-16.1-enterprise"])
    );
    let inputs = manifest["inputs"].as_array().unwrap();
    assert_eq!(
        inputs.len(),
        inputs_before,
        "the pages not requested are still read, from raw/"
    );
    assert!(
        inputs.iter().all(|i| i["from_cache"] == true && i["stale"] == false),
        "used from raw/ as a 304 would be: never stale"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!(
            "site: {} requests; technique pages: {} requested, {} of unchanged datasets used from raw/",
            9 + pages.len(),
            pages.len(),
            28 - pages.len()
        )),
        "{stdout}"
    );
    assert!(output.stderr.is_empty(), "no warning: {}", explain(&output));
}

/// What changes upstream between two nights, and how.
type Change = (&'static str, fn(&Site, &Job));

#[test]
fn a_dataset_whose_mapping_file_framework_page_or_bundle_changed_gets_every_page_the_same_night() {
    let cases: [Change; 4] = [
        ("a mapping file with one more row", |site, _| {
            let mut file: serde_json::Value =
                serde_json::from_slice(&std::fs::read(fixture("served").join(NIST_FILE)).unwrap()).unwrap();
            let mut added = file["mapping_objects"][0].clone();
            added["capability_id"] = "SI-04".into();
            file["mapping_objects"].as_array_mut().unwrap().push(added);
            site.server
                .replace(NIST_FILE, serde_json::to_vec_pretty(&file).unwrap());
        }),
        ("a framework page rebuilt", |site, _| {
            let mut page = std::fs::read(fixture("served").join("external/nist/index.html")).unwrap();
            page.extend_from_slice(b"<!-- rebuilt -->\n");
            site.server.replace(FRAMEWORK_PAGE, page);
        }),
        ("an ATT&CK bundle re-released", |site, _| {
            let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("raw").join(BUNDLE);
            let mut bundle = std::fs::read(sample).unwrap();
            bundle.extend_from_slice(b"\n");
            site.server.replace(BUNDLE, bundle);
        }),
        ("no stored copy of the mapping file", |_, job| {
            let raw_file: PathBuf = job.dir.path().join("raw").join(NIST_FILE);
            std::fs::remove_file(&raw_file).unwrap();
        }),
    ];
    for (change, make) in cases {
        let site = a_site_of_28_technique_pages();
        let job = Job::new();
        a_first_night(&job, &site);
        make(&site, &job);
        let output = night(&job, &site, "2025-03-02", &[]);
        assert!([0, 4].contains(&code(&output)), "{change}: {}", explain(&output));
        let asked = asked(&site);
        assert_eq!(
            technique_pages_asked(&site, &asked),
            site.technique_pages,
            "{change}: every technique page the same night"
        );
        let cost = &job.json("manifest.json")["night_cost"];
        assert_eq!(cost["technique_pages_from_raw"], 0, "{change}: {cost}");
        assert_eq!(cost["unchanged_datasets"], serde_json::json!([]), "{change}");
    }
}

#[test]
fn over_recheck_days_nights_every_technique_page_is_fetched_once() {
    let site = a_site_of_28_technique_pages();
    let job = Job::new();
    a_first_night(&job, &site);
    let mut times_asked: BTreeMap<String, usize> = BTreeMap::new();
    for day in ["2025-03-02", "2025-03-03", "2025-03-04", "2025-03-05", "2025-03-06"] {
        let output = night(&job, &site, day, &["--recheck-days", "5"]);
        assert_eq!(code(&output), 4, "{day}: {}", explain(&output));
        for page in technique_pages_asked(&site, &asked(&site)) {
            *times_asked.entry(page).or_default() += 1;
        }
    }
    assert_eq!(
        times_asked.keys().cloned().collect::<BTreeSet<_>>(),
        site.technique_pages,
        "every page within 5 nights"
    );
    assert!(times_asked.values().all(|&n| n == 1), "each once: {times_asked:?}");

    let every_night = night(&job, &site, "2025-03-07", &["--recheck-days", "1"]);
    assert_eq!(code(&every_night), 4, "{}", explain(&every_night));
    assert_eq!(
        technique_pages_asked(&site, &asked(&site)),
        site.technique_pages,
        "--recheck-days 1: every page every night"
    );
}

#[test]
fn recheck_days_comes_from_flag_variable_or_file_and_is_bounded() {
    let site = a_site_of_28_technique_pages();
    let job = Job::new();
    for bad in ["0", "366"] {
        let output = night(&job, &site, "2025-03-01", &["--recheck-days", bad]);
        assert_eq!(code(&output), 2, "{}", explain(&output));
        assert!(String::from_utf8_lossy(&output.stderr).contains("--recheck-days"));
        let from_variable = job
            .command(&["--base-url", &site.server.base_url])
            .env("ATTACKMAP_RECHECK_DAYS", bad)
            .output()
            .unwrap();
        assert_eq!(code(&from_variable), 2, "{}", explain(&from_variable));
    }
    assert!(site.server.seen().is_empty(), "nothing requested");

    a_first_night(&job, &site);
    std::fs::write(job.dir.path().join("attackmap.toml"), "recheck_days = 1\n").unwrap();
    let output = night(&job, &site, "2025-03-02", &[]);
    assert_eq!(code(&output), 4, "{}", explain(&output));
    assert_eq!(
        technique_pages_asked(&site, &asked(&site)),
        site.technique_pages,
        "recheck_days = 1 in attackmap.toml"
    );
    std::fs::write(job.dir.path().join("attackmap.toml"), "recheck_days = 400\n").unwrap();
    assert_eq!(code(&night(&job, &site, "2025-03-03", &[])), 2);
}
