//! The Navigator sink a dataset at a time: [`Writer`] writes each dataset's layers (and what `also`
//! makes of them: their heatmaps) as it is given, and keeps between datasets only what the layers
//! across frameworks need of it ([`Summary`]: a count per technique).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rayon::prelude::*;

use super::across::{Across, Summary};
use super::{dataset_layer, review, score_layer, Layer, LayerCounts};
use crate::error::Result;
use crate::frameworks::{self, FrameworkKind};
use crate::model::{DatasetKey, Interner, MappingRow};
use crate::sinks::write_json;
use crate::transforms::carry::ReviewTechnique;

/// What is made of each layer as it is written: its file name and document in, anything out (the
/// build draws its heatmap).
pub type Also<'a, T> = &'a (dyn Fn(&str, &Layer) -> Result<T> + Sync);

/// Writes into `dir` the layers of each dataset it is given ([`Writer::add_dataset`], from any
/// number of threads at once, in any order), and at the end ([`Writer::finish`]) the review layers
/// and, per ATT&CK version and domain, the layers across frameworks. The files and the result do not
/// depend on the order the datasets come in.
pub struct Writer<'a, T> {
    dir: PathBuf,
    also: Also<'a, T>,
    written: Mutex<Vec<(LayerCounts, T)>>,
    across: Mutex<BTreeMap<DatasetKey, Summary>>,
    /// The technique ids of the summaries, each held once.
    technique_ids: Mutex<Interner>,
}

