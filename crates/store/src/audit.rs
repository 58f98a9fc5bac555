//! The activity log as a hash chain, so an edited, removed, reordered or cut-off entry is found.
//!
//! Every entry of the `activity` table carries a sequence number `seq` (1, 2, 3, ... in the
//! order the entries were written), `prev`, the hash of the entry before it, and `hash`, its own
//! hash. [`verify`] ([`crate::Reader::verify_audit`], `glasshouse audit verify`) recomputes them
//! and reports every place where the log no longer is what Glasshouse wrote.
//!
//! ## The hash of an entry
//!
//! `hash = SHA-256(encoding)`, where the encoding is, byte after byte:
//!
//! | field | bytes |
//! |---|---|
//! | the tag `glasshouse activity chain v1` | 28, ASCII |
//! | `seq` | 8, signed big-endian |
//! | `ts`, microseconds since the Unix epoch (UTC) | 8, signed big-endian |
//! | length of `kind` in bytes | 8, unsigned big-endian |
//! | `kind`, the stable name (`pause`, `delete`, ...) | UTF-8 |
//! | length of `detail` in bytes | 8, unsigned big-endian |
//! | `detail` | UTF-8 |
//! | length of `prev` in bytes (32) | 8, unsigned big-endian |
//! | `prev` | the previous entry's `hash` |
//!
//! Fixed-width fields and length prefixes make the encoding unambiguous: no two different
//! entries encode to the same bytes (moving a character from `kind` to `detail` changes it).
//!
//! **Genesis:** the first entry (`seq` 1) has `prev` = 32 zero bytes. When a database is
//! upgraded to this schema, its existing entries are chained in the order they were written
//! (their row ids) with `seq` 1, 2, ... starting from that genesis, so an old log verifies too.
//!
//! **Pruning** (nothing prunes the log today; retention deletes input, never activity): whatever
//! removes the oldest entries `1..=k` must, in the same transaction, record the last removed
//! entry in the one-row table `audit_anchor` (`seq` = k and its `hash`). The chain then starts
//! from the anchor: entry k + 1 has `prev` = the anchor's hash.
//!
//! ## The head file
//!
//! After every committed append the newest entry's `seq` and `hash` are also written, atomically
//! (a new file renamed over the old one) and readable by the owner only, to a small file next to
//! the database ([`head_file`], `glasshouse.db.audit-head`). A chain recomputed from an edited
//! entry onwards, or a log cut off at its end, agrees with itself but not with that file.
//!
//! ## What it cannot do
//!
//! Tamper-*evident*, not tamper-proof, and only against someone who does not rewrite both files:
//! a person (or program) who can write the database can also write the head file next to it,
//! recompute the whole chain and record the new head, and nothing here would notice. Deleting
//! the database together with its head file, or every entry and the head file, also leaves
//! nothing to compare with. Keeping the head hash that `glasshouse audit verify` prints somewhere
//! else (a note, another machine) and comparing it later is what closes that gap.
//!
//! The head file is written after the database commit and not synced to disk (like the database,
//! which syncs its write-ahead log only at checkpoints), so after a crash it may lag behind the
//! database (harmless: the newer entries are then checked by the chain only), and after a power
//! cut it may name an entry the database lost, which `verify` reports as entries missing from the
//! end.

use std::cell::Cell;
use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use glasshouse_core::model::Micros;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::error::{SqlContext, StoreError};

/// Domain separation: the hash of an activity entry is never the hash of anything else.
const TAG: &[u8; 28] = b"glasshouse activity chain v1";

/// `prev` of the first entry of a chain that was never pruned.
pub const GENESIS: [u8; 32] = [0; 32];

/// First line of the head file.
const HEAD_MAGIC: &str = "glasshouse-audit-head 1";

/// The schema step: the pruning anchor. The columns are added by [`migrate`], which tolerates
/// them being there already.
pub(crate) const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS audit_anchor (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL,
        hash BLOB NOT NULL
    );";

thread_local! {
    /// An entry was appended inside a transaction of this thread (the writer's) and its head
    /// still has to be written to the head file once that transaction is over.
    static PENDING: Cell<bool> = const { Cell::new(false) };
}

