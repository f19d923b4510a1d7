//! The CPU backend, named once: every `device = "cpu"` train and predict
//! stage and the CPU step benchmark run on it, so a change of backend (or
//! of its features) is one line and shows up in `scripts/bench cpu-step`.
//!
//! By default Burn's ndarray backend: pure Rust, no system library, and a
//! training run is a pure function of its seed (bit-identical across runs
//! on one machine). The `libtorch` feature swaps in LibTorch (PyTorch's
//! C++ library, through burn-tch) for users who have PyTorch 2.9.0: about
//! twice as fast on the CPU (`docs/performance.md`), still deterministic
//! for a given thread count, which is therefore part of the stage key.

use std::collections::BTreeMap;

/// The CPU backend (without autodiff).
#[cfg(not(feature = "libtorch"))]
pub type Cpu = burn::backend::NdArray;

/// The CPU backend (without autodiff): LibTorch, f32.
#[cfg(feature = "libtorch")]
pub type Cpu = burn::backend::LibTorch<f32>;

/// How benchmarks and logs name [`Cpu`].
#[cfg(not(feature = "libtorch"))]
pub const CPU_BACKEND_NAME: &str = "burn ndarray cpu";

/// How benchmarks and logs name [`Cpu`].
#[cfg(feature = "libtorch")]
pub const CPU_BACKEND_NAME: &str = "burn libtorch cpu";

/// The LibTorch version tch 0.22 (burn 0.21's `tch` feature) binds; its
/// build script refuses any other.
#[cfg(feature = "libtorch")]
pub const LIBTORCH_VERSION: &str = "2.9.0";

/// Environment variable that sets the LibTorch thread count (default:
/// every core the process may use).
pub const CPU_THREADS_ENV: &str = "ACTIONBENCH_CPU_THREADS";

/// Threads a CPU step computes on.
///
/// ndarray: 1. burn-ndarray is built without its `multi-threads` feature
/// (rayon over matmul batches, threaded matrixmultiply): with it the LART
/// step measured within noise of one thread (docs/performance.md),
/// because most of the step is serial element-wise work and allocation.
///
/// LibTorch: [`CPU_THREADS_ENV`] if set, else the cores available.
/// LibTorch splits reductions (sums, softmax, matmul accumulation) by
/// thread, so results differ in the last bits between thread counts;
/// [`cpu_tool_versions`] puts the count in the stage key. A value that is
/// not a positive whole number is refused by [`check_cpu_threads`] before
/// any stage runs, so the fallback here only covers callers that skip it.
pub fn cpu_threads() -> usize {
    if cfg!(feature = "libtorch") {
        requested_cpu_threads()
            .ok()
            .flatten()
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
    } else {
        1
    }
}

/// The thread count [`CPU_THREADS_ENV`] asks for: `None` when it is unset.
fn requested_cpu_threads() -> Result<Option<usize>, String> {
    match std::env::var(CPU_THREADS_ENV) {
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(v)) => Err(threads_error(&v.to_string_lossy())),
        Ok(v) => parse_cpu_threads(&v).map(Some),
    }
}

fn parse_cpu_threads(v: &str) -> Result<usize, String> {
    v.trim().parse::<usize>().ok().filter(|&n| n > 0).ok_or_else(|| threads_error(v))
}

fn threads_error(v: &str) -> String {
    format!(
        "{CPU_THREADS_ENV}={v:?} is not a thread count\n\
         hint: set it to a positive whole number (e.g. {CPU_THREADS_ENV}=1), or unset it to use every core"
    )
}

/// Refuses an unusable [`CPU_THREADS_ENV`] in builds that read it (the
/// `libtorch` feature), so a typo is an error rather than every core.
pub fn check_cpu_threads() -> Result<(), String> {
    if cfg!(feature = "libtorch") { requested_cpu_threads().map(|_| ()) } else { Ok(()) }
}

/// The variable libgomp, LibTorch's OpenMP runtime, reads for how idle
/// threads wait: once, when the library is loaded, before `main` runs.
pub const OMP_WAIT_POLICY_ENV: &str = "OMP_WAIT_POLICY";

