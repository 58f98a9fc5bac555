//! The read side of uploads: what the person is shown. A pending batch's bytes are built from
//! the stored events each time they are needed (cached while nothing in its window changes), so
//! what is shown is always what approving would send; an approved batch shows its kept bytes.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use glasshouse_batch::{Built, Header, Row};
use glasshouse_core::model::Micros;
use glasshouse_core::paths::Paths;
use glasshouse_core::settings::{CaptureLevel, Settings};
use glasshouse_scrub::Scrubber;
use glasshouse_store::{BatchRecord, BatchState, DbKey, ExportFilter, Reader, Selection};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Device, UploadError};

/// One batch as the review list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchSummary {
    pub id: i64,
    pub state: BatchState,
    pub window_start: Micros,
    pub window_end: Micros,
    pub sealed_at: Micros,
    pub decided_at: Option<Micros>,
    /// Events in the batch (as it would be sent, or as it was approved).
    pub events: u64,
    /// Applications in the batch, in order of first appearance.
    pub apps: Vec<String>,
    /// Applications the person dropped from it.
    pub dropped_apps: Vec<String>,
    /// What the scrubber replaced, per kind (`email`, `card`, ...), only kinds found.
    pub scrubbed: BTreeMap<String, u64>,
    /// Size of the exact bytes.
    pub bytes: Option<u64>,
    /// SHA-256 of the exact bytes (for pending batches: of the bytes approving now would send).
    pub sha256: Option<String>,
    pub receipt: Option<Value>,
    pub withdrawal: Option<Value>,
    pub withdraw_requested: bool,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub next_attempt: Option<Micros>,
}

/// One batch opened for review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchView {
    pub summary: BatchSummary,
    /// The same document as the exact bytes, decompressed and pretty-printed. `None` once the
    /// batch was sent or decided against (the device keeps no copy then).
    pub readable: Option<String>,
    /// The first bytes of the exact payload, in hex (what `uploads show --raw` writes in full).
    pub head_hex: Option<String>,
    /// Size of the document before compression.
    pub document_bytes: Option<u64>,
    /// Every application with input in the window, dropped ones included (to put them back).
    pub window_apps: Vec<String>,
}

/// The enrollment as the person may see it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollmentView {
    pub collector: String,
    pub team: String,
    pub device_id: String,
    pub enrolled_at: Micros,
}

/// Everything the review page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub enrollment: Option<EnrollmentView>,
    pub participating: bool,
    pub participating_since: Option<Micros>,
    pub batch_minutes: u32,
    /// Batches waiting for review.
    pub pending: usize,
    /// Every batch, newest window first.
    pub batches: Vec<BatchSummary>,
}

/// What an approved batch's `summary` column holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Kept {
    pub apps: Vec<String>,
    pub scrubbed: BTreeMap<String, u64>,
}

/// What a cached build depends on: when any of it changes the batch is built again.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint {
    events: u64,
    dropped: Vec<String>,
    level: CaptureLevel,
    device: String,
    team: String,
}

/// Builds and caches pending batches; shows batches. Shared by the threads of one process.
#[derive(Debug)]
pub struct Review {
    paths: Paths,
    /// The store's key, for the readers it opens.
    key: DbKey,
    scrubber: Scrubber,
    cache: Mutex<HashMap<i64, (Fingerprint, Arc<Built>)>>,
}

