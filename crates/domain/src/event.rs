//! The facts duban records: one serde enum of past-tense events, and the envelope each is stored in.
//!
//! A serialized tag or field name is never renamed; a new meaning is a new variant. A new *field* — even an optional
//! one — is a new schema version: events are stored as positional postcard records (decision 0003), so a field
//! appended to a struct would make every stored record of it unreadable. The new version's reader dispatches on each
//! envelope's `schema`, decoding (and hashing) older records exactly as their version wrote them. `tests` at the
//! bottom pins the JSON of every variant, and `tests/fixtures/schema-1*.jsonl` pin stored events of every variant.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

pub use crate::account::{AccountChanged, AccountCreated, AccountDisabled, PasswordSet};
pub use crate::proposal::{
    ContactMethod, Disclosure, ProposalAnswered, ProposalAssigned, ProposalClassified, ProposalDisclosed,
    ProposalReassigned, ProposalReviewed, ProposerContacted, ReplyClass,
};

/// The schema version written into every envelope. Bump it whenever an event's stored form changes at all — a field
/// added, removed or retyped (see the module's notes); a store holding a newer version is refused rather than misread.
///
/// Version 2: a reply may be registered with fields missing (`ReplyRegistered::signed_on` may be `None`, `organ`
/// and `doc_no` empty). A version-1 record is stored and hashed exactly as before (a date is the same string); a
/// version-2 record may hold an empty date string, which a version-1 reader must not misread: it refuses the record
/// by its schema number.
///
/// Version 3: proposals (件) as streams of their own — `ProposalAssigned` … `ProposalReviewed` — and accounts
/// (`AccountCreated` … `PasswordSet`). Older records are
/// unchanged; a version-2 reader refuses a store holding version-3 records by their schema number instead of failing
/// on an enum index it does not know.
///
/// Version 4: `EvidenceAttached` (a file kept beside the store by its SHA-256) and `IntakeReviewed` (what a person
/// changed of a document's reading at intake). Two new variants only: older records are unchanged.
pub const SCHEMA_VERSION: u16 = 4;

/// The `prev_hash` of the first event, and the head of an empty log.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One recorded fact with everything needed to order, attribute and chain it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Global position in the log, starting at 1, without gaps.
    pub seq: u64,
    pub id: Ulid,
    /// The reply or commitment this fact is about.
    pub stream: Ulid,
    /// Position within the stream, starting at 1.
    pub version: u32,
    /// The business date of the fact (when it happened, not when it was written down).
    pub occurred_on: NaiveDate,
    /// When it was written to the log (UTC).
    pub recorded_at: DateTime<Utc>,
    pub actor: String,
    pub schema: u16,
    /// Hex SHA-256 of the previous envelope (64 zeros for the first).
    pub prev_hash: String,
    /// Hex SHA-256 over `prev_hash` and this envelope's canonical form without `hash`.
    pub hash: String,
    pub event: Event,
}

/// Everything duban can record. Reply streams hold `ReplyRegistered` and `ReplyEvaluated`; every other event belongs to
/// a commitment stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// Boxed: a registration is several times larger than any other event.
    ReplyRegistered(Box<ReplyRegistered>),
    ReplyEvaluated(ReplyEvaluated),
    /// Boxed: the largest of the commitment events, it would make every event as large as itself.
    CommitmentMade(Box<CommitmentMade>),
    ProgressReported(ProgressReported),
    DueDateSet(DueDateSet),
    Reassigned(Reassigned),
    Closed(Closed),
    Reopened(Reopened),
    NoteAdded(NoteAdded),
    Dismissed(Dismissed),
    /// Schema 2. Boxed, as the registration it corrects.
    ReplyAmended(Box<ReplyAmended>),
    /// Schema 2.
    CommitmentAmended(CommitmentAmended),
    /// Schema 3: 交办, opening a proposal stream. Boxed, as a registration.
    ProposalAssigned(Box<ProposalAssigned>),
    /// Schema 3: 退办 or re-assignment.
    ProposalReassigned(ProposalReassigned),
    /// Schema 3: 面商 / 电话 / 书面 contact with the proposer.
    ProposerContacted(ProposerContacted),
    /// Schema 3: a reply (答复 or 会办意见) linked to the proposal it answers.
    ProposalAnswered(ProposalAnswered),
    /// Schema 3: the 办理结果 class.
    ProposalClassified(ProposalClassified),
    /// Schema 3: 公开属性.
    ProposalDisclosed(ProposalDisclosed),
    /// Schema 3: 回头看.
    ProposalReviewed(ProposalReviewed),
    /// Schema 3: an account of a shared register, opening its stream.
    AccountCreated(AccountCreated),
    /// Schema 3: a new role or set of organs.
    AccountChanged(AccountChanged),
    /// Schema 3: disabled, or enabled again.
    AccountDisabled(AccountDisabled),
    /// Schema 3: a password was set (the hash is kept apart).
    PasswordSet(PasswordSet),
    /// Schema 4: a file given as evidence of a promise's progress (佐证材料), kept by its content hash.
    EvidenceAttached(EvidenceAttached),
    /// Schema 4: what the person who reviewed a document's reading changed before it was registered. Boxed, as the
    /// registration it accompanies.
    IntakeReviewed(Box<IntakeReviewed>),
}

/// Which kind of stream an event belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamKind {
    Reply,
    Commitment,
    Proposal,
    Account,
}

impl StreamKind {
    /// What staff call a stream of this kind.
    pub fn label(self) -> &'static str {
        match self {
            StreamKind::Reply => "答复",
            StreamKind::Commitment => "承诺",
            StreamKind::Proposal => "建议或提案",
            StreamKind::Account => "账户",
        }
    }
}

