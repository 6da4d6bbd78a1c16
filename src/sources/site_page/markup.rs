//! Repairs the two markup faults that would lose text: truncated documents and comment text
//! inserted unescaped (a literal `<NetworkProviderName>` in a note is not an element).

use std::borrow::Cow;

/// Whether the document reaches its closing `</html>` tag (the site always writes one).
pub fn is_complete(html: &str) -> bool {
    let tail_start = html.len().saturating_sub(4096);
    let tail_start = (tail_start..html.len())
        .find(|&i| html.is_char_boundary(i))
        .unwrap_or(html.len());
    html[tail_start..].to_ascii_lowercase().contains("</html>")
}

const NOTE_BODY_OPEN: &str = r#"<div class="body">"#;
const NOTE_BODY_CLOSE: &str = "</div>";
/// The only tags the site writes inside a note body.
const NOTE_TAGS: &[&str] = &["ol", "ul", "li", "a", "br", "p", "b", "i", "em", "strong", "code"];

/// Inside note bodies, a `<` that does not open one of the tags the site writes there is text:
/// it is escaped so the parser keeps it (and what follows it) as the comment's text.
pub fn escape_stray_tags_in_notes(html: &str) -> Cow<'_, str> {
    if !html.contains(NOTE_BODY_OPEN) {
        return Cow::Borrowed(html);
    }
    let mut out = String::with_capacity(html.len() + 64);
    let mut rest = html;
    while let Some(open) = rest.find(NOTE_BODY_OPEN) {
        let body_start = open + NOTE_BODY_OPEN.len();
        out.push_str(&rest[..body_start]);
        let body_len = rest[body_start..]
            .find(NOTE_BODY_CLOSE)
            .unwrap_or(rest.len() - body_start);
        escape_body(&rest[body_start..body_start + body_len], &mut out);
        rest = &rest[body_start + body_len..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn escape_body(body: &str, out: &mut String) {
    let mut rest = body;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let after = &rest[lt + 1..];
        if opens_note_tag(after) {
            out.push('<');
        } else {
            out.push_str("&lt;");
        }
        rest = after;
    }
    out.push_str(rest);
}

fn opens_note_tag(after_lt: &str) -> bool {
    let name_part = after_lt.strip_prefix('/').unwrap_or(after_lt);
    let name_len = name_part
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(name_part.len());
    let (name, next) = name_part.split_at(name_len);
    let ends_tag = next.starts_with(['>', ' ', '/', '\n', '\t', '\r']);
    ends_tag && NOTE_TAGS.iter().any(|t| t.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stray_tags_in_note_bodies_become_text() {
        let html = r#"<div class="body">Services\<NetworkProviderName>\NetworkProvider & co</div><div class="body"><ol><li><a href="u">u</a></li></ol></div>"#;
        let escaped = escape_stray_tags_in_notes(html);
        assert!(escaped.contains(r"Services\&lt;NetworkProviderName>\NetworkProvider & co</div>"));
        assert!(escaped.contains(r#"<ol><li><a href="u">u</a></li></ol>"#));
    }

    #[test]
    fn a_page_without_its_closing_tag_is_incomplete() {
        assert!(is_complete("<html><body></body></html>\n"));
        assert!(!is_complete("<html><body><table><tr><td>cut"));
    }
}