impl Review {
    pub fn new(paths: &Paths, key: DbKey) -> Review {
        Review {
            paths: paths.clone(),
            key,
            scrubber: Scrubber::new(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    pub(crate) fn reader(&self) -> Result<Option<Reader>, UploadError> {
        if !self.paths.database().exists() {
            return Ok(None);
        }
        Ok(Some(Reader::open(&self.paths.database(), &self.key)?))
    }

    /// The enrollment, the choice, and every batch.
    pub fn overview(&self) -> Result<Overview, UploadError> {
        let device = Device::load(&self.paths)?;
        let settings = Settings::load(&self.paths.settings_file)?;
        let mut batches = Vec::new();
        if let Some(reader) = self.reader()? {
            for record in reader.batches(&[])? {
                batches.push(self.summary(&reader, &record, device.as_ref(), &settings)?);
            }
        }
        self.forget_except(&batches);
        Ok(Overview {
            enrollment: device.as_ref().map(|d| EnrollmentView {
                collector: d.collector.clone(),
                team: d.team.clone(),
                device_id: d.device_id.clone(),
                enrolled_at: d.enrolled_at,
            }),
            participating: device.as_ref().is_some_and(|d| d.participating),
            participating_since: device.as_ref().and_then(|d| d.participating_since),
            batch_minutes: settings.batch_minutes,
            pending: batches
                .iter()
                .filter(|b| b.state == BatchState::Pending)
                .count(),
            batches,
        })
    }

    /// One batch with its readable document.
    pub fn show(&self, id: i64) -> Result<BatchView, UploadError> {
        let reader = self.reader()?.ok_or(UploadError::NoSuchBatch { id })?;
        let record = reader.batch(id)?.ok_or(UploadError::NoSuchBatch { id })?;
        let device = Device::load(&self.paths)?;
        let settings = Settings::load(&self.paths.settings_file)?;
        let summary = self.summary(&reader, &record, device.as_ref(), &settings)?;
        let bytes = self.exact_bytes(&reader, &record, device.as_ref(), &settings)?;
        let (readable, head_hex, document_bytes) = match &bytes {
            Some(b) => {
                let text = glasshouse_batch::readable(b)?;
                let len = text.len() as u64;
                (Some(text), Some(hex(&b[..b.len().min(48)])), Some(len))
            }
            None => (None, None, None),
        };
        let window_apps = reader
            .totals(record.window_start, record.window_end)?
            .per_app
            .into_iter()
            .map(|(app, _)| app)
            .chain(record.dropped_apps.iter().cloned())
            .fold(Vec::<String>::new(), |mut v, a| {
                if !v.iter().any(|x| x.eq_ignore_ascii_case(&a)) {
                    v.push(a);
                }
                v
            });
        Ok(BatchView {
            summary,
            readable,
            head_hex,
            document_bytes,
            window_apps,
        })
    }

    /// The exact bytes approving (or the uploader) would send: kept bytes for an approved
    /// batch, a fresh build for a pending one, `None` for the others.
    pub fn raw(&self, id: i64) -> Result<Option<Vec<u8>>, UploadError> {
        let reader = self.reader()?.ok_or(UploadError::NoSuchBatch { id })?;
        let record = reader.batch(id)?.ok_or(UploadError::NoSuchBatch { id })?;
        let device = Device::load(&self.paths)?;
        let settings = Settings::load(&self.paths.settings_file)?;
        self.exact_bytes(&reader, &record, device.as_ref(), &settings)
    }

    fn exact_bytes(
        &self,
        reader: &Reader,
        record: &BatchRecord,
        device: Option<&Device>,
        settings: &Settings,
    ) -> Result<Option<Vec<u8>>, UploadError> {
        match record.state {
            BatchState::Pending => match device {
                Some(d) => Ok(Some(self.built(reader, record, d, settings)?.bytes.clone())),
                None => Ok(None),
            },
            BatchState::Approved => Ok(reader.batch_payload(record.id)?),
            _ => Ok(None),
        }
    }

    fn summary(
        &self,
        reader: &Reader,
        record: &BatchRecord,
        device: Option<&Device>,
        settings: &Settings,
    ) -> Result<BatchSummary, UploadError> {
        let parse = |s: &Option<String>| -> Option<Value> {
            s.as_deref().and_then(|t| serde_json::from_str(t).ok())
        };
        let mut s = BatchSummary {
            id: record.id,
            state: record.state,
            window_start: record.window_start,
            window_end: record.window_end,
            sealed_at: record.sealed_at,
            decided_at: record.decided_at,
            events: record.events.unwrap_or(0),
            apps: Vec::new(),
            dropped_apps: record.dropped_apps.clone(),
            scrubbed: BTreeMap::new(),
            bytes: record.bytes,
            sha256: record.sha256.clone(),
            receipt: parse(&record.receipt),
            withdrawal: parse(&record.withdrawal),
            withdraw_requested: record.withdraw_requested,
            attempts: record.attempts,
            last_error: record.last_error.clone(),
            next_attempt: record.next_attempt,
        };
        match (record.state, device) {
            (BatchState::Pending, Some(d)) => {
                let built = self.built(reader, record, d, settings)?;
                s.events = built.events;
                s.apps = built.apps.clone();
                s.scrubbed = found_only(&built.scrubbed);
                s.bytes = Some(built.bytes.len() as u64);
                s.sha256 = Some(built.sha256.clone());
            }
            (BatchState::Pending, None) => {
                s.events = reader.count(&Selection::Range {
                    since: record.window_start,
                    until: record.window_end,
                })?;
            }
            _ => {
                let kept: Kept = record
                    .summary
                    .as_deref()
                    .and_then(|t| serde_json::from_str(t).ok())
                    .unwrap_or_default();
                s.apps = kept.apps;
                s.scrubbed = found_only(&kept.scrubbed);
            }
        }
        Ok(s)
    }

    /// The batch as approving it now would send it.
    pub(crate) fn built(
        &self,
        reader: &Reader,
        record: &BatchRecord,
        device: &Device,
        settings: &Settings,
    ) -> Result<Arc<Built>, UploadError> {
        let fp = Fingerprint {
            events: reader.count(&Selection::Range {
                since: record.window_start,
                until: record.window_end,
            })?,
            dropped: record.dropped_apps.clone(),
            level: settings.capture_level,
            device: device.device_id.clone(),
            team: device.team.clone(),
        };
        if let Some((cached_fp, built)) = self.lock().get(&record.id)
            && *cached_fp == fp
        {
            return Ok(built.clone());
        }
        let header = Header {
            device: device.device_id.clone(),
            team: device.team.clone(),
            window_start: record.window_start,
            window_end: record.window_end,
            capture_level: settings.capture_level,
        };
        let mut rows = Vec::new();
        reader.export(
            &ExportFilter {
                since: Some(record.window_start),
                until: Some(record.window_end),
                app: None,
            },
            |row| {
                let dropped = record
                    .dropped_apps
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(&row.app));
                if !dropped {
                    rows.push(Row {
                        ts: row.ts,
                        app: row.app,
                        title: row.title,
                        event: row.event,
                    });
                }
                Ok(())
            },
        )?;
        let built = Arc::new(glasshouse_batch::build(&header, rows, &self.scrubber)?);
        self.lock().insert(record.id, (fp, built.clone()));
        Ok(built)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, (Fingerprint, Arc<Built>)>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops cached builds of batches that are no longer pending (they hold input).
    fn forget_except(&self, batches: &[BatchSummary]) {
        self.lock().retain(|id, _| {
            batches
                .iter()
                .any(|b| b.id == *id && b.state == BatchState::Pending)
        });
    }

    /// Forgets one cached build (after it was approved, rejected or changed).
    pub(crate) fn forget(&self, id: i64) {
        self.lock().remove(&id);
    }

    /// Forgets every cached build (after a delete, or when taking part is turned off).
    pub fn forget_all(&self) {
        self.lock().clear();
    }
}

fn found_only(m: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    m.iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| (k.clone(), *n))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
