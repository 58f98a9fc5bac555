//! The local control socket: a Unix socket in the user's runtime directory, mode 0600, that
//! answers only processes of the same user. A `subscribe` request turns its connection into a
//! stream of pushed events ([`crate::live`]) for the dashboard process.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::thread::JoinHandle;
use std::time::Duration;

use glasshouse_core::paths::Paths;

use crate::RecorderError;
use crate::instance::ensure_private_dir;
use crate::live::{Live, Subscription};
use crate::protocol::{Envelope, PROTOCOL_VERSION, Push, Request, Response};

/// A request line longer than this is refused (requests are tiny).
const MAX_REQUEST: usize = 64 * 1024;
/// A subscriber that takes longer than this to accept a line is dropped.
const PUSH_WITHIN: Duration = Duration::from_secs(5);
/// How often an idle subscribed connection checks that its client is still there.
const HANGUP_CHECK: Duration = Duration::from_secs(1);

/// The socket path for a data directory: `$XDG_RUNTIME_DIR/glasshouse/<hash>.sock`, or
/// `/tmp/glasshouse-<uid>/<hash>.sock` where there is no runtime dir.
pub fn socket_path(paths: &Paths) -> PathBuf {
    let dir = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|v| !v.is_empty())
        .map(|d| PathBuf::from(d).join("glasshouse"))
        .unwrap_or_else(|| PathBuf::from(format!("/tmp/glasshouse-{}", uid())));
    let canonical =
        std::fs::canonicalize(&paths.data_dir).unwrap_or_else(|_| paths.data_dir.clone());
    dir.join(format!(
        "{:016x}.sock",
        fnv1a(canonical.as_os_str().as_encoded_bytes())
    ))
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Refuses a directory that another user owns or others can write to.
fn check_private_dir(dir: &Path) -> Result<(), RecorderError> {
    ensure_private_dir(dir)?;
    let meta = std::fs::metadata(dir).map_err(RecorderError::io(dir))?;
    if meta.uid() != uid() {
        return Err(RecorderError::Unsafe {
            path: dir.to_owned(),
            reason: format!("it belongs to user id {}, not to you", meta.uid()),
        });
    }
    if meta.mode() & 0o022 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(RecorderError::io(dir))?;
    }
    Ok(())
}

