//! Rows to batch: the capture level applied as a ceiling, titles and typed text scrubbed, the
//! keys that typed a finding redacted, columns filled, JSON written and compressed.

use std::collections::{BTreeMap, HashMap, HashSet};

use glasshouse_core::keys::{Key, KeyCategory};
use glasshouse_core::model::{Micros, Stored};
use glasshouse_core::settings::CaptureLevel;
use glasshouse_scrub::{Finding, Kind, Scrubber};

use crate::document::{MICROS_PER_MS, kind};
use crate::{
    BatchError, Built, Document, Events, FORMAT, Header, MAX_COMPRESSED_BYTES, MAX_DOCUMENT_BYTES,
    Row, Segment, TextRun, TimeWindow, VERSION, WindowInfo, ZSTD_LEVEL, codec, sha256_hex,
};

/// Builds the batch for `rows`, which must be in time order (as the store exports them) and
/// inside `[header.window_start, header.window_end)`.
///
/// Rows recorded with more detail than `header.capture_level` are reduced to it; at `counts`,
/// key-ups are dropped (that level keeps only presses), so `Built::events` can be smaller than
/// the number of rows. The same header, rows and scrubber always give the same bytes.
pub fn build(
    header: &Header,
    rows: impl IntoIterator<Item = Row>,
    scrubber: &Scrubber,
) -> Result<Built, BatchError> {
    let window = TimeWindow::new(header.window_start, header.window_end)?;
    let mut b = Builder::new(header.capture_level, window, scrubber);
    for row in rows {
        b.push(row)?;
    }
    let doc = b.finish(header);
    let json = serde_json::to_vec(&doc).map_err(|e| BatchError::Compress(e.to_string()))?;
    if json.len() > MAX_DOCUMENT_BYTES {
        return Err(BatchError::DocumentTooLarge);
    }
    let bytes = codec::compress(&json, ZSTD_LEVEL)?;
    if bytes.len() > MAX_COMPRESSED_BYTES {
        return Err(BatchError::TooLarge { size: bytes.len() });
    }
    Ok(Built {
        sha256: sha256_hex(&bytes),
        bytes,
        events: doc.event_count,
        apps: doc.apps,
        scrubbed: doc.scrubbed,
        document_bytes: json.len(),
    })
}

/// A key event as first recorded: its identity is decided only once its run (and, for a key-up,
/// its key-down) has been scrubbed.
struct KeyEntry {
    key: Key,
    down: bool,
    redacted: bool,
}

/// A key-down with text in the current segment, waiting for the segment's run to be scrubbed.
struct Typed {
    /// Index into `Builder::keys` and into `Events::text_len`.
    key: usize,
    text_len: usize,
    text: String,
    ms: u64,
}

struct Builder<'s> {
    level: CaptureLevel,
    window: TimeWindow,
    scrubber: &'s Scrubber,
    apps: Vec<String>,
    app_index: HashMap<String, u32>,
    windows: Vec<WindowInfo>,
    window_index: HashMap<WindowInfo, u32>,
    /// Window as recorded (app, title) → index of its scrubbed window.
    raw_windows: HashMap<(String, String), u32>,
    /// The previous row's (app, title) and window, to skip the lookups in a run of events.
    last_raw: Option<(String, String, u32)>,
    scrubbed: BTreeMap<String, u64>,
    events: Events,
    keys: Vec<KeyEntry>,
    typed: Vec<Typed>,
    last_ts: Micros,
    last_ms: u64,
    pointer: (i64, i64),
}

