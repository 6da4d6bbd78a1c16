//! A large input's bytes mapped into memory, not read into it: an ATT&CK bundle (28.6 MB for
//! Enterprise 16.1) is indexed from the file's cached pages and only the part an export can reach
//! copied out. Read, the bundle was copied whole into fresh memory first: 10-14 ms of page faults
//! and copying at the start of every build, before its indexing could begin.

use std::fs::File;
use std::path::Path;

use crate::error::{Error, Result};

/// The bytes of a regular file, mapped read-only.
pub struct Mapped {
    map: memmap2::Mmap,
}

impl Mapped {
    /// The file at `path` mapped, when it is a regular file of `at_least` bytes or more; `None` for
    /// any other file (a smaller one, a device, a FIFO: read as usual, and never opened here).
    pub fn open(path: &Path, at_least: u64) -> Result<Option<Mapped>> {
        let failed = |source| Error::ReadInput {
            path: path.to_path_buf(),
            source,
        };
        let metadata = std::fs::metadata(path).map_err(failed)?;
        if !metadata.is_file() || metadata.len() < at_least {
            return Ok(None);
        }
        let file = File::open(path).map_err(failed)?;
        // SAFETY: the map is private and read-only, read only as bytes, and dropped once its text
        // is indexed: a bundle keeps a copy of what it needs, validated as UTF-8 like any input. A
        // map cannot stop another process from changing the file meanwhile: a file rewritten in
        // place would be read torn, as a read would read it, and one truncated ends the process
        // with SIGBUS (loudly, no output published). attackmap's own raw inputs are written whole
        // and renamed into place, which leaves the pages of a mapped file as they were.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(failed)?;
        Ok(Some(Mapped { map }))
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_of_the_size_asked_is_mapped_and_any_other_left_to_be_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bundle.json");
        std::fs::write(&file, b"{\"type\": \"bundle\"}").unwrap();
        assert_eq!(
            Mapped::open(&file, 8).unwrap().unwrap().bytes(),
            b"{\"type\": \"bundle\"}"
        );
        assert!(Mapped::open(&file, 1 << 20).unwrap().is_none(), "smaller than asked");
        assert!(Mapped::open(dir.path(), 0).unwrap().is_none(), "a directory");
        let missing = Mapped::open(&dir.path().join("missing.json"), 0).err().unwrap();
        assert!(missing.to_string().contains("missing.json"), "{missing}");
    }
}
