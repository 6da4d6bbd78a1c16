//! The dimension tables from the index of datasets merged in table order or in any other.

use std::sync::Arc;

use super::*;
use crate::model::{by_dataset, DatasetKey, MappingRow};
use crate::test_support::MappingRowBuilder;

/// The datasets of a table, each with its rows.
type Datasets<'a> = Vec<(DatasetKey, Vec<&'a MappingRow>)>;

/// The index of every dataset of the rows, merged in the order `order` puts the datasets in.
fn index_of(rows: &[MappingRow], order: impl Fn(&mut Datasets)) -> DimensionIndex {
    let mut datasets: Vec<_> = by_dataset(rows).into_iter().collect();
    order(&mut datasets);
    let mut index = DimensionIndex::default();
    for (dataset, rows) in datasets {
        index.merge(DimensionIndex::of_dataset(&Arc::new(dataset), &rows));
    }
    index
}

fn in_table_order(_: &mut Datasets) {}

/// An AWS capability of the `detect` group mapped to a technique the row names.
fn detects(capability: &str, technique: &str) -> MappingRow {
    MappingRowBuilder::new("aws", "v1")
        .capability(capability)
        .capability_group("detect")
        .technique(technique)
        .technique_name(&format!("name of {technique}"))
        .build()
}

#[test]
fn dimensions_have_one_row_per_key_and_count_what_they_summarize() {
    let rows = [
        detects("GuardDuty", "T1562"),
        detects("GuardDuty", "T1562.001"),
        detects("Config", "T1562"),
        MappingRowBuilder::new("nist_800_53", "v1")
            .technique("T1078")
            .technique_name("name of T1078")
            .build(),
    ];
    let tables = tables(&index_of(&rows, in_table_order), &AttackCatalog::default()).unwrap();
    let height = |name: &str| tables.iter().find(|(n, _)| *n == name).unwrap().1.height();
    assert_eq!(height(CAPABILITIES), 2);
    assert_eq!(height(CAPABILITY_GROUPS), 1);
    assert_eq!(height(TECHNIQUES), 3);
    assert_eq!(height(FRAMEWORKS), 2);

    let techniques = &tables.iter().find(|(n, _)| *n == TECHNIQUES).unwrap().1;
    let parents: Vec<Option<&str>> = techniques
        .column("parent_technique_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(parents, [None, None, Some("T1562")]);
    let groups = &tables.iter().find(|(n, _)| *n == CAPABILITY_GROUPS).unwrap().1;
    assert_eq!(groups.column("capabilities").unwrap().i64().unwrap().get(0), Some(2));
}

#[test]
fn the_first_value_is_the_earliest_datasets_whatever_order_the_datasets_merge_in() {
    let in_version = |attack_version: &str, row: MappingRow| MappingRow {
        attack_version: attack_version.into(),
        ..row
    };
    let described = |description: &str, row: MappingRow| MappingRow {
        capability_description: Some(description.into()),
        ..row
    };
    let rows = [
        in_version("15.1", detects("GuardDuty", "T1562")),
        in_version("16.1", described("as 16.1 says", detects("GuardDuty", "T1562"))),
        in_version("16.1", described("16.1 again", detects("GuardDuty", "T1078"))),
        in_version("17.1", described("as 17.1 says", detects("GuardDuty", "T1562"))),
    ];
    let forward = tables(&index_of(&rows, in_table_order), &AttackCatalog::default()).unwrap();
    let reversed = tables(&index_of(&rows, |d| d.reverse()), &AttackCatalog::default()).unwrap();
    assert_eq!(forward, reversed);
    let capabilities = &forward[0].1;
    let description = capabilities
        .column("capability_description")
        .unwrap()
        .str()
        .unwrap()
        .get(0);
    assert_eq!(description, Some("as 16.1 says"));
    assert_eq!(capabilities.column("mappings").unwrap().i64().unwrap().get(0), Some(4));
    let frameworks = &forward[3].1;
    assert_eq!(
        frameworks
            .column("attack_versions")
            .unwrap()
            .get(0)
            .unwrap()
            .to_string(),
        r#"["15.1", "16.1", "17.1"]"#
    );
}

#[test]
fn a_technique_no_bundle_names_takes_the_name_the_earliest_dataset_citing_it_gives() {
    let named = |framework: &str, name: &str| {
        MappingRowBuilder::new(framework, "v1")
            .capability("C1")
            .technique("T1562")
            .technique_name(name)
            .build()
    };
    let rows = [named("aws", "as aws says"), named("azure", "as azure says")];
    let orders: [fn(&mut Datasets); 2] = [in_table_order, |d| d.reverse()];
    for order in orders {
        let tables = tables(&index_of(&rows, order), &AttackCatalog::default()).unwrap();
        let names = tables[2]
            .1
            .column("technique_name")
            .unwrap()
            .str()
            .unwrap()
            .get(0)
            .map(String::from);
        assert_eq!(names.as_deref(), Some("as aws says"));
    }
}
