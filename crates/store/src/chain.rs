//! The stored form of an envelope, the hash chain over it, and the chunks the log is kept in.
//!
//! An event's hash is SHA-256 of its *body*: the envelope in postcard (a compact binary serde format) without
//! `hash`, fields in the order `seq, id, stream, version, occurred_on, recorded_at, actor, schema, prev_hash, event`.
//! So every event commits to its position and to all before it, and an export (JSON) re-hashes to the same chain,
//! because the body is a deterministic function of the envelope's fields. This definition is fixed: report footers
//! and old exports cite these hashes.
//!
//! An event's *tail* is its body without `seq` and `prev_hash`, which follow from where it sits. Hashing splices them
//! back in (`seq` before the tail, `prev_hash` before the event) and hashes the stored bytes as they are, without
//! re-encoding.
//!
//! The store keeps the chain whole at the start of every chunk and, per event, only the first [`CHECK_BYTES`] of
//! its hash (layout 3): a stored *record* is `check ‖ tail`. Records are kept in chunks: the *anchor* (the full hash
//! before the chunk's first record), then consecutive records, each framed by its length (a LEB128 varint); the
//! whole compressed with zstd once the chunk is full, with LZ4 while it belongs to the open run of small appends
//! (see `SledStore::write_sealed`), as it is when neither saves space. A chunk is one sled value, keyed by the
//! sequence number of its first record; a full one is kept in a file of its own, the sled value pointing to it
//! (`chunk_files`, layout 6). A reader that needs an event's hash chains from its chunk's anchor; `verify` chains
//! from genesis, checks every record's check and every chunk's anchor, and names the first record that does not hold. Full
//! 32-byte hashes per record were a third of the compressed log.
//!
//! The *full* form of a record, `hash (32 bytes) ‖ tail`, is what a store keeping one row per event holds (the
//! benchmark's SQLite baseline): [`encode`], [`decode`], [`decode_for_fold`], [`full_hash`].

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use duban_domain::{Envelope, Event, SCHEMA_VERSION};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ulid::Ulid;

use crate::error::{Result, StoreError};

/// The `prev_hash` of the first event.
pub const GENESIS: &str = duban_domain::GENESIS_HASH;

/// A chunk stops growing once its records take this many bytes (before compression). Large, because sled keeps
/// values this big out of its log segments, in blob files written once and deleted when replaced: the log then
/// leaves almost no garbage in sled's segments, which sled rewrites in full at every open. Not larger: reading one
/// event decompresses its chunk and chains hashes from the chunk's anchor to it.
pub const CHUNK_BYTES: usize = 256 * 1024;

/// The chunk size of a run of single commands (a bulk load's chunks stay at [`CHUNK_BYTES`]). A run's chunks, one
/// per command, stay in sled's segments until the run fills a chunk and they are removed together: at
/// `CHUNK_BYTES`, ~2,000 commands' worth, whose segments then all lost their live data at once and were cleaned
/// together — a sawtooth of sled's file that moved a round of daily use by as much as its growth (decision 0023).
/// Filled at 32 KiB (~250 commands), a run dies a few segments at a time. Its full chunk is a file of ~12 KB; the
/// file system's blocks then take a few bytes more per event than at `CHUNK_BYTES`.
pub const COMMAND_CHUNK_BYTES: usize = 32 * 1024;

/// Bytes of an event's hash kept with its stored record: enough for `verify` to name the record that was altered
/// (a random change passes unnoticed there once in four billion times, and then fails at the next chunk's anchor or
/// the head, which are whole).
pub const CHECK_BYTES: usize = 4;

/// Bytes of a chunk's anchor: the full hash before its first record.
pub const ANCHOR_BYTES: usize = 32;

/// The envelope's stored fields, in order; dates as numbers.
#[derive(Serialize, Deserialize)]
struct Tail<E> {
    id: u128,
    stream: u128,
    version: u32,
    /// Days since 0001-01-01 (CE day number).
    occurred_on: i32,
    /// Nanoseconds since the Unix epoch.
    recorded_at: i64,
    actor: String,
    schema: u16,
    event: E,
}

