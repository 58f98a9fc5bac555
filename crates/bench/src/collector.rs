//! `collector`: the collector's ingest rate over loopback, measured against the real
//! `glasshouse-collector serve` binary.
//!
//! Set-up, as a company would do it: a temporary data directory, a team and an enrollment token
//! through the admin commands, then `--devices` devices enrolled and opted in over HTTP. Batches
//! are built the way the app builds them (`glasshouse_batch::build` on the rows of an hour, with
//! the crate's zstd level), each for one of the devices and an hour of its own, so that every
//! batch is distinct and the collector decodes, validates and stores each one. `--clients`
//! threads then upload them at once, each on a new connection (`Connection: close`, as a device
//! uploading once an hour does), and the rate, throughput and latency are reported.
//!
//! Two kinds of hour, from the store's synthetic heavy workday (`synth::heavy_workday`, the one
//! `batch` reports on; its eight hours are all busy, 138k to 170k events):
//! - heavy: its busiest hour (170k events, 155k of them pointer moves at 125 a second);
//! - typical: the same hour with three pointer moves in four left out (a mouse moving a quarter
//!   as much), keys, clicks and wheel unchanged.
//!
//! `decode` is also timed in-process on one batch of each kind (median of 15), which is the bulk
//! of the collector's work per upload.
//!
//! The collector binary is looked for next to `glasshouse-bench` (`cargo build --release
//! --workspace --bins` puts it there); `--collector PATH` or `GLASSHOUSE_COLLECTOR` names another.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use glasshouse_batch::{Header, Row, build, decode};
use glasshouse_core::model::{MICROS_PER_SEC, Micros, Stored};
use glasshouse_core::settings::CaptureLevel;
use glasshouse_scrub::Scrubber;
use glasshouse_store::synth;

const HOUR: Micros = 3600 * MICROS_PER_SEC;
/// 2026-03-02T09:00:00Z, as in `batch`.
const DAY_START: Micros = 1_772_442_000 * MICROS_PER_SEC;
const SEED: u64 = 3;
const TEAM: &str = "bench";

/// What `glasshouse-bench collector` is asked to do.
pub struct Options {
    /// Batches uploaded per kind of hour.
    pub batches: usize,
    /// Concurrent uploading clients.
    pub clients: usize,
    /// Enrolled devices the batches are spread over.
    pub devices: usize,
    /// The collector binary, if not next to this one.
    pub collector: Option<PathBuf>,
}

