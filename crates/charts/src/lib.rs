//! Glasshouse charts: what the dashboard shows of a person's own recorded input, rendered in Rust
//! with plotters as SVG strings that the UI only inserts.
//!
//! Every chart is a pure function: data in, SVG out, no I/O, and the same bytes for the same
//! input. **Invariants:** every SVG is well-formed XML whatever the input (text is escaped and
//! control characters are replaced, so an application name like `<script>` is just text); every
//! chart carries `role="img"` and a `<title>` summarising it for screen readers, and a visible
//! title or axis labels so it reads on its own; no background is painted, so the page's shows
//! through; and empty data draws "Nothing recorded yet" rather than an empty frame.
//!
//! Text is left to the browser: labels are SVG `<text>` in the [`Theme`]'s CSS font family, so
//! there are no font files and no system font libraries (see `canvas.rs` for how layout copes
//! without exact text metrics).

mod bars;
mod canvas;
mod clicks;
mod format;
mod keys;
mod parts;
mod theme;
mod timeline;

pub use bars::{AppBar, app_bars, category_mix};
pub use canvas::tidy_font_sizes;
pub use clicks::click_heatmap;
pub use keys::{key_totals, keyboard_heatmap};
pub use theme::{Rgb, Theme};
pub use timeline::{MinutePoint, Timeline, timeline, timeline_titled};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod xml_check;
