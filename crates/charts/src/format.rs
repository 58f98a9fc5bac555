//! How numbers and durations read on a chart.

pub(crate) use glasshouse_core::human::thousands;

/// A short form for tick and value labels: `950`, `1.2k`, `34k`, `5.6M`, … up to `E` (10^18).
pub(crate) fn compact(v: f64) -> String {
    if !v.is_finite() || v <= 0.0 {
        return "0".into();
    }
    if v < 1000.0 {
        return if v < 10.0 && v.fract().abs() > 1e-9 {
            format!("{v:.1}")
        } else {
            format!("{}", v.round() as u64)
        };
    }
    const UNITS: [&str; 6] = ["k", "M", "G", "T", "P", "E"];
    let mut scaled = v;
    let mut unit = 0;
    while scaled >= 999.5 && unit < UNITS.len() {
        scaled /= 1000.0;
        unit += 1;
    }
    let suffix = UNITS[unit - 1];
    if scaled < 9.95 {
        let s = format!("{scaled:.1}");
        format!("{}{suffix}", s.strip_suffix(".0").unwrap_or(&s))
    } else {
        format!("{}{suffix}", scaled.round() as u64)
    }
}

/// Seconds as a person reads them: `45s`, `12m`, `1h 05m`.
pub(crate) fn duration(secs: u64) -> String {
    if secs < 60 {
        format!("{secs}s")
    } else if secs < 3600 {
        format!("{}m", secs / 60)
    } else {
        format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60)
    }
}

/// A share as a percentage label: `62%`, `4.5%`, `<0.1%`.
pub(crate) fn percent(part: u128, total: u128) -> String {
    if total == 0 || part == 0 {
        return "0%".into();
    }
    let p = part as f64 / total as f64 * 100.0;
    if p < 0.1 {
        "<0.1%".into()
    } else if p < 10.0 {
        let s = format!("{p:.1}");
        format!("{}%", s.strip_suffix(".0").unwrap_or(&s))
    } else {
        format!("{}%", p.round() as u64)
    }
}

/// A "nice" step (1, 2 or 5 × 10^k) so that `max` is covered by about `ticks` steps.
pub(crate) fn nice_step(max: f64, ticks: u32) -> f64 {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / f64::from(ticks.max(1));
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    // Counts are whole; a step below one would label fractions of an event.
    step.max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_naturally() {
        assert_eq!(compact(0.0), "0");
        assert_eq!(compact(2.5), "2.5");
        assert_eq!(compact(950.0), "950");
        assert_eq!(compact(1_200.0), "1.2k");
        assert_eq!(compact(34_000.0), "34k");
        assert_eq!(compact(999_999.0), "1M");
        assert_eq!(compact((u64::MAX / 2) as f64), "9.2E");
        assert_eq!(compact(u64::MAX as f64), "18E");
        assert_eq!(duration(45), "45s");
        assert_eq!(duration(12 * 60 + 5), "12m");
        assert_eq!(duration(3600 + 5 * 60), "1h 05m");
        assert_eq!(percent(1, 3), "33%");
        assert_eq!(percent(1, 40), "2.5%");
        assert_eq!(percent(1, 100_000), "<0.1%");
        assert_eq!(nice_step(100.0, 4), 50.0);
        assert_eq!(nice_step(0.0, 4), 1.0);
        assert_eq!(nice_step(1e19, 4), 5e18);
    }
}
