//! Auditing the log: `verify` walks the hash chain and checks the stream index; `rebuild` recomputes the index and
//! the projection from the log and reports where the stored ones differed.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use duban_domain::{CommitmentState, Folded, IdMap, StreamKind};
use serde::Serialize;
use ulid::Ulid;

use crate::chain;
use crate::error::Result;
use crate::index::{Family, StreamEntry};
use crate::space::{Space, Writes};
use crate::{ulid_of, Head, SledStore};
use duban_domain::Envelope;

/// Keys written per batch by a rebuild that found differences (see `FAMILY_BATCH`).
const REBUILD_BATCH: usize = crate::FAMILY_BATCH;

/// The log folded afresh by [`SledStore::refold`]: every stream's state and event positions.
pub struct Refolded {
    pub(crate) head: u64,
    pub(crate) events: u64,
    pub(crate) folded: Folded,
    pub(crate) seqs: IdMap<Vec<u64>>,
}

/// What `verify` found: how far the chain holds, and the first place it does not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Events checked and found sound, in order from seq 1.
    pub events: u64,
    /// The head of the sound part of the chain.
    pub head: Head,
    /// The first broken sequence number and what is wrong there.
    pub broken: Option<(u64, String)>,
}

/// One projection entry that did not match the fold of the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Difference {
    pub id: Ulid,
    /// `missing` (in the log, not in the projection), `extra` (the reverse), `changed`, or `index` (the stream's
    /// index entry was wrong).
    pub kind: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RebuildReport {
    pub events: u64,
    pub replies: usize,
    pub commitments: usize,
    pub differences: Vec<Difference>,
}

impl SledStore {
    /// Walks the whole log from seq 1, checking positions, stream versions, every hash, and that the stream index
    /// says exactly what the log holds.
    pub fn verify(&self) -> Result<VerifyReport> {
        self.settle()?;
        let mut head = Head::empty();
        let mut previous = [0u8; 32];
        let mut expected = Expected::default();
        let broken = |head: Head, seq: u64, reason: String| {
            Ok(VerifyReport { events: head.seq, head, broken: Some((seq, reason)) })
        };
        for entry in self.log.iter() {
            let (key, value) = entry?;
            let expected_seq = head.seq + 1;
            let Ok(key) = <[u8; 8]>::try_from(key.as_ref()) else {
                return broken(head, expected_seq, "日志键格式错误".into());
            };
            let first = u64::from_be_bytes(key);
            if first != expected_seq {
                let reason = format!("第 {expected_seq} 条事件缺失（其后存有第 {first} 条）");
                return broken(head, expected_seq, reason);
            }
            let payload = match self.open_log_chunk(first, &value) {
                Ok(payload) => payload,
                Err(error) => return broken(head, first, error.to_string()),
            };
            let (anchor, framed) = match chain::split_payload(first, &payload) {
                Ok(split) => split,
                Err(error) => return broken(head, first, error.to_string()),
            };
            if *anchor != previous {
                return broken(head, first, crate::ANCHOR_BROKEN.into());
            }
            let records = match chain::records(first, framed) {
                Ok(records) if !records.is_empty() => records,
                Ok(_) => return broken(head, first, "空的日志块".into()),
                Err(error) => return broken(head, first, error.to_string()),
            };
            for (index, bytes) in records.into_iter().enumerate() {
                let seq = first + index as u64;
                let hash = match chain::rehash(seq, &previous, bytes) {
                    Ok(Some(hash)) => hash,
                    Ok(None) => {
                        let reason = "内容与其哈希不符（已被改动，或顺序被调换、有插入）".into();
                        return broken(head, seq, reason);
                    }
                    Err(error) => return broken(head, seq, error.to_string()),
                };
                // The event itself must decode, or no reader could use it.
                let envelope = match chain::decode_stored(seq, &previous, &hash, bytes) {
                    Ok(envelope) => envelope,
                    Err(error) => return broken(head, seq, error.to_string()),
                };
                if let Some(reason) = expected.admit(&envelope) {
                    return broken(head, seq, reason);
                }
                previous = hash;
                head = Head { seq, hash: envelope.hash };
            }
        }
        let recorded = self.head()?;
        if recorded != head {
            let reason = format!("库头记录为第 {} 条，而日志止于第 {} 条", recorded.seq, head.seq);
            return broken(head.clone(), head.seq + 1, reason);
        }
        // The index: every stream's entry names exactly its events; report the earliest event it misplaces.
        let mut unreadable: Option<(u64, String)> = None;
        let mut positions: HashMap<Ulid, Vec<u64>> = HashMap::new();
        for entry in self.families.iter() {
            let (key, value) = entry?;
            match Family::from_bytes(&value) {
                Some(family) => positions.extend(family.seqs),
                None => {
                    unreadable.get_or_insert((head.seq + 1, format!("答复 {} 的状态投影条目无法读取", ulid_of(&key))));
                }
            }
        }
        let mut stored_entries = Vec::new();
        for bucket in self.streams.space().iter() {
            let (key, value) = bucket?;
            match crate::streams::stored(&key, &value).ok() {
                Some(entries) => stored_entries.extend(entries),
                None => {
                    unreadable.get_or_insert((head.seq + 1, "流索引有一组条目无法读取".to_string()));
                }
            }
        }
        let misplaced = expected.misplaced(head.seq + 1, stored_entries, positions, unreadable);
        if let Some((seq, reason)) = misplaced {
            let before = match seq.min(head.seq + 1) - 1 {
                0 => Head::empty(),
                at => Head { seq: at, hash: self.hash_at(at)?.unwrap_or_default() },
            };
            return broken(before, seq, reason);
        }
        Ok(VerifyReport { events: head.seq, head, broken: None })
    }

