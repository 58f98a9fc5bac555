//! Finds personal data and secrets in typed text and window titles, and replaces each with a
//! typed placeholder, before an upload batch is previewed.
//!
//! ```
//! use glasshouse_scrub::{Kind, Scrubber};
//!
//! let scrubber = Scrubber::new(); // compile once, share by reference
//! let out = scrubber.scrub("mail jane@example.com or call +44 20 7946 0958");
//! assert_eq!(out.text, "mail [EMAIL] or call [PHONE]");
//! assert_eq!(out.findings[0].kind, Kind::Email);
//! assert_eq!(out.findings[0].range, 5..21); // byte range in the input
//! ```
//!
//! # What is detected
//!
//! | Kind | Placeholder | Rule |
//! |---|---|---|
//! | `email` | `[EMAIL]` | unquoted local part (`+tags`, dots, `%`, `-`), dotted domain, 2–24 letter TLD |
//! | `phone` | `[PHONE]` | `+` and a 1–3 digit country code, 9–15 digits in all (`+44 20 7946 0958`, `+1 (555) 123-4567`, `+14155552671`); `00` + country code; national numbers with a trunk `0` and 9–12 digits (`07700 900123`, `020 7946 0958`, `(030) 1234567`); North American `[1-]555-123-4567`, `(555) 123-4567`, `555.123.4567` |
//! | `card` | `[CARD]` | 13–19 digits, plain or in groups (4-4-4-4, 4-6-5, 4-6-4) split by one kind of space or dash, a known issuer prefix and length (Visa, Mastercard incl. 2221–2720, Amex, Discover, Diners, JCB, UnionPay, Maestro, Mir), and a valid Luhn digit |
//! | `iban` | `[IBAN]` | country code, check digits and BBAN, compact or in groups of four, either case; the length registered for that country (77 countries) and ISO 7064 mod 97 = 1 |
//! | `national_id` | `[NATIONAL_ID]` | US SSN `123-45-6789` (area not 000, 666 or 9xx; group not 00; serial not 0000), or nine digits (`123456789`, `123 45 6789`) within 40 bytes after "SSN", "SS#" or "social security"; UK National Insurance numbers `AB123456C` / `AB 12 34 56 C` with the allocated prefix letters |
//! | `ip_address` | `[IP]` | IPv4 with four decimal octets 0–255 (no leading zeros); IPv6 in full, `::`-compressed and IPv4-mapped forms (validated by `std::net::Ipv6Addr`) |
//! | `url_credentials` | `[CREDENTIALS]` | the `user:password` of `scheme://user:password@host`, so the result reads `https://[CREDENTIALS]@host/...` |
//! | `secret` | `[SECRET]` | AWS access key ids (`AKIA`/`ASIA`…), GitHub (`ghp_`, `gho_`, `ghs_`, `ghu_`, `ghr_`, `github_pat_`), GitLab `glpat-`, Slack `xox[abposr]-` and webhook paths, Stripe `sk_`/`rk_` `live`/`test`, OpenAI-style `sk-` (with a digit and a capital), Google `AIza` + 35, npm `npm_`, JWTs (`eyJ….eyJ….sig`), PEM/PGP private key blocks (to the END line, or to the end of the key body if cut off), `Bearer`/`Basic` credentials; the *value* given to a secret-sounding name (`password`, `passwd`, `passphrase`, `secret`, `token`, `credential(s)`, `api_key`, `access_key`, `secret_key`, `private_key`, `auth_key`, with any prefix such as `DB_`) by `=`, `:`, `=>`, `:=`, "is", `--password value` or SQL's `PASSWORD '...'`; and other high-entropy strings (below) |
//!
//! Where detections overlap, the more specific one wins: private keys, then URL credentials,
//! then prefixed tokens, then validated numbers and emails, then SSN/NI/IP, then phones, then
//! assigned values, then high-entropy strings; between equals, the longer one.
//!
//! # High-entropy strings
//!
//! A run of at least 20 characters of `[A-Za-z0-9+/_-]` (plus `=` padding) is a secret when it
//! mixes at least two of capitals, lowercase and digits, has a Shannon entropy of at least
//! 3.5 bits per character, and switches character class inside its segments often: at least
//! 0.30 switches per character, or 0.22 when almost none of it is pronounceable word pieces.
//! Names switch class only at word humps (`getUserProfile`, `MAX_BATCH_SIZE_V2`,
//! `x86_64-pc-windows-msvc`: 0.00–0.15), random keys nearly every other character (about 0.5).
//! Measured (`tune_high_entropy` in `src/secrets.rs`): random base62/base64 strings pass 98–99%
//! at 20–24 characters and 99.8–100% from 40; random lowercase-and-digit strings 77–90%; none of
//! the names, paths and words in `tests/corpus/` pass.
//!
//! # Deliberately not flagged
//!
//! - **UUIDs and hex strings in one case** (git SHAs, checksums, digests, `sha512-…`
//!   integrity values): they identify things, not people, and are everywhere in developer text.
//!   Hex-encoded secrets are therefore only caught by name (`token = "…"`) or prefix.
//! - **URLs without credentials**, including long ids in their paths; only `user:password@`,
//!   `token=…`-style query values and Slack webhook paths are replaced.
//! - **Loopback, "this network" and mask addresses** (`127.x`, `0.x`, `255.x`, `::`, `::1`),
//!   IPv4 shapes with five or more parts, and four-part versions after `v`, "version", "ver",
//!   "build" or "release". Other four-part versions (`Chrome/120.0.0.0`) are reported.
//! - **Numbers that only could be phones**: dates (`2026-11-30`, `12.05.2026`), times, versions,
//!   amounts, years and bare digit strings (except E.164 `+…` and `0`-prefixed 10–11 digit ones)
//!   are not phones; neither are numbers glued to letters (`ID123456789`, `x555-123-4567`).
//! - **Unquoted values without a digit or symbol** (`token: Token`, `password = getpass()`,
//!   `secret: Option<String>`, `token=$TOKEN`, `self.token`): they are code, not secrets; so an
//!   all-letter password typed as `password: hunter` is missed. Quoted values are reported unless
//!   empty, masked (`***`), templated (`${…}`, `{{…}}`, `%s`) or a placeholder (`<token>`).
//! - **`git@host:repo` remotes**; other `user@host.tld` shapes are reported as emails.
//! - **Lowercase UK NI numbers**, and SSNs written without dashes and without a nearby label.
//!
//! Input needs no word boundaries at its ends: the start and end of the text count as
//! boundaries, so a run of typed text cut mid-sentence is fine, but digits glued to letters on
//! the left are not taken for numbers of their own.
//!
//! # Performance and robustness
//!
//! Patterns compile once in [`Scrubber::new`]; the regex crate matches in linear time. Digit
//! groups, IBAN/NI starts and high-entropy runs are found by hand-written byte scans, and the
//! remaining patterns have literal prefixes: scrubbing runs at 60–130 MB/s on prose and code
//! on a busy 2-core machine (`cargo test --release -p glasshouse-scrub -- --ignored
//! --nocapture`; the target is 20 MB/s). Ranges are always
//! on `char` boundaries, sorted and non-overlapping, and no input panics (see the randomized
//! tests in this file).

