//! Where on the screen clicks landed, as a grid of cells over a scaled screen outline.

use crate::canvas::{Align, Label, Weight, fit_text, render};
use crate::format::thousands;
use crate::parts::{EMPTY, PAD, heat_scale, title};
use crate::theme::{Theme, log_scale};

const TITLE: &str = "Where you clicked";

/// Used when the screen size is unknown (zero): the extent of the cells, or else a common screen.
const FALLBACK_SCREEN: (u32, u32) = (1920, 1080);

/// Clicks per screen cell: `cells` holds `(column, row, clicks)` of `cell_px`-sized squares, the
/// screen is `screen` pixels. Cells are coloured on a log scale; cells wholly off the screen are
/// left out, and the footnote counts every click given.
pub fn click_heatmap(
    cells: &[(u32, u32, u64)],
    cell_px: u32,
    screen: (u32, u32),
    theme: &Theme,
    width: u32,
    height: u32,
) -> String {
    let cell_px = cell_px.max(1);
    let screen = if screen.0 == 0 || screen.1 == 0 {
        let extent = cells.iter().fold((0u64, 0u64), |(w, h), (c, r, _)| {
            (
                w.max((u64::from(*c) + 1) * u64::from(cell_px)),
                h.max((u64::from(*r) + 1) * u64::from(cell_px)),
            )
        });
        if extent.0 == 0 {
            FALLBACK_SCREEN
        } else {
            (
                extent.0.min(u64::from(u32::MAX)) as u32,
                extent.1.min(u64::from(u32::MAX)) as u32,
            )
        }
    } else {
        screen
    };
    let on_screen = |c: u32, r: u32| {
        u64::from(c) * u64::from(cell_px) < u64::from(screen.0)
            && u64::from(r) * u64::from(cell_px) < u64::from(screen.1)
    };
    let total: u128 = cells.iter().map(|(_, _, n)| u128::from(*n)).sum();
    let max = cells
        .iter()
        .filter(|(c, r, _)| on_screen(*c, *r))
        .map(|(_, _, n)| *n)
        .max()
        .unwrap_or(0);
    let total_text = match u64::try_from(total) {
        Ok(n) => thousands(n),
        Err(_) => total.to_string(),
    };
    let summary = if total == 0 {
        format!("{TITLE}: {EMPTY}")
    } else {
        format!(
            "{TITLE}: {total_text} clicks on a {}×{} screen",
            screen.0, screen.1
        )
    };

    render(width, height, theme, &summary, |c| {
        let t = theme;
        let title_y = title(c, TITLE, t);
        let top = title_y + t.title_px as i32;
        let footer_h = t.label_px as i32 + 16;
        let avail_w = f64::from(c.width - 2 * PAD);
        let avail_h = f64::from(c.height - PAD - footer_h - top);
        if avail_w < 10.0 || avail_h < 10.0 {
            return;
        }
        let scale = (avail_w / f64::from(screen.0)).min(avail_h / f64::from(screen.1));
        let sw = (f64::from(screen.0) * scale).round() as i32;
        let sh = (f64::from(screen.1) * scale).round() as i32;
        let x0 = (c.width - sw) / 2;
        let y0 = top + ((avail_h as i32 - sh) / 2).max(0);
        c.rounded_rect(x0, y0, x0 + sw, y0 + sh, 4, t.surface);
        c.rounded_frame(x0, y0, x0 + sw, y0 + sh, 4, t.axis);

        // Cell edges are rounded from screen pixels so that neighbouring cells meet exactly.
        let to_x = |px: u64| x0 + ((px.min(u64::from(screen.0)) as f64) * scale).round() as i32;
        let to_y = |px: u64| y0 + ((px.min(u64::from(screen.1)) as f64) * scale).round() as i32;
        let step = u64::from(cell_px);
        for (col, row, n) in cells
            .iter()
            .filter(|(col, row, n)| *n > 0 && on_screen(*col, *row))
        {
            let (cx, cy) = (u64::from(*col) * step, u64::from(*row) * step);
            let color = t.heat_at(log_scale(*n, max, 0.12));
            c.rect(
                to_x(cx),
                to_y(cy),
                to_x(cx + step).max(to_x(cx) + 1),
                to_y(cy + step).max(to_y(cy) + 1),
                color,
                0.92,
            );
        }
        if total == 0 {
            c.text(
                x0 + sw / 2,
                y0 + sh / 2,
                Label::new(EMPTY, t.label_px, t.muted).align(Align::Middle),
            );
        }

        let footer_y = c.height - PAD - t.label_px as i32 / 2 - 2;
        let scale_w = if max > 0 {
            heat_scale(c, c.width - PAD, footer_y, t)
        } else {
            0
        };
        let note = if total == 0 {
            format!("Screen {}×{}", screen.0, screen.1)
        } else {
            format!("{total_text} clicks · screen {}×{}", screen.0, screen.1)
        };
        let note = fit_text(
            &note,
            t.small_px,
            Weight::Normal,
            f64::from(c.width - 2 * PAD - scale_w - 16),
        );
        c.text(PAD, footer_y, Label::new(&note, t.small_px, t.muted));
    })
}
