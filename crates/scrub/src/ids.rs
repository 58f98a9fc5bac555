//! Identifiers with letters in them: IBANs and UK National Insurance numbers.

use crate::text::{char_at, char_before, is_word, word_bounded};
use crate::{Candidate, Kind, Rank};
use regex::Regex;

pub(crate) fn iban_regex() -> Regex {
    // Country letters, two check digits, then the BBAN either compact or in groups of four.
    Regex::new(r"^[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]{4}){2,8}(?: ?[A-Za-z0-9]{1,3})?")
        .expect("IBAN pattern")
}

pub(crate) fn ni_regex() -> Regex {
    Regex::new(r"^[A-Z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]").expect("NI pattern")
}

/// IBAN lengths per country (the registry's published lengths).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NL", 18),
    ("NO", 15),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("SA", 24),
    ("SC", 31),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
];

pub(crate) fn iban_length(country: &str) -> Option<usize> {
    IBAN_LENGTHS
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(country))
        .map(|&(_, len)| len)
}

/// ISO 7064 mod 97-10 over an IBAN without spaces: moving the first four characters to the end
/// and reading letters as 10..=35, the number is 1 modulo 97.
pub(crate) fn iban_checksum_ok(compact: &[u8]) -> bool {
    if compact.len() < 5 {
        return false;
    }
    let mut rem = 0u32;
    for &c in compact[4..].iter().chain(&compact[..4]) {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            b'a'..=b'z' => u32::from(c - b'a') + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// Where two ASCII letters start a word and are followed by a digit, directly or after one
/// space: the only places an IBAN or a National Insurance number can start. Scanning for these
/// by hand and matching the (anchored) patterns there is much faster than searching with them.
pub(crate) fn letter_pair_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = Vec::new();
    let letter = |i: usize| bytes[i].is_ascii_alphabetic();
    let mut i = 2;
    while i < bytes.len() {
        match bytes[i..].iter().position(u8::is_ascii_digit) {
            Some(p) => i += p,
            None => break,
        }
        let digit = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let start = if letter(digit - 1) && letter(digit - 2) {
            digit - 2
        } else if digit >= 3 && bytes[digit - 1] == b' ' && letter(digit - 2) && letter(digit - 3) {
            digit - 3
        } else {
            continue;
        };
        if !char_before(text, start).is_some_and(is_word) {
            starts.push(start);
        }
    }
    starts
}

/// The end of the anchored `re`'s match at `start`, searched in a window of `window` bytes.
fn match_end(re: &Regex, text: &str, start: usize, window: usize) -> Option<usize> {
    let mut end = (start + window).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    re.find(&text[start..end]).map(|m| start + m.end())
}

pub(crate) fn find_ibans(re: &Regex, text: &str, starts: &[usize], out: &mut Vec<Candidate>) {
    for &start in starts {
        let Some(match_end) = match_end(re, text, start, 48) else {
            continue;
        };
        let s = &text[start..match_end];
        let Some(len) = iban_length(&s[..2]) else {
            continue;
        };
        // Spaces, if any, split the IBAN into groups of four.
        let spaced = s.contains(' ');
        let mut compact = Vec::with_capacity(s.len());
        let mut end = None;
        let mut offset = 0;
        for part in s.split(' ') {
            if spaced && part.len() != 4 && compact.len() + part.len() < len {
                break; // only the last group may be short
            }
            compact.extend_from_slice(part.as_bytes());
            offset += part.len();
            if compact.len() == len {
                end = Some(start + offset);
                break;
            }
            if compact.len() > len {
                break; // the IBAN would end inside a group
            }
            offset += 1; // the space
        }
        let Some(end) = end else { continue };
        if !spaced && end != match_end {
            continue;
        }
        if !word_bounded(text, start, end) || !iban_checksum_ok(&compact) {
            continue;
        }
        out.push(Candidate {
            kind: Kind::Iban,
            range: start..end,
            rank: Rank::of(Kind::Iban),
        });
    }
}

pub(crate) fn find_ni(re: &Regex, text: &str, starts: &[usize], out: &mut Vec<Candidate>) {
    for &start in starts {
        let Some(end) = match_end(re, text, start, 16) else {
            continue;
        };
        let s = &text[start..end];
        let spaces = s.bytes().filter(|&b| b == b' ').count();
        if spaces != 0 && spaces != 4 {
            continue;
        }
        let (first, second) = (s.as_bytes()[0], s.as_bytes()[1]);
        let prefix = &s[..2];
        let valid = !b"DFIQUV".contains(&first)
            && !b"DFIOQUV".contains(&second)
            && !["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"].contains(&prefix);
        if valid && word_bounded(text, start, end) && char_at(text, end) != Some('-') {
            out.push(Candidate {
                kind: Kind::NationalId,
                range: start..end,
                rank: Rank::of(Kind::NationalId),
            });
        }
    }
}
