//! The activity log's hash chain: an untouched log verifies; an edited, removed, reordered or
//! cut-off entry is found and named; a recomputed chain is found through the head file.

use std::path::{Path, PathBuf};

use glasshouse_store::audit::{entry_hash, head_file};
use glasshouse_store::{ActivityKind, AuditProblem, AuditReport, DbKey, Reader, Selection, Store};

fn key() -> DbKey {
    DbKey::from_bytes([7; 32])
}

/// A raw SQLite connection to the database, keyed: what someone who can write the file has.
fn raw(path: &Path) -> rusqlite::Connection {
    glasshouse_store::raw::open_keyed(path, &key()).unwrap()
}

/// A closed database whose log has `n` entries: settings changes, then a delete (logged inside
/// the delete's transaction) as the newest.
fn log_of(dir: &tempfile::TempDir, n: usize) -> PathBuf {
    let path = dir.path().join("data").join("glasshouse.db");
    let store = Store::open(&path, &key()).unwrap();
    let kinds = [
        ActivityKind::Pause,
        ActivityKind::Resume,
        ActivityKind::Settings,
    ];
    for i in 0..n - 1 {
        store
            .log(kinds[i % kinds.len()], &format!("change {}", i + 1))
            .unwrap();
    }
    store.delete(Selection::All).unwrap();
    store.close().unwrap();
    path
}

fn verify(path: &Path) -> AuditReport {
    Reader::open(path, &key()).unwrap().verify_audit().unwrap()
}

/// The problems, as the sentences a person reads.
fn sentences(report: &AuditReport) -> Vec<String> {
    report.problems.iter().map(ToString::to_string).collect()
}

fn id_of(c: &rusqlite::Connection, seq: i64) -> i64 {
    c.query_row("SELECT id FROM activity WHERE seq = ?1", [seq], |r| {
        r.get(0)
    })
    .unwrap()
}

#[test]
fn an_untouched_log_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_of(&dir, 6);
    let report = verify(&path);
    assert!(report.is_intact(), "{:?}", sentences(&report));
    assert_eq!(report.entries, 6);
    let newest = report.newest.unwrap();
    assert_eq!(newest.seq, 6);
    // The head file caught up with the delete, whose entry was written inside its transaction.
    assert_eq!(report.recorded, Some(newest));
    assert_eq!(report.unrecorded(), 0);
    assert!(
        report.to_string().contains("intact: 6 entries checked"),
        "{report}"
    );
    // Reopening and logging more continues the chain.
    let store = Store::open(&path, &key()).unwrap();
    store
        .log(ActivityKind::Capture, "capture level full")
        .unwrap();
    let report = store.reader().unwrap().verify_audit().unwrap();
    assert!(report.is_intact(), "{:?}", sentences(&report));
    assert_eq!(report.newest.map(|h| h.seq), Some(7));
    assert_eq!(report.recorded, report.newest);
    store.close().unwrap();
    // An empty log is intact and leaves no head file.
    let empty = tempfile::tempdir().unwrap();
    let path = empty.path().join("glasshouse.db");
    Store::open(&path, &key()).unwrap().close().unwrap();
    let report = verify(&path);
    assert!(report.is_intact() && report.entries == 0);
    assert!(!head_file(&path).exists());
}

#[test]
fn the_head_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = log_of(&dir, 2);
    let mode = std::fs::metadata(head_file(&path))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn an_edited_entry_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_of(&dir, 6);
    raw(&path)
        .execute(
            "UPDATE activity SET detail = 'nothing happened' WHERE seq = 3",
            [],
        )
        .unwrap();
    let report = verify(&path);
    assert_eq!(report.problems.len(), 1, "{:?}", sentences(&report));
    assert!(matches!(
        report.first_problem(),
        Some(AuditProblem::Edited { seq: 3, kind, .. }) if kind == "settings"
    ));
    let s = report.problems[0].to_string();
    assert!(
        s.starts_with("entry #3 (") && s.contains("was edited"),
        "{s}"
    );
    assert!(
        report
            .to_string()
            .starts_with("the activity log was tampered with: 1 problem in 6 entries")
    );

    // A changed time or kind is an edit too.
    let dir = tempfile::tempdir().unwrap();
    let path = log_of(&dir, 6);
    let c = raw(&path);
    c.execute("UPDATE activity SET ts = ts - 3600000000 WHERE seq = 2", [])
        .unwrap();
    c.execute("UPDATE activity SET kind = 'resume' WHERE seq = 4", [])
        .unwrap();
    drop(c);
    let report = verify(&path);
    let seqs: Vec<_> = report.problems.iter().map(AuditProblem::seq).collect();
    assert_eq!(seqs, [Some(2), Some(4)], "{:?}", sentences(&report));
}

