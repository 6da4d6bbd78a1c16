//! What attackmap knows about each mapping framework: its ids, display label and kind.

use serde::Serialize;

/// How a framework's capabilities relate to techniques, which decides their STIX shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameworkKind {
    /// Security controls (NIST 800-53, CRI Profile, CSA CCM): mitigate techniques.
    Control,
    /// Security stacks (AWS, Azure, GCP, M365, Intel vPro): protect, detect or respond, with a score.
    SecurityStack,
    /// Vulnerabilities (KEV, CVE): techniques target them.
    Vulnerability,
    /// VERIS incident vocabulary: related to techniques.
    Veris,
    /// A framework attackmap has no rule for: kept, exported by its mapping types.
    Other,
}

impl FrameworkKind {
    /// The kind as written in outputs (`security_stack`).
    pub fn as_str(self) -> &'static str {
        match self {
            FrameworkKind::Control => "control",
            FrameworkKind::SecurityStack => "security_stack",
            FrameworkKind::Vulnerability => "vulnerability",
            FrameworkKind::Veris => "veris",
            FrameworkKind::Other => "other",
        }
    }
}

/// One known framework.
pub struct Framework {
    /// The mapping files' id (`nist_800_53`).
    pub id: &'static str,
    /// The site's id in URLs (`nist`).
    pub site_id: &'static str,
    /// The display label the site uses in section titles (`NIST 800-53`).
    pub label: &'static str,
    pub kind: FrameworkKind,
}

const fn framework(id: &'static str, site_id: &'static str, label: &'static str, kind: FrameworkKind) -> Framework {
    Framework {
        id,
        site_id,
        label,
        kind,
    }
}

pub const KNOWN: &[Framework] = &[
    framework("nist_800_53", "nist", "NIST 800-53", FrameworkKind::Control),
    framework("cri_profile", "cri_profile", "CRI Profile", FrameworkKind::Control),
    framework("csa_ccm", "csa_ccm", "CSA CCM", FrameworkKind::Control),
    framework("aws", "aws", "AWS", FrameworkKind::SecurityStack),
    framework("azure", "azure", "Azure", FrameworkKind::SecurityStack),
    framework("gcp", "gcp", "GCP", FrameworkKind::SecurityStack),
    framework("m365", "m365", "M365", FrameworkKind::SecurityStack),
    framework("intel-vpro", "intel-vpro", "Intel vPro", FrameworkKind::SecurityStack),
    framework(
        "kev",
        "kev",
        "Known Exploited Vulnerabilities",
        FrameworkKind::Vulnerability,
    ),
    framework("veris", "veris", "VERIS", FrameworkKind::Veris),
];

pub fn by_id(id: &str) -> Option<&'static Framework> {
    KNOWN.iter().find(|f| f.id == id)
}

/// The mapping files' framework id for a site framework id (`nist` → `nist_800_53`); unknown ids are kept.
pub fn id_from_site_id(site_id: &str) -> String {
    KNOWN
        .iter()
        .find(|f| f.site_id == site_id)
        .map_or(site_id, |f| f.id)
        .to_string()
}

/// The site's id for a framework id (`nist_800_53` → `nist`); unknown ids are kept.
pub fn site_id(id: &str) -> &str {
    by_id(id).map_or(id, |f| f.site_id)
}

/// The framework behind a technique page's section title (`NIST 800-53 Mappings` → `nist_800_53`).
pub fn id_from_label(label: &str) -> Option<&'static str> {
    let label = label.trim();
    let label = label.strip_suffix("Mappings").unwrap_or(label).trim();
    KNOWN.iter().find(|f| f.label == label).map(|f| f.id)
}

/// The display label of a framework id, or the id itself.
pub fn label(id: &str) -> &str {
    by_id(id).map_or(id, |f| f.label)
}

pub fn kind(id: &str) -> FrameworkKind {
    by_id(id).map_or(FrameworkKind::Other, |f| f.kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_ids_labels_and_ids_round_trip() {
        assert_eq!(id_from_site_id("nist"), "nist_800_53");
        assert_eq!(id_from_site_id("acme"), "acme");
        assert_eq!(site_id("nist_800_53"), "nist");
        assert_eq!(id_from_label("Known Exploited Vulnerabilities Mappings"), Some("kev"));
        assert_eq!(id_from_label("Other Mappings"), None);
        assert_eq!(kind("m365"), FrameworkKind::SecurityStack);
    }
}
