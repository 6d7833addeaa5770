//! A deterministic, seeded generator of realistic follow-up histories: replies come within months of a session,
//! each with 3–8 commitments, followed up over one to three years with progress reports, due-date changes,
//! reassignments, closures, reopenings and dismissals.

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};
use duban_domain::*;
use ulid::Ulid;

/// xorshift64*: small, fast and deterministic; statistical quality is ample for shaping test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: i64, high: i64) -> i64 {
        low + (self.next() % (high - low + 1) as u64) as i64
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// The last business date in generated histories.
pub fn horizon() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 30).unwrap()
}

const ORGANS: usize = 60;

/// Words staff write with: texts are put together from these, with numbers, so they vary the way real ones do
/// (a log of one repeated sentence would compress unrealistically well).
const TOPICS: [&str; 24] = [
    "科技创新券",
    "概念验证平台",
    "人才公寓",
    "养老服务中心",
    "社区食堂",
    "校园周边交通",
    "老旧小区加装电梯",
    "河道整治",
    "垃圾分类",
    "停车泊位",
    "公交线路",
    "中小企业融资",
    "职业技能培训",
    "社区卫生服务",
    "文旅消费",
    "营商环境",
    "数字政务",
    "应急避难场所",
    "农村生活污水",
    "学前教育学位",
    "非遗保护",
    "体育公园",
    "口袋公园",
    "协同创新集市",
];
const ACTIONS: [&str; 12] = [
    "完成调研",
    "召开协调会",
    "印发实施方案",
    "完成招标",
    "开工建设",
    "完成主体工程",
    "开展试点",
    "组织专项检查",
    "上线试运行",
    "完成验收",
    "拨付资金",
    "开展宣传",
];
const NEXT: [&str; 8] =
    ["下一步将扩大覆盖范围", "持续跟踪落实情况", "计划年底前完成", "将纳入年度重点工作", "", "", "", ""];

fn topic(rng: &mut Rng) -> &'static str {
    TOPICS[rng.between(0, TOPICS.len() as i64 - 1) as usize]
}

/// A progress summary such as `人才公寓：完成招标，涉及3个街镇、投入资金420万元；计划年底前完成`.
fn summary(rng: &mut Rng, topic: &str) -> String {
    let action = ACTIONS[rng.between(0, ACTIONS.len() as i64 - 1) as usize];
    let next = NEXT[rng.between(0, NEXT.len() as i64 - 1) as usize];
    let mut text = format!("{topic}：{action}，涉及{}个街镇", rng.between(1, 18));
    if rng.chance(50) {
        text.push_str(&format!("、投入资金{}万元", rng.between(5, 3000)));
    }
    if !next.is_empty() {
        text.push('；');
        text.push_str(next);
    }
    text
}

/// One reply's events, stream by stream, in the order they would be recorded.
pub struct ReplyHistory {
    pub streams: Vec<(Ulid, Vec<NewEvent>)>,
}

impl ReplyHistory {
    pub fn events(&self) -> usize {
        self.streams.iter().map(|(_, events)| events.len()).sum()
    }
}

fn ulid(rng: &mut Rng, on: NaiveDate) -> Ulid {
    let ms = on.and_hms_opt(9, 0, 0).unwrap().and_utc().timestamp_millis() as u64;
    Ulid::from_parts(ms + rng.next() % 3_600_000, u128::from(rng.next()) << 16 | u128::from(rng.next() & 0xFFFF))
}

fn new_event(rng: &mut Rng, stream: Ulid, on: NaiveDate, actor: &str, event: Event) -> NewEvent {
    // Most facts are written down within days; some are back-filled weeks later.
    let lag = if rng.chance(5) { rng.between(31, 90) } else { rng.between(0, 5) };
    let recorded = (on + Duration::days(lag)).min(horizon() + Duration::days(30));
    let recorded_at = Utc.from_utc_datetime(&recorded.and_hms_opt(2, rng.between(0, 59) as u32, 0).unwrap());
    NewEvent { id: ulid(rng, recorded), stream, occurred_on: on, recorded_at, actor: actor.to_string(), event }
}

