//! Key charts, one per capture level: a keyboard heatmap (`full`), the category mix lives in
//! `bars.rs` (`categories`), and a plain total (`counts`).

use std::collections::HashMap;

use glasshouse_core::keys::Key;

use crate::canvas::{Align, Canvas, Label, Weight, fit_text, render, text_width};
use crate::format::thousands;
use crate::parts::{EMPTY, PAD, heat_scale, title};
use crate::theme::{Theme, log_scale};

const HEATMAP_TITLE: &str = "Keys pressed";

/// A key on the drawn keyboard: position and width in key units, a label and a shorter one for
/// when the first does not fit.
#[derive(Debug, Clone, Copy)]
struct Cap {
    key: Key,
    x: f64,
    y: f64,
    w: f64,
    label: &'static str,
    short: &'static str,
}

/// Width and height of the drawn keyboard in key units: a 15-unit main block, a half-unit gap,
/// a 3-unit navigation cluster; a function row, a small gap, five rows.
const KEYBOARD_W: f64 = 18.5;
const KEYBOARD_H: f64 = 6.0 + FN_GAP;
const FN_GAP: f64 = 0.35;

/// A US ANSI layout with the navigation cluster and arrows; no numeric keypad (it would cost a
/// fifth of the width for keys most people rarely press).
#[rustfmt::skip]
fn layout() -> Vec<Cap> {
    use Key::*;
    let mut caps = Vec::with_capacity(90);
    let mut row = |y: f64, x0: f64, keys: &[(Option<Key>, f64, &'static str, &'static str)]| {
        let mut x = x0;
        for (key, w, label, short) in keys {
            if let Some(key) = key {
                caps.push(Cap {
                    key: *key,
                    x,
                    y,
                    w: *w,
                    label,
                    short,
                });
            }
            x += w;
        }
    };
    let k = |key: Key, label: &'static str| (Some(key), 1.0, label, label);
    let wide = |key: Key, w: f64, label: &'static str, short: &'static str| (Some(key), w, label, short);
    let gap = |w: f64| (None, w, "", "");

    row(0.0, 0.0, &[
        k(Escape, "Esc"), gap(1.0),
        k(F1, "F1"), k(F2, "F2"), k(F3, "F3"), k(F4, "F4"), gap(0.5),
        k(F5, "F5"), k(F6, "F6"), k(F7, "F7"), k(F8, "F8"), gap(0.5),
        k(F9, "F9"), k(F10, "F10"), k(F11, "F11"), k(F12, "F12"),
    ]);
    row(0.0, 15.5, &[
        wide(PrintScreen, 1.0, "PrtSc", "Prt"),
        wide(ScrollLock, 1.0, "ScrLk", "Scr"),
        wide(Pause, 1.0, "Pause", "Pau"),
    ]);
    row(1.0 + FN_GAP, 0.0, &[
        k(BackQuote, "`"), k(Num1, "1"), k(Num2, "2"), k(Num3, "3"), k(Num4, "4"),
        k(Num5, "5"), k(Num6, "6"), k(Num7, "7"), k(Num8, "8"), k(Num9, "9"), k(Num0, "0"),
        k(Minus, "-"), k(Equal, "="), wide(Backspace, 2.0, "Backspace", "⌫"),
    ]);
    row(1.0 + FN_GAP, 15.5, &[
        wide(Insert, 1.0, "Ins", "Ins"),
        wide(Home, 1.0, "Home", "Hm"),
        wide(PageUp, 1.0, "PgUp", "PU"),
    ]);
    row(2.0 + FN_GAP, 0.0, &[
        wide(Tab, 1.5, "Tab", "Tab"),
        k(KeyQ, "Q"), k(KeyW, "W"), k(KeyE, "E"), k(KeyR, "R"), k(KeyT, "T"),
        k(KeyY, "Y"), k(KeyU, "U"), k(KeyI, "I"), k(KeyO, "O"), k(KeyP, "P"),
        k(LeftBracket, "["), k(RightBracket, "]"), wide(BackSlash, 1.5, "\\", "\\"),
    ]);
    row(2.0 + FN_GAP, 15.5, &[
        wide(Delete, 1.0, "Del", "Del"),
        wide(End, 1.0, "End", "End"),
        wide(PageDown, 1.0, "PgDn", "PD"),
    ]);
    row(3.0 + FN_GAP, 0.0, &[
        wide(CapsLock, 1.75, "Caps Lock", "Caps"),
        k(KeyA, "A"), k(KeyS, "S"), k(KeyD, "D"), k(KeyF, "F"), k(KeyG, "G"),
        k(KeyH, "H"), k(KeyJ, "J"), k(KeyK, "K"), k(KeyL, "L"),
        k(SemiColon, ";"), k(Quote, "'"), wide(Return, 2.25, "Enter", "↵"),
    ]);
    row(4.0 + FN_GAP, 0.0, &[
        wide(ShiftLeft, 2.25, "Shift", "⇧"),
        k(KeyZ, "Z"), k(KeyX, "X"), k(KeyC, "C"), k(KeyV, "V"), k(KeyB, "B"),
        k(KeyN, "N"), k(KeyM, "M"), k(Comma, ","), k(Dot, "."), k(Slash, "/"),
        wide(ShiftRight, 2.75, "Shift", "⇧"),
    ]);
    row(4.0 + FN_GAP, 16.5, &[k(UpArrow, "↑")]);
    row(5.0 + FN_GAP, 0.0, &[
        wide(ControlLeft, 1.25, "Ctrl", "Ctl"),
        wide(MetaLeft, 1.25, "Super", "Sup"),
        wide(Alt, 1.25, "Alt", "Alt"),
        wide(Space, 6.25, "Space", ""),
        wide(AltGr, 1.25, "AltGr", "AGr"),
        wide(MetaRight, 1.25, "Super", "Sup"),
        wide(Function, 1.25, "Fn", "Fn"),
        wide(ControlRight, 1.25, "Ctrl", "Ctl"),
    ]);
    row(5.0 + FN_GAP, 15.5, &[k(LeftArrow, "←"), k(DownArrow, "↓"), k(RightArrow, "→")]);
    caps
}

