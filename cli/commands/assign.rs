//! `duban assign`: hand a commitment to another owner.

use chrono::NaiveDate;
use duban_domain::{Event, Reassigned};

use super::record;
use crate::time::parse_date;
use crate::toolkit::Ctx;

/// 调整责任单位
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 承诺：编号（#37）、答复编号/第几项（#12/2）、提案号/第几项（1221号/2）或 ID（至少 6 位的唯一前缀）
    pub id: String,
    /// 新的责任单位
    #[arg(long, value_name = "ORGAN")]
    pub owner: String,
    /// 调整理由
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// 日期（默认今天）
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub on: Option<NaiveDate>,
}

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    let event = Event::Reassigned(Reassigned { owner: args.owner.trim().to_string(), reason: args.reason });
    record::commitment_fact(ctx, &args.id, args.on, event)
}
