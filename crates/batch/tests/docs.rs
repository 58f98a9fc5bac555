//! The example in `docs/batch-format.md` is what the code builds from the events it describes.

use glasshouse_batch::{Header, Row, build, decode, readable};
use glasshouse_core::keys::Key;
use glasshouse_core::model::{Button, MICROS_PER_SEC, Micros, Stored};
use glasshouse_core::settings::CaptureLevel;
use glasshouse_scrub::Scrubber;

const START: Micros = 1_772_442_000 * MICROS_PER_SEC;

fn example() -> Vec<Row> {
    let mut rows = Vec::new();
    let mut add = |ms: i64, (app, title): (&str, &str), event| {
        rows.push(Row {
            ts: START + ms * 1000 + 417,
            app: app.into(),
            title: title.into(),
            event,
        });
    };
    let firefox = ("firefox", "Invoice 0042 for ann@example.org - Mail");
    add(1200, firefox, Stored::Move { x: 640, y: 400 });
    add(1208, firefox, Stored::Move { x: 643, y: 398 });
    add(1217, firefox, Stored::Move { x: 646, y: 396 });
    let (button, x, y) = (Button::Left, 646, 396);
    add(1219, firefox, Stored::ButtonDown { button, x, y });
    add(1301, firefox, Stored::ButtonUp { button, x, y });
    add(1650, firefox, Stored::Wheel { dx: 0, dy: -1 });
    let thunderbird = ("thunderbird", "Write: Re: invoice");
    let mut t = 4000;
    for (key, text) in [
        (Key::KeyH, "h"),
        (Key::KeyI, "i"),
        (Key::Space, " "),
        (Key::KeyA, "a"),
        (Key::KeyN, "n"),
        (Key::KeyN, "n"),
        (Key::Num2, "@"),
        (Key::KeyE, "e"),
        (Key::Dot, "."),
        (Key::KeyI, "i"),
        (Key::KeyO, "o"),
        (Key::Backspace, ""),
        (Key::KeyO, "o"),
    ] {
        let text = (!text.is_empty()).then(|| text.to_owned());
        add(t, thunderbird, Stored::KeyDown { key, text });
        add(t + 70, thunderbird, Stored::KeyUp { key });
        t += 130;
    }
    add(9000, ("(excluded app)", ""), Stored::Excluded);
    add(10000, ("(excluded app)", ""), Stored::Excluded);
    rows
}

#[test]
fn the_documented_example_is_what_build_writes() {
    let header = Header {
        device: "d-5c1e0a7b".into(),
        team: "support-ml".into(),
        window_start: START,
        window_end: START + 3600 * MICROS_PER_SEC,
        capture_level: CaptureLevel::Full,
    };
    let built = build(&header, example(), &Scrubber::new()).unwrap();
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/batch-format.md"
    ))
    .unwrap();
    let example = doc
        .split("## Example")
        .nth(1)
        .and_then(|s| s.split("```json\n").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("the example's JSON block");
    assert_eq!(readable(&built.bytes).unwrap(), example);
    let decoded = decode(&built.bytes).unwrap();
    assert_eq!(decoded.rows().unwrap().len(), 34);
}
