//! Building, decoding and reading batches: round trips at every capture level, determinism, what
//! the scrubber removes (and that the keys cannot give it back), and the readable view.

use glasshouse_batch::{
    BatchError, Document, FORMAT, Header, REDACTED_KEY, Row, VERSION, build, decode, readable,
    sha256_hex,
};
use glasshouse_core::keys::Key;
use glasshouse_core::model::{Button, MICROS_PER_SEC, Micros, Stored};
use glasshouse_core::settings::CaptureLevel;
use glasshouse_scrub::Scrubber;

/// 2026-03-02T09:00:00.000250Z: not on a millisecond, to exercise the rounding.
const START: Micros = 1_772_442_000_000_250;
const HOUR: Micros = 3600 * MICROS_PER_SEC;

fn header(level: CaptureLevel) -> Header {
    Header {
        device: "dev-7f3a9c".into(),
        team: "ml-platform".into(),
        window_start: START,
        window_end: START + HOUR,
        capture_level: level,
    }
}

/// A quarter hour of the store's synthetic workday, as rows.
fn workday_rows() -> Vec<Row> {
    glasshouse_store::synth::workday(START, 7, 1.0 / 32.0)
        .into_iter()
        .filter(|(_, e)| e.ts < START + HOUR)
        .map(|(w, e)| Row {
            ts: e.ts,
            app: w.app.clone(),
            title: w.title.clone(),
            event: e.event,
        })
        .collect()
}

/// What the batch keeps of `rows` at `level`: times at whole milliseconds after the start,
/// key detail reduced to the level.
fn expected(rows: &[Row], level: CaptureLevel) -> Vec<Row> {
    rows.iter()
        .filter_map(|r| {
            let event = match (level, &r.event) {
                (CaptureLevel::Full, e) => e.clone(),
                (CaptureLevel::Categories, Stored::KeyDown { key, .. }) => {
                    Stored::KeyDownCategory(key.category())
                }
                (CaptureLevel::Categories, Stored::KeyUp { key }) => {
                    Stored::KeyUpCategory(key.category())
                }
                (CaptureLevel::Counts, Stored::KeyDown { .. }) => Stored::KeyPress,
                (CaptureLevel::Counts, Stored::KeyUp { .. }) => return None,
                (_, e) => e.clone(),
            };
            Some(Row {
                ts: START + (r.ts - START) / 1000 * 1000,
                event,
                ..r.clone()
            })
        })
        .collect()
}

fn decompress(bytes: &[u8]) -> String {
    String::from_utf8(zstd::decode_all(bytes).unwrap()).unwrap()
}

#[test]
fn rows_come_back_at_every_capture_level() {
    let rows = workday_rows();
    assert!(rows.len() > 20_000, "{} rows", rows.len());
    let scrubber = Scrubber::new();
    for level in [
        CaptureLevel::Full,
        CaptureLevel::Categories,
        CaptureLevel::Counts,
    ] {
        let built = build(&header(level), rows.clone(), &scrubber).unwrap();
        let doc = decode(&built.bytes).unwrap();
        let want = expected(&rows, level);
        assert_eq!(doc.rows().unwrap(), want, "{level:?}");
        assert_eq!(built.events, want.len() as u64);
        assert_eq!(doc.event_count(), built.events);
        assert_eq!(doc.capture_level, level);
        assert_eq!(doc.app_names(), built.apps);
        assert_eq!(doc.scrubbed, built.scrubbed);
        assert_eq!(built.sha256, sha256_hex(&built.bytes));
        assert_eq!(built.document_bytes, decompress(&built.bytes).len());
        assert_eq!(
            (doc.window_start(), doc.window_end()),
            (START, START + HOUR)
        );
        assert_eq!(doc.window.start, "2026-03-02T09:00:00.000250Z");
        assert_eq!(doc.format, FORMAT);
        assert_eq!(doc.version, VERSION);
    }
}