/// The fields before the event, read without decoding it (postcard is positional: every field up to the event is
/// listed, in order), so a record of a newer schema is refused rather than misread.
#[derive(Deserialize)]
pub struct Head<'a> {
    _id: u128,
    _stream: u128,
    _version: u32,
    _occurred_on: i32,
    _recorded_at: i64,
    _actor: &'a str,
    pub schema: u16,
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

fn tail_bytes(envelope: &Envelope) -> Vec<u8> {
    let tail = Tail {
        id: envelope.id.0,
        stream: envelope.stream.0,
        version: envelope.version,
        occurred_on: envelope.occurred_on.num_days_from_ce(),
        recorded_at: envelope.recorded_at.timestamp_nanos_opt().unwrap_or(i64::MAX),
        actor: envelope.actor.clone(),
        schema: envelope.schema,
        event: &envelope.event,
    };
    postcard::to_stdvec(&tail).expect("an envelope always serializes")
}

/// The chain hash of a record's tail at `seq` following `prev`: the body is the tail with `seq` spliced in before
/// it and `prev` before its event. A tail whose fields do not parse has no body; it gets a hash no record holds.
pub fn chain_hash(seq: u64, prev: &[u8; 32], tail: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    // `seq` as a varint, on the stack (this runs once per event every fold reads).
    let (mut position, mut len, mut value) = ([0u8; 10], 0, seq);
    while value >= 0x80 {
        position[len] = (value as u8) | 0x80;
        value >>= 7;
        len += 1;
    }
    position[len] = value as u8;
    hasher.update(&position[..=len]);
    match postcard::take_from_bytes::<Head>(tail) {
        Ok((_, event)) => {
            hasher.update(&tail[..tail.len() - event.len()]);
            hasher.update(prev);
            hasher.update(event);
        }
        Err(_) => {
            hasher.update(b"unparsable");
            hasher.update(tail);
        }
    }
    hasher.finalize().into()
}

/// The raw form of a `prev_hash`; a malformed one (only possible in a hand-edited import) reads as all ones and
/// fails the chain check.
fn prev_of(envelope: &Envelope) -> [u8; 32] {
    unhex(&envelope.prev_hash).unwrap_or([0xFF; 32])
}

/// The hash an envelope should carry, given its `seq` and `prev_hash`.
pub fn hash_of(envelope: &Envelope) -> String {
    hex(&chain_hash(envelope.seq, &prev_of(envelope), &tail_bytes(envelope)))
}

/// The stored record of an envelope (the first [`CHECK_BYTES`] of its hash, then its tail), and its full hash. The
/// envelope's own `hash` field is not read: sealing computes it.
pub fn seal(envelope: &Envelope) -> (Vec<u8>, [u8; 32]) {
    let tail = tail_bytes(envelope);
    let hash = chain_hash(envelope.seq, &prev_of(envelope), &tail);
    let mut bytes = Vec::with_capacity(CHECK_BYTES + tail.len());
    bytes.extend_from_slice(&hash[..CHECK_BYTES]);
    bytes.extend_from_slice(&tail);
    (bytes, hash)
}

/// The full record of an envelope (its hash, then its tail), and that hash in hex. The envelope's own `hash` field
/// is not read: sealing computes it.
pub fn encode(envelope: &Envelope) -> (Vec<u8>, String) {
    let tail = tail_bytes(envelope);
    let hash = chain_hash(envelope.seq, &prev_of(envelope), &tail);
    let mut bytes = Vec::with_capacity(32 + tail.len());
    bytes.extend_from_slice(&hash);
    bytes.extend_from_slice(&tail);
    (bytes, hex(&hash))
}

fn corrupt(seq: u64, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt { seq, reason: reason.into() }
}

/// Splits a full record into its hash and its tail.
fn split(seq: u64, bytes: &[u8]) -> Result<(&[u8; 32], &[u8])> {
    let (hash, tail) = bytes.split_first_chunk::<32>().ok_or_else(|| corrupt(seq, "记录过短"))?;
    Ok((hash, tail))
}

/// Splits a stored record into its check and its tail.
fn split_stored(seq: u64, bytes: &[u8]) -> Result<(&[u8; CHECK_BYTES], &[u8])> {
    bytes.split_first_chunk::<CHECK_BYTES>().ok_or_else(|| corrupt(seq, "记录过短"))
}

