//! The handling of a suggestion or proposal (件): 交办 to a lead organ and co-handlers, 退办 and re-assignment,
//! contact with the proposer, the replies that answer it, the reply's class (A/B/C), disclosure, and 回头看.
//!
//! Offices count and report 件, not promises (项): a proposal is a stream of its own, and a reply is linked to it by
//! a `ProposalAnswered` fact in the proposal's stream (the reply's own stream is untouched, so replies registered
//! before proposals existed keep their records). The proposer's evaluation stays on the reply it judges; a proposal's
//! satisfaction is its latest answer's.

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::error::DomainError;
use crate::event::{Event, Outcome, ProposalKind, Satisfaction};

/// How long the handling organ has to reply, counted from 交办, when the assignment names no date: three months, as
/// the rules for handling deputies' suggestions and members' proposals set.
pub const DEFAULT_REPLY_MONTHS: u32 = 3;

/// The reply-by date of a proposal assigned on `assigned_on` without one.
pub fn default_reply_by(assigned_on: NaiveDate) -> NaiveDate {
    assigned_on.checked_add_months(Months::new(DEFAULT_REPLY_MONTHS)).unwrap_or(assigned_on)
}

/// 交办: opens a proposal stream. Its date (the envelope's) is the day it was assigned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalAssigned {
    pub kind: ProposalKind,
    /// `市政协`, `区人大` …
    pub assembly: String,
    /// `十四届三次会议`.
    pub session: String,
    /// As written, leading zeros kept.
    pub number: String,
    pub title: String,
    pub proposers: Vec<String>,
    /// 主办单位.
    pub lead: String,
    /// 会办单位.
    pub co_handlers: Vec<String>,
    /// 答复期限.
    pub reply_by: NaiveDate,
    /// 重点督办件.
    pub key: bool,
    /// 领导领办: the leader who took it on, if any.
    pub led_by: Option<String>,
    /// Raised between sessions (闭会期间) rather than during the session.
    pub between_sessions: bool,
}

/// 退办 and re-assignment: the handlers from now on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalReassigned {
    pub lead: String,
    pub co_handlers: Vec<String>,
    /// Whether the previous lead returned it (退办) rather than the office moving it.
    pub returned: bool,
    pub reason: String,
}

/// How the handling organ reached the proposer before replying.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactMethod {
    /// 面商 / 见面.
    Meeting,
    Phone,
    Letter,
}

impl ContactMethod {
    pub const ALL: [ContactMethod; 3] = [ContactMethod::Meeting, ContactMethod::Phone, ContactMethod::Letter];

