//! The stream index: each stream's entry (its kind and the family that holds it), kept in *buckets* — one sled value
//! for all the streams whose ids share their first [`BUCKET_BYTES`] bytes, that is, that were created within the
//! same 2^24 ms (about 4.7 hours) — instead of one sled key per stream (layout 4, decision 0008).
//!
//! sled loads a node for every 8–16 keys when it opens a store: with a key per stream the index was 130,000 of a
//! million-event store's 154,000 keys, and opening took 12 ms instead of 4.5. A bucket is its entries sorted by id,
//! each `id (16 bytes) ‖ entry (17 bytes)`. Entries are written once, when their stream opens, so a bucket is
//! rewritten only while streams are being created in its window. ULID text sorts as its bytes do, and a short id
//! has at least six characters (30 bits), so the ids with a given prefix lie in one bucket.

use std::collections::BTreeMap;
use std::ops::Bound;

use ulid::Ulid;

use crate::error::{Result, StoreError};
use crate::index::StreamEntry;
use crate::space::{Space, Writes};

/// The bytes of an id that name its bucket.
pub const BUCKET_BYTES: usize = 3;

/// One entry in a bucket: the stream's id, then its [`StreamEntry`].
const RECORD: usize = 16 + StreamEntry::BYTES;

type Bucket = [u8; BUCKET_BYTES];

pub struct StreamIndex {
    space: Space,
}

impl StreamIndex {
    pub fn new(space: Space) -> StreamIndex {
        StreamIndex { space }
    }

    pub fn space(&self) -> &Space {
        &self.space
    }

    /// The entry of one stream.
    pub fn get(&self, id: &Ulid) -> Result<Option<StreamEntry>> {
        let bucket = bucket_of(id);
        let Some(bytes) = self.space.get(bucket)? else { return Ok(None) };
        let records = records(&bucket, &bytes)?;
        Ok(records.binary_search_by_key(id, |(id, _)| *id).ok().map(|index| records[index].1))
    }

    /// Every entry, in id order.
    pub fn iter(&self) -> impl Iterator<Item = Result<(Ulid, StreamEntry)>> + '_ {
        self.buckets(Bound::Unbounded, Bound::Unbounded)
    }

    /// The entries with ids from `low` to `high` (both included), in id order.
    pub fn range(&self, low: Ulid, high: Ulid) -> impl Iterator<Item = Result<(Ulid, StreamEntry)>> + '_ {
        let (first, last) = (bucket_of(&low), bucket_of(&high));
        self.buckets(Bound::Included(&first[..]), Bound::Included(&last[..]))
            .filter(move |entry| entry.as_ref().map_or(true, |(id, _)| (low..=high).contains(id)))
    }

    /// The greatest id below `id`.
    pub fn before(&self, id: &Ulid) -> Result<Option<Ulid>> {
        let bucket = bucket_of(id);
        for bucket in self.space.range(Bound::Unbounded, Bound::Included(&bucket[..])).rev() {
            let (key, bytes) = bucket?;
            let below = stored(&key, &bytes)?.into_iter().map(|(other, _)| other).rfind(|other| other < id);
            if below.is_some() {
                return Ok(below);
            }
        }
        Ok(None)
    }

    /// The smallest id above `id`.
    pub fn after(&self, id: &Ulid) -> Result<Option<Ulid>> {
        let bucket = bucket_of(id);
        for bucket in self.space.range(Bound::Included(&bucket[..]), Bound::Unbounded) {
            let (key, bytes) = bucket?;
            let above = stored(&key, &bytes)?.into_iter().map(|(other, _)| other).find(|other| other > id);
            if above.is_some() {
                return Ok(above);
            }
        }
        Ok(None)
    }

    /// Puts entries into `writes` (`None` removes one): each bucket they touch is read once — as `writes` already
    /// holds it, or as stored — and written once.
    pub fn write(
        &self,
        writes: &mut Writes,
        changes: impl IntoIterator<Item = (Ulid, Option<StreamEntry>)>,
    ) -> Result<()> {
        for (bucket, changes) in by_bucket(changes) {
            let current = match writes.pending(&self.space, &bucket) {
                Some(pending) => pending.map(|bytes| records(&bucket, bytes)).transpose()?,
                None => self.space.get(bucket)?.map(|bytes| records(&bucket, &bytes)).transpose()?,
            };
            let mut entries: BTreeMap<Ulid, StreamEntry> = current.unwrap_or_default().into_iter().collect();
            for (id, change) in changes {
                match change {
                    Some(entry) => entries.insert(id, entry),
                    None => entries.remove(&id),
                };
            }
            match entries.is_empty() {
                true => writes.remove(&self.space, &bucket),
                false => writes.insert(&self.space, &bucket, encode(&entries)),
            }
        }
        Ok(())
    }

    /// Entries of the buckets between two bounds, in id order.
    fn buckets<'a>(
        &'a self,
        low: Bound<&[u8]>,
        high: Bound<&[u8]>,
    ) -> impl Iterator<Item = Result<(Ulid, StreamEntry)>> + 'a {
        self.space.range(low, high).flat_map(|bucket| {
            let entries = bucket.and_then(|(key, bytes)| stored(&key, &bytes));
            let (entries, error) = match entries {
                Ok(entries) => (entries, None),
                Err(error) => (Vec::new(), Some(error)),
            };
            entries.into_iter().map(Ok).chain(error.map(Err))
        })
    }
}

