//! The search index: character bigrams with their positions, and single characters, over every searchable text
//! (see `text.rs`), in segments. Exact by construction: a term of two or more characters matches a text exactly
//! when its bigrams occur there one after another, and the positions say whether they do — no text is read to
//! check a match. Why bigrams and not a word segmenter: [decision 0016](../../../../docs/decisions/0016-search-by-character-bigrams.md).
//!
//! A segment covers consecutive documents (texts, numbered in log order from 0); its postings are stored one key
//! per character or bigram, its documents' metadata in blocks, so that a query reads the postings of its own
//! characters and the metadata of its hits, not the segment. Postings are varint-encoded deltas: for a single
//! character the documents that contain it, for a bigram each document with the positions it starts at.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use ulid::Ulid;

use super::text::{Doc, Kind};

/// Documents per metadata block.
pub const BLOCK_DOCS: u32 = 1024;
/// Bytes of one document's metadata: kind and flags, item, seq, recorded (µs), occurred (days).
const DOC_BYTES: usize = 1 + 16 + 8 + 8 + 4;

/// A posting list's key: `u` and the character, or `b` and the two characters.
pub type Gram = Vec<u8>;

pub fn unigram(c: char) -> Gram {
    let mut key = vec![b'u'];
    key.extend(c.encode_utf8(&mut [0; 4]).as_bytes());
    key
}

pub fn bigram(a: char, b: char) -> Gram {
    let mut key = vec![b'b'];
    key.extend(a.encode_utf8(&mut [0; 4]).as_bytes());
    key.extend(b.encode_utf8(&mut [0; 4]).as_bytes());
    key
}

/// A segment, whole in memory: as built from texts, as merged, or as loaded to be merged or compared.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Segment {
    /// The number of its first document.
    pub base: u32,
    pub docs: Vec<Doc>,
    pub postings: BTreeMap<Gram, Vec<u8>>,
}

/// A posting list being written: its bytes and the last document in it.
#[derive(Default)]
struct Writer {
    bytes: Vec<u8>,
    last: Option<u32>,
}

impl Writer {
    fn doc(&mut self, docno: u32) {
        let delta = match self.last {
            Some(last) => docno - last,
            None => docno,
        };
        put_varint(&mut self.bytes, u64::from(delta));
        self.last = Some(docno);
    }

    fn positions(&mut self, positions: &[u32]) {
        put_varint(&mut self.bytes, positions.len() as u64);
        let mut previous = 0;
        for &position in positions {
            put_varint(&mut self.bytes, u64::from(position - previous));
            previous = position;
        }
    }
}

/// Builds a segment one text at a time (a whole log's texts are never held at once).
pub struct Builder {
    base: u32,
    docs: Vec<Doc>,
    unigrams: HashMap<char, Writer>,
    bigrams: HashMap<(char, char), Writer>,
    here: HashMap<(char, char), Vec<u32>>,
    seen: Vec<char>,
}