impl<'a, T: Send> Writer<'a, T> {
    /// A writer into `dir` (which exists), calling `also` with each layer it writes.
    pub fn new(dir: &Path, also: Also<'a, T>) -> Writer<'a, T> {
        Writer {
            dir: dir.to_path_buf(),
            also,
            written: Mutex::new(Vec::new()),
            across: Mutex::new(BTreeMap::new()),
            technique_ids: Mutex::new(Interner::default()),
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
        let summary = Summary::of(rows, &self.technique_ids);
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
        // Each layer across frameworks (and its heatmap) on a core of its own.
        let layers: Vec<_> = by_attack
            .iter()
            .flat_map(|(attack, datasets)| {
                [Across::AnyFramework, Across::Coverage].map(|across| (attack, datasets, across))
            })
            .collect();
        let across = layers
            .into_par_iter()
            .filter_map(|(&(attack_version, domain), datasets, across)| {
                let (layer, counts) = across.layer(attack_version, domain, datasets)?;
                Some(write(
                    &self.dir,
                    across.file(attack_version, domain),
                    &layer,
                    counts,
                    self.also,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        written.extend(across);
        written.sort_by(|a, b| a.0.file.cmp(&b.0.file));
        Ok(written)
    }

    fn write(&self, file: String, layer: &Layer, counts: LayerCounts) -> Result<(LayerCounts, T)> {
        write(&self.dir, file, layer, counts, self.also)
    }
}

fn write<T>(
    dir: &Path,
    file: String,
    layer: &Layer,
    mut counts: LayerCounts,
    also: Also<'_, T>,
) -> Result<(LayerCounts, T)> {
    write_json(&crate::identifiers::file_in(dir, &file)?, layer)?;
    let made = also(&file, layer)?;
    counts.file = file;
    Ok((counts, made))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::by_dataset;
    use crate::model::{Carry, CarryKind, TechniqueStatus};
    use crate::test_support::{files, MappingRowBuilder};

    /// The oracle of the tests: writes every layer into `dir`, datasets in parallel, and the review layer of each derived
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

    /// Datasets of two ATT&CK versions, in table order: a control framework with a technique
    /// Navigator cannot place, a security stack with scores, threat context, and a derived dataset.
    fn rows() -> Vec<MappingRow> {
        let control = |framework_version: &str, capability: &str, technique: &str| {
            MappingRowBuilder::new("nist_800_53", framework_version)
                .capability(capability)
                .technique(technique)
                .mapping_type("mitigates")
                .build()
        };
        let mut revoked = control("rev5", "AC-04", "T1086");
        revoked.technique_status = Some(TechniqueStatus::Revoked {
            by: Some("T1059.001".into()),
        });
        let mut derived = control("rev5", "AC-02", "T1562");
        derived.attack_version = "18.1".into();
        derived.carry = Some(Box::new(Carry {
            kind: CarryKind::Unchanged,
            derived_from: "16.1".into(),
            original_technique: Some("T1562".into()),
            attack_changes: Vec::new(),
        }));
        let scored = MappingRowBuilder::aws_score;
        let mut rows = vec![
            control("rev5", "AC-02", "T1562"),
            control("rev5", "AC-03", "T1562"),
            control("rev5", "SI-04", "T1059"),
            MappingRowBuilder::new("nist_800_53", "rev5")
                .capability("PM-01")
                .build(),
            revoked,
            derived,
            scored("guardduty", "T1562", "detect", "partial"),
            scored("config", "T1059", "protect", "significant"),
            MappingRowBuilder::new("kev", "07.28.2025")
                .capability("CVE-2024-3400")
                .technique("T1190")
                .mapping_type("exploitation_technique")
                .build(),
        ];
        rows.sort_by(MappingRow::grain_cmp);
        rows
    }

    /// The review list of the derived dataset.
    fn review(rows: &[MappingRow]) -> Vec<ReviewTechnique> {
        let derived = rows.iter().find(|row| row.carry.is_some()).unwrap();
        vec![ReviewTechnique {
            dataset: derived.dataset(),
            derived_from: "16.1".into(),
            technique_id: "T1678".into(),
            technique_name: "Delay Execution".into(),
            tactics: vec!["defense-evasion".into()],
        }]
    }

    /// What the build makes of a layer in place of a heatmap: something of its document.
    fn named(file: &str, layer: &Layer) -> Result<String> {
        Ok(format!("{file}: {}", layer.name))
    }

    fn datasets(rows: &[MappingRow]) -> Vec<(DatasetKey, Vec<&MappingRow>)> {
        by_dataset(rows).into_iter().collect()
    }

    #[test]
    fn datasets_given_in_any_order_or_from_threads_give_the_layers_of_write_all() {
        let rows = rows();
        let review = review(&rows);
        let also: Also<String> = &named;
        let whole = tempfile::tempdir().unwrap();
        let expected = write_all(&rows, &review, whole.path(), also).unwrap();
        let expected_files = files(whole.path());
        let written: Vec<&str> = expected.iter().map(|(counts, _)| counts.file.as_str()).collect();
        assert_eq!(
            written,
            [
                "all-frameworks_attack-16.1-enterprise.json",
                "all-frameworks_attack-18.1-enterprise.json",
                "aws-12.12.2024_attack-16.1-enterprise.json",
                "aws-12.12.2024_attack-16.1-enterprise_scores.json",
                "coverage_attack-16.1-enterprise.json",
                "coverage_attack-18.1-enterprise.json",
                "kev-07.28.2025_attack-16.1-enterprise.json",
                "nist_800_53-rev5_attack-16.1-enterprise.json",
                "nist_800_53-rev5_attack-18.1-enterprise.json",
                "nist_800_53-rev5_attack-18.1-enterprise_review.json",
            ],
            "every layer, in file order"
        );
        assert_eq!(expected_files.len(), written.len());
        let (all_frameworks, made) = &expected[0];
        assert_eq!(
            (all_frameworks.techniques, all_frameworks.max_score),
            (3, 2),
            "T1059, T1190, T1562"
        );
        assert_eq!(all_frameworks.left_out, ["T1086"]);
        assert_eq!(all_frameworks.non_mappable_rows, 1);
        assert!(
            made.starts_with("all-frameworks_attack-16.1-enterprise.json: "),
            "{made}"
        );

        let reversed = tempfile::tempdir().unwrap();
        let writer = Writer::new(reversed.path(), also);
        for (dataset, dataset_rows) in datasets(&rows).iter().rev() {
            writer.add_dataset(dataset, dataset_rows).unwrap();
        }
        assert_eq!(writer.finish(&review).unwrap(), expected, "given last dataset first");
        assert!(
            files(reversed.path()) == expected_files,
            "the same bytes given last dataset first"
        );

        let threaded = tempfile::tempdir().unwrap();
        let writer = Writer::new(threaded.path(), also);
        let datasets = datasets(&rows);
        std::thread::scope(|scope| {
            for (dataset, dataset_rows) in datasets.iter().rev() {
                let writer = &writer;
                scope.spawn(move || writer.add_dataset(dataset, dataset_rows).unwrap());
            }
        });
        assert_eq!(writer.finish(&review).unwrap(), expected, "given from threads");
        assert!(
            files(threaded.path()) == expected_files,
            "the same bytes given from threads"
        );
    }
}
