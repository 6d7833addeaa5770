//! Search over promises, replies and progress (`duban search`, the server's `/api/search`, the web app's search
//! box): a read model derived from the log, kept beside it in the store's derived space.
//!
//! The index is a list of segments (see `index.rs`) covering the log up to a position, and the tail after it: a
//! query indexes the tail in memory as it reads it, so every answer is current. A write that leaves the tail at
//! [`TAIL_EVENTS`] or more indexes it as a new segment, and merges the newest segments while the newer is at least a
//! quarter of the one before (up to [`MAX_SEGMENT_DOCS`] documents): a store keeps a handful of segments, and a
//! document is rewritten a few times in its life, not at every write. `duban rebuild` derives the index afresh,
//! compares it with the stored one and says whether it differed.
//!
//! A hit is an item whose text, as folded at the view's horizon, contains every term: a promise's text, a reply's
//! registration (its latest correction the horizon admits), a progress report's summary. The index holds every text
//! an item ever had; a text replaced by a later one the horizon admits is not a hit. Ranking, written once here: an
//! item that holds the whole query as one phrase comes before one where the terms are scattered; then promises
//! before replies before progress; then the more recent fact first.

mod file;
mod index;
mod text;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use duban_domain::{status, CommitmentState, Envelope, Event, Horizon, ReplyRegistered, ReplyState, Status};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

pub use text::{fold, reply_text, terms, Doc, Kind};

use crate::error::{refuse, AppError, Result};
use crate::read::{ListFilter, View};
use crate::App;
use index::{Builder, Damaged, Flat, Gram, Segment, BLOCK_DOCS};

/// A write indexes the tail once it is this many events long.
pub const TAIL_EVENTS: u64 = 2048;
/// The most documents a merge makes one segment of (what one merge or a rebuild holds in memory).
pub const MAX_SEGMENT_DOCS: u32 = 262_144;
/// The most events one write indexes: a store whose index fell far behind (an upgrade, a bulk load) is caught up
/// over many writes, each bounded in time and memory, instead of by the first.
pub const CATCH_UP_EVENTS: u64 = 32_768;
/// The format of what is stored; another is derived afresh by `rebuild` (until then queries index the whole log).
/// Format 2: segments as files of their own (`file.rs`); format 1 kept them as derived values, which `rebuild`
/// removes.
const FORMAT: u32 = 2;

const HEAD_KEY: &[u8] = b"search/head";

/// The derived values of format 1's segments all start with this.
const FORMAT_1_SEGMENTS: &[u8] = b"search/s";

#[cfg(test)]
pub(crate) fn segment_file_name(id: u32) -> String {
    segment_name(id)
}

/// The derived file of segment `id`.
fn segment_name(id: u32) -> String {
    format!("search-{id:08x}.seg")
}

/// What the stored index covers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Head {
    format: u32,
    /// The log is indexed up to this seq.
    covered: u64,
    pub(crate) segments: Vec<SegmentInfo>,
    next_id: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SegmentInfo {
    pub(crate) id: u32,
    base: u32,
    docs: u32,
}

impl Head {
    fn next_doc(&self) -> u32 {
        self.segments.last().map_or(0, |s| s.base + s.docs)
    }
}

fn damaged(what: &str) -> AppError {
    AppError::Derived(format!("搜索索引已损坏（{what}）：运行 `duban rebuild` 重建索引（事件日志不受影响）"))
}

impl From<Damaged> for AppError {
    fn from(_: Damaged) -> AppError {
        damaged("无法解码")
    }
}

/// A search as asked.
#[derive(Clone, Debug, Default)]
pub struct SearchRequest {
    pub query: String,
    /// Only hits of this kind.
    pub kind: Option<Kind>,
    /// At most this many hits (the best).
    pub limit: usize,
    /// Also list every hit's key in [`Found::keys`] (for checks against [`Scan`]).
    pub keys: bool,
    /// `list`'s filters: promises and progress by their promise; replies by organ, year and proposal, and none when
    /// a status is asked for.
    pub filter: ListFilter,
}

/// Which items the caller may see (the server's organ accounts see their own organs' items only).
pub struct Visible<'a> {
    pub commitment: &'a dyn Fn(&CommitmentState, Option<&ReplyState>) -> bool,
    pub reply: &'a dyn Fn(&ReplyState) -> bool,
    /// Whether both say yes to everything (then hits beyond the limit are counted without being read).
    pub everything: bool,
}

impl Visible<'_> {
    pub fn everything() -> Visible<'static> {
        Visible { commitment: &|_, _| true, reply: &|_| true, everything: true }
    }
}

/// One hit.
#[derive(Clone, Debug)]
pub struct Hit {
    pub kind: Kind,
    /// The promise (for a promise or its progress) or the reply.
    pub id: Ulid,
    pub short_id: String,
    pub reply_id: Option<Ulid>,
    /// The promise's status (for a promise or its progress).
    pub status: Option<Status>,
    pub snippet: String,
    pub score: f64,
    /// The fact the text came from.
    pub seq: u64,
    pub occurred_on: NaiveDate,
}

