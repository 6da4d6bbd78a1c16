//! Credentials for the HTTP servers attackmap talks to (a mirror of the site, a TAXII server): taken
//! from environment variables only, never from a URL, sent only to the origin they belong to, and
//! never in clear over the network.
//!
//! One principle: a URL that attackmap is given (`--base-url`, `--attack-url`, `--api-root`, their
//! variables and config keys) is written to `manifest.json`, the raw/ sidecars, `report.html`, logs
//! and errors, so it must hold no secret. One with `user:password@` is refused (exit 2) with a
//! message naming the variables to use instead, and never echoed with its password.

use std::net::{Ipv4Addr, Ipv6Addr};

use reqwest::blocking::RequestBuilder;
use reqwest::Url;

/// The two variables that give one server's basic auth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variables {
    pub user: &'static str,
    pub password: &'static str,
}

/// The site or its mirror (`fetch`, `refresh`).
pub const SITE: Variables = Variables {
    user: "ATTACKMAP_HTTP_USER",
    password: "ATTACKMAP_HTTP_PASSWORD",
};

/// The TAXII server (`publish-taxii`).
pub const TAXII: Variables = Variables {
    user: "ATTACKMAP_TAXII_USER",
    password: "ATTACKMAP_TAXII_PASSWORD",
};

/// A user and password for HTTP basic auth. Its `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    pub user: String,
    password: String,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth")
            .field("user", &self.user)
            .field("password", &"***")
            .finish()
    }
}

impl BasicAuth {
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> BasicAuth {
        BasicAuth {
            user: user.into(),
            password: password.into(),
        }
    }

    /// The credentials the variables give: none when neither is set; an error naming the missing
    /// one when only one is set (or set empty), since a request without the password would be
    /// answered 401 as if the password were wrong.
    pub fn from_env(variables: Variables) -> Result<Option<BasicAuth>, String> {
        let read = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let missing = |set: &str, unset: &str| {
            format!("{set} is set but {unset} is not (or is empty): basic auth needs both; set {unset}, or unset {set}")
        };
        match (read(variables.user), read(variables.password)) {
            (Some(user), Some(password)) => Ok(Some(BasicAuth { user, password })),
            (None, None) => Ok(None),
            (Some(_), None) => Err(missing(variables.user, variables.password)),
            (None, Some(_)) => Err(missing(variables.password, variables.user)),
        }
    }

    /// The request with these credentials in its `Authorization` header.
    pub fn apply(&self, request: RequestBuilder) -> RequestBuilder {
        request.basic_auth(&self.user, Some(&self.password))
    }

    /// These credentials for requests to `url`'s origin only, once checked that they will not cross
    /// the network in clear: the origin must be https, or http on a loopback address.
    pub fn scoped_to(self, url: &Url, variables: Variables) -> Result<ScopedAuth, String> {
        if url.scheme() != "https" && !is_loopback(url) {
            return Err(format!(
                "{} and {} would be sent in clear over {}:// to {}: use an https:// URL, or a \
                 loopback address (localhost, 127.0.0.1, ::1) for a server on this machine",
                variables.user,
                variables.password,
                url.scheme(),
                url.host_str().unwrap_or_default()
            ));
        }
        Ok(ScopedAuth {
            origin: url.clone(),
            auth: self,
        })
    }
}

/// Basic auth for one origin (scheme, host, port): requests elsewhere go without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopedAuth {
    origin: Url,
    auth: BasicAuth,
}

impl ScopedAuth {
    /// The credentials for a request of `url`: only on the origin they were given for.
    pub fn for_url(&self, url: &str) -> Option<&BasicAuth> {
        Url::parse(url)
            .ok()
            .filter(|url| same_origin(url, &self.origin))
            .map(|_| &self.auth)
    }
}

/// Same scheme, host and port.
pub fn same_origin(url: &Url, base: &Url) -> bool {
    url.scheme() == base.scheme()
        && url.host_str() == base.host_str()
        && url.port_or_known_default() == base.port_or_known_default()
}

/// `localhost`, or an address of 127.0.0.0/8 or `::1`.
fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<Ipv4Addr>().is_ok_and(|address| address.is_loopback())
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<Ipv6Addr>()
            .is_ok_and(|address| address.is_loopback())
}

