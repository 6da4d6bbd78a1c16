//! The end-of-run summary a person reads on a terminal: it fits 80 columns — totals, one line per
//! dataset, then warnings. Everything it cuts short is whole in report.json and report.html.

use std::fmt::Write as _;

use super::{Report, TechniqueStatuses};
use crate::sinks::cut_to;

/// The width of the summary.
const COLUMNS: usize = 80;
/// The width of the dataset column.
const DATASET: usize = 44;
/// Skipped inputs and rejections listed; the rest are counted.
const LISTED: usize = 10;

impl Report {
    /// The lines a person reads after a run, none wider than 80 columns.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let mut line = |text: String| {
            let _ = writeln!(out, "{}", cut_to(&text, COLUMNS));
        };
        let (t, i) = (&self.totals, &self.inputs);
        line(format!(
            "read {} files ({} skipped): {} rows, {} rejected -> {} mappings",
            i.files,
            i.skipped,
            t.rows_read + t.rejected_rows,
            t.rejected_rows,
            t.mappings
        ));
        line(format!(
            "  {:<DATASET$} {:>7} {:>8} {:>7} {:>5}",
            "dataset", "rows", "mappings", "repeats", "gaps"
        ));
        for dataset in &self.datasets {
            let c = &dataset.counts;
            line(format!(
                "  {:<DATASET$} {:>7} {:>8} {:>7} {:>5}",
                cut_to(&dataset.dataset, DATASET),
                c.source_rows,
                c.mappings,
                c.repeats_collapsed,
                dataset.gaps.map_or_else(|| "-".to_string(), |g| g.to_string()),
            ));
            if let Some(from) = &dataset.derived_from {
                line(format!(
                    "    DERIVED: carried from ATT&CK {from} (--carry-to), not an official mapping"
                ));
            }
            if let Some(cut) = dataset.source.cut {
                line(format!(
                    "    INCOMPLETE: its landing page shows {} of {} mappings",
                    cut.shown, cut.total
                ));
            }
            for part in dataset
                .techniques
                .as_ref()
                .map(TechniqueStatuses::summary_parts)
                .unwrap_or_default()
            {
                line(format!("    techniques: {part}"));
            }
        }
        line(format!(
            "total: {} mappings, {} repeats collapsed, {} non-mappable",
            t.mappings, t.repeats_collapsed, t.non_mappable
        ));
        if let Some(carry) = &self.carry {
            let rows: usize = carry.derived.iter().flat_map(|d| d.rows.values()).sum();
            let kept: usize = carry
                .derived
                .iter()
                .flat_map(|d| d.rows.iter())
                .filter(|(kind, _)| kind.is_kept())
                .map(|(_, n)| n)
                .sum();
            line(format!(
                "carried to ATT&CK {}: {} derived, {rows} rows, {} dropped, {} official won",
                carry.target.as_deref().unwrap_or("-"),
                carry.derived.len(),
                rows - kept,
                carry.official_at_target.len()
            ));
        }
        let e = &self.exports;
        if !e.stix.is_empty() || !e.navigator.is_empty() || !e.warehouse.is_empty() {
            let tables: std::collections::BTreeSet<&str> = e.warehouse.iter().map(|f| f.table.as_str()).collect();
            line(format!(
                "exported {} STIX bundles, {} Navigator layers and heatmaps, {} warehouse tables",
                e.stix.len(),
                e.navigator.len(),
                tables.len()
            ));
        }
        if !e.attack_bundles.is_empty() {
            line(format!("ATT&CK catalogue: {} bundles", e.attack_bundles.len()));
        }
        if !i.not_inputs.is_empty() {
            line(format!(
                "not inputs, not read: {} files, listed in report.json",
                self.not_inputs.len()
            ));
            for (kind, count) in &i.not_inputs {
                line(format!("  {}", kind.counted(*count)));
            }
        }
        for skipped in self.skipped.iter().take(LISTED) {
            line(format!("skipped {}: {}", skipped.path, skipped.reason));
        }
        for rejected in self.rejected.iter().take(LISTED) {
            line(format!(
                "rejected {} {}: {}",
                rejected.source, rejected.element, rejected.reason
            ));
        }
        let more = self.skipped.len().saturating_sub(LISTED) + self.rejected.len().saturating_sub(LISTED);
        if more > 0 {
            line(format!("… and {more} more skipped or rejected, listed in report.json"));
        }
        out
    }
}

impl TechniqueStatuses {
    /// A part per kind of technique that is not live: `1 revoked (T1053.001 → T1053.002)`.
    fn summary_parts(&self) -> Vec<String> {
        let mut parts = Vec::new();
        let listed = |ids: Vec<String>| ids.join(", ");
        if !self.revoked.is_empty() {
            let ids = self
                .revoked
                .iter()
                .map(|r| match &r.replaced_by {
                    Some(by) => format!("{} → {by}", r.technique),
                    None => r.technique.clone(),
                })
                .collect();
            parts.push(format!("{} revoked ({})", self.revoked.len(), listed(ids)));
        }
        if !self.deprecated.is_empty() {
            parts.push(format!(
                "{} deprecated ({})",
                self.deprecated.len(),
                listed(self.deprecated.clone())
            ));
        }
        if !self.other_domain.is_empty() {
            let ids = self
                .other_domain
                .iter()
                .map(|t| format!("{}: {}", t.technique, t.domain))
                .collect();
            parts.push(format!(
                "{} of another domain ({})",
                self.other_domain.len(),
                listed(ids)
            ));
        }
        if !self.unknown.is_empty() {
            parts.push(format!(
                "{} unknown to ATT&CK ({})",
                self.unknown.len(),
                listed(self.unknown.clone())
            ));
        }
        parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_to_the_width() {
        assert_eq!(cut_to("short", 80), "short");
        let cut = cut_to(&"x".repeat(100), 80);
        assert_eq!(cut.chars().count(), 80);
        assert!(cut.ends_with('…'));
    }
}
