//! What the store derives from the log and keeps beside it: each stream's index entry (its kind, its family and
//! where its events are) and each family's folded state (a reply with its commitments), the projection that read
//! commands use instead of replaying the log.

use duban_domain::{AccountState, CommitmentState, Envelope, Event, ProposalState, ReplyState, StreamKind};
use serde::Serialize;
use ulid::Ulid;

use crate::chain::{push_varint, take_varint};

/// One stream in the `streams` space: what it is and which family holds its state and its events' positions.
/// Written once, when the stream opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamEntry {
    pub kind: StreamKind,
    /// The reply whose family holds this stream: the reply itself, or the reply a commitment answers; a proposal is
    /// a family of its own.
    pub family: Ulid,
}

impl StreamEntry {
    /// The entry a stream gets from its opening event.
    pub fn opened_by(envelope: &Envelope) -> StreamEntry {
        let made_in = match &envelope.event {
            Event::CommitmentMade(made) => Some(made.reply),
            _ => None,
        };
        StreamEntry::of(envelope.event.stream_kind(), envelope.stream, made_in)
    }

    /// A stream's entry: a reply is its own family, a commitment belongs to the reply it was made in.
    pub fn of(kind: StreamKind, stream: Ulid, made_in: Option<Ulid>) -> StreamEntry {
        StreamEntry { kind, family: made_in.unwrap_or(stream) }
    }

    /// The length of [`StreamEntry::to_bytes`].
    pub const BYTES: usize = 17;

    /// `kind (1 byte) ‖ family (16 bytes)`.
    pub fn to_bytes(self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(StreamEntry::BYTES);
        bytes.push(kind_byte(self.kind));
        bytes.extend_from_slice(&self.family.to_bytes());
        bytes
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<StreamEntry> {
        let kind = StreamEntry::kind_of(bytes)?;
        let family: [u8; 16] = bytes.get(1..)?.try_into().ok()?;
        Some(StreamEntry { kind, family: Ulid::from_bytes(family) })
    }

    /// Only the kind, read from the first byte (for prefix resolution, without decoding the rest).
    pub fn kind_of(bytes: &[u8]) -> Option<StreamKind> {
        kind_from_byte(*bytes.first()?)
    }
}

/// How a stream's kind is stored: 0 a reply, 1 a commitment (as layouts before proposals wrote them), 2 a proposal,
/// 3 an account.
pub fn kind_byte(kind: StreamKind) -> u8 {
    match kind {
        StreamKind::Reply => 0,
        StreamKind::Commitment => 1,
        StreamKind::Proposal => 2,
        StreamKind::Account => 3,
    }
}

pub fn kind_from_byte(byte: u8) -> Option<StreamKind> {
    match byte {
        0 => Some(StreamKind::Reply),
        1 => Some(StreamKind::Commitment),
        2 => Some(StreamKind::Proposal),
        3 => Some(StreamKind::Account),
        _ => None,
    }
}

/// One reply and the commitments made in it, folded: the unit the projection is stored and listed in. A proposal is
/// a family of its own, holding only itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Family {
    /// `None` in a proposal's family, and when a commitment names a reply the log does not hold (only possible in an
    /// imported log).
    pub reply: Option<ReplyState>,
    pub proposal: Option<ProposalState>,
    /// An account is a family of its own too.
    pub account: Option<AccountState>,
    /// Sorted by id.
    pub commitments: Vec<CommitmentState>,
    /// Each member's events: their sequence numbers in order (so its version is their count).
    pub seqs: std::collections::BTreeMap<Ulid, Vec<u64>>,
}

impl Family {
    /// Folds one event of a stream in this family into its state.
    pub fn apply(&mut self, envelope: &Envelope) {
        self.seqs.entry(envelope.stream).or_default().push(envelope.seq);
        match envelope.event.stream_kind() {
            StreamKind::Reply => self.reply.get_or_insert_with(ReplyState::default).apply(envelope),
            StreamKind::Proposal => self.proposal.get_or_insert_with(ProposalState::default).apply(envelope),
            StreamKind::Account => self.account.get_or_insert_with(AccountState::default).apply(envelope),
            StreamKind::Commitment => {
                let at = self.commitments.partition_point(|state| state.id < Some(envelope.stream));
                if self.commitments.get(at).is_none_or(|state| state.id != Some(envelope.stream)) {
                    self.commitments.insert(at, CommitmentState::default());
                }
                self.commitments[at].apply(envelope);
            }
        }
    }

    pub fn commitment(&self, id: &Ulid) -> Option<&CommitmentState> {
        let at = self.commitments.binary_search_by_key(&Some(*id), |state| state.id).ok()?;
        self.commitments.get(at)
    }

