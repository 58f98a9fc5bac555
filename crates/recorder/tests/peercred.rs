//! The control socket answers only its own user, shown with a real other user: a child process
//! that switched to `nobody` (uid 65534) tries to talk to a root-owned recorder's socket.
//!
//! Three defences, each shown to hold on its own by loosening the others in the test only: the
//! private (0700) socket directory, the socket file's mode (0600), and the `SO_PEERCRED` check of
//! the server, which answers `forbidden` without running the request. And the other way round:
//! a client does not talk to a socket served by another user.
//!
//! Needs root (to switch users); skipped with a message otherwise.

use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use glasshouse_core::paths::Paths;
use glasshouse_recorder::RecorderError;
use glasshouse_recorder::control::{self, Server};
use glasshouse_recorder::protocol::{Request, Response};

const NOBODY: u32 = 65534;

/// What the child process saw, as its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// `connect` failed with EACCES: a file-system permission stopped it.
    PermissionDenied,
    /// `connect` failed otherwise.
    ConnectFailed,
    /// Connected and was answered `forbidden`.
    Forbidden,
    /// Connected and was answered something else (the request was served).
    Served,
    /// Connected but got no answer.
    NoAnswer,
    /// The child could not switch to `nobody`.
    NoSwitch,
    Other(i32),
}

fn seen(code: i32) -> Seen {
    match code {
        10 => Seen::PermissionDenied,
        11 => Seen::ConnectFailed,
        12 => Seen::Forbidden,
        13 => Seen::Served,
        14 => Seen::NoAnswer,
        15 => Seen::NoSwitch,
        c => Seen::Other(c),
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The tests change the modes of the one socket directory: one at a time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// One runtime directory for the test binary (the variable is process-wide), readable by others
/// so that each test decides which layer to loosen.
fn runtime_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        // SAFETY: set once, before any server starts, to the same value in every test.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", d.path()) };
        d
    });
    chmod(dir.path(), 0o755);
    dir.path()
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A server whose handler counts the requests it ran.
fn server(data: &Path) -> (Server, Arc<AtomicUsize>) {
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    let server = Server::start(
        &Paths::in_dir(data),
        move |_req| {
            count.fetch_add(1, Ordering::SeqCst);
            Response::Ok
        },
        None,
    )
    .unwrap();
    (server, served)
}

/// Forks a child that becomes `nobody`, connects to `socket`, sends a status request and reads
/// the answer; returns what it saw. Everything the child needs is prepared before the fork, so
/// it only makes system calls (no allocation after `fork` in a threaded process).
fn as_nobody(socket: &Path) -> Seen {
    let path = CString::new(socket.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: sockaddr_un is plain data; all zeroes is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_bytes_with_nul();
    assert!(bytes.len() <= addr.sun_path.len(), "socket path too long");
    for (d, s) in addr.sun_path.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    let request = b"{\"v\":1,\"cmd\":\"status\"}\n";
    // SAFETY: the child only makes async-signal-safe system calls on memory prepared above and
    // on its own stack, and leaves with _exit; the parent waits for it.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: see above; each call gets valid pointers and lengths.
        unsafe {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(NOBODY) != 0
                || libc::setuid(NOBODY) != 0
                || libc::geteuid() != NOBODY
            {
                libc::_exit(15);
            }
            let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0);
            if fd < 0 {
                libc::_exit(11);
            }
            let rc = libc::connect(
                fd,
                (&raw const addr).cast(),
                std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t,
            );
            if rc != 0 {
                let errno = *libc::__errno_location();
                libc::_exit(if errno == libc::EACCES { 10 } else { 11 });
            }
            libc::write(fd, request.as_ptr().cast(), request.len());
            let mut buf = [0u8; 1024];
            let mut len = 0usize;
            loop {
                let n = libc::read(fd, buf.as_mut_ptr().add(len).cast(), buf.len() - len);
                if n <= 0 {
                    break;
                }
                len += n as usize;
                if len == buf.len() || buf[..len].contains(&b'\n') {
                    break;
                }
            }
            if len == 0 {
                libc::_exit(14);
            }
            let forbidden = buf[..len].windows(9).any(|w| w == b"forbidden");
            libc::_exit(if forbidden { 12 } else { 13 });
        }
    }
    let mut status = 0;
    // SAFETY: `pid` is our child; `status` is valid for writes.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    assert!(
        libc::WIFEXITED(status),
        "the child did not exit normally: {status}"
    );
    seen(libc::WEXITSTATUS(status))
}

fn skip() -> bool {
    if is_root() {
        return false;
    }
    eprintln!(
        "skipped: switching to another user needs root (this runs as uid {}); CI runs as root",
        // SAFETY: getuid has no preconditions.
        unsafe { libc::getuid() }
    );
    true
}

/// What the three server tests start from: the tests' turn, a data folder, and its recorder's
/// socket served (with the count of requests served). `None` when not root (skipped).
struct Served {
    _serial: std::sync::MutexGuard<'static, ()>,
    data: tempfile::TempDir,
    server: Server,
    served: Arc<AtomicUsize>,
}

