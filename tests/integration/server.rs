//! A small HTTP/1.1 server on 127.0.0.1 for the fetch tests: serves directories (an overlay first),
//! answers conditional requests with 304, plays scripted faults per path, and may ask for basic auth.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the server does instead of answering normally.
#[derive(Debug, Clone)]
pub enum Fault {
    Status(u16),
    TooManyRequests {
        retry_after_seconds: u64,
    },
    /// Waits this long before answering (longer than the client's time-out).
    Hang(Duration),
    /// Announces the whole body but sends half of it, then closes.
    TruncatedBody,
    RedirectTo(String),
    /// Sends the body one byte at a time, waiting this long between bytes.
    Trickle(Duration),
}

/// One request the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub conditional: bool,
    pub status: u16,
    /// The `Authorization` header sent, if any.
    pub authorization: Option<String>,
}

#[derive(Default)]
struct State {
    roots: Vec<PathBuf>,
    /// Folders served under a path prefix (`data/attack/` → `../shared/attack`), before the roots.
    mounts: Vec<(String, PathBuf)>,
    overrides: HashMap<String, Vec<u8>>,
    once: HashMap<String, VecDeque<Fault>>,
    always: HashMap<String, Fault>,
    /// Every n-th request (counted over all paths) answers 500.
    fail_every: Option<usize>,
    /// The `Authorization` every request must carry, else 401.
    authorization: Option<String>,
    seen: Vec<Seen>,
}

pub struct TestServer {
    pub base_url: String,
    state: Arc<Mutex<State>>,
}

impl TestServer {
    /// Serves `roots` (first match wins) on a free port of 127.0.0.1.
    pub fn serving(roots: &[PathBuf]) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        let base_url = format!("http://{}/", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            roots: roots.to_vec(),
            ..State::default()
        }));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = Arc::clone(&shared);
                std::thread::spawn(move || answer(stream, &state));
            }
        });
        TestServer { base_url, state }
    }

    /// The next requests of `path` (`attack/…/T1562/`) meet these faults, one each, then normal answers.
    pub fn fail_next(&self, path: &str, faults: Vec<Fault>) {
        self.state.lock().unwrap().once.insert(path.to_string(), faults.into());
    }

    /// Every request of `path` meets this fault.
    pub fn fail_always(&self, path: &str, fault: Fault) {
        self.state.lock().unwrap().always.insert(path.to_string(), fault);
    }

    /// Every `n`-th request, whatever its path, answers 500: a flaky server.
    pub fn fail_one_request_in(&self, n: usize) {
        self.state.lock().unwrap().fail_every = Some(n);
    }

    /// Serves the files of `dir` under the site path `prefix` (`data/attack/`), before the roots.
    pub fn mount(&self, prefix: &str, dir: PathBuf) {
        self.state.lock().unwrap().mounts.push((prefix.to_string(), dir));
    }

    /// Serves these bytes at `path` instead of the file.
    pub fn replace(&self, path: &str, body: Vec<u8>) {
        self.state.lock().unwrap().overrides.insert(path.to_string(), body);
    }

    /// Every request without this user and password (basic auth) answers 401.
    pub fn require_basic_auth(&self, user: &str, password: &str) {
        self.state.lock().unwrap().authorization = Some(basic_authorization(user, password));
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    pub fn forget_seen(&self) {
        self.state.lock().unwrap().seen.clear();
    }
}

fn answer(mut stream: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut if_none_match = None;
    let mut authorization = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("if-none-match") {
                if_none_match = Some(value.trim().to_string());
            } else if name.eq_ignore_ascii_case("authorization") {
                authorization = Some(value.trim().to_string());
            }
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .trim_start_matches('/')
        .to_string();

    let (fault, body, authorized) = {
        let mut state = state.lock().unwrap();
        let authorized = state.authorization.is_none() || state.authorization == authorization;
        let flaky = state
            .fail_every
            .is_some_and(|n| (state.seen.len() + 1).is_multiple_of(n));
        let fault = match state.once.get_mut(&path).and_then(VecDeque::pop_front) {
            Some(fault) => Some(fault),
            None if flaky => Some(Fault::Status(500)),
            None => state.always.get(&path).cloned(),
        };
        let body = state.overrides.get(&path).cloned().or_else(|| {
            let relative = if path.is_empty() || path.ends_with('/') {
                format!("{path}index.html")
            } else {
                path.clone()
            };
            let mounted = state.mounts.iter().find_map(|(prefix, dir)| {
                let rest = relative.strip_prefix(prefix.as_str())?;
                std::fs::read(dir.join(rest)).ok()
            });
            mounted.or_else(|| {
                state
                    .roots
                    .iter()
                    .find_map(|root| std::fs::read(root.join(&relative)).ok())
            })
        });
        (fault, body, authorized)
    };
    let etag = body.as_ref().map(|b| format!("\"{:x}-{}\"", fnv(b), b.len()));
    let status = match (&fault, &body) {
        _ if !authorized => 401,
        (Some(Fault::Status(code)), _) => *code,
        (Some(Fault::TooManyRequests { .. }), _) => 429,
        (Some(Fault::RedirectTo(_)), _) => 302,
        (_, None) => 404,
        (Some(Fault::TruncatedBody | Fault::Trickle(_)), Some(_)) => 200,
        (_, Some(_)) if if_none_match.is_some() && if_none_match == etag => 304,
        _ => 200,
    };
    state.lock().unwrap().seen.push(Seen {
        path: path.clone(),
        conditional: if_none_match.is_some(),
        status,
        authorization,
    });

    let mut head = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n");
    match &fault {
        Some(Fault::Hang(duration)) => std::thread::sleep(*duration),
        Some(Fault::TooManyRequests { retry_after_seconds }) => {
            head.push_str(&format!("Retry-After: {retry_after_seconds}\r\n"))
        }
        Some(Fault::RedirectTo(location)) => head.push_str(&format!("Location: {location}\r\n")),
        _ => {}
    }
    let body = match status {
        200 => body.unwrap_or_default(),
        _ => Vec::new(),
    };
    if let Some(etag) = &etag {
        head.push_str(&format!(
            "ETag: {etag}\r\nLast-Modified: Sat, 01 Nov 2025 00:00:00 GMT\r\n"
        ));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let sent = match fault {
        Some(Fault::TruncatedBody) => &body[..body.len() / 2],
        _ => &body[..],
    };
    let _ = stream.write_all(head.as_bytes());
    if let Some(Fault::Trickle(pause)) = fault {
        for byte in sent {
            if stream.write_all(&[*byte]).and_then(|_| stream.flush()).is_err() {
                return;
            }
            std::thread::sleep(pause);
        }
        return;
    }
    let _ = stream.write_all(sent);
    let _ = stream.flush();
}

/// The `Authorization` header of basic auth: `Basic ` and the base64 of `user:password`.
pub fn basic_authorization(user: &str, password: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = format!("{user}:{password}").into_bytes();
    let mut encoded = String::from("Basic ");
    for chunk in bytes.chunks(3) {
        let triple = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            encoded.push(if i <= chunk.len() {
                ALPHABET[(triple >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    encoded
}

/// FNV-1a: a content tag for ETags.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}