pub fn run(opts: &Options) -> Result<(), String> {
    let bin = collector_binary(opts.collector.as_deref())?;
    let (batches, clients, devices) = (
        opts.batches.max(1),
        opts.clients.max(1),
        opts.devices.max(1),
    );
    let (heavy, typical) = template_hours()?;

    // decode alone, in-process.
    let scrubber = Scrubber::new();
    for (name, rows) in [("heavy", &heavy), ("typical", &typical)] {
        let built = build(
            &header("bench-device", DAY_START),
            shifted(rows, DAY_START),
            &scrubber,
        )
        .map_err(|e| e.to_string())?;
        let mut times = Vec::new();
        for _ in 0..15 {
            let t = Instant::now();
            let doc = decode(&built.bytes).map_err(|e| e.to_string())?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            std::hint::black_box(doc);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "collector: decode of a {name} hour in-process: {:.1} ms (median of 15; min {:.1} ms): {} events, document {} bytes, batch {} bytes (zstd level {})",
            times[times.len() / 2],
            times[0],
            built.events,
            built.document_bytes,
            built.bytes.len(),
            glasshouse_batch::ZSTD_LEVEL,
        );
    }

    for (name, rows) in [("heavy", &heavy), ("typical", &typical)] {
        let server = Server::start(&bin)?;
        let enrolled = server.enroll(devices)?;
        let t = Instant::now();
        let set = build_batches(rows, &enrolled, batches)?;
        println!(
            "collector: built {batches} distinct {name}-hour batches for {devices} devices in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let cpu_before = server.cpu_secs();
        let r = upload_all(server.addr, &set, clients)?;
        let cpu = server.cpu_secs() - cpu_before;
        let stored = server.stored_files();
        drop(server);
        if stored != batches {
            return Err(format!(
                "the collector stored {stored} batch files, not {batches}"
            ));
        }
        let mut lat = r.latencies_ms;
        lat.sort_by(f64::total_cmp);
        println!(
            "collector: {name} hour ({:.0} events, {:.0} KB compressed, {:.2} MB of JSON each): {batches} uploads by {clients} clients in {:.2} s = {:.0} batches/s, {:.2} M events/s, {:.1} MB/s compressed ({:.0} MB/s of JSON); latency p50 {:.1} ms, p95 {:.1} ms; collector CPU {:.1} ms per batch{}",
            set.events as f64 / batches as f64,
            set.bytes as f64 / batches as f64 / 1e3,
            set.document_bytes as f64 / batches as f64 / 1e6,
            r.secs,
            batches as f64 / r.secs,
            set.events as f64 / r.secs / 1e6,
            set.bytes as f64 / r.secs / 1e6,
            set.document_bytes as f64 / r.secs / 1e6,
            lat[lat.len() / 2],
            lat[(lat.len() * 95 / 100).min(lat.len() - 1)],
            cpu * 1000.0 / batches as f64,
            if name == "heavy" {
                " (aim: >= 500 batches/s; 70,000 people uploading hourly need about 20)"
            } else {
                ""
            }
        );
    }
    Ok(())
}

fn collector_binary(given: Option<&Path>) -> Result<PathBuf, String> {
    let path = match given
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("GLASSHOUSE_COLLECTOR").map(PathBuf::from))
    {
        Some(p) => p,
        None => std::env::current_exe()
            .map_err(|e| format!("cannot find this program's own path: {e}"))?
            .with_file_name("glasshouse-collector"),
    };
    if !path.is_file() {
        return Err(format!(
            "the collector binary is missing at {} (build it next to glasshouse-bench with `cargo build --release -p glasshouse-collector`, or name it with --collector PATH)",
            path.display()
        ));
    }
    Ok(path)
}

/// The heavy and the typical hour's rows, times relative to the hour's start.
fn template_hours() -> Result<(Vec<Row>, Vec<Row>), String> {
    let day = synth::heavy_workday(DAY_START, SEED);
    let mut hours: Vec<Vec<Row>> = Vec::new();
    for (w, e) in day {
        let h = usize::try_from((e.ts - DAY_START) / HOUR).map_err(|e| e.to_string())?;
        hours.resize_with(hours.len().max(h + 1), Vec::new);
        hours[h].push(Row {
            ts: (e.ts - DAY_START) % HOUR,
            app: w.app.clone(),
            title: w.title.clone(),
            event: e.event,
        });
    }
    let heavy = hours
        .into_iter()
        .max_by_key(Vec::len)
        .ok_or("the workday has no events")?;
    let mut moves = 0usize;
    let typical = heavy
        .iter()
        .filter(|r| {
            if matches!(r.event, Stored::Move { .. }) {
                moves += 1;
                moves.is_multiple_of(4)
            } else {
                true
            }
        })
        .cloned()
        .collect();
    Ok((heavy, typical))
}

/// `rows` (times relative to the hour) placed in the hour starting at `start`.
fn shifted(rows: &[Row], start: Micros) -> Vec<Row> {
    rows.iter()
        .map(|r| Row {
            ts: start + r.ts,
            ..r.clone()
        })
        .collect()
}

fn header(device: &str, start: Micros) -> Header {
    Header {
        device: device.to_owned(),
        team: TEAM.to_owned(),
        window_start: start,
        window_end: start + HOUR,
        capture_level: CaptureLevel::Full,
    }
}