/// Refuses a URL with credentials (`user:password@`, or `user@`), naming `setting` and the
/// variables to use instead; the message shows the URL without them.
pub fn refuse_in_url(setting: &str, text: &str, variables: Variables) -> Result<(), String> {
    if !has_userinfo(text) {
        return Ok(());
    }
    Err(format!(
        "{setting} {}: a URL with credentials (user:password@) is refused, since URLs are written \
         to outputs, logs and errors; give the credentials in {} and {}",
        without_userinfo(text),
        variables.user,
        variables.password
    ))
}

/// The text of a URL, or of what was meant as one, with what stands before an `@` in its authority
/// (user and password) shown as `***`: for messages that echo a URL, parsed or not.
pub fn without_userinfo(text: &str) -> String {
    match userinfo_span(text) {
        Some((start, end)) => format!("{}***{}", &text[..start], &text[end..]),
        None => text.to_string(),
    }
}

/// Whether the text has a user (and maybe a password) before its host, as a URL parser or the
/// text itself says.
fn has_userinfo(text: &str) -> bool {
    let parsed = Url::parse(text).is_ok_and(|url| !url.username().is_empty() || url.password().is_some());
    parsed || userinfo_span(text).is_some()
}

/// Where the user information of a URL's text lies: after `://`, before the last `@` of the
/// authority (which ends at the first `/`, `\`, `?` or `#`).
fn userinfo_span(text: &str) -> Option<(usize, usize)> {
    let start = text.find("://")? + 3;
    let authority_length = text[start..].find(['/', '\\', '?', '#']).unwrap_or(text.len() - start);
    let at = text[start..start + authority_length].rfind('@')?;
    Some((start, start + at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_with_credentials_is_refused_and_never_echoed() {
        for text in [
            "http://user:s3cret@mirror.example/",
            "https://user:s3cret@mirror.example:8443/site/",
            "http://user:s3cret@mirror.example:99999/",
            "http://user:s3cret@[::1/",
            "https://s3cret@mirror.example/{domain}-attack-{version}.json",
        ] {
            let refused = refuse_in_url("--base-url", text, SITE).unwrap_err();
            assert!(!refused.contains("s3cret"), "{refused}");
            assert!(
                refused.contains("ATTACKMAP_HTTP_USER and ATTACKMAP_HTTP_PASSWORD"),
                "{refused}"
            );
            assert!(refused.contains("***@"), "{refused}");
        }
        for text in [
            "https://mirror.example/",
            "https://mirror.example/path@with-at/",
            "http://127.0.0.1:8080/?q=a@b",
        ] {
            assert_eq!(refuse_in_url("--base-url", text, SITE), Ok(()), "{text}");
            assert_eq!(without_userinfo(text), text);
        }
    }

    #[test]
    fn credentials_go_only_to_their_origin_and_never_in_clear_over_the_network() {
        let auth = BasicAuth::new("user", "s3cret");
        let mirror = Url::parse("https://mirror.example/site/").unwrap();
        let scoped = auth.clone().scoped_to(&mirror, SITE).unwrap();
        assert!(scoped.for_url("https://mirror.example/site/data/x.json").is_some());
        assert!(scoped.for_url("https://mirror.example:443/other/").is_some());
        assert!(scoped.for_url("https://raw.githubusercontent.com/x.json").is_none());
        assert!(scoped.for_url("http://mirror.example/site/").is_none());
        assert!(scoped.for_url("https://mirror.example:8443/site/").is_none());

        let refused = auth
            .clone()
            .scoped_to(&Url::parse("http://mirror.example/").unwrap(), SITE)
            .unwrap_err();
        assert!(refused.contains("in clear over http:// to mirror.example"), "{refused}");
        for local in ["http://127.0.0.1:8080/", "http://localhost/", "http://[::1]:9/"] {
            assert!(
                auth.clone().scoped_to(&Url::parse(local).unwrap(), SITE).is_ok(),
                "{local}"
            );
        }
        assert!(!format!("{scoped:?}").contains("s3cret"), "Debug hides the password");
    }
}