/// Which kind of fact an event is: its variant without the content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    ReplyRegistered,
    ReplyEvaluated,
    CommitmentMade,
    ProgressReported,
    DueDateSet,
    Reassigned,
    Closed,
    Reopened,
    NoteAdded,
    Dismissed,
    ReplyAmended,
    CommitmentAmended,
    ProposalAssigned,
    ProposalReassigned,
    ProposerContacted,
    ProposalAnswered,
    ProposalClassified,
    ProposalDisclosed,
    ProposalReviewed,
    AccountCreated,
    AccountChanged,
    AccountDisabled,
    PasswordSet,
    EvidenceAttached,
    IntakeReviewed,
}

impl EventKind {
    /// Every kind, in the order of the enum (a new variant must be added here too: the schema fixture's test checks
    /// that the pinned fixtures hold one of each). The report numbers kinds by their place here: append, never
    /// reorder.
    pub const ALL: [EventKind; 25] = [
        EventKind::ReplyRegistered,
        EventKind::ReplyEvaluated,
        EventKind::CommitmentMade,
        EventKind::ProgressReported,
        EventKind::DueDateSet,
        EventKind::Reassigned,
        EventKind::Closed,
        EventKind::Reopened,
        EventKind::NoteAdded,
        EventKind::Dismissed,
        EventKind::ReplyAmended,
        EventKind::CommitmentAmended,
        EventKind::ProposalAssigned,
        EventKind::ProposalReassigned,
        EventKind::ProposerContacted,
        EventKind::ProposalAnswered,
        EventKind::ProposalClassified,
        EventKind::ProposalDisclosed,
        EventKind::ProposalReviewed,
        EventKind::AccountCreated,
        EventKind::AccountChanged,
        EventKind::AccountDisabled,
        EventKind::PasswordSet,
        EventKind::EvidenceAttached,
        EventKind::IntakeReviewed,
    ];

    /// The stable tag, as it is serialized.
    pub fn tag(self) -> &'static str {
        match self {
            EventKind::ReplyRegistered => "ReplyRegistered",
            EventKind::ReplyEvaluated => "ReplyEvaluated",
            EventKind::CommitmentMade => "CommitmentMade",
            EventKind::ProgressReported => "ProgressReported",
            EventKind::DueDateSet => "DueDateSet",
            EventKind::Reassigned => "Reassigned",
            EventKind::Closed => "Closed",
            EventKind::Reopened => "Reopened",
            EventKind::NoteAdded => "NoteAdded",
            EventKind::Dismissed => "Dismissed",
            EventKind::ReplyAmended => "ReplyAmended",
            EventKind::CommitmentAmended => "CommitmentAmended",
            EventKind::ProposalAssigned => "ProposalAssigned",
            EventKind::ProposalReassigned => "ProposalReassigned",
            EventKind::ProposerContacted => "ProposerContacted",
            EventKind::ProposalAnswered => "ProposalAnswered",
            EventKind::ProposalClassified => "ProposalClassified",
            EventKind::ProposalDisclosed => "ProposalDisclosed",
            EventKind::ProposalReviewed => "ProposalReviewed",
            EventKind::AccountCreated => "AccountCreated",
            EventKind::AccountChanged => "AccountChanged",
            EventKind::AccountDisabled => "AccountDisabled",
            EventKind::PasswordSet => "PasswordSet",
            EventKind::EvidenceAttached => "EvidenceAttached",
            EventKind::IntakeReviewed => "IntakeReviewed",
        }
    }

    /// A Chinese label for timelines.
    pub fn label(self) -> &'static str {
        match self {
            EventKind::ReplyRegistered => "登记答复",
            EventKind::ReplyEvaluated => "代表委员评价",
            EventKind::CommitmentMade => "作出承诺",
            EventKind::ProgressReported => "报告进展",
            EventKind::DueDateSet => "设定期限",
            EventKind::Reassigned => "调整责任单位",
            EventKind::Closed => "办结",
            EventKind::Reopened => "重新打开",
            EventKind::NoteAdded => "备注",
            EventKind::Dismissed => "撤销",
            EventKind::ReplyAmended => "更正答复",
            EventKind::CommitmentAmended => "更正承诺",
            EventKind::ProposalAssigned => "交办",
            EventKind::ProposalReassigned => "调整承办单位",
            EventKind::ProposerContacted => "联系代表委员",
            EventKind::ProposalAnswered => "关联答复",
            EventKind::ProposalClassified => "办理结果分类",
            EventKind::ProposalDisclosed => "公开属性",
            EventKind::ProposalReviewed => "回头看",
            EventKind::AccountCreated => "建立账户",
            EventKind::AccountChanged => "调整账户",
            EventKind::AccountDisabled => "停用或启用账户",
            EventKind::PasswordSet => "设置密码",
            EventKind::EvidenceAttached => "附件",
            EventKind::IntakeReviewed => "导入复核",
        }
    }
}

impl Event {
    pub fn stream_kind(&self) -> StreamKind {
        match self {
            Event::ReplyRegistered(_)
            | Event::ReplyEvaluated(_)
            | Event::ReplyAmended(_)
            | Event::IntakeReviewed(_) => StreamKind::Reply,
            Event::ProposalAssigned(_)
            | Event::ProposalReassigned(_)
            | Event::ProposerContacted(_)
            | Event::ProposalAnswered(_)
            | Event::ProposalClassified(_)
            | Event::ProposalDisclosed(_)
            | Event::ProposalReviewed(_) => StreamKind::Proposal,
            Event::AccountCreated(_) | Event::AccountChanged(_) | Event::AccountDisabled(_) | Event::PasswordSet(_) => {
                StreamKind::Account
            }
            _ => StreamKind::Commitment,
        }
    }

