//! The command line: global options, one `enum Command`, one `match`, and the mapping from errors to exit codes.
//! What command files share lives in `toolkit`, not here.

mod assign;
mod backup;
mod chinese;
mod close;
mod commit;
mod completions;
mod demo;
mod dismiss;
mod due;
mod evaluate;
mod export;
mod import;
mod import_events;
mod init;
mod list;
mod log;
mod login;
mod note;
mod parse;
mod progress;
mod proposal;
mod rebuild;
mod record;
mod reopen;
mod reply;
mod report;
mod search;
mod serve;
mod show;
mod stats;
mod upgrade;
mod user;
mod verify;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{FromArgMatches, Parser, Subcommand};
use duban_app::AppError;
use duban_domain::DomainError;
use duban_store::StoreError;

use crate::time::parse_now;
use crate::toolkit::{Ctx, UserError};

/// 督办：跟踪人大代表建议、政协提案答复中的每一项承诺，直到落实。
///
/// 每个事实都作为不可更改的事件追加到日志中；任何一天的状态都由事件推算得出。
#[derive(Parser, Debug)]
#[command(name = "duban", version, max_term_width = 110)]
pub struct Cli {
    /// 事件库路径
    #[arg(long, global = true, env = "DUBAN_STORE", default_value = "duban.db", value_name = "PATH")]
    pub store: PathBuf,
    /// 记录人（默认为当前登录名；无登录名时记为“未署名”）
    #[arg(long, global = true, env = "DUBAN_ACTOR", value_name = "NAME")]
    pub actor: Option<String>,
    /// 以 JSON 输出（字段名稳定，供脚本使用）
    #[arg(long, global = true)]
    pub json: bool,
    /// 单位简称表（每行“简称=全称”），补充内置简称，供 --organ 查找
    #[arg(long, global = true, env = "DUBAN_ALIASES", value_name = "FILE")]
    pub aliases: Option<PathBuf>,
    /// 表格宽度（列数；默认为终端宽度，输出到文件或管道时不限）
    #[arg(long, global = true, value_name = "COLUMNS", value_parser = clap::value_parser!(u16).range(40..))]
    pub width: Option<u16>,
    /// 经 duban serve 服务器执行（http://主机:端口；先 `duban login`）。支持 list、show 与 progress、note、close、
    /// reopen、due、assign、dismiss、commit amend
    #[arg(long, global = true, env = "DUBAN_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// 以此时刻为“现在”（RFC 3339 或 YYYY-MM-DD；用于测试与补录演示）
    #[arg(long, global = true, env = "DUBAN_NOW", hide = true, value_parser = parse_now)]
    pub now: Option<DateTime<Utc>>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    Init(init::Args),
    /// 答复：手工登记（add）、查看已登记的答复（list）
    #[command(subcommand)]
    Reply(reply::Command),
    /// 建议提案：交办（add）、列表（list）、全过程（show）、关联答复（link）、调整承办单位（reassign）、
    /// 联系代表委员（contact）、分类（classify）、公开（disclose）、回头看（review）
    #[command(subcommand)]
    Proposal(proposal::Command),
    /// 承诺：在已登记的答复下登记一项承诺（add）
    #[command(subcommand)]
    Commit(commit::Command),
    Progress(progress::Args),
    Close(close::Args),
    Reopen(reopen::Args),
    Due(due::Args),
    Assign(assign::Args),
    Note(note::Args),
    Dismiss(dismiss::Args),
    Evaluate(evaluate::Args),
    Import(import::Args),
    List(list::Args),
    Search(search::Args),
    Show(show::Args),
    Log(log::Args),
    Verify(verify::Args),
    Rebuild(rebuild::Args),
    Upgrade(upgrade::Args),
    Export(export::Args),
    Backup(backup::BackupArgs),
    Restore(backup::RestoreArgs),
    ImportEvents(import_events::Args),
    Parse(parse::Args),
    Report(report::Args),
    Stats(stats::Args),
    Serve(serve::Args),
    /// 账户：建立（add）、列表（list）、调整（change）、停用（disable）、启用（enable）、设置密码（passwd）
    #[command(subcommand)]
    User(user::Command),
    Login(login::LoginArgs),
    Logout(login::LogoutArgs),
    Demo(demo::Args),
    Completions(completions::CompletionArgs),
    Man(completions::ManArgs),
}

