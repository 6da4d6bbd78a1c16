//! attackmap: fetches, parses, deduplicates and exports MITRE ATT&CK mappings from the Mappings Explorer.
//!
//! The pipeline has Vector's shape: [`sources`] read inputs into [`model::MappingRow`]s, [`transforms`]
//! select and deduplicate them (pure functions), [`table`] builds the one DataFrame, and [`sinks`] write it.

pub mod changes;
pub mod cli;
pub mod credentials;
#[cfg(test)]
mod dependency_direction;
pub mod error;
pub mod escape;
pub mod frameworks;
pub mod fs;
pub mod identifiers;
pub mod model;
pub mod parallel;
pub mod pipeline;
pub mod publish;
pub mod refresh;
pub mod sinks;
pub mod site;
pub mod sources;
pub mod table;
pub mod taxii;
#[cfg(test)]
pub(crate) mod test_support;
pub mod transforms;
pub mod validate;
