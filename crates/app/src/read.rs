//! The one read model: the register as seen through a [`Horizon`] — as of a date (facts that had occurred), as known
//! at a moment or log position (facts that had been recorded), or both. `list`, `show`, `reply list` and the report
//! all read through here, and this is the only place a horizon cuts the log.
//!
//! Without time travel the states come from the store's projection and no event is replayed; with a horizon the
//! log is folded up to it.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use duban_domain::{
    short_id, status, CommitmentState, Envelope, Folded, Horizon, Policy, ReplyState, Status, StreamKind,
};
use ulid::Ulid;

use crate::error::{refuse, Result};
use crate::views::proposal_text;
use crate::App;

mod kept;

/// How a view judges statuses: on which date, and after how many days without progress a promise has stalled.
#[derive(Clone, Copy, Debug)]
pub struct View {
    pub horizon: Horizon,
    /// The date statuses are judged on: the as-of date if there is one, else today.
    pub on_date: NaiveDate,
    pub policy: Policy,
}

impl View {
    /// A view through `horizon`, judged on its as-of date or else `today`.
    pub fn new(horizon: Horizon, today: NaiveDate, policy: Policy) -> View {
        View { horizon, on_date: horizon.as_of.unwrap_or(today), policy }
    }

    /// Today's register, everything known.
    pub fn now(today: NaiveDate) -> View {
        View::new(Horizon::ALL, today, Policy::default())
    }
}

/// The filters staff ask `list` (and the server's list) for; all of them must hold.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    /// Any of these statuses (none: any status).
    pub statuses: Vec<Status>,
    /// Only those still followed up (open, in progress, stalled, overdue).
    pub active: bool,
    pub overdue: bool,
    /// Only open ones due within this many days of the view's date.
    pub due_within: Option<u32>,
    /// The owner or the replying organ, as typed (folded, short forms written out: `duban_domain::OrganQuery`).
    pub organ: Option<duban_domain::OrganQuery>,
    /// The year the reply was signed.
    pub year: Option<i32>,
    /// The proposal's number, or text of its reference.
    pub proposal: Option<String>,
    /// The order of the rows (by due date unless asked otherwise).
    pub order: Order,
}

/// How a listing is ordered; each ends by id, so that pages do not overlap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    /// Due date, undated last.
    #[default]
    Due,
    /// 编号.
    Number,
    /// Responsible organ.
    Owner,
    /// Status, most urgent first (overdue, stalled, pending review, open, in progress, then the closed ones).
    Status,
    /// Last progress, most recent first.
    Progress,
}

impl Order {
    pub fn parse(text: &str) -> Option<Order> {
        Some(match text {
            "due" => Order::Due,
            "number" => Order::Number,
            "owner" => Order::Owner,
            "status" => Order::Status,
            "progress" => Order::Progress,
            _ => return None,
        })
    }

    pub fn code(self) -> &'static str {
        match self {
            Order::Due => "due",
            Order::Number => "number",
            Order::Owner => "owner",
            Order::Status => "status",
            Order::Progress => "progress",
        }
    }
}

/// Where a status stands in `Order::Status`: the most urgent first.
fn urgency(status: Status) -> u8 {
    match status {
        Status::Overdue => 0,
        Status::Stalled => 1,
        Status::PendingReview => 2,
        Status::Open => 3,
        Status::InProgress => 4,
        Status::NotFulfilled => 5,
        Status::PartiallyFulfilled => 6,
        Status::Fulfilled => 7,
        Status::Dismissed => 8,
    }
}

/// Sorts rows as `order` says (descending if asked), each order ending by id.
fn sort_rows<T>(
    rows: &mut [T],
    order: Order,
    descending: bool,
    policy: Policy,
    key: impl Fn(&T) -> (&CommitmentState, Status),
) {
    rows.sort_by_cached_key(|row| {
        let (state, status) = key(row);
        kept::RowKey::new(order, policy, state, status)
    });
    if descending {
        rows.reverse();
    }
}

/// The dashboard's figures (`/`): counts by status, the 红黄绿 signals by organ, and the nearest due and the overdue.
pub struct Dashboard {
    pub by_status: BTreeMap<Status, usize>,
    /// Per responsible organ: red (overdue), yellow (stalled, or due within `within` days), green (other active),
    /// and closed or dismissed.
    pub by_organ: BTreeMap<String, [usize; 4]>,
    pub signals: [usize; 4],
    /// Active promises due within `within` days, nearest first; overdue ones, longest overdue first (at most `shown`).
    pub near_due: Vec<ListRow>,
    pub overdue: Vec<ListRow>,
}