    pub fn label(self) -> &'static str {
        match self {
            ContactMethod::Meeting => "面商",
            ContactMethod::Phone => "电话",
            ContactMethod::Letter => "书面",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            ContactMethod::Meeting => "meeting",
            ContactMethod::Phone => "phone",
            ContactMethod::Letter => "letter",
        }
    }

    /// Accepts the label, the code, or the words offices use (见面, 座谈, 走访, 电话沟通, 函复 …).
    pub fn parse(text: &str) -> Option<ContactMethod> {
        let text = text.trim();
        ContactMethod::ALL.into_iter().find(|method| text == method.code()).or_else(|| {
            if ["面商", "见面", "座谈", "走访", "当面", "上门", "现场"].iter().any(|w| text.contains(w)) {
                Some(ContactMethod::Meeting)
            } else if text.contains("电话") {
                Some(ContactMethod::Phone)
            } else if ["书面", "函", "信"].iter().any(|w| text.contains(w)) {
                Some(ContactMethod::Letter)
            } else {
                None
            }
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposerContacted {
    pub method: ContactMethod,
    /// The organ that made contact.
    pub organ: String,
    pub note: Option<String>,
}

/// A reply answering the proposal: from the lead it is the 答复, from a co-handler the 会办意见.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalAnswered {
    pub reply: Ulid,
    pub lead: bool,
}

/// 办理结果 class: the one figure per class that reports compare, whatever each organ's wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ReplyClass {
    /// 解决采纳: solved or adopted.
    A,
    /// 正在解决 / 列入计划 / 计划解决: being solved, or planned.
    B,
    /// 留作参考: kept for reference, or cannot be solved now.
    C,
}

impl ReplyClass {
    pub const ALL: [ReplyClass; 3] = [ReplyClass::A, ReplyClass::B, ReplyClass::C];

    pub fn code(self) -> &'static str {
        match self {
            ReplyClass::A => "A",
            ReplyClass::B => "B",
            ReplyClass::C => "C",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ReplyClass::A => "A类（解决采纳）",
            ReplyClass::B => "B类（正在解决或列入计划）",
            ReplyClass::C => "C类（留作参考）",
        }
    }

    /// The written table (docs/metrics.md) from 办理结果 wording to class: a letter first (`A`, `B类`), then
    /// wording of class C, then B, then A — "部分采纳" is B and "暂不能解决" is C, although both name solving.
    pub fn from_wording(wording: &str) -> Option<ReplyClass> {
        let text: String = wording.split_whitespace().collect();
        let text = text.trim_start_matches(['（', '(', '【', '[']);
        match text.chars().next()?.to_ascii_uppercase() {
            'A' => return Some(ReplyClass::A),
            'B' => return Some(ReplyClass::B),
            'C' => return Some(ReplyClass::C),
            _ => {}
        }
        const C: [&str; 9] = ["参考", "无法", "暂不", "难以", "不能", "不予", "暂缓", "条件不", "不具备"];
        const B: [&str; 7] = ["正在", "列入", "计划", "部分", "逐步", "拟", "推进中"];
        const A: [&str; 4] = ["解决", "采纳", "已办", "落实"];
        if C.iter().any(|word| text.contains(word)) {
            Some(ReplyClass::C)
        } else if B.iter().any(|word| text.contains(word)) {
            Some(ReplyClass::B)
        } else if A.iter().any(|word| text.contains(word)) {
            Some(ReplyClass::A)
        } else {
            None
        }
    }

    pub fn parse(text: &str) -> Option<ReplyClass> {
        ReplyClass::from_wording(text)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalClassified {
    pub class: ReplyClass,
    /// The 办理结果 wording the class was read from, when it was.
    pub wording: Option<String>,
    /// Why staff set it, when they did (overriding the table).
    pub reason: Option<String>,
}

/// 公开属性.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disclosure {
    /// 主动公开.
    Active,
    /// 依申请公开.
    OnRequest,
    /// 不予公开.
    Withheld,
}

impl Disclosure {
    pub const ALL: [Disclosure; 3] = [Disclosure::Active, Disclosure::OnRequest, Disclosure::Withheld];

    pub fn label(self) -> &'static str {
        match self {
            Disclosure::Active => "主动公开",
            Disclosure::OnRequest => "依申请公开",
            Disclosure::Withheld => "不予公开",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Disclosure::Active => "active",
            Disclosure::OnRequest => "on_request",
            Disclosure::Withheld => "withheld",
        }
    }

    /// Accepts the label, the code, or the wording of a reply's 公开属性 (`主动公开·全文`, `不公开`).
    pub fn parse(text: &str) -> Option<Disclosure> {
        let text = text.trim().replace('-', "_");
        if let Some(found) = Disclosure::ALL.into_iter().find(|d| text == d.code()) {
            return Some(found);
        }
        if text.contains("不予公开") || text.contains("不公开") || text.contains("免于公开") {
            Some(Disclosure::Withheld)
        } else if text.contains("依申请") {
            Some(Disclosure::OnRequest)
        } else if text.contains("主动公开") || text == "公开" {
            Some(Disclosure::Active)
        } else {
            None
        }
    }

    /// Whether the reply is published (上网公开): actively.
    pub fn published(self) -> bool {
        self == Disclosure::Active
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalDisclosed {
    pub disclosure: Disclosure,
    /// Required for 不予公开.
    pub reason: Option<String>,
}

/// 回头看: a dated review of an earlier reply's handling and its promises.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalReviewed {
    pub outcome: Outcome,
    pub summary: String,
}

/// One reply answering a proposal, as linked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub reply: Ulid,
    pub lead: bool,
    pub on: NaiveDate,
}

