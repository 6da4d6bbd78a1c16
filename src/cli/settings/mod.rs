//! Settings of `fetch` and `refresh`, from flags, `ATTACKMAP_*` variables and `attackmap.toml`, in
//! that order of precedence (clap reads the first two; `config_file` adds the third, `selection` and
//! `fetch_settings` the defaults and the checks).

mod config_file;
mod fetch_settings;
mod selection;

use std::path::PathBuf;

use clap::Args;

pub use config_file::ConfigFile;

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
