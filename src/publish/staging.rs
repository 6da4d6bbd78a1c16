//! A build's staging directory: made and seeded with the previous outputs while the inputs are
//! read, written into, then swapped into place; removed when given up.

use std::path::{Path, PathBuf};

use crate::error::Result;

/// `out.staging-<pid>`, seeded with hard links to the previous outputs ([`super::link_tree`]), so
/// that a build of some formats keeps the others and an unchanged file is kept as it is.
pub struct Staging {
    out: PathBuf,
    dir: PathBuf,
    /// Swapped into place: nothing is left to remove.
    published: bool,
}

impl Staging {
    /// Refuses an `out` that is not attackmap's ([`super::check_out_is_ours`]), removes what earlier
    /// runs left beside it, and seeds a new staging directory. The caller holds `out`'s lock.
    pub fn seed(out: &Path) -> Result<Staging> {
        super::check_out_is_ours(out)?;
        super::remove_stale_staging(out);
        let dir = super::staging_for(out);
        let _ = std::fs::remove_dir_all(&dir);
        let staging = Staging {
            out: out.to_path_buf(),
            dir,
            published: false,
        };
        if out.is_dir() {
            super::link_tree(out, &staging.dir)?;
        }
        Ok(staging)
    }

    /// Where the outputs are written.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The `out` it replaces.
    pub fn out(&self) -> &Path {
        &self.out
    }

    /// Swaps the staging directory into place as `out` ([`super::swap_into_place`]).
    pub fn publish(mut self) -> Result<()> {
        super::swap_into_place(&self.dir, &self.out)?;
        self.published = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.published {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_staging_directory_holds_the_previous_outputs_and_goes_when_given_up() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir_all(out.join("stix")).unwrap();
        std::fs::write(out.join("report.json"), "{}").unwrap();
        std::fs::write(out.join("stix/a.json"), "a").unwrap();
        let staging = Staging::seed(&out).unwrap();
        assert_eq!(std::fs::read(staging.dir().join("stix/a.json")).unwrap(), b"a");
        let given_up = staging.dir().to_path_buf();
        drop(staging);
        assert!(!given_up.exists(), "removed when given up");
        assert_eq!(std::fs::read(out.join("stix/a.json")).unwrap(), b"a", "out/ untouched");

        let staging = Staging::seed(&out).unwrap();
        std::fs::write(staging.dir().join("stix/b.json"), "b").unwrap();
        let published = staging.dir().to_path_buf();
        staging.publish().unwrap();
        assert!(out.join("stix/b.json").exists() && !published.exists());
    }

    #[test]
    fn an_out_that_is_not_attackmap_s_gets_no_staging_directory() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("thesis.docx"), "years of work").unwrap();
        assert!(Staging::seed(&out).is_err());
        assert!(!super::super::staging_for(&out).exists());
    }
}
