//! What read commands look at: the register on a date, as it was known at a time, and its stable JSON form.
//!
//! Without time travel the states come from the store's projection and no event is replayed; with `--as-of` or
//! `--known-at` the log is folded with that horizon.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;
use duban_domain::{short_id, CommitmentState, Envelope, Folded, Horizon, Policy, ReplyState, Status};
use duban_store::Store;
use serde::Serialize;
use ulid::Ulid;

use crate::time::{parse_date, KnownAt};

/// The two kinds of time travel, shared by read commands.
#[derive(Args, Clone, Debug, Default)]
pub struct TimeTravel {
    /// 按某日的实际情况查看：只计发生日期不晚于该日的事实，并以该日判断状态（YYYY-MM-DD）
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<NaiveDate>,
    /// 按当时登记簿所知查看：只计该日（北京时间）结束前或该序号前记下的事件（YYYY-MM-DD 或日志序号）
    #[arg(long, value_name = "DATE|SEQ")]
    pub known_at: Option<KnownAt>,
    /// 无进展多少天算停滞
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub stall_days: u32,
}

impl TimeTravel {
    pub fn horizon(&self) -> Horizon {
        Horizon { as_of: self.as_of, ..KnownAt::horizon(self.known_at) }
    }

    /// The date statuses are judged on.
    pub fn on_date(&self, today: NaiveDate) -> NaiveDate {
        self.as_of.unwrap_or(today)
    }

    pub fn policy(&self) -> Policy {
        Policy { stall_days: self.stall_days }
    }
}

/// Maps every reply (if the log holds it) with its commitments, as seen through a horizon, and returns the results
/// in reply order. Without time travel this reads the store's projection, on two threads (each half of the reply
/// ids), and replays no event; with `--as-of` or `--known-at` it folds the log with that horizon.
pub fn map_families<T: Send>(
    store: &Store,
    horizon: Horizon,
    each: impl Fn(Option<ReplyState>, Vec<CommitmentState>) -> T + Sync,
) -> anyhow::Result<Vec<T>> {
    if horizon.is_everything() {
        let scan = |from: Option<Ulid>, to: Option<Ulid>| -> anyhow::Result<Vec<T>> {
            let mut out = Vec::new();
            for family in store.families_between(from, to) {
                let family = family?;
                out.push(each(family.reply, family.commitments));
            }
            Ok(out)
        };
        let Some((first, last)) = store.family_bounds()? else { return Ok(Vec::new()) };
        let middle = Ulid(first.0 + (last.0 - first.0) / 2);
        let (out, second) = std::thread::scope(|scope| {
            let second = scope.spawn(|| scan(Some(middle), None));
            (scan(None, Some(middle)), second.join().expect("a scan does not panic"))
        });
        let mut out = out?;
        out.extend(second?);
        return Ok(out);
    }
    // The log streams through the fold (read and decoded on two other threads); it is never held whole.
    let mut folded = Folded::default();
    store.scan_log(1, |envelope| {
        if horizon.known_seq.is_some_and(|seq| envelope.seq > seq) {
            return false;
        }
        if horizon.admits(envelope) {
            folded.apply(envelope);
        }
        true
    })?;
    folded.finish();
    let mut families: BTreeMap<Option<Ulid>, Vec<CommitmentState>> = BTreeMap::new();
    for state in folded.commitments.into_values() {
        families.entry(state.reply).or_default().push(state);
    }
    let mut replies: BTreeMap<Ulid, ReplyState> = folded.replies.into_iter().collect();
    let mut out = Vec::new();
    for (reply, mut commitments) in families {
        commitments.sort_by_key(|state| state.id);
        out.push(each(reply.and_then(|id| replies.remove(&id)), commitments));
    }
    for reply in replies.into_values() {
        out.push(each(Some(reply), Vec::new()));
    }
    Ok(out)
}

/// Short ids for a set of ids: the shortest prefix that is unique among all of them.
pub fn short_ids(all: &[Ulid]) -> impl Fn(&Ulid) -> String + '_ {
    move |id| {
        let at = all.partition_point(|other| other < id);
        let neighbours: Vec<Ulid> = all[at.saturating_sub(1)..(at + 2).min(all.len())].to_vec();
        short_id(id, &neighbours)
    }
}

/// A reply's proposal reference in the form staff write it: `市政协 十四届三次会议 第1221号提案`.
pub fn proposal_text(reply: &ReplyState) -> String {
    reply.proposal().map(|proposal| proposal.describe()).unwrap_or_default()
}

/// The stable JSON form of a commitment (`list --json`, `show --json`).
#[derive(Serialize)]
pub struct CommitmentView {
    pub id: String,
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
    pub due: Option<NaiveDate>,
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
    pub fn new(state: &CommitmentState, reply: Option<&ReplyState>, status: Status, short: String) -> Self {
        let registered = reply.and_then(|reply| reply.registered.as_ref());
        CommitmentView {
            id: state.id.map(|id| id.to_string()).unwrap_or_default(),
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
            due: state.due,
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

/// The stable JSON form of one timeline entry.
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
