//! The `duban` binary: parses the command line and hands over to `commands`.

/// mimalloc: the store and the report allocate and free many small strings and vectors per event; glibc's allocator
/// spent a fifth of the time of a bulk append in malloc and free.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod commands;
mod output;
mod time;
mod view;

fn main() -> std::process::ExitCode {
    commands::main()
}
