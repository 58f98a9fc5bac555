//! The frames the capture worker writes to its stdout, platform independent.
//!
//! A frame is `len: u32 LE` (the bytes that follow) + `tag: u8` + payload. Integers are little
//! endian, timestamps are `i64` microseconds, strings are `u32 LE` length + UTF-8.
//!
//! | tag | frame   | payload |
//! |-----|---------|---------|
//! | 1   | Started | `version: u8` ([`VERSION`]) |
//! | 2   | Input   | `ts: i64`, `kind: u8`, then by kind: 1 KeyDown `key: u16, has_text: u8, [text]`; 2 KeyUp `key: u16`; 3 ButtonDown / 4 ButtonUp `button: u8, x: i32, y: i32`; 5 Move `x: i32, y: i32`; 6 Wheel `dx: i32, dy: i32` |
//! | 3   | Focus   | `ts: i64`, `app`, `class`, `title` (strings) |
//! | 4   | Error   | `reason` (string) |
//! | 5   | Lock    | `ts: i64`, `locked: u8` (1 locked, 0 unlocked) |
//!
//! Keys and buttons use the stable codes of [`Key::code`] and [`Button::code`]. Decoding never
//! panics: a truncated or malformed stream is a [`CaptureError::Protocol`].

use std::io::{self, Read};

use glasshouse_core::keys::Key;
use glasshouse_core::model::{Button, Input, Micros, RawEvent, Window};

use crate::CaptureError;

/// Bumped whenever the layout changes, so a parent never misreads a worker of another build.
pub const VERSION: u8 = 2;

/// Frames larger than this are rejected as garbage (a frame is a few dozen bytes; a title is
/// capped at [`MAX_STRING`] when encoded).
pub const MAX_FRAME: usize = 64 * 1024;

/// Longer strings are cut (at a character boundary) when encoded.
pub const MAX_STRING: usize = 4 * 1024;

const TAG_STARTED: u8 = 1;
const TAG_INPUT: u8 = 2;
const TAG_FOCUS: u8 = 3;
const TAG_ERROR: u8 = 4;
const TAG_LOCK: u8 = 5;

const KIND_KEY_DOWN: u8 = 1;
const KIND_KEY_UP: u8 = 2;
const KIND_BUTTON_DOWN: u8 = 3;
const KIND_BUTTON_UP: u8 = 4;
const KIND_MOVE: u8 = 5;
const KIND_WHEEL: u8 = 6;

/// One message from the worker to the supervisor.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// The worker connected and is listening.
    Started,
    Input(RawEvent),
    Focus {
        ts: Micros,
        window: Window,
    },
    /// The worker is about to exit because of this (a sentence for a person).
    Error(String),
    /// From `ts` on, the screen is locked (`true`) or unlocked again (`false`). The worker sends
    /// the state it finds when it starts, then every change.
    Lock {
        ts: Micros,
        locked: bool,
    },
}

