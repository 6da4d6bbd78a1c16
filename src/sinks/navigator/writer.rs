//! The Navigator sink a dataset at a time: [`Writer`] writes each dataset's layers (and what `also`
//! makes of them: their heatmaps) as it is given, and keeps between datasets only what the layers
//! across frameworks need of it ([`Summary`]: a count per technique); [`write_all`] is the whole
//! table through it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rayon::prelude::*;
use serde_json::Value;

use super::across::{Across, Summary};
use super::{dataset_layer, review, score_layer, LayerCounts};
use crate::error::Result;
use crate::frameworks::{self, FrameworkKind};
use crate::model::{by_dataset, DatasetKey, MappingRow};
use crate::sinks::write_json;
use crate::transforms::carry::ReviewTechnique;

/// What is made of each layer as it is written: its file name and document in, anything out (the
/// build draws its heatmap).
pub type Also<'a, T> = &'a (dyn Fn(&str, &Value) -> Result<T> + Sync);

/// Writes into `dir` the layers of each dataset it is given ([`Writer::add_dataset`], from any
/// number of threads at once, in any order), and at the end ([`Writer::finish`]) the review layers
/// and, per ATT&CK version and domain, the layers across frameworks. The files and the result do not
/// depend on the order the datasets come in.
pub struct Writer<'a, T> {
    dir: PathBuf,
    also: Also<'a, T>,
    written: Mutex<Vec<(LayerCounts, T)>>,
    across: Mutex<BTreeMap<DatasetKey, Summary>>,
}

impl<'a, T: Send> Writer<'a, T> {
    /// A writer into `dir` (which exists), calling `also` with each layer it writes.
    pub fn new(dir: &Path, also: Also<'a, T>) -> Writer<'a, T> {
        Writer {
            dir: dir.to_path_buf(),
            also,
            written: Mutex::new(Vec::new()),
            across: Mutex::new(BTreeMap::new()),
        }
    }

    /// Writes the layer of `dataset` (`rows`: all its rows, in table order) and, for a security
    /// stack with scores, its score layer.
    ///
    /// # Panics
    /// When `dataset` was given before: its layers would be written twice.
    pub fn add_dataset(&self, dataset: &DatasetKey, rows: &[&MappingRow]) -> Result<()> {
        let (layer, counts) = dataset_layer(dataset, rows);
        let mut written = vec![self.write(format!("{dataset}.json"), &layer, counts)?];
        if frameworks::kind(&dataset.framework) == FrameworkKind::SecurityStack {
            if let Some((layer, counts)) = score_layer(dataset, rows) {
                written.push(self.write(format!("{dataset}_scores.json"), &layer, counts)?);
            }
        }
        let summary = Summary::of(rows);
        let earlier = self
            .across
            .lock()
            .expect("no thread panics holding the summaries")
            .insert(dataset.clone(), summary);
        assert!(earlier.is_none(), "the layers of {dataset} are written once");
        self.written
            .lock()
            .expect("no thread panics holding the counts")
            .extend(written);
        Ok(())
    }

    /// Writes the review layer of each derived dataset (`review`: `--carry-to`'s review list) and
    /// the layers across frameworks; returns every layer's counts in file order, each with what
    /// `also` made of it.
    pub fn finish(self, review: &[ReviewTechnique]) -> Result<Vec<(LayerCounts, T)>> {
        let mut written = self.written.into_inner().expect("no thread panics holding the counts");
        for (file, layer, counts) in review::review_layers(review) {
            written.push(write(&self.dir, file, &layer, counts, self.also)?);
        }
        let summaries = self
            .across
            .into_inner()
            .expect("no thread panics holding the summaries");
        let mut by_attack: BTreeMap<(&str, &str), Vec<(&DatasetKey, &Summary)>> = BTreeMap::new();
        for (dataset, summary) in &summaries {
            by_attack
                .entry((&dataset.attack_version, &dataset.domain))
                .or_default()
                .push((dataset, summary));
        }
        for ((attack_version, domain), datasets) in by_attack {
            for across in [Across::AnyFramework, Across::Coverage] {
                if let Some((layer, counts)) = across.layer(attack_version, domain, &datasets) {
                    written.push(write(
                        &self.dir,
                        across.file(attack_version, domain),
                        &layer,
                        counts,
                        self.also,
                    )?);
                }
            }
        }
        written.sort_by(|a, b| a.0.file.cmp(&b.0.file));
        Ok(written)
    }

    fn write(&self, file: String, layer: &Value, counts: LayerCounts) -> Result<(LayerCounts, T)> {
        write(&self.dir, file, layer, counts, self.also)
    }
}

/// Writes every layer into `dir`, datasets in parallel, and the review layer of each derived
/// dataset (`review`: `--carry-to`'s review list); counts in file order, each with what `also` made
/// of the layer (its file name and document) as it was written: its heatmap.
pub fn write_all<T: Send>(
    rows: &[MappingRow],
    review: &[ReviewTechnique],
    dir: &Path,
    also: Also<'_, T>,
) -> Result<Vec<(LayerCounts, T)>> {
    let datasets: Vec<(DatasetKey, Vec<&MappingRow>)> = by_dataset(rows).into_iter().collect();
    let writer = Writer::new(dir, also);
    datasets
        .par_iter()
        .try_for_each(|(dataset, dataset_rows)| writer.add_dataset(dataset, dataset_rows))?;
    writer.finish(review)
}

fn write<T>(
    dir: &Path,
    file: String,
    layer: &Value,
    mut counts: LayerCounts,
    also: Also<'_, T>,
) -> Result<(LayerCounts, T)> {
    write_json(&crate::identifiers::file_in(dir, &file)?, layer)?;
    let made = also(&file, layer)?;
    counts.file = file;
    Ok((counts, made))
}
