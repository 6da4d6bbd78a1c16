//! Collapses repeats: rows with the same grain key become one row that remembers how many there were.
//!
//! Distinct non-empty comments are all kept in source order, references are united, a differing score
//! value keeps the highest (counted as a conflict, with every value kept in `score_values`). The
//! result is sorted by grain key.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{DatasetKey, GrainKey, MappingRow, Text};
use crate::transforms::normalize::score_rank;

/// What deduplication did to one dataset.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DedupeCounts {
    pub source_rows: usize,
    pub mappings: usize,
    pub repeats_collapsed: usize,
    /// Repeats whose source record is exactly an earlier one of their group (every field as written).
    pub exact_duplicates: usize,
    /// Repeats that differ from every earlier row of their group (in comments, score value, …).
    pub differing_repeats: usize,
    /// Mappings whose repeats disagreed on the score value (the highest was kept, every value is in
    /// `score_values`).
    pub score_conflicts: usize,
    /// The `mapping_id`s of those mappings.
    pub score_conflict_ids: Vec<String>,
    /// Rows of the table that map nothing (no capability or no technique), kept and marked.
    pub non_mappable: usize,
}

pub struct Deduplicated {
    pub rows: Vec<MappingRow>,
    pub counts: BTreeMap<DatasetKey, DedupeCounts>,
}

/// Collapses the repeats of `rows`, in place: a stable sort by grain key puts each mapping's rows
/// side by side in input order, and each is merged into the first of its run. No index, no second
/// table: the memory of the rows and the sort's buffer.
pub fn dedupe(mut rows: Vec<MappingRow>) -> Deduplicated {
    let mut counts: BTreeMap<DatasetKey, DedupeCounts> = BTreeMap::new();
    for row in &mut rows {
        row.score_values = row.score_value.iter().cloned().collect();
    }
    rows.sort_by(MappingRow::grain_cmp);
    for run in rows.chunk_by(|a, b| a.dataset_cmp(b).is_eq()) {
        counts.entry(run[0].dataset()).or_default().source_rows += run.len();
    }
    // What is known of the mapping being collapsed: its source records' fingerprints, and whether
    // its repeats disagree on the score.
    let mut fingerprints: Vec<u64> = rows.first().map(|r| r.source_fingerprint).into_iter().collect();
    let mut conflicts: Vec<(DatasetKey, GrainKey)> = Vec::new();
    let mut conflict = false;
    let mut repeats: BTreeMap<DatasetKey, (usize, usize)> = BTreeMap::new();
    rows.dedup_by(|repeat, first| {
        if repeat.grain_cmp(first).is_ne() {
            if std::mem::take(&mut conflict) {
                conflicts.push((first.dataset(), first.grain_key()));
            }
            fingerprints.clear();
            fingerprints.push(repeat.source_fingerprint);
            return false;
        }
        let (exact, differing) = match repeats.get_mut(&first.dataset()) {
            Some(counted) => counted,
            None => repeats.entry(first.dataset()).or_default(),
        };
        if fingerprints.contains(&repeat.source_fingerprint) {
            *exact += 1;
        } else {
            *differing += 1;
        }
        if repeat.score_value.is_some() && first.score_value.is_some() && repeat.score_value != first.score_value {
            conflict = true;
        }
        merge(first, repeat);
        fingerprints.push(repeat.source_fingerprint);
        true
    });
    if conflict {
        let last = rows.last().expect("a conflict needs rows");
        conflicts.push((last.dataset(), last.grain_key()));
    }
    for (dataset, (exact, differing)) in repeats {
        let dataset_counts = counts.get_mut(&dataset).expect("counted above");
        dataset_counts.exact_duplicates = exact;
        dataset_counts.differing_repeats = differing;
        dataset_counts.repeats_collapsed = exact + differing;
    }
    for (dataset, key) in conflicts {
        let dataset_counts = counts.get_mut(&dataset).expect("counted above");
        dataset_counts.score_conflicts += 1;
        dataset_counts.score_conflict_ids.push(key.mapping_id());
    }
    for run in rows.chunk_by(|a, b| a.dataset_cmp(b).is_eq()) {
        let dataset_counts = counts.get_mut(&run[0].dataset()).expect("counted above");
        dataset_counts.mappings += run.len();
        dataset_counts.non_mappable += run.iter().filter(|r| r.is_non_mappable()).count();
    }
    rows.shrink_to_fit();
    Deduplicated { rows, counts }
}

fn merge(into: &mut MappingRow, repeat: &MappingRow) {
    into.occurrences += repeat.occurrences;
    for comment in &repeat.comments {
        if !into.comments.contains(comment) {
            into.comments.push(comment.clone());
        }
    }
    for reference in &repeat.references {
        if !into.references.contains(reference) {
            into.references.push(reference.clone());
        }
    }
    for value in &repeat.score_values {
        if !into.score_values.contains(value) {
            into.score_values.push(value.clone());
        }
    }
    if score_rank(repeat.score_value.as_deref()) > score_rank(into.score_value.as_deref()) {
        into.score_value = repeat.score_value.clone();
    }
    let fill = |field: &mut Option<Text>, from: &Option<Text>| {
        if field.is_none() {
            field.clone_from(from);
        }
    };
    fill(&mut into.capability_description, &repeat.capability_description);
    fill(&mut into.capability_group, &repeat.capability_group);
    fill(&mut into.capability_group_name, &repeat.capability_group_name);
    fill(&mut into.mapping_type_label, &repeat.mapping_type_label);
    fill(&mut into.attack_object_name, &repeat.attack_object_name);
    fill(&mut into.related_score, &repeat.related_score);
    fill(&mut into.status, &repeat.status);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::MappingRowBuilder;

    /// An AWS capability's protect score on T1562, as a mapping file states it.
    fn protects(capability: &str, score: &str) -> MappingRowBuilder {
        MappingRowBuilder::new("aws", "12.12.2024")
            .capability(capability)
            .technique("T1562")
            .mapping_type("technique_scores")
            .score("protect", score)
            .reference(&format!("https://example.org/{capability}"))
            .source("a.json")
    }

    #[test]
    fn repeats_collapse_keeping_comments_and_the_highest_score() {
        let rows = vec![
            protects("b", "minimal").comment("first").build(),
            protects("a", "partial").build(),
            protects("b", "minimal").comment("first").build(),
            protects("b", "significant").comment("second").build(),
        ];
        let result = dedupe(rows);
        assert_eq!(result.rows.len(), 2);
        assert_eq!(result.rows[0].capability_id.as_deref(), Some("a"));
        let b = &result.rows[1];
        assert_eq!(b.occurrences, 3);
        assert_eq!(b.comments.iter().map(|c| &**c).collect::<Vec<_>>(), ["first", "second"]);
        assert_eq!(b.score_value.as_deref(), Some("significant"));
        assert_eq!(b.references.len(), 1);
        let counts = result.counts.values().next().unwrap();
        assert_eq!(
            (
                counts.source_rows,
                counts.mappings,
                counts.exact_duplicates,
                counts.differing_repeats,
                counts.score_conflicts
            ),
            (4, 2, 1, 1, 1)
        );
    }
}
