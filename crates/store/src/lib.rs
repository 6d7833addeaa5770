//! duban's event log on sled: an append-only, hash-chained log of envelopes, and a status projection updated in
//! the same atomic batch as every append, so reads of current state never replay the log.
//!
//! One sled tree in four key spaces (see `space`; keys sort in the order they are read):
//! - `log`: big-endian seq of a chunk's first event → chunk (consecutive records, compressed; see `chain`), or for a
//!   full chunk a pointer to its file (`chunk_files`).
//! - `streams`: the first three bytes of stream ids → the kind and family (the reply it belongs to) of each stream
//!   whose id starts so, written as the stream opens (see `streams`).
//! - `families`: reply id (16 bytes) → the folded reply and its commitments, with each one's event positions.
//! - `meta`: `schema` → u16, `layout` → u16, `head` → last seq + its hash, `tail` → the last chunk's key.

mod acknowledged;
mod chain;
mod chunk_files;
mod derived_files;
mod error;
mod files;
mod index;
mod interface;
mod postgres;
mod space;
mod streams;
mod transfer;
mod upgrade;
mod verify;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use duban_domain::{
    normalize_prefix, resolve_prefix, CommitmentState, Envelope, NewEvent, ProposalState, ReplyState, StreamKind,
    SCHEMA_VERSION,
};
use std::ops::Bound;

use space::{Space, Writes};
use streams::StreamIndex;
use ulid::Ulid;

pub use chain::{hash_of, hex, GENESIS};

/// The full record of a sealed envelope (its hash, then its compact tail), how to read it back given the hash before
/// it, and where that hash sits in it: what a store keeping one row per event would hold, for tools that compare
/// storage engines on the same bytes. (This store keeps a short check per record and the whole hash per chunk.)
pub use chain::{
    chained_full, decode as decode_full, decode_for_fold as decode_full_for_fold, encode as encode_full, full_hash,
};
/// The pieces of this store's log format, for tools that keep the same chunks in another engine (the benchmark's
/// row comparing storage formats apart from engines): a record sealed with its short check, a chunk's payload cut at
/// [`format::CHUNK_BYTES`], compressed as the log's chunks are.
pub mod format {
    pub use crate::chain::{new_payload, push_record, seal, seal_log_chunk, CHUNK_BYTES};
}
pub use derived_files::{write_whole, DerivedFile};
pub use error::{Result, StoreError};
pub use files::sha256_hex;
pub use index::Family;
use index::{StoredFamily, StreamEntry};
pub use interface::{create, is_database, open, open_reading, restore, Bulk, DerivedLock, EventStore, StreamBatch};
pub use transfer::{check_export, write_export};
pub use upgrade::{upgrade, UpgradeReport};
pub use verify::{Difference, RebuildReport, Refolded, VerifyReport};

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

pub struct SledStore {
    path: PathBuf,
    db: space::Db,
    log: Space,
    streams: StreamIndex,
    families: Space,
    meta: Space,
    /// Held from an append's first read to its batch landing (see `space`).
    writer: std::sync::Mutex<()>,
    /// With write-behind on, the families appends touched and not yet written (see [`SledStore::write_behind`]).
    behind: std::sync::Mutex<Option<Behind>>,
    events_read: AtomicU64,
    /// Whether this handle has seen the store's guard keys written (see `space`).
    guarded: std::sync::atomic::AtomicBool,
    /// The seq up to which appends through this handle are durable and acknowledged: appends that land while
    /// another's sync runs share the next one (group commit; see [`SledStore::make_durable`]).
    durable: std::sync::Mutex<u64>,
    /// The known hashes of the framed chunks this handle has read whole and chained, by the chunk's first seq and
    /// stored size: reading one event of such a chunk again opens its frame only and chains it from the nearest
    /// (see `ChunkReader::hold`). Emptied if it ever holds [`CHECKPOINTS`] chunks.
    checkpoints: std::sync::Mutex<BTreeMap<u64, std::sync::Arc<Checkpoints>>>,
    /// Whether checkpoints are made at all: only for a handle that serves many reads (`EventStore::serve_many_reads`);
    /// a one-command process reads a fact's chunk up to its frame and chains only up to the fact.
    remember_chunks: std::sync::atomic::AtomicBool,
    /// On a handle that remembers chunks, the unframed chunks it read last — the log's newest: the run that appends
    /// write, a chunk each, until it fills a chunk (see `write_sealed`) — decoded and chained whole, by first seq,
    /// up to [`OPEN_CHUNKS`]: read again unchanged, one is not decoded or chained again; rewritten with more records
    /// after the same ones (a run's last chunk), only the records after those held are chained (the held bytes are
    /// compared with the new payload's start).
    open_chunks: std::sync::Mutex<BTreeMap<u64, std::sync::Arc<OpenChunk>>>,
    /// The full chunks' files this handle has open (see `chunk_files`).
    chunk_files: chunk_files::ChunkFiles,
}

/// Unframed chunks a serving handle keeps decoded at most (a run's chunks together hold under 256 KiB of records;
/// a bulk load's last chunk up to that much).
const OPEN_CHUNKS: usize = 64;

/// An unframed chunk as stored, decoded and chained whole (see `SledStore::open_chunks`).
struct OpenChunk {
    value: space::IVec,
    anchor: [u8; 32],
    payload: Vec<u8>,
    records: Vec<std::ops::Range<usize>>,
    hashes: Vec<[u8; 32]>,
}

/// The hashes known in a framed chunk read whole once: before each of its frames, and before every
/// [`CHECKPOINT_EVERY`]th record (so that reading one event chains a few dozen records at most).
struct Checkpoints {
    /// The chunk's stored size and how many records it holds: a chunk of another size under the same key (not
    /// expected: full chunks are written once) is read afresh.
    size: usize,
    count: u64,
    frames: Vec<[u8; 32]>,
    every: Vec<[u8; 32]>,
}

/// Records between checkpoints within a chunk.
const CHECKPOINT_EVERY: u64 = 32;

/// Chunks whose checkpoints are remembered at most (about 2 KB each: 32 MB; a store of 20 million events has about
/// 12,000 chunks).
const CHECKPOINTS: usize = 1 << 14;

const SCHEMA_KEY: &[u8] = b"schema";
const LAYOUT_KEY: &[u8] = b"layout";
const HEAD_KEY: &[u8] = b"head";
const TAIL_KEY: &[u8] = b"tail";
/// The seq up to which the projection (families) is written; behind the head only while write-behind holds
/// families in memory, or after a crash in that time (then `open` catches up).
pub(crate) const PROJECTED_KEY: &[u8] = b"projected";

/// With write-behind on, touched families are written once this many events have gone by. Each write rewrites every
/// family touched since the last, so writing seldom matters: every 262,144 events left a bulk load of a million
/// events with 55 MB more of sled garbage than writing once. A crash replays at most this many events at `open`
/// (about a second's work).
pub const BEHIND_EVENTS: u64 = 1_048_576;

/// Families written per sled batch when many are written at once (write-behind, catching up, rebuild). sled
/// leaves far more garbage behind one huge batch than behind many small ones: a million events' 20,000 families
/// written in one batch took 65 MB of its file, in batches of 64 about 44 MB. Such writes need not be atomic: the
/// projection's mark (`meta/projected`) is written after them, and folding an event a family already holds again
/// changes nothing (see `StoredFamily::apply`).
pub(crate) const FAMILY_BATCH: usize = 64;

/// What appends fold events into before it is written: the families they touched, and the index entries of the
/// streams they opened.
#[derive(Default)]
struct Held {
    families: HashMap<Ulid, StoredFamily>,
    opened: HashMap<Ulid, StreamEntry>,
}

/// What write-behind holds in memory, and how many events that is.
#[derive(Default)]
struct Behind {
    held: Held,
    events: u64,
}

/// What an append does with the projection.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Projection {
    /// Writes the touched families in the append's own batch.
    Now,
    /// Folds into families held in memory; writes them every [`BEHIND_EVENTS`].
    Behind,
    /// Leaves the projection alone (a restore builds it at the end).
    Skip,
}

/// How the trees are laid out, and how the projection's values are encoded. A store of an upgradable layout is
/// refused by `open` and copied into the current one by `duban upgrade` (see `upgrade`); others are refused: export
/// them with the duban that wrote them and `import-events` the file. Layout 1 kept one chunk per append and one index
/// key per event; layout 2 a full hash per record (see `chain` for layout 3); layout 3 one index key per stream (see
/// `streams` for layout 4); layout 4's folded commitments did not say where their due date came from (layout 5:
/// `CommitmentState::due_source`).
/// Layout 6 keeps full log chunks in files of their own (see `chunk_files`); a store of layout 5 is layout 6 without
/// any, so it is opened as it is and becomes layout 6 with its first chunk file.
pub(crate) const LAYOUT: u16 = 6;

/// Layouts `duban upgrade` copies into the current one: their logs are the current log's, only the index or the
/// projection differ, and the copy folds both afresh.
pub(crate) const UPGRADABLE: [u16; 2] = [3, 4];

