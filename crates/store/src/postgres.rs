//! The event log on PostgreSQL (`--store postgres://…`): for a register past one machine, where the database already
//! does replication, point-in-time recovery and failover, and several `duban serve` processes share one log
//! (docs/postgres.md, decision 0017).
//!
//! One row per event, keeping the record sled's log keeps (its hash, then its compact tail: see `chain`), so the
//! chain and `verify` are the same bytes on both engines. What each guarantee rests on:
//! - **Gapless seq in commit order**: every append locks the one row of `duban_head` (`SELECT … FOR UPDATE`), takes
//!   the next seqs from it and writes it back in the same transaction. Appends are serialised, so a seq is never
//!   skipped by a rollback nor committed after a later one (a sequence or identity column gives both).
//! - **Optimistic concurrency per stream**: a stream's version is read under that lock and checked against the
//!   expected one; `UNIQUE (stream, version)` stands behind it.
//! - **All or nothing, durable on return**: the events, the stream index, the touched families (the projection) and
//!   the head are written in one transaction, committed with the server's `synchronous_commit` (on by default).
//! - **Several processes**: nothing of the register is cached here; every read asks the database, so each process
//!   sees the others' writes as soon as they commit (the application's long-lived read model follows the log from
//!   the seq it last read).
//!
//! The schema is created by `duban init` and versioned in `duban_meta` (`migration`); opening a store applies the
//! migrations a newer duban added, under an advisory lock, and refuses a database a newer duban migrated.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use duban_domain::{CommitmentState, Envelope, Folded, IdMap, ProposalState, ReplyState, StreamKind};
use postgres::{Client, NoTls, Transaction};
use ulid::Ulid;

use crate::chain;
use crate::error::{Result, StoreError};
use crate::index::{kind_byte, kind_from_byte, Family, StoredFamily, StreamEntry};
use crate::interface::{DerivedLock, EventStore, StreamBatch};
use crate::verify::{compare, wanted_projection, Expected};
use crate::{DerivedFile, Difference, Head, RebuildReport, Refolded, VerifyReport, GENESIS};

/// The schema, one migration after another; `duban_meta.migration` says how many a database has had.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE duban_meta (key text COLLATE "C" PRIMARY KEY, value text NOT NULL);
CREATE TABLE duban_head (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq bigint NOT NULL,
    hash text NOT NULL
);
INSERT INTO duban_head (seq, hash) VALUES (0, '0000000000000000000000000000000000000000000000000000000000000000');
CREATE TABLE duban_events (
    seq bigint PRIMARY KEY,
    stream text COLLATE "C" NOT NULL,
    version integer NOT NULL,
    record bytea NOT NULL,
    UNIQUE (stream, version)
);
CREATE TABLE duban_streams (id text COLLATE "C" PRIMARY KEY, kind smallint NOT NULL, family text COLLATE "C" NOT NULL);
CREATE TABLE duban_families (id text COLLATE "C" PRIMARY KEY, state bytea NOT NULL);
CREATE TABLE duban_secrets (key text COLLATE "C" PRIMARY KEY, value bytea NOT NULL);
CREATE TABLE duban_derived (key bytea PRIMARY KEY, value bytea NOT NULL);
CREATE TABLE duban_derived_files (name text COLLATE "C" PRIMARY KEY, body bytea NOT NULL);
ALTER TABLE duban_derived_files ALTER COLUMN body SET STORAGE EXTERNAL;
CREATE TABLE duban_files (sha256 text COLLATE "C" PRIMARY KEY, body bytea NOT NULL);
"#];

/// The advisory lock key that serialises `init` and migrations (any number, the same in every duban).
const SCHEMA_LOCK: i64 = 0x6475_6261_6e00_0001;
/// The advisory lock key of the derived read models' upkeep (see [`EventStore::lock_derived`]).
const DERIVED_LOCK: i64 = 0x6475_6261_6e00_0002;

/// Events read per query when the log is read in order.
const PAGE: i64 = 5_000;
/// Families read per query by a scan of the projection.
const FAMILY_PAGE: i64 = 1_000;
/// Events inserted per statement by a restore.
const RESTORE_BATCH: usize = 5_000;
/// Connections one process opens at most; more callers wait for one.
const CONNECTIONS: usize = 16;

/// Whether `location` names a PostgreSQL database rather than a folder.
pub fn is_url(location: &Path) -> bool {
    location.to_str().is_some_and(|text| text.starts_with("postgres://") || text.starts_with("postgresql://"))
}

/// The URL without its password, for messages.
fn shown(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let user = rest[..at].split(':').next().unwrap_or_default();
            format!("{scheme}://{user}@{}", &rest[at + 1..])
        }
        None => url.to_string(),
    }
}

/// What went wrong, as PostgreSQL said it (its message and SQLSTATE), or as the client saw it.
fn detail(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{}（{}）", db.message(), db.code().code()),
        None => match std::error::Error::source(error) {
            Some(source) => format!("{error}：{source}"),
            None => error.to_string(),
        },
    }
}

fn engine(location: &str, error: postgres::Error) -> StoreError {
    StoreError::Engine(format!("PostgreSQL {location}：{}", detail(&error)))
}

/// The few connections a process keeps open, handed to one caller at a time.
struct Pool {
    config: postgres::Config,
    shown: String,
    idle: Mutex<(Vec<Client>, usize)>,
    freed: Condvar,
}

struct Conn<'a> {
    client: Option<Client>,
    pool: &'a Pool,
}

impl Pool {
    fn get(&self) -> Result<Conn<'_>> {
        let mut idle = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        loop {
            if let Some(client) = idle.0.pop() {
                return Ok(Conn { client: Some(client), pool: self });
            }
            if idle.1 < CONNECTIONS {
                idle.1 += 1;
                drop(idle);
                return match self.config.connect(NoTls) {
                    Ok(client) => Ok(Conn { client: Some(client), pool: self }),
                    Err(error) => {
                        self.release(None);
                        Err(StoreError::Engine(format!("无法连接 PostgreSQL {}：{}", self.shown, detail(&error))))
                    }
                };
            }
            idle = self.freed.wait(idle).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    fn release(&self, client: Option<Client>) {
        let mut idle = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match client.filter(|client| !client.is_closed()) {
            Some(client) => idle.0.push(client),
            None => idle.1 -= 1,
        }
        self.freed.notify_one();
    }

    fn err(&self) -> impl Fn(postgres::Error) -> StoreError + '_ {
        |error| engine(&self.shown, error)
    }
}

