//! Given/when/then tests of the fold, the status rules and every refusal.

use chrono::{NaiveDate, TimeZone, Utc};
use ulid::Ulid;

use crate::*;

const REPLY: &str = "01JBREP1YAAAAAAAAAAAAAAAAA";
const PROMISE: &str = "01JBPR0M1SEAAAAAAAAAAAAAAA";

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn reply_id() -> Ulid {
    REPLY.parse().unwrap()
}

fn promise_id() -> Ulid {
    PROMISE.parse().unwrap()
}

fn seal(stream: Ulid, version: u32, on: &str, event: Event) -> Envelope {
    NewEvent {
        id: Ulid::new(),
        stream,
        occurred_on: day(on),
        recorded_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        actor: "测试".into(),
        event,
    }
    .sealed(u64::from(version), version, String::new(), String::new())
}

fn registered_reply() -> ReplyState {
    ReplyState::fold(&[seal(
        reply_id(),
        1,
        "2025-05-29",
        Event::ReplyRegistered(Box::new(ReplyRegistered {
            organ: "上海市测试局".into(),
            doc_no: "测〔2025〕1号".into(),
            signed_on: Some(day("2025-05-29")),
            ..ReplyRegistered::default()
        })),
    )])
}

fn made(due: Option<&str>) -> Event {
    Event::CommitmentMade(Box::new(CommitmentMade {
        reply: reply_id(),
        text: "年底前建成平台".into(),
        section: Section::NextSteps,
        owner: "市测试局".into(),
        co_handlers: vec![],
        due: due.map(day),
        due_phrase: None,
        locator: None,
    }))
}

fn progress(summary: &str) -> Event {
    Event::ProgressReported(ProgressReported { summary: summary.into(), evidence: vec![], percent: None })
}

fn closed(outcome: Outcome) -> Event {
    Event::Closed(Closed { outcome, summary: "办结".into(), evidence: vec!["验收报告".into()] })
}

fn due_set(due: &str, reason: Option<&str>) -> Event {
    Event::DueDateSet(DueDateSet { due: day(due), reason: reason.map(String::from) })
}

fn reopened() -> Event {
    Event::Reopened(Reopened { reason: "复查未达标".into() })
}

fn dismissed() -> Event {
    Event::Dismissed(Dismissed { reason: "重复登记".into(), duplicate_of: None })
}

/// Given these facts about the commitment (made on 2025-05-29, due 2025-12-31 unless the list says otherwise).
fn given(facts: &[(&str, Event)]) -> CommitmentState {
    let log: Vec<Envelope> = facts
        .iter()
        .enumerate()
        .map(|(index, (on, event))| seal(promise_id(), index as u32 + 1, on, event.clone()))
        .collect();
    CommitmentState::fold(&log)
}

fn status_on(state: &CommitmentState, on: &str) -> Status {
    status(state, day(on), Policy::default())
}

/// When this fact is proposed on 2026-01-10, then it is refused with an error matching `expected`.
fn check_refused(state: &CommitmentState, on: &str, event: Event, expected: fn(&DomainError) -> bool) {
    let error = check_commitment_event(state, &registered_reply(), day(on), &event, day("2026-01-10"))
        .expect_err("the fact should be refused");
    assert!(expected(&error), "unexpected refusal: {error:?}");
    assert!(!error.to_string().is_empty());
}

fn check_accepted(state: &CommitmentState, on: &str, event: Event) {
    check_commitment_event(state, &registered_reply(), day(on), &event, day("2026-01-10"))
        .unwrap_or_else(|error| panic!("refused: {error}"));
}

#[test]
fn a_new_commitment_is_open_until_progress_is_reported() {
    let state = given(&[("2025-05-29", made(Some("2025-12-31")))]);
    assert_eq!(status_on(&state, "2025-06-01"), Status::Open);
    let state = given(&[("2025-05-29", made(Some("2025-12-31"))), ("2025-06-10", progress("完成选址"))]);
    assert_eq!(status_on(&state, "2025-06-10"), Status::InProgress);
    assert_eq!(state.last_progress_on, Some(day("2025-06-10")));
}

