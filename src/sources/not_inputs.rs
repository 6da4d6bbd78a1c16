//! Files an input directory holds that are not inputs, known by their names: the site's exports of
//! each mapping file in other formats, and the site's own assets. A mirror of the site made with an
//! ordinary tool holds them beside the mapping files and pages; they are counted and listed, by kind,
//! never read (an `.xlsx` is not text, and `aos.css` starts with `[` like JSON), and never a warning.

use serde::Serialize;

/// What a file that is not an input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotAnInput {
    /// `…_attack-16.1-enterprise.xlsx`: the site's spreadsheet of a mapping file.
    ExcelExport,
    /// `….csv`: the site's CSV of a mapping file.
    CsvExport,
    /// `….yaml`: the site's YAML of a mapping file.
    YamlExport,
    /// `…_json.json`: the site's copy of a mapping file, which would count its dataset twice.
    JsonExport,
    /// `…_stix.json`: the site's STIX bundle of a mapping file.
    StixExport,
    /// `…_navigator_layer.json`: the site's Navigator layer of a mapping file.
    NavigatorLayerExport,
    /// `.css`: a style sheet (`static/vendor/aos/aos.css`).
    StyleSheet,
    /// `.js`, `.mjs`, `.map`: a script or its source map.
    Script,
    /// `.png`, `.svg`, `.ico` …: an image.
    Image,
    /// `.woff2`, `.ttf` …: a font.
    Font,
}

impl NotAnInput {
    /// The kind of a file that is not an input, by its name (`aws-12.12.2024_attack-16.1-enterprise.xlsx`),
    /// or `None` for a file to read and recognize by its content.
    pub fn of_name(name: &str) -> Option<NotAnInput> {
        let name = name.to_ascii_lowercase();
        let suffixes: [(&[&str], NotAnInput); 10] = [
            (&["_json.json"], NotAnInput::JsonExport),
            (&["_stix.json"], NotAnInput::StixExport),
            (&["_navigator_layer.json"], NotAnInput::NavigatorLayerExport),
            (&[".xlsx", ".xls"], NotAnInput::ExcelExport),
            (&[".csv"], NotAnInput::CsvExport),
            (&[".yaml", ".yml"], NotAnInput::YamlExport),
            (&[".css"], NotAnInput::StyleSheet),
            (&[".js", ".mjs", ".map"], NotAnInput::Script),
            (
                &[".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".webp", ".bmp"],
                NotAnInput::Image,
            ),
            (&[".woff", ".woff2", ".ttf", ".otf", ".eot"], NotAnInput::Font),
        ];
        suffixes
            .into_iter()
            .find(|(endings, _)| endings.iter().any(|ending| name.ends_with(ending)))
            .map(|(_, kind)| kind)
    }

    /// `count` files of the kind, as a person reads it (`1 style sheet`, `3 Excel exports`).
    pub fn counted(self, count: usize) -> String {
        let (one, many) = match self {
            NotAnInput::ExcelExport => ("Excel export", "Excel exports"),
            NotAnInput::CsvExport => ("CSV export", "CSV exports"),
            NotAnInput::YamlExport => ("YAML export", "YAML exports"),
            NotAnInput::JsonExport => ("JSON copy of a mapping file", "JSON copies of mapping files"),
            NotAnInput::StixExport => ("STIX export", "STIX exports"),
            NotAnInput::NavigatorLayerExport => ("Navigator layer export", "Navigator layer exports"),
            NotAnInput::StyleSheet => ("style sheet", "style sheets"),
            NotAnInput::Script => ("script", "scripts"),
            NotAnInput::Image => ("image", "images"),
            NotAnInput::Font => ("font", "fonts"),
        };
        format!("{count} {}", if count == 1 { one } else { many })
    }

    /// What a person reads of it (`a site export of a mapping file (Excel)`).
    pub fn description(self) -> &'static str {
        match self {
            NotAnInput::ExcelExport => "a site export of a mapping file (Excel)",
            NotAnInput::CsvExport => "a site export of a mapping file (CSV)",
            NotAnInput::YamlExport => "a site export of a mapping file (YAML)",
            NotAnInput::JsonExport => "a site export of a mapping file (a JSON copy: its mapping file is the input)",
            NotAnInput::StixExport => "a site export of a mapping file (STIX)",
            NotAnInput::NavigatorLayerExport => "a site export of a mapping file (Navigator layer)",
            NotAnInput::StyleSheet => "a style sheet of the site",
            NotAnInput::Script => "a script of the site",
            NotAnInput::Image => "an image of the site",
            NotAnInput::Font => "a font of the site",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sites_exports_and_assets_are_known_by_name() {
        let stem = "data/aws/attack-16.1/aws-12.12.2024/enterprise/aws-12.12.2024_attack-16.1-enterprise";
        let kind = |suffix: &str| NotAnInput::of_name(&format!("{stem}{suffix}"));
        assert_eq!(kind(".json"), None, "the mapping file is an input");
        assert_eq!(kind("_json.json"), Some(NotAnInput::JsonExport));
        assert_eq!(kind("_stix.json"), Some(NotAnInput::StixExport));
        assert_eq!(kind("_navigator_layer.json"), Some(NotAnInput::NavigatorLayerExport));
        assert_eq!(kind(".xlsx"), Some(NotAnInput::ExcelExport));
        assert_eq!(kind(".csv"), Some(NotAnInput::CsvExport));
        assert_eq!(kind(".yaml"), Some(NotAnInput::YamlExport));
        assert_eq!(
            NotAnInput::of_name("static/vendor/aos/aos.css"),
            Some(NotAnInput::StyleSheet)
        );
        assert_eq!(NotAnInput::of_name("static/Logo.PNG"), Some(NotAnInput::Image));
        assert_eq!(NotAnInput::of_name("attack/attack-16.1/index.html"), None);
        assert_eq!(NotAnInput::of_name("data/attack/enterprise-attack-16.1.json"), None);
        assert_eq!(NotAnInput::StyleSheet.counted(1), "1 style sheet");
        assert_eq!(NotAnInput::JsonExport.counted(15), "15 JSON copies of mapping files");
    }
}