/// A search's answer.
#[derive(Clone, Debug, Default)]
pub struct Found {
    pub hits: Vec<Hit>,
    /// How many hits there are in all.
    pub total: usize,
    /// The terms searched for, folded.
    pub terms: Vec<String>,
    /// Every hit as [`Scan::query`] gives them — kind, id, and (for progress) the report's seq; sorted — when the
    /// request asked for them (reading each hit's metadata).
    pub keys: Vec<(Kind, Ulid, u64)>,
}

/// What `rebuild` found of the index.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SearchRebuilt {
    pub documents: u64,
    pub segments: usize,
    /// Stored segments that differed from a fresh derivation, or were missing within what the index said it covered
    /// (an unreadable index counts once).
    pub differed: usize,
    /// Texts the stored index did not cover yet (the tail every query indexes for itself).
    pub newly_indexed: u64,
}

/// A candidate hit: whether it holds the whole phrase, its kind, its document and the source that holds it.
type Candidate = (bool, Kind, u32, usize);

/// What a source holds of a query: the documents holding every term, and of them those holding the whole phrase
/// (for several terms).
type Matched = (Vec<u32>, Option<Vec<u32>>);

/// Sources with at least this many documents in all are matched on two threads (below it a thread costs more than
/// it saves).
const PARALLEL_DOCS: u32 = 65_536;

/// Each source's [`Source::matched`], in order. The stored segments are independent, so a large index is matched on
/// two threads — this one and one more, the sources shared out by size — which halves a query's time on an idle
/// machine and costs a thread's start (tens of microseconds) on a busy one.
fn match_sources(sources: &[Source], terms: &[Vec<char>], phrase: &[char]) -> Vec<Result<Matched>> {
    let total: u32 = sources.iter().map(Source::len).sum();
    if sources.len() < 2 || total < PARALLEL_DOCS {
        return sources.iter().map(|source| source.matched(terms, phrase)).collect();
    }
    // The largest first, each to the thread with fewer documents so far.
    let mut order: Vec<usize> = (0..sources.len()).collect();
    order.sort_by_key(|&at| std::cmp::Reverse(sources[at].len()));
    let (mut here, mut there, mut loads) = (Vec::new(), Vec::new(), [0u32; 2]);
    for at in order {
        let side = usize::from(loads[1] < loads[0]);
        loads[side] += sources[at].len();
        if side == 0 {
            here.push(at)
        } else {
            there.push(at)
        }
    }
    let mut out: Vec<Option<Result<Matched>>> = (0..sources.len()).map(|_| None).collect();
    let mut theirs = Vec::new();
    std::thread::scope(|scope| {
        let other =
            scope.spawn(|| there.iter().map(|&at| (at, sources[at].matched(terms, phrase))).collect::<Vec<_>>());
        for &at in &here {
            out[at] = Some(sources[at].matched(terms, phrase));
        }
        theirs = other.join().unwrap_or_default();
    });
    for (at, matched) in theirs {
        out[at] = Some(matched);
    }
    out.into_iter().map(|matched| matched.unwrap_or_else(|| Err(damaged("检索线程中断")))).collect()
}

/// A place to read a segment from: stored, or (the tail) in memory.
enum Source<'a> {
    Stored { app: &'a App, info: SegmentInfo, file: Arc<file::SegmentFile>, blocks: HashMap<u32, Vec<u8>> },
    Memory(&'a Segment),
}

/// Decoded posting lists of stored segments, kept by a serving handle between queries, up to [`CACHE_BYTES`] (the
/// least recently used go first). A stored segment never changes under its id — a merge or a rebuild writes a new
/// one — so a list kept is never stale.
#[derive(Default)]
pub(crate) struct PostingCache {
    inner: std::sync::Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    lists: HashMap<(u32, Vec<u8>), (Arc<Flat>, u64)>,
    bytes: usize,
    clock: u64,
    /// Each segment's kinds (a byte a document: under a megabyte per million texts), by segment id; those of
    /// segments no longer in the index go when another is kept.
    kinds: HashMap<u32, Arc<Vec<u8>>>,
    /// Segment files opened (their footer and tables read), by segment id.
    files: HashMap<u32, Arc<file::SegmentFile>>,
}

/// What a serving handle keeps of decoded posting lists.
const CACHE_BYTES: usize = 48 << 20;

impl PostingCache {
    fn get(&self, segment: u32, gram: &[u8]) -> Option<Arc<Flat>> {
        let mut inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        inner.clock += 1;
        let now = inner.clock;
        let (list, used) = inner.lists.get_mut(&(segment, gram.to_vec()))?;
        *used = now;
        Some(list.clone())
    }

    fn kinds(&self, segment: u32) -> Option<Arc<Vec<u8>>> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).kinds.get(&segment).cloned()
    }

    fn file(&self, segment: u32) -> Option<Arc<file::SegmentFile>> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).files.get(&segment).cloned()
    }

    fn keep_file(&self, segment: u32, file: Arc<file::SegmentFile>) {
        let mut inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if inner.files.len() >= 64 {
            inner.files.clear();
        }
        inner.files.insert(segment, file);
    }

    fn keep_kinds(&self, segment: u32, kinds: Arc<Vec<u8>>) {
        let mut inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if inner.kinds.len() >= 64 {
            inner.kinds.clear();
        }
        inner.kinds.insert(segment, kinds);
    }

    fn put(&self, segment: u32, gram: &[u8], list: Arc<Flat>) {
        let size = list.bytes();
        if size > CACHE_BYTES / 4 {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        inner.clock += 1;
        let now = inner.clock;
        if let Some((old, _)) = inner.lists.insert((segment, gram.to_vec()), (list, now)) {
            inner.bytes -= old.bytes();
        }
        inner.bytes += size;
        if inner.bytes > CACHE_BYTES {
            // Down to three quarters at once, oldest first, so that eviction's sort is paid once per many inserts.
            let mut by_age: Vec<(u64, (u32, Vec<u8>))> =
                inner.lists.iter().map(|(key, (_, used))| (*used, key.clone())).collect();
            by_age.sort_unstable();
            for (_, key) in by_age {
                if inner.bytes <= CACHE_BYTES / 4 * 3 {
                    break;
                }
                if let Some((old, _)) = inner.lists.remove(&key) {
                    inner.bytes -= old.bytes();
                }
            }
        }
    }
}

