//! Addresses on the Mappings Explorer site, for links in exports (and, later, for fetching).

use crate::frameworks;
use crate::model::DatasetKey;

/// The live site; every link inside its pages is absolute to this host.
pub const LIVE_BASE_URL: &str = "https://center-for-threat-informed-defense.github.io/mappings-explorer/";

/// A capability's page: `external/nist/attack-16.1/domain-enterprise/nist-rev5/SC-08/`.
pub fn capability_url(dataset: &DatasetKey, capability_id: &str) -> String {
    let site_id = frameworks::site_id(&dataset.framework);
    format!(
        "{LIVE_BASE_URL}external/{site_id}/attack-{}/domain-{}/{site_id}-{}/{}/",
        dataset.attack_version,
        dataset.domain,
        dataset.framework_version,
        capability_id.replace(' ', "_")
    )
}

/// A technique's page: `attack/attack-16.1/domain-enterprise/techniques/T1562/`.
pub fn technique_url(attack_version: &str, domain: &str, technique_id: &str) -> String {
    format!("{LIVE_BASE_URL}attack/attack-{attack_version}/domain-{domain}/techniques/{technique_id}/")
}

/// A framework's landing page for one dataset.
pub fn framework_url(dataset: &DatasetKey) -> String {
    let site_id = frameworks::site_id(&dataset.framework);
    format!(
        "{LIVE_BASE_URL}external/{site_id}/attack-{}/domain-{}/{site_id}-{}/",
        dataset.attack_version, dataset.domain, dataset.framework_version
    )
}

/// ATT&CK's own page of a technique (`T1562.001` → `techniques/T1562/001/`).
pub fn attack_technique_url(technique_id: &str) -> String {
    format!(
        "https://attack.mitre.org/techniques/{}/",
        technique_id.replace('.', "/")
    )
}
