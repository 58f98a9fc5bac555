//! A fast reader for the one layout [`crate::build`] writes: compact JSON, the fields in their
//! documented order, no field this version does not know, integers as serde_json writes them.
//!
//! It answers `None` for anything else, valid or not, and [`crate::codec`] then parses with
//! serde_json, whose errors are the ones the collector returns. So this reader never decides
//! what is refused and what it says: it only has to be *sound*, never giving `Some` where
//! serde_json would not give the same [`Document`]. What it takes as is: strings without
//! escapes or control characters, and valid UTF-8 (the bytes are the string); integers without
//! a sign (a `-` and a non-zero digit for signed columns), a leading zero only alone, in range
//! (at most 18 digits in the number columns), followed by `,`, `]` or `}`. A string with
//! escapes is handed to serde_json whole. On a heavy hour it takes about a third of the time
//! serde_json takes: the numbers go straight into the columns, a loop per column.

use std::collections::BTreeMap;

use glasshouse_core::keys::KeyCategory;
use glasshouse_core::settings::CaptureLevel;

use crate::{Document, Events, Segment, TextRun, TimeWindow, WindowInfo};

/// The document, or `None` when it is not in the layout `build` writes (see the module docs).
pub(crate) fn parse(json: &[u8]) -> Option<Document> {
    let mut p = Parser { b: json, i: 0 };
    let doc = p.document()?;
    (p.i == json.len()).then_some(doc)
}

/// Entries expected per column.
#[derive(Default)]
struct Counts {
    pointer: usize,
    buttons: usize,
    wheels: usize,
    keys: usize,
    key_downs: usize,
    categories: usize,
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn document(&mut self) -> Option<Document> {
        self.lit(b"{\"format\":")?;
        let format = self.string()?;
        self.lit(b",\"version\":")?;
        let version = self.u32()?;
        self.lit(b",\"device\":")?;
        let device = self.string()?;
        self.lit(b",\"team\":")?;
        let team = self.string()?;
        self.lit(b",\"window\":{\"start\":")?;
        let start = self.string()?;
        self.lit(b",\"end\":")?;
        let end = self.string()?;
        self.lit(b",\"start_us\":")?;
        let start_us = self.i64()?;
        self.lit(b",\"end_us\":")?;
        let end_us = self.i64()?;
        self.lit(b"},\"capture_level\":")?;
        let capture_level = match self.plain_str()? {
            "full" => CaptureLevel::Full,
            "categories" => CaptureLevel::Categories,
            "counts" => CaptureLevel::Counts,
            _ => return None,
        };
        self.lit(b",\"event_count\":")?;
        let event_count = self.u64()?;
        self.lit(b",\"apps\":")?;
        let apps = self.array(0, Self::string)?;
        self.lit(b",\"windows\":")?;
        let windows = self.array(0, |p| {
            p.lit(b"{\"app\":")?;
            let app = p.u32()?;
            p.lit(b",\"title\":")?;
            let title = p.string()?;
            p.lit(b"}")?;
            Some(WindowInfo { app, title })
        })?;
        self.lit(b",\"scrubbed\":")?;
        let scrubbed = self.counts()?;
        self.lit(b",\"events\":")?;
        let events = self.events()?;
        self.lit(b"}")?;
        Some(Document {
            format,
            version,
            device,
            team,
            window: TimeWindow {
                start,
                end,
                start_us,
                end_us,
            },
            capture_level,
            event_count,
            apps,
            windows,
            scrubbed,
            events,
        })
    }