impl Source<'_> {
    /// A posting list of this segment, decoded (from a serving handle's cache when it holds it).
    fn posting(&self, gram: &[u8]) -> Result<Option<Arc<Flat>>> {
        match self {
            Source::Stored { app, info, file, .. } => {
                if let Some(list) = app.postings.as_ref().and_then(|cache| cache.get(info.id, gram)) {
                    return Ok(Some(list));
                }
                let Some(bytes) = file.posting(gram)? else { return Ok(None) };
                let list = Arc::new(Flat::of(gram, bytes)?);
                if let Some(cache) = &app.postings {
                    cache.put(info.id, gram, list.clone());
                }
                Ok(Some(list))
            }
            Source::Memory(segment) => {
                Ok(segment.postings.get(gram).map(|bytes| Flat::of(gram, bytes.clone()).map(Arc::new)).transpose()?)
            }
        }
    }

    fn matching(&self, term: &[char], within: Option<&[u32]>) -> Result<Vec<u32>> {
        let mut failed: Option<AppError> = None;
        let posting = &mut |gram: &Gram| match self.posting(gram) {
            Ok(bytes) => Ok(bytes),
            Err(error) => {
                failed = Some(error);
                Err(Damaged)
            }
        };
        let found = index::matching(term, posting, within);
        match (found, failed) {
            (_, Some(error)) => Err(error),
            (found, None) => Ok(found?),
        }
    }

    fn doc(&mut self, docno: u32) -> Result<Doc> {
        match self {
            Source::Stored { info, file, blocks, .. } => {
                let local =
                    docno.checked_sub(info.base).filter(|&l| l < info.docs).ok_or_else(|| damaged("文档编号"))?;
                let block = local / BLOCK_DOCS;
                let bytes = match blocks.entry(block) {
                    std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                    std::collections::hash_map::Entry::Vacant(entry) => entry.insert(file.block(block)?),
                };
                Ok(index::decode_doc(bytes, (local % BLOCK_DOCS) as usize)?)
            }
            Source::Memory(segment) => Ok(segment.docs[(docno - segment.base) as usize]),
        }
    }

    /// The documents holding every term, and (for several terms) those of them holding the terms as one phrase.
    fn matched(&self, terms: &[Vec<char>], phrase: &[char]) -> Result<Matched> {
        let mut found: Option<Vec<u32>> = None;
        for term in terms {
            found = Some(self.matching(term, found.as_deref())?);
        }
        let found = found.unwrap_or_default();
        let whole = match terms.len() > 1 && !found.is_empty() {
            true => Some(self.matching(phrase, Some(&found))?),
            false => None,
        };
        Ok((found, whole))
    }

    /// How many documents it holds.
    fn len(&self) -> u32 {
        match self {
            Source::Stored { info, .. } => info.docs,
            Source::Memory(segment) => segment.docs.len() as u32,
        }
    }

    /// The number of its first document.
    fn base(&self) -> u32 {
        match self {
            Source::Stored { info, .. } => info.base,
            Source::Memory(segment) => segment.base,
        }
    }

    /// Each document's kind, one byte each (from a serving handle's cache when it holds them).
    fn kinds(&self) -> Result<Arc<Vec<u8>>> {
        match self {
            Source::Stored { app, info, file, .. } => {
                if let Some(kinds) = app.postings.as_ref().and_then(|cache| cache.kinds(info.id)) {
                    return Ok(kinds);
                }
                let kinds = file.kinds()?;
                if kinds.len() != info.docs as usize {
                    return Err(damaged("类别表长度"));
                }
                let kinds = Arc::new(kinds);
                if let Some(cache) = &app.postings {
                    cache.keep_kinds(info.id, kinds.clone());
                }
                Ok(kinds)
            }
            Source::Memory(segment) => Ok(Arc::new(segment.kinds())),
        }
    }

    fn replacements(&self) -> Result<Vec<Doc>> {
        match self {
            Source::Stored { file, .. } => Ok(index::decode_block(&file.replacements()?)?),
            Source::Memory(segment) => Ok(segment.docs.iter().filter(|d| d.replaces).copied().collect()),
        }
    }
}

