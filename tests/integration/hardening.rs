//! Upstream data is hostile: names that would become paths are refused where they enter, and nothing
//! is ever written outside `--out` or `--raw`, whatever a mapping file, a page or a URL says.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::helpers::*;
use crate::server::TestServer;

const GOOD_FILE: &str = "mapping-files/acme_stack-1.0_attack-16.1-enterprise.json";

/// A sandbox: `work/` holds the inputs and `work/out`; its parent is watched for strays.
struct Sandbox {
    root: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("work/deep/er")).unwrap();
        Sandbox { root }
    }

    fn work(&self) -> PathBuf {
        self.root.path().join("work/deep/er")
    }

    /// Writes the good fixture with one metadata field replaced, as `input/bad.json`.
    fn mapping_file_with(&self, field: &str, value: &str) -> PathBuf {
        let mut document: Value = serde_json::from_slice(&std::fs::read(fixture(GOOD_FILE)).unwrap()).unwrap();
        document["metadata"][field] = Value::String(value.to_string());
        let input = self.work().join("input");
        std::fs::create_dir_all(&input).unwrap();
        let path = input.join("bad.json");
        std::fs::write(&path, serde_json::to_vec(&document).unwrap()).unwrap();
        path
    }

    fn build(&self, inputs: &[PathBuf]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_attackmap"))
            .current_dir(self.work())
            .arg("build")
            .arg("--input")
            .args(inputs)
            .args(["--out", "out"])
            .output()
            .unwrap()
    }

    /// Every file under the sandbox that is not an input, the output, its lock or the raw store.
    fn strays(&self) -> Vec<PathBuf> {
        files_under(self.root.path())
            .into_iter()
            .filter(|f| {
                let under = |dir: &str| f.starts_with(Path::new("work/deep/er").join(dir));
                let lock = f == Path::new("work/deep/er/out.lock");
                !(under("input") || under("out") || under("raw") || lock)
            })
            .collect()
    }
}

fn good_file_rows() -> usize {
    let document: Value = serde_json::from_slice(&std::fs::read(fixture(GOOD_FILE)).unwrap()).unwrap();
    document["mapping_objects"].as_array().unwrap().len()
}

fn report(sandbox: &Sandbox) -> Value {
    serde_json::from_slice(&std::fs::read(sandbox.work().join("out/report.json")).unwrap()).unwrap()
}