/// Appends the encoding of `frame` to `out`.
pub fn encode(frame: &Frame, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    match frame {
        Frame::Started => {
            out.push(TAG_STARTED);
            out.push(VERSION);
        }
        Frame::Input(RawEvent { ts, input }) => {
            out.push(TAG_INPUT);
            out.extend_from_slice(&ts.to_le_bytes());
            encode_input(input, out);
        }
        Frame::Focus { ts, window } => {
            out.push(TAG_FOCUS);
            out.extend_from_slice(&ts.to_le_bytes());
            put_str(&window.app, out);
            put_str(&window.class, out);
            put_str(&window.title, out);
        }
        Frame::Error(reason) => {
            out.push(TAG_ERROR);
            put_str(reason, out);
        }
        Frame::Lock { ts, locked } => {
            out.push(TAG_LOCK);
            out.extend_from_slice(&ts.to_le_bytes());
            out.push(u8::from(*locked));
        }
    }
    // Frames are bounded by construction (strings are capped), so this always fits in a u32.
    let len = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

fn encode_input(input: &Input, out: &mut Vec<u8>) {
    let pair = |kind: u8, a: i32, b: i32, out: &mut Vec<u8>| {
        out.push(kind);
        out.extend_from_slice(&a.to_le_bytes());
        out.extend_from_slice(&b.to_le_bytes());
    };
    match input {
        Input::KeyDown { key, text } => {
            out.push(KIND_KEY_DOWN);
            out.extend_from_slice(&key.code().to_le_bytes());
            match text {
                Some(text) => {
                    out.push(1);
                    put_str(text, out);
                }
                None => out.push(0),
            }
        }
        Input::KeyUp { key } => {
            out.push(KIND_KEY_UP);
            out.extend_from_slice(&key.code().to_le_bytes());
        }
        Input::ButtonDown { button, x, y } => {
            out.push(KIND_BUTTON_DOWN);
            out.push(button.code());
            out.extend_from_slice(&x.to_le_bytes());
            out.extend_from_slice(&y.to_le_bytes());
        }
        Input::ButtonUp { button, x, y } => {
            out.push(KIND_BUTTON_UP);
            out.push(button.code());
            out.extend_from_slice(&x.to_le_bytes());
            out.extend_from_slice(&y.to_le_bytes());
        }
        Input::Move { x, y } => pair(KIND_MOVE, *x, *y, out),
        Input::Wheel { dx, dy } => pair(KIND_WHEEL, *dx, *dy, out),
    }
}

fn put_str(s: &str, out: &mut Vec<u8>) {
    let s = truncate(s, MAX_STRING);
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn protocol(msg: impl Into<String>) -> CaptureError {
    CaptureError::Protocol(msg.into())
}

/// Decodes the first frame of `buf`. `Ok(None)` means `buf` holds only part of a frame so far;
/// otherwise returns the frame and how many bytes it took.
pub fn decode(buf: &[u8]) -> Result<Option<(Frame, usize)>, CaptureError> {
    let Some(len) = buf.get(..4) else {
        return Ok(None);
    };
    let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
    check_len(len)?;
    let Some(body) = buf.get(4..4 + len) else {
        return Ok(None);
    };
    Ok(Some((decode_body(body)?, 4 + len)))
}

fn check_len(len: usize) -> Result<(), CaptureError> {
    if len == 0 {
        return Err(protocol("empty frame"));
    }
    if len > MAX_FRAME {
        return Err(protocol(format!(
            "a frame claims {len} bytes (at most {MAX_FRAME})"
        )));
    }
    Ok(())
}

/// Decodes one frame body (tag + payload), which must be consumed exactly.
fn decode_body(body: &[u8]) -> Result<Frame, CaptureError> {
    let mut r = Cursor { buf: body };
    let frame = match r.u8()? {
        TAG_STARTED => {
            let version = r.u8()?;
            if version != VERSION {
                return Err(protocol(format!(
                    "the worker speaks wire version {version}, this build speaks {VERSION}"
                )));
            }
            Frame::Started
        }
        TAG_INPUT => {
            let ts = r.i64()?;
            let input = match r.u8()? {
                KIND_KEY_DOWN => {
                    let key = Key::from_code(r.u16()?);
                    let text = match r.u8()? {
                        0 => None,
                        1 => Some(r.string()?),
                        n => return Err(protocol(format!("bad text flag {n}"))),
                    };
                    Input::KeyDown { key, text }
                }
                KIND_KEY_UP => Input::KeyUp {
                    key: Key::from_code(r.u16()?),
                },
                KIND_BUTTON_DOWN => Input::ButtonDown {
                    button: Button::from_code(r.u8()?),
                    x: r.i32()?,
                    y: r.i32()?,
                },
                KIND_BUTTON_UP => Input::ButtonUp {
                    button: Button::from_code(r.u8()?),
                    x: r.i32()?,
                    y: r.i32()?,
                },
                KIND_MOVE => Input::Move {
                    x: r.i32()?,
                    y: r.i32()?,
                },
                KIND_WHEEL => Input::Wheel {
                    dx: r.i32()?,
                    dy: r.i32()?,
                },
                n => return Err(protocol(format!("unknown input kind {n}"))),
            };
            Frame::Input(RawEvent { ts, input })
        }
        TAG_FOCUS => Frame::Focus {
            ts: r.i64()?,
            window: Window {
                app: r.string()?,
                class: r.string()?,
                title: r.string()?,
            },
        },
        TAG_ERROR => Frame::Error(r.string()?),
        TAG_LOCK => Frame::Lock {
            ts: r.i64()?,
            locked: match r.u8()? {
                0 => false,
                1 => true,
                n => return Err(protocol(format!("bad lock flag {n}"))),
            },
        },
        tag => return Err(protocol(format!("unknown frame tag {tag}"))),
    };
    if !r.buf.is_empty() {
        return Err(protocol(format!(
            "{} unexpected bytes at the end of a frame",
            r.buf.len()
        )));
    }
    Ok(frame)
}

struct Cursor<'a> {
    buf: &'a [u8],
}

impl Cursor<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], CaptureError> {
        let Some((head, rest)) = self.buf.split_first_chunk::<N>() else {
            return Err(protocol("a frame ends in the middle of a field"));
        };
        self.buf = rest;
        Ok(*head)
    }
    fn u8(&mut self) -> Result<u8, CaptureError> {
        Ok(self.take::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, CaptureError> {
        Ok(u16::from_le_bytes(self.take()?))
    }
    fn i32(&mut self) -> Result<i32, CaptureError> {
        Ok(i32::from_le_bytes(self.take()?))
    }
    fn i64(&mut self) -> Result<i64, CaptureError> {
        Ok(i64::from_le_bytes(self.take()?))
    }
    fn string(&mut self) -> Result<String, CaptureError> {
        let len = u32::from_le_bytes(self.take()?) as usize;
        if len > self.buf.len() {
            return Err(protocol("a string runs past the end of its frame"));
        }
        let (bytes, rest) = self.buf.split_at(len);
        self.buf = rest;
        String::from_utf8(bytes.to_vec()).map_err(|_| protocol("a string is not valid UTF-8"))
    }
}

/// Reads frames from a byte stream (the worker's stdout).
#[derive(Debug)]
pub struct FrameReader<R> {
    inner: R,
    body: Vec<u8>,
}

impl<R: Read> FrameReader<R> {
    /// Wrap `inner` in a `BufReader` first if it is unbuffered: frames are read in small pieces.
    pub fn new(inner: R) -> Self {
        FrameReader {
            inner,
            body: Vec::new(),
        }
    }

    /// The next frame; `Ok(None)` at a clean end of stream (between frames).
    pub fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        let mut len = [0u8; 4];
        match read_full(&mut self.inner, &mut len)? {
            0 => return Ok(None),
            4 => {}
            _ => return Err(protocol("the stream ends in the middle of a frame header")),
        }
        let len = u32::from_le_bytes(len) as usize;
        check_len(len)?;
        self.body.resize(len, 0);
        if read_full(&mut self.inner, &mut self.body)? != len {
            return Err(protocol("the stream ends in the middle of a frame"));
        }
        decode_body(&self.body).map(Some)
    }
}

