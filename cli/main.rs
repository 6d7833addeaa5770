//! The `duban` binary: parses the command line and hands over to `commands`.

/// mimalloc: the store and the report allocate and free many small strings and vectors per event; glibc's allocator
/// spent a fifth of the time of a bulk append in malloc and free. Built without transparent huge pages (`no_thp`):
/// with them a cold `list` touched twice the memory and spent half its time having the kernel zero 2 MiB pages.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod commands;
mod output;
mod time;
mod view;

fn main() -> std::process::ExitCode {
    commands::main()
}