/// A keyboard coloured by how often each key was pressed, on a log scale so that the rarely used
/// keys are still told apart from the unused ones.
///
/// Keys that are not on the drawn layout (the numeric keypad, Num Lock, the ISO key next to left
/// Shift, keys the platform could not name) are not drawn and do not set the top of the colour
/// scale; a footnote says how many presses they had, so the total is never silently smaller.
pub fn keyboard_heatmap(counts: &[(Key, u64)], theme: &Theme, width: u32, height: u32) -> String {
    let caps = layout();
    let mut by_key: HashMap<Key, u64> = HashMap::new();
    for (key, n) in counts {
        let e = by_key.entry(*key).or_default();
        *e = e.saturating_add(*n);
    }
    let drawn_total = caps
        .iter()
        .map(|c| u128::from(by_key.get(&c.key).copied().unwrap_or(0)))
        .sum::<u128>();
    let all_total: u128 = by_key.values().map(|n| u128::from(*n)).sum();
    let not_drawn = all_total - drawn_total;
    let top = caps
        .iter()
        .map(|c| (c.key, by_key.get(&c.key).copied().unwrap_or(0)))
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.code().cmp(&a.0.code())))
        .filter(|(_, n)| *n > 0);

    let summary = match top {
        None if not_drawn == 0 => format!("{HEATMAP_TITLE}: {EMPTY}"),
        None => format!(
            "{HEATMAP_TITLE}: {} presses, none on the drawn keyboard",
            big(not_drawn)
        ),
        Some((key, n)) => {
            let label = caps.iter().find(|c| c.key == key).map_or("", |c| c.label);
            format!(
                "{HEATMAP_TITLE}: {} presses; most pressed: {label} ({})",
                big(all_total),
                thousands(n)
            )
        }
    };
    render(width, height, theme, &summary, |c| {
        let t = theme;
        let title_y = title(c, HEATMAP_TITLE, t);
        let kb_top = title_y + t.title_px as i32;
        let footer_h = t.label_px as i32 + 16;
        let avail_w = f64::from(c.width - 2 * PAD);
        let avail_h = f64::from(c.height - PAD - footer_h - kb_top);
        let unit = (avail_w / KEYBOARD_W).min(avail_h / KEYBOARD_H);
        if unit < 6.0 {
            return;
        }
        let left = f64::from(c.width) / 2.0 - unit * KEYBOARD_W / 2.0;
        let gap = (unit * 0.08).max(2.0);
        let radius = ((unit * 0.12) as i32).clamp(2, 5);
        let label_px = (unit * 0.3).clamp(8.0, t.small_px);
        let max = top.map_or(0, |(_, n)| n);

        for cap in &caps {
            let n = by_key.get(&cap.key).copied().unwrap_or(0);
            let x0 = (left + cap.x * unit + gap / 2.0).round() as i32;
            let y0 = (f64::from(kb_top) + cap.y * unit + gap / 2.0).round() as i32;
            let x1 = (left + (cap.x + cap.w) * unit - gap / 2.0).round() as i32;
            let y1 = (f64::from(kb_top) + (cap.y + 1.0) * unit - gap / 2.0).round() as i32;
            let label_color = if n == 0 {
                c.rounded_rect(x0, y0, x1, y1, radius, t.surface);
                c.rounded_frame(x0, y0, x1, y1, radius, t.grid);
                t.muted
            } else {
                let fill = t.heat_at(log_scale(n, max, 0.12));
                c.rounded_rect(x0, y0, x1, y1, radius, fill);
                t.text_on(fill)
            };
            let room = f64::from(x1 - x0) - 4.0;
            // One label size reads calmest: the abbreviation comes before a smaller font.
            let small = (label_px * 0.85).max(8.0);
            let label = [
                (cap.label, label_px),
                (cap.short, label_px),
                (cap.label, small),
                (cap.short, small),
            ]
            .into_iter()
            .find(|(l, px)| text_width(l, *px, Weight::Normal) <= room);
            if let Some((label, px)) = label {
                c.text(
                    (x0 + x1) / 2,
                    (y0 + y1) / 2,
                    Label::new(label, px, label_color).align(Align::Middle),
                );
            }
        }

        let footer_y = c.height - PAD - t.label_px as i32 / 2 - 2;
        let scale_w = if top.is_some() {
            heat_scale(c, c.width - PAD, footer_y, t)
        } else {
            0
        };
        let mut note = match top {
            None => EMPTY.to_owned(),
            Some((key, n)) => {
                let label = caps.iter().find(|c| c.key == key).map_or("", |c| c.label);
                format!("Most pressed: {label} ({})", thousands(n))
            }
        };
        if not_drawn > 0 {
            note.push_str(&format!(" · {} more on keys not shown", big(not_drawn)));
        }
        let room = f64::from(c.width - 2 * PAD - scale_w - 16);
        let note = fit_text(&note, t.small_px, Weight::Normal, room);
        c.text(PAD, footer_y, Label::new(&note, t.small_px, t.muted));
    })
}

