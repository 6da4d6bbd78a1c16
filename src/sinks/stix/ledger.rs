//! STIX object versions across runs: `out/stix-ledger.json` records, for every object attackmap
//! writes (not ATT&CK's, which keep MITRE's `modified`), a hash of its content and its `modified`.
//!
//! A consumer keys an object version on `id` + `modified` and keeps the first copy it sees. So an
//! object whose content is what the ledger recorded keeps the recorded `modified` (and its bytes);
//! one whose content changed gets a `modified` later than the recorded one: the run's date for
//! `refresh`, the data's date for `build`, and never earlier than 1 ms after the previous version.
//! A first run, with no ledger, takes the data's dates, so a clean build is what it always was.
//!
//! The ledger never forgets: an object published once and absent from this run keeps its entry, as a
//! revoked version ([`super::revoked`]), so an object that comes back gets a version later than any
//! already published. A ledger that exists but does not read fails the run: read as absent, it would
//! date versions older than ones already out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::item::ItemWriter;
use super::object::StixObject;

use crate::error::{Error, Result};
pub use crate::fs::Sha256;
use crate::model::{Interner, Text};

/// The ledger's file name, beside `stix/` in the output directory.
pub const LEDGER_FILE: &str = "stix-ledger.json";

/// One object's last published version. Held compactly, as a ledger has an entry for every object
/// ever published (1.7 million at 100 times the mapping files): the hash as its 32 bytes, the
/// `modified` shared by the entries that have the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// SHA-256 of the object without its `modified`, as compact JSON with sorted keys; lowercase hex
    /// in the file.
    pub sha256: Sha256,
    #[serde(serialize_with = "text_as_string", deserialize_with = "string_as_text")]
    pub modified: Text,
    /// This version is the object revoked: it was published before and this run no longer has it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub revoked: bool,
}

fn text_as_string<S: Serializer>(text: &Text, serializer: S) -> std::result::Result<S::Ok, S::Error> {
    serializer.serialize_str(text)
}

fn string_as_text<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Text, D::Error> {
    Ok(<std::borrow::Cow<'de, str>>::deserialize(deserializer)?.into())
}

/// The ledger: object id → its last version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    pub objects: BTreeMap<String, Entry>,
}

/// How this run dates the objects whose content changed.
#[derive(Debug, Clone, Default)]
pub struct Versioning {
    /// What the previous run published (empty on a first run).
    pub previous: Ledger,
    /// This run's instant (`refresh`: its run date, `YYYY-MM-DDT00:00:00.000Z`); `None` for `build`.
    pub now: Option<String>,
    /// The published `stix/` directory the previous ledger describes: where the objects this run no
    /// longer has are read from, to be revoked.
    pub published: Option<PathBuf>,
}

impl Versioning {
    /// The ledger published in `out` (none on a first run); `now` as for [`Versioning::now`]. A
    /// ledger that exists but cannot be read or parsed is an error naming it, never taken as absent.
    pub fn from_published(out: &Path, now: Option<String>) -> Result<Versioning> {
        let path = out.join(LEDGER_FILE);
        let fail = |reason: String| Error::Ledger {
            path: path.clone(),
            reason,
        };
        let mut previous: Ledger = match std::fs::File::open(&path) {
            Ok(file) => read_ledger(file, LEDGER_READ_WHOLE_UP_TO).map_err(fail)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ledger::default(),
            Err(e) => return Err(fail(e.to_string())),
        };
        let mut shared = Interner::default();
        for entry in previous.objects.values_mut() {
            entry.modified = shared.text(&entry.modified);
        }
        Ok(Versioning {
            previous,
            now,
            published: Some(out.join(super::DIR)),
        })
    }

    /// The `modified` of a new version of an object whose last version is `previous`: this run's
    /// instant (or `candidate` for `build`), and never earlier than 1 ms after `previous`.
    pub fn next_version(&self, candidate: &str, previous: &str) -> String {
        later_of(self.now.as_deref().unwrap_or(candidate), previous)
    }

    /// This run's entry for an object whose content hashes to `sha256` and whose data date is
    /// `data_modified`: the recorded version when the content is what the ledger recorded, else a
    /// new one (its text from `shared`).
    pub fn entry(&self, id: &str, sha256: Sha256, data_modified: &str, shared: &mut Interner) -> Entry {
        let modified = match self.previous.objects.get(id) {
            Some(previous) if previous.sha256 == sha256 => previous.modified.clone(),
            Some(previous) => shared.text(&self.next_version(data_modified, &previous.modified)),
            None => shared.text(data_modified),
        };
        Entry {
            sha256,
            modified,
            revoked: false,
        }
    }