#[test]
fn quiet_for_more_than_stall_days_is_stalled() {
    let state = given(&[("2025-05-29", made(None)), ("2025-06-10", progress("完成选址"))]);
    assert_eq!(status_on(&state, "2025-09-08"), Status::InProgress, "90 days is not yet stalled");
    assert_eq!(status_on(&state, "2025-09-09"), Status::Stalled);
    assert_eq!(status(&state, day("2025-09-09"), Policy { stall_days: 120, ..Policy::default() }), Status::InProgress);

    let never_moved = given(&[("2025-05-29", made(None))]);
    assert_eq!(status_on(&never_moved, "2025-08-27"), Status::Open);
    assert_eq!(status_on(&never_moved, "2025-08-28"), Status::Stalled, "counted from the day it was made");
}

#[test]
fn past_its_due_date_and_not_closed_is_overdue_which_beats_stalled() {
    let state = given(&[("2025-05-29", made(Some("2025-06-30")))]);
    assert_eq!(status_on(&state, "2025-06-30"), Status::Open, "due today is not overdue");
    assert_eq!(status_on(&state, "2025-07-01"), Status::Overdue);
    assert_eq!(status_on(&state, "2026-01-01"), Status::Overdue, "overdue outranks stalled");
}

#[test]
fn a_later_due_date_lifts_overdue_and_counts_the_change() {
    let state =
        given(&[("2025-05-29", made(Some("2025-06-30"))), ("2025-07-02", due_set("2025-12-31", Some("资金延迟")))]);
    assert_eq!(status_on(&state, "2025-07-05"), Status::Open);
    assert_eq!(state.due_changes, 1);
    let first_due = given(&[("2025-05-29", made(None)), ("2025-06-01", due_set("2025-12-31", None))]);
    assert_eq!(first_due.due_changes, 0, "setting a first due date is not a change");
}

#[test]
fn closing_gives_the_outcome_status_whatever_the_dates() {
    for (outcome, expected) in [
        (Outcome::Fulfilled, Status::Fulfilled),
        (Outcome::PartiallyFulfilled, Status::PartiallyFulfilled),
        (Outcome::NotFulfilled, Status::NotFulfilled),
    ] {
        let state = given(&[("2025-05-29", made(Some("2025-06-30"))), ("2025-11-01", closed(outcome))]);
        assert_eq!(status_on(&state, "2026-06-01"), expected, "closed outranks overdue");
        assert_eq!(state.closure.as_ref().map(|c| c.on), Some(day("2025-11-01")));
    }
}

#[test]
fn reopening_returns_to_the_active_statuses() {
    let state = given(&[
        ("2025-05-29", made(Some("2026-06-30"))),
        ("2025-07-01", progress("完成选址")),
        ("2025-11-01", closed(Outcome::Fulfilled)),
        ("2025-12-01", reopened()),
    ]);
    assert_eq!(status_on(&state, "2025-12-01"), Status::Stalled, "last progress was in July");
    assert_eq!(state.reopened, 1);
    let state =
        given(&[("2025-05-29", made(None)), ("2025-06-01", closed(Outcome::Fulfilled)), ("2025-06-02", reopened())]);
    assert_eq!(status_on(&state, "2025-06-03"), Status::Open);
}

#[test]
fn dismissed_outranks_everything_and_reopen_undoes_it() {
    let state = given(&[("2025-05-29", made(Some("2025-06-30"))), ("2025-06-05", dismissed())]);
    assert_eq!(status_on(&state, "2026-01-01"), Status::Dismissed);
    let state =
        given(&[("2025-05-29", made(Some("2025-06-30"))), ("2025-06-05", dismissed()), ("2025-06-06", reopened())]);
    assert_eq!(status_on(&state, "2025-06-07"), Status::Open);
}

#[test]
fn back_filled_progress_keeps_the_latest_date() {
    let state =
        given(&[("2025-05-29", made(None)), ("2025-09-01", progress("二期")), ("2025-07-01", progress("一期"))]);
    assert_eq!(state.last_progress_on, Some(day("2025-09-01")));
    assert_eq!(state.progress_reports, 2);
}