    fn events(&mut self) -> Option<Events> {
        self.lit(b"{\"kinds\":")?;
        let kinds = self.string()?;
        // How many entries each column should have, to size it: only a hint.
        let mut n = Counts::default();
        for &c in kinds.as_bytes() {
            match c {
                b'm' => n.pointer += 1,
                b'b' | b'B' => {
                    n.pointer += 1;
                    n.buttons += 1;
                }
                b'w' => n.wheels += 1,
                b'k' => {
                    n.keys += 1;
                    n.key_downs += 1;
                }
                b'K' => n.keys += 1,
                b'c' | b'C' => n.categories += 1,
                _ => {}
            }
        }
        self.lit(b",\"dt_ms\":")?;
        let dt_ms = self.u32s(kinds.len())?;
        self.lit(b",\"segments\":")?;
        let segments = self.array(0, |p| {
            p.lit(b"{\"window\":")?;
            let window = p.u32()?;
            p.lit(b",\"events\":")?;
            let events = p.u64()?;
            p.lit(b"}")?;
            Some(Segment { window, events })
        })?;
        self.lit(b",\"pointer_dx\":")?;
        let pointer_dx = self.i64s(n.pointer)?;
        self.lit(b",\"pointer_dy\":")?;
        let pointer_dy = self.i64s(n.pointer)?;
        self.lit(b",\"button\":")?;
        let button = self.array(n.buttons, |p| u8::try_from(p.u64()?).ok())?;
        self.lit(b",\"wheel_dx\":")?;
        let wheel_dx = self.array(n.wheels, |p| i32::try_from(p.i64()?).ok())?;
        self.lit(b",\"wheel_dy\":")?;
        let wheel_dy = self.array(n.wheels, |p| i32::try_from(p.i64()?).ok())?;
        self.lit(b",\"key\":")?;
        let key = self.array(n.keys, |p| p.or_null(Self::string))?;
        self.lit(b",\"text_len\":")?;
        let text_len = self.array(n.key_downs, |p| p.or_null(Self::u32))?;
        self.lit(b",\"category\":")?;
        let category = self.array(n.categories, |p| KeyCategory::from_name(p.plain_str()?))?;
        self.lit(b",\"texts\":")?;
        let texts = self.array(0, |p| {
            p.lit(b"{\"t_ms\":")?;
            let t_ms = p.u64()?;
            p.lit(b",\"window\":")?;
            let window = p.u32()?;
            p.lit(b",\"text\":")?;
            let text = p.string()?;
            p.lit(b"}")?;
            Some(TextRun { t_ms, window, text })
        })?;
        self.lit(b"}")?;
        Some(Events {
            kinds,
            dt_ms,
            segments,
            pointer_dx,
            pointer_dy,
            button,
            wheel_dx,
            wheel_dy,
            key,
            text_len,
            category,
            texts,
        })
    }

    /// Exactly these bytes.
    #[inline]
    fn lit(&mut self, lit: &[u8]) -> Option<()> {
        if self.b.get(self.i..self.i + lit.len())? == lit {
            self.i += lit.len();
            Some(())
        } else {
            None
        }
    }

