//! A page read for its cross-check alone, from its tokens, tells exactly what the full reader tells
//! once its rows are reduced: on every page of the fixtures (traps and hostile text included) and
//! every page of the snapshot (mutated pages: `fuzz.rs`).

use std::path::Path;

use attackmap::model::{DatasetKey, SourceKind};
use attackmap::sources::site_page::cross_check;
use attackmap::sources::{read_bytes, NothingSuperseded, Outcome, Supersession};

use crate::helpers::*;

/// A mapping file supplies every dataset, as on the real site: every page row is only cross-checked.
pub struct MappingFilesForEveryDataset;

impl Supersession for MappingFilesForEveryDataset {
    fn supersedes(&self, _: &DatasetKey, kind: SourceKind) -> bool {
        kind > SourceKind::MappingFile
    }
}

/// What reading a page gives, by the way it is read when every dataset is superseded, and by the
/// full reader with its rows reduced afterwards.
pub fn both_readings(path: &Path, bytes: Vec<u8>) -> (String, String) {
    let name = path.to_string_lossy();
    let as_superseded = read_bytes(path, &name, bytes.clone(), &MappingFilesForEveryDataset);
    let in_full = read_bytes(path, &name, bytes, &NothingSuperseded).map(|mut outcome| {
        if let Outcome::Parsed(parsed) = &mut outcome {
            parsed.supersede(&MappingFilesForEveryDataset);
        }
        outcome
    });
    let shown = |read: attackmap::error::Result<Outcome>| match read {
        Ok(outcome) => format!("{outcome:?}"),
        Err(error) => format!("error: {error}"),
    };
    (shown(as_superseded), shown(in_full))
}

fn html_files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "html"))
        .map(|f| dir.join(f))
        .collect()
}

#[test]
fn every_fixture_page_reads_alike_either_way() {
    let pages = html_files_under(&fixture(""));
    assert!(pages.len() >= 10, "{} pages", pages.len());
    for page in pages {
        let (as_superseded, in_full) = both_readings(&page, std::fs::read(&page).unwrap());
        assert_eq!(as_superseded, in_full, "{}", page.display());
    }
}

#[test]
fn every_page_of_the_snapshot_reads_alike_and_almost_all_from_tokens() {
    let Some(site) = shared("site") else { return };
    let pages = html_files_under(&site);
    assert_eq!(
        pages.len(),
        680,
        "658 technique pages, the index, 21 framework and capability pages"
    );
    let mut from_tokens = 0;
    for page in &pages {
        let (as_superseded, in_full) = both_readings(page, std::fs::read(page).unwrap());
        assert_eq!(as_superseded, in_full, "{}", page.display());
        let text = std::fs::read_to_string(page).unwrap();
        from_tokens += usize::from(cross_check::read(&text, &MappingFilesForEveryDataset).is_some());
    }
    // Not from tokens: the technique index and the capability pages (no mapping table of the
    // shapes read so), and pages with a note whose stray tags are escaped before either reading.
    eprintln!("{from_tokens} of 680 pages read from their tokens");
    assert!(from_tokens >= 655, "{from_tokens} of 680 pages read from their tokens");
}
