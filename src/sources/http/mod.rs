//! Fetching from the Mappings Explorer site: a polite, resilient HTTP client over the raw store.
//!
//! At most `concurrency` requests in flight and at most `requests_per_second` started; each request
//! times out; connection errors, time-outs, truncated bodies, 5xx and 429 are retried with exponential
//! backoff and jitter (a 429's or 503's `Retry-After` is honoured); bodies are capped; conditional
//! requests (`If-None-Match`, `If-Modified-Since`) keep the stored copy on 304. Only the configured
//! host is ever requested: a redirect elsewhere is refused. Basic auth, when given, goes to that
//! host only (see [`crate::credentials`]).

mod attempt;
pub mod body_cap;
pub mod crawl;
pub mod raw_store;
mod retry;
pub mod verify;

use crate::escape::terminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use reqwest::header::HeaderMap;
use reqwest::Url;
use serde::Serialize;

use crate::credentials::{same_origin, ScopedAuth};
use crate::error::{Error, Result};
use attempt::Attempt;
use raw_store::{RawStore, Sidecar};
use retry::retry_waits;

/// How the client behaves; every field has a flag, an `ATTACKMAP_*` variable and a config key.
#[derive(Debug, Clone)]
pub struct FetchSettings {
    /// The site root, ending in `/`.
    pub base_url: Url,
    pub concurrency: usize,
    pub requests_per_second: f64,
    pub timeout: Duration,
    pub retries: u32,
    /// The first retry waits this long plus up to as much again (jitter); each next one twice as long.
    pub backoff: Duration,
    pub max_body_bytes: u64,
    /// The longest the whole crawl may take (`--deadline`); requests not started by then fail.
    pub run_deadline: Option<Duration>,
    /// A second source of ATT&CK bundles, for those the site does not serve (`--attack-url`, with
    /// `{domain}` and `{version}`): off the site's host, so only when named.
    pub attack_url: Option<String>,
    /// Basic auth for the site's origin only (`ATTACKMAP_HTTP_USER` / `ATTACKMAP_HTTP_PASSWORD`).
    pub credentials: Option<ScopedAuth>,
    /// `--recheck-days`: the technique pages of unchanged datasets are each re-fetched once in this
    /// many nights (1: every night); see [`crawl::Rotation`].
    pub recheck_days: u32,
}

pub const USER_AGENT: &str = concat!(
    "attackmap/",
    env!("CARGO_PKG_VERSION"),
    " (ATT&CK mappings ETL; nightly refresh of the Mappings Explorer)"
);
/// Redirects followed on the configured host, at most, for one request.
const MAX_REDIRECTS: usize = 5;
/// The longest `Retry-After` honoured; a server asking for more fails the request.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// Where one fetched file came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fetched {
    pub url: String,
    pub path: PathBuf,
    pub sha256: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// True when the server answered 304 and the stored copy was kept.
    pub from_cache: bool,
    pub attempts: u32,
}

/// A URL that could not be fetched, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FetchFailure {
    pub url: String,
    #[serde(skip)]
    pub site_path: String,
    pub reason: String,
    /// The server answered 404 Not Found or 410 Gone: the site does not publish this path (not a
    /// fault of the night, which other answers may be).
    #[serde(skip)]
    pub not_found: bool,
}

/// The client, its raw store and its politeness state.
pub struct Fetcher {
    client: Client,
    settings: FetchSettings,
    pub store: RawStore,
    next_start: Mutex<Instant>,
    /// When the run's `--deadline` passes.
    deadline: Option<Instant>,
    /// Requests sent so far (each attempt, retries included).
    requests: AtomicUsize,
}

