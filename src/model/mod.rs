//! The one type for a mapping row, the dataset it belongs to, and the kinds of source it can come from.

use serde::Serialize;

mod carry;
mod date;
mod grain;
mod text;

pub use carry::{AttackChange, Carry, CarryKind};
pub use date::Date;
use grain::mapping_id_of;
pub use grain::{uuid_v5, GrainKey, PROJECT_NAMESPACE};
pub use text::{Interner, Text};

/// Where a row was read from, ranked from most to least complete for its dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// An official mapping JSON file (the unified schema): every row, with scores and groups.
    MappingFile,
    /// A framework page that lists every mapping: the uncut "Load all data" page, or a landing page
    /// small enough not to be cut.
    AllDataPage,
    /// A framework landing page cut at 550 rows: never the whole dataset.
    LandingPage,
    /// Technique pages: one table per framework, without scores or groups.
    TechniquePage,
    /// Capability pages: one capability's mappings.
    CapabilityPage,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::MappingFile => "mapping_file",
            SourceKind::AllDataPage => "all_data_page",
            SourceKind::LandingPage => "landing_page",
            SourceKind::TechniquePage => "technique_page",
            SourceKind::CapabilityPage => "capability_page",
        }
    }
}

/// One published mapping dataset: a framework version mapped to one ATT&CK version and domain.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct DatasetKey {
    pub framework: String,
    pub framework_version: String,
    pub attack_version: String,
    pub domain: String,
}

impl std::fmt::Display for DatasetKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}-{}_attack-{}-{}",
            self.framework, self.framework_version, self.attack_version, self.domain
        )
    }
}

/// What the run's ATT&CK catalogue says of a mapping's technique (`technique_status`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TechniqueStatus {
    /// In the dataset's own domain, neither revoked nor deprecated.
    Live,
    /// Revoked in this ATT&CK version; `by` is the technique that replaced it, when ATT&CK says.
    Revoked { by: Option<String> },
    /// Deprecated in this ATT&CK version: no replacement.
    Deprecated,
    /// Not in the dataset's domain, but in another domain of the same version (`mobile`).
    OtherDomain { domain: String },
    /// In no domain of this ATT&CK version.
    Unknown,
}

impl TechniqueStatus {
    /// The column's value: `live`, `revoked`, `deprecated`, `other_domain` or `unknown`.
    pub fn as_str(&self) -> &'static str {
        match self {
            TechniqueStatus::Live => "live",
            TechniqueStatus::Revoked { .. } => "revoked",
            TechniqueStatus::Deprecated => "deprecated",
            TechniqueStatus::OtherDomain { .. } => "other_domain",
            TechniqueStatus::Unknown => "unknown",
        }
    }

    /// Why Navigator cannot place a technique of this status in the dataset's layer, if it cannot.
    pub fn why_not_placeable(&self, attack_version: &str) -> Option<String> {
        match self {
            TechniqueStatus::Live => None,
            TechniqueStatus::Revoked { by: Some(by) } => {
                Some(format!("revoked in ATT&CK {attack_version}, replaced by {by}"))
            }
            TechniqueStatus::Revoked { by: None } => Some(format!("revoked in ATT&CK {attack_version}")),
            TechniqueStatus::Deprecated => Some(format!("deprecated in ATT&CK {attack_version}")),
            TechniqueStatus::OtherDomain { domain } => Some(format!("a {domain} technique")),
            TechniqueStatus::Unknown => Some(format!("not in ATT&CK {attack_version}")),
        }
    }
}

/// One mapping as read from a source, normalized, before or after deduplication.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MappingRow {
    pub framework: Text,
    pub framework_version: Text,
    pub attack_version: Text,
    pub domain: Text,
    pub capability_id: Option<Text>,
    pub capability_description: Option<Text>,
    pub capability_group: Option<Text>,
    pub capability_group_name: Option<Text>,
    /// Canonical mapping type key (`mitigates`, `technique_scores`, `related_to`, `non_mappable` …).
    pub mapping_type: Option<Text>,
    /// The mapping type as the source wrote or displayed it.
    pub mapping_type_label: Option<Text>,
    pub attack_object_id: Option<Text>,
    pub attack_object_name: Option<Text>,
    pub score_category: Option<Text>,
    pub score_value: Option<Text>,
    pub related_score: Option<Text>,
    pub status: Option<Text>,
    /// Distinct non-empty comments in source order.
    pub comments: Vec<Text>,
    /// Distinct references in source order.
    pub references: Vec<Text>,
    pub creation_date: Option<Date>,
    pub last_update: Option<Date>,
    pub source_kind: Option<SourceKind>,
    /// The first file the row came from, relative to the input it was found under.
    pub source: Text,
    /// How many source rows collapsed into this one.
    pub occurrences: u32,
    /// What the ATT&CK catalogue says of the technique; `None` without a catalogue for the dataset
    /// (or without a technique). Set after deduplication.
    pub technique_status: Option<TechniqueStatus>,
    /// Every distinct score value of the collapsed source rows, in source order (`score_value` is the
    /// highest). Set by deduplication.
    pub score_values: Vec<Text>,
    /// A hash of the source record exactly as written (before normalization): equal only for exact
    /// duplicates. Not a column.
    pub source_fingerprint: u64,
    /// How a row of a derived dataset was carried from its official dataset's ATT&CK release
    /// (`--carry-to`); `None` on every official row.
    pub carry: Option<Box<Carry>>,
}

