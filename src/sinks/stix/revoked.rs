//! Revoked versions: an object attackmap published before and this run no longer has (its mapping
//! removed upstream, its dataset retired or left out of the selection) gets a new version with
//! `revoked: true`, later than its last one. They are written to `stix/revoked.json` with the objects
//! they refer to, so that `publish-taxii`, which posts every version its collection lacks, tells the
//! TAXII consumers that the object is gone. A revoked version stays there, and in the ledger, for
//! good: an object that comes back gets a version later than its revocation.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::ledger::{content_hash, Entry, Ledger, Versioning};
use super::{references_of, stix_id};
use crate::error::{Error, Result};

/// The bundle of revoked versions, in `stix/` beside the datasets' bundles.
pub const REVOKED_BUNDLE: &str = "revoked.json";

/// The objects of the revoked bundle (sorted by id) and the ledger entries of the revoked versions.
pub type Revoked = (Vec<Value>, Vec<(String, Entry)>);

/// The revoked versions of the objects the previous ledger has and `current` lacks, with the
/// objects they refer to, and the ledger entries of those versions.
pub fn revoke_absent(versioning: &Versioning, current: &Ledger) -> Result<Revoked> {
    let absent: Vec<(&String, &Entry)> = versioning
        .previous
        .objects
        .iter()
        .filter(|(id, _)| !current.objects.contains_key(*id))
        .collect();
    if absent.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let published = PublishedObjects::read(versioning.published.as_deref(), absent.iter().map(|(id, _)| *id))?;
    let mut objects: BTreeMap<String, Value> = BTreeMap::new();
    let mut entries = Vec::with_capacity(absent.len());
    for (id, entry) in absent {
        let Some(object) = published.objects.get(id) else {
            tracing::warn!(
                id = %id,
                "an object of the ledger is in no published bundle: it cannot be revoked, its entry is kept"
            );
            entries.push((id.clone(), entry.clone()));
            continue;
        };
        if entry.revoked {
            objects.insert(id.clone(), object.clone());
            entries.push((id.clone(), entry.clone()));
            continue;
        }
        let mut revoked = object.clone();
        let fields = revoked.as_object_mut().expect("published objects are JSON objects");
        fields.remove("modified");
        fields.insert("revoked".into(), Value::Bool(true));
        let sha256 = content_hash(&revoked);
        let modified = versioning.next_version(&entry.modified, &entry.modified);
        revoked["modified"] = Value::String(modified.clone());
        let modified = modified.into();
        objects.insert(id.clone(), revoked);
        entries.push((
            id.clone(),
            Entry {
                sha256,
                modified,
                revoked: true,
            },
        ));
    }
    let mut referenced: Vec<String> = objects.values().flat_map(references_of).collect();
    while let Some(id) = referenced.pop() {
        if objects.contains_key(&id) {
            continue;
        }
        if let Some(object) = published.objects.get(&id) {
            referenced.extend(references_of(object));
            objects.insert(id, object.clone());
        }
    }
    Ok((objects.into_values().collect(), entries))
}

/// Writes the bundle of revoked versions (its objects sorted by id).
pub fn write(objects: Vec<Value>, path: &Path) -> Result<()> {
    let bundle = json!({
        "id": stix_id("bundle", &["bundle", "revoked"]),
        "objects": objects,
        "type": "bundle",
    });
    crate::sinks::write_json(path, &bundle)
}

/// The published objects needed to revoke some ids: those ids and, through their references, the
/// objects they refer to. Read from the previous `revoked.json` first (the objects already revoked
/// and theirs), then, only for what it lacks, from the other bundles.
struct PublishedObjects {
    objects: BTreeMap<String, Value>,
}

impl PublishedObjects {
    fn read<'a>(dir: Option<&Path>, ids: impl Iterator<Item = &'a String>) -> Result<PublishedObjects> {
        let mut found = PublishedObjects {
            objects: BTreeMap::new(),
        };
        let Some(dir) = dir else { return Ok(found) };
        let revoked = dir.join(REVOKED_BUNDLE);
        if revoked.exists() {
            for object in bundle_objects(&revoked)? {
                found.insert(object);
            }
        }
        let mut wanted: BTreeSet<String> = ids.filter(|id| !found.objects.contains_key(*id)).cloned().collect();
        let others: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|e| e == "json") && *path != revoked)
            .collect();
        let mut tried: BTreeSet<String> = BTreeSet::new();
        while !wanted.is_empty() {
            tried.extend(wanted.iter().cloned());
            let mut taken = Vec::new();
            for path in &others {
                for object in bundle_objects(path)? {
                    if object["id"].as_str().is_some_and(|id| wanted.contains(id)) {
                        wanted.remove(object["id"].as_str().unwrap_or_default());
                        taken.push(object);
                    }
                }
            }
            wanted = taken
                .iter()
                .flat_map(references_of)
                .filter(|id| !found.objects.contains_key(id) && !tried.contains(id))
                .collect();
            for object in taken {
                found.insert(object);
            }
        }
        Ok(found)
    }

    fn insert(&mut self, object: Value) {
        if let Some(id) = object["id"].as_str() {
            self.objects.insert(id.to_string(), object);
        }
    }
}

/// The objects of a published bundle.
fn bundle_objects(path: &Path) -> Result<Vec<Value>> {
    let fail = |reason: String| Error::ReadPublished {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let mut bundle: Value = serde_json::from_slice(&bytes).map_err(|e| fail(format!("not JSON: {e}")))?;
    match bundle.get_mut("objects").map(Value::take) {
        Some(Value::Array(objects)) => Ok(objects.into_iter().filter(Value::is_object).collect()),
        _ => Err(fail("not a STIX bundle (no objects)".into())),
    }
}
