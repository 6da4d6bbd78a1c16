//! Settings of `fetch` and `refresh`, from flags, `ATTACKMAP_*` variables and `attackmap.toml`, in
//! that order of precedence (clap reads the first two; this file adds the third and the defaults).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde::Deserialize;

use crate::credentials::{self, BasicAuth};
use crate::sources::http::body_cap::default_max_body_bytes;
use crate::sources::http::crawl::{DatasetSelection, DEFAULT_RECHECK_DAYS, MAX_RECHECK_DAYS};
use crate::sources::http::FetchSettings;

/// The config file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG: &str = "attackmap.toml";

#[derive(Debug, Clone, Default, Args)]
pub struct SelectionArgs {
    /// ATT&CK versions to fetch: `latest` (default), each framework at the newest ATT&CK version the
    /// site publishes it for; a list (16.1,17.1); or `all`, every version the framework pages advertise.
    #[arg(long = "attack-version", env = "ATTACKMAP_ATTACK_VERSION", value_delimiter = ',')]
    pub attack_versions: Vec<String>,
    /// ATT&CK domains: enterprise, mobile, ics, or all (default: every domain of the selection).
    #[arg(long = "domain", env = "ATTACKMAP_DOMAIN", value_delimiter = ',')]
    pub domains: Vec<String>,
    /// Frameworks by id (nist_800_53, aws …; default all, also spelled `all`).
    #[arg(long = "framework", env = "ATTACKMAP_FRAMEWORK", value_delimiter = ',')]
    pub frameworks: Vec<String>,
}

#[derive(Debug, Clone, Default, Args)]
pub struct FetchArgs {
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// The site root (default: the live Mappings Explorer). Without credentials: basic auth comes
    /// from ATTACKMAP_HTTP_USER and ATTACKMAP_HTTP_PASSWORD.
    #[arg(long, env = "ATTACKMAP_BASE_URL", hide_env_values = true)]
    pub base_url: Option<String>,
    /// Where fetched files are kept, at their site paths (default raw).
    #[arg(long, env = "ATTACKMAP_RAW")]
    pub raw: Option<PathBuf>,
    /// Requests in flight at most (default 4).
    #[arg(long, env = "ATTACKMAP_CONCURRENCY")]
    pub concurrency: Option<usize>,
    /// Requests started per second at most (default 8).
    #[arg(long, env = "ATTACKMAP_RATE_LIMIT")]
    pub rate_limit: Option<f64>,
    /// Seconds a request may take in all, body included (default 30).
    #[arg(long, env = "ATTACKMAP_TIMEOUT")]
    pub timeout: Option<f64>,
    /// Retries of a failed request (default 3).
    #[arg(long, env = "ATTACKMAP_RETRIES")]
    pub retries: Option<u32>,
    /// Seconds before the first retry, doubled each time, up to +100 % jitter (default 1).
    #[arg(long, env = "ATTACKMAP_BACKOFF")]
    pub backoff: Option<f64>,
    /// Largest body accepted, in bytes (default: the machine's memory / 48, from 8 to 64 MiB; a
    /// mapping file takes about 40 times its size in memory).
    #[arg(long, env = "ATTACKMAP_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<u64>,
    /// The longest the whole crawl may take, in seconds (default: no limit): pages not requested by
    /// then fail (and fall back on their previous copies, marked stale).
    #[arg(long, env = "ATTACKMAP_DEADLINE")]
    pub deadline: Option<f64>,
    /// Nights over which the technique pages of unchanged datasets (mapping file, framework page and
    /// ATT&CK bundle as before) are each re-fetched once; the others are used from raw/ (default 7,
    /// 1 to 365; 1: every page every night). A changed dataset gets all its pages the same night.
    #[arg(long, env = "ATTACKMAP_RECHECK_DAYS")]
    pub recheck_days: Option<u32>,
    /// A second source of the ATT&CK bundles the site does not serve, off the site's host, so only
    /// when named: a URL with {domain} and {version}, e.g. MITRE's attack-stix-data repository.
    #[arg(long, env = "ATTACKMAP_ATTACK_URL", hide_env_values = true)]
    pub attack_url: Option<String>,
    /// Settings file (default ./attackmap.toml when it exists).
    #[arg(long, env = "ATTACKMAP_CONFIG")]
    pub config: Option<PathBuf>,
}

/// `attackmap.toml`: every key optional; flags and environment variables win over it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub base_url: Option<String>,
    pub attack_versions: Option<Vec<String>>,
    pub domains: Option<Vec<String>>,
    pub frameworks: Option<Vec<String>>,
    pub raw: Option<PathBuf>,
    pub out: Option<PathBuf>,
    pub concurrency: Option<usize>,
    pub rate_limit: Option<f64>,
    pub timeout: Option<f64>,
    pub retries: Option<u32>,
    pub backoff: Option<f64>,
    pub max_body_bytes: Option<u64>,
    pub attack_stix: Option<Vec<PathBuf>>,
    pub allow_partial: Option<bool>,
    pub offline: Option<bool>,
    pub csv_excel_safe: Option<bool>,
    pub max_removed_share: Option<f64>,
    pub deadline: Option<f64>,
    pub attack_url: Option<String>,
    pub recheck_days: Option<u32>,
    /// `--carry-to`: an ATT&CK version, or latest.
    pub carry_to: Option<String>,
}

