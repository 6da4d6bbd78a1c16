//! The run report: what was read, skipped, rejected, superseded and collapsed, per dataset; written as
//! `report.json` (deterministic: no clock, no host) and printed as a short summary.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::error::Result;
use crate::model::{DatasetKey, MappingRow, SourceKind, TechniqueStatus};
use crate::sinks::heatmap::HeatmapCounts;
use crate::sinks::navigator::LayerCounts;
use crate::sinks::stix::BundleCounts;
use crate::sinks::warehouse::WarehouseFile;
use crate::sinks::write_json;
use crate::sources::RejectedRow;
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
    pub rejected: Vec<RejectedRow>,
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

    /// One line for the summary when some technique is not live: `1 revoked (T1053.001 → T1053.002), …`.
    fn summary(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.revoked.is_empty() {
            let listed: Vec<String> = self
                .revoked
                .iter()
                .map(|r| match &r.replaced_by {
                    Some(by) => format!("{} → {by}", r.technique),
                    None => r.technique.clone(),
                })
                .collect();
            parts.push(format!("{} revoked ({})", self.revoked.len(), listed.join(", ")));
        }
        if !self.deprecated.is_empty() {
            parts.push(format!(
                "{} deprecated ({})",
                self.deprecated.len(),
                self.deprecated.join(", ")
            ));
        }
        if !self.other_domain.is_empty() {
            let listed: Vec<String> = self
                .other_domain
                .iter()
                .map(|t| format!("{}: {}", t.technique, t.domain))
                .collect();
            parts.push(format!(
                "{} of another domain ({})",
                self.other_domain.len(),
                listed.join(", ")
            ));
        }
        if !self.unknown.is_empty() {
            parts.push(format!(
                "{} unknown to ATT&CK ({})",
                self.unknown.len(),
                self.unknown.join(", ")
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
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

    /// Whether anything needs a person's attention: skipped inputs, rejected rows or incomplete datasets.
    pub fn has_warnings(&self) -> bool {
        !self.skipped.is_empty() || !self.rejected.is_empty() || self.totals.incomplete_datasets > 0
    }

    /// Warnings about the exports: attack-patterns that are stand-ins, not ATT&CK's own objects.
    pub fn export_warnings(&self) -> Vec<String> {
        let e = &self.exports;
        let mut warnings = Vec::new();
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

    /// The few lines a person reads after a run.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let t = &self.totals;
        let _ = writeln!(
            out,
            "read {} files ({} skipped): {} rows, {} supplied their dataset, {} superseded by a more complete source, {} rejected",
            self.inputs.files, self.inputs.skipped, t.rows_read, t.source_rows, t.superseded_rows, t.rejected_rows
        );
        for dataset in &self.datasets {
            let c = &dataset.counts;
            let _ = writeln!(
                out,
                "  {:<50} {:>6} rows from {:<15} -> {:>6} mappings ({} repeats collapsed: {} exact, {} differing; {} score conflicts; {} non-mappable){}",
                dataset.dataset,
                c.source_rows,
                dataset.source.source_kind.as_str(),
                c.mappings,
                c.repeats_collapsed,
                c.exact_duplicates,
                c.differing_repeats,
                c.score_conflicts,
                c.non_mappable,
                match dataset.source.cut {
                    Some(cut) => format!(" INCOMPLETE: landing page shows {} of {}", cut.shown, cut.total),
                    None => String::new(),
                }
            );
            if let Some(line) = dataset.techniques.as_ref().and_then(TechniqueStatuses::summary) {
                let _ = writeln!(out, "    techniques: {line}");
            }
            if let Some(gaps) = dataset.gaps.filter(|g| *g > 0) {
                let _ = writeln!(
                    out,
                    "    gaps: {gaps} live ATT&CK techniques it does not mention (gaps.csv)"
                );
            }
        }
        let _ = writeln!(
            out,
            "total: {} mappings from {} source rows ({} repeats collapsed, {} non-mappable)",
            t.mappings, t.source_rows, t.repeats_collapsed, t.non_mappable
        );
        let e = &self.exports;
        if !e.attack_bundles.is_empty() {
            let _ = writeln!(out, "ATT&CK catalogue: {}", e.attack_bundles.join(", "));
        }
        if !e.stix.is_empty() || !e.navigator.is_empty() {
            let relationships: usize = e.stix.iter().flat_map(|b| b.relationships.values()).sum();
            let _ = writeln!(
                out,
                "exported {} STIX bundles ({} objects, {} relationships) and {} Navigator layers",
                e.stix.len(),
                e.stix.iter().map(|b| b.objects).sum::<usize>(),
                relationships,
                e.navigator.len()
            );
        }
        if !e.warehouse.is_empty() {
            let mut tables: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
            for file in &e.warehouse {
                let entry = tables.entry(&file.table).or_default();
                entry.0 += 1;
                entry.1 += file.rows;
            }
            let tables: Vec<String> = tables
                .iter()
                .map(|(table, (files, rows))| match files {
                    1 => format!("{table} {rows} rows"),
                    _ => format!("{table} {rows} rows in {files} partitions"),
                })
                .collect();
            let _ = writeln!(out, "warehouse: {}", tables.join(", "));
        }
        for skipped in &self.skipped {
            let _ = writeln!(out, "skipped {}: {}", skipped.path, skipped.reason);
        }
        const LISTED: usize = 20;
        for rejected in self.rejected.iter().take(LISTED) {
            let _ = writeln!(
                out,
                "rejected {} {}: {}",
                rejected.source, rejected.element, rejected.reason
            );
        }
        if self.rejected.len() > LISTED {
            let _ = writeln!(
                out,
                "… and {} more rejections, listed in report.json",
                self.rejected.len() - LISTED
            );
        }
        out
    }
}
