//! The collector's whole request path, in process: the real axum Router (extractors, body limits,
//! authentication, JSON errors, the batch decoder, the store) on a temporary data directory,
//! driven with `tower::ServiceExt::oneshot`.
//!
//! An input is an HTTP/1.1 request as bytes (request line, headers, blank line, body), so a saved
//! finding can be read, and sent to a real collector with `nc`. `$DEVICE`, `$IDLE`, `$MANAGER`,
//! `$TOKEN` and `$SHA` stand for this run's credentials (a participating device's secret, a
//! non-participating one's, a manager token, an enrollment token, a stored batch's SHA-256).
//!
//! Checked for every input: no 5xx; an error is the JSON error shape (`{"error":{kind,message}}`)
//! or, on `/manager`, its HTML sign-in page; a success is JSON (HTML on `/manager`, `ok` on
//! `/healthz`); a redirect only from `/manager`.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode, header};
use glasshouse_collector::{AppState, Collector, Config};
use glasshouse_core::settings::CaptureLevel;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::batch::{START, documents, generate_batch, sample_batch};
use super::{Target, Verdict};
use crate::{FuzzError, Rng};

const HOUR: i64 = 3_600_000_000;

const DICT: &[&str] = &[
    "token",
    "participating",
    "$TOKEN",
    "$DEVICE",
    "$MANAGER",
    "true",
    "days",
];

const BYTE_DICT: &[&[u8]] = &[
    b"$DEVICE",
    b"$IDLE",
    b"$MANAGER",
    b"$TOKEN",
    b"$SHA",
    b"Authorization: Bearer ",
    b"Content-Type: application/json\r\n",
    b"Content-Type: application/vnd.glasshouse.batch+zstd\r\n",
    b"Content-Length: ",
    b"Transfer-Encoding: chunked\r\n",
    b"X-Glasshouse-Sha256: ",
    b"Cookie: glasshouse_manager=",
    b"/api/v1/",
    b"/manager",
    b"?days=",
    b"%00",
    b"%2F",
    b"\r\n\r\n",
];

/// The credentials of this run, substituted for their placeholders.
struct Secrets {
    device: String,
    idle: String,
    manager: String,
    token: String,
    sha: String,
}

pub struct CollectorTarget {
    _dir: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
    app: axum::Router,
    secrets: Secrets,
    /// Batches of the participating device (valid, so uploads get past the decoder).
    batches: Vec<Vec<u8>>,
    docs: Vec<Vec<u8>>,
    execs: u64,
}

/// A request as bytes.
fn request(method: &str, target: &str, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\n").into_bytes();
    for (k, v) in headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    out
}

