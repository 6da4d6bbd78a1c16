//! `report.html`: what a run did, in one self-contained page (inline CSS and SVG, no script at all,
//! a Content-Security-Policy that forbids any, links relative to `out/`). Every text from the data
//! goes through [`crate::escape::html`]; a URL from the data becomes a link only when
//! [`crate::escape::web_link`] says it is http(s), and then with `rel="noopener noreferrer"`.
//!
//! `build`'s page depends on its inputs and the previously published table only (byte-identical for
//! the same); `refresh`'s also tells when the run started, how long each stage took and what was
//! fetched, so, like `manifest.json`, it differs between runs.

mod chart;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::path::Path;

use polars::prelude::{AnyValue, DataFrame};

use crate::error::Result;
use crate::escape::{html, web_link};
use crate::model::MappingRow;
use crate::refresh::Changes;
use crate::sinks::report::Report;
use crate::sinks::{count_of, write_atomically};
use crate::sources::attack_stix::AttackCatalog;
use crate::sources::http::crawl::{DatasetFetch, FetchState, FrameworkReleases};

pub const REPORT_HTML: &str = "report.html";
/// The changes listed per kind; the rest are in `changes.json`.
pub const LISTED_CHANGES: usize = 20;
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

/// What a run says of itself beyond the build's report.
#[derive(Debug, Default)]
pub struct RunFacts {
    pub command: &'static str,
    pub exit_status: u8,
    pub warnings: Vec<String>,
    /// `refresh` only, from its manifest.
    pub refresh: Option<RefreshFacts>,
}

#[derive(Debug, Default)]
pub struct RefreshFacts {
    pub run_id: String,
    pub started_at: String,
    pub finished_at: String,
    pub source: String,
    pub fresh: usize,
    pub from_cache: usize,
    pub stale: usize,
    pub durations_ms: BTreeMap<String, u128>,
    pub site_datasets: Vec<DatasetFetch>,
    pub framework_releases: Vec<FrameworkReleases>,
}

/// Everything the page shows.
pub struct Page<'a> {
    pub report: &'a Report,
    pub run: &'a RunFacts,
    pub changes: &'a Changes,
    pub frame: &'a DataFrame,
    pub rows: &'a [MappingRow],
    pub attack: &'a AttackCatalog,
}

impl<'a> Page<'a> {
    /// The page of `build`'s run.
    pub fn of(
        build: &'a crate::pipeline::Build,
        run: &'a RunFacts,
        changes: &'a Changes,
        attack: &'a AttackCatalog,
    ) -> Page<'a> {
        Page {
            report: &build.report,
            run,
            changes,
            frame: &build.frame,
            rows: &build.rows,
            attack,
        }
    }
}

/// Writes `out/report.html`, linking the files `out` holds.
pub fn write(page: &Page, out: &Path) -> Result<()> {
    let mut body = String::with_capacity(256 * 1024);
    run_section(&mut body, page);
    datasets_section(&mut body, page.report);
    changes_section(&mut body, page);
    coverage_section(&mut body, page, out);
    outputs_section(&mut body, out);
    let document = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>attackmap {} report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>attackmap {}: what this run did</h1>\n{body}</body>\n</html>\n",
        page.run.command, page.run.command
    );
    write_atomically(&out.join(REPORT_HTML), |file| {
        use std::io::Write;
        file.write_all(document.as_bytes()).map_err(|e| e.to_string())
    })
}

const STYLE: &str = "body{font-family:sans-serif;font-size:14px;margin:24px;color:#222;max-width:1400px}\
table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}\
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}.warn{color:#a40000}\
.ok{color:#1a6b1a}section{margin-bottom:28px}.scroll{overflow-x:auto;border:1px solid #eee}\
code{background:#f6f6f6;padding:0 3px}pre{white-space:pre-wrap;margin:0}";

