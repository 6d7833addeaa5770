//! The write use cases. Each one reads the same way: resolve the id, fold the stream's current state, let the domain
//! check the new fact against it (with today from the context), append with the version that was read (a stale
//! version is a conflict, never a silent overwrite), and return what the caller confirms with.

use chrono::NaiveDate;
use duban_domain::{
    check_commitment_event, check_reply_event, status, CommitmentMade, CommitmentState, Event, Policy, ReplyAmended,
    ReplyEvaluated, ReplyRegistered, ReplyState, Satisfaction, Section, Status, StreamKind,
};
use ulid::Ulid;

use crate::context::Context;
use crate::error::{refuse, Result};
use crate::register::{Clash, Registered};
use crate::App;

/// How many times a write that did not pin a version is retried after losing a race to another writer. Each retry
/// waits a little longer first (1 ms, 2 ms, …): with 16 retries and none, a write to a promise four clients wrote
/// to at once lost every race once under CI's load (tests/server.rs, the kill harness) and was answered 409.
const RETRIES: usize = 64;

/// Runs a write; when the caller pinned no version and the write lost a race to another writer, checks it again
/// against what that one recorded and retries: only a caller who pinned what it read is told of the conflict.
pub(crate) fn retrying<T>(expected_version: Option<u32>, mut write: impl FnMut() -> Result<T>) -> Result<T> {
    let mut attempts = 0;
    loop {
        match write() {
            Err(error) if error.is_conflict() && expected_version.is_none() && attempts < RETRIES => {
                attempts += 1;
                // The winners go first: a waiting loser reads what they recorded and is not beaten again at once.
                std::thread::sleep(std::time::Duration::from_millis(attempts.min(16) as u64));
            }
            outcome => return outcome,
        }
    }
}

/// A fact recorded about a commitment, and the status it leaves.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub id: Ulid,
    /// 编号 (`#37`).
    pub number: u64,
    pub short_id: String,
    pub seq: u64,
    /// The event's stable tag (`ProgressReported`) and its label (`报告进展`).
    pub event: &'static str,
    pub label: &'static str,
    pub occurred_on: NaiveDate,
    /// Judged today.
    pub status: Status,
    /// The commitment's version after the append (what the next write must expect).
    pub version: u32,
}

/// A promise to record under a registered reply.
#[derive(Clone, Debug)]
pub struct NewCommitment {
    /// The reply's id or unique prefix.
    pub reply: String,
    pub text: String,
    /// Default: the replying organ.
    pub owner: Option<String>,
    pub co_handlers: Vec<String>,
    pub due: Option<NaiveDate>,
    /// The day it was made. Default: the reply's signing day.
    pub on: Option<NaiveDate>,
    pub section: Section,
}

/// A proposer's evaluation, recorded.
#[derive(Clone, Debug)]
pub struct Evaluated {
    pub id: Ulid,
    pub seq: u64,
    pub organ: String,
    pub doc_no: String,
    pub on: NaiveDate,
}

impl App {
    /// Registers a reply by hand; refuses a second reply under the same organ and document number.
    pub fn register_reply(&self, ctx: &Context, mut reply: ReplyRegistered) -> Result<Ulid> {
        reply.organ = reply.organ.trim().to_string();
        reply.doc_no = reply.doc_no.trim().to_string();
        // Registered by hand, a reply is registered whole: staff have the document in front of them. (An imported
        // document may lack fields and is then 待补全.)
        if let Some(field) = reply.missing().first() {
            return refuse(format!("登记答复须写明{field}"));
        }
        match Registered::load(self)?.clash(&reply) {
            Some(Clash::SameNumber(existing) | Clash::SameDocument(existing)) => {
                return refuse(format!("{} {} 已登记为答复 {existing}，不能重复登记", reply.organ, reply.doc_no));
            }
            None => {}
        }
        let signed_on = reply.signed_on.unwrap_or(ctx.today());
        let event = Event::ReplyRegistered(Box::new(reply));
        check_reply_event(&ReplyState::default(), signed_on, &event, ctx.today())?;
        let id = ctx.new_id();
        self.append(vec![(id, 0, vec![ctx.new_event(id, signed_on, event)])])?;
        Ok(id)
    }

    /// Records a promise made in a registered reply; returns its id and the reply's.
    pub fn make_commitment(&self, ctx: &Context, new: NewCommitment) -> Result<(Ulid, Ulid)> {
        let (reply_id, reply) = self.reply_now(&new.reply)?;
        if reply.registered.is_none() {
            return refuse(format!("答复 {reply_id} 尚未登记"));
        }
        // Without its signing date (待补全), a reply's promise is dated the day it is recorded, unless given.
        let signed_on = reply.signed_on().unwrap_or(ctx.today());
        let owner = new.owner.map(|owner| owner.trim().to_string()).unwrap_or_else(|| reply.organ().to_string());
        let event = Event::CommitmentMade(Box::new(CommitmentMade {
            reply: reply_id,
            text: new.text.trim().to_string(),
            section: new.section,
            owner,
            co_handlers: new.co_handlers,
            due: new.due,
            due_phrase: None,
            locator: None,
        }));
        let occurred_on = new.on.unwrap_or(signed_on);
        check_commitment_event(&CommitmentState::default(), &reply, occurred_on, &event, ctx.today())?;
        let id = ctx.new_id();
        self.append(vec![(id, 0, vec![ctx.new_event(id, occurred_on, event)])])?;
        Ok((id, reply_id))
    }