pub fn run(cli: Cli, out: &mut dyn Write) -> anyhow::Result<()> {
    let actor = cli.actor.filter(|name| !name.trim().is_empty()).unwrap_or_else(login_name);
    let now = cli.now.unwrap_or_else(Utc::now);
    let aliases = match &cli.aliases {
        None => Vec::new(),
        Some(path) => load_aliases(path)?,
    };
    let width = cli.width.map(usize::from).or_else(crate::output::terminal_width);
    let fixed_clock = cli.now.is_some();
    let server = match &cli.server {
        Some(url) if !url.trim().is_empty() => {
            if !served(&cli.command) {
                return Err(UserError(format!(
                    "此命令不能经服务器（--server {url}）执行：经服务器可用的命令为 list、search、show、progress、note、close、\
                     reopen、due、assign、dismiss、commit amend；其余请在服务器上运行，或去掉 --server（与 DUBAN_SERVER）"
                ))
                .into());
            }
            Some(crate::remote::Remote::new(url)?)
        }
        _ => None,
    };
    let mut ctx = Ctx {
        store_path: cli.store,
        actor,
        now,
        fixed_clock,
        json: cli.json,
        out,
        shared: None,
        aliases,
        width,
        server,
    };
    dispatch(&mut ctx, cli.command)
}

/// Whether `command` can be run through a server (the others need the store itself, or are not yet in the API).
fn served(command: &Command) -> bool {
    matches!(
        command,
        Command::List(_)
            | Command::Search(_)
            | Command::Show(_)
            | Command::Progress(_)
            | Command::Note(_)
            | Command::Close(_)
            | Command::Reopen(_)
            | Command::Due(_)
            | Command::Assign(_)
            | Command::Dismiss(_)
            | Command::Commit(commit::Command::Amend(_))
            | Command::Login(_)
            | Command::Logout(_)
    )
}

/// An office's own short forms from `path` (checked now; added to the built-in table when a filter needs them).
fn load_aliases(path: &std::path::Path) -> anyhow::Result<Vec<(String, String)>> {
    let text =
        std::fs::read(path).map_err(|error| UserError(format!("读不了单位简称表 {}：{error}", path.display())))?;
    let text =
        String::from_utf8(text).map_err(|_| UserError(format!("单位简称表 {} 不是 UTF-8 文本", path.display())))?;
    let pairs = duban_domain::Aliases::parse(&text).map_err(|(line, text)| {
        UserError(format!("单位简称表 {} 第 {line} 行“{text}”不是“简称=全称”", path.display()))
    })?;
    Ok(pairs)
}

/// Runs one command in a prepared context.
pub fn dispatch(ctx: &mut Ctx, command: Command) -> anyhow::Result<()> {
    let ctx = &mut *ctx;
    match command {
        Command::Init(args) => init::run(ctx, args),
        Command::Reply(command) => reply::run(ctx, command),
        Command::Proposal(command) => proposal::run(ctx, command),
        Command::Commit(command) => commit::run(ctx, command),
        Command::Progress(args) => progress::run(ctx, args),
        Command::Close(args) => close::run(ctx, args),
        Command::Reopen(args) => reopen::run(ctx, args),
        Command::Due(args) => due::run(ctx, args),
        Command::Assign(args) => assign::run(ctx, args),
        Command::Note(args) => note::run(ctx, args),
        Command::Dismiss(args) => dismiss::run(ctx, args),
        Command::Evaluate(args) => evaluate::run(ctx, args),
        Command::Import(args) => import::run(ctx, args),
        Command::List(args) => list::run(ctx, args),
        Command::Search(args) => search::run(ctx, args),
        Command::Show(args) => show::run(ctx, args),
        Command::Log(args) => log::run(ctx, args),
        Command::Verify(args) => verify::run(ctx, args),
        Command::Rebuild(args) => rebuild::run(ctx, args),
        Command::Upgrade(args) => upgrade::run(ctx, args),
        Command::Export(args) => export::run(ctx, args),
        Command::Backup(args) => backup::backup(ctx, args),
        Command::Restore(args) => backup::restore(ctx, args),
        Command::ImportEvents(args) => import_events::run(ctx, args),
        Command::Parse(args) => parse::run(ctx, args),
        Command::Report(args) => report::run(ctx, args),
        Command::Stats(args) => stats::run(ctx, args),
        Command::Serve(args) => serve::run(ctx, args),
        Command::User(command) => user::run(ctx, command),
        Command::Login(args) => login::login(ctx, args),
        Command::Logout(args) => login::logout(ctx, args),
        Command::Demo(args) => demo::run(ctx, args),
        Command::Completions(args) => completions::completions(ctx, args),
        Command::Man(args) => completions::man(ctx, args),
    }
}

fn login_name() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|value| !value.trim().is_empty()))
        .unwrap_or_else(|| "未署名".to_string())
}

