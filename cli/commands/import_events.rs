//! `duban import-events`: restore an export into an empty store, checking the whole chain first.

use std::path::PathBuf;

use duban_store::Store;

use super::{refuse, Ctx};

/// 由 export 导出的文件还原事件库（目标库须为空；不存在则新建）。整份文件先校验，有误则不写入任何内容
#[derive(clap::Args, Debug)]
pub struct Args {
    /// export 导出的 JSON Lines 文件
    pub file: PathBuf,
}

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    if !args.file.is_file() {
        return refuse(format!("找不到文件 {}", args.file.display()));
    }
    let created = !ctx.store_path.exists();
    let store = if created { std::rc::Rc::new(Store::create(&ctx.store_path)?) } else { ctx.open()? };
    let count = match store.import_events(&args.file) {
        Ok(count) => count,
        Err(error) => {
            drop(store);
            if created {
                // Leave no trace of a store this command made for a restore that failed.
                let _ = std::fs::remove_dir_all(&ctx.store_path);
            }
            return Err(error.into());
        }
    };
    let head = store.head()?;
    if ctx.json {
        return ctx.print_json(&serde_json::json!({ "events": count, "head_seq": head.seq, "head_hash": head.hash }));
    }
    writeln!(ctx.out, "已还原 {count} 条事件到 {}；链头 #{} {}", ctx.store_path.display(), head.seq, head.hash)?;
    Ok(())
}