    /// The stored form: each member framed (see [`StoredFamily`]), then compressed like a log chunk.
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::chain::seal_chunk(&self.framed())
    }

    fn framed(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        let none = Vec::new();
        let seqs = |id: Ulid| self.seqs.get(&id).unwrap_or(&none);
        if let Some(reply) = &self.reply {
            let id = reply.id.unwrap_or_default();
            frame(&mut bytes, StreamKind::Reply, id, seqs(id), &postcard(reply));
        }
        if let Some(proposal) = &self.proposal {
            let id = proposal.id.unwrap_or_default();
            frame(&mut bytes, StreamKind::Proposal, id, seqs(id), &postcard(proposal));
        }
        if let Some(account) = &self.account {
            let id = account.id.unwrap_or_default();
            frame(&mut bytes, StreamKind::Account, id, seqs(id), &postcard(account));
        }
        for state in &self.commitments {
            let id = state.id.unwrap_or_default();
            frame(&mut bytes, StreamKind::Commitment, id, seqs(id), &postcard(state));
        }
        bytes
    }

    pub fn from_bytes(stored: &[u8]) -> Option<Family> {
        let bytes = &crate::chain::open_chunk(0, stored).ok()?;
        let mut family = Family::default();
        for member in members(bytes)? {
            // 编号 is not stored with the state: it is the stream's first seq.
            let number = member.seqs.first().copied().unwrap_or_default();
            family.seqs.insert(member.id, member.seqs);
            let body = &bytes[member.span];
            match member.kind {
                StreamKind::Reply => {
                    let mut reply: ReplyState = ::postcard::from_bytes(body).ok()?;
                    reply.number = number;
                    family.reply = Some(reply);
                }
                StreamKind::Proposal => {
                    let mut proposal: ProposalState = ::postcard::from_bytes(body).ok()?;
                    proposal.number = number;
                    family.proposal = Some(proposal);
                }
                StreamKind::Account => {
                    let mut account: AccountState = ::postcard::from_bytes(body).ok()?;
                    account.number = number;
                    family.account = Some(account);
                }
                StreamKind::Commitment => {
                    let mut state: CommitmentState = ::postcard::from_bytes(body).ok()?;
                    state.number = number;
                    family.commitments.push(state);
                }
            }
        }
        Some(family)
    }
}

fn postcard<T: Serialize>(state: &T) -> Vec<u8> {
    ::postcard::to_stdvec(state).expect("state always serializes")
}

/// `kind (1 byte) ‖ id (16 bytes) ‖ count ‖ first seq ‖ gaps to each next seq ‖ length ‖ postcard state`, numbers
/// as varints.
fn frame(out: &mut Vec<u8>, kind: StreamKind, id: Ulid, seqs: &[u64], body: &[u8]) {
    out.push(kind_byte(kind));
    out.extend_from_slice(&id.to_bytes());
    push_varint(out, seqs.len() as u64);
    let mut previous = 0u64;
    for &seq in seqs {
        push_varint(out, seq.wrapping_sub(previous));
        previous = seq;
    }
    push_varint(out, body.len() as u64);
    out.extend_from_slice(body);
}

struct Member {
    kind: StreamKind,
    id: Ulid,
    seqs: Vec<u64>,
    span: std::ops::Range<usize>,
}

fn members(bytes: &[u8]) -> Option<Vec<Member>> {
    let mut members = Vec::new();
    let mut rest = bytes;
    while let Some((&kind, tail)) = rest.split_first() {
        let kind = kind_from_byte(kind)?;
        let (id, mut tail) = tail.split_first_chunk::<16>()?;
        let count = take_varint(&mut tail)?;
        let mut seqs = Vec::with_capacity(usize::try_from(count).ok()?.min(tail.len()));
        let mut previous = 0u64;
        for _ in 0..count {
            previous = previous.wrapping_add(take_varint(&mut tail)?);
            seqs.push(previous);
        }
        let length = usize::try_from(take_varint(&mut tail)?).ok()?;
        let start = bytes.len() - tail.len();
        if tail.len() < length {
            return None;
        }
        members.push(Member { kind, id: Ulid::from_bytes(*id), seqs, span: start..start + length });
        rest = &tail[length..];
    }
    Some(members)
}

/// A stored family being appended to: members are decoded only when an event touches them, and the untouched ones
/// are written back as the bytes they were.
pub struct StoredFamily {
    bytes: Vec<u8>,
    members: Vec<(StreamKind, Ulid, Vec<u64>, Slot)>,
}

enum Slot {
    Stored(std::ops::Range<usize>),
    Reply(Box<ReplyState>),
    Commitment(Box<CommitmentState>),
    Proposal(Box<ProposalState>),
    Account(Box<AccountState>),
}

impl StoredFamily {
    pub fn new() -> StoredFamily {
        StoredFamily { bytes: Vec::new(), members: Vec::new() }
    }

    pub fn parse(stored: &[u8]) -> Option<StoredFamily> {
        let bytes = crate::chain::open_chunk(0, stored).ok()?;
        let members = members(&bytes)?.into_iter().map(|m| (m.kind, m.id, m.seqs, Slot::Stored(m.span))).collect();
        Some(StoredFamily { bytes, members })
    }

