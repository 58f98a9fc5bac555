//! Shares: active time per application, and the mix of key categories.

use glasshouse_core::keys::KeyCategory;
use glasshouse_core::model::Window;

use crate::canvas::{Align, Canvas, Label, Weight, fit_text, render, shorten, text_width};
use crate::format::{compact, duration, percent, thousands};
use crate::parts::{EMPTY, PAD, empty_state, title};
use crate::theme::{Rgb, Theme};

/// Time and input in one application.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppBar {
    pub app: String,
    pub active_secs: u64,
    pub keys: u64,
    pub clicks: u64,
}

/// Rows drawn at most: with more applications than this, the top `MAX_ROWS - 1` are drawn and the
/// rest are summed into one "other" row (so nine applications are shown as nine rows, not as eight
/// and an "other" of one).
const MAX_ROWS: usize = 9;

/// Horizontal bars of active time per application, longest first, labelled like `1h 05m`.
pub fn app_bars(
    title_text: &str,
    apps: &[AppBar],
    theme: &Theme,
    width: u32,
    height: u32,
) -> String {
    let rows = app_rows(apps);
    let summary = if rows.is_empty() {
        format!("{title_text}: {EMPTY}")
    } else {
        let listed: Vec<String> = rows
            .iter()
            .map(|r| format!("{} {}", shorten(&r.name, 60), duration(r.app.active_secs)))
            .collect();
        format!("{title_text}: {}", listed.join(", "))
    };
    render(width, height, theme, &summary, |c| {
        draw_app_bars(c, title_text, &rows, theme)
    })
}

#[derive(Debug)]
struct Row {
    name: String,
    app: AppBar,
    kind: RowKind,
}

#[derive(Debug, PartialEq, Eq)]
enum RowKind {
    App,
    Excluded,
    Unknown,
    Other,
}

fn app_rows(apps: &[AppBar]) -> Vec<Row> {
    let mut sorted: Vec<&AppBar> = apps
        .iter()
        .filter(|a| a.active_secs > 0 || a.keys > 0 || a.clicks > 0)
        .collect();
    sorted.sort_by(|a, b| {
        b.active_secs
            .cmp(&a.active_secs)
            .then(
                b.keys
                    .saturating_add(b.clicks)
                    .cmp(&a.keys.saturating_add(a.clicks)),
            )
            .then(a.app.cmp(&b.app))
    });
    let shown = if sorted.len() > MAX_ROWS {
        MAX_ROWS - 1
    } else {
        sorted.len()
    };
    let mut rows: Vec<Row> = sorted[..shown]
        .iter()
        .map(|a| Row {
            name: a.app.clone(),
            app: (*a).clone(),
            kind: match a.app.as_str() {
                Window::EXCLUDED_APP => RowKind::Excluded,
                Window::UNKNOWN_APP => RowKind::Unknown,
                _ => RowKind::App,
            },
        })
        .collect();
    let rest = &sorted[shown..];
    if !rest.is_empty() {
        let mut other = AppBar::default();
        for a in rest {
            other.active_secs = other.active_secs.saturating_add(a.active_secs);
            other.keys = other.keys.saturating_add(a.keys);
            other.clicks = other.clicks.saturating_add(a.clicks);
        }
        rows.push(Row {
            name: format!("other ({} apps)", rest.len()),
            app: other,
            kind: RowKind::Other,
        });
    }
    rows
}

fn draw_app_bars(c: &mut Canvas<'_>, title_text: &str, rows: &[Row], th: &Theme) {
    let title_y = title(
        c,
        &fit_text(
            title_text,
            th.title_px,
            Weight::Bold,
            f64::from(c.width - 2 * PAD),
        ),
        th,
    );
    let top = title_y + th.title_px as i32 + 4;
    if rows.is_empty() {
        empty_state(c, c.width / 2, (top + c.height - PAD) / 2, th);
        return;
    }

    let px = th.label_px;
    let name_col = rows
        .iter()
        .map(|r| text_width(&r.name, px, Weight::Normal))
        .fold(0.0, f64::max)
        .min(f64::from(c.width) * 0.34)
        .max(40.0)
        .ceil() as i32;
    let values: Vec<String> = rows.iter().map(|r| duration(r.app.active_secs)).collect();
    let details: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} keys · {} clicks",
                compact(r.app.keys as f64),
                compact(r.app.clicks as f64)
            )
        })
        .collect();
    let value_w = values
        .iter()
        .map(|v| text_width(v, px, Weight::Bold))
        .fold(0.0, f64::max) as i32;
    let detail_w = details
        .iter()
        .map(|d| text_width(d, th.small_px, Weight::Normal))
        .fold(0.0, f64::max) as i32
        + 10;
    let bar_left = PAD + name_col + 10;
    let room = c.width - PAD - bar_left - value_w - 8;
    // The keys and clicks follow the time only while the bars keep most of the width.
    let show_details = room - detail_w >= (c.width - 2 * PAD) / 3;
    let bar_room = if show_details { room - detail_w } else { room }.max(10);

    let max = rows
        .iter()
        .map(|r| r.app.active_secs)
        .max()
        .unwrap_or(0)
        .max(1);
    let n = rows.len() as i32;
    let row_h = ((c.height - PAD - top) / n).clamp(12, 34);
    let bar_h = ((f64::from(row_h) * 0.58) as i32).max(6);
    for (i, row) in rows.iter().enumerate() {
        let cy = top + row_h * i as i32 + row_h / 2;
        let color = match row.kind {
            RowKind::App => th.active,
            RowKind::Excluded => th.excluded,
            RowKind::Unknown | RowKind::Other => th.axis,
        };
        let name_color = if row.kind == RowKind::App {
            th.text
        } else {
            th.muted
        };
        let name = fit_text(&row.name, px, Weight::Normal, f64::from(name_col));
        c.text(
            PAD + name_col,
            cy,
            Label::new(&name, px, name_color).align(Align::End),
        );
        let len = ((row.app.active_secs as f64 / max as f64) * f64::from(bar_room)).round() as i32;
        let len = if row.app.active_secs > 0 {
            len.max(2)
        } else {
            0
        };
        c.rounded_rect(
            bar_left,
            cy - bar_h / 2,
            bar_left + len,
            cy + bar_h / 2,
            3,
            color,
        );
        let vx = bar_left + len + 8;
        c.text(vx, cy, Label::new(&values[i], px, th.text).bold());
        if show_details {
            let dx = vx + text_width(&values[i], px, Weight::Bold) as i32 + 10;
            c.text(dx, cy, Label::new(&details[i], th.small_px, th.muted));
        }
    }
}

