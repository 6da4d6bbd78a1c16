//! `attackmap.toml`: its keys, and how it is found and read (a regular file of at most 1 MiB).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::selection::ALL;

/// The config file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG: &str = "attackmap.toml";

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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn unknown_keys_in_the_file_are_errors() {
        assert!(toml::from_str::<ConfigFile>("concurrencyy = 2").is_err());
    }
}
