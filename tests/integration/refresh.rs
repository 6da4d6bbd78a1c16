//! The nightly refresh against a local server: fetch, publish atomically, say what changed, survive
//! faults with the previous out/ intact, and never run twice at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::*;
use crate::server::{Fault, TestServer};

pub(crate) const T1562: &str = "attack/attack-16.1/domain-enterprise/techniques/T1562/";
pub(crate) const NIST_FILE: &str =
    "data/nist_800_53/attack-16.1/nist_800_53-rev5/enterprise/nist_800_53-rev5_attack-16.1-enterprise.json";

/// A working directory with raw/ and out/ for refresh runs.
pub(crate) struct Job {
    pub(crate) dir: tempfile::TempDir,
}

impl Job {
    pub(crate) fn new() -> Job {
        Job {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    /// `attackmap refresh` in the job's directory. Every night re-fetches every technique page
    /// (`ATTACKMAP_RECHECK_DAYS=1`), whatever the day the tests run: the rotation has its own tests
    /// (polite_night.rs), which remove the variable.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_attackmap"));
        command
            .current_dir(self.dir.path())
            .env("CI", "true")
            .env("ATTACKMAP_RECHECK_DAYS", "1")
            .arg("refresh")
            .args(args);
        command
    }

    /// `attackmap refresh` against `server`, with the rate limit lifted, quick retries and `extra` flags.
    pub(crate) fn refresh_from(&self, server: &TestServer, extra: &[&str]) -> Output {
        let mut args = vec![
            "--base-url",
            &server.base_url,
            "--rate-limit",
            "1000",
            "--retries",
            "2",
            "--backoff",
            "0.05",
        ];
        args.extend_from_slice(extra);
        self.command(&args).output().unwrap()
    }

    /// `attackmap refresh` against `server` for the NIST dataset of the fixtures, quick time-outs.
    pub(crate) fn refresh(&self, server: &TestServer) -> Output {
        self.refresh_from(server, &["--framework", "nist_800_53", "--timeout", "1"])
    }

    /// Every file of out/ with its bytes.
    pub(crate) fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        walk(&self.out())
    }

    /// The datasets the last publish holds, from its report.json.
    pub(crate) fn published_datasets(&self) -> Vec<String> {
        self.json("report.json")["datasets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["dataset"].as_str().unwrap().to_string())
            .collect()
    }

    pub(crate) fn json(&self, name: &str) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(self.out().join(name)).unwrap()).unwrap()
    }
}

fn walk(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
    files
}

/// The fixtures as a site, with the sample's ATT&CK bundle at `data/attack/` (from `raw/`).
pub(crate) fn fixture_site() -> TestServer {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("raw");
    TestServer::serving(&[fixture("served"), fixture("site"), sample])
}

pub(crate) fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

