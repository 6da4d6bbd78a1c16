//! `out/manifest.json`: what a run read, made and how long each stage took. The one output that differs
//! between runs on the same input (run id, times), which is why those facts live here and not in rows.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Instant, SystemTime};

use serde::Serialize;

use super::staged_outputs::StagedOutputs;
use super::{RefreshOptions, MANIFEST};
use crate::changes::{Changes, DatasetMove};
use crate::error::Result;
use crate::fs::rfc3339;
use crate::pipeline::Build;
use crate::sinks::report_html::{RefreshFacts, RunFacts};
use crate::sinks::warehouse::WarehouseFile;
use crate::sinks::write_json;
use crate::sources::http::crawl::{Crawl, DatasetFetch, DatasetSelection, FrameworkReleases, NightCost, RefusedLink};
use crate::sources::http::raw_store::{RawStore, Sidecar};

#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub run_id: String,
    pub tool: String,
    pub started_at: String,
    pub finished_at: String,
    pub selection: DatasetSelection,
    pub base_url: Option<String>,
    pub offline: bool,
    /// The change feed partition this run wrote (`warehouse/changes/run_date=…`).
    pub run_date: String,
    /// The version of `schemas/warehouse.schema.json` the warehouse files follow.
    pub warehouse_schema_version: String,
    pub inputs: Vec<InputEntry>,
    /// The datasets of the selection the site advertises (its framework pages) or links to (its
    /// technique pages), and whether each was fetched completely; empty for an offline run.
    pub site_datasets: Vec<DatasetFetch>,
    /// Per framework, the ATT&CK version the site publishes as current (its newest) and the older
    /// ones it still publishes; offline, of the datasets `raw/` holds.
    pub framework_releases: Vec<FrameworkReleases>,
    /// Frameworks published at an older ATT&CK version than the site's current one, because their
    /// current datasets could not be fetched tonight (`--allow-partial`): a warning.
    pub held_back: Vec<String>,
    pub datasets: Vec<DatasetEntry>,
    pub outputs: Vec<OutputEntry>,
    pub changes: ChangeCounts,
    /// Links found in pages and not followed because they are unsafe (`javascript:`, `file:`, a path
    /// that could leave raw/): never requested.
    pub refused_links: Vec<RefusedLink>,
    /// Links to other hosts: never followed.
    pub off_host_links: usize,
    /// Raw files this crawl no longer reached (the site removed or stopped linking them), moved
    /// into `raw/.retired/`: their rows are gone from out/ and listed as removed in the changes.
    pub retired: Vec<String>,
    /// Files of raw/ that no fetch put there (no sidecar: placed by hand, or left by an older
    /// attackmap), moved into `raw/.retired/` by an online refresh: a warning.
    pub retired_strays: Vec<String>,
    /// The warnings `build` prints: pages that disagree with the source that supplied their
    /// dataset, attack-patterns that are stand-ins.
    pub export_warnings: Vec<String>,
    /// ATT&CK bundles of the selection that neither the site nor `--attack-url` served.
    pub missing_catalogues: Vec<crate::sources::http::FetchFailure>,
    /// What the crawl asked of the site: requests sent, and the technique pages of unchanged datasets
    /// the rotation used from raw/ (`--recheck-days`); `None` for an offline run.
    pub night_cost: Option<NightCost>,
    pub durations_ms: BTreeMap<String, u128>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InputEntry {
    pub path: String,
    pub url: Option<String>,
    pub sha256: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// True when this run did not download it: answered 304, or an offline run.
    pub from_cache: bool,
    /// True when tonight's fetch of it failed and this previous good copy was used instead.
    pub stale: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DatasetEntry {
    pub dataset: String,
    pub source_kind: String,
    pub source_rows: usize,
    pub mappings: usize,
    pub repeats_collapsed: usize,
    pub non_mappable: usize,
    pub complete: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutputEntry {
    pub path: String,
    pub sha256: String,
    /// Rows of a table, objects of a bundle, techniques of a layer, changes of a change file.
    pub items: Option<usize>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ChangeCounts {
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    /// Frameworks moved to a newer ATT&CK release, each counted by mapping (see changes.json).
    pub moves: Vec<DatasetMove>,
    /// Rows whose only difference is the file they were read from (updates in the change feed).
    pub read_from_another_file: usize,
    /// Techniques of the ATT&CK catalogue added, removed, renamed, retired or changed.
    pub catalogue: usize,
    /// Published files whose bytes changed (the run's own files and the change feed left out).
    pub outputs_changed: usize,
}

impl Manifest {
    pub fn start(started: SystemTime, options: &RefreshOptions) -> Manifest {
        Manifest {
            run_id: uuid::Uuid::new_v4().to_string(),
            tool: format!("attackmap {}", env!("CARGO_PKG_VERSION")),
            started_at: rfc3339(started),
            finished_at: String::new(),
            selection: options.selection.clone(),
            base_url: options.fetch.as_ref().map(|f| f.base_url.to_string()),
            offline: options.fetch.is_none(),
            run_date: options.run_date.to_string(),
            warehouse_schema_version: crate::sinks::warehouse::schema::VERSION.to_string(),
            inputs: Vec::new(),
            site_datasets: Vec::new(),
            framework_releases: Vec::new(),
            held_back: Vec::new(),
            datasets: Vec::new(),
            outputs: Vec::new(),
            changes: ChangeCounts::default(),
            refused_links: Vec::new(),
            off_host_links: 0,
            retired: Vec::new(),
            retired_strays: Vec::new(),
            export_warnings: Vec::new(),
            missing_catalogues: Vec::new(),
            night_cost: None,
            durations_ms: BTreeMap::new(),
        }
    }

    /// What `report.html` tells of this run, which ends with `exit_status`.
    pub fn run_facts(&self, exit_status: u8) -> RunFacts {
        let mut warnings = self.export_warnings.clone();
        warnings.extend(
            self.missing_catalogues
                .iter()
                .map(|m| format!("no ATT&CK bundle at {}: {}", m.url, m.reason)),
        );
        warnings.extend(
            self.refused_links
                .iter()
                .filter(|r| r.into_the_site)
                .map(|r| format!("not followed: {} in {}: {}", r.link, r.page, r.reason)),
        );
        warnings.extend(self.held_back.iter().cloned());
        warnings.extend(
            self.retired
                .iter()
                .map(|path| format!("retired: the site no longer links to {path}")),
        );
        warnings.extend(self.retired_strays.iter().map(|path| {
            format!("retired from raw/: {path} (no fetch put it there, and a refresh builds from what its crawl saw)")
        }));
        RunFacts {
            command: "refresh",
            exit_status,
            warnings,
            refresh: Some(RefreshFacts {
                run_id: self.run_id.clone(),
                started_at: self.started_at.clone(),
                finished_at: self.finished_at.clone(),
                source: self.base_url.clone().unwrap_or_else(|| "raw/ (offline)".to_string()),
                fresh: self.inputs.iter().filter(|i| !i.from_cache).count(),
                from_cache: self.inputs.iter().filter(|i| i.from_cache && !i.stale).count(),
                stale: self.inputs.iter().filter(|i| i.stale).count(),
                durations_ms: self.durations_ms.clone(),
                site_datasets: self.site_datasets.clone(),
                framework_releases: self.framework_releases.clone(),
            }),
        }
    }

    /// Records how long stage `name` took, and logs it with the memory so far at debug level (`-vv`).
    pub fn stage(&mut self, name: &str, started: Instant) {
        let ms = started.elapsed().as_millis();
        let (peak_mib, rss_mib) = crate::pipeline::memory_mib();
        tracing::debug!(stage = name, ms = ms as u64, peak_mib, rss_mib, "refresh stage done");
        self.durations_ms.insert(name.to_string(), ms);
    }

    /// Fills in inputs, datasets, changes and what the crawl found: all [`Manifest::run_facts`] tells.
    pub fn fill(&mut self, build: &Build, crawl: &Crawl, changes: &Changes) {
        let fetched: BTreeMap<&Path, _> = crawl.fetched.iter().map(|f| (f.path.as_path(), f)).collect();
        let stale: std::collections::BTreeSet<&str> = crawl.stale.iter().map(|f| f.url.as_str()).collect();
        for input in &build.inputs {
            let path = Path::new(input);
            let sidecar: Option<Sidecar> = std::fs::read(RawStore::sidecar_of(path))
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok());
            let sha256 = crate::fs::sha256_of_file(path).unwrap_or_default();
            self.inputs.push(InputEntry {
                path: input.clone(),
                url: sidecar.as_ref().map(|s| s.url.clone()),
                sha256,
                etag: sidecar.as_ref().and_then(|s| s.etag.clone()),
                last_modified: sidecar.as_ref().and_then(|s| s.last_modified.clone()),
                from_cache: fetched.get(path).is_none_or(|f| f.from_cache),
                stale: sidecar.as_ref().is_some_and(|s| stale.contains(s.url.as_str())),
            });
        }
        self.datasets = build
            .report
            .datasets
            .iter()
            .map(|d| DatasetEntry {
                dataset: d.dataset.clone(),
                source_kind: d.source.source_kind.as_str().to_string(),
                source_rows: d.counts.source_rows,
                mappings: d.counts.mappings,
                repeats_collapsed: d.counts.repeats_collapsed,
                non_mappable: d.counts.non_mappable,
                complete: d.complete,
            })
            .collect();
        self.changes = ChangeCounts {
            added: changes.added,
            removed: changes.removed,
            changed: changes.changed,
            moves: changes.moves.clone(),
            read_from_another_file: changes.source_only.len(),
            catalogue: changes.catalogue.len(),
            outputs_changed: changes.outputs_changed.len(),
        };
        self.export_warnings = build.report.warnings();
        self.missing_catalogues = crawl.missing_catalogues.clone();
        self.night_cost = (!self.offline).then(|| crawl.night.clone());
        self.site_datasets = crawl.datasets.clone();
        self.framework_releases = if crawl.framework_releases.is_empty() {
            let mut versions: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
            let selected = build
                .available
                .iter()
                .filter(|d| self.selection.includes_framework(&d.framework));
            for dataset in selected {
                versions
                    .entry(dataset.framework.clone())
                    .or_default()
                    .insert(dataset.attack_version.clone());
            }
            FrameworkReleases::of(&versions)
        } else {
            crawl.framework_releases.clone()
        };
        if self.selection.latest {
            self.held_back = held_back(&self.framework_releases, &build.report.datasets);
        }
        self.refused_links = crawl.refused_links.clone();
        self.refused_links.sort();
        self.refused_links.dedup();
        self.off_host_links = crawl.off_host_links;
        self.finished_at = rfc3339(SystemTime::now());
    }

    /// Lists every file of `staged` (report.html included: list it after writing it) with its hash
    /// and item count, and writes the manifest into `staging`, the one file it cannot list.
    pub fn write(
        &mut self,
        build: &Build,
        changes: &Changes,
        feed: &WarehouseFile,
        staged: &StagedOutputs,
        staging: &Path,
    ) -> Result<()> {
        let mut items: BTreeMap<String, usize> = BTreeMap::new();
        items.insert(crate::pipeline::CSV_FILE.into(), build.table_rows);
        items.insert(crate::pipeline::PARQUET_FILE.into(), build.table_rows);
        items.insert(super::CHANGES_JSON.into(), changes.changes.len());
        items.insert(super::CHANGES_CSV.into(), changes.changes.len());
        for bundle in &build.report.exports.stix {
            items.insert(format!("{}/{}", crate::pipeline::STIX_DIR, bundle.file), bundle.objects);
        }
        for layer in &build.report.exports.navigator {
            items.insert(
                format!("{}/{}", crate::pipeline::NAVIGATOR_DIR, layer.file),
                layer.techniques,
            );
        }
        for file in build.report.exports.warehouse.iter().chain([feed]) {
            items.insert(format!("{}/{}", crate::pipeline::WAREHOUSE_DIR, file.path), file.rows);
        }
        self.outputs.extend(staged.entries().map(|(path, sha256)| OutputEntry {
            items: items.get(path).copied(),
            path: path.to_string(),
            sha256: sha256.to_string(),
        }));
        write_json(&staging.join(MANIFEST), self)
    }
}

/// With `latest`: the frameworks whose published datasets are all older than the site's current
/// ATT&CK version for them, as `framework stays at ATT&CK 15.1: …`.
fn held_back(releases: &[FrameworkReleases], published: &[crate::sinks::report::DatasetReport]) -> Vec<String> {
    releases
        .iter()
        .filter_map(|release| {
            let mut versions: Vec<&str> = published
                .iter()
                .filter(|d| d.key.framework == release.framework)
                .map(|d| d.key.attack_version.as_str())
                .collect();
            versions.dedup();
            let stale = !versions.is_empty() && !versions.contains(&release.current.as_str());
            stale.then(|| {
                format!(
                    "{} stays at ATT&CK {}: its datasets at {}, the site's current version, could not be fetched",
                    release.framework,
                    versions.join(", "),
                    release.current
                )
            })
        })
        .collect()
}
