//! `publish-taxii`: puts the objects of STIX bundles into a TAXII 2.1 collection, the server that
//! threat-intel platforms (OpenCTI, MISP) poll. Only the object versions (`id` + `modified`) the
//! collection does not list yet are posted, in envelopes that respect the API root's
//! `max_content_length`, so a nightly publish sends what changed and nothing else.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use backon::{BlockingRetryable, ExponentialBuilder};
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::{StatusCode, Url};
use serde_json::{json, Value};

use crate::sources::http::USER_AGENT;

/// The TAXII 2.1 media type, for `Accept` and `Content-Type`.
pub const MEDIA_TYPE: &str = "application/taxii+json;version=2.1";
/// The envelope size used when the API root does not say.
const DEFAULT_MAX_CONTENT_LENGTH: usize = 10 * 1024 * 1024;
/// Retries of a request that failed on a connection error or a 5xx answer.
const RETRIES: usize = 2;
/// Manifest records asked for per page (a server may send fewer).
const MANIFEST_PAGE: &str = "1000";

/// Where to publish, and as whom.
#[derive(Debug, Clone)]
pub struct Target {
    /// The API root, ending in `/`.
    pub api_root: Url,
    pub collection: String,
    /// Basic auth: user and password (from `ATTACKMAP_TAXII_USER` / `ATTACKMAP_TAXII_PASSWORD`).
    pub credentials: Option<(String, String)>,
}

/// What a publish did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    pub posted: usize,
    pub skipped: usize,
    pub envelopes: usize,
}

/// Why a publish failed: each variant names the URL, file or objects concerned.
#[derive(Debug, thiserror::Error)]
pub enum TaxiiError {
    #[error("{url}: {reason}")]
    Request { url: String, reason: String },
    #[error("reading STIX bundle {path}: {reason}")]
    Bundle { path: PathBuf, reason: String },
    #[error("the collection rejected {count} object(s): {listed}")]
    Rejected { count: usize, listed: String },
}

/// Posts the objects of `bundles` the collection lacks.
pub fn publish(target: &Target, bundles: &[PathBuf]) -> Result<Published, TaxiiError> {
    let client = Client::builder()
        .user_agent(USER_AGENT)
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|e| failed(target.api_root.as_str(), e.to_string()))?;
    let server = Server { client, target };
    let max_content_length = server.max_content_length()?;
    let listed = server.manifest()?;
    let objects = read_objects(bundles)?;
    let missing: Vec<&Value> = objects
        .iter()
        .filter(|(version, _)| !listed.contains(*version))
        .map(|(_, object)| object)
        .collect();
    let envelopes = envelopes(&missing, max_content_length)?;
    for envelope in &envelopes {
        server.post(envelope)?;
    }
    Ok(Published {
        posted: missing.len(),
        skipped: objects.len() - missing.len(),
        envelopes: envelopes.len(),
    })
}

/// An object version: its id and `modified` (`created` for objects that have no `modified`, as
/// TAXII's manifest does).
type Version = (String, String);

fn version_of(object: &Value) -> Option<Version> {
    let id = object["id"].as_str()?;
    let version = object["modified"].as_str().or_else(|| object["created"].as_str())?;
    Some((id.to_string(), version.to_string()))
}

/// Every distinct object version of the bundles (files, or directories of `.json` files).
fn read_objects(paths: &[PathBuf]) -> Result<BTreeMap<Version, Value>, TaxiiError> {
    let files = crate::sources::discover(paths).map_err(|e| TaxiiError::Bundle {
        path: paths.first().cloned().unwrap_or_default(),
        reason: e.to_string(),
    })?;
    let mut objects = BTreeMap::new();
    for file in files
        .iter()
        .filter(|f| !f.is_link && f.path.extension().is_some_and(|e| e == "json"))
    {
        let fail = |reason: String| TaxiiError::Bundle {
            path: file.path.clone(),
            reason,
        };
        let bundle: Value = serde_json::from_slice(&std::fs::read(&file.path).map_err(|e| fail(e.to_string()))?)
            .map_err(|e| fail(format!("not JSON: {e}")))?;
        if bundle["type"] != "bundle" {
            return Err(fail("not a STIX bundle".into()));
        }
        for object in bundle["objects"].as_array().into_iter().flatten() {
            let version = version_of(object).ok_or_else(|| fail(format!("an object without id or dates: {object}")))?;
            objects.entry(version).or_insert_with(|| object.clone());
        }
    }
    Ok(objects)
}