impl Builder {
    pub fn new(base: u32) -> Builder {
        Builder {
            base,
            docs: Vec::new(),
            unigrams: HashMap::new(),
            bigrams: HashMap::new(),
            here: HashMap::new(),
            seen: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// The number the next document added gets.
    pub fn next_doc(&self) -> u32 {
        self.base + self.docs.len() as u32
    }

    pub fn add(&mut self, doc: Doc, text: &[char]) {
        let docno = self.base + self.docs.len() as u32;
        self.docs.push(doc);
        self.seen.clear();
        self.seen.extend(text);
        self.seen.sort_unstable();
        self.seen.dedup();
        for &c in &self.seen {
            self.unigrams.entry(c).or_default().doc(docno);
        }
        self.here.clear();
        for (position, pair) in text.windows(2).enumerate() {
            self.here.entry((pair[0], pair[1])).or_default().push(position as u32);
        }
        for (pair, positions) in self.here.drain() {
            let writer = self.bigrams.entry(pair).or_default();
            writer.doc(docno);
            writer.positions(&positions);
        }
    }

    pub fn finish(self) -> Segment {
        let postings = self
            .unigrams
            .into_iter()
            .map(|(c, writer)| (unigram(c), writer.bytes))
            .chain(self.bigrams.into_iter().map(|((a, b), writer)| (bigram(a, b), writer.bytes)))
            .collect();
        Segment { base: self.base, docs: self.docs, postings }
    }
}

impl Segment {
    #[cfg(test)]
    /// Indexes `texts` (folded) as documents `base`, `base + 1`, ….
    pub fn build(base: u32, texts: Vec<(Doc, Vec<char>)>) -> Segment {
        let mut builder = Builder::new(base);
        for (doc, text) in texts {
            builder.add(doc, &text);
        }
        builder.finish()
    }

    /// This segment followed by `newer` (which starts where this one ends), as one.
    pub fn merge(mut self, newer: Segment) -> Result<Segment, Damaged> {
        for (gram, bytes) in newer.postings {
            let positional = gram.first() == Some(&b'b');
            let entry = self.postings.entry(gram).or_default();
            let last = decode(entry, positional)?.last().map(|(docno, _)| *docno);
            let mut writer = Writer { bytes: std::mem::take(entry), last };
            for (docno, positions) in decode(&bytes, positional)? {
                writer.doc(docno);
                if positional {
                    writer.positions(&positions);
                }
            }
            *entry = writer.bytes;
        }
        self.docs.extend(newer.docs);
        Ok(self)
    }

    /// The metadata block `block` (of [`BLOCK_DOCS`] documents from `base`), encoded.
    pub fn block(&self, block: u32) -> Vec<u8> {
        let from = (block * BLOCK_DOCS) as usize;
        let to = (from + BLOCK_DOCS as usize).min(self.docs.len());
        let mut bytes = Vec::with_capacity((to - from) * DOC_BYTES);
        for doc in &self.docs[from..to] {
            bytes.push(doc.kind.byte() | if doc.replaces { 0x80 } else { 0 });
            bytes.extend(doc.item.0.to_be_bytes());
            bytes.extend(doc.seq.to_le_bytes());
            bytes.extend(doc.recorded_at.timestamp_micros().to_le_bytes());
            bytes.extend(days(doc.occurred_on).to_le_bytes());
        }
        bytes
    }

    /// Each document's kind, one byte each.
    pub fn kinds(&self) -> Vec<u8> {
        self.docs.iter().map(|doc| doc.kind.byte()).collect()
    }

    pub fn blocks(&self) -> u32 {
        (self.docs.len() as u32).div_ceil(BLOCK_DOCS)
    }
}

fn days(date: NaiveDate) -> i32 {
    date.num_days_from_ce()
}

use chrono::Datelike;

/// Stored index data that does not decode: the way out is `duban rebuild`.
#[derive(Debug)]
pub struct Damaged;

/// Decodes one metadata block.
pub fn decode_block(bytes: &[u8]) -> Result<Vec<Doc>, Damaged> {
    if !bytes.len().is_multiple_of(DOC_BYTES) {
        return Err(Damaged);
    }
    (0..bytes.len() / DOC_BYTES).map(|at| decode_doc(bytes, at)).collect()
}

/// Decodes document `at` of a metadata block.
pub fn decode_doc(bytes: &[u8], at: usize) -> Result<Doc, Damaged> {
    bytes.get(at * DOC_BYTES..(at + 1) * DOC_BYTES).ok_or(Damaged).and_then(|doc| {
        let kind = Kind::from_byte(doc[0] & 0x7F).ok_or(Damaged)?;
        let item = Ulid(u128::from_be_bytes(doc[1..17].try_into().map_err(|_| Damaged)?));
        let seq = u64::from_le_bytes(doc[17..25].try_into().map_err(|_| Damaged)?);
        let micros = i64::from_le_bytes(doc[25..33].try_into().map_err(|_| Damaged)?);
        let days = i32::from_le_bytes(doc[33..37].try_into().map_err(|_| Damaged)?);
        Ok(Doc {
            kind,
            item,
            seq,
            recorded_at: DateTime::<Utc>::from_timestamp_micros(micros).ok_or(Damaged)?,
            occurred_on: NaiveDate::from_num_days_from_ce_opt(days).ok_or(Damaged)?,
            replaces: doc[0] & 0x80 != 0,
        })
    })
}

/// A posting list decoded: each document with the positions a bigram starts at (none for a single character).
pub fn decode(bytes: &[u8], positional: bool) -> Result<Vec<(u32, Vec<u32>)>, Damaged> {
    let flat = Flat::decode(bytes.to_vec(), positional)?;
    let mut positions = Vec::new();
    let mut out = Vec::with_capacity(flat.docs.len());
    for (at, docno) in flat.docs.iter().enumerate() {
        if positional {
            flat.positions(at, &mut positions)?;
        }
        out.push((*docno, positions.clone()));
    }
    Ok(out)
}

fn put_varint(bytes: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        bytes.push((value as u8) | 0x80);
        value >>= 7;
    }
    bytes.push(value as u8);
}

#[inline(always)]
fn get_varint(bytes: &[u8], at: &mut usize) -> Result<u64, Damaged> {
    // Most deltas, counts and positions are below 128: one byte.
    let first = *bytes.get(*at).ok_or(Damaged)?;
    if first < 0x80 {
        *at += 1;
        return Ok(u64::from(first));
    }
    get_long_varint(bytes, at)
}

#[inline(never)]
fn get_long_varint(bytes: &[u8], at: &mut usize) -> Result<u64, Damaged> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at).ok_or(Damaged)?;
        *at += 1;
        value |= u64::from(byte & 0x7F) << shift;
        if byte < 0x80 {
            return Ok(value);
        }
    }
    Err(Damaged)
}

