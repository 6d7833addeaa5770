//! The stable JSON forms of what the read model returns: `--json`'s field names, and the API's. A field may be
//! added; none is renamed or removed.

use chrono::{DateTime, NaiveDate, Utc};
use duban_domain::{CommitmentState, Envelope, Policy, ReplyState, Status};
use serde::Serialize;

/// A reply's proposal reference in the form staff write it: `市政协 十四届三次会议 第1221号提案`.
pub fn proposal_text(reply: &ReplyState) -> String {
    reply.proposal().map(|proposal| proposal.describe()).unwrap_or_default()
}

/// A commitment (`list --json`, `show --json`).
#[derive(Serialize)]
pub struct CommitmentView {
    pub id: String,
    /// 编号 (`#37`): the seq of the event that recorded it; accepted wherever an id is.
    pub number: u64,
    pub short_id: String,
    pub reply_id: Option<String>,
    pub organ: Option<String>,
    pub doc_no: Option<String>,
    pub proposal: Option<String>,
    pub text: String,
    pub section: Option<&'static str>,
    pub owner: String,
    pub co_handlers: Vec<String>,
    pub made_on: Option<NaiveDate>,
    /// The due date it is followed up against: its own, or the policy's default.
    pub due: Option<NaiveDate>,
    /// Where `due` comes from: `text` (read from the reply), `staff`, `policy` (the default).
    pub due_source: Option<&'static str>,
    pub status: &'static str,
    pub status_label: &'static str,
    pub last_progress_on: Option<NaiveDate>,
    pub progress_reports: u32,
    pub percent: Option<u8>,
    pub closed_on: Option<NaiveDate>,
    pub outcome: Option<&'static str>,
    pub dismissed_on: Option<NaiveDate>,
    pub due_changes: u32,
    pub version: u32,
}

impl CommitmentView {
    pub fn new(
        state: &CommitmentState,
        reply: Option<&ReplyState>,
        status: Status,
        short: String,
        policy: Policy,
    ) -> Self {
        let registered = reply.and_then(|reply| reply.registered.as_ref());
        let due = state.due_under(policy);
        CommitmentView {
            id: state.id.map(|id| id.to_string()).unwrap_or_default(),
            number: state.number,
            short_id: short,
            reply_id: state.reply.map(|id| id.to_string()),
            organ: registered.map(|r| r.organ.clone()),
            doc_no: registered.map(|r| r.doc_no.clone()),
            proposal: reply.map(proposal_text).filter(|text| !text.is_empty()),
            text: state.text.clone(),
            section: state.section.map(|section| section.code()),
            owner: state.owner.clone(),
            co_handlers: state.co_handlers.clone(),
            made_on: state.made_on,
            due: due.map(|(date, _)| date),
            due_source: due.map(|(_, source)| source.code()),
            status: status.code(),
            status_label: status.label(),
            last_progress_on: state.last_progress_on,
            progress_reports: state.progress_reports,
            percent: state.percent,
            closed_on: state.closure.as_ref().map(|closure| closure.on),
            outcome: state.closure.as_ref().map(|closure| closure.outcome.code()),
            dismissed_on: state.dismissed_on,
            due_changes: state.due_changes,
            version: state.version,
        }
    }
}

/// One timeline entry (`show --json`'s `events`).
#[derive(Serialize)]
pub struct EventView<'a> {
    pub seq: u64,
    pub id: String,
    pub stream: String,
    pub version: u32,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub label: &'static str,
    pub occurred_on: NaiveDate,
    pub recorded_at: DateTime<Utc>,
    pub actor: &'a str,
    pub summary: String,
    pub evidence: &'a [String],
    pub hash: &'a str,
    pub data: &'a duban_domain::Event,
}

impl<'a> EventView<'a> {
    pub fn new(envelope: &'a Envelope) -> Self {
        EventView {
            seq: envelope.seq,
            id: envelope.id.to_string(),
            stream: envelope.stream.to_string(),
            version: envelope.version,
            kind: envelope.event.tag(),
            label: envelope.event.label(),
            occurred_on: envelope.occurred_on,
            recorded_at: envelope.recorded_at,
            actor: &envelope.actor,
            summary: envelope.event.summary(),
            evidence: envelope.event.evidence(),
            hash: &envelope.hash,
            data: &envelope.event,
        }
    }
}

/// A reply with how many commitments it holds (`reply list --json`).
#[derive(Serialize)]
pub struct ReplyView {
    pub id: Option<String>,
    /// 编号 (`#12`), as a commitment's.
    pub number: u64,
    pub organ: String,
    pub doc_no: String,
    pub signed_on: Option<NaiveDate>,
    pub proposal: String,
    pub title: Option<String>,
    pub result: Option<String>,
    pub satisfaction: Option<&'static str>,
    pub commitments: usize,
    /// What the registration lacks (待补全): 答复单位, 文号, 签发日期.
    pub missing: Vec<&'static str>,
}

impl ReplyView {
    pub fn new(reply: &ReplyState, commitments: usize) -> Self {
        let registered = reply.registered.as_ref();
        ReplyView {
            id: reply.id.map(|id| id.to_string()),
            number: reply.number,
            organ: reply.organ().to_string(),
            doc_no: reply.doc_no().to_string(),
            signed_on: reply.signed_on(),
            proposal: proposal_text(reply),
            title: registered.and_then(|r| r.title.clone()),
            result: registered.and_then(|r| r.result.clone()),
            satisfaction: reply.evaluation.map(|(_, satisfaction)| satisfaction.code()),
            commitments,
            missing: reply.missing(),
        }
    }
}

