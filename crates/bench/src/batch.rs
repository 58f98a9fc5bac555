//! `batch`: the upload payload of a heavy-workday hour (events, document and compressed bytes,
//! bytes per event, build time), how the zstd levels trade size for time on it, and the
//! scrubber's throughput.
//!
//! The hour: the store's synthetic heavy workday (`glasshouse_store::synth::heavy_workday`, the
//! one `size` and the store tests use) cut into its hours; each is built as a batch, and the one
//! with the most events is reported along with the worst bytes per event of all of them, and
//! again with jitter added to every mouse move (the generator's strokes are straighter than a
//! hand's).
//!
//! Scrub throughput: `Scrubber::find` (what `build` calls on every text run) over two corpora,
//! each cut into runs as `build` sees them, timed as the best of three passes: the workday's own
//! typed text (one run per window segment) and 8 MiB of generated prose in 256-byte runs with an
//! email, phone number, card number or IP address in every fifth sentence.

use std::time::Instant;

use glasshouse_batch::{Header, Row, build, decode};
use glasshouse_core::model::{MICROS_PER_SEC, Micros, Stored};
use glasshouse_core::settings::CaptureLevel;
use glasshouse_scrub::Scrubber;
use glasshouse_store::synth;

/// 2026-03-02T09:00:00Z: a fixed start, so every run builds the same bytes.
const DAY_START: Micros = 1_772_442_000 * MICROS_PER_SEC;
const HOUR: Micros = 3600 * MICROS_PER_SEC;
const SEED: u64 = 3;

