//! Every chart against typical, empty and extreme data, through one `check` helper that insists on
//! well-formed, titled SVG; plus an ignored preview writer and an ignored timing run.

use glasshouse_core::keys::{Key, KeyCategory};
use glasshouse_core::model::{MICROS_PER_MINUTE, MICROS_PER_SEC, Micros};

use crate::*;

/// 2024-03-12 00:00 in UTC+1, as UTC microseconds.
const DAY_START: Micros = 1_710_198_000 * MICROS_PER_SEC;
const OFFSET: i32 = 3600;
const W: u32 = 760;
const H: u32 = 300;

/// Well-formed, one `<svg>` root with `role="img"` and a non-empty `<title>` first, and every
/// `expected` text present (escaped as XML would). Returns the SVG for further checks.
fn check(svg: &str, expected: &[&str]) -> String {
    let elements = xml_check::check(svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
    assert_eq!(elements.first().map(String::as_str), Some("svg"));
    assert_eq!(
        elements.get(1).map(String::as_str),
        Some("title"),
        "title first"
    );
    assert!(svg.starts_with("<svg role=\"img\" "));
    assert!(!svg.contains("<title></title>"));
    for size in svg.split("font-size=\"").skip(1) {
        let size = &size[..size.find('"').unwrap()];
        assert!(
            size.split('.').nth(1).is_none_or(|d| d.len() <= 2),
            "font-size {size}"
        );
    }
    for text in expected {
        let escaped = canvas::escape_xml(text);
        assert!(svg.contains(&escaped), "missing {text:?} in\n{svg}");
    }
    svg.to_owned()
}

fn lcg(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    *seed >> 33
}

/// A plausible working day: mornings and afternoons busy, a lunch pause, some minutes in an
/// excluded app.
struct SampleDay {
    minutes: Vec<MinutePoint>,
    paused: Vec<(Micros, Micros)>,
    excluded: Vec<(Micros, u64)>,
}

fn sample_day(every_minute: bool) -> SampleDay {
    let mut seed = 7;
    let mut minutes = Vec::new();
    let at = |h: i64, m: i64| DAY_START + (h * 60 + m) * MICROS_PER_MINUTE;
    for m in 0..1440i64 {
        let hour = m / 60;
        let working =
            (8..12).contains(&hour) || (13..18).contains(&hour) || (20..22).contains(&hour);
        if !working && !every_minute {
            continue;
        }
        let busy = if working { lcg(&mut seed) % 100 } else { 0 };
        minutes.push(MinutePoint {
            minute: DAY_START + m * MICROS_PER_MINUTE,
            keys: if busy > 30 {
                busy * 2 + lcg(&mut seed) % 60
            } else {
                busy / 3
            },
            clicks: lcg(&mut seed) % if working { 14 } else { 1 },
            scroll_steps: lcg(&mut seed) % 20,
            active_secs: if working { 10 + lcg(&mut seed) % 51 } else { 0 },
        });
    }
    let excluded = (0..25)
        .map(|i| (at(15, 10 + i), 40 + (i as u64 % 20)))
        .collect();
    SampleDay {
        minutes,
        paused: vec![(at(12, 5), at(12, 50)), (at(16, 30), at(16, 42))],
        excluded,
    }
}

fn sample_apps() -> Vec<AppBar> {
    let names = [
        ("firefox", 9_400),
        ("code", 7_800),
        ("Alacritty", 3_900),
        ("thunderbird", 1_500),
        ("(excluded app)", 1_400),
        ("slack", 1_250),
        ("evince", 600),
        ("gimp", 320),
        ("nautilus", 120),
        ("pavucontrol", 45),
        ("(unknown)", 30),
    ];
    names
        .iter()
        .enumerate()
        .map(|(i, (app, secs))| AppBar {
            app: (*app).into(),
            active_secs: *secs,
            keys: secs * (3 + i as u64 % 4),
            clicks: secs / (2 + i as u64),
        })
        .collect()
}

fn sample_keys() -> Vec<(Key, u64)> {
    // Rough English letter frequencies, plus the keys around them.
    let text = "etaoinshrdlcumwfgypbvkjxqz";
    let mut counts: Vec<(Key, u64)> = text
        .chars()
        .enumerate()
        .filter_map(|(i, c)| {
            let key = Key::from_name(&format!("Key{}", c.to_ascii_uppercase()))?;
            Some((key, 4_000 / (i as u64 + 1) + 20))
        })
        .collect();
    counts.extend([
        (Key::Space, 6_500),
        (Key::Backspace, 1_900),
        (Key::Return, 700),
        (Key::ShiftLeft, 900),
        (Key::ControlLeft, 650),
        (Key::Dot, 400),
        (Key::Comma, 380),
        (Key::Num1, 90),
        (Key::Num2, 60),
        (Key::Num0, 45),
        (Key::Tab, 300),
        (Key::Escape, 120),
        (Key::UpArrow, 200),
        (Key::DownArrow, 210),
        (Key::LeftArrow, 150),
        (Key::RightArrow, 160),
        (Key::F5, 12),
        (Key::Kp7, 30),
        (Key::Unknown(300), 4),
    ]);
    counts
}

/// Clicks on a 1920×1080 screen in 24-px cells (80×45): clustered around a top bar, the middle
/// of the screen and a corner, with stray clicks elsewhere.
fn sample_cells() -> Vec<(u32, u32, u64)> {
    let mut seed = 11;
    let mut cells = Vec::new();
    for row in 0..45u32 {
        for col in 0..80u32 {
            let near = |c: f64, r: f64, spread: f64| {
                let d = ((f64::from(col) - c).powi(2) + (f64::from(row) - r).powi(2)).sqrt();
                (-d / spread).exp()
            };
            let weight = 60.0 * near(40.0, 22.0, 5.0)
                + 300.0 * near(6.0, 1.0, 1.5)
                + 40.0 * near(74.0, 40.0, 2.0)
                + 120.0 * near(52.0, 1.0, 1.0);
            let roll = (lcg(&mut seed) % 1000) as f64 / 1000.0;
            let n = (weight * roll) as u64 + u64::from(roll > 0.985);
            if n > 0 {
                cells.push((col, row, n));
            }
        }
    }
    cells
}

/// Exactly `n` clicked cells: the sample, then a light sprinkle over the remaining cells.
fn cells_exactly(n: usize) -> Vec<(u32, u32, u64)> {
    let mut cells = sample_cells();
    let taken: std::collections::HashSet<(u32, u32)> =
        cells.iter().map(|(c, r, _)| (*c, *r)).collect();
    let free = (0..45u32).flat_map(|r| (0..80u32).map(move |c| (c, r)));
    for (c, r) in free.filter(|cr| !taken.contains(cr)) {
        if cells.len() >= n {
            break;
        }
        cells.push((c, r, 1));
    }
    cells.truncate(n);
    cells
}

fn timeline_of<'a>(day: &'a SampleDay, now: Option<Micros>) -> Timeline<'a> {
    Timeline {
        start: DAY_START,
        end: DAY_START + 1440 * MICROS_PER_MINUTE,
        utc_offset_secs: OFFSET,
        minutes: &day.minutes,
        paused: &day.paused,
        locked: &[],
        excluded: &day.excluded,
        now,
    }
}

