//! `GET /manager`: the manager page. Server-rendered HTML with inline SVG charts, no script, no
//! external resource, a strict Content-Security-Policy (the one inline style sheet is allowed by
//! its hash). Signing in: `/manager?token=…` (or the form, which posts it) sets an HttpOnly,
//! SameSite=Strict cookie and redirects to `/manager`, so the token leaves the address bar.

use std::sync::OnceLock;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::aggregates::{Aggregates, DayFigures, Figures, TeamFigures};
use crate::api::{AppState, days};
use crate::charts::{escape, percent, rate_bars, rate_lines};
use crate::error::Result;
use crate::store::now_micros;

const COOKIE: &str = "glasshouse_manager";

/// The charts' drawing size; they scale to their panels (about this wide on a desktop).
const CHART_WIDTH: u32 = 500;
const CHART_HEIGHT: u32 = 300;

/// Signed in for eight hours.
const COOKIE_MAX_AGE: u32 = 8 * 3600;

const STYLE: &str = r#"
:root { color-scheme: light; --text: #262b33; --muted: #5f6773; --line: #e4e7ec; --panel: #ffffff; --bg: #f5f6f8; --accent: #4e79b5; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font: 15px/1.5 system-ui, sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 28px 24px 48px; }
header { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: 4px 24px; }
h1 { font-size: 22px; margin: 0; font-weight: 650; }
h2 { font-size: 16px; margin: 0 0 12px; font-weight: 600; }
.meta, .muted { color: var(--muted); }
.meta { font-size: 13px; }
.lede { margin: 8px 0 24px; max-width: 70ch; color: var(--muted); }
figure { margin: 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 16px; margin-bottom: 16px; }
.card, .panel { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; }
.card { padding: 14px 18px; }
.card .label { font-size: 13px; color: var(--muted); }
.card .value { font-size: 28px; font-weight: 650; font-variant-numeric: tabular-nums; }
.card .sub { font-size: 13px; color: var(--muted); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(420px, 100%), 1fr)); gap: 16px; margin-bottom: 16px; }
.panel { padding: 8px; overflow: hidden; }
.panel.table { padding: 16px 18px; }
svg.chart { display: block; width: 100%; height: auto; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: right; padding: 8px 10px; border-bottom: 1px solid var(--line); }
th:first-child, td:first-child { text-align: left; }
th { font-size: 13px; font-weight: 600; color: var(--muted); }
tr.hidden td { color: var(--muted); }
tr.hidden td.note { text-align: left; font-style: italic; }
tfoot td { font-weight: 600; border-bottom: 0; }
.note { font-size: 13px; color: var(--muted); margin: 12px 0 0; max-width: 80ch; }
.signin { max-width: 420px; margin: 12vh auto; background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 24px; }
.signin label { display: block; font-size: 13px; color: var(--muted); margin: 16px 0 6px; }
.signin input { width: 100%; font: inherit; padding: 8px 10px; border: 1px solid #c9ced6; border-radius: 6px; }
.signin button { margin-top: 14px; font: inherit; padding: 8px 16px; border: 0; border-radius: 6px; background: var(--accent); color: #fff; }
.error { color: #a8323e; }
"#;

/// The page's security headers; the CSP allows exactly the one inline style sheet above.
fn security_headers(headers: &mut HeaderMap) {
    static CSP: OnceLock<String> = OnceLock::new();
    let csp = CSP.get_or_init(|| {
        let hash = base64(&Sha256::digest(STYLE.as_bytes()));
        format!(
            "default-src 'none'; style-src 'sha256-{hash}'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'"
        )
    });
    let set = |h: &mut HeaderMap, name, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    set(headers, header::CONTENT_SECURITY_POLICY, csp);
    set(headers, header::CONTENT_TYPE, "text/html; charset=utf-8");
    set(headers, header::CACHE_CONTROL, "no-store");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
}

/// Standard base64 with padding (for the CSP hash).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>\n",
        escape(title)
    );
    let mut response = (status, page).into_response();
    security_headers(response.headers_mut());
    response
}

fn sign_in_page(message: Option<&str>) -> Response {
    let error = message
        .map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(m)))
        .unwrap_or_default();
    let body = format!(
        "<main><form class=\"signin\" method=\"post\" action=\"/manager\">\
         <h1>Glasshouse opt-in</h1>\
         <p class=\"muted\">Sign in with the manager token your collector admin gave you \
         (<code>glasshouse-collector token manager</code>).</p>{error}\
         <label for=\"token\">Manager token</label>\
         <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"off\" required>\
         <button type=\"submit\">Sign in</button></form></main>"
    );
    html(StatusCode::UNAUTHORIZED, "Sign in · Glasshouse", &body)
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|t| !t.is_empty() && t.len() <= 256)
}

