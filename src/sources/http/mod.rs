//! Fetching from the Mappings Explorer site: a polite, resilient HTTP client over the raw store.
//!
//! At most `concurrency` requests in flight and at most `requests_per_second` started; each request
//! times out; connection errors, time-outs, truncated bodies, 5xx and 429 are retried with exponential
//! backoff and jitter (a 429's or 503's `Retry-After` is honoured); bodies are capped; conditional
//! requests (`If-None-Match`, `If-Modified-Since`) keep the stored copy on 304. Only the configured
//! host is ever requested: a redirect elsewhere is refused. Basic auth, when given, goes to that
//! host only (see [`crate::credentials`]).

pub mod body_cap;
pub mod crawl;
pub mod raw_store;
mod retry;
pub mod verify;

use crate::escape::terminal;
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use reqwest::blocking::Client;
use reqwest::header::{HeaderMap, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LOCATION};
use reqwest::{StatusCode, Url};
use serde::Serialize;

use crate::credentials::{self, same_origin, ScopedAuth};
use crate::error::{Error, Result};
use raw_store::{RawStore, Sidecar};
use retry::{retry_after, retry_waits};

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

enum Attempt {
    Done(Fetched),
    Retry {
        reason: String,
        wait: Option<Duration>,
    },
    Fail(String),
    /// 404 or 410: the site does not publish the path.
    NotFound(String),
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

    fn attempt(&self, site_path: &str, url: &str, stored: Option<(PathBuf, Sidecar)>, attempt: u32) -> Attempt {
        let mut request = self.client.get(url);
        let auth = self.settings.credentials.as_ref().and_then(|c| c.for_url(url));
        if let Some(auth) = auth {
            request = auth.apply(request);
        }
        if let Some((_, sidecar)) = &stored {
            if let Some(etag) = &sidecar.etag {
                request = request.header(IF_NONE_MATCH, etag);
            }
            if let Some(modified) = &sidecar.last_modified {
                request = request.header(IF_MODIFIED_SINCE, modified);
            }
        }
        let started = Instant::now();
        self.requests.fetch_add(1, Ordering::Relaxed);
        let response = match request.send() {
            Ok(response) => response,
            Err(e) if e.is_redirect() => return Attempt::Fail(format!("redirect refused{}", causes(&e))),
            Err(e) => {
                return Attempt::Retry {
                    reason: describe(&e),
                    wait: None,
                }
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        match status {
            StatusCode::NOT_MODIFIED => match stored {
                Some((path, sidecar)) => Attempt::Done(Fetched {
                    url: url.to_string(),
                    path,
                    sha256: sidecar.sha256,
                    etag: sidecar.etag,
                    last_modified: sidecar.last_modified,
                    from_cache: true,
                    attempts: attempt,
                }),
                None => Attempt::Fail("304 Not Modified for a request that was not conditional".into()),
            },
            s if s.is_success() => match self.read_body(response, started) {
                Ok(body) => self.keep(site_path, url, &body, &headers, attempt),
                Err(reason) => Attempt::Retry { reason, wait: None },
            },
            s if s.is_redirection() => Attempt::Fail(format!(
                "HTTP {s}: redirect to {} refused: it leaves {}",
                header(&headers, LOCATION).unwrap_or_default(),
                self.settings.base_url
            )),
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => match retry_after(&headers) {
                Some(wait) if wait > MAX_RETRY_AFTER => Attempt::Fail(format!(
                    "HTTP {status} with Retry-After {}s: longer than we wait",
                    wait.as_secs()
                )),
                wait => Attempt::Retry {
                    reason: format!("HTTP {status}"),
                    wait,
                },
            },
            s if s.is_server_error() => Attempt::Retry {
                reason: format!("HTTP {s}"),
                wait: None,
            },
            StatusCode::UNAUTHORIZED => Attempt::Fail(match auth {
                Some(_) => format!(
                    "HTTP {status}: the server refused the credentials of {} / {}",
                    credentials::SITE.user,
                    credentials::SITE.password
                ),
                None => format!(
                    "HTTP {status}: the server asks for credentials; give them in {} and {}",
                    credentials::SITE.user,
                    credentials::SITE.password
                ),
            }),
            StatusCode::NOT_FOUND | StatusCode::GONE => Attempt::NotFound(format!("HTTP {status}")),
            s => Attempt::Fail(format!("HTTP {s}")),
        }
    }

    /// Reads a body of at most `max_body_bytes`, within `timeout` from `started` in all: a server
    /// trickling one byte a second would otherwise hold the night (the client's time-out is per read).
    fn read_body(&self, response: reqwest::blocking::Response, started: Instant) -> Result<Vec<u8>, String> {
        let cap = self.settings.max_body_bytes;
        if response.content_length().is_some_and(|length| length > cap) {
            return Err(format!("body larger than the cap of {cap} bytes (--max-body-bytes)"));
        }
        let deadline = started + self.settings.timeout;
        let mut body = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        let mut reader = response.take(cap.saturating_add(1));
        loop {
            let read = reader.read(&mut chunk).map_err(|e| format!("reading the body: {e}"))?;
            if read == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..read]);
            if Instant::now() > deadline {
                return Err(format!(
                    "the response took longer than the time-out of {:.1} s in all ({} bytes so far)",
                    self.settings.timeout.as_secs_f64(),
                    body.len()
                ));
            }
        }
        if body.len() as u64 > cap {
            return Err(format!("body larger than the cap of {cap} bytes (--max-body-bytes)"));
        }
        Ok(body)
    }

    fn keep(&self, site_path: &str, url: &str, body: &[u8], headers: &HeaderMap, attempt: u32) -> Attempt {
        let stored = self
            .store
            .stored(site_path)
            .and_then(|(path, _)| std::fs::read(path).ok());
        let verified = verify::check(site_path, body)
            .and_then(|()| stored.map_or(Ok(()), |stored| verify::check_replacing(site_path, body, &stored)));
        if let Err(reason) = verified {
            // The stored copy and its validators stay as they were.
            return Attempt::Retry {
                reason: format!("the body is not what the URL promised ({reason}); the stored copy is kept"),
                wait: None,
            };
        }
        let sidecar = Sidecar {
            url: url.to_string(),
            etag: header(headers, ETAG),
            last_modified: header(headers, LAST_MODIFIED),
            sha256: crate::fs::sha256_hex(body),
            fetched_at: crate::fs::rfc3339(SystemTime::now()),
        };
        match self.store.store(site_path, body, &sidecar) {
            Ok(path) => Attempt::Done(Fetched {
                url: url.to_string(),
                path,
                sha256: sidecar.sha256,
                etag: sidecar.etag,
                last_modified: sidecar.last_modified,
                from_cache: false,
                attempts: attempt,
            }),
            Err(e) => Attempt::Fail(e.to_string()),
        }
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

fn header(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(String::from)
}

fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out".to_string()
    } else if error.is_connect() {
        "could not connect".to_string()
    } else {
        "request failed".to_string()
    };
    text.push_str(&causes(error));
    text
}

/// What led to an error, each cause after a colon (`: a redirect loop at http://…`).
fn causes(error: &reqwest::Error) -> String {
    let mut text = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}