/// The newest entry of a chain: its sequence number and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: [u8; 32],
}

impl ChainHead {
    /// The hash as 64 lowercase hex digits.
    pub fn hash_hex(&self) -> String {
        hex(&self.hash)
    }
}

/// The hash of one entry; see the module documentation for the encoding.
pub fn entry_hash(seq: i64, ts: Micros, kind: &str, detail: &str, prev: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(TAG);
    h.update(seq.to_be_bytes());
    h.update(ts.to_be_bytes());
    for field in [kind.as_bytes(), detail.as_bytes(), prev] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field);
    }
    h.finalize().into()
}

/// The head file of the database at `db`: `glasshouse.db` → `glasshouse.db.audit-head`.
pub fn head_file(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".audit-head");
    s.into()
}

/// The schema step's fill: adds `seq`, `prev` and `hash` to `activity` and chains the entries
/// already there, in the order they were written, from the genesis.
pub(crate) fn migrate(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('activity')")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .at(path)?;
    for (name, ty) in [("seq", "INTEGER"), ("prev", "BLOB"), ("hash", "BLOB")] {
        if !columns.iter().any(|c| c == name) {
            conn.execute_batch(&format!("ALTER TABLE activity ADD COLUMN {name} {ty};"))
                .at(path)?;
        }
    }
    // Two entries with one sequence number would make the order ambiguous; renumbered below.
    conn.execute_batch(
        "UPDATE activity SET seq = NULL;
         CREATE UNIQUE INDEX IF NOT EXISTS activity_by_seq ON activity (seq);",
    )
    .at(path)?;
    let rows: Vec<(i64, i64, String, String)> = conn
        .prepare("SELECT id, ts, kind, detail FROM activity ORDER BY id")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect()
        })
        .at(path)?;
    let mut prev = GENESIS;
    let mut seq = 0;
    for (id, ts, kind, detail) in &rows {
        seq += 1;
        let hash = entry_hash(seq, *ts, kind, detail, &prev);
        conn.execute(
            "UPDATE activity SET seq = ?1, prev = ?2, hash = ?3 WHERE id = ?4",
            params![seq, &prev[..], &hash[..], id],
        )
        .at(path)?;
        prev = hash;
    }
    if seq > 0 {
        // Written before the step commits: if it does not, the step runs again at the next
        // start and chains the same entries to the same hashes.
        write_head(path, ChainHead { seq, hash: prev })?;
    }
    Ok(())
}

/// Appends an entry to the chain. Inside a transaction the head file is written once the writer
/// is done with it ([`publish_pending`]); on its own, the append is its own transaction and the
/// head file is written at once.
pub(crate) fn append(
    conn: &Connection,
    path: &Path,
    ts: Micros,
    kind: &str,
    detail: &str,
) -> Result<(), StoreError> {
    if !conn.is_autocommit() {
        insert(conn, path, ts, kind, detail)?;
        PENDING.with(|p| p.set(true));
        return Ok(());
    }
    // IMMEDIATE: the newest entry read below is still the newest when this one is written, even
    // with a second writer (the CLI, while no recorder runs) on the same file.
    conn.execute_batch("BEGIN IMMEDIATE").at(path)?;
    let done =
        insert(conn, path, ts, kind, detail).and_then(|()| conn.execute_batch("COMMIT").at(path));
    if let Err(e) = done {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(e);
    }
    PENDING.with(|p| p.set(true));
    publish_pending(conn, path);
    Ok(())
}

fn insert(
    conn: &Connection,
    path: &Path,
    ts: Micros,
    kind: &str,
    detail: &str,
) -> Result<(), StoreError> {
    let (seq, prev) = match newest(conn, path)? {
        Some((seq, hash)) => (seq.saturating_add(1), hash),
        None => match anchor(conn, path)? {
            Some(a) => (a.seq.saturating_add(1), a.hash.to_vec()),
            None => (1, GENESIS.to_vec()),
        },
    };
    let hash = entry_hash(seq, ts, kind, detail, &prev);
    conn.prepare_cached(
        "INSERT INTO activity (ts, kind, detail, seq, prev, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut s| s.execute(params![ts, kind, detail, seq, prev, &hash[..]]))
    .map(drop)
    .at(path)
}

/// The newest chained entry's sequence number and stored hash (whatever its length: a damaged
/// hash is chained to as it is, and `verify` reports it).
fn newest(conn: &Connection, path: &Path) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
    conn.prepare_cached(
        "SELECT seq, CAST(hash AS BLOB) FROM activity
         WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1",
    )
    .and_then(|mut s| {
        s.query_row([], |r| Ok((r.get(0)?, r.get::<_, Option<Vec<u8>>>(1)?)))
            .optional()
    })
    .map(|o| o.map(|(seq, hash)| (seq, hash.unwrap_or_default())))
    .at(path)
}

