//! The stored form of an envelope and the hash chain over it.
//!
//! A stored event is `hash (32 bytes) ‖ body`, where `body` is the envelope in postcard (a compact binary serde
//! format) with `prev_hash` inside it and `hash = SHA-256(body)`. So every event commits to all before it; `verify`
//! hashes the stored bytes as they are, without re-encoding; and an export (JSON) re-hashes to the same chain,
//! because the body is a deterministic function of the envelope's fields.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use duban_domain::{Envelope, Event, SCHEMA_VERSION};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ulid::Ulid;

use crate::error::{Result, StoreError};

/// The `prev_hash` of the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The envelope's fields in their stored order, without `hash`; dates as numbers, ids and hashes as raw bytes.
#[derive(Serialize, Deserialize)]
struct Body<E> {
    seq: u64,
    id: u128,
    stream: u128,
    version: u32,
    /// Days since 0001-01-01 (CE day number).
    occurred_on: i32,
    /// Nanoseconds since the Unix epoch.
    recorded_at: i64,
    actor: String,
    schema: u16,
    prev_hash: [u8; 32],
    event: E,
}

/// The fields `verify` needs, read without decoding the event (postcard is positional: every field up to the
/// event is listed, in order).
#[derive(Deserialize)]
pub struct Head<'a> {
    pub seq: u64,
    _id: u128,
    pub stream: u128,
    pub version: u32,
    _occurred_on: i32,
    _recorded_at: i64,
    _actor: &'a str,
    pub schema: u16,
    pub prev_hash: [u8; 32],
}

pub fn hex(bytes: &[u8; 32]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(64);
    for byte in bytes {
        text.push(DIGITS[usize::from(byte >> 4)] as char);
        text.push(DIGITS[usize::from(byte & 0x0F)] as char);
    }
    text
}

/// Parses a 64-digit hex hash; anything else is `None`.
pub fn unhex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(index * 2..index * 2 + 2)?, 16).ok()?;
    }
    Some(bytes)
}

fn body_of(envelope: &Envelope) -> Body<&Event> {
    Body {
        seq: envelope.seq,
        id: envelope.id.0,
        stream: envelope.stream.0,
        version: envelope.version,
        occurred_on: envelope.occurred_on.num_days_from_ce(),
        recorded_at: envelope.recorded_at.timestamp_nanos_opt().unwrap_or(i64::MAX),
        actor: envelope.actor.clone(),
        schema: envelope.schema,
        // A malformed prev_hash (only possible in a hand-edited import) hashes as zeros and fails the chain check.
        prev_hash: unhex(&envelope.prev_hash).unwrap_or([0xFF; 32]),
        event: &envelope.event,
    }
}

fn body_bytes(envelope: &Envelope) -> Vec<u8> {
    postcard::to_stdvec(&body_of(envelope)).expect("an envelope always serializes")
}

/// The hash an envelope should carry, given its `prev_hash` (hex SHA-256 of its stored body).
pub fn hash_of(envelope: &Envelope) -> String {
    hex(&Sha256::digest(body_bytes(envelope)).into())
}

/// The stored bytes of an envelope (its hash, then its body), and that hash in hex. The envelope's own `hash`
/// field is not read: sealing computes it.
pub fn encode(envelope: &Envelope) -> (Vec<u8>, String) {
    let body = body_bytes(envelope);
    let hash: [u8; 32] = Sha256::digest(&body).into();
    let mut bytes = Vec::with_capacity(32 + body.len());
    bytes.extend_from_slice(&hash);
    bytes.extend_from_slice(&body);
    (bytes, hex(&hash))
}

fn corrupt(seq: u64, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt { seq, reason: reason.into() }
}

/// Splits stored bytes into the stored hash and the body.
pub fn split(seq: u64, bytes: &[u8]) -> Result<(&[u8; 32], &[u8])> {
    let (hash, body) = bytes.split_first_chunk::<32>().ok_or_else(|| corrupt(seq, "记录过短"))?;
    Ok((hash, body))
}

/// Reads the head fields of a stored body without decoding its event.
pub fn head(seq: u64, body: &[u8]) -> Result<Head<'_>> {
    let (head, _) = postcard::take_from_bytes::<Head>(body).map_err(|error| corrupt(seq, error.to_string()))?;
    if head.schema > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema { found: head.schema, supported: SCHEMA_VERSION });
    }
    Ok(head)
}

/// Reads stored bytes back into an envelope (`seq` names the event in errors).
pub fn decode(seq: u64, bytes: &[u8]) -> Result<Envelope> {
    let (hash, body) = split(seq, bytes)?;
    let head = head(seq, body)?;
    let stored: Body<Event> = postcard::from_bytes(body).map_err(|error| corrupt(seq, error.to_string()))?;
    let occurred_on =
        NaiveDate::from_num_days_from_ce_opt(stored.occurred_on).ok_or_else(|| corrupt(seq, "发生日期无效"))?;
    Ok(Envelope {
        seq: stored.seq,
        id: Ulid(stored.id),
        stream: Ulid(stored.stream),
        version: stored.version,
        occurred_on,
        recorded_at: DateTime::<Utc>::from_timestamp_nanos(stored.recorded_at),
        actor: stored.actor,
        schema: head.schema,
        prev_hash: hex(&stored.prev_hash),
        hash: hex(hash),
        event: stored.event,
    })
}

/// Whether stored bytes hash to the hash stored with them.
pub fn sound(bytes: &[u8]) -> bool {
    bytes.split_first_chunk::<32>().is_some_and(|(hash, body)| Sha256::digest(body).as_slice() == hash)
}

/// A log chunk: the stored events of one append, each framed by its length (u32, little-endian). Keyed by the
/// sequence number of its first event, so the events of a chunk are `key, key + 1, …`.
pub fn chunk(records: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(records.iter().map(|r| r.len() + 4).sum());
    for record in records {
        bytes.extend_from_slice(&(record.len() as u32).to_le_bytes());
        bytes.extend_from_slice(record);
    }
    bytes
}

/// The stored events of a chunk whose first event is `first`; broken framing is corruption at that event.
pub fn records(first: u64, chunk: &[u8]) -> Result<Vec<&[u8]>> {
    let mut records = Vec::new();
    let mut rest = chunk;
    while !rest.is_empty() {
        let seq = first + records.len() as u64;
        let (length, tail) = rest.split_first_chunk::<4>().ok_or_else(|| corrupt(seq, "记录长度缺失"))?;
        let length = u32::from_le_bytes(*length) as usize;
        if tail.len() < length {
            return Err(corrupt(seq, "记录被截断"));
        }
        records.push(&tail[..length]);
        rest = &tail[length..];
    }
    Ok(records)
}

/// Log keys: big-endian sequence numbers sort in log order.
pub fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

pub fn stream_key(stream: &Ulid, version: u32) -> [u8; 20] {
    let mut key = [0; 20];
    key[..16].copy_from_slice(&stream.to_bytes());
    key[16..].copy_from_slice(&version.to_be_bytes());
    key
}

/// Encodes folded state for the projection trees.
pub fn encode_state<T: Serialize>(state: &T) -> Vec<u8> {
    postcard::to_stdvec(state).expect("state always serializes")
}

pub fn decode_state<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|error| corrupt(0, format!("状态投影条目：{error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let bytes: [u8; 32] = std::array::from_fn(|i| (i * 37 + 5) as u8);
        let text = hex(&bytes);
        assert_eq!(text.len(), 64);
        assert!(text.starts_with("052a4f74"), "{text}");
        assert_eq!(unhex(&text), Some(bytes));
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex(&"g".repeat(64)), None);
    }
}
