//! Upstream text is data, never markup: one escaping function per target that shows it. HTML text
//! and attribute values ([`html`]), XML text and attribute values for SVG ([`xml`]), the terminal
//! ([`terminal`]), links ([`web_link`]), URL path segments ([`url_segment`]) and requested paths
//! ([`url_path`]). JSON outputs and
//! JSON logs need none of these: serde escapes what JSON requires.

use std::borrow::Cow;
use std::fmt::Write;

/// Text for an HTML text node or a quoted attribute value: `& < > " '` become references, and the
/// characters HTML forbids in a document (NUL and other controls but tab, newline and carriage return)
/// become U+FFFD, so the text shows literally and never ends an element or an attribute.
pub fn html(text: &str) -> Cow<'_, str> {
    markup(text)
}

/// Text for an XML (SVG) text node or a quoted attribute value: as [`html`], which is also what XML
/// 1.0 needs (`]]>` cannot end a CDATA section that is never opened, and `>` is escaped anyway).
pub fn xml(text: &str) -> Cow<'_, str> {
    markup(text)
}

fn markup(text: &str) -> Cow<'_, str> {
    let needs = |c: char| matches!(c, '&' | '<' | '>' | '"' | '\'') || is_forbidden_in_markup(c);
    if !text.chars().any(needs) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if is_forbidden_in_markup(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Characters XML 1.0 does not allow, and HTML reports as parse errors: C0 controls but tab, line
/// feed and carriage return; C1 controls and DEL; the non-characters U+FFFE and U+FFFF.
fn is_forbidden_in_markup(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

/// Text for a terminal: control characters (ESC of an ANSI sequence, carriage return, backspace, NUL,
/// C1 controls) and the bidirectional overrides that reorder what a reader sees are shown as `\u{1b}`,
/// never interpreted. Line feeds and tabs stay: the text is a message of lines.
pub fn terminal(text: &str) -> Cow<'_, str> {
    let needs = |c: char| (c.is_control() && !matches!(c, '\n' | '\t')) || is_bidi_control(c);
    if !text.chars().any(needs) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if needs(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The bidirectional embedding, override and isolate controls (the "Trojan Source" characters).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// One segment of a URL path: every byte but ASCII letters, digits and `-._~` percent-encoded, so the
/// segment can neither end the path (`/`), start a query or fragment (`?`, `#`) nor end an attribute.
pub fn url_segment(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A path of a site, as written into a request: `/` separates segments, and in each every byte a
/// URL path cannot hold as it is (space, `%`, `?`, `#`, non-ASCII …) is percent-encoded; what RFC 3986
/// allows in a segment (letters, digits, `-._~`, `!$&'()*+,;=:@`) stays, so `I&S-03` is requested
/// as the site links it.
pub fn url_path(path: &str) -> Cow<'_, str> {
    let keeps = |b: u8| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b);
    if path.bytes().all(keeps) {
        return Cow::Borrowed(path);
    }
    let mut out = String::with_capacity(path.len() + 16);
    for b in path.bytes() {
        if keeps(b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    Cow::Owned(out)
}

/// `url` when it is an absolute `http:` or `https:` URL that a page may link to, else `None` (a
/// `javascript:`, `data:` or `file:` URL, a relative one, or one hiding a scheme behind white space or
/// controls): such text is shown, never linked.
pub fn web_link(url: &str) -> Option<&str> {
    let trimmed = url.trim();
    if trimmed.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return None;
    }
    let (scheme, rest) = trimmed.split_once("://")?;
    let is_web = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    (is_web && !rest.is_empty()).then_some(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "<script>alert(1)</script> \"><img src=x onerror=alert(1)> ]]> & \0 \u{1b}[31m";

    #[test]
    fn markup_shows_hostile_text_literally() {
        let escaped = html(HOSTILE);
        assert!(!escaped.contains('<') && !escaped.contains('>') && !escaped.contains('"'));
        assert!(!escaped.contains('\0') && !escaped.contains('\u{1b}'));
        assert!(escaped.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(escaped.contains("]]&gt; &amp;"));
        assert_eq!(xml("T1562 Impair Defenses"), "T1562 Impair Defenses");
        assert!(matches!(xml("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_terminal_sees_escape_sequences_as_text() {
        let shown = terminal("red \u{1b}[31m\r over\u{202E}txt.exe\nnext\tline");
        assert_eq!(shown, "red \\u{1b}[31m\\u{d} over\\u{202e}txt.exe\nnext\tline");
    }

    #[test]
    fn a_site_path_is_requested_with_what_a_url_cannot_hold_encoded() {
        let csa = "external/csa_ccm/attack-17.1/domain-enterprise/csa_ccm-4.1/I&S-03/";
        assert!(matches!(url_path(csa), Cow::Borrowed(_)));
        assert_eq!(url_path("a b/100%/x?y#z/\u{e9}"), "a%20b/100%25/x%3Fy%23z/%C3%A9");
    }

    #[test]
    fn only_web_urls_become_links() {
        assert_eq!(
            web_link(" https://attack.mitre.org/x "),
            Some("https://attack.mitre.org/x")
        );
        assert_eq!(web_link("HTTP://host/"), Some("HTTP://host/"));
        for refused in [
            "javascript:alert(1)",
            "java\tscript:alert(1)",
            "data:text/html,x",
            "file:///etc/passwd",
            "//host/x",
            "/relative",
            "https://",
            "https://host/\u{1b}",
            "jav ascript://x",
        ] {
            assert_eq!(web_link(refused), None, "{refused:?}");
        }
    }
}