    /// Whether this event opens a stream (and may only stand first in it).
    pub fn opens_stream(&self) -> bool {
        matches!(
            self,
            Event::ReplyRegistered(_)
                | Event::CommitmentMade(_)
                | Event::ProposalAssigned(_)
                | Event::AccountCreated(_)
        )
    }

    /// Which kind of fact this is, without its content.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::ReplyRegistered(_) => EventKind::ReplyRegistered,
            Event::ReplyEvaluated(_) => EventKind::ReplyEvaluated,
            Event::CommitmentMade(_) => EventKind::CommitmentMade,
            Event::ProgressReported(_) => EventKind::ProgressReported,
            Event::DueDateSet(_) => EventKind::DueDateSet,
            Event::Reassigned(_) => EventKind::Reassigned,
            Event::Closed(_) => EventKind::Closed,
            Event::Reopened(_) => EventKind::Reopened,
            Event::NoteAdded(_) => EventKind::NoteAdded,
            Event::Dismissed(_) => EventKind::Dismissed,
            Event::ReplyAmended(_) => EventKind::ReplyAmended,
            Event::CommitmentAmended(_) => EventKind::CommitmentAmended,
            Event::ProposalAssigned(_) => EventKind::ProposalAssigned,
            Event::ProposalReassigned(_) => EventKind::ProposalReassigned,
            Event::ProposerContacted(_) => EventKind::ProposerContacted,
            Event::ProposalAnswered(_) => EventKind::ProposalAnswered,
            Event::ProposalClassified(_) => EventKind::ProposalClassified,
            Event::ProposalDisclosed(_) => EventKind::ProposalDisclosed,
            Event::ProposalReviewed(_) => EventKind::ProposalReviewed,
            Event::AccountCreated(_) => EventKind::AccountCreated,
            Event::AccountChanged(_) => EventKind::AccountChanged,
            Event::AccountDisabled(_) => EventKind::AccountDisabled,
            Event::PasswordSet(_) => EventKind::PasswordSet,
            Event::EvidenceAttached(_) => EventKind::EvidenceAttached,
            Event::IntakeReviewed(_) => EventKind::IntakeReviewed,
        }
    }

    /// The stable tag, as it is serialized.
    pub fn tag(&self) -> &'static str {
        self.kind().tag()
    }

    /// A Chinese label for timelines.
    pub fn label(&self) -> &'static str {
        self.kind().label()
    }

    /// A one-line Chinese summary for timelines.
    pub fn summary(&self) -> String {
        let mut summary = String::new();
        self.write_summary(&mut summary);
        summary
    }

    /// Appends the one-line summary to `out` (no allocation of its own).
    pub fn write_summary(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = match self {
            Event::ReplyRegistered(r) => write!(out, "{} {}", r.organ, r.doc_no),
            Event::ReplyEvaluated(e) => out.write_str(e.satisfaction.label()),
            Event::CommitmentMade(c) => out.write_str(&c.text),
            Event::ProgressReported(p) => match p.percent {
                Some(percent) => write!(out, "{}（{percent}%）", p.summary),
                None => out.write_str(&p.summary),
            },
            Event::DueDateSet(d) => match &d.reason {
                Some(reason) => write!(out, "期限 {}（{reason}）", d.due),
                None => write!(out, "期限 {}", d.due),
            },
            Event::Reassigned(r) => write!(out, "改由 {}（{}）", r.owner, r.reason),
            Event::Closed(c) => write!(out, "{}：{}", c.outcome.label(), c.summary),
            Event::Reopened(r) => out.write_str(&r.reason),
            Event::NoteAdded(n) => out.write_str(&n.text),
            Event::Dismissed(d) => match &d.duplicate_of {
                Some(of) => write!(out, "{}（与 {of} 重复）", d.reason),
                None => out.write_str(&d.reason),
            },
            Event::ReplyAmended(a) => write!(out, "{}（{}）", a.describe(), a.reason),
            Event::CommitmentAmended(a) => write!(out, "{}（{}）", a.describe(), a.reason),
            Event::ProposalAssigned(a) => {
                let co = if a.co_handlers.is_empty() {
                    String::new()
                } else {
                    format!("，会办 {}", a.co_handlers.join("、"))
                };
                write!(
                    out,
                    "第{}号{} {}：主办 {}{co}，{} 前答复",
                    a.number,
                    a.kind.label(),
                    a.title,
                    a.lead,
                    a.reply_by
                )
            }
            Event::ProposalReassigned(r) => {
                let verb = if r.returned { "退办，改由" } else { "改由" };
                write!(out, "{verb} {} 主办（{}）", r.lead, r.reason)
            }
            Event::ProposerContacted(c) => match &c.note {
                Some(note) => write!(out, "{} {}：{note}", c.organ, c.method.label()),
                None => write!(out, "{} {}", c.organ, c.method.label()),
            },
            Event::ProposalAnswered(a) => {
                write!(out, "{} {}", if a.lead { "答复" } else { "会办意见" }, a.reply)
            }
            Event::ProposalClassified(c) => match (&c.wording, &c.reason) {
                (_, Some(reason)) => write!(out, "{}（{reason}）", c.class.label()),
                (Some(wording), None) => write!(out, "{}（办理结果：{wording}）", c.class.label()),
                (None, None) => out.write_str(c.class.label()),
            },
            Event::ProposalDisclosed(d) => match &d.reason {
                Some(reason) => write!(out, "{}（{reason}）", d.disclosure.label()),
                None => out.write_str(d.disclosure.label()),
            },
            Event::ProposalReviewed(r) => write!(out, "{}：{}", r.outcome.label(), r.summary),
            Event::AccountCreated(a) if a.organs.is_empty() => write!(out, "{}（{}）", a.name, a.role.label()),
            Event::AccountCreated(a) => write!(out, "{}（{}：{}）", a.name, a.role.label(), a.organs.join("、")),
            Event::AccountChanged(a) if a.organs.is_empty() => write!(out, "改为{}", a.role.label()),
            Event::AccountChanged(a) => write!(out, "改为{}（{}）", a.role.label(), a.organs.join("、")),
            Event::AccountDisabled(d) => {
                write!(out, "{}（{}）", if d.disabled { "停用" } else { "启用" }, d.reason)
            }
            Event::PasswordSet(_) => out.write_str("设置密码"),
            Event::EvidenceAttached(a) => write!(out, "{}（{}）", a.file_name, human_bytes(a.bytes)),
            Event::IntakeReviewed(r) => out.write_str(&r.describe()),
        };
    }

    /// Evidence references attached to the fact, if any.
    pub fn evidence(&self) -> &[String] {
        match self {
            Event::ProgressReported(p) => &p.evidence,
            Event::Closed(c) => &c.evidence,
            _ => &[],
        }
    }
}

