//! `glasshouse_batch::decode`, which the collector runs on every upload: the bytes are the
//! attacker's. Checked beyond "no panic": a document `decode` accepts gives its rows (as many as
//! it says it has), and its readable view is the same JSON.

use std::io::Write;

use glasshouse_batch::{Built, Header, Row};
use glasshouse_core::keys::{Key, KeyCategory};
use glasshouse_core::model::{Button, Micros, Stored};
use glasshouse_core::settings::CaptureLevel;
use glasshouse_scrub::Scrubber;
use serde_json::Value;

use super::{Target, Verdict, refused};
use crate::{FuzzError, Rng};

/// 2026-03-02T09:00:00Z, a whole hour.
pub(crate) const START: Micros = 1_772_442_000_000_000;
const HOUR: Micros = 3_600_000_000;

/// Field names and values of the format, for the mutators.
pub(crate) const DICT: &[&str] = &[
    "format",
    "glasshouse.batch",
    "version",
    "device",
    "team",
    "window",
    "start",
    "end",
    "start_us",
    "end_us",
    "capture_level",
    "full",
    "categories",
    "counts",
    "event_count",
    "apps",
    "windows",
    "app",
    "title",
    "scrubbed",
    "email",
    "events",
    "kinds",
    "dt_ms",
    "segments",
    "pointer_dx",
    "pointer_dy",
    "button",
    "wheel_dx",
    "wheel_dy",
    "key",
    "text_len",
    "category",
    "texts",
    "t_ms",
    "text",
    "mbBwkKcCpx",
    "KeyA",
    "Backspace",
    "letter",
    "2026-03-02T09:00:00Z",
    "2026-03-02T10:00:00Z",
    "(excluded app)",
];

const BYTE_DICT: &[&[u8]] = &[
    b"\"kinds\":\"",
    b"\"dt_ms\":[",
    b"\"segments\":[{\"window\":0,\"events\":1}]",
    b"\"key\":[null]",
    b"\"text_len\":[1]",
    b"\"texts\":[{\"t_ms\":0,\"window\":0,\"text\":\"a\"}]",
    b"\"capture_level\":\"counts\"",
    b"\"version\":2",
    b"kKmbBwcCpx",
    b"\x28\xb5\x2f\xfd",
];

/// The rows of a sample batch: every kind of event the level keeps, typed text with an email in
/// it, three windows, an excluded app.
pub(crate) fn sample_rows(level: CaptureLevel, start: Micros, n: usize) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut t = start;
    let mut push = |app: &str, title: &str, event| {
        t += 37_000;
        rows.push(Row {
            ts: t,
            app: app.into(),
            title: title.into(),
            event,
        });
    };
    for i in 0..n as i32 {
        push(
            "firefox",
            "Invoice for ann@example.com - Mail",
            Stored::Move {
                x: 100 + i,
                y: 200 - i,
            },
        );
    }
    push(
        "firefox",
        "Invoice for ann@example.com - Mail",
        Stored::ButtonDown {
            button: Button::Left,
            x: 140,
            y: 160,
        },
    );
    push(
        "firefox",
        "Invoice for ann@example.com - Mail",
        Stored::ButtonUp {
            button: Button::Other(9),
            x: 140,
            y: 160,
        },
    );
    push(
        "firefox",
        "Invoice for ann@example.com - Mail",
        Stored::Wheel { dx: 0, dy: -1 },
    );
    for (i, c) in "hi ann@e.io x".chars().enumerate() {
        let key = match c {
            ' ' => Key::Space,
            '@' => Key::Num2,
            '.' => Key::Dot,
            _ => Key::KeyA,
        };
        let title = if i < 7 { "Write: Re" } else { "Write: Re 2" };
        let event = match level {
            CaptureLevel::Full => Stored::KeyDown {
                key,
                text: Some(c.to_string()),
            },
            CaptureLevel::Categories => Stored::KeyDownCategory(KeyCategory::Letter),
            CaptureLevel::Counts => Stored::KeyPress,
        };
        push("thunderbird", title, event);
        if level == CaptureLevel::Full {
            push("thunderbird", title, Stored::KeyUp { key });
        } else if level == CaptureLevel::Categories {
            push(
                "thunderbird",
                title,
                Stored::KeyUpCategory(KeyCategory::Letter),
            );
        }
    }
    push(
        "thunderbird",
        "Write: Re",
        Stored::KeyDown {
            key: Key::Backspace,
            text: None,
        },
    );
    push("(excluded app)", "", Stored::Excluded);
    push("(excluded app)", "", Stored::Excluded);
    rows
}