fn run_section(out: &mut String, page: &Page) {
    let run = page.run;
    let report = page.report;
    let _ = writeln!(out, "<section id=\"run\"><h2>The run</h2><table>");
    let row = |out: &mut String, name: &str, value: &str| {
        let _ = writeln!(out, "<tr><th>{}</th><td>{}</td></tr>", html(name), html(value));
    };
    row(out, "tool", &report.tool);
    let status = match run.exit_status {
        0 => "0: published, with changes",
        3 => "3: published, with warnings",
        4 => "4: published, nothing changed",
        _ => "published",
    };
    row(out, "exit status", status);
    if let Some(refresh) = &run.refresh {
        row(out, "run id", &refresh.run_id);
        row(out, "started", &refresh.started_at);
        row(out, "finished", &refresh.finished_at);
        row(out, "source", &refresh.source);
        row(
            out,
            "inputs",
            &format!(
                "{} fresh, {} unchanged (from cache), {} stale (previous copy used)",
                refresh.fresh, refresh.from_cache, refresh.stale
            ),
        );
        let stages: Vec<String> = refresh
            .durations_ms
            .iter()
            .map(|(stage, ms)| format!("{stage} {ms} ms"))
            .collect();
        row(out, "duration per stage", &stages.join(", "));
    }
    let i = &report.inputs;
    row(
        out,
        "files read",
        &format!(
            "{}: {} read, {} skipped, {} without mappings, {}",
            count_of(i.files, "file", "files"),
            i.read,
            i.skipped,
            count_of(report.without_mappings.len(), "page", "pages"),
            count_of(i.attack_bundles, "ATT&CK bundle", "ATT&CK bundles")
        ),
    );
    if !i.not_inputs.is_empty() {
        let kinds: Vec<String> = i.not_inputs.iter().map(|(kind, count)| kind.counted(*count)).collect();
        row(out, "not inputs, not read", &kinds.join(", "));
    }
    let t = &report.totals;
    row(
        out,
        "rows",
        &format!(
            "{} read: {} rejected, {} supplied their dataset, {} superseded → {}",
            t.rows_read + t.rejected_rows,
            t.rejected_rows,
            t.source_rows,
            t.superseded_rows,
            count_of(t.mappings, "mapping", "mappings")
        ),
    );
    let _ = writeln!(out, "</table>");
    if let Some(refresh) = run.refresh.as_ref().filter(|r| !r.framework_releases.is_empty()) {
        framework_releases_table(out, &refresh.framework_releases);
    }
    if let Some(refresh) = run.refresh.as_ref().filter(|r| !r.site_datasets.is_empty()) {
        site_datasets_table(out, &refresh.site_datasets);
    }
    let mut warnings: Vec<String> = run.warnings.clone();
    warnings.extend(
        report
            .skipped
            .iter()
            .map(|s| format!("skipped {}: {}", s.path, s.reason)),
    );
    warnings.extend(
        report
            .rejected
            .iter()
            .take(LISTED_CHANGES)
            .map(|r| format!("rejected {} {}: {}", r.source, r.element, r.reason)),
    );
    if warnings.is_empty() {
        let _ = writeln!(out, "<p class=\"ok\">No warnings.</p>");
    } else {
        let _ = writeln!(out, "<h3>Warnings</h3><ul class=\"warn\">");
        for warning in &warnings {
            let _ = writeln!(out, "<li>{}</li>", html(warning));
        }
        let _ = writeln!(out, "</ul>");
    }
    let _ = writeln!(out, "</section>");
}

fn framework_releases_table(out: &mut String, releases: &[FrameworkReleases]) {
    let _ = writeln!(
        out,
        "<h3>ATT&amp;CK releases per framework</h3><table><tr><th>framework</th><th>current ATT&amp;CK version</th><th>older versions the site still publishes</th></tr>"
    );
    for r in releases {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            html(&r.framework),
            html(&r.current),
            html(&r.older.join(", "))
        );
    }
    let _ = writeln!(out, "</table>");
}

