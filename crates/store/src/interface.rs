//! The event log as everything above the store sees it: the one interface the application calls, whatever engine
//! keeps the log. sled is today's engine ([`SledStore`]); another (PostgreSQL) implements the same trait, and
//! nothing above this crate names an engine: front ends open a store with [`open`] or [`create`] and hold an
//! `Arc<dyn EventStore>`.
//!
//! The guarantees every engine keeps: an append of several streams is all or nothing and durable when it returns;
//! a stream at another version than the one read is a [`crate::StoreError::Conflict`]; sequence numbers have no gaps and
//! each event's hash chains to the one before; the projection (replies and commitments folded) reaches the head
//! whenever no bulk session is open.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use duban_domain::{CommitmentState, Envelope, NewEvent, ProposalState, ReplyState, StreamKind};
use ulid::Ulid;

use crate::error::Result;
use crate::postgres::PgStore;
use crate::{Family, Head, RebuildReport, Refolded, SledStore, VerifyReport};

/// One stream's part of an append: the stream, the version it was read at, and its new events in order.
pub type StreamBatch = (Ulid, u32, Vec<NewEvent>);

/// An append-only, hash-chained event log with its projection.
pub trait EventStore: Send + Sync {
    /// Where the store is, for messages (a path, or a database URL without its password).
    fn location(&self) -> String;

    /// Tells the store it serves many reads for a long time (`duban serve`): it may keep what makes later reads
    /// cheaper (the sled store: each chunk's checkpoints, see `SledStore::checkpoints`). A one-command process does
    /// not call it, and pays nothing for what it would not reuse.
    fn serve_many_reads(&self) {}

    /// The last event: its seq and hash (seq 0 and the genesis hash when empty).
    fn head(&self) -> Result<Head>;

    /// Appends to one or more streams at once, all or nothing, each still at its expected version; returns the
    /// sealed events once they are durable.
    fn append(&self, batches: Vec<StreamBatch>) -> Result<Vec<Envelope>>;

    /// The version a stream is at (0 if it has no events).
    fn stream_version(&self, stream: &Ulid) -> Result<u32>;

    /// One stream's events in order, with their hashes.
    fn read_stream(&self, stream: &Ulid) -> Result<Vec<Envelope>>;

    /// The events of several streams in log order, without hashes (for folding).
    fn read_streams_for_fold(&self, streams: &[Ulid]) -> Result<Vec<Envelope>>;

    /// The log from `from_seq` on, with hashes checked as read.
    fn read_log(&self, from_seq: u64) -> Box<dyn Iterator<Item = Result<Envelope>> + '_>;

    /// Shows `visit` the log from `from_seq` on, without hashes (for folding), until it returns `false`.
    fn scan_log(&self, from_seq: u64, visit: &mut dyn FnMut(&Envelope) -> bool) -> Result<()>;

    /// The hash of event `seq`, if the log holds it.
    fn hash_at(&self, seq: u64) -> Result<Option<String>>;

    /// Event `seq` alone, its hash checked, if the log holds it: a point read (a search hit's text), where
    /// [`EventStore::scan_log`] would start reading the log from there.
    fn event_at(&self, seq: u64) -> Result<Option<Envelope>>;

    /// A reply's projected state.
    fn reply(&self, id: &Ulid) -> Result<Option<ReplyState>>;

    /// A commitment's projected state.
    fn commitment(&self, id: &Ulid) -> Result<Option<CommitmentState>>;

    /// A proposal's projected state.
    fn proposal(&self, id: &Ulid) -> Result<Option<ProposalState>>;

    /// An account's projected state.
    fn account(&self, id: &Ulid) -> Result<Option<duban_domain::AccountState>>;

    /// The projected families (a reply and its commitments) whose reply ids fall in `from..to`, in id order.
    fn families_between(&self, from: Option<Ulid>, to: Option<Ulid>) -> Box<dyn Iterator<Item = Result<Family>> + '_>;

    /// The first and last reply ids that have a family (to split a scan of the projection between threads).
    fn family_bounds(&self) -> Result<Option<(Ulid, Ulid)>>;

    /// The one stream of `kind` (any, if `None`) whose id starts with `input`.
    fn resolve(&self, input: &str, kind: Option<StreamKind>) -> Result<Ulid>;

    /// The shortest prefix (at least six characters) that names `id` unambiguously.
    fn short_id(&self, id: &Ulid) -> Result<String>;

