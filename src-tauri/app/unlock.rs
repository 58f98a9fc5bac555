//! Asking for the passphrase of the encrypted store, when there is no desktop keyring to keep
//! its key (or the data folder was set up with a passphrase).
//!
//! The tray app never builds a webview, so the question is asked by a process of its own
//! (`glasshouse unlock-prompt`, a small window) that writes the passphrase on its standard
//! output, a pipe to the tray app, and exits. The tray app derives the key and checks it; a
//! wrong or too short passphrase asks again, saying why. Closing the window ends the start:
//! without a key nothing is recorded, and never unencrypted.

use std::io::{BufRead, Write};
use std::process::{Command, Stdio};

use serde::Serialize;
use tauri::{AppHandle, Manager, Runtime, State, WebviewUrl, WebviewWindowBuilder};
use zeroize::Zeroizing;

use glasshouse_core::paths::Paths;
use glasshouse_vault::{KeyState, MIN_PASSPHRASE_CHARS, Passphrase, Unlocked, VaultError};

use super::ipc::IpcError;
use crate::cli::key::unlock_with;
use crate::error::AppError;

/// The prompt window's label (its capability grants it the two commands below and nothing else).
pub const LABEL: &str = "unlock";

/// What the prompt shows.
#[derive(Debug, Clone, Serialize)]
pub struct PromptContext {
    /// No key yet: the person chooses a passphrase (typed twice).
    pub first_run: bool,
    /// Why the last passphrase was refused.
    pub error: Option<String>,
    pub data_dir: String,
    pub min_chars: usize,
}

/// In the tray app: asks until a passphrase opens the data folder's key.
pub fn ask(paths: &Paths) -> Result<Unlocked, AppError> {
    let mut error: Option<String> = None;
    loop {
        let first_run =
            glasshouse_vault::state(&paths.data_dir, &paths.database())? == KeyState::New;
        let Some(passphrase) = prompt(paths, first_run, error.as_deref())? else {
            return Err(AppError::Usage(
                "no passphrase was given, so Glasshouse did not start: it never records without encrypting"
                    .into(),
            ));
        };
        match unlock_with(paths, Some(&passphrase)) {
            Ok(unlocked) => return Ok(unlocked),
            Err(AppError::Vault(
                e @ (VaultError::WrongPassphrase { .. } | VaultError::WeakPassphrase { .. }),
            )) => error = Some(sentence(&e)),
            Err(e) => return Err(e),
        }
    }
}

fn sentence(e: &VaultError) -> String {
    match e {
        VaultError::WrongPassphrase { .. } => {
            "That is not the passphrase your recordings were encrypted with. Try again.".into()
        }
        other => {
            let mut s = other.to_string();
            if let Some(first) = s.get(..1) {
                let upper = first.to_uppercase();
                s.replace_range(..1, &upper);
            }
            s.push('.');
            s
        }
    }
}

/// Runs one prompt process; `None` when its window was closed without an answer.
fn prompt(
    paths: &Paths,
    first_run: bool,
    error: Option<&str>,
) -> Result<Option<Passphrase>, AppError> {
    let exe = std::env::current_exe()
        .map_err(|e| AppError::Desktop(format!("cannot find this program's own path: {e}")))?;
    let mut cmd = Command::new(exe);
    cmd.arg("unlock-prompt")
        .arg("--data-dir")
        .arg(&paths.data_dir);
    if first_run {
        cmd.arg("--first-run");
    }
    if let Some(e) = error {
        cmd.arg("--error").arg(e);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| AppError::Desktop(format!("cannot ask for the passphrase: {e}")))?;
    let mut line = Zeroizing::new(String::new());
    if let Some(out) = child.stdout.take() {
        let _ = std::io::BufReader::new(out).read_line(&mut line);
    }
    let _ = child.wait();
    let text = line.trim_end_matches(['\n', '\r']);
    Ok((!text.is_empty()).then(|| Passphrase::new(text.to_owned())))
}

/// `glasshouse unlock-prompt`: the prompt window, until it is answered or closed.
pub fn run_prompt(paths: &Paths, first_run: bool, error: Option<String>) -> Result<(), AppError> {
    super::require_display()?;
    let context = PromptContext {
        first_run,
        error,
        data_dir: paths.data_dir.display().to_string(),
        min_chars: MIN_PASSPHRASE_CHARS,
    };
    let app = super::build(tauri::Builder::default())
        .manage(context)
        .setup(|app| {
            open(app.handle());
            Ok(())
        })
        .build(super::context())
        .map_err(|e| AppError::Desktop(e.to_string()))?;
    app.run(|_, _| {});
    Ok(())
}

fn open<R: Runtime>(app: &AppHandle<R>) {
    let built = WebviewWindowBuilder::new(app, LABEL, WebviewUrl::App("unlock.html".into()))
        .title("Glasshouse: passphrase")
        .inner_size(520.0, 520.0)
        .resizable(false)
        .build();
    if let Err(e) = built {
        tracing::error!("cannot open the passphrase window: {e}");
    }
}

/// What the prompt window shows.
#[tauri::command]
pub fn unlock_context(context: State<'_, PromptContext>) -> PromptContext {
    context.inner().clone()
}

/// The passphrase typed: written to the tray app, then the prompt ends.
#[tauri::command]
pub fn unlock_submit<R: Runtime>(app: AppHandle<R>, passphrase: String) -> Result<(), IpcError> {
    let passphrase = Zeroizing::new(passphrase);
    if passphrase.is_empty() || passphrase.contains(['\n', '\r']) {
        return Err(IpcError::new(
            "invalid",
            "A passphrase is one line of text.",
        ));
    }
    let mut out = std::io::stdout().lock();
    let written = out
        .write_all(passphrase.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    drop(out);
    if let Err(e) = written {
        return Err(IpcError::new(
            "internal",
            format!("The passphrase could not be handed to Glasshouse: {e}"),
        ));
    }
    if let Some(w) = app.get_webview_window(LABEL) {
        let _ = w.close();
    }
    app.exit(0);
    Ok(())
}
