//! One attempt at a URL: the request sent (conditional on the stored copy's validators, with the
//! site's credentials when the URL is on its origin), and the answer read into what comes next: done
//! (the body verified and stored, or a 304 keeping the stored copy), retry, fail, or not found.

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{HeaderMap, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LOCATION};
use reqwest::StatusCode;

use super::raw_store::Sidecar;
use super::retry::retry_after;
use super::{header, verify, Fetched, Fetcher, MAX_RETRY_AFTER};
use crate::credentials;

/// What one attempt came to, and so what the retry loop of [`Fetcher::fetch_from`] does next.
pub(super) enum Attempt {
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
    /// Sends one request for `url` (stored as `site_path`), the `attempt`-th, and reads its answer.
    pub(super) fn attempt(
        &self,
        site_path: &str,
        url: &str,
        stored: Option<(PathBuf, Sidecar)>,
        attempt: u32,
    ) -> Attempt {
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
