//! Following upstream: by default each framework is published at the newest ATT&CK version the site
//! publishes it for, and the night a framework moves to a newer release is one move, counted by
//! mapping, never a mass removal.

use crate::helpers::*;
use crate::refresh::{code, explain, fixture_site, Job};
use crate::server::TestServer;

const NIST_16_1: &str = "nist_800_53-rev5_attack-16.1-enterprise";
const NIST_17_1: &str = "nist_800_53-rev5_attack-17.1-enterprise";

/// The fixture site, then the same site the night NIST rev5 is also published at ATT&CK 17.1: its
/// framework page advertises 17.1, whose landing page, mapping file, technique index and bundle appear.
fn upstream_moves_nist_to_17_1(server: &TestServer) {
    let moved = fixture("moved");
    for file in files_under(&moved) {
        let path = file.to_string_lossy().replace('\\', "/");
        let path = path.strip_suffix("index.html").unwrap_or(&path);
        server.replace(path, std::fs::read(moved.join(&file)).unwrap());
    }
}

#[test]
fn by_default_each_framework_is_published_at_its_newest_attack_version() {
    let server = fixture_site();
    upstream_moves_nist_to_17_1(&server);
    let job = Job::new();
    let output = job.refresh_from(&server, &["--framework", "nist_800_53", "--timeout", "1"]);
    assert_eq!(code(&output), 0, "{}", explain(&output));
    assert_eq!(job.published_datasets(), [NIST_17_1]);
    let manifest = job.json("manifest.json");
    assert_eq!(manifest["selection"]["latest"], true);
    assert_eq!(
        manifest["framework_releases"],
        serde_json::json!([{"framework": "nist_800_53", "current": "17.1", "older": ["16.1", "14.1"]}])
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("nist_800_53      17.1 (also published: 16.1, 14.1)"),
        "{stdout}"
    );
    let requested: Vec<String> = server.seen().iter().map(|s| s.path.clone()).collect();
    assert!(
        !requested
            .iter()
            .any(|p| p.contains("attack-16.1/domain-enterprise/nist-rev5")),
        "the older release is not fetched: {requested:?}"
    );
    let report = std::fs::read_to_string(job.out().join("report.html")).unwrap();
    assert!(report.contains("<tr><td>nist_800_53</td><td>17.1</td><td>16.1, 14.1</td></tr>"));
}

