//! The run report: what was read, skipped, rejected, superseded and collapsed, per dataset; written as
//! `report.json` (deterministic: no clock, no host) and printed as a short summary.

mod summary;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::error::Result;
use crate::model::{DatasetKey, MappingRow, SourceKind, TechniqueStatus};
use crate::sinks::heatmap::HeatmapCounts;
use crate::sinks::navigator::LayerCounts;
use crate::sinks::stix::BundleCounts;
use crate::sinks::warehouse::WarehouseFile;
use crate::sinks::write_json;
use crate::sources::{NotAnInput, RejectedRow};
use crate::transforms::carry::CarryReport;
use crate::transforms::dedupe::DedupeCounts;
use crate::transforms::select::DatasetSource;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub tool: String,
    pub inputs: InputCounts,
    pub totals: Totals,
    pub datasets: Vec<DatasetReport>,
    pub skipped: Vec<SkippedInput>,
    /// Pages of the site that carry no mappings (the technique index, the framework pages): read,
    /// nothing to take.
    pub without_mappings: Vec<SkippedInput>,
    /// Files known by their names not to be inputs (the site's exports of its mapping files in
    /// other formats, its style sheets, scripts, images and fonts): never read, not a warning.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_inputs: Vec<SkippedInput>,
    pub rejected: Vec<RejectedRow>,
    /// With `--carry-to`: the derived datasets, and the datasets not carried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carry: Option<CarryReport>,
    pub exports: Exports,
}