    /// Every reply and commitment id, sorted.
    fn all_ids(&self) -> Result<Vec<Ulid>>;

    /// Walks the whole chain; names the first broken event.
    fn verify(&self) -> Result<VerifyReport>;

    /// Folds the whole log afresh (the first half of a rebuild).
    fn refold(&self) -> Result<Refolded>;

    /// Compares a refold with the stored index and projection and writes back what differed.
    fn rebuild_from(&self, refolded: Refolded) -> Result<RebuildReport>;

    /// Closes and opens the store again if this is its only handle (to let go of whatever the engine cached of a
    /// whole-log read); otherwise hands the handle back as it is.
    fn reopen(self: Arc<Self>) -> Result<Arc<dyn EventStore>>;

    /// Writes every event as JSON Lines; returns how many.
    fn export(&self, out: &mut dyn Write) -> Result<u64>;

    /// Restores an export into this store, which must be empty.
    fn import_events(&self, file: &Path) -> Result<u64>;

    /// A secret kept apart from the log — never in its chain, an export or a rebuild: a password's hash, a session.
    fn secret(&self, key: &str) -> Result<Option<Vec<u8>>>;

    /// Sets (or, with `None`, removes) a secret, durably.
    fn set_secret(&self, key: &str, value: Option<&[u8]>) -> Result<()>;

    /// The secrets whose keys start with `prefix`.
    fn secrets_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>>;

    /// A value a read model derived from the log and keeps beside it (the search index): never part of the chain,
    /// an export or a rebuild's check of the log; whatever it holds can be derived again.
    fn derived(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// The derived keys that start with `prefix`.
    fn derived_keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>>;

    /// Sets and removes (`None`) derived values, all or nothing. Not synced by itself: a crash may lose the latest
    /// batches, never part of one.
    fn write_derived(&self, changes: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<()>;

    /// Makes what `write_derived` wrote durable (a derived write is otherwise made durable by the next append). A
    /// store whose derived writes are durable as they return (PostgreSQL's, committed) has nothing to do.
    fn sync_derived(&self) -> Result<()> {
        Ok(())
    }

    /// Holds the upkeep of the derived read models (the search index's steps) against every other process using
    /// this store, until the guard is dropped; with `wait` false, `None` if another holds it now. A sled store is
    /// held by one process, whose own lock suffices: it hands out a guard that holds nothing.
    fn lock_derived(&self, wait: bool) -> Result<Option<Box<dyn DerivedLock + '_>>> {
        let _ = wait;
        Ok(Some(Box::new(Unshared)))
    }

    /// How many stored events this handle has decoded from the log (the projection is not counted).
    fn events_read(&self) -> u64;

    /// Writes a derived file whole (see `derived_files`): after this returns it is in place, whole, and durable.
    fn write_derived_file(&self, name: &str, bytes: &[u8]) -> Result<()>;

    /// A derived file opened to be read in pieces; `None` if there is none of that name.
    fn derived_file(&self, name: &str) -> Result<Option<Arc<dyn crate::DerivedFile>>>;

    /// Removes a derived file (none of that name is no error).
    fn remove_derived_file(&self, name: &str) -> Result<()>;

    /// The names of every derived file.
    fn derived_file_names(&self) -> Result<Vec<String>>;

    /// Keeps a file (an attachment) by its content, durably before it returns, so that an event naming it may
    /// follow; returns its hex SHA-256. The same content is kept once.
    fn put_file(&self, bytes: &[u8]) -> Result<String>;

    /// The file kept under `sha256`, checked against it (a damaged copy is an error naming it); `None` if none is.
    fn file(&self, sha256: &str) -> Result<Option<Vec<u8>>>;

    /// The hashes of every file kept.
    fn file_hashes(&self) -> Result<Vec<String>>;

    /// Use [`bulk`](trait.EventStore.html#method.bulk): starts deferring the projection.
    #[doc(hidden)]
    fn begin_bulk(&self) -> Result<()>;

    /// Use [`Bulk::finish`]: writes what was deferred and stops deferring.
    #[doc(hidden)]
    fn end_bulk(&self) -> Result<()>;
}

impl dyn EventStore + '_ {
    /// Starts a bulk session: while it lasts, appends are as durable as ever but the projection is written behind,
    /// a few times instead of once per append. It ends when [`Bulk::finish`] is called or the session is dropped
    /// (an early return, a panic), so it cannot be left on.
    pub fn bulk(&self) -> Result<Bulk<'_>> {
        self.begin_bulk()?;
        Ok(Bulk { store: self, open: true })
    }
}

