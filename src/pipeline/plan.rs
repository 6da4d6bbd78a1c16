//! A build's first pass: the ATT&CK bundles and the pages read, each mapping file only peeked at for
//! its dataset, so that the datasets can then be built and written one at a time ([`super::datasets`]).
//! When the JSON inputs are few, the mapping files are read now too, on the cores an ATT&CK bundle
//! leaves free.

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use super::timed;
use crate::error::{Error, Result};
use crate::identifiers;
use crate::model::{DatasetKey, MappingRow, SourceKind};
use crate::sinks::report::SkippedInput;
use crate::sources::attack_stix::{AttackBundle, AttackCatalog};
use crate::sources::{
    self, mapping_file, Cut, InputFile, NotAnInput, Outcome, ParsedInput, RejectedRow, SupersededRows,
};
use crate::transforms::select;

/// What the first pass found: every input by index (in path order), the mapping files left to be read
/// with their dataset, the other inputs' rows split by dataset, and the account of the inputs read.
pub struct Plan {
    /// Every input's path and name (what its rows record as `source`), in path order.
    pub files: Vec<InputFile>,
    /// The mapping files of each dataset (indexes into `files`), read when the dataset is built.
    pub deferred: BTreeMap<DatasetKey, Vec<usize>>,
    /// How many bytes the mapping files of each dataset hold.
    pub deferred_bytes: BTreeMap<DatasetKey, usize>,
    /// The mapping files already read ([`READ_AHEAD_UP_TO`]), by index: what reading each gave,
    /// taken when its dataset is built.
    pub read_ahead: std::sync::Mutex<BTreeMap<usize, Result<Outcome>>>,
    /// The rows the other inputs hold, by dataset.
    pub parts: BTreeMap<DatasetKey, Vec<InputPart>>,
    /// The ATT&CK bundles found among the inputs.
    pub attack: AttackCatalog,
    /// How many ATT&CK bundles the inputs hold.
    pub attack_bundles: usize,
    /// What became of the inputs read so far.
    pub tally: Tally,
}

/// The rows of one dataset that one input (read in the first pass) holds.
#[derive(Clone)]
pub struct InputPart {
    pub input: usize,
    pub kind: SourceKind,
    pub cut: Option<Cut>,
    pub rows: Vec<MappingRow>,
    pub superseded: Vec<SupersededRows>,
}

impl Plan {
    /// Every dataset the inputs hold (before the identifier check).
    pub fn datasets(&self) -> BTreeSet<DatasetKey> {
        self.deferred.keys().chain(self.parts.keys()).cloned().collect()
    }

    /// The datasets a build can choose from: those whose identifiers pass.
    pub fn available(&self) -> BTreeSet<DatasetKey> {
        let mut available = self.datasets();
        available.retain(|dataset| identifiers::check_dataset(dataset).is_ok());
        available
    }
}

/// Reads every input but the mapping files, which are only peeked at for their dataset; the datasets
/// the mapping files supply let every page of them be reduced to its cross-check as it is read, so
/// that pages never pile up in memory (on the whole site, every page).
pub fn first_pass(files: Vec<InputFile>, progress: &indicatif::ProgressBar) -> Result<Plan> {
    first_pass_reading_ahead(files, progress, READ_AHEAD_UP_TO)
}

