//! The crawl's ATT&CK bundles: each selected version's bundle of every domain, from the site or from
//! `--attack-url`, and which missing ones are a warning.

use std::collections::BTreeSet;

use super::{Crawl, FetchFailure, Fetched, Fetcher};
use crate::escape::terminal;

/// Fetches one step's site paths into the crawl; with `true`, returns each page's (path, text).
pub(super) type FetchStep<'a> = dyn Fn(Vec<String>, &mut Crawl, bool) -> Vec<(String, String)> + 'a;

/// ATT&CK itself, as the site publishes the data it rendered from: every domain of each version, since
/// a dataset cites techniques of other domains (NIST rev5 16.1 Enterprise maps the Mobile T1521.003),
/// which only those domains' bundles can name. A bundle neither the site nor `--attack-url` serves is
/// no failed night: its datasets export with stand-ins. It is a warning only when a selected dataset
/// is of its version and domain (`needed`); another (the site has no `ics-attack-10.0.json`, and no
/// ICS dataset is at 10.0) only named the few techniques borrowed from it, whose stand-ins the
/// exports warn of themselves, so it is logged.
pub(super) fn fetch_catalogues(
    fetcher: &Fetcher,
    needed: &BTreeSet<(String, String)>,
    versions: &BTreeSet<&str>,
    crawl: &mut Crawl,
    fetch_step: &FetchStep,
) {
    let bundles: Vec<(&str, &str, String)> = versions
        .iter()
        .flat_map(|version| {
            crate::identifiers::DOMAINS
                .iter()
                .map(move |domain| (*version, *domain, attack_bundle_path(version, domain)))
        })
        .collect();
    let earlier_failures = crawl.failures.len();
    fetch_step(bundles.iter().map(|b| b.2.clone()).collect(), crawl, false);
    let missing: Vec<FetchFailure> = crawl.failures.drain(earlier_failures..).collect();
    for failure in missing {
        let (version, domain, path) = bundles
            .iter()
            .find(|b| b.2 == failure.site_path)
            .expect("a failure of this step is one of its bundles");
        let failures = match fetch_from_second_source(fetcher, version, domain, path) {
            Some(Ok(fetched)) => {
                crawl.fetched.push(fetched);
                continue;
            }
            Some(Err(second)) => vec![failure, second],
            None => vec![failure],
        };
        if needed.contains(&(version.to_string(), domain.to_string())) {
            crawl.missing_catalogues.extend(failures);
        } else {
            tracing::info!(url = %terminal(&failures[0].url), "no ATT&CK bundle of a version and domain no selected dataset is of: its techniques stay unknown");
        }
    }
}

/// Where the site publishes an ATT&CK bundle: `data/attack/enterprise-attack-16.1.json`.
pub fn attack_bundle_path(version: &str, domain: &str) -> String {
    format!("data/attack/{domain}-attack-{version}.json")
}

/// Fetches an ATT&CK bundle from `--attack-url` (another host, with a fetcher of its own) into the
/// bundle's site path; `None` without that setting.
fn fetch_from_second_source(
    fetcher: &Fetcher,
    version: &str,
    domain: &str,
    site_path: &str,
) -> Option<Result<Fetched, FetchFailure>> {
    let template = fetcher.settings().attack_url.as_deref()?;
    let url = template.replace("{domain}", domain).replace("{version}", version);
    let failed = |reason: String| FetchFailure {
        url: url.clone(),
        site_path: site_path.to_string(),
        reason,
        not_found: false,
    };
    let origin = match reqwest::Url::parse(&url) {
        Ok(parsed) => parsed.join("/").map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let second = origin.and_then(|origin| {
        let mut settings = fetcher.settings().clone();
        settings.base_url = origin;
        Fetcher::new(settings, fetcher.store.root.clone()).map_err(|e| e.to_string())
    });
    Some(match second {
        Ok(second) => second.fetch_from(url.clone(), site_path),
        Err(reason) => Err(failed(format!("--attack-url: {reason}"))),
    })
}
