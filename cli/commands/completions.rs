//! `duban completions SHELL` and `duban man`: generated from the same (Chinese) command tree that parses the command
//! line, so they never fall behind it.

use std::io::Write;

use crate::toolkit::{refuse, Ctx};

/// 生成命令补全脚本（bash、zsh、fish、powershell、elvish），写到标准输出
///
/// bash：duban completions bash > /etc/bash_completion.d/duban；zsh：放到 $fpath 中的 _duban
#[derive(clap::Args, Debug)]
pub struct CompletionArgs {
    /// 外壳：bash、zsh、fish、powershell、elvish
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// 生成 man 手册页，写到标准输出：duban man > duban.1 && man ./duban.1
#[derive(clap::Args, Debug)]
pub struct ManArgs {}

pub fn completions(ctx: &mut Ctx, args: CompletionArgs) -> anyhow::Result<()> {
    if ctx.json {
        return refuse("completions 输出的是外壳脚本，不能加 --json");
    }
    let mut command = super::chinese::command();
    clap_complete::generate(args.shell, &mut command, "duban", &mut ctx.out);
    Ok(())
}

pub fn man(ctx: &mut Ctx, _args: ManArgs) -> anyhow::Result<()> {
    if ctx.json {
        return refuse("man 输出的是手册页，不能加 --json");
    }
    let command = super::chinese::command();
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    // One section per command, so that `man` shows every subcommand's options too.
    for sub in command.get_subcommands() {
        let heading = format!("duban {}", sub.get_name());
        writeln!(page, ".SH \"{heading}\"")?;
        if let Some(about) = sub.get_about() {
            writeln!(page, "{about}")?;
        }
        let sub = sub.clone().bin_name(heading);
        clap_mangen::Man::new(sub).render_options_section(&mut page)?;
    }
    // What clap_mangen writes in English, in Chinese (the section names NAME, SYNOPSIS… are man's own).
    let mut page = String::from_utf8(page)?;
    for (english, chinese) in [
        ("[default: ", "[默认："),
        ("May also be specified with the ", "也可由环境变量 "),
        (" environment variable. ", " 给出。"),
        ("[possible values: ", "[可选："),
    ] {
        page = page.replace(english, chinese);
    }
    ctx.out.write_all(page.as_bytes())?;
    Ok(())
}
