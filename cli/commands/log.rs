//! `duban log`: the raw events, in log order or for one stream.

use duban_domain::Envelope;

use super::Ctx;
use crate::output::{clip, table};

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
    let mut out = table(&["序号", "记录于", "发生日期", "答复或承诺", "版本", "事件", "记录人", "内容"]);
    for envelope in &events {
        out.add_row(vec![
            envelope.seq.to_string(),
            envelope.recorded_at.with_timezone(&crate::time::china()).format("%Y-%m-%d %H:%M:%S").to_string(),
            envelope.occurred_on.to_string(),
            envelope.stream.to_string(),
            envelope.version.to_string(),
            envelope.event.label().to_string(),
            envelope.actor.clone(),
            clip(&envelope.event.summary(), 40),
        ]);
    }
    writeln!(ctx.out, "{out}")?;
    writeln!(ctx.out, "共 {} 条事件", events.len())?;
    Ok(())
}