/// A layout opened as it is: a layout-6 store with no chunk files yet.
pub(crate) const OPENS_AS_IS: u16 = 5;

impl SledStore {
    /// Creates a new, empty store at `path`; refuses a path that already holds anything (an empty folder will do).
    /// The store is made beside it (`<path>.creating`) and renamed into place once complete and durable, so a
    /// process killed while creating leaves either nothing at `path` or the whole store (the next `create` clears a
    /// leftover `.creating`).
    pub fn create(path: &Path) -> Result<SledStore> {
        SledStore::build_beside(path, false, |_| Ok(()))
    }

    /// Restores an export into a new store at `path` (or in place of an empty store there): built beside and renamed
    /// into place once the whole file is in and the projection folded, so a kill leaves the target as it was or the
    /// whole restored store. Returns the store and how many events it holds.
    pub fn restore(path: &Path, file: &Path) -> Result<(SledStore, u64)> {
        let replace = space::Db::exists_at(path);
        if replace {
            let events = SledStore::open(path)?.head()?.seq;
            if events > 0 {
                return Err(StoreError::NotEmpty { events });
            }
        }
        let mut count = 0;
        let store = SledStore::build_beside(path, replace, |store| {
            count = store.import_events(file)?;
            Ok(())
        })?;
        Ok((store, count))
    }

    /// Makes a new store at `<path>.creating`, lets `fill` write into it, makes it durable and renames it to `path`
    /// (which must not exist, or be an empty folder); then opens it there.
    pub(crate) fn build_beside(
        path: &Path,
        replace_store: bool,
        fill: impl FnOnce(&SledStore) -> Result<()>,
    ) -> Result<SledStore> {
        let empty_folder = path.is_dir() && std::fs::read_dir(path)?.next().is_none();
        if path.exists() && !empty_folder && !replace_store {
            return Err(StoreError::AlreadyExists { path: path.to_path_buf() });
        }
        let building = upgrade::sibling(path, "creating");
        if building.exists() {
            std::fs::remove_dir_all(&building)?;
        }
        {
            let store = SledStore::open_sled(&building, false)?;
            store.db.guard_spaces()?;
            store.meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
            store.meta.insert(LAYOUT_KEY, &LAYOUT.to_be_bytes())?;
            store.meta.insert(HEAD_KEY, Head::empty().to_bytes())?;
            store.meta.insert(PROJECTED_KEY, &0u64.to_be_bytes())?;
            fill(&store)?;
            store.sync()?;
        }
        // Opened once more where it was built: sled's start after a write advances its snapshot and zeroes past the
        // last write, and a kill in the middle of that in a store this young left one sled refused as corrupt (the
        // kill harness found it). Done here, the start at `path` below finds nothing to do and writes nothing.
        drop(SledStore::open_sled(&building, false)?);
        if empty_folder {
            std::fs::remove_dir(path)?;
        } else if replace_store {
            // An empty store (the caller checked) gives way; a kill here leaves the complete copy beside it.
            std::fs::remove_dir_all(path)?;
        }
        // sled lets go of its files a moment after the last handle is dropped; the rename waits for nothing, as a
        // folder can be renamed with files open in it.
        std::fs::rename(&building, path)?;
        sync_dir(upgrade::parent(path))?;
        SledStore::open(path)
    }

    /// Opens an existing store of the current layout. Opening never changes a store's layout: a store of an older
    /// one is refused, naming `duban upgrade` (see [`upgrade()`]).
    pub fn open(path: &Path) -> Result<SledStore> {
        SledStore::open_as(path, false)
    }

    /// Opens an existing store for a command that only reads: on a healthy store nothing is written or synced (sled
    /// repairs no node as it reads, and finds nothing to recover). If the projection needs catching up after a
    /// crash, that is still done (and written).
    pub fn open_reading(path: &Path) -> Result<SledStore> {
        SledStore::open_as(path, true)
    }

    fn open_as(path: &Path, reads_only: bool) -> Result<SledStore> {
        let (store, layout) = SledStore::open_any_layout(path, reads_only)?;
        acknowledged::check(path, &store.head()?)?;
        if layout != LAYOUT && layout != OPENS_AS_IS {
            return Err(StoreError::NeedsUpgrade { path: path.to_path_buf(), found: layout, supported: LAYOUT });
        }
        store.settle()?;
        Ok(store)
    }

