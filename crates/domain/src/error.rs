//! Everything the domain can refuse, each naming the thing refused and why, in the words staff use.

use chrono::NaiveDate;
use ulid::Ulid;

use crate::event::Outcome;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("{field}不能为空")]
    EmptyText { field: &'static str },
    #[error("{field}过长：{len} 字节，上限 {max} 字节")]
    TextTooLong { field: &'static str, len: usize, max: usize },
    #[error("{field}含有控制字符（U+{code:04X}）")]
    ControlCharacter { field: &'static str, code: u32 },
    #[error("日期 {on} 晚于今天（{today}）：不能记录尚未发生的事实")]
    InFuture { on: NaiveDate, today: NaiveDate },
    #[error("日期 {on} 早于承诺 {id} 的作出日期 {made_on}")]
    BeforeMade { id: Ulid, on: NaiveDate, made_on: NaiveDate },
    #[error("日期 {on} 早于答复 {id} 的签发日期 {signed_on}")]
    BeforeSigned { id: Ulid, on: NaiveDate, signed_on: NaiveDate },
    #[error("期限 {due} 早于答复的签发日期 {signed_on}")]
    DueBeforeSigned { due: NaiveDate, signed_on: NaiveDate },
    #[error("承诺 {id} 已于 {on} 办结（{}），不能再记录此事；如需继续，请先重新打开（reopen）", outcome.label())]
    AlreadyClosed { id: Ulid, on: NaiveDate, outcome: Outcome },
    #[error("承诺 {id} 已于 {on} 撤销，不能再记录此事；如属误撤，请先重新打开（reopen）")]
    AlreadyDismissed { id: Ulid, on: NaiveDate },
    #[error("承诺 {id} 尚未办结或撤销，无需重新打开")]
    NotClosed { id: Ulid },
    #[error("承诺 {id} 的期限已是 {due}，变更期限须说明理由（--reason）")]
    DueChangeNeedsReason { id: Ulid, due: NaiveDate },
    #[error("承诺 {id} 的期限已是 {due}，无需重复设定")]
    DueUnchanged { id: Ulid, due: NaiveDate },
    #[error("承诺 {id} 已由 {owner} 负责，无需调整")]
    SameOwner { id: Ulid, owner: String },
    #[error("附件“{file_name}”的记录不完整：须有不含路径的文件名、64 位十六进制的 SHA-256 和非零大小")]
    BadAttachment { file_name: String },
    #[error("进度百分比 {percent} 超出 0–100")]
    PercentOutOfRange { percent: u8 },
    #[error("承诺不能与自身重复（{id}）")]
    DuplicateOfItself { id: Ulid },
    #[error("更正 {id} 须至少给出一项要更正的内容（如 --organ、--doc-no、--text）")]
    NothingToAmend { id: Ulid },
    #[error("{id} 已是给出的内容，无须更正")]
    AmendsNothing { id: Ulid },
    #[error("{event} 不属于{expected}")]
    WrongStream { event: &'static str, expected: &'static str },
    #[error("{id} 尚无登记记录")]
    NotRegistered { id: Ulid },
    #[error("{id} 已登记，不能重复登记")]
    AlreadyRegistered { id: Ulid },
    #[error("答复期限 {reply_by} 早于交办日期 {assigned_on}")]
    ReplyByBeforeAssigned { reply_by: NaiveDate, assigned_on: NaiveDate },
    #[error("日期 {on} 早于 {id} 的交办日期 {assigned_on}")]
    BeforeAssigned { id: Ulid, on: NaiveDate, assigned_on: NaiveDate },
    #[error("{id} 已由 {lead} 主办，会办单位也相同，无需调整")]
    SameHandlers { id: Ulid, lead: String },
    #[error("答复 {reply} 已关联到 {id}，无需重复关联")]
    AlreadyLinked { id: Ulid, reply: Ulid },
    #[error("{id} 已是 {class} 类，无需重复分类")]
    SameClass { id: Ulid, class: &'static str },
    #[error("{id} 在 {on} 之前尚无主办单位的答复，不能回头看；请先关联答复（reply add --proposal 或 proposal link）")]
    ReviewBeforeReply { id: Ulid, on: NaiveDate },
    #[error("会办单位 {organ} 重复，或与主办单位相同")]
    RepeatedHandler { organ: String },
    #[error("承办单位账户须用 --organ 指明所属单位")]
    OrganAccountNeedsOrgan,
    #[error("只有承办单位账户才有所属单位；{role}账户不能带 --organ")]
    OrgansOnlyForOrganAccounts { role: &'static str },
    #[error("账户名“{name}”无效：不能为空，不能以空格开头或结尾，不超过 32 个汉字")]
    BadAccountName { name: String },
    #[error("账户 {name} 已存在")]
    AccountExists { name: String },
    #[error("账户 {name} 已是{state}状态")]
    AccountAlready { name: String, state: &'static str },
    #[error("编号“{input}”无效：须为至少 6 位的 ULID 前缀（字符 0-9、A-Z，不含 I L O U）")]
    BadId { input: String },
    #[error("找不到编号以 {prefix} 开头的{what}")]
    UnknownId { what: &'static str, prefix: String },
    #[error("编号前缀 {prefix} 不唯一，可指：{}（请多写几位）", candidates.join("、"))]
    AmbiguousId { prefix: String, candidates: Vec<String> },
}