fn site_datasets_table(out: &mut String, datasets: &[DatasetFetch]) {
    let _ = writeln!(
        out,
        "<h3>Datasets the site advertises</h3><table><tr><th>dataset</th><th>advertised by</th><th>linked from technique pages</th><th>fetched</th></tr>"
    );
    for d in datasets {
        let (class, state) = match d.state {
            FetchState::Complete => ("ok", "complete"),
            FetchState::Stale => ("warn", "stale: previous copy used"),
            FetchState::Failed => ("warn", "FAILED"),
        };
        let linked = match (&d.not_cross_checked, d.linked_from_technique_pages) {
            (Some(why), _) => format!("no: could not be cross-checked, {}", html(why)),
            (None, true) => "yes".to_string(),
            (None, false) => "no".to_string(),
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{linked}</td><td class=\"{class}\">{state}</td></tr>",
            html(&d.dataset),
            html(d.advertised_by.as_deref().unwrap_or("no framework page")),
        );
    }
    let _ = writeln!(out, "</table>");
}

fn datasets_section(out: &mut String, report: &Report) {
    let _ = writeln!(
        out,
        "<section id=\"datasets\"><h2>Datasets</h2><div class=\"scroll\"><table><tr><th>dataset</th><th>source</th><th>source rows</th><th>mappings</th><th>repeats collapsed (exact / differing)</th><th>score conflicts</th><th>non-mappable</th><th>techniques revoked / deprecated / other domain / unknown</th><th>gaps</th><th>complete</th></tr>"
    );
    for d in &report.datasets {
        let c = &d.counts;
        let statuses = match &d.techniques {
            Some(t) => format!(
                "{} / {} / {} / {}",
                t.revoked.len(),
                t.deprecated.len(),
                t.other_domain.len(),
                t.unknown.len()
            ),
            None => "no catalogue".to_string(),
        };
        let complete = match d.source.cut {
            Some(cut) => format!("<span class=\"warn\">no: {} of {} shown</span>", cut.shown, cut.total),
            None => "<span class=\"ok\">yes</span>".to_string(),
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{} ({} / {})</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td>{complete}</td></tr>",
            html(&d.dataset),
            html(d.source.source_kind.as_str()),
            c.source_rows,
            c.mappings,
            c.repeats_collapsed,
            c.exact_duplicates,
            c.differing_repeats,
            c.score_conflicts,
            c.non_mappable,
            statuses,
            d.gaps.map_or_else(|| "–".to_string(), |g| g.to_string()),
        );
    }
    let _ = writeln!(out, "</table></div></section>");
}

/// The columns shown for each listed change, beside its key.
const SHOWN_COLUMNS: &[&str] = &[
    "capability_description",
    "capability_group_name",
    "comments",
    "references",
];