/// A real batch, as the app builds it.
pub(crate) fn sample_batch(
    device: &str,
    team: &str,
    start: Micros,
    level: CaptureLevel,
    n: usize,
) -> Result<Built, glasshouse_batch::BatchError> {
    let header = Header {
        device: device.into(),
        team: team.into(),
        window_start: start,
        window_end: start + HOUR,
        capture_level: level,
    };
    glasshouse_batch::build(&header, sample_rows(level, start, n), &Scrubber::new())
}

/// Compresses a document the way batches are (one frame, checksum and size), fast.
pub(crate) fn compress(json: &[u8]) -> Vec<u8> {
    let Ok(mut c) = zstd::bulk::Compressor::new(1) else {
        return Vec::new();
    };
    let _ = c.include_checksum(true);
    let _ = c.include_contentsize(true);
    c.compress(json).unwrap_or_default()
}

/// The documents of `seeds` (decompressed).
pub(crate) fn documents(seeds: &[Vec<u8>]) -> Vec<Vec<u8>> {
    seeds
        .iter()
        .filter_map(|s| zstd::decode_all(&s[..]).ok())
        .collect()
}

/// Structure-aware batches made from valid documents: the JSON changed node by node or byte by
/// byte and compressed again (so the zstd layer passes and the validation is what is tested), or
/// the zstd frame itself changed (trailing bytes, two frames, no size, no checksum, cut short).
pub(crate) fn generate_batch(rng: &mut Rng, docs: &[Vec<u8>], corpus: &[Vec<u8>]) -> Vec<u8> {
    let doc = docs[rng.below(docs.len())].clone();
    match rng.below(10) {
        0..=4 => compress(&super::mutate_json(rng, &doc, DICT)),
        5 | 6 => {
            let mut d = doc;
            crate::mutate::mutate(rng, &mut d, BYTE_DICT, 1 << 22);
            compress(&d)
        }
        7 => {
            // A document from the corpus that decompresses, mutated again.
            let from = &corpus[rng.below(corpus.len())];
            match zstd::decode_all(&from[..]) {
                Ok(d) => compress(&super::mutate_json(rng, &d, DICT)),
                Err(_) => compress(&doc),
            }
        }
        _ => {
            let frame = compress(&doc);
            match rng.below(6) {
                0 => {
                    let n = 1 + rng.below(8);
                    [frame.clone(), rng.bytes(n)].concat()
                }
                1 => [frame.clone(), frame].concat(),
                2 => {
                    let mut e = zstd::stream::Encoder::new(Vec::new(), 1).expect("zstd encoder");
                    let _ = e.include_checksum(rng.one_in(2));
                    let _ = e.write_all(&doc);
                    e.finish().unwrap_or_default()
                }
                3 => {
                    let cut = rng.below(frame.len());
                    frame[..cut].to_vec()
                }
                4 => {
                    // A frame whose content checksum does not match.
                    let mut f = frame;
                    if let Some(last) = f.last_mut() {
                        *last ^= 0x55;
                    }
                    f
                }
                _ => {
                    // Skippable frame in front.
                    let mut f = vec![0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4];
                    f.extend_from_slice(&frame);
                    f
                }
            }
        }
    }
}