impl Fetcher {
    pub fn new(settings: FetchSettings, raw: PathBuf) -> Result<Fetcher> {
        let base = settings.base_url.clone();
        let client = Client::builder()
            .user_agent(USER_AGENT)
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if !same_origin(attempt.url(), &base) {
                    // Answered as the redirect itself: "leaves the host", with its Location.
                    attempt.stop()
                } else if attempt.previous().contains(attempt.url()) {
                    let at = attempt.url().to_string();
                    attempt.error(format!("a redirect loop at {at}"))
                } else if attempt.previous().len() >= MAX_REDIRECTS {
                    attempt.error(format!("too many redirects (more than {MAX_REDIRECTS})"))
                } else {
                    attempt.follow()
                }
            }))
            .build()
            .map_err(|e| Error::Fetch {
                url: settings.base_url.to_string(),
                reason: format!("building the HTTP client: {e}"),
            })?;
        Ok(Fetcher {
            client,
            store: RawStore { root: raw },
            next_start: Mutex::new(Instant::now()),
            deadline: settings.run_deadline.map(|d| Instant::now() + d),
            requests: AtomicUsize::new(0),
            settings,
        })
    }

    pub fn base_url(&self) -> &Url {
        &self.settings.base_url
    }

    pub fn settings(&self) -> &FetchSettings {
        &self.settings
    }

    /// How many requests this fetcher has sent: each attempt, retries included.
    pub fn requests_sent(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    /// The URL of a site path on the configured host, what a URL path cannot hold percent-encoded.
    pub fn url_of(&self, site_path: &str) -> String {
        format!("{}{}", self.settings.base_url, crate::escape::url_path(site_path))
    }

    /// Fetches site paths with at most `concurrency` in flight; results in the order of `paths`.
    pub fn fetch_all(&self, paths: &[String], progress: &indicatif::ProgressBar) -> Vec<Result<Fetched, FetchFailure>> {
        crate::parallel::map_in_order(paths, self.settings.concurrency, |path| {
            let result = self.fetch(path);
            progress.inc(1);
            result
        })
    }

    /// The stored copy of a site path as if fetched: for a URL that failed tonight.
    pub fn stored(&self, site_path: &str) -> Option<Fetched> {
        let (path, sidecar) = self.store.stored(site_path)?;
        Some(Fetched {
            url: self.url_of(site_path),
            path,
            sha256: sidecar.sha256,
            etag: sidecar.etag,
            last_modified: sidecar.last_modified,
            from_cache: true,
            attempts: 0,
        })
    }

    /// Fetches one site path into the raw store, retrying what may pass on a second try.
    pub fn fetch(&self, site_path: &str) -> Result<Fetched, FetchFailure> {
        self.fetch_from(self.url_of(site_path), site_path)
    }

    /// Fetches `url` (on this fetcher's host) into the raw store as `site_path`.
    pub fn fetch_from(&self, url: String, site_path: &str) -> Result<Fetched, FetchFailure> {
        let fail = |reason: String| FetchFailure {
            url: url.clone(),
            site_path: site_path.to_string(),
            reason,
            not_found: false,
        };
        if let Err(reason) = raw_store::check_site_path(site_path) {
            return Err(fail(format!("refused, never requested: the path has {reason}")));
        }
        let stored = self.stored_for_request(site_path);
        let mut backoff = retry_waits(self.settings.backoff, self.settings.retries);
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.wait_for_turn();
            if self.deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Err(fail("not requested: the run's --deadline passed".into()));
            }
            match self.attempt(site_path, &url, stored.clone(), attempt) {
                Attempt::Done(fetched) => return Ok(fetched),
                Attempt::Fail(reason) => return Err(fail(reason)),
                Attempt::NotFound(reason) => {
                    return Err(FetchFailure {
                        not_found: true,
                        ..fail(reason)
                    })
                }
                Attempt::Retry { reason, wait } => {
                    let Some(backoff) = backoff.next() else {
                        return Err(fail(format!("gave up after {attempt} attempts: {reason}")));
                    };
                    let wait = wait.unwrap_or(backoff);
                    if let Some(left) = self.deadline.map(|d| d.saturating_duration_since(Instant::now())) {
                        if wait >= left {
                            return Err(fail(format!(
                                "not retried after {attempt} attempts: {reason}, and the wait of {:.1} s before the next would pass the run's --deadline ({:.1} s left)",
                                wait.as_secs_f64(),
                                left.as_secs_f64()
                            )));
                        }
                    }
                    tracing::warn!(url = %terminal(&url), attempt, reason = %terminal(&reason), "retrying");
                    std::thread::sleep(wait);
                }
            }
        }
    }

    /// The stored copy whose validators a request sends back: a validator that cannot be a header
    /// (a sidecar edited by hand) is dropped, with a warning, so the file is fetched whole and its
    /// sidecar rewritten instead of the request failing every night.
    fn stored_for_request(&self, site_path: &str) -> Option<(PathBuf, Sidecar)> {
        let (path, mut sidecar) = self.store.stored(site_path)?;
        let unusable = sidecar.unusable_validators();
        if !unusable.is_empty() {
            tracing::warn!(
                sidecar = %RawStore::sidecar_of(&path).display(),
                validators = %unusable.join(", "),
                "a sidecar holds a validator that is not a valid header value: fetching without a conditional request, and writing a new sidecar"
            );
            sidecar.etag = sidecar.etag.filter(|_| !unusable.contains(&"ETag"));
            sidecar.last_modified = sidecar.last_modified.filter(|_| !unusable.contains(&"Last-Modified"));
        }
        Some((path, sidecar))
    }

    /// Waits until the rate limit lets the next request start.
    fn wait_for_turn(&self) {
        let interval = Duration::from_secs_f64(1.0 / self.settings.requests_per_second.max(0.001));
        let start = {
            let mut next = self.next_start.lock().expect("no worker panics");
            let start = (*next).max(Instant::now());
            *next = start + interval;
            start
        };
        std::thread::sleep(start.saturating_duration_since(Instant::now()));
    }
}

/// A header's value, when it is text.
fn header(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(String::from)
}