/// What the STIX, Navigator and warehouse sinks wrote.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Exports {
    /// The ATT&CK bundles used to resolve techniques.
    pub attack_bundles: Vec<String>,
    pub stix: Vec<BundleCounts>,
    pub navigator: Vec<LayerCounts>,
    /// The SVG heatmap of each layer, in `heatmaps/`.
    pub heatmaps: Vec<HeatmapCounts>,
    /// The warehouse's Parquet files, relative to `warehouse/`.
    pub warehouse: Vec<WarehouseFile>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InputCounts {
    pub files: usize,
    pub read: usize,
    pub skipped: usize,
    pub by_kind: BTreeMap<SourceKind, usize>,
    /// ATT&CK STIX bundles among the inputs, used as the catalogue of their domain and version.
    pub attack_bundles: usize,
    /// The files that are not inputs ([`Report::not_inputs`]), by kind.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub not_inputs: BTreeMap<NotAnInput, usize>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Rows read from every input, selected or not.
    pub rows_read: usize,
    /// Rows of sources that supplied their dataset.
    pub source_rows: usize,
    /// Rows of less complete sources of a dataset, used only to cross-check.
    pub superseded_rows: usize,
    /// Rows of datasets outside the run's selection (`refresh --framework …`).
    pub unselected_rows: usize,
    pub rejected_rows: usize,
    pub mappings: usize,
    pub repeats_collapsed: usize,
    pub exact_duplicates: usize,
    pub differing_repeats: usize,
    pub score_conflicts: usize,
    pub non_mappable: usize,
    /// Datasets supplied by a landing page the site cut: incomplete.
    pub incomplete_datasets: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetReport {
    pub dataset: String,
    #[serde(flatten)]
    pub key: DatasetKey,
    pub complete: bool,
    /// On a derived dataset (`--carry-to`): the ATT&CK version of the official dataset it was
    /// carried from (`source` and `complete` are that dataset's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub derived_from: Option<String>,
    pub source: DatasetSource,
    pub counts: DedupeCounts,
    /// The dataset's distinct techniques by what the ATT&CK catalogue says of them; absent without
    /// a catalogue for its ATT&CK version and domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub techniques: Option<TechniqueStatuses>,
    /// With a catalogue: the live techniques of the dataset's version and domain it neither maps
    /// nor lists as non-mappable (`gaps.csv` lists them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gaps: Option<usize>,
}

/// A dataset's distinct techniques (not rows) by what ATT&CK says of them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TechniqueStatuses {
    pub live: usize,
    pub revoked: Vec<RevokedTechnique>,
    pub deprecated: Vec<String>,
    pub other_domain: Vec<OtherDomainTechnique>,
    pub unknown: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevokedTechnique {
    pub technique: String,
    pub replaced_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OtherDomainTechnique {
    pub technique: String,
    pub domain: String,
}

impl TechniqueStatuses {
    /// Tallies the distinct techniques of a dataset's rows; `None` when no row has a status.
    pub fn of<'a>(rows: impl Iterator<Item = &'a MappingRow>) -> Option<TechniqueStatuses> {
        let by_technique: BTreeMap<&str, &TechniqueStatus> = rows
            .filter_map(|r| Some((r.attack_object_id.as_deref()?, r.technique_status.as_ref()?)))
            .collect();
        if by_technique.is_empty() {
            return None;
        }
        let mut statuses = TechniqueStatuses::default();
        for (technique, status) in by_technique {
            let technique = technique.to_string();
            match status {
                TechniqueStatus::Live => statuses.live += 1,
                TechniqueStatus::Revoked { by } => statuses.revoked.push(RevokedTechnique {
                    technique,
                    replaced_by: by.clone(),
                }),
                TechniqueStatus::Deprecated => statuses.deprecated.push(technique),
                TechniqueStatus::OtherDomain { domain } => statuses.other_domain.push(OtherDomainTechnique {
                    technique,
                    domain: domain.clone(),
                }),
                TechniqueStatus::Unknown => statuses.unknown.push(technique),
            }
        }
        Some(statuses)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedInput {
    pub path: String,
    pub reason: String,
}

impl Report {
    pub fn write(&self, path: &Path) -> Result<()> {
        write_json(path, self)
    }

    /// Whether anything needs a person's attention: skipped inputs, rejected rows, incomplete
    /// datasets, or a source that disagrees with the one that supplied its dataset.
    pub fn has_warnings(&self) -> bool {
        !self.skipped.is_empty()
            || !self.rejected.is_empty()
            || self.totals.incomplete_datasets > 0
            || !self.cross_check_warnings().is_empty()
            || self.carry.as_ref().is_some_and(|c| !c.warnings().is_empty())
    }

    /// The warnings a run prints and its report.html lists: [`Report::cross_check_warnings`], then
    /// [`Report::export_warnings`].
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = self.cross_check_warnings();
        warnings.extend(self.export_warnings());
        warnings
    }

    /// Pages that disagree with the mapping file that supplied their dataset: a page showing
    /// (capability, technique) pairs the file lacks. A page lacking some of the file's pairs is
    /// expected (technique pages, a cut landing page show part of a dataset).
    pub fn cross_check_warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        for dataset in &self.datasets {
            let supplier = dataset.source.source_kind;
            if supplier != SourceKind::MappingFile {
                continue;
            }
            for check in dataset
                .source
                .cross_checks
                .iter()
                .filter(|c| c.edges_missing_from_selected > 0)
            {
                warnings.push(format!(
                    "{}: its {} inputs ({}) show {} (capability, technique) pairs its {} lacks: they disagree, the {} was used",
                    dataset.dataset,
                    check.source_kind.as_str(),
                    check.inputs,
                    check.edges_missing_from_selected,
                    supplier.as_str(),
                    supplier.as_str()
                ));
            }
        }
        warnings
    }

    /// Warnings about the exports: attack-patterns that are stand-ins, not ATT&CK's own objects.
    pub fn export_warnings(&self) -> Vec<String> {
        let e = &self.exports;
        let mut warnings = self.carry.as_ref().map(CarryReport::warnings).unwrap_or_default();
        if e.attack_bundles.is_empty() {
            if !e.stix.is_empty() {
                warnings.push(
                    "no ATT&CK bundle given (--attack-stix): STIX attack-patterns are minimal stand-ins whose ids are attackmap's, not ATT&CK's".to_string(),
                );
            }
            return warnings;
        }
        for bundle in e.stix.iter().filter(|b| !b.techniques_not_in_attack.is_empty()) {
            let listed: Vec<&str> = bundle
                .techniques_not_in_attack
                .iter()
                .take(5)
                .map(String::as_str)
                .collect();
            warnings.push(format!(
                "{}: {} techniques are in no ATT&CK bundle given ({}{}): written as minimal attack-patterns with attackmap's ids",
                bundle.file,
                bundle.techniques_not_in_attack.len(),
                listed.join(", "),
                if bundle.techniques_not_in_attack.len() > listed.len() { ", …" } else { "" }
            ));
        }
        warnings
    }
}