impl Drop for Pool {
    /// Closing a connection blocks on the `postgres` crate's own runtime, which cannot start inside another (a
    /// server drops its store on an async thread): the connections are closed on a thread of their own.
    fn drop(&mut self) {
        let clients = std::mem::take(&mut self.idle.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner()).0);
        if !clients.is_empty() {
            let _ = std::thread::spawn(move || drop(clients)).join();
        }
    }
}

impl std::ops::Deref for Conn<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().expect("held until dropped")
    }
}

impl std::ops::DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("held until dropped")
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        self.pool.release(self.client.take());
    }
}

/// The event log in a PostgreSQL database.
pub struct PgStore {
    pool: Arc<Pool>,
    events_read: AtomicU64,
}

fn id_text(id: &Ulid) -> String {
    id.to_string()
}

fn parse_id(text: &str) -> Result<Ulid> {
    Ulid::from_string(text).map_err(|_| StoreError::Damaged { what: format!("表中的编号 {text} 无效") })
}

fn kind_number(kind: StreamKind) -> i16 {
    i16::from(kind_byte(kind))
}

fn genesis() -> [u8; 32] {
    chain::unhex(GENESIS).unwrap_or_default()
}

impl PgStore {
    fn connect(url: &str) -> Result<PgStore> {
        let shown = shown(url);
        let config: postgres::Config =
            url.parse().map_err(|error| StoreError::Engine(format!("PostgreSQL 地址 {shown} 无效：{error}")))?;
        let pool = Pool { config, shown, idle: Mutex::new((Vec::new(), 0)), freed: Condvar::new() };
        Ok(PgStore { pool: Arc::new(pool), events_read: AtomicU64::new(0) })
    }

    fn not_found(&self) -> StoreError {
        StoreError::NotFound { path: self.pool.shown.clone().into() }
    }

