//! `duban login` / `duban logout`: a token for a `duban serve` server, kept in the user's config folder, so that
//! `--server URL` commands act as that account.

use crate::remote::Remote;
use crate::toolkit::Ctx;

/// 登录 duban serve 服务器：令牌保存在用户配置目录（仅本人可读），之后 `--server URL` 的命令以此账户执行
#[derive(clap::Args, Debug)]
pub struct LoginArgs {
    /// 服务器地址（http://主机:端口）
    pub url: String,
    /// 账户名
    pub name: String,
    /// 从标准输入读一行作为密码
    #[arg(long)]
    pub password_stdin: bool,
}

/// 退出服务器登录：结束会话并删除保存的令牌
#[derive(clap::Args, Debug)]
pub struct LogoutArgs {
    /// 服务器地址（http://主机:端口）
    pub url: String,
}

pub fn login(ctx: &mut Ctx, args: LoginArgs) -> anyhow::Result<()> {
    let password = super::user::read_password(args.password_stdin)?;
    let mut remote = Remote::new(&args.url)?;
    let user = remote.login(&args.name, &password)?;
    if ctx.json {
        return ctx.print_json(&user);
    }
    let organs: Vec<&str> = user["organs"].as_array().into_iter().flatten().filter_map(|o| o.as_str()).collect();
    let organs = if organs.is_empty() { String::new() } else { format!("，{}", organs.join("、")) };
    writeln!(
        ctx.out,
        "已登录 {}：{}（{}{organs}）。之后的命令加 --server {} 即以此账户执行",
        remote.url,
        user["name"].as_str().unwrap_or_default(),
        user["role_label"].as_str().unwrap_or_default(),
        remote.url
    )?;
    Ok(())
}

pub fn logout(ctx: &mut Ctx, args: LogoutArgs) -> anyhow::Result<()> {
    let mut remote = Remote::new(&args.url)?;
    let had = remote.logout()?;
    if ctx.json {
        return ctx.print_json(&serde_json::json!({ "server": remote.url, "logged_out": had }));
    }
    if had {
        writeln!(ctx.out, "已退出 {} 的登录，令牌已删除", remote.url)?;
    } else {
        writeln!(ctx.out, "本机没有 {} 的登录令牌", remote.url)?;
    }
    Ok(())
}
