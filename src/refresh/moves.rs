//! A framework that moves to a newer ATT&CK release, seen as one move: the retired and the new
//! datasets' mappings matched by capability, technique, mapping type and score category, so that a
//! night says "5,000 carried, 12 added, 3 removed" instead of 5,000 removals and 5,000 additions.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use polars::prelude::*;

use crate::changes::{ChangeKey, Changes, DatasetMove, MoveRole};
use crate::identifiers::compare_attack_versions;
use crate::model::DatasetKey;
use crate::table::{project, Columns};

/// The moves between two tables, and what each did to the mappings it involved.
#[derive(Debug, Default)]
pub struct Moves {
    pub moves: Vec<DatasetMove>,
    /// What became of each mapping of a move, by dataset and what matches it: to name it in the
    /// per-mapping change lists.
    roles: HashMap<(String, MatchKey), MoveRole>,
}

type MatchKey = Vec<Option<String>>;

impl Moves {
    /// What a move did to the mapping the grain columns name (by name, as a change lists them), if a
    /// move involved it.
    pub fn role_of(&self, grain: &ChangeKey) -> Option<MoveRole> {
        let value = |column: &str| grain.get(column).unwrap_or_default().to_string();
        let dataset = DatasetKey {
            framework: value("framework"),
            framework_version: value("framework_version"),
            attack_version: value("attack_version"),
            domain: value("domain"),
        };
        let key: MatchKey = MATCHED_BY.iter().map(|c| grain.get(c).map(String::from)).collect();
        self.roles.get(&(dataset.to_string(), key)).copied()
    }

    /// Names, on each listed change of a moved framework's mappings, what the move did to it, and
    /// lists the moves among `changes`.
    pub fn name_in(self, changes: &mut Changes) {
        for change in &mut changes.changes {
            change.moved = self.role_of(&change.key);
        }
        changes.moves = self.moves;
    }

    /// Counts a mapping of a published dataset on its move, and remembers what the move did to it.
    fn count(&mut self, moved: &mut DatasetMove, dataset: &str, key: &MatchKey, role: MoveRole) {
        match role {
            MoveRole::Carried => moved.carried += 1,
            MoveRole::Changed => moved.changed += 1,
            MoveRole::Added => moved.added += 1,
            MoveRole::Removed => moved.removed += 1,
        }
        self.roles.insert((dataset.to_string(), key.clone()), role);
    }
}

/// What matches a mapping across ATT&CK releases.
const MATCHED_BY: &[&str] = &["capability_id", "attack_object_id", "mapping_type", "score_category"];
/// What describes a mapping: a difference here is a change carried across the move. The ATT&CK and
/// framework versions, dates, sources and the catalogue's verdict belong to the release, not the mapping.
const DESCRIBED_BY: &[&str] = &[
    "capability_description",
    "capability_group",
    "capability_group_name",
    "mapping_type_label",
    "attack_object_name",
    "score_value",
    "related_score",
    "non_mappable",
    "status",
    "comments",
    "references",
];
const DATASET: &[&str] = &["framework", "framework_version", "attack_version", "domain"];

