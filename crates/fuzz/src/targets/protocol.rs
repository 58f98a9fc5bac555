//! The control-socket protocol's types, in process: a request line as the recorder parses it
//! (`Envelope<Request>`), and answers and pushes as the CLI and the dashboard process parse
//! them. A line that parses must survive a round trip: written back and parsed again, it is the
//! same request.

use super::{Target, Verdict};
use crate::Rng;
use glasshouse_recorder::protocol::{
    DeleteWhat, Envelope, PROTOCOL_VERSION, Push, Request, Response,
};
use glasshouse_uploads::UploadsOp;

pub(crate) const DICT: &[&str] = &[
    "v",
    "cmd",
    "status",
    "pause",
    "until",
    "resume",
    "delete",
    "what",
    "by",
    "range",
    "since",
    "app",
    "all",
    "flush",
    "reload_settings",
    "show",
    "show_view",
    "view",
    "feed",
    "subscribe",
    "window",
    "uploads",
    "op",
    "approve",
    "approve_all",
    "reject",
    "drop_app",
    "dropped",
    "withdraw",
    "seal",
    "enroll",
    "collector",
    "token",
    "participate",
    "participating",
    "id",
    "sha256",
    "reply",
    "event",
    "payload",
    "today",
    "http://127.0.0.1:9",
];

pub(crate) const BYTE_DICT: &[&[u8]] = &[
    b"{\"v\":1,\"cmd\":\"",
    b"\"cmd\":\"uploads\",\"op\":{\"op\":\"",
    b"\"until\":",
    b"\"what\":{\"by\":\"range\",\"since\":",
    b"\"v\":",
    b"\n",
];

/// Real requests, written by the real serialiser, one per line.
pub(crate) fn seed_requests() -> Vec<Request> {
    vec![
        Request::Status,
        Request::Pause { until: None },
        Request::Pause {
            until: Some(4_102_444_800_000_000),
        },
        Request::Resume,
        Request::Delete {
            what: DeleteWhat::Range {
                since: 0,
                until: 1_000_000,
            },
        },
        Request::Delete {
            what: DeleteWhat::App {
                app: "xterm".into(),
            },
        },
        Request::Delete {
            what: DeleteWhat::All,
        },
        Request::ReloadSettings,
        Request::Show,
        Request::ShowView {
            view: "feed".into(),
        },
        Request::Feed,
        Request::Subscribe { window: true },
        Request::Uploads {
            op: UploadsOp::Approve {
                id: 1,
                sha256: Some("0".repeat(64)),
            },
        },
        Request::Uploads {
            op: UploadsOp::ApproveAll,
        },
        Request::Uploads {
            op: UploadsOp::Reject { id: 1 },
        },
        Request::Uploads {
            op: UploadsOp::DropApp {
                id: 1,
                app: "xterm".into(),
                dropped: true,
            },
        },
        Request::Uploads {
            op: UploadsOp::Withdraw { id: 1 },
        },
        Request::Uploads {
            op: UploadsOp::Seal,
        },
        Request::Uploads {
            op: UploadsOp::Enroll {
                collector: "http://127.0.0.1:9".into(),
                token: "t".into(),
            },
        },
        Request::Uploads {
            op: UploadsOp::Participate {
                participating: true,
            },
        },
    ]
}

pub(crate) fn line(req: &Request) -> Vec<u8> {
    let mut out = serde_json::to_vec(&Envelope {
        v: PROTOCOL_VERSION,
        body: req.clone(),
    })
    .unwrap_or_default();
    out.push(b'\n');
    out
}