#[test]
fn a_framework_moving_to_a_newer_attack_release_is_one_move_not_a_mass_removal() {
    let server = fixture_site();
    let job = Job::new();
    let night_1 = job.refresh_from(&server, &["--framework", "nist_800_53", "--timeout", "1"]);
    assert_eq!(code(&night_1), 0, "{}", explain(&night_1));
    assert_eq!(job.published_datasets(), [NIST_16_1]);

    upstream_moves_nist_to_17_1(&server);
    let night_2 = job.refresh_from(&server, &["--framework", "nist_800_53", "--timeout", "1"]);
    assert_eq!(
        code(&night_2),
        0,
        "every mapping is replaced, yet none is lost: {}",
        explain(&night_2)
    );
    assert_eq!(job.published_datasets(), [NIST_17_1], "the old release is retired");

    let changes = job.json("changes.json");
    let moves = changes["moves"].as_array().unwrap();
    assert_eq!(moves.len(), 1, "{changes}");
    let nist = &moves[0];
    assert_eq!(nist["framework"], "nist_800_53");
    assert_eq!(
        (nist["from_attack_version"].as_str(), nist["to_attack_version"].as_str()),
        (Some("16.1"), Some("17.1"))
    );
    assert_eq!(nist["retired"], serde_json::json!([NIST_16_1]));
    assert_eq!(nist["published"], serde_json::json!([NIST_17_1]));
    assert_eq!(nist["changed"], 1, "CM-02's comment was rewritten");
    assert_eq!(nist["added"], 0);
    assert_eq!(nist["removed"], 0);
    let carried = nist["carried"].as_u64().unwrap();
    assert!(carried >= 3, "{nist}");
    assert_eq!(
        changes["removed"].as_u64(),
        Some(carried + 1),
        "by id, every old mapping left"
    );
    let roles: Vec<(&str, &str)> = changes["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["change"].as_str().unwrap(), c["move"].as_str().unwrap_or("none")))
        .collect();
    assert!(
        roles.iter().all(|(_, role)| *role == "carried" || *role == "changed"),
        "{roles:?}"
    );
    let csv = std::fs::read_to_string(job.out().join("changes.csv")).unwrap();
    assert!(csv.lines().next().unwrap().ends_with(",changed_columns,move"), "{csv}");
    assert!(
        csv.lines()
            .any(|l| l.starts_with("removed,") && l.ends_with(",changed")),
        "{csv}"
    );
    let stdout = String::from_utf8_lossy(&night_2.stdout);
    assert!(
        stdout.contains(&format!(
            "moved nist_800_53 enterprise 16.1 → 17.1: {carried} carried, 1 changed, 0 added, 0 removed"
        )),
        "{stdout}"
    );
    let report = std::fs::read_to_string(job.out().join("report.html")).unwrap();
    assert!(report.contains("Frameworks moved to a newer ATT&amp;CK release"));
}

#[test]
fn a_move_whose_new_release_failed_keeps_the_old_one_published_with_a_warning() {
    let server = fixture_site();
    let job = Job::new();
    let night_1 = job.refresh_from(&server, &["--framework", "nist_800_53", "--timeout", "1"]);
    assert_eq!(code(&night_1), 0, "{}", explain(&night_1));

    upstream_moves_nist_to_17_1(&server);
    server.fail_always(
        "data/nist_800_53/attack-17.1/nist_800_53-rev5/enterprise/nist_800_53-rev5_attack-17.1-enterprise.json",
        crate::server::Fault::Status(500),
    );
    server.fail_always(
        "external/nist/attack-17.1/domain-enterprise/nist-rev5/",
        crate::server::Fault::Status(500),
    );
    let night_2 = job.refresh_from(
        &server,
        &["--framework", "nist_800_53", "--timeout", "1", "--allow-partial"],
    );
    assert_eq!(code(&night_2), 3, "{}", explain(&night_2));
    assert_eq!(job.published_datasets(), [NIST_16_1], "the old release stays");
    let manifest = job.json("manifest.json");
    let held_back = manifest["held_back"][0].as_str().unwrap();
    assert!(held_back.starts_with("nist_800_53 stays at ATT&CK 16.1"), "{held_back}");
}

/// The real site as a full rendering serves it: `site/` with its framework pages and the 15.1 and
/// 17.1 releases (`site-next/`) laid over it, and every ATT&CK bundle at `data/attack/`.
fn the_real_site_with_every_release() -> Option<TestServer> {
    let mut roots = vec![shared("site-next")?];
    roots.extend(shared_site_as_served()?);
    let server = TestServer::serving(&roots);
    server.mount("data/attack/", shared("attack")?);
    Some(server)
}

#[test]
fn the_default_refresh_of_the_real_site_publishes_every_framework_at_its_newest_release() {
    let Some(server) = the_real_site_with_every_release() else {
        return;
    };
    let job = Job::new();
    let output = job.refresh_from(&server, &["--concurrency", "8"]);
    assert_eq!(
        code(&output),
        0,
        "a healthy night of the real site: {}",
        explain(&output)
    );
    let published = job.published_datasets();
    let at = |framework: &str| -> Vec<&str> {
        published
            .iter()
            .filter(|d| d.starts_with(&format!("{framework}-")))
            .map(|d| d.rsplit_once("_attack-").unwrap().1)
            .collect()
    };
    assert_eq!(published.len(), 13, "{published:?}");
    assert_eq!(at("csa_ccm"), ["17.1-enterprise"]);
    assert_eq!(at("intel-vpro"), ["15.1-enterprise"]);
    assert_eq!(at("kev"), ["16.1-enterprise", "16.1-mobile"]);
    assert_eq!(at("veris"), ["16.1-enterprise", "16.1-ics", "16.1-mobile"]);
    assert_eq!(
        at("nist_800_53"),
        ["16.1-enterprise"],
        "rev4 stopped at 14.1 and left with it"
    );
    let releases = &job.json("manifest.json")["framework_releases"];
    let kev = releases
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["framework"] == "kev")
        .unwrap();
    assert_eq!(kev["current"], "16.1");
    assert_eq!(kev["older"], serde_json::json!(["15.1"]));
}

/// `html` without the table rows that link to `needle`.
fn without_rows_linking_to(html: &str, needle: &str) -> String {
    let mut kept = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find("<tr>") {
        let end = rest[start..]
            .find("</tr>")
            .map_or(rest.len(), |e| start + e + "</tr>".len());
        kept.push_str(&rest[..start]);
        if !rest[start..end].contains(needle) {
            kept.push_str(&rest[start..end]);
        }
        rest = &rest[end..];
    }
    kept.push_str(rest);
    kept
}

