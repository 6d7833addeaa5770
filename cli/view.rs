//! The time-travel options every read command takes, turned into the read model's [`View`].

use chrono::NaiveDate;
use clap::Args;
use duban_app::View;
use duban_domain::{Horizon, Policy};

use crate::time::{parse_date, KnownAt};

/// The two kinds of time travel, shared by read commands.
#[derive(Args, Clone, Debug, Default)]
pub struct TimeTravel {
    /// 按某日的实际情况查看：只计发生日期不晚于该日的事实，并以该日判断状态（YYYY-MM-DD）
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<NaiveDate>,
    /// 按当时登记簿所知查看：只计该日（北京时间）结束前或该序号前记下的事件（YYYY-MM-DD 或日志序号）
    #[arg(long, value_name = "DATE|SEQ")]
    pub known_at: Option<KnownAt>,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// The status policy (docs/metrics.md): when a quiet commitment is 停滞, and the due date of one whose reply named
/// none. Every command that judges statuses takes it.
#[derive(Args, Clone, Debug)]
pub struct PolicyArgs {
    /// 无进展多少天算停滞
    #[arg(long, value_name = "DAYS", default_value_t = Policy::DEFAULT_STALL_DAYS)]
    pub stall_days: u32,
    /// 答复未写期限的承诺的默认期限：作出后第几年年底到期（0 为当年年底，none 为不设默认期限）
    #[arg(long, value_name = "YEARS|none", default_value = "1", value_parser = parse_default_due)]
    pub default_due: DefaultDue,
}

impl Default for PolicyArgs {
    fn default() -> Self {
        PolicyArgs {
            stall_days: Policy::DEFAULT_STALL_DAYS,
            default_due: DefaultDue(Policy::default().default_due_years),
        }
    }
}

impl PolicyArgs {
    pub fn policy(&self) -> Policy {
        Policy { stall_days: self.stall_days, default_due_years: self.default_due.0 }
    }
}

/// `--default-due`: years after the one a commitment was made in, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DefaultDue(pub Option<u8>);

fn parse_default_due(text: &str) -> Result<DefaultDue, String> {
    match text.trim() {
        "none" | "无" | "不设" => Ok(DefaultDue(None)),
        years => match years.parse::<u8>() {
            Ok(years) if years <= 10 => Ok(DefaultDue(Some(years))),
            _ => Err(format!("默认期限“{text}”无效：应为 0 到 10 之间的年数，或 none（不设默认期限）")),
        },
    }
}

impl TimeTravel {
    pub fn horizon(&self) -> Horizon {
        Horizon { as_of: self.as_of, ..KnownAt::horizon(self.known_at) }
    }

    /// The view these options ask for, judged on the as-of date or else `today`.
    pub fn view(&self, today: NaiveDate) -> View {
        View::new(self.horizon(), today, self.policy.policy())
    }

    /// These options as the API's query parameters (`as_of`, `known_at`, `stall_days`, `default_due`).
    pub fn query(&self) -> Vec<String> {
        let mut query = Vec::new();
        if let Some(date) = self.as_of {
            query.push(format!("as_of={date}"));
        }
        match self.known_at {
            Some(KnownAt::Seq(seq)) => query.push(format!("known_at={seq}")),
            Some(KnownAt::Instant(instant)) => query.push(format!(
                "known_at={}",
                crate::remote::encode(&instant.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
            )),
            None => {}
        }
        let defaults = PolicyArgs::default();
        if self.policy.stall_days != defaults.stall_days {
            query.push(format!("stall_days={}", self.policy.stall_days));
        }
        if self.policy.default_due != defaults.default_due {
            let years = self.policy.default_due.0.map_or("none".to_string(), |years| years.to_string());
            query.push(format!("default_due={years}"));
        }
        query
    }

    /// Whether any time travel was asked for.
    pub fn is_set(&self) -> bool {
        self.as_of.is_some() || self.known_at.is_some()
    }

    /// Says which cut the output shows (empty without time travel).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(date) = self.as_of {
            parts.push(format!("按 {date} 当日的实际情况"));
        }
        match self.known_at {
            Some(KnownAt::Instant(instant)) => parts.push(format!(
                "按登记簿截至 {} 所记",
                instant.with_timezone(&crate::time::china()).format("%Y-%m-%d %H:%M")
            )),
            Some(KnownAt::Seq(seq)) => parts.push(format!("按登记簿截至日志第 {seq} 条 所记")),
            None => {}
        }
        parts.join("，")
    }
}