/// The objects in envelopes (`{"objects": [...]}`) of at most `max` bytes each.
fn envelopes(objects: &[&Value], max: usize) -> Result<Vec<Value>, TaxiiError> {
    const OVERHEAD: usize = r#"{"objects":[]}"#.len();
    let mut envelopes = Vec::new();
    let mut current: Vec<Value> = Vec::new();
    let mut size = OVERHEAD;
    for object in objects {
        let length = object.to_string().len() + 1;
        if OVERHEAD + length > max {
            return Err(TaxiiError::Rejected {
                count: 1,
                listed: format!(
                    "{} is {length} bytes, more than the API root's max_content_length of {max}",
                    object["id"]
                ),
            });
        }
        if size + length > max {
            envelopes.push(json!({ "objects": std::mem::take(&mut current) }));
            size = OVERHEAD;
        }
        size += length;
        current.push((*object).clone());
    }
    if !current.is_empty() {
        envelopes.push(json!({ "objects": current }));
    }
    Ok(envelopes)
}

struct Server<'a> {
    client: Client,
    target: &'a Target,
}

impl Server<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.target.api_root)
    }

    fn collection_url(&self, path: &str) -> String {
        self.url(&format!("collections/{}/{path}", self.target.collection))
    }

    fn request(&self, builder: RequestBuilder) -> RequestBuilder {
        let builder = builder.header(reqwest::header::ACCEPT, MEDIA_TYPE);
        match &self.target.credentials {
            Some((user, password)) => builder.basic_auth(user, Some(password)),
            None => builder,
        }
    }

    /// Sends a request, retrying connection errors and 5xx answers after 0.5 s, then 1 s; any other
    /// failure is final.
    fn send(&self, url: &str, make: &dyn Fn() -> RequestBuilder) -> Result<Value, TaxiiError> {
        let sent = (|| match self.request(make()).send() {
            Ok(response) if response.status().is_success() => Ok(response),
            Ok(response) if response.status().is_server_error() => Err(SendFailure::Transient(describe(response))),
            Ok(response) => Err(SendFailure::Final(describe(response))),
            Err(e) => Err(SendFailure::Transient(e.to_string())),
        })
        .retry(
            ExponentialBuilder::new()
                .with_min_delay(Duration::from_millis(500))
                .with_max_times(RETRIES),
        )
        .when(|failure| matches!(failure, SendFailure::Transient(_)))
        .call();
        match sent {
            Ok(response) => body(url, response),
            Err(SendFailure::Final(reason)) => Err(failed(url, reason)),
            Err(SendFailure::Transient(last)) => {
                Err(failed(url, format!("gave up after {} attempts: {last}", RETRIES + 1)))
            }
        }
    }

    fn max_content_length(&self) -> Result<usize, TaxiiError> {
        let url = self.target.api_root.to_string();
        let information = self.send(&url, &|| self.client.get(&url))?;
        Ok(information["max_content_length"]
            .as_u64()
            .map_or(DEFAULT_MAX_CONTENT_LENGTH, |n| n as usize))
    }

    /// Every object version the collection lists, following its pages.
    fn manifest(&self) -> Result<BTreeSet<Version>, TaxiiError> {
        let mut listed = BTreeSet::new();
        let mut next: Option<String> = None;
        loop {
            let mut url = Url::parse(&self.collection_url("manifest/"))
                .map_err(|e| failed(&self.collection_url("manifest/"), e.to_string()))?;
            // Every version, not only each id's latest; the same filters and an explicit limit on
            // every page (medallion 3.0 answers 500 to a `next` without `limit`).
            url.query_pairs_mut()
                .append_pair("match[version]", "all")
                .append_pair("limit", MANIFEST_PAGE);
            if let Some(next) = &next {
                url.query_pairs_mut().append_pair("next", next);
            }
            let page = self.send(url.as_str(), &|| self.client.get(url.clone()))?;
            for record in page["objects"].as_array().into_iter().flatten() {
                if let (Some(id), Some(version)) = (record["id"].as_str(), record["version"].as_str()) {
                    listed.insert((id.to_string(), version.to_string()));
                }
            }
            next = match (page["more"].as_bool(), page["next"].as_str()) {
                (Some(true), Some(token)) => Some(token.to_string()),
                _ => return Ok(listed),
            };
        }
    }

    /// Posts one envelope and checks the status the server answers (polling while it is pending).
    fn post(&self, envelope: &Value) -> Result<(), TaxiiError> {
        let url = self.collection_url("objects/");
        let body = envelope.to_string();
        let mut status = self.send(&url, &|| {
            self.client
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, MEDIA_TYPE)
                .body(body.clone())
        })?;
        for _ in 0..30 {
            if status["status"] != "pending" {
                break;
            }
            std::thread::sleep(Duration::from_secs(1));
            let status_url = self.url(&format!("status/{}/", status["id"].as_str().unwrap_or_default()));
            status = self.send(&status_url, &|| self.client.get(&status_url))?;
        }
        let failures: Vec<String> = status["failures"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| {
                format!(
                    "{} {} ({})",
                    f["id"].as_str().unwrap_or("?"),
                    f["version"].as_str().unwrap_or(""),
                    f["message"].as_str().unwrap_or("no reason given")
                )
            })
            .collect();
        let failure_count = status["failure_count"].as_u64().unwrap_or(failures.len() as u64) as usize;
        if failure_count > 0 || status["status"] == "pending" {
            return Err(TaxiiError::Rejected {
                count: failure_count.max(1),
                listed: if failures.is_empty() {
                    format!("status {}", status)
                } else {
                    failures.join("; ")
                },
            });
        }
        Ok(())
    }
}

