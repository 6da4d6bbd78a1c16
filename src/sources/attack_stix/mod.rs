//! Reads ATT&CK STIX 2.1 bundles (`enterprise-attack-16.1.json`) to resolve technique ids to ATT&CK's
//! own attack-pattern objects, names and tactics.
//!
//! A bundle comes either among `build`'s inputs, recognized by its content (the site publishes the
//! bundles it was rendered from at `data/attack/<domain>-attack-<version>.json`), or named with
//! `--attack-stix`, which overrides a found bundle of the same domain and version.
//!
//! A bundle's domain comes from its content (the matrix, or the attack-patterns' `x_mitre_domains`);
//! its ATT&CK version from the file name (`…-16.1.json`, as MITRE publishes them), since the bundle
//! itself does not say. A bundle whose name carries no version serves every version of its domain.

mod index;
mod reachable;
mod walk;

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::TechniqueStatus;

/// An ATT&CK technique as the bundle describes it.
#[derive(Debug, Clone)]
pub struct Technique {
    pub stix_id: String,
    pub name: String,
    /// Tactic short names (`defense-evasion`), from the kill chain phases.
    pub tactics: Vec<String>,
    /// Revoked or deprecated in this ATT&CK version.
    pub retired: bool,
    /// Revoked: ATT&CK replaced it (by the technique in `revoked_by`, when the bundle says).
    pub revoked: bool,
    /// The ATT&CK id of the technique that replaced a revoked one (its `revoked-by` relationship).
    pub revoked_by: Option<String>,
}

/// What [`AttackBundle::recognize`] made of a text.
pub enum Recognized {
    Attack(Box<AttackBundle>),
    /// Any other text, handed back.
    Other(String),
}

/// One ATT&CK bundle, indexed.
pub struct AttackBundle {
    pub path: PathBuf,
    pub domain: String,
    pub version: Option<String>,
    techniques: HashMap<String, Technique>,
    /// The text of the objects an export can ask for (the rest is let go once indexed: [`reachable`]),
    /// and where in it each is, by STIX id.
    text: String,
    ranges: HashMap<String, Range<usize>>,
    matrices: Vec<Matrix>,
    /// The `x-mitre-tactic` objects, by STIX id.
    tactics: HashMap<String, Tactic>,
    /// [`AttackBundle::matrix`], made the first time it is asked for.
    matrix: std::sync::OnceLock<Vec<MatrixColumn>>,
}

/// A column of the ATT&CK matrix: a tactic, and its live techniques in id order, each with its live
/// sub-techniques under that tactic, in id order.
pub struct MatrixColumn {
    pub tactic: Tactic,
    pub techniques: Vec<(String, Vec<String>)>,
}

/// An `x-mitre-matrix`: its tactics in order.
#[derive(Debug)]
struct Matrix {
    id: String,
    /// Revoked or deprecated (Mobile 16.1 carries its old "Network-Based Effects" matrix).
    retired: bool,
    tactic_refs: Vec<String>,
}

impl AttackBundle {
    pub fn technique(&self, technique_id: &str) -> Option<&Technique> {
        self.techniques.get(technique_id)
    }

    /// Every technique of the bundle by ATT&CK id, in no particular order.
    pub fn techniques(&self) -> impl Iterator<Item = (&str, &Technique)> {
        self.techniques.iter().map(|(id, technique)| (id.as_str(), technique))
    }

