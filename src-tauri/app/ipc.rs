//! Errors as they cross IPC: `{ kind, message }`, where `message` is a sentence the dashboard
//! shows as it is and `kind` lets it react (e.g. highlight a settings field).

use serde::Serialize;

use crate::error::AppError;

/// An error returned by a command to the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IpcError {
    pub kind: &'static str,
    pub message: String,
}

impl IpcError {
    pub fn new(kind: &'static str, message: impl Into<String>) -> IpcError {
        IpcError {
            kind,
            message: message.into(),
        }
    }
}

impl From<AppError> for IpcError {
    fn from(e: AppError) -> IpcError {
        use glasshouse_core::CoreError;
        let kind = match &e {
            AppError::Core(CoreError::SettingsValue { .. } | CoreError::SettingsInvalid { .. }) => {
                "settings"
            }
            AppError::Core(CoreError::BadDuration { .. } | CoreError::BadTime { .. })
            | AppError::Usage(_) => "invalid",
            AppError::Store(glasshouse_store::StoreError::DiskFull { .. }) => "disk_full",
            AppError::Store(_) => "store",
            AppError::Recorder(_) => "recorder",
            AppError::Capture(_) => "capture",
            AppError::Uploads(e) => e.kind(),
            AppError::Vault(_) => "key",
            AppError::Tampered(_) => "audit",
            AppError::Core(_) | AppError::Output(_) | AppError::Declined | AppError::Desktop(_) => {
                "internal"
            }
        };
        IpcError::new(kind, e.to_string())
    }
}

macro_rules! into_ipc {
    ($($t:ty),*) => {$(
        impl From<$t> for IpcError {
            fn from(e: $t) -> IpcError {
                AppError::from(e).into()
            }
        }
    )*};
}

into_ipc!(
    glasshouse_store::StoreError,
    glasshouse_recorder::RecorderError,
    glasshouse_core::CoreError,
    glasshouse_uploads::UploadError
);
