//! Time travel: which recorded facts a view admits, and folding a whole log into states.
//!
//! Two independent cuts, combinable: `as_of` keeps facts that *occurred* by a date (the world on that date);
//! `known_at` / `known_seq` keep facts *recorded* by an instant or log position (the register as it then stood).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use chrono::{DateTime, NaiveDate, Utc};
use ulid::Ulid;

use crate::event::{Envelope, StreamKind};
use crate::proposal::ProposalState;
use crate::state::{CommitmentState, ReplyState};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Horizon {
    /// Only facts with `occurred_on` on or before this date.
    pub as_of: Option<NaiveDate>,
    /// Only facts recorded at or before this instant.
    pub known_at: Option<DateTime<Utc>>,
    /// Only facts at or before this log position.
    pub known_seq: Option<u64>,
}

impl Horizon {
    /// Everything recorded so far.
    pub const ALL: Horizon = Horizon { as_of: None, known_at: None, known_seq: None };

    pub fn admits(&self, envelope: &Envelope) -> bool {
        self.as_of.is_none_or(|date| envelope.occurred_on <= date)
            && self.known_at.is_none_or(|instant| envelope.recorded_at <= instant)
            && self.known_seq.is_none_or(|seq| envelope.seq <= seq)
    }

    /// Whether this horizon cuts anything at all.
    pub fn is_everything(&self) -> bool {
        *self == Horizon::ALL
    }
}

/// Hashes a ULID by its low 64 bits, which are random: a map keyed by ids needs no further mixing.
#[derive(Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Ulid hashes as one u128 (see `write_u128`); anything else is folded in byte by byte.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u128(&mut self, value: u128) {
        self.0 ^= value as u64;
    }
}

/// A map keyed by reply or commitment id. Unordered: a fold touches one entry per event and a million events
/// make that lookup the fold's main cost; callers that show entries sort them.
pub type IdMap<V> = HashMap<Ulid, V, BuildHasherDefault<IdHasher>>;

/// Every reply and commitment, folded from a log in global order with only the admitted facts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Folded {
    pub replies: IdMap<ReplyState>,
    pub commitments: IdMap<CommitmentState>,
    pub proposals: IdMap<ProposalState>,
    pub accounts: IdMap<crate::AccountState>,
}

impl Folded {
    pub fn apply(&mut self, envelope: &Envelope) {
        match envelope.event.stream_kind() {
            StreamKind::Reply => self.replies.entry(envelope.stream).or_default().apply(envelope),
            StreamKind::Commitment => self.commitments.entry(envelope.stream).or_default().apply(envelope),
            StreamKind::Proposal => self.proposals.entry(envelope.stream).or_default().apply(envelope),
            StreamKind::Account => self.accounts.entry(envelope.stream).or_default().apply(envelope),
        }
    }

    /// Folds `log` (in global order), keeping only what `horizon` admits. A stream whose opening fact is cut away
    /// does not exist in the result.
    pub fn fold<'a>(log: impl IntoIterator<Item = &'a Envelope>, horizon: Horizon) -> Folded {
        let mut folded = Folded::default();
        for envelope in log.into_iter().filter(|e| horizon.admits(e)) {
            folded.apply(envelope);
        }
        folded.finish();
        folded
    }

    /// Drops streams whose opening fact was cut away (later facts about a reply or commitment not yet recorded).
    pub fn finish(&mut self) {
        self.replies.retain(|_, reply| reply.registered.is_some());
        self.commitments.retain(|_, commitment| commitment.made_on.is_some());
        self.proposals.retain(|_, proposal| proposal.assigned.is_some());
        self.accounts.retain(|_, account| account.role.is_some());
    }
}
