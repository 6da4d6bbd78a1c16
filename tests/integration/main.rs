//! Integration tests: the attackmap binary driven end to end on fixtures and on the real snapshot.

mod attack_releases;
mod bad_input;
mod carry;
mod catalogue;
mod cross_check;
mod discovery;
mod exports;
mod fidelity;
mod fixtures;
mod fuzz;
mod hardening;
mod helpers;
mod lock;
mod outputs;
mod pictures;
mod publishing;
mod real_data;
mod refresh;
mod server;
mod stale_cache;
mod stix_versions;
mod technique_status;
mod terminal;
mod upstream_removed;
mod warehouse;
