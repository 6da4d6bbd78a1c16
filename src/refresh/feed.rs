//! The change feed: the rows a warehouse MERGEs on `mapping_id` to turn the table it holds into the
//! new one, one partition per run date (`warehouse/changes/run_date=YYYY-MM-DD/part-0.parquet`).
//!
//! Building and composing feeds are pure functions; [`publish`] does the I/O: it composes a second
//! run of the same day with the first, and carries earlier days' partitions into the new `out/`.

use std::collections::HashMap;
use std::path::Path;

use polars::prelude::*;

use crate::changes::{ChangeKind, Changes};
use crate::error::{Error, Result};
use crate::model::Date;
use crate::sinks::warehouse::schema::OP_COLUMN;
use crate::sinks::warehouse::{self, partition_dir, portable, WarehouseFile, CHANGES_TABLE, PART_FILE, RUN_DATE};
use crate::table::{take_rows, Columns, GRAIN_COLUMNS};

/// What a feed row asks of the warehouse. Feeds are ordered by op, then `mapping_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Insert,
    Update,
    Delete,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Insert => "insert",
            Op::Update => "update",
            Op::Delete => "delete",
        }
    }

    fn parse(text: &str) -> PolarsResult<Op> {
        match text {
            "insert" => Ok(Op::Insert),
            "update" => Ok(Op::Update),
            "delete" => Ok(Op::Delete),
            other => polars_bail!(ComputeError: "a change feed op is insert, update or delete, found {other:?}"),
        }
    }

    /// The net op of `self` followed by `later` on one mapping; `None` when they cancel out.
    fn then(self, later: Op) -> Option<Op> {
        match (self, later) {
            (Op::Insert, Op::Delete) => None,
            (Op::Insert, _) => Some(Op::Insert),
            (Op::Delete, Op::Insert) => Some(Op::Update),
            (_, later) => Some(later),
        }
    }
}

/// A run's change feed, as the positions of its rows in the two tables: rows are gathered when asked
/// for, a row group at a time when written, so a first night's feed (every row inserted) is never
/// held whole.
pub struct Feed<'a> {
    previous: Option<&'a dyn Columns>,
    current: &'a dyn Columns,
    /// Positions in `current` of the inserted and the updated rows, in `mapping_id` order.
    inserts: IdxCa,
    updates: IdxCa,
    /// Positions in `previous` of the deleted rows, in `mapping_id` order.
    deletes: IdxCa,
}

/// The feed from `previous` to `current`, given the changes found between them: the whole new row
/// for an insert or update, the grain key and `mapping_id` for a delete.
pub fn feed<'a>(
    previous: Option<&'a dyn Columns>,
    current: &'a dyn Columns,
    changes: &Changes,
) -> PolarsResult<Feed<'a>> {
    let ids = |kind: ChangeKind| {
        changes
            .changes
            .iter()
            .filter(move |c| c.change == kind)
            .map(|c| c.mapping_id.as_str())
    };
    // Rows read from another file are updates too, so the feed reproduces the table exactly.
    let mut updated: Vec<&str> = ids(ChangeKind::Changed)
        .chain(changes.source_only.iter().map(String::as_str))
        .collect();
    updated.sort_unstable();
    let current_ids = current.column("mapping_id")?;
    let now = positions(current_ids.str()?);
    let inserts = positions_of(&now, ids(ChangeKind::Added))?;
    let updates = positions_of(&now, updated)?;
    drop(now);
    let deletes = match previous {
        Some(previous) => {
            let previous_ids = previous.column("mapping_id")?;
            positions_of(&positions(previous_ids.str()?), ids(ChangeKind::Removed))?
        }
        None => indices(Vec::new()),
    };
    Ok(Feed {
        previous,
        current,
        inserts,
        updates,
        deletes,
    })
}

