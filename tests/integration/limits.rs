//! Paths and limits: the settings a nightly job is given are checked before anything is fetched
//! or published (overlapping directories, empty selector lists, a config file that is not a file, a
//! site root with a query), and the limits it sets hold (the deadline bounds the waits too, the
//! raw store heals a corrupted sidecar and the temporaries a killed run left).

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::*;
use crate::refresh::{code, explain, fixture_site, Job, T1562};
use crate::server::{Fault, TestServer};

/// `attackmap refresh --offline` in the job's directory over the fixtures' mapping file, with the
/// selection that file holds, and `extra` flags.
fn offline_refresh(job: &Job, extra: &[&str]) -> Output {
    let raw = fixture("mapping-files");
    let mut args = vec![
        "--offline",
        "--raw",
        raw.to_str().unwrap(),
        "--attack-version",
        "16.1",
        "--domain",
        "enterprise",
    ];
    args.extend_from_slice(extra);
    job.command(&args).output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `command`, killing it when it is not done within `limit`: a run that blocks or reads
/// without end fails the test instead of hanging it. `None` when it had to be killed.
fn within(limit: Duration, command: &mut Command) -> Option<Output> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while started.elapsed() < limit {
        if child.try_wait().unwrap().is_some() {
            return Some(child.wait_with_output().unwrap());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    None
}

#[test]
fn raw_inside_out_or_out_inside_raw_is_refused_naming_both() {
    for (raw, out) in [("out/raw", "out"), ("raw", "raw/out"), ("same", "same")] {
        let job = Job::new();
        let output = job
            .command(&["--offline", "--raw", raw, "--out", out])
            .output()
            .unwrap();
        let stderr = stderr(&output);
        assert_eq!(code(&output), 2, "--raw {raw} --out {out}\n{}", explain(&output));
        assert!(
            stderr.contains("overlap")
                && stderr.contains(&format!("--raw {raw} "))
                && stderr.contains(&format!("--out {out} ")),
            "{stderr}"
        );
        assert!(
            files_under(job.dir.path()).is_empty(),
            "nothing written: {:?}",
            files_under(job.dir.path())
        );
    }
    let job = Job::new();
    std::fs::write(
        job.dir.path().join("attackmap.toml"),
        "raw = \"cache\"\nout = \"cache/published\"\n",
    )
    .unwrap();
    let output = job.command(&["--offline"]).output().unwrap();
    assert_eq!(code(&output), 2, "{}", explain(&output));
    assert!(stderr(&output).contains("out is inside raw"), "{}", explain(&output));
}

#[cfg(unix)]
#[test]
fn a_link_that_puts_raw_inside_out_is_seen_through() {
    let job = Job::new();
    assert_eq!(code(&offline_refresh(&job, &[])), 0);
    std::os::unix::fs::symlink(job.out(), job.dir.path().join("cache")).unwrap();
    let output = job.command(&["--offline", "--raw", "cache/raw"]).output().unwrap();
    assert_eq!(code(&output), 2, "{}", explain(&output));
    assert!(stderr(&output).contains("raw is inside out"), "{}", explain(&output));
}

#[test]
fn the_deadline_bounds_the_wait_a_retry_after_asks_for() {
    let server = fixture_site();
    server.fail_always(
        T1562,
        Fault::TooManyRequests {
            retry_after_seconds: 110,
        },
    );
    let job = Job::new();
    let started = Instant::now();
    let output = job.refresh_from(&server, &["--framework", "nist_800_53", "--deadline", "5"]);
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(30),
        "a 110 s Retry-After under --deadline 5 took {elapsed:?}"
    );
    assert_eq!(code(&output), 1, "{}", explain(&output));
    let stderr = stderr(&output);
    assert!(stderr.contains(T1562) && stderr.contains("--deadline"), "{stderr}");
}

#[test]
fn refresh_creates_the_missing_parents_of_out_as_build_does() {
    let job = Job::new();
    let output = offline_refresh(&job, &["--out", "a/b/out"]);
    assert_eq!(code(&output), 0, "{}", explain(&output));
    assert!(job.dir.path().join("a/b/out/manifest.json").exists());
}

#[test]
fn an_empty_selector_list_in_the_config_file_is_a_usage_error() {
    for key in ["attack_versions", "domains", "frameworks"] {
        let job = Job::new();
        std::fs::write(job.dir.path().join("attackmap.toml"), format!("{key} = []\n")).unwrap();
        let output = job
            .command(&["--offline", "--raw", fixture("mapping-files").to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(code(&output), 2, "{key} = []\n{}", explain(&output));
        let stderr = stderr(&output);
        assert!(
            stderr.contains("attackmap.toml") && stderr.contains(&format!("{key} = [\"all\"]")),
            "{stderr}"
        );
        assert!(!job.out().exists(), "nothing published");
    }
}

#[cfg(unix)]
#[test]
fn a_config_file_that_is_a_device_a_fifo_or_huge_is_refused_at_once() {
    let job = Job::new();
    let fifo = job.dir.path().join("settings.fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let huge = job.dir.path().join("huge.toml");
    std::fs::write(&huge, format!("# {}\n", "x".repeat(2 << 20))).unwrap();
    for (config, expected) in [
        (PathBuf::from("/dev/zero"), "not a regular file"),
        (fifo, "not a regular file"),
        (huge, "larger than 1 MiB"),
    ] {
        let output = within(
            Duration::from_secs(20),
            &mut job.command(&["--offline", "--config", config.to_str().unwrap()]),
        )
        .unwrap_or_else(|| panic!("--config {}: still running after 20 s", config.display()));
        assert_eq!(code(&output), 2, "{}\n{}", config.display(), explain(&output));
        let stderr = stderr(&output);
        assert!(
            stderr.contains(config.to_str().unwrap()) && stderr.contains(expected),
            "{stderr}"
        );
    }
}

#[test]
fn a_base_url_with_a_query_or_a_fragment_is_a_usage_error() {
    for base_url in ["http://127.0.0.1:9/site/?token=abc", "http://127.0.0.1:9/site/#top"] {
        let job = Job::new();
        let output = Command::new(env!("CARGO_BIN_EXE_attackmap"))
            .current_dir(job.dir.path())
            .args(["fetch", "--raw", "raw", "--base-url", base_url])
            .output()
            .unwrap();
        assert_eq!(code(&output), 2, "{base_url}\n{}", explain(&output));
        assert!(stderr(&output).contains("?query or #fragment"), "{}", explain(&output));
        assert!(!job.dir.path().join("raw").exists(), "nothing fetched");
    }
}

/// The sidecar of T1562's page in the job's raw/.
fn t1562_sidecar(job: &Job) -> PathBuf {
    job.dir.path().join("raw").join(T1562).join(".index.html.fetch.json")
}

fn t1562_requests(server: &TestServer) -> Vec<(bool, u16)> {
    server
        .seen()
        .into_iter()
        .filter(|s| s.path == T1562)
        .map(|s| (s.conditional, s.status))
        .collect()
}

#[test]
fn a_sidecar_corrupted_by_hand_is_ignored_once_and_replaced() {
    const WARNING: &str = "not a valid header value";
    let server = fixture_site();
    let job = Job::new();
    assert_eq!(code(&job.refresh(&server)), 0);
    let mut sidecar: serde_json::Value = serde_json::from_slice(&std::fs::read(t1562_sidecar(&job)).unwrap()).unwrap();
    sidecar["etag"] = "\"edited\nby hand\"".into();
    std::fs::write(t1562_sidecar(&job), sidecar.to_string()).unwrap();

    server.forget_seen();
    let healed = job.refresh(&server);
    assert_eq!(code(&healed), 4, "fetched whole, nothing changed\n{}", explain(&healed));
    assert_eq!(stderr(&healed).matches(WARNING).count(), 1, "{}", explain(&healed));
    assert_eq!(t1562_requests(&server), [(false, 200)], "one unconditional request");
    let rewritten: serde_json::Value = serde_json::from_slice(&std::fs::read(t1562_sidecar(&job)).unwrap()).unwrap();
    assert!(
        !rewritten["etag"].as_str().unwrap().contains('\n'),
        "the server's ETag is stored again: {rewritten}"
    );

    server.forget_seen();
    let next_night = job.refresh(&server);
    assert_eq!(code(&next_night), 4, "{}", explain(&next_night));
    assert!(!stderr(&next_night).contains(WARNING), "{}", explain(&next_night));
    assert_eq!(t1562_requests(&server), [(true, 304)], "conditional again");
}

/// The id of a process that has ended (and been reaped).
#[cfg(unix)]
fn a_dead_process() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[cfg(unix)]
#[test]
fn temporaries_of_killed_runs_are_removed_from_raw_and_counted() {
    let server = fixture_site();
    let job = Job::new();
    assert_eq!(code(&job.refresh(&server)), 0);
    let page_dir = job.dir.path().join("raw").join(T1562);
    let dead = [
        page_dir.join(format!(".index.html.tmp-{}", a_dead_process())),
        job.dir
            .path()
            .join(format!("raw/data/.x.json.tmp-{}", a_dead_process())),
    ];
    let live = page_dir.join(format!(".index.html.tmp-{}", std::process::id()));
    for file in dead.iter().chain([&live]) {
        std::fs::write(file, "half a page").unwrap();
    }
    let output = job.refresh(&server);
    assert_eq!(code(&output), 4, "{}", explain(&output));
    assert!(dead.iter().all(|f| !f.exists()), "the dead runs' temporaries are gone");
    assert!(live.exists(), "a live process's temporary stays");
    let stderr = stderr(&output);
    assert!(
        stderr.contains("removed temporary files") && stderr.contains("removed=2"),
        "{stderr}"
    );
}

#[test]
fn a_redirect_loop_on_the_site_is_reported_as_a_loop() {
    let server = fixture_site();
    server.fail_always(T1562, Fault::RedirectTo(format!("{}{T1562}", server.base_url)));
    let job = Job::new();
    let output = job.refresh(&server);
    assert_eq!(code(&output), 1, "{}", explain(&output));
    let stderr = stderr(&output);
    assert!(stderr.contains("redirect loop at"), "{stderr}");
    assert!(!stderr.contains("leaves"), "the site's own host is not left: {stderr}");
}

#[test]
fn too_many_redirects_on_the_site_are_reported_as_such() {
    let server = fixture_site();
    for hop in 0..8 {
        let next = format!("{}{T1562}?hop={}", server.base_url, hop + 1);
        let path = if hop == 0 {
            T1562.to_string()
        } else {
            format!("{T1562}?hop={hop}")
        };
        server.fail_always(&path, Fault::RedirectTo(next));
    }
    let job = Job::new();
    let output = job.refresh(&server);
    assert_eq!(code(&output), 1, "{}", explain(&output));
    let stderr = stderr(&output);
    assert!(stderr.contains("too many redirects"), "{stderr}");
    assert!(!stderr.contains("leaves"), "{stderr}");
}