/// A proposal as its events describe it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalState {
    pub id: Option<Ulid>,
    pub version: u32,
    pub assigned: Option<ProposalAssigned>,
    pub assigned_on: Option<NaiveDate>,
    /// The handlers now (after any re-assignment).
    pub lead: String,
    pub co_handlers: Vec<String>,
    pub reassignments: u32,
    pub returns: u32,
    /// Contacts with the proposer: date and method, in the order recorded.
    pub contacts: Vec<(NaiveDate, ContactMethod)>,
    /// Linked replies, in the order linked.
    pub answers: Vec<Answer>,
    pub class: Option<ReplyClass>,
    pub disclosure: Option<(Disclosure, Option<String>)>,
    /// 回头看, in the order recorded.
    pub reviews: Vec<(NaiveDate, Outcome)>,
    /// 编号, as [`crate::ReplyState::number`].
    #[serde(skip)]
    pub number: u64,
}

impl ProposalState {
    pub fn apply(&mut self, envelope: &crate::Envelope) {
        self.id.get_or_insert(envelope.stream);
        self.version = envelope.version;
        if envelope.version == 1 {
            self.number = envelope.seq;
        }
        let on = envelope.occurred_on;
        match &envelope.event {
            Event::ProposalAssigned(assigned) => {
                self.lead.clone_from(&assigned.lead);
                self.co_handlers.clone_from(&assigned.co_handlers);
                self.assigned = Some((**assigned).clone());
                self.assigned_on = Some(on);
            }
            Event::ProposalReassigned(moved) => {
                self.lead.clone_from(&moved.lead);
                self.co_handlers.clone_from(&moved.co_handlers);
                self.reassignments += 1;
                self.returns += u32::from(moved.returned);
            }
            Event::ProposerContacted(contact) => self.contacts.push((on, contact.method)),
            Event::ProposalAnswered(answer) => {
                self.answers.push(Answer { reply: answer.reply, lead: answer.lead, on });
            }
            Event::ProposalClassified(classified) => self.class = Some(classified.class),
            Event::ProposalDisclosed(disclosed) => {
                self.disclosure = Some((disclosed.disclosure, disclosed.reason.clone()));
            }
            Event::ProposalReviewed(reviewed) => self.reviews.push((on, reviewed.outcome)),
            _ => {}
        }
    }

    pub fn fold<'a>(events: impl IntoIterator<Item = &'a crate::Envelope>) -> Self {
        let mut state = Self::default();
        for envelope in events {
            state.apply(envelope);
        }
        state
    }

    /// The reference staff write: `市政协 十四届三次会议 第1221号提案`.
    pub fn describe(&self) -> String {
        self.assigned
            .as_ref()
            .map_or_else(String::new, |a| format!("{} {} 第{}号{}", a.assembly, a.session, a.number, a.kind.label()))
    }

    pub fn title(&self) -> &str {
        self.assigned.as_ref().map_or("", |a| a.title.as_str())
    }

    pub fn reply_by(&self) -> Option<NaiveDate> {
        self.assigned.as_ref().map(|a| a.reply_by)
    }

    /// The answers from the lead organ (答复), in the order linked: a second one is the re-handling's.
    pub fn lead_answers(&self) -> impl Iterator<Item = &Answer> + '_ {
        self.answers.iter().filter(|answer| answer.lead)
    }

    /// The first 答复: the one a reply-by deadline is judged on.
    pub fn first_reply(&self) -> Option<&Answer> {
        self.lead_answers().min_by_key(|answer| answer.on)
    }

    /// The latest 答复: the one the proposer's evaluation and the class speak of.
    pub fn latest_reply(&self) -> Option<&Answer> {
        self.lead_answers().max_by_key(|answer| answer.on)
    }

    pub fn answered_by(&self, reply: &Ulid) -> bool {
        self.answers.iter().any(|answer| answer.reply == *reply)
    }

    /// The first contact with the proposer on or before `by`.
    pub fn contacted_by(&self, by: NaiveDate) -> Option<(NaiveDate, ContactMethod)> {
        self.contacts.iter().filter(|(on, _)| *on <= by).min_by_key(|(on, _)| *on).copied()
    }

    /// The latest 回头看 (the last recorded on its date).
    pub fn latest_review(&self) -> Option<(NaiveDate, Outcome)> {
        self.reviews.iter().rev().max_by_key(|(on, _)| *on).copied()
    }
}

