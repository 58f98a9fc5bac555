//! The tray icon: always there, its picture and tooltip say the state in one glance, its menu
//! pauses, resumes, opens the dashboard and quits. Menu ids are an enum, not strings.
//!
//! On Linux the tray is an AppIndicator, which shows the menu on any click and reports no click
//! events; there the menu's pause/resume items are the one-click toggle. Elsewhere a left click
//! toggles pause/resume directly.

use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime};

use glasshouse_core::model::{MICROS_PER_SEC, now_micros};
use glasshouse_core::time::format_local_short;
use glasshouse_recorder::{Request, State, Status};
use glasshouse_store::PauseReason;

use super::state::AppState;

/// Every tray menu entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuId {
    Status,
    Pause15,
    Pause60,
    PauseUntilResumed,
    Resume,
    Open,
    Review,
    Quit,
}

impl MenuId {
    const ALL: [MenuId; 8] = [
        MenuId::Status,
        MenuId::Pause15,
        MenuId::Pause60,
        MenuId::PauseUntilResumed,
        MenuId::Resume,
        MenuId::Open,
        MenuId::Review,
        MenuId::Quit,
    ];

    pub fn id(self) -> &'static str {
        match self {
            MenuId::Status => "status",
            MenuId::Pause15 => "pause-15",
            MenuId::Pause60 => "pause-60",
            MenuId::PauseUntilResumed => "pause-until-resumed",
            MenuId::Resume => "resume",
            MenuId::Open => "open",
            MenuId::Review => "review-uploads",
            MenuId::Quit => "quit",
        }
    }

    pub fn from_id(id: &str) -> Option<MenuId> {
        Self::ALL.into_iter().find(|m| m.id() == id)
    }
}

/// The menu items whose text or state follows the recording state.
pub struct TrayHandles<R: Runtime> {
    icon: TrayIcon<R>,
    status: MenuItem<R>,
    pauses: [MenuItem<R>; 3],
    resume: MenuItem<R>,
    review: MenuItem<R>,
}

impl<R: Runtime> std::fmt::Debug for TrayHandles<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TrayHandles")
    }
}

/// The icon for a state.
fn icon_for(state: State) -> Image<'static> {
    let bytes: &'static [u8] = match state {
        State::Recording => include_bytes!("../../icons/tray-recording.png"),
        State::Paused => include_bytes!("../../icons/tray-paused.png"),
        State::Unavailable | State::DiskFull | State::NotRunning => {
            include_bytes!("../../icons/tray-unavailable.png")
        }
    };
    Image::from_bytes(bytes).expect("tray icons are valid PNG files built into the binary")
}

/// The state in words: the tooltip and the menu's first line.
pub fn describe(status: &Status) -> String {
    match status.state {
        State::Recording => "Recording".to_owned(),
        State::Paused if status.pause_reason == Some(PauseReason::ScreenLocked) => {
            "Paused: screen locked".to_owned()
        }
        State::Paused => match status.paused_until {
            Some(u) => format!("Paused until {}", format_local_short(u)),
            None => "Paused until you resume".to_owned(),
        },
        State::Unavailable => format!(
            "Capture unavailable: {}",
            status.capture_error.as_deref().unwrap_or("unknown reason")
        ),
        State::DiskFull => "Disk full: not recording until there is space".to_owned(),
        State::NotRunning => "Not recording".to_owned(),
    }
}

/// Builds the tray icon and its menu.
pub fn create<R: Runtime>(app: &AppHandle<R>, status: &Status) -> tauri::Result<()> {
    let item = |id: MenuId, text: &str, enabled: bool| {
        MenuItem::with_id(app, id.id(), text, enabled, None::<&str>)
    };
    let status_item = item(MenuId::Status, &describe(status), false)?;
    let pause15 = item(MenuId::Pause15, "Pause for 15 minutes", true)?;
    let pause60 = item(MenuId::Pause60, "Pause for 1 hour", true)?;
    let pause_any = item(MenuId::PauseUntilResumed, "Pause until I resume", true)?;
    let resume = item(MenuId::Resume, "Resume", false)?;
    let open = item(MenuId::Open, "Open dashboard", true)?;
    let review = item(MenuId::Review, &review_text(0), true)?;
    let quit = item(MenuId::Quit, "Quit Glasshouse", true)?;
    let menu = Menu::with_items(
        app,
        &[
            &status_item,
            &PredefinedMenuItem::separator(app)?,
            &pause15,
            &pause60,
            &pause_any,
            &resume,
            &PredefinedMenuItem::separator(app)?,
            &open,
            &review,
            &PredefinedMenuItem::separator(app)?,
            &quit,
        ],
    )?;
    let icon = TrayIconBuilder::with_id("glasshouse")
        .icon(icon_for(status.state))
        .tooltip(format!("Glasshouse: {}", describe(status)))
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| {
            if let Some(id) = MenuId::from_id(event.id().as_ref()) {
                on_menu(app, id);
            }
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                toggle(tray.app_handle());
            }
        })
        .build(app)?;
    let handles = TrayHandles {
        icon,
        status: status_item,
        pauses: [pause15, pause60, pause_any],
        resume,
        review,
    };
    apply(&handles, status);
    app.manage(handles);
    Ok(())
}

