//! False positives: prose, window titles and code in Rust, Python, JavaScript, shell and SQL
//! (tests/corpus/, written for this crate) hold no personal data or secrets, so every finding
//! there is a false positive. `--nocapture` prints them and the rate per 10 KB.

use glasshouse_scrub::Scrubber;

const FILES: &[&str] = &[
    "prose.txt",
    "titles.txt",
    "code_rust.txt",
    "code_python.txt",
    "code_js.txt",
    "code_shell_sql.txt",
    // Written after the detectors were tuned, and not tuned against.
    "heldout_mixed.txt",
];

/// At most this many findings per 10 KB of corpus.
const BUDGET_PER_10_KB: f64 = 2.0;

#[test]
fn corpus_has_few_findings() {
    let scrubber = Scrubber::new();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");
    let (mut bytes, mut findings) = (0usize, 0usize);
    for file in FILES {
        let text = std::fs::read_to_string(format!("{dir}/{file}")).expect("corpus file");
        // Whole files, and line by line as typed runs and window titles arrive.
        let whole = scrubber.find(&text);
        let by_line: usize = text.lines().map(|l| scrubber.find(l).len()).sum();
        for f in &whole {
            println!("  {file}: {} {:?}", f.kind.name(), &text[f.range.clone()]);
        }
        println!(
            "{file:20} {:6} bytes: {} findings (whole file), {by_line} (line by line)",
            text.len(),
            whole.len()
        );
        bytes += text.len();
        findings += whole.len().max(by_line);
    }
    let per_10kb = findings as f64 / (bytes as f64 / 10_240.0);
    println!("corpus: {bytes} bytes, {findings} false positives, {per_10kb:.2} per 10 KB");
    assert!(
        per_10kb <= BUDGET_PER_10_KB,
        "{per_10kb:.2} false positives per 10 KB"
    );
}