impl ConfigFile {
    /// Reads `explicit`, or `attackmap.toml` when it exists; a named file that is missing is an error.
    pub fn load(explicit: Option<&Path>) -> anyhow::Result<ConfigFile> {
        let path = match explicit {
            Some(path) => path.to_path_buf(),
            None if Path::new(DEFAULT_CONFIG).exists() => PathBuf::from(DEFAULT_CONFIG),
            None => return Ok(ConfigFile::default()),
        };
        let text =
            read_config_text(&path).map_err(|e| anyhow::anyhow!("reading config file {}: {e}", path.display()))?;
        let file: ConfigFile =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("parsing config file {}: {e}", path.display()))?;
        file.check_lists()
            .map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))?;
        Ok(file)
    }

    /// Refuses an empty selector list: `attack_versions = []` reads as "none", never as "every".
    fn check_lists(&self) -> Result<(), String> {
        for (key, values) in [
            ("attack_versions", &self.attack_versions),
            ("domains", &self.domains),
            ("frameworks", &self.frameworks),
        ] {
            if values.as_ref().is_some_and(Vec::is_empty) {
                return Err(format!(
                    "{key} = []: an empty list selects nothing; write {key} = [\"{ALL}\"] for every value, or leave the key out for the default"
                ));
            }
        }
        Ok(())
    }
}

/// The largest config file read: a settings file is a few kilobytes.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The text of a config file: a regular file (a device such as /dev/zero, a FIFO or a directory is
/// refused before it is opened, so nothing blocks) of at most [`MAX_CONFIG_BYTES`].
fn read_config_text(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let metadata = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !metadata.is_file() {
        return Err("not a regular file (a directory, a device or a FIFO): expected a TOML file".into());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(format!(
            "larger than {} MiB: not a settings file",
            MAX_CONFIG_BYTES >> 20
        ));
    }
    String::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))
}

/// A list from the command line or environment, else from the file, else the default.
/// The values given on the command line, else in the file, else `default`; empty (every value) when
/// one of them is `all`.
fn list(given: &[String], file: &Option<Vec<String>>, default: &[&str]) -> Vec<String> {
    let values: Vec<String> = if !given.is_empty() {
        given.to_vec()
    } else if let Some(values) = file {
        values.clone()
    } else {
        default.iter().map(|s| s.to_string()).collect()
    };
    if values.iter().any(|v| v == ALL) {
        Vec::new()
    } else {
        values
    }
}

/// The selector value for every version, domain or framework the site publishes.
const ALL: &str = "all";
/// The ATT&CK version selector for each framework's newest release on the site.
const LATEST: &str = "latest";

/// The bounds of the fetch settings: values past them are refused at start (exit 2), never wrapped
/// or turned into a wait of hours.
const MAX_CONCURRENCY: usize = 64;
const MAX_RATE_LIMIT: f64 = 1000.0;
const MAX_RETRIES: u32 = 20;
const MAX_SECONDS: f64 = 3600.0;
const MAX_BODY_BYTES: u64 = 1 << 34;

impl FetchArgs {
    /// The selection, each value checked against its field's pattern.
    pub fn selection(&self, file: &ConfigFile) -> Result<DatasetSelection, String> {
        let mut attack_versions = list(&self.selection.attack_versions, &file.attack_versions, &[LATEST]);
        let latest = attack_versions.iter().any(|v| v == LATEST);
        if latest {
            if attack_versions.len() > 1 {
                return Err(format!(
                    "--attack-version {}: latest stands alone (each framework at its newest ATT&CK version)",
                    attack_versions.join(",")
                ));
            }
            attack_versions.clear();
        }
        let selection = DatasetSelection {
            attack_versions,
            latest,
            domains: list(&self.selection.domains, &file.domains, &[]),
            frameworks: list(&self.selection.frameworks, &file.frameworks, &[]),
            carried_to: Vec::new(),
        };
        selection.check()?;
        Ok(selection)
    }

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
    use super::*;

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
    fn selectors_that_could_become_paths_are_refused() {
        let file = ConfigFile::default();
        let with = |domains: &[&str], versions: &[&str]| FetchArgs {
            selection: SelectionArgs {
                domains: domains.iter().map(|s| s.to_string()).collect(),
                attack_versions: versions.iter().map(|s| s.to_string()).collect(),
                frameworks: vec![],
            },
            ..FetchArgs::default()
        };
        assert!(with(&["../../etc"], &[])
            .selection(&file)
            .unwrap_err()
            .contains("--domain"));
        assert!(with(&[], &["16.1/../x"])
            .selection(&file)
            .unwrap_err()
            .contains("--attack-version"));
        assert!(with(&["mobile"], &["15.1"]).selection(&file).is_ok());
        assert!(with(&[], &["latest", "16.1"])
            .selection(&file)
            .unwrap_err()
            .contains("latest stands alone"));
    }

    #[test]
    fn an_empty_selector_list_in_the_file_is_refused_and_all_is_suggested() {
        for key in ["attack_versions", "domains", "frameworks"] {
            let file: ConfigFile = toml::from_str(&format!("{key} = []")).unwrap();
            let message = file.check_lists().unwrap_err();
            assert!(message.contains(&format!("{key} = [\"all\"]")), "{message}");
        }
        let everything: ConfigFile = toml::from_str("frameworks = [\"all\"]").unwrap();
        assert!(everything.check_lists().is_ok());
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
    fn unknown_keys_in_the_file_are_errors() {
        assert!(toml::from_str::<ConfigFile>("concurrencyy = 2").is_err());
    }

    #[test]
    fn the_example_file_is_read_and_its_values_are_the_defaults() {
        let example: ConfigFile = toml::from_str(include_str!("../../attackmap.example.toml")).unwrap();
        let settings = FetchArgs::default().settings(&example).unwrap();
        let defaults = FetchArgs::default().settings(&ConfigFile::default()).unwrap();
        assert_eq!(example.recheck_days, Some(DEFAULT_RECHECK_DAYS));
        assert_eq!(
            (settings.recheck_days, settings.concurrency, settings.retries),
            (defaults.recheck_days, defaults.concurrency, defaults.retries)
        );
    }
}
