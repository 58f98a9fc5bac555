//! The child's side: `glasshouse capture-worker` calls [`run`], which captures input and writes
//! [`wire`](crate::wire) frames to stdout until the parent goes away.
//!
//! The platform backend's callbacks only timestamp and enqueue; one writer thread owns stdout,
//! turns the queue into frames in order, and flushes when the queue runs empty, at most once
//! per `FLUSH_INTERVAL` (4 ms), so a frame waits at most that long after the queue drained.
//!
//! When stdin closes (the supervisor's stop, or the parent's death) the writer is told to write
//! out everything queued so far and flush before the process exits, so a graceful stop loses no
//! input that was already captured.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::time::{Duration, Instant};

use glasshouse_core::model::{Input, Micros, RawEvent};

use crate::wire::{self, Frame};

/// The longest a frame waits in the buffer before it is written (the latency budget is ~10 ms).
const FLUSH_INTERVAL: Duration = Duration::from_millis(4);

/// Exit code after an error that was reported in an `Error` frame.
pub const EXIT_ERROR: i32 = 2;
/// Exit code when stdout could no longer be written (the parent is gone).
pub const EXIT_PARENT_GONE: i32 = 3;

/// After stdin closed, how long the writer gets to write out the queue before the process exits
/// anyway (the supervisor kills a worker that takes longer than its own, similar, grace).
const STOP_FLUSH_LIMIT: Duration = Duration::from_millis(250);

/// The worker's main. Returns the process exit code: 0 when the parent closed our stdin, 2 after
/// an error (already reported in an `Error` frame), 3 when stdout broke.
///
/// Exits the process, after writing out the frames it still holds, when stdin reaches end of
/// file: the parent holds the other end of that pipe, so run by hand from a terminal, Ctrl-D
/// stops it.
pub fn run() -> i32 {
    let out = match take_stdout() {
        Ok(out) => out,
        Err(e) => {
            eprintln!("capture worker: cannot take over stdout: {e}");
            return EXIT_PARENT_GONE;
        }
    };
    #[cfg(target_os = "linux")]
    {
        crate::x11::run_worker(out)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let reason = crate::CaptureError::Unsupported(std::env::consts::OS).to_string();
        write_error(out, &reason)
    }
}

/// Writes one `Error` frame and returns [`EXIT_ERROR`].
pub(crate) fn write_error(mut out: impl Write, reason: &str) -> i32 {
    let mut buf = Vec::new();
    wire::encode(&Frame::Error(reason.to_owned()), &mut buf);
    let _ = out.write_all(&buf).and_then(|()| out.flush());
    EXIT_ERROR
}

/// What the writer thread is fed, in order.
#[derive(Debug)]
pub(crate) enum Item<E> {
    /// A platform event and the time its callback saw it.
    Raw(Micros, E),
    Frame(Frame),
    /// Report this reason, then stop.
    Fatal(String),
    /// Stdin closed: write out everything queued before this, flush, and stop (exit code 0).
    Stop,
}

