//! A small W3C WebDriver client: JSON over HTTP/1.1 on a plain `TcpStream`, just the endpoints
//! the dashboard test uses (sessions, elements, clicks, text, scripts, screenshots). No HTTP
//! crate, to keep the test's supply chain at what the workspace already has.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

/// The key under which W3C WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A WebDriver error: the HTTP status and the driver's `error` and `message`, or an I/O failure.
#[derive(Debug)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Sends one request to `127.0.0.1:port` and returns the response's `value`.
pub fn request(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
    let io = |e: std::io::Error| Error(format!("{method} {path}: {e}"));
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(io)?;
    // Creating a session starts the app and WebKit: allow it time on a slow machine.
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .map_err(io)?;
    let payload = body.map(Value::to_string).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
        payload.len()
    );
    stream.write_all(head.as_bytes()).map_err(io)?;
    stream.write_all(payload.as_bytes()).map_err(io)?;
    // No `Connection: close`: tauri-driver forwards it to WebKitWebDriver, which then closes its
    // pooled connection while tauri-driver may reuse it, and the next request gets no answer.
    // So read exactly one response (by its length or its last chunk) and then hang up.
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    while !complete(&raw) {
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            // A signal to this process (a child ending) interrupts the wait: wait again.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io(e)),
        };
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let (status, body) =
        parse_response(&raw).map_err(|e| Error(format!("{method} {path}: {e}")))?;
    let value: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            Error(format!(
                "{method} {path}: not JSON ({e}): {}",
                String::from_utf8_lossy(&body)
            ))
        })?
    };
    let value = value.get("value").cloned().unwrap_or(value);
    if !(200..300).contains(&status) {
        return Err(Error(format!(
            "{method} {path}: HTTP {status}: {} {}",
            value["error"].as_str().unwrap_or("error"),
            value["message"].as_str().unwrap_or_default()
        )));
    }
    Ok(value)
}

/// Whether `raw` holds a whole response: its header, and a body of the announced length (or
/// chunked up to the last chunk).
fn complete(raw: &[u8]) -> bool {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let body = &raw[end + 4..];
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
    };
    if let Some(len) = header("content-length:").and_then(|v| v.parse::<usize>().ok()) {
        return body.len() >= len;
    }
    if header("transfer-encoding:").is_some_and(|v| v.contains("chunked")) {
        return dechunk(body).is_ok();
    }
    false
}

/// Splits an HTTP/1.1 response into its status and body (plain or chunked).
fn parse_response(raw: &[u8]) -> std::result::Result<(u16, Vec<u8>), String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| {
            format!(
                "no HTTP header in the response ({} bytes: {:?})",
                raw.len(),
                String::from_utf8_lossy(&raw[..raw.len().min(200)])
            )
        })?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut body = raw[end + 4..].to_vec();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line: {head}"))?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if chunked {
        body = dechunk(&body)?;
    }
    Ok((status, body))
}

fn dechunk(mut data: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk")?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or_default();
    }
}

/// Whether a WebDriver server answers on `port` (`GET /status`).
pub fn is_up(port: u16) -> bool {
    request(port, "GET", "/status", None).is_ok()
}

/// A WebDriver session. Delete it with [`Session::delete`]; dropping it deletes it too.
#[derive(Debug)]
pub struct Session {
    port: u16,
    pub id: String,
    deleted: bool,
}

impl Session {
    /// Creates a session with `capabilities` as `alwaysMatch`.
    pub fn new(port: u16, capabilities: Value) -> Result<Session> {
        let body = json!({ "capabilities": { "alwaysMatch": capabilities } });
        let value = request(port, "POST", "/session", Some(&body))?;
        let id = value["sessionId"]
            .as_str()
            .ok_or_else(|| Error(format!("no sessionId in {value}")))?
            .to_owned();
        Ok(Session {
            port,
            id,
            deleted: false,
        })
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        let path = format!("/session/{}{path}", self.id);
        request(self.port, method, &path, body.as_ref())
    }