/// Where a proposal's handling stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    /// 办理中: assigned, no 答复 yet, the reply-by date not passed.
    Handling,
    /// 逾期未复: no 答复 and the reply-by date passed.
    ReplyOverdue,
    /// 已答复: answered, not yet evaluated.
    Replied,
    /// 重新办理: the latest 答复 was judged 不满意, and no later one has come.
    Rehandling,
    /// 已评价: answered and judged 满意 or 基本满意.
    Evaluated,
}

impl ProposalStatus {
    pub const ALL: [ProposalStatus; 5] = [
        ProposalStatus::Handling,
        ProposalStatus::ReplyOverdue,
        ProposalStatus::Replied,
        ProposalStatus::Rehandling,
        ProposalStatus::Evaluated,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ProposalStatus::Handling => "handling",
            ProposalStatus::ReplyOverdue => "reply_overdue",
            ProposalStatus::Replied => "replied",
            ProposalStatus::Rehandling => "rehandling",
            ProposalStatus::Evaluated => "evaluated",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ProposalStatus::Handling => "办理中",
            ProposalStatus::ReplyOverdue => "逾期未复",
            ProposalStatus::Replied => "已答复",
            ProposalStatus::Rehandling => "重新办理",
            ProposalStatus::Evaluated => "已评价",
        }
    }

    pub fn parse(text: &str) -> Option<ProposalStatus> {
        let text = text.trim().replace('-', "_");
        ProposalStatus::ALL.into_iter().find(|status| text == status.code() || text == status.label())
    }
}

/// A proposal's status on `today`, given the evaluation of its latest 答复 (the evaluation is recorded on the reply).
pub fn proposal_status(
    proposal: &ProposalState,
    latest_evaluation: Option<Satisfaction>,
    today: NaiveDate,
) -> ProposalStatus {
    if proposal.latest_reply().is_none() {
        return match proposal.reply_by() {
            Some(by) if by < today => ProposalStatus::ReplyOverdue,
            _ => ProposalStatus::Handling,
        };
    }
    match latest_evaluation {
        Some(Satisfaction::Dissatisfied) => ProposalStatus::Rehandling,
        Some(_) => ProposalStatus::Evaluated,
        None => ProposalStatus::Replied,
    }
}

/// Checks a fact about a proposal before it is appended to the proposal's stream.
pub fn check_proposal_event(
    proposal: &ProposalState,
    occurred_on: NaiveDate,
    event: &Event,
    today: NaiveDate,
) -> Result<(), DomainError> {
    use crate::validate::{check_not_future, check_optional_text as check_optional, check_text};
    check_not_future(occurred_on, today)?;
    if let Event::ProposalAssigned(assigned) = event {
        if let (Some(id), Some(_)) = (proposal.id, &proposal.assigned) {
            return Err(DomainError::AlreadyRegistered { id });
        }
        check_text("会议", &assigned.assembly)?;
        check_text("届次", &assigned.session)?;
        check_text("案号", &assigned.number)?;
        check_text("案由", &assigned.title)?;
        check_text("主办单位", &assigned.lead)?;
        for proposer in &assigned.proposers {
            check_text("提出人", proposer)?;
        }
        check_handlers(&assigned.lead, &assigned.co_handlers)?;
        if let Some(leader) = &assigned.led_by {
            check_text("领办领导", leader)?;
        }
        if assigned.reply_by < occurred_on {
            return Err(DomainError::ReplyByBeforeAssigned { reply_by: assigned.reply_by, assigned_on: occurred_on });
        }
        return Ok(());
    }
    let (Some(id), Some(assigned_on)) = (proposal.id, proposal.assigned_on) else {
        return Err(DomainError::WrongStream { event: event.tag(), expected: "已交办的建议或提案" });
    };
    if occurred_on < assigned_on {
        return Err(DomainError::BeforeAssigned { id, on: occurred_on, assigned_on });
    }
    match event {
        Event::ProposalReassigned(moved) => {
            check_text("主办单位", &moved.lead)?;
            check_handlers(&moved.lead, &moved.co_handlers)?;
            check_text("调整理由", &moved.reason)?;
            if moved.lead == proposal.lead && moved.co_handlers == proposal.co_handlers {
                return Err(DomainError::SameHandlers { id, lead: proposal.lead.clone() });
            }
            Ok(())
        }
        Event::ProposerContacted(contact) => {
            check_text("联系单位", &contact.organ)?;
            if let Some(note) = &contact.note {
                check_optional("联系情况", note)?;
            }
            Ok(())
        }
        Event::ProposalAnswered(answer) => {
            if proposal.answered_by(&answer.reply) {
                return Err(DomainError::AlreadyLinked { id, reply: answer.reply });
            }
            Ok(())
        }
        Event::ProposalClassified(classified) => {
            if proposal.class == Some(classified.class) {
                return Err(DomainError::SameClass { id, class: classified.class.code() });
            }
            if let Some(reason) = &classified.reason {
                check_text("分类理由", reason)?;
            }
            if let Some(wording) = &classified.wording {
                check_optional("办理结果", wording)?;
            }
            Ok(())
        }
        Event::ProposalDisclosed(disclosed) => {
            if proposal
                .disclosure
                .as_ref()
                .is_some_and(|(d, reason)| *d == disclosed.disclosure && *reason == disclosed.reason)
            {
                return Err(DomainError::AmendsNothing { id });
            }
            match &disclosed.reason {
                Some(reason) => check_text("不公开理由", reason),
                None if disclosed.disclosure == Disclosure::Withheld => {
                    Err(DomainError::EmptyText { field: "不予公开的理由（--reason）" })
                }
                None => Ok(()),
            }
        }
        Event::ProposalReviewed(reviewed) => {
            if proposal.latest_reply().is_none_or(|answer| answer.on > occurred_on) {
                return Err(DomainError::ReviewBeforeReply { id, on: occurred_on });
            }
            check_text("回头看情况", &reviewed.summary)
        }
        _ => Err(DomainError::WrongStream { event: event.tag(), expected: "建议或提案" }),
    }
}

