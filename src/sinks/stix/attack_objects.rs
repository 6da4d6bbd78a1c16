//! ATT&CK's objects as the bundles carry them: each one parsed and pretty-printed once per build,
//! however many datasets' bundles include it (an Enterprise attack-pattern is in up to nine), with
//! the `spec_version` STIX 2.1 requires where MITRE's release files leave it out.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::item::bundle_item;
use crate::sources::attack_stix::AttackBundle;

/// One ATT&CK object, ready to be written into any bundle.
#[derive(Debug)]
pub struct AttackObject {
    /// The object as an item of a bundle's `objects` array: [`bundle_item`].
    pub item: Vec<u8>,
    /// The ids its `*_ref` / `*_refs` properties name.
    pub references: Vec<String>,
}

/// The ATT&CK objects formatted so far, by bundle and STIX id; shared by the bundles written side by side.
#[derive(Default)]
pub struct AttackObjects<'a> {
    formatted: Mutex<HashMap<&'a Path, HashMap<String, Arc<AttackObject>>>>,
}

impl<'a> AttackObjects<'a> {
    /// The object of `attack` with this id, formatted the first time any bundle asks for it.
    pub fn get(&self, attack: &'a AttackBundle, stix_id: &str) -> Option<Arc<AttackObject>> {
        let of_bundle = |formatted: &HashMap<&'a Path, HashMap<String, Arc<AttackObject>>>| {
            formatted.get(attack.path.as_path())?.get(stix_id).cloned()
        };
        if let Some(found) = of_bundle(&self.formatted.lock().expect("no thread panics holding it")) {
            return Some(found);
        }
        // Formatted outside the lock: two bundles asking at once format it twice, alike.
        let object = in_stix_2_1(attack.object(stix_id)?);
        let formatted = Arc::new(AttackObject {
            item: bundle_item(&object),
            references: super::references_of(&object),
        });
        let mut all = self.formatted.lock().expect("no thread panics holding it");
        let of_bundle = all.entry(attack.path.as_path()).or_default();
        Some(of_bundle.entry(stix_id.to_string()).or_insert(formatted).clone())
    }
}

/// The object as a STIX 2.1 bundle must hold it: with `spec_version` (which every STIX 2.1 object
/// but a bundle requires). MITRE's per-object release files, from which the ATT&CK 15.1, 17.1 and
/// 18.1 bundles are assembled, omit it; a bundle that says `2.1` for its objects keeps its own.
fn in_stix_2_1(mut object: serde_json::Value) -> serde_json::Value {
    if let Some(fields) = object.as_object_mut() {
        fields
            .entry("spec_version")
            .or_insert_with(|| serde_json::Value::String("2.1".into()));
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_without_spec_version_gets_2_1_and_one_with_it_keeps_its_own() {
        let bare = serde_json::json!({"type": "attack-pattern", "id": "attack-pattern--1"});
        assert_eq!(in_stix_2_1(bare)["spec_version"], "2.1");
        let own = serde_json::json!({"type": "attack-pattern", "id": "attack-pattern--1", "spec_version": "2.1"});
        assert_eq!(in_stix_2_1(own.clone()), own);
    }
}
