//! Use cases on a real store in a temp folder, with a pinned clock.

use chrono::{NaiveDate, TimeZone, Utc};
use duban_domain::{
    Closed, Event, Horizon, Outcome, Policy, ProgressReported, ProposalRef, ReplyRegistered, Section, Status,
};

use crate::{App, Context, ListFilter, NewCommitment, ReportRequest, View};

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn at(date: &str) -> Context {
    let date = day(date);
    Context::new("测试员", Utc.from_utc_datetime(&date.and_hms_opt(4, 0, 0).unwrap())).unwrap()
}

fn reply(organ: &str, doc_no: &str, signed_on: &str) -> ReplyRegistered {
    ReplyRegistered {
        doc_type: None,
        organ: organ.into(),
        doc_no: doc_no.into(),
        proposal: ProposalRef::default(),
        proposers: vec![],
        title: None,
        result: None,
        disclosure: None,
        addressee: None,
        signed_on: Some(day(signed_on)),
        printed_on: None,
        contact: None,
        cc: vec![],
        source: None,
    }
}

fn promise(reply: &str, text: &str, due: &str) -> NewCommitment {
    NewCommitment {
        reply: reply.into(),
        text: text.into(),
        owner: None,
        co_handlers: vec![],
        due: Some(day(due)),
        on: None,
        section: Section::NextSteps,
    }
}

/// A register of one reply with two promises, one of them fulfilled in September.
fn register() -> (tempfile::TempDir, App, ulid::Ulid, ulid::Ulid) {
    let dir = tempfile::tempdir().unwrap();
    let app = App::create(&dir.path().join("duban.db")).unwrap();
    let ctx = at("2025-06-01");
    let reply = app.register_reply(&ctx, reply(" 市测试局 ", "测〔2025〕1号", "2025-05-29")).unwrap();
    let (kept, _) = app.make_commitment(&ctx, promise(&reply.to_string(), "建成平台", "2025-12-31")).unwrap();
    let (late, _) = app.make_commitment(&ctx, promise(&reply.to_string(), "出台办法", "2025-10-31")).unwrap();
    let closed = Event::Closed(Closed { outcome: Outcome::Fulfilled, summary: "已建成".into(), evidence: vec![] });
    app.record(&at("2025-09-20"), &kept.to_string(), Some(day("2025-09-15")), closed, None).unwrap();
    (dir, app, kept, late)
}

#[test]
fn a_commitment_defaults_to_the_replying_organ_and_the_signing_day() {
    let (_dir, app, kept, _) = register();
    let detail = app.commitment(&kept.to_string(), &View::now(day("2025-10-01"))).unwrap();
    assert_eq!(detail.state.owner, "市测试局", "the organ, trimmed");
    assert_eq!(detail.state.made_on, Some(day("2025-05-29")));
}

#[test]
fn a_second_reply_under_the_same_organ_and_number_is_refused() {
    let (_dir, app, _, _) = register();
    let error = app.register_reply(&at("2025-06-02"), reply("市测试局", " 测〔2025〕1号", "2025-05-30")).unwrap_err();
    assert!(error.is_user_error());
    assert!(error.to_string().contains("已登记为答复"), "{error}");
    assert_eq!(app.head().unwrap().seq, 4, "nothing appended");
}

#[test]
fn a_write_based_on_a_stale_reading_is_a_conflict_and_writes_nothing() {
    let (_dir, app, _, late) = register();
    let progress = |summary: &str| {
        Event::ProgressReported(ProgressReported { summary: summary.into(), evidence: vec![], percent: None })
    };
    let first = app.record(&at("2025-07-01"), &late.to_string(), None, progress("起草"), Some(1)).unwrap();
    assert_eq!((first.version, first.status), (2, Status::InProgress));
    let error = app.record(&at("2025-07-01"), &late.to_string(), None, progress("又一次"), Some(1)).unwrap_err();
    assert!(error.is_conflict(), "{error}");
    assert_eq!(app.head().unwrap().seq, first.seq);
}