impl<'s> Builder<'s> {
    fn new(level: CaptureLevel, window: TimeWindow, scrubber: &'s Scrubber) -> Builder<'s> {
        Builder {
            level,
            last_ts: window.start_us,
            window,
            scrubber,
            apps: Vec::new(),
            app_index: HashMap::new(),
            windows: Vec::new(),
            window_index: HashMap::new(),
            raw_windows: HashMap::new(),
            last_raw: None,
            scrubbed: Kind::ALL.iter().map(|k| (k.name().to_owned(), 0)).collect(),
            events: Events {
                kinds: String::new(),
                dt_ms: Vec::new(),
                segments: Vec::new(),
                pointer_dx: Vec::new(),
                pointer_dy: Vec::new(),
                button: Vec::new(),
                wheel_dx: Vec::new(),
                wheel_dy: Vec::new(),
                key: Vec::new(),
                text_len: Vec::new(),
                category: Vec::new(),
                texts: Vec::new(),
            },
            keys: Vec::new(),
            typed: Vec::new(),
            last_ms: 0,
            pointer: (0, 0),
        }
    }

    fn push(&mut self, row: Row) -> Result<(), BatchError> {
        let (start, end) = (self.window.start_us, self.window.end_us);
        if row.ts < start || row.ts >= end {
            return Err(BatchError::EventOutsideWindow {
                ts: row.ts,
                start,
                end,
            });
        }
        if row.ts < self.last_ts {
            return Err(BatchError::OutOfOrder {
                ts: row.ts,
                previous: self.last_ts,
            });
        }
        self.last_ts = row.ts;
        let Some(event) = ceiling(self.level, row.event) else {
            return Ok(());
        };
        let window = self.window_of(row.app, row.title);
        if self.events.segments.last().map(|s| s.window) != Some(window) {
            self.close_run();
            self.events.segments.push(Segment { window, events: 0 });
        }
        if let Some(s) = self.events.segments.last_mut() {
            s.events += 1;
        }
        // Inside a window of at most 24 h: the offset in ms fits easily.
        let ms = ((row.ts - start) / MICROS_PER_MS) as u64;
        self.events.dt_ms.push((ms - self.last_ms) as u32);
        self.last_ms = ms;
        let ev = &mut self.events;
        let c = match event {
            Stored::Move { x, y } => {
                pointer_to(ev, &mut self.pointer, x, y);
                kind::MOVE
            }
            Stored::ButtonDown { button, x, y } | Stored::ButtonUp { button, x, y } => {
                ev.button.push(button.code());
                pointer_to(ev, &mut self.pointer, x, y);
                if matches!(event, Stored::ButtonDown { .. }) {
                    kind::BUTTON_DOWN
                } else {
                    kind::BUTTON_UP
                }
            }
            Stored::Wheel { dx, dy } => {
                ev.wheel_dx.push(dx);
                ev.wheel_dy.push(dy);
                kind::WHEEL
            }
            Stored::KeyDown { key, text } => {
                let at = self.keys.len();
                self.keys.push(KeyEntry {
                    key,
                    down: true,
                    redacted: false,
                });
                if let Some(text) = text {
                    self.typed.push(Typed {
                        key: at,
                        text_len: ev.text_len.len(),
                        text,
                        ms,
                    });
                }
                // Filled in when the run is scrubbed.
                ev.text_len.push(None);
                kind::KEY_DOWN
            }
            Stored::KeyUp { key } => {
                self.keys.push(KeyEntry {
                    key,
                    down: false,
                    redacted: false,
                });
                kind::KEY_UP
            }
            Stored::KeyDownCategory(c) => {
                ev.category.push(c);
                kind::CATEGORY_DOWN
            }
            Stored::KeyUpCategory(c) => {
                ev.category.push(c);
                kind::CATEGORY_UP
            }
            Stored::KeyPress => kind::KEY_PRESS,
            Stored::Excluded => kind::EXCLUDED,
        };
        self.events.kinds.push(c);
        Ok(())
    }

    /// The index of the (scrubbed) window for a row's app and title, adding it if new.
    fn window_of(&mut self, app: String, title: String) -> u32 {
        if let Some((a, t, w)) = &self.last_raw
            && *a == app
            && *t == title
        {
            return *w;
        }
        let key = (app, title);
        let w = match self.raw_windows.get(&key) {
            Some(&w) => w,
            None => {
                let app = match self.app_index.get(&key.0) {
                    Some(&a) => a,
                    None => {
                        let a = self.apps.len() as u32;
                        self.apps.push(key.0.clone());
                        self.app_index.insert(key.0.clone(), a);
                        a
                    }
                };
                let scrubbed = self.scrubber.scrub(&key.1);
                self.count(scrubbed.findings.iter().map(|f| f.kind));
                let info = WindowInfo {
                    app,
                    title: scrubbed.text,
                };
                let w = match self.window_index.get(&info) {
                    Some(&w) => w,
                    None => {
                        let w = self.windows.len() as u32;
                        self.windows.push(info.clone());
                        self.window_index.insert(info, w);
                        w
                    }
                };
                self.raw_windows.insert(key.clone(), w);
                w
            }
        };
        self.last_raw = Some((key.0, key.1, w));
        w
    }

    fn count(&mut self, kinds: impl Iterator<Item = Kind>) {
        for k in kinds {
            *self.scrubbed.entry(k.name().to_owned()).or_default() += 1;
        }
    }

    /// Scrubs the current segment's typed text into its run (see [`scrub_run`]).
    fn close_run(&mut self) {
        if self.typed.is_empty() {
            return;
        }
        let typed = std::mem::take(&mut self.typed);
        let Some(window) = self.events.segments.last().map(|s| s.window) else {
            return;
        };
        let texts: Vec<&str> = typed.iter().map(|t| t.text.as_str()).collect();
        let text = texts.concat();
        let findings = self.scrubber.find(&text);
        self.count(findings.iter().map(|f| f.kind));
        let run = scrub_run(&texts, &findings);
        for ((t, len), redacted) in typed.iter().zip(run.text_len).zip(run.redacted) {
            self.events.text_len[t.text_len] = len;
            self.keys[t.key].redacted = redacted;
        }
        self.events.texts.push(TextRun {
            t_ms: typed[0].ms,
            window,
            text: run.text,
        });
    }

    fn finish(mut self, header: &Header) -> Document {
        self.close_run();
        // A key-up after a redacted key-down of the same key is redacted too.
        let mut held: HashSet<Key> = HashSet::new();
        for k in &mut self.keys {
            if k.down {
                if k.redacted {
                    held.insert(k.key);
                }
            } else if held.remove(&k.key) {
                k.redacted = true;
            }
        }
        self.events.key = self
            .keys
            .iter()
            .map(|k| (!k.redacted).then(|| k.key.name()))
            .collect();
        Document {
            format: FORMAT.to_owned(),
            version: VERSION,
            device: header.device.clone(),
            team: header.team.clone(),
            window: self.window,
            capture_level: self.level,
            event_count: self.events.kinds.len() as u64,
            apps: self.apps,
            windows: self.windows,
            scrubbed: self.scrubbed,
            events: self.events,
        }
    }
}

/// A text run after scrubbing.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    text: String,
    /// Per key-down: characters of `text` it stands for (`None`: none).
    text_len: Vec<Option<u32>>,
    /// Per key-down: whether its key identity must go.
    redacted: Vec<bool>,
}