/// Why a request failed: worth another try, or final.
enum SendFailure {
    Transient(String),
    Final(String),
}

fn body(url: &str, response: Response) -> Result<Value, TaxiiError> {
    let text = response
        .text()
        .map_err(|e| failed(url, format!("reading the answer: {e}")))?;
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&text).map_err(|e| failed(url, format!("the answer is not JSON: {e}")))
}

fn describe(response: Response) -> String {
    let status = response.status();
    let text: String = response.text().unwrap_or_default().chars().take(300).collect();
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            format!("HTTP {status}: the server refused the credentials (ATTACKMAP_TAXII_USER / ATTACKMAP_TAXII_PASSWORD) {text}")
        }
        _ => format!("HTTP {status} {text}"),
    }
}

fn failed(url: &str, reason: String) -> TaxiiError {
    TaxiiError::Request {
        url: url.to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_stay_under_the_size_the_server_accepts() {
        let objects: Vec<Value> = (0..10)
            .map(|i| json!({"id": format!("x--{i}"), "modified": "2026-01-01T00:00:00.000Z", "pad": "a".repeat(100)}))
            .collect();
        let refs: Vec<&Value> = objects.iter().collect();
        let packed = envelopes(&refs, 400).unwrap();
        assert!(packed.len() >= 4);
        assert!(packed.iter().all(|e| e.to_string().len() <= 400));
        let count: usize = packed.iter().map(|e| e["objects"].as_array().unwrap().len()).sum();
        assert_eq!(count, 10);
        assert!(
            envelopes(&refs, 50).is_err(),
            "an object larger than an envelope is an error"
        );
    }

    /// A server on 127.0.0.1 that answers one request per status of `statuses`, in turn, with an
    /// empty JSON object; its URL, and the thread that returns how many requests it answered.
    fn answering(statuses: &'static [u16]) -> (String, std::thread::JoinHandle<usize>) {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/api/", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            for status in statuses {
                let (stream, _) = listener.accept().unwrap();
                let mut request = BufReader::new(&stream);
                let mut line = String::new();
                while request.read_line(&mut line).unwrap() > 2 {
                    line.clear();
                }
                write!(
                    &stream,
                    "HTTP/1.1 {status} Scripted\r\nContent-Type: application/json\r\n\
                     Content-Length: 2\r\nConnection: close\r\n\r\n{{}}"
                )
                .unwrap();
            }
            statuses.len()
        });
        (url, server)
    }

    fn send_to(url: &str) -> Result<Value, TaxiiError> {
        let target = Target {
            api_root: Url::parse(url).unwrap(),
            collection: "c".into(),
            credentials: None,
        };
        let server = Server {
            client: Client::new(),
            target: &target,
        };
        server.send(url, &|| server.client.get(url))
    }

    #[test]
    fn a_5xx_is_tried_three_times_and_any_other_failure_once() {
        let (url, server) = answering(&[503, 500, 200]);
        assert_eq!(send_to(&url).unwrap(), json!({}));
        assert_eq!(server.join().unwrap(), 3);

        let (url, server) = answering(&[502, 502, 502]);
        let error = send_to(&url).unwrap_err().to_string();
        assert!(error.contains("gave up after 3 attempts: HTTP 502"), "{error}");
        server.join().unwrap();

        let (url, server) = answering(&[404]);
        let error = send_to(&url).unwrap_err().to_string();
        assert!(error.contains("HTTP 404") && !error.contains("gave up"), "{error}");
        server.join().unwrap();
    }

    #[test]
    fn a_version_is_modified_or_else_created() {
        let marking = json!({"id": "marking-definition--1", "created": "2017-06-01T00:00:00.000Z"});
        assert_eq!(version_of(&marking).unwrap().1, "2017-06-01T00:00:00.000Z");
    }
}