    /// The bundle's file name (`enterprise-attack-16.1.json`).
    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .map_or_else(|| self.path.display().to_string(), |n| n.to_string_lossy().into_owned())
    }

    /// The object with this STIX id, parsed from the bundle's text.
    pub fn object(&self, stix_id: &str) -> Option<Value> {
        index::object(&self.text, self.ranges.get(stix_id)?)
    }

    /// Whether `bytes` may be an ATT&CK bundle: without either marker's type name anywhere in them,
    /// no bytes are ATT&CK's. ATT&CK's releases hold their collection first and their matrices
    /// last (the matrix of Enterprise 16.1 ends 17 KB before its 28.6 MB do), so the first and last
    /// 64 KiB are looked at before the whole, which bytes holding neither (a mapping file) are then
    /// scanned through.
    pub fn may_be(bytes: &[u8]) -> bool {
        const ENDS: usize = 64 << 10;
        let (head, tail) = (
            &bytes[..bytes.len().min(ENDS)],
            &bytes[bytes.len().saturating_sub(ENDS)..],
        );
        [head, tail, bytes].into_iter().any(names_a_marker)
    }

    /// Reads `text` (the file at `path`) when it is an ATT&CK bundle: a STIX bundle holding ATT&CK's
    /// collection or matrix object (the ICS bundle has no collection; attackmap's own STIX exports
    /// carry ATT&CK's attack-patterns but neither, so they are not taken for a catalogue). Any other
    /// text is handed back; an error for an ATT&CK bundle that names no domain of ATT&CK's.
    pub fn recognize(path: &Path, text: String) -> Result<Recognized> {
        Ok(match Self::from_text(path, &text)? {
            Some(bundle) => Recognized::Attack(bundle),
            None => Recognized::Other(text),
        })
    }

    /// [`AttackBundle::recognize`] of a text only borrowed: the bundle keeps a copy of the part an
    /// export can reach. `None` for any other text.
    pub fn from_text(path: &Path, text: &str) -> Result<Option<Box<AttackBundle>>> {
        // A mapping file is not scanned twice.
        if !Self::may_be(text.as_bytes()) {
            return Ok(None);
        }
        Self::indexed_if_attack_s(path, text)
    }

    /// [`AttackBundle::from_text`] of a file's bytes (mapped, not read: `crate::fs::Mapped`), as
    /// [`crate::sources::read_bytes`] would take them: UTF-8, after any byte order mark and white
    /// space. `None` when they are no ATT&CK bundle, to be read as any input is.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Option<Box<AttackBundle>>> {
        // Looked at for the markers before the whole is checked as UTF-8, and only once.
        if !Self::may_be(bytes) {
            return Ok(None);
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Ok(None);
        };
        Self::indexed_if_attack_s(path, text.trim_start_matches('\u{feff}').trim_start())
    }

    /// `text` indexed when it is an ATT&CK bundle (its markers already found in it).
    fn indexed_if_attack_s(path: &Path, text: &str) -> Result<Option<Box<AttackBundle>>> {
        match index::read(path, text) {
            Ok(index::Read::Bundle {
                bundle,
                attack_markers: true,
            }) => Ok(Some(bundle)),
            Ok(_) => Ok(None),
            Err(reason) => Err(Error::AttackBundle {
                path: path.to_path_buf(),
                reason,
            }),
        }
    }

    /// The matrix: a column per tactic of [`AttackBundle::tactics`], made once for every heatmap
    /// drawn of this bundle. A sub-technique is in a column when it and its parent are.
    pub fn matrix(&self) -> &[MatrixColumn] {
        self.matrix.get_or_init(|| {
            let mut live: Vec<(&str, &Technique)> = self.techniques().filter(|(_, t)| !t.retired).collect();
            // A parent's sub-techniques follow it in id order ('.' sorts before any digit).
            live.sort_unstable_by_key(|(id, _)| *id);
            self.tactics()
                .into_iter()
                .map(|tactic| {
                    let mut techniques: Vec<(String, Vec<String>)> = Vec::new();
                    for (id, _) in live.iter().filter(|(_, t)| t.tactics.contains(&tactic.short_name)) {
                        match id.split_once('.') {
                            None => techniques.push((id.to_string(), Vec::new())),
                            Some((parent, _)) => {
                                if let Some((_, subs)) = techniques.last_mut().filter(|(last, _)| last == parent) {
                                    subs.push(id.to_string());
                                }
                            }
                        }
                    }
                    MatrixColumn { tactic, techniques }
                })
                .collect()
        })
    }

    /// The matrix's tactics in ATT&CK's order: its `tactic_refs`. A bundle whose matrix lists none (a
    /// cut-down one) gives the tactics its techniques name, in the order of [`TACTIC_ORDER`].
    pub fn tactics(&self) -> Vec<Tactic> {
        let listed: Vec<Tactic> = self
            .matrices
            .iter()
            .filter(|m| !m.retired)
            .flat_map(|m| &m.tactic_refs)
            .filter_map(|r| self.tactics.get(r).cloned())
            .collect();
        if !listed.is_empty() {
            return listed;
        }
        let mut named: Vec<&str> = self
            .techniques
            .values()
            .flat_map(|t| t.tactics.iter().map(String::as_str))
            .collect();
        named.sort_by_key(|t| (TACTIC_ORDER.iter().position(|o| o == t).unwrap_or(usize::MAX), *t));
        named.dedup();
        named
            .into_iter()
            .map(|short_name| Tactic {
                short_name: short_name.to_string(),
                name: title_of(short_name),
            })
            .collect()
    }
}