    /// Creates duban's tables in the database at `url`, which must not hold them yet.
    pub fn create(url: &str) -> Result<PgStore> {
        let store = PgStore::connect(url)?;
        {
            let mut conn = store.pool.get()?;
            let err = store.pool.err();
            let mut tx = conn.transaction().map_err(&err)?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK]).map_err(&err)?;
            if store.migration(&mut tx)?.is_some() {
                return Err(StoreError::AlreadyExists { path: store.pool.shown.clone().into() });
            }
            for migration in MIGRATIONS {
                tx.batch_execute(migration).map_err(&err)?;
            }
            tx.execute(
                "INSERT INTO duban_meta (key, value) VALUES ('migration', $1)",
                &[&MIGRATIONS.len().to_string()],
            )
            .map_err(&err)?;
            tx.commit().map_err(&err)?;
        }
        Ok(store)
    }

    /// Opens the store in the database at `url`, bringing its schema up to this duban's.
    pub fn open(url: &str) -> Result<PgStore> {
        let store = PgStore::connect(url)?;
        {
            let mut conn = store.pool.get()?;
            let err = store.pool.err();
            let found = store.migration(&mut conn.transaction().map_err(&err)?)?;
            if found != Some(MIGRATIONS.len()) {
                let mut tx = conn.transaction().map_err(&err)?;
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK]).map_err(&err)?;
                let Some(found) = store.migration(&mut tx)? else { return Err(store.not_found()) };
                if found > MIGRATIONS.len() {
                    return Err(StoreError::Engine(format!(
                        "PostgreSQL {} 的表结构由更新版本的 duban 迁移过（第 {found} 版，本程序只认得 {} 版）：请升级 duban",
                        store.pool.shown,
                        MIGRATIONS.len()
                    )));
                }
                for migration in &MIGRATIONS[found..] {
                    tx.batch_execute(migration).map_err(&err)?;
                }
                tx.execute(
                    "UPDATE duban_meta SET value = $1 WHERE key = 'migration'",
                    &[&MIGRATIONS.len().to_string()],
                )
                .map_err(&err)?;
                tx.commit().map_err(&err)?;
            }
        }
        Ok(store)
    }

    /// Restores an export into the database at `url`: into its empty store, or a new one. The events, the index and
    /// the projection are written in one transaction, so a restore cut short leaves the store empty.
    pub fn restore(url: &str, file: &Path) -> Result<(PgStore, u64)> {
        let store = match PgStore::open(url) {
            Ok(store) => store,
            Err(StoreError::NotFound { .. }) => PgStore::create(url)?,
            Err(error) => return Err(error),
        };
        let count = store.import_events(file)?;
        Ok((store, count))
    }

    /// How many migrations the database has had (`None`: no duban tables).
    fn migration(&self, tx: &mut Transaction) -> Result<Option<usize>> {
        let err = self.pool.err();
        let exists: bool = tx.query_one("SELECT to_regclass('duban_meta') IS NOT NULL", &[]).map_err(&err)?.get(0);
        if !exists {
            return Ok(None);
        }
        let row = tx.query_opt("SELECT value FROM duban_meta WHERE key = 'migration'", &[]).map_err(&err)?;
        let value: String = row.ok_or_else(|| StoreError::NotAStore { path: self.pool.shown.clone().into() })?.get(0);
        value.parse().map(Some).map_err(|_| StoreError::NotAStore { path: self.pool.shown.clone().into() })
    }

    fn read_head(&self, client: &mut impl postgres::GenericClient, lock: bool) -> Result<Head> {
        let query =
            if lock { "SELECT seq, hash FROM duban_head FOR UPDATE" } else { "SELECT seq, hash FROM duban_head" };
        let row = client.query_one(query, &[]).map_err(self.pool.err())?;
        Ok(Head { seq: row.get::<_, i64>(0) as u64, hash: row.get(1) })
    }

    /// Events `from..=to` as stored rows, in order, checked to have no gap.
    fn rows(&self, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>> {
        let mut conn = self.pool.get()?;
        let rows = conn
            .query(
                "SELECT seq, record FROM duban_events WHERE seq >= $1 AND seq <= $2 ORDER BY seq",
                &[&(from as i64), &(to as i64)],
            )
            .map_err(self.pool.err())?;
        let mut out = Vec::with_capacity(rows.len());
        for (expected, row) in (from..).zip(rows) {
            let seq = row.get::<_, i64>(0) as u64;
            if seq != expected {
                return Err(StoreError::Corrupt {
                    seq: expected,
                    reason: format!("日志中缺少此事件（其后存有第 {seq} 条）"),
                });
            }
            out.push((seq, row.get(1)));
        }
        Ok(out)
    }

    /// The full hash of the record before `seq` (the genesis hash before seq 1), as stored.
    fn hash_before(&self, seq: u64) -> Result<[u8; 32]> {
        if seq <= 1 {
            return Ok(genesis());
        }
        let mut conn = self.pool.get()?;
        let row = conn
            .query_opt("SELECT substring(record from 1 for 32) FROM duban_events WHERE seq = $1", &[&(seq as i64 - 1)])
            .map_err(self.pool.err())?;
        let bytes: Vec<u8> =
            row.ok_or_else(|| StoreError::Corrupt { seq: seq - 1, reason: "日志中缺少此事件".into() })?.get(0);
        bytes.try_into().map_err(|_| StoreError::Corrupt { seq: seq - 1, reason: "记录过短".into() })
    }

    fn decode_checked(&self, seq: u64, prev: &[u8; 32], record: &[u8]) -> Result<Envelope> {
        chain::chained_full(seq, prev, record)?;
        self.events_read.fetch_add(1, Ordering::Relaxed);
        chain::decode(seq, prev, record)
    }

    fn family_of_entry(&self, id: &Ulid, kind: StreamKind) -> Result<Option<Family>> {
        let mut conn = self.pool.get()?;
        let row = conn
            .query_opt(
                "SELECT s.family, f.state FROM duban_streams s JOIN duban_families f ON f.id = s.family \
                 WHERE s.id = $1 AND s.kind = $2",
                &[&id_text(id), &kind_number(kind)],
            )
            .map_err(self.pool.err())?;
        let Some(row) = row else { return Ok(None) };
        let family = parse_id(row.get(0))?;
        crate::decode_family(&family, row.get(1)).map(Some)
    }

    /// Writes rows of events with one statement.
    fn insert_events(&self, tx: &mut Transaction, rows: &[(i64, String, i32, Vec<u8>)]) -> Result<()> {
        let seqs: Vec<i64> = rows.iter().map(|row| row.0).collect();
        let streams: Vec<&str> = rows.iter().map(|row| row.1.as_str()).collect();
        let versions: Vec<i32> = rows.iter().map(|row| row.2).collect();
        let records: Vec<&[u8]> = rows.iter().map(|row| row.3.as_slice()).collect();
        tx.execute(
            "INSERT INTO duban_events (seq, stream, version, record) \
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::integer[], $4::bytea[])",
            &[&seqs, &streams, &versions, &records],
        )
        .map_err(self.pool.err())?;
        Ok(())
    }

    fn write_streams(&self, tx: &mut Transaction, entries: &[(Ulid, StreamEntry)]) -> Result<()> {
        for batch in entries.chunks(RESTORE_BATCH) {
            let ids: Vec<String> = batch.iter().map(|(id, _)| id_text(id)).collect();
            let kinds: Vec<i16> = batch.iter().map(|(_, entry)| kind_number(entry.kind)).collect();
            let families: Vec<String> = batch.iter().map(|(_, entry)| id_text(&entry.family)).collect();
            tx.execute(
                "INSERT INTO duban_streams (id, kind, family) \
                 SELECT * FROM unnest($1::text[], $2::smallint[], $3::text[]) \
                 ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, family = EXCLUDED.family",
                &[&ids, &kinds, &families],
            )
            .map_err(self.pool.err())?;
        }
        Ok(())
    }

    fn write_families(&self, tx: &mut Transaction, families: &[(Ulid, Vec<u8>)]) -> Result<()> {
        for batch in families.chunks(1_000) {
            let ids: Vec<String> = batch.iter().map(|(id, _)| id_text(id)).collect();
            let states: Vec<&[u8]> = batch.iter().map(|(_, state)| state.as_slice()).collect();
            tx.execute(
                "INSERT INTO duban_families (id, state) SELECT * FROM unnest($1::text[], $2::bytea[]) \
                 ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state",
                &[&ids, &states],
            )
            .map_err(self.pool.err())?;
        }
        Ok(())
    }

    /// Shows `visit` the events `from..=to` decoded for folding, a page at a time, each one's hash checked against
    /// the one before (a fold never uses an event the chain disowns).
    fn scan(&self, from: u64, to: u64, visit: &mut dyn FnMut(Envelope) -> Result<bool>) -> Result<()> {
        let mut at = from.max(1);
        let mut prev = if at <= to { self.hash_before(at)? } else { genesis() };
        while at <= to {
            let last = (at + PAGE as u64 - 1).min(to);
            let rows = self.rows(at, last)?;
            if rows.len() as u64 != last - at + 1 {
                let missing = at + rows.len() as u64;
                return Err(StoreError::Corrupt { seq: missing, reason: "日志中缺少此事件".into() });
            }
            for (seq, record) in rows {
                self.events_read.fetch_add(1, Ordering::Relaxed);
                prev = chain::chained_full(seq, &prev, &record)?;
                if !visit(chain::decode_for_fold(seq, &record)?)? {
                    return Ok(());
                }
            }
            at = last + 1;
        }
        Ok(())
    }
}

/// Reads the log in order with each hash checked, a page at a time.
struct LogReader<'a> {
    store: &'a PgStore,
    next: u64,
    to: u64,
    prev: Option<[u8; 32]>,
    page: std::vec::IntoIter<(u64, Vec<u8>)>,
    failed: bool,
}

impl Iterator for LogReader<'_> {
    type Item = Result<Envelope>;

    fn next(&mut self) -> Option<Result<Envelope>> {
        if self.failed {
            return None;
        }
        let mut step = || -> Result<Option<Envelope>> {
            let prev = match self.prev {
                Some(prev) => prev,
                None => *self.prev.insert(self.store.hash_before(self.next)?),
            };
            let (seq, record) = match self.page.next() {
                Some(row) => row,
                None => {
                    if self.next > self.to {
                        return Ok(None);
                    }
                    let last = (self.next + PAGE as u64 - 1).min(self.to);
                    self.page = self.store.rows(self.next, last)?.into_iter();
                    match self.page.next() {
                        Some(row) => row,
                        None => {
                            return Err(StoreError::Corrupt {
                                seq: self.next, reason: "日志中缺少此事件".into()
                            })
                        }
                    }
                }
            };
            if seq != self.next {
                return Err(StoreError::Corrupt { seq: self.next, reason: "日志中缺少此事件".into() });
            }
            let envelope = self.store.decode_checked(seq, &prev, &record)?;
            self.prev = Some(chain::full_hash(&record));
            self.next = seq + 1;
            Ok(Some(envelope))
        };
        match step() {
            Ok(found) => found.map(Ok),
            Err(error) => {
                self.failed = true;
                Some(Err(error))
            }
        }
    }
}

