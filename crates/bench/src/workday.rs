//! A synthetic heavy workday of raw input, as the capture layer would deliver it: about 1.1M
//! mouse moves (125 a second while the mouse is in use), 90k key events, 5k button events and
//! 10k wheel steps over 8 hours, in five apps whose window titles change now and then.

use glasshouse_core::keys::Key;
use glasshouse_core::model::{Button, Input, MICROS_PER_SEC, Micros, RawEvent, Window};

/// What the capture layer delivers: input, or a change of the focused window.
#[derive(Debug)]
pub enum Item {
    Input(RawEvent),
    Focus(Window),
}

const APPS: [&str; 5] = ["firefox-esr", "code", "xterm", "slack", "libreoffice"];
const WORKDAY_SECS: i64 = 8 * 3600;
const LETTERS: [(Key, char); 8] = [
    (Key::KeyE, 'e'),
    (Key::KeyT, 't'),
    (Key::KeyA, 'a'),
    (Key::KeyO, 'o'),
    (Key::KeyN, 'n'),
    (Key::Space, ' '),
    (Key::KeyS, 's'),
    (Key::KeyR, 'r'),
];

/// A small deterministic PRNG (xorshift64*), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The items of one workday starting at `start`, generated lazily.
pub fn heavy_workday(start: Micros, seed: u64) -> impl Iterator<Item = Item> {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let (mut x, mut y) = (640i32, 400i32);
    (0..WORKDAY_SECS).flat_map(move |s| {
        let mut items = Vec::new();
        let t0 = start + s * MICROS_PER_SEC;
        if s % 300 == 0 {
            let app = APPS[rng.below(APPS.len() as u64) as usize];
            items.push(Item::Focus(Window {
                app: app.into(),
                class: String::new(),
                title: format!("{app} document {}", rng.below(4)),
            }));
        }
        // Ten-second stretches of mouse work (30%), typing (40%) or idling (30%).
        let mode = (s / 10).wrapping_mul(2_654_435_761) % 10;
        let input = |ts, input| Item::Input(RawEvent { ts, input });
        match mode {
            0..=2 => {
                for i in 0..125 {
                    x = (x + rng.below(7) as i32 - 3).clamp(0, 1279);
                    y = (y + rng.below(7) as i32 - 3).clamp(0, 799);
                    items.push(input(t0 + i * 8000, Input::Move { x, y }));
                }
                if rng.below(100) < 29 {
                    let b = Button::Left;
                    items.push(input(t0 + 500_001, Input::ButtonDown { button: b, x, y }));
                    items.push(input(t0 + 600_001, Input::ButtonUp { button: b, x, y }));
                }
                for k in 0..(1 + rng.below(100) / 85) as i64 {
                    items.push(input(
                        t0 + 700_003 + k * 1000,
                        Input::Wheel { dx: 0, dy: -1 },
                    ));
                }
            }
            3..=6 => {
                for k in 0..4 {
                    let (key, c) = LETTERS[rng.below(LETTERS.len() as u64) as usize];
                    let ts = t0 + k * 250_000 + rng.below(50_000) as i64;
                    items.push(input(
                        ts,
                        Input::KeyDown {
                            key,
                            text: Some(c.to_string()),
                        },
                    ));
                    items.push(input(ts + 80_000, Input::KeyUp { key }));
                }
            }
            _ => {}
        }
        items.sort_by_key(|i| match i {
            Item::Focus(_) => i64::MIN,
            Item::Input(e) => e.ts,
        });
        items
    })
}
