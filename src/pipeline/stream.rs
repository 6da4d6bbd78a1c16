//! Makes a build's datasets a window at a time, handing each to the sinks as it is made, and
//! completes the report from what each dataset and input came to.

use rayon::prelude::*;

use super::datasets::{BuiltDataset, Datasets};
use super::Build;
use crate::error::Result;
use crate::sinks::report::{DatasetReport, InputCounts, Totals};
use crate::sources::attack_stix::AttackCatalog;
use crate::transforms::carry::{CarryReport, DerivedReport, ReviewTechnique};

impl Build {
    /// Makes every dataset, several at once: `write` gets each as soon as it is made (on the thread
    /// that made it), then `append` gets each with what `write` gave, in the table's order. Memory
    /// holds a window of datasets, never every row. Completes `report` and `review`.
    pub(super) fn make_datasets<T: Send>(
        &mut self,
        attack: &AttackCatalog,
        write: &(dyn Fn(&BuiltDataset) -> Result<T> + Sync),
        mut append: impl FnMut(BuiltDataset, T) -> Result<()>,
    ) -> Result<()> {
        let mut tally = std::mem::take(&mut self.plan.tally);
        let datasets = Datasets {
            plan: &self.plan,
            chosen: &self.chosen,
            attack,
            carry: self.carry.as_ref().and_then(Option::as_ref),
            progress: &self.progress,
        };
        let units = datasets.units();
        let window = 4 * rayon::current_num_threads();
        let mut totals = Totals::default();
        let mut reports: Vec<DatasetReport> = Vec::new();
        let mut derived: Vec<(usize, DerivedReport)> = Vec::new();
        let mut review: Vec<(usize, Vec<ReviewTechnique>)> = Vec::new();
        for units in units.chunks(window) {
            let built = units
                .par_iter()
                .map(|unit| {
                    let built = datasets.build(*unit)?;
                    let written = built.dataset.as_ref().map(write).transpose()?;
                    Ok((built, written))
                })
                .collect::<Result<Vec<_>>>()?;
            for (built, written) in built {
                tally.merge(built.tally);
                totals.unselected_rows += built.unselected_rows;
                let (Some(mut dataset), Some(written)) = (built.dataset, written) else {
                    continue;
                };
                match dataset.derived.take() {
                    Some((index, report, list)) => {
                        derived.push((index, report));
                        review.push((index, list));
                    }
                    None => totals.add(&dataset.report),
                }
                reports.push(dataset.report.clone());
                append(dataset, written)?;
            }
        }

        let tally = tally.in_input_order();
        let files = self.plan.files.len();
        let skipped = |entries: Vec<(usize, crate::sinks::report::SkippedInput)>| {
            entries.into_iter().map(|(_, entry)| entry).collect::<Vec<_>>()
        };
        let report = &mut self.report;
        report.inputs = InputCounts {
            files,
            read: files - tally.skipped.len() - tally.without_mappings.len() - tally.not_inputs.len(),
            skipped: tally.skipped.len(),
            by_kind: tally.by_kind,
            attack_bundles: self.plan.attack_bundles,
            not_inputs: tally.not_inputs_by_kind,
        };
        report.rejected = tally.rejected.into_iter().flat_map(|(_, rows)| rows).collect();
        totals.rows_read = tally.rows_read;
        totals.rejected_rows = report.rejected.iter().map(|r| r.rows).sum();
        totals.superseded_rows = totals.rows_read - totals.source_rows - totals.unselected_rows;
        report.totals = totals;
        report.skipped = skipped(tally.skipped);
        report.without_mappings = skipped(tally.without_mappings);
        report.not_inputs = skipped(tally.not_inputs);
        reports.sort_by(|a, b| a.key.cmp(&b.key));
        report.datasets = reports;
        derived.sort_by_key(|(index, _)| *index);
        review.sort_by_key(|(index, _)| *index);
        report.carry = self.carry.as_ref().map(|carry| match carry {
            Some((target, plan)) => CarryReport {
                target: Some(target.clone()),
                official_at_target: plan.official_at_target.clone(),
                not_carried: plan.not_carried.clone(),
                derived: derived.into_iter().map(|(_, report)| report).collect(),
            },
            None => CarryReport::default(),
        });
        self.review = review.into_iter().flat_map(|(_, list)| list).collect();
        Ok(())
    }
}

impl Totals {
    /// Adds an official dataset's counts.
    fn add(&mut self, dataset: &DatasetReport) {
        let counts = &dataset.counts;
        self.source_rows += counts.source_rows;
        self.mappings += counts.mappings;
        self.repeats_collapsed += counts.repeats_collapsed;
        self.exact_duplicates += counts.exact_duplicates;
        self.differing_repeats += counts.differing_repeats;
        self.score_conflicts += counts.score_conflicts;
        self.non_mappable += counts.non_mappable;
        self.incomplete_datasets += usize::from(dataset.source.cut.is_some());
    }
}