#[test]
fn reassigning_changes_the_owner() {
    let state = given(&[
        ("2025-05-29", made(None)),
        ("2025-06-01", Event::Reassigned(Reassigned { owner: "区科委".into(), reason: "职能调整".into() })),
    ]);
    assert_eq!(state.owner, "区科委");
}

#[test]
fn the_horizon_cuts_by_occurrence_and_by_recording() {
    let mut log = vec![
        seal(
            reply_id(),
            1,
            "2025-05-29",
            registered_reply().registered.map(|r| Event::ReplyRegistered(Box::new(r))).unwrap(),
        ),
        seal(promise_id(), 1, "2025-05-29", made(Some("2026-06-30"))),
        seal(promise_id(), 2, "2025-07-01", progress("完成选址")),
        seal(promise_id(), 3, "2025-11-01", closed(Outcome::Fulfilled)),
        seal(promise_id(), 4, "2025-08-01", progress("补录")),
    ];
    for (index, envelope) in log.iter_mut().enumerate() {
        envelope.seq = index as u64 + 1;
        envelope.recorded_at =
            Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap() + chrono::Duration::days(index as i64);
    }
    let everything = Folded::fold(&log, Horizon::ALL);
    assert_eq!(status(&everything.commitments[&promise_id()], day("2025-12-31"), Policy::default()), Status::Fulfilled);

    let before_closure = Folded::fold(&log, Horizon { as_of: Some(day("2025-10-15")), ..Horizon::ALL });
    let state = &before_closure.commitments[&promise_id()];
    assert_eq!(status(state, day("2025-10-15"), Policy::default()), Status::InProgress);
    assert_eq!(state.last_progress_on, Some(day("2025-08-01")), "back-filled fact occurred before the cut");

    let known_earlier = Folded::fold(&log, Horizon { known_seq: Some(4), ..Horizon::ALL });
    assert_eq!(known_earlier.commitments[&promise_id()].last_progress_on, Some(day("2025-07-01")));

    let nothing_known = Folded::fold(&log, Horizon { known_at: Some(log[0].recorded_at), ..Horizon::ALL });
    assert!(nothing_known.commitments.is_empty(), "a commitment not yet recorded does not exist");
    assert_eq!(nothing_known.replies.len(), 1);
}

#[test]
fn apply_is_total_on_any_sequence() {
    // A log that no validation would allow still folds without panicking.
    let state = given(&[
        ("2025-05-29", closed(Outcome::Fulfilled)),
        ("2025-05-29", reopened()),
        ("2025-05-29", made(None)),
        ("2025-05-29", made(None)),
        ("2025-05-29", Event::ReplyEvaluated(ReplyEvaluated { satisfaction: Satisfaction::Satisfied, comment: None })),
    ]);
    assert_eq!(state.version, 5);
}

#[test]
fn facts_in_the_future_are_refused() {
    let state = given(&[("2025-05-29", made(None))]);
    check_refused(&state, "2026-01-11", progress("明天"), |e| matches!(e, DomainError::InFuture { .. }));
    check_accepted(&state, "2026-01-10", progress("今天"));
}

#[test]
fn facts_before_the_commitment_was_made_are_refused() {
    let state = given(&[("2025-05-29", made(None))]);
    check_refused(&state, "2025-05-28", progress("早于承诺"), |e| matches!(e, DomainError::BeforeMade { .. }));
}

#[test]
fn nothing_but_notes_and_reopening_after_closure() {
    let state = given(&[("2025-05-29", made(Some("2025-12-31"))), ("2025-11-01", closed(Outcome::Fulfilled))]);
    let is_closed = |e: &DomainError| matches!(e, DomainError::AlreadyClosed { .. });
    check_refused(&state, "2025-12-01", progress("再报"), is_closed);
    check_refused(&state, "2025-12-01", closed(Outcome::NotFulfilled), is_closed);
    check_refused(&state, "2025-12-01", due_set("2026-06-30", Some("延期")), is_closed);
    check_refused(&state, "2025-12-01", dismissed(), is_closed);
    check_refused(
        &state,
        "2025-12-01",
        Event::Reassigned(Reassigned { owner: "区科委".into(), reason: "调整".into() }),
        is_closed,
    );
    check_accepted(&state, "2025-12-01", Event::NoteAdded(NoteAdded { text: "回头看".into() }));
    check_accepted(&state, "2025-12-01", reopened());
}