pub fn main() -> ExitCode {
    let parsed = chinese::command().try_get_matches().and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(error) => {
            use clap::error::ErrorKind;
            return match error.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    print!("{}", chinese::polish(&error.render().to_string()));
                    ExitCode::SUCCESS
                }
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    eprint!("{}", chinese::polish(&error.render().to_string()));
                    ExitCode::from(1)
                }
                _ => {
                    let argv: Vec<String> = std::env::args_os().map(|arg| arg.to_string_lossy().into_owned()).collect();
                    eprintln!("duban: 错误：{}", crate::output::terminal_safe(&chinese::message(&error, &argv)));
                    ExitCode::from(1)
                }
            };
        }
    };
    let stdout = std::io::stdout();
    // Human output shows control characters instead of obeying them; JSON escapes its own, and `export -` and
    // `report` write data formats.
    let human = !cli.json
        && !matches!(cli.command, Command::Export(_) | Command::Report(_) | Command::Completions(_) | Command::Man(_));
    let mut out: Box<dyn Write> = if human {
        Box::new(crate::output::Escaping::new(std::io::BufWriter::new(stdout.lock())))
    } else {
        Box::new(std::io::BufWriter::new(stdout.lock()))
    };
    // A panic — in practice sled's, on a store whose files were damaged — is reported like any fault, with the way
    // out, never as a Rust backtrace (and never as exit code 101).
    let panicked: &'static std::sync::Mutex<Option<String>> = Box::leak(Box::default());
    std::panic::set_hook(Box::new(move |info| {
        let place = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let mut slot = panicked.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        slot.get_or_insert(format!("{message}（{place}）"));
    }));
    let store = cli.store.clone();
    let result = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(cli, &mut out))) {
        Ok(result) => result.and_then(|()| Ok(out.flush()?)),
        Err(_) => {
            let what = panicked.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take().unwrap_or_default();
            Err(anyhow::anyhow!(
                "内部错误，命令未完成：{what}。若事件库文件受损，请先运行 `duban verify` 查看；可从备份或 export 文件还原（`duban import-events` 到新库）"
            ))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            drop(out);
            eprintln!("duban: 错误：{}", crate::output::terminal_safe(&error.to_string()));
            for cause in error.chain().skip(1) {
                eprintln!("  原因：{}", crate::output::terminal_safe(&cause.to_string()));
            }
            if let Some(address) = in_use(&error).then(|| serve::served_at(&store)).flatten() {
                eprintln!("  事件库正由 duban serve 提供服务：{}（停止服务后可直接使用）", address);
            }
            ExitCode::from(exit_code(&error))
        }
    }
}

/// Whether the store was refused because another process holds it.
fn in_use(error: &anyhow::Error) -> bool {
    matches!(error.downcast_ref::<StoreError>(), Some(StoreError::InUse { .. }))
        || matches!(error.downcast_ref::<AppError>(), Some(AppError::Store(StoreError::InUse { .. })))
}

/// 1 for what the user can fix by asking differently, 2 for store or internal faults.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if cause.is::<UserError>() || cause.is::<DomainError>() || cause.is::<duban_ingest::IngestError>() {
            return 1;
        }
        if let Some(app) = cause.downcast_ref::<AppError>() {
            return if app.is_user_error() { 1 } else { 2 };
        }
        if cause.is::<duban_report::RenderError>() {
            return 2;
        }
        if let Some(store) = cause.downcast_ref::<StoreError>() {
            return if store.is_user_error() { 1 } else { 2 };
        }
    }
    2
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .is_some_and(|json| json.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe))
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use ulid::Ulid;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn user_errors_exit_1_and_faults_exit_2() {
        assert_eq!(exit_code(&UserError("x".into()).into()), 1);
        assert_eq!(exit_code(&DomainError::NotClosed { id: Ulid::nil() }.into()), 1);
        assert_eq!(exit_code(&StoreError::Domain(DomainError::NotClosed { id: Ulid::nil() }).into()), 1);
        assert_eq!(exit_code(&StoreError::InUse { path: "x".into() }.into()), 2);
        assert_eq!(exit_code(&AppError::Refused("x".into()).into()), 1);
        assert_eq!(exit_code(&AppError::Store(StoreError::InUse { path: "x".into() }).into()), 2);
        let upgrade = StoreError::NeedsUpgrade { path: "x".into(), found: 3, supported: 4 };
        assert_eq!(exit_code(&AppError::Store(upgrade).into()), 1);
        assert_eq!(exit_code(&anyhow::anyhow!("boom")), 2);
    }
}
