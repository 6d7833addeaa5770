//! Auditing the log: `verify` walks the hash chain; `rebuild` recomputes the projection from the log and reports
//! where the stored projection differed.

use std::collections::{BTreeMap, HashMap};

use duban_domain::Folded;
use serde::Serialize;
use sled::Transactional;
use ulid::Ulid;

use crate::chain;
use crate::error::{Result, StoreError};
use crate::{from_transaction, Head, Store, GENESIS};

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
    /// `missing` (in the log, not in the projection), `extra` (the reverse) or `changed`.
    pub kind: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RebuildReport {
    pub events: u64,
    pub replies: usize,
    pub commitments: usize,
    pub differences: Vec<Difference>,
}

impl Store {
    /// Walks the whole log from seq 1, checking positions, stream versions, the stream index and every hash.
    pub fn verify(&self) -> Result<VerifyReport> {
        let mut head = Head { seq: 0, hash: GENESIS.to_string() };
        let mut previous = [0u8; 32];
        let mut versions: HashMap<u128, u32> = HashMap::new();
        let broken = |head: Head, seq: u64, reason: String| {
            Ok(VerifyReport { events: head.seq, head, broken: Some((seq, reason)) })
        };
        for entry in self.log.iter() {
            let (key, chunk) = entry?;
            let expected = head.seq + 1;
            let Ok(key) = <[u8; 8]>::try_from(key.as_ref()) else {
                return broken(head, expected, "日志键格式错误".into());
            };
            let first = u64::from_be_bytes(key);
            if first != expected {
                return broken(head, expected, format!("第 {expected} 条事件缺失（其后存有第 {first} 条）"));
            }
            let records = match chain::records(first, &chunk) {
                Ok(records) if !records.is_empty() => records,
                Ok(_) => return broken(head, first, "空的日志块".into()),
                Err(error) => return broken(head, first, error.to_string()),
            };
            for (index, bytes) in records.into_iter().enumerate() {
                let seq = first + index as u64;
                if !chain::sound(bytes) {
                    return broken(head, seq, "内容与其哈希不符（已被改动）".into());
                }
                let (hash, body) = chain::split(seq, bytes)?;
                let stored = match chain::head(seq, body) {
                    Ok(stored) => stored,
                    Err(error) => return broken(head, seq, error.to_string()),
                };
                if stored.seq != seq {
                    let reason = format!("存于第 {seq} 位的事件自称第 {} 条（顺序被调换或有插入）", stored.seq);
                    return broken(head, seq, reason);
                }
                if stored.prev_hash != previous {
                    return broken(head, seq, "与前一条事件不衔接（prev_hash 不符）".into());
                }
                let version = versions.entry(stored.stream).or_default();
                if stored.version != *version + 1 {
                    let reason = format!("流 {} 的版本由 {} 跳到 {}", Ulid(stored.stream), version, stored.version);
                    return broken(head, seq, reason);
                }
                *version = stored.version;
                let indexed = self.streams.get(chain::stream_key(&Ulid(stored.stream), stored.version))?;
                if indexed.as_deref() != Some(&chain::seq_key(seq)[..]) {
                    return broken(head, seq, "流索引未指向此事件".into());
                }
                // The event itself must decode, or no reader could use it.
                if let Err(error) = chain::decode(seq, bytes) {
                    return broken(head, seq, error.to_string());
                }
                previous = *hash;
                head = Head { seq, hash: chain::hex(hash) };
            }
        }
        let recorded = self.head()?;
        if recorded != head {
            let reason = format!("库头记录为第 {} 条，而日志止于第 {} 条", recorded.seq, head.seq);
            return broken(head.clone(), head.seq + 1, reason);
        }
        Ok(VerifyReport { events: head.seq, head, broken: None })
    }

    /// The stored hash of event `seq`, if the log holds it.
    pub fn hash_at(&self, seq: u64) -> Result<Option<String>> {
        match self.record_at(seq)? {
            Some(bytes) => Ok(Some(chain::decode(seq, &bytes)?.hash)),
            None => Ok(None),
        }
    }

    /// Recomputes the projection from the log, writes back what differed, and says what that was.
    pub fn rebuild(&self) -> Result<RebuildReport> {
        let mut folded = Folded::default();
        let mut events = 0;
        for envelope in self.read_all(1) {
            folded.apply(&envelope?);
            events += 1;
        }
        let stored_replies = stored_states(&self.replies)?;
        let stored_commitments = stored_states(&self.commitments)?;
        let reply_fixes = compare(&folded.replies, &stored_replies);
        let commitment_fixes = compare(&folded.commitments, &stored_commitments);
        let differences: Vec<Difference> =
            reply_fixes.iter().chain(&commitment_fixes).map(|(d, _)| d.clone()).collect();
        if !differences.is_empty() {
            (&self.replies, &self.commitments)
                .transaction(|(replies, commitments)| {
                    for (tree, fixes) in [(replies, &reply_fixes), (commitments, &commitment_fixes)] {
                        for (difference, value) in fixes {
                            let key = difference.id.to_string();
                            match value {
                                Some(value) => tree.insert(key.as_bytes(), value.as_slice())?,
                                None => tree.remove(key.as_bytes())?,
                            };
                        }
                    }
                    Ok::<_, sled::transaction::ConflictableTransactionError<StoreError>>(())
                })
                .map_err(from_transaction)?;
            self.sync()?;
        }
        Ok(RebuildReport { events, replies: folded.replies.len(), commitments: folded.commitments.len(), differences })
    }
}

/// A projection tree keyed by id; an entry that does not decode counts as absent, so rebuild rewrites it.
fn stored_states<T: for<'de> serde::Deserialize<'de>>(tree: &sled::Tree) -> Result<BTreeMap<Ulid, Option<T>>> {
    let mut states = BTreeMap::new();
    for entry in tree.iter() {
        let (key, bytes) = entry?;
        if let Some(id) = std::str::from_utf8(&key).ok().and_then(|text| text.parse().ok()) {
            states.insert(id, chain::decode_state(&bytes).ok());
        }
    }
    Ok(states)
}

/// The differences between the fold and the stored projection, each with the value to write (None: remove).
fn compare<T: PartialEq + Serialize>(
    folded: &BTreeMap<Ulid, T>,
    stored: &BTreeMap<Ulid, Option<T>>,
) -> Vec<(Difference, Option<Vec<u8>>)> {
    let mut fixes = Vec::new();
    for (id, state) in folded {
        let kind = match stored.get(id) {
            None => "missing",
            Some(existing) if existing.as_ref() != Some(state) => "changed",
            Some(_) => continue,
        };
        fixes.push((Difference { id: *id, kind }, Some(chain::encode_state(state))));
    }
    for id in stored.keys().filter(|id| !folded.contains_key(id)) {
        fixes.push((Difference { id: *id, kind: "extra" }, None));
    }
    fixes
}
