//! The handling of suggestions and proposals (件): 交办, re-assignment, contact, linking replies, class, disclosure,
//! 回头看 — written the way every write is (resolve, fold, check, append with the version read) — and the proposal
//! register as a view sees it.
//!
//! A reply is linked to its proposal by a fact in the proposal's stream; the class and the disclosure the reply
//! states are recorded with the link, in the same append, so that what a report counts is what the log says and a
//! later change of the wording table re-classes nothing silently.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use duban_domain::{
    check_proposal_event, default_reply_by, fold, proposal_status, CommitmentState, Disclosure, Envelope, Event,
    Folded, Horizon, ProposalAnswered, ProposalAssigned, ProposalClassified, ProposalDisclosed, ProposalKind,
    ProposalState, ProposalStatus, ReplyClass, ReplyState, Satisfaction, StreamKind,
};
use ulid::Ulid;

use crate::context::Context;
use crate::error::{refuse, Result};
use crate::read::View;
use crate::refs::Reference;
use crate::App;

/// 交办, as asked.
#[derive(Clone, Debug)]
pub struct NewProposal {
    pub kind: ProposalKind,
    pub assembly: String,
    pub session: String,
    pub number: String,
    pub title: String,
    pub proposers: Vec<String>,
    pub lead: String,
    pub co_handlers: Vec<String>,
    pub assigned_on: NaiveDate,
    /// Default: three months after `assigned_on`.
    pub reply_by: Option<NaiveDate>,
    pub key: bool,
    pub led_by: Option<String>,
    pub between_sessions: bool,
}

/// A fact recorded about a proposal.
#[derive(Clone, Debug)]
pub struct ProposalRecorded {
    pub id: Ulid,
    pub number: u64,
    pub short_id: String,
    pub seq: u64,
    pub label: &'static str,
    pub occurred_on: NaiveDate,
    pub status: ProposalStatus,
    pub version: u32,
    /// What was recorded with it (a link records the class and disclosure the reply states), as labels.
    pub also: Vec<String>,
}

/// A proposal as a view sees it, with what its linked replies say.
#[derive(Clone, Debug)]
pub struct ProposalRow {
    pub state: ProposalState,
    pub short_id: String,
    pub status: ProposalStatus,
    /// The first 答复's date (the reply's signing date, else the day it was linked).
    pub replied_on: Option<NaiveDate>,
    /// The latest 答复's evaluation.
    pub satisfaction: Option<Satisfaction>,
}

/// One proposal with its whole lifecycle.
pub struct ProposalDetail {
    pub row: ProposalRow,
    /// The proposal's own events.
    pub events: Vec<Envelope>,
    /// Each linked reply (in the order linked) with its promises.
    pub replies: Vec<(ReplyState, bool, Vec<CommitmentState>)>,
    /// The linked replies' evaluations: date and satisfaction, in date order.
    pub evaluations: Vec<(NaiveDate, Ulid, Satisfaction)>,
}

/// How a proposal is matched to a reply's reference: assembly and session as organ names are folded, the number
/// without leading zeros.
fn sitting_key(assembly: &str, session: &str, number: &str) -> (String, String, String) {
    let session = fold(session);
    let session = session.trim_end_matches("会议").to_string();
    (fold(assembly), session, number.trim().trim_start_matches('0').to_string())
}