impl Feed<'_> {
    pub fn height(&self) -> usize {
        self.inserts.len() + self.updates.len() + self.deletes.len()
    }

    /// The feed's rows `start..start + count`, ordered by op, then `mapping_id`; each part's rows are
    /// gathered from its table a column at a time.
    pub fn rows(&self, start: usize, count: usize) -> PolarsResult<DataFrame> {
        let end = start + count;
        let mut rows: Option<DataFrame> = None;
        let mut offset = 0;
        let parts = [
            (Op::Insert, Some(self.current), &self.inserts),
            (Op::Update, Some(self.current), &self.updates),
            (Op::Delete, self.previous, &self.deletes),
        ];
        for (op, table, positions) in parts {
            let first = offset;
            offset += positions.len();
            let Some(table) = table else { continue };
            let (from, to) = (start.clamp(first, offset), end.clamp(first, offset));
            // The inserts always take part: an empty feed has the table's columns too.
            if from == to && op != Op::Insert {
                continue;
            }
            let taken = positions.slice((from - first) as i64, to - from);
            let mut part = portable(&take_rows(table, &taken)?)?;
            if op == Op::Delete {
                part = key_only(&part)?;
            }
            let part = with_op(&part, op)?;
            match &mut rows {
                Some(rows) => {
                    rows.vstack_mut_owned(part)?;
                }
                None => rows = Some(part),
            }
        }
        Ok(rows.expect("the inserts always take part"))
    }

    /// Every row of the feed.
    pub fn whole(&self) -> PolarsResult<DataFrame> {
        self.rows(0, self.height())
    }
}

/// The one feed equal to applying `earlier`, then `later`: an insert then an update is an insert
/// of the later row, an insert then a delete is nothing, a delete then an insert is an update.
pub fn compose(earlier: &DataFrame, later: &DataFrame) -> PolarsResult<DataFrame> {
    let earlier_ops = ops(earlier)?;
    let later_ops = ops(later)?;
    let later_by_id: HashMap<&str, Op> = later_ops.iter().map(|(id, op)| (id.as_str(), *op)).collect();
    let earlier_by_id: HashMap<&str, Op> = earlier_ops.iter().map(|(id, op)| (id.as_str(), *op)).collect();

    // Rows of `earlier` stacked over `later`: (net op, mapping_id, position in the stack).
    let mut rows: Vec<(Op, &str, IdxSize)> = Vec::new();
    for (position, (id, op)) in earlier_ops.iter().enumerate() {
        if !later_by_id.contains_key(id.as_str()) {
            rows.push((*op, id, position as IdxSize));
        }
    }
    for (position, (id, op)) in later_ops.iter().enumerate() {
        let net = match earlier_by_id.get(id.as_str()) {
            Some(first) => first.then(*op),
            None => Some(*op),
        };
        if let Some(net) = net {
            rows.push((net, id, (earlier.height() + position) as IdxSize));
        }
    }
    rows.sort();
    let stacked = earlier.vstack(later)?;
    let mut composed = stacked.take(&indices(rows.iter().map(|r| r.2).collect()))?;
    let net_ops: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    composed.replace(OP_COLUMN.name, Series::new(OP_COLUMN.name.into(), net_ops).into())?;
    Ok(composed)
}