    /// Writes `object` to `out` as an item of its bundle, its `modified` (the data's, which it holds)
    /// replaced by the version the ledger gives it, and returns its id and entry for this run's ledger.
    /// The object is serialized once, for the hash and the bundle both. `shared` holds the
    /// `modified` texts of the entries made so far.
    pub fn write_versioned(
        &self,
        mut object: StixObject,
        items: &mut ItemWriter,
        shared: &mut Interner,
        out: &mut impl std::io::Write,
    ) -> std::io::Result<(String, Entry)> {
        let data_modified = object.modified.take().unwrap_or_default();
        let serialized = items.serialize(&object);
        let entry = self.entry(&object.id, Sha256::of(serialized.content), &data_modified, shared);
        serialized.write_with_modified(&entry.modified, out)?;
        Ok((object.id, entry))
    }
}

/// SHA-256 of an object's content, `modified` left out (the caller takes it out): its compact JSON,
/// keys in order, streamed into the hash, neither copied nor written out whole.
pub(super) fn content_hash(object: &impl Serialize) -> Sha256 {
    use sha2::Digest;
    let mut sha256 = sha2::Sha256::new();
    crate::model::serialize_into(object, |bytes| sha256.update(bytes));
    Sha256(sha256.finalize().into())
}

/// A ledger up to this size is read whole and parsed from memory (several times faster than from a
/// reader); a larger one (340 MB at 100 times the mapping files) is parsed as it is read, never held
/// whole.
const LEDGER_READ_WHOLE_UP_TO: u64 = 64 << 20;

/// The ledger in `file` (read whole up to `read_whole_up_to` bytes), or why it is not one.
fn read_ledger(mut file: std::fs::File, read_whole_up_to: u64) -> std::result::Result<Ledger, String> {
    use std::io::Read;
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    let parsed = if size <= read_whole_up_to {
        let mut bytes = Vec::with_capacity(size as usize);
        file.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        serde_json::from_slice(&bytes)
    } else {
        serde_json::from_reader(std::io::BufReader::with_capacity(1 << 20, file))
    };
    parsed.map_err(|e| format!("not a ledger: {e}"))
}

/// `candidate` when it is later than `previous`, else 1 ms after `previous`: a new version is always
/// later than the last (RFC 3339 instants with milliseconds compare as text).
fn later_of(candidate: &str, previous: &str) -> String {
    if candidate > previous {
        return candidate.to_string();
    }
    let next = chrono::DateTime::parse_from_rfc3339(previous)
        .ok()
        .and_then(|previous| previous.to_utc().checked_add_signed(chrono::TimeDelta::milliseconds(1)));
    match next {
        Some(next) => crate::fs::rfc3339(next),
        None => candidate.to_string(),
    }
}

/// Writes the ledger.
pub fn write(ledger: &Ledger, path: &Path) -> Result<()> {
    crate::sinks::write_json(path, ledger)
}

#[cfg(test)]
mod tests {
    use super::super::item::bundle_item;
    use super::*;

    fn object(name: &str, modified: &str) -> StixObject {
        StixObject {
            created: "2025-01-02T00:00:00.000Z".into(),
            id: "course-of-action--1".into(),
            modified: Some(modified.into()),
            name: Some(name.into()),
            spec_version: "2.1",
            object_type: "course-of-action",
            ..StixObject::default()
        }
    }

    /// `object` written versioned: its bundle item and its entry.
    fn versioned(versioning: &Versioning, object: StixObject) -> (String, Entry) {
        let mut item = Vec::new();
        let (id, entry) = versioning
            .write_versioned(object, &mut ItemWriter::default(), &mut Interner::default(), &mut item)
            .unwrap();
        assert_eq!(id, "course-of-action--1");
        (String::from_utf8(item).unwrap(), entry)
    }

    /// The bundle item of `object` as it stands.
    fn item_of(object: &StixObject) -> String {
        String::from_utf8(bundle_item(object)).unwrap()
    }

    #[test]
    fn a_ledger_reads_the_same_whole_or_as_it_is_read_and_a_broken_one_says_so() {
        let (_, entry) = versioned(&Versioning::default(), object("SC-08", "2025-01-02T00:00:00.000Z"));
        let ledger = Ledger {
            objects: [("course-of-action--1".to_string(), entry)].into(),
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LEDGER_FILE);
        write(&ledger, &path).unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        for read_whole_up_to in [size, size - 1] {
            let file = std::fs::File::open(&path).unwrap();
            assert_eq!(read_ledger(file, read_whole_up_to).unwrap(), ledger);
        }
        std::fs::write(&path, b"{\"objects\": [").unwrap();
        for read_whole_up_to in [u64::MAX, 0] {
            let file = std::fs::File::open(&path).unwrap();
            let error = read_ledger(file, read_whole_up_to).unwrap_err();
            assert!(error.starts_with("not a ledger: "), "{error}");
        }
    }

