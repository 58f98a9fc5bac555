//! The settings a person controls, kept as TOML in the XDG config dir.
//!
//! A missing file means the defaults. A file with a bad value is refused with the file, the key
//! and what is expected: a privacy tool must never guess what its user meant.
//!
//! ## Sensitive windows
//! While the focused window's title, app name or WM_CLASS matches one of `sensitive_patterns`
//! (and `sensitive_windows` is on, the default), its keys are kept at the `counts` level: that a
//! key was pressed, never which key or what it typed. A pattern is a word or phrase matched
//! **as whole words**, ignoring case: the title is cut into words (runs of letters and digits)
//! and the pattern's words must appear next to each other, in order. Whole words rather than
//! substrings because the short words that mark a login prompt hide inside ordinary ones: a
//! substring `sudo` would fire on "pseudocode", `pin` on "Spinner" and "Shopping", `otp` on
//! "hotpot", while "Logbook" and "Unlocking achievements" are no login prompts. Spaces,
//! hyphens and other punctuation between words are alike, so `sign in` also matches "Sign-in"
//! and "sign_in". A `*` at the end lets the last word run on (`password*` matches "Passwords"
//! and "password:"); a `*` at the start lets the first word begin inside a longer one, and
//! `*word*` matches anywhere (for scripts written without spaces). The list errs towards
//! matching: a false match costs only the key identity of that window, a missed one a password.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::CoreError;

/// How much of each key press is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureLevel {
    /// Key identity and typed text. The default: review before upload is the safeguard.
    #[default]
    Full,
    /// Only the kind of key (letter, digit, space, punctuation, modifier, navigation, function, other).
    Categories,
    /// Only that a key was pressed.
    Counts,
}

impl CaptureLevel {
    pub fn name(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Categories => "categories",
            Self::Counts => "counts",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        [Self::Full, Self::Categories, Self::Counts]
            .into_iter()
            .find(|l| l.name() == s)
    }
}

/// Password managers, keyrings and passphrase prompts, excluded unless the user removes them.
/// Matched against the process name and the WM_CLASS; a trailing `*` matches any ending (process
/// names are cut to 15 characters by the kernel, so long names are given as prefixes).
pub const DEFAULT_EXCLUDED_APPS: &[&str] = &[
    "keepassxc",
    "keepass*",
    "1password",
    "bitwarden",
    "lastpass",
    "dashlane",
    "enpass",
    "nordpass",
    "proton pass",
    "seahorse",
    "kwalletmanager*",
    "gnome-keyring*",
    "gcr-prompter",
    "pinentry*",
    "ssh-askpass*",
    "ksshaskpass",
    "x11-ssh-askpass",
    "lxpolkit",
    "polkit-*",
];

/// Words and phrases that mark a window where secrets are typed (see the module docs for how
/// they match). Kept short and specific: every entry is a whole word, so "Logbook", "Design
/// interface" or "Unlocking achievements" match none of them.
pub const DEFAULT_SENSITIVE_PATTERNS: &[&str] = &[
    "password*",
    "passphrase*",
    "passcode*",
    "passwd",
    "sudo",
    "sign in",
    "signin",
    "log in",
    "login",
    "logon",
    "unlock",
    "authenticat*",
    "credentials",
    "2fa",
    "mfa",
    "two-factor",
    "otp",
    "one-time code",
    "verification code",
    "security code",
    "pin",
    "private key",
    "secret key",
    "recovery phrase",
    "seed phrase",
    "recovery code*",
    "backup code*",
];

/// The longest sensitive pattern, in characters.
pub const SENSITIVE_PATTERN_MAX_CHARS: usize = 100;
/// The most sensitive patterns a settings file may list.
pub const SENSITIVE_PATTERNS_MAX: usize = 500;

