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

impl Sidecar {
    /// The validators (`etag`, `last_modified`) that cannot be sent back in a request header: not
    /// what a server's header held (visible ASCII), so a sidecar edited or corrupted by hand. Such
    /// a validator is dropped and the file fetched without it; the answer writes a new sidecar.
    pub fn unusable_validators(&self) -> Vec<&'static str> {
        let usable = |value: &Option<String>| {
            value.as_deref().is_none_or(|text| {
                reqwest::header::HeaderValue::from_str(text).is_ok_and(|header| header.to_str().is_ok())
            })
        };
        [("ETag", &self.etag), ("Last-Modified", &self.last_modified)]
            .into_iter()
            .filter(|(_, value)| !usable(value))
            .map(|(name, _)| name)
            .collect()
    }
}

/// `raw/` and the site paths under it.
#[derive(Debug, Clone)]
pub struct RawStore {
    pub root: PathBuf,
}

impl RawStore {
    /// The file of a site path: `attack/…/techniques/T1562/` → `raw/attack/…/techniques/T1562/index.html`.
    /// A path that [`check_site_path`] refuses has no file.
    pub fn file_of(&self, site_path: &str) -> Result<PathBuf, String> {
        check_site_path(site_path)?;
        let relative = if site_path.is_empty() || site_path.ends_with('/') {
            format!("{site_path}index.html")
        } else {
            site_path.to_string()
        };
        Ok(self.root.join(relative))
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
        let file = self.file_of(site_path).ok()?;
        let sidecar: Sidecar = serde_json::from_slice(&std::fs::read(Self::sidecar_of(&file)).ok()?).ok()?;
        let bytes = std::fs::read(&file).ok()?;
        (crate::fs::sha256_hex(&bytes) == sidecar.sha256).then_some((file, sidecar))
    }

    /// Stores a fetched body and its sidecar, each atomically.
    pub fn store(&self, site_path: &str, body: &[u8], sidecar: &Sidecar) -> Result<PathBuf> {
        let file = self.file_of(site_path).map_err(|reason| Error::WriteOutput {
            path: self.root.join("…"),
            reason: format!("site path {}: {reason}", crate::identifiers::shown(site_path)),
        })?;
        if let Some(parent) = file.parent() {
            self.create_dirs_inside(parent)?;
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

/// Where raw files the site no longer reaches are moved, with their sidecars (hidden: `build` skips it).
pub const RETIRED_DIR: &str = ".retired";

impl RawStore {
    /// Moves every fetched file (one with a sidecar) that is not in `reached` into
    /// `raw/.retired/<its site path>`, with its sidecar: what the site no longer publishes leaves
    /// the build, and stays at hand for a person. Files without a sidecar are left to
    /// [`RawStore::retire_strays`]. Returns the site paths retired, sorted.
    pub fn retire_unreached(&self, reached: &std::collections::BTreeSet<PathBuf>) -> Result<Vec<String>> {
        self.retire_where(|path, has_sidecar| has_sidecar && !reached.contains(path))
    }

    /// Moves every file without a sidecar that is not in `reached` into `raw/.retired/`: no fetch
    /// put it there (a person did, or an older attackmap), and a refresh builds from what its crawl
    /// saw. Returns the site paths retired, sorted.
    pub fn retire_strays(&self, reached: &std::collections::BTreeSet<PathBuf>) -> Result<Vec<String>> {
        self.retire_where(|path, has_sidecar| !has_sidecar && !reached.contains(path))
    }

    /// Moves the files of raw/ (not links) for which `retire(path, has_sidecar)` holds into
    /// `raw/.retired/<its site path>`, with their sidecars.
    fn retire_where(&self, retire: impl Fn(&Path, bool) -> bool) -> Result<Vec<String>> {
        let mut retired = Vec::new();
        if !self.root.is_dir() {
            return Ok(retired);
        }
        for file in crate::sources::discover(std::slice::from_ref(&self.root))? {
            let sidecar = Self::sidecar_of(&file.path);
            let has_sidecar = sidecar.is_file();
            if file.is_link || !retire(&file.path, has_sidecar) {
                continue;
            }
            let target = self.root.join(RETIRED_DIR).join(&file.name);
            let target_dir = target.parent().unwrap_or(&self.root).to_path_buf();
            self.create_dirs_inside(&target_dir)?;
            let mut moves = vec![(file.path.clone(), target.clone())];
            if has_sidecar {
                moves.push((sidecar, Self::sidecar_of(&target)));
            }
            for (from, to) in moves {
                std::fs::rename(&from, &to).map_err(|e| Error::WriteOutput {
                    path: to.clone(),
                    reason: format!("retiring {}: {e}", from.display()),
                })?;
            }
            retired.push(file.name);
        }
        Ok(retired)
    }

    /// Removes the temporaries ([`crate::fs::write_atomically`]'s `.<name>.tmp-<pid>`) that a
    /// process killed mid-write left anywhere under raw/, once that process no longer runs; never
    /// through a link. Returns how many were removed.
    pub fn remove_stale_temporaries(&self) -> usize {
        let mut removed = 0;
        for entry in walkdir::WalkDir::new(&self.root).into_iter().flatten() {
            if !entry.file_type().is_file() {
                continue;
            }
            let Some(writer) = crate::fs::temporary_writer(&entry.file_name().to_string_lossy()) else {
                continue;
            };
            if writer == std::process::id() || crate::fs::process_is_alive(writer) {
                continue;
            }
            match std::fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(e) => {
                    tracing::warn!(path = %entry.path().display(), error = %e, "a stale temporary file could not be removed")
                }
            }
        }
        removed
    }

    /// Creates `dir` and its parents under the root, refusing to go through a symbolic link: a link
    /// planted in raw/ would otherwise carry our writes anywhere.
    fn create_dirs_inside(&self, dir: &Path) -> Result<()> {
        let failed = |reason: String| Error::WriteOutput {
            path: dir.to_path_buf(),
            reason,
        };
        let relative = dir
            .strip_prefix(&self.root)
            .map_err(|_| failed("outside raw/".into()))?;
        let mut current = self.root.clone();
        std::fs::create_dir_all(&current).map_err(|e| failed(e.to_string()))?;
        for component in relative.components() {
            current.push(component);
            match std::fs::symlink_metadata(&current) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(failed(format!(
                        "{} is a symbolic link: raw/ is never written through links",
                        current.display()
                    )))
                }
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => return Err(failed(format!("{} is not a directory", current.display()))),
                Err(_) => std::fs::create_dir(&current).map_err(|e| failed(e.to_string()))?,
            }
        }
        Ok(())
    }
}