/// Documents as large as a batch may be, made without holding them in memory: a valid batch
/// whose columns hold `events` pointer moves (a maximal honest batch, the slowest that passes),
/// and one that is only whitespace past the limit (the zip bomb).
pub(crate) fn big_batches(moves_doc: &[u8], events: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if let Ok(mut v) = serde_json::from_slice::<Value>(moves_doc) {
        v["event_count"] = Value::from(events as u64);
        let ev = &mut v["events"];
        for (k, marker) in [
            ("kinds", "@K@"),
            ("dt_ms", "@D@"),
            ("pointer_dx", "@X@"),
            ("pointer_dy", "@Y@"),
        ] {
            ev[k] = Value::String(marker.into());
        }
        ev["segments"] = serde_json::json!([{ "window": 0, "events": events }]);
        let text = serde_json::to_string(&v).unwrap_or_default();
        let mut enc = zstd::stream::Encoder::new(Vec::new(), 1).expect("zstd encoder");
        let _ = enc.include_checksum(true);
        let mut rest = text.as_str();
        let chunk_m = "m".repeat(1 << 16);
        let chunk_0 = "0,".repeat(1 << 15);
        while let Some(at) = rest.find("\"@") {
            let _ = enc.write_all(&rest.as_bytes()[..at]);
            let marker = &rest[at + 1..at + 4];
            rest = &rest[at + 5..];
            if marker == "@K@" {
                let _ = enc.write_all(b"\"");
                let mut left = events;
                while left > 0 {
                    let n = left.min(chunk_m.len());
                    let _ = enc.write_all(&chunk_m.as_bytes()[..n]);
                    left -= n;
                }
                let _ = enc.write_all(b"\"");
            } else {
                let _ = enc.write_all(b"[");
                let mut left = events - 1;
                while left > 0 {
                    let n = left.min(1 << 15);
                    let _ = enc.write_all(&chunk_0.as_bytes()[..2 * n]);
                    left -= n;
                }
                let _ = enc.write_all(b"0]");
            }
        }
        let _ = enc.write_all(rest.as_bytes());
        out.push(enc.finish().unwrap_or_default());
    }
    let mut enc = zstd::stream::Encoder::new(Vec::new(), 1).expect("zstd encoder");
    let spaces = vec![b' '; 1 << 20];
    for _ in 0..=(glasshouse_batch::MAX_DOCUMENT_BYTES >> 20) {
        let _ = enc.write_all(&spaces);
    }
    out.push(enc.finish().unwrap_or_default());
    out
}

/// The checks on one upload's bytes.
pub(crate) fn check_decode(input: &[u8]) -> Verdict {
    let doc = match glasshouse_batch::decode(input) {
        Ok(doc) => doc,
        Err(e) => return refused(e),
    };
    // Materialising every row takes ~100 bytes an event (gigabytes for the largest batch), which
    // the collector never does on upload; the largest documents are checked for time only.
    if doc.event_count() > 1_000_000 {
        return Verdict::Ok("ok (large)".into());
    }
    let rows = match doc.rows() {
        Ok(rows) => rows,
        Err(e) => {
            return Verdict::Violation(format!(
                "decode accepted a batch whose rows() then failed: {e}"
            ));
        }
    };
    if rows.len() as u64 != doc.event_count() {
        return Verdict::Violation(format!(
            "decode accepted a batch of {} events whose rows() gave {}",
            doc.event_count(),
            rows.len()
        ));
    }
    if rows
        .iter()
        .any(|r| r.ts < doc.window_start() || r.ts >= doc.window_end())
    {
        return Verdict::Violation("a row of an accepted batch is outside its window".into());
    }
    match glasshouse_batch::readable(input) {
        Ok(text) => {
            let view: Result<Value, _> = serde_json::from_str(&text);
            let raw: Result<Value, _> = zstd::decode_all(input)
                .map_err(|e| e.to_string())
                .and_then(|d| serde_json::from_slice(&d).map_err(|e| e.to_string()));
            match (view, raw) {
                (Ok(a), Ok(b)) if a == b => Verdict::Ok("ok".into()),
                (Ok(a), Ok(b)) => {
                    let (a, b) = (a.to_string(), b.to_string());
                    let at = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
                    let around = |s: &str| {
                        s.get(at.saturating_sub(40)..(at + 40).min(s.len()))
                            .unwrap_or_default()
                            .to_owned()
                    };
                    Verdict::Violation(format!(
                        "the readable view of an accepted batch is other JSON: …{}… instead of …{}…",
                        around(&a),
                        around(&b)
                    ))
                }
                (Err(e), _) => Verdict::Violation(format!(
                    "the readable view of an accepted batch is not JSON: {e}"
                )),
                (_, Err(e)) => Verdict::Violation(format!("an accepted batch is not JSON: {e}")),
            }
        }
        Err(e) => Verdict::Violation(format!(
            "decode accepted a batch that readable() refused: {e}"
        )),
    }
}