    #[test]
    fn the_content_hash_is_that_of_the_object_without_modified() {
        let object = object("a \"q\"", "2025-01-01T00:00:00.000Z");
        let mut without = serde_json::to_value(&object).unwrap();
        without.as_object_mut().unwrap().remove("modified");
        let (item, entry) = versioned(&Versioning::default(), object.clone());
        assert_eq!(
            entry.sha256.to_string(),
            crate::fs::sha256_hex(without.to_string().as_bytes())
        );
        assert_eq!(entry.sha256, content_hash(&without));
        assert_eq!(&*entry.modified, "2025-01-01T00:00:00.000Z");
        assert_eq!(item, item_of(&object), "the data's date, where serde_json writes it");
    }

    #[test]
    fn an_unchanged_object_keeps_its_version_and_a_changed_one_gets_a_later_one() {
        let first = Versioning::default();
        let monday = object("SC-08", "2025-01-02T00:00:00.000Z");
        let (monday_item, entry) = versioned(&first, monday.clone());
        let previous = Ledger {
            objects: [("course-of-action--1".to_string(), entry)].into(),
        };
        let tuesday = Versioning {
            previous,
            now: Some("2026-11-30T00:00:00.000Z".into()),
            published: None,
        };
        let (unchanged, _) = versioned(&tuesday, object("SC-08", "2025-01-02T00:00:00.000Z"));
        assert_eq!(unchanged, monday_item, "byte-identical");
        let (changed, entry) = versioned(&tuesday, object("SC-08 Transmission", "2025-01-02T00:00:00.000Z"));
        assert_eq!(&*entry.modified, "2026-11-30T00:00:00.000Z");
        assert_eq!(
            changed,
            item_of(&object("SC-08 Transmission", "2026-11-30T00:00:00.000Z"))
        );
    }

    /// A ledger file of two entries with the same `modified`, the first hashed as `first_hash`.
    fn ledger_text(first_hash: &str) -> String {
        let entry = |id: &str, sha256: &str, revoked: &str| {
            format!(
                "    \"{id}\": {{\n      \"sha256\": \"{sha256}\",\n      \"modified\": \"2025-01-02T00:00:00.000Z\"{revoked}\n    }}"
            )
        };
        format!(
            "{{\n  \"objects\": {{\n{},\n{}\n  }}\n}}\n",
            entry("course-of-action--1", first_hash, ""),
            entry("relationship--2", &"0f".repeat(32), ",\n      \"revoked\": true"),
        )
    }

    #[test]
    fn a_ledger_reads_back_into_the_same_bytes_and_a_hash_that_is_not_hex_is_no_ledger() {
        let dir = tempfile::tempdir().unwrap();
        let text = ledger_text(&"a9".repeat(32));
        std::fs::write(dir.path().join(LEDGER_FILE), &text).unwrap();
        let read = Versioning::from_published(dir.path(), None).unwrap().previous;
        let entries: Vec<&Entry> = read.objects.values().collect();
        assert!(
            std::sync::Arc::ptr_eq(&entries[0].modified, &entries[1].modified),
            "equal dates are held once"
        );
        let again = dir.path().join("again.json");
        write(&read, &again).unwrap();
        assert_eq!(std::fs::read_to_string(&again).unwrap(), text);

        for bad in ["a9".repeat(31), "g".repeat(64), "é".repeat(32), "A9".repeat(32) + "00"] {
            std::fs::write(dir.path().join(LEDGER_FILE), ledger_text(&bad)).unwrap();
            let error = Versioning::from_published(dir.path(), None).unwrap_err().to_string();
            assert!(error.contains("expected a SHA-256 as 64 hex digits"), "{bad}: {error}");
        }
    }

    #[test]
    fn a_new_version_is_always_later_than_the_last() {
        assert_eq!(
            later_of("2026-11-30T00:00:00.000Z", "2026-11-30T00:00:00.000Z"),
            "2026-11-30T00:00:00.001Z"
        );
        assert_eq!(
            later_of("2025-01-02T00:00:00.000Z", "2026-11-30T23:59:59.999Z"),
            "2026-12-01T00:00:00.000Z"
        );
        assert_eq!(
            later_of("2026-12-01T00:00:00.000Z", "2026-11-30T00:00:00.000Z"),
            "2026-12-01T00:00:00.000Z"
        );
    }
}
