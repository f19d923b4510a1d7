//! `actionbench`: every command, without FFmpeg linked in. Commands that
//! decode or encode video hand over to `actionbench-ffmpeg` (see the
//! library's docs).

// Ingest allocates and frees large per-sample buffers; mimalloc keeps them
// instead of returning them to the kernel (`scripts/bench skeletons`). Chosen
// by the binaries, not the library: mimalloc's initial-exec thread-locals
// make a library that Python loads with `dlopen` (the `actionbench` Python
// package) fail to import ("cannot allocate memory in static TLS block").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h's `mi_option_e` (v2; libmimalloc-sys
/// names no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> std::process::ExitCode {
    // By default mimalloc hands freed pages back 10 ms after their last use;
    // a CPU training step frees and re-touches hundreds of MB per op, and
    // the page faults were 12 % of a LART step. -1 keeps them for reuse
    // (LART paper step 7.34 s -> 6.29 s, docs/performance.md). An explicit
    // MIMALLOC_PURGE_DELAY, which mimalloc reads itself, wins.
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets an integer option; called before any other thread runs.
        #[allow(unsafe_code)]
        unsafe {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1)
        };
    }
    actionbench_cli::main_without_ffmpeg()
}
