//! Reports built from a fixed log, every figure checked against a hand computation (see the comments).

use chrono::{NaiveDate, TimeZone, Utc};
use duban_domain::*;
use ulid::Ulid;

use crate::{build, render, Format, Params, Report};

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// Builds a log by hand: sequence numbers, stream versions and (fake) hashes.
#[derive(Default)]
struct Log {
    events: Vec<Envelope>,
}

impl Log {
    fn add(&mut self, stream: Ulid, on: &str, actor: &str, recorded: &str, event: Event) {
        let seq = self.events.len() as u64 + 1;
        let version = self.events.iter().filter(|e| e.stream == stream).count() as u32 + 1;
        let recorded_on = day(recorded);
        let recorded_at = Utc.from_utc_datetime(&recorded_on.and_hms_opt(2, 0, 0).unwrap());
        let new = NewEvent { id: Ulid::new(), stream, occurred_on: day(on), recorded_at, actor: actor.into(), event };
        self.events.push(new.sealed(seq, version, format!("h{}", seq - 1), format!("h{seq}")));
    }

    fn reply(
        &mut self,
        organ: &str,
        doc_no: &str,
        signed: &str,
        reference: (&str, &str, &str, ProposalKind),
        result: &str,
    ) -> Ulid {
        let id = Ulid::new();
        let registered = ReplyRegistered {
            organ: organ.into(),
            doc_no: doc_no.into(),
            signed_on: Some(day(signed)),
            proposal: ProposalRef {
                assembly: Some(reference.0.into()),
                session: Some(reference.1.into()),
                number: Some(reference.2.into()),
                kind: Some(reference.3),
            },
            result: Some(result.into()),
            ..ReplyRegistered::default()
        };
        self.add(id, signed, "王五", signed, Event::ReplyRegistered(Box::new(registered)));
        id
    }

    fn promise(&mut self, reply: Ulid, on: &str, owner: &str, text: &str, due: Option<&str>) -> Ulid {
        let id = Ulid::new();
        let made = CommitmentMade {
            reply,
            text: text.into(),
            section: Section::NextSteps,
            owner: owner.into(),
            co_handlers: vec![],
            due: due.map(day),
            due_phrase: None,
            locator: None,
        };
        self.add(id, on, "王五", on, Event::CommitmentMade(Box::new(made)));
        id
    }

    fn progress(&mut self, id: Ulid, on: &str, actor: &str, recorded: &str) {
        let event = Event::ProgressReported(ProgressReported {
            summary: format!("{on} 进展"),
            evidence: vec![],
            percent: None,
        });
        self.add(id, on, actor, recorded, event);
    }

    fn close(&mut self, id: Ulid, on: &str, actor: &str, outcome: Outcome, evidence: &[&str]) {
        let evidence = evidence.iter().map(|e| e.to_string()).collect();
        self.add(id, on, actor, on, Event::Closed(Closed { outcome, summary: "办结".into(), evidence }));
    }
}

struct Fixture {
    log: Log,
    c2: Ulid,
    c3: Ulid,
    c4: Ulid,
    c5: Ulid,
    c6: Ulid,
    c7: Ulid,
    c8: Ulid,
    c11: Ulid,
}

/// The story behind every expected figure below.
fn fixture() -> Fixture {
    let mut log = Log::default();
    let proposal = ProposalKind::Proposal;
    let suggestion = ProposalKind::Suggestion;
    // R5 (2023): C11 due 2023-12-31, never closed → carried over, overdue, silently deferred.
    let r5 = log.reply("A局", "A〔2023〕9号", "2023-05-01", ("区政协", "十五届三次会议", "3", proposal), "B");
    let c11 = log.promise(r5, "2023-05-01", "A局", "C11 旧承诺", Some("2023-12-31"));
    // R1 (2024): C1 closed in 2024 → not in 2025's scope; C2 open on 1 January → carried over, fulfilled on time.
    let r1 = log.reply("A局", "A〔2024〕1号", "2024-06-01", ("区政协", "十五届四次会议", "1", proposal), "B");
    let c1 = log.promise(r1, "2024-06-01", "A局", "C1 已于2024年办结", Some("2024-12-31"));
    log.close(c1, "2024-11-01", "王五", Outcome::Fulfilled, &["验收"]);
    let c2 = log.promise(r1, "2024-06-01", "A局", "C2 结转承诺", Some("2025-06-30"));
    log.progress(c2, "2024-09-01", "王五", "2024-09-01");
    // R2 (2025, 解决采纳, 满意): C3 fulfilled late, closed without evidence by the one who reported all progress;
    // C4 overdue with nothing since its due date.
    let r2 = log.reply("A局", "A〔2025〕5号", "2025-03-10", ("区政协", "十五届五次会议", "10", proposal), "解决采纳");
    log.add(
        r2,
        "2025-04-01",
        "王五",
        "2025-04-01",
        Event::ReplyEvaluated(ReplyEvaluated { satisfaction: Satisfaction::Satisfied, comment: None }),
    );
    let c3 = log.promise(r2, "2025-03-10", "A局", "C3 迟办结", Some("2025-09-30"));
    let c4 = log.promise(r2, "2025-03-10", "A局", "C4 逾期", Some("2025-08-31"));
    log.progress(c2, "2025-03-01", "王五", "2025-03-01");
    log.progress(c3, "2025-05-01", "张三", "2025-05-01");
    log.close(c2, "2025-06-20", "赵六", Outcome::Fulfilled, &["验收报告"]);
    log.close(c3, "2025-10-15", "张三", Outcome::Fulfilled, &[]);
    // R3 (2025, A, 不满意).
    let r3 = log.reply("B委", "B〔2025〕2号", "2025-04-01", ("市人大", "十六届三次会议", "0200", suggestion), "A");
    log.add(
        r3,
        "2025-05-01",
        "王五",
        "2025-05-01",
        Event::ReplyEvaluated(ReplyEvaluated { satisfaction: Satisfaction::Dissatisfied, comment: None }),
    );
    let c5 = log.promise(r3, "2025-04-01", "B委", "C5 停滞", None);
    let c6 = log.promise(r3, "2025-04-01", "B委", "C6 两次延期", Some("2025-12-01"));
    let c7 = log.promise(r3, "2025-04-01", "B委", "C7 重开后推进", Some("2026-12-31"));
    let c8 = log.promise(r3, "2025-04-01", "B委", "C8 次年办结", Some("2025-10-31"));
    let c10 = log.promise(r3, "2025-04-01", "B委", "C10 误录", None);
    log.add(
        c10,
        "2025-05-01",
        "王五",
        "2025-05-01",
        Event::Dismissed(Dismissed { reason: "误录".into(), duplicate_of: None }),
    );
    log.add(
        c6,
        "2025-11-20",
        "王五",
        "2025-11-20",
        Event::DueDateSet(DueDateSet { due: day("2026-03-31"), reason: Some("资金".into()) }),
    );
    log.add(
        c6,
        "2025-12-15",
        "王五",
        "2025-12-15",
        Event::DueDateSet(DueDateSet { due: day("2026-06-30"), reason: Some("再延".into()) }),
    );
    log.close(c7, "2025-11-01", "李四", Outcome::Fulfilled, &["照片"]);
    log.add(c7, "2025-11-15", "李四", "2025-11-15", Event::Reopened(Reopened { reason: "复查未达标".into() }));
    log.progress(c7, "2025-12-01", "王五", "2025-12-01");
    log.progress(c8, "2025-10-01", "王五", "2025-10-01");
    // Recorded in January 2026: a back-filled progress report, and a closure that happened after the year.
    log.progress(c5, "2025-07-01", "王五", "2026-01-05");
    log.close(c8, "2026-01-15", "王五", Outcome::Fulfilled, &["验收"]);
    // A 2026 reply is outside 2025's scope.
    let r4 = log.reply("A局", "A〔2026〕1号", "2026-02-01", ("区政协", "十五届六次会议", "1", proposal), "B");
    log.promise(r4, "2026-02-01", "A局", "2026年承诺", None);
    Fixture { log, c2, c3, c4, c5, c6, c7, c8, c11 }
}