const MIX_TITLE: &str = "Kinds of keys pressed";

/// One stacked bar of key categories with their shares, and a legend with percentages and counts.
pub fn category_mix(
    counts: &[(KeyCategory, u64)],
    theme: &Theme,
    width: u32,
    height: u32,
) -> String {
    let mut sums = [0u128; 8];
    for (cat, n) in counts {
        if let Some(i) = KeyCategory::ALL.iter().position(|c| c == cat) {
            sums[i] += u128::from(*n);
        }
    }
    let total: u128 = sums.iter().sum();
    let summary = if total == 0 {
        format!("{MIX_TITLE}: {EMPTY}")
    } else {
        let parts: Vec<String> = KeyCategory::ALL
            .iter()
            .zip(sums)
            .filter(|(_, n)| *n > 0)
            .map(|(cat, n)| format!("{} {}", cat.name(), percent(n, total)))
            .collect();
        format!("{MIX_TITLE}: {}", parts.join(", "))
    };
    render(width, height, theme, &summary, |c| {
        draw_mix(c, &sums, total, theme)
    })
}

fn draw_mix(c: &mut Canvas<'_>, sums: &[u128; 8], total: u128, th: &Theme) {
    let title_y = title(c, MIX_TITLE, th);
    let top = title_y + th.title_px as i32 + 4;
    if total == 0 {
        empty_state(c, c.width / 2, (top + c.height - PAD) / 2, th);
        return;
    }
    let (left, right) = (PAD, c.width - PAD);
    let bar_h = 26;
    let shown: Vec<(usize, u128)> = sums
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, n)| *n > 0)
        .collect();

    // The stacked bar, one segment per category with a 1-px gap between segments.
    let span = f64::from(right - left);
    let mut acc = 0u128;
    for (i, n) in &shown {
        let x0 = left + (acc as f64 / total as f64 * span).round() as i32;
        acc += n;
        let x1 = left + (acc as f64 / total as f64 * span).round() as i32;
        let color = th.categories[*i];
        let gap = i32::from(acc < total);
        c.rect(x0, top, (x1 - gap).max(x0 + 1), top + bar_h, color, 1.0);
        let share = percent(*n, total);
        if text_width(&share, th.small_px, Weight::Normal) + 8.0 <= f64::from(x1 - x0) {
            c.text(
                (x0 + x1) / 2,
                top + bar_h / 2,
                Label::new(&share, th.small_px, th.text_on(color)).align(Align::Middle),
            );
        }
    }

    // The legend: a grid of "■ letter 62% · 12,345", as many columns as fit.
    let cells: Vec<(Rgb, String, String)> = shown
        .iter()
        .map(|(i, n)| {
            (
                th.categories[*i],
                KeyCategory::ALL[*i].name().to_owned(),
                format!("{} · {}", percent(*n, total), thousands_u128(*n)),
            )
        })
        .collect();
    let name_w = cells
        .iter()
        .map(|(_, name, _)| text_width(name, th.label_px, Weight::Normal))
        .fold(0.0, f64::max) as i32;
    let value_w = cells
        .iter()
        .map(|(_, _, v)| text_width(v, th.small_px, Weight::Normal))
        .fold(0.0, f64::max) as i32;
    let cell_w = 16 + name_w + 14 + value_w + 24;
    let cols = ((right - left) / cell_w).clamp(1, 4);
    let rows_needed = (cells.len() as i32 + cols - 1) / cols;
    let cell_w = (right - left) / cols;
    let row_h = th.label_px as i32 + 10;
    let legend_top = top + bar_h + 16;
    let fits = legend_top + rows_needed * row_h <= c.height - PAD + 4;
    for (k, (color, name, value)) in cells.iter().enumerate() {
        // Column-major order keeps the reading order down each column.
        let (col, row) = (k as i32 / rows_needed, k as i32 % rows_needed);
        if !fits && legend_top + (row + 1) * row_h > c.height {
            continue;
        }
        let x = left + col * cell_w;
        let cy = legend_top + row * row_h + row_h / 2;
        c.rounded_rect(x, cy - 5, x + 10, cy + 5, 2, *color);
        c.text(x + 16, cy, Label::new(name, th.label_px, th.text));
        c.text(
            x + 16 + name_w + 14,
            cy,
            Label::new(value, th.small_px, th.muted),
        );
    }
}

fn thousands_u128(n: u128) -> String {
    match u64::try_from(n) {
        Ok(n) => thousands(n),
        Err(_) => compact(n as f64),
    }
}
