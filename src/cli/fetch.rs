//! `attackmap fetch`: the selected part of the site downloaded into raw/, and what it found printed.

use super::printed::{print_framework_releases, print_site_datasets};
use super::settings::{ConfigFile, FetchArgs};
use super::{progress_bar, usage_error, Status};
use crate::identifiers;
use crate::model::Date;
use crate::sources::http::crawl;
use crate::sources::http::Fetcher;

pub(super) fn run(fetch: &FetchArgs) -> anyhow::Result<Status> {
    let file = match ConfigFile::load(fetch.config.as_deref()) {
        Ok(file) => file,
        Err(e) => return Ok(usage_error(&e)),
    };
    let (settings, selection) = match (fetch.settings(&file), fetch.selection(&file)) {
        (Ok(settings), Ok(selection)) => (settings, selection),
        (Err(e), _) | (_, Err(e)) => return Ok(usage_error(&e)),
    };
    let fetcher = Fetcher::new(settings, fetch.raw(&file))?;
    let crawl = crawl::crawl(
        &fetcher,
        &selection,
        Date::of(std::time::SystemTime::now()),
        &progress_bar(),
    );
    let from_cache = crawl.fetched.iter().filter(|f| f.from_cache).count();
    say!(
        "fetched {} files into {} ({} unchanged, answered 304), {} datasets, {} failed",
        crawl.fetched.len(),
        fetcher.store.root.display(),
        from_cache,
        crawl.datasets.len(),
        crawl.failures.len()
    );
    say!("{}", crawl.night.describe());
    print_framework_releases(&crawl.framework_releases);
    print_site_datasets(&crawl.datasets);
    for failure in &crawl.failures {
        complain!("attackmap: failed {}: {}", failure.url, failure.reason);
    }
    for missing in &crawl.missing_catalogues {
        complain!(
            "attackmap: warning: no ATT&CK bundle at {}: {} (its datasets export with stand-ins)",
            missing.url,
            missing.reason
        );
    }
    for refused in crawl.refused_links.iter().filter(|r| r.into_the_site) {
        complain!(
            "attackmap: not followed: {} in {}: {}",
            identifiers::shown(&refused.link),
            refused.page,
            refused.reason
        );
    }
    Ok(if crawl.failures.is_empty() {
        Status::Success
    } else {
        Status::Failure
    })
}