    /// Opens a store of the current layout or of one `upgrade` reads, and says which; settles only a current one.
    pub(crate) fn open_any_layout(path: &Path, reads_only: bool) -> Result<(SledStore, u16)> {
        if !space::Db::exists_at(path) {
            if upgrade::interrupted(path) {
                return Err(StoreError::UpgradeInterrupted { path: path.to_path_buf() });
            }
            if space::Db::files(path).data.exists() {
                // The data is there but not sled's description of it: damage, not a missing store.
                return Err(StoreError::Damaged { what: format!("{} 缺少 conf 文件", path.display()) });
            }
            return Err(StoreError::NotFound { path: path.to_path_buf() });
        }
        let store = SledStore::open_sled(path, reads_only)?;
        let not_a_store = || StoreError::NotAStore { path: path.to_path_buf() };
        let number = |key: &[u8]| -> Result<Option<u16>> {
            match store.meta.get(key)? {
                None => Ok(None),
                Some(bytes) => Ok(Some(u16::from_be_bytes(bytes.as_ref().try_into().map_err(|_| not_a_store())?))),
            }
        };
        let schema = number(SCHEMA_KEY)?.ok_or_else(not_a_store)?;
        if schema > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema { found: schema, supported: SCHEMA_VERSION });
        }
        let layout = number(LAYOUT_KEY)?.unwrap_or(1);
        if !UPGRADABLE.contains(&layout) && layout != LAYOUT && layout != OPENS_AS_IS {
            return Err(StoreError::OtherLayout { path: path.to_path_buf(), found: layout, supported: LAYOUT });
        }
        Ok((store, layout))
    }

    fn open_sled(path: &Path, reads_only: bool) -> Result<SledStore> {
        let db = space::Db::open(path, reads_only)?;
        Ok(SledStore {
            path: path.to_path_buf(),
            log: db.spaced(space::LOG, 8),
            streams: StreamIndex::new(db.space(space::STREAMS)),
            families: db.space(space::FAMILIES),
            meta: db.space(space::META),
            writer: std::sync::Mutex::new(()),
            behind: std::sync::Mutex::new(None),
            db,
            events_read: AtomicU64::new(0),
            guarded: std::sync::atomic::AtomicBool::new(false),
            durable: std::sync::Mutex::new(0),
            checkpoints: std::sync::Mutex::new(BTreeMap::new()),
            remember_chunks: std::sync::atomic::AtomicBool::new(false),
            open_chunks: std::sync::Mutex::new(BTreeMap::new()),
            chunk_files: chunk_files::ChunkFiles::default(),
        })
    }

    /// Closes this handle and opens the store again: sled keeps every log node a scan read until the store is
    /// closed (decision 0005), so a command that scans the whole log and then goes on lets go of that here.
    pub fn reopen(self) -> Result<SledStore> {
        let path = self.path.clone();
        drop(self);
        SledStore::open(&path)
    }

    /// Live bytes (keys and values) per tree: what the store holds before sled's own overhead.
    pub fn live_bytes(&self) -> Vec<(&'static str, u64, u64)> {
        let trees =
            [("log", &self.log), ("streams", self.streams.space()), ("families", &self.families), ("meta", &self.meta)];
        trees
            .into_iter()
            .map(|(name, tree)| {
                let (mut keys, mut bytes) = (0, 0);
                for (key, value) in tree.iter().flatten() {
                    keys += 1;
                    bytes += (key.len() + value.len()) as u64;
                }
                (name, keys, bytes)
            })
            .collect()
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

    fn entry(&self, stream: &Ulid) -> Result<Option<StreamEntry>> {
        self.streams.get(stream)
    }

    /// Takes the writer lock (a panicked writer wrote nothing: its batch never applied).
    fn write_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The sequence numbers of a stream's events, in order (none if the store does not hold it).
    fn seqs(&self, stream: &Ulid) -> Result<Vec<u64>> {
        self.settle_if_behind()?;
        let Some(entry) = self.entry(stream)? else { return Ok(Vec::new()) };
        let family = self.family(&entry.family)?.ok_or_else(|| bad_family(&entry.family))?;
        Ok(family.seqs.get(stream).cloned().unwrap_or_default())
    }

    /// The version a stream is at (0 if it has no events).
    pub fn stream_version(&self, stream: &Ulid) -> Result<u32> {
        Ok(self.seqs(stream)?.len() as u32)
    }

    /// A family as stored, ready to be appended to: from `touched` if an earlier event read it, else from the store.
    fn stored_family<'a>(
        &self,
        touched: &'a mut HashMap<Ulid, StoredFamily>,
        id: Ulid,
    ) -> Result<&'a mut StoredFamily> {
        Ok(match touched.entry(id) {
            std::collections::hash_map::Entry::Occupied(family) => family.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => slot.insert(match self.families.get(id.to_bytes())? {
                Some(bytes) => StoredFamily::parse(&bytes).ok_or_else(|| bad_family(&id))?,
                None => StoredFamily::new(),
            }),
        })
    }

    /// Appends `events` to `stream`, all or nothing, if the stream is still at `expected_version`; updates the
    /// projection in the same atomic batch and returns only once the events are durable.
    pub fn append(&self, stream: Ulid, expected_version: u32, events: Vec<NewEvent>) -> Result<Vec<Envelope>> {
        self.append_streams(vec![(stream, expected_version, events)])
    }

    /// Appends to several streams in one atomic batch: every stream's events are written, or none are (an imported
    /// document's reply and all its commitments). Each stream must still be at its expected version.
    pub fn append_streams(&self, batches: Vec<(Ulid, u32, Vec<NewEvent>)>) -> Result<Vec<Envelope>> {
        check_batches(&batches)?;
        let sealed = self.append_locked(batches)?;
        if let Some(last) = sealed.last() {
            self.make_durable(last.seq)?;
        }
        Ok(sealed)
    }

    /// Makes every append up to `seq` durable and acknowledged. The sync runs outside the writer lock: appends that
    /// land while it runs wait here for the next one, which covers them all (one `fsync` for many concurrent
    /// commands, as a database's group commit does). sled's flush writes everything applied before it starts, so
    /// the head read first is durable once the data file is synced.
    fn make_durable(&self, seq: u64) -> Result<()> {
        let mut durable = self.durable.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if *durable >= seq {
            return Ok(());
        }
        let head = self.head()?;
        self.sync()?;
        acknowledged::record(&self.path, &head)?;
        *durable = head.seq;
        Ok(())
    }

    /// The part of an append done under the writer lock: check the versions, seal, write the batch.
    fn append_locked(&self, batches: Vec<(Ulid, u32, Vec<NewEvent>)>) -> Result<Vec<Envelope>> {
        let _writer = self.write_lock();
        if !self.guarded.load(Ordering::Relaxed) {
            // A store made before guard keys gets them with its first append (see `space`).
            self.db.guard_spaces()?;
            self.guarded.store(true, Ordering::Relaxed);
        }
        let mut behind = self.behind.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let projection = if behind.is_some() { Projection::Behind } else { Projection::Now };
        let mut head = self.head()?;
        let mut sealed: Vec<(Envelope, Vec<u8>)> = Vec::new();
        let mut entries: HashMap<Ulid, StreamEntry> = HashMap::new();
        // With write-behind on, the append works on what is held in memory.
        let mut local = Held::default();
        let (held, held_events) = match behind.as_mut() {
            Some(behind) => (&mut behind.held, behind.events),
            None => (&mut local, 0),
        };
        for (stream, expected_version, events) in &batches {
            let (stream, expected_version) = (*stream, *expected_version);
            let entry = match held.opened.get(&stream) {
                Some(entry) => Some(*entry),
                None => self.entry(&stream)?,
            };
            let actual = match &entry {
                None => 0,
                Some(entry) => self.stored_family(&mut held.families, entry.family)?.version(&stream),
            };
            if actual != expected_version {
                return Err(StoreError::Conflict { stream, expected: expected_version, actual });
            }
            if entry.as_ref().is_some_and(|entry| entry.kind != events[0].event.stream_kind()) {
                return Err(StoreError::BadAppend { stream, reason: "该流属于另一种类".into() });
            }
            if let Some(entry) = entry {
                entries.insert(stream, entry);
            }
            for (offset, new) in events.iter().enumerate() {
                let mut envelope =
                    new.clone().sealed(head.seq + 1, actual + offset as u32 + 1, head.hash.clone(), String::new());
                let (bytes, hash) = chain::seal(&envelope);
                envelope.hash = chain::hex(&hash);
                head = Head { seq: envelope.seq, hash: envelope.hash.clone() };
                sealed.push((envelope, bytes));
            }
        }
        let pending = held_events + sealed.len() as u64;
        let written = self.write_sealed(entries, held, &sealed, projection, pending);
        if let Some(behind) = behind.as_mut() {
            match written {
                Ok(true) => *behind = Behind::default(),
                Ok(false) => behind.events = pending,
                Err(_) => {
                    // What is held may have folded part of a batch that never landed: drop it, and fold what it held
                    // that was written from the log instead.
                    *behind = Behind::default();
                    self.catch_up()?;
                }
            }
        }
        written?;
        Ok(sealed.into_iter().map(|(envelope, _)| envelope).collect())
    }

    /// Makes everything written so far durable. sled's `flush` writes its buffers with `sync_file_range`, which
    /// neither flushes the device cache nor syncs file metadata: so sled's data file is `fsync`ed here, and commands
    /// report success only after this returns. The other files sled writes are made durable as they are written (the
    /// vendored sled, `vendor/sled/DUBAN.md` change 4): a blob file and its folder before the log can point to it, a
    /// snapshot and its folder as it is renamed into place. So this lists no folder and syncs one file, however many
    /// blob files a large store holds.
    pub fn sync(&self) -> Result<()> {
        // The segments sled freed so far go back to the file system once this sync has made what replaced them
        // durable (decision 0021).
        let freed = self.db.freed_segments();
        self.db.flush()?;
        std::fs::File::open(space::Db::files(&self.path).data)?.sync_all()?;
        self.db.give_back(freed);
        Ok(())
    }

    /// A secret kept apart from the log (see [`space::Db::secrets`]).
    pub fn secret(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.db.secrets()?.get(key)
    }

    /// Sets or removes a secret, durably.
    pub fn set_secret(&self, key: &str, value: Option<&[u8]>) -> Result<()> {
        self.db.secrets()?.set(key, value)?;
        self.sync()
    }

    /// The secrets whose keys start with `prefix`.
    pub fn secrets_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        self.db.secrets()?.with_prefix(prefix)
    }

    /// A value derived from the log (see [`space::Db::derived`]).
    pub fn derived(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match self.db.derived(false)? {
            Some(derived) => derived.get(key),
            None => Ok(None),
        }
    }

    /// The derived keys that start with `prefix`.
    pub fn derived_keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
        match self.db.derived(false)? {
            Some(derived) => derived.keys(prefix),
            None => Ok(Vec::new()),
        }
    }

    /// Sets and removes derived values in one atomic batch; made durable by the next sync (what a crash loses is
    /// derived again from the log).
    pub fn write_derived(&self, changes: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<()> {
        self.db.derived(true)?.expect("created on demand").write(changes)
    }

    /// One stream's events in order.
    pub fn read_stream(&self, stream: &Ulid) -> Result<Vec<Envelope>> {
        let seqs = self.seqs(stream)?;
        let read = |seqs: &[u64]| -> Result<Vec<Envelope>> {
            let mut reader = ChunkReader::default();
            let mut events = Vec::with_capacity(seqs.len());
            for &seq in seqs {
                let envelope = reader.envelope(self, seq)?.ok_or_else(|| StoreError::Corrupt {
                    seq,
                    reason: format!("流 {stream} 的索引指向它，但日志中没有"),
                })?;
                events.push(envelope);
            }
            Ok(events)
        };
        // A commitment's facts lie months apart, nearly each in a chunk of its own, and reading one the first time
        // means reading sled's node and decompressing and chaining the chunk: facts in several chunks not read
        // before are read on two threads. (Once read, a chunk's checkpoints make a fact a frame's work: less than
        // starting a thread.)
        let Some(middle) = split_point(&seqs).filter(|_| self.unread_chunks(&seqs) >= 2) else { return read(&seqs) };
        let (early, late) = seqs.split_at(middle);
        let (events, later) = std::thread::scope(|scope| {
            let later = scope.spawn(|| read(late));
            (read(early), later.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        });
        let mut events = events?;
        events.extend(later?);
        Ok(events)
    }

    /// The events of several streams in log order, read for folding (no `prev_hash` or `hash`): each chunk that
    /// holds any of them is opened once, however many of the streams it holds.
    pub fn read_streams_for_fold(&self, streams: &[Ulid]) -> Result<Vec<Envelope>> {
        let mut seqs = Vec::new();
        for stream in streams {
            seqs.extend(self.seqs(stream)?);
        }
        seqs.sort_unstable();
        let mut reader = ChunkReader::default();
        let mut events = Vec::with_capacity(seqs.len());
        for seq in seqs {
            let envelope = reader.envelope_for_fold(self, seq)?;
            events.push(envelope.ok_or_else(|| StoreError::Corrupt { seq, reason: "日志中没有这条事件".into() })?);
        }
        Ok(events)
    }

    /// The chunk holding `seq`: its first seq and its payload (anchor and records).
    #[cfg(test)]
    fn chunk_holding(&self, seq: u64) -> Result<Option<(u64, Vec<u8>)>> {
        let Some((key, value)) = self.log.at_or_before(&chain::seq_key(seq))? else {
            return Ok(None);
        };
        let first = chunk_first(&key);
        Ok(Some((first, self.open_log_chunk(first, &value)?)))
    }

    /// The whole log in global order, starting at `from_seq`.
    pub fn read_all(&self, from_seq: u64) -> impl Iterator<Item = Result<Envelope>> + '_ {
        self.read_log(from_seq, true)
    }

    /// The whole log in global order for folding: as `read_all`, but envelopes carry no `prev_hash` or `hash`.
    pub fn read_all_for_fold(&self, from_seq: u64) -> impl Iterator<Item = Result<Envelope>> + '_ {
        self.read_log(from_seq, false)
    }

    /// Reads the log from `from_seq` for folding on two other threads and shows `visit` its events in order, until it
    /// returns `false`: decoding takes longer than folding, so they overlap. Events are lent, not
    /// handed over, so that they are freed on the thread that made them (cheaper for the allocator). Envelopes carry
    /// no `prev_hash` or `hash`. If reading fails, `visit` has seen the events up to the failure and the error is
    /// returned.
    pub fn scan_log(&self, from_seq: u64, mut visit: impl FnMut(&Envelope) -> bool) -> Result<()> {
        std::thread::scope(|scope| {
            let mut batches = self.read_batches(scope, from_seq);
            while let Some(batch) = batches.next() {
                let batch = batch?;
                let go_on = batch.iter().all(&mut visit);
                batches.recycle(batch);
                if !go_on {
                    break;
                }
            }
            // Dropping the batches stops the decoders if `visit` stopped early: their next send fails.
            Ok(())
        })
    }

    /// Starts reading the log from `from_seq` (decoded for folding) on threads of `scope`, one batch per chunk, in
    /// order. Decoding takes longer than folding, so two threads share it, each taking every other chunk. Batches
    /// handed back with [`Batches::recycle`] are cleared on the thread that decoded them, which frees the events left
    /// in them where their memory was allocated (freeing it on another thread costs the allocator several times
    /// more), and reused.
    pub(crate) fn read_batches<'scope>(
        &'scope self,
        scope: &'scope std::thread::Scope<'scope, '_>,
        from_seq: u64,
    ) -> Batches {
        const DECODERS: usize = 2;
        let from_seq = from_seq.max(1);
        let start = match self.log.at_or_before(&chain::seq_key(from_seq)) {
            Ok(Some((key, _))) => chunk_first(&key),
            _ => from_seq,
        };
        let mut batches =
            Batches { outputs: Vec::new(), recycles: Vec::new(), next: 0, last: 0, done: false, chained_to: None };
        for decoder in 0..DECODERS {
            let (sender, output) = std::sync::mpsc::sync_channel::<Result<Decoded>>(4);
            let (recycle, recycled) = std::sync::mpsc::channel::<Vec<Envelope>>();
            batches.outputs.push(output);
            batches.recycles.push(recycle);
            scope.spawn(move || {
                let chunks = self.log.range(Bound::Included(&chain::seq_key(start)), Bound::Unbounded);
                for entry in chunks.skip(decoder).step_by(DECODERS) {
                    let mut batch = recycled.try_recv().unwrap_or_default();
                    batch.clear();
                    let decoded = entry.and_then(|(key, value)| {
                        let first = chunk_first(&key);
                        let (anchor, end) = self.decode_chunk(first, &value, from_seq, &mut batch)?;
                        Ok(Decoded { first, anchor, end, events: batch })
                    });
                    let failed = decoded.is_err();
                    if sender.send(decoded).is_err() || failed {
                        return;
                    }
                }
                drop(sender);
                // Free what comes back until the folding side is done.
                for used in recycled {
                    drop(used);
                }
            });
        }
        batches
    }

    /// Decodes a chunk's events from `from_seq` on (for folding) into `batch`, chaining every record from the chunk's
    /// anchor and checking it, as `verify` does: a fold never uses an event whose content disagrees with the chain.
    /// Returns the anchor and the hash the chunk ends with (the next chunk's anchor must be that hash: the reader of
    /// the batches checks it).
    fn decode_chunk(
        &self,
        first: u64,
        value: &[u8],
        from_seq: u64,
        batch: &mut Vec<Envelope>,
    ) -> Result<([u8; 32], [u8; 32])> {
        let payload = self.open_log_chunk(first, value)?;
        let (anchor, mut rest) = chain::split_payload(first, &payload)?;
        if rest.is_empty() {
            return Err(StoreError::Corrupt { seq: first, reason: "空的日志块".into() });
        }
        let mut seq = first;
        let mut prev = *anchor;
        while !rest.is_empty() {
            let record = chain::next_record(seq, &mut rest)?;
            prev = chain::chained(seq, &prev, record)?;
            if seq >= from_seq {
                batch.push(chain::decode_stored_for_fold(seq, record)?);
            }
            seq += 1;
        }
        self.events_read.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok((*anchor, prev))
    }

    fn read_log(&self, from_seq: u64, hashes: bool) -> impl Iterator<Item = Result<Envelope>> + '_ {
        let from_seq = from_seq.max(1);
        // Start at the chunk that holds `from_seq`: its anchor is the hash before its first record.
        let start = match self.log.at_or_before(&chain::seq_key(from_seq)) {
            Ok(Some((key, _))) => chunk_first(&key),
            _ => from_seq,
        };
        let mut chunks = self.log.range(Bound::Included(&chain::seq_key(start)), Bound::Unbounded);
        let mut failed = false;
        // The chunk being read: its payload, where the next record starts, and that record's seq; with hashes, the
        // hash before it, chained from the first chunk's anchor (every later anchor must agree).
        let (mut payload, mut offset, mut seq) = (Vec::new(), 0usize, 0u64);
        let mut prev: Option<[u8; 32]> = None;
        std::iter::from_fn(move || loop {
            if failed {
                return None;
            }
            if offset < payload.len() {
                // One record at a time, straight from the payload: nothing is collected or moved in between.
                let mut rest = &payload[offset..];
                let decoded = chain::next_record(seq, &mut rest).and_then(|record| {
                    let this = seq;
                    if !hashes {
                        return (this >= from_seq).then(|| chain::decode_stored_for_fold(this, record)).transpose();
                    }
                    let before = prev.unwrap_or_default();
                    let hash = chain::chained(this, &before, record)?;
                    prev = Some(hash);
                    (this >= from_seq).then(|| chain::decode_stored(this, &before, &hash, record)).transpose()
                });
                offset = payload.len() - rest.len();
                seq += 1;
                match decoded {
                    Ok(None) => continue,
                    Ok(Some(envelope)) => {
                        self.events_read.fetch_add(1, Ordering::Relaxed);
                        return Some(Ok(envelope));
                    }
                    Err(error) => {
                        failed = true;
                        return Some(Err(error));
                    }
                }
            }
            let opened = chunks.next()?.and_then(|(key, value)| {
                let first = chunk_first(&key);
                let opened = self.open_log_chunk(first, &value)?;
                let (anchor, framed) = chain::split_payload(first, &opened)?;
                if framed.is_empty() {
                    return Err(StoreError::Corrupt { seq: first, reason: "空的日志块".into() });
                }
                if hashes && prev.is_some_and(|prev| prev != *anchor) {
                    return Err(StoreError::Corrupt { seq: first, reason: ANCHOR_BROKEN.into() });
                }
                prev = Some(*anchor);
                Ok((first, opened))
            });
            match opened {
                Ok((first, opened)) => (seq, payload, offset) = (first, opened, chain::ANCHOR_BYTES),
                Err(error) => {
                    failed = true;
                    return Some(Err(error));
                }
            }
        })
    }

    fn family(&self, id: &Ulid) -> Result<Option<Family>> {
        self.settle_if_behind()?;
        self.families.get(id.to_bytes())?.map(|bytes| decode_family(id, &bytes)).transpose()
    }

    /// A reply's projected state.
    pub fn reply(&self, id: &Ulid) -> Result<Option<ReplyState>> {
        self.settle_if_behind()?;
        match self.entry(id)? {
            Some(entry) if entry.kind == StreamKind::Reply => Ok(self.family(id)?.and_then(|family| family.reply)),
            _ => Ok(None),
        }
    }

    /// A commitment's projected state.
    pub fn commitment(&self, id: &Ulid) -> Result<Option<CommitmentState>> {
        self.settle_if_behind()?;
        match self.entry(id)? {
            Some(entry) if entry.kind == StreamKind::Commitment => {
                Ok(self.family(&entry.family)?.and_then(|family| family.commitment(id).cloned()))
            }
            _ => Ok(None),
        }
    }

    /// A proposal's projected state.
    pub fn proposal(&self, id: &Ulid) -> Result<Option<ProposalState>> {
        self.settle_if_behind()?;
        match self.entry(id)? {
            Some(entry) if entry.kind == StreamKind::Proposal => {
                Ok(self.family(id)?.and_then(|family| family.proposal))
            }
            _ => Ok(None),
        }
    }

    /// An account's projected state.
    pub fn account(&self, id: &Ulid) -> Result<Option<duban_domain::AccountState>> {
        self.settle_if_behind()?;
        match self.entry(id)? {
            Some(entry) if entry.kind == StreamKind::Account => Ok(self.family(id)?.and_then(|family| family.account)),
            _ => Ok(None),
        }
    }

    /// The families (a reply and its commitments) whose reply ids fall in `from..to` (`None`: open), in id order.
    pub fn families_between(&self, from: Option<Ulid>, to: Option<Ulid>) -> impl Iterator<Item = Result<Family>> + '_ {
        let settled = self.settle_if_behind().err().map(Err);
        let (from, to) = (from.map(|id| id.to_bytes()), to.map(|id| id.to_bytes()));
        let low = from.as_ref().map_or(Bound::Unbounded, |key| Bound::Included(&key[..]));
        let high = to.as_ref().map_or(Bound::Unbounded, |key| Bound::Excluded(&key[..]));
        settled.into_iter().chain(self.families.range(low, high).map(|entry| {
            let (key, value) = entry?;
            decode_family(&ulid_of(&key), &value)
        }))
    }

    /// The first and last reply ids that have a family: to split a scan of the projection between threads.
    pub fn family_bounds(&self) -> Result<Option<(Ulid, Ulid)>> {
        let first = self.families.iter().next().transpose()?;
        let last = self.families.iter().next_back().transpose()?;
        Ok(first.zip(last).map(|((first, _), (last, _))| (ulid_of(&first), ulid_of(&last))))
    }

    /// Readers of a handle with write-behind on see what it holds.
    fn settle_if_behind(&self) -> Result<()> {
        let holding = self.behind.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).is_some();
        if holding {
            self.settle()?;
        }
        Ok(())
    }

    /// Every reply's projected state, in id order.
    pub fn replies(&self) -> Result<Vec<ReplyState>> {
        self.families_between(None, None).filter_map(|family| family.map(|family| family.reply).transpose()).collect()
    }

    /// Every commitment's projected state, in id order.
    pub fn commitments(&self) -> Result<Vec<CommitmentState>> {
        let mut all = Vec::new();
        for family in self.families_between(None, None) {
            all.extend(family?.commitments);
        }
        all.sort_unstable_by_key(|state| state.id);
        Ok(all)
    }

    /// Every reply and commitment id, sorted (for short ids).
    pub fn all_ids(&self) -> Result<Vec<Ulid>> {
        self.settle_if_behind()?;
        self.streams.iter().map(|entry| Ok(entry?.0)).collect()
    }

    /// The ids sorted next to `id` among all replies and commitments: all a short id needs, found without a scan.
    pub fn neighbours(&self, id: &Ulid) -> Result<Vec<Ulid>> {
        self.settle_if_behind()?;
        Ok(self.streams.before(id)?.into_iter().chain(self.streams.after(id)?).collect())
    }

    /// The shortest prefix (at least six characters) that names `id` unambiguously.
    pub fn short_id(&self, id: &Ulid) -> Result<String> {
        Ok(duban_domain::short_id(id, &self.neighbours(id)?))
    }

    /// The one commitment whose id starts with `input` (at least six characters).
    pub fn resolve_commitment(&self, input: &str) -> Result<Ulid> {
        self.resolve(input, "承诺", Some(StreamKind::Commitment))
    }

    /// The one reply whose id starts with `input`.
    pub fn resolve_reply(&self, input: &str) -> Result<Ulid> {
        self.resolve(input, "答复", Some(StreamKind::Reply))
    }

    /// The one proposal whose id starts with `input`.
    pub fn resolve_proposal(&self, input: &str) -> Result<Ulid> {
        self.resolve(input, "建议或提案", Some(StreamKind::Proposal))
    }

    /// The one reply or commitment whose id starts with `input`.
    pub fn resolve_stream(&self, input: &str) -> Result<Ulid> {
        self.resolve(input, "答复或承诺", None)
    }

    fn resolve(&self, input: &str, what: &'static str, kind: Option<StreamKind>) -> Result<Ulid> {
        let prefix = normalize_prefix(input)?;
        self.settle_if_behind()?;
        // ULID text sorts as its bytes do, so the ids with this prefix are one range of the index.
        let pad = |with: char| {
            let padded: String = prefix.chars().chain(std::iter::repeat(with)).take(26).collect();
            Ulid::from_string(&padded).ok()
        };
        let mut candidates = Vec::new();
        if let (Some(low), Some(high)) = (pad('0'), pad('Z').or(Some(Ulid(u128::MAX)))) {
            for entry in self.streams.range(low, high) {
                let (id, entry) = entry?;
                if kind.is_none_or(|kind| entry.kind == kind) {
                    candidates.push(id);
                    if candidates.len() == 5 {
                        break;
                    }
                }
            }
        }
        Ok(resolve_prefix(&prefix, what, &candidates)?)
    }
}

