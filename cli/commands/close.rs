//! `duban close`: close a commitment with its outcome.

use chrono::NaiveDate;
use duban_domain::{Closed, Event, Outcome};

use super::record;
use crate::time::parse_date;
use crate::toolkit::Ctx;

/// 办结：记录承诺的落实结果（已落实 / 部分落实 / 未落实）
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 承诺：编号（#37）、答复编号/第几项（#12/2）、提案号/第几项（1221号/2）或 ID（至少 6 位的唯一前缀）
    pub id: String,
    /// 结果：fulfilled（已落实）、partially_fulfilled（部分落实）、not_fulfilled（未落实）；“_”也可写作“-”
    #[arg(long, value_name = "OUTCOME", value_parser = parse_outcome)]
    pub outcome: Outcome,
    /// 办结日期（默认今天）
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub on: Option<NaiveDate>,
    /// 办结情况
    #[arg(long, value_name = "TEXT")]
    pub summary: String,
    /// 佐证材料（可多次给出）
    #[arg(long, value_name = "REF")]
    pub evidence: Vec<String>,
}

fn parse_outcome(text: &str) -> Result<Outcome, String> {
    Outcome::parse(text).ok_or_else(|| {
        format!("结果“{text}”无效：可选 fulfilled、partially_fulfilled、not_fulfilled（或 已落实、部分落实、未落实）")
    })
}

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    let event = Event::Closed(Closed { outcome: args.outcome, summary: args.summary, evidence: args.evidence });
    record::commitment_fact(ctx, &args.id, args.on, event)
}
