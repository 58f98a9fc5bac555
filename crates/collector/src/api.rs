//! The HTTP API and its middleware: every route, authentication, body limits, the request log, the
//! rate limit, the request timeout, and JSON errors for everything that fails.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::connect_info::ConnectInfo;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::db::{BatchRow, Device, Tombstone};
use crate::error::{CollectorError, Result, error_body};
use crate::net::{ClientAddr, RateLimiter, RequestLog};
use crate::store::{BatchMeta, Collector, Known, is_sha256_hex, now_micros};

/// The smallest group a manager may see figures of.
pub const MIN_GROUP: u32 = 5;

/// JSON bodies are small; batches have their own limit.
pub const MAX_JSON_BYTES: usize = 64 * 1024;

/// The media type of an uploaded batch.
pub const BATCH_CONTENT_TYPE: &str = "application/vnd.glasshouse.batch+zstd";

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct Config {
    /// k: groups with fewer enrolled devices are hidden (at least [`MIN_GROUP`]).
    pub min_group: u32,
    /// Requests per second per client address (0: no limit) and the burst allowed.
    pub rate_per_sec: f64,
    pub rate_burst: f64,
    /// A request (body included) that takes longer is answered 408.
    pub request_timeout: Duration,
    /// A connection silent for this long is closed.
    pub idle_timeout: Duration,
    /// Days of history in the aggregates when the request does not say.
    pub default_days: u32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            min_group: MIN_GROUP,
            rate_per_sec: 50.0,
            rate_burst: 500.0,
            request_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            default_days: 14,
        }
    }
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    collector: Collector,
    config: Config,
    limiter: RateLimiter,
    log: RequestLog,
}

impl AppState {
    /// The state for `collector`; the request log goes to `requests.jsonl` in its directory.
    pub fn new(collector: Collector, config: Config) -> Result<AppState> {
        if config.min_group < MIN_GROUP {
            return Err(CollectorError::Usage(format!(
                "the smallest group shown cannot be below {MIN_GROUP} (asked for {})",
                config.min_group
            )));
        }
        let log = RequestLog::open(&collector.dir().join("requests.jsonl"))?;
        let limiter = RateLimiter::new(config.rate_per_sec, config.rate_burst);
        Ok(AppState(Arc::new(Inner {
            collector,
            config,
            limiter,
            log,
        })))
    }

    pub fn collector(&self) -> &Collector {
        &self.0.collector
    }

    pub fn config(&self) -> &Config {
        &self.0.config
    }

    /// Runs `f` on the collector in a blocking task (SQLite and the file system block).
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Collector) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || f(&state.0.collector))
            .await
            .map_err(|e| CollectorError::Internal(format!("a storage task failed: {e}")))?
    }
}

/// An RFC 3339 UTC time with as many fractional digits as needed.
pub(crate) fn rfc3339(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}

/// The collector's routes with their limits and middleware.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/v1/enroll", post(enroll))
        .route("/api/v1/participation", put(participation))
        .route(
            "/api/v1/batches",
            post(upload).layer(DefaultBodyLimit::max(
                glasshouse_batch::MAX_COMPRESSED_BYTES,
            )),
        )
        .route("/api/v1/batches/{sha256}", delete(withdraw))
        .route("/api/v1/aggregates", get(aggregates))
        .route(
            "/manager",
            get(crate::manager::page).post(crate::manager::sign_in),
        )
        .fallback(|| async { CollectorError::NotFound("there is nothing at this address".into()) })
        .layer(DefaultBodyLimit::max(MAX_JSON_BYTES))
        // Listed innermost first: each `layer` wraps everything above it.
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn_with_state(state.clone(), limits))
        .layer(middleware::from_fn_with_state(state.clone(), log_request))
        .with_state(state)
}

/// Outermost: writes one line to the request log per request, with the status finally sent.
async fn log_request(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let bytes_in = content_length(req.headers()).unwrap_or(0);
    let response = next.run(req).await;
    state
        .0
        .log
        .record(&method, &path, response.status().as_u16(), bytes_in);
    response
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// The rate limit, bodies with a declared length only, and the request timeout.
async fn limits(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<ClientAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.0.ip());
    if !state.0.limiter.allow(ip, Instant::now()) {
        return CollectorError::RateLimited.into_response();
    }
    // A body must say how long it is: the log records it, and limits are checked up front.
    if req.headers().contains_key(header::TRANSFER_ENCODING) {
        return CollectorError::LengthRequired.into_response();
    }
    match tokio::time::timeout(state.0.config.request_timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => CollectorError::Timeout.into_response(),
    }
}

