//! Numbers written as groups of digits: payment cards, phone numbers and US social security
//! numbers. One hand-written scan finds "runs" (digit groups joined by single separators); each
//! detector then looks for the longest valid window of groups, so a phone number that follows a
//! year ("in 2019 555-123-4567") is still found and a card followed by more digits is not cut.

use crate::text::{char_at, char_before, is_word, mentioned_before};
use crate::{Candidate, Kind, Rank};
use std::ops::Range;

/// Separators allowed between two digit groups, longest first.
const SEPARATORS: [&str; 8] = [") ", ")-", " (", ")", "(", " ", "-", "."];

/// The most groups a phone number, card or SSN window spans.
const MAX_WINDOW: usize = 7;

#[derive(Debug)]
struct Run {
    /// Byte ranges of the digit groups.
    groups: Vec<Range<usize>>,
    /// Where a leading `+`, `+ `, `(` or `+(` begins (the first group's start when there is none).
    lead_start: usize,
    /// Word characters touch the run's start or end: windows there are not numbers of their own.
    glued_start: bool,
    glued_end: bool,
    /// `digits_before[k]`: how many digits the groups before group `k` hold.
    digits_before: Vec<usize>,
}

impl Run {
    fn digit_count(&self, a: usize, b: usize) -> usize {
        self.digits_before[b + 1] - self.digits_before[a]
    }

    fn sep<'t>(&self, text: &'t str, after_group: usize) -> &'t str {
        &text[self.groups[after_group].end..self.groups[after_group + 1].start]
    }

    fn lead<'t>(&self, text: &'t str) -> &'t str {
        &text[self.lead_start..self.groups[0].start]
    }

    fn digits(&self, text: &str, a: usize, b: usize) -> String {
        self.groups[a..=b]
            .iter()
            .map(|g| &text[g.clone()])
            .collect()
    }

    /// Whether a window `a..=b` may stand on its own: inside a run it must be cut at a space.
    fn window_edges_ok(&self, text: &str, a: usize, b: usize) -> bool {
        let start_ok = if a == 0 {
            !self.glued_start
        } else {
            self.sep(text, a - 1).starts_with(' ')
        };
        let end_ok = if b + 1 == self.groups.len() {
            !self.glued_end
        } else {
            self.sep(text, b).starts_with(' ')
        };
        start_ok && end_ok
    }
}

/// Calls `f` with each run of digit groups (one `Run` value is reused).
fn for_each_run(text: &str, mut f: impl FnMut(&Run)) {
    let bytes = text.as_bytes();
    let mut run = Run {
        groups: Vec::new(),
        lead_start: 0,
        glued_start: false,
        digits_before: Vec::new(),
        glued_end: false,
    };
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i..].iter().position(u8::is_ascii_digit) {
            Some(p) => i += p,
            None => break,
        }
        let mut lead_start = i;
        if i >= 1 && bytes[i - 1] == b'(' {
            lead_start = i - 1;
            if lead_start >= 1 && bytes[lead_start - 1] == b'+' {
                lead_start -= 1;
            }
        } else if i >= 1 && bytes[i - 1] == b'+' {
            lead_start = i - 1;
        } else if i >= 2 && bytes[i - 1] == b' ' && bytes[i - 2] == b'+' {
            lead_start = i - 2;
        }
        run.groups.clear();
        let mut digits = 0;
        loop {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            digits += i - start;
            run.groups.push(start..i);
            let next = SEPARATORS.iter().find(|sep| {
                bytes[i..].starts_with(sep.as_bytes())
                    && bytes.get(i + sep.len()).is_some_and(u8::is_ascii_digit)
            });
            match next {
                Some(sep) => i += sep.len(),
                None => break,
            }
        }
        // Every detector here needs at least nine digits.
        if digits < 9 {
            continue;
        }
        run.lead_start = lead_start;
        run.glued_start = char_before(text, lead_start).is_some_and(|c| is_word(c) || c == '.');
        run.glued_end = char_at(text, i).is_some_and(is_word);
        run.digits_before.clear();
        run.digits_before.push(0);
        let mut total = 0;
        for g in &run.groups {
            total += g.len();
            run.digits_before.push(total);
        }
        f(&run);
    }
}

/// Finds cards, phone numbers and SSNs.
pub(crate) fn find(text: &str, out: &mut Vec<Candidate>) {
    for_each_run(text, |run| {
        if run.glued_start {
            return; // digits inside a word or a code: not a number of its own
        }
        scan_windows(text, run, out, Kind::Card, card_window);
        scan_windows(text, run, out, Kind::NationalId, ssn_window);
        scan_windows(text, run, out, Kind::Phone, phone_window);
    });
}

