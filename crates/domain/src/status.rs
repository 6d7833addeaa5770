//! Status rules: what a commitment's folded state means on a given date.
//!
//! Precedence, first match wins (docs/events.md): 已撤销 › closed outcome › 待审核 › 逾期 › 停滞 › 推进中 › 待推进.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::event::Outcome;
use crate::state::CommitmentState;

/// Tunable rules for statuses: when a quiet commitment counts as stalled, and what due date a commitment whose reply
/// named none is followed up against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// A commitment with no progress report for this many days (counted from its last report, or from the day it
    /// was made if it has none) is 停滞.
    pub stall_days: u32,
    /// A commitment with no due date (none in its text, none set by staff) is due at the end of the year this many
    /// years after the one it was made in (0: the same year), marked 默认期限; `None`: it has no due date.
    pub default_due_years: Option<u8>,
}

impl Policy {
    /// The written default: 90 days without a report is 停滞; a promise without a date is due at the end of the
    /// year after the reply (replies promise "下一步" work, which liaison offices review the following year).
    pub const DEFAULT_STALL_DAYS: u32 = 90;
    pub const DEFAULT_DUE_YEARS: u8 = 1;

    /// The due date a promise made on `made_on` without one is followed up against (`None`: no default).
    pub fn default_due(self, made_on: NaiveDate) -> Option<NaiveDate> {
        let years = i32::from(self.default_due_years?);
        NaiveDate::from_ymd_opt(made_on.year() + years, 12, 31)
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy { stall_days: Policy::DEFAULT_STALL_DAYS, default_due_years: Some(Policy::DEFAULT_DUE_YEARS) }
    }
}

/// Where a commitment's due date comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DueSource {
    /// A date or time phrase in the reply's text (`年底前`, `2026年6月底前`), read at import.
    Text,
    /// Set by staff: `commit add --due`, `duban due`.
    Staff,
    /// None was given: the policy's default (`Policy::default_due_years`).
    Policy,
}

impl DueSource {
    pub fn code(self) -> &'static str {
        match self {
            DueSource::Text => "text",
            DueSource::Staff => "staff",
            DueSource::Policy => "policy",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DueSource::Text => "答复所定",
            DueSource::Staff => "人工设定",
            DueSource::Policy => "默认期限",
        }
    }
}

impl CommitmentState {
    /// The due date the commitment is followed up against, and where it comes from: its own (from the text or set by
    /// staff), else the policy's default, counted from the day it was made.
    pub fn due_under(&self, policy: Policy) -> Option<(NaiveDate, DueSource)> {
        if let Some(due) = self.due {
            return Some((due, self.due_source.unwrap_or(DueSource::Staff)));
        }
        policy.default_due(self.made_on?).map(|due| (due, DueSource::Policy))
    }

    /// [`CommitmentState::due_under`]'s date.
    pub fn due_on(&self, policy: Policy) -> Option<NaiveDate> {
        self.due_under(policy).map(|(due, _)| due)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    InProgress,
    /// 待审核: reported done (100 %), awaiting a liaison's closure.
    PendingReview,
    Stalled,
    Overdue,
    Fulfilled,
    PartiallyFulfilled,
    NotFulfilled,
    Dismissed,
}

impl Status {
    pub const ALL: [Status; 9] = [
        Status::Open,
        Status::InProgress,
        Status::PendingReview,
        Status::Stalled,
        Status::Overdue,
        Status::Fulfilled,
        Status::PartiallyFulfilled,
        Status::NotFulfilled,
        Status::Dismissed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::InProgress => "in_progress",
            Status::PendingReview => "pending_review",
            Status::Stalled => "stalled",
            Status::Overdue => "overdue",
            Status::Fulfilled => "fulfilled",
            Status::PartiallyFulfilled => "partially_fulfilled",
            Status::NotFulfilled => "not_fulfilled",
            Status::Dismissed => "dismissed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Open => "待推进",
            Status::InProgress => "推进中",
            Status::PendingReview => "待审核",
            Status::Stalled => "停滞",
            Status::Overdue => "逾期",
            Status::Fulfilled => "已落实",
            Status::PartiallyFulfilled => "部分落实",
            Status::NotFulfilled => "未落实",
            Status::Dismissed => "已撤销",
        }
    }

    /// Accepts the English code (`-` or `_`) or the Chinese label.
    pub fn parse(text: &str) -> Option<Status> {
        let wanted = text.trim().replace('-', "_");
        Status::ALL.into_iter().find(|status| status.code() == wanted || status.label() == wanted)
    }

    /// Whether the commitment still needs following up.
    pub fn is_active(self) -> bool {
        matches!(self, Status::Open | Status::InProgress | Status::PendingReview | Status::Stalled | Status::Overdue)
    }
}

impl From<Outcome> for Status {
    fn from(outcome: Outcome) -> Status {
        match outcome {
            Outcome::Fulfilled => Status::Fulfilled,
            Outcome::PartiallyFulfilled => Status::PartiallyFulfilled,
            Outcome::NotFulfilled => Status::NotFulfilled,
        }
    }
}

/// The status of a commitment on `on_date`, from a state folded with the facts known to have occurred by then.
pub fn status(state: &CommitmentState, on_date: NaiveDate, policy: Policy) -> Status {
    if state.is_dismissed() {
        return Status::Dismissed;
    }
    if let Some(closure) = &state.closure {
        return closure.outcome.into();
    }
    // Reported done: what is left is a liaison's check and closure, whatever the due date.
    if state.percent == Some(100) {
        return Status::PendingReview;
    }
    if state.due_on(policy).is_some_and(|due| due < on_date) {
        return Status::Overdue;
    }
    let quiet_since = state.last_progress_on.or(state.made_on);
    if quiet_since.is_some_and(|since| (on_date - since).num_days() > i64::from(policy.stall_days)) {
        return Status::Stalled;
    }
    if state.progress_reports > 0 {
        Status::InProgress
    } else {
        Status::Open
    }
}