async fn valid(state: &AppState, token: String) -> Result<bool> {
    if token.is_empty() || token.len() > 256 || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Ok(false);
    }
    state.run(move |c| c.is_manager(&token)).await
}

/// Sets the cookie and sends the browser to the plain `/manager`.
/// Behind a TLS-terminating proxy that says so (`X-Forwarded-Proto: https`), the cookie is also
/// `Secure`; the collector itself speaks plain HTTP.
fn signed_in(token: &str, headers: &HeaderMap) -> Response {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    let secure = if https { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE}={token}; Path=/manager; HttpOnly; SameSite=Strict; Max-Age={COOKIE_MAX_AGE}{secure}"
    );
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        headers.insert(header::SET_COOKIE, v);
    }
    headers.insert(header::LOCATION, HeaderValue::from_static("/manager"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[derive(Debug, Deserialize)]
pub(crate) struct PageQuery {
    token: Option<String>,
    days: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SignInForm {
    token: String,
}

/// `GET /manager[?token=…][&days=N]`.
pub(crate) async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: std::result::Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response> {
    // A query that does not parse (`days=abc`) is treated as no query.
    let query = query.ok().map(|Query(q)| q);
    if let Some(token) = query.as_ref().and_then(|q| q.token.clone()) {
        let token = token.trim().to_owned();
        return Ok(if valid(&state, token.clone()).await? {
            signed_in(&token, &headers)
        } else {
            sign_in_page(Some("That manager token is not valid."))
        });
    }
    let Some(token) = cookie_token(&headers) else {
        return Ok(sign_in_page(None));
    };
    if !valid(&state, token).await? {
        return Ok(sign_in_page(Some(
            "Your sign-in is no longer valid; sign in again.",
        )));
    }
    let days = days(&state, query.and_then(|q| q.days)).unwrap_or(state.config().default_days);
    let k = state.config().min_group;
    let figures = state
        .run(move |c| c.aggregates(now_micros(), days, k))
        .await?;
    let body = render(&figures);
    Ok(html(StatusCode::OK, "Opt-in · Glasshouse", &body))
}

/// `POST /manager` (the sign-in form).
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: std::result::Result<Form<SignInForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response> {
    let Ok(Form(form)) = form else {
        return Ok(sign_in_page(Some("Enter a manager token.")));
    };
    let token = form.token.trim().to_owned();
    Ok(if valid(&state, token.clone()).await? {
        signed_in(&token, &headers)
    } else {
        sign_in_page(Some("That manager token is not valid."))
    })
}

fn hours(f: &Figures) -> String {
    f.approved_hours.map_or_else(|| "—".to_owned(), thousands)
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The signed-in page.
fn render(a: &Aggregates) -> String {
    // The project's chart look, a size up: the charts sit in a page of 15 px text.
    let mut theme = glasshouse_charts::Theme::light();
    theme.label_px = 13.0;
    theme.small_px = 12.0;
    let k = a.k;
    let shown = a.totals.teams;
    let period = format!(
        "{} to {} (UTC)",
        a.days.first().map_or("", String::as_str),
        a.days.last().map_or("", String::as_str)
    );
    let total = &a.totals.now;
    let mut out = String::new();
    out.push_str("<main>");
    out.push_str(&format!(
        "<header><h1>Opt-in to input recording, by team</h1>\
         <span class=\"meta\">Updated {} UTC · last {} days</span></header>",
        escape(
            &a.generated_at
                .replace('T', " ")
                .chars()
                .take(16)
                .collect::<String>()
        ),
        a.days.len()
    ));
    out.push_str(&format!(
        "<p class=\"lede\">Each person records their own input on their own computer and decides \
         whether to take part; only the batches they approve are uploaded. This page shows how many \
         people in each team have opted in. It never shows a person, and never a group of fewer \
         than {k}.</p>"
    ));
    // Summary cards, over the shown teams only.
    let hidden_note = if a.hidden_teams > 0 {
        format!(
            "{} more {} with fewer than {k} people not counted",
            a.hidden_teams,
            if a.hidden_teams == 1 { "team" } else { "teams" }
        )
    } else {
        "every team is large enough to show".to_owned()
    };
    out.push_str("<section class=\"cards\">");
    if shown > 0 {
        out.push_str(&format!(
            "<div class=\"card\" id=\"overall\"><div class=\"label\">Opted in (shown teams)</div>\
             <div class=\"value\">{}</div><div class=\"sub\">{} of {} people</div></div>",
            percent(total.rate),
            thousands(total.participating),
            thousands(total.enrolled)
        ));
    } else {
        out.push_str(&format!(
            "<div class=\"card\" id=\"overall\"><div class=\"label\">Opted in</div>\
             <div class=\"value\">—</div><div class=\"sub\">no team has {k} or more people yet</div></div>"
        ));
    }
    out.push_str(&format!(
        "<div class=\"card\"><div class=\"label\">Teams shown</div><div class=\"value\">{shown}</div>\
         <div class=\"sub\">{}</div></div>",
        escape(&hidden_note)
    ));
    out.push_str(&format!(
        "<div class=\"card\"><div class=\"label\">Approved hours, last {} days</div>\
         <div class=\"value\">{}</div><div class=\"sub\">device-hours people chose to upload</div></div>",
        a.days.len(),
        hours(total)
    ));
    out.push_str("</section>");
    // Charts.
    out.push_str("<section class=\"charts\">");
    out.push_str(&format!(
        "<figure class=\"panel\" id=\"chart-teams\">{}</figure>",
        rate_bars(a, &theme, CHART_WIDTH, CHART_HEIGHT)
    ));
    out.push_str(&format!(
        "<figure class=\"panel\" id=\"chart-days\">{}</figure>",
        rate_lines(a, &theme, CHART_WIDTH, CHART_HEIGHT)
    ));
    out.push_str("</section>");
    // The table.
    out.push_str(
        "<section class=\"panel table\"><h2>Teams</h2><table id=\"teams\"><thead><tr>\
         <th scope=\"col\">Team</th><th scope=\"col\">Enrolled</th><th scope=\"col\">Opted in</th>\
         <th scope=\"col\">Rate</th><th scope=\"col\">Approved hours</th></tr></thead><tbody>",
    );
    for t in &a.teams {
        match t {
            TeamFigures::Shown(s) => out.push_str(&format!(
                "<tr data-team=\"{0}\"><td>{0}</td><td>{1}</td><td>{2}</td><td>{3}</td><td>{4}</td></tr>",
                escape(&s.team),
                thousands(s.now.enrolled),
                thousands(s.now.participating),
                percent(s.now.rate),
                hours(&s.now)
            )),
            TeamFigures::Hidden { team, .. } => out.push_str(&format!(
                "<tr class=\"hidden\" data-team=\"{}\"><td>{}</td>\
                 <td class=\"note\" colspan=\"4\">fewer than {k} people: not shown</td></tr>",
                escape(team),
                escape(team)
            )),
        }
    }
    if a.teams.is_empty() {
        out.push_str("<tr><td colspan=\"5\" class=\"muted\">No teams yet.</td></tr>");
    }
    out.push_str("</tbody>");
    if shown > 0 {
        out.push_str(&format!(
            "<tfoot><tr><td>Shown teams ({shown})</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></tfoot>",
            thousands(total.enrolled),
            thousands(total.participating),
            percent(total.rate),
            hours(total)
        ));
    }
    out.push_str("</table>");
    let hidden_days = a.teams.iter().any(|t| {
        matches!(t, TeamFigures::Shown(s) if s.daily.iter().any(|d| matches!(d, DayFigures::Hidden { .. })))
    });
    out.push_str(&format!(
        "<p class=\"note\" id=\"k-anonymity\">Privacy: figures are shown only for groups of at least \
         {k} enrolled people (k-anonymity with k = {k}). Smaller teams are listed without any \
         numbers and are left out of every total, so no figure can be worked out by subtraction. \
         Approved hours count the device-hours from {period} covered by uploaded batches \
         (withdrawn ones excluded); they appear only where at least {k} people take part, and — \
         marks where fewer do.{}</p>",
        if hidden_days {
            " Days on which a team had fewer than {k} people are left out of the daily chart."
                .replace("{k}", &k.to_string())
        } else {
            String::new()
        }
    ));
    out.push_str("</section></main>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
