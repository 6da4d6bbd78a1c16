//! How a row of a derived dataset (`--carry-to`) was carried from its official dataset's ATT&CK
//! release: the `carry`, `derived_from`, `original_attack_object_id` and `attack_changes` columns.

use serde::Serialize;

/// How a derived row was carried to the target ATT&CK release (`transforms::carry`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carry {
    pub kind: CarryKind,
    /// The ATT&CK version of the official dataset the row comes from.
    pub derived_from: String,
    /// The technique the official row names (the row may now name its replacement).
    pub original_technique: Option<String>,
    /// ATT&CK's own changes between the two releases that a reviewer must see.
    pub attack_changes: Vec<AttackChange>,
}

/// The `carry` column: what happened to a row's technique between the two releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CarryKind {
    /// Live in both releases.
    Unchanged,
    /// Revoked; the row names the live technique its `revoked-by` chain ends at.
    Replaced,
    /// Deprecated in the target release: no replacement.
    DroppedDeprecated,
    /// Revoked in the target release with no live replacement.
    DroppedRevoked,
    /// In no technique of the target release's domain.
    DroppedUnknown,
}

impl CarryKind {
    pub const ALL: &[CarryKind] = &[
        CarryKind::Unchanged,
        CarryKind::Replaced,
        CarryKind::DroppedDeprecated,
        CarryKind::DroppedRevoked,
        CarryKind::DroppedUnknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CarryKind::Unchanged => "unchanged",
            CarryKind::Replaced => "replaced",
            CarryKind::DroppedDeprecated => "dropped_deprecated",
            CarryKind::DroppedRevoked => "dropped_revoked",
            CarryKind::DroppedUnknown => "dropped_unknown",
        }
    }

    /// Whether the row still maps a live technique of the target release (it goes into layers).
    pub fn is_kept(self) -> bool {
        matches!(self, CarryKind::Unchanged | CarryKind::Replaced)
    }
}

/// A change ATT&CK itself made to a carried row's technique between the two releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttackChange {
    /// Its tactics differ.
    MovedTactic,
    /// A technique replaced by a sub-technique.
    BecameSubTechnique,
    /// Same id, another name.
    Renamed,
}

impl AttackChange {
    pub fn as_str(self) -> &'static str {
        match self {
            AttackChange::MovedTactic => "moved_tactic",
            AttackChange::BecameSubTechnique => "became_sub_technique",
            AttackChange::Renamed => "renamed",
        }
    }
}
