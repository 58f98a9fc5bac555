//! The real collector (`glasshouse-collector`) for end-to-end tests: its binary, its admin
//! commands, and a server on loopback that can be killed and started again on the same port.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// The collector binary next to this test's executable (`target/<profile>/`), built first if it
/// is not there.
pub fn collector_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/e2e-<hash>
    let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_owned();
    let bin = profile_dir.join("glasshouse-collector");
    if bin.is_file() {
        return bin;
    }
    let target_dir = profile_dir.parent().unwrap();
    let profile = profile_dir.file_name().unwrap().to_str().unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-p", "glasshouse-collector", "--target-dir"])
        .arg(target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    match profile {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    let status = cmd
        .status()
        .expect("run cargo build -p glasshouse-collector");
    assert!(
        status.success(),
        "cargo build -p glasshouse-collector failed"
    );
    assert!(bin.is_file(), "{} was not built", bin.display());
    bin
}

pub use crate::util::free_port;

/// A child process killed (and reaped) on drop.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A collector with its own data directory.
pub struct Collector {
    pub bin: PathBuf,
    pub data: tempfile::TempDir,
    pub addr: SocketAddr,
    proc: Option<Proc>,
}

impl Collector {
    /// Starts `glasshouse-collector serve` on a free loopback port.
    pub fn start() -> Collector {
        let bin = collector_bin();
        let data = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut c = Collector {
            bin,
            data,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            proc: None,
        };
        c.serve();
        c
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Serves on `self.addr` and waits until it logs its URL.
    pub fn serve(&mut self) {
        let mut child = Command::new(&self.bin)
            .args(["serve", "--listen", &self.addr.to_string(), "--data"])
            .arg(self.data.path())
            .env("GLASSHOUSE_COLLECTOR_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start glasshouse-collector");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("http://") {
                    let _ = tx.send(());
                }
            }
        });
        self.proc = Some(Proc(child));
        rx.recv_timeout(Duration::from_secs(30))
            .expect("the collector logs its URL");
    }

    /// Kills the server with SIGKILL (no chance to finish anything).
    pub fn kill(&mut self) {
        self.proc.take();
    }

    /// Runs an admin command on the data directory; returns its standard output.
    pub fn admin(&self, args: &[&str]) -> String {
        let out = Command::new(&self.bin)
            .args(args)
            .arg("--data")
            .arg(self.data.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "glasshouse-collector {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// A team and a token that enrolls `uses` devices into it.
    pub fn team_token(&self, team: &str, uses: u32) -> String {
        self.admin(&["team", "add", team]);
        self.admin(&[
            "token",
            "enroll",
            "--team",
            team,
            "--uses",
            &uses.to_string(),
        ])
        .trim()
        .to_owned()
    }

    /// Every request the collector logged, in order.
    pub fn request_log(&self) -> Vec<Value> {
        std::fs::read_to_string(self.data.path().join("requests.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("each request-log line is JSON"))
            .collect()
    }

    /// The stored batch files (content-addressed `batches/<xx>/<sha>.zst`).
    pub fn stored_batches(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let Ok(dirs) = std::fs::read_dir(self.data.path().join("batches")) else {
            return out;
        };
        for d in dirs.flatten() {
            if let Ok(files) = std::fs::read_dir(d.path()) {
                out.extend(
                    files
                        .flatten()
                        .map(|f| f.path())
                        .filter(|p| p.extension().is_some_and(|e| e == "zst")),
                );
            }
        }
        out.sort();
        out
    }

    /// What the AI team's export gives: one JSON value per stored batch.
    pub fn export(&self) -> Vec<Value> {
        self.admin(&["export"])
            .lines()
            .map(|l| serde_json::from_str(l).expect("each export line is JSON"))
            .collect()
    }
}