fn anchor(conn: &Connection, path: &Path) -> Result<Option<ChainHead>, StoreError> {
    let row: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT seq, CAST(hash AS BLOB) FROM audit_anchor WHERE id = 1")
        .and_then(|mut s| s.query_row([], |r| Ok((r.get(0)?, r.get(1)?))).optional())
        .at(path)?;
    Ok(row.map(|(seq, hash)| ChainHead {
        seq,
        hash: to_hash(&hash),
    }))
}

/// A stored hash as 32 bytes. One of another length exists only by tampering, and the entry
/// is then reported as edited whatever this makes of it.
fn to_hash(bytes: &[u8]) -> [u8; 32] {
    let mut h = [0u8; 32];
    let n = bytes.len().min(32);
    h[..n].copy_from_slice(&bytes[..n]);
    h
}

/// Writes the newest committed entry to the head file if an append since the last call asked for
/// it. Called by the writer after each command, outside any transaction. A failure (a full disk)
/// is logged and retried after the next command: the entry is committed either way, and a head
/// file that lags behind is harmless.
pub(crate) fn publish_pending(conn: &Connection, path: &Path) {
    if !PENDING.with(|p| p.get()) || !conn.is_autocommit() {
        return;
    }
    let r = newest(conn, path).and_then(|n| match n {
        Some((seq, hash)) => write_head(
            path,
            ChainHead {
                seq,
                hash: to_hash(&hash),
            },
        ),
        None => Ok(()),
    });
    match r {
        Ok(()) => PENDING.with(|p| p.set(false)),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "could not record the activity log's newest entry next to the database; retried after the next change");
        }
    }
}

/// Replaces the head file atomically: a new file (owner-only) renamed over the old one.
fn write_head(db: &Path, head: ChainHead) -> Result<(), StoreError> {
    let file = head_file(db);
    let mut tmp = file.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let _ = fs::remove_file(&tmp);
    let text = format!("{HEAD_MAGIC}\n{} {}\n", head.seq, head.hash_hex());
    let mut o = fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let written = o
        .open(&tmp)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .and_then(|()| fs::rename(&tmp, &file));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(StoreError::io(&file, e));
    }
    Ok(())
}

/// The head file's content: `None` when there is none, `Err` with a reason when it is damaged.
fn read_head(file: &Path) -> Result<Option<ChainHead>, String> {
    let text = match fs::read(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("it cannot be read: {e}")),
    };
    let bad = || "it does not hold a sequence number and a hash".to_owned();
    let text = String::from_utf8(text).map_err(|_| bad())?;
    let mut lines = text.lines();
    if lines.next() != Some(HEAD_MAGIC) {
        return Err(bad());
    }
    let (seq, hash) = lines
        .next()
        .and_then(|l| l.split_once(' '))
        .ok_or_else(bad)?;
    let seq: i64 = seq.parse().map_err(|_| bad())?;
    let hash = unhex(hash).ok_or_else(bad)?;
    Ok(Some(ChainHead { seq, hash }))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// What [`verify`] found: how much it checked and every problem, oldest entry first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// Entries (rows of the log) checked.
    pub entries: u64,
    /// The newest entry of the chain as stored (highest sequence number), if any.
    pub newest: Option<ChainHead>,
    /// Where the chain starts after older entries were pruned (none are, today).
    pub anchor: Option<ChainHead>,
    /// The head file and what it records.
    pub head_file: PathBuf,
    pub recorded: Option<ChainHead>,
    /// Everything that is not as Glasshouse wrote it; empty when the log is intact.
    pub problems: Vec<AuditProblem>,
}