/// A posting list decoded flat: its documents, and (a bigram's) where each one's positions start in the list as
/// stored, which it keeps. A query needs the positions of the few documents every bigram of a term has in common,
/// so they are decoded when asked for; the stored form is also the smaller one to keep in a cache.
#[derive(Debug)]
pub struct Flat {
    docs: Vec<u32>,
    starts: Vec<u32>,
    stored: Vec<u8>,
}

impl Flat {
    /// A stored posting list of `gram`, decoded (a bigram's positions left where they are).
    pub fn of(gram: &[u8], bytes: Vec<u8>) -> Result<Flat, Damaged> {
        Flat::decode(bytes, gram.first() == Some(&b'b'))
    }

    /// What it takes in memory.
    pub fn bytes(&self) -> usize {
        std::mem::size_of::<Flat>() + 4 * (self.docs.len() + self.starts.len()) + self.stored.len()
    }

    fn decode(bytes: Vec<u8>, positional: bool) -> Result<Flat, Damaged> {
        // A document takes at least two bytes with its positions (delta, count, a position: usually three).
        let guess = if positional { bytes.len() / 3 } else { bytes.len() };
        let mut flat = Flat {
            docs: Vec::with_capacity(guess),
            starts: Vec::with_capacity(if positional { guess } else { 0 }),
            stored: Vec::new(),
        };
        let mut at = 0;
        let mut previous: Option<u32> = None;
        while at < bytes.len() {
            let delta = u32::try_from(get_varint(&bytes, &mut at)?).map_err(|_| Damaged)?;
            let docno = match previous {
                Some(previous) => previous.checked_add(delta).filter(|_| delta > 0).ok_or(Damaged)?,
                None => delta,
            };
            previous = Some(docno);
            flat.docs.push(docno);
            if !positional {
                continue;
            }
            flat.starts.push(at as u32);
            let count = get_varint(&bytes, &mut at)?;
            if count == 0 || count > (bytes.len() - at) as u64 {
                return Err(Damaged);
            }
            // Past `count` varints: each ends with a byte below 0x80.
            let mut left = count;
            while left > 0 {
                let byte = *bytes.get(at).ok_or(Damaged)?;
                at += 1;
                left -= u64::from(byte < 0x80);
            }
        }
        if positional {
            flat.stored = bytes;
        }
        Ok(flat)
    }