/// The full hash of the stored record of event `seq` following `prev`, if its check agrees; `None` if it does not
/// (the record, or one before it, was altered), and an error if the record is too short to hold a check.
pub fn rehash(seq: u64, prev: &[u8; 32], record: &[u8]) -> Result<Option<[u8; 32]>> {
    let (check, tail) = split_stored(seq, record)?;
    let hash = chain_hash(seq, prev, tail);
    Ok((hash[..CHECK_BYTES] == check[..]).then_some(hash))
}

/// As [`rehash`], with a disagreeing check an error: for readers, which trust nothing they cannot chain.
pub fn chained(seq: u64, prev: &[u8; 32], record: &[u8]) -> Result<[u8; 32]> {
    rehash(seq, prev, record)?.ok_or_else(|| corrupt(seq, "内容与其哈希不符（可运行 duban verify 查看）"))
}

/// Checks a full record (hash, then tail) against the chain: its hash must be the one its content gives after `prev`.
/// Returns that hash. (What a store keeping one full row per event does to chain what it folds.)
pub fn chained_full(seq: u64, prev: &[u8; 32], bytes: &[u8]) -> Result<[u8; 32]> {
    let (hash, tail) = split(seq, bytes)?;
    if chain_hash(seq, prev, tail) != *hash {
        return Err(corrupt(seq, "内容与其哈希不符"));
    }
    Ok(*hash)
}

/// Reads the head fields of a tail without decoding its event.
pub fn head(seq: u64, tail: &[u8]) -> Result<Head<'_>> {
    let (head, _) = postcard::take_from_bytes::<Head>(tail).map_err(|error| corrupt(seq, error.to_string()))?;
    if head.schema > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema { found: head.schema, supported: SCHEMA_VERSION });
    }
    Ok(head)
}

/// Reads a full record back into an envelope, given its position and the hash before it.
pub fn decode(seq: u64, prev: &[u8; 32], bytes: &[u8]) -> Result<Envelope> {
    let (hash, tail) = split(seq, bytes)?;
    decode_tail(seq, tail, Some((prev, hash)))
}

/// Reads a full record for folding only: `prev_hash` and `hash` stay empty (two hex strings fewer per event).
pub fn decode_for_fold(seq: u64, bytes: &[u8]) -> Result<Envelope> {
    decode_tail(seq, split(seq, bytes)?.1, None)
}

/// Reads a stored record back into an envelope, given its position, the hash before it and its own (see
/// [`chained`]).
pub fn decode_stored(seq: u64, prev: &[u8; 32], hash: &[u8; 32], bytes: &[u8]) -> Result<Envelope> {
    decode_tail(seq, split_stored(seq, bytes)?.1, Some((prev, hash)))
}

/// Reads a stored record for folding only: `prev_hash` and `hash` stay empty.
pub fn decode_stored_for_fold(seq: u64, bytes: &[u8]) -> Result<Envelope> {
    decode_tail(seq, split_stored(seq, bytes)?.1, None)
}

fn decode_tail(seq: u64, tail: &[u8], hashes: Option<(&[u8; 32], &[u8; 32])>) -> Result<Envelope> {
    let schema = head(seq, tail)?.schema;
    let stored: Tail<Event> = postcard::from_bytes(tail).map_err(|error| corrupt(seq, error.to_string()))?;
    let occurred_on =
        NaiveDate::from_num_days_from_ce_opt(stored.occurred_on).ok_or_else(|| corrupt(seq, "发生日期无效"))?;
    Ok(Envelope {
        seq,
        id: Ulid(stored.id),
        stream: Ulid(stored.stream),
        version: stored.version,
        occurred_on,
        recorded_at: DateTime::<Utc>::from_timestamp_nanos(stored.recorded_at),
        actor: stored.actor,
        schema,
        prev_hash: hashes.map(|(prev, _)| hex(prev)).unwrap_or_default(),
        hash: hashes.map(|(_, hash)| hex(hash)).unwrap_or_default(),
        event: stored.event,
    })
}

/// The hash in a full record (all zeros if it is too short to hold one).
pub fn full_hash(bytes: &[u8]) -> [u8; 32] {
    bytes.first_chunk::<32>().copied().unwrap_or_default()
}

/// No payload is larger: a chunk stops at [`CHUNK_BYTES`] plus one record, and a record at a few times the largest
/// text an event may hold.
const MAX_PAYLOAD: usize = 16 * 1024 * 1024;

