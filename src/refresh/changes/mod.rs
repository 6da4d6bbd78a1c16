//! What changed since the previously published table, by `mapping_id`: rows added, removed, and
//! changed (with the columns that differ; `source`, where a row was read from, is not a change).
//! Found by [`comparison`], written as `changes.json` and `changes.csv` by [`change_files`]; the
//! change list itself is plain data of [`crate::changes`].

pub(super) mod change_files;
pub(super) mod comparison;

use polars::prelude::*;

use crate::changes::{ChangeKind, Changes};
use crate::table::Columns;

/// The official mappings of `previous` (its `carry` null, or all of them in a table without the
/// column) and how many of them `changes` removes: what `--max-removed-share` guards. Rows of
/// derived datasets (`--carry-to`) come and go with the setting and with the official releases that
/// replace them: no data of the site is lost with them.
pub fn official_removal(previous: &dyn Columns, changes: &Changes) -> PolarsResult<(usize, usize)> {
    let carry = match previous.column("carry") {
        Ok(carry) => carry,
        Err(PolarsError::ColumnNotFound(_)) => return Ok((changes.removed, previous.height())),
        Err(e) => return Err(e),
    };
    let removed: std::collections::HashSet<&str> = changes
        .changes
        .iter()
        .filter(|c| c.change == ChangeKind::Removed)
        .map(|c| c.mapping_id.as_str())
        .collect();
    let ids = previous.column("mapping_id")?;
    let ids = ids.str()?;
    let official = carry.is_null();
    let mut counts = (0, 0);
    for (id, official) in ids.iter().zip(official.iter()) {
        if official == Some(true) {
            counts.1 += 1;
            counts.0 += usize::from(id.is_some_and(|id| removed.contains(id)));
        }
    }
    Ok(counts)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::model::MappingRow;
    use crate::test_support::MappingRowBuilder;
    use comparison::compare;

    /// A NIST row of `capability` on T1562 with one comment (shared with the change feed's tests).
    pub(crate) fn row(capability: &str, comment: &str) -> MappingRow {
        MappingRowBuilder::new("nist_800_53", "rev5")
            .capability(capability)
            .technique("T1562")
            .comment(comment)
            .source(&format!("{capability}.html"))
            .build()
    }

    #[test]
    fn removing_derived_rows_is_no_removal_of_official_mappings() {
        let mut derived = row("AC-02", "carried");
        derived.carry = Some(Box::new(crate::model::Carry {
            kind: crate::model::CarryKind::Unchanged,
            derived_from: "15.1".into(),
            original_technique: Some("T1562".into()),
            attack_changes: vec![],
        }));
        let before = crate::table::to_dataframe(&[row("AC-01", "kept"), derived, row("AC-03", "gone")]).unwrap();
        let after = crate::table::to_dataframe(&[row("AC-01", "kept")]).unwrap();
        let changes = compare(Some(&before), &after).unwrap();
        assert_eq!(changes.removed, 2);
        assert_eq!(
            official_removal(&before, &changes).unwrap(),
            (1, 2),
            "AC-03 of the 2 official rows"
        );
        let without_column = before.drop("carry").unwrap();
        assert_eq!(official_removal(&without_column, &changes).unwrap(), (2, 3));
    }
}
