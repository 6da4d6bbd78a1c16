//! The review list of a derived dataset: the live techniques of the target release that did not
//! exist in the source release, so the official dataset could not have mapped them
//! (`review.csv`, `warehouse/review/`, a Navigator layer).

use polars::prelude::*;

use super::Release;
use crate::model::DatasetKey;
use crate::table::{
    column, frame_of, string_lists, Column,
    ColumnType::{String as Text, StringList},
};

/// One technique a maintainer must look at for a derived dataset.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReviewTechnique {
    /// The derived dataset.
    pub dataset: DatasetKey,
    /// The ATT&CK version of the official dataset it was derived from.
    pub derived_from: String,
    pub technique_id: String,
    pub technique_name: String,
    pub tactics: Vec<String>,
}

/// The review table's columns (`review.csv`, `warehouse/review/`).
pub const REVIEW_COLUMNS: &[Column] = &[
    column("framework", Text, false, "Framework id of the derived dataset"),
    column("framework_version", Text, false, "Framework version of the derived dataset"),
    column("attack_version", Text, false, "The ATT&CK version carried to"),
    column("domain", Text, false, "ATT&CK domain"),
    column("derived_from", Text, false, "The ATT&CK version of the official dataset it was derived from"),
    column(
        "technique_id",
        Text,
        false,
        "A live technique of the target version that did not exist in derived_from: the official dataset could not have mapped it",
    ),
    column("technique_name", Text, false, "Its name in ATT&CK"),
    column("tactics", StringList, false, "Its tactics (short names)"),
];

/// The review list of `dataset` (derived from `source` onto `target`), by technique id.
pub fn review_list(dataset: &DatasetKey, source: &Release, target: &Release) -> Vec<ReviewTechnique> {
    target
        .live()
        .filter(|(id, _)| source.technique(id).is_none_or(|t| !t.own_domain))
        .map(|(id, technique)| ReviewTechnique {
            dataset: dataset.clone(),
            derived_from: source.version.clone(),
            technique_id: id.to_string(),
            technique_name: technique.name.clone(),
            tactics: technique.tactics.clone(),
        })
        .collect()
}

/// The review table.
pub fn frame(review: &[ReviewTechnique]) -> PolarsResult<DataFrame> {
    let text = |name: &str, get: &dyn Fn(&ReviewTechnique) -> &str| -> Series {
        Series::new(name.into(), review.iter().map(get).collect::<Vec<_>>())
    };
    frame_of(
        REVIEW_COLUMNS,
        vec![
            text("framework", &|r| &r.dataset.framework),
            text("framework_version", &|r| &r.dataset.framework_version),
            text("attack_version", &|r| &r.dataset.attack_version),
            text("domain", &|r| &r.dataset.domain),
            text("derived_from", &|r| &r.derived_from),
            text("technique_id", &|r| &r.technique_id),
            text("technique_name", &|r| &r.technique_name),
            string_lists("tactics", review.iter().map(|r| r.tactics.as_slice()))?,
        ],
    )
}
