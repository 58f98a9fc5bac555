//! The day at a glance: keys and clicks per minute as a stacked area, active time as a ribbon under
//! it, paused intervals, locked-screen intervals and minutes in excluded applications shaded.

use glasshouse_core::model::{MICROS_PER_MINUTE, MICROS_PER_SEC, Micros};

use crate::canvas::{Align, Canvas, Label, Weight, render, text_width};
use crate::format::{compact, duration, nice_step, thousands};
use crate::parts::{LegendItem, PAD, empty_state, legend, legend_width, title};
use crate::theme::Theme;

/// What was recorded in one minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MinutePoint {
    /// Start of the minute.
    pub minute: Micros,
    pub keys: u64,
    pub clicks: u64,
    pub scroll_steps: u64,
    /// Seconds of the minute in which there was any input.
    pub active_secs: u64,
}

/// One day of activity.
#[derive(Debug, Clone, Copy)]
pub struct Timeline<'a> {
    /// The local day, as UTC instants: usually local midnight to the next local midnight (a
    /// reversed range means the 24 hours from `start`; more than a week is cut to a week).
    pub start: Micros,
    pub end: Micros,
    /// Offset of local time from UTC, for the hour labels. One offset for the whole day: on a
    /// day with a daylight-saving change the labels after the change are an hour off.
    pub utc_offset_secs: i32,
    /// Minutes with anything recorded, in any order; minutes outside the day are ignored.
    pub minutes: &'a [MinutePoint],
    /// Intervals the person paused, `(from, to)`; clipped to the day.
    pub paused: &'a [(Micros, Micros)],
    /// Intervals recording paused because the screen was locked, `(from, to)`; clipped to the
    /// day, and drawn apart from the person's pauses.
    pub locked: &'a [(Micros, Micros)],
    /// `(start of minute, seconds)` spent in excluded applications.
    pub excluded: &'a [(Micros, u64)],
    /// Draws a "now" marker when it falls inside the day.
    pub now: Option<Micros>,
}

const TITLE: &str = "Activity through the day";
const Y_TITLE: &str = "events per minute";
const HOUR: Micros = 3600 * MICROS_PER_SEC;
const RIBBON_H: i32 = 7;
/// A locked screen is shaded more strongly than a pause and topped with a solid strip, so the
/// two read apart even where they overlap.
const LOCKED_ALPHA: f64 = 0.3;
const LOCKED_STRIP_H: i32 = 4;

/// Keys and clicks per minute through the day; see [`Timeline`].
pub fn timeline(t: &Timeline<'_>, theme: &Theme, width: u32, height: u32) -> String {
    timeline_titled(t, TITLE, theme, width, height)
}

/// The same chart over any span (an upload batch's hour, say) under another title.
pub fn timeline_titled(
    t: &Timeline<'_>,
    title: &str,
    theme: &Theme,
    width: u32,
    height: u32,
) -> String {
    let day = Day::new(t);
    render(width, height, theme, &day.summary(title), |c| {
        draw(c, t, &day, title, theme)
    })
}

/// The day's sums, independent of the picture's size.
struct Day {
    start: Micros,
    end: Micros,
    keys: u64,
    clicks: u64,
    active_secs: u64,
    excluded_secs: u64,
    pauses: usize,
    locks: usize,
}

impl Day {
    fn new(t: &Timeline<'_>) -> Day {
        // A reversed range is read as the day from `start`, and a range longer than a week is
        // cut to one so that a wrong argument cannot ask for millions of bins.
        let end = if t.end > t.start {
            t.end.min(t.start.saturating_add(7 * 24 * HOUR))
        } else {
            t.start.saturating_add(24 * HOUR)
        };
        let inside = |m: Micros| m >= t.start && m < end;
        let mut day = Day {
            start: t.start,
            end,
            keys: 0,
            clicks: 0,
            active_secs: 0,
            excluded_secs: 0,
            pauses: 0,
            locks: 0,
        };
        for p in t.minutes.iter().filter(|p| inside(p.minute)) {
            day.keys = day.keys.saturating_add(p.keys);
            day.clicks = day.clicks.saturating_add(p.clicks);
            day.active_secs = day.active_secs.saturating_add(p.active_secs.min(60));
        }
        for (_, secs) in t.excluded.iter().filter(|(m, _)| inside(*m)) {
            day.excluded_secs = day.excluded_secs.saturating_add((*secs).min(60));
        }
        let in_day = |spans: &[(Micros, Micros)]| {
            spans
                .iter()
                .filter(|(a, b)| *b > t.start && *a < end && b > a)
                .count()
        };
        day.pauses = in_day(t.paused);
        day.locks = in_day(t.locked);
        day
    }

