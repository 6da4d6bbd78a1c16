//! How a derived dataset's mapping file (`derived/<dataset>.json`) says it is derived, in the free
//! text fields of the unified schema (which has no field for it), written by the mapping-file sink
//! and read back by the mapping-file source.

use crate::model::{AttackChange, Carry, CarryKind};

/// `metadata.author` of a derived file.
pub const DERIVED_AUTHOR: &str = "attackmap --carry-to: derived from an official mapping, not an official mapping";

const VERSION_PREFIX: &str = "derived from ATT&CK ";
const VERSION_SUFFIX: &str = " by attackmap";
const ROW_PREFIX: &str = "attackmap carry: ";

/// `metadata.mapping_version` of a file derived from ATT&CK `from`.
pub fn mapping_version(from: &str) -> String {
    format!("{VERSION_PREFIX}{from}{VERSION_SUFFIX}")
}

/// `attackmap carry: replaced from T1002; moved_tactic, renamed`.
pub fn row_author(carry: &Carry) -> String {
    let mut text = format!("{ROW_PREFIX}{}", carry.kind.as_str());
    if let Some(original) = &carry.original_technique {
        text.push_str(&format!(" from {original}"));
    }
    if !carry.attack_changes.is_empty() {
        let changes: Vec<&str> = carry.attack_changes.iter().map(|c| c.as_str()).collect();
        text.push_str(&format!("; {}", changes.join(", ")));
    }
    text
}

/// The release a derived file says it was carried from (its `metadata.mapping_version`).
pub fn derived_from(mapping_version: &str) -> Option<&str> {
    mapping_version
        .strip_prefix(VERSION_PREFIX)?
        .strip_suffix(VERSION_SUFFIX)
}

/// How a row of a derived file was carried, from its `author` ([`row_author`]'s words); `None`
/// when the text is not attackmap's.
pub fn carry_of(author: &str, derived_from: &str) -> Option<Carry> {
    let rest = author.strip_prefix(ROW_PREFIX)?;
    let (head, changes) = rest.split_once("; ").unwrap_or((rest, ""));
    let (kind, original) = head.split_once(" from ").unwrap_or((head, ""));
    let kind = *CarryKind::ALL.iter().find(|k| k.as_str() == kind)?;
    let attack_changes = changes
        .split(", ")
        .filter(|c| !c.is_empty())
        .map(|c| {
            [
                AttackChange::MovedTactic,
                AttackChange::BecameSubTechnique,
                AttackChange::Renamed,
            ]
            .into_iter()
            .find(|known| known.as_str() == c)
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Carry {
        kind,
        derived_from: derived_from.to_string(),
        original_technique: (!original.is_empty()).then(|| original.to_string()),
        attack_changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rows_carry_reads_back_from_its_author_text() {
        let carry = Carry {
            kind: CarryKind::Replaced,
            derived_from: "16.1".into(),
            original_technique: Some("T1002".into()),
            attack_changes: vec![AttackChange::MovedTactic, AttackChange::Renamed],
        };
        assert_eq!(
            row_author(&carry),
            "attackmap carry: replaced from T1002; moved_tactic, renamed"
        );
        assert_eq!(carry_of(&row_author(&carry), "16.1"), Some(carry));
        let bare = Carry {
            kind: CarryKind::Unchanged,
            derived_from: "16.1".into(),
            original_technique: None,
            attack_changes: vec![],
        };
        assert_eq!(carry_of(&row_author(&bare), "16.1"), Some(bare));
        assert_eq!(carry_of("Jane Doe", "16.1"), None);
        assert_eq!(derived_from("derived from ATT&CK 15.1 by attackmap"), Some("15.1"));
        assert_eq!(derived_from("1.0"), None);
    }
}
