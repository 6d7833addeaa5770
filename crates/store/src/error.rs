//! Everything the store can fail with; sled's own errors are turned into text here so sled types never leave the crate.

use std::path::PathBuf;

use duban_domain::DomainError;
use ulid::Ulid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store {} is in use by another duban process（事件库正被另一个 duban 进程使用，请稍后再试）", path.display())]
    InUse { path: PathBuf },
    #[error("{} 处没有 duban 事件库（可用 `duban init` 新建，或用 --store 指定路径）", path.display())]
    NotFound { path: PathBuf },
    #[error("{} 已存在且不为空，请换一个路径", path.display())]
    AlreadyExists { path: PathBuf },
    #[error("{} 不是 duban 事件库", path.display())]
    NotAStore { path: PathBuf },
    #[error("{} 是旧布局（{found}）的事件库，本程序读取布局 {supported}：请用写入它的 duban 版本 export，再用 import-events 还原到新库", path.display())]
    OtherLayout { path: PathBuf, found: u16, supported: u16 },
    #[error("事件库由更新版本的 duban 写入（模式版本 {found}，本程序最高读取 {supported}），请升级 duban")]
    NewerSchema { found: u16, supported: u16 },
    #[error("并发冲突：流 {stream} 预期版本 {expected}，实际已是版本 {actual}；请重新读取后再试")]
    Conflict { stream: Ulid, expected: u32, actual: u32 },
    #[error("不能追加到流 {stream}：{reason}")]
    BadAppend { stream: Ulid, reason: String },
    #[error("无法读取第 {seq} 条事件：{reason}")]
    Corrupt { seq: u64, reason: String },
    #[error("import-events 只能还原到空事件库，而此库已有 {events} 条事件")]
    NotEmpty { events: u64 },
    #[error("事件文件第 {line} 行：{reason}")]
    BadImport { line: u64, reason: String },
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("事件库读写失败：{0}")]
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