impl App {
    /// 交办: opens a proposal; refuses a second one under the same assembly, session, number and kind.
    pub fn assign_proposal(&self, ctx: &Context, new: NewProposal) -> Result<ProposalRecorded> {
        let key = sitting_key(&new.assembly, &new.session, &new.number);
        for state in self.proposal_states(Horizon::ALL)?.into_values() {
            if let Some(assigned) = &state.assigned {
                if sitting_key(&assigned.assembly, &assigned.session, &assigned.number) == key
                    && assigned.kind == new.kind
                {
                    return refuse(format!(
                        "{} 已交办（#{}），不能重复交办；调整承办单位用 duban proposal reassign",
                        state.describe(),
                        state.number
                    ));
                }
            }
        }
        let trimmed = |list: Vec<String>| -> Vec<String> {
            list.into_iter().map(|item| item.trim().to_string()).filter(|item| !item.is_empty()).collect()
        };
        let event = Event::ProposalAssigned(Box::new(ProposalAssigned {
            kind: new.kind,
            assembly: new.assembly.trim().to_string(),
            session: new.session.trim().to_string(),
            number: new.number.trim().to_string(),
            title: new.title.trim().to_string(),
            proposers: trimmed(new.proposers),
            lead: new.lead.trim().to_string(),
            co_handlers: trimmed(new.co_handlers),
            reply_by: new.reply_by.unwrap_or_else(|| default_reply_by(new.assigned_on)),
            key: new.key,
            led_by: new.led_by.map(|leader| leader.trim().to_string()),
            between_sessions: new.between_sessions,
        }));
        check_proposal_event(&ProposalState::default(), new.assigned_on, &event, ctx.today())?;
        let id = ctx.new_id();
        self.append(vec![(id, 0, vec![ctx.new_event(id, new.assigned_on, event)])])?;
        self.proposal_recorded(ctx, id, new.assigned_on, "交办", Vec::new())
    }

    /// Records `event` about the proposal `input` names, as having occurred on `on` (default today), at the
    /// version the caller read when given.
    pub fn record_proposal(
        &self,
        ctx: &Context,
        input: &str,
        on: Option<NaiveDate>,
        event: Event,
        expected_version: Option<u32>,
    ) -> Result<ProposalRecorded> {
        if matches!(event, Event::ProposalAnswered(_)) {
            return refuse("关联答复请用 duban proposal link（或 reply add --proposal），以便核对答复");
        }
        let (id, _) = self.proposal_now(input)?;
        let on = on.unwrap_or(ctx.today());
        let label = event.label();
        crate::write::retrying(expected_version, || {
            let state = self.store.proposal(&id)?.unwrap_or_default();
            if let Some(expected) = expected_version.filter(|expected| *expected != state.version) {
                return Err(duban_store::StoreError::Conflict { stream: id, expected, actual: state.version }.into());
            }
            check_proposal_event(&state, on, &event, ctx.today())?;
            self.append(vec![(id, state.version, vec![ctx.new_event(id, on, event.clone())])])?;
            Ok(())
        })?;
        self.proposal_recorded(ctx, id, on, label, Vec::new())
    }

    /// Links reply `reply_input` to proposal `proposal_input`: a reply from the lead is the 答复, from a co-handler
    /// the 会办意见 (`co`: `None` decides by the reply — a 会办意见, or one addressed to a lead organ, is a
    /// co-handler's). The class its 办理结果 states and its 公开属性 are recorded with it.
    pub fn link_reply(
        &self,
        ctx: &Context,
        proposal_input: &str,
        reply_input: &str,
        co: Option<bool>,
    ) -> Result<ProposalRecorded> {
        let (id, state) = self.proposal_now(proposal_input)?;
        let (reply_id, reply) = self.reply_now(reply_input)?;
        for other in self.proposal_states(Horizon::ALL)?.into_values() {
            if other.id != Some(id) && other.answered_by(&reply_id) {
                return refuse(format!(
                    "答复 {reply_id} 已关联到 {}（#{}），一件答复只答复一件建议或提案",
                    other.describe(),
                    other.number
                ));
            }
        }
        let (new_events, _) = checked_link(ctx, id, &state, &reply, reply_id, co)?;
        let also: Vec<String> = new_events.iter().skip(1).map(|new| new.event.summary()).collect();
        let on = new_events[0].occurred_on;
        self.append(vec![(id, state.version, new_events)])?;
        self.proposal_recorded(ctx, id, on, "关联答复", also)
    }

    /// The proposal a reply's reference names, if exactly one was assigned (see [`Proposals::answered_by`]).
    pub fn proposal_for(&self, reply: &ReplyState) -> Result<Option<(Ulid, ProposalState)>> {
        let proposals = Proposals::load(self)?;
        Ok(reply.registered.as_ref().and_then(|r| proposals.answered_by(r)).map(|(id, state)| (id, state.clone())))
    }

