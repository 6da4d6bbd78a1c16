//! The grain of the table, the key that makes rows repeats of one mapping, and the stable id
//! (`mapping_id`) derived from it.

use serde::Serialize;

use super::DatasetKey;

/// The grain of the table: rows with equal keys are repeats of one mapping.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GrainKey {
    pub dataset: DatasetKey,
    pub capability_id: Option<String>,
    pub attack_object_id: Option<String>,
    pub mapping_type: Option<String>,
    pub score_category: Option<String>,
}

/// The namespace of every UUIDv5 this project derives (mapping ids, STIX ids).
pub const PROJECT_NAMESPACE: uuid::Uuid = uuid::uuid!("5d6f3c1e-8a4b-4f0e-9c61-2b7a0d9e4c11");

/// The UUIDv5 of `name` in [`PROJECT_NAMESPACE`], as `uuid::Uuid::new_v5` makes it (RFC 9562), its
/// SHA-1 taken with the processor's SHA instructions where it has them: uuid's own SHA-1 has none,
/// and a build of the 11 mapping files derives about 100,000 ids (7 ms of its CPU).
pub fn uuid_v5(name: &[u8]) -> uuid::Uuid {
    use sha1::Digest;
    let mut sha1 = sha1::Sha1::new();
    sha1.update(PROJECT_NAMESPACE.as_bytes());
    sha1.update(name);
    let digest = sha1.finalize();
    let mut bytes = [0; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_sha1_bytes(bytes).into_uuid()
}

impl GrainKey {
    /// A stable id of the key: UUIDv5 in [`PROJECT_NAMESPACE`] over the key written as a JSON array
    /// (`["nist_800_53","rev5","16.1","enterprise","SC-08","T1562","mitigates",null]`), so a null and an
    /// empty string differ and no separator can be confused with the data.
    pub fn mapping_id(&self) -> String {
        mapping_id_of(&(
            &self.dataset.framework,
            &self.dataset.framework_version,
            &self.dataset.attack_version,
            &self.dataset.domain,
            &self.capability_id,
            &self.attack_object_id,
            &self.mapping_type,
            &self.score_category,
        ))
    }
}

/// The UUIDv5 of a grain key given as a tuple of its fields: a tuple serializes as the JSON array of
/// its fields, `null` for a missing one.
pub(super) fn mapping_id_of(natural_key: &impl Serialize) -> String {
    let natural_key = serde_json::to_string(natural_key).expect("strings always serialize");
    uuid_v5(natural_key.as_bytes()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uuid_v5_is_uuid_s_own() {
        let long = "x".repeat(200);
        for name in ["", "a", "[\"nist_800_53\",\"rev5\",null]", long.as_str(), "é\u{0}"] {
            assert_eq!(
                uuid_v5(name.as_bytes()),
                uuid::Uuid::new_v5(&PROJECT_NAMESPACE, name.as_bytes())
            );
        }
    }
}