    /// The hash of event `seq`, if the log holds it (chained from the anchor of the chunk that holds it).
    pub fn hash_at(&self, seq: u64) -> Result<Option<String>> {
        Ok(crate::ChunkReader::default().hash(self, seq)?.map(|hash| chain::hex(&hash)))
    }

    /// Event `seq` alone, its hash checked, if the log holds it.
    pub fn event_at(&self, seq: u64) -> Result<Option<Envelope>> {
        crate::ChunkReader::default().envelope(self, seq)
    }

    /// Recomputes the stream index and the projection from the log, writes back what differed, and says what that
    /// was.
    pub fn rebuild(&self) -> Result<RebuildReport> {
        let refolded = self.refold()?;
        self.rebuild_from(refolded)
    }

    /// The first half of [`SledStore::rebuild`]: the log folded afresh, to be compared with the stored projection by
    /// [`SledStore::rebuild_from`], on this handle or, to let go of what sled kept of the log in between, on the
    /// handle [`SledStore::reopen`] gives.
    pub fn refold(&self) -> Result<Refolded> {
        self.settle()?;
        let _writer = self.write_lock();
        let head = self.head()?.seq;
        let mut folded = Folded::default();
        let mut seqs: IdMap<Vec<u64>> = IdMap::default();
        let mut events = 0;
        // Reading and decoding run on two other threads while this one folds (see `read_batches`). Folded
        // batches go back to the threads that decoded them, to be freed there.
        std::thread::scope(|scope| -> Result<()> {
            let mut batches = self.read_batches(scope, 1);
            while let Some(batch) = batches.next() {
                let batch = batch?;
                for envelope in &batch {
                    folded.apply(envelope);
                    seqs.entry(envelope.stream).or_default().push(envelope.seq);
                    events += 1;
                }
                batches.recycle(batch);
            }
            Ok(())
        })?;
        Ok(Refolded { head, events, folded, seqs })
    }

