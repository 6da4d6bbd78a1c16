//! Makes a build's datasets a window at a time, handing each to the sinks as it is made, and
//! completes the report from what each dataset and input came to.

use super::datasets::{BuiltDataset, Datasets, Unit};
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
        let mut totals = Totals::default();
        let mut reports: Vec<DatasetReport> = Vec::new();
        let mut derived: Vec<(usize, DerivedReport)> = Vec::new();
        let mut review: Vec<(usize, Vec<ReviewTechnique>)> = Vec::new();
        in_order(
            &units,
            4 * rayon::current_num_threads(),
            &|unit: &Unit| datasets.weight(*unit),
            &|unit: &Unit| {
                let built = datasets.build(*unit)?;
                let written = built.dataset.as_ref().map(write).transpose()?;
                Ok((built, written))
            },
            |(built, written)| {
                tally.merge(built.tally);
                totals.unselected_rows += built.unselected_rows;
                let (Some(mut dataset), Some(written)) = (built.dataset, written) else {
                    return Ok(());
                };
                match dataset.derived.take() {
                    Some((index, report, list)) => {
                        derived.push((index, report));
                        review.push((index, list));
                    }
                    None => totals.add(&dataset.report),
                }
                reports.push(dataset.report.clone());
                append(dataset, written)
            },
        )?;

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

/// Runs `make` on every item on the worker pool, at most `window` items ahead of the first not yet
/// taken, and hands each result to `take` on this thread in the items' order as soon as it and all
/// before it are made: no item waits for a slower batch, and memory holds at most `window` results.
/// Of the items the window lets start, the heaviest (by `weight`) start first, so that the largest
/// dataset is not left to one core at the end.
/// The first error in the items' order stops it (the items in flight are made, and dropped); a panic
/// in `make` is raised again here.
fn in_order<I: Sync, R: Send>(
    items: &[I],
    window: usize,
    weight: &dyn Fn(&I) -> usize,
    make: &(dyn Fn(&I) -> Result<R> + Sync),
    mut take: impl FnMut(R) -> Result<()>,
) -> Result<()> {
    type Made<R> = std::thread::Result<Result<R>>;
    let (done, made) = std::sync::mpsc::channel::<(usize, Made<R>)>();
    // FIFO: the items start in the order they are spawned, from this thread or from a worker's.
    rayon::in_place_scope_fifo(|scope| {
        let mut waiting: std::collections::BTreeMap<usize, Made<R>> = std::collections::BTreeMap::new();
        let (mut started, mut taken) = (0, 0);
        while taken < items.len() {
            let mut startable: Vec<usize> = (started..items.len().min(taken + window.max(1))).collect();
            startable.sort_by_key(|&index| std::cmp::Reverse(weight(&items[index])));
            for index in startable {
                let (item, done) = (&items[index], done.clone());
                scope.spawn_fifo(move |_| {
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| make(item)));
                    let _ = done.send((index, result));
                });
                started += 1;
            }
            let (index, result) = next_made(&made);
            waiting.insert(index, result);
            while let Some(result) = waiting.remove(&taken) {
                taken += 1;
                take(result.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?)?;
            }
        }
        Ok(())
    })
}

/// The next result made: waited for, or, on a thread of the worker pool (which must not block while
/// the items wait in its queue), made in the meantime.
fn next_made<T>(made: &std::sync::mpsc::Receiver<T>) -> T {
    loop {
        if let Ok(result) = made.try_recv() {
            return result;
        }
        match rayon::yield_now() {
            None => return made.recv().expect("every started item sends its result"),
            Some(rayon::Yield::Executed) => {}
            Some(rayon::Yield::Idle) => std::thread::yield_now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use super::*;
    use crate::error::Error;

    fn failure(item: usize) -> Error {
        Error::EmptyInput {
            path: format!("item {item}").into(),
        }
    }

    #[test]
    fn results_are_taken_in_the_items_order_however_they_finish() {
        let items: Vec<usize> = (0..24).collect();
        let mut taken = Vec::new();
        let slow_first = |&item: &usize| {
            std::thread::sleep(std::time::Duration::from_micros(((24 - item) * 200) as u64));
            Ok(item * 10)
        };
        in_order(&items, 5, &|_| 1, &slow_first, |result| {
            taken.push(result);
            Ok(())
        })
        .unwrap();
        assert_eq!(taken, items.iter().map(|i| i * 10).collect::<Vec<_>>());
    }

    #[test]
    fn no_more_than_a_window_of_items_is_made_and_not_yet_taken() {
        let (held, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let items: Vec<usize> = (0..40).collect();
        let make = |&item: &usize| {
            let now = held.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            Ok(item)
        };
        in_order(&items, 3, &|item| *item, &make, |_| {
            held.fetch_sub(1, Ordering::SeqCst);
            Ok(())
        })
        .unwrap();
        assert!(most.load(Ordering::SeqCst) <= 3, "at most 3 held at once");
    }

    #[test]
    fn the_first_error_in_the_items_order_is_told_and_nothing_after_it_is_taken() {
        let items: Vec<usize> = (0..10).collect();
        let mut taken = Vec::new();
        let make = |&item: &usize| {
            if item == 4 || item == 7 {
                Err(failure(item))
            } else {
                Ok(item)
            }
        };
        let told = in_order(&items, 8, &|_| 1, &make, |item| {
            taken.push(item);
            Ok(())
        })
        .unwrap_err();
        assert_eq!(told.to_string(), failure(4).to_string());
        assert_eq!(taken, vec![0, 1, 2, 3]);
    }

    #[test]
    fn the_heaviest_of_the_items_a_window_lets_start_start_first_even_within_the_pool() {
        // One worker, and in_order itself called on it: it must not wait on its own queue.
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let weights = [3, 9, 1, 7, 5];
        let started = Mutex::new(Vec::new());
        let mut taken = Vec::new();
        pool.install(|| {
            let make = |&weight: &usize| {
                started.lock().unwrap().push(weight);
                Ok(weight)
            };
            in_order(&weights, weights.len(), &|weight| *weight, &make, |weight| {
                taken.push(weight);
                Ok(())
            })
        })
        .unwrap();
        assert_eq!(started.into_inner().unwrap(), vec![9, 7, 5, 3, 1]);
        assert_eq!(taken, weights.to_vec(), "taken in the items' order");
    }

    #[test]
    fn a_panic_while_making_an_item_is_raised_again() {
        let items: Vec<usize> = (0..6).collect();
        let raised = std::panic::catch_unwind(|| {
            let make = |&item: &usize| -> Result<usize> {
                assert_ne!(item, 2, "item 2 panics");
                Ok(item)
            };
            in_order(&items, 4, &|_| 1, &make, |_| Ok(()))
        });
        assert!(raised.is_err());
    }
}