/// Why a sensitive pattern is refused; its `Display` completes "the pattern \"…\" …".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternProblem {
    /// Nothing but spaces.
    Empty,
    /// No letter or digit, so no word to look for.
    NoWord,
    /// A `*` somewhere other than the very start or end.
    InnerStar,
    /// Longer than [`SENSITIVE_PATTERN_MAX_CHARS`].
    TooLong,
}

impl fmt::Display for PatternProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("is empty"),
            Self::NoWord => f.write_str("has no letter or digit to look for"),
            Self::InnerStar => f.write_str("may have a * only at its start or end"),
            Self::TooLong => write!(f, "is longer than {SENSITIVE_PATTERN_MAX_CHARS} characters"),
        }
    }
}

/// Checks one sensitive pattern and returns it without surrounding spaces.
pub fn check_sensitive_pattern(pattern: &str) -> Result<&str, PatternProblem> {
    let p = pattern.trim();
    if p.is_empty() {
        return Err(PatternProblem::Empty);
    }
    if p.chars().count() > SENSITIVE_PATTERN_MAX_CHARS {
        return Err(PatternProblem::TooLong);
    }
    crate::policy::SensitivePattern::parse(p)?;
    Ok(p)
}

pub const MOUSE_RATE_RANGE: (u32, u32) = (1, 1000);
pub const RETENTION_RANGE: (u32, u32) = (1, 3650);
pub const BATCH_MINUTES_RANGE: (u32, u32) = (5, 1440);

/// All settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub capture_level: CaptureLevel,
    /// App names whose input is never stored; matched case-insensitively.
    pub excluded_apps: Vec<String>,
    /// Most mouse movements stored per second.
    pub mouse_rate: u32,
    /// Events older than this many days are deleted.
    pub retention_days: u32,
    /// Length of an upload batch's time window, in minutes (windows are aligned to multiples
    /// of it since the Unix epoch, so 60 means whole UTC hours).
    pub batch_minutes: u32,
    /// Whether keys typed into a window matching [`Settings::sensitive_patterns`] are kept only
    /// as counts, whatever the capture level.
    #[serde(default = "sensitive_default")]
    pub sensitive_windows: bool,
    /// Words and phrases that mark a sensitive window (module docs: how they match).
    #[serde(default = "sensitive_patterns_default")]
    pub sensitive_patterns: Vec<String>,
}

fn sensitive_default() -> bool {
    true
}

fn sensitive_patterns_default() -> Vec<String> {
    DEFAULT_SENSITIVE_PATTERNS
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            capture_level: CaptureLevel::Full,
            excluded_apps: DEFAULT_EXCLUDED_APPS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            mouse_rate: 125,
            retention_days: 30,
            batch_minutes: 60,
            sensitive_windows: sensitive_default(),
            sensitive_patterns: sensitive_patterns_default(),
        }
    }
}

