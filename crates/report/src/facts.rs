//! The facts a report keeps about its commitments while the log streams past, stored compactly: each commitment's
//! facts encoded one after another in a byte vector of its own (numbers as varints, texts inline), so that a million
//! facts take tens of megabytes instead of the hundreds the events themselves would, and the facts of a commitment
//! that falls out of scope can be let go at once.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use duban_domain::{business_date, Envelope, Event, EventKind, Outcome};

/// Every kind, by its number in a fact's encoding: its place in [`EventKind::ALL`].
const KINDS: [EventKind; EventKind::ALL.len()] = EventKind::ALL;

/// Every outcome, by its stored number (0: none).
const OUTCOMES: [Option<Outcome>; 4] =
    [None, Some(Outcome::Fulfilled), Some(Outcome::PartiallyFulfilled), Some(Outcome::NotFulfilled)];

fn put(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    put(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

fn day_number(date: NaiveDate) -> u64 {
    // Zigzag, so that any date the log can hold round-trips.
    let days = date.num_days_from_ce();
    ((days << 1) ^ (days >> 31)) as u32 as u64
}

fn from_day_number(number: u64) -> NaiveDate {
    let zigzag = number as u32;
    let days = ((zigzag >> 1) as i32) ^ -((zigzag & 1) as i32);
    NaiveDate::from_num_days_from_ce_opt(days).unwrap_or_default()
}

/// Reads back what [`put`] and [`put_text`] wrote. Only ever reads bytes this module encoded.
#[derive(Clone)]
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn number(&mut self) -> u64 {
        let mut value = 0u64;
        for (index, byte) in self.bytes.iter().enumerate() {
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                self.bytes = &self.bytes[index + 1..];
                return value;
            }
        }
        self.bytes = &[];
        value
    }

    fn date(&mut self) -> NaiveDate {
        from_day_number(self.number())
    }

    /// A text's bytes, checked as UTF-8 only when they are read (see [`text`]).
    fn raw(&mut self) -> &'a [u8] {
        let len = (self.number() as usize).min(self.bytes.len());
        let (text, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        text
    }

    fn text(&mut self) -> &'a str {
        text(self.raw())
    }
}

/// Bytes this module wrote from a `&str`, as text again.
fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// One commitment's facts, encoded one after another, in the order they were recorded.
#[derive(Clone, Debug, Default)]
pub(crate) struct Chain {
    bytes: Vec<u8>,
    /// Let go of: what is recorded about the commitment is not kept (until [`Chain::restore`]).
    dropped: bool,
}

impl Chain {
    /// Keeps a fact (the event itself is not kept), unless the chain was let go of.
    pub fn push(&mut self, envelope: &Envelope, shared: &mut Shared) {
        if self.dropped {
            return;
        }
        let actor = shared.actor(&envelope.actor);
        let event = &envelope.event;
        let (due, reason, outcome) = match event {
            Event::CommitmentMade(made) => (made.due, None, None),
            Event::DueDateSet(set) => (Some(set.due), set.reason.as_deref(), None),
            Event::Closed(closed) => (None, None, Some(closed.outcome)),
            _ => (None, None, None),
        };
        shared.scratch.clear();
        event.write_summary(&mut shared.scratch);
        let summary = shared.scratch.as_str();
        // Grown to fit, not doubled: the allocator's size classes leave enough room, and doubling left a third of
        // a million chains' memory unused.
        let evidence: usize = event.evidence().iter().map(|item| item.len() + 2).sum();
        let size = 24 + summary.len() + reason.map_or(1, |reason| reason.len() + 3) + evidence;
        self.bytes.reserve_exact(size);
        let out = &mut self.bytes;
        put(out, envelope.seq);
        put(out, day_number(envelope.occurred_on));
        put(out, day_number(business_date(envelope.recorded_at)));
        put(out, due.map_or(0, |due| day_number(due) + 1));
        put(out, u64::from(actor));
        put(out, KINDS.iter().position(|kind| *kind == event.kind()).unwrap_or_default() as u64);
        put(out, OUTCOMES.iter().position(|known| *known == outcome).unwrap_or_default() as u64);
        put_text(out, summary);
        match reason {
            Some(reason) => {
                put(out, 1);
                put_text(out, reason);
            }
            None => put(out, 0),
        }
        put(out, event.evidence().len() as u64);
        for item in event.evidence() {
            put_text(out, item);
        }
    }

