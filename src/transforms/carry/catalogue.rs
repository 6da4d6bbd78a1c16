//! One ATT&CK release of one domain as carrying forward sees it: technique id → name, tactics,
//! revoked (and by what) or deprecated. Built from the run's bundles, or by hand in tests.

use std::collections::BTreeMap;

use crate::sources::attack_stix::AttackCatalog;

/// A technique of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseTechnique {
    pub name: String,
    /// Tactic short names (`defense-evasion`), sorted.
    pub tactics: Vec<String>,
    pub revoked: bool,
    /// The technique that replaced a revoked one, when ATT&CK says.
    pub revoked_by: Option<String>,
    pub deprecated: bool,
    /// Whether it is a technique of the release's own domain (mapping files also cite techniques of
    /// another domain of the version: NIST rev5 Enterprise maps SC-12 to Mobile's T1521.003).
    pub own_domain: bool,
}

impl ReleaseTechnique {
    pub fn is_live(&self) -> bool {
        !self.revoked && !self.deprecated
    }
}

/// The techniques of one ATT&CK version and domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Release {
    pub version: String,
    pub domain: String,
    pub techniques: BTreeMap<String, ReleaseTechnique>,
}

impl Release {
    /// The release of `version` and `domain` from the run's catalogue: its domain's own bundles,
    /// then the other domains' of the version for the techniques the own ones lack (as the
    /// catalogue resolves a dataset's techniques). `None` without a bundle of the domain itself.
    pub fn from_catalog(catalog: &AttackCatalog, version: &str, domain: &str) -> Option<Release> {
        if !catalog.covers(version, domain) {
            return None;
        }
        let mut techniques = BTreeMap::new();
        for bundle in catalog.bundles_for(version, domain) {
            for (id, technique) in bundle.techniques() {
                let mut tactics = technique.tactics.clone();
                tactics.sort();
                tactics.dedup();
                techniques.entry(id.to_string()).or_insert(ReleaseTechnique {
                    name: technique.name.clone(),
                    tactics,
                    revoked: technique.revoked,
                    revoked_by: technique.revoked_by.clone(),
                    deprecated: technique.retired && !technique.revoked,
                    own_domain: bundle.domain == domain,
                });
            }
        }
        Some(Release {
            version: version.to_string(),
            domain: domain.to_string(),
            techniques,
        })
    }

    pub fn technique(&self, id: &str) -> Option<&ReleaseTechnique> {
        self.techniques.get(id)
    }

    /// The live techniques of the release's own domain, by id.
    pub fn live(&self) -> impl Iterator<Item = (&str, &ReleaseTechnique)> {
        self.techniques
            .iter()
            .filter(|(_, t)| t.own_domain && t.is_live())
            .map(|(id, t)| (id.as_str(), t))
    }
}