/// Whether `horizon` admits the fact a document came from.
fn admits(horizon: &Horizon, doc: &Doc) -> bool {
    horizon.as_of.is_none_or(|date| doc.occurred_on <= date)
        && horizon.known_at.is_none_or(|instant| doc.recorded_at <= instant)
        && horizon.known_seq.is_none_or(|seq| doc.seq <= seq)
}

/// The registration of reply `id` just before `seq`, folded from its stream.
fn registration_before(app: &App, id: &Ulid, seq: u64) -> Option<ReplyRegistered> {
    let events = app.store.read_stream(id).ok()?;
    ReplyState::fold(events.iter().filter(|e| e.seq < seq)).registered
}

/// Feeds the searchable texts of the log from `from_seq` to `add`, in log order.
/// Reads texts from `from_seq`, at most `at_most` events; the last seq read.
fn texts_from(app: &App, from_seq: u64, at_most: u64, add: &mut dyn FnMut(Doc, &[char])) -> Result<u64> {
    // Registrations met on the way, so that a correction finds what it corrects without reading its stream.
    let mut registrations: HashMap<Ulid, ReplyRegistered> = HashMap::new();
    let mut last = from_seq.saturating_sub(1);
    app.store.scan_log(from_seq, &mut |envelope: &Envelope| {
        last = envelope.seq;
        let mut before =
            |id: &Ulid, seq: u64| registrations.get(id).cloned().or_else(|| registration_before(app, id, seq));
        if let Some((doc, text)) = text::doc_of(envelope, &mut before) {
            add(doc, &fold(&text));
        }
        match &envelope.event {
            Event::ReplyRegistered(registered) => {
                registrations.insert(envelope.stream, (**registered).clone());
            }
            Event::ReplyAmended(amended) => {
                if let Some(registered) = registrations.get_mut(&envelope.stream) {
                    *registered = amended.applied_to(registered);
                }
            }
            _ => {}
        }
        envelope.seq - from_seq + 1 < at_most
    })?;
    Ok(last)
}

impl App {
    /// Rewrites stored segment `info` as `change` leaves it (tests of `rebuild`'s comparison).
    #[cfg(test)]
    pub(crate) fn rewrite_segment_for_test(&self, info: SegmentInfo, change: &mut dyn FnMut(&mut Segment)) {
        let mut segment = self.load_segment(info).unwrap();
        change(&mut segment);
        self.store.write_derived_file(&segment_name(info.id), &file::encode(&segment).unwrap()).unwrap();
    }

    pub(crate) fn search_head(&self) -> Result<Option<Head>> {
        match self.store.derived(HEAD_KEY)? {
            None => Ok(None),
            Some(bytes) => {
                let head: Head = serde_json::from_slice(&bytes).map_err(|_| damaged("索引头"))?;
                Ok((head.format == FORMAT).then_some(head))
            }
        }
    }

    /// Segment `info`'s file, opened (kept open by a serving handle).
    fn segment_file(&self, info: SegmentInfo) -> Result<Arc<file::SegmentFile>> {
        if let Some(file) = self.postings.as_ref().and_then(|cache| cache.file(info.id)) {
            return Ok(file);
        }
        let opened = self.store.derived_file(&segment_name(info.id))?.ok_or_else(|| damaged("缺少段文件"))?;
        let file = Arc::new(file::SegmentFile::open(opened)?);
        if file.base != info.base || file.docs != info.docs {
            return Err(damaged("段文件与索引头不符"));
        }
        if let Some(cache) = &self.postings {
            cache.keep_file(info.id, file.clone());
        }
        Ok(file)
    }

    /// The seq the stored index covers to, and its segments' sizes.
    #[cfg(test)]
    pub(crate) fn search_covered(&self) -> Result<(u64, Vec<u32>)> {
        let head = self.search_head()?.unwrap_or_default();
        Ok((head.covered, head.segments.iter().map(|s| s.docs).collect()))
    }

    /// The stored segments and the tail after them, indexed in memory.
    fn search_sources(&self) -> Result<(Head, Segment)> {
        let head = self.search_head()?.unwrap_or(Head { format: FORMAT, ..Head::default() });
        // Nothing after what the index covers: no log to read (opening the last chunk checks its hashes).
        if self.store.head()?.seq <= head.covered {
            let tail = Builder::new(head.next_doc()).finish();
            return Ok((head, tail));
        }
        let (tail, _) = self.tail(&head, u64::MAX)?;
        Ok((head, tail))
    }

    /// The log after what `head` covers (at most `at_most` events), indexed in memory, and the last seq it read.
    fn tail(&self, head: &Head, at_most: u64) -> Result<(Segment, u64)> {
        let mut builder = Builder::new(head.next_doc());
        let last = texts_from(self, head.covered + 1, at_most, &mut |doc, text| builder.add(doc, text))?;
        Ok((builder.finish(), last))
    }

    /// Searches the register as seen through `view`.
    pub fn search(&self, request: &SearchRequest, view: &View, visible: &Visible) -> Result<Found> {
        let terms = terms(&request.query);
        if terms.is_empty() {
            return refuse("搜索词为空：请给出要找的字词，例如 duban search 概念验证");
        }
        match self.search_once(request, view, visible, &terms) {
            // On a store that several processes share, another may have merged segments (and removed the files they
            // replaced) between this query reading the index's head and its segments: asked again, it reads the new
            // head. Damage fails again and is reported.
            Err(AppError::Derived(_)) => self.search_once(request, view, visible, &terms),
            found => found,
        }
    }

