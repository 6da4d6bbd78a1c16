//! What the dimension tables keep of the datasets added so far: per capability, per cited technique and
//! per framework the few values their rows end up holding, never the mapping rows. One dataset's index is
//! built from its rows alone; indexes merge in any order into the one the whole table gives.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::model::{DatasetKey, MappingRow, Text};

/// (framework, framework version, capability id).
pub type CapabilityKey = (Text, Text, Text);
/// (ATT&CK version, domain, technique id).
pub type TechniqueKey = (Text, Text, Text);

/// A value the table gives first, and the dataset it gives it in: the table is in dataset order, so of
/// two datasets' values, the earlier dataset's is the one its first row gives.
#[derive(Debug, Clone)]
pub struct First<T> {
    dataset: Arc<DatasetKey>,
    pub value: T,
}

impl<T> First<T> {
    fn of(dataset: &Arc<DatasetKey>, value: T) -> First<T> {
        First {
            dataset: dataset.clone(),
            value,
        }
    }

    /// The earlier dataset's of the two.
    fn earlier(self, other: First<T>) -> First<T> {
        if other.dataset < self.dataset {
            other
        } else {
            self
        }
    }
}

/// The earlier of two values, either of which may not be given.
fn earlier_given<T>(a: Option<First<T>>, b: Option<First<T>>) -> Option<First<T>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.earlier(b)),
        (a, b) => a.or(b),
    }
}

/// A capability: the first description, group and group name the table gives it, and its mappings.
#[derive(Debug, Default)]
pub struct Capability {
    pub description: Option<First<Text>>,
    pub group: Option<First<Text>>,
    pub group_name: Option<First<Text>>,
    pub mappings: usize,
}

/// The versions a framework appears with in the table.
#[derive(Debug, Default)]
pub struct Versions {
    pub framework: BTreeSet<Text>,
    pub attack: BTreeSet<Text>,
}

/// What the dimension tables need of the rows of some datasets.
#[derive(Debug, Default)]
pub struct DimensionIndex {
    pub capabilities: BTreeMap<CapabilityKey, Capability>,
    /// Every technique a row cites, with the technique name the first row citing it gives.
    pub cited: BTreeMap<TechniqueKey, First<Option<Text>>>,
    /// (domain, ATT&CK version) of every row: the versions a bundle that serves every version serves.
    pub domain_versions: BTreeSet<(Text, Text)>,
    pub frameworks: BTreeMap<Text, Versions>,
}

impl DimensionIndex {
    /// The index of one dataset's rows, given in table order. The rows' text is shared, not copied.
    pub fn of_dataset(dataset: &Arc<DatasetKey>, rows: &[&MappingRow]) -> DimensionIndex {
        // Borrowed while the rows are read, each key and value taken once at the end.
        type Fields<'r> = [Option<&'r Text>; 3];
        let mut capabilities: BTreeMap<(&Text, &Text, &Text), (Fields, usize)> = BTreeMap::new();
        let mut cited: BTreeMap<(&Text, &Text, &Text), Option<&Text>> = BTreeMap::new();
        let mut domain_versions: BTreeSet<(&Text, &Text)> = BTreeSet::new();
        let mut frameworks: BTreeMap<&Text, (BTreeSet<&Text>, BTreeSet<&Text>)> = BTreeMap::new();
        for row in rows {
            if let Some(id) = &row.capability_id {
                let (fields, mappings) = capabilities
                    .entry((&row.framework, &row.framework_version, id))
                    .or_default();
                let given = [
                    &row.capability_description,
                    &row.capability_group,
                    &row.capability_group_name,
                ];
                for (field, value) in fields.iter_mut().zip(given) {
                    *field = field.or(value.as_ref());
                }
                *mappings += 1;
            }
            if let Some(id) = &row.attack_object_id {
                cited
                    .entry((&row.attack_version, &row.domain, id))
                    .or_insert(row.attack_object_name.as_ref());
            }
            domain_versions.insert((&row.domain, &row.attack_version));
            let (framework_versions, attack_versions) = frameworks.entry(&row.framework).or_default();
            framework_versions.insert(&row.framework_version);
            attack_versions.insert(&row.attack_version);
        }

        let owned = |(a, b, c): (&Text, &Text, &Text)| (a.clone(), b.clone(), c.clone());
        let first = |value: Option<&Text>| value.map(|v| First::of(dataset, v.clone()));
        DimensionIndex {
            capabilities: capabilities
                .into_iter()
                .map(|(key, ([description, group, group_name], mappings))| {
                    let capability = Capability {
                        description: first(description),
                        group: first(group),
                        group_name: first(group_name),
                        mappings,
                    };
                    (owned(key), capability)
                })
                .collect(),
            cited: cited
                .into_iter()
                .map(|(key, name)| (owned(key), First::of(dataset, name.cloned())))
                .collect(),
            domain_versions: domain_versions
                .into_iter()
                .map(|(domain, version)| (domain.clone(), version.clone()))
                .collect(),
            frameworks: frameworks
                .into_iter()
                .map(|(framework, (framework_versions, attack_versions))| {
                    let versions = Versions {
                        framework: framework_versions.into_iter().cloned().collect(),
                        attack: attack_versions.into_iter().cloned().collect(),
                    };
                    (framework.clone(), versions)
                })
                .collect(),
        }
    }

    /// Adds another index's datasets (added before or after this one's: the result is the same).
    pub fn merge(&mut self, other: DimensionIndex) {
        for (key, capability) in other.capabilities {
            let entry = self.capabilities.entry(key).or_default();
            entry.description = earlier_given(entry.description.take(), capability.description);
            entry.group = earlier_given(entry.group.take(), capability.group);
            entry.group_name = earlier_given(entry.group_name.take(), capability.group_name);
            entry.mappings += capability.mappings;
        }
        for (key, name) in other.cited {
            let name = match self.cited.remove(&key) {
                Some(ours) => ours.earlier(name),
                None => name,
            };
            self.cited.insert(key, name);
        }
        self.domain_versions.extend(other.domain_versions);
        for (framework, versions) in other.frameworks {
            let entry = self.frameworks.entry(framework).or_default();
            entry.framework.extend(versions.framework);
            entry.attack.extend(versions.attack);
        }
    }

    /// The ATT&CK versions of the rows of a domain.
    pub fn attack_versions(&self, domain: &str) -> Vec<String> {
        self.domain_versions
            .iter()
            .filter(|(d, _)| **d == *domain)
            .map(|(_, version)| version.to_string())
            .collect()
    }
}