/// Generates one reply and its commitments' histories; replies are spread over the `years` sessions up to 2025.
pub fn reply(rng: &mut Rng, index: usize, years: usize) -> ReplyHistory {
    let year = 2026 - years as i32 + (index % years) as i32;
    let session_start = NaiveDate::from_ymd_opt(year, 1, 10).unwrap();
    let signed_on = session_start + Duration::days(rng.between(60, 200));
    let organ_index = rng.between(0, ORGANS as i64 - 1);
    let organ = format!("示范区第{organ_index}局");
    let actor = format!("联络员{}", rng.between(1, 300));
    let kind = if rng.chance(50) { ProposalKind::Proposal } else { ProposalKind::Suggestion };
    let assembly = if kind == ProposalKind::Proposal { "区政协" } else { "区人大" };
    let reply_id = ulid(rng, signed_on);
    let registered = ReplyRegistered {
        doc_type: Some("答复".into()),
        organ: organ.clone(),
        doc_no: format!("示{organ_index}〔{year}〕{index}号"),
        proposal: ProposalRef {
            assembly: Some(assembly.into()),
            session: Some(format!("十五届{}次会议", ["一", "二", "三", "四", "五"][year as usize % 5])),
            number: Some(format!("{:04}", index % 10_000)),
            kind: Some(kind),
        },
        proposers: vec![format!("提出人{}", rng.between(1, 5000))],
        title: Some(format!("关于第{index}项工作的建议")),
        result: Some(["解决采纳", "采纳或解决", "部分采纳或解决", "留作参考"][rng.between(0, 3) as usize].into()),
        signed_on: Some(signed_on),
        ..ReplyRegistered::default()
    };
    let mut reply_events =
        vec![new_event(rng, reply_id, signed_on, &actor, Event::ReplyRegistered(Box::new(registered)))];
    if rng.chance(80) {
        let on = (signed_on + Duration::days(rng.between(10, 60))).min(horizon());
        let satisfaction = [Satisfaction::Satisfied, Satisfaction::BasicallySatisfied, Satisfaction::Dissatisfied]
            [[0, 0, 0, 1, 1, 2][rng.between(0, 5) as usize]];
        reply_events.push(new_event(
            rng,
            reply_id,
            on,
            &actor,
            Event::ReplyEvaluated(ReplyEvaluated { satisfaction, comment: None }),
        ));
    }
    let registered_at = reply_events[0].recorded_at;
    let mut streams = vec![(reply_id, reply_events)];
    for number in 0..rng.between(3, 8) {
        streams.push(commitment(rng, reply_id, signed_on, &organ, &actor, number));
    }
    // A commitment is recorded with its reply (as an import does), and a stream's facts in their own order.
    for (_, events) in &mut streams {
        let mut latest = registered_at;
        for event in events.iter_mut() {
            event.recorded_at = event.recorded_at.max(latest);
            latest = event.recorded_at;
        }
    }
    ReplyHistory { streams }
}

fn commitment(
    rng: &mut Rng,
    reply: Ulid,
    signed_on: NaiveDate,
    organ: &str,
    actor: &str,
    number: i64,
) -> (Ulid, Vec<NewEvent>) {
    let id = ulid(rng, signed_on);
    let subject = topic(rng);
    let due = rng.chance(70).then(|| signed_on + Duration::days(rng.between(90, 720)));
    let made = CommitmentMade {
        reply,
        text: format!(
            "{}{}，{}{}，力争{}年底前取得阶段性成效。",
            ["加快推进", "持续完善", "研究制定", "积极争取", "进一步优化"][rng.between(0, 4) as usize],
            subject,
            ["建立", "健全", "落实", "探索"][rng.between(0, 3) as usize],
            ["工作机制", "配套政策", "考核办法", "资金保障", "联席会议制度"][rng.between(0, 4) as usize],
            signed_on.year() + (number as i32 % 2)
        ),
        section: if rng.chance(75) { Section::NextSteps } else { Section::Body },
        owner: organ.to_string(),
        co_handlers: vec![],
        due,
        due_phrase: None,
        locator: None,
    };
    let mut events = vec![new_event(rng, id, signed_on, actor, Event::CommitmentMade(Box::new(made)))];
    let mut day = signed_on;
    let mut current_due = due;
    let follow_up_until = (signed_on + Duration::days(rng.between(365, 1095))).min(horizon());
    let mut closed = false;
    loop {
        day += Duration::days(rng.between(15, 75));
        if day > follow_up_until {
            break;
        }
        let roll = rng.between(0, 99);
        let event = if closed {
            if roll < 20 {
                closed = false;
                Event::Reopened(Reopened { reason: "复查未达标".into() })
            } else {
                break;
            }
        } else if roll < 80 {
            Event::ProgressReported(ProgressReported {
                summary: summary(rng, subject),
                evidence: if rng.chance(50) { vec![format!("工作简报{}", rng.between(1, 999))] } else { vec![] },
                percent: rng.chance(40).then(|| rng.between(10, 90) as u8),
            })
        } else if roll < 85 {
            let to = day + Duration::days(rng.between(60, 300));
            let event = Event::DueDateSet(DueDateSet {
                due: to,
                reason: current_due.map(|_| "客观条件变化，调整期限".to_string()),
            });
            current_due = Some(to);
            event
        } else if roll < 86 {
            Event::Reassigned(Reassigned {
                owner: format!("示范区第{}局", rng.between(0, ORGANS as i64 - 1)),
                reason: "职能调整".into(),
            })
        } else if roll < 89 {
            Event::NoteAdded(NoteAdded { text: "电话督办".into() })
        } else if roll < 90 {
            events.push(new_event(
                rng,
                id,
                day,
                actor,
                Event::Dismissed(Dismissed { reason: "重复登记".into(), duplicate_of: None }),
            ));
            break;
        } else {
            closed = true;
            let outcome = [
                Outcome::Fulfilled,
                Outcome::Fulfilled,
                Outcome::Fulfilled,
                Outcome::PartiallyFulfilled,
                Outcome::NotFulfilled,
            ][rng.between(0, 4) as usize];
            let evidence = if rng.chance(85) { vec![format!("验收材料{}", rng.between(1, 999))] } else { vec![] };
            let summary = format!(
                "{}，{}",
                summary(rng, subject),
                ["已按承诺办结", "目标基本实现", "经评估完成"][rng.between(0, 2) as usize]
            );
            Event::Closed(Closed { outcome, summary, evidence })
        };
        events.push(new_event(rng, id, day, actor, event));
    }
    (id, events)
}