/// The moves between the `previous` table and the `current` one: per framework and domain, datasets
/// that left and datasets at a newer ATT&CK version that arrived.
pub fn moves(previous: &dyn Columns, current: &dyn Columns) -> PolarsResult<Moves> {
    // Which datasets left and arrived, from their columns alone; a night without a move reads no more.
    let datasets = |table: &dyn Columns| -> PolarsResult<BTreeSet<DatasetKey>> {
        datasets_of(&official(&project(table, &[&["carry"], DATASET].concat())?)?)
    };
    let (before, now) = (datasets(previous)?, datasets(current)?);
    let moved = before.difference(&now).any(|old| {
        now.difference(&before)
            .any(|new| (&new.framework, &new.domain) == (&old.framework, &old.domain))
    });
    if !moved {
        return Ok(Moves::default());
    }
    let columns = [&["carry"], DATASET, MATCHED_BY, DESCRIBED_BY].concat();
    let (previous, current) = (
        &official(&project(previous, &columns)?)?,
        &official(&project(current, &columns)?)?,
    );
    let mut retired: BTreeMap<(&str, &str), Vec<&DatasetKey>> = BTreeMap::new();
    for dataset in before.difference(&now) {
        retired
            .entry((&dataset.framework, &dataset.domain))
            .or_default()
            .push(dataset);
    }
    let mut arrived: BTreeMap<(&str, &str), Vec<&DatasetKey>> = BTreeMap::new();
    for dataset in now.difference(&before) {
        arrived
            .entry((&dataset.framework, &dataset.domain))
            .or_default()
            .push(dataset);
    }
    let mut moves = Moves::default();
    for ((framework, domain), old) in retired {
        let Some(new) = arrived.get(&(framework, domain)) else {
            continue;
        };
        let newest = |sets: &[&DatasetKey]| -> String {
            sets.iter()
                .map(|d| d.attack_version.clone())
                .max_by(|a, b| compare_attack_versions(a, b))
                .unwrap_or_default()
        };
        let (from, to) = (newest(&old), newest(new));
        if compare_attack_versions(&to, &from).is_le() {
            continue;
        }
        let old_rows = mappings_of(previous, &old)?;
        let new_rows = mappings_of(current, new)?;
        let mut counted = DatasetMove {
            framework: framework.to_string(),
            domain: domain.to_string(),
            from_attack_version: from,
            to_attack_version: to,
            retired: old.iter().map(|d| d.to_string()).collect(),
            published: new.iter().map(|d| d.to_string()).collect(),
            carried: 0,
            changed: 0,
            added: 0,
            removed: 0,
        };
        for (key, published) in &new_rows {
            let retired = old_rows.get(key);
            for (dataset, description) in published {
                let role = match retired {
                    Some(retired) if retired.iter().any(|(_, before)| before == description) => MoveRole::Carried,
                    Some(_) => MoveRole::Changed,
                    None => MoveRole::Added,
                };
                moves.count(&mut counted, dataset, key, role);
            }
        }
        for (key, retired) in &old_rows {
            let role = match new_rows.get(key) {
                Some(published) => moves.roles[&(published[0].0.clone(), key.clone())],
                None => MoveRole::Removed,
            };
            for (dataset, _) in retired {
                moves.roles.insert((dataset.clone(), key.clone()), role);
                counted.removed += usize::from(role == MoveRole::Removed);
            }
        }
        moves.moves.push(counted);
    }
    Ok(moves)
}

/// The official rows of a table: a derived dataset (`--carry-to`) moves with its target, not upstream.
fn official(frame: &DataFrame) -> PolarsResult<DataFrame> {
    match frame.column("carry") {
        Ok(carry) => frame.filter(&carry.is_null()),
        Err(_) => Ok(frame.clone()),
    }
}

/// The datasets (framework, framework version, ATT&CK version, domain) a table holds.
fn datasets_of(frame: &DataFrame) -> PolarsResult<BTreeSet<DatasetKey>> {
    let unique = frame
        .select(DATASET.iter().copied())?
        .unique_stable(None, UniqueKeepStrategy::First, None)?;
    let columns: Vec<&StringChunked> = DATASET
        .iter()
        .map(|name| unique.column(name).and_then(|c| c.str()))
        .collect::<PolarsResult<_>>()?;
    Ok((0..unique.height())
        .map(|row| {
            let value = |i: usize| columns[i].get(row).unwrap_or_default().to_string();
            DatasetKey {
                framework: value(0),
                framework_version: value(1),
                attack_version: value(2),
                domain: value(3),
            }
        })
        .collect())
}

