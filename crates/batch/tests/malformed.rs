//! Whatever arrives at the collector, `decode` answers with a value or an error, never a panic,
//! and within bounded memory. A document `decode` accepts always gives its rows.

use std::io::Write;

use glasshouse_batch::{BatchError, Header, MAX_COMPRESSED_BYTES, Row, build, decode, readable};
use glasshouse_core::keys::Key;
use glasshouse_core::model::{Button, MICROS_PER_SEC, Micros, Stored};
use glasshouse_core::settings::CaptureLevel;
use glasshouse_scrub::Scrubber;
use serde_json::{Value, json};

const START: Micros = 1_772_442_000_000_000;

/// splitmix64, so every run tries the same inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A small batch with every column in use: moves, clicks, wheel, typed text with an email in it,
/// two windows.
fn sample() -> Vec<u8> {
    let mut rows = Vec::new();
    let mut t = START;
    let mut row = |app: &str, event| {
        t += 37_000;
        rows.push(Row {
            ts: t,
            app: app.into(),
            title: format!("{app} window"),
            event,
        });
    };
    for i in 0..40 {
        row(
            "firefox",
            Stored::Move {
                x: 100 + i,
                y: 200 - i,
            },
        );
    }
    row(
        "firefox",
        Stored::ButtonDown {
            button: Button::Left,
            x: 139,
            y: 161,
        },
    );
    row(
        "firefox",
        Stored::ButtonUp {
            button: Button::Left,
            x: 139,
            y: 161,
        },
    );
    row("firefox", Stored::Wheel { dx: 0, dy: -1 });
    for c in "hi ann@example.org bye".chars() {
        let key = if c == ' ' { Key::Space } else { Key::KeyA };
        row(
            "slack",
            Stored::KeyDown {
                key,
                text: Some(c.to_string()),
            },
        );
        row("slack", Stored::KeyUp { key });
    }
    row("(excluded app)", Stored::Excluded);
    let header = Header {
        device: "d".into(),
        team: "t".into(),
        window_start: START,
        window_end: START + 3600 * MICROS_PER_SEC,
        capture_level: CaptureLevel::Full,
    };
    build(&header, rows, &Scrubber::new()).unwrap().bytes
}

fn document(bytes: &[u8]) -> Value {
    serde_json::from_slice(&zstd::decode_all(bytes).unwrap()).unwrap()
}

fn compress(doc: &Value) -> Vec<u8> {
    zstd::encode_all(serde_json::to_vec(doc).unwrap().as_slice(), 3).unwrap()
}

/// Decodes, and if that succeeds, the rows must come back too.
fn try_decode(bytes: &[u8]) -> Result<(), BatchError> {
    let doc = decode(bytes)?;
    doc.rows().expect("a decoded document gives its rows");
    Ok(())
}

#[test]
fn random_bytes_are_refused() {
    let mut rng = Rng(1);
    for n in 0..2_000 {
        let len = rng.below(300);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if n % 2 == 0 && len >= 4 {
            // Past the magic number, into the frame parser.
            bytes[..4].copy_from_slice(&[0x28, 0xb5, 0x2f, 0xfd]);
        }
        assert!(try_decode(&bytes).is_err());
    }
    assert_eq!(decode(b"").unwrap_err(), BatchError::NotZstd);
    assert_eq!(
        decode(b"{\"format\":\"glasshouse.batch\"}")
            .unwrap_err()
            .to_string(),
        "the batch is not zstd-compressed"
    );
}

#[test]
fn truncated_and_corrupted_batches_are_refused() {
    let good = sample();
    try_decode(&good).unwrap();
    for len in 0..good.len() {
        assert!(try_decode(&good[..len]).is_err(), "cut at {len}");
    }
    // zstd's content checksum catches what the frame format itself does not. A flip in the frame
    // header that only changes what the decoder may allocate (its unused bit, a larger window)
    // leaves a frame that decodes to the same document.
    let doc = decode(&good).unwrap();
    let mut same = 0;
    for i in 0..good.len() {
        for bit in [0x01, 0x10, 0x80] {
            let mut bad = good.clone();
            bad[i] ^= bit;
            if try_decode(&bad).is_ok() {
                assert_eq!(decode(&bad).unwrap(), doc, "byte {i} ^ {bit:#x}");
                same += 1;
            }
        }
    }
    assert!(same < 10, "{same} flips accepted");
    let mut extra = good.clone();
    extra.push(0);
    assert_eq!(decode(&extra).unwrap_err(), BatchError::TrailingBytes);
    let mut twice = good.clone();
    twice.extend_from_slice(&good);
    assert_eq!(decode(&twice).unwrap_err(), BatchError::TrailingBytes);
    let mut big = good.clone();
    big.resize(MAX_COMPRESSED_BYTES + 1, 0);
    assert!(matches!(
        decode(&big).unwrap_err(),
        BatchError::TooLarge { .. }
    ));
}

