//! Chooses, per dataset, the most complete kind of source to supply its rows, and cross-checks the others.
//!
//! Ranking: mapping file, then all-data page, then landing page (cut, so flagged incomplete), then
//! technique pages, then capability pages. Rows of the other kinds are not lost: they are counted as
//! superseded and their (capability, technique) edges compared with the selected ones.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::model::{DatasetKey, MappingRow, SourceKind};
use crate::sources::Cut;

/// The rows of one input, as the selection sees them.
pub struct InputRows<'a> {
    pub source: &'a str,
    pub kind: SourceKind,
    pub cut: Option<Cut>,
    pub rows: Vec<MappingRow>,
}

/// How a kind of source that did not supply a dataset compares with the one that did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrossCheck {
    pub source_kind: SourceKind,
    pub inputs: usize,
    pub rows: usize,
    pub edges: usize,
    /// Edges this source has that the selected source lacks (0 when the sources agree).
    pub edges_missing_from_selected: usize,
    /// Edges the selected source has that this one lacks (expected when this source is partial).
    pub edges_missing_from_this: usize,
}

/// Which source supplied a dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetSource {
    pub source_kind: SourceKind,
    pub inputs: usize,
    pub source_rows: usize,
    /// Set when the supplying source is a landing page cut by the site: the dataset is incomplete.
    pub cut: Option<Cut>,
    pub cross_checks: Vec<CrossCheck>,
}

/// The rows chosen for the table and, per dataset, the kind of source they came from.
pub struct SourceSelection {
    pub rows: Vec<MappingRow>,
    pub datasets: BTreeMap<DatasetKey, DatasetSource>,
}

#[derive(Default)]
struct KindRows<'a> {
    inputs: BTreeSet<&'a str>,
    rows: Vec<&'a MappingRow>,
    cut: Option<Cut>,
}

/// Takes the inputs' rows: those of each dataset's chosen kind of source move into the selection (in
/// input order, into a vector sized once), the others are only compared with them, then dropped.
pub fn select(inputs: Vec<InputRows>) -> SourceSelection {
    let mut chosen: BTreeMap<DatasetKey, SourceKind> = BTreeMap::new();
    let mut datasets = BTreeMap::new();
    let mut selected_rows = 0;
    {
        let mut by_dataset: BTreeMap<DatasetKey, BTreeMap<SourceKind, KindRows>> = BTreeMap::new();
        for input in &inputs {
            for row in &input.rows {
                let kinds = by_dataset.entry(row.dataset()).or_default();
                let entry = kinds.entry(input.kind).or_default();
                entry.inputs.insert(input.source);
                entry.rows.push(row);
                entry.cut = entry.cut.or(input.cut);
            }
        }
        for (dataset, kinds) in by_dataset {
            let mut kinds = kinds.into_iter();
            let (selected_kind, selected) = kinds.next().expect("a dataset exists only with rows");
            let selected_edges = edges(&selected.rows);
            let cross_checks = kinds
                .map(|(kind, other)| {
                    let other_edges = edges(&other.rows);
                    CrossCheck {
                        source_kind: kind,
                        inputs: other.inputs.len(),
                        rows: other.rows.len(),
                        edges: other_edges.len(),
                        edges_missing_from_selected: other_edges.difference(&selected_edges).count(),
                        edges_missing_from_this: selected_edges.difference(&other_edges).count(),
                    }
                })
                .collect();
            selected_rows += selected.rows.len();
            chosen.insert(dataset.clone(), selected_kind);
            datasets.insert(
                dataset,
                DatasetSource {
                    source_kind: selected_kind,
                    inputs: selected.inputs.len(),
                    source_rows: selected.rows.len(),
                    cut: selected.cut,
                    cross_checks,
                },
            );
        }
    }
    let mut rows = Vec::with_capacity(selected_rows);
    for input in inputs {
        for row in input.rows {
            if chosen.get(&row.dataset()) == Some(&input.kind) {
                rows.push(row);
            }
        }
    }
    SourceSelection { rows, datasets }
}

fn edges<'a>(rows: &[&'a MappingRow]) -> BTreeSet<(&'a str, &'a str)> {
    rows.iter()
        .filter(|r| !r.is_non_mappable())
        .filter_map(|r| Some((r.capability_id.as_deref()?, r.attack_object_id.as_deref()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::MappingRowBuilder;

    /// A NIST rev5 control that mitigates a technique.
    fn mitigates(control: &str, technique: &str) -> MappingRow {
        MappingRowBuilder::new("nist_800_53", "rev5")
            .capability(control)
            .technique(technique)
            .mapping_type("mitigates")
            .build()
    }

    #[test]
    fn the_mapping_file_supplies_rows_and_pages_are_cross_checked() {
        let file_rows = vec![mitigates("SC-08", "T1562"), mitigates("CM-02", "T1562")];
        let page_rows = vec![mitigates("SC-08", "T1562"), mitigates("AC-99", "T1562")];
        let selection = select(vec![
            InputRows {
                source: "page.html",
                kind: SourceKind::TechniquePage,
                cut: None,
                rows: page_rows,
            },
            InputRows {
                source: "file.json",
                kind: SourceKind::MappingFile,
                cut: None,
                rows: file_rows.clone(),
            },
        ]);
        assert_eq!(selection.rows, file_rows);
        let source = selection.datasets.values().next().unwrap();
        assert_eq!(source.source_kind, SourceKind::MappingFile);
        let check = &source.cross_checks[0];
        assert_eq!(check.source_kind, SourceKind::TechniquePage);
        assert_eq!(
            (check.edges_missing_from_selected, check.edges_missing_from_this),
            (1, 1)
        );
    }
}
