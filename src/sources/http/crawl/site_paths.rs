//! The site paths the crawl builds (a technique index, a dataset's mapping file) or recognizes among
//! a page's links (a technique page, a dataset's landing page).

use std::sync::LazyLock;

use regex::Regex;

use crate::model::DatasetKey;
use crate::sources::site_page::site_dataset_of_external_link;

/// A technique page: `attack/attack-16.1/domain-enterprise/techniques/T1562.001/`.
pub(super) static TECHNIQUE_PAGE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^attack/attack-[^/]+/domain-[^/]+/techniques/T\d{4}(\.\d{3})?/$").unwrap());
/// The start of a link to a dataset's landing page: `external/nist/attack-16.1/domain-enterprise/nist-rev5/`.
pub(super) static LANDING_PAGE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^external/[^/]+/attack-[^/]+/domain-[^/]+/[^/]+/").unwrap());

/// The technique index of an ATT&CK version and domain: `attack/attack-16.1/domain-enterprise/techniques/`.
pub(super) fn technique_index_path(attack_version: &str, domain: &str) -> String {
    format!("attack/attack-{attack_version}/domain-{domain}/techniques/")
}

/// `data/{framework}/attack-{v}/{framework}-{version}/{domain}/{framework}-{version}_attack-{v}-{domain}.json`:
/// the mapping files' framework id (`nist_800_53`, not the site's `nist`), and the version as the
/// landing page's path spells it, read by [`site_dataset_of_external_link`] (`intel-vpro-08.20.2024` is
/// framework `intel-vpro`, version `08.20.2024`).
pub(super) fn mapping_file_path(landing_page: &str, dataset: &DatasetKey) -> String {
    let link = format!("/{landing_page}");
    let site_version =
        site_dataset_of_external_link(&link).map_or(dataset.framework_version.as_str(), |site| site.site_version);
    let (framework, version, attack, domain) = (
        &dataset.framework,
        site_version,
        &dataset.attack_version,
        &dataset.domain,
    );
    format!("data/{framework}/attack-{attack}/{framework}-{version}/{domain}/{framework}-{version}_attack-{attack}-{domain}.json")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::site_page::dataset_of_external_link;

    #[test]
    fn mapping_files_are_named_with_the_sites_version_spelling() {
        let dataset = dataset_of_external_link("/external/aws/attack-16.1/domain-enterprise/aws-12.12.2024/").unwrap();
        assert_eq!(
            mapping_file_path("external/aws/attack-16.1/domain-enterprise/aws-12.12.2024/", &dataset),
            "data/aws/attack-16.1/aws-12.12.2024/enterprise/aws-12.12.2024_attack-16.1-enterprise.json"
        );
        let nist = dataset_of_external_link("/external/nist/attack-16.1/domain-enterprise/nist-rev5/").unwrap();
        assert_eq!(
            mapping_file_path("external/nist/attack-16.1/domain-enterprise/nist-rev5/", &nist),
            "data/nist_800_53/attack-16.1/nist_800_53-rev5/enterprise/nist_800_53-rev5_attack-16.1-enterprise.json"
        );
    }

    #[test]
    fn a_hyphenated_framework_ids_mapping_file_is_named_as_the_site_names_it() {
        let landing_page = "external/intel-vpro/attack-15.1/domain-enterprise/intel-vpro-08.20.2024/";
        let dataset = dataset_of_external_link(&format!("/{landing_page}")).unwrap();
        assert_eq!(
            mapping_file_path(landing_page, &dataset),
            "data/intel-vpro/attack-15.1/intel-vpro-08.20.2024/enterprise/intel-vpro-08.20.2024_attack-15.1-enterprise.json"
        );
    }
}