/// Writes the run's feed as the `run_date` partition of `staging`'s warehouse, composed with the
/// feed an earlier run of the same day published in `out`, and carries `out`'s other days along.
pub fn publish(feed: &Feed, out: &Path, staging: &Path, run_date: Date) -> Result<WarehouseFile> {
    let changes = Path::new(crate::pipeline::WAREHOUSE_DIR).join(CHANGES_TABLE);
    let today = partition_dir(&[(RUN_DATE, &run_date.to_string())]);
    let relative = Path::new(CHANGES_TABLE).join(&today).join(PART_FILE);
    let published = out.join(&changes);
    let earlier_today = published.join(&today).join(PART_FILE);
    let path = staging.join(&changes).join(&today).join(PART_FILE);
    let gathering = |e: PolarsError| Error::WriteOutput {
        path: path.clone(),
        reason: format!("gathering the change feed's rows: {e}"),
    };

    let rows = match std::fs::File::open(&earlier_today) {
        Ok(file) => {
            let context = |e: PolarsError| Error::ReadInput {
                path: earlier_today.clone(),
                source: std::io::Error::other(format!("composing with today's earlier change feed: {e}")),
            };
            let earlier = ParquetReader::new(file).finish().map_err(context)?;
            let composed = compose(&earlier, &feed.whole().map_err(gathering)?).map_err(context)?;
            warehouse::write_table(&composed, &path, CHANGES_TABLE)?;
            composed.height()
        }
        Err(_) => {
            let schema = feed.rows(0, 0).map_err(gathering)?.schema().clone();
            warehouse::write_table_by_row_group(&path, CHANGES_TABLE, &schema, feed.height(), |start, count| {
                feed.rows(start, count).map_err(gathering)
            })?;
            feed.height()
        }
    };

    for entry in std::fs::read_dir(&published).into_iter().flatten().flatten() {
        let name = entry.file_name();
        if Path::new(&name) == today || !name.to_string_lossy().starts_with(&format!("{RUN_DATE}=")) {
            continue;
        }
        carry(&entry.path(), &staging.join(&changes).join(&name))?;
    }
    Ok(WarehouseFile {
        table: CHANGES_TABLE.to_string(),
        path: relative.to_string_lossy().into_owned(),
        rows,
    })
}

/// The latest run date of the change feed published in `out` (`None` before a first run).
pub fn newest_partition(out: &Path) -> Option<Date> {
    let published = out.join(crate::pipeline::WAREHOUSE_DIR).join(CHANGES_TABLE);
    std::fs::read_dir(published)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            Date::from_iso(name.strip_prefix(&format!("{RUN_DATE}="))?)
        })
        .max()
}

/// Hard-links (or copies) an earlier day's partition into the staging directory.
fn carry(from: &Path, to: &Path) -> Result<()> {
    let failed = |e: std::io::Error| Error::WriteOutput {
        path: to.to_path_buf(),
        reason: format!("carrying the change feed of {} forward: {e}", from.display()),
    };
    std::fs::create_dir_all(to).map_err(failed)?;
    for entry in std::fs::read_dir(from).map_err(failed)?.flatten() {
        let target = to.join(entry.file_name());
        if std::fs::hard_link(entry.path(), &target).is_err() {
            std::fs::copy(entry.path(), &target).map_err(failed)?;
        }
    }
    Ok(())
}

