//! `duban import-events`: restore an export into an empty store, checking the whole chain first.

use std::path::PathBuf;

use crate::toolkit::Ctx;

/// 由 export 导出的文件还原事件库（目标库须为空；不存在则新建）。整份文件先校验，有误则不写入任何内容
#[derive(clap::Args, Debug)]
pub struct Args {
    /// export 导出的 JSON Lines 文件
    pub file: PathBuf,
}

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    let restored = duban_app::App::restore(&ctx.store_path, &args.file)?;
    let (count, head) = (restored.events, restored.head);
    if ctx.json {
        return ctx.print_json(&serde_json::json!({ "events": count, "head_seq": head.seq, "head_hash": head.hash }));
    }
    writeln!(ctx.out, "已还原 {count} 条事件到 {}；链头 #{} {}", ctx.store_path.display(), head.seq, head.hash)?;
    Ok(())
}