/// A device as enrolled: its id and secret.
struct Device {
    id: String,
    secret: String,
}

/// A built batch: its index, the index of its device, the batch.
type Job = (usize, usize, glasshouse_batch::Built);

struct BatchSet {
    /// (index into the devices, the batch's bytes).
    batches: Vec<(usize, Vec<u8>)>,
    secrets: Vec<String>,
    events: u64,
    bytes: u64,
    document_bytes: u64,
}

/// `n` batches of `rows`: batch `j` is device `j % devices`'s, in the hour `j / devices` hours
/// before the template's. Built on every core.
fn build_batches(rows: &[Row], devices: &[Device], n: usize) -> Result<BatchSet, String> {
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let next = AtomicUsize::new(0);
    let results: Vec<Result<Vec<Job>, String>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let scrubber = Scrubber::new();
                    let mut out = Vec::new();
                    loop {
                        let j = next.fetch_add(1, Ordering::Relaxed);
                        if j >= n {
                            return Ok(out);
                        }
                        let d = j % devices.len();
                        let start = DAY_START - (j / devices.len()) as Micros * HOUR;
                        let built = build(
                            &header(&devices[d].id, start),
                            shifted(rows, start),
                            &scrubber,
                        )
                        .map_err(|e| e.to_string())?;
                        out.push((j, d, built));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err("a build thread panicked".into()))
            })
            .collect()
    });
    let mut all = Vec::with_capacity(n);
    for r in results {
        all.extend(r?);
    }
    all.sort_by_key(|(j, _, _)| *j);
    let mut set = BatchSet {
        batches: Vec::with_capacity(n),
        secrets: devices.iter().map(|d| d.secret.clone()).collect(),
        events: 0,
        bytes: 0,
        document_bytes: 0,
    };
    for (_, d, built) in all {
        set.events += built.events;
        set.bytes += built.bytes.len() as u64;
        set.document_bytes += built.document_bytes as u64;
        set.batches.push((d, built.bytes));
    }
    Ok(set)
}

struct Uploaded {
    secs: f64,
    latencies_ms: Vec<f64>,
}

