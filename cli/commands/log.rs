//! `duban log`: the raw events, in log order or for one stream.

use duban_domain::Envelope;

use super::Ctx;
use crate::output::{fitted, Column, Give};

/// 查看原始事件日志（全部，或某一答复 / 承诺的事件）
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 答复或承诺：编号（#37）、#12/2、1221号/2 或 ID 前缀；不给则按日志顺序列出全部事件
    pub id: Option<String>,
    /// 从此日志序号开始
    #[arg(long, value_name = "SEQ", default_value_t = 1)]
    pub from: u64,
    /// 最多列出多少条
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    let app = ctx.reader()?;
    let limit = args.limit.unwrap_or(usize::MAX);
    let events: Vec<Envelope> = match &args.id {
        Some(input) => {
            let id = app.resolve_stream(input)?;
            app.stream_events(&id)?.into_iter().filter(|e| e.seq >= args.from).take(limit).collect()
        }
        None => app.log_from(args.from).take(limit).collect::<Result<_, _>>()?,
    };
    if ctx.json {
        return ctx.print_json(&events);
    }
    // The event's name in Chinese; its English tag is in `--json` only.
    let column =
        |header, give, cell: &dyn Fn(&Envelope) -> String| Column::new(header, give, events.iter().map(cell).collect());
    let china = crate::time::china();
    let out = fitted(
        ctx.width,
        vec![
            column("序号", Give::Never, &|e| e.seq.to_string()),
            column("记录于", Give::Never, &|e| {
                e.recorded_at.with_timezone(&china).format("%Y-%m-%d %H:%M:%S").to_string()
            })
            .droppable(1),
            column("发生日期", Give::Never, &|e| e.occurred_on.to_string()),
            column("答复或承诺", Give::Never, &|e| e.stream.to_string()),
            column("版本", Give::Never, &|e| e.version.to_string()).droppable(0),
            column("事件", Give::Never, &|e| e.event.label().to_string()),
            column("记录人", Give::Clip(12), &|e| e.actor.clone()).droppable(2),
            column("内容", Give::Rest(40), &|e| e.event.summary()),
        ],
    );
    writeln!(ctx.out, "{out}")?;
    writeln!(ctx.out, "共 {} 条事件", events.len())?;
    Ok(())
}
