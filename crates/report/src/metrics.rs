//! The handling figures (件) offices publish, each defined once — docs/metrics.md states every numerator,
//! denominator and date rule, and the tests hold one case per definition. The report, `duban stats` and the server
//! all take their figures from [`handling`].
//!
//! In scope: proposals assigned (交办) in the year, by the as-of date, within the report's filters. Everything is
//! judged on the as-of date from the facts that had occurred by then.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};
use duban_domain::{
    status, CommitmentState, ContactMethod, Disclosure, IdMap, OrganQuery, Outcome, Policy, ProposalKind,
    ProposalState, ReplyClass, ReplyState, Satisfaction, Status,
};
use serde::Serialize;
use ulid::Ulid;

/// What the figures are asked for.
#[derive(Clone, Debug)]
pub struct Scope<'a> {
    pub year: i32,
    pub as_of: NaiveDate,
    pub policy: Policy,
    /// A unit: its 主办 and 会办 proposals (lead or co-handler matches).
    pub organ: Option<&'a OrganQuery>,
    pub assembly: Option<&'a str>,
}

/// The handling figures of a year (`report --format json`'s `metrics`, `duban stats --json`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Metrics {
    /// 承办件数: proposals in scope.
    pub proposals: usize,
    /// Of them, NPC deputies' suggestions (建议) and CPPCC members' proposals (提案).
    pub suggestions: usize,
    pub cppcc_proposals: usize,
    /// 主办件: whose lead is the unit asked for (all, without a unit).
    pub lead: usize,
    /// 会办件: where the unit asked for is a co-handler (without a unit: those with any co-handler).
    pub co: usize,
    /// By assembly (区政协, 市人大 …: the level and the body), in name order.
    pub by_assembly: BTreeMap<String, usize>,
    /// 闭会期间提出.
    pub between_sessions: usize,
    /// 重点督办件, 领导领办件.
    pub key: usize,
    pub led: usize,
    /// 退办 (returned by their lead at least once).
    pub returned: usize,
    /// Replied, or with the reply-by date passed: what the on-time rate is judged over.
    pub due_for_reply: usize,
    /// 已办复: with a 答复 from the lead by the as-of date.
    pub replied: usize,
    /// 办复率: `replied ÷ proposals`.
    pub reply_rate: Option<f64>,
    /// First 答复 dated on or before the reply-by date.
    pub replied_on_time: usize,
    /// 按时办复率: `replied_on_time ÷ due_for_reply`.
    pub on_time_reply_rate: Option<f64>,
    /// 沟通联系: contacted before the first 答复 (or by the as-of date, unanswered).
    pub contacted: usize,
    /// 面商率 / 沟通率: `contacted ÷ proposals`.
    pub contact_rate: Option<f64>,
    /// Of the contacted, by meeting (面商 / 见面).
    pub met: usize,
    /// 见面率: `met ÷ proposals`.
    pub meeting_rate: Option<f64>,
    /// Whose latest 答复 was evaluated by the proposer.
    pub evaluated: usize,
    pub satisfied: usize,
    pub basically_satisfied: usize,
    pub dissatisfied: usize,
    /// 满意率: `satisfied ÷ evaluated`.
    pub satisfaction_rate: Option<f64>,
    /// 满意和基本满意率: `(satisfied + basically_satisfied) ÷ evaluated`.
    pub basic_satisfaction_rate: Option<f64>,
    /// 重新办理: answered by the lead more than once, or awaiting the re-handling's reply.
    pub rehandled: usize,
    /// Replied proposals by class.
    pub class_counts: ClassCounts,
    /// 上网公开: disclosed actively (主动公开).
    pub disclosed: usize,
    pub disclosure_counts: DisclosureCounts,
    /// Why replies were withheld (不予公开), as recorded, each once.
    pub withheld_reasons: Vec<String>,
    /// 回头看: earlier years' B-class proposals (assigned before the year).
    pub b_class_earlier: usize,
    /// Of them, reviewed during the year (by the as-of date).
    pub b_class_reviewed: usize,
    /// Of those, whose latest review in the year found them 已落实.
    pub b_class_fulfilled: usize,
    /// B类落实率: `b_class_fulfilled ÷ b_class_reviewed`.
    pub b_class_fulfilment_rate: Option<f64>,
    /// Promises (项), as the promise sections count them: in scope, due by the as-of date, fulfilled.
    pub commitments: usize,
    pub commitments_due: usize,
    pub commitments_fulfilled: usize,
    /// 落实率: `commitments_fulfilled ÷ commitments_due`.
    pub fulfilment_rate: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ClassCounts {
    #[serde(rename = "A")]
    pub a: usize,
    #[serde(rename = "B")]
    pub b: usize,
    #[serde(rename = "C")]
    pub c: usize,
    /// Replied, with no class recorded.
    pub unclassified: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DisclosureCounts {
    pub active: usize,
    pub on_request: usize,
    pub withheld: usize,
}

/// 分单位: one organ's 件 (and its promises' fulfilment, from the promise sections).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UnitRow {
    pub organ: String,
    pub lead: usize,
    pub co: usize,
    /// Of its 主办件.
    pub replied: usize,
    pub reply_rate: Option<f64>,
    pub replied_on_time: usize,
    pub on_time_reply_rate: Option<f64>,
    pub evaluated: usize,
    pub basic_satisfaction_rate: Option<f64>,
    /// Its promises (as owner): due and fulfilled.
    pub commitments_due: usize,
    pub commitments_fulfilled: usize,
    pub fulfilment_rate: Option<f64>,
}

