//! `--carry-to`: the ATT&CK release to derive, from every selected dataset mapped to an older
//! release, a dataset on ([`crate::transforms::carry`]; each derived dataset is built as a unit of
//! [`super::datasets`]).

use crate::sources::attack_stix::AttackCatalog;

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