fn replace_all(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

/// What came back from the router.
struct Answer {
    status: StatusCode,
    content_type: String,
    body: Vec<u8>,
}

impl CollectorTarget {
    pub fn new() -> Result<CollectorTarget, FuzzError> {
        let fail = |e: &dyn std::fmt::Display| FuzzError::setup("collector", e);
        let dir = tempfile::tempdir().map_err(|e| fail(&e))?;
        let collector = Collector::open(dir.path()).map_err(|e| fail(&e))?;
        collector.add_team("platform").map_err(|e| fail(&e))?;
        collector.add_team("design").map_err(|e| fail(&e))?;
        let token = collector
            .new_enrollment_token("platform", 1_000_000)
            .map_err(|e| fail(&e))?;
        let manager = collector.new_manager_token("fuzz").map_err(|e| fail(&e))?;
        let state = AppState::new(
            collector,
            Config {
                // The limiter would answer everything 429 after the first burst.
                rate_per_sec: 0.0,
                ..Config::default()
            },
        )
        .map_err(|e| fail(&e))?;
        let app = glasshouse_collector::router(state);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("fuzz-tokio")
            .build()
            .map_err(|e| fail(&e))?;
        let mut target = CollectorTarget {
            _dir: dir,
            runtime,
            app,
            secrets: Secrets {
                device: String::new(),
                idle: String::new(),
                manager,
                token,
                sha: String::new(),
            },
            batches: Vec::new(),
            docs: Vec::new(),
            execs: 0,
        };
        // Six devices in one team, so the manager page has a team to show; the first takes
        // part and uploads, the second does not.
        let mut devices = Vec::new();
        for _ in 0..6 {
            let body = json!({ "token": target.secrets.token }).to_string();
            let a = target.send_raw(&request(
                "POST",
                "/api/v1/enroll",
                &[("Content-Type", "application/json".into())],
                body.as_bytes(),
            ));
            let v: Value = serde_json::from_slice(&a.body).map_err(|e| fail(&e))?;
            let (Some(id), Some(secret)) = (v["device_id"].as_str(), v["device_secret"].as_str())
            else {
                return Err(fail(&format!("enrollment failed: {v}")));
            };
            devices.push((id.to_owned(), secret.to_owned()));
        }
        target.secrets.device = devices[0].1.clone();
        target.secrets.idle = devices[1].1.clone();
        target.participate();
        let device_id = devices[0].0.clone();
        for (i, level) in [
            CaptureLevel::Full,
            CaptureLevel::Categories,
            CaptureLevel::Counts,
        ]
        .into_iter()
        .enumerate()
        {
            let start = (START / HOUR - i as i64) * HOUR;
            let b = sample_batch(&device_id, "platform", start, level, 5).map_err(|e| fail(&e))?;
            target.batches.push(b.bytes);
        }
        target.docs = documents(&target.batches);
        let first = target.batches[0].clone();
        let a = target.send_raw(&target.upload_request(&first, None));
        if a.status != StatusCode::CREATED {
            return Err(fail(&format!(
                "the seed batch was refused: {} {}",
                a.status,
                String::from_utf8_lossy(&a.body)
            )));
        }
        target.secrets.sha = glasshouse_batch::sha256_hex(&first);
        Ok(target)
    }

    fn participate(&mut self) {
        let r = request(
            "PUT",
            "/api/v1/participation",
            &[
                ("Content-Type", "application/json".into()),
                ("Authorization", "Bearer $DEVICE".into()),
            ],
            br#"{"participating":true}"#,
        );
        let _ = self.send_raw(&r);
    }

    fn upload_request(&self, bytes: &[u8], sha: Option<String>) -> Vec<u8> {
        let mut headers = vec![
            (
                "Content-Type",
                "application/vnd.glasshouse.batch+zstd".to_owned(),
            ),
            ("Authorization", "Bearer $DEVICE".to_owned()),
        ];
        if let Some(s) = sha {
            headers.push(("X-Glasshouse-Sha256", s));
        }
        request("POST", "/api/v1/batches", &headers, bytes)
    }

    fn substitute(&self, input: &[u8]) -> Vec<u8> {
        let s = &self.secrets;
        let mut out = input.to_vec();
        for (from, to) in [
            (&b"$DEVICE"[..], &s.device),
            (b"$IDLE", &s.idle),
            (b"$MANAGER", &s.manager),
            (b"$TOKEN", &s.token),
            (b"$SHA", &s.sha),
        ] {
            if out.windows(from.len()).any(|w| w == from) {
                out = replace_all(&out, from, to.as_bytes());
            }
        }
        out
    }

    /// Parses the request bytes (leniently: `\n` or `\r\n`), substitutes the credentials and
    /// sends it; `Err` when the bytes are no request hyper would hand to the router.
    fn build(&self, input: &[u8]) -> Result<(String, Request<Body>), String> {
        let input = self.substitute(input);
        let (head, body) = match input.windows(4).position(|w| w == b"\r\n\r\n") {
            Some(i) => (&input[..i], &input[i + 4..]),
            None => match input.windows(2).position(|w| w == b"\n\n") {
                Some(i) => (&input[..i], &input[i + 2..]),
                None => (&input[..], &[][..]),
            },
        };
        let mut lines = head
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let first = lines.next().unwrap_or_default();
        let mut parts = first.split(|&b| b == b' ').filter(|p| !p.is_empty());
        let method = Method::from_bytes(parts.next().unwrap_or_default())
            .map_err(|e| format!("method: {e}"))?;
        let target = std::str::from_utf8(parts.next().unwrap_or(b"/"))
            .map_err(|e| format!("target: {e}"))?
            .to_owned();
        let mut builder = Request::builder().method(method).uri(target.as_str());
        for line in lines {
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                return Err("a header line without a colon".into());
            };
            let name =
                HeaderName::from_bytes(&line[..colon]).map_err(|e| format!("header: {e}"))?;
            let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii())
                .map_err(|e| format!("header value: {e}"))?;
            builder = builder.header(name, value);
        }
        let req = builder
            .body(Body::from(body.to_vec()))
            .map_err(|e| format!("request: {e}"))?;
        let path = if req.method() == Method::HEAD {
            format!("HEAD {}", req.uri().path())
        } else {
            req.uri().path().to_owned()
        };
        Ok((path, req))
    }

    fn send(&self, req: Request<Body>) -> Answer {
        self.runtime.block_on(async {
            let res = match self.app.clone().oneshot(req).await {
                Ok(res) => res,
                Err(never) => match never {},
            };
            let status = res.status();
            let content_type = res
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body = axum::body::to_bytes(res.into_body(), 64 << 20)
                .await
                .map(|b| b.to_vec())
                .unwrap_or_else(|e| format!("(the body could not be read: {e})").into_bytes());
            Answer {
                status,
                content_type,
                body,
            }
        })
    }

    fn send_raw(&self, input: &[u8]) -> Answer {
        match self.build(input) {
            Ok((_, req)) => self.send(req),
            Err(e) => Answer {
                status: StatusCode::BAD_REQUEST,
                content_type: String::new(),
                body: e.into_bytes(),
            },
        }
    }

    fn some_batch(&mut self, rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
        match rng.below(4) {
            0 => self.batches[rng.below(self.batches.len())].clone(),
            1 => {
                // A new, valid batch (another hour), stored for real.
                let start = (START / HOUR - 24 - rng.below(10_000) as i64) * HOUR;
                let level = *rng.pick(&[
                    CaptureLevel::Full,
                    CaptureLevel::Categories,
                    CaptureLevel::Counts,
                ]);
                let id = self.device_id();
                sample_batch(&id, "platform", start, level, rng.below(20))
                    .map(|b| b.bytes)
                    .unwrap_or_default()
            }
            _ => generate_batch(rng, &self.docs, corpus),
        }
    }

    fn device_id(&self) -> String {
        self.docs
            .first()
            .and_then(|d| serde_json::from_slice::<Value>(d).ok())
            .and_then(|v| v["device"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

fn auth(rng: &mut Rng, usual: &str) -> Option<String> {
    match rng.below(12) {
        0 => None,
        1 => Some("Bearer ".into()),
        2 => Some("Basic ZnV6ejpmdXp6".into()),
        3 => Some(format!("Bearer {}", "x".repeat(300))),
        4 => Some("Bearer $IDLE".into()),
        5 => Some("Bearer $MANAGER".into()),
        6 => Some("bearer   $DEVICE  ".into()),
        7 => Some(format!("Bearer {:x}", rng.next_u64())),
        _ => Some(format!("Bearer {usual}")),
    }
}

impl Target for CollectorTarget {
    fn name(&self) -> &'static str {
        "collector"
    }

    fn seeds(&mut self) -> Vec<Vec<u8>> {
        let json_ct = ("Content-Type", "application/json".to_owned());
        let dev = ("Authorization", "Bearer $DEVICE".to_owned());
        let mgr = ("Authorization", "Bearer $MANAGER".to_owned());
        let mut seeds = vec![
            request(
                "POST",
                "/api/v1/enroll",
                std::slice::from_ref(&json_ct),
                br#"{"token":"$TOKEN"}"#,
            ),
            request(
                "PUT",
                "/api/v1/participation",
                &[json_ct.clone(), dev.clone()],
                br#"{"participating":true}"#,
            ),
            request(
                "DELETE",
                "/api/v1/batches/0000000000000000000000000000000000000000000000000000000000000000",
                std::slice::from_ref(&dev),
                b"",
            ),
            request(
                "GET",
                "/api/v1/aggregates?days=7",
                std::slice::from_ref(&mgr),
                b"",
            ),
            request("GET", "/manager?token=$MANAGER", &[], b""),
            request(
                "GET",
                "/manager?days=30",
                &[("Cookie", "glasshouse_manager=$MANAGER".into())],
                b"",
            ),
            request(
                "POST",
                "/manager",
                &[(
                    "Content-Type",
                    "application/x-www-form-urlencoded".to_owned(),
                )],
                b"token=$MANAGER",
            ),
            request("GET", "/healthz", &[], b""),
        ];
        for b in self.batches.clone() {
            let sha = glasshouse_batch::sha256_hex(&b);
            seeds.push(self.upload_request(&b, Some(sha)));
        }
        seeds
    }

    fn dictionary(&self) -> &[&'static [u8]] {
        BYTE_DICT
    }

    fn max_len(&self) -> usize {
        1 << 17
    }

    fn generate(&mut self, rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
        let ct_json = || "application/json".to_owned();
        let mut headers: Vec<(&str, String)> = Vec::new();
        let (method, target, body): (&str, String, Vec<u8>) = match rng.below(9) {
            0 => {
                headers.push(("Content-Type", ct_json()));
                let body = super::mutate_json(rng, br#"{"token":"$TOKEN"}"#, DICT);
                ("POST", "/api/v1/enroll".into(), body)
            }
            1 => {
                headers.push(("Content-Type", ct_json()));
                if let Some(a) = auth(rng, "$DEVICE") {
                    headers.push(("Authorization", a));
                }
                let body = super::mutate_json(rng, br#"{"participating":true}"#, DICT);
                ("PUT", "/api/v1/participation".into(), body)
            }
            2 | 3 => {
                let body = self.some_batch(rng, corpus);
                headers.push((
                    "Content-Type",
                    rng.pick(&[
                        "application/vnd.glasshouse.batch+zstd",
                        "application/vnd.glasshouse.batch+zstd; charset=x",
                        "APPLICATION/VND.GLASSHOUSE.BATCH+ZSTD",
                        "application/json",
                    ])
                    .to_string(),
                ));
                if let Some(a) = auth(rng, "$DEVICE") {
                    headers.push(("Authorization", a));
                }
                match rng.below(4) {
                    0 => headers.push((
                        "X-Glasshouse-Sha256",
                        glasshouse_batch::sha256_hex(&body).to_uppercase(),
                    )),
                    1 => headers.push(("X-Glasshouse-Sha256", "$SHA".into())),
                    2 => headers.push(("X-Glasshouse-Sha256", "not hex".into())),
                    _ => {}
                }
                ("POST", "/api/v1/batches".into(), body)
            }
            4 => {
                if let Some(a) = auth(rng, "$DEVICE") {
                    headers.push(("Authorization", a));
                }
                let sha = match rng.below(5) {
                    0 => "$SHA".to_owned(),
                    1 => "$SHA".to_uppercase(),
                    2 => glasshouse_batch::sha256_hex(&self.batches[rng.below(self.batches.len())]),
                    3 => "%2e%2e%2f%2e%2e%2fcollector.db".to_owned(),
                    _ => format!("{:x}", rng.next_u64()).repeat(rng.below(6)),
                };
                ("DELETE", format!("/api/v1/batches/{sha}"), Vec::new())
            }
            5 => {
                if let Some(a) = auth(rng, "$MANAGER") {
                    headers.push(("Authorization", a));
                }
                let days = *rng.pick(&["7", "0", "90", "91", "-1", "4294967296", "x", ""]);
                let q = if rng.one_in(3) {
                    format!("days={days}&days=1&extra=1")
                } else {
                    format!("days={days}")
                };
                ("GET", format!("/api/v1/aggregates?{q}"), Vec::new())
            }
            6 => {
                if rng.one_in(2) {
                    headers.push((
                        "Cookie",
                        format!(
                            "a=b; glasshouse_manager={}",
                            rng.pick(&["$MANAGER", "", "x", "$DEVICE"])
                        ),
                    ));
                }
                if rng.one_in(3) {
                    headers.push(("X-Forwarded-Proto", "https".into()));
                }
                let token = *rng.pick(&["$MANAGER", "%20$MANAGER%20", "", "%00", "$TOKEN"]);
                let days = *rng.pick(&["1", "90", "0", "abc", "99999999999"]);
                let q = match rng.below(3) {
                    0 => format!("?token={token}&days={days}"),
                    1 => format!("?days={days}"),
                    _ => String::new(),
                };
                ("GET", format!("/manager{q}"), Vec::new())
            }
            7 => {
                headers.push((
                    "Content-Type",
                    "application/x-www-form-urlencoded".to_owned(),
                ));
                let body = rng
                    .pick(&[
                        "token=$MANAGER",
                        "token=",
                        "token=%ZZ",
                        "token=a&token=b",
                        "x=1",
                        "token=%E2%82%AC",
                    ])
                    .as_bytes()
                    .to_vec();
                ("POST", "/manager".into(), body)
            }
            _ => {
                let method =
                    *rng.pick(&["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]);
                let path = *rng.pick(&[
                    "/",
                    "/api",
                    "/api/v1/batches",
                    "/api/v1/enroll",
                    "/api/v1/batches/",
                    "/manager/",
                    "//manager",
                    "/healthz?x",
                ]);
                let body = crate::json::random_value(rng, 2, DICT)
                    .to_string()
                    .into_bytes();
                headers.push(("Content-Type", ct_json()));
                (method, path.into(), body)
            }
        };
        if rng.one_in(30) {
            headers.push(("Transfer-Encoding", "chunked".into()));
        }
        if rng.one_in(20) {
            // A declared length that lies (hyper would hold the body to it; in process it
            // only reaches the handlers' own checks).
            let n = *rng.pick(&["0", "99999999999", "16777217", "-1", "x"]);
            let mut out = format!("{method} {target} HTTP/1.1\r\n").into_bytes();
            for (k, v) in &headers {
                out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
            }
            out.extend_from_slice(format!("Content-Length: {n}\r\n\r\n").as_bytes());
            out.extend_from_slice(&body);
            return out;
        }
        request(method, &target, &headers, &body)
    }

    fn execute(&mut self, input: &[u8]) -> Verdict {
        self.execs += 1;
        // Inputs may turn the uploading device's participation off; turn it back on now and
        // then so uploads keep reaching the decoder.
        if self.execs.is_multiple_of(64) {
            self.participate();
        }
        let (path, req) = match self.build(input) {
            Ok(r) => r,
            // hyper answers these 400 before the router sees them.
            Err(e) => return Verdict::Ok(format!("not a request: {e}")),
        };
        let a = self.send(req);
        let status = a.status;
        let manager = path.trim_start_matches("HEAD ").starts_with("/manager");
        let text = String::from_utf8_lossy(&a.body[..a.body.len().min(300)]).into_owned();
        if status.is_server_error() {
            let panics = crate::engine::take_other_panics();
            return Verdict::Violation(format!(
                "{path}: answered {status} to a bad request: {text}; panics: {panics:?}"
            ));
        }
        let json = a.content_type.starts_with("application/json");
        let html = a.content_type.starts_with("text/html");
        if status.is_client_error() {
            // A HEAD answer carries the headers of the error, not its body.
            if path.starts_with("HEAD ") && json {
                return Verdict::Ok(format!("{} {path}", status.as_u16()));
            }
            if manager && html {
                return Verdict::Ok(format!("{} {path} (sign-in page)", status.as_u16()));
            }
            let v: Value = match serde_json::from_slice(&a.body) {
                Ok(v) if json => v,
                _ => {
                    return Verdict::Violation(format!(
                        "{path}: a {status} that is not a JSON error ({}): {text}",
                        a.content_type
                    ));
                }
            };
            let kind = v["error"]["kind"].as_str().unwrap_or_default();
            let message = v["error"]["message"].as_str().unwrap_or_default();
            if kind.is_empty() || message.is_empty() {
                return Verdict::Violation(format!(
                    "{path}: a {status} without an error kind and message: {text}"
                ));
            }
            return Verdict::Ok(format!("{} {kind}: {message}", status.as_u16()));
        }
        if status.is_redirection() {
            return if manager {
                Verdict::Ok(format!("{} {path}", status.as_u16()))
            } else {
                Verdict::Violation(format!("{path}: an unexpected redirect {status}"))
            };
        }
        let fine = match path.as_str() {
            // A HEAD answer has no body.
            p if p.starts_with("HEAD ") => true,
            "/healthz" => a.body == b"ok",
            p if p.starts_with("/manager") => html,
            _ => json && serde_json::from_slice::<Value>(&a.body).is_ok(),
        };
        if fine {
            Verdict::Ok(format!("{} {path}", status.as_u16()))
        } else {
            Verdict::Violation(format!(
                "{path}: a {status} whose body is not what this address answers ({}): {text}",
                a.content_type
            ))
        }
    }
}
