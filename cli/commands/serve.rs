//! `duban serve`: the register for many people at once, over HTTP (docs/server.md). The server opens the store and
//! holds it; while it runs, it leaves its address in the store's folder (`serve.addr`), so that a command run on the
//! store directly can say where the register is served.

use std::net::SocketAddr;

use duban_app::App;
use duban_server::{serve, Clock, Options};

use crate::toolkit::{refuse, Ctx};

/// 启动服务：多人通过 HTTP 接口同时使用同一登记簿；收到中断或终止信号即停止
#[derive(clap::Args, Debug)]
pub struct Args {
    /// 监听地址（端口为 0 时自动选择空闲端口）
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// 附件（佐证材料）单个文件的大小上限，单位 MB
    #[arg(long, value_name = "MB", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub max_upload_mb: u32,
}

/// The file naming the address a store is served at, while it is.
pub const ADDRESS_FILE: &str = "serve.addr";

pub fn run(ctx: &mut Ctx, args: Args) -> anyhow::Result<()> {
    if ctx.json {
        return refuse("serve 不输出 JSON：启动后会打印监听地址");
    }
    let app = App::open(&ctx.store_path)?.serving();
    if app.accounts()?.iter().all(|account| account.disabled || account.role != Some(duban_domain::Role::Admin)) {
        return refuse(format!(
            "{} 还没有在用的管理员账户，无人能登录：请先运行 duban --store {} user add 名称 --role 管理员 --password-stdin",
            ctx.store_path.display(),
            ctx.store_path.display()
        ));
    }
    let clock = if ctx.fixed_clock { Clock::Fixed(ctx.now) } else { Clock::System };
    // A database is shared by any number of servers: only a store folder names the one serving it.
    let address_file = (!duban_store::is_database(&ctx.store_path)).then(|| ctx.store_path.join(ADDRESS_FILE));
    let marker = address_file.clone();
    let on_listening = Box::new(move |address: SocketAddr| {
        if let Some(marker) = &marker {
            let _ = std::fs::write(marker, format!("http://{address}\n"));
        }
        // Printed and flushed at once: scripts and tests wait for this line.
        println!("duban serve 正在监听 http://{address}");
        let _ = std::io::Write::flush(&mut std::io::stdout());
    });
    let max_upload_bytes = args.max_upload_mb as usize * 1024 * 1024;
    let served = serve(app, Options { listen: args.listen, clock, on_listening, max_upload_bytes });
    if let Some(address_file) = &address_file {
        let _ = std::fs::remove_file(address_file);
    }
    served?;
    writeln!(ctx.out, "duban serve 已停止，事件库已关闭")?;
    Ok(())
}

/// The address a store is being served at, if a server holds it.
pub fn served_at(store: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(store.join(ADDRESS_FILE)).ok()?;
    Some(text.trim().to_string()).filter(|address| address.starts_with("http://"))
}
