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
    let bytes = text.as_bytes();
    let mut out = String::new();
    // The bytes of `text` before `copied` are in `out` (escaped; `out` is empty until something is
    // replaced). A replaced character starts at a byte of its own (ASCII, or the lead byte of its
    // UTF-8), so every cut is at a character boundary.
    let (mut copied, mut at) = (0, 0);
    while at < bytes.len() {
        let Some((replacement, length)) = markup_replacement(bytes, at) else {
            at += 1;
            continue;
        };
        if out.is_empty() {
            out.reserve(text.len() + 16);
        }
        out.push_str(&text[copied..at]);
        out.push_str(replacement);
        at += length;
        copied = at;
    }
    if out.is_empty() {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// What replaces the character whose UTF-8 starts at `bytes[at]`, and its length in bytes; `None`
/// for one shown as it is. Read from the bytes, not decoded: most texts need nothing replaced.
fn markup_replacement(bytes: &[u8], at: usize) -> Option<(&'static str, usize)> {
    const FORBIDDEN: &str = "\u{FFFD}";
    match bytes[at] {
        b'&' => Some(("&amp;", 1)),
        b'<' => Some(("&lt;", 1)),
        b'>' => Some(("&gt;", 1)),
        b'"' => Some(("&quot;", 1)),
        b'\'' => Some(("&#39;", 1)),
        b'\t' | b'\n' | b'\r' => None,
        // C0 controls and DEL.
        0x00..=0x1F | 0x7F => Some((FORBIDDEN, 1)),
        // C1 controls: U+0080 to U+009F.
        0xC2 if matches!(bytes.get(at + 1), Some(0x80..=0x9F)) => Some((FORBIDDEN, 2)),
        // U+FFFE and U+FFFF.
        0xEF if bytes.get(at + 1) == Some(&0xBF) && matches!(bytes.get(at + 2), Some(0xBE | 0xBF)) => {
            Some((FORBIDDEN, 3))
        }
        _ => None,
    }
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

    /// Characters XML 1.0 does not allow, and HTML reports as parse errors: C0 controls but tab, line
    /// feed and carriage return; C1 controls and DEL; the non-characters U+FFFE and U+FFFF.
    fn is_forbidden_in_markup(c: char) -> bool {
        (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    }

    /// Markup escaping a character at a time, as the rules say it: the oracle of the byte scan.
    fn markup_by_characters(text: &str) -> String {
        text.chars()
            .map(|c| match c {
                '&' => "&amp;".to_string(),
                '<' => "&lt;".to_string(),
                '>' => "&gt;".to_string(),
                '"' => "&quot;".to_string(),
                '\'' => "&#39;".to_string(),
                c if is_forbidden_in_markup(c) => '\u{FFFD}'.to_string(),
                c => c.to_string(),
            })
            .collect()
    }

    #[test]
    fn markup_read_from_the_bytes_escapes_what_each_character_calls_for() {
        let around = [
            '\0',
            '\t',
            '\n',
            '\r',
            '\u{1b}',
            '\u{1f}',
            ' ',
            '&',
            '<',
            '>',
            '"',
            '\'',
            'a',
            '\u{7e}',
            '\u{7f}',
            '\u{80}',
            '\u{85}',
            '\u{9f}',
            '\u{a0}',
            '\u{ff}',
            'é',
            '\u{202e}',
            '\u{fffd}',
            '\u{fffe}',
            '\u{ffff}',
            '\u{10000}',
            '\u{10fffe}',
        ];
        let mut texts = vec![String::new(), HOSTILE.to_string()];
        for a in around {
            for b in around {
                texts.push(format!("{a}{b}"));
                texts.push(format!("x{a}y{b}z"));
            }
        }
        for text in &texts {
            assert_eq!(markup(text), markup_by_characters(text), "{text:?}");
        }
    }

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
