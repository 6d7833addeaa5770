//! Building the report model: a pure function of the log (already cut to what was known) and the parameters.
//! Every collection is ordered explicitly, so the same log and parameters always give the same report.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};
use duban_domain::{
    business_date, status, CommitmentState, DueSource, Envelope, Event, EventKind, IdMap, Policy, ProposalState,
    ReplyState, Satisfaction, Status, StreamKind,
};
use ulid::Ulid;

use crate::audit;
use crate::facts::{Chain, FactView, Shared};
use crate::model::*;

/// What a report is asked for.
#[derive(Clone, Debug)]
pub struct Params {
    pub year: i32,
    /// The date the world is seen on: only facts that occurred by then count, statuses are judged then.
    pub as_of: NaiveDate,
    pub policy: Policy,
    /// Only commitments whose owner or replying organ is this one (as typed: folded, short forms written out).
    pub organ: Option<duban_domain::OrganQuery>,
    /// Only replies to this assembly (`区政协`, `市人大` …).
    pub assembly: Option<String>,
}

/// A commitment in scope, with what the report needs to know about it (what comes from its facts is worked out in
/// one reading of them).
pub(crate) struct Item<'a> {
    pub id: Ulid,
    pub state: &'a CommitmentState,
    pub reply: &'a ReplyState,
    pub status: Status,
    /// The due date it is followed up against (its own, or the policy's default) and where that comes from.
    pub due: Option<(NaiveDate, DueSource)>,
    pub carried_over: bool,
    /// The log position of its first fact, for source order.
    pub first_seq: Option<u64>,
    /// Due date passed with nothing recorded about it since (see [`silently_deferred`]).
    pub silent: bool,
    /// What an on-time closure is judged against (see [`audit::DueHistory`]).
    pub due_for_on_time: Option<NaiveDate>,
    pub hints: Vec<AuditHint>,
}

fn rate(numerator: usize, denominator: usize) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

/// Whether a handling result says the suggestion was adopted or solved.
fn adopted(result: &str) -> bool {
    let result = result.trim();
    result.starts_with(['A', 'a'])
        || (result.contains("采纳") || result.contains("解决")) && !result.contains("部分") && !result.contains("参考")
}

fn is_due(item: &Item, as_of: NaiveDate) -> bool {
    item.status != Status::Dismissed && item.due.is_some_and(|(due, _)| due <= as_of)
}

/// Builds the report from the log (in sequence order, already cut to what was known), reading it once, or twice in
/// the rare case described at [`Builder::wanted_again`].
pub fn build(log: impl IntoIterator<Item = Envelope> + Clone, params: &Params) -> Report {
    let mut builder = Builder::new(params);
    let mut head_hash = duban_domain::GENESIS_HASH.to_string();
    for envelope in log.clone() {
        builder.feed(&envelope);
        head_hash.clone_from(&envelope.hash);
    }
    if !builder.wanted_again().is_empty() {
        for envelope in log {
            builder.feed_again(&envelope);
        }
    }
    builder.finish(head_hash)
}

/// Builds the report while the log streams past. The log is never held in memory: only folded states and, compactly,
/// the facts of commitments that may be in scope are kept — everything about a commitment in one entry, so that
/// each event costs one lookup.
pub struct Builder<'p> {
    params: &'p Params,
    year_start: NaiveDate,
    before_year: NaiveDate,
    /// Whether the log has reached what was recorded in the year or later.
    in_year: bool,
    replies: IdMap<ReplyState>,
    /// The year each reply was signed in (small enough to stay in the processor's cache).
    reply_years: IdMap<i32>,
    commitments: IdMap<Tracked>,
    /// Proposals (件), folded with the facts that occurred by the as-of date.
    proposals: IdMap<ProposalState>,
    shared: Shared,
    known_seq: u64,
}