fn apply<R: Runtime>(h: &TrayHandles<R>, status: &Status) {
    let text = describe(status);
    let _ = h.icon.set_icon(Some(icon_for(status.state)));
    let _ = h.icon.set_tooltip(Some(format!("Glasshouse: {text}")));
    let _ = h.status.set_text(text);
    let paused = status.state == State::Paused;
    for p in &h.pauses {
        let _ = p.set_enabled(!paused);
    }
    let _ = h.resume.set_enabled(paused);
}

/// Brings the tray in line with `status` (from any thread).
pub fn update<R: Runtime>(app: &AppHandle<R>, status: &Status) {
    if let Some(h) = app.try_state::<TrayHandles<R>>() {
        apply(&h, status);
    }
}

/// The review item's text: how many batches wait.
fn review_text(pending: usize) -> String {
    if pending == 0 {
        "Review uploads".to_owned()
    } else {
        format!("Review uploads ({pending})")
    }
}

/// Shows how many upload batches wait for review (call on the main thread).
pub fn set_pending<R: Runtime>(app: &AppHandle<R>, pending: usize) {
    if let Some(h) = app.try_state::<TrayHandles<R>>() {
        let _ = h.review.set_text(review_text(pending));
    }
}

/// Pauses when recording, resumes when paused.
pub fn toggle<R: Runtime>(app: &AppHandle<R>) {
    let Some(state) = app.try_state::<AppState>() else {
        return;
    };
    let req = match state.status() {
        Ok(s) if s.state == State::Paused => Request::Resume,
        _ => Request::Pause { until: None },
    };
    if let Err(e) = state.request(req) {
        tracing::error!("tray: {}", e.message);
    }
}

fn on_menu<R: Runtime>(app: &AppHandle<R>, id: MenuId) {
    let Some(state) = app.try_state::<AppState>() else {
        return;
    };
    let pause_for = |minutes: i64| Request::Pause {
        until: Some(now_micros() + minutes * 60 * MICROS_PER_SEC),
    };
    let req = match id {
        MenuId::Status => return,
        // The recorder brings a running dashboard forward, or the launcher starts one.
        MenuId::Open => Request::Show,
        MenuId::Review => Request::ShowView {
            view: "uploads".into(),
        },
        MenuId::Quit => return app.exit(0),
        MenuId::Pause15 => pause_for(15),
        MenuId::Pause60 => pause_for(60),
        MenuId::PauseUntilResumed => Request::Pause { until: None },
        MenuId::Resume => Request::Resume,
    };
    if let Err(e) = state.request(req) {
        tracing::error!("tray: {}", e.message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn menu_ids_round_trip() {
        for id in MenuId::ALL {
            assert_eq!(MenuId::from_id(id.id()), Some(id));
        }
        assert_eq!(MenuId::from_id("nope"), None);
    }

    #[test]
    fn the_review_item_counts_what_waits() {
        assert_eq!(review_text(0), "Review uploads");
        assert_eq!(review_text(3), "Review uploads (3)");
    }

    #[test]
    fn every_state_has_a_distinct_icon() {
        let states = [State::Recording, State::Paused, State::Unavailable];
        let icons: Vec<Vec<u8>> = states
            .iter()
            .map(|s| icon_for(*s).rgba().to_vec())
            .collect();
        assert_ne!(icons[0], icons[1]);
        assert_ne!(icons[1], icons[2]);
        assert_ne!(icons[0], icons[2]);
    }
}
