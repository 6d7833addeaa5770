//! `duban user …`: the accounts of a shared register — created, changed, disabled and given passwords on the store
//! directly (before the first `duban serve`, or by whoever holds the store's folder). Each change is a fact in the
//! log; passwords are read from standard input and kept only as argon2 hashes, apart from the log.

use std::io::Read;

use duban_app::AccountView;
use duban_domain::Role;

use crate::output::{date_or_dash, table};
use crate::toolkit::{refuse, Ctx};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    Add(AddArgs),
    /// 列出账户：角色、所属单位与是否停用
    List,
    Change(ChangeArgs),
    /// 停用账户，须说明理由；其登录即刻失效
    Disable(DisableArgs),
    /// 重新启用停用的账户，须说明理由
    Enable(DisableArgs),
    Passwd(PasswdArgs),
}

/// 建立账户：角色为 管理员、督办人员、承办单位 或 查阅人员；承办单位账户须指明所属单位；密码从标准输入读入
#[derive(clap::Args, Debug)]
pub struct AddArgs {
    /// 账户名（登录名，也是其所记事实的记录人）
    pub name: String,
    /// 角色：管理员、督办人员、承办单位、查阅人员
    #[arg(long, value_name = "ROLE", value_parser = parse_role)]
    pub role: Role,
    /// 所属单位（承办单位账户；可多次给出）
    #[arg(long = "organ", value_name = "ORGAN")]
    pub organs: Vec<String>,
    /// 从标准输入读入密码（一行）
    #[arg(long)]
    pub password_stdin: bool,
}

/// 调整账户的角色或所属单位
#[derive(clap::Args, Debug)]
pub struct ChangeArgs {
    /// 账户名
    pub name: String,
    /// 新角色
    #[arg(long, value_name = "ROLE", value_parser = parse_role)]
    pub role: Role,
    /// 所属单位（承办单位账户；可多次给出）
    #[arg(long = "organ", value_name = "ORGAN")]
    pub organs: Vec<String>,
}

/// 停用或重新启用账户，须说明理由；停用后其登录即刻失效
#[derive(clap::Args, Debug)]
pub struct DisableArgs {
    /// 账户名
    pub name: String,
    /// 理由
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
}

/// 设置账户的新密码（从标准输入读入）；其登录即刻失效
#[derive(clap::Args, Debug)]
pub struct PasswdArgs {
    /// 账户名
    pub name: String,
    /// 从标准输入读入密码（一行）
    #[arg(long)]
    pub password_stdin: bool,
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| format!("角色“{text}”无效：可选 管理员、督办人员、承办单位、查阅人员"))
}

/// The password, one line from standard input (never an argument: it would show in the process list and history).
pub(crate) fn read_password(asked: bool) -> anyhow::Result<String> {
    if !asked {
        return refuse("请用 --password-stdin 从标准输入给出密码（不在命令行上写密码）");
    }
    let mut text = String::new();
    std::io::stdin().take(4096).read_to_string(&mut text)?;
    let password = text.lines().next().unwrap_or_default().to_string();
    if password.is_empty() {
        return refuse("标准输入没有读到密码");
    }
    Ok(password)
}

pub fn run(ctx: &mut Ctx, command: Command) -> anyhow::Result<()> {
    let (done, account) = match command {
        Command::List => return list(ctx),
        Command::Add(args) => {
            let password = read_password(args.password_stdin)?;
            let app = ctx.app()?;
            ("已建立账户", app.create_account(&ctx.context()?, &args.name, args.role, args.organs, &password)?)
        }
        Command::Change(args) => {
            ("已调整账户", ctx.app()?.change_account(&ctx.context()?, &args.name, args.role, args.organs)?)
        }
        Command::Disable(args) => {
            ("已停用账户", ctx.app()?.disable_account(&ctx.context()?, &args.name, true, &args.reason)?)
        }
        Command::Enable(args) => {
            ("已启用账户", ctx.app()?.disable_account(&ctx.context()?, &args.name, false, &args.reason)?)
        }
        Command::Passwd(args) => {
            let password = read_password(args.password_stdin)?;
            ("已设置密码", ctx.app()?.set_password(&ctx.context()?, &args.name, &password)?)
        }
    };
    if ctx.json {
        return ctx.print_json(&AccountView::new(&account));
    }
    let organs = if account.organs.is_empty() { String::new() } else { format!("，{}", account.organs.join("、")) };
    writeln!(ctx.out, "{done}：{}（{}{organs}）", account.name, account.role.map_or("", Role::label))?;
    Ok(())
}

fn list(ctx: &mut Ctx) -> anyhow::Result<()> {
    let accounts = ctx.reader()?.accounts()?;
    if ctx.json {
        return ctx.print_json(&accounts.iter().map(AccountView::new).collect::<Vec<_>>());
    }
    if accounts.is_empty() {
        writeln!(ctx.out, "尚无账户（建立：duban user add 名称 --role 管理员 --password-stdin）")?;
        return Ok(());
    }
    let mut rows = table(&["账户", "角色", "所属单位", "状态", "建立", "最近设置密码"]);
    for account in &accounts {
        rows.add_row(vec![
            account.name.clone(),
            account.role.map_or("", Role::label).to_string(),
            if account.organs.is_empty() { "—".into() } else { account.organs.join("、") },
            if account.disabled { "已停用" } else { "在用" }.to_string(),
            date_or_dash(account.created_on),
            date_or_dash(account.password_set_on),
        ]);
    }
    writeln!(ctx.out, "{rows}")?;
    Ok(())
}
