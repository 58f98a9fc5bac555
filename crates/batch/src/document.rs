//! The batch document: what the JSON holds, field by field, and the one walk over its columns
//! that both validates it and turns it back into rows.

use std::collections::BTreeMap;

use glasshouse_core::keys::{Key, KeyCategory};
use glasshouse_core::model::{Button, Micros, Stored};
use glasshouse_core::settings::CaptureLevel;
use serde::{Deserialize, Serialize};

use crate::{BatchError, FORMAT, MAX_WINDOW_MICROS, REDACTED_KEY, Row, VERSION};

/// Microseconds per millisecond: event times are kept at millisecond resolution.
pub(crate) const MICROS_PER_MS: Micros = 1000;

/// One character per event in [`Events::kinds`].
pub(crate) mod kind {
    pub const MOVE: char = 'm';
    pub const BUTTON_DOWN: char = 'b';
    pub const BUTTON_UP: char = 'B';
    pub const WHEEL: char = 'w';
    pub const KEY_DOWN: char = 'k';
    pub const KEY_UP: char = 'K';
    pub const CATEGORY_DOWN: char = 'c';
    pub const CATEGORY_UP: char = 'C';
    pub const KEY_PRESS: char = 'p';
    pub const EXCLUDED: char = 'x';
}

/// A batch document (format version 1), field for field as in the JSON. `docs/batch-format.md`
/// documents every field for readers of the JSON.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Always [`FORMAT`].
    pub format: String,
    /// The format version; readers refuse versions newer than theirs.
    pub version: u32,
    /// Pseudonymous device id.
    pub device: String,
    pub team: String,
    /// The time the batch covers, `[start, end)`.
    pub window: TimeWindow,
    /// The most detail the events carry.
    pub capture_level: CaptureLevel,
    /// Number of events (characters of `events.kinds`).
    pub event_count: u64,
    /// Application names, in order of first appearance.
    pub apps: Vec<String>,
    /// Windows (application and scrubbed title), in order of first appearance.
    pub windows: Vec<WindowInfo>,
    /// Scrubber findings per kind (`email`, `card`, ...), every kind listed.
    pub scrubbed: BTreeMap<String, u64>,
    pub events: Events,
}

/// The time window, both as RFC 3339 UTC text and as microseconds since the Unix epoch.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct TimeWindow {
    pub start: String,
    pub end: String,
    pub start_us: Micros,
    pub end_us: Micros,
}

/// A window: index into [`Document::apps`] and its scrubbed title.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Hash)]
pub struct WindowInfo {
    pub app: u32,
    pub title: String,
}

/// The events, as columns. Each value column holds one entry per event of the kinds it serves,
/// in event order.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Events {
    /// One character per event: `m` move, `b`/`B` button down/up, `w` wheel, `k`/`K` key down/up
    /// (`full`), `c`/`C` key down/up as a category (`categories`), `p` key press (`counts`),
    /// `x` time in an excluded application.
    pub kinds: String,
    /// Per event: milliseconds since the previous event (the first: since `window.start_us`).
    pub dt_ms: Vec<u32>,
    /// Runs of consecutive events in one window.
    pub segments: Vec<Segment>,
    /// Per `m`, `b`, `B`: pointer position change since the previous of these events (from 0,0).
    pub pointer_dx: Vec<i64>,
    pub pointer_dy: Vec<i64>,
    /// Per `b`, `B`: button code (1 left, 2 middle, 3 right, other numbers as the platform's).
    pub button: Vec<u8>,
    /// Per `w`: wheel steps (positive `dy` up/away, positive `dx` right).
    pub wheel_dx: Vec<i32>,
    pub wheel_dy: Vec<i32>,
    /// Per `k`, `K`: the key name (`Key::name()`), `null` where redacted by the scrubber.
    pub key: Vec<Option<String>>,
    /// Per `k`: characters of the segment's text run this key-down typed; `null`: no text.
    pub text_len: Vec<Option<u32>>,
    /// Per `c`, `C`: the key category.
    pub category: Vec<KeyCategory>,
    /// Typed text, one run per segment that has key-downs with text, scrubbed.
    pub texts: Vec<TextRun>,
}

