//! `duban note`: attach a note to a commitment's timeline.

use chrono::NaiveDate;
use duban_domain::{Event, NoteAdded};

use super::record;
use crate::time::parse_date;
use crate::toolkit::Ctx;

/// 添加备注（办结或撤销后也可添加）
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 承诺：编号（#37）、答复编号/第几项（#12/2）、提案号/第几项（1221号/2）或 ID（至少 6 位的唯一前缀）
    pub id: String,
    /// 备注内容
    #[arg(long, value_name = "TEXT")]
    pub text: String,
    /// 日期（默认今天）
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub on: Option<NaiveDate>,
}

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    record::commitment_fact(ctx, &args.id, args.on, Event::NoteAdded(NoteAdded { text: args.text }))
}