/// Uploads every batch of `set` with `clients` threads taking the next one in turn.
fn upload_all(addr: SocketAddr, set: &BatchSet, clients: usize) -> Result<Uploaded, String> {
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    let results: Vec<Result<Vec<f64>, String>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..clients)
            .map(|_| {
                s.spawn(|| {
                    let mut lat = Vec::new();
                    loop {
                        let j = next.fetch_add(1, Ordering::Relaxed);
                        let Some((d, bytes)) = set.batches.get(j) else {
                            return Ok(lat);
                        };
                        let t = Instant::now();
                        let auth = format!("Bearer {}", set.secrets[*d]);
                        let (status, body) = http(
                            addr,
                            "POST",
                            "/api/v1/batches",
                            &[
                                ("Authorization", &auth),
                                ("Content-Type", "application/vnd.glasshouse.batch+zstd"),
                            ],
                            bytes,
                        )?;
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                        if status != 201 {
                            return Err(format!(
                                "upload {j} was answered {status}: {}",
                                String::from_utf8_lossy(&body)
                            ));
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err("a client panicked".into())))
            .collect()
    });
    let secs = start.elapsed().as_secs_f64();
    let mut latencies_ms = Vec::new();
    for r in results {
        latencies_ms.extend(r?);
    }
    Ok(Uploaded { secs, latencies_ms })
}

/// One HTTP/1.1 request on a new connection: (status, body).
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(u16, Vec<u8>), String> {
    let io = |e: std::io::Error| format!("{method} {path}: {e}");
    let mut s = TcpStream::connect(addr).map_err(io)?;
    s.set_read_timeout(Some(Duration::from_secs(120)))
        .map_err(io)?;
    s.set_nodelay(true).map_err(io)?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut out = req.into_bytes();
    out.extend_from_slice(body);
    s.write_all(&out).map_err(io)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(io)?;
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("{method} {path}: no HTTP header in the response"))?;
    let status = std::str::from_utf8(&raw[..end])
        .ok()
        .and_then(|h| h.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{method} {path}: no status in the response"))?;
    Ok((status, raw[end + 4..].to_vec()))
}

/// The real collector on a free loopback port, with a data directory of its own; killed (and the
/// directory removed) on drop.
struct Server {
    bin: PathBuf,
    dir: tempfile::TempDir,
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(bin: &Path) -> Result<Server, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        admin(bin, dir.path(), &["team", "add", TEAM])?;
        let mut child = Command::new(bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--rate-per-sec", "0"])
            .arg("--data")
            .arg(dir.path())
            .env("GLASSHOUSE_COLLECTOR_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the log to its end, so the collector never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent && let Some(at) = line.find("http://") {
                    let rest = &line[at + 7..];
                    let end = rest.find(['/', ' ']).unwrap_or(rest.len());
                    let _ = tx.send(rest[..end].to_owned());
                    sent = true;
                }
            }
        });
        let addr = rx.recv_timeout(Duration::from_secs(30));
        let mut server = Server {
            bin: bin.to_owned(),
            dir,
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        server.addr = addr
            .map_err(|_| "the collector did not log its address within 30 s".to_owned())?
            .parse()
            .map_err(|e| format!("the collector logged an odd address: {e}"))?;
        Ok(server)
    }

    /// Enrolls `n` devices with one token and opts each in.
    fn enroll(&self, n: usize) -> Result<Vec<Device>, String> {
        let token = admin(
            &self.bin,
            self.dir.path(),
            &["token", "enroll", "--team", TEAM, "--uses", &n.to_string()],
        )?;
        let body = serde_json::json!({ "token": token.trim() }).to_string();
        (0..n)
            .map(|_| {
                let json = [("Content-Type", "application/json")];
                let (status, reply) =
                    http(self.addr, "POST", "/api/v1/enroll", &json, body.as_bytes())?;
                if status != 201 {
                    return Err(format!(
                        "enrollment was answered {status}: {}",
                        String::from_utf8_lossy(&reply)
                    ));
                }
                let v: serde_json::Value =
                    serde_json::from_slice(&reply).map_err(|e| e.to_string())?;
                let field = |k: &str| {
                    v[k].as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| format!("the enrollment answer has no {k}"))
                };
                let device = Device {
                    id: field("device_id")?,
                    secret: field("device_secret")?,
                };
                let auth = format!("Bearer {}", device.secret);
                let (status, reply) = http(
                    self.addr,
                    "PUT",
                    "/api/v1/participation",
                    &[
                        ("Content-Type", "application/json"),
                        ("Authorization", &auth),
                    ],
                    br#"{"participating":true}"#,
                )?;
                if status != 200 {
                    return Err(format!(
                        "opting in was answered {status}: {}",
                        String::from_utf8_lossy(&reply)
                    ));
                }
                Ok(device)
            })
            .collect()
    }

    /// CPU time (user and system, all threads) the collector has used so far, in seconds.
    fn cpu_secs(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // After the parenthesised name: state is field 3, utime and stime fields 14 and 15.
        let ticks: u64 = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().skip(11).take(2))
            .into_iter()
            .flatten()
            .filter_map(|t| t.parse::<u64>().ok())
            .sum();
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1);
        ticks as f64 / hz as f64
    }

    /// Batch files in the data directory (temp files not counted).
    fn stored_files(&self) -> usize {
        let root = self.dir.path().join("batches");
        std::fs::read_dir(&root)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name() != "tmp" && e.path().is_dir())
            .map(|e| std::fs::read_dir(e.path()).map_or(0, Iterator::count))
            .sum()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs an admin command on `data`; its standard output.
fn admin(bin: &Path, data: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new(bin)
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if !out.status.success() {
        return Err(format!(
            "glasshouse-collector {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| e.to_string())
}
