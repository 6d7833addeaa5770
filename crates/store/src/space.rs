//! The one file that knows sled: opening a store's sled database (its lock, its recorded segment size, the files it
//! writes), its one tree divided into key spaces by a leading byte (log, streams, families, meta), the write set an
//! append fills and applies as one atomic sled batch, and sled's errors turned into the store's.
//!
//! One tree and one batch instead of a transaction over four trees: sled applies a batch atomically (also across a
//! crash) at a fraction of a transaction's cost. Writers take the store's writer lock, so the reads that decide an
//! append (versions, the head) cannot go stale before its batch lands; sled lets only one process open a store, so
//! that lock covers every writer.

use std::collections::HashMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};

pub use sled::IVec;

use crate::error::{Result, StoreError};

/// sled's page cache. Its default (1 GiB) would let one long scan of the log take a gigabyte of memory; reads are
/// sequential, so a modest cache costs little speed.
const CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// sled's segment size for new stores. sled writes a value of more than a quarter of a segment to a file of its own
/// (a blob) instead of into its segments. With sled's default of 512 KiB, log chunks (about 110 KiB compressed)
/// went into the segments first and were copied out to blobs when their node was rewritten, leaving their bytes
/// behind as garbage; at 256 KiB they go straight to blobs, while families' nodes stay in the segments (a bulk load
/// of a million events: 310 → 284 bytes per event). Stores keep the size they were created with (sled refuses
/// another).
pub(crate) const SEGMENT_BYTES: usize = 256 * 1024;

/// Pages moved out of sled's half-empty segments after each write batch (when any are queued for cleaning). Left
/// to itself, sled cleans only from its flusher thread, at most one segment each half second, and a handle opened
/// after a burst of writes finds nothing queued until it has filled a segment: a day's commands in a few seconds
/// (the daily-use benchmark), or a server restarted after them, left the file to grow by what they replaced. Paced
/// by writes, the cleaning keeps up with them: the daily-use rounds at a million events went from +341 / +996 / +786
/// bytes per event of sled's data file to −79 / −524 / −288 / −345 (the bulk load's garbage cleaned as they go). The
/// cost is sled's usual one: it cleans a segment only once at most half of it is live, so each byte freed costs at
/// most one byte moved. Decision 0018. A handle's first write makes the segments it recovered cleanable (sled held
/// them back until its first write reached the disk, which a `duban` command does as it ends, so a store written only
/// through the CLI was never cleaned; decision 0024).
const CLEAN_PAGES_PER_WRITE: usize = 2;

/// While a bulk load compacts (see [`Db::compact_while_loading`]): a page moved per this many bytes written ...
const COMPACT_BYTES_PER_PAGE: usize = 4096;
/// ... and, when no segment is queued for cleaning, the emptiest one moved out if at most this percent of it is live.
const COMPACT_LIVE_PCT: usize = 85;

/// How long opening waits for a store another handle is letting go of.
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_millis(500);

/// The tree every key space lives in.
const TREE: &str = "duban";

/// A store's sled database and its one tree.
pub struct Db {
    db: sled::Db,
    tree: sled::Tree,
    /// Whether writes keep sled's file compact as they go (during bulk loads; see [`Db::compact_while_loading`]).
    compacting: std::sync::atomic::AtomicBool,
}

