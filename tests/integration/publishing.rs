//! `build` publishes as `refresh` does: whole or not at all, and only into an `out/` that is
//! attackmap's; `refresh` says what `build` says.

use std::path::Path;
use std::process::{Command, Output};

use crate::helpers::*;

fn build_into(out: &Path, inputs: &[&str], extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_attackmap"))
        .arg("build")
        .arg("--input")
        .args(inputs.iter().map(|i| fixture(i)))
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn every_file(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    files_under(dir)
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(dir.join(&f)).unwrap();
            (f, bytes)
        })
        .collect()
}

#[test]
fn a_build_that_fails_midway_leaves_out_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert_eq!(build_into(&out, &["site"], &[]).status.code(), Some(0));
    // A file where the warehouse directory goes: CSV and Parquet are written, then the warehouse fails.
    std::fs::remove_dir_all(out.join("warehouse")).unwrap();
    std::fs::write(out.join("warehouse"), "in the way").unwrap();
    let before = every_file(&out);
    let output = build_into(&out, &["site", "mapping-files"], &[]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(every_file(&out), before, "not one file of out/ changed");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("staging"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_build_of_some_formats_keeps_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    assert_eq!(build_into(&out, &["site"], &[]).status.code(), Some(0));
    let stix_before = every_file(&out.join("stix"));
    assert_eq!(
        build_into(&out, &["site", "mapping-files"], &["--format", "csv"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(every_file(&out.join("stix")), stix_before, "stix/ was not asked for");
    let csv = std::fs::read_to_string(out.join("mappings.csv")).unwrap();
    assert!(csv.contains("acme_stack"), "the CSV is the new build's");
}

#[test]
fn a_directory_attackmap_did_not_make_is_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("documents");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("thesis.docx"), "years of work").unwrap();
    let output = build_into(&out, &["site"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not an output of attackmap"));
    assert_eq!(files_under(&out), [Path::new("thesis.docx")]);
}

#[cfg(unix)]
#[test]
fn an_out_that_is_a_symbolic_link_is_refused_by_build_and_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("real-out");
    std::fs::create_dir_all(&target).unwrap();
    let link = dir.path().join("out");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let output = build_into(&link, &["site"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("symbolic link"));
    let refresh = Command::new(env!("CARGO_BIN_EXE_attackmap"))
        .args(["refresh", "--offline", "--raw"])
        .arg(fixture("mapping-files"))
        .arg("--out")
        .arg(&link)
        .output()
        .unwrap();
    assert_eq!(refresh.status.code(), Some(1));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
}

#[test]
fn refresh_prints_and_counts_the_export_warnings_build_prints() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let build = build_into(&dir.path().join("built"), &["mapping-files"], &[]);
    let build_warning = String::from_utf8_lossy(&build.stderr)
        .lines()
        .find(|l| l.contains("warning"))
        .expect("build warns about stand-in attack-patterns")
        .to_string();
    let refresh = Command::new(env!("CARGO_BIN_EXE_attackmap"))
        .args(["refresh", "--offline", "--raw"])
        .arg(fixture("mapping-files"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&refresh.stderr).contains(&build_warning),
        "{}",
        String::from_utf8_lossy(&refresh.stderr)
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["export_warnings"].as_array().unwrap().len(), 1);
    assert_eq!(build.status.code(), refresh.status.code(), "the same exit code");
}

/// Every file under `dir` with its identity on disk (device, inode) and modification time.
#[cfg(unix)]
fn identities(dir: &Path) -> Vec<(std::path::PathBuf, (u64, u64, i64))> {
    use std::os::unix::fs::MetadataExt;
    files_under(dir)
        .into_iter()
        .map(|f| {
            let metadata = std::fs::metadata(dir.join(&f)).unwrap();
            (f, (metadata.dev(), metadata.ino(), metadata.mtime_nsec()))
        })
        .collect()
}

#[cfg(unix)]
#[test]
fn a_build_that_changes_nothing_keeps_every_published_file_and_a_changed_one_lists_its_changes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // The first publish lists every row as added; the second lists none, and so does every next one.
    for _ in 0..2 {
        assert_eq!(build_into(&out, &["site"], &[]).status.code(), Some(0));
    }
    let (published, bytes) = (identities(&out), every_file(&out));
    assert_eq!(build_into(&out, &["site"], &[]).status.code(), Some(0));
    assert_eq!(every_file(&out), bytes, "the same bytes");
    assert_eq!(identities(&out), published, "not one file written again");
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("<p>0 added, 0 removed, 0 changed.</p>"), "{page}");

    assert_eq!(build_into(&out, &["site", "mapping-files"], &[]).status.code(), Some(0));
    let now = identities(&out);
    let table = |files: &[(std::path::PathBuf, (u64, u64, i64))]| {
        files
            .iter()
            .find(|(f, _)| f.as_os_str() == "mappings.parquet")
            .unwrap()
            .1
    };
    assert_ne!(table(&now), table(&published), "the table is written anew");
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(!page.contains("<p>0 added, 0 removed, 0 changed.</p>"), "{page}");
    assert!(page.contains("<h3>added: first"), "the new rows are listed");
}