/// A tactic: its short name (`defense-evasion`, as kill chain phases name it) and its name.
#[derive(Debug, Clone, PartialEq)]
pub struct Tactic {
    pub short_name: String,
    pub name: String,
}

/// ATT&CK's tactics in matrix order, Enterprise then Mobile and ICS's own: the order for a bundle
/// whose matrix does not list its tactics.
const TACTIC_ORDER: &[&str] = &[
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
    "evasion",
    "inhibit-response-function",
    "impair-process-control",
    "network-effects",
    "remote-service-effects",
];

/// `defense-evasion` → `Defense Evasion`.
fn title_of(short_name: &str) -> String {
    short_name
        .split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl std::fmt::Debug for AttackBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttackBundle")
            .field("path", &self.path)
            .field("domain", &self.domain)
            .field("version", &self.version)
            .field("techniques", &self.techniques.len())
            .finish_non_exhaustive()
    }
}

/// Every ATT&CK bundle given to a run.
#[derive(Debug, Default)]
pub struct AttackCatalog {
    pub bundles: Vec<AttackBundle>,
}

impl AttackCatalog {
    pub fn load(paths: &[PathBuf]) -> Result<AttackCatalog> {
        let bundles = paths.iter().map(|p| load_bundle(p)).collect::<Result<Vec<_>>>()?;
        Ok(AttackCatalog { bundles })
    }

    /// This catalogue with `explicit` bundles (`--attack-stix`) in front; a bundle of this catalogue
    /// whose domain and version an explicit one also covers is dropped.
    pub fn overridden_by(self, explicit: AttackCatalog) -> AttackCatalog {
        let covered = |b: &AttackBundle| {
            explicit
                .bundles
                .iter()
                .any(|e| e.domain == b.domain && e.version == b.version)
        };
        let found: Vec<AttackBundle> = self.bundles.into_iter().filter(|b| !covered(b)).collect();
        let mut bundles = explicit.bundles;
        bundles.extend(found);
        AttackCatalog { bundles }
    }

