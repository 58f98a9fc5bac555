//! The collector's HTTP API, as the device calls it (see the collector crate for the server):
//! enroll, participation, upload a batch, withdraw a batch. Blocking: it runs on the uploader's
//! own thread or on a request's thread, never on the recorder's pipeline.
//!
//! Plain `http://` is accepted only for a collector on this machine (loopback); anything else
//! must be `https://`, so the device secret and the batches never cross a network in the clear.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::UploadError;

/// How long one request may take in all (a batch is at most 16 MiB).
const TIMEOUT: Duration = Duration::from_secs(60);
/// The largest answer read from the collector.
const MAX_ANSWER: u64 = 1 << 20;

/// The collector's answer to an enrollment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    pub device_id: String,
    pub device_secret: String,
    pub team: String,
}

/// A collector, by its base URL.
#[derive(Debug, Clone)]
pub struct Collector {
    base: String,
    agent: ureq::Agent,
}

impl Collector {
    /// Checks the address: `https://host[:port][/path]`, or `http://` to a loopback host.
    pub fn new(url: &str) -> Result<Collector, UploadError> {
        let trimmed = url.trim();
        let base = match trimmed.split_once("://") {
            Some((scheme, rest)) => format!("{scheme}://{}", rest.trim_end_matches('/')),
            None => trimmed.to_owned(),
        };
        let bad = |reason: &str| UploadError::BadUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = if let Some(rest) = base.strip_prefix("https://") {
            rest
        } else if let Some(rest) = base.strip_prefix("http://") {
            if !is_loopback(host_of(rest)) {
                return Err(bad(
                    "use https:// (plain http:// is only allowed for a collector on this machine)",
                ));
            }
            rest
        } else {
            return Err(bad("it must start with https://"));
        };
        if host_of(rest).is_empty() {
            return Err(bad("it names no host"));
        }
        if rest.contains(['?', '#', '@', ' ']) {
            return Err(bad(
                "it must be a plain address without credentials, query or fragment",
            ));
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .new_agent();
        Ok(Collector { base, agent })
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    /// Enrolls this device with a team's enrollment token.
    pub fn enroll(&self, token: &str) -> Result<Enrollment, UploadError> {
        let body = serde_json::json!({ "token": token }).to_string();
        let answer = self.call(
            "POST",
            "/api/v1/enroll",
            None,
            Some(("application/json", body.into_bytes())),
        )?;
        serde_json::from_value(answer).map_err(|e| UploadError::BadAnswer(e.to_string()))
    }

    /// Tells the collector whether this device takes part.
    pub fn participation(&self, secret: &str, participating: bool) -> Result<(), UploadError> {
        let body = serde_json::json!({ "participating": participating }).to_string();
        self.call(
            "PUT",
            "/api/v1/participation",
            Some(secret),
            Some(("application/json", body.into_bytes())),
        )
        .map(drop)
    }

    /// Uploads an approved batch. Idempotent: the collector answers a repeat with the same
    /// receipt. The receipt's SHA-256 (the collector's own computation) must match.
    pub fn upload(&self, secret: &str, bytes: &[u8], sha256: &str) -> Result<Value, UploadError> {
        let receipt = self.call_with(
            "POST",
            "/api/v1/batches",
            Some(secret),
            Some(("application/vnd.glasshouse.batch+zstd", bytes.to_vec())),
            &[("X-Glasshouse-Sha256", sha256)],
        )?;
        match receipt.get("sha256").and_then(Value::as_str) {
            Some(s) if s == sha256 => Ok(receipt),
            Some(s) => Err(UploadError::BadAnswer(format!(
                "the receipt names SHA-256 {s}, but the batch sent has {sha256}"
            ))),
            None => Err(UploadError::BadAnswer("the receipt has no SHA-256".into())),
        }
    }

    /// Asks the collector to delete an uploaded batch; returns its deletion receipt.
    pub fn withdraw(&self, secret: &str, sha256: &str) -> Result<Value, UploadError> {
        if !sha256.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(UploadError::BadAnswer(format!("not a SHA-256: {sha256}")));
        }
        self.call(
            "DELETE",
            &format!("/api/v1/batches/{sha256}"),
            Some(secret),
            None,
        )
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        secret: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Value, UploadError> {
        self.call_with(method, path, secret, body, &[])
    }

    fn call_with(
        &self,
        method: &str,
        path: &str,
        secret: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
        headers: &[(&str, &str)],
    ) -> Result<Value, UploadError> {
        let url = format!("{}{path}", self.base);
        let mut req = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header("Accept", "application/json");
        if let Some(s) = secret {
            req = req.header("Authorization", format!("Bearer {s}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let unreachable = |reason: String| UploadError::Unreachable {
            url: self.base.clone(),
            reason,
        };
        let result = match body {
            Some((content_type, bytes)) => {
                let req = req
                    .header("Content-Type", content_type)
                    .body(bytes)
                    .map_err(|e| unreachable(e.to_string()))?;
                self.agent.run(req)
            }
            None => {
                let req = req.body(()).map_err(|e| unreachable(e.to_string()))?;
                self.agent.run(req)
            }
        };
        let mut resp = result.map_err(|e| unreachable(e.to_string()))?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_string()
            .map_err(|e| unreachable(format!("reading the answer: {e}")))?;
        let json: Option<Value> = serde_json::from_str(&text).ok();
        if (200..300).contains(&status) {
            return json.ok_or_else(|| {
                UploadError::BadAnswer(format!("{method} {path} answered {status} without JSON"))
            });
        }
        let message = json
            .as_ref()
            .and_then(|v| v.pointer("/error/message"))
            .and_then(Value::as_str)
            .map_or_else(|| short(&text), str::to_owned);
        if status >= 500 {
            Err(UploadError::Server { status, message })
        } else {
            Err(UploadError::Refused { status, message })
        }
    }
}

fn short(text: &str) -> String {
    let t: String = text.trim().chars().take(200).collect();
    if t.is_empty() {
        "no reason given".into()
    } else {
        t
    }
}

/// The host of `host[:port][/path]` (IPv6 in brackets kept with its brackets).
fn host_of(rest: &str) -> &str {
    let authority = rest.split('/').next().unwrap_or("");
    if authority.starts_with('[') {
        return authority
            .split(']')
            .next()
            .map_or("", |h| &authority[..h.len() + 1]);
    }
    authority.split(':').next().unwrap_or("")
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collector_addresses_are_checked() {
        for ok in [
            "https://collector.example.com",
            "https://collector.example.com:8443/base/",
            "http://127.0.0.1:8750",
            "http://localhost:8750",
            "http://[::1]:8750",
        ] {
            assert!(Collector::new(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("http://collector.example.com", "https"),
            ("ftp://x", "https"),
            ("https://", "no host"),
            ("https://user:pw@host", "credentials"),
            ("collector.example.com", "https"),
        ] {
            let err = Collector::new(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
        assert_eq!(
            Collector::new("https://c.example/").unwrap().url(),
            "https://c.example"
        );
    }

    #[test]
    fn a_dead_collector_is_unreachable_and_transient() {
        // A port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = Collector::new(&format!("http://127.0.0.1:{port}")).unwrap();
        let err = c.participation("secret", true).unwrap_err();
        assert!(matches!(err, UploadError::Unreachable { .. }), "{err:?}");
        assert!(err.is_transient());
        assert!(err.to_string().contains("could not reach the collector"));
    }
}