    fn is_empty(&self) -> bool {
        self.keys == 0 && self.clicks == 0 && self.active_secs == 0
    }

    fn summary(&self, title: &str) -> String {
        let mut s = format!(
            "{title}: {} keys and {} clicks in {} of active time",
            thousands(self.keys),
            thousands(self.clicks),
            duration(self.active_secs)
        );
        if self.pauses > 0 {
            if self.pauses == 1 {
                s.push_str("; paused once");
            } else {
                s.push_str(&format!("; paused {} times", self.pauses));
            }
        }
        match self.locks {
            0 => {}
            1 => s.push_str("; screen locked once"),
            n => s.push_str(&format!("; screen locked {n} times")),
        }
        if self.excluded_secs > 0 {
            s.push_str(&format!(
                "; {} in excluded apps",
                duration(self.excluded_secs)
            ));
        }
        s
    }
}

/// Pixel geometry of the plot.
struct Plot {
    left: i32,
    right: i32,
    top: i32,
    bottom: i32,
    start: Micros,
    end: Micros,
}

impl Plot {
    fn x(&self, at: Micros) -> i32 {
        let span = (self.end - self.start).max(1) as f64;
        let f = (at.clamp(self.start, self.end) - self.start) as f64 / span;
        self.left + (f * f64::from(self.right - self.left)).round() as i32
    }
}

