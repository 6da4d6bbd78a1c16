//! Refuses a page before parsing when its elements nest deeper than any Mappings Explorer page:
//! html5ever's tree building grows quadratically with depth (100,000 nested `<div>`s took 26 s, a
//! 2.3 MB page of 200,000 more than two minutes), and a served page must not stall the night.

/// The deepest nesting parsed. The site's pages nest about 20 levels; the limit leaves room for a
/// redesign and refuses only pathological documents.
pub const MAX_DEPTH: usize = 512;

/// Elements that never hold others, so never deepen the tree.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr",
    "!doctype",
];

/// The deepest nesting of start tags over end tags, in one linear pass (comments, `<script>` and
/// `<style>` contents skipped). An estimate, not a parse: enough to tell a page from an attack.
pub fn nesting_depth(html: &str) -> usize {
    let bytes = html.as_bytes();
    let (mut depth, mut deepest, mut at) = (0usize, 0usize, 0usize);
    while let Some(offset) = memchr::memchr(b'<', &bytes[at..]) {
        let start = at + offset + 1;
        let rest = &bytes[start..];
        at = start;
        if rest.starts_with(b"!--") {
            at = find(bytes, start, b"-->").map_or(bytes.len(), |end| end + 3);
            continue;
        }
        match rest.first() {
            Some(b'/') => depth = depth.saturating_sub(1),
            Some(b) if b.is_ascii_alphabetic() || *b == b'!' => {
                let name_len = rest
                    .iter()
                    .position(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/')
                    .unwrap_or(rest.len());
                let name = &rest[..name_len];
                let Some(close) = memchr::memchr(b'>', &bytes[start..]).map(|i| start + i) else {
                    break;
                };
                let self_closing = bytes[close - 1] == b'/';
                at = close + 1;
                if self_closing || VOID.iter().any(|void| name.eq_ignore_ascii_case(void.as_bytes())) {
                    continue;
                }
                if let Some(raw_text) = ["script", "style"]
                    .into_iter()
                    .find(|raw_text| name.eq_ignore_ascii_case(raw_text.as_bytes()))
                {
                    let end_tag = format!("</{raw_text}");
                    at = find(bytes, at, end_tag.as_bytes()).unwrap_or(bytes.len());
                    continue;
                }
                depth += 1;
                deepest = deepest.max(depth);
            }
            _ => {}
        }
    }
    deepest
}

fn find(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    haystack[from..]
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|i| from + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_elements_not_void_tags_comments_or_scripts() {
        assert_eq!(nesting_depth("<html><body><div><p>x</p></div></body></html>"), 4);
        assert_eq!(nesting_depth("<div><br><img src=x><hr/><!-- <div><div> --></div>"), 1);
        assert_eq!(
            nesting_depth("<div><script>if (a<b) { '<div><div>' }</script></div>"),
            1
        );
    }

    #[test]
    fn a_hundred_thousand_nested_divs_are_measured_at_once() {
        let deep = "<div>".repeat(100_000);
        assert_eq!(nesting_depth(&deep), 100_000);
    }
}
