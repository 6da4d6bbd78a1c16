//! Helpers that let the tests read like prose: build these inputs, then look at the table and report.

use std::path::{Path, PathBuf};
use std::process::Command;

use polars::prelude::*;
use serde_json::Value;

/// A fixture path under `tests/fixtures`.
pub fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(relative)
}

/// A path in `../shared`, or `None` (and a printed reason) when the snapshot is not there.
pub fn shared(relative: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared").join(relative);
    if path.exists() {
        Some(path)
    } else if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!(
            "{} is absent, and CI=true: a broken checkout must never look green",
            path.display()
        );
    } else {
        eprintln!(
            "skipped: {} is absent (the ../shared snapshot is not on this machine)",
            path.display()
        );
        None
    }
}

/// The snapshot as the live site serves it: `site/` with its framework pages (`site-frameworks/`,
/// which the crawl starts from) laid over it; `None` (and a printed reason) when it is not there.
pub fn shared_site_as_served() -> Option<Vec<PathBuf>> {
    Some(vec![shared("site-frameworks")?, shared("site")?])
}

/// What one `attackmap build` left behind.
pub struct Built {
    pub out: tempfile::TempDir,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `attackmap build --input <inputs…> --out <a fresh directory>`.
pub fn build(inputs: &[PathBuf]) -> Built {
    build_with_attack(inputs, &[])
}

/// Runs `attackmap build` with ATT&CK bundles given by `--attack-stix`.
pub fn build_with_attack(inputs: &[PathBuf], attack_bundles: &[PathBuf]) -> Built {
    let out = tempfile::tempdir().expect("a temporary directory");
    let mut command = Command::new(env!("CARGO_BIN_EXE_attackmap"));
    command
        .arg("build")
        .arg("--input")
        .args(inputs)
        .arg("--out")
        .arg(out.path());
    if !attack_bundles.is_empty() {
        command.arg("--attack-stix").args(attack_bundles);
    }
    let output = command.output().expect("the attackmap binary runs");
    Built {
        out,
        code: output.status.code().expect("an exit code"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

impl Built {
    pub fn file(&self, name: &str) -> PathBuf {
        self.out.path().join(name)
    }

    pub fn bytes(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.file(name)).unwrap_or_else(|e| panic!("reading {name}: {e}\nstderr: {}", self.stderr))
    }

    pub fn report(&self) -> Value {
        serde_json::from_slice(&self.bytes("report.json")).expect("report.json is JSON")
    }

    /// The Parquet table read back.
    pub fn table(&self) -> DataFrame {
        let file = std::fs::File::open(self.file("mappings.parquet")).expect("mappings.parquet exists");
        ParquetReader::new(file).finish().expect("mappings.parquet reads back")
    }

    /// The report's entry for one dataset (`nist_800_53-rev5_attack-16.1-enterprise`).
    pub fn dataset(&self, name: &str) -> Value {
        self.report()["datasets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["dataset"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no dataset {name} in the report"))
    }

    pub fn assert_succeeded(&self) {
        assert_eq!(
            self.code, 0,
            "exit code\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
    }
}

/// The table's values of a string column, nulls as `None`.
pub fn strings(table: &DataFrame, column: &str) -> Vec<Option<String>> {
    table
        .column(column)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.map(String::from))
        .collect()
}

/// How many rows of the table each framework has.
pub fn rows_per_framework(table: &DataFrame) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for framework in strings(table, "framework").into_iter().flatten() {
        *counts.entry(framework).or_insert(0) += 1;
    }
    counts
}

/// The rows (as column → value maps) whose `capability_id` is `capability`.
pub fn rows_of(table: &DataFrame, capability: &str) -> Vec<usize> {
    strings(table, "capability_id")
        .iter()
        .enumerate()
        .filter(|(_, id)| id.as_deref() == Some(capability))
        .map(|(i, _)| i)
        .collect()
}

pub fn occurrences(table: &DataFrame, row: usize) -> u32 {
    table.column("occurrences").unwrap().u32().unwrap().get(row).unwrap()
}

pub fn string_at(table: &DataFrame, column: &str, row: usize) -> Option<String> {
    table.column(column).unwrap().str().unwrap().get(row).map(String::from)
}

/// Every file under `dir` (recursively), relative to it, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(
                files_under(&path)
                    .into_iter()
                    .map(|p| Path::new(&entry.file_name()).join(p)),
            );
        } else {
            files.push(PathBuf::from(entry.file_name()));
        }
    }
    files.sort();
    files
}
