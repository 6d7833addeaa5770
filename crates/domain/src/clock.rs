//! Business dates: days in China (UTC+8, no daylight saving since 1991), whatever the machine's zone. Pure
//! arithmetic on instants that callers pass in; the domain never reads a clock.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// China Standard Time.
pub fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
}

/// The business date of an instant: its date in China.
pub fn business_date(instant: DateTime<Utc>) -> NaiveDate {
    instant.with_timezone(&china()).date_naive()
}