impl Drop for SledStore {
    /// Writes what write-behind holds (if this fails, the next `open` folds it from the log).
    fn drop(&mut self) {
        if self.behind.get_mut().map(|held| held.is_some()).unwrap_or(false) {
            let _ = self.settle();
        }
    }
}

/// Reads events by sequence number, keeping the last chunk it opened (a stream's events often share chunks) with
/// where each of its records lies, so that a chunk's framing is read once, and the hashes of its records as far as
/// they were chained from its anchor.
#[derive(Default)]
pub(crate) struct ChunkReader {
    first: u64,
    payload: Vec<u8>,
    anchor: [u8; 32],
    records: Vec<std::ops::Range<usize>>,
    hashes: Vec<[u8; 32]>,
    /// When what is held is a framed chunk's first frames (read without checkpoints, up to a fact's frame): how many.
    /// A later fact of the same chunk then needs only the frames after them (facts are mostly read in log order).
    frames_held: Option<usize>,
}

impl ChunkReader {
    /// Opens the chunk holding `seq` unless it is the one held; the index of `seq`'s record in it. Of a framed chunk
    /// whose frames' anchors this process has chained before, only the frame holding `seq` is opened (and held).
    fn hold(&mut self, store: &SledStore, seq: u64) -> Result<Option<usize>> {
        if !(self.first..self.first + self.records.len() as u64).contains(&seq) {
            // A chunk read before is found by its first seq, remembered (a point read, cheaper than sled's search
            // for the key at or before `seq`).
            let known = store.chunk_known(seq);
            let found = match &known {
                Some((first, _)) => store.log.get(chain::seq_key(*first))?.map(|value| (*first, value)),
                None => None,
            };
            let found = match found {
                Some(found) => Some(found),
                None => store.log.at_or_before(&chain::seq_key(seq))?.map(|(key, value)| (chunk_first(&key), value)),
            };
            let Some((first, value)) = found else { return Ok(None) };
            let frames = chain::frames(first, &value)?;
            match (&frames, store.checkpoints(first, value.len())) {
                (Some(frames), Some(known)) if known.frames.len() == frames.len() => {
                    let index = seq - first;
                    let k = frame_holding(frames, index);
                    let frame_first = u64::from(frames[k].first_record);
                    // Chained from the nearest known hash: the frame's start, or a checkpoint within it.
                    let step = (index / CHECKPOINT_EVERY) as usize;
                    let (start, anchor) = match known.every.get(step) {
                        Some(hash) if step as u64 * CHECKPOINT_EVERY > frame_first => {
                            (step as u64 * CHECKPOINT_EVERY, *hash)
                        }
                        _ => (frame_first, known.frames[k]),
                    };
                    let bytes = store.open_frames(first, &value, &frames[k..=k])?;
                    let skip = if k == 0 { chain::ANCHOR_BYTES } else { 0 };
                    self.load(first + frame_first, anchor, bytes, skip, (start - frame_first) as usize)?;
                    self.frames_held = None;
                }
                (None, _) if store.remember_chunks.load(Ordering::Relaxed) => {
                    self.hold_open(store, first, value)?;
                    self.frames_held = None;
                }
                (Some(frames), None)
                    if self.first == first
                        && self.frames_held.is_some_and(|held| held < frames.len())
                        && !store.remember_chunks.load(Ordering::Relaxed) =>
                {
                    // The same chunk's first frames are held: only the frames after them up to the fact's are read,
                    // their records chained on from the last held.
                    let held = self.frames_held.unwrap_or_default();
                    let index = seq - first;
                    let k = frame_holding(frames, index);
                    if k >= held {
                        let bytes = store.open_frames(first, &value, &frames[held..=k])?;
                        self.extend(bytes)?;
                        self.frames_held = Some(k + 1);
                    }
                }
                _ => {
                    let remember = store.remember_chunks.load(Ordering::Relaxed);
                    // Without checkpoints to make, the frames up to the fact's are enough: it is chained from the
                    // chunk's anchor through the records before it, which they hold.
                    let payload = match &frames {
                        Some(frames) if !remember => {
                            let index = seq - first;
                            let k = frame_holding(frames, index);
                            store.open_frames(first, &value, &frames[..=k])?
                        }
                        _ => store.open_log_chunk(first, &value)?,
                    };
                    let anchor = *chain::split_payload(first, &payload)?.0;
                    self.load(first, anchor, payload, chain::ANCHOR_BYTES, 0)?;
                    self.frames_held = match &frames {
                        Some(frames) if !remember => {
                            let index = seq - first;
                            Some(frame_holding(frames, index) + 1)
                        }
                        _ => None,
                    };
                    if let (Some(frames), true) = (frames, remember) {
                        let known = self.checkpoints(&frames, value.len())?;
                        store.remember_checkpoints(first, known);
                    }
                }
            }
        }
        Ok(usize::try_from(seq - self.first).ok().filter(|&index| index < self.records.len()))
    }

