//! rdev's events as Glasshouse input. Runs on the writer thread, in capture order.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;

use glasshouse_core::keys::Key;
use glasshouse_core::model::{Button, Input};
use rdev::EventType;

use super::focus::Wake;

/// Generates the mapping for keys that have the same name in rdev and in the core, and the list
/// of them (so a test can check that every key the core names is reachable).
macro_rules! same_name_keys {
    ($($k:ident)*) => {
        pub(crate) fn map_key(key: rdev::Key) -> Key {
            match key {
                $(rdev::Key::$k => Key::$k,)*
                // X keycodes are 8..=255, so nothing is lost.
                rdev::Key::Unknown(n) => Key::Unknown(n as u16),
            }
        }

        #[cfg(test)]
        pub(crate) const RDEV_KEYS: &[rdev::Key] = &[$(rdev::Key::$k,)*];
    };
}

same_name_keys! {
    Alt AltGr Backspace CapsLock ControlLeft ControlRight Delete DownArrow End Escape
    F1 F2 F3 F4 F5 F6 F7 F8 F9 F10 F11 F12 Home LeftArrow MetaLeft MetaRight PageDown PageUp
    Return RightArrow ShiftLeft ShiftRight Space Tab UpArrow PrintScreen ScrollLock Pause NumLock
    BackQuote Num1 Num2 Num3 Num4 Num5 Num6 Num7 Num8 Num9 Num0 Minus Equal
    KeyQ KeyW KeyE KeyR KeyT KeyY KeyU KeyI KeyO KeyP LeftBracket RightBracket
    KeyA KeyS KeyD KeyF KeyG KeyH KeyJ KeyK KeyL SemiColon Quote BackSlash IntlBackslash
    KeyZ KeyX KeyC KeyV KeyB KeyN KeyM Comma Dot Slash Insert
    KpReturn KpMinus KpPlus KpMultiply KpDivide Kp0 Kp1 Kp2 Kp3 Kp4 Kp5 Kp6 Kp7 Kp8 Kp9 KpDelete
    Function
}

/// X buttons 4..=7 are the wheel. rdev turns their presses into `Wheel` but passes some releases
/// through as `Unknown(6|7)`: those must not count as clicks.
fn is_wheel_button(b: rdev::Button) -> bool {
    matches!(b, rdev::Button::Unknown(4..=7))
}

fn map_button(b: rdev::Button) -> Button {
    match b {
        rdev::Button::Left => Button::Left,
        rdev::Button::Right => Button::Right,
        rdev::Button::Middle => Button::Middle,
        rdev::Button::Unknown(n) => Button::Other(n),
    }
}

fn clamp_i32(v: i64) -> i32 {
    v.clamp(i32::MIN.into(), i32::MAX.into()) as i32
}

/// Turns rdev events into input, remembering the pointer position for button events (rdev gives
/// them none) and nudging the focus tracker when it needs input to notice focus changes.
pub(crate) struct Translator {
    x: i32,
    y: i32,
    /// Control, Alt and Super keys held down (bit per key): while any is, a key press is a
    /// shortcut, not typed text, whatever character X would map it to (Ctrl+C is not "c").
    shortcut_mods: u8,
    wake: SyncSender<Wake>,
    input_hints: Arc<AtomicBool>,
}

impl Translator {
    pub(crate) fn new(wake: SyncSender<Wake>, input_hints: Arc<AtomicBool>) -> Self {
        Translator {
            x: 0,
            y: 0,
            shortcut_mods: 0,
            wake,
            input_hints,
        }
    }

    pub(crate) fn translate(&mut self, event: rdev::Event) -> Option<Input> {
        let mut input = translate(event, &mut self.x, &mut self.y)?;
        self.shortcut_text(&mut input);
        if matches!(input, Input::KeyDown { .. } | Input::ButtonDown { .. })
            && self.input_hints.load(Ordering::Relaxed)
        {
            // A full queue means a look-up is already pending.
            let _ = self.wake.try_send(Wake::Input);
        }
        Some(input)
    }
}

impl Translator {
    /// Tracks the shortcut modifiers and drops the text of keys pressed while one is held.
    fn shortcut_text(&mut self, input: &mut Input) {
        let bit = |key: Key| match key {
            Key::ControlLeft => 1,
            Key::ControlRight => 2,
            Key::Alt => 4,
            Key::MetaLeft => 8,
            Key::MetaRight => 16,
            _ => 0,
        };
        match input {
            Input::KeyDown { key, text } => {
                if self.shortcut_mods != 0 {
                    *text = None;
                }
                self.shortcut_mods |= bit(*key);
            }
            Input::KeyUp { key } => self.shortcut_mods &= !bit(*key),
            _ => {}
        }
    }
}

