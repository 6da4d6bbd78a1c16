//! The links of a fetched page: site paths to follow, links refused (another scheme, a path that
//! could leave raw/) and links to other hosts, which are only counted. An href is HTML and a URL:
//! its character references (`&amp;`) and then its percent-encoding (`%26`) are decoded before the
//! path it names is judged, so a capability id such as CSA CCM's `I&S-03` is the path segment
//! `I&S-03`, whichever way a page writes it.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use scraper::Html;
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
/// `./` links resolved against the page, each decoded (character references, then percent-encoding)
/// and checked by [`check_site_path`]. Links with another
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
        let written = captures[1].trim();
        let href = decode_references(written);
        let href = href.trim();
        let path = if let Some(path) = href.strip_prefix(LIVE_BASE_URL).or_else(|| href.strip_prefix(base)) {
            path.to_string()
        } else if let Some(relative) = href.strip_prefix("./") {
            let directory = &page_path[..page_path.rfind('/').map_or(0, |i| i + 1)];
            format!("{directory}{relative}")
        } else {
            match scheme_of(href).as_deref() {
                Some("http" | "https") => off_host += 1,
                Some(other) if other != "mailto" => {
                    refuse(written, format!("a {other}: link is never followed"), false);
                }
                _ if href.starts_with("//") => off_host += 1,
                _ => {}
            }
            continue;
        };
        match percent_decoded(&path).and_then(|decoded| check_site_path(&decoded).map(|()| decoded)) {
            Ok(decoded) => site_paths.push(decoded),
            Err(reason) if path.contains('%') => refuse(
                written,
                format!(
                    "a site path with {reason}, once decoded from {}",
                    crate::identifiers::shown(&path)
                ),
                true,
            ),
            Err(reason) => refuse(written, format!("a site path with {reason}"), true),
        }
    }
    links.site_paths = site_paths;
    links.off_host = off_host;
    links
}

/// An href as the page means it: its character references decoded (`I&amp;S-03` is `I&S-03`), by
/// an HTML parser, so every reference HTML knows is read as a browser reads it.
fn decode_references(href: &str) -> Cow<'_, str> {
    if !href.contains('&') {
        return Cow::Borrowed(href);
    }
    // The href holds no quote or white space (see HREF): it cannot leave the attribute.
    let fragment = Html::parse_fragment(&format!("<a href=\"{href}\"></a>"));
    let decoded = fragment
        .root_element()
        .descendants()
        .filter_map(scraper::ElementRef::wrap)
        .find_map(|a| a.value().attr("href").map(str::to_string));
    decoded.map_or(Cow::Borrowed(href), Cow::Owned)
}

/// A URL path with each segment's percent-encoding decoded (`I%26S-03` is `I&S-03`): the path of
/// the file the server serves. A segment whose decoding holds a `/` or is not UTF-8 is refused: it
/// would name another path than the one it seems to.
fn percent_decoded(path: &str) -> Result<String, String> {
    if !path.contains('%') {
        return Ok(path.to_string());
    }
    let segments: Result<Vec<String>, String> = path
        .split('/')
        .map(|segment| {
            let decoded = percent_decode_segment(segment).ok_or_else(|| {
                format!(
                    "a segment {} that is not UTF-8 once decoded",
                    crate::identifiers::shown(segment)
                )
            })?;
            if decoded.contains('/') {
                return Err(format!(
                    "an encoded '/' in the segment {}",
                    crate::identifiers::shown(segment)
                ));
            }
            Ok(decoded)
        })
        .collect();
    Ok(segments?.join("/"))
}

/// `%XX` sequences as bytes; a `%` not followed by two hex digits stays as written.
fn percent_decode_segment(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The scheme of a URL (`javascript` of `javascript:alert(1)`, lower-cased), if it has one.
fn scheme_of(href: &str) -> Option<String> {
    let (scheme, _) = href.split_once(':')?;
    let is_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    is_scheme.then(|| scheme.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_href_is_read_as_html_then_as_a_url() {
        assert_eq!(
            decode_references("https://host/external/csa_ccm/attack-17.1/domain-enterprise/csa_ccm-4.1/I&amp;S-03/"),
            "https://host/external/csa_ccm/attack-17.1/domain-enterprise/csa_ccm-4.1/I&S-03/"
        );
        assert_eq!(decode_references("a&#38;b&#x26;c&amp;d"), "a&b&c&d");
        assert!(matches!(decode_references("plain/path/"), Cow::Borrowed(_)));
        assert_eq!(percent_decoded("csa_ccm-4.1/I%26S-03/").unwrap(), "csa_ccm-4.1/I&S-03/");
        assert_eq!(
            percent_decoded("a/100%/b").unwrap(),
            "a/100%/b",
            "a lone % stays, for the check to refuse"
        );
    }

    #[test]
    fn decoding_never_hides_a_climb_or_a_separator() {
        let judged = |path: &str| percent_decoded(path).and_then(|p| check_site_path(&p).map(|()| p));
        assert_eq!(judged("external/x/I&S-03/").unwrap(), "external/x/I&S-03/");
        assert!(judged("attack/%2e%2e/%2E%2E/escape/")
            .unwrap_err()
            .contains("\"..\" segment"));
        assert!(judged("attack/..%2f..%2fescape/").unwrap_err().contains("encoded '/'"));
        assert!(
            judged("attack/%5c..%5cescape/").is_err(),
            "an encoded backslash is refused"
        );
        assert!(judged("attack/%ff/").unwrap_err().contains("not UTF-8"));
        assert!(judged("attack/a%00b/").is_err(), "an encoded NUL is refused");
        assert_eq!(
            scheme_of(&decode_references("&#106;avascript:alert(1)")).as_deref(),
            Some("javascript"),
            "a scheme written with references is still that scheme"
        );
    }
}
