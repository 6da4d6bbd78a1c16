//! Draws a [`Grid`] as SVG 1.1: a title and counts, the layer's legend, then one column per tactic.
//! Whole-pixel geometry and sorted input, so the bytes depend on the layer and catalogue only; one
//! generic font family, no external fonts, no scripts; every text from the data through
//! [`crate::escape::xml`].

use std::fmt::Write;

use crate::sinks::navigator::Layer;

use super::matrix::{Cell, Colored, Grid};
use crate::escape::xml;
use crate::sinks::{count_of, cut_to};

const MARGIN: usize = 12;
const COLUMN_WIDTH: usize = 150;
const COLUMN_GAP: usize = 4;
const CELL_HEIGHT: usize = 16;
const SUB_INDENT: usize = 10;
const HEADER_HEIGHT: usize = 96;
const COLUMN_TITLE_HEIGHT: usize = 30;
/// The width of a character of the 10 px sans-serif text, generously: what decides where a name is
/// cut so it never overflows its cell.
const CHAR_WIDTH_TENTHS: usize = 62;
const UNCOLORED: &str = "#ffffff";
const LINE: &str = "#c8c8c8";

/// The color Navigator shows for `score` on a layer's gradient: the colors spread evenly from
/// `low` to `high`, interpolated linearly in RGB, scores outside the range clamped to its ends.
pub fn navigator_color(colors: &[impl AsRef<str>], low: f64, high: f64, score: f64) -> String {
    let stops: Vec<[f64; 3]> = colors.iter().filter_map(|c| rgb(c.as_ref())).collect();
    match stops.len() {
        0 => return UNCOLORED.to_string(),
        1 => return hex(stops[0]),
        _ => {}
    }
    let t = if high > low {
        ((score - low) / (high - low)).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let position = t * (stops.len() - 1) as f64;
    let index = (position.floor() as usize).min(stops.len() - 2);
    let within = position - index as f64;
    let (a, b) = (stops[index], stops[index + 1]);
    hex([0, 1, 2].map(|i| a[i] + (b[i] - a[i]) * within))
}

fn rgb(color: &str) -> Option<[f64; 3]> {
    let hex = color.strip_prefix('#')?;
    if hex.len() != 6 || !hex.is_ascii() {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok().map(f64::from);
    Some([channel(0)?, channel(2)?, channel(4)?])
}

fn hex(rgb: [f64; 3]) -> String {
    let [r, g, b] = rgb.map(|c| c.round().clamp(0.0, 255.0) as u8);
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// `1 technique`, `2 techniques`.
fn techniques(n: usize) -> String {
    count_of(n, "technique", "techniques")
}

/// `text`, cut with an ellipsis to fit `width` pixels.
fn fitted(text: &str, width: usize) -> String {
    cut_to(text, width * 10 / CHAR_WIDTH_TENTHS)
}

pub(super) fn draw(layer: &Layer, grid: &Grid) -> String {
    let columns = grid.columns.len().max(1);
    let width = (2 * MARGIN + columns * COLUMN_WIDTH + (columns - 1) * COLUMN_GAP).max(640);
    let tallest = grid.columns.iter().map(|c| c.cells.len()).max().unwrap_or(0);
    let height = HEADER_HEIGHT + COLUMN_TITLE_HEIGHT + tallest * CELL_HEIGHT + 2 * MARGIN;
    let name = layer.name.as_str();
    let mut svg = String::with_capacity(64 * 1024);
    let _ = writeln!(svg, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="10">"#
    );
    let _ = writeln!(svg, "<title>{}</title>", xml(name));
    let _ = writeln!(svg, r#"<rect width="{width}" height="{height}" fill="{UNCOLORED}"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{MARGIN}" y="{}" font-size="16" font-weight="bold">{}</text>"#,
        MARGIN + 14,
        xml(&fitted(name, width - 2 * MARGIN))
    );
    let counts = match grid.techniques_in_matrix {
        Some(in_matrix) => format!(
            "{} colored of {in_matrix} in the ATT&CK matrix",
            techniques(grid.colored_techniques())
        ),
        None => format!("{} colored", techniques(grid.colored_techniques())),
    };
    let _ = writeln!(svg, r#"<text x="{MARGIN}" y="{}">{}</text>"#, MARGIN + 32, xml(&counts));
    if let Some(note) = &grid.note {
        let _ = writeln!(
            svg,
            r#"<text x="{MARGIN}" y="{}" font-style="italic">{}</text>"#,
            MARGIN + 46,
            xml(note)
        );
    }
    draw_legend(&mut svg, layer, MARGIN + 58);
    for (n, column) in grid.columns.iter().enumerate() {
        let x = MARGIN + n * (COLUMN_WIDTH + COLUMN_GAP);
        let y = HEADER_HEIGHT;
        let _ = writeln!(svg, r#"<g class="tactic" id="tactic-{}">"#, xml(&column.key));
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" font-weight="bold">{}</text>"#,
            x + 2,
            y + 12,
            xml(&fitted(&column.title, COLUMN_WIDTH - 4))
        );
        let techniques_in_column = column.cells.iter().filter(|c| !c.sub_technique).count();
        let colored = column.cells.iter().filter(|c| c.colored).count();
        let _ = writeln!(
            svg,
            r##"<text x="{}" y="{}" fill="#555555">{}, {colored} cells colored</text>"##,
            x + 2,
            y + 24,
            techniques(techniques_in_column),
        );
        for (row, cell) in column.cells.iter().enumerate() {
            draw_cell(
                &mut svg,
                cell,
                grid.colored(cell),
                &column.key,
                x,
                y + COLUMN_TITLE_HEIGHT + row * CELL_HEIGHT,
            );
        }
        let _ = writeln!(svg, "</g>");
    }
    let _ = writeln!(svg, "</svg>");
    svg
}

fn draw_cell(svg: &mut String, cell: &Cell, colored: Option<&Colored>, column: &str, x: usize, y: usize) {
    let indent = if cell.sub_technique { SUB_INDENT } else { 0 };
    let width = COLUMN_WIDTH - indent;
    let label = if cell.name.is_empty() {
        cell.technique.to_string()
    } else {
        format!("{} {}", cell.technique, cell.name)
    };
    let (class, fill, hover) = match colored {
        Some(colored) => {
            let mut hover = format!("{label} — score {}", colored.score);
            for line in std::iter::once(&colored.comment).chain(&colored.metadata) {
                if !line.is_empty() {
                    hover.push('\n');
                    hover.push_str(line);
                }
            }
            ("technique colored", colored.color.as_str(), hover)
        }
        None => ("technique", UNCOLORED, format!("{label} — not mapped")),
    };
    let _ = writeln!(
        svg,
        r#"<g class="{class}" id="cell-{}-{}"><title>{}</title><rect x="{}" y="{y}" width="{width}" height="{}" fill="{}" stroke="{LINE}"/><text x="{}" y="{}">{}</text></g>"#,
        xml(cell.technique),
        xml(column),
        xml(&hover),
        x + indent,
        CELL_HEIGHT - 1,
        xml(fill),
        x + indent + 3,
        y + 11,
        xml(&fitted(&label, width - 6)),
    );
}

/// The layer's legend items as swatches, and its gradient as a bar from `minValue` to `maxValue`
/// when it has two or more different colors.
fn draw_legend(svg: &mut String, layer: &Layer, y: usize) {
    let mut x = MARGIN;
    let gradient = &layer.gradient.colors;
    if gradient.windows(2).any(|pair| pair[0] != pair[1]) {
        let _ = writeln!(
            svg,
            r#"<defs><linearGradient id="gradient" x1="0" x2="1" y1="0" y2="0">"#
        );
        for (n, color) in gradient.iter().enumerate() {
            let offset = n * 100 / (gradient.len() - 1);
            let _ = writeln!(svg, r#"<stop offset="{offset}%" stop-color="{}"/>"#, xml(color));
        }
        let _ = writeln!(svg, "</linearGradient></defs>");
        let _ = writeln!(
            svg,
            r#"<g class="gradient"><text x="{x}" y="{}">{}</text><rect x="{}" y="{y}" width="120" height="14" fill="url(#gradient)" stroke="{LINE}"/><text x="{}" y="{}">{}</text></g>"#,
            y + 11,
            layer.gradient.min_value,
            x + 24,
            x + 148,
            y + 11,
            layer.gradient.max_value,
        );
        x += 190;
    }
    for item in &layer.legend_items {
        let color = &item.color;
        let label = fitted(&item.label, 110);
        let _ = writeln!(
            svg,
            r#"<g class="legend"><rect x="{x}" y="{y}" width="14" height="14" fill="{}" stroke="{LINE}"/><text x="{}" y="{}">{}</text></g>"#,
            xml(color),
            x + 18,
            y + 11,
            xml(&label),
        );
        x += 130;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_take_the_gradients_colors() {
        let colors = ["#ffe766", "#ffaf66"];
        assert_eq!(navigator_color(&colors, 1.0, 32.0, 1.0), "#ffe766");
        assert_eq!(navigator_color(&colors, 1.0, 32.0, 32.0), "#ffaf66");
        assert_eq!(navigator_color(&colors, 1.0, 3.0, 2.0), "#ffcb66");
        assert_eq!(navigator_color(&colors, 1.0, 3.0, 99.0), "#ffaf66", "clamped");
        assert_eq!(navigator_color(&["#ffaf66", "#ffaf66"], 15.0, 16.0, 16.0), "#ffaf66");
    }

    #[test]
    fn long_names_are_cut_with_an_ellipsis() {
        assert_eq!(fitted("T1562 Impair Defenses", 144), "T1562 Impair Defenses");
        let cut = fitted("T1547.014 Boot or Logon Autostart Execution: Active Setup", 144);
        assert!(
            cut.ends_with('…') && cut.chars().count() <= 144 * 10 / CHAR_WIDTH_TENTHS,
            "{cut}"
        );
    }
}
