//! Sources: finds the input files and reads each, recognized by its content, into normalized rows.

pub mod attack_stix;
pub mod http;
pub mod mapping_file;
mod not_inputs;
pub mod site_page;
pub mod strict_json;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::{DatasetKey, MappingRow, SourceKind};
use attack_stix::{AttackBundle, Recognized};
pub use not_inputs::NotAnInput;

/// A row of a source that could not be read, and why: reported and counted, never silently dropped.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RejectedRow {
    pub source: String,
    pub element: String,
    pub reason: String,
    /// How many source rows this entry stands for (all the rows of a file whose metadata is bad).
    pub rows: usize,
}

/// A landing page's table cut by the site: `shown` of `total` mappings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Cut {
    pub shown: usize,
    pub total: usize,
}

/// The rows read from one input.
#[derive(Debug)]
pub struct ParsedInput {
    pub kind: SourceKind,
    pub rows: Vec<MappingRow>,
    pub rejected: Vec<RejectedRow>,
    pub cut: Option<Cut>,
    /// Rows of datasets that a better kind of source supplies, reduced as they were read to what the
    /// cross-check needs ([`ParsedInput::supersede`]).
    pub superseded: Vec<SupersededRows>,
}

/// Rows of one dataset that a better kind of source supplies: how many, and their distinct
/// (capability, technique) edges. They are counted as superseded and cross-checked, never kept whole.
#[derive(Debug, Clone, PartialEq)]
pub struct SupersededRows {
    pub dataset: DatasetKey,
    pub rows: usize,
    pub edges: BTreeSet<(String, String)>,
}

/// What is known, before an input is read, of the datasets better kinds of source supply
/// (`transforms::select::best_kinds` of the mapping files read first).
pub trait Supersession: Sync {
    /// Whether a better kind of source than `kind` supplies `dataset`.
    fn supersedes(&self, dataset: &DatasetKey, kind: SourceKind) -> bool;
}

/// Nothing known yet: every row is kept whole.
pub struct NothingSuperseded;

impl Supersession for NothingSuperseded {
    fn supersedes(&self, _: &DatasetKey, _: SourceKind) -> bool {
        false
    }
}

/// The best kind of source of each dataset.
impl Supersession for BTreeMap<DatasetKey, SourceKind> {
    fn supersedes(&self, dataset: &DatasetKey, kind: SourceKind) -> bool {
        self.get(dataset).is_some_and(|best| *best < kind)
    }
}

impl ParsedInput {
    /// Reduces the rows of datasets that `supersession` says a better kind of source supplies to
    /// [`SupersededRows`]: their count and edges, all the selection will ask of them. The other rows
    /// stay, in order.
    pub fn supersede(&mut self, supersession: &dyn Supersession) {
        let kind = self.kind;
        // Nothing ranks above a mapping file: its rows are not even looked at.
        if kind == SourceKind::MappingFile {
            return;
        }
        let mut tally = SupersededTally::default();
        self.rows.retain(|row| {
            let dataset = row.dataset();
            if !supersession.supersedes(&dataset, kind) {
                return true;
            }
            let edge = row
                .edge()
                .map(|(capability, technique)| (capability.to_string(), technique.to_string()));
            tally.count(dataset, edge);
            false
        });
        self.rows.shrink_to_fit();
        self.superseded.extend(tally.into_rows());
    }
}

/// Superseded rows counted one by one, by dataset.
#[derive(Default)]
pub struct SupersededTally(BTreeMap<DatasetKey, SupersededRows>);

impl SupersededTally {
    /// Counts a row of `dataset`, and its edge when it maps one.
    pub fn count(&mut self, dataset: DatasetKey, edge: Option<(String, String)>) {
        let rows = self.0.entry(dataset).or_insert_with_key(|dataset| SupersededRows {
            dataset: dataset.clone(),
            rows: 0,
            edges: BTreeSet::new(),
        });
        rows.rows += 1;
        rows.edges.extend(edge);
    }

    /// The rows counted, in dataset order.
    pub fn into_rows(self) -> Vec<SupersededRows> {
        self.0.into_values().collect()
    }
}

impl ParsedInput {
    pub fn empty(kind: SourceKind) -> ParsedInput {
        ParsedInput::rows(kind, Vec::new())
    }

    pub fn rows(kind: SourceKind, rows: Vec<MappingRow>) -> ParsedInput {
        ParsedInput {
            kind,
            rows,
            rejected: Vec::new(),
            cut: None,
            superseded: Vec::new(),
        }
    }
}

/// What became of one input file.
#[derive(Debug)]
pub enum Outcome {
    Parsed(ParsedInput),
    /// Not a kind of input attackmap knows: reported and skipped (a warning).
    Skipped(String),
    /// A Mappings Explorer page that carries no mappings (the technique index): noted, not a warning.
    NoMappings(String),
    /// An ATT&CK STIX bundle: the catalogue of its domain and version.
    AttackBundle(Box<AttackBundle>),
    /// A file known by its name not to be an input (a site export of a mapping file, a style sheet
    /// of the site …): never read, counted by kind, not a warning.
    NotAnInput(NotAnInput),
}

/// One input file and what became of it.
#[derive(Debug)]
pub struct Input {
    pub path: PathBuf,
    /// What rows record as their `source`: the path relative to the input it was found under.
    pub name: String,
    pub outcome: Outcome,
}

/// A file named by the inputs: where it is, and its name relative to the input it was found under
/// (`data/nist_800_53/…json` for `raw/data/nist_800_53/…json` under `raw`), which is what the data
/// records as its source, so that moving raw/ or running on another machine changes no row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct InputFile {
    pub path: PathBuf,
    pub name: String,
    /// A symbolic link met in a directory: never followed, reported.
    pub is_link: bool,
}

