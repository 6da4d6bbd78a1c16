//! Transforms: pure functions over rows — normalization, source selection, deduplication, gaps.

pub mod dedupe;
pub mod gaps;
pub mod normalize;
pub mod select;