fn translate(event: rdev::Event, x: &mut i32, y: &mut i32) -> Option<Input> {
    Some(match event.event_type {
        EventType::KeyPress(key) => Input::KeyDown {
            key: map_key(key),
            text: event.name.filter(|t| !t.is_empty()),
        },
        EventType::KeyRelease(key) => Input::KeyUp { key: map_key(key) },
        EventType::ButtonPress(b) if is_wheel_button(b) => return None,
        EventType::ButtonRelease(b) if is_wheel_button(b) => return None,
        EventType::ButtonPress(b) => Input::ButtonDown {
            button: map_button(b),
            x: *x,
            y: *y,
        },
        EventType::ButtonRelease(b) => Input::ButtonUp {
            button: map_button(b),
            x: *x,
            y: *y,
        },
        EventType::MouseMove { x: mx, y: my } => {
            // `as` saturates, and X coordinates are 16-bit anyway.
            *x = mx.round() as i32;
            *y = my.round() as i32;
            Input::Move { x: *x, y: *y }
        }
        EventType::Wheel { delta_x, delta_y } => Input::Wheel {
            dx: clamp_i32(delta_x),
            dy: clamp_i32(delta_y),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::time::SystemTime;

    #[test]
    fn every_key_the_core_names_is_mapped_from_rdev_by_name() {
        let mapped: HashSet<Key> = RDEV_KEYS.iter().map(|&k| map_key(k)).collect();
        let named: HashSet<Key> = Key::all_named().collect();
        assert_eq!(mapped, named);
        for &k in RDEV_KEYS {
            assert_eq!(map_key(k).name(), format!("{k:?}"));
        }
        assert_eq!(map_key(rdev::Key::Unknown(8)), Key::Unknown(8));
    }

    fn ev(event_type: EventType, name: Option<&str>) -> rdev::Event {
        rdev::Event {
            time: SystemTime::now(),
            name: name.map(Into::into),
            event_type,
        }
    }

    #[test]
    fn buttons_get_the_last_position_and_wheel_buttons_are_not_clicks() {
        let (x, y) = (&mut 0, &mut 0);
        let mut t = |e| translate(e, x, y);
        assert_eq!(
            t(ev(EventType::MouseMove { x: 100.0, y: 120.4 }, None)),
            Some(Input::Move { x: 100, y: 120 })
        );
        assert_eq!(
            t(ev(EventType::ButtonPress(rdev::Button::Left), None)),
            Some(Input::ButtonDown {
                button: Button::Left,
                x: 100,
                y: 120
            })
        );
        assert_eq!(
            t(ev(EventType::ButtonRelease(rdev::Button::Unknown(8)), None)),
            Some(Input::ButtonUp {
                button: Button::Other(8),
                x: 100,
                y: 120
            })
        );
        for n in 4..=7 {
            let b = rdev::Button::Unknown(n);
            assert_eq!(t(ev(EventType::ButtonPress(b), None)), None);
            assert_eq!(t(ev(EventType::ButtonRelease(b), None)), None);
        }
        assert_eq!(
            t(ev(
                EventType::Wheel {
                    delta_x: -1,
                    delta_y: 0
                },
                None
            )),
            Some(Input::Wheel { dx: -1, dy: 0 })
        );
    }

    #[test]
    fn shortcuts_are_not_typed_text() {
        let (wake, _rx) = std::sync::mpsc::sync_channel(1);
        let mut t = Translator::new(wake, Arc::new(AtomicBool::new(false)));
        let mut text_of = |key, name: Option<&str>, press: bool| {
            let kind = if press {
                EventType::KeyPress(key)
            } else {
                EventType::KeyRelease(key)
            };
            match t.translate(ev(kind, name)) {
                Some(Input::KeyDown { text, .. }) => text,
                _ => None,
            }
        };
        assert_eq!(text_of(rdev::Key::ControlLeft, Some(""), true), None);
        assert_eq!(
            text_of(rdev::Key::KeyC, Some("c"), true),
            None,
            "Ctrl+C is not a typed c"
        );
        text_of(rdev::Key::KeyC, None, false);
        text_of(rdev::Key::ControlLeft, None, false);
        assert_eq!(text_of(rdev::Key::KeyC, Some("c"), true), Some("c".into()));
        // AltGr composes characters: its text is typed text.
        text_of(rdev::Key::AltGr, Some(""), true);
        assert_eq!(text_of(rdev::Key::KeyE, Some("€"), true), Some("€".into()));
    }

    #[test]
    fn key_text_is_kept_on_press_only_and_empty_text_is_none() {
        let (x, y) = (&mut 0, &mut 0);
        let mut t = |e| translate(e, x, y);
        assert_eq!(
            t(ev(EventType::KeyPress(rdev::Key::KeyH), Some("H"))),
            Some(Input::KeyDown {
                key: Key::KeyH,
                text: Some("H".into())
            })
        );
        assert_eq!(
            t(ev(EventType::KeyPress(rdev::Key::ShiftLeft), Some(""))),
            Some(Input::KeyDown {
                key: Key::ShiftLeft,
                text: None
            })
        );
        assert_eq!(
            t(ev(EventType::KeyRelease(rdev::Key::KeyH), None)),
            Some(Input::KeyUp { key: Key::KeyH })
        );
    }
}
