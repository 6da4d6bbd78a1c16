//! `publish-taxii` against a scripted TAXII 2.1 server on 127.0.0.1: success only when the server's
//! status resource accounts for every object sent, never a redirect followed, credentials only from
//! the variables and never in clear to a remote host, and nothing to publish is not a success.
//! (`scripts/check_taxii.py` runs it against a real server, medallion.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::refresh::{code, explain};
use crate::server::basic_authorization;

const COLLECTION: &str = "c1";
const USER: &str = "publisher";
const PASSWORD: &str = "taxii-s3cret-9X";

/// One request the server saw.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    authorization: Option<String>,
    body: String,
}

/// What the server answers.
struct Reply {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Reply {
    fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            location: None,
            body: body.to_string(),
        }
    }
}

/// A TAXII server whose answers `script` decides, request by request.
struct TaxiiServer {
    api_root: String,
    seen: Arc<Mutex<Vec<Request>>>,
}

impl TaxiiServer {
    fn scripted(script: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> TaxiiServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let api_root = format!("http://{}/api/", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let request = read_request(&mut stream);
                log.lock().unwrap().push(request.clone());
                let reply = script(&request);
                let location = reply.location.map(|l| format!("Location: {l}\r\n")).unwrap_or_default();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {} Scripted\r\nContent-Type: application/taxii+json;version=2.1\r\n{location}\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{}",
                    reply.status,
                    reply.body.len(),
                    reply.body
                );
            }
        });
        TaxiiServer { api_root, seen }
    }

    /// A collection that lists nothing and answers each POST with `post(objects sent)`; the
    /// status endpoint with `status`.
    fn collection(
        post: impl Fn(usize) -> Reply + Send + Sync + 'static,
        status: impl Fn() -> Reply + Send + Sync + 'static,
    ) -> TaxiiServer {
        TaxiiServer::scripted(move |request| match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/api/") => Reply::json(200, json!({"title": "t", "max_content_length": 1_000_000})),
            ("GET", path) if path.starts_with("/api/collections/c1/manifest/") => {
                Reply::json(200, json!({"more": false}))
            }
            ("POST", "/api/collections/c1/objects/") => {
                let envelope: Value = serde_json::from_str(&request.body).unwrap();
                post(envelope["objects"].as_array().unwrap().len())
            }
            ("GET", path) if path.starts_with("/api/status/") => status(),
            _ => Reply::json(200, json!({})),
        })
    }

    fn seen(&self) -> Vec<Request> {
        self.seen.lock().unwrap().clone()
    }

    fn requests(&self, method: &str) -> usize {
        self.seen().iter().filter(|r| r.method == method).count()
    }
}

fn read_request(stream: &mut std::net::TcpStream) -> Request {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let mut words = line.split_whitespace();
    let method = words.next().unwrap_or_default().to_string();
    let path = words.next().unwrap_or_default().to_string();
    let (mut length, mut authorization) = (0, None);
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap();
            } else if name.eq_ignore_ascii_case("authorization") {
                authorization = Some(value.trim().to_string());
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    Request {
        method,
        path,
        authorization,
        body: String::from_utf8(body).unwrap(),
    }
}

/// A status resource: `[total, success, failure, pending]`.
fn status(status: &str, counts: [usize; 4]) -> Value {
    json!({"id": "9a1c1f52-0000-4000-8000-000000000001", "status": status, "total_count": counts[0],
           "success_count": counts[1], "failure_count": counts[2], "pending_count": counts[3]})
}

/// A directory with one STIX bundle of two objects.
fn bundles() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let object = |n: u32| {
        json!({"type": "course-of-action", "spec_version": "2.1", "name": format!("control {n}"),
               "id": format!("course-of-action--00000000-0000-4000-8000-00000000000{n}"),
               "created": "2026-01-05T00:00:00.000Z", "modified": "2026-01-05T00:00:00.000Z"})
    };
    let bundle = json!({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000",
                        "objects": [object(1), object(2)]});
    std::fs::write(dir.path().join("mappings.json"), bundle.to_string()).unwrap();
    dir
}

/// `attackmap publish-taxii --api-root <api_root> --collection c1 <bundles>`, with these variables
/// and no other TAXII variable.
fn publish(api_root: &str, bundles: &Path, variables: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_attackmap"));
    command
        .args(["publish-taxii", "--api-root", api_root, "--collection", COLLECTION])
        .arg(bundles)
        .env("NO_PROXY", "*");
    for name in [
        "ATTACKMAP_TAXII_USER",
        "ATTACKMAP_TAXII_PASSWORD",
        "ATTACKMAP_TAXII_API_ROOT",
    ] {
        command.env_remove(name);
    }
    command.envs(variables.iter().copied());
    command.output().expect("the attackmap binary runs")
}