/// `events` consecutive events in window `window` (index into [`Document::windows`]).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub window: u32,
    pub events: u64,
}

/// The text typed in one segment: `t_ms` is the time of its first key-down with text, in
/// milliseconds since `window.start_us`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct TextRun {
    pub t_ms: u64,
    pub window: u32,
    pub text: String,
}

impl Document {
    pub fn window_start(&self) -> Micros {
        self.window.start_us
    }

    pub fn window_end(&self) -> Micros {
        self.window.end_us
    }

    pub fn event_count(&self) -> u64 {
        self.event_count
    }

    pub fn app_names(&self) -> Vec<String> {
        self.apps.clone()
    }

    /// The events back as rows, in order (for the AI team's export and for tests). Times are
    /// whole milliseconds after the window start; redacted keys come back as [`REDACTED_KEY`],
    /// the first redacted key-down of a finding with the placeholder as its text.
    pub fn rows(&self) -> Result<Vec<Row>, BatchError> {
        let mut rows = Vec::with_capacity(usize::try_from(self.event_count).unwrap_or(0));
        self.walk(|ts, window, event| {
            let w = &self.windows[window];
            rows.push(Row {
                ts,
                app: self.apps[w.app as usize].clone(),
                title: w.title.clone(),
                event,
            });
        })?;
        Ok(rows)
    }

    /// Checks everything a reader relies on; [`crate::decode`] calls it.
    pub(crate) fn validate(&self) -> Result<(), BatchError> {
        self.walk(|_, _, _| {})
    }