#[test]
fn every_kind_of_event_round_trips() {
    let t = |ms: i64| START + ms * 1000 + 999;
    let row = |ms, app: &str, title: &str, event| Row {
        ts: t(ms),
        app: app.into(),
        title: title.into(),
        event,
    };
    let rows = vec![
        row(0, "a", "one", Stored::Move { x: -5, y: 7 }),
        row(
            0,
            "a",
            "one",
            Stored::Move {
                x: i32::MAX,
                y: i32::MIN,
            },
        ),
        row(
            1,
            "a",
            "one",
            Stored::Move {
                x: i32::MIN,
                y: i32::MAX,
            },
        ),
        row(
            2,
            "a",
            "one",
            Stored::ButtonDown {
                button: Button::Other(9),
                x: 3,
                y: 4,
            },
        ),
        row(
            2,
            "a",
            "two",
            Stored::ButtonUp {
                button: Button::Middle,
                x: 3,
                y: 4,
            },
        ),
        row(3, "b", "", Stored::Wheel { dx: -2, dy: 3 }),
        row(
            4,
            "b",
            "",
            Stored::KeyDown {
                key: Key::Unknown(8),
                text: Some("é€".into()),
            },
        ),
        row(
            4,
            "b",
            "",
            Stored::KeyDown {
                key: Key::ControlLeft,
                text: None,
            },
        ),
        row(
            4,
            "b",
            "",
            Stored::KeyDown {
                key: Key::KeyQ,
                text: Some(String::new()),
            },
        ),
        row(5, "b", "", Stored::KeyUp { key: Key::KeyQ }),
        row(
            6,
            "b",
            "",
            Stored::KeyDownCategory(glasshouse_core::keys::KeyCategory::Digit),
        ),
        row(
            6,
            "b",
            "",
            Stored::KeyUpCategory(glasshouse_core::keys::KeyCategory::Other),
        ),
        row(7, "b", "", Stored::KeyPress),
        row(3_599_999, "(excluded app)", "", Stored::Excluded),
    ];
    let built = build(&header(CaptureLevel::Full), rows.clone(), &Scrubber::new()).unwrap();
    let doc = decode(&built.bytes).unwrap();
    assert_eq!(doc.rows().unwrap(), expected(&rows, CaptureLevel::Full));
    assert_eq!(doc.events.kinds, "mmmbBwkkkKcCpx");
    assert_eq!(doc.apps, ["a", "b", "(excluded app)"]);
    assert_eq!(doc.windows.len(), 4);
    assert_eq!(doc.events.segments.len(), 4);
}

#[test]
fn the_same_input_gives_the_same_bytes() {
    let rows = workday_rows();
    let scrubber = Scrubber::new();
    let a = build(&header(CaptureLevel::Full), rows.clone(), &scrubber).unwrap();
    let b = build(&header(CaptureLevel::Full), rows, &Scrubber::new()).unwrap();
    assert_eq!(a.bytes, b.bytes);
    assert_eq!(a.sha256, b.sha256);
    // The document is canonical: writing the decoded document again gives the same JSON.
    let doc = decode(&a.bytes).unwrap();
    assert_eq!(serde_json::to_string(&doc).unwrap(), decompress(&a.bytes));
}

#[test]
fn the_readable_view_is_the_same_document() {
    let built = build(
        &header(CaptureLevel::Full),
        workday_rows(),
        &Scrubber::new(),
    )
    .unwrap();
    let view = readable(&built.bytes).unwrap();
    let from_view: Document = serde_json::from_str(&view).unwrap();
    assert_eq!(from_view, decode(&built.bytes).unwrap());
    assert!(view.starts_with("{\n  \"format\": \"glasshouse.batch\",\n  \"version\": 1,\n"));
    assert!(view.lines().count() > 100, "indented, not one line");
}