/// [`first_pass`], the mapping files read too when the JSON inputs hold `read_ahead_up_to` bytes or
/// fewer.
fn first_pass_reading_ahead(
    files: Vec<InputFile>,
    progress: &indicatif::ProgressBar,
    read_ahead_up_to: u64,
) -> Result<Plan> {
    let (json, others): (Vec<usize>, Vec<usize>) = (0..files.len()).partition(|&index| {
        let file = &files[index];
        !file.is_link && file.name.ends_with(".json") && NotAnInput::of_name(&file.name).is_none()
    });
    let json_read = timed("json inputs", || read_json(&files, json, progress, read_ahead_up_to))?;
    let mut deferred: BTreeMap<DatasetKey, Vec<usize>> = BTreeMap::new();
    let mut deferred_bytes: BTreeMap<DatasetKey, usize> = BTreeMap::new();
    let mut read_ahead = BTreeMap::new();
    let mut read_whole = Vec::new();
    for (index, read) in json_read {
        match read {
            JsonRead::Peeked { dataset, bytes, read } => {
                *deferred_bytes.entry(dataset.clone()).or_default() += bytes;
                deferred.entry(dataset).or_default().push(index);
                if let Some(read) = read {
                    read_ahead.insert(index, read);
                }
            }
            JsonRead::Whole(outcome) => read_whole.push((index, outcome)),
        }
    }
    progress.inc_length(deferred.values().map(Vec::len).sum::<usize>() as u64);
    let mut tally = Tally::default();
    let mut attack = AttackCatalog::default();
    let mut parsed: Vec<(usize, ParsedInput)> = Vec::new();
    let mut take = |index: usize, outcome: Outcome, tally: &mut Tally| match outcome {
        Outcome::AttackBundle(bundle) => attack.bundles.push(*bundle),
        outcome => {
            if let Some(input) = tally.outcome(index, &files[index].name, outcome) {
                parsed.push((index, input));
            }
        }
    };
    // The best kind of source of each dataset: mapping files, whether peeked or read.
    let mut best: BTreeMap<DatasetKey, SourceKind> = deferred
        .keys()
        .filter(|dataset| identifiers::check_dataset(dataset).is_ok())
        .map(|dataset| (dataset.clone(), SourceKind::MappingFile))
        .collect();
    for (dataset, kind) in select::best_kinds(read_whole.iter().map(|(_, outcome)| outcome)) {
        let best = best.entry(dataset).or_insert(kind);
        *best = (*best).min(kind);
    }
    let others_read = read(&files, others, progress, &best)?;
    let mut read: Vec<(usize, Outcome)> = read_whole.into_iter().chain(others_read).collect();
    read.sort_by_key(|(index, _)| *index);
    for (index, outcome) in read {
        take(index, outcome, &mut tally);
    }
    let mut parts: BTreeMap<DatasetKey, Vec<InputPart>> = BTreeMap::new();
    for (index, input) in parsed {
        for part in split_by_dataset(index, input) {
            parts.entry(part.0).or_default().push(part.1);
        }
    }
    Ok(Plan {
        files,
        deferred,
        deferred_bytes,
        read_ahead: std::sync::Mutex::new(read_ahead),
        parts,
        attack_bundles: attack.bundles.len(),
        attack,
        tally,
    })
}

/// Up to this many bytes of JSON inputs in all, the mapping files are read in the first pass, not
/// only peeked at: their rows are held until their datasets are built (the 11 files of ATT&CK 16.1
/// hold 8 MB, the bundles 33 MB), and the cores an ATT&CK bundle leaves free read them meanwhile.
const READ_AHEAD_UP_TO: u64 = 64 << 20;

/// From this size on, a JSON input is mapped ([`crate::fs::Mapped`]) to be looked at as an ATT&CK
/// bundle (1.9 to 34 MB; a mapping file is at most 2 MB): one that is not is then read.
const MAP_FROM: u64 = 1 << 20;

/// A JSON input as the first pass leaves it.
enum JsonRead {
    /// A mapping file of `dataset` (`bytes` long), read again when its dataset is built unless `read`
    /// already holds what reading it gave.
    Peeked {
        dataset: DatasetKey,
        bytes: usize,
        read: Option<Result<Outcome>>,
    },
    /// Any other JSON input (an ATT&CK bundle, a file that is no mapping file), read whole.
    Whole(Outcome),
}

