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
    let china = chrono::FixedOffset::east_opt(8 * 3600).expect("+08:00");
    let mut closed_before = false;
    for envelope in &item.events {
        match &envelope.event {
            Event::Closed(closed) => {
                if closed.evidence.is_empty() {
                    hints.push(hint(
                        "closed_without_evidence",
                        format!("{} 办结（{}）未附佐证材料", envelope.occurred_on, closed.outcome.label()),
                    ));
                }
                closed_before = true;
            }
            Event::ProgressReported(_) => {
                let recorded = envelope.recorded_at.with_timezone(&china).date_naive();
                let lag = (recorded - envelope.occurred_on).num_days();
                if lag > LATE_RECORD_DAYS {
                    hints.push(hint(
                        "late_record",
                        format!("{} 的进展迟至 {recorded} 才记录（相隔 {lag} 天）", envelope.occurred_on),
                    ));
                }
            }
            Event::Reopened(reopened) if closed_before => {
                hints.push(hint(
                    "reopened_after_closure",
                    format!("{} 办结后重新打开：{}", envelope.occurred_on, reopened.reason),
                ));
            }
            _ => {}
        }
    }
    if item.state.due_changes >= 2 {
        hints.push(hint("due_moved_repeatedly", format!("期限已变更 {} 次", item.state.due_changes)));
    }
    let progress_actors: Vec<&str> = item
        .events
        .iter()
        .filter(|e| matches!(e.event, Event::ProgressReported(_)))
        .map(|e| e.actor.as_str())
        .collect();
    let closers = item.events.iter().filter(|e| matches!(e.event, Event::Closed(_)));
    for closer in closers {
        if !progress_actors.is_empty() && progress_actors.iter().all(|actor| *actor == closer.actor) {
            hints.push(hint("same_actor", format!("办结人 {} 也是全部进展的报告人", closer.actor)));
        }
    }
    hints
}
