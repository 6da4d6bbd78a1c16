//! A bad download never poisons raw/, and a transient failure never fails the night: a body that is
//! not what its URL promised is never stored, and a URL that keeps failing falls back on its
//! previous good copy, marked stale (exit 3); only without one does the run fail.

use crate::helpers::*;
use crate::refresh::{after_a_good_run, code, data_outputs, explain, fixture_site, Job, NIST_FILE};
use crate::server::{Fault, TestServer};

fn stale_inputs(job: &Job) -> Vec<String> {
    job.json("manifest.json")["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["stale"] == true)
        .map(|i| i["url"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_mapping_file_failing_all_night_is_served_from_its_previous_copy_marked_stale() {
    let (job, server, before, output, _) = after_a_good_run(|s| s.fail_always(NIST_FILE, Fault::Status(500)));
    assert_eq!(code(&output), 3, "{}", explain(&output));
    assert_eq!(
        data_outputs(&job.snapshot()),
        data_outputs(&before),
        "out/ is complete: the same data as last night"
    );
    assert_eq!(stale_inputs(&job), [format!("{}{NIST_FILE}", server.base_url)]);
    let tries = server.seen().iter().filter(|s| s.path == NIST_FILE).count();
    assert_eq!(
        tries, 6,
        "3 attempts, then one more pass of 3 after the rest of its step"
    );
}

#[test]
fn a_truncated_body_answered_200_is_never_stored_and_the_next_good_night_is_as_a_clean_build() {
    let (job, _, _, _, _) = after_a_good_run(|_| {});
    let stored = std::fs::read(job.dir.path().join("raw").join(NIST_FILE)).unwrap();
    let flaky = fixture_site();
    let whole = std::fs::read(fixture("served").join(NIST_FILE)).unwrap();
    flaky.replace(NIST_FILE, whole[..whole.len() / 2].to_vec());
    let output = job.refresh(&flaky);
    assert_eq!(code(&output), 3, "{}", explain(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not what the URL promised"));
    assert_eq!(
        std::fs::read(job.dir.path().join("raw").join(NIST_FILE)).unwrap(),
        stored,
        "the previous copy is kept, with its validators"
    );

    let healthy = fixture_site();
    let next_night = job.refresh(&healthy);
    assert!([0, 4].contains(&code(&next_night)), "{}", explain(&next_night));
    let clean = Job::new();
    assert_eq!(code(&clean.refresh(&healthy)), 0);
    assert_eq!(
        data_outputs(&job.snapshot())
            .into_iter()
            .map(|(p, b)| (p.strip_prefix(job.dir.path()).unwrap().to_path_buf(), b))
            .collect::<Vec<_>>(),
        data_outputs(&clean.snapshot())
            .into_iter()
            .map(|(p, b)| (p.strip_prefix(clean.dir.path()).unwrap().to_path_buf(), b))
            .collect::<Vec<_>>(),
    );
}

#[test]
fn a_url_that_promised_a_mapping_file_but_answers_something_else_is_a_failed_fetch() {
    for body in [
        &b"<html><body>Oops</body></html>"[..],
        b"null",
        b"{}",
        b"Service temporarily unavailable",
    ] {
        let server = fixture_site();
        server.replace(NIST_FILE, body.to_vec());
        let job = Job::new();
        let output = job.refresh(&server);
        assert_eq!(
            code(&output),
            1,
            "no previous copy: the run fails, never builds from the pages alone\n{}",
            explain(&output)
        );
        assert!(String::from_utf8_lossy(&output.stderr).contains(NIST_FILE));
        assert!(!job.out().exists());
    }
}

#[test]
fn a_server_failing_one_request_in_three_still_gives_a_good_night() {
    let server = fixture_site();
    server.fail_one_request_in(3);
    let job = Job::new();
    let output = job.refresh(&server);
    assert_eq!(code(&output), 0, "{}", explain(&output));
    assert!(server.seen().iter().any(|s| s.status == 500), "the server did fail");
    assert!(stale_inputs(&job).is_empty());
}

#[test]
fn the_whole_site_from_a_server_failing_one_request_in_seven_still_gives_a_good_night() {
    let Some(site) = shared_site_as_served() else { return };
    let server = TestServer::serving(&site);
    server.fail_one_request_in(7);
    let job = Job::new();
    let output = job.refresh_from(&server, &["--attack-version", "16.1", "--domain", "enterprise"]);
    assert_eq!(code(&output), 0, "{}", explain(&output));
    let failed = server.seen().iter().filter(|s| s.status == 500).count();
    assert!(failed > 50, "the server failed {failed} requests");
    assert!(stale_inputs(&job).is_empty());
}

#[test]
fn a_body_trickling_a_byte_at_a_time_is_cut_off_at_the_time_out() {
    let (_, server, _, output, elapsed) =
        after_a_good_run(|s| s.fail_always(NIST_FILE, Fault::Trickle(std::time::Duration::from_millis(50))));
    assert_eq!(code(&output), 3, "{}", explain(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("in all"));
    let whole = std::fs::read(fixture("served").join(NIST_FILE)).unwrap().len();
    assert!(
        elapsed.as_secs() * 20 < whole as u64,
        "{elapsed:?}: never waited for the {whole} bytes at 20 a second"
    );
    assert!(server.seen().iter().filter(|s| s.path == NIST_FILE).count() >= 2);
}

#[test]
fn requests_not_started_by_the_runs_deadline_fail() {
    let server = fixture_site();
    let job = Job::new();
    let output = job
        .command(&[
            "--base-url",
            &server.base_url,
            "--framework",
            "nist_800_53",
            "--rate-limit",
            "1",
            "--deadline",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&output), 1, "{}", explain(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--deadline passed"));
    assert!(server.seen().len() < 5, "not every page was requested");
}