#[test]
fn a_removed_entry_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_of(&dir, 6);
    raw(&path)
        .execute("DELETE FROM activity WHERE seq = 3", [])
        .unwrap();
    let report = verify(&path);
    assert_eq!(
        report.problems,
        [AuditProblem::Removed { from: 3, to: 3 }],
        "{:?}",
        sentences(&report)
    );
    assert_eq!(
        report.problems[0].to_string(),
        "entry #3 was removed from the log: the numbering jumps over it"
    );

    // The oldest ones, too.
    let dir = tempfile::tempdir().unwrap();
    let path = log_of(&dir, 6);
    raw(&path)
        .execute("DELETE FROM activity WHERE seq <= 2", [])
        .unwrap();
    let report = verify(&path);
    assert_eq!(report.problems, [AuditProblem::Removed { from: 1, to: 2 }]);
}

#[test]
fn swapped_entries_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_of(&dir, 6);
    let c = raw(&path);
    let (a, b) = (id_of(&c, 2), id_of(&c, 3));
    c.execute_batch(&format!(
        "UPDATE activity SET id = -1 WHERE id = {a};
         UPDATE activity SET id = {a} WHERE id = {b};
         UPDATE activity SET id = {b} WHERE id = -1;"
    ))
    .unwrap();
    drop(c);
    let report = verify(&path);
    assert_eq!(report.problems.len(), 1, "{:?}", sentences(&report));
    assert!(
        matches!(
            report.problems[0],
            AuditProblem::Reordered { seq: 2 | 3, .. }
        ),
        "{:?}",
        sentences(&report)
    );
    assert!(report.problems[0].to_string().contains("was moved"));

    // Swapping only what the entries say (times, kinds, details), keeping the chain columns.
    let dir = tempfile::tempdir().unwrap();
    let path = log_of(&dir, 6);
    let c = raw(&path);
    let (a, b) = (id_of(&c, 4), id_of(&c, 5));
    c.execute_batch(&format!(
        "CREATE TEMP TABLE t AS SELECT id, ts, kind, detail FROM activity WHERE id IN ({a}, {b});
         UPDATE activity SET
             ts = (SELECT ts FROM t WHERE t.id = {a} + {b} - activity.id),
             kind = (SELECT kind FROM t WHERE t.id = {a} + {b} - activity.id),
             detail = (SELECT detail FROM t WHERE t.id = {a} + {b} - activity.id)
         WHERE id IN ({a}, {b});"
    ))
    .unwrap();
    drop(c);
    let report = verify(&path);
    let seqs: Vec<_> = report.problems.iter().map(AuditProblem::seq).collect();
    assert_eq!(seqs, [Some(4), Some(5)], "{:?}", sentences(&report));
}

#[test]
fn a_cut_off_tail_is_found_through_the_head_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_of(&dir, 6);
    raw(&path)
        .execute("DELETE FROM activity WHERE seq >= 5", [])
        .unwrap();
    let report = verify(&path);
    assert_eq!(report.problems.len(), 1, "{:?}", sentences(&report));
    assert!(matches!(
        report.problems[0],
        AuditProblem::CutOff { from: 5, to: 6, .. }
    ));
    assert!(
        report.problems[0]
            .to_string()
            .starts_with("entries #5 to #6 were removed from the end of the log"),
        "{}",
        report.problems[0]
    );

    // The whole log, too; and deleting the head file with it leaves nothing to compare with only
    // when the log is empty: a log with entries and no head file is reported.
    raw(&path).execute("DELETE FROM activity", []).unwrap();
    assert!(matches!(
        verify(&path).problems[..],
        [AuditProblem::CutOff { from: 1, to: 6, .. }]
    ));
    let dir = tempfile::tempdir().unwrap();
    let path = log_of(&dir, 3);
    std::fs::remove_file(head_file(&path)).unwrap();
    assert!(matches!(
        verify(&path).problems[..],
        [AuditProblem::HeadMissing { .. }]
    ));
    std::fs::write(head_file(&path), "hello").unwrap();
    assert!(matches!(
        verify(&path).problems[..],
        [AuditProblem::HeadDamaged { .. }]
    ));
}

