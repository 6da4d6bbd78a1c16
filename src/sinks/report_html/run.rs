//! report.html's account of the run: its facts and stages, the ATT&CK releases per framework, the
//! datasets the site advertises, the input totals and the warnings.

use std::fmt::Write;

use super::{Page, LISTED_CHANGES};
use crate::escape::html;
use crate::sinks::count_of;
use crate::sources::http::crawl::{DatasetFetch, FetchState, FrameworkReleases};

pub(super) fn run_section(out: &mut String, page: &Page) {
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
