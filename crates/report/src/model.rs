//! The report model: every figure of the annual follow-up report, in the order it is presented. Field names are the
//! stable `--format json` contract; rates are fractions (0–1), absent when their denominator is zero.

use chrono::NaiveDate;
use duban_domain::{DueSource, EventKind, IdMap, ProposalRef, ReplyState, Status};
use serde::{Serialize, Serializer};
use ulid::Ulid;

use crate::build::Tracked;
use crate::facts::Shared;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub title: String,
    pub year: i32,
    pub as_of: NaiveDate,
    pub filters: Filters,
    /// The handling figures (件 first, then 项), defined in docs/metrics.md.
    pub metrics: crate::metrics::Metrics,
    /// 分单位, 分类, 回头看, 重点督办 and the register, by proposal.
    #[serde(flatten)]
    pub handling: crate::metrics::Handling,
    pub overview: Overview,
    pub by_organ: Vec<GroupRow>,
    pub by_session: Vec<GroupRow>,
    pub by_kind: Vec<GroupRow>,
    pub attention: Vec<AttentionRow>,
    pub details: Details,
    pub audit: Vec<AuditHint>,
    /// Progress reports and closures per month of the year (for the activity chart).
    pub activity: Vec<MonthActivity>,
    /// The issuing office (落款), when the report names one.
    pub issuer: Option<String>,
    pub footer: Footer,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Filters {
    pub organ: Option<String>,
    pub assembly: Option<String>,
}

/// 总体情况.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Overview {
    /// Replies signed in the year (within the filters).
    pub replies: usize,
    /// Replies from earlier years with commitments carried over.
    pub replies_carried_over: usize,
    /// All commitments in scope: made in the year's replies, plus those carried over.
    pub commitments: usize,
    pub new_commitments: usize,
    /// Commitments from earlier years still open on 1 January.
    pub carried_over: usize,
    pub by_status: Vec<StatusCount>,
    /// Commitments in scope, not dismissed, whose due date is on or before the as-of date.
    pub due: usize,
    /// Of those, fulfilled (已落实).
    pub fulfilled_due: usize,
    /// 办成率 / 落实率: `fulfilled_due ÷ due`.
    pub fulfilment_rate: Option<f64>,
    /// Of the due commitments, fulfilled on or before their due date.
    pub on_time: usize,
    pub on_time_rate: Option<f64>,
    /// Due date passed with no progress, no due-date change and no closure since.
    pub silent_deferrals: usize,
    /// Where the commitments' due dates come from: read from the reply, set by staff, the policy's default, none.
    pub due_sources: DueSources,
    pub by_result: Vec<ResultRow>,
    pub satisfaction: SatisfactionSummary,
}

/// How many commitments in scope have a due date from each source (`none`: no date and no default policy).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DueSources {
    pub text: usize,
    pub staff: usize,
    pub policy: usize,
    pub none: usize,
}

impl DueSources {
    /// The sentence every rendering prints.
    pub fn sentence(&self) -> String {
        let mut text = format!(
            "期限来源：答复所定 {} 项，人工设定 {} 项，默认期限（答复未写期限，按政策推定）{} 项",
            self.text, self.staff, self.policy
        );
        if self.none > 0 {
            text.push_str(&format!("，无期限 {} 项", self.none));
        }
        text
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StatusCount {
    pub status: &'static str,
    pub label: &'static str,
    pub count: usize,
    pub share: Option<f64>,
}

/// Replies grouped by their handling result (办理结果), beside how their promises fared.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResultRow {
    pub result: String,
    pub replies: usize,
    pub commitments: usize,
    pub due: usize,
    pub fulfilled_due: usize,
    pub fulfilment_rate: Option<f64>,
    /// A result that says the suggestion was adopted (解决采纳, 采纳, A …) while some due promise is not fulfilled.
    pub adopted_but_unfulfilled: bool,
}

/// Satisfaction (recorded by proposers) beside fulfilment (recorded by follow-up), never inferred from it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SatisfactionSummary {
    pub replies: usize,
    pub evaluated: usize,
    pub satisfied: usize,
    pub basically_satisfied: usize,
    pub dissatisfied: usize,
    pub not_evaluated: usize,
    /// 满意率: `(satisfied + basically_satisfied) ÷ evaluated`.
    pub satisfaction_rate: Option<f64>,
    /// 办成率, the same figure as the overview's fulfilment rate, for side-by-side reading.
    pub fulfilment_rate: Option<f64>,
}

