//! The dataset selection (`--attack-version`, `--domain`, `--framework`): each list from the flags,
//! else the file, else its default, and checked before anything is requested.

use super::{ConfigFile, FetchArgs};
use crate::sources::http::crawl::DatasetSelection;

/// A list from the command line or environment, else from the file, else the default.
/// The values given on the command line, else in the file, else `default`; empty (every value) when
/// one of them is `all`.
fn list(given: &[String], file: &Option<Vec<String>>, default: &[&str]) -> Vec<String> {
    let values: Vec<String> = if !given.is_empty() {
        given.to_vec()
    } else if let Some(values) = file {
        values.clone()
    } else {
        default.iter().map(|s| s.to_string()).collect()
    };
    if values.iter().any(|v| v == ALL) {
        Vec::new()
    } else {
        values
    }
}

/// The selector value for every version, domain or framework the site publishes.
pub(super) const ALL: &str = "all";
/// The ATT&CK version selector for each framework's newest release on the site.
const LATEST: &str = "latest";

impl FetchArgs {
    /// The selection, each value checked against its field's pattern.
    pub fn selection(&self, file: &ConfigFile) -> Result<DatasetSelection, String> {
        let mut attack_versions = list(&self.selection.attack_versions, &file.attack_versions, &[LATEST]);
        let latest = attack_versions.iter().any(|v| v == LATEST);
        if latest {
            if attack_versions.len() > 1 {
                return Err(format!(
                    "--attack-version {}: latest stands alone (each framework at its newest ATT&CK version)",
                    attack_versions.join(",")
                ));
            }
            attack_versions.clear();
        }
        let selection = DatasetSelection {
            attack_versions,
            latest,
            domains: list(&self.selection.domains, &file.domains, &[]),
            frameworks: list(&self.selection.frameworks, &file.frameworks, &[]),
            carried_to: Vec::new(),
        };
        selection.check()?;
        Ok(selection)
    }
}

#[cfg(test)]
mod tests {
    use super::super::SelectionArgs;
    use super::*;

    #[test]
    fn selectors_that_could_become_paths_are_refused() {
        let file = ConfigFile::default();
        let with = |domains: &[&str], versions: &[&str]| FetchArgs {
            selection: SelectionArgs {
                domains: domains.iter().map(|s| s.to_string()).collect(),
                attack_versions: versions.iter().map(|s| s.to_string()).collect(),
                frameworks: vec![],
            },
            ..FetchArgs::default()
        };
        assert!(with(&["../../etc"], &[])
            .selection(&file)
            .unwrap_err()
            .contains("--domain"));
        assert!(with(&[], &["16.1/../x"])
            .selection(&file)
            .unwrap_err()
            .contains("--attack-version"));
        assert!(with(&["mobile"], &["15.1"]).selection(&file).is_ok());
        assert!(with(&[], &["latest", "16.1"])
            .selection(&file)
            .unwrap_err()
            .contains("latest stands alone"));
    }
}
