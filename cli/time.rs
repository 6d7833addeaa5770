//! Time as the CLI sees it: the injected clock (`DUBAN_NOW`), business dates, and the `--known-at` horizon.
//!
//! Business dates are days in China Standard Time (UTC+8, no daylight saving), so "today" and "the end of that day"
//! are computed in that zone whatever the machine's zone is.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};

pub use duban_domain::china;

/// Parses a business date, `YYYY-MM-DD` only.
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| format!("日期“{text}”无效：请写成 YYYY-MM-DD（例如 2025-12-31）"))
}

/// Parses the clock override: an RFC 3339 instant, or a date (taken as noon in China).
pub fn parse_now(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(instant) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(instant.with_timezone(&Utc));
    }
    let date = parse_date(text).map_err(|_| format!("DUBAN_NOW“{text}”无效：请写成 RFC 3339 时刻或 YYYY-MM-DD"))?;
    Ok(at_china_time(date, NaiveTime::from_hms_opt(12, 0, 0).expect("noon")))
}

fn at_china_time(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    china()
        .from_local_datetime(&date.and_time(time))
        .single()
        .expect("a fixed offset is unambiguous")
        .with_timezone(&Utc)
}

/// What the register knew: everything recorded by the end of a day in China, by an instant, or up to a log position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KnownAt {
    Instant(DateTime<Utc>),
    Seq(u64),
}

impl KnownAt {
    /// The cut this horizon makes: events recorded by the instant, or up to the log position.
    pub fn horizon(known_at: Option<KnownAt>) -> duban_domain::Horizon {
        let mut horizon = duban_domain::Horizon::ALL;
        match known_at {
            Some(KnownAt::Instant(instant)) => horizon.known_at = Some(instant),
            Some(KnownAt::Seq(seq)) => horizon.known_seq = Some(seq),
            None => {}
        }
        horizon
    }
}

impl FromStr for KnownAt {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return text.parse().map(KnownAt::Seq).map_err(|_| format!("序号“{text}”过大"));
        }
        if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
            return Ok(KnownAt::Instant(instant.with_timezone(&Utc)));
        }
        let date = parse_date(text)
            .map_err(|_| format!("“{text}”无效：--known-at 须为日期 YYYY-MM-DD、RFC 3339 时刻或日志序号"))?;
        let end_of_day = NaiveTime::from_hms_nano_opt(23, 59, 59, 999_999_999).expect("end of day");
        Ok(KnownAt::Instant(at_china_time(date, end_of_day)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_the_date_in_china() {
        let late_utc = DateTime::parse_from_rfc3339("2025-12-31T17:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(duban_domain::business_date(late_utc), NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
    }

    #[test]
    fn known_at_a_date_means_the_end_of_that_day_in_china() {
        let KnownAt::Instant(instant) = "2025-12-31".parse::<KnownAt>().unwrap() else { panic!("not an instant") };
        assert_eq!(instant.to_rfc3339(), "2025-12-31T15:59:59.999999999+00:00");
        assert_eq!("42".parse::<KnownAt>().unwrap(), KnownAt::Seq(42));
        assert!("2025-13-01".parse::<KnownAt>().is_err());
        assert!("昨天".parse::<KnownAt>().is_err());
    }

    #[test]
    fn dates_are_strict() {
        assert!(parse_date("2025-02-30").is_err());
        assert!(parse_date("2025/02/01").is_err());
        assert_eq!(parse_date(" 2025-02-01 ").unwrap(), NaiveDate::from_ymd_opt(2025, 2, 1).unwrap());
        assert_eq!(parse_now("2026-01-10").unwrap().to_rfc3339(), "2026-01-10T04:00:00+00:00");
    }
}