#[test]
fn nothing_but_notes_and_reopening_after_dismissal() {
    let state = given(&[("2025-05-29", made(None)), ("2025-06-01", dismissed())]);
    let is_dismissed = |e: &DomainError| matches!(e, DomainError::AlreadyDismissed { .. });
    check_refused(&state, "2025-12-01", progress("再报"), is_dismissed);
    check_refused(&state, "2025-12-01", closed(Outcome::Fulfilled), is_dismissed);
    check_refused(&state, "2025-12-01", dismissed(), is_dismissed);
    check_accepted(&state, "2025-12-01", reopened());
}

#[test]
fn reopening_an_active_commitment_is_refused() {
    let state = given(&[("2025-05-29", made(None))]);
    check_refused(&state, "2025-12-01", reopened(), |e| matches!(e, DomainError::NotClosed { .. }));
}

#[test]
fn due_date_rules() {
    let without_due = given(&[("2025-05-29", made(None))]);
    check_accepted(&without_due, "2025-06-01", due_set("2025-12-31", None));
    check_refused(&without_due, "2025-06-01", due_set("2025-05-28", None), |e| {
        matches!(e, DomainError::DueBeforeSigned { .. })
    });
    let with_due = given(&[("2025-05-29", made(Some("2025-12-31")))]);
    check_refused(&with_due, "2025-06-01", due_set("2026-06-30", None), |e| {
        matches!(e, DomainError::DueChangeNeedsReason { .. })
    });
    check_refused(&with_due, "2025-06-01", due_set("2025-12-31", Some("同上")), |e| {
        matches!(e, DomainError::DueUnchanged { .. })
    });
    check_refused(&with_due, "2025-06-01", due_set("2026-06-30", Some(" ")), |e| {
        matches!(e, DomainError::EmptyText { .. })
    });
    check_accepted(&with_due, "2025-06-01", due_set("2026-06-30", Some("资金延迟")));
}

#[test]
fn making_a_commitment_is_checked_against_its_reply() {
    let nothing = CommitmentState::default();
    check_accepted(&nothing, "2025-05-29", made(Some("2025-12-31")));
    check_refused(&nothing, "2025-05-28", made(None), |e| matches!(e, DomainError::BeforeSigned { .. }));
    check_refused(&nothing, "2025-05-29", made(Some("2025-01-01")), |e| {
        matches!(e, DomainError::DueBeforeSigned { .. })
    });
    let unregistered = ReplyState::default();
    let error =
        check_commitment_event(&nothing, &unregistered, day("2025-06-01"), &made(None), day("2026-01-10")).unwrap_err();
    assert!(matches!(error, DomainError::WrongStream { .. }), "{error:?}");
    let existing = given(&[("2025-05-29", made(None))]);
    check_refused(&existing, "2025-05-29", made(None), |e| matches!(e, DomainError::AlreadyRegistered { .. }));
    check_refused(&nothing, "2025-06-01", progress("无承诺"), |e| matches!(e, DomainError::WrongStream { .. }));
}

#[test]
fn text_must_be_present_sane_and_printable() {
    let state = given(&[("2025-05-29", made(None))]);
    check_refused(&state, "2025-06-01", progress("   "), |e| matches!(e, DomainError::EmptyText { .. }));
    check_refused(&state, "2025-06-01", progress("响铃\u{7}"), |e| matches!(e, DomainError::ControlCharacter { .. }));
    check_refused(&state, "2025-06-01", progress(&"长".repeat(MAX_TEXT_BYTES)), |e| {
        matches!(e, DomainError::TextTooLong { .. })
    });
    check_accepted(&state, "2025-06-01", progress("第一行\n第二行\t制表"));
    let with_blank_evidence =
        Event::ProgressReported(ProgressReported {
            summary: "完成".into(), evidence: vec!["".into()], percent: None
        });
    check_refused(&state, "2025-06-01", with_blank_evidence, |e| matches!(e, DomainError::EmptyText { .. }));
}

