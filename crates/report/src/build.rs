//! Building the report model: a pure function of the log (already cut to what was known) and the parameters.
//! Every collection is ordered explicitly, so the same log and parameters always give the same report.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

use chrono::{Datelike, NaiveDate};
use duban_domain::{
    business_date, status, CommitmentState, Envelope, Event, Folded, IdMap, Policy, ReplyState, Satisfaction, Status,
    StreamKind,
};
use ulid::Ulid;

use crate::audit;
use crate::model::*;

/// What a report is asked for.
#[derive(Clone, Debug)]
pub struct Params {
    pub year: i32,
    /// The date the world is seen on: only facts that occurred by then count, statuses are judged then.
    pub as_of: NaiveDate,
    pub policy: Policy,
    /// Only commitments whose owner or replying organ contains this text.
    pub organ: Option<String>,
    /// Only replies to this assembly (`区政协`, `市人大` …).
    pub assembly: Option<String>,
}

/// A commitment in scope, with what the report needs to know about it.
pub(crate) struct Item<'a> {
    pub id: Ulid,
    pub state: &'a CommitmentState,
    pub reply: &'a ReplyState,
    pub status: Status,
    pub carried_over: bool,
    /// Its facts that occurred by the as-of date, in stream order.
    pub facts: Vec<Fact>,
}

/// One fact about a commitment, kept while the log streams past: the event itself (moved out of its envelope,
/// not copied) and what the timeline, the due-date history and the audit hints need beyond it.
pub(crate) struct Fact {
    pub seq: u64,
    pub date: NaiveDate,
    pub recorded_on: NaiveDate,
    /// Shared among facts: a few hundred liaison staff record a million facts.
    pub actor: Rc<str>,
    pub event: Event,
}

impl Fact {
    fn new(envelope: Envelope, actors: &mut HashSet<Rc<str>>) -> Fact {
        let actor = match actors.get(envelope.actor.as_str()) {
            Some(actor) => actor.clone(),
            None => {
                let actor: Rc<str> = envelope.actor.into();
                actors.insert(actor.clone());
                actor
            }
        };
        Fact {
            seq: envelope.seq,
            date: envelope.occurred_on,
            recorded_on: business_date(envelope.recorded_at),
            actor,
            event: envelope.event,
        }
    }

    fn entry(self) -> TimelineEntry {
        TimelineEntry {
            seq: self.seq,
            date: self.date,
            event: self.event.tag(),
            label: self.event.label(),
            summary: self.event.summary(),
            evidence: self.event.evidence().to_vec(),
            actor: self.actor.to_string(),
        }
    }
}

fn rate(numerator: usize, denominator: usize) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

fn proposal_text(reply: &ReplyState) -> String {
    reply.proposal().map(|proposal| proposal.describe()).unwrap_or_default()
}

/// Whether a handling result says the suggestion was adopted or solved.
fn adopted(result: &str) -> bool {
    let result = result.trim();
    result.starts_with(['A', 'a'])
        || (result.contains("采纳") || result.contains("解决")) && !result.contains("部分") && !result.contains("参考")
}

fn is_due(item: &Item, as_of: NaiveDate) -> bool {
    item.status != Status::Dismissed && item.state.due.is_some_and(|due| due <= as_of)
}