/// The user id of the process at the other end of `stream`.
fn peer_uid(stream: &UnixStream) -> std::io::Result<u32> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for writes of the sizes passed, and the fd is open.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&raw mut cred).cast(),
            &raw mut len,
        )
    };
    if rc == 0 {
        Ok(cred.uid)
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Answers requests with a handler until dropped.
#[derive(Debug)]
pub struct Server {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds the socket (replacing a stale one: the caller holds the instance lock, so no live
    /// recorder can own it) and serves each connection with `handler`, or, for `subscribe`,
    /// with the pushes of `live` (refused without one).
    pub fn start(
        paths: &Paths,
        handler: impl Fn(Request) -> Response + Send + Sync + 'static,
        live: Option<Arc<Live>>,
    ) -> Result<Server, RecorderError> {
        let path = socket_path(paths);
        if let Some(dir) = path.parent() {
            check_private_dir(dir)?;
        }
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(RecorderError::io(&path)(e)),
        }
        let listener = UnixListener::bind(&path).map_err(RecorderError::io(&path))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(RecorderError::io(&path))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = stop.clone();
        let handler = Arc::new(handler);
        // A blocking accept costs nothing while idle; dropping the server wakes it by connecting.
        let thread = std::thread::Builder::new()
            .name("control".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if stop_flag.load(Ordering::SeqCst) {
                        break;
                    }
                    match conn {
                        Ok(stream) => {
                            let handler = handler.clone();
                            let live = live.clone();
                            // A slow client must not hold up the others.
                            let _ = std::thread::Builder::new()
                                .name("control-conn".into())
                                .spawn(move || serve(stream, &*handler, live.as_ref()));
                        }
                        Err(e) => {
                            tracing::warn!("control socket: {e}");
                            std::thread::sleep(Duration::from_millis(200));
                        }
                    }
                }
            })
            .map_err(RecorderError::io(&path))?;
        Ok(Server {
            path,
            stop,
            thread: Some(thread),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            // Wake the blocking accept; if the socket is gone the thread cannot be woken, so
            // leave it rather than hang.
            if UnixStream::connect(&self.path).is_ok() {
                let _ = t.join();
            }
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

fn serve(stream: UnixStream, handler: &dyn Fn(Request) -> Response, live: Option<&Arc<Live>>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let response = match peer_uid(&stream) {
        Ok(peer) if peer == uid() => match read_request(&stream) {
            Ok(Request::Subscribe { window }) => match subscribe_to(live, &stream, window) {
                Ok(sub) => return stream_pushes(&stream, &sub),
                Err(refusal) => refusal,
            },
            Ok(req) => handler(req),
            Err(r) => r,
        },
        Ok(peer) => {
            tracing::warn!("control socket: refused a connection from user id {peer}");
            Response::Error {
                kind: "forbidden".into(),
                message: "this recorder belongs to another user".into(),
            }
        }
        Err(e) => Response::Error {
            kind: "forbidden".into(),
            message: format!("cannot check who is asking: {e}"),
        },
    };
    write_response(&stream, response);
}

/// Writes one response line; returns whether it went out.
fn write_response(mut stream: &UnixStream, response: Response) -> bool {
    match serde_json::to_string(&Envelope {
        v: PROTOCOL_VERSION,
        body: response,
    }) {
        Ok(mut line) => {
            line.push('\n');
            stream.write_all(line.as_bytes()).is_ok()
        }
        Err(_) => false,
    }
}

/// Adds the connection `stream` as a subscriber of `live`, or says why not.
fn subscribe_to(
    live: Option<&Arc<Live>>,
    stream: &UnixStream,
    window: bool,
) -> Result<Subscription, Response> {
    let refuse = |kind: &str, message: String| Response::Error {
        kind: kind.into(),
        message,
    };
    let live = live.ok_or_else(|| {
        refuse(
            "unsupported",
            "this recorder does not push its events".into(),
        )
    })?;
    let probe = stream
        .try_clone()
        .map_err(|e| refuse("io", format!("cannot follow the connection: {e}")))?;
    live.subscribe(window, move || hung_up(&probe))
        .ok_or_else(|| {
            refuse(
                "stopping",
                "the recorder is stopping and takes no more subscribers".into(),
            )
        })
}

/// Serves a subscribed connection: `ok`, then each pushed line, until the recorder drops the
/// subscriber (it stops, or the client fell behind) or the client goes away. A write that the
/// client does not take within [`PUSH_WITHIN`] ends it too.
fn stream_pushes(stream: &UnixStream, sub: &Subscription) {
    let _ = stream.set_write_timeout(Some(PUSH_WITHIN));
    if !write_response(stream, Response::Ok) {
        return;
    }
    let mut out = stream;
    loop {
        match sub.lines.recv_timeout(HANGUP_CHECK) {
            Ok(line) => {
                if out.write_all(line.as_bytes()).is_err() {
                    return;
                }
            }
            Err(RecvTimeoutError::Timeout) if hung_up(stream) => return,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Whether the client closed its end, asked without waiting (a subscriber sends nothing after
/// its request; anything it does send is left unread).
fn hung_up(stream: &UnixStream) -> bool {
    let mut buf = [0u8; 1];
    // SAFETY: `buf` is valid for writes of its length, and the fd is open for the call.
    let n = unsafe {
        libc::recv(
            stream.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT | libc::MSG_PEEK,
        )
    };
    match n {
        0 => true,
        n if n > 0 => false,
        _ => !matches!(
            std::io::Error::last_os_error().kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
        ),
    }
}

fn read_request(stream: &UnixStream) -> Result<Request, Response> {
    let bad = |message: String| Response::Error {
        kind: "bad_request".into(),
        message,
    };
    let mut line = String::new();
    BufReader::new(std::io::Read::take(stream, MAX_REQUEST as u64))
        .read_line(&mut line)
        .map_err(|e| bad(format!("could not read the request: {e}")))?;
    let env: Envelope<Request> = serde_json::from_str(&line)
        .map_err(|e| bad(format!("not a request this version understands: {e}")))?;
    if env.v != PROTOCOL_VERSION {
        return Err(bad(format!(
            "protocol version {} is not supported (this recorder speaks version {PROTOCOL_VERSION})",
            env.v
        )));
    }
    Ok(env.body)
}

/// Connects to the recorder of `paths` and checks that it is our own user's.
fn connect(paths: &Paths) -> Result<UnixStream, RecorderError> {
    let path = socket_path(paths);
    let not_running = || RecorderError::NotRunning {
        data_dir: paths.data_dir.clone(),
    };
    let stream = match UnixStream::connect(&path) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Err(not_running());
        }
        Err(e) => return Err(RecorderError::io(&path)(e)),
    };
    // Only talk to a recorder of our own user.
    match peer_uid(&stream) {
        Ok(peer) if peer == uid() => {}
        _ => {
            return Err(RecorderError::Unsafe {
                path,
                reason: "the socket is served by another user".into(),
            });
        }
    }
    Ok(stream)
}

/// Sends one request to the recorder of `paths` and returns its answer.
///
/// `Err(NotRunning)` when no recorder listens; a refusal comes back as `Err(Remote)`.
pub fn request(paths: &Paths, req: &Request) -> Result<Response, RecorderError> {
    let path = socket_path(paths);
    let stream = connect(paths)?;
    stream
        .set_read_timeout(Some(
            crate::runtime::ANSWER_WITHIN + Duration::from_secs(10),
        ))
        .map_err(RecorderError::io(&path))?;
    send(&stream, &path, req)?;
    read_response(&mut BufReader::new(&stream), &path)
}

fn send(mut stream: &UnixStream, path: &Path, req: &Request) -> Result<(), RecorderError> {
    let mut line = serde_json::to_string(&Envelope {
        v: PROTOCOL_VERSION,
        body: req.clone(),
    })
    .map_err(|e| RecorderError::Protocol(e.to_string()))?;
    line.push('\n');
    stream
        .write_all(line.as_bytes())
        .map_err(RecorderError::io(path))
}

fn read_response(input: &mut impl BufRead, path: &Path) -> Result<Response, RecorderError> {
    let mut answer = String::new();
    input
        .read_line(&mut answer)
        .map_err(RecorderError::io(path))?;
    if answer.is_empty() {
        return Err(RecorderError::Protocol(
            "the recorder closed the connection without answering".into(),
        ));
    }
    let env: Envelope<Response> =
        serde_json::from_str(&answer).map_err(|e| RecorderError::Protocol(e.to_string()))?;
    match env.body {
        Response::Error { kind, message } => Err(RecorderError::Remote { kind, message }),
        other => Ok(other),
    }
}

/// Subscribes to the pushes of the recorder of `paths` (`window`: this subscriber shows a
/// window that `show` should bring to the front). Errors as [`request`].
pub fn subscribe(paths: &Paths, window: bool) -> Result<Pushes, RecorderError> {
    let path = socket_path(paths);
    let stream = connect(paths)?;
    // Answers come at once; pushes may not come for minutes.
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(RecorderError::io(&path))?;
    send(&stream, &path, &Request::Subscribe { window })?;
    let mut input = BufReader::new(stream);
    read_response(&mut input, &path)?;
    input
        .get_ref()
        .set_read_timeout(None)
        .map_err(RecorderError::io(&path))?;
    Ok(Pushes { input, path })
}

/// A subscribed connection: the recorder's pushes, in order. The iterator ends when the stream
/// does (the recorder stopped, or dropped this subscriber for falling behind).
#[derive(Debug)]
pub struct Pushes {
    input: BufReader<UnixStream>,
    path: PathBuf,
}

impl Iterator for Pushes {
    type Item = Result<Push, RecorderError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut line = String::new();
        match self.input.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) => Some(
                serde_json::from_str::<Envelope<Push>>(&line)
                    .map(|env| env.body)
                    .map_err(|e| RecorderError::Protocol(e.to_string())),
            ),
            Err(e) => Some(Err(RecorderError::io(&self.path)(e))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_the_socket_is_private() {
        let rt = tempfile::tempdir().unwrap();
        // SAFETY: tests in this module are the only ones that touch XDG_RUNTIME_DIR.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", rt.path()) };
        let data = tempfile::tempdir().unwrap();
        let paths = Paths::in_dir(data.path());
        assert!(matches!(
            request(&paths, &Request::Status),
            Err(RecorderError::NotRunning { .. })
        ));
        let server = Server::start(
            &paths,
            |req| match req {
                Request::Resume => Response::Ok,
                other => Response::Error {
                    kind: "test".into(),
                    message: format!("no {other:?}"),
                },
            },
            None,
        )
        .unwrap();
        let mode = std::fs::metadata(server.path()).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(matches!(
            request(&paths, &Request::Resume),
            Ok(Response::Ok)
        ));
        match request(&paths, &Request::Show) {
            Err(RecorderError::Remote { kind, message }) => {
                assert_eq!(kind, "test");
                assert!(message.contains("Show"));
            }
            other => panic!("{other:?}"),
        }
        // A garbage line gets a clear refusal, not a hang or a crash.
        let mut s = UnixStream::connect(server.path()).unwrap();
        s.write_all(b"{not json\n").unwrap();
        let mut answer = String::new();
        BufReader::new(&s).read_line(&mut answer).unwrap();
        assert!(answer.contains("bad_request"), "{answer}");
        drop(server);
        assert!(matches!(
            request(&paths, &Request::Status),
            Err(RecorderError::NotRunning { .. })
        ));
    }
}