#[test]
fn the_read_model_answers_through_a_horizon() {
    let (_dir, app, kept, late) = register();
    let today = day("2025-11-15");
    let now = app.list(&ListFilter::default(), &View::now(today)).unwrap();
    let status_of =
        |listing: &crate::Listing, id| listing.rows.iter().find(|row| row.state.id == Some(id)).unwrap().status;
    assert_eq!((status_of(&now, kept), status_of(&now, late)), (Status::Fulfilled, Status::Overdue));
    // On 1 September nothing was closed or overdue; both had gone 90 days without progress.
    let before = View::new(Horizon { as_of: Some(day("2025-09-01")), ..Horizon::ALL }, today, Policy::default());
    let then = app.list(&ListFilter::default(), &before).unwrap();
    assert_eq!((status_of(&then, kept), status_of(&then, late)), (Status::Stalled, Status::Stalled));
    // As the register stood after the third event, the second promise was there and the closure was not.
    let known = View::new(Horizon { known_seq: Some(3), ..Horizon::ALL }, today, Policy::default());
    let listing = app.list(&ListFilter::default(), &known).unwrap();
    assert_eq!(listing.rows.len(), 2);
    assert_eq!(status_of(&listing, kept), Status::Stalled, "not yet known to be closed");
    let detail = app.commitment(&kept.to_string(), &known).unwrap();
    assert_eq!(detail.events.len(), 1);
    let replies = app.replies(&known).unwrap();
    assert_eq!((replies.len(), replies[0].commitments), (1, 2));
    let overdue = ListFilter { overdue: true, ..ListFilter::default() };
    assert_eq!(app.list(&overdue, &View::now(today)).unwrap().rows.len(), 1);
}

#[test]
fn the_report_footer_names_the_head_it_rests_on() {
    let (_dir, app, _, _) = register();
    let head = app.head().unwrap();
    let request = ReportRequest {
        year: 2025,
        as_of: None,
        known: Horizon::ALL,
        organ: None,
        assembly: None,
        policy: Policy::default(),
        generated_at: None,
        issuer: None,
    };
    let report = app.clone().into_report(&request, day("2025-12-31")).unwrap();
    assert_eq!((report.footer.known_seq, report.footer.head_hash.as_str()), (head.seq, head.hash.as_str()));
    let earlier = ReportRequest { known: Horizon { known_seq: Some(2), ..Horizon::ALL }, ..request };
    let report = app.clone().into_report(&earlier, day("2025-12-31")).unwrap();
    let verified = app.verify(Some((2, &report.footer.head_hash))).unwrap();
    assert_eq!(verified.head_check, Some(crate::HeadCheck::Matches { seq: 2 }));
    assert_eq!(report.footer.known_seq, 2);
}

/// A serving handle keeps the register in memory: what is written through it (or through another handle of the
/// same store) shows in the next list, exactly as a handle that reads the projection afresh sees it.
#[test]
fn a_serving_handle_lists_what_a_fresh_reading_lists_after_every_write() {
    let (_dir, app, kept, late) = register();
    let serving = app.clone().serving();
    let today = View::now(day("2025-12-31"));
    let answer = |app: &App| -> Vec<(ulid::Ulid, Status, String)> {
        let listing = app.list(&ListFilter::default(), &today).unwrap();
        listing.rows.iter().map(|row| (row.state.id.unwrap(), row.status, row.short_id.clone())).collect()
    };
    assert_eq!(answer(&serving), answer(&app));
    let progress =
        Event::ProgressReported(ProgressReported { summary: "进展".into(), evidence: vec![], percent: None });
    serving.record(&at("2025-12-01"), &late.to_string(), Some(day("2025-12-01")), progress, None).unwrap();
    let ctx = at("2025-12-02");
    let reply = app.register_reply(&ctx, reply("市另一局", "另〔2025〕2号", "2025-12-01")).unwrap();
    let (new, _) = app.make_commitment(&ctx, promise(&reply.to_string(), "新承诺", "2026-06-30")).unwrap();
    let after = answer(&serving);
    assert_eq!(after, answer(&app), "the cached register caught up with both handles' writes");
    assert_eq!(after.len(), 3);
    let status_of = |id| after.iter().find(|row| row.0 == id).map(|row| row.1);
    assert_eq!((status_of(new), status_of(kept)), (Some(Status::Open), Some(Status::Fulfilled)));
    assert_eq!(serving.replies(&today).unwrap().len(), 2);
}

