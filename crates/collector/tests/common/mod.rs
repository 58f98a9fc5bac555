//! Shared by the collector's integration tests: test batches, a small HTTP/1.1 client, and the
//! real binary.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use glasshouse_batch::{Built, Header, Row};
use glasshouse_core::keys::Key;
use glasshouse_core::model::Stored;
use glasshouse_core::settings::CaptureLevel;

pub const HOUR: i64 = 3_600_000_000;

/// The start of the UTC hour `hours_ago` hours before now.
pub fn hour_start(hours_ago: i64) -> i64 {
    let now = chrono::Utc::now().timestamp_micros();
    now.div_euclid(HOUR) * HOUR - hours_ago * HOUR
}

/// A batch of `device` in `team` for the hour starting at `start`, with `keys` key presses (and
/// as many releases) and twice as many pointer moves, spread over the hour.
pub fn batch(device: &str, team: &str, start: i64, keys: usize) -> Built {
    let header = Header {
        device: device.to_owned(),
        team: team.to_owned(),
        window_start: start,
        window_end: start + HOUR,
        capture_level: CaptureLevel::Full,
    };
    let n = keys.max(1) as i64;
    let step = HOUR / (4 * n + 1);
    let mut rows = Vec::with_capacity(4 * keys);
    let letters = [Key::KeyA, Key::KeyE, Key::KeyS, Key::KeyT];
    for i in 0..keys as i64 {
        let ts = start + 1 + i * 4 * step;
        let key = letters[(i % 4) as usize];
        let text = ["a", "e", "s", "t"][(i % 4) as usize];
        let (app, title) = if i % 50 < 35 {
            ("code", "main.rs — project")
        } else {
            ("firefox", "Docs — Mozilla Firefox")
        };
        let row = |ts, event| Row {
            ts,
            app: app.to_owned(),
            title: title.to_owned(),
            event,
        };
        rows.push(row(
            ts,
            Stored::KeyDown {
                key,
                text: Some(text.to_owned()),
            },
        ));
        rows.push(row(ts + step, Stored::KeyUp { key }));
        rows.push(row(
            ts + 2 * step,
            Stored::Move {
                x: (i * 7 % 1920) as i32,
                y: (i * 3 % 1080) as i32,
            },
        ));
        rows.push(row(
            ts + 3 * step,
            Stored::Move {
                x: (i * 7 % 1920) as i32 + 1,
                y: (i * 3 % 1080) as i32 + 2,
            },
        ));
    }
    glasshouse_batch::build(&header, rows, &glasshouse_scrub::Scrubber::new())
        .expect("build a test batch")
}

/// All files under `dir`, recursively, relative paths sorted.
pub fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The batch files (not temp files) of a data directory.
pub fn batch_files(data: &Path) -> Vec<String> {
    files_under(&data.join("batches"))
        .into_iter()
        .filter(|f| !f.starts_with("tmp/"))
        .collect()
}

/// An HTTP response: status, lower-cased headers, body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// One HTTP/1.1 request on a new connection (`Connection: close`).
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Reply> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no HTTP header in the response"))?;
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(Reply {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    })
}

/// Uploads a batch over a real connection.
pub fn upload(addr: SocketAddr, secret: &str, bytes: &[u8]) -> std::io::Result<Reply> {
    let auth = format!("Bearer {secret}");
    http(
        addr,
        "POST",
        "/api/v1/batches",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/vnd.glasshouse.batch+zstd"),
        ],
        bytes,
    )
}

/// Enrolls a device over a real connection and opts it in if asked: (device id, secret).
pub fn enroll(addr: SocketAddr, token: &str, participate: bool) -> (String, String) {
    let body = serde_json::json!({ "token": token }).to_string();
    let r = http(
        addr,
        "POST",
        "/api/v1/enroll",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    let (id, secret) = (
        v["device_id"].as_str().unwrap().to_owned(),
        v["device_secret"].as_str().unwrap().to_owned(),
    );
    if participate {
        let auth = format!("Bearer {secret}");
        let r = http(
            addr,
            "PUT",
            "/api/v1/participation",
            &[
                ("Content-Type", "application/json"),
                ("Authorization", &auth),
            ],
            br#"{"participating":true}"#,
        )
        .unwrap();
        assert_eq!(r.status, 200);
    }
    (id, secret)
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_glasshouse-collector")
}

/// Runs an admin command on `data` and returns its standard output (it must succeed).
pub fn admin(data: &Path, args: &[&str]) -> String {
    let out = Command::new(bin())
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The real server on a free port; killed on drop.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Server {
    pub fn start(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(bin());
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--rate-per-sec", "0"])
            .args(extra)
            .arg("--data")
            .arg(data)
            .env("GLASSHOUSE_COLLECTOR_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[collector] {line}");
                if !sent && let Some(at) = line.find("http://") {
                    let rest = &line[at + 7..];
                    let end = rest.find(['/', ' ']).unwrap_or(rest.len());
                    let _ = tx.send(rest[..end].to_owned());
                    sent = true;
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the collector logs its URL")
            .parse()
            .unwrap();
        Server { child, addr }
    }

    /// SIGKILL, and wait for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the process to end by itself (a failpoint) within `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