    /// Holds the unframed chunk `value` (starting at event `first`) chained whole, from what the store remembers of
    /// it where it can, and remembers it.
    fn hold_open(&mut self, store: &SledStore, first: u64, value: space::IVec) -> Result<()> {
        let held = store.open_chunks.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&first).cloned();
        if let Some(held) = held.as_ref().filter(|held| held.value == value) {
            self.first = first;
            self.anchor = held.anchor;
            self.payload.clone_from(&held.payload);
            self.records.clone_from(&held.records);
            self.hashes.clone_from(&held.hashes);
            return Ok(());
        }
        let payload = store.open_log_chunk(first, &value)?;
        let anchor = *chain::split_payload(first, &payload)?.0;
        self.load(first, anchor, payload, chain::ANCHOR_BYTES, 0)?;
        // The records of the bytes held before, unchanged, have the hashes chained then.
        if let Some(held) = held.filter(|held| held.anchor == anchor && self.payload.starts_with(&held.payload)) {
            self.hashes.clone_from(&held.hashes);
        }
        if let Some(last) = self.records.len().checked_sub(1) {
            self.hashes(last)?;
        }
        let chunk = OpenChunk {
            value,
            anchor,
            payload: self.payload.clone(),
            records: self.records.clone(),
            hashes: self.hashes.clone(),
        };
        let mut held = store.open_chunks.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if held.len() >= OPEN_CHUNKS {
            // The oldest go: the run's newest chunks are the ones read again.
            let oldest = held.keys().next().copied().unwrap_or_default();
            held.remove(&oldest);
        }
        held.insert(first, std::sync::Arc::new(chunk));
        Ok(())
    }

    /// Adds the records in `bytes` (payload bytes that follow the held ones) to what is held.
    fn extend(&mut self, bytes: Vec<u8>) -> Result<()> {
        let start = self.payload.len();
        self.payload.extend_from_slice(&bytes);
        let (payload, records) = (&self.payload, &mut self.records);
        let mut rest = &payload[start..];
        while !rest.is_empty() {
            let record = chain::next_record(self.first + records.len() as u64, &mut rest)?;
            let end = payload.len() - rest.len();
            records.push(end - record.len()..end);
        }
        Ok(())
    }

    /// Holds `payload`'s records from byte `skip` on, the first being event `first`, but for the first `passed` of
    /// them: the held ones are chained from `anchor`, the hash before the first held.
    fn load(&mut self, first: u64, anchor: [u8; 32], payload: Vec<u8>, skip: usize, passed: usize) -> Result<()> {
        self.anchor = anchor;
        self.records.clear();
        self.hashes.clear();
        let mut rest =
            payload.get(skip..).ok_or_else(|| StoreError::Corrupt { seq: first, reason: "日志块过短".into() })?;
        for at in 0..passed as u64 {
            chain::next_record(first + at, &mut rest)?;
        }
        let first = first + passed as u64;
        while !rest.is_empty() {
            let record = chain::next_record(first + self.records.len() as u64, &mut rest)?;
            let end = payload.len() - rest.len();
            self.records.push(end - record.len()..end);
        }
        (self.first, self.payload) = (first, payload);
        Ok(())
    }

    /// The known hashes of the whole chunk held, every record chained: before each frame (each frame must begin at
    /// a record) and before every [`CHECKPOINT_EVERY`]th record.
    fn checkpoints(&mut self, frames: &[chain::Frame], size: usize) -> Result<Checkpoints> {
        if let Some(last) = self.records.len().checked_sub(1) {
            self.hashes(last)?;
        }
        let count = self.records.len() as u64;
        let mut known = Checkpoints { size, count, frames: Vec::with_capacity(frames.len()), every: Vec::new() };
        for frame in frames {
            let index = frame.first_record as usize;
            let starts_there = match index {
                0 => frame.payload.start == 0,
                _ => self.records.get(index - 1).is_some_and(|record| record.end == frame.payload.start),
            };
            if !starts_there || index >= self.records.len().max(1) {
                return Err(StoreError::Corrupt {
                    seq: self.first, reason: "日志块的分帧表与其记录不符".into()
                });
            }
            known.frames.push(self.before(index));
        }
        known.every =
            (0..self.records.len()).step_by(CHECKPOINT_EVERY as usize).map(|index| self.before(index)).collect();
        Ok(known)
    }

    fn record(&self, index: usize) -> &[u8] {
        &self.payload[self.records[index].clone()]
    }

    /// The hash before record `index` of the held chunk and its own, chained from the anchor as far as needed.
    fn hashes(&mut self, index: usize) -> Result<([u8; 32], [u8; 32])> {
        while self.hashes.len() <= index {
            let at = self.hashes.len();
            let hash = chain::chained(self.first + at as u64, &self.before(at), self.record(at))?;
            self.hashes.push(hash);
        }
        Ok((self.before(index), self.hashes[index]))
    }

    /// The hash before record `index`, once the ones before it are chained.
    fn before(&self, index: usize) -> [u8; 32] {
        if index == 0 {
            self.anchor
        } else {
            self.hashes[index - 1]
        }
    }

    pub(crate) fn envelope(&mut self, store: &SledStore, seq: u64) -> Result<Option<Envelope>> {
        let Some(index) = self.hold(store, seq)? else { return Ok(None) };
        let (prev, hash) = self.hashes(index)?;
        store.events_read.fetch_add(1, Ordering::Relaxed);
        chain::decode_stored(seq, &prev, &hash, self.record(index)).map(Some)
    }

    /// The hash of event `seq`, if the log holds it.
    pub(crate) fn hash(&mut self, store: &SledStore, seq: u64) -> Result<Option<[u8; 32]>> {
        let Some(index) = self.hold(store, seq)? else { return Ok(None) };
        Ok(Some(self.hashes(index)?.1))
    }

    /// Event `seq` for folding (no `prev_hash` or `hash`), its record chained from its chunk's anchor first: a fold
    /// never takes an event whose content disagrees with the chain.
    fn envelope_for_fold(&mut self, store: &SledStore, seq: u64) -> Result<Option<Envelope>> {
        let Some(index) = self.hold(store, seq)? else { return Ok(None) };
        self.hashes(index)?;
        store.events_read.fetch_add(1, Ordering::Relaxed);
        chain::decode_stored_for_fold(seq, self.record(index)).map(Some)
    }
}

