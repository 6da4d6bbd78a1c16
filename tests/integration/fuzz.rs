//! Any bytes into the readers give rows or an error, never a panic: the fixtures, mutated (bytes
//! flipped, ranges cut, duplicated or spliced with markup and JSON fragments), and plain noise, for
//! a fixed budget of cases per run (`PROPTEST_CASES` raises it for a longer hunt).

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use attackmap::sources::{read_bytes, NothingSuperseded, Outcome};

use crate::cross_check::both_readings;
use crate::helpers::*;

/// Every fixture file and the sample's ATT&CK bundles: the seeds.
fn seeds() -> Vec<(PathBuf, Vec<u8>)> {
    let sample_bundles = Path::new(env!("CARGO_MANIFEST_DIR")).join("raw/data/attack");
    [fixture(""), sample_bundles]
        .iter()
        .flat_map(|root| {
            files_under(root).into_iter().map(move |relative| {
                let bytes = std::fs::read(root.join(&relative)).unwrap();
                (relative, bytes)
            })
        })
        .collect()
}

/// Fragments that steer mutations into the readers' interesting paths.
const FRAGMENTS: &[&str] = &[
    "<table id=\"all-mapping-table\">",
    "</td>",
    "<tr>",
    "<th id=\"data-field=capability_id\">",
    "<a href=\"/external/nist/attack-16.1/domain-enterprise/nist-rev5/SC-08/\">",
    "<div class=\"body\"><NetworkProviderName>",
    "first 550 of 12000",
    "</html>",
    "\"mapping_objects\": [",
    "\"metadata\": {",
    "null",
    "{}",
    "\"attack_version\": \"../..\"",
    "\u{0}",
    "\u{1b}[31m",
    "é",
];

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, bits: u8 },
    Cut { at: usize, len: usize },
    Duplicate { at: usize, len: usize },
    Splice { at: usize, fragment: usize },
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Truncation is rare: a page cut short is refused before parsing, so it explores little.
    prop_oneof![
        4 => (any::<usize>(), 1u8..).prop_map(|(at, bits)| Mutation::Flip { at, bits }),
        3 => (any::<usize>(), 1usize..4096).prop_map(|(at, len)| Mutation::Cut { at, len }),
        2 => (any::<usize>(), 1usize..4096).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
        4 => (any::<usize>(), 0..FRAGMENTS.len()).prop_map(|(at, fragment)| Mutation::Splice { at, fragment }),
        1 => any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    let position = |at: usize, len: usize| if len == 0 { 0 } else { at % (len + 1) };
    match *mutation {
        Mutation::Flip { at, bits } => {
            // Mostly within ASCII, so most mutants stay UTF-8 and reach the parsers.
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] ^= if bytes[i].is_ascii() && bits & 0x80 == 0 {
                    bits & 0x1f
                } else {
                    bits
                };
            }
        }
        Mutation::Cut { at, len } => {
            let start = position(at, bytes.len());
            let end = (start + len).min(bytes.len());
            bytes.drain(start..end);
        }
        Mutation::Duplicate { at, len } => {
            let start = position(at, bytes.len());
            let end = (start + len).min(bytes.len());
            let copy = bytes[start..end].to_vec();
            bytes.splice(end..end, copy);
        }
        Mutation::Splice { at, fragment } => {
            let start = position(at, bytes.len());
            bytes.splice(start..start, FRAGMENTS[fragment].bytes());
        }
        Mutation::Truncate { at } => {
            let end = position(at, bytes.len());
            bytes.truncate(end);
        }
    }
}

/// Reads the bytes; the property is only that it returns.
fn read(name: &Path, bytes: &[u8]) -> Option<Outcome> {
    read_bytes(name, &name.to_string_lossy(), bytes.to_vec(), &NothingSuperseded).ok()
}

fn budget(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(budget(1000))]

    #[test]
    fn mutated_fixtures_read_or_fail_cleanly(seed in any::<prop::sample::Index>(), mutations in prop::collection::vec(mutation(), 1..5)) {
        let seeds = seeds();
        let (name, original) = &seeds[seed.index(seeds.len())];
        let mut bytes = original.clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        let _ = read(name, &bytes);
    }

    #[test]
    fn a_mutated_page_read_for_its_cross_check_alone_reads_as_the_full_reader_reads_it(seed in any::<prop::sample::Index>(), mutations in prop::collection::vec(mutation(), 1..5)) {
        let pages: Vec<(PathBuf, Vec<u8>)> = seeds().into_iter().filter(|(name, _)| name.extension().is_some_and(|e| e == "html")).collect();
        let (name, original) = &pages[seed.index(pages.len())];
        let mut bytes = original.clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        let (as_superseded, in_full) = both_readings(name, bytes);
        prop_assert_eq!(as_superseded, in_full);
    }

    #[test]
    fn noise_reads_or_fails_cleanly(prefix in prop::sample::select(vec!["", "{", "[", "<", "<html>"]), noise in prop::collection::vec(any::<u8>(), 0..2048)) {
        let mut bytes = prefix.as_bytes().to_vec();
        bytes.extend(noise);
        let _ = read(Path::new("noise"), &bytes);
    }
}

#[test]
fn every_fixture_reads_as_it_is() {
    for (name, bytes) in seeds() {
        let outcome = read(&name, &bytes);
        let is_bad_fixture = name.starts_with("bad");
        assert!(outcome.is_some() || is_bad_fixture, "{}", name.display());
    }
}
