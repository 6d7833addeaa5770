//! A stored segment as one file of the store's derived files, written once and never changed: a query reads the
//! footer and a small table at open, then only the posting lists of its own characters and the metadata blocks of
//! its hits, each by one positional read and each checked by its CRC-32 (a damaged file is reported, with
//! `duban rebuild` as the way out, never read as a wrong answer).
//!
//! Layout: posting lists, metadata blocks, the kinds, the replacements, one after another; then the directory —
//! one entry per gram, in gram order: the gram padded with zeros to [`GRAM_BYTES`] (no gram holds a zero byte:
//! stored text has no NUL), its list's offset, length and CRC — in groups of [`GROUP`]; then the sparse table, each
//! group's first gram and its CRC; then the block table (offset, length, CRC per block); then a fixed footer.

use std::collections::BTreeMap;
use std::sync::Arc;

use duban_store::DerivedFile;

use super::index::{Damaged, Gram, Segment};
use crate::error::{AppError, Result};

const MAGIC: &[u8; 8] = b"DBSEG\x00\x00\x01";
/// The longest gram: `b` and two characters of up to four bytes.
const GRAM_BYTES: usize = 9;
const ENTRY_BYTES: usize = GRAM_BYTES + 12;
/// Directory entries per group: what one read of the directory brings.
const GROUP: usize = 64;
const SPARSE_BYTES: usize = GRAM_BYTES + 4;
const FOOTER_BYTES: usize = 64;

