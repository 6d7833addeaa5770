//! duban's event log on sled: an append-only, hash-chained log of envelopes, and a status projection updated in
//! the same transaction as every append, so reads of current state never replay the log.
//!
//! Trees (keys sort in the order they are read):
//! - `log`: big-endian seq → envelope JSON.
//! - `streams`: stream id (16 bytes) + big-endian version → seq.
//! - `heads`: stream id → current version (the optimistic-concurrency check).
//! - `meta`: `schema` → u16, `head` → last seq + its hash.
//! - `replies`, `commitments`: ULID text → folded state JSON (the projection; ULID text so prefixes can be scanned).

mod chain;
mod error;
mod transfer;
mod verify;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use duban_domain::{
    normalize_prefix, resolve_prefix, CommitmentState, Envelope, NewEvent, ReplyState, StreamKind, SCHEMA_VERSION,
};
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::Transactional;
use ulid::Ulid;

pub use chain::{hash_of, GENESIS};

/// The stored form of a sealed envelope (its hash, then its compact body) and how to read it back: for tools that
/// compare storage engines on identical bytes.
pub use chain::{decode as decode_stored, encode as encode_stored};
pub use error::{Result, StoreError};
pub use transfer::check_export;
pub use verify::{Difference, RebuildReport, VerifyReport};

/// The last event in the log: its position and hash. An empty log has seq 0 and the genesis hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
}

impl Head {
    fn empty() -> Head {
        Head { seq: 0, hash: GENESIS.to_string() }
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = self.seq.to_be_bytes().to_vec();
        bytes.extend_from_slice(self.hash.as_bytes());
        bytes
    }

    fn from_bytes(bytes: &[u8]) -> Option<Head> {
        let seq = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
        let hash = std::str::from_utf8(bytes.get(8..)?).ok()?.to_string();
        Some(Head { seq, hash })
    }
}

pub struct Store {
    path: PathBuf,
    db: sled::Db,
    log: sled::Tree,
    streams: sled::Tree,
    heads: sled::Tree,
    meta: sled::Tree,
    replies: sled::Tree,
    commitments: sled::Tree,
    events_read: AtomicU64,
    /// Files already made durable (sled never rewrites a blob or snapshot in place; it writes new ones).
    synced: std::sync::Mutex<std::collections::HashSet<PathBuf>>,
}

const SCHEMA_KEY: &[u8] = b"schema";

/// sled's page cache. Its default (1 GiB) would let one long scan of the log take a gigabyte of memory; reads are
/// sequential, so a modest cache costs little speed.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;
const HEAD_KEY: &[u8] = b"head";

impl Store {
    /// Creates a new, empty store at `path`; refuses a path that already holds anything.
    pub fn create(path: &Path) -> Result<Store> {
        if path.exists() && (path.is_file() || std::fs::read_dir(path)?.next().is_some()) {
            return Err(StoreError::AlreadyExists { path: path.to_path_buf() });
        }
        let store = Store::open_sled(path)?;
        store.meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
        store.meta.insert(HEAD_KEY, Head::empty().to_bytes())?;
        store.sync()?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
        Ok(store)
    }

