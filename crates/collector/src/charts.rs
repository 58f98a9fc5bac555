//! The manager page's two charts, as inline SVG drawn with plotters' SVG backend in the look of
//! `glasshouse-charts` (its [`Theme`]): opt-in rate per team (bars) and over the days (lines).
//!
//! As in `glasshouse-charts`, text is SVG `<text>` in the theme's CSS font family, laid out by the
//! browser: no font files. Widths that matter for layout come from a generous estimate.

use glasshouse_charts::{Rgb, Theme, tidy_font_sizes};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::aggregates::{Aggregates, DayFigures, TeamFigures};

type Area<'b> = DrawingArea<SVGBackend<'b>, plotters::coord::Shift>;

const PAD: i32 = 12;

/// A drawing surface that remembers whether plotters ever reported an error.
struct Canvas<'b> {
    area: Area<'b>,
    font: &'b str,
    ok: bool,
}

fn color(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

impl Canvas<'_> {
    fn rect(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, c: Rgb) {
        if x1 > x0 && y1 > y0 {
            let ok = self
                .area
                .draw(&Rectangle::new([(x0, y0), (x1, y1)], color(c).filled()))
                .is_ok();
            self.ok &= ok;
        }
    }

    fn line(&mut self, points: Vec<(i32, i32)>, c: Rgb, width: u32) {
        let style = ShapeStyle {
            color: color(c).to_rgba(),
            filled: false,
            stroke_width: width,
        };
        let ok = self.area.draw(&PathElement::new(points, style)).is_ok();
        self.ok &= ok;
    }

    fn dot(&mut self, x: i32, y: i32, r: i32, c: Rgb) {
        let ok = self
            .area
            .draw(&Circle::new((x, y), r, color(c).filled()))
            .is_ok();
        self.ok &= ok;
    }

    /// Text whose vertical centre is `y`, anchored at `x` as `h` says.
    fn text(&mut self, text: &str, x: i32, y: i32, px: f64, c: Rgb, h: HPos) {
        self.label(text, (x, y), px, c, h, FontStyle::Normal);
    }

    /// Bold text starting at `x`, vertically centred on `y`.
    fn bold(&mut self, text: &str, x: i32, y: i32, px: f64, c: Rgb) {
        self.label(text, (x, y), px, c, HPos::Left, FontStyle::Bold);
    }

    fn label(
        &mut self,
        text: &str,
        (x, y): (i32, i32),
        px: f64,
        c: Rgb,
        h: HPos,
        weight: FontStyle,
    ) {
        // The SVG backend writes the size divided by 1.24; multiply so CSS pixels come out.
        let style = FontDesc::new(FontFamily::Name(self.font), px * 1.24, weight)
            .color(&color(c))
            .pos(Pos::new(h, VPos::Center));
        let clean: String = text
            .chars()
            .map(|ch| if ch.is_control() { ' ' } else { ch })
            .collect();
        let ok = self.area.draw(&Text::new(clean, (x, y), style)).is_ok();
        self.ok &= ok;
    }
}

/// Draws `width` × `height` and finishes the SVG: `role="img"`, a `<title>`, sizes tidied, and
/// scaling to its container (a `viewBox`, no fixed width).
fn render(
    width: u32,
    height: u32,
    theme: &Theme,
    title: &str,
    draw: impl FnOnce(&mut Canvas<'_>),
) -> String {
    let mut buf = String::new();
    let ok = {
        let area = SVGBackend::with_string(&mut buf, (width, height)).into_drawing_area();
        let mut canvas = Canvas {
            area,
            font: &theme.font_family,
            ok: true,
        };
        draw(&mut canvas);
        canvas.area.present().is_ok() && canvas.ok
    };
    if !ok {
        buf = format!(
            "<svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" xmlns=\"http://www.w3.org/2000/svg\"></svg>"
        );
    }
    let title = format!("<title>{}</title>", escape(title));
    match buf
        .strip_prefix("<svg ")
        .and_then(|rest| rest.split_once('>'))
    {
        Some((attrs, rest)) => {
            // Let CSS size the chart: drop the fixed width/height, keep the viewBox.
            let attrs: Vec<&str> = split_attrs(attrs)
                .into_iter()
                .filter(|a| !a.starts_with("width=") && !a.starts_with("height="))
                .collect();
            format!(
                "<svg role=\"img\" class=\"chart\" {}>{title}{}",
                attrs.join(" "),
                tidy_font_sizes(rest)
            )
        }
        None => buf,
    }
}

/// Splits `a="1" b="2 3"` into its attributes.
fn split_attrs(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (None, false);
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if let Some(st) = start.take() {
                    out.push(&s[st..i]);
                }
                continue;
            }
            _ => {}
        }
        if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(st) = start {
        out.push(&s[st..]);
    }
    out
}

pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A generous width estimate (about DejaVu Sans) of `text` at `px`.
fn text_width(text: &str, px: f64) -> f64 {
    text.chars()
        .map(|c| match c {
            'i' | 'j' | 'l' | '.' | ',' | ':' | '\'' | '|' | '!' | 'I' | ' ' => 0.34,
            'm' | 'w' | 'M' | 'W' | '%' | '@' => 0.92,
            c if c.is_ascii_uppercase() => 0.72,
            c if c.is_ascii() => 0.62,
            _ => 1.0,
        })
        .sum::<f64>()
        * px
}

