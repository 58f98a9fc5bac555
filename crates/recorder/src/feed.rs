//! The live feed: what was just stored, as a person reads it. Consecutive events of one kind in
//! one window become one item: typed text as a readable run, scrolling as steps, mouse movement
//! as a count and a distance. Nothing is shown that is not stored.
//!
//! The recorder keeps it ([`crate::live`]) and hands it to the dashboard (`Request::Feed`, and
//! pushed to subscribers as it changes).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use glasshouse_core::keys::{Key, KeyCategory};
use glasshouse_core::model::{MICROS_PER_SEC, Micros, Stored, Window};

/// How many items the feed keeps.
pub const FEED_ITEMS: usize = 50;
/// Events further apart than this start a new item.
const MERGE_GAP: Micros = 3 * MICROS_PER_SEC;

/// One line of the live feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FeedItem {
    /// Keys typed at the `full` level: `text` is what was typed (control keys as symbols).
    Text {
        app: String,
        title: String,
        text: String,
        keys: u64,
        start: Micros,
        end: Micros,
    },
    /// Keys at the `categories` or `counts` level: only what is stored, e.g. "4 letters, 1 digit".
    Keys {
        app: String,
        title: String,
        summary: String,
        keys: u64,
        #[serde(skip)]
        categories: Vec<(KeyCategory, u64)>,
        start: Micros,
        end: Micros,
    },
    Click {
        app: String,
        title: String,
        button: String,
        x: i32,
        y: i32,
        start: Micros,
        end: Micros,
    },
    Scroll {
        app: String,
        title: String,
        steps: u64,
        dx: i64,
        dy: i64,
        start: Micros,
        end: Micros,
    },
    Mouse {
        app: String,
        title: String,
        moves: u64,
        distance_px: u64,
        #[serde(skip)]
        last: (i32, i32),
        start: Micros,
        end: Micros,
    },
    /// Time in an excluded app: nothing else of it is stored.
    Excluded {
        secs: u64,
        start: Micros,
        end: Micros,
    },
}

impl FeedItem {
    fn end(&self) -> Micros {
        match self {
            FeedItem::Text { end, .. }
            | FeedItem::Keys { end, .. }
            | FeedItem::Click { end, .. }
            | FeedItem::Scroll { end, .. }
            | FeedItem::Mouse { end, .. }
            | FeedItem::Excluded { end, .. } => *end,
        }
    }

    fn window(&self) -> Option<(&str, &str)> {
        match self {
            FeedItem::Text { app, title, .. }
            | FeedItem::Keys { app, title, .. }
            | FeedItem::Click { app, title, .. }
            | FeedItem::Scroll { app, title, .. }
            | FeedItem::Mouse { app, title, .. } => Some((app, title)),
            FeedItem::Excluded { .. } => None,
        }
    }
}

/// How a key press reads in the feed when it typed no visible character.
fn key_symbol(key: Key, text: Option<&str>) -> Option<String> {
    match text {
        Some("\r" | "\n") => return Some("⏎".into()),
        Some("\u{8}") => return Some("⌫".into()),
        Some("\t") => return Some("⇥".into()),
        Some("\u{1b}") => return Some("⎋".into()),
        Some(t) if !t.is_empty() && !t.chars().any(char::is_control) => return Some(t.to_owned()),
        _ => {}
    }
    match key.category() {
        KeyCategory::Modifier => None,
        _ => Some(format!("‹{}›", key.name())),
    }
}

fn plural(n: u64, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else if one.ends_with('s') {
        // "key press" -> "key presses", not "key presss".
        format!("{n} {one}es")
    } else {
        format!("{n} {one}s")
    }
}

