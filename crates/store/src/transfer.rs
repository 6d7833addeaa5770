//! Export and restore: the log as JSON Lines, one complete envelope per line, then a trailer line
//! (`{"trailer":{"events":N,"head_seq":S,"head_hash":H}}`), and back into an empty store with the same chain head and
//! the same statuses. A file without its trailer — cut short in a copy, or by a full disk — is refused: a prefix of
//! a log is a valid log, and only the trailer says it is not the whole one.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use duban_domain::{
    check_commitment_event, check_proposal_event, check_reply_event, CommitmentState, Envelope, ProposalState,
    ReplyState, StreamKind, SCHEMA_VERSION,
};
use ulid::Ulid;

use crate::chain;
use crate::error::{Result, StoreError};
use crate::{Head, Projection, SledStore};

/// How many events one restore batch writes.
const RESTORE_BATCH: usize = 10_000;

impl SledStore {
    /// Writes every event, in log order, as one JSON object per line; returns how many.
    pub fn export(&self, out: &mut dyn Write) -> Result<u64> {
        write_export(self.read_all(1), out)
    }

    /// Restores an export into this store, which must be empty. The whole file is checked (every line parses, the
    /// chain and the stream versions hold) before anything is written, so a bad file writes nothing. The log is
    /// written first and the stream index and projection once at the end, from one fold of it: rewriting them
    /// batch by batch would leave sled most of a gigabyte of garbage per million events. A restore interrupted
    /// before its end leaves a log the projection has not reached: the next `open` folds it in.
    pub fn import_events(&self, file: &Path) -> Result<u64> {
        let existing = self.head()?.seq;
        if existing > 0 {
            return Err(StoreError::NotEmpty { events: existing });
        }
        let count = check_export(open(file)?)?;
        let mut batch = Vec::with_capacity(RESTORE_BATCH);
        for_each_envelope(open(file)?, &mut ChainCheck::default(), |envelope| {
            batch.push(envelope);
            if batch.len() == RESTORE_BATCH {
                self.write_restored(&batch)?;
                batch.clear();
            }
            Ok(())
        })?;
        self.write_restored(&batch)?;
        self.rebuild()?;
        self.sync()?;
        crate::acknowledged::record(&self.path, &self.head()?)?;
        Ok(count)
    }

    pub(crate) fn write_restored(&self, batch: &[Envelope]) -> Result<()> {
        let Some(first) = batch.first() else { return Ok(()) };
        let batch: Vec<(Envelope, Vec<u8>)> =
            batch.iter().map(|envelope| (envelope.clone(), chain::seal(envelope).0)).collect();
        let _writer = self.write_lock();
        let head = self.head()?;
        if head.seq + 1 != first.seq || head.hash != first.prev_hash {
            return Err(StoreError::RestoreGap { head: head.seq, first: first.seq });
        }
        self.write_sealed(Default::default(), &mut Default::default(), &batch, Projection::Skip, 0).map(|_| ())
    }
}

/// The invariants a restored log must hold, checked line by line: the chain, the stream versions, and the domain's
/// rules — each event checked against the states folded so far, with the day it was recorded as "today", as the
/// command that recorded it was. An export edited and re-hashed (a sound chain) still cannot bring in what no
/// command would have accepted, such as progress on a closed commitment.
#[derive(Default)]
pub(crate) struct ChainCheck {
    head: Option<Head>,
    streams: HashMap<Ulid, (u32, StreamKind)>,
    replies: HashMap<Ulid, ReplyState>,
    commitments: HashMap<Ulid, CommitmentState>,
    proposals: HashMap<Ulid, ProposalState>,
    accounts: HashMap<Ulid, duban_domain::AccountState>,
}