/// Everything the report keeps about a commitment.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tracked {
    pub state: CommitmentState,
    /// Whether it was made and still open at the end of the previous year, as far as known so far.
    pub open_before_year: Option<bool>,
    /// Whether it was reopened during the year (by the as-of date): an earlier year's promise, closed before the
    /// year began, is followed up again — and reported — in the year it reopens.
    pub reopened_in_year: bool,
    /// Its facts that occurred by the as-of date.
    pub chain: Chain,
    /// Whether the second reading collects its facts.
    again: bool,
}

impl<'p> Builder<'p> {
    pub fn new(params: &'p Params) -> Self {
        let year_start = NaiveDate::from_ymd_opt(params.year, 1, 1).expect("a valid year");
        Builder {
            params,
            year_start,
            before_year: year_start.pred_opt().expect("a valid year"),
            in_year: false,
            replies: IdMap::default(),
            reply_years: IdMap::default(),
            commitments: IdMap::default(),
            proposals: IdMap::default(),
            shared: Shared::default(),
            known_seq: 0,
        }
    }

    /// Takes the next event of the log.
    pub fn feed(&mut self, envelope: &Envelope) {
        self.known_seq = envelope.seq;
        if !self.in_year && business_date(envelope.recorded_at) >= self.year_start {
            self.in_year = true;
            self.let_go_of_closed();
        }
        if envelope.event.stream_kind() == StreamKind::Account {
            return;
        }
        if envelope.event.stream_kind() == StreamKind::Proposal {
            if envelope.occurred_on <= self.params.as_of {
                self.proposals.entry(envelope.stream).or_default().apply(envelope);
            }
            return;
        }
        if envelope.event.stream_kind() == StreamKind::Reply {
            if envelope.occurred_on <= self.params.as_of {
                let reply = self.replies.entry(envelope.stream).or_default();
                reply.apply(envelope);
                if let Some(dated) = reply.dated() {
                    self.reply_years.insert(envelope.stream, dated.year());
                }
            }
            return;
        }
        let tracked = self.commitments.entry(envelope.stream).or_default();
        if envelope.occurred_on <= self.before_year {
            match &envelope.event {
                Event::CommitmentMade(_) | Event::Reopened(_) => tracked.open_before_year = Some(true),
                Event::Closed(_) | Event::Dismissed(_) => tracked.open_before_year = Some(false),
                _ => {}
            }
        }
        if envelope.occurred_on > self.params.as_of {
            return;
        }
        if matches!(envelope.event, Event::Reopened(_)) && envelope.occurred_on >= self.year_start {
            tracked.reopened_in_year = true;
        }
        tracked.state.apply(envelope);
        let reply_year = tracked.state.reply.and_then(|reply| self.reply_years.get(&reply).copied());
        match reply_year {
            // Commitments of replies signed after the year can never be in scope: keep nothing of them.
            Some(year) if year > self.params.year => {}
            Some(year) if self.in_year && closed_before_year(tracked, year, self.params.year) => {
                if !tracked.chain.dropped() {
                    tracked.chain.let_go();
                }
            }
            _ => tracked.chain.push(envelope, &mut self.shared),
        }
    }

    /// Lets go of the facts of earlier years' commitments closed before the year began: they are out of scope (most
    /// of a decade's history is). This waits until the log reaches what was recorded in the year, because a
    /// commitment is often reopened soon after being closed; should a fact recorded later still reopen one before
    /// the year began, the second reading brings its facts back.
    fn let_go_of_closed(&mut self) {
        for tracked in self.commitments.values_mut() {
            let reply_year = tracked.state.reply.and_then(|reply| self.reply_years.get(&reply).copied());
            if reply_year.is_some_and(|year| closed_before_year(tracked, year, self.params.year)) {
                tracked.chain.let_go();
            }
        }
    }

    /// The commitments in scope whose facts were let go while the log was read (closed before the year began, and
    /// reopened before then by a fact recorded in the year or later), in id order: their events must be read once
    /// more, through [`Builder::feed_again`] — the whole log, or just their streams.
    pub fn wanted_again(&mut self) -> Vec<Ulid> {
        let mut wanted: Vec<Ulid> = self
            .commitments
            .iter()
            .filter(|(_, tracked)| tracked.chain.dropped() && self.scope(tracked).is_some())
            .map(|(id, _)| *id)
            .collect();
        wanted.sort();
        for id in &wanted {
            if let Some(tracked) = self.commitments.get_mut(id) {
                tracked.chain.restore();
                tracked.again = true;
            }
        }
        wanted
    }