/// 分类: one class's 件 and their promises.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassRow {
    pub class: &'static str,
    pub label: &'static str,
    pub proposals: usize,
    pub share: Option<f64>,
    pub commitments: usize,
    pub commitments_fulfilled: usize,
}

/// One proposal in the register's official form (also the rows of 回头看 and 重点督办).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RegisterRow {
    pub id: String,
    /// 编号 (`#5`).
    pub number: u64,
    /// 案号: `市政协 十四届三次会议 第0873号提案`.
    pub case: String,
    /// 案由.
    pub title: String,
    pub proposers: Vec<String>,
    pub lead: String,
    pub co_handlers: Vec<String>,
    pub assigned_on: Option<NaiveDate>,
    pub reply_by: Option<NaiveDate>,
    pub replied_on: Option<NaiveDate>,
    pub class: Option<&'static str>,
    pub satisfaction: Option<&'static str>,
    /// 落实情况: promises of its 答复s, fulfilled of all.
    pub commitments: usize,
    pub commitments_fulfilled: usize,
    /// The latest 回头看 (date and outcome), if any.
    pub reviewed_on: Option<NaiveDate>,
    pub review: Option<&'static str>,
    pub key: bool,
    pub led_by: Option<String>,
}

impl RegisterRow {
    /// 落实情况 as the register prints it.
    pub fn fulfilment(&self) -> String {
        if self.commitments == 0 {
            "无承诺事项".to_string()
        } else {
            format!("已落实 {}/{} 项", self.commitments_fulfilled, self.commitments)
        }
    }
}

/// Everything the report's 件 sections hold.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Handling {
    pub units: Vec<UnitRow>,
    pub classes: Vec<ClassRow>,
    pub lookback: Vec<RegisterRow>,
    pub key_proposals: Vec<RegisterRow>,
    pub register: Vec<RegisterRow>,
}

fn rate(numerator: usize, denominator: usize) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

/// What a proposal's figures need to know about it on the as-of date.
struct Judged<'a> {
    state: &'a ProposalState,
    replied_on: Option<NaiveDate>,
    on_time: bool,
    due_for_reply: bool,
    contact: Option<ContactMethod>,
    evaluation: Option<Satisfaction>,
    commitments: usize,
    commitments_fulfilled: usize,
}