impl Settings {
    /// Loads settings from `path`; a missing file gives the defaults.
    pub fn load(path: &Path) -> Result<Settings, CoreError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(source) => Err(CoreError::SettingsIo {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Parses settings text; `path` only names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Settings, CoreError> {
        let table: toml::Table =
            text.parse()
                .map_err(|e: toml::de::Error| CoreError::SettingsInvalid {
                    path: path.to_owned(),
                    message: format!("not valid TOML: {}", e.message()),
                })?;
        let bad = |key: &str, expected: &str| CoreError::SettingsValue {
            path: path.to_owned(),
            key: key.to_owned(),
            expected: expected.to_owned(),
        };
        let in_range = |key: &str, v: &toml::Value, (lo, hi): (u32, u32)| {
            v.as_integer()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| (lo..=hi).contains(n))
                .ok_or_else(|| bad(key, &format!("must be a whole number from {lo} to {hi}")))
        };
        let mut s = Settings::default();
        for (key, value) in &table {
            match key.as_str() {
                "capture_level" => {
                    s.capture_level = value
                        .as_str()
                        .and_then(CaptureLevel::from_name)
                        .ok_or_else(|| {
                            bad(key, "must be \"full\", \"categories\" or \"counts\"")
                        })?;
                }
                "excluded_apps" => {
                    let list = value
                        .as_array()
                        .ok_or_else(|| bad(key, "must be a list of app names"))?;
                    s.excluded_apps = list
                        .iter()
                        .map(|v| {
                            v.as_str()
                                .map(|n| n.trim().to_owned())
                                .filter(|n| !n.is_empty())
                                .ok_or_else(|| bad(key, "must be a list of app names"))
                        })
                        .collect::<Result<_, _>>()?;
                }
                "mouse_rate" => s.mouse_rate = in_range(key, value, MOUSE_RATE_RANGE)?,
                "retention_days" => s.retention_days = in_range(key, value, RETENTION_RANGE)?,
                "batch_minutes" => s.batch_minutes = in_range(key, value, BATCH_MINUTES_RANGE)?,
                "sensitive_windows" => {
                    s.sensitive_windows = value
                        .as_bool()
                        .ok_or_else(|| bad(key, "must be true or false"))?;
                }
                "sensitive_patterns" => {
                    let list = value
                        .as_array()
                        .filter(|l| l.len() <= SENSITIVE_PATTERNS_MAX)
                        .ok_or_else(|| {
                            bad(
                                key,
                                &format!(
                                    "must be a list of at most {SENSITIVE_PATTERNS_MAX} words or phrases"
                                ),
                            )
                        })?;
                    s.sensitive_patterns = list
                        .iter()
                        .map(|v| {
                            let p = v
                                .as_str()
                                .ok_or_else(|| bad(key, "must be a list of words or phrases"))?;
                            check_sensitive_pattern(p)
                                .map(str::to_owned)
                                .map_err(|why| bad(key, &format!("entry {p:?} {why}")))
                        })
                        .collect::<Result<_, _>>()?;
                }
                _ => {
                    return Err(bad(
                        key,
                        "is not a setting (known: capture_level, excluded_apps, mouse_rate, retention_days, batch_minutes, sensitive_windows, sensitive_patterns)",
                    ));
                }
            }
        }
        Ok(s)
    }

    /// Writes the settings atomically (a temporary file renamed over the old one).
    pub fn save(&self, path: &Path) -> Result<(), CoreError> {
        let io = |source| CoreError::SettingsIo {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let text = toml::to_string_pretty(self).map_err(|e| CoreError::SettingsInvalid {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let tmp = path.with_extension("toml.tmp");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Whether input to `app` (or to a window of WM_CLASS `class`) must not be stored.
    pub fn is_excluded(&self, app: &str, class: &str) -> bool {
        use crate::policy::app_matches;
        self.excluded_apps
            .iter()
            .any(|e| app_matches(e, app) || app_matches(e, class))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Settings, String> {
        Settings::parse(Path::new("/cfg/settings.toml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn empty_file_gives_defaults() {
        let s = parse("").unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(s.capture_level, CaptureLevel::Full);
        assert!(s.is_excluded("KeePassXC", ""));
        // Real process names and WM_CLASS strings of passphrase prompts.
        for (app, class) in [
            ("pinentry-gtk-2", "Pinentry-gtk-2"),
            ("pinentry-qt", ""),
            ("", "Pinentry"),
            ("gcr-prompter", "Gcr-prompter"),
            ("polkit-gnome-au", ""),
            ("ssh-askpass", "Ssh-askpass"),
            ("keepass2", "KeePass2"),
        ] {
            assert!(s.is_excluded(app, class), "{app} / {class}");
        }
        assert!(!s.is_excluded("xterm", "XTerm"));
        assert!(!s.is_excluded("pin", ""));
    }

    #[test]
    fn values_are_read() {
        let s = parse(
            "capture_level = \"counts\"\nexcluded_apps = [\"Slack\"]\nmouse_rate = 60\nretention_days = 7\nbatch_minutes = 30\n",
        )
        .unwrap();
        assert_eq!(s.capture_level, CaptureLevel::Counts);
        assert!(s.is_excluded("slack", ""));
        assert!(s.is_excluded("x", "SLACK"));
        assert!(!s.is_excluded("keepassxc", ""));
        assert_eq!(
            (s.mouse_rate, s.retention_days, s.batch_minutes),
            (60, 7, 30)
        );
    }

    #[test]
    fn bad_values_name_file_key_and_expectation() {
        let cases = [
            (
                "mouse_rate = 0",
                "key `mouse_rate` must be a whole number from 1 to 1000",
            ),
            (
                "mouse_rate = \"fast\"",
                "key `mouse_rate` must be a whole number",
            ),
            (
                "capture_level = \"all\"",
                "key `capture_level` must be \"full\"",
            ),
            (
                "retention_days = -3",
                "key `retention_days` must be a whole number from 1 to 3650",
            ),
            (
                "excluded_apps = \"x\"",
                "key `excluded_apps` must be a list",
            ),
            ("colour = 1", "key `colour` is not a setting"),
            (
                "batch_minutes = 1",
                "key `batch_minutes` must be a whole number from 5 to 1440",
            ),
            ("capture_level = ", "not valid TOML"),
            (
                "sensitive_windows = \"yes\"",
                "key `sensitive_windows` must be true or false",
            ),
            (
                "sensitive_patterns = \"password\"",
                "key `sensitive_patterns` must be a list of at most 500 words or phrases",
            ),
            (
                "sensitive_patterns = [\"login\", 3]",
                "key `sensitive_patterns` must be a list of words or phrases",
            ),
            (
                "sensitive_patterns = [\"  \"]",
                "key `sensitive_patterns` entry \"  \" is empty",
            ),
            (
                "sensitive_patterns = [\"**\"]",
                "key `sensitive_patterns` entry \"**\" has no letter or digit to look for",
            ),
            (
                "sensitive_patterns = [\"pass*word\"]",
                "entry \"pass*word\" may have a * only at its start or end",
            ),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err();
            assert!(err.contains("/cfg/settings.toml"), "{err}");
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn sensitive_windows_are_on_by_default_and_editable() {
        let s = parse("").unwrap();
        assert!(s.sensitive_windows);
        assert_eq!(s.sensitive_patterns.len(), DEFAULT_SENSITIVE_PATTERNS.len());
        for p in DEFAULT_SENSITIVE_PATTERNS {
            assert_eq!(check_sensitive_pattern(p), Ok(*p), "default {p:?}");
        }
        let s = parse(
            "sensitive_windows = false\nsensitive_patterns = [\" Kennwort* \", \"*密码*\"]\n",
        )
        .unwrap();
        assert!(!s.sensitive_windows);
        assert_eq!(s.sensitive_patterns, vec!["Kennwort*", "*密码*"]);
        // An empty list is a choice: only the excluded apps stay protected.
        assert!(
            parse("sensitive_patterns = []")
                .unwrap()
                .sensitive_patterns
                .is_empty()
        );
        let long = format!("sensitive_patterns = [\"{}\"]", "a".repeat(101));
        assert!(
            parse(&long)
                .unwrap_err()
                .contains("is longer than 100 characters")
        );
        let many = format!("sensitive_patterns = [{}]", vec!["\"pin\""; 501].join(","));
        assert!(parse(&many).unwrap_err().contains("at most 500"));
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/settings.toml");
        let mut s = Settings {
            capture_level: CaptureLevel::Categories,
            ..Settings::default()
        };
        s.excluded_apps.push("Signal".into());
        s.sensitive_windows = false;
        s.sensitive_patterns = vec!["Kennwort*".into(), "sign in".into()];
        s.save(&path).unwrap();
        assert_eq!(Settings::load(&path).unwrap(), s);
        assert_eq!(
            Settings::load(&dir.path().join("missing.toml")).unwrap(),
            Settings::default()
        );
    }
}
