//! The HTTP API in-process: the axum Router driven with `tower::ServiceExt::oneshot`, on a
//! temporary data directory.

mod common;

use std::path::Path;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use glasshouse_collector::{AppState, Collector, Config};
use serde_json::{Value, json};
use tower::ServiceExt;

use common::{HOUR, batch, batch_files, hour_start};

struct Harness {
    dir: tempfile::TempDir,
    state: AppState,
    app: Router,
}

fn harness() -> Harness {
    harness_with(Config {
        rate_per_sec: 0.0,
        ..Config::default()
    })
}

fn harness_with(config: Config) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::open(dir.path()).unwrap();
    collector.add_team("platform").unwrap();
    collector.add_team("design").unwrap();
    let state = AppState::new(collector, config).unwrap();
    let app = glasshouse_collector::router(state.clone());
    Harness { dir, state, app }
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{}: not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts the JSON error shape and returns its kind.
    fn error_kind(&self) -> String {
        let v = self.json();
        let message = v["error"]["message"].as_str().expect("an error message");
        assert!(!message.is_empty());
        v["error"]["kind"]
            .as_str()
            .expect("an error kind")
            .to_owned()
    }
}

impl Harness {
    fn data(&self) -> &Path {
        self.dir.path()
    }

    async fn send(&self, req: Request<Body>) -> Reply {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), 64 << 20)
            .await
            .unwrap()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn json(&self, method: &str, path: &str, auth: Option<&str>, body: Value) -> Reply {
        let text = body.to_string();
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, text.len());
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, format!("Bearer {a}"));
        }
        self.send(req.body(Body::from(text)).unwrap()).await
    }

    async fn get(&self, path: &str, auth: Option<&str>) -> Reply {
        let mut req = Request::builder().uri(path);
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, format!("Bearer {a}"));
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    async fn upload(&self, secret: Option<&str>, bytes: Vec<u8>, sha: Option<&str>) -> Reply {
        let mut req = Request::builder()
            .method("POST")
            .uri("/api/v1/batches")
            .header(
                header::CONTENT_TYPE,
                "application/vnd.glasshouse.batch+zstd",
            )
            .header(header::CONTENT_LENGTH, bytes.len());
        if let Some(s) = secret {
            req = req.header(header::AUTHORIZATION, format!("Bearer {s}"));
        }
        if let Some(s) = sha {
            req = req.header("X-Glasshouse-Sha256", s);
        }
        self.send(req.body(Body::from(bytes)).unwrap()).await
    }

    async fn withdraw(&self, secret: &str, sha: &str) -> Reply {
        let req = Request::builder()
            .method("DELETE")
            .uri(format!("/api/v1/batches/{sha}"))
            .header(header::AUTHORIZATION, format!("Bearer {secret}"))
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }

    /// Enrolls a device into `team` (a new single-use token) and opts it in if asked.
    async fn device(&self, team: &str, participate: bool) -> (String, String) {
        let token = self
            .state
            .collector()
            .new_enrollment_token(team, 1)
            .unwrap();
        let r = self
            .json("POST", "/api/v1/enroll", None, json!({ "token": token }))
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
        let v = r.json();
        let id = v["device_id"].as_str().unwrap().to_owned();
        let secret = v["device_secret"].as_str().unwrap().to_owned();
        if participate {
            let r = self
                .json(
                    "PUT",
                    "/api/v1/participation",
                    Some(&secret),
                    json!({ "participating": true }),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK);
        }
        (id, secret)
    }

    fn rows(&self) -> Vec<String> {
        self.state.collector().stored_batches().unwrap()
    }

    /// Everything that a change would touch: rows and files.
    fn snapshot(&self) -> (Vec<String>, Vec<String>) {
        (self.rows(), batch_files(self.data()))
    }
}

