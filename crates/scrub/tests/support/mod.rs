//! Synthetic, valid identifiers for the recall tests: every check digit is computed here.

#![allow(dead_code)]

use glasshouse_scrub::Kind;

/// SplitMix64: small, deterministic, good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as u64 - 1) as usize]
    }

    pub fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.range(0, 9) as u8))
            .collect()
    }

    pub fn chars(&mut self, alphabet: &str, n: usize) -> String {
        let a = alphabet.as_bytes();
        (0..n).map(|_| char::from(*self.pick(a))).collect()
    }
}

pub const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
pub const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
pub const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
pub const UPPER_DIGITS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
pub const BASE64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
pub const BASE64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// One planted identifier: the text to embed, the part of it that must be replaced, its kind.
#[derive(Debug, Clone)]
pub struct Sample {
    pub label: String,
    pub text: String,
    pub secret: String,
    pub kind: Kind,
}

impl Sample {
    pub fn whole(label: impl Into<String>, text: impl Into<String>, kind: Kind) -> Sample {
        let text = text.into();
        Sample {
            label: label.into(),
            secret: text.clone(),
            text,
            kind,
        }
    }

    pub fn part(
        label: impl Into<String>,
        text: impl Into<String>,
        secret: impl Into<String>,
        kind: Kind,
    ) -> Sample {
        Sample {
            label: label.into(),
            text: text.into(),
            secret: secret.into(),
            kind,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Cards

/// The Luhn check digit for `payload` (all digits but the last).
pub fn luhn_check_digit(payload: &str) -> char {
    let mut sum = 0;
    for (i, c) in payload.bytes().rev().enumerate() {
        let mut v = u32::from(c - b'0');
        if i % 2 == 0 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

/// (network, prefix choices, length)
pub const NETWORKS: &[(&str, &[&str], usize)] = &[
    ("visa16", &["4"], 16),
    ("visa13", &["4"], 13),
    ("visa19", &["4"], 19),
    ("mastercard", &["51", "52", "53", "54", "55"], 16),
    ("mastercard2", &["2221", "2500", "2720", "2600"], 16),
    ("amex", &["34", "37"], 15),
    ("discover", &["6011", "65", "644", "649"], 16),
    ("discover19", &["6011"], 19),
    ("diners", &["36", "300", "305", "38"], 14),
    ("jcb", &["3528", "3550", "3589"], 16),
    ("unionpay", &["62"], 16),
    ("unionpay19", &["62"], 19),
    ("maestro", &["6759", "5018", "5020", "6304"], 16),
    ("mir", &["2200", "2204"], 16),
];

/// A Luhn-valid card number for `network` (digits only).
pub fn card(rng: &mut Rng, prefixes: &[&str], len: usize) -> String {
    let prefix = *rng.pick(prefixes);
    let mut payload = prefix.to_owned();
    payload.push_str(&rng.digits(len - 1 - prefix.len()));
    let check = luhn_check_digit(&payload);
    payload.push(check);
    payload
}

/// Groups `digits` as cards are printed: 4-6-5 (15), 4-6-4 (14), otherwise fours.
pub fn group_card(digits: &str, sep: char) -> String {
    let sizes: Vec<usize> = match digits.len() {
        15 => vec![4, 6, 5],
        14 => vec![4, 6, 4],
        n => {
            let mut v = vec![4; n / 4];
            if n % 4 != 0 {
                v.push(n % 4);
            }
            v
        }
    };
    let mut out = String::new();
    let mut at = 0;
    for (i, s) in sizes.iter().enumerate() {
        if i > 0 {
            out.push(sep);
        }
        out.push_str(&digits[at..at + s]);
        at += s;
    }
    out
}

/// The same number with a wrong check digit.
pub fn break_luhn(valid: &str) -> String {
    let mut bytes = valid.as_bytes().to_vec();
    let last = bytes.len() - 1;
    bytes[last] = b'0' + (bytes[last] - b'0' + 3) % 10;
    String::from_utf8(bytes).unwrap()
}

// ---------------------------------------------------------------------------------------------
// IBANs

/// ISO 7064 mod 97-10 over an alphanumeric string (letters as 10..=35).
pub fn mod97(s: &str) -> u32 {
    let mut rem = 0u32;
    for c in s.bytes() {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            _ => u32::from(c.to_ascii_uppercase() - b'A') + 10,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem
}

/// BBAN layouts: `n` digit, `a` capital letter, `c` either.
pub const IBAN_FORMATS: &[(&str, &str)] = &[
    ("DE", "nnnnnnnnnnnnnnnnnn"),
    ("GB", "aaaannnnnnnnnnnnnn"),
    ("FR", "nnnnnnnnnncccccccccccnn"),
    ("NL", "aaaannnnnnnnnn"),
    ("ES", "nnnnnnnnnnnnnnnnnnnn"),
    ("IT", "annnnnnnnnncccccccccccc"),
    ("CH", "nnnnncccccccccccc"),
    ("BE", "nnnnnnnnnnnn"),
    ("AT", "nnnnnnnnnnnnnnnn"),
    ("PL", "nnnnnnnnnnnnnnnnnnnnnnnn"),
    ("SE", "nnnnnnnnnnnnnnnnnnnn"),
    ("NO", "nnnnnnnnnnn"),
    ("IE", "aaaannnnnnnnnnnnnn"),
    ("PT", "nnnnnnnnnnnnnnnnnnnnn"),
];

pub fn iban(rng: &mut Rng, country: &str, layout: &str) -> String {
    let bban: String = layout
        .chars()
        .map(|k| match k {
            'n' => char::from(b'0' + rng.range(0, 9) as u8),
            'a' => char::from(b'A' + rng.range(0, 25) as u8),
            _ => *rng.pick(&UPPER_DIGITS.chars().collect::<Vec<_>>()),
        })
        .collect();
    let check = 98 - mod97(&format!("{bban}{country}00"));
    format!("{country}{check:02}{bban}")
}

pub fn group_iban(compact: &str) -> String {
    compact
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The same IBAN with different (wrong) check digits.
pub fn break_iban(valid: &str) -> String {
    let check: u32 = valid[2..4].parse().unwrap();
    let wrong = if check >= 90 { check - 7 } else { check + 7 };
    format!("{}{wrong:02}{}", &valid[..2], &valid[4..])
}

// ---------------------------------------------------------------------------------------------
// National identifiers

pub fn ssn(rng: &mut Rng) -> (String, String, String) {
    let area = loop {
        let a = rng.range(1, 899);
        if a != 666 {
            break a;
        }
    };
    (
        format!("{area:03}"),
        format!("{:02}", rng.range(1, 99)),
        format!("{:04}", rng.range(1, 9999)),
    )
}

pub fn ni_number(rng: &mut Rng) -> String {
    let first = "ABCEGHJKLMNOPRSTWXYZ";
    let second = "ABCEGHJKLMNPRSTWXYZ";
    loop {
        let prefix = format!("{}{}", rng.chars(first, 1), rng.chars(second, 1));
        if ["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"].contains(&prefix.as_str()) {
            continue;
        }
        return format!("{prefix}{}{}", rng.digits(6), rng.chars("ABCD", 1));
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens

/// Base64url without padding, for building JWTs.
pub fn base64url(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// A random string over `alphabet` that has a digit, a capital and a lowercase letter.
pub fn mixed(rng: &mut Rng, alphabet: &str, n: usize) -> String {
    loop {
        let s = rng.chars(alphabet, n);
        if s.bytes().any(|b| b.is_ascii_digit())
            && s.bytes().any(|b| b.is_ascii_uppercase())
            && s.bytes().any(|b| b.is_ascii_lowercase())
        {
            return s;
        }
    }
}
