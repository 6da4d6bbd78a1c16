//! The conversation with a TAXII 2.1 API root: its information, a collection's manifest, and POSTs
//! of envelopes, each answered by a status resource that must account for what was sent. Redirects
//! are never followed: a POST re-sent elsewhere, or as a GET, would look like a success.

use std::collections::BTreeSet;
use std::time::Duration;

use backon::{BlockingRetryable, ExponentialBuilder};
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::LOCATION;
use reqwest::{StatusCode, Url};
use serde_json::Value;

use super::status::Status;
use super::{failed, Target, TaxiiError, Version, MEDIA_TYPE};
use crate::credentials::{self, without_userinfo};
use crate::sources::http::USER_AGENT;

/// The envelope size used when the API root does not say.
const DEFAULT_MAX_CONTENT_LENGTH: usize = 10 * 1024 * 1024;
/// Retries of a request that failed on a connection error or a 5xx answer.
const RETRIES: usize = 2;
/// Manifest records asked for per page (a server may send fewer).
const MANIFEST_PAGE: &str = "1000";
/// The largest answer read from a TAXII server (a manifest page of 1,000 records is about 200 KB):
/// a server that sends more is refused, never held in memory whole.
const MAX_ANSWER_BYTES: u64 = 64 << 20;
/// The waits before each poll of a pending status: 15.5 s in all, then what is still pending is
/// reported as such.
const PENDING_WAITS: [Duration; 5] = [
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
];

/// An envelope the server had not finished with by the last poll of its status: `count` objects
/// still pending at `status_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub status_url: String,
    pub count: u64,
}

pub struct Server<'a> {
    client: Client,
    target: &'a Target,
}