fn params(as_of: &str) -> Params {
    Params { year: 2025, as_of: day(as_of), policy: Policy::default(), organ: None, assembly: None }
}

fn report(as_of: &str) -> (Fixture, Report) {
    let fixture = fixture();
    let report = build(fixture.log.events.clone(), &params(as_of));
    (fixture, report)
}

#[test]
fn overview_figures() {
    let (_, report) = report("2025-12-31");
    let o = &report.overview;
    assert_eq!((o.replies, o.replies_carried_over), (2, 2), "R2, R3 new; R1, R5 carried");
    assert_eq!((o.commitments, o.new_commitments, o.carried_over), (9, 7, 2), "C1 and the 2026 promise are out");
    let counts: Vec<(&str, usize)> = o.by_status.iter().map(|s| (s.status, s.count)).collect();
    assert_eq!(
        counts,
        [
            ("open", 0),
            ("in_progress", 1),
            ("pending_review", 0),
            ("stalled", 2),
            ("overdue", 3),
            ("fulfilled", 2),
            ("partially_fulfilled", 0),
            ("not_fulfilled", 0),
            ("dismissed", 1)
        ]
    );
    assert_eq!(o.by_status[4].share, Some(3.0 / 9.0));
    // Due by 2025-12-31: C2, C11, C3, C4, C8; fulfilled: C2, C3; on time: C2 only.
    assert_eq!((o.due, o.fulfilled_due, o.fulfilment_rate), (5, 2, Some(0.4)));
    assert_eq!((o.on_time, o.on_time_rate), (1, Some(0.2)));
    assert_eq!(o.silent_deferrals, 3, "C11, C4, and C8 (its closure is after the as-of date)");
}

#[test]
fn handling_results_and_satisfaction_beside_fulfilment() {
    let (_, report) = report("2025-12-31");
    let rows: Vec<(&str, usize, usize, usize, usize, bool)> = report
        .overview
        .by_result
        .iter()
        .map(|r| (r.result.as_str(), r.replies, r.commitments, r.due, r.fulfilled_due, r.adopted_but_unfulfilled))
        .collect();
    assert_eq!(rows, [("A", 1, 5, 1, 0, true), ("解决采纳", 1, 2, 2, 1, true)]);
    let s = &report.overview.satisfaction;
    assert_eq!(
        (s.replies, s.evaluated, s.satisfied, s.basically_satisfied, s.dissatisfied, s.not_evaluated),
        (2, 2, 1, 0, 1, 0)
    );
    assert_eq!((s.satisfaction_rate, s.fulfilment_rate), (Some(0.5), Some(0.4)));
}

#[test]
fn groups_by_organ_session_and_kind() {
    let (_, report) = report("2025-12-31");
    let organ = |name: &str| report.by_organ.iter().find(|g| g.group == name).unwrap().clone();
    let a = organ("A局");
    assert_eq!(
        (a.made, a.fulfilled, a.overdue, a.stalled, a.open, a.due, a.fulfilment_rate),
        (4, 2, 2, 0, 0, 4, Some(0.5))
    );
    let b = organ("B委");
    assert_eq!(
        (b.made, b.fulfilled, b.open, b.overdue, b.stalled, b.dismissed, b.due, b.fulfilment_rate),
        (5, 0, 1, 1, 2, 1, 1, Some(0.0))
    );
    let sessions: Vec<(&str, usize)> = report.by_session.iter().map(|g| (g.group.as_str(), g.made)).collect();
    assert_eq!(
        sessions,
        [
            ("区政协 十五届三次会议", 1),
            ("区政协 十五届五次会议", 2),
            ("区政协 十五届四次会议", 1),
            ("市人大 十六届三次会议", 5)
        ]
    );
    let kinds: Vec<(&str, usize)> = report.by_kind.iter().map(|g| (g.group.as_str(), g.made)).collect();
    assert_eq!(kinds, [("建议", 5), ("提案", 4)]);
}

#[test]
fn overdue_and_stalled_commitments_with_their_days() {
    let (f, report) = report("2025-12-31");
    let rows: Vec<(String, &str, Option<i64>, Option<i64>)> =
        report.attention.iter().map(|a| (a.id.clone(), a.status, a.days_overdue, a.days_since_progress)).collect();
    assert_eq!(
        rows,
        [
            (f.c11.to_string(), "overdue", Some(731), Some(975)),
            (f.c4.to_string(), "overdue", Some(122), Some(296)),
            (f.c8.to_string(), "overdue", Some(61), Some(91)),
            // No due date of their own: ordered by the policy's default (the end of the year after they were made).
            (f.c6.to_string(), "stalled", None, Some(274)),
            (f.c5.to_string(), "stalled", None, Some(183)),
        ]
    );
}