    /// The second half of [`SledStore::rebuild`]: compares what [`SledStore::refold`] folded with the stored index and
    /// projection and writes back what differed. If the log grew in between, it is folded again.
    pub fn rebuild_from(&self, refolded: Refolded) -> Result<RebuildReport> {
        let _writer = self.write_lock();
        if self.head()?.seq != refolded.head {
            drop(_writer);
            return self.rebuild();
        }
        let Refolded { head, events, folded, mut seqs } = refolded;
        let (replies, commitments) = (folded.replies.len(), folded.commitments.len());
        let (entries, wanted) = wanted_projection(folded, &mut seqs);
        let mut differences = Vec::new();
        // The stream index is checked on a second thread while this one compares the families.
        let index_check = |entries: IdMap<StreamEntry>| self.index_fixes(entries);
        let (index_fixes, family_check) = std::thread::scope(|scope| {
            let index = scope.spawn(move || index_check(entries));
            let families = self.compare_families(wanted);
            (index.join().expect("the index check does not panic"), families)
        });
        let (index_differences, index_fixes) = index_fixes?;
        let (family_differences, family_fixes) = family_check?;
        differences.extend(index_differences.iter().map(|id| Difference { id: *id, kind: "index" }));
        let mut index_differences: std::collections::BTreeSet<Ulid> = index_differences.into_iter().collect();
        for (stored, family) in &family_differences {
            differences.extend(compare(stored, family.as_ref(), &mut index_differences));
        }
        // Written in batches: the projection is derived, so a rebuild cut short is finished by the next one, and a
        // whole new projection (after a restore) need not sit in memory twice over.
        /// A write that fixes the projection: the key space, the key, the value (`None` removes the key).
        type Fix<'a> = (&'a Space, Vec<u8>, Option<Vec<u8>>);
        let fixes: Vec<Fix> = index_fixes
            .into_iter()
            .map(|(key, value)| (self.streams.space(), key, value))
            .chain(family_fixes.into_iter().map(|(id, value)| (&self.families, id.to_bytes().to_vec(), value)))
            .collect();
        let mut projected = Writes::default();
        let recorded = self.meta.get(crate::PROJECTED_KEY)?;
        if recorded.as_deref() != Some(&head.to_be_bytes()[..]) {
            projected.insert(&self.meta, crate::PROJECTED_KEY, head.to_be_bytes().to_vec());
        }
        for batch in fixes.chunks(REBUILD_BATCH) {
            let mut writes = Writes::default();
            for (space, key, value) in batch {
                match value {
                    Some(value) => writes.insert(space, key, value.clone()),
                    None => writes.remove(space, key),
                }
            }
            writes.apply(&self.db)?;
        }
        if !projected.is_empty() {
            projected.apply(&self.db)?;
        }
        if !fixes.is_empty() {
            self.sync()?;
        }
        Ok(RebuildReport { events, replies, commitments, differences })
    }
}

impl SledStore {
    /// Compares the stored stream index with the entries the log gives: the streams whose entry is wrong, missing or
    /// not in the log, and the writes (bucket key, value or removal) that fix them. A bucket that cannot be read is
    /// rewritten whole.
    #[allow(clippy::type_complexity)]
    fn index_fixes(&self, entries: IdMap<StreamEntry>) -> Result<(Vec<Ulid>, Vec<(Vec<u8>, Option<Vec<u8>>)>)> {
        let mut wanted: BTreeMap<Vec<u8>, BTreeMap<Ulid, StreamEntry>> = BTreeMap::new();
        for (bucket, members) in crate::streams::by_bucket(entries) {
            wanted.insert(bucket.to_vec(), members.into_iter().collect());
        }
        let (mut differences, mut fixes) = (Vec::new(), Vec::new());
        for stored in self.streams.space().iter() {
            let (key, value) = stored?;
            let members = wanted.remove(&key[..]).unwrap_or_default();
            let bytes = crate::streams::encode(&members);
            if bytes == value[..] && key.len() == crate::streams::BUCKET_BYTES {
                continue;
            }
            match crate::streams::stored(&key, &value).ok() {
                Some(stored) => {
                    let stored: BTreeMap<Ulid, StreamEntry> = stored.into_iter().collect();
                    let ids: std::collections::BTreeSet<&Ulid> = stored.keys().chain(members.keys()).collect();
                    differences.extend(ids.into_iter().filter(|id| stored.get(id) != members.get(id)).copied());
                }
                None => differences.extend(members.keys().copied()),
            }
            fixes.push((key.to_vec(), (!members.is_empty()).then_some(bytes)));
        }
        for (key, members) in wanted {
            differences.extend(members.keys().copied());
            fixes.push((key, Some(crate::streams::encode(&members))));
        }
        differences.sort_unstable();
        fixes.sort();
        Ok((differences, fixes))
    }

