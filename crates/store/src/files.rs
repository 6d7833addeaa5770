//! Attachments: files given as evidence (a scan, a photo, a spreadsheet), kept in a folder of the store beside
//! sled's files, each under its SHA-256 (`files/ab/abcd…`). The log records only the hash (`EvidenceAttached`), so a
//! file of many megabytes never passes through sled, is written once however often it is attached, and a copy is
//! checked against the fact that names it.
//!
//! A file is written beside, synced, renamed into place and its folder synced before the put returns: the event
//! naming it is appended after, so an acknowledged event never names a file that a crash could lose. A file that no
//! event names (an upload whose append was refused) is harmless and kept; content addressing makes a second put of
//! the same bytes a no-op.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Result, StoreError};

/// The folder inside a store that holds its attachments.
pub(crate) const FOLDER: &str = "files";

/// The hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::chain::hex(&Sha256::digest(bytes).into())
}

fn is_hash(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn path_of(store: &Path, sha256: &str) -> PathBuf {
    store.join(FOLDER).join(&sha256[..2]).join(sha256)
}

/// Keeps `bytes` under their hash, durably; returns the hash.
pub(crate) fn put(store: &Path, bytes: &[u8]) -> Result<String> {
    let sha256 = sha256_hex(bytes);
    let target = path_of(store, &sha256);
    // Kept already, and whole (a damaged copy is replaced by the good one given now).
    if std::fs::read(&target).is_ok_and(|kept| kept == bytes) {
        return Ok(sha256);
    }
    let folder = target.parent().expect("a file's path has a folder");
    std::fs::create_dir_all(folder)?;
    crate::derived_files::write_whole(&target, bytes)?;
    // The `ab/` folder may be new: its entry in `files/` is synced too.
    std::fs::File::open(store.join(FOLDER))?.sync_all()?;
    Ok(sha256)
}

/// The file kept under `sha256`, checked against it; `None` if there is none.
pub(crate) fn get(store: &Path, sha256: &str) -> Result<Option<Vec<u8>>> {
    if !is_hash(sha256) {
        return Ok(None);
    }
    let path = path_of(store, sha256);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error.into()),
    };
    if sha256_hex(&bytes) != sha256 {
        return Err(StoreError::Damaged {
            what: format!("附件 {} 的内容与其 SHA-256 不符（请从备份的 files 文件夹复制同名文件回来）", path.display()),
        });
    }
    Ok(Some(bytes))
}

/// The hashes of every file kept, in order.
pub(crate) fn hashes(store: &Path) -> Result<Vec<String>> {
    let root = store.join(FOLDER);
    let mut found = Vec::new();
    let folders = match std::fs::read_dir(&root) {
        Ok(folders) => folders,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(error) => return Err(error.into()),
    };
    for folder in folders {
        let folder = folder?;
        if !folder.file_type()?.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(folder.path())? {
            let name = file?.file_name().to_string_lossy().to_string();
            if is_hash(&name) {
                found.push(name);
            }
        }
    }
    found.sort();
    Ok(found)
}