#[test]
fn details_carry_sources_timelines_and_due_changes() {
    let (f, report) = report("2025-12-31");
    assert_eq!(report.details.len(), 9);
    let detail = |id: Ulid| report.details.iter().find(|d| d.id == id.to_string()).unwrap();
    let c2 = detail(f.c2);
    assert!(c2.carried_over);
    assert_eq!(c2.proposal, "区政协 十五届四次会议 第1号提案");
    assert_eq!(
        c2.timeline.iter().map(|t| t.event).collect::<Vec<_>>(),
        ["CommitmentMade", "ProgressReported", "ProgressReported", "Closed"]
    );
    let closure = c2.timeline.last().unwrap();
    assert_eq!(
        (closure.date, closure.label, closure.summary, closure.evidence.as_slice(), closure.actor),
        (day("2025-06-20"), "办结", "已落实：办结", ["验收报告"].as_slice(), "赵六")
    );
    assert_eq!(c2.timeline[1].actor, "王五");
    let c6 = detail(f.c6);
    let changes: Vec<(Option<NaiveDate>, NaiveDate, Option<&str>)> =
        c6.due_changes.iter().map(|c| (c.from, c.to, c.reason)).collect();
    assert_eq!(
        changes,
        [
            (Some(day("2025-12-01")), day("2026-03-31"), Some("资金")),
            (Some(day("2026-03-31")), day("2026-06-30"), Some("再延"))
        ]
    );
    let c8 = detail(f.c8);
    assert_eq!((c8.status, c8.closed_on), ("overdue", None), "the 2026 closure is hidden by the as-of date");
    assert_eq!(report.details.iter().next().unwrap().id, f.c11.to_string(), "ordered by reply date");
}

#[test]
fn audit_hints_from_replaying_the_log() {
    let (f, report) = report("2025-12-31");
    let hints: Vec<(String, &str)> = report.audit.iter().map(|h| (h.id.clone(), h.kind)).collect();
    assert_eq!(
        hints,
        [
            (f.c3.to_string(), "closed_without_evidence"),
            (f.c3.to_string(), "same_actor"),
            (f.c5.to_string(), "late_record"),
            (f.c6.to_string(), "due_moved_repeatedly"),
            (f.c7.to_string(), "reopened_after_closure"),
        ]
    );
}

#[test]
fn monthly_activity() {
    let (_, report) = report("2025-12-31");
    let months: Vec<(&str, usize, usize)> =
        report.activity.iter().map(|m| (m.month.as_str(), m.progress, m.closures)).collect();
    assert_eq!(months.len(), 12);
    let busy: Vec<_> = months.iter().filter(|m| m.1 + m.2 > 0).collect();
    assert_eq!(
        busy,
        [
            &("2025-03", 1, 0),
            &("2025-05", 1, 0),
            &("2025-06", 0, 1),
            &("2025-07", 1, 0),
            &("2025-10", 1, 1),
            &("2025-11", 0, 1),
            &("2025-12", 1, 0)
        ]
    );
}

#[test]
fn a_later_as_of_date_sees_the_later_closure() {
    let (f, report) = report("2026-02-01");
    let c8 = report.details.iter().find(|d| d.id == f.c8.to_string()).unwrap();
    assert_eq!(c8.status, "fulfilled");
    assert_eq!(report.overview.silent_deferrals, 2);
}

#[test]
fn filters_narrow_the_scope() {
    let fixture = fixture();
    let organ = duban_domain::OrganQuery::new("B委", &duban_domain::Aliases::default());
    let by_organ = build(fixture.log.events.clone(), &Params { organ: Some(organ), ..params("2025-12-31") });
    assert_eq!((by_organ.overview.commitments, by_organ.overview.replies), (5, 1));
    let by_assembly =
        build(fixture.log.events.clone(), &Params { assembly: Some("区政协".into()), ..params("2025-12-31") });
    assert_eq!(by_assembly.overview.commitments, 4);
}

#[test]
fn the_footer_names_the_last_known_event() {
    let (f, report) = report("2025-12-31");
    let last = f.log.events.last().unwrap();
    assert_eq!((report.footer.known_seq, report.footer.head_hash.as_str()), (last.seq, last.hash.as_str()));
    let known = &f.log.events[..10];
    let earlier = build(known.to_vec(), &params("2025-12-31"));
    assert_eq!(earlier.footer.known_seq, 10);
}

#[test]
fn text_formats_are_deterministic_and_carry_the_figures() {
    let (fixture, report) = report("2025-12-31");
    let again = build(fixture.log.events.clone(), &params("2025-12-31"));
    assert_eq!(again, report, "the same log and parameters give the same model");
    for format in [Format::Markdown, Format::Csv, Format::Json, Format::Html] {
        assert_eq!(render(&again, format).unwrap(), render(&report, format).unwrap());
    }
    let markdown = String::from_utf8(render(&report, Format::Markdown).unwrap()).unwrap();
    for expected in [
        "## 一、总体情况",
        "落实率（办成率）40.0%",
        "按期落实率 20.0%",
        "悄然延期）：3 项",
        "答复称已采纳，但有到期承诺未落实",
        "## 十、审计提示",
        "duban verify --seq",
    ] {
        assert!(markdown.contains(expected), "markdown lacks {expected}");
    }
    let csv = render(&report, Format::Csv).unwrap();
    assert!(csv.starts_with("\u{FEFF}".as_bytes()), "CSV starts with a byte-order mark");
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    assert_eq!(text.lines().count(), 10, "a header and one row per commitment");
    let html = String::from_utf8(render(&report, Format::Html).unwrap()).unwrap();
    assert!(
        !html.contains("http") && !html.contains("src=") && !html.contains("<script") && !html.contains("@import"),
        "no external references"
    );
    assert_eq!(html.matches("<svg").count(), 3, "status, activity and per-organ charts");
}