const PLAIN: u8 = 0;
const LZ4: u8 = 1;
const ZSTD: u8 = 2;
/// zstd in frames of about [`FRAME_BYTES`] each, cut at record boundaries: one event is read by decompressing its
/// frame only (see [`Frame`]).
const ZSTD_FRAMED: u8 = 3;

/// A log chunk's frames stop growing at this many bytes (before compression): reading one event decompresses a
/// sixteenth of its chunk. 32 KiB until layout 6 (decision 0019): under a server's load, with events read from
/// chunk files a frame at a time, zstd was half of a `show`; at 16 KiB a million-event bulk load takes ~7 bytes per
/// event more (8 KiB: ~14 more, for little more speed).
pub const FRAME_BYTES: usize = 16 * 1024;

/// A full log chunk kept in a file of its own (see `chunk_files`): the stored value is a pointer, the codec byte,
/// the file's length (little-endian u64), then the framed chunk's head (from its codec byte through its frame table)
/// as the file begins with it. One event is read by reading its frame's bytes from the file (layout 6).
const EXTERNAL: u8 = 4;

/// Bytes of a frame's entry in a framed chunk's table: its first record's index, where its bytes start in the
/// payload, and how many compressed bytes it takes (little-endian u32 each).
const FRAME_ENTRY: usize = 12;

/// zstd's level for log chunks. Whole 256 KiB chunks at the default level 3 took 61 bytes per event (LZ4: 77); cut
/// into 32 KiB frames, level 3 took 67.6 and level 7 takes 64.6, reading back as fast, for a bulk append about as
/// fast beside SQLite's (0.57 × against 0.59 ×: a chunk is compressed once, ~1,700 events; decision 0015).
const ZSTD_LEVEL: i32 = 7;

pub fn push_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

pub fn take_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(byte & 0x7F) << shift;
        if byte < 0x80 {
            return Some(value);
        }
    }
    None
}

/// A chunk's payload (before compression) so far: its anchor, then no records.
pub fn new_payload(anchor: &[u8; 32], capacity: usize) -> Vec<u8> {
    let mut payload = Vec::with_capacity(capacity.max(ANCHOR_BYTES));
    payload.extend_from_slice(anchor);
    payload
}

/// Adds a record to a chunk's payload, framed by its length.
pub fn push_record(payload: &mut Vec<u8>, record: &[u8]) {
    push_varint(payload, record.len() as u64);
    payload.extend_from_slice(record);
}

/// A payload's anchor and its framed records; `first` names the chunk in errors.
pub fn split_payload(first: u64, payload: &[u8]) -> Result<(&[u8; 32], &[u8])> {
    payload.split_first_chunk::<ANCHOR_BYTES>().ok_or_else(|| corrupt(first, "日志块过短"))
}

/// Frames records after an anchor into a chunk's payload (before compression).
#[cfg(test)]
pub fn frame(anchor: &[u8; 32], records: &[&[u8]]) -> Vec<u8> {
    let mut payload = new_payload(anchor, records.iter().map(|r| r.len() + 2).sum::<usize>() + ANCHOR_BYTES);
    for record in records {
        push_record(&mut payload, record);
    }
    payload
}

