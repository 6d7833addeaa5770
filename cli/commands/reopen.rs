//! `duban reopen`: reopen a closed or dismissed commitment.

use chrono::NaiveDate;
use duban_domain::{Event, Reopened};

use super::record;
use crate::time::parse_date;
use crate::toolkit::Ctx;

/// 重新打开：已办结或已撤销的承诺需要继续跟踪时使用
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 承诺：编号（#37）、答复编号/第几项（#12/2）、提案号/第几项（1221号/2）或 ID（至少 6 位的唯一前缀）
    pub id: String,
    /// 理由
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// 日期（默认今天）
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub on: Option<NaiveDate>,
}

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    record::commitment_fact(ctx, &args.id, args.on, Event::Reopened(Reopened { reason: args.reason }))
}
