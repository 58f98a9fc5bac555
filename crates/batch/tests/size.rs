//! The size aim: a heavy-workday hour compresses to at most 5 bytes per event.

use glasshouse_batch::{Header, Row, build};
use glasshouse_core::model::{MICROS_PER_SEC, Micros};
use glasshouse_core::settings::CaptureLevel;
use glasshouse_scrub::Scrubber;

const START: Micros = 1_772_442_000 * MICROS_PER_SEC;
const HOUR: Micros = 3600 * MICROS_PER_SEC;

#[test]
fn a_heavy_workday_hour_is_at_most_5_bytes_per_event() {
    let day = glasshouse_store::synth::heavy_workday(START, 3);
    // The second hour: a full hour of the day at its density (the benchmark reports every hour).
    let rows: Vec<Row> = day
        .iter()
        .filter(|(_, e)| e.ts >= START + HOUR && e.ts < START + 2 * HOUR)
        .map(|(w, e)| Row {
            ts: e.ts,
            app: w.app.clone(),
            title: w.title.clone(),
            event: e.event.clone(),
        })
        .collect();
    assert!(rows.len() > 100_000, "{} events", rows.len());
    let header = Header {
        device: "d".into(),
        team: "t".into(),
        window_start: START + HOUR,
        window_end: START + 2 * HOUR,
        capture_level: CaptureLevel::Full,
    };
    let t = std::time::Instant::now();
    let built = build(&header, rows, &Scrubber::new()).unwrap();
    let per_event = built.bytes.len() as f64 / built.events as f64;
    eprintln!(
        "{} events, document {} bytes, compressed {} bytes = {per_event:.2} bytes/event, {:?}",
        built.events,
        built.document_bytes,
        built.bytes.len(),
        t.elapsed()
    );
    assert!(per_event <= 5.0, "{per_event:.2} bytes/event");
}
