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
    let flat = Flat::decode(bytes, positional)?;
    Ok(flat.docs.iter().enumerate().map(|(at, docno)| (*docno, flat.positions(at).to_vec())).collect())
}

fn put_varint(bytes: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        bytes.push((value as u8) | 0x80);
        value >>= 7;
    }
    bytes.push(value as u8);
}

fn get_varint(bytes: &[u8], at: &mut usize) -> Result<u64, Damaged> {
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

/// A posting list decoded flat: its documents, and (a bigram's) where each one's positions start in `positions`.
#[derive(Debug)]
pub struct Flat {
    docs: Vec<u32>,
    starts: Vec<u32>,
    positions: Vec<u32>,
}

impl Flat {
    /// A stored posting list of `gram`, decoded (a bigram's with its positions).
    pub fn of(gram: &[u8], bytes: &[u8]) -> Result<Flat, Damaged> {
        Flat::decode(bytes, gram.first() == Some(&b'b'))
    }

    /// What it takes in memory.
    pub fn bytes(&self) -> usize {
        std::mem::size_of::<Flat>() + 4 * (self.docs.len() + self.starts.len() + self.positions.len())
    }

    fn decode(bytes: &[u8], positional: bool) -> Result<Flat, Damaged> {
        let mut flat = Flat { docs: Vec::new(), starts: Vec::new(), positions: Vec::new() };
        let mut at = 0;
        while at < bytes.len() {
            let delta = u32::try_from(get_varint(bytes, &mut at)?).map_err(|_| Damaged)?;
            let docno = match flat.docs.last() {
                Some(previous) => previous.checked_add(delta).filter(|_| delta > 0).ok_or(Damaged)?,
                None => delta,
            };
            flat.docs.push(docno);
            flat.starts.push(flat.positions.len() as u32);
            if !positional {
                continue;
            }
            let count = get_varint(bytes, &mut at)?;
            if count == 0 || count > bytes.len() as u64 {
                return Err(Damaged);
            }
            let mut position = 0u32;
            for _ in 0..count {
                let step = u32::try_from(get_varint(bytes, &mut at)?).map_err(|_| Damaged)?;
                position = position.checked_add(step).ok_or(Damaged)?;
                flat.positions.push(position);
            }
        }
        Ok(flat)
    }

    fn positions(&self, at: usize) -> &[u32] {
        let from = self.starts[at] as usize;
        let to = self.starts.get(at + 1).map_or(self.positions.len(), |&end| end as usize);
        &self.positions[from..to]
    }
}

/// The index of the first of `sorted` that is at least `wanted` (its length if none is): by doubling steps, then
/// halving, so that finding a document near the last one found costs a step or two.
fn gallop(sorted: &[u32], wanted: u32) -> usize {
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

/// The documents whose text contains `term`, given a way to read posting lists; sorted.
pub fn matching(term: &[char], posting: &mut Postings) -> Result<Vec<u32>, Damaged> {
    match term {
        [] => Ok(Vec::new()),
        [c] => Ok(posting(&unigram(*c))?.map_or_else(Vec::new, |list| list.docs.clone())),
        _ => {
            let mut lists = Vec::with_capacity(term.len() - 1);
            for pair in term.windows(2) {
                match posting(&bigram(pair[0], pair[1]))? {
                    Some(list) => lists.push(list),
                    None => return Ok(Vec::new()),
                }
            }
            // Walk the shortest list; find each document in the others from where the last one was found (all are
            // in document order, so no list is searched twice over).
            let anchor = (0..lists.len()).min_by_key(|&i| lists[i].docs.len()).unwrap_or(0);
            let mut out = Vec::new();
            let mut found: Vec<&[u32]> = Vec::with_capacity(lists.len());
            let mut cursors = vec![0; lists.len()];
            'docs: for (at, docno) in lists[anchor].docs.iter().enumerate() {
                found.clear();
                for (i, (list, cursor)) in lists.iter().zip(cursors.iter_mut()).enumerate() {
                    if i == anchor {
                        found.push(list.positions(at));
                        continue;
                    }
                    *cursor += gallop(&list.docs[*cursor..], *docno);
                    if list.docs.get(*cursor) != Some(docno) {
                        continue 'docs;
                    }
                    found.push(list.positions(*cursor));
                }
                let starts = lists[anchor].positions(at).iter().filter_map(|p| p.checked_sub(anchor as u32));
                for start in starts {
                    if found
                        .iter()
                        .enumerate()
                        .all(|(i, positions)| positions.binary_search(&(start + i as u32)).is_ok())
                    {
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
        matching(&fold(term), &mut |gram| {
            segment.postings.get(gram).map(|bytes| Flat::of(gram, bytes).map(Arc::new)).transpose()
        })
        .unwrap()
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
