//! Byte-level mutations: what a fuzzer does to an input without knowing its format. They find the
//! parser's edges (a cut in the middle of a token, an escape that runs off the end, a number one
//! digit too long); the targets' generators reach what lies behind a parser that accepts.

use crate::Rng;

/// Bytes and numbers that tend to sit on a parser's edges.
const INTERESTING: &[&[u8]] = &[
    b"\0",
    b"\xff",
    b"\x7f",
    b"\x80",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\"",
    b"\\",
    b"\\u",
    b"\\ud800",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"=",
    b"\n",
    b"\r\n",
    b" ",
    b"null",
    b"true",
    b"-0",
    b"0",
    b"1e309",
    b"-1",
    b"4294967295",
    b"4294967296",
    b"9223372036854775807",
    b"9223372036854775808",
    b"-9223372036854775808",
    b"18446744073709551616",
    b"1.5",
    b"NaN",
    b"inf",
];

/// Applies one to eight random mutations to `data`, using `dict` (the target's own tokens) as
/// well as the generic ones. The result is at most `max_len` bytes.
pub fn mutate(rng: &mut Rng, data: &mut Vec<u8>, dict: &[&[u8]], max_len: usize) {
    let rounds = 1 + rng.below(8);
    for _ in 0..rounds {
        mutate_once(rng, data, dict);
    }
    data.truncate(max_len);
}

fn token<'a>(rng: &mut Rng, dict: &[&'a [u8]]) -> &'a [u8] {
    if !dict.is_empty() && rng.one_in(2) {
        dict[rng.below(dict.len())]
    } else {
        INTERESTING[rng.below(INTERESTING.len())]
    }
}

fn mutate_once(rng: &mut Rng, data: &mut Vec<u8>, dict: &[&[u8]]) {
    let len = data.len();
    let at = rng.below(len + 1);
    match rng.below(11) {
        // Flip a bit.
        0 if len > 0 => {
            let i = rng.below(len);
            data[i] ^= 1 << rng.below(8);
        }
        // A random byte.
        1 if len > 0 => {
            let i = rng.below(len);
            data[i] = rng.byte();
        }
        // Insert random bytes.
        2 => {
            let n = rng.len(64);
            let bytes = rng.bytes(n);
            data.splice(at..at, bytes);
        }
        // Delete a run.
        3 if len > 0 => {
            let n = rng.len(len - at.min(len));
            data.drain(at.min(len)..(at + n).min(len));
        }
        // Duplicate a run, sometimes many times.
        4 if len > 0 => {
            let start = rng.below(len);
            let n = 1 + rng.len(len - start - 1);
            let run = data[start..start + n].to_vec();
            let times = if rng.one_in(8) { 1 + rng.below(200) } else { 1 };
            let copies: Vec<u8> = run.iter().copied().cycle().take(n * times).collect();
            data.splice(at..at, copies);
        }
        // Insert a token.
        5 | 6 => {
            let t = token(rng, dict).to_vec();
            data.splice(at..at, t);
        }
        // Overwrite with a token.
        7 if len > 0 => {
            let t = token(rng, dict);
            let start = rng.below(len);
            let end = (start + t.len()).min(len);
            data.splice(start..end, t.iter().copied());
        }
        // Replace a run of digits with an edge number.
        8 => {
            if let Some(start) = (0..len)
                .map(|i| (at + i) % len)
                .find(|&i| data[i].is_ascii_digit())
            {
                let end = (start..len)
                    .find(|&i| !data[i].is_ascii_digit())
                    .unwrap_or(len);
                let n = *rng.pick(&[
                    "0",
                    "1",
                    "255",
                    "256",
                    "65535",
                    "2147483647",
                    "2147483648",
                    "4294967296",
                    "9223372036854775807",
                    "99999999999999999999",
                    "00001",
                ]);
                data.splice(start..end, n.bytes());
            }
        }
        // Cut the input short.
        9 if len > 0 => data.truncate(rng.below(len)),
        // Swap two bytes.
        _ if len > 1 => {
            let (i, j) = (rng.below(len), rng.below(len));
            data.swap(i, j);
        }
        _ => data.push(rng.byte()),
    }
}

/// The head of `a` and the tail of `b`, cut at random points.
pub fn splice(rng: &mut Rng, a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = a[..rng.below(a.len() + 1)].to_vec();
    out.extend_from_slice(&b[rng.below(b.len() + 1)..]);
    out
}