fn check_handlers(lead: &str, co_handlers: &[String]) -> Result<(), DomainError> {
    for (at, handler) in co_handlers.iter().enumerate() {
        crate::validate::check_text("会办单位", handler)?;
        if handler == lead || co_handlers[..at].contains(handler) {
            return Err(DomainError::RepeatedHandler { organ: handler.clone() });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Envelope, NewEvent, ReplyEvaluated};
    use chrono::{TimeZone, Utc};

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn sealed(stream: Ulid, version: u32, on: &str, event: Event) -> Envelope {
        let recorded_at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        NewEvent { id: Ulid::new(), stream, occurred_on: day(on), recorded_at, actor: "王芳".into(), event }.sealed(
            u64::from(version),
            version,
            String::new(),
            String::new(),
        )
    }

    fn assigned(reply_by: &str) -> Event {
        Event::ProposalAssigned(Box::new(ProposalAssigned {
            kind: ProposalKind::Proposal,
            assembly: "市政协".into(),
            session: "十四届三次会议".into(),
            number: "0873".into(),
            title: "关于概念验证平台的提案".into(),
            proposers: vec!["张三".into()],
            lead: "市科委".into(),
            co_handlers: vec!["市财政局".into()],
            reply_by: day(reply_by),
            key: false,
            led_by: None,
            between_sessions: false,
        }))
    }

    /// The written table: a letter first, then class C wording, then B, then A.
    #[test]
    fn reply_classes_are_read_from_the_wording_by_the_written_table() {
        for (wording, class) in [
            ("A", Some(ReplyClass::A)),
            ("B类", Some(ReplyClass::B)),
            ("（C）", Some(ReplyClass::C)),
            ("解决采纳", Some(ReplyClass::A)),
            ("采纳或解决", Some(ReplyClass::A)),
            ("部分采纳或解决", Some(ReplyClass::B)),
            ("正在解决", Some(ReplyClass::B)),
            ("列入计划解决", Some(ReplyClass::B)),
            ("留作参考", Some(ReplyClass::C)),
            ("因条件限制暂不能解决", Some(ReplyClass::C)),
            ("已收悉", None),
        ] {
            assert_eq!(ReplyClass::from_wording(wording), class, "{wording}");
        }
        assert_eq!(Disclosure::parse("主动公开·全文"), Some(Disclosure::Active));
        assert_eq!(Disclosure::parse("不公开"), Some(Disclosure::Withheld));
        assert_eq!(ContactMethod::parse("电话沟通"), Some(ContactMethod::Phone));
        assert_eq!(default_reply_by(day("2025-11-30")), day("2026-02-28"), "three months, the month's last day kept");
    }

    #[test]
    fn a_proposal_folds_and_its_status_follows_the_latest_answer() {
        let id = Ulid::new();
        let (first, second) = (Ulid::new(), Ulid::new());
        let mut state = ProposalState::fold(&[sealed(id, 1, "2025-03-01", assigned("2025-06-01"))]);
        assert_eq!(proposal_status(&state, None, day("2025-05-01")), ProposalStatus::Handling);
        assert_eq!(proposal_status(&state, None, day("2025-06-02")), ProposalStatus::ReplyOverdue);
        state.apply(&sealed(
            id,
            2,
            "2025-05-20",
            Event::ProposalAnswered(ProposalAnswered { reply: first, lead: true }),
        ));
        assert_eq!(proposal_status(&state, None, day("2025-06-02")), ProposalStatus::Replied);
        let dissatisfied = Some(Satisfaction::Dissatisfied);
        assert_eq!(proposal_status(&state, dissatisfied, day("2025-07-01")), ProposalStatus::Rehandling);
        state.apply(&sealed(
            id,
            3,
            "2025-08-01",
            Event::ProposalAnswered(ProposalAnswered { reply: second, lead: true }),
        ));
        assert_eq!(state.first_reply().map(|a| a.reply), Some(first));
        assert_eq!(state.latest_reply().map(|a| a.reply), Some(second));
        assert_eq!(
            proposal_status(&state, Some(Satisfaction::Satisfied), day("2025-09-01")),
            ProposalStatus::Evaluated
        );
        assert_eq!(state.number, 1);
    }

    #[test]
    fn proposal_facts_are_refused_with_their_reason() {
        let id = Ulid::new();
        let today = day("2025-09-01");
        let empty = ProposalState::default();
        let before = check_proposal_event(&empty, day("2025-07-01"), &assigned("2025-06-01"), today);
        assert!(matches!(before, Err(DomainError::ReplyByBeforeAssigned { .. })), "{before:?}");
        let state = ProposalState::fold(&[sealed(id, 1, "2025-03-01", assigned("2025-06-01"))]);
        let again = check_proposal_event(&state, day("2025-03-01"), &assigned("2025-06-01"), today);
        assert!(matches!(again, Err(DomainError::AlreadyRegistered { .. })));
        let same = Event::ProposalReassigned(ProposalReassigned {
            lead: "市科委".into(),
            co_handlers: vec!["市财政局".into()],
            returned: false,
            reason: "调整".into(),
        });
        assert!(matches!(check_proposal_event(&state, today, &same, today), Err(DomainError::SameHandlers { .. })));
        let doubled = Event::ProposalReassigned(ProposalReassigned {
            lead: "市经信委".into(),
            co_handlers: vec!["市经信委".into()],
            returned: true,
            reason: "退办".into(),
        });
        assert!(matches!(
            check_proposal_event(&state, today, &doubled, today),
            Err(DomainError::RepeatedHandler { .. })
        ));
        let early = Event::ProposerContacted(ProposerContacted {
            method: ContactMethod::Phone,
            organ: "市科委".into(),
            note: None,
        });
        let refused = check_proposal_event(&state, day("2025-02-01"), &early, today).unwrap_err();
        assert!(refused.to_string().contains("交办日期 2025-03-01"), "{refused}");
        let withheld = Event::ProposalDisclosed(ProposalDisclosed { disclosure: Disclosure::Withheld, reason: None });
        assert!(check_proposal_event(&state, today, &withheld, today).unwrap_err().to_string().contains("--reason"));
        let review =
            Event::ProposalReviewed(ProposalReviewed { outcome: Outcome::Fulfilled, summary: "建成".into() });
        assert!(matches!(
            check_proposal_event(&state, today, &review, today),
            Err(DomainError::ReviewBeforeReply { .. })
        ));
        let evaluation = Event::ReplyEvaluated(ReplyEvaluated { satisfaction: Satisfaction::Satisfied, comment: None });
        assert!(matches!(
            check_proposal_event(&state, today, &evaluation, today),
            Err(DomainError::WrongStream { .. })
        ));
        let future = check_proposal_event(&state, day("2025-09-02"), &early, today);
        assert!(matches!(future, Err(DomainError::InFuture { .. })));
    }
}