    /// Lets go of the facts, now and to come.
    pub fn let_go(&mut self) {
        self.bytes = Vec::new();
        self.dropped = true;
    }

    pub fn dropped(&self) -> bool {
        self.dropped
    }

    /// Keeps facts again, from scratch (for a second reading of the log).
    pub fn restore(&mut self) {
        self.bytes.clear();
        self.dropped = false;
    }

    /// The facts in the order they were recorded.
    pub fn facts<'a>(&'a self, shared: &'a Shared) -> impl Iterator<Item = FactView<'a>> + Clone + 'a {
        FactIter { shared, reader: Reader { bytes: &self.bytes } }
    }
}

/// What the chains share: the actors' names (a few hundred staff record a million facts), and room to write a
/// summary in.
#[derive(Clone, Debug, Default)]
pub(crate) struct Shared {
    actors: Vec<Box<str>>,
    actor_index: HashMap<Box<str>, u32>,
    scratch: String,
}

impl Shared {
    fn actor(&mut self, name: &str) -> u32 {
        match self.actor_index.get(name) {
            Some(actor) => *actor,
            None => {
                let actor = self.actors.len() as u32;
                self.actors.push(name.into());
                self.actor_index.insert(name.into(), actor);
                actor
            }
        }
    }
}

#[derive(Clone)]
struct FactIter<'a> {
    shared: &'a Shared,
    reader: Reader<'a>,
}

impl<'a> Iterator for FactIter<'a> {
    type Item = FactView<'a>;

    fn next(&mut self) -> Option<FactView<'a>> {
        if self.reader.bytes.is_empty() {
            return None;
        }
        let r = &mut self.reader;
        let seq = r.number();
        let date = r.date();
        let recorded_on = r.date();
        let due = r.number().checked_sub(1).map(from_day_number);
        let actor = self.shared.actors.get(r.number() as usize).map_or("", |actor| actor);
        let kind = KINDS[(r.number() as usize).min(KINDS.len() - 1)];
        let outcome = OUTCOMES.get(r.number() as usize).copied().flatten();
        let summary = r.raw();
        let reason = (r.number() == 1).then(|| r.raw());
        let evidence_count = r.number() as usize;
        let evidence_start = r.bytes;
        for _ in 0..evidence_count {
            r.raw();
        }
        let evidence = Reader { bytes: &evidence_start[..evidence_start.len() - r.bytes.len()] };
        Some(FactView { seq, date, recorded_on, due, actor, kind, outcome, summary, reason, evidence, evidence_count })
    }
}

/// One kept fact.
#[derive(Clone)]
pub(crate) struct FactView<'a> {
    seq: u64,
    date: NaiveDate,
    recorded_on: NaiveDate,
    due: Option<NaiveDate>,
    actor: &'a str,
    kind: EventKind,
    outcome: Option<Outcome>,
    summary: &'a [u8],
    reason: Option<&'a [u8]>,
    evidence: Reader<'a>,
    evidence_count: usize,
}

impl<'a> FactView<'a> {
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// When it happened.
    pub fn date(&self) -> NaiveDate {
        self.date
    }

    /// The business date it was recorded on.
    pub fn recorded_on(&self) -> NaiveDate {
        self.recorded_on
    }

    pub fn kind(&self) -> EventKind {
        self.kind
    }

