//! Running command stages (`cmd`) and tool probes.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// How a command ended.
pub(crate) struct CommandResult {
    pub(crate) success: bool,
    /// `exit status 1`, `signal 9`…
    pub(crate) status: String,
    /// The last lines of its combined stdout and stderr.
    pub(crate) tail: String,
}

const TAIL_LINES: usize = 20;

/// Runs `cmd` with `sh -c` from `cwd`, stdout and stderr into `log`.
pub(crate) fn run_shell(cmd: &str, cwd: &Path, env: &[(&str, String)], log: &Path) -> Result<CommandResult> {
    if let Some(p) = log.parent() {
        std::fs::create_dir_all(p).map_err(|e| Error::io(p, e))?;
    }
    let out = std::fs::File::create(log).map_err(|e| Error::io(log, e))?;
    let err = out.try_clone().map_err(|e| Error::io(log, e))?;
    let mut command = Command::new("sh");
    command.arg("-c").arg(cmd).current_dir(cwd).stdin(Stdio::null()).stdout(out).stderr(err);
    for (k, v) in env {
        command.env(k, v);
    }
    die_with_parent(&mut command);
    let status = command.status().map_err(|e| Error::io("sh", e))?;
    let text = std::fs::read(log).map_err(|e| Error::io(log, e))?;
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
    let status_text = match (status.code(), std::os::unix::process::ExitStatusExt::signal(&status)) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => status.to_string(),
    };
    Ok(CommandResult { success: status.success(), status: status_text, tail })
}

/// Asks the kernel to kill the child when the engine dies, so a `kill -9`
/// of `actionbench run` does not leave a command writing into outputs that
/// the next run is restoring.
#[allow(unsafe_code)]
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before exec and only calls
    // prctl(2), which is async-signal-safe and touches no Rust state.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

/// Runs a tool probe (e.g. `python3 --version`) and returns its trimmed
/// output, which becomes part of the stage key.
pub(crate) fn probe_tool(probe: &str, cwd: &Path) -> std::result::Result<String, String> {
    let output = Command::new("sh")
        .arg("-c")
        .arg(probe)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `sh`: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "tool probe `{probe}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let mut text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if text.is_empty() {
        text = String::from_utf8_lossy(&output.stderr).trim().to_string();
    }
    Ok(text)
}