fn summarize(categories: &[(KeyCategory, u64)]) -> String {
    categories
        .iter()
        .map(|(c, n)| match c {
            KeyCategory::Punctuation => format!("{n} punctuation"),
            KeyCategory::Other => plural(*n, "other key"),
            KeyCategory::Space => plural(*n, "space key"),
            c => plural(*n, &format!("{} key", c.name())),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Builds the feed incrementally from stored events.
#[derive(Debug, Default)]
pub struct Feed {
    items: VecDeque<FeedItem>,
}

impl Feed {
    /// The items, oldest first.
    pub fn items(&self) -> Vec<FeedItem> {
        self.items.iter().cloned().collect()
    }

    /// Adds one stored event.
    pub fn push(&mut self, window: &Window, ts: Micros, event: &Stored) {
        let (app, title) = (window.app.as_str(), window.title.as_str());
        let same_window =
            |item: &FeedItem| item.window() == Some((app, title)) && ts - item.end() <= MERGE_GAP;
        let last = self.items.back_mut().filter(|i| ts - i.end() <= MERGE_GAP);
        match (event, last) {
            (Stored::Excluded, Some(FeedItem::Excluded { secs, end, .. })) => {
                *secs += 1;
                *end = ts;
                return;
            }
            (Stored::KeyDown { key, text }, Some(item @ FeedItem::Text { .. }))
                if same_window(item) =>
            {
                if let FeedItem::Text {
                    text: t, keys, end, ..
                } = item
                {
                    if let Some(s) = key_symbol(*key, text.as_deref()) {
                        t.push_str(&s);
                    }
                    *keys += 1;
                    *end = ts;
                }
                return;
            }
            (Stored::KeyDownCategory(_) | Stored::KeyPress, Some(item @ FeedItem::Keys { .. }))
                if same_window(item) =>
            {
                if let FeedItem::Keys {
                    categories,
                    summary,
                    keys,
                    end,
                    ..
                } = item
                {
                    *keys += 1;
                    *end = ts;
                    add_category(categories, event);
                    *summary = summary_of(categories, *keys);
                }
                return;
            }
            (Stored::Wheel { dx, dy }, Some(item @ FeedItem::Scroll { .. }))
                if same_window(item) =>
            {
                if let FeedItem::Scroll {
                    steps,
                    dx: sx,
                    dy: sy,
                    end,
                    ..
                } = item
                {
                    *steps += u64::from(dx.unsigned_abs() + dy.unsigned_abs());
                    *sx += i64::from(*dx);
                    *sy += i64::from(*dy);
                    *end = ts;
                }
                return;
            }
            (Stored::Move { x, y }, Some(item @ FeedItem::Mouse { .. })) if same_window(item) => {
                if let FeedItem::Mouse {
                    moves,
                    distance_px,
                    last,
                    end,
                    ..
                } = item
                {
                    let (ddx, ddy) = (f64::from(x - last.0), f64::from(y - last.1));
                    *distance_px += ddx.hypot(ddy) as u64;
                    *moves += 1;
                    *last = (*x, *y);
                    *end = ts;
                }
                return;
            }
            _ => {}
        }
        let (app, title) = (app.to_owned(), title.to_owned());
        let item = match event {
            Stored::KeyUp { .. } | Stored::KeyUpCategory(_) | Stored::ButtonUp { .. } => return,
            Stored::KeyDown { key, text } => FeedItem::Text {
                app,
                title,
                text: key_symbol(*key, text.as_deref()).unwrap_or_default(),
                keys: 1,
                start: ts,
                end: ts,
            },
            Stored::KeyDownCategory(_) | Stored::KeyPress => {
                let mut categories = Vec::new();
                add_category(&mut categories, event);
                FeedItem::Keys {
                    app,
                    title,
                    summary: summary_of(&categories, 1),
                    keys: 1,
                    categories,
                    start: ts,
                    end: ts,
                }
            }
            Stored::ButtonDown { button, x, y } => FeedItem::Click {
                app,
                title,
                button: button.name(),
                x: *x,
                y: *y,
                start: ts,
                end: ts,
            },
            Stored::Wheel { dx, dy } => FeedItem::Scroll {
                app,
                title,
                steps: u64::from(dx.unsigned_abs() + dy.unsigned_abs()),
                dx: i64::from(*dx),
                dy: i64::from(*dy),
                start: ts,
                end: ts,
            },
            Stored::Move { x, y } => FeedItem::Mouse {
                app,
                title,
                moves: 1,
                distance_px: 0,
                last: (*x, *y),
                start: ts,
                end: ts,
            },
            Stored::Excluded => FeedItem::Excluded {
                secs: 1,
                start: ts,
                end: ts,
            },
        };
        self.items.push_back(item);
        while self.items.len() > FEED_ITEMS {
            self.items.pop_front();
        }
    }

    /// Forgets everything (after a delete the feed is rebuilt from the store).
    pub fn clear(&mut self) {
        self.items.clear();
    }
}

fn add_category(categories: &mut Vec<(KeyCategory, u64)>, event: &Stored) {
    if let Stored::KeyDownCategory(c) = event {
        match categories.iter_mut().find(|(k, _)| k == c) {
            Some((_, n)) => *n += 1,
            None => categories.push((*c, 1)),
        }
    }
}

fn summary_of(categories: &[(KeyCategory, u64)], keys: u64) -> String {
    if categories.is_empty() {
        plural(keys, "key press")
    } else {
        summarize(categories)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glasshouse_core::model::Button;

    fn w(app: &str) -> Window {
        Window {
            app: app.into(),
            class: String::new(),
            title: format!("{app} title"),
        }
    }

    fn key(c: char) -> Stored {
        Stored::KeyDown {
            key: Key::KeyA,
            text: Some(c.to_string()),
        }
    }

    #[test]
    fn typing_becomes_readable_runs_per_window() {
        let mut f = Feed::default();
        for (i, c) in "hi!".chars().enumerate() {
            f.push(&w("xterm"), i as i64 * 1000, &key(c));
            f.push(
                &w("xterm"),
                i as i64 * 1000 + 1,
                &Stored::KeyUp { key: Key::KeyA },
            );
        }
        f.push(
            &w("xterm"),
            5000,
            &Stored::KeyDown {
                key: Key::ShiftLeft,
                text: None,
            },
        );
        f.push(
            &w("xterm"),
            6000,
            &Stored::KeyDown {
                key: Key::Return,
                text: Some("\r".into()),
            },
        );
        f.push(&w("firefox"), 7000, &key('x'));
        let items = f.items();
        assert_eq!(items.len(), 2);
        match &items[0] {
            FeedItem::Text {
                app, text, keys, ..
            } => {
                assert_eq!((app.as_str(), text.as_str(), *keys), ("xterm", "hi!⏎", 5));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&items[1], FeedItem::Text { app, .. } if app == "firefox"));
    }

    #[test]
    fn mouse_scroll_clicks_and_levels_are_summarised() {
        let mut f = Feed::default();
        let win = w("code");
        for i in 0..10 {
            f.push(
                &win,
                i * 8000,
                &Stored::Move {
                    x: i as i32 * 3,
                    y: i as i32 * 4,
                },
            );
        }
        f.push(
            &win,
            100_000,
            &Stored::ButtonDown {
                button: Button::Left,
                x: 27,
                y: 36,
            },
        );
        f.push(
            &win,
            100_100,
            &Stored::ButtonUp {
                button: Button::Left,
                x: 27,
                y: 36,
            },
        );
        for i in 0..3 {
            f.push(&win, 200_000 + i, &Stored::Wheel { dx: 0, dy: -1 });
        }
        f.push(&win, 300_000, &Stored::KeyDownCategory(KeyCategory::Letter));
        f.push(&win, 300_001, &Stored::KeyDownCategory(KeyCategory::Letter));
        f.push(&win, 300_002, &Stored::KeyDownCategory(KeyCategory::Digit));
        f.push(&Window::excluded(), 400_000, &Stored::Excluded);
        f.push(&Window::excluded(), 1_400_000, &Stored::Excluded);
        let items = f.items();
        assert!(
            matches!(
                items[0],
                FeedItem::Mouse {
                    moves: 10,
                    distance_px: 45,
                    ..
                }
            ),
            "{:?}",
            items[0]
        );
        assert!(
            matches!(&items[1], FeedItem::Click { button, x: 27, y: 36, .. } if button == "left")
        );
        assert!(matches!(
            items[2],
            FeedItem::Scroll {
                steps: 3,
                dy: -3,
                ..
            }
        ));
        assert!(
            matches!(&items[3], FeedItem::Keys { summary, keys: 3, .. } if summary == "2 letter keys, 1 digit key")
        );
        assert!(matches!(items[4], FeedItem::Excluded { secs: 2, .. }));
        assert_eq!(items.len(), 5);
    }

    #[test]
    fn the_feed_keeps_the_newest_items() {
        let mut f = Feed::default();
        for i in 0..(FEED_ITEMS as i64 + 20) {
            f.push(&w(&format!("app{i}")), i, &key('a'));
        }
        let items = f.items();
        assert_eq!(items.len(), FEED_ITEMS);
        assert!(matches!(&items[FEED_ITEMS - 1], FeedItem::Text { app, .. } if app == "app69"));
    }
}