impl AuditReport {
    /// Whether nothing was found: every entry is as written, in order, none missing.
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }

    /// The oldest problem found.
    pub fn first_problem(&self) -> Option<&AuditProblem> {
        self.problems.first()
    }

    /// Entries written after the head file was last updated (only after a crash, or while a
    /// change is being committed): checked by the chain alone.
    pub fn unrecorded(&self) -> i64 {
        match (self.newest, self.recorded) {
            (Some(n), Some(r)) if n.seq > r.seq => n.seq - r.seq,
            (Some(n), None) if self.problems.is_empty() => n.seq,
            _ => 0,
        }
    }
}

impl fmt::Display for AuditReport {
    /// One sentence: intact with how many entries, or how many problems and the first one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = plural(self.entries, "entry", "entries");
        match self.problems.first() {
            None => match self.newest {
                Some(n) => write!(
                    f,
                    "the activity log is intact: {entries} checked, the newest is #{} with hash {}",
                    n.seq,
                    n.hash_hex()
                ),
                None => write!(f, "the activity log is intact: it is empty"),
            },
            Some(first) => write!(
                f,
                "the activity log was tampered with: {} in {entries}; the first: {first}",
                plural(self.problems.len() as u64, "problem", "problems")
            ),
        }
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// One way in which the log is not what Glasshouse wrote. `Display` is a sentence naming the
/// entry by its number (`#3`, as `glasshouse log` counts from the oldest) and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditProblem {
    /// The entry's contents (time, kind or detail) or hash were changed after it was written.
    Edited { seq: i64, ts: Micros, kind: String },
    /// Entries `from..=to` are gone from the middle or the start of the log.
    Removed { from: i64, to: i64 },
    /// Entries `from..=to`, which the head file says were written, are gone from the end.
    CutOff { from: i64, to: i64, file: PathBuf },
    /// The entry is stored out of its place: after `neighbour` if `stored_after` (an entry
    /// written later), else before it (an entry written earlier).
    Reordered {
        seq: i64,
        neighbour: i64,
        stored_after: bool,
    },
    /// Two entries carry the same number.
    Duplicate { seq: i64 },
    /// The entry does not point at the one before it: that one was replaced, or its hash
    /// recomputed after an edit.
    BrokenLink { seq: i64 },
    /// The newest entry recorded in the head file has another hash in the log: the chain was
    /// recomputed after an edit, or entries were replaced.
    Rewritten { seq: i64, file: PathBuf },
    /// An entry without a place in the chain (no number or hash): added outside Glasshouse.
    Unchained { row: i64 },
    /// An entry older than the pruning anchor is still there.
    BeforeAnchor { seq: i64 },
    /// The log has entries but the head file is gone.
    HeadMissing { file: PathBuf },
    /// The head file cannot be read or does not hold a head.
    HeadDamaged { file: PathBuf, reason: String },
}

impl AuditProblem {
    /// The number of the (first) entry the problem is about, if it is about one.
    pub fn seq(&self) -> Option<i64> {
        match self {
            AuditProblem::Edited { seq, .. }
            | AuditProblem::Reordered { seq, .. }
            | AuditProblem::Duplicate { seq }
            | AuditProblem::BrokenLink { seq }
            | AuditProblem::Rewritten { seq, .. }
            | AuditProblem::BeforeAnchor { seq } => Some(*seq),
            AuditProblem::Removed { from, .. } | AuditProblem::CutOff { from, .. } => Some(*from),
            AuditProblem::Unchained { .. }
            | AuditProblem::HeadMissing { .. }
            | AuditProblem::HeadDamaged { .. } => None,
        }
    }
}

fn entries_range(from: i64, to: i64) -> String {
    if from == to {
        format!("entry #{from} was")
    } else {
        format!("entries #{from} to #{to} were")
    }
}

fn local_time(ts: Micros) -> String {
    chrono::DateTime::from_timestamp_micros(ts).map_or_else(
        || format!("time {ts}"),
        |t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        },
    )
}

