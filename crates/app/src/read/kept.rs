//! Listings kept by the server between requests, brought up to date family by family.
//!
//! Under `serve-load` (50 clients, a million events) two fifths of the server's time went to filtered lists: each
//! request for one organ's overdue promises walked that organ's ~2,700 promises, judged every status, compared names
//! and sorted what passed, although between two such requests only a handful of families change. A listing is kept
//! here — its rows in order, with the register position it reflects — and the next request for the same filters on
//! the same date re-judges only the families the register re-read since (the journal), inserting their rows in place.
//!
//! What a row shows depends only on its family and on the view's date and policy, all of which are in the key, so a
//! kept listing brought up to date is row for row the listing worked out afresh (`tests::a_kept_listing_…`). Lists
//! kept are few (`KEPT_LISTS`), short (`KEPT_ROWS` each, `KEPT_ROWS_IN_ALL` together) and recent (asked for within
//! the last `JOURNAL` family changes): a listing of the whole register is worked out each time.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::NaiveDate;
use duban_domain::{status, CommitmentState, Policy, Status};
use duban_store::Family;
use ulid::Ulid;

use super::{ListFilter, Order, RegisterState, View};

/// How many listings are kept (the least recently used goes first).
const KEPT_LISTS: usize = 256;
/// A listing longer than this is not kept: it costs memory in proportion, and is seldom asked for twice the same.
const KEPT_ROWS: usize = 65_536;
/// The rows of every kept listing together, at most (~60 bytes each, besides the families they share with the
/// register): the least recently used listings go first.
const KEPT_ROWS_IN_ALL: usize = 262_144;
/// How many family changes the register remembers for bringing kept listings up to date. A listing not asked for
/// within as many changes is dropped: it could not be brought up to date, and it would hold on to the families it
/// shows as they were (a row holds its family) while the register moves on.
pub(super) const JOURNAL: usize = 8_192;

/// Where a row stands in an order: each order ends by id, so no two rows of a listing tie.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum RowKey {
    /// Undated last.
    Due(bool, Option<NaiveDate>, Option<Ulid>),
    Number(u64, Option<Ulid>),
    Owner(String, Option<Ulid>),
    Status(u8, Option<Ulid>),
    /// Most recent first.
    Progress(std::cmp::Reverse<Option<NaiveDate>>, Option<Ulid>),
}

impl RowKey {
    pub(super) fn new(order: Order, policy: Policy, state: &CommitmentState, status: Status) -> RowKey {
        match order {
            Order::Due => {
                let due = state.due_on(policy);
                RowKey::Due(due.is_none(), due, state.id)
            }
            Order::Number => RowKey::Number(state.number, state.id),
            Order::Owner => RowKey::Owner(state.owner.clone(), state.id),
            Order::Status => RowKey::Status(super::urgency(status), state.id),
            Order::Progress => RowKey::Progress(std::cmp::Reverse(state.last_progress_on), state.id),
        }
    }
}

/// One row of a kept listing: the promise (a family as the register holds it, and its place there) and its status.
#[derive(Clone)]
pub(crate) struct KeptRow {
    key: RowKey,
    /// The id the register keeps the family under.
    family_id: Ulid,
    pub(crate) family: Arc<Family>,
    index: usize,
    pub(crate) status: Status,
}

impl KeptRow {
    pub(crate) fn state(&self) -> &CommitmentState {
        &self.family.commitments[self.index]
    }
}

/// What a listing is of: the filters (the organ asked for as the names it matches), the date and the policy.
#[derive(Clone, PartialEq)]
struct Key {
    names: Option<Vec<String>>,
    statuses: Vec<Status>,
    active: bool,
    overdue: bool,
    due_within: Option<u32>,
    year: Option<i32>,
    proposal: Option<String>,
    order: Order,
    on_date: NaiveDate,
    policy: Policy,
}

struct Kept {
    key: Key,
    /// The register position the rows reflect.
    seq: u64,
    rows: Arc<Vec<KeptRow>>,
    used: u64,
}

#[derive(Default)]
pub(super) struct KeptLists {
    lists: Vec<Kept>,
    clock: u64,
}

/// The rows of one family that a listing shows, in no order. `names`: the organ asked for, as the names it matches
/// (a promise is shown if its owner or its reply's organ is one of them).
fn rows_of(family_id: Ulid, family: &Arc<Family>, key: &Key, filter: &ListFilter) -> Vec<KeptRow> {
    if family.proposal.is_some() || family.account.is_some() {
        return Vec::new();
    }
    // The names an organ matches are few (one, mostly): then equality, which compares lengths first, beats a binary
    // search's byte-wise comparisons.
    let named = |name: &str| match &key.names {
        None => true,
        Some(names) if names.len() <= 8 => names.iter().any(|n| n == name),
        Some(names) => names.binary_search_by(|n| n.as_str().cmp(name)).is_ok(),
    };
    let reply = family.reply.as_ref();
    let reply_named =
        key.names.is_none() || reply.and_then(|reply| reply.registered.as_ref()).is_some_and(|r| named(&r.organ));
    let mut rows = Vec::new();
    for (index, state) in family.commitments.iter().enumerate() {
        if !reply_named && !named(&state.owner) {
            continue;
        }
        let status = status(state, key.on_date, key.policy);
        if filter.keeps(state, reply, status, key.on_date, key.policy) {
            let key = RowKey::new(key.order, key.policy, state, status);
            rows.push(KeptRow { key, family_id, family: family.clone(), index, status });
        }
    }
    rows
}