/// The fingerprint of a source record's raw text (stable within a run).
pub fn fingerprint(raw_parts: &[&str]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    raw_parts.hash(&mut hasher);
    hasher.finish()
}

/// The fingerprint of a JSON record: the hash of its compact JSON, never written out (stable within
/// a run).
pub fn json_fingerprint(record: &impl Serialize) -> u64 {
    use std::hash::Hasher;
    thread_local! {
        // The JSON hashed, in one piece: the hash reads it in one call, not a call per token.
        static JSON: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    JSON.with_borrow_mut(|json| {
        json.clear();
        serde_json::to_writer(&mut *json, record).expect("records of ours always serialize");
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        hasher.write(json);
        if json.capacity() > 1 << 20 {
            // An outsized record's buffer is not kept for the thread's life.
            *json = Vec::new();
        }
        hasher.finish()
    })
}

/// Serializes `record` as compact JSON into `feed`, piece by piece, never whole in memory: what a
/// hash of a serialization reads.
pub fn serialize_into(record: &impl Serialize, feed: impl FnMut(&[u8])) {
    struct Feeding<F>(F);
    impl<F: FnMut(&[u8])> std::io::Write for Feeding<F> {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            (self.0)(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    serde_json::to_writer(Feeding(feed), record).expect("records of ours always serialize");
}

/// Rows grouped by dataset, in dataset order (the order of the table).
pub fn by_dataset(rows: &[MappingRow]) -> std::collections::BTreeMap<DatasetKey, Vec<&MappingRow>> {
    let mut groups: std::collections::BTreeMap<DatasetKey, Vec<&MappingRow>> = std::collections::BTreeMap::new();
    // The table's rows come in dataset order: each run of one dataset's rows joins its group with
    // its key copied once.
    for run in rows.chunk_by(|a, b| a.dataset_cmp(b).is_eq()) {
        groups.entry(run[0].dataset()).or_default().extend(run);
    }
    groups
}

/// The ATT&CK version a dataset's rows were carried from (`--carry-to`), when it is a derived dataset.
pub fn derived_from<'a>(rows: &[&'a MappingRow]) -> Option<&'a str> {
    rows.iter()
        .find_map(|r| r.carry.as_ref())
        .map(|c| c.derived_from.as_str())
}

impl MappingRow {
    pub fn dataset(&self) -> DatasetKey {
        DatasetKey {
            framework: self.framework.to_string(),
            framework_version: self.framework_version.to_string(),
            attack_version: self.attack_version.to_string(),
            domain: self.domain.to_string(),
        }
    }

    pub fn grain_key(&self) -> GrainKey {
        GrainKey {
            dataset: self.dataset(),
            capability_id: self.capability_id.as_deref().map(String::from),
            attack_object_id: self.attack_object_id.as_deref().map(String::from),
            mapping_type: self.mapping_type.as_deref().map(String::from),
            score_category: self.score_category.as_deref().map(String::from),
        }
    }

    /// [`GrainKey::mapping_id`] of the row's grain key, from the fields in place: nothing copied.
    pub fn mapping_id(&self) -> String {
        mapping_id_of(&(
            &*self.framework,
            &*self.framework_version,
            &*self.attack_version,
            &*self.domain,
            self.capability_id.as_deref(),
            self.attack_object_id.as_deref(),
            self.mapping_type.as_deref(),
            self.score_category.as_deref(),
        ))
    }

    /// Whether the row belongs to `dataset`, from the fields in place: nothing copied.
    pub fn is_of(&self, dataset: &DatasetKey) -> bool {
        *self.framework == *dataset.framework
            && *self.framework_version == *dataset.framework_version
            && *self.attack_version == *dataset.attack_version
            && *self.domain == *dataset.domain
    }

