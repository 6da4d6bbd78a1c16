//! `attackmap publish-taxii`: the STIX bundles' objects posted to a TAXII 2.1 collection.

use std::path::PathBuf;

use super::{usage_error, Status};
use crate::credentials::{self, BasicAuth};
use crate::taxii;

pub(super) fn run(api_root: &str, collection: String, bundles: &[PathBuf]) -> anyhow::Result<Status> {
    let target =
        match BasicAuth::from_env(credentials::TAXII).and_then(|auth| taxii::Target::new(api_root, collection, auth)) {
            Ok(target) => target,
            Err(e) => return Ok(usage_error(&e)),
        };
    let published = taxii::publish(&target, bundles)?;
    say!(
        "posted {} objects in {} envelopes to collection {}, skipped {} already in it",
        published.posted,
        published.envelopes,
        target.collection,
        published.skipped
    );
    for taxii::Pending { status_url, count } in &published.pending {
        complain!(
            "attackmap: warning: {count} object(s) still pending at {status_url}: the next \
             publish posts again those the collection does not list by then"
        );
    }
    Ok(if published.pending.is_empty() {
        Status::Success
    } else {
        Status::Warnings
    })
}