    /// The first element matching the CSS selector.
    pub fn find(&self, css: &str) -> Result<Element<'_>> {
        let v = self.call(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        )?;
        let id = v[ELEMENT_KEY]
            .as_str()
            .ok_or_else(|| Error(format!("no element reference for {css} in {v}")))?;
        Ok(Element {
            session: self,
            id: id.to_owned(),
            css: css.to_owned(),
        })
    }

    /// Clicks the element matching `css` (a real click at the element's centre).
    pub fn click(&self, css: &str) -> Result<()> {
        self.find(css)?.click()
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its result.
    pub fn execute(&self, script: &str, args: Value) -> Result<Value> {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Runs `script` asynchronously: it calls `arguments[arguments.length - 1]` with its result.
    pub fn execute_async(&self, script: &str, args: Value) -> Result<Value> {
        self.call(
            "POST",
            "/execute/async",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// The `textContent` of the first element matching `css`, or `None` if there is none.
    pub fn text_of(&self, css: &str) -> Result<Option<String>> {
        let v = self.execute(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
            json!([css]),
        )?;
        Ok(v.as_str().map(str::to_owned))
    }

    /// An attribute of the first element matching `css`.
    pub fn attr_of(&self, css: &str, name: &str) -> Result<Option<String>> {
        let v = self.execute(
            "const e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null;",
            json!([css, name]),
        )?;
        Ok(v.as_str().map(str::to_owned))
    }

    /// A PNG of the window's viewport.
    pub fn screenshot(&self) -> Result<Vec<u8>> {
        let v = self.call("GET", "/screenshot", None)?;
        let text = v
            .as_str()
            .ok_or_else(|| Error(format!("screenshot is not a string: {v}")))?;
        base64_decode(text).ok_or_else(|| Error("screenshot is not base64".into()))
    }

    /// Saves a screenshot to `path` (creating its folder).
    pub fn save_screenshot(&self, path: &Path) -> Result<()> {
        let png = self.screenshot()?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error(e.to_string()))?;
        }
        std::fs::write(path, png).map_err(|e| Error(format!("{}: {e}", path.display())))
    }

    /// Ends the session (the driver then closes the app).
    pub fn delete(mut self) -> Result<()> {
        self.deleted = true;
        self.call("DELETE", "", None).map(drop)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if !self.deleted {
            let _ = self.call("DELETE", "", None);
        }
    }
}

/// An element of the page.
#[derive(Debug)]
pub struct Element<'s> {
    session: &'s Session,
    pub id: String,
    css: String,
}

impl Element<'_> {
    fn call(&self, method: &str, what: &str, body: Option<Value>) -> Result<Value> {
        self.session
            .call(method, &format!("/element/{}{what}", self.id), body)
            .map_err(|e| Error(format!("{} ({}): {e}", self.css, what)))
    }

    pub fn click(&self) -> Result<()> {
        self.call("POST", "/click", Some(json!({}))).map(drop)
    }

    /// The rendered text (what a person sees).
    pub fn text(&self) -> Result<String> {
        Ok(self
            .call("GET", "/text", None)?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    pub fn clear(&self) -> Result<()> {
        self.call("POST", "/clear", Some(json!({}))).map(drop)
    }

    /// Types `text` into the element (WebDriver "send keys").
    pub fn send_keys(&self, text: &str) -> Result<()> {
        self.call("POST", "/value", Some(json!({ "text": text })))
            .map(drop)
    }

    pub fn displayed(&self) -> Result<bool> {
        Ok(self.call("GET", "/displayed", None)?.as_bool() == Some(true))
    }
}

/// Standard base64 (with or without padding); `None` on a character outside the alphabet.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

#[test]
fn base64_and_chunked_bodies_decode() {
    assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
    assert_eq!(base64_decode("aGk").unwrap(), b"hi");
    assert!(base64_decode("a*b").is_none());
    let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"va\r\n9\r\nlue\":1}\r\n\r\n0\r\n\r\n";
    assert!(complete(raw));
    assert!(!complete(&raw[..raw.len() - 3]));
    let (status, body) = parse_response(raw).unwrap();
    assert_eq!(status, 200);
    assert_eq!(body, b"{\"value\":1}\r\n");
}