    /// Every proposal's state through `horizon`, by id.
    pub(crate) fn proposal_states(&self, horizon: Horizon) -> Result<BTreeMap<Ulid, ProposalState>> {
        if horizon.is_everything() {
            let mut states = BTreeMap::new();
            for family in self.store.families_between(None, None) {
                if let Some(state) = family?.proposal {
                    states.insert(state.id.unwrap_or_default(), state);
                }
            }
            return Ok(states);
        }
        let mut folded = Folded::default();
        self.known_events(horizon, &mut |envelope| {
            if envelope.event.stream_kind() == StreamKind::Proposal {
                folded.apply(envelope)
            }
        })?;
        folded.finish();
        Ok(folded.proposals.into_iter().collect())
    }

    /// The proposal register as `view` sees it, in order of 编号.
    pub fn proposals(&self, view: &View) -> Result<Vec<ProposalRow>> {
        let states = self.proposal_states(view.horizon)?;
        let mut replies: BTreeMap<Ulid, ReplyState> = BTreeMap::new();
        let wanted: Vec<Ulid> = states.values().flat_map(|state| state.answers.iter().map(|a| a.reply)).collect();
        for reply in wanted {
            if let Some(state) = self.reply_at(reply, view.horizon)? {
                replies.insert(reply, state);
            }
        }
        let mut ids: Vec<Ulid> = self.store.all_ids()?;
        ids.sort_unstable();
        let mut rows: Vec<ProposalRow> = states
            .into_values()
            .map(|state| {
                let id = state.id.unwrap_or_default();
                let at = ids.partition_point(|other| *other < id);
                let neighbours = &ids[at.saturating_sub(1)..(at + 2).min(ids.len())];
                row(state, duban_domain::short_id(&id, neighbours), &replies, view.on_date)
            })
            .collect();
        rows.sort_by_key(|row| row.state.number);
        Ok(rows)
    }

    /// One proposal with its lifecycle: its own facts, its replies with their promises, and their evaluations.
    pub fn proposal(&self, input: &str, view: &View) -> Result<ProposalDetail> {
        let id = self.resolve_proposal(input)?;
        let events: Vec<Envelope> =
            self.store.read_stream(&id)?.into_iter().filter(|e| view.horizon.admits(e)).collect();
        let state = ProposalState::fold(&events);
        if state.assigned.is_none() {
            return refuse(format!("{id} 在所选时点尚未交办"));
        }
        let mut replies = Vec::new();
        let mut evaluations = Vec::new();
        let mut states = BTreeMap::new();
        for answer in &state.answers {
            let reply_events: Vec<Envelope> =
                self.store.read_stream(&answer.reply)?.into_iter().filter(|e| view.horizon.admits(e)).collect();
            for envelope in &reply_events {
                if let Event::ReplyEvaluated(evaluated) = &envelope.event {
                    evaluations.push((envelope.occurred_on, answer.reply, evaluated.satisfaction));
                }
            }
            let reply = ReplyState::fold(&reply_events);
            let commitments = match self.family(answer.reply)? {
                Some(family) if view.horizon.is_everything() => family.commitments,
                Some(family) => {
                    let ids: Vec<Ulid> = family.commitments.iter().filter_map(|c| c.id).collect();
                    let mut folded: BTreeMap<Ulid, CommitmentState> = BTreeMap::new();
                    for envelope in self.store.read_streams_for_fold(&ids)?.iter().filter(|e| view.horizon.admits(e)) {
                        folded.entry(envelope.stream).or_default().apply(envelope);
                    }
                    folded.into_values().filter(|c| c.made_on.is_some()).collect()
                }
                None => Vec::new(),
            };
            states.insert(answer.reply, reply.clone());
            replies.push((reply, answer.lead, commitments));
        }
        evaluations.sort_by_key(|(on, _, _)| *on);
        let short_id = self.store.short_id(&id)?;
        Ok(ProposalDetail { row: row(state, short_id, &states, view.on_date), events, replies, evaluations })
    }

