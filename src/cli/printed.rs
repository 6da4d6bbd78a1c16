//! What `fetch`, `refresh` and `validate` print of their outcomes, a line per item (on stdout,
//! through `say!`: nothing under `--quiet`).

use std::path::PathBuf;

use super::Status;
use crate::sources::http::crawl::{DatasetFetch, FetchState, FrameworkReleases};
use crate::validate;

/// Per framework, the ATT&CK version the site publishes as current and the older ones, a line each.
pub(super) fn print_framework_releases(releases: &[FrameworkReleases]) {
    if releases.is_empty() {
        return;
    }
    say!("ATT&CK versions per framework (current, then older ones the site still publishes):");
    for release in releases {
        say!("  {:<16} {}", release.framework, release.describe());
    }
}

/// The datasets the site advertises for the selection, a line each: fetched completely or not, and
/// where the crawl found it when that is not both of the site's indexes.
pub(super) fn print_site_datasets(datasets: &[DatasetFetch]) {
    if datasets.is_empty() {
        return;
    }
    let advertised = datasets.iter().filter(|d| d.advertised_by.is_some()).count();
    let complete = datasets.iter().filter(|d| d.state == FetchState::Complete).count();
    say!(
        "site: {advertised} datasets advertised for the selection, {} found; {complete} fetched completely",
        datasets.len()
    );
    for dataset in datasets {
        let state = match dataset.state {
            FetchState::Complete => "complete",
            FetchState::Stale => "STALE (previous copy used)",
            FetchState::Failed => "FAILED",
        };
        let found = match (&dataset.advertised_by, dataset.linked_from_technique_pages) {
            (Some(_), true) => String::new(),
            (Some(page), false) => format!(", advertised only by {page}"),
            (None, _) => ", linked from technique pages but advertised by no framework page".to_string(),
        };
        let cross_check = match &dataset.not_cross_checked {
            Some(why) => format!("; could not be cross-checked: {why}"),
            None => String::new(),
        };
        say!("  {:<48} {state}{found}{cross_check}", dataset.dataset);
    }
}

pub(super) fn run_validate(paths: &[PathBuf]) -> anyhow::Result<Status> {
    let checked = validate::validate_paths(paths)?;
    let mut invalid = 0;
    let mut recognized = 0;
    for file in &checked {
        let Some(kind) = file.kind else {
            say!(
                "skipped {}: neither a STIX bundle nor a Navigator layer",
                file.path.display()
            );
            continue;
        };
        recognized += 1;
        if file.problems.is_empty() {
            say!("valid {} ({kind:?})", file.path.display());
        } else {
            invalid += 1;
            say!("INVALID {} ({kind:?})", file.path.display());
            for problem in &file.problems {
                say!("  {problem}");
            }
        }
    }
    say!("{} valid, {invalid} invalid", recognized - invalid);
    if recognized == 0 {
        anyhow::bail!("no STIX bundle or Navigator layer found in {paths:?}");
    }
    Ok(if invalid == 0 { Status::Success } else { Status::Failure })
}