    fn search_once(
        &self,
        request: &SearchRequest,
        view: &View,
        visible: &Visible,
        terms: &[Vec<char>],
    ) -> Result<Found> {
        match self.search_kept(request, view, visible, terms, true)? {
            Some(found) => Ok(found),
            None => Ok(self.search_kept(request, view, visible, terms, false)?.unwrap_or_default()),
        }
    }

    /// A search, keeping of the candidates (when `bounded` and every candidate is a hit) only the best `limit` of
    /// each rank — whole phrase or not, by kind — and counting the others: a query matching 80,000 texts then sorts
    /// a hundred. `None` if one of those kept could not be shown and others were let go (asked again unbounded).
    fn search_kept(
        &self,
        request: &SearchRequest,
        view: &View,
        visible: &Visible,
        terms: &[Vec<char>],
        bounded: bool,
    ) -> Result<Option<Found>> {
        let (head, tail) = self.search_sources()?;
        let mut sources = Vec::with_capacity(head.segments.len() + 1);
        for &info in &head.segments {
            let file = self.segment_file(info)?;
            sources.push(Source::Stored { app: self, info, file, blocks: HashMap::new() });
        }
        sources.push(Source::Memory(&tail));
        let phrase: Vec<char> = terms.concat();
        // Every text replaced since it was written, by item: a text is current unless one of these replaced it.
        let mut replaced: HashMap<(Kind, Ulid), Vec<Doc>> = HashMap::new();
        for source in &sources {
            for doc in source.replacements()? {
                replaced.entry((doc.kind, doc.item)).or_default().push(doc);
            }
        }
        let horizon = view.horizon;
        let cut = !horizon.is_everything();
        let filtered = !is_default(&request.filter) || !visible.everything;
        let bounded = bounded && !filtered && !request.keys;
        // When bounded: the kept candidates of each rank (whole phrase or not × kind), the newest, and how many
        // were let go.
        let mut ranks: [Vec<Candidate>; 6] = Default::default();
        let mut let_go = 0usize;
        // A candidate: whether it holds the whole phrase, its kind, its document and where that is. Documents are
        // numbered in log order, so the number orders by recency; a document's metadata is read only when the
        // horizon or a replacement must be checked, and for the hits shown.
        let mut candidates: Vec<Candidate> = Vec::new();
        let replaceable_kinds: Vec<Kind> =
            Kind::ALL.into_iter().filter(|&k| replaced.keys().any(|(r, _)| *r == k)).collect();
        let matched = match_sources(&sources, terms, &phrase);
        // Newest source first, and in each the newest document first: a rank, once it holds `limit`, has its best.
        for ((at, source), matched) in sources.iter_mut().enumerate().zip(matched).rev() {
            let (found, whole) = matched?;
            if found.is_empty() {
                continue;
            }
            let mut in_whole = whole.as_deref().unwrap_or_default().iter().rev().peekable();
            let kinds = source.kinds()?;
            let base = source.base();
            if !bounded {
                candidates.reserve(found.len());
            }
            for docno in found.into_iter().rev() {
                let is_whole = match &whole {
                    None => true,
                    Some(_) => {
                        while in_whole.next_if(|&&d| d > docno).is_some() {}
                        in_whole.peek() == Some(&&docno)
                    }
                };
                let kind = kinds
                    .get((docno - base) as usize)
                    .and_then(|&k| Kind::from_byte(k))
                    .ok_or_else(|| damaged("类别表"))?;
                if request.kind.is_some_and(|wanted| wanted != kind) {
                    continue;
                }
                if cut || replaceable_kinds.contains(&kind) {
                    let doc = source.doc(docno)?;
                    let current = replaced
                        .get(&(doc.kind, doc.item))
                        .is_none_or(|later| !later.iter().any(|r| r.seq > doc.seq && admits(&horizon, r)));
                    if !admits(&horizon, &doc) || !current {
                        continue;
                    }
                }
                if !bounded {
                    candidates.push((is_whole, kind, docno, at));
                    continue;
                }
                let rank = &mut ranks[usize::from(is_whole) * 3 + kind.byte() as usize % 3];
                if rank.len() < request.limit {
                    rank.push((is_whole, kind, docno, at));
                } else {
                    let_go += 1;
                }
            }
        }
        if bounded {
            candidates.extend(ranks.into_iter().flatten());
        }
        let weight = |kind: Kind| match kind {
            Kind::Commitment => 2,
            Kind::Reply => 1,
            Kind::Progress => 0,
        };
        let order = |&(whole, kind, docno, _): &Candidate| std::cmp::Reverse((whole, weight(kind), docno));
        let newest = self.store.head()?.seq.max(1) as f64;
        // Without filters every candidate is a hit (the index is exact): only the best `limit` are put in order and
        // read, the others counted. With filters each is read and judged, in order.
        let mut partial = !filtered && candidates.len() > request.limit;
        if partial {
            candidates.select_nth_unstable_by_key(request.limit, order);
            candidates[..request.limit].sort_unstable_by_key(order);
        } else {
            candidates.sort_unstable_by_key(order);
        }
        let key = |doc: &Doc| (doc.kind, doc.item, if doc.kind == Kind::Progress { doc.seq } else { 0 });
        let mut hits = Vec::new();
        let mut keys = Vec::new();
        let mut total = 0;
        let mut at_candidate = 0;
        while at_candidate < candidates.len() {
            if partial && at_candidate == request.limit && hits.len() < request.limit {
                // One of the best could not be shown: the next best are among the rest, not yet in order.
                candidates[at_candidate..].sort_unstable_by_key(order);
                partial = false;
            }
            let (whole, _, docno, at) = candidates[at_candidate];
            at_candidate += 1;
            if !filtered && hits.len() >= request.limit {
                total += 1;
                if request.keys {
                    keys.push(key(&sources[at].doc(docno)?));
                }
                continue;
            }
            let doc = sources[at].doc(docno)?;
            let score =
                f64::from(u8::from(whole)) * 100.0 + f64::from(weight(doc.kind)) * 10.0 + doc.seq as f64 / newest;
            let Some(hit) = self.resolve_hit(&doc, terms, score, request, view, visible)? else { continue };
            total += 1;
            if request.keys {
                keys.push(key(&doc));
            }
            if hits.len() < request.limit {
                hits.push(hit);
            }
        }
        if let_go > 0 && hits.len() < request.limit {
            return Ok(None);
        }
        total += let_go;
        keys.sort();
        let terms = terms.iter().map(String::from_iter).collect();
        Ok(Some(Found { hits, total, terms, keys }))
    }