fn draw(c: &mut Canvas<'_>, t: &Timeline<'_>, day: &Day, heading: &str, th: &Theme) {
    let title_y = title(c, heading, th);

    let in_day = |a: Micros, b: Micros| b > day.start && a < day.end && b > a;
    let mut items = vec![
        LegendItem {
            label: "keys",
            color: th.keys,
            alpha: 1.0,
        },
        LegendItem {
            label: "clicks",
            color: th.clicks,
            alpha: 1.0,
        },
        LegendItem {
            label: "active time",
            color: th.active,
            alpha: 1.0,
        },
    ];
    if t.paused.iter().any(|(a, b)| in_day(*a, *b)) {
        items.push(LegendItem {
            label: "paused",
            color: th.paused,
            alpha: th.shade_alpha,
        });
    }
    if t.locked.iter().any(|(a, b)| in_day(*a, *b)) {
        items.push(LegendItem {
            label: "screen locked",
            color: th.locked,
            alpha: LOCKED_ALPHA,
        });
    }
    if day.excluded_secs > 0 {
        items.push(LegendItem {
            label: "excluded app",
            color: th.excluded,
            alpha: th.shade_alpha,
        });
    }
    // The legend shares the title's line when both fit, and takes a line of its own otherwise.
    let lw = legend_width(&items, th);
    let title_w = text_width(heading, th.title_px, Weight::Bold) as i32;
    let header_bottom = if PAD + title_w + 24 + lw <= c.width - PAD {
        legend(c, &items, c.width - PAD - lw, title_y, th);
        title_y + (th.title_px * 0.6) as i32
    } else {
        let y = title_y + (th.title_px * 0.6 + th.small_px) as i32 + 4;
        legend(c, &items, PAD, y, th);
        y + (th.small_px * 0.6) as i32
    };

    // Bins: minutes are grouped so that each bin is at least a few pixels wide; values stay
    // "per minute" (the mean over the bin) so the axis means the same at every width.
    let y_title_w = th.label_px as i32 + 8;
    let tick_px = th.small_px;
    let minutes_in_day = ((day.end - day.start) / MICROS_PER_MINUTE).max(1) as usize;

    // The y scale needs the bins, and the bins need the plot width, which needs the y labels'
    // width: take the plot width with the widest plausible labels first.
    let provisional_left = PAD + y_title_w + text_width("0000", tick_px, Weight::Normal) as i32;
    let plot_w = (c.width - PAD - provisional_left).max(10);
    let bin = [1usize, 2, 3, 5, 10, 15, 20, 30, 60]
        .into_iter()
        .find(|b| *b as f64 * f64::from(plot_w) / minutes_in_day as f64 >= 2.5)
        .unwrap_or(60);
    let n_bins = minutes_in_day.div_ceil(bin);
    let mut keys = vec![0f64; n_bins];
    let mut clicks = vec![0f64; n_bins];
    let mut active = vec![0f64; n_bins];
    for p in t
        .minutes
        .iter()
        .filter(|p| p.minute >= day.start && p.minute < day.end)
    {
        let i = ((p.minute - day.start) / MICROS_PER_MINUTE) as usize / bin;
        if let Some(i) = (i < n_bins).then_some(i) {
            keys[i] += p.keys as f64;
            clicks[i] += p.clicks as f64;
            active[i] += p.active_secs.min(60) as f64;
        }
    }
    let per_bin = |i: usize| {
        // The last bin may be short.
        let first = i * bin;
        (minutes_in_day.min(first + bin) - first) as f64
    };
    let mut max = 0f64;
    for i in 0..n_bins {
        let n = per_bin(i);
        keys[i] /= n;
        clicks[i] /= n;
        active[i] /= n * 60.0;
        max = max.max(keys[i] + clicks[i]);
    }
    let step = nice_step(max, 4);
    let y_max = ((max / step).ceil() * step).max(step);
    let ticks: Vec<(f64, String)> = (0..)
        .map(|i| f64::from(i) * step)
        .take_while(|v| *v <= y_max * 1.0001)
        .map(|v| (v, compact(v)))
        .collect();
    let tick_w = ticks
        .iter()
        .map(|(_, s)| text_width(s, tick_px, Weight::Normal) as i32)
        .max()
        .unwrap_or(0);

    let hour_label_h = tick_px as i32 + 6;
    let plot = Plot {
        left: PAD + y_title_w + tick_w + 6,
        right: c.width - PAD,
        top: header_bottom + 14,
        bottom: c.height - PAD - hour_label_h - RIBBON_H - 9,
        start: day.start,
        end: day.end,
    };
    if plot.bottom - plot.top < 20 || plot.right - plot.left < 40 {
        return;
    }
    let y_of =
        |v: f64| plot.bottom - ((v / y_max) * f64::from(plot.bottom - plot.top)).round() as i32;

    // Grid and y labels.
    // With nothing recorded, a scale up to 1 would only suggest data: keep just the zero.
    let shown_ticks = if day.is_empty() {
        &ticks[..1]
    } else {
        &ticks[..]
    };
    for (v, label) in shown_ticks {
        let y = y_of(*v);
        if *v > 0.0 {
            c.hline(plot.left, plot.right, y, th.grid);
        }
        c.text(
            plot.left - 6,
            y,
            Label::new(label, tick_px, th.muted).align(Align::End),
        );
    }
    c.text(
        PAD + th.label_px as i32 / 2 + 1,
        (plot.top + plot.bottom) / 2,
        Label::new(Y_TITLE, th.label_px, th.muted)
            .align(Align::Middle)
            .vertical(),
    );

    // Hours: faint verticals and labels, as often as they fit.
    // Labels at most every ~40 px: every hour would read as a ruler rather than a day.
    let label_w = text_width("00", tick_px, Weight::Normal) + 26.0;
    let hours_in_day = (day.end - day.start) as f64 / HOUR as f64;
    let px_per_hour = f64::from(plot.right - plot.left) / hours_in_day;
    let hour_step = [1i64, 2, 3, 4, 6, 12]
        .into_iter()
        .find(|s| *s as f64 * px_per_hour >= label_w)
        .unwrap_or(24);
    let offset = Micros::from(t.utc_offset_secs) * MICROS_PER_SEC;
    let first_hour =
        (day.start.saturating_add(offset).div_euclid(HOUR) * HOUR).saturating_sub(offset);
    let label_y = c.height - PAD - hour_label_h / 2;
    let mut at = first_hour;
    while at <= day.end {
        if at >= day.start {
            let hour = (at + offset).div_euclid(HOUR).rem_euclid(24);
            if hour % hour_step == 0 {
                let x = plot.x(at);
                if at > day.start && at < day.end {
                    c.vline(x, plot.top, plot.bottom, th.grid, 1.0);
                }
                let shown = if at == day.end && hour == 0 { 24 } else { hour };
                c.text(
                    x,
                    label_y,
                    Label::new(&format!("{shown:02}"), tick_px, th.muted).align(Align::Middle),
                );
            }
        }
        at = match at.checked_add(HOUR) {
            Some(next) => next,
            None => break,
        };
    }

    // Shading, behind the data: pauses over the full height, excluded minutes as runs.
    for (a, b) in t.paused.iter().filter(|(a, b)| in_day(*a, *b)) {
        let (x0, x1) = (plot.x(*a), plot.x(*b));
        c.rect(
            x0,
            plot.top,
            x1.max(x0 + 1),
            plot.bottom,
            th.paused,
            th.shade_alpha,
        );
    }
    for (a, b) in t.locked.iter().filter(|(a, b)| in_day(*a, *b)) {
        let (x0, x1) = (plot.x(*a), plot.x(*b).max(plot.x(*a) + 1));
        c.rect(x0, plot.top, x1, plot.bottom, th.locked, LOCKED_ALPHA);
        c.rect(x0, plot.top, x1, plot.top + LOCKED_STRIP_H, th.locked, 1.0);
    }
    let mut excluded: Vec<Micros> = t
        .excluded
        .iter()
        .filter(|(m, s)| *s > 0 && *m >= day.start && *m < day.end)
        .map(|(m, _)| *m)
        .collect();
    excluded.sort_unstable();
    excluded.dedup();
    let mut runs: Vec<(Micros, Micros)> = Vec::new();
    for m in excluded {
        match runs.last_mut() {
            Some((_, end)) if *end == m => *end += MICROS_PER_MINUTE,
            _ => runs.push((m, m + MICROS_PER_MINUTE)),
        }
    }
    for (a, b) in runs {
        let (x0, x1) = (plot.x(a), plot.x(b));
        c.rect(
            x0,
            plot.top,
            x1.max(x0 + 1),
            plot.bottom,
            th.excluded,
            th.shade_alpha,
        );
    }

    // The data: keys from the baseline, clicks stacked on top, as steps per bin.
    let bin_x = |i: usize| {
        let m = (i * bin).min(minutes_in_day) as Micros;
        plot.x(day.start + m * MICROS_PER_MINUTE)
    };
    let mut keys_top = Vec::with_capacity(2 * n_bins + 2);
    let mut all_top = Vec::with_capacity(2 * n_bins + 2);
    for i in 0..n_bins {
        let (x0, x1) = (bin_x(i), bin_x(i + 1));
        let yk = y_of(keys[i]);
        let ya = y_of(keys[i] + clicks[i]);
        keys_top.extend([(x0, yk), (x1, yk)]);
        all_top.extend([(x0, ya), (x1, ya)]);
    }
    if !day.is_empty() {
        let mut clicks_band = all_top.clone();
        clicks_band.extend(keys_top.iter().rev());
        c.polygon(clicks_band, th.clicks, 0.9);
        let mut keys_area = vec![(plot.left, plot.bottom)];
        keys_area.extend(keys_top.iter());
        keys_area.push((plot.right, plot.bottom));
        c.polygon(keys_area, th.keys, 0.9);
    }
    c.hline(plot.left, plot.right, plot.bottom, th.axis);

    // Active time: a ribbon whose strength is the share of each bin's seconds with input.
    let ribbon_top = plot.bottom + 7;
    c.rect(
        plot.left,
        ribbon_top,
        plot.right,
        ribbon_top + RIBBON_H,
        th.grid,
        0.6,
    );
    for (i, a) in active.iter().enumerate() {
        if *a > 0.0 {
            let alpha = 0.25 + 0.75 * a.min(1.0);
            c.rect(
                bin_x(i),
                ribbon_top,
                bin_x(i + 1),
                ribbon_top + RIBBON_H,
                th.active,
                alpha,
            );
        }
    }
    c.text(
        plot.left - 6,
        ribbon_top + RIBBON_H / 2,
        Label::new("active", tick_px, th.muted).align(Align::End),
    );

    if let Some(now) = t.now.filter(|n| *n > day.start && *n < day.end) {
        let x = plot.x(now);
        c.vline(x, plot.top - 4, plot.bottom, th.text, 0.55);
        let (align, dx) = if x > plot.right - 40 {
            (Align::End, -4)
        } else {
            (Align::Start, 4)
        };
        c.text(
            x + dx,
            plot.top + tick_px as i32 / 2,
            Label::new("now", tick_px, th.text).align(align),
        );
    }

    if day.is_empty() {
        empty_state(
            c,
            (plot.left + plot.right) / 2,
            (plot.top + plot.bottom) / 2,
            th,
        );
    }
}
