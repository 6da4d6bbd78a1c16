//! Identifiers that come from upstream data and end up in file names: the pattern each must match
//! at ingest, and the one function that joins a name onto an output directory.
//!
//! Two locks on one door. A dataset key (framework, framework version, ATT&CK version, domain) read
//! from a file or a page is checked here before its rows go further; a row whose key fails is
//! rejected and reported. And every output file named after data goes through [`file_in`], which
//! refuses any name that is not one plain path component, whatever checks came before.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::model::DatasetKey;

/// The longest framework id or framework version accepted.
pub const MAX_LEN: usize = 64;

/// The ATT&CK domains.
pub const DOMAINS: [&str; 3] = ["enterprise", "mobile", "ics"];

/// A dataset key field that does not match its pattern: which field, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadIdentifier {
    pub field: &'static str,
    pub reason: String,
}

/// Checks every field of a dataset key:
/// - `framework` and `framework_version`: 1 to 64 ASCII letters, digits, `.`, `_` or `-`, starting
///   with a letter or digit, never `..` (versions written with `/` are normalized to `.` first);
/// - `attack_version`: digits separated by single dots (`16.1`), at most 16 characters;
/// - `domain`: `enterprise`, `mobile` or `ics`.
pub fn check_dataset(key: &DatasetKey) -> Result<(), BadIdentifier> {
    check_name("framework", &key.framework)?;
    check_name("framework_version", &key.framework_version)?;
    check_attack_version(&key.attack_version)?;
    if !DOMAINS.contains(&key.domain.as_str()) {
        return Err(BadIdentifier {
            field: "domain",
            reason: format!("expected enterprise, mobile or ics, found {}", shown(&key.domain)),
        });
    }
    Ok(())
}

/// Checks a selector of `fetch` and `refresh` (`--framework`, `--attack-version`, `--domain`)
/// against the pattern of the field it selects on.
pub fn check_selector(field: &'static str, value: &str) -> Result<(), BadIdentifier> {
    match field {
        "attack_version" => check_attack_version(value),
        "domain" if !DOMAINS.contains(&value) => Err(BadIdentifier {
            field,
            reason: format!("expected enterprise, mobile or ics, found {}", shown(value)),
        }),
        "domain" => Ok(()),
        _ => check_name(field, value),
    }
}

fn check_name(field: &'static str, value: &str) -> Result<(), BadIdentifier> {
    let bad = |expected: &str| {
        Err(BadIdentifier {
            field,
            reason: format!("expected {expected}, found {}", shown(value)),
        })
    };
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-');
    if value.is_empty() || value.len() > MAX_LEN {
        return bad("1 to 64 characters");
    }
    if !value.bytes().all(allowed) {
        return bad("only ASCII letters, digits, '.', '_' and '-'");
    }
    if !value.as_bytes()[0].is_ascii_alphanumeric() || value.contains("..") {
        return bad("a letter or digit first and no '..'");
    }
    Ok(())
}

fn check_attack_version(value: &str) -> Result<(), BadIdentifier> {
    let numbers_and_dots = value.len() <= 16
        && value
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    if numbers_and_dots {
        Ok(())
    } else {
        Err(BadIdentifier {
            field: "attack_version",
            reason: format!("expected numbers separated by dots (16.1), found {}", shown(value)),
        })
    }
}

/// ATT&CK versions in release order: `8.2` < `16.1` < `17.1` (numbers compared part by part).
pub fn compare_attack_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |v: &str| -> Vec<u64> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    parts(a).cmp(&parts(b)).then_with(|| a.cmp(b))
}

/// A value as a message shows it: quoted, control characters escaped, cut after 80 characters.
pub fn shown(value: &str) -> String {
    const LIMIT: usize = 80;
    let count = value.chars().count();
    if count <= LIMIT {
        return format!("{value:?}");
    }
    let head: String = value.chars().take(LIMIT).collect();
    format!("{head:?}… ({count} characters)")
}

/// `dir/name`, where `name` must be one plain path component: not empty, not `.` or `..`, and
/// holding no `/`, `\` or NUL (so not absolute either). Every file named after data is made here.
pub fn file_in(dir: &Path, name: &str) -> Result<PathBuf> {
    let refused = match name {
        "" => Some("an empty name"),
        "." | ".." => Some("a name that leaves the directory"),
        _ if name.contains(['/', '\\']) => Some("a name holding a path separator"),
        _ if name.contains('\0') => Some("a name holding a NUL"),
        _ => None,
    };
    match refused {
        Some(reason) => Err(Error::UnsafeOutputName {
            dir: dir.to_path_buf(),
            name: shown(name),
            reason,
        }),
        None => Ok(dir.join(name)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn attack_versions_compare_as_numbers() {
        assert!(compare_attack_versions("9.0", "10.0").is_lt());
        assert!(compare_attack_versions("16.1", "18.1").is_lt());
        assert!(compare_attack_versions("17.1", "17.0").is_gt());
    }

    use super::*;

    fn key(framework: &str, framework_version: &str, attack_version: &str, domain: &str) -> DatasetKey {
        DatasetKey {
            framework: framework.into(),
            framework_version: framework_version.into(),
            attack_version: attack_version.into(),
            domain: domain.into(),
        }
    }

    #[test]
    fn the_sites_identifiers_pass() {
        for (framework, version) in [
            ("nist_800_53", "rev5"),
            ("cri_profile", "v2.1"),
            ("aws", "12.12.2024"),
            ("veris", "1.4.0"),
        ] {
            assert_eq!(check_dataset(&key(framework, version, "16.1", "enterprise")), Ok(()));
        }
    }

    #[test]
    fn traversal_separators_unicode_and_long_ids_are_refused() {
        let field_of = |k: DatasetKey| check_dataset(&k).unwrap_err().field;
        assert_eq!(
            field_of(key("../../../evil", "rev5", "16.1", "enterprise")),
            "framework"
        );
        assert_eq!(
            field_of(key("nist", "......evil", "16.1", "enterprise")),
            "framework_version"
        );
        assert_eq!(
            field_of(key("nist", ".hidden", "16.1", "enterprise")),
            "framework_version"
        );
        assert_eq!(field_of(key("nist", "rev5", "../16.1", "enterprise")), "attack_version");
        assert_eq!(field_of(key("nist", "rev5", "16.1", "../../x")), "domain");
        assert_eq!(field_of(key("nïst", "rev5", "16.1", "enterprise")), "framework");
        assert_eq!(
            field_of(key(&"a".repeat(10_000), "rev5", "16.1", "enterprise")),
            "framework"
        );
        let long = check_dataset(&key(&"a".repeat(10_000), "rev5", "16.1", "enterprise")).unwrap_err();
        assert!(long.reason.len() < 200, "{}", long.reason);
    }

    #[test]
    fn only_plain_names_become_files() {
        let dir = Path::new("out/stix");
        assert_eq!(file_in(dir, "a.json").unwrap(), Path::new("out/stix/a.json"));
        for name in ["", ".", "..", "../x.json", "/etc/passwd", "a\\b", "a\0b"] {
            assert!(file_in(dir, name).is_err(), "{name:?}");
        }
    }
}