/// `text` cut with an ellipsis to fit `max` pixels at `px`.
fn fit(text: &str, px: f64, max: f64) -> String {
    if text_width(text, px) <= max {
        return text.to_owned();
    }
    let mut out = String::new();
    for c in text.chars() {
        out.push(c);
        if text_width(&out, px) + px > max {
            out.pop();
            break;
        }
    }
    format!("{}…", out.trim_end())
}

pub(crate) fn percent(rate: f64) -> String {
    format!("{:.0}%", (rate * 100.0).round())
}

/// Colour of the n-th shown team.
fn team_color(theme: &Theme, i: usize) -> Rgb {
    theme.categories[i % theme.categories.len()]
}

/// Horizontal bars: each team's opt-in rate now; hidden teams as a muted line without a bar. At
/// least `min_height` tall (to sit next to the other chart), rows centred in it.
pub(crate) fn rate_bars(a: &Aggregates, theme: &Theme, width: u32, min_height: u32) -> String {
    const MIN_ROW: i32 = 30;
    const MAX_ROW: i32 = 44;
    const TOP: i32 = PAD + 28;
    const AXIS: i32 = 22;
    let rows = a.teams.len().max(1) as i32;
    let height = (TOP + rows * MIN_ROW + AXIS + PAD).max(min_height as i32);
    let row_h = ((height - TOP - AXIS - PAD) / rows).clamp(MIN_ROW, MAX_ROW);
    let title = "Opt-in rate per team, now";
    let mut summary = vec![title.to_owned()];
    for t in &a.teams {
        summary.push(match t {
            TeamFigures::Shown(s) => format!("{} {}", s.team, percent(s.now.rate)),
            TeamFigures::Hidden { team, .. } => {
                format!("{team} not shown (fewer than {} people)", a.k)
            }
        });
    }
    render(width, height as u32, theme, &summary.join("; "), |c| {
        let w = width as i32;
        let (px, small) = (theme.label_px, theme.small_px);
        c.bold(title, PAD, PAD + 8, theme.title_px, theme.text);
        let name_col = a
            .teams
            .iter()
            .map(|t| match t {
                TeamFigures::Shown(s) => text_width(&s.team, px),
                TeamFigures::Hidden { team, .. } => text_width(team, px),
            })
            .fold(48.0, f64::max)
            .min(f64::from(w) * 0.3)
            .ceil() as i32;
        let pct_w = text_width("100%", px) as i32 + 8;
        let detail_w = a
            .teams
            .iter()
            .filter_map(|t| match t {
                TeamFigures::Shown(s) => Some(text_width(&details(s), small) as i32),
                TeamFigures::Hidden { .. } => None,
            })
            .max()
            .unwrap_or(0);
        let x0 = PAD + name_col + 12;
        let x1 = (w - PAD - 8 - pct_w - detail_w).max(x0 + 60);
        // The rows as a block, centred in the room there is.
        let block = rows * row_h;
        let top = TOP + (height - TOP - AXIS - PAD - block).max(0) / 2;
        let bottom = top + block;
        if a.teams.is_empty() {
            c.text(
                "No teams yet",
                (x0 + x1) / 2,
                top + row_h / 2,
                px,
                theme.muted,
                HPos::Center,
            );
        }
        // Quarter guides with their labels under the rows.
        for q in 0..=4 {
            let x = x0 + (x1 - x0) * q / 4;
            let line = if q == 0 { theme.axis } else { theme.grid };
            c.rect(x, top, x + 1, bottom, line);
            c.text(
                &format!("{}%", q * 25),
                x,
                bottom + 12,
                small,
                theme.muted,
                HPos::Center,
            );
        }
        let bar_h = (row_h * 9 / 20).max(12);
        let mut shown = 0;
        for (i, t) in a.teams.iter().enumerate() {
            let cy = top + i as i32 * row_h + row_h / 2;
            match t {
                TeamFigures::Shown(s) => {
                    let name = fit(&s.team, px, f64::from(name_col));
                    c.text(&name, PAD + name_col, cy, px, theme.text, HPos::Right);
                    let len = ((x1 - x0) as f64 * s.now.rate.clamp(0.0, 1.0)).round() as i32;
                    let top_y = cy - bar_h / 2;
                    c.rect(
                        x0 + 1,
                        top_y,
                        x0 + 1 + len.max(2),
                        top_y + bar_h,
                        team_color(theme, shown),
                    );
                    c.bold(&percent(s.now.rate), x1 + 8, cy, px, theme.text);
                    c.text(
                        &details(s),
                        x1 + 8 + pct_w,
                        cy,
                        small,
                        theme.muted,
                        HPos::Left,
                    );
                    shown += 1;
                }
                TeamFigures::Hidden { team, .. } => {
                    let name = fit(team, px, f64::from(name_col));
                    c.text(&name, PAD + name_col, cy, px, theme.muted, HPos::Right);
                    let note = format!("fewer than {} people: not shown", a.k);
                    c.text(&note, x0 + 10, cy, small, theme.muted, HPos::Left);
                }
            }
        }
    })
}

