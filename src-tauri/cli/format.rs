//! Numbers, sizes and distances as people read them.

pub use glasshouse_core::human::thousands;

/// Bytes as `512 B`, `12.3 KB`, `4.5 MB`, `1.2 GB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1000.0;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// Pointer distance in pixels as `830 px` or `12.4k px`.
pub fn distance(px: u64) -> String {
    if px < 10_000 {
        format!("{px} px")
    } else {
        format!("{:.1}k px", px as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(12_345), "12.3 KB");
        assert_eq!(bytes(4_500_000), "4.5 MB");
        assert_eq!(distance(830), "830 px");
        assert_eq!(distance(12_400), "12.4k px");
    }
}