mod ids;
mod network;
mod numbers;
mod secrets;
mod text;

use regex::Regex;
use std::collections::BTreeMap;
use std::ops::Range;

/// What was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// An email address.
    Email,
    /// A phone number.
    Phone,
    /// A payment card number.
    Card,
    /// An international bank account number.
    Iban,
    /// A national identifier (US SSN, UK NI number).
    NationalId,
    /// An IPv4 or IPv6 address.
    IpAddress,
    /// The `user:password` part of a URL.
    UrlCredentials,
    /// An API key, token, private key, password value or other high-entropy secret.
    Secret,
}

impl Kind {
    /// Every kind, in declaration order.
    pub const ALL: [Kind; 8] = [
        Kind::Email,
        Kind::Phone,
        Kind::Card,
        Kind::Iban,
        Kind::NationalId,
        Kind::IpAddress,
        Kind::UrlCredentials,
        Kind::Secret,
    ];

    /// Stable snake_case name used in batch documents and UIs.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::Card => "card",
            Kind::Iban => "iban",
            Kind::NationalId => "national_id",
            Kind::IpAddress => "ip_address",
            Kind::UrlCredentials => "url_credentials",
            Kind::Secret => "secret",
        }
    }

    /// The typed placeholder that replaces a finding of this kind.
    pub fn placeholder(self) -> &'static str {
        match self {
            Kind::Email => "[EMAIL]",
            Kind::Phone => "[PHONE]",
            Kind::Card => "[CARD]",
            Kind::Iban => "[IBAN]",
            Kind::NationalId => "[NATIONAL_ID]",
            Kind::IpAddress => "[IP]",
            Kind::UrlCredentials => "[CREDENTIALS]",
            Kind::Secret => "[SECRET]",
        }
    }

    /// A sentence-friendly label for people.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Email => "email address",
            Kind::Phone => "phone number",
            Kind::Card => "card number",
            Kind::Iban => "bank account number (IBAN)",
            Kind::NationalId => "national ID number",
            Kind::IpAddress => "IP address",
            Kind::UrlCredentials => "password in a link",
            Kind::Secret => "secret or access key",
        }
    }
}