/// The projection's families in id order, a page at a time.
struct FamilyReader<'a> {
    store: &'a PgStore,
    from: Option<String>,
    to: Option<String>,
    after: Option<String>,
    page: std::vec::IntoIter<(String, Vec<u8>)>,
    done: bool,
}

impl Iterator for FamilyReader<'_> {
    type Item = Result<Family>;

    fn next(&mut self) -> Option<Result<Family>> {
        loop {
            if let Some((id, state)) = self.page.next() {
                self.after = Some(id.clone());
                return Some(parse_id(&id).and_then(|id| crate::decode_family(&id, &state)));
            }
            if self.done {
                return None;
            }
            let fetched = (|| -> Result<Vec<(String, Vec<u8>)>> {
                let mut conn = self.store.pool.get()?;
                let rows = conn
                    .query(
                        "SELECT id, state FROM duban_families WHERE ($1::text IS NULL OR id >= $1) \
                         AND ($2::text IS NULL OR id < $2) AND ($3::text IS NULL OR id > $3) ORDER BY id LIMIT $4",
                        &[&self.from, &self.to, &self.after, &FAMILY_PAGE],
                    )
                    .map_err(self.store.pool.err())?;
                Ok(rows.into_iter().map(|row| (row.get(0), row.get(1))).collect())
            })();
            match fetched {
                Ok(rows) => {
                    self.done = (rows.len() as i64) < FAMILY_PAGE;
                    self.page = rows.into_iter();
                }
                Err(error) => {
                    self.done = true;
                    return Some(Err(error));
                }
            }
        }
    }
}

/// A derived file in `duban_derived_files`, read in pieces (`substring` of an uncompressed, out-of-line value
/// reads only the pages it needs).
struct PgFile {
    pool: Arc<Pool>,
    name: String,
    len: u64,
}

impl DerivedFile for PgFile {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>> {
        let short = || StoreError::Damaged { what: format!("派生文件 {} 比应有的短", self.name) };
        if offset + len as u64 > self.len {
            return Err(short());
        }
        // A bytea holds at most 1 GB, so both fit.
        let (from, count) = (offset as i32 + 1, len as i32);
        let mut conn = self.pool.get()?;
        let row = conn
            .query_opt(
                "SELECT substring(body from $2 for $3) FROM duban_derived_files WHERE name = $1",
                &[&self.name, &from, &count],
            )
            .map_err(self.pool.err())?;
        let bytes: Vec<u8> =
            row.ok_or_else(|| StoreError::Damaged { what: format!("派生文件 {} 已不在", self.name) })?.get(0);
        if bytes.len() != len {
            return Err(short());
        }
        Ok(bytes)
    }
}

/// The derived lock held on a connection of its own (a session-level advisory lock, let go as it is dropped).
struct PgDerivedLock<'a> {
    conn: Option<Conn<'a>>,
}

impl DerivedLock for PgDerivedLock<'_> {}

impl Drop for PgDerivedLock<'_> {
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            // Should the unlock fail, the connection is closed (its session, and the lock with it, ends) rather than
            // handed out still holding the lock; the pool counts it gone as `conn` is dropped.
            if conn.execute("SELECT pg_advisory_unlock($1)", &[&DERIVED_LOCK]).is_err() {
                drop(conn.client.take());
            }
        }
    }
}

impl EventStore for PgStore {
    fn location(&self) -> String {
        self.pool.shown.clone()
    }

    fn head(&self) -> Result<Head> {
        let mut conn = self.pool.get()?;
        self.read_head(&mut *conn, false)
    }

    fn append(&self, batches: Vec<StreamBatch>) -> Result<Vec<Envelope>> {
        crate::check_batches(&batches)?;
        let mut conn = self.pool.get()?;
        let err = self.pool.err();
        let mut tx = conn.transaction().map_err(&err)?;
        let mut head = self.read_head(&mut tx, true)?;
        // Every stream's index entry and version, then every touched family: three queries, however many streams.
        let ids: Vec<String> = batches.iter().map(|(stream, _, _)| id_text(stream)).collect();
        let mut entries: HashMap<Ulid, StreamEntry> = HashMap::new();
        for row in tx.query("SELECT id, kind, family FROM duban_streams WHERE id = ANY($1)", &[&ids]).map_err(&err)? {
            let stream = parse_id(row.get(0))?;
            let kind = u8::try_from(row.get::<_, i16>(1)).ok().and_then(kind_from_byte);
            let kind = kind.ok_or_else(|| StoreError::Damaged { what: format!("流 {stream} 的索引条目") })?;
            entries.insert(stream, StreamEntry { kind, family: parse_id(row.get(2))? });
        }
        let mut versions: HashMap<Ulid, u32> = HashMap::new();
        let query = "SELECT stream, max(version) FROM duban_events WHERE stream = ANY($1) GROUP BY stream";
        for row in tx.query(query, &[&ids]).map_err(&err)? {
            versions.insert(parse_id(row.get(0))?, row.get::<_, i32>(1) as u32);
        }
        let mut sealed: Vec<Envelope> = Vec::new();
        let mut rows = Vec::new();
        for (stream, expected_version, events) in &batches {
            let (stream, expected_version) = (*stream, *expected_version);
            let actual = versions.get(&stream).copied().unwrap_or(0);
            if actual != expected_version {
                return Err(StoreError::Conflict { stream, expected: expected_version, actual });
            }
            if entries.get(&stream).is_some_and(|entry| entry.kind != events[0].event.stream_kind()) {
                return Err(StoreError::BadAppend { stream, reason: "该流属于另一种类".into() });
            }
            for (offset, new) in events.iter().enumerate() {
                let mut envelope =
                    new.clone().sealed(head.seq + 1, actual + offset as u32 + 1, head.hash.clone(), String::new());
                let (record, hash) = chain::encode(&envelope);
                envelope.hash = hash;
                head = Head { seq: envelope.seq, hash: envelope.hash.clone() };
                rows.push((envelope.seq as i64, id_text(&stream), envelope.version as i32, record));
                sealed.push(envelope);
            }
        }
        // The projection: the streams this append opens get their entries; each touched family is read once,
        // folded, written once.
        let mut opened: Vec<(Ulid, StreamEntry)> = Vec::new();
        for envelope in &sealed {
            if let std::collections::hash_map::Entry::Vacant(slot) = entries.entry(envelope.stream) {
                let entry = StreamEntry::opened_by(envelope);
                slot.insert(entry);
                opened.push((envelope.stream, entry));
            }
        }
        let mut wanted: Vec<String> =
            sealed.iter().map(|envelope| id_text(&entries[&envelope.stream].family)).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut families: HashMap<Ulid, StoredFamily> = HashMap::new();
        for row in tx.query("SELECT id, state FROM duban_families WHERE id = ANY($1)", &[&wanted]).map_err(&err)? {
            let id = parse_id(row.get(0))?;
            families.insert(id, StoredFamily::parse(row.get(1)).ok_or_else(|| crate::bad_family(&id))?);
        }
        for envelope in &sealed {
            let id = entries[&envelope.stream].family;
            let family = families.entry(id).or_insert_with(StoredFamily::new);
            family.apply(envelope).ok_or_else(|| crate::bad_family(&id))?;
        }
        self.insert_events(&mut tx, &rows)?;
        self.write_streams(&mut tx, &opened)?;
        let states: Vec<(Ulid, Vec<u8>)> = families.iter().map(|(id, family)| (*id, family.to_bytes())).collect();
        self.write_families(&mut tx, &states)?;
        tx.execute("UPDATE duban_head SET seq = $1, hash = $2", &[&(head.seq as i64), &head.hash]).map_err(&err)?;
        tx.commit().map_err(&err)?;
        Ok(sealed)
    }

