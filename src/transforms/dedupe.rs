//! Collapses repeats: rows with the same grain key become one row that remembers how many there were.
//!
//! Distinct non-empty comments are all kept in source order, references are united, a differing score
//! value keeps the highest (counted as a conflict, with every value kept in `score_values`). The
//! result is sorted by grain key.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::model::{DatasetKey, GrainKey, MappingRow};
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

struct Group {
    merged: MappingRow,
    /// Fingerprints of the source records collapsed so far.
    fingerprints: Vec<u64>,
    conflict: bool,
}

pub fn dedupe(rows: Vec<MappingRow>) -> Deduplicated {
    let mut counts: BTreeMap<DatasetKey, DedupeCounts> = BTreeMap::new();
    // Each mapping's group once, in a vector sized for the worst case; the map only finds a key's.
    let mut groups: Vec<Group> = Vec::with_capacity(rows.len());
    let mut index: HashMap<GrainKey, usize> = HashMap::with_capacity(rows.len());
    for mut row in rows {
        row.score_values = row.score_value.iter().cloned().collect();
        let key = row.grain_key();
        let dataset_counts = match counts.get_mut(&key.dataset) {
            Some(dataset_counts) => dataset_counts,
            None => counts.entry(key.dataset.clone()).or_default(),
        };
        dataset_counts.source_rows += 1;
        match index.get(&key) {
            None => {
                index.insert(key, groups.len());
                groups.push(Group {
                    fingerprints: vec![row.source_fingerprint],
                    merged: row,
                    conflict: false,
                });
            }
            Some(&at) => {
                let group = &mut groups[at];
                dataset_counts.repeats_collapsed += 1;
                if group.fingerprints.contains(&row.source_fingerprint) {
                    dataset_counts.exact_duplicates += 1;
                } else {
                    dataset_counts.differing_repeats += 1;
                }
                if row.score_value.is_some()
                    && group.merged.score_value.is_some()
                    && row.score_value != group.merged.score_value
                {
                    group.conflict = true;
                }
                merge(&mut group.merged, &row);
                group.fingerprints.push(row.source_fingerprint);
            }
        }
    }

    let mut keyed: Vec<(GrainKey, usize)> = index.into_iter().collect();
    keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut groups: Vec<Option<Group>> = groups.into_iter().map(Some).collect();
    let mut out = Vec::with_capacity(keyed.len());
    for (key, at) in keyed {
        let group = groups[at].take().expect("each group is taken once");
        let dataset_counts = counts.get_mut(&key.dataset).expect("counted above");
        dataset_counts.mappings += 1;
        if group.conflict {
            dataset_counts.score_conflicts += 1;
            dataset_counts.score_conflict_ids.push(key.mapping_id());
        }
        dataset_counts.non_mappable += usize::from(group.merged.is_non_mappable());
        out.push(group.merged);
    }
    Deduplicated { rows: out, counts }
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
    let fill = |field: &mut Option<String>, from: &Option<String>| {
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
        assert_eq!(b.comments, vec!["first", "second"]);
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
