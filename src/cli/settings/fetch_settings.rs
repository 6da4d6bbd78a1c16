//! The HTTP client's settings (`--base-url`, rate, timeouts, retries, body cap, recheck days,
//! `--attack-url`, deadline) and where it keeps what it fetches (`--raw`): each from the flags, else
//! the file, else its default, checked against its bounds, and credentials refused in any URL.

use std::path::PathBuf;
use std::time::Duration;

use super::{ConfigFile, FetchArgs};
use crate::credentials::{self, BasicAuth};
use crate::sources::http::body_cap::default_max_body_bytes;
use crate::sources::http::crawl::{DEFAULT_RECHECK_DAYS, MAX_RECHECK_DAYS};
use crate::sources::http::FetchSettings;

/// The bounds of the fetch settings: values past them are refused at start (exit 2), never wrapped
/// or turned into a wait of hours.
const MAX_CONCURRENCY: usize = 64;
const MAX_RATE_LIMIT: f64 = 1000.0;
const MAX_RETRIES: u32 = 20;
const MAX_SECONDS: f64 = 3600.0;
const MAX_BODY_BYTES: u64 = 1 << 34;

impl FetchArgs {
    /// Where fetched files are kept: the flag (or variable), else the file, else raw.
    pub fn raw(&self, file: &ConfigFile) -> PathBuf {
        self.raw
            .clone()
            .or_else(|| file.raw.clone())
            .unwrap_or_else(|| PathBuf::from("raw"))
    }

    /// Refuses a base URL or `--attack-url` (flag, variable or file) with credentials in it: they
    /// would be written wherever a URL is (see [`credentials`]). Checked offline too.
    pub fn refuse_credentials_in_urls(&self, file: &ConfigFile) -> Result<(), String> {
        if let Some(base) = self.base_url.as_ref().or(file.base_url.as_ref()) {
            credentials::refuse_in_url("--base-url", base, credentials::SITE)?;
        }
        if let Some(template) = self.attack_url.as_ref().or(file.attack_url.as_ref()) {
            credentials::refuse_in_url("--attack-url", template, credentials::SITE)
                .map_err(|e| format!("{e} (which go to the --base-url's host only)"))?;
        }
        Ok(())
    }