/// A promise's signal: 0 red (overdue), 1 yellow (stalled or due within `within` days), 2 green (other active), 3
/// closed or dismissed.
pub fn signal(state: &CommitmentState, status: Status, on_date: NaiveDate, policy: Policy, within: u32) -> usize {
    match status {
        Status::Overdue => 0,
        Status::Stalled => 1,
        status if status.is_active() => {
            let soon = state
                .due_on(policy)
                .is_some_and(|due| due >= on_date && (due - on_date).num_days() <= i64::from(within));
            if soon {
                1
            } else {
                2
            }
        }
        _ => 3,
    }
}

/// Which replies `reply list` shows: the filters `list` has that make sense for a reply, and 待补全.
#[derive(Clone, Debug, Default)]
pub struct ReplyFilter {
    /// The replying organ, as typed (folded, short forms written out).
    pub organ: Option<duban_domain::OrganQuery>,
    /// Signed in this year (or, without a signing date, registered in it).
    pub year: Option<i32>,
    /// The proposal's number, or text in its reference (`市政协`, `十四届三次会议`).
    pub proposal: Option<String>,
    /// Only replies whose registration lacks a field.
    pub incomplete: bool,
}

impl ReplyFilter {
    pub fn keeps(&self, reply: &ReplyState) -> bool {
        self.organ.as_ref().is_none_or(|organ| organ.matches(reply.organ()))
            && self.year.is_none_or(|year| reply.dated().is_some_and(|d| d.year() == year))
            && self.proposal.as_ref().is_none_or(|wanted| {
                let wanted = wanted.trim();
                reply.proposal().is_some_and(|p| p.number.as_deref() == Some(wanted))
                    || proposal_text(reply).contains(wanted)
            })
            && (!self.incomplete || !reply.missing().is_empty())
    }
}

impl ListFilter {
    pub fn keeps(
        &self,
        state: &CommitmentState,
        reply: Option<&ReplyState>,
        status: Status,
        on_date: NaiveDate,
        policy: Policy,
    ) -> bool {
        let registered = reply.and_then(|reply| reply.registered.as_ref());
        (self.statuses.is_empty() || self.statuses.contains(&status))
            && (!self.active || status.is_active())
            && (!self.overdue || status == Status::Overdue)
            && self.due_within.is_none_or(|days| {
                status.is_active()
                    && state
                        .due_on(policy)
                        .is_some_and(|due| due >= on_date && (due - on_date).num_days() <= i64::from(days))
            })
            && self
                .organ
                .as_ref()
                .is_none_or(|organ| organ.matches(&state.owner) || registered.is_some_and(|r| organ.matches(&r.organ)))
            && self.reply_fields_hold(reply)
    }

    /// The filters about the reply alone: the year it was signed, its proposal.
    pub(crate) fn reply_fields_hold(&self, reply: Option<&ReplyState>) -> bool {
        let registered = reply.and_then(|reply| reply.registered.as_ref());
        self.year.is_none_or(|year| registered.is_some_and(|r| r.signed_on.is_some_and(|d| d.year() == year)))
            && self.proposal.as_ref().is_none_or(|wanted| {
                let wanted = wanted.trim();
                registered.is_some_and(|r| {
                    r.proposal.number.as_deref() == Some(wanted)
                        || reply.is_some_and(|reply| proposal_text(reply).contains(wanted))
                })
            })
    }
}

/// One commitment in a listing.
pub struct ListRow {
    pub state: CommitmentState,
    pub reply: Option<Arc<ReplyState>>,
    pub status: Status,
    /// The shortest prefix naming it among every reply and commitment in view.
    pub short_id: String,
}

/// One row of a page, lent (see [`App::visit_page`]).
pub struct PageRow<'a> {
    pub state: &'a CommitmentState,
    pub reply: Option<&'a ReplyState>,
    pub status: Status,
    /// The shortest prefix naming it among every reply and commitment in view.
    pub short_id: String,
}

/// A listing: the rows in due-date order (undated last).
pub struct Listing {
    pub rows: Vec<ListRow>,
}

impl Listing {
    /// How many rows have each status.
    pub fn counts(&self) -> BTreeMap<Status, usize> {
        let mut counts = BTreeMap::new();
        for row in &self.rows {
            *counts.entry(row.status).or_default() += 1;
        }
        counts
    }
}

