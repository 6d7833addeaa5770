//! Upkeep of the store: checking the chain (and a report's footer against it), rebuilding what is derived, export
//! and restore, and the explicit layout upgrade.

use std::io::Write;
use std::path::Path;

use duban_store::{Head, RebuildReport, UpgradeReport, VerifyReport};

use crate::error::{refuse, Result};
use crate::App;

/// A report's footer checked against the store: the event at `seq` has the hash the report printed, or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeadCheck {
    Matches {
        seq: u64,
    },
    Differs {
        seq: u64,
        found: String,
        expected: String,
    },
    /// The store holds fewer events than the report rests on.
    Missing {
        seq: u64,
        events: u64,
    },
}

/// A backup written.
pub struct Backup {
    pub file: std::path::PathBuf,
    pub events: u64,
    pub head: Head,
    pub bytes: u64,
    /// Attachments kept by the store, and how many of them this backup copied to `files/` (the others were there).
    pub files: usize,
    pub files_copied: usize,
}

/// A store restored from a backup or an export.
pub struct Restored {
    pub events: u64,
    pub head: Head,
    /// The attachments its events name, taken from the `files/` folder beside the file restored.
    pub files: crate::RestoredFiles,
}

/// What `verify` found.
pub struct Verified {
    pub report: VerifyReport,
    /// The footer check, when one was asked for and the chain holds up to its seq.
    pub head_check: Option<HeadCheck>,
}

impl App {
    /// Walks the whole chain; with `footer` (a report's seq and head hash), checks that the report came from this
    /// register.
    pub fn verify(&self, footer: Option<(u64, &str)>) -> Result<Verified> {
        let report = self.store.verify()?;
        let intact_through = |seq: u64| report.broken.as_ref().is_none_or(|(at, _)| *at > seq);
        let head_check = match footer {
            Some((seq, expected)) if intact_through(seq) => {
                let expected = expected.trim().to_ascii_lowercase();
                Some(match self.store.hash_at(seq)? {
                    Some(found) if found == expected => HeadCheck::Matches { seq },
                    Some(found) => HeadCheck::Differs { seq, found, expected },
                    None => HeadCheck::Missing { seq, events: report.events },
                })
            }
            _ => None,
        };
        Ok(Verified { report, head_check })
    }

    /// Recomputes the stream index and the projection from the log and writes back any difference. The log is
    /// folded, the store reopened (to let go of what the engine cached of the log, when this is its only handle),
    /// then compared.
    /// Then derives the search index afresh and compares it with the stored one (see `search`).
    /// Recomputes the stream index and the status projection from the log and, with `search`, the search index.
    pub fn rebuild(self, search: bool) -> Result<(RebuildReport, Option<crate::SearchRebuilt>)> {
        let refolded = self.store.refold()?;
        let store = self.store.reopen()?;
        let report = store.rebuild_from(refolded)?;
        let search = if search { Some(App::new(store).rebuild_search()?) } else { None };
        Ok((report, search))
    }

    pub fn head(&self) -> Result<Head> {
        Ok(self.store.head()?)
    }

    /// Writes the whole log as JSON Lines; returns how many events and the head they end at.
    pub fn export(&self, out: &mut dyn Write) -> Result<(u64, Head)> {
        let count = self.store.export(out)?;
        Ok((count, self.store.head()?))
    }

    /// Restores an export into a new store at `path` (or in place of an empty one there). The whole file is checked
    /// before anything is written; the store is built beside and renamed into place, so a failure or a kill leaves
    /// the target as it was, or the whole restored store.
    /// The attachments its events name are taken from the `files/` folder beside `file` (where `backup` puts
    /// them); those missing are listed, not fatal: the log is whole without them.
    pub fn restore(path: &Path, file: &Path) -> Result<Restored> {
        if !file.is_file() {
            return refuse(format!("找不到文件 {}", file.display()));
        }
        let (store, events) = duban_store::restore(path, file)?;
        let head = store.head()?;
        let app = App::new(store);
        let files = app.restore_files(file.parent().unwrap_or(Path::new(".")))?;
        // The search index, derived once here rather than by the first writes; if this fails, queries index what is
        // missing themselves and `rebuild` derives it.
        let _ = app.index_search();
        Ok(Restored { events, head, files })
    }

    /// Writes a backup into `dir`: the whole log as an export (with its trailer) in `duban-<time>-<seq>.jsonl`,
    /// written beside and renamed once synced, then read back and checked whole (every hash, the trailer); and the
    /// attachments into `files/` there (each copied once, into whichever backup first needed it). Opens
    /// nothing but what it reads: a front end that holds the store (the server) calls it on its own handle.
    pub fn backup(&self, dir: &Path, now: chrono::DateTime<chrono::Utc>) -> Result<Backup> {
        std::fs::create_dir_all(dir)?;
        let head = self.store.head()?;
        let stamp = now.with_timezone(&duban_domain::china()).format("%Y%m%d-%H%M%S");
        let file = dir.join(format!("duban-{stamp}-{}.jsonl", head.seq));
        if file.exists() {
            return refuse(format!("{} 已存在", file.display()));
        }
        let partial = dir.join(format!(".duban-{stamp}-{}.jsonl.partial", head.seq));
        let events = {
            let mut out = std::io::BufWriter::new(std::fs::File::create(&partial)?);
            let events = self.store.export(&mut out)?;
            out.into_inner().map_err(|error| error.into_error())?.sync_all()?;
            events
        };
        let checked = duban_store::check_export(std::io::BufReader::new(std::fs::File::open(&partial)?));
        if let Err(error) = checked {
            let _ = std::fs::remove_file(&partial);
            return Err(error.into());
        }
        std::fs::rename(&partial, &file)?;
        std::fs::File::open(dir)?.sync_all()?;
        let bytes = std::fs::metadata(&file)?.len();
        // The log may have grown while it was written (a server keeps appending): the file says up to where.
        let head = self.store.hash_at(events)?.map_or(head, |hash| Head { seq: events, hash });
        // Files are kept before the facts naming them are appended: every file the copied log names is kept by now.
        let (files_copied, files) = self.back_up_files(dir)?;
        Ok(Backup { file, events, head, bytes, files, files_copied })
    }

    /// Brings the store at `path` to the current layout (the only operation that changes a layout).
    pub fn upgrade(path: &Path) -> Result<UpgradeReport> {
        Ok(duban_store::upgrade(path)?)
    }
}
