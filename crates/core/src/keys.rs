//! Key identity, independent of any platform: a stable numeric code (what the store keeps), a
//! stable name (what exports show) and the category used at the `categories` capture level.

use serde::{Deserialize, Serialize};

/// The kind of a key, kept instead of its identity at the `categories` capture level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum KeyCategory {
    Letter = 1,
    Digit = 2,
    Space = 3,
    Punctuation = 4,
    Modifier = 5,
    Navigation = 6,
    Function = 7,
    Other = 8,
}

impl KeyCategory {
    pub const ALL: [KeyCategory; 8] = [
        Self::Letter,
        Self::Digit,
        Self::Space,
        Self::Punctuation,
        Self::Modifier,
        Self::Navigation,
        Self::Function,
        Self::Other,
    ];

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Letter => "letter",
            Self::Digit => "digit",
            Self::Space => "space",
            Self::Punctuation => "punctuation",
            Self::Modifier => "modifier",
            Self::Navigation => "navigation",
            Self::Function => "function",
            Self::Other => "other",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }
}

macro_rules! keys {
    ($($variant:ident = $code:literal, $cat:ident;)*) => {
        /// A physical key. Codes are part of the on-disk format: never renumber one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Key {
            $($variant,)*
            /// A key the platform layer could not name, with its platform code.
            Unknown(u16),
        }

        impl Key {
            const TABLE: &'static [(Key, u16, &'static str, KeyCategory)] = &[
                $((Key::$variant, $code, stringify!($variant), KeyCategory::$cat),)*
            ];

            /// The stable numeric code kept in the store.
            pub fn code(self) -> u16 {
                match self {
                    $(Key::$variant => $code,)*
                    Key::Unknown(n) => UNKNOWN_BASE | (n & !UNKNOWN_BASE),
                }
            }

            pub fn category(self) -> KeyCategory {
                match self {
                    $(Key::$variant => KeyCategory::$cat,)*
                    Key::Unknown(_) => KeyCategory::Other,
                }
            }
        }
    };
}

const UNKNOWN_BASE: u16 = 0x8000;

keys! {
    KeyA = 1, Letter; KeyB = 2, Letter; KeyC = 3, Letter; KeyD = 4, Letter; KeyE = 5, Letter;
    KeyF = 6, Letter; KeyG = 7, Letter; KeyH = 8, Letter; KeyI = 9, Letter; KeyJ = 10, Letter;
    KeyK = 11, Letter; KeyL = 12, Letter; KeyM = 13, Letter; KeyN = 14, Letter; KeyO = 15, Letter;
    KeyP = 16, Letter; KeyQ = 17, Letter; KeyR = 18, Letter; KeyS = 19, Letter; KeyT = 20, Letter;
    KeyU = 21, Letter; KeyV = 22, Letter; KeyW = 23, Letter; KeyX = 24, Letter; KeyY = 25, Letter;
    KeyZ = 26, Letter;
    Num0 = 30, Digit; Num1 = 31, Digit; Num2 = 32, Digit; Num3 = 33, Digit; Num4 = 34, Digit;
    Num5 = 35, Digit; Num6 = 36, Digit; Num7 = 37, Digit; Num8 = 38, Digit; Num9 = 39, Digit;
    Kp0 = 40, Digit; Kp1 = 41, Digit; Kp2 = 42, Digit; Kp3 = 43, Digit; Kp4 = 44, Digit;
    Kp5 = 45, Digit; Kp6 = 46, Digit; Kp7 = 47, Digit; Kp8 = 48, Digit; Kp9 = 49, Digit;
    Space = 50, Space; Tab = 51, Space; Return = 52, Space; KpReturn = 53, Space;
    BackQuote = 60, Punctuation; Minus = 61, Punctuation; Equal = 62, Punctuation;
    LeftBracket = 63, Punctuation; RightBracket = 64, Punctuation; SemiColon = 65, Punctuation;
    Quote = 66, Punctuation; BackSlash = 67, Punctuation; IntlBackslash = 68, Punctuation;
    Comma = 69, Punctuation; Dot = 70, Punctuation; Slash = 71, Punctuation;
    KpMinus = 72, Punctuation; KpPlus = 73, Punctuation; KpMultiply = 74, Punctuation;
    KpDivide = 75, Punctuation; KpDelete = 76, Punctuation;
    ShiftLeft = 80, Modifier; ShiftRight = 81, Modifier; ControlLeft = 82, Modifier;
    ControlRight = 83, Modifier; Alt = 84, Modifier; AltGr = 85, Modifier; MetaLeft = 86, Modifier;
    MetaRight = 87, Modifier; CapsLock = 88, Modifier; NumLock = 89, Modifier; Function = 90, Modifier;
    UpArrow = 100, Navigation; DownArrow = 101, Navigation; LeftArrow = 102, Navigation;
    RightArrow = 103, Navigation; Home = 104, Navigation; End = 105, Navigation;
    PageUp = 106, Navigation; PageDown = 107, Navigation; Insert = 108, Navigation;
    Delete = 109, Navigation; Backspace = 110, Navigation;
    F1 = 120, Function; F2 = 121, Function; F3 = 122, Function; F4 = 123, Function;
    F5 = 124, Function; F6 = 125, Function; F7 = 126, Function; F8 = 127, Function;
    F9 = 128, Function; F10 = 129, Function; F11 = 130, Function; F12 = 131, Function;
    Escape = 140, Other; PrintScreen = 141, Other; ScrollLock = 142, Other; Pause = 143, Other;
}

