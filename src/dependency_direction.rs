//! The project's rule that dependencies point one way, held by a test: the sources, transforms,
//! model, table, change list and sinks take plain data and never name the pipeline, `refresh` or
//! the CLI that call them.

use std::path::Path;

/// The modules that call the others, and so must not be called back.
const CALLERS: &[&str] = &["pipeline", "refresh", "cli"];
/// The modules, under `src/`, that must not name a caller.
const CALLED: &[&str] = &["sources", "transforms", "model", "sinks", "table", "changes.rs"];

/// The first segments of the paths that follow each `crate::` of `code` (comments removed): `sinks`
/// for `crate::sinks::csv`, and `model` and `table` for `crate::{model::Text, table}`.
fn crate_paths(code: &str) -> Vec<String> {
    let code: String = code
        .lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<String>()
        .split_whitespace()
        .collect();
    let mut first_segments = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let paths = match rest.strip_prefix('{') {
            Some(group) => top_level_items(group),
            None => vec![rest],
        };
        for path in paths {
            let segment: String = path.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !segment.is_empty() {
                first_segments.push(segment);
            }
        }
    }
    first_segments
}

/// The comma-separated items of a `{…}` group whose opening brace `group` follows, nested groups
/// kept whole.
fn top_level_items(group: &str) -> Vec<&str> {
    let (mut items, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(&group[start..i]);
                return items;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&group[start..]);
    items
}

#[test]
fn sources_transforms_model_and_sinks_name_no_pipeline_refresh_or_cli() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut callbacks = Vec::new();
    for called in CALLED {
        for file in walkdir::WalkDir::new(src.join(called)).sort_by_file_name() {
            let file = file.expect("a readable source tree");
            if file.path().extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let code = std::fs::read_to_string(file.path()).expect("a readable source file");
            for path in crate_paths(&code) {
                if CALLERS.contains(&path.as_str()) {
                    callbacks.push(format!("{} names crate::{path}", file.path().display()));
                }
            }
        }
    }
    assert!(callbacks.is_empty(), "{callbacks:#?}");
}

#[test]
fn crate_paths_are_read_through_groups_and_past_comments() {
    let code = "//! See [`crate::pipeline`].\nuse crate::{\n    model::{Text, cli},\n    refresh::Changes,\n};\nlet x = crate::cli::run(); // crate::table\n";
    assert_eq!(crate_paths(code), ["model", "refresh", "cli"]);
}
