//! `--carry-to`: the build's step that derives, from every selected dataset mapped to an older
//! ATT&CK release, a dataset on the target release ([`crate::transforms::carry`]), and says in the
//! report what it carried, replaced, dropped and could not carry.

use std::collections::BTreeMap;

use crate::model::MappingRow;
use crate::sources::attack_stix::AttackCatalog;
use crate::transforms::carry::{self, CarryReport, Release, ReviewTechnique};

/// The ATT&CK version to carry to: `latest` is the newest version of the run's ATT&CK bundles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CarryTo {
    Latest,
    Version(String),
}

impl std::str::FromStr for CarryTo {
    type Err = String;

    fn from_str(text: &str) -> Result<CarryTo, String> {
        let text = text.trim();
        if text == "latest" {
            return Ok(CarryTo::Latest);
        }
        let is_version = text.split('.').count() >= 2
            && text
                .split('.')
                .all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()));
        if is_version {
            Ok(CarryTo::Version(text.to_string()))
        } else {
            Err(format!("expected an ATT&CK version (18.1) or latest, found {text:?}"))
        }
    }
}

impl CarryTo {
    /// The version this names among the run's bundles; `None` for `latest` without any bundle.
    pub fn version(&self, attack: &AttackCatalog) -> Option<String> {
        match self {
            CarryTo::Version(version) => Some(version.clone()),
            CarryTo::Latest => attack
                .bundles
                .iter()
                .filter_map(|b| b.version.clone())
                .max_by(|a, b| crate::identifiers::compare_attack_versions(a, b)),
        }
    }
}

/// The derived rows (statuses set from the target release) and the review list, with the report.
pub struct Carried {
    pub rows: Vec<MappingRow>,
    pub review: Vec<ReviewTechnique>,
    pub report: CarryReport,
}

/// Carries the datasets of `rows` (deduplicated, statuses set) to `to`.
pub fn carry_forward(rows: &[MappingRow], attack: &AttackCatalog, to: &CarryTo) -> Carried {
    let Some(target) = to.version(attack) else {
        return Carried {
            rows: Vec::new(),
            review: Vec::new(),
            report: CarryReport::default(),
        };
    };
    let datasets = crate::model::by_dataset(rows);
    let plan = carry::plan(datasets.keys(), &target, &|version, domain| {
        attack.covers(version, domain)
    });
    let mut releases: BTreeMap<(String, String), Release> = BTreeMap::new();
    let mut release = |version: &str, domain: &str| -> Release {
        releases
            .entry((version.to_string(), domain.to_string()))
            .or_insert_with(|| Release::from_catalog(attack, version, domain).expect("the plan checked the bundle"))
            .clone()
    };
    let mut carried = Carried {
        rows: Vec::new(),
        review: Vec::new(),
        report: CarryReport {
            target: Some(target.clone()),
            official_at_target: plan.official_at_target,
            not_carried: plan.not_carried,
            derived: Vec::new(),
        },
    };
    for derivation in &plan.derivations {
        let source = release(&derivation.source.attack_version, &derivation.source.domain);
        let target_release = release(&target, &derivation.source.domain);
        let official = datasets.get(&derivation.source).map(Vec::as_slice).unwrap_or_default();
        let mut derived = carry::carry_dataset(official.iter().copied(), &source, &target_release);
        for row in &mut derived.rows {
            if let Some(technique) = row.attack_object_id.as_deref() {
                row.technique_status = attack.status(&row.attack_version, &row.domain, technique);
            }
        }
        let review = carry::review_list(&derivation.derived, &source, &target_release);
        carried
            .report
            .derived
            .push(carry::report_of(derivation, &derived, review.len()));
        carried.review.extend(review);
        carried.rows.extend(derived.rows);
    }
    carried
}
