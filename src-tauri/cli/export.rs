//! `glasshouse export`: the events exactly as stored, one per line (JSON Lines or CSV).

use std::io::Write;

use serde::Serialize;

use glasshouse_core::model::Stored;
use glasshouse_core::paths::Paths;
use glasshouse_core::time::{format_rfc3339, parse_time};
use glasshouse_recorder::{RecorderError, Request, control};
use glasshouse_store::{ExportFilter, ExportRow, Reader};

use super::key::KeySource;
use crate::error::AppError;

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Only events at or after this time (RFC 3339, a date, or `now`).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Only events before this time.
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Only events of this app (case-insensitive).
    #[arg(long, value_name = "NAME")]
    app: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    format: Format,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Jsonl,
    Csv,
}

/// One exported event. Fields that do not apply to the event's kind are left out.
#[derive(Debug, Serialize, Default)]
struct Line<'a> {
    ts: String,
    app: &'a str,
    title: &'a str,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    button: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    x: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    y: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dx: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dy: Option<i32>,
}

impl<'a> Line<'a> {
    fn new(row: &'a ExportRow) -> Line<'a> {
        let mut l = Line {
            ts: format_rfc3339(row.ts),
            app: &row.app,
            title: &row.title,
            kind: row.event.kind_name(),
            ..Line::default()
        };
        match &row.event {
            Stored::KeyDown { key, text } => {
                l.key = Some(key.name());
                l.text = text.as_deref();
            }
            Stored::KeyUp { key } => l.key = Some(key.name()),
            Stored::KeyDownCategory(c) | Stored::KeyUpCategory(c) => l.category = Some(c.name()),
            Stored::KeyPress | Stored::Excluded => {}
            Stored::ButtonDown { button, x, y } | Stored::ButtonUp { button, x, y } => {
                l.button = Some(button.name());
                (l.x, l.y) = (Some(*x), Some(*y));
            }
            Stored::Move { x, y } => (l.x, l.y) = (Some(*x), Some(*y)),
            Stored::Wheel { dx, dy } => (l.dx, l.dy) = (Some(*dx), Some(*dy)),
        }
        l
    }

    fn csv(&self) -> String {
        let num = |v: Option<i32>| v.map(|n| n.to_string()).unwrap_or_default();
        [
            csv_field(&self.ts),
            csv_field(self.app),
            csv_field(self.title),
            self.kind.to_owned(),
            csv_field(self.key.as_deref().unwrap_or("")),
            self.category.unwrap_or("").to_owned(),
            csv_field(self.text.unwrap_or("")),
            csv_field(self.button.as_deref().unwrap_or("")),
            num(self.x),
            num(self.y),
            num(self.dx),
            num(self.dy),
        ]
        .join(",")
    }
}

const CSV_HEADER: &str = "ts,app,title,kind,key,category,text,button,x,y,dx,dy";

/// Quotes a CSV field when it holds a comma, quote, or line break (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

pub fn run(paths: &Paths, keys: &KeySource, args: &ExportArgs) -> Result<(), AppError> {
    let filter = ExportFilter {
        since: args.since.as_deref().map(parse_time).transpose()?,
        until: args.until.as_deref().map(parse_time).transpose()?,
        app: args.app.clone(),
    };
    // A running recorder first stores what it has in hand, so the export is complete up to now.
    match control::request(paths, &Request::Flush) {
        Ok(_) | Err(RecorderError::NotRunning { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let db = paths.database();
    if !db.exists() {
        return Err(AppError::Usage(format!(
            "nothing has been recorded in {} yet",
            paths.data_dir.display()
        )));
    }
    let reader = Reader::open(&db, &keys.existing_key(paths)?)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed: Option<std::io::Error> = None;
    let mut write = |text: &str| {
        if failed.is_none()
            && let Err(e) = writeln!(out, "{text}")
        {
            failed = Some(e);
        }
    };
    if matches!(args.format, Format::Csv) {
        write(CSV_HEADER);
    }
    reader.export(&filter, |row| {
        let line = Line::new(&row);
        match args.format {
            Format::Jsonl => write(&serde_json::to_string(&line).unwrap_or_default()),
            Format::Csv => write(&line.csv()),
        }
        Ok(())
    })?;
    let flushed = out.flush();
    match failed.map_or(flushed, Err) {
        // `glasshouse export | head` is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(AppError::Output(e)),
        Ok(()) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }
}