/// Makes LibTorch's OpenMP threads sleep rather than spin between parallel
/// regions; call it first thing in `main`. With the `libtorch` feature and
/// [`OMP_WAIT_POLICY_ENV`] unset, re-executes the binary with
/// `OMP_WAIT_POLICY=PASSIVE` (libgomp has read the variable by the time
/// `main` runs, so setting it in-process is too late); returns at once in
/// the default build, when the user set the variable, or if the exec fails.
///
/// Why: `actionbench run` puts stages side by side (`-j`, default every
/// core), and spinning threads that share their cores with another stage
/// wait for each other for whole time slices: the ST-GCN sweep of
/// docs/performance.md trained in 14.0 + 21.7 s next to a busy core with
/// the default policy and in 0.26 + 0.46 s with `PASSIVE`, to the same
/// bytes (the policy changes when threads wake, not what they compute).
pub fn passive_openmp() {
    #[cfg(feature = "libtorch")]
    if std::env::var_os(OMP_WAIT_POLICY_ENV).is_none() {
        use std::os::unix::process::CommandExt;
        let mut args = std::env::args_os();
        let arg0 = args.next();
        if let Ok(exe) = std::env::current_exe() {
            let mut cmd = std::process::Command::new(exe);
            if let Some(arg0) = arg0 {
                cmd.arg0(arg0);
            }
            // `exec` returns only if it failed; the run goes on as it is.
            let _failed = cmd.args(args).env(OMP_WAIT_POLICY_ENV, "PASSIVE").exec();
        }
    }
}

/// Sets the CPU backend up before a run: LibTorch's intra-op threads to
/// [`cpu_threads`] (nothing to do for ndarray). Returns the thread count.
pub fn init_cpu() -> usize {
    let n = cpu_threads();
    #[cfg(feature = "libtorch")]
    tch::set_num_threads(i32::try_from(n).unwrap_or(i32::MAX));
    n
}

/// What a `train` or `predict` stage's key records about the CPU backend
/// (its `tool_versions`): nothing for ndarray, so the keys of every stage
/// run before the `libtorch` feature stay; `cpu-backend = "libtorch 2.9.0,
/// N threads"` with it, so that a LibTorch result is never served for an
/// ndarray run (or one with another thread count), and the other way round.
pub fn cpu_tool_versions() -> BTreeMap<String, String> {
    #[cfg(feature = "libtorch")]
    {
        BTreeMap::from([("cpu-backend".to_string(), format!("libtorch {LIBTORCH_VERSION}, {} threads", cpu_threads()))])
    }
    #[cfg(not(feature = "libtorch"))]
    {
        BTreeMap::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default build keeps one thread and adds nothing to stage keys;
    /// the LibTorch build names its version and thread count there.
    #[test]
    fn backend_identity_in_the_stage_key() {
        let versions = cpu_tool_versions();
        if cfg!(feature = "libtorch") {
            let v = &versions["cpu-backend"];
            assert!(v.starts_with("libtorch 2.9.0, ") && v.ends_with(&format!("{} threads", cpu_threads())), "{v}");
            assert!(cpu_threads() >= 1);
        } else {
            assert!(versions.is_empty());
            assert_eq!(cpu_threads(), 1);
            assert_eq!(init_cpu(), 1);
        }
    }

    /// `ACTIONBENCH_CPU_THREADS` takes a positive whole number; anything
    /// else is an error that names the variable and says what to write.
    #[test]
    fn thread_counts_parse_or_explain() {
        assert_eq!(parse_cpu_threads("2"), Ok(2));
        assert_eq!(parse_cpu_threads(" 1\n"), Ok(1));
        for bad in ["0", "-1", "two", "1.5", ""] {
            let e = parse_cpu_threads(bad).unwrap_err();
            assert!(e.starts_with(&format!("ACTIONBENCH_CPU_THREADS={bad:?} is not a thread count")), "{e}");
            assert!(e.contains("hint: set it to a positive whole number"), "{e}");
        }
    }
}