    /// The position of document `at` (by its place in the list) if it has one only (the common case: a bigram
    /// seldom occurs twice in a text).
    #[inline]
    fn single(&self, at: usize) -> Result<Option<u32>, Damaged> {
        let mut from = *self.starts.get(at).ok_or(Damaged)? as usize;
        if get_varint(&self.stored, &mut from)? != 1 {
            return Ok(None);
        }
        Ok(Some(u32::try_from(get_varint(&self.stored, &mut from)?).map_err(|_| Damaged)?))
    }

    /// The positions of document `at` (by its place in the list), into `out`.
    fn positions(&self, at: usize, out: &mut Vec<u32>) -> Result<(), Damaged> {
        out.clear();
        let mut from = *self.starts.get(at).ok_or(Damaged)? as usize;
        let count = get_varint(&self.stored, &mut from)?;
        let mut position = 0u32;
        for _ in 0..count {
            let step = u32::try_from(get_varint(&self.stored, &mut from)?).map_err(|_| Damaged)?;
            position = position.checked_add(step).ok_or(Damaged)?;
            out.push(position);
        }
        Ok(())
    }
}

/// The index of the first of `sorted` that is at least `wanted` (its length if none is): by doubling steps, then
/// halving, so that finding a document near the last one found costs a step or two.
#[inline]
fn gallop(sorted: &[u32], wanted: u32) -> usize {
    // Where lists overlap densely the next document is the one at hand.
    match sorted.first() {
        Some(&first) if first >= wanted => return 0,
        None => return 0,
        _ => {}
    }
    let mut high = 1;
    while high < sorted.len() && sorted[high - 1] < wanted {
        high *= 2;
    }
    let low = high / 2;
    let high = high.min(sorted.len());
    low + sorted[low..high].partition_point(|&docno| docno < wanted)
}

/// A way to read a posting list by its gram, decoded (`None`: no document has it).
pub type Postings<'a> = dyn FnMut(&Gram) -> Result<Option<Arc<Flat>>, Damaged> + 'a;

/// The documents of `docs` that are also in `within` (all of them without it); sorted.
fn restricted(docs: &[u32], within: Option<&[u32]>) -> Vec<u32> {
    let Some(within) = within else { return docs.to_vec() };
    let (short, long) = if within.len() < docs.len() { (within, docs) } else { (docs, within) };
    let mut cursor = 0;
    let mut out = Vec::new();
    for &docno in short {
        cursor += gallop(&long[cursor..], docno);
        if long.get(cursor) == Some(&docno) {
            out.push(docno);
        }
    }
    out
}