    /// The order of the rows' [`DatasetKey`]s, from the fields in place: nothing copied.
    pub fn dataset_cmp(&self, other: &MappingRow) -> std::cmp::Ordering {
        fn key(r: &MappingRow) -> (&str, &str, &str, &str) {
            (&r.framework, &r.framework_version, &r.attack_version, &r.domain)
        }
        key(self).cmp(&key(other))
    }

    /// The order of the rows' [`MappingRow::grain_key`]s, from the fields in place: nothing copied.
    pub fn grain_cmp(&self, other: &MappingRow) -> std::cmp::Ordering {
        type Rest<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>, Option<&'a str>);
        fn rest(r: &MappingRow) -> Rest<'_> {
            (
                r.capability_id.as_deref(),
                r.attack_object_id.as_deref(),
                r.mapping_type.as_deref(),
                r.score_category.as_deref(),
            )
        }
        self.dataset_cmp(other).then_with(|| rest(self).cmp(&rest(other)))
    }

    /// A row that maps no capability to no technique: kept in the table, marked and counted.
    pub fn is_non_mappable(&self) -> bool {
        self.capability_id.is_none()
            || self.attack_object_id.is_none()
            || self.mapping_type.as_deref() == Some("non_mappable")
            || self.status.as_deref() == Some("non_mappable")
    }

    /// The (capability, technique) edge this row asserts, if it maps anything.
    pub fn edge(&self) -> Option<(&str, &str)> {
        if self.is_non_mappable() {
            return None;
        }
        Some((self.capability_id.as_deref()?, self.attack_object_id.as_deref()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_grouped_by_dataset_in_their_order_whether_or_not_they_come_sorted() {
        let row = |version: &str, technique: &str| {
            crate::test_support::MappingRowBuilder::new("nist_800_53", version)
                .technique(technique)
                .build()
        };
        let rows = [
            row("rev5", "T1"),
            row("rev5", "T2"),
            row("rev4", "T3"),
            row("rev5", "T4"),
            row("rev4", "T5"),
        ];
        let groups = by_dataset(&rows);
        let techniques: Vec<(String, Vec<&str>)> = groups
            .iter()
            .map(|(key, rows)| {
                let ids = rows.iter().map(|r| r.attack_object_id.as_deref().unwrap()).collect();
                (key.framework_version.clone(), ids)
            })
            .collect();
        assert_eq!(
            techniques,
            [
                ("rev4".to_string(), vec!["T3", "T5"]),
                ("rev5".to_string(), vec!["T1", "T2", "T4"])
            ]
        );
    }

    #[test]
    fn mapping_id_is_stable_and_distinguishes_null_from_empty() {
        let key = |cap: Option<&str>| GrainKey {
            dataset: DatasetKey {
                framework: "nist_800_53".into(),
                framework_version: "rev5".into(),
                attack_version: "16.1".into(),
                domain: "enterprise".into(),
            },
            capability_id: cap.map(String::from),
            attack_object_id: Some("T1562".into()),
            mapping_type: Some("mitigates".into()),
            score_category: None,
        };
        assert_eq!(key(Some("SC-08")).mapping_id(), key(Some("SC-08")).mapping_id());
        assert_ne!(key(None).mapping_id(), key(Some("")).mapping_id());
        assert_eq!(key(Some("SC-08")).mapping_id().len(), 36);
        let row = |capability: Option<&str>, version: &str| {
            let mut row = crate::test_support::MappingRowBuilder::new("nist_800_53", version)
                .technique("T1562")
                .build();
            row.capability_id = capability.map(Text::from);
            row
        };
        let rows = [
            row(None, "rev5"),
            row(Some(""), "rev5"),
            row(Some("SC-08"), "rev5"),
            row(Some("AC-01"), "rev4"),
        ];
        for a in &rows {
            assert_eq!(a.mapping_id(), a.grain_key().mapping_id(), "the row's id is its key's");
            for b in &rows {
                assert_eq!(
                    a.grain_cmp(b),
                    a.grain_key().cmp(&b.grain_key()),
                    "grain_cmp orders as the keys do"
                );
            }
        }
        // The id is UUIDv5 over the key as a JSON array: published ids never change.
        let array = serde_json::json!([
            "nist_800_53",
            "rev5",
            "16.1",
            "enterprise",
            "SC-08",
            "T1562",
            "mitigates",
            null
        ]);
        let expected = uuid::Uuid::new_v5(&PROJECT_NAMESPACE, array.to_string().as_bytes()).to_string();
        assert_eq!(key(Some("SC-08")).mapping_id(), expected);
    }
}