impl<'a> Server<'a> {
    pub fn new(target: &'a Target) -> Result<Server<'a>, TaxiiError> {
        let client = Client::builder()
            .user_agent(USER_AGENT)
            .timeout(Duration::from_secs(120))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| failed(target.api_root.as_str(), e.to_string()))?;
        Ok(Server { client, target })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.target.api_root)
    }

    fn collection_url(&self, path: &str) -> String {
        self.url(&format!("collections/{}/{path}", self.target.collection))
    }

    /// The request, with the TAXII media type accepted and basic auth when `url` is on the API
    /// root's origin.
    fn request(&self, url: &str, builder: RequestBuilder) -> RequestBuilder {
        let builder = builder.header(reqwest::header::ACCEPT, MEDIA_TYPE);
        match self.target.credentials.as_ref().and_then(|c| c.for_url(url)) {
            Some(auth) => auth.apply(builder),
            None => builder,
        }
    }

    /// Sends a request, retrying connection errors and 5xx answers after 0.5 s, then 1 s; any other
    /// failure is final, a redirect included.
    fn send(&self, url: &str, make: &dyn Fn() -> RequestBuilder) -> Result<Value, TaxiiError> {
        let sent = (|| match self.request(url, make()).send() {
            Ok(response) if response.status().is_success() => Ok(response),
            Ok(response) if response.status().is_server_error() => Err(SendFailure::Transient(self.describe(response))),
            Ok(response) => Err(SendFailure::Final(self.describe(response))),
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

    pub fn max_content_length(&self) -> Result<usize, TaxiiError> {
        let url = self.target.api_root.to_string();
        let information = self.send(&url, &|| self.client.get(&url))?;
        Ok(information["max_content_length"]
            .as_u64()
            .map_or(DEFAULT_MAX_CONTENT_LENGTH, |n| n as usize))
    }

    /// Every object version the collection lists, following its pages.
    pub fn manifest(&self) -> Result<BTreeSet<Version>, TaxiiError> {
        let mut listed = BTreeSet::new();
        let mut next: Option<String> = None;
        loop {
            let listed_before = listed.len();
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
            // A `next` token may be the same on every page (medallion's is): what proves progress is
            // a page that lists versions not listed before.
            next = match (page["more"].as_bool(), page["next"].as_str()) {
                (Some(true), Some(_)) if listed.len() == listed_before => {
                    return Err(failed(
                        url.as_str(),
                        "the manifest's pages loop: a page says more follow but lists nothing new".to_string(),
                    ))
                }
                (Some(true), Some(token)) => Some(token.to_string()),
                _ => return Ok(listed),
            };
        }
    }

    /// Posts one envelope and reads the status resource the server answers, polling its status
    /// endpoint while it is pending: failed objects are an error; objects still pending after the
    /// last poll are returned.
    pub fn post(&self, envelope: &Value) -> Result<Option<Pending>, TaxiiError> {
        let url = self.collection_url("objects/");
        let sent = envelope["objects"].as_array().map_or(0, Vec::len);
        let body = envelope.to_string();
        let answer = self.send(&url, &|| {
            self.client
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, MEDIA_TYPE)
                .body(body.clone())
        })?;
        let mut status = Status::read(&answer, sent).map_err(|reason| failed(&url, reason))?;
        let status_url = self.status_url(&status.id)?;
        for wait in PENDING_WAITS {
            if !status.is_pending() {
                break;
            }
            std::thread::sleep(wait);
            let answer = self.send(&status_url, &|| self.client.get(&status_url))?;
            status = Status::read(&answer, sent).map_err(|reason| failed(&status_url, reason))?;
        }
        if status.failure_count > 0 {
            return Err(TaxiiError::Rejected {
                count: status.failure_count as usize,
                listed: status.failures_listed(),
            });
        }
        Ok(status.is_pending().then_some(Pending {
            status_url,
            count: status.pending_count,
        }))
    }

    /// `{api root}status/{id}/`, the id percent-encoded.
    fn status_url(&self, id: &str) -> Result<String, TaxiiError> {
        let mut url = self.target.api_root.clone();
        url.path_segments_mut()
            .map_err(|()| failed(self.target.api_root.as_str(), "not a base URL".into()))?
            .pop_if_empty()
            .extend(["status", id, ""]);
        Ok(url.into())
    }

    /// Why an answer is not a success, in words that say what to do.
    fn describe(&self, response: Response) -> String {
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|value| without_userinfo(&String::from_utf8_lossy(value.as_bytes())));
        let text: String = read_capped(response, 300 * 4)
            .map(|bytes| String::from_utf8_lossy(&bytes).chars().take(300).collect())
            .unwrap_or_default();
        let variables = format!("{} / {}", credentials::TAXII.user, credentials::TAXII.password);
        match status {
            s if s.is_redirection() => format!(
                "HTTP {s}: a redirect to {}, not followed (a request re-sent elsewhere, or a POST \
                 re-sent as a GET, proves nothing was stored): give --api-root as the URL the server \
                 answers at",
                location.as_deref().unwrap_or("(no Location)")
            ),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN if self.target.credentials.is_some() => {
                format!("HTTP {status}: the server refused the credentials ({variables}) {text}")
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                format!("HTTP {status}: the server asks for credentials and none were given ({variables}) {text}")
            }
            _ => format!("HTTP {status} {text}"),
        }
    }
}

/// Why a request failed: worth another try, or final.
enum SendFailure {
    Transient(String),
    Final(String),
}

fn body(url: &str, response: Response) -> Result<Value, TaxiiError> {
    let bytes =
        read_capped(response, MAX_ANSWER_BYTES + 1).map_err(|e| failed(url, format!("reading the answer: {e}")))?;
    if bytes.len() as u64 > MAX_ANSWER_BYTES {
        return Err(failed(
            url,
            format!("the answer is larger than {MAX_ANSWER_BYTES} bytes"),
        ));
    }
    if bytes.trim_ascii().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes).map_err(|e| failed(url, format!("the answer is not JSON: {e}")))
}

/// At most `limit` bytes of an answer's body.
fn read_capped(response: Response, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    response.take(limit).read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        let target = Target::new(url, "c".into(), None).unwrap();
        let server = Server::new(&target).unwrap();
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
    fn a_status_id_is_one_path_segment_of_the_status_url() {
        let target = Target::new("https://taxii.example/api1/", "c".into(), None).unwrap();
        let server = Server::new(&target).unwrap();
        assert_eq!(
            server.status_url("a/b?c").unwrap(),
            "https://taxii.example/api1/status/a%2Fb%3Fc/"
        );
    }
}
