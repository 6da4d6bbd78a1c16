//! Bad input: each a clear error naming the file and element, or a reported skip — nothing else lost.

use crate::helpers::*;

fn assert_fails_naming(file: &str, words: &[&str]) {
    let built = build(&[fixture(file)]);
    assert_eq!(built.code, 1, "{file} fails the run\nstderr: {}", built.stderr);
    for word in words.iter().chain(&[file.rsplit('/').next().unwrap()]) {
        assert!(
            built.stderr.contains(word),
            "the error names {word:?}: {}",
            built.stderr
        );
    }
    assert!(
        !built.file("mappings.csv").exists(),
        "nothing is written after a failed read"
    );
}

#[test]
fn an_empty_file_is_an_error_naming_it() {
    assert_fails_naming("bad/empty.html", &["is empty"]);
}

#[test]
fn a_truncated_page_is_an_error_naming_it() {
    assert_fails_naming("bad/truncated-technique-page.html", &["truncated", "</html>"]);
}

#[test]
fn a_mapping_file_with_a_wrong_type_names_the_element_and_what_was_expected() {
    assert_fails_naming(
        "bad/wrong-type.json",
        &[
            "mapping_objects[1].score_value",
            "expected a string or null, found a number",
        ],
    );
}

#[test]
fn a_mapping_file_missing_a_required_field_names_it() {
    assert_fails_naming(
        "bad/missing-field.json",
        &["mapping_objects[0].mapping_type", "missing"],
    );
}

#[test]
fn a_mapping_file_missing_metadata_names_it() {
    assert_fails_naming("bad/metadata-missing.json", &["metadata.attack_version", "missing"]);
}

#[test]
fn pages_and_documents_of_other_kinds_are_reported_and_skipped() {
    let built = build(&[
        fixture("bad/other-site.html"),
        fixture("bad/not-mapex.json"),
        fixture("mapping-files"),
    ]);
    assert_eq!(built.code, 3, "skips are warnings\nstdout: {}", built.stdout);
    let report = built.report();
    assert_eq!(report["inputs"]["skipped"], 2);
    let reasons: Vec<&str> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("not from the Mappings Explorer")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("neither a mapping file")),
        "{reasons:?}"
    );
    assert!(built.stdout.contains("skipped"), "{}", built.stdout);
    assert_eq!(built.table().height(), 5, "the good input is still built");
}

#[test]
fn a_missing_input_is_an_error_naming_it() {
    let built = build(&[fixture("no/such/file.html")]);
    assert_eq!(built.code, 1);
    assert!(built.stderr.contains("no/such/file.html"), "{}", built.stderr);
}

#[test]
fn bad_usage_exits_with_two() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_attackmap"))
        .args(["build", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}
