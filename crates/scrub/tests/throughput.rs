//! Throughput of `Scrubber::find` on prose and on code.
//!
//! `cargo test --release -p glasshouse-scrub --test throughput -- --ignored --nocapture`

use glasshouse_scrub::Scrubber;
use std::time::Instant;

fn corpus(files: &[&str]) -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");
    files
        .iter()
        .map(|f| std::fs::read_to_string(format!("{dir}/{f}")).expect("corpus file"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Repeats `unit` to about `target` bytes.
fn grow(unit: &str, target: usize) -> String {
    let mut text = String::with_capacity(target + unit.len());
    while text.len() < target {
        text.push_str(unit);
        text.push('\n');
    }
    text
}

fn measure(label: &str, scrubber: &Scrubber, text: &str) -> f64 {
    // Texts arrive as runs and titles, so scrub in chunks of about 4 KB, split at lines.
    let chunks: Vec<&str> = text
        .split_inclusive('\n')
        .collect::<Vec<_>>()
        .chunks(60)
        .map(|c| {
            let start = c[0].as_ptr() as usize - text.as_ptr() as usize;
            let len: usize = c.iter().map(|l| l.len()).sum();
            &text[start..start + len]
        })
        .collect();
    let mut best = f64::MAX;
    let mut findings = 0;
    for _ in 0..3 {
        let started = Instant::now();
        findings = chunks.iter().map(|c| scrubber.find(c).len()).sum::<usize>();
        best = best.min(started.elapsed().as_secs_f64());
    }
    let whole = Instant::now();
    let whole_findings = scrubber.find(text).len();
    let whole_secs = whole.elapsed().as_secs_f64();
    let mb = text.len() as f64 / 1e6;
    println!(
        "{label:6} {mb:5.1} MB: {:7.1} MB/s in 4 KB chunks, {:7.1} MB/s as one string ({findings} / {whole_findings} findings)",
        mb / best,
        mb / whole_secs
    );
    mb / best
}

#[test]
#[ignore = "measurement; run in release with --ignored --nocapture"]
fn throughput() {
    let scrubber = Scrubber::new();
    let prose = grow(&corpus(&["prose.txt", "titles.txt"]), 16 << 20);
    let code = grow(
        &corpus(&[
            "code_rust.txt",
            "code_python.txt",
            "code_js.txt",
            "code_shell_sql.txt",
        ]),
        16 << 20,
    );
    let prose_rate = measure("prose", &scrubber, &prose);
    let code_rate = measure("code", &scrubber, &code);
    if !cfg!(debug_assertions) {
        assert!(
            prose_rate >= 20.0,
            "prose throughput {prose_rate:.1} MB/s is under 20 MB/s"
        );
        assert!(
            code_rate >= 20.0,
            "code throughput {code_rate:.1} MB/s is under 20 MB/s"
        );
    }
}