/// One commitment with its reply and the events of its timeline, all as seen through a view.
pub struct CommitmentDetail {
    pub id: Ulid,
    pub short_id: String,
    pub state: CommitmentState,
    pub reply: ReplyState,
    pub status: Status,
    /// Its events that the horizon admits, with their hashes.
    pub events: Vec<Envelope>,
    /// How else it can be named: its reply's number and its place among that reply's promises (`#12/2`).
    pub reference: Option<String>,
}

/// One reply whole (`reply show`), as seen through a view.
pub struct ReplyDetail {
    pub id: Ulid,
    pub short_id: String,
    pub reply: ReplyState,
    /// Its commitments, made by the horizon, in id order, with their statuses.
    pub commitments: Vec<(CommitmentState, Status)>,
    /// The reply's own events that the horizon admits, with their hashes (registration, amendments, evaluations).
    pub events: Vec<Envelope>,
}

/// A reply with its commitment count, as seen through a view.
pub struct ReplyRow {
    pub reply: ReplyState,
    pub commitments: usize,
    pub short_id: String,
}

impl App {
    /// Shows `visit` every event the horizon admits, in log order; stops reading at its known position. The only
    /// place a horizon cuts the log.
    pub fn known_events(&self, horizon: Horizon, visit: &mut dyn FnMut(&Envelope)) -> Result<()> {
        self.store.scan_log(1, &mut |envelope| {
            if horizon.known_seq.is_some_and(|seq| envelope.seq > seq) {
                return false;
            }
            if horizon.admits(envelope) {
                visit(envelope);
            }
            true
        })?;
        Ok(())
    }

