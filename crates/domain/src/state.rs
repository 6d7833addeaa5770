//! Folded state of a reply and of a commitment: `apply` is total and pure, and holds no business rules.
//!
//! Rules about what may be recorded live in `validate`; `apply` accepts whatever the log holds, so that any log —
//! including one restored from an export — folds without error.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::event::{Envelope, Event, Outcome, ProposalRef, ReplyRegistered, Satisfaction, Section};
use crate::status::DueSource;

/// A reply as its events describe it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyState {
    #[serde(with = "compact::id")]
    pub id: Option<Ulid>,
    /// Stream version: how many events have been folded.
    pub version: u32,
    pub registered: Option<ReplyRegistered>,
    /// The latest evaluation: `(date, satisfaction)`.
    pub evaluation: Option<(NaiveDate, Satisfaction)>,
    /// The business date of `ReplyRegistered`: the signing date, or the day it was recorded when the document gave
    /// none (待补全).
    #[serde(with = "compact::date")]
    pub registered_on: Option<NaiveDate>,
    /// How many times the registration was corrected (`ReplyAmended`).
    pub amendments: u32,
    /// 编号: the seq of the event that opened the stream — given in order of creation, never reused, the same after
    /// an export and `import-events`. Not stored with the state: the store sets it from the stream's first seq.
    #[serde(skip)]
    pub number: u64,
}

impl ReplyState {
    pub fn apply(&mut self, envelope: &Envelope) {
        self.id.get_or_insert(envelope.stream);
        self.version = envelope.version;
        if envelope.version == 1 {
            self.number = envelope.seq;
        }
        match &envelope.event {
            Event::ReplyRegistered(registered) => {
                self.registered = Some((**registered).clone());
                self.registered_on = Some(envelope.occurred_on);
            }
            Event::ReplyAmended(amended) => {
                if let Some(registered) = &self.registered {
                    self.registered = Some(amended.applied_to(registered));
                }
                self.amendments += 1;
            }
            // The evaluation that happened last counts; on equal dates the later record wins.
            Event::ReplyEvaluated(evaluated) if self.evaluation.is_none_or(|(on, _)| on <= envelope.occurred_on) => {
                self.evaluation = Some((envelope.occurred_on, evaluated.satisfaction));
            }
            _ => {}
        }
    }

    pub fn organ(&self) -> &str {
        self.registered.as_ref().map_or("", |r| r.organ.as_str())
    }

    pub fn doc_no(&self) -> &str {
        self.registered.as_ref().map_or("", |r| r.doc_no.as_str())
    }

    pub fn signed_on(&self) -> Option<NaiveDate> {
        self.registered.as_ref().and_then(|r| r.signed_on)
    }

    /// The date the reply counts from: its signing date, or, while that is missing (待补全), the day it was
    /// registered (a report places it in that year).
    pub fn dated(&self) -> Option<NaiveDate> {
        self.signed_on().or(self.registered_on)
    }

    /// What the registration lacks (待补全): 答复单位, 文号, 签发日期.
    pub fn missing(&self) -> Vec<&'static str> {
        self.registered.as_ref().map(|r| r.missing()).unwrap_or_default()
    }

    pub fn proposal(&self) -> Option<&ProposalRef> {
        self.registered.as_ref().map(|r| &r.proposal)
    }
}

/// How a commitment was closed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    pub outcome: Outcome,
    #[serde(with = "compact::day")]
    pub on: NaiveDate,
    pub summary: String,
}

/// A commitment as its events describe it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitmentState {
    #[serde(with = "compact::id")]
    pub id: Option<Ulid>,
    pub version: u32,
    #[serde(with = "compact::id")]
    pub reply: Option<Ulid>,
    pub text: String,
    pub section: Option<Section>,
    pub owner: String,
    pub co_handlers: Vec<String>,
    /// The business date of `CommitmentMade`.
    #[serde(with = "compact::date")]
    pub made_on: Option<NaiveDate>,
    #[serde(with = "compact::date")]
    pub due: Option<NaiveDate>,
    /// How many times an existing due date was changed.
    pub due_changes: u32,
    /// The latest `occurred_on` of any progress report (back-filled reports may arrive out of order).
    #[serde(with = "compact::date")]
    pub last_progress_on: Option<NaiveDate>,
    pub progress_reports: u32,
    pub percent: Option<u8>,
    pub closure: Option<Closure>,
    #[serde(with = "compact::date")]
    pub dismissed_on: Option<NaiveDate>,
    pub reopened: u32,
    pub notes: u32,
    /// Where `due` came from (`None` while there is none).
    pub due_source: Option<DueSource>,
    /// How many times its text or section was corrected (`CommitmentAmended`).
    pub amendments: u32,
    /// 编号, as [`ReplyState::number`].
    #[serde(skip)]
    pub number: u64,
}

impl CommitmentState {
    /// The organs the promise belongs to, for permissions: its owner and its co-handlers.
    pub fn organs(&self) -> Vec<&str> {
        std::iter::once(self.owner.as_str()).chain(self.co_handlers.iter().map(String::as_str)).collect()
    }

