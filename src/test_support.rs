//! What unit tests share: mapping rows built the way a test describes them, a frame cut into
//! chunks, the files a sink wrote.

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

    /// A row of AWS 12.12.2024 (a security stack): `capability` scores `technique` `value` in
    /// `category`.
    pub(crate) fn aws_score(capability: &str, technique: &str, category: &str, value: &str) -> MappingRow {
        MappingRowBuilder::new("aws", "12.12.2024")
            .capability(capability)
            .technique(technique)
            .mapping_type("technique_scores")
            .score(category, value)
            .build()
    }

    pub(crate) fn build(self) -> MappingRow {
        let record = format!("{:?}", self.row);
        MappingRow {
            source_fingerprint: fingerprint(&[&record]),
            ..self.row
        }
    }
}

/// `count` rows of the table in table order, three datasets of a tenth, two fifths and half of them,
/// with what makes a writer work: texts to quote (commas, quotes, line breaks), cells a spreadsheet
/// would run, nulls, lists, dates, derived rows, texts repeated and texts of their own.
pub(crate) fn varied_rows(count: usize) -> Vec<MappingRow> {
    use crate::model::{AttackChange, Carry, CarryKind, Date, SourceKind};
    let comments = [
        "plain",
        "a, b",
        "say \"so\"",
        "line\nbreak",
        "=SUM(A1)",
        "-1+2",
        "@x",
        "\ttab",
    ];
    (0..count)
        .map(|n| {
            let (framework, version) = match n {
                n if n < count / 10 => ("aws", "12.12.2024"),
                n if n < count / 2 => ("cri_profile", "v2.1"),
                _ => ("nist_800_53", "rev5"),
            };
            let mut row = MappingRowBuilder::new(framework, version)
                .capability(&format!("C-{:04}", n % 1_000))
                .technique(&format!("T{}", 1_000 + n % 600))
                .technique_name(&format!("Technique {}", n % 600))
                .mapping_type(["mitigates", "technique_scores", "related_to"][n % 3])
                .source(&format!("{framework}/{version}.json"))
                .build();
            row.mapping_type_label = (n % 5 != 0).then(|| "Mitigates".into());
            row.comments = match n % 11 {
                0 => vec![],
                1 => vec![comments[n % 8].into(), format!("own text {n}").into()],
                _ => vec![comments[n % 8].into()],
            };
            row.references = (0..n % 4)
                .map(|r| format!("https://example.org/{}", (n + r) % 50).into())
                .collect();
            row.score_values = (0..n % 3)
                .map(|v| ["minimal", "partial", "significant"][v].into())
                .collect();
            row.creation_date =
                (n % 7 != 0).then(|| Date::from_iso(&format!("2024-0{}-1{}", 1 + n % 9, n % 10)).unwrap());
            row.source_kind = Some([SourceKind::MappingFile, SourceKind::AllDataPage][n % 2]);
            row.occurrences = 1 + (n % 4) as u32;
            if n % 13 == 0 {
                row.carry = Some(Box::new(Carry {
                    kind: CarryKind::Replaced,
                    derived_from: "15.1".into(),
                    original_technique: Some(format!("T{}", 2_000 + n % 50)),
                    attack_changes: vec![AttackChange::Renamed; n % 2],
                }));
            }
            row
        })
        .collect()
}

/// `frame` cut into chunks of these sizes, the last taking the rest (sizes of 0 give empty chunks).
pub(crate) fn cut(frame: &polars::prelude::DataFrame, sizes: &[usize]) -> Vec<polars::prelude::DataFrame> {
    let mut chunks = Vec::new();
    let mut offset = 0;
    for &size in sizes {
        chunks.push(frame.slice(offset as i64, size));
        offset += size;
    }
    chunks.push(frame.slice(offset as i64, frame.height() - offset));
    chunks
}

/// Every file of `dir` by name, with its bytes.
pub(crate) fn files(dir: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            )
        })
        .collect()
}