    /// Maps every reply (if the log holds it) with its commitments, as seen through `horizon`, and returns the
    /// results in reply order. Without time travel this reads the projection, on two threads (each half of the reply
    /// ids), and replays no event; with a horizon it folds the log (read and decoded on two other threads, never
    /// held whole).
    pub fn families<T: Send>(
        &self,
        horizon: Horizon,
        each: impl Fn(Option<&ReplyState>, &[CommitmentState]) -> T + Sync,
    ) -> Result<Vec<T>> {
        // A proposal or an account is a family of its own, without a reply or promises.
        let skipped = |family: &duban_store::Family| family.proposal.is_some() || family.account.is_some();
        if horizon.is_everything() {
            if let Some(register) = &self.register {
                let families = register.current(&*self.store)?;
                return Ok(families
                    .iter()
                    .filter(|family| !skipped(family))
                    .map(|family| each(family.reply.as_ref(), &family.commitments))
                    .collect());
            }
            let scan = |from: Option<Ulid>, to: Option<Ulid>| -> Result<Vec<T>> {
                let mut out = Vec::new();
                for family in self.store.families_between(from, to) {
                    let family = family?;
                    if skipped(&family) {
                        continue;
                    }
                    out.push(each(family.reply.as_ref(), &family.commitments));
                }
                Ok(out)
            };
            let Some((first, last)) = self.store.family_bounds()? else { return Ok(Vec::new()) };
            let middle = Ulid(first.0 + (last.0 - first.0) / 2);
            let (out, second) = std::thread::scope(|scope| {
                let second = scope.spawn(|| scan(Some(middle), None));
                (scan(None, Some(middle)), second.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            });
            let mut out = out?;
            out.extend(second?);
            return Ok(out);
        }
        let mut folded = Folded::default();
        self.known_events(horizon, &mut |envelope| folded.apply(envelope))?;
        folded.finish();
        let mut families: BTreeMap<Option<Ulid>, Vec<CommitmentState>> = BTreeMap::new();
        for state in folded.commitments.into_values() {
            families.entry(state.reply).or_default().push(state);
        }
        let mut replies: BTreeMap<Ulid, ReplyState> = folded.replies.into_iter().collect();
        let mut out = Vec::new();
        for (reply, mut commitments) in families {
            commitments.sort_by_key(|state| state.id);
            out.push(each(reply.and_then(|id| replies.remove(&id)).as_ref(), &commitments));
        }
        for reply in replies.into_values() {
            out.push(each(Some(&reply), &[]));
        }
        Ok(out)
    }

    /// The commitments that pass `filter`, as seen through `view`, in due-date order.
    pub fn list(&self, filter: &ListFilter, view: &View) -> Result<Listing> {
        Ok(self.list_page(filter, view, &|_| true, 0, usize::MAX, false)?.1)
    }

    /// The dashboard's figures over the promises `visible` to the caller, through `view`.
    pub fn dashboard(
        &self,
        view: &View,
        visible: &dyn Fn(&CommitmentState) -> bool,
        within: u32,
        shown: usize,
    ) -> Result<Dashboard> {
        let mut dashboard = Dashboard {
            by_status: BTreeMap::new(),
            by_organ: BTreeMap::new(),
            signals: [0; 4],
            near_due: Vec::new(),
            overdue: Vec::new(),
        };
        let (on_date, policy) = (view.on_date, view.policy);
        // One pass counts and notes the candidates by due date; only the `shown` of each are then copied.
        let (mut near, mut late): (Vec<(NaiveDate, Ulid)>, Vec<_>) = (Vec::new(), Vec::new());
        self.each_visible(view, visible, &mut |state, _, status| {
            *dashboard.by_status.entry(status).or_default() += 1;
            let signal = signal(state, status, on_date, policy, within);
            dashboard.signals[signal] += 1;
            match dashboard.by_organ.get_mut(&state.owner) {
                Some(counts) => counts[signal] += 1,
                None => {
                    let mut counts = [0; 4];
                    counts[signal] = 1;
                    dashboard.by_organ.insert(state.owner.clone(), counts);
                }
            }
            let (Some(due), Some(id)) = (state.due_on(policy), state.id) else { return };
            if status == Status::Overdue {
                late.push((due, id));
            } else if status.is_active() && due >= on_date && (due - on_date).num_days() <= i64::from(within) {
                near.push((due, id));
            }
        })?;
        late.sort_unstable();
        near.sort_unstable();
        let chosen: std::collections::HashSet<Ulid> =
            late.iter().take(shown).chain(near.iter().take(shown)).map(|(_, id)| *id).collect();
        let mut rows: std::collections::HashMap<Ulid, ListRow> = std::collections::HashMap::new();
        if !chosen.is_empty() {
            self.each_visible(view, visible, &mut |state, reply, status| {
                if let Some(id) = state.id.filter(|id| chosen.contains(id)) {
                    let reply = reply.map(|reply| Arc::new(reply.clone()));
                    rows.insert(id, ListRow { state: state.clone(), reply, status, short_id: String::new() });
                }
            })?;
        }
        dashboard.overdue = late.iter().take(shown).filter_map(|(_, id)| rows.remove(id)).collect();
        dashboard.near_due = near.iter().take(shown).filter_map(|(_, id)| rows.remove(id)).collect();
        Ok(dashboard)
    }

    /// Shows `each` every promise `visible` to the caller through `view`, with its reply and status, in no order and
    /// without copying it.
    fn each_visible(
        &self,
        view: &View,
        visible: &dyn Fn(&CommitmentState) -> bool,
        each: &mut dyn FnMut(&CommitmentState, Option<&ReplyState>, Status),
    ) -> Result<()> {
        let (on_date, policy) = (view.on_date, view.policy);
        if let (Some(register), true) = (&self.register, view.horizon.is_everything()) {
            let families = register.current(&*self.store)?;
            for family in families.iter().filter(|family| family.proposal.is_none() && family.account.is_none()) {
                for state in family.commitments.iter().filter(|state| visible(state)) {
                    each(state, family.reply.as_ref(), status(state, on_date, policy));
                }
            }
            return Ok(());
        }
        let (_, listing) = self.list_page(&ListFilter::default(), view, visible, 0, usize::MAX, false)?;
        for row in &listing.rows {
            each(&row.state, row.reply.as_deref(), row.status);
        }
        Ok(())
    }

    /// As [`App::list_page`], lending each row of the page to `each` instead of copying it (the server's list turns
    /// a row into JSON and lets it go: copying every promise and reply of a page was a tenth of a list's cost);
    /// returns how many rows pass.
    #[allow(clippy::too_many_arguments)]
    pub fn visit_page(
        &self,
        filter: &ListFilter,
        view: &View,
        visible: &dyn Fn(&CommitmentState) -> bool,
        offset: usize,
        limit: usize,
        descending: bool,
        each: &mut dyn FnMut(PageRow<'_>),
    ) -> Result<usize> {
        if let (Some(register), true) = (&self.register, view.horizon.is_everything()) {
            // Kept in memory, and the listing kept between requests (see `kept`).
            let rows = register.listing(&*self.store, filter, view)?;
            let mut total = 0;
            let mut page: Vec<&kept::KeptRow> = Vec::new();
            let ordered: Box<dyn Iterator<Item = &kept::KeptRow>> =
                if descending { Box::new(rows.iter().rev()) } else { Box::new(rows.iter()) };
            for row in ordered.filter(|row| visible(row.state())) {
                if total >= offset && page.len() < limit {
                    page.push(row);
                }
                total += 1;
            }
            let ids: Vec<Ulid> = page.iter().map(|row| row.state().id.unwrap_or_default()).collect();
            for (row, short_id) in page.into_iter().zip(register.short_ids(&ids)) {
                each(PageRow { state: row.state(), reply: row.family.reply.as_ref(), status: row.status, short_id });
            }
            return Ok(total);
        }
        let (total, listing) = self.list_page(filter, view, visible, offset, limit, descending)?;
        for row in listing.rows {
            each(PageRow {
                state: &row.state,
                reply: row.reply.as_deref(),
                status: row.status,
                short_id: row.short_id,
            });
        }
        Ok(total)
    }

    /// One page of the commitments that pass `filter` and `visible` (the caller's permissions), in due-date order:
    /// how many pass, and the `limit` rows from `offset`. Short ids are worked out for the page only.
    pub fn list_page(
        &self,
        filter: &ListFilter,
        view: &View,
        visible: &dyn Fn(&CommitmentState) -> bool,
        offset: usize,
        limit: usize,
        descending: bool,
    ) -> Result<(usize, Listing)> {
        let (on_date, policy) = (view.on_date, view.policy);
        if self.register.is_some() && view.horizon.is_everything() {
            // Each reply copied once, shared by its rows.
            let mut shared: std::collections::HashMap<Ulid, Arc<ReplyState>> = std::collections::HashMap::new();
            let mut rows = Vec::new();
            let total = self.visit_page(filter, view, visible, offset, limit, descending, &mut |row| {
                let reply = row.reply.map(|reply| {
                    let id = reply.id.unwrap_or_default();
                    shared.entry(id).or_insert_with(|| Arc::new(reply.clone())).clone()
                });
                rows.push(ListRow { state: row.state.clone(), reply, status: row.status, short_id: row.short_id });
            })?;
            return Ok((total, Listing { rows }));
        }
        // Family by family (on two threads): only the rows that pass the filters are kept, each reply once.
        let families = self.families(view.horizon, |reply, commitments| {
            // The reply is shared by its kept rows, copied once if any is kept.
            let mut shared: Option<Arc<ReplyState>> = None;
            let mut ids: Vec<Ulid> = reply.and_then(|reply| reply.id).into_iter().collect();
            let mut rows = Vec::new();
            for state in commitments {
                ids.extend(state.id);
                let status = status(state, on_date, policy);
                if filter.keeps(state, reply, status, on_date, policy) {
                    let reply = reply.map(|reply| shared.get_or_insert_with(|| Arc::new(reply.clone())).clone());
                    rows.push((state.clone(), reply, status));
                }
            }
            (rows, ids)
        })?;
        let mut rows = Vec::new();
        let mut ids: Vec<Ulid> = Vec::new();
        for (family_rows, family_ids) in families {
            rows.extend(family_rows);
            ids.extend(family_ids);
        }
        sort_rows(&mut rows, filter.order, descending, policy, |(state, _, status)| (state, *status));
        ids.sort_unstable();
        let short = short_ids(&ids);
        rows.retain(|(state, _, _)| visible(state));
        let total = rows.len();
        let rows = rows
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|(state, reply, status)| {
                let short_id = state.id.map(|id| short(&id)).unwrap_or_default();
                ListRow { state, reply, status, short_id }
            })
            .collect();
        Ok((total, Listing { rows }))
    }

    /// One stream's events that `horizon` admits, with their hashes.
    pub(crate) fn stream_at(&self, id: &Ulid, horizon: Horizon) -> Result<Vec<Envelope>> {
        Ok(self.store.read_stream(id)?.into_iter().filter(|e| horizon.admits(e)).collect())
    }

    /// One commitment (an id or a unique prefix), as seen through `view`.
    pub fn commitment(&self, input: &str, view: &View) -> Result<CommitmentDetail> {
        let id = self.resolve(input, Some(StreamKind::Commitment))?;
        let horizon = view.horizon;
        let events = self.stream_at(&id, horizon)?;
        let state = CommitmentState::fold(&events);
        if state.made_on.is_none() {
            return refuse(format!("承诺 {id} 在所选时点尚未记录"));
        }
        // The reply's family as projected (its state, and where this promise stands among its promises); the reply's
        // state is folded instead when an earlier moment is asked for: its events lie in chunks of their own.
        let family = match state.reply {
            Some(reply) => self.family(reply)?,
            None => None,
        };
        let reference = family.as_ref().and_then(|family| {
            let reply = family.reply.as_ref()?;
            let position = crate::refs::position_of(&family.commitments, &id)?;
            Some(crate::refs::position_reference(reply.number, position))
        });
        let reply = match state.reply {
            Some(_) if horizon.is_everything() => family.and_then(|family| family.reply).unwrap_or_default(),
            Some(reply) => {
                ReplyState::fold(self.store.read_streams_for_fold(&[reply])?.iter().filter(|e| horizon.admits(e)))
            }
            None => ReplyState::default(),
        };
        let status = status(&state, view.on_date, view.policy);
        let short_id = self.store.short_id(&id)?;
        Ok(CommitmentDetail { id, short_id, state, reply, status, events, reference })
    }

    /// One reply (an id or a unique prefix) with its commitments, as seen through `view`.
    pub fn reply(&self, input: &str, view: &View) -> Result<ReplyDetail> {
        let id = self.resolve(input, Some(StreamKind::Reply))?;
        let horizon = view.horizon;
        let events = self.stream_at(&id, horizon)?;
        let reply = ReplyState::fold(&events);
        if reply.registered.is_none() {
            return refuse(format!("答复 {id} 在所选时点尚未登记"));
        }
        let family = self.family(id)?;
        let projected: Vec<CommitmentState> = family.map(|family| family.commitments).unwrap_or_default();
        let mut commitments: Vec<CommitmentState> = if horizon.is_everything() {
            projected
        } else {
            let ids: Vec<Ulid> = projected.iter().filter_map(|state| state.id).collect();
            let mut folded: BTreeMap<Ulid, CommitmentState> = BTreeMap::new();
            for envelope in self.store.read_streams_for_fold(&ids)?.iter().filter(|e| horizon.admits(e)) {
                folded.entry(envelope.stream).or_default().apply(envelope);
            }
            folded.into_values().filter(|state| state.made_on.is_some()).collect()
        };
        commitments.sort_by_key(|state| state.id);
        let commitments = commitments
            .into_iter()
            .map(|state| (status(&state, view.on_date, view.policy), state))
            .map(|(s, c)| (c, s))
            .collect();
        let short_id = self.store.short_id(&id)?;
        Ok(ReplyDetail { id, short_id, reply, commitments, events })
    }

    /// Every reply with its commitment count, as seen through `view`, in id order.
    pub fn replies(&self, view: &View) -> Result<Vec<ReplyRow>> {
        // Short ids are unique among replies and commitments alike (`log` takes either).
        let families = self.families(view.horizon, |reply, commitments| {
            let ids: Vec<Ulid> =
                reply.iter().filter_map(|r| r.id).chain(commitments.iter().filter_map(|c| c.id)).collect();
            (reply.map(|reply| (reply.clone(), commitments.len())), ids)
        })?;
        let mut ids: Vec<Ulid> = Vec::new();
        let mut replies = Vec::new();
        for (reply, family_ids) in families {
            ids.extend(family_ids);
            replies.extend(reply);
        }
        ids.sort_unstable();
        let short = short_ids(&ids);
        Ok(replies
            .into_iter()
            .map(|(reply, commitments)| {
                let short_id = reply.id.map(|id| short(&id)).unwrap_or_default();
                ReplyRow { reply, commitments, short_id }
            })
            .collect())
    }

    /// The family (a reply and its commitments, as projected) of reply `id`.
    pub(crate) fn family(&self, id: Ulid) -> Result<Option<duban_store::Family>> {
        if let Some(register) = &self.register {
            return Ok(register.family(&*self.store, id)?.map(|family| (*family).clone()));
        }
        Ok(self.store.families_between(Some(id), Some(Ulid(id.0 + 1))).next().transpose()?)
    }

    /// The commitment named by an id or unique prefix.
    pub fn resolve_commitment(&self, input: &str) -> Result<Ulid> {
        self.resolve(input, Some(StreamKind::Commitment))
    }

    /// The reply or commitment named by an id or unique prefix.
    pub fn resolve_stream(&self, input: &str) -> Result<Ulid> {
        self.resolve(input, None)
    }

    /// One stream's events in order, with their hashes.
    pub fn stream_events(&self, id: &Ulid) -> Result<Vec<Envelope>> {
        Ok(self.store.read_stream(id)?)
    }

    /// The whole log from `from_seq`, with hashes checked as read.
    pub fn log_from(&self, from_seq: u64) -> impl Iterator<Item = Result<Envelope>> + '_ {
        self.store.read_log(from_seq).map(|envelope| envelope.map_err(Into::into))
    }

