//! Transforms: pure functions over rows — normalization, source selection, deduplication.

pub mod dedupe;
pub mod normalize;
pub mod select;
