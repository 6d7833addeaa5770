//! The `duban` binary: parses the command line and hands over to `commands`.

mod commands;
mod output;
mod time;
mod view;

fn main() -> std::process::ExitCode {
    commands::main()
}