fn crc(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

fn padded(gram: &[u8]) -> Option<[u8; GRAM_BYTES]> {
    let mut key = [0u8; GRAM_BYTES];
    key.get_mut(..gram.len())?.copy_from_slice(gram);
    Some(key)
}

fn unpadded(key: &[u8]) -> Gram {
    let end = key.iter().position(|&b| b == 0).unwrap_or(key.len());
    key[..end].to_vec()
}

fn u32_at(bytes: &[u8], at: usize) -> std::result::Result<u32, Damaged> {
    Ok(u32::from_le_bytes(bytes.get(at..at + 4).ok_or(Damaged)?.try_into().map_err(|_| Damaged)?))
}

/// Where a piece is: offset, length and CRC.
#[derive(Clone, Copy, Debug)]
struct Piece {
    offset: u32,
    len: u32,
    crc: u32,
}

impl Piece {
    fn put(self, out: &mut Vec<u8>) {
        out.extend(self.offset.to_le_bytes());
        out.extend(self.len.to_le_bytes());
        out.extend(self.crc.to_le_bytes());
    }

    fn at(bytes: &[u8], at: usize) -> std::result::Result<Piece, Damaged> {
        Ok(Piece { offset: u32_at(bytes, at)?, len: u32_at(bytes, at + 4)?, crc: u32_at(bytes, at + 8)? })
    }
}

/// Appends `bytes` to `out` as a piece.
fn piece(out: &mut Vec<u8>, bytes: &[u8]) -> Piece {
    let piece = Piece { offset: out.len() as u32, len: bytes.len() as u32, crc: crc(bytes) };
    out.extend_from_slice(bytes);
    piece
}

/// The file of `segment`. Refused (never written wrong) for a gram longer than a gram can be, or a segment past
/// 4 GiB (a segment holds at most `MAX_SEGMENT_DOCS` texts).
pub fn encode(segment: &Segment) -> Result<Vec<u8>> {
    let too_large = || AppError::Derived("搜索索引的段超出文件格式的范围".into());
    let mut out = Vec::with_capacity(
        segment.postings.values().map(Vec::len).sum::<usize>() + segment.postings.len() * ENTRY_BYTES,
    );
    out.extend_from_slice(MAGIC);
    let mut entries = Vec::with_capacity(segment.postings.len());
    for (gram, bytes) in &segment.postings {
        let key = padded(gram).filter(|_| !gram.contains(&0)).ok_or_else(too_large)?;
        entries.push((key, piece(&mut out, bytes)));
    }
    let blocks: Vec<Piece> = (0..segment.blocks()).map(|block| piece(&mut out, &segment.block(block))).collect();
    let kinds = piece(&mut out, &segment.kinds());
    let replacements = Segment {
        base: 0,
        docs: segment.docs.iter().filter(|d| d.replaces).copied().collect(),
        postings: BTreeMap::new(),
    };
    let replacements = piece(&mut out, &replacements.block(0));
    let directory = out.len();
    let mut sparse = Vec::with_capacity(entries.len().div_ceil(GROUP) * SPARSE_BYTES);
    for group in entries.chunks(GROUP) {
        let start = out.len();
        for (key, at) in group {
            out.extend_from_slice(key);
            at.put(&mut out);
        }
        sparse.extend_from_slice(&group[0].0);
        sparse.extend(crc(&out[start..]).to_le_bytes());
    }
    let sparse_at = out.len();
    out.extend_from_slice(&sparse);
    let blocks_at = out.len();
    for block in &blocks {
        block.put(&mut out);
    }
    let tables = crc(&out[sparse_at..]);
    if out.len() > u32::MAX as usize - FOOTER_BYTES {
        return Err(too_large());
    }
    let mut footer = Vec::with_capacity(FOOTER_BYTES);
    for value in [
        segment.base,
        segment.docs.len() as u32,
        entries.len() as u32,
        directory as u32,
        sparse_at as u32,
        blocks.len() as u32,
        blocks_at as u32,
        tables,
    ] {
        footer.extend(value.to_le_bytes());
    }
    kinds.put(&mut footer);
    replacements.put(&mut footer);
    footer.extend(crc(&footer).to_le_bytes());
    footer.extend_from_slice(&MAGIC[..FOOTER_BYTES - footer.len()]);
    out.extend_from_slice(&footer);
    Ok(out)
}

/// A segment file opened: its footer and tables in memory, the rest read when asked for.
pub struct SegmentFile {
    file: Arc<dyn DerivedFile>,
    pub base: u32,
    pub docs: u32,
    grams: usize,
    directory: u32,
    /// Each directory group's first gram and CRC.
    sparse: Vec<([u8; GRAM_BYTES], u32)>,
    blocks: Vec<Piece>,
    kinds: Piece,
    replacements: Piece,
}

impl SegmentFile {
    pub fn open(file: Arc<dyn DerivedFile>) -> Result<SegmentFile> {
        let len = file.len();
        if len < (MAGIC.len() + FOOTER_BYTES) as u64 || len > u64::from(u32::MAX) {
            return Err(Damaged.into());
        }
        let footer = file.read_at(len - FOOTER_BYTES as u64, FOOTER_BYTES)?;
        let fields = 8 * 4 + 2 * 12;
        if u32_at(&footer, fields)? != crc(&footer[..fields])
            || footer[fields + 4..] != MAGIC[..FOOTER_BYTES - fields - 4]
        {
            return Err(Damaged.into());
        }
        let value = |at: usize| u32_at(&footer, at * 4);
        let (base, docs, grams, directory, sparse_at) =
            (value(0)?, value(1)?, value(2)? as usize, value(3)?, value(4)?);
        let (blocks, blocks_at, tables) = (value(5)? as usize, value(6)?, value(7)?);
        let kinds = Piece::at(&footer, 32)?;
        let replacements = Piece::at(&footer, 44)?;
        let groups = grams.div_ceil(GROUP);
        let table_len = groups * SPARSE_BYTES + blocks * 12;
        let fits = u64::from(sparse_at) + table_len as u64 == len - FOOTER_BYTES as u64
            && u64::from(blocks_at) == u64::from(sparse_at) + (groups * SPARSE_BYTES) as u64
            && u64::from(directory) + (grams * ENTRY_BYTES) as u64 == u64::from(sparse_at);
        if !fits {
            return Err(Damaged.into());
        }
        let table = file.read_at(u64::from(sparse_at), table_len)?;
        if crc(&table) != tables {
            return Err(Damaged.into());
        }
        let sparse = table[..groups * SPARSE_BYTES]
            .chunks_exact(SPARSE_BYTES)
            .map(|entry| Ok((entry[..GRAM_BYTES].try_into().map_err(|_| Damaged)?, u32_at(entry, GRAM_BYTES)?)))
            .collect::<std::result::Result<Vec<_>, Damaged>>()?;
        let blocks = table[groups * SPARSE_BYTES..]
            .chunks_exact(12)
            .map(|entry| Piece::at(entry, 0))
            .collect::<std::result::Result<Vec<_>, Damaged>>()?;
        Ok(SegmentFile { file, base, docs, grams, directory, sparse, blocks, kinds, replacements })
    }

    /// A piece's bytes, checked.
    fn read(&self, piece: Piece) -> Result<Vec<u8>> {
        let bytes = self.file.read_at(u64::from(piece.offset), piece.len as usize)?;
        if crc(&bytes) != piece.crc {
            return Err(Damaged.into());
        }
        Ok(bytes)
    }

    /// Directory group `group`'s entries, checked.
    fn group(&self, group: usize) -> Result<Vec<([u8; GRAM_BYTES], Piece)>> {
        let first = group * GROUP;
        let count = GROUP.min(self.grams - first);
        let offset = u64::from(self.directory) + (first * ENTRY_BYTES) as u64;
        let bytes = self.file.read_at(offset, count * ENTRY_BYTES)?;
        if crc(&bytes) != self.sparse[group].1 {
            return Err(Damaged.into());
        }
        bytes
            .chunks_exact(ENTRY_BYTES)
            .map(|entry| Ok((entry[..GRAM_BYTES].try_into().map_err(|_| Damaged)?, Piece::at(entry, GRAM_BYTES)?)))
            .collect::<std::result::Result<Vec<_>, Damaged>>()
            .map_err(AppError::from)
    }

    /// The posting list of `gram`, if the segment holds it.
    pub fn posting(&self, gram: &[u8]) -> Result<Option<Vec<u8>>> {
        let Some(key) = padded(gram) else { return Ok(None) };
        // The last group whose first gram is not after this one.
        let group = self.sparse.partition_point(|(first, _)| *first <= key);
        let Some(group) = group.checked_sub(1) else { return Ok(None) };
        let entries = self.group(group)?;
        match entries.binary_search_by(|(entry, _)| entry.cmp(&key)) {
            Ok(at) => Ok(Some(self.read(entries[at].1)?)),
            Err(_) => Ok(None),
        }
    }

    /// Metadata block `block`.
    pub fn block(&self, block: u32) -> Result<Vec<u8>> {
        let piece = *self.blocks.get(block as usize).ok_or(Damaged)?;
        self.read(piece)
    }

    pub fn kinds(&self) -> Result<Vec<u8>> {
        self.read(self.kinds)
    }

    pub fn replacements(&self) -> Result<Vec<u8>> {
        self.read(self.replacements)
    }

    /// Every posting list, for a merge or a comparison.
    pub fn postings(&self) -> Result<BTreeMap<Gram, Vec<u8>>> {
        let mut postings = BTreeMap::new();
        for group in 0..self.sparse.len() {
            for (key, piece) in self.group(group)? {
                postings.insert(unpadded(&key), self.read(piece)?);
            }
        }
        Ok(postings)
    }

    pub fn block_count(&self) -> u32 {
        self.blocks.len() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::index::{bigram, unigram};
    use crate::search::text::{Doc, Kind};

    struct InMemory(Vec<u8>);

    impl DerivedFile for InMemory {
        fn len(&self) -> u64 {
            self.0.len() as u64
        }
        fn read_at(&self, offset: u64, len: usize) -> duban_store::Result<Vec<u8>> {
            let start = offset as usize;
            self.0
                .get(start..start + len)
                .map(<[u8]>::to_vec)
                .ok_or(duban_store::StoreError::Damaged { what: "short".into() })
        }
    }

    fn doc(n: u64, replaces: bool) -> Doc {
        Doc {
            kind: if n.is_multiple_of(3) { Kind::Reply } else { Kind::Commitment },
            item: ulid::Ulid(u128::from(n) * 7919),
            seq: n,
            recorded_at: chrono::DateTime::from_timestamp(1_700_000_000 + n as i64, 0).unwrap(),
            occurred_on: chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + chrono::Days::new(n % 300),
            replaces,
        }
    }

    fn segment(texts: usize) -> Segment {
        let words = ["概念验证平台", "科技成果转化", "课后服务", "老旧小区改造", "沿沪宁协同创新集市", "ab c"];
        let texts = (0..texts)
            .map(|n| {
                (
                    doc(n as u64, n.is_multiple_of(17)),
                    words[n % words.len()].chars().chain(words[(n * 7) % 6].chars()).collect(),
                )
            })
            .collect();
        Segment::build(5000, texts)
    }

    #[test]
    fn a_segment_reads_back_from_its_file_piece_by_piece() {
        for texts in [1, 63, 64, 65, 3000] {
            let segment = segment(texts);
            let file = SegmentFile::open(Arc::new(InMemory(encode(&segment).unwrap()))).unwrap();
            assert_eq!((file.base, file.docs), (5000, texts as u32));
            assert_eq!(file.postings().unwrap(), segment.postings, "{texts}");
            for (gram, bytes) in &segment.postings {
                assert_eq!(file.posting(gram).unwrap().as_ref(), Some(bytes));
            }
            for absent in [unigram('无'), bigram('无', '有'), vec![b'a'], vec![0xff; 9], vec![b'b'; 12]] {
                assert_eq!(file.posting(&absent).unwrap(), None);
            }
            assert_eq!(file.block_count(), segment.blocks());
            for block in 0..segment.blocks() {
                assert_eq!(file.block(block).unwrap(), segment.block(block));
            }
            assert_eq!(file.kinds().unwrap(), segment.kinds());
            let replacements = crate::search::index::decode_block(&file.replacements().unwrap()).unwrap();
            assert_eq!(replacements, segment.docs.iter().filter(|d| d.replaces).copied().collect::<Vec<_>>());
        }
    }

    #[test]
    fn any_flipped_byte_or_cut_is_damage_never_a_different_answer() {
        let segment = segment(200);
        let bytes = encode(&segment).unwrap();
        for at in (0..bytes.len()).step_by(7) {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x5a;
            let Ok(file) = SegmentFile::open(Arc::new(InMemory(damaged))) else { continue };
            // Whatever still opens either answers as the whole file does, or says it is damaged.
            for (gram, expected) in &segment.postings {
                if let Ok(found) = file.posting(gram) {
                    assert_eq!(found.as_ref(), Some(expected), "byte {at}");
                }
            }
            for block in 0..segment.blocks() {
                if let Ok(found) = file.block(block) {
                    assert_eq!(found, segment.block(block), "byte {at}");
                }
            }
        }
        for cut in [0, 10, bytes.len() / 2, bytes.len() - 1] {
            assert!(SegmentFile::open(Arc::new(InMemory(bytes[..cut].to_vec()))).is_err(), "cut at {cut}");
        }
    }
}