/// The figures and sections of `scope`'s year from the proposals, replies and promises folded by the as-of date.
/// `promises` holds each reply's promises; `promise_figures` the promise totals the report's promise sections count
/// (in scope, due, fulfilled), and `by_owner` the same per owner — the one definition of 落实率, not a second one.
pub fn handling(
    scope: &Scope,
    proposals: &IdMap<ProposalState>,
    replies: &IdMap<ReplyState>,
    promises: &HashMap<Ulid, Vec<&CommitmentState>>,
    promise_figures: (usize, usize, usize),
    by_owner: &BTreeMap<String, (usize, usize)>,
) -> (Metrics, Handling) {
    let as_of = scope.as_of;
    let in_filters = |state: &ProposalState| {
        scope.assembly.is_none_or(|wanted| state.assigned.as_ref().is_some_and(|a| a.assembly == wanted))
            && scope
                .organ
                .is_none_or(|organ| organ.matches(&state.lead) || state.co_handlers.iter().any(|co| organ.matches(co)))
    };
    let mut sorted: Vec<&ProposalState> = proposals.values().filter(|s| s.assigned.is_some()).collect();
    sorted.sort_by_key(|state| (state.number, state.id));
    let in_scope: Vec<Judged> = sorted
        .iter()
        .filter(|state| state.assigned_on.is_some_and(|on| on.year() == scope.year && on <= as_of))
        .filter(|state| in_filters(state))
        .map(|state| judged(state, replies, promises, scope))
        .collect();

    let mut m = Metrics { proposals: in_scope.len(), ..Metrics::default() };
    let mut reasons: Vec<String> = Vec::new();
    for j in &in_scope {
        let state = j.state;
        let assigned = state.assigned.as_ref().expect("in scope: assigned");
        match assigned.kind {
            ProposalKind::Suggestion => m.suggestions += 1,
            ProposalKind::Proposal => m.cppcc_proposals += 1,
        }
        match scope.organ {
            Some(organ) => {
                m.lead += usize::from(organ.matches(&state.lead));
                m.co += usize::from(state.co_handlers.iter().any(|co| organ.matches(co)));
            }
            None => {
                m.lead += 1;
                m.co += usize::from(!state.co_handlers.is_empty());
            }
        }
        *m.by_assembly.entry(assigned.assembly.clone()).or_default() += 1;
        m.between_sessions += usize::from(assigned.between_sessions);
        m.key += usize::from(assigned.key);
        m.led += usize::from(assigned.led_by.is_some());
        m.returned += usize::from(state.returns > 0);
        m.due_for_reply += usize::from(j.due_for_reply);
        m.replied += usize::from(j.replied_on.is_some());
        m.replied_on_time += usize::from(j.on_time);
        m.contacted += usize::from(j.contact.is_some());
        m.met += usize::from(j.contact == Some(ContactMethod::Meeting));
        match j.evaluation {
            Some(Satisfaction::Satisfied) => m.satisfied += 1,
            Some(Satisfaction::BasicallySatisfied) => m.basically_satisfied += 1,
            Some(Satisfaction::Dissatisfied) => m.dissatisfied += 1,
            None => {}
        }
        let lead_answers = state.lead_answers().count();
        m.rehandled +=
            usize::from(lead_answers > 1 || (lead_answers == 1 && j.evaluation == Some(Satisfaction::Dissatisfied)));
        if j.replied_on.is_some() {
            match state.class {
                Some(ReplyClass::A) => m.class_counts.a += 1,
                Some(ReplyClass::B) => m.class_counts.b += 1,
                Some(ReplyClass::C) => m.class_counts.c += 1,
                None => m.class_counts.unclassified += 1,
            }
        }
        match &state.disclosure {
            Some((Disclosure::Active, _)) => m.disclosure_counts.active += 1,
            Some((Disclosure::OnRequest, _)) => m.disclosure_counts.on_request += 1,
            Some((Disclosure::Withheld, reason)) => {
                m.disclosure_counts.withheld += 1;
                if let Some(reason) = reason.as_ref().filter(|reason| !reasons.contains(reason)) {
                    reasons.push(reason.clone());
                }
            }
            None => {}
        }
    }
    m.disclosed = m.disclosure_counts.active;
    m.withheld_reasons = reasons;
    m.evaluated = m.satisfied + m.basically_satisfied + m.dissatisfied;
    m.reply_rate = rate(m.replied, m.proposals);
    m.on_time_reply_rate = rate(m.replied_on_time, m.due_for_reply);
    m.contact_rate = rate(m.contacted, m.proposals);
    m.meeting_rate = rate(m.met, m.proposals);
    m.satisfaction_rate = rate(m.satisfied, m.evaluated);
    m.basic_satisfaction_rate = rate(m.satisfied + m.basically_satisfied, m.evaluated);

    // 回头看: earlier years' B-class proposals, and their reviews during the year.
    let year_start = NaiveDate::from_ymd_opt(scope.year, 1, 1).expect("a valid year");
    let mut lookback = Vec::new();
    for state in sorted.iter().filter(|state| {
        state.assigned_on.is_some_and(|on| on.year() < scope.year)
            && state.class == Some(ReplyClass::B)
            && in_filters(state)
    }) {
        m.b_class_earlier += 1;
        let review = state.reviews.iter().filter(|(on, _)| *on >= year_start && *on <= as_of).max_by_key(|(on, _)| *on);
        if let Some((_, outcome)) = review.copied() {
            m.b_class_reviewed += 1;
            m.b_class_fulfilled += usize::from(outcome == Outcome::Fulfilled);
            lookback.push(register_row(&judged(state, replies, promises, scope), review.copied()));
        }
    }
    m.b_class_fulfilment_rate = rate(m.b_class_fulfilled, m.b_class_reviewed);
    (m.commitments, m.commitments_due, m.commitments_fulfilled) = promise_figures;
    m.fulfilment_rate = rate(m.commitments_fulfilled, m.commitments_due);

    let classes = ReplyClass::ALL
        .into_iter()
        .map(|class| {
            let of_class: Vec<&Judged> =
                in_scope.iter().filter(|j| j.replied_on.is_some() && j.state.class == Some(class)).collect();
            ClassRow {
                class: class.code(),
                label: class.label(),
                proposals: of_class.len(),
                share: rate(of_class.len(), m.replied),
                commitments: of_class.iter().map(|j| j.commitments).sum(),
                commitments_fulfilled: of_class.iter().map(|j| j.commitments_fulfilled).sum(),
            }
        })
        .collect();

    let units = units(&in_scope, scope, by_owner);
    let register: Vec<RegisterRow> =
        in_scope.iter().map(|j| register_row(j, j.state.latest_review().filter(|(on, _)| *on <= as_of))).collect();
    let key_proposals = register.iter().filter(|row| row.key || row.led_by.is_some()).cloned().collect();
    (m, Handling { units, classes, lookback, key_proposals, register })
}