/// A log chunk's stored value: its payload compressed with zstd (its size first, as a little-endian u32), or as it
/// is when that is no smaller. zstd, not LZ4, for the log: a fifth smaller, which is a fifth less on disk and in
/// what sled keeps of a scan; it decodes at a third of LZ4's speed, which two decoding threads absorb.
///
/// The payload is compressed in frames of about [`FRAME_BYTES`], cut between records, each on its own: after the
/// codec byte and the payload's size come the number of frames (u16) and each frame's [`FRAME_ENTRY`], then the
/// frames. Whole, the chunk decompresses to the same payload; one event needs only its frame.
pub fn seal_log_chunk(payload: &[u8]) -> Vec<u8> {
    let plain = || {
        let mut value = Vec::with_capacity(1 + payload.len());
        value.push(PLAIN);
        value.extend_from_slice(payload);
        value
    };
    if payload.len() > MAX_PAYLOAD || payload.len() < ANCHOR_BYTES {
        return plain();
    }
    // Where each frame starts: the payload's start (with the anchor), then the first record past each FRAME_BYTES.
    let mut starts: Vec<(u32, usize)> = vec![(0, 0)];
    let mut rest = &payload[ANCHOR_BYTES..];
    let mut index = 0u32;
    while !rest.is_empty() {
        let at = payload.len() - rest.len();
        if at - starts.last().map_or(0, |start| start.1) >= FRAME_BYTES {
            starts.push((index, at));
        }
        if next_record(0, &mut rest).is_err() {
            return plain();
        }
        index += 1;
    }
    if starts.len() > usize::from(u16::MAX) {
        return plain();
    }
    let mut frames = Vec::with_capacity(starts.len());
    for (k, &(_, start)) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(payload.len(), |next| next.1);
        match zstd::bulk::compress(&payload[start..end], ZSTD_LEVEL) {
            Ok(compressed) if !compressed.is_empty() => frames.push(compressed),
            _ => return plain(),
        }
    }
    let table = 2 + FRAME_ENTRY * frames.len();
    let compressed: usize = frames.iter().map(Vec::len).sum();
    if 5 + table + compressed >= payload.len() {
        return plain();
    }
    let mut value = Vec::with_capacity(5 + table + compressed);
    value.push(ZSTD_FRAMED);
    value.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    value.extend_from_slice(&(frames.len() as u16).to_le_bytes());
    for (&(index, start), frame) in starts.iter().zip(&frames) {
        value.extend_from_slice(&index.to_le_bytes());
        value.extend_from_slice(&(start as u32).to_le_bytes());
        value.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    }
    for frame in &frames {
        value.extend_from_slice(frame);
    }
    value
}

/// One frame of a framed log chunk: the index of its first record, where its bytes lie in the payload, and where
/// its compressed bytes lie in the stored value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub first_record: u32,
    pub payload: std::ops::Range<usize>,
    stored: std::ops::Range<usize>,
}

/// A framed chunk's frames, checked against each other and the value's size (`None`: the chunk is not framed). Of a
/// chunk kept in a file, the frames as they lie in the file (see [`external`]).
pub fn frames(first: u64, value: &[u8]) -> Result<Option<Vec<Frame>>> {
    match value.first() {
        Some(&ZSTD_FRAMED) => frames_in(first, value, value.len()),
        Some(&EXTERNAL) => {
            let (length, head) = external(first, value)?;
            frames_in(first, head, length)
        }
        _ => Ok(None),
    }
}

/// The framed chunk that begins with `value` (its codec byte, size, count and table, and perhaps more) and takes
/// `value_len` bytes in all: its frames.
fn frames_in(first: u64, value: &[u8], value_len: usize) -> Result<Option<Vec<Frame>>> {
    let Some((&ZSTD_FRAMED, rest)) = value.split_first() else { return Ok(None) };
    let broken = |what: &str| corrupt(first, format!("日志块的分帧表{what}"));
    let (size, rest) = rest.split_first_chunk::<4>().ok_or_else(|| broken("缺失"))?;
    let size = u32::from_le_bytes(*size) as usize;
    let (count, rest) = rest.split_first_chunk::<2>().ok_or_else(|| broken("缺失"))?;
    let count = usize::from(u16::from_le_bytes(*count));
    if !(ANCHOR_BYTES..=MAX_PAYLOAD).contains(&size) || count == 0 || rest.len() < count * FRAME_ENTRY {
        return Err(broken("无效"));
    }
    let (table, _) = rest.split_at(count * FRAME_ENTRY);
    let mut stored_at = value.len() - rest.len() + count * FRAME_ENTRY;
    let mut frames: Vec<Frame> = Vec::with_capacity(count);
    for (k, entry) in table.chunks_exact(FRAME_ENTRY).enumerate() {
        let field = |i: usize| u32::from_le_bytes([entry[i], entry[i + 1], entry[i + 2], entry[i + 3]]);
        let (first_record, start, stored) = (field(0), field(4) as usize, field(8) as usize);
        let next_start = match table.get((k + 1) * FRAME_ENTRY..(k + 2) * FRAME_ENTRY) {
            Some(next) => u32::from_le_bytes([next[4], next[5], next[6], next[7]]) as usize,
            None => size,
        };
        let in_order = match frames.last() {
            None => first_record == 0 && start == 0,
            Some(last) => first_record > last.first_record && start > last.payload.start,
        };
        if !in_order || next_start <= start || next_start > size || stored_at + stored > value_len {
            return Err(broken("与块的大小不符"));
        }
        frames.push(Frame { first_record, payload: start..next_start, stored: stored_at..stored_at + stored });
        stored_at += stored;
    }
    if stored_at != value_len {
        return Err(broken("与块的大小不符"));
    }
    Ok(Some(frames))
}