/// Turns any error response that is not already JSON (or the sign-in page) into the JSON error
/// shape: axum's own rejections, 405s and the like.
async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let typed = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if typed {
        return response;
    }
    let (kind, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this address does not accept this method".to_owned(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "too_large",
            "the request body is larger than accepted here".to_owned(),
        ),
        StatusCode::NOT_FOUND => ("not_found", "there is nothing at this address".to_owned()),
        s if s.is_server_error() => (
            "internal",
            "the collector failed to handle this request".to_owned(),
        ),
        _ => {
            let body = axum::body::to_bytes(response.into_body(), 4096)
                .await
                .unwrap_or_default();
            let text = String::from_utf8_lossy(&body).trim().to_owned();
            let text = if text.is_empty() {
                "the request is not valid".to_owned()
            } else {
                text
            };
            ("bad_request", text)
        }
    };
    (status, Json(error_body(kind, &message))).into_response()
}

/// The bearer token of a request, if it has one.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty() && t.len() <= 256)
}

/// An authenticated device (`Authorization: Bearer <device secret>`).
#[derive(Debug)]
struct AuthDevice(Device);

impl FromRequestParts<AppState> for AuthDevice {
    type Rejection = CollectorError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let unauthorized =
            || CollectorError::Unauthorized("this request needs a valid device secret");
        let secret = bearer(&parts.headers).ok_or_else(unauthorized)?.to_owned();
        state
            .run(move |c| c.device(&secret))
            .await?
            .map(AuthDevice)
            .ok_or_else(unauthorized)
    }
}

/// An authenticated manager (`Authorization: Bearer <manager token>`).
#[derive(Debug)]
struct AuthManager;

impl FromRequestParts<AppState> for AuthManager {
    type Rejection = CollectorError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let unauthorized =
            || CollectorError::Unauthorized("this request needs a valid manager token");
        let token = bearer(&parts.headers).ok_or_else(unauthorized)?.to_owned();
        if state.run(move |c| c.is_manager(&token)).await? {
            Ok(AuthManager)
        } else {
            Err(unauthorized())
        }
    }
}

