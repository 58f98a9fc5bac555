//! Times and durations as people write them on the command line: RFC 3339 times, plain dates,
//! `now`, and durations such as `90s`, `15m`, `2h`, `1d` or `1h30m`.

use chrono::{DateTime, Local, NaiveDate, TimeZone};

use crate::CoreError;
use crate::model::{MICROS_PER_SEC, Micros};

/// Parses a duration such as `15m`, `2h`, `1h30m`, `45s`, `1d` into microseconds.
pub fn parse_duration(input: &str) -> Result<Micros, CoreError> {
    let bad = || CoreError::BadDuration {
        input: input.to_owned(),
    };
    let s = input.trim();
    if s.is_empty() {
        return Err(bad());
    }
    let mut total: Micros = 0;
    let mut number = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let mut unit = String::from(c);
        while let Some(&n) = chars.peek() {
            if n.is_ascii_alphabetic() {
                unit.push(n);
                chars.next();
            } else {
                break;
            }
        }
        let seconds: Micros = match unit.as_str() {
            "s" | "sec" | "secs" => 1,
            "m" | "min" | "mins" => 60,
            "h" | "hr" | "hrs" => 3600,
            "d" | "day" | "days" => 86_400,
            _ => return Err(bad()),
        };
        let n: Micros = number.parse().map_err(|_| bad())?;
        number.clear();
        total = n
            .checked_mul(seconds * MICROS_PER_SEC)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
    }
    // Ten years is more than any pause or retention needs, and keeps later sums far from overflow.
    if !number.is_empty() || total <= 0 || total > 3650 * 86_400 * MICROS_PER_SEC {
        return Err(bad());
    }
    Ok(total)
}

/// Parses a point in time: RFC 3339 (`2026-11-30T14:30:00Z`), a local date (`2026-11-30`, its
/// midnight), a local date and time without zone (`2026-11-30 14:30`), or `now`.
pub fn parse_time(input: &str) -> Result<Micros, CoreError> {
    let s = input.trim();
    if s == "now" {
        return Ok(crate::model::now_micros());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_micros());
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(s, fmt)
            && let Some(local) = Local.from_local_datetime(&naive).earliest()
        {
            return Ok(local.timestamp_micros());
        }
    }
    if let Ok(date) = parse_date(s) {
        return Ok(local_midnight(date));
    }
    Err(CoreError::BadTime {
        input: input.to_owned(),
    })
}

/// Parses a calendar date (`2026-11-30`, `today`, `yesterday`).
pub fn parse_date(input: &str) -> Result<NaiveDate, CoreError> {
    let today = Local::now().date_naive();
    match input.trim() {
        "today" => Ok(today),
        "yesterday" => Ok(today.pred_opt().unwrap_or(today)),
        s => NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| CoreError::BadTime {
            input: input.to_owned(),
        }),
    }
}

/// Local midnight at the start of `date`, as [`Micros`].
pub fn local_midnight(date: NaiveDate) -> Micros {
    let naive = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    // On a day whose midnight does not exist (a DST jump at 00:00) take the first valid instant.
    Local
        .from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            Local
                .from_local_datetime(&(naive + chrono::Duration::hours(1)))
                .earliest()
        })
        .map_or(0, |t| t.timestamp_micros())
}

/// The local day `[start, end)` that contains `date`, as [`Micros`].
pub fn local_day_bounds(date: NaiveDate) -> (Micros, Micros) {
    let next = date.succ_opt().unwrap_or(date);
    (local_midnight(date), local_midnight(next))
}

/// Formats micros as RFC 3339 in UTC with microseconds, as exports show them.
pub fn format_rfc3339(ts: Micros) -> String {
    DateTime::from_timestamp_micros(ts)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_else(|| ts.to_string())
}

/// Formats micros as a local wall-clock time `HH:MM` (today) or `YYYY-MM-DD HH:MM`.
pub fn format_local_short(ts: Micros) -> String {
    let Some(t) = DateTime::from_timestamp_micros(ts) else {
        return ts.to_string();
    };
    let local = t.with_timezone(&Local);
    if local.date_naive() == Local::now().date_naive() {
        local.format("%H:%M").to_string()
    } else {
        local.format("%Y-%m-%d %H:%M").to_string()
    }
}

/// Formats a span `[since, until)` for people: `14:00 to 15:00`, with seconds when the ends are
/// not whole minutes (`14:36:05 to 14:36:40`), and dates when not today.
pub fn format_local_span(since: Micros, until: Micros) -> String {
    let whole = |ts: Micros| ts.rem_euclid(60 * 1_000_000) == 0;
    if whole(since) && whole(until) {
        return format!(
            "{} to {}",
            format_local_short(since),
            format_local_short(until)
        );
    }
    let with_secs = |ts: Micros| {
        DateTime::from_timestamp_micros(ts).map_or_else(
            || ts.to_string(),
            |t| {
                let local = t.with_timezone(&Local);
                if local.date_naive() == Local::now().date_naive() {
                    local.format("%H:%M:%S").to_string()
                } else {
                    local.format("%Y-%m-%d %H:%M:%S").to_string()
                }
            },
        )
    };
    format!("{} to {}", with_secs(since), with_secs(until))
}

/// Formats a duration for people: `14m 05s`, `1h 02m`, `45s`.
pub fn format_duration(us: Micros) -> String {
    let secs = (us.max(0) + MICROS_PER_SEC / 2) / MICROS_PER_SEC;
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s:02}s"),
        _ => format!("{h}h {m:02}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let cases = [
            ("15m", 900),
            ("2h", 7200),
            ("90s", 90),
            ("1d", 86_400),
            ("1h30m", 5400),
            (" 10 min ", -1),
            ("10min", 600),
        ];
        for (input, secs) in cases {
            let got = parse_duration(input).map(|us| us / MICROS_PER_SEC).ok();
            let want = (secs >= 0).then_some(secs);
            assert_eq!(got, want, "{input}");
        }
        for bad in [
            "",
            "15",
            "m",
            "15x",
            "0m",
            "-5m",
            "99999999999999d",
            "106751991d",
            "3651d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn times() {
        assert_eq!(
            parse_time("2026-11-30T14:30:00Z").unwrap(),
            1_796_049_000 * MICROS_PER_SEC
        );
        assert_eq!(
            parse_time("2026-11-30T15:30:00+01:00").unwrap(),
            1_796_049_000 * MICROS_PER_SEC
        );
        let date = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        assert_eq!(parse_time("2026-11-30").unwrap(), local_midnight(date));
        assert!(parse_time("yesterday-ish").is_err());
        let (start, end) = local_day_bounds(date);
        assert!(end - start >= 23 * 3600 * MICROS_PER_SEC);
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000000Z");
    }

    #[test]
    fn durations_for_people() {
        assert_eq!(format_duration(45 * MICROS_PER_SEC), "45s");
        assert_eq!(format_duration(845 * MICROS_PER_SEC), "14m 05s");
        assert_eq!(format_duration(3720 * MICROS_PER_SEC), "1h 02m");
    }
}