    /// The client's settings, each checked against its bounds (a message naming the flag when not).
    pub fn settings(&self, file: &ConfigFile) -> Result<FetchSettings, String> {
        self.refuse_credentials_in_urls(file)?;
        let mut base = self
            .base_url
            .clone()
            .or_else(|| file.base_url.clone())
            .unwrap_or_else(|| crate::site::LIVE_BASE_URL.to_string());
        if !base.ends_with('/') {
            base.push('/');
        }
        let base_url = reqwest::Url::parse(&base).map_err(|e| format!("--base-url {base}: {e}"))?;
        if !matches!(base_url.scheme(), "http" | "https") {
            return Err(format!("--base-url {base}: expected an http or https URL"));
        }
        if base_url.query().is_some() || base_url.fragment().is_some() {
            return Err(format!(
                "--base-url {base}: a site root takes no ?query or #fragment (every page's URL is the root followed by its path)"
            ));
        }
        let seconds = |value: f64, name: &str, min: f64| -> Result<Duration, String> {
            if !(min..=MAX_SECONDS).contains(&value) {
                return Err(format!(
                    "--{name} {value}: expected seconds from {min} to {MAX_SECONDS}"
                ));
            }
            Ok(Duration::from_secs_f64(value))
        };
        let concurrency = self.concurrency.or(file.concurrency).unwrap_or(4);
        if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
            return Err(format!("--concurrency {concurrency}: expected 1 to {MAX_CONCURRENCY}"));
        }
        let rate_limit = self.rate_limit.or(file.rate_limit).unwrap_or(8.0);
        if !(rate_limit > 0.0 && rate_limit <= MAX_RATE_LIMIT) {
            return Err(format!(
                "--rate-limit {rate_limit}: expected requests per second above 0, at most {MAX_RATE_LIMIT}"
            ));
        }
        let retries = self.retries.or(file.retries).unwrap_or(3);
        if retries > MAX_RETRIES {
            return Err(format!("--retries {retries}: expected at most {MAX_RETRIES}"));
        }
        let max_body_bytes = self
            .max_body_bytes
            .or(file.max_body_bytes)
            .unwrap_or_else(default_max_body_bytes);
        if !(1..=MAX_BODY_BYTES).contains(&max_body_bytes) {
            return Err(format!(
                "--max-body-bytes {max_body_bytes}: expected 1 to {MAX_BODY_BYTES} (16 GiB)"
            ));
        }
        let recheck_days = self.recheck_days.or(file.recheck_days).unwrap_or(DEFAULT_RECHECK_DAYS);
        if !(1..=MAX_RECHECK_DAYS).contains(&recheck_days) {
            return Err(format!(
                "--recheck-days {recheck_days}: expected 1 to {MAX_RECHECK_DAYS}"
            ));
        }
        let credentials = BasicAuth::from_env(credentials::SITE)?
            .map(|auth| auth.scoped_to(&base_url, credentials::SITE))
            .transpose()?;
        Ok(FetchSettings {
            base_url,
            concurrency,
            requests_per_second: rate_limit,
            timeout: seconds(self.timeout.or(file.timeout).unwrap_or(30.0), "timeout", 0.001)?,
            retries,
            backoff: seconds(self.backoff.or(file.backoff).unwrap_or(1.0), "backoff", 0.0)?,
            max_body_bytes,
            attack_url: match self.attack_url.clone().or_else(|| file.attack_url.clone()) {
                Some(template) if !(template.contains("{domain}") && template.contains("{version}")) => {
                    return Err(format!(
                        "--attack-url {template}: expected a URL with {{domain}} and {{version}}"
                    ))
                }
                Some(template) => {
                    let example = template.replace("{domain}", "enterprise").replace("{version}", "16.1");
                    match reqwest::Url::parse(&example) {
                        Ok(url) if matches!(url.scheme(), "http" | "https") => Some(template),
                        _ => return Err(format!("--attack-url {template}: expected an http or https URL")),
                    }
                }
                None => None,
            },
            credentials,
            recheck_days,
            run_deadline: match self.deadline.or(file.deadline) {
                Some(value) if !(1.0..=86_400.0).contains(&value) => {
                    return Err(format!("--deadline {value}: expected seconds from 1 to 86400"))
                }
                value => value.map(Duration::from_secs_f64),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::SelectionArgs;
    use super::*;
    use crate::sources::http::crawl::DatasetSelection;

    #[test]
    fn flags_win_over_the_file_which_wins_over_defaults() {
        let file: ConfigFile = toml::from_str("concurrency = 2\nretries = 7\ndomains = [\"mobile\"]").unwrap();
        let args = FetchArgs {
            concurrency: Some(9),
            ..FetchArgs::default()
        };
        let settings = args.settings(&file).unwrap();
        assert_eq!(settings.concurrency, 9, "flag (or environment) first");
        assert_eq!(settings.retries, 7, "then the file");
        assert_eq!(settings.max_body_bytes, default_max_body_bytes(), "then the default");
        assert_eq!(args.selection(&file).unwrap().domains, ["mobile"]);
        let default = FetchArgs::default().selection(&ConfigFile::default()).unwrap();
        assert!(default.latest, "each framework at its newest ATT&CK version by default");
        assert!(
            default.attack_versions.is_empty() && default.domains.is_empty(),
            "every domain"
        );
        let everything = FetchArgs {
            selection: SelectionArgs {
                attack_versions: vec!["all".into()],
                domains: vec!["all".into()],
                frameworks: vec![],
            },
            ..FetchArgs::default()
        };
        assert_eq!(
            everything.selection(&file).unwrap(),
            DatasetSelection::default(),
            "all selects every value"
        );
        assert_eq!(settings.base_url.as_str(), crate::site::LIVE_BASE_URL);
    }

    #[test]
    fn values_that_would_wrap_overflow_or_stall_are_refused() {
        let file = ConfigFile::default();
        let refused = |args: FetchArgs| args.settings(&file).unwrap_err();
        assert!(refused(FetchArgs {
            rate_limit: Some(0.0),
            ..FetchArgs::default()
        })
        .contains("--rate-limit"));
        assert!(refused(FetchArgs {
            rate_limit: Some(f64::NAN),
            ..FetchArgs::default()
        })
        .contains("--rate-limit"));
        assert!(refused(FetchArgs {
            backoff: Some(1e300),
            ..FetchArgs::default()
        })
        .contains("--backoff"));
        assert!(refused(FetchArgs {
            timeout: Some(-1.0),
            ..FetchArgs::default()
        })
        .contains("--timeout"));
        assert!(refused(FetchArgs {
            retries: Some(u32::MAX),
            ..FetchArgs::default()
        })
        .contains("--retries"));
        assert!(refused(FetchArgs {
            max_body_bytes: Some(u64::MAX),
            ..FetchArgs::default()
        })
        .contains("--max-body-bytes"));
        assert!(refused(FetchArgs {
            concurrency: Some(0),
            ..FetchArgs::default()
        })
        .contains("--concurrency"));
        for days in [0, 366] {
            assert!(refused(FetchArgs {
                recheck_days: Some(days),
                ..FetchArgs::default()
            })
            .contains("--recheck-days"));
        }
    }

    #[test]
    fn a_base_url_with_a_query_or_a_fragment_is_refused() {
        let file = ConfigFile::default();
        for url in ["http://mirror.example/site/?token=1", "http://mirror.example/site/#top"] {
            let args = FetchArgs {
                base_url: Some(url.into()),
                ..FetchArgs::default()
            };
            assert!(
                args.settings(&file).unwrap_err().contains("?query or #fragment"),
                "{url}"
            );
        }
    }

    #[test]
    fn the_example_file_is_read_and_its_values_are_the_defaults() {
        let example: ConfigFile = toml::from_str(include_str!("../../../attackmap.example.toml")).unwrap();
        let settings = FetchArgs::default().settings(&example).unwrap();
        let defaults = FetchArgs::default().settings(&ConfigFile::default()).unwrap();
        assert_eq!(example.recheck_days, Some(DEFAULT_RECHECK_DAYS));
        assert_eq!(
            (settings.recheck_days, settings.concurrency, settings.retries),
            (defaults.recheck_days, defaults.concurrency, defaults.retries)
        );
    }
}
