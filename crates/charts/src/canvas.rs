//! A thin layer over plotters' SVG backend: pixel-coordinate shapes and text in the theme's font,
//! our own text measurement, and the finishing touches plotters does not do (an accessible
//! `<title>`, `role="img"`).
//!
//! ## Text
//! Text is emitted as SVG `<text>` with the theme's CSS font family and laid out by the browser, so
//! this crate needs no font files and no system font libraries (plotters is built without its
//! `ttf` and `ab_glyph` features). Layout decisions that depend on text width (label columns,
//! truncation, whether a label fits inside a bar) use [`text_width`], a deliberately generous
//! estimate: a label that the estimate says fits will fit in common UI faces.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::theme::{Rgb, Theme};

/// Horizontal anchoring of a text label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Start,
    Middle,
    End,
}

/// Font weight of a text label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Weight {
    Normal,
    Bold,
}

/// A text label: what, where it sits, how it looks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Label<'t> {
    pub text: &'t str,
    pub px: f64,
    pub color: Rgb,
    pub align: Align,
    pub weight: Weight,
    /// Rotated a quarter turn counter-clockwise (a y-axis title).
    pub vertical: bool,
}

impl<'t> Label<'t> {
    pub fn new(text: &'t str, px: f64, color: Rgb) -> Self {
        Label {
            text,
            px,
            color,
            align: Align::Start,
            weight: Weight::Normal,
            vertical: false,
        }
    }

    pub fn align(mut self, align: Align) -> Self {
        self.align = align;
        self
    }

    pub fn bold(mut self) -> Self {
        self.weight = Weight::Bold;
        self
    }

    pub fn vertical(mut self) -> Self {
        self.vertical = true;
        self
    }
}

type Area<'b> = DrawingArea<SVGBackend<'b>, Shift>;
type Drawn = Result<(), DrawingAreaErrorKind<std::io::Error>>;

/// Draws into an SVG string. Drawing into a string cannot fail (plotters' SVG backend only fails
/// writing files, and its built-in font never fails), so the first error, should one appear in a
/// later plotters, is kept and the chart is replaced by a short notice instead of panicking.
pub(crate) struct Canvas<'b> {
    area: Area<'b>,
    font: &'b str,
    pub width: i32,
    pub height: i32,
    failed: bool,
}

impl std::fmt::Debug for Canvas<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Canvas")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