    /// Takes an event of the second reading (of the same log as before, or of the streams wanted again, each in
    /// order); events of other streams are ignored.
    pub fn feed_again(&mut self, envelope: &Envelope) {
        if envelope.occurred_on > self.params.as_of {
            return;
        }
        if let Some(tracked) = self.commitments.get_mut(&envelope.stream).filter(|tracked| tracked.again) {
            tracked.chain.push(envelope, &mut self.shared);
        }
    }

    /// Whether a commitment is in scope, and if so whether it was carried over from an earlier year.
    fn scope(&self, tracked: &Tracked) -> Option<bool> {
        let (params, state) = (self.params, &tracked.state);
        state.made_on?;
        let reply = state.reply.and_then(|r| self.replies.get(&r))?;
        let signed_on = reply.dated()?;
        // Carried over: an earlier year's reply whose promise was open on 1 January — or was recorded only during
        // this year (a reply registered late, its date corrected to an earlier year).
        let recorded_this_year = state.made_on.is_some_and(|made| made.year() >= params.year);
        let carried_over = signed_on.year() < params.year
            && (tracked.open_before_year.unwrap_or(false) || recorded_this_year || tracked.reopened_in_year);
        let in_filters =
            params.organ.as_ref().is_none_or(|organ| organ.matches(&state.owner) || organ.matches(reply.organ()))
                && params
                    .assembly
                    .as_deref()
                    .is_none_or(|wanted| reply.proposal().and_then(|p| p.assembly.as_deref()) == Some(wanted));
        ((signed_on.year() == params.year || carried_over) && in_filters).then_some(carried_over)
    }

    /// The sequence number of the last event taken (the report's knowledge horizon).
    pub fn known_seq(&self) -> u64 {
        self.known_seq
    }