/// 提案 (CPPCC proposal) or 建议 (NPC suggestion).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalKind {
    Proposal,
    Suggestion,
}

impl ProposalKind {
    pub fn label(self) -> &'static str {
        match self {
            ProposalKind::Proposal => "提案",
            ProposalKind::Suggestion => "建议",
        }
    }

    /// Accepts the Chinese label or the English code.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "提案" | "proposal" => Some(ProposalKind::Proposal),
            "建议" | "suggestion" => Some(ProposalKind::Suggestion),
            _ => None,
        }
    }
}

/// The proposal or suggestion a reply answers: `区政协 十五届五次会议 第155105号提案`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalRef {
    pub assembly: Option<String>,
    pub session: Option<String>,
    /// As written, leading zeros kept (`0873`).
    pub number: Option<String>,
    pub kind: Option<ProposalKind>,
}

impl ProposalRef {
    /// The reference as staff write it: `市政协 十四届三次会议 第1221号提案` (empty when nothing is known).
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self.assembly.iter().chain(&self.session).cloned().collect();
        if let Some(number) = &self.number {
            parts.push(format!("第{number}号{}", self.kind.map_or("", |kind| kind.label())));
        }
        parts.join(" ")
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub postcode: Option<String>,
}

/// Where a reply came from, when it was imported from a document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub file_name: String,
    /// Hex SHA-256 of the document's bytes.
    pub sha256: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyRegistered {
    /// 答复 or 会办意见.
    pub doc_type: Option<String>,
    pub organ: String,
    pub doc_no: String,
    pub proposal: ProposalRef,
    pub proposers: Vec<String>,
    pub title: Option<String>,
    /// 办理结果 as written (解决采纳, 部分采纳或解决, A, B, …).
    pub result: Option<String>,
    pub disclosure: Option<String>,
    /// The lead organ a 会办意见 is addressed to; none for a 答复.
    pub addressee: Option<String>,
    /// The signing date; `None` when the document gives none (the reply is then 待补全, see [`ReplyRegistered::missing`]).
    #[serde(with = "signing_date")]
    pub signed_on: Option<NaiveDate>,
    pub printed_on: Option<NaiveDate>,
    pub contact: Option<Contact>,
    pub cc: Vec<String>,
    pub source: Option<Source>,
}

impl ReplyRegistered {
    /// The fields a registration needs and the document did not give (答复单位, 文号, 签发日期): the reply is
    /// 待补全 until staff supply them.
    pub fn missing(&self) -> Vec<&'static str> {
        [
            (self.organ.trim().is_empty(), "答复单位"),
            (self.doc_no.trim().is_empty(), "文号"),
            (self.signed_on.is_none(), "签发日期"),
        ]
        .into_iter()
        .filter_map(|(absent, name)| absent.then_some(name))
        .collect()
    }
}

/// A correction of what a reply's registration says (read wrongly, or missing: 待补全). Only the fields given are
/// corrected; the rest stand. The registration itself is never rewritten: the log keeps what was read and what was
/// corrected, when and why.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyAmended {
    pub organ: Option<String>,
    pub doc_no: Option<String>,
    pub signed_on: Option<NaiveDate>,
    pub doc_type: Option<String>,
    pub title: Option<String>,
    pub result: Option<String>,
    pub assembly: Option<String>,
    pub session: Option<String>,
    pub number: Option<String>,
    pub kind: Option<ProposalKind>,
    pub proposers: Option<Vec<String>>,
    pub reason: String,
}