    /// Records `event` about the commitment named by `input` (an id or unique prefix), as having occurred on `on`
    /// (default today). `expected_version`, when given, is the version the caller showed its user: a write based on
    /// an older reading is a conflict. Nothing is appended unless the domain accepts it.
    pub fn record(
        &self,
        ctx: &Context,
        input: &str,
        on: Option<NaiveDate>,
        event: Event,
        expected_version: Option<u32>,
    ) -> Result<Recorded> {
        let id = self.resolve(input, Some(StreamKind::Commitment))?;
        retrying(expected_version, || self.record_once(ctx, id, on, vec![event.clone()], expected_version))
    }

    /// As [`App::record`], with files given as evidence (`files.0`, each at most `files.1` bytes): every file is
    /// checked and kept first, then the fact and one `EvidenceAttached` per file are appended together.
    pub fn record_with_files(
        &self,
        ctx: &Context,
        input: &str,
        on: Option<NaiveDate>,
        event: Event,
        files: (&[crate::Upload], usize),
        expected_version: Option<u32>,
    ) -> Result<Recorded> {
        let id = self.resolve(input, Some(StreamKind::Commitment))?;
        let mut events = vec![event];
        events.extend(self.keep_uploads(files.0, files.1)?);
        retrying(expected_version, || self.record_once(ctx, id, on, events.clone(), expected_version))
    }

    /// Checks `events` in order against the promise as each leaves it, and appends them in one batch; `Recorded`
    /// names the first.
    fn record_once(
        &self,
        ctx: &Context,
        id: Ulid,
        on: Option<NaiveDate>,
        events: Vec<Event>,
        expected_version: Option<u32>,
    ) -> Result<Recorded> {
        let Some(state) = self.store.commitment(&id)? else { return refuse(format!("找不到承诺 {id}")) };
        if let Some(expected) = expected_version.filter(|expected| *expected != state.version) {
            return Err(duban_store::StoreError::Conflict { stream: id, expected, actual: state.version }.into());
        }
        let reply = match state.reply {
            Some(reply) => self.store.reply(&reply)?.unwrap_or_default(),
            None => ReplyState::default(),
        };
        let today = ctx.today();
        let Some(first) = events.first() else { return refuse("没有要记录的事实") };
        // A record made by mistake is withdrawn from the day it was made; any other fact happened today.
        let mistaken = matches!(first, Event::Dismissed(dismissed) if dismissed.undoes_the_record());
        let occurred_on = on.or(state.made_on.filter(|_| mistaken)).unwrap_or(today);
        let (tag, label) = (first.tag(), first.label());
        let mut folded = state.clone();
        let mut new_events = Vec::with_capacity(events.len());
        for event in events {
            check_commitment_event(&folded, &reply, occurred_on, &event, today)?;
            let new_event = ctx.new_event(id, occurred_on, event);
            folded.apply(&new_event.clone().sealed(0, folded.version + 1, String::new(), String::new()));
            new_events.push(new_event);
        }
        let sealed = self.append(vec![(id, state.version, new_events)])?;
        let after = self.store.commitment(&id)?.unwrap_or_default();
        Ok(Recorded {
            id,
            number: after.number,
            short_id: self.store.short_id(&id)?,
            seq: sealed.last().map_or(0, |envelope| envelope.seq),
            event: tag,
            label,
            occurred_on,
            status: status(&after, today, Policy::default()),
            version: after.version,
        })
    }

    /// Corrects what a reply's registration says (a field read wrongly, or missing: 待补全). Refuses a correction
    /// that changes nothing, and one that would give the reply the 文号 of another reply of the same organ.
    pub fn amend_reply(&self, ctx: &Context, input: &str, amended: ReplyAmended) -> Result<Evaluated> {
        let (id, reply) = self.reply_now(input)?;
        let today = ctx.today();
        let event = Event::ReplyAmended(Box::new(amended.clone()));
        check_reply_event(&reply, today, &event, today)?;
        if let Some(registered) = &reply.registered {
            let after = amended.applied_to(registered);
            if let Some(Clash::SameNumber(other) | Clash::SameDocument(other)) =
                Registered::load(self)?.clash_with_other(&after, id)
            {
                return refuse(format!(
                    "{} {} 已登记为答复 {other}，不能把答复 {id} 更正成同一文号",
                    after.organ, after.doc_no
                ));
            }
        }
        let sealed = self.append(vec![(id, reply.version, vec![ctx.new_event(id, today, event)])])?;
        let after = self.store.reply(&id)?.unwrap_or_default();
        Ok(Evaluated {
            id,
            seq: sealed.last().map_or(0, |envelope| envelope.seq),
            organ: after.organ().to_string(),
            doc_no: after.doc_no().to_string(),
            on: today,
        })
    }

    /// Records the proposer's evaluation of a reply (apart from whether its promises were kept).
    pub fn evaluate(
        &self,
        ctx: &Context,
        input: &str,
        on: Option<NaiveDate>,
        satisfaction: Satisfaction,
        comment: Option<String>,
    ) -> Result<Evaluated> {
        let (id, _) = self.reply_now(input)?;
        let today = ctx.today();
        let on = on.unwrap_or(today);
        let event = Event::ReplyEvaluated(ReplyEvaluated { satisfaction, comment });
        retrying(None, || {
            let Some(reply) = self.store.reply(&id)? else { return refuse(format!("找不到答复 {id}")) };
            check_reply_event(&reply, on, &event, today)?;
            let sealed = self.append(vec![(id, reply.version, vec![ctx.new_event(id, on, event.clone())])])?;
            Ok(Evaluated {
                id,
                seq: sealed.last().map_or(0, |envelope| envelope.seq),
                organ: reply.organ().to_string(),
                doc_no: reply.doc_no().to_string(),
                on,
            })
        })
    }
}