    /// Compares the stored families with the folded ones: the pairs that differ (stored, wanted), and the writes
    /// that fix them.
    #[allow(clippy::type_complexity)]
    /// The stored families against the ones folded from the log: the pairs that differ and the writes that fix them.
    /// Two threads, each over half of the family ids (decoding a stored family costs about as much as folding its
    /// events did).
    #[allow(clippy::type_complexity)]
    fn compare_families(
        &self,
        mut wanted: BTreeMap<Ulid, Family>,
    ) -> Result<(Vec<(Family, Option<Family>)>, Vec<(Ulid, Option<Vec<u8>>)>)> {
        let Some((first, last)) = self.family_bounds()? else { return self.compare_family_range(wanted, None, None) };
        let middle = Ulid(first.0 + (last.0 - first.0) / 2);
        let later = wanted.split_off(&middle);
        let (early, late) = std::thread::scope(|scope| {
            let late = scope.spawn(|| self.compare_family_range(later, Some(middle), None));
            (self.compare_family_range(wanted, None, Some(middle)), late.join().expect("the comparison does not panic"))
        });
        let (mut differing, mut fixes) = early?;
        let (late_differing, late_fixes) = late?;
        differing.extend(late_differing);
        fixes.extend(late_fixes);
        Ok((differing, fixes))
    }

    /// [`SledStore::compare_families`] over the stored families from `from` (included) to `to` (excluded); `wanted`
    /// holds the folded families of that range.
    #[allow(clippy::type_complexity)]
    fn compare_family_range(
        &self,
        mut wanted: BTreeMap<Ulid, Family>,
        from: Option<Ulid>,
        to: Option<Ulid>,
    ) -> Result<(Vec<(Family, Option<Family>)>, Vec<(Ulid, Option<Vec<u8>>)>)> {
        let (from, to) = (from.map(|id| id.to_bytes()), to.map(|id| id.to_bytes()));
        let low = from.as_ref().map_or(Bound::Unbounded, |key| Bound::Included(&key[..]));
        let high = to.as_ref().map_or(Bound::Unbounded, |key| Bound::Excluded(&key[..]));
        let (mut differing, mut fixes) = (Vec::new(), Vec::new());
        for entry in self.families.range(low, high) {
            let (key, value) = entry?;
            let id = ulid_of(&key);
            let stored = Family::from_bytes(&value).unwrap_or_default();
            match wanted.remove(&id) {
                None => {
                    fixes.push((id, None));
                    differing.push((stored, None));
                }
                Some(family) if family != stored => {
                    fixes.push((id, Some(family.to_bytes())));
                    differing.push((stored, Some(family)));
                }
                Some(_) => {}
            }
        }
        for (id, family) in wanted {
            fixes.push((id, Some(family.to_bytes())));
            differing.push((Family::default(), Some(family)));
        }
        Ok((differing, fixes))
    }
}

/// What the log says each stream's index entry and event positions must be, gathered as `verify` walks it.
#[derive(Default)]
pub(crate) struct Expected(HashMap<Ulid, (StreamEntry, Vec<u64>)>);

impl Expected {
    /// Takes the log's next event; says why it cannot follow its stream's events, if it cannot.
    pub(crate) fn admit(&mut self, envelope: &Envelope) -> Option<String> {
        let (stream, seqs) =
            self.0.entry(envelope.stream).or_insert_with(|| (StreamEntry::opened_by(envelope), Vec::new()));
        if envelope.version != seqs.len() as u32 + 1
            || stream.kind != envelope.event.stream_kind()
            || envelope.event.opens_stream() != (envelope.version == 1)
        {
            return Some(format!(
                "流 {} 的版本由 {} 跳到 {}，或事件不属于该流",
                envelope.stream,
                seqs.len(),
                envelope.version
            ));
        }
        seqs.push(envelope.seq);
        None
    }

    /// The earliest event the stored index (`stored`: each stream's entry) or the families' positions
    /// (`positions`) misplace, and how; `unreadable`, a part of them that could not be read, counts as such. What
    /// no event of the log explains is placed at `past`, the seq after the head.
    pub(crate) fn misplaced(
        mut self,
        past: u64,
        stored: Vec<(Ulid, StreamEntry)>,
        mut positions: HashMap<Ulid, Vec<u64>>,
        unreadable: Option<(u64, String)>,
    ) -> Option<(u64, String)> {
        let mut misplaced = unreadable;
        let mut note = |seq: u64, reason: String| {
            if misplaced.as_ref().is_none_or(|(earliest, _)| seq < *earliest) {
                misplaced = Some((seq, reason));
            }
        };
        for (stream, stored) in stored {
            let seqs = positions.remove(&stream).unwrap_or_default();
            match self.0.remove(&stream) {
                None => note(past, format!("流索引含有日志中没有的流 {stream}")),
                Some((wanted, wanted_seqs)) if stored != wanted || seqs != wanted_seqs => {
                    let at = wanted_seqs.iter().zip(seqs.iter().chain(std::iter::repeat(&0))).find(|(a, b)| a != b);
                    let seq = at.map_or(wanted_seqs[0], |(seq, _)| *seq);
                    note(seq, format!("流索引未正确指向流 {stream} 的事件"));
                }
                _ => {}
            }
        }
        for (stream, (_, seqs)) in self.0 {
            note(seqs[0], format!("流索引缺少流 {stream}"));
        }
        misplaced
    }
}

