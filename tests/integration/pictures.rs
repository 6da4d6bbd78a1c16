//! The pictures and the run report: each SVG heatmap colors exactly what its layer colors, in the
//! layer's colors; report.html links every output; and upstream text in either is data, never markup
//! (nor, on the terminal, an escape sequence).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::helpers::*;

/// The sample's ATT&CK bundles (ours, in raw/), an input like any: the matrix the fixtures' heatmaps
/// are drawn on.
fn sample_bundles() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("raw/data/attack")
}

fn read(built: &Built, name: &str) -> String {
    String::from_utf8(built.bytes(name)).unwrap()
}

/// The techniques a layer colors (a score or a color on an enabled entry).
fn colored_in_layer(layer: &serde_json::Value) -> BTreeSet<String> {
    layer["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["enabled"] != false && (t["score"].is_number() || t["color"].is_string()))
        .map(|t| t["techniqueID"].as_str().unwrap().to_string())
        .collect()
}

/// The SVG's cells: (technique, tactic column, fill, colored), read with an XML parser.
fn cells(svg: &str) -> Vec<(String, String, String, bool)> {
    let document = roxmltree::Document::parse(svg).expect("the heatmap is well-formed XML");
    assert_eq!(document.root_element().tag_name().name(), "svg");
    document
        .descendants()
        .filter(|n| {
            n.attribute("class")
                .is_some_and(|c| c.split(' ').any(|w| w == "technique"))
        })
        .map(|cell| {
            let id = cell.attribute("id").unwrap().strip_prefix("cell-").unwrap();
            let (technique, column) = id.split_once('-').unwrap();
            let fill = cell
                .children()
                .find(|c| c.has_tag_name("rect"))
                .and_then(|r| r.attribute("fill"))
                .unwrap()
                .to_string();
            let colored = cell.attribute("class").unwrap().contains("colored");
            (technique.to_string(), column.to_string(), fill, colored)
        })
        .collect()
}

/// The color Navigator gives `score` on the layer's two-color gradient: linear in RGB.
fn gradient_color(layer: &serde_json::Value, score: f64) -> String {
    let colors: Vec<&str> = layer["gradient"]["colors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(colors.len(), 2, "attackmap's gradients have two colors");
    let (low, high) = (
        layer["gradient"]["minValue"].as_f64().unwrap(),
        layer["gradient"]["maxValue"].as_f64().unwrap(),
    );
    let t = ((score - low) / (high - low)).clamp(0.0, 1.0);
    let channel = |color: &str, i: usize| f64::from(u8::from_str_radix(&color[1 + 2 * i..3 + 2 * i], 16).unwrap());
    let mixed: Vec<String> = (0..3)
        .map(|i| {
            let (a, b) = (channel(colors[0], i), channel(colors[1], i));
            format!("{:02x}", (a + (b - a) * t).round() as u8)
        })
        .collect();
    format!("#{}", mixed.concat())
}

fn assert_heatmaps_match_their_layers(built: &Built) -> usize {
    let layers: Vec<PathBuf> = files_under(&built.out.path().join("navigator"));
    assert!(!layers.is_empty());
    for layer_file in &layers {
        let name = layer_file.to_string_lossy();
        let layer: serde_json::Value = serde_json::from_slice(&built.bytes(&format!("navigator/{name}"))).unwrap();
        let svg = read(built, &format!("heatmaps/{}", name.replace(".json", ".svg")));
        let cells = cells(&svg);
        let colored: BTreeSet<String> = cells.iter().filter(|c| c.3).map(|c| c.0.clone()).collect();
        assert_eq!(
            colored,
            colored_in_layer(&layer),
            "{name}: the colored cells are the layer's techniques"
        );
        for entry in layer["techniques"].as_array().unwrap() {
            let id = entry["techniqueID"].as_str().unwrap();
            let expected = match (entry["color"].as_str(), entry["score"].as_f64()) {
                (Some(color), _) => color.to_string(),
                (None, Some(score)) => gradient_color(&layer, score),
                (None, None) => continue,
            };
            for cell in cells.iter().filter(|c| c.0 == id) {
                assert_eq!(cell.2, expected, "{name}: {id} under {}", cell.1);
            }
        }
    }
    layers.len()
}

#[test]
fn each_heatmap_colors_exactly_what_its_layer_colors_in_its_colors() {
    let built = build(&[fixture("site"), fixture("mapping-files"), sample_bundles()]);
    assert!(built.code == 0 || built.code == 3, "{}", built.stderr);
    assert!(assert_heatmaps_match_their_layers(&built) >= 4);
    let nist = read(&built, "heatmaps/nist_800_53-rev5_attack-16.1-enterprise.svg");
    let t1562: Vec<_> = cells(&nist).into_iter().filter(|c| c.0 == "T1562").collect();
    assert_eq!(t1562.len(), 1, "T1562 has one cell: its one tactic, defense evasion");
    assert!(t1562[0].3, "the NIST layer colors T1562");
    assert!(
        nist.contains("techniques colored of 18 in the ATT&amp;CK matrix"),
        "the sample's 18 techniques"
    );
}

#[test]
fn the_snapshots_heatmaps_color_what_their_layers_color_t1562_in_nist_included() {
    let Some(site) = shared("site") else { return };
    let built = build(&[site]);
    assert!(built.code == 0 || built.code == 3, "{}", built.stderr);
    assert_eq!(assert_heatmaps_match_their_layers(&built), 19);
    let layer: serde_json::Value =
        serde_json::from_slice(&built.bytes("navigator/nist_800_53-rev5_attack-16.1-enterprise.json")).unwrap();
    let t1562 = layer["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["techniqueID"] == "T1562")
        .unwrap();
    let nist = read(&built, "heatmaps/nist_800_53-rev5_attack-16.1-enterprise.svg");
    let cell = cells(&nist).into_iter().find(|c| c.0 == "T1562").unwrap();
    assert_eq!(cell.1, "defense-evasion");
    assert_eq!(cell.2, gradient_color(&layer, t1562["score"].as_f64().unwrap()));
}

#[test]
fn without_a_catalogue_a_heatmap_is_a_grid_of_the_layers_techniques_and_says_so() {
    let built = build(&[fixture("site")]);
    assert_heatmaps_match_their_layers(&built);
    let nist = read(&built, "heatmaps/nist_800_53-rev5_attack-16.1-enterprise.svg");
    assert!(nist.contains("No ATT&amp;CK catalogue for this version and domain"));
}

#[test]
fn the_report_links_every_output_by_a_relative_path_that_exists() {
    let built = build(&[fixture("site"), sample_bundles()]);
    let report = scraper::Html::parse_document(&read(&built, "report.html"));
    let links: Vec<String> = report
        .select(&scraper::Selector::parse("a[href]").unwrap())
        .map(|a| a.value().attr("href").unwrap().to_string())
        .filter(|href| !href.starts_with("http"))
        .collect();
    for file in files_under(built.out.path()) {
        let file = file.to_string_lossy().into_owned();
        if file != "report.html" && !file.starts_with("warehouse/changes/") {
            let encoded = file.replace('=', "%3D");
            assert!(links.contains(&encoded), "report.html links {file}: {links:?}");
        }
    }
}

const HOSTILE: &[&str] = &["<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "]]>"];

#[test]
fn hostile_upstream_text_is_shown_literally_and_never_interpreted() {
    let built = build(&[fixture("hostile"), sample_bundles()]);
    assert_eq!(
        built.code, 3,
        "a row with a hostile technique id is rejected: {}",
        built.stderr
    );
    for (stream, text) in [("stdout", &built.stdout), ("stderr", &built.stderr)] {
        assert!(
            !text.contains('\u{1b}'),
            "no raw ESC on the terminal's {stream}: {text}"
        );
    }
    let report: serde_json::Value = serde_json::from_slice(&built.bytes("report.json")).unwrap();
    assert!(
        report["rejected"][0]["reason"]
            .as_str()
            .unwrap()
            .contains(r#"found "T1562\u{1b}[31m""#),
        "the rejection names the id, escaped: {report}"
    );

    let html = read(&built, "report.html");
    let report = scraper::Html::parse_document(&html);
    let every = scraper::Selector::parse("*").unwrap();
    for element in report.select(&every) {
        assert_ne!(element.value().name(), "script");
        for (attribute, _) in element.value().attrs() {
            assert!(
                !attribute.starts_with("on"),
                "an {attribute} attribute on <{}>",
                element.value().name()
            );
        }
    }
    for link in report.select(&scraper::Selector::parse("a[href]").unwrap()) {
        let href = link.value().attr("href").unwrap();
        assert!(!href.contains(':') || href.starts_with("https://"), "{href}");
        if href.starts_with("https://") {
            assert_eq!(link.value().attr("rel"), Some("noopener noreferrer"));
        }
    }
    let csp = scraper::Selector::parse(r#"meta[http-equiv="Content-Security-Policy"]"#).unwrap();
    let policy = report.select(&csp).next().unwrap().value().attr("content").unwrap();
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
    let text: String = report.root_element().text().collect();
    for hostile in HOSTILE.iter().chain(&["javascript:alert(1)"]) {
        assert!(text.contains(hostile), "report.html shows {hostile} as text");
    }

    for file in files_under(&built.out.path().join("heatmaps")) {
        let file = file.to_string_lossy().into_owned();
        let svg = read(&built, &format!("heatmaps/{file}"));
        let document = roxmltree::Document::parse(&svg).expect("well-formed XML");
        assert!(!document.descendants().any(|n| n.has_tag_name("script")));
        let text: String = document.descendants().filter_map(|n| n.text()).collect();
        if file.starts_with("hostile_framework") {
            for hostile in HOSTILE {
                assert!(text.contains(hostile), "the heatmap shows {hostile} as text");
            }
        }
    }
}

#[test]
fn the_readmes_picture_is_the_samples_nist_heatmap_as_the_build_draws_it() {
    let built = build(&[Path::new(env!("CARGO_MANIFEST_DIR")).join("raw")]);
    let drawn = built.bytes("heatmaps/nist_800_53-rev5_attack-16.1-enterprise.svg");
    let committed =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/images/sample-heatmap.svg")).unwrap();
    assert!(
        drawn == committed,
        "docs/images/sample-heatmap.svg is stale: `make docs-picture` redraws it"
    );
}