/// Reads the JSON inputs at `indexes` once each, largest first (an ATT&CK bundle is tens of megabytes,
/// started before the mapping files): an ATT&CK bundle from its mapped file, a mapping file peeked at
/// for its dataset (and read when the inputs hold `read_ahead_up_to` bytes or fewer), any other input
/// read whole from the same bytes. Bytes that may be an ATT&CK bundle are not peeked at, so that a
/// bundle is scanned once.
fn read_json(
    files: &[InputFile],
    mut indexes: Vec<usize>,
    progress: &indicatif::ProgressBar,
    read_ahead_up_to: u64,
) -> Result<Vec<(usize, JsonRead)>> {
    let read_ahead = largest_first(files, &mut indexes) <= read_ahead_up_to;
    indexes
        .into_par_iter()
        .map(|index| {
            let file = &files[index];
            // An ATT&CK bundle is indexed from its file's mapped pages, never read whole.
            let mapped = crate::fs::Mapped::open(&file.path, MAP_FROM)?;
            if let Some(mapped) = &mapped {
                if let Some(bundle) = AttackBundle::from_bytes(&file.path, mapped.bytes())? {
                    progress.inc_length(1);
                    progress.inc(1);
                    return Ok((index, JsonRead::Whole(Outcome::AttackBundle(bundle))));
                }
            }
            // Bytes mapped are taken from the map: the file is not opened and read a second time.
            let bytes = match &mapped {
                Some(mapped) => mapped.bytes().to_vec(),
                None => std::fs::read(&file.path).map_err(|source| Error::ReadInput {
                    path: file.path.clone(),
                    source,
                })?,
            };
            // Bytes mapped were found no ATT&CK bundle: not scanned for its markers again.
            if mapped.is_some() || !AttackBundle::may_be(&bytes) {
                if let Some(dataset) = mapping_file::peek_dataset(&bytes) {
                    let length = bytes.len();
                    let read = read_ahead
                        .then(|| sources::read_bytes(&file.path, &file.name, bytes, &sources::NothingSuperseded));
                    return Ok((
                        index,
                        JsonRead::Peeked {
                            dataset,
                            bytes: length,
                            read,
                        },
                    ));
                }
            }
            progress.inc_length(1);
            progress.inc(1);
            let outcome = sources::read_bytes(&file.path, &file.name, bytes, &sources::NothingSuperseded)?;
            Ok((index, JsonRead::Whole(outcome)))
        })
        .collect()
}

/// Reads the inputs at `indexes`, largest first, so that no large file is left for one core at the
/// end (an ATT&CK bundle is tens of megabytes, a page a hundred kilobytes).
fn read(
    files: &[InputFile],
    mut indexes: Vec<usize>,
    progress: &indicatif::ProgressBar,
    supersession: &dyn sources::Supersession,
) -> Result<Vec<(usize, Outcome)>> {
    largest_first(files, &mut indexes);
    let chosen: Vec<InputFile> = indexes.iter().map(|&i| files[i].clone()).collect();
    let read = sources::read_all(&chosen, progress, supersession)?;
    Ok(indexes
        .into_iter()
        .zip(read.into_iter().map(|input| input.outcome))
        .collect())
}

/// Orders `indexes` (into `files`) by the size of their files, largest first (no large file is left
/// for one core at the end); returns their size in all.
fn largest_first(files: &[InputFile], indexes: &mut Vec<usize>) -> u64 {
    let size = |i: usize| std::fs::symlink_metadata(&files[i].path).map_or(0, |m| m.len());
    let mut sized: Vec<(u64, usize)> = indexes.iter().map(|&i| (size(i), i)).collect();
    sized.sort_by_key(|&(size, _)| std::cmp::Reverse(size));
    *indexes = sized.iter().map(|&(_, i)| i).collect();
    sized.iter().map(|&(size, _)| size).sum()
}

/// One input's rows and superseded tallies, by dataset, in the input's order.
fn split_by_dataset(index: usize, input: ParsedInput) -> Vec<(DatasetKey, InputPart)> {
    let (kind, cut) = (input.kind, input.cut);
    let mut parts: BTreeMap<DatasetKey, InputPart> = BTreeMap::new();
    fn part(
        parts: &mut BTreeMap<DatasetKey, InputPart>,
        dataset: DatasetKey,
        empty: impl FnOnce() -> InputPart,
    ) -> &mut InputPart {
        parts.entry(dataset).or_insert_with(empty)
    }
    let empty = || InputPart {
        input: index,
        kind,
        cut,
        rows: Vec::new(),
        superseded: Vec::new(),
    };
    for row in input.rows {
        part(&mut parts, row.dataset(), empty).rows.push(row);
    }
    for superseded in input.superseded {
        part(&mut parts, superseded.dataset.clone(), empty)
            .superseded
            .push(superseded);
    }
    parts.into_iter().collect()
}