impl fmt::Display for AuditProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditProblem::Edited { seq, ts, kind } => write!(
                f,
                "entry #{seq} ({}, {kind}) was edited after it was written: its contents no longer match its hash",
                local_time(*ts)
            ),
            AuditProblem::Removed { from, to } => write!(
                f,
                "{} removed from the log: the numbering jumps over {}",
                entries_range(*from, *to),
                if from == to { "it" } else { "them" }
            ),
            AuditProblem::CutOff { from, to, file } => write!(
                f,
                "{} removed from the end of the log: {} records entry #{to} as the newest (or a power cut lost the last changes)",
                entries_range(*from, *to),
                file.display()
            ),
            AuditProblem::Reordered {
                seq,
                neighbour,
                stored_after: true,
            } => write!(
                f,
                "entry #{seq} was moved: it is stored after entry #{neighbour}, which was written later"
            ),
            AuditProblem::Reordered {
                seq,
                neighbour,
                stored_after: false,
            } => write!(
                f,
                "entry #{seq} was moved: it is stored before entry #{neighbour}, which was written earlier"
            ),
            AuditProblem::Duplicate { seq } => {
                write!(f, "entry #{seq} appears twice: one copy was added")
            }
            AuditProblem::BrokenLink { seq } => write!(
                f,
                "entry #{seq} does not follow the entry before it: that entry was replaced or edited and its hash recomputed"
            ),
            AuditProblem::Rewritten { seq, file } => write!(
                f,
                "entry #{seq} has another hash than {} recorded for it: the log was rewritten and its hashes recomputed",
                file.display()
            ),
            AuditProblem::Unchained { row } => write!(
                f,
                "the entry in row {row} has no place in the chain (no number or hash): it was added outside Glasshouse"
            ),
            AuditProblem::BeforeAnchor { seq } => write!(
                f,
                "entry #{seq} is older than where the log was pruned, yet it is still there: it was added back"
            ),
            AuditProblem::HeadMissing { file } => write!(
                f,
                "{} is missing, so the end of the log cannot be checked: it was deleted",
                file.display()
            ),
            AuditProblem::HeadDamaged { file, reason } => {
                write!(f, "{} is damaged ({reason})", file.display())
            }
        }
    }
}

/// One row of the log as stored, whatever was done to it.
struct Row {
    id: i64,
    seq: Option<i64>,
    ts: Option<i64>,
    kind: Option<String>,
    detail: Option<String>,
    prev: Option<Vec<u8>>,
    hash: Option<Vec<u8>>,
}

fn int(v: ValueRef<'_>) -> Option<i64> {
    match v {
        ValueRef::Integer(i) => Some(i),
        _ => None,
    }
}

fn text(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Text(t) => String::from_utf8(t.to_vec()).ok(),
        _ => None,
    }
}

fn blob(v: ValueRef<'_>) -> Option<Vec<u8>> {
    match v {
        ValueRef::Blob(b) => Some(b.to_vec()),
        ValueRef::Text(t) => Some(t.to_vec()),
        _ => None,
    }
}

/// Checks the whole log against its chain and the head file. Reads everything in one snapshot;
/// the head file is read first, so an entry appended meanwhile is never taken for a cut-off one.
pub(crate) fn verify(conn: &Connection, path: &Path) -> Result<AuditReport, StoreError> {
    let file = head_file(path);
    let recorded = read_head(&file);
    let tx = conn.unchecked_transaction().at(path)?;
    let anchor = anchor(&tx, path)?;
    let rows: Vec<Row> = tx
        .prepare("SELECT id, seq, ts, kind, detail, prev, hash FROM activity ORDER BY id")
        .and_then(|mut s| {
            s.query_map([], |r| {
                Ok(Row {
                    id: r.get(0)?,
                    seq: int(r.get_ref(1)?),
                    ts: int(r.get_ref(2)?),
                    kind: text(r.get_ref(3)?),
                    detail: text(r.get_ref(4)?),
                    prev: blob(r.get_ref(5)?),
                    hash: blob(r.get_ref(6)?),
                })
            })?
            .collect()
        })
        .at(path)?;
    drop(tx);
    Ok(check(rows, anchor, recorded, &file))
}