    /// A commitment's projected state and its reply's, by any reference: what a write needs to know, read without
    /// touching the log.
    pub fn commitment_now(&self, input: &str) -> Result<(Ulid, CommitmentState, Option<ReplyState>)> {
        let id = self.resolve(input, Some(StreamKind::Commitment))?;
        if let Some(register) = &self.register {
            // Kept in memory: the family holding it, as the register stands.
            let family = register.holding(&*self.store, id)?;
            let state = family.as_ref().and_then(|family| family.commitment(&id).cloned());
            let Some(state) = state else { return refuse(format!("找不到承诺 {id}")) };
            return Ok((id, state, family.and_then(|family| family.reply.clone())));
        }
        let Some(state) = self.store.commitment(&id)? else { return refuse(format!("找不到承诺 {id}")) };
        let reply = match state.reply {
            Some(reply) => self.store.reply(&reply)?,
            None => None,
        };
        Ok((id, state, reply))
    }

    /// A reply's projected state, by id or unique prefix.
    pub fn reply_now(&self, input: &str) -> Result<(Ulid, ReplyState)> {
        let id = self.resolve(input, Some(StreamKind::Reply))?;
        match self.store.reply(&id)? {
            Some(reply) => Ok((id, reply)),
            None => refuse(format!("找不到答复 {id}")),
        }
    }
}

