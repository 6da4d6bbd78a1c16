//! The layers of `--carry-to`: how a derived dataset's layer says it is derived, and its review
//! layer (`<dataset>_review.json`): the live techniques of the target release that did not exist in
//! the release it was derived from.

use std::collections::BTreeMap;

use super::document::{finish, named, Header, Layer, TechniqueEntry};
use super::{technique_entry, LayerCounts};
use crate::model::DatasetKey;
use crate::transforms::carry::ReviewTechnique;

/// The words a derived dataset's layer adds to its name and description.
pub fn mark_derived(header: &mut Header, from: &str) {
    header.name.push_str(&format!(" (derived from {from})"));
    header.description = format!(
        "DERIVED, not an official mapping: carried by attackmap (--carry-to) from the official mapping to ATT&CK {from}; techniques revoked since are replaced by the live technique ATT&CK names, deprecated and revoked ones without a replacement are left out. {}",
        header.description
    );
    header.metadata.push(named("derived from ATT&CK", from));
}

/// The review layer of each derived dataset, by dataset.
pub fn review_layers(review: &[ReviewTechnique]) -> Vec<(String, Layer, LayerCounts)> {
    let mut by_dataset: BTreeMap<&DatasetKey, Vec<&ReviewTechnique>> = BTreeMap::new();
    for technique in review {
        by_dataset.entry(&technique.dataset).or_default().push(technique);
    }
    by_dataset
        .into_iter()
        .map(|(dataset, techniques)| {
            let from = &techniques[0].derived_from;
            let entries: Vec<TechniqueEntry> = techniques
                .iter()
                .map(|t| {
                    technique_entry(
                        dataset,
                        &t.technique_id,
                        1,
                        format!(
                            "{}: new since ATT&CK {from}, so the official mapping could not map it; review it",
                            t.technique_name
                        ),
                        vec![named("tactics", &t.tactics.join(", "))],
                    )
                })
                .collect();
            let mut header = Header::of_dataset(
                dataset,
                " review",
                &format!(
                    "could not have mapped: the live techniques of ATT&CK {} that did not exist in ATT&CK {from}, which the official mapping is made for. A maintainer reviews each one (review.csv lists them).",
                    dataset.attack_version
                ),
            );
            mark_derived(&mut header, from);
            let (layer, counts) = finish(header, entries, "technique", 0, &BTreeMap::new());
            (format!("{dataset}_review.json"), layer, counts)
        })
        .collect()
}