impl Db {
    /// Opens (or creates) the sled database at `path`. sled holds its file lock until its background flusher has
    /// let go of the file, a moment after the last handle is dropped: a store closed and reopened at once (by the
    /// same process, or the next command) may still look taken. So a taken store is retried for a short while
    /// before it is reported in use.
    ///
    /// `reads_only`: a handle for a command that only reads: sled then starts no repair of its tree's shape as it
    /// walks it (our patch, `vendor/sled/DUBAN.md`), so that such a command writes nothing to a healthy store.
    pub fn open(path: &Path, reads_only: bool) -> Result<Db> {
        let started = std::time::Instant::now();
        let segment_bytes = stored_segment_size(path).unwrap_or(SEGMENT_BYTES);
        let db = loop {
            let config = sled::Config::new()
                .path(path)
                .cache_capacity(CACHE_BYTES)
                .segment_size(segment_bytes)
                .reads_only(reads_only);
            match config.open() {
                Ok(db) => break db,
                Err(sled::Error::Io(io)) if io.to_string().contains("could not acquire lock") => {
                    if started.elapsed() > LOCK_PATIENCE {
                        return Err(StoreError::InUse { path: path.to_path_buf() });
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(other) => return Err(other.into()),
            }
        };
        let tree = db.open_tree(TREE)?;
        Ok(Db { db, tree, compacting: Default::default() })
    }

    /// Whether `path` holds a sled database at all (sled writes its `conf` file first).
    pub fn exists_at(path: &Path) -> bool {
        path.join("conf").is_file()
    }

    /// Every stored key that starts with `prefix` (tags and spacers included), for tests of the layout.
    #[cfg(test)]
    pub fn raw_keys(&self, prefix: &[u8]) -> Vec<IVec> {
        self.tree.scan_prefix(prefix).map(|entry| entry.expect("a readable key").0).collect()
    }

    /// A key space of this database's tree.
    pub fn space(&self, tag: u8) -> Space {
        Space::new(&self.tree, tag)
    }

    /// A spaced key space (see [`Space::spaced`]).
    pub fn spaced(&self, tag: u8, key_len: usize) -> Space {
        Space::spaced(&self.tree, tag, key_len)
    }

    /// Writes the guard keys between key spaces (see [`GUARDS`]) unless the store has them: at creation, and once in
    /// a store made before them (they change nothing any reader sees, so no layout changes).
    pub fn guard_spaces(&self) -> Result<()> {
        let meta = self.space(META);
        if meta.get(GUARDED_KEY)?.is_some() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for tag in GUARDED {
            for index in 0..GUARDS {
                batch.insert(vec![tag, 0xFF, 0xFF, index], Vec::new());
            }
        }
        batch.insert(meta.key(GUARDED_KEY), vec![1]);
        self.tree.apply_batch(batch)?;
        Ok(())
    }

    /// The secrets kept apart from the log (password hashes, sessions): a tree of their own, so that they share no
    /// node with the log and are never part of its chain, an export or a rebuild. Opened (and, the first time,
    /// created) only by what needs it, so that a read command still writes nothing.
    pub fn secrets(&self) -> Result<Secrets> {
        Ok(Secrets { tree: self.db.open_tree(SECRETS_TREE)? })
    }

    /// Data derived from the log that a read model keeps beside it (the search index): a tree of its own, never part
    /// of the chain, an export or a backup's check, rebuilt from the log at will. `None` while nothing was ever
    /// written to it, so that a read command opens (and so creates) nothing.
    pub fn derived(&self, create: bool) -> Result<Option<Derived>> {
        if !create && !self.db.tree_names().iter().any(|name| name.as_ref() == DERIVED_TREE.as_bytes()) {
            return Ok(None);
        }
        Ok(Some(Derived { tree: self.db.open_tree(DERIVED_TREE)? }))
    }

    /// Writes sled's buffers to its data file (with `sync_file_range`: see [`Db::files`] for what that leaves).
    pub fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }

    /// The segments sled freed inside its data file since the last call, to be given back to the file system
    /// ([`Db::give_back`]) once the file has been synced after this call (vendored sled, change 7).
    pub fn freed_segments(&self) -> sled::FreedSegments {
        self.db.freed_segments()
    }

    /// While `on`, each write batch moves pages out of sled's segments in proportion to the bytes it writes (a page
    /// per [`COMPACT_BYTES_PER_PAGE`]), and when none is queued, out of the emptiest segment at most
    /// [`COMPACT_LIVE_PCT`] live. For bulk loads: a load writes megabytes a batch, and two pages a batch (what a
    /// single command pays) left a million-event load's file 40 % larger than what it held; the moving is paid by the
    /// load, once. Single commands clean at sled's own threshold, so each pays on the order of its own writes.
    pub fn compact_while_loading(&self, on: bool) {
        self.compacting.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether a bulk load is under way (see [`Db::compact_while_loading`]).
    pub fn loading(&self) -> bool {
        self.compacting.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Punches a hole where each of `freed` lies, if sled has not used it again since: after a sync of the data
    /// file that followed [`Db::freed_segments`], so that what replaced their pages is durable first.
    pub fn give_back(&self, freed: sled::FreedSegments) {
        self.db.give_back(freed)
    }

    /// The files sled writes: its data file, the one this store must `fsync` itself (sled's `flush` only calls
    /// `sync_file_range`; the blob files and snapshots the vendored sled syncs as it writes them).
    pub fn files(path: &Path) -> SledFiles {
        SledFiles { data: path.join("db") }
    }
}

/// The tree secrets are kept in.
const SECRETS_TREE: &str = "secrets";

/// See [`Db::secrets`].
pub struct Secrets {
    tree: sled::Tree,
}

impl Secrets {
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.tree.get(key.as_bytes())?.map(|value| value.to_vec()))
    }

    /// Sets (or, with `None`, removes) a secret; durable once the store is synced.
    pub fn set(&self, key: &str, value: Option<&[u8]>) -> Result<()> {
        match value {
            Some(value) => self.tree.insert(key.as_bytes(), value)?,
            None => self.tree.remove(key.as_bytes())?,
        };
        Ok(())
    }

    /// The secrets whose keys start with `prefix`.
    pub fn with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let mut found = Vec::new();
        for entry in self.tree.scan_prefix(prefix.as_bytes()) {
            let (key, value) = entry?;
            found.push((String::from_utf8_lossy(&key).into_owned(), value.to_vec()));
        }
        Ok(found)
    }
}