/// Builds the report in one pass over the log (in sequence order, already cut to what was known). The log is
/// never held in memory: only folded states and the timelines of commitments are kept.
pub fn build(log: impl IntoIterator<Item = Envelope>, params: &Params) -> Report {
    let as_of = params.as_of;
    let year_start = NaiveDate::from_ymd_opt(params.year, 1, 1).expect("a valid year");
    let before_year = year_start.pred_opt().expect("a valid year");
    let mut now = Folded::default();
    // Whether each commitment was made and still open at the end of the previous year.
    let mut open_before_year: IdMap<bool> = IdMap::default();
    let mut facts: IdMap<Vec<Fact>> = IdMap::default();
    let mut actors: HashSet<Rc<str>> = HashSet::new();
    let (mut known_seq, mut head_hash) = (0, "0".repeat(64));
    for mut envelope in log {
        known_seq = envelope.seq;
        if envelope.occurred_on <= before_year {
            let open = match &envelope.event {
                Event::CommitmentMade(_) | Event::Reopened(_) => Some(true),
                Event::Closed(_) | Event::Dismissed(_) => Some(false),
                _ => None,
            };
            if let Some(open) = open {
                open_before_year.insert(envelope.stream, open);
            }
        }
        if envelope.occurred_on > as_of {
            head_hash = envelope.hash;
            continue;
        }
        now.apply(&envelope);
        head_hash = std::mem::take(&mut envelope.hash);
        if envelope.event.stream_kind() == StreamKind::Commitment {
            // Commitments of replies signed after the year can never be in scope: keep nothing of them.
            let reply_year = now
                .commitments
                .get(&envelope.stream)
                .and_then(|c| c.reply)
                .and_then(|reply| now.replies.get(&reply))
                .and_then(|reply| reply.signed_on())
                .map(|signed| signed.year());
            if reply_year.is_none_or(|year| year <= params.year) {
                facts.entry(envelope.stream).or_default().push(Fact::new(envelope, &mut actors));
            }
        }
    }
    now.finish();
    let empty = ReplyState::default();
    let in_filters = |state: &CommitmentState, reply: &ReplyState| {
        params.organ.as_deref().is_none_or(|organ| state.owner.contains(organ) || reply.organ().contains(organ))
            && params
                .assembly
                .as_deref()
                .is_none_or(|wanted| reply.proposal().and_then(|p| p.assembly.as_deref()) == Some(wanted))
    };

    let mut items: Vec<Item> = Vec::new();
    for (id, state) in &now.commitments {
        let reply = state.reply.and_then(|r| now.replies.get(&r)).unwrap_or(&empty);
        let Some(signed_on) = reply.signed_on() else { continue };
        let carried_over = signed_on.year() < params.year && open_before_year.get(id).copied().unwrap_or(false);
        if !(signed_on.year() == params.year || carried_over) || !in_filters(state, reply) {
            continue;
        }
        let facts = facts.remove(id).unwrap_or_default();
        items.push(Item { id: *id, state, reply, status: status(state, as_of, params.policy), carried_over, facts });
    }
    drop(facts);
    // Source order: by reply, then as the commitments stand in it.
    items.sort_by_key(|item| {
        (item.reply.signed_on(), item.reply.doc_no().to_string(), item.facts.first().map(|f| f.seq), item.id)
    });

    let new_replies: Vec<&ReplyState> = now
        .replies
        .values()
        .filter(|reply| reply.signed_on().is_some_and(|d| d.year() == params.year))
        .filter(|reply| {
            params
                .assembly
                .as_deref()
                .is_none_or(|wanted| reply.proposal().and_then(|p| p.assembly.as_deref()) == Some(wanted))
                && params.organ.as_deref().is_none_or(|organ| {
                    reply.organ().contains(organ) || items.iter().any(|item| item.reply.id == reply.id)
                })
        })
        .collect();

    let overview = overview(&items, &new_replies, as_of);
    let by_organ = group(&items, as_of, |item| item.state.owner.clone());
    let by_session = group(&items, as_of, |item| {
        let proposal = item.reply.proposal();
        let assembly = proposal.and_then(|p| p.assembly.clone()).unwrap_or_else(|| "未注明".into());
        let session = proposal.and_then(|p| p.session.clone()).unwrap_or_default();
        format!("{assembly} {session}").trim().to_string()
    });
    let by_kind = group(&items, as_of, |item| {
        item.reply.proposal().and_then(|p| p.kind).map_or("未注明".to_string(), |kind| kind.label().to_string())
    });
    let attention = attention(&items, as_of);
    let audit = items.iter().flat_map(audit::hints).collect();
    let activity = activity(&items, params.year, as_of);
    let details = items.into_iter().map(detail).collect();
    Report {
        title: format!("{}年度建议提案答复承诺跟踪报告", params.year),
        year: params.year,
        as_of,
        filters: Filters { organ: params.organ.clone(), assembly: params.assembly.clone() },
        overview,
        by_organ,
        by_session,
        by_kind,
        attention,
        details,
        audit,
        activity,
        footer: Footer { as_of, known_seq, head_hash, generated_at: None },
    }
}

