//! Email addresses, IP addresses and credentials inside URLs.

use crate::text::{char_at, char_before, is_word, word_bounded};
use crate::{Candidate, Kind, Rank};
use regex::Regex;
use std::net::Ipv6Addr;

pub(crate) fn email_regex() -> Regex {
    // Unquoted local part; dot-separated domain labels; a top-level domain of letters.
    Regex::new(
        r"[A-Za-z0-9._%+\-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}",
    )
    .expect("email pattern")
}

pub(crate) fn url_credentials_regex() -> Regex {
    // scheme://user:password@host: the user-info is everything up to the authority's last `@`.
    Regex::new(r"[A-Za-z][A-Za-z0-9+.\-]{0,20}://([^\s/?#@:]*:[^\s/?#]*)@[^\s/?#@:]")
        .expect("URL credentials pattern")
}

pub(crate) fn ipv4_regex() -> Regex {
    Regex::new(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}").expect("IPv4 pattern")
}

pub(crate) fn ipv6_regex() -> Regex {
    Regex::new(
        r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})?",
    )
    .expect("IPv6 pattern")
}

pub(crate) fn find_emails(re: &Regex, text: &str, out: &mut Vec<Candidate>) {
    for m in re.find_iter(text) {
        // A local part does not start or end with a dot.
        let local_start = m.start() + m.as_str().bytes().take_while(|&b| b == b'.').count();
        let at = m.start() + m.as_str().find('@').unwrap_or(0);
        if local_start >= at || text.as_bytes()[at - 1] == b'.' {
            continue;
        }
        if char_at(text, m.end()).is_some_and(|c| is_word(c) || c == '-') {
            continue; // the domain goes on in a way the pattern does not accept
        }
        if text[local_start..at].eq_ignore_ascii_case("git") {
            continue; // git@github.com:org/repo.git names a service account, not a person
        }
        out.push(Candidate {
            kind: Kind::Email,
            range: local_start..m.end(),
            rank: Rank::of(Kind::Email),
        });
    }
}

pub(crate) fn find_url_credentials(re: &Regex, text: &str, out: &mut Vec<Candidate>) {
    for caps in re.captures_iter(text) {
        let Some(userinfo) = caps.get(1) else {
            continue;
        };
        // `:` alone (no user, no password) is not a credential.
        if userinfo.as_str().len() < 2 {
            continue;
        }
        out.push(Candidate {
            kind: Kind::UrlCredentials,
            range: userinfo.range(),
            rank: Rank::of(Kind::UrlCredentials),
        });
    }
}

pub(crate) fn find_ipv4(re: &Regex, text: &str, out: &mut Vec<Candidate>) {
    for m in re.find_iter(text) {
        let (start, end) = (m.start(), m.end());
        if char_before(text, start).is_some_and(|c| is_word(c) || c == '.')
            || char_at(text, end).is_some_and(is_word)
        {
            continue;
        }
        // 1.2.3.4.5 is not an address.
        let bytes = text.as_bytes();
        if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
            continue;
        }
        let mut octets = [0u32; 4];
        let mut valid = true;
        for (slot, part) in octets.iter_mut().zip(m.as_str().split('.')) {
            valid &= !(part.len() > 1 && part.starts_with('0'));
            *slot = part.parse().unwrap_or(999);
            valid &= *slot <= 255;
        }
        if !valid || is_unremarkable_ipv4(octets) || after_version_word(text, start) {
            continue;
        }
        out.push(Candidate {
            kind: Kind::IpAddress,
            range: start..end,
            rank: Rank::of(Kind::IpAddress),
        });
    }
}

/// Addresses that say nothing about anyone: "this host" (0.x), loopback (127.x), and masks
/// and broadcast (first octet 255).
fn is_unremarkable_ipv4(octets: [u32; 4]) -> bool {
    matches!(octets[0], 0 | 127 | 255)
}

/// `version 1.2.3.4`, `ver 1.2.3.4`, `v 1.2.3.4` (and `v1.2.3.4`, which has no boundary).
fn after_version_word(text: &str, start: usize) -> bool {
    let before = text[..start].trim_end_matches([' ', '\t']);
    if before.len() == start {
        return false;
    }
    let word_start = before
        .char_indices()
        .rev()
        .find(|&(_, c)| !c.is_ascii_alphabetic())
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = &before[word_start..];
    ["version", "ver", "v", "build", "release"]
        .iter()
        .any(|w| w.eq_ignore_ascii_case(word))
}

pub(crate) fn find_ipv6(re: &Regex, text: &str, out: &mut Vec<Candidate>) {
    for m in re.find_iter(text) {
        let mut s = m.as_str();
        // A single trailing colon belongs to the sentence or a port, not the address.
        if s.ends_with(':') && !s.ends_with("::") {
            s = &s[..s.len() - 1];
        }
        let (start, end) = (m.start(), m.start() + s.len());
        let bytes = text.as_bytes();
        let dotted_on = bytes.get(end) == Some(&b'.')
            && bytes.get(end + 1).is_some_and(u8::is_ascii_alphanumeric);
        if char_before(text, start).is_some_and(|c| is_word(c) || c == ':' || c == '.')
            || char_at(text, end).is_some_and(is_word)
            || dotted_on
        {
            continue;
        }
        let Ok(addr) = s.parse::<Ipv6Addr>() else {
            continue;
        };
        if addr.is_unspecified() || addr.is_loopback() {
            continue;
        }
        // `a::b`-like fragments of code are syntactically addresses; ask for some substance.
        let nonempty = s.split([':', '.']).filter(|g| !g.is_empty()).count();
        let hex_digits = s.bytes().filter(u8::is_ascii_hexdigit).count();
        let has_decimal = s.bytes().any(|b| b.is_ascii_digit());
        if (nonempty < 3 && hex_digits < 5) || !has_decimal {
            continue;
        }
        if !word_bounded(text, start, end) {
            continue;
        }
        out.push(Candidate {
            kind: Kind::IpAddress,
            range: start..end,
            rank: Rank::of(Kind::IpAddress),
        });
    }
}