    /// The bundles of this domain that serve this ATT&CK version: the catalogue of its datasets.
    pub fn own_bundles<'a>(
        &'a self,
        attack_version: &'a str,
        domain: &'a str,
    ) -> impl Iterator<Item = &'a AttackBundle> {
        self.bundles_for(attack_version, domain)
            .into_iter()
            .filter(move |b| b.domain == domain)
    }

    /// Whether a bundle of this domain serves this ATT&CK version: what the statuses and gaps of a
    /// dataset need.
    pub fn covers(&self, attack_version: &str, domain: &str) -> bool {
        self.own_bundles(attack_version, domain).next().is_some()
    }

    /// What ATT&CK says of a technique cited by a dataset of this version and domain: live, revoked
    /// (and by what), deprecated, a technique of another domain of the version, or unknown. `None`
    /// when no bundle of the dataset's own domain and version is in the catalogue.
    pub fn status(&self, attack_version: &str, domain: &str, technique_id: &str) -> Option<TechniqueStatus> {
        if !self.covers(attack_version, domain) {
            return None;
        }
        let bundles = self.bundles_for(attack_version, domain);
        let Some((bundle, technique)) = bundles.iter().find_map(|b| Some((b, b.technique(technique_id)?))) else {
            return Some(TechniqueStatus::Unknown);
        };
        Some(if bundle.domain != domain {
            TechniqueStatus::OtherDomain {
                domain: bundle.domain.clone(),
            }
        } else if technique.revoked {
            TechniqueStatus::Revoked {
                by: technique.revoked_by.clone(),
            }
        } else if technique.retired {
            TechniqueStatus::Deprecated
        } else {
            TechniqueStatus::Live
        })
    }

    /// The bundles to resolve techniques of an ATT&CK version and domain, in order of preference: the
    /// domain's own (named for that version, else unversioned), then the other domains' of that
    /// version — mapping files do cite techniques of another domain (NIST rev5 16.1 Enterprise maps
    /// SC-12 to the Mobile technique T1521.003).
    pub fn bundles_for(&self, attack_version: &str, domain: &str) -> Vec<&AttackBundle> {
        let serves = |b: &&AttackBundle| b.version.as_deref().is_none_or(|v| v == attack_version);
        let mut bundles: Vec<&AttackBundle> = self.bundles.iter().filter(serves).collect();
        bundles.sort_by_key(|b| (b.domain != domain, b.version.is_none(), b.path.clone()));
        bundles
    }
}