/// One row of 分单位 / 分会议 / 分类.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupRow {
    pub group: String,
    pub made: usize,
    pub fulfilled: usize,
    pub partially_fulfilled: usize,
    pub not_fulfilled: usize,
    /// 待推进, 推进中 and 待审核.
    pub open: usize,
    pub overdue: usize,
    pub stalled: usize,
    pub dismissed: usize,
    pub due: usize,
    pub fulfilment_rate: Option<f64>,
}

impl GroupRow {
    /// Column headings after the group's own: the counts, in the order of [`GroupRow::counts`], then the rate.
    pub const HEADINGS: [&'static str; 10] =
        ["承诺", "已落实", "部分落实", "未落实", "待推进/推进中/待审核", "逾期", "停滞", "已撤销", "到期", "落实率"];

    pub fn counts(&self) -> [usize; 9] {
        [
            self.made,
            self.fulfilled,
            self.partially_fulfilled,
            self.not_fulfilled,
            self.open,
            self.overdue,
            self.stalled,
            self.dismissed,
            self.due,
        ]
    }
}

/// 逾期及停滞事项.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AttentionRow {
    pub id: String,
    /// 编号 (`#37`).
    pub number: u64,
    pub owner: String,
    pub doc_no: String,
    pub text: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub due: Option<NaiveDate>,
    pub last_progress_on: Option<NaiveDate>,
    pub days_overdue: Option<i64>,
    pub days_since_progress: Option<i64>,
}

/// 承诺事项明细: every commitment in scope, in source order. Built one [`Detail`] at a time as it is read, from
/// compactly kept rows and facts, so that a report over a million events never holds every timeline as text.
#[derive(Clone, Debug, Default)]
pub struct Details {
    rows: Vec<Row>,
    /// The states and facts the details are read from.
    commitments: IdMap<Tracked>,
    replies: IdMap<ReplyState>,
    shared: Shared,
}

/// A commitment listed, with what was judged of it.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    pub id: Ulid,
    pub status: Status,
    pub carried_over: bool,
    pub due: Option<(NaiveDate, DueSource)>,
}

impl Details {
    pub(crate) fn new(
        rows: Vec<Row>,
        commitments: IdMap<Tracked>,
        replies: IdMap<ReplyState>,
        shared: Shared,
    ) -> Details {
        Details { rows, commitments, replies, shared }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The details in order, each built as it is reached.
    pub fn iter(&self) -> impl Iterator<Item = Detail<'_>> + '_ {
        self.rows.iter().map(|row| self.detail(row))
    }

    /// The details in order, built on a second thread while `consume` takes them on this one: renderers spend about
    /// as long writing a detail out as building it.
    pub fn prefetched<R>(&self, consume: impl FnOnce(&mut dyn Iterator<Item = Detail<'_>>) -> R) -> R {
        self.prefetched_as(|detail| detail, consume)
    }

    /// As [`Details::prefetched`], with `prepare` also run on the second thread for each detail.
    pub fn prefetched_as<'a, T: Send, R>(
        &'a self,
        prepare: impl Fn(Detail<'a>) -> T + Send,
        consume: impl FnOnce(&mut dyn Iterator<Item = T>) -> R,
    ) -> R {
        const BATCH: usize = 256;
        std::thread::scope(|scope| {
            let (sender, batches) = std::sync::mpsc::sync_channel::<Vec<T>>(4);
            scope.spawn(move || {
                let mut batch = Vec::with_capacity(BATCH);
                for detail in self.iter() {
                    batch.push(prepare(detail));
                    if batch.len() == BATCH
                        && sender.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))).is_err()
                    {
                        return; // the consumer stopped early
                    }
                }
                let _ = sender.send(batch);
            });
            let result = consume(&mut batches.iter().flatten());
            // Dropping the receiver stops the builder if `consume` stopped early.
            drop(batches);
            result
        })
    }

    fn detail<'a>(&'a self, row: &'a Row) -> Detail<'a> {
        let tracked = self.commitments.get(&row.id).unwrap_or(&EMPTY);
        let state = &tracked.state;
        let reply = state.reply.and_then(|reply| self.replies.get(&reply));
        let mut due_changes = Vec::new();
        let mut current_due = None;
        let mut timeline = Vec::new();
        for fact in tracked.chain.facts(&self.shared) {
            match fact.kind() {
                EventKind::CommitmentMade => current_due = fact.due(),
                EventKind::DueDateSet => {
                    if let Some(to) = fact.due() {
                        due_changes.push(DueChange { on: fact.date(), from: current_due, to, reason: fact.reason() });
                        current_due = Some(to);
                    }
                }
                _ => {}
            }
            timeline.push(TimelineEntry {
                seq: fact.seq(),
                date: fact.date(),
                event: fact.kind().tag(),
                label: fact.kind().label(),
                summary: fact.summary(),
                evidence: fact.evidence().collect(),
                actor: fact.actor(),
            });
        }
        Detail {
            id: row.id.to_string(),
            number: state.number,
            doc_no: reply.map_or("", ReplyState::doc_no),
            organ: reply.map_or("", ReplyState::organ),
            proposal: reply.and_then(ReplyState::proposal).map(ProposalRef::describe).unwrap_or_default(),
            text: &state.text,
            section: state.section.map_or("", |section| section.code()),
            owner: &state.owner,
            status: row.status.code(),
            status_label: row.status.label(),
            carried_over: row.carried_over,
            made_on: state.made_on,
            due: row.due.map(|(due, _)| due),
            due_source: row.due.map(|(_, source)| source.code()),
            last_progress_on: state.last_progress_on,
            closed_on: state.closure.as_ref().map(|closure| closure.on),
            timeline,
            due_changes,
        }
    }
}

