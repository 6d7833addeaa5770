//! `duban progress`: record a progress report on a commitment.

use chrono::NaiveDate;
use duban_domain::{Event, ProgressReported};

use super::record;
use crate::time::parse_date;
use crate::toolkit::Ctx;

/// 报告进展：记录一项承诺的推进情况
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 承诺：编号（#37）、答复编号/第几项（#12/2）、提案号/第几项（1221号/2）或 ID（至少 6 位的唯一前缀）
    pub id: String,
    /// 进展发生的日期（默认今天）
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub on: Option<NaiveDate>,
    /// 进展情况
    #[arg(long, value_name = "TEXT")]
    pub summary: String,
    /// 佐证材料（文件名、文号、链接等；可多次给出）
    #[arg(long, value_name = "REF")]
    pub evidence: Vec<String>,
    /// 完成百分比（0–100）
    #[arg(long, value_name = "N")]
    pub percent: Option<u8>,
}

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    let event = Event::ProgressReported(ProgressReported {
        summary: args.summary,
        evidence: args.evidence,
        percent: args.percent,
    });
    record::commitment_fact(ctx, &args.id, args.on, event)
}