fn changes_section(out: &mut String, page: &Page) {
    let changes = page.changes;
    let _ = writeln!(
        out,
        "<section id=\"changes\"><h2>What changed since the last publish</h2><p>{} added, {} removed, {} changed{}.</p>",
        changes.added,
        changes.removed,
        changes.changed,
        if [changes.added, changes.removed, changes.changed].iter().any(|n| *n > LISTED_CHANGES) {
            " (the first of each kind are listed; refresh's changes.json lists them all)"
        } else {
            ""
        }
    );
    if !changes.moves.is_empty() {
        let _ = writeln!(
            out,
            "<h3>Frameworks moved to a newer ATT&amp;CK release</h3><p>Mappings match across releases by capability, technique, mapping type and score category; the lists below name the retired mappings as removed and the new ones as added, since their ids name the release.</p><table><tr><th>framework</th><th>domain</th><th>ATT&amp;CK</th><th>retired</th><th>published</th><th>carried</th><th>changed</th><th>added</th><th>removed</th></tr>"
        );
        for moved in &changes.moves {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{} → {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                html(&moved.framework),
                html(&moved.domain),
                html(&moved.from_attack_version),
                html(&moved.to_attack_version),
                html(&moved.retired.join(", ")),
                html(&moved.published.join(", ")),
                moved.carried,
                moved.changed,
                moved.added,
                moved.removed
            );
        }
        let _ = writeln!(out, "</table>");
    }
    let rows = RowLookup::new(page.frame);
    let mut by_kind: BTreeMap<&str, Vec<&crate::refresh::Change>> = BTreeMap::new();
    for change in &changes.changes {
        by_kind.entry(change.change.as_str()).or_default().push(change);
    }
    for (kind, listed) in by_kind {
        let _ = writeln!(
            out,
            "<h3>{kind}: first {} of {}</h3><div class=\"scroll\"><table><tr><th>dataset</th><th>capability</th><th>technique</th><th>mapping type</th><th>columns changed</th><th>description</th><th>group</th><th>comments</th><th>references</th></tr>",
            listed.len().min(LISTED_CHANGES),
            listed.len()
        );
        for change in listed.iter().take(LISTED_CHANGES) {
            let key = |column: &str| change.key.get(column).cloned().flatten().unwrap_or_default();
            let dataset = format!(
                "{} {} (ATT&CK {} {})",
                key("framework"),
                key("framework_version"),
                key("attack_version"),
                key("domain")
            );
            let values = rows.values(&change.mapping_id, SHOWN_COLUMNS);
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                html(&dataset),
                html(&key("capability_id")),
                html(&key("attack_object_id")),
                html(&key("mapping_type")),
                html(&change.columns.join(", ")),
            );
            for (column, value) in SHOWN_COLUMNS.iter().zip(values) {
                if *column == "references" {
                    let _ = write!(out, "<td>{}</td>", linked_lines(&value));
                } else {
                    let _ = write!(out, "<td><pre>{}</pre></td>", html(&value));
                }
            }
            let _ = writeln!(out, "</tr>");
        }
        let _ = writeln!(out, "</table></div>");
    }
    let _ = writeln!(out, "</section>");
}

