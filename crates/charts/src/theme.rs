//! The one look shared by every chart: a font, a few text sizes and a calm palette, in a light and
//! a dark variant. Backgrounds are never painted, so the page shows through.

/// An opaque colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// Relative luminance (WCAG), used to pick a readable label colour on a coloured fill.
    pub fn luminance(self) -> f64 {
        fn channel(c: u8) -> f64 {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        }
        0.2126 * channel(self.0) + 0.7152 * channel(self.1) + 0.0722 * channel(self.2)
    }

    fn lerp(self, other: Rgb, t: f64) -> Rgb {
        let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
        Rgb(
            mix(self.0, other.0),
            mix(self.1, other.1),
            mix(self.2, other.2),
        )
    }
}

/// Fonts, sizes and colours for all charts.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    /// A CSS font-family list; the browser showing the SVG picks the face.
    pub font_family: String,
    /// Chart titles, in CSS pixels.
    pub title_px: f64,
    /// Axis labels, legends and value labels.
    pub label_px: f64,
    /// Footnotes and tick labels.
    pub small_px: f64,
    pub text: Rgb,
    pub muted: Rgb,
    /// Light guide lines (grid).
    pub grid: Rgb,
    /// Axis baselines and outlines.
    pub axis: Rgb,
    /// A neutral fill for surfaces such as an unused key or the screen in the click heatmap.
    pub surface: Rgb,
    pub keys: Rgb,
    pub clicks: Rgb,
    pub scroll: Rgb,
    pub mouse: Rgb,
    pub active: Rgb,
    /// Shading of paused intervals, drawn with `shade_alpha`.
    pub paused: Rgb,
    /// Shading of minutes spent in excluded applications, drawn with `shade_alpha`.
    pub excluded: Rgb,
    /// Shading of the time the screen was locked, drawn with `shade_alpha` under a solid strip.
    pub locked: Rgb,
    pub shade_alpha: f64,
    /// Heat colour map from pale (few) to saturated (many); at least two stops.
    pub heat: Vec<Rgb>,
    /// One colour per [`glasshouse_core::keys::KeyCategory`], in `KeyCategory::ALL` order.
    pub categories: [Rgb; 8],
}

const FONT_FAMILY: &str = "system-ui, sans-serif";

impl Theme {
    pub fn light() -> Theme {
        Theme {
            font_family: FONT_FAMILY.into(),
            title_px: 15.0,
            label_px: 12.0,
            small_px: 11.0,
            text: Rgb(0x26, 0x2B, 0x33),
            muted: Rgb(0x5F, 0x67, 0x73),
            grid: Rgb(0xE4, 0xE7, 0xEC),
            axis: Rgb(0xA3, 0xAA, 0xB5),
            surface: Rgb(0xF1, 0xF3, 0xF6),
            keys: Rgb(0x4E, 0x79, 0xB5),
            clicks: Rgb(0xE0, 0x9A, 0x3E),
            scroll: Rgb(0x6B, 0xAE, 0x94),
            mouse: Rgb(0x9C, 0x82, 0xC4),
            active: Rgb(0x4C, 0x9A, 0x6A),
            paused: Rgb(0x7A, 0x80, 0x8A),
            excluded: Rgb(0xC2, 0x5B, 0x7A),
            locked: Rgb(0x4B, 0x55, 0x9E),
            shade_alpha: 0.16,
            heat: vec![
                Rgb(0xE8, 0xF0, 0xF9),
                Rgb(0xB5, 0xD0, 0xEA),
                Rgb(0x6F, 0xA6, 0xD6),
                Rgb(0x2F, 0x72, 0xB8),
                Rgb(0x12, 0x3F, 0x80),
            ],
            categories: [
                Rgb(0x4E, 0x79, 0xB5),
                Rgb(0xE0, 0x9A, 0x3E),
                Rgb(0x6B, 0xAE, 0x94),
                Rgb(0xC2, 0x5B, 0x7A),
                Rgb(0x9C, 0x82, 0xC4),
                Rgb(0x5B, 0xA4, 0xC8),
                Rgb(0xB8, 0x8E, 0x5C),
                Rgb(0x9A, 0xA1, 0xAB),
            ],
        }
    }

    pub fn dark() -> Theme {
        Theme {
            font_family: FONT_FAMILY.into(),
            title_px: 15.0,
            label_px: 12.0,
            small_px: 11.0,
            text: Rgb(0xE6, 0xE9, 0xEE),
            muted: Rgb(0xA0, 0xA8, 0xB4),
            grid: Rgb(0x33, 0x39, 0x43),
            axis: Rgb(0x5E, 0x66, 0x72),
            surface: Rgb(0x2A, 0x2F, 0x37),
            keys: Rgb(0x72, 0x9F, 0xDB),
            clicks: Rgb(0xEB, 0xB0, 0x5E),
            scroll: Rgb(0x7F, 0xC4, 0xA8),
            mouse: Rgb(0xB5, 0x9E, 0xE0),
            active: Rgb(0x6C, 0xC0, 0x8B),
            paused: Rgb(0xB0, 0xB6, 0xC0),
            excluded: Rgb(0xE0, 0x7A, 0x9A),
            locked: Rgb(0x8E, 0x9B, 0xE8),
            shade_alpha: 0.18,
            heat: vec![
                Rgb(0x2C, 0x3A, 0x4E),
                Rgb(0x2F, 0x5C, 0x8F),
                Rgb(0x3F, 0x86, 0xC8),
                Rgb(0x7F, 0xB8, 0xEC),
                Rgb(0xD8, 0xEC, 0xFF),
            ],
            categories: [
                Rgb(0x72, 0x9F, 0xDB),
                Rgb(0xEB, 0xB0, 0x5E),
                Rgb(0x7F, 0xC4, 0xA8),
                Rgb(0xE0, 0x7A, 0x9A),
                Rgb(0xB5, 0x9E, 0xE0),
                Rgb(0x78, 0xC2, 0xE0),
                Rgb(0xD0, 0xA8, 0x78),
                Rgb(0x9A, 0xA1, 0xAB),
            ],
        }
    }

    /// The heat colour at `t` in `0..=1` (clamped), interpolated between the stops.
    pub fn heat_at(&self, t: f64) -> Rgb {
        let stops = &self.heat;
        match stops.len() {
            0 => self.keys,
            1 => stops[0],
            n => {
                let t = if t.is_finite() {
                    t.clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let pos = t * (n - 1) as f64;
                let i = (pos.floor() as usize).min(n - 2);
                stops[i].lerp(stops[i + 1], pos - i as f64)
            }
        }
    }

    /// Text colour that reads well on `fill`.
    pub fn text_on(&self, fill: Rgb) -> Rgb {
        if fill.luminance() > 0.36 {
            Rgb(0x1E, 0x22, 0x28)
        } else {
            Rgb(0xF7, 0xF9, 0xFC)
        }
    }
}

/// Where `count` falls on a log scale whose top is `max`: 0 for nothing, then from `floor` up to 1,
/// so that a single press is already visibly different from none.
pub(crate) fn log_scale(count: u64, max: u64, floor: f64) -> f64 {
    if count == 0 || max == 0 {
        return 0.0;
    }
    let top = (max as f64).ln_1p();
    if top <= 0.0 {
        return 1.0;
    }
    floor + (1.0 - floor) * ((count as f64).ln_1p() / top).min(1.0)
}
