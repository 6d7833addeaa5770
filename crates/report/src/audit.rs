//! 审计提示: sequences in a commitment's history that an auditor should look at. They are hints, not verdicts.

use chrono::NaiveDate;
use duban_domain::{CommitmentState, EventKind, ReplyState};
use ulid::Ulid;

use crate::facts::FactView;
use crate::model::AuditHint;

/// Progress recorded more than this many days after it happened is worth a look.
pub const LATE_RECORD_DAYS: i64 = 30;

/// A promise's due dates in the order they happened, from `initial` (its own at making, or the policy's default).
pub(crate) struct DueHistory {
    /// The due date an on-time closure is judged against: the one in force when the promise first fell overdue
    /// (a date moved after it had passed does not make a late closure timely), else the last one.
    pub for_on_time: Option<NaiveDate>,
    /// Changes made after the date in force had passed: `(on, from, to)`.
    pub moved_after_passing: Vec<(NaiveDate, NaiveDate, NaiveDate)>,
}

impl DueHistory {
    pub(crate) fn of(initial: Option<NaiveDate>, facts: &[FactView]) -> DueHistory {
        let mut changes: Vec<(NaiveDate, NaiveDate)> = facts
            .iter()
            .filter(|fact| fact.kind() == EventKind::DueDateSet)
            .filter_map(|fact| Some((fact.date(), fact.due()?)))
            .collect();
        changes.sort_by_key(|(on, _)| *on);
        let (mut current, mut for_on_time, mut moved_after_passing) = (initial, None, Vec::new());
        for (on, to) in changes {
            if let Some(from) = current.filter(|due| on > *due) {
                for_on_time.get_or_insert(from);
                moved_after_passing.push((on, from, to));
            }
            current = Some(to);
        }
        DueHistory { for_on_time: for_on_time.or(current), moved_after_passing }
    }
}

pub(crate) fn hints(
    id: &Ulid,
    state: &CommitmentState,
    reply: &ReplyState,
    facts: &[FactView],
    dues: &DueHistory,
) -> Vec<AuditHint> {
    let mut hints = Vec::new();
    let number = state.number;
    let mut hint = |kind, message: String| hints.push(AuditHint { id: id.to_string(), number, kind, message });
    for (on, from, to) in &dues.moved_after_passing {
        hint("due_moved_after_passing", format!("{on} 期限已过（{from}）后才改为 {to}"));
    }
    let missing = reply.missing();
    if !missing.is_empty() {
        hint("reply_incomplete", format!("所属答复待补全：缺{}", missing.join("、")));
    }
    let mut closed_before = false;
    for fact in facts {
        let on = fact.date();
        match fact.kind() {
            EventKind::Closed => {
                if !fact.has_evidence() {
                    let outcome = fact.outcome().map_or("", |outcome| outcome.label());
                    hint("closed_without_evidence", format!("{on} 办结（{outcome}）未附佐证材料"));
                }
                closed_before = true;
            }
            EventKind::ProgressReported => {
                let lag = (fact.recorded_on() - on).num_days();
                if lag > LATE_RECORD_DAYS {
                    hint("late_record", format!("{on} 的进展迟至 {} 才记录（相隔 {lag} 天）", fact.recorded_on()));
                }
            }
            // A reopening's summary is its reason.
            EventKind::Reopened if closed_before => {
                hint("reopened_after_closure", format!("{on} 办结后重新打开：{}", fact.summary()));
            }
            _ => {}
        }
    }
    if state.due_changes >= 2 {
        hint("due_moved_repeatedly", format!("期限已变更 {} 次", state.due_changes));
    }
    let mut progress_actors = facts.iter().filter(|f| f.kind() == EventKind::ProgressReported).map(|f| f.actor());
    if let Some(first) = progress_actors.next() {
        if progress_actors.all(|actor| actor == first) {
            for closer in facts.iter().filter(|f| f.kind() == EventKind::Closed && f.actor() == first) {
                hint("same_actor", format!("办结人 {} 也是全部进展的报告人", closer.actor()));
            }
        }
    }
    hints
}