#[cfg(feature = "xlsx")]
#[test]
fn the_workbook_reads_back_with_real_numbers_and_dates() {
    use calamine::{Data, Reader, Xlsx};
    let (f, report) = report("2025-12-31");
    let bytes = render(&report, Format::Xlsx).unwrap();
    let mut workbook: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(
        workbook.sheet_names(),
        ["总体情况", "分单位（件）", "分类", "回头看", "登记表", "分单位（项）", "逾期停滞", "明细"]
    );
    let overview = workbook.worksheet_range("总体情况").unwrap();
    assert_eq!(overview.get((0, 0)), Some(&Data::String("项目".into())));
    // The 件 figures come first (25 rows), then the promises'.
    assert_eq!(overview.get((1, 0)), Some(&Data::String("承办建议提案（件）".into())));
    assert_eq!(overview.get((28, 1)), Some(&Data::Float(9.0)), "承诺 is a number");
    assert_eq!(overview.get((32, 2)), Some(&Data::Float(0.4)), "the fulfilment rate is a number");
    let organs = workbook.worksheet_range("分单位（项）").unwrap();
    assert_eq!(organs.get((1, 0)), Some(&Data::String("A局".into())));
    assert_eq!(organs.get((1, 1)), Some(&Data::Float(4.0)));
    let attention = workbook.worksheet_range("逾期停滞").unwrap();
    assert_eq!(attention.height(), 6);
    match attention.get((1, 4)) {
        // Excel's serial day number for 2023-12-31.
        Some(Data::DateTime(date)) => assert_eq!(date.as_f64(), 45291.0),
        other => panic!("the due date should be a real date, found {other:?}"),
    }
    let details = workbook.worksheet_range("明细").unwrap();
    assert_eq!(details.height(), 10);
    assert_eq!(details.get((1, 14)), Some(&Data::String(f.c11.to_string())), "the ULID in the last column");
    assert!(
        matches!(details.get((1, 0)), Some(Data::String(number)) if number.starts_with('#')),
        "编号 first: {:?}",
        details.get((1, 0))
    );
    // Dates take their column's date format: C11 was made on 2023-05-01 (Excel's day 45047).
    match details.get((1, 7)) {
        Some(Data::DateTime(date)) => assert_eq!(date.as_f64(), 45047.0),
        other => panic!("the date made should be a real date, found {other:?}"),
    }
    // C2's progress and closure, one line each, after the promise itself.
    let c2 = (1..details.height()).find(|row| details.get((*row, 14)) == Some(&Data::String(f.c2.to_string())));
    let timeline = details.get((c2.expect("C2 listed"), 13)).cloned();
    assert_eq!(
        timeline,
        Some(Data::String(
            "2024-09-01 报告进展：2024-09-01 进展\n2025-03-01 报告进展：2025-03-01 进展\n2025-06-20 办结：已落实：办结"
                .into()
        ))
    );
}

/// A commitment closed before the year is let go of once the log reaches the year; when a fact recorded later
/// reopens it before the year began, it is carried over after all, and its whole history comes back.
#[test]
fn a_commitment_reopened_after_the_fact_keeps_its_whole_timeline() {
    let mut log = Log::default();
    let proposal = ("区政协", "十五届四次会议", "7", ProposalKind::Proposal);
    let reply = log.reply("A局", "A〔2024〕7号", "2024-03-01", proposal, "B");
    let reopened = log.promise(reply, "2024-03-01", "A局", "建成平台", Some("2025-03-31"));
    let closed = log.promise(reply, "2024-03-01", "A局", "出台办法", Some("2024-10-31"));
    log.progress(reopened, "2024-06-01", "王五", "2024-06-01");
    log.close(reopened, "2024-10-01", "王五", Outcome::Fulfilled, &["验收"]);
    log.close(closed, "2024-10-01", "王五", Outcome::Fulfilled, &["文件"]);
    // Recorded in the year: the log has passed 1 January, and both closed commitments were let go of.
    let reply_2025 =
        log.reply("B委", "B〔2025〕1号", "2025-02-01", ("区政协", "十五届五次会议", "1", ProposalKind::Proposal), "B");
    log.promise(reply_2025, "2025-02-01", "B委", "新承诺", None);
    log.add(reopened, "2024-12-20", "李四", "2025-02-10", Event::Reopened(Reopened { reason: "复查未达标".into() }));
    log.progress(reopened, "2025-03-01", "王五", "2025-03-01");

    let params = params("2025-12-31");
    let mut builder = crate::Builder::new(&params);
    for envelope in &log.events {
        builder.feed(envelope);
    }
    assert_eq!(builder.wanted_again(), [reopened], "only the reopened one is in scope again");
    for envelope in &log.events {
        builder.feed_again(envelope);
    }
    let report = builder.finish(log.events.last().unwrap().hash.clone());
    assert_eq!(report, build(log.events.clone(), &params), "build reads the log twice the same way");
    assert_eq!((report.overview.commitments, report.overview.carried_over), (2, 1));
    let detail = report.details.iter().find(|d| d.id == reopened.to_string()).expect("carried over");
    assert!(detail.carried_over);
    assert_eq!(
        detail.timeline.iter().map(|t| (t.date.to_string(), t.event)).collect::<Vec<_>>(),
        [
            ("2024-03-01".to_string(), "CommitmentMade"),
            ("2024-06-01".to_string(), "ProgressReported"),
            ("2024-10-01".to_string(), "Closed"),
            ("2024-12-20".to_string(), "Reopened"),
            ("2025-03-01".to_string(), "ProgressReported"),
        ]
    );
    assert!(report.details.iter().all(|d| d.id != closed.to_string()), "the other stays out of scope");
}

/// Payloads that a spreadsheet would run or a page would obey, in every text field a report shows.
const HOSTILE: [&str; 7] = [
    "=HYPERLINK(\"http://x\",\"点此\")",
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "<script>alert(1)</script><img src=x onerror=alert(2)>",
];

fn hostile_report() -> Report {
    let mut log = Log::default();
    let mut index = 0;
    let mut next = || {
        index += 1;
        HOSTILE[index % HOSTILE.len()]
    };
    for _ in 0..HOSTILE.len() {
        let reference = (next(), next(), "7", ProposalKind::Proposal);
        let (organ, doc_no, result) = (next(), next(), next());
        let reply = log.reply(organ, doc_no, "2025-03-01", reference, result);
        let (owner, text) = (next(), next());
        let promise = log.promise(reply, "2025-03-01", owner, text, Some("2025-06-30"));
        let summary = next().to_string();
        log.add(
            promise,
            "2025-04-01",
            next(),
            "2025-04-01",
            Event::ProgressReported(ProgressReported { summary, evidence: vec![next().into()], percent: None }),
        );
        let reason = Some(next().to_string());
        log.add(
            promise,
            "2025-05-01",
            "王五",
            "2025-05-01",
            Event::DueDateSet(DueDateSet { due: day("2025-09-30"), reason }),
        );
        // The proposal it answers: every text field of the register hostile too.
        let proposal = Ulid::new();
        let assigned = ProposalAssigned {
            kind: ProposalKind::Proposal,
            assembly: next().into(),
            session: next().into(),
            number: next().into(),
            title: next().into(),
            proposers: vec![next().into()],
            lead: next().into(),
            co_handlers: vec![next().into()],
            reply_by: day("2025-06-01"),
            key: true,
            led_by: Some(next().into()),
            between_sessions: false,
        };
        log.add(proposal, "2025-02-01", "王五", "2025-02-01", Event::ProposalAssigned(Box::new(assigned)));
        log.add(
            proposal,
            "2025-03-01",
            "王五",
            "2025-03-01",
            Event::ProposalAnswered(ProposalAnswered { reply, lead: true }),
        );
        let withheld = ProposalDisclosed { disclosure: Disclosure::Withheld, reason: Some(next().into()) };
        log.add(proposal, "2025-03-01", "王五", "2025-03-01", Event::ProposalDisclosed(withheld));
    }
    build(log.events, &params("2025-12-31"))
}