    /// `[` elements separated by `,` `]`; room is made for `expected` of them, as far as the
    /// rest of the input could hold them.
    #[inline(always)]
    fn array<T>(
        &mut self,
        expected: usize,
        mut element: impl FnMut(&mut Self) -> Option<T>,
    ) -> Option<Vec<T>> {
        self.lit(b"[")?;
        // An element and its separator take at least two bytes.
        let mut out = Vec::with_capacity(expected.min((self.b.len() - self.i) / 2));
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
            return Some(out);
        }
        loop {
            out.push(element(self)?);
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Some(out);
                }
                _ => return None,
            }
        }
    }

    /// `null`, or what `value` reads.
    #[inline]
    fn or_null<T>(&mut self, value: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.b.get(self.i) == Some(&b'n') {
            self.lit(b"null")?;
            Some(None)
        } else {
            value(self).map(Some)
        }
    }

    /// A column of `u32`: the same as `array(expected, Self::u32)`, in one loop.
    fn u32s(&mut self, expected: usize) -> Option<Vec<u32>> {
        self.lit(b"[")?;
        let mut out = Vec::with_capacity(expected.min((self.b.len() - self.i) / 2));
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
            return Some(out);
        }
        let (b, mut i) = (self.b, self.i);
        loop {
            let (negative, v, next) = integer(b, i)?;
            if negative {
                return None;
            }
            out.push(u32::try_from(v).ok()?);
            i += next;
            match b[i - 1] {
                b',' => {}
                b']' => break,
                _ => return None,
            }
        }
        self.i = i;
        Some(out)
    }

    /// A column of `i64`: the same as `array(expected, Self::i64)`, in one loop.
    fn i64s(&mut self, expected: usize) -> Option<Vec<i64>> {
        self.lit(b"[")?;
        let mut out = Vec::with_capacity(expected.min((self.b.len() - self.i) / 2));
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
            return Some(out);
        }
        let (b, mut i) = (self.b, self.i);
        loop {
            let (negative, v, next) = integer(b, i)?;
            // At most 18 digits: no overflow. `-0` is left to serde_json.
            out.push(match (negative, v) {
                (false, v) => v as i64,
                (true, 0) => return None,
                (true, v) => -(v as i64),
            });
            i += next;
            match b[i - 1] {
                b',' => {}
                b']' => break,
                _ => return None,
            }
        }
        self.i = i;
        Some(out)
    }

    /// A map of string to count (`scrubbed`); a repeated key keeps its last value, as serde's
    /// `BTreeMap` does.
    fn counts(&mut self) -> Option<BTreeMap<String, u64>> {
        self.lit(b"{")?;
        let mut out = BTreeMap::new();
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Some(out);
        }
        loop {
            let k = self.string()?;
            self.lit(b":")?;
            let v = self.u64()?;
            out.insert(k, v);
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Some(out);
                }
                _ => return None,
            }
        }
    }

    /// The raw contents of a string and whether it has escapes; `None` at a control character
    /// or the end of the input.
    #[inline]
    fn raw_string(&mut self) -> Option<(&[u8], bool)> {
        self.lit(b"\"")?;
        let start = self.i;
        let mut escaped = false;
        loop {
            match *self.b.get(self.i)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.i += 2;
                }
                0x00..=0x1f => return None,
                _ => self.i += 1,
            }
        }
        let raw = self.b.get(start..self.i)?;
        self.i += 1;
        Some((raw, escaped))
    }

    /// A string without escapes, borrowed.
    #[inline]
    fn plain_str(&mut self) -> Option<&str> {
        match self.raw_string()? {
            (raw, false) => std::str::from_utf8(raw).ok(),
            (_, true) => None,
        }
    }

    /// A string; one with escapes is read by serde_json.
    fn string(&mut self) -> Option<String> {
        let start = self.i;
        match self.raw_string()? {
            (raw, false) => std::str::from_utf8(raw).ok().map(str::to_owned),
            (_, true) => serde_json::from_slice(&self.b[start..self.i]).ok(),
        }
    }

    /// An integer without a sign, as serde_json writes it, then `,`, `]` or `}`.
    #[inline(always)]
    fn u64(&mut self) -> Option<u64> {
        let b = self.b;
        let mut i = self.i;
        let mut v = u64::from(b.get(i)?.wrapping_sub(b'0'));
        if v > 9 {
            return None;
        }
        i += 1;
        if v != 0 {
            while let Some(&c) = b.get(i) {
                let d = c.wrapping_sub(b'0');
                if d > 9 {
                    break;
                }
                v = v.checked_mul(10)?.checked_add(u64::from(d))?;
                i += 1;
            }
        }
        match b.get(i) {
            Some(b',' | b']' | b'}') => {
                self.i = i;
                Some(v)
            }
            _ => None,
        }
    }

    #[inline(always)]
    fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.u64()?).ok()
    }

    /// An integer, negative ones with `-` and a digit other than `0` (`-0` is left to
    /// serde_json).
    #[inline(always)]
    fn i64(&mut self) -> Option<i64> {
        if self.b.get(self.i) == Some(&b'-') {
            if matches!(self.b.get(self.i + 1), Some(b'0') | None) {
                return None;
            }
            self.i += 1;
            let m = self.u64()?;
            // Up to 2^63, which is i64::MIN.
            0i64.checked_sub_unsigned(m)
        } else {
            i64::try_from(self.u64()?).ok()
        }
    }
}

