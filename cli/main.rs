//! The `duban` binary: parses the command line and hands over to `commands`.

/// mimalloc: the store and the report allocate and free many small strings and vectors per event; glibc's allocator
/// spent a fifth of the time of a bulk append in malloc and free. Built without transparent huge pages (`no_thp`):
/// with them a cold `list` touched twice the memory and spent half its time having the kernel zero 2 MiB pages.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod background;
mod commands;
mod output;
mod remote;
mod time;
mod toolkit;
mod view;

fn main() -> std::process::ExitCode {
    set_purge_delay(PROMPTLY);
    let code = commands::main();
    // mimalloc's exit handler gives back all the memory it holds, page range by page range (a millisecond of a cold
    // `show`): the kernel takes it all back anyway as the process ends.
    set_purge_delay(NEVER);
    code
}

/// mimalloc 3 gives freed memory back to the system a full second after it is freed (its `purge_delay` defaults to
/// 1000 ms). duban's long commands run for about that long, so buffers they had long finished with — sled's reads
/// of blob files, decoded batches of events — still counted in their peak: 30 MB of the annual report's over a
/// million events. mimalloc 2 purged after 10 ms, and so does duban. (The Rust binding does not name this option.)
const PROMPTLY: std::os::raw::c_long = 10;

/// A negative `purge_delay`: mimalloc gives nothing back.
const NEVER: std::os::raw::c_long = -1;

fn set_purge_delay(milliseconds: std::os::raw::c_long) {
    extern "C" {
        fn mi_option_get(option: i32) -> std::os::raw::c_long;
        fn mi_option_set(option: i32, value: std::os::raw::c_long);
    }
    /// `mi_option_purge_delay` in mimalloc 3's `mi_option_e` (`mimalloc.h`).
    const PURGE_DELAY: i32 = 15;
    // SAFETY: reads and writes one entry of mimalloc's options table, which it allows at any time. The entry is
    // changed only while it holds mimalloc 3's default for this option or a value set here, so a different numbering
    // changes nothing.
    unsafe {
        if [1000, PROMPTLY].contains(&mi_option_get(PURGE_DELAY)) {
            mi_option_set(PURGE_DELAY, milliseconds);
        }
    }
}