/// "5 of 6" for a shown team.
fn details(s: &crate::aggregates::ShownTeam) -> String {
    format!("{} of {}", s.now.participating, s.now.enrolled)
}

/// Lines: each shown team's opt-in rate per day; hidden days leave a gap.
pub(crate) fn rate_lines(a: &Aggregates, theme: &Theme, width: u32, height: u32) -> String {
    let shown: Vec<_> = a
        .teams
        .iter()
        .filter_map(|t| match t {
            TeamFigures::Shown(s) => Some(s),
            TeamFigures::Hidden { .. } => None,
        })
        .collect();
    let title = format!("Opt-in rate per day, last {} days", a.days.len());
    let mut summary = vec![title.clone()];
    for s in &shown {
        let last = s.daily.iter().rev().find_map(|d| match d {
            DayFigures::Shown { figures, .. } => Some(percent(figures.rate)),
            DayFigures::Hidden { .. } => None,
        });
        summary.push(format!(
            "{} {}",
            s.team,
            last.unwrap_or_else(|| "not shown".into())
        ));
    }
    render(width, height, theme, &summary.join("; "), |c| {
        let (w, h) = (width as i32, height as i32);
        let px = theme.small_px;
        c.bold(&title, PAD, PAD + 8, theme.title_px, theme.text);
        // Legend under the title, wrapping if needed.
        let (mut lx, mut ly) = (PAD, PAD + 32);
        for (i, s) in shown.iter().enumerate() {
            let label = fit(&s.team, px, 160.0);
            let item = 14 + text_width(&label, px) as i32 + 18;
            if lx + item > w - PAD && lx > PAD {
                lx = PAD;
                ly += 18;
            }
            c.rect(lx, ly - 5, lx + 10, ly + 5, team_color(theme, i));
            c.text(&label, lx + 14, ly, px, theme.muted, HPos::Left);
            lx += item;
        }
        let left = PAD + text_width("100%", px) as i32 + 8;
        let right = w - PAD - 22;
        let top = ly + 28;
        let bottom = h - PAD - 18;
        for q in 0..=4 {
            let y = bottom - (bottom - top) * q / 4;
            c.rect(
                left,
                y,
                right,
                y + 1,
                if q == 0 { theme.axis } else { theme.grid },
            );
            c.text(
                &format!("{}%", q * 25),
                left - 6,
                y,
                px,
                theme.muted,
                HPos::Right,
            );
        }
        let n = a.days.len().max(1) as i32;
        let x_of = |i: usize| {
            if n == 1 {
                (left + right) / 2
            } else {
                left + (right - left) * i as i32 / (n - 1)
            }
        };
        // Day labels: about one every 90 pixels, always the last one (today).
        let step = ((90 * (n - 1).max(1)) / (right - left).max(1)).max(1) as usize;
        for (i, day) in a.days.iter().enumerate() {
            let last = i + 1 == a.days.len();
            if (a.days.len() - 1 - i).is_multiple_of(step) || last {
                let label = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
                    .map(|d| d.format("%b %-d").to_string())
                    .unwrap_or_else(|_| day.clone());
                c.text(&label, x_of(i), bottom + 12, px, theme.muted, HPos::Center);
            }
        }
        if shown.is_empty() {
            let note = format!("No team has {} or more people yet", a.k);
            c.text(
                &note,
                (left + right) / 2,
                (top + bottom) / 2,
                theme.label_px,
                theme.muted,
                HPos::Center,
            );
        }
        let y_of =
            |rate: f64| bottom - ((bottom - top) as f64 * rate.clamp(0.0, 1.0)).round() as i32;
        for (ti, s) in shown.iter().enumerate() {
            let col = team_color(theme, ti);
            let mut run: Vec<(i32, i32)> = Vec::new();
            let mut runs = Vec::new();
            for (i, d) in s.daily.iter().enumerate() {
                match d {
                    DayFigures::Shown { figures, .. } => run.push((x_of(i), y_of(figures.rate))),
                    DayFigures::Hidden { .. } => runs.push(std::mem::take(&mut run)),
                }
            }
            runs.push(run);
            for r in runs.into_iter().filter(|r| !r.is_empty()) {
                for &(x, y) in &r {
                    c.dot(x, y, 3, col);
                }
                if r.len() > 1 {
                    c.line(r, col, 2);
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_split_on_unquoted_spaces() {
        assert_eq!(
            split_attrs(r#"width="1" viewBox="0 0 1 2" xmlns="x""#),
            vec![r#"width="1""#, r#"viewBox="0 0 1 2""#, r#"xmlns="x""#]
        );
        assert_eq!(
            tidy_font_sizes(r#"font-size="12.000001""#),
            r#"font-size="12""#
        );
        assert_eq!(
            fit("abcdefghijklmnop", 10.0, 60.0).chars().last(),
            Some('…')
        );
        assert_eq!(escape("<a&\"b\">"), "&lt;a&amp;&quot;b&quot;&gt;");
    }
}