/// The documents whose text contains `term` — of `within`'s, when given (the documents the terms before it
/// matched) — given a way to read posting lists; sorted.
pub fn matching(term: &[char], posting: &mut Postings, within: Option<&[u32]>) -> Result<Vec<u32>, Damaged> {
    if within.is_some_and(<[u32]>::is_empty) {
        return Ok(Vec::new());
    }
    match term {
        [] => Ok(Vec::new()),
        [c] => Ok(posting(&unigram(*c))?.map_or_else(Vec::new, |list| restricted(&list.docs, within))),
        // One bigram: every document in its list holds it.
        [a, b] => Ok(posting(&bigram(*a, *b))?.map_or_else(Vec::new, |list| restricted(&list.docs, within))),
        _ => {
            let mut lists = Vec::with_capacity(term.len() - 1);
            for pair in term.windows(2) {
                match posting(&bigram(pair[0], pair[1]))? {
                    Some(list) => lists.push(list),
                    None => return Ok(Vec::new()),
                }
            }
            // Walk the shortest list (or `within`, if shorter); find each document in the others from where the last
            // one was found (all are in document order, so no list is searched twice over). Only a document every
            // list holds has its positions read.
            let anchor = (0..lists.len()).min_by_key(|&i| lists[i].docs.len()).unwrap_or(0);
            let by_within = within.is_some_and(|within| within.len() < lists[anchor].docs.len());
            let (driver, within) = match within {
                Some(within) if by_within => (within, None),
                _ => (&lists[anchor].docs[..], within),
            };
            let mut out = Vec::new();
            let mut cursors = vec![0; lists.len()];
            let mut within_cursor = 0;
            let mut positions: Vec<Vec<u32>> = vec![Vec::new(); lists.len()];
            'docs: for (at, docno) in driver.iter().enumerate() {
                if let Some(within) = within {
                    within_cursor += gallop(&within[within_cursor..], *docno);
                    if within.get(within_cursor) != Some(docno) {
                        continue 'docs;
                    }
                }
                for (i, (list, cursor)) in lists.iter().zip(cursors.iter_mut()).enumerate() {
                    if i == anchor && !by_within {
                        *cursor = at;
                        continue;
                    }
                    *cursor += gallop(&list.docs[*cursor..], *docno);
                    if list.docs.get(*cursor) != Some(docno) {
                        continue 'docs;
                    }
                }
                // Each bigram once in the text (the common case): they follow each other or not.
                let mut singles = true;
                let mut follow = true;
                let mut start = None;
                for (i, (list, &cursor)) in lists.iter().zip(&cursors).enumerate() {
                    let Some(position) = list.single(cursor)? else {
                        singles = false;
                        break;
                    };
                    let begins = position.checked_sub(i as u32);
                    follow &= begins.is_some() && start.is_none_or(|start| begins == Some(start));
                    start = start.or(begins);
                }
                if singles {
                    if follow {
                        out.push(*docno);
                    }
                    continue;
                }
                for ((list, &cursor), positions) in lists.iter().zip(&cursors).zip(positions.iter_mut()) {
                    list.positions(cursor, positions)?;
                }
                let starts = positions[anchor].iter().filter_map(|p| p.checked_sub(anchor as u32));
                for start in starts {
                    if positions.iter().enumerate().all(|(i, held)| held.binary_search(&(start + i as u32)).is_ok()) {
                        out.push(*docno);
                        continue 'docs;
                    }
                }
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::text::fold;

    fn doc(seq: u64) -> Doc {
        Doc {
            kind: Kind::Commitment,
            item: Ulid(u128::from(seq)),
            seq,
            recorded_at: DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap(),
            occurred_on: NaiveDate::from_ymd_opt(2025, 3, 1).unwrap(),
            replaces: false,
        }
    }

    fn segment(base: u32, texts: &[&str]) -> Segment {
        Segment::build(
            base,
            texts.iter().enumerate().map(|(i, t)| (doc(u64::from(base) + i as u64), fold(t))).collect(),
        )
    }

    fn find(segment: &Segment, term: &str) -> Vec<u32> {
        find_within(segment, term, None)
    }

    fn find_within(segment: &Segment, term: &str, within: Option<&[u32]>) -> Vec<u32> {
        let mut posting = |gram: &Gram| {
            segment.postings.get(gram).map(|bytes| Flat::of(gram, bytes.clone()).map(Arc::new)).transpose()
        };
        matching(&fold(term), &mut posting, within).unwrap()
    }

    #[test]
    fn galloping_finds_what_a_binary_search_finds() {
        let sorted: Vec<u32> = (0..200).map(|i| i * 3 + i % 2).collect();
        for len in [0, 1, 2, 3, 5, 64, 199, 200] {
            for wanted in 0..620 {
                let list = &sorted[..len];
                assert_eq!(gallop(list, wanted), list.partition_point(|&d| d < wanted), "{len} {wanted}");
            }
        }
    }

    #[test]
    fn bigrams_match_only_where_they_follow_each_other() {
        let s = segment(0, &["验证概念平台", "概念验证平台", "概念，验证", "哈哈哈哈"]);
        assert_eq!(find(&s, "概念验证"), [1]);
        assert_eq!(find(&s, "概念"), [0, 1, 2]);
        assert_eq!(find(&s, "验"), [0, 1, 2]);
        assert_eq!(find(&s, "哈哈哈"), [3]);
        assert_eq!(find(&s, "哈哈哈哈哈"), Vec::<u32>::new());
        assert_eq!(find(&s, "平台概"), Vec::<u32>::new());
    }

    #[test]
    fn bigrams_that_each_occur_once_must_still_follow_each_other() {
        let s = segment(0, &["验证台证平", "验证平台", "证平验证", "验证平验证平"]);
        assert_eq!(find(&s, "验证平"), [1, 3]);
        assert_eq!(find(&s, "验证平台"), [1]);
        assert_eq!(find(&s, "证平验"), [2, 3]);
    }

    #[test]
    fn a_term_within_earlier_matches_keeps_only_those() {
        let s = segment(0, &["概念验证平台", "验证概念", "概念验证", "平台", "概念验证集市", "概念验证"]);
        let every: Vec<u32> = (0..6).collect();
        for term in ["概念验证", "概念", "验", "验证平台", "市"] {
            assert_eq!(find_within(&s, term, Some(&every)), find(&s, term), "{term}");
            // Driven by `within` (shorter than every list) and by the shortest list, as the lengths fall.
            for within in [&[2u32][..], &[0, 2], &[1, 2, 4], &[0, 1, 3, 4, 5]] {
                let expected: Vec<u32> = find(&s, term).into_iter().filter(|d| within.contains(d)).collect();
                assert_eq!(find_within(&s, term, Some(within)), expected, "{term} within {within:?}");
            }
            assert_eq!(find_within(&s, term, Some(&[])), Vec::<u32>::new());
        }
    }

    #[test]
    fn positions_are_read_only_when_asked_for_and_damage_there_is_an_error() {
        let s = segment(0, &["哈哈哈哈", "哈哈"]);
        let bytes = s.postings.get(&bigram('哈', '哈')).unwrap().clone();
        let flat = Flat::of(&bigram('哈', '哈'), bytes.clone()).unwrap();
        let mut positions = Vec::new();
        flat.positions(0, &mut positions).unwrap();
        assert_eq!(positions, [0, 1, 2]);
        assert_eq!(flat.single(0).unwrap(), None);
        assert_eq!(flat.single(1).unwrap(), Some(0));
        // A position's varint left unfinished at the end: the list does not decode.
        let mut cut = bytes;
        let last = cut.len() - 1;
        cut[last] |= 0x80;
        assert!(Flat::of(&bigram('哈', '哈'), cut).is_err());
        // A position longer than any varint: the list decodes (its documents are sound), reading the position fails.
        let mut long = vec![0, 1];
        long.extend([0x80; 10]);
        long.push(0x01);
        let flat = Flat::of(&bigram('哈', '哈'), long).unwrap();
        assert!(flat.single(0).is_err());
        assert!(flat.positions(0, &mut positions).is_err());
    }

    #[test]
    fn merged_segments_answer_as_one_built_whole() {
        let texts = ["概念验证平台", "协同创新集市", "平台验证", "概念验证集市"];
        let whole = segment(0, &texts);
        let merged = segment(0, &texts[..2]).merge(segment(2, &texts[2..])).unwrap();
        assert_eq!(merged, whole);
        let blocks: Vec<Doc> = (0..whole.blocks()).flat_map(|b| decode_block(&whole.block(b)).unwrap()).collect();
        assert_eq!(blocks, whole.docs);
    }

    #[test]
    fn damaged_postings_and_blocks_are_errors_not_panics() {
        for bytes in [vec![0x80], vec![1, 0], vec![1, 5, 1], vec![0xFF; 12]] {
            assert!(decode(&bytes, true).is_err(), "{bytes:?}");
        }
        assert!(decode_block(&[1; 36]).is_err());
        assert!(decode_block(&[9; 37]).is_err());
    }
}
