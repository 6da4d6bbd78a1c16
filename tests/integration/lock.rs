//! One refresh at a time: the lock is the kernel's, held for the life of the process, so a leftover
//! lock file never blocks and a killed run never leaves a lock behind.

use crate::helpers::*;
use crate::refresh::{code, explain, slow_refresh, wait_for, Job};

#[test]
fn a_second_refresh_started_while_one_runs_exits_with_5() {
    let Some(site) = shared("site") else { return };
    let job = Job::new();
    let mut first = slow_refresh(&job, &site);
    assert!(
        wait_for(|| job.dir.path().join("out.lock").exists()),
        "the first run takes the lock"
    );
    let second = job
        .command(&["--offline", "--raw", site.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(code(&second), 5, "{}", explain(&second));
    assert!(String::from_utf8_lossy(&second.stderr).contains("holds"));
    assert!(first.wait().unwrap().success());
}

#[test]
fn a_leftover_lock_file_never_blocks_whatever_process_id_it_names() {
    let job = Job::new();
    let raw = fixture("mapping-files");
    // 1 is a live process in any container; the others are garbage a killed run may leave.
    for content in ["1\n", &format!("{}\n", std::process::id()), "not a pid"] {
        std::fs::write(job.dir.path().join("out.lock"), content).unwrap();
        let output = job
            .command(&["--offline", "--raw", raw.to_str().unwrap()])
            .output()
            .unwrap();
        assert!([0, 4].contains(&code(&output)), "{content:?}: {}", explain(&output));
    }
}

#[test]
fn a_lock_held_by_another_process_stops_the_run_with_5() {
    let job = Job::new();
    let lock = std::fs::File::create(job.dir.path().join("out.lock")).unwrap();
    lock.lock().unwrap();
    let raw = fixture("mapping-files");
    let output = job
        .command(&["--offline", "--raw", raw.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(code(&output), 5, "{}", explain(&output));
    drop(lock);
    let output = job
        .command(&["--offline", "--raw", raw.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        code(&output),
        0,
        "released: the next run starts at once\n{}",
        explain(&output)
    );
}

#[test]
fn a_lock_that_cannot_be_taken_is_a_failure_not_a_held_lock() {
    let job = Job::new();
    std::fs::create_dir(job.dir.path().join("out.lock")).unwrap();
    let raw = fixture("mapping-files");
    let output = job
        .command(&["--offline", "--raw", raw.to_str().unwrap(), "--out", "out"])
        .output()
        .unwrap();
    assert_eq!(code(&output), 1, "{}", explain(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("taking the lock"));
}