/// Renders a chart: `draw` paints on a canvas of `width` × `height` (each at least 1), and the
/// result gets `title` as its accessible name.
pub(crate) fn render(
    width: u32,
    height: u32,
    theme: &Theme,
    title: &str,
    draw: impl FnOnce(&mut Canvas<'_>),
) -> String {
    let (width, height) = (width.clamp(1, 16_384), height.clamp(1, 16_384));
    let mut buf = String::new();
    let failed = {
        let area = SVGBackend::with_string(&mut buf, (width, height)).into_drawing_area();
        let mut canvas = Canvas {
            area,
            font: &theme.font_family,
            width: width as i32,
            height: height as i32,
            failed: false,
        };
        draw(&mut canvas);
        let presented = canvas.area.present().is_ok();
        canvas.failed || !presented
    };
    if failed {
        return fallback(width, height, theme, title);
    }
    finish(tidy_font_sizes(&buf), title)
}

/// Rewrites `font-size="15.000000000000002"` as `font-size="15"` (at most two decimals): what
/// plotters' SVG backend writes, made readable (the collector's charts use it too).
pub fn tidy_font_sizes(svg: &str) -> String {
    const ATTR: &str = "font-size=\"";
    let mut out = String::with_capacity(svg.len());
    let mut rest = svg;
    while let Some(at) = rest.find(ATTR) {
        let (head, tail) = rest.split_at(at + ATTR.len());
        out.push_str(head);
        let end = tail.find('"').unwrap_or(tail.len());
        match tail[..end].parse::<f64>() {
            Ok(v) => {
                let s = format!("{v:.2}");
                out.push_str(s.trim_end_matches('0').trim_end_matches('.'));
            }
            Err(_) => out.push_str(&tail[..end]),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// The notice shown if plotters ever reports an error: still a valid, titled SVG.
fn fallback(width: u32, height: u32, theme: &Theme, title: &str) -> String {
    let (r, g, b) = (theme.muted.0, theme.muted.1, theme.muted.2);
    let svg = format!(
        "<svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         xmlns=\"http://www.w3.org/2000/svg\">\n<text x=\"8\" y=\"20\" font-family=\"{}\" \
         font-size=\"{}\" fill=\"#{r:02X}{g:02X}{b:02X}\">This chart could not be drawn</text>\n</svg>\n",
        escape_xml(&theme.font_family),
        theme.label_px,
    );
    finish(svg, title)
}

/// Adds the accessible name: `role="img"` and a `<title>` as the root's first child, which is
/// what screen readers announce for an inline SVG.
fn finish(mut svg: String, title: &str) -> String {
    if let Some(rest) = svg.strip_prefix("<svg ") {
        svg = format!("<svg role=\"img\" {rest}");
    }
    if let Some(end) = svg.find('>') {
        let title = format!("<title>{}</title>\n", escape_xml(&clean_text(title)));
        let at = if svg[end + 1..].starts_with('\n') {
            end + 2
        } else {
            svg.insert(end + 1, '\n');
            end + 2
        };
        svg.insert_str(at, &title);
    }
    svg
}

impl Canvas<'_> {
    fn note(&mut self, drawn: Drawn) {
        if drawn.is_err() {
            self.failed = true;
        }
    }

    /// A filled rectangle from (x0, y0) to (x1, y1), exclusive of the far edges; empty ones are
    /// skipped.
    pub fn rect(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, color: Rgb, alpha: f64) {
        if x1 <= x0 || y1 <= y0 || alpha <= 0.0 {
            return;
        }
        let style = ShapeStyle {
            color: rgb(color).mix(alpha),
            filled: true,
            stroke_width: 0,
        };
        let drawn = self.area.draw(&Rectangle::new([(x0, y0), (x1, y1)], style));
        self.note(drawn);
    }

    /// A one-pixel horizontal rule; drawn as a filled rectangle so it stays crisp on the pixel
    /// grid (a 1-px stroke on integer coordinates straddles two pixels and blurs).
    pub fn hline(&mut self, x0: i32, x1: i32, y: i32, color: Rgb) {
        self.rect(x0, y, x1, y + 1, color, 1.0);
    }

    pub fn vline(&mut self, x: i32, y0: i32, y1: i32, color: Rgb, alpha: f64) {
        self.rect(x, y0, x + 1, y1, color, alpha);
    }

    /// A filled polygon.
    pub fn polygon(&mut self, points: Vec<(i32, i32)>, color: Rgb, alpha: f64) {
        if points.len() < 3 || alpha <= 0.0 {
            return;
        }
        let drawn = self
            .area
            .draw(&Polygon::new(points, rgb(color).mix(alpha).filled()));
        self.note(drawn);
    }

    /// A filled rectangle with rounded corners (plotters has no rounded primitive, so the corners
    /// are short polylines).
    pub fn rounded_rect(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, r: i32, color: Rgb) {
        if x1 <= x0 || y1 <= y0 {
            return;
        }
        let points = rounded_outline(x0, y0, x1, y1, r);
        self.polygon(points, color, 1.0);
    }

    /// The outline of a rounded rectangle, one pixel wide.
    pub fn rounded_frame(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, r: i32, color: Rgb) {
        if x1 <= x0 || y1 <= y0 {
            return;
        }
        let mut points = rounded_outline(x0, y0, x1, y1, r);
        points.push(points[0]);
        let drawn = self
            .area
            .draw(&PathElement::new(points, rgb(color).stroke_width(1)));
        self.note(drawn);
    }

    /// Text whose baseline-independent vertical centre is at `y`.
    pub fn text(&mut self, x: i32, y: i32, label: Label<'_>) {
        let text = clean_text(label.text);
        if text.trim().is_empty() {
            return;
        }
        let h = match label.align {
            Align::Start => HPos::Left,
            Align::Middle => HPos::Center,
            Align::End => HPos::Right,
        };
        let style = match label.weight {
            Weight::Normal => FontStyle::Normal,
            Weight::Bold => FontStyle::Bold,
        };
        // The SVG backend writes `font-size` as the given size divided by 1.24 (its point/pixel
        // convention), so multiply to get CSS pixels; `tidy_font_sizes` rounds off the float noise.
        let mut font = FontDesc::new(FontFamily::Name(self.font), label.px * 1.24, style);
        if label.vertical {
            font = font.transform(FontTransform::Rotate270);
        }
        let color = rgb(label.color);
        let text_style = font.color(&color).pos(Pos::new(h, VPos::Center));
        let drawn = self.area.draw(&Text::new(text, (x, y), text_style));
        self.note(drawn);
    }
}

fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

fn rounded_outline(x0: i32, y0: i32, x1: i32, y1: i32, r: i32) -> Vec<(i32, i32)> {
    let r = r.min((x1 - x0) / 2).min((y1 - y0) / 2).max(0);
    if r == 0 {
        return vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1)];
    }
    // Corner centres, and the angle (in quarter turns) at which each corner's arc starts.
    let corners = [
        (x1 - r, y0 + r, 3.0),
        (x1 - r, y1 - r, 0.0),
        (x0 + r, y1 - r, 1.0),
        (x0 + r, y0 + r, 2.0),
    ];
    let steps = 3;
    let mut points = Vec::with_capacity(4 * (steps + 1));
    for (cx, cy, start) in corners {
        for i in 0..=steps {
            let a = (start + i as f64 / steps as f64) * std::f64::consts::FRAC_PI_2;
            let p = (
                cx + (f64::from(r) * a.cos()).round() as i32,
                cy + (f64::from(r) * a.sin()).round() as i32,
            );
            if points.last() != Some(&p) {
                points.push(p);
            }
        }
    }
    points
}

/// Removes what XML cannot carry even escaped (control characters) and folds line breaks, so any
/// string, such as an application name, can be shown.
pub(crate) fn clean_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// At most `max_chars` characters of `text`, with an ellipsis if it was longer (for the
/// accessible title, where pixel widths do not matter).
pub(crate) fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Escapes text for XML element content and attribute values.
pub(crate) fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// An estimate of the rendered width of `text` at `px`, on the generous side: it is tuned to
/// DejaVu Sans, one of the widest common UI faces, so labels also fit in narrower ones.
pub(crate) fn text_width(text: &str, px: f64, weight: Weight) -> f64 {
    text.chars().map(char_em).sum::<f64>() * px * weight_factor(weight)
}

fn weight_factor(weight: Weight) -> f64 {
    match weight {
        Weight::Normal => 1.0,
        Weight::Bold => 1.08,
    }
}

fn char_em(c: char) -> f64 {
    match c {
        'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' | 'I' => 0.30,
        'f' | 't' | 'r' | ' ' | '(' | ')' | '[' | ']' | '-' | '`' => 0.40,
        'm' | 'w' | 'M' | 'W' | '@' | '%' => 0.92,
        '0'..='9' => 0.64,
        c if c.is_ascii_uppercase() => 0.70,
        c if c.is_ascii() => 0.60,
        // CJK and other wide scripts take a full em.
        c if u32::from(c) >= 0x2E80 => 1.0,
        _ => 0.70,
    }
}

/// `text` shortened with an ellipsis so that it fits in `max_width`.
pub(crate) fn fit_text(text: &str, px: f64, weight: Weight, max_width: f64) -> String {
    let text = clean_text(text);
    if text_width(&text, px, weight) <= max_width {
        return text;
    }
    let scale = px * weight_factor(weight);
    let budget = max_width - char_em('…') * scale;
    let mut used = 0.0;
    let mut out = String::new();
    for c in text.chars() {
        used += char_em(c) * scale;
        if used > budget {
            break;
        }
        out.push(c);
    }
    let mut out = out.trim_end().to_owned();
    out.push('…');
    out
}