/// One frame's bytes of a framed chunk's payload (the first frame's begin with the chunk's anchor).
#[cfg(test)]
pub fn open_frame(first: u64, value: &[u8], frame: &Frame) -> Result<Vec<u8>> {
    open_frames_at(first, value, 0, std::slice::from_ref(frame))
}

/// Frames `frames` (consecutive) of a framed chunk, from `bytes`, the chunk's stored bytes from offset `at` on:
/// their payload bytes, one after the other.
pub fn open_frames_at(first: u64, bytes: &[u8], at: usize, frames: &[Frame]) -> Result<Vec<u8>> {
    let mut payload = Vec::with_capacity(frames.iter().map(|frame| frame.payload.len()).sum());
    for frame in frames {
        let body = frame
            .stored
            .start
            .checked_sub(at)
            .and_then(|start| bytes.get(start..start + frame.stored.len()))
            .ok_or_else(|| corrupt(first, "日志块的分帧表与块的大小不符"))?;
        payload.extend_from_slice(&decompress(first, body, frame.payload.len())?);
    }
    Ok(payload)
}

/// Where a frame's compressed bytes lie in its chunk's stored bytes (in the value, or in the chunk's file).
pub fn stored_range(frame: &Frame) -> std::ops::Range<usize> {
    frame.stored.clone()
}

/// The pointer kept in the log for a full chunk whose stored `value` goes to a file of its own (`None`: a value
/// that is not framed stays in the log as it is).
pub fn external_pointer(value: &[u8]) -> Option<Vec<u8>> {
    let rest = value.strip_prefix(&[ZSTD_FRAMED])?;
    let count = usize::from(u16::from_le_bytes(*rest.get(4..6)?.first_chunk::<2>()?));
    let head = value.get(..1 + 4 + 2 + count * FRAME_ENTRY)?;
    let mut pointer = Vec::with_capacity(1 + 8 + head.len());
    pointer.push(EXTERNAL);
    pointer.extend_from_slice(&(value.len() as u64).to_le_bytes());
    pointer.extend_from_slice(head);
    Some(pointer)
}

/// Whether a stored log value is a pointer to a chunk's file.
pub fn is_external(value: &[u8]) -> bool {
    value.first() == Some(&EXTERNAL)
}

/// A pointer's file length and the head the file must begin with.
pub fn external(first: u64, value: &[u8]) -> Result<(usize, &[u8])> {
    let rest = match value.split_first() {
        Some((&EXTERNAL, rest)) => rest,
        _ => return Err(corrupt(first, "日志块不是指向文件的记录")),
    };
    let (length, head) = rest.split_first_chunk::<8>().ok_or_else(|| corrupt(first, "日志块的文件记录过短"))?;
    let length = u64::from_le_bytes(*length);
    if length > MAX_PAYLOAD as u64 + 1024 * 1024 || head.first() != Some(&ZSTD_FRAMED) {
        return Err(corrupt(first, "日志块的文件记录无效"));
    }
    Ok((length as usize, head))
}

