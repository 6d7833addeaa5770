//! duban's application core: every use case and the one read model, written once and called by every front end
//! (the `duban` command line today, the HTTP server next). A front end parses a request, calls one function here,
//! and renders the answer; it holds no business rule.
//!
//! - writes (`write`, `import`): resolve ids, fold, check with the domain under an injected clock, append with the
//!   version read — nothing is appended unless the domain accepts it;
//! - the read model (`read`): the register at a [`Horizon`] (as-of date × known-at cut), behind `list`, `show`,
//!   `reply list` and the report (`report`), time travel written once;
//! - upkeep (`maintain`): create, verify, rebuild, export, restore, upgrade.
//!
//! The store is reached only through [`duban_store::EventStore`]: this crate never names an engine.

mod accounts;
mod attachments;
mod context;
mod error;
mod import;
mod intake;
mod maintain;
mod proposals;
mod read;
mod refs;
mod register;
mod report;
mod search;
mod views;
mod write;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;

use duban_store::EventStore;

pub use accounts::{SinceLastVisit, MIN_PASSWORD_CHARS, SESSION_HOURS, SINCE_LAST_VISIT_EVENTS};
pub use attachments::{media_type, plain_file_name, Attachment, RestoredFiles, Upload, DEFAULT_MAX_ATTACHMENT_BYTES};
pub use context::Context;
pub use duban_domain::Horizon;
pub use error::{AppError, Result};
pub use import::{
    collect_documents, read_document, FileOutcome, ImportOptions, ImportSummary, Overrides, DOCUMENT_EXTENSIONS,
};
pub use intake::{Reviewed, ReviewedPromise};
pub use maintain::{Backup, HeadCheck, Restored, Verified};
pub use proposals::{NewProposal, ProposalDetail, ProposalRecorded, ProposalRow};
pub use read::{
    signal, CommitmentDetail, Dashboard, ListFilter, ListRow, Listing, Order, PageRow, ReplyDetail, ReplyFilter,
    ReplyRow, View,
};
pub use refs::{position_of, position_reference, Reference};
pub use register::reply_key;
pub use report::ReportRequest;
pub use search::{
    fold as search_fold, reply_text as search_reply_text, Found, Hit, Kind as SearchKind, Scan as SearchScan,
    SearchRebuilt, SearchRequest, Visible,
};
pub use views::{proposal_text, AccountView, CommitmentView, EventView, HitView, ProposalView, ReplyView, ShowView};
pub use write::{Evaluated, NewCommitment, Recorded};

/// A store opened for use: the handle every use case goes through. Cheap to clone (one shared store).
#[derive(Clone)]
pub struct App {
    store: Arc<dyn EventStore>,
    /// For a long-lived handle (the server): the register kept in memory between reads (see `read::Register`).
    register: Option<Arc<read::Register>>,
    /// Held while a write indexes the log's tail for search (another write then leaves it to this one).
    indexing: Arc<std::sync::Mutex<()>>,
    /// For a long-lived handle: search's decoded posting lists kept between queries.
    postings: Option<Arc<search::PostingCache>>,
}

impl App {
    pub fn new(store: Arc<dyn EventStore>) -> App {
        App { store, register: None, indexing: Arc::default(), postings: None }
    }

    /// This handle, keeping the register in memory between reads: for a process that serves many requests, where
    /// each list would otherwise decode every family again.
    pub fn serving(mut self) -> App {
        self.register = Some(Arc::default());
        self.postings = Some(Arc::default());
        self.store.serve_many_reads();
        self
    }

    /// Opens the store at `path` (refused if it needs `duban upgrade`).
    pub fn open(path: &Path) -> Result<App> {
        Ok(App::new(duban_store::open(path)?))
    }

    /// Opens the store at `path` for reading only: a healthy store is neither written nor synced (see
    /// [`duban_store::open_reading`]). Writes through it still work, but are for the rare recovery it may need.
    pub fn open_reading(path: &Path) -> Result<App> {
        Ok(App::new(duban_store::open_reading(path)?))
    }

    /// Creates a new, empty store at `path`.
    pub fn create(path: &Path) -> Result<App> {
        Ok(App::new(duban_store::create(path)?))
    }

    pub fn store(&self) -> &dyn EventStore {
        &*self.store
    }

    /// Appends through the store, then lets the search index catch up (see `search`): every write goes through
    /// here.
    fn append(&self, batches: Vec<duban_store::StreamBatch>) -> Result<Vec<duban_domain::Envelope>> {
        let sealed = self.store.append(batches)?;
        self.index_behind();
        Ok(sealed)
    }
}