    /// Opens an existing store.
    pub fn open(path: &Path) -> Result<Store> {
        if !path.join("conf").is_file() {
            return Err(StoreError::NotFound { path: path.to_path_buf() });
        }
        let store = Store::open_sled(path)?;
        let schema = store.meta.get(SCHEMA_KEY)?.ok_or_else(|| StoreError::NotAStore { path: path.to_path_buf() })?;
        let schema = u16::from_be_bytes(
            schema.as_ref().try_into().map_err(|_| StoreError::NotAStore { path: path.to_path_buf() })?,
        );
        if schema > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema { found: schema, supported: SCHEMA_VERSION });
        }
        Ok(store)
    }

    fn open_sled(path: &Path) -> Result<Store> {
        let db = sled::Config::new().path(path).cache_capacity(CACHE_BYTES).open().map_err(|error| match error {
            sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
                StoreError::InUse { path: path.to_path_buf() }
            }
            other => StoreError::from(other),
        })?;
        Ok(Store {
            path: path.to_path_buf(),
            log: db.open_tree("log")?,
            streams: db.open_tree("streams")?,
            heads: db.open_tree("heads")?,
            meta: db.open_tree("meta")?,
            replies: db.open_tree("replies")?,
            commitments: db.open_tree("commitments")?,
            db,
            events_read: AtomicU64::new(0),
            synced: std::sync::Mutex::new(std::collections::HashSet::new()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many stored events this handle has decoded from the log (the projection is not counted).
    pub fn events_read(&self) -> u64 {
        self.events_read.load(Ordering::Relaxed)
    }

    pub fn head(&self) -> Result<Head> {
        let bytes = self.meta.get(HEAD_KEY)?.ok_or_else(|| StoreError::NotAStore { path: self.path.clone() })?;
        Head::from_bytes(&bytes).ok_or_else(|| StoreError::NotAStore { path: self.path.clone() })
    }

    /// The version a stream is at (0 if it has no events).
    pub fn stream_version(&self, stream: &Ulid) -> Result<u32> {
        Ok(self.heads.get(stream.to_bytes())?.map_or(0, |bytes| version_from(&bytes)))
    }

    /// Appends `events` to `stream`, all or nothing, if the stream is still at `expected_version`; updates the
    /// projection in the same transaction and returns only after the log is flushed.
    pub fn append(&self, stream: Ulid, expected_version: u32, events: Vec<NewEvent>) -> Result<Vec<Envelope>> {
        self.append_streams(vec![(stream, expected_version, events)])
    }

    /// Appends to several streams in one transaction: every stream's events are written, or none are (an imported
    /// document's reply and all its commitments). Each stream must still be at its expected version.
    pub fn append_streams(&self, batches: Vec<(Ulid, u32, Vec<NewEvent>)>) -> Result<Vec<Envelope>> {
        for (stream, expected_version, events) in &batches {
            check_batch(*stream, *expected_version, events)?;
        }
        let trees = (&self.log, &self.streams, &self.heads, &self.meta, &self.replies, &self.commitments);
        let sealed = trees
            .transaction(|(log, streams, heads, meta, replies, commitments)| {
                let mut head = read_head(meta)?;
                let mut sealed: Vec<(Envelope, Vec<u8>)> = Vec::new();
                for (stream, expected_version, events) in &batches {
                    let (stream, expected_version) = (*stream, *expected_version);
                    let actual = heads.get(stream.to_bytes())?.map_or(0, |bytes| version_from(&bytes));
                    if actual != expected_version {
                        return abort(StoreError::Conflict { stream, expected: expected_version, actual });
                    }
                    let kind = events[0].event.stream_kind();
                    let projection = if kind == StreamKind::Reply { replies } else { commitments };
                    if actual > 0 && projection.get(stream.to_string())?.is_none() {
                        return abort(StoreError::BadAppend { stream, reason: "该流属于另一种类".into() });
                    }
                    for (offset, new) in events.iter().enumerate() {
                        let mut envelope = new.clone().sealed(
                            head.seq + 1,
                            actual + offset as u32 + 1,
                            head.hash.clone(),
                            String::new(),
                        );
                        let (bytes, hash) = chain::encode(&envelope);
                        envelope.hash = hash;
                        head = Head { seq: envelope.seq, hash: envelope.hash.clone() };
                        sealed.push((envelope, bytes));
                    }
                }
                // The whole append is one chunk of the log: one key, however many streams and events it touches.
                write_sealed((log, streams, heads, meta, replies, commitments), &sealed)?;
                Ok(sealed.into_iter().map(|(envelope, _)| envelope).collect::<Vec<_>>())
            })
            .map_err(from_transaction)?;
        self.sync()?;
        Ok(sealed)
    }

    /// Makes everything written so far durable. sled's `flush` writes its buffers with `sync_file_range`, which
    /// neither flushes the device cache nor syncs file metadata, and it writes large values to files under `blobs/`
    /// without syncing them at all. So: sled's data file is `fsync`ed, every file that appeared since the last sync
    /// (blobs, snapshots) is `fsync`ed once, and so are the folders. Commands report success only after this returns.
    pub fn sync(&self) -> Result<()> {
        self.db.flush()?;
        std::fs::File::open(self.path.join("db"))?.sync_all()?;
        let mut synced = self.synced.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for dir in [self.path.join("blobs"), self.path.clone()] {
            let entries = match std::fs::read_dir(&dir) {
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                entries => entries?,
            };
            for entry in entries {
                let path = entry?.path();
                if path.is_file() && !synced.contains(&path) {
                    match std::fs::File::open(&path) {
                        Ok(file) => file.sync_all()?,
                        Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                        Err(error) => return Err(error.into()),
                    }
                    synced.insert(path);
                }
            }
            sync_dir(&dir)?;
        }
        Ok(())
    }

    /// One stream's events in order.
    pub fn read_stream(&self, stream: &Ulid) -> Result<Vec<Envelope>> {
        let mut events = Vec::new();
        for entry in self.streams.scan_prefix(stream.to_bytes()) {
            let (_, seq) = entry?;
            let seq = u64::from_be_bytes(seq.as_ref().try_into().unwrap_or_default());
            let bytes = self.record_at(seq)?.ok_or_else(|| StoreError::Corrupt {
                seq,
                reason: format!("流 {stream} 的索引指向它，但日志中没有"),
            })?;
            events.push(self.decode_counted(seq, &bytes)?);
        }
        Ok(events)
    }

    /// The stored bytes of event `seq`, from the chunk that holds it.
    pub(crate) fn record_at(&self, seq: u64) -> Result<Option<Vec<u8>>> {
        let Some((key, chunk)) = self.log.range(..=chain::seq_key(seq)).next_back().transpose()? else {
            return Ok(None);
        };
        let first = chunk_first(&key);
        let records = chain::records(first, &chunk)?;
        Ok(usize::try_from(seq - first).ok().and_then(|index| records.get(index)).map(|record| record.to_vec()))
    }

    /// The whole log in global order, starting at `from_seq`.
    pub fn read_all(&self, from_seq: u64) -> impl Iterator<Item = Result<Envelope>> + '_ {
        // Start at the chunk that holds `from_seq`, then every later chunk, event by event.
        let start = match self.log.range(..=chain::seq_key(from_seq)).next_back() {
            Some(Ok((key, _))) => chunk_first(&key),
            _ => from_seq,
        };
        self.log.range(chain::seq_key(start)..).flat_map(move |entry| {
            let decoded: Vec<Result<Envelope>> = match entry {
                Err(error) => vec![Err(error.into())],
                Ok((key, chunk)) => {
                    let first = chunk_first(&key);
                    match chain::records(first, &chunk) {
                        Err(error) => vec![Err(error)],
                        Ok(records) => records
                            .into_iter()
                            .enumerate()
                            .map(|(index, record)| (first + index as u64, record))
                            .filter(|(seq, _)| *seq >= from_seq)
                            .map(|(seq, record)| self.decode_counted(seq, record))
                            .collect(),
                    }
                }
            };
            decoded
        })
    }

    fn decode_counted(&self, seq: u64, bytes: &[u8]) -> Result<Envelope> {
        self.events_read.fetch_add(1, Ordering::Relaxed);
        chain::decode(seq, bytes)
    }

    /// A reply's projected state.
    pub fn reply(&self, id: &Ulid) -> Result<Option<ReplyState>> {
        self.replies.get(id.to_string())?.map(|bytes| chain::decode_state(&bytes)).transpose()
    }

    /// A commitment's projected state.
    pub fn commitment(&self, id: &Ulid) -> Result<Option<CommitmentState>> {
        self.commitments.get(id.to_string())?.map(|bytes| chain::decode_state(&bytes)).transpose()
    }

    /// Every reply's projected state, in id order.
    pub fn replies(&self) -> Result<Vec<ReplyState>> {
        self.replies.iter().values().map(|bytes| chain::decode_state(&bytes?)).collect()
    }

    /// Every commitment's projected state, in id order.
    pub fn commitments(&self) -> Result<Vec<CommitmentState>> {
        self.commitments.iter().values().map(|bytes| chain::decode_state(&bytes?)).collect()
    }

    /// Every reply and commitment id, sorted (for short ids).
    pub fn all_ids(&self) -> Result<Vec<Ulid>> {
        let mut ids = Vec::new();
        for key in self.replies.iter().keys().chain(self.commitments.iter().keys()) {
            if let Some(id) = std::str::from_utf8(&key?).ok().and_then(|text| text.parse().ok()) {
                ids.push(id);
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// The ids sorted next to `id` among all replies and commitments: all a short id needs, found without a scan.
    pub fn neighbours(&self, id: &Ulid) -> Result<Vec<Ulid>> {
        let key = id.to_string();
        let mut found = Vec::new();
        for tree in [&self.replies, &self.commitments] {
            let before = tree.range(..key.as_bytes()).next_back().transpose()?;
            let after = tree
                .range(key.as_bytes()..)
                .find(|entry| entry.as_ref().map_or(true, |(k, _)| k.as_ref() != key.as_bytes()));
            for (other, _) in before.into_iter().chain(after.transpose()?) {
                if let Some(other) = std::str::from_utf8(&other).ok().and_then(|text| text.parse().ok()) {
                    found.push(other);
                }
            }
        }
        Ok(found)
    }

    /// The shortest prefix (at least six characters) that names `id` unambiguously.
    pub fn short_id(&self, id: &Ulid) -> Result<String> {
        Ok(duban_domain::short_id(id, &self.neighbours(id)?))
    }

    /// The one commitment whose id starts with `input` (at least six characters).
    pub fn resolve_commitment(&self, input: &str) -> Result<Ulid> {
        self.resolve(input, "承诺", &[&self.commitments])
    }

    /// The one reply whose id starts with `input`.
    pub fn resolve_reply(&self, input: &str) -> Result<Ulid> {
        self.resolve(input, "答复", &[&self.replies])
    }

    /// The one reply or commitment whose id starts with `input`.
    pub fn resolve_stream(&self, input: &str) -> Result<Ulid> {
        self.resolve(input, "答复或承诺", &[&self.replies, &self.commitments])
    }

    fn resolve(&self, input: &str, what: &'static str, trees: &[&sled::Tree]) -> Result<Ulid> {
        let prefix = normalize_prefix(input)?;
        let mut candidates = Vec::new();
        for tree in trees {
            for key in tree.scan_prefix(prefix.as_bytes()).keys().take(5) {
                if let Some(id) = std::str::from_utf8(&key?).ok().and_then(|text| text.parse().ok()) {
                    candidates.push(id);
                }
            }
        }
        Ok(resolve_prefix(&prefix, what, &candidates)?)
    }
}

/// Checks what can be checked before the transaction: events present, of one stream and kind, opening events first.
fn check_batch(stream: Ulid, expected_version: u32, events: &[NewEvent]) -> Result<()> {
    let Some(first) = events.first() else {
        return Err(StoreError::BadAppend { stream, reason: "没有事件".into() });
    };
    let kind = first.event.stream_kind();
    for (offset, new) in events.iter().enumerate() {
        let version = expected_version + offset as u32 + 1;
        if new.stream != stream || new.event.stream_kind() != kind {
            return Err(StoreError::BadAppend { stream, reason: "事件分属不同的流".into() });
        }
        if new.event.opens_stream() != (version == 1) {
            let reason = format!("{} 不能位于版本 {version}", new.event.tag());
            return Err(StoreError::BadAppend { stream, reason });
        }
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

type Trees<'a> = (
    &'a TransactionalTree,
    &'a TransactionalTree,
    &'a TransactionalTree,
    &'a TransactionalTree,
    &'a TransactionalTree,
    &'a TransactionalTree,
);

type TxResult<T> = std::result::Result<T, ConflictableTransactionError<StoreError>>;

fn abort<T>(error: StoreError) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(error))
}

fn from_transaction(error: TransactionError<StoreError>) -> StoreError {
    match error {
        TransactionError::Abort(error) => error,
        TransactionError::Storage(error) => error.into(),
    }
}

/// The sequence number a log chunk's key names (its first event).
fn chunk_first(key: &[u8]) -> u64 {
    u64::from_be_bytes(key.try_into().unwrap_or_default())
}

fn version_from(bytes: &[u8]) -> u32 {
    u32::from_be_bytes(bytes.try_into().unwrap_or_default())
}

fn read_head(meta: &TransactionalTree) -> TxResult<Head> {
    match meta.get(HEAD_KEY)? {
        Some(bytes) => match Head::from_bytes(&bytes) {
            Some(head) => Ok(head),
            None => abort(StoreError::Corrupt { seq: 0, reason: "库头记录无法读取".into() }),
        },
        None => Ok(Head::empty()),
    }
}

/// Writes already-sealed envelopes with their stored bytes (consecutive, continuing the head) and folds them into
/// the projection.
fn write_sealed(
    (log, streams, heads, meta, replies, commitments): Trees<'_>,
    sealed: &[(Envelope, Vec<u8>)],
) -> TxResult<()> {
    let Some((first, _)) = sealed.first() else { return Ok(()) };
    let records: Vec<Vec<u8>> = sealed.iter().map(|(_, bytes)| bytes.clone()).collect();
    log.insert(&chain::seq_key(first.seq), chain::chunk(&records))?;
    for (envelope, _) in sealed {
        streams.insert(&chain::stream_key(&envelope.stream, envelope.version), &chain::seq_key(envelope.seq))?;
        heads.insert(&envelope.stream.to_bytes(), &envelope.version.to_be_bytes())?;
        let key = envelope.stream.to_string();
        match envelope.event.stream_kind() {
            StreamKind::Reply => {
                let mut state: ReplyState = project(replies, &key)?;
                state.apply(envelope);
                replies.insert(key.as_bytes(), chain::encode_state(&state))?;
            }
            StreamKind::Commitment => {
                let mut state: CommitmentState = project(commitments, &key)?;
                state.apply(envelope);
                commitments.insert(key.as_bytes(), chain::encode_state(&state))?;
            }
        }
    }
    if let Some((last, _)) = sealed.last() {
        meta.insert(HEAD_KEY, Head { seq: last.seq, hash: last.hash.clone() }.to_bytes())?;
    }
    Ok(())
}

fn project<T: for<'de> serde::Deserialize<'de> + Default>(tree: &TransactionalTree, key: &str) -> TxResult<T> {
    match tree.get(key)? {
        Some(bytes) => chain::decode_state(&bytes).map_err(ConflictableTransactionError::Abort),
        None => Ok(T::default()),
    }
}
