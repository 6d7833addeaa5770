//! Everything the store can fail with. No engine's types appear here: each engine turns its own errors into these
//! (sled's in `space`), keeping an I/O error whole so that its kind (disk full, permission) reaches the caller.

use std::path::PathBuf;

use duban_domain::DomainError;
use ulid::Ulid;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("事件库 {} 正被另一个 duban 进程使用，请稍后再试", path.display())]
    InUse { path: PathBuf },
    #[error("{} 处没有 duban 事件库（可用 `duban init` 新建，或用 --store 指定路径）", path.display())]
    NotFound { path: PathBuf },
    #[error("{} 已存在且不为空，请换一个路径", path.display())]
    AlreadyExists { path: PathBuf },
    #[error("{} 不是 duban 事件库", path.display())]
    NotAStore { path: PathBuf },
    #[error("{} 是旧格式（布局 {found}）的事件库，本程序读写布局 {supported}：请先运行 `duban upgrade --store {}`（升级前会完整校验，原库在升级成功前不动）", path.display(), path.display())]
    NeedsUpgrade { path: PathBuf, found: u16, supported: u16 },
    #[error("{} 的上一次升级未完成：请再次运行 `duban upgrade --store {}` 完成它", path.display(), path.display())]
    UpgradeInterrupted { path: PathBuf },
    #[error("{} 是本程序无法读取的布局（{found}）的事件库：请用写入它的 duban 版本 export，再用 import-events 还原到新库", path.display())]
    OtherLayout { path: PathBuf, found: u16, supported: u16 },
    #[error("{location} 是 PostgreSQL 数据库，不需要 `duban upgrade`：duban 打开它时自动完成表结构的迁移")]
    NoUpgrade { location: String },
    #[error("事件库由更新版本的 duban 写入（模式版本 {found}，本程序最高读取 {supported}），请升级 duban")]
    NewerSchema { found: u16, supported: u16 },
    #[error("并发冲突：流 {stream} 预期版本 {expected}，实际已是版本 {actual}；请重新读取后再试")]
    Conflict { stream: Ulid, expected: u32, actual: u32 },
    #[error("不能追加到流 {stream}：{reason}")]
    BadAppend { stream: Ulid, reason: String },
    #[error("无法读取第 {seq} 条事件：{reason}")]
    Corrupt { seq: u64, reason: String },
    #[error("状态投影中{what}无法读取：{reason}（日志未受影响，可运行 `duban rebuild` 由日志重建）")]
    ProjectionDamaged { what: String, reason: String },
    #[error("事件库已损坏：{what}（请从备份或 export 文件还原：`duban import-events` 到新库）")]
    Damaged { what: String },
    #[error("import-events 只能还原到空事件库，而此库已有 {events} 条事件")]
    NotEmpty { events: u64 },
    #[error("事件文件第 {line} 行：{reason}")]
    BadImport { line: u64, reason: String },
    #[error("还原批次与日志不相接：日志止于第 {head} 条，批次从第 {first} 条开始")]
    RestoreGap { head: u64, first: u64 },
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("事件库读写失败：{0}")]
    Io(#[from] std::io::Error),
    #[error("存储引擎出错：{0}")]
    Engine(String),
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
                | StoreError::NeedsUpgrade { .. }
                | StoreError::UpgradeInterrupted { .. }
                | StoreError::NoUpgrade { .. }
                | StoreError::Domain(_)
        )
    }

    /// The kind of the I/O error behind this one, if there is one.
    pub fn io_kind(&self) -> Option<std::io::ErrorKind> {
        match self {
            StoreError::Io(error) => Some(error.kind()),
            _ => None,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