    /// A candidate as a hit, if it passes the filters and the caller may see it.
    fn resolve_hit(
        &self,
        doc: &Doc,
        terms: &[Vec<char>],
        score: f64,
        request: &SearchRequest,
        view: &View,
        visible: &Visible,
    ) -> Result<Option<Hit>> {
        let horizon = view.horizon;
        let filter = &request.filter;
        let reply_state = |id: &Ulid| -> Result<Option<ReplyState>> {
            if horizon.is_everything() {
                Ok(self.store.reply(id)?)
            } else {
                Ok(Some(ReplyState::fold(&self.stream_at(id, horizon)?)))
            }
        };
        let (text, status, reply_id, id) = match doc.kind {
            Kind::Reply => {
                let Some(reply) = reply_state(&doc.item)? else { return Ok(None) };
                let Some(registered) = &reply.registered else { return Ok(None) };
                // A reply has no status: a filter by status or due date leaves replies out.
                let status_asked =
                    !filter.statuses.is_empty() || filter.active || filter.overdue || filter.due_within.is_some();
                let passes = !status_asked
                    && filter.organ.as_ref().is_none_or(|organ| organ.matches(&registered.organ))
                    && filter.reply_fields_hold(Some(&reply));
                if !passes || !(visible.reply)(&reply) {
                    return Ok(None);
                }
                (reply_text(registered), None, Some(doc.item), doc.item)
            }
            Kind::Commitment | Kind::Progress => {
                let state = if horizon.is_everything() {
                    self.store.commitment(&doc.item)?
                } else {
                    Some(CommitmentState::fold(&self.stream_at(&doc.item, horizon)?))
                };
                let Some(state) = state.filter(|s| s.made_on.is_some()) else { return Ok(None) };
                let reply = match state.reply {
                    Some(id) => reply_state(&id)?,
                    None => None,
                };
                let status = status(&state, view.on_date, view.policy);
                if !filter.keeps(&state, reply.as_ref(), status, view.on_date, view.policy)
                    || !(visible.commitment)(&state, reply.as_ref())
                {
                    return Ok(None);
                }
                let text = match doc.kind {
                    Kind::Commitment => state.text.clone(),
                    _ => self.summary_at(doc.seq)?,
                };
                (text, Some(status), state.reply, doc.item)
            }
        };
        // The fold is the judge: a text that no longer holds every term (a later correction the index saw as a
        // replacement but the horizon cut differently) is not a hit.
        let folded = fold(&text);
        if !terms.iter().all(|term| text::find(&folded, term).is_some()) {
            return Ok(None);
        }
        Ok(Some(Hit {
            kind: doc.kind,
            id,
            short_id: self.store.short_id(&id)?,
            reply_id,
            status,
            snippet: text::snippet(&text, terms, 24),
            score: (score * 1000.0).round() / 1000.0,
            seq: doc.seq,
            occurred_on: doc.occurred_on,
        }))
    }

    /// The summary of the progress report or closure at `seq`.
    fn summary_at(&self, seq: u64) -> Result<String> {
        let summary = self.store.event_at(seq)?.and_then(|envelope| match envelope.event {
            Event::ProgressReported(progress) => Some(progress.summary),
            Event::Closed(closed) => Some(closed.summary),
            _ => None,
        });
        summary.ok_or_else(|| damaged("进展记录不在日志中"))
    }

    /// After an append: indexes the tail as a segment once it is [`TAIL_EVENTS`] long, and merges. Called by every
    /// write; what it cannot do now (another thread is at it, a fault) a later write or `rebuild` does — queries
    /// index the tail themselves meanwhile, so no answer waits for it.
    pub fn index_behind(&self) {
        let Ok(_indexing) = self.indexing.try_lock() else { return };
        let Ok(Some(_shared)) = self.store.lock_derived(false) else { return };
        let _ = self.index_tail(TAIL_EVENTS, CATCH_UP_EVENTS);
    }