/// Fills `buf` as far as the stream allows; returns how many bytes were read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<usize, CaptureError> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(protocol(format!("cannot read the stream: {e}"))),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_frame() -> Vec<Frame> {
        let input = |input| {
            Frame::Input(RawEvent {
                ts: 1_700_000_000_123_456,
                input,
            })
        };
        vec![
            Frame::Started,
            input(Input::KeyDown {
                key: Key::KeyH,
                text: Some("h".into()),
            }),
            input(Input::KeyDown {
                key: Key::ShiftLeft,
                text: None,
            }),
            input(Input::KeyDown {
                key: Key::Unknown(8),
                text: Some("é€".into()),
            }),
            input(Input::KeyUp { key: Key::F12 }),
            input(Input::ButtonDown {
                button: Button::Left,
                x: 100,
                y: -120,
            }),
            input(Input::ButtonUp {
                button: Button::Other(9),
                x: i32::MAX,
                y: i32::MIN,
            }),
            input(Input::Move { x: 3, y: 4 }),
            input(Input::Wheel { dx: -1, dy: 1 }),
            Frame::Focus {
                ts: -5,
                window: Window {
                    app: "xterm".into(),
                    class: "XTerm".into(),
                    title: "ünï ✓".into(),
                },
            },
            Frame::Focus {
                ts: 0,
                window: Window::unknown(),
            },
            Frame::Lock {
                ts: 1_700_000_000_200_000,
                locked: true,
            },
            Frame::Lock {
                ts: 1_700_000_000_300_000,
                locked: false,
            },
            Frame::Error("no X display: DISPLAY is not set".into()),
        ]
    }

    fn encode_all(frames: &[Frame]) -> Vec<u8> {
        let mut buf = Vec::new();
        for f in frames {
            encode(f, &mut buf);
        }
        buf
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<Frame>, CaptureError> {
        let mut reader = FrameReader::new(bytes);
        let mut frames = Vec::new();
        while let Some(f) = reader.next_frame()? {
            frames.push(f);
        }
        Ok(frames)
    }

    #[test]
    fn every_frame_round_trips_through_reader_and_decode() {
        let frames = every_frame();
        let bytes = encode_all(&frames);
        assert_eq!(read_all(&bytes).unwrap(), frames);

        let mut rest = &bytes[..];
        let mut decoded = Vec::new();
        while let Some((f, used)) = decode(rest).unwrap() {
            decoded.push(f);
            rest = &rest[used..];
        }
        assert!(rest.is_empty());
        assert_eq!(decoded, frames);
    }

    #[test]
    fn every_truncation_is_a_protocol_error_or_incomplete() {
        let bytes = encode_all(&every_frame());
        for cut in 1..bytes.len() {
            let prefix = &bytes[..cut];
            match read_all(prefix) {
                Ok(frames) => {
                    // Only a cut exactly between frames reads cleanly.
                    assert!(frames.len() < every_frame().len(), "cut at {cut}");
                    assert_eq!(encode_all(&frames).len(), cut);
                }
                Err(CaptureError::Protocol(_)) => {}
                Err(e) => panic!("cut at {cut}: {e}"),
            }
        }
    }

    #[test]
    fn garbage_is_a_protocol_error_never_a_panic() {
        let cases: &[&[u8]] = &[
            b"hello world, this is not a frame",
            &[0, 0, 0, 0],
            &[0xff, 0xff, 0xff, 0xff, 1],
            &[1, 0, 0, 0, 99],
            &[2, 0, 0, 0, TAG_STARTED, VERSION + 1],
            &[3, 0, 0, 0, TAG_STARTED, VERSION, 0],
            &[10, 0, 0, 0, TAG_INPUT, 0, 0, 0, 0, 0, 0, 0, 0, 77],
            &[9, 0, 0, 0, TAG_ERROR, 200, 0, 0, 0, b'a', b'b', b'c', b'd'],
            &[7, 0, 0, 0, TAG_ERROR, 2, 0, 0, 0, 0xc3, 0x28],
            &[10, 0, 0, 0, TAG_LOCK, 0, 0, 0, 0, 0, 0, 0, 0, 2],
            &[9, 0, 0, 0, TAG_LOCK, 0, 0, 0, 0, 0, 0, 0, 0],
        ];
        for case in cases {
            assert!(
                matches!(read_all(case), Err(CaptureError::Protocol(_))),
                "{case:?}"
            );
        }
        // A cheap deterministic fuzz: random bytes never panic.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..2000 {
            let mut buf = Vec::new();
            let len = (seed % 40) as usize;
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                buf.push(seed as u8);
            }
            // Small lengths make the random header plausible now and then.
            if buf.len() > 4 {
                buf[1..4].fill(0);
                buf[0] %= 40;
            }
            let _ = read_all(&buf);
            let _ = decode(&buf);
        }
    }

    #[test]
    fn long_strings_are_cut_at_a_char_boundary() {
        let title = "é".repeat(MAX_STRING);
        let frame = Frame::Error(title.clone());
        let mut buf = Vec::new();
        encode(&frame, &mut buf);
        let Frame::Error(got) = read_all(&buf).unwrap().remove(0) else {
            panic!()
        };
        assert_eq!(got.len(), MAX_STRING);
        assert!(title.starts_with(&got));
    }
}
