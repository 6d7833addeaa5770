//! The store's one sled tree, divided into key spaces by a leading byte (log, streams, families, meta), and the
//! write set an append fills and applies as one atomic sled batch.
//!
//! One tree and one batch instead of a transaction over four trees: sled applies a batch atomically (also across a
//! crash) at a fraction of a transaction's cost. Writers take the store's writer lock, so the reads that decide an
//! append (versions, the head) cannot go stale before its batch lands; sled lets only one process open a store, so
//! that lock covers every writer.

use std::collections::HashMap;
use std::ops::Bound;

use sled::IVec;

use crate::error::Result;

/// One key space: every key in it starts with `tag`, which callers never see.
#[derive(Clone)]
pub struct Space {
    tree: sled::Tree,
    tag: u8,
    /// For a spaced key space, the length of its keys (see [`Space::spaced`]).
    spaced: Option<usize>,
}

/// Empty keys written after each large value of a spaced space.
const SPACERS: u8 = 7;

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

    /// Whether a stored key (without the tag) is a spacer.
    fn is_spacer(&self, key: &[u8]) -> bool {
        self.spaced.is_some_and(|len| key.len() == len + 1)
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
    pub fn apply(mut self, tree: &sled::Tree) -> Result<()> {
        let mut batch = sled::Batch::default();
        for key in self.order {
            match self.pending.remove(&key).flatten() {
                Some(value) => batch.insert(key, value),
                None => batch.remove(key),
            }
        }
        tree.apply_batch(batch)?;
        Ok(())
    }
}
