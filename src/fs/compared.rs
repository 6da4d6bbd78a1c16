//! A file's new bytes compared with the file they replace while they match it, and written to
//! its temporary sibling from the first byte that differs ([`super::write_staged`]).

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Where the bytes of a file written whole ([`super::write_staged`]) go: compared with the file it
/// replaces while they match its start, then written to the temporary sibling.
pub struct Target {
    temporary: PathBuf,
    /// The file being replaced, while every byte so far matched it.
    previous: Option<Previous>,
    /// The temporary sibling, once a byte differed (or from the start, without a file to compare).
    written: Option<File>,
}

/// How many bytes of the file being replaced are read and compared at once.
const PIECE: usize = 64 << 10;

/// The file a staged file replaces, and how much of its start the new bytes matched.
struct Previous {
    file: File,
    matched: u64,
    /// Where its next bytes are read to be compared.
    read: Box<[u8]>,
}

impl Previous {
    /// The regular file at `path`, to compare with; `None` when there is none or it cannot be opened
    /// (it is then replaced, as any file is). A link is never read.
    fn open(path: &Path) -> Option<Previous> {
        if !std::fs::symlink_metadata(path).is_ok_and(|metadata| metadata.is_file()) {
            return None;
        }
        Some(Previous {
            file: File::open(path).ok()?,
            matched: 0,
            read: vec![0; PIECE].into_boxed_slice(),
        })
    }

    /// Whether its next bytes are `bytes` (then they count as matched, all or none of them), read
    /// and compared a piece at a time.
    fn continues_with(&mut self, bytes: &[u8]) -> std::io::Result<bool> {
        for piece in bytes.chunks(PIECE) {
            let read = &mut self.read[..piece.len()];
            match self.file.read_exact(read) {
                Ok(()) if read == piece => {}
                Ok(()) => return Ok(false),
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        self.matched += bytes.len() as u64;
        Ok(true)
    }
}

impl Target {
    /// Bytes for `temporary`, compared first with the regular file at `compared_with` when there is
    /// one; else the temporary sibling is created now.
    pub(super) fn new(temporary: PathBuf, compared_with: Option<&Path>) -> std::io::Result<Target> {
        let previous = compared_with.and_then(Previous::open);
        let mut target = Target {
            temporary,
            previous,
            written: None,
        };
        if target.previous.is_none() {
            target.start_writing()?;
        }
        Ok(target)
    }

    /// Creates the temporary sibling, holding the prefix of the previous file that matched.
    fn start_writing(&mut self) -> std::io::Result<&mut File> {
        let created = File::create(&self.temporary)
            .map_err(|e| std::io::Error::new(e.kind(), format!("creating {}: {e}", self.temporary.display())));
        let mut written = created?;
        if let Some(mut previous) = self.previous.take() {
            previous.file.rewind()?;
            let copied = std::io::copy(&mut (&mut previous.file).take(previous.matched), &mut written)?;
            if copied != previous.matched {
                return Err(std::io::Error::other(
                    "the file being replaced changed while it was compared",
                ));
            }
        }
        Ok(self.written.insert(written))
    }

    /// The temporary sibling, complete; `None` when the bytes were exactly the previous file's.
    pub(super) fn finish(&mut self) -> std::io::Result<Option<&File>> {
        if let Some(previous) = &self.previous {
            if previous.file.metadata()?.len() == previous.matched {
                return Ok(None);
            }
            self.start_writing()?;
        }
        Ok(self.written.as_ref())
    }
}

impl Write for Target {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Some(previous) = &mut self.previous {
            if previous.continues_with(bytes)? {
                return Ok(bytes.len());
            }
        }
        if self.written.is_none() {
            self.start_writing()?;
        }
        self.written.as_mut().expect("started").write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.written.as_mut().map_or(Ok(()), File::flush)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::{temporary_writer, write_atomically, write_staged, StagedFile};

    #[cfg(unix)]
    fn inode(path: &Path) -> u64 {
        std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(path).unwrap())
    }

    /// Bytes of `len` that differ from those of another `seed`, across more than one buffer.
    fn bytes(len: usize, seed: u32) -> Vec<u8> {
        (0..len as u32)
            .map(|n| (n.wrapping_mul(31).wrapping_add(seed) % 251) as u8)
            .collect()
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        let names = std::fs::read_dir(dir).unwrap().flatten();
        names
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| temporary_writer(name).is_some())
            .collect()
    }

