//! Writes that are whole or not at all: through a temporary sibling renamed into place; in a
//! staging tree, a file written with the bytes it already holds is kept as it is.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::compared::Target;
use crate::error::{Error, Result};

/// What a file is written through: buffered a megabyte at a time.
pub type Buffered = BufWriter<Target>;

/// Writes a file through a temporary sibling and a rename, so a reader never sees half of it and a
/// failed write leaves the previous file in place; the file is on disk (fsync) before it is renamed.
pub fn write_atomically(path: &Path, write: impl FnOnce(&mut Buffered) -> Result<(), String>) -> Result<()> {
    write_through_temporary(path, write, Durability::OnDisk)
}

/// Like [`write_atomically`], for a file of a staging tree that [`super::sync_tree`] puts on disk
/// whole before it is published: one sync of the file system instead of one per file (72 fsyncs
/// were a fifth of the wall time of a build of the 11 mapping files). The rename stays: a staging
/// tree is seeded with hard links to the published files, which must never be written through.
///
/// A file whose new bytes are the ones it holds (the previous publish's, through its link) is kept
/// as it is, neither written again nor renamed: the bytes are compared as they come, and written to
/// the temporary sibling from the first one that differs (after the prefix that matched). An
/// unchanged night then writes nothing but its report, and publishing frees none of the previous
/// files' pages; an unchanged output keeps its modification time.
pub fn write_staged(path: &Path, write: impl FnOnce(&mut Buffered) -> Result<(), String>) -> Result<()> {
    write_through_temporary(path, write, Durability::WithTheTree)
}

/// When a written file reaches the disk.
#[derive(Clone, Copy, PartialEq)]
enum Durability {
    /// Before it is renamed into place.
    OnDisk,
    /// With its whole tree ([`super::sync_tree`]); a file found unchanged is kept.
    WithTheTree,
}

fn write_through_temporary(
    path: &Path,
    write: impl FnOnce(&mut Buffered) -> Result<(), String>,
    durability: Durability,
) -> Result<()> {
    let mut file = TemporaryFile::create(path, durability)?;
    write(file.buffered()).map_err(|reason| file.failed(reason))?;
    file.put_in_place()
}

/// A file written a piece at a time, through a temporary sibling that becomes the file at
/// [`StagedFile::put_in_place`], as [`write_staged`] writes it (kept when unchanged); dropped before
/// that (an error, a panic, a writer given up), it is removed and the file at `path` is left as it was.
pub struct StagedFile(TemporaryFile);

impl StagedFile {
    /// Creates the temporary sibling of `path`, or starts comparing with the file at `path`.
    pub fn create(path: &Path) -> Result<StagedFile> {
        TemporaryFile::create(path, Durability::WithTheTree).map(StagedFile)
    }

    /// A failure to write this file, for `reason`.
    pub fn failed(&self, reason: impl std::fmt::Display) -> Error {
        self.0.failed(reason.to_string())
    }

    /// Flushes what is written and renames the temporary sibling to the file's path.
    pub fn put_in_place(self) -> Result<()> {
        self.0.put_in_place()
    }
}

impl Write for StagedFile {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.buffered().write(bytes)
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.0.buffered().write_all(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.buffered().flush()
    }
}

/// The temporary sibling a file is written into, removed when dropped before it is put in place.
struct TemporaryFile {
    path: PathBuf,
    temporary: PathBuf,
    /// `None` once put in place.
    buffered: Option<Buffered>,
    durability: Durability,
    /// Renamed to `path`, or kept unchanged: nothing is left to remove.
    in_place: bool,
}

impl TemporaryFile {
    fn create(path: &Path, durability: Durability) -> Result<TemporaryFile> {
        let failed = |e: std::io::Error| Error::WriteOutput {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let temporary = temporary_sibling(path);
        let compared_with = (durability == Durability::WithTheTree).then_some(path);
        let target = Target::new(temporary.clone(), compared_with).map_err(failed)?;
        Ok(TemporaryFile {
            path: path.to_path_buf(),
            temporary,
            buffered: Some(BufWriter::with_capacity(1 << 20, target)),
            durability,
            in_place: false,
        })
    }

    fn buffered(&mut self) -> &mut Buffered {
        self.buffered
            .as_mut()
            .expect("a temporary file is written only before it is put in place")
    }

    fn failed(&self, reason: String) -> Error {
        Error::WriteOutput {
            path: self.path.clone(),
            reason,
        }
    }

    fn put_in_place(mut self) -> Result<()> {
        let buffered = self.buffered.take().expect("a temporary file is put in place once");
        let mut target = buffered.into_inner().map_err(|e| self.failed(e.error().to_string()))?;
        let Some(file) = target.finish().map_err(|e| self.failed(e.to_string()))? else {
            // The same bytes as the file at `path`: it stays, and no temporary was made.
            self.in_place = true;
            return Ok(());
        };
        if self.durability == Durability::OnDisk {
            file.sync_all().map_err(|e| self.failed(e.to_string()))?;
        }
        drop(target);
        std::fs::rename(&self.temporary, &self.path)
            .map_err(|e| self.failed(format!("renaming {} into place: {e}", self.temporary.display())))?;
        self.in_place = true;
        Ok(())
    }
}

impl Drop for TemporaryFile {
    fn drop(&mut self) {
        // What is still buffered is dropped unwritten, the file closed, then removed.
        if let Some(buffered) = self.buffered.take() {
            drop(buffered.into_parts());
        }
        if !self.in_place {
            let _ = std::fs::remove_file(&self.temporary);
        }
    }
}

fn temporary_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}{TEMPORARY_MARK}{}", std::process::id()))
}

/// What a temporary sibling's name holds between the file's name and the writer's process id.
const TEMPORARY_MARK: &str = ".tmp-";

/// The process that writes the temporary sibling of this name (`.mappings.csv.tmp-4242` → 4242),
/// or `None` when the name is not one of [`write_atomically`]'s temporaries.
pub fn temporary_writer(file_name: &str) -> Option<u32> {
    let rest = file_name.strip_prefix('.')?;
    let (name, pid) = rest.rsplit_once(TEMPORARY_MARK)?;
    let is_number = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    (!name.is_empty() && is_number).then(|| pid.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temporary_names_its_writer_and_only_a_temporary_does() {
        let temporary = temporary_sibling(Path::new("raw/a/index.html"));
        let name = temporary.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(temporary_writer(&name), Some(std::process::id()));
        assert_eq!(temporary_writer(".x.json.tmp-12"), Some(12));
        for other in [
            "index.html",
            ".index.html.fetch.json",
            ".x.tmp-",
            ".x.tmp-12a",
            "x.tmp-12",
            "..tmp-1",
        ] {
            assert_eq!(temporary_writer(other), None, "{other}");
        }
    }
}
