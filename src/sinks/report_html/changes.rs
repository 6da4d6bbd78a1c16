//! report.html's changes since the last publish: moves to newer ATT&CK releases, the first changes of
//! each kind with their rows' values, and the ATT&CK catalogue's changes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;

use polars::prelude::AnyValue;

use super::{Page, LISTED_CHANGES};
use crate::escape::{html, web_link};
use crate::table::Columns;

/// The columns shown for each listed change, beside its key.
const SHOWN_COLUMNS: &[&str] = &[
    "capability_description",
    "capability_group_name",
    "comments",
    "references",
];

pub(super) fn changes_section(out: &mut String, page: &Page) {
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
    let mut by_kind: BTreeMap<&str, Vec<&crate::changes::Change>> = BTreeMap::new();
    for change in &changes.changes {
        by_kind.entry(change.change.as_str()).or_default().push(change);
    }
    // Only the listed changes' rows are looked up (a first publish adds every row).
    let listed_ids: HashSet<&str> = by_kind
        .values()
        .flat_map(|listed| listed.iter().take(LISTED_CHANGES))
        .map(|c| c.mapping_id.as_str())
        .collect();
    let rows = RowLookup::new(page.frame, &listed_ids, SHOWN_COLUMNS);
    for (kind, listed) in by_kind {
        let _ = writeln!(
            out,
            "<h3>{kind}: first {} of {}</h3><div class=\"scroll\"><table><tr><th>dataset</th><th>capability</th><th>technique</th><th>mapping type</th><th>columns changed</th><th>description</th><th>group</th><th>comments</th><th>references</th></tr>",
            listed.len().min(LISTED_CHANGES),
            listed.len()
        );
        for change in listed.iter().take(LISTED_CHANGES) {
            let key = |column: &str| change.key.get(column).unwrap_or_default().to_string();
            let dataset = format!(
                "{} {} (ATT&CK {} {})",
                key("framework"),
                key("framework_version"),
                key("attack_version"),
                key("domain")
            );
            let values = rows.values(&change.mapping_id, SHOWN_COLUMNS.len());
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
    catalogue_changes(out, changes);
    let _ = writeln!(out, "</section>");
}

/// The ATT&CK catalogue's changes (the first of them), and the published files that changed when
/// no mapping did.
fn catalogue_changes(out: &mut String, changes: &crate::changes::Changes) {
    if !changes.catalogue.is_empty() {
        let _ = writeln!(
            out,
            "<h3>ATT&amp;CK techniques: first {} of {} changed</h3><div class=\"scroll\"><table><tr><th>ATT&amp;CK</th><th>technique</th><th>change</th><th>name before</th><th>name now</th><th>columns changed</th></tr>",
            changes.catalogue.len().min(LISTED_CHANGES),
            changes.catalogue.len()
        );
        for change in changes.catalogue.iter().take(LISTED_CHANGES) {
            let _ = writeln!(
                out,
                "<tr><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                html(&change.attack_version),
                html(&change.domain),
                html(&change.technique_id),
                change.change.as_str(),
                html(change.name_before.as_deref().unwrap_or_default()),
                html(change.name_after.as_deref().unwrap_or_default()),
                html(&change.columns.join(", ")),
            );
        }
        let _ = writeln!(out, "</table></div>");
    }
    if changes.changes.is_empty() && !changes.outputs_changed.is_empty() {
        let listed: Vec<&str> = changes
            .outputs_changed
            .iter()
            .take(LISTED_CHANGES)
            .map(String::as_str)
            .collect();
        let _ = writeln!(
            out,
            "<p>No mapping changed, but {} published files did: {}{}.</p>",
            changes.outputs_changed.len(),
            html(&listed.join(", ")),
            if changes.outputs_changed.len() > listed.len() {
                ", …"
            } else {
                ""
            }
        );
    }
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

/// The listed changes' rows of a table, by `mapping_id`: their values in the shown columns, as text
/// (lists one item per line). The table is read a column at a time; only the listed rows are kept.
struct RowLookup {
    values: HashMap<String, Vec<String>>,
}

impl RowLookup {
    fn new(table: &dyn Columns, listed: &HashSet<&str>, columns: &[&str]) -> RowLookup {
        let rows: Vec<(usize, String)> = table
            .column("mapping_id")
            .ok()
            .and_then(|c| c.str().ok().cloned())
            .map(|ids| {
                ids.iter()
                    .enumerate()
                    .filter_map(|(n, id)| Some((n, id.filter(|id| listed.contains(id))?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let mut values: HashMap<String, Vec<String>> = HashMap::new();
        for name in columns {
            let column = table.column(name).ok();
            for (row, id) in &rows {
                let value = match column.as_ref().and_then(|c| c.get(*row).ok()) {
                    Some(AnyValue::String(text)) => text.to_string(),
                    Some(AnyValue::StringOwned(text)) => text.to_string(),
                    Some(AnyValue::List(items)) => items
                        .str()
                        .map(|s| s.iter().flatten().collect::<Vec<_>>().join("\n"))
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                values.entry(id.clone()).or_default().push(value);
            }
        }
        RowLookup { values }
    }

    /// The row's values in the shown columns; empty for a row the table lacks (a removed one).
    fn values(&self, mapping_id: &str, columns: usize) -> Vec<String> {
        self.values
            .get(mapping_id)
            .cloned()
            .unwrap_or_else(|| vec![String::new(); columns])
    }
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
}