    /// The report, its footer naming `head_hash`: the hash of the event at [`Builder::known_seq`] (the events fed
    /// to a builder are read for folding and carry no hashes, so the caller, who has the store, supplies it).
    pub fn finish(mut self, head_hash: String) -> Report {
        self.replies.retain(|_, reply| reply.registered.is_some());
        let (as_of, year) = (self.params.as_of, self.params.year);
        let mut items: Vec<Item> = Vec::new();
        // Progress reports and closures per month of the year.
        let mut activity = [[0usize; 12]; 2];
        let mut facts = Vec::new();
        for (id, tracked) in &self.commitments {
            let Some(carried_over) = self.scope(tracked) else { continue };
            let state = &tracked.state;
            let Some(reply) = state.reply.and_then(|r| self.replies.get(&r)) else { continue };
            facts.clear();
            facts.extend(tracked.chain.facts(&self.shared));
            for fact in facts.iter().filter(|fact| fact.date().year() == year) {
                match fact.kind() {
                    EventKind::ProgressReported => activity[0][fact.date().month0() as usize] += 1,
                    EventKind::Closed => activity[1][fact.date().month0() as usize] += 1,
                    _ => {}
                }
            }
            let status = status(state, as_of, self.params.policy);
            let due = state.due_under(self.params.policy);
            let made_due =
                facts.iter().find(|fact| fact.kind() == EventKind::CommitmentMade).and_then(|fact| fact.due());
            let initial = made_due.or_else(|| state.made_on.and_then(|made| self.params.policy.default_due(made)));
            let dues = audit::DueHistory::of(initial, &facts);
            items.push(Item {
                id: *id,
                state,
                reply,
                status,
                due,
                carried_over,
                first_seq: facts.first().map(|fact| fact.seq()),
                silent: silently_deferred(due.map(|(due, _)| due), status, &facts, as_of),
                hints: audit::hints(id, state, reply, &facts, &dues),
                due_for_on_time: dues.for_on_time,
            });
        }
        drop(facts);
        let activity = months(activity, year, as_of);
        // Each owner's promises due and fulfilled, for 分单位 (the one definition of 落实率).
        let mut by_owner: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for item in items.iter().filter(|item| is_due(item, as_of)) {
            let (due, fulfilled) = by_owner.entry(item.state.owner.clone()).or_default();
            *due += 1;
            *fulfilled += usize::from(item.status == Status::Fulfilled);
        }
        let (mut report, rows) = report(items, activity, &self.replies, self.params, self.known_seq, &head_hash);
        let o = &report.overview;
        let promise_figures = (o.commitments, o.due, o.fulfilled_due);
        let linked: std::collections::HashSet<Ulid> =
            self.proposals.values().flat_map(|p| p.answers.iter().map(|a| a.reply)).collect();
        let mut promises: HashMap<Ulid, Vec<&CommitmentState>> = HashMap::new();
        for tracked in self.commitments.values() {
            if let Some(reply) = tracked.state.reply.filter(|reply| linked.contains(reply)) {
                if tracked.state.made_on.is_some() {
                    promises.entry(reply).or_default().push(&tracked.state);
                }
            }
        }
        let scope = crate::metrics::Scope {
            year,
            as_of,
            policy: self.params.policy,
            organ: self.params.organ.as_ref(),
            assembly: self.params.assembly.as_deref(),
        };
        let (metrics, handling) =
            crate::metrics::handling(&scope, &self.proposals, &self.replies, &promises, promise_figures, &by_owner);
        drop(promises);
        report.metrics = metrics;
        report.handling = handling;
        // The details are built as they are read, from the states and facts themselves.
        report.details = Details::new(rows, self.commitments, self.replies, self.shared);
        report
    }
}

/// Whether a commitment of an earlier year's reply was no longer open when the year began, as far as known.
fn closed_before_year(tracked: &Tracked, reply_year: i32, year: i32) -> bool {
    reply_year < year && tracked.open_before_year != Some(true) && !tracked.reopened_in_year
}

