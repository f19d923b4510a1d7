//! `actionbench-ffmpeg`: the `actionbench` command line with FFmpeg linked
//! in, for the commands and stage kinds that decode or encode video.
//! `actionbench` starts it when a command needs it; run it directly if you
//! like, it takes the same arguments.

fn main() -> std::process::ExitCode {
    actionbench_cli::main_with_ffmpeg()
}