/// Short ids for a set of sorted ids: the shortest prefix that is unique among all of them.
fn short_ids(all: &[Ulid]) -> impl Fn(&Ulid) -> String + '_ {
    move |id| {
        let at = all.partition_point(|other| other < id);
        let neighbours: Vec<Ulid> = all[at.saturating_sub(1)..(at + 2).min(all.len())].to_vec();
        short_id(id, &neighbours)
    }
}

/// The register as last read, kept by a long-lived handle (the server: see [`App::serving`]) and brought up to the
/// head before each read by re-reading only the families the log touched since: a list on a million-event register
/// then filters what is in memory instead of decoding a hundred thousand families.
#[derive(Default)]
pub(crate) struct Register {
    state: std::sync::Mutex<RegisterState>,
    /// Listings kept between requests (taken after `state` when both are held).
    kept: std::sync::Mutex<kept::KeptLists>,
}

#[derive(Default)]
struct RegisterState {
    /// The head seq the families reflect (0: not read yet).
    seq: u64,
    loaded: bool,
    families: BTreeMap<Ulid, Arc<duban_store::Family>>,
    /// Each stream's family (a reply's own id; a commitment's reply).
    family_of: std::collections::HashMap<Ulid, Ulid>,
    /// Every reply and commitment id, for short ids (proposals and accounts are not listed).
    ids: std::collections::BTreeSet<Ulid>,
    /// The families in id order as last handed out, shared by readers until the register changes.
    snapshot: Option<Arc<Vec<Arc<duban_store::Family>>>>,
    /// The families naming each organ (a reply's organ, a promise's owner or co-handler), and the organs each
    /// family names: a list for one organ reads its families only.
    by_organ: std::collections::HashMap<String, BTreeMap<Ulid, Arc<duban_store::Family>>>,
    organs_of: std::collections::HashMap<Ulid, Vec<String>>,
    /// The families re-read since the register was loaded, with the position each was re-read at (the last
    /// `kept::JOURNAL`), for bringing kept listings up to date; positions up to `journal_from` may be missing.
    journal: std::collections::VecDeque<(u64, Ulid)>,
    journal_from: u64,
}