/// The integer at `b[at..]` as serde_json writes them: whether it has a `-`, then its digits,
/// a leading zero only alone, at most 18 of them; and how many bytes it takes together with the
/// one byte after it (which the caller checks: after a lone `0`, a digit makes the number
/// invalid).
#[inline(always)]
fn integer(b: &[u8], at: usize) -> Option<(bool, u64, usize)> {
    let mut i = at;
    let mut c = *b.get(i)?;
    let negative = c == b'-';
    if negative {
        i += 1;
        c = *b.get(i)?;
    }
    let first = c.wrapping_sub(b'0');
    if first > 9 {
        return None;
    }
    i += 1;
    c = *b.get(i)?;
    let mut v = u64::from(first);
    if first != 0 {
        let start = i;
        loop {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            v = v.wrapping_mul(10).wrapping_add(u64::from(d));
            i += 1;
            c = *b.get(i)?;
        }
        // 10^18 < 2^63: with 18 digits or fewer nothing wrapped.
        if i - start > 17 {
            return None;
        }
    }
    Some((negative, v, i + 1 - at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde(json: &[u8]) -> Option<Document> {
        serde_json::from_slice(json).ok()
    }

    /// Whatever the fast reader accepts, serde_json reads the same.
    fn sound(json: &[u8]) -> bool {
        match parse(json) {
            Some(doc) => {
                assert_eq!(
                    serde(json).as_ref(),
                    Some(&doc),
                    "{}",
                    String::from_utf8_lossy(json)
                );
                true
            }
            None => false,
        }
    }

    fn sample() -> Vec<u8> {
        use glasshouse_core::keys::Key;
        use glasshouse_core::model::{Button, Stored};
        let start = 1_772_442_000_000_000;
        let mut rows = Vec::new();
        let mut t = start;
        let mut row = |app: &str, title: &str, event| {
            t += 37_000;
            rows.push(crate::Row {
                ts: t,
                app: app.into(),
                title: title.into(),
                event,
            });
        };
        row(
            "firefox",
            "Tab\t\"quoted\" \\ é",
            Stored::Move { x: 5, y: -3 },
        );
        row(
            "firefox",
            "Tab\t\"quoted\" \\ é",
            Stored::ButtonDown {
                button: Button::Other(9),
                x: -40,
                y: 7,
            },
        );
        row("slack", "", Stored::Wheel { dx: -2, dy: 3 });
        for (key, text) in [
            (Key::KeyA, Some("a")),
            (Key::Return, Some("\n")),
            (Key::Unknown(12), Some("\u{1F600}")),
            (Key::ShiftLeft, None),
        ] {
            let text = text.map(str::to_owned);
            row("slack", "#general", Stored::KeyDown { key, text });
            row("slack", "#general", Stored::KeyUp { key });
        }
        row("(excluded app)", "", Stored::Excluded);
        let header = crate::Header {
            device: "dev-1".into(),
            team: "t".into(),
            window_start: start,
            window_end: start + 3_600_000_000,
            capture_level: CaptureLevel::Full,
        };
        let built = crate::build(&header, rows, &glasshouse_scrub::Scrubber::new()).unwrap();
        zstd::decode_all(built.bytes.as_slice()).unwrap()
    }

    #[test]
    fn what_build_writes_is_read_fast_and_the_same() {
        let json = sample();
        assert!(sound(&json));
        let text = String::from_utf8(json.clone()).unwrap();
        assert!(text.contains("\\t\\\"quoted\\\" \\\\ é"), "{text}");
        // With whitespace, or a field of a later revision, it is serde_json's turn.
        let spaced = text.replacen("\"version\":1", "\"version\": 1", 1);
        assert!(parse(spaced.as_bytes()).is_none() && serde(spaced.as_bytes()).is_some());
        let extra = text.replacen("\"version\":1", "\"version\":1,\"later\":2", 1);
        assert!(parse(extra.as_bytes()).is_none() && serde(extra.as_bytes()).is_some());
    }

    #[test]
    fn numbers_are_taken_only_as_serde_json_reads_them() {
        let json = String::from_utf8(sample()).unwrap();
        let at = json.find("\"wheel_dx\":[").unwrap() + "\"wheel_dx\":[".len();
        let end = at + json[at..].find(']').unwrap();
        for n in [
            "0",
            "-0",
            "00",
            "01",
            "-01",
            "1.0",
            "1e2",
            "-",
            "+1",
            "2147483647",
            "2147483648",
            "-2147483648",
            "-2147483649",
            " 1",
            "1 ",
            "0x1",
            "--1",
        ] {
            let doc = format!("{}{n}{}", &json[..at], &json[end..]);
            sound(doc.as_bytes());
        }
        for (col, n) in [
            ("\"event_count\":", "18446744073709551615"),
            ("\"event_count\":", "18446744073709551616"),
            ("\"start_us\":", "-9223372036854775808"),
            ("\"start_us\":", "-9223372036854775809"),
            ("\"start_us\":", "9223372036854775807"),
            ("\"start_us\":", "9223372036854775808"),
        ] {
            let at = json.find(col).unwrap() + col.len();
            let end = at + json[at..].find([',', '}']).unwrap();
            let doc = format!("{}{n}{}", &json[..at], &json[end..]);
            sound(doc.as_bytes());
        }
    }

    #[test]
    fn integer_columns_are_read_as_serde_json_reads_them() {
        let mut rng = Rng(3);
        let mut numbers: Vec<String> = (-300..3000).map(|n: i64| n.to_string()).collect();
        for _ in 0..3000 {
            let v = rng.next() >> rng.below(64);
            numbers.push(v.to_string());
            numbers.push(format!("-{v}"));
        }
        for n in [
            i64::MAX,
            i64::MIN,
            i64::from(u32::MAX),
            i64::from(u32::MAX) + 1,
        ] {
            numbers.push(n.to_string());
        }
        numbers.extend(
            [
                "-0",
                "00",
                "01",
                "-01",
                "",
                "-",
                "+1",
                "1.5",
                "1e3",
                "1E3",
                "0x10",
                " 1",
                "999999999999999999",
                "1000000000000000000",
                "-999999999999999999",
                "18446744073709551616",
            ]
            .map(str::to_owned),
        );
        let mut fast = 0;
        for n in &numbers {
            for text in [
                format!("[{n}]"),
                format!("[{n},7]"),
                format!("[7,{n}]"),
                format!("[{n}}}"),
            ] {
                let b = text.as_bytes();
                let i64s = Parser { b, i: 0 }.i64s(2);
                if let Some(v) = &i64s {
                    assert_eq!(
                        serde_json::from_slice::<Vec<i64>>(b).ok().as_ref(),
                        Some(v),
                        "{text}"
                    );
                    fast += 1;
                }
                if let Some(v) = (Parser { b, i: 0 }).u32s(2) {
                    assert_eq!(
                        serde_json::from_slice::<Vec<u32>>(b).ok(),
                        Some(v),
                        "{text}"
                    );
                }
                // Everything serde_json writes, up to 18 digits, is read here.
                if let Ok(v) = serde_json::from_slice::<Vec<i64>>(b)
                    && serde_json::to_string(&v).unwrap() == text
                    && v.iter()
                        .all(|x| x.unsigned_abs() < 1_000_000_000_000_000_000)
                {
                    assert!(i64s.is_some(), "{text}");
                }
            }
        }
        assert!(fast > 10_000, "{fast}");
    }

    use crate::test_rng::Rng;

    #[test]
    fn random_changes_never_make_it_read_what_serde_json_would_not() {
        let json = sample();
        let bytes: &[u8] = b"0123456789-+.eE,:[]{}\"\\ntu\x00\x1f\x7f\xc3\xa9\xff ";
        let mut rng = Rng(11);
        let mut fast = 0;
        for _ in 0..30_000 {
            let mut doc = json.clone();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(doc.len());
                let b = bytes[rng.below(bytes.len())];
                match rng.below(3) {
                    0 => doc[at] = b,
                    1 => doc.insert(at, b),
                    _ => {
                        doc.remove(at);
                    }
                }
            }
            if sound(&doc) {
                fast += 1;
            }
        }
        // Changes inside numbers and strings often leave a document of the same layout.
        assert!(fast > 1000, "{fast}");
    }
}