#[test]
fn timeline_marks_a_locked_screen_apart_from_pauses() {
    let day = sample_day(false);
    let theme = Theme::light();
    let at = |h: i64, m: i64| DAY_START + (h * 60 + m) * MICROS_PER_MINUTE;
    let locked = [(at(13, 0), at(13, 40))];
    let fill = |c: crate::theme::Rgb| format!("fill=\"#{:02X}{:02X}{:02X}\"", c.0, c.1, c.2);
    let with_lock = Timeline {
        paused: &[],
        locked: &locked,
        ..timeline_of(&day, None)
    };
    let svg = check(
        &timeline(&with_lock, &theme, W, H),
        &["screen locked", "screen locked once"],
    );
    assert!(
        svg.lines()
            .any(|l| l.starts_with("<rect") && l.contains(&fill(theme.locked)))
    );
    // Only a lock: no "paused" legend entry, and nothing in the pause colour.
    assert!(
        !svg.contains(">\npaused\n<"),
        "a lock is not drawn as a pause"
    );
    assert!(!svg.lines().any(|l| l.contains(&fill(theme.paused))));
    assert_ne!(theme.locked, theme.paused);
    assert_ne!(Theme::dark().locked, Theme::dark().paused);
    // Without a lock, no lock legend entry.
    let svg = timeline(&timeline_of(&day, None), &theme, W, H);
    assert!(!svg.contains("screen locked"));
}