/// The report but its details, and which commitments the details list, in order.
fn report(
    mut items: Vec<Item>,
    activity: Vec<MonthActivity>,
    replies: &IdMap<ReplyState>,
    params: &Params,
    known_seq: u64,
    head_hash: &str,
) -> (Report, Vec<Row>) {
    let as_of = params.as_of;
    // Source order: by reply, then as the commitments stand in it.
    items.sort_by(|a, b| {
        (a.reply.signed_on(), a.reply.doc_no(), a.first_seq, a.id).cmp(&(
            b.reply.signed_on(),
            b.reply.doc_no(),
            b.first_seq,
            b.id,
        ))
    });
    let replies_in_scope: std::collections::HashSet<Option<Ulid>> = items.iter().map(|item| item.reply.id).collect();

    let new_replies: Vec<&ReplyState> = replies
        .values()
        .filter(|reply| reply.dated().is_some_and(|d| d.year() == params.year))
        .filter(|reply| {
            params
                .assembly
                .as_deref()
                .is_none_or(|wanted| reply.proposal().and_then(|p| p.assembly.as_deref()) == Some(wanted))
                && params
                    .organ
                    .as_ref()
                    .is_none_or(|organ| organ.matches(reply.organ()) || replies_in_scope.contains(&reply.id))
        })
        .collect();

    let overview = overview(&items, &new_replies, as_of);
    let by_organ = group(&items, as_of, |item| Cow::Borrowed(item.state.owner.as_str()));
    // Named once per reply: its commitments share it.
    let mut sessions: HashMap<Option<Ulid>, String> = HashMap::new();
    for item in &items {
        sessions.entry(item.reply.id).or_insert_with(|| {
            let proposal = item.reply.proposal();
            let assembly = proposal.and_then(|p| p.assembly.as_deref()).unwrap_or("未注明");
            let session = proposal.and_then(|p| p.session.as_deref()).unwrap_or_default();
            format!("{assembly} {session}").trim().to_string()
        });
    }
    let by_session = group(&items, as_of, |item| Cow::Borrowed(sessions[&item.reply.id].as_str()));
    let by_kind = group(&items, as_of, |item| {
        Cow::Borrowed(item.reply.proposal().and_then(|p| p.kind).map_or("未注明", |kind| kind.label()))
    });
    let attention = attention(&items, as_of);
    let audit = items.iter_mut().flat_map(|item| std::mem::take(&mut item.hints)).collect();
    let rows = items
        .iter()
        .map(|item| Row { id: item.id, status: item.status, carried_over: item.carried_over, due: item.due })
        .collect();
    let report = Report {
        title: format!("{}年度建议提案办理和答复承诺跟踪报告", params.year),
        year: params.year,
        as_of,
        filters: Filters {
            organ: params.organ.as_ref().map(|organ| organ.typed().to_string()),
            assembly: params.assembly.clone(),
        },
        metrics: crate::metrics::Metrics::default(),
        handling: crate::metrics::Handling::default(),
        overview,
        by_organ,
        by_session,
        by_kind,
        attention,
        details: Details::default(),
        audit,
        activity,
        issuer: None,
        footer: Footer { as_of, known_seq, head_hash: head_hash.to_string(), generated_at: None },
    };
    (report, rows)
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
                && item.state.closure.as_ref().zip(item.due_for_on_time).is_some_and(|(closure, due)| closure.on <= due)
        })
        .count();
    let silent_deferrals = items.iter().filter(|item| item.silent).count();
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
        due_sources: {
            let mut sources = DueSources::default();
            for item in items {
                match item.due.map(|(_, source)| source) {
                    Some(DueSource::Text) => sources.text += 1,
                    Some(DueSource::Staff) => sources.staff += 1,
                    Some(DueSource::Policy) => sources.policy += 1,
                    None => sources.none += 1,
                }
            }
            sources
        },
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
fn silently_deferred(due: Option<NaiveDate>, status: Status, facts: &[FactView], as_of: NaiveDate) -> bool {
    let Some(due) = due else { return false };
    status == Status::Overdue
        && due < as_of
        && !facts.iter().any(|f| {
            f.date() > due
                && matches!(f.kind(), EventKind::ProgressReported | EventKind::DueDateSet | EventKind::Closed)
        })
}

fn group<'a>(items: &'a [Item], as_of: NaiveDate, key: impl Fn(&'a Item) -> Cow<'a, str>) -> Vec<GroupRow> {
    let mut groups: BTreeMap<Cow<str>, Vec<&Item>> = BTreeMap::new();
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
                group: group.into_owned(),
                made: members.len(),
                fulfilled: count(&[Status::Fulfilled]),
                partially_fulfilled: count(&[Status::PartiallyFulfilled]),
                not_fulfilled: count(&[Status::NotFulfilled]),
                open: count(&[Status::Open, Status::InProgress, Status::PendingReview]),
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
            number: item.state.number,
            owner: item.state.owner.clone(),
            doc_no: item.reply.doc_no().to_string(),
            text: item.state.text.clone(),
            status: item.status.code(),
            status_label: item.status.label(),
            due: item.due.map(|(due, _)| due),
            last_progress_on: item.state.last_progress_on,
            days_overdue: item.due.map(|(due, _)| due).filter(|due| *due < as_of).map(|due| (as_of - due).num_days()),
            days_since_progress: item.state.last_progress_on.or(item.state.made_on).map(|d| (as_of - d).num_days()),
        })
        .collect();
    rows.sort_by(|a, b| (&a.owner, a.due, &a.id).cmp(&(&b.owner, b.due, &b.id)));
    rows
}

/// The months of the year up to the as-of date, with their counts of progress reports and closures.
fn months([progress, closures]: [[usize; 12]; 2], year: i32, as_of: NaiveDate) -> Vec<MonthActivity> {
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