impl ReplyAmended {
    /// The corrected fields, each as its Chinese name, the `duban reply amend` flag that sets it, and its new values
    /// (several only for the proposers): the one list `describe` and the amendment an import offers are made from.
    pub fn changes(&self) -> Vec<(&'static str, &'static str, Vec<String>)> {
        let texts = [
            ("答复单位", "organ", &self.organ),
            ("文号", "doc-no", &self.doc_no),
            ("文种", "doc-type", &self.doc_type),
            ("标题", "title", &self.title),
            ("办理结果", "result", &self.result),
            ("会议", "assembly", &self.assembly),
            ("届次", "session", &self.session),
            ("编号", "number", &self.number),
        ];
        let mut changes: Vec<(&'static str, &'static str, Vec<String>)> = texts
            .into_iter()
            .filter_map(|(name, flag, value)| value.as_ref().map(|value| (name, flag, vec![value.clone()])))
            .collect();
        if let Some(signed_on) = self.signed_on {
            changes.push(("签发日期", "signed-on", vec![signed_on.to_string()]));
        }
        if let Some(kind) = self.kind {
            changes.push(("类别", "kind", vec![kind.label().to_string()]));
        }
        if let Some(proposers) = &self.proposers {
            changes.push(("提出人", "proposer", proposers.clone()));
        }
        changes
    }

    /// The corrected fields, as `名称→新值`.
    pub fn describe(&self) -> String {
        let parts: Vec<String> =
            self.changes().into_iter().map(|(name, _, values)| format!("{name}→{}", values.join("、"))).collect();
        parts.join("；")
    }

    /// Whether it corrects anything at all.
    pub fn is_empty(&self) -> bool {
        self.describe().is_empty()
    }

    /// The registration with these corrections made.
    pub fn applied_to(&self, registered: &ReplyRegistered) -> ReplyRegistered {
        let mut amended = registered.clone();
        let set = |field: &mut String, value: &Option<String>| {
            if let Some(value) = value {
                field.clone_from(value);
            }
        };
        set(&mut amended.organ, &self.organ);
        set(&mut amended.doc_no, &self.doc_no);
        let set_optional = |field: &mut Option<String>, value: &Option<String>| {
            if let Some(value) = value {
                *field = Some(value.clone());
            }
        };
        set_optional(&mut amended.doc_type, &self.doc_type);
        set_optional(&mut amended.title, &self.title);
        set_optional(&mut amended.result, &self.result);
        set_optional(&mut amended.proposal.assembly, &self.assembly);
        set_optional(&mut amended.proposal.session, &self.session);
        set_optional(&mut amended.proposal.number, &self.number);
        if let Some(signed_on) = self.signed_on {
            amended.signed_on = Some(signed_on);
        }
        if let Some(kind) = self.kind {
            amended.proposal.kind = Some(kind);
        }
        if let Some(proposers) = &self.proposers {
            amended.proposers.clone_from(proposers);
        }
        amended
    }
}

/// A correction of a commitment as it was read from its reply: its text or section. (Who owns it and when it is due
/// have their own facts: `Reassigned`, `DueDateSet`.)
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitmentAmended {
    pub text: Option<String>,
    pub section: Option<Section>,
    pub reason: String,
}

impl CommitmentAmended {
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(text) = &self.text {
            parts.push(format!("内容→{text}"));
        }
        if let Some(section) = self.section {
            parts.push(format!("位置→{}", section.label()));
        }
        parts.join("；")
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_none() && self.section.is_none()
    }
}

/// A signing date that may be missing. In JSON, `null` or `"YYYY-MM-DD"`. In the stored (positional) form, the same
/// string a `NaiveDate` writes, so that version-1 records keep their bytes and hashes, and an empty string for a
/// missing date (schema version 2).
mod signing_date {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(date: &Option<NaiveDate>, serializer: S) -> Result<S::Ok, S::Error> {
        match date {
            Some(date) => date.serialize(serializer),
            None if serializer.is_human_readable() => serializer.serialize_none(),
            None => serializer.serialize_str(""),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<NaiveDate>, D::Error> {
        if deserializer.is_human_readable() {
            return Option::<NaiveDate>::deserialize(deserializer);
        }
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        if text.is_empty() {
            return Ok(None);
        }
        text.parse().map(Some).map_err(serde::de::Error::custom)
    }
}

/// 满意 / 基本满意 / 不满意: the proposer's view of a reply, recorded apart from fulfilment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    Satisfied,
    BasicallySatisfied,
    Dissatisfied,
}

impl Satisfaction {
    pub fn label(self) -> &'static str {
        match self {
            Satisfaction::Satisfied => "满意",
            Satisfaction::BasicallySatisfied => "基本满意",
            Satisfaction::Dissatisfied => "不满意",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Satisfaction::Satisfied => "satisfied",
            Satisfaction::BasicallySatisfied => "basically_satisfied",
            Satisfaction::Dissatisfied => "dissatisfied",
        }
    }

    /// Accepts the Chinese label or the English code (`-` or `_`).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().replace('-', "_").as_str() {
            "满意" | "satisfied" => Some(Satisfaction::Satisfied),
            "基本满意" | "basically_satisfied" => Some(Satisfaction::BasicallySatisfied),
            "不满意" | "dissatisfied" => Some(Satisfaction::Dissatisfied),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyEvaluated {
    pub satisfaction: Satisfaction,
    pub comment: Option<String>,
}

/// Where in the reply a commitment stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// The forward-looking closing section (下一步, 下阶段, 今后).
    NextSteps,
    /// A sentence in the body announcing work not yet done.
    Body,
}

impl Section {
    pub fn code(self) -> &'static str {
        match self {
            Section::NextSteps => "next_steps",
            Section::Body => "body",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Section::NextSteps => "下一步",
            Section::Body => "正文",
        }
    }

    /// Accepts the code or the label.
    pub fn parse(text: &str) -> Option<Section> {
        match text.trim() {
            "next_steps" | "next-steps" | "下一步" => Some(Section::NextSteps),
            "body" | "正文" => Some(Section::Body),
            _ => None,
        }
    }
}