#[test]
fn percent_reassignment_and_dismissal_rules() {
    let state = given(&[("2025-05-29", made(None))]);
    let too_much =
        Event::ProgressReported(ProgressReported { summary: "超额".into(), evidence: vec![], percent: Some(101) });
    check_refused(&state, "2025-06-01", too_much, |e| matches!(e, DomainError::PercentOutOfRange { percent: 101 }));
    let same_owner = Event::Reassigned(Reassigned { owner: "市测试局".into(), reason: "无变化".into() });
    check_refused(&state, "2025-06-01", same_owner, |e| matches!(e, DomainError::SameOwner { .. }));
    let itself = Event::Dismissed(Dismissed { reason: "重复".into(), duplicate_of: Some(promise_id()) });
    check_refused(&state, "2025-06-01", itself, |e| matches!(e, DomainError::DuplicateOfItself { .. }));
    let reply_event = Event::ReplyEvaluated(ReplyEvaluated { satisfaction: Satisfaction::Satisfied, comment: None });
    check_refused(&state, "2025-06-01", reply_event, |e| matches!(e, DomainError::WrongStream { .. }));
}

#[test]
fn reply_rules() {
    let today = day("2026-01-10");
    let reply = registered_reply();
    let register_again = reply.registered.clone().map(|r| Event::ReplyRegistered(Box::new(r))).unwrap();
    let error = check_reply_event(&reply, day("2025-05-29"), &register_again, today).unwrap_err();
    assert!(matches!(error, DomainError::AlreadyRegistered { .. }), "{error:?}");

    let future = ReplyRegistered { signed_on: Some(day("2026-02-01")), ..reply.registered.clone().unwrap() };
    let error =
        check_reply_event(&ReplyState::default(), day("2026-01-01"), &Event::ReplyRegistered(Box::new(future)), today)
            .unwrap_err();
    assert!(matches!(error, DomainError::InFuture { .. }), "{error:?}");

    // A registration may lack what the document did not give (the reply is then 待补全), never hold bad text.
    let incomplete = ReplyRegistered {
        organ: " ".into(),
        doc_no: String::new(),
        signed_on: None,
        ..reply.registered.clone().unwrap()
    };
    assert_eq!(incomplete.missing(), ["答复单位", "文号", "签发日期"]);
    let event = Event::ReplyRegistered(Box::new(incomplete.clone()));
    assert!(check_reply_event(&ReplyState::default(), day("2025-05-29"), &event, today).is_ok());
    let garbled = ReplyRegistered { doc_no: "文\u{1b}[2J号".into(), ..incomplete };
    let error =
        check_reply_event(&ReplyState::default(), day("2025-05-29"), &Event::ReplyRegistered(Box::new(garbled)), today)
            .unwrap_err();
    assert!(matches!(error, DomainError::ControlCharacter { field: "文号", .. }), "{error:?}");

    let evaluation = Event::ReplyEvaluated(ReplyEvaluated { satisfaction: Satisfaction::Dissatisfied, comment: None });
    assert!(check_reply_event(&reply, day("2025-06-01"), &evaluation, today).is_ok());
    let error = check_reply_event(&reply, day("2025-05-01"), &evaluation, today).unwrap_err();
    assert!(matches!(error, DomainError::BeforeSigned { .. }), "{error:?}");
    let error = check_reply_event(&ReplyState::default(), day("2025-06-01"), &evaluation, today).unwrap_err();
    assert!(matches!(error, DomainError::WrongStream { .. }), "{error:?}");
    let error = check_reply_event(&reply, day("2025-06-01"), &progress("错流"), today).unwrap_err();
    assert!(matches!(error, DomainError::WrongStream { .. }), "{error:?}");
}

#[test]
fn the_latest_evaluation_counts() {
    let evaluated = |satisfaction| Event::ReplyEvaluated(ReplyEvaluated { satisfaction, comment: None });
    let mut reply = registered_reply();
    reply.apply(&seal(reply_id(), 2, "2025-08-01", evaluated(Satisfaction::Dissatisfied)));
    reply.apply(&seal(reply_id(), 3, "2025-07-01", evaluated(Satisfaction::Satisfied)));
    assert_eq!(reply.evaluation, Some((day("2025-08-01"), Satisfaction::Dissatisfied)));
}

