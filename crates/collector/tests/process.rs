//! The real `glasshouse-collector` binary: the admin commands, graceful shutdown, crash safety
//! (killed mid-upload, restarted, retried), and an upload benchmark (ignored by default).

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Server, admin, batch, batch_files, bin, enroll, files_under, hour_start, upload};

/// A data directory with team "platform" and one enrolled, participating device.
fn setup(data: &Path) -> (Server, String, String) {
    admin(data, &["team", "add", "platform"]);
    let token = admin(data, &["token", "enroll", "--team", "platform"]);
    let server = Server::start(data, &[], &[]);
    let (id, secret) = enroll(server.addr, token.trim(), true);
    (server, id, secret)
}

#[test]
fn admin_commands_print_what_they_say_and_fail_in_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    assert_eq!(admin(data, &["team", "add", "platform"]), "");
    admin(data, &["team", "add", "design"]);
    let token = admin(
        data,
        &["token", "enroll", "--team", "design", "--uses", "3"],
    );
    let token = token.strip_suffix('\n').unwrap();
    assert!(
        token.starts_with("ghe_") && !token.contains(char::is_whitespace),
        "{token:?}"
    );
    let manager = admin(data, &["token", "manager", "--label", "Ana (design lead)"]);
    assert!(manager.trim().starts_with("ghm_") && manager.lines().count() == 1);
    assert_eq!(
        admin(data, &["team", "list"]),
        "design\t0 enrolled\t0 participating\nplatform\t0 enrolled\t0 participating\n"
    );
    assert_eq!(admin(data, &["export"]), "");
    // Tokens are stored as hashes only.
    let db = std::fs::read(data.join("collector.db")).unwrap();
    assert!(!db.windows(token.len()).any(|w| w == token.as_bytes()));

    let run = |args: &[&str]| {
        let out = Command::new(bin())
            .args(args)
            .arg("--data")
            .arg(data)
            .output()
            .unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        (out.status.code(), out.stdout.is_empty(), err)
    };
    for (args, code, says) in [
        (&["team", "add", "design"][..], 2, "already exists"),
        (
            &["token", "enroll", "--team", "nope"],
            2,
            "no team named \"nope\"",
        ),
        (
            &["token", "enroll", "--team", "design", "--uses", "0"],
            2,
            "at least one use",
        ),
        (&["export", "--since", "yesterday"], 2, "RFC 3339"),
        (&["export", "--team", "nope"], 2, "no team named"),
        (&["serve", "--min-group", "3"], 2, "3"),
    ] {
        let (got, quiet, err) = run(args);
        assert_eq!(got, Some(code), "{args:?}: {err}");
        assert!(quiet, "{args:?} printed on stdout");
        assert!(err.contains(says), "{args:?}: {err}");
        if args[0] != "serve" {
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(err.starts_with("glasshouse-collector: "), "{err}");
        }
    }
    let out = Command::new(bin()).args(["team", "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "--data is required");
    // Not a collector database: refused, untouched.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(
        other.path().join("collector.db"),
        b"SQLite format 3\0 but not really",
    )
    .unwrap();
    let out = Command::new(bin())
        .args(["team", "list", "--data"])
        .arg(other.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, _, _) = setup(dir.path());
    let r = common::http(server.addr, "GET", "/healthz", &[], b"").unwrap();
    assert_eq!((r.status, r.body.as_slice()), (200, &b"ok"[..]));
    // A second server on the same data directory is refused.
    let out = Command::new(bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already serving"));

    Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    let status = server
        .wait_exit(Duration::from_secs(15))
        .expect("the server exits on SIGTERM");
    assert!(status.success(), "{status:?}");
}

/// Uploads every batch, retrying each until it gets a receipt (or `deadline` passes); returns the
/// statuses of the final answers.
fn upload_all(addr: SocketAddr, secret: &str, batches: &[Vec<u8>]) -> Vec<u16> {
    batches
        .iter()
        .map(|b| {
            let r = upload(addr, secret, b).expect("upload");
            assert!(
                r.status == 200 || r.status == 201,
                "{}: {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            );
            r.status
        })
        .collect()
}

fn assert_exactly_once(data: &Path, shas: &[String]) {
    let mut expected: Vec<String> = shas
        .iter()
        .map(|s| format!("{}/{s}.zst", &s[..2]))
        .collect();
    expected.sort();
    assert_eq!(
        batch_files(data),
        expected,
        "one file per batch, nothing else"
    );
    assert!(
        files_under(&data.join("batches/tmp")).is_empty(),
        "no temp files"
    );
    for sha in shas {
        let bytes = std::fs::read(data.join(format!("batches/{}/{sha}.zst", &sha[..2]))).unwrap();
        assert_eq!(
            &glasshouse_batch::sha256_hex(&bytes),
            sha,
            "the file holds its bytes"
        );
    }
    let export = admin(data, &["export"]);
    let mut exported: Vec<String> = export
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["sha256"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    exported.sort();
    let mut wanted = shas.to_vec();
    wanted.sort();
    assert_eq!(exported, wanted, "one row per batch");
}

#[test]
fn killed_mid_upload_then_retried_stores_each_batch_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let (mut server, id, secret) = setup(data);
    let batches: Vec<_> = (1..=12)
        .map(|h| batch(&id, "platform", hour_start(h), 30))
        .collect();
    let bytes: Vec<Vec<u8>> = batches.iter().map(|b| b.bytes.clone()).collect();
    let shas: Vec<String> = batches.iter().map(|b| b.sha256.clone()).collect();
    server.kill();

    // 1. Killed after the third file is in place, before its row.
    let mut server = Server::start(
        data,
        &[],
        &[("GLASSHOUSE_COLLECTOR_FAILPOINT", "before-row:3")],
    );
    for (i, b) in bytes.iter().enumerate() {
        match upload(server.addr, &secret, b) {
            Ok(r) if r.status == 201 => assert!(i < 2),
            other => {
                assert_eq!(i, 2, "{other:?}");
                break;
            }
        }
    }
    server
        .wait_exit(Duration::from_secs(10))
        .expect("aborted at the failpoint");
    assert_eq!(batch_files(data).len(), 3, "a file without its row");
    assert_eq!(
        admin(data, &["export"]).lines().count(),
        2,
        "export sees rows only"
    );

    // 2. Restarted (the sweep removes the row-less file), killed before the second rename.
    let mut server = Server::start(
        data,
        &[],
        &[("GLASSHOUSE_COLLECTOR_FAILPOINT", "before-rename:2")],
    );
    assert_eq!(batch_files(data).len(), 2, "the orphan file was swept");
    let mut answered = 0;
    for b in &bytes {
        match upload(server.addr, &secret, b) {
            Ok(r) if r.status == 200 || r.status == 201 => answered += 1,
            _ => break,
        }
    }
    assert_eq!(answered, 3, "two already stored, one new, then the crash");
    server
        .wait_exit(Duration::from_secs(10))
        .expect("aborted at the failpoint");
    assert_eq!(
        files_under(&data.join("batches/tmp")).len(),
        1,
        "a temp file is left"
    );
    assert_eq!(admin(data, &["export"]).lines().count(), 3);

    // 3. SIGKILL at an arbitrary moment while four clients upload at once.
    let mut server = Server::start(data, &[], &[]);
    let addr = server.addr;
    let done = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (bytes, secret, done) = (bytes.clone(), secret.clone(), done.clone());
            std::thread::spawn(move || {
                for b in bytes.iter().skip(c).step_by(4) {
                    if upload(addr, &secret, b).is_ok_and(|r| r.status < 300) {
                        done.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    let start = Instant::now();
    while done.load(Ordering::SeqCst) < 5 && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(1));
    }
    server.kill();
    for c in clients {
        c.join().unwrap();
    }

    // 4. Restart and retry everything: exactly one file and one row per batch.
    let server = Server::start(data, &[], &[]);
    let statuses = upload_all(server.addr, &secret, &bytes);
    assert!(
        statuses.contains(&200),
        "some were stored before the crashes: {statuses:?}"
    );
    // And once more: all 200, nothing changes.
    assert!(
        upload_all(server.addr, &secret, &bytes)
            .iter()
            .all(|s| *s == 200)
    );
    drop(server);
    assert_exactly_once(data, &shas);

    // The request log saw only the API, without tokens.
    let log = std::fs::read_to_string(data.join("requests.jsonl")).unwrap();
    assert!(!log.contains(&secret));
}

/// The busiest hours of the store's synthetic heavy workday (about 137,000 pointer moves and
/// 5,600 key presses in the busiest), each built once as a batch (zstd level 19).
fn heavy_hours() -> Vec<glasshouse_batch::Document> {
    let day_start = hour_start(24 * 400);
    let day = glasshouse_store::synth::heavy_workday(day_start, 3);
    let mut hours: Vec<Vec<glasshouse_batch::Row>> = Vec::new();
    for (w, e) in day {
        let h = ((e.ts - day_start) / common::HOUR) as usize;
        hours.resize_with(hours.len().max(h + 1), Vec::new);
        hours[h].push(glasshouse_batch::Row {
            ts: e.ts,
            app: w.app.clone(),
            title: w.title.clone(),
            event: e.event,
        });
    }
    let scrubber = glasshouse_scrub::Scrubber::new();
    hours
        .into_iter()
        .enumerate()
        .filter(|(_, rows)| rows.len() > 10_000)
        .map(|(h, rows)| {
            let start = day_start + h as i64 * common::HOUR;
            let built =
                glasshouse_batch::build(&header("template", start), rows, &scrubber).unwrap();
            glasshouse_batch::decode(&built.bytes).unwrap()
        })
        .collect()
}

fn header(device: &str, start: i64) -> glasshouse_batch::Header {
    glasshouse_batch::Header {
        device: device.to_owned(),
        team: "platform".into(),
        window_start: start,
        window_end: start + common::HOUR,
        capture_level: glasshouse_core::settings::CaptureLevel::Full,
    }
}

/// `cargo test -p glasshouse-collector --release --test process -- --ignored --nocapture upload_throughput`
/// (`GLASSHOUSE_BENCH_BATCHES=N` for another number of batches than 2000).
///
/// Every batch is one of the heavy hours (event times are relative to the window), given its
/// device and its own hour, re-encoded with zstd level 3 instead of the app's 19 so that building
/// 2000 of them takes seconds, not most of an hour: the server's work (decompress, parse,
/// validate, store) is the same, the bytes about 1.6 times as many.
#[test]
#[ignore = "a benchmark: run with --release --ignored --nocapture"]
fn upload_throughput() {
    const CLIENTS: usize = 8;
    let batches: usize = std::env::var("GLASSHOUSE_BENCH_BATCHES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    admin(data, &["team", "add", "platform"]);
    let token = admin(
        data,
        &["token", "enroll", "--team", "platform", "--uses", "8"],
    );
    let server = Server::start(data, &[], &[]);
    let devices: Vec<(String, String)> = (0..CLIENTS)
        .map(|_| enroll(server.addr, token.trim(), true))
        .collect();

    // Client c's i-th batch is heavy hour i % n, placed i hours back: every batch is distinct.
    let built = Instant::now();
    let hours = Arc::new(heavy_hours());
    let templates = built.elapsed();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let jobs: Arc<Vec<(usize, usize)>> =
        Arc::new((0..batches).map(|j| (j % CLIENTS, j / CLIENTS)).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let results: Vec<Vec<(usize, Vec<u8>, u64)>> = (0..threads)
        .map(|_| {
            let (jobs, next, devices, hours) =
                (jobs.clone(), next.clone(), devices.clone(), hours.clone());
            std::thread::spawn(move || {
                let scrubber = glasshouse_scrub::Scrubber::new();
                let mut out = Vec::new();
                loop {
                    let j = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&(c, i)) = jobs.get(j) else {
                        return out;
                    };
                    let start = hour_start(1 + i as i64);
                    // The window exactly as the format writes it: from an empty batch.
                    let empty =
                        glasshouse_batch::build(&header(&devices[c].0, start), [], &scrubber)
                            .unwrap();
                    let mut doc = hours[i % hours.len()].clone();
                    doc.device = devices[c].0.clone();
                    doc.window = glasshouse_batch::decode(&empty.bytes).unwrap().window;
                    let json = serde_json::to_vec(&doc).unwrap();
                    let bytes = zstd::bulk::compress(&json, 3).unwrap();
                    out.push((c, bytes, doc.event_count));
                }
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let mut per_client: Vec<Vec<Vec<u8>>> = vec![Vec::new(); CLIENTS];
    let (mut total_bytes, mut total_events) = (0, 0);
    for (c, bytes, events) in results.into_iter().flatten() {
        total_bytes += bytes.len();
        total_events += events;
        per_client[c].push(bytes);
    }
    eprintln!(
        "built {batches} heavy-hour batches ({} distinct hours of the synthetic heavy workday, built in {templates:.1?}; {:.0} events and {:.0} KiB each on average) in {:.1?}",
        hours.len(),
        total_events as f64 / batches as f64,
        total_bytes as f64 / batches as f64 / 1024.0,
        built.elapsed()
    );

    let addr = server.addr;
    let start = Instant::now();
    let clients: Vec<_> = per_client
        .into_iter()
        .zip(devices.iter().cloned())
        .map(|(batches, (_, secret))| {
            std::thread::spawn(move || {
                for b in &batches {
                    let r = upload(addr, &secret, b).unwrap();
                    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "uploaded {batches} batches over loopback with {CLIENTS} clients in {secs:.2} s: {:.0} batches/s, {:.1} MiB/s, {:.1} M events/s",
        batches as f64 / secs,
        total_bytes as f64 / secs / (1 << 20) as f64,
        total_events as f64 / secs / 1e6
    );
    assert_eq!(batch_files(data).len(), batches);
}
