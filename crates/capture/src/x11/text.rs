//! Decoding window-title properties that are not UTF-8: `STRING` is Latin-1, `COMPOUND_TEXT`
//! is ISO 2022 (xterm sets only a COMPOUND_TEXT `WM_NAME`).

const ESC: u8 = 0x1b;
const CSI: u8 = 0x9b;
const REPLACEMENT: char = '\u{fffd}';

/// Decodes a `STRING` property: ISO 8859-1, so every byte is the code point of the same number.
pub(crate) fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Decodes `COMPOUND_TEXT`: ASCII and Latin-1 (the defaults) are kept, UTF-8 segments
/// (`ESC % G` .. `ESC % @`) are decoded, escape and direction sequences are dropped, and text in
/// any other character set becomes U+FFFD rather than mojibake.
pub(crate) fn compound_text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut gl_ascii = true;
    let mut gr_latin1 = true;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            ESC => {
                // ESC, intermediate bytes 0x20..=0x2f, one final byte 0x30..=0x7e.
                let start = i + 1;
                let mut j = start;
                while j < bytes.len() && (0x20..=0x2f).contains(&bytes[j]) {
                    j += 1;
                }
                let Some(&fin) = bytes.get(j) else { break };
                let seq = (&bytes[start..j], fin);
                i = j + 1;
                match seq {
                    (b"%", b'G') => {
                        // UTF-8 until `ESC % @` (or the end).
                        let end = find_esc(bytes, i);
                        out.push_str(&String::from_utf8_lossy(&bytes[i..end]));
                        i = end;
                    }
                    (b"%/", _) => {
                        // Extended segment: two length bytes (7 bits each), then that many bytes
                        // in an encoding we do not decode.
                        let len = match (bytes.get(i), bytes.get(i + 1)) {
                            (Some(&m), Some(&l)) => {
                                (usize::from(m & 0x7f) << 7) | usize::from(l & 0x7f)
                            }
                            _ => bytes.len(),
                        };
                        i = (i + 2).saturating_add(len).min(bytes.len());
                        out.push(REPLACEMENT);
                    }
                    (b"(", f) => gl_ascii = f == b'B',
                    (b"-", f) => gr_latin1 = f == b'A',
                    (i1, _) if i1.first() == Some(&b'$') => {
                        // A multi-byte character set in GL or GR.
                        if i1.get(1) == Some(&b'(') {
                            gl_ascii = false;
                        } else {
                            gr_latin1 = false;
                        }
                    }
                    _ => {}
                }
            }
            CSI => {
                // Direction control: CSI, parameters, final byte 0x40..=0x7e.
                i += 1;
                while i < bytes.len() && !(0x40..=0x7e).contains(&bytes[i]) {
                    i += 1;
                }
                i += 1;
            }
            b @ (b'\t' | b'\n') => {
                out.push(char::from(b));
                i += 1;
            }
            b @ 0x20..=0x7e => {
                push_or_replace(&mut out, gl_ascii, b);
                i += 1;
            }
            b @ 0xa0..=0xff => {
                push_or_replace(&mut out, gr_latin1, b);
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

fn find_esc(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == ESC)
        .map_or(bytes.len(), |p| from + p)
}

fn push_or_replace(out: &mut String, known: bool, b: u8) {
    if known {
        out.push(char::from(b));
    } else if !out.ends_with(REPLACEMENT) {
        // One replacement per run: a multi-byte character set has several bytes per character.
        out.push(REPLACEMENT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_maps_bytes_to_code_points() {
        assert_eq!(latin1(b"caf\xe9 \xbd"), "café ½");
    }

    #[test]
    fn compound_text_cases() {
        let check = |input: &[u8], expected: &str| {
            assert_eq!(compound_text(input), expected, "{input:?}");
        };
        check(b"plain ascii title", "plain ascii title");
        check(b"caf\xe9", "café");
        // Explicit designations of the defaults are dropped.
        check(b"\x1b(B\x1b-Acaf\xe9", "café");
        // A UTF-8 segment, as Xlib writes characters outside Latin-1.
        check("a \x1b%G✓ ok\x1b%@ b".as_bytes(), "a ✓ ok b");
        check("\x1b%G日本".as_bytes(), "日本");
        // Latin-2 in GR cannot be shown as Latin-1: replaced, not garbled.
        check(b"x\x1b-B\xb1\xb1y", "x\u{fffd}y");
        // Japanese (JIS X 0208) in GL, then back to ASCII.
        check(b"\x1b$(B\x30\x21\x1b(B ok", "\u{fffd} ok");
        // Direction sequences vanish.
        check(b"\x9b1]abc\x9b]", "abc");
        // Truncated escape sequences never panic.
        check(b"abc\x1b", "abc");
        check(b"abc\x1b%", "abc");
        check(b"abc\x1b%/1\x80", "abc\u{fffd}");
    }
}