#[test]
fn folded_state_keeps_text_ids_and_dates_in_json_and_numbers_in_binary() {
    let id: Ulid = "01JWMKF780CRH9B4XTXCPPY886".parse().unwrap();
    let state = CommitmentState {
        id: Some(id),
        reply: Some(id),
        made_on: Some(day("2025-05-29")),
        due: Some(day("2025-12-31")),
        closure: Some(Closure { outcome: Outcome::Fulfilled, on: day("2025-11-30"), summary: "办结".into() }),
        ..CommitmentState::default()
    };
    let json = serde_json::to_value(&state).unwrap();
    assert_eq!(json["id"], "01JWMKF780CRH9B4XTXCPPY886");
    assert_eq!(json["due"], "2025-12-31");
    assert_eq!(json["closure"]["on"], "2025-11-30");
    assert_eq!(serde_json::from_value::<CommitmentState>(json).unwrap(), state);
    let binary = postcard::to_stdvec(&state).unwrap();
    assert!(!binary.windows(10).any(|w| w == b"2025-12-31"), "dates are day numbers in binary");
    assert!(binary.len() < 80, "{} bytes (ids as text alone would take 54)", binary.len());
    assert_eq!(postcard::from_bytes::<CommitmentState>(&binary).unwrap(), state);
}

#[test]
fn an_actor_is_a_printable_name_of_sane_length() {
    assert_eq!(check_actor("王芳"), Ok(()));
    assert_eq!(check_actor("市科委 联络员"), Ok(()));
    assert_eq!(check_actor("  "), Err(DomainError::EmptyText { field: "记录人" }));
    assert_eq!(check_actor("王芳\u{1b}[2J"), Err(DomainError::ControlCharacter { field: "记录人", code: 0x1b }));
    assert_eq!(check_actor("王\u{202e}芳"), Err(DomainError::ControlCharacter { field: "记录人", code: 0x202e }));
    let long = "督".repeat(65);
    assert!(matches!(check_actor(&long), Err(DomainError::TextTooLong { len: 195, max: 192, .. })));
    assert_eq!(check_actor(&"督".repeat(64)), Ok(()));
}

#[test]
fn a_missing_signing_date_is_null_in_json_and_an_empty_string_stored_and_a_present_one_keeps_its_bytes() {
    let reply = registered_reply().registered.unwrap();
    let incomplete = ReplyRegistered { signed_on: None, ..reply.clone() };
    let json = serde_json::to_value(&incomplete).unwrap();
    assert!(json["signed_on"].is_null());
    assert_eq!(serde_json::from_value::<ReplyRegistered>(json).unwrap(), incomplete);
    let stored = postcard::to_stdvec(&incomplete).unwrap();
    assert_eq!(postcard::from_bytes::<ReplyRegistered>(&stored).unwrap(), incomplete);
    // A present date is stored as the same string a plain `NaiveDate` writes (schema 1's records keep their bytes).
    let date = reply.signed_on.unwrap();
    let complete = postcard::to_stdvec(&reply).unwrap();
    let plain = postcard::to_stdvec(&date).unwrap();
    assert!(complete.windows(plain.len()).any(|window| window == plain.as_slice()));
    assert_eq!(postcard::from_bytes::<ReplyRegistered>(&complete).unwrap(), reply);
    assert_eq!(complete.len(), stored.len() + plain.len() - 1, "None is one byte: an empty string");
}

/// Reported done (100 %), a promise waits for a liaison's closure as 待审核 — even past its due date; a later report
/// below 100 % takes it back, and the closure decides.
#[test]
fn a_promise_reported_done_awaits_review() {
    let done = |percent| {
        Event::ProgressReported(ProgressReported { summary: "完工".into(), evidence: vec![], percent: Some(percent) })
    };
    let reported = given(&[("2025-05-29", made(Some("2025-06-30"))), ("2025-06-01", done(100))]);
    assert_eq!(status_on(&reported, "2025-06-02"), Status::PendingReview);
    assert_eq!(status_on(&reported, "2025-12-31"), Status::PendingReview, "not overdue while it waits on the office");
    assert!(Status::PendingReview.is_active());
    assert_eq!(Status::parse("待审核"), Some(Status::PendingReview));
    let redone =
        given(&[("2025-05-29", made(Some("2025-06-30"))), ("2025-06-01", done(100)), ("2025-07-01", done(80))]);
    assert_eq!(status_on(&redone, "2025-07-02"), Status::Overdue);
    let closed = given(&[
        ("2025-05-29", made(Some("2025-06-30"))),
        ("2025-06-01", done(100)),
        ("2025-08-01", closed(Outcome::Fulfilled)),
    ]);
    assert_eq!(status_on(&closed, "2025-08-02"), Status::Fulfilled);
}

