//! The control socket end to end: a real recorder (capture off) on a temporary data directory,
//! and each input written to its Unix socket as a client would. This runs the server's own line
//! handling (the length bound, UTF-8, the version check) and then the recorder's handling of
//! every request that parses (pauses with edge times, deletes of odd ranges and apps, uploads
//! decisions with odd ids).
//!
//! Checked: every input gets exactly one answer line, a versioned JSON `Response`; a line the
//! protocol refuses gets `bad_request`; the recorder keeps answering.
//!
//! Not sent: `enroll` to any collector but `http://127.0.0.1:9` (nothing listens there), so the
//! run never reaches the network.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use glasshouse_core::paths::Paths;
use glasshouse_recorder::protocol::{Envelope, PROTOCOL_VERSION, Request, Response};
use glasshouse_recorder::{Recorder, RecorderOptions};
use glasshouse_uploads::UploadsOp;

use super::protocol::{BYTE_DICT, generate_line, line, seed_requests};
use super::{Target, Verdict};
use crate::{FuzzError, Rng};

/// The server reads at most this much of a request line (`control.rs`).
const MAX_REQUEST: usize = 64 * 1024;

pub struct ControlTarget {
    socket: PathBuf,
    // Dropped before the directory it uses.
    recorder: Option<Recorder>,
    _data: tempfile::TempDir,
}

/// One runtime directory for the process (the variable is process-wide).
fn runtime_dir() -> Result<&'static tempfile::TempDir, FuzzError> {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    if let Some(d) = DIR.get() {
        return Ok(d);
    }
    let dir = tempfile::tempdir().map_err(|e| FuzzError::setup("control", e))?;
    let dir = DIR.get_or_init(|| dir);
    // SAFETY: set once, to the same value, before this process starts a recorder; nothing in
    // this process reads the environment from C code concurrently.
    unsafe { std::env::set_var("XDG_RUNTIME_DIR", dir.path()) };
    Ok(dir)
}

impl ControlTarget {
    pub fn new() -> Result<ControlTarget, FuzzError> {
        runtime_dir()?;
        let data = tempfile::tempdir().map_err(|e| FuzzError::setup("control", e))?;
        let paths = Paths::in_dir(data.path());
        let socket = glasshouse_recorder::control::socket_path(&paths);
        let recorder = Recorder::start(RecorderOptions {
            paths,
            key: glasshouse_store::DbKey::from_bytes([7; 32]),
            worker: None,
            observer: None,
        })
        .map_err(|e| FuzzError::setup("control", e))?;
        Ok(ControlTarget {
            socket,
            recorder: Some(recorder),
            _data: data,
        })
    }
}

impl Drop for ControlTarget {
    fn drop(&mut self) {
        self.recorder.take();
    }
}

/// What the server will make of `input`: the request it parses, if any (as `read_request` does:
/// one line, at most [`MAX_REQUEST`] bytes, UTF-8, JSON, version 1).
fn expected(input: &[u8]) -> Option<Request> {
    let head = &input[..input.len().min(MAX_REQUEST)];
    let end = head
        .iter()
        .position(|&b| b == b'\n')
        .map_or(head.len(), |i| i + 1);
    let text = std::str::from_utf8(&head[..end]).ok()?;
    let env: Envelope<Request> = serde_json::from_str(text).ok()?;
    (env.v == PROTOCOL_VERSION).then_some(env.body)
}

/// Requests that would leave the machine.
fn reaches_network(req: &Request) -> bool {
    match req {
        Request::Uploads {
            op: UploadsOp::Enroll { collector, .. },
        } => collector.trim().trim_end_matches('/') != "http://127.0.0.1:9",
        _ => false,
    }
}