/// The mappings of `datasets` in `frame`, by what matches them across releases, each with its
/// dataset's name and what describes it.
fn mappings_of(frame: &DataFrame, datasets: &[&DatasetKey]) -> PolarsResult<HashMap<MatchKey, Vec<(String, String)>>> {
    let strings = |names: &[&str]| -> PolarsResult<Vec<StringChunked>> {
        names
            .iter()
            .map(|name| Ok(frame.column(name)?.str()?.clone()))
            .collect()
    };
    let (dataset_columns, matched) = (strings(DATASET)?, strings(MATCHED_BY)?);
    let described: Vec<Series> = DESCRIBED_BY
        .iter()
        .map(|name| Ok(frame.column(name)?.as_materialized_series().clone()))
        .collect::<PolarsResult<_>>()?;
    let mut mappings: HashMap<MatchKey, Vec<(String, String)>> = HashMap::new();
    for row in 0..frame.height() {
        let ours = datasets.iter().find(|dataset| {
            [
                &dataset.framework,
                &dataset.framework_version,
                &dataset.attack_version,
                &dataset.domain,
            ]
            .iter()
            .zip(&dataset_columns)
            .all(|(value, column)| column.get(row) == Some(value.as_str()))
        });
        let Some(dataset) = ours else {
            continue;
        };
        let key = matched.iter().map(|column| column.get(row).map(String::from)).collect();
        let mut description = String::new();
        for series in &described {
            description.push_str(&series.get(row)?.to_string());
            description.push('\u{1f}');
        }
        mappings
            .entry(key)
            .or_default()
            .push((dataset.to_string(), description));
    }
    Ok(mappings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::MappingRowBuilder;

    fn kev(attack_version: &str, framework_version: &str, technique: &str, comment: &str) -> crate::model::MappingRow {
        let mut row = MappingRowBuilder::new("kev", framework_version)
            .capability("CVE-2024-0001")
            .technique(technique)
            .comment(comment)
            .build();
        row.attack_version = attack_version.into();
        row
    }

    #[test]
    fn a_framework_moving_to_a_newer_release_is_one_move_counted_by_mapping() {
        let before = crate::table::to_dataframe(&[
            kev("15.1", "02.13.2025", "T1190", "same"),
            kev("15.1", "02.13.2025", "T1059", "old words"),
            kev("15.1", "02.13.2025", "T1068", "gone"),
        ])
        .unwrap();
        let after = crate::table::to_dataframe(&[
            kev("16.1", "07.28.2025", "T1190", "same"),
            kev("16.1", "07.28.2025", "T1059", "new words"),
            kev("16.1", "07.28.2025", "T1203", "new"),
        ])
        .unwrap();
        let moves = moves(&before, &after).unwrap();
        assert_eq!(moves.moves.len(), 1);
        let moved = &moves.moves[0];
        assert_eq!((moved.carried, moved.changed, moved.added, moved.removed), (1, 1, 1, 1));
        assert_eq!(moved.retired, ["kev-02.13.2025_attack-15.1-enterprise"]);
        assert_eq!(moved.published, ["kev-07.28.2025_attack-16.1-enterprise"]);
        assert_eq!(moved.kept(), 2);
        assert_eq!(
            moved.summary(),
            "kev enterprise 15.1 → 16.1: 1 carried, 1 changed, 1 added, 1 removed"
        );
        let grain = |framework_version: &str, attack_version: &str, technique: &str| {
            let values = [
                Some("kev"),
                Some(framework_version),
                Some(attack_version),
                Some("enterprise"),
                Some("CVE-2024-0001"),
                Some(technique),
                None,
                None,
            ];
            ChangeKey::new(values.map(|value| value.map(std::sync::Arc::from)))
        };
        assert_eq!(
            moves.role_of(&grain("02.13.2025", "15.1", "T1190")),
            Some(MoveRole::Carried)
        );
        assert_eq!(
            moves.role_of(&grain("07.28.2025", "16.1", "T1059")),
            Some(MoveRole::Changed)
        );
        assert_eq!(
            moves.role_of(&grain("02.13.2025", "15.1", "T1068")),
            Some(MoveRole::Removed)
        );
        assert_eq!(
            moves.role_of(&grain("07.28.2025", "16.1", "T1203")),
            Some(MoveRole::Added)
        );
        assert!(
            super::moves(&after, &before).unwrap().moves.is_empty(),
            "an older release arriving is no move"
        );
        assert!(super::moves(&after, &after).unwrap().moves.is_empty());

        let mut derived = kev("16.1", "02.13.2025", "T1190", "same");
        derived.carry = Some(Box::new(crate::model::Carry {
            kind: crate::model::CarryKind::Unchanged,
            derived_from: "15.1".into(),
            original_technique: None,
            attack_changes: Vec::new(),
        }));
        let carried = crate::table::to_dataframe(&[derived]).unwrap();
        assert!(
            super::moves(&before, &carried).unwrap().moves.is_empty(),
            "a derived dataset is no move of upstream's"
        );
    }
}
