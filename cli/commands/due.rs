//! `duban due`: set or change a commitment's due date.

use chrono::NaiveDate;
use duban_domain::{DueDateSet, Event};

use super::record;
use crate::time::parse_date;
use crate::toolkit::Ctx;

/// 设定期限：首次设定无需理由，变更已有期限须说明理由
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 承诺：编号（#37）、答复编号/第几项（#12/2）、提案号/第几项（1221号/2）或 ID（至少 6 位的唯一前缀）
    pub id: String,
    /// 新的期限（YYYY-MM-DD）
    #[arg(value_name = "DATE", value_parser = parse_date)]
    pub due: NaiveDate,
    /// 变更理由（变更已有期限时必填）
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// 决定变更的日期（默认今天）
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub on: Option<NaiveDate>,
}

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    record::commitment_fact(
        ctx,
        &args.id,
        args.on,
        Event::DueDateSet(DueDateSet { due: args.due, reason: args.reason }),
    )
}