fn judged<'a>(
    state: &'a ProposalState,
    replies: &IdMap<ReplyState>,
    promises: &HashMap<Ulid, Vec<&CommitmentState>>,
    scope: &Scope,
) -> Judged<'a> {
    let as_of = scope.as_of;
    // A 答复's date is the reply's signing date (the day it was linked, while that is missing).
    let dated =
        |answer: &duban_domain::Answer| replies.get(&answer.reply).and_then(ReplyState::signed_on).unwrap_or(answer.on);
    let answers: Vec<(&duban_domain::Answer, NaiveDate)> =
        state.lead_answers().map(|answer| (answer, dated(answer))).filter(|(_, on)| *on <= as_of).collect();
    let replied_on = answers.iter().map(|(_, on)| *on).min();
    let reply_by = state.reply_by();
    let on_time = replied_on.zip(reply_by).is_some_and(|(replied, by)| replied <= by);
    let due_for_reply = replied_on.is_some() || reply_by.is_some_and(|by| by <= as_of);
    let contact = state.contacted_by(replied_on.unwrap_or(as_of)).map(|(_, method)| method);
    // Any contact by meeting counts as one: the first contact may have been a call.
    let contact = contact.map(|first| {
        let by = replied_on.unwrap_or(as_of);
        if state.contacts.iter().any(|(on, method)| *on <= by && *method == ContactMethod::Meeting) {
            ContactMethod::Meeting
        } else {
            first
        }
    });
    let latest = answers.iter().max_by_key(|(answer, on)| (*on, answer.on)).map(|(answer, _)| answer.reply);
    let evaluation = latest.and_then(|reply| replies.get(&reply)).and_then(|reply| reply.evaluation.map(|(_, s)| s));
    let mut commitments = 0;
    let mut commitments_fulfilled = 0;
    for (answer, _) in &answers {
        for promise in promises.get(&answer.reply).into_iter().flatten() {
            let status = status(promise, as_of, scope.policy);
            if status == Status::Dismissed {
                continue;
            }
            commitments += 1;
            commitments_fulfilled += usize::from(status == Status::Fulfilled);
        }
    }
    Judged { state, replied_on, on_time, due_for_reply, contact, evaluation, commitments, commitments_fulfilled }
}