/// The files named by `inputs`: files as given, directories walked recursively (hidden entries
/// skipped, symbolic links listed but not followed), sorted and without repeats, so that the order
/// of the arguments does not matter.
pub fn discover(inputs: &[PathBuf]) -> Result<Vec<InputFile>> {
    let mut files = Vec::new();
    for input in inputs {
        let metadata = std::fs::metadata(input).map_err(|source| Error::ReadInput {
            path: input.clone(),
            source,
        })?;
        if !metadata.is_dir() {
            let name = input
                .file_name()
                .map_or_else(|| input.display().to_string(), |n| n.to_string_lossy().into_owned());
            files.push(InputFile {
                path: input.clone(),
                name,
                is_link: false,
            });
            continue;
        }
        let walker = walkdir::WalkDir::new(input)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        for entry in walker {
            let entry = entry.map_err(|source| Error::WalkInput {
                path: input.clone(),
                source,
            })?;
            let is_link = entry.path_is_symlink() && entry.depth() > 0;
            if entry.file_type().is_file() || is_link {
                let name = entry
                    .path()
                    .strip_prefix(input)
                    .unwrap_or(entry.path())
                    .to_string_lossy()
                    .into_owned();
                files.push(InputFile {
                    path: entry.into_path(),
                    name,
                    is_link,
                });
            }
        }
    }
    files.sort();
    files.dedup_by(|a, b| a.path == b.path);
    Ok(files)
}

/// Reads every file in parallel, counting them on `progress`; the result keeps the order of `files`.
/// A file whose name says it is not an input ([`NotAnInput`]) is not read.
/// Rows that `supersession` says a better source supplies are reduced as each file is read (on the
/// reading thread), so they never accumulate. The first unreadable file is an error.
pub fn read_all(
    files: &[InputFile],
    progress: &indicatif::ProgressBar,
    supersession: &dyn Supersession,
) -> Result<Vec<Input>> {
    progress.inc_length(files.len() as u64);
    files
        .par_iter()
        .map(|file| {
            progress.inc(1);
            let outcome = if file.is_link {
                Ok(Outcome::Skipped("a symbolic link: never followed".into()))
            } else if let Some(kind) = NotAnInput::of_name(&file.name) {
                Ok(Outcome::NotAnInput(kind))
            } else {
                read_one(&file.path, &file.name, supersession)
            };
            outcome.map(|outcome| Input {
                path: file.path.clone(),
                name: file.name.clone(),
                outcome,
            })
        })
        .collect()
}

/// Reads one file, recognized by its content: a mapping file or an ATT&CK bundle (JSON), or a site page (HTML).
pub fn read_one(path: &Path, name: &str, supersession: &dyn Supersession) -> Result<Outcome> {
    let bytes = std::fs::read(path).map_err(|source| Error::ReadInput {
        path: path.to_path_buf(),
        source,
    })?;
    read_bytes(path, name, bytes, supersession)
}

/// Reads the bytes of one input (from `path`, which errors name), recognized by their content, the
/// rows `supersession` names reduced. Any bytes give an outcome or an error, never a panic
/// (`tests/integration/fuzz.rs` holds it to that).
pub fn read_bytes(path: &Path, name: &str, bytes: Vec<u8>, supersession: &dyn Supersession) -> Result<Outcome> {
    let mut outcome = read_text(path, name, bytes, supersession)?;
    if let Outcome::Parsed(parsed) = &mut outcome {
        parsed.supersede(supersession);
    }
    Ok(outcome)
}

/// [`read_bytes`] but the reduction of whole inputs' rows.
fn read_text(path: &Path, name: &str, bytes: Vec<u8>, supersession: &dyn Supersession) -> Result<Outcome> {
    let mut text = String::from_utf8(bytes).map_err(|e| Error::NotText {
        path: path.to_path_buf(),
        source: e.utf8_error(),
    })?;
    let lead = text.len() - text.trim_start_matches('\u{feff}').trim_start().len();
    text.drain(..lead);
    if text.is_empty() {
        return Err(Error::EmptyInput {
            path: path.to_path_buf(),
        });
    }
    if text.starts_with('{') || text.starts_with('[') {
        let content = match AttackBundle::recognize(path, text)? {
            Recognized::Attack(bundle) => return Ok(Outcome::AttackBundle(bundle)),
            Recognized::Other(text) => text,
        };
        let document: serde_json::Value = strict_json::parse(&content).map_err(|e| Error::MappingFile {
            path: path.to_path_buf(),
            element: format!("line {} column {}", e.line(), e.column()),
            reason: format!("not valid JSON: {e}"),
        })?;
        if !mapping_file::looks_like_mapping_file(&document) {
            return Ok(Outcome::Skipped(
                "a JSON document that is neither a mapping file (metadata and mapping_objects) nor an ATT&CK bundle"
                    .into(),
            ));
        }
        let parsed = mapping_file::read(path, name, &document)?;
        if parsed.rows.is_empty() && parsed.rejected.is_empty() {
            // Read as an empty dataset, its dataset would fall back on its pages without a word.
            return Ok(Outcome::Skipped(
                "a mapping file that supplies no mapping (mapping_objects is empty): its dataset is not taken from it"
                    .into(),
            ));
        }
        return Ok(Outcome::Parsed(parsed));
    }
    if text.starts_with('<') {
        return site_page::read(path, name, &text, supersession);
    }
    Ok(Outcome::Skipped("neither an HTML page nor a JSON mapping file".into()))
}
