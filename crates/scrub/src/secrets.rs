//! Secrets: tokens with well-known prefixes, JWTs, PEM private keys, values assigned to
//! password/token-like names, bearer credentials, and other long high-entropy strings.

use crate::text::{char_at, char_before, is_word};
use crate::{Candidate, Kind, Rank};
use regex::Regex;

pub(crate) fn known_regex() -> Regex {
    Regex::new(concat!(
        r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}",
        r"|gh[pousr]_[A-Za-z0-9]{36,255}",
        r"|github_pat_[A-Za-z0-9_]{22,255}",
        r"|glpat-[A-Za-z0-9_\-]{20,}",
        r"|xox[abposr]-[A-Za-z0-9\-]{10,250}",
        r"|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,247}",
        r"|sk-[A-Za-z0-9_\-]{20,}",
        r"|AIza[A-Za-z0-9_\-]{35}",
        r"|npm_[A-Za-z0-9]{36}",
        r"|eyJ[A-Za-z0-9_\-]{2,}\.eyJ[A-Za-z0-9_\-]{2,}\.[A-Za-z0-9_\-]*",
        r"|hooks\.slack\.com/services/[A-Za-z0-9/]{16,}",
    ))
    .expect("token pattern")
}

pub(crate) fn pem_regex() -> Regex {
    Regex::new(concat!(
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----",
        r"(?:\s+(?:[A-Za-z0-9+/=]{16,}|(?:Proc-Type|DEK-Info|Version|Comment):[^\r\n]*))*",
        r"(?:(?:\s+[A-Za-z0-9+/=]{1,15})?\s*-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----)?",
    ))
    .expect("PEM pattern")
}

/// Names of secret things, matched against an ASCII-lowercased copy of the text (a
/// case-insensitive pattern would defeat the regex crate's literal search).
pub(crate) fn assignment_regex() -> Regex {
    Regex::new(concat!(
        r"password|passwd|passphrase|secret[_\-]?key|secret|token|credentials|credential",
        r"|api[_\-]?key|access[_\-]?key|private[_\-]?key|auth[_\-]?key",
    ))
    .expect("assignment pattern")
}

pub(crate) fn bearer_regex() -> Regex {
    Regex::new(r"(?i)(?:bearer|basic) +([A-Za-z0-9._~+/\-]{16,}=*)").expect("bearer pattern")
}

/// Bytes that end an unquoted value: whitespace and `"'`,;&)]}`.
static VALUE_END: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_whitespace()
            || matches!(
                c,
                b'"' | b'\'' | b'`' | b',' | b';' | b'&' | b')' | b']' | b'}'
            );
        b += 1;
    }
    table
};

/// Token characters: `[A-Za-z0-9+/_-]`.
static TOKEN_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'_' | b'-');
        b += 1;
    }
    table
};

fn is_token_byte(b: u8) -> bool {
    TOKEN_BYTE[usize::from(b)]
}

/// Runs of at least 20 token characters (`[A-Za-z0-9+/_-]`) and up to two `=` of padding, as
/// byte ranges; a hand-written scan, several times faster than a regex without a literal.
pub(crate) fn token_runs(text: &str) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let bytes = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            let start = i;
            while i < bytes.len() && is_token_byte(bytes[i]) {
                i += 1;
            }
            if i - start >= 20 {
                let pad = bytes[i..]
                    .iter()
                    .take(2)
                    .take_while(|&&b| b == b'=')
                    .count();
                i += pad;
                return Some(start..i);
            }
            if i == start {
                i += 1;
            }
        }
        None
    })
}

fn secret(range: std::ops::Range<usize>, rank: Rank) -> Candidate {
    Candidate {
        kind: Kind::Secret,
        range,
        rank,
    }
}

pub(crate) fn find_known(re: &Regex, text: &str, out: &mut Vec<Candidate>) {
    for m in re.find_iter(text) {
        let s = m.as_str();
        let mut start = m.start();
        if char_before(text, start).is_some_and(|c| c.is_alphanumeric())
            || char_at(text, m.end()).is_some_and(|c| c.is_alphanumeric())
        {
            continue;
        }
        if let Some(rest) = s.strip_prefix("sk-") {
            // Only keys, not kebab-case words that happen to start with sk-.
            if !rest.bytes().any(|b| b.is_ascii_digit())
                || !rest.bytes().any(|b| b.is_ascii_uppercase())
            {
                continue;
            }
        }
        if s.starts_with("hooks.") {
            start += "hooks.slack.com/services/".len();
        }
        out.push(secret(start..m.end(), Rank::KnownSecret));
    }
}