/// The positions of these `mapping_id`s in a table, in the ids' order.
fn positions_of<'a>(index: &HashMap<&str, IdxSize>, ids: impl IntoIterator<Item = &'a str>) -> PolarsResult<IdxCa> {
    let positions = ids
        .into_iter()
        .map(|id| match index.get(id) {
            Some(&position) => Ok(position),
            None => polars_bail!(ComputeError: "the change of {id} names a row that is not in its table"),
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    Ok(indices(positions))
}

fn indices(positions: Vec<IdxSize>) -> IdxCa {
    IdxCa::from_vec("position".into(), positions)
}

fn positions(ids: &StringChunked) -> HashMap<&str, IdxSize> {
    ids.iter()
        .enumerate()
        .filter_map(|(position, id)| Some((id?, position as IdxSize)))
        .collect()
}

fn ops(feed: &DataFrame) -> PolarsResult<Vec<(String, Op)>> {
    let ids = feed.column("mapping_id")?.str()?;
    let ops = feed.column(OP_COLUMN.name)?.str()?;
    ids.iter()
        .zip(ops.iter())
        .map(|(id, op)| Ok((id.unwrap_or_default().to_string(), Op::parse(op.unwrap_or_default())?)))
        .collect()
}

fn with_op(frame: &DataFrame, op: Op) -> PolarsResult<DataFrame> {
    let mut columns = vec![Series::new(OP_COLUMN.name.into(), vec![op.as_str(); frame.height()]).into()];
    columns.extend(frame.columns().iter().cloned());
    DataFrame::new(frame.height(), columns)
}

/// Keeps `mapping_id` and the grain key; every other column becomes null.
fn key_only(frame: &DataFrame) -> PolarsResult<DataFrame> {
    let columns = frame
        .columns()
        .iter()
        .map(|column| {
            let name = column.name().as_str();
            if name == "mapping_id" || GRAIN_COLUMNS.contains(&name) {
                column.clone()
            } else {
                Series::full_null(column.name().clone(), frame.height(), column.dtype()).into()
            }
        })
        .collect();
    DataFrame::new(frame.height(), columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MappingRow;
    use crate::refresh::changes::tests::row;
    use crate::refresh::compare;

    fn table(rows: &[MappingRow]) -> DataFrame {
        crate::table::to_dataframe(rows).unwrap()
    }

    fn feed_between(before: &DataFrame, after: &DataFrame) -> DataFrame {
        let changes = compare(Some(before), after).unwrap();
        let feed = feed(Some(before), after, &changes).unwrap();
        let whole = feed.whole().unwrap();
        let pieces: Vec<DataFrame> = (0..feed.height()).map(|row| feed.rows(row, 1).unwrap()).collect();
        if let Some((first, rest)) = pieces.split_first() {
            let mut stacked = first.clone();
            rest.iter()
                .for_each(|piece| stacked.vstack_mut(piece).map(drop).unwrap());
            assert!(
                stacked.equals_missing(&whole),
                "the feed a row at a time is the feed whole"
            );
        }
        whole
    }

    fn ops_by_capability(feed: &DataFrame) -> Vec<(String, String)> {
        let ops = feed.column("op").unwrap().str().unwrap().clone();
        let capabilities = feed.column("capability_id").unwrap().str().unwrap().clone();
        let mut pairs: Vec<(String, String)> = capabilities
            .iter()
            .zip(ops.iter())
            .map(|(c, o)| (c.unwrap().to_string(), o.unwrap().to_string()))
            .collect();
        pairs.sort();
        pairs
    }

    #[test]
    fn a_feed_inserts_updates_and_deletes_by_mapping_id() {
        let monday = table(&[row("AC-01", "same"), row("AC-02", "old")]);
        let tuesday = table(&[row("AC-02", "new"), row("AC-03", "x")]);
        let feed = feed_between(&monday, &tuesday);
        assert_eq!(
            ops_by_capability(&feed),
            [
                ("AC-01".into(), "delete".into()),
                ("AC-02".into(), "update".into()),
                ("AC-03".into(), "insert".into())
            ]
        );
        let deleted = feed
            .filter(&feed.column("op").unwrap().str().unwrap().equal("delete"))
            .unwrap();
        assert_eq!(deleted.column("comments").unwrap().null_count(), 1);
        assert_eq!(deleted.column("framework").unwrap().null_count(), 0);
        assert_eq!(feed.column("occurrences").unwrap().dtype(), &DataType::Int64);
    }

    #[test]
    fn two_runs_of_a_day_compose_into_the_days_net_change() {
        let start = table(&[row("AC-01", "a"), row("AC-02", "b")]);
        let noon = table(&[row("AC-02", "b2"), row("AC-03", "c")]);
        let night = table(&[row("AC-01", "a"), row("AC-02", "b3")]);
        let composed = compose(&feed_between(&start, &noon), &feed_between(&noon, &night)).unwrap();
        // AC-01 deleted then inserted again: an update; AC-03 inserted then deleted: nothing.
        assert_eq!(
            ops_by_capability(&composed),
            [("AC-01".into(), "update".into()), ("AC-02".into(), "update".into())]
        );
        let empty = feed_between(&night, &night);
        assert_eq!(empty.height(), 0);
        assert!(compose(&composed, &empty).unwrap().equals_missing(&composed));
    }
}