fn served() -> Option<Served> {
    if skip() {
        return None;
    }
    let _serial = serial();
    runtime_dir();
    let data = tempfile::tempdir().unwrap();
    let (server, served) = server(data.path());
    Some(Served {
        _serial,
        data,
        server,
        served,
    })
}

/// The permission bits of `path`.
fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_private_directory_alone_keeps_another_user_out() {
    let Some(s) = served() else {
        return;
    };
    let dir = s.server.path().parent().unwrap();
    assert_eq!(mode(dir), 0o700);
    // The socket itself is opened up: only the directory stands in the way.
    chmod(s.server.path(), 0o666);
    assert_eq!(as_nobody(s.server.path()), Seen::PermissionDenied);
    // With the directory opened too, the same child gets through to the server: the refusal
    // above was the directory's.
    chmod(dir, 0o755);
    assert_eq!(as_nobody(s.server.path()), Seen::Forbidden);
    assert_eq!(s.served.load(Ordering::SeqCst), 0);
    chmod(dir, 0o700);
}

#[test]
fn the_socket_mode_alone_keeps_another_user_out() {
    let Some(s) = served() else {
        return;
    };
    let dir = s.server.path().parent().unwrap();
    chmod(dir, 0o755);
    assert_eq!(mode(s.server.path()), 0o600);
    assert_eq!(as_nobody(s.server.path()), Seen::PermissionDenied);
    assert_eq!(s.served.load(Ordering::SeqCst), 0);
    chmod(dir, 0o700);
}

#[test]
fn the_peer_credential_check_alone_refuses_another_user() {
    let Some(s) = served() else {
        return;
    };
    let dir = s.server.path().parent().unwrap();
    // Both file-system defences opened: only SO_PEERCRED is left.
    chmod(dir, 0o755);
    chmod(s.server.path(), 0o666);
    assert_eq!(as_nobody(s.server.path()), Seen::Forbidden);
    assert_eq!(
        s.served.load(Ordering::SeqCst),
        0,
        "the other user's request must not run"
    );
    // The same request from this user is served: the refusal was about who asked.
    let answer = control::request(&Paths::in_dir(s.data.path()), &Request::Status).unwrap();
    assert!(matches!(answer, Response::Ok), "{answer:?}");
    assert_eq!(s.served.load(Ordering::SeqCst), 1);
    chmod(dir, 0o700);
}

#[test]
fn a_client_does_not_talk_to_a_socket_of_another_user() {
    if skip() {
        return;
    }
    let _serial = serial();
    runtime_dir();
    let data = tempfile::tempdir().unwrap();
    let paths = Paths::in_dir(data.path());
    let socket = control::socket_path(&paths);
    let dir = socket.parent().unwrap();
    std::fs::create_dir_all(dir).unwrap();
    // Someone else's process listens where this user's recorder would (the directory opened
    // for the test, so that it can).
    chmod(dir, 0o777);
    let _ = std::fs::remove_file(&socket);
    let path = CString::new(socket.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: as in `as_nobody`.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, s) in addr.sun_path.iter_mut().zip(path.as_bytes_with_nul()) {
        *d = *s as libc::c_char;
    }
    let mut ready = [0i32; 2];
    // SAFETY: `ready` holds two fds for the pipe.
    assert_eq!(unsafe { libc::pipe(ready.as_mut_ptr()) }, 0);
    // SAFETY: the child makes only system calls on memory prepared before the fork and exits
    // with _exit; the parent kills and reaps it.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // SAFETY: see above.
        unsafe {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(NOBODY) != 0
                || libc::setuid(NOBODY) != 0
            {
                libc::_exit(15);
            }
            let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0);
            let size = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
            if fd < 0
                || libc::bind(fd, (&raw const addr).cast(), size) != 0
                || libc::listen(fd, 4) != 0
            {
                libc::_exit(11);
            }
            libc::write(ready[1], b"r".as_ptr().cast(), 1);
            loop {
                let c = libc::accept(fd, std::ptr::null_mut(), std::ptr::null_mut());
                if c >= 0 {
                    // Answers like a recorder would, to show the client never believes it.
                    let answer = b"{\"v\":1,\"reply\":\"ok\"}\n";
                    libc::write(c, answer.as_ptr().cast(), answer.len());
                    libc::close(c);
                }
            }
        }
    }
    let mut byte = [0u8; 1];
    // SAFETY: reads one byte into `byte` from the pipe the child writes when it listens.
    let n = unsafe { libc::read(ready[0], byte.as_mut_ptr().cast(), 1) };
    let result = control::request(&paths, &Request::Status);
    // SAFETY: `pid` is our child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
    let _ = std::fs::remove_file(&socket);
    chmod(dir, 0o700);
    assert_eq!(n, 1, "the other user's listener did not start");
    match result {
        Err(RecorderError::Unsafe { reason, .. }) => {
            assert!(reason.contains("another user"), "{reason}");
        }
        other => panic!("a socket of another user was talked to: {other:?}"),
    }
}