    #[cfg(unix)]
    #[test]
    fn a_staged_file_written_with_the_bytes_it_holds_is_kept_as_it_is() {
        let old = bytes(3 << 20, 1);
        let dir = tempfile::tempdir().unwrap();
        let (path, published) = (dir.path().join("mappings.csv"), dir.path().join("published.csv"));
        std::fs::write(&published, &old).unwrap();
        std::fs::hard_link(&published, &path).unwrap();
        let mut file = StagedFile::create(&path).unwrap();
        old.chunks(70_000).for_each(|chunk| file.write_all(chunk).unwrap());
        file.put_in_place().unwrap();
        assert_eq!(inode(&path), inode(&published), "the same file, not a copy");
        assert_eq!(std::fs::read(&path).unwrap(), old);
        assert!(leftovers(dir.path()).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_staged_file_that_differs_anywhere_is_written_anew_and_its_link_is_never_written_through() {
        let old = bytes(3 << 20, 1);
        let mut in_the_middle = old.clone();
        in_the_middle[(3 << 20) / 2] ^= 1;
        let mut at_the_end = old.clone();
        *at_the_end.last_mut().unwrap() ^= 1;
        let cases = [
            ("a byte in the middle", in_the_middle),
            ("the last byte", at_the_end),
            ("shorter", old[..old.len() - 5].to_vec()),
            ("longer", [old.as_slice(), b"more"].concat()),
            ("empty", Vec::new()),
            ("other bytes", bytes(1 << 20, 2)),
        ];
        for (case, new) in cases {
            for piece in [1 << 10, 5 << 20] {
                let dir = tempfile::tempdir().unwrap();
                let (path, published) = (dir.path().join("mappings.csv"), dir.path().join("published.csv"));
                std::fs::write(&published, &old).unwrap();
                std::fs::hard_link(&published, &path).unwrap();
                let mut file = StagedFile::create(&path).unwrap();
                new.chunks(piece).for_each(|chunk| file.write_all(chunk).unwrap());
                file.put_in_place().unwrap();
                assert_eq!(std::fs::read(&path).unwrap(), new, "{case}, pieces of {piece}");
                assert_ne!(inode(&path), inode(&published), "{case}: a new file");
                assert_eq!(
                    std::fs::read(&published).unwrap(),
                    old,
                    "{case}: the published file is untouched"
                );
                assert!(leftovers(dir.path()).is_empty(), "{case}");
            }
        }
    }

    #[test]
    fn a_staged_file_given_up_leaves_the_file_as_it_was_and_no_temporary() {
        let old = bytes(2 << 20, 3);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mappings.csv");
        std::fs::write(&path, &old).unwrap();
        for given_up_at in [1 << 20, (2 << 20) - 1] {
            let mut file = StagedFile::create(&path).unwrap();
            file.write_all(&old[..given_up_at]).unwrap();
            file.write_all(&bytes(5 << 20, 9)).unwrap();
            drop(file);
            assert_eq!(std::fs::read(&path).unwrap(), old);
            assert!(leftovers(dir.path()).is_empty());
        }
    }

    #[cfg(unix)]
    #[test]
    fn what_is_not_a_regular_file_is_replaced_unread() {
        let dir = tempfile::tempdir().unwrap();
        let (fifo, link) = (dir.path().join("fifo.json"), dir.path().join("link.json"));
        let name = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates the FIFO.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        let target = dir.path().join("target.json");
        std::fs::write(&target, b"{}").unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        for path in [&fifo, &link] {
            // A FIFO opened to be compared would wait for a writer forever.
            write_staged(path, |file| file.write_all(b"{}").map_err(|e| e.to_string())).unwrap();
            assert!(std::fs::symlink_metadata(path).unwrap().is_file(), "{path:?}");
            assert_eq!(std::fs::read(path).unwrap(), b"{}");
        }
        assert_eq!(std::fs::read(&target).unwrap(), b"{}", "a link's target is left alone");
    }

    #[test]
    fn a_file_without_one_before_it_is_written_and_a_file_written_atomically_is_always_written_anew() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("fresh.json");
        write_staged(&fresh, |file| file.write_all(b"{}").map_err(|e| e.to_string())).unwrap();
        assert_eq!(std::fs::read(&fresh).unwrap(), b"{}");
        let (raw, copy) = (dir.path().join("raw.html"), dir.path().join("copy.html"));
        std::fs::write(&raw, b"<p>").unwrap();
        std::fs::hard_link(&raw, &copy).unwrap();
        write_atomically(&raw, |file| file.write_all(b"<p>").map_err(|e| e.to_string())).unwrap();
        assert_eq!(std::fs::read(&raw).unwrap(), b"<p>");
        #[cfg(unix)]
        assert_ne!(inode(&raw), inode(&copy), "renamed into place after its fsync");
        assert!(leftovers(dir.path()).is_empty());
    }
}
