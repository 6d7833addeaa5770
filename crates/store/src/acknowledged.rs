//! The acknowledged head: after every append is durable — just before the command reports success — the store
//! writes the head it reached (seq and hash) into a small file of its own beside sled's, and syncs it. If sled's
//! recovery after a crash or a power cut ever came back without an acknowledged event, the next open finds the
//! recorded seq beyond the head and refuses the store, naming what is missing and the way out, instead of carrying on
//! as if those events had never been recorded.
//!
//! The record is 44 bytes written at offset 0 (a single sector, so it is never half-written): seq (8, big-endian),
//! hash (32), and the first 4 bytes of the SHA-256 of those 40. A record that does not check is ignored (damage to
//! this file must not brick a store whose log is whole; `verify` still walks the log).

use std::os::unix::fs::FileExt;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Result, StoreError};
use crate::Head;

const FILE: &str = "acknowledged";

fn encode(head: &Head) -> Option<[u8; 44]> {
    let hash = crate::chain::unhex(&head.hash)?;
    let mut bytes = [0u8; 44];
    bytes[..8].copy_from_slice(&head.seq.to_be_bytes());
    bytes[8..40].copy_from_slice(&hash);
    let check = Sha256::digest(&bytes[..40]);
    bytes[40..].copy_from_slice(&check[..4]);
    Some(bytes)
}

/// Records `head` as acknowledged, durably.
pub(crate) fn record(store: &Path, head: &Head) -> Result<()> {
    let Some(bytes) = encode(head) else { return Ok(()) };
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(store.join(FILE))?;
    file.write_all_at(&bytes, 0)?;
    file.sync_data()?;
    Ok(())
}

/// The acknowledged seq, if the store has a record that checks.
pub(crate) fn read(store: &Path) -> Option<u64> {
    let bytes = std::fs::read(store.join(FILE)).ok()?;
    let bytes: &[u8; 44] = bytes.get(..44)?.try_into().ok()?;
    let check = Sha256::digest(&bytes[..40]);
    (check[..4] == bytes[40..]).then(|| u64::from_be_bytes(bytes[..8].try_into().expect("eight bytes")))
}

/// Refuses a store whose log ends before what was acknowledged.
pub(crate) fn check(store: &Path, head: &Head) -> Result<()> {
    match read(store) {
        Some(acknowledged) if acknowledged > head.seq => Err(StoreError::Damaged {
            what: format!(
                "日志止于第 {} 条事件，而第 {acknowledged} 条及之前的事件都曾确认写入：恢复后有已确认的事件缺失",
                head.seq
            ),
        }),
        _ => Ok(()),
    }
}