/// zstd-decompresses `body`, which must hold exactly `size` bytes.
fn decompress(first: u64, body: &[u8], size: usize) -> Result<Vec<u8>> {
    // One decompression context per thread, reused: a scan opens hundreds of chunks.
    thread_local! {
        static CONTEXT: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    let payload = CONTEXT
        .with_borrow_mut(|context| {
            if context.is_none() {
                *context = Some(zstd::bulk::Decompressor::new()?);
            }
            context.as_mut().map_or_else(|| zstd::bulk::decompress(body, size), |c| c.decompress(body, size))
        })
        .map_err(|error| corrupt(first, format!("日志块无法解压：{error}")))?;
    if payload.len() != size {
        return Err(corrupt(first, format!("日志块解压后应有 {size} 字节，实有 {}", payload.len())));
    }
    Ok(payload)
}

/// A family's stored value, or a chunk of the open run: its payload compressed with LZ4 (cheap to write and to read
/// back for a rewrite), or as it is when that is no smaller.
pub fn seal_chunk(payload: &[u8]) -> Vec<u8> {
    let compressed = lz4_flex::block::compress_prepend_size(payload);
    let mut value = Vec::with_capacity(1 + compressed.len().min(payload.len()));
    if compressed.len() < payload.len() {
        value.push(LZ4);
        value.extend_from_slice(&compressed);
    } else {
        value.push(PLAIN);
        value.extend_from_slice(payload);
    }
    value
}

/// A chunk's payload from its stored value; `first` names the chunk in errors.
pub fn open_chunk(first: u64, value: &[u8]) -> Result<Vec<u8>> {
    match value.split_first() {
        Some((&PLAIN, payload)) => Ok(payload.to_vec()),
        Some((&LZ4, compressed)) => {
            // The size LZ4 prepends is checked before anything is allocated: a damaged one must not ask for 4 GiB.
            let (size, body) = compressed.split_first_chunk::<4>().ok_or_else(|| corrupt(first, "日志块过短"))?;
            let size = u32::from_le_bytes(*size) as usize;
            if size > MAX_PAYLOAD {
                return Err(corrupt(first, format!("日志块声称解压后有 {size} 字节，超出上限")));
            }
            lz4_flex::block::decompress(body, size).map_err(|error| corrupt(first, format!("日志块无法解压：{error}")))
        }
        Some((&ZSTD, compressed)) => {
            let (size, body) = compressed.split_first_chunk::<4>().ok_or_else(|| corrupt(first, "日志块过短"))?;
            let size = u32::from_le_bytes(*size) as usize;
            if size > MAX_PAYLOAD {
                return Err(corrupt(first, format!("日志块声称解压后有 {size} 字节，超出上限")));
            }
            decompress(first, body, size)
        }
        Some((&ZSTD_FRAMED, _)) => {
            let frames = frames(first, value)?.unwrap_or_default();
            open_frames_at(first, value, 0, &frames)
        }
        Some((&EXTERNAL, _)) => Err(corrupt(first, "日志块在文件中，须由事件库读取")),
        _ => Err(corrupt(first, "日志块格式未知")),
    }
}

/// The framed records of a payload (after its anchor) whose first record is `first`; broken framing is corruption
/// at that record.
pub fn records(first: u64, payload: &[u8]) -> Result<Vec<&[u8]>> {
    let mut records = Vec::new();
    let mut rest = payload;
    while !rest.is_empty() {
        records.push(next_record(first + records.len() as u64, &mut rest)?);
    }
    Ok(records)
}

/// Takes the next record (of event `seq`) off the front of `rest`.
pub fn next_record<'a>(seq: u64, rest: &mut &'a [u8]) -> Result<&'a [u8]> {
    let length = take_varint(rest).ok_or_else(|| corrupt(seq, "记录长度缺失"))?;
    let length = usize::try_from(length).map_err(|_| corrupt(seq, "记录长度无效"))?;
    if rest.len() < length {
        return Err(corrupt(seq, "记录被截断"));
    }
    let (record, tail) = rest.split_at(length);
    *rest = tail;
    Ok(record)
}