impl SledStore {
    /// The payload of the log chunk beginning at event `first`, stored as `value` (in the log, or in its file).
    pub(crate) fn open_log_chunk(&self, first: u64, value: &[u8]) -> Result<Vec<u8>> {
        if chain::is_external(value) {
            let (length, head) = chain::external(first, value)?;
            let bytes = self.chunk_files.read_whole(&self.path, first, length, head)?;
            return chain::open_chunk(first, &bytes);
        }
        chain::open_chunk(first, value)
    }

    /// The payload bytes of `frames` (consecutive frames of the framed chunk beginning at event `first`, stored as
    /// `value`): from a chunk's file, only their bytes are read.
    fn open_frames(&self, first: u64, value: &[u8], frames: &[chain::Frame]) -> Result<Vec<u8>> {
        let (Some(start), Some(last)) = (frames.first(), frames.last()) else { return Ok(Vec::new()) };
        let span = chain::stored_range(start).start..chain::stored_range(last).end;
        if chain::is_external(value) {
            let bytes = self.chunk_files.read_at(&self.path, first, span.clone())?;
            return chain::open_frames_at(first, &bytes, span.start, frames);
        }
        chain::open_frames_at(first, value, 0, frames)
    }

    /// How many of the chunks holding `seqs` have no checkpoints yet.
    fn unread_chunks(&self, seqs: &[u64]) -> usize {
        let mut unread = std::collections::BTreeSet::new();
        for &seq in seqs.iter().filter(|&&seq| self.chunk_known(seq).is_none()) {
            if let Ok(Some((key, value))) = self.log.at_or_before(&chain::seq_key(seq)) {
                let first = chunk_first(&key);
                if self.checkpoints(first, value.len()).is_none() {
                    unread.insert(first);
                }
            }
        }
        unread.len()
    }

