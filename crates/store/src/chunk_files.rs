//! Full log chunks kept in files of their own (`chunks/<first seq, 16 hex digits>`), the log holding a pointer to
//! each (layout 6; decision 0019).
//!
//! Why not in sled: sled reads a value whole, with its node — a full chunk is ~110 KiB compressed, in a blob file
//! sled reads, checks and decodes whole — and a server showing one promise reads about seven events, each in a chunk
//! of its own: 98 % of the bytes read were thrown away (a third of a loaded server's time). A chunk in a file is read
//! a frame at a time (~5 KiB). A full chunk is written once and never changed, so a file of its own costs nothing
//! in garbage; sled kept them in blob files already, a file per chunk, for the same reason.
//!
//! A file is written beside, synced, renamed into place and its folder synced before the batch naming it is
//! applied: a pointer never names a file a crash could lose. A file no pointer names (a crash between) is harmless
//! and replaced when its chunk is written again. The file holds the chunk's stored value as sled held it; its pointer
//! holds its length and its head (codec, size, frame table), which the file must begin with.

use std::collections::HashMap;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::{Result, StoreError};

/// The folder inside a store that holds its full log chunks.
pub(crate) const FOLDER: &str = "chunks";

/// Open chunk files a handle keeps (a file descriptor each); past this, all are let go and opened again on demand.
const KEPT_OPEN: usize = 256;

fn name(first: u64) -> String {
    format!("{first:016x}")
}

fn path_of(store: &Path, first: u64) -> PathBuf {
    store.join(FOLDER).join(name(first))
}

/// Why a chunk's file cannot be read, as corruption at its first event, with the way out.
fn damaged(first: u64, what: String) -> StoreError {
    StoreError::Corrupt {
        seq: first,
        reason: format!("日志块文件 {FOLDER}/{} {what}（请从备份或 export 文件还原：`duban restore`）", name(first)),
    }
}

/// Writes the stored value of the full chunk beginning at event `first`, durably.
pub(crate) fn write(store: &Path, first: u64, value: &[u8]) -> Result<()> {
    let folder = store.join(FOLDER);
    if !folder.is_dir() {
        std::fs::create_dir_all(&folder)?;
        crate::sync_dir(store)?;
    }
    crate::derived_files::write_whole(&path_of(store, first), value)?;
    Ok(())
}

/// A handle's open chunk files.
#[derive(Default)]
pub(crate) struct ChunkFiles {
    open: Mutex<HashMap<u64, Arc<std::fs::File>>>,
}

impl ChunkFiles {
    fn file(&self, store: &Path, first: u64) -> Result<Arc<std::fs::File>> {
        if let Some(file) = self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&first) {
            return Ok(file.clone());
        }
        let file = match std::fs::File::open(path_of(store, first)) {
            Ok(file) => Arc::new(file),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(damaged(first, "缺失".into()));
            }
            Err(error) => return Err(damaged(first, format!("无法打开：{error}"))),
        };
        let mut open = self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if open.len() >= KEPT_OPEN {
            open.clear();
        }
        open.insert(first, file.clone());
        Ok(file)
    }

    /// Bytes `range` of the chunk file beginning at event `first`.
    pub(crate) fn read_at(&self, store: &Path, first: u64, range: std::ops::Range<usize>) -> Result<Vec<u8>> {
        let file = self.file(store, first)?;
        let mut bytes = vec![0u8; range.len()];
        file.read_exact_at(&mut bytes, range.start as u64).map_err(|error| match error.kind() {
            std::io::ErrorKind::UnexpectedEof => damaged(first, "过短".into()),
            _ => damaged(first, format!("无法读取：{error}")),
        })?;
        Ok(bytes)
    }

    /// The whole chunk file beginning at event `first`, which must be `length` bytes long and begin with `head`.
    pub(crate) fn read_whole(&self, store: &Path, first: u64, length: usize, head: &[u8]) -> Result<Vec<u8>> {
        let file = self.file(store, first)?;
        let actual = file.metadata().map_err(|error| damaged(first, format!("无法读取：{error}")))?.len();
        if actual != length as u64 {
            return Err(damaged(first, format!("应有 {length} 字节，实有 {actual}")));
        }
        let bytes = self.read_at(store, first, 0..length)?;
        if !bytes.starts_with(head) {
            return Err(damaged(first, "的分帧表与日志中的记录不符".into()));
        }
        Ok(bytes)
    }
}
