//! What flows through the recorder: raw input as captured, the window it went to, and the event as
//! the policy lets it be stored.

use serde::{Deserialize, Serialize};

use crate::keys::{Key, KeyCategory};

/// Microseconds since the Unix epoch, UTC. Every timestamp in Glasshouse is one of these.
pub type Micros = i64;

pub const MICROS_PER_SEC: Micros = 1_000_000;
pub const MICROS_PER_MINUTE: Micros = 60 * MICROS_PER_SEC;

/// The current time as [`Micros`].
pub fn now_micros() -> Micros {
    chrono::Utc::now().timestamp_micros()
}

/// A mouse button.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Button {
    Left,
    Right,
    Middle,
    /// Any other button, with the platform's number.
    Other(u8),
}

impl Button {
    /// Stable code kept in the store.
    pub fn code(self) -> u8 {
        match self {
            Button::Left => 1,
            Button::Middle => 2,
            Button::Right => 3,
            Button::Other(n) => n,
        }
    }

    pub fn from_code(code: u8) -> Button {
        match code {
            1 => Button::Left,
            2 => Button::Middle,
            3 => Button::Right,
            n => Button::Other(n),
        }
    }

    pub fn name(self) -> String {
        match self {
            Button::Left => "left".into(),
            Button::Middle => "middle".into(),
            Button::Right => "right".into(),
            Button::Other(n) => format!("button{n}"),
        }
    }
}

/// Input exactly as the platform reported it, before any policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// `text` is what the key typed (with Shift and CapsLock applied), if anything.
    KeyDown {
        key: Key,
        text: Option<String>,
    },
    KeyUp {
        key: Key,
    },
    /// Buttons carry the pointer position of the last movement.
    ButtonDown {
        button: Button,
        x: i32,
        y: i32,
    },
    ButtonUp {
        button: Button,
        x: i32,
        y: i32,
    },
    Move {
        x: i32,
        y: i32,
    },
    /// Wheel steps: positive `dy` is up/away, positive `dx` is right.
    Wheel {
        dx: i32,
        dy: i32,
    },
}

/// A captured input with the time it was enqueued by the capture callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEvent {
    pub ts: Micros,
    pub input: Input,
}

/// The application and window that had the focus.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Window {
    /// Application name: the process name, or the WM_CLASS instance when there is no process.
    pub app: String,
    /// WM_CLASS class (e.g. `XTerm`); used for matching exclusions, never stored.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub class: String,
    /// Window title.
    pub title: String,
}

impl Window {
    /// The window that stands for "some excluded application": no name, no title.
    pub const EXCLUDED_APP: &'static str = "(excluded app)";
    /// Input seen while no window had the focus.
    pub const UNKNOWN_APP: &'static str = "(unknown)";

    pub fn excluded() -> Window {
        Window {
            app: Self::EXCLUDED_APP.into(),
            class: String::new(),
            title: String::new(),
        }
    }

    pub fn unknown() -> Window {
        Window {
            app: Self::UNKNOWN_APP.into(),
            class: String::new(),
            title: String::new(),
        }
    }
}

/// An event as it is kept, after the policy. Which key variants occur depends on the capture level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// `full` level: key identity and typed text.
    KeyDown {
        key: Key,
        text: Option<String>,
    },
    KeyUp {
        key: Key,
    },
    /// `categories` level: only the kind of key.
    KeyDownCategory(KeyCategory),
    KeyUpCategory(KeyCategory),
    /// `counts` level: only that a key was pressed.
    KeyPress,
    ButtonDown {
        button: Button,
        x: i32,
        y: i32,
    },
    ButtonUp {
        button: Button,
        x: i32,
        y: i32,
    },
    Move {
        x: i32,
        y: i32,
    },
    Wheel {
        dx: i32,
        dy: i32,
    },
    /// Time passed in an excluded application (at most one marker per second).
    Excluded,
}

impl Stored {
    /// The name of the event kind in exports.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Stored::KeyDown { .. } | Stored::KeyDownCategory(_) | Stored::KeyPress => "key_down",
            Stored::KeyUp { .. } | Stored::KeyUpCategory(_) => "key_up",
            Stored::ButtonDown { .. } => "button_down",
            Stored::ButtonUp { .. } => "button_up",
            Stored::Move { .. } => "move",
            Stored::Wheel { .. } => "wheel",
            Stored::Excluded => "excluded",
        }
    }

    /// Whether this counts as a key press in the rollups.
    pub fn is_key_press(&self) -> bool {
        matches!(
            self,
            Stored::KeyDown { .. } | Stored::KeyDownCategory(_) | Stored::KeyPress
        )
    }
}

/// An event as stored: when, in which window, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub ts: Micros,
    pub event: Stored,
}
