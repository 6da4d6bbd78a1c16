//! The links of a fetched page: site paths to follow, links refused (another scheme, a path that
//! could leave raw/) and links to other hosts, which are only counted.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::super::raw_store::check_site_path;
use super::super::Fetcher;
use crate::site::LIVE_BASE_URL;

static HREF: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"href\s*=\s*["']?\s*([^"'\s>]+)"#).unwrap());

/// A link found in a page and not followed, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct RefusedLink {
    pub page: String,
    pub link: String,
    pub reason: String,
    /// A link into the site whose path or dataset could leave raw/ or out/: a warning (exit 3).
    /// Links of another scheme are only listed: real references carry `chrome-extension:` ones.
    pub into_the_site: bool,
}

/// The links of one page: the site paths to follow, and what was not followed.
#[derive(Debug, Default)]
pub(super) struct PageLinks {
    pub(super) site_paths: Vec<String>,
    pub(super) refused: Vec<RefusedLink>,
    pub(super) off_host: usize,
}

/// The site paths a page links to: absolute links to the live host or to the configured base, and
/// `./` links resolved against the page, each checked by [`check_site_path`]. Links with another
/// scheme (`javascript:`, `file:`, `data:` …) and site links that fail the check are refused and
/// reported; links to other hosts are counted; fragments, `mailto:` and other relative links (script
/// templates among them) are ignored.
pub(super) fn site_links(fetcher: &Fetcher, page_path: &str, html: &str) -> PageLinks {
    let base = fetcher.base_url().as_str();
    let mut links = PageLinks::default();
    let mut refuse = |link: &str, reason: String, into_the_site: bool| {
        links.refused.push(RefusedLink {
            page: page_path.to_string(),
            link: link.chars().take(200).collect(),
            reason,
            into_the_site,
        })
    };
    let mut site_paths = Vec::new();
    let mut off_host = 0;
    for captures in HREF.captures_iter(html) {
        let href = captures[1].trim();
        let site_path = if let Some(path) = href.strip_prefix(LIVE_BASE_URL).or_else(|| href.strip_prefix(base)) {
            path.to_string()
        } else if let Some(relative) = href.strip_prefix("./") {
            let directory = &page_path[..page_path.rfind('/').map_or(0, |i| i + 1)];
            format!("{directory}{relative}")
        } else {
            match scheme_of(href).as_deref() {
                Some("http" | "https") => off_host += 1,
                Some(other) if other != "mailto" => {
                    refuse(href, format!("a {other}: link is never followed"), false);
                }
                _ if href.starts_with("//") => off_host += 1,
                _ => {}
            }
            continue;
        };
        match check_site_path(&site_path) {
            Ok(()) => site_paths.push(site_path),
            Err(reason) => refuse(href, format!("a site path with {reason}"), true),
        }
    }
    links.site_paths = site_paths;
    links.off_host = off_host;
    links
}

/// The scheme of a URL (`javascript` of `javascript:alert(1)`, lower-cased), if it has one.
fn scheme_of(href: &str) -> Option<String> {
    let (scheme, _) = href.split_once(':')?;
    let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    is_scheme.then(|| scheme.to_ascii_lowercase())
}
