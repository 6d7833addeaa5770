//! duban's domain: the events it records, the fold that turns them into state, the status rules, and the checks
//! that run before anything is appended. No I/O, no clock: "today" is always a parameter.
//!
//! From events to a status:
//!
//! ```
//! use duban_domain::*;
//! use chrono::{NaiveDate, TimeZone, Utc};
//!
//! let day = |text: &str| text.parse::<NaiveDate>().unwrap();
//! let reply = ulid::Ulid::new();
//! let promise = ulid::Ulid::new();
//! let recorded_at = Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap();
//! let fact = |version, occurred_on, event| {
//!     NewEvent { id: ulid::Ulid::new(), stream: promise, occurred_on, recorded_at, actor: "王芳".into(), event }
//!         .sealed(version as u64, version, String::new(), String::new())
//! };
//! let log = [
//!     fact(1, day("2025-05-29"), Event::CommitmentMade(Box::new(CommitmentMade {
//!         reply, text: "年底前建成概念验证平台".into(), section: Section::NextSteps,
//!         owner: "市科委".into(), co_handlers: vec![], due: Some(day("2025-12-31")),
//!         due_phrase: Some("年底前".into()), locator: None,
//!     }))),
//!     fact(2, day("2025-09-01"), Event::ProgressReported(ProgressReported {
//!         summary: "完成选址".into(), evidence: vec![], percent: Some(30),
//!     })),
//! ];
//! let state = CommitmentState::fold(&log);
//! let policy = Policy::default();
//! assert_eq!(status(&state, day("2025-10-01"), policy), Status::InProgress);
//! assert_eq!(status(&state, day("2026-01-05"), policy), Status::Overdue);
//! assert_eq!(Status::Overdue.label(), "逾期");
//! ```

mod access;
mod account;
mod clock;
mod error;
mod event;
mod horizon;
mod ids;
mod names;
mod proposal;
mod state;
mod status;
mod validate;

#[cfg(test)]
mod tests;

pub use access::{permits, Action, Denied, Principal, Role, Target};
pub use account::{check_account_event, AccountState, MAX_ACCOUNT_NAME_BYTES};
pub use clock::{business_date, china};
pub use error::DomainError;
pub use event::*;
pub use horizon::{Folded, Horizon, IdHasher, IdMap};
pub use ids::{normalize_prefix, resolve_prefix, short_id, MIN_PREFIX};
pub use names::{fold, Aliases, OrganQuery, BUILT_IN_ALIASES};
pub use proposal::{
    check_proposal_event, default_reply_by, proposal_status, Answer, ProposalState, ProposalStatus,
    DEFAULT_REPLY_MONTHS,
};
pub use state::{Closure, CommitmentState, ReplyState};
pub use status::{status, DueSource, Policy, Status};
pub use validate::{
    check_actor, check_attachment, check_commitment_event, check_reply_event, check_text, MAX_ACTOR_BYTES,
    MAX_FILE_NAME_BYTES, MAX_TEXT_BYTES,
};
