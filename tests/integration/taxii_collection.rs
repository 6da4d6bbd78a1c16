//! A TAXII 2.1 collection in memory, on loopback, for the tests that follow objects into one.

use serde_json::Value;

use crate::refresh::{code, explain, Job};

/// A TAXII 2.1 collection in memory, on loopback: it lists the object versions posted to it and
/// answers each envelope with a status resource that accounts for every object.
pub(crate) struct TaxiiCollection {
    api_root: String,
    objects: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
}

impl TaxiiCollection {
    pub(crate) fn start() -> TaxiiCollection {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let api_root = format!("http://{}/api/", listener.local_addr().unwrap());
        let objects = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
        let held = objects.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                reader.read_line(&mut request_line).unwrap();
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).unwrap();
                    if header.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = header.split_once(':') {
                        if name.eq_ignore_ascii_case("content-length") {
                            length = value.trim().parse().unwrap();
                        }
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let answer = if request_line.starts_with("POST") {
                    let envelope: Value = serde_json::from_slice(&body).unwrap();
                    let posted = envelope["objects"].as_array().unwrap().clone();
                    let successes: Vec<Value> = posted
                        .iter()
                        .map(|o| serde_json::json!({"id": o["id"], "version": o["modified"]}))
                        .collect();
                    held.lock().unwrap().extend(posted.iter().cloned());
                    serde_json::json!({"id": "status-1", "status": "complete", "total_count": posted.len(),
                        "success_count": posted.len(), "successes": successes, "failure_count": 0, "pending_count": 0})
                } else if request_line.contains("/manifest/") {
                    let listed: Vec<Value> = held
                        .lock()
                        .unwrap()
                        .iter()
                        .map(|o| serde_json::json!({"id": o["id"], "version": o["modified"].as_str().or(o["created"].as_str())}))
                        .collect();
                    serde_json::json!({"objects": listed, "more": false})
                } else {
                    serde_json::json!({"title": "test", "max_content_length": 10_485_760})
                };
                let text = answer.to_string();
                let status = if request_line.starts_with("POST") {
                    "202 Accepted"
                } else {
                    "200 OK"
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/taxii+json;version=2.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
            }
        });
        TaxiiCollection { api_root, objects }
    }

    /// `attackmap publish-taxii` of `job`'s `out/stix/` into this collection; the objects it posted.
    pub(crate) fn publish(&self, job: &Job) -> Vec<Value> {
        let before = self.objects.lock().unwrap().len();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_attackmap"))
            .args(["publish-taxii", "--api-root", &self.api_root, "--collection", "c"])
            .arg(job.out().join("stix"))
            .env_remove("ATTACKMAP_TAXII_USER")
            .env_remove("ATTACKMAP_TAXII_PASSWORD")
            .output()
            .unwrap();
        assert_eq!(code(&output), 0, "{}", explain(&output));
        self.objects.lock().unwrap()[before..].to_vec()
    }
}
