//! Success means success: a run that exits 0 or 4 published what its inputs promised, and said so
//! when it did not. Each test here drives the CLI end to end.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::helpers::*;
use crate::refresh::{after_a_good_run, code, data_outputs, explain, fixture_site, Job, NIST_FILE};

/// `attackmap <args…>` in `dir`, as a nightly job runs it (no terminal, CI).
fn attackmap(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_attackmap"))
        .current_dir(dir)
        .env("CI", "true")
        .args(args)
        .output()
        .unwrap()
}

/// An offline refresh of the fixtures' mapping file into `dir/out` on `run_date`, with `extra` flags.
fn offline_refresh_on(dir: &Path, run_date: &str, extra: &[&str]) -> Output {
    let raw = fixture("mapping-files");
    let mut args = vec![
        "refresh",
        "--offline",
        "--raw",
        raw.to_str().unwrap(),
        "--run-date",
        run_date,
    ];
    args.extend_from_slice(extra);
    attackmap(dir, &args)
}

fn every_file(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    files_under(dir)
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(dir.join(&f)).unwrap();
            (f, bytes)
        })
        .collect()
}

#[test]
fn a_run_date_before_the_newest_partition_or_far_ahead_is_refused_unless_history_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let first = offline_refresh_on(dir.path(), "2026-11-30", &[]);
    assert_eq!(code(&first), 0, "{}", explain(&first));
    let published = every_file(&dir.path().join("out"));

    let earlier = offline_refresh_on(dir.path(), "2026-11-29", &[]);
    assert_eq!(code(&earlier), 2, "{}", explain(&earlier));
    let stderr = String::from_utf8_lossy(&earlier.stderr);
    assert!(
        stderr.contains("run_date=2026-11-30") && stderr.contains("--rebuild-history"),
        "{stderr}"
    );
    let far = offline_refresh_on(dir.path(), "9999-12-31", &[]);
    assert_eq!(code(&far), 2, "{}", explain(&far));
    assert!(String::from_utf8_lossy(&far.stderr).contains("more than a day after today"));
    assert_eq!(every_file(&dir.path().join("out")), published, "nothing was published");

    let same_day = offline_refresh_on(dir.path(), "2026-11-30", &[]);
    assert_eq!(code(&same_day), 4, "the same day again is fine: {}", explain(&same_day));
    let rebuilt = offline_refresh_on(dir.path(), "2026-11-29", &["--rebuild-history"]);
    assert_eq!(code(&rebuilt), 4, "{}", explain(&rebuilt));
    assert!(dir.path().join("out/warehouse/changes/run_date=2026-11-29").is_dir());
}

#[test]
fn build_refuses_an_out_that_refresh_publishes_so_the_next_refresh_still_feeds_the_change() {
    let dir = tempfile::tempdir().unwrap();
    let night = offline_refresh_on(dir.path(), "2026-11-30", &[]);
    assert_eq!(code(&night), 0, "{}", explain(&night));
    let published = every_file(&dir.path().join("out"));
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("raw");
    let build = attackmap(
        dir.path(),
        &["build", "--input", sample.to_str().unwrap(), "--out", "out"],
    );
    assert_eq!(code(&build), 2, "{}", explain(&build));
    let stderr = String::from_utf8_lossy(&build.stderr);
    assert!(
        stderr.contains("attackmap refresh") && stderr.contains("manifest.json"),
        "{stderr}"
    );
    assert_eq!(
        every_file(&dir.path().join("out")),
        published,
        "out/ is refresh's, untouched"
    );
}

/// The NIST fixture file as served, with `edit` applied to its JSON.
fn nist_file_edited(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("served").join(NIST_FILE)).unwrap()).unwrap();
    edit(&mut file);
    serde_json::to_vec_pretty(&file).unwrap()
}

