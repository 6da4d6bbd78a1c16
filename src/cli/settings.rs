//! Settings of `fetch` and `refresh`, from flags, `ATTACKMAP_*` variables and `attackmap.toml`, in
//! that order of precedence (clap reads the first two; this file adds the third and the defaults).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde::Deserialize;

use crate::sources::http::crawl::Selection;
use crate::sources::http::FetchSettings;

/// The config file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG: &str = "attackmap.toml";

#[derive(Debug, Clone, Default, Args)]
pub struct SelectionArgs {
    /// ATT&CK versions to fetch (default 16.1).
    #[arg(long = "attack-version", env = "ATTACKMAP_ATTACK_VERSION", value_delimiter = ',')]
    pub attack_versions: Vec<String>,
    /// ATT&CK domains: enterprise, mobile, ics (default enterprise).
    #[arg(long = "domain", env = "ATTACKMAP_DOMAIN", value_delimiter = ',')]
    pub domains: Vec<String>,
    /// Frameworks by id (nist_800_53, aws …; default all).
    #[arg(long = "framework", env = "ATTACKMAP_FRAMEWORK", value_delimiter = ',')]
    pub frameworks: Vec<String>,
}

#[derive(Debug, Clone, Default, Args)]
pub struct FetchArgs {
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// The site root (default: the live Mappings Explorer).
    #[arg(long, env = "ATTACKMAP_BASE_URL")]
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
    /// Seconds before a request times out (default 30).
    #[arg(long, env = "ATTACKMAP_TIMEOUT")]
    pub timeout: Option<f64>,
    /// Retries of a failed request (default 3).
    #[arg(long, env = "ATTACKMAP_RETRIES")]
    pub retries: Option<u32>,
    /// Seconds before the first retry, doubled each time, ±50 % jitter (default 1).
    #[arg(long, env = "ATTACKMAP_BACKOFF")]
    pub backoff: Option<f64>,
    /// Largest body accepted, in bytes (default 64 MiB).
    #[arg(long, env = "ATTACKMAP_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<u64>,
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
}

impl ConfigFile {
    /// Reads `explicit`, or `attackmap.toml` when it exists; a named file that is missing is an error.
    pub fn load(explicit: Option<&Path>) -> anyhow::Result<ConfigFile> {
        let path = match explicit {
            Some(path) => path.to_path_buf(),
            None if Path::new(DEFAULT_CONFIG).exists() => PathBuf::from(DEFAULT_CONFIG),
            None => return Ok(ConfigFile::default()),
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("reading config file {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("parsing config file {}: {e}", path.display()))
    }
}

/// A list from the command line or environment, else from the file, else the default.
fn list(given: &[String], file: &Option<Vec<String>>, default: &[&str]) -> Vec<String> {
    if !given.is_empty() {
        given.to_vec()
    } else if let Some(values) = file {
        values.clone()
    } else {
        default.iter().map(|s| s.to_string()).collect()
    }
}

impl FetchArgs {
    pub fn selection(&self, file: &ConfigFile) -> Selection {
        Selection {
            attack_versions: list(&self.selection.attack_versions, &file.attack_versions, &["16.1"]),
            domains: list(&self.selection.domains, &file.domains, &["enterprise"]),
            frameworks: list(&self.selection.frameworks, &file.frameworks, &[]),
        }
    }

    pub fn raw(&self, file: &ConfigFile) -> PathBuf {
        self.raw
            .clone()
            .or_else(|| file.raw.clone())
            .unwrap_or_else(|| PathBuf::from("raw"))
    }

    pub fn settings(&self, file: &ConfigFile) -> anyhow::Result<FetchSettings> {
        let mut base = self
            .base_url
            .clone()
            .or_else(|| file.base_url.clone())
            .unwrap_or_else(|| crate::site::LIVE_BASE_URL.to_string());
        if !base.ends_with('/') {
            base.push('/');
        }
        let base_url = reqwest::Url::parse(&base).map_err(|e| anyhow::anyhow!("--base-url {base}: {e}"))?;
        let seconds = |value: f64, name: &str| -> anyhow::Result<Duration> {
            Duration::try_from_secs_f64(value).map_err(|_| anyhow::anyhow!("--{name} {value}: expected seconds ≥ 0"))
        };
        Ok(FetchSettings {
            base_url,
            concurrency: self.concurrency.or(file.concurrency).unwrap_or(4).max(1),
            requests_per_second: self.rate_limit.or(file.rate_limit).unwrap_or(8.0),
            timeout: seconds(self.timeout.or(file.timeout).unwrap_or(30.0), "timeout")?,
            retries: self.retries.or(file.retries).unwrap_or(3),
            backoff: seconds(self.backoff.or(file.backoff).unwrap_or(1.0), "backoff")?,
            max_body_bytes: self.max_body_bytes.or(file.max_body_bytes).unwrap_or(64 << 20),
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
        assert_eq!(settings.max_body_bytes, 64 << 20, "then the default");
        assert_eq!(args.selection(&file).domains, ["mobile"]);
        assert_eq!(args.selection(&file).attack_versions, ["16.1"]);
        assert_eq!(settings.base_url.as_str(), crate::site::LIVE_BASE_URL);
    }

    #[test]
    fn unknown_keys_in_the_file_are_errors() {
        assert!(toml::from_str::<ConfigFile>("concurrencyy = 2").is_err());
    }
}