/// Key-down and key-up rows for `text` typed on a US layout, starting at `ms` (one key per 100
/// ms). Shift is pressed for `@`; `\u{8}` stands for Backspace.
fn typed(text: &str, ms: i64, app: &str, title: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut t = START + ms * 1000;
    let mut push = |t: &mut Micros, event| {
        rows.push(Row {
            ts: *t,
            app: app.into(),
            title: title.into(),
            event,
        });
        *t += 40_000;
    };
    for c in text.chars() {
        let key = match c {
            'a'..='z' => Key::from_code(1 + (c as u16 - 'a' as u16)),
            '0'..='9' => Key::from_code(30 + (c as u16 - '0' as u16)),
            ' ' => Key::Space,
            '.' => Key::Dot,
            '-' => Key::Minus,
            '@' => Key::Num2,
            '\u{8}' => Key::Backspace,
            other => panic!("no key for {other:?}"),
        };
        if c == '@' {
            push(
                &mut t,
                Stored::KeyDown {
                    key: Key::ShiftLeft,
                    text: None,
                },
            );
        }
        let text = (c != '\u{8}').then(|| c.to_string());
        push(&mut t, Stored::KeyDown { key, text });
        push(&mut t, Stored::KeyUp { key });
        if c == '@' {
            push(
                &mut t,
                Stored::KeyUp {
                    key: Key::ShiftLeft,
                },
            );
        }
        t += 20_000;
    }
    rows
}