pub(crate) fn find_pem(re: &Regex, text: &str, out: &mut Vec<Candidate>) {
    for m in re.find_iter(text) {
        out.push(secret(m.range(), Rank::PrivateKey));
    }
}

pub(crate) fn find_bearer(re: &Regex, text: &str, out: &mut Vec<Candidate>) {
    for caps in re.captures_iter(text) {
        let (Some(all), Some(value)) = (caps.get(0), caps.get(1)) else {
            continue;
        };
        let v = value.as_str();
        if char_before(text, all.start()).is_some_and(is_word)
            || char_at(text, value.end()).is_some_and(is_word)
            || !v.bytes().any(|b| b.is_ascii_digit())
            || !v.bytes().any(|b| b.is_ascii_alphabetic())
        {
            continue;
        }
        out.push(secret(value.range(), Rank::Assignment));
    }
}

/// How far before the secret word a setting's name may start (`AWS_SECRET_ACCESS_KEY`).
const MAX_NAME_PREFIX: usize = 64;

pub(crate) fn find_assignments(re: &Regex, text: &str, out: &mut Vec<Candidate>) {
    let bytes = text.as_bytes();
    // ASCII lowercasing keeps every byte offset (and UTF-8 validity).
    let lower = text.to_ascii_lowercase();
    // A name inside a value already taken (`token=token=...`) is part of that value.
    let mut taken_until = 0;
    for m in re.find_iter(&lower) {
        if m.start() < taken_until {
            continue;
        }
        let key_end = m.end();
        if bytes
            .get(key_end)
            .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_')
        {
            continue; // `tokens`, `password_hint`: the name goes on
        }
        // The whole name: `DB_PASSWORD`, `aws.secret`, `--password`.
        let from = m.start().saturating_sub(MAX_NAME_PREFIX);
        let is_name_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-');
        let key_start = match bytes[from..m.start()]
            .iter()
            .rposition(|&b| !is_name_byte(b))
        {
            Some(p) => from + p + 1,
            None if from == 0 => 0,
            None => continue, // a name this long is not a setting
        };
        if let Some(range) = assigned_value(text, &text[key_start..key_end], key_end) {
            taken_until = range.end;
            out.push(secret(range, Rank::Assignment));
        }
    }
}

/// After a secret-sounding name, the value given to it: `= v`, `: v`, `=> v`, `:= v`, `is v`,
/// a quoted value after a space (SQL), or `--password v`.
fn assigned_value(text: &str, key: &str, key_end: usize) -> Option<std::ops::Range<usize>> {
    let bytes = text.as_bytes();
    let mut i = key_end;
    if matches!(bytes.get(i), Some(b'"' | b'\'')) {
        i += 1; // the closing quote of a quoted name
    }
    let before_space = i;
    while matches!(bytes.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    let spaced = i > before_space;
    let rest = &bytes[i..];
    let mut quoted_only = false;
    if rest.starts_with(b"=>") || rest.starts_with(b":=") {
        i += 2;
    } else if rest.starts_with(b"==") || rest.starts_with(b"::") {
        return None;
    } else if matches!(rest.first(), Some(b':' | b'=')) {
        i += 1;
    } else if spaced && rest.len() > 3 && rest[..3].eq_ignore_ascii_case(b"is ") {
        i += 3;
    } else if spaced && key.starts_with("--") {
        // `--password value`
    } else if spaced && matches!(rest.first(), Some(b'"' | b'\'')) {
        quoted_only = true;
    } else {
        return None;
    }
    while matches!(bytes.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    match bytes.get(i) {
        Some(&q @ (b'"' | b'\'' | b'`')) => {
            let start = i + 1;
            let len = bytes[start..]
                .iter()
                .take(257)
                .position(|&b| b == q || b == b'\n')?;
            let end = start + len;
            (bytes[end] == q && quoted_value_is_secret(&text[start..end])).then_some(start..end)
        }
        Some(_) if !quoted_only => {
            let start = i;
            let len = bytes[start..]
                .iter()
                .take(257)
                .position(|&b| VALUE_END[usize::from(b)])
                .unwrap_or((bytes.len() - start).min(257));
            let mut value = &text[start..start + len];
            value = value.trim_end_matches(['.', ':']);
            (value.len() <= 256 && bare_value_is_secret(value)).then(|| start..start + value.len())
        }
        _ => None,
    }
}

fn quoted_value_is_secret(v: &str) -> bool {
    let t = v.trim();
    if t.is_empty()
        || t.chars()
            .all(|c| matches!(c, '*' | 'x' | 'X' | '•' | '.' | '-'))
    {
        return false; // empty or masked
    }
    if ["{{", "${", "$(", "%(", "%s", "{}", "<%"]
        .iter()
        .any(|m| t.contains(m))
    {
        return false; // a template or a shell substitution
    }
    if t.strip_prefix('$')
        .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_uppercase() || c == '_'))
    {
        return false; // "$API_TOKEN"
    }
    if t.starts_with('<') && t.ends_with('>') {
        return false; // a placeholder such as <your-token>
    }
    !t.ends_with([':', '?']) // a prompt
}

