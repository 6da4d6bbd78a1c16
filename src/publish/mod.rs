//! Publishing: a staging directory takes the place of `out/` in one step, only an `out/` that
//! attackmap made is ever replaced, and a lock keeps two runs from publishing into one `out/`.

mod lock;
mod staging;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
pub use lock::{Lock, LockError};
pub use staging::Staging;

/// The file beside `out/` whose lock keeps runs from overlapping (`out.lock`).
pub fn lock_path(out: &Path) -> PathBuf {
    sibling(out, ".lock")
}

/// The files whose presence says a directory is attackmap's output (`build` writes the report,
/// `refresh` the manifest too).
const OUR_MARKERS: [&str; 2] = ["report.json", "manifest.json"];

/// Refuses an `out` that attackmap must not replace: a symbolic link (publishing swaps directories,
/// so the link would become a directory and its target would never be updated), or a directory
/// that holds files but no report or manifest of ours (`--out ~/Documents` by mistake).
pub fn check_out_is_ours(out: &Path) -> Result<()> {
    let refuse = |reason: String| Error::WriteOutput {
        path: out.to_path_buf(),
        reason,
    };
    let Ok(metadata) = std::fs::symlink_metadata(out) else {
        return Ok(());
    };
    if metadata.file_type().is_symlink() {
        return Err(refuse(
            "it is a symbolic link: attackmap publishes by swapping a whole directory into place, so point --out at a directory (the link's target), not at a link".into(),
        ));
    }
    if !metadata.is_dir() {
        return Err(refuse("it exists and is not a directory".into()));
    }
    let entries: Vec<String> = std::fs::read_dir(out)
        .map_err(|e| refuse(e.to_string()))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != ".gitkeep")
        .collect();
    if !entries.is_empty() && !OUR_MARKERS.iter().any(|m| entries.iter().any(|e| e == m)) {
        return Err(refuse(format!(
            "it holds {} entries but no report.json or manifest.json: not an output of attackmap, so it is not replaced (use an empty or new directory)",
            entries.len()
        )));
    }
    Ok(())
}

/// `out<suffix>` beside `out` (`out.lock`, `out.staging-<pid>`).
pub fn sibling(out: &Path, suffix: &str) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    out.with_file_name(format!("{name}{suffix}"))
}

/// `out.staging-<pid>`, beside `out`: where a run writes before it publishes.
pub fn staging_for(out: &Path) -> PathBuf {
    sibling(out, &format!(".staging-{}", std::process::id()))
}

/// Hard-links (or copies, across file systems) every file of `from` into `to`, keeping the tree:
/// a build that writes some formats starts from the previous outputs and changes only those.
fn link_tree(from: &Path, to: &Path) -> Result<()> {
    let failed = |path: &Path, e: std::io::Error| Error::WriteOutput {
        path: path.to_path_buf(),
        reason: format!("carrying the previous outputs of {} over: {e}", from.display()),
    };
    std::fs::create_dir_all(to).map_err(|e| failed(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| failed(from, e))?.flatten() {
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(|e| failed(&source, e))?;
        if kind.is_dir() {
            link_tree(&source, &target)?;
        } else if kind.is_file() && std::fs::hard_link(&source, &target).is_err() {
            std::fs::copy(&source, &target).map_err(|e| failed(&target, e))?;
        }
    }
    Ok(())
}

/// Swaps `staging` into place as `out`. With an existing `out/`, both names are exchanged (atomic
/// on Linux, see [`exchange`]) and the old tree, now at the staging name, is removed; a `.gitkeep`
/// of the old `out/` is carried over. Without one, a plain rename. Once the new tree is in place the
/// run has published: failing to remove the old tree is a warning, not a failure.
pub fn swap_into_place(staging: &Path, out: &Path) -> Result<()> {
    let failed = |reason: String| Error::WriteOutput {
        path: out.to_path_buf(),
        reason,
    };
    crate::fs::sync_tree(staging)?;
    if !out.exists() {
        return std::fs::rename(staging, out).map_err(|e| failed(format!("publishing {}: {e}", staging.display())));
    }
    if out.join(".gitkeep").exists() {
        std::fs::write(staging.join(".gitkeep"), b"").map_err(|e| failed(e.to_string()))?;
    }
    exchange(staging, out).map_err(|e| failed(format!("exchanging {} with it: {e}", staging.display())))?;
    if let Err(e) = crate::fs::remove_tree(staging) {
        tracing::warn!(
            path = %staging.display(),
            error = %e,
            "published; the previous outputs could not be removed (the next run retries)"
        );
    }
    Ok(())
}

/// Exchanges two directories in one atomic step: `renameat2(RENAME_EXCHANGE)`.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let a = CString::new(a.as_os_str().as_bytes())?;
    let b = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both are valid NUL-terminated paths, relative to the working directory.
    let status = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if status == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Exchanges two directories with three renames, where the system has no atomic exchange: `out/`
/// is absent for the instant between the first two (never half written); a run killed in that
/// instant leaves the previous outputs at `out.previous-<pid>`.
#[cfg(not(target_os = "linux"))]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    let aside = sibling(b, &format!(".previous-{}", std::process::id()));
    std::fs::rename(b, &aside)?;
    if let Err(e) = std::fs::rename(a, b) {
        std::fs::rename(&aside, b)?;
        return Err(e);
    }
    std::fs::rename(&aside, a)
}

/// Removes staging directories that killed runs left beside `out/` (`out.staging-<pid>`, and on
/// systems without an atomic exchange `out.previous-<pid>`).
pub fn remove_stale_staging(out: &Path) {
    let Some(parent) = out
        .parent()
        .map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p })
    else {
        return;
    };
    let name = out.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let prefixes = [format!("{name}.staging-"), format!("{name}.previous-")];
    for entry in std::fs::read_dir(parent).into_iter().flatten().flatten() {
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        if prefixes.iter().any(|p| entry_name.starts_with(p.as_str())) {
            tracing::info!(path = %entry.path().display(), "removing a staging directory left by an earlier run");
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_staging_tree_replaces_out_whole() {
        let dir = tempfile::tempdir().unwrap();
        let (out, staging) = (dir.path().join("out"), dir.path().join("out.staging-1"));
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("old.csv"), "old").unwrap();
        std::fs::write(out.join(".gitkeep"), "").unwrap();
        std::fs::create_dir_all(&staging).unwrap();
        std::fs::write(staging.join("new.csv"), "new").unwrap();
        swap_into_place(&staging, &out).unwrap();
        assert!(out.join("new.csv").exists() && out.join(".gitkeep").exists());
        assert!(!out.join("old.csv").exists() && !staging.exists());
    }

    #[test]
    fn only_an_out_of_attackmap_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        assert!(check_out_is_ours(&out).is_ok(), "a new directory");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join(".gitkeep"), "").unwrap();
        assert!(check_out_is_ours(&out).is_ok(), "an empty one");
        std::fs::write(out.join("thesis.docx"), "years of work").unwrap();
        assert!(check_out_is_ours(&out).is_err(), "someone else's");
        std::fs::write(out.join("report.json"), "{}").unwrap();
        assert!(check_out_is_ours(&out).is_ok(), "ours");
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&out, &link).unwrap();
            assert!(check_out_is_ours(&link).is_err(), "a link");
        }
    }
}