/// Scrubs the text typed by a run of key-downs (`texts`, one per key-down) given the scrubber's
/// `findings` in their concatenation. Each finding is widened to the whole key-downs it touches,
/// and overlapping ones are merged; such a group of key-downs is redacted, and the first of them
/// stands for the placeholders of the group's findings (the others for no text).
fn scrub_run(texts: &[&str], findings: &[Finding]) -> Run {
    let len: usize = texts.iter().map(|t| t.len()).sum();
    // Byte range of each key-down's text in the concatenation.
    let mut spans = Vec::with_capacity(texts.len());
    let mut at = 0;
    for t in texts {
        spans.push((at, at + t.len()));
        at += t.len();
    }
    let mut findings: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.range.start < f.range.end.min(len))
        .collect();
    findings.sort_by_key(|f| (f.range.start, f.range.end));
    // Findings widened to whole key-downs and merged where they overlap: (start, end, kinds).
    let mut groups: Vec<(usize, usize, Vec<Kind>)> = Vec::new();
    for f in findings {
        let first = spans.partition_point(|&(_, b)| b <= f.range.start);
        let last = spans.partition_point(|&(_, b)| b < f.range.end.min(len));
        let (Some(&(a, _)), Some(&(_, b))) = (spans.get(first), spans.get(last)) else {
            continue;
        };
        match groups.last_mut() {
            Some(g) if a < g.1 => {
                g.1 = g.1.max(b);
                g.2.push(f.kind);
            }
            _ => groups.push((a, b, vec![f.kind])),
        }
    }
    let mut run = Run {
        text: String::with_capacity(len),
        text_len: Vec::with_capacity(texts.len()),
        redacted: Vec::with_capacity(texts.len()),
    };
    let mut group = 0;
    let mut placed = false;
    for (t, &(a, _)) in texts.iter().zip(&spans) {
        while group < groups.len() && groups[group].1 <= a {
            group += 1;
            placed = false;
        }
        let (n, redacted) = match groups.get(group) {
            Some((start, _, kinds)) if *start <= a => {
                if placed {
                    (None, true)
                } else {
                    placed = true;
                    let mut n = 0;
                    for k in kinds {
                        run.text.push_str(k.placeholder());
                        n += k.placeholder().chars().count();
                    }
                    (Some(n), true)
                }
            }
            _ => {
                run.text.push_str(t);
                (Some(t.chars().count()), false)
            }
        };
        run.text_len.push(n.map(|n| n as u32));
        run.redacted.push(redacted);
    }
    run
}