    /// Validates the document and calls `f` with each event: its time, its window (a valid index
    /// into `windows`, whose `app` is a valid index into `apps`) and the event.
    fn walk(&self, mut f: impl FnMut(Micros, usize, Stored)) -> Result<(), BatchError> {
        if self.format != FORMAT {
            return Err(BatchError::WrongFormat {
                found: self.format.clone(),
            });
        }
        if self.version != VERSION {
            return Err(BatchError::UnsupportedVersion {
                found: self.version,
            });
        }
        self.window.check()?;
        let span = self.window.end_us - self.window.start_us;
        for (i, w) in self.windows.iter().enumerate() {
            if w.app as usize >= self.apps.len() {
                return Err(invalid(format!(
                    "window {i} names app {} but there are {} apps",
                    w.app,
                    self.apps.len()
                )));
            }
        }
        let ev = &self.events;
        let n = self.count_kinds()?;
        let check = |column: &str, len: usize, want: usize, of: &str| {
            if len == want {
                Ok(())
            } else {
                Err(invalid(format!(
                    "the `{column}` column has {len} entries, but there are {want} {of}"
                )))
            }
        };
        check("dt_ms", ev.dt_ms.len(), n.events, "events")?;
        check(
            "pointer_dx",
            ev.pointer_dx.len(),
            n.pointer,
            "pointer events",
        )?;
        check(
            "pointer_dy",
            ev.pointer_dy.len(),
            n.pointer,
            "pointer events",
        )?;
        check("button", ev.button.len(), n.buttons, "button events")?;
        check("wheel_dx", ev.wheel_dx.len(), n.wheels, "wheel events")?;
        check("wheel_dy", ev.wheel_dy.len(), n.wheels, "wheel events")?;
        check("key", ev.key.len(), n.keys, "key events")?;
        check("text_len", ev.text_len.len(), n.key_downs, "key-downs")?;
        check(
            "category",
            ev.category.len(),
            n.categories,
            "key category events",
        )?;
        if self.event_count != n.events as u64 {
            return Err(invalid(format!(
                "`event_count` is {} but `kinds` has {} events",
                self.event_count, n.events
            )));
        }
        let mut in_segments = 0u64;
        for (i, s) in ev.segments.iter().enumerate() {
            if s.events == 0 {
                return Err(invalid(format!("segment {i} has no events")));
            }
            if s.window as usize >= self.windows.len() {
                return Err(invalid(format!(
                    "segment {i} names window {} but there are {} windows",
                    s.window,
                    self.windows.len()
                )));
            }
            in_segments = in_segments.saturating_add(s.events);
        }
        if in_segments != self.event_count {
            return Err(invalid(format!(
                "the segments hold {in_segments} events but there are {}",
                self.event_count
            )));
        }

        let mut cur = Cursors::default();
        let mut segments = ev.segments.iter();
        let mut segment_left = 0u64;
        let mut window = 0usize;
        let mut text: Option<std::str::Chars<'_>> = None;
        let mut texts = ev.texts.iter().enumerate();
        let mut ms: u64 = 0;
        let (mut px, mut py) = (0i64, 0i64);
        for (i, c) in ev.kinds.chars().enumerate() {
            if segment_left == 0 {
                finish_run(&mut text)?;
                // The segment sums were checked: a segment is there.
                let s = segments
                    .next()
                    .ok_or_else(|| invalid("segments end early"))?;
                segment_left = s.events;
                window = s.window as usize;
            }
            segment_left -= 1;
            ms = ms.saturating_add(u64::from(ev.dt_ms[i]));
            let offset = i64::try_from(ms)
                .ok()
                .and_then(|m| m.checked_mul(MICROS_PER_MS))
                .filter(|&o| o < span)
                .ok_or_else(|| {
                    invalid(format!(
                        "event {i} is at {ms} ms, after the window's end ({} ms)",
                        span / MICROS_PER_MS
                    ))
                })?;
            let ts = self.window.start_us + offset;
            let event = match c {
                kind::MOVE | kind::BUTTON_DOWN | kind::BUTTON_UP => {
                    let p = cur.pointer;
                    cur.pointer += 1;
                    px = px.saturating_add(ev.pointer_dx[p]);
                    py = py.saturating_add(ev.pointer_dy[p]);
                    let (x, y) = match (i32::try_from(px), i32::try_from(py)) {
                        (Ok(x), Ok(y)) => (x, y),
                        _ => return Err(invalid(format!("pointer event {p} is out of range"))),
                    };
                    if c == kind::MOVE {
                        Stored::Move { x, y }
                    } else {
                        let button = Button::from_code(ev.button[cur.buttons]);
                        cur.buttons += 1;
                        if c == kind::BUTTON_DOWN {
                            Stored::ButtonDown { button, x, y }
                        } else {
                            Stored::ButtonUp { button, x, y }
                        }
                    }
                }
                kind::WHEEL => {
                    let w = cur.wheels;
                    cur.wheels += 1;
                    Stored::Wheel {
                        dx: ev.wheel_dx[w],
                        dy: ev.wheel_dy[w],
                    }
                }
                kind::KEY_DOWN | kind::KEY_UP => {
                    let key = match &ev.key[cur.keys] {
                        None => REDACTED_KEY,
                        Some(name) => Key::from_name(name).ok_or_else(|| {
                            invalid(format!(
                                "key event {} has an unknown key {name:?}",
                                cur.keys
                            ))
                        })?,
                    };
                    cur.keys += 1;
                    if c == kind::KEY_UP {
                        Stored::KeyUp { key }
                    } else {
                        let len = ev.text_len[cur.key_downs];
                        cur.key_downs += 1;
                        let text = match len {
                            None => None,
                            Some(len) => {
                                if text.is_none() {
                                    let (r, run) = texts.next().ok_or_else(|| {
                                        invalid("there are fewer text runs than segments with text")
                                    })?;
                                    if run.window as usize != window || run.t_ms != ms {
                                        return Err(invalid(format!(
                                            "text run {r} does not start at its segment's first key-down with text"
                                        )));
                                    }
                                    text = Some(run.text.chars());
                                }
                                let chars = text.as_mut().map(|t| t.by_ref().take(len as usize));
                                let s: String = chars.into_iter().flatten().collect();
                                if s.chars().count() != len as usize {
                                    return Err(invalid(
                                        "a text run is shorter than its key-downs' `text_len`",
                                    ));
                                }
                                Some(s)
                            }
                        };
                        Stored::KeyDown { key, text }
                    }
                }
                kind::CATEGORY_DOWN | kind::CATEGORY_UP => {
                    let category = ev.category[cur.categories];
                    cur.categories += 1;
                    if c == kind::CATEGORY_DOWN {
                        Stored::KeyDownCategory(category)
                    } else {
                        Stored::KeyUpCategory(category)
                    }
                }
                kind::KEY_PRESS => Stored::KeyPress,
                // count_kinds() let no other character through.
                _ => Stored::Excluded,
            };
            f(ts, window, event);
        }
        finish_run(&mut text)?;
        if texts.next().is_some() {
            return Err(invalid("there are more text runs than segments with text"));
        }
        Ok(())
    }