    fn checkpoints(&self, first: u64, size: usize) -> Option<std::sync::Arc<Checkpoints>> {
        let checkpoints = self.checkpoints.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        checkpoints.get(&first).filter(|known| known.size == size).cloned()
    }

    /// The first seq of the remembered chunk holding `seq`, if there is one, and its checkpoints.
    fn chunk_known(&self, seq: u64) -> Option<(u64, std::sync::Arc<Checkpoints>)> {
        let checkpoints = self.checkpoints.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (first, known) = checkpoints.range(..=seq).next_back()?;
        (seq < first + known.count).then(|| (*first, known.clone()))
    }

    fn remember_checkpoints(&self, first: u64, known: Checkpoints) {
        let mut checkpoints = self.checkpoints.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if checkpoints.len() >= CHECKPOINTS {
            checkpoints.clear();
        }
        checkpoints.insert(first, std::sync::Arc::new(known));
    }
}

/// Which of a framed chunk's `frames` holds its record `index`.
fn frame_holding(frames: &[chain::Frame], index: u64) -> usize {
    frames.partition_point(|frame| u64::from(frame.first_record) <= index).max(1) - 1
}

/// Events at least this many apart are taken to lie in different chunks (a full chunk holds ~1,700 generated events).
const CHUNK_APART: u64 = 2048;

/// Where reading `seqs` is split between two threads: at the gap of at least [`CHUNK_APART`] nearest the middle,
/// so that the two threads seldom open the same chunk. `None` if the events lie close together.
fn split_point(seqs: &[u64]) -> Option<usize> {
    (1..seqs.len())
        .filter(|&index| seqs[index].saturating_sub(seqs[index - 1]) >= CHUNK_APART)
        .min_by_key(|&index| index.abs_diff(seqs.len() / 2))
}

/// Why a chunk cannot be read on from the one before it.
pub(crate) const ANCHOR_BROKEN: &str =
    "日志块记下的前一条事件的哈希与实际不符（其前的事件被改动，或日志块被调换、插入）";

/// Checks what can be checked before reading the store: events present, of one stream and kind, opening events first.
/// What every engine checks of an append before reading anything: each batch well formed, no stream twice.
pub(crate) fn check_batches(batches: &[(Ulid, u32, Vec<NewEvent>)]) -> Result<()> {
    for (stream, expected_version, events) in batches {
        check_batch(*stream, *expected_version, events)?;
    }
    let mut streams_seen = std::collections::HashSet::new();
    if let Some((stream, _, _)) = batches.iter().find(|(stream, _, _)| !streams_seen.insert(*stream)) {
        return Err(StoreError::BadAppend {
            stream: *stream, reason: "同一流在一次追加中出现两次".into()
        });
    }
    Ok(())
}

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

fn ulid_of(key: &[u8]) -> Ulid {
    Ulid::from_bytes(key.try_into().unwrap_or_default())
}

pub(crate) fn decode_family(id: &Ulid, bytes: &[u8]) -> Result<Family> {
    Family::from_bytes(bytes).ok_or_else(|| bad_family(id))
}

pub(crate) fn bad_family(id: &Ulid) -> StoreError {
    StoreError::ProjectionDamaged { what: format!("答复 {id} 的条目"), reason: "无法解码".into() }
}

/// One chunk decoded for folding: its first seq, its anchor, the hash its last record ends with, its events.
struct Decoded {
    first: u64,
    anchor: [u8; 32],
    end: [u8; 32],
    events: Vec<Envelope>,
}

/// The log's events for folding, one batch per chunk, in order, from the threads decoding them (see
/// [`SledStore::read_batches`]). Each chunk was chained from its anchor as it was decoded; here each anchor is
/// checked against the hash the chunk before it ended with, so the whole scan is chained. A decoding error or a
/// broken chain ends the batches.
pub(crate) struct Batches {
    outputs: Vec<std::sync::mpsc::Receiver<Result<Decoded>>>,
    recycles: Vec<std::sync::mpsc::Sender<Vec<Envelope>>>,
    /// Which decoder's batch comes next, and which one's came last.
    next: usize,
    last: usize,
    done: bool,
    /// The hash the last chunk ended with.
    chained_to: Option<[u8; 32]>,
}

impl Iterator for Batches {
    type Item = Result<Vec<Envelope>>;

    fn next(&mut self) -> Option<Result<Vec<Envelope>>> {
        if self.done {
            return None;
        }
        match self.outputs[self.next].recv() {
            Ok(decoded) => {
                let batch = decoded.and_then(|decoded| {
                    // The first chunk of a scan from the start anchors on genesis; every later one on the chunk before.
                    let expected = match self.chained_to {
                        Some(end) => Some(end),
                        None if decoded.first == 1 => Some([0; 32]),
                        None => None,
                    };
                    if expected.is_some_and(|expected| expected != decoded.anchor) {
                        return Err(StoreError::Corrupt { seq: decoded.first, reason: ANCHOR_BROKEN.into() });
                    }
                    self.chained_to = Some(decoded.end);
                    Ok(decoded.events)
                });
                self.done = batch.is_err();
                self.last = self.next;
                self.next = (self.next + 1) % self.outputs.len();
                Some(batch)
            }
            Err(_) => {
                self.done = true;
                None
            }
        }
    }
}

impl Batches {
    /// Hands the last batch back to the thread that decoded it.
    pub(crate) fn recycle(&self, batch: Vec<Envelope>) {
        let _ = self.recycles[self.last].send(batch);
    }
}

/// The sequence number a log chunk's key names (its first event).
fn chunk_first(key: &[u8]) -> u64 {
    u64::from_be_bytes(key.try_into().unwrap_or_default())
}

impl SledStore {
    /// Writes already-sealed envelopes with their records (consecutive, continuing the head): into the last chunk
    /// while it has room, then into new chunks; and, if `project`, folds them into the stream index and the
    /// projection. `entries` holds index entries the caller already read, `held` the families read and the
    /// streams opened and not yet written. `pending` counts the events folded into `held` and not written, this
    /// append's included; returns whether what is held was written.
    fn write_sealed(
        &self,
        mut entries: HashMap<Ulid, StreamEntry>,
        held: &mut Held,
        sealed: &[(Envelope, Vec<u8>)],
        projection: Projection,
        pending: u64,
    ) -> Result<bool> {
        let Some((first, _)) = sealed.first() else { return Ok(false) };
        let (log, families, meta) = (&self.log, &self.families, &self.meta);
        let mut writes = Writes::default();
        // The log. Chunks after the last full one form the open run, which starts at `tail`. A small append adds
        // one more chunk to the run and rewrites nothing; once the run and the new events fill a chunk, they are
        // rewritten as full chunks (the last, partial one starting the next run). So each event is written about
        // twice, however small the appends; topping up one chunk on every append would rewrite it dozens of times,
        // and sled keeps every rewrite as garbage for a while.
        // Full chunks are compressed with zstd, the run's with LZ4: quicker to write and read back for merging,
        // and a bulk load's run of a thousand events then stays above the quarter segment beyond which sled writes
        // a value to a blob file (deleted when replaced) instead of into its segments (where it would leave garbage).
        // `tail` holds where the run starts and how many bytes its records take.
        let (tail, run_bytes) = match meta.get(TAIL_KEY)? {
            Some(value) if value.len() == 16 => (
                u64::from_be_bytes(value[..8].try_into().unwrap_or_default()),
                u64::from_be_bytes(value[8..].try_into().unwrap_or_default()) as usize,
            ),
            _ => (first.seq, 0),
        };
        let new_bytes: usize = sealed.iter().map(|(_, record)| record.len() + 3).sum();
        let run_value = |start: u64, bytes: usize| {
            let mut value = start.to_be_bytes().to_vec();
            value.extend_from_slice(&(bytes as u64).to_be_bytes());
            value
        };
        // Every envelope here was sealed with a well-formed hash (a restore checked its file's).
        let hash_of = |envelope: &Envelope| chain::unhex(&envelope.hash).unwrap_or([0xFF; 32]);
        let anchor = chain::unhex(&first.prev_hash).unwrap_or([0xFF; 32]);
        // Single commands fill chunks of `COMMAND_CHUNK_BYTES`, bulk loads (a loading session, or an append that
        // large by itself) chunks of `CHUNK_BYTES`.
        let limit = if self.db.loading() || new_bytes >= chain::COMMAND_CHUNK_BYTES {
            chain::CHUNK_BYTES
        } else {
            chain::COMMAND_CHUNK_BYTES
        };
        if run_bytes + new_bytes < limit {
            let mut payload = chain::new_payload(&anchor, chain::ANCHOR_BYTES + new_bytes);
            for (_, record) in sealed {
                chain::push_record(&mut payload, record);
            }
            writes.insert(log, &chain::seq_key(first.seq), chain::seal_chunk(&payload));
            let start = if run_bytes == 0 { first.seq } else { tail };
            writes.insert(meta, TAIL_KEY, run_value(start, run_bytes + payload.len() - chain::ANCHOR_BYTES));
        } else {
            let mut run: Vec<(u64, Vec<u8>)> = Vec::new();
            if run_bytes > 0 {
                for entry in log.range(Bound::Included(&chain::seq_key(tail)), Bound::Unbounded) {
                    let (key, value) = entry?;
                    let at = chunk_first(&key);
                    run.push((at, self.open_log_chunk(at, &value)?));
                }
            }
            for (at, _) in &run {
                writes.remove(log, &chain::seq_key(*at));
            }
            // The run's records are chained from its first anchor (each checked); the new ones carry their hashes.
            let mut prev = match run.first() {
                Some((at, payload)) => *chain::split_payload(*at, payload)?.0,
                None => anchor,
            };
            let mut run_records: Vec<&[u8]> = Vec::new();
            for (at, payload) in &run {
                run_records.extend(chain::records(*at, chain::split_payload(*at, payload)?.1)?);
            }
            let records = run_records
                .into_iter()
                .map(|record| (record, None))
                .chain(sealed.iter().map(|(envelope, record)| (record.as_slice(), Some(hash_of(envelope)))));
            let mut chunk_first = run.first().map_or(first.seq, |(at, _)| *at);
            let mut payload = chain::new_payload(&prev, chain::CHUNK_BYTES);
            for (seq, (record, hash)) in (chunk_first..).zip(records) {
                if payload.len() > chain::ANCHOR_BYTES && payload.len() + record.len() + 4 > limit {
                    self.write_full_chunk(&mut writes, chunk_first, &payload)?;
                    (chunk_first, payload) = (seq, chain::new_payload(&prev, chain::CHUNK_BYTES));
                }
                chain::push_record(&mut payload, record);
                prev = match hash {
                    Some(hash) => hash,
                    None => chain::chained(seq, &prev, record)?,
                };
            }
            writes.insert(log, &chain::seq_key(chunk_first), chain::seal_chunk(&payload));
            writes.insert(meta, TAIL_KEY, run_value(chunk_first, payload.len() - chain::ANCHOR_BYTES));
        }

        // The projection, with each stream's event positions: each touched family is read once and written once; a
        // stream's index entry is written when it opens.
        for (envelope, _) in sealed.iter().filter(|_| projection != Projection::Skip) {
            self.project(envelope, &mut entries, held)?;
        }
        let last = sealed.last().map_or(first.seq, |(envelope, _)| envelope.seq);
        if projection == Projection::Now {
            self.streams.write(&mut writes, held.opened.iter().map(|(id, entry)| (*id, Some(*entry))))?;
            for (id, family) in &held.families {
                writes.insert(families, &id.to_bytes(), family.to_bytes());
            }
            writes.insert(meta, PROJECTED_KEY, last.to_be_bytes().to_vec());
        }
        if let Some((last, _)) = sealed.last() {
            writes.insert(meta, HEAD_KEY, Head { seq: last.seq, hash: last.hash.clone() }.to_bytes());
        }
        writes.apply(&self.db)?;
        let behind = projection == Projection::Behind && pending >= BEHIND_EVENTS;
        if behind {
            self.write_held(held, last)?;
        }
        Ok(projection == Projection::Now || behind)
    }