type WindowCheck = fn(&str, &Run, usize, usize) -> Option<Range<usize>>;

/// For each start group, the longest valid window; found windows do not overlap.
/// Bounds on the digits each detector accepts, checked before anything else.
fn digit_bounds(kind: Kind) -> (usize, usize) {
    match kind {
        Kind::Card => (13, 19),
        Kind::NationalId => (9, 9),
        _ => (9, 17),
    }
}

fn scan_windows(text: &str, run: &Run, out: &mut Vec<Candidate>, kind: Kind, check: WindowCheck) {
    let n = run.groups.len();
    let (min_digits, max_digits) = digit_bounds(kind);
    let mut a = 0;
    while a < n {
        let last = (a + MAX_WINDOW).min(n) - 1;
        let found = (a..=last).rev().find_map(|b| {
            let digits = run.digit_count(a, b);
            if (min_digits..=max_digits).contains(&digits) && run.window_edges_ok(text, a, b) {
                check(text, run, a, b).map(|range| (b, range))
            } else {
                None
            }
        });
        match found {
            Some((b, range)) => {
                out.push(Candidate {
                    kind,
                    range,
                    rank: Rank::of(kind),
                });
                a = b + 1;
            }
            None => a += 1,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Payment cards

fn card_window(text: &str, run: &Run, a: usize, b: usize) -> Option<Range<usize>> {
    let digits = run.digits(text, a, b);
    if !(13..=19).contains(&digits.len()) {
        return None;
    }
    if b > a {
        let sep = run.sep(text, a);
        if sep != " " && sep != "-" {
            return None;
        }
        if (a..b).any(|k| run.sep(text, k) != sep) {
            return None;
        }
        let sizes: Vec<usize> = run.groups[a..=b].iter().map(|g| g.len()).collect();
        let fours = sizes.len() >= 3
            && sizes[..sizes.len() - 1].iter().all(|&s| s == 4)
            && (1..=4).contains(&sizes[sizes.len() - 1]);
        let amex_like = sizes == [4, 6, 5] || sizes == [4, 6, 4];
        if !fours && !amex_like {
            return None;
        }
    }
    (card_network(digits.as_bytes()) && luhn_valid(digits.as_bytes()))
        .then(|| run.groups[a].start..run.groups[b].end)
}

/// The Luhn (mod 10) check over ASCII digits.
pub(crate) fn luhn_valid(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// Whether the number starts with a known issuer prefix and has a length that issuer uses.
fn card_network(d: &[u8]) -> bool {
    let len = d.len();
    let prefix = |k: usize| -> u32 {
        d[..k]
            .iter()
            .fold(0, |acc, &c| acc * 10 + u32::from(c - b'0'))
    };
    let (p2, p3, p4, p6) = (prefix(2), prefix(3), prefix(4), prefix(6));
    if d[0] == b'4' {
        return matches!(len, 13 | 16 | 19); // Visa
    }
    if (51..=55).contains(&p2) || (2221..=2720).contains(&p4) {
        return len == 16; // Mastercard
    }
    if p2 == 34 || p2 == 37 {
        return len == 15; // American Express
    }
    if p4 == 6011 || p2 == 65 || (644..=649).contains(&p3) {
        return (16..=19).contains(&len); // Discover
    }
    if (300..=305).contains(&p3) || matches!(p2, 36 | 38 | 39) {
        return (14..=19).contains(&len); // Diners Club
    }
    if (3528..=3589).contains(&p4) {
        return (16..=19).contains(&len); // JCB
    }
    if p2 == 62 {
        return (16..=19).contains(&len); // UnionPay
    }
    if (2200..=2204).contains(&p4) {
        return (16..=19).contains(&len); // Mir
    }
    if p2 == 50 || (56..=58).contains(&p2) || p4 == 6304 || p4 == 6759 || p6 == 676770 {
        return (13..=19).contains(&len); // Maestro
    }
    false
}

// ---------------------------------------------------------------------------------------------
// US social security numbers

fn ssn_window(text: &str, run: &Run, a: usize, b: usize) -> Option<Range<usize>> {
    let sizes: Vec<usize> = run.groups[a..=b].iter().map(|g| g.len()).collect();
    let start = run.groups[a].start;
    let context = || mentioned_before(text, start, 40, &["ssn", "social security", "ss#"]);
    let shape_ok = match sizes.as_slice() {
        [3, 2, 4] => {
            let (s1, s2) = (run.sep(text, a), run.sep(text, a + 1));
            (s1 == "-" && s2 == "-") || (s1 == " " && s2 == " " && context())
        }
        [9] => context(),
        _ => false,
    };
    if !shape_ok {
        return None;
    }
    let d = run.digits(text, a, b);
    let (area, group, serial) = (&d[0..3], &d[3..5], &d[5..9]);
    let valid = area != "000"
        && area != "666"
        && !area.starts_with('9')
        && group != "00"
        && serial != "0000";
    valid.then(|| start..run.groups[b].end)
}

// ---------------------------------------------------------------------------------------------
// Phone numbers

fn phone_window(text: &str, run: &Run, a: usize, b: usize) -> Option<Range<usize>> {
    let groups = &run.groups[a..=b];
    let count = groups.len();
    let sizes: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    let total: usize = sizes.iter().sum();
    let bytes = text.as_bytes();

    let lead = if a == 0 {
        run.lead(text)
    } else {
        run.sep(text, a - 1)
    };
    let plus = a == 0 && lead.contains('+');
    let opens_first = lead.ends_with('(');

    // Parentheses: at most one group, wrapped exactly, among the first two.
    let mut paren_group = None;
    for k in 0..count {
        let opens = if k == 0 {
            opens_first
        } else {
            run.sep(text, a + k - 1).ends_with('(')
        };
        let closes = if k + 1 < count {
            run.sep(text, a + k).starts_with(')')
        } else {
            bytes.get(groups[k].end) == Some(&b')')
        };
        if opens != closes {
            return None;
        }
        if opens {
            if paren_group.is_some() || k > 1 || sizes[k] > 5 {
                return None;
            }
            paren_group = Some(k);
        }
    }
    let seps: Vec<&str> = (a..b).map(|k| run.sep(text, k)).collect();
    if seps.contains(&".") && (paren_group.is_some() || seps.iter().any(|s| *s != ".")) {
        return None;
    }
    if sizes.iter().skip(1).any(|&s| s > 8) || count > 6 {
        return None;
    }
    let first = &text[groups[0].clone()];

    let ok = if plus {
        if count == 1 {
            (10..=15).contains(&total) && !first.starts_with('0')
        } else {
            (1..=3).contains(&sizes[0]) && !first.starts_with('0') && (9..=15).contains(&total)
        }
    } else if let Some(country) = first.strip_prefix("00") {
        // International prefix written as 00 (0049 30 1234567).
        count >= 2
            && (3..=5).contains(&sizes[0])
            && !country.starts_with('0')
            && (11..=17).contains(&total)
    } else if first.starts_with('0') {
        // A national number with a trunk prefix (07700 900123, 020 7946 0958, (030) 1234567).
        if count == 1 {
            (10..=11).contains(&total) && first.as_bytes()[1] != b'0'
        } else {
            (9..=12).contains(&total) && paren_group.is_none_or(|k| k == 0)
        }
    } else {
        // North American: [1] 3-3-4, area code first digit 2-9.
        let nanp = |s: &[usize], area: &str| s == [3, 3, 4] && !area.starts_with(['0', '1']);
        if count == 4 && first == "1" {
            nanp(&sizes[1..], &text[groups[1].clone()]) && paren_group.is_none_or(|k| k == 1)
        } else {
            nanp(&sizes, first) && paren_group.is_none_or(|k| k == 0)
        }
    };
    if !ok {
        return None;
    }
    let mut start = groups[0].start;
    if plus {
        start = run.lead_start;
    } else if opens_first {
        start -= 1;
    }
    let mut end = groups[count - 1].end;
    if paren_group == Some(count - 1) {
        end += 1;
    }
    Some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, &str)> {
        let mut out = Vec::new();
        find(text, &mut out);
        out.iter()
            .map(|c| (c.kind, &text[c.range.clone()]))
            .collect()
    }

    #[test]
    fn luhn() {
        assert!(luhn_valid(b"4111111111111111"));
        assert!(!luhn_valid(b"4111111111111112"));
        assert!(luhn_valid(b"378282246310005"));
    }

    #[test]
    fn phones_after_years_are_found() {
        assert_eq!(
            kinds("in 2019 555-123-4567 called"),
            vec![(Kind::Phone, "555-123-4567")]
        );
    }

    #[test]
    fn dates_and_versions_are_not_phones() {
        for text in [
            "2026-11-30",
            "1.2.3",
            "10:30",
            "12.05.2026",
            "2024 2025 2026",
            "0.1.0",
        ] {
            assert!(kinds(text).is_empty(), "{text}");
        }
    }
}
