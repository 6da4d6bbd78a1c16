//! Canonical spellings: framework ids, framework versions, mapping types, scores, domains and text.

/// Framework versions that are dates (`12/12/2024`, `7/28/2025`, `12.12.2024`) become `MM.DD.YYYY`, the
/// form the site and the file names use; other versions (`rev5`, `v2.1`, `1.4.0`) are kept as written,
/// but for a `/`, which becomes `.` as on the site.
pub fn framework_version(raw: &str) -> String {
    let raw = raw.trim();
    let parts: Vec<&str> = raw.split(['/', '.']).collect();
    let is_date = parts.len() == 3
        && parts[2].len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && parts[0].len() <= 2
        && parts[1].len() <= 2;
    if is_date {
        format!("{:0>2}.{:0>2}.{}", parts[0], parts[1], parts[2])
    } else {
        raw.replace('/', ".")
    }
}

/// The canonical key of a mapping type from its key or display name: lower case, words joined by `_`,
/// and synonyms folded (`protects` → `mitigates`, `technique_score` → `technique_scores`,
/// `Non-Mappable` → `non_mappable`).
pub fn mapping_type(word: &str) -> String {
    let mut key = String::with_capacity(word.len());
    for part in word
        .split(|c: char| c.is_whitespace() || c == '-' || c == '_')
        .filter(|p| !p.is_empty())
    {
        if !key.is_empty() {
            key.push('_');
        }
        key.push_str(&part.to_lowercase());
    }
    match key.as_str() {
        "protects" => "mitigates".to_string(),
        "technique_score" => "technique_scores".to_string(),
        _ => key,
    }
}

/// The mapping type of rows from tables that show a score category and value instead of a type
/// (security-stack framework and capability pages).
pub const SCORED_MAPPING_TYPE: &str = "technique_scores";

/// Lower-cased, trimmed score words (`Protect` → `protect`); empty becomes `None`.
pub fn score_word(raw: &str) -> Option<String> {
    let word = raw.trim().to_lowercase();
    (!word.is_empty()).then_some(word)
}

/// How strong a score value is, for keeping the highest of repeats: significant > partial > minimal.
pub fn score_rank(value: Option<&str>) -> u8 {
    match value {
        Some("significant") => 3,
        Some("partial") => 2,
        Some("minimal") => 1,
        Some(_) => 0,
        None => 0,
    }
}

/// `Enterprise` → `enterprise`, `domain-enterprise` → `enterprise`.
pub fn domain(raw: &str) -> String {
    let raw = raw.trim().to_lowercase();
    raw.strip_prefix("domain-").unwrap_or(&raw).to_string()
}

/// Collapses runs of white space inside each paragraph and trims; paragraphs (separated by a blank
/// line, even one holding only spaces) stay separated by one blank line.
pub fn text(raw: &str) -> String {
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in raw.lines() {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() {
            if !current.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
        } else {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(&line);
        }
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    paragraphs.join("\n\n")
}

/// Normalized text, or `None` when nothing is left.
pub fn optional_text(raw: &str) -> Option<String> {
    let cleaned = text(raw);
    (!cleaned.is_empty()).then_some(cleaned)
}

/// Whether a string is an ATT&CK technique id (`T1562`, `T1562.001`, ICS `T0800`).
pub fn is_technique_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    match bytes.len() {
        5 => bytes[0] == b'T' && digits(&bytes[1..]),
        9 => bytes[0] == b'T' && digits(&bytes[1..5]) && bytes[5] == b'.' && digits(&bytes[6..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_versions_take_the_site_form() {
        assert_eq!(framework_version("12/12/2024"), "12.12.2024");
        assert_eq!(framework_version("7/28/2025"), "07.28.2025");
        assert_eq!(framework_version("12.12.2024"), "12.12.2024");
        assert_eq!(framework_version("rev5"), "rev5");
        assert_eq!(framework_version("1.4.0"), "1.4.0");
        assert_eq!(framework_version("v2.1"), "v2.1");
        assert_eq!(framework_version("rev5/1"), "rev5.1");
    }

    #[test]
    fn mapping_type_words_fold_to_one_key() {
        assert_eq!(mapping_type("Mitigates"), "mitigates");
        assert_eq!(mapping_type("protects"), "mitigates");
        assert_eq!(mapping_type("Technique Scores"), "technique_scores");
        assert_eq!(mapping_type("technique_score"), "technique_scores");
        assert_eq!(mapping_type("related-to"), "related_to");
        assert_eq!(mapping_type("Non-Mappable"), "non_mappable");
        assert_eq!(mapping_type("primary_impact"), "primary_impact");
    }

    #[test]
    fn text_collapses_padding_but_keeps_paragraphs() {
        assert_eq!(text("\n      Amazon   GuardDuty\n    "), "Amazon GuardDuty");
        assert_eq!(text("one\n  two\n   \n three"), "one two\n\nthree");
        assert_eq!(optional_text("  \n "), None);
    }

    #[test]
    fn technique_ids_are_recognized() {
        assert!(is_technique_id("T1562"));
        assert!(is_technique_id("T1562.001"));
        assert!(is_technique_id("T0800"));
        assert!(!is_technique_id("T15"));
        assert!(!is_technique_id("SC-08"));
    }
}
