//! What the store derives from the log and keeps beside it: each stream's index entry (its kind, its family and
//! where its events are) and each family's folded state (a reply with its commitments), the projection that read
//! commands use instead of replaying the log.

use duban_domain::{CommitmentState, Envelope, Event, ReplyState, StreamKind};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::chain::{push_varint, take_varint};

/// One stream in the `streams` tree: what it is, which family it belongs to, and the sequence numbers of its
/// events in order (so its version is their count).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamEntry {
    pub kind: StreamKind,
    /// The reply whose family holds this stream's state: the reply itself, or the reply a commitment answers.
    pub family: Ulid,
    pub seqs: Vec<u64>,
}

impl StreamEntry {
    /// The entry a stream gets from its opening event.
    pub fn opened_by(envelope: &Envelope) -> StreamEntry {
        let family = match &envelope.event {
            Event::CommitmentMade(made) => made.reply,
            _ => envelope.stream,
        };
        StreamEntry { kind: envelope.event.stream_kind(), family, seqs: Vec::new() }
    }

    pub fn version(&self) -> u32 {
        self.seqs.len() as u32
    }

    /// `kind (1 byte) ‖ family (16 bytes) ‖ count ‖ first seq ‖ gaps to each next seq`, counts and seqs as varints.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(20 + self.seqs.len() * 3);
        bytes.push(u8::from(self.kind == StreamKind::Commitment));
        bytes.extend_from_slice(&self.family.to_bytes());
        push_varint(&mut bytes, self.seqs.len() as u64);
        let mut previous = 0;
        for &seq in &self.seqs {
            push_varint(&mut bytes, seq.wrapping_sub(previous));
            previous = seq;
        }
        bytes
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<StreamEntry> {
        let (&kind, rest) = bytes.split_first()?;
        let kind = match kind {
            0 => StreamKind::Reply,
            1 => StreamKind::Commitment,
            _ => return None,
        };
        let (family, mut rest) = rest.split_first_chunk::<16>()?;
        let count = take_varint(&mut rest)?;
        let mut seqs = Vec::with_capacity(usize::try_from(count).ok()?.min(rest.len()));
        let mut previous = 0u64;
        for _ in 0..count {
            previous = previous.wrapping_add(take_varint(&mut rest)?);
            seqs.push(previous);
        }
        rest.is_empty().then_some(StreamEntry { kind, family: Ulid::from_bytes(*family), seqs })
    }

    /// Only the kind, read from the first byte (for prefix resolution, without decoding the rest).
    pub fn kind_of(bytes: &[u8]) -> Option<StreamKind> {
        match bytes.first()? {
            0 => Some(StreamKind::Reply),
            1 => Some(StreamKind::Commitment),
            _ => None,
        }
    }
}

/// One reply and the commitments made in it, folded: the unit the projection is stored and listed in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Family {
    /// `None` when a commitment names a reply the log does not hold (only possible in an imported log).
    pub reply: Option<ReplyState>,
    /// Sorted by id.
    pub commitments: Vec<CommitmentState>,
}

impl Family {
    /// Folds one event of a stream in this family into its state.
    pub fn apply(&mut self, envelope: &Envelope) {
        match envelope.event.stream_kind() {
            StreamKind::Reply => self.reply.get_or_insert_with(ReplyState::default).apply(envelope),
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

    /// Every stream id in the family.
    pub fn ids(&self) -> impl Iterator<Item = Ulid> + '_ {
        self.reply.iter().filter_map(|reply| reply.id).chain(self.commitments.iter().filter_map(|state| state.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_entries_round_trip_and_reject_garbage() {
        let family = Ulid::from_parts(1_700_000_000_000, 42);
        for seqs in [vec![], vec![1], vec![5, 6, 900, 70_000, 70_001, u64::from(u32::MAX) * 4]] {
            for kind in [StreamKind::Reply, StreamKind::Commitment] {
                let entry = StreamEntry { kind, family, seqs: seqs.clone() };
                let bytes = entry.to_bytes();
                assert_eq!(StreamEntry::from_bytes(&bytes), Some(entry));
                assert_eq!(StreamEntry::kind_of(&bytes), Some(kind));
                assert_eq!(StreamEntry::from_bytes(&bytes[..bytes.len() - 1]), None, "{seqs:?}");
            }
        }
        assert_eq!(StreamEntry::from_bytes(&[7; 20]), None);
    }
}
