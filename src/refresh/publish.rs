//! Publishing: the staging directory takes the place of `out/` in one atomic step.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::error::{Error, Result};

/// Swaps `staging` into place as `out`. With an existing `out/`, both names are exchanged atomically
/// (`renameat2(RENAME_EXCHANGE)`) and the old tree, now at the staging name, is removed; a `.gitkeep`
/// of the old `out/` is carried over. Without one, a plain rename.
pub fn swap_into_place(staging: &Path, out: &Path) -> Result<()> {
    let failed = |reason: String| Error::WriteOutput {
        path: out.to_path_buf(),
        reason,
    };
    if !out.exists() {
        return std::fs::rename(staging, out).map_err(|e| failed(format!("publishing {}: {e}", staging.display())));
    }
    if out.join(".gitkeep").exists() {
        std::fs::write(staging.join(".gitkeep"), b"").map_err(|e| failed(e.to_string()))?;
    }
    exchange(staging, out).map_err(|e| failed(format!("exchanging {} with it: {e}", staging.display())))?;
    std::fs::remove_dir_all(staging).map_err(|e| failed(format!("removing the previous outputs: {e}")))
}

fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
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

/// Removes staging directories that killed runs left beside `out/` (`out.staging-<pid>`).
pub fn remove_stale_staging(out: &Path) {
    let Some(parent) = out
        .parent()
        .map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p })
    else {
        return;
    };
    let prefix = format!("{}.staging-", out.file_name().unwrap_or_default().to_string_lossy());
    for entry in std::fs::read_dir(parent).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
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
}
