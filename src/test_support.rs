//! What unit tests share: mapping rows built the way a test describes them.

use crate::model::{fingerprint, MappingRow};

/// A [`MappingRow`] as one source record states it, built field by field:
///
/// ```text
/// MappingRowBuilder::new("nist_800_53", "rev5").capability("AC-02").technique("T1562").comment("…").build()
/// ```
///
/// The dataset maps ATT&CK 16.1 Enterprise; the row was read once (`occurrences` 1) and its source
/// fingerprint is that of every field set, so two rows built alike are exact duplicates.
pub(crate) struct MappingRowBuilder {
    row: MappingRow,
}

impl MappingRowBuilder {
    /// A row of the dataset of `framework` at `framework_version`, mapping nothing yet.
    pub(crate) fn new(framework: &str, framework_version: &str) -> MappingRowBuilder {
        MappingRowBuilder {
            row: MappingRow {
                framework: framework.into(),
                framework_version: framework_version.into(),
                attack_version: "16.1".into(),
                domain: "enterprise".into(),
                occurrences: 1,
                ..MappingRow::default()
            },
        }
    }

    pub(crate) fn capability(mut self, capability_id: &str) -> MappingRowBuilder {
        self.row.capability_id = Some(capability_id.into());
        self
    }

    pub(crate) fn capability_group(mut self, group: &str) -> MappingRowBuilder {
        self.row.capability_group = Some(group.into());
        self
    }

    /// The ATT&CK technique mapped (`attack_object_id`).
    pub(crate) fn technique(mut self, technique_id: &str) -> MappingRowBuilder {
        self.row.attack_object_id = Some(technique_id.into());
        self
    }

    /// The technique's name as the source wrote it (`attack_object_name`).
    pub(crate) fn technique_name(mut self, name: &str) -> MappingRowBuilder {
        self.row.attack_object_name = Some(name.into());
        self
    }

    /// The canonical mapping type (`mitigates`, `technique_scores` …).
    pub(crate) fn mapping_type(mut self, mapping_type: &str) -> MappingRowBuilder {
        self.row.mapping_type = Some(mapping_type.into());
        self
    }

    /// A score: its category (`protect`) and value (`minimal`, `partial`, `significant`).
    pub(crate) fn score(mut self, category: &str, value: &str) -> MappingRowBuilder {
        self.row.score_category = Some(category.into());
        self.row.score_value = Some(value.into());
        self
    }

    /// One more comment, after those already given.
    pub(crate) fn comment(mut self, comment: &str) -> MappingRowBuilder {
        self.row.comments.push(comment.into());
        self
    }

    /// One more reference, after those already given.
    pub(crate) fn reference(mut self, reference: &str) -> MappingRowBuilder {
        self.row.references.push(reference.into());
        self
    }

    /// The file the row was read from.
    pub(crate) fn source(mut self, source: &str) -> MappingRowBuilder {
        self.row.source = source.into();
        self
    }

    pub(crate) fn build(self) -> MappingRow {
        let record = format!("{:?}", self.row);
        MappingRow {
            source_fingerprint: fingerprint(&[&record]),
            ..self.row
        }
    }
}