fn big(n: u128) -> String {
    match u64::try_from(n) {
        Ok(n) => thousands(n),
        Err(_) => format!("{n}"),
    }
}

const TOTALS_TITLE: &str = "Keys pressed";
const COUNTS_ONLY: &str = "Only key counts are recorded at this capture level";

/// The `counts` capture level keeps no key identity: a big number and a sentence saying why there
/// is no keyboard.
pub fn key_totals(total_keys: u64, theme: &Theme, width: u32, height: u32) -> String {
    let summary = if total_keys == 0 {
        format!("{TOTALS_TITLE}: {EMPTY}. {COUNTS_ONLY}.")
    } else {
        format!("{TOTALS_TITLE}: {}. {COUNTS_ONLY}.", thousands(total_keys))
    };
    render(width, height, theme, &summary, |c| {
        draw_totals(c, total_keys, theme)
    })
}

fn draw_totals(c: &mut Canvas<'_>, total: u64, t: &Theme) {
    let title_y = title(c, TOTALS_TITLE, t);
    let top = title_y + t.title_px as i32 / 2;
    let room_w = f64::from(c.width - 2 * PAD);
    let sentence = fit_text(COUNTS_ONLY, t.label_px, Weight::Normal, room_w);
    let body_h = c.height - PAD - top;
    let cx = c.width / 2;
    if total == 0 {
        let cy = top + body_h / 2;
        c.text(
            cx,
            cy - t.label_px as i32,
            Label::new(EMPTY, t.label_px * 1.3, t.muted).align(Align::Middle),
        );
        c.text(
            cx,
            cy + t.label_px as i32,
            Label::new(&sentence, t.label_px, t.muted).align(Align::Middle),
        );
        return;
    }
    let number = thousands(total);
    let per_px = text_width(&number, 1.0, Weight::Bold);
    let px = (room_w / per_px)
        .min(f64::from(body_h) * 0.45)
        .clamp(t.label_px, 64.0);
    let number = fit_text(&number, px, Weight::Bold, room_w);
    let gap = 10;
    let block = px as i32 + gap + t.label_px as i32;
    let y0 = top + (body_h - block) / 2;
    c.text(
        cx,
        y0 + px as i32 / 2,
        Label::new(&number, px, t.text).bold().align(Align::Middle),
    );
    c.text(
        cx,
        y0 + px as i32 + gap + t.label_px as i32 / 2,
        Label::new(&sentence, t.label_px, t.muted).align(Align::Middle),
    );
}
