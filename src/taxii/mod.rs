//! `publish-taxii`: puts the objects of STIX bundles into a TAXII 2.1 collection, the server that
//! threat-intel platforms (OpenCTI, MISP) poll. Only the object versions (`id` + `modified`) the
//! collection does not list yet are posted, in envelopes that respect the API root's
//! `max_content_length`, so a nightly publish sends what changed and nothing else. A publish
//! succeeds only when the server's status resources account for every object sent.

mod server;
mod status;

use std::collections::BTreeMap;
use std::path::PathBuf;

use reqwest::Url;
use serde_json::{json, Value};

use crate::credentials::{self, BasicAuth, ScopedAuth};
pub use server::Pending;
use server::Server;

/// The TAXII 2.1 media type, for `Accept` and `Content-Type`.
pub const MEDIA_TYPE: &str = "application/taxii+json;version=2.1";

/// Where to publish, and as whom.
#[derive(Debug, Clone)]
pub struct Target {
    /// The API root, ending in `/`, without credentials.
    pub api_root: Url,
    pub collection: String,
    /// Basic auth (from `ATTACKMAP_TAXII_USER` / `ATTACKMAP_TAXII_PASSWORD`), for the API root's
    /// origin only.
    pub credentials: Option<ScopedAuth>,
}

impl Target {
    /// The target, or why these arguments cannot be used (bad usage): an API root that is not an
    /// http(s) URL or that holds credentials, or credentials that would cross the network in clear
    /// (plain http to a host that is not loopback).
    pub fn new(api_root: &str, collection: String, credentials: Option<BasicAuth>) -> Result<Target, String> {
        credentials::refuse_in_url("--api-root", api_root, credentials::TAXII)?;
        let mut text = api_root.to_string();
        if !text.ends_with('/') {
            text.push('/');
        }
        let api_root = match Url::parse(&text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => url,
            _ => return Err(format!("--api-root {text}: expected an http or https URL")),
        };
        let credentials = credentials
            .map(|auth| auth.scoped_to(&api_root, credentials::TAXII))
            .transpose()
            .map_err(|e| format!("--api-root {api_root}: {e}"))?;
        Ok(Target {
            api_root,
            collection,
            credentials,
        })
    }
}

/// What a publish did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    pub posted: usize,
    pub skipped: usize,
    pub envelopes: usize,
    /// The envelopes the server had not finished with by the last poll of their status.
    pub pending: Vec<Pending>,
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
    #[error("no STIX bundle in {paths}: nothing to publish (publish-taxii reads the stix/ of a build or refresh)")]
    NoBundles { paths: String },
}

/// Posts the objects of `bundles` the collection lacks.
pub fn publish(target: &Target, bundles: &[PathBuf]) -> Result<Published, TaxiiError> {
    let objects = read_objects(bundles)?;
    let server = Server::new(target)?;
    let max_content_length = server.max_content_length()?;
    let listed = server.manifest()?;
    let missing: Vec<&Value> = objects
        .iter()
        .filter(|(version, _)| !listed.contains(*version))
        .map(|(_, object)| object)
        .collect();
    let envelopes = envelopes(&missing, max_content_length)?;
    let mut pending = Vec::new();
    for envelope in &envelopes {
        pending.extend(server.post(envelope)?);
    }
    Ok(Published {
        posted: missing.len(),
        skipped: objects.len() - missing.len(),
        envelopes: envelopes.len(),
        pending,
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

/// Every distinct object version of the bundles (files, or directories of `.json` files); an error
/// when there is no bundle at all.
fn read_objects(paths: &[PathBuf]) -> Result<BTreeMap<Version, Value>, TaxiiError> {
    let files = crate::sources::discover(paths).map_err(|e| TaxiiError::Bundle {
        path: paths.first().cloned().unwrap_or_default(),
        reason: e.to_string(),
    })?;
    let mut objects = BTreeMap::new();
    let mut bundles = 0;
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
        bundles += 1;
        for object in bundle["objects"].as_array().into_iter().flatten() {
            let version = version_of(object).ok_or_else(|| fail(format!("an object without id or dates: {object}")))?;
            objects.entry(version).or_insert_with(|| object.clone());
        }
    }
    if bundles == 0 {
        let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(TaxiiError::NoBundles {
            paths: paths.join(", "),
        });
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

    #[test]
    fn a_version_is_modified_or_else_created() {
        let marking = json!({"id": "marking-definition--1", "created": "2017-06-01T00:00:00.000Z"});
        assert_eq!(version_of(&marking).unwrap().1, "2017-06-01T00:00:00.000Z");
    }
}