/// Replies until at least `events` events: a whole history, streams in recording order. A million events are four
/// years of a large province's sessions; more events are more years (ten million: a decade), not denser ones.
pub fn histories(seed: u64, events: usize) -> Vec<ReplyHistory> {
    let years = events.div_ceil(1_000_000).max(4);
    let mut rng = Rng::new(seed);
    let mut replies = Vec::new();
    let mut total = 0;
    while total < events {
        let reply = reply(&mut rng, replies.len(), years);
        total += reply.events();
        replies.push(reply);
    }
    replies
}

/// Seals histories into one log (sequence numbers and a real hash chain), in the order they were recorded.
pub fn seal(histories: &[ReplyHistory], hash: impl Fn(&Envelope) -> String) -> Vec<Envelope> {
    let mut all: Vec<(u32, &NewEvent)> = Vec::new();
    for history in histories {
        for (_, events) in &history.streams {
            all.extend(events.iter().enumerate().map(|(index, event)| (index as u32 + 1, event)));
        }
    }
    // Recording order; within one instant, replies before the commitments made in them (as `duban import` appends
    // them: a restore checks every fact as its command did), then a stream's own order.
    all.sort_by_key(|(version, event)| {
        (event.recorded_at, event.event.stream_kind() != duban_domain::StreamKind::Reply, event.stream, *version)
    });
    // Only facts a command would have accepted (a restore checks them all): each is checked against the states
    // folded so far, with the day it was recorded as today, and a refused one (a due date set to the one in force,
    // say) is left out; versions count what is kept.
    let mut log = Vec::with_capacity(all.len());
    let mut previous = "0".repeat(64);
    let mut replies: std::collections::HashMap<ulid::Ulid, duban_domain::ReplyState> = Default::default();
    let mut commitments: std::collections::HashMap<ulid::Ulid, duban_domain::CommitmentState> = Default::default();
    let mut versions: std::collections::HashMap<ulid::Ulid, u32> = Default::default();
    for (_, event) in all {
        let today = duban_domain::business_date(event.recorded_at);
        let allowed = match &event.event {
            duban_domain::Event::ReplyRegistered(_) | duban_domain::Event::ReplyEvaluated(_) => {
                let reply = replies.entry(event.stream).or_default();
                duban_domain::check_reply_event(reply, event.occurred_on, &event.event, today).is_ok()
            }
            other => {
                let state = commitments.entry(event.stream).or_default();
                let reply_id = match other {
                    duban_domain::Event::CommitmentMade(made) => Some(made.reply),
                    _ => state.reply,
                };
                let empty = duban_domain::ReplyState::default();
                let reply = reply_id.and_then(|id| replies.get(&id)).unwrap_or(&empty);
                duban_domain::check_commitment_event(state, reply, event.occurred_on, other, today).is_ok()
            }
        };
        if !allowed {
            continue;
        }
        let version = versions.entry(event.stream).or_default();
        *version += 1;
        let mut envelope = event.clone().sealed(log.len() as u64 + 1, *version, previous, String::new());
        envelope.hash = hash(&envelope);
        previous = envelope.hash.clone();
        match envelope.event.stream_kind() {
            duban_domain::StreamKind::Reply => replies.entry(envelope.stream).or_default().apply(&envelope),
            duban_domain::StreamKind::Commitment => commitments.entry(envelope.stream).or_default().apply(&envelope),
            duban_domain::StreamKind::Proposal | duban_domain::StreamKind::Account => {}
        }
        log.push(envelope);
    }
    log
}
