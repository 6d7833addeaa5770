//! The hash chain and the stored encoding of an envelope.
//!
//! Each envelope's hash is SHA-256 over its canonical JSON without the `hash` field; that JSON includes
//! `prev_hash`, so every event commits to all before it. The canonical form is independent of how the log stores
//! bytes, so an export re-hashes to the same chain.

use chrono::{DateTime, NaiveDate, Utc};
use duban_domain::{Envelope, Event, SCHEMA_VERSION};
use serde::Serialize;
use sha2::{Digest, Sha256};
use ulid::Ulid;

use crate::error::{Result, StoreError};

/// The `prev_hash` of the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The envelope's fields in their canonical order, without `hash`.
#[derive(Serialize)]
struct Hashed<'a> {
    seq: u64,
    id: &'a Ulid,
    stream: &'a Ulid,
    version: u32,
    occurred_on: &'a NaiveDate,
    recorded_at: &'a DateTime<Utc>,
    actor: &'a str,
    schema: u16,
    prev_hash: &'a str,
    event: &'a Event,
}

/// The hash an envelope should carry, given its `prev_hash`.
pub fn hash_of(envelope: &Envelope) -> String {
    let hashed = Hashed {
        seq: envelope.seq,
        id: &envelope.id,
        stream: &envelope.stream,
        version: envelope.version,
        occurred_on: &envelope.occurred_on,
        recorded_at: &envelope.recorded_at,
        actor: &envelope.actor,
        schema: envelope.schema,
        prev_hash: &envelope.prev_hash,
        event: &envelope.event,
    };
    let bytes = serde_json::to_vec(&hashed).expect("an envelope always serializes");
    let digest = Sha256::digest(&bytes);
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

pub fn encode(envelope: &Envelope) -> Vec<u8> {
    serde_json::to_vec(envelope).expect("an envelope always serializes")
}

pub fn decode(seq: u64, bytes: &[u8]) -> Result<Envelope> {
    let envelope: Envelope =
        serde_json::from_slice(bytes).map_err(|error| StoreError::Corrupt { seq, reason: error.to_string() })?;
    if envelope.schema > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema { found: envelope.schema, supported: SCHEMA_VERSION });
    }
    Ok(envelope)
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