fn overview(items: &[Item], new_replies: &[&ReplyState], as_of: NaiveDate) -> Overview {
    let total = items.len();
    let by_status = Status::ALL
        .iter()
        .map(|status| {
            let count = items.iter().filter(|item| item.status == *status).count();
            StatusCount { status: status.code(), label: status.label(), count, share: rate(count, total) }
        })
        .collect();
    let due: Vec<&Item> = items.iter().filter(|item| is_due(item, as_of)).collect();
    let fulfilled_due = due.iter().filter(|item| item.status == Status::Fulfilled).count();
    let on_time = due
        .iter()
        .filter(|item| {
            item.status == Status::Fulfilled
                && item.state.closure.as_ref().zip(item.state.due).is_some_and(|(closure, due)| closure.on <= due)
        })
        .count();
    let silent_deferrals = items.iter().filter(|item| silently_deferred(item, as_of)).count();
    let fulfilment_rate = rate(fulfilled_due, due.len());

    let mut results: BTreeMap<String, Vec<&ReplyState>> = BTreeMap::new();
    for reply in new_replies {
        let result = reply.registered.as_ref().and_then(|r| r.result.clone()).unwrap_or_else(|| "未注明".into());
        results.entry(result).or_default().push(reply);
    }
    // Each new commitment under its reply's handling result (one lookup per item, not a scan of the replies).
    let mut result_of: HashMap<Option<Ulid>, &str> = HashMap::new();
    for (result, replies) in &results {
        for reply in replies {
            result_of.insert(reply.id, result.as_str());
        }
    }
    let mut items_by_result: HashMap<&str, Vec<&Item>> = HashMap::new();
    for item in items.iter().filter(|item| !item.carried_over) {
        if let Some(result) = result_of.get(&item.reply.id) {
            items_by_result.entry(result).or_default().push(item);
        }
    }
    let by_result = results
        .iter()
        .map(|(result, replies)| {
            let mine: Vec<&Item> = items_by_result.remove(result.as_str()).unwrap_or_default();
            let due: Vec<&&Item> = mine.iter().filter(|item| is_due(item, as_of)).collect();
            let fulfilled_due = due.iter().filter(|item| item.status == Status::Fulfilled).count();
            ResultRow {
                adopted_but_unfulfilled: adopted(result) && fulfilled_due < due.len(),
                result: result.clone(),
                replies: replies.len(),
                commitments: mine.len(),
                due: due.len(),
                fulfilled_due,
                fulfilment_rate: rate(fulfilled_due, due.len()),
            }
        })
        .collect();

    let count =
        |level: Satisfaction| new_replies.iter().filter(|r| r.evaluation.is_some_and(|(_, s)| s == level)).count();
    let (satisfied, basically_satisfied, dissatisfied) =
        (count(Satisfaction::Satisfied), count(Satisfaction::BasicallySatisfied), count(Satisfaction::Dissatisfied));
    let evaluated = satisfied + basically_satisfied + dissatisfied;
    let carried_replies: std::collections::BTreeSet<Option<Ulid>> =
        items.iter().filter(|item| item.carried_over).map(|item| item.reply.id).collect();
    Overview {
        replies: new_replies.len(),
        replies_carried_over: carried_replies.len(),
        commitments: total,
        new_commitments: items.iter().filter(|item| !item.carried_over).count(),
        carried_over: items.iter().filter(|item| item.carried_over).count(),
        by_status,
        due: due.len(),
        fulfilled_due,
        fulfilment_rate,
        on_time,
        on_time_rate: rate(on_time, due.len()),
        silent_deferrals,
        by_result,
        satisfaction: SatisfactionSummary {
            replies: new_replies.len(),
            evaluated,
            satisfied,
            basically_satisfied,
            dissatisfied,
            not_evaluated: new_replies.len() - evaluated,
            satisfaction_rate: rate(satisfied + basically_satisfied, evaluated),
            fulfilment_rate,
        },
    }
}

/// Due date passed, not closed, and nothing recorded about it since: no progress, no new due date.
fn silently_deferred(item: &Item, as_of: NaiveDate) -> bool {
    let Some(due) = item.state.due else { return false };
    item.status == Status::Overdue
        && due < as_of
        && !item.facts.iter().any(|f| {
            f.date > due && matches!(f.event, Event::ProgressReported(_) | Event::DueDateSet(_) | Event::Closed(_))
        })
}