impl Key {
    /// Decodes a stored code; codes this version does not know come back as `Unknown`.
    pub fn from_code(code: u16) -> Key {
        if code & UNKNOWN_BASE != 0 {
            return Key::Unknown(code & !UNKNOWN_BASE);
        }
        Self::TABLE
            .iter()
            .find(|(_, c, _, _)| *c == code)
            .map_or(Key::Unknown(code), |(k, _, _, _)| *k)
    }

    /// The name exports show, e.g. `KeyA`, `ShiftLeft`, `Unknown(8)`.
    pub fn name(self) -> String {
        match self {
            Key::Unknown(n) => format!("Unknown({n})"),
            k => Self::TABLE
                .iter()
                .find(|(t, _, _, _)| *t == k)
                .map_or_else(String::new, |(_, _, name, _)| (*name).to_owned()),
        }
    }

    /// Parses a name produced by [`Key::name`].
    pub fn from_name(name: &str) -> Option<Key> {
        if let Some(n) = name
            .strip_prefix("Unknown(")
            .and_then(|r| r.strip_suffix(')'))
        {
            return n.parse().ok().map(Key::Unknown);
        }
        Self::TABLE
            .iter()
            .find(|(_, _, n, _)| *n == name)
            .map(|(k, _, _, _)| *k)
    }

    /// Every named key, in code order (for keyboard heatmaps and tests).
    pub fn all_named() -> impl Iterator<Item = Key> {
        Self::TABLE.iter().map(|(k, _, _, _)| *k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for key in Key::all_named() {
            assert!(seen.insert(key.code()), "duplicate code for {key:?}");
            assert_eq!(Key::from_code(key.code()), key);
            assert_eq!(Key::from_name(&key.name()), Some(key));
        }
        let unknown = Key::Unknown(8);
        assert_eq!(Key::from_code(unknown.code()), unknown);
        assert_eq!(Key::from_name("Unknown(8)"), Some(unknown));
    }

    #[test]
    fn categories_are_what_a_person_expects() {
        assert_eq!(Key::KeyQ.category(), KeyCategory::Letter);
        assert_eq!(Key::Kp7.category(), KeyCategory::Digit);
        assert_eq!(Key::Return.category(), KeyCategory::Space);
        assert_eq!(Key::Comma.category(), KeyCategory::Punctuation);
        assert_eq!(Key::ShiftRight.category(), KeyCategory::Modifier);
        assert_eq!(Key::PageDown.category(), KeyCategory::Navigation);
        assert_eq!(Key::F11.category(), KeyCategory::Function);
        assert_eq!(Key::Unknown(3).category(), KeyCategory::Other);
        for c in KeyCategory::ALL {
            assert_eq!(KeyCategory::from_code(c.code()), Some(c));
            assert_eq!(KeyCategory::from_name(c.name()), Some(c));
        }
    }
}