/// Lines of text; each line that is an http(s) URL becomes a link, any other shows as text.
fn linked_lines(text: &str) -> String {
    text.lines()
        .map(|line| match web_link(line) {
            Some(url) => format!(
                "<a href=\"{}\" rel=\"noopener noreferrer\" target=\"_blank\">{}</a>",
                html(url),
                html(url)
            ),
            None => html(line).into_owned(),
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

/// A table's rows by `mapping_id`, to show a listed change's other columns.
struct RowLookup<'a> {
    frame: &'a DataFrame,
    index: HashMap<String, usize>,
}

impl<'a> RowLookup<'a> {
    fn new(frame: &'a DataFrame) -> RowLookup<'a> {
        let index = frame
            .column("mapping_id")
            .ok()
            .and_then(|c| c.str().ok().cloned())
            .map(|ids| {
                ids.iter()
                    .enumerate()
                    .filter_map(|(n, id)| Some((id?.to_string(), n)))
                    .collect()
            })
            .unwrap_or_default();
        RowLookup { frame, index }
    }

    /// The row's values in `columns` as text (lists one item per line); empty for a removed row.
    fn values(&self, mapping_id: &str, columns: &[&str]) -> Vec<String> {
        let Some(&row) = self.index.get(mapping_id) else {
            return vec![String::new(); columns.len()];
        };
        columns
            .iter()
            .map(|name| match self.frame.column(name).and_then(|c| c.get(row)) {
                Ok(AnyValue::String(text)) => text.to_string(),
                Ok(AnyValue::StringOwned(text)) => text.to_string(),
                Ok(AnyValue::List(items)) => items
                    .str()
                    .map(|s| s.iter().flatten().collect::<Vec<_>>().join("\n"))
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .collect()
    }
}

/// The coverage heatmaps (inline, from `heatmaps/`), and the techniques mapped per tactic.
fn coverage_section(out: &mut String, page: &Page, dir: &Path) {
    let _ = writeln!(out, "<section id=\"coverage\"><h2>Coverage</h2>");
    let heatmaps = dir.join(crate::pipeline::HEATMAPS_DIR);
    // This run's coverage heatmaps only: a build without Navigator layers keeps the previous ones.
    let mut files: Vec<&str> = page
        .report
        .exports
        .heatmaps
        .iter()
        .map(|h| h.file.as_str())
        .filter(|name| name.starts_with("coverage_"))
        .collect();
    files.sort();
    for file in files {
        let Ok(svg) = std::fs::read_to_string(heatmaps.join(file)) else {
            continue;
        };
        let inline = svg.split_once("?>\n").map_or(svg.as_str(), |(_, rest)| rest);
        // Ids unique in the page, which may hold a heatmap per ATT&CK version and domain.
        let prefix = file.trim_end_matches(".svg");
        let inline = inline
            .replace("id=\"", &format!("id=\"{prefix}-"))
            .replace("url(#", &format!("url(#{prefix}-"));
        let _ = writeln!(
            out,
            "<h3><a href=\"heatmaps/{}\">{}</a></h3><p>Frameworks: {}</p><div class=\"scroll\">{inline}</div>",
            html(file),
            html(file),
            html(&frameworks_covered(page.report, prefix).join(", "))
        );
    }
    for (title, svg) in chart::tactic_charts(page.rows, page.attack) {
        let _ = writeln!(
            out,
            "<h3>Live techniques mapped per tactic: {}</h3><div class=\"scroll\">{svg}</div>",
            html(&title)
        );
    }
    let _ = writeln!(out, "</section>");
}

/// The framework versions (`nist_800_53-rev5`) whose datasets a coverage layer (`coverage_attack-16.1-enterprise`)
/// covers: those of its ATT&CK version and domain.
fn frameworks_covered<'a>(report: &'a Report, coverage: &str) -> Vec<&'a str> {
    let suffix = format!("_{}", coverage.trim_start_matches("coverage_"));
    report
        .datasets
        .iter()
        .filter_map(|d| d.dataset.strip_suffix(suffix.as_str()))
        .collect()
}

/// Every output file, linked relative to `out/` (the change feed's partitions counted, not listed).
fn outputs_section(out: &mut String, dir: &Path) {
    let _ = writeln!(out, "<section id=\"outputs\"><h2>Outputs</h2><ul>");
    let mut files: Vec<String> = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| {
            e.path()
                .strip_prefix(dir)
                .ok()
                .map(|p| p.to_string_lossy().into_owned())
        })
        .filter(|name| !name.starts_with('.') && !name.contains("/.") && name != REPORT_HTML)
        .collect();
    let feed = "warehouse/changes/";
    let feed_files = files.iter().filter(|f| f.starts_with(feed)).count();
    files.retain(|f| !f.starts_with(feed));
    for file in &files {
        let _ = writeln!(out, "<li><a href=\"{}\">{}</a></li>", html(&href_of(file)), html(file));
    }
    if feed_files > 0 {
        let _ = writeln!(out, "<li>{feed}: {feed_files} files, one partition per run date</li>");
    }
    let _ = writeln!(out, "</ul></section>");
}

/// A relative path as a URL path: each segment percent-encoded where a URL needs it (`=` and `%`
/// of Hive partition names included).
fn href_of(path: &str) -> String {
    path.split('/')
        .map(crate::escape::url_segment)
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_urls_in_references_become_links() {
        let shown = linked_lines("https://attack.mitre.org/x\njavascript:alert(1)\n\"><img src=x onerror=alert(1)>");
        assert!(
            shown.starts_with("<a href=\"https://attack.mitre.org/x\" rel=\"noopener noreferrer\" target=\"_blank\">")
        );
        assert!(shown.contains("<br>javascript:alert(1)<br>&quot;&gt;&lt;img"));
        assert_eq!(shown.matches("<a ").count(), 1);
    }

    #[test]
    fn partition_directories_are_linked_with_their_characters_encoded() {
        assert_eq!(
            href_of("warehouse/mappings/framework=nist_800_53/part-0.parquet"),
            "warehouse/mappings/framework%3Dnist_800_53/part-0.parquet"
        );
    }
}
