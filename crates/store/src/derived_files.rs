//! Files a read model derives from the log and keeps beside it (the search index's segments), in the store's
//! `derived/` folder. A segment is written whole once and removed whole when a merge replaces it, so the disk holds
//! only what is live — kept as sled values instead, every merge's rewrite stayed in sled's segments until sled
//! cleaned them, and a day of single commands grew a store by more than the facts it recorded (issue 14).
//!
//! A file is written beside, synced and renamed into place: it is whole or absent. Reads are positional (`pread`),
//! never a memory map, so a file damaged or cut short under a reader gives an error, never a signal. Nothing here is
//! part of the chain, an export or a backup: whatever is lost is derived again (`duban rebuild`).

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};

/// The folder inside a store that holds derived files.
pub(crate) const FOLDER: &str = "derived";

/// A derived file opened for reading in pieces.
pub trait DerivedFile: Send + Sync {
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// `len` bytes from `offset`; an error if the file holds fewer.
    fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>>;
}

struct Opened {
    file: std::fs::File,
    len: u64,
    path: PathBuf,
}

impl DerivedFile for Opened {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>> {
        let short = || StoreError::Damaged { what: format!("派生文件 {} 比记录的短", self.path.display()) };
        if offset.checked_add(len as u64).is_none_or(|end| end > self.len) {
            return Err(short());
        }
        let mut bytes = vec![0; len];
        self.file.read_exact_at(&mut bytes, offset).map_err(|error| match error.kind() {
            std::io::ErrorKind::UnexpectedEof => short(),
            _ => StoreError::Io(error),
        })?;
        Ok(bytes)
    }
}

/// A name no other writer of this machine uses at the same time (the process and a counter of its own): two
/// writers of one file each write their own partial copy, and the rename of either is whole.
pub(crate) fn unique() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!("{}-{}", std::process::id(), NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

/// Derived files are named by their reader: letters, digits, `-`, `_` and `.`, not starting with `.`.
fn checked(name: &str) -> Result<&str> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name.len() <= 128
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if plain {
        Ok(name)
    } else {
        Err(StoreError::Engine(format!("派生文件名“{name}”无效")))
    }
}

pub(crate) fn write(store: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let folder = store.join(FOLDER);
    std::fs::create_dir_all(&folder)?;
    Ok(write_whole(&folder.join(checked(name)?), bytes)?)
}

/// Writes `path` whole or not at all: a partial copy of this writer's own beside it, synced, renamed into place,
/// the folder synced. A failure removes the partial copy and leaves `path` as it was.
pub fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let folder = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|name| name.to_string_lossy().to_string()).unwrap_or_default();
    let partial = folder.join(format!(".{name}.{}.partial", unique()));
    let written = (|| {
        let mut file = std::fs::File::create(&partial)?;
        std::io::Write::write_all(&mut file, bytes)?;
        file.sync_all()?;
        std::fs::rename(&partial, path)?;
        std::fs::File::open(folder)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

pub(crate) fn open(store: &Path, name: &str) -> Result<Option<std::sync::Arc<dyn DerivedFile>>> {
    let path = store.join(FOLDER).join(checked(name)?);
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    let len = file.metadata()?.len();
    Ok(Some(std::sync::Arc::new(Opened { file, len, path })))
}

pub(crate) fn remove(store: &Path, name: &str) -> Result<()> {
    match std::fs::remove_file(store.join(FOLDER).join(checked(name)?)) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error.into()),
        _ => Ok(()),
    }
}

/// Every derived file's name (not those half written), in order.
pub(crate) fn names(store: &Path) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let entries = match std::fs::read_dir(store.join(FOLDER)) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(error) => return Err(error.into()),
    };
    for entry in entries {
        let name = entry?.file_name().to_string_lossy().to_string();
        if checked(&name).is_ok() {
            found.push(name);
        } else if name.ends_with(".partial") {
            // Left by a write that did not finish (a crash): nothing names it.
            let _ = std::fs::remove_file(store.join(FOLDER).join(&name));
        }
    }
    found.sort();
    Ok(found)
}
