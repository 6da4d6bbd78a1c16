//! Failures that are facts of the site, not faults of the night: pages it does not publish (404 or
//! 410), set aside from the failures so that they fail nothing.

use std::collections::BTreeMap;

use super::FetchFailure;

/// Takes out of `failures` the landing pages the site does not publish (404 or 410) whose dataset's
/// mapping file arrived: a page cross-checks a dataset its mapping file
/// supplies, it is no condition for publishing it. `paths` holds each landing page's own paths, its
/// mapping file last.
pub(super) fn landing_pages_a_mapping_file_stands_for(
    failures: &mut Vec<FetchFailure>,
    paths: &BTreeMap<String, Vec<String>>,
) -> Vec<FetchFailure> {
    // An all-data page is asked for only when its landing page arrived: a missing landing page is
    // the one page to set aside.
    let mut missing = Vec::new();
    for (landing_page, own) in paths {
        let Some(mapping_file) = own.last() else { continue };
        let landing_not_found = failures.iter().any(|f| f.site_path == *landing_page && f.not_found);
        if landing_not_found && !failures.iter().any(|f| f.site_path == *mapping_file) {
            let (taken, kept): (Vec<_>, Vec<_>) = std::mem::take(failures)
                .into_iter()
                .partition(|f| f.site_path == *landing_page);
            *failures = kept;
            missing.extend(taken);
        }
    }
    missing
}

/// Takes out of `failures[from..]` those the server answered 404 or 410 (the site does not publish
/// them), leaving the others.
pub(super) fn take_not_found(failures: &mut Vec<FetchFailure>, from: usize) -> Vec<FetchFailure> {
    let step: Vec<FetchFailure> = failures.drain(from..).collect();
    let (not_found, others): (Vec<_>, Vec<_>) = step.into_iter().partition(|f| f.not_found);
    failures.extend(others);
    not_found
}