/// The account of the inputs read: what each became, and the rows read from them. Each entry keeps
/// its input's index, so that the report lists inputs in path order however they were read.
#[derive(Default)]
pub struct Tally {
    pub by_kind: BTreeMap<SourceKind, usize>,
    pub not_inputs_by_kind: BTreeMap<NotAnInput, usize>,
    pub skipped: Vec<(usize, SkippedInput)>,
    pub without_mappings: Vec<(usize, SkippedInput)>,
    pub not_inputs: Vec<(usize, SkippedInput)>,
    pub rejected: Vec<(usize, Vec<RejectedRow>)>,
    /// Rows read, kept or superseded, less those rejected for their identifiers.
    pub rows_read: usize,
}

impl Tally {
    /// Notes what became of input `index` (named `source`); its rows, when it has some.
    pub fn outcome(&mut self, index: usize, source: &str, outcome: Outcome) -> Option<ParsedInput> {
        let entry = |reason: String| {
            (
                index,
                SkippedInput {
                    path: source.to_string(),
                    reason,
                },
            )
        };
        match outcome {
            Outcome::AttackBundle(_) => unreachable!("ATT&CK bundles go to the catalogue"),
            Outcome::Skipped(reason) => self.skipped.push(entry(reason)),
            Outcome::NoMappings(reason) => self.without_mappings.push(entry(reason)),
            Outcome::NotAnInput(kind) => {
                *self.not_inputs_by_kind.entry(kind).or_default() += 1;
                self.not_inputs.push(entry(kind.description().to_string()));
            }
            Outcome::Parsed(mut parsed) => {
                *self.by_kind.entry(parsed.kind).or_default() += 1;
                let bad = rows_with_bad_identifiers(source, parsed.kind, &parsed.rows);
                let bad_rows: usize = bad.iter().map(|r| r.rows).sum();
                self.rows_read +=
                    parsed.rows.len() + parsed.superseded.iter().map(|s| s.rows).sum::<usize>() - bad_rows;
                let mut rejected = std::mem::take(&mut parsed.rejected);
                rejected.extend(bad);
                if !rejected.is_empty() {
                    self.rejected.push((index, rejected));
                }
                return Some(parsed);
            }
        }
        None
    }

    /// Adds another tally's inputs to this one's.
    pub fn merge(&mut self, other: Tally) {
        for (kind, n) in other.by_kind {
            *self.by_kind.entry(kind).or_default() += n;
        }
        for (kind, n) in other.not_inputs_by_kind {
            *self.not_inputs_by_kind.entry(kind).or_default() += n;
        }
        self.skipped.extend(other.skipped);
        self.without_mappings.extend(other.without_mappings);
        self.not_inputs.extend(other.not_inputs);
        self.rejected.extend(other.rejected);
        self.rows_read += other.rows_read;
    }

    /// The lists in input order.
    pub fn in_input_order(mut self) -> Tally {
        self.skipped.sort_by_key(|(index, _)| *index);
        self.without_mappings.sort_by_key(|(index, _)| *index);
        self.not_inputs.sort_by_key(|(index, _)| *index);
        self.rejected.sort_by_key(|(index, _)| *index);
        self
    }
}