fn printed(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

const CREDENTIALS: [(&str, &str); 2] = [("ATTACKMAP_TAXII_USER", USER), ("ATTACKMAP_TAXII_PASSWORD", PASSWORD)];

#[test]
fn a_status_that_accounts_for_every_object_is_success_and_credentials_go_to_loopback() {
    let server = TaxiiServer::collection(
        |sent| Reply::json(202, status("complete", [sent, sent, 0, 0])),
        || Reply::json(404, json!({})),
    );
    let bundles = bundles();
    let output = publish(&server.api_root, bundles.path(), &CREDENTIALS);
    assert_eq!(code(&output), 0, "{}", explain(&output));
    assert!(
        printed(&output).contains("posted 2 objects in 1 envelopes"),
        "{}",
        explain(&output)
    );
    let seen = server.seen();
    assert!(
        seen.iter()
            .all(|r| r.authorization == Some(basic_authorization(USER, PASSWORD))),
        "basic auth over http to 127.0.0.1: {seen:?}"
    );
    assert!(!printed(&output).contains(PASSWORD));
}

#[test]
fn a_post_answered_by_a_redirect_is_a_failure_that_names_it() {
    let server = TaxiiServer::scripted(|request| match (request.method.as_str(), request.path.as_str()) {
        ("POST", _) => Reply {
            status: 302,
            location: Some("/api/elsewhere/".into()),
            body: String::new(),
        },
        ("GET", "/api/") => Reply::json(200, json!({"max_content_length": 1_000_000})),
        _ => Reply::json(200, json!({})),
    });
    let bundles = bundles();
    let output = publish(&server.api_root, bundles.path(), &[]);
    assert_eq!(code(&output), 1, "{}", explain(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("collections/c1/objects/: HTTP 302")
            && stderr.contains("a redirect to /api/elsewhere/, not followed"),
        "{stderr}"
    );
    assert!(
        !server.seen().iter().any(|r| r.path == "/api/elsewhere/"),
        "the redirect is not followed as a GET"
    );
}

#[test]
fn a_post_answered_without_a_status_that_accounts_for_the_objects_is_a_failure() {
    type Answer = fn(usize) -> Reply;
    let cases: [(&str, Answer, &str); 4] = [
        (
            "200, empty body",
            |_| Reply {
                status: 200,
                location: None,
                body: String::new(),
            },
            "an empty answer, not a TAXII status resource",
        ),
        ("202 {}", |_| Reply::json(202, json!({})), "not a TAXII status resource"),
        (
            "a status for fewer objects",
            |sent| Reply::json(202, status("complete", [sent - 1, sent - 1, 0, 0])),
            "total_count 1 for the 2 objects sent",
        ),
        (
            "counts that do not add up",
            |sent| Reply::json(202, status("complete", [sent, sent - 1, 0, 0])),
            "is not total_count 2",
        ),
    ];
    let bundles = bundles();
    for (case, post, said) in cases {
        let server = TaxiiServer::collection(post, || Reply::json(404, json!({})));
        let output = publish(&server.api_root, bundles.path(), &[]);
        assert_eq!(code(&output), 1, "{case}\n{}", explain(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("collections/c1/objects/") && stderr.contains(said),
            "{case}: {stderr}"
        );
    }
}

#[test]
fn a_pending_status_is_polled_and_what_stays_pending_is_a_warning_exit_3() {
    let bundles = bundles();
    let polled = TaxiiServer::collection(
        |sent| Reply::json(202, status("pending", [sent, 0, 0, sent])),
        || Reply::json(200, status("complete", [2, 2, 0, 0])),
    );
    let output = publish(&polled.api_root, bundles.path(), &[]);
    assert_eq!(code(&output), 0, "{}", explain(&output));
    assert_eq!(polled.requests("GET") - 2, 1, "one poll of the status endpoint");

    let stuck = TaxiiServer::collection(
        |sent| Reply::json(202, status("pending", [sent, 1, 0, sent - 1])),
        || Reply::json(200, status("pending", [2, 1, 0, 1])),
    );
    let output = publish(&stuck.api_root, bundles.path(), &[]);
    assert_eq!(code(&output), 3, "{}", explain(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning: 1 object(s) still pending at")
            && stderr.contains("/api/status/9a1c1f52-0000-4000-8000-000000000001/"),
        "{stderr}"
    );
    assert_eq!(stuck.requests("GET") - 2, 5, "five polls, then the status is reported");
}

#[test]
fn taxii_credentials_come_from_both_variables_only_and_never_cross_the_network_in_clear() {
    let server = TaxiiServer::scripted(|request| match request.authorization {
        None => Reply::json(401, json!({"title": "Unauthorized"})),
        Some(_) => Reply::json(200, json!({})),
    });
    let bundles = bundles();
    let in_the_url = server.api_root.replacen("://", &format!("://{USER}:{PASSWORD}@"), 1);
    let refused = [
        (
            "user:password@ in --api-root",
            publish(&in_the_url, bundles.path(), &[]),
        ),
        (
            "user:password@ in ATTACKMAP_TAXII_API_ROOT",
            publish_with_api_root_variable(&in_the_url, bundles.path()),
        ),
        (
            "basic auth over http to a remote host",
            publish("http://taxii.invalid/api/", bundles.path(), &CREDENTIALS),
        ),
        (
            "a user without a password",
            publish(&server.api_root, bundles.path(), &CREDENTIALS[..1]),
        ),
    ];
    let said = [
        "a URL with credentials (user:password@) is refused",
        "a URL with credentials (user:password@) is refused",
        "would be sent in clear over http:// to taxii.invalid: use an https:// URL",
        "ATTACKMAP_TAXII_USER is set but ATTACKMAP_TAXII_PASSWORD is not",
    ];
    for ((case, output), said) in refused.iter().zip(said) {
        assert_eq!(code(output), 2, "{case}: bad usage\n{}", explain(output));
        let printed = printed(output);
        assert!(printed.contains(said), "{case}: {printed}");
        assert!(printed.contains("ATTACKMAP_TAXII_PASSWORD"), "{case}: {printed}");
        assert!(
            !printed.contains(PASSWORD),
            "{case}: the password is never echoed\n{printed}"
        );
    }
    assert!(server.seen().is_empty(), "nothing requested");

    let without = publish(&server.api_root, bundles.path(), &[]);
    assert_eq!(code(&without), 1, "{}", explain(&without));
    assert!(
        printed(&without).contains("HTTP 401 Unauthorized: the server asks for credentials and none were given"),
        "{}",
        explain(&without)
    );
}

fn publish_with_api_root_variable(api_root: &str, bundles: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_attackmap"))
        .args(["publish-taxii", "--collection", COLLECTION])
        .arg(bundles)
        .env_remove("ATTACKMAP_TAXII_USER")
        .env_remove("ATTACKMAP_TAXII_PASSWORD")
        .env("ATTACKMAP_TAXII_API_ROOT", api_root)
        .output()
        .expect("the attackmap binary runs")
}

#[test]
fn a_directory_without_any_bundle_is_a_failure_and_nothing_is_requested() {
    let server = TaxiiServer::collection(
        |sent| Reply::json(202, status("complete", [sent, sent, 0, 0])),
        || Reply::json(404, json!({})),
    );
    let empty = tempfile::tempdir().unwrap();
    let output = publish(&server.api_root, empty.path(), &[]);
    assert_eq!(code(&output), 1, "{}", explain(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no STIX bundle in"),
        "{}",
        explain(&output)
    );
    assert!(server.seen().is_empty(), "nothing requested");
}

#[test]
fn a_manifest_whose_pages_loop_or_an_answer_past_the_cap_is_a_failure_not_a_hang() {
    let looping = TaxiiServer::scripted(|request| match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/api/") => Reply::json(200, json!({"title": "t", "max_content_length": 1_000_000})),
        ("GET", path) if path.starts_with("/api/collections/c1/manifest/") => {
            Reply::json(200, json!({"more": true, "next": "again", "objects": []}))
        }
        _ => Reply::json(200, json!({})),
    });
    let bundles = bundles();
    let output = publish(&looping.api_root, bundles.path(), &[]);
    assert_eq!(code(&output), 1, "{}", explain(&output));
    assert!(
        printed(&output).contains("the manifest's pages loop"),
        "{}",
        explain(&output)
    );
    assert_eq!(looping.requests("POST"), 0, "nothing posted");
    assert!(looping.requests("GET") <= 3, "the loop is seen at the second page");

    let huge = TaxiiServer::scripted(|_| Reply {
        status: 200,
        location: None,
        body: format!("{{\"title\": \"{}\"}}", "x".repeat(65 << 20)),
    });
    let output = publish(&huge.api_root, bundles.path(), &[]);
    assert_eq!(code(&output), 1, "{}", explain(&output));
    assert!(printed(&output).contains("larger than"), "{}", explain(&output));
}
