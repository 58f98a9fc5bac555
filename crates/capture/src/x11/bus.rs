//! The screen lock as the session bus tells it.
//!
//! Desktop lockers that do not go through the X screen saver (GNOME Shell, KDE, Cinnamon, MATE,
//! Xfce, and `loginctl lock-session`, which asks them) own a screen saver service on the
//! session bus: its `ActiveChanged(bool)` signal says when the lock comes and goes, its
//! `GetActive` method what it is now. This watcher listens to the services below and reports
//! "locked" while any of them is active.
//!
//! Any client of the bus may send a signal that looks like theirs, so only the current owner of
//! the service's name is believed (a forged "unlocked" must not resume recording under a
//! locker); owners are followed through the bus's `NameOwnerChanged`. A service that leaves the
//! bus takes its lock with it.
//!
//! Without a session bus (`DBUS_SESSION_BUS_ADDRESS` unset, as under a bare X server) this says
//! so on stderr and watches nothing; the X screen saver watcher still runs.

use std::thread;
use std::time::Duration;

use dbus::blocking::Connection;
use dbus::message::MessageType;
use dbus::{Message, Path};

use super::lock::{LockState, Source};

/// The screen saver services: well-known name, object path, interface.
const SERVICES: [(&str, &str, &str); 5] = [
    (
        "org.freedesktop.ScreenSaver",
        "/org/freedesktop/ScreenSaver",
        "org.freedesktop.ScreenSaver",
    ),
    (
        "org.gnome.ScreenSaver",
        "/org/gnome/ScreenSaver",
        "org.gnome.ScreenSaver",
    ),
    (
        "org.cinnamon.ScreenSaver",
        "/org/cinnamon/ScreenSaver",
        "org.cinnamon.ScreenSaver",
    ),
    (
        "org.mate.ScreenSaver",
        "/org/mate/ScreenSaver",
        "org.mate.ScreenSaver",
    ),
    (
        "org.xfce.ScreenSaver",
        "/org/xfce/ScreenSaver",
        "org.xfce.ScreenSaver",
    ),
];

const BUS_NAME: &str = "org.freedesktop.DBus";

/// How long a service may take to answer `GetActive`.
const CALL_TIMEOUT: Duration = Duration::from_secs(1);

/// Starts the watcher thread. Without a session bus, or if it cannot be joined, it says so on
/// stderr and does nothing more.
pub(crate) fn start(state: LockState) {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none_or(|a| a.is_empty()) {
        eprintln!(
            "capture worker: no session bus; a desktop's own screen locker will not pause recording"
        );
        return;
    }
    let spawned = thread::Builder::new()
        .name("capture-bus-lock".into())
        .spawn(move || {
            if let Err(e) = watch(&state) {
                // The lock this watcher reported cannot be followed any more: it lets go of it
                // rather than keeping recording paused with no way to end the pause.
                state.set(Source::SessionBus, false);
                eprintln!("capture worker: stopped following the session bus's screen lock: {e}");
            }
        });
    if let Err(e) = spawned {
        eprintln!("capture worker: cannot start the session bus watcher: {e}");
    }
}

/// Each service's current owner (a unique bus name) and whether it says the screen is locked.
#[derive(Default)]
struct Services {
    owner: [Option<String>; SERVICES.len()],
    active: [bool; SERVICES.len()],
}

impl Services {
    fn locked(&self) -> bool {
        self.active.iter().any(|&a| a)
    }
}

fn watch(state: &LockState) -> Result<(), dbus::Error> {
    let conn = Connection::new_session()?;
    // Matches first, then the current state: a change in between is not missed.
    for (name, _, interface) in SERVICES {
        conn.add_match_no_cb(&format!(
            "type='signal',sender='{BUS_NAME}',interface='{BUS_NAME}',member='NameOwnerChanged',arg0='{name}'"
        ))?;
        conn.add_match_no_cb(&format!(
            "type='signal',interface='{interface}',member='ActiveChanged'"
        ))?;
    }
    let mut services = Services::default();
    for (i, (name, _, _)) in SERVICES.iter().enumerate() {
        services.owner[i] = owner_of(&conn, name)?;
        services.active[i] = services.owner[i].is_some() && get_active(&conn, i);
    }
    state.set(Source::SessionBus, services.locked());
    loop {
        let Some(msg) = conn
            .channel()
            .blocking_pop_message(Duration::from_secs(3600))?
        else {
            continue;
        };
        if msg.msg_type() != MessageType::Signal {
            continue;
        }
        let changed = match (msg.interface(), msg.member()) {
            (Some(i), Some(m)) if &*i == BUS_NAME && &*m == "NameOwnerChanged" => {
                owner_changed(&conn, &msg, &mut services)
            }
            (Some(_), Some(m)) if &*m == "ActiveChanged" => active_changed(&msg, &mut services),
            _ => false,
        };
        if changed {
            state.set(Source::SessionBus, services.locked());
        }
    }
}

/// A service arrived, left or changed hands: its lock is the new owner's to say.
fn owner_changed(conn: &Connection, msg: &Message, services: &mut Services) -> bool {
    if msg.sender().as_deref() != Some(BUS_NAME) {
        return false;
    }
    let Ok((name, _old, new)) = msg.read3::<&str, &str, &str>() else {
        return false;
    };
    let Some(i) = SERVICES.iter().position(|s| s.0 == name) else {
        return false;
    };
    services.owner[i] = (!new.is_empty()).then(|| new.to_owned());
    services.active[i] = services.owner[i].is_some() && get_active(conn, i);
    true
}

/// `ActiveChanged` from the owner of the service whose interface it names; from anyone else it
/// is ignored.
fn active_changed(msg: &Message, services: &mut Services) -> bool {
    let (Some(interface), Some(sender)) = (msg.interface(), msg.sender()) else {
        return false;
    };
    let Some(i) = SERVICES.iter().position(|s| s.2 == &*interface) else {
        return false;
    };
    if services.owner[i].as_deref() != Some(&*sender) {
        tracing::debug!(%sender, %interface, "ignored a screen saver signal from a non-owner");
        return false;
    }
    let Ok(active) = msg.read1::<bool>() else {
        return false;
    };
    services.active[i] = active;
    true
}

/// The unique name owning `name`, if any.
fn owner_of(conn: &Connection, name: &str) -> Result<Option<String>, dbus::Error> {
    let proxy = conn.with_proxy(BUS_NAME, "/org/freedesktop/DBus", CALL_TIMEOUT);
    let has: (bool,) = proxy.method_call(BUS_NAME, "NameHasOwner", (name,))?;
    if !has.0 {
        return Ok(None);
    }
    // Gone between the two calls: not owned.
    Ok(proxy
        .method_call::<(String,), _, _, _>(BUS_NAME, "GetNameOwner", (name,))
        .ok()
        .map(|(owner,)| owner))
}

/// What service `i` says now; a service that does not answer is taken as not locked (its
/// `ActiveChanged` will still be followed).
fn get_active(conn: &Connection, i: usize) -> bool {
    let (name, path, interface) = SERVICES[i];
    let proxy = conn.with_proxy(name, Path::from(path), CALL_TIMEOUT);
    proxy
        .method_call::<(bool,), _, _, _>(interface, "GetActive", ())
        .map(|(a,)| a)
        .unwrap_or(false)
}