/// The stream index and the families the folded log gives: what the stored projection must equal.
pub(crate) fn wanted_projection(
    folded: Folded,
    seqs: &mut IdMap<Vec<u64>>,
) -> (IdMap<StreamEntry>, BTreeMap<Ulid, Family>) {
    let (replies, commitments) = (folded.replies.len(), folded.commitments.len());
    // Each stream's index entry, as its opening event gave it.
    let mut entries: IdMap<StreamEntry> = IdMap::default();
    entries.reserve(replies + commitments);
    for id in folded.replies.keys() {
        entries.insert(*id, StreamEntry::of(StreamKind::Reply, *id, None));
    }
    for (id, state) in &folded.commitments {
        entries.insert(*id, StreamEntry::of(StreamKind::Commitment, *id, state.reply));
    }
    for id in folded.proposals.keys() {
        entries.insert(*id, StreamEntry::of(StreamKind::Proposal, *id, None));
    }
    for id in folded.accounts.keys() {
        entries.insert(*id, StreamEntry::of(StreamKind::Account, *id, None));
    }
    let mut wanted: BTreeMap<Ulid, Family> = BTreeMap::new();
    for (id, reply) in folded.replies {
        let family = wanted.entry(id).or_default();
        family.reply = Some(reply);
        family.seqs.insert(id, seqs.remove(&id).unwrap_or_default());
    }
    for (id, commitment) in folded.commitments {
        let family = wanted.entry(entries.get(&id).map_or(id, |entry| entry.family)).or_default();
        family.commitments.push(commitment);
        family.seqs.insert(id, seqs.remove(&id).unwrap_or_default());
    }
    for (id, proposal) in folded.proposals {
        let family = wanted.entry(id).or_default();
        family.proposal = Some(proposal);
        family.seqs.insert(id, seqs.remove(&id).unwrap_or_default());
    }
    for (id, account) in folded.accounts {
        let family = wanted.entry(id).or_default();
        family.account = Some(account);
        family.seqs.insert(id, seqs.remove(&id).unwrap_or_default());
    }
    for family in wanted.values_mut() {
        family.commitments.sort_by_key(|state| state.id);
    }
    (entries, wanted)
}

/// The replies and commitments that differ between a stored family and the one folded from the log (`None`: the
/// family should not exist).
/// A member whose states agree but whose event positions differ is an `index` difference (once per stream).
pub(crate) fn compare(
    stored: &Family,
    wanted: Option<&Family>,
    index: &mut std::collections::BTreeSet<Ulid>,
) -> Vec<Difference> {
    let empty = Family::default();
    let wanted = wanted.unwrap_or(&empty);
    let mut differences = Vec::new();
    for (id, seqs) in &wanted.seqs {
        if stored.seqs.get(id).is_some_and(|stored| stored != seqs) && index.insert(*id) {
            differences.push(Difference { id: *id, kind: "index" });
        }
    }
    let mut differ = |id: Option<Ulid>, kind| differences.push(Difference { id: id.unwrap_or_default(), kind });
    match (&stored.reply, &wanted.reply) {
        (None, Some(reply)) => differ(reply.id, "missing"),
        (Some(reply), None) => differ(reply.id, "extra"),
        (Some(stored), Some(reply)) if stored != reply => differ(reply.id, "changed"),
        _ => {}
    }
    let by_id = |family: &Family| -> BTreeMap<Option<Ulid>, CommitmentState> {
        family.commitments.iter().map(|state| (state.id, state.clone())).collect()
    };
    let (stored, wanted) = (by_id(stored), by_id(wanted));
    for (id, state) in &wanted {
        match stored.get(id) {
            None => differ(*id, "missing"),
            Some(existing) if existing != state => differ(*id, "changed"),
            Some(_) => {}
        }
    }
    for id in stored.keys().filter(|id| !wanted.contains_key(id)) {
        differ(*id, "extra");
    }
    differences
}
