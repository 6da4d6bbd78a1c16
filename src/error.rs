//! Typed errors: each variant names the action that failed and carries the path or element involved.

use std::path::PathBuf;

/// Everything that can stop a build. Variants name the failed action and the input it concerned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading input {path}: {source}")]
    ReadInput { path: PathBuf, source: std::io::Error },

    #[error("walking input directory {path}: {source}")]
    WalkInput { path: PathBuf, source: walkdir::Error },

    #[error("input {path} is empty: expected a Mappings Explorer page or mapping file")]
    EmptyInput { path: PathBuf },

    #[error("input {path} is not UTF-8 text: {source}")]
    NotText { path: PathBuf, source: std::str::Utf8Error },

    #[error("parsing mapping file {path}: {element}: {reason}")]
    MappingFile {
        path: PathBuf,
        element: String,
        reason: String,
    },

    #[error("parsing page {path}: {element}: {reason}")]
    Page {
        path: PathBuf,
        element: String,
        reason: String,
    },

    #[error("reading ATT&CK bundle {path}: {reason}")]
    AttackBundle { path: PathBuf, reason: String },

    #[error("fetching {url}: {reason}")]
    Fetch { url: String, reason: String },

    #[error("building the table: {0}")]
    DataFrame(#[from] polars::error::PolarsError),

    #[error("writing {path}: {reason}")]
    WriteOutput { path: PathBuf, reason: String },

    #[error("reading the STIX ledger {path}: {reason}; it dates every version attackmap published, so a run without it would publish versions older than ones already out: restore it (from a backup of the output directory), or delete it explicitly to start the versions afresh")]
    Ledger { path: PathBuf, reason: String },

    #[error("reading back the table just written, {path}: {reason}")]
    ReadOutput { path: PathBuf, reason: String },

    #[error("reading the published {path}: {reason}")]
    ReadPublished { path: PathBuf, reason: String },

    #[error("refusing to write {name} into {dir}: {reason}")]
    UnsafeOutputName {
        dir: PathBuf,
        name: String,
        reason: &'static str,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
