//! Indexes a bundle's text without building a JSON tree of it: each object of its array is read
//! where it stands ([`walk`]), only for the few properties attackmap uses (typed, borrowed, every
//! other property skipped), and its place in the text noted. The text is borrowed (a file's mapped
//! pages, or a text read), never copied while indexed; then only the objects an export can ask for
//! are copied out to be kept (`reachable`: 3.9 of the 33 MB of ATT&CK 16.1's three bundles), each
//! parsed whole only when an export asks for it.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;

use super::{reachable, walk, AttackBundle, Matrix, Tactic, Technique};

/// The properties of an object that attackmap reads; the others are skipped unparsed.
#[derive(Deserialize)]
struct Header<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(default)]
    revoked: Option<bool>,
    #[serde(default)]
    x_mitre_deprecated: Option<bool>,
    #[serde(borrow, default)]
    external_references: Vec<Reference<'a>>,
    #[serde(borrow, default)]
    kill_chain_phases: Vec<Phase<'a>>,
    #[serde(borrow, default)]
    x_mitre_domains: Vec<Cow<'a, str>>,
    #[serde(borrow, default)]
    x_mitre_shortname: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tactic_refs: Vec<Cow<'a, str>>,
    #[serde(borrow, default)]
    relationship_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    source_ref: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    target_ref: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Reference<'a> {
    #[serde(borrow, default)]
    source_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    external_id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Phase<'a> {
    #[serde(borrow, default)]
    kill_chain_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    phase_name: Option<Cow<'a, str>>,
}

impl Header<'_> {
    fn mitre_attack_id(&self) -> Option<String> {
        self.external_references
            .iter()
            .find(|r| r.source_name.as_deref() == Some("mitre-attack"))
            .and_then(|r| r.external_id.as_deref())
            .map(String::from)
    }

    fn retired(&self) -> bool {
        self.revoked == Some(true) || self.x_mitre_deprecated == Some(true)
    }
}

/// What reading a text as a bundle found.
pub(super) enum Read {
    /// Not a STIX bundle (or not JSON): another kind of input.
    NotABundle,
    /// A STIX bundle, indexed; `attack_markers` when it holds ATT&CK's collection or matrix object
    /// (the ICS bundle has no collection; attackmap's own exports have neither).
    Bundle {
        bundle: Box<AttackBundle>,
        attack_markers: bool,
    },
}

/// Reads `text` (the file at `path`) as a STIX bundle, keeping a copy of what an export can reach of
/// it when it is one. An error only for a bundle that cannot serve as a catalogue (its domain is
/// missing or not ATT&CK's).
pub(super) fn read(path: &Path, text: &str) -> Result<Read, String> {
    let Some(Indexed {
        domain,
        attack_markers,
        techniques,
        ranges,
        matrices,
        tactics,
    }) = index(text)?
    else {
        return Ok(Read::NotABundle);
    };
    let starts = techniques.values().map(|technique| technique.stix_id.as_str());
    let (text, ranges) = reachable::kept_text(text, ranges, starts);
    let bundle = AttackBundle {
        path: path.to_path_buf(),
        domain,
        version: super::version_from_file_name(path),
        techniques,
        text,
        ranges,
        matrices,
        tactics,
        matrix: std::sync::OnceLock::new(),
    };
    Ok(Read::Bundle {
        bundle: Box::new(bundle),
        attack_markers,
    })
}

/// What a bundle's index holds, apart from its text.
struct Indexed {
    domain: String,
    attack_markers: bool,
    techniques: HashMap<String, Technique>,
    ranges: HashMap<String, Range<usize>>,
    matrices: Vec<Matrix>,
    tactics: HashMap<String, Tactic>,
}

/// Indexes `text` when it is a STIX bundle; `None` when it is not one.
fn index(text: &str) -> Result<Option<Indexed>, String> {
    let mut domain = None;
    let mut attack_markers = false;
    let mut techniques: HashMap<String, Technique> = HashMap::new();
    let mut ranges = HashMap::new();
    let mut attack_ids: HashMap<String, String> = HashMap::new();
    let mut revoked_by: HashMap<String, String> = HashMap::new();
    let mut matrices = Vec::new();
    let mut tactics = HashMap::new();
    let is_bundle = walk::bundle_items(text, |range, header: Option<Header>| {
        let Some(header) = header else {
            return;
        };
        let Some(id) = header.id.as_deref().map(String::from) else {
            return;
        };
        match header.kind.as_deref() {
            Some("x-mitre-collection") => attack_markers = true,
            Some("x-mitre-matrix") => {
                attack_markers = true;
                domain = domain.take().or_else(|| header.mitre_attack_id());
                matrices.push(Matrix {
                    id: id.clone(),
                    retired: header.retired(),
                    tactic_refs: header.tactic_refs.iter().map(|r| r.to_string()).collect(),
                });
            }
            Some("x-mitre-tactic") => {
                if let (Some(short_name), Some(name)) = (&header.x_mitre_shortname, &header.name) {
                    let tactic = Tactic {
                        short_name: short_name.to_string(),
                        name: name.to_string(),
                    };
                    tactics.insert(id.clone(), tactic);
                }
            }
            Some("attack-pattern") => {
                if domain.is_none() {
                    domain = header.x_mitre_domains.first().map(|d| d.to_string());
                }
                if let Some(technique_id) = header.mitre_attack_id() {
                    attack_ids.insert(id.clone(), technique_id.clone());
                    let keep_existing = techniques.get(&technique_id).is_some_and(|t| !t.retired);
                    if !keep_existing {
                        techniques.insert(technique_id, technique(&id, &header));
                    }
                }
            }
            Some("relationship") if header.relationship_type.as_deref() == Some("revoked-by") => {
                if let (Some(from), Some(to)) = (&header.source_ref, &header.target_ref) {
                    revoked_by.insert(from.to_string(), to.to_string());
                }
            }
            _ => {}
        }
        ranges.insert(id, range);
    });
    if !is_bundle {
        return Ok(None);
    }
    for technique in techniques.values_mut().filter(|t| t.revoked) {
        technique.revoked_by = revoked_by
            .get(&technique.stix_id)
            .and_then(|target| attack_ids.get(target))
            .cloned();
    }
    let domain = domain
        .and_then(|d| d.strip_suffix("-attack").map(String::from))
        .ok_or_else(|| "no ATT&CK matrix or attack-pattern names the domain".to_string())?;
    if !crate::identifiers::DOMAINS.contains(&domain.as_str()) {
        return Err(format!(
            "its matrix names the domain {}, expected enterprise-attack, mobile-attack or ics-attack",
            crate::identifiers::shown(&domain)
        ));
    }
    matrices.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Some(Indexed {
        domain,
        attack_markers,
        techniques,
        ranges,
        matrices,
        tactics,
    }))
}

fn technique(stix_id: &str, header: &Header) -> Technique {
    Technique {
        stix_id: stix_id.to_string(),
        name: header.name.as_deref().unwrap_or_default().to_string(),
        tactics: header
            .kill_chain_phases
            .iter()
            .filter(|p| p.kill_chain_name.as_deref().is_some_and(|n| n.starts_with("mitre-")))
            .filter_map(|p| p.phase_name.as_deref().map(String::from))
            .collect(),
        retired: header.retired(),
        revoked: header.revoked == Some(true),
        revoked_by: None,
    }
}

/// The raw JSON of the object at `range` of `text`.
pub(super) fn object(text: &str, range: &Range<usize>) -> Option<serde_json::Value> {
    serde_json::from_str(text.get(range.clone())?).ok()
}