impl ChainCheck {
    fn check(&mut self, envelope: &Envelope) -> std::result::Result<(), String> {
        let head = self.head.get_or_insert_with(Head::empty);
        if envelope.schema > SCHEMA_VERSION {
            return Err(format!("模式版本 {} 高于本程序可读的 {SCHEMA_VERSION}", envelope.schema));
        }
        if envelope.seq != head.seq + 1 {
            return Err(format!("应为第 {} 条事件，实为第 {} 条", head.seq + 1, envelope.seq));
        }
        if envelope.prev_hash != head.hash {
            return Err(format!("第 {} 条事件与前一条不衔接（prev_hash 不符）", envelope.seq));
        }
        if chain::hash_of(envelope) != envelope.hash {
            return Err(format!("第 {} 条事件的内容与其哈希不符", envelope.seq));
        }
        let kind = envelope.event.stream_kind();
        let (version, stream_kind) = self.streams.entry(envelope.stream).or_insert((0, kind));
        if envelope.version != *version + 1 || *stream_kind != kind || envelope.event.opens_stream() != (*version == 0)
        {
            return Err(format!("第 {} 条事件不能接续流 {}", envelope.seq, envelope.stream));
        }
        *version = envelope.version;
        *head = Head { seq: envelope.seq, hash: envelope.hash.clone() };
        let today = duban_domain::business_date(envelope.recorded_at);
        let refused = |error: duban_domain::DomainError| format!("第 {} 条事件不能记录：{error}", envelope.seq);
        match kind {
            StreamKind::Reply => {
                let reply = self.replies.entry(envelope.stream).or_default();
                check_reply_event(reply, envelope.occurred_on, &envelope.event, today).map_err(refused)?;
                reply.apply(envelope);
            }
            StreamKind::Commitment => {
                let state = self.commitments.entry(envelope.stream).or_default();
                let reply = match &envelope.event {
                    duban_domain::Event::CommitmentMade(made) => self.replies.get(&made.reply),
                    _ => state.reply.and_then(|reply| self.replies.get(&reply)),
                };
                let empty = ReplyState::default();
                check_commitment_event(state, reply.unwrap_or(&empty), envelope.occurred_on, &envelope.event, today)
                    .map_err(refused)?;
                state.apply(envelope);
            }
            StreamKind::Proposal => {
                if let duban_domain::Event::ProposalAnswered(answer) = &envelope.event {
                    if !self.replies.contains_key(&answer.reply) {
                        return Err(format!("第 {} 条事件关联的答复 {} 不在此前的日志中", envelope.seq, answer.reply));
                    }
                }
                let state = self.proposals.entry(envelope.stream).or_default();
                check_proposal_event(state, envelope.occurred_on, &envelope.event, today).map_err(refused)?;
                state.apply(envelope);
            }
            StreamKind::Account => {
                let taken = match &envelope.event {
                    duban_domain::Event::AccountCreated(created) => {
                        self.accounts.values().any(|account| account.name == created.name)
                    }
                    _ => false,
                };
                let state = self.accounts.entry(envelope.stream).or_default();
                duban_domain::check_account_event(state, &envelope.event, taken).map_err(refused)?;
                state.apply(envelope);
            }
        }
        Ok(())
    }
}

/// The last line of an export.
#[derive(serde::Serialize, serde::Deserialize)]
struct Trailer {
    events: u64,
    head_seq: u64,
    head_hash: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct TrailerLine {
    trailer: Trailer,
}

/// Writes `events` (in log order, with their hashes) as an export: one line each, then the trailer. Returns how
/// many events it wrote.
pub fn write_export(events: impl IntoIterator<Item = Result<Envelope>>, out: &mut dyn Write) -> Result<u64> {
    let (mut count, mut head) = (0, Head::empty());
    for envelope in events {
        let envelope = envelope?;
        serde_json::to_writer(&mut *out, &envelope).map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
        count += 1;
        head = Head { seq: envelope.seq, hash: envelope.hash };
    }
    let trailer = TrailerLine { trailer: Trailer { events: count, head_seq: head.seq, head_hash: head.hash } };
    serde_json::to_writer(&mut *out, &trailer).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(count)
}

pub(crate) fn open(file: &Path) -> Result<BufReader<std::fs::File>> {
    Ok(BufReader::new(std::fs::File::open(file)?))
}

/// Checks an export without writing anything: every line parses as an event, the chain and the stream versions
/// hold, no event is of a newer schema. Returns how many events it holds.
pub fn check_export(reader: impl BufRead) -> Result<u64> {
    for_each_envelope(reader, &mut ChainCheck::default(), |_| Ok(()))
}

pub(crate) fn for_each_envelope(
    reader: impl BufRead,
    check: &mut ChainCheck,
    mut each: impl FnMut(Envelope) -> Result<()>,
) -> Result<u64> {
    let mut count = 0;
    let mut ended = None;
    let mut lines = 0;
    for (index, line) in reader.lines().enumerate() {
        let line_no = index as u64 + 1;
        lines = line_no;
        let bad = |reason: String| StoreError::BadImport { line: line_no, reason };
        let line = line.map_err(|error| bad(error.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        if let Some(at) = ended {
            return Err(bad(format!("第 {at} 行的结尾记录之后还有内容")));
        }
        if line.starts_with("{\"trailer\"") {
            let TrailerLine { trailer } = serde_json::from_str(&line).map_err(|error| bad(error.to_string()))?;
            let head = check.head.clone().unwrap_or_else(Head::empty);
            if trailer.events != count || trailer.head_seq != head.seq || trailer.head_hash != head.hash {
                return Err(bad(format!(
                    "结尾记录说有 {} 条事件、链头 #{}，文件中实有 {count} 条、链头 #{}：文件不完整或被改动",
                    trailer.events, trailer.head_seq, head.seq
                )));
            }
            ended = Some(line_no);
            continue;
        }
        let envelope: Envelope = serde_json::from_str(&line).map_err(|error| bad(error.to_string()))?;
        check.check(&envelope).map_err(bad)?;
        each(envelope)?;
        count += 1;
    }
    if ended.is_none() {
        return Err(StoreError::BadImport {
            line: lines + 1,
            reason: "文件没有结尾记录：可能被截断（请用 duban export 重新导出）".into(),
        });
    }
    Ok(count)
}