/// The tree derived data is kept in.
const DERIVED_TREE: &str = "derived";

/// See [`Db::derived`].
pub struct Derived {
    tree: sled::Tree,
}

impl Derived {
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.tree.get(key)?.map(|value| value.to_vec()))
    }

    /// The keys that start with `prefix`.
    pub fn keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
        let mut keys = Vec::new();
        for key in self.tree.scan_prefix(prefix).keys() {
            keys.push(key?.to_vec());
        }
        Ok(keys)
    }

    /// Sets and removes (`None`) keys in one atomic batch.
    pub fn write(&self, changes: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<()> {
        let mut batch = sled::Batch::default();
        for (key, value) in changes {
            match value {
                Some(value) => batch.insert(key, value),
                None => batch.remove(key),
            }
        }
        self.tree.apply_batch(batch)?;
        Ok(())
    }
}

/// Where sled keeps what it writes (see [`Db::files`]).
pub struct SledFiles {
    pub data: PathBuf,
}

/// The segment size sled recorded for an existing store (in its `conf` file: `segment_size: 524288`), which it
/// must be opened with again.
pub fn stored_segment_size(path: &Path) -> Option<usize> {
    let conf = std::fs::read(path.join("conf")).ok()?;
    String::from_utf8_lossy(&conf).lines().find_map(|line| line.strip_prefix("segment_size: ")?.trim().parse().ok())
}

impl From<sled::Error> for StoreError {
    fn from(error: sled::Error) -> Self {
        match error {
            sled::Error::Io(io) => StoreError::Io(io),
            sled::Error::Corruption { at, .. } => {
                StoreError::Damaged { what: format!("sled 数据文件（位置 {at:?}）") }
            }
            other => StoreError::Engine(other.to_string()),
        }
    }
}

/// One key space: every key in it starts with `tag`, which callers never see.
#[derive(Clone)]
pub struct Space {
    tree: sled::Tree,
    tag: u8,
    /// For a spaced key space, the length of its keys (see [`Space::spaced`]).
    spaced: Option<usize>,
}

/// Empty keys written after each large value of a spaced space: one more than sled keeps in a leaf node (it splits
/// one past 16 keys), so that no node holds a large value and anything after its spacers. The keys after the last
/// full log chunk are the open run's, written by every command: with fewer spacers they shared a node with that
/// chunk, and sled rewrote the chunk with the node every tenth write to it.
const SPACERS: u8 = 17;

/// Guard keys: a run of empty keys at the end of each key space but the last, for the same reason: sled keeps keys
/// of neighbouring spaces in one node, and a node is rewritten whole. Without them the `meta` keys, which every
/// append writes, shared a node with the end of the log and the first stream-index bucket — a megabyte after one
/// large import — and each one-line command added half a megabyte to the store. A guard key is the space's tag, then
/// `0xFF 0xFF` (which no stored key of any space begins with: seqs, ids and names all begin lower), then its index.
const GUARDS: u8 = 17;

/// The key spaces that are followed by another, in key order.
const GUARDED: [u8; 3] = [FAMILIES, LOG, META];

/// The meta key that says a store's guard keys are written.
const GUARDED_KEY: &[u8] = b"guarded";

pub const LOG: u8 = b'l';
pub const STREAMS: u8 = b's';
pub const FAMILIES: u8 = b'f';
pub const META: u8 = b'm';

impl Space {
    pub fn new(tree: &sled::Tree, tag: u8) -> Space {
        Space { tree: tree.clone(), tag, spaced: None }
    }

    /// A key space whose keys are all `key_len` bytes long and whose large values are each written with [`SPACERS`]
    /// empty keys after them (the value's key and one more byte), which readers never see. sled splits a node once
    /// it holds more than sixteen keys, whatever their size, and reads a node whole: sixteen full log chunks made
    /// nodes of 1.6 MB, and reading one event read 1.6 MB. With the spacers a node holds one or two full chunks.
    /// (A value written without them only makes its node larger.)
    pub fn spaced(tree: &sled::Tree, tag: u8, key_len: usize) -> Space {
        Space { tree: tree.clone(), tag, spaced: Some(key_len) }
    }

