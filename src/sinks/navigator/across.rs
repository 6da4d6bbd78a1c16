//! The layers across the frameworks of one ATT&CK version and domain: coverage by defenses (security
//! controls and security stacks only), and mapped by any framework (threat context included: KEV's
//! exploited vulnerabilities and VERIS's incident vocabulary map techniques, they do not defend).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use std::borrow::Cow;

use super::document::{attack_title, finish, named, Header, Layer, LegendItem, Link, Named, TechniqueEntry};
use super::{by_technique, technique_entry, LayerCounts};
use crate::frameworks::{self, FrameworkKind};
use crate::model::{DatasetKey, Interner, MappingRow, Text};
use crate::sinks::count_of;
use crate::site;

/// What the layers across frameworks need of one dataset, kept from when its own layers are written
/// until every dataset's are: per technique a count, never the rows. About 24 bytes per technique
/// (13 KB for the 541 techniques of the largest dataset of the Mappings Explorer): the technique ids
/// are shared by every summary through one [`Interner`].
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The techniques placed in the layer, ascending, each with the number of distinct capabilities
    /// mapping it.
    capabilities: Box<[(Text, usize)]>,
    /// Rows without a capability or a technique.
    non_mappable_rows: usize,
    /// The techniques Navigator cannot place, ascending, each with why.
    left_out: Box<[(Text, String)]>,
    /// The ATT&CK version a derived dataset (`--carry-to`) was carried from.
    derived_from: Option<String>,
}

impl Summary {
    /// The summary of a dataset's rows (all of them, in table order), its technique ids from
    /// `technique_ids`.
    pub fn of(rows: &[&MappingRow], technique_ids: &Mutex<Interner>) -> Summary {
        let grouped = by_technique(rows);
        let mut ids = technique_ids
            .lock()
            .expect("no thread panics holding the technique ids");
        Summary {
            capabilities: grouped
                .techniques
                .iter()
                .map(|(technique, capabilities)| (ids.text(technique), capabilities.len()))
                .collect(),
            non_mappable_rows: grouped.non_mappable,
            left_out: grouped
                .left_out
                .into_iter()
                .map(|(t, why)| (ids.text(t), why))
                .collect(),
            derived_from: crate::model::derived_from(rows).map(String::from),
        }
    }
}

/// Which layer across frameworks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Across {
    /// `coverage_attack-<v>-<domain>.json`: frameworks that defend (controls, security stacks).
    Coverage,
    /// `all-frameworks_attack-<v>-<domain>.json`: every framework that maps the technique.
    AnyFramework,
}

impl Across {
    pub fn file(self, attack_version: &str, domain: &str) -> String {
        match self {
            Across::Coverage => format!("coverage_attack-{attack_version}-{domain}.json"),
            Across::AnyFramework => format!("all-frameworks_attack-{attack_version}-{domain}.json"),
        }
    }

    fn counts(self, framework: &str) -> bool {
        match self {
            Across::Coverage => matches!(
                frameworks::kind(framework),
                FrameworkKind::Control | FrameworkKind::SecurityStack
            ),
            Across::AnyFramework => true,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Across::Coverage => "Coverage by controls and security stacks",
            Across::AnyFramework => "Mapped by any framework",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Across::Coverage => "ATT&CK techniques by the number of defending frameworks that map them: security controls and security stacks, not threat context (KEV, VERIS). Per-framework capability counts in each technique's metadata.",
            Across::AnyFramework => "ATT&CK techniques by the number of Mappings Explorer frameworks that map them, threat context (KEV's exploited vulnerabilities, VERIS incidents) included: this is relevance, not coverage. Per-framework capability counts in each technique's metadata.",
        }
    }