/// A serving handle reads accounts from the register it holds (not every family from the store): what it answers
/// equals a fresh handle's after accounts are created, changed and disabled through either handle.
#[test]
fn a_serving_handle_knows_accounts_as_a_fresh_handle_does() {
    use duban_domain::Role;
    let (_dir, app, _, _) = register();
    let serving = app.clone().serving();
    let names = |app: &App| -> Vec<(String, Option<Role>, bool)> {
        app.accounts().unwrap().into_iter().map(|a| (a.name.clone(), a.role, a.disabled)).collect()
    };
    assert!(serving.accounts().unwrap().is_empty());
    let ctx = at("2025-12-01");
    serving.create_account(&ctx, "联络员甲", Role::Liaison, vec![], "一二三四五六七八").unwrap();
    app.create_account(&ctx, "局甲", Role::Organ, vec!["市测试局".into()], "一二三四五六七八").unwrap();
    assert_eq!(names(&serving), names(&app));
    assert_eq!(names(&serving).len(), 2);
    app.disable_account(&ctx, "联络员甲", true, "调岗").unwrap();
    serving.change_account(&ctx, "局甲", Role::Viewer, vec![]).unwrap();
    assert_eq!(names(&serving), names(&app), "the register caught up with both handles' changes");
    assert!(serving.account("联络员甲").unwrap().disabled);
    assert_eq!(serving.account("局甲").unwrap().role, Some(Role::Viewer));
    assert!(serving.account("无此人").is_err());
}

/// Writers racing on one stream without pinning a version (as the server's clients do) all get through: the loser
/// of each race is checked again and retried, never told of a conflict it did not ask about. With a version pinned,
/// the conflict is told.
#[test]
fn racing_writers_that_pin_no_version_all_get_through() {
    let (_dir, app, _, late) = register();
    let reply = app.commitment_now(&late.to_string()).unwrap().1.reply.unwrap().to_string();
    std::thread::scope(|scope| {
        for writer in 0..4 {
            let (app, reply) = (app.clone(), reply.clone());
            scope.spawn(move || {
                for n in 0..10 {
                    let note = Event::NoteAdded(duban_domain::NoteAdded { text: format!("{writer}-{n}") });
                    app.record(&at("2025-10-01"), &late.to_string(), None, note, None).unwrap();
                    app.evaluate(&at("2025-10-01"), &reply, None, duban_domain::Satisfaction::Satisfied, None).unwrap();
                }
            });
        }
    });
    let state = app.commitment_now(&late.to_string()).unwrap().1;
    assert_eq!(state.notes, 40, "every note landed");
    let version = state.version;
    let stale = Event::NoteAdded(duban_domain::NoteAdded { text: "过时".into() });
    let refused = app.record(&at("2025-10-01"), &late.to_string(), None, stale, Some(version - 1)).unwrap_err();
    assert!(refused.is_conflict(), "{refused}");
}

/// A stored search index that no longer reads back is reported with the way out (and no answer is given from it);
/// `rebuild`'s derivation says it differed and writes it afresh; one that reads back but says something else is
/// found by the same comparison.
#[test]
fn a_long_unindexed_tail_is_indexed_a_bounded_step_at_a_time() {
    let (_dir, app, _, _) = register();
    let request = crate::SearchRequest { query: "建成".into(), limit: 10, keys: true, ..Default::default() };
    let now = View::now(day("2025-10-01"));
    let find = |app: &App| {
        let found = app.search(&request, &now, &crate::Visible::everything()).unwrap();
        let shown: Vec<(ulid::Ulid, u64, String)> =
            found.hits.iter().map(|h| (h.id, h.seq, format!("{}", h.score))).collect();
        (found.total, found.keys, shown)
    };
    let unindexed = find(&app);
    let serving = app.clone().serving();
    assert_eq!(app.search_covered().unwrap().0, 0, "nothing indexed yet");
    let head = app.store.head().unwrap().seq;
    assert!(head >= 4, "{head}");
    // One event a step, as a write catches up a store whose index fell behind (by CATCH_UP_EVENTS a step).
    let mut steps = 0;
    let named = |app: &App| -> std::collections::BTreeSet<String> {
        let head = app.search_head().unwrap().unwrap_or_default();
        head.segments.iter().map(|s| crate::search::segment_file_name(s.id)).collect()
    };
    let files = |app: &App| -> std::collections::BTreeSet<String> {
        app.store.derived_file_names().unwrap().into_iter().filter(|n| n.starts_with("search-")).collect()
    };
    let mut merges = 0;
    while app.index_tail(1, 1).unwrap() {
        steps += 1;
        // A step makes its head durable and removes the files of the segments it merged away: on disk are the
        // files its head names, no more.
        let after = named(&app);
        assert_eq!(files(&app), after, "step {steps}");
        merges += usize::from(after.len() < steps as usize);
        let (covered, segments) = app.search_covered().unwrap();
        assert_eq!(covered, steps, "step {steps}");
        assert_eq!(find(&app), unindexed, "the same answer part way, at {covered}");
        // A serving handle keeps decoded posting lists between queries: segments merged away do not linger.
        assert_eq!(find(&serving), unindexed, "served, at {covered}, segments {segments:?}");
    }
    assert_eq!(steps, head);
    assert!(merges > 0, "some step merged segments");
    assert!(!app.index_tail(1, 1).unwrap(), "nothing left");
    assert_eq!(find(&app), unindexed);
}