/// One thing found in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What it is.
    pub kind: Kind,
    /// Byte range in the input that is replaced.
    pub range: Range<usize>,
}

/// The input with every finding replaced by its placeholder.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scrubbed {
    /// The scrubbed text.
    pub text: String,
    /// What was replaced, as byte ranges of the *input*, sorted and non-overlapping.
    pub findings: Vec<Finding>,
}

/// The compiled detectors. Build once, share by reference (it is `Send + Sync`).
#[derive(Debug)]
pub struct Scrubber {
    email: Regex,
    url_credentials: Regex,
    ipv4: Regex,
    ipv6: Regex,
    iban: Regex,
    ni: Regex,
    known: Regex,
    pem: Regex,
    assignment: Regex,
    bearer: Regex,
}

impl Default for Scrubber {
    fn default() -> Self {
        Scrubber::new()
    }
}

impl Scrubber {
    /// Compiles every pattern.
    pub fn new() -> Scrubber {
        Scrubber {
            email: network::email_regex(),
            url_credentials: network::url_credentials_regex(),
            ipv4: network::ipv4_regex(),
            ipv6: network::ipv6_regex(),
            iban: ids::iban_regex(),
            ni: ids::ni_regex(),
            known: secrets::known_regex(),
            pem: secrets::pem_regex(),
            assignment: secrets::assignment_regex(),
            bearer: secrets::bearer_regex(),
        }
    }

    /// Finds everything to scrub: sorted by start, non-overlapping. Where detections overlap,
    /// the more specific kind wins (a private key over anything inside it, a checksummed number
    /// over a phone-shaped reading of it, anything over a bare high-entropy string), then the
    /// longer one.
    pub fn find(&self, text: &str) -> Vec<Finding> {
        let mut candidates = Vec::new();
        self.candidates(text, &mut candidates);
        resolve(candidates)
    }

    /// Returns `text` with each finding replaced by its kind's placeholder.
    pub fn scrub(&self, text: &str) -> Scrubbed {
        let findings = self.find(text);
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for f in &findings {
            out.push_str(&text[last..f.range.start]);
            out.push_str(f.kind.placeholder());
            last = f.range.end;
        }
        out.push_str(&text[last..]);
        Scrubbed {
            text: out,
            findings,
        }
    }

    fn candidates(&self, text: &str, out: &mut Vec<Candidate>) {
        let bytes = text.as_bytes();
        let has = |b: u8| bytes.contains(&b);
        let has_digit = bytes.iter().any(u8::is_ascii_digit);
        if has(b'-') {
            secrets::find_pem(&self.pem, text, out);
        }
        if has(b'@') {
            network::find_emails(&self.email, text, out);
            network::find_url_credentials(&self.url_credentials, text, out);
        }
        if has_digit {
            numbers::find(text, out);
            network::find_ipv4(&self.ipv4, text, out);
            let starts = ids::letter_pair_starts(text);
            if !starts.is_empty() {
                ids::find_ibans(&self.iban, text, &starts, out);
                ids::find_ni(&self.ni, text, &starts, out);
            }
            if has(b':') {
                network::find_ipv6(&self.ipv6, text, out);
            }
        }
        secrets::find_known(&self.known, text, out);
        secrets::find_assignments(&self.assignment, text, out);
        secrets::find_bearer(&self.bearer, text, out);
        secrets::find_high_entropy(text, out);
    }
}

/// How strongly a detection claims its text; lower wins an overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Rank {
    PrivateKey,
    UrlCredentials,
    KnownSecret,
    Validated,
    Structured,
    Phone,
    Assignment,
    HighEntropy,
}

