//! The two directories of a refresh, `raw/` (the fetch cache, its input) and `out/` (what it
//! publishes), kept apart: each publish replaces `out/` whole, so a `raw/` inside it would be deleted
//! every night, and an `out/` inside `raw/` would be read back as input the next night.

use std::path::{Component, Path, PathBuf};

/// Refuses a `raw` and an `out` of which one is, or is inside, the other, once both are absolute
/// and resolved through the links that exist ([`resolved`]); the message names both as given.
pub fn check_apart(raw: &Path, out: &Path) -> Result<(), String> {
    let (raw_resolved, out_resolved) = (resolved(raw), resolved(out));
    let why = if raw_resolved == out_resolved {
        "they are the same directory"
    } else if raw_resolved.starts_with(&out_resolved) {
        "raw is inside out, and every publish replaces out whole (the fetch cache would be deleted each night)"
    } else if out_resolved.starts_with(&raw_resolved) {
        "out is inside raw, so the next run would read its own outputs as input"
    } else {
        return Ok(());
    };
    Err(format!(
        "--raw {} ({}) and --out {} ({}) overlap: {why}; give them separate directories",
        raw.display(),
        raw_resolved.display(),
        out.display(),
        out_resolved.display()
    ))
}

/// `path` made absolute (from the working directory) with every part that exists resolved by the
/// file system (links, `..`), and the parts that do not yet exist appended as written (`..` among
/// them taken lexically).
pub fn resolved(path: &Path) -> PathBuf {
    let absolute = std::env::current_dir().unwrap_or_default().join(path);
    let mut current = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::Prefix(_) | Component::RootDir => current.push(component),
            Component::CurDir => {}
            Component::ParentDir => {
                current.pop();
            }
            Component::Normal(name) => {
                current.push(name);
                if let Ok(canonical) = std::fs::canonicalize(&current) {
                    current = canonical;
                }
            }
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_inside_the_other_either_way_or_the_same_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let refused = |raw: PathBuf, out: PathBuf| check_apart(&raw, &out).unwrap_err();
        assert!(refused(root.join("out/raw"), root.join("out")).contains("raw is inside out"));
        assert!(refused(root.join("raw"), root.join("raw/x/out")).contains("out is inside raw"));
        assert!(refused(root.join("same"), root.join("same/.")).contains("the same directory"));
        assert!(refused(root.join("a/../out/raw"), root.join("out")).contains("--raw"));
        assert!(check_apart(&root.join("raw"), &root.join("out")).is_ok());
        assert!(
            check_apart(&root.join("out-raw"), &root.join("out")).is_ok(),
            "a shared prefix of the name is no overlap"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_link_is_followed_to_where_it_leads() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        std::os::unix::fs::symlink(&out, dir.path().join("cache")).unwrap();
        let message = check_apart(&dir.path().join("cache/raw"), &out).unwrap_err();
        assert!(message.contains("raw is inside out"), "{message}");
    }
}
