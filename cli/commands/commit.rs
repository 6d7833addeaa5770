//! `duban commit add` and `commit amend`: record a promise made in a registered reply, and correct its text or
//! section as it was read.

use chrono::NaiveDate;
use duban_app::NewCommitment;
use duban_domain::{CommitmentAmended, Event, Section};

use crate::time::parse_date;
use crate::toolkit::Ctx;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    Add(AddArgs),
    Amend(AmendArgs),
}

/// 更正一项承诺的内容或位置（读错时），须说明理由；原内容保留在日志中
#[derive(clap::Args, Debug)]
pub struct AmendArgs {
    /// 承诺：编号（#37）、答复编号/第几项（#12/2）、提案号/第几项（1221号/2）或 ID（至少 6 位的唯一前缀）
    pub id: String,
    /// 更正后的承诺内容
    #[arg(long, value_name = "TEXT")]
    pub text: Option<String>,
    /// 更正后的位置：next_steps（下一步工作）或 body（正文）
    #[arg(long, value_name = "SECTION", value_parser = parse_section)]
    pub section: Option<Section>,
    /// 更正理由
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
}

/// 登记答复中的一项承诺，输出其编号
#[derive(clap::Args, Debug)]
pub struct AddArgs {
    /// 答复：编号（#12）、提案号（十四届三次1221号）或 ID（至少 6 位的唯一前缀）
    #[arg(long, value_name = "ID")]
    pub reply: String,
    /// 承诺原文
    #[arg(long, value_name = "TEXT")]
    pub text: String,
    /// 责任单位（默认为答复单位）
    #[arg(long, value_name = "ORGAN")]
    pub owner: Option<String>,
    /// 会办单位（可多次给出）
    #[arg(long = "co-handler", value_name = "ORGAN")]
    pub co_handlers: Vec<String>,
    /// 期限
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub due: Option<NaiveDate>,
    /// 作出承诺的日期（默认为答复签发日期）
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub on: Option<NaiveDate>,
    /// 承诺所在位置：next_steps（下一步工作）或 body（正文）
    #[arg(long, value_name = "SECTION", default_value = "next_steps", value_parser = parse_section)]
    pub section: Section,
}

fn parse_section(text: &str) -> Result<Section, String> {
    match text.trim().replace('-', "_").as_str() {
        "next_steps" | "下一步" => Ok(Section::NextSteps),
        "body" | "正文" => Ok(Section::Body),
        _ => Err(format!("位置“{text}”无效：可选 next_steps 或 body")),
    }
}

pub fn run(ctx: &mut Ctx, command: Command) -> anyhow::Result<()> {
    let args = match command {
        Command::Add(args) => args,
        Command::Amend(args) => {
            let event = Event::CommitmentAmended(CommitmentAmended {
                text: args.text.map(|text| text.trim().to_string()),
                section: args.section,
                reason: args.reason,
            });
            return super::record::commitment_fact(ctx, &args.id, None, event);
        }
    };
    let new = NewCommitment {
        reply: args.reply,
        text: args.text,
        owner: args.owner,
        co_handlers: args.co_handlers,
        due: args.due,
        on: args.on,
        section: args.section,
    };
    let (id, reply_id) = ctx.app()?.make_commitment(&ctx.context()?, new)?;
    if ctx.json {
        return ctx.print_json(&serde_json::json!({ "id": id.to_string(), "reply_id": reply_id.to_string() }));
    }
    writeln!(ctx.out, "{id}")?;
    Ok(())
}
