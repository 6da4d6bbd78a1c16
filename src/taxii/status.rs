//! The TAXII 2.1 status resource (section 4.3.1) a server answers a POST of objects with: the only
//! proof that what was sent was taken. An answer that is not one (empty, `{}`, an HTML page, the
//! answer to a redirected request) or whose counts do not account for the objects sent is a failure.

use serde::Deserialize;
use serde_json::Value;

/// A status resource, as far as a publish reads it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Status {
    pub id: String,
    /// `complete` or `pending`.
    pub status: String,
    pub total_count: u64,
    pub success_count: u64,
    pub failure_count: u64,
    pub pending_count: u64,
    #[serde(default)]
    pub failures: Vec<Details>,
}

/// One object a status lists (here: among its failures).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Details {
    pub id: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

impl Status {
    /// Reads `answer` as the status of a POST of `sent` objects; the reason when it is not a status
    /// resource, or when its counts do not account for exactly the objects sent.
    pub fn read(answer: &Value, sent: usize) -> Result<Status, String> {
        if answer.is_null() {
            return Err("an empty answer, not a TAXII status resource: nothing says the objects were stored".into());
        }
        let status: Status = serde_json::from_value(answer.clone()).map_err(|e| {
            format!(
                "not a TAXII status resource (id, status, total_count, success_count, failure_count, \
                 pending_count): {e}; the answer: {}",
                shortened(answer)
            )
        })?;
        let id = &status.id;
        if id.is_empty() {
            return Err(format!("a status resource without an id: {}", shortened(answer)));
        }
        if !matches!(status.status.as_str(), "complete" | "pending") {
            return Err(format!(
                "status {id}: {:?}, expected complete or pending",
                status.status
            ));
        }
        if status.total_count != sent as u64 {
            return Err(format!(
                "status {id}: total_count {} for the {sent} objects sent",
                status.total_count
            ));
        }
        let accounted = [status.success_count, status.failure_count, status.pending_count]
            .iter()
            .try_fold(0u64, |sum, count| sum.checked_add(*count));
        if accounted != Some(status.total_count) {
            return Err(format!(
                "status {id}: success_count {} + failure_count {} + pending_count {} is not total_count {}",
                status.success_count, status.failure_count, status.pending_count, status.total_count
            ));
        }
        if status.status == "complete" && status.pending_count > 0 {
            return Err(format!(
                "status {id}: complete, with pending_count {}",
                status.pending_count
            ));
        }
        Ok(status)
    }

    /// Whether the server has not finished with every object yet.
    pub fn is_pending(&self) -> bool {
        self.status == "pending" || self.pending_count > 0
    }

    /// The objects it refused, each with its version and the server's reason.
    pub fn failures_listed(&self) -> String {
        if self.failures.is_empty() {
            return format!(
                "status {}: failure_count {}, no failure listed",
                self.id, self.failure_count
            );
        }
        self.failures
            .iter()
            .map(|f| {
                format!(
                    "{} {} ({})",
                    f.id,
                    f.version.as_deref().unwrap_or(""),
                    f.message.as_deref().unwrap_or("no reason given")
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// An answer as a message shows it: its first 300 characters.
fn shortened(answer: &Value) -> String {
    let text = answer.to_string();
    match text.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status(status: &str, counts: [u64; 4]) -> Value {
        json!({"id": "2d086da7-4bdc-4f91-900e-d77486753710", "status": status, "total_count": counts[0],
               "success_count": counts[1], "failure_count": counts[2], "pending_count": counts[3]})
    }

    #[test]
    fn only_a_status_that_accounts_for_the_objects_sent_is_read() {
        assert!(Status::read(&status("complete", [3, 3, 0, 0]), 3).is_ok());
        let pending = Status::read(&status("pending", [3, 1, 0, 2]), 3).unwrap();
        assert!(pending.is_pending());
        let refused = |answer: Value| Status::read(&answer, 3).unwrap_err();
        assert!(refused(Value::Null).contains("empty answer"));
        assert!(refused(json!({})).contains("not a TAXII status resource"));
        assert!(refused(json!({"objects": []})).contains("not a TAXII status resource"));
        assert!(refused(status("complete", [2, 2, 0, 0])).contains("total_count 2 for the 3 objects sent"));
        assert!(refused(status("complete", [3, 2, 0, 0])).contains("is not total_count 3"));
        assert!(refused(status("complete", [3, 2, 0, 1])).contains("complete, with pending_count 1"));
        assert!(refused(status("done", [3, 3, 0, 0])).contains("expected complete or pending"));
        assert!(refused(status("complete", [3, u64::MAX, 4, 0])).contains("is not total_count"));
    }

    #[test]
    fn failures_are_listed_with_their_reasons() {
        let mut answer = status("complete", [2, 1, 1, 0]);
        answer["failures"] = json!([{"id": "x--1", "version": "2026-01-01T00:00:00.000Z", "message": "bad"}]);
        let read = Status::read(&answer, 2).unwrap();
        assert_eq!(read.failures_listed(), "x--1 2026-01-01T00:00:00.000Z (bad)");
    }
}