/// A chained entry: one with a number and a hash.
struct Link {
    seq: i64,
    prev: Vec<u8>,
    hash: Vec<u8>,
}

fn check(
    rows: Vec<Row>,
    anchor: Option<ChainHead>,
    recorded: Result<Option<ChainHead>, String>,
    file: &Path,
) -> AuditReport {
    let entries = rows.len() as u64;
    let mut problems = Vec::new();
    // In storage order, each entry checked against its own hash.
    let mut stored: Vec<Link> = Vec::new();
    for r in rows {
        let (Some(seq), Some(prev), Some(hash)) = (r.seq, r.prev, r.hash) else {
            problems.push(AuditProblem::Unchained { row: r.id });
            continue;
        };
        let expected = match (&r.ts, &r.kind, &r.detail) {
            (Some(ts), Some(kind), Some(detail)) => Some(entry_hash(seq, *ts, kind, detail, &prev)),
            _ => None,
        };
        if expected.is_none_or(|e| e[..] != hash[..]) {
            problems.push(AuditProblem::Edited {
                seq,
                ts: r.ts.unwrap_or(0),
                kind: r.kind.unwrap_or_else(|| "?".to_owned()),
            });
        }
        stored.push(Link { seq, prev, hash });
    }
    // The same number twice: the later copy is the odd one out.
    let mut seen = std::collections::HashSet::new();
    stored.retain(|l| {
        let first = seen.insert(l.seq);
        if !first {
            problems.push(AuditProblem::Duplicate { seq: l.seq });
        }
        first
    });
    // Order: the entries in their longest increasing run are in place, the others were moved.
    let seqs: Vec<i64> = stored.iter().map(|l| l.seq).collect();
    let keep = longest_increasing(&seqs);
    for (i, &seq) in seqs.iter().enumerate() {
        if keep[i] {
            continue;
        }
        let later_before = seqs[..i].iter().copied().filter(|&s| s > seq).max();
        let earlier_after = seqs[i + 1..].iter().copied().filter(|&s| s < seq).min();
        let (neighbour, stored_after) = match (later_before, earlier_after) {
            (Some(n), _) => (n, true),
            (None, Some(n)) => (n, false),
            (None, None) => continue,
        };
        problems.push(AuditProblem::Reordered {
            seq,
            neighbour,
            stored_after,
        });
    }
    // In numbering order: gaps, and each entry pointing at the one before it.
    stored.sort_by_key(|l| l.seq);
    let start = anchor.map_or(1, |a| a.seq.saturating_add(1));
    let start_prev = anchor.map_or(GENESIS, |a| a.hash);
    let mut before: Option<&Link> = None;
    for l in &stored {
        if l.seq < start {
            problems.push(AuditProblem::BeforeAnchor { seq: l.seq });
            continue;
        }
        let expected_seq = before.map_or(start, |b| b.seq + 1);
        if l.seq > expected_seq {
            problems.push(AuditProblem::Removed {
                from: expected_seq,
                to: l.seq - 1,
            });
        } else {
            let expected_prev: &[u8] = before.map_or(&start_prev[..], |b| &b.hash[..]);
            if l.prev[..] != *expected_prev {
                problems.push(AuditProblem::BrokenLink { seq: l.seq });
            }
        }
        before = Some(l);
    }
    let newest = stored.last().map(|l| ChainHead {
        seq: l.seq,
        hash: to_hash(&l.hash),
    });
    // The end, against the head file.
    let last_seq = newest.map_or(start - 1, |n| n.seq);
    match &recorded {
        Err(reason) => problems.push(AuditProblem::HeadDamaged {
            file: file.to_owned(),
            reason: reason.clone(),
        }),
        Ok(None) if !stored.is_empty() => problems.push(AuditProblem::HeadMissing {
            file: file.to_owned(),
        }),
        Ok(None) => {}
        Ok(Some(h)) if h.seq > last_seq => problems.push(AuditProblem::CutOff {
            from: last_seq + 1,
            to: h.seq,
            file: file.to_owned(),
        }),
        Ok(Some(h)) => {
            let h = *h;
            let stored_hash = stored
                .iter()
                .find(|l| l.seq == h.seq)
                .map(|l| to_hash(&l.hash))
                .or_else(|| anchor.filter(|a| a.seq == h.seq).map(|a| a.hash));
            if stored_hash.is_some_and(|s| s != h.hash) {
                problems.push(AuditProblem::Rewritten {
                    seq: h.seq,
                    file: file.to_owned(),
                });
            }
        }
    }
    // Oldest first; problems with no entry number (rows without one, the head file) last.
    problems.sort_by_key(|p| p.seq().unwrap_or(i64::MAX));
    AuditReport {
        entries,
        newest,
        anchor,
        head_file: file.to_owned(),
        recorded: recorded.ok().flatten(),
        problems,
    }
}