#[test]
fn timeline_shows_hours_pauses_and_exclusions() {
    let day = sample_day(false);
    let theme = Theme::light();
    let svg = check(
        &timeline(&timeline_of(&day, None), &theme, W, H),
        &[
            "events per minute",
            "paused",
            "excluded app",
            "00",
            "12",
            "24",
            "Activity through the day",
        ],
    );
    // The shading is a rectangle in the paused colour at the shading opacity.
    let p = theme.paused;
    let paused_fill = format!("fill=\"#{:02X}{:02X}{:02X}\"", p.0, p.1, p.2);
    assert!(
        svg.lines()
            .any(|l| l.starts_with("<rect") && l.contains(&paused_fill))
    );
    let e = theme.excluded;
    let excluded_fill = format!("fill=\"#{:02X}{:02X}{:02X}\"", e.0, e.1, e.2);
    assert!(
        svg.lines()
            .any(|l| l.starts_with("<rect") && l.contains(&excluded_fill))
    );
    assert!(svg.contains("paused 2 times"));
    // Without pauses, no paused legend entry.
    let quiet = Timeline {
        paused: &[],
        ..timeline_of(&day, None)
    };
    assert!(!timeline(&quiet, &theme, W, H).contains(">\npaused\n<"));
}

/// The hour labels of a timeline, in order: the centred two-digit texts.
fn hour_labels(svg: &str) -> Vec<String> {
    let lines: Vec<&str> = svg.lines().collect();
    lines
        .windows(2)
        .filter(|w| w[0].starts_with("<text") && w[0].contains("text-anchor=\"middle\""))
        .map(|w| w[1].to_owned())
        .filter(|t| t.len() == 2 && t.chars().all(|c| c.is_ascii_digit()))
        .collect()
}

#[test]
fn timeline_hour_labels_are_local_time() {
    let day = sample_day(false);
    let now = Some(DAY_START + 14 * 60 * MICROS_PER_MINUTE);
    let svg = timeline(&timeline_of(&day, now), &Theme::dark(), 1300, 320);
    check(&svg, &["now"]);
    let every_hour: Vec<String> = (0..=24).map(|h| format!("{h:02}")).collect();
    assert_eq!(hour_labels(&svg), every_hour);
    // Narrower, fewer labels; still from local midnight to midnight.
    let narrow = timeline(&timeline_of(&day, now), &Theme::dark(), 420, 240);
    let labels = hour_labels(&narrow);
    assert!(labels.len() < 25 && labels.len() >= 5, "{labels:?}");
    assert_eq!(
        (
            labels.first().unwrap().as_str(),
            labels.last().unwrap().as_str()
        ),
        ("00", "24")
    );
    // The same instants read in UTC start at 23 (the day began at 23:00 UTC).
    let utc = Timeline {
        utc_offset_secs: 0,
        ..timeline_of(&day, now)
    };
    assert_eq!(
        hour_labels(&timeline(&utc, &Theme::dark(), 1300, 320))
            .first()
            .map(String::as_str),
        Some("23")
    );
}

#[test]
fn timeline_empty_and_extreme() {
    let theme = Theme::light();
    let empty = Timeline {
        minutes: &[],
        paused: &[],
        locked: &[],
        excluded: &[],
        ..timeline_of(&sample_day(false), None)
    };
    check(
        &timeline(&empty, &theme, W, H),
        &["Nothing recorded yet", "events per minute"],
    );

    let mut day = sample_day(true);
    assert_eq!(day.minutes.len(), 1440);
    for m in &mut day.minutes {
        m.keys = u64::MAX / 2;
        m.clicks = u64::MAX / 2;
        m.active_secs = u64::MAX / 2;
    }
    let svg = check(
        &timeline(&timeline_of(&day, None), &theme, W, H),
        &["events per minute"],
    );
    assert!(
        svg.contains("E\n</text>"),
        "huge counts get a compact axis label"
    );
    // Tiny and degenerate sizes still give valid SVG.
    for (w, h) in [(0, 0), (1, 1), (120, 60), (4000, 90)] {
        check(&timeline(&timeline_of(&day, None), &theme, w, h), &[]);
    }
    // A reversed day is read as the 24 hours from `start`.
    let reversed = Timeline {
        end: DAY_START - 1,
        ..timeline_of(&day, None)
    };
    check(&timeline(&reversed, &theme, W, H), &["24"]);
}

#[test]
fn app_bars_typical_empty_and_hostile() {
    let theme = Theme::light();
    let svg = check(
        &app_bars("Apps today", &sample_apps(), &theme, W, H),
        &["Apps today", "firefox", "2h 36m", "other (3 apps)"],
    );
    assert!(!svg.contains("pavucontrol"), "folded into other");

    check(
        &app_bars("Apps today", &[], &theme, W, H),
        &["Nothing recorded yet"],
    );

    let hostile = format!("<script>alert(\"&'\")</script>{}", "x".repeat(200 - 28));
    assert_eq!(hostile.chars().count(), 200);
    let apps = vec![AppBar {
        app: hostile.clone(),
        active_secs: u64::MAX / 2,
        keys: u64::MAX / 2,
        clicks: u64::MAX / 2,
    }];
    let svg = check(
        &app_bars("A <b>&\"title\"", &apps, &theme, W, H),
        &["A <b>&\"title\""],
    );
    assert!(!svg.contains("<script"));
    assert!(svg.contains("&lt;script&gt;"));
    assert!(
        !svg.contains(&"x".repeat(150)),
        "a long name is shortened in the label"
    );
    // Control characters cannot be escaped in XML; they are replaced.
    let control = vec![AppBar {
        app: "bell\u{7}\u{0}app".into(),
        active_secs: 60,
        keys: 1,
        clicks: 1,
    }];
    check(
        &app_bars("t", &control, &theme, W, H),
        &["bell\u{FFFD}\u{FFFD}app"],
    );
}