impl RegisterState {
    fn remember(&mut self, id: Ulid, family: duban_store::Family) {
        if family.proposal.is_none() && family.account.is_none() {
            self.ids.extend(family.seqs.keys().copied());
        }
        for member in family.seqs.keys() {
            self.family_of.insert(*member, id);
        }
        self.forget_organs(id);
        let mut organs: Vec<String> = family.reply.iter().map(|reply| reply.organ().to_string()).collect();
        for state in &family.commitments {
            organs.push(state.owner.clone());
            organs.extend(state.co_handlers.iter().cloned());
        }
        organs.sort_unstable();
        organs.dedup();
        let family = Arc::new(family);
        for organ in &organs {
            self.by_organ.entry(organ.clone()).or_default().insert(id, family.clone());
        }
        self.organs_of.insert(id, organs);
        self.families.insert(id, family);
    }

    fn forget_organs(&mut self, id: Ulid) {
        for organ in self.organs_of.remove(&id).unwrap_or_default() {
            if let Some(families) = self.by_organ.get_mut(&organ) {
                families.remove(&id);
                if families.is_empty() {
                    self.by_organ.remove(&organ);
                }
            }
        }
    }
}

impl Register {
    /// Every family, as of now.
    pub fn current(&self, store: &dyn duban_store::EventStore) -> Result<Arc<Vec<Arc<duban_store::Family>>>> {
        let mut state = self.refreshed(store)?;
        let state = &mut *state;
        Ok(state.snapshot.get_or_insert_with(|| Arc::new(state.families.values().cloned().collect())).clone())
    }

