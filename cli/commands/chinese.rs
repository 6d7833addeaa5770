//! The command line in Chinese all the way through: clap writes its help headings, usage line and errors in English,
//! so the command tree is adjusted here (headings, our own `-h`/`-V` flags, no `help` subcommand) and clap's errors
//! are rewritten from their kind and context. Flags, value placeholders and codes stay as typed.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, ArgAction, Command, CommandFactory};

use super::Cli;

const TEMPLATE: &str = "{before-help}{about-with-newline}\n用法：{usage}\n\n{all-args}{after-help}";

/// The whole command tree, in Chinese.
pub fn command() -> Command {
    let root = localize(Cli::command().subcommand_required(true));
    root.disable_version_flag(true).arg(
        Arg::new("version")
            .short('V')
            .long("version")
            .action(ArgAction::Version)
            .help("显示版本号")
            .help_heading("选项"),
    )
}

fn localize(command: Command) -> Command {
    command
        .help_template(TEMPLATE)
        .subcommand_help_heading("命令")
        .subcommand_value_name("命令")
        .disable_help_subcommand(true)
        .disable_help_flag(true)
        .mut_args(|arg| {
            let heading = if arg.is_positional() { "参数" } else { "选项" };
            arg.help_heading(heading)
        })
        .arg(Arg::new("help").short('h').long("help").action(ArgAction::Help).help("显示帮助").help_heading("选项"))
        .mut_subcommands(localize)
}

