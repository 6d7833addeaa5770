//! Everything the store can fail with; sled's own errors are turned into text here so sled types never leave the crate.

use std::path::PathBuf;

use duban_domain::DomainError;
use ulid::Ulid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store {} is in use by another duban process", path.display())]
    InUse { path: PathBuf },
    #[error("no duban store at {} (create one with `duban init`)", path.display())]
    NotFound { path: PathBuf },
    #[error("{} already exists and is not empty; choose another path", path.display())]
    AlreadyExists { path: PathBuf },
    #[error("{} is not a duban store", path.display())]
    NotAStore { path: PathBuf },
    #[error("store was written by a newer duban (schema {found}; this build reads up to {supported}); upgrade duban")]
    NewerSchema { found: u16, supported: u16 },
    #[error("conflict on stream {stream}: expected version {expected}, but the stream is at version {actual}")]
    Conflict { stream: Ulid, expected: u32, actual: u32 },
    #[error("cannot append to stream {stream}: {reason}")]
    BadAppend { stream: Ulid, reason: String },
    #[error("stored event {seq} cannot be read: {reason}")]
    Corrupt { seq: u64, reason: String },
    #[error("import-events needs an empty store, but this one already holds {events} events")]
    NotEmpty { events: u64 },
    #[error("line {line} of the event file: {reason}")]
    BadImport { line: u64, reason: String },
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("store i/o: {0}")]
    Io(String),
}

impl StoreError {
    /// Whether the user can fix this by changing what they asked for (exit code 1), as opposed to a store or
    /// environment fault (exit code 2).
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            StoreError::NotFound { .. }
                | StoreError::AlreadyExists { .. }
                | StoreError::Conflict { .. }
                | StoreError::NotEmpty { .. }
                | StoreError::BadImport { .. }
                | StoreError::Domain(_)
        )
    }
}

impl From<sled::Error> for StoreError {
    fn from(error: sled::Error) -> Self {
        StoreError::Io(error.to_string())
    }
}

impl From<std::io::Error> for StoreError {
    fn from(error: std::io::Error) -> Self {
        StoreError::Io(error.to_string())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
