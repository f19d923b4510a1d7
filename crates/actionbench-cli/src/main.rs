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

fn main() -> std::process::ExitCode {
    actionbench_cli::main_without_ffmpeg()
}
