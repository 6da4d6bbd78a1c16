//! A page read for its cross-check alone, from its tokens, tells exactly what the full reader tells
//! once its rows are reduced: on every page of the fixtures (traps and hostile text included),
//! every page of the snapshot and every capability page of the site's other releases (mutated
//! pages: `fuzz.rs`).

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
    // Not from tokens: the technique index (no mapping table), and pages with a note whose stray
    // tags are escaped before either reading.
    eprintln!("{from_tokens} of 680 pages read from their tokens");
    assert!(from_tokens >= 675, "{from_tokens} of 680 pages read from their tokens");
}

/// The capability pages of a site folder: `external/<fw>/attack-<v>/domain-<d>/<fw>-<version>/<id>/`.
fn capability_pages_under(site: &Path) -> Vec<std::path::PathBuf> {
    html_files_under(site)
        .into_iter()
        .filter(|page| {
            page.strip_prefix(site)
                .is_ok_and(|p| p.components().count() == 7 && p.starts_with("external"))
        })
        .collect()
}

#[test]
fn every_capability_page_of_the_site_reads_alike_and_from_its_tokens() {
    let (Some(site), Some(next)) = (shared("site"), shared("site-next")) else {
        return;
    };
    let pages: Vec<_> = [site, next]
        .iter()
        .flat_map(|root| capability_pages_under(root))
        .collect();
    assert_eq!(
        pages.len(),
        10,
        "7 capability pages of 16.1, 3 of 15.1 and 17.1: {pages:?}"
    );
    // Ours: a scored page with notes, and one with a mapping type and no Notes column.
    let fixture_pages = [fixture("site"), fixture("capability-pages")].map(|root| capability_pages_under(&root));
    assert_eq!(
        fixture_pages.iter().map(Vec::len).sum::<usize>(),
        2,
        "{fixture_pages:?}"
    );
    for page in pages.iter().chain(fixture_pages.iter().flatten()) {
        let (as_superseded, in_full) = both_readings(page, std::fs::read(page).unwrap());
        assert_eq!(as_superseded, in_full, "{}", page.display());
        let text = std::fs::read_to_string(page).unwrap();
        let from_tokens = cross_check::read(&text, &MappingFilesForEveryDataset);
        assert!(
            from_tokens
                .is_some_and(|parsed| parsed.kind == SourceKind::CapabilityPage && !parsed.superseded.is_empty()),
            "{} is not read from its tokens as a capability page",
            page.display()
        );
    }
}

#[test]
fn a_capability_page_off_the_sites_shape_is_left_to_the_full_reader_and_reads_alike() {
    let path =
        fixture("site/external/aws/attack-16.1/domain-enterprise/aws-12.12.2024/aws_iot_device_defender/index.html");
    let page = std::fs::read_to_string(&path).unwrap();
    let section = r#"<section id="attack-table" class="mapping-table">"#;
    let off_shape = [
        ("its table's section a div", page.replacen(section, r#"<div id="attack-table">"#, 1)),
        (
            "a second #attack-table first",
            page.replacen(
                section,
                &format!(r#"<div id="attack-table"><table><thead><tr><th>Capability ID</th></tr></thead></table></div>{section}"#),
                1,
            ),
        ),
        ("no Capability ID column", page.replace("data-field=capability_id", "data-field=control")),
        ("no Mapping Frameworks breadcrumb", page.replace(">Mapping Frameworks<", ">Frameworks<")),
        ("an #all-mapping-table after it", page.replace("</main>", r#"<p id="all-mapping-table"></p></main>"#)),
    ];
    for (what, mutated) in off_shape {
        assert!(
            cross_check::read(&mutated, &MappingFilesForEveryDataset).is_none(),
            "{what}: read from its tokens"
        );
        let (as_superseded, in_full) = both_readings(&path, mutated.into_bytes());
        assert_eq!(as_superseded, in_full, "{what}");
    }
}
