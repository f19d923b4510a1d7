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

/// `mi_option_purge_delay` in mimalloc.h's `mi_option_e`: 15 in v3, which
/// libmimalloc-sys builds, and in v2; the crate names no constant for it.
/// `tests/it/allocator.rs` checks the index against the option's default.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> std::process::ExitCode {
    // By default mimalloc hands freed pages back a second after their last
    // use; a CPU training step frees and re-touches hundreds of MB per op,
    // and zeroing fresh pages was 12 % of a LART step. -1 keeps them for
    // reuse (docs/performance.md, "CPU training step"). An explicit
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
