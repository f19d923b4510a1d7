//! `actionbench`: every command, without FFmpeg linked in. Commands that
//! decode or encode video hand over to `actionbench-ffmpeg` (see the
//! library's docs).

fn main() -> std::process::ExitCode {
    actionbench_cli::main_without_ffmpeg()
}