    /// The register brought up to the store's head, held.
    fn refreshed(&self, store: &dyn duban_store::EventStore) -> Result<std::sync::MutexGuard<'_, RegisterState>> {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // The head first: whatever lands after it is read again next time (re-reading a family changes nothing).
        let head = store.head()?.seq;
        if !state.loaded {
            *state = RegisterState::default();
            for family in store.families_between(None, None) {
                let family = family?;
                let Some(id) = family_id(&family) else { continue };
                state.remember(id, family);
            }
            state.seq = head;
            state.journal_from = head;
            state.loaded = true;
        } else if head > state.seq {
            let mut touched = std::collections::BTreeSet::new();
            let from = state.seq + 1;
            let RegisterState { family_of, .. } = &mut *state;
            store.scan_log(from, &mut |envelope| {
                let family = match &envelope.event {
                    duban_domain::Event::CommitmentMade(made) => made.reply,
                    _ => family_of.get(&envelope.stream).copied().unwrap_or(envelope.stream),
                };
                family_of.insert(envelope.stream, family);
                touched.insert(family);
                true
            })?;
            for &id in &touched {
                state.journal.push_back((head, id));
                if state.journal.len() > kept::JOURNAL {
                    if let Some((seq, _)) = state.journal.pop_front() {
                        state.journal_from = seq;
                    }
                }
            }
            for id in touched {
                match store.families_between(Some(id), Some(Ulid(id.0 + 1))).next().transpose()? {
                    Some(family) => state.remember(id, family),
                    None => {
                        state.forget_organs(id);
                        state.families.remove(&id);
                    }
                };
            }
            state.seq = head;
            state.snapshot = None;
        }
        Ok(state)
    }

    /// One family as of now, by its id.
    pub fn family(&self, store: &dyn duban_store::EventStore, id: Ulid) -> Result<Option<Arc<duban_store::Family>>> {
        let state = self.refreshed(store)?;
        Ok(state.families.get(&id).cloned())
    }

    /// The family holding stream `id`, as of now.
    pub fn holding(&self, store: &dyn duban_store::EventStore, id: Ulid) -> Result<Option<Arc<duban_store::Family>>> {
        let state = self.refreshed(store)?;
        Ok(state.family_of.get(&id).and_then(|family| state.families.get(family)).cloned())
    }

    /// The short id of each of `ids` among every reply and commitment the register holds.
    pub fn short_ids(&self, ids: &[Ulid]) -> Vec<String> {
        let state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        ids.iter()
            .map(|id| {
                let before = state.ids.range(..*id).next_back();
                let after = state.ids.range((std::ops::Bound::Excluded(*id), std::ops::Bound::Unbounded)).next();
                let neighbours: Vec<Ulid> = before.into_iter().chain(after).copied().collect();
                short_id(id, &neighbours)
            })
            .collect()
    }
}

/// The id a stored family is kept under: its reply's, proposal's or account's, or its first commitment's reply.
fn family_id(family: &duban_store::Family) -> Option<Ulid> {
    family
        .reply
        .as_ref()
        .and_then(|reply| reply.id)
        .or_else(|| family.proposal.as_ref().and_then(|p| p.id))
        .or_else(|| family.account.as_ref().and_then(|a| a.id))
        .or_else(|| family.commitments.first().and_then(|c| c.reply))
}