fn attached(file_name: &str, sha256: &str, bytes: u64) -> Event {
    Event::EvidenceAttached(EvidenceAttached {
        file_name: file_name.into(),
        sha256: sha256.into(),
        bytes,
        media_type: "application/pdf".into(),
    })
}

#[test]
fn an_attachment_names_one_plain_file_by_its_hash_and_only_while_the_promise_is_active() {
    let state = given(&[("2025-05-29", made(None))]);
    let hash = "0123456789abcdef".repeat(4);
    check_accepted(&state, "2025-06-01", attached("验收报告.pdf", &hash, 10));
    let bad = |e: &DomainError| matches!(e, DomainError::BadAttachment { .. });
    check_refused(&state, "2025-06-01", attached("../etc/passwd", &hash, 10), bad);
    check_refused(&state, "2025-06-01", attached("报告.pdf", &hash.to_uppercase(), 10), bad);
    check_refused(&state, "2025-06-01", attached("报告.pdf", &hash[1..], 10), bad);
    check_refused(&state, "2025-06-01", attached("报告.pdf", &hash, 0), bad);
    check_refused(&state, "2025-06-01", attached("", &hash, 10), |e| matches!(e, DomainError::EmptyText { .. }));
    check_refused(&state, "2025-06-01", attached("报\u{1b}告.pdf", &hash, 10), |e| {
        matches!(e, DomainError::ControlCharacter { .. })
    });
    let long = format!("{}.pdf", "长".repeat(90));
    check_refused(&state, "2025-06-01", attached(&long, &hash, 10), |e| matches!(e, DomainError::TextTooLong { .. }));
    let closed = given(&[("2025-05-29", made(None)), ("2025-06-01", closed(Outcome::Fulfilled))]);
    check_refused(&closed, "2025-06-02", attached("验收报告.pdf", &hash, 10), |e| {
        matches!(e, DomainError::AlreadyClosed { .. })
    });
}

#[test]
fn an_intake_review_belongs_to_a_registered_reply_and_must_say_something() {
    let reply = registered_reply();
    let review = |reviewed: IntakeReviewed| Event::IntakeReviewed(Box::new(reviewed));
    let corrected = IntakeReviewed {
        corrections: vec![Correction {
            field: "文号".into(), read: String::new(), given: "沪科〔2025〕3号".into()
        }],
        ..IntakeReviewed::default()
    };
    assert_eq!(check_reply_event(&reply, day("2025-06-01"), &review(corrected.clone()), day("2025-06-01")), Ok(()));
    let empty = check_reply_event(&reply, day("2025-06-01"), &review(IntakeReviewed::default()), day("2025-06-01"));
    assert!(matches!(empty, Err(DomainError::NothingToAmend { .. })), "{empty:?}");
    let unregistered =
        check_reply_event(&ReplyState::default(), day("2025-06-01"), &review(corrected), day("2025-06-01"));
    assert!(matches!(unregistered, Err(DomainError::WrongStream { .. })), "{unregistered:?}");
    let blank_added = IntakeReviewed { added: vec!["  ".into()], ..IntakeReviewed::default() };
    let refused = check_reply_event(&reply, day("2025-06-01"), &review(blank_added), day("2025-06-01"));
    assert!(matches!(refused, Err(DomainError::EmptyText { .. })), "{refused:?}");
    // Folding it changes nothing of the reply's registration.
    let mut folded = reply.clone();
    folded.apply(&seal(
        reply_id(),
        2,
        "2025-06-01",
        review(IntakeReviewed { added: vec!["补".into()], ..Default::default() }),
    ));
    assert_eq!(folded.registered, reply.registered);
}