#[test]
fn a_damaged_search_index_is_reported_and_rebuilt() {
    let (_dir, app, kept, _) = register();
    let request = crate::SearchRequest { query: "建成".into(), limit: 10, ..Default::default() };
    let now = View::now(day("2025-10-01"));
    let find = |app: &App| app.search(&request, &now, &crate::Visible::everything());
    app.index_search().unwrap();
    let stored = find(&app).unwrap();
    assert_eq!(stored.hits.first().map(|hit| hit.id), Some(kept), "the promise by its text");
    assert_eq!(stored.total, 2, "the promise and its closure's summary");
    // Damaged: a byte of every segment file flipped (each piece carries its CRC).
    let folder = std::path::Path::new(&app.store.location()).join("derived");
    let files: Vec<std::path::PathBuf> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "seg"))
        .collect();
    assert!(!files.is_empty());
    for path in &files {
        let mut bytes = std::fs::read(path).unwrap();
        let middle = bytes.len() / 3;
        bytes[middle] ^= 0x40;
        std::fs::write(path, bytes).unwrap();
    }
    let error = find(&app).unwrap_err();
    assert!(!error.is_user_error());
    assert!(error.to_string().contains("duban rebuild"), "{error}");
    let rebuilt = app.rebuild_search().unwrap();
    assert!(rebuilt.differed >= 1, "{rebuilt:?}");
    assert_eq!(find(&app).unwrap().total, 2);
    // Gone: a segment file deleted is damage too.
    let head = app.search_head().unwrap().unwrap();
    let first = head.segments[0];
    app.store.remove_derived_file(&super::search::segment_file_name(first.id)).unwrap();
    assert!(find(&app).unwrap_err().to_string().contains("duban rebuild"));
    assert!(app.rebuild_search().unwrap().differed >= 1);
    assert_eq!(find(&app).unwrap().total, 2);
    // Readable but wrong: a well-formed segment whose bigram list names one more document.
    let head = app.search_head().unwrap().unwrap();
    app.rewrite_segment_for_test(head.segments[0], &mut |segment| {
        let (_, value) = segment.postings.iter_mut().find(|(gram, _)| gram[0] == b'b').unwrap();
        value.extend([100, 1, 0]);
    });
    assert_eq!(app.rebuild_search().unwrap().differed, 1);
    assert_eq!(app.rebuild_search().unwrap().differed, 0, "and then as derived");
}

