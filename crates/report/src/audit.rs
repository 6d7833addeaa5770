//! 审计提示: sequences in a commitment's history that an auditor should look at. They are hints, not verdicts.

use duban_domain::Event;

use crate::build::Item;
use crate::model::AuditHint;

/// Progress recorded more than this many days after it happened is worth a look.
pub const LATE_RECORD_DAYS: i64 = 30;

pub(crate) fn hints(item: &Item) -> Vec<AuditHint> {
    let id = item.id.to_string();
    let hint = |kind, message: String| AuditHint { id: id.clone(), kind, message };
    let mut hints = Vec::new();
    let mut closed_before = false;
    for fact in &item.facts {
        let on = fact.date;
        match &fact.event {
            Event::Closed(closed) => {
                if closed.evidence.is_empty() {
                    let message = format!("{on} 办结（{}）未附佐证材料", closed.outcome.label());
                    hints.push(hint("closed_without_evidence", message));
                }
                closed_before = true;
            }
            Event::ProgressReported(_) => {
                let lag = (fact.recorded_on - on).num_days();
                if lag > LATE_RECORD_DAYS {
                    let message = format!("{on} 的进展迟至 {} 才记录（相隔 {lag} 天）", fact.recorded_on);
                    hints.push(hint("late_record", message));
                }
            }
            Event::Reopened(reopened) if closed_before => {
                hints.push(hint("reopened_after_closure", format!("{on} 办结后重新打开：{}", reopened.reason)));
            }
            _ => {}
        }
    }
    if item.state.due_changes >= 2 {
        hints.push(hint("due_moved_repeatedly", format!("期限已变更 {} 次", item.state.due_changes)));
    }
    let progress_actors: Vec<&str> =
        item.facts.iter().filter(|f| matches!(f.event, Event::ProgressReported(_))).map(|f| &*f.actor).collect();
    for closer in item.facts.iter().filter(|f| matches!(f.event, Event::Closed(_))) {
        if !progress_actors.is_empty() && progress_actors.iter().all(|actor| *actor == &*closer.actor) {
            hints.push(hint("same_actor", format!("办结人 {} 也是全部进展的报告人", closer.actor)));
        }
    }
    hints
}