/// Serialises the queue to `out` until it closes or a fatal item arrives; returns the exit code.
/// `translate` turns a platform event into input (or drops it); it runs on this thread, in order.
pub(crate) fn write_loop<E>(
    rx: Receiver<Item<E>>,
    out: impl Write,
    mut translate: impl FnMut(E) -> Option<Input>,
) -> i32 {
    let mut out = BufWriter::with_capacity(64 * 1024, out);
    let mut buf = Vec::with_capacity(256);
    let Ok(mut item) = rx.recv() else {
        return 0;
    };
    let mut last_flush: Option<Instant> = None;
    loop {
        buf.clear();
        let mut fatal = false;
        match item {
            Item::Raw(ts, event) => {
                if let Some(input) = translate(event) {
                    wire::encode(&Frame::Input(RawEvent { ts, input }), &mut buf);
                }
            }
            Item::Frame(frame) => wire::encode(&frame, &mut buf),
            Item::Fatal(reason) => {
                wire::encode(&Frame::Error(reason), &mut buf);
                fatal = true;
            }
            Item::Stop => break,
        }
        if out.write_all(&buf).is_err() {
            return EXIT_PARENT_GONE;
        }
        if fatal {
            return if out.flush().is_ok() {
                EXIT_ERROR
            } else {
                EXIT_PARENT_GONE
            };
        }
        item = match rx.try_recv() {
            Ok(next) => next,
            Err(TryRecvError::Empty) => {
                // The queue ran empty. A frame waits at most FLUSH_INTERVAL for company, so a
                // steady stream (a 1000 Hz mouse) costs a write every few ms, not one per event.
                // Sleeping (rather than waiting on the queue) also spares a thread wake-up per
                // event: senders only push while nobody blocks on the queue.
                let since = last_flush.map_or(FLUSH_INTERVAL, |t| t.elapsed());
                if since < FLUSH_INTERVAL {
                    std::thread::sleep(FLUSH_INTERVAL - since);
                    match rx.try_recv() {
                        Ok(next) => {
                            item = next;
                            continue;
                        }
                        Err(TryRecvError::Empty) => {}
                        Err(TryRecvError::Disconnected) => break,
                    }
                }
                if out.flush().is_err() {
                    return EXIT_PARENT_GONE;
                }
                last_flush = Some(Instant::now());
                match rx.recv() {
                    Ok(next) => next,
                    Err(_) => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
    }
    if out.flush().is_ok() {
        0
    } else {
        EXIT_PARENT_GONE
    }
}

/// Ends the worker once stdin closes: the writer (fed through `queue`) writes out what is queued,
/// flushes and exits the process; if it cannot within [`STOP_FLUSH_LIMIT`] (stdout blocked), the
/// process exits anyway. The parent holds the only write end of stdin, so this fires on a
/// graceful stop and also when the parent dies even if the kernel's parent-death signal could
/// not be set.
pub(crate) fn exit_when_stdin_closes<E: Send + 'static>(queue: Sender<Item<E>>) {
    let spawned = std::thread::Builder::new()
        .name("capture-stdin".into())
        .spawn(move || {
            wait_for_eof(io::stdin());
            stop_writer(&queue);
            std::thread::sleep(STOP_FLUSH_LIMIT);
            std::process::exit(0);
        });
    if spawned.is_err() {
        eprintln!("capture worker: cannot watch stdin");
    }
}

/// Reads (and discards) `input` until end of file or an error.
fn wait_for_eof(mut input: impl Read) {
    let mut sink = [0u8; 256];
    loop {
        match input.read(&mut sink) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// Asks the writer to write out what is queued and stop. Items queued after this are dropped.
fn stop_writer<E>(queue: &Sender<Item<E>>) {
    let _ = queue.send(Item::Stop);
}

/// Takes fd 1 for frames and points fd 1 at stderr, so that nothing else in the process (a
/// library's stray print) can corrupt the frame stream.
#[cfg(unix)]
fn take_stdout() -> io::Result<File> {
    use std::os::fd::{AsFd, AsRawFd};
    let frames = io::stdout().as_fd().try_clone_to_owned()?;
    // SAFETY: dup2 on two descriptors this process owns for its whole life (0..=2); it does not
    // touch memory.
    if unsafe { libc::dup2(io::stderr().as_raw_fd(), io::stdout().as_raw_fd()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(File::from(frames))
}

#[cfg(not(unix))]
fn take_stdout() -> io::Result<impl Write> {
    Ok(io::stdout())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn write_loop_translates_in_order_and_stops_at_fatal() {
        let (tx, rx) = mpsc::channel();
        tx.send(Item::Frame(Frame::Started)).unwrap();
        tx.send(Item::Raw(5, 1)).unwrap();
        tx.send(Item::Raw(6, -1)).unwrap(); // dropped by the translator
        tx.send(Item::Raw(7, 2)).unwrap();
        tx.send(Item::Fatal("boom".into())).unwrap();
        tx.send(Item::Raw(8, 3)).unwrap(); // after the fatal item: never written
        let mut out = Vec::new();
        let code = write_loop(rx, &mut out, |n: i32| {
            (n > 0).then_some(Input::Move { x: n, y: n })
        });
        assert_eq!(code, EXIT_ERROR);
        let mut reader = wire::FrameReader::new(&out[..]);
        let mut frames = Vec::new();
        while let Some(f) = reader.next_frame().unwrap() {
            frames.push(f);
        }
        let mv = |ts, n| {
            Frame::Input(RawEvent {
                ts,
                input: Input::Move { x: n, y: n },
            })
        };
        assert_eq!(
            frames,
            vec![
                Frame::Started,
                mv(5, 1),
                mv(7, 2),
                Frame::Error("boom".into())
            ]
        );
    }

    /// What the worker does when the supervisor stops it: stdin closes, and the frames still
    /// queued or buffered (within the 4 ms flush interval) are written out before it exits.
    #[test]
    fn a_closed_stdin_writes_out_what_is_queued_then_stops() {
        #[derive(Clone, Default)]
        struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mv = |ts, n| {
            Frame::Input(RawEvent {
                ts,
                input: Input::Move { x: n, y: n },
            })
        };
        for spaced in [false, true] {
            let (tx, rx) = mpsc::channel();
            let out = Shared::default();
            let writer = {
                let out = out.clone();
                std::thread::spawn(move || {
                    write_loop(rx, out, |n: i32| Some(Input::Move { x: n, y: n }))
                })
            };
            tx.send(Item::Frame(Frame::Started)).unwrap();
            for i in 1..=100 {
                tx.send(Item::Raw(i, i as i32)).unwrap();
                if spaced && i % 10 == 0 {
                    // Let the writer block on an empty queue, with a frame in its buffer.
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            wait_for_eof(io::empty());
            stop_writer(&tx);
            let _ = tx.send(Item::Raw(101, 101)); // after the stop: never written
            assert_eq!(writer.join().unwrap(), 0);
            let bytes = out.0.lock().unwrap().clone();
            let mut reader = wire::FrameReader::new(&bytes[..]);
            let mut frames = Vec::new();
            while let Some(f) = reader.next_frame().unwrap() {
                frames.push(f);
            }
            let mut want = vec![Frame::Started];
            want.extend((1..=100).map(|i| mv(i, i as i32)));
            assert_eq!(frames, want, "spaced: {spaced}");
        }
    }

    #[test]
    fn write_loop_reports_a_broken_stdout() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
        }
        let (tx, rx) = mpsc::channel::<Item<()>>();
        tx.send(Item::Frame(Frame::Started)).unwrap();
        drop(tx);
        assert_eq!(write_loop(rx, Broken, |()| None), EXIT_PARENT_GONE);
    }
}