/// Marks the elements of one longest strictly increasing subsequence of `seqs`.
fn longest_increasing(seqs: &[i64]) -> Vec<bool> {
    // tails[k]: index of the smallest last element of an increasing run of length k + 1.
    let mut tails: Vec<usize> = Vec::new();
    let mut parent: Vec<Option<usize>> = vec![None; seqs.len()];
    for (i, &s) in seqs.iter().enumerate() {
        let k = tails.partition_point(|&t| seqs[t] < s);
        parent[i] = k.checked_sub(1).map(|p| tails[p]);
        if k == tails.len() {
            tails.push(i);
        } else {
            tails[k] = i;
        }
    }
    let mut keep = vec![false; seqs.len()];
    let mut at = tails.last().copied();
    while let Some(i) = at {
        keep[i] = true;
        at = parent[i];
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_encoding_is_unambiguous() {
        let a = entry_hash(1, 5, "ab", "c", &GENESIS);
        assert_ne!(a, entry_hash(1, 5, "a", "bc", &GENESIS));
        assert_ne!(a, entry_hash(2, 5, "ab", "c", &GENESIS));
        assert_ne!(a, entry_hash(1, 6, "ab", "c", &GENESIS));
        assert_ne!(a, entry_hash(1, 5, "ab", "c", &[1; 32]));
        assert_eq!(a, entry_hash(1, 5, "ab", "c", &GENESIS));
    }

    #[test]
    fn the_encoding_is_as_documented() {
        let mut bytes = b"glasshouse activity chain v1".to_vec();
        bytes.extend(7i64.to_be_bytes());
        bytes.extend(1_700_000_000_000_000i64.to_be_bytes());
        bytes.extend(5u64.to_be_bytes());
        bytes.extend(b"pause");
        bytes.extend(3u64.to_be_bytes());
        bytes.extend("15m".as_bytes());
        bytes.extend(32u64.to_be_bytes());
        bytes.extend([9u8; 32]);
        let expected: [u8; 32] = Sha256::digest(&bytes).into();
        assert_eq!(
            entry_hash(7, 1_700_000_000_000_000, "pause", "15m", &[9; 32]),
            expected
        );
    }

    #[test]
    fn longest_increasing_keeps_the_entries_in_place() {
        let keep = |s: &[i64]| -> Vec<i64> {
            let k = longest_increasing(s);
            s.iter()
                .zip(k)
                .filter(|(_, k)| !k)
                .map(|(s, _)| *s)
                .collect()
        };
        assert_eq!(keep(&[1, 2, 3, 4]), Vec::<i64>::new());
        assert_eq!(keep(&[1, 2, 4, 3, 5]).len(), 1);
        assert_eq!(keep(&[5, 1, 2, 3, 4]), vec![5]);
        assert_eq!(keep(&[1, 2, 3, 4, 0]), vec![0]);
    }

    /// An activity log as versions before the chain left it is chained by the schema step, in
    /// the order it was written, from the genesis; new entries continue the chain.
    #[test]
    fn the_migration_chains_an_old_log() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("glasshouse.db");
        let conn = Connection::open(&db).unwrap();
        // The table as schema version 1 created it.
        conn.execute_batch(
            "CREATE TABLE activity (
                id INTEGER PRIMARY KEY,
                ts INTEGER NOT NULL,
                kind TEXT NOT NULL,
                detail TEXT NOT NULL
            );
            INSERT INTO activity (id, ts, kind, detail) VALUES
                (3, 100, 'pause', 'for 15 minutes'),
                (7, 200, 'resume', ''),
                (9, 150, 'delete', 'deleted 12 events');",
        )
        .unwrap();
        let tx = conn.unchecked_transaction().unwrap();
        tx.execute_batch(SCHEMA).unwrap();
        migrate(&tx, &db).unwrap();
        tx.commit().unwrap();

        let h1 = entry_hash(1, 100, "pause", "for 15 minutes", &GENESIS);
        let h2 = entry_hash(2, 200, "resume", "", &h1);
        let h3 = entry_hash(3, 150, "delete", "deleted 12 events", &h2);
        let chained: Vec<(i64, i64, Vec<u8>, Vec<u8>)> = conn
            .prepare("SELECT id, seq, prev, hash FROM activity ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            chained,
            [
                (3, 1, GENESIS.to_vec(), h1.to_vec()),
                (7, 2, h1.to_vec(), h2.to_vec()),
                (9, 3, h2.to_vec(), h3.to_vec()),
            ]
        );
        let head = ChainHead { seq: 3, hash: h3 };
        assert_eq!(read_head(&head_file(&db)), Ok(Some(head)));
        let report = verify(&conn, &db).unwrap();
        assert!(report.is_intact(), "{report}");
        assert_eq!((report.entries, report.newest), (3, Some(head)));

        append(&conn, &db, 300, "settings", "capture level full").unwrap();
        let report = verify(&conn, &db).unwrap();
        assert!(report.is_intact(), "{report}");
        assert_eq!(report.newest.map(|h| h.seq), Some(4));
        assert_eq!(report.recorded, report.newest);

        // Running the step again (a failed commit, retried) gives the same chain.
        let tx = conn.unchecked_transaction().unwrap();
        migrate(&tx, &db).unwrap();
        tx.commit().unwrap();
        assert!(verify(&conn, &db).unwrap().is_intact());
    }

    /// After the oldest entries are pruned and the last of them kept as the anchor, the chain
    /// still verifies from there; pruned without the anchor, they are reported removed.
    #[test]
    fn a_pruned_log_verifies_from_its_anchor() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("glasshouse.db");
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TABLE activity (
                id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL
            );",
        )
        .unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        migrate(&conn, &db).unwrap();
        for i in 0..5 {
            append(&conn, &db, i, "pause", "").unwrap();
        }
        conn.execute_batch("DELETE FROM activity WHERE seq <= 2")
            .unwrap();
        let removed = verify(&conn, &db).unwrap();
        assert_eq!(removed.problems, [AuditProblem::Removed { from: 1, to: 2 }]);
        let h1 = entry_hash(1, 0, "pause", "", &GENESIS);
        let h2 = entry_hash(2, 1, "pause", "", &h1);
        conn.execute(
            "INSERT INTO audit_anchor (id, seq, hash) VALUES (1, 2, ?1)",
            [&h2[..]],
        )
        .unwrap();
        let report = verify(&conn, &db).unwrap();
        assert!(report.is_intact(), "{report}");
        assert_eq!(report.entries, 3);
        // A pruned log emptied completely continues from the anchor.
        conn.execute_batch("DELETE FROM activity").unwrap();
        conn.execute(
            "UPDATE audit_anchor SET seq = 5, hash = ?1",
            [&report.newest.unwrap().hash[..]],
        )
        .unwrap();
        append(&conn, &db, 9, "resume", "").unwrap();
        let report = verify(&conn, &db).unwrap();
        assert!(report.is_intact(), "{report}");
        assert_eq!(report.newest.map(|h| h.seq), Some(6));
    }

    #[test]
    fn the_head_file_round_trips_and_damage_is_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("glasshouse.db");
        let head = ChainHead {
            seq: 42,
            hash: [0xab; 32],
        };
        write_head(&db, head).unwrap();
        assert_eq!(read_head(&head_file(&db)), Ok(Some(head)));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(head_file(&db)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        fs::write(head_file(&db), "glasshouse-audit-head 1\n42 zz\n").unwrap();
        assert!(read_head(&head_file(&db)).is_err());
        fs::remove_file(head_file(&db)).unwrap();
        assert_eq!(read_head(&head_file(&db)), Ok(None));
    }
}