/// What someone who knows the encoding does: edit an entry and recompute its hash, or every hash
/// from it to the end.
fn rehash_from(c: &rusqlite::Connection, from: i64) -> (i64, [u8; 32]) {
    let rows: Vec<(i64, i64, String, String, Vec<u8>)> = c
        .prepare("SELECT seq, ts, kind, detail, prev FROM activity WHERE seq >= ?1 ORDER BY seq")
        .unwrap()
        .query_map([from], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut prev = rows[0].4.clone();
    let mut last = (0, [0; 32]);
    for (seq, ts, kind, detail, _) in rows {
        let hash = entry_hash(seq, ts, &kind, &detail, &prev);
        c.execute(
            "UPDATE activity SET prev = ?1, hash = ?2 WHERE seq = ?3",
            rusqlite::params![prev, &hash[..], seq],
        )
        .unwrap();
        prev = hash.to_vec();
        last = (seq, hash);
    }
    last
}

#[test]
fn an_edit_with_its_hash_recomputed_breaks_the_next_link() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_of(&dir, 6);
    let c = raw(&path);
    c.execute("UPDATE activity SET detail = 'forged' WHERE seq = 3", [])
        .unwrap();
    // Only entry 3's own hash.
    let row: (i64, String, String, Vec<u8>) = c
        .query_row(
            "SELECT ts, kind, detail, prev FROM activity WHERE seq = 3",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    let hash = entry_hash(3, row.0, &row.1, &row.2, &row.3);
    c.execute("UPDATE activity SET hash = ?1 WHERE seq = 3", [&hash[..]])
        .unwrap();
    drop(c);
    let report = verify(&path);
    assert_eq!(
        report.problems,
        [AuditProblem::BrokenLink { seq: 4 }],
        "{:?}",
        sentences(&report)
    );
}

#[test]
fn a_recomputed_chain_is_found_through_the_head_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_of(&dir, 6);
    let c = raw(&path);
    c.execute("UPDATE activity SET detail = 'forged' WHERE seq = 2", [])
        .unwrap();
    let (newest, hash) = rehash_from(&c, 2);
    drop(c);
    let report = verify(&path);
    assert_eq!(report.problems.len(), 1, "{:?}", sentences(&report));
    assert!(matches!(
        report.problems[0],
        AuditProblem::Rewritten { seq: 6, .. }
    ));
    assert!(
        report.problems[0]
            .to_string()
            .contains("the log was rewritten")
    );

    // The known limit: whoever also rewrites the head file next to the database is not found.
    // Only a head hash kept elsewhere (what `audit verify` prints) would show it.
    std::fs::write(
        head_file(&path),
        format!(
            "glasshouse-audit-head 1\n{newest} {}\n",
            hash.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ),
    )
    .unwrap();
    assert!(verify(&path).is_intact());
}

#[test]
fn entries_added_outside_glasshouse_or_twice_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_of(&dir, 4);
    let c = raw(&path);
    c.execute(
        "INSERT INTO activity (ts, kind, detail) VALUES (1, 'delete', 'nothing')",
        [],
    )
    .unwrap();
    let row = c.last_insert_rowid();
    drop(c);
    assert_eq!(verify(&path).problems, [AuditProblem::Unchained { row }]);
    let c = raw(&path);
    c.execute_batch(
        "DELETE FROM activity WHERE seq IS NULL;
         DROP INDEX activity_by_seq;
         INSERT INTO activity (ts, kind, detail, seq, prev, hash)
             SELECT ts, kind, detail, seq, prev, hash FROM activity WHERE seq = 2;",
    )
    .unwrap();
    drop(c);
    let report = verify(&path);
    assert!(
        report
            .problems
            .contains(&AuditProblem::Duplicate { seq: 2 }),
        "{:?}",
        sentences(&report)
    );
}

/// The head file is read before the log's snapshot: a reader checking while the writer appends
/// never takes a new entry for a cut-off one.
#[test]
fn verifying_while_entries_are_written_never_cries_wolf() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("glasshouse.db");
    let store = Store::open(&path, &key()).unwrap();
    store.log(ActivityKind::Pause, "first").unwrap();
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            for i in 0..150 {
                if i % 10 == 0 {
                    store.delete(Selection::All).unwrap();
                } else {
                    store
                        .log(ActivityKind::Settings, &format!("n {i}"))
                        .unwrap();
                }
            }
        })
    };
    let reader = Reader::open(&path, &key()).unwrap();
    let mut checks = 0;
    while !writer.is_finished() {
        let report = reader.verify_audit().unwrap();
        assert!(report.is_intact(), "{:?}", sentences(&report));
        checks += 1;
    }
    writer.join().unwrap();
    drop(reader);
    store.close().unwrap();
    let report = verify(&path);
    assert!(report.is_intact());
    assert_eq!(report.entries, 151);
    assert!(checks > 1, "{checks}");
}