#[test]
fn hostile_text_is_neutralised_in_csv_and_escaped_in_markdown_and_html() {
    let report = hostile_report();
    assert_eq!(report.details.len(), HOSTILE.len());
    let csv = render(&report, Format::Csv).unwrap();
    let mut reader = ::csv::ReaderBuilder::new().has_headers(true).from_reader(&csv[3..]);
    let mut fields = 0;
    let mut quoted = 0;
    for record in reader.records() {
        for field in record.unwrap().iter() {
            fields += 1;
            assert!(!crate::render::formula_risk(field), "a CSV field a spreadsheet would run: {field:?}");
            if HOSTILE.iter().any(|payload| field == format!("'{payload}")) {
                quoted += 1;
            }
        }
    }
    assert!(fields > 0 && quoted >= 5, "payloads arrive whole, marked as text: {quoted}");
    for (format, raw) in
        [(Format::Markdown, "<script"), (Format::Markdown, "<img"), (Format::Html, "<script"), (Format::Html, "<img")]
    {
        let text = String::from_utf8(render(&report, format).unwrap()).unwrap();
        assert!(!text.contains(raw), "{format:?} passes {raw} through raw");
        assert!(text.contains("&lt;script&gt;"), "{format:?} shows the text escaped");
    }
}

#[cfg(feature = "xlsx")]
#[test]
fn hostile_text_is_text_in_the_workbook() {
    use calamine::{Data, Reader, Xlsx};
    let report = hostile_report();
    let bytes = render(&report, Format::Xlsx).unwrap();
    let mut workbook: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.clone())).unwrap();
    let mut seen = 0;
    for name in workbook.sheet_names() {
        let formulas = workbook.worksheet_formula(&name).unwrap();
        assert!(formulas.used_cells().all(|(_, _, formula)| formula.is_empty()), "{name} holds a formula");
        for (_, _, cell) in workbook.worksheet_range(&name).unwrap().used_cells() {
            if let Data::String(text) = cell {
                if HOSTILE.iter().any(|payload| text == payload) {
                    seen += 1;
                }
            }
        }
    }
    assert!(seen >= 5, "payloads kept whole as text: {seen}");
    let register = workbook.worksheet_range("登记表").unwrap();
    let in_register = register
        .used_cells()
        .filter(|(_, _, cell)| matches!(cell, Data::String(text) if HOSTILE.iter().any(|payload| text == payload)))
        .count();
    assert!(in_register >= 5, "the register's payloads kept whole as text: {in_register}");
    // Each such cell carries Excel's quote prefix, so that editing it keeps it text.
    let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut archive = archive;
    let mut styles = String::new();
    std::io::Read::read_to_string(&mut archive.by_name("xl/styles.xml").unwrap(), &mut styles).unwrap();
    assert!(styles.contains("quotePrefix=\"1\""), "a quote-prefix style is defined");
}

/// A due date moved after it had passed does not make a late closure timely, and is pointed out.
#[test]
fn on_time_is_judged_by_the_due_date_in_force_when_the_promise_fell_overdue() {
    let mut log = Log::default();
    let reply =
        log.reply("A局", "A〔2025〕7号", "2025-03-01", ("区政协", "十五届五次会议", "12", ProposalKind::Proposal), "B");
    let moved_late = log.promise(reply, "2025-03-01", "A局", "期限过后才延期", Some("2025-06-30"));
    let moved_early = log.promise(reply, "2025-03-01", "A局", "期限未到即延期", Some("2025-06-30"));
    let set_due = |log: &mut Log, id, on: &str, due: &str| {
        let event = Event::DueDateSet(DueDateSet { due: day(due), reason: Some("调整".into()) });
        log.add(id, on, "王五", on, event);
    };
    set_due(&mut log, moved_late, "2025-08-01", "2025-12-31");
    set_due(&mut log, moved_early, "2025-05-01", "2025-12-31");
    log.close(moved_late, "2025-10-01", "李四", Outcome::Fulfilled, &["验收"]);
    log.close(moved_early, "2025-10-01", "李四", Outcome::Fulfilled, &["验收"]);
    let report = build(log.events, &params("2025-12-31"));
    let o = &report.overview;
    // Both are due by the end of the year and fulfilled; only the one moved before 2025-06-30 passed was on time.
    assert_eq!((o.fulfilled_due, o.on_time, o.on_time_rate), (2, 1, Some(0.5)));
    let hints: Vec<&crate::AuditHint> =
        report.audit.iter().filter(|hint| hint.kind == "due_moved_after_passing").collect();
    assert_eq!(hints.len(), 1, "{:?}", report.audit);
    assert_eq!(hints[0].id, moved_late.to_string());
    assert!(hints[0].message.contains("2025-06-30") && hints[0].message.contains("2025-12-31"), "{}", hints[0].message);
}