/// Log keys: big-endian sequence numbers sort in log order.
pub fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
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

    #[test]
    fn varints_and_chunks_round_trip() {
        for value in [0, 1, 127, 128, 300, 16_383, 16_384, u64::from(u32::MAX), u64::MAX] {
            let mut bytes = Vec::new();
            push_varint(&mut bytes, value);
            let mut rest = bytes.as_slice();
            assert_eq!(take_varint(&mut rest), Some(value));
            assert!(rest.is_empty());
        }
        let stored: Vec<Vec<u8>> = (0..50).map(|i| vec![i as u8; i * 7]).collect();
        let refs: Vec<&[u8]> = stored.iter().map(Vec::as_slice).collect();
        let anchor = [7u8; 32];
        let value = seal_chunk(&frame(&anchor, &refs));
        assert_eq!(value[0], LZ4, "repetitive records compress");
        let payload = open_chunk(1, &value).unwrap();
        let (stored_anchor, framed) = split_payload(1, &payload).unwrap();
        assert_eq!(stored_anchor, &anchor);
        assert_eq!(records(1, framed).unwrap(), refs);
        // Incompressible bytes are kept as they are.
        let noise: Vec<u8> = (0..64u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let value = seal_chunk(&noise);
        assert_eq!(value[0], PLAIN);
        assert_eq!(open_chunk(1, &value).unwrap(), noise);
        assert!(matches!(split_payload(4, &noise[..31]), Err(StoreError::Corrupt { seq: 4, .. })));
        // Log chunks are compressed with zstd (in frames), and read back whole.
        let value = seal_log_chunk(&frame(&anchor, &refs));
        assert_eq!(value[0], ZSTD_FRAMED);
        assert!(value.len() < seal_chunk(&frame(&anchor, &refs)).len(), "zstd beats LZ4 here");
        assert_eq!(open_chunk(1, &value).unwrap(), frame(&anchor, &refs));
        assert_eq!(seal_log_chunk(&noise)[0], PLAIN);
        let mut lying = value.clone();
        lying[1..5].copy_from_slice(&(u32::from_le_bytes(value[1..5].try_into().unwrap()) - 1).to_le_bytes());
        assert!(matches!(open_chunk(3, &lying), Err(StoreError::Corrupt { seq: 3, .. })), "a wrong size is corruption");
        // A truncated payload is corruption at the record it cuts.
        let payload = frame(&anchor, &refs[..3]);
        let payload = &payload[ANCHOR_BYTES..];
        let error = records(5, &payload[..payload.len() - 1]).unwrap_err();
        assert!(matches!(error, StoreError::Corrupt { seq: 7, .. }), "{error:?}");
    }

    #[test]
    fn log_chunks_are_framed_at_record_boundaries_and_a_frame_reads_alone() {
        // Distinct records of 1 KB: a chunk of 150 of them makes several frames.
        let stored: Vec<Vec<u8>> = (0..150u32)
            .map(|i| (0..1000u32).map(|j| (i.wrapping_mul(2_654_435_761) ^ j.wrapping_mul(40_503)) as u8).collect())
            .collect();
        let refs: Vec<&[u8]> = stored.iter().map(Vec::as_slice).collect();
        let payload = frame(&[9u8; 32], &refs);
        let value = seal_log_chunk(&payload);
        assert_eq!(value[0], ZSTD_FRAMED);
        let frames = frames(5, &value).unwrap().unwrap();
        assert!(frames.len() >= 4, "{} frames", frames.len());
        assert_eq!(open_chunk(5, &value).unwrap(), payload);
        let mut seen = 0usize;
        for frame in &frames {
            let bytes = open_frame(5, &value, frame).unwrap();
            assert_eq!(bytes, payload[frame.payload.clone()], "a frame is its slice of the payload");
            let body = if frame.first_record == 0 { &bytes[ANCHOR_BYTES..] } else { &bytes[..] };
            assert_eq!(frame.first_record as usize, seen, "frames begin at records, in order");
            seen += records(0, body).unwrap().len();
        }
        assert_eq!(seen, refs.len());
        // A damaged table is corruption at the chunk, never a panic; what does read is the payload's bytes.
        for at in 5..5 + 2 + FRAME_ENTRY * frames.len() {
            for flip in [0x01u8, 0x80] {
                let mut damaged = value.clone();
                damaged[at] ^= flip;
                if let Ok(read) = frames_or_payload(&damaged) {
                    assert!(payload.starts_with(&read) || read == payload, "byte {at}");
                }
                assert!(open_chunk(5, &damaged).is_err() || open_chunk(5, &damaged).unwrap() == payload);
            }
        }
        assert!(matches!(super::frames(5, &value[..value.len() - 1]), Err(StoreError::Corrupt { seq: 5, .. })));
    }

    /// The payload as its frames give it, each frame read alone.
    fn frames_or_payload(value: &[u8]) -> Result<Vec<u8>> {
        let frames = frames(5, value)?.unwrap_or_default();
        let mut payload = Vec::new();
        for frame in &frames {
            payload.extend(open_frame(5, value, frame)?);
        }
        Ok(payload)
    }
}