/// The rows of one input whose dataset key fails [`identifiers::check_dataset`], as rejected rows:
/// their framework, versions or domain would become file names. Rows that fail alike are one entry
/// (a mapping file's rows all share its metadata), naming the field where the input holds it.
fn rows_with_bad_identifiers(source: &str, kind: SourceKind, rows: &[MappingRow]) -> Vec<RejectedRow> {
    let mut failures: BTreeMap<(&'static str, String), usize> = BTreeMap::new();
    for row in rows {
        if let Err(bad) = identifiers::check_dataset(&row.dataset()) {
            *failures.entry((bad.field, bad.reason)).or_default() += 1;
        }
    }
    failures
        .into_iter()
        .map(|((field, reason), count)| RejectedRow {
            source: source.to_string(),
            element: match kind {
                SourceKind::MappingFile => format!("metadata.{}", mapping_file::metadata_field(field)),
                _ => format!("{count} rows: the {field} of their capability links"),
            },
            reason,
            rows: count,
        })
        .collect()
}

/// The paths of the inputs, for the report.
pub fn paths(files: &[InputFile]) -> Vec<String> {
    files.iter().map(|f| f.path.display().to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_input_mapped_gives_what_reading_it_gives_however_hostile() {
        let description = "d".repeat(2 * MAP_FROM as usize);
        let bundle = serde_json::json!({"type": "bundle", "objects": [
            {"type": "x-mitre-matrix", "id": "x-mitre-matrix--1", "tactic_refs": [],
             "external_references": [{"source_name": "mitre-attack", "external_id": "enterprise-attack"}]},
            {"type": "attack-pattern", "id": "attack-pattern--1", "name": "Impair Defenses",
             "description": description,
             "external_references": [{"source_name": "mitre-attack", "external_id": "T1562"}]},
        ]})
        .to_string();
        let error_page = format!("<html><body>503 x-mitre-matrix {description}</body></html>");
        let repeated = bundle.replacen("\"objects\"", "\"objects\": [], \"objects\"", 1);
        let not_utf8 = [bundle.as_bytes(), b"\xff"].concat();
        let cases: [(&str, &[u8]); 5] = [
            ("enterprise-attack-16.1.json", bundle.as_bytes()),
            ("truncated.json", &bundle.as_bytes()[..bundle.len() / 2]),
            ("error-page.json", error_page.as_bytes()),
            ("objects-twice.json", repeated.as_bytes()),
            ("not-utf8.json", &not_utf8),
        ];
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in cases {
            assert!(bytes.len() as u64 >= MAP_FROM, "{name} is mapped");
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
        let files = sources::discover(&[dir.path().to_path_buf()]).unwrap();
        for (index, file) in files.iter().enumerate() {
            let mapped = match read_json(&files, vec![index], &indicatif::ProgressBar::hidden(), 0) {
                Ok(mut read) => match read.pop().expect("one input").1 {
                    JsonRead::Whole(outcome) => Ok(outcome),
                    JsonRead::Peeked { .. } => panic!("{} is no mapping file", file.name),
                },
                Err(e) => Err(e),
            };
            let read = sources::read_one(&file.path, &file.name, &sources::NothingSuperseded);
            assert_eq!(format!("{mapped:?}"), format!("{read:?}"), "{}", file.name);
        }
        let bundle_read = read_json(&files, vec![0], &indicatif::ProgressBar::hidden(), 0).unwrap();
        assert!(
            matches!(&bundle_read[0].1, JsonRead::Whole(Outcome::AttackBundle(_))),
            "the files are in name order: the bundle first"
        );
    }

    #[test]
    fn a_mapping_file_read_ahead_gives_what_reading_it_when_its_dataset_is_built_gives() {
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        // A mapping file whose rows do not read is an error either way, told when its dataset is built.
        let inputs = [
            "mapping-files",
            "site",
            "traps",
            "bad/missing-field.json",
            "bad/wrong-type.json",
        ]
        .map(|input| fixtures.join(input));
        let plan = |read_ahead_up_to| {
            let files = sources::discover(&inputs).unwrap();
            first_pass_reading_ahead(files, &indicatif::ProgressBar::hidden(), read_ahead_up_to).unwrap()
        };
        let (ahead, later) = (plan(u64::MAX), plan(0));
        assert_eq!(ahead.deferred, later.deferred);
        assert_eq!(ahead.deferred_bytes, later.deferred_bytes);
        assert!(later.read_ahead.lock().unwrap().is_empty());
        let read_ahead = ahead.read_ahead.into_inner().unwrap();
        let deferred: Vec<usize> = ahead.deferred.values().flatten().copied().collect();
        assert_eq!(
            read_ahead.keys().copied().collect::<BTreeSet<_>>(),
            deferred.iter().copied().collect()
        );
        assert!(read_ahead.values().any(Result::is_err) && read_ahead.values().any(Result::is_ok));
        for (index, read) in read_ahead {
            let file = &ahead.files[index];
            let now = sources::read_one(&file.path, &file.name, &sources::NothingSuperseded);
            assert_eq!(format!("{read:?}"), format!("{now:?}"), "{}", file.name);
        }
    }
}