    /// The proposal `input` names: an id or prefix, `#N`, or its number as staff say it (`1221号`, `第1221号提案`,
    /// `十四届三次1221号`).
    pub fn resolve_proposal(&self, input: &str) -> Result<Ulid> {
        if let Ok(Reference::Proposal { qualifier, number, kind, position: None }) = Reference::parse(input) {
            let wanted = fold(&qualifier);
            let found: Vec<ProposalState> = self
                .proposal_states(Horizon::ALL)?
                .into_values()
                .filter(|state| {
                    state.assigned.as_ref().is_some_and(|a| {
                        a.number.trim_start_matches('0') == number.trim_start_matches('0')
                            && kind.is_none_or(|kind| kind == a.kind)
                            && (wanted.is_empty() || fold(&format!("{}{}", a.assembly, a.session)).contains(&wanted))
                    })
                })
                .collect();
            return match found.as_slice() {
                [one] => Ok(one.id.unwrap_or_default()),
                [] => {
                    refuse(format!("找不到「{input}」：没有交办过第{number}号建议或提案（duban proposal list 查看）"))
                }
                many => refuse(format!(
                    "「{input}」对应 {} 件：{}。请在号前写明会议届次，或用编号",
                    many.len(),
                    many.iter().map(|s| format!("#{} {}", s.number, s.describe())).collect::<Vec<_>>().join("；")
                )),
            };
        }
        self.resolve(input, Some(StreamKind::Proposal))
    }

    /// A proposal's projected state.
    pub fn proposal_now(&self, input: &str) -> Result<(Ulid, ProposalState)> {
        let id = self.resolve_proposal(input)?;
        match self.store.proposal(&id)? {
            Some(state) => Ok((id, state)),
            None => refuse(format!("找不到建议或提案 {id}")),
        }
    }

    fn reply_at(&self, id: Ulid, horizon: Horizon) -> Result<Option<ReplyState>> {
        if horizon.is_everything() {
            return Ok(self.store.reply(&id)?);
        }
        let reply = ReplyState::fold(self.store.read_streams_for_fold(&[id])?.iter().filter(|e| horizon.admits(e)));
        Ok(reply.registered.is_some().then_some(reply))
    }

    fn proposal_recorded(
        &self,
        ctx: &Context,
        id: Ulid,
        on: NaiveDate,
        label: &'static str,
        also: Vec<String>,
    ) -> Result<ProposalRecorded> {
        let state = self.store.proposal(&id)?.unwrap_or_default();
        let latest = state.latest_reply().and_then(|answer| self.store.reply(&answer.reply).ok().flatten());
        let satisfaction = latest.and_then(|reply| reply.evaluation.map(|(_, s)| s));
        Ok(ProposalRecorded {
            id,
            number: state.number,
            short_id: self.store.short_id(&id)?,
            seq: self.store.head()?.seq,
            label,
            occurred_on: on,
            status: proposal_status(&state, satisfaction, ctx.today()),
            version: state.version,
            also,
        })
    }
}

/// The facts linking reply `reply_id` to proposal `id` records (see [`link_events`]), each checked against the
/// state the ones before it leave, and that state: `proposal link`, `reply add` and `import` all link through here.
pub(crate) fn checked_link(
    ctx: &Context,
    id: Ulid,
    state: &ProposalState,
    reply: &ReplyState,
    reply_id: Ulid,
    co: Option<bool>,
) -> std::result::Result<(Vec<duban_domain::NewEvent>, ProposalState), duban_domain::DomainError> {
    let today = ctx.today();
    let mut folded = state.clone();
    let mut new_events = Vec::new();
    for (on, event) in link_events(state, reply, reply_id, co, today) {
        check_proposal_event(&folded, on, &event, today)?;
        let new = ctx.new_event(id, on, event);
        folded.apply(&new.clone().sealed(0, folded.version + 1, String::new(), String::new()));
        new_events.push(new);
    }
    Ok((new_events, folded))
}

