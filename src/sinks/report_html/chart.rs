//! The report's bar chart: per ATT&CK version and domain, the live techniques each dataset maps under
//! each tactic of the matrix (a technique counts under every tactic it belongs to), as inline SVG.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use crate::escape::xml;
use crate::model::{DatasetKey, MappingRow, TechniqueStatus};
use crate::sources::attack_stix::AttackCatalog;

const PALETTE: &[&str] = &[
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
];
const LABEL_WIDTH: usize = 170;
const BAR_HEIGHT: usize = 7;
const PLOT_WIDTH: usize = 520;

/// What the charts keep of each dataset, added one at a time: per (ATT&CK version, domain) with a
/// catalogue, each dataset's name and its count of live techniques under each tactic of the matrix.
#[derive(Default)]
pub struct TacticCharts {
    by_attack: BTreeMap<(String, String), Vec<DatasetCounts>>,
}

/// A dataset's name and its count of live techniques under each tactic, in the matrix's order.
type DatasetCounts = (String, Vec<usize>);

impl TacticCharts {
    /// Counts a dataset's live techniques per tactic; datasets are added in the table's order.
    pub fn add(&mut self, dataset: &DatasetKey, rows: &[MappingRow], attack: &AttackCatalog) {
        let Some(bundle) = attack.own_bundles(&dataset.attack_version, &dataset.domain).next() else {
            return;
        };
        let live: BTreeSet<&str> = rows
            .iter()
            .filter(|r| !r.is_non_mappable() && r.technique_status == Some(TechniqueStatus::Live))
            .filter_map(|r| r.attack_object_id.as_deref())
            .collect();
        let counts = bundle
            .tactics()
            .iter()
            .map(|tactic| {
                live.iter()
                    .filter(|id| {
                        bundle
                            .technique(id)
                            .is_some_and(|t| t.tactics.contains(&tactic.short_name))
                    })
                    .count()
            })
            .collect();
        self.by_attack
            .entry((dataset.attack_version.clone(), dataset.domain.clone()))
            .or_default()
            .push((dataset.to_string(), counts));
    }

    /// One chart per (ATT&CK version, domain) that has a catalogue: `(title, svg)`.
    pub fn draw(self, attack: &AttackCatalog) -> Vec<(String, String)> {
        self.by_attack
            .into_iter()
            .filter_map(|((version, domain), datasets)| {
                let bundle = attack.own_bundles(&version, &domain).next()?;
                let tactics = bundle.tactics();
                let counts: Vec<Vec<usize>> = (0..tactics.len())
                    .map(|tactic| datasets.iter().map(|(_, counts)| counts[tactic]).collect())
                    .collect();
                let names: Vec<&str> = tactics.iter().map(|t| t.name.as_str()).collect();
                let labels: Vec<&str> = datasets.iter().map(|(d, _)| d.as_str()).collect();
                Some((format!("ATT&CK {version} {domain}"), draw(&names, &labels, &counts)))
            })
            .collect()
    }
}

fn draw(tactics: &[&str], datasets: &[&str], counts: &[Vec<usize>]) -> String {
    let most = counts.iter().flatten().copied().max().unwrap_or(0).max(1);
    let legend_rows = datasets.len().div_ceil(2);
    let legend_height = legend_rows * 14 + 8;
    let group = datasets.len() * BAR_HEIGHT + 8;
    let width = LABEL_WIDTH + PLOT_WIDTH + 40;
    let height = legend_height + tactics.len() * group + 4;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="10" role="img">"#
    );
    for (n, dataset) in datasets.iter().enumerate() {
        let (x, y) = (4 + (n % 2) * 360, 4 + (n / 2) * 14);
        let _ = writeln!(
            svg,
            r#"<rect x="{x}" y="{y}" width="10" height="10" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            PALETTE[n % PALETTE.len()],
            x + 14,
            y + 9,
            xml(dataset)
        );
    }
    for (row, (tactic, values)) in tactics.iter().zip(counts).enumerate() {
        let y = legend_height + row * group;
        let _ = writeln!(svg, r#"<text x="4" y="{}">{}</text>"#, y + group / 2 + 3, xml(tactic));
        for (n, value) in values.iter().enumerate() {
            let bar = value * PLOT_WIDTH / most;
            let bar_y = y + n * BAR_HEIGHT;
            let _ = writeln!(
                svg,
                r#"<rect x="{LABEL_WIDTH}" y="{bar_y}" width="{bar}" height="{}" fill="{}"><title>{}: {value} techniques under {}</title></rect><text x="{}" y="{}" font-size="7">{value}</text>"#,
                BAR_HEIGHT - 1,
                PALETTE[n % PALETTE.len()],
                xml(datasets[n]),
                xml(tactic),
                LABEL_WIDTH + bar + 3,
                bar_y + BAR_HEIGHT - 1,
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}
