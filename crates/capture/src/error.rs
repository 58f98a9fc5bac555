//! The one error type of the capture crate. Every message is a sentence a person can act on,
//! because the supervisor shows it as the reason capture is unavailable.

/// Everything that can stop capture.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("no X display: DISPLAY is not set")]
    NoDisplay,
    #[error(
        "capture needs an X11 session (or XWayland) for now: this is a Wayland session with no X server"
    )]
    WaylandOnly,
    #[error("cannot connect to the X display {display} ({reason})")]
    Connect { display: String, reason: String },
    #[error("the X server on {display} has no RECORD extension, which capture needs")]
    NoRecordExtension { display: String },
    #[error("lost the connection to the X server ({0})")]
    ConnectionLost(String),
    #[error("cannot listen to keyboard and mouse input: {0}")]
    Listen(String),
    #[error("cannot start the capture process: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("the capture process {}", describe_exit(*code, *signal))]
    WorkerExited {
        code: Option<i32>,
        signal: Option<i32>,
    },
    #[error("the capture process sent data that could not be read: {0}")]
    Protocol(String),
    #[error("input capture is not available on {0} yet")]
    Unsupported(&'static str),
}

fn describe_exit(code: Option<i32>, signal: Option<i32>) -> String {
    match (code, signal) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "exited".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_sentences() {
        assert_eq!(
            CaptureError::Connect {
                display: ":5".into(),
                reason: "connection refused".into()
            }
            .to_string(),
            "cannot connect to the X display :5 (connection refused)"
        );
        assert_eq!(
            CaptureError::NoRecordExtension {
                display: ":5".into()
            }
            .to_string(),
            "the X server on :5 has no RECORD extension, which capture needs"
        );
        assert_eq!(
            CaptureError::WorkerExited {
                code: None,
                signal: Some(9)
            }
            .to_string(),
            "the capture process was killed by signal 9"
        );
    }
}