pub fn run() -> Result<(), String> {
    let scrubber = Scrubber::new();
    let day = synth::heavy_workday(DAY_START, SEED);
    let last = day.last().map_or(DAY_START, |(_, e)| e.ts);
    let hours = (last - DAY_START) / HOUR + 1;
    let mut busiest: Option<(i64, Vec<Row>)> = None;
    let mut worst = (0.0f64, 0i64);
    let mut typed_runs: Vec<String> = Vec::new();
    for h in 0..hours {
        let start = DAY_START + h * HOUR;
        let rows: Vec<Row> = day
            .iter()
            .filter(|(_, e)| e.ts >= start && e.ts < start + HOUR)
            .map(|(w, e)| Row {
                ts: e.ts,
                app: w.app.clone(),
                title: w.title.clone(),
                event: e.event.clone(),
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        let built = build(&header(start), rows.clone(), &scrubber).map_err(|e| e.to_string())?;
        let per_event = built.bytes.len() as f64 / built.events as f64;
        if per_event > worst.0 {
            worst = (per_event, h);
        }
        let doc = decode(&built.bytes).map_err(|e| e.to_string())?;
        typed_runs.extend(doc.events.texts.into_iter().map(|r| r.text));
        if busiest.as_ref().is_none_or(|(_, b)| rows.len() > b.len()) {
            busiest = Some((h, rows));
        }
    }
    let (h, rows) = busiest.ok_or("the workday has no events")?;
    let n_rows = rows.len();
    let moves = rows
        .iter()
        .filter(|r| matches!(r.event, Stored::Move { .. }))
        .count();
    let keys = rows.iter().filter(|r| r.event.is_key_press()).count();

    // Build time: best of three (rows cloned outside the timing).
    let mut best = f64::MAX;
    let mut built = None;
    for _ in 0..3 {
        let input = rows.clone();
        let t = Instant::now();
        let b =
            build(&header(DAY_START + h * HOUR), input, &scrubber).map_err(|e| e.to_string())?;
        best = best.min(t.elapsed().as_secs_f64());
        built = Some(b);
    }
    let built = built.ok_or("no build")?;
    let t = Instant::now();
    let doc = decode(&built.bytes).map_err(|e| e.to_string())?;
    let decode_ms = t.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(doc.rows().map_err(|e| e.to_string())?.len(), n_rows);
    println!(
        "batch: heavy-workday hour {h} of {hours} (the busiest; seed {SEED}): {} events ({moves} moves, {keys} key presses), document {} bytes, compressed {} bytes = {:.2} bytes/event (aim: <= 5); build {:.0} ms, decode {decode_ms:.0} ms (zstd level {})",
        built.events,
        built.document_bytes,
        built.bytes.len(),
        built.bytes.len() as f64 / built.events as f64,
        best * 1000.0,
        glasshouse_batch::ZSTD_LEVEL,
    );
    println!(
        "batch: worst hour of the day: hour {} at {:.2} bytes/event",
        worst.1, worst.0
    );
    // Real pointers wander more than the generator's straight 16-move strokes: the same hour with
    // every move shifted by -2..=2 px on each axis.
    let mut noisy = rows.clone();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for r in &mut noisy {
        if let Stored::Move { x, y } = &mut r.event {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            *x += ((state >> 33) % 5) as i32 - 2;
            *y += ((state >> 43) % 5) as i32 - 2;
        }
    }
    let jittered =
        build(&header(DAY_START + h * HOUR), noisy, &scrubber).map_err(|e| e.to_string())?;
    println!(
        "batch: the same hour with -2..=2 px of jitter on every move: {} bytes = {:.2} bytes/event",
        jittered.bytes.len(),
        jittered.bytes.len() as f64 / jittered.events as f64
    );

    // zstd levels on the same document.
    let json = serde_json::to_vec(&doc).map_err(|e| e.to_string())?;
    let mut line = String::from("batch: zstd level: bytes/event, compress ms:");
    for level in [1, 3, 6, 9, 12, 15, 17, 19, 22] {
        let mut best = f64::MAX;
        let mut size = 0;
        for _ in 0..3 {
            let t = Instant::now();
            size = zstd::bulk::compress(&json, level)
                .map_err(|e| e.to_string())?
                .len();
            best = best.min(t.elapsed().as_secs_f64());
        }
        line += &format!(
            " {level}: {:.2}, {:.0};",
            size as f64 / built.events as f64,
            best * 1000.0
        );
    }
    println!("{}", line.trim_end_matches(';'));

    // Scrub throughput.
    let typed_mb = throughput(&scrubber, &typed_runs);
    let prose = prose(8 << 20);
    let prose_mb = throughput(&scrubber, &prose);
    let typed_bytes: usize = typed_runs.iter().map(String::len).sum();
    println!(
        "batch: scrub (Scrubber::find, best of 3): {prose_mb:.0} MB/s over 8 MiB of generated prose with PII in 256-byte runs; {typed_mb:.0} MB/s over the workday's {} typed text runs ({typed_bytes} bytes)",
        typed_runs.len()
    );
    Ok(())
}

fn header(start: Micros) -> Header {
    Header {
        device: "bench-device".into(),
        team: "bench".into(),
        window_start: start,
        window_end: start + HOUR,
        capture_level: CaptureLevel::Full,
    }
}

/// MB/s (10^6 bytes) of `Scrubber::find` over `runs`, best of three passes.
fn throughput(scrubber: &Scrubber, runs: &[String]) -> f64 {
    let bytes: usize = runs.iter().map(String::len).sum();
    let mut best = f64::MAX;
    let mut found = 0;
    for _ in 0..3 {
        let t = Instant::now();
        found = runs.iter().map(|r| scrubber.find(r).len()).sum::<usize>();
        best = best.min(t.elapsed().as_secs_f64());
    }
    std::hint::black_box(found);
    bytes as f64 / best / 1e6
}

/// About `bytes` of English-like prose in 256-byte runs; every fifth sentence carries an email,
/// a phone number, a card number or an IP address.
fn prose(bytes: usize) -> Vec<String> {
    const WORDS: &[&str] = &[
        "the", "report", "is", "ready", "for", "review", "and", "we", "should", "ship", "it",
        "after", "lunch", "please", "check", "numbers", "in", "second", "table", "meeting",
        "moved", "to", "thursday", "because", "of", "release", "build", "failed", "again", "on",
        "runner", "I", "think", "cache", "was", "stale", "customer", "asked", "about", "invoice",
        "from", "last", "month", "send", "them", "updated", "copy", "today", "thanks",
    ];
    const PII: &[&str] = &[
        "maria.gonzalez@example.com",
        "+44 20 7946 0958",
        "4111 1111 1111 1111",
        "10.20.30.40",
        "j.smith+billing@corp.example.org",
        "(555) 201-3344",
    ];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut text = String::with_capacity(bytes + 256);
    let mut sentence = 0;
    while text.len() < bytes {
        let words = 6 + next(10);
        for i in 0..words {
            let w = WORDS[next(WORDS.len())];
            if i == 0 {
                let mut c = w.chars();
                text.extend(c.next().map(|f| f.to_ascii_uppercase()));
                text.push_str(c.as_str());
            } else {
                text.push(' ');
                text.push_str(w);
            }
            if i == words / 2 && sentence % 5 == 0 {
                text.push(' ');
                text.push_str(PII[next(PII.len())]);
            }
        }
        text.push_str(". ");
        sentence += 1;
    }
    let mut runs = Vec::with_capacity(bytes / 256 + 1);
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let cut = rest.len().min(256);
        let (run, tail) = rest.split_at(cut);
        runs.push(run.to_owned());
        rest = tail;
    }
    runs
}
