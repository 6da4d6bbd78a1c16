//! Carrying rows between two hand-made releases.

use super::*;
use crate::test_support::MappingRowBuilder;

/// A release of Enterprise techniques, each given as (id, name, tactic, status).
fn release(version: &str, techniques: &[(&str, &str, &str, Status)]) -> Release {
    Release {
        version: version.into(),
        domain: "enterprise".into(),
        techniques: techniques
            .iter()
            .map(|(id, name, tactic, status)| {
                let technique = ReleaseTechnique {
                    name: name.to_string(),
                    tactics: vec![tactic.to_string()],
                    revoked: matches!(status, Status::RevokedBy(_) | Status::Revoked),
                    revoked_by: match status {
                        Status::RevokedBy(by) => Some(by.to_string()),
                        _ => None,
                    },
                    deprecated: matches!(status, Status::Deprecated),
                    own_domain: true,
                };
                (id.to_string(), technique)
            })
            .collect(),
    }
}

#[derive(Clone, Copy)]
enum Status {
    Live,
    RevokedBy(&'static str),
    Revoked,
    Deprecated,
}
use Status::*;

fn source() -> Release {
    release(
        "15.1",
        &[
            ("T1001", "Data Obfuscation", "command-and-control", Live),
            ("T1002", "Data Compressed", "exfiltration", Live),
            ("T1003", "Credential Dumping", "credential-access", Live),
            ("T1004", "Old Thing", "persistence", Live),
            ("T1005", "Gone Thing", "collection", Live),
            ("T1006", "Chained", "execution", Live),
            ("T1007", "Moving", "discovery", Live),
            ("T1008", "Old Name", "impact", Live),
        ],
    )
}

fn target() -> Release {
    release(
        "18.1",
        &[
            ("T1001", "Data Obfuscation", "command-and-control", Live),
            ("T1002", "Data Compressed", "exfiltration", RevokedBy("T1560")),
            ("T1560", "Archive Collected Data", "collection", Live),
            (
                "T1003",
                "Credential Dumping",
                "credential-access",
                RevokedBy("T1555.001"),
            ),
            ("T1555.001", "Keychain", "credential-access", Live),
            ("T1004", "Old Thing", "persistence", Deprecated),
            ("T1005", "Gone Thing", "collection", Revoked),
            ("T1006", "Chained", "execution", RevokedBy("T1900")),
            ("T1900", "Middle", "execution", RevokedBy("T1901")),
            ("T1901", "End Of Chain", "execution", Live),
            ("T1007", "Moving", "defense-evasion", Live),
            ("T1008", "New Name", "impact", Live),
            ("T1999", "Brand New", "impact", Live),
        ],
    )
}

fn mitigates(control: &str, technique: &str) -> MappingRow {
    MappingRowBuilder::new("nist_800_53", "rev5")
        .capability(control)
        .technique(technique)
        .mapping_type("mitigates")
        .comment(&format!("{control} against {technique}"))
        .build()
}

fn carried_as(rows: &[MappingRow], control: &str) -> (String, CarryKind, Vec<AttackChange>) {
    let row = rows
        .iter()
        .find(|r| r.capability_id.as_deref() == Some(control))
        .unwrap_or_else(|| panic!("no carried row of {control}"));
    let carry = row.carry.clone().expect("a derived row says how it was carried");
    (
        row.attack_object_id.as_deref().unwrap().to_string(),
        carry.kind,
        carry.attack_changes,
    )
}

#[test]
fn each_row_says_how_it_was_carried_and_keeps_its_original_technique() {
    let official: Vec<MappingRow> = [
        ("AC-01", "T1001"),
        ("AC-02", "T1002"),
        ("AC-03", "T1003"),
        ("AC-04", "T1004"),
        ("AC-05", "T1005"),
        ("AC-06", "T1006"),
        ("AC-07", "T1007"),
        ("AC-08", "T1008"),
        ("AC-09", "T1234"),
    ]
    .iter()
    .map(|(c, t)| mitigates(c, t))
    .collect();
    let derived = carry_dataset(&official, &source(), &target());
    let rows = &derived.rows;
    assert_eq!(rows.len(), official.len(), "every row once");
    assert!(rows.iter().all(|r| &*r.attack_version == "18.1"));
    assert_eq!(
        carried_as(rows, "AC-01"),
        ("T1001".into(), CarryKind::Unchanged, vec![])
    );
    assert_eq!(
        carried_as(rows, "AC-02"),
        ("T1560".into(), CarryKind::Replaced, vec![AttackChange::MovedTactic]),
        "revoked-by names the replacement, whose tactic differs"
    );
    assert_eq!(
        carried_as(rows, "AC-03"),
        (
            "T1555.001".into(),
            CarryKind::Replaced,
            vec![AttackChange::BecameSubTechnique]
        ),
        "a technique revoked by a sub-technique became one"
    );
    assert_eq!(
        carried_as(rows, "AC-04"),
        ("T1004".into(), CarryKind::DroppedDeprecated, vec![])
    );
    assert_eq!(
        carried_as(rows, "AC-05"),
        ("T1005".into(), CarryKind::DroppedRevoked, vec![])
    );
    assert_eq!(
        carried_as(rows, "AC-06"),
        ("T1901".into(), CarryKind::Replaced, vec![]),
        "the revoked-by chain is followed to a live technique"
    );
    assert_eq!(
        carried_as(rows, "AC-07"),
        ("T1007".into(), CarryKind::Unchanged, vec![AttackChange::MovedTactic])
    );
    assert_eq!(
        carried_as(rows, "AC-08"),
        ("T1008".into(), CarryKind::Unchanged, vec![AttackChange::Renamed])
    );
    assert_eq!(
        carried_as(rows, "AC-09"),
        ("T1234".into(), CarryKind::DroppedUnknown, vec![])
    );
    let replaced = rows
        .iter()
        .find(|r| r.capability_id.as_deref() == Some("AC-02"))
        .unwrap();
    let carry = replaced.carry.as_ref().unwrap();
    assert_eq!(carry.original_technique.as_deref(), Some("T1002"));
    assert_eq!(carry.derived_from, "15.1");
    assert_eq!(replaced.attack_object_name.as_deref(), Some("Archive Collected Data"));
    assert!(derived.folded.is_empty());
}

#[test]
fn a_revoked_by_loop_or_a_chain_ending_deprecated_is_dropped_not_followed_forever() {
    let target = release(
        "18.1",
        &[
            ("T1001", "A", "impact", RevokedBy("T1002")),
            ("T1002", "B", "impact", RevokedBy("T1001")),
            ("T1003", "C", "impact", RevokedBy("T1004")),
            ("T1004", "D", "impact", Deprecated),
        ],
    );
    let derived = carry_dataset(
        &[mitigates("AC-01", "T1001"), mitigates("AC-03", "T1003")],
        &source(),
        &target,
    );
    assert_eq!(carried_as(&derived.rows, "AC-01").1, CarryKind::DroppedRevoked);
    assert_eq!(carried_as(&derived.rows, "AC-03").1, CarryKind::DroppedRevoked);
}

#[test]
fn a_replacement_equal_to_a_row_already_there_is_folded_into_it_not_doubled() {
    let official = [mitigates("AC-02", "T1002"), mitigates("AC-02", "T1560")];
    let derived = carry_dataset(&official, &source(), &target());
    assert_eq!(derived.rows.len(), 1);
    let kept = &derived.rows[0];
    assert_eq!(
        kept.carry.as_ref().unwrap().kind,
        CarryKind::Unchanged,
        "the unchanged row is kept"
    );
    assert_eq!(
        kept.comments.iter().map(|c| &**c).collect::<Vec<_>>(),
        ["AC-02 against T1560", "AC-02 against T1002"],
        "both comments kept"
    );
    assert_eq!(kept.occurrences, 2);
    assert_eq!(derived.folded.len(), 1);
    assert_eq!(derived.folded[0].original_technique.as_deref(), Some("T1002"));
}

#[test]
fn the_review_list_is_the_live_techniques_new_in_the_target() {
    let dataset = DatasetKey {
        framework: "nist_800_53".into(),
        framework_version: "rev5".into(),
        attack_version: "18.1".into(),
        domain: "enterprise".into(),
    };
    let review: Vec<String> = review_list(&dataset, &source(), &target())
        .into_iter()
        .map(|r| r.technique_id)
        .collect();
    assert_eq!(
        review,
        ["T1555.001", "T1560", "T1901", "T1999"],
        "T1900 is revoked: not live"
    );
}

fn key(framework: &str, version: &str, attack: &str) -> DatasetKey {
    DatasetKey {
        framework: framework.into(),
        framework_version: version.into(),
        attack_version: attack.into(),
        domain: "enterprise".into(),
    }
}

#[test]
fn the_official_dataset_at_the_target_wins_and_the_newest_older_one_is_carried() {
    let datasets = [
        key("nist_800_53", "rev5", "14.1"),
        key("nist_800_53", "rev5", "16.1"),
        key("csa_ccm", "4.1", "17.1"),
        key("csa_ccm", "4.1", "18.1"),
        key("kev", "07.28.2025", "9.0"),
        key("intel-vpro", "08.20.2024", "15.1"),
    ];
    let known = |version: &str, _: &str| version != "15.1";
    let plan = plan(&datasets, "18.1", &known);
    let derived: Vec<String> = plan.derivations.iter().map(|d| d.derived.to_string()).collect();
    assert_eq!(
        derived,
        [
            "kev-07.28.2025_attack-18.1-enterprise",
            "nist_800_53-rev5_attack-18.1-enterprise"
        ],
        "9.0 is older than 18.1 as numbers"
    );
    assert_eq!(plan.derivations[1].source.attack_version, "16.1");
    assert_eq!(plan.official_at_target.len(), 1);
    assert_eq!(plan.official_at_target[0].dataset, "csa_ccm-4.1_attack-18.1-enterprise");
    assert_eq!(plan.official_at_target[0].older_versions, ["17.1"]);
    let not_carried: Vec<(&str, bool)> = plan
        .not_carried
        .iter()
        .map(|n| (n.dataset.as_str(), n.is_warning()))
        .collect();
    assert_eq!(
        not_carried,
        [
            ("intel-vpro-08.20.2024_attack-15.1-enterprise", true),
            ("nist_800_53-rev5_attack-14.1-enterprise", false)
        ]
    );
}