#[test]
fn metadata_that_names_a_path_rejects_that_file_and_writes_nothing_outside_out() {
    let long = "a".repeat(10_000);
    let cases = [
        ("mapping_framework", "../../../evil"),
        ("mapping_framework", "a/../../evil"),
        ("mapping_framework", "nïst"),
        ("mapping_framework", long.as_str()),
        ("mapping_framework_version", "../../evil"),
        ("mapping_framework_version", "/etc"),
        ("attack_version", "../16.1"),
        ("attack_version", long.as_str()),
        ("technology_domain", "../../../evil"),
    ];
    for (field, value) in cases {
        let sandbox = Sandbox::new();
        let bad = sandbox.mapping_file_with(field, value);
        let output = sandbox.build(&[bad, fixture("site")]);
        let shown: String = value.chars().take(20).collect();
        assert_eq!(
            output.status.code(),
            Some(3),
            "{field}={shown}: rejected rows are a warning, the rest is built\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(sandbox.strays(), Vec::<PathBuf>::new(), "{field}={shown}");
        let report = report(&sandbox);
        let rejected = &report["rejected"][0];
        assert_eq!(rejected["element"], format!("metadata.{field}"), "{field}={shown}");
        let rows_in_file = good_file_rows();
        assert_eq!(
            rejected["rows"], rows_in_file,
            "every row of the file is rejected, and counted"
        );
        assert!(rejected["source"].as_str().unwrap().ends_with("bad.json"));
        assert_eq!(report["totals"]["rejected_rows"], rows_in_file);
        assert!(
            report["totals"]["mappings"].as_u64().unwrap() > 0,
            "the other inputs are still built"
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains("rejected") && stdout.len() < 20_000,
            "{field}: a short summary"
        );
    }
}

#[test]
fn a_slash_in_a_version_becomes_a_dot_as_on_the_site() {
    let sandbox = Sandbox::new();
    let file = sandbox.mapping_file_with("mapping_framework_version", "rev5/1");
    let output = sandbox.build(&[file]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(sandbox
        .work()
        .join("out/stix/acme_stack-rev5.1_attack-16.1-enterprise.json")
        .exists());
}

/// Links a hostile technique index could carry: a path climbing out of raw/, other schemes, another host.
const HOSTILE_LINKS: &str = r#"
<a href="https://center-for-threat-informed-defense.github.io/mappings-explorer/attack/attack-16.1/domain-enterprise/techniques/../../../../../../escape/">up</a>
<a href="https://center-for-threat-informed-defense.github.io/mappings-explorer/attack/attack-16.1/domain-enterprise/techniques/%2e%2e/%2e%2e/%2e%2e/escape/">encoded</a>
<a href="./..\..\..\escape\">backslashes</a>
<a href="javascript:alert(1)">script</a>
<a href="file:///etc/passwd">file</a>
<a href="https://example.org/elsewhere/">elsewhere</a>
"#;

/// `attackmap fetch` from `server` into the sandbox's `raw/`, unthrottled, with `extra` flags.
fn fetch_into_sandbox(sandbox: &Sandbox, server: &TestServer, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_attackmap"))
        .current_dir(sandbox.work())
        .args([
            "fetch",
            "--base-url",
            &server.base_url,
            "--raw",
            "raw",
            "--rate-limit",
            "1000",
        ])
        .args(extra)
        .output()
        .unwrap()
}

/// The fixtures' technique index with [`HOSTILE_LINKS`] added.
fn hostile_index() -> Vec<u8> {
    let index = fixture("served/attack/attack-16.1/domain-enterprise/techniques/index.html");
    let html = std::fs::read_to_string(index).unwrap();
    html.replacen("</body>", &format!("{HOSTILE_LINKS}</body>"), 1)
        .into_bytes()
}

#[test]
fn unsafe_links_in_pages_are_never_followed_and_are_reported() {
    let sandbox = Sandbox::new();
    let server = TestServer::serving(&[fixture("served"), fixture("site")]);
    server.replace("attack/attack-16.1/domain-enterprise/techniques/", hostile_index());
    let output = fetch_into_sandbox(&sandbox, &server, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not followed"), "{stderr}");
    assert!(stderr.contains("\"..\" segment"), "{stderr}");
    assert!(stderr.contains("%2e%2e"), "the encoded climb is refused too: {stderr}");
    assert!(stderr.contains("escape\\\\"), "and the backslashes: {stderr}");
    let requested: Vec<String> = server.seen().iter().map(|s| s.path.clone()).collect();
    assert!(
        requested.iter().all(|p| !p.contains("escape") && !p.contains("passwd")),
        "{requested:?}"
    );
    assert_eq!(sandbox.strays(), Vec::<PathBuf>::new());
    assert!(
        sandbox
            .work()
            .join("raw/attack/attack-16.1/domain-enterprise/techniques/T1562/index.html")
            .exists(),
        "the safe link was followed"
    );
}

/// NIST's framework page, its version selector naming datasets whose versions climb out of raw/.
fn hostile_framework_page() -> Vec<u8> {
    let page = std::fs::read_to_string(fixture("served/external/nist/index.html")).unwrap();
    let climbing = "(&#39;../../../evil&#39;, &#39;16.1&#39;, &#39;Enterprise&#39;), \
                    (&#39;rev5&#39;, &#39;16.1/../../../../escape&#39;, &#39;Enterprise&#39;), \
                    (&#39;rev5&#39;, &#39;16.1&#39;, &#39;..%2f..%2fevil&#39;), ";
    page.replacen("data-versions=\"[", &format!("data-versions=\"[{climbing}"), 1)
        .into_bytes()
}

#[test]
fn a_framework_page_advertising_paths_out_of_raw_is_never_followed() {
    let sandbox = Sandbox::new();
    let server = TestServer::serving(&[fixture("served"), fixture("site")]);
    server.replace("external/nist/", hostile_framework_page());
    let output = fetch_into_sandbox(&sandbox, &server, &["--framework", "nist_800_53"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not followed"),
        "the climbing dataset is reported: {stderr}"
    );
    let requested: Vec<String> = server.seen().iter().map(|s| s.path.clone()).collect();
    assert!(
        requested
            .iter()
            .all(|p| !p.contains("evil") && !p.contains("escape") && !p.contains("..")),
        "{requested:?}"
    );
    assert_eq!(sandbox.strays(), Vec::<PathBuf>::new());
    assert!(
        sandbox
            .work()
            .join("raw/data/nist_800_53/attack-16.1/nist_800_53-rev5/enterprise/nist_800_53-rev5_attack-16.1-enterprise.json")
            .exists(),
        "the safe dataset was fetched"
    );
}

#[test]
fn selectors_that_would_become_paths_are_usage_errors() {
    let sandbox = Sandbox::new();
    for args in [
        ["--domain", "../../../tmp"],
        ["--attack-version", "16.1/../.."],
        ["--framework", "../x"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_attackmap"))
            .current_dir(sandbox.work())
            .args(["fetch", "--base-url", "http://127.0.0.1:9/", "--raw", "raw"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&output.stderr).contains(args[0]));
    }
    assert_eq!(sandbox.strays(), Vec::<PathBuf>::new());
    assert!(!sandbox.work().join("raw").exists(), "nothing was fetched");
}

#[test]
fn every_fault_of_the_config_file_is_a_usage_error_naming_it() {
    let sandbox = Sandbox::new();
    let raw = fixture("mapping-files");
    for (config, expected) in [
        ("concurrency = 100000\n", "concurrency"),
        ("concurrency = \"four\"\n", "concurrency"),
        ("offline = true\nrun_date = \"2026-11-30\"\n", "run_date"),
        ("offline = [\n", "attackmap.toml"),
    ] {
        std::fs::write(sandbox.work().join("attackmap.toml"), config).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_attackmap"))
            .current_dir(sandbox.work())
            .args(["refresh", "--raw", raw.to_str().unwrap(), "--out", "out"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{config:?}: {stderr}");
        assert!(stderr.contains(expected), "{config:?}: {stderr}");
    }
    let missing = Command::new(env!("CARGO_BIN_EXE_attackmap"))
        .current_dir(sandbox.work())
        .args(["fetch", "--config", "nowhere.toml", "--raw", "raw"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nowhere.toml"));
    assert!(!sandbox.work().join("out").exists(), "nothing was published");
}

#[test]
fn a_selection_that_matches_nothing_publishes_nothing_and_exits_2() {
    let sandbox = Sandbox::new();
    let raw = fixture("mapping-files");
    let refresh = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_attackmap"))
            .current_dir(sandbox.work())
            .args(["refresh", "--offline", "--raw", raw.to_str().unwrap(), "--out", "out"])
            .args(extra)
            .output()
            .unwrap()
    };
    let first = refresh(&[]);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let before = std::fs::read(sandbox.work().join("out/mappings.parquet")).unwrap();
    let typo = refresh(&["--framework", "acme_stackx"]);
    assert_eq!(typo.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&typo.stderr);
    assert!(
        stderr.contains("--framework acme_stackx matches no dataset"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(sandbox.work().join("out/mappings.parquet")).unwrap(),
        before
    );
}

#[cfg(unix)]
#[test]
fn a_symbolic_link_among_the_inputs_is_reported_and_not_followed() {
    let sandbox = Sandbox::new();
    let input = sandbox.work().join("input");
    std::fs::create_dir_all(&input).unwrap();
    std::os::unix::fs::symlink(fixture(GOOD_FILE), input.join("linked.json")).unwrap();
    let output = sandbox.build(&[input, fixture("site")]);
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = report(&sandbox);
    let skipped = &report["skipped"][0];
    assert!(skipped["path"].as_str().unwrap().ends_with("linked.json"));
    assert!(skipped["reason"].as_str().unwrap().contains("symbolic link"));
    assert!(String::from_utf8_lossy(&output.stdout).contains("linked.json"));
}

#[test]
fn moving_raw_or_running_elsewhere_changes_no_row() {
    let sandbox = Sandbox::new();
    for copy in ["raw-monday", "raw-moved"] {
        let target = sandbox.work().join(copy).join("data");
        std::fs::create_dir_all(&target).unwrap();
        std::fs::copy(fixture(GOOD_FILE), target.join("acme.json")).unwrap();
    }
    let refresh = |raw: &str| {
        Command::new(env!("CARGO_BIN_EXE_attackmap"))
            .current_dir(sandbox.work())
            .args(["refresh", "--offline", "--raw", raw, "--out", "out"])
            .output()
            .unwrap()
    };
    assert_eq!(refresh("raw-monday").status.code(), Some(0));
    let moved = refresh("raw-moved");
    assert_eq!(
        moved.status.code(),
        Some(4),
        "the same data from another folder is no change\n{}",
        String::from_utf8_lossy(&moved.stdout)
    );
    let table = std::fs::read_to_string(sandbox.work().join("out/mappings.csv")).unwrap();
    assert!(table.contains(",data/acme.json,"), "source is the path under raw/");
}

#[test]
fn a_page_nested_a_hundred_thousand_deep_is_refused_before_it_is_parsed() {
    let sandbox = Sandbox::new();
    let input = sandbox.work().join("input");
    std::fs::create_dir_all(&input).unwrap();
    let page = format!(
        "<html><head><title>Mappings Explorer</title></head><body>{}</body></html>",
        "<div>".repeat(100_000)
    );
    std::fs::write(input.join("deep.html"), page).unwrap();
    let output = sandbox.build(&[input]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("deep.html") && stderr.contains("nested 100002 deep"),
        "{stderr}"
    );
}

#[test]
fn an_attack_bundle_among_the_inputs_cannot_name_a_path_or_pass_truncated() {
    let sandbox = Sandbox::new();
    let input = sandbox.work().join("input");
    std::fs::create_dir_all(&input).unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("raw/data/attack/enterprise-attack-16.1.json");
    let mut bundle: Value = serde_json::from_slice(&std::fs::read(&sample).unwrap()).unwrap();
    for object in bundle["objects"].as_array_mut().unwrap() {
        if object["type"] == "x-mitre-matrix" {
            object["external_references"][0]["external_id"] = "../../../evil-attack".into();
        }
        if object["type"] == "attack-pattern" {
            object["x_mitre_domains"] = serde_json::json!(["../../../evil-attack"]);
        }
    }
    std::fs::write(input.join("enterprise-attack-16.1.json"), bundle.to_string()).unwrap();
    let output = sandbox.build(&[input.clone(), fixture("site")]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("enterprise-attack-16.1.json") && stderr.contains("../../../evil"),
        "{stderr}"
    );
    assert_eq!(sandbox.strays(), Vec::<PathBuf>::new());

    let whole = std::fs::read(&sample).unwrap();
    std::fs::write(input.join("enterprise-attack-16.1.json"), &whole[..whole.len() / 2]).unwrap();
    let output = sandbox.build(&[input, fixture("site")]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("enterprise-attack-16.1.json") && stderr.contains("not valid JSON"),
        "{stderr}"
    );
    assert_eq!(sandbox.strays(), Vec::<PathBuf>::new());
}
