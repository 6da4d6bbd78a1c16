//! The page's section on `--carry-to`: the derived datasets and how their rows were carried, every
//! replaced or dropped row (up to a limit each; all of them in report.json), the datasets the
//! official release at the target won and those not carried, and the review list.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::escape::html;
use crate::model::CarryKind;
use crate::sinks::report::Report;
use crate::transforms::carry::ReviewTechnique;

/// Replaced or dropped rows listed per derived dataset; the rest are in report.json.
const LISTED_ROWS: usize = 50;

pub(super) fn carry_section(out: &mut String, report: &Report, review: &[ReviewTechnique]) {
    let Some(carry) = &report.carry else { return };
    let target = carry.target.as_deref().unwrap_or("–");
    let _ = writeln!(
        out,
        "<section id=\"carry\"><h2>Carried to ATT&amp;CK {}</h2><p class=\"warn\">Derived datasets are not official mappings: attackmap carried each from the official mapping to an older ATT&amp;CK release (<code>--carry-to</code>). Their layers, STIX bundles and rows say so.</p>",
        html(target)
    );
    let _ = writeln!(
        out,
        "<div class=\"scroll\"><table><tr><th>derived dataset</th><th>from ATT&amp;CK</th>{}<th>ATT&amp;CK's changes flagged</th><th>review list</th></tr>",
        CarryKind::ALL
            .iter()
            .map(|k| format!("<th>{}</th>", k.as_str()))
            .collect::<String>()
    );
    for derived in &carry.derived {
        let changes: Vec<String> = derived
            .attack_changes
            .iter()
            .map(|(change, n)| format!("{} {n}", change.as_str()))
            .collect();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td>{}<td>{}</td><td class=\"n\"><a href=\"navigator/{}_review.json\">{}</a></td></tr>",
            html(&derived.dataset),
            html(&derived.derived_from),
            CarryKind::ALL
                .iter()
                .map(|k| format!(
                    "<td class=\"n\">{}</td>",
                    derived.rows.get(k).copied().unwrap_or(0)
                ))
                .collect::<String>(),
            html(&changes.join(", ")),
            html(&derived.dataset),
            derived.review
        );
    }
    let _ = writeln!(out, "</table></div>");
    for official in &carry.official_at_target {
        let _ = writeln!(
            out,
            "<p>{}: the official dataset at the target wins, nothing derived{}.</p>",
            html(&official.dataset),
            if official.older_versions.is_empty() {
                String::new()
            } else {
                format!(" (not carried: {})", html(&official.older_versions.join(", ")))
            }
        );
    }
    for not_carried in &carry.not_carried {
        let class = if not_carried.is_warning() { "warn" } else { "" };
        let _ = writeln!(
            out,
            "<p class=\"{class}\">{} not carried: {}</p>",
            html(&not_carried.dataset),
            html(&not_carried.reason)
        );
    }
    replaced_and_dropped(out, carry);
    review_lists(out, review);
    let _ = writeln!(out, "</section>");
}

fn replaced_and_dropped(out: &mut String, carry: &crate::transforms::carry::CarryReport) {
    if carry.derived.iter().all(|d| d.replaced_or_dropped.is_empty()) {
        return;
    }
    let _ = writeln!(
        out,
        "<h3>Replaced and dropped rows</h3><div class=\"scroll\"><table><tr><th>derived dataset</th><th>capability</th><th>mapping type</th><th>official technique</th><th>now</th><th>carry</th></tr>"
    );
    for derived in &carry.derived {
        for row in derived.replaced_or_dropped.iter().take(LISTED_ROWS) {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                html(&derived.dataset),
                html(row.capability_id.as_deref().unwrap_or("")),
                html(row.mapping_type.as_deref().unwrap_or("")),
                html(row.original_technique.as_deref().unwrap_or("")),
                if row.carry == CarryKind::Replaced {
                    html(row.technique.as_deref().unwrap_or("")).into_owned()
                } else {
                    "–".to_string()
                },
                row.carry.as_str()
            );
        }
        let more = derived.replaced_or_dropped.len().saturating_sub(LISTED_ROWS);
        if more > 0 {
            let _ = writeln!(
                out,
                "<tr><td colspan=\"6\">{} more of {} in report.json</td></tr>",
                more,
                html(&derived.dataset)
            );
        }
    }
    let _ = writeln!(out, "</table></div>");
}

/// A review list: the datasets it applies to, and its techniques.
type ReviewList<'a> = (Vec<String>, Vec<&'a ReviewTechnique>);

/// One list per (release carried from, target, domain): the same for every dataset carried alike.
fn review_lists(out: &mut String, review: &[ReviewTechnique]) {
    let mut lists: BTreeMap<(&str, &str, &str), ReviewList> = BTreeMap::new();
    for technique in review {
        let list = lists
            .entry((
                &technique.derived_from,
                &technique.dataset.attack_version,
                &technique.dataset.domain,
            ))
            .or_default();
        let dataset = technique.dataset.to_string();
        if !list.0.contains(&dataset) {
            list.0.push(dataset);
        }
        if list.1.first().is_none_or(|first| first.dataset == technique.dataset) {
            list.1.push(technique);
        }
    }
    for ((from, target, domain), (datasets, techniques)) in lists {
        let _ = writeln!(
            out,
            "<h3>Review list: {} techniques of ATT&amp;CK {} {} new since {}</h3><p>For {}: the official mappings could not have mapped them.</p><div class=\"scroll\"><table><tr><th>technique</th><th>name</th><th>tactics</th></tr>",
            techniques.len(),
            html(target),
            html(domain),
            html(from),
            html(&datasets.join(", "))
        );
        for t in techniques {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                html(&t.technique_id),
                html(&t.technique_name),
                html(&t.tactics.join(", "))
            );
        }
        let _ = writeln!(out, "</table></div>");
    }
}