/// A request line: a real one with edge values, or one changed node by node.
pub(crate) fn generate_line(rng: &mut Rng) -> Vec<u8> {
    let edge = |rng: &mut Rng| -> i64 {
        *rng.pick(&[
            0,
            -1,
            1,
            i64::MAX,
            i64::MIN,
            i64::MAX - 1,
            4_102_444_800_000_000,
            253_402_300_800_000_000,
            -62_135_596_800_000_000,
        ])
    };
    let seeds = seed_requests();
    let mut req = rng.pick(&seeds).clone();
    match &mut req {
        Request::Pause { until } => *until = Some(edge(rng)),
        Request::Delete {
            what: DeleteWhat::Range { since, until },
        } => {
            *since = edge(rng);
            *until = edge(rng);
        }
        Request::Delete {
            what: DeleteWhat::App { app },
        }
        | Request::Uploads {
            op: UploadsOp::DropApp { app, .. },
        } => {
            *app = rng
                .pick(&["", " ", "%", "_", "(excluded app)", "x\0y", "é"])
                .to_string()
        }
        Request::ShowView { view } => {
            *view = rng.pick(&["", "today", "../etc", "FEED", "x"]).to_string();
        }
        Request::Uploads {
            op:
                UploadsOp::Approve { id, .. } | UploadsOp::Reject { id } | UploadsOp::Withdraw { id },
        } => *id = edge(rng),
        _ => {}
    }
    let text = line(&req);
    if rng.one_in(2) {
        let mut out = super::mutate_json(rng, &text, DICT);
        out.push(b'\n');
        out
    } else {
        text
    }
}

/// `serde_json` on the three line types, with the round-trip check.
pub struct ProtocolTarget;

impl ProtocolTarget {
    pub fn new() -> ProtocolTarget {
        ProtocolTarget
    }
}

fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned>(
    what: &str,
    value: &Envelope<T>,
) -> Result<(), String> {
    let once = serde_json::to_string(value).map_err(|e| format!("{what}: cannot write: {e}"))?;
    let again: Envelope<T> = serde_json::from_str(&once)
        .map_err(|e| format!("{what}: what was written does not parse back ({e}): {once}"))?;
    let twice = serde_json::to_string(&again).map_err(|e| format!("{what}: {e}"))?;
    if once == twice {
        Ok(())
    } else {
        Err(format!(
            "{what}: the round trip changed it: {once} → {twice}"
        ))
    }
}

impl Target for ProtocolTarget {
    fn name(&self) -> &'static str {
        "protocol"
    }

    fn seeds(&mut self) -> Vec<Vec<u8>> {
        seed_requests().iter().map(line).collect()
    }

    fn dictionary(&self) -> &[&'static [u8]] {
        BYTE_DICT
    }

    fn max_len(&self) -> usize {
        1 << 16
    }

    fn generate(&mut self, rng: &mut Rng, _corpus: &[Vec<u8>]) -> Vec<u8> {
        generate_line(rng)
    }

    fn execute(&mut self, input: &[u8]) -> Verdict {
        let Ok(text) = std::str::from_utf8(input) else {
            return Verdict::Ok("not UTF-8".into());
        };
        let line = text.split('\n').next().unwrap_or_default();
        let mut outcome = String::new();
        match serde_json::from_str::<Envelope<Request>>(line) {
            Ok(env) => {
                if let Err(e) = round_trip("request", &env) {
                    return Verdict::Violation(e);
                }
                let written = serde_json::to_string(&env).unwrap_or_default();
                match serde_json::from_str::<Envelope<Request>>(&written) {
                    Ok(back) if back.body == env.body && back.v == env.v => {}
                    _ => {
                        return Verdict::Violation(format!(
                            "request: {written} does not parse back to the same request"
                        ));
                    }
                }
                outcome.push_str("request ok; ");
            }
            Err(e) => outcome.push_str(&format!("request refused: {e}; ")),
        }
        match serde_json::from_str::<Envelope<Response>>(line) {
            Ok(env) => {
                if let Err(e) = round_trip("response", &env) {
                    return Verdict::Violation(e);
                }
                outcome.push_str("response ok; ");
            }
            Err(e) => outcome.push_str(&format!("response refused: {e}; ")),
        }
        match serde_json::from_str::<Envelope<Push>>(line) {
            Ok(env) => {
                if let Err(e) = round_trip("push", &env) {
                    return Verdict::Violation(e);
                }
                outcome.push_str("push ok");
            }
            Err(e) => outcome.push_str(&format!("push refused: {e}")),
        }
        Verdict::Ok(outcome.chars().take(200).collect::<String>())
    }
}