/// Help text with what clap still writes in English put in Chinese (`[OPTIONS]`, `[default: …]`, …).
pub fn polish(text: &str) -> String {
    let mut text = text.to_string();
    for (english, chinese) in [
        ("[OPTIONS]", "[选项]"),
        ("[default: ", "[默认："),
        ("[env: ", "[环境变量："),
        ("[possible values: ", "[可选："),
        ("[aliases: ", "[别名："),
        ("[alias: ", "[别名："),
        ("Usage: ", "用法："),
    ] {
        text = text.replace(english, chinese);
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

fn context(error: &clap::Error, kind: ContextKind) -> Option<String> {
    let text = match error.get(kind)? {
        ContextValue::String(text) => text.clone(),
        ContextValue::Strings(texts) => texts.join("、"),
        ContextValue::StyledStr(text) => text.to_string(),
        ContextValue::StyledStrs(texts) => texts.iter().map(|t| t.to_string()).collect::<Vec<_>>().join("、"),
        ContextValue::Number(number) => number.to_string(),
        _ => return None,
    };
    Some(text)
}

/// The subcommands `argv` names, as far as they go: where `--help` would say more.
fn command_named(argv: &[String]) -> String {
    let mut command = command();
    let mut words = vec!["duban".to_string()];
    for word in argv.iter().skip(1) {
        match command.find_subcommand(word) {
            Some(sub) => {
                words.push(word.clone());
                command = sub.clone();
            }
            None if word.starts_with('-') => continue,
            None => break,
        }
    }
    words.join(" ")
}

/// A usage error in Chinese: what is wrong, the usage line, and where to read more (`argv` as typed).
pub fn message(error: &clap::Error, argv: &[String]) -> String {
    let arg = context(error, ContextKind::InvalidArg).unwrap_or_default();
    let value = context(error, ContextKind::InvalidValue).unwrap_or_default();
    let mut text = match error.kind() {
        ErrorKind::InvalidValue => {
            let valid = context(error, ContextKind::ValidValue).map(|v| format!("；可选：{v}")).unwrap_or_default();
            if value.is_empty() {
                format!("{arg} 需要一个值{valid}")
            } else {
                format!("{arg} 的值“{value}”无效{valid}")
            }
        }
        ErrorKind::UnknownArgument => {
            let hint =
                context(error, ContextKind::SuggestedArg).map(|s| format!("；是否想用 {s}？")).unwrap_or_default();
            format!("不认识的参数“{arg}”{hint}")
        }
        ErrorKind::InvalidSubcommand => {
            let hint = context(error, ContextKind::SuggestedSubcommand)
                .map(|s| format!("；是否想用 {s}？"))
                .unwrap_or_default();
            let name = context(error, ContextKind::InvalidSubcommand).unwrap_or(arg);
            format!("没有“{name}”这个命令{hint}")
        }
        ErrorKind::NoEquals => format!("{arg} 的值要用“=”连接"),
        ErrorKind::ValueValidation => {
            let source = std::error::Error::source(error);
            let reason = match source {
                Some(source) if source.is::<std::num::ParseIntError>() => format!("“{value}”应是一个整数"),
                // Our own parsers explain in Chinese; what the standard library's say is put plainly instead.
                Some(source) if source.to_string().is_ascii() => String::new(),
                Some(source) => source.to_string(),
                None => String::new(),
            };
            if reason.is_empty() {
                format!("{arg} 的值“{value}”无效")
            } else {
                format!("{arg}：{reason}")
            }
        }
        ErrorKind::TooManyValues => format!("{arg} 的值太多（多出“{value}”）"),
        ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => format!("{arg} 的值个数不对"),
        ErrorKind::ArgumentConflict => {
            let other = context(error, ContextKind::PriorArg).unwrap_or_default();
            format!("{arg} 不能与 {other} 同时使用")
        }
        ErrorKind::MissingRequiredArgument => format!("缺少必需的参数：{arg}"),
        ErrorKind::MissingSubcommand => "缺少命令".to_string(),
        ErrorKind::InvalidUtf8 => "参数不是有效的 UTF-8 文本".to_string(),
        _ => "命令行有误".to_string(),
    };
    if let Some(usage) = context(error, ContextKind::Usage) {
        let usage = polish(usage.trim());
        text.push_str(&format!("\n用法：{}", usage.trim().trim_start_matches("用法：")));
    }
    text.push_str(&format!("\n查看说明：{} --help", command_named(argv)));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every ASCII word of `text` that is not a flag, a placeholder, a code or a name we keep as typed.
    fn english_words(text: &str, typed: &[&str]) -> Vec<String> {
        let mut names = Vec::new();
        let mut all = Vec::new();
        paths(&command(), vec![], &mut all);
        for path in all {
            names.extend(path);
        }
        const ALLOWED: &[&str] = &[
            "duban",
            "id",
            // `search --kind` values.
            "commitment",
            "progress",
            "ID",
            "ULID",
            "JSON",
            "json",
            "csv",
            "xlsx",
            "md",
            "html",
            "txt",
            "docx",
            "doc",
            "pdf",
            "UTF",
            "GBK",
            "Big5",
            "RFC",
            "http",
            "https",
            "YYYY",
            "MM",
            "DD",
            "sled",
            "SHA",
            "open",
            "in_progress",
            "pending_review",
            "in",
            "progress",
            "stalled",
            "overdue",
            "fulfilled",
            "partially_fulfilled",
            "not_fulfilled",
            "dismissed",
            "partially",
            "not",
            "text",
            "staff",
            "policy",
            "none",
            "bash",
            "zsh",
            "fish",
            "powershell",
            "elvish",
            "man",
            "DUBAN_STORE",
            "DUBAN_ACTOR",
            "DUBAN_ALIASES",
            "DUBAN_NOW",
            "PATH",
            "SQLite",
            "Markdown",
            "Excel",
            "HTML",
            "CSV",
            "A4",
            "jsonl",
            "Lines",
            "next_steps",
            "file",
            "doc_no",
            "signed_on",
            "duban-demo",
            "_duban",
            "assembly",
            "session",
            "number",
            "kind",
            "body",
            "proposal",
            "suggestion",
            "satisfied",
            "basically_satisfied",
            "dissatisfied",
            "export",
            "import",
            "events",
            "reply",
            "amend",
            "rebuild",
            "verify",
            "upgrade",
            "list",
            "show",
            "log",
            "init",
            "note",
            "close",
            "reopen",
            "due",
            "assign",
            "dismiss",
            "evaluate",
            "commit",
            "add",
            "report",
            "demo",
            "parse",
            "backup",
            "restore",
            "completions",
            "manual",
            "help",
            "incomplete",
            "year",
            "organ",
            "proposal",
            "EOF",
            "N",
            "s",
            "x",
            "e",
            "g",
            "b",
            "a",
            "Word",
            "WPS",
            "OCR",
            "UTC",
            "SSD",
        ];
        let mut words = Vec::new();
        let mut current = String::new();
        let mut previous = ' ';
        let mut flag_or_placeholder = false;
        for c in text.chars().chain(std::iter::once(' ')) {
            if c.is_ascii_alphanumeric() || c == '_' || (c == '-' && !current.is_empty()) {
                if current.is_empty() {
                    flag_or_placeholder = matches!(previous, '-' | '<' | '.' | '/' | '$');
                }
                current.push(c);
            } else {
                let word = std::mem::take(&mut current);
                let is_placeholder =
                    word.chars().all(|c| c.is_ascii_uppercase() || c == '_' || c == '-' || c.is_ascii_digit());
                let has_letters = word.chars().any(|c| c.is_ascii_alphabetic());
                let known = ALLOWED.contains(&word.as_str()) || names.contains(&word) || typed.contains(&word.as_str());
                if has_letters && !flag_or_placeholder && !is_placeholder && !known {
                    words.push(word);
                }
            }
            previous = c;
        }
        words
    }

    fn render(args: &[&str]) -> (ErrorKind, String) {
        let error = command().try_get_matches_from(args).expect_err("help or an error");
        let text = match error.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => polish(&error.render().to_string()),
            _ => message(&error, &args.iter().map(|arg| arg.to_string()).collect::<Vec<_>>()),
        };
        (error.kind(), text)
    }

    fn paths(command: &Command, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(prefix.clone());
        for sub in command.get_subcommands() {
            let mut path = prefix.clone();
            path.push(sub.get_name().to_string());
            paths(sub, path, out);
        }
    }

    #[test]
    fn every_help_page_speaks_chinese() {
        let mut all = Vec::new();
        paths(&command(), vec!["duban".to_string()], &mut all);
        assert!(all.len() > 25, "every subcommand: {}", all.len());
        for path in all {
            let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
            args.push("--help");
            let (kind, text) = render(&args);
            assert_eq!(kind, ErrorKind::DisplayHelp, "{args:?}");
            assert!(text.contains("用法："), "{args:?}: {text}");
            let english = english_words(&text, &args);
            assert!(english.is_empty(), "{args:?} shows English {english:?}:\n{text}");
        }
    }

    #[test]
    fn refused_command_lines_are_explained_in_chinese() {
        let cases: &[(&[&str], &str)] = &[
            (&["duban", "lst"], "没有“lst”这个命令；是否想用 list？"),
            (&["duban", "list", "--statuss", "open"], "不认识的参数“--statuss”"),
            (&["duban", "list", "--status", "done"], "状态“done”无效"),
            (&["duban", "progress"], "缺少必需的参数"),
            (&["duban", "close", "01ABCDEF", "--outcome", "ok", "--summary", "x"], "结果“ok”无效"),
            (&["duban", "due", "01ABCDEF", "2026-13-01"], "2026-13-01"),
            (&["duban", "list", "--due-within", "soon"], "--due-within"),
            (&["duban"], "命令"),
        ];
        for (args, needle) in cases {
            let (_, text) = render(args);
            assert!(text.contains(needle), "{args:?}: {text}");
            let command = args.iter().take_while(|arg| !arg.starts_with('-')).take(2).copied().collect::<Vec<_>>();
            let command = if command.len() == 2 && command[1] == "lst" { &command[..1] } else { &command[..] };
            assert!(text.contains(&format!("查看说明：{} --help", command.join(" "))), "{args:?}: {text}");
            let english = english_words(&text, args);
            assert!(english.is_empty(), "{args:?} shows English {english:?}:\n{text}");
        }
    }

    /// Requests the command line accepts but duban refuses are explained in Chinese too.
    #[test]
    fn refused_requests_are_explained_in_chinese() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("duban.db");
        let store = store.to_str().unwrap();
        let run = |args: &[&str]| {
            let mut argv = vec!["duban", "--store", store, "--now", "2026-01-10", "--actor", "测试"];
            argv.extend_from_slice(args);
            let mut out = Vec::new();
            let cli = <Cli as clap::Parser>::parse_from(argv);
            super::super::run(cli, &mut out)
                .map_err(|error| error.chain().map(|cause| cause.to_string()).collect::<Vec<_>>().join("\n"))
        };
        let missing = run(&["list"]).expect_err("no store yet");
        assert!(english_words(&missing, &[store]).is_empty(), "{missing}");
        run(&["init"]).unwrap();
        let reply =
            run(&["reply", "add", "--organ", "市测试局", "--doc-no", "测〔2025〕1号", "--signed-on", "2025-05-29"]);
        assert!(reply.is_ok());
        for (args, needle) in [
            (vec!["show", "01ZZZZZZ"], "找不到"),
            (vec!["show", "01"], "至少"),
            (vec!["note", "#99", "--text", "x"], "没有编号"),
            (vec!["show", "#1"], "这里要的是承诺"),
            (vec!["show", "1221号/2"], "找不到"),
            (vec!["due", "#1", "2026-01-01"], "这里要的是承诺"),
            (vec!["init"], "已存在"),
            (vec!["report", "--year", "2025", "--format", "xlsx"], "--out"),
            (vec!["import", "/nonexistent/答复.txt"], "答复.txt"),
        ] {
            let message = run(&args).expect_err(&format!("{args:?} is refused"));
            assert!(message.contains(needle), "{args:?}: {message}");
            let english = english_words(&message, &args);
            assert!(english.is_empty(), "{args:?} says {english:?}: {message}");
        }
    }
}
