//! The on-disk encoding of an event block: the events of one window inside one minute.
//!
//! A block is a format byte followed by one record per event, in time order:
//! - a header varint `delta << 4 | tag`, where `delta` is the microseconds since the previous
//!   event of the block (the first event counts from the start of the minute);
//! - the payload of the tag: key codes as varints, text as a length and UTF-8 bytes, pointer
//!   positions as zigzag varint deltas from the previous position in the block (starting at 0,0),
//!   wheel steps as zigzag varints.
//!
//! A mouse move at 125/s costs about 5 bytes, a typed character about 6. Nothing here is
//! compressed with a dictionary, so the raw bytes of typed text stay findable by the deletion
//! tests, which is the point: deletion must remove them, not hide them.

use glasshouse_core::keys::{Key, KeyCategory};
use glasshouse_core::model::{Button, Micros, Stored, StoredEvent};

/// The first byte of every block. A new encoding gets a new number; old blocks stay readable.
const FORMAT_V1: u8 = 1;

const TAG_KEY_DOWN: u8 = 0;
const TAG_KEY_DOWN_TEXT: u8 = 1;
const TAG_KEY_UP: u8 = 2;
const TAG_KEY_DOWN_CATEGORY: u8 = 3;
const TAG_KEY_UP_CATEGORY: u8 = 4;
const TAG_KEY_PRESS: u8 = 5;
const TAG_BUTTON_DOWN: u8 = 6;
const TAG_BUTTON_UP: u8 = 7;
const TAG_MOVE: u8 = 8;
const TAG_WHEEL: u8 = 9;
const TAG_EXCLUDED: u8 = 10;

/// Why a block could not be decoded. Turned into a `Corrupt` store error naming the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError(pub &'static str);

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Encodes events (all inside the minute starting at `minute_start`, sorted by time).
/// Events outside the minute or out of order would not round-trip: callers sort and group first.
pub(crate) fn encode(minute_start: Micros, events: &[StoredEvent]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + events.len() * 5);
    out.push(FORMAT_V1);
    let mut prev_ts = minute_start;
    let (mut px, mut py) = (0i64, 0i64);
    for e in events {
        let delta = e.ts.saturating_sub(prev_ts).max(0) as u64;
        prev_ts = e.ts;
        let mut header = |tag: u8| put_varint(&mut out, (delta << 4) | u64::from(tag));
        match &e.event {
            Stored::KeyDown { key, text: None } => {
                header(TAG_KEY_DOWN);
                put_varint(&mut out, u64::from(key.code()));
            }
            Stored::KeyDown {
                key,
                text: Some(text),
            } => {
                header(TAG_KEY_DOWN_TEXT);
                put_varint(&mut out, u64::from(key.code()));
                put_varint(&mut out, text.len() as u64);
                out.extend_from_slice(text.as_bytes());
            }
            Stored::KeyUp { key } => {
                header(TAG_KEY_UP);
                put_varint(&mut out, u64::from(key.code()));
            }
            Stored::KeyDownCategory(c) => {
                header(TAG_KEY_DOWN_CATEGORY);
                out.push(c.code());
            }
            Stored::KeyUpCategory(c) => {
                header(TAG_KEY_UP_CATEGORY);
                out.push(c.code());
            }
            Stored::KeyPress => header(TAG_KEY_PRESS),
            Stored::ButtonDown { button, x, y } | Stored::ButtonUp { button, x, y } => {
                let down = matches!(e.event, Stored::ButtonDown { .. });
                header(if down { TAG_BUTTON_DOWN } else { TAG_BUTTON_UP });
                out.push(button.code());
                put_varint(&mut out, zigzag(i64::from(*x) - px));
                put_varint(&mut out, zigzag(i64::from(*y) - py));
                (px, py) = (i64::from(*x), i64::from(*y));
            }
            Stored::Move { x, y } => {
                header(TAG_MOVE);
                put_varint(&mut out, zigzag(i64::from(*x) - px));
                put_varint(&mut out, zigzag(i64::from(*y) - py));
                (px, py) = (i64::from(*x), i64::from(*y));
            }
            Stored::Wheel { dx, dy } => {
                header(TAG_WHEEL);
                put_varint(&mut out, zigzag(i64::from(*dx)));
                put_varint(&mut out, zigzag(i64::from(*dy)));
            }
            Stored::Excluded => header(TAG_EXCLUDED),
        }
    }
    out
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn byte(&mut self) -> Result<u8, DecodeError> {
        let b = *self
            .data
            .get(self.pos)
            .ok_or(DecodeError("an event block ends in the middle of an event"))?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError("an event block holds an over-long number"))
    }

    fn coord(&mut self, prev: i64) -> Result<i32, DecodeError> {
        let v = prev.wrapping_add(unzigzag(self.varint()?));
        i32::try_from(v).map_err(|_| DecodeError("an event block holds a position out of range"))
    }

    fn small_int(&mut self) -> Result<i32, DecodeError> {
        i32::try_from(unzigzag(self.varint()?))
            .map_err(|_| DecodeError("an event block holds a wheel step out of range"))
    }

    fn key(&mut self) -> Result<Key, DecodeError> {
        let code = u16::try_from(self.varint()?)
            .map_err(|_| DecodeError("an event block holds a key code out of range"))?;
        Ok(Key::from_code(code))
    }

    fn category(&mut self) -> Result<KeyCategory, DecodeError> {
        KeyCategory::from_code(self.byte()?)
            .ok_or(DecodeError("an event block holds an unknown key category"))
    }
}