/// Printed on A4: numbered pages, the check in every page's margin (so no page holds only a footer), rows kept
/// whole, headers repeated, and the issuing office's name and date at the end when given.
#[test]
fn the_html_report_prints_with_page_numbers_the_check_and_the_issuer() {
    let (_, mut report) = report("2025-12-31");
    report.issuer = Some("示范区人民政府办公室<b>".into());
    let html = String::from_utf8(render(&report, Format::Html).unwrap()).unwrap();
    for expected in [
        "counter(page)",
        "counter(pages)",
        "@bottom-left",
        "duban verify --seq",
        "tr { break-inside: avoid; }",
        "thead { display: table-header-group; }",
        "footer { display: none; }",
        "示范区人民政府办公室&lt;b&gt;",
        "2025年12月31日",
    ] {
        assert!(html.contains(expected), "the HTML lacks {expected}");
    }
    report.issuer = None;
    let html = String::from_utf8(render(&report, Format::Html).unwrap()).unwrap();
    assert!(!html.contains(r#"class="issuer""#));
}

/// A promise closed before the year began and reopened during it is followed up — and reported — that year, with
/// its whole timeline; the year it was closed in still shows it closed.
#[test]
fn a_promise_reopened_in_a_later_year_is_in_that_years_report() {
    let mut log = Log::default();
    let reply =
        log.reply("A局", "A〔2024〕3号", "2024-03-01", ("区政协", "十五届四次会议", "5", ProposalKind::Proposal), "B");
    let promise = log.promise(reply, "2024-03-01", "A局", "建成示范点", Some("2024-12-31"));
    log.close(promise, "2024-11-01", "李四", Outcome::Fulfilled, &["验收"]);
    log.add(
        promise,
        "2025-04-01",
        "王五",
        "2025-04-01",
        Event::Reopened(Reopened { reason: "回头看发现未运行".into() }),
    );
    let in_2024 = build(log.events.clone(), &Params { year: 2024, ..params("2024-12-31") });
    assert_eq!(in_2024.details.len(), 1);
    assert_eq!(in_2024.overview.by_status.iter().find(|s| s.status == "fulfilled").unwrap().count, 1);
    let in_2025 = build(log.events, &params("2025-12-31"));
    assert_eq!(in_2025.details.len(), 1, "reported in the year it reopened");
    in_2025.details.prefetched(|details| {
        let details: Vec<_> = details.collect();
        assert!(details[0].carried_over);
        assert_eq!(details[0].timeline.len(), 3, "its whole timeline: made, closed, reopened");
    });
}

// ---------------------------------------------------------------------------------------------------------------
// The handling figures (件): docs/metrics.md, one assertion per definition, on a fixture computed by hand.

/// Proposals of 2025 (and three of 2024 for 回头看), their replies, promises and facts.
struct Handled {
    log: Log,
    p1: Ulid,
    p4: Ulid,
}

impl Log {
    #[allow(clippy::too_many_arguments)]
    fn proposal(
        &mut self,
        kind: ProposalKind,
        number: &str,
        assigned: &str,
        reply_by: &str,
        lead: &str,
        co: &[&str],
        key: bool,
        led_by: Option<&str>,
        between_sessions: bool,
    ) -> Ulid {
        let id = Ulid::new();
        let event = Event::ProposalAssigned(Box::new(ProposalAssigned {
            kind,
            assembly: "区政协".into(),
            session: "十五届五次会议".into(),
            number: number.into(),
            title: format!("第{number}号的案由"),
            proposers: vec!["张委员".into()],
            lead: lead.into(),
            co_handlers: co.iter().map(|c| c.to_string()).collect(),
            reply_by: day(reply_by),
            key,
            led_by: led_by.map(Into::into),
            between_sessions,
        }));
        self.add(id, assigned, "王五", assigned, event);
        id
    }

    /// Registers a reply and links it (as the lead's 答复 or a co-handler's 会办意见), recording its class and
    /// disclosure as the link does.
    fn answer(&mut self, proposal: Ulid, organ: &str, signed: &str, lead: bool, result: Option<&str>) -> Ulid {
        let reply = Ulid::new();
        let registered = ReplyRegistered {
            organ: organ.into(),
            doc_no: format!("{organ}〔{signed}〕号"),
            signed_on: Some(day(signed)),
            result: result.map(Into::into),
            ..ReplyRegistered::default()
        };
        self.add(reply, signed, "王五", signed, Event::ReplyRegistered(Box::new(registered)));
        self.add(proposal, signed, "王五", signed, Event::ProposalAnswered(ProposalAnswered { reply, lead }));
        if let Some(class) = result.and_then(ReplyClass::from_wording) {
            let classified = ProposalClassified { class, wording: result.map(Into::into), reason: None };
            self.add(proposal, signed, "王五", signed, Event::ProposalClassified(classified));
        }
        reply
    }

    fn contact(&mut self, proposal: Ulid, on: &str, method: ContactMethod) {
        let event = Event::ProposerContacted(ProposerContacted { method, organ: "承办单位".into(), note: None });
        self.add(proposal, on, "王五", on, event);
    }

    fn evaluate(&mut self, reply: Ulid, on: &str, satisfaction: Satisfaction) {
        self.add(reply, on, "王五", on, Event::ReplyEvaluated(ReplyEvaluated { satisfaction, comment: None }));
    }

    fn disclose(&mut self, proposal: Ulid, on: &str, disclosure: Disclosure, reason: Option<&str>) {
        let event = Event::ProposalDisclosed(ProposalDisclosed { disclosure, reason: reason.map(Into::into) });
        self.add(proposal, on, "王五", on, event);
    }

    fn review(&mut self, proposal: Ulid, on: &str, outcome: Outcome) {
        let event = Event::ProposalReviewed(ProposalReviewed { outcome, summary: "复查".into() });
        self.add(proposal, on, "王五", on, event);
    }
}

fn handled() -> Handled {
    let mut log = Log::default();
    let (proposal, suggestion) = (ProposalKind::Proposal, ProposalKind::Suggestion);
    // 2024: three B-class proposals. P0's reply has two promises (one fulfilled in 2025, one overdue); P0 is
    // reviewed in 2025 as 部分落实, P00 as 已落实; P000 only in 2024.
    let p0 = log.proposal(suggestion, "0", "2024-02-01", "2024-05-01", "甲局", &[], false, None, false);
    let r0 = log.answer(p0, "甲局", "2024-04-01", true, Some("列入计划"));
    let c01 = log.promise(r0, "2024-04-01", "甲局", "C01 次年上半年建成", Some("2025-06-30"));
    log.close(c01, "2025-03-01", "王五", Outcome::Fulfilled, &["验收"]);
    log.promise(r0, "2024-04-01", "甲局", "C02 次年年底前完成", Some("2025-12-31"));
    let p00 = log.proposal(suggestion, "00", "2024-02-01", "2024-05-01", "甲局", &[], false, None, false);
    log.answer(p00, "甲局", "2024-04-02", true, Some("B"));
    let p000 = log.proposal(suggestion, "000", "2024-02-01", "2024-05-01", "甲局", &[], false, None, false);
    log.answer(p000, "甲局", "2024-04-03", true, Some("正在解决"));
    log.review(p000, "2024-12-01", Outcome::Fulfilled);
    log.review(p0, "2025-06-30", Outcome::PartiallyFulfilled);
    log.review(p00, "2025-07-15", Outcome::Fulfilled);

    // P1: 提案, 重点督办, lead 甲局 with co-handler 乙局; met on 03-01; answered on time (04-20 ≤ 05-01), 解决采纳
    // (A), published, judged 满意 on 05-20; its one promise fulfilled. 乙局's 会办意见 linked too.
    let p1 = log.proposal(proposal, "1", "2025-02-01", "2025-05-01", "甲局", &["乙局"], true, None, false);
    log.contact(p1, "2025-03-01", ContactMethod::Meeting);
    log.answer(p1, "乙局", "2025-04-10", false, None);
    let r1 = log.answer(p1, "甲局", "2025-04-20", true, Some("解决采纳"));
    log.disclose(p1, "2025-04-20", Disclosure::Active, None);
    log.evaluate(r1, "2025-05-20", Satisfaction::Satisfied);
    let c1 = log.promise(r1, "2025-04-20", "甲局", "C1 年底前建成", Some("2025-12-31"));
    log.close(c1, "2025-10-01", "王五", Outcome::Fulfilled, &["验收"]);
    // P2: 建议 raised between sessions, lead 乙局; phoned 06-01, answered late (06-10 > 05-01), 正在解决 (B),
    // disclosed on request, 基本满意; its promise is due only in 2026.
    let p2 = log.proposal(suggestion, "2", "2025-02-01", "2025-05-01", "乙局", &[], false, None, true);
    log.contact(p2, "2025-06-01", ContactMethod::Phone);
    let r2 = log.answer(p2, "乙局", "2025-06-10", true, Some("正在解决"));
    log.disclose(p2, "2025-06-10", Disclosure::OnRequest, None);
    log.evaluate(r2, "2025-07-01", Satisfaction::BasicallySatisfied);
    log.promise(r2, "2025-06-10", "乙局", "C2 明年年中完成", Some("2026-06-30"));
    // P3: 提案 returned by 丁局 and re-assigned to 甲局; phoned 04-01; never answered (due 06-01).
    let p3 = log.proposal(proposal, "3", "2025-03-01", "2025-06-01", "丁局", &[], false, None, false);
    let moved =
        ProposalReassigned { lead: "甲局".into(), co_handlers: vec![], returned: true, reason: "退办".into() };
    log.add(p3, "2025-03-10", "王五", "2025-03-10", Event::ProposalReassigned(moved));
    log.contact(p3, "2025-04-01", ContactMethod::Phone);
    // P4: 建议 led by a deputy head, lead 丙局; answered on time (05-01), 留作参考 (C), withheld, judged 不满意;
    // re-handled: a second 答复 on 08-01, 列入计划 (B), 满意. A letter on 09-01 came after the first 答复.
    let p4 = log.proposal(suggestion, "4", "2025-03-01", "2025-06-01", "丙局", &[], false, Some("张副区长"), false);
    let r4 = log.answer(p4, "丙局", "2025-05-01", true, Some("留作参考"));
    log.disclose(p4, "2025-05-01", Disclosure::Withheld, Some("涉及国家秘密"));
    log.evaluate(r4, "2025-06-01", Satisfaction::Dissatisfied);
    let r4b = log.answer(p4, "丙局", "2025-08-01", true, Some("列入计划"));
    log.evaluate(r4b, "2025-09-01", Satisfaction::Satisfied);
    log.contact(p4, "2025-09-01", ContactMethod::Letter);
    // P5: 提案 assigned in November, answered 12-10 (on time: due 2026-02-15), 留作参考 (C); not contacted.
    let p5 = log.proposal(proposal, "5", "2025-11-15", "2026-02-15", "甲局", &[], false, None, false);
    log.answer(p5, "甲局", "2025-12-10", true, Some("留作参考"));
    // P6: 提案 assigned in December, not yet due.
    log.proposal(proposal, "6", "2025-12-01", "2026-03-01", "丙局", &[], false, None, false);
    Handled { log, p1, p4 }
}

fn handled_report(as_of: &str, organ: Option<&str>) -> (Handled, Report) {
    let handled = handled();
    let mut params = params(as_of);
    params.organ = organ.map(|organ| OrganQuery::new(organ, &Aliases::default()));
    let report = build(handled.log.events.clone(), &params);
    (handled, report)
}

#[test]
fn every_handling_figure_is_the_one_its_definition_gives() {
    let (handled, report) = handled_report("2025-12-31", None);
    let m = &report.metrics;
    // 承办件数: assigned in 2025 — P1…P6; 建议 P2, P4; 提案 P1, P3, P5, P6.
    assert_eq!((m.proposals, m.suggestions, m.cppcc_proposals), (6, 2, 4));
    // 主办: all six (no unit asked for); 会办件: with a co-handler — P1.
    assert_eq!((m.lead, m.co), (6, 1));
    assert_eq!((m.between_sessions, m.key, m.led, m.returned), (1, 1, 1, 1), "P2; P1; P4; P3");
    assert_eq!(m.by_assembly.get("区政协"), Some(&6), "by assembly: all six are the district CPPCC's");
    // 已办复: P1, P2, P4, P5 → 4 ÷ 6.
    assert_eq!(m.replied, 4);
    assert_eq!(m.reply_rate, Some(4.0 / 6.0));
    // 按时办复: first 答复 by the reply-by date — P1, P4 (the first, not the re-handling's), P5; P2 late. Over the
    // due for reply: the four replied and P3 (due 06-01, unanswered); P6 (due 2026-03-01) is not yet due.
    assert_eq!((m.replied_on_time, m.due_for_reply), (3, 5));
    assert_eq!(m.on_time_reply_rate, Some(0.6));
    // 沟通联系: before the first 答复 — P1 (met), P2 (phoned 06-01, answered 06-10), P3 (phoned, unanswered);
    // P4's letter came after its 答复.
    assert_eq!((m.contacted, m.met), (3, 1));
    assert_eq!((m.contact_rate, m.meeting_rate), (Some(0.5), Some(1.0 / 6.0)));
    // Evaluation of the latest 答复: P1 满意, P2 基本满意, P4's second 答复 满意 (its first was 不满意).
    assert_eq!((m.evaluated, m.satisfied, m.basically_satisfied, m.dissatisfied), (3, 2, 1, 0));
    assert_eq!((m.satisfaction_rate, m.basic_satisfaction_rate), (Some(2.0 / 3.0), Some(1.0)));
    assert_eq!(m.rehandled, 1, "P4");
    // Class of the replied: P1 A; P2 B; P4 B (its re-handling re-classed it); P5 C.
    assert_eq!((m.class_counts.a, m.class_counts.b, m.class_counts.c, m.class_counts.unclassified), (1, 2, 1, 0));
    // 公开: P1 主动 (上网公开), P2 依申请, P4 不予 with its reason.
    assert_eq!(m.disclosed, 1);
    assert_eq!((m.disclosure_counts.active, m.disclosure_counts.on_request, m.disclosure_counts.withheld), (1, 1, 1));
    assert_eq!(m.withheld_reasons, ["涉及国家秘密"]);
    // 回头看: 2024's B class P0, P00, P000; reviewed in 2025 P0 (部分落实) and P00 (已落实) → 1 ÷ 2.
    assert_eq!((m.b_class_earlier, m.b_class_reviewed, m.b_class_fulfilled), (3, 2, 1));
    assert_eq!(m.b_class_fulfilment_rate, Some(0.5));
    // Promises, as the promise sections count them: C1, C2, and 2024's C01, C02 carried over; due C1, C01, C02;
    // fulfilled C1, C01.
    assert_eq!((m.commitments, m.commitments_due, m.commitments_fulfilled), (4, 3, 2));
    assert_eq!(m.fulfilment_rate, Some(2.0 / 3.0));
    assert_eq!(m.fulfilment_rate, report.overview.fulfilment_rate, "one definition of 落实率");

    let h = &report.handling;
    let numbers: Vec<&str> = h.register.iter().map(|row| row.case.rsplit('第').next().unwrap()).collect();
    assert_eq!(numbers, ["1号提案", "2号建议", "3号提案", "4号建议", "5号提案", "6号提案"]);
    let p1 = &h.register[0];
    assert_eq!(p1.id, handled.p1.to_string());
    assert_eq!((p1.replied_on, p1.class, p1.satisfaction), (Some(day("2025-04-20")), Some("A"), Some("满意")));
    assert_eq!((p1.commitments, p1.commitments_fulfilled, p1.fulfilment().as_str()), (1, 1, "已落实 1/1 项"));
    let key: Vec<String> = h.key_proposals.iter().map(|row| row.id.clone()).collect();
    assert_eq!(key, [handled.p1.to_string(), handled.p4.to_string()], "重点督办 P1, 领导领办 P4");
    let lookback: Vec<(Option<&str>, usize, usize)> =
        h.lookback.iter().map(|row| (row.review, row.commitments, row.commitments_fulfilled)).collect();
    assert_eq!(lookback, [(Some("部分落实"), 2, 1), (Some("已落实"), 0, 0)], "P0 with its promises, P00");
    let classes: Vec<(&str, usize, Option<f64>, usize, usize)> =
        h.classes.iter().map(|c| (c.class, c.proposals, c.share, c.commitments, c.commitments_fulfilled)).collect();
    assert_eq!(classes, [("A", 1, Some(0.25), 1, 1), ("B", 2, Some(0.5), 1, 0), ("C", 1, Some(0.25), 0, 0)]);
    // 分单位: by the lead now (丁局 returned P3) and the co-handlers.
    let units: Vec<(&str, usize, usize, usize, usize, usize)> = h
        .units
        .iter()
        .map(|u| (u.organ.as_str(), u.lead, u.co, u.replied, u.replied_on_time, u.commitments_due))
        .collect();
    assert_eq!(units, [("丙局", 2, 0, 1, 1, 0), ("乙局", 1, 1, 1, 0, 0), ("甲局", 3, 0, 2, 2, 3)]);
    let jia = &h.units[2];
    assert_eq!(
        (jia.reply_rate, jia.on_time_reply_rate, jia.fulfilment_rate),
        (Some(2.0 / 3.0), Some(2.0 / 3.0), Some(2.0 / 3.0))
    );
    assert_eq!(h.units[0].on_time_reply_rate, Some(1.0), "丙局: P6 not yet due");
}

/// On an earlier date, only what had occurred: P5 and P6 not yet assigned, P2 not yet answered, nothing evaluated.
#[test]
fn handling_figures_on_an_earlier_date_count_only_what_had_occurred() {
    let (_, report) = handled_report("2025-05-15", None);
    let m = &report.metrics;
    assert_eq!((m.proposals, m.replied, m.evaluated), (4, 2, 0));
    // Due for reply: P1 and P4 (answered), P2 (due 05-01); P3 is due 06-01. On time: P1, P4.
    assert_eq!((m.due_for_reply, m.replied_on_time), (3, 2));
    assert_eq!((m.class_counts.a, m.class_counts.b, m.class_counts.c), (1, 0, 1), "P4 still C");
    assert_eq!((m.b_class_reviewed, m.rehandled), (0, 0));
}

/// A unit's figures: its 主办 and 会办 proposals.
#[test]
fn a_units_handling_figures_count_what_it_led_and_co_handled() {
    let (_, report) = handled_report("2025-12-31", Some("乙局"));
    let m = &report.metrics;
    assert_eq!((m.proposals, m.lead, m.co), (2, 1, 1), "P2 led, P1 co-handled");
    assert_eq!(report.handling.units.len(), 1);
}

#[test]
fn the_handling_sections_are_printed_in_every_format() {
    let (_, report) = handled_report("2025-12-31", None);
    let markdown = String::from_utf8(render(&report, Format::Markdown).unwrap()).unwrap();
    for expected in [
        "### 办理情况（件）",
        "承办建议提案 6 件：人大代表建议 2 件，政协提案 4 件",
        "办复率 66.7%",
        "按时办复率 60.0%",
        "B类落实率 50.0%",
        "## 三、办理结果分类",
        "## 四、回头看",
        "## 五、重点督办件与领导领办件",
        "## 八、建议提案办理登记表",
        "| #",
    ] {
        assert!(markdown.contains(expected), "markdown lacks {expected}");
    }
    let html = String::from_utf8(render(&report, Format::Html).unwrap()).unwrap();
    assert!(html.contains("<h2>四、回头看（往年 B 类答复落实情况）</h2>") && html.contains("涉及国家秘密"));
    let json: serde_json::Value = serde_json::from_slice(&render(&report, Format::Json).unwrap()).unwrap();
    let metrics = &json["metrics"];
    for key in [
        "proposals",
        "lead",
        "co",
        "replied",
        "reply_rate",
        "replied_on_time",
        "on_time_reply_rate",
        "contacted",
        "contact_rate",
        "evaluated",
        "satisfaction_rate",
        "basic_satisfaction_rate",
        "class_counts",
        "disclosed",
        "b_class_reviewed",
        "b_class_fulfilled",
        "b_class_fulfilment_rate",
        "commitments",
        "commitments_fulfilled",
        "fulfilment_rate",
    ] {
        assert!(!metrics[key].is_null(), "metrics lacks {key}");
    }
    assert_eq!(metrics["class_counts"], serde_json::json!({"A": 1, "B": 2, "C": 1, "unclassified": 0}));
    assert_eq!(json["register"].as_array().unwrap().len(), 6);
    #[cfg(feature = "xlsx")]
    {
        use calamine::{Data, Reader, Xlsx};
        let bytes = render(&report, Format::Xlsx).unwrap();
        let mut workbook: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        let register = workbook.worksheet_range("登记表").unwrap();
        assert_eq!(register.height(), 7, "a header and six proposals");
        assert_eq!(register.get((1, 7)), Some(&Data::String("A".into())), "办复类别");
        let classes = workbook.worksheet_range("分类").unwrap();
        assert_eq!(classes.get((2, 1)), Some(&Data::Float(2.0)), "B: a count as a number");
        assert_eq!(classes.get((2, 2)), Some(&Data::Float(0.5)), "its share as a fraction");
        let lookback = workbook.worksheet_range("回头看").unwrap();
        assert_eq!(lookback.get((1, 6)), Some(&Data::String("部分落实".into())));
        match lookback.get((1, 5)) {
            Some(Data::DateTime(date)) => assert_eq!(date.as_f64(), 45838.0, "2025-06-30"),
            other => panic!("the review date should be a real date, found {other:?}"),
        }
    }
}