/// Pointer events keep the change of position since the previous one.
fn pointer_to(ev: &mut Events, pointer: &mut (i64, i64), x: i32, y: i32) {
    let (x, y) = (i64::from(x), i64::from(y));
    ev.pointer_dx.push(x - pointer.0);
    ev.pointer_dy.push(y - pointer.1);
    *pointer = (x, y);
}

/// The event as the capture level keeps it, or `None` when the level keeps nothing of it.
fn ceiling(level: CaptureLevel, event: Stored) -> Option<Stored> {
    let category = |key: Key| -> KeyCategory { key.category() };
    Some(match (level, event) {
        (CaptureLevel::Categories, Stored::KeyDown { key, .. }) => {
            Stored::KeyDownCategory(category(key))
        }
        (CaptureLevel::Categories, Stored::KeyUp { key }) => Stored::KeyUpCategory(category(key)),
        (CaptureLevel::Counts, Stored::KeyDown { .. } | Stored::KeyDownCategory(_)) => {
            Stored::KeyPress
        }
        (CaptureLevel::Counts, Stored::KeyUp { .. } | Stored::KeyUpCategory(_)) => return None,
        (_, event) => event,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(kind: Kind, range: std::ops::Range<usize>) -> Finding {
        Finding { kind, range }
    }

    #[test]
    fn a_finding_takes_whole_key_downs_and_the_first_carries_the_placeholder() {
        let texts = ["a", "b", "@", "c", ".", "d", "e", " ", "x"];
        // "ab@c.de x": the email is bytes 0..7.
        let run = scrub_run(&texts, &[finding(Kind::Email, 0..7)]);
        assert_eq!(run.text, "[EMAIL] x");
        assert_eq!(
            run.text_len,
            [
                Some(7),
                None,
                None,
                None,
                None,
                None,
                None,
                Some(1),
                Some(1)
            ]
        );
        assert_eq!(
            run.redacted,
            [true, true, true, true, true, true, true, false, false]
        );
    }

    #[test]
    fn findings_inside_a_key_widen_to_it_and_overlapping_ones_merge() {
        // A key-down that typed several characters ("xy" then "z1"): a finding starting inside
        // it takes it whole.
        let texts = ["xy", "z1", "2", " ", "3"];
        let run = scrub_run(
            &texts,
            &[finding(Kind::Phone, 1..4), finding(Kind::Card, 3..5)],
        );
        assert_eq!(run.text, "[PHONE][CARD] 3");
        assert_eq!(run.text_len, [Some(13), None, None, Some(1), Some(1)]);
        assert_eq!(run.redacted, [true, true, true, false, false]);
    }

    #[test]
    fn separate_findings_get_separate_placeholders() {
        let texts = ["a", " ", "b"];
        let run = scrub_run(
            &texts,
            &[finding(Kind::Secret, 2..3), finding(Kind::Email, 0..1)],
        );
        assert_eq!(run.text, "[EMAIL] [SECRET]");
        assert_eq!(run.text_len, [Some(7), Some(1), Some(8)]);
        assert_eq!(run.redacted, [true, false, true]);
    }

    #[test]
    fn empty_or_out_of_range_findings_do_not_panic() {
        let texts = ["a", "", "b"];
        let run = scrub_run(
            &texts,
            &[finding(Kind::Email, 1..1), finding(Kind::Email, 1..99)],
        );
        // 1..99 is cut to the text: it covers "b" (bytes 1..2) and the empty key-down before it.
        assert_eq!(run.text, "a[EMAIL]");
        assert_eq!(run.text_len, [Some(1), Some(7), None]);
        assert_eq!(run.redacted, [false, true, true]);
        let none = scrub_run(&[], &[finding(Kind::Card, 0..4)]);
        assert_eq!(none.text, "");
    }
}
