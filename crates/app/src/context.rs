//! Who is acting and what time it is: injected by the front end (the CLI reads `DUBAN_NOW` and the login; the
//! server, its clock and the logged-in account), never read from the environment here.

use chrono::{DateTime, NaiveDate, Utc};
use duban_domain::{business_date, Event, NewEvent};
use ulid::Ulid;

#[derive(Clone, Debug)]
pub struct Context {
    /// Recorded as every event's actor.
    pub actor: String,
    pub now: DateTime<Utc>,
}

impl Context {
    /// Who acts (checked: see [`duban_domain::check_actor`]) and when.
    pub fn new(actor: impl Into<String>, now: DateTime<Utc>) -> crate::Result<Context> {
        let actor = actor.into();
        duban_domain::check_actor(&actor)?;
        Ok(Context { actor, now })
    }

    /// Today in China (business dates are days in UTC+8).
    pub fn today(&self) -> NaiveDate {
        business_date(self.now)
    }

    /// A new id for a stream or an event, ordered by the time it was made.
    pub fn new_id(&self) -> Ulid {
        Ulid::from_datetime(self.now.into())
    }

    /// A new event of `stream` that occurred on `occurred_on`, recorded now by this actor.
    pub fn new_event(&self, stream: Ulid, occurred_on: NaiveDate, event: Event) -> NewEvent {
        NewEvent { id: self.new_id(), stream, occurred_on, recorded_at: self.now, actor: self.actor.clone(), event }
    }
}