/// Where a commitment's text stands in its source document's normalised text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Locator {
    pub paragraph: u32,
    pub start: u32,
    pub end: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitmentMade {
    pub reply: Ulid,
    /// The promise as quoted from the reply.
    pub text: String,
    pub section: Section,
    pub owner: String,
    pub co_handlers: Vec<String>,
    pub due: Option<NaiveDate>,
    /// The phrase the due date was read from (`年底前`), when it came from the text.
    pub due_phrase: Option<String>,
    pub locator: Option<Locator>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressReported {
    pub summary: String,
    pub evidence: Vec<String>,
    pub percent: Option<u8>,
}

/// A file given as evidence (佐证材料): a scanned notice, a photo, a spreadsheet. The file itself is kept beside the
/// log by its SHA-256 (the store's attachments), so the fact names it exactly and a copy can be checked against it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceAttached {
    /// The file's name as it was given (no folder).
    pub file_name: String,
    /// Hex SHA-256 of its content (lowercase).
    pub sha256: String,
    pub bytes: u64,
    /// Its kind, as recognised from its content (`application/pdf`, `image/png`, …).
    pub media_type: String,
}

/// What a reviewer changed of what duban read from a document, recorded with the registration it led to, so that
/// the reader's misses can be counted later (fields misread, promises missed, sentences taken for promises).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntakeReviewed {
    /// Fields of the registration and of promises given otherwise than read.
    pub corrections: Vec<Correction>,
    /// Promises read from the document that the reviewer dropped (their text as read).
    pub dropped: Vec<String>,
    /// Promises the reviewer added, which the reader missed (their text).
    pub added: Vec<String>,
}

/// One value given otherwise than read: `field` names it (`文号`, `承诺 2 的期限`), `read` is what was read (empty when
/// nothing was), `given` what the reviewer gave (empty when cleared).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correction {
    pub field: String,
    pub read: String,
    pub given: String,
}

impl IntakeReviewed {
    pub fn is_empty(&self) -> bool {
        self.corrections.is_empty() && self.dropped.is_empty() && self.added.is_empty()
    }

    /// `改 2 处（文号、承诺 1 的内容），删去 1 条，补充 1 条`
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.corrections.is_empty() {
            let fields: Vec<&str> = self.corrections.iter().map(|c| c.field.as_str()).collect();
            parts.push(format!("改 {} 处（{}）", fields.len(), fields.join("、")));
        }
        if !self.dropped.is_empty() {
            parts.push(format!("删去 {} 条", self.dropped.len()));
        }
        if !self.added.is_empty() {
            parts.push(format!("补充 {} 条", self.added.len()));
        }
        if parts.is_empty() {
            "按识别结果登记，未作修改".to_string()
        } else {
            parts.join("，")
        }
    }
}

/// `12 字节`, `3.4 KB`, `1.2 MB`.
pub fn human_bytes(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} 字节"),
        1_000..1_000_000 => format!("{:.1} KB", bytes as f64 / 1e3),
        _ => format!("{:.1} MB", bytes as f64 / 1e6),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueDateSet {
    pub due: NaiveDate,
    /// Required when an existing due date is changed.
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reassigned {
    pub owner: String,
    pub reason: String,
}

/// How a closed commitment ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Fulfilled,
    PartiallyFulfilled,
    NotFulfilled,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Fulfilled => "已落实",
            Outcome::PartiallyFulfilled => "部分落实",
            Outcome::NotFulfilled => "未落实",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Outcome::Fulfilled => "fulfilled",
            Outcome::PartiallyFulfilled => "partially_fulfilled",
            Outcome::NotFulfilled => "not_fulfilled",
        }
    }

    /// Accepts the Chinese label or the English code (`-` or `_`).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().replace('-', "_").as_str() {
            "已落实" | "fulfilled" => Some(Outcome::Fulfilled),
            "部分落实" | "partially_fulfilled" => Some(Outcome::PartiallyFulfilled),
            "未落实" | "not_fulfilled" => Some(Outcome::NotFulfilled),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closed {
    pub outcome: Outcome,
    pub summary: String,
    pub evidence: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reopened {
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteAdded {
    pub text: String,
}

/// A commitment that should never have been recorded: by mistake, or as a duplicate of another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dismissed {
    pub reason: String,
    pub duplicate_of: Option<Ulid>,
}

impl Dismissed {
    /// Whether the commitment should never have been recorded (误录, or a duplicate of another): then, unless a date
    /// is given, it is withdrawn as of the day it was made, so that no earlier view keeps counting it.
    pub fn undoes_the_record(&self) -> bool {
        self.duplicate_of.is_some() || ["误录", "录错", "错录", "重复"].iter().any(|word| self.reason.contains(word))
    }
}

/// A fact as a command proposes it, before the store gives it a place in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    pub id: Ulid,
    pub stream: Ulid,
    pub occurred_on: NaiveDate,
    pub recorded_at: DateTime<Utc>,
    pub actor: String,
    pub event: Event,
}

