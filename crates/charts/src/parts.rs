//! Pieces every chart uses: the title line, legends, the heat scale and the empty state.

use crate::canvas::{Align, Canvas, Label, Weight, text_width};
use crate::theme::{Rgb, Theme};

/// Outer margin of every chart, in pixels.
pub(crate) const PAD: i32 = 12;

pub(crate) const EMPTY: &str = "Nothing recorded yet";

/// One legend entry: a swatch and what it stands for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LegendItem<'a> {
    pub label: &'a str,
    pub color: Rgb,
    pub alpha: f64,
}

const SWATCH: i32 = 10;
const SWATCH_GAP: i32 = 5;
const ITEM_GAP: i32 = 14;

pub(crate) fn legend_width(items: &[LegendItem<'_>], theme: &Theme) -> i32 {
    items
        .iter()
        .map(|i| SWATCH + SWATCH_GAP + text_width(i.label, theme.small_px, Weight::Normal) as i32)
        .sum::<i32>()
        + ITEM_GAP * (items.len() as i32 - 1).max(0)
}

/// Draws a legend whose left edge is `x` and vertical centre `y`.
pub(crate) fn legend(canvas: &mut Canvas<'_>, items: &[LegendItem<'_>], x: i32, y: i32, t: &Theme) {
    let mut x = x;
    for item in items {
        let top = y - SWATCH / 2;
        // Shades are translucent; give them their outline so they stay visible as a swatch.
        if item.alpha < 1.0 {
            canvas.rect(
                x,
                top,
                x + SWATCH,
                top + SWATCH,
                item.color,
                item.alpha * 2.0,
            );
        } else {
            canvas.rounded_rect(x, top, x + SWATCH, top + SWATCH, 2, item.color);
        }
        x += SWATCH + SWATCH_GAP;
        canvas.text(x, y, Label::new(item.label, t.small_px, t.muted));
        x += text_width(item.label, t.small_px, Weight::Normal) as i32 + ITEM_GAP;
    }
}

/// Draws the chart title at the top left and returns the vertical centre of its line.
pub(crate) fn title(canvas: &mut Canvas<'_>, text: &str, t: &Theme) -> i32 {
    let y = PAD + (t.title_px * 0.6) as i32;
    canvas.text(PAD, y, Label::new(text, t.title_px, t.text).bold());
    y
}

/// The muted sentence shown where there is nothing to chart.
pub(crate) fn empty_state(canvas: &mut Canvas<'_>, cx: i32, cy: i32, t: &Theme) {
    canvas.text(
        cx,
        cy,
        Label::new(EMPTY, t.label_px, t.muted).align(Align::Middle),
    );
}

/// A "fewer → more" heat scale with its right edge at `right`, vertically centred on `y`; returns
/// its width. `note` (such as "max 1,234") follows in muted text.
pub(crate) fn heat_scale(canvas: &mut Canvas<'_>, right: i32, y: i32, t: &Theme) -> i32 {
    const STEPS: i32 = 12;
    const STEP_W: i32 = 7;
    let fewer = "fewer";
    let more = "more";
    let fewer_w = text_width(fewer, t.small_px, Weight::Normal) as i32;
    let more_w = text_width(more, t.small_px, Weight::Normal) as i32;
    let bar_w = STEPS * STEP_W;
    let total = fewer_w + 6 + bar_w + 6 + more_w;
    let mut x = right - total;
    canvas.text(x, y, Label::new(fewer, t.small_px, t.muted));
    x += fewer_w + 6;
    for i in 0..STEPS {
        let color = t.heat_at((f64::from(i) + 0.5) / f64::from(STEPS));
        canvas.rect(
            x + i * STEP_W,
            y - 5,
            x + (i + 1) * STEP_W,
            y + 5,
            color,
            1.0,
        );
    }
    x += bar_w + 6;
    canvas.text(x, y, Label::new(more, t.small_px, t.muted));
    total
}
