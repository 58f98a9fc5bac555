//! "Start at login": an XDG autostart entry (`~/.config/autostart/glasshouse.desktop`) that
//! starts this program's tray app with the same data directory.

use std::path::{Path, PathBuf};

use glasshouse_core::paths::Paths;

use crate::error::AppError;

fn entry_path() -> Result<PathBuf, AppError> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .ok_or_else(|| AppError::Usage("neither XDG_CONFIG_HOME nor HOME is set".into()))?;
    Ok(config.join("autostart").join("glasshouse.desktop"))
}

/// Whether the autostart entry exists.
pub fn enabled() -> Result<bool, AppError> {
    Ok(entry_path()?.exists())
}

/// Quotes an argument for a desktop entry's `Exec` key.
fn quote(arg: &Path) -> String {
    let s = arg.to_string_lossy();
    let escaped: String = s
        .chars()
        .flat_map(|c| match c {
            '"' | '`' | '$' | '\\' => vec!['\\', c],
            '%' => vec!['%', '%'],
            c => vec![c],
        })
        .collect();
    format!("\"{escaped}\"")
}

/// The entry's text: this binary, with `--data-dir` when the profile is not the default one.
pub fn entry(exe: &Path, paths: &Paths) -> String {
    let mut exec = quote(exe);
    if Paths::resolve(None).ok().as_ref() != Some(paths) {
        exec.push_str(" --data-dir ");
        exec.push_str(&quote(&paths.data_dir));
    }
    format!(
        "[Desktop Entry]\nType=Application\nName=Glasshouse\nComment=See, pause and delete what is recorded of your own input\nExec={exec}\nIcon=glasshouse\nTerminal=false\nX-GNOME-Autostart-enabled=true\n"
    )
}

/// Writes or removes the autostart entry; returns the new state.
pub fn set(on: bool, paths: &Paths) -> Result<bool, AppError> {
    let path = entry_path()?;
    let io = |e: std::io::Error| AppError::Usage(format!("cannot change {}: {e}", path.display()));
    if on {
        let exe = std::env::current_exe().map_err(io)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        std::fs::write(&path, entry(&exe, paths)).map_err(io)?;
    } else {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
    }
    Ok(on)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_starts_this_binary_with_its_data_dir() {
        let text = entry(
            Path::new("/opt/glass house/glasshouse"),
            &Paths::in_dir("/tmp/my data"),
        );
        assert!(
            text.contains("Exec=\"/opt/glass house/glasshouse\" --data-dir \"/tmp/my data\"\n"),
            "{text}"
        );
        assert!(text.starts_with("[Desktop Entry]\nType=Application\n"));
    }
}