pub(crate) fn explain(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The outputs that describe the data (not the run: the manifest, the changes and `refresh`'s
/// report.html, which tell when it ran): byte-identical when the inputs are.
pub(crate) fn data_outputs(files: &BTreeMap<PathBuf, Vec<u8>>) -> BTreeMap<PathBuf, Vec<u8>> {
    files
        .iter()
        .filter(|(path, _)| {
            let name = path.file_name().unwrap().to_string_lossy();
            !name.starts_with("manifest") && !name.starts_with("changes") && name != "report.html"
        })
        .map(|(p, b)| (p.clone(), b.clone()))
        .collect()
}

#[test]
fn a_refresh_fetches_the_selection_and_publishes_it_with_a_manifest() {
    let server = fixture_site();
    let job = Job::new();
    let output = job.refresh(&server);
    assert_eq!(code(&output), 0, "{}", explain(&output));
    let paths: Vec<String> = server.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(
        paths.iter().collect::<std::collections::BTreeSet<_>>().len(),
        10,
        "the frameworks page, NIST's framework page, ATT&CK's 3 bundles, index, T1562, NIST landing, all-data, mapping file: {paths:?}"
    );
    let manifest = job.json("manifest.json");
    assert_eq!(manifest["inputs"].as_array().unwrap().len(), 10);
    assert_eq!(
        manifest["export_warnings"],
        serde_json::json!([]),
        "ATT&CK's ids, no stand-ins"
    );
    assert!(manifest["inputs"][0]["url"]
        .as_str()
        .unwrap()
        .starts_with(&server.base_url));
    assert_eq!(
        manifest["datasets"][0]["dataset"],
        "nist_800_53-rev5_attack-16.1-enterprise"
    );
    assert_eq!(manifest["datasets"][0]["source_kind"], "mapping_file");
    for stage in ["fetch", "build", "export", "validate", "changes"] {
        assert!(manifest["durations_ms"][stage].is_u64(), "{stage} is timed");
    }
    let outputs: BTreeMap<&str, &str> = manifest["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["path"].as_str().unwrap(), o["sha256"].as_str().unwrap()))
        .collect();
    assert!(
        outputs.contains_key("mappings.parquet")
            && outputs.contains_key("stix/nist_800_53-rev5_attack-16.1-enterprise.json")
    );
    let report = std::fs::read(job.dir.path().join("out/report.html")).unwrap();
    assert_eq!(
        outputs["report.html"],
        attackmap::fs::sha256_hex(&report),
        "the manifest lists report.html with the hash of the page published"
    );
    assert_eq!(
        job.json("changes.json")["added"],
        20,
        "the first run adds every mapping"
    );
    assert!(
        job.dir.path().join("raw").join(T1562).join("index.html").exists(),
        "raw/ mirrors the site's paths"
    );
}

#[test]
fn a_second_run_with_nothing_changed_upstream_is_all_304_and_byte_identical() {
    let server = fixture_site();
    let job = Job::new();
    assert_eq!(code(&job.refresh(&server)), 0);
    let before = job.snapshot();
    server.forget_seen();
    let output = job.refresh(&server);
    assert_eq!(code(&output), 4, "exit 4: nothing changed\n{}", explain(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("no changes"));
    let seen = server.seen();
    assert!(
        !seen.is_empty() && seen.iter().all(|s| s.conditional && s.status == 304),
        "{seen:?}"
    );
    assert_eq!(data_outputs(&job.snapshot()), data_outputs(&before));
    assert_eq!(job.json("changes.json")["changes"], serde_json::json!([]));
    assert!(job.json("manifest.json")["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["from_cache"] == true));
}

#[test]
fn a_row_added_upstream_is_exactly_the_change_reported() {
    let server = fixture_site();
    let job = Job::new();
    assert_eq!(code(&job.refresh(&server)), 0);
    let mut file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("served").join(NIST_FILE)).unwrap()).unwrap();
    let mut added = file["mapping_objects"][0].clone();
    added["capability_id"] = "SI-10".into();
    added["capability_description"] = "Information Input Validation".into();
    file["mapping_objects"].as_array_mut().unwrap().push(added);
    server.replace(NIST_FILE, serde_json::to_vec_pretty(&file).unwrap());

    let output = job.refresh(&server);
    assert_eq!(code(&output), 0, "{}", explain(&output));
    let changes = job.json("changes.json");
    assert_eq!(
        (
            changes["added"].as_u64(),
            changes["removed"].as_u64(),
            changes["changed"].as_u64()
        ),
        (Some(1), Some(0), Some(0))
    );
    assert_eq!(changes["changes"][0]["key"]["capability_id"], "SI-10");
    let csv = std::fs::read_to_string(job.out().join("changes.csv")).unwrap();
    assert_eq!(csv.lines().count(), 2, "a header and the one change: {csv}");
}

/// Publishes once, then runs again against `fault`; returns that second run.
pub(crate) fn after_a_good_run(
    setup: impl FnOnce(&TestServer),
) -> (Job, TestServer, BTreeMap<PathBuf, Vec<u8>>, Output, Duration) {
    let server = fixture_site();
    let job = Job::new();
    assert_eq!(code(&job.refresh(&server)), 0);
    let before = job.snapshot();
    setup(&server);
    server.forget_seen();
    let started = Instant::now();
    let output = job.refresh(&server);
    (job, server, before, output, started.elapsed())
}

#[test]
fn a_server_error_is_retried() {
    let (_, server, _, output, _) = after_a_good_run(|s| s.fail_next(T1562, vec![Fault::Status(500)]));
    assert_eq!(code(&output), 4, "{}", explain(&output));
    assert_eq!(server.seen().iter().filter(|s| s.path == T1562).count(), 2);
}

#[test]
fn a_429_is_retried_after_the_time_it_asks_for() {
    let (_, _, _, output, elapsed) =
        after_a_good_run(|s| s.fail_next(T1562, vec![Fault::TooManyRequests { retry_after_seconds: 1 }]));
    assert_eq!(code(&output), 4, "{}", explain(&output));
    assert!(elapsed >= Duration::from_secs(1), "waited for Retry-After: {elapsed:?}");
}

#[test]
fn a_hanging_response_times_out_and_is_retried() {
    let (_, server, _, output, _) = after_a_good_run(|s| s.fail_next(T1562, vec![Fault::Hang(Duration::from_secs(3))]));
    assert_eq!(code(&output), 4, "{}", explain(&output));
    assert_eq!(server.seen().iter().filter(|s| s.path == T1562).count(), 2);
}

pub(crate) fn assert_failed_and_kept(job: &Job, before: &BTreeMap<PathBuf, Vec<u8>>, output: &Output, names: &str) {
    assert_eq!(code(output), 1, "{}", explain(output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(names), "the error names {names}: {stderr}");
    assert_eq!(&job.snapshot(), before, "the previous out/ is intact, byte for byte");
    let leftovers: Vec<_> = std::fs::read_dir(job.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("out.") && n != "out.lock")
        .collect();
    assert!(leftovers.is_empty(), "no staging directory left: {leftovers:?}");
}

#[test]
fn a_previous_table_that_does_not_read_fails_the_run_and_keeps_out() {
    let server = fixture_site();
    let job = Job::new();
    assert_eq!(code(&job.refresh(&server)), 0);
    let table = job.out().join("mappings.parquet");
    std::fs::remove_file(&table).unwrap();
    std::fs::write(&table, b"PAR1 cut short").unwrap();
    let before = job.snapshot();
    let output = job.refresh(&server);
    // Not a first publish (every row added, no removal guarded): the run stops and says which file.
    assert_failed_and_kept(&job, &before, &output, "mappings.parquet");
}

/// Publishes once, then loses raw/ (no previous copy to fall back on) and runs again against a fault.
fn failing_without_a_previous_copy(
    setup: impl FnOnce(&TestServer),
) -> (Job, TestServer, BTreeMap<PathBuf, Vec<u8>>, Output) {
    let server = fixture_site();
    let job = Job::new();
    assert_eq!(code(&job.refresh(&server)), 0);
    std::fs::remove_dir_all(job.dir.path().join("raw")).unwrap();
    let before = job.snapshot();
    setup(&server);
    let output = job.refresh(&server);
    (job, server, before, output)
}

#[test]
fn a_truncated_body_fails_the_run_and_keeps_the_previous_outputs() {
    let (job, _, before, output) = failing_without_a_previous_copy(|s| s.fail_always(T1562, Fault::TruncatedBody));
    assert_failed_and_kept(&job, &before, &output, T1562);
}

#[test]
fn a_redirect_to_another_host_is_refused() {
    let elsewhere = TestServer::serving(&[fixture("site")]);
    let location = format!("{elsewhere_base}{T1562}", elsewhere_base = elsewhere.base_url);
    let (job, _, before, output) =
        failing_without_a_previous_copy(|s| s.fail_always(T1562, Fault::RedirectTo(location)));
    assert_failed_and_kept(&job, &before, &output, "refused");
    assert!(elsewhere.seen().is_empty(), "the other host was never contacted");
}

#[test]
fn a_page_the_index_lists_but_the_server_lacks_is_reported() {
    let (job, _, before, output) = failing_without_a_previous_copy(|s| s.fail_always(T1562, Fault::Status(404)));
    assert_failed_and_kept(&job, &before, &output, "404");
}

/// An offline refresh on a large raw/ (the whole snapshot), started in the background.
pub(crate) fn slow_refresh(job: &Job, raw: &Path) -> std::process::Child {
    job.command(&["--offline", "--raw", raw.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

pub(crate) fn wait_for(condition: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

#[test]
fn a_refresh_killed_midway_leaves_out_as_it_was_and_the_next_run_succeeds() {
    let Some(site) = shared("site") else { return };
    let server = fixture_site();
    let job = Job::new();
    assert_eq!(code(&job.refresh(&server)), 0);
    let before = job.snapshot();
    let mut child = slow_refresh(&job, &site);
    let staging_appears = wait_for(|| {
        std::fs::read_dir(job.dir.path())
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().contains(".staging-"))
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(staging_appears, "the run reached its export stage before it was killed");
    assert_eq!(job.snapshot(), before, "out/ is as it was");
    let output = job
        .command(&["--offline", "--raw", site.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        code(&output),
        0,
        "the stale lock and staging are taken over\n{}",
        explain(&output)
    );
}

#[test]
fn fetching_the_whole_site_gives_the_table_of_building_it_directly() {
    let Some(served) = shared_site_as_served() else { return };
    let server = TestServer::serving(&served);
    let job = Job::new();
    let the_snapshot = ["--attack-version", "16.1", "--domain", "enterprise"];
    let output = job.refresh_from(&server, &[&the_snapshot[..], &["--concurrency", "4"]].concat());
    assert_eq!(code(&output), 0, "{}", explain(&output));
    let manifest = job.json("manifest.json");
    let datasets = manifest["site_datasets"].as_array().unwrap();
    assert_eq!(datasets.len(), 8, "{datasets:?}");
    for dataset in datasets {
        assert!(
            dataset["advertised_by"].is_string(),
            "advertised by a framework page: {dataset}"
        );
        assert_eq!(dataset["state"], "complete", "{dataset}");
    }
    let other_versions: Vec<String> = server
        .seen()
        .into_iter()
        .map(|s| s.path)
        .filter(|p| p.contains("attack-") && !p.contains("attack-16.1"))
        .collect();
    assert_eq!(
        other_versions,
        Vec::<String>::new(),
        "the overlay's links to other versions are not followed"
    );
    let fetched = ParquetTable::read(&job.out().join("mappings.parquet"));
    assert_eq!(fetched.rows.len(), 12_646, "the 16.1 Enterprise selection");
    let direct = build(&served[1..]);
    let direct = ParquetTable::read(&direct.file("mappings.parquet"));
    let enterprise: Vec<&Vec<String>> = direct.rows.iter().filter(|r| r[4].contains("enterprise")).collect();
    assert_eq!(
        fetched.rows.iter().collect::<Vec<_>>(),
        enterprise,
        "the same rows, but for where they were read from"
    );
}

/// A table's rows as text, without the `source` column (paths differ between raw/ and the snapshot).
struct ParquetTable {
    rows: Vec<Vec<String>>,
}

impl ParquetTable {
    fn read(path: &Path) -> ParquetTable {
        use polars::prelude::*;
        let frame = ParquetReader::new(std::fs::File::open(path).unwrap()).finish().unwrap();
        let frame = frame.drop("source").unwrap();
        let rows = (0..frame.height())
            .map(|i| {
                frame
                    .columns()
                    .iter()
                    .map(|c| format!("{}", c.get(i).unwrap()))
                    .collect()
            })
            .collect();
        ParquetTable { rows }
    }
}

#[test]
fn a_flag_overrides_a_switch_the_config_file_turns_on() {
    let server = fixture_site();
    let job = Job::new();
    std::fs::write(job.dir.path().join("attackmap.toml"), "offline = true\n").unwrap();
    std::fs::create_dir_all(job.dir.path().join("raw")).unwrap();
    let from_the_file = job.refresh(&server);
    assert!(
        server.seen().is_empty(),
        "offline = true: nothing requested\n{}",
        explain(&from_the_file)
    );
    let output = job.refresh_from(&server, &["--offline=false", "--framework", "nist_800_53"]);
    assert_eq!(code(&output), 0, "{}", explain(&output));
    assert!(!server.seen().is_empty(), "--offline=false fetched");
}
