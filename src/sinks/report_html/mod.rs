//! `report.html`: what a run did, in one self-contained page (inline CSS and SVG, no script at all,
//! a Content-Security-Policy that forbids any, links relative to `out/`). Every text from the data
//! goes through [`crate::escape::html`]; a URL from the data becomes a link only when
//! [`crate::escape::web_link`] says it is http(s), and then with `rel="noopener noreferrer"`.
//!
//! `build`'s page depends on its inputs and the previously published table only (byte-identical for
//! the same); `refresh`'s also tells when the run started, how long each stage took and what was
//! fetched, so, like `manifest.json`, it differs between runs.

mod carry;
mod changes;
mod chart;
mod run;

pub use chart::TacticCharts;

use changes::changes_section;
use run::run_section;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use crate::changes::Changes;
use crate::error::Result;
use crate::escape::html;
use crate::sinks::report::Report;
use crate::sinks::write_staged;
use crate::sources::attack_stix::AttackCatalog;
use crate::sources::http::crawl::{DatasetFetch, FrameworkReleases};
use crate::transforms::carry::ReviewTechnique;

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
    /// The table published, read a column at a time for the listed changes' rows.
    pub frame: &'a dyn crate::table::Columns,
    /// The charts of live techniques per tactic ([`TacticCharts`] of the table's datasets).
    pub tactic_charts: &'a [(String, String)],
    pub attack: &'a AttackCatalog,
    /// `--carry-to`'s review list.
    pub review: &'a [ReviewTechnique],
}

/// Writes `out/report.html`, linking the files `out` holds.
pub fn write(page: &Page, out: &Path) -> Result<()> {
    let mut body = String::with_capacity(256 * 1024);
    run_section(&mut body, page);
    datasets_section(&mut body, page.report);
    carry::carry_section(&mut body, page.report, page.review);
    changes_section(&mut body, page);
    coverage_section(&mut body, page, out);
    outputs_section(&mut body, out);
    let document = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>attackmap {} report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>attackmap {}: what this run did</h1>\n{body}</body>\n</html>\n",
        page.run.command, page.run.command
    );
    write_staged(&out.join(REPORT_HTML), |file| {
        use std::io::Write;
        file.write_all(document.as_bytes()).map_err(|e| e.to_string())
    })
}

const STYLE: &str = "body{font-family:sans-serif;font-size:14px;margin:24px;color:#222;max-width:1400px}\
table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}\
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}.warn{color:#a40000}\
.ok{color:#1a6b1a}section{margin-bottom:28px}.scroll{overflow-x:auto;border:1px solid #eee}\
code{background:#f6f6f6;padding:0 3px}pre{white-space:pre-wrap;margin:0}";

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
            "<tr><td>{}{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{} ({} / {})</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td>{complete}</td></tr>",
            html(&d.dataset),
            d.derived_from.as_ref().map_or_else(String::new, |from| format!(
                " <span class=\"warn\">DERIVED from ATT&amp;CK {}, not official</span>",
                html(from)
            )),
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

/// The coverage heatmaps (inline, from `heatmaps/`), and the techniques mapped per tactic.
fn coverage_section(out: &mut String, page: &Page, dir: &Path) {
    let _ = writeln!(out, "<section id=\"coverage\"><h2>Coverage</h2>");
    let heatmaps = dir.join(crate::sinks::heatmap::DIR);
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
    for (title, svg) in page.tactic_charts {
        let _ = writeln!(
            out,
            "<h3>Live techniques mapped per tactic: {}</h3><div class=\"scroll\">{svg}</div>",
            html(title)
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
    fn partition_directories_are_linked_with_their_characters_encoded() {
        assert_eq!(
            href_of("warehouse/mappings/framework=nist_800_53/part-0.parquet"),
            "warehouse/mappings/framework%3Dnist_800_53/part-0.parquet"
        );
    }
}