/// Decodes a block, appending its events to `out`.
pub(crate) fn decode(
    minute_start: Micros,
    data: &[u8],
    out: &mut Vec<StoredEvent>,
) -> Result<(), DecodeError> {
    let mut c = Cursor { data, pos: 0 };
    if c.byte()? != FORMAT_V1 {
        return Err(DecodeError(
            "an event block has a format this version does not know",
        ));
    }
    let mut ts = minute_start;
    let (mut px, mut py) = (0i64, 0i64);
    while c.pos < data.len() {
        let header = c.varint()?;
        let delta = i64::try_from(header >> 4)
            .map_err(|_| DecodeError("an event block holds a time out of range"))?;
        ts = ts
            .checked_add(delta)
            .ok_or(DecodeError("an event block holds a time out of range"))?;
        let event = match (header & 0xf) as u8 {
            TAG_KEY_DOWN => Stored::KeyDown {
                key: c.key()?,
                text: None,
            },
            TAG_KEY_DOWN_TEXT => {
                let key = c.key()?;
                let len = usize::try_from(c.varint()?).unwrap_or(usize::MAX);
                let end =
                    c.pos
                        .checked_add(len)
                        .filter(|&e| e <= data.len())
                        .ok_or(DecodeError(
                            "an event block ends in the middle of typed text",
                        ))?;
                let text = std::str::from_utf8(&data[c.pos..end])
                    .map_err(|_| DecodeError("an event block holds text that is not UTF-8"))?;
                c.pos = end;
                Stored::KeyDown {
                    key,
                    text: Some(text.to_owned()),
                }
            }
            TAG_KEY_UP => Stored::KeyUp { key: c.key()? },
            TAG_KEY_DOWN_CATEGORY => Stored::KeyDownCategory(c.category()?),
            TAG_KEY_UP_CATEGORY => Stored::KeyUpCategory(c.category()?),
            TAG_KEY_PRESS => Stored::KeyPress,
            tag @ (TAG_BUTTON_DOWN | TAG_BUTTON_UP) => {
                let button = Button::from_code(c.byte()?);
                let x = c.coord(px)?;
                let y = c.coord(py)?;
                (px, py) = (i64::from(x), i64::from(y));
                if tag == TAG_BUTTON_DOWN {
                    Stored::ButtonDown { button, x, y }
                } else {
                    Stored::ButtonUp { button, x, y }
                }
            }
            TAG_MOVE => {
                let x = c.coord(px)?;
                let y = c.coord(py)?;
                (px, py) = (i64::from(x), i64::from(y));
                Stored::Move { x, y }
            }
            TAG_WHEEL => Stored::Wheel {
                dx: c.small_int()?,
                dy: c.small_int()?,
            },
            TAG_EXCLUDED => Stored::Excluded,
            _ => return Err(DecodeError("an event block holds an unknown event kind")),
        };
        out.push(StoredEvent { ts, event });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use glasshouse_core::model::MICROS_PER_MINUTE;

    use crate::synth::Rng;

    /// A coordinate or delta: mostly ordinary, sometimes any i32, sometimes an extreme.
    fn random_i32(r: &mut Rng) -> i32 {
        match r.below(4) {
            0 => r.next() as i32,
            1 => [i32::MIN, i32::MAX, 0, -1][r.below(4) as usize],
            _ => r.below(4000) as i32 - 2000,
        }
    }

    fn random_event(r: &mut Rng) -> Stored {
        let key = |r: &mut Rng| {
            let named: Vec<Key> = Key::all_named().collect();
            if r.below(5) == 0 {
                Key::Unknown(r.below(0x8000) as u16)
            } else {
                named[r.below(named.len() as u64) as usize]
            }
        };
        let cat = |r: &mut Rng| KeyCategory::ALL[r.below(8) as usize];
        let button = |r: &mut Rng| Button::from_code(r.below(256) as u8);
        let texts = ["", "a", "Ü", "\r", "日本語", "\u{1b}", "canary text"];
        match r.below(11) {
            0 => Stored::KeyDown {
                key: key(r),
                text: None,
            },
            1 => Stored::KeyDown {
                key: key(r),
                text: Some(texts[r.below(texts.len() as u64) as usize].to_owned()),
            },
            2 => Stored::KeyUp { key: key(r) },
            3 => Stored::KeyDownCategory(cat(r)),
            4 => Stored::KeyUpCategory(cat(r)),
            5 => Stored::KeyPress,
            6 => Stored::ButtonDown {
                button: button(r),
                x: random_i32(r),
                y: random_i32(r),
            },
            7 => Stored::ButtonUp {
                button: button(r),
                x: random_i32(r),
                y: random_i32(r),
            },
            8 => Stored::Move {
                x: random_i32(r),
                y: random_i32(r),
            },
            9 => Stored::Wheel {
                dx: random_i32(r),
                dy: random_i32(r),
            },
            _ => Stored::Excluded,
        }
    }

    fn check_round_trip(minute_start: Micros, events: &[StoredEvent]) {
        let data = encode(minute_start, events);
        let mut back = Vec::new();
        decode(minute_start, &data, &mut back).expect("decodes");
        assert_eq!(back, events);
    }

    #[test]
    fn every_variant_round_trips() {
        let mut r = Rng(7);
        for round in 0..2000 {
            // Minutes around the epoch, today, and far out, including negative timestamps.
            let minute = [-3i64, 0, 29_000_000, 150_000_000_000][round % 4];
            let start = minute * MICROS_PER_MINUTE;
            let n = r.below(40) as usize;
            let mut ts: Vec<Micros> = (0..n)
                .map(|_| start + r.below(MICROS_PER_MINUTE as u64) as i64)
                .collect();
            ts.sort_unstable();
            let events: Vec<StoredEvent> = ts
                .into_iter()
                .map(|ts| StoredEvent {
                    ts,
                    event: random_event(&mut r),
                })
                .collect();
            check_round_trip(start, &events);
        }
    }

    #[test]
    fn a_mouse_move_costs_about_five_bytes() {
        let events: Vec<StoredEvent> = (0..1000)
            .map(|i| StoredEvent {
                ts: i * 8000,
                event: Stored::Move {
                    x: 500 + (i as i32 % 7),
                    y: 300 - (i as i32 % 5),
                },
            })
            .collect();
        let data = encode(0, &events);
        assert!(data.len() <= 5 * 1000 + 10, "{} bytes", data.len());
        check_round_trip(0, &events);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut r = Rng(11);
        for _ in 0..5000 {
            let len = r.below(64) as usize;
            let mut data: Vec<u8> = (0..len).map(|_| r.next() as u8).collect();
            if r.below(2) == 0 && !data.is_empty() {
                data[0] = FORMAT_V1;
            }
            let _ = decode(0, &data, &mut Vec::new());
        }
        assert!(decode(0, &[], &mut Vec::new()).is_err());
        assert!(decode(0, &[9], &mut Vec::new()).is_err());
        assert!(decode(0, &[FORMAT_V1, 0x0f], &mut Vec::new()).is_err());
    }
}