/// An unquoted value is taken for a secret only when it looks like a literal with a digit or a
/// symbol in it: not a variable, a call, a type, a path of names, or a keyword.
fn bare_value_is_secret(v: &str) -> bool {
    if v.is_empty() || v.starts_with(['$', '%', '{', '<', '(', '[', '&', '*', '@', '#', '!']) {
        return false;
    }
    if v.contains(['(', ')', '[', ']', '{', '}', '<', '>']) {
        return false;
    }
    let has_digit = v.bytes().any(|b| b.is_ascii_digit());
    let has_symbol = v
        .bytes()
        .any(|b| !b.is_ascii_alphanumeric() && b != b'_' && b != b'.');
    if !has_digit && !has_symbol {
        return false;
    }
    if v.bytes().all(|b| b.is_ascii_digit()) && v.len() < 4 {
        return false;
    }
    // self.token, os.environ, Foo::BAR: a path of names.
    let is_name = |p: &str| {
        p.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let parts: Vec<&str> = v.split("::").flat_map(|p| p.split('.')).collect();
    if parts.len() > 1 && parts.iter().all(|p| is_name(p)) {
        return false;
    }
    true
}

pub(crate) fn find_high_entropy(text: &str, out: &mut Vec<Candidate>) {
    for range in token_runs(text) {
        let run = &text[range.clone()];
        // A leading `-` marks a command-line flag, not part of a value.
        let start = range.start + (run.len() - run.trim_start_matches('-').len());
        let core = text[start..range.end].trim_end_matches('=');
        if core.len() < 20 || !looks_random(core) {
            continue;
        }
        if char_before(text, range.start).is_some_and(|c| is_word(c) || c == '.')
            || char_at(text, range.end).is_some_and(is_word)
            || in_url(text, start)
            || after_digest_label(text, start)
        {
            continue;
        }
        out.push(secret(start..range.end, Rank::HighEntropy));
    }
}

/// Whether the word holding `at` is a URL (its text before `at` has `://`).
fn in_url(text: &str, at: usize) -> bool {
    let bytes = text.as_bytes();
    let from = at.saturating_sub(512);
    let word_start = bytes[from..at]
        .iter()
        .rposition(|b| b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'(' | b'<'))
        .map_or(from, |p| from + p + 1);
    bytes[word_start..at].windows(3).any(|w| w == b"://")
}

/// Integrity digests such as `sha512-...` in lock files are checksums, not secrets.
fn after_digest_label(text: &str, at: usize) -> bool {
    let bytes = text.as_bytes();
    let from = at.saturating_sub(7);
    let before = &bytes[from..at];
    [
        &b"sha1-"[..],
        b"sha256-",
        b"sha384-",
        b"sha512-",
        b"sha1:",
        b"sha256:",
        b"sha512:",
    ]
    .iter()
    .any(|label| before.ends_with(label))
}