    /// The version a member stream is at (0 if the family does not hold it).
    pub fn version(&self, stream: &Ulid) -> u32 {
        self.members.iter().find(|(_, id, _, _)| id == stream).map_or(0, |(_, _, seqs, _)| seqs.len() as u32)
    }

    /// Folds one event of a stream in this family into its member (the reply first, then commitments by id).
    pub fn apply(&mut self, envelope: &Envelope) -> Option<()> {
        let kind = envelope.event.stream_kind();
        let key = |kind: StreamKind, id: Ulid| (kind == StreamKind::Commitment, id);
        let wanted = key(kind, envelope.stream);
        let at = self.members.partition_point(|(k, id, _, _)| key(*k, *id) < wanted);
        if self.members.get(at).is_none_or(|(k, id, _, _)| key(*k, *id) != wanted) {
            let empty = match kind {
                StreamKind::Reply => Slot::Reply(Box::default()),
                StreamKind::Commitment => Slot::Commitment(Box::default()),
                StreamKind::Proposal => Slot::Proposal(Box::default()),
                StreamKind::Account => Slot::Account(Box::default()),
            };
            self.members.insert(at, (kind, envelope.stream, Vec::new(), empty));
        }
        // An event already folded in (a replay after a crash between two of write-behind's family batches) is
        // left alone.
        if self.members[at].2.last().is_some_and(|&last| last >= envelope.seq) {
            return Some(());
        }
        self.members[at].2.push(envelope.seq);
        let slot = &mut self.members[at].3;
        if let Slot::Stored(span) = slot {
            let body = &self.bytes[span.clone()];
            *slot = match kind {
                StreamKind::Reply => Slot::Reply(Box::new(::postcard::from_bytes(body).ok()?)),
                StreamKind::Commitment => Slot::Commitment(Box::new(::postcard::from_bytes(body).ok()?)),
                StreamKind::Proposal => Slot::Proposal(Box::new(::postcard::from_bytes(body).ok()?)),
                StreamKind::Account => Slot::Account(Box::new(::postcard::from_bytes(body).ok()?)),
            };
        }
        match slot {
            Slot::Reply(state) => state.apply(envelope),
            Slot::Commitment(state) => state.apply(envelope),
            Slot::Proposal(state) => state.apply(envelope),
            Slot::Account(state) => state.apply(envelope),
            Slot::Stored(_) => unreachable!("decoded above"),
        }
        Some(())
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bytes.len() + 256);
        self.frame_into(&mut out);
        crate::chain::seal_chunk(&out)
    }

    fn frame_into(&self, out: &mut Vec<u8>) {
        for (kind, id, seqs, slot) in &self.members {
            match slot {
                Slot::Stored(span) => frame(out, *kind, *id, seqs, &self.bytes[span.clone()]),
                Slot::Reply(state) => frame(out, *kind, *id, seqs, &postcard(state)),
                Slot::Commitment(state) => frame(out, *kind, *id, seqs, &postcard(state)),
                Slot::Proposal(state) => frame(out, *kind, *id, seqs, &postcard(state)),
                Slot::Account(state) => frame(out, *kind, *id, seqs, &postcard(state)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_entries_round_trip_and_reject_garbage() {
        let family = Ulid::from_parts(1_700_000_000_000, 42);
        for kind in [StreamKind::Reply, StreamKind::Commitment, StreamKind::Proposal, StreamKind::Account] {
            let entry = StreamEntry { kind, family };
            let bytes = entry.to_bytes();
            assert_eq!(StreamEntry::from_bytes(&bytes), Some(entry));
            assert_eq!(StreamEntry::kind_of(&bytes), Some(kind));
            assert_eq!(StreamEntry::from_bytes(&bytes[..16]), None);
        }
        assert_eq!(StreamEntry::from_bytes(&[7; 17]), None);
    }

    #[test]
    fn families_round_trip_with_their_positions() {
        let reply = Ulid::from_parts(1_700_000_000_000, 1);
        let commitment = Ulid::from_parts(1_700_000_000_001, 2);
        let mut family = Family {
            // 编号 is the first seq (not stored with the state, set as it is read).
            reply: Some(ReplyState { id: Some(reply), version: 1, number: 1, ..ReplyState::default() }),
            ..Family::default()
        };
        family.commitments.push(CommitmentState {
            id: Some(commitment),
            version: 3,
            number: 2,
            ..CommitmentState::default()
        });
        family.seqs.insert(reply, vec![1]);
        family.seqs.insert(commitment, vec![2, 900, 70_000]);
        let bytes = family.to_bytes();
        assert_eq!(Family::from_bytes(&bytes), Some(family.clone()));
        let stored = StoredFamily::parse(&bytes).unwrap();
        assert_eq!((stored.version(&reply), stored.version(&commitment), stored.version(&Ulid::nil())), (1, 3, 0));
        assert_eq!(Family::from_bytes(&stored.to_bytes()), Some(family), "untouched members are kept as they were");
        assert_eq!(Family::from_bytes(&bytes[..bytes.len() - 1]), None);
    }
}
