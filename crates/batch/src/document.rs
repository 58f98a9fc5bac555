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
    ///
    /// [`Document::walk`] is what decides, but it builds every event to do so. The event checks
    /// are made a column at a time first ([`Document::events_valid`]); only when one of them
    /// fails does `walk` run, for the first error in event order and its message.
    pub(crate) fn validate(&self) -> Result<(), BatchError> {
        let n = self.check_outline()?;
        if self.events_valid(&n) {
            return Ok(());
        }
        self.walk(|_, _, _| {})
    }

    /// Validates the document and calls `f` with each event: its time, its window (a valid index
    /// into `windows`, whose `app` is a valid index into `apps`) and the event.
    fn walk(&self, mut f: impl FnMut(Micros, usize, Stored)) -> Result<(), BatchError> {
        self.check_outline()?;
        let span = self.window.end_us - self.window.start_us;
        let ev = &self.events;
        let mut names = KeyNames::default();
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
                        Some(name) => names.get(name).ok_or_else(|| {
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

    /// The checks made before the events are walked, in `walk`'s order: format, version,
    /// window, the windows' apps, the kinds, the columns' lengths, `event_count` and the
    /// segments. Returns the entries each column serves.
    fn check_outline(&self) -> Result<Counts, BatchError> {
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
        Ok(n)
    }

    /// Whether the events pass every check `walk` makes of them, given an outline that passed
    /// ([`Document::check_outline`]). Each check is made over whole columns: the last event's
    /// time (times never decrease), the pointer positions, the key names, and the text runs
    /// against the key-downs of each segment. `true` means `walk` finds nothing.
    fn events_valid(&self, n: &Counts) -> bool {
        let ev = &self.events;
        // The outline has matched every column's length to the kinds, and `kinds` (all of
        // whose characters are known, so ASCII) to `dt_ms` and the segments.
        let span = self.window.end_us - self.window.start_us;
        let max_ms = ((span + MICROS_PER_MS - 1) / MICROS_PER_MS) as u64;
        let (mut px, mut py) = (0i64, 0i64);
        let mut in_range = true;
        for (&dx, &dy) in ev.pointer_dx.iter().zip(&ev.pointer_dy) {
            px = px.saturating_add(dx);
            py = py.saturating_add(dy);
            in_range &= i64::from(px as i32) == px && i64::from(py as i32) == py;
        }
        if !in_range {
            return false;
        }
        let mut names = KeyNames::default();
        if !ev
            .key
            .iter()
            .flatten()
            .all(|name| names.get(name).is_some())
        {
            return false;
        }
        // Times, and the text runs: the key-downs with text of a segment use up one run, which
        // starts at the first of them.
        let kinds = ev.kinds.as_bytes();
        let (mut at, mut key_downs, mut ms) = (0usize, 0usize, 0u64);
        let mut texts = ev.texts.iter();
        for s in &ev.segments {
            let end = at + s.events as usize;
            let mut run: Option<std::str::Chars<'_>> = None;
            for (&kind, &dt) in kinds[at..end].iter().zip(&ev.dt_ms[at..end]) {
                ms = ms.saturating_add(u64::from(dt));
                if kind != kind::KEY_DOWN as u8 {
                    continue;
                }
                let len = ev.text_len[key_downs];
                key_downs += 1;
                let Some(len) = len else { continue };
                let chars = match &mut run {
                    Some(chars) => chars,
                    None => match texts.next() {
                        Some(r) if r.window == s.window && r.t_ms == ms => {
                            run.insert(r.text.chars())
                        }
                        _ => return false,
                    },
                };
                if chars.take(len as usize).count() != len as usize {
                    return false;
                }
            }
            if run.is_some_and(|mut rest| rest.next().is_some()) {
                return false;
            }
            at = end;
        }
        debug_assert_eq!((at, key_downs), (n.events, n.key_downs));
        ms < max_ms && texts.next().is_none()
    }

    /// Counts the events per column, refusing unknown kinds and kinds the capture level excludes.
    fn count_kinds(&self) -> Result<Counts, BatchError> {
        if let Some(n) = self.count_kinds_fast() {
            return Ok(n);
        }
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

    /// [`Document::count_kinds`] when every kind is known and allowed (`None` otherwise: the
    /// error is then `count_kinds`'s to find), counted a byte at a time by table.
    fn count_kinds_fast(&self) -> Option<Counts> {
        // Per byte: which of `KINDS` it is (0: none of them).
        const KINDS: &[u8; 10] = b"mbBwkKcCpx";
        const CLASS: [u8; 256] = {
            let mut t = [0u8; 256];
            let mut i = 0;
            while i < KINDS.len() {
                t[KINDS[i] as usize] = i as u8 + 1;
                i += 1;
            }
            t
        };
        let level = self.capture_level;
        let mut allowed = [true; 11];
        allowed[0] = false;
        // `k`, `K`: `full` only; `c`, `C`: not at `counts`.
        allowed[5] = level == CaptureLevel::Full;
        allowed[6] = level == CaptureLevel::Full;
        allowed[7] = level != CaptureLevel::Counts;
        allowed[8] = level != CaptureLevel::Counts;
        let mut per = [0usize; 11];
        let mut ok = true;
        for &b in self.events.kinds.as_bytes() {
            let c = usize::from(CLASS[usize::from(b)]);
            ok &= allowed[c];
            per[c] += 1;
        }
        ok.then(|| Counts {
            events: self.events.kinds.len(),
            pointer: per[1] + per[2] + per[3],
            buttons: per[2] + per[3],
            wheels: per[4],
            keys: per[5] + per[6],
            key_downs: per[5],
            categories: per[7] + per[8],
        })
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

#[derive(Debug, Default)]
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

/// [`Key::from_name`], remembered: a batch names few distinct keys, many times each. A slot per
/// length, first and last byte (distinct for the names typing uses most); a name whose slot holds
/// another replaces it. Every lookup costs at most one comparison and one `from_name`, whatever
/// the batch holds.
struct KeyNames<'a> {
    slots: [Option<(&'a str, Option<Key>)>; 64],
}

impl Default for KeyNames<'_> {
    fn default() -> Self {
        KeyNames { slots: [None; 64] }
    }
}

impl<'a> KeyNames<'a> {
    fn get(&mut self, name: &'a str) -> Option<Key> {
        let b = name.as_bytes();
        let (first, last) = (b.first().copied(), b.last().copied());
        let first = usize::from(first.unwrap_or(0)) * 5;
        let last = usize::from(last.unwrap_or(0)) * 3;
        let slot = (b.len() ^ first ^ last) % 64;
        match self.slots[slot] {
            Some((seen, key)) if seen == name => key,
            _ => {
                let key = Key::from_name(name);
                self.slots[slot] = Some((name, key));
                key
            }
        }
    }
}

fn invalid(why: impl Into<String>) -> BatchError {
    BatchError::Invalid(why.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use glasshouse_core::model::Button;

    /// A document with every column in use: moves, clicks, wheel, typed text in two windows
    /// (with a finding, so redacted keys), keys without text.
    fn sample() -> Document {
        let start = 1_772_442_000_000_000;
        let mut rows = Vec::new();
        let mut t = start;
        let mut row = |title: &str, event| {
            t += 41_000;
            rows.push(Row {
                ts: t,
                app: "app".into(),
                title: title.into(),
                event,
            });
        };
        for i in 0..12 {
            row(
                "a",
                Stored::Move {
                    x: 3 * i,
                    y: 500 - i,
                },
            );
        }
        let (button, x, y) = (Button::Left, 33, 488);
        row("a", Stored::ButtonDown { button, x, y });
        row("a", Stored::ButtonUp { button, x, y });
        row("a", Stored::Wheel { dx: 0, dy: -2 });
        for (title, text) in [("b", "hi bo@x.io ok"), ("a", "yes"), ("b", "é!")] {
            for c in text.chars() {
                let key = if c == ' ' { Key::Space } else { Key::KeyQ };
                let text = Some(c.to_string());
                row(title, Stored::KeyDown { key, text });
                row(title, Stored::KeyUp { key });
            }
            row(
                title,
                Stored::KeyDown {
                    key: Key::ShiftLeft,
                    text: None,
                },
            );
            row(
                title,
                Stored::KeyUp {
                    key: Key::ShiftLeft,
                },
            );
        }
        let header = crate::Header {
            device: "d".into(),
            team: "t".into(),
            window_start: start,
            window_end: start + 3_600_000_000,
            capture_level: CaptureLevel::Full,
        };
        let built = crate::build(&header, rows, &glasshouse_scrub::Scrubber::new()).unwrap();
        crate::decode(&built.bytes).unwrap()
    }

    use crate::test_rng::Rng;

    /// A small change to one of the things the events' checks look at.
    fn change(doc: &mut Document, rng: &mut Rng) {
        let ev = &mut doc.events;
        let small = |rng: &mut Rng| rng.below(7) as i64 - 3;
        match rng.below(9) {
            0 if !ev.dt_ms.is_empty() => {
                let i = rng.below(ev.dt_ms.len());
                ev.dt_ms[i] = [0, 1, 999, 3_599_999, 3_600_000, u32::MAX][rng.below(6)];
            }
            1 if !ev.pointer_dx.is_empty() => {
                let i = rng.below(ev.pointer_dx.len());
                ev.pointer_dx[i] =
                    [small(rng), i64::from(i32::MAX), i64::MIN, 1 << 40][rng.below(4)];
            }
            2 if !ev.pointer_dy.is_empty() => {
                let i = rng.below(ev.pointer_dy.len());
                ev.pointer_dy[i] = [small(rng), i64::from(i32::MIN) - 1, i64::MAX][rng.below(3)];
            }
            3 if !ev.key.is_empty() => {
                let i = rng.below(ev.key.len());
                ev.key[i] = [
                    None,
                    Some("KeyQ"),
                    Some("Unknown(7)"),
                    Some("KeyÄ"),
                    Some(""),
                ][rng.below(5)]
                .map(str::to_owned);
            }
            4 if !ev.text_len.is_empty() => {
                let i = rng.below(ev.text_len.len());
                ev.text_len[i] = [None, Some(0), Some(1), Some(2), Some(7)][rng.below(5)];
            }
            5 if !ev.texts.is_empty() => {
                let i = rng.below(ev.texts.len());
                let r = &mut ev.texts[i];
                match rng.below(4) {
                    0 => r.t_ms = r.t_ms.saturating_add_signed(small(rng)),
                    1 => r.window ^= 1,
                    2 => r.text.push('x'),
                    _ => {
                        r.text.pop();
                    }
                }
            }
            6 if ev.texts.len() > 1 => {
                let i = rng.below(ev.texts.len());
                let r = ev.texts.remove(i);
                let j = rng.below(ev.texts.len() + 1);
                ev.texts.insert(j, r);
            }
            7 if !ev.segments.is_empty() => {
                let i = rng.below(ev.segments.len());
                ev.segments[i].window = rng.below(doc.windows.len()) as u32;
            }
            _ => {
                // Kinds swapped where the columns still line up (a key-down for a key-up).
                let kinds: Vec<char> = ev.kinds.chars().collect();
                let i = rng.below(kinds.len());
                if kinds[i] == 'K' && ev.text_len.len() < ev.key.len() {
                    let mut k = kinds.clone();
                    k[i] = 'k';
                    let before = kinds[..i].iter().filter(|&&c| c == 'k').count();
                    ev.text_len.insert(before, None);
                    ev.kinds = k.into_iter().collect();
                }
            }
        }
    }

    #[test]
    fn the_column_checks_agree_with_the_walk() {
        let base = sample();
        let n = base.check_outline().unwrap();
        assert!(base.events_valid(&n));
        let mut rng = Rng(5);
        let (mut valid, mut invalid) = (0, 0);
        for _ in 0..20_000 {
            let mut doc = base.clone();
            for _ in 0..1 + rng.below(2) {
                change(&mut doc, &mut rng);
            }
            let Ok(n) = doc.check_outline() else {
                continue;
            };
            let walked = doc.walk(|_, _, _| {});
            assert_eq!(doc.events_valid(&n), walked.is_ok(), "{walked:?}");
            assert_eq!(doc.validate(), walked);
            if walked.is_ok() {
                valid += 1;
            } else {
                invalid += 1;
            }
        }
        assert!(
            valid > 1000 && invalid > 1000,
            "{valid} valid, {invalid} invalid"
        );
    }

    #[test]
    fn kinds_are_counted_the_same_either_way() {
        let mut doc = sample();
        let slow = |doc: &Document| {
            let mut d = doc.clone();
            // Not ASCII: the table gives up and the characters are counted one by one.
            d.events.kinds.push('é');
            d.count_kinds().map_err(|e| e.to_string())
        };
        for level in [
            CaptureLevel::Full,
            CaptureLevel::Categories,
            CaptureLevel::Counts,
        ] {
            for kinds in ["", "mbBwkKcCpx", "mmmpx", "cCpw", "kx", "mz", "Cm"] {
                doc.capture_level = level;
                doc.events.kinds = kinds.to_owned();
                let fast = doc.count_kinds_fast();
                let n = doc.count_kinds();
                match (&fast, &n) {
                    (Some(f), Ok(n)) => assert_eq!(
                        (
                            f.events,
                            f.pointer,
                            f.buttons,
                            f.wheels,
                            f.keys,
                            f.key_downs,
                            f.categories
                        ),
                        (
                            n.events,
                            n.pointer,
                            n.buttons,
                            n.wheels,
                            n.keys,
                            n.key_downs,
                            n.categories
                        )
                    ),
                    (None, Err(_)) => {}
                    _ => panic!("{level:?} {kinds:?}: {:?}", n.map(|_| ())),
                }
                // With a character after them that is not ASCII, the counts (or the first error) are those of the characters.
                let e = slow(&doc).unwrap_err();
                assert!(e.contains("unknown kind 'é'") || n.is_err(), "{e}");
            }
        }
    }
}
