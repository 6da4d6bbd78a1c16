//! Chooses, per dataset, the most complete kind of source to supply its rows, and cross-checks the others.
//!
//! Ranking: mapping file, then all-data page, then landing page (cut, so flagged incomplete), then
//! technique pages, then capability pages. Rows of the other kinds are not lost: they are counted as
//! superseded and their (capability, technique) edges compared with the selected ones. Where the
//! better kind is known before a page is read (mapping files are read first, [`best_kinds`]), the
//! page's rows are reduced to that count and those edges at once (`ParsedInput::supersede`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::model::{DatasetKey, MappingRow, SourceKind};
use crate::sources::{Cut, Outcome, SupersededRows};

/// The rows of one input, as the selection sees them.
pub struct InputRows<'a> {
    pub source: &'a str,
    pub kind: SourceKind,
    pub cut: Option<Cut>,
    pub rows: Vec<MappingRow>,
    pub superseded: Vec<SupersededRows>,
}

/// The best kind of source each dataset has among the inputs read (datasets whose identifiers are valid).
pub fn best_kinds<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> BTreeMap<DatasetKey, SourceKind> {
    let mut best: BTreeMap<DatasetKey, SourceKind> = BTreeMap::new();
    for outcome in outcomes {
        let Outcome::Parsed(parsed) = outcome else {
            continue;
        };
        for row in &parsed.rows {
            let kind = best.entry(row.dataset()).or_insert(parsed.kind);
            *kind = (*kind).min(parsed.kind);
        }
    }
    best.retain(|dataset, _| crate::identifiers::check_dataset(dataset).is_ok());
    best
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
    /// Rows reduced as they were read, and their edges.
    superseded_rows: usize,
    superseded_edges: Vec<&'a BTreeSet<(String, String)>>,
}

impl<'a> KindRows<'a> {
    fn rows(&self) -> usize {
        self.rows.len() + self.superseded_rows
    }

    /// The distinct (capability, technique) edges of the rows, kept or reduced.
    fn edges(&self) -> BTreeSet<(&'a str, &'a str)> {
        let reduced = self.superseded_edges.iter().flat_map(|edges| edges.iter());
        self.rows
            .iter()
            .filter_map(|row| row.edge())
            .chain(reduced.map(|(capability, technique)| (capability.as_str(), technique.as_str())))
            .collect()
    }
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
            for superseded in &input.superseded {
                let kinds = by_dataset.entry(superseded.dataset.clone()).or_default();
                let entry = kinds.entry(input.kind).or_default();
                entry.inputs.insert(input.source);
                entry.superseded_rows += superseded.rows;
                entry.superseded_edges.push(&superseded.edges);
            }
        }
        for (dataset, kinds) in by_dataset {
            let mut kinds = kinds.into_iter();
            let (selected_kind, selected) = kinds.next().expect("a dataset exists only with rows");
            let selected_edges = selected.edges();
            let cross_checks = kinds
                .map(|(kind, other)| {
                    let other_edges = other.edges();
                    CrossCheck {
                        source_kind: kind,
                        inputs: other.inputs.len(),
                        rows: other.rows(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::ParsedInput;
    use crate::test_support::MappingRowBuilder;

    /// A NIST rev5 control that mitigates a technique.
    fn mitigates(control: &str, technique: &str) -> MappingRow {
        MappingRowBuilder::new("nist_800_53", "rev5")
            .capability(control)
            .technique(technique)
            .mapping_type("mitigates")
            .build()
    }

    /// The rows of a mapping file (`file.json`) or of a technique page (`page.html`).
    fn input(kind: SourceKind, rows: Vec<MappingRow>, superseded: Vec<SupersededRows>) -> InputRows<'static> {
        let source = if kind == SourceKind::MappingFile {
            "file.json"
        } else {
            "page.html"
        };
        InputRows {
            source,
            kind,
            cut: None,
            rows,
            superseded,
        }
    }

    #[test]
    fn the_mapping_file_supplies_rows_and_pages_are_cross_checked() {
        let file_rows = vec![mitigates("SC-08", "T1562"), mitigates("CM-02", "T1562")];
        let page_rows = vec![mitigates("SC-08", "T1562"), mitigates("AC-99", "T1562")];
        let selection = select(vec![
            input(SourceKind::TechniquePage, page_rows, Vec::new()),
            input(SourceKind::MappingFile, file_rows.clone(), Vec::new()),
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

    #[test]
    fn a_page_reduced_as_it_is_read_is_cross_checked_and_counted_as_if_kept_whole() {
        let file_rows = vec![mitigates("SC-08", "T1562"), mitigates("CM-02", "T1562")];
        let mut other = mitigates("AC-01", "T1078");
        other.framework_version = "rev4".into();
        let page_rows = vec![
            mitigates("SC-08", "T1562"),
            mitigates("SC-08", "T1562"),
            mitigates("AC-99", "T1562"),
            other.clone(),
        ];
        let inputs = |page_rows: Vec<MappingRow>, superseded: Vec<SupersededRows>| {
            vec![
                input(SourceKind::MappingFile, file_rows.clone(), Vec::new()),
                input(SourceKind::TechniquePage, page_rows, superseded),
            ]
        };
        let kept_whole = select(inputs(page_rows.clone(), Vec::new()));

        let mut page = ParsedInput::rows(SourceKind::TechniquePage, page_rows);
        let best = BTreeMap::from([(file_rows[0].dataset(), SourceKind::MappingFile)]);
        page.supersede(&best);
        assert_eq!(
            page.rows,
            vec![other],
            "a dataset no better source supplies keeps its rows"
        );
        assert_eq!(page.superseded.len(), 1);
        assert_eq!((page.superseded[0].rows, page.superseded[0].edges.len()), (3, 2));
        let reduced = select(inputs(page.rows, page.superseded));

        assert_eq!(reduced.rows, kept_whole.rows);
        assert_eq!(reduced.datasets, kept_whole.datasets);
        let check = &reduced.datasets[&file_rows[0].dataset()].cross_checks[0];
        assert_eq!((check.inputs, check.rows, check.edges), (1, 3, 2));
    }
}