#[test]
fn a_decompression_bomb_stops_at_the_bound() {
    // 1 GiB of zeros, streamed (the frame does not declare its size), is a few tens of KB.
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        enc.write_all(&zeros).unwrap();
    }
    let bomb = enc.finish().unwrap();
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    assert_eq!(decode(&bomb).unwrap_err(), BatchError::DocumentTooLarge);
    assert!(readable(&bomb).is_err());
    // The same with the size declared up front.
    let declared = zstd::bulk::compress(&vec![b' '; 300 << 20], 1).unwrap();
    assert_eq!(decode(&declared).unwrap_err(), BatchError::DocumentTooLarge);
}

/// Applies `f` to the sample's JSON and decodes the result.
fn mutated(f: impl FnOnce(&mut Value)) -> BatchError {
    let mut doc = document(&sample());
    f(&mut doc);
    try_decode(&compress(&doc)).unwrap_err()
}

fn invalid(e: BatchError) -> String {
    match e {
        BatchError::Invalid(why) => why,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn each_inconsistency_has_its_error() {
    // Re-compressing the untouched document (at another level) is accepted: the bytes differ,
    // the document is the same.
    try_decode(&compress(&document(&sample()))).unwrap();

    let e = mutated(|d| d["format"] = json!("something.else"));
    assert_eq!(
        e.to_string(),
        "this is not a Glasshouse batch (its format is \"something.else\", expected \"glasshouse.batch\")"
    );
    let e = mutated(|d| *d = json!({"format": "glasshouse.batch", "version": 7, "new": true}));
    assert_eq!(
        e.to_string(),
        "unsupported batch format version 7 (this build reads version 1)"
    );
    assert!(matches!(
        mutated(|d| d["version"] = json!(0)),
        BatchError::UnsupportedVersion { found: 0 }
    ));
    assert!(matches!(
        mutated(|d| *d = json!([1, 2])),
        BatchError::NotJson(_)
    ));
    assert!(matches!(
        mutated(|d| d["events"]
            .as_object_mut()
            .unwrap()
            .remove("kinds")
            .map(drop)
            .unwrap()),
        BatchError::NotJson(_)
    ));

    // The window.
    let e = mutated(|d| d["window"]["end_us"] = d["window"]["start_us"].clone());
    assert!(matches!(e, BatchError::BadWindow(_)), "{e}");
    let e = mutated(|d| {
        d["window"]["end_us"] = json!(START + 25 * 3600 * MICROS_PER_SEC);
        d["window"]["end"] = json!("2026-03-03T10:20:00Z");
    });
    assert!(e.to_string().contains("longer than 24 hours"), "{e}");
    let e = mutated(|d| d["window"]["start"] = json!("2026-03-02T09:00:01Z"));
    assert!(matches!(e, BatchError::BadWindow(_)), "{e}");

    // Columns against kinds.
    let e = invalid(mutated(|d| {
        d["events"]["dt_ms"]
            .as_array_mut()
            .unwrap()
            .pop()
            .map(drop)
            .unwrap()
    }));
    assert!(e.contains("`dt_ms` column"), "{e}");
    let e = invalid(mutated(|d| {
        d["events"]["pointer_dy"]
            .as_array_mut()
            .unwrap()
            .push(json!(1))
    }));
    assert!(e.contains("`pointer_dy` column"), "{e}");
    let e = invalid(mutated(|d| d["event_count"] = json!(3)));
    assert!(e.contains("event_count"), "{e}");
    let e = invalid(mutated(|d| {
        let k = d["events"]["kinds"].as_str().unwrap().replacen('x', "z", 1);
        d["events"]["kinds"] = json!(k);
    }));
    assert!(e.contains("unknown kind 'z'"), "{e}");
    let e = invalid(mutated(|d| d["capture_level"] = json!("categories")));
    assert!(e.contains("does not allow"), "{e}");
    assert!(matches!(
        mutated(|d| d["events"]["dt_ms"][0] = json!(-1)),
        BatchError::NotJson(_)
    ));
    assert!(matches!(
        mutated(|d| d["scrubbed"]["email"] = json!(-1)),
        BatchError::NotJson(_)
    ));
    assert!(matches!(
        mutated(|d| d["events"]["category"] = json!(["vowel"])),
        BatchError::NotJson(_)
    ));

    // Times and indices.
    let e = invalid(mutated(|d| d["events"]["dt_ms"][5] = json!(3_600_000)));
    assert!(e.contains("after the window's end"), "{e}");
    let e = invalid(mutated(|d| {
        d["events"]["segments"][0]["window"] = json!(99)
    }));
    assert!(e.contains("segment 0 names window 99"), "{e}");
    let e = invalid(mutated(|d| d["events"]["segments"][0]["events"] = json!(0)));
    assert!(e.contains("no events"), "{e}");
    let e = invalid(mutated(|d| d["windows"][0]["app"] = json!(7)));
    assert!(e.contains("names app 7"), "{e}");
    let e = invalid(mutated(|d| {
        d["events"]["pointer_dx"][3] = json!(1i64 << 40)
    }));
    assert!(e.contains("out of range"), "{e}");

    // Keys and text.
    let e = invalid(mutated(|d| d["events"]["key"][0] = json!("KeyÄ")));
    assert!(e.contains("unknown key"), "{e}");
    let e = invalid(mutated(|d| d["events"]["text_len"][0] = json!(500)));
    assert!(e.contains("shorter"), "{e}");
    let e = invalid(mutated(|d| {
        d["events"]["texts"][0]["text"] = json!("hi [EMAIL] bye!")
    }));
    assert!(e.contains("longer"), "{e}");
    let e = invalid(mutated(|d| d["events"]["texts"][0]["t_ms"] = json!(1)));
    assert!(e.contains("does not start"), "{e}");
    let e = invalid(mutated(|d| {
        let run = d["events"]["texts"][0].clone();
        d["events"]["texts"].as_array_mut().unwrap().push(run);
    }));
    assert!(e.contains("more text runs"), "{e}");
    let e = invalid(mutated(|d| d["events"]["texts"] = json!([])));
    assert!(e.contains("fewer text runs"), "{e}");

    // Fields this version does not know are ignored (additive changes keep the version).
    let mut doc = document(&sample());
    doc["comment"] = json!("from a later minor revision");
    doc["events"]["pressure"] = json!([1, 2]);
    try_decode(&compress(&doc)).unwrap();
}

/// Every leaf of a JSON value, as a JSON pointer.
fn leaves(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Array(a) => {
            out.push(at.clone());
            for (i, x) in a.iter().enumerate() {
                leaves(x, format!("{at}/{i}"), out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                leaves(x, format!("{at}/{k}"), out);
            }
        }
        _ => out.push(at),
    }
}

#[test]
fn random_changes_to_a_valid_document_never_panic() {
    let base = document(&sample());
    let mut paths = Vec::new();
    leaves(&base, String::new(), &mut paths);
    let mut rng = Rng(7);
    let values = [
        json!(null),
        json!(0),
        json!(1),
        json!(-1),
        json!(u32::MAX),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(1.5),
        json!(""),
        json!("x"),
        json!("KeyA"),
        json!("é"),
        json!([]),
        json!({}),
        json!(true),
    ];
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..3_000 {
        let mut doc = base.clone();
        for _ in 0..1 + rng.below(3) {
            let path = &paths[rng.below(paths.len())];
            let Some(target) = doc.pointer_mut(path) else {
                continue;
            };
            match (rng.below(4), target) {
                (0, Value::Array(a)) if !a.is_empty() => {
                    let i = rng.below(a.len());
                    a.remove(i);
                }
                (1, Value::Array(a)) => {
                    let v = values[rng.below(values.len())].clone();
                    a.push(v);
                }
                (2, Value::Number(n)) => {
                    let k = n.as_i64().unwrap_or(0);
                    *n = (k + rng.below(5) as i64 - 2).into();
                }
                (_, target) => *target = values[rng.below(values.len())].clone(),
            }
        }
        match try_decode(&compress(&doc)) {
            Ok(()) => accepted += 1,
            Err(_) => refused += 1,
        }
    }
    // Most changes break a cross-check; a few (a move's delta, a title) are still valid batches.
    assert!(refused > accepted, "{accepted} accepted, {refused} refused");
}