/// Held while a process keeps the derived read models up (see [`EventStore::lock_derived`]); let go when dropped.
pub trait DerivedLock {}

/// The guard of a store only one process opens.
struct Unshared;

impl DerivedLock for Unshared {}

/// A bulk session (see [`EventStore::bulk`](trait.EventStore.html#method.bulk)).
pub struct Bulk<'a> {
    store: &'a dyn EventStore,
    open: bool,
}

impl Bulk<'_> {
    /// Ends the session, writing the deferred projection; its error, if any, is the caller's to report (the log is
    /// intact either way, and the next open folds what the projection missed).
    pub fn finish(mut self) -> Result<()> {
        self.open = false;
        self.store.end_bulk()
    }
}

impl Drop for Bulk<'_> {
    fn drop(&mut self) {
        if self.open {
            // Nothing to report to: what is not written now is folded from the log by the next open.
            let _ = self.store.end_bulk();
        }
    }
}

/// The database URL `location` holds, if it names a PostgreSQL database (`postgres://…`) rather than a folder.
fn database(location: &Path) -> Option<&str> {
    location.to_str().filter(|_| crate::postgres::is_url(location))
}

/// Whether `location` names a database rather than a folder on this machine (a server then leaves no address
/// file beside it, and several processes may open it at once).
pub fn is_database(location: &Path) -> bool {
    database(location).is_some()
}

/// Opens the store at `location`: a folder (sled) or a `postgres://` URL.
pub fn open(location: &Path) -> Result<Arc<dyn EventStore>> {
    match database(location) {
        Some(url) => Ok(Arc::new(PgStore::open(url)?)),
        None => Ok(Arc::new(SledStore::open(location)?)),
    }
}

/// Opens the store at `location` for a command that only reads: on a healthy store, nothing is written or synced.
pub fn open_reading(location: &Path) -> Result<Arc<dyn EventStore>> {
    match database(location) {
        Some(url) => Ok(Arc::new(PgStore::open(url)?)),
        None => Ok(Arc::new(SledStore::open_reading(location)?)),
    }
}

/// Restores an export into a new store at `location` (or in place of an empty one), all or nothing: returns the
/// store and how many events it holds.
pub fn restore(location: &Path, file: &Path) -> Result<(Arc<dyn EventStore>, u64)> {
    match database(location) {
        Some(url) => {
            let (store, count) = PgStore::restore(url, file)?;
            Ok((Arc::new(store), count))
        }
        None => {
            let (store, count) = SledStore::restore(location, file)?;
            Ok((Arc::new(store), count))
        }
    }
}

/// Creates a new, empty store at `location`.
pub fn create(location: &Path) -> Result<Arc<dyn EventStore>> {
    match database(location) {
        Some(url) => Ok(Arc::new(PgStore::create(url)?)),
        None => Ok(Arc::new(SledStore::create(location)?)),
    }
}

impl EventStore for SledStore {
    fn location(&self) -> String {
        self.path().display().to_string()
    }

    fn serve_many_reads(&self) {
        self.remember_chunks.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    fn head(&self) -> Result<Head> {
        SledStore::head(self)
    }

    fn append(&self, batches: Vec<StreamBatch>) -> Result<Vec<Envelope>> {
        self.append_streams(batches)
    }

    fn stream_version(&self, stream: &Ulid) -> Result<u32> {
        SledStore::stream_version(self, stream)
    }

    fn read_stream(&self, stream: &Ulid) -> Result<Vec<Envelope>> {
        SledStore::read_stream(self, stream)
    }

    fn read_streams_for_fold(&self, streams: &[Ulid]) -> Result<Vec<Envelope>> {
        SledStore::read_streams_for_fold(self, streams)
    }

    fn read_log(&self, from_seq: u64) -> Box<dyn Iterator<Item = Result<Envelope>> + '_> {
        Box::new(self.read_all(from_seq))
    }

    fn scan_log(&self, from_seq: u64, visit: &mut dyn FnMut(&Envelope) -> bool) -> Result<()> {
        SledStore::scan_log(self, from_seq, visit)
    }

    fn hash_at(&self, seq: u64) -> Result<Option<String>> {
        SledStore::hash_at(self, seq)
    }