    /// Adds the full chunk beginning at event `chunk_first` with `payload` to `writes`: compressed, into a file of
    /// its own (written and synced now) and a pointer to it in the log; a chunk that does not compress stays in the
    /// log whole. The store's layout becomes 6 with its first chunk file (a duban before it would misread the log).
    fn write_full_chunk(&self, writes: &mut Writes, chunk_first: u64, payload: &[u8]) -> Result<()> {
        let value = chain::seal_log_chunk(payload);
        match chain::external_pointer(&value) {
            Some(pointer) => {
                chunk_files::write(&self.path, chunk_first, &value)?;
                writes.insert(&self.log, &chain::seq_key(chunk_first), pointer);
                writes.insert(&self.meta, LAYOUT_KEY, LAYOUT.to_be_bytes().to_vec());
            }
            None => writes.insert_spaced(&self.log, &chain::seq_key(chunk_first), value),
        }
        Ok(())
    }

    /// Writes what is held, [`FAMILY_BATCH`] keys to a batch in key order (the index entries of opened streams
    /// first, so that every family's members can be found), then marks the projection as reaching `projected`.
    fn write_held(&self, held: &Held, projected: u64) -> Result<()> {
        self.write_entries(held.opened.iter().map(|(id, entry)| (*id, Some(*entry))))?;
        self.write_in_batches(&self.families, &held.families, StoredFamily::to_bytes)?;
        self.meta.insert(PROJECTED_KEY, projected.to_be_bytes().to_vec())
    }

    /// Writes index entries (`None` removes one), the buckets they touch [`FAMILY_BATCH`] to a sled batch, in key
    /// order.
    fn write_entries(&self, entries: impl IntoIterator<Item = (Ulid, Option<StreamEntry>)>) -> Result<()> {
        let buckets: Vec<Vec<(Ulid, Option<StreamEntry>)>> = streams::by_bucket(entries).into_values().collect();
        for batch in buckets.chunks(FAMILY_BATCH) {
            let mut writes = Writes::default();
            self.streams.write(&mut writes, batch.iter().flatten().copied())?;
            writes.apply(&self.db)?;
        }
        Ok(())
    }

    /// Writes `items` into `space` in key order, [`FAMILY_BATCH`] to a sled batch, each encoded only as its batch
    /// is written.
    fn write_in_batches<T>(
        &self,
        space: &Space,
        items: &HashMap<Ulid, T>,
        encode: impl Fn(&T) -> Vec<u8>,
    ) -> Result<()> {
        let mut sorted: Vec<(&Ulid, &T)> = items.iter().collect();
        sorted.sort_unstable_by_key(|(id, _)| **id);
        for batch in sorted.chunks(FAMILY_BATCH) {
            let mut writes = Writes::default();
            for (id, item) in batch {
                writes.insert(space, &id.to_bytes(), encode(item));
            }
            writes.apply(&self.db)?;
        }
        Ok(())
    }

    /// Write-behind: while on, appends fold into families held in memory and write them every [`BEHIND_EVENTS`]
    /// events instead of in every append's batch. For bulk loads: a family touched by every other append is then
    /// written a few times instead of thousands, which saves time and, above all, the garbage sled would keep.
    /// Every append is as durable as ever (the log is the truth); readers of this handle see the families written
    /// first, and after a crash `open` folds the events the projection had not reached. Turning it off writes
    /// what is held. While on, each write also keeps sled's file compact ([`space::Db::compact_while_loading`]).
    pub(crate) fn write_behind(&self, on: bool) -> Result<()> {
        self.settle()?;
        let _writer = self.write_lock();
        *self.behind.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = on.then(Behind::default);
        self.db.compact_while_loading(on);
        Ok(())
    }

    /// Brings the stored projection up to the head: writes the families write-behind holds, and folds in from the
    /// log whatever it has not reached (after a crash while write-behind held families, or a cut-short restore).
    pub fn settle(&self) -> Result<()> {
        let _writer = self.write_lock();
        let mut behind = self.behind.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(held) = behind.as_mut().filter(|held| held.events > 0) {
            self.write_held(&held.held, self.head()?.seq)?;
            *held = Behind::default();
        }
        self.catch_up()
    }

    /// Folds into the projection the events it has not reached. The caller holds the writer lock.
    fn catch_up(&self) -> Result<()> {
        let head = self.head()?.seq;
        let projected = match self.meta.get(PROJECTED_KEY)? {
            Some(value) => u64::from_be_bytes(value.as_ref().try_into().unwrap_or_default()),
            None => head,
        };
        if projected >= head {
            return Ok(());
        }
        let (mut entries, mut held) = (HashMap::new(), Held::default());
        for envelope in self.read_all_for_fold(projected + 1) {
            self.project(&envelope?, &mut entries, &mut held)?;
        }
        self.write_held(&held, head)?;
        self.sync()
    }

    /// Folds one event into its family, reading each index entry and family once (`entries` and `held` keep
    /// them); the entry of a stream the event opens is held with the families. Events come in log order, so a
    /// stream's opening event is met before any other of its events.
    fn project(&self, envelope: &Envelope, entries: &mut HashMap<Ulid, StreamEntry>, held: &mut Held) -> Result<()> {
        let entry = match entries.get(&envelope.stream).or_else(|| held.opened.get(&envelope.stream)) {
            Some(entry) => *entry,
            None => {
                let entry = match self.streams.get(&envelope.stream)? {
                    Some(entry) => entry,
                    None => {
                        let entry = StreamEntry::opened_by(envelope);
                        held.opened.insert(envelope.stream, entry);
                        entry
                    }
                };
                entries.insert(envelope.stream, entry);
                entry
            }
        };
        self.stored_family(&mut held.families, entry.family)?.apply(envelope).ok_or_else(|| bad_family(&entry.family))
    }
}
