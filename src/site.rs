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
        capability_path(capability_id)
    )
}

/// A capability id as the site's path spells it: spaces become `_`, a `/` stays (VERIS's
/// `action.malware.variety.Spyware/Keylogger` is two segments on the site too); any other byte but
/// ASCII letters, digits and `-._~` is percent-encoded, and an empty, `.` or `..` segment becomes `_`,
/// so an id from upstream can neither leave the capability's directory nor end the URL early.
fn capability_path(capability_id: &str) -> String {
    capability_id
        .replace(' ', "_")
        .split('/')
        .map(|segment| match segment {
            "" | "." | ".." => "_".to_string(),
            _ => crate::escape::url_segment(segment),
        })
        .collect::<Vec<_>>()
        .join("/")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capability_id_stays_inside_its_dataset_in_the_url() {
        assert_eq!(capability_path("SC-08"), "SC-08");
        assert_eq!(
            capability_path("action.hacking.variety.Scan network"),
            "action.hacking.variety.Scan_network"
        );
        assert_eq!(
            capability_path("action.malware.variety.Spyware/Keylogger"),
            "action.malware.variety.Spyware/Keylogger"
        );
        assert_eq!(capability_path("../../../x"), "_/_/_/x");
        assert_eq!(capability_path("a?b#c\"d<e>"), "a%3Fb%23c%22d%3Ce%3E");
    }
}