fn register_row(j: &Judged, review: Option<(NaiveDate, Outcome)>) -> RegisterRow {
    let state = j.state;
    let assigned = state.assigned.as_ref();
    RegisterRow {
        id: state.id.map(|id| id.to_string()).unwrap_or_default(),
        number: state.number,
        case: state.describe(),
        title: state.title().to_string(),
        proposers: assigned.map(|a| a.proposers.clone()).unwrap_or_default(),
        lead: state.lead.clone(),
        co_handlers: state.co_handlers.clone(),
        assigned_on: state.assigned_on,
        reply_by: state.reply_by(),
        replied_on: j.replied_on,
        class: state.class.filter(|_| j.replied_on.is_some()).map(ReplyClass::code),
        satisfaction: j.evaluation.map(Satisfaction::label),
        commitments: j.commitments,
        commitments_fulfilled: j.commitments_fulfilled,
        reviewed_on: review.map(|(on, _)| on),
        review: review.map(|(_, outcome)| outcome.label()),
        key: assigned.is_some_and(|a| a.key),
        led_by: assigned.and_then(|a| a.led_by.clone()),
    }
}

fn units(in_scope: &[Judged], scope: &Scope, by_owner: &BTreeMap<String, (usize, usize)>) -> Vec<UnitRow> {
    let mut units: BTreeMap<&str, UnitRow> = BTreeMap::new();
    let blank = |organ: &str| UnitRow {
        organ: organ.to_string(),
        lead: 0,
        co: 0,
        replied: 0,
        reply_rate: None,
        replied_on_time: 0,
        on_time_reply_rate: None,
        evaluated: 0,
        basic_satisfaction_rate: None,
        commitments_due: 0,
        commitments_fulfilled: 0,
        fulfilment_rate: None,
    };
    // Per unit, the rates are over its 主办件; `due_for_reply` and the contented are counted alongside.
    let mut extra: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for j in in_scope {
        let state = j.state;
        let unit = units.entry(state.lead.as_str()).or_insert_with(|| blank(&state.lead));
        unit.lead += 1;
        unit.replied += usize::from(j.replied_on.is_some());
        unit.replied_on_time += usize::from(j.on_time);
        unit.evaluated += usize::from(j.evaluation.is_some());
        let (due, content) = extra.entry(state.lead.as_str()).or_default();
        *due += usize::from(j.due_for_reply);
        *content +=
            usize::from(matches!(j.evaluation, Some(Satisfaction::Satisfied | Satisfaction::BasicallySatisfied)));
        for co in &state.co_handlers {
            units.entry(co.as_str()).or_insert_with(|| blank(co)).co += 1;
        }
    }
    units
        .into_values()
        .filter(|unit| scope.organ.is_none_or(|organ| organ.matches(&unit.organ)))
        .map(|mut unit| {
            let (due, content) = extra.get(unit.organ.as_str()).copied().unwrap_or_default();
            unit.reply_rate = rate(unit.replied, unit.lead);
            unit.on_time_reply_rate = rate(unit.replied_on_time, due);
            unit.basic_satisfaction_rate = rate(content, unit.evaluated);
            if let Some((due, fulfilled)) = by_owner.get(&unit.organ) {
                unit.commitments_due = *due;
                unit.commitments_fulfilled = *fulfilled;
                unit.fulfilment_rate = rate(*fulfilled, *due);
            }
            unit
        })
        .collect()
}