#[test]
fn a_page_that_disagrees_with_its_mapping_file_is_a_warning_in_the_summary_and_report_html() {
    let server = fixture_site();
    server.replace(
        NIST_FILE,
        nist_file_edited(|file| {
            file["mapping_objects"]
                .as_array_mut()
                .unwrap()
                .retain(|m| m["capability_id"] != "CM-02")
        }),
    );
    let job = Job::new();
    let output = job.refresh(&server);
    assert_eq!(code(&output), 3, "{}", explain(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning: nist_800_53-rev5_attack-16.1-enterprise: its technique_page inputs (1) show 1 (capability, technique) pairs its mapping_file lacks"),
        "{stderr}"
    );
    let page = std::fs::read_to_string(job.out().join("report.html")).unwrap();
    assert!(!page.contains("No warnings"), "report.html lists it");
    assert!(page.contains("pairs its mapping_file lacks"));
    let manifest = job.json("manifest.json");
    assert!(
        manifest["export_warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("technique_page")),
        "{manifest}"
    );
}

/// The URLs the manifest lists as stale: previous copies used because tonight's fetch failed.
fn stale_inputs(job: &Job) -> Vec<String> {
    job.json("manifest.json")["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["stale"] == true)
        .map(|i| i["url"].as_str().unwrap().to_string())
        .collect()
}

/// A night on which the NIST file is served as `body`, after a good night: it must not replace the
/// stored copy; the dataset is stale, built from that copy, and the run says why (exit 3).
fn assert_refused_as_not_what_the_url_promised(body: Vec<u8>, why: &str) {
    let (job, server, before, output, _) = after_a_good_run(|s| s.replace(NIST_FILE, body));
    assert_eq!(code(&output), 3, "{}", explain(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not what the URL promised") && stderr.contains(why),
        "{stderr}"
    );
    assert_eq!(stale_inputs(&job), [format!("{}{NIST_FILE}", server.base_url)]);
    assert_eq!(
        data_outputs(&job.snapshot()),
        data_outputs(&before),
        "the dataset is built from its previous copy, not from its pages"
    );
    assert_eq!(job.json("manifest.json")["datasets"][0]["source_kind"], "mapping_file");
}

#[test]
fn an_emptied_mapping_file_never_replaces_the_good_copy() {
    assert_refused_as_not_what_the_url_promised(
        nist_file_edited(|file| file["mapping_objects"] = serde_json::json!([])),
        "supplies no mapping",
    );
}

#[test]
fn a_mapping_file_that_collapses_to_a_tenth_never_replaces_the_good_copy() {
    assert_refused_as_not_what_the_url_promised(
        nist_file_edited(|file| file["mapping_objects"].as_array_mut().unwrap().truncate(1)),
        "a collapse, not an update",
    );
}

/// The NIST file with a second `mapping_objects` key, empty, after the first.
fn nist_file_with_a_second_empty_mapping_objects() -> Vec<u8> {
    let text = String::from_utf8(std::fs::read(fixture("served").join(NIST_FILE)).unwrap()).unwrap();
    let end = text.rfind('}').unwrap();
    format!("{},\n  \"mapping_objects\": []\n}}\n", text[..end].trim_end()).into_bytes()
}

#[test]
fn a_mapping_file_with_a_duplicate_key_is_malformed_fetched_or_built() {
    assert_refused_as_not_what_the_url_promised(
        nist_file_with_a_second_empty_mapping_objects(),
        "duplicate key \"mapping_objects\"",
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nist.json");
    std::fs::write(&file, nist_file_with_a_second_empty_mapping_objects()).unwrap();
    let built = build(&[file]);
    assert_eq!(built.code, 1, "{}", built.stderr);
    assert!(
        built.stderr.contains("nist.json") && built.stderr.contains("duplicate key \"mapping_objects\""),
        "{}",
        built.stderr
    );
}

#[test]
fn a_stray_file_in_raw_is_retired_by_an_online_refresh_and_named_never_published() {
    let server = fixture_site();
    let job = Job::new();
    assert_eq!(code(&job.refresh(&server)), 0);
    // A dataset of the selection that the site does not publish, placed by hand.
    let stray = "data/nist_800_53/attack-16.1/nist_800_53-rev4/enterprise/nist_800_53-rev4_attack-16.1-enterprise.json";
    let placed = job.dir.path().join("raw").join(stray);
    std::fs::create_dir_all(placed.parent().unwrap()).unwrap();
    std::fs::copy(fixture("framework-only").join(stray), &placed).unwrap();

    let output = job.refresh(&server);
    assert_eq!(code(&output), 3, "{}", explain(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("retired from raw/") && stderr.contains(stray),
        "{stderr}"
    );
    assert!(!std::fs::read_to_string(job.out().join("mappings.csv"))
        .unwrap()
        .contains("rev4"));
    assert_eq!(job.json("manifest.json")["retired_strays"], serde_json::json!([stray]));
    assert!(!placed.exists());
    assert!(job.dir.path().join("raw/.retired").join(stray).exists(), "kept at hand");
    let page = std::fs::read_to_string(job.out().join("report.html")).unwrap();
    assert!(page.contains(stray), "report.html names it");
}

const ENTERPRISE_BUNDLE: &str = "data/attack/enterprise-attack-16.1.json";

/// The sample's Enterprise ATT&CK bundle with technique `id` renamed `name`.
fn attack_bundle_renaming(id: &str, name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("raw")
        .join(ENTERPRISE_BUNDLE);
    let mut bundle: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let technique = bundle["objects"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|o| {
            o["type"] == "attack-pattern"
                && o["external_references"]
                    .as_array()
                    .is_some_and(|refs| refs.iter().any(|r| r["external_id"] == id))
        })
        .unwrap();
    technique["name"] = name.into();
    serde_json::to_vec_pretty(&bundle).unwrap()
}

#[test]
fn a_technique_renamed_in_attack_is_a_change_reported_never_exit_4() {
    let (job, _, before, output, _) = after_a_good_run(|s| {
        s.replace(
            ENTERPRISE_BUNDLE,
            attack_bundle_renaming("T1562", "Impair Defenses Renamed"),
        )
    });
    assert_eq!(code(&output), 0, "published files changed: {}", explain(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("ATT&CK techniques: 1 renamed"), "{stdout}");
    assert_ne!(
        before[&job.out().join("stix/nist_800_53-rev5_attack-16.1-enterprise.json")],
        std::fs::read(job.out().join("stix/nist_800_53-rev5_attack-16.1-enterprise.json")).unwrap(),
        "the bundle carries ATT&CK's new name"
    );
    let changes = job.json("changes.json");
    assert_eq!(changes["added"], 0);
    let renamed = &changes["catalogue"][0];
    assert_eq!(renamed["change"], "renamed", "{changes}");
    assert_eq!(renamed["technique_id"], "T1562");
    assert_eq!(renamed["name_before"], "Impair Defenses");
    assert_eq!(renamed["name_after"], "Impair Defenses Renamed");
    let manifest = job.json("manifest.json");
    assert_eq!(manifest["changes"]["catalogue"], 1);
    assert!(manifest["changes"]["outputs_changed"].as_u64().unwrap() > 0);
    let page = std::fs::read_to_string(job.out().join("report.html")).unwrap();
    assert!(page.contains("Impair Defenses Renamed") && page.contains("renamed"));

    let again = job.refresh(&fixture_site_renaming());
    assert_eq!(
        code(&again),
        4,
        "the same again: nothing published changed: {}",
        explain(&again)
    );
}

fn fixture_site_renaming() -> crate::server::TestServer {
    let server = fixture_site();
    server.replace(
        ENTERPRISE_BUNDLE,
        attack_bundle_renaming("T1562", "Impair Defenses Renamed"),
    );
    server
}

#[test]
fn an_empty_mapping_file_among_build_inputs_is_a_warning_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("emptied.json");
    std::fs::write(
        &file,
        nist_file_edited(|file| file["mapping_objects"] = serde_json::json!([])),
    )
    .unwrap();
    let built = build(&[file, fixture("site/external/nist")]);
    assert_eq!(built.code, 3, "{}", built.stdout);
    let skipped = &built.report()["skipped"][0];
    assert!(skipped["path"].as_str().unwrap().contains("emptied.json"), "{skipped}");
    assert!(
        skipped["reason"].as_str().unwrap().contains("supplies no mapping"),
        "{skipped}"
    );
}
