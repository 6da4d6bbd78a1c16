//! A build's second pass, one dataset at a time: its mapping files read, its sources selected, its
//! repeats collapsed, its techniques' statuses and gaps found; or, with `--carry-to`, a derived
//! dataset carried from its official one. Nothing here holds another dataset's rows.

use std::collections::BTreeSet;

use super::plan::{InputPart, Plan, Tally};
use crate::error::Result;
use crate::model::{DatasetKey, MappingRow};
use crate::sinks::report::{DatasetReport, TechniqueStatuses};
use crate::sources::attack_stix::AttackCatalog;
use crate::sources::{self, Outcome};
use crate::transforms::carry::{self, CarryPlan, DerivedReport, Release, ReviewTechnique};
use crate::transforms::gaps::{self, Gap};
use crate::transforms::{dedupe, select};

/// What a build knows before its datasets are built: the first pass, the choice, the catalogue.
pub struct Datasets<'a> {
    pub plan: &'a Plan,
    pub chosen: &'a BTreeSet<DatasetKey>,
    pub attack: &'a AttackCatalog,
    /// With `--carry-to`: the target release and the plan of what is carried to it.
    pub carry: Option<&'a (String, CarryPlan)>,
    pub progress: &'a indicatif::ProgressBar,
}

/// One dataset to build, in the table's order: one the inputs hold, or one derived (`--carry-to`,
/// by its index in the carry plan).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit<'a> {
    Official(&'a DatasetKey),
    Derived(usize, &'a DatasetKey),
}

impl Unit<'_> {
    pub fn key(&self) -> &DatasetKey {
        match self {
            Unit::Official(key) | Unit::Derived(_, key) => key,
        }
    }
}

/// What building one unit gave.
#[derive(Default)]
pub struct Built {
    /// What became of the mapping files it read.
    pub tally: Tally,
    /// Its rows when it is not chosen: counted, not kept.
    pub unselected_rows: usize,
    pub dataset: Option<BuiltDataset>,
}

/// A dataset of the table: its rows (in table order), gaps and report.
pub struct BuiltDataset {
    pub report: DatasetReport,
    pub rows: Vec<MappingRow>,
    pub gaps: Vec<Gap>,
    /// A derived dataset's review list and carry report, with its index in the carry plan.
    pub derived: Option<(usize, DerivedReport, Vec<ReviewTechnique>)>,
}