/// The longest site path fetched, and its longest segment: file systems refuse longer names.
const MAX_SITE_PATH: usize = 1024;
const MAX_SEGMENT: usize = 200;

/// Whether a site path (relative to the site root, as in `attack/…/T1562/`, decoded: `I&S-03`, not
/// `I&amp;S-03` or `I%26S-03`) may become a file under raw/: segments of ASCII letters, digits and
/// `._-+~=,&` only (no `%`, so no encoded dots), no empty, `.` or `..` segment, no leading `/`, and
/// bounded lengths. The site's own paths all pass, CSA CCM's capability ids (`I&S-03`) among them.
pub fn check_site_path(site_path: &str) -> Result<(), String> {
    if site_path.len() > MAX_SITE_PATH {
        return Err(format!("more than {MAX_SITE_PATH} characters"));
    }
    let body = site_path.strip_suffix('/').unwrap_or(site_path);
    if body.is_empty() {
        return Ok(());
    }
    for segment in body.split('/') {
        if segment.is_empty() {
            return Err("an empty segment (// or a leading /)".into());
        }
        if segment == "." || segment == ".." {
            return Err(format!("a {segment:?} segment"));
        }
        if segment.len() > MAX_SEGMENT {
            return Err(format!("a segment of more than {MAX_SEGMENT} characters"));
        }
        let allowed = |b: u8| b.is_ascii_alphanumeric() || b"._-+~=,&".contains(&b);
        if !segment.bytes().all(allowed) {
            return Err(format!(
                "a segment {} with a character outside letters, digits and ._-+~=,&",
                crate::identifiers::shown(segment)
            ));
        }
    }
    Ok(())
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
            Ok(PathBuf::from(
                "raw/attack/attack-16.1/domain-enterprise/techniques/T1562/index.html"
            ))
        );
        assert_eq!(store.file_of("data/x/y.json"), Ok(PathBuf::from("raw/data/x/y.json")));
        assert_eq!(
            store.file_of("external/csa_ccm/attack-17.1/domain-enterprise/csa_ccm-4.1/I&S-03/"),
            Ok(PathBuf::from(
                "raw/external/csa_ccm/attack-17.1/domain-enterprise/csa_ccm-4.1/I&S-03/index.html"
            )),
            "a capability id of the real data has its file"
        );
        assert_eq!(
            RawStore::sidecar_of(Path::new("raw/a/index.html")),
            PathBuf::from("raw/a/.index.html.fetch.json")
        );
    }

    #[test]
    fn site_paths_that_could_leave_raw_have_no_file() {
        let store = RawStore {
            root: PathBuf::from("raw"),
        };
        for path in [
            "../x",
            "a/../../x",
            "a/%2e%2e/x",
            "a//b",
            "/etc/passwd",
            "a\\..\\b",
            "a/./b",
            "a/b\0c",
            "a/\u{e9}",
        ] {
            assert!(store.file_of(path).is_err(), "{path:?}");
        }
        assert!(store.file_of(&"a".repeat(300)).is_err());
        assert!(store.file_of(&"a/".repeat(600)).is_err());
        assert!(store
            .file_of("external/aws/attack-16.1/domain-enterprise/aws-12.12.2024/all-data.html")
            .is_ok());
    }

    #[test]
    fn a_validator_that_could_not_have_been_a_header_is_unusable() {
        let with = |etag: &str, last_modified: &str| Sidecar {
            url: "http://x/".into(),
            etag: Some(etag.into()),
            last_modified: Some(last_modified.into()),
            sha256: String::new(),
            fetched_at: String::new(),
        };
        assert!(with("\"abc-12\"", "Sat, 01 Nov 2025 00:00:00 GMT")
            .unusable_validators()
            .is_empty());
        assert_eq!(with("\"abc\ndef\"", "ok").unusable_validators(), ["ETag"]);
        assert_eq!(
            with("\"caf\u{e9}\"", "\r").unusable_validators(),
            ["ETag", "Last-Modified"]
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_inside_raw_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        let root = dir.path().join("raw");
        std::fs::create_dir_all(&root).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("data")).unwrap();
        let store = RawStore { root };
        let sidecar = Sidecar {
            url: "http://x/".into(),
            etag: None,
            last_modified: None,
            sha256: String::new(),
            fetched_at: String::new(),
        };
        assert!(store.store("data/a/b.json", b"{}", &sidecar).is_err());
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    }
}