    /// Indexes the whole tail now (after a restore, or a bulk load that bypassed the writes' upkeep), step after
    /// step; then makes the last head durable and removes the files it does not name.
    pub fn index_search(&self) -> Result<()> {
        let _indexing = self.indexing.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let _shared = self.store.lock_derived(true)?;
        while self.index_step(1, u64::from(MAX_SEGMENT_DOCS), false)? {}
        if let Some(head) = self.search_head()? {
            self.store.sync_derived()?;
            self.remove_unnamed_segments(&head)?;
        }
        Ok(())
    }

    /// Indexes the tail (at most `at_most` events of it) if it is at least `at_least` events long; whether it did.
    /// Called after appends (each of which synced the store, and with it the last head written).
    pub(crate) fn index_tail(&self, at_least: u64, at_most: u64) -> Result<bool> {
        self.index_step(at_least, at_most, true)
    }

    /// As [`App::index_tail`]; `collect`: remove the files the stored head does not name, before the step (files a
    /// crash kept from their head) and after it (the segments a merge replaced, once the new head is durable: one
    /// `fsync` a step, every [`TAIL_EVENTS`] events, against a merge's inputs lying on disk beside its output until
    /// the next step — a daily-use round's size moved by megabytes with them at a million events).
    fn index_step(&self, at_least: u64, at_most: u64, collect: bool) -> Result<bool> {
        let head_seq = self.store.head()?.seq;
        let mut head = self.search_head()?.unwrap_or(Head { format: FORMAT, ..Head::default() });
        if head_seq.saturating_sub(head.covered) < at_least.max(1) {
            return Ok(false);
        }
        // Files no durable head names (a crash between a step's files and its head).
        if collect {
            self.remove_unnamed_segments(&head)?;
        }
        let (mut segment, covered) = self.tail(&head, at_most)?;
        // Merge with the newest segments while the newer is at least a quarter of the one before.
        while let Some(last) = head.segments.last().copied() {
            let newer = segment.docs.len() as u32;
            if newer * 4 < last.docs || newer + last.docs > MAX_SEGMENT_DOCS {
                break;
            }
            let older = self.load_segment(last)?;
            head.segments.pop();
            segment = older.merge(segment)?;
        }
        let id = head.next_id;
        head.next_id += 1;
        if !segment.docs.is_empty() {
            self.store.write_derived_file(&segment_name(id), &file::encode(&segment)?)?;
            head.segments.push(SegmentInfo { id, base: segment.base, docs: segment.docs.len() as u32 });
        }
        head.covered = covered.max(head.covered);
        let encoded = serde_json::to_vec(&head).map_err(|_| damaged("索引头"))?;
        self.store.write_derived(vec![(HEAD_KEY.to_vec(), Some(encoded))])?;
        if collect {
            self.store.sync_derived()?;
            self.remove_unnamed_segments(&head)?;
        }
        Ok(true)
    }

    /// Removes the segment files `head` does not name (replaced by a merge, or written by an index step that a
    /// crash kept from its head).
    fn remove_unnamed_segments(&self, head: &Head) -> Result<()> {
        let named: Vec<String> = head.segments.iter().map(|s| segment_name(s.id)).collect();
        for name in self.store.derived_file_names()? {
            if name.starts_with("search-") && !named.contains(&name) {
                self.store.remove_derived_file(&name)?;
            }
        }
        Ok(())
    }

    /// A stored segment, whole.
    fn load_segment(&self, info: SegmentInfo) -> Result<Segment> {
        let file = self.segment_file(info)?;
        let mut segment = Segment { base: info.base, ..Segment::default() };
        if file.block_count() != info.docs.div_ceil(BLOCK_DOCS) {
            return Err(damaged("文档块数"));
        }
        for block in 0..file.block_count() {
            segment.docs.extend(index::decode_block(&file.block(block)?)?);
        }
        if segment.docs.len() != info.docs as usize {
            return Err(damaged("文档数"));
        }
        segment.postings = file.postings()?;
        Ok(segment)
    }

