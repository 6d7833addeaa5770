//! Status rules: what a commitment's folded state means on a given date.
//!
//! Precedence, first match wins (docs/events.md): 已撤销 › closed outcome › 逾期 › 停滞 › 推进中 › 待推进.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::event::Outcome;
use crate::state::CommitmentState;

/// Tunable thresholds for status rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// A commitment with no progress report for this many days (counted from its last report, or from the day it
    /// was made if it has none) is 停滞.
    pub stall_days: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { stall_days: 90 }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    InProgress,
    Stalled,
    Overdue,
    Fulfilled,
    PartiallyFulfilled,
    NotFulfilled,
    Dismissed,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Open,
        Status::InProgress,
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
        matches!(self, Status::Open | Status::InProgress | Status::Stalled | Status::Overdue)
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
    if state.due.is_some_and(|due| due < on_date) {
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