    pub fn actor(&self) -> &'a str {
        self.actor
    }

    pub fn summary(&self) -> &'a str {
        text(self.summary)
    }

    pub fn evidence(&self) -> impl Iterator<Item = &'a str> + 'a {
        let mut reader = self.evidence.clone();
        (0..self.evidence_count).map(move |_| reader.text())
    }

    pub fn has_evidence(&self) -> bool {
        self.evidence_count > 0
    }

    /// The due date a `CommitmentMade` or `DueDateSet` names.
    pub fn due(&self) -> Option<NaiveDate> {
        self.due
    }

    /// The reason given for a due-date change.
    pub fn reason(&self) -> Option<&'a str> {
        self.reason.map(text)
    }

    /// How a `Closed` fact ended the commitment.
    pub fn outcome(&self) -> Option<Outcome> {
        self.outcome
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use duban_domain::{Closed, DueDateSet, NewEvent, NoteAdded, ProgressReported};
    use ulid::Ulid;

    use super::*;

    fn envelope(seq: u64, actor: &str, event: Event) -> Envelope {
        let recorded_at = Utc.with_ymd_and_hms(2025, 3, 1, 2, 0, 0).unwrap();
        let occurred_on = NaiveDate::from_ymd_opt(2025, 2, seq as u32).unwrap();
        NewEvent { id: Ulid::new(), stream: Ulid::new(), occurred_on, recorded_at, actor: actor.into(), event }.sealed(
            seq,
            seq as u32,
            String::new(),
            String::new(),
        )
    }

    #[test]
    fn texts_evidence_and_reasons_come_back_in_order() {
        let (mut a, mut b, mut shared) = (Chain::default(), Chain::default(), Shared::default());
        let due = NaiveDate::from_ymd_opt(2025, 9, 30).unwrap();
        let progress = ProgressReported { summary: "完成招标".into(), percent: Some(40), evidence: vec![] };
        a.push(&envelope(1, "王五", Event::ProgressReported(progress)), &mut shared);
        let moved = DueDateSet { due, reason: Some("资金未到位".into()) };
        b.push(&envelope(2, "张三", Event::DueDateSet(moved)), &mut shared);
        let evidence = vec!["验收报告".to_string(), "照片".to_string()];
        let closed = Closed { outcome: Outcome::PartiallyFulfilled, summary: "部分建成".into(), evidence };
        a.push(&envelope(3, "王五", Event::Closed(closed)), &mut shared);

        let of_a: Vec<FactView> = a.facts(&shared).collect();
        assert_eq!(of_a.iter().map(|f| f.seq()).collect::<Vec<_>>(), [1, 3]);
        assert_eq!((of_a[0].summary(), of_a[0].actor(), of_a[0].has_evidence()), ("完成招标（40%）", "王五", false));
        assert_eq!((of_a[0].kind(), of_a[0].due(), of_a[0].outcome()), (EventKind::ProgressReported, None, None));
        assert_eq!(of_a[1].summary(), "部分落实：部分建成");
        assert_eq!(of_a[1].evidence().collect::<Vec<_>>(), ["验收报告", "照片"]);
        assert_eq!((of_a[1].outcome(), of_a[1].reason()), (Some(Outcome::PartiallyFulfilled), None));
        assert_eq!(of_a[1].recorded_on(), NaiveDate::from_ymd_opt(2025, 3, 1).unwrap());

        let of_b: Vec<FactView> = b.facts(&shared).collect();
        assert_eq!(of_b.len(), 1);
        assert_eq!((of_b[0].due(), of_b[0].reason(), of_b[0].actor()), (Some(due), Some("资金未到位"), "张三"));
        assert_eq!(of_b[0].kind(), EventKind::DueDateSet);
        assert_eq!(of_b[0].date(), NaiveDate::from_ymd_opt(2025, 2, 2).unwrap());
        assert_eq!(Chain::default().facts(&shared).count(), 0, "a commitment without facts has none");
    }

    #[test]
    fn a_chain_let_go_of_keeps_nothing_until_restored() {
        let (mut chain, mut shared) = (Chain::default(), Shared::default());
        let note = |text: &str| Event::NoteAdded(NoteAdded { text: text.into() });
        chain.push(&envelope(1, "王五", note("一")), &mut shared);
        chain.let_go();
        chain.push(&envelope(2, "王五", note("二")), &mut shared);
        assert!(chain.dropped());
        assert_eq!(chain.facts(&shared).count(), 0);
        chain.restore();
        chain.push(&envelope(3, "王五", note("三")), &mut shared);
        assert_eq!(chain.facts(&shared).map(|f| f.summary()).collect::<Vec<_>>(), ["三"]);
    }

    #[test]
    fn dates_round_trip_through_their_numbers() {
        for date in [NaiveDate::MIN, NaiveDate::from_ymd_opt(1, 1, 1).unwrap(), NaiveDate::MAX] {
            assert_eq!(from_day_number(day_number(date)), date);
        }
    }
}