    fn event_at(&self, seq: u64) -> Result<Option<Envelope>> {
        SledStore::event_at(self, seq)
    }

    fn reply(&self, id: &Ulid) -> Result<Option<ReplyState>> {
        SledStore::reply(self, id)
    }

    fn commitment(&self, id: &Ulid) -> Result<Option<CommitmentState>> {
        SledStore::commitment(self, id)
    }

    fn proposal(&self, id: &Ulid) -> Result<Option<ProposalState>> {
        SledStore::proposal(self, id)
    }

    fn account(&self, id: &Ulid) -> Result<Option<duban_domain::AccountState>> {
        SledStore::account(self, id)
    }

    fn families_between(&self, from: Option<Ulid>, to: Option<Ulid>) -> Box<dyn Iterator<Item = Result<Family>> + '_> {
        Box::new(SledStore::families_between(self, from, to))
    }

    fn family_bounds(&self) -> Result<Option<(Ulid, Ulid)>> {
        SledStore::family_bounds(self)
    }

    fn resolve(&self, input: &str, kind: Option<StreamKind>) -> Result<Ulid> {
        match kind {
            Some(StreamKind::Reply) => self.resolve_reply(input),
            Some(StreamKind::Commitment) => self.resolve_commitment(input),
            Some(StreamKind::Proposal) => self.resolve_proposal(input),
            Some(StreamKind::Account) => Err(crate::StoreError::Domain(duban_domain::DomainError::UnknownId {
                what: "账户",
                prefix: input.to_string(),
            })),
            None => self.resolve_stream(input),
        }
    }

    fn short_id(&self, id: &Ulid) -> Result<String> {
        SledStore::short_id(self, id)
    }

    fn all_ids(&self) -> Result<Vec<Ulid>> {
        SledStore::all_ids(self)
    }

    fn verify(&self) -> Result<VerifyReport> {
        SledStore::verify(self)
    }

    fn refold(&self) -> Result<Refolded> {
        SledStore::refold(self)
    }

    fn rebuild_from(&self, refolded: Refolded) -> Result<RebuildReport> {
        SledStore::rebuild_from(self, refolded)
    }

    fn reopen(self: Arc<Self>) -> Result<Arc<dyn EventStore>> {
        match Arc::try_unwrap(self) {
            Ok(store) => Ok(Arc::new(store.reopen()?)),
            Err(shared) => Ok(shared),
        }
    }

    fn export(&self, out: &mut dyn Write) -> Result<u64> {
        SledStore::export(self, out)
    }

    fn import_events(&self, file: &Path) -> Result<u64> {
        SledStore::import_events(self, file)
    }

    fn secret(&self, key: &str) -> Result<Option<Vec<u8>>> {
        SledStore::secret(self, key)
    }

    fn set_secret(&self, key: &str, value: Option<&[u8]>) -> Result<()> {
        SledStore::set_secret(self, key, value)
    }

    fn secrets_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        SledStore::secrets_with_prefix(self, prefix)
    }

    fn derived(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        SledStore::derived(self, key)
    }

    fn derived_keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
        SledStore::derived_keys(self, prefix)
    }

    fn write_derived(&self, changes: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<()> {
        SledStore::write_derived(self, changes)
    }

    fn sync_derived(&self) -> Result<()> {
        SledStore::sync(self)
    }

    fn events_read(&self) -> u64 {
        SledStore::events_read(self)
    }

    fn write_derived_file(&self, name: &str, bytes: &[u8]) -> Result<()> {
        crate::derived_files::write(self.path(), name, bytes)
    }

    fn derived_file(&self, name: &str) -> Result<Option<Arc<dyn crate::DerivedFile>>> {
        crate::derived_files::open(self.path(), name)
    }

    fn remove_derived_file(&self, name: &str) -> Result<()> {
        crate::derived_files::remove(self.path(), name)
    }

    fn derived_file_names(&self) -> Result<Vec<String>> {
        crate::derived_files::names(self.path())
    }

    fn put_file(&self, bytes: &[u8]) -> Result<String> {
        crate::files::put(self.path(), bytes)
    }

    fn file(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        crate::files::get(self.path(), sha256)
    }

    fn file_hashes(&self) -> Result<Vec<String>> {
        crate::files::hashes(self.path())
    }

    fn begin_bulk(&self) -> Result<()> {
        self.write_behind(true)
    }

    fn end_bulk(&self) -> Result<()> {
        self.write_behind(false)
    }
}