/// Measurements of a candidate token, exposed for tuning.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Shape {
    /// Shannon entropy in bits per character.
    pub(crate) entropy: f64,
    /// Share of the characters in word-like pieces (3+ letters with a vowel).
    pub(crate) wordy: f64,
    pub(crate) upper: usize,
    pub(crate) lower: usize,
    pub(crate) digits: usize,
    /// Class changes inside separator-delimited segments, per letter or digit: random strings
    /// switch between capitals, lowercase and digits all the time, names only at word humps.
    pub(crate) switches: f64,
}

pub(crate) fn shape(s: &str) -> Shape {
    let bytes = s.as_bytes();
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[usize::from(b)] += 1;
    }
    let n = bytes.len() as f64;
    let alnum = bytes.iter().filter(|b| b.is_ascii_alphanumeric()).count();
    let segments = bytes
        .split(|b| !b.is_ascii_alphanumeric())
        .filter(|s| !s.is_empty())
        .count()
        .max(1);
    let entropy = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum();
    // Pieces: runs of lowercase letters (optionally led by one capital), runs of capitals,
    // runs of digits; anything else separates.
    let mut wordy_chars = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let b = bytes[i];
        if b.is_ascii_uppercase() {
            while i < bytes.len() && bytes[i].is_ascii_uppercase() {
                i += 1;
            }
            if i < bytes.len() && bytes[i].is_ascii_lowercase() {
                if i - start > 1 {
                    i -= 1; // HTTPServer: HTTP | Server
                    continue;
                }
                while i < bytes.len() && bytes[i].is_ascii_lowercase() {
                    i += 1;
                }
                count_word(&bytes[start..i], &mut wordy_chars);
            }
        } else if b.is_ascii_lowercase() {
            while i < bytes.len() && bytes[i].is_ascii_lowercase() {
                i += 1;
            }
            count_word(&bytes[start..i], &mut wordy_chars);
        } else {
            i += 1;
        }
    }
    Shape {
        entropy,
        wordy: wordy_chars as f64 / n,
        upper: bytes.iter().filter(|b| b.is_ascii_uppercase()).count(),
        lower: bytes.iter().filter(|b| b.is_ascii_lowercase()).count(),
        digits: bytes.iter().filter(|b| b.is_ascii_digit()).count(),
        switches: class_runs(bytes).saturating_sub(segments) as f64 / alnum.max(1) as f64,
    }
}

/// Number of runs of one class among letters and digits (separators split runs and are not
/// counted); a capital followed by lowercase letters is one run.
fn class_runs(bytes: &[u8]) -> usize {
    let class = |b: u8| match b {
        b'A'..=b'Z' => 1,
        b'a'..=b'z' => 2,
        b'0'..=b'9' => 3,
        _ => 0,
    };
    let mut runs = 0;
    let mut prev = 0;
    let mut before = 0;
    for &b in bytes {
        let cur = class(b);
        let capitalised = prev == 1 && cur == 2 && before != 1;
        if cur != 0 && cur != prev && !capitalised {
            runs += 1;
        }
        before = prev;
        prev = cur;
    }
    runs.max(1)
}

fn count_word(piece: &[u8], wordy: &mut usize) {
    if piece.len() >= 3 && piece.iter().any(|b| b"aeiouyAEIOUY".contains(b)) {
        *wordy += piece.len();
    }
}

/// The high-entropy rule. Thresholds come from `tune_high_entropy` (below): random base62 and
/// base64 strings of 24 characters pass about 98% of the time (99.9% from 40 characters), random
/// lowercase-and-digit strings about 80%, and no name, path or prose word of the corpus does.
pub(crate) fn looks_random(s: &str) -> bool {
    // Hex digests (git SHAs, checksums) and UUIDs are identifiers, not secrets.
    if s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-')
        || s.bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b) || b == b'-')
    {
        return false;
    }
    let sh = shape(s);
    let classes =
        usize::from(sh.upper > 0) + usize::from(sh.lower > 0) + usize::from(sh.digits > 0);
    classes >= 2
        && sh.entropy >= ENTROPY_MIN
        && (sh.switches >= SWITCHES_MIN
            || (sh.switches >= SWITCHES_MIN_WORDLESS && sh.wordy <= WORDY_MAX))
}

