//! Upgrading a store of an older layout (3: one index key per stream; 4: folded commitments without the source of
//! their due date) to the current one: the store is copied into a new one beside it, which then takes its place.
//!
//! Rewriting the index in place left sled every node the old index had had (it never gives back a page id, and
//! loads every one at each open): an upgraded million-event store opened in 20 ms instead of 12. A copy is
//! compact. The log is read and written again in restore batches, each event's hash checked as it is read (the
//! hash's definition is the same in both layouts), the index and projection folded from it, and the new head must
//! be the old one before anything is renamed.
//!
//! The swap is two renames: `<store>` → `<store>.previous` (`.layout3` by the duban that upgraded to layout 4),
//! then `<store>.upgrading` → `<store>`; the old store is removed after. A crash between the renames is finished by the next `duban upgrade` (other commands refuse the
//! store, naming it); a crash while copying leaves `<store>.upgrading`, which the next upgrade removes before it
//! copies again.
//!
//! Only `duban upgrade` runs this: opening a store never changes its layout (a read command must not rewrite what a
//! recovery might need), so a command on an older store is refused with the way out.

use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};
use crate::{sync_dir, SledStore};

/// Events per restore batch while copying.
const COPY_BATCH: usize = 10_000;

/// What `duban upgrade` did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct UpgradeReport {
    /// The layout the store had (after finishing an interrupted upgrade, if there was one).
    pub from: u16,
    /// The layout it has now.
    pub to: u16,
    /// Whether an upgrade cut short by a crash was finished first.
    pub finished_interrupted: bool,
    pub events: u64,
}

/// Brings the store at `path` to the current layout: finishes an upgrade a crash cut short, then copies a store of an
/// older layout into the current one (every event's hash checked, the head compared before anything is renamed). A
/// store already current is left as it is.
pub fn upgrade(path: &Path) -> Result<UpgradeReport> {
    if crate::is_database(path) {
        return Err(crate::StoreError::NoUpgrade { location: path.display().to_string() });
    }
    let finished_interrupted = finish_interrupted(path)?;
    let (store, from) = SledStore::open_any_layout(path, false)?;
    if from == crate::LAYOUT || from == crate::OPENS_AS_IS {
        let events = store.head()?.seq;
        return Ok(UpgradeReport { from, to: from, finished_interrupted, events });
    }
    let store = store.upgrade_by_copy()?;
    Ok(UpgradeReport { from, to: crate::LAYOUT, finished_interrupted, events: store.head()?.seq })
}

/// Whether an upgrade was cut short between its two renames (the store renamed away, its copy not yet in place).
pub(crate) fn interrupted(path: &Path) -> bool {
    let is_store = |dir: &Path| dir.join("conf").is_file();
    !is_store(path) && OLD.iter().any(|suffix| is_store(&sibling(path, suffix)))
}

/// Where the old store is kept between the two renames: `.previous`, or `.layout3` as the upgrade to layout 4 named
/// it (a crash then is finished by this duban too).
const OLD: [&str; 2] = ["previous", "layout3"];

impl SledStore {
    /// Copies this store (of an older layout, not settled) into a new one of the current layout and puts it in its
    /// place.
    pub(crate) fn upgrade_by_copy(self) -> Result<SledStore> {
        let path = self.path.clone();
        let (building, old) = (sibling(&path, "upgrading"), sibling(&path, OLD[0]));
        if building.exists() {
            std::fs::remove_dir_all(&building)?;
        }
        let original = self.head()?;
        {
            let new = SledStore::create(&building)?;
            let mut batch = Vec::with_capacity(COPY_BATCH);
            for envelope in self.read_all(1) {
                batch.push(envelope?);
                if batch.len() == COPY_BATCH {
                    new.write_restored(&batch)?;
                    batch.clear();
                }
            }
            new.write_restored(&batch)?;
            drop(batch);
            drop(self);
            // As `duban rebuild` does: fold, let go of the log sled kept, then write the index and projection.
            let refolded = new.refold()?;
            let new = new.reopen()?;
            new.rebuild_from(refolded)?;
            new.sync()?;
            let copied = new.head()?;
            if copied != original {
                return Err(StoreError::Corrupt {
                    seq: original.seq,
                    reason: format!("升级事件库时副本只复制到第 {} 条事件（原库保持不变）", copied.seq),
                });
            }
        }
        std::fs::rename(&path, &old)?;
        std::fs::rename(&building, &path)?;
        sync_dir(parent(&path))?;
        std::fs::remove_dir_all(&old)?;
        SledStore::open(&path)
    }
}

/// Finishes the swap of an upgrade that a crash cut short (see the module's notes); does nothing otherwise.
/// Returns whether there was one to finish.
fn finish_interrupted(path: &Path) -> Result<bool> {
    let mut finished = false;
    let building = sibling(path, "upgrading");
    let is_store = |dir: &Path| dir.join("conf").is_file();
    for old in OLD.map(|suffix| sibling(path, suffix)) {
        if !is_store(path) && is_store(&old) {
            // Renamed away: the copy is complete if it was being put in place, else the old store goes back.
            let replacement = if is_store(&building) { &building } else { &old };
            std::fs::rename(replacement, path)?;
            sync_dir(parent(path))?;
            finished = true;
        }
        if is_store(path) && old.exists() {
            std::fs::remove_dir_all(&old)?;
        }
    }
    Ok(finished)
}

/// `<store>.<suffix>` beside the store.
pub(crate) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().map(|name| name.to_os_string()).unwrap_or_default();
    name.push(format!(".{suffix}"));
    path.with_file_name(name)
}

pub(crate) fn parent(path: &Path) -> &Path {
    path.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."))
}