#[test]
fn category_mix_typical_empty_and_extreme() {
    let theme = Theme::dark();
    let counts = [
        (KeyCategory::Letter, 9_000),
        (KeyCategory::Space, 2_000),
        (KeyCategory::Navigation, 1_200),
        (KeyCategory::Modifier, 900),
        (KeyCategory::Punctuation, 600),
        (KeyCategory::Digit, 250),
        (KeyCategory::Function, 40),
        (KeyCategory::Other, 10),
    ];
    check(
        &category_mix(&counts, &theme, W, 200),
        &["Kinds of keys pressed", "letter", "64%", "9,000", "other"],
    );
    check(
        &category_mix(&[], &theme, W, 200),
        &["Nothing recorded yet"],
    );
    let huge: Vec<_> = KeyCategory::ALL
        .iter()
        .map(|c| (*c, u64::MAX / 2))
        .collect();
    check(&category_mix(&huge, &theme, W, 200), &["13%"]);
}

#[test]
fn keyboard_heatmap_labels_keys_and_colours_use() {
    let theme = Theme::light();
    let svg = check(
        &keyboard_heatmap(&sample_keys(), &theme, W, 320),
        &[
            "Keys pressed",
            "Q",
            "Esc",
            "F12",
            "Space",
            "fewer",
            "more",
            "Most pressed: Space (6,500)",
            "34 more on keys not shown",
        ],
    );

    // A heavily used key and an unused one get different fills: find each label's key rectangle
    // (the polygon drawn just before the label).
    let fill_before = |label: &str| -> String {
        let lines: Vec<&str> = svg.lines().collect();
        let at = lines
            .iter()
            .position(|l| *l == label)
            .unwrap_or_else(|| panic!("no {label}"));
        let poly = lines[..at]
            .iter()
            .rev()
            .find(|l| l.starts_with("<polygon"))
            .expect("key shape");
        poly.split("fill=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or_default()
            .to_owned()
    };
    let space = fill_before("Space");
    let q = fill_before("F12");
    assert_ne!(space, q, "Space (used) and F12 (unused) share a fill");
    let s = theme.surface;
    assert_eq!(q, format!("#{:02X}{:02X}{:02X}", s.0, s.1, s.2));

    check(
        &keyboard_heatmap(&[], &theme, W, 320),
        &["Nothing recorded yet", "Q"],
    );
    let extreme: Vec<_> = Key::all_named().map(|k| (k, u64::MAX / 2)).collect();
    check(
        &keyboard_heatmap(&extreme, &Theme::dark(), 600, 240),
        &["presses"],
    );
}

#[test]
fn key_totals_says_why_there_is_no_keyboard() {
    let theme = Theme::light();
    check(
        &key_totals(12_345, &theme, 400, 200),
        &[
            "12,345",
            "Only key counts are recorded at this capture level",
        ],
    );
    check(&key_totals(0, &theme, 400, 200), &["Nothing recorded yet"]);
    check(
        &key_totals(u64::MAX / 2, &theme, 300, 160),
        &["Keys pressed"],
    );
}

#[test]
fn click_heatmap_typical_empty_and_odd_sizes() {
    let theme = Theme::light();
    check(
        &click_heatmap(&sample_cells(), 24, (1920, 1080), &theme, W, 420),
        &["Where you clicked", "fewer", "more", "1920×1080"],
    );
    check(
        &click_heatmap(&[], 24, (1920, 1080), &theme, W, 420),
        &["Nothing recorded yet"],
    );
    // Unknown screen: the cells' extent is used; zero cell size does not divide by zero.
    check(
        &click_heatmap(
            &[(3, 2, u64::MAX / 2), (1000, 1000, 1)],
            0,
            (0, 0),
            &theme,
            W,
            420,
        ),
        &["clicks"],
    );
}

#[test]
fn output_is_deterministic() {
    let theme = Theme::light();
    let day = sample_day(false);
    let t = timeline_of(&day, None);
    assert_eq!(timeline(&t, &theme, W, H), timeline(&t, &theme, W, H));
    assert_eq!(
        keyboard_heatmap(&sample_keys(), &theme, W, H),
        keyboard_heatmap(&sample_keys(), &theme, W, H)
    );
}

fn render_all(theme: &Theme, width: u32) -> Vec<(&'static str, String)> {
    let day = sample_day(false);
    let keys = sample_keys();
    let mut categories: Vec<(KeyCategory, u64)> = Vec::new();
    for (key, n) in &keys {
        categories.push((key.category(), *n));
    }
    let total = keys.iter().map(|(_, n)| n).sum();
    vec![
        (
            "timeline",
            timeline(
                &timeline_of(&day, Some(DAY_START + (17 * 60 + 20) * MICROS_PER_MINUTE)),
                theme,
                width,
                300,
            ),
        ),
        (
            "apps",
            app_bars("Active time per app", &sample_apps(), theme, width, 330),
        ),
        (
            "keyboard",
            keyboard_heatmap(&keys, theme, width, width * 2 / 5 + 40),
        ),
        ("categories", category_mix(&categories, theme, width, 170)),
        ("totals", key_totals(total, theme, width.min(520), 180)),
        (
            "clicks",
            click_heatmap(
                &sample_cells(),
                24,
                (1920, 1080),
                theme,
                width,
                width * 9 / 16,
            ),
        ),
    ]
}

/// Writes every chart to /tmp/charts/*.svg in both themes and two widths, to look at.
#[test]
#[ignore = "writes preview files"]
fn write_previews() {
    std::fs::create_dir_all("/tmp/charts").unwrap();
    for (theme_name, theme) in [("light", Theme::light()), ("dark", Theme::dark())] {
        for width in [600, 900] {
            for (name, svg) in render_all(&theme, width) {
                let path = format!("/tmp/charts/{name}-{theme_name}-{width}.svg");
                std::fs::write(&path, svg).unwrap();
            }
        }
    }
    let empty = Timeline {
        minutes: &[],
        paused: &[],
        locked: &[],
        excluded: &[],
        ..timeline_of(&sample_day(false), None)
    };
    let light = Theme::light();
    std::fs::write(
        "/tmp/charts/empty-timeline-light-760.svg",
        timeline(&empty, &light, 760, 300),
    )
    .unwrap();
    std::fs::write(
        "/tmp/charts/empty-apps-light-760.svg",
        app_bars("Active time per app", &[], &light, 760, 200),
    )
    .unwrap();
    std::fs::write(
        "/tmp/charts/empty-keyboard-light-760.svg",
        keyboard_heatmap(&[], &light, 760, 340),
    )
    .unwrap();
    std::fs::write(
        "/tmp/charts/empty-clicks-light-760.svg",
        click_heatmap(&[], 24, (1920, 1080), &light, 760, 420),
    )
    .unwrap();
}

/// All five charts from a full day: 1,440 minutes, 60 keys, 2,000 click cells, 8 apps.
#[test]
#[ignore = "timing; run with --release -- --ignored --nocapture"]
fn render_all_from_a_full_day() {
    let day = sample_day(true);
    assert_eq!(day.minutes.len(), 1440);
    let keys: Vec<(Key, u64)> = Key::all_named()
        .take(60)
        .enumerate()
        .map(|(i, k)| (k, (i as u64 * 37) % 500 + 1))
        .collect();
    let cells = cells_exactly(2_000);
    assert_eq!(cells.len(), 2_000);
    let apps: Vec<AppBar> = sample_apps().into_iter().take(8).collect();
    let categories: Vec<(KeyCategory, u64)> =
        keys.iter().map(|(k, n)| (k.category(), *n)).collect();
    let theme = Theme::light();

    let runs = 20;
    let started = std::time::Instant::now();
    let mut bytes = 0;
    for _ in 0..runs {
        bytes += timeline(&timeline_of(&day, None), &theme, 900, 300).len();
        bytes += app_bars("Apps", &apps, &theme, 900, 300).len();
        bytes += keyboard_heatmap(&keys, &theme, 900, 400).len();
        bytes += category_mix(&categories, &theme, 900, 200).len();
        bytes += click_heatmap(&cells, 24, (1920, 1080), &theme, 900, 500).len();
    }
    let per_run = started.elapsed().as_secs_f64() * 1000.0 / f64::from(runs);
    println!(
        "all five charts from a full day: {per_run:.2} ms per run ({} KiB of SVG)",
        bytes / runs as usize / 1024
    );
    assert!(per_run < 100.0, "{per_run} ms");
}