    fn stream_version(&self, stream: &Ulid) -> Result<u32> {
        let mut conn = self.pool.get()?;
        let version: i32 = conn
            .query_one("SELECT coalesce(max(version), 0) FROM duban_events WHERE stream = $1", &[&id_text(stream)])
            .map_err(self.pool.err())?
            .get(0);
        Ok(version as u32)
    }

    fn read_stream(&self, stream: &Ulid) -> Result<Vec<Envelope>> {
        let mut conn = self.pool.get()?;
        let rows = conn
            .query(
                "SELECT e.seq, e.record, substring(p.record from 1 for 32) FROM duban_events e \
                 LEFT JOIN duban_events p ON p.seq = e.seq - 1 WHERE e.stream = $1 ORDER BY e.version",
                &[&id_text(stream)],
            )
            .map_err(self.pool.err())?;
        drop(conn);
        let mut events = Vec::with_capacity(rows.len());
        for row in rows {
            let seq = row.get::<_, i64>(0) as u64;
            let prev = match row.get::<_, Option<Vec<u8>>>(2) {
                Some(bytes) => {
                    bytes.try_into().map_err(|_| StoreError::Corrupt { seq: seq - 1, reason: "记录过短".into() })?
                }
                None if seq == 1 => genesis(),
                None => return Err(StoreError::Corrupt { seq: seq - 1, reason: "日志中缺少此事件".into() }),
            };
            events.push(self.decode_checked(seq, &prev, row.get(1))?);
        }
        Ok(events)
    }

    fn read_streams_for_fold(&self, streams: &[Ulid]) -> Result<Vec<Envelope>> {
        let ids: Vec<String> = streams.iter().map(id_text).collect();
        let mut conn = self.pool.get()?;
        let rows = conn
            .query("SELECT seq, record FROM duban_events WHERE stream = ANY($1) ORDER BY seq", &[&ids])
            .map_err(self.pool.err())?;
        drop(conn);
        self.events_read.fetch_add(rows.len() as u64, Ordering::Relaxed);
        rows.iter().map(|row| chain::decode_for_fold(row.get::<_, i64>(0) as u64, row.get(1))).collect()
    }

