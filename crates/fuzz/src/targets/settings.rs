//! `Settings::parse`, the settings file: what any program of the user's, or a hand edit, may
//! write. Checked: settings that parse survive `save` and `load` unchanged.

use std::path::{Path, PathBuf};

use glasshouse_core::settings::{DEFAULT_EXCLUDED_APPS, Settings};

use super::{Target, Verdict, refused};
use crate::{FuzzError, Rng};

const KEYS: &[&str] = &[
    "capture_level",
    "excluded_apps",
    "mouse_rate",
    "retention_days",
    "batch_minutes",
];

const BYTE_DICT: &[&[u8]] = &[
    b"capture_level = ",
    b"excluded_apps = [",
    b"mouse_rate = ",
    b"retention_days = ",
    b"batch_minutes = ",
    b"\"full\"",
    b"\"categories\"",
    b"\"counts\"",
    b"[table]",
    b"[[array]]",
    b"'''",
    b"\"\"\"",
    b"\\U0010FFFF",
    b"0x7fffffff",
    b"1979-05-27T07:32:00Z",
    b"# comment",
    b"inf",
    b"nan",
];

pub struct SettingsTarget {
    dir: tempfile::TempDir,
    seeds: Vec<Vec<u8>>,
}

impl SettingsTarget {
    pub fn new() -> Result<SettingsTarget, FuzzError> {
        let dir = tempfile::tempdir().map_err(|e| FuzzError::setup("settings", e))?;
        let mut seeds = Vec::new();
        let path = dir.path().join("seed.toml");
        let mut variants = vec![Settings::default()];
        let s = Settings {
            capture_level: glasshouse_core::settings::CaptureLevel::Counts,
            excluded_apps: vec!["Slack".into(), "zoom*".into(), "é \"quoted\"".into()],
            mouse_rate: 1000,
            retention_days: 1,
            batch_minutes: 1440,
            ..Settings::default()
        };
        variants.push(s);
        for v in variants {
            v.save(&path).map_err(|e| FuzzError::setup("settings", e))?;
            seeds.push(std::fs::read(&path).map_err(FuzzError::io(&path))?);
        }
        seeds.push(b"capture_level = \"categories\"\nmouse_rate = 60\n".to_vec());
        Ok(SettingsTarget { dir, seeds })
    }

    fn file(&self) -> PathBuf {
        self.dir.path().join("settings.toml")
    }
}

/// A TOML value of a random kind, often at the edge of what a key accepts.
fn toml_value(rng: &mut Rng, depth: usize) -> String {
    match rng.below(if depth == 0 { 9 } else { 11 }) {
        0 => rng
            .pick(&[
                "0",
                "1",
                "-1",
                "5",
                "1000",
                "1001",
                "3650",
                "3651",
                "4294967296",
            ])
            .to_string(),
        1 => rng
            .pick(&[
                "9223372036854775807",
                "-9223372036854775808",
                "9223372036854775808",
                "0x10",
                "0o17",
                "0b1",
                "1_000",
                "+60",
            ])
            .to_string(),
        2 => rng
            .pick(&["1.0", "inf", "-nan", "6e1", "1e400"])
            .to_string(),
        3 => rng.pick(&["true", "false"]).to_string(),
        4 => rng
            .pick(&[
                "\"full\"",
                "\"categories\"",
                "\"counts\"",
                "\"Full\"",
                "\"\"",
            ])
            .to_string(),
        5 => rng
            .pick(&[
                "\"\\u0000\"",
                "'literal'",
                "\"\"\"multi\nline\"\"\"",
                "\"\\uD800\"",
                "\"\\U0010FFFF\"",
                "\"   \"",
            ])
            .to_string(),
        6 => rng
            .pick(&["1979-05-27T07:32:00Z", "07:32:00", "1979-05-27"])
            .to_string(),
        7 => format!("\"{}\"", "a".repeat(rng.len(70_000))),
        8 => "\"x\"".into(),
        9 => {
            let items: Vec<String> = (0..rng.len(20))
                .map(|_| {
                    if rng.one_in(3) {
                        toml_value(rng, depth - 1)
                    } else {
                        format!("\"{}\"", rng.pick(DEFAULT_EXCLUDED_APPS))
                    }
                })
                .collect();
            format!("[{}]", items.join(", "))
        }
        _ => {
            let items: Vec<String> = (0..rng.len(4))
                .map(|_| format!("{} = {}", rng.pick(KEYS), toml_value(rng, depth - 1)))
                .collect();
            format!("{{ {} }}", items.join(", "))
        }
    }
}

/// A settings file: known keys (sometimes twice, sometimes unknown ones, tables, deep arrays)
/// with values of every kind.
fn generate_toml(rng: &mut Rng) -> Vec<u8> {
    let mut out = String::new();
    for _ in 0..rng.len(8) {
        match rng.below(12) {
            0 => out.push_str(&format!("[{}]\n", rng.pick(KEYS))),
            1 => out.push_str(&format!("[[{}]]\n", rng.pick(KEYS))),
            2 => out.push_str(&format!("{}.x = 1\n", rng.pick(KEYS))),
            3 => {
                let depth = rng.len(5000);
                out.push_str(&format!(
                    "{} = {}1{}\n",
                    rng.pick(KEYS),
                    "[".repeat(depth),
                    "]".repeat(depth)
                ));
            }
            4 => out.push_str("colour = \"blue\"\n"),
            5 => out.push_str("# a comment\n\n"),
            _ => out.push_str(&format!("{} = {}\n", rng.pick(KEYS), toml_value(rng, 2))),
        }
    }
    out.into_bytes()
}

impl Target for SettingsTarget {
    fn name(&self) -> &'static str {
        "settings"
    }

    fn seeds(&mut self) -> Vec<Vec<u8>> {
        self.seeds.clone()
    }

    fn dictionary(&self) -> &[&'static [u8]] {
        BYTE_DICT
    }

    fn max_len(&self) -> usize {
        1 << 18
    }

    fn generate(&mut self, rng: &mut Rng, _corpus: &[Vec<u8>]) -> Vec<u8> {
        generate_toml(rng)
    }

    fn execute(&mut self, input: &[u8]) -> Verdict {
        let text = String::from_utf8_lossy(input);
        let named = Path::new("/home/someone/.config/glasshouse/settings.toml");
        let s = match Settings::parse(named, &text) {
            Ok(s) => s,
            Err(e) => return refused(e),
        };
        let file = self.file();
        if let Err(e) = s.save(&file) {
            return Verdict::Violation(format!("settings that parse cannot be saved: {e}"));
        }
        match Settings::load(&file) {
            Ok(back) if back == s => Verdict::Ok("ok".into()),
            Ok(back) => Verdict::Violation(format!(
                "settings changed through save and load: {s:?} became {back:?}"
            )),
            Err(e) => Verdict::Violation(format!(
                "settings that parsed were saved as a file that does not load: {e}"
            )),
        }
    }
}