impl Target for ControlTarget {
    fn name(&self) -> &'static str {
        "control"
    }

    fn seeds(&mut self) -> Vec<Vec<u8>> {
        let mut seeds: Vec<Vec<u8>> = seed_requests().iter().map(line).collect();
        seeds.push(b"{not json\n".to_vec());
        seeds.push(b"{\"v\":2,\"cmd\":\"status\"}\n".to_vec());
        seeds.push(vec![b'x'; MAX_REQUEST + 10]);
        seeds
    }

    fn dictionary(&self) -> &[&'static [u8]] {
        BYTE_DICT
    }

    fn max_len(&self) -> usize {
        MAX_REQUEST * 2
    }

    fn generate(&mut self, rng: &mut Rng, _corpus: &[Vec<u8>]) -> Vec<u8> {
        let mut line = generate_line(rng);
        // Flush waits for the policy's hold-back (300 ms): keep it rare.
        if line.windows(5).any(|w| w == b"flush") && !rng.one_in(20) {
            line = b"{\"v\":1,\"cmd\":\"status\"}\n".to_vec();
        }
        match rng.below(12) {
            // No newline: the server reads to the end of what was sent.
            0 => {
                line.pop();
            }
            // Something after the line (it is left unread).
            1 => line.extend_from_slice(b"{\"v\":1,\"cmd\":\"status\"}\n"),
            // Invalid UTF-8 inside.
            2 => {
                let at = rng.below(line.len());
                line.insert(at, 0xff);
            }
            _ => {}
        }
        line
    }

    fn execute(&mut self, input: &[u8]) -> Verdict {
        let parsed = expected(input);
        if parsed.as_ref().is_some_and(reaches_network) {
            return Verdict::Ok("not sent: enroll to a collector on the network".into());
        }
        let mut stream = match UnixStream::connect(&self.socket) {
            Ok(s) => s,
            Err(e) => return Verdict::Violation(format!("the recorder stopped accepting: {e}")),
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
        let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
        // The server stops reading at the bound and answers, so a long write may be cut off.
        let _ = stream.write_all(input);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut reader = BufReader::new(&stream);
        let mut answer = String::new();
        if let Err(e) = reader.read_line(&mut answer)
            && answer.is_empty()
        {
            return Verdict::Violation(format!("no answer: {e}"));
        }
        if answer.is_empty() {
            return Verdict::Violation("the connection closed without an answer".into());
        }
        let subscribed = matches!(parsed, Some(Request::Subscribe { .. }));
        if !subscribed {
            let mut rest = Vec::new();
            let _ = reader.read_to_end(&mut rest);
            if !rest.is_empty() {
                return Verdict::Violation(format!(
                    "more than one answer line: {answer:?} then {:?}",
                    String::from_utf8_lossy(&rest[..rest.len().min(200)])
                ));
            }
        }
        let env: Envelope<Response> = match serde_json::from_str(&answer) {
            Ok(env) => env,
            Err(e) => {
                return Verdict::Violation(format!("the answer is not a response ({e}): {answer}"));
            }
        };
        if env.v != PROTOCOL_VERSION {
            return Verdict::Violation(format!("the answer has version {}", env.v));
        }
        match (parsed, env.body) {
            (None, Response::Error { kind, message }) if kind == "bad_request" => {
                Verdict::Ok(format!("bad_request: {message}"))
            }
            (None, other) => Verdict::Violation(format!(
                "a line the protocol refuses was answered {other:?}"
            )),
            (Some(_), Response::Error { kind, message }) if kind == "bad_request" => {
                Verdict::Violation(format!(
                    "a valid request was refused as a bad request: {message}"
                ))
            }
            (Some(req), Response::Error { kind, message }) => {
                Verdict::Ok(format!("{} refused, {kind}: {message}", cmd(&req)))
            }
            (Some(req), _) => Verdict::Ok(format!("{} ok", cmd(&req))),
        }
    }
}

/// The request's name, for outcomes.
fn cmd(req: &Request) -> String {
    let v = serde_json::to_value(req).unwrap_or_default();
    let mut name = v["cmd"].as_str().unwrap_or("?").to_owned();
    if let Some(op) = v["op"]["op"].as_str() {
        name.push(' ');
        name.push_str(op);
    }
    name
}