    fn read_log(&self, from_seq: u64) -> Box<dyn Iterator<Item = Result<Envelope>> + '_> {
        let from = from_seq.max(1);
        match self.head() {
            Ok(head) => Box::new(LogReader {
                store: self,
                next: from,
                to: head.seq,
                prev: None,
                page: Vec::new().into_iter(),
                failed: from > head.seq,
            }),
            Err(error) => Box::new(std::iter::once(Err(error))),
        }
    }

    fn scan_log(&self, from_seq: u64, visit: &mut dyn FnMut(&Envelope) -> bool) -> Result<()> {
        let to = self.head()?.seq;
        self.scan(from_seq, to, &mut |envelope| Ok(visit(&envelope)))
    }

    fn hash_at(&self, seq: u64) -> Result<Option<String>> {
        Ok(self.event_at(seq)?.map(|envelope| envelope.hash))
    }

    fn event_at(&self, seq: u64) -> Result<Option<Envelope>> {
        if seq == 0 {
            return Ok(None);
        }
        let Some((_, record)) = self.rows(seq, seq)?.pop() else { return Ok(None) };
        let prev = self.hash_before(seq)?;
        self.decode_checked(seq, &prev, &record).map(Some)
    }

    fn reply(&self, id: &Ulid) -> Result<Option<ReplyState>> {
        Ok(self.family_of_entry(id, StreamKind::Reply)?.and_then(|family| family.reply))
    }

    fn commitment(&self, id: &Ulid) -> Result<Option<CommitmentState>> {
        Ok(self.family_of_entry(id, StreamKind::Commitment)?.and_then(|family| family.commitment(id).cloned()))
    }

    fn proposal(&self, id: &Ulid) -> Result<Option<ProposalState>> {
        Ok(self.family_of_entry(id, StreamKind::Proposal)?.and_then(|family| family.proposal))
    }

    fn account(&self, id: &Ulid) -> Result<Option<duban_domain::AccountState>> {
        Ok(self.family_of_entry(id, StreamKind::Account)?.and_then(|family| family.account))
    }

    fn families_between(&self, from: Option<Ulid>, to: Option<Ulid>) -> Box<dyn Iterator<Item = Result<Family>> + '_> {
        Box::new(FamilyReader {
            store: self,
            from: from.as_ref().map(id_text),
            to: to.as_ref().map(id_text),
            after: None,
            page: Vec::new().into_iter(),
            done: false,
        })
    }

    fn family_bounds(&self) -> Result<Option<(Ulid, Ulid)>> {
        let mut conn = self.pool.get()?;
        let row = conn.query_one("SELECT min(id), max(id) FROM duban_families", &[]).map_err(self.pool.err())?;
        match (row.get::<_, Option<&str>>(0), row.get::<_, Option<&str>>(1)) {
            (Some(first), Some(last)) => Ok(Some((parse_id(first)?, parse_id(last)?))),
            _ => Ok(None),
        }
    }

    fn resolve(&self, input: &str, kind: Option<StreamKind>) -> Result<Ulid> {
        let what = match kind {
            Some(StreamKind::Reply) => "答复",
            Some(StreamKind::Commitment) => "承诺",
            Some(StreamKind::Proposal) => "建议或提案",
            Some(StreamKind::Account) => {
                return Err(StoreError::Domain(duban_domain::DomainError::UnknownId {
                    what: "账户",
                    prefix: input.to_string(),
                }))
            }
            None => "答复或承诺",
        };
        let prefix = duban_domain::normalize_prefix(input)?;
        let pad = |with: char| -> String { prefix.chars().chain(std::iter::repeat(with)).take(26).collect() };
        let mut conn = self.pool.get()?;
        let rows = conn
            .query(
                "SELECT id FROM duban_streams WHERE id >= $1 AND id <= $2 AND ($3::smallint IS NULL OR kind = $3) \
                 ORDER BY id LIMIT 5",
                &[&pad('0'), &pad('Z'), &kind.map(kind_number)],
            )
            .map_err(self.pool.err())?;
        let candidates: Vec<Ulid> = rows.iter().map(|row| parse_id(row.get(0))).collect::<Result<_>>()?;
        Ok(duban_domain::resolve_prefix(&prefix, what, &candidates)?)
    }

    fn short_id(&self, id: &Ulid) -> Result<String> {
        let mut conn = self.pool.get()?;
        let rows = conn
            .query(
                "(SELECT id FROM duban_streams WHERE id < $1 ORDER BY id DESC LIMIT 1) \
                 UNION ALL (SELECT id FROM duban_streams WHERE id > $1 ORDER BY id LIMIT 1)",
                &[&id_text(id)],
            )
            .map_err(self.pool.err())?;
        let neighbours: Vec<Ulid> = rows.iter().map(|row| parse_id(row.get(0))).collect::<Result<_>>()?;
        Ok(duban_domain::short_id(id, &neighbours))
    }

    fn all_ids(&self) -> Result<Vec<Ulid>> {
        let mut conn = self.pool.get()?;
        let rows = conn.query("SELECT id FROM duban_streams ORDER BY id", &[]).map_err(self.pool.err())?;
        rows.iter().map(|row| parse_id(row.get(0))).collect()
    }

    fn verify(&self) -> Result<VerifyReport> {
        // The log as far as the head recorded now; appends that land meanwhile are left to the next verify.
        let recorded = self.head()?;
        let mut head = Head { seq: 0, hash: GENESIS.to_string() };
        let mut expected = Expected::default();
        let broken = |head: Head, seq: u64, reason: String| {
            Ok(VerifyReport { events: head.seq, head, broken: Some((seq, reason)) })
        };
        let mut previous = genesis();
        loop {
            let mut conn = self.pool.get()?;
            let rows = conn
                .query(
                    "SELECT seq, stream, version, record FROM duban_events WHERE seq > $1 AND seq <= $2 \
                     ORDER BY seq LIMIT $3",
                    &[&(head.seq as i64), &(recorded.seq as i64), &PAGE],
                )
                .map_err(self.pool.err())?;
            drop(conn);
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let seq = row.get::<_, i64>(0) as u64;
                if seq != head.seq + 1 {
                    let reason = format!("第 {} 条事件缺失（其后存有第 {seq} 条）", head.seq + 1);
                    return broken(head.clone(), head.seq + 1, reason);
                }
                let record: &[u8] = row.get(3);
                let Ok(hash) = chain::chained_full(seq, &previous, record) else {
                    return broken(head, seq, "内容与其哈希不符（已被改动，或顺序被调换、有插入）".into());
                };
                let envelope = match chain::decode(seq, &previous, record) {
                    Ok(envelope) => envelope,
                    Err(error) => return broken(head, seq, error.to_string()),
                };
                if row.get::<_, &str>(1) != id_text(&envelope.stream) || row.get::<_, i32>(2) as u32 != envelope.version
                {
                    return broken(head, seq, "行中的流或版本与事件内容不符".into());
                }
                if let Some(reason) = expected.admit(&envelope) {
                    return broken(head, seq, reason);
                }
                previous = hash;
                head = Head { seq, hash: envelope.hash };
            }
        }
        self.events_read.fetch_add(head.seq, Ordering::Relaxed);
        if recorded != head {
            let reason = format!("库头记录为第 {} 条，而日志止于第 {} 条", recorded.seq, head.seq);
            return broken(head.clone(), head.seq + 1, reason);
        }
        // The index and the families' positions, as far as the head walked.
        let mut unreadable: Option<(u64, String)> = None;
        let mut positions: HashMap<Ulid, Vec<u64>> = HashMap::new();
        for family in self.families_between(None, None) {
            match family {
                Ok(family) => {
                    for (id, mut seqs) in family.seqs {
                        seqs.retain(|seq| *seq <= head.seq);
                        if !seqs.is_empty() {
                            positions.insert(id, seqs);
                        }
                    }
                }
                Err(error) => {
                    unreadable.get_or_insert((head.seq + 1, error.to_string()));
                }
            }
        }
        let mut conn = self.pool.get()?;
        let rows = conn
            .query(
                "SELECT s.id, s.kind, s.family FROM duban_streams s \
                 WHERE EXISTS (SELECT 1 FROM duban_events e WHERE e.stream = s.id AND e.version = 1 AND e.seq <= $1) \
                 OR NOT EXISTS (SELECT 1 FROM duban_events e WHERE e.stream = s.id)",
                &[&(head.seq as i64)],
            )
            .map_err(self.pool.err())?;
        drop(conn);
        let mut stored = Vec::with_capacity(rows.len());
        for row in rows {
            let kind = u8::try_from(row.get::<_, i16>(1)).ok().and_then(kind_from_byte);
            match (parse_id(row.get(0)), kind, parse_id(row.get(2))) {
                (Ok(id), Some(kind), Ok(family)) => stored.push((id, StreamEntry { kind, family })),
                _ => {
                    unreadable.get_or_insert((head.seq + 1, "流索引有一条条目无法读取".to_string()));
                }
            }
        }
        if let Some((seq, reason)) = expected.misplaced(head.seq + 1, stored, positions, unreadable) {
            let before = match seq.min(head.seq + 1) - 1 {
                0 => Head { seq: 0, hash: GENESIS.to_string() },
                at => Head { seq: at, hash: self.hash_at(at)?.unwrap_or_default() },
            };
            return broken(before, seq, reason);
        }
        Ok(VerifyReport { events: head.seq, head, broken: None })
    }

    fn refold(&self) -> Result<Refolded> {
        let head = self.head()?.seq;
        let mut folded = Folded::default();
        let mut seqs: IdMap<Vec<u64>> = IdMap::default();
        let mut events = 0;
        self.scan(1, head, &mut |envelope| {
            folded.apply(&envelope);
            seqs.entry(envelope.stream).or_default().push(envelope.seq);
            events += 1;
            Ok(true)
        })?;
        Ok(Refolded { head, events, folded, seqs })
    }

    fn rebuild_from(&self, refolded: Refolded) -> Result<RebuildReport> {
        let mut conn = self.pool.get()?;
        let err = self.pool.err();
        let mut tx = conn.transaction().map_err(&err)?;
        if self.read_head(&mut tx, true)?.seq != refolded.head {
            drop(tx);
            drop(conn);
            return self.rebuild_from(self.refold()?);
        }
        let Refolded { events, folded, mut seqs, .. } = refolded;
        let (replies, commitments) = (folded.replies.len(), folded.commitments.len());
        let (entries, mut wanted) = wanted_projection(folded, &mut seqs);
        let mut differences = Vec::new();
        // The stream index, row by row.
        let rows = tx.query("SELECT id, kind, family FROM duban_streams", &[]).map_err(&err)?;
        let mut index_differences = std::collections::BTreeSet::new();
        let mut stale = Vec::new();
        let mut stored_entries: HashMap<String, (i16, String)> = HashMap::new();
        for row in rows {
            stored_entries.insert(row.get(0), (row.get(1), row.get(2)));
        }
        let mut fixed_entries = Vec::new();
        for (id, entry) in entries.iter() {
            let want = (kind_number(entry.kind), id_text(&entry.family));
            if stored_entries.remove(&id_text(id)).as_ref() != Some(&want) {
                index_differences.insert(*id);
                fixed_entries.push((*id, *entry));
            }
        }
        for id in stored_entries.into_keys() {
            if let Ok(id) = parse_id(&id) {
                index_differences.insert(id);
            }
            stale.push(id);
        }
        differences.extend(index_differences.iter().map(|id| Difference { id: *id, kind: "index" }));
        // The families.
        let rows = tx.query("SELECT id, state FROM duban_families ORDER BY id", &[]).map_err(&err)?;
        let mut fixed_families = Vec::new();
        let mut removed_families = Vec::new();
        for row in rows {
            let text: String = row.get(0);
            let stored = Family::from_bytes(row.get(1)).unwrap_or_default();
            let want = parse_id(&text).ok().and_then(|id| wanted.remove(&id));
            match want {
                None => {
                    differences.extend(compare(&stored, None, &mut index_differences));
                    removed_families.push(text);
                }
                Some(family) if family != stored => {
                    differences.extend(compare(&stored, Some(&family), &mut index_differences));
                    fixed_families.push((parse_id(&text)?, family.to_bytes()));
                }
                Some(_) => {}
            }
        }
        for (id, family) in std::mem::take(&mut wanted) {
            differences.extend(compare(&Family::default(), Some(&family), &mut index_differences));
            fixed_families.push((id, family.to_bytes()));
        }
        if !stale.is_empty() {
            tx.execute("DELETE FROM duban_streams WHERE id = ANY($1)", &[&stale]).map_err(&err)?;
        }
        if !removed_families.is_empty() {
            tx.execute("DELETE FROM duban_families WHERE id = ANY($1)", &[&removed_families]).map_err(&err)?;
        }
        self.write_streams(&mut tx, &fixed_entries)?;
        self.write_families(&mut tx, &fixed_families)?;
        tx.commit().map_err(&err)?;
        Ok(RebuildReport { events, replies, commitments, differences })
    }

    fn reopen(self: Arc<Self>) -> Result<Arc<dyn EventStore>> {
        Ok(self)
    }

    fn export(&self, out: &mut dyn Write) -> Result<u64> {
        crate::write_export(self.read_log(1), out)
    }

    fn import_events(&self, file: &Path) -> Result<u64> {
        // The whole file is checked before anything is written.
        let count = crate::check_export(crate::transfer::open(file)?)?;
        let mut conn = self.pool.get()?;
        let err = self.pool.err();
        let mut tx = conn.transaction().map_err(&err)?;
        let head = self.read_head(&mut tx, true)?;
        if head.seq > 0 {
            return Err(StoreError::NotEmpty { events: head.seq });
        }
        let mut folded = Folded::default();
        let mut seqs: IdMap<Vec<u64>> = IdMap::default();
        let mut rows = Vec::with_capacity(RESTORE_BATCH);
        let mut last = head;
        let mut check = crate::transfer::ChainCheck::default();
        crate::transfer::for_each_envelope(crate::transfer::open(file)?, &mut check, |envelope| {
            folded.apply(&envelope);
            seqs.entry(envelope.stream).or_default().push(envelope.seq);
            let (record, _) = chain::encode(&envelope);
            rows.push((envelope.seq as i64, id_text(&envelope.stream), envelope.version as i32, record));
            last = Head { seq: envelope.seq, hash: envelope.hash };
            if rows.len() == RESTORE_BATCH {
                self.insert_events(&mut tx, &rows)?;
                rows.clear();
            }
            Ok(())
        })?;
        self.insert_events(&mut tx, &rows)?;
        let (entries, wanted) = wanted_projection(folded, &mut seqs);
        let mut entries: Vec<(Ulid, StreamEntry)> = entries.into_iter().collect();
        entries.sort_unstable_by_key(|(id, _)| *id);
        self.write_streams(&mut tx, &entries)?;
        let families: Vec<(Ulid, Vec<u8>)> = wanted.iter().map(|(id, family)| (*id, family.to_bytes())).collect();
        self.write_families(&mut tx, &families)?;
        tx.execute("UPDATE duban_head SET seq = $1, hash = $2", &[&(last.seq as i64), &last.hash]).map_err(&err)?;
        tx.commit().map_err(&err)?;
        Ok(count)
    }

    fn secret(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let mut conn = self.pool.get()?;
        let row = conn.query_opt("SELECT value FROM duban_secrets WHERE key = $1", &[&key]).map_err(self.pool.err())?;
        Ok(row.map(|row| row.get(0)))
    }

    fn set_secret(&self, key: &str, value: Option<&[u8]>) -> Result<()> {
        let mut conn = self.pool.get()?;
        let done = match value {
            Some(value) => conn.execute(
                "INSERT INTO duban_secrets (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2",
                &[&key, &value],
            ),
            None => conn.execute("DELETE FROM duban_secrets WHERE key = $1", &[&key]),
        };
        done.map_err(self.pool.err())?;
        Ok(())
    }

    fn secrets_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let mut conn = self.pool.get()?;
        let rows = conn
            .query(
                "SELECT key, value FROM duban_secrets WHERE left(key, length($1::text)) = $1::text ORDER BY key",
                &[&prefix],
            )
            .map_err(self.pool.err())?;
        Ok(rows.into_iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    fn derived(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let mut conn = self.pool.get()?;
        let row = conn.query_opt("SELECT value FROM duban_derived WHERE key = $1", &[&key]).map_err(self.pool.err())?;
        Ok(row.map(|row| row.get(0)))
    }

    fn derived_keys(&self, prefix: &[u8]) -> Result<Vec<Vec<u8>>> {
        let mut conn = self.pool.get()?;
        let rows = conn
            .query(
                "SELECT key FROM duban_derived WHERE substring(key from 1 for length($1::bytea)) = $1::bytea ORDER BY key",
                &[&prefix],
            )
            .map_err(self.pool.err())?;
        Ok(rows.into_iter().map(|row| row.get(0)).collect())
    }

    fn write_derived(&self, changes: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<()> {
        let mut conn = self.pool.get()?;
        let err = self.pool.err();
        let mut tx = conn.transaction().map_err(&err)?;
        for (key, value) in &changes {
            match value {
                Some(value) => tx.execute(
                    "INSERT INTO duban_derived (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2",
                    &[key, value],
                ),
                None => tx.execute("DELETE FROM duban_derived WHERE key = $1", &[key]),
            }
            .map_err(&err)?;
        }
        tx.commit().map_err(&err)
    }

    fn lock_derived(&self, wait: bool) -> Result<Option<Box<dyn DerivedLock + '_>>> {
        let mut conn = self.pool.get()?;
        if wait {
            conn.execute("SELECT pg_advisory_lock($1)", &[&DERIVED_LOCK]).map_err(self.pool.err())?;
        } else {
            let taken: bool =
                conn.query_one("SELECT pg_try_advisory_lock($1)", &[&DERIVED_LOCK]).map_err(self.pool.err())?.get(0);
            if !taken {
                return Ok(None);
            }
        }
        Ok(Some(Box::new(PgDerivedLock { conn: Some(conn) })))
    }

    fn events_read(&self) -> u64 {
        self.events_read.load(Ordering::Relaxed)
    }

    fn write_derived_file(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let mut conn = self.pool.get()?;
        conn.execute(
            "INSERT INTO duban_derived_files (name, body) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET body = $2",
            &[&name, &bytes],
        )
        .map_err(self.pool.err())?;
        Ok(())
    }

    fn derived_file(&self, name: &str) -> Result<Option<Arc<dyn DerivedFile>>> {
        let mut conn = self.pool.get()?;
        let row = conn
            .query_opt("SELECT length(body) FROM duban_derived_files WHERE name = $1", &[&name])
            .map_err(self.pool.err())?;
        Ok(row.map(|row| {
            let file: Arc<dyn DerivedFile> =
                Arc::new(PgFile { pool: self.pool.clone(), name: name.to_string(), len: row.get::<_, i32>(0) as u64 });
            file
        }))
    }

    fn remove_derived_file(&self, name: &str) -> Result<()> {
        let mut conn = self.pool.get()?;
        conn.execute("DELETE FROM duban_derived_files WHERE name = $1", &[&name]).map_err(self.pool.err())?;
        Ok(())
    }

    fn derived_file_names(&self) -> Result<Vec<String>> {
        let mut conn = self.pool.get()?;
        let rows = conn.query("SELECT name FROM duban_derived_files ORDER BY name", &[]).map_err(self.pool.err())?;
        Ok(rows.into_iter().map(|row| row.get(0)).collect())
    }

    fn put_file(&self, bytes: &[u8]) -> Result<String> {
        let sha256 = crate::sha256_hex(bytes);
        let mut conn = self.pool.get()?;
        conn.execute(
            "INSERT INTO duban_files (sha256, body) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING",
            &[&sha256, &bytes],
        )
        .map_err(self.pool.err())?;
        Ok(sha256)
    }

    fn file(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        let mut conn = self.pool.get()?;
        let row =
            conn.query_opt("SELECT body FROM duban_files WHERE sha256 = $1", &[&sha256]).map_err(self.pool.err())?;
        let Some(row) = row else { return Ok(None) };
        let bytes: Vec<u8> = row.get(0);
        if crate::sha256_hex(&bytes) != sha256 {
            return Err(StoreError::Damaged { what: format!("附件 {sha256} 的内容与其哈希不符") });
        }
        Ok(Some(bytes))
    }

    fn file_hashes(&self) -> Result<Vec<String>> {
        let mut conn = self.pool.get()?;
        let rows = conn.query("SELECT sha256 FROM duban_files ORDER BY sha256", &[]).map_err(self.pool.err())?;
        Ok(rows.into_iter().map(|row| row.get(0)).collect())
    }

    fn begin_bulk(&self) -> Result<()> {
        // Every append writes its projection in its own transaction: there is nothing to defer.
        Ok(())
    }

    fn end_bulk(&self) -> Result<()> {
        Ok(())
    }
}
