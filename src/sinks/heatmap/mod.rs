//! SVG heatmaps: `heatmaps/<layer>.svg` for every Navigator layer, drawn from the layer document the
//! layer file is written from (its scores, colors, gradient, legend and comments), so the picture and
//! the layer never disagree.
//!
//! With the ATT&CK catalogue of the layer's version and domain, the picture is that matrix: tactics
//! as columns in ATT&CK's order, each column's techniques by name, and beneath a technique the
//! sub-techniques the layer colors (Navigator's "annotated" expansion, which the layers ask for); the
//! other sub-techniques are folded into their parent. A technique under several tactics has a cell in
//! each column. Without a catalogue: a grid of the layer's techniques by id, and a note saying so.

mod matrix;
mod svg;

use std::path::Path;

use serde::Serialize;

use crate::error::Result;
use crate::sinks::navigator::Layer;
use crate::sinks::write_staged;
use crate::sources::attack_stix::AttackCatalog;
pub use svg::navigator_color;

/// The directory of the output directory that holds the heatmaps.
pub const DIR: &str = "heatmaps";

/// What one heatmap file shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HeatmapCounts {
    pub file: String,
    /// Techniques colored: those the layer scores or colors.
    pub colored_techniques: usize,
    /// The live techniques of the matrix drawn; `None` for a plain grid (no catalogue).
    pub techniques_in_matrix: Option<usize>,
    pub bytes: usize,
}

/// Draws the heatmap of the layer `document`, written as `layer_file`, into `dir`: called by the
/// Navigator sink with each layer it writes, so no layer is read back from disk.
pub fn write(layer_file: &str, document: &Layer, attack: &AttackCatalog, dir: &Path) -> Result<HeatmapCounts> {
    let file = format!("{}.svg", layer_file.trim_end_matches(".json"));
    let bundle = attack_of(layer_file).and_then(|(version, domain)| attack.own_bundles(version, domain).next());
    let grid = match bundle {
        Some(bundle) => matrix::Grid::of_matrix(document, bundle),
        None => matrix::Grid::of_layer(document),
    };
    let picture = svg::draw(document, &grid);
    let target = crate::identifiers::file_in(dir, &file)?;
    write_staged(&target, |out| {
        use std::io::Write;
        out.write_all(picture.as_bytes()).map_err(|e| e.to_string())
    })?;
    Ok(HeatmapCounts {
        file,
        colored_techniques: grid.colored_techniques(),
        techniques_in_matrix: grid.techniques_in_matrix,
        bytes: picture.len(),
    })
}

/// The ATT&CK version and domain a layer file is about: `…_attack-16.1-enterprise.json` and
/// `…_attack-16.1-enterprise_scores.json` name them.
fn attack_of(layer_file: &str) -> Option<(&str, &str)> {
    let stem = layer_file.strip_suffix(".json")?;
    let stem = stem.strip_suffix("_scores").unwrap_or(stem);
    let (_, attack) = stem.rsplit_once("_attack-")?;
    attack.rsplit_once('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layer_file_names_its_attack_version_and_domain() {
        assert_eq!(
            attack_of("nist_800_53-rev5_attack-16.1-enterprise.json"),
            Some(("16.1", "enterprise"))
        );
        assert_eq!(
            attack_of("aws-12.12.2024_attack-16.1-enterprise_scores.json"),
            Some(("16.1", "enterprise"))
        );
        assert_eq!(attack_of("coverage_attack-14.1-ics.json"), Some(("14.1", "ics")));
        assert_eq!(attack_of("layer.json"), None);
    }
}
