//! The files a refresh staged, each read and hashed once: the outputs that changed since the last
//! publication and the manifest's list of outputs are both taken from this one listing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::MANIFEST;
use crate::error::Result;
use crate::fs::sha256_of_file;

/// The files of a staging tree, in the order the manifest lists them (that of
/// [`crate::sources::discover`]: hidden entries skipped), each with the SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct StagedOutputs {
    files: Vec<StagedOutput>,
}

#[derive(Debug, Clone, PartialEq)]
struct StagedOutput {
    /// The path relative to the staging directory, as the manifest names it.
    name: String,
    sha256: String,
}

impl StagedOutputs {
    /// Lists `staging` and hashes every file it holds.
    pub fn hash(staging: &Path) -> Result<StagedOutputs> {
        StagedOutputs::listed(staging, &BTreeMap::new())
    }

    /// Lists `staging` again once the files named `written` (report.html) are written into it:
    /// those and any file not listed before are read; the others keep their hash, since nothing
    /// rewrites them in between.
    pub fn relisted(self, staging: &Path, written: &[&str]) -> Result<StagedOutputs> {
        let known = self
            .files
            .into_iter()
            .filter(|f| !written.contains(&f.name.as_str()))
            .map(|f| (f.name, f.sha256))
            .collect();
        StagedOutputs::listed(staging, &known)
    }

    fn listed(staging: &Path, known: &BTreeMap<String, String>) -> Result<StagedOutputs> {
        let mut files = Vec::new();
        for file in crate::sources::discover(&[staging.to_path_buf()])? {
            let sha256 = match known.get(&file.name) {
                Some(sha256) => sha256.clone(),
                None => sha256_of_file(&file.path).map_err(|source| crate::error::Error::ReadInput {
                    path: file.path.clone(),
                    source,
                })?,
            };
            files.push(StagedOutput {
                name: file.name,
                sha256,
            });
        }
        Ok(StagedOutputs { files })
    }

    /// Each file as (path relative to the staging directory, SHA-256), in the manifest's order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files.iter().map(|f| (f.name.as_str(), f.sha256.as_str()))
    }
}

/// The outputs of `staged` whose bytes differ from those the manifest published in `out` lists
/// (added, removed or changed), sorted; the files that tell of the run itself (the manifest,
/// report.html, the change files and the change feed) left out. Every output when `out` holds no
/// manifest that reads: nothing says they are the same.
pub fn changed_outputs(out: &Path, staged: &StagedOutputs) -> Vec<String> {
    let of_the_run = |path: &str| {
        [
            MANIFEST,
            crate::sinks::report_html::REPORT_HTML,
            super::CHANGES_JSON,
            super::CHANGES_CSV,
        ]
        .contains(&path)
            || path.starts_with(&format!(
                "{}/{}/",
                crate::pipeline::WAREHOUSE_DIR,
                crate::sinks::warehouse::CHANGES_TABLE
            ))
    };
    let previous: BTreeMap<String, String> = std::fs::read(out.join(MANIFEST))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|manifest| {
            manifest["outputs"].as_array().map(|outputs| {
                outputs
                    .iter()
                    .filter_map(|o| Some((o["path"].as_str()?.to_string(), o["sha256"].as_str()?.to_string())))
                    .collect()
            })
        })
        .unwrap_or_default();
    let mut changed = Vec::new();
    let mut seen = BTreeSet::new();
    for (name, sha256) in staged.entries() {
        if of_the_run(name) {
            continue;
        }
        if previous.get(name).map(String::as_str) != Some(sha256) {
            changed.push(name.to_string());
        }
        seen.insert(name);
    }
    changed.extend(
        previous
            .into_keys()
            .filter(|path| !of_the_run(path) && !seen.contains(path.as_str())),
    );
    changed.sort();
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::sha256_hex;
    use std::path::PathBuf;

    fn write(root: &Path, name: &str, text: &str) {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn staging_with(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let staging = dir.path().join("staging");
        for (name, text) in files {
            write(&staging, name, text);
        }
        (dir, staging)
    }

    fn names(staged: &StagedOutputs) -> Vec<&str> {
        staged.entries().map(|(name, _)| name).collect()
    }

    #[test]
    fn a_listing_relisted_after_report_html_is_written_equals_one_taken_afresh() {
        // `stix-x/` sorts before `stix/` as a string, after it as a path: the manifest's order is the path's.
        let (_dir, staging) = staging_with(&[
            ("mappings.csv", "a,b\n"),
            ("stix/one.json", "{}"),
            ("stix-x/two.json", "[]"),
            (".hidden", "never listed"),
        ]);
        let before = StagedOutputs::hash(&staging).unwrap();
        write(&staging, "report.html", "<html></html>");

        let relisted = before.relisted(&staging, &["report.html"]).unwrap();

        assert_eq!(relisted, StagedOutputs::hash(&staging).unwrap());
        assert_eq!(
            names(&relisted),
            ["mappings.csv", "report.html", "stix/one.json", "stix-x/two.json"]
        );
        let report = relisted.entries().find(|(name, _)| *name == "report.html").unwrap();
        assert_eq!(report.1, sha256_hex(b"<html></html>"));
    }

    #[test]
    fn a_file_named_as_written_is_hashed_again_when_relisted() {
        let (_dir, staging) = staging_with(&[("mappings.csv", "a,b\n"), ("report.html", "old")]);
        let before = StagedOutputs::hash(&staging).unwrap();
        write(&staging, "report.html", "new");

        let relisted = before.relisted(&staging, &["report.html"]).unwrap();

        assert_eq!(relisted, StagedOutputs::hash(&staging).unwrap());
    }

    #[test]
    fn changed_outputs_names_the_files_added_removed_or_changed_but_not_those_of_the_run() {
        let (dir, staging) = staging_with(&[
            ("same.csv", "same"),
            ("changed.csv", "new bytes"),
            ("added.csv", "added"),
            ("changes.json", "[]"),
        ]);
        let out = dir.path().join("out");
        let listed = |path: &str, bytes: &[u8]| serde_json::json!({"path": path, "sha256": sha256_hex(bytes)});
        let manifest = serde_json::json!({"outputs": [
            listed("same.csv", b"same"),
            listed("changed.csv", b"old bytes"),
            listed("removed.csv", b"gone"),
            listed("changes.json", b"old changes"),
            listed("report.html", b"old report"),
        ]});
        write(&out, MANIFEST, &manifest.to_string());

        let changed = changed_outputs(&out, &StagedOutputs::hash(&staging).unwrap());

        assert_eq!(changed, ["added.csv", "changed.csv", "removed.csv"]);
    }

    #[test]
    fn every_output_changed_when_out_holds_no_manifest() {
        let (dir, staging) = staging_with(&[("b.csv", "b"), ("a.csv", "a"), ("report.html", "r")]);

        let changed = changed_outputs(&dir.path().join("out"), &StagedOutputs::hash(&staging).unwrap());

        assert_eq!(changed, ["a.csv", "b.csv"]);
    }
}
