//! Secrets stay secret: a mirror's credentials come from ATTACKMAP_HTTP_USER and
//! ATTACKMAP_HTTP_PASSWORD, go to its host only and never in clear over the network, and a URL with
//! credentials in it is refused (exit 2) before anything is requested or written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::helpers::*;
use crate::refresh::{code, explain, fixture_site, Job};
use crate::server::{basic_authorization, TestServer};

const USER: &str = "mirror-user";
const PASSWORD: &str = "s3cret-Pw-7Q";

/// `http://127.0.0.1:port/` as `http://mirror-user:s3cret-Pw-7Q@127.0.0.1:port/`.
fn with_credentials(url: &str) -> String {
    url.replacen("://", &format!("://{USER}:{PASSWORD}@"), 1)
}

/// `attackmap <args>` run in `dir` with these variables, and none of the credential variables
/// the test does not give.
fn attackmap_in(dir: &Path, args: &[&str], variables: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_attackmap"));
    command.current_dir(dir).env("CI", "true").args(args);
    for name in ["ATTACKMAP_HTTP_USER", "ATTACKMAP_HTTP_PASSWORD", "ATTACKMAP_BASE_URL"] {
        command.env_remove(name);
    }
    command.envs(variables.iter().copied());
    command.output().expect("the attackmap binary runs")
}

/// The files under `dir` that hold the password, in clear or in a basic-auth header.
fn files_holding_the_password(dir: &Path) -> Vec<PathBuf> {
    let header = basic_authorization(USER, PASSWORD);
    let encoded = header.trim_start_matches("Basic ");
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(dir).into_iter().flatten() {
        if entry.file_type().is_file() {
            let text = String::from_utf8_lossy(&std::fs::read(entry.path()).unwrap()).into_owned();
            if text.contains(PASSWORD) || text.contains(encoded) {
                found.push(entry.path().to_path_buf());
            }
        }
    }
    found
}

fn printed(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn a_url_with_credentials_is_refused_by_every_command_before_anything_is_requested_or_written() {
    let server = fixture_site();
    let base = with_credentials(&server.base_url);
    let template = format!("{base}{{domain}}-attack-{{version}}.json");
    let in_the_file = format!("base_url = \"{base}\"\n");
    type Variables<'a> = Vec<(&'a str, &'a str)>;
    let cases: [(&str, Vec<&str>, Variables, Option<&str>); 6] = [
        ("refresh --base-url", vec!["refresh", "--base-url", &base], vec![], None),
        ("fetch --base-url", vec!["fetch", "--base-url", &base], vec![], None),
        (
            "refresh --offline --base-url",
            vec!["refresh", "--offline", "--base-url", &base],
            vec![],
            None,
        ),
        (
            "ATTACKMAP_BASE_URL",
            vec!["refresh"],
            vec![("ATTACKMAP_BASE_URL", &base)],
            None,
        ),
        (
            "base_url in attackmap.toml",
            vec!["refresh"],
            vec![],
            Some(&in_the_file),
        ),
        (
            "--attack-url",
            vec!["refresh", "--base-url", &server.base_url, "--attack-url", &template],
            vec![],
            None,
        ),
    ];
    for (case, args, variables, config) in cases {
        let dir = tempfile::tempdir().unwrap();
        if let Some(config) = config {
            std::fs::write(dir.path().join("attackmap.toml"), config).unwrap();
        }
        let output = attackmap_in(dir.path(), &args, &variables);
        assert_eq!(code(&output), 2, "{case}: bad usage\n{}", explain(&output));
        let printed = printed(&output);
        assert!(
            printed.contains("ATTACKMAP_HTTP_USER and ATTACKMAP_HTTP_PASSWORD"),
            "{case}: the message names the variables to use\n{printed}"
        );
        assert!(
            !printed.contains(PASSWORD),
            "{case}: the password is never echoed\n{printed}"
        );
        assert!(
            !dir.path().join("out").exists() && !dir.path().join("raw").exists(),
            "{case}: nothing written"
        );
        assert!(server.seen().is_empty(), "{case}: nothing requested");
    }
}

#[test]
fn a_mirror_behind_basic_auth_is_fetched_with_the_variables_and_the_password_is_written_nowhere() {
    assert_eq!(
        basic_authorization("Aladdin", "open sesame"),
        "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
        "RFC 7617's example"
    );
    let site = TestServer::serving(&[fixture("served"), fixture("site")]);
    site.require_basic_auth(USER, PASSWORD);
    let attack = TestServer::serving(&[Path::new(env!("CARGO_MANIFEST_DIR")).join("raw/data/attack")]);
    let template = format!("{}{{domain}}-attack-{{version}}.json", attack.base_url);
    let args = [
        "--base-url",
        &site.base_url,
        "--framework",
        "nist_800_53",
        "--attack-url",
        &template,
        "--rate-limit",
        "1000",
    ];

    let job = Job::new();
    let output = job.command(&args).env_remove("ATTACKMAP_HTTP_USER").output().unwrap();
    assert_eq!(code(&output), 1, "{}", explain(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("401") && stderr.contains("asks for credentials; give them in ATTACKMAP_HTTP_USER"),
        "without the variables, the message says where credentials go\n{stderr}"
    );

    site.forget_seen();
    let job = Job::new();
    let output = job
        .command(&args)
        .env("ATTACKMAP_HTTP_USER", USER)
        .env("ATTACKMAP_HTTP_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{}", explain(&output));
    let seen = site.seen();
    assert!(
        !seen.is_empty()
            && seen
                .iter()
                .all(|s| s.authorization == Some(basic_authorization(USER, PASSWORD)) && s.status != 401),
        "every request of the mirror carries the credentials: {seen:?}"
    );
    let elsewhere = attack.seen();
    assert!(
        !elsewhere.is_empty() && elsewhere.iter().all(|s| s.authorization.is_none()),
        "the --attack-url host, another origin, never gets them: {elsewhere:?}"
    );
    assert_eq!(
        files_holding_the_password(job.dir.path()),
        Vec::<PathBuf>::new(),
        "out/ (manifest.json, report.html) and raw/ (sidecars) hold no password"
    );
    assert!(job.out().join("manifest.json").is_file() && job.out().join("report.html").is_file());
    assert!(!printed(&output).contains(PASSWORD));
}

#[test]
fn basic_auth_never_crosses_the_network_in_clear_and_needs_both_variables() {
    let server = fixture_site();
    let dir = tempfile::tempdir().unwrap();
    let both = [("ATTACKMAP_HTTP_USER", USER), ("ATTACKMAP_HTTP_PASSWORD", PASSWORD)];
    let remote = attackmap_in(dir.path(), &["refresh", "--base-url", "http://mirror.invalid/"], &both);
    assert_eq!(code(&remote), 2, "{}", explain(&remote));
    assert!(
        printed(&remote).contains("would be sent in clear over http:// to mirror.invalid: use an https:// URL"),
        "{}",
        explain(&remote)
    );
    assert!(!printed(&remote).contains(PASSWORD));

    let user_only = attackmap_in(dir.path(), &["refresh", "--base-url", &server.base_url], &both[..1]);
    assert_eq!(code(&user_only), 2, "{}", explain(&user_only));
    assert!(
        printed(&user_only).contains("ATTACKMAP_HTTP_USER is set but ATTACKMAP_HTTP_PASSWORD is not"),
        "{}",
        explain(&user_only)
    );
    assert!(server.seen().is_empty(), "nothing requested");
    assert!(!dir.path().join("out").exists());
}