/// A serving handle keeps listings between requests and brings them up to date family by family (`read::kept`):
/// after every write of a long mixed sequence — promises made, progress, due dates moved, promises handed to
/// another organ, closed, reopened, dismissed, some through another handle — every listing asked for (organs,
/// statuses, orders, both directions, pages, two dates) is row for row what a handle reading afresh lists.
#[test]
fn a_kept_listing_brought_up_to_date_is_the_listing_worked_out_afresh() {
    use duban_domain::{Dismissed, DueDateSet, Reassigned, Reopened};
    let dir = tempfile::tempdir().unwrap();
    let app = App::create(&dir.path().join("duban.db")).unwrap();
    let serving = app.clone().serving();
    let organs = ["市甲局", "市乙局", "区甲局"];
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let mut promises: Vec<ulid::Ulid> = Vec::new();
    let mut replies = 0;
    let filters: Vec<ListFilter> = {
        let organ = |name: &str| Some(duban_domain::OrganQuery::new(name, &duban_domain::Aliases::default()));
        let mut filters = Vec::new();
        for organ in [None, organ("市甲局"), organ("甲局"), organ("市乙局")] {
            for order in [crate::Order::Due, crate::Order::Status, crate::Order::Owner, crate::Order::Progress] {
                filters.push(ListFilter { organ: organ.clone(), order, ..ListFilter::default() });
            }
            filters.push(ListFilter { organ: organ.clone(), statuses: vec![Status::Overdue], ..ListFilter::default() });
            filters.push(ListFilter {
                organ: organ.clone(),
                active: true,
                due_within: Some(60),
                ..ListFilter::default()
            });
            filters.push(ListFilter { organ, year: Some(2025), order: crate::Order::Number, ..ListFilter::default() });
        }
        filters
    };
    let everything = |_: &duban_domain::CommitmentState| true;
    let only_yi = |state: &duban_domain::CommitmentState| state.owner == "市乙局";
    let rows = |app: &App,
                filter: &ListFilter,
                view: &View,
                descending: bool,
                offset: usize,
                visible: &dyn Fn(&duban_domain::CommitmentState) -> bool| {
        let (total, listing) = app.list_page(filter, view, visible, offset, 7, descending).unwrap();
        let rows: Vec<_> = listing
            .rows
            .iter()
            .map(|row| (row.state.id.unwrap(), row.status, row.short_id.clone(), row.state.version))
            .collect();
        (total, rows)
    };
    let mut compared = 0;
    for step in 0..120 {
        let date = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap() + chrono::Days::new(step * 3);
        let ctx = at(&date.to_string());
        let writer = if next(3) == 0 { &app } else { &serving };
        let roll = next(10);
        if promises.len() < 4 || roll == 0 {
            replies += 1;
            let organ = organs[next(organs.len())];
            let reply = writer
                .register_reply(&ctx, reply(organ, &format!("测〔2025〕{replies}号"), &date.to_string()))
                .unwrap();
            for n in 0..1 + next(3) {
                let due = date + chrono::Days::new(next(200) as u64);
                let made = promise(&reply.to_string(), &format!("承诺{replies}-{n}"), &due.to_string());
                promises.push(writer.make_commitment(&ctx, made).unwrap().0);
            }
        } else {
            let id = promises[next(promises.len())].to_string();
            let event = match roll {
                1..=3 => Event::ProgressReported(ProgressReported {
                    summary: "进展".into(),
                    evidence: vec![],
                    percent: None,
                }),
                4 => Event::DueDateSet(DueDateSet {
                    due: date + chrono::Days::new(next(90) as u64),
                    reason: Some("调整".into()),
                }),
                5 => {
                    Event::Reassigned(Reassigned { owner: organs[next(organs.len())].into(), reason: "调整".into() })
                }
                6 | 7 => {
                    Event::Closed(Closed { outcome: Outcome::Fulfilled, summary: "已完成".into(), evidence: vec![] })
                }
                8 => Event::Reopened(Reopened { reason: "重新办理".into() }),
                _ => Event::Dismissed(Dismissed { reason: "误录".into(), duplicate_of: None }),
            };
            // Refusals (closing a closed promise, reopening an open one) write nothing: fine either way.
            let _ = writer.record(&ctx, &id, Some(date), event, None);
        }
        // Two fixed dates (the listings kept are brought up to date) and the day's (worked out afresh).
        for on_date in [day("2025-09-01"), day("2026-01-15"), date] {
            let view = View::now(on_date);
            for filter in &filters {
                let descending = next(2) == 0;
                let offset = next(4);
                let visible: &dyn Fn(&duban_domain::CommitmentState) -> bool =
                    if next(4) == 0 { &only_yi } else { &everything };
                let kept = rows(&serving, filter, &view, descending, offset, visible);
                assert_eq!(
                    kept,
                    rows(&app, filter, &view, descending, offset, visible),
                    "step {step}, {filter:?}, {on_date}"
                );
                compared += usize::from(!kept.1.is_empty());
            }
        }
    }
    assert!(compared > 1_000, "most listings compared had rows: {compared}");
}
