//! What a person sees on a terminal: a summary that fits 80 columns, nothing under `--quiet`, more
//! logs with `-v`, and shell completions that the shell reads.

use std::process::Command;

use crate::helpers::*;
use crate::refresh::{code, explain, fixture_site, Job};

fn attackmap(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_attackmap"))
        .args(args)
        .output()
        .expect("the attackmap binary runs")
}

fn assert_fits_80_columns(stdout: &str) {
    for line in stdout.lines() {
        assert!(line.chars().count() <= 80, "{} columns: {line}", line.chars().count());
    }
}

#[test]
fn the_summary_fits_80_columns_and_ends_with_where_the_report_is() {
    let built = build(&[
        fixture("site"),
        fixture("traps"),
        fixture("mapping-files"),
        fixture("hostile"),
    ]);
    assert_eq!(built.code, 3, "{}", built.stderr);
    assert_fits_80_columns(&built.stdout);
    let last = built.stdout.lines().last().unwrap();
    assert!(last.starts_with("report: ") && last.ends_with("report.html"), "{last}");
    assert!(
        built.stdout.contains("rejected "),
        "the rejection is listed: {}",
        built.stdout
    );
}

#[test]
fn the_snapshots_summary_fits_80_columns_a_line_per_dataset() {
    let Some(site) = shared("site") else { return };
    let built = build(&[site]);
    assert_fits_80_columns(&built.stdout);
    let datasets = built.stdout.lines().filter(|l| l.contains("_attack-16.1-")).count();
    assert_eq!(datasets, 11, "{}", built.stdout);
}

#[test]
fn quiet_prints_nothing_on_stdout_and_keeps_the_exit_code() {
    let out = tempfile::tempdir().unwrap();
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("raw");
    let output = attackmap(&[
        "--quiet",
        "build",
        "--input",
        sample.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0));
    assert!(output.stdout.is_empty(), "{}", String::from_utf8_lossy(&output.stdout));
    assert!(out.path().join("report.html").is_file(), "the run did its work");
}

#[test]
fn verbose_logs_what_each_stage_did() {
    let server = fixture_site();
    let job = Job::new();
    let quiet = job.refresh(&server);
    assert_eq!(code(&quiet), 0, "{}", explain(&quiet));
    assert!(
        !String::from_utf8_lossy(&quiet.stderr).contains("INFO"),
        "warnings only by default"
    );
    let job = Job::new();
    let verbose = job.refresh_from(&server, &["-v", "--framework", "nist_800_53"]);
    assert_eq!(code(&verbose), 0, "{}", explain(&verbose));
    let stderr = String::from_utf8_lossy(&verbose.stderr);
    assert!(stderr.contains("INFO") && stderr.contains("fetched"), "{stderr}");
}

#[test]
fn bash_reads_the_completion_script_and_it_offers_every_command() {
    let output = attackmap(&["completions", "bash"]);
    assert_eq!(output.status.code(), Some(0));
    let script = String::from_utf8(output.stdout).unwrap();
    for word in [
        "build",
        "refresh",
        "fetch",
        "validate",
        "publish-taxii",
        "--attack-version",
        "--quiet",
    ] {
        assert!(script.contains(word), "the script offers {word}");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("attackmap.bash");
    std::fs::write(&path, &script).unwrap();
    let checked = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));
    for shell in ["zsh", "fish"] {
        let output = attackmap(&["completions", shell]);
        assert_eq!(output.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&output.stdout).contains("refresh"), "{shell}");
    }
}
