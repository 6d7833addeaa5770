//! `duban upgrade`: bring a store written by an earlier duban to the current layout — the only command that changes
//! a store's layout (every other command refuses an older store and names this one).

use crate::toolkit::Ctx;

/// 将旧版 duban 写入的事件库升级为当前格式（逐条校验哈希，副本完成并核对链头后才替换原库；中途中断可再次运行）
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(ctx: &mut Ctx, _args: Args) -> anyhow::Result<()> {
    let report = duban_app::App::upgrade(&ctx.store_path)?;
    if ctx.json {
        return ctx.print_json(&report);
    }
    if report.finished_interrupted {
        writeln!(ctx.out, "已完成上次中断的升级")?;
    }
    if report.from == report.to {
        writeln!(ctx.out, "事件库已是当前格式（布局 {}，{} 条事件），无需升级", report.to, report.events)?;
    } else {
        writeln!(
            ctx.out,
            "已将事件库由布局 {} 升级为布局 {}（{} 条事件，链头不变）",
            report.from, report.to, report.events
        )?;
    }
    Ok(())
}