fn group(items: &[Item], as_of: NaiveDate, key: impl Fn(&Item) -> String) -> Vec<GroupRow> {
    let mut groups: BTreeMap<String, Vec<&Item>> = BTreeMap::new();
    for item in items {
        groups.entry(key(item)).or_default().push(item);
    }
    groups
        .into_iter()
        .map(|(group, members)| {
            let count = |wanted: &[Status]| members.iter().filter(|item| wanted.contains(&item.status)).count();
            let due = members.iter().filter(|item| is_due(item, as_of)).count();
            let fulfilled_due =
                members.iter().filter(|item| is_due(item, as_of) && item.status == Status::Fulfilled).count();
            GroupRow {
                group,
                made: members.len(),
                fulfilled: count(&[Status::Fulfilled]),
                partially_fulfilled: count(&[Status::PartiallyFulfilled]),
                not_fulfilled: count(&[Status::NotFulfilled]),
                open: count(&[Status::Open, Status::InProgress]),
                overdue: count(&[Status::Overdue]),
                stalled: count(&[Status::Stalled]),
                dismissed: count(&[Status::Dismissed]),
                due,
                fulfilment_rate: rate(fulfilled_due, due),
            }
        })
        .collect()
}

fn attention(items: &[Item], as_of: NaiveDate) -> Vec<AttentionRow> {
    let mut rows: Vec<AttentionRow> = items
        .iter()
        .filter(|item| matches!(item.status, Status::Overdue | Status::Stalled))
        .map(|item| AttentionRow {
            id: item.id.to_string(),
            owner: item.state.owner.clone(),
            doc_no: item.reply.doc_no().to_string(),
            text: item.state.text.clone(),
            status: item.status.code(),
            status_label: item.status.label(),
            due: item.state.due,
            last_progress_on: item.state.last_progress_on,
            days_overdue: item.state.due.filter(|due| *due < as_of).map(|due| (as_of - due).num_days()),
            days_since_progress: item.state.last_progress_on.or(item.state.made_on).map(|d| (as_of - d).num_days()),
        })
        .collect();
    rows.sort_by(|a, b| (&a.owner, a.due, &a.id).cmp(&(&b.owner, b.due, &b.id)));
    rows
}

fn detail(item: Item) -> Detail {
    let mut due_changes = Vec::new();
    let mut current_due = None;
    for fact in &item.facts {
        match &fact.event {
            Event::CommitmentMade(made) => current_due = made.due,
            Event::DueDateSet(set) => {
                due_changes.push(DueChange {
                    on: fact.date,
                    from: current_due,
                    to: set.due,
                    reason: set.reason.clone(),
                });
                current_due = Some(set.due);
            }
            _ => {}
        }
    }
    Detail {
        id: item.id.to_string(),
        doc_no: item.reply.doc_no().to_string(),
        organ: item.reply.organ().to_string(),
        proposal: proposal_text(item.reply),
        text: item.state.text.clone(),
        section: item.state.section.map_or("", |section| section.code()),
        owner: item.state.owner.clone(),
        status: item.status.code(),
        status_label: item.status.label(),
        carried_over: item.carried_over,
        made_on: item.state.made_on,
        due: item.state.due,
        last_progress_on: item.state.last_progress_on,
        closed_on: item.state.closure.as_ref().map(|closure| closure.on),
        timeline: item.facts.into_iter().map(Fact::entry).collect(),
        due_changes,
    }
}

fn activity(items: &[Item], year: i32, as_of: NaiveDate) -> Vec<MonthActivity> {
    // One pass over the facts, counted by month.
    let (mut progress, mut closures) = ([0usize; 12], [0usize; 12]);
    for fact in items.iter().flat_map(|item| item.facts.iter()).filter(|fact| fact.date.year() == year) {
        let month = fact.date.month0() as usize;
        match fact.event {
            Event::ProgressReported(_) => progress[month] += 1,
            Event::Closed(_) => closures[month] += 1,
            _ => {}
        }
    }
    (1..=12)
        .filter_map(|month| NaiveDate::from_ymd_opt(year, month, 1))
        .filter(|first| *first <= as_of)
        .map(|first| {
            let month = first.month0() as usize;
            MonthActivity {
                month: first.format("%Y-%m").to_string(),
                progress: progress[month],
                closures: closures[month],
            }
        })
        .collect()
}