    /// Whether a stored key (without the tag) is a spacer or a guard, which readers never see.
    fn is_spacer(&self, key: &[u8]) -> bool {
        self.spaced.is_some_and(|len| key.len() == len + 1) || key.starts_with(&[0xFF, 0xFF])
    }

    pub fn key(&self, key: &[u8]) -> Vec<u8> {
        let mut full = Vec::with_capacity(1 + key.len());
        full.push(self.tag);
        full.extend_from_slice(key);
        full
    }

    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<IVec>> {
        Ok(self.tree.get(self.key(key.as_ref()))?)
    }

    pub fn insert(&self, key: impl AsRef<[u8]>, value: impl Into<IVec>) -> Result<()> {
        self.tree.insert(self.key(key.as_ref()), value)?;
        Ok(())
    }

    #[cfg(test)]
    pub fn remove(&self, key: impl AsRef<[u8]>) -> Result<()> {
        self.tree.remove(self.key(key.as_ref()))?;
        Ok(())
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    #[cfg(test)]
    pub fn clear(&self) -> Result<()> {
        for entry in self.iter() {
            self.remove(entry?.0)?;
        }
        Ok(())
    }

    /// Keys (without the tag) and values between two bounds, in key order.
    pub fn range(
        &self,
        low: Bound<&[u8]>,
        high: Bound<&[u8]>,
    ) -> impl DoubleEndedIterator<Item = Result<(IVec, IVec)>> + use<> {
        let low = match low {
            Bound::Included(key) => Bound::Included(self.key(key)),
            Bound::Excluded(key) => Bound::Excluded(self.key(key)),
            Bound::Unbounded => Bound::Included(vec![self.tag]),
        };
        let high = match high {
            Bound::Included(key) => Bound::Included(self.key(key)),
            Bound::Excluded(key) => Bound::Excluded(self.key(key)),
            Bound::Unbounded => Bound::Excluded(vec![self.tag + 1]),
        };
        let space = self.clone();
        self.tree
            .range::<Vec<u8>, _>((low, high))
            .filter(move |entry| entry.as_ref().map_or(true, |(key, _)| !space.is_spacer(&key[1..])))
            .map(|entry| {
                let (key, value) = entry?;
                Ok((IVec::from(&key[1..]), value))
            })
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Result<(IVec, IVec)>> + use<> {
        self.range(Bound::Unbounded, Bound::Unbounded)
    }

    /// The last entry at or before `key`.
    pub fn at_or_before(&self, key: &[u8]) -> Result<Option<(IVec, IVec)>> {
        self.range(Bound::Unbounded, Bound::Included(key)).next_back().transpose()
    }
}

/// Writes gathered for one atomic batch (a key written twice keeps its last value).
#[derive(Default)]
pub struct Writes {
    pending: HashMap<Vec<u8>, Option<Vec<u8>>>,
    order: Vec<Vec<u8>>,
}

impl Writes {
    pub fn insert(&mut self, space: &Space, key: &[u8], value: Vec<u8>) {
        self.set(space.key(key), Some(value));
    }

    /// Inserts a large value of a spaced space with its spacers (see [`Space::spaced`]).
    pub fn insert_spaced(&mut self, space: &Space, key: &[u8], value: Vec<u8>) {
        self.insert(space, key, value);
        if space.spaced == Some(key.len()) {
            for index in 1..=SPACERS {
                let mut spacer = space.key(key);
                spacer.push(index);
                self.set(spacer, Some(Vec::new()));
            }
        }
    }

    pub fn remove(&mut self, space: &Space, key: &[u8]) {
        self.set(space.key(key), None);
    }

    /// What this batch writes at a key: `None` if it does not touch it, `Some(None)` if it removes it.
    pub fn pending(&self, space: &Space, key: &[u8]) -> Option<Option<&[u8]>> {
        self.pending.get(&space.key(key)).map(|value| value.as_deref())
    }

    fn set(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        if self.pending.insert(key.clone(), value).is_none() {
            self.order.push(key);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Applies every write at once.
    pub fn apply(mut self, db: &Db) -> Result<()> {
        let mut batch = sled::Batch::default();
        let mut bytes = 0;
        for key in self.order {
            bytes += key.len();
            match self.pending.remove(&key).flatten() {
                Some(value) => {
                    bytes += value.len();
                    batch.insert(key, value)
                }
                None => batch.remove(key),
            }
        }
        db.tree.apply_batch(batch)?;
        if db.loading() {
            let pages = (bytes / COMPACT_BYTES_PER_PAGE).max(CLEAN_PAGES_PER_WRITE);
            db.tree.compact_pages(pages, COMPACT_LIVE_PCT)?;
        } else {
            db.tree.clean_pages(CLEAN_PAGES_PER_WRITE)?;
        }
        Ok(())
    }
}