/// A JSON body, its rejections turned into collector errors.
fn json<T>(body: std::result::Result<Json<T>, JsonRejection>) -> Result<T> {
    match body {
        Ok(Json(v)) => Ok(v),
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(CollectorError::TooLarge {
            limit: MAX_JSON_BYTES,
        }),
        Err(JsonRejection::MissingJsonContentType(_)) => Err(CollectorError::UnsupportedMediaType(
            "the request body must be JSON (Content-Type: application/json)".into(),
        )),
        Err(r) => Err(CollectorError::BadRequest(format!(
            "the request body is not the JSON expected here: {}",
            r.body_text()
        ))),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrollRequest {
    token: String,
}

#[derive(Debug, Serialize)]
struct EnrollResponse {
    device_id: String,
    device_secret: String,
    team: String,
    participating: bool,
}

async fn enroll(
    State(state): State<AppState>,
    body: std::result::Result<Json<EnrollRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<EnrollResponse>)> {
    let req = json(body)?;
    if req.token.is_empty() || req.token.len() > 256 {
        return Err(CollectorError::Unauthorized(
            "this enrollment token is not known to the collector",
        ));
    }
    let e = state.run(move |c| c.enroll(&req.token)).await?;
    Ok((
        StatusCode::CREATED,
        Json(EnrollResponse {
            device_id: e.device_id,
            device_secret: e.device_secret,
            team: e.team,
            participating: false,
        }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParticipationRequest {
    participating: bool,
}

#[derive(Debug, Serialize)]
struct ParticipationResponse {
    participating: bool,
    since: String,
}

async fn participation(
    State(state): State<AppState>,
    AuthDevice(device): AuthDevice,
    body: std::result::Result<Json<ParticipationRequest>, JsonRejection>,
) -> Result<Json<ParticipationResponse>> {
    let on = json(body)?.participating;
    let (participating, since) = state
        .run(move |c| c.set_participation(&device.id, on))
        .await?;
    Ok(Json(ParticipationResponse {
        participating,
        since: rfc3339(since),
    }))
}

/// What the collector answers for a stored batch.
#[derive(Debug, Serialize)]
struct Receipt {
    sha256: String,
    bytes: u64,
    events: u64,
    window_start: String,
    window_end: String,
    received_at: String,
}

impl From<BatchRow> for Receipt {
    fn from(r: BatchRow) -> Receipt {
        Receipt {
            sha256: r.sha256,
            bytes: r.bytes,
            events: r.events,
            window_start: rfc3339(r.window_start),
            window_end: rfc3339(r.window_end),
            received_at: rfc3339(r.received_at),
        }
    }
}

async fn upload(
    State(state): State<AppState>,
    AuthDevice(device): AuthDevice,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Receipt>)> {
    const LIMIT: usize = glasshouse_batch::MAX_COMPRESSED_BYTES;
    // A device that has not opted in is refused before its body is even read.
    if !device.participating {
        return Err(CollectorError::Forbidden(
            "this device has not opted in".into(),
        ));
    }
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if media.as_deref() != Some(BATCH_CONTENT_TYPE) {
        return Err(CollectorError::UnsupportedMediaType(format!(
            "a batch is uploaded as {BATCH_CONTENT_TYPE}"
        )));
    }
    let claimed = match headers.get("x-glasshouse-sha256") {
        None => None,
        Some(v) => {
            let v = v.to_str().unwrap_or_default().trim().to_ascii_lowercase();
            if !is_sha256_hex(&v) {
                return Err(CollectorError::BadRequest(
                    "the X-Glasshouse-Sha256 header is not 64 hexadecimal digits".into(),
                ));
            }
            Some(v)
        }
    };
    if content_length(&headers).is_some_and(|n| n > LIMIT as u64) {
        return Err(CollectorError::TooLarge { limit: LIMIT });
    }
    // The declared length was checked above and hyper holds the body to it (bodies without one
    // are refused by `limits`), so what fails here is a client that hung up mid-body.
    let bytes: Bytes = axum::body::to_bytes(body, LIMIT).await.map_err(|e| {
        CollectorError::BadRequest(format!("the request body could not be read: {e}"))
    })?;
    let (status, row) = state
        .run(move |c| store_upload(c, &device, claimed.as_deref(), &bytes))
        .await?;
    Ok((status, Json(row.into())))
}

/// Checks and stores one upload (in a blocking task): SHA-256, idempotency, the batch itself,
/// whose device and team it claims, then the file and the row.
fn store_upload(
    c: &Collector,
    device: &Device,
    claimed: Option<&str>,
    bytes: &[u8],
) -> Result<(StatusCode, BatchRow)> {
    let sha = glasshouse_batch::sha256_hex(bytes);
    if claimed.is_some_and(|claimed| claimed != sha) {
        return Err(CollectorError::ShaMismatch { computed: sha });
    }
    match c.known(&sha)? {
        Known::Stored(row) if row.device_id == device.id => return Ok((StatusCode::OK, row)),
        // Bytes naming another device fail the check below anyway; say nothing more.
        Known::Stored(_) => {
            return Err(CollectorError::Forbidden(
                "this batch belongs to another device".into(),
            ));
        }
        Known::Withdrawn(_) => return Err(CollectorError::Withdrawn),
        Known::New => {}
    }
    let doc =
        glasshouse_batch::decode(bytes).map_err(|e| CollectorError::InvalidBatch(e.to_string()))?;
    if doc.device != device.id {
        return Err(CollectorError::Forbidden(
            "this batch names another device than the one uploading it".into(),
        ));
    }
    if doc.team != device.team {
        return Err(CollectorError::Forbidden(format!(
            "this batch names team \"{}\", but this device is enrolled in \"{}\"",
            doc.team, device.team
        )));
    }
    let meta = BatchMeta {
        bytes: bytes.len() as u64,
        events: doc.event_count(),
        window_start: doc.window_start(),
        window_end: doc.window_end(),
    };
    let (row, created) = c.store_batch(device, &sha, bytes, meta)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, row))
}

/// What the collector answers for a withdrawn batch.
#[derive(Debug, Serialize)]
struct DeletionReceipt {
    sha256: String,
    deleted_at: String,
    status: &'static str,
}

async fn withdraw(
    State(state): State<AppState>,
    AuthDevice(device): AuthDevice,
    Path(sha256): Path<String>,
) -> Result<Json<DeletionReceipt>> {
    let sha256 = sha256.to_ascii_lowercase();
    if !is_sha256_hex(&sha256) {
        return Err(CollectorError::NotFound(
            "this device has no batch with that SHA-256".into(),
        ));
    }
    let key = sha256.clone();
    let Tombstone { deleted_at, .. } = state.run(move |c| c.withdraw(&device, &key)).await?;
    Ok(Json(DeletionReceipt {
        sha256,
        deleted_at: rfc3339(deleted_at),
        status: "deleted",
    }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DaysQuery {
    pub days: Option<u32>,
}

/// The number of days asked for: 1 to 90.
pub(crate) fn days(state: &AppState, q: Option<u32>) -> Result<u32> {
    let days = q.unwrap_or(state.0.config.default_days);
    if !(1..=90).contains(&days) {
        return Err(CollectorError::BadRequest(format!(
            "days must be from 1 to 90, not {days}"
        )));
    }
    Ok(days)
}

async fn aggregates(
    State(state): State<AppState>,
    _: AuthManager,
    query: std::result::Result<Query<DaysQuery>, QueryRejection>,
) -> Result<Response> {
    let q = query.map_err(|r| {
        CollectorError::BadRequest(format!("the query is not valid: {}", r.body_text()))
    })?;
    let days = days(&state, q.days)?;
    let k = state.0.config.min_group;
    let figures = state
        .run(move |c| c.aggregates(now_micros(), days, k))
        .await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(figures)).into_response())
}

/// Serves `router(state)` on `listener` until `shutdown` completes, then lets requests in flight
/// finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let idle = state.0.config.idle_timeout;
    let app = router(state).into_make_service_with_connect_info::<ClientAddr>();
    axum::serve(crate::net::IdleListener::new(listener, idle), app)
        .with_graceful_shutdown(shutdown)
        .await
}
