//! Checks a fetched body before it may replace the stored copy: it must be what its URL promised.
//! A server that answers 200 with an error page, `{}`, a truncated file or a landing page whose cut
//! notice we no longer recognize must not poison raw/, where an ETag would keep it for good.

use std::path::Path;

use serde_json::Value;

use crate::model::SourceKind;
use crate::sources::{attack_stix, mapping_file, site_page, strict_json, Outcome};

/// The rows at which the site cuts a framework landing page.
const LANDING_PAGE_CUT: usize = 550;

/// What a site path promises to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Promise {
    /// `data/attack/<domain>-attack-<version>.json`
    AttackBundle,
    /// `data/<framework>/…/*.json`
    MappingFile,
    /// `attack/attack-<v>/domain-<d>/techniques/`
    TechniqueIndex,
    /// `attack/attack-<v>/domain-<d>/techniques/T1562/`
    TechniquePage,
    /// `external/<fw>/attack-<v>/domain-<d>/<fw>-<version>/`
    LandingPage,
    /// `external/…/all-data.html`
    AllDataPage,
    /// Anything else the crawl asks for (capability pages): a Mappings Explorer page.
    Page,
}

impl Promise {
    pub fn of(site_path: &str) -> Promise {
        let segments: Vec<&str> = site_path.trim_end_matches('/').split('/').collect();
        match segments.as_slice() {
            ["data", "attack", ..] if site_path.ends_with(".json") => Promise::AttackBundle,
            ["data", ..] if site_path.ends_with(".json") => Promise::MappingFile,
            ["attack", _, _, "techniques"] => Promise::TechniqueIndex,
            ["attack", _, _, "techniques", _] => Promise::TechniquePage,
            ["external", .., "all-data.html"] => Promise::AllDataPage,
            ["external", _, _, _, _] => Promise::LandingPage,
            _ => Promise::Page,
        }
    }
}

/// `Ok` when `body` is what `site_path` promised, else what it is instead.
pub fn check(site_path: &str, body: &[u8]) -> Result<(), String> {
    let path = Path::new(site_path);
    let text = std::str::from_utf8(body).map_err(|e| format!("not UTF-8 text: {e}"))?;
    let promise = Promise::of(site_path);
    if matches!(promise, Promise::AttackBundle | Promise::MappingFile) {
        if promise == Promise::AttackBundle {
            return match attack_stix::AttackBundle::from_text(path, text) {
                Ok(Some(_)) => Ok(()),
                Ok(None) => Err(attack_stix::not_json(text).unwrap_or_else(|| "JSON, but not an ATT&CK bundle".into())),
                Err(e) => Err(e.to_string()),
            };
        }
        let document: Value = strict_json::parse(text).map_err(|e| format!("not valid JSON: {e}"))?;
        if !mapping_file::looks_like_mapping_file(&document) {
            return Err("JSON, but not a mapping file (no metadata and mapping_objects)".into());
        }
        let parsed = mapping_file::read(path, site_path, &document).map_err(|e| e.to_string())?;
        if parsed.rows.is_empty() {
            return Err(format!(
                "a mapping file that supplies no mapping ({} mapping_objects, {} rejected)",
                mapping_objects(&document),
                parsed.rejected.len()
            ));
        }
        return Ok(());
    }
    let outcome =
        site_page::read(path, site_path, text, &crate::sources::NothingSuperseded).map_err(|e| e.to_string())?;
    let kind = match &outcome {
        Outcome::Parsed(parsed) => Some(parsed.kind),
        Outcome::Skipped(reason) => return Err(reason.clone()),
        _ => None,
    };
    let expected = match promise {
        Promise::TechniqueIndex => matches!(outcome, Outcome::NoMappings(_)),
        Promise::TechniquePage => kind == Some(SourceKind::TechniquePage),
        Promise::AllDataPage => kind == Some(SourceKind::AllDataPage),
        Promise::LandingPage => matches!(kind, Some(SourceKind::LandingPage | SourceKind::AllDataPage)),
        _ => true,
    };
    if !expected {
        return Err(format!("a Mappings Explorer page, but not a {promise:?}"));
    }
    if let (Promise::LandingPage, Outcome::Parsed(parsed)) = (promise, &outcome) {
        if parsed.cut.is_none() && parsed.rows.len() + parsed.rejected.len() >= LANDING_PAGE_CUT {
            return Err(format!(
                "a landing page of {} rows without the site's cut notice: it may be cut in a way attackmap no longer recognizes",
                parsed.rows.len()
            ));
        }
    }
    Ok(())
}

/// How far a mapping file may shrink against the copy it would replace: to a tenth of its
/// `mapping_objects`, not less. Below, it is a collapse (a file emptied upstream or cut in a way
/// that still parses), not an update: the stored copy is kept.
const MAPPING_FILE_COLLAPSE: usize = 10;

/// `Ok` when `body`, a mapping file that passed [`check`], may replace `stored` (the stored copy's
/// bytes): it is not a collapse of it.
pub fn check_replacing(site_path: &str, body: &[u8], stored: &[u8]) -> Result<(), String> {
    if Promise::of(site_path) != Promise::MappingFile {
        return Ok(());
    }
    let count = |bytes: &[u8]| serde_json::from_slice::<Value>(bytes).map_or(0, |document| mapping_objects(&document));
    let (new, previous) = (count(body), count(stored));
    if new * MAPPING_FILE_COLLAPSE < previous {
        return Err(format!(
            "a mapping file of {new} mapping_objects where the stored copy has {previous}: a collapse, not an update (delete the stored copy from raw/ to accept it)"
        ));
    }
    Ok(())
}

fn mapping_objects(document: &Value) -> usize {
    document["mapping_objects"].as_array().map_or(0, Vec::len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_paths_say_what_they_promise() {
        for (path, promise) in [
            ("data/attack/enterprise-attack-16.1.json", Promise::AttackBundle),
            (
                "data/aws/attack-16.1/aws-12.12.2024/enterprise/aws-12.12.2024_attack-16.1-enterprise.json",
                Promise::MappingFile,
            ),
            (
                "attack/attack-16.1/domain-enterprise/techniques/",
                Promise::TechniqueIndex,
            ),
            (
                "attack/attack-16.1/domain-enterprise/techniques/T1562/",
                Promise::TechniquePage,
            ),
            (
                "external/nist/attack-16.1/domain-enterprise/nist-rev5/",
                Promise::LandingPage,
            ),
            (
                "external/nist/attack-16.1/domain-enterprise/nist-rev5/all-data.html",
                Promise::AllDataPage,
            ),
        ] {
            assert_eq!(Promise::of(path), promise, "{path}");
        }
    }

    #[test]
    fn an_error_page_empty_json_or_a_truncated_file_is_not_what_was_promised() {
        let file = "data/x/attack-16.1/x-1/enterprise/x-1_attack-16.1-enterprise.json";
        for body in [&b"<html>Not Found</html>"[..], b"null", b"{}", b"{\"metadata\":", b""] {
            assert!(check(file, body).is_err(), "{}", String::from_utf8_lossy(body));
        }
        let page = "attack/attack-16.1/domain-enterprise/techniques/T1562/";
        assert!(check(page, b"{\"metadata\":{}}").is_err());
        assert!(
            check(page, b"<html><title>Mappings Explorer</title>").is_err(),
            "truncated"
        );
    }
}