/// What a row without a commitment would read (never: rows come from the commitments).
static EMPTY: std::sync::LazyLock<Tracked> = std::sync::LazyLock::new(Tracked::default);

impl PartialEq for Details {
    fn eq(&self, other: &Details) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Serialize for Details {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.prefetched(|details| serializer.collect_seq(details))
    }
}

/// One commitment of 承诺事项明细, with its timeline and due-date history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Detail<'a> {
    pub id: String,
    /// 编号 (`#37`): what people say and type; `id` stays the key.
    pub number: u64,
    pub doc_no: &'a str,
    pub organ: &'a str,
    pub proposal: String,
    pub text: &'a str,
    pub section: &'static str,
    pub owner: &'a str,
    pub status: &'static str,
    pub status_label: &'static str,
    pub carried_over: bool,
    pub made_on: Option<NaiveDate>,
    pub due: Option<NaiveDate>,
    /// Where `due` comes from: `text`, `staff`, `policy`.
    pub due_source: Option<&'static str>,
    pub last_progress_on: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
    pub timeline: Vec<TimelineEntry<'a>>,
    pub due_changes: Vec<DueChange<'a>>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimelineEntry<'a> {
    pub seq: u64,
    pub date: NaiveDate,
    pub event: &'static str,
    pub label: &'static str,
    pub summary: &'a str,
    pub evidence: Vec<&'a str>,
    pub actor: &'a str,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DueChange<'a> {
    pub on: NaiveDate,
    pub from: Option<NaiveDate>,
    pub to: NaiveDate,
    pub reason: Option<&'a str>,
}

/// 审计提示: a suspicious sequence found by replaying the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditHint {
    pub id: String,
    /// The promise's 编号 (`#37`).
    pub number: u64,
    /// `closed_without_evidence`, `late_record`, `due_moved_repeatedly`, `due_moved_after_passing`,
    /// `reopened_after_closure`, `same_actor`, `reply_incomplete`.
    pub kind: &'static str,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MonthActivity {
    pub month: String,
    pub progress: usize,
    pub closures: usize,
}

/// What the report was computed from, so that anyone can check it against the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Footer {
    pub as_of: NaiveDate,
    /// The last event known when the report was made (its log sequence number and chain hash).
    pub known_seq: u64,
    pub head_hash: String,
    /// When the file was generated (HTML and Excel only, so that the text formats stay reproducible).
    pub generated_at: Option<String>,
}
