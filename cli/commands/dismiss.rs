//! `duban dismiss`: withdraw a commitment recorded by mistake or twice.

use chrono::NaiveDate;
use duban_domain::{Dismissed, Event};

use super::record;
use crate::time::parse_date;
use crate::toolkit::Ctx;

/// 撤销：误录或与另一项承诺重复时使用（不是“未落实”）
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 承诺：编号（#37）、答复编号/第几项（#12/2）、提案号/第几项（1221号/2）或 ID（至少 6 位的唯一前缀）
    pub id: String,
    /// 撤销理由
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// 与之重复的承诺编号
    #[arg(long, value_name = "ID")]
    pub duplicate_of: Option<String>,
    /// 日期（默认今天；理由为误录、重复或给了 --duplicate-of 时，默认为该承诺作出之日，此前的统计也不再计入）
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub on: Option<NaiveDate>,
}

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    if ctx.server.is_some() {
        // The server resolves the duplicate's name on its own register.
        let event = Event::Dismissed(Dismissed { reason: args.reason, duplicate_of: None });
        let extra = serde_json::json!({ "duplicate_of": args.duplicate_of });
        return record::commitment_fact_with(ctx, &args.id, args.on, event, extra);
    }
    let duplicate_of = match args.duplicate_of.as_deref() {
        Some(input) => Some(ctx.app()?.resolve_commitment(input)?),
        None => None,
    };
    record::commitment_fact(ctx, &args.id, args.on, Event::Dismissed(Dismissed { reason: args.reason, duplicate_of }))
}