impl super::Register {
    /// The promises passing `filter` as of now, judged through `view` (everything in view), in `filter.order`
    /// ascending: kept from an earlier request and brought up to date, or worked out and kept.
    pub(crate) fn listing(
        &self,
        store: &dyn duban_store::EventStore,
        filter: &ListFilter,
        view: &View,
    ) -> crate::error::Result<Arc<Vec<KeptRow>>> {
        let state = self.refreshed(store)?;
        let names = filter.organ.as_ref().map(|organ| {
            let mut names: Vec<String> = state.by_organ.keys().filter(|name| organ.matches(name)).cloned().collect();
            names.sort_unstable();
            names
        });
        let key = Key {
            names,
            statuses: filter.statuses.clone(),
            active: filter.active,
            overdue: filter.overdue,
            due_within: filter.due_within,
            year: filter.year,
            proposal: filter.proposal.clone(),
            order: filter.order,
            on_date: view.on_date,
            policy: view.policy,
        };
        // The organ is in the key as the names it matches; the rows are judged on the rest of the filter.
        let filter = ListFilter { organ: None, ..filter.clone() };
        {
            let mut kept = self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let KeptLists { lists, clock } = &mut *kept;
            *clock += 1;
            lists.retain(|list| list.seq >= state.journal_from);
            if let Some(list) = lists.iter_mut().find(|list| list.key == key) {
                list.used = *clock;
                if list.seq < state.seq {
                    bring_up_to_date(list, &state, &filter);
                }
                return Ok(list.rows.clone());
            }
        }
        // Worked out afresh, outside the register's lock: the families naming the organ, or every family.
        let seq = state.seq;
        let families: Vec<(Ulid, Arc<Family>)> = match &key.names {
            Some(names) => {
                let sets = names.iter().filter_map(|name| state.by_organ.get(name));
                let mut families: Vec<(Ulid, Arc<Family>)> =
                    sets.flat_map(|set| set.iter().map(|(id, family)| (*id, family.clone()))).collect();
                if names.len() > 1 {
                    families.sort_unstable_by_key(|(id, _)| *id);
                    families.dedup_by_key(|(id, _)| *id);
                }
                families
            }
            None => state.families.iter().map(|(id, family)| (*id, family.clone())).collect(),
        };
        drop(state);
        let mut rows: Vec<KeptRow> =
            families.iter().flat_map(|(id, family)| rows_of(*id, family, &key, &filter)).collect();
        rows.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        let rows = Arc::new(rows);
        if rows.len() <= KEPT_ROWS {
            let mut kept = self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let KeptLists { lists, clock } = &mut *kept;
            match lists.iter_mut().find(|list| list.key == key) {
                // Another request kept it meanwhile: the later of the two stays.
                Some(list) if list.seq >= seq => {}
                Some(list) => (list.seq, list.rows) = (seq, rows.clone()),
                None => {
                    let mut held: usize = lists.iter().map(|list| list.rows.len()).sum();
                    while lists.len() >= KEPT_LISTS || (!lists.is_empty() && held + rows.len() > KEPT_ROWS_IN_ALL) {
                        let Some(oldest) = (0..lists.len()).min_by_key(|&at| lists[at].used) else { break };
                        held -= lists.swap_remove(oldest).rows.len();
                    }
                    lists.push(Kept { key, seq, rows: rows.clone(), used: *clock });
                }
            }
        }
        Ok(rows)
    }
}

/// Brings `list` up to the register's position: the rows of every family re-read since go, and the family's rows as
/// it now stands go in at their places.
fn bring_up_to_date(list: &mut Kept, state: &RegisterState, filter: &ListFilter) {
    let touched: HashSet<Ulid> =
        state.journal.iter().rev().take_while(|(seq, _)| *seq > list.seq).map(|(_, id)| *id).collect();
    let rows = Arc::make_mut(&mut list.rows);
    rows.retain(|row| !touched.contains(&row.family_id));
    for id in &touched {
        let Some(family) = state.families.get(id) else { continue };
        for row in rows_of(*id, family, &list.key, filter) {
            let at = rows.binary_search_by(|kept| kept.key.cmp(&row.key)).unwrap_or_else(|at| at);
            rows.insert(at, row);
        }
    }
    list.seq = state.seq;
}