impl NewEvent {
    /// Places the fact in the log: the store supplies the position and the chain hashes.
    pub fn sealed(self, seq: u64, version: u32, prev_hash: String, hash: String) -> Envelope {
        Envelope {
            seq,
            id: self.id,
            stream: self.stream,
            version,
            occurred_on: self.occurred_on,
            recorded_at: self.recorded_at,
            actor: self.actor,
            schema: SCHEMA_VERSION,
            prev_hash,
            hash,
            event: self.event,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    /// Pins the serialized form of every variant: stored logs and exports depend on these spellings.
    #[test]
    fn every_variant_serializes_to_its_pinned_json() {
        let reply: Ulid = "01JBZZZZZZZZZZZZZZZZZZZZZZ".parse().unwrap();
        let cases: Vec<(Event, &str)> = vec![
            (
                Event::ReplyRegistered(Box::new(ReplyRegistered {
                    doc_type: Some("答复".into()),
                    organ: "上海市测试局".into(),
                    doc_no: "测〔2025〕1号".into(),
                    proposal: ProposalRef {
                        assembly: Some("市政协".into()),
                        session: Some("十四届三次会议".into()),
                        number: Some("0873".into()),
                        kind: Some(ProposalKind::Proposal),
                    },
                    proposers: vec!["张三".into()],
                    title: Some("关于测试".into()),
                    result: Some("解决采纳".into()),
                    disclosure: Some("主动公开".into()),
                    addressee: None,
                    signed_on: Some(date("2025-05-29")),
                    printed_on: Some(date("2025-06-05")),
                    contact: Some(Contact { name: Some("李四".into()), ..Contact::default() }),
                    cc: vec!["市政协提案办".into()],
                    source: Some(Source { file_name: "a.txt".into(), sha256: "ab".into() }),
                })),
                r#"{"ReplyRegistered":{"doc_type":"答复","organ":"上海市测试局","doc_no":"测〔2025〕1号","proposal":{"assembly":"市政协","session":"十四届三次会议","number":"0873","kind":"proposal"},"proposers":["张三"],"title":"关于测试","result":"解决采纳","disclosure":"主动公开","addressee":null,"signed_on":"2025-05-29","printed_on":"2025-06-05","contact":{"name":"李四","phone":null,"address":null,"postcode":null},"cc":["市政协提案办"],"source":{"file_name":"a.txt","sha256":"ab"}}}"#,
            ),
            (
                Event::ReplyEvaluated(ReplyEvaluated { satisfaction: Satisfaction::BasicallySatisfied, comment: None }),
                r#"{"ReplyEvaluated":{"satisfaction":"basically_satisfied","comment":null}}"#,
            ),
            (
                Event::CommitmentMade(Box::new(CommitmentMade {
                    reply,
                    text: "年底前建成平台".into(),
                    section: Section::NextSteps,
                    owner: "市测试局".into(),
                    co_handlers: vec!["市财政局".into()],
                    due: Some(date("2025-12-31")),
                    due_phrase: Some("年底前".into()),
                    locator: Some(Locator { paragraph: 3, start: 10, end: 20 }),
                })),
                r#"{"CommitmentMade":{"reply":"01JBZZZZZZZZZZZZZZZZZZZZZZ","text":"年底前建成平台","section":"next_steps","owner":"市测试局","co_handlers":["市财政局"],"due":"2025-12-31","due_phrase":"年底前","locator":{"paragraph":3,"start":10,"end":20}}}"#,
            ),
            (
                Event::ProgressReported(ProgressReported {
                    summary: "完成招标".into(),
                    evidence: vec!["文件1".into()],
                    percent: Some(40),
                }),
                r#"{"ProgressReported":{"summary":"完成招标","evidence":["文件1"],"percent":40}}"#,
            ),
            (
                Event::DueDateSet(DueDateSet { due: date("2026-06-30"), reason: Some("资金延迟".into()) }),
                r#"{"DueDateSet":{"due":"2026-06-30","reason":"资金延迟"}}"#,
            ),
            (
                Event::Reassigned(Reassigned { owner: "区科委".into(), reason: "职能调整".into() }),
                r#"{"Reassigned":{"owner":"区科委","reason":"职能调整"}}"#,
            ),
            (
                Event::Closed(Closed {
                    outcome: Outcome::PartiallyFulfilled,
                    summary: "一期建成".into(),
                    evidence: vec![],
                }),
                r#"{"Closed":{"outcome":"partially_fulfilled","summary":"一期建成","evidence":[]}}"#,
            ),
            (Event::Reopened(Reopened { reason: "复查未达标".into() }), r#"{"Reopened":{"reason":"复查未达标"}}"#),
            (Event::NoteAdded(NoteAdded { text: "电话督办".into() }), r#"{"NoteAdded":{"text":"电话督办"}}"#),
            (
                Event::Dismissed(Dismissed { reason: "重复登记".into(), duplicate_of: Some(reply) }),
                r#"{"Dismissed":{"reason":"重复登记","duplicate_of":"01JBZZZZZZZZZZZZZZZZZZZZZZ"}}"#,
            ),
            (
                Event::ReplyAmended(Box::new(ReplyAmended {
                    doc_no: Some("测〔2025〕2号".into()),
                    signed_on: Some(date("2025-06-20")),
                    reason: "补录".into(),
                    ..ReplyAmended::default()
                })),
                r#"{"ReplyAmended":{"organ":null,"doc_no":"测〔2025〕2号","signed_on":"2025-06-20","doc_type":null,"title":null,"result":null,"assembly":null,"session":null,"number":null,"kind":null,"proposers":null,"reason":"补录"}}"#,
            ),
            (
                Event::CommitmentAmended(CommitmentAmended {
                    text: Some("加快建设平台".into()),
                    section: Some(Section::Body),
                    reason: "漏读".into(),
                }),
                r#"{"CommitmentAmended":{"text":"加快建设平台","section":"body","reason":"漏读"}}"#,
            ),
            (
                Event::ProposalAssigned(Box::new(ProposalAssigned {
                    kind: ProposalKind::Suggestion,
                    assembly: "县人大".into(),
                    session: "十八届三次会议".into(),
                    number: "045".into(),
                    title: "关于加快老旧小区改造的建议".into(),
                    proposers: vec!["王强".into()],
                    lead: "县住建局".into(),
                    co_handlers: vec!["县财政局".into()],
                    reply_by: date("2026-04-20"),
                    key: true,
                    led_by: Some("李县长".into()),
                    between_sessions: false,
                })),
                r#"{"ProposalAssigned":{"kind":"suggestion","assembly":"县人大","session":"十八届三次会议","number":"045","title":"关于加快老旧小区改造的建议","proposers":["王强"],"lead":"县住建局","co_handlers":["县财政局"],"reply_by":"2026-04-20","key":true,"led_by":"李县长","between_sessions":false}}"#,
            ),
            (
                Event::ProposalReassigned(ProposalReassigned {
                    lead: "县住建局".into(),
                    co_handlers: vec![],
                    returned: true,
                    reason: "退办".into(),
                }),
                r#"{"ProposalReassigned":{"lead":"县住建局","co_handlers":[],"returned":true,"reason":"退办"}}"#,
            ),
            (
                Event::ProposerContacted(ProposerContacted {
                    method: ContactMethod::Meeting,
                    organ: "县住建局".into(),
                    note: None,
                }),
                r#"{"ProposerContacted":{"method":"meeting","organ":"县住建局","note":null}}"#,
            ),
            (
                Event::ProposalAnswered(ProposalAnswered { reply, lead: false }),
                r#"{"ProposalAnswered":{"reply":"01JBZZZZZZZZZZZZZZZZZZZZZZ","lead":false}}"#,
            ),
            (
                Event::ProposalClassified(ProposalClassified {
                    class: ReplyClass::B,
                    wording: Some("列入计划解决".into()),
                    reason: None,
                }),
                r#"{"ProposalClassified":{"class":"B","wording":"列入计划解决","reason":null}}"#,
            ),
            (
                Event::ProposalDisclosed(ProposalDisclosed {
                    disclosure: Disclosure::Withheld,
                    reason: Some("涉及个人信息".into()),
                }),
                r#"{"ProposalDisclosed":{"disclosure":"withheld","reason":"涉及个人信息"}}"#,
            ),
            (
                Event::ProposalReviewed(ProposalReviewed { outcome: Outcome::Fulfilled, summary: "已建成".into() }),
                r#"{"ProposalReviewed":{"outcome":"fulfilled","summary":"已建成"}}"#,
            ),
            (
                Event::AccountCreated(AccountCreated {
                    name: "李科员".into(),
                    role: crate::Role::Organ,
                    organs: vec!["区科委".into()],
                }),
                r#"{"AccountCreated":{"name":"李科员","role":"organ","organs":["区科委"]}}"#,
            ),
            (
                Event::AccountChanged(AccountChanged { role: crate::Role::Liaison, organs: vec![] }),
                r#"{"AccountChanged":{"role":"liaison","organs":[]}}"#,
            ),
            (
                Event::AccountDisabled(AccountDisabled { disabled: true, reason: "调离".into() }),
                r#"{"AccountDisabled":{"disabled":true,"reason":"调离"}}"#,
            ),
            (Event::PasswordSet(PasswordSet {}), r#"{"PasswordSet":{}}"#),
            (
                Event::EvidenceAttached(EvidenceAttached {
                    file_name: "验收报告.pdf".into(),
                    sha256: "ab".repeat(32),
                    bytes: 1024,
                    media_type: "application/pdf".into(),
                }),
                r#"{"EvidenceAttached":{"file_name":"验收报告.pdf","sha256":"abababababababababababababababababababababababababababababababab","bytes":1024,"media_type":"application/pdf"}}"#,
            ),
            (
                Event::IntakeReviewed(Box::new(IntakeReviewed {
                    corrections: vec![Correction {
                        field: "文号".into(),
                        read: String::new(),
                        given: "沪科〔2025〕3号".into(),
                    }],
                    dropped: vec!["感谢您的建议。".into()],
                    added: vec!["年内出台实施细则。".into()],
                })),
                r#"{"IntakeReviewed":{"corrections":[{"field":"文号","read":"","given":"沪科〔2025〕3号"}],"dropped":["感谢您的建议。"],"added":["年内出台实施细则。"]}}"#,
            ),
        ];
        assert_eq!(cases.len(), EventKind::ALL.len(), "one case per variant");
        for (event, pinned) in cases {
            assert_eq!(serde_json::to_string(&event).unwrap(), pinned, "{}", event.tag());
            let back: Event = serde_json::from_str(pinned).unwrap();
            assert_eq!(back, event);
            assert!(pinned.starts_with(&format!("{{\"{}\"", event.tag())));
        }
    }

    #[test]
    fn labels_and_codes_parse_back() {
        for outcome in [Outcome::Fulfilled, Outcome::PartiallyFulfilled, Outcome::NotFulfilled] {
            assert_eq!(Outcome::parse(outcome.label()), Some(outcome));
            assert_eq!(Outcome::parse(outcome.code()), Some(outcome));
            assert_eq!(Outcome::parse(&outcome.code().replace('_', "-")), Some(outcome));
        }
        for satisfaction in [Satisfaction::Satisfied, Satisfaction::BasicallySatisfied, Satisfaction::Dissatisfied] {
            assert_eq!(Satisfaction::parse(satisfaction.label()), Some(satisfaction));
            assert_eq!(Satisfaction::parse(satisfaction.code()), Some(satisfaction));
        }
        assert_eq!(ProposalKind::parse("建议"), Some(ProposalKind::Suggestion));
        assert_eq!(Outcome::parse("done"), None);
    }
}