    pub fn apply(&mut self, envelope: &Envelope) {
        self.id.get_or_insert(envelope.stream);
        self.version = envelope.version;
        if envelope.version == 1 {
            self.number = envelope.seq;
        }
        let on = envelope.occurred_on;
        match &envelope.event {
            Event::CommitmentMade(made) => {
                self.reply = Some(made.reply);
                self.text.clone_from(&made.text);
                self.section = Some(made.section);
                self.owner.clone_from(&made.owner);
                self.co_handlers.clone_from(&made.co_handlers);
                self.made_on = Some(on);
                self.due = made.due;
                // A date read from the reply keeps the phrase it was read from; one typed by staff has none.
                self.due_source =
                    made.due.map(|_| if made.due_phrase.is_some() { DueSource::Text } else { DueSource::Staff });
            }
            Event::ProgressReported(progress) => {
                self.progress_reports += 1;
                if self.last_progress_on.is_none_or(|last| last <= on) {
                    self.last_progress_on = Some(on);
                    if progress.percent.is_some() {
                        self.percent = progress.percent;
                    }
                }
            }
            Event::DueDateSet(set) => {
                if self.due.is_some_and(|due| due != set.due) {
                    self.due_changes += 1;
                }
                self.due = Some(set.due);
                self.due_source = Some(DueSource::Staff);
            }
            Event::Reassigned(reassigned) => self.owner.clone_from(&reassigned.owner),
            Event::Closed(closed) => {
                self.closure = Some(Closure { outcome: closed.outcome, on, summary: closed.summary.clone() })
            }
            Event::Reopened(_) => {
                self.closure = None;
                self.dismissed_on = None;
                self.reopened += 1;
            }
            Event::NoteAdded(_) => self.notes += 1,
            Event::CommitmentAmended(amended) => {
                if let Some(text) = &amended.text {
                    self.text.clone_from(text);
                }
                if let Some(section) = amended.section {
                    self.section = Some(section);
                }
                self.amendments += 1;
            }
            Event::Dismissed(_) => self.dismissed_on = Some(on),
            _ => {}
        }
    }

    /// Folds a stream's events from the beginning.
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a Envelope>) -> Self {
        let mut state = Self::default();
        for envelope in events {
            state.apply(envelope);
        }
        state
    }

    pub fn is_closed(&self) -> bool {
        self.closure.is_some()
    }

    pub fn is_dismissed(&self) -> bool {
        self.dismissed_on.is_some()
    }
}

impl ReplyState {
    /// Folds a stream's events from the beginning.
    pub fn fold<'a>(events: impl IntoIterator<Item = &'a Envelope>) -> Self {
        let mut state = Self::default();
        for envelope in events {
            state.apply(envelope);
        }
        state
    }
}

/// Serde forms for ids and dates in folded state: text in human-readable formats (JSON), numbers in binary ones
/// (the store's projection), where parsing 26-character ids and ISO dates made reading 100,000 states slow.
mod compact {
    use chrono::{Datelike, NaiveDate};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use ulid::Ulid;

    fn day_number(date: NaiveDate) -> i32 {
        date.num_days_from_ce()
    }

    fn from_day_number<E: serde::de::Error>(days: i32) -> Result<NaiveDate, E> {
        NaiveDate::from_num_days_from_ce_opt(days).ok_or_else(|| E::custom(format!("day number {days} out of range")))
    }

    pub mod id {
        use super::*;

        pub fn serialize<S: Serializer>(value: &Option<Ulid>, serializer: S) -> Result<S::Ok, S::Error> {
            if serializer.is_human_readable() {
                value.serialize(serializer)
            } else {
                value.map(|id| id.0).serialize(serializer)
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Ulid>, D::Error> {
            if deserializer.is_human_readable() {
                Option::<Ulid>::deserialize(deserializer)
            } else {
                Ok(Option::<u128>::deserialize(deserializer)?.map(Ulid))
            }
        }
    }

    pub mod date {
        use super::*;

        pub fn serialize<S: Serializer>(value: &Option<NaiveDate>, serializer: S) -> Result<S::Ok, S::Error> {
            if serializer.is_human_readable() {
                value.serialize(serializer)
            } else {
                value.map(day_number).serialize(serializer)
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<NaiveDate>, D::Error> {
            if deserializer.is_human_readable() {
                Option::<NaiveDate>::deserialize(deserializer)
            } else {
                Option::<i32>::deserialize(deserializer)?.map(from_day_number).transpose()
            }
        }
    }

    pub mod day {
        use super::*;

        pub fn serialize<S: Serializer>(value: &NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
            if serializer.is_human_readable() {
                value.serialize(serializer)
            } else {
                day_number(*value).serialize(serializer)
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
            if deserializer.is_human_readable() {
                NaiveDate::deserialize(deserializer)
            } else {
                from_day_number(i32::deserialize(deserializer)?)
            }
        }
    }
}