impl Rank {
    pub(crate) fn of(kind: Kind) -> Rank {
        match kind {
            Kind::UrlCredentials => Rank::UrlCredentials,
            Kind::Email | Kind::Card | Kind::Iban => Rank::Validated,
            Kind::NationalId | Kind::IpAddress => Rank::Structured,
            Kind::Phone => Rank::Phone,
            Kind::Secret => Rank::KnownSecret,
        }
    }
}

/// A detection before overlaps are resolved.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub(crate) kind: Kind,
    pub(crate) range: Range<usize>,
    pub(crate) rank: Rank,
}

/// Keeps the strongest, then longest, candidates that do not overlap one already kept.
fn resolve(mut candidates: Vec<Candidate>) -> Vec<Finding> {
    candidates.retain(|c| c.range.start < c.range.end);
    candidates.sort_by_key(|c| (c.rank, std::cmp::Reverse(c.range.len()), c.range.start));
    // Kept findings by start (a map, so that many findings stay O(n log n)).
    let mut kept: BTreeMap<usize, (usize, Kind)> = BTreeMap::new();
    for c in candidates {
        let clashes_before = kept
            .range(..=c.range.start)
            .next_back()
            .is_some_and(|(_, &(end, _))| end > c.range.start);
        let clashes_after = kept.range(c.range.start..c.range.end).next().is_some();
        if !clashes_before && !clashes_after {
            kept.insert(c.range.start, (c.range.end, c.kind));
        }
    }
    kept.into_iter()
        .map(|(start, (end, kind))| Finding {
            kind,
            range: start..end,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64, for reproducible random inputs.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Pieces that exercise every detector's edges, mixed with multibyte text.
    const FRAGMENTS: &[&str] = &[
        "0",
        "1",
        "9",
        "00",
        "123",
        "4111",
        "5555",
        "0958",
        "2026-11-30",
        "555-123-4567",
        " ",
        "  ",
        "-",
        ".",
        ":",
        "::",
        "/",
        "+",
        "(",
        ")",
        "@",
        "=",
        "\"",
        "'",
        "`",
        ",",
        ";",
        "_",
        "\n",
        "\t",
        "é",
        "ü",
        "日本語",
        "👋",
        "\u{301}",
        "\u{200b}",
        "\u{0}",
        "ß",
        "Ω",
        "a",
        "Z",
        "x",
        "ff",
        "password=",
        "token: ",
        "api_key\": \"",
        "my password is ",
        "--password ",
        "Bearer ",
        "https://",
        "postgres://",
        "a:b@",
        "user:",
        "@example.com",
        "john.doe",
        ".co.uk",
        "eyJ",
        "eyJhbGciOiJIUzI1NiJ9.",
        "ghp_",
        "github_pat_",
        "xoxb-",
        "sk-",
        "sk_live_",
        "AKIA",
        "AIza",
        "glpat-",
        "-----BEGIN RSA PRIVATE KEY-----",
        "-----END RSA PRIVATE KEY-----",
        "MIIEowIBAAKCAQEA",
        "DE89",
        "3704 0044 0532 0130 00",
        "GB82WEST",
        "AB123456C",
        "SSN ",
        "social security ",
        "+44 ",
        "+1 (",
        "07700 ",
        "192.168.",
        "255.",
        "2001:db8::",
        "fe80::1",
        "::ffff:",
        "v1.2.3.4",
        "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MEFCQ0RFRg",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "==",
    ];

    fn random_text(rng: &mut Rng) -> String {
        let mut s = String::new();
        for _ in 0..rng.below(24) + 1 {
            match rng.below(10) {
                0 => {
                    // Any scalar value, including controls and astral planes.
                    let c = char::from_u32(rng.next() as u32 % 0x11_0000).unwrap_or('\u{fffd}');
                    s.push(c);
                }
                1 => {
                    for _ in 0..rng.below(40) {
                        s.push(char::from(b'0' + rng.below(10) as u8));
                        if rng.below(4) == 0 {
                            s.push([' ', '-', '.', '(', ')'][rng.below(5)]);
                        }
                    }
                }
                _ => s.push_str(FRAGMENTS[rng.below(FRAGMENTS.len())]),
            }
        }
        s
    }

    fn check_invariants(scrubber: &Scrubber, text: &str) {
        let scrubbed = scrubber.scrub(text);
        let mut previous_end = 0;
        let mut rebuilt = String::new();
        for f in &scrubbed.findings {
            let r = &f.range;
            assert!(
                r.start < r.end && r.end <= text.len(),
                "bad range {r:?} in {text:?}"
            );
            assert!(
                r.start >= previous_end,
                "unsorted or overlapping findings in {text:?}"
            );
            assert!(
                text.is_char_boundary(r.start) && text.is_char_boundary(r.end),
                "range {r:?} splits a character in {text:?}"
            );
            rebuilt.push_str(&text[previous_end..r.start]);
            rebuilt.push_str(f.kind.placeholder());
            previous_end = r.end;
        }
        rebuilt.push_str(&text[previous_end..]);
        assert_eq!(rebuilt, scrubbed.text);
        assert_eq!(scrubber.find(text), scrubbed.findings);
    }

    #[test]
    fn random_and_edge_inputs_keep_the_invariants() {
        let scrubber = Scrubber::new();
        let mut rng = Rng(2026);
        for _ in 0..20_000 {
            check_invariants(&scrubber, &random_text(&mut rng));
        }
        for edge in [
            "",
            " ",
            "@",
            "::",
            ":",
            "+",
            "(",
            "-----BEGIN PRIVATE KEY-----",
            "é",
            "\u{0}",
        ] {
            check_invariants(&scrubber, edge);
        }
    }

    /// Every prefix and suffix (cut at character boundaries) of a text dense with findings.
    #[test]
    fn truncated_findings_keep_the_invariants() {
        let scrubber = Scrubber::new();
        let dense = "Grüße 👋 john.doe+x@mail.example.co.uk, +44 20 7946 0958, 4111 1111 1111 1111, \
            DE89 3704 0044 0532 0130 00, 123-45-6789, AB 12 34 56 C, 192.168.1.10, fe80::1ff:fe23:4567:890a, \
            https://alice:s3cr3t@example.com/x, password=\"hunter2\" ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 \
            eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln 日本 wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY é";
        assert!(scrubber.find(dense).len() >= 12);
        for (i, _) in dense.char_indices() {
            check_invariants(&scrubber, &dense[..i]);
            check_invariants(&scrubber, &dense[i..]);
        }
    }

    /// Long repetitive inputs stay linear (a quadratic path would take minutes here).
    #[test]
    fn repetitive_inputs_finish_quickly() {
        let scrubber = Scrubber::new();
        let units = [
            "1 ",
            "1-",
            "1.",
            "0",
            "a@",
            "a@b.",
            "::",
            ":",
            "=",
            "-",
            "token",
            "token=",
            "x",
            "AB12 ",
            "eyJ",
            "a:b@",
            "https://a:",
            "-----BEGIN PRIVATE KEY-----\n",
            "Zm9v",
            "é1",
            "+(",
        ];
        let started = std::time::Instant::now();
        for unit in units {
            let text = unit.repeat(200_000 / unit.len());
            let t = std::time::Instant::now();
            check_invariants(&scrubber, &text);
            if std::env::var_os("SCRUB_TIMING").is_some() {
                println!("{unit:?}: {:?}", t.elapsed());
            }
        }
        let limit = if cfg!(debug_assertions) { 60.0 } else { 5.0 };
        assert!(
            started.elapsed().as_secs_f64() < limit,
            "took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn names_and_placeholders_are_stable() {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(
            names,
            [
                "email",
                "phone",
                "card",
                "iban",
                "national_id",
                "ip_address",
                "url_credentials",
                "secret"
            ]
        );
        let placeholders: Vec<&str> = Kind::ALL.iter().map(|k| k.placeholder()).collect();
        assert_eq!(
            placeholders,
            [
                "[EMAIL]",
                "[PHONE]",
                "[CARD]",
                "[IBAN]",
                "[NATIONAL_ID]",
                "[IP]",
                "[CREDENTIALS]",
                "[SECRET]"
            ]
        );
    }

    #[test]
    fn scrubber_is_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Scrubber>();
    }

    #[test]
    fn overlaps_go_to_the_stronger_then_longer_finding() {
        let scrubber = Scrubber::new();
        // The password part of the URL also reads as an email address.
        let s = scrubber.scrub("https://bob:pw@example.com/");
        assert_eq!(s.text, "https://[CREDENTIALS]@example.com/");
        // A key assigned to a secret-sounding name is reported once.
        let s = scrubber.scrub("token=ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789");
        assert_eq!(s.text, "token=[SECRET]");
        assert_eq!(s.findings.len(), 1);
    }
}