/// Groups entries by bucket, in bucket order.
pub fn by_bucket<T>(items: impl IntoIterator<Item = (Ulid, T)>) -> BTreeMap<Bucket, Vec<(Ulid, T)>> {
    let mut buckets: BTreeMap<Bucket, Vec<(Ulid, T)>> = BTreeMap::new();
    for (id, item) in items {
        buckets.entry(bucket_of(&id)).or_default().push((id, item));
    }
    buckets
}

pub fn bucket_of(id: &Ulid) -> Bucket {
    let bytes = id.to_bytes();
    [bytes[0], bytes[1], bytes[2]]
}

/// A bucket's value: its entries in id order.
pub fn encode(entries: &BTreeMap<Ulid, StreamEntry>) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(entries.len() * RECORD);
    for (id, entry) in entries {
        bytes.extend_from_slice(&id.to_bytes());
        bytes.extend_from_slice(&entry.to_bytes());
    }
    bytes
}

/// A bucket's entries, checked: whole records, ids of this bucket in increasing order, known kinds.
pub fn records(bucket: &Bucket, bytes: &[u8]) -> Result<Vec<(Ulid, StreamEntry)>> {
    let bad = || StoreError::ProjectionDamaged {
        what: format!("流索引分组 {}", hex_bucket(bucket)),
        reason: "记录不完整或次序错乱".into(),
    };
    if !bytes.len().is_multiple_of(RECORD) {
        return Err(bad());
    }
    let mut entries: Vec<(Ulid, StreamEntry)> = Vec::with_capacity(bytes.len() / RECORD);
    for record in bytes.chunks_exact(RECORD) {
        let id = Ulid::from_bytes(record[..16].try_into().map_err(|_| bad())?);
        let entry = StreamEntry::from_bytes(&record[16..]).ok_or_else(bad)?;
        if bucket_of(&id) != *bucket || entries.last().is_some_and(|(last, _)| *last >= id) {
            return Err(bad());
        }
        entries.push((id, entry));
    }
    Ok(entries)
}

/// The entries of a bucket as stored under `key` (a key that names no bucket is corruption too).
pub fn stored(key: &[u8], bytes: &[u8]) -> Result<Vec<(Ulid, StreamEntry)>> {
    records(&key_bucket(key)?, bytes)
}

fn key_bucket(key: &[u8]) -> Result<Bucket> {
    key.try_into()
        .map_err(|_| StoreError::ProjectionDamaged { what: "流索引".into(), reason: "有无法识别的键".into() })
}

fn hex_bucket(bucket: &Bucket) -> String {
    bucket.iter().map(|byte| format!("{byte:02x}")).collect()
}
