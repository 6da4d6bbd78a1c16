//! The raw store: fetched files laid out under `raw/` at their site paths, each with a sidecar
//! (`.<name>.fetch.json`, hidden so `build` skips it) recording where and when it came from.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fs::write_atomically;

/// What the sidecar of a raw file records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sidecar {
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub sha256: String,
    pub fetched_at: String,
}

/// `raw/` and the site paths under it.
#[derive(Debug, Clone)]
pub struct RawStore {
    pub root: PathBuf,
}

impl RawStore {
    /// The file of a site path: `attack/…/techniques/T1562/` → `raw/attack/…/techniques/T1562/index.html`.
    pub fn file_of(&self, site_path: &str) -> PathBuf {
        let relative = if site_path.is_empty() || site_path.ends_with('/') {
            format!("{site_path}index.html")
        } else {
            site_path.to_string()
        };
        self.root.join(relative)
    }

    pub fn sidecar_of(file: &Path) -> PathBuf {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        file.with_file_name(format!(".{name}.fetch.json"))
    }

    /// The stored copy of a site path and its sidecar, when both exist and agree.
    pub fn stored(&self, site_path: &str) -> Option<(PathBuf, Sidecar)> {
        let file = self.file_of(site_path);
        let sidecar: Sidecar = serde_json::from_slice(&std::fs::read(Self::sidecar_of(&file)).ok()?).ok()?;
        let bytes = std::fs::read(&file).ok()?;
        (crate::fs::sha256_hex(&bytes) == sidecar.sha256).then_some((file, sidecar))
    }

    /// Stores a fetched body and its sidecar, each atomically.
    pub fn store(&self, site_path: &str, body: &[u8], sidecar: &Sidecar) -> Result<PathBuf> {
        let file = self.file_of(site_path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::WriteOutput {
                path: parent.to_path_buf(),
                reason: e.to_string(),
            })?;
        }
        write_atomically(&file, |out| {
            std::io::Write::write_all(out, body).map_err(|e| e.to_string())
        })?;
        let json = serde_json::to_vec_pretty(sidecar).expect("a sidecar serializes");
        write_atomically(&Self::sidecar_of(&file), |out| {
            std::io::Write::write_all(out, &json).map_err(|e| e.to_string())
        })?;
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_paths_map_to_files_and_hidden_sidecars() {
        let store = RawStore {
            root: PathBuf::from("raw"),
        };
        assert_eq!(
            store.file_of("attack/attack-16.1/domain-enterprise/techniques/T1562/"),
            PathBuf::from("raw/attack/attack-16.1/domain-enterprise/techniques/T1562/index.html")
        );
        assert_eq!(store.file_of("data/x/y.json"), PathBuf::from("raw/data/x/y.json"));
        assert_eq!(
            RawStore::sidecar_of(Path::new("raw/a/index.html")),
            PathBuf::from("raw/a/.index.html.fetch.json")
        );
    }
}