/// A proposal as `proposal list --json` prints it.
#[derive(Serialize)]
pub struct ProposalView {
    pub id: String,
    /// 编号 (`#5`).
    pub reference: String,
    pub kind: &'static str,
    pub assembly: String,
    pub session: String,
    /// 案号.
    pub number: String,
    pub title: String,
    pub proposers: Vec<String>,
    pub lead: String,
    pub co_handlers: Vec<String>,
    pub assigned_on: Option<NaiveDate>,
    pub reply_by: Option<NaiveDate>,
    pub replied_on: Option<NaiveDate>,
    pub class: Option<&'static str>,
    pub disclosure: Option<&'static str>,
    pub contacted: bool,
    pub satisfaction: Option<&'static str>,
    pub key: bool,
    pub status: &'static str,
    pub status_label: &'static str,
}

impl ProposalView {
    pub fn new(row: &crate::ProposalRow) -> ProposalView {
        let state = &row.state;
        let assigned = state.assigned.as_ref();
        let text = |get: fn(&duban_domain::ProposalAssigned) -> &String| assigned.map(get).cloned().unwrap_or_default();
        ProposalView {
            id: state.id.map(|id| id.to_string()).unwrap_or_default(),
            reference: format!("#{}", state.number),
            kind: assigned.map_or("", |a| a.kind.label()),
            assembly: text(|a| &a.assembly),
            session: text(|a| &a.session),
            number: text(|a| &a.number),
            title: text(|a| &a.title),
            proposers: assigned.map(|a| a.proposers.clone()).unwrap_or_default(),
            lead: state.lead.clone(),
            co_handlers: state.co_handlers.clone(),
            assigned_on: state.assigned_on,
            reply_by: state.reply_by(),
            replied_on: row.replied_on,
            class: state.class.map(duban_domain::ReplyClass::code),
            disclosure: state.disclosure.as_ref().map(|(d, _)| d.code()),
            contacted: !state.contacts.is_empty(),
            satisfaction: row.satisfaction.map(|s| s.code()),
            key: assigned.is_some_and(|a| a.key),
            status: row.status.code(),
            status_label: row.status.label(),
        }
    }
}

/// An account as `user list --json` prints it (no secret of any kind).
#[derive(Serialize)]
pub struct AccountView {
    pub id: String,
    pub name: String,
    pub role: &'static str,
    pub role_label: &'static str,
    pub organs: Vec<String>,
    pub disabled: bool,
    pub created_on: Option<chrono::NaiveDate>,
    pub password_set_on: Option<chrono::NaiveDate>,
}

impl AccountView {
    pub fn new(account: &duban_domain::AccountState) -> AccountView {
        AccountView {
            id: account.id.map(|id| id.to_string()).unwrap_or_default(),
            name: account.name.clone(),
            role: account.role.map_or("", duban_domain::Role::code),
            role_label: account.role.map_or("", duban_domain::Role::label),
            organs: account.organs.clone(),
            disabled: account.disabled,
            created_on: account.created_on,
            password_set_on: account.password_set_on,
        }
    }
}

/// One commitment with its timeline (`show --json`, `GET /api/commitments/{id}`).
#[derive(Serialize)]
pub struct ShowView<'a> {
    #[serde(flatten)]
    pub commitment: CommitmentView,
    /// `#12/2`: its reply's number and its place among that reply's promises.
    pub reference: Option<&'a str>,
    /// Its reply's signing date, and what the reply's registration lacks (待补全).
    pub reply_signed_on: Option<NaiveDate>,
    pub reply_missing: Vec<&'static str>,
    pub events: Vec<EventView<'a>>,
}

impl<'a> ShowView<'a> {
    pub fn new(detail: &'a crate::CommitmentDetail, policy: Policy) -> ShowView<'a> {
        let commitment =
            CommitmentView::new(&detail.state, Some(&detail.reply), detail.status, detail.short_id.clone(), policy);
        ShowView {
            commitment,
            reference: detail.reference.as_deref(),
            reply_signed_on: detail.reply.signed_on(),
            reply_missing: detail.reply.missing(),
            events: detail.events.iter().map(EventView::new).collect(),
        }
    }
}

/// A search hit as `search --json` and the server's `/api/search` give it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct HitView {
    /// `commitment`, `reply` or `progress`.
    pub kind: String,
    /// The promise (for a promise or its progress) or the reply.
    pub id: String,
    pub short_id: String,
    pub reply_id: Option<String>,
    pub status: Option<String>,
    pub status_label: Option<String>,
    pub snippet: String,
    pub score: f64,
    /// The fact the text came from, and its date.
    pub seq: u64,
    pub occurred_on: chrono::NaiveDate,
}

impl HitView {
    pub fn new(hit: &crate::Hit) -> HitView {
        HitView {
            kind: hit.kind.code().to_string(),
            id: hit.id.to_string(),
            short_id: hit.short_id.clone(),
            reply_id: hit.reply_id.map(|id| id.to_string()),
            status: hit.status.map(|status| status.code().to_string()),
            status_label: hit.status.map(|status| status.label().to_string()),
            snippet: hit.snippet.clone(),
            score: hit.score,
            seq: hit.seq,
            occurred_on: hit.occurred_on,
        }
    }
}