    /// Counts the events per column, refusing unknown kinds and kinds the capture level excludes.
    fn count_kinds(&self) -> Result<Counts, BatchError> {
        let mut n = Counts::default();
        let level = self.capture_level;
        for c in self.events.kinds.chars() {
            let allowed = match c {
                kind::MOVE | kind::BUTTON_DOWN | kind::BUTTON_UP => {
                    n.pointer += 1;
                    if c != kind::MOVE {
                        n.buttons += 1;
                    }
                    true
                }
                kind::WHEEL => {
                    n.wheels += 1;
                    true
                }
                kind::KEY_DOWN | kind::KEY_UP => {
                    n.keys += 1;
                    if c == kind::KEY_DOWN {
                        n.key_downs += 1;
                    }
                    level == CaptureLevel::Full
                }
                kind::CATEGORY_DOWN | kind::CATEGORY_UP => {
                    n.categories += 1;
                    level != CaptureLevel::Counts
                }
                kind::KEY_PRESS | kind::EXCLUDED => true,
                other => {
                    return Err(invalid(format!(
                        "event {} has the unknown kind {other:?}",
                        n.events
                    )));
                }
            };
            if !allowed {
                return Err(invalid(format!(
                    "event {} is of kind {c:?}, which the `{}` capture level does not allow",
                    n.events,
                    level.name()
                )));
            }
            n.events += 1;
        }
        Ok(n)
    }
}

impl TimeWindow {
    pub(crate) fn new(start_us: Micros, end_us: Micros) -> Result<TimeWindow, BatchError> {
        let w = TimeWindow {
            start: crate::error::rfc3339(start_us),
            end: crate::error::rfc3339(end_us),
            start_us,
            end_us,
        };
        w.check()?;
        Ok(w)
    }

    fn check(&self) -> Result<(), BatchError> {
        let bad = |why: String| Err(BatchError::BadWindow(why));
        if self.start_us >= self.end_us {
            return bad(format!(
                "it starts at {} and ends at {}, which is not later",
                self.start, self.end
            ));
        }
        if self.end_us.saturating_sub(self.start_us) > MAX_WINDOW_MICROS {
            return bad(format!(
                "from {} to {} is longer than 24 hours",
                self.start, self.end
            ));
        }
        for (text, us, name) in [
            (&self.start, self.start_us, "start"),
            (&self.end, self.end_us, "end"),
        ] {
            let parsed = chrono::DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.timestamp_micros());
            if parsed != Some(us) {
                return bad(format!(
                    "`{name}` is {text:?}, which is not the time `{name}_us` gives ({us} µs)"
                ));
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct Counts {
    events: usize,
    pointer: usize,
    buttons: usize,
    wheels: usize,
    keys: usize,
    key_downs: usize,
    categories: usize,
}

#[derive(Default)]
struct Cursors {
    pointer: usize,
    buttons: usize,
    wheels: usize,
    keys: usize,
    key_downs: usize,
    categories: usize,
}

/// Ends the current segment's text run: all of its text must have been typed by its key-downs.
fn finish_run(text: &mut Option<std::str::Chars<'_>>) -> Result<(), BatchError> {
    if let Some(mut rest) = text.take()
        && rest.next().is_some()
    {
        return Err(invalid(
            "a text run is longer than its key-downs' `text_len` add up to",
        ));
    }
    Ok(())
}

fn invalid(why: impl Into<String>) -> BatchError {
    BatchError::Invalid(why.into())
}