    /// The layer, score = number of the counted frameworks mapping the technique; `None` when no
    /// dataset of the version and domain is counted. `datasets`: those of the version and domain, in
    /// dataset order.
    pub fn layer(
        self,
        attack_version: &str,
        domain: &str,
        datasets: &[(&DatasetKey, &Summary)],
    ) -> Option<(Layer, LayerCounts)> {
        let datasets: Vec<&(&DatasetKey, &Summary)> =
            datasets.iter().filter(|(d, _)| self.counts(&d.framework)).collect();
        let first = datasets.first()?.0;
        let mut covered: BTreeMap<&str, BTreeMap<&DatasetKey, usize>> = BTreeMap::new();
        let mut non_mappable_rows = 0;
        let mut left_out: BTreeMap<&str, String> = BTreeMap::new();
        for (dataset, summary) in &datasets {
            non_mappable_rows += summary.non_mappable_rows;
            left_out.extend(summary.left_out.iter().map(|(t, why)| (&**t, why.clone())));
            for (technique, capabilities) in &summary.capabilities {
                covered.entry(&**technique).or_default().insert(dataset, *capabilities);
            }
        }
        let derived: BTreeMap<&DatasetKey, &str> = datasets
            .iter()
            .filter_map(|(dataset, summary)| Some((*dataset, summary.derived_from.as_deref()?)))
            .collect();
        let entries: Vec<TechniqueEntry> = covered
            .iter()
            .map(|(technique, by_dataset)| entry(technique, by_dataset, &derived))
            .collect();
        let mut header = Header {
            name: format!("{} — {}", self.title(), attack_title(first)),
            description: self.description().to_string(),
            attack_version: attack_version.to_string(),
            domain: domain.to_string(),
            metadata: vec![named("ATT&CK version", attack_version), named("domain", domain)],
            links: vec![Link {
                label: "Mappings Explorer".to_string(),
                url: site::LIVE_BASE_URL.to_string(),
            }],
        };
        if !derived.is_empty() {
            let listed: Vec<String> = derived
                .iter()
                .map(|(dataset, from)| format!("{} from ATT&CK {from}", dataset_label(dataset)))
                .collect();
            header.description.push_str(&format!(
                " Includes DERIVED datasets, carried by attackmap (--carry-to) from an older ATT&CK release, not official mappings: {}.",
                listed.join(", ")
            ));
            for (dataset, from) in &derived {
                header.metadata.push(Named {
                    name: Cow::Owned(format!("derived: {}", dataset_label(dataset))),
                    value: format!("from ATT&CK {from}"),
                });
            }
        }
        let (mut layer, counts) = finish(header, entries, "framework", non_mappable_rows, &left_out);
        // Navigator clips a legend label at about 15 characters: the description names each.
        layer.legend_items.extend(
            derived
                .values()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .map(|from| LegendItem {
                    label: format!("derived ← {from}"),
                    color: DERIVED_COLOR.into(),
                }),
        );
        Some((layer, counts))
    }
}

/// The legend color of the "derived" entries: no technique has it, the entry only says so.
const DERIVED_COLOR: &str = "#d9d9d9";

/// `NIST 800-53 rev5`.
fn dataset_label(dataset: &DatasetKey) -> String {
    format!(
        "{} {}",
        frameworks::label(&dataset.framework),
        dataset.framework_version
    )
}

/// A technique's entry: the frameworks mapping it, with each one's capability count in metadata
/// (and the release a derived dataset comes from).
fn entry(
    technique: &str,
    by_dataset: &BTreeMap<&DatasetKey, usize>,
    derived: &BTreeMap<&DatasetKey, &str>,
) -> TechniqueEntry {
    let frameworks_covering: BTreeSet<&str> = by_dataset.keys().map(|d| d.framework.as_str()).collect();
    let metadata: Vec<Named> = by_dataset
        .iter()
        .map(|(dataset, capabilities)| {
            let name = match derived.get(dataset) {
                Some(from) => format!("{} (derived from {from})", dataset_label(dataset)),
                None => dataset_label(dataset),
            };
            Named {
                name: Cow::Owned(name),
                value: count_of(*capabilities, "capability", "capabilities"),
            }
        })
        .collect();
    let labels: Vec<&str> = frameworks_covering.iter().map(|f| frameworks::label(f)).collect();
    let key = by_dataset.keys().next().expect("a covered technique has a dataset");
    technique_entry(
        key,
        technique,
        frameworks_covering.len(),
        format!(
            "{}: {}",
            count_of(labels.len(), "framework", "frameworks"),
            labels.join(", ")
        ),
        metadata,
    )
}