fn load_bundle(path: &Path) -> Result<AttackBundle> {
    let fail = |reason: String| Error::AttackBundle {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    match index::read(path, &text).map_err(fail)? {
        index::Read::Bundle { bundle, .. } => Ok(*bundle),
        index::Read::NotABundle => Err(fail(not_json(&text).unwrap_or_else(|| {
            "expected a STIX bundle (\"type\": \"bundle\" and an \"objects\" array)".into()
        }))),
    }
}

/// Whether `bytes` hold `x-mitre-collection` or `x-mitre-matrix`, in one pass to the first.
fn names_a_marker(bytes: &[u8]) -> bool {
    const PREFIX: &[u8] = b"x-mitre-";
    memchr::memmem::find_iter(bytes, PREFIX).any(|at| {
        let rest = &bytes[at + PREFIX.len()..];
        rest.starts_with(b"collection") || rest.starts_with(b"matrix")
    })
}

/// Why a text that is no bundle is not even JSON (`not valid JSON: … at line 1 column 5`), or
/// `None` when it is JSON of another shape.
pub fn not_json(text: &str) -> Option<String> {
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .err()
        .map(|e| format!("not valid JSON: {e}"))
}

/// `enterprise-attack-16.1.json` → `16.1`.
fn version_from_file_name(path: &Path) -> Option<String> {
    let stem = path.file_stem()?.to_str()?;
    let candidate = stem.rsplit(['-', '_', 'v']).next()?;
    let is_version = candidate.split('.').count() >= 2
        && candidate
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    is_version.then(|| candidate.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_comes_from_mitres_file_names() {
        assert_eq!(
            version_from_file_name(Path::new("a/enterprise-attack-16.1.json")).as_deref(),
            Some("16.1")
        );
        assert_eq!(version_from_file_name(Path::new("enterprise-attack.json")), None);
    }

    #[test]
    fn bytes_may_be_attack_s_when_a_marker_type_is_anywhere_in_them() {
        let object = |kind: &str| format!(r#"{{"type": "bundle", "objects": [{{"type": "{kind}"}}]}}"#);
        assert!(AttackBundle::may_be(object("x-mitre-matrix").as_bytes()));
        assert!(AttackBundle::may_be(object("x-mitre-collection").as_bytes()));
        let after_other_types = format!("{} {}", object("x-mitre-tactic"), object("x-mitre-matrix"));
        assert!(AttackBundle::may_be(after_other_types.as_bytes()));
        assert!(!AttackBundle::may_be(object("x-mitre-tactic").as_bytes()));
        assert!(!AttackBundle::may_be(b"x-mitre-"), "the prefix at the very end");
        assert!(!AttackBundle::may_be(b""));
    }

    #[test]
    fn a_file_s_bytes_read_as_a_bundle_as_its_text_is_read() {
        let bundle = serde_json::json!({"type": "bundle", "objects": [
            {"type": "x-mitre-matrix", "id": "x-mitre-matrix--1", "tactic_refs": [],
             "external_references": [{"source_name": "mitre-attack", "external_id": "enterprise-attack"}]},
            {"type": "attack-pattern", "id": "attack-pattern--1", "name": "Impair Defenses",
             "created_by_ref": "identity--1",
             "external_references": [{"source_name": "mitre-attack", "external_id": "T1562"}]},
            {"type": "identity", "id": "identity--1", "name": "The MITRE Corporation"},
            {"type": "relationship", "id": "relationship--1", "relationship_type": "uses"},
        ]})
        .to_string();
        let path = Path::new("enterprise-attack-16.1.json");
        let Recognized::Attack(read) = AttackBundle::recognize(path, bundle.clone()).unwrap() else {
            panic!("a bundle with a matrix is ATT&CK's");
        };
        let led = format!("\u{feff} \n{bundle}");
        let from_bytes = AttackBundle::from_bytes(path, led.as_bytes())
            .unwrap()
            .expect("ATT&CK's");
        assert_eq!(
            (&from_bytes.domain, &from_bytes.text, &from_bytes.ranges),
            (&read.domain, &read.text, &read.ranges)
        );
        assert_eq!(from_bytes.technique("T1562").unwrap().name, "Impair Defenses");
        assert!(from_bytes.object("identity--1").is_some() && from_bytes.object("relationship--1").is_none());
        let not_utf8 = [b"\xff".as_slice(), bundle.as_bytes()].concat();
        assert!(AttackBundle::from_bytes(path, &not_utf8).unwrap().is_none());
        assert!(
            AttackBundle::from_bytes(path, br#"{"metadata": {}, "mapping_objects": []}"#)
                .unwrap()
                .is_none()
        );
        let no_domain = r#"{"type": "bundle", "objects": [{"type": "x-mitre-matrix", "id": "x-mitre-matrix--1"}]}"#;
        assert!(AttackBundle::from_bytes(path, no_domain.as_bytes()).is_err());
    }

    #[test]
    fn tactics_come_in_the_order_of_the_live_matrix() {
        let tactic = |id: &str, short: &str| serde_json::json!({"type": "x-mitre-tactic", "id": id, "name": short.to_uppercase(), "x_mitre_shortname": short});
        let bundle = serde_json::json!({"type": "bundle", "objects": [
            {"type": "x-mitre-matrix", "id": "x-mitre-matrix--a", "x_mitre_deprecated": true,
             "external_references": [{"source_name": "mitre-attack", "external_id": "mobile-attack"}],
             "tactic_refs": ["x-mitre-tactic--old"]},
            {"type": "x-mitre-matrix", "id": "x-mitre-matrix--b",
             "external_references": [{"source_name": "mitre-attack", "external_id": "mobile-attack"}],
             "tactic_refs": ["x-mitre-tactic--2", "x-mitre-tactic--1"]},
            tactic("x-mitre-tactic--old", "network-effects"),
            tactic("x-mitre-tactic--1", "impact"),
            tactic("x-mitre-tactic--2", "initial-access"),
        ]});
        let Recognized::Attack(bundle) =
            AttackBundle::recognize(Path::new("mobile-attack-16.1.json"), bundle.to_string()).unwrap()
        else {
            panic!("a bundle with a matrix is ATT&CK's");
        };
        let order: Vec<String> = bundle.tactics().into_iter().map(|t| t.short_name).collect();
        assert_eq!(
            order,
            ["initial-access", "impact"],
            "the deprecated matrix's tactics are left out"
        );
    }
}