#[tokio::test]
async fn enrollment_gives_a_device_and_uses_up_the_token() {
    let h = harness();
    let token = h
        .state
        .collector()
        .new_enrollment_token("platform", 2)
        .unwrap();
    let r = h
        .json("POST", "/api/v1/enroll", None, json!({ "token": token }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let v = r.json();
    let id = v["device_id"].as_str().unwrap();
    assert!(id.starts_with("dev_") && id.len() == 36, "{id}");
    assert!(id[4..].bytes().all(|b| b.is_ascii_hexdigit()));
    let secret = v["device_secret"].as_str().unwrap();
    assert_eq!(secret.len(), 64);
    assert_eq!(v["team"], "platform");
    assert_eq!(v["participating"], false);

    // The second use works, the third does not; an unknown token is unauthorized.
    let r = h
        .json("POST", "/api/v1/enroll", None, json!({ "token": token }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_ne!(r.json()["device_id"], v["device_id"]);
    let r = h
        .json("POST", "/api/v1/enroll", None, json!({ "token": token }))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error_kind(), "forbidden");
    let r = h
        .json(
            "POST",
            "/api/v1/enroll",
            None,
            json!({ "token": "ghe_nope" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error_kind(), "unauthorized");

    // Malformed enrollments change nothing.
    let teams = h.state.collector().teams().unwrap();
    for body in [
        json!({}),
        json!({ "token": 5 }),
        json!({ "token": token, "x": 1 }),
    ] {
        let r = h.json("POST", "/api/v1/enroll", None, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.error_kind(), "bad_request");
    }
    let r = h
        .send(
            Request::post("/api/v1/enroll")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{not json"))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.error_kind();
    assert_eq!(h.state.collector().teams().unwrap(), teams);
    assert_eq!(teams[1].devices, 2, "{teams:?}");
}

#[tokio::test]
async fn participation_is_set_and_kept_with_its_time() {
    let h = harness();
    let (_, secret) = h.device("platform", false).await;
    let r = h
        .json(
            "PUT",
            "/api/v1/participation",
            Some(&secret),
            json!({ "participating": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["participating"], true);
    let since = v["since"].as_str().unwrap().to_owned();
    assert!(chrono::DateTime::parse_from_rfc3339(&since).is_ok());
    // The same value again keeps the time it was set.
    let r = h
        .json(
            "PUT",
            "/api/v1/participation",
            Some(&secret),
            json!({ "participating": true }),
        )
        .await;
    assert_eq!(r.json()["since"], since.as_str());
    let r = h
        .json(
            "PUT",
            "/api/v1/participation",
            Some(&secret),
            json!({ "participating": false }),
        )
        .await;
    assert_eq!(r.json()["participating"], false);
    assert_ne!(r.json()["since"], since.as_str());

    for auth in [None, Some("0".repeat(64))] {
        let r = h
            .json(
                "PUT",
                "/api/v1/participation",
                auth.as_deref(),
                json!({ "participating": true }),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.error_kind(), "unauthorized");
    }
    let r = h
        .json(
            "PUT",
            "/api/v1/participation",
            Some(&secret),
            json!({ "participating": "yes" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(h.state.collector().teams().unwrap()[1].participating, 0);
}

#[tokio::test]
async fn upload_is_stored_once_and_idempotent() {
    let h = harness();
    let (id, secret) = h.device("platform", true).await;
    let b = batch(&id, "platform", hour_start(3), 40);
    let r = h
        .upload(Some(&secret), b.bytes.clone(), Some(&b.sha256))
        .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let receipt = r.json();
    assert_eq!(receipt["sha256"], glasshouse_batch::sha256_hex(&b.bytes));
    assert_eq!(receipt["bytes"], b.bytes.len());
    assert_eq!(receipt["events"], b.events);
    let start = chrono::DateTime::parse_from_rfc3339(receipt["window_start"].as_str().unwrap())
        .unwrap()
        .timestamp_micros();
    assert_eq!(start, hour_start(3));
    assert!(receipt["received_at"].as_str().is_some());

    // Again (without the optional header): 200 and the very same receipt.
    let again = h.upload(Some(&secret), b.bytes.clone(), None).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json(), receipt);

    let path = h.state.collector().batch_path(&b.sha256);
    assert_eq!(std::fs::read(&path).unwrap(), b.bytes);
    assert_eq!(h.rows(), vec![b.sha256.clone()]);
    assert_eq!(batch_files(h.data()).len(), 1);
    assert!(common::files_under(&h.data().join("batches/tmp")).is_empty());
}

#[tokio::test]
async fn bad_uploads_are_refused_and_change_nothing() {
    let h = harness();
    let (id, secret) = h.device("platform", true).await;
    let (other_id, _) = h.device("platform", true).await;
    let (_, idle_secret) = h.device("platform", false).await;
    let good = batch(&id, "platform", hour_start(2), 10);
    let before = h.snapshot();

    // The SHA-256 header disagrees.
    let wrong = "0".repeat(64);
    let r = h
        .upload(Some(&secret), good.bytes.clone(), Some(&wrong))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_kind(), "sha256_mismatch");
    let r = h
        .upload(Some(&secret), good.bytes.clone(), Some("xyz"))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Garbage, a truncated batch, nothing at all: 400 with the batch format's sentence.
    for bytes in [
        b"definitely not a batch".to_vec(),
        good.bytes[..good.bytes.len() / 2].to_vec(),
        Vec::new(),
    ] {
        let r = h.upload(Some(&secret), bytes, None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.error_kind(), "invalid_batch");
    }
    let r = h.upload(Some(&secret), b"junk".to_vec(), None).await;
    let expected = glasshouse_batch::decode(b"junk").unwrap_err().to_string();
    assert_eq!(r.json()["error"]["message"], expected.as_str());

    // Too large: refused from its declared length, before reading.
    let huge = vec![0u8; glasshouse_batch::MAX_COMPRESSED_BYTES + 1];
    let r = h.upload(Some(&secret), huge, None).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.error_kind(), "too_large");

    // Unauthenticated, or a wrong secret.
    let r = h.upload(None, good.bytes.clone(), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error_kind(), "unauthorized");
    let r = h
        .upload(Some(&"f".repeat(64)), good.bytes.clone(), None)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Another device's batch, or another team's: forbidden.
    let theirs = batch(&other_id, "platform", hour_start(2), 10);
    let r = h.upload(Some(&secret), theirs.bytes, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let wrong_team = batch(&id, "design", hour_start(2), 10);
    let r = h.upload(Some(&secret), wrong_team.bytes, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("design")
    );

    // A device that has not opted in.
    let r = h.upload(Some(&idle_secret), good.bytes.clone(), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["error"]["message"], "this device has not opted in");

    // The wrong media type.
    let req = Request::post("/api/v1/batches")
        .header(header::AUTHORIZATION, format!("Bearer {secret}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(good.bytes.clone()))
        .unwrap();
    let r = h.send(req).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    r.error_kind();

    // A chunked body (no declared length).
    let req = Request::post("/api/v1/batches")
        .header(header::AUTHORIZATION, format!("Bearer {secret}"))
        .header(
            header::CONTENT_TYPE,
            "application/vnd.glasshouse.batch+zstd",
        )
        .header(header::TRANSFER_ENCODING, "chunked")
        .body(Body::from(good.bytes.clone()))
        .unwrap();
    let r = h.send(req).await;
    assert_eq!(r.status, StatusCode::LENGTH_REQUIRED);

    assert_eq!(h.snapshot(), before);
    assert!(before.0.is_empty() && before.1.is_empty());

    // And the good one still goes in afterwards.
    let r = h.upload(Some(&secret), good.bytes.clone(), None).await;
    assert_eq!(r.status, StatusCode::CREATED);
}

#[tokio::test]
async fn json_bodies_are_bounded_and_unknown_routes_are_json() {
    let h = harness();
    let big = "x".repeat(70 * 1024);
    let r = h
        .json("POST", "/api/v1/enroll", None, json!({ "token": big }))
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.error_kind(), "too_large");
    let r = h.get("/api/v1/nothing-here", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.error_kind(), "not_found");
    let r = h.get("/api/v1/enroll", None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.error_kind(), "method_not_allowed");
    let r = h.get("/healthz", None).await;
    assert_eq!((r.status, r.body.as_slice()), (StatusCode::OK, &b"ok"[..]));
}

#[tokio::test]
async fn withdrawal_removes_file_and_row_for_good() {
    let h = harness();
    let (id, secret) = h.device("platform", true).await;
    let (_, other) = h.device("platform", true).await;
    let b = batch(&id, "platform", hour_start(5), 20);
    assert_eq!(
        h.upload(Some(&secret), b.bytes.clone(), None).await.status,
        StatusCode::CREATED
    );
    let path = h.state.collector().batch_path(&b.sha256);
    assert!(path.exists());

    // Another device cannot withdraw it (nor learn that it exists).
    let r = h.withdraw(&other, &b.sha256).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(path.exists());

    let r = h.withdraw(&secret, &b.sha256).await;
    assert_eq!(r.status, StatusCode::OK);
    let receipt = r.json();
    assert_eq!(receipt["sha256"], b.sha256.as_str());
    assert_eq!(receipt["status"], "deleted");
    assert!(!path.exists(), "the file is unlinked");
    assert!(h.rows().is_empty(), "the row is gone");
    assert!(batch_files(h.data()).is_empty());

    // Again: the same receipt. Uploading it again is refused (the withdrawal stands).
    let again = h.withdraw(&secret, &b.sha256).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json(), receipt);
    let r = h.upload(Some(&secret), b.bytes.clone(), None).await;
    assert_eq!(r.status, StatusCode::GONE);
    assert_eq!(r.error_kind(), "withdrawn");
    assert!(!path.exists());
    let r = h.withdraw(&other, &b.sha256).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Unknown and malformed SHA-256s.
    let r = h.withdraw(&secret, &"a".repeat(64)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.error_kind(), "not_found");
    let r = h.withdraw(&secret, "..%2F..%2Fcollector.db").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(h.data().join("collector.db").exists());
}

#[tokio::test]
async fn aggregates_hide_small_groups_and_need_a_manager() {
    let h = harness();
    let manager = h.state.collector().new_manager_token("test").unwrap();
    let mut platform = Vec::new();
    for i in 0..6 {
        platform.push(h.device("platform", i < 5).await);
    }
    for _ in 0..3 {
        h.device("design", true).await;
    }
    // Two approved hours from each of two participants; one withdrawn later.
    for (id, secret) in &platform[..2] {
        for hours_ago in [1, 2] {
            let b = batch(id, "platform", hour_start(hours_ago), 5);
            assert_eq!(
                h.upload(Some(secret), b.bytes, None).await.status,
                StatusCode::CREATED
            );
        }
    }
    let (id, secret) = &platform[0];
    let extra = batch(id, "platform", hour_start(3), 5);
    h.upload(Some(secret), extra.bytes, None).await;
    h.withdraw(secret, &extra.sha256).await;

    for auth in [None, Some("ghm_wrong"), Some(platform[0].1.as_str())] {
        let r = h.get("/api/v1/aggregates", auth).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(r.error_kind(), "unauthorized");
    }
    let r = h.get("/api/v1/aggregates?days=7", Some(&manager)).await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["k"], 5);
    assert_eq!(v["days"].as_array().unwrap().len(), 7);
    let teams = v["teams"].as_array().unwrap();
    // Teams come in name order: design (hidden), platform.
    assert_eq!(teams[0], json!({ "team": "design", "hidden": true }));
    let p = &teams[1];
    assert_eq!(p["team"], "platform");
    assert_eq!(
        (p["enrolled"].as_u64(), p["participating"].as_u64()),
        (Some(6), Some(5))
    );
    assert!((p["rate"].as_f64().unwrap() - 5.0 / 6.0).abs() < 1e-9);
    let hours_today_or_before = p["approved_hours"].as_u64().unwrap();
    assert_eq!(hours_today_or_before, 4, "{p}");
    let today = p["daily"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(today["enrolled"], 6);
    // Totals are over the shown team only, and say so.
    assert_eq!(v["hidden_teams"], 1);
    assert_eq!(v["totals"]["teams"], 1);
    assert_eq!(v["totals"]["enrolled"], 6);
    assert_eq!(v["totals"]["participating"], 5);
    assert!(v["totals"]["scope"].as_str().unwrap().contains("shown"));
    // Nothing about the hidden team anywhere: its size (3) appears in no figure.
    let text = v.to_string();
    assert!(!text.contains("\"enrolled\":9") && !text.contains("\"participating\":8"));

    let r = h.get("/api/v1/aggregates?days=0", Some(&manager)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = h.get("/api/v1/aggregates?days=x", Some(&manager)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    r.error_kind();
}

#[tokio::test]
async fn manager_page_signs_in_with_a_cookie() {
    let h = harness();
    let manager = h.state.collector().new_manager_token("test").unwrap();
    for i in 0..6 {
        h.device("platform", i < 5).await;
    }
    h.device("design", true).await;

    let r = h.get("/manager", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let page = String::from_utf8(r.body.clone()).unwrap();
    assert!(page.contains("<form") && page.contains("Manager token"));
    let csp = r.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("unsafe"),
        "{csp}"
    );

    let r = h.get("/manager?token=ghm_wrong", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.headers.get(header::SET_COOKIE).is_none());

    let r = h.get(&format!("/manager?token={manager}"), None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/manager");
    let cookie = r.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_owned();

    let req = Request::get("/manager")
        .header(header::COOKIE, pair)
        .body(Body::empty())
        .unwrap();
    let r = h.send(req).await;
    assert_eq!(r.status, StatusCode::OK);
    let page = String::from_utf8(r.body).unwrap();
    assert!(page.contains("83%"), "the platform rate");
    assert!(page.contains("fewer than 5 people"));
    assert!(page.contains("<svg") && page.contains("role=\"img\""));
    assert!(!page.contains("dev_"), "no device id on the page");
    assert!(!page.contains("<script"));
    // The one inline style sheet matches the CSP hash; nothing else is inline.
    assert_eq!(page.matches("<style>").count(), 1);
    assert!(!page.contains(" style=\""));

    // The form posts the token.
    let req = Request::post("/manager")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("token={manager}")))
        .unwrap();
    assert_eq!(h.send(req).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn rate_limit_answers_429_in_json() {
    let h = harness_with(Config {
        rate_per_sec: 0.001,
        rate_burst: 3.0,
        ..Config::default()
    });
    for _ in 0..3 {
        assert_eq!(h.get("/healthz", None).await.status, StatusCode::OK);
    }
    let r = h.get("/healthz", None).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.error_kind(), "rate_limited");
}

#[tokio::test]
async fn request_log_has_no_tokens_or_query_strings() {
    let h = harness();
    let manager = h.state.collector().new_manager_token("test").unwrap();
    let (_, secret) = h.device("platform", true).await;
    h.get(&format!("/manager?token={manager}"), None).await;
    let log = std::fs::read_to_string(h.data().join("requests.jsonl")).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let paths: Vec<&str> = lines.iter().map(|l| l["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        ["/api/v1/enroll", "/api/v1/participation", "/manager"]
    );
    assert_eq!(lines[0]["method"], "POST");
    assert_eq!(lines[0]["status"], 201);
    assert!(lines[0]["bytes_in"].as_u64().unwrap() > 0);
    assert!(lines[0]["ts"].as_str().is_some());
    assert!(!log.contains(&manager) && !log.contains(&secret));
    assert!(!log.contains("token"));
}

#[tokio::test]
async fn admin_k_cannot_go_below_five() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::open(dir.path()).unwrap();
    let err = AppState::new(
        collector,
        Config {
            min_group: 3,
            ..Config::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("5"));
}

#[test]
fn export_round_trips_the_documents() {
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::open(dir.path()).unwrap();
    collector.add_team("platform").unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let state = AppState::new(
        collector,
        Config {
            rate_per_sec: 0.0,
            ..Config::default()
        },
    )
    .unwrap();
    let h = Harness {
        app: glasshouse_collector::router(state.clone()),
        state,
        dir,
    };
    let shas = rt.block_on(async {
        let (id, secret) = h.device("platform", true).await;
        let mut shas = Vec::new();
        for hours_ago in 1..=3 {
            let b = batch(&id, "platform", hour_start(hours_ago), 7);
            h.upload(Some(&secret), b.bytes.clone(), None).await;
            shas.push((b.sha256, b.bytes));
        }
        shas
    });
    let mut out = Vec::new();
    let n = h.state.collector().export(None, None, &mut out).unwrap();
    assert_eq!(n, 3);
    let lines: Vec<Value> = std::str::from_utf8(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (sha, bytes) in &shas {
        let line = lines.iter().find(|l| l["sha256"] == sha.as_str()).unwrap();
        assert_eq!(line["team"], "platform");
        assert!(line["device"].as_str().unwrap().starts_with("dev_"));
        assert!(line["received_at"].as_str().is_some());
        let original = serde_json::to_value(glasshouse_batch::decode(bytes).unwrap()).unwrap();
        assert_eq!(line["document"], original);
    }
    // Filters: a team that exists but has nothing, one that does not, and a time in the future.
    h.state.collector().add_team("empty").unwrap();
    let mut out = Vec::new();
    assert_eq!(
        h.state
            .collector()
            .export(None, Some("empty"), &mut out)
            .unwrap(),
        0
    );
    assert!(
        h.state
            .collector()
            .export(None, Some("nope"), &mut out)
            .is_err()
    );
    let future = chrono::Utc::now().timestamp_micros() + HOUR;
    assert_eq!(
        h.state
            .collector()
            .export(Some(future), None, &mut out)
            .unwrap(),
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_and_silent_clients_time_out() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let state = AppState::new(
        Collector::open(dir.path()).unwrap(),
        Config {
            rate_per_sec: 0.0,
            request_timeout: Duration::from_millis(300),
            idle_timeout: Duration::from_millis(800),
            ..Config::default()
        },
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(glasshouse_collector::serve(listener, state, async {
        let _ = stopped.await;
    }));

    let (status, body, silent) = tokio::task::spawn_blocking(move || {
        // A body that never arrives in full: 408, as JSON.
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(
            b"POST /api/v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"tok",
        )
        .unwrap();
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        let text = String::from_utf8_lossy(&raw).to_string();
        let status = text.split_whitespace().nth(1).unwrap_or("").to_owned();
        let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
        // A client that says nothing at all is hung up on.
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let start = Instant::now();
        let mut buf = [0u8; 16];
        let n = s.read(&mut buf).unwrap_or(0);
        assert_eq!(n, 0, "nothing is sent to a silent client");
        (status, body, start.elapsed())
    })
    .await
    .unwrap();
    assert_eq!(status, "408", "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["kind"], "timeout");
    assert!(silent < Duration::from_secs(5), "closed after {silent:?}");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