    /// Derives the index afresh from the whole log, compares it with the stored one segment by segment (keeping the
    /// stored segments' bounds where they are sound), and writes what differed.
    pub fn rebuild_search(&self) -> Result<SearchRebuilt> {
        let _shared = self.store.lock_derived(true)?;
        let (old, unreadable) = match self.search_head() {
            Ok(old) => (old, false),
            Err(_) => (None, true),
        };
        let old_end = old.as_ref().map_or(0, Head::next_doc);
        // The stored bounds, if they tile the documents from 0 without gaps.
        let bounds: Vec<SegmentInfo> = old
            .as_ref()
            .filter(|head| {
                head.segments.iter().try_fold(0, |next, s| (s.base == next).then_some(next + s.docs)).is_some()
            })
            .map(|head| head.segments.clone())
            .unwrap_or_default();
        let mut next_id = old.as_ref().map_or(0, |head| head.next_id);
        let mut fresh = Head { format: FORMAT, ..Head::default() };
        let mut rebuilt = SearchRebuilt::default();
        let mut builder = Builder::new(0);
        let mut failure: Option<AppError> = None;
        let mut finish = |builder: Builder, fresh: &mut Head, rebuilt: &mut SearchRebuilt| -> Result<()> {
            let segment = builder.finish();
            let stored = bounds.iter().find(|s| s.base == segment.base && s.docs as usize == segment.docs.len());
            let same = stored.is_some_and(|&info| self.load_segment(info).is_ok_and(|old| old == segment));
            let info = match (same, stored) {
                (true, Some(&info)) => info,
                _ => {
                    if segment.base < old_end {
                        rebuilt.differed += 1;
                    } else {
                        rebuilt.newly_indexed += segment.docs.len() as u64;
                    }
                    let id = next_id;
                    next_id += 1;
                    self.store.write_derived_file(&segment_name(id), &file::encode(&segment)?)?;
                    SegmentInfo { id, base: segment.base, docs: segment.docs.len() as u32 }
                }
            };
            fresh.segments.push(info);
            rebuilt.segments += 1;
            Ok(())
        };
        let covered = texts_from(self, 1, u64::MAX, &mut |doc, text| {
            if failure.is_some() {
                return;
            }
            let base = builder.next_doc();
            // Where a stored segment ends, or the most a segment holds: a segment ends here.
            let ends = bounds.iter().any(|s| s.base + s.docs == base && s.docs > 0)
                || builder.len() as u32 >= MAX_SEGMENT_DOCS;
            if ends && builder.len() > 0 {
                let full = std::mem::replace(&mut builder, Builder::new(base));
                if let Err(error) = finish(full, &mut fresh, &mut rebuilt) {
                    failure = Some(error);
                }
            }
            rebuilt.documents += 1;
            builder.add(doc, text);
        })?;
        if let Some(error) = failure {
            return Err(error);
        }
        if builder.len() > 0 {
            finish(builder, &mut fresh, &mut rebuilt)?;
        }
        fresh.covered = covered;
        fresh.next_id = next_id;
        if unreadable {
            rebuilt.differed = rebuilt.differed.max(1);
        }
        self.store.write_derived(vec![(
            HEAD_KEY.to_vec(),
            Some(serde_json::to_vec(&fresh).map_err(|_| damaged("索引头"))?),
        )])?;
        // Format 1's segments (derived values), if the store still holds them. The files the new head does not name
        // are removed by the next index step, once this head is durable.
        let stale: Vec<(Vec<u8>, Option<Vec<u8>>)> =
            self.store.derived_keys(FORMAT_1_SEGMENTS)?.into_iter().map(|key| (key, None)).collect();
        for batch in stale.chunks(65_536) {
            self.store.write_derived(batch.to_vec())?;
        }
        Ok(rebuilt)
    }
}

fn is_default(filter: &ListFilter) -> bool {
    filter.statuses.is_empty()
        && !filter.active
        && !filter.overdue
        && filter.due_within.is_none()
        && filter.organ.is_none()
        && filter.year.is_none()
        && filter.proposal.is_none()
}

/// Every searchable text of a log as folded at one horizon, for a plain substring scan: what the index must agree
/// with (the tests and the search benchmark check it query by query).
pub struct Scan {
    texts: Vec<(Kind, Ulid, u64, Vec<char>)>,
}

impl Scan {
    pub fn new(events: &[Envelope], horizon: Horizon) -> Scan {
        let mut folded = duban_domain::Folded::default();
        let mut progress = Vec::new();
        for envelope in events.iter().filter(|e| horizon.admits(e)) {
            folded.apply(envelope);
            match &envelope.event {
                Event::ProgressReported(p) => progress.push((envelope.stream, envelope.seq, p.summary.clone())),
                Event::Closed(c) if !c.summary.trim().is_empty() => {
                    progress.push((envelope.stream, envelope.seq, c.summary.clone()))
                }
                _ => {}
            }
        }
        folded.finish();
        let made = |id: &Ulid| folded.commitments.get(id).is_some_and(|s| s.made_on.is_some());
        let mut texts = Vec::new();
        for (id, state) in &folded.commitments {
            if made(id) {
                texts.push((Kind::Commitment, *id, 0, fold(&state.text)));
            }
        }
        for (id, reply) in &folded.replies {
            if let Some(registered) = &reply.registered {
                texts.push((Kind::Reply, *id, 0, fold(&reply_text(registered))));
            }
        }
        for (id, seq, summary) in progress {
            if made(&id) {
                texts.push((Kind::Progress, id, seq, fold(&summary)));
            }
        }
        Scan { texts }
    }

    /// The items whose text holds every term of `query`: kind, id and (for progress) the report's seq; sorted.
    pub fn query(&self, query: &str) -> Vec<(Kind, Ulid, u64)> {
        let terms = terms(query);
        let mut out: Vec<(Kind, Ulid, u64)> = self
            .texts
            .iter()
            .filter(|(_, _, _, text)| !terms.is_empty() && terms.iter().all(|t| text::find(text, t).is_some()))
            .map(|(kind, id, seq, _)| (*kind, *id, *seq))
            .collect();
        out.sort();
        out
    }
}