/// The real site the night before KEV 07.28.2025 (ATT&CK 16.1) was published: its selector entries,
/// landing pages, mapping files and technique-page rows absent; KEV's newest release is 15.1.
fn the_real_site_before_kev_moved_to_16_1() -> Option<TestServer> {
    let server = the_real_site_with_every_release()?;
    let kev_page = std::fs::read_to_string(shared("site-frameworks")?.join("external/kev/index.html")).unwrap();
    let selector_16_1 = regex::Regex::new(r"\(&#39;07\.28\.2025&#39;, &#39;16\.1&#39;, &#39;\w+&#39;\), ").unwrap();
    server.replace(
        "external/kev/",
        selector_16_1.replace_all(&kev_page, "").into_owned().into_bytes(),
    );
    let techniques = shared("site")?.join("attack/attack-16.1/domain-enterprise/techniques");
    for page in files_under(&techniques) {
        let html = std::fs::read_to_string(techniques.join(&page)).unwrap();
        if html.contains("external/kev/attack-16.1") {
            let path = format!(
                "attack/attack-16.1/domain-enterprise/techniques/{}",
                page.to_string_lossy()
            );
            let path = path.strip_suffix("index.html").unwrap();
            server.replace(
                path,
                without_rows_linking_to(&html, "external/kev/attack-16.1").into_bytes(),
            );
        }
    }
    for domain in ["enterprise", "mobile"] {
        let file = format!("data/kev/attack-16.1/kev-07.28.2025/{domain}/kev-07.28.2025_attack-16.1-{domain}.json");
        server.fail_always(&file, crate::server::Fault::Status(404));
        let landing = format!("external/kev/attack-16.1/domain-{domain}/kev-07.28.2025/");
        server.fail_always(&landing, crate::server::Fault::Status(404));
    }
    Some(server)
}

#[test]
fn the_night_kev_moves_from_15_1_to_16_1_on_the_real_site_is_one_move_per_domain() {
    let Some(night_1) = the_real_site_before_kev_moved_to_16_1() else {
        return;
    };
    let job = Job::new();
    let kev = ["--framework", "kev", "--concurrency", "8"];
    let output = job.refresh_from(&night_1, &kev);
    assert_eq!(code(&output), 0, "{}", explain(&output));
    assert_eq!(
        job.published_datasets(),
        [
            "kev-02.13.2025_attack-15.1-enterprise",
            "kev-02.13.2025_attack-15.1-mobile"
        ]
    );

    let Some(night_2) = the_real_site_with_every_release() else {
        return;
    };
    let output = job.refresh_from(&night_2, &kev);
    assert_eq!(code(&output), 0, "{}", explain(&output));
    assert_eq!(
        job.published_datasets(),
        [
            "kev-07.28.2025_attack-16.1-enterprise",
            "kev-07.28.2025_attack-16.1-mobile"
        ]
    );
    let changes = job.json("changes.json");
    let moves = changes["moves"].as_array().unwrap();
    let domains: Vec<&str> = moves.iter().map(|m| m["domain"].as_str().unwrap()).collect();
    assert_eq!(domains, ["enterprise", "mobile"], "{moves:?}");
    for moved in moves {
        assert_eq!(
            (
                moved["from_attack_version"].as_str(),
                moved["to_attack_version"].as_str()
            ),
            (Some("15.1"), Some("16.1"))
        );
        assert!(moved["carried"].as_u64().unwrap() > 0, "{moved}");
        println!("KEV moved: {moved}");
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("moved kev enterprise 15.1 → 16.1"), "{stdout}");
}

#[test]
fn a_refresh_carrying_to_a_release_fetches_that_releases_bundle_from_the_site() {
    let server = fixture_site();
    let bundle = "data/attack/enterprise-attack-17.1.json";
    server.replace(bundle, std::fs::read(fixture("moved").join(bundle)).unwrap());
    let job = Job::new();
    let output = job.refresh_from(
        &server,
        &[
            "--framework",
            "nist_800_53",
            "--attack-version",
            "16.1",
            "--carry-to",
            "17.1",
        ],
    );
    assert_eq!(code(&output), 0, "{}", explain(&output));
    assert!(server.seen().iter().any(|s| s.path == bundle && s.status == 200));
    assert_eq!(job.published_datasets(), [NIST_16_1, NIST_17_1]);
    assert_eq!(job.json("report.json")["carry"]["derived"][0]["dataset"], NIST_17_1);
}
