//! Transforms: pure functions over rows — normalization, source selection, deduplication, gaps,
//! carrying forward to a newer ATT&CK release.

pub mod carry;
pub mod dedupe;
pub mod gaps;
pub mod normalize;
pub mod select;
