//! `duban init`: create an empty store.

use crate::toolkit::Ctx;

/// 新建一个空的事件库（路径由 --store 指定）
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(ctx: &mut Ctx, _args: Args) -> anyhow::Result<()> {
    duban_app::App::create(&ctx.store_path)?;
    if ctx.json {
        return ctx.print_json(&serde_json::json!({ "store": ctx.store_path }));
    }
    writeln!(ctx.out, "已新建事件库：{}", ctx.store_path.display())?;
    Ok(())
}
