//! The CPU backend, named once: every `device = "cpu"` train and predict
//! stage and the CPU step benchmark run on it, so a change of backend (or
//! of its features) is one line and shows up in `scripts/bench cpu-step`.
//!
//! Burn's ndarray backend: pure Rust, no system library, and a training
//! run is a pure function of its seed (bit-identical across runs on one
//! machine). `docs/performance.md` has the candidates measured against it.

/// The CPU backend (without autodiff).
pub type Cpu = burn::backend::NdArray;

/// How benchmarks and logs name [`Cpu`].
pub const CPU_BACKEND_NAME: &str = "burn ndarray cpu";

/// Threads a CPU step computes on. burn-ndarray is built without its
/// `multi-threads` feature (rayon over matmul batches, threaded
/// matrixmultiply): with it the LART step measured within noise of one
/// thread (docs/performance.md), because most of the step is serial
/// element-wise work and allocation.
pub const CPU_THREADS: usize = 1;