/// The facts a link records: the answer, then the class the reply's 办理结果 states and its 公开属性, when the reply
/// is the lead's and they differ from what the proposal holds.
fn link_events(
    state: &ProposalState,
    reply: &ReplyState,
    reply_id: Ulid,
    co: Option<bool>,
    today: NaiveDate,
) -> Vec<(NaiveDate, Event)> {
    let registered = reply.registered.as_ref();
    // Decided by who wrote it (the lead, or a co-handler), else by what it is (a 会办意见, or addressed to a lead).
    let by_organ = |name: &str| {
        !name.trim().is_empty()
            && duban_domain::OrganQuery::new(name, &duban_domain::Aliases::default()).matches(reply.organ())
    };
    let is_co = co.unwrap_or_else(|| {
        if by_organ(&state.lead) {
            false
        } else if state.co_handlers.iter().any(|co| by_organ(co)) {
            true
        } else {
            registered.is_some_and(|r| {
                r.addressee.is_some() || r.doc_type.as_deref().is_some_and(|doc_type| doc_type.contains("会办"))
            })
        }
    });
    // Dated by the reply: the day it was signed (the day it is linked, while that is missing).
    let on = reply.signed_on().unwrap_or(today).max(state.assigned_on.unwrap_or(NaiveDate::MIN)).min(today);
    let mut events = vec![(on, Event::ProposalAnswered(ProposalAnswered { reply: reply_id, lead: !is_co }))];
    if is_co {
        return events;
    }
    let wording = registered.and_then(|r| r.result.clone());
    if let Some(class) = wording.as_deref().and_then(ReplyClass::from_wording) {
        if state.class != Some(class) {
            events.push((on, Event::ProposalClassified(ProposalClassified { class, wording, reason: None })));
        }
    }
    if let Some(disclosure) = registered.and_then(|r| r.disclosure.as_deref()).and_then(Disclosure::parse) {
        // 不予公开 needs its reason, which a reply's 公开属性 line does not give: staff record it.
        if disclosure != Disclosure::Withheld && state.disclosure.as_ref().is_none_or(|(d, _)| *d != disclosure) {
            events.push((on, Event::ProposalDisclosed(ProposalDisclosed { disclosure, reason: None })));
        }
    }
    events
}

/// The proposals assigned, to link replies to as they are registered (loaded once per import).
pub(crate) struct Proposals {
    states: BTreeMap<Ulid, ProposalState>,
}

impl Proposals {
    pub fn load(app: &App) -> Result<Proposals> {
        Ok(Proposals { states: app.proposal_states(Horizon::ALL)? })
    }

    /// The one proposal a reply's reference names — assembly, session and number (and kind when both give it) —
    /// and not yet answered by the lead if the reply is the lead's; `None` when none or several match.
    pub fn answered_by(&self, reply: &duban_domain::ReplyRegistered) -> Option<(Ulid, &ProposalState)> {
        let reference = &reply.proposal;
        let (Some(assembly), Some(session), Some(number)) =
            (&reference.assembly, &reference.session, &reference.number)
        else {
            return None;
        };
        let key = sitting_key(assembly, session, number);
        let mut found = self.states.iter().filter(|(_, state)| {
            state.assigned.as_ref().is_some_and(|a| {
                sitting_key(&a.assembly, &a.session, &a.number) == key
                    && reference.kind.is_none_or(|kind| kind == a.kind)
            })
        });
        let first = found.next()?;
        found.next().is_none().then_some((*first.0, first.1))
    }

    pub fn remember(&mut self, id: Ulid, state: ProposalState) {
        self.states.insert(id, state);
    }
}

fn row(state: ProposalState, short_id: String, replies: &BTreeMap<Ulid, ReplyState>, on: NaiveDate) -> ProposalRow {
    let replied_on = state
        .first_reply()
        .map(|answer| replies.get(&answer.reply).and_then(ReplyState::signed_on).unwrap_or(answer.on));
    let satisfaction = state
        .latest_reply()
        .and_then(|answer| replies.get(&answer.reply))
        .and_then(|reply| reply.evaluation.map(|(_, satisfaction)| satisfaction));
    let status = proposal_status(&state, satisfaction, on);
    ProposalRow { state, short_id, status, replied_on, satisfaction }
}