/// `glasshouse_batch::decode` on any bytes.
pub struct BatchTarget {
    seeds: Vec<Vec<u8>>,
    docs: Vec<Vec<u8>>,
    /// A document of pointer moves only, the model of the largest batch.
    moves: Vec<u8>,
    big: Option<Vec<Vec<u8>>>,
}

/// A batch of `n` pointer moves and nothing else.
pub(crate) fn moves_batch(n: usize) -> Result<Built, glasshouse_batch::BatchError> {
    let header = Header {
        device: "dev_fuzz".into(),
        team: "fuzzers".into(),
        window_start: START,
        window_end: START + HOUR,
        capture_level: CaptureLevel::Full,
    };
    let rows = (0..n as i32).map(|i| Row {
        ts: START + 1000 * Micros::from(i),
        app: "xterm".into(),
        title: "~".into(),
        event: Stored::Move { x: i, y: i },
    });
    glasshouse_batch::build(&header, rows, &Scrubber::new())
}

impl BatchTarget {
    pub fn new() -> Result<BatchTarget, FuzzError> {
        let mut seeds = Vec::new();
        for level in [
            CaptureLevel::Full,
            CaptureLevel::Categories,
            CaptureLevel::Counts,
        ] {
            for n in [0, 3, 40] {
                let b = sample_batch("dev_fuzz", "fuzzers", START, level, n)
                    .map_err(|e| FuzzError::setup("batch", e))?;
                seeds.push(b.bytes);
            }
        }
        let moves = moves_batch(3).map_err(|e| FuzzError::setup("batch", e))?;
        seeds.push(moves.bytes);
        let docs = documents(&seeds);
        let moves = docs.last().cloned().unwrap_or_default();
        Ok(BatchTarget {
            seeds,
            docs,
            moves,
            big: None,
        })
    }
}

impl Target for BatchTarget {
    fn name(&self) -> &'static str {
        "batch"
    }

    fn seeds(&mut self) -> Vec<Vec<u8>> {
        self.seeds.clone()
    }

    fn dictionary(&self) -> &[&'static [u8]] {
        BYTE_DICT
    }

    fn generate(&mut self, rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
        // Now and then the largest documents a batch may hold (made once, on first use). Not in
        // a debug build (the test suite's short run): decoding 256 MiB unoptimised takes minutes.
        if !cfg!(debug_assertions) && rng.one_in(500) {
            let moves = &self.moves;
            let big = self.big.get_or_insert_with(|| {
                big_batches(moves, glasshouse_batch::MAX_DOCUMENT_BYTES / 7 - 1000)
            });
            return big[rng.below(big.len())].clone();
        }
        generate_batch(rng, &self.docs, corpus)
    }

    fn execute(&mut self, input: &[u8]) -> Verdict {
        check_decode(input)
    }
}