#[test]
fn a_typed_email_cannot_be_read_back_from_text_or_keys() {
    let email = "jane.doe@example.com";
    let mut rows = typed(
        &format!("mail {email} ok"),
        0,
        "thunderbird",
        "Write: Hello",
    );
    // A pointer movement in between does not break the run.
    rows.push(Row {
        ts: START + 9_000_000,
        app: "thunderbird".into(),
        title: "Write: Hello".into(),
        event: Stored::Move { x: 10, y: 10 },
    });
    rows.extend(typed("thx", 10_000, "thunderbird", "Write: Hello"));
    let built = build(&header(CaptureLevel::Full), rows, &Scrubber::new()).unwrap();
    assert_eq!(built.scrubbed["email"], 1);
    let json = decompress(&built.bytes);
    for needle in [email, "jane", "example", "doe@"] {
        assert!(!json.contains(needle), "{needle:?} is in the document");
    }
    let doc = decode(&built.bytes).unwrap();
    assert_eq!(doc.events.texts.len(), 1);
    assert_eq!(doc.events.texts[0].text, "mail [EMAIL] okthx");
    // No named key event spells the address: the key-downs (and ups) that typed it are null, and
    // the names that are left do not contain its key sequence even with gaps.
    let email_keys: Vec<String> = typed(email, 0, "", "")
        .into_iter()
        .filter_map(|r| match r.event {
            Stored::KeyDown { key, text: Some(_) } => Some(key.name()),
            _ => None,
        })
        .collect();
    let named: Vec<&String> = doc.events.key.iter().flatten().collect();
    let mut want = email_keys.iter().peekable();
    for name in &named {
        if want.peek() == Some(name) {
            want.next();
        }
    }
    assert!(
        want.peek().is_some(),
        "the address's keys are in the key column in order: {named:?}"
    );
    let redacted = doc.events.key.iter().filter(|k| k.is_none()).count();
    assert_eq!(
        redacted,
        2 * email.len(),
        "every key-down and key-up of the address"
    );
    // Shift (typed for `@`) keeps its name: it says nothing about the address.
    assert!(named.iter().any(|n| *n == "ShiftLeft"));
    // Rows give the redacted keys as REDACTED_KEY, the placeholder on the first of them.
    let rows = doc.rows().unwrap();
    let texts: String = rows
        .iter()
        .filter_map(|r| match &r.event {
            Stored::KeyDown { text, .. } => text.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(texts, "mail [EMAIL] okthx");
    let redacted_rows = rows
        .iter()
        .filter(|r| {
            matches!(r.event, Stored::KeyDown { key, .. } | Stored::KeyUp { key } if key == REDACTED_KEY)
        })
        .count();
    assert_eq!(redacted_rows, 2 * email.len());
}

#[test]
fn a_typed_card_number_cannot_be_read_back_from_text_or_keys() {
    let card = "4111 1111 1111 1111";
    let rows = typed(&format!("card {card} exp"), 0, "firefox", "Checkout");
    let built = build(&header(CaptureLevel::Full), rows, &Scrubber::new()).unwrap();
    assert_eq!(built.scrubbed["card"], 1, "{:?}", built.scrubbed);
    let json = decompress(&built.bytes);
    for needle in ["4111", "1111", "Num1", "Num4"] {
        assert!(!json.contains(needle), "{needle:?} is in the document");
    }
    let doc = decode(&built.bytes).unwrap();
    assert_eq!(doc.events.texts[0].text, "card [CARD] exp");
}

#[test]
fn runs_break_at_window_changes_only() {
    let mut rows = typed("abc\u{8}d", 0, "code", "main.rs");
    rows.push(Row {
        ts: START + 900_000,
        app: "code".into(),
        title: "main.rs".into(),
        event: Stored::Move { x: 1, y: 1 },
    });
    rows.extend(typed("ef", 1_000, "code", "main.rs"));
    rows.extend(typed("gh", 2_000, "code", "lib.rs"));
    rows.extend(typed("ij", 3_000, "code", "main.rs"));
    let built = build(&header(CaptureLevel::Full), rows, &Scrubber::new()).unwrap();
    let doc = decode(&built.bytes).unwrap();
    let runs: Vec<(&str, u32)> = doc
        .events
        .texts
        .iter()
        .map(|r| (r.text.as_str(), r.window))
        .collect();
    assert_eq!(runs, [("abcdef", 0), ("gh", 1), ("ij", 0)]);
    assert_eq!(doc.events.texts[1].t_ms, 2_000);
}

#[test]
fn window_titles_are_scrubbed() {
    let rows = vec![Row {
        ts: START,
        app: "thunderbird".into(),
        title: "Re: invoice - bob.smith@corp.example - Inbox".into(),
        event: Stored::KeyPress,
    }];
    let built = build(&header(CaptureLevel::Counts), rows, &Scrubber::new()).unwrap();
    assert_eq!(built.scrubbed["email"], 1);
    assert!(!decompress(&built.bytes).contains("bob.smith"));
    let doc = decode(&built.bytes).unwrap();
    assert_eq!(doc.windows[0].title, "Re: invoice - [EMAIL] - Inbox");
    assert_eq!(
        doc.rows().unwrap()[0].title,
        "Re: invoice - [EMAIL] - Inbox"
    );
}

#[test]
fn more_detail_than_the_level_is_not_kept() {
    let rows = typed("quiet plans", 0, "code", "notes");
    for level in [CaptureLevel::Categories, CaptureLevel::Counts] {
        let built = build(&header(level), rows.clone(), &Scrubber::new()).unwrap();
        let json = decompress(&built.bytes);
        assert!(!json.contains("quiet") && !json.contains("plans"), "{json}");
        assert!(!json.contains("KeyQ"), "{json}");
        let doc = decode(&built.bytes).unwrap();
        assert!(doc.events.texts.is_empty() && doc.events.key.is_empty());
    }
}

#[test]
fn rows_must_be_in_order_and_inside_the_window() {
    let at = |ts| Row {
        ts,
        app: "a".into(),
        title: String::new(),
        event: Stored::KeyPress,
    };
    let h = header(CaptureLevel::Counts);
    let s = Scrubber::new();
    let err = build(&h, [at(START + 10), at(START + 5)], &s).unwrap_err();
    assert!(matches!(err, BatchError::OutOfOrder { .. }), "{err}");
    assert!(err.to_string().contains("time order"), "{err}");
    let err = build(&h, [at(START + HOUR)], &s).unwrap_err();
    assert!(
        matches!(err, BatchError::EventOutsideWindow { .. }),
        "{err}"
    );
    let err = build(&h, [at(START - 1)], &s).unwrap_err();
    assert!(
        matches!(err, BatchError::EventOutsideWindow { .. }),
        "{err}"
    );
    let mut bad = h.clone();
    bad.window_end = bad.window_start;
    assert!(matches!(
        build(&bad, [], &s).unwrap_err(),
        BatchError::BadWindow(_)
    ));
    bad.window_end = bad.window_start + 24 * HOUR + 1;
    assert!(matches!(
        build(&bad, [], &s).unwrap_err(),
        BatchError::BadWindow(_)
    ));
    // An empty batch is a batch.
    let empty = build(&h, [], &s).unwrap();
    assert_eq!(decode(&empty.bytes).unwrap().rows().unwrap(), []);
}
