//! How long the fetcher waits before trying a request again: exponential backoff with jitter, or the
//! server's `Retry-After` (seconds or an HTTP date).

use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::{header, MAX_RETRY_AFTER};

/// The waits between attempts, one per retry: `first`, then twice that, and so on, each lengthened
/// by up to as much again at random (backon's jitter), none longer than [`MAX_RETRY_AFTER`]. A
/// server's `Retry-After` replaces the wait of its attempt: backon's blocking retry cannot change
/// one wait, so the retry loop is ours and backon gives the waits.
pub(super) fn retry_waits(first: Duration, retries: u32) -> impl Iterator<Item = Duration> {
    ExponentialBuilder::new()
        .with_min_delay(first)
        .with_max_delay(MAX_RETRY_AFTER)
        .with_jitter()
        .with_max_times(retries as usize)
        .build()
        .map(|wait| wait.min(MAX_RETRY_AFTER))
}

/// `Retry-After` as seconds, or as an HTTP date (`Wed, 21 Oct 2026 07:28:00 GMT`) from now; a
/// date in the past is no wait. A value in neither form falls back to our own backoff.
pub(super) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = header(headers, RETRY_AFTER)?;
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = http_date(value)?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

/// An HTTP date in its preferred form (RFC 9110's IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`).
/// The weekday is read past, not checked against the date: a server that names the wrong one still
/// means the date it gives.
fn http_date(text: &str) -> Option<SystemTime> {
    let (_weekday, date) = text.split_once(", ")?;
    let at = chrono::NaiveDateTime::parse_from_str(date, "%d %b %Y %H:%M:%S GMT").ok()?;
    Some(at.and_utc().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_retry_waits_twice_as_long_plus_jitter_up_to_the_longest_wait() {
        let waits: Vec<Duration> = retry_waits(Duration::from_secs(1), 8).collect();
        assert_eq!(waits.len(), 8, "one wait per retry");
        for (retry, wait) in waits.iter().enumerate() {
            let base = Duration::from_secs(1 << retry).min(MAX_RETRY_AFTER);
            assert!(
                *wait >= base && *wait <= (base * 2).min(MAX_RETRY_AFTER),
                "retry {retry}: {wait:?}"
            );
        }
        assert_eq!(
            retry_waits(Duration::from_secs(3600), 1).collect::<Vec<_>>(),
            [MAX_RETRY_AFTER]
        );
        assert_eq!(
            retry_waits(Duration::from_secs(1), 0).count(),
            0,
            "--retries 0: no wait"
        );
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        assert_eq!(
            http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777))
        );
        assert_eq!(
            http_date("Mon, 06 Nov 1994 08:49:37 GMT"),
            http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            "the weekday is read past"
        );
        assert_eq!(http_date("Sun, 06 Nov 1994 08:49:37 PST"), None);
        assert_eq!(http_date("Sun, 31 Feb 1994 08:49:37 GMT"), None);
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap());
        assert_eq!(
            retry_after(&headers),
            Some(Duration::ZERO),
            "a date in the past: no wait"
        );
        let soon = chrono::DateTime::<chrono::Utc>::from(SystemTime::now() + Duration::from_secs(90));
        let text = soon.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        headers.insert(RETRY_AFTER, text.parse().unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(
            wait > Duration::from_secs(80) && wait <= Duration::from_secs(90),
            "{wait:?}"
        );
    }
}
