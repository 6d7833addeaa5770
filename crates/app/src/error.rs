//! What a use case can fail with: a refusal the user can act on, or a fault of the store or the machine.

use duban_domain::DomainError;
use duban_ingest::IngestError;
use duban_store::StoreError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// A request refused as asked: an unknown id, a duplicate, a bad parameter. The message says what to do.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A document that cannot be read as a reply (the message names the file).
    #[error("无法解析 {file}：{error}")]
    Ingest { file: String, error: IngestError },
    #[error(transparent)]
    Render(#[from] duban_report::RenderError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Derived data that does not read back (the search index): the log is intact; the message gives the way out.
    #[error("{0}")]
    Derived(String),
}

impl AppError {
    /// Whether the user can fix this by asking differently (the CLI's exit code 1, the server's 4xx), as opposed
    /// to a store or machine fault (exit code 2, 5xx).
    pub fn is_user_error(&self) -> bool {
        match self {
            AppError::Refused(_) | AppError::Domain(_) | AppError::Ingest { .. } => true,
            AppError::Store(store) => store.is_user_error(),
            AppError::Render(_) | AppError::Io(_) | AppError::Derived(_) => false,
        }
    }

    /// Whether this is a stale write: someone else appended to the stream since it was read.
    pub fn is_conflict(&self) -> bool {
        matches!(self, AppError::Store(StoreError::Conflict { .. }))
    }
}

/// Refuses with a message for the user.
pub(crate) fn refuse<T>(message: impl Into<String>) -> Result<T> {
    Err(AppError::Refused(message.into()))
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;
