//! Input capture: the one place that talks to the platform's input and window system.
//!
//! Capture runs in a **supervised child process**. On X11 the capture library (rdev, over Xlib)
//! exits the whole process when the X server goes away, and its `listen` can neither be stopped
//! nor called twice; so the app runs the same binary as `glasshouse capture-worker`
//! ([`worker::run`]) and keeps a [`Supervisor`] in its own process. The worker writes compact
//! binary frames ([`wire`]) to its stdout; the supervisor forwards them, in order, as
//! [`SupervisorEvent`]s and restarts the worker with exponential backoff when it dies.
//!
//! Everything X11-specific sits behind `#[cfg(target_os = "linux")] mod x11`; a macOS or Windows
//! backend would be a sibling module plugged into [`preflight`] and [`worker::run`]. The wire
//! format and the supervisor are platform independent.
//!
//! ## Privacy
//! - Only the person's own session is read: the worker connects to the X display named by
//!   `DISPLAY`, nothing else, and sends what it sees only to its parent over a pipe. Nothing is
//!   written to disk or to the network here; what is kept is decided downstream by the policy.
//! - Of the focused window only three strings are read: the process name, the WM_CLASS class and
//!   the title. No window contents, no screenshots, no clipboard.
//! - Whether the screen is locked is reported so that nothing typed while it is (the password
//!   that unlocks it, above all) is stored: the recorder pauses until it is unlocked.
//! - The worker never outlives the app: it is killed when the parent dies (`PR_SET_PDEATHSIG`) and
//!   exits by itself when its stdin closes or its stdout can no longer be written.

mod error;
pub mod supervisor;
pub mod wire;
pub mod worker;

#[cfg(target_os = "linux")]
mod x11;

use glasshouse_core::model::{Micros, RawEvent, Window};

pub use error::CaptureError;
pub use supervisor::{Supervisor, SupervisorConfig, SupervisorEvent};

/// What capture reports: an input, that the focus moved to another window, or that the screen
/// was locked or unlocked.
#[derive(Debug, Clone, PartialEq)]
pub enum CaptureMsg {
    Input(RawEvent),
    /// From `ts` on, input goes to `window`.
    Focus {
        ts: Micros,
        window: Window,
    },
    /// From `ts` on, the screen is locked (`locked: true`) or unlocked. Sent with the state found
    /// when capture starts (so a restarted capture corrects a lock it missed), then on every
    /// change. On X11: the screen saver is on, or a screen locker still holds the keyboard after
    /// it went off (see the `x11` module's `lock`).
    ScreenLock {
        ts: Micros,
        locked: bool,
    },
}

/// Whether capture is working right now.
#[derive(Debug, Clone, PartialEq)]
pub enum CaptureStatus {
    Running,
    /// Capture stopped; `reason` is a sentence meant for a person. The supervisor keeps retrying.
    Unavailable {
        reason: String,
    },
}

/// Checks, cheaply and without touching any UI toolkit, that capture can work in this session:
/// a display is set, it can be reached, and it has what capture needs.
pub fn preflight() -> Result<(), CaptureError> {
    #[cfg(target_os = "linux")]
    {
        x11::preflight()
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(CaptureError::Unsupported(std::env::consts::OS))
    }
}
