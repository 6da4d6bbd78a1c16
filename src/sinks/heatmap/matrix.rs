//! What a heatmap shows, before any drawing: columns of cells, each cell a technique with the color
//! the layer gives it (or none), from the ATT&CK matrix or, without a catalogue, from the layer alone.

use std::collections::{BTreeMap, BTreeSet};

use super::svg::navigator_color;
use crate::sinks::navigator::Layer;
use crate::sources::attack_stix::AttackBundle;

pub(super) struct Grid<'a> {
    pub(super) columns: Vec<Column<'a>>,
    /// What the layer says of each technique it colors.
    colored: BTreeMap<&'a str, Colored>,
    /// The live techniques of the matrix; `None` for a plain grid.
    pub(super) techniques_in_matrix: Option<usize>,
    /// Said under the title: why the picture is not the matrix.
    pub(super) note: Option<String>,
}

pub(super) struct Column<'a> {
    pub(super) title: String,
    /// A stable name for the column's cells' ids: the tactic's short name, or `grid-<n>`.
    pub(super) key: String,
    pub(super) cells: Vec<Cell<'a>>,
}

pub(super) struct Cell<'a> {
    pub(super) technique: &'a str,
    pub(super) name: &'a str,
    pub(super) sub_technique: bool,
    /// Whether the layer colors it ([`Grid::colored`] says how).
    pub(super) colored: bool,
}

/// A technique the layer colors: the color Navigator shows, its score, comment and metadata (the
/// capabilities and their mapping types, as `name: value` lines).
pub(super) struct Colored {
    pub(super) color: String,
    pub(super) score: f64,
    pub(super) comment: String,
    pub(super) metadata: Vec<String>,
}

/// The metadata lines a cell's hover text shows; the rest are counted.
const METADATA_LINES: usize = 40;

/// Rows of a plain grid's columns.
const GRID_ROWS: usize = 30;

impl<'a> Grid<'a> {
    /// The matrix of `bundle`, colored as `layer` colors it.
    pub(super) fn of_matrix(layer: &'a Layer, bundle: &'a AttackBundle) -> Grid<'a> {
        let colored = colored_entries(layer);
        let name_of = |id: &str| bundle.technique(id).map_or("", |t| t.name.as_str());
        let mut in_matrix = BTreeSet::new();
        let columns = bundle
            .matrix()
            .iter()
            .map(|column| {
                let mut parents: Vec<&'a (String, Vec<String>)> = column.techniques.iter().collect();
                sort_as_the_layer_does(&mut parents, layer, &colored, |(id, _)| id, name_of);
                let mut cells = Vec::new();
                for (parent, subs) in parents {
                    in_matrix.insert(parent.as_str());
                    cells.push(cell(parent, name_of(parent), false, &colored));
                    for sub in subs {
                        in_matrix.insert(sub.as_str());
                        if colored.contains_key(sub.as_str()) {
                            cells.push(cell(sub, name_of(sub), true, &colored));
                        }
                    }
                }
                Column {
                    title: column.tactic.name.clone(),
                    key: column.tactic.short_name.clone(),
                    cells,
                }
            })
            .collect();
        Grid {
            columns,
            colored,
            techniques_in_matrix: Some(in_matrix.len()),
            note: None,
        }
    }

    /// Without a catalogue: the layer's techniques by id, in columns of [`GRID_ROWS`].
    pub(super) fn of_layer(layer: &'a Layer) -> Grid<'a> {
        let colored = colored_entries(layer);
        let ids: Vec<&'a str> = colored.keys().copied().collect();
        let columns = ids
            .chunks(GRID_ROWS)
            .enumerate()
            .map(|(n, chunk)| Column {
                title: format!("{} – {}", chunk[0], chunk[chunk.len() - 1]),
                key: format!("grid-{n}"),
                cells: chunk
                    .iter()
                    .map(|id| cell(id, "", id.contains('.'), &colored))
                    .collect(),
            })
            .collect();
        Grid {
            columns,
            colored,
            techniques_in_matrix: None,
            note: Some(
                "No ATT&CK catalogue for this version and domain: a grid of the layer's techniques by id, not the matrix."
                    .to_string(),
            ),
        }
    }

    /// The distinct techniques with a colored cell.
    pub(super) fn colored_techniques(&self) -> usize {
        self.columns
            .iter()
            .flat_map(|c| &c.cells)
            .filter(|c| c.colored)
            .map(|c| c.technique)
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// How the layer colors `cell`: `None` when it does not.
    pub(super) fn colored(&self, cell: &Cell) -> Option<&Colored> {
        self.colored.get(cell.technique)
    }
}

fn cell<'a>(id: &'a str, name: &'a str, sub_technique: bool, colored: &BTreeMap<&str, Colored>) -> Cell<'a> {
    Cell {
        technique: id,
        name,
        sub_technique,
        colored: colored.contains_key(id),
    }
}

/// The layer's enabled entries that Navigator colors (a `color`, or a `score` on the gradient), by
/// technique; the first entry of a technique wins, as in Navigator.
fn colored_entries(layer: &Layer) -> BTreeMap<&str, Colored> {
    let gradient = &layer.gradient;
    let (low, high) = (gradient.min_value as f64, gradient.max_value as f64);
    let mut colored = BTreeMap::new();
    for entry in &layer.techniques {
        let id = entry.technique_id.as_str();
        if !entry.enabled || colored.contains_key(id) {
            continue;
        }
        let score = entry.score as f64;
        let color = match entry.color.as_deref().filter(|c| !c.is_empty()) {
            Some(color) => color.to_string(),
            None => navigator_color(&gradient.colors, low, high, score),
        };
        let mut lines = entry.metadata.iter();
        let mut metadata: Vec<String> = lines
            .by_ref()
            .take(METADATA_LINES)
            .map(|line| format!("{}: {}", line.name, line.value))
            .collect();
        let more = lines.count();
        if more > 0 {
            metadata.push(format!("… and {more} more lines in the layer"));
        }
        colored.insert(
            id,
            Colored {
                color,
                score,
                comment: entry.comment.clone(),
                metadata,
            },
        );
    }
    colored
}

/// Orders a column's techniques (`id_of` each) as the layer's `sorting` asks Navigator to: 0 by
/// name, 1 by name descending, 2 by score, 3 by score descending (unscored last, ties by name).
fn sort_as_the_layer_does<'a, T>(
    techniques: &mut [T],
    layer: &Layer,
    colored: &BTreeMap<&str, Colored>,
    id_of: impl Fn(&T) -> &str,
    name_of: impl Fn(&str) -> &'a str,
) {
    let score = |t: &T| colored.get(id_of(t)).map(|c| c.score);
    let by_name = |a: &T, b: &T| {
        let (a, b) = (id_of(a), id_of(b));
        name_of(a).cmp(name_of(b)).then(a.cmp(b))
    };
    match layer.sorting {
        1 => techniques.sort_by(|a, b| by_name(b, a)),
        sorting @ (2 | 3) => techniques.sort_by(|a, b| {
            let (sa, sb) = (score(a), score(b));
            let by_score = match (sa, sb) {
                (Some(x), Some(y)) if sorting == 2 => x.total_cmp(&y),
                (Some(x), Some(y)) => y.total_cmp(&x),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            };
            by_score.then(by_name(a, b))
        }),
        _ => techniques.sort_by(by_name),
    }
}