impl Datasets<'_> {
    /// Every unit, in the table's order (dataset key order).
    pub fn units(&self) -> Vec<Unit<'_>> {
        let official = self.plan.deferred.keys().chain(self.plan.parts.keys());
        let mut units: Vec<Unit> = official
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(Unit::Official)
            .collect();
        if let Some((_, plan)) = self.carry {
            units.extend(
                plan.derivations
                    .iter()
                    .enumerate()
                    .map(|(index, d)| Unit::Derived(index, &d.derived)),
            );
        }
        units.sort_by(|a, b| a.key().cmp(b.key()));
        units
    }

    /// About how much work building `unit` is: the bytes of its mapping files, or of rows read from
    /// other inputs (a derived dataset builds its official one again).
    pub fn weight(&self, unit: Unit) -> usize {
        const BYTES_PER_ROW: usize = 400;
        let key = match unit {
            Unit::Official(key) => key,
            Unit::Derived(index, _) => {
                &self.carry.expect("derived units come from a carry plan").1.derivations[index].source
            }
        };
        let rows: usize = self
            .plan
            .parts
            .get(key)
            .map_or(0, |parts| parts.iter().map(|p| p.rows.len()).sum());
        self.plan.deferred_bytes.get(key).copied().unwrap_or(0) + rows * BYTES_PER_ROW
    }

    pub fn build(&self, unit: Unit) -> Result<Built> {
        match unit {
            Unit::Official(key) => self.official(key),
            Unit::Derived(index, _) => self.derived(index),
        }
    }

    /// A dataset the inputs hold: built when chosen, counted otherwise.
    fn official(&self, key: &DatasetKey) -> Result<Built> {
        let mut tally = Tally::default();
        let selection = self.selection(key, &mut tally)?;
        let Some((_, source)) = selection.datasets.into_iter().next() else {
            return Ok(Built {
                tally,
                ..Built::default()
            });
        };
        if crate::identifiers::check_dataset(key).is_err() {
            // Its rows are rejected for their identifiers (in the tally).
            return Ok(Built {
                tally,
                ..Built::default()
            });
        }
        if !self.chosen.contains(key) {
            return Ok(Built {
                tally,
                unselected_rows: selection.rows.len(),
                dataset: None,
            });
        }
        let mut deduplicated = dedupe::dedupe(selection.rows);
        for row in &mut deduplicated.rows {
            if let Some(technique) = row.attack_object_id.as_deref() {
                row.technique_status = self.attack.status(&row.attack_version, &row.domain, technique);
            }
        }
        let rows = deduplicated.rows;
        let gaps = gaps::gaps(&rows, self.attack);
        let report = DatasetReport {
            dataset: key.to_string(),
            complete: source.cut.is_none(),
            gaps: self
                .attack
                .covers(&key.attack_version, &key.domain)
                .then_some(gaps.len()),
            techniques: TechniqueStatuses::of(rows.iter()),
            key: key.clone(),
            source,
            counts: deduplicated.counts.remove(key).unwrap_or_default(),
            derived_from: None,
        };
        Ok(Built {
            tally,
            unselected_rows: 0,
            dataset: Some(BuiltDataset {
                report,
                rows,
                gaps,
                derived: None,
            }),
        })
    }

    /// The derived dataset of the carry plan's derivation `index`: its official dataset built again
    /// (its inputs already counted there) and carried to the target release.
    fn derived(&self, index: usize) -> Result<Built> {
        let (target, plan) = self.carry.expect("derived units come from a carry plan");
        let derivation = &plan.derivations[index];
        let rereads = self.plan.deferred.get(&derivation.source).map_or(0, Vec::len);
        self.progress.inc_length(rereads as u64);
        let official = self.official(&derivation.source)?.dataset;
        let release = |version: &str| {
            Release::from_catalog(self.attack, version, &derivation.source.domain).expect("the plan checked the bundle")
        };
        let (source, target_release) = (release(&derivation.source.attack_version), release(target));
        let official_rows = official.as_ref().map(|o| o.rows.as_slice()).unwrap_or_default();
        let mut derived = carry::carry_dataset(official_rows, &source, &target_release);
        for row in &mut derived.rows {
            if let Some(technique) = row.attack_object_id.as_deref() {
                row.technique_status = self.attack.status(&row.attack_version, &row.domain, technique);
            }
        }
        let review = carry::review_list(&derivation.derived, &source, &target_release);
        let report = carry::report_of(derivation, &derived, review.len());
        let mut rows = derived.rows;
        rows.sort_by(MappingRow::grain_cmp);
        let Some(official) = official else {
            // Nothing to derive from: the carry report says so, the table has no such dataset.
            return Ok(Built::default());
        };
        let gaps = gaps::gaps(&rows, self.attack);
        let key = &derivation.derived;
        let dataset_report = DatasetReport {
            dataset: report.dataset.clone(),
            key: report.key.clone(),
            derived_from: Some(report.derived_from.clone()),
            gaps: self
                .attack
                .covers(&key.attack_version, &key.domain)
                .then_some(gaps.len()),
            techniques: TechniqueStatuses::of(rows.iter()),
            counts: dedupe::DedupeCounts {
                source_rows: official.report.counts.source_rows,
                mappings: rows.len(),
                non_mappable: rows.iter().filter(|r| r.is_non_mappable()).count(),
                ..dedupe::DedupeCounts::default()
            },
            ..official.report
        };
        Ok(Built {
            dataset: Some(BuiltDataset {
                report: dataset_report,
                rows,
                gaps,
                derived: Some((index, report, review)),
            }),
            ..Built::default()
        })
    }

    /// The rows of `key` from its best kind of source, its mapping files read now (noted in `tally`)
    /// and the other inputs' rows of it taken from the first pass.
    fn selection(&self, key: &DatasetKey, tally: &mut Tally) -> Result<select::SourceSelection> {
        let plan = self.plan;
        let mut parts: Vec<InputPart> = plan.parts.get(key).cloned().unwrap_or_default();
        for &index in plan.deferred.get(key).map(Vec::as_slice).unwrap_or_default() {
            let file = &plan.files[index];
            let read_ahead = plan
                .read_ahead
                .lock()
                .expect("no thread panics holding it")
                .remove(&index);
            let read = match read_ahead {
                Some(read) => read,
                None => sources::read_one(&file.path, &file.name, &sources::NothingSuperseded),
            };
            let outcome = match read? {
                Outcome::AttackBundle(_) => {
                    Outcome::Skipped("an ATT&CK bundle that also reads as a mapping file: taken as neither".into())
                }
                outcome => outcome,
            };
            self.progress.inc(1);
            if let Some(parsed) = tally.outcome(index, &file.name, outcome) {
                parts.push(InputPart {
                    input: index,
                    kind: parsed.kind,
                    cut: parsed.cut,
                    rows: parsed.rows,
                    superseded: parsed.superseded,
                });
            }
        }
        parts.sort_by_key(|part| part.input);
        let inputs = parts
            .into_iter()
            .map(|part| select::InputRows {
                source: &plan.files[part.input].name,
                kind: part.kind,
                cut: part.cut,
                rows: part.rows,
                superseded: part.superseded,
            })
            .collect();
        Ok(select::select(inputs))
    }
}
