//! The annual follow-up report (年度跟踪报告) in one call: the log read through the horizon once (twice in the rare case
//! the builder asks for it), and the footer — the log position and the chain head the report rests on — computed
//! from the store, so that `duban verify --seq --head` can check it.

use chrono::{DateTime, NaiveDate, Utc};
use duban_domain::{china, Horizon, Policy};
use duban_report::{Builder, Params, Report};

use crate::error::{refuse, Result};
use crate::App;

/// Up to this many streams wanted again are read from the chunks that hold their events (each chunk opened once);
/// more, and the log is read again.
const STREAMS_READ_APART: usize = 2_000;

/// What a report is asked for.
#[derive(Clone, Debug)]
pub struct ReportRequest {
    pub year: i32,
    /// Default: the year's last day, or today if that is earlier.
    pub as_of: Option<NaiveDate>,
    /// What was known (the `known_at` / `known_seq` cut; `as_of` is taken from above).
    pub known: Horizon,
    pub organ: Option<duban_domain::OrganQuery>,
    pub assembly: Option<String>,
    pub policy: Policy,
    /// Stamped in the footer when given (formats meant for reading, not for comparing).
    pub generated_at: Option<DateTime<Utc>>,
    /// The issuing office printed under the report (落款), with the day it is issued.
    pub issuer: Option<String>,
}

impl ReportRequest {
    /// The as-of date the report is judged on, checked against the year.
    pub fn as_of(&self, today: NaiveDate) -> Result<NaiveDate> {
        if !(1949..=2200).contains(&self.year) {
            return refuse(format!("年度 {} 无效", self.year));
        }
        let year_end = NaiveDate::from_ymd_opt(self.year, 12, 31).expect("a valid year");
        let year_start = NaiveDate::from_ymd_opt(self.year, 1, 1).expect("a valid year");
        let as_of = self.as_of.unwrap_or_else(|| year_end.min(today));
        if as_of < year_start {
            return refuse(format!("截至日期 {as_of} 早于 {} 年度开始", self.year));
        }
        Ok(as_of)
    }
}

impl App {
    /// Builds the report. The log streams through the builder (read and decoded on two other threads): only folded
    /// states and, compactly, the facts of commitments that may be in scope are kept, never the whole log. Takes the
    /// handle: the store is closed (if this was its last handle) before the report is put together, since sled keeps
    /// every node of the log it has read in its cache (about a hundred bytes an event) and nothing after needs it.
    pub fn into_report(self, request: &ReportRequest, today: NaiveDate) -> Result<Report> {
        let as_of = request.as_of(today)?;
        let params = Params {
            year: request.year,
            as_of,
            policy: request.policy,
            organ: request.organ.clone(),
            assembly: request.assembly.clone(),
        };
        // Only what was known: the builder applies the as-of date itself (it needs later facts to tell what was
        // carried over), so the horizon given here cuts by what was recorded.
        let known = Horizon { as_of: None, ..request.known };
        let mut builder = Builder::new(&params);
        self.known_events(known, &mut |envelope| builder.feed(envelope))?;
        // Rarely, commitments whose facts were let go turn out to be in scope: the events of a few are read from the
        // chunks that hold them, of many in a second reading of the log.
        let wanted = builder.wanted_again();
        if wanted.len() <= STREAMS_READ_APART {
            for envelope in self.store.read_streams_for_fold(&wanted)? {
                if known.admits(&envelope) {
                    builder.feed_again(&envelope);
                }
            }
        } else {
            self.known_events(known, &mut |envelope| builder.feed_again(envelope))?;
        }
        let head_hash = match builder.known_seq() {
            0 => duban_domain::GENESIS_HASH.to_string(),
            seq => self.store.hash_at(seq)?.unwrap_or_default(),
        };
        drop(self);
        let mut report = builder.finish(head_hash);
        report.issuer = request.issuer.clone();
        report.footer.generated_at =
            request.generated_at.map(|at| at.with_timezone(&china()).format("%Y-%m-%d %H:%M:%S").to_string());
        Ok(report)
    }
}
