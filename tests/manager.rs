//! The collector's manager page end to end: the real `glasshouse-collector` binary on a private
//! data directory (`collector.rs`), teams and tokens made with its admin commands, devices
//! enrolled and opted in through its HTTP API, and the page read in headless Chromium through
//! chromedriver (with the std-only client in `webdriver.rs`). The screenshot goes to
//! `target/screenshots/manager.png`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::collector::{Collector, Proc, free_port};
use crate::util::wait_for;
use crate::webdriver::{self, Session};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// chromedriver and Chromium, if both are here. Under `GLASSHOUSE_X_TESTS=1` (CI) a missing one
/// fails the test instead of skipping it.
fn chrome_tools() -> Option<(PathBuf, PathBuf)> {
    let driver = Some(PathBuf::from(CHROMEDRIVER))
        .filter(|p| p.is_file())
        .or_else(|| which("chromedriver"));
    let browser = which("chromium").or_else(|| which("chromium-browser"));
    if let (Some(d), Some(b)) = (driver, browser) {
        return Some((d, b));
    }
    let what =
        "chromium or chromedriver (Debian: chromium chromium-driver; scripts/install-deps.sh test)";
    if std::env::var("GLASSHOUSE_X_TESTS").as_deref() == Ok("1") {
        panic!("GLASSHOUSE_X_TESTS=1 but {what} is missing");
    }
    eprintln!("skipping: {what} is missing");
    None
}

/// One HTTP/1.1 request with a JSON body; returns the status and the body.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    let payload = body.to_string();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let auth = auth
        .map(|a| format!("Authorization: Bearer {a}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        payload.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(payload.as_bytes()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// Enrolls one device with `token` and sets its opt-in.
fn device(addr: SocketAddr, token: &str, participate: bool) {
    let (status, v) = http(
        addr,
        "POST",
        "/api/v1/enroll",
        None,
        &json!({ "token": token }),
    );
    assert_eq!(status, 201, "enroll: {v}");
    let secret = v["device_secret"].as_str().unwrap().to_owned();
    let (status, v) = http(
        addr,
        "PUT",
        "/api/v1/participation",
        Some(&secret),
        &json!({ "participating": participate }),
    );
    assert_eq!(status, 200, "participation: {v}");
}

/// chromedriver on a free port, its log in `log`.
fn chromedriver(bin: &Path, log: &Path) -> (Proc, u16) {
    for _ in 0..5 {
        let port = free_port();
        let child = Command::new(bin)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let mut proc = Proc(child);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if proc.0.try_wait().unwrap().is_some() {
                break;
            }
            if webdriver::is_up(port) {
                return (proc, port);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    panic!(
        "chromedriver did not come up: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

#[test]
fn manager_page_in_chromium() {
    let Some((driver_bin, browser)) = chrome_tools() else {
        return;
    };
    let collector = Collector::start();
    let big = collector.team_token("platform", 6);
    let small = collector.team_token("research", 2);
    let manager = collector.admin(&["token", "manager", "--label", "e2e"]);
    let (addr, manager) = (collector.addr, manager.trim());
    for i in 0..6 {
        device(addr, &big, i < 5);
    }
    for _ in 0..2 {
        device(addr, &small, true);
    }
    let profile = tempfile::tempdir().unwrap();

    let (_driver, port) = chromedriver(&driver_bin, &profile.path().join("chromedriver.log"));
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": browser,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,1400",
                format!("--user-data-dir={}", profile.path().join("chromium").display()),
            ],
        },
    });
    let session = Session::new(port, caps).unwrap_or_else(|e| {
        panic!(
            "no WebDriver session: {e}; chromedriver said: {}",
            std::fs::read_to_string(profile.path().join("chromedriver.log")).unwrap_or_default()
        )
    });
    let go = |url: String| {
        webdriver::request(
            port,
            "POST",
            &format!("/session/{}/url", session.id),
            Some(&json!({ "url": url })),
        )
        .unwrap_or_else(|e| panic!("open {url}: {e}"));
    };

    // Without a token: the sign-in form, no figures.
    go(format!("http://{addr}/manager"));
    let form = session.text_of("form.signin").unwrap().unwrap_or_default();
    assert!(form.contains("Manager token"), "{form}");
    assert!(session.text_of("#teams").unwrap().is_none());

    // The token signs in (a cookie) and the browser lands on the plain /manager.
    go(format!("http://{addr}/manager?token={manager}"));
    wait_for("the teams table", Duration::from_secs(20), || {
        session.text_of("#teams").unwrap()
    });
    let url =
        webdriver::request(port, "GET", &format!("/session/{}/url", session.id), None).unwrap();
    assert_eq!(
        url.as_str(),
        Some(format!("http://{addr}/manager").as_str()),
        "the token left the address bar"
    );

    let row = |team: &str| {
        session
            .find(&format!("tr[data-team=\"{team}\"]"))
            .and_then(|e| e.text())
            .unwrap_or_else(|e| panic!("the {team} row: {e}"))
    };
    let platform = row("platform");
    assert!(platform.contains("83%"), "platform: {platform:?}");
    assert!(
        platform.contains('6') && platform.contains('5'),
        "platform: {platform:?}"
    );
    let research = row("research");
    assert!(research.contains("fewer than 5"), "research: {research:?}");
    assert!(
        !research.chars().any(|c| c.is_ascii_digit() && c != '5') && !research.contains('%'),
        "research shows a figure: {research:?}"
    );
    let charts = session
        .execute(
            "return [...document.querySelectorAll('svg.chart')].map(s => s.getBoundingClientRect().width);",
            json!([]),
        )
        .unwrap();
    let widths: Vec<f64> = charts
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    assert_eq!(widths.len(), 2, "two SVG charts: {charts}");
    assert!(
        widths.iter().all(|w| *w > 300.0),
        "the charts are drawn wide: {widths:?}"
    );
    let bars = session.text_of("#chart-teams").unwrap().unwrap_or_default();
    assert!(
        bars.contains("83%") && bars.contains("fewer than 5"),
        "{bars}"
    );
    let body = session.text_of("body").unwrap().unwrap_or_default();
    assert!(!body.contains("dev_"), "no device id on the page");
    assert!(
        session
            .text_of("#k-anonymity")
            .unwrap()
            .unwrap_or_default()
            .contains("at least 5")
    );
    // Nothing overflows the page sideways.
    let overflow = session
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            json!([]),
        )
        .unwrap();
    assert_eq!(overflow.as_i64(), Some(0), "horizontal overflow");

    let shot = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots/manager.png");
    session.save_screenshot(&shot).unwrap();
    eprintln!("screenshot: {}", shot.display());
    session.delete().unwrap();
}