/// Bits per character. Random 20-character base62 strings are above 3.65 in 99% of cases;
/// repetitive strings (`a1a1a1...`) are far below.
const ENTROPY_MIN: f64 = 3.5;
/// Class changes per character inside segments.
const SWITCHES_MIN: f64 = 0.30;
/// A lower bar for strings with few pronounceable pieces.
const SWITCHES_MIN_WORDLESS: f64 = 0.22;
const WORDY_MAX: f64 = 0.3;

#[cfg(test)]
mod measure {
    use super::*;

    /// SplitMix64: a small deterministic generator for test data.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn token(&mut self, alphabet: &[u8], len: usize) -> String {
            (0..len)
                .map(|_| char::from(alphabet[(self.next() % alphabet.len() as u64) as usize]))
                .collect()
        }
    }

    /// Prints how often random tokens pass the high-entropy rule, and the measurements of the
    /// corpus strings that come closest: the data behind ENTROPY_MIN, SWITCHES_MIN and WORDY_MAX.
    /// `cargo test -p glasshouse-scrub --lib tune_high_entropy -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn tune_high_entropy() {
        let b62 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let b64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let b36 = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut rng = Rng(7);
        for (name, alphabet) in [
            ("base62", &b62[..]),
            ("base64", &b64[..]),
            ("base36", &b36[..]),
        ] {
            for len in [20, 24, 32, 40, 64] {
                let n = 20_000;
                let mut pass = 0;
                let mut entropies = Vec::new();
                let mut switches = Vec::new();
                for _ in 0..n {
                    let t = rng.token(alphabet, len);
                    let sh = shape(&t);
                    entropies.push(sh.entropy);
                    switches.push(sh.switches);
                    pass += usize::from(looks_random(&t));
                }
                entropies.sort_by(f64::total_cmp);
                switches.sort_by(f64::total_cmp);
                println!(
                    "{name} len {len:2}: pass {:6.2}%  entropy p1 {:.2} p50 {:.2}  switches p1 {:.2} p50 {:.2}",
                    100.0 * pass as f64 / n as f64,
                    entropies[n / 100],
                    entropies[n / 2],
                    switches[n / 100],
                    switches[n / 2]
                );
            }
        }
        let names = "getUserProfileByIdentifier this_is_a_long_snake_case_name_2024 /usr/lib/x86_64-linux-gnu/libssl XMLHttpRequestEventTarget HTTP_PROXY_AUTHORIZATION_HEADER test_parse_rfc3339_timestamp_with_offset aarch64-unknown-linux-gnu x86_64-pc-windows-msvc MAX_UPLOAD_BATCH_SIZE_BYTES_V2 useEffectCleanup2Callback base64EncodeUrlSafeNoPad org/apache/commons/lang3/StringUtils Ipv6AddrParseError2Handler ENABLE_FEATURE_FLAG_X2Y3_FOR_BETA K8sClusterAutoscalerV2Beta1Config budget_2026_v3_final i686-unknown-linux-musl wasm32-unknown-unknown thumbv7em-none-eabihf UTF8StringToUTF16Converter AES256GCMEncryptionKeyV2 sha3_256_digest_v2_hex libx264-dev_2023q4_amd64 gpt4o_mini_2024_07_18_eval";
        for name in names.split(' ') {
            let sh = shape(name);
            println!(
                "  name: switches {:.2} wordy {:.2} entropy {:.2} flagged {} {name}",
                sh.switches,
                sh.wordy,
                sh.entropy,
                looks_random(name)
            );
        }
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");
        let mut near = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for range in token_runs(&text) {
                let sh = shape(&text[range.clone()]);
                near.push((-sh.switches, sh.entropy, text[range].to_owned()));
            }
        }
        near.sort_by(|a, b| a.0.total_cmp(&b.0));
        println!("corpus candidates: {}; most switches:", near.len());
        for (neg_switches, entropy, s) in near.iter().take(12) {
            println!("  switches {:.2} entropy {entropy:.2} {s}", -neg_switches);
        }
    }
}
